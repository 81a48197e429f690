#!/usr/bin/env bash
# Issue #6 benchmark: the initial seed of a database through `mosync run --once` (upstream
# served by moupstream over 127.0.0.1, catalog backend) vs `rsync -a --whole-file` from an
# rsync daemon over 127.0.0.1 pulling the same object files. Target: >= 0.8x rsync. Also timed
# (informative): rsync --fsync, since mosync makes every object durable before registering it.
# Each repetition runs rsync, rsync --fsync and mosync in turn; best and median are printed.
# usage: tests/bench/sync_seed_bench.sh   env: ROWS_M (order_line rows in millions, default 21:
#        2.04 GB), CHUNK (moupstream chunk size, default 8m), LEVEL (verify level of the sync,
#        default struct, as the seed bench), BUILD, BENCH_DIR, REPS (default 2), KEEP=1 (keep
#        the data), REUSE=1 (use the upstream a KEEP=1 run left)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-sbench}
B=${BENCH_DIR:-/tmp/mosync-syncseed-bench}
ROWS_M=${ROWS_M:-21}
CHUNK=${CHUNK:-8m}
REPS=${REPS:-2}
M=$BUILD/tools/mosync
UPB=$BUILD/tools/moupstream
[ -x "$M" ] && [ -x "$UPB" ] || { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMO_BUILD_TESTS=OFF >/dev/null && cmake --build "$BUILD" -j2 >/dev/null; }
if [ "${REUSE:-0}" = 1 ] && [ -d "$B/up" ]; then
    rm -rf "$B/down" "$B/rdst" "$B/port"
else
    rm -rf "$B"; mkdir -p "$B"
    "$M" gen --out "$B/up" --db tpcc --table "order_line:$((ROWS_M * 1000000))" --table "stock:$((ROWS_M * 300000))" \
        --table "customer:$((ROWS_M * 200000))" --seed 5 | head -1
fi
bytes=$(du -cb "$B"/up/0* | tail -1 | cut -f1)
echo "upstream object bytes: $bytes"
cat "$B"/up/0* > /dev/null
echo pw > "$B/pw"
"$UPB" --data "$B/up" --listen 127.0.0.1:0 --user root --password-file "$B/pw" --chunk-size "$CHUNK" > "$B/port" 2>"$B/srv.err" &
SRV=$!
for _ in $(seq 1 50); do [ -s "$B/port" ] && break; sleep 0.1; done
PORT=$(head -1 "$B/port")
RPORT=$((PORT + 1))
cat > "$B/rsyncd.conf" <<CONF
pid file = $B/rsyncd.pid
use chroot = no
[objs]
path = $B/up
read only = yes
exclude = .mosync/
CONF
rsync --daemon --no-detach --address 127.0.0.1 --port "$RPORT" --config "$B/rsyncd.conf" &
RS=$!
sleep 0.5
RT=""; FT=""; MT=""
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$REPS"); do
    rm -rf "$B/rdst"; sync
    t0=$(date +%s%N); rsync -a --whole-file "rsync://127.0.0.1:$RPORT/objs/" "$B/rdst/"; t1=$(date +%s%N)
    r=$(( (t1 - t0) / 1000000 )); RT="$RT $r"
    # rsync with an fsync per file (mosync makes every object durable before it is registered)
    rm -rf "$B/rdst"; sync
    t0=$(date +%s%N); rsync -a --whole-file --fsync "rsync://127.0.0.1:$RPORT/objs/" "$B/rdst/"; t1=$(date +%s%N)
    f=$(( (t1 - t0) / 1000000 )); FT="$FT $f"
    rm -rf "$B/rdst" "$B/down"; mkdir -p "$B/down"; sync
    "$M" sql -C "$B/down" "CREATE SUBSCRIPTION s DATABASE tpcc FROM 'mysql://sys#root:pw@127.0.0.1:$PORT' PUBLICATION sys mosync" >/dev/null
    t0=$(date +%s%N); "$M" run -C "$B/down" --once --verify-level "${LEVEL:-struct}" > "$B/run.out" 2>&1 || { echo "run failed"; cat "$B/run.out"; }; t1=$(date +%s%N)
    m=$(( (t1 - t0) / 1000000 )); MT="$MT $m"
    echo "rep $rep: rsync $r ms, rsync --fsync $f ms, mosync run --once $m ms  ($(grep '^iter' "$B/run.out" | head -1 | grep -o 'fetched=[0-9]* reused=[0-9]* bytes=[0-9]*'))"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
wm=$("$M" sql -C "$B/down" --json "SHOW SUBSCRIPTION TASKS s" | grep -o '"watermark":"[^"]*"' | head -1 | cut -d'"' -f4)
for t in order_line stock customer; do
    a=$("$M" checksum -C "$B/down" "tpcc.$t" | cut -d' ' -f2-); b=$("$M" checksum -C "$B/up" "tpcc.$t" --at "$wm" | cut -d' ' -f2-)
    [ "$a" == "$b" ] && echo "tpcc.$t equal ($a)" || echo "tpcc.$t MISMATCH: $a vs $b"
done
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; print v[1], m}'; }
read -r best_r med_r <<<"$(stats "$RT")"; read -r best_f med_f <<<"$(stats "$FT")"; read -r best_m med_m <<<"$(stats "$MT")"
awk -v b="$bytes" -v r="$best_r" -v m="$best_m" -v f="$best_f" -v mr="$med_r" -v mm="$med_m" -v mf="$med_f" 'BEGIN {
    printf "best: rsync %.1f MB/s, rsync --fsync %.1f MB/s, mosync run --once %.1f MB/s, ratio %.2f (target >= 0.8); vs rsync --fsync %.2f\n", b/1e6/(r/1000), b/1e6/(f/1000), b/1e6/(m/1000), r/m, f/m
    printf "median: rsync %.0f ms, rsync --fsync %.0f ms, mosync %.0f ms, ratio %.2f; vs rsync --fsync %.2f\n", mr, mf, mm, mr/mm, mf/mm }'
kill $SRV $RS 2>/dev/null; wait 2>/dev/null
[ "${KEEP:-0}" = 1 ] || rm -rf "$B"
