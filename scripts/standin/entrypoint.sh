#!/bin/sh
# Stand-in of the official Odoo image's /entrypoint.sh (odoo/docker), same
# contract: PASSWORD_FILE is read into PASSWORD; HOST, PORT, USER and
# PASSWORD (defaults db, 5432, odoo, odoo) are overridden by db_host,
# db_port, db_user and db_password from the file $ODOO_RC, and for the
# command "odoo" (the image's CMD), "--" or an option, they are passed to
# the server as --db_host/--db_port/--db_user/--db_password arguments, so a
# password given this way shows on the server's command line, as with the
# real image. Any other command (instctl runs /usr/bin/odoo, which reads
# $ODOO_RC itself) is exec'd as is.
#
# Stand-in extras: exits 3 at once when $DATA/crash-on-start exists (tests
# use it for a crash loop); appends one line describing the settings it
# was given to $DATA/standin/env.log (never a password).
set -u
DATA=${STANDIN_DATA:-/var/lib/odoo}

if [ -e "$DATA/crash-on-start" ]; then
    echo "standin: $DATA/crash-on-start exists, exiting 3" >&2
    exit 3
fi

readable=unset
if [ -n "${PASSWORD_FILE:-}" ]; then
    if [ -r "$PASSWORD_FILE" ]; then readable=yes; else readable=no; fi
fi
if mkdir -p "$DATA/standin" 2>/dev/null &&
    printf 'time=%s version=%s uid=%s gid=%s HOST=%s PORT=%s USER=%s PASSWORD_FILE=%s password_file_readable=%s ODOO_RC=%s cmd=%s\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${ODOO_VERSION:-}" "$(id -u)" "$(id -g)" \
        "${HOST:-}" "${PORT:-}" "${USER:-}" "${PASSWORD_FILE:-}" "$readable" "${ODOO_RC:-}" "${1:-}" \
        >>"$DATA/standin/env.log" 2>/dev/null; then
    :
else
    echo "standin: warning: $DATA is not writable by uid $(id -u)" >&2
fi

if [ -n "${PASSWORD_FILE:-}" ]; then
    PASSWORD=$(cat "$PASSWORD_FILE")
fi
: "${HOST:=${DB_PORT_5432_TCP_ADDR:=db}}"
: "${PORT:=${DB_PORT_5432_TCP_PORT:=5432}}"
: "${USER:=${DB_ENV_POSTGRES_USER:=${POSTGRES_USER:=odoo}}}"
: "${PASSWORD:=${DB_ENV_POSTGRES_PASSWORD:=${POSTGRES_PASSWORD:=odoo}}}"

# check_config PARAM VALUE: the file's value when it sets PARAM, else VALUE.
check_config() {
    value=$2
    if grep -q -E "^[[:space:]]*$1[[:space:]]*=" "${ODOO_RC:-/nonexistent}" 2>/dev/null; then
        value=$(grep -E "^[[:space:]]*$1[[:space:]]*=" "$ODOO_RC" | cut -d " " -f3 | sed 's/["\r]//g')
    fi
    printf '%s' "$value"
}
db_host=$(check_config db_host "$HOST")
db_port=$(check_config db_port "$PORT")
db_user=$(check_config db_user "$USER")
db_password=$(check_config db_password "$PASSWORD")

case "${1:-odoo}" in
    -- | odoo)
        [ $# -gt 0 ] && shift
        exec /usr/bin/odoo "$@" --db_host "$db_host" --db_port "$db_port" --db_user "$db_user" \
            --db_password "$db_password"
        ;;
    -*)
        exec /usr/bin/odoo "$@" --db_host "$db_host" --db_port "$db_port" --db_user "$db_user" \
            --db_password "$db_password"
        ;;
    *)
        exec "$@"
        ;;
esac
