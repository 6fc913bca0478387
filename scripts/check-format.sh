#!/usr/bin/env bash
# Lists the C files that clang-format 14 would change under the tree's
# .clang-format, and exits 1 if there is any (0 if none, 77 = skipped when
# clang-format 14 is not installed). Changes nothing.
#
#   scripts/check-format.sh [FILE...]
#
# Default: every tracked *.c and *.h under src/, tests/ and benchmarks/.
# To format a file: clang-format-14 -i FILE. CLANG_FORMAT overrides the
# program (it must be version 14: other versions lay out some code
# differently). Run as the meson test 'format' (suite 'lint').
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
  for c in clang-format-14 clang-format; do
    if command -v "$c" >/dev/null 2>&1 && "$c" --version | grep -q 'version 14\.'; then
      cf=$c
      break
    fi
  done
fi
if [ -z "$cf" ]; then
  echo "check-format: clang-format 14 not found (install clang-format-14 or set CLANG_FORMAT)" >&2
  exit 77
fi

if [ $# -gt 0 ]; then
  files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- 'src/*.[ch]' 'tests/*.[ch]' 'benchmarks/*.[ch]')
else
  # A tarball: no git, the same files by name.
  mapfile -t files < <(find src tests benchmarks -name '*.[ch]' -type f | sort)
fi

bad=()
for f in "${files[@]}"; do
  "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done

if [ ${#bad[@]} -gt 0 ]; then
  printf '%s\n' "${bad[@]}"
  echo "check-format: ${#bad[@]} of ${#files[@]} files are not formatted ($cf -i FILE formats one)" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
