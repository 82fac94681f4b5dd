#!/bin/sh
# Usage: debian-package.sh PACKAGE PROGRAM...  Installs the Debian PACKAGE where one of the PROGRAMs (a command
# name or an absolute path) is missing; nothing to do when all are present. Used by `make test` (prometheus for
# promtool, chromium for the browser test) and by `carbuy dev --with-prometheus`.
set -eu
package=$1
shift

present() {
    for program in "$@"; do
        case $program in
            /*) [ -x "$program" ] || return 1 ;;
            *) command -v "$program" >/dev/null 2>&1 || return 1 ;;
        esac
    done
}

if present "$@"; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$* missing and there is no apt-get here: install the $package package by hand" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "$* missing: run 'apt-get install $package' as root" >&2
    exit 1
fi
echo "installing $package (Debian package) ..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "$package" >/dev/null
present "$@"
