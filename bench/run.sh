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
# 6. Memory: idle RSS (15 s after the last request) on the first start (builtins compiled)
#    and after a restart (compile cache),
#    then RSS every 10 s through BENCH_MEMORY_SECONDS (90) of full-rate tools/call (wrk -c64).
# 7. Uploads: two concurrent uploads of the 18 MB Python test component while oha polls
#    `GET /api/system/health` at 200 req/s and 8 clients call `calculator` in a loop: both p99s
#    meanwhile, against the same loads at rest.
# 8. Chat (tests/src/bin/bench-chat.rs, a local OpenAI-protocol upstream): overhead and added
#    time to first token against direct calls to the same upstream, BENCH_CHAT_STREAMS (1,000)
#    concurrent trickled streams, and req/s + RSS at wrk -c256 with a 20 ms upstream.
# 9. MCP server: `tools/call` of uuid over `/mcp` (a stateless 2026-07-28 request,
#    bench/mcp_call.lua) against the same call through `POST /api/tools/call`, same server,
#    same key, same wrk settings.
# 10. MCP client: `kill -9` of a stdio MCP server (mcp-test-server), time to `error` and to
#    `connected` again (tests/src/bin/bench-mcp-recovery.rs).
# 11. Scale-out (tests/src/bin/bench-scale.rs): two `chatai` processes on a real `surreal`
#    server (built by scripts/test-deps.sh): propagation delay of config changes and API keys
#    from A to B (p50/p99), and tools/call and chat throughput with one and with two instances.
#
# BENCH_STEPS (default "1,2,3,4,5,6,7,8,9,10,11") picks steps; a table row per step that ran.
# BENCH_NO_BUILD=1 measures the binaries already built instead of building them first.
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
steps=",${BENCH_STEPS:-1,2,3,4,5,6,7,8,9,10,11},"
want() { [[ "$steps" == *",$1,"* ]]; }
flag=(); dir=debug
if [ "$profile" = release ]; then flag=(--release); dir=release; fi
# BENCH_NO_BUILD=1: measure the binaries already built.
[ "${BENCH_NO_BUILD:-0}" = 1 ] || cargo build "${flag[@]}" -p chatai-tests --bins
bin="$CARGO_TARGET_DIR/$dir"

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

run_wrk() { wrk -t2 -c"$connections" -d"${duration}s" --latency "$@"; }
oha_p99() { python3 -c 'import sys,json; d=json.load(sys.stdin); print("%.2f" % (d["latencyPercentiles"]["p99"]*1000))'; }
oha_rps() { python3 -c 'import sys,json; d=json.load(sys.stdin); print("%.0f" % d["summary"]["requestsPerSec"])'; }
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
non2xx() { awk '/Non-2xx/ {n=$NF} END {print n+0}' <<<"$1"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

rows=()
# A real server in $work/$1 (SurrealKV, no rate limit; a new dir is a fresh data dir); sets $server, $base, $jwt, $BENCH_KEY.
start_server() {
  mkdir -p "$work/$1"
  (cd "$work/$1" && exec env CHATAI_SERVER__PORT=0 CHATAI_RATE_LIMIT__PER_MINUTE=0 CHATAI_LOG__LEVEL=warn \
    "$bin/chatai-under-test" > out 2> err) &
  server=$!; pids+=("$server")
  for _ in $(seq 1 100); do grep -q "login (one use" "$work/$1/out" 2>/dev/null && break; sleep 0.2; done
  base=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/$1/out")
  local token; token=$(sed -n 's/.*token=\([^ ]*\).*/\1/p' "$work/$1/out")
  jwt=$(curl -sf -X POST "$base/api/auth/login" -H 'content-type: application/json' \
    -d "{\"token\":\"$token\"}" | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["token"])')
  export BENCH_KEY=$(curl -sf -X POST "$base/api/auth/api-keys" -H "authorization: Bearer $jwt" \
    -H 'content-type: application/json' -d '{"label":"bench","scopes":["tools:call","read"]}' \
    | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["key"])')
  curl -sf -X POST "$base/api/tools/call" -H "X-API-Key: $BENCH_KEY" -H 'content-type: application/json' \
    -d '{"name":"uuid","args":{}}' > /dev/null
}
stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; }
rss_mib() { echo $(( $(ps -o rss= -p "$server" | tr -d ' ') / 1024 )); }
# RssAnon (private heap, stacks, JIT code) and RssFile (pages of the binary and of mapped files).
rss_split() { awk '/^RssAnon:/ {a=int($2/1024)} /^RssFile:/ {f=int($2/1024)} END {print a " MiB anonymous + " f " MiB file"}' "/proc/$server/status"; }

