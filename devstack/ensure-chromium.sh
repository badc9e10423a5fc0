#!/usr/bin/env bash
# `make test` runs this first: the browser tests drive Debian's chromium, and a missing browser must
# fail the run at once (never turn into skipped tests, never after minutes of other checks).
#
# Chromium present (at $CHROMIUM_PATH, default /usr/bin/chromium): nothing to do.
# Missing, and we may install packages (root, or `sudo -n` works): install Debian's chromium.
# Missing otherwise: one line saying the exact command to run, and exit 1.
#
# Only shell builtins and the commands named here (id, sudo, apt-get) are used, found on PATH, so
# tests/test_devstack.py can put stand-ins for them first on PATH.
set -uo pipefail

chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$chromium" ] && exit 0

command_line="sudo sh -c 'apt-get update && apt-get install -y chromium'"
if ! command -v apt-get >/dev/null; then
  echo "make test: the browser tests need chromium, and $chromium is missing; install chromium with your system's package manager, then run: CHROMIUM_PATH=/path/to/chromium make test" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  apt=(sudo -n env DEBIAN_FRONTEND=noninteractive apt-get)  # sudo drops our environment
else
  echo "make test: the browser tests need Debian's chromium, and $chromium is missing; install it, then run make test again: $command_line" >&2
  exit 1
fi

echo "make test: $chromium is missing; installing Debian's chromium for the browser tests (apt-get install chromium)" >&2
# A fresh machine often has no package lists yet: update only when the first attempt fails.
"${apt[@]}" install -y -qq chromium || { "${apt[@]}" update -qq && "${apt[@]}" install -y -qq chromium; }
status=$?
if [ "$status" -ne 0 ]; then
  echo "make test: installing chromium failed (apt-get exit $status); install it yourself, then run make test again: $command_line" >&2
  exit 1
fi
if [ ! -x "$chromium" ]; then
  echo "make test: Debian's chromium is installed, but CHROMIUM_PATH=$chromium is still missing; unset CHROMIUM_PATH or point it at the browser, then run make test again" >&2
  exit 1
fi
