#!/usr/bin/env bash
# Every statement a MatrixOne CCPR downstream sends, through the real `mariadb` command-line
# client against `moupstream` (directory backend), asserting column names and the wire types
# of spec ccpr-protocol.md §3 as `mariadb --column-type-info` prints them, plus error codes
# and texts. MYSQL_TYPE_VARCHAR (0x0f) has no name in the mariadb client's fieldtype2str and
# is printed as `?-unknown-?`; VAR_STRING (0xfd), STRING (0xfe), BLOB, LONGLONG, LONG, TINY
# print by name. Charset 0 prints as `? (0)`, 63 as `binary (63)`.
# usage: srv_mariadb_cli.sh MOUPSTREAM MOSYNC
set -uo pipefail
UP=$1
MOSYNC=$2
command -v mariadb >/dev/null || { echo "SKIP: mariadb client not installed (.ci/deps)"; exit 77; }
T=${MO_TMP:-/tmp}/srv_mariadb_cli.$$
rm -rf "$T"
mkdir -p "$T/objs"
fails=0
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$MOSYNC" mkobj --schema 'id:int64,v:varchar(30)' --rows 20000 --pk id --sorted --out "$T/objs" >/dev/null || fail mkobj
"$MOSYNC" mkobj --schema 'id:int64,s:varchar(8)' --rows 100 --pk id --out "$T/objs" >/dev/null || fail mkobj
big=$(ls -S "$T/objs" | head -1)
small=$(ls -S "$T/objs" | tail -1)
size=$(stat -c %s "$T/objs/$big")
echo 's3cret' >"$T/pw"
"$UP" --data "$T/objs" --listen 127.0.0.1:0 --user root --password-file "$T/pw" \
    --chunk-size 64k --publish sys.pub1=mosync >"$T/port" 2>"$T/log" &
pid=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
PORT=$(cat "$T/port")
[ -n "$PORT" ] || { echo "FAIL: moupstream did not print its port"; cat "$T/log"; exit 1; }

M=(mariadb -h 127.0.0.1 -P "$PORT" -u root -ps3cret --column-type-info -t)

