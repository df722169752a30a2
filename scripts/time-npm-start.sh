#!/usr/bin/env bash
# Times `npm start` the way a user meets it: starts it in its own process group, waits for the
# printed curl lines, runs the first two (PUT then GET on another node), prints how long that
# took, then presses Ctrl-C (SIGINT to the group) and counts the processes left 5 s later.
# Usage: bash scripts/time-npm-start.sh   (from a checkout after npm install; uses ./data)
set -u
cd "$(dirname "$0")/.."
out=$(mktemp)
start=$(date +%s.%N)
setsid npm start >"$out" 2>&1 &
leader=$!
until grep -q "Ctrl-C stops" "$out" 2>/dev/null; do
  if ! kill -0 "$leader" 2>/dev/null; then cat "$out"; exit 1; fi
  sleep 0.05
done
printed=$(date +%s.%N)
curl -sf -X PUT --data hello http://127.0.0.1:8001/kv/greeting && value=$(curl -sf http://127.0.0.1:8003/kv/greeting)
answered=$(date +%s.%N)
echo "curl lines printed after $(echo "$printed - $start" | bc) s; answered (\"${value:-}\") after $(echo "$answered - $start" | bc) s"
kill -INT -"$leader"
sleep 5
echo "processes left 5 s after Ctrl-C: $(pgrep -f 'cli/main\.(ts|js) (cluster|start)|run-built-cli\.mjs cluster' | wc -l)"
rm -f "$out"
