#!/bin/sh
# Installs Prometheus and promtool (Debian package `prometheus`) where they are missing; nothing to do when present.
# Used by `make test` (the alert rules' tests need promtool) and by `carbuy dev --with-prometheus`.
set -eu

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "prometheus and promtool are missing and there is no apt-get here: install Prometheus 2.x by hand" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "prometheus and promtool are missing: run 'apt-get install prometheus' as root" >&2
    exit 1
fi
echo "installing Prometheus (Debian package prometheus) ..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1
