#!/usr/bin/env bash
# Install uv when missing and sync the locked Python dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

if ! uv --version >/dev/null 2>&1; then
  echo "Installing uv with pip..."
  python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv
fi
uv --version >/dev/null 2>&1 || { echo "uv is not on PATH after installing it." >&2; exit 1; }

wanted=$(cat .python-version)
if ! uv python find "$wanted" >/dev/null 2>&1; then
  echo "Python $wanted is needed (see .python-version); install it (for example with pyenv)." >&2
  exit 1
fi
uv sync --frozen --quiet
