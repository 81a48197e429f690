#!/usr/bin/env bash
# Benchmark of issue #3: `mosync seed` (chunk XXH3, checkpoint journal, struct verification,
# fsync before publish) vs `cp -r` and `rsync -a --whole-file` of the same directory, same disk,
# page cache warm; the journal's overhead (with vs --no-journal); mosync's peak RSS for the set
# and for one big object; and the time to resume (first byte fetched) with a journal of 10,000
# objects.
#
# usage: tests/bench/seed_bench.sh              (from the repo root)
# env:   SEED_GB    total object bytes to generate, in GB (default 2; e.g. 0.2 for a quick run)
#        BENCH_DIR  scratch directory (default /tmp/mosync-seed-bench; deleted at the end unless KEEP=1)
#        BUILD      Release build directory holding tools/mosync (default build-sbench)
#        BUILD_FI   Release build with MO_FAULT_INJECTION, used only to kill the 10,000-object
#                   seed at its Nth rename (default build-sbench-fi)
#        REPS       repetitions per measurement (default 5); best and median are printed
#        RESUME_N   objects in the resume test (default 10000)
#        HUGE_ROWS  rows of the single big order_line object for the RSS line (default 8000000, ~514 MB)
#        KEEP=1     keep the generated data
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SEED_GB=${SEED_GB:-2}
BENCH_DIR=${BENCH_DIR:-/tmp/mosync-seed-bench}
BUILD=${BUILD:-$ROOT/build-sbench}
BUILD_FI=${BUILD_FI:-$ROOT/build-sbench-fi}
REPS=${REPS:-5}
RESUME_N=${RESUME_N:-10000}
HUGE_ROWS=${HUGE_ROWS:-8000000}
MOSYNC=$BUILD/tools/mosync
MOSYNC_FI=$BUILD_FI/tools/mosync
SRC=$BENCH_DIR/src
DST=$BENCH_DIR/dst
HUGE=$BENCH_DIR/huge
LOG=$BENCH_DIR/log
[ "$RESUME_N" -gt 20 ] || { echo "seed_bench: RESUME_N must be > 20" >&2; exit 2; }

for t in cp rsync awk sync find sort; do
    command -v $t >/dev/null || { echo "seed_bench: '$t' not found" >&2; exit 2; }
done

