#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lint.tidy: clang-tidy with the project's .clang-tidy on the C++ files a change touches, using
# the compile_commands.json of a build directory (CI: build/asan, the one it just built).
# .clang-tidy's WarningsAsErrors makes every check that is clean today an error; the checks with
# findings today stay warnings (listed there with their counts) and are printed, not failed on.
#
# Why not every file: measured with clang-tidy 14 on 54 of the 136 translation units on the
# 2 shared cores of the CI machine, one takes 21 s of CPU (median; mean 24 s, up to 71 s; a
# main.cpp of apps/ 0.2 s): the 8 s parse of the libstdc++, CLI11, httplib and RapidJSON
# headers, then ~250 checks over that AST. All 136 are ~55 CPU-minutes, ~30 minutes on 2 cores,
# and the CI test command has ~3 minutes to spare.
# So by default it checks the translation units of the files changed by the commit under test
# (HEAD~1..HEAD, or WS_TIDY_BASE..HEAD) and in the working tree, a changed header counting as its
# own .cpp, at most WS_TIDY_MAX_FILES of them (default 4: ~1 minute on 2 idle cores, 6.7 minutes
# with 1 job on the loaded machine); without a parent commit (a shallow clone) it checks
# WS_TIDY_MAX_FILES files chosen by the commit's hash, so successive runs cover the tree. Everything, by hand or in a nightly job:
#   WS_TIDY_FILES=all tests/lint/check-tidy.sh build/dev
#   tests/lint/check-tidy.sh build/dev lib/watchstate/sync/matching.cpp   # named files
# Environment: WS_CLANG_TIDY (default clang-tidy, else clang-tidy-14), WS_TIDY_JOBS (default
# 2), WS_TIDY_FILES (changed | all), WS_TIDY_MAX_FILES, WS_TIDY_BASE (a commit to diff against).
# Compile commands from GCC builds work: GCC-only warning options are ignored
# (-Wno-unknown-warning-option) and compiler warnings are not errors here (-Wno-error): the
# GCC build itself enforces -Werror; clang-tidy judges the code with its own checks.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "${1:?usage: check-tidy.sh BUILD_DIR [FILE...]}" && pwd)
shift
jobs=${WS_TIDY_JOBS:-2}
mode=${WS_TIDY_FILES:-changed}
max_files=${WS_TIDY_MAX_FILES:-4}
start=$(date +%s)

clang_tidy=${WS_CLANG_TIDY:-}
if [ -z "$clang_tidy" ]; then
  for candidate in clang-tidy clang-tidy-14; do
    if command -v "$candidate" >/dev/null; then
      clang_tidy=$candidate
      break
    fi
  done
fi
if [ -z "$clang_tidy" ] || ! command -v "$clang_tidy" >/dev/null; then
  echo "check-tidy: clang-tidy not found; install it (packaging/install-deps.sh installs" \
    "clang-tidy) or name it in WS_CLANG_TIDY" >&2
  exit 1
fi
if [ ! -f "$build_dir/compile_commands.json" ]; then
  echo "check-tidy: $build_dir/compile_commands.json missing (configure with" \
    "CMAKE_EXPORT_COMPILE_COMMANDS=ON; the presets do)" >&2
  exit 1
fi
cd "$source_dir"

# The translation units of the build, relative to the source directory, sorted.
mapfile -t units < <(python3 - "$build_dir/compile_commands.json" "$source_dir" <<'PY'
import json, os, sys
root = os.path.realpath(sys.argv[2])
seen = set()
for entry in json.load(open(sys.argv[1])):
    path = os.path.realpath(os.path.join(entry.get("directory", ""), entry["file"]))
    rel = os.path.relpath(path, root)
    if rel.split(os.sep)[0] in ("lib", "apps", "tests") and rel not in seen:
        seen.add(rel)
print("\n".join(sorted(seen)))
PY
)
if ((${#units[@]} == 0)); then
  echo "check-tidy: no translation unit of lib/, apps/, tests/ in $build_dir/compile_commands.json" >&2
  exit 1
fi

# A changed file's translation units: the file itself, or for a header the .cpp beside it.
units_of() {
  local f=$1 stem u
  case $f in
  *.cpp) stem=${f%.cpp} ;;
  *.hpp) stem=${f%.hpp} ;;
  *) return 0 ;;
  esac
  for u in "${units[@]}"; do
    [ "$u" = "$stem.cpp" ] && echo "$u"
  done
  return 0
}

