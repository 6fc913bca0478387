#!/bin/sh
# The Windows installer under Wine: a silent install to C:\DuplexTest, the
# installed duplexd.exe runs and is the one just built, the Start-menu
# shortcuts and the Add/Remove Programs entry exist, and a silent uninstall
# removes all of it. TAP output.
#
# Usage: test-installer.sh SETUP.EXE VERSION DUPLEXD.EXE
# Needs the Wine prefix prepared by scripts/wine-env.sh (WINEPREFIX set)
# before `meson test`; skips without it.

setup=$1 version=$2 built=$3
WINE=${WINE:-wine}

echo "1..7"
if [ -z "${WINEPREFIX:-}" ] || [ ! -d "$WINEPREFIX/drive_c" ]; then
  echo "# WINEPREFIX is not a prepared Wine prefix: source scripts/wine-env.sh BUILD first"
  for i in 1 2 3 4 5 6 7; do echo "ok $i # SKIP no Wine prefix"; done
  exit 0
fi
export WINEDEBUG=-all

dir="$WINEPREFIX/drive_c/DuplexTest"
menu="$WINEPREFIX/drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs/Duplex"
key='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Duplex'
n=0
fails=0
result () { # result OK|FAIL description
  n=$((n + 1))
  if [ "$1" = OK ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
# Wine prints CRLF; compare text without the CRs.
wine_out () { timeout 30 "$WINE" "$@" </dev/null 2>/dev/null | tr -d '\r'; }

# A previous, interrupted run may have left an installation behind.
if [ -x "$dir/uninstall.exe" ]; then
  timeout 30 "$WINE" 'C:\DuplexTest\uninstall.exe' /S </dev/null >/dev/null 2>&1
  sleep 2
fi
rm -rf "$dir"

# 1. Silent install; /D= must be last and unquoted for NSIS.
timeout 60 "$WINE" "$setup" /S '/D=C:\DuplexTest' </dev/null >/dev/null 2>&1
rc=$?
missing=
for f in duplexd.exe uninstall.exe README.txt LICENSE.txt; do
  [ -f "$dir/$f" ] || missing="$missing $f"
done
if [ $rc -eq 0 ] && [ -z "$missing" ]; then
  result OK "silent install to C:\\DuplexTest"
else
  echo "# setup exit status $rc, missing:${missing:- none}"
  result FAIL "silent install to C:\\DuplexTest"
fi

# 2. The installed program is the one just built (not a stale copy).
if cmp -s "$built" "$dir/duplexd.exe"; then
  result OK "installed duplexd.exe is the built one"
else
  result FAIL "installed duplexd.exe is the built one"
fi

# 3. It runs and reports the project's version.
out=$(wine_out 'C:\DuplexTest\duplexd.exe' --version)
if [ "$out" = "duplexd $version" ]; then
  result OK "C:\\DuplexTest\\duplexd.exe --version prints 'duplexd $version'"
else
  echo "# got: '$out'"
  result FAIL "C:\\DuplexTest\\duplexd.exe --version prints 'duplexd $version'"
fi

# 4. Start-menu shortcuts (all users).
missing=
for f in "Duplex server.lnk" "Duplex README.lnk" "Uninstall Duplex.lnk"; do
  [ -f "$menu/$f" ] || missing="$missing '$f'"
done
if [ -z "$missing" ]; then
  result OK "Start-menu shortcuts"
else
  echo "# missing:$missing"
  result FAIL "Start-menu shortcuts"
fi

# 5. Add/Remove Programs entry: version, location, uninstall commands.
reg=$(wine_out reg query "$key")
ok=OK
for want in "DisplayVersion    REG_SZ    $version" \
            "InstallLocation    REG_SZ    C:\\DuplexTest" \
            "UninstallString    REG_SZ    \"C:\\DuplexTest\\uninstall.exe\"" \
            "QuietUninstallString    REG_SZ    \"C:\\DuplexTest\\uninstall.exe\" /S"; do
  if ! printf '%s\n' "$reg" | grep -qF "$want"; then
    echo "# registry lacks: $want"
    ok=FAIL
  fi
done
result $ok "Add/Remove Programs entry"

# 6. Silent uninstall. NSIS's uninstaller copies itself to %TEMP% and
# returns at once, so wait (bounded) for the directory to disappear.
timeout 30 "$WINE" 'C:\DuplexTest\uninstall.exe' /S </dev/null >/dev/null 2>&1
i=0
while [ -e "$dir" ] && [ $i -lt 100 ]; do
  sleep 0.2
  i=$((i + 1))
done
if [ ! -e "$dir" ]; then
  result OK "silent uninstall removes C:\\DuplexTest"
else
  echo "# left:"; ls -la "$dir" | sed 's/^/# /'
  result FAIL "silent uninstall removes C:\\DuplexTest"
fi

# 7. ... and the shortcuts and the registry entry.
# reg query fails (exit status 1) when the key does not exist.
timeout 30 "$WINE" reg query "$key" </dev/null >/dev/null 2>&1
reg_rc=$?
if [ ! -e "$menu" ] && [ $reg_rc -eq 1 ]; then
  result OK "uninstall removes the shortcuts and the Add/Remove Programs entry"
else
  [ -e "$menu" ] && echo "# Start-menu folder left"
  [ $reg_rc -ne 1 ] && echo "# reg query exit status $reg_rc (registry key left?)"
  result FAIL "uninstall removes the shortcuts and the Add/Remove Programs entry"
fi

[ $fails -eq 0 ]
