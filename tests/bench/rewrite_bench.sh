#!/usr/bin/env bash
# The appendable rewrite (mo_obj_rewrite_appendable) over the appendable objects of the seed
# bench's upstream (`mosync gen`, tpcc order_line/stock/customer, 395 appendable objects and
# 228 MB at ROWS_M=21), timed from memory by mo_rewrite_bench: as generated (every object
# holds aborted rows: slow path) and "clean" (the same objects without their aborted rows,
# what the fast path is for), each with the fast path, forced slow (--slow) and, with OLD_REV,
# a build of that revision. --check proves the fast path's objects byte-identical.
# usage: tests/bench/rewrite_bench.sh   env: ROWS_M (default 21), REPS (default 3), OLD_REV
#        (a git revision to compare, e.g. main~1), BUILD, BENCH_DIR, REUSE=1, KEEP=1
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-rwbench}
B=${BENCH_DIR:-/tmp/mosync-rewrite-bench}
ROWS_M=${ROWS_M:-21}
REPS=${REPS:-3}
tool() { # SRC BUILD OUT [CFLAGS]
    [ -f "$2/objfmt/libmo_objfmt.a" ] || { cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release \
        -DMO_BUILD_TESTS=OFF >/dev/null && cmake --build "$2" -j2 >/dev/null; }
    gcc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra ${4:-} \
        -I"$1/objfmt/include" "$ROOT/tests/bench/rewrite_bench.c" "$2/objfmt/libmo_objfmt.a" \
        "$2/objfmt/libmo_base.a" $(pkg-config --libs liblz4 libxxhash) -lm -o "$3"
}
mkdir -p "$B"
tool "$ROOT" "$BUILD" "$B/bench-new"
if [ -n "${OLD_REV:-}" ]; then
    rm -rf "$B/src-old" && mkdir -p "$B/src-old"
    git -C "$ROOT" archive "$OLD_REV" | tar -x -C "$B/src-old"
    tool "$B/src-old" "$B/build-old" "$B/bench-old" -DMO_BENCH_OLD
fi
if [ "${REUSE:-0}" != 1 ] || [ ! -d "$B/up" ]; then
    rm -rf "$B/up" "$B/clean"
    "$BUILD/tools/mosync" gen --out "$B/up" --db tpcc --table "order_line:$((ROWS_M * 1000000))" \
        --table "stock:$((ROWS_M * 300000))" --table "customer:$((ROWS_M * 200000))" --seed 5 | head -1
fi
if [ ! -d "$B/clean" ]; then
    mkdir -p "$B/clean"
    "$B/bench-new" --clean "$B/clean" --key auto "$B/up"
fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for set in up clean; do
    echo "== $set"
    "$B/bench-new" --check --reps 1 --key auto "$B/$set"
    for _ in 1 2; do
        [ -x "$B/bench-old" ] && echo "old:  $("$B/bench-old" --reps "$REPS" --key auto "$B/$set")"
        echo "slow: $("$B/bench-new" --slow --reps "$REPS" --key auto "$B/$set")"
        echo "new:  $("$B/bench-new" --reps "$REPS" --key auto "$B/$set")"
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "${KEEP:-0}" = 1 ] || rm -rf "$B"