# cols "SQL" "name:TYPE[:charset]"...: the fields the client reports, in order
cols() {
    local sql=$1
    shift
    local out
    out=$("${M[@]}" -e "$sql" 2>&1) || { fail "$sql: $out"; return; }
    local got
    got=$(awk '
        /^Field +[0-9]+:/ { n = $0; sub(/^[^`]*`/, "", n); sub(/`$/, "", n) }
        /^Type:/ { t = $2 }
        /^Collation:/ { c = $NF; gsub(/[()]/, "", c); printf "%s:%s:%s\n", n, t, c }' <<<"$out")
    local want
    want=$(printf '%s\n' "$@")
    [ "$got" == "$want" ] || fail "$sql: columns
got:
$got
want:
$want"
    LAST=$out
}

# err "SQL" CODE "message": exact error
err() {
    local out
    out=$("${M[@]}" -e "$1" 2>&1)
    grep -qF "ERROR $2 (HY000) at line 1: $3" <<<"$out" || fail "$1: got '$out', want $2 '$3'"
}

U=?-unknown-? # how the mariadb client prints MYSQL_TYPE_VARCHAR (0x0f)

"${M[@]}" -e 'CREATE SNAPSHOT IF NOT EXISTS `ccpr_t_1` FOR ACCOUNT FROM sys PUBLICATION pub1' || fail "create snapshot"
"${M[@]}" -e 'CREATE SNAPSHOT IF NOT EXISTS `ccpr_t_1` FOR ACCOUNT FROM sys PUBLICATION pub1' || fail "create snapshot again"
"${M[@]}" -e 'CREATE SNAPSHOT IF NOT EXISTS `ccpr_t_2` FOR TABLE mosync objects FROM sys PUBLICATION pub1' || fail "create table snapshot"
err 'CREATE SNAPSHOT `ccpr_t_1` FOR ACCOUNT FROM sys PUBLICATION pub1' 20101 'internal error: snapshot ccpr_t_1 already exists'
err 'CREATE SNAPSHOT IF NOT EXISTS `x` FOR DATABASE nodb FROM sys PUBLICATION pub1' 20101 'internal error: database nodb does not exist'

cols 'SHOW PUBLICATION COVERAGE `pub1`' "Database:$U:0" "Table:$U:0"
grep -qE '\| mosync +\| \* +\|' <<<"$LAST" || fail "coverage marker row"
grep -qE '\| mosync +\| objects +\|' <<<"$LAST" || fail "coverage table row"
err 'SHOW PUBLICATION COVERAGE `nopub`' 20101 "internal error: publication 'nopub' does not exist"

cols '__++__internal_get_snapshot_ts ccpr_t_1 sys pub1' "snapshotts:LONGLONG:0"
err '__++__internal_get_snapshot_ts ccpr_t_0 sys pub1' 20101 'internal error: failed to query snapshot: internal error: find 0 snapshot records by name(ccpr_t_0), expect only 1'
err '__++__internal_get_snapshot_ts ccpr_t_1 sys' 20101 'internal error: invalid getsnapshotts command format, expected: getsnapshotts <snapshotName> <accountName> <publicationName>'
err '__++__internal_get_snapshot_ts ccpr_t_1 sys nopub' 20101 'internal error: publication sys.nopub does not exist'

cols '__++__internal_check_snapshot_flushed ccpr_t_1 sys pub1' "result:TINY:63"
grep -q '|      1 |' <<<"$LAST" || fail "flushed = 1"
err '__++__internal_check_snapshot_flushed ccpr_t_0 sys pub1' 20101 'internal error: find 0 snapshot records by name(ccpr_t_0), expect only 1'

cols '__++__internal_get_databases ccpr_t_1 sys pub1 account - -' "datname:$U:0"
grep -q '| mosync  |' <<<"$LAST" || fail "get_databases row"
grep -q 'mo_catalog' <<<"$LAST" && fail "get_databases lists a system database"
cols '__++__internal_get_databases - sys pub1 database mosync -' "datname:$U:0"

cols '__++__internal_get_ddl ccpr_t_1 sys pub1 account - -' "dbname:$U:0" "tablename:$U:0" "tableid:LONGLONG:0" "tablesql:$U:0"
grep -q 'CREATE TABLE `mosync`.`objects` (' <<<"$LAST" || fail "tablesql"
cols '__++__internal_get_ddl - sys pub1 table mosync objects' "dbname:$U:0" "tablename:$U:0" "tableid:LONGLONG:0" "tablesql:$U:0"
err '__++__internal_get_ddl - sys pub1 table mosync nosuch' 20101 'internal error: failed to get table: table mosync.nosuch does not exist'

cols '__++__internal_get_mo_indexes 272515 sys pub1 -' "table_id:LONGLONG:0" "name:$U:0" "algo_table_type:$U:0" "index_table_name:$U:0"
cols '__++__internal_get_mo_indexes 272515 sys pub1 ccpr_t_1' "table_id:LONGLONG:0" "name:$U:0" "algo_table_type:$U:0" "index_table_name:$U:0"
err '__++__internal_get_mo_indexes abc sys pub1 -' 20101 'internal error: invalid tableId: abc'

OL=("db name:VAR_STRING:0" "table name:VAR_STRING:0" "stats:STRING:0" "create_at:$U:0" "delete_at:$U:0" "is_tombstone:TINY:63")
cols '__++__internal_object_list ccpr_t_1 - sys pub1' "${OL[@]}"
[ "$(grep -c '| mosync  | objects    |' <<<"$LAST")" == 2 ] || fail "object_list: 2 rows expected"
grep -q '| 0-0       |            0 |' <<<"$LAST" || fail "object_list: delete_at 0-0, is_tombstone 0"
cols '__++__internal_object_list ccpr_t_2 ccpr_t_1 sys pub1' "${OL[@]}"
err '__++__internal_object_list ccpr_t_1 nosnap sys pub1' 20101 "internal error: failed to resolve against snapshot 'nosnap': internal error: find 0 snapshot records by name(nosnap), expect only 1"

GO=("data:BLOB:63" "total_size:LONGLONG:0" "chunk_index:LONG:0" "total_chunks:LONG:0" "is_complete:TINY:63")
chunks=$(( (size + 65535) / 65536 ))
cols "__++__internal_get_object sys pub1 $big 0" "${GO[@]}"
grep -q "|      |  *$size |  *0 |  *$chunks |  *0 |" <<<"$LAST" || fail "get_object chunk 0 row: $LAST"
grep -q 'Length:     65536' <<<"$LAST" || fail "data column length = chunk size"
grep -q 'Flags:      BLOB BINARY' <<<"$LAST" || fail "data flags BLOB BINARY"
cols "__++__internal_get_object sys pub1 $small 1" "${GO[@]}"
err "__++__internal_get_object sys pub1 $small 2" 20301 'invalid input: invalid chunk_index: 2, file has only 1 data chunks (chunk 0 is metadata)'
err "__++__internal_get_object sys pub1 $small -1" 20301 'invalid input: invalid chunk_index: must be >= 0'
err "__++__internal_get_object sys pub1 ../../etc/passwd 1" 20301 'invalid input: invalid object name: ../../etc/passwd'
err "__++__internal_get_object sys pub1 $small x" 20101 'internal error: invalid chunkIndex: x'

"${M[@]}" -e 'DROP SNAPSHOT IF EXISTS `ccpr_t_1` FROM sys PUBLICATION pub1' || fail "drop snapshot"
"${M[@]}" -e 'DROP SNAPSHOT IF EXISTS `ccpr_t_1` FROM sys PUBLICATION pub1' || fail "drop snapshot again"
err 'DROP SNAPSHOT `ccpr_t_1` FROM sys PUBLICATION pub1' 20101 'internal error: snapshot ccpr_t_1 does not exist'

# connect-time queries of the CLI and credentials
out=$(mariadb -h 127.0.0.1 -P "$PORT" -u sys#root -ps3cret -N -e 'select @@version_comment limit 1; select database()' 2>&1) || fail "session queries: $out"
out=$(mariadb -h 127.0.0.1 -P "$PORT" -u root -pwrong -e 'select 1' 2>&1)
grep -q 'ERROR 1045 (28000): Access denied for user ' <<<"$out" || fail "wrong password: $out"

kill "$pid"
wait "$pid"
rc=$?
pid=
[ $rc == 0 ] || fail "moupstream exit status $rc after SIGTERM"
if [ $fails -ne 0 ]; then
    echo "$fails failure(s)"
    cat "$T/log"
    exit 1
fi
echo "srv_mariadb_cli: ok"
