#!/bin/sh
# `make demo`: creates one instance of the stand-in Odoo image in a demo
# database under /tmp/instctl-demo and shows it with `instctl list` and
# `instctl show`. Run again, it replaces the previous demo instance.
set -eu
bin=${INSTCTL_BIN:-build/instctl}
dir=${DEMO_DIR:-/tmp/instctl-demo}
mkdir -p "$dir"
cat >"$dir/instctl.conf" <<CONF
db = $dir/instctl.db
image_template = instctl/odoo-standin:{version}
create_timeout = 120
backup_dir = $dir/backups
cron_file = /etc/cron.d/instctl
CONF
export INSTCTL_CONFIG="$dir/instctl.conf"
# the admin password goes through a file (never argv); only Odoo receives it
umask 077
head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/admin-password"

if "$bin" show demo -q >/dev/null 2>&1; then
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