# 1. tools/call vs health on the real binary.
if want 1; then
  start_server s1
  health=$(run_wrk "$base/api/system/health")
  tools=$(run_wrk -s bench/tools_call.lua "$base/api/tools/call")
  stop_server
  rows+=("| \`POST /api/tools/call\` (uuid, API key, schema on, fresh instance), wrk -c$connections | $(rps "$tools") req/s, p99 $(p99 "$tools"), non-2xx: $(non2xx "$tools") (target ≥ 20,000) |"
    "| \`GET /api/system/health\` (reference, same server, same run) | $(rps "$health") req/s, p99 $(p99 "$health") |"
    "| ratio tools/call ÷ health | $(ratio "$(rps "$tools")" "$(rps "$health")") (target ≥ 0.25) |")
fi

# 2. wasmtime serve on a hello-world component.
if want 2 && [ "${BENCH_WASMTIME:-1}" != 0 ]; then
  cargo build --release --target wasm32-wasip2 --manifest-path bench/hello-http/Cargo.toml \
    --target-dir "$CARGO_TARGET_DIR/bench-wasm"
  hello="$CARGO_TARGET_DIR/bench-wasm/wasm32-wasip2/release/hello_http.wasm"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  wasmtime serve -S cli --addr "127.0.0.1:$port" "$hello" > "$work/serve.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.2; done
  serve=$(run_wrk "http://127.0.0.1:$port/")
  kill "${pids[-1]}" 2>/dev/null || true
  rows+=("| \`wasmtime serve -S cli\` $wasmtime_version, hello-world wasi:http component (reference) | $(rps "$serve") req/s, p99 $(p99 "$serve"), non-2xx: $(non2xx "$serve") |")
  if want 1; then
    rows+=("| ratio tools/call ÷ wasmtime serve | $(ratio "$(rps "$tools")" "$(rps "$serve")") (target ≥ 2) |")
  fi
fi

# 3. Other callers while 8 tools spin forever (fixed rate: half the rate measured in step 1).
if want 3; then
  full=20000
  if [ -n "${tools:-}" ]; then full=$(rps "$tools"); fi
  rate=$(python3 -c "print(int($full / 2))")
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
  rows+=("| tools/call at half that rate ($rate req/s, oha -c32), no spinners | p99 $quiet_p99 ms at $(oha_rps <<<"$quiet") req/s (target ≤ 2 ms) |"
    "| same load while 8 tools spin forever | p99 $busy_p99 ms at $(oha_rps <<<"$busy") req/s; ratio $(ratio "$busy_p99" "$quiet_p99") (target ≤ 2) |")
fi

# 4. In process.
if want 4; then rows+=("$("$bin/bench-instantiate")"); fi

# 5. Cold start with 11 extensions, compile cache warm and deleted.
if want 5; then rows+=("$("$bin/bench-startup")"); fi

# 6. Memory: idle, then sampled through a long full-rate tools/call run.
if want 6; then
  memory_seconds="${BENCH_MEMORY_SECONDS:-90}"
  # Idle: 15 s after the last request (the server pages its code out after 10 s without one,
  # server/src/footprint.rs).
  start_server s6
  sleep 15
  first=$(rss_mib); first_split=$(rss_split)
  stop_server
  # Restarted on the same data dir: the builtin components come from the compile cache, as on
  # every start but the first.
  start_server s6
  sleep 15
  idle=$(rss_mib); idle_split=$(rss_split)
  wrk -t2 -c"$connections" -d"${memory_seconds}s" -s bench/tools_call.lua "$base/api/tools/call" > "$work/memory.wrk" &
  load=$!
  samples=()
  for _ in $(seq 10 10 "$memory_seconds"); do sleep 10; samples+=("$(rss_mib)"); done
  wait "$load"
  after=$(rss_mib); sleep 10; settled=$(rss_mib)
  stop_server
  last=("${samples[@]: -4}")
  spread=$(IFS=,; python3 -c "v=[${last[*]}]; print(max(v)-min(v))")
  rows+=("| server RSS idle, 15 s after start, a login, a key and one call: first start (builtins compiled) / restart (compile cache) | $first MiB ($first_split) / $idle MiB ($idle_split) (target ≤ 60) |"
    "| RSS every 10 s under ${memory_seconds} s of full-rate tools/call (wrk -c$connections, $(rps "$(cat "$work/memory.wrk")") req/s) | ${samples[*]} MiB; max $(printf '%s\n' "${samples[@]}" | sort -n | tail -1) MiB (target ≤ 200); last 30 s spread $spread MiB; 10 s after the load $settled MiB |")
fi