# ---- build ----
if [ ! -x "$MOSYNC" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMO_BUILD_TESTS=OFF >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" >/dev/null
fi
if [ ! -x "$MOSYNC_FI" ]; then # same Release flags, plus the mo_sys fault seam (MO_FAULT=...)
    cmake -S "$ROOT" -B "$BUILD_FI" -DCMAKE_BUILD_TYPE=Release -DMO_BUILD_TESTS=OFF \
        -DMO_FAULT_INJECTION=ON >/dev/null
    cmake --build "$BUILD_FI" -j"$(nproc)" --target mosync >/dev/null
fi
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR" "$LOG"

# ---- data: TPC-C-like tables, int64 PKs sorted, objects of ~33-133 MB (as verify_bench.sh) ----
# name | target object MB | schema | pk
TABLES=(
"orders|64|o_id:int64,o_d_id:int32,o_w_id:int32,o_c_id:int32,o_entry_d:timestamp,o_carrier_id:int32,o_ol_cnt:int16,o_all_local:int8|o_id"
"order_line|128|ol_id:int64,ol_o_id:int64,ol_d_id:int32,ol_w_id:int32,ol_number:int16,ol_i_id:int32,ol_supply_w_id:int32,ol_delivery_d:timestamp,ol_quantity:int32,ol_amount:decimal64(6,2),ol_dist_info:char(24)|ol_id"
"stock|96|s_id:int64,s_w_id:int32,s_quantity:int32,s_dist_01:char(24),s_dist_02:char(24),s_dist_03:char(24),s_dist_04:char(24),s_dist_05:char(24),s_ytd:decimal64(8,0),s_order_cnt:int32,s_remote_cnt:int32,s_data:varchar(50)|s_id"
"customer|48|c_id:int64,c_d_id:int32,c_w_id:int32,c_first:varchar(16),c_middle:char(2),c_last:varchar(16),c_street_1:varchar(20),c_city:varchar(20),c_state:char(2),c_zip:char(9),c_phone:char(16),c_since:timestamp,c_credit:char(2),c_credit_lim:decimal64(12,2),c_discount:decimal64(4,4),c_balance:decimal64(12,2),c_ytd_payment:decimal64(12,2),c_payment_cnt:int32,c_delivery_cnt:int32,c_data:text|c_id"
"history|32|h_id:int64,h_c_id:int32,h_c_d_id:int32,h_c_w_id:int32,h_d_id:int32,h_w_id:int32,h_date:datetime,h_amount:decimal64(6,2),h_data:varchar(24)|h_id"
)

total_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f\n", s}'; } # %d caps at 2^31-1 in mawk

gen_set() { # DIR TARGET_BYTES
    local dir=$1 target=$2 seed=1 have=0
    rm -rf "$dir"; mkdir -p "$dir"
    declare -A bpr
    for t in "${TABLES[@]}"; do # calibrate bytes per row
        IFS='|' read -r name mb schema pk <<<"$t"
        mkdir -p "$BENCH_DIR/cal"
        "$MOSYNC" mkobj --schema "$schema" --pk "$pk" --sorted --rows 40960 --seed 999 --out "$BENCH_DIR/cal" >/dev/null
        bpr[$name]=$(( $(total_bytes "$BENCH_DIR/cal") / 40960 + 1 ))
        rm -rf "$BENCH_DIR/cal"
    done
    while [ "$have" -lt "$target" ]; do
        for t in "${TABLES[@]}"; do
            IFS='|' read -r name mb schema pk <<<"$t"
            "$MOSYNC" mkobj --schema "$schema" --pk "$pk" --sorted \
                --rows $(( mb * 1048576 / ${bpr[$name]} )) --seed "$seed" --out "$dir" >/dev/null
            seed=$((seed + 1))
            have=$(total_bytes "$dir")
            [ "$have" -ge "$target" ] && break
        done
    done
}

TARGET=$(awk -v g="$SEED_GB" 'BEGIN {printf "%d", g * 1073741824}')
echo "== generating ~$SEED_GB GB of objects under $SRC"
gen_set "$SRC" "$TARGET"
echo "== generating one big order_line object ($HUGE_ROWS rows) under $HUGE (peak RSS only)"
mkdir -p "$HUGE"
IFS='|' read -r _ _ OL_SCHEMA OL_PK <<<"${TABLES[1]}"
"$MOSYNC" mkobj --schema "$OL_SCHEMA" --pk "$OL_PK" --sorted --rows "$HUGE_ROWS" --seed 4242 --out "$HUGE" >/dev/null
"$MOSYNC" verify --level struct -j 2 "$SRC" >/dev/null
NOBJ=$(find "$SRC" -type f | wc -l)
BYTES=$(total_bytes "$SRC")
MB=$(awk -v b="$BYTES" 'BEGIN {printf "%.1f", b / 1e6}')
maxobj() { find "$1" -type f -printf '%s\n' | sort -n | tail -n 1 | awk '{printf "%.1f", $1/1e6}'; }
echo "objects: $NOBJ, $BYTES bytes ($MB MB); sizes (MB):" \
    $(find "$SRC" -type f -printf '%s\n' | sort -n | awk '{printf "%.0f ", $1/1e6}')

# ---- timing helpers ----
secs() { awk -v s="$1" -v e="$2" 'BEGIN {printf "%.4f", e - s}'; }
stats() { # "best median" of the wall times in a space-separated list
    tr ' ' '\n' <<<"$1" | grep . | sort -g |
        awk '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
             printf "%.3f %.3f\n", v[1], m}'
}
mbps() { awk -v b="$BYTES" -v t="$1" 'BEGIN {printf "%.1f", b / 1e6 / t}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b / a}'; } # speed ratio = time2/time1
verdict_ge() { awk -v r="$1" -v t="$2" 'BEGIN {print (r >= t ? "MET" : "NOT MET")}'; }
verdict_le() { awk -v r="$1" -v t="$2" 'BEGIN {print (r <= t ? "MET" : "NOT MET")}'; }
json_field() { # FILE FIELD: the value of FIELD in the last summary line of FILE
    grep '"event":"summary"' "$1" | tail -n 1 | sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p" | tr -d '"'
}

RSYNC_FSYNC=0
RSYNC_HELP=$(rsync --help 2>&1 || true) # not piped into grep -q: SIGPIPE + pipefail
if grep -q -- '--fsync' <<<"$RSYNC_HELP"; then RSYNC_FSYNC=1; fi

