#!/usr/bin/env bash
# What the test suite needs beyond Rust: the wasm32-wasip2 target and componentize-py (PyPI,
# pinned) in a venv under ~/.cache/chatai-edge/pyenv, used by tests/tests/python.rs to build
# a Python extension. Idempotent; used by the README's test command and by .ci/run.
set -euo pipefail
rustup target add wasm32-wasip2 >/dev/null
venv="${COMPONENTIZE_PY_VENV:-$HOME/.cache/chatai-edge/pyenv}"
version=0.25.1
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

# The panel's browser tests (tests/tests/panel.rs): Debian's chromium, driven over the DevTools
# protocol, and axe-core (npm, pinned) for the accessibility check, under
# ~/.cache/chatai-edge/axe-core (AXE_CORE_JS points elsewhere).
# A CJK font (WenQuanYi Micro Hei, 5 MB) so the Chinese screenshots show characters, not boxes.
if ! command -v chromium >/dev/null || ! [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  as_root=""; [ "$(id -u)" = 0 ] || as_root=sudo
  $as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends \
    chromium fonts-wqy-microhei >/dev/null
fi
axe_dir="$HOME/.cache/chatai-edge/axe-core"
axe_version=4.14.1
if ! grep -qs "\"version\": \"$axe_version\"" "$axe_dir/node_modules/axe-core/package.json"; then
  mkdir -p "$axe_dir"
  npm install --silent --no-audit --no-fund --prefix "$axe_dir" "axe-core@$axe_version" >/dev/null
fi
