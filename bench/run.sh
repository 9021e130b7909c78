#!/usr/bin/env bash
# Benchmarks of the tool runtime (QUALITY.md §1), every speed against a reference measured in
# the same run on the same machine. Appends a dated table to BENCHMARKS.md.
#
#   bash bench/run.sh                     # release profile (what users run)
#   BENCH_PROFILE=dev bash bench/run.sh   # dev profile (dependencies optimised, ours not)
#
# 1. `POST /api/tools/call` (uuid, API key, schema on, fresh instance per call) against
#    `GET /api/system/health` on the same server (the real binary on SurrealKV), wrk -c64.
# 2. The reference `wasmtime serve -S cli` on a hello-world wasi:http component (bench/hello-http),
#    also a fresh instance per request, same wrk settings. Skipped with BENCH_WASMTIME=0.
# 3. Other callers while 8 tools spin forever: tools/call p99 at a fixed rate (half the rate of
#    step 1, oha) without and then with 8 concurrent infinite-loop calls (fixture `misbehave`).
# 4. In process: instantiate+call+drop latency, and the deadline overshoot of 8 infinite loops.
# 5. Cold start of the real binary with 5 builtin + 6 custom extensions: compile cache warm vs
#    deleted (tests/src/bin/bench-startup.rs).
#
# Installs what it lacks: wrk (Debian), oha and wasmtime-cli (crates.io, compiled once).
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${BENCH_PROFILE:-release}"
duration="${BENCH_SECONDS:-10}"
connections="${BENCH_CONNECTIONS:-64}"
wasmtime_version=48.0.8
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chatai-edge/target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v oha >/dev/null || cargo install oha --locked
if [ "${BENCH_WASMTIME:-1}" != 0 ] && ! wasmtime --version 2>/dev/null | grep -q "$wasmtime_version"; then
  cargo install wasmtime-cli --version "$wasmtime_version" --locked
fi
flag=(); dir=debug
if [ "$profile" = release ]; then flag=(--release); dir=release; fi
cargo build "${flag[@]}" -p chatai-tests --bins
bin="$CARGO_TARGET_DIR/$dir"

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