# measurement key | command (DST is deleted and `sync` runs before each timed run)
MEAS=(
"cp|cp -r $SRC $DST"
"cp+sync|cp -r $SRC $DST && sync"
"rsync|rsync -a --whole-file $SRC/ $DST/"
)
[ "$RSYNC_FSYNC" = 1 ] && MEAS+=("rsync-fsync|rsync -a --whole-file --fsync $SRC/ $DST/")
MEAS+=(
"mosync-j1|$MOSYNC seed --from $SRC --to $DST --verify-level struct --progress=json"
"mosync-j2|$MOSYNC seed --from $SRC --to $DST --verify-level struct -j 2 --progress=json"
"nojournal-j1|$MOSYNC seed --from $SRC --to $DST --verify-level struct --no-journal --progress=json"
"nojournal-j2|$MOSYNC seed --from $SRC --to $DST --verify-level struct -j 2 --no-journal --progress=json"
"mosync-j1-256K|$MOSYNC seed --from $SRC --to $DST --verify-level struct --chunk-size 256K --progress=json"
"nojournal-j1-256K|$MOSYNC seed --from $SRC --to $DST --verify-level struct --chunk-size 256K --no-journal --progress=json"
)
# (the last two are diagnostics, not targets: the same work in 256 KiB chunks, whose buffer
# stays in the CPU caches between read, hash and write; 32x the journal's chunk records)
declare -A TIMES RSS FB RES
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# Warm the page cache: the source is read once, and again right before every timed run,
# because the machine runs DAMON proactive reclaim (kdamond, "pageout" of pages not accessed
# for ~60 s), which would otherwise evict parts of the source between repetitions.
# resident() records the share of the source in the page cache as each timer starts.
warm() { cat "$@" >/dev/null; }
resident() { fincore -b -n -o RES,SIZE "$@" 2>/dev/null |
    awk '{r+=$1; s+=$2} END {if (s) printf "%.1f", r * 100 / s; else print "?"}'; }
