#!/bin/sh
# Installs the Debian 12 packages instctl needs to build, lint, test and run
# its demo. Idempotent: when every package is already installed it prints
# nothing and touches nothing; otherwise it runs `apt-get update` once, then
# installs only the missing ones (as root, non-interactively).
set -eu

packages="
    gcc make pkg-config
    libsqlite3-dev libcjson-dev libcurl4-openssl-dev libssl-dev
    check libsubunit-dev
    postgresql postgresql-client
    docker.io busybox-static
    clang-format cppcheck valgrind
    jq sqlite3 groff-base man-db util-linux curl ca-certificates bsdutils

"

missing=
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing (run this script as root)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp "${TMPDIR:-/tmp}/instctl-install-deps.XXXXXX")
# shellcheck disable=SC2086
if ! { apt-get update && apt-get install -y --no-install-recommends $missing; } >"$log" 2>&1 </dev/null; then
    tail -n 40 "$log" >&2
    echo "install-deps: apt-get failed installing:$missing (full log: $log)" >&2
    exit 1
fi
rm -f "$log"
echo "install-deps: installed$missing"
