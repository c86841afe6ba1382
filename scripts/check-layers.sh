#!/bin/sh
# Checks the layers of lib/ (DESIGN §8, "no file reaches upward"): each
# module belongs to one layer, and a file may include only headers of its own
# layer or of the layers below it. store and engine sit side by side above the
# pure base: neither includes the other. Run by `make lint`; prints each
# violation as FILE: includes HEADER (LAYER above LAYER) and exits 1.
set -eu
cd "$(dirname "$0")/.."

# layer of a module (file name without .c/.h); a new module must be listed here
layer() {
    case $1 in
    lc | lc_error | status | types | lctime | derive | journal | tar | backup_file | billing | config | placement) echo base ;;
    store | store_*) echo store ;;
    engine | engine_json | curl_api | odoo | pgtools | backup | tenant) echo engine ;;
    ops | ops_* | action | reconcile | hosts | metrics | watch) echo ops ;;
    *) echo unknown ;;
    esac
}

# may LAYER $1 include LAYER $2?
allowed() {
    case $1:$2 in
    base:base | store:base | store:store | engine:base | engine:engine | ops:*) return 0 ;;
    *) return 1 ;;
    esac
}

bad=0
for f in lib/*.c lib/*.h; do
    m=$(basename "$f" | sed 's/\.[ch]$//')
    l=$(layer "$m")
    if [ "$l" = unknown ]; then
        echo "$f: module $m has no layer (add it to scripts/check-layers.sh)"
        bad=1
        continue
    fi
    for h in $(sed -n 's/^#include "\([a-z_0-9]*\)\.h".*/\1/p' "$f"); do
        hl=$(layer "$h")
        if ! allowed "$l" "$hl"; then
            echo "$f: includes $h.h ($hl layer, above or beside $l)"
            bad=1
        fi
    done
done
exit $bad
