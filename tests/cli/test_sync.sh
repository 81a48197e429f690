#!/usr/bin/env bash
# `mosync run` end to end (issue 6). An upstream replica from `mosync gen`, a subscription
#  A. FROM 'dir://...' (in-process upstream): full copy, then one `gen --mutate` step per round
#     and a batch forcing every operation kind; after every round each table's checksum equals
#     the upstream's at the watermark; a no-op round fetches nothing; no object fetched twice;
#     `mosync fsck` finds no unregistered file.
#  B. FROM 'mysql://...' through `moupstream` with a password: the same, plus --fault
#     retryable errors and a connection dropped mid-chunk (recovered), a corrupted chunk
#     (R: error, nothing published, recovered next iteration).
#  C. SIGKILL of `mosync run` at >= 100 random moments (MO_SYNC_KILLS) across the scripted
#     scenario (scenario.steps, ACCOUNT subscription), restarted each time: zero mismatches, no
#     object fetched twice in full beyond the chunk in flight, no orphan files.
# Prints "N passed, N failed"; non-zero exit on any failure.
set -u
MOSYNC=${1:?usage: test_sync.sh path/to/mosync [path/to/moupstream]}
MOUP=${2:-}
T=${MO_TMP:-/tmp}/cli_sync.$$
rm -rf "$T"; mkdir -p "$T"
SRV_PID=
cleanup() { [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
. "$(dirname "$0")/sync_lib.sh"
export MO_UPSTREAM_BACKOFF_MS=1 MO_UPSTREAM_BACKOFF_CAP_MS=20


dups() { # fetch log -> number of names seen more than once
    [ -f "$1" ] || { echo 0; return; }
    sort "$1" | uniq -d | wc -l
}

run_once() { # down what -> output in $T/run.out
    "$MOSYNC" run -C "$1" --once --quiet > "$T/run.out" 2>&1
    local rc=$?
    if [ "$rc" -eq 0 ] && grep -q '^iter .* rc=OK' "$T/run.out"; then ok; else bad "$2: run exit $rc"; sed 's/^/    /' "$T/run.out" | head -20 >&2; fi
}

# ---------------- A. dir:// ----------------
A=$T/a; mkdir -p "$A/down"
"$MOSYNC" gen --out "$A/up" --db db1 --table orders:1500 --table item:400 --table stock:600 --seed 7 > /dev/null || { echo "gen failed"; exit 1; }
"$MOSYNC" sql -C "$A/down" "CREATE SUBSCRIPTION s1 DATABASE db1 FROM 'dir://$A/up'" > /dev/null || bad "A: create subscription"
export MO_TEST_FETCH_LOG=$A/fetch.log
run_once "$A/down" "A full copy"
grep -q '^iter sub=s1 task=1 lsn=0 .*tables=3 .*ddl=3/0/0/0/0 ' "$T/run.out" && ok || { bad "A: first iteration line"; cat "$T/run.out" >&2; }
compare "$A/up" "$A/down" s1 "A full copy"
for i in $(seq 1 20); do
    "$MOSYNC" gen --mutate "$A/up" --steps 1 --seed "$i" > /dev/null || bad "A: mutate $i"
    run_once "$A/down" "A step $i"
    grep -q "lsn=$i " "$T/run.out" && ok || bad "A step $i: lsn"
    compare "$A/up" "$A/down" s1 "A step $i"
done
"$MOSYNC" gen --mutate "$A/up" --steps 19 --seed 99 > /dev/null || bad "A: mutate every op"
run_once "$A/down" "A every op"
compare "$A/up" "$A/down" s1 "A every op"
run_once "$A/down" "A no-op"
grep -q 'fetched=0 reused=0 bytes=0 merged=0 registered=0 deleted=0 ' "$T/run.out" && ok || { bad "A: no-op round did something"; cat "$T/run.out" >&2; }
[ "$(dups "$A/fetch.log")" -eq 0 ] && ok || bad "A: objects fetched twice: $(sort "$A/fetch.log" | uniq -d | head -3)"
"$MOSYNC" fsck -C "$A/down" > "$T/fsck" 2>&1 && grep -q ' 0 unregistered, 0 orphan temp files' "$T/fsck" && ok || { bad "A: fsck"; cat "$T/fsck" >&2; }
unset MO_TEST_FETCH_LOG

# ---------------- B. mysql:// through moupstream ----------------
start_srv() { # data port [fault]
    [ -n "$SRV_PID" ] && { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=; }
    : > "$T/port"
    "$MOUP" --data "$1" --listen "127.0.0.1:$2" --user root --password-file "$T/pw" \
        --chunk-size 64k ${3:+--fault "$3"} > "$T/port" 2> "$T/srv.err" &
    SRV_PID=$!
    if [ "$2" = 0 ]; then
        for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.05; done
        PORT=$(head -1 "$T/port")
    else
        sleep 0.3
    fi
    [ -n "$PORT" ] && kill -0 "$SRV_PID" 2>/dev/null || { bad "moupstream did not start: $(cat "$T/srv.err")"; return 1; }
}
if [ -n "$MOUP" ]; then
    B=$T/b; mkdir -p "$B/down"
    echo 'Pw-1x' > "$T/pw"
    "$MOSYNC" gen --out "$B/up" --db db1 --table orders:1500 --table item:400 --seed 17 > /dev/null || bad "B: gen"
    PORT=
    if start_srv "$B/up" 0; then
        "$MOSYNC" sql -C "$B/down" "CREATE SUBSCRIPTION s1 DATABASE db1 FROM 'mysql://sys#root:Pw-1x@127.0.0.1:$PORT'" > /dev/null || bad "B: create"
        grep -rq 'Pw-1x' "$B/down/.mosync/catalog" --exclude=secrets && bad "B: password in the catalog" || ok
        run_once "$B/down" "B full copy"
        compare "$B/up" "$B/down" s1 "B full copy"
        for i in 1 2 3; do
            "$MOSYNC" gen --mutate "$B/up" --steps 1 --seed "$((i + 40))" > /dev/null
            run_once "$B/down" "B step $i"
            compare "$B/up" "$B/down" s1 "B step $i"
        done
        # retryable statement errors and connections dropped mid-chunk: recovered
        if start_srv "$B/up" "$PORT" "retryable=3,drop-after=20k/2"; then
            "$MOSYNC" gen --mutate "$B/up" --steps 3 --seed 50 > /dev/null
            run_once "$B/down" "B faults"
            compare "$B/up" "$B/down" s1 "B faults"
        fi
        # a corrupted chunk (a hostile or broken upstream): the object fails verification, is
        # not published, the iteration records a retryable R: error; the next one recovers
        if start_srv "$B/up" "$PORT" "corrupt=chunk1:100/1"; then
            "$MOSYNC" gen --mutate "$B/up" --steps 2 --seed 60 > /dev/null
            "$MOSYNC" run -C "$B/down" --once --quiet > "$T/run.out" 2>&1
            grep -q 'rc=MO_ECORRUPT error=R:1:.*fails deep verification' "$T/run.out" && ok || { bad "B corrupt: want R:1 verification error"; head -3 "$T/run.out" >&2; }
            run_once "$B/down" "B corrupt recovered"
            compare "$B/up" "$B/down" s1 "B corrupt recovered"
            "$MOSYNC" fsck -C "$B/down" --require-cn > "$T/fsck" 2>&1 && ok || { bad "B corrupt: fsck"; tail -2 "$T/fsck" >&2; }
        fi
        # a wrong password is a fatal error recorded as N:, the subscription goes to error
        start_srv "$B/up" "$PORT"
        "$MOSYNC" sql -C "$B/down" "CREATE SUBSCRIPTION s3 DATABASE db9 FROM 'mysql://sys#root:wrong@127.0.0.1:$PORT'" > /dev/null
        "$MOSYNC" run -C "$B/down" --once --quiet > "$T/run.out" 2>&1
        [ $? -ne 0 ] && ok || bad "B: wrong password: exit 0"
        "$MOSYNC" sql -C "$B/down" "SHOW SUBSCRIPTION TASKS s3" > "$T/t3" 2>&1
        grep -q '| error .*| N:[0-9]*:' "$T/t3" && ok || { bad "B: N: error recorded"; cat "$T/t3" >&2; }
        "$MOSYNC" sql -C "$B/down" "SHOW SUBSCRIPTIONS" | grep -q '^| s3 .* error ' && ok || bad "B: subscription state error"
        # RESUME clears the error and puts it back to running (it fails again: same password)
        "$MOSYNC" sql -C "$B/down" "RESUME SUBSCRIPTION s3" > /dev/null
        "$MOSYNC" sql -C "$B/down" "SHOW SUBSCRIPTIONS" | grep -q '^| s3 .* running ' && ok || bad "B: RESUME state"
        "$MOSYNC" sql -C "$B/down" "SHOW SUBSCRIPTION TASKS s3" | grep -q '| complete .*|  *|' && ok || bad "B: RESUME clears the error"
        "$MOSYNC" sql -C "$B/down" "DROP SUBSCRIPTION s3" > /dev/null
        # an unreachable upstream: R:<count> grows by one per failed iteration; the 11th is fatal
        kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=
        for i in $(seq 1 11); do
            MO_UPSTREAM_ATTEMPTS=1 "$MOSYNC" run -C "$B/down" --once --quiet > "$T/run.out" 2>&1
            "$MOSYNC" sql -C "$B/down" --json "SHOW SUBSCRIPTION TASKS s1" > "$T/t1"
            if [ "$i" -le 10 ]; then
                grep -q "\"error_message\":\"R:$i:" "$T/t1" && ok || { bad "B: unreachable $i: want R:$i"; head -3 "$T/t1" >&2; }
            else
                grep -q '"error_message":"N:[0-9]*:retry budget of 10 exhausted' "$T/t1" && ok || { bad "B: 11th failure not fatal"; head -3 "$T/t1" >&2; }
            fi
        done
        "$MOSYNC" sql -C "$B/down" "RESUME SUBSCRIPTION s1" > /dev/null
        start_srv "$B/up" "$PORT"
        run_once "$B/down" "B after RESUME"
        compare "$B/up" "$B/down" s1 "B after RESUME"
        # DROP releases the upstream snapshots at the next boundary
        "$MOSYNC" sql -C "$B/down" "DROP SUBSCRIPTION s1" > /dev/null
        MO_UPSTREAM_PASSWORD='Pw-1x' "$MOSYNC" run -C "$B/down" --once --quiet > "$T/run.out" 2>&1
        ls "$B/up/.mosync/" > /dev/null
        "$MOSYNC" sql -C "$B/down" "SHOW SUBSCRIPTION TASKS s1" | grep -q '^0 rows' && ok || bad "B: dropped subscription keeps task rows"
    fi
    kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=
fi

# ---------------- C. SIGKILL at random moments across the scripted scenario ----------------
C=$T/c; mkdir -p "$C/down"
"$MOSYNC" gen --out "$C/up" --db db1 --table orders:12000 --table item:4000 --table stock:8000 --seed 23 > /dev/null || bad "C: gen"
"$MOSYNC" sql -C "$C/down" "CREATE SUBSCRIPTION s1 ACCOUNT FROM 'dir://$C/up'" > /dev/null
export MO_TEST_FETCH_LOG=$C/fetch.log
mapfile -t STEPS < <(grep -v '^#' "$(dirname "$0")/scenario.steps" | awk 'NF { print $1 }')
KILLS=${MO_SYNC_KILLS:-100}
kills=0; runs=0; step=0; clean=0
while [ "$kills" -lt "$KILLS" ] && [ "$runs" -lt $((KILLS * 12)) ]; do
    # a new upstream step every 3 kills, the scenario's steps in order (then again)
    if [ $((kills % 3)) -eq 0 ] && [ "$step" -le $((kills / 3)) ]; then
        ops=${STEPS[$(( step % ${#STEPS[@]} ))]}
        step=$((step + 1))
        "$MOSYNC" gen --mutate "$C/up" --op "$ops" --seed "$((step + 200))" > /dev/null || bad "C: mutate $step ($ops)"
    fi
    "$MOSYNC" run -C "$C/down" --once --quiet > /dev/null 2>&1 &
    pid=$!
    sleep "0.0$((RANDOM % 5))$((RANDOM % 10))" # 0-49 ms: a run takes about 30-150 ms
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ $? -eq 137 ] && kills=$((kills + 1)) # killed, not finished before the signal
    runs=$((runs + 1))
    if [ $((runs % 8)) -eq 0 ]; then # now and then a restart that runs to the end
        run_once "$C/down" "C restart after $kills kills"
        compare "$C/up" "$C/down" s1 "C after $kills kills"
        clean=$((clean + 1))
    fi
done
[ "$kills" -ge "$KILLS" ] && ok || bad "C: only $kills SIGKILLs landed in $runs runs"
run_once "$C/down" "C final restart"
compare "$C/up" "$C/down" s1 "C final"
d=$(dups "$C/fetch.log")
[ "$d" -le "$kills" ] && ok || bad "C: $d objects fetched twice in full after $kills kills"
"$MOSYNC" fsck -C "$C/down" --require-cn > "$T/fsck" 2>&1 && grep -q ' 0 unregistered, 0 orphan temp files' "$T/fsck" && ok || { bad "C: fsck"; cat "$T/fsck" >&2; }
unset MO_TEST_FETCH_LOG
echo "C: $kills SIGKILLs in $runs runs over $step scenario steps ($clean clean restarts compared), $d objects fetched twice (chunk in flight)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
