# Source this file (bash or sh) before running the Windows test suite:
#   . scripts/wine-env.sh build-win && meson test -C build-win --suite windows
# It prepares a Wine prefix non-interactively (no display needed) and starts
# Wine's background services up front: if the first `wine` run happens under
# `meson test`, the services it spawns inherit meson's pipes and every test
# appears to hang until it times out.
#
# Argument (optional): the build directory; the prefix then lives in
# BUILD/wine-prefix, so two builds (or two people) never share a wineserver
# and one's `wineserver -k` cannot kill the other's tests.
# Variables honoured: WINEPREFIX (wins over the argument), else
# DUPLEX_WINE_PREFIX, else $HOME/.cache/duplex-wine; WINE (default: wine).
# Exported: WINEPREFIX, WINEDEBUG=-all, WINEDLLOVERRIDES, WINEARCH=win64.

if [ -z "${WINEPREFIX:-}" ]; then
  if [ -n "${1:-}" ]; then
    WINEPREFIX="$1/wine-prefix"
  else
    WINEPREFIX="${DUPLEX_WINE_PREFIX:-${HOME:-/tmp}/.cache/duplex-wine}"
  fi
fi
# Wine insists on an absolute prefix path.
case "$WINEPREFIX" in
  /*) ;;
  *) WINEPREFIX="$(pwd)/$WINEPREFIX" ;;
esac
export WINEPREFIX
export WINEDEBUG=-all
# Disabling mscoree/mshtml stops wineboot from offering to install Mono and
# Gecko (a dialog that would block without a display).
export WINEDLLOVERRIDES="mscoree,mshtml="
export WINEARCH=win64

dx_wine_setup ()
{
  _dx_wine="${WINE:-wine}"
  if ! command -v "$_dx_wine" >/dev/null 2>&1; then
    echo "wine-env.sh: '$_dx_wine' not found (apt install wine wine64)" >&2
    return 1
  fi
  mkdir -p "$WINEPREFIX" || return 1
  # Our own marker: wineserver writes system.reg lazily, so it is no proof
  # that the prefix is complete.
  if [ ! -f "$WINEPREFIX/.duplex-ready" ]; then
    echo "wine-env.sh: creating Wine prefix $WINEPREFIX (once)" >&2
    # No display: wineboot must not try to open one (it would wait).
    DISPLAY= WAYLAND_DISPLAY= timeout 300 wineboot -i </dev/null >/dev/null 2>&1 || {
      echo "wine-env.sh: wineboot -i failed" >&2
      return 1
    }
    # Let the set-up finish and the wineserver exit, which writes the
    # registry to disk, then check that it took, reading it back: the
    # installer test needs the shell's COM classes (IShellLink makes the
    # Start-menu shortcuts), and a prefix whose registry was never saved
    # (its wineserver killed) has none of them but looks usable otherwise.
    timeout 120 wineserver -w </dev/null >/dev/null 2>&1
    if ! timeout 60 "$_dx_wine" reg query \
         'HKCR\CLSID\{00021401-0000-0000-C000-000000000046}' </dev/null >/dev/null 2>&1; then
      echo "wine-env.sh: the new prefix $WINEPREFIX is incomplete; remove it and retry" >&2
      return 1
    fi
    touch "$WINEPREFIX/.duplex-ready"
  fi
  # Keep one wineserver alive for the whole test run, then pay the start-up
  # of Wine's services (explorer, services.exe, ...) outside meson.
  wineserver -p </dev/null >/dev/null 2>&1
  timeout 120 "$_dx_wine" cmd /c exit </dev/null >/dev/null 2>&1
  return 0
}

dx_wine_setup
