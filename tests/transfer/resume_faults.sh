#!/usr/bin/env bash
# Resume under damage (issue #3): a bit flipped in a .part between runs, a truncated .part,
# a journal with a flipped bit, a journal from another job, and ENOSPC in the middle. Each
# must be detected and reported, and healed by re-fetching only the affected chunk(s).
set -u
MOSYNC=${1:?usage: resume_faults.sh path/to/mosync}
T=${MO_TMP:-/tmp}/resume.$$
rm -rf "$T"; mkdir -p "$T/src" "$T/other"
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
CH=65536
for i in 1 2 3; do
    "$MOSYNC" mkobj --schema 'id:int64,s:varchar(40),t:text' --rows 60000 --seed $i --pk id --sorted --out "$T/src" >/dev/null
done
"$MOSYNC" mkobj --schema 'id:int64' --rows 1000 --seed 9 --out "$T/other" >/dev/null
first=$(ls "$T/src" | head -1)
size=$(stat -c %s "$T/src/$first")
seed() { "$MOSYNC" seed --from "$T/src" --to "$T/dst" --chunk-size $CH -j 1 --progress=json "$@" 2>"$T/err"; }
fetched() { sed -n 's/.*"event":"summary".*"bytes_fetched":\([0-9]*\).*/\1/p' "$T/err"; }
refetched() { sed -n 's/.*"chunks_refetched":\([0-9]*\).*/\1/p' "$T/err"; }
same_all() { for f in "$T"/src/*; do cmp -s "$f" "$T/dst/$(basename "$f")" || return 1; done; }
# kill inside the first object: after ~10 chunks (2 writes per chunk: part + journal)
interrupt() { rm -rf "$T/dst"; MO_FAULT="write:21:exit" seed >/dev/null; [ $? -eq 77 ] || bad "interrupt did not crash"; }
records() { "$MOSYNC" journal "$T/dst" | sed -n 's/^chunk_records //p'; }
part="$T/dst/.$first.part"

# 1. bit flipped in the .part between runs: only that chunk is fetched again
interrupt
R=$(records)
[ -f "$part" ] && [ "$R" -ge 5 ] && ok || bad "no part file / too few records ($R) after the interrupt"
printf '\x01' | dd of="$part" bs=1 seek=$((CH * 3 + 100)) conv=notrunc status=none
seed >/dev/null || bad "resume after part bit flip failed"
grep -q 'chunk 3 of the part file fails its digest' "$T/err" && ok || bad "part damage not reported"
[ "$(refetched)" = 1 ] && ok || bad "refetched $(refetched) chunks, want 1"
same_all && ok || bad "objects differ after healing a flipped part"
total=$(du -cb "$T"/src/* | tail -1 | cut -f1)
[ "$(fetched)" -eq $((total - R * CH + CH)) ] && ok || bad "fetched $(fetched) bytes: want the missing part + 1 chunk = $((total - R * CH + CH))"

# 2. truncated .part: the cut chunk and everything after it are fetched, nothing before
interrupt
truncate -s $((CH * 5 + 17)) "$part"
seed >/dev/null || bad "resume after truncation failed"
want=$((total - 5 * CH))
[ "$(fetched)" -eq "$want" ] && ok || bad "truncated part: fetched $(fetched), want $want"
same_all && ok || bad "objects differ after a truncated part"

# 3. journal with a flipped bit in its last record: torn tail reported, that chunk refetched
interrupt
R=$(records)
J="$T/dst/.mosync/ckpt/journal"
jl=$(stat -c %s "$J")
printf '\x80' | dd of="$J" bs=1 seek=$((jl - 20)) conv=notrunc status=none
seed >/dev/null || bad "resume after journal damage failed"
grep -q 'torn or corrupt tail dropped' "$T/err" && ok || bad "journal damage not reported"
[ "$(fetched)" -eq $((total - (R - 1) * CH)) ] && ok || bad "journal damage: fetched $(fetched), want $((total - (R - 1) * CH)) (one chunk again)"
same_all && ok || bad "objects differ after journal damage"
"$MOSYNC" journal "$T/dst" | grep -q '^complete yes' && ok || bad "journal not complete"

# 4. a journal from another job is refused (exit 4) and left alone
interrupt
cp "$J" "$T/journal.before"
"$MOSYNC" seed --from "$T/other" --to "$T/dst" --chunk-size $CH >/dev/null 2>"$T/err4"
[ $? -eq 4 ] && ok || bad "foreign journal: exit not 4"
grep -q 'belongs to another unfinished job' "$T/err4" && ok || bad "foreign journal message"
cmp -s "$J" "$T/journal.before" && ok || bad "foreign journal was modified"
"$MOSYNC" seed --from "$T/src" --to "$T/dst" --chunk-size 131072 >/dev/null 2>"$T/err4"
[ $? -eq 4 ] && ok || bad "other chunk size: exit not 4"
# `resume` needs only the sink
"$MOSYNC" resume --to "$T/dst" >/dev/null 2>"$T/err5" && ok || bad "resume --to failed: $(cat "$T/err5")"
same_all && ok || bad "objects differ after resume --to"
# a journal header with a flipped bit cannot be attributed: refused, not discarded
interrupt
printf '\x01' | dd of="$J" bs=1 seek=20 conv=notrunc status=none
seed >/dev/null; [ $? -eq 4 ] && ok || bad "corrupt journal header: exit not 4"
grep -q 'fails its checksum' "$T/err" && ok || bad "corrupt header message"

# 5. ENOSPC in the middle: clear error, resumable, nothing published twice
rm -rf "$T/dst"
MO_FAULT="write:150:enospc" seed >/dev/null
rc=$?
[ $rc -eq 2 ] && ok || bad "ENOSPC: exit $rc, want 2"
grep -qi 'no space left' "$T/err" && ok || bad "ENOSPC message: $(cat "$T/err")"
seed >/dev/null || bad "resume after ENOSPC failed"
same_all && ok || bad "objects differ after ENOSPC"
"$MOSYNC" journal "$T/dst" > "$T/j"
grep -q '^published 3$' "$T/j" && ok || bad "published count: $(cat "$T/j")"
seed >/dev/null
[ "$(fetched)" -eq 0 ] && ok || bad "a finished job fetched again"
# 6. a fetched object that fails verification is not published
rm -rf "$T/dst" "$T/badsrc"; mkdir -p "$T/badsrc"; cp "$T/src/$first" "$T/badsrc/"
printf '\xff' | dd of="$T/badsrc/$first" bs=1 seek=64 conv=notrunc status=none
"$MOSYNC" seed --from "$T/badsrc" --to "$T/dst" >/dev/null 2>"$T/err6"
[ $? -eq 1 ] && ok || bad "corrupt source object: exit not 1"
[ ! -e "$T/dst/$first" ] && ok || bad "corrupt object was published"
grep -q 'not published' "$T/err6" && ok || bad "corrupt source message"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
