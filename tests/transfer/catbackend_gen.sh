#!/usr/bin/env bash
# moupstream's catalog backend end to end (issue #5): `mosync gen` builds an upstream replica
# with history, moupstream serves it (catalog backend), `mosync seed` pulls it over loopback
# and the seeded objects are byte-identical to the replica's; get_ddl at every gen_<n>
# equals the generator's truth (names, ids); `gen --mutate` keeps committing while the server
# runs and a new snapshot sees the new state; downstream snapshots survive a restart; a
# publication of one table serves that table only.
# usage: catbackend_gen.sh MOSYNC MOUPSTREAM
set -u
MOSYNC=${1:?usage: catbackend_gen.sh path/to/mosync path/to/moupstream}
MOUP=${2:?usage: catbackend_gen.sh path/to/mosync path/to/moupstream}
T=${MO_TMP:-/tmp}/cbgen.$$
rm -rf "$T"; mkdir -p "$T"
SRV_PID=
cleanup() { [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
export MO_UPSTREAM_PASSWORD=s3cret MO_UPSTREAM_BACKOFF_MS=1 MO_UPSTREAM_BACKOFF_CAP_MS=20
echo s3cret > "$T/pw"
UP="$T/up"

"$MOSYNC" gen --out "$UP" --db tpcc --table warehouse:10 --table customer:3000 \
    --table orders:2000 --table 'kv:500:id:int64,v:varchar(20)' --seed 5 >/dev/null \
    || { echo "gen failed"; exit 1; }
"$MOSYNC" gen --mutate "$UP" --steps 20 --seed 6 > "$T/mut" || { echo "gen --mutate failed"; exit 1; }

start_srv() { # [extra moupstream args]
    [ -n "$SRV_PID" ] && { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; }
    : > "$T/port"
    "$MOUP" --data "$UP" --listen 127.0.0.1:0 --user root --password-file "$T/pw" \
        --chunk-size 64k "$@" > "$T/port" 2> "$T/srv.err" &
    SRV_PID=$!
    for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$T/port")
    [ -n "$PORT" ] || { echo "moupstream did not start:"; cat "$T/srv.err"; exit 1; }
}

seed_same() { # pub dst -> $SEEDED objects, all identical to the replica's
    SEEDED=0
    "$MOSYNC" seed --from "mysql://sys#root@127.0.0.1:$PORT/sys/$1" --to "$2" -j 2 \
        > "$T/seed.out" 2>&1 || { bad "seed /sys/$1"; cat "$T/seed.out"; return; }
    for f in "$2"/0*; do
        [ -e "$f" ] || continue
        cmp -s "$f" "$UP/$(basename "$f")" || bad "$2: $(basename "$f") differs from the replica"
        SEEDED=$((SEEDED + 1))
    done
}

# 1. seed everything at the newest state
start_srv
seed_same mosync "$T/d1"; n1=$SEEDED
[ "$n1" -gt 0 ] || bad "nothing seeded"
echo "seeded $n1 objects"

# 2. get_ddl at every gen_<n> == the truth's tables (names as of that step, ids)
if command -v mariadb >/dev/null; then
    M=(mariadb -h 127.0.0.1 -P "$PORT" -u root -ps3cret -N -B)
    "$MOSYNC" gen --check "$UP" --verbose > "$T/truth" || bad "gen --check"
    last=$(sed -n 's/.*snapshots gen_[0-9]*\.\.gen_\([0-9]*\),.*/\1/p' "$T/mut")
    for n in $(seq 1 "$last"); do
        want=$(grep " gen_$n " "$T/truth" | sed -E 's/.* ([a-z0-9_]+)\.([a-z0-9_]+) id=([0-9]+):.*/\1.\2 \3/' | sort)
        got=$("${M[@]}" -e "__++__internal_get_ddl gen_$n sys mosync account - -" | awk -F'\t' '{print $1"."$2" "$3}' | sort)
        [ "$want" = "$got" ] || bad "get_ddl gen_$n: want [$want] got [$got]"
    done
    # full object list at the newest generated snapshot == what seed pulled
    nl=$("${M[@]}" -e "__++__internal_object_list gen_$last - sys mosync" | wc -l)
    [ "$nl" -eq "$n1" ] || bad "object_list gen_$last: $nl rows, seeded $n1"
else
    echo "mariadb client not installed: get_ddl checks skipped"
fi

# 3. the generator commits while the server runs; a new snapshot sees the new state
"$MOSYNC" gen --mutate "$UP" --steps 4 --seed 7 > "$T/mut2" 2>&1 || { bad "gen --mutate while serving"; cat "$T/mut2"; }
want_ts=$(sed -n 's/.*last TS \([0-9]*\)-.*/\1/p' "$T/mut2")
seed_same mosync "$T/d2"; n2=$SEEDED
[ "$n2" -gt 0 ] || bad "nothing seeded after the mutation"
if command -v mariadb >/dev/null; then
    "${M[@]}" -e 'CREATE SNAPSHOT IF NOT EXISTS `ccpr_cb_1` FOR ACCOUNT FROM sys PUBLICATION mosync' || bad "create snapshot"
    ts=$("${M[@]}" -e "__++__internal_get_snapshot_ts ccpr_cb_1 sys mosync")
    [ "$ts" = "$want_ts" ] || bad "snapshot TS $ts, want the newest committed $want_ts"
    # 4. durable across a restart
    start_srv
    M=(mariadb -h 127.0.0.1 -P "$PORT" -u root -ps3cret -N -B)
    ts2=$("${M[@]}" -e "__++__internal_get_snapshot_ts ccpr_cb_1 sys mosync")
    [ "$ts2" = "$want_ts" ] || bad "snapshot after restart: '$ts2'"
    "${M[@]}" -e 'DROP SNAPSHOT IF EXISTS `ccpr_cb_1` FROM sys PUBLICATION mosync' || bad "drop snapshot"
fi

# 5. a publication of one table (one alive at the end, with rows): only its objects are listed and served
"$MOSYNC" gen --check "$UP" --verbose > "$T/truth2" || bad "gen --check after the mutation"
last2=$(sed -n 's/.*snapshots gen_[0-9]*\.\.gen_\([0-9]*\),.*/\1/p' "$T/mut2")
one=$(grep " gen_$last2 " "$T/truth2" | grep "got rows=[1-9]" | sed -E 's/.* ([a-z0-9_]+\.[a-z0-9_]+) id=.*/\1/' | head -1)
[ -n "$one" ] || bad "no table at gen_$last2"
start_srv --publish "sys.pw=$one"
seed_same pw "$T/d3"; n3=$SEEDED
[ "$n3" -gt 0 ] && [ "$n3" -lt "$n2" ] || bad "one-table publication seeded $n3 of $n2 objects"
if command -v mariadb >/dev/null; then
    M=(mariadb -h 127.0.0.1 -P "$PORT" -u root -ps3cret -N -B)
    other=$(for f in "$T"/d2/0*; do [ -e "$T/d3/$(basename "$f")" ] || { basename "$f"; break; }; done)
    if [ -n "$other" ]; then
        out=$("${M[@]}" -e "__++__internal_get_object sys pw $other 0" 2>&1)
        echo "$out" | grep -q 'is not found' || bad "object of an unpublished table served: $out"
    fi
fi
grep -q 'catalog backend' "$T/srv.err" || bad "moupstream did not pick the catalog backend: $(cat "$T/srv.err")"

[ $fail -eq 0 ] && echo "catbackend_gen: ok"
exit $fail
