#!/usr/bin/env bash
# Catalog tools (issue #4): mktable, register (data + tombstones; all or nothing), checksum
# (exact row counts, order/layout-independent fingerprint, --at), scan, fsck (+ --repair).
set -u
M=${1:?usage: test_cattools.sh path/to/mosync}
T=${MO_TMP:-/tmp}/cattools.$$
rm -rf "$T"; mkdir -p "$T/in" "$T/a" "$T/b"
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
rc_is() { local want=$1; shift; "$@" >"$T/out" 2>"$T/err"; local rc=$?; [ $rc -eq "$want" ] && ok || { bad "$* -> exit $rc, want $want"; cat "$T/out" "$T/err" | head -5 >&2; }; }
DDL='CREATE TABLE `db1`.`t1` (
  `id` bigint NOT NULL,
  `name` varchar(20) DEFAULT NULL,
  `amount` decimal(12,2) DEFAULT NULL,
  PRIMARY KEY (`id`)
) COLLATE=utf8mb4_general_ci'
rc_is 0 "$M" mktable -C "$T/a" "$DDL"
rc_is 2 "$M" mktable -C "$T/a" "$DDL"          # already exists
rc_is 0 "$M" mkobj --schema 'id:int64,name:varchar(20),amount:decimal64(12,2)' --rows 20000 --seed 3 --pk id --sorted --out "$T/in"
D1=$(head -1 "$T/out")
rc_is 0 "$M" register -C "$T/a" --table db1.t1 "$D1"
rc_is 0 "$M" checksum -C "$T/a" db1.t1
grep -q 'rows=20000 ' "$T/out" && ok || bad "checksum rows: $(cat "$T/out")"
sum_all=$(cat "$T/out")
before=$(date +%s%N)
# a tombstone deleting three rows of the data object
U=$(basename "$D1"); U=${U:0:36}
printf 'c0,c1\n%s_0_0_5,5\n%s_0_0_7,7\n%s_0_1_0,8192\n' "$U" "$U" "$U" > "$T/tomb.csv"
rc_is 0 "$M" mkobj --schema 'pk:int64' --tombstone --from-csv "$T/tomb.csv" --out "$T/in"
TB=$(head -1 "$T/out")
rc_is 0 "$M" register -C "$T/a" --table db1.t1 "$TB"
rc_is 0 "$M" checksum -C "$T/a" db1.t1
grep -q 'rows=19997 ' "$T/out" && ok || bad "checksum after tombstone: $(cat "$T/out")"
sum_a=$(sed 's/^db1.t1 //' "$T/out")
rc_is 0 "$M" scan -C "$T/a" db1.t1 --format csv
head -1 "$T/out" | grep -q '^id,name,amount$' && ok || bad "scan header"
grep -qE '^(5|7|8192),' "$T/out" && bad "deleted rows still scanned" || ok
[ "$(wc -l < "$T/out")" -eq 19998 ] && ok || bad "scan row count"
# --at before the tombstone was registered: the tombstone is not visible yet
at="$(( before ))-0"
rc_is 0 "$M" checksum -C "$T/a" db1.t1 --at "$at"
grep -q 'rows=20000 ' "$T/out" && ok || bad "checksum --at: $(cat "$T/out")"
rc_is 0 "$M" checksum -C "$T/a" db1.t1 --at "1-0"
grep -q 'rows=0 ' "$T/out" && ok || bad "checksum at TS 1"
# the same rows in another layout (two objects, other order) give the same fingerprint
"$M" scan -C "$T/a" db1.t1 > "$T/rows.csv"
{ echo c0,c1,c2; sed -n '2,10001p' "$T/rows.csv"; } > "$T/p1.csv"
{ echo c0,c1,c2; sed -n '10002,$p' "$T/rows.csv" | sort -r; } > "$T/p2.csv"
rc_is 0 "$M" mktable -C "$T/b" "$DDL"
mkdir -p "$T/in2"
rc_is 0 "$M" mkobj --schema 'id:int64,name:varchar(20),amount:decimal64(12,2)' --from-csv "$T/p1.csv" --out "$T/in2"
P1=$(head -1 "$T/out")
rc_is 0 "$M" mkobj --schema 'id:int64,name:varchar(20),amount:decimal64(12,2)' --from-csv "$T/p2.csv" --out "$T/in2"
P2=$(head -1 "$T/out")
rc_is 0 "$M" register -C "$T/b" --table db1.t1 "$P1" "$P2"
rc_is 0 "$M" checksum -C "$T/b" db1.t1
[ "$(sed 's/^db1.t1 //' "$T/out")" = "$sum_a" ] && ok || bad "fingerprints differ: $(cat "$T/out") vs $sum_a"
# one value changed: the fingerprint changes
sed '2s/^\([0-9]*\),[^,]*,/\1,zzz,/' "$T/p1.csv" > "$T/p1x.csv"
mkdir -p "$T/c" "$T/in3"; rc_is 0 "$M" mktable -C "$T/c" "$DDL"
rc_is 0 "$M" mkobj --schema 'id:int64,name:varchar(20),amount:decimal64(12,2)' --from-csv "$T/p1x.csv" --out "$T/in3"
X1=$(head -1 "$T/out")
cp "$P2" "$T/in3/"
rc_is 0 "$M" register -C "$T/c" --table db1.t1 "$X1" "$T/in3/$(basename "$P2")"
"$M" checksum -C "$T/c" db1.t1 > "$T/out"
[ "$(sed 's/^db1.t1 //' "$T/out")" != "$sum_a" ] && ok || bad "fingerprint blind to a changed value"
# register: errors change nothing
rc_is 2 "$M" register -C "$T/a" --table db1.nope "$D1"
rc_is 2 "$M" register -C "$T/a" --table db1.t1 "$D1"           # already registered
cp "$P1" "$T/bad-obj"; mkdir -p "$T/in4"
rc_is 0 "$M" mkobj --schema 'id:int64,name:varchar(20),amount:decimal64(12,2)' --rows 100 --pk id --out "$T/in4"
G=$(head -1 "$T/out")
cp "$P1" "$T/in4/"; B="$T/in4/$(basename "$P1")"
printf '\xff' | dd of="$B" bs=1 seek=64 conv=notrunc status=none
rc_is 1 "$M" register -C "$T/a" --table db1.t1 "$G" "$B"      # one bad object: nothing registered
"$M" checksum -C "$T/a" db1.t1 > "$T/out"
[ "$(sed 's/^db1.t1 //' "$T/out")" = "$sum_a" ] && ok || bad "a failed register changed the table"
# fsck
rc_is 0 "$M" fsck -C "$T/a"
touch "$T/a/.$(basename "$G").part"
cp "$G" "$T/a/"
rc_is 1 "$M" fsck -C "$T/a"
grep -q 'present but unregistered' "$T/out" && grep -q 'orphan temp file' "$T/out" && ok || bad "fsck report: $(cat "$T/out")"
rm "$T/a/$(basename "$G")"
rc_is 0 "$M" fsck -C "$T/a" --repair
[ ! -e "$T/a/.$(basename "$G").part" ] && ok || bad "--repair left the orphan part"
printf '\x01' | dd of="$T/a/$(basename "$D1")" bs=1 seek=1000 conv=notrunc status=none
rc_is 1 "$M" fsck -C "$T/a"
grep -q 'digest mismatch' "$T/out" && ok || bad "fsck digest mismatch"
mv "$T/a/$(basename "$D1")" "$T/moved"
rc_is 1 "$M" fsck -C "$T/a"
grep -q 'registered but missing' "$T/out" && ok || bad "fsck missing file"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
