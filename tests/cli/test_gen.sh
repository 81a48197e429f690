#!/usr/bin/env bash
# mosync gen (issue #5): create a small TPC-C-like upstream, mutate it 30 steps with a fixed
# seed, --check passes, every object passes deep verify, `mosync checksum --at` equals the
# truth, same seed -> same catalog + truth, damage is caught (exit 1), bad usage exits 2.
set -u
M=${1:?usage: test_gen.sh path/to/mosync}
T=${MO_TMP:-/tmp}/gen.$$
rm -rf "$T"; mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
rc_is() { local want=$1; shift; "$@" >"$T/out" 2>"$T/err"; local rc=$?; [ $rc -eq "$want" ] && ok || { bad "$* -> exit $rc, want $want"; cat "$T/out" "$T/err" | head -5 >&2; }; }
TABLES=(--table warehouse:10 --table district:100 --table customer:15000 --table history:5000
        --table orders:12000 --table item:8000 --table 'kv:3000:id:int64,v:varchar(20),n:int32')
for d in a b; do
  rc_is 0 "$M" gen --out "$T/$d" --db tpcc "${TABLES[@]}" --seed 11 --appendable-share 0.15
  rc_is 0 "$M" gen --mutate "$T/$d" --steps 30 --seed 12
done
grep -q 'snapshots gen_2..gen_31' "$T/out" && ok || bad "mutate report: $(head -1 "$T/out")"
for op in insert delete merge append truncate add_column drop_column modify_type rename_table \
          rename_column add_index index_visibility drop_index comment modify_inplace create_table \
          drop_table create_db drop_db; do
  grep -qE " $op=[1-9]" "$T/out" && ok || bad "op $op never ran: $(tail -1 "$T/out")"
done
rc_is 0 "$M" gen --check "$T/a" --verbose
grep -q '^check ok$' "$T/out" && ok || bad "check: $(tail -1 "$T/out")"
grep -q MISMATCH "$T/out" && bad "mismatch lines" || ok
# `checksum --at TS` of every table at every step == the truth, also for tables that a later
# step renamed, truncated (new id under the same name) or dropped
sed -nE 's/^ok gen_[0-9]+ \(ts ([0-9]+)\) ([^ ]+) id=[0-9]+: want rows=([0-9]+) fp=([0-9a-f]+),.*/\1 \2 \3 \4/p' "$T/out" > "$T/want"
n=0; nbad=0
while read -r ts tab rows fp; do
  n=$((n + 1))
  got=$("$M" checksum -C "$T/a" "$tab" --at "$ts-0" 2>&1)
  [ "$got" = "$tab rows=$rows fingerprint=$fp" ] || { nbad=$((nbad + 1)); [ "$nbad" -le 3 ] && echo "  $tab at $ts: got '$got', want rows=$rows fp=$fp" >&2; }
done < "$T/want"
[ "$n" -gt 100 ] && [ "$nbad" -eq 0 ] && ok || bad "checksum --at: $nbad of $n (step, table) pairs differ from the truth"
# checksum of each table at the last snapshot == the truth
last=$(grep ' gen_31 ' "$T/out")
[ -n "$last" ] && ok || bad "no gen_31 lines"
while read -r _ _ ts tbl _ _ want_rows want_fp _; do
  ts=${ts%)}; want=$(echo "$want_rows $want_fp" | sed 's/rows=//; s/fp=//; s/,//')
  "$M" checksum -C "$T/a" "$tbl" --at "$ts-0" >"$T/ck" 2>&1
  got=$(sed 's/^[^ ]* //; s/rows=//; s/fingerprint=//' "$T/ck")
  [ "$got" = "$want" ] && ok || bad "checksum $tbl at $ts: got '$got' want '$want'"
done <<< "$(echo "$last" | sed 's/(ts //')"
# every object file passes deep verification
rc_is 0 "$M" verify --level deep "$T"/a/0*
# determinism: identical truth, state and object files
cmp -s "$T/a/.mosync/gen/truth" "$T/b/.mosync/gen/truth" && ok || bad "truth differs"
cmp -s "$T/a/.mosync/gen/state" "$T/b/.mosync/gen/state" && ok || bad "state differs"
[ "$(cd "$T/a" && ls 0* | xargs md5sum)" = "$(cd "$T/b" && ls 0* | xargs md5sum)" ] && ok || bad "objects differ"
# usage errors
rc_is 2 "$M" gen --out "$T/a" --db tpcc --table item:10           # already generated
rc_is 2 "$M" gen --out "$T/c" --db tpcc --table item               # no row count
rc_is 2 "$M" gen --out "$T/c" --db tpcc --table 't:10:id:vecf32(3)'  # unsupported type
rc_is 2 "$M" gen --mutate "$T/a"                                   # no --steps
rc_is 2 "$M" gen --check "$T/a" --mutate "$T/b" --steps 1
# damage: a flipped byte in the truth -> exit 1
cp -r "$T/a" "$T/d"
printf 'x' | dd of="$T/d/.mosync/gen/truth" bs=1 seek=100 conv=notrunc 2>/dev/null
rc_is 1 "$M" gen --check "$T/d"
echo "gen: $pass passed, $fail failed"
[ $fail -eq 0 ]
