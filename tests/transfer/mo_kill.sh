#!/usr/bin/env bash
# Kill test (issue #5): pull a table of MO_KILL_GB GiB (default 1) from moupstream with 4 MiB
# chunks, SIGKILLing the fetching `mosync` at >= MO_KILL_N (default 50) random points (random
# delays, alternating with MO_FAULT=write:N:exit), resuming each time. At the end every object
# is byte-identical, the journal is complete and the payload fetched from the upstream beyond
# the table's size is <= kills x chunk size (MO_TEST_READ_COUNTER, counted by the mysql
# source across killed runs).
set -u
MOSYNC=${1:?usage: mo_kill.sh path/to/mosync path/to/moupstream}
MOUP=${2:?usage: mo_kill.sh path/to/mosync path/to/moupstream}
GB=${MO_KILL_GB:-1}
KILLS=${MO_KILL_N:-50}
CHUNK=$((4 << 20))
T=${MO_TMP:-/tmp}/mokill.$$
rm -rf "$T"; mkdir -p "$T/src"
SRV_PID=; RUN_PID=
cleanup() {
    [ -n "$RUN_PID" ] && kill -9 "$RUN_PID" 2>/dev/null
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
    wait 2>/dev/null; rm -rf "$T"
}
trap cleanup EXIT

# ~24 MB objects (several chunks each, the last one partial) up to the wanted size
want=$(awk -v g="$GB" 'BEGIN { printf "%d", g * 1073741824 }')
total=0; i=0
while [ "$total" -lt "$want" ]; do
    i=$((i + 1))
    "$MOSYNC" mkobj --schema 'id:int64,name:varchar(40),amount:decimal64(12,2),at:timestamp,note:text' \
        --rows 500000 --seed "$i" --pk id --sorted --out "$T/src" >/dev/null || { echo "mkobj failed"; exit 1; }
    total=$(du -cb "$T"/src/* | tail -1 | cut -f1)
done
echo "source: $i objects, $total bytes, chunk $CHUNK"

echo s3cret > "$T/pw"
"$MOUP" --data "$T/src" --listen 127.0.0.1:0 --user root --password-file "$T/pw" \
    --chunk-size "$CHUNK" > "$T/port" 2> "$T/srv.err" &
SRV_PID=$!
for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.05; done
PORT=$(head -1 "$T/port")
[ -n "$PORT" ] || { echo "moupstream did not start"; cat "$T/srv.err"; exit 1; }
URL="mysql://sys#root@127.0.0.1:$PORT/sys/mosync"
export MO_UPSTREAM_PASSWORD=s3cret MO_TEST_READ_COUNTER="$T/read-counter"
: > "$MO_TEST_READ_COUNTER"

seed=4242
rnd() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); R=$(( (seed >> 8) % $1 )); }
# the first run names the job (snapshot, chunk size); later runs resume it from the journal
# --bwlimit keeps each killed run's progress small enough for KILLS kills: the random-delay
# kills (2/3 of them, 215 ms on average) then cover about 60% of the table.
BW=$(( total / 12 + 1 ))
run_args() {
    if [ -s "$T/dst/.mosync/ckpt/journal" ]; then echo resume --to "$T/dst" -j 1 --bwlimit "$BW"
    else echo seed --from "$URL" --to "$T/dst" -j 1 --bwlimit "$BW"; fi
}
kills=0; runs=0
while [ "$kills" -lt "$KILLS" ]; do
    runs=$((runs + 1))
    if [ $((runs % 3)) -eq 0 ]; then
        # an exit at the Nth write (mid-chunk or mid-journal), deterministic
        rnd 8; n=$((1 + R))
        MO_FAULT="write:$n:exit" "$MOSYNC" $(run_args) > "$T/out" 2>&1
        rc=$?
        if [ "$rc" -eq 77 ]; then kills=$((kills + 1)); continue; fi
    else
        rnd 370; ms=$((30 + R))
        "$MOSYNC" $(run_args) > "$T/out" 2>&1 &
        RUN_PID=$!
        sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
        if kill -9 "$RUN_PID" 2>/dev/null; then
            wait "$RUN_PID" 2>/dev/null; RUN_PID=
            kills=$((kills + 1)); continue
        fi
        wait "$RUN_PID"; rc=$?; RUN_PID=
    fi
    if [ "$rc" -eq 0 ]; then
        echo "job finished after $kills kills: not enough work for $KILLS kills (raise MO_KILL_GB)"
        exit 1
    fi
    echo "run $runs failed with exit $rc:"; cat "$T/out"; exit 1
done
BW=$((1 << 40))
"$MOSYNC" $(run_args) > "$T/final" 2>&1 || { echo "final run failed"; cat "$T/final"; exit 1; }
cat "$T/final"
fail=0
for f in "$T"/src/*; do
    cmp -s "$f" "$T/dst/$(basename "$f")" || { echo "MISMATCH $(basename "$f")"; fail=1; }
done
"$MOSYNC" journal "$T/dst" > "$T/j"
grep -q '^complete yes' "$T/j" || { echo "journal not complete:"; cat "$T/j"; fail=1; }
left=$(find "$T/dst" -name '*.part*' -o -name '*.tmp' | wc -l)
[ "$left" -eq 0 ] || { echo "leftover temp files"; fail=1; }
read_total=$(od -An -tu8 "$MO_TEST_READ_COUNTER" | tr -d ' ')
reread=$((read_total - total))
bound=$((kills * CHUNK))
echo "kills=$kills runs=$runs fetched=$read_total re-fetched=$reread bound(kills x chunk)=$bound"
[ "$reread" -le "$bound" ] || { echo "re-fetched payload exceeds the bound"; fail=1; }
[ "$fail" -eq 0 ] && echo "mo_kill: ok"
exit "$fail"
