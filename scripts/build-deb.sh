#!/bin/sh
# `make deb`: builds instctl_$VERSION_<arch>.deb with dpkg-buildpackage from a
# copy of the source tree in a temporary directory (dpkg-buildpackage writes
# its .deb, .changes and .buildinfo beside the tree, and debian/ fills with
# build files: none of that touches the repository), checks it with lintian
# (errors fail the build; warnings are printed) and copies the .deb to $OUT.
# debian/changelog is written here from VERSION (the Makefile's), so the
# package's version and `instctl --version` are one.
set -eu
: "${VERSION:?VERSION (the Makefile's) is required}"
out=${OUT:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/instctl-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tree="$tmp/instctl-$VERSION"
mkdir -p "$tree" "$out"
tar -C "$src" --exclude=./.git --exclude=./build --exclude=./build-san -cf - . | tar -C "$tree" -xf -

when=$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)
cat >"$tree/debian/changelog" <<END
instctl ($VERSION) unstable; urgency=medium

  * Version $VERSION, built from the instctl source tree (see its history).

 -- The instctl authors <maintainers@instctl.invalid>  $(date -R -u -d "@$when")
END

log="$tmp/build.log"
echo "deb: dpkg-buildpackage -us -uc -b in $tree" >&2
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "deb: dpkg-buildpackage failed" >&2
    exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
changes="$tmp/instctl_${VERSION}_$arch.changes"
deb="instctl_${VERSION}_$arch.deb"
# (as root lintian says "running with root privileges is not recommended")
if ! lintian --fail-on error "$changes" >&2; then
    echo "deb: lintian reports errors in $deb" >&2
    exit 1
fi
cp "$tmp/$deb" "$out/$deb"
echo "deb: $out/$deb"
