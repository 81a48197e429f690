#!/usr/bin/env bash
# Sync crash test (issue #6): `mosync run` is killed >= 100 times at exact points — _exit at
# the Nth write/fsync/rename/open (MO_FAULT; test builds) — across a scenario of upstream
# steps (inserts, deletes, merges, appendable objects, truncate, DDL), and restarted each
# time. Then: every table's checksum equals the upstream's at the watermark, no object was
# fetched twice in full more often than there were kills, and no orphan files remain.
set -u
MOSYNC=${1:?usage: test_sync_crash.sh path/to/mosync}
KILLS=${MO_SYNC_CRASH_KILLS:-100}
T=${MO_TMP:-/tmp}/synccrash.$$
rm -rf "$T"; mkdir -p "$T/down"
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
compare() {
    local what=$1 n=0 wm t a b
    "$MOSYNC" sql -C "$T/down" --json "SHOW SUBSCRIPTION TASKS s1" > "$T/tasks" 2>&1 || { bad "$what: show tasks"; return; }
    wm=$(grep -o '"watermark":"[^"]*"' "$T/tasks" | head -1 | cut -d'"' -f4)
    for t in $(grep -o '"database":"[^"]*","table":"[^"]*"' "$T/tasks" | sed 's/"database":"\([^"]*\)","table":"\([^"]*\)"/\1.\2/' | grep -v '\.$'); do
        a=$("$MOSYNC" checksum -C "$T/down" "$t" 2>&1 | cut -d' ' -f2-)
        b=$("$MOSYNC" checksum -C "$T/up" "$t" --at "$wm" 2>&1 | cut -d' ' -f2-)
        n=$((n+1))
        [ "$a" == "$b" ] && ok || bad "$what: $t: down '$a' up '$b' at $wm"
    done
    [ "$n" -gt 0 ] && ok || bad "$what: no table compared"
}
"$MOSYNC" gen --out "$T/up" --db db1 --table orders:6000 --table item:2000 --table stock:4000 --seed 31 > /dev/null || { echo "gen failed"; exit 1; }
"$MOSYNC" sql -C "$T/down" "CREATE SUBSCRIPTION s1 DATABASE db1 FROM 'dir://$T/up'" > /dev/null || bad "create subscription"
export MO_TEST_FETCH_LOG=$T/fetch.log
ops=(write write fsync rename open)
seed=777
rnd() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); R=$(( (seed >> 8) % $1 )); }
kills=0; runs=0; step=0; clean=0
while [ "$kills" -lt "$KILLS" ]; do
    # a new upstream step every 4 kills: the kills land in iterations with real work
    if [ $((kills % 4)) -eq 0 ] && [ "$step" -le $((kills / 4)) ]; then
        step=$((step + 1))
        "$MOSYNC" gen --mutate "$T/up" --steps 1 --seed $((step + 500)) > /dev/null || bad "mutate $step"
    fi
    rnd ${#ops[@]}; op=${ops[$R]}
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
        compare "after $kills kills"
    fi
done
"$MOSYNC" run -C "$T/down" --once --quiet > "$T/run.out" 2>&1 || { bad "final run"; head -5 "$T/run.out" >&2; }
compare "final"
d=$( [ -f "$T/fetch.log" ] && sort "$T/fetch.log" | uniq -d | wc -l || echo 0 )
[ "$d" -le "$kills" ] && ok || bad "$d objects fetched twice in full after $kills kills"
"$MOSYNC" fsck -C "$T/down" > "$T/fsck" 2>&1; grep -q ' 0 unregistered, 0 orphan temp files' "$T/fsck" && ok || { bad "fsck: $(tail -1 "$T/fsck")"; }
echo "sync crash: $kills kills at exact syscalls over $step upstream steps ($runs runs, $clean clean rounds compared), $d objects fetched twice in full"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
