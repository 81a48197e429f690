#!/usr/bin/env bash
# End-to-end tests of `mosync sql`: statements as an argument and from stdin, text tables and
# --json rows, exit codes, and that the password never reaches stdout, stderr or any catalog
# file but the 0600 secrets file. Prints "N passed, N failed"; non-zero exit on any failure.
set -u
MOSYNC=${1:?usage: test_sql.sh path/to/mosync}
T=${MO_TMP:-/tmp}/cli_sql.$$
rm -rf "$T"; mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()   { pass=$((pass+1)); }
bad()  { fail=$((fail+1)); echo "FAIL: $*" >&2; }
expect_rc() { # want, description, command...
    local want=$1 what=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    cat "$T/out" "$T/err" >>"$T/all"
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, want $want"; sed 's/^/    /' "$T/out" "$T/err" | head -20 >&2; fi
}
expect_grep() { # pattern, file, description
    if grep -qE -- "$1" "$2"; then ok; else bad "$3: no /$1/ in $2"; head -20 "$2" | sed 's/^/    /' >&2; fi
}
PW='Pa55:w0rd#x'
R="$T/replica"; mkdir -p "$R"

expect_rc 0 "create" "$MOSYNC" sql -C "$R" "CREATE SUBSCRIPTION s1 DATABASE db1 FROM 'mysql://acc#root:$PW@127.0.0.1:6001' PUBLICATION sys p1 SYNC_INTERVAL = 30"
expect_grep 'subscription s1 created' "$T/out" "create message"
printf "CREATE SUBSCRIPTION s2 DATABASE db2 TABLE t2 FROM 'dir:///data/up';\n-- comment\nPAUSE SUBSCRIPTION s2;\n" \
    | expect_rc 0 "statements from stdin" "$MOSYNC" sql -C "$R"
expect_grep 'subscription s2 paused' "$T/out" "stdin second statement ran"
expect_rc 0 "show" "$MOSYNC" sql -C "$R" "show subscriptions"
expect_grep '^\| subscription_name \| upstream_conn +\| database \| tables \| sync_interval \| status +\| create_time +\| update_time +\|$' "$T/out" "table header"
expect_grep '^\| s1 +\| mysql://acc#root:\*\*\*@127\.0\.0\.1:6001 \| db1 +\| \* +\| 30 +\| running ' "$T/out" "s1 row masked"
expect_grep '^\| s2 .*\| t2 .*\| paused ' "$T/out" "s2 row"
expect_grep '^2 rows$' "$T/out" "row count"
expect_rc 0 "show --json" "$MOSYNC" sql -C "$R" --json "SHOW SUBSCRIPTIONS"
expect_grep '^\{"subscription_name":"s1","upstream_conn":"mysql://acc#root:\*\*\*@127\.0\.0\.1:6001","database":"db1","tables":"\*","sync_interval":"30","status":"running",' "$T/out" "json row"
[ "$(wc -l <"$T/out")" -eq 2 ] && ok || bad "json: one line per row"
expect_rc 0 "show tasks" "$MOSYNC" sql -C "$R" "SHOW SUBSCRIPTION TASKS s1"
expect_grep '^\| job_id \| subscription_name \| database \| table \| iteration_state \| iteration_lsn \| watermark \| error_message \| updated \|$' "$T/out" "tasks header"
expect_grep '^0 rows$' "$T/out" "no tasks yet"
expect_rc 0 "json message" "$MOSYNC" sql -C "$R" --json "RESUME SUBSCRIPTION s2"
expect_grep '^\{"message":"subscription s2 resumed' "$T/out" "json message object"

# errors: exit 2, a clear message, nothing changed, the password never echoed
expect_rc 0 "before" "$MOSYNC" sql -C "$R" --json "SHOW SUBSCRIPTIONS"; cp "$T/out" "$T/before"
expect_rc 2 "duplicate" "$MOSYNC" sql -C "$R" "CREATE SUBSCRIPTION s1 DATABASE db9 FROM 'mysql://acc#root:$PW@h:1'"
expect_grep "already exists" "$T/err" "duplicate message"
expect_rc 2 "bad uri" "$MOSYNC" sql -C "$R" "CREATE SUBSCRIPTION s3 DATABASE db3 FROM 'mysql://root:$PW@x@h:1'"
expect_grep "more than one '@'" "$T/err" "bad uri message"
expect_rc 2 "unknown keyword" "$MOSYNC" sql -C "$R" "FLY SUBSCRIPTION s1"
expect_grep "unknown keyword 'FLY'" "$T/err" "keyword message"
expect_rc 2 "unterminated" "$MOSYNC" sql -C "$R" "CREATE SUBSCRIPTION s3 DATABASE d FROM 'mysql://root:$PW@h:1"
printf "PAUSE SUBSCRIPTION s1; BOGUS; DROP SUBSCRIPTION s1;" | expect_rc 2 "script stops at the error" "$MOSYNC" sql -C "$R"
expect_grep "statement 2: syntax error" "$T/err" "statement number"
expect_rc 0 "resume s1" "$MOSYNC" sql -C "$R" "RESUME SUBSCRIPTION s1"
expect_rc 0 "after" "$MOSYNC" sql -C "$R" --json "SHOW SUBSCRIPTIONS"
sed 's/"update_time":"[^"]*"//' "$T/before" >"$T/b2"; sed 's/"update_time":"[^"]*"//' "$T/out" >"$T/a2"
cmp -s "$T/b2" "$T/a2" && ok || bad "errors changed the subscriptions"
expect_rc 2 "no -C" "$MOSYNC" sql "SHOW SUBSCRIPTIONS"
expect_rc 2 "bad option" "$MOSYNC" sql -C "$R" --frob "SHOW SUBSCRIPTIONS"
expect_rc 0 "drop" "$MOSYNC" sql -C "$R" "DROP SUBSCRIPTION IF EXISTS s1"
expect_rc 0 "drop again" "$MOSYNC" sql -C "$R" "DROP SUBSCRIPTION IF EXISTS s1"
expect_grep "nothing dropped" "$T/out" "drop if exists message"

# the password: nowhere in any output, only in the 0600 secrets file
if grep -qF -- "$PW" "$T/all"; then bad "password printed"; else ok; fi
expect_rc 0 "create s4" "$MOSYNC" sql -C "$R" "CREATE SUBSCRIPTION s4 DATABASE db4 FROM 'mysql://acc#root:$PW@h:1'"
hits=$(grep -rlF -- "$PW" "$R" || true)
[ "$hits" = "$R/.mosync/catalog/secrets" ] && ok || bad "password found in: $hits"
[ "$(stat -c %a "$R/.mosync/catalog/secrets")" = 600 ] && ok || bad "secrets mode $(stat -c %a "$R/.mosync/catalog/secrets")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
