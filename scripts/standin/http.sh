#!/bin/sh
# Stand-in Odoo HTTP handler: answers ONE request on stdin/stdout. The
# entrypoint runs it per connection under `nc -ll -e` (a forking server).
#   GET  /web/health                  200 {"status": "pass"}
#   GET  /web/webclient/version_info  200 {"server_version": "<ODOO_VERSION>"}
#   POST /web/database/create         appends the raw body as one line to
#                                     $DATA/standin/database-create.log; checks
#                                     master_pwd against admin_passwd, list_db,
#                                     the name against Odoo's pattern and dbfilter;
#                                     creates the database with psql as db_user;
#                                     then 303 See Other, Location: /web
#                                     (200 with an error page, like Odoo, when a
#                                     check fails or $DATA/fail-database-create
#                                     exists)
#   anything else                     404 (405 for a wrong method)
set -uf
DATA=${STANDIN_DATA:-/var/lib/odoo}
CR=$(printf '\r')

# respond STATUS CONTENT-TYPE BODY [EXTRA-HEADER-LINE]
respond() {
    printf 'HTTP/1.1 %s\r\nServer: instctl-odoo-standin\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n' \
        "$1" "$2" "${#3}"
    [ -n "${4:-}" ] && printf '%s\r\n' "$4"
    printf '\r\n%s' "$3"
    exit 0
}

# conf KEY: the value of KEY in the server's configuration file, "" when none.
conf() {
    [ -n "${STANDIN_CONF:-}" ] && [ -r "$STANDIN_CONF" ] || return 0
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$STANDIN_CONF" | head -n 1 | tr -d '\r'
}

# field NAME: the form field NAME of the request body, URL-decoded.
field() {
    v=$(printf '%s' "$body" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1)
    printf '%b' "$(printf '%s' "$v" | sed 's/+/ /g; s/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g')"
}

# fail_page TEXT: Odoo's answer to a refused create: 200 with the database
# manager page, the error in an alert-danger element (HTML-escaped).
fail_page() {
    text=$(printf '%s' "$1" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/"/\&quot;/g' | tr '\n' ' ')
    respond '200 OK' 'text/html; charset=utf-8' \
        "<html><body><div class=\"alert alert-danger\" role=\"alert\">Database creation error: $text</div></body></html>"
}

# What Odoo checks before creating a database, then the database itself,
# created as the configured db_user with psql when the image has it. A
# server that cannot be reached is logged and skipped (tests whose server is
# not reachable from containers create the database themselves).
create_database() {
    master=$(conf admin_passwd)
    name=$(field name)
    if [ -n "$master" ] && [ "$(field master_pwd)" != "$master" ]; then
        fail_page 'Access Denied'
    fi
    case $(conf list_db) in
        [Ff]alse | 0) fail_page 'Access Denied' ;;
    esac
    if ! printf '%s' "$name" | grep -qE '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$'; then
        fail_page 'Invalid database name. Only alphanumerical characters, underscore, hyphen and dot are allowed.'
    fi
    filter=$(conf dbfilter)
    if [ -n "$filter" ] && ! printf '%s' "$name" | grep -qE "$filter"; then
        fail_page "database $name does not match dbfilter $filter"
    fi
    user=$(conf db_user)
    [ -x /usr/bin/psql ] && [ -n "$user" ] || return 0
    if ! out=$(PGPASSWORD=$(conf db_password) PGCONNECT_TIMEOUT=3 /usr/bin/psql -X -q -w \
        -h "$(conf db_host)" -p "$(conf db_port)" -U "$user" -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE \"$name\" TEMPLATE template0" 2>&1); then
        case $out in
            *"could not connect"* | *"Connection refused"* | *timeout* | *"could not translate"*)
                echo "standin: database server unreachable, $name not created: $out" >&2
                return 0
                ;;
        esac
        fail_page "$(printf '%s' "$out" | grep -m 1 ERROR || printf '%s' "$out")"
    fi
}

# Request line and headers (ash's read takes one byte at a time, so the body
# is still unread afterwards).
IFS=' ' read -r method target proto || exit 0
proto=${proto%"$CR"}
len=0
expect=
while IFS= read -r line; do
    line=${line%"$CR"}
    [ -z "$line" ] && break
    value=${line#*:}
    value=$(echo $value) # trim blanks
    case $line in
        [Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Ll][Ee][Nn][Gg][Tt][Hh]:*) len=$value ;;
        [Ee][Xx][Pp][Ee][Cc][Tt]:*) expect=$value ;;
    esac
done
case $len in '' | *[!0-9]*) len=0 ;; esac
path=${target%%\?*}

body=
if [ "$len" -gt 0 ]; then
    case $expect in
        100-[Cc]ontinue) printf '%s 100 Continue\r\n\r\n' "${proto:-HTTP/1.1}" ;;
    esac
    body=$(head -c "$len")
fi

case $path in
    /web/health)
        case $method in
            GET | HEAD) respond '200 OK' application/json '{"status": "pass"}' ;;
            *) respond '405 Method Not Allowed' text/plain 'method not allowed' 'Allow: GET, HEAD' ;;
        esac
        ;;
    /web/webclient/version_info)
        respond '200 OK' application/json "{\"server_version\": \"${ODOO_VERSION:-}\"}"
        ;;
    /web/database/create)
        [ "$method" = POST ] || respond '405 Method Not Allowed' text/plain 'method not allowed' 'Allow: POST'
        if ! mkdir -p "$DATA/standin" ||
            ! printf '%s\n' "$(printf '%s' "$body" | tr -d '\r\n')" >>"$DATA/standin/database-create.log"; then
            echo "standin: cannot write $DATA/standin/database-create.log" >&2
            respond '500 Internal Server Error' text/plain "cannot write $DATA/standin/database-create.log"
        fi
        if [ -e "$DATA/fail-database-create" ]; then
            fail_page 'stand-in told to fail'
        fi
        create_database
        respond '303 See Other' 'text/html; charset=utf-8' '' 'Location: /web'
        ;;
    *)
        respond '404 Not Found' text/plain 'not found'
        ;;
esac
