#!/usr/bin/env bash
# Install the station into .venv (pinned versions) and open it.
# With nothing configured it starts on the demo source and the shipped demo model.
# Extra arguments go to `inspector`, e.g. ./scripts/run-station.sh inspect DIR --model M.onnx
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e .
# Qt's xcb platform plugin needs a few X libraries that minimal Debian/Ubuntu images lack.
if [ -z "${QT_QPA_PLATFORM:-}" ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v dpkg >/dev/null \
   && ! dpkg -s libxcb-cursor0 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libegl1 libgl1 >/dev/null
  else
    echo "note: Qt needs: sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libegl1 libgl1" >&2
  fi
fi
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ] && [ $# -eq 0 ]; then
  echo "no display found: set DISPLAY, or run under Xvfb: xvfb-run -a $0" >&2
  exit 2
fi
exec .venv/bin/inspector "$@"
