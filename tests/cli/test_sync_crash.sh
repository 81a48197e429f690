#!/usr/bin/env bash
# Sync crash test (issue #6): `mosync run` is killed >= 100 times at exact points — _exit at
# the Nth write/fsync/rename/open (MO_FAULT; test builds) — across the scripted scenario of
# scenario.steps (inserts, deletes, merges, appendable objects, truncate, every DDL kind; an
# ACCOUNT-level subscription, so create/drop database are in scope), and restarted each time. Then: every table's checksum equals the upstream's at the watermark, no object was
# fetched twice in full more often than there were kills, and no orphan files remain.
set -u
MOSYNC=${1:?usage: test_sync_crash.sh path/to/mosync}
KILLS=${MO_SYNC_CRASH_KILLS:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
mapfile -t STEPS < <(grep -v '^#' "$HERE/scenario.steps" | awk 'NF { print $1 }')
T=${MO_TMP:-/tmp}/synccrash.$$
rm -rf "$T"; mkdir -p "$T/down"
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/sync_lib.sh"
"$MOSYNC" gen --out "$T/up" --db db1 --table orders:6000 --table item:2000 --table stock:4000 --seed 31 > /dev/null || { echo "gen failed"; exit 1; }
"$MOSYNC" sql -C "$T/down" "CREATE SUBSCRIPTION s1 ACCOUNT FROM 'dir://$T/up'" > /dev/null || bad "create subscription"
export MO_TEST_FETCH_LOG=$T/fetch.log
kinds=(write write fsync rename open)
seed=777
rnd() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); R=$(( (seed >> 8) % $1 )); }
kills=0; runs=0; step=0; clean=0
while [ "$kills" -lt "$KILLS" ]; do
    # a new upstream step every 4 kills: the kills land in iterations with real work
    if [ $((kills % 4)) -eq 0 ] && [ "$step" -le $((kills / 4)) ]; then
        step=$((step + 1))
        ops=${STEPS[$(( (step - 1) % ${#STEPS[@]} ))]}
        "$MOSYNC" gen --mutate "$T/up" --op "$ops" --seed $((step + 500)) > /dev/null || bad "mutate $step ($ops)"
    fi
    rnd ${#kinds[@]}; op=${kinds[$R]}
    case $op in rename|open) rnd 6;; fsync) rnd 12;; *) rnd 80;; esac
    n=$((1 + R))
    MO_FAULT="$op:$n:exit" "$MOSYNC" run -C "$T/down" --once --quiet > "$T/run.out" 2>&1
    rc=$?
    runs=$((runs + 1))
    if [ "$rc" -eq 77 ]; then
        kills=$((kills + 1))
    elif [ "$rc" -ne 0 ]; then
        bad "run $runs ($op:$n) exit $rc"; head -5 "$T/run.out" >&2
    fi
    # now and then a clean run to completion, then compare every table
    if [ $((runs % 10)) -eq 0 ]; then
        "$MOSYNC" run -C "$T/down" --once --quiet > "$T/run.out" 2>&1 || { bad "clean run after $kills kills"; head -5 "$T/run.out" >&2; }
        clean=$((clean + 1))
        compare "$T/up" "$T/down" s1 "after $kills kills"
    fi
done
"$MOSYNC" run -C "$T/down" --once --quiet > "$T/run.out" 2>&1 || { bad "final run"; head -5 "$T/run.out" >&2; }
compare "$T/up" "$T/down" s1 "final"
d=$( [ -f "$T/fetch.log" ] && sort "$T/fetch.log" | uniq -d | wc -l || echo 0 )
[ "$d" -le "$kills" ] && ok || bad "$d objects fetched twice in full after $kills kills"
"$MOSYNC" fsck -C "$T/down" --require-cn > "$T/fsck" 2>&1 && grep -q ' 0 unregistered, 0 orphan temp files' "$T/fsck" && ok || { bad "fsck: $(tail -1 "$T/fsck")"; }
echo "sync crash: $kills kills at exact syscalls over $step upstream steps ($runs runs, $clean clean rounds compared), $d objects fetched twice in full"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
