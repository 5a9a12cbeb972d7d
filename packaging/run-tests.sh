#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Set up a Debian 12 machine, build watchstate with AddressSanitizer and UndefinedBehaviorSanitizer
# (warnings are errors) and run every test: unit, HTTP loopback and integration suites.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh
preset=${WS_TEST_PRESET:-asan}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j 2 "$@"
