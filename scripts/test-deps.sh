#!/usr/bin/env bash
# What the test suite needs beyond Rust: the wasm32-wasip2 target and componentize-py (PyPI,
# pinned) in a venv under ~/.cache/chatai-edge/pyenv, used by tests/tests/python.rs to build
# a Python extension. Idempotent; used by the README's test command and by .ci/run.
set -euo pipefail
rustup target add wasm32-wasip2 >/dev/null
venv="${COMPONENTIZE_PY_VENV:-$HOME/.cache/chatai-edge/pyenv}"
version="$(sed -n 's/^pub const COMPONENTIZE_PY: &str = "\(.*\)";/\1/p' "$(dirname "$0")/../server/src/ext/toolchain.rs")"
if ! "$venv/bin/componentize-py" --version 2>/dev/null | grep -q "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "componentize-py==$version"
fi

# The official MCP reference server (npm, pinned), run with node by tests/tests/mcp_client.rs;
# installed under ~/.cache/chatai-edge/mcp-everything (MCP_EVERYTHING_DIR overrides).
mcp_dir="${MCP_EVERYTHING_DIR:-$HOME/.cache/chatai-edge/mcp-everything}"
mcp_version=2026.8.31
if ! grep -qs "\"version\": \"$mcp_version\"" \
  "$mcp_dir/node_modules/@modelcontextprotocol/server-everything/package.json"; then
  if ! command -v npm >/dev/null; then
    as_root=""; [ "$(id -u)" = 0 ] || as_root=sudo
    $as_root apt-get update -qq
    $as_root apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  mkdir -p "$mcp_dir"
  npm install --silent --no-audit --no-fund --prefix "$mcp_dir" \
    "@modelcontextprotocol/server-everything@$mcp_version" >/dev/null
fi

# componentize-js (npm, pinned like the JavaScript template of `chatai ext new`), for
# tests/tests/ext_cli.rs; under ~/.cache/chatai-edge/componentize-js (COMPONENTIZE_JS_DIR).
cjs_dir="${COMPONENTIZE_JS_DIR:-$HOME/.cache/chatai-edge/componentize-js}"
cjs_version="$(sed -n 's/^pub const COMPONENTIZE_JS: &str = "\(.*\)";/\1/p' \
  "$(dirname "$0")/../server/src/ext/toolchain.rs")"
if ! grep -qs "\"version\": \"$cjs_version\"" \
  "$cjs_dir/node_modules/@bytecodealliance/componentize-js/package.json"; then
  mkdir -p "$cjs_dir"
  npm install --silent --no-audit --no-fund --prefix "$cjs_dir" \
    "@bytecodealliance/componentize-js@$cjs_version" >/dev/null
fi

# The panel's browser tests (tests/tests/panel.rs): Debian's chromium, driven over the DevTools
# protocol (axe-core, for the accessibility check, is vendored in tests/vendor/).
# A CJK font (WenQuanYi Micro Hei, 5 MB) so the Chinese screenshots show characters, not boxes.
# curl runs the `curl` lines `chatai ext deploy` prints (tests/tests/ext_cli.rs).
if ! command -v chromium >/dev/null || ! command -v curl >/dev/null \
  || ! [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  as_root=""; [ "$(id -u)" = 0 ] || as_root=sudo
  $as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends \
    chromium fonts-wqy-microhei curl >/dev/null
fi

# A real SurrealDB server for the multi-instance tests (tests/tests/scale_out.rs): crates.io
# surrealdb-server at our SDK's version, built from surreal-server/ once per machine into
# ~/.cache/chatai-edge/bin/surreal-<version> (SURREAL_BIN points elsewhere). Cold, this is the
# longest step of a fresh machine's CI (BENCHMARKS.md has the time).
root="$(cd "$(dirname "$0")/.." && pwd)"
surreal_version="$(sed -n 's/^surrealdb-server = { version = "=\([0-9.]*\)".*/\1/p' "$root/surreal-server/Cargo.toml")"
surreal_bin="$HOME/.cache/chatai-edge/bin/surreal-$surreal_version"
if [ -z "${SURREAL_BIN:-}" ] && ! [ -x "$surreal_bin" ]; then
  surreal_target="$HOME/.cache/chatai-edge/surreal-target"
  cargo build --release --locked --manifest-path "$root/surreal-server/Cargo.toml" \
    --target-dir "$surreal_target"
  mkdir -p "$(dirname "$surreal_bin")"
  cp "$surreal_target/release/surreal" "$surreal_bin"
  rm -rf "$surreal_target"
fi
