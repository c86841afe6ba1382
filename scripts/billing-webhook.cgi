#!/bin/sh
# billing-webhook.cgi: the billing provider's webhook (DESIGN §4) as a CGI
# program for any web server (lighttpd, busybox httpd, Apache). It passes the
# raw body and the Stripe-Signature header to `instctl billing-event` and maps
# its exit status to HTTP: 0->200, 3->409, 4->404, 5/6->503 (the sender
# retries), 7->400, anything else->500.
#
# The Engine API socket is root's, so instctl runs through ONE fixed sudo
# rule (no wildcard: the signature travels as the first line of stdin):
#
#   www-data ALL=(root) NOPASSWD: /usr/local/bin/instctl billing-event --signature - -
#
# Nothing is accepted unsigned: without a webhook secret configured
# (webhook_secret_file in /etc/instctl/instctl.conf) instctl refuses every
# event (exit 7, HTTP 400).
#
# Environment: INSTCTL_BIN (default /usr/local/bin/instctl) and
# INSTCTL_CONFIG, when the server passes them; root runs instctl directly.
set -u
bin=${INSTCTL_BIN:-/usr/local/bin/instctl}

reply() { # STATUS TEXT MESSAGE
    printf 'Status: %s %s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\r\n' "$1" "$2"
    msg=$(printf '%s' "$3" | head -n 1 | tr -d '"\\' | cut -c1-300)
    printf '{"status": %s, "message": "%s"}\n' "$1" "$msg"
    exit 0
}

[ "${REQUEST_METHOD:-}" = POST ] || reply 405 "Method Not Allowed" "POST only"
len=${CONTENT_LENGTH:-}
case $len in
'' | *[!0-9]*) reply 411 "Length Required" "Content-Length required" ;;
esac
[ "$len" -le 4194304 ] || reply 413 "Payload Too Large" "event larger than 4 MiB"
sig=$(printf '%s' "${HTTP_STRIPE_SIGNATURE:-}" | tr -d '\r\n')
[ -n "$sig" ] || reply 400 "Bad Request" "Stripe-Signature header required"

tmp=$(mktemp -d) || reply 500 "Internal Server Error" "no temporary directory"
trap 'rm -rf "$tmp"' EXIT
{ printf '%s\n' "$sig"; head -c "$len"; } >"$tmp/in"
if [ "$(id -u)" -eq 0 ]; then
    "$bin" billing-event --signature - - <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
else
    sudo -n "$bin" billing-event --signature - - <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
fi
rc=$?
detail=$(cat "$tmp/err" "$tmp/out" | grep -v '^$' | head -n 1)
logger -t instctl-webhook "exit $rc: $detail" 2>/dev/null || true
case $rc in
0) reply 200 OK "${detail:-ok}" ;;
3) reply 409 Conflict "$detail" ;;
4) reply 404 "Not Found" "$detail" ;;
5 | 6) reply 503 "Service Unavailable" "$detail" ;;
7) reply 400 "Bad Request" "$detail" ;;
*) reply 500 "Internal Server Error" "$detail" ;;
esac
