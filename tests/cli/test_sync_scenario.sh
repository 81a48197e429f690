#!/usr/bin/env bash
# The scripted scenario of issue #6 (scenario.steps: 28 upstream steps covering every DDL kind,
# merges, deletes and appendable objects), through an ACCOUNT-level subscription (create/drop
# database in scope) from a dir:// upstream, and again through moupstream (mysql://). After
# every step: the step applied exactly its operations, the iteration reported the expected DDL
# (create/drop/recreate/inplace/rename), every downstream table's checksum equals the
# upstream's at that snapshot, and `mosync fsck --require-cn` finds every registered entry
# CN-created, not appendable, non-mergeable, with no unregistered or orphan file. No object is
# fetched twice; a renamed table keeps its objects (nothing fetched for a RENAME); merge churn
# (the `merged=` bytes) is counted for merges and not for inserts. Hidden index tables are
# compared too (`checksum --indexes`), and carried under downstream names of their own.
set -u
MOSYNC=${1:?usage: test_sync_scenario.sh path/to/mosync [path/to/moupstream]}
MOUP=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
T=${MO_TMP:-/tmp}/cli_scen.$$
rm -rf "$T"; mkdir -p "$T"
SRV_PID=
cleanup() { [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"; }
trap cleanup EXIT
. "$HERE/sync_lib.sh"


scenario() { # label up down
    local label=$1 up=$2 down=$3 step=0 ops ddl o rc
    export MO_TEST_FETCH_LOG=$T/$label.fetch
    "$MOSYNC" run -C "$down" --once --quiet > "$T/run.out" 2>&1 || { bad "$label: full copy"; head -5 "$T/run.out" >&2; }
    compare "$up" "$down" s1 "$label full copy"
    while read -r ops ddl; do
        case $ops in ''|\#*) continue;; esac
        step=$((step + 1))
        "$MOSYNC" gen --mutate "$up" --op "$ops" --seed "$step" > "$T/gen.out" 2>&1 || { bad "$label step $step ($ops): gen"; cat "$T/gen.out" >&2; continue; }
        for o in ${ops//,/ }; do
            grep -q " $o=1\( \|$\)" "$T/gen.out" && ok || bad "$label step $step: $o did not apply: $(tail -1 "$T/gen.out")"
        done
        "$MOSYNC" run -C "$down" --once --quiet > "$T/run.out" 2>&1; rc=$?
        if [ "$rc" -eq 0 ] && grep -q " ddl=$ddl .*rc=OK" "$T/run.out"; then ok; else
            bad "$label step $step ($ops): exit $rc, want ddl=$ddl"; sed 's/^/    /' "$T/run.out" | head -5 >&2; fi
        case $ops in
        add_index) # the index table is carried, under a downstream name of its own
            t=$(grep -o '"database":"[^"]*","table":"[^"]*"' "$T/tasks" | sed 's/"database":"\([^"]*\)","table":"\([^"]*\)"/\1.\2/' | grep -v '\.$' | while read -r x; do
                "$MOSYNC" checksum -C "$down" "$x" --indexes | grep -q '^  index ' && echo "$x"; done | head -1)
            if [ -n "$t" ]; then
                dn=$("$MOSYNC" checksum -C "$down" "$t" --indexes | awk '/^  index /{print $3}' | sort)
                un=$("$MOSYNC" checksum -C "$up" "$t" --indexes | awk '/^  index /{print $3}' | sort)
                [ -n "$dn" ] && [ "$(echo "$dn" | wc -l)" = "$(echo "$un" | wc -l)" ] && ok || bad "$label step $step: index tables: down '$dn' up '$un'"
                [ -z "$(comm -12 <(echo "$dn") <(echo "$un"))" ] && ok || bad "$label step $step: index table kept its upstream name"
            else
                bad "$label step $step: no downstream table has an index table after ADD INDEX"
            fi;;
        rename_table)
            grep -q ' fetched=0 ' "$T/run.out" && ok || bad "$label step $step: RENAME TABLE fetched objects";;
        merge|delete,merge) # merge churn is counted; inserts are not churn
            grep -q ' merged=[1-9]' "$T/run.out" && ok || bad "$label step $step: merge churn not counted";;
        insert|append|insert,append)
            grep -q ' merged=0 ' "$T/run.out" && ok || bad "$label step $step: inserts counted as merge churn";;
        esac
        compare "$up" "$down" s1 "$label step $step ($ops)"
        "$MOSYNC" fsck -C "$down" --require-cn > "$T/fsck" 2>&1 && ok || { bad "$label step $step: fsck"; grep -v '^fsck' "$T/fsck" | head -3 >&2; tail -1 "$T/fsck" >&2; }
    done < "$HERE/scenario.steps"
    [ "$step" -ge 20 ] && ok || bad "$label: only $step steps"
    [ "$(sort "$MO_TEST_FETCH_LOG" | uniq -d | wc -l)" -eq 0 ] && ok || bad "$label: objects fetched twice: $(sort "$MO_TEST_FETCH_LOG" | uniq -d | head -3)"
    echo "$label: $step scripted steps, $NTABLES tables at the end, $(wc -l < "$MO_TEST_FETCH_LOG") objects fetched"
    unset MO_TEST_FETCH_LOG
}

