#!/usr/bin/env bash
# Sets everything up and runs ALL of Duplex's tests:
#   1. native build (-Dwerror): every suite (platform on epoll, poll and uring,
#      protocol, server, integration on epoll, poll and uring, client under Xvfb,
#      web: the web client in headless Chromium)
#   2. ASan + UBSan build: the unit suites (protocol, platform, server)
#   3. clang libFuzzer build: each fuzz target for fuzz_seconds
#   4. Windows, in the background beside 1-3: the dependency prefix
#      (win32/deps/build.sh), the cross build (mingw-w64) with default
#      options, and the windows suite under Wine: platform (IOCP), server,
#      integration (SQLite store), the installer, and duplex.exe on Xvfb
# The last line is exactly "N passed, N failed" over every test of every
# build (skipped tests are counted on the line before it, in neither
# number). Exit status is 0 only when nothing failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

"$root/scripts/setup-deps.sh" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

out=${DUPLEX_BUILD_ROOT:-$root/build}
mkdir -p "$out"
summary=()
builds_failed=0

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export MESON_TESTTHREADS=${MESON_TESTTHREADS:-2}

started=$SECONDS
stamp() { printf '(%dm%02ds) ' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)); }

# setup_build NAME [meson args...] -> 0 if configured and compiled.
setup_build() {
  local name=$1
  shift
  local dir="$out/$name"
  echo "=== $(stamp)[$name] configure"
  if ! meson setup --wipe "$dir" "$root" "$@" >"$out/$name-setup.log" 2>&1 &&
     ! meson setup "$dir" "$root" "$@" >"$out/$name-setup.log" 2>&1; then
    tail -n 40 "$out/$name-setup.log"
    summary+=("$name: configure FAILED")
    builds_failed=$((builds_failed + 1))
    return 1
  fi
  echo "=== $(stamp)[$name] build"
  if ! ninja -C "$dir" >"$out/$name-build.log" 2>&1; then
    grep -E 'error|warning' "$out/$name-build.log" | head -n 60
    summary+=("$name: build FAILED")
    builds_failed=$((builds_failed + 1))
    return 1
  fi
}

# run_suites NAME [meson test args...]
run_suites() {
  local name=$1
  shift
  local dir="$out/$name"
  echo "=== $(stamp)[$name] test $*"
  meson test -C "$dir" --print-errorlogs --no-rebuild "$@" 2>&1 | tail -n 400
  # The counts come from testlog.json below, not from meson's exit code.
  return 0
}

# rerun_failed NAME: run once more the tests of build NAME that failed, into
# meson-logs/rerun.json. Some tests drive programs we do not own on a shared,
# loaded machine: Wine now and then fails to start a process (seen once in
# CI: a test that passes hundreds of times here ended in 0.01 s with status
# 1), and a GTK window may register late on a fresh AT-SPI bus. A test that
# passes on the second run is counted as passed and reported as FLAKY by
# name, so it is never hidden; one that fails twice fails. More than three
# failures in a build is not flakiness: no second run.
rerun_failed() {
  local dir="$out/$1"
  local names
  names=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    sys.exit(0)
bad = [json.loads(l)["name"] for l in lines if l.strip()
       and json.loads(l).get("result") not in ("OK", "EXPECTEDFAIL", "SKIP")]
# More than a few failures is not a flake: no second run.
if 0 < len(bad) <= 3:
    print("\n".join(n.split(" / ", 1)[-1] for n in bad))
PY
)
  [ -n "$names" ] || return 0
  echo "=== $(stamp)[$1] second run of: $(echo "$names" | tr '\n' ' ')"
  # shellcheck disable=SC2086 # one test name per word
  meson test -C "$dir" --print-errorlogs --no-rebuild --logbase rerun $names 2>&1 | tail -n 60
}

