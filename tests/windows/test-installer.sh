#!/bin/sh
# The Windows installer under Wine: a silent install to C:\DuplexTest, the
# installed programs are the ones just built and run (duplexd.exe serves
# HTTP, and HTTPS when built with TLS; duplex.exe loads every DLL it
# imports from the installation), the Start-menu shortcuts and the
# Add/Remove Programs entry exist, and a silent uninstall removes all of it
# and leaves no process behind. TAP output.
#
# Usage: test-installer.sh SETUP.EXE VERSION DUPLEXD.EXE [DUPLEX.EXE]
# DUPLEX_TLS=1 in the environment: duplexd.exe was built with TLS.
# DUPLEX.EXE (the bundle's) when the installer carries the client.
# Needs the Wine prefix prepared by scripts/wine-env.sh (WINEPREFIX set)
# before `meson test`; skips without it.

setup=$1 version=$2 built=$3 built_client=${4:-}
WINE=${WINE:-wine}

plan=10
[ -n "$built_client" ] && plan=12
echo "1..$plan"
if [ -z "${WINEPREFIX:-}" ] || [ ! -d "$WINEPREFIX/drive_c" ]; then
  echo "# WINEPREFIX is not a prepared Wine prefix: source scripts/wine-env.sh BUILD first"
  i=1
  while [ $i -le $plan ]; do echo "ok $i # SKIP no Wine prefix"; i=$((i + 1)); done
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
wine_out () { timeout 60 "$WINE" "$@" </dev/null 2>/dev/null | tr -d '\r'; }

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
files="duplexd.exe uninstall.exe README.txt LICENSE.txt share/duplex/demo/baseball-ko.txt"
[ -n "$built_client" ] && files="$files duplex.exe share/glib-2.0/schemas/gschemas.compiled share/locale/ko/LC_MESSAGES/duplex.mo"
for f in $files; do
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

# 4. It serves: started on a free port, it answers /healthz; with TLS built
# in (DUPLEX_TLS=1), also over HTTPS with a certificate given on the
# command line (OpenSSL is linked into duplexd.exe: no DLL to ship).
tmp=$(mktemp -d)
serve_check () { # serve_check SCHEME CURL-OPTION [duplexd flags...]
  scheme=$1 copt=$2
  shift 2
  rm -f "$tmp/ready.json"
  timeout 60 "$WINE" 'C:\DuplexTest\duplexd.exe' --http 127.0.0.1:0 --tcp 127.0.0.1:0 \
    --store memory --ready-file "$tmp/ready.json" "$@" </dev/null >/dev/null 2>"$tmp/err" &
  server=$!
  i=0
  while [ ! -s "$tmp/ready.json" ] && [ $i -lt 300 ] && kill -0 $server 2>/dev/null; do
    sleep 0.2
    i=$((i + 1))
  done
  port=$(sed -n 's/.*"http": *\([0-9]*\).*/\1/p' "$tmp/ready.json" 2>/dev/null)
  health=
  [ -n "$port" ] && health=$(curl -fsS --max-time 10 $copt "$scheme://localhost:$port/healthz" 2>/dev/null)
  kill $server 2>/dev/null
  wait $server 2>/dev/null
  if [ -n "$health" ]; then
    result OK "the installed duplexd.exe serves $scheme (/healthz)"
  else
    echo "# ready file: $(cat "$tmp/ready.json" 2>/dev/null); stderr: $(head -c 500 "$tmp/err")"
    result FAIL "the installed duplexd.exe serves $scheme (/healthz)"
  fi
}
serve_check http ""
if [ "${DUPLEX_TLS:-0}" != 1 ]; then
  n=$((n + 1))
  echo "ok $n # SKIP duplexd.exe built without TLS"
elif ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
       -subj /CN=localhost -addext subjectAltName=DNS:localhost \
       -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1; then
  n=$((n + 1))
  echo "ok $n # SKIP no openssl command to make a certificate"
else
  serve_check https "--cacert $tmp/cert.pem" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
fi
rm -rf "$tmp"

if [ -n "$built_client" ]; then
  # The chat window is the bundle's ...
  if cmp -s "$built_client" "$dir/duplex.exe"; then
    result OK "installed duplex.exe is the built one"
  else
    result FAIL "installed duplex.exe is the built one"
  fi
  # 6. ... and starts: --version needs every imported DLL loaded (Wine
  # refuses to start it otherwise) but no display.
  out=$(wine_out 'C:\DuplexTest\duplex.exe' --version)
  if [ "$out" = "duplex $version" ]; then
    result OK "C:\\DuplexTest\\duplex.exe --version prints 'duplex $version'"
  else
    echo "# got: '$out'"
    result FAIL "C:\\DuplexTest\\duplex.exe --version prints 'duplex $version'"
  fi
fi

# Start-menu shortcuts (all users).
missing=
shortcuts="'Duplex server.lnk' 'Duplex README.lnk' 'Uninstall Duplex.lnk'"
[ -n "$built_client" ] && shortcuts="'Duplex.lnk' $shortcuts"
eval "set -- $shortcuts"
for f in "$@"; do
  [ -f "$menu/$f" ] || missing="$missing '$f'"
done
if [ -z "$missing" ]; then
  result OK "Start-menu shortcuts"
else
  echo "# missing:$missing"
  result FAIL "Start-menu shortcuts"
fi

# Add/Remove Programs entry: version, location, uninstall commands.
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

# Silent uninstall. NSIS's uninstaller copies itself to %TEMP% and
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

# ... and the shortcuts and the registry entry.
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

# ... and no process of the installation is left running (the uninstaller
# runs from %TEMP% with _?=C:\DuplexTest and may take a moment to exit).
left () { ps -eo args= | grep -i 'DuplexTest' | grep -v grep >/dev/null; }
i=0
while left && [ $i -lt 50 ]; do
  sleep 0.2
  i=$((i + 1))
done
if left -eo args= | grep -i 'DuplexTest' | grep -v grep >/dev/null; then
  echo "# still running:"; ps -eo pid=,args= | grep -i 'DuplexTest' | grep -v grep | sed 's/^/# /'
  result FAIL "no installed program left running"
else
  result OK "no installed program left running"
fi

[ $fails -eq 0 ]
