#!/usr/bin/env bash
# Benchmark: POST /api/tools/call (fresh WASM instance per call, API key auth, schema
# validation on) against GET /api/system/health on the same server in the same run, plus the
# in-process instantiate+call+drop latency. Writes the table to BENCHMARKS.md.
#
#   bash bench/run.sh            # release profile (what users run)
#   BENCH_PROFILE=dev bash bench/run.sh   # dev profile (dependencies optimised, ours not)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${BENCH_PROFILE:-release}"
duration="${BENCH_SECONDS:-10}"
connections="${BENCH_CONNECTIONS:-64}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chatai-edge/target}"
flag=(); dir=debug
if [ "$profile" = release ]; then flag=(--release); dir=release; fi
cargo build "${flag[@]}" -p chatai-tests --bins
bin="$CARGO_TARGET_DIR/$dir"

work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$work" && exec env CHATAI_SERVER__PORT=0 CHATAI_RATE_LIMIT__PER_MINUTE=0 CHATAI_LOG__LEVEL=warn \
  "$bin/chatai-under-test" > "$work/out" 2> "$work/err") &
server=$!
for _ in $(seq 1 100); do grep -q "login (one use" "$work/out" 2>/dev/null && break; sleep 0.2; done
base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/out")
token=$(sed -n 's/.*token=\([^ ]*\).*/\1/p' "$work/out")
jwt=$(curl -sf -X POST "$base/api/auth/login" -H 'content-type: application/json' \
  -d "{\"token\":\"$token\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["token"])')
export BENCH_KEY=$(curl -sf -X POST "$base/api/auth/api-keys" -H "authorization: Bearer $jwt" \
  -H 'content-type: application/json' -d '{"label":"bench","scopes":["tools:call","read"]}' \
  | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["key"])')
curl -sf -X POST "$base/api/tools/call" -H "X-API-Key: $BENCH_KEY" -H 'content-type: application/json' \
  -d '{"name":"uuid","args":{}}' > /dev/null

run_wrk() { wrk -t2 -c"$connections" -d"${duration}s" --latency "$@"; }
health=$(run_wrk "$base/api/system/health")
tools=$(run_wrk -s bench/tools_call.lua "$base/api/tools/call")
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
non2xx() { awk '/Non-2xx/ {n=$NF} END {print n+0}' <<<"$1"; }
rss=$(ps -o rss= -p "$server" | tr -d ' ')
kill "$server"; wait "$server" 2>/dev/null || true

inproc=$("$bin/bench-instantiate")
ratio=$(python3 -c "print(f'{$(rps "$tools")/$(rps "$health"):.2f}')")
cpu=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //')
table="| what | result |
| --- | --- |
| \`POST /api/tools/call\` (uuid, API key, schema on, fresh instance) | $(rps "$tools") req/s, p99 $(p99 "$tools"), non-2xx: $(non2xx "$tools") |
| \`GET /api/system/health\` (reference, same server, same run) | $(rps "$health") req/s, p99 $(p99 "$health") |
| ratio tools/call ÷ health | $ratio (target ≥ 0.25) |
| in process | $inproc |
| server RSS after the load | $((rss / 1024)) MiB |"
echo "$table"
{
  echo "## $(date -u +%Y-%m-%d) — profile \`$profile\`, $(nproc) cores ($cpu)"
  echo
  echo "Command: \`BENCH_PROFILE=$profile bash bench/run.sh\` (wrk -t2 -c$connections -d${duration}s on the same machine)."
  echo
  echo "$table"
  echo
} >> BENCHMARKS.md
