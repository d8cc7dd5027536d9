#!/bin/sh
# Print the first Python 3.10-3.12 on PATH (what f5-tts 1.1.22 and torch 2.11 support).
# With --check PYTHON: exit 0 if PYTHON is supported, else say in one line what to install.
supported() { "$1" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' 2>/dev/null; }
advice="install Python 3.12 (Debian/Ubuntu: apt install python3.12-venv; macOS: brew install python@3.12; or pyenv install 3.12), or pass PYTHON=/path/to/python3.12"

if [ "$1" = "--check" ]; then
  if [ -z "$2" ]; then
    echo "f5lab: error: no Python 3.10-3.12 found on PATH (f5-tts and torch 2.11 need one): $advice" >&2
    exit 2
  fi
  if ! supported "$2"; then
    got=$("$2" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo "not runnable")
    echo "f5lab: error: PYTHON=$2 is $got; f5lab needs 3.10-3.12: $advice" >&2
    exit 2
  fi
  exit 0
fi
for p in python3.12 python3.11 python3.10 python3; do
  if command -v "$p" >/dev/null 2>&1 && supported "$p"; then
    command -v "$p"
    exit 0
  fi
done
exit 1
