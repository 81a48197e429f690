# Shared by the sync tests (sourced): pass/fail counters and the checksum comparison.
# Needs MOSYNC and T set by the caller.
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }

# compare UP DOWN SUB WHAT: every table task of SUB, the downstream's live rows vs the
# upstream's at the watermark (`mosync checksum --indexes`: the table and each of its hidden
# index tables); sets NTABLES to the number compared
compare() {
    local up=$1 down=$2 sub=$3 what=$4 wm t a b
    NTABLES=0
    "$MOSYNC" sql -C "$down" --json "SHOW SUBSCRIPTION TASKS $sub" > "$T/tasks" 2>&1 || { bad "$what: show tasks"; return; }
    wm=$(grep -o '"watermark":"[^"]*"' "$T/tasks" | head -1 | cut -d'"' -f4)
    for t in $(grep -o '"database":"[^"]*","table":"[^"]*"' "$T/tasks" | sed 's/"database":"\([^"]*\)","table":"\([^"]*\)"/\1.\2/' | grep -v '\.$'); do
        # index lines name the hidden table, which differs on each side: compared by index
        a=$("$MOSYNC" checksum -C "$down" "$t" --indexes 2>&1 | sed -E 's/^  index ([^ ]*) [^ ]* /  index \1 /' | cut -d' ' -f2-)
        b=$("$MOSYNC" checksum -C "$up" "$t" --at "$wm" --indexes 2>&1 | sed -E 's/^  index ([^ ]*) [^ ]* /  index \1 /' | cut -d' ' -f2-)
        NTABLES=$((NTABLES+1))
        if [ "$a" == "$b" ]; then ok; else bad "$what: $t: down '$a' up '$b' at $wm"; fi
    done
    [ "$NTABLES" -gt 0 ] && ok || bad "$what: no table compared"
}
