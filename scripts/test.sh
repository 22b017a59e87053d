#!/usr/bin/env bash
# The test suite: set up the environment (with test extras: galpy, gala) if needed, then pytest.
source "$(dirname "$0")/_setup_env.sh" "test"
exec python -m pytest -n 2 --dist loadfile -q "$@"
