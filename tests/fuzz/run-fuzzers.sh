#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer harnesses of tests/fuzz with clang (address + undefined sanitizers) and run
# each for a bounded time on its seed corpus. Exits non-zero when a harness finds a crash, a
# leak, a timeout (10 s for one input) or an out-of-memory; the input that did it is kept under
# the build directory (artifacts/). ctest runs this as fuzz.parsers; it also runs by hand:
#   tests/fuzz/run-fuzzers.sh                 # 20 s per harness
#   WS_FUZZ_SECONDS=300 tests/fuzz/run-fuzzers.sh fuzz_plex_page
# Environment: WS_FUZZ_SECONDS (per harness), WS_FUZZ_BUILD_DIR, WS_FUZZ_JOBS (build jobs).
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${WS_FUZZ_BUILD_DIR:-$source_dir/build/fuzz}
seconds=${WS_FUZZ_SECONDS:-20}
jobs=${WS_FUZZ_JOBS:-2}
clangxx=${WS_FUZZ_CXX:-clang++}

if ! command -v "$clangxx" >/dev/null; then
  echo "run-fuzzers: $clangxx not found (install clang: packaging/install-deps.sh)" >&2
  exit 77 # ctest reports the test as skipped
fi
if ! command -v ninja >/dev/null; then
  echo "run-fuzzers: ninja not found" >&2
  exit 77
fi

cmake -S "$source_dir/tests/fuzz" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$clangxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "$jobs" >/dev/null

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cd "$source_dir/tests/fuzz" && ls fuzz_*.cpp | sed 's/\.cpp$//')
fi

python3 "$source_dir/tests/fuzz/make_seeds.py" "$source_dir" "$build_dir/seeds" >/dev/null
mkdir -p "$build_dir/artifacts" "$build_dir/tmp"
export TMPDIR="$build_dir/tmp"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
for target in "${targets[@]}"; do
  name=${target#fuzz_}
  corpus="$build_dir/corpus/$name"
  seeds="$build_dir/seeds/$name"
  mkdir -p "$corpus" "$seeds"
  log="$build_dir/$target.log"
  if "$build_dir/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$name-" \
      "$corpus" "$seeds" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    units=$(find "$corpus" -type f | wc -l)
    echo "fuzz $name: ${runs:-?} executions in ${seconds} s, corpus $units inputs, no failure"
  else
    status=1
    echo "fuzz $name: FAILED (log $log, input in $build_dir/artifacts/)" >&2
    grep -E "ERROR|SUMMARY|Test unit written|runtime error|terminate called|what\(\)" "$log" \
      | head -n 20 >&2 || true
  fi
done
exit "$status"
