#!/bin/sh
# Stand-in Odoo entrypoint. Exits 3 at once when $DATA/crash-on-start exists
# (tests use it for a crash loop); else appends one line describing the
# database settings it was given to $DATA/standin/env.log (never the
# password itself) and serves HTTP on port 8069 in the foreground.
set -u
DATA=${STANDIN_DATA:-/var/lib/odoo}
PORT_HTTP=${STANDIN_HTTP_PORT:-8069}

if [ -e "$DATA/crash-on-start" ]; then
    echo "standin: $DATA/crash-on-start exists, exiting 3" >&2
    exit 3
fi

readable=unset
if [ -n "${PASSWORD_FILE:-}" ]; then
    if [ -r "$PASSWORD_FILE" ]; then readable=yes; else readable=no; fi
fi
if mkdir -p "$DATA/standin" 2>/dev/null &&
    printf 'time=%s version=%s uid=%s gid=%s HOST=%s PORT=%s USER=%s PASSWORD_FILE=%s password_file_readable=%s\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${ODOO_VERSION:-}" "$(id -u)" "$(id -g)" \
        "${HOST:-}" "${PORT:-}" "${USER:-}" "${PASSWORD_FILE:-}" "$readable" \
        >>"$DATA/standin/env.log" 2>/dev/null; then
    :
else
    echo "standin: warning: $DATA is not writable by uid $(id -u)" >&2
fi

echo "standin: Odoo ${ODOO_VERSION:-} stand-in listening on port $PORT_HTTP" >&2
server="nc -ll -p $PORT_HTTP -e /standin/http.sh"
if [ "$$" -ne 1 ]; then
    # Normal case (HostConfig.Init): the init forwards SIGTERM to the server.
    exec $server
fi
# Without an init we are PID 1, which ignores signals it has no handler for:
# keep a shell in front that turns SIGTERM/SIGINT into a prompt exit.
$server &
pid=$!
trap 'kill "$pid" 2>/dev/null; exit 0' TERM INT
wait "$pid"
