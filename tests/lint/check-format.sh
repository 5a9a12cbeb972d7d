#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lint.format: every C++ file of lib/, apps/ and tests/ is formatted as .clang-format says.
# Runs `clang-format --dry-run -Werror` on each tracked *.cpp / *.hpp (git ls-files in a git
# checkout, find in a release tarball) and fails naming the files that differ and the command
# that fixes them. clang-format missing is a failure, not a skip: CI installs it
# (packaging/install-deps.sh). The tree is formatted with clang-format 14 (Debian 12); other
# major versions may format some constructs differently.
#   tests/lint/check-format.sh                # from anywhere
# Environment: WS_CLANG_FORMAT (the program, default clang-format, else clang-format-14).
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
cd "$source_dir"

clang_format=${WS_CLANG_FORMAT:-}
if [ -z "$clang_format" ]; then
  for candidate in clang-format clang-format-14; do
    if command -v "$candidate" >/dev/null; then
      clang_format=$candidate
      break
    fi
  done
fi
if [ -z "$clang_format" ] || ! command -v "$clang_format" >/dev/null; then
  echo "check-format: clang-format not found; install it (packaging/install-deps.sh installs" \
    "clang-format) or name it in WS_CLANG_FORMAT" >&2
  exit 1
fi
version=$("$clang_format" --version)

files=()
if [ -e .git ] && command -v git >/dev/null; then
  mapfile -t -d '' listed < <(git ls-files -z -- 'lib/*.cpp' 'lib/*.hpp' 'apps/*.cpp' \
    'apps/*.hpp' 'tests/*.cpp' 'tests/*.hpp')
  for f in "${listed[@]}"; do
    [ -f "$f" ] && files+=("$f") # a file deleted in the working tree is not checked
  done
else
  mapfile -t -d '' files < <(find lib apps tests -type f \( -name '*.cpp' -o -name '*.hpp' \) \
    -print0 | sort -z)
fi
if ((${#files[@]} == 0)); then
  echo "check-format: no C++ file found under lib/, apps/, tests/ of $source_dir" >&2
  exit 1
fi

# One clang-format run over all files (it goes on after a file that differs); --ferror-limit=1
# keeps one diagnostic per file: the first difference.
status=0
report=$(printf '%s\0' "${files[@]}" |
  xargs -0 "$clang_format" --dry-run -Werror --ferror-limit=1 2>&1) || status=$?
mapfile -t bad < <(printf '%s\n' "$report" |
  sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)
if ((status != 0 && ${#bad[@]} == 0)); then
  printf '%s\n' "$report" >&2
  echo "check-format: $clang_format failed (exit $status) without naming a file; see above" >&2
  exit 1
fi

if ((${#bad[@]})); then
  {
    echo "check-format: ${#bad[@]} of ${#files[@]} files are not formatted as .clang-format says:"
    printf '  %s\n' "${bad[@]}"
    echo "The first difference of each:"
    printf '%s\n' "$report" | head -60
    echo "Fix them (from $source_dir) with:"
    echo "  $clang_format -i ${bad[*]}"
    echo "or format everything: clang-format -i \$(git ls-files '*.cpp' '*.hpp')"
    echo "(checked with: $version; the tree is formatted with clang-format 14)"
  } >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted ($version)"
