# Sourced by scripts/demo.sh and scripts/test.sh: create (once) and activate the project's
# own virtual environment in .venv, installing diskorbits with the requested extras.
# Needs only a Python >= 3.11 on PATH and access to PyPI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3 python3.13 python3.12 python3.11; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "diskorbits needs Python >= 3.11 on PATH (or set PYTHON=...)" >&2; exit 1; }
EXTRAS="${1:-}"
STAMP=".venv/.diskorbits-installed${EXTRAS:+-$EXTRAS}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $PY"
  "$PY" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "[setup] installing diskorbits${EXTRAS:+[$EXTRAS]} and its dependencies (first run only)"
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
  touch "$STAMP"
fi