# fsck --require-cn must fail where entries are not what a downstream registers: an upstream
# replica's catalog holds appendable, non-CN objects
"$MOSYNC" gen --out "$T/neg" --db db1 --table orders:3000 --seed 3 > /dev/null || bad "gen neg"
"$MOSYNC" fsck -C "$T/neg" --require-cn > "$T/fsck" 2>&1 && bad "fsck --require-cn passed an upstream catalog" || ok
grep -q '^entry flags: .*want CN-created' "$T/fsck" && ok || bad "fsck --require-cn: no entry flags line"

# dir:// upstream
mkdir -p "$T/a/down"
"$MOSYNC" gen --out "$T/a/up" --db db1 --table orders:3000 --table item:800 --table stock:1500 --seed 11 > /dev/null || { echo "gen failed"; exit 1; }
"$MOSYNC" sql -C "$T/a/down" "CREATE SUBSCRIPTION s1 ACCOUNT FROM 'dir://$T/a/up'" > /dev/null || bad "a: create subscription"
scenario dir "$T/a/up" "$T/a/down"

# the same scenario through moupstream (mysql://, 64 KiB chunks)
if [ -n "$MOUP" ]; then
    mkdir -p "$T/b/down"; echo 'Pw-2y' > "$T/pw"
    "$MOSYNC" gen --out "$T/b/up" --db db1 --table orders:3000 --table item:800 --table stock:1500 --seed 11 > /dev/null || bad "b: gen"
    "$MOUP" --data "$T/b/up" --listen 127.0.0.1:0 --user root --password-file "$T/pw" --chunk-size 64k > "$T/port" 2> "$T/srv.err" &
    SRV_PID=$!
    for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$T/port")
    if [ -n "$PORT" ]; then
        "$MOSYNC" sql -C "$T/b/down" "CREATE SUBSCRIPTION s1 ACCOUNT FROM 'mysql://sys#root:Pw-2y@127.0.0.1:$PORT' PUBLICATION sys mosync" > /dev/null || bad "b: create subscription"
        scenario mysql "$T/b/up" "$T/b/down"
        # a TABLE-level subscription of a table with a secondary index: its index table's
        # objects are listed and served with it (the publication names only the parent)
        "$MOSYNC" gen --mutate "$T/b/up" --op add_index --seed 77 > /dev/null || bad "c: add_index"
        it=
        for x in $("$MOSYNC" sql -C "$T/b/down" --json "SHOW SUBSCRIPTION TASKS s1" | grep -o '"database":"[^"]*","table":"[^"]*"' | sed 's/"database":"\([^"]*\)","table":"\([^"]*\)"/\1.\2/' | grep -v '\.$'); do
            "$MOSYNC" checksum -C "$T/b/up" "$x" --indexes | grep -q '^  index ' && it=$x
        done
        if [ -n "$it" ]; then
            mkdir -p "$T/c/down"
            "$MOSYNC" sql -C "$T/c/down" "CREATE SUBSCRIPTION s2 DATABASE ${it%%.*} TABLE ${it#*.} FROM 'mysql://sys#root:Pw-2y@127.0.0.1:$PORT' PUBLICATION sys mosync" > /dev/null || bad "c: create"
            "$MOSYNC" run -C "$T/c/down" --once --quiet > "$T/run.out" 2>&1 && ok || { bad "c: table-level run"; head -5 "$T/run.out" >&2; }
            compare "$T/b/up" "$T/c/down" s2 "c: table-level $it"
            [ "$("$MOSYNC" checksum -C "$T/c/down" "$it" --indexes | grep -c '^  index ')" -ge 1 ] && ok || bad "c: no index table downstream"
            # a publication of that one table (moupstream --publish): its index objects are
            # served too, other tables' are not
            kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null # one server per replica
            "$MOUP" --data "$T/b/up" --listen 127.0.0.1:0 --user root --password-file "$T/pw" --chunk-size 64k \
                --publish "sys.p1=$it" > "$T/port2" 2> "$T/srv2.err" &
            SRV_PID=$!
            for _ in $(seq 1 100); do [ -s "$T/port2" ] && break; sleep 0.05; done
            mkdir -p "$T/d/down"
            "$MOSYNC" sql -C "$T/d/down" "CREATE SUBSCRIPTION s3 DATABASE ${it%%.*} TABLE ${it#*.} FROM 'mysql://sys#root:Pw-2y@127.0.0.1:$(head -1 "$T/port2")' PUBLICATION sys p1" > /dev/null || bad "d: create"
            "$MOSYNC" run -C "$T/d/down" --once --quiet > "$T/run.out" 2>&1 && ok || { bad "d: one-table publication run"; head -5 "$T/run.out" >&2; }
            compare "$T/b/up" "$T/d/down" s3 "d: one-table publication $it"
            [ "$("$MOSYNC" checksum -C "$T/d/down" "$it" --indexes | grep -c '^  index ')" -ge 1 ] && ok || bad "d: no index table downstream"
        else
            bad "c: no table with an index after add_index"
        fi
    else
        bad "moupstream did not start: $(cat "$T/srv.err")"
    fi
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
