#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages watchstate builds and tests with, when they are missing.
set -euo pipefail
# The dpkg-dev line is for packaging and its tests: dpkg-dev (dpkg-shlibdeps) and file let CPack
# compute the .deb's Depends; systemd brings systemd-analyze verify and systemd-sysusers, which
# work without systemd running (as in a container).
# clang with its sanitizer and libFuzzer runtimes (libclang-rt-dev, only recommended by clang)
# builds the fuzz harnesses (tests/fuzz); openssl makes the TLS test's self-signed certificate.
# clang-format and clang-tidy (14 on Debian 12) run the lint.format and lint.tidy tests (tests/lint).
packages=(
  cmake ninja-build g++ pkg-config git ca-certificates
  libcli11-dev libcurl4-openssl-dev libsqlitecpp-dev libsqlite3-dev rapidjson-dev libfmt-dev
  libyaml-cpp-dev catch2 libcpp-httplib-dev zlib1g-dev python3 sqlite3 scdoc
  dpkg-dev file systemd
  clang libclang-rt-dev openssl
  clang-format clang-tidy
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
