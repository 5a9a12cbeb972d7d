#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Set up a Debian 12 machine, build watchstate and run the main job. Without a config file
# ($WS_CONFIG or ~/.config/watchstate/config.yaml) it starts the bundled three-server simulator,
# writes a demo config pointing at it and runs against that.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" >/dev/null
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
