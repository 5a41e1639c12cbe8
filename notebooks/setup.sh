#!/usr/bin/env bash
# Creates the virtual environment the notebooks run in (default: .venv-notebooks at the
# repository root) and prints the path of its python.
#   notebooks/setup.sh [VENV_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$root/.venv-notebooks}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/notebooks/requirements.txt" >&2
echo "$venv/bin/python"