selected=()
why=""
if (($# > 0)); then
  selected=("$@")
  why="named on the command line"
elif [ "$mode" = all ]; then
  selected=("${units[@]}")
  why="all (WS_TIDY_FILES=all)"
elif [ "$mode" = changed ]; then
  changed=()
  if [ -e .git ] && command -v git >/dev/null; then
    base=${WS_TIDY_BASE:-HEAD~1}
    if git rev-parse -q --verify "$base^{commit}" >/dev/null; then
      mapfile -t -O "${#changed[@]}" changed < <(git diff --name-only "$base" HEAD --)
      why="changed in $base..HEAD and the working tree"
    else
      why="no commit $base (shallow clone?)"
    fi
    mapfile -t -O "${#changed[@]}" changed < <(git diff --name-only HEAD --;
      git ls-files --others --exclude-standard -- lib apps tests)
  else
    why="no git checkout"
  fi
  mapfile -t selected < <(for f in "${changed[@]}"; do units_of "$f"; done | sort -u)
  if ((${#selected[@]} == 0)) && [[ $why == no* ]]; then
    # Nothing to diff against: a slice of the tree picked by the commit (or the day), so that
    # successive runs go round every file.
    seed=$( (git rev-parse HEAD 2>/dev/null || date +%j) | cksum | cut -d' ' -f1)
    first=$((seed % ${#units[@]}))
    for ((i = 0; i < max_files && i < ${#units[@]}; i++)); do
      selected+=("${units[(first + i) % ${#units[@]}]}")
    done
    why="$why: a slice of $max_files files picked by the commit"
  fi
  if ((${#selected[@]} > max_files)); then
    echo "check-tidy: ${#selected[@]} translation units changed; checking the first $max_files" \
      "(WS_TIDY_MAX_FILES); the others: ${selected[*]:max_files}"
    selected=("${selected[@]:0:max_files}")
  fi
else
  echo "check-tidy: WS_TIDY_FILES must be 'changed' or 'all', not '$mode'" >&2
  exit 1
fi

if ((${#selected[@]} == 0)); then
  echo "check-tidy: no C++ translation unit changed ($why); nothing to check"
  exit 0
fi
echo "check-tidy: ${#selected[@]} of ${#units[@]} translation units ($why), $jobs jobs," \
  "$("$clang_tidy" --version | grep -o 'version [0-9.]*')"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export clang_tidy build_dir logs
status=0
printf '%s\0' "${selected[@]}" | xargs -0 -P "$jobs" -n 1 bash -c '
  f=$1
  log=$logs/$(printf %s "$f" | tr / _)
  t0=$(date +%s)
  rc=0
  "$clang_tidy" -p "$build_dir" --quiet --extra-arg=-Wno-unknown-warning-option \
    --extra-arg=-Wno-error "$f" >"$log.out" 2>"$log.err" || rc=$?
  echo "$rc $(($(date +%s) - t0))" >"$log.rc"
  exit $((rc != 0))' _ || status=$?

failed=()
for f in "${selected[@]}"; do
  log=$logs/$(printf %s "$f" | tr / _)
  read -r rc seconds <"$log.rc" || { rc=1 seconds=?; }
  findings=$(grep -c ': \(warning\|error\): ' "$log.out" || true)
  printf '  %-60s %3ss  %s finding(s)\n' "$f" "$seconds" "$findings"
  if ((rc != 0)); then
    # clang 14 cannot compile a lambda capturing a structured binding (C++20, clang >= 16; GCC
    # can). Such errors alone do not fail the test: the rest of the file was still checked.
    # Capturing a copy (`[&, id = row_id]`) lets clang 14 read it.
    limit="reference to local binding .* declared in enclosing function"
    limit="$limit\\|in capture list does not name a variable"
    known=$(grep ': error: ' "$log.out" | grep -c "$limit" || true)
    others=$(grep ': error: ' "$log.out" | grep -v -c "$limit" || true)
    if ((known > 0 && others == 0)); then
      echo "    (clang 14 cannot compile a lambda capturing a structured binding here; not a failure)"
    else
      echo "    FAILED"
      failed+=("$f")
    fi
  fi
done
for f in "${selected[@]}"; do
  log=$logs/$(printf %s "$f" | tr / _)
  if [ -s "$log.out" ]; then
    echo "--- $f"
    cat "$log.out"
    grep -v 'warnings\? generated\|^Suppressed\|^Use -header-filter\|-system-headers' "$log.err" || true
  fi
done
elapsed=$(($(date +%s) - start))
if ((${#failed[@]})); then
  echo "check-tidy: FAILED in ${elapsed}s: errors (checks that were clean; .clang-tidy" \
    "WarningsAsErrors) in ${failed[*]}" >&2
  echo "Reproduce: $clang_tidy -p $build_dir ${failed[*]}" >&2
  exit 1
fi
((status == 0)) || { echo "check-tidy: clang-tidy failed (exit $status)" >&2; exit 1; }
echo "check-tidy: ${#selected[@]} translation units, no errors, in ${elapsed}s (warnings above are of checks not yet clean: .clang-tidy)"
