# Source this file (bash or sh) before running the Windows test suite:
#   . scripts/wine-env.sh && meson test -C /tmp/build-win --suite windows
# It prepares a Wine prefix non-interactively (no display needed) and starts
# Wine's background services up front: if the first `wine` run happens under
# `meson test`, the services it spawns inherit meson's pipes and every test
# appears to hang until it times out.
#
# Variables honoured: WINEPREFIX (default $HOME/.cache/duplex-wine, or
# $DUPLEX_WINE_PREFIX if set), WINE (default: wine).

if [ -z "${WINEPREFIX:-}" ]; then
  WINEPREFIX="${DUPLEX_WINE_PREFIX:-${HOME:-/tmp}/.cache/duplex-wine}"
fi
export WINEPREFIX
export WINEDEBUG=-all
# Disabling mscoree/mshtml stops wineboot from offering to install Mono and
# Gecko (a dialog that would block without a display).
export WINEDLLOVERRIDES="mscoree,mshtml="
# No X server: keep Wine from trying to open one.
unset DISPLAY WAYLAND_DISPLAY
export WINEARCH=win64

dx_wine_setup ()
{
  _dx_wine="${WINE:-wine}"
  if ! command -v "$_dx_wine" >/dev/null 2>&1; then
    echo "wine-env.sh: '$_dx_wine' not found (apt install wine wine64)" >&2
    return 1
  fi
  mkdir -p "$WINEPREFIX" || return 1
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "wine-env.sh: creating Wine prefix $WINEPREFIX (once)" >&2
    timeout 300 wineboot -i </dev/null >/dev/null 2>&1 || {
      echo "wine-env.sh: wineboot -i failed" >&2
      return 1
    }
  fi
  # Keep one wineserver alive for the whole test run, then pay the start-up
  # of Wine's services (explorer, services.exe, ...) outside meson.
  wineserver -p </dev/null >/dev/null 2>&1
  timeout 120 "$_dx_wine" cmd /c exit </dev/null >/dev/null 2>&1
  return 0
}

dx_wine_setup
