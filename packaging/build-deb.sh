#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the Debian package from a release build: build/deb/watchstate_<version>_<arch>.deb.
# The prefix is /usr, so the paths the man pages name are those the package installs to.
# Install it with `apt install ./build/deb/watchstate_*.deb`.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh
cmake --preset release -B build/deb -DCMAKE_INSTALL_PREFIX=/usr -DWS_BUILD_TESTS=OFF >/dev/null
cmake --build build/deb -j "$(nproc)"
(cd build/deb && cpack -G DEB)
ls build/deb/watchstate_*.deb