# 7. Health latency while two uploads of the Python component compile.
if want 7; then
  bash scripts/test-deps.sh
  greeter="$work/greeter.wasm"
  "${COMPONENTIZE_PY_VENV:-$HOME/.cache/chatai-edge/pyenv}/bin/componentize-py" -d wit/v0.1.0 -w tool-extension \
    componentize -p tests/python/greeter app -o "$greeter" > /dev/null
  start_server s7
  poll() {
    oha -z "$1" -c 4 -q 200 --no-tui --output-format json "$base/api/system/health"
  }
  # 8 clients calling calculator in a loop (as many calls as they can make).
  calculate() {
    oha -z "$1" -c 8 --no-tui --output-format json -m POST -T application/json \
      -H "X-API-Key: $BENCH_KEY" -d '{"name":"calculator","args":{"expression":"6 * 7"}}' \
      "$base/api/tools/call"
  }
  rest=$(poll 10s)
  calc_rest=$(calculate 10s)
  poll 40s > "$work/poll.json" &
  poller=$!
  calculate 40s > "$work/calc.json" &
  calculator=$!
  sleep 2
  upload() {
    curl -s -o "$work/upload-$1.json" -w '%{http_code} %{time_total}' -X POST "$base/api/tools/custom" \
      -H "authorization: Bearer $jwt" -F "file=@$greeter;filename=greeter_$1.wasm"
  }
  upload a > "$work/upload-a.status" &
  ua=$!
  upload b > "$work/upload-b.status" &
  ub=$!
  wait "$ua" "$ub"
  wait "$poller" "$calculator"
  during=$(cat "$work/poll.json")
  calc_during=$(cat "$work/calc.json")
  stop_server
  rows+=("| \`GET /api/system/health\` p99 at 200 req/s (oha -c4): at rest / during two concurrent uploads of the 18 MB Python component | $(oha_p99 <<<"$rest") ms / $(oha_p99 <<<"$during") ms (target < 100 ms); uploads: $(cat "$work/upload-a.status") s and $(cat "$work/upload-b.status") s (status, seconds; one is 201, the other 409: same tool name, refused after its compile) |"
    "| \`calculator\` calls from 8 clients in a loop (oha -c8): at rest / during the uploads | p99 $(oha_p99 <<<"$calc_rest") ms at $(oha_rps <<<"$calc_rest") req/s / p99 $(oha_p99 <<<"$calc_during") ms at $(oha_rps <<<"$calc_during") req/s; non-2xx during: $(python3 -c 'import sys,json; d=json.load(sys.stdin); print(sum(v for k,v in d["statusCodeDistribution"].items() if not k.startswith("2")))' <<<"$calc_during") |")
fi

# 8. Chat against a local upstream.
if want 8; then
  start_server s8
  rows+=("$("$bin/bench-chat" "$base" "$jwt" "$server")")
  stop_server
fi

# 9. /mcp tools/call vs REST tools/call.
if want 9; then
  start_server s9
  rest=$(run_wrk -s bench/tools_call.lua "$base/api/tools/call")
  mcp=$(run_wrk -s bench/mcp_call.lua "$base/mcp")
  stop_server
  rows+=("| \`POST /api/tools/call\` (uuid, API key), wrk -c$connections (reference, same run) | $(rps "$rest") req/s, p99 $(p99 "$rest"), non-2xx: $(non2xx "$rest") |"
    "| MCP \`tools/call\` of uuid on \`/mcp\` (stateless 2026-07-28, API key), wrk -c$connections | $(rps "$mcp") req/s, p99 $(p99 "$mcp"), non-2xx: $(non2xx "$mcp") |"
    "| ratio /mcp ÷ REST tools/call | $(ratio "$(rps "$mcp")" "$(rps "$rest")") (target ≥ 0.5) |")
fi

# 10. kill -9 of an MCP server: time to error and back.
if want 10; then
  start_server s10
  rows+=("$("$bin/bench-mcp-recovery" "$base" "$jwt" "$bin/mcp-test-server")")
  stop_server
fi

# 11. Two instances on a real surreal server.
if want 11; then
  bash scripts/test-deps.sh >/dev/null
  rows+=("$("$bin/bench-scale" "$bin/chatai-under-test")")
fi

cpu=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //')
table="| what | result |
| --- | --- |
$(printf '%s\n' "${rows[@]}")"
echo "$table"
{
  echo "## $(date -u +%Y-%m-%d) — profile \`$profile\`, $(nproc) cores ($cpu)"
  echo
  echo "Command: \`BENCH_PROFILE=$profile BENCH_STEPS=${BENCH_STEPS:-1,2,3,4,5,6,7,8,9,10,11} bash bench/run.sh\` (wrk -t2 -c$connections -d${duration}s and oha on the same machine)."
  echo
  echo "$table"
  echo
} >> BENCHMARKS.md
