#!/bin/sh
# `make demo`: creates one instance of the stand-in Odoo image in a demo
# store under /tmp/instctl-demo ($DEMO_DIR) and shows it with `instctl list`
# and `instctl show`, then says how to point instctl at that store. Run
# again, it replaces the previous demo instance.
# `make demo-clean` (this script with "clean"): removes the demo store's
# containers and volumes (by their label io.instctl.store) and its directory.
set -eu
bin=${INSTCTL_BIN:-build/instctl}
dir=${DEMO_DIR:-/tmp/instctl-demo}
export INSTCTL_CONFIG="$dir/instctl.conf"

if [ "${1:-}" = clean ]; then
    if [ -f "$dir/instctl.db" ]; then
        uuid=$("$bin" init -q)
        docker ps -aq --filter "label=io.instctl.store=$uuid" | xargs -r docker rm -f >/dev/null
        docker volume ls -q --filter "label=io.instctl.store=$uuid" | xargs -r docker volume rm -f >/dev/null
    fi
    rm -rf "$dir"
    echo "demo-clean: removed $dir and the demo store's containers and volumes"
    exit 0
fi

mkdir -p "$dir"
cat >"$dir/instctl.conf" <<CONF
db = $dir/instctl.db
image_template = instctl/odoo-standin:{version}
create_timeout = 120
backup_dir = $dir/backups
cron_file = /etc/cron.d/instctl
CONF
# the admin password goes through a file (never argv); only Odoo receives it
umask 077
head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/admin-password"

if [ -f "$dir/instctl.db" ] && "$bin" show demo -q >/dev/null 2>&1; then
    echo "\$ instctl terminate demo    # the previous demo instance"
    "$bin" terminate demo
fi
set -x
"$bin" create demo --database demo --admin-email admin@example.com \
    --admin-password-file "$dir/admin-password" --odoo-version 17.0
"$bin" list
"$bin" show demo
"$bin" reconcile
"$bin" stats
{ set +x; } 2>/dev/null
cat <<END

The demo store is in $dir: database instctl.db, configuration instctl.conf, backups/.
Point instctl at it, for this shell:
    export INSTCTL_CONFIG=$dir/instctl.conf
or for one command:
    $bin --config $dir/instctl.conf list
Remove it (the demo instance's container and volume, and $dir): make demo-clean
END
