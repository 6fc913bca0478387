#!/bin/sh
# run-fuzz.sh FUZZER SEED_CORPUS WORK_DIR SECONDS
# Runs a libFuzzer binary for SECONDS over a fresh copy of SEED_CORPUS in
# WORK_DIR (the repository's corpus is never written to). Exits non-zero
# on any crash, leak, timeout, out-of-memory or sanitizer report; the
# reproducer is left in WORK_DIR/artifacts/.
set -eu
fuzzer=$1
seeds=$2
work=$3
seconds=$4

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$seeds" ]; then
  cp -R "$seeds"/. "$work/corpus/"
fi

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus"
