#!/bin/sh
# Issue #4 benchmark: register N object entries in commits of PER, then reopen and count them;
# mosync's catalog vs the sqlite3 CLI (one table with the same columns, transactions of PER rows
# from a generated SQL script, then a new sqlite3 process doing SELECT count(*)), side by side
# in the same directory (same disk). Prints wall times, ratios (sqlite time / mosync time, so
# >= 1.0 means mosync is at least as fast) and peak RSS of every process.
#
#   BUILD=build-cat-rel N=1000000 PER=1000 WORK=/tmp/mo_catbench tests/bench/catalog_bench.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-cat-rel}
N=${N:-1000000}
PER=${PER:-1000}
WORK=${WORK:-/tmp/mo_catbench}
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI not found" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found" >&2; exit 2; }

# Release build without the fault-injection seams, as shipped
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMO_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target mo_catalog >/dev/null
CC=${CC:-cc}
$CC -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$ROOT/catalog/include" -I"$ROOT/objfmt/include" \
    "$ROOT/tests/bench/cat_bench.c" -o "$BUILD/cat_bench" \
    "$BUILD/catalog/libmo_catalog.a" "$BUILD/objfmt/libmo_objfmt.a" "$BUILD/objfmt/libmo_base.a" \
    $(pkg-config --libs libxxhash liblz4) -lm
B="$BUILD/cat_bench"

mkdir -p "$WORK"
SQL="$WORK/load_${N}_${PER}.sql"
[ -s "$SQL" ] || "$B" gensql "$N" "$PER" > "$SQL"

# t <label> cmd... : runs, records "<wall s> <peak KB>" (wall clock in ns, whole process)
t() {
    label=$1; shift
    s=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$WORK/rss.$label" "$@" > "$WORK/out.$label"
    e=$(date +%s%N)
    echo "$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.4f", (b - a) / 1e9 }') $(tail -1 "$WORK/rss.$label")" > "$WORK/time.$label"
    printf '%-16s %9s s %9s KB peak RSS  -> %s\n' "$label" $(cat "$WORK/time.$label") "$(tr '\n' ' ' < "$WORK/out.$label")"
}
sync
rm -f "$WORK/sqlite.db" "$WORK/sqlite.db-journal"
t sqlite_load sqlite3 "$WORK/sqlite.db" ".read $SQL"
t sqlite_count sqlite3 "$WORK/sqlite.db" "SELECT count(*) FROM objects"
rm -rf "$WORK/mosync"
mkdir -p "$WORK/mosync"
sync
t mosync_load "$B" load "$WORK/mosync" "$N" "$PER"
t mosync_count "$B" count "$WORK/mosync"
t mosync_full "$B" full "$WORK/mosync"
t sqlite_scan sqlite3 "$WORK/sqlite.db" "SELECT count(*), sum(length(stats)) FROM objects"
t sqlite_count2 sqlite3 "$WORK/sqlite.db" "SELECT count(*) FROM objects"
t mosync_count2 "$B" count "$WORK/mosync"

w() { cut -d' ' -f1 "$WORK/time.$1"; }
ratio() { awk -v a="$(w "$1")" -v b="$(w "$2")" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "load:   sqlite3/mosync = $(ratio sqlite_load mosync_load)x (target >= 1.0)"
echo "reopen+count: sqlite3/mosync = $(ratio sqlite_count mosync_count)x, second run $(ratio sqlite_count2 mosync_count2)x (target >= 1.0)"
echo "reopen+read every entry: sqlite3 full scan / mosync_full (load, checksum, index, sorted enumerate) = $(ratio sqlite_scan mosync_full)x (informational)"
du -sh "$WORK/sqlite.db" "$WORK/mosync/.mosync/catalog"
ls -l "$WORK/mosync/.mosync/catalog"
