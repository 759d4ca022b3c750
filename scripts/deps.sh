#!/bin/sh
# Installs what building and running upkeep needs, from Debian's packages; with --test also
# what the tests and benchmarks use (real servers and tools to compare against: logrotate,
# restic, promtool, Chromium, systemd-analyze ...). Idempotent: when everything is present
# it only checks and returns.
set -eu
packages="gcc make meson ninja-build pkg-config libsqlite3-dev sqlite3 libzstd-dev zstd
libssl-dev libinih-dev libjansson-dev libcmocka-dev scdoc tzdata libcurl4-openssl-dev
libmicrohttpd-dev zlib1g-dev libpq-dev postgresql-client libmariadb-dev mariadb-client
libexpat1-dev"
if [ "${1:-}" = --test ]; then
    packages="$packages restic time bc clang-format jq systemd util-linux prometheus python3
curl chromium logrotate clang libclang-rt-14-dev postgresql mariadb-server"
fi
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The S3 server the tests run is s3rver, from npm (test/services/package.json).
if [ "${1:-}" = --test ] && ! command -v npm >/dev/null; then
    missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "upkeep: missing packages:$missing (run 'sudo make deps' or install them)" >&2
        exit 1
    fi
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
if [ "${1:-}" = --test ]; then
    services=$(cd "$(dirname "$0")/../test/services" && pwd)
    # Installed again only when the lock file changed since (a copy of it marks the install).
    if ! cmp -s "$services/package-lock.json" "$services/node_modules/.upkeep-installed"; then
        echo "installing the test services' npm packages"
        (cd "$services" && npm ci --no-audit --no-fund --loglevel=error >/dev/null &&
            cp package-lock.json node_modules/.upkeep-installed)
    fi
fi
