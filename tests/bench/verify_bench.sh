#!/usr/bin/env bash
# Benchmark of issue #2: `mosync verify --level deep` vs `lz4 -t` over the same LZ4 blocks,
# and `mosync verify --level struct` vs `xxhsum -H3` over the same object files.
#
# usage: tests/bench/verify_bench.sh            (from the repo root)
# env:   BENCH_GB   total object bytes to generate, in GB (default 1; e.g. 0.1 for a quick run)
#        BENCH_DIR  scratch directory (default /tmp/mosync-bench; deleted at the end unless KEEP=1)
#        BUILD      build directory holding tools/mosync and objfmt/lib*.a (default build-bench)
#        REPS       rounds; each round runs every measurement once, in turn (interleaved, so a
#                   burst of load from elsewhere hits all tools alike); best and median kept
#                   (default 3)
#        KEEP=1     keep the generated data
#        REUSE=1    reuse the data under BENCH_DIR when a previous KEEP=1 run left it there
#
# Fairness of `lz4 -t` as the reference: mo_lz4pack copies, without recompressing, exactly
# the LZ4 blocks deep verify decompresses (every column chunk, ZM area and meta; the BF areas
# are raw in both) into one LZ4 frame with independent blocks and no block or content
# checksum, so lz4 decodes the same bytes in the same block sizes and checks nothing else.
# Both read from the warm page cache through read/pread copies, single-threaded. The row
# "LZ4 decode floor" is `mo_lz4pack --floor`: the same blocks read with pread in the
# verifier's order and decoded with LZ4_decompress_safe into one reused buffer, i.e. what
# deep -j 1 costs before it checks anything.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_GB=${BENCH_GB:-1}
BENCH_DIR=${BENCH_DIR:-/tmp/mosync-bench}
BUILD=${BUILD:-$ROOT/build-bench}
REPS=${REPS:-3}
MOSYNC=$BUILD/tools/mosync
DATA=$BENCH_DIR/objects
SMALL=$BENCH_DIR/small
PACK=$BENCH_DIR/chunks.lz4
LZ4PACK=$BENCH_DIR/mo_lz4pack

for t in lz4 xxhsum gcc pkg-config awk; do
    command -v $t >/dev/null || { echo "verify_bench: '$t' not found" >&2; exit 2; }
done

