#!/bin/sh
# Builds the stand-in Odoo images instctl/odoo-standin:17.0 and :18.0 FROM
# scratch with busybox-static (no registry needed) from scripts/standin/.
# Skips the build when both tags already carry the label
# io.instctl.standin.hash equal to the hash of this script, scripts/standin/
# and the busybox binary. Set STANDIN_FORCE=1 to rebuild anyway.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$here/standin
repo=${STANDIN_REPO:-instctl/odoo-standin}
versions="17.0 18.0"
busybox=/bin/busybox
[ -x "$busybox" ] || busybox=/usr/bin/busybox

for tool in docker tar sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build-standin: $tool not found (run scripts/install-deps.sh)" >&2; exit 1; }
done
# ldd succeeds only on dynamically linked programs, which cannot run FROM scratch.
if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
    echo "build-standin: a static busybox is needed at /bin/busybox (apt-get install busybox-static)" >&2
    exit 1
fi

# Only one build at a time (parallel make targets, several checkouts).
exec 9>"${TMPDIR:-/tmp}/instctl-standin.lock"
command -v flock >/dev/null 2>&1 && flock 9

# psql (and the libraries it loads) from the build machine, when it has one:
# the stand-in creates databases with it, as Odoo does.
psql=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)

hash=$( (cd "$src" && find . -type f ! -name "*.md" | LC_ALL=C sort | xargs sha256sum; sha256sum "$here/build-standin.sh" "$busybox" $psql | cut -d' ' -f1) | sha256sum | cut -c1-16)

uptodate=yes
for v in $versions; do
    have=$(docker image inspect -f '{{index .Config.Labels "io.instctl.standin.hash"}}' "$repo:$v" 2>/dev/null || true)
    [ "$have" = "$hash" ] || uptodate=no
done
if [ "$uptodate" = yes ] && [ "${STANDIN_FORCE:-0}" != 1 ]; then
    exit 0
fi

ctx=$(mktemp -d "${TMPDIR:-/tmp}/instctl-standin.XXXXXX")
trap 'rm -rf "$ctx"' EXIT INT TERM
root=$ctx/root
mkdir -p "$root/bin" "$root/etc" "$root/standin" "$root/tmp" "$root/run" \
    "$root/var/lib/odoo" "$root/dev" "$root/proc" "$root/sys"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cp "$src/passwd" "$src/group" "$root/etc/"
cp "$src/entrypoint.sh" "$src/http.sh" "$root/standin/"
mkdir -p "$root/usr/bin" "$root/etc/odoo"
cp "$src/odoo" "$root/usr/bin/odoo"
cp "$src/odoo.conf" "$root/etc/odoo/odoo.conf"
chmod 0755 "$root/bin/busybox" "$root/standin/entrypoint.sh" "$root/standin/http.sh" "$root/usr/bin/odoo"
chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/odoo/odoo.conf"
if [ -n "$psql" ]; then
    cp "$psql" "$root/usr/bin/psql"
    for lib in $(ldd "$psql" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
fi
chmod 1777 "$root/tmp"
chmod 0755 "$root/var/lib/odoo"

# One layer; ownership set in the archive so no chown (or root) is needed:
# everything root's except /var/lib/odoo, which is the odoo user's (101:101)
# so a new named volume mounted there starts out writable by it.
tarflags="--numeric-owner --sort=name --mtime=@0 --format=gnu"
# shellcheck disable=SC2086
tar $tarflags --owner=0 --group=0 -C "$root" --exclude=./var/lib/odoo -cf "$ctx/rootfs.tar" .
# shellcheck disable=SC2086
tar $tarflags --owner=101 --group=101 -C "$root" -rf "$ctx/rootfs.tar" ./var/lib/odoo
cp "$src/Dockerfile" "$ctx/Dockerfile"
rm -rf "$root"

start=$(date +%s)
old_ids=
for v in $versions; do
    old_ids="$old_ids $(docker image inspect -f '{{.Id}}' "$repo:$v" 2>/dev/null || true)"
done
for v in $versions; do
    # The legacy builder: no BuildKit/buildx here, and it is enough for this.
    if ! out=$(DOCKER_BUILDKIT=0 docker build -q --build-arg "ODOO_VERSION=$v" \
        --label "io.instctl.standin.hash=$hash" -t "$repo:$v" "$ctx" 2>&1); then
        echo "$out" >&2
        echo "build-standin: docker build of $repo:$v failed" >&2
        exit 1
    fi
done
# Drop the images these tags pointed to before, unless still tagged or used.
for id in $old_ids; do
    [ -n "$(docker image inspect -f '{{join .RepoTags ","}}' "$id" 2>/dev/null)" ] ||
        docker image rm "$id" >/dev/null 2>&1 || true
done
echo "build-standin: built $(echo "$versions" | sed "s#\([^ ]*\)#$repo:\1#g") (hash $hash) in $(($(date +%s) - start)) s"