# 4. Windows: the dependency prefix (GTK 4, libsoup, SQLite, ... cross-built
# from Debian sources; cold about 30 minutes, cached: seconds), then the
# cross build with default options (meson leaves out what cannot build
# for Windows) and the windows suite under Wine: IOCP platform tests,
# server tests, the integration suite against duplexd.exe (SQLite store),
# the installer, and duplex.exe driven on its own Xvfb.
# It runs in the background, beside the native suites: most tests of both
# wait on timers and sockets (the machine stays far from busy), and run one
# after the other they took 30 minutes. Its output is printed when it ends;
# its configure/build failures come back through $out/windows-status.
windows_phase() {
  summary=()
  builds_failed=0
  echo "=== $(stamp)[windows] dependency prefix (win32/deps/build.sh)"
  if ! "$root/win32/deps/build.sh" >"$out/windows-deps.log" 2>&1; then
    tail -n 40 "$out/windows-deps.log"
    summary+=("windows: dependency prefix FAILED (see $out/windows-deps.log)")
    builds_failed=$((builds_failed + 1))
  fi
  if setup_build windows --cross-file "$root/win32/cross-mingw64.txt" \
       -Dwerror=true; then
    # shellcheck source=scripts/wine-env.sh
    . "$root/scripts/wine-env.sh" "$out/windows"
    run_suites windows --suite windows
    rerun_failed windows
    wineserver -k 2>/dev/null || true
  fi
  {
    echo "$builds_failed"
    for s in "${summary[@]}"; do echo "$s"; done
  } >"$out/windows-status"
}

# 1. native, every suite but fuzz and windows
windows_pid=
if setup_build native -Dwerror=true -Dfuzz=false; then
  # The Windows phase starts once the native build is done, so that the
  # two compilers never share the two cores.
  rm -f "$out/windows-status"
  windows_phase >"$out/windows-phase.log" 2>&1 &
  windows_pid=$!
  run_suites native --no-suite fuzz --no-suite windows
  rerun_failed native
fi

# 2. sanitizers, unit suites
if setup_build asan -Dwerror=true -Db_sanitize=address,undefined \
     -Db_lundef=false -Dclient=disabled -Dbench=false; then
  run_suites asan --suite protocol --suite platform --suite server --suite tls
  rerun_failed asan
fi

# 3. fuzz targets (clang + libFuzzer)
if CC=clang setup_build fuzz -Dfuzz=true -Dclient=disabled -Dbench=false \
     -Db_lundef=false -Dfuzz_seconds="${DUPLEX_FUZZ_SECONDS:-20}"; then
  run_suites fuzz --suite fuzz
fi

# 4. (started above, or now if the native build failed)
if [ -z "$windows_pid" ]; then
  windows_phase >"$out/windows-phase.log" 2>&1 &
  windows_pid=$!
fi
wait "$windows_pid"
cat "$out/windows-phase.log"
if [ -f "$out/windows-status" ]; then
  { read -r n; mapfile -t lines; } <"$out/windows-status"
  builds_failed=$((builds_failed + n))
  summary+=("${lines[@]}")
else
  summary+=("windows: the phase ended without a status (see $out/windows-phase.log)")
  builds_failed=$((builds_failed + 1))
fi

# Count every test of every build from meson's machine-readable logs.
counts=$(python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
passed = failed = skipped = 0
for build in ("native", "asan", "fuzz", "windows"):
    log = out / build / "meson-logs" / "testlog.json"
    if not log.exists():
        continue
    rerun = {}
    rerun_log = log.with_name("rerun.json")
    if rerun_log.exists():
        for line in rerun_log.read_text().splitlines():
            if line.strip():
                t = json.loads(line)
                rerun[t.get("name")] = t.get("result")
    p = f = s = 0
    failures = []
    for line in log.read_text().splitlines():
        if not line.strip():
            continue
        t = json.loads(line)
        name, r = t.get("name"), t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        elif rerun.get(name) == "OK":
            p += 1
            print(f"FLAKY [{build}] {name}: {r}, then OK on a second run", file=sys.stderr)
        else:
            f += 1
            failures.append(t)
    # The cause of each failure, near the end of the output where a CI
    # report that keeps only the last lines still shows it.
    for t in failures:
        print(f"FAILED [{build}] {t.get('name')}: {t.get('result')}", file=sys.stderr)
        lines = ((t.get("stdout") or "") + (t.get("stderr") or "")).strip().splitlines()
        # TAP: the failed points and their "#" diagnostics; else the end.
        why, keep = [], False
        for l in lines:
            keep = l.startswith(("not ok", "Bail out")) or (keep and l.startswith("#"))
            if keep:
                why.append(l)
        for l in (why or lines)[-12:]:
            print(f"    | {l.rstrip()[:200]}", file=sys.stderr)
    print(f"[{build}] {p} passed, {f} failed, {s} skipped", file=sys.stderr)
    passed += p; failed += f; skipped += s
print(passed, failed, skipped)
PY
)
read -r passed failed skipped <<<"$counts"
failed=$((failed + builds_failed))
for s in "${summary[@]}"; do echo "$s"; done
echo "=== $(stamp)done"
# Skips count neither as passed nor as failed; the last line is exactly
# "N passed, N failed".
echo "${skipped} skipped"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