# ---- build ----
if [ ! -x "$MOSYNC" ] || [ ! -f "$BUILD/objfmt/libmo_objfmt.a" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMO_BUILD_TESTS=OFF >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" >/dev/null
fi
mkdir -p "$BENCH_DIR"
gcc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra \
    -I"$ROOT/objfmt/include" "$ROOT/tests/bench/lz4pack.c" \
    "$BUILD/objfmt/libmo_objfmt.a" "$BUILD/objfmt/libmo_base.a" \
    $(pkg-config --libs liblz4 libxxhash) -lm -o "$LZ4PACK"

# ---- data: TPC-C-like tables, int64 PKs sorted, objects of ~32-128 MB ----
# name | target object MB | schema | pk
TABLES=(
"orders|64|o_id:int64,o_d_id:int32,o_w_id:int32,o_c_id:int32,o_entry_d:timestamp,o_carrier_id:int32,o_ol_cnt:int16,o_all_local:int8|o_id"
"order_line|128|ol_id:int64,ol_o_id:int64,ol_d_id:int32,ol_w_id:int32,ol_number:int16,ol_i_id:int32,ol_supply_w_id:int32,ol_delivery_d:timestamp,ol_quantity:int32,ol_amount:decimal64(6,2),ol_dist_info:char(24)|ol_id"
"stock|96|s_id:int64,s_w_id:int32,s_quantity:int32,s_dist_01:char(24),s_dist_02:char(24),s_dist_03:char(24),s_dist_04:char(24),s_dist_05:char(24),s_ytd:decimal64(8,0),s_order_cnt:int32,s_remote_cnt:int32,s_data:varchar(50)|s_id"
"customer|48|c_id:int64,c_d_id:int32,c_w_id:int32,c_first:varchar(16),c_middle:char(2),c_last:varchar(16),c_street_1:varchar(20),c_city:varchar(20),c_state:char(2),c_zip:char(9),c_phone:char(16),c_since:timestamp,c_credit:char(2),c_credit_lim:decimal64(12,2),c_discount:decimal64(4,4),c_balance:decimal64(12,2),c_ytd_payment:decimal64(12,2),c_payment_cnt:int32,c_delivery_cnt:int32,c_data:text|c_id"
"history|32|h_id:int64,h_c_id:int32,h_c_d_id:int32,h_c_w_id:int32,h_d_id:int32,h_w_id:int32,h_date:datetime,h_amount:decimal64(6,2),h_data:varchar(24)|h_id"
)

total_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%d\n", s}'; }

gen_set() { # DIR TARGET_BYTES SCALE(object-size divisor)
    local dir=$1 target=$2 scale=$3 seed=1 have=0
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
            local rows=$(( mb * 1048576 / scale / ${bpr[$name]} ))
            "$MOSYNC" mkobj --schema "$schema" --pk "$pk" --sorted --rows "$rows" --seed "$seed" \
                --out "$dir" >/dev/null
            seed=$((seed + 1))
            have=$(total_bytes "$dir")
            [ "$have" -ge "$target" ] && break
        done
    done
}

TARGET=$(awk -v g="$BENCH_GB" 'BEGIN {printf "%d", g * 1073741824}')
HUGE=$BENCH_DIR/huge
if [ "${REUSE:-0}" = 1 ] && [ -d "$DATA" ] && [ -d "$SMALL" ] && [ -d "$HUGE" ]; then
    echo "== reusing the objects under $BENCH_DIR"
else
    echo "== generating ~$BENCH_GB GB of objects under $DATA"
    gen_set "$DATA" "$TARGET" 1
    echo "== generating a small set (objects 1/32 the size) under $SMALL"
    gen_set "$SMALL" $((TARGET / 16 > 134217728 ? 134217728 : TARGET / 16)) 32
    echo "== generating one ~256 MB order_line object under $HUGE (peak RSS only)"
    rm -rf "$HUGE"; mkdir -p "$HUGE"
    IFS='|' read -r _ _ OL_SCHEMA OL_PK <<<"${TABLES[1]}"
    "$MOSYNC" mkobj --schema "$OL_SCHEMA" --pk "$OL_PK" --sorted --rows 4000000 --seed 4242 --out "$HUGE" >/dev/null
fi
NOBJ=$(find "$DATA" -type f | wc -l)
BYTES=$(total_bytes "$DATA")
MB=$(awk -v b="$BYTES" 'BEGIN {printf "%.1f", b / 1e6}')
echo "objects: $NOBJ, $BYTES bytes ($MB MB); sizes (MB):" \
    $(find "$DATA" -type f -printf '%s\n' | sort -n | awk '{printf "%.0f ", $1/1e6}')

echo "== repacking the LZ4 extents into $PACK"
"$LZ4PACK" -o "$PACK" "$DATA"
lz4 -t "$PACK" >/dev/null 2>&1 || { echo "lz4 -t rejects $PACK" >&2; exit 1; }
echo "lz4 -t $PACK: ok"

# ---- timing ----
# warm the page cache
cat "$DATA"/* "$PACK" >/dev/null
wall() { # wall seconds of one run of "$@" (stdout/stderr discarded)
    local s e
    s=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; exit 1; }
    e=$EPOCHREALTIME
    awk -v s="$s" -v e="$e" 'BEGIN {printf "%.4f", e - s}'
}
stat_of() { # best|median of the space-separated seconds in $2
    tr ' ' '\n' <<<"$2" | awk 'NF' | sort -g | awk -v w="$1" '{v[NR] = $1}
        END {if (w == "best") printf "%.4f", v[1];
             else if (NR % 2) printf "%.4f", v[(NR + 1) / 2];
             else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
mbps() { awk -v b="$BYTES" -v t="$1" 'BEGIN {printf "%.1f", b / 1e6 / t}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b / a}'; } # speed ratio = time2/time1
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r >= t ? "MET" : "NOT MET")}'; }

# every object must verify clean before timing
"$MOSYNC" verify --level deep -j 2 "$DATA" >/dev/null

echo "load average before timing: $(cut -d' ' -f1-3 /proc/loadavg)"
NAMES=(D1 D2 LZ FL S1 S2 XX)
declare -A RUNS
for ((round = 0; round < REPS; round++)); do
    RUNS[D1]+=" $(wall "$MOSYNC" verify --level deep -j 1 "$DATA")"
    RUNS[LZ]+=" $(wall lz4 -t "$PACK")"
    RUNS[D2]+=" $(wall "$MOSYNC" verify --level deep -j 2 "$DATA")"
    RUNS[FL]+=" $(wall "$LZ4PACK" --floor "$DATA")"
    RUNS[S1]+=" $(wall "$MOSYNC" verify --level struct -j 1 "$DATA")"
    RUNS[S2]+=" $(wall "$MOSYNC" verify --level struct -j 2 "$DATA")"
    RUNS[XX]+=" $(wall xxhsum -H3 "$DATA"/*)"
done
declare -A MED
for n in "${NAMES[@]}"; do
    printf -v "T_$n" '%s' "$(stat_of best "${RUNS[$n]}")"
    MED[$n]=$(stat_of median "${RUNS[$n]}")
done
R_D1=$(ratio "$T_D1" "$T_LZ"); R_D2=$(ratio "$T_D2" "$T_LZ")
R_S1=$(ratio "$T_S1" "$T_XX"); R_S2=$(ratio "$T_S2" "$T_XX")
R_FL=$(ratio "$T_FL" "$T_LZ")
M_D1=$(ratio "${MED[D1]}" "${MED[LZ]}"); M_D2=$(ratio "${MED[D2]}" "${MED[LZ]}")

# ---- peak RSS ----
rss() { # peak RSS in KiB of "$@"
    if /usr/bin/time -f %M true >/dev/null 2>&1; then
        /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1
    else # poll VmHWM
        "$@" >/dev/null 2>&1 & local p=$! h=0 v
        while kill -0 $p 2>/dev/null; do
            v=$(awk '/VmHWM/ {print $2}' /proc/$p/status 2>/dev/null || true)
            [ -n "$v" ] && h=$v
            sleep 0.01
        done
        wait $p || true
        echo "$h"
    fi
}
maxobj() { find "$1" -type f -printf '%s\n' | sort -n | tail -n 1 | awk '{printf "%.1f", $1/1e6}'; }

echo
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(lz4 --version 2>&1 | head -n 1), $(xxhsum --version 2>&1 | head -n 1)"
echo "data:    $NOBJ objects, $MB MB (largest $(maxobj "$DATA") MB), $REPS interleaved rounds, warm cache"
echo
printf '%-40s %9s %9s %10s\n' "measurement" "best s" "median s" "MB/s best"
row() { printf '%-40s %9s %9s %10s\n' "$1" "$2" "$3" "$(mbps "$2")"; }
row "mosync verify --level deep -j 1" "$T_D1" "${MED[D1]}"
row "mosync verify --level deep -j 2" "$T_D2" "${MED[D2]}"
row "lz4 -t (repacked chunks)" "$T_LZ" "${MED[LZ]}"
row "LZ4 decode floor (mo_lz4pack --floor)" "$T_FL" "${MED[FL]}"
row "mosync verify --level struct -j 1" "$T_S1" "${MED[S1]}"
row "mosync verify --level struct -j 2" "$T_S2" "${MED[S2]}"
row "xxhsum -H3" "$T_XX" "${MED[XX]}"
echo
echo "ratio deep -j1 / lz4 -t     = $R_D1 best, $M_D1 median  (target >= 1.0: $(verdict "$R_D1" 1.0))"
echo "ratio deep -j2 / lz4 -t     = $R_D2 best, $M_D2 median  (target >= 1.7: $(verdict "$R_D2" 1.7))"
echo "ratio floor / lz4 -t        = $R_FL  (the most deep -j1 could reach if checking cost nothing)"
echo "ratio struct -j1 / xxhsum   = $R_S1  (target >= 0.8: $(verdict "$R_S1" 0.8))"
echo "ratio struct -j2 / xxhsum   = $R_S2  (informative)"
echo
echo "peak RSS (KiB) of mosync verify"
printf '%-24s %22s %22s %22s\n' "" "small set (max $(maxobj "$SMALL") MB)" "large set (max $(maxobj "$DATA") MB)" "1 object of $(maxobj "$HUGE") MB"
for args in "deep -j 1" "deep -j 2" "struct -j 1"; do
    set -- $args
    printf '%-24s %22s %22s %22s\n' "--level $args" \
        "$(rss "$MOSYNC" verify --level "$1" "$2" "$3" "$SMALL")" \
        "$(rss "$MOSYNC" verify --level "$1" "$2" "$3" "$DATA")" \
        "$(rss "$MOSYNC" verify --level "$1" "$2" "$3" "$HUGE")"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${KEEP:-0}" != 1 ]; then rm -rf "$BENCH_DIR"; fi
