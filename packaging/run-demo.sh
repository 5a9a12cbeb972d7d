#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Set up a Debian 12 machine, build watchstate and run the main job. Without a config file
# ($WS_CONFIG or ~/.config/watchstate/config.yaml) it starts the bundled three-server simulator,
# writes a demo config pointing at it and runs against that.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh
# The build's output goes to a log; a failed build shows its end (ninja prints the compiler's
# errors on stdout, which a plain >/dev/null would swallow: exit 1 with nothing said).
mkdir -p build
build_log=build/run-demo-build.log
if ! { cmake --preset release && cmake --build --preset release -j "$(nproc)"; } >"$build_log" 2>&1; then
  echo "run-demo: the build failed; the end of $build_log:" >&2
  tail -n 40 "$build_log" >&2
  exit 1
fi
bin=build/release/apps
config=${WS_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/watchstate/config.yaml}
if [ ! -f "$config" ]; then
  demo=$(mktemp -d /tmp/watchstate-demo.XXXXXX)
  config=$demo/config.yaml
  "$bin/ws-simulator" --items 2000 --ready-file "$demo/ready.json" --write-config "$config" \
    --state-dir "$demo/state" >/dev/null 2>"$demo/simulator.log" &
  sim=$!
  trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
  for _ in $(seq 100); do [ -f "$demo/ready.json" ] && break; sleep 0.1; done
  echo "No config found: running against the bundled simulator (config $config)" >&2
fi
"$bin/ws-sync" -c "$config" -v
"$bin/ws-state" -c "$config" list --limit 15
