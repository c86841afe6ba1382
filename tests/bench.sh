#!/bin/sh
# make bench: the reconcile benchmark (DESIGN §8). The Makefile has built
# $INSTCTL_BIN and $BUILD/tests/bench (tests/tools/bench.c) and the stand-in
# image; this checks that, then runs the benchmark, which creates 1,000
# instances on the engine, measures `instctl reconcile` against one raw
# container list plus one SQLite read, prints PASS/FAIL per target, and
# removes everything it made (and whatever an interrupted run left).
#
# Settings (environment, all optional): BENCH_INSTANCES (1000), BENCH_WORKERS
# (4), BENCH_IMAGE (instctl/odoo-standin:17.0), BENCH_DIR
# (${TMPDIR:-/tmp}/instctl-bench), BENCH_REPEAT (5), BENCH_KEEP (0; 1 leaves
# the containers and database for profiling). `tests/bench.sh --cleanup-only`
# removes what a kept or interrupted run left, and nothing more.
#
# Then the two-host run (BENCH_HOSTS=2): the second test engine is started
# if it is not running, and the instances alternate between the two.
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

if [ "${1:-}" = "--cleanup-only" ]; then
    INSTCTL_BIN=$INSTCTL_BIN "$bench" "$@"
    INSTCTL_BIN=$INSTCTL_BIN BENCH_HOSTS=2 "$bench" "$@"
    exit 0
fi
INSTCTL_BIN=$INSTCTL_BIN "$bench"

# Several hosts (issue 11): the same instances over two engines, the second
# being the test engine over mutual TLS (scripts/start-second-engine.sh, the
# stand-in images loaded into it): BENCH_INSTANCES in all, half on each.
echo
echo "bench.sh: two hosts: local and e2 (tcp://127.0.0.1:2376, mutual TLS)"
scripts/start-second-engine.sh
INSTCTL_BIN=$INSTCTL_BIN BENCH_HOSTS=2 "$bench"
