#!/usr/bin/env bash
# The web panel's weight and speed (issue 14): the bytes its files add to the binary (raw, as
# embedded) and gzip -9 (what a browser downloads), and the time from navigation to the
# dashboard showing its data, measured by the browser test in headless chromium: first visit
# through the login link with an empty cache, and a reload with the assets cached.
# Appends a dated table to BENCHMARKS.md.
#
#   bash bench/panel.sh            # runs tests/tests/panel.rs's screenshot test first
#   BENCH_NO_BUILD=1 bash bench/panel.sh   # only reads the last run's timing
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chatai-edge/target}"
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  cargo test -q -p chatai-tests --test panel every_page >/dev/null
fi
timing="$CARGO_TARGET_DIR/tmp/panel/dashboard-ready.json"
files=$(find server/panel -type f | sort)
count=$(echo "$files" | wc -l)
raw=$(cat $files | wc -c)
gz=0
for f in $files; do gz=$((gz + $(gzip -9c "$f" | wc -c))); done
read -r cold warm < <(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(round(d['coldMs']), round(d['warmMs']))" "$timing")
{
  echo
  echo "## Panel — $(date -u +%Y-%m-%d) ($(nproc) cores, $(chromium --version 2>/dev/null | head -1); the server is the tests' debug build, in process)"
  echo
  echo "| measure | value | goal |"
  echo "| --- | --- | --- |"
  echo "| panel files embedded in the binary ($count files) | $((raw / 1024)) KB raw | — |"
  echo "| the same, gzip -9 per file (what a first visit downloads at most) | $((gz / 1024)) KB | ≤ 300 KB |"
  echo "| navigation → dashboard shows its data, first visit (empty cache, via the login link) | $cold ms | ≤ 1,000 ms |"
  echo "| navigation → dashboard shows its data, reload (assets cached) | $warm ms | ≤ 1,000 ms |"
} >> BENCHMARKS.md
tail -8 BENCHMARKS.md
