#!/bin/sh
# Starts a second Docker engine on this machine for the several-hosts tests
# (issue 11): reached over TCP with mutual TLS on 127.0.0.1:2376, bridge
# docker1 (172.30.0.1/24, so its containers are reachable from here at
# 172.30.0.x), its own data, exec root, pid file, Unix socket and containerd
# namespaces. Idempotent: exits 0 at once when the engine answers with the
# stand-in images loaded. Needs root and the first engine (for the images).
#
#   DIR (ENGINE2_DIR, default /var/lib/instctl-test/engine2):
#     tls/ca.pem cert.pem key.pem          the client's CA, certificate, key
#     tls/server.pem server-key.pem        the engine's (SAN IP:127.0.0.1)
#     tls/ca-key.pem                       the CA's key (test use only)
#     docker.sock docker.pid dockerd.log data/ exec/
# Stop it with: kill "$(cat DIR/docker.pid)".
set -eu

dir=${ENGINE2_DIR:-/var/lib/instctl-test/engine2}
tls=$dir/tls
sock=$dir/docker.sock
pidfile=$dir/docker.pid
port=${ENGINE2_PORT:-2376}
timeout=${DOCKERD_TIMEOUT:-60}
images="instctl/odoo-standin:17.0 instctl/odoo-standin:18.0"
log=$dir/dockerd.log

say() { echo "start-second-engine: $*" >&2; }

ping() {
    [ "$(curl -s --max-time 2 --unix-socket "$sock" http://localhost/_ping 2>/dev/null)" = OK ]
}

# True when the pid in the pid file is a running dockerd (not a zombie).
running() {
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] &&
        [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# openssl req -new + x509 -req signed by the CA: make_cert NAME CN EXTENSIONS
make_cert() {
    openssl req -new -newkey rsa:2048 -nodes -keyout "$tls/$1-key.pem" -subj "/CN=$2" \
        -out "$tls/$1.csr" 2>/dev/null
    printf '%s\n' "$3" >"$tls/$1.ext"
    openssl x509 -req -days 825 -sha256 -in "$tls/$1.csr" -CA "$tls/ca.pem" \
        -CAkey "$tls/ca-key.pem" -CAcreateserial -extfile "$tls/$1.ext" -out "$tls/$1.pem" \
        2>/dev/null
    rm -f "$tls/$1.csr" "$tls/$1.ext"
}

make_tls() {
    [ -s "$tls/ca.pem" ] && [ -s "$tls/server.pem" ] && [ -s "$tls/cert.pem" ] && return 0
    say "making a CA, a server and a client certificate in $tls"
    rm -rf "$tls"
    mkdir -p "$tls"
    chmod 0700 "$tls"
    openssl req -x509 -new -newkey rsa:2048 -nodes -days 825 -sha256 -subj "/CN=instctl test CA" \
        -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
    make_cert server 127.0.0.1 "subjectAltName = IP:127.0.0.1
extendedKeyUsage = serverAuth"
    make_cert client "instctl test client" "extendedKeyUsage = clientAuth"
    mv "$tls/client.pem" "$tls/cert.pem"
    mv "$tls/client-key.pem" "$tls/key.pem"
    chmod 0600 "$tls"/*key.pem
}

make_bridge() {
    ip link show docker1 >/dev/null 2>&1 || ip link add docker1 type bridge
    ip -4 addr show dev docker1 | grep -q '172\.30\.0\.1/24' ||
        ip addr add 172.30.0.1/24 dev docker1
    ip link set docker1 up
}

# The pid of a containerd left from an earlier dockerd of this exec root, if any.
old_containerd() {
    for cmdline in /proc/[0-9]*/cmdline; do
        if tr '\0' ' ' <"$cmdline" 2>/dev/null | grep -q "^containerd .*$dir/exec/containerd/"; then
            p=${cmdline#/proc/}
            echo "${p%/cmdline}"
            return 0
        fi
    done
    return 1
}

start() {
    if running; then
        say "dockerd (pid $(cat "$pidfile")) runs but $sock does not answer yet; waiting"
        return 0
    fi
    # as scripts/start-dockerd.sh: a pid file without its dockerd is stale
    if [ -e "$pidfile" ]; then
        say "removing stale $pidfile"
        rm -f "$pidfile"
    fi
    # a containerd still shutting down after its dockerd makes the new one time out
    i=0
    while old=$(old_containerd) && [ "$i" -lt 40 ]; do
        [ "$i" -eq 20 ] && kill "$old" 2>/dev/null
        sleep 0.25
        i=$((i + 1))
    done
    rm -f "$sock" "$dir/exec/containerd/containerd.sock"
    mkdir -p "$dir/data" "$dir/exec"
    say "starting dockerd on $sock and tcp://127.0.0.1:$port (log: $log)"
    echo "==== start-second-engine: $(date -u +%Y-%m-%dT%H:%M:%SZ) ====" >>"$log"
    nohup dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$pidfile" \
        -H "unix://$sock" -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$tls/ca.pem" \
        --tlscert "$tls/server.pem" --tlskey "$tls/server-key.pem" --bridge docker1 \
        --iptables=false --ip-masq=false --containerd-namespace e2 \
        --containerd-plugins-namespace e2p >>"$log" 2>&1 </dev/null &
}

wait_ping() {
    i=0
    while [ "$i" -lt $((timeout * 4)) ]; do
        ping && return 0
        if ! running && [ "$i" -gt 8 ]; then
            say "dockerd exited; last lines of $log:"
            sed -n '/^==== start-second-engine/h; /^==== start-second-engine/!H; ${x;p}' "$log" |
                tail -n 30 >&2
            return 1
        fi
        sleep 0.25
        i=$((i + 1))
    done
    say "no engine answered on $sock within ${timeout} s"
    return 1
}

load_images() {
    missing=
    for img in $images; do
        docker -H "unix://$sock" image inspect "$img" >/dev/null 2>&1 || missing="$missing $img"
    done
    [ -z "$missing" ] && return 0
    say "loading$missing from the first engine"
    # shellcheck disable=SC2086 # one word per image
    docker save $missing | docker -H "unix://$sock" load >/dev/null
}

if [ "$(id -u)" -ne 0 ]; then
    ping && exit 0
    say "the second engine does not answer on $sock and starting it needs root"
    exit 1
fi
mkdir -p "$dir"
make_tls
make_bridge
# a dockerd that exits while starting (containerd timing out under load) gets a second try
ping || { start && wait_ping; } || { say "trying once more" && start && wait_ping; }
load_images
say "engine answers on $sock and tcp://127.0.0.1:$port (TLS: $tls)"
