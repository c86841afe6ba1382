#!/bin/sh
# Stand-in Odoo HTTP handler: answers ONE request on stdin/stdout. The
# entrypoint runs it per connection under `nc -ll -e` (a forking server).
#   GET  /web/health                  200 {"status": "pass"}
#   GET  /web/webclient/version_info  200 {"server_version": "<ODOO_VERSION>"}
#   POST /web/database/create         appends the raw body as one line to
#                                     $DATA/standin/database-create.log, then
#                                     303 See Other, Location: /web
#                                     (200 with an error page, like Odoo, when
#                                     $DATA/fail-database-create exists)
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
            respond '200 OK' 'text/html; charset=utf-8' \
                '<html><body><div class="alert alert-danger">Database creation error: stand-in told to fail</div></body></html>'
        fi
        respond '303 See Other' 'text/html; charset=utf-8' '' 'Location: /web'
        ;;
    *)
        respond '404 Not Found' text/plain 'not found'
        ;;
esac
