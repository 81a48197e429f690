#!/usr/bin/env bash
# Issue #6 benchmark: the cost of a no-op sync round on a table of 10,000 objects (targets:
# <= 100 ms and <= 64 KB on the wire). An upstream replica with one table of N small objects
# (mktable + register) is served by moupstream (catalog backend); a downstream subscribes
# over mysql://, `mosync run --once` copies everything, then a second `run --once` (nothing
# changed upstream) is timed (three times). Wire bytes: a fourth no-op round runs under
# strace, summing what the client's socket calls (recvfrom/sendto/recvmsg/sendmsg/read/write
# on sockets) moved in both directions.
#
# usage: tests/bench/noop_bench.sh   env: N (default 10000), BUILD (default build-sbench),
#        BENCH_DIR (default /tmp/mosync-noop-bench), SRC (an existing dir of N objects to reuse)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000}
BUILD=${BUILD:-$ROOT/build-sbench}
B=${BENCH_DIR:-/tmp/mosync-noop-bench}
M=$BUILD/tools/mosync
UPB=$BUILD/tools/moupstream
[ -x "$M" ] && [ -x "$UPB" ] || { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMO_BUILD_TESTS=OFF >/dev/null && cmake --build "$BUILD" -j2 >/dev/null; }
rm -rf "$B"; mkdir -p "$B/up" "$B/down"
SRC=${SRC:-$B/src}
if [ ! -d "$SRC" ] || [ "$(ls "$SRC" | wc -l)" -lt "$N" ]; then
    mkdir -p "$SRC"
    for i in $(seq 1 "$N"); do "$M" mkobj --schema 'id:int64,v:varchar(20)' --rows 20 --seed "$i" --pk id --sorted --out "$SRC" >/dev/null; done
fi
"$M" mktable -C "$B/up" 'CREATE TABLE `db1`.`t` (
  `id` bigint NOT NULL,
  `v` varchar(20) DEFAULT NULL,
  PRIMARY KEY (`id`)
) COLLATE=utf8mb4_general_ci' >/dev/null
ls "$SRC" | head -n "$N" | sed "s|^|$SRC/|" | xargs "$M" register -C "$B/up" --table db1.t >/dev/null || { echo "register failed"; exit 1; }
echo pw > "$B/pw"
"$UPB" --data "$B/up" --listen 127.0.0.1:0 --user root --password-file "$B/pw" --chunk-size 8m > "$B/port" 2>"$B/srv.err" &
SRV=$!
for _ in $(seq 1 50); do [ -s "$B/port" ] && break; sleep 0.1; done
PORT=$(head -1 "$B/port")
"$M" sql -C "$B/down" "CREATE SUBSCRIPTION s DATABASE db1 FROM 'mysql://sys#root:pw@127.0.0.1:$PORT' PUBLICATION sys mosync" >/dev/null
t0=$(date +%s%N)
"$M" run -C "$B/down" --once > "$B/first.out" 2>&1 || { echo "initial run failed"; cat "$B/first.out"; kill $SRV; exit 1; }
t1=$(date +%s%N)
echo "initial copy of $N objects: $(( (t1 - t0) / 1000000 )) ms"
grep '^iter' "$B/first.out" | head -2
for rep in 1 2 3; do
    t0=$(date +%s%N)
    "$M" run -C "$B/down" --once > "$B/noop.out" 2>&1 || { echo "no-op run failed"; cat "$B/noop.out"; }
    t1=$(date +%s%N)
    echo "no-op round $rep: $(( (t1 - t0) / 1000000 )) ms wall (process start to exit); $(grep '^iter' "$B/noop.out" | head -1)"
done
if command -v strace >/dev/null; then
    strace -f -qq -e trace=recvfrom,sendto,recvmsg,sendmsg,read,write,connect,socket -o "$B/strace" \
        "$M" run -C "$B/down" --once > "$B/noop.out" 2>&1
    # socket fds: those returned by socket(); sum |ret| of I/O calls on them
    awk '
      /socket\(AF_INET/ { if (match($0, /= [0-9]+$/)) { fd = substr($0, RSTART + 2); s[$1 " " fd] = 1 } }
      /(recvfrom|sendto|recvmsg|sendmsg|read|write)\([0-9]+,/ {
        split($2, a, "("); fn = a[1]; sub(/,.*/, "", a[2]); fd = a[2]
        if (s[$1 " " fd] && match($0, /= [0-9]+$/)) {
          n = substr($0, RSTART + 2) + 0
          if (fn ~ /recv|read/) rx += n; else tx += n
        }
      }
      END { printf "no-op round on the wire (client view): %d bytes received, %d bytes sent, %d total\n", rx, tx, rx + tx }' "$B/strace"
fi
"$M" checksum -C "$B/down" db1.t; "$M" checksum -C "$B/up" db1.t
kill $SRV; wait $SRV 2>/dev/null
