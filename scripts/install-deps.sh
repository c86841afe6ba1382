#!/bin/sh
# Installs the Debian 12 packages of the named sets (default: all of them):
#   build    compile instctl (make)
#   runtime  run it and its demo: the Docker engine, the stand-in image's busybox, curl
#   test     make check and make lint: Check, PostgreSQL, valgrind, linters, jq, man
#   package  make deb: Debian's packaging tools and lintian
# Idempotent: when every package is already installed it prints nothing and
# touches nothing; otherwise it runs `apt-get update` once, then installs
# only the missing ones (as root, non-interactively), waiting up to 10
# minutes for a dpkg lock that another apt or dpkg holds.
set -eu

build="gcc make pkg-config libsqlite3-dev libcjson-dev libcurl4-openssl-dev libssl-dev"
runtime="docker.io busybox-static curl ca-certificates"
test="check libsubunit-dev postgresql postgresql-client clang-format cppcheck valgrind
    jq sqlite3 groff-base man-db util-linux bsdutils"
package="build-essential dpkg-dev debhelper fakeroot lintian"

[ $# -gt 0 ] || set -- build runtime test package
packages=
for set in "$@"; do
    case $set in
    build) packages="$packages $build" ;;
    runtime) packages="$packages $runtime" ;;
    test) packages="$packages $test" ;;
    package) packages="$packages $package" ;;
    *)
        echo "install-deps: unknown set \"$set\" (build, runtime, test, package)" >&2
        exit 2
        ;;
    esac
done

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
lock="-o DPkg::Lock::Timeout=600"
log=$(mktemp "${TMPDIR:-/tmp}/instctl-install-deps.XXXXXX")
echo "install-deps: installing$missing (waits for the dpkg lock if another apt holds it)" >&2
# shellcheck disable=SC2086
if ! { apt-get $lock update && apt-get $lock install -y --no-install-recommends $missing; } >"$log" 2>&1 </dev/null; then
    tail -n 40 "$log" >&2
    echo "install-deps: apt-get failed installing:$missing (full log: $log)" >&2
    exit 1
fi
rm -f "$log"
echo "install-deps: installed$missing"
