#!/bin/sh
# Runs each test runner given, then prints one summary line for all of them:
# "N passed, N failed", after the size of the crash matrix when it ran
# ("crash matrix: A actions x S steps = N cells"). Exits non-zero when any
# test failed or a runner crashed.
passed=0 failed=0 rc=0 matrix=
for runner in "$@"; do
    out=$(mktemp)
    "$runner" 2>&1 | tee "$out"
    line=$(grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$runner: crashed before reporting" >&2
        failed=$((failed + 1)); rc=1
    else
        p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
        passed=$((passed + p)); failed=$((failed + f))
        [ "$f" -eq 0 ] || rc=1
    fi
    matrix="$matrix$(grep -E '^crash matrix: [0-9]+ actions' "$out")"
    rm -f "$out"
done
[ -z "$matrix" ] || echo "$matrix"
echo "$passed passed, $failed failed"
exit $rc
