#!/bin/sh
# make bench: the benchmarks (DESIGN §8, issue 12), in one run, each
# printing its figures and PASS/FAIL per target (never failing the run):
#   1. scale (tests/tools/scalebench.c): reconcile CPU and peak RSS, `list`
#      and `list --json` at 10,000 instances against a recorded engine
#      answer served by tests/tools/fakeengine, side by side with a Python
#      reconcile using Debian's python3-docker (tests/tools/pyreconcile.py;
#      installed here with apt-get when missing), default and sparse=True.
#   2. lag (tests/tools/lagbench.c): with `instctl watch` running, 100
#      stop/kill/start behind instctl's back, event time -> row change,
#      p50/p99.
#   3. engine (tests/tools/bench.c): creates 1,000 instances on the engine,
#      measures `instctl reconcile` against one raw container list plus one
#      SQLite read, and removes everything it made (and whatever an
#      interrupted run left).
# BENCH_ONLY=scale|lag|engine|hosts runs one of them. BENCH_PYTHON=sparse skips
# the default python3-docker form (10,000 inspects: minutes), none both.
#
# Settings (environment, all optional): BENCH_INSTANCES (1000), BENCH_WORKERS
# (4), BENCH_IMAGE (instctl/odoo-standin:17.0), BENCH_DIR
# (${TMPDIR:-/tmp}/instctl-bench), BENCH_REPEAT (5), BENCH_KEEP (0; 1 leaves
# the containers and database for profiling). `tests/bench.sh --cleanup-only`
# removes what a kept or interrupted run left, and nothing more.
#
#   4. hosts: the engine benchmark again with two hosts (BENCH_HOSTS=2):
#      the second test engine is started if it is not running, and the
#      instances alternate between the two.
#
# Exit status: 0 when the benchmark ran, whether or not the targets were
# met; non-zero when it could not run.
set -eu

BUILD=${BUILD:-build}
bench=$BUILD/tests/bench

if [ -z "${INSTCTL_BIN:-}" ] || [ ! -x "$INSTCTL_BIN" ]; then
    echo "bench.sh: INSTCTL_BIN must name the built instctl (run: make bench)" >&2
    exit 1
fi
if [ ! -x "$bench" ]; then
    echo "bench.sh: $bench is not built (run: make bench)" >&2
    exit 1
fi

echo "bench.sh: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(nproc 2>/dev/null || echo '?') CPU(s)"
if command -v docker >/dev/null 2>&1; then
    docker version --format 'bench.sh: engine {{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || true
fi

only=${BENCH_ONLY:-}
if [ "${1:-}" = "--cleanup-only" ]; then
    INSTCTL_BIN=$INSTCTL_BIN "$bench" "$@"
    INSTCTL_BIN=$INSTCTL_BIN BENCH_HOSTS=2 "$bench" "$@"
    exit 0
fi
if [ -z "$only" ] || [ "$only" = scale ]; then
    if ! python3 -c 'import docker' 2>/dev/null && [ "$(id -u)" = 0 ] &&
        [ "${BENCH_PYTHON:-all}" != none ]; then
        echo "bench.sh: installing python3-docker for the side-by-side figures"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-docker >/dev/null 2>&1 ||
            echo "bench.sh: python3-docker could not be installed; its figures are skipped"
    fi
    INSTCTL_BIN=$INSTCTL_BIN BUILD=$BUILD "$BUILD/tests/scalebench" || echo "bench.sh: scale: could not run"
fi
if [ -z "$only" ] || [ "$only" = lag ]; then
    INSTCTL_BIN=$INSTCTL_BIN "$BUILD/tests/lagbench" || echo "bench.sh: lag: could not run"
fi
if [ -z "$only" ] || [ "$only" = engine ]; then
    INSTCTL_BIN=$INSTCTL_BIN "$bench" "$@"
fi
if [ -z "$only" ] || [ "$only" = hosts ]; then
    # Several hosts (issue 11): the same instances over two engines, the second
    # being the test engine over mutual TLS (scripts/start-second-engine.sh, the
    # stand-in images loaded into it): BENCH_INSTANCES in all, half on each.
    echo
    echo "bench.sh: two hosts: local and e2 (tcp://127.0.0.1:2376, mutual TLS)"
    scripts/start-second-engine.sh
    INSTCTL_BIN=$INSTCTL_BIN BENCH_HOSTS=2 "$bench"
fi
