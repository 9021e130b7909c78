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
