#!/usr/bin/env bash
# The test command (README, CI): sets up what is missing, then lint and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The Airflow UI test drives Debian's headless Chromium: installed once (root or sudo).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "test: installing Debian's chromium and chromium-driver for the browser test"
  apt=(apt-get)
  [ "$(id -u)" = 0 ] || apt=(sudo apt-get)
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" install -y -q --no-install-recommends chromium chromium-driver >/dev/null ||
    { "${apt[@]}" update -q >/dev/null && "${apt[@]}" install -y -q --no-install-recommends chromium chromium-driver >/dev/null; }
fi
export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
