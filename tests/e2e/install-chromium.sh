#!/bin/sh
# Installs the Debian chromium where it is missing; nothing to do when present. Used by `make test`: the browser
# test (tests/e2e/test_ui_stuck.py) drives /usr/bin/chromium headless with playwright and never downloads a browser.
set -eu

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "/usr/bin/chromium is missing and there is no apt-get here: install chromium by hand" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "/usr/bin/chromium is missing: run 'apt-get install chromium' as root" >&2
    exit 1
fi
echo "installing chromium (Debian package chromium) ..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ]
