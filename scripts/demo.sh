#!/usr/bin/env bash
# The main job: set up the environment if needed, then run the end-to-end demo.
# Extra arguments are passed to `diskorbits demo` (e.g. --output DIR, --data FILE).
source "$(dirname "$0")/_setup_env.sh" ""
exec diskorbits demo "$@"
