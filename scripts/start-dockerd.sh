#!/bin/sh
# Makes sure a Docker engine answers on /var/run/docker.sock (or $DOCKER_SOCK):
# exits 0 at once when /_ping says OK; otherwise starts dockerd in the
# background (log: /var/log/instctl-dockerd.log, else /tmp) and waits up to
# 60 s for it to answer. Fails with the log's tail when it never does.
set -eu

sock=${DOCKER_SOCK:-/var/run/docker.sock}
pidfile=${DOCKER_PIDFILE:-/var/run/docker.pid}
timeout=${DOCKERD_TIMEOUT:-60}

ping() {
    [ "$(curl -s --max-time 2 --unix-socket "$sock" http://localhost/_ping 2>/dev/null)" = OK ]
}

# True when a process named dockerd runs (no procps needed).
dockerd_running() {
    for comm in /proc/[0-9]*/comm; do
        [ "$(cat "$comm" 2>/dev/null)" = dockerd ] && return 0
    done
    return 1
}

ping && exit 0

if dockerd_running; then
    echo "start-dockerd: dockerd is running but $sock does not answer yet; waiting" >&2
    log=
else
    if [ "$(id -u)" -ne 0 ]; then
        echo "start-dockerd: no engine answers on $sock and starting dockerd needs root" >&2
        exit 1
    fi
    command -v dockerd >/dev/null 2>&1 || {
        echo "start-dockerd: dockerd not found (run scripts/install-deps.sh)" >&2
        exit 1
    }
    if [ -e "$pidfile" ]; then
        echo "start-dockerd: removing stale $pidfile" >&2
        rm -f "$pidfile"
    fi
    log=/var/log/instctl-dockerd.log
    { : >>"$log"; } 2>/dev/null || log=/tmp/instctl-dockerd.log
    echo "start-dockerd: starting dockerd (log: $log)" >&2
    echo "==== start-dockerd: $(date -u +%Y-%m-%dT%H:%M:%SZ) ====" >>"$log"
    nohup dockerd >>"$log" 2>&1 </dev/null &
fi

i=0
why="within ${timeout} s"
while [ "$i" -lt $((timeout * 4)) ]; do
    if ping; then
        echo "start-dockerd: engine answers on $sock after ~$((i / 4)) s" >&2
        exit 0
    fi
    if [ -n "$log" ] && ! dockerd_running && [ "$i" -gt 4 ]; then
        why="(dockerd exited)"
        break # no point waiting the full minute
    fi
    sleep 0.25
    i=$((i + 1))
done

echo "start-dockerd: no Docker engine answered on $sock $why" >&2
if [ -n "$log" ]; then
    echo "---- last lines of $log ----" >&2
    sed -n '/^==== start-dockerd/h; /^==== start-dockerd/!H; ${x;p}' "$log" | tail -n 30 >&2
fi
exit 1