warm "$SRC"/* "$HUGE"/*
echo "load average before timing: $LOAD_BEFORE"
# the measurements take turns within each repetition, so that load from other users of the
# machine spreads over all of them rather than hitting one
for ((r = 1; r <= REPS; r++)); do
    for m in "${MEAS[@]}"; do
        key=${m%%|*}; cmd=${m#*|}
        rm -rf "$DST"; sync; warm "$SRC"/*
        RES[$key]="${RES[$key]:-} $(resident "$SRC"/*)"
        s=$EPOCHREALTIME
        bash -c "$cmd" >"$LOG/$key.$r.out" 2>"$LOG/$key.$r.err" ||
            { echo "FAILED: $cmd" >&2; cat "$LOG/$key.$r.err" >&2; exit 1; }
        e=$EPOCHREALTIME
        TIMES[$key]="${TIMES[$key]:-} $(secs "$s" "$e")"
        if [[ $key == mosync-* || $key == nojournal-* ]]; then
            RSS[$key]="${RSS[$key]:-} $(json_field "$LOG/$key.$r.err" peak_rss_kb)"
            FB[$key]="${FB[$key]:-} $(json_field "$LOG/$key.$r.err" first_byte_seconds)"
            [ "$(json_field "$LOG/$key.$r.err" status)" = ok ] || { echo "FAILED: $cmd" >&2; exit 1; }
        fi
        printf '  rep %d %-14s %8s s  (source %s%% resident at start)\n' "$r" "$key" "${TIMES[$key]##* }" "${RES[$key]##* }"
    done
done
# the last copy (mosync --no-journal -j 2) must equal the source byte for byte
diff -rq -x .mosync "$SRC" "$DST" >/dev/null || { echo "seed_bench: $DST differs from $SRC" >&2; exit 1; }
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

declare -A BEST MED
for m in "${MEAS[@]}"; do
    key=${m%%|*}
    read -r BEST[$key] MED[$key] <<<"$(stats "${TIMES[$key]}")"
done

# ---- resume of the big set: killed at its last publish, so all but one object are done ----
# (the first byte of a resume waits for every published object to be re-read and re-hashed
# against its DONE record, so this is O(published bytes), unlike the 10,000-object case below)
B_FB="" B_WALL="" B_KILL=$((NOBJ - 1))
for ((r = 1; r <= REPS; r++)); do
    rm -rf "$DST"; sync; warm "$SRC"/*
    set +e
    MO_FAULT="rename:$B_KILL:exit" "$MOSYNC_FI" seed --from "$SRC" --to "$DST" --verify-level struct \
        >/dev/null 2>"$LOG/bigkill.$r.err"
    krc=$?
    set -e
    [ "$krc" = 77 ] || { echo "seed_bench: the killed big seed exited $krc, not 77" >&2; exit 1; }
    sync; warm "$SRC"/*
    s=$EPOCHREALTIME
    "$MOSYNC" resume --to "$DST" --verify-level struct --progress=json >/dev/null 2>"$LOG/bigresume.$r.err"
    e=$EPOCHREALTIME
    [ "$(json_field "$LOG/bigresume.$r.err" status)" = ok ] || { echo "seed_bench: big resume failed" >&2; exit 1; }
    B_WALL="$B_WALL $(secs "$s" "$e")"
    B_FB="$B_FB $(json_field "$LOG/bigresume.$r.err" first_byte_seconds)"
done
diff -rq -x .mosync "$SRC" "$DST" >/dev/null || { echo "seed_bench: resumed $DST differs from $SRC" >&2; exit 1; }
B_SUM=$(grep '"event":"summary"' "$LOG/bigresume.$REPS.err")
read -r BFB_BEST BFB_MED <<<"$(stats "$B_FB")"
read -r BW_BEST BW_MED <<<"$(stats "$B_WALL")"

# ---- peak RSS for one big object ----
rm -rf "$DST"; sync; warm "$HUGE"/*
"$MOSYNC" seed --from "$HUGE" --to "$DST" --verify-level struct --progress=json 2>"$LOG/huge-j1.err" >/dev/null
HUGE_RSS1=$(json_field "$LOG/huge-j1.err" peak_rss_kb)
rm -rf "$DST"; sync; warm "$HUGE"/*
"$MOSYNC" seed --from "$HUGE" --to "$DST" --verify-level struct -j 2 --progress=json 2>"$LOG/huge-j2.err" >/dev/null
HUGE_RSS2=$(json_field "$LOG/huge-j2.err" peak_rss_kb)
rm -rf "$DST"; sync
maxrss() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -n 1; }

# ---- resume latency with a journal of RESUME_N objects ----
# Small objects (100 rows, a few KB) of the five schemas with 50 different seeds, copied
# round-robin under RESUME_N unique UUIDv7-style object names. The dir source only checks the
# file name, and struct/deep verification compare the name with the content only when the
# source supplies ObjectStats (bundles do, directories do not), so the copies verify clean.
RSRC=$BENCH_DIR/rsrc
RDST=$BENCH_DIR/rdst
RKILLED=$BENCH_DIR/rdst.killed
POOL=$BENCH_DIR/pool
echo "== generating $RESUME_N small objects under $RSRC"
mkdir -p "$POOL" "$RSRC"
for ((i = 0; i < 50; i++)); do
    IFS='|' read -r _ _ schema pk <<<"${TABLES[i % 5]}"
    "$MOSYNC" mkobj --schema "$schema" --pk "$pk" --sorted --rows 100 --seed $((1000 + i)) --out "$POOL" >/dev/null
done
mapfile -t PF < <(find "$POOL" -type f | sort)
for ((i = 0; i < RESUME_N; i++)); do
    printf -v nm '01a1fe80-%04x-7%03x-8%03x-%012x_00000' $((i >> 24 & 0xffff)) $((i >> 12 & 0xfff)) $((i & 0xfff)) "$i"
    cp "${PF[i % ${#PF[@]}]}" "$RSRC/$nm"
done
RBYTES=$(total_bytes "$RSRC")
KILL_AT=$((RESUME_N - 10))
echo "== seeding them with MO_FAULT=rename:$KILL_AT:exit (the process _exits at the ${KILL_AT}th publish)"
sync; warm "$RSRC"/*
s=$EPOCHREALTIME
set +e
MO_FAULT="rename:$KILL_AT:exit" "$MOSYNC_FI" seed --from "$RSRC" --to "$RDST" --verify-level struct \
    --progress=json >/dev/null 2>"$LOG/resume-kill.err"
KRC=$?
set -e
e=$EPOCHREALTIME
T_KILLED=$(secs "$s" "$e")
[ "$KRC" = 77 ] || { echo "seed_bench: the killed seed exited $KRC, not 77" >&2; exit 1; }
"$MOSYNC" journal "$RDST" >"$LOG/journal.txt"
J_PUB=$(awk '$1 == "published" {print $2}' "$LOG/journal.txt")
J_OBJ=$(awk '$1 == "objects" {print $2}' "$LOG/journal.txt")
J_CH=$(awk '$1 == "chunk_records" {print $2}' "$LOG/journal.txt")
J_SIZE=$(find "$RDST/.mosync" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
mv "$RDST" "$RKILLED"
R_TIMES="" R_FB="" R_INT=""
for ((r = 1; r <= REPS; r++)); do
    rm -rf "$RDST"; cp -a "$RKILLED" "$RDST"; sync; warm "$RSRC"/*
    s=$EPOCHREALTIME
    "$MOSYNC" resume --to "$RDST" --verify-level struct --progress=json >/dev/null 2>"$LOG/resume.$r.err"
    e=$EPOCHREALTIME
    [ "$(json_field "$LOG/resume.$r.err" status)" = ok ] || { echo "seed_bench: resume failed" >&2; exit 1; }
    R_TIMES="$R_TIMES $(secs "$s" "$e")"
    R_FB="$R_FB $(json_field "$LOG/resume.$r.err" first_byte_seconds)"
    R_INT="$R_INT $(json_field "$LOG/resume.$r.err" seconds)"
done
diff -rq -x .mosync "$RSRC" "$RDST" >/dev/null || { echo "seed_bench: $RDST differs from $RSRC" >&2; exit 1; }
"$MOSYNC" journal "$RDST" | grep -q '^complete yes' || { echo "seed_bench: journal not complete" >&2; exit 1; }
R_SUM=$(grep '"event":"summary"' "$LOG/resume.$REPS.err")
read -r R_BEST R_MED <<<"$(stats "$R_TIMES")"
read -r RFB_BEST RFB_MED <<<"$(stats "$R_FB")"
read -r RINT_BEST RINT_MED <<<"$(stats "$R_INT")"

# ---- report ----
echo
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:  $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- transfer objfmt tools 2>/dev/null || echo ' + uncommitted changes')"
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(awk '/MemTotal/ {printf "%.0f GB RAM", $2/1048576}' /proc/meminfo)," \
    "$(df -h "$BENCH_DIR" | awk 'NR == 2 {print $1 " (" $2 ")"}'), $(rsync --version | head -n 1 | awk '{print "rsync", $3}'), $(cp --version | head -n 1)"
echo "data:    $NOBJ objects, $MB MB (largest $(maxobj "$SRC") MB), same disk, page cache warm;" \
    "$REPS reps each, DST deleted + sync before each timer"
echo "load average before timing: $LOAD_BEFORE, after: $LOAD_AFTER"
echo
printf '%-52s %9s %9s %9s %9s\n' "measurement" "best s" "median s" "best MB/s" "med MB/s"
for m in "${MEAS[@]}"; do
    key=${m%%|*}; cmd=${m#*|}
    label=${cmd//$SRC/SRC}; label=${label//$DST/DST}; label=${label//$MOSYNC/mosync}; label=${label// --progress=json/}
    label=${label/mosync seed --from SRC --to DST/mosync seed}
    printf '%-52s %9s %9s %9s %9s\n' "$label" "${BEST[$key]}" "${MED[$key]}" "$(mbps "${BEST[$key]}")" "$(mbps "${MED[$key]}")"
done
echo "  (wall times, and % of the source resident in the page cache as each timer started:"
for m in "${MEAS[@]}"; do key=${m%%|*}; echo "   $key:${TIMES[$key]}   (${RES[$key]# } %)"; done; echo "  )"
echo
ovh() { awk -v j="$1" -v n="$2" 'BEGIN {printf "%.1f", (j - n) / n * 100}'; }
R1=$(ratio "${BEST[mosync-j1]}" "${BEST[rsync]}"); R2=$(ratio "${BEST[mosync-j2]}" "${BEST[rsync]}")
M1=$(ratio "${MED[mosync-j1]}" "${MED[rsync]}"); M2=$(ratio "${MED[mosync-j2]}" "${MED[rsync]}")
echo "speed ratio (best / median times)"
echo "mosync -j1 256K / rsync      = $(ratio "${BEST[mosync-j1-256K]}" "${BEST[rsync]}") / $(ratio "${MED[mosync-j1-256K]}" "${MED[rsync]}")  (diagnostic: --chunk-size 256K)"
echo "mosync -j1 / rsync           = $R1 / $M1  (target >= 0.9: $(verdict_ge "$R1" 0.9) / $(verdict_ge "$M1" 0.9))"
echo "mosync -j2 / rsync           = $R2 / $M2  (target >= 0.9: $(verdict_ge "$R2" 0.9) / $(verdict_ge "$M2" 0.9))"
if [ "$RSYNC_FSYNC" = 1 ]; then
    echo "mosync -j1 / rsync --fsync   = $(ratio "${BEST[mosync-j1]}" "${BEST[rsync-fsync]}") / $(ratio "${MED[mosync-j1]}" "${MED[rsync-fsync]}")  (apples to apples: both fsync every file)"
    echo "mosync -j2 / rsync --fsync   = $(ratio "${BEST[mosync-j2]}" "${BEST[rsync-fsync]}") / $(ratio "${MED[mosync-j2]}" "${MED[rsync-fsync]}")"
else
    echo "(this rsync has no --fsync)"
fi
echo "mosync -j1 / cp -r           = $(ratio "${BEST[mosync-j1]}" "${BEST[cp]}") / $(ratio "${MED[mosync-j1]}" "${MED[cp]}")"
echo "mosync -j2 / cp -r           = $(ratio "${BEST[mosync-j2]}" "${BEST[cp]}") / $(ratio "${MED[mosync-j2]}" "${MED[cp]}")"
echo "mosync -j1 / (cp -r; sync)   = $(ratio "${BEST[mosync-j1]}" "${BEST[cp+sync]}") / $(ratio "${MED[mosync-j1]}" "${MED[cp+sync]}")"
O1=$(ovh "${BEST[mosync-j1]}" "${BEST[nojournal-j1]}"); O2=$(ovh "${BEST[mosync-j2]}" "${BEST[nojournal-j2]}")
P1=$(ovh "${MED[mosync-j1]}" "${MED[nojournal-j1]}"); P2=$(ovh "${MED[mosync-j2]}" "${MED[nojournal-j2]}")
echo "journal overhead -j1         = $O1% / $P1%  (target <= 5%: $(verdict_le "$O1" 5) / $(verdict_le "$P1" 5))"
echo "journal overhead -j2         = $O2% / $P2%  (target <= 5%: $(verdict_le "$O2" 5) / $(verdict_le "$P2" 5))"
echo "journal overhead -j1 256K    = $(ovh "${BEST[mosync-j1-256K]}" "${BEST[nojournal-j1-256K]}")% / $(ovh "${MED[mosync-j1-256K]}" "${MED[nojournal-j1-256K]}")%  (diagnostic: --chunk-size 256K)"
echo
echo "first byte (s, per rep): mosync -j1:${FB[mosync-j1]}; -j2:${FB[mosync-j2]}"
echo "peak RSS of mosync seed (KiB, max over reps, getrusage ru_maxrss from the JSON summary)"
printf '%-28s %24s %24s\n' "" "set (largest $(maxobj "$SRC") MB)" "1 object of $(maxobj "$HUGE") MB"
printf '%-28s %24s %24s\n' "struct, journal, -j 1" "$(maxrss "${RSS[mosync-j1]}")" "$HUGE_RSS1"
printf '%-28s %24s %24s\n' "struct, journal, -j 2" "$(maxrss "${RSS[mosync-j2]}")" "$HUGE_RSS2"
printf '%-28s %24s %24s\n' "struct, --no-journal, -j 1" "$(maxrss "${RSS[nojournal-j1]}")" "-"
printf '%-28s %24s %24s\n' "struct, --no-journal, -j 2" "$(maxrss "${RSS[nojournal-j2]}")" "-"
printf '%-28s %24s %24s\n' "struct, journal, -j 1, 256K" "$(maxrss "${RSS[mosync-j1-256K]}")" "-"
echo
echo "resume: $RESUME_N objects ($(awk -v b="$RBYTES" 'BEGIN {printf "%.1f", b / 1e6}') MB), seed killed at publish #$KILL_AT after $T_KILLED s;"
echo "        journal: $J_OBJ objects, $J_PUB published, $J_CH chunk records, $J_SIZE bytes on disk"
echo "resume first byte (s)   best $RFB_BEST, median $RFB_MED   (per rep:$R_FB)"
echo "resume internal (s)     best $RINT_BEST, median $RINT_MED   (per rep:$R_INT)"
echo "resume wall (s)         best $R_BEST, median $R_MED   (per rep:$R_TIMES)"
echo "last resume summary: $R_SUM"
echo
echo "resume of the $MB MB set killed at publish #$B_KILL ($((B_KILL - 1)) of $NOBJ objects published, 1 complete .part):"
echo "resume first byte (s)   best $BFB_BEST, median $BFB_MED   (per rep:$B_FB)"
echo "resume wall (s)         best $BW_BEST, median $BW_MED   (per rep:$B_WALL)"
echo "last big resume summary: $B_SUM"

if [ "${KEEP:-0}" != 1 ]; then rm -rf "$BENCH_DIR"; fi
