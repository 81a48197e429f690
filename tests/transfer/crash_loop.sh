#!/usr/bin/env bash
# Crash loop (issue #3): seed >= 50 multi-MB objects with small chunks, killing the copier
# with _exit at the Nth write/fsync/rename/open (MO_FAULT) at >= 200 different points and
# resuming each time. At the end: every object byte-identical (XXH3-128) to the source, no
# .part/temp files, the journal complete, and the payload re-read from the source after
# all kills <= kills x chunk size (counted across killed runs by MO_TEST_READ_COUNTER).
set -u
MOSYNC=${1:?usage: crash_loop.sh path/to/mosync}
KILLS=${CRASH_KILLS:-200}
OBJECTS=${CRASH_OBJECTS:-50}
CHUNK=${CRASH_CHUNK:-32768}
T=${MO_TMP:-/tmp}/crash.$$
rm -rf "$T"; mkdir -p "$T/src"
trap 'rm -rf "$T"' EXIT
for i in $(seq 1 "$OBJECTS"); do
    "$MOSYNC" mkobj --schema 'id:int64,name:varchar(40),amount:decimal64(12,2),at:timestamp,note:text' \
        --rows 40000 --seed "$i" --pk id --sorted --out "$T/src" >/dev/null || { echo "mkobj failed"; exit 1; }
done
total=$(du -cb "$T"/src/* | tail -1 | cut -f1)
echo "source: $OBJECTS objects, $total bytes, chunk $CHUNK"
COUNTER="$T/read-counter"
: > "$COUNTER"
ops=(write write write fsync rename open)
seed=12345
rnd() { seed=$(( (seed * 1103515245 + 12345) % 2147483648 )); R=$(( (seed >> 8) % $1 )); }
kills=0; runs=0; declare -A seen; distinct=0
while [ "$distinct" -lt "$KILLS" ]; do
    rnd ${#ops[@]}; op=${ops[$R]}
    case $op in rename) R=0;; open) rnd 3;; fsync) rnd 3;; *) rnd 60;; esac
    n=$(( 1 + R ))
    jsize=$(stat -c %s "$T/dst/.mosync/ckpt/journal" 2>/dev/null || echo 0)
    MO_FAULT="$op:$n:exit" MO_TEST_READ_COUNTER="$COUNTER" \
        "$MOSYNC" seed --from "$T/src" --to "$T/dst" --chunk-size "$CHUNK" -j 1 --verify-level deep >/dev/null 2>"$T/err"
    rc=$?
    runs=$((runs+1))
    if [ "$rc" -eq 77 ]; then
        kills=$((kills+1))
        [ -z "${seen[$op:$n@$jsize]:-}" ] && { seen[$op:$n@$jsize]=1; distinct=$((distinct+1)); }
    elif [ "$rc" -eq 0 ]; then
        echo "job finished after $kills kills; not enough work for $KILLS kills"; exit 1
    else
        echo "run $runs ($op:$n) failed with exit $rc:"; cat "$T/err"; exit 1
    fi
done
MO_TEST_READ_COUNTER="$COUNTER" "$MOSYNC" seed --from "$T/src" --to "$T/dst" --chunk-size "$CHUNK" >"$T/final" 2>&1 \
    || { echo "final run failed"; cat "$T/final"; exit 1; }
cat "$T/final"
fail=0
for f in "$T"/src/*; do
    cmp -s "$f" "$T/dst/$(basename "$f")" || { echo "MISMATCH $(basename "$f")"; fail=1; }
done
left=$(find "$T/dst" -name '*.part*' -o -name '*.tmp' | wc -l)
[ "$left" -eq 0 ] || { echo "leftover temp files:"; find "$T/dst" -name '*.part*' -o -name '*.tmp'; fail=1; }
"$MOSYNC" journal "$T/dst" > "$T/j"
grep -q '^complete yes' "$T/j" && grep -q "^published $OBJECTS\$" "$T/j" || { echo "journal not complete:"; cat "$T/j"; fail=1; }
read_total=$(od -An -tu8 "$COUNTER" | tr -d ' ')
reread=$(( read_total - total ))
bound=$(( kills * CHUNK ))
echo "kills=$kills (distinct points $distinct) runs=$runs source bytes read=$read_total re-read=$reread bound(kills x chunk)=$bound"
[ "$reread" -le "$bound" ] || { echo "re-read payload exceeds the bound"; fail=1; }
[ "$distinct" -ge "$KILLS" ] || { echo "too few distinct kill points"; fail=1; }
if [ "$fail" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