run_wrk() { wrk -t2 -c"$connections" -d"${duration}s" --latency "$@"; }
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
non2xx() { awk '/Non-2xx/ {n=$NF} END {print n+0}' <<<"$1"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

# 1. tools/call vs health on the real binary.
mkdir "$work/server"
(cd "$work/server" && exec env CHATAI_SERVER__PORT=0 CHATAI_RATE_LIMIT__PER_MINUTE=0 CHATAI_LOG__LEVEL=warn \
  "$bin/chatai-under-test" > out 2> err) &
server=$!; pids+=("$server")
for _ in $(seq 1 100); do grep -q "login (one use" "$work/server/out" 2>/dev/null && break; sleep 0.2; done
base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/server/out")
token=$(sed -n 's/.*token=\([^ ]*\).*/\1/p' "$work/server/out")
jwt=$(curl -sf -X POST "$base/api/auth/login" -H 'content-type: application/json' \
  -d "{\"token\":\"$token\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["token"])')
export BENCH_KEY=$(curl -sf -X POST "$base/api/auth/api-keys" -H "authorization: Bearer $jwt" \
  -H 'content-type: application/json' -d '{"label":"bench","scopes":["tools:call","read"]}' \
  | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["key"])')
curl -sf -X POST "$base/api/tools/call" -H "X-API-Key: $BENCH_KEY" -H 'content-type: application/json' \
  -d '{"name":"uuid","args":{}}' > /dev/null
rss_idle=$(ps -o rss= -p "$server" | tr -d ' ')
health=$(run_wrk "$base/api/system/health")
tools=$(run_wrk -s bench/tools_call.lua "$base/api/tools/call")
rss=$(ps -o rss= -p "$server" | tr -d ' ')
kill "$server"; wait "$server" 2>/dev/null || true

# 2. wasmtime serve on a hello-world component.
serve_row="| \`wasmtime serve\` reference | skipped (BENCH_WASMTIME=0) |"
serve_ratio_row=""
if [ "${BENCH_WASMTIME:-1}" != 0 ]; then
  cargo build --release --target wasm32-wasip2 --manifest-path bench/hello-http/Cargo.toml \
    --target-dir "$CARGO_TARGET_DIR/bench-wasm"
  hello="$CARGO_TARGET_DIR/bench-wasm/wasm32-wasip2/release/hello_http.wasm"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  wasmtime serve -S cli --addr "127.0.0.1:$port" "$hello" > "$work/serve.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.2; done
  serve=$(run_wrk "http://127.0.0.1:$port/")
  kill "${pids[-1]}" 2>/dev/null || true
  serve_row="| \`wasmtime serve -S cli\` $wasmtime_version, hello-world wasi:http component (reference) | $(rps "$serve") req/s, p99 $(p99 "$serve"), non-2xx: $(non2xx "$serve") |"
  serve_ratio_row="| ratio tools/call ÷ wasmtime serve | $(ratio "$(rps "$tools")" "$(rps "$serve")") (target ≥ 2) |"
fi

# 3. Other callers while 8 tools spin forever (fixed rate: half the rate measured in step 1).
rate=$(python3 -c "print(int($(rps "$tools") / 2))")
mkfifo "$work/hold"
BENCH_FIXTURES=misbehave "$bin/bench-server" < "$work/hold" > "$work/bench-server.out" 2> "$work/bench-server.err" &
pids+=("$!")
exec 3> "$work/hold"
for _ in $(seq 1 150); do [ -s "$work/bench-server.out" ] && break; sleep 0.2; done
read -r fbase fkey < "$work/bench-server.out"
run_oha() {
  oha -z "${duration}s" -c 32 -q "$rate" --latency-correction --no-tui --output-format json \
    -m POST -H "X-API-Key: $fkey" -H 'content-type: application/json' \
    -d '{"name":"uuid","args":{}}' "$fbase/api/tools/call"
}
oha_p99() { python3 -c 'import sys,json; d=json.load(sys.stdin); print("%.2f" % (d["latencyPercentiles"]["p99"]*1000))'; }
oha_rps() { python3 -c 'import sys,json; d=json.load(sys.stdin); print("%.0f" % d["summary"]["requestsPerSec"])'; }
quiet=$(run_oha)
spinners=()
for _ in $(seq 1 8); do
  (while :; do curl -s -o /dev/null -X POST "$fbase/api/tools/call" -H "X-API-Key: $fkey" \
    -H 'content-type: application/json' -d '{"name":"spin_forever","args":{}}'; done) &
  spinners+=("$!"); pids+=("$!")
done
sleep 1
busy=$(run_oha)
for p in "${spinners[@]}"; do kill "$p" 2>/dev/null || true; done
exec 3>&-
quiet_p99=$(oha_p99 <<<"$quiet"); busy_p99=$(oha_p99 <<<"$busy")

# 4. In process.
inproc=$("$bin/bench-instantiate")

# 5. Cold start with 11 extensions, compile cache warm and deleted.
startup=$("$bin/bench-startup")

cpu=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //')
table="| what | result |
| --- | --- |
| \`POST /api/tools/call\` (uuid, API key, schema on, fresh instance), wrk -c$connections | $(rps "$tools") req/s, p99 $(p99 "$tools"), non-2xx: $(non2xx "$tools") (target ≥ 20,000) |
| \`GET /api/system/health\` (reference, same server, same run) | $(rps "$health") req/s, p99 $(p99 "$health") |
| ratio tools/call ÷ health | $(ratio "$(rps "$tools")" "$(rps "$health")") (target ≥ 0.25) |
$serve_row
${serve_ratio_row:+$serve_ratio_row
}| tools/call at half that rate ($rate req/s, oha -c32), no spinners | p99 $quiet_p99 ms at $(oha_rps <<<"$quiet") req/s (target ≤ 2 ms) |
| same load while 8 tools spin forever | p99 $busy_p99 ms at $(oha_rps <<<"$busy") req/s; ratio $(ratio "$busy_p99" "$quiet_p99") (target ≤ 2) |
$inproc
$startup
| server RSS idle / after the wrk runs | $((rss_idle / 1024)) MiB / $((rss / 1024)) MiB (targets ≤ 60 / ≤ 200) |"
echo "$table"
{
  echo "## $(date -u +%Y-%m-%d) — profile \`$profile\`, $(nproc) cores ($cpu)"
  echo
  echo "Command: \`BENCH_PROFILE=$profile bash bench/run.sh\` (wrk -t2 -c$connections -d${duration}s and oha on the same machine)."
  echo
  echo "$table"
  echo
} >> BENCHMARKS.md
