#!/usr/bin/env bash
# Benchmark of issue #5: pull a table of >= 2 GB from `moupstream` over 127.0.0.1 into an empty
# directory (`mosync seed --from mysql://...`), side by side with `rsync` in daemon mode over
# 127.0.0.1 pulling the same files (`rsync -a --whole-file rsync://127.0.0.1:P/objs/ DST/`).
# Target: mosync >= 0.8x rsync's throughput. Peak RSS of mosync (/usr/bin/time -f %M) with
# 100 MiB chunks (MO's default) and 8 MiB chunks: it must follow chunk size x objects in
# flight, not the object size (a single big object is pulled too); moupstream's own peak RSS
# (VmHWM) is reported as well.
#
# usage: tests/bench/pull_bench.sh              (from the repo root)
# env:   PULL_GB    total object bytes to generate, in GB (default 2; e.g. 0.2 for a quick run)
#        BENCH_DIR  scratch directory (default /tmp/mosync-pull-bench; deleted at the end unless KEEP=1)
#        BUILD      Release build directory holding tools/mosync and tools/moupstream (default build-pbench)
#        REPS       repetitions per measurement (default 3); best and median are printed
#        HUGE_ROWS  rows of the single big order_line object for the RSS lines (default 8000000,
#                   ~514 MB; 0 skips it)
#        KEEP=1     keep the generated data
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PULL_GB=${PULL_GB:-2}
BENCH_DIR=${BENCH_DIR:-/tmp/mosync-pull-bench}
BUILD=${BUILD:-$ROOT/build-pbench}
REPS=${REPS:-3}
HUGE_ROWS=${HUGE_ROWS:-8000000}
MOSYNC=$BUILD/tools/mosync
MOUP=$BUILD/tools/moupstream
SRC=$BENCH_DIR/src
HUGE=$BENCH_DIR/huge
DST=$BENCH_DIR/dst
LOG=$BENCH_DIR/log
TIME=/usr/bin/time

for t in rsync awk sync find sort fincore; do
    command -v $t >/dev/null || { echo "pull_bench: '$t' not found" >&2; exit 2; }
done
[ -x "$TIME" ] && "$TIME" -f %M true >/dev/null 2>&1 || { echo "pull_bench: $TIME (package time) missing" >&2; exit 2; }

# ---- build ----
if [ ! -x "$MOSYNC" ] || [ ! -x "$MOUP" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMO_BUILD_TESTS=OFF >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" >/dev/null
fi

# ---- processes: every server we start is stopped on exit, and the data is removed ----
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "${KEEP:-0}" != 1 ]; then rm -rf "$BENCH_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR" "$LOG"

# ---- data: TPC-C-like tables, int64 PKs sorted, objects of ~33-133 MB (as seed_bench.sh) ----
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

TARGET=$(awk -v g="$PULL_GB" 'BEGIN {printf "%d", g * 1073741824}')
echo "== generating ~$PULL_GB GB of objects under $SRC"
gen_set "$SRC" "$TARGET"
if [ "$HUGE_ROWS" -gt 0 ]; then
    echo "== generating one big order_line object ($HUGE_ROWS rows) under $HUGE (peak RSS only)"
    mkdir -p "$HUGE"
    IFS='|' read -r _ _ OL_SCHEMA OL_PK <<<"${TABLES[1]}"
    "$MOSYNC" mkobj --schema "$OL_SCHEMA" --pk "$OL_PK" --sorted --rows "$HUGE_ROWS" --seed 4242 --out "$HUGE" >/dev/null
fi
"$MOSYNC" verify --level struct -j 2 "$SRC" >/dev/null
NOBJ=$(find "$SRC" -type f | wc -l)
BYTES=$(total_bytes "$SRC")
MB=$(awk -v b="$BYTES" 'BEGIN {printf "%.1f", b / 1e6}')
maxobj() { find "$1" -type f -printf '%s\n' | sort -n | tail -n 1 | awk '{printf "%.1f", $1/1e6}'; }
echo "objects: $NOBJ, $BYTES bytes ($MB MB); sizes (MB):" \
    $(find "$SRC" -type f -printf '%s\n' | sort -n | awk '{printf "%.0f ", $1/1e6}')

# ---- servers ----
PW=$BENCH_DIR/pw
echo s3cret > "$PW"
export MO_UPSTREAM_PASSWORD=s3cret
start_moup() { # VAR_PREFIX DATA CHUNK: sets ${PREFIX}_PID and ${PREFIX}_URL
    local pre=$1 data=$2 chunk=$3 port="" pid
    "$MOUP" --data "$data" --listen 127.0.0.1:0 --user root --password-file "$PW" \
        --chunk-size "$chunk" >"$LOG/$pre.port" 2>"$LOG/$pre.err" &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 200); do [ -s "$LOG/$pre.port" ] && break; sleep 0.05; done
    port=$(head -n 1 "$LOG/$pre.port")
    [ -n "$port" ] || { echo "pull_bench: moupstream did not start:" >&2; cat "$LOG/$pre.err" >&2; exit 1; }
    printf -v "${pre}_PID" %s "$pid"
    printf -v "${pre}_URL" %s "mysql://sys#root@127.0.0.1:$port/sys/mosync"
}
vmhwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# rsync daemon on a free loopback port (tried until one binds), module [objs] = $SRC
RSYNCD=$BENCH_DIR/rsyncd
mkdir -p "$RSYNCD"
cat >"$RSYNCD/rsyncd.conf" <<EOF
[objs]
path = $SRC
read only = yes
use chroot = no
uid = $(id -u)
gid = $(id -g)
EOF
RSYNC_PID=""
for try in $(seq 1 20); do
    RPORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    rsync --daemon --no-detach --address 127.0.0.1 --port "$RPORT" --config "$RSYNCD/rsyncd.conf" \
        --log-file "$RSYNCD/rsyncd.log" >"$RSYNCD/out" 2>&1 &
    RSYNC_PID=$!
    ok=0
    for _ in $(seq 1 40); do
        kill -0 "$RSYNC_PID" 2>/dev/null || break
        if rsync "rsync://127.0.0.1:$RPORT/" 2>/dev/null | grep -q '^objs'; then ok=1; break; fi
        sleep 0.05
    done
    [ "$ok" = 1 ] && break
    kill "$RSYNC_PID" 2>/dev/null || true; wait "$RSYNC_PID" 2>/dev/null || true; RSYNC_PID=""
done
[ -n "$RSYNC_PID" ] || { echo "pull_bench: rsync --daemon did not start" >&2; cat "$RSYNCD/rsyncd.log" >&2; exit 1; }
PIDS+=("$RSYNC_PID")
start_moup M100 "$SRC" 100m
start_moup M8 "$SRC" 8m
echo "rsync daemon on 127.0.0.1:$RPORT (pid $RSYNC_PID); moupstream 100 MiB ${M100_URL#*@} (pid $M100_PID), 8 MiB ${M8_URL#*@} (pid $M8_PID)"

# ---- timing helpers ----
secs() { awk -v s="$1" -v e="$2" 'BEGIN {printf "%.4f", e - s}'; }
stats() { # "best median" of the wall times in a space-separated list
    tr ' ' '\n' <<<"$1" | grep . | sort -g |
        awk '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
             printf "%.3f %.3f\n", v[1], m}'
}
maxof() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -n 1; }
mbps() { awk -v b="$BYTES" -v t="$1" 'BEGIN {printf "%.1f", b / 1e6 / t}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b / a}'; } # speed ratio = time2/time1
verdict_ge() { awk -v r="$1" -v t="$2" 'BEGIN {print (r >= t ? "MET" : "NOT MET")}'; }
json_field() { # FILE FIELD: the value of FIELD in the last summary line of FILE
    grep '"event":"summary"' "$1" | tail -n 1 | sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p" | tr -d '"'
}
# the machine runs DAMON proactive reclaim: the source is read again before every timed run,
# and resident() records the share of it in the page cache as the timer starts
warm() { cat "$@" >/dev/null; }
resident() { fincore -b -n -o RES,SIZE "$@" 2>/dev/null |
    awk '{r+=$1; s+=$2} END {if (s) printf "%.1f", r * 100 / s; else print "?"}'; }

# measurement key | command (DST is deleted and `sync` runs before each timed run)
MEAS=("rsync|rsync -a --whole-file rsync://127.0.0.1:$RPORT/objs/ $DST/")
if rsync --help 2>&1 | grep -c -- '--fsync' >/dev/null; then # not -q: an early exit would SIGPIPE rsync (pipefail)
    MEAS+=("rsync-fsync|rsync -a --whole-file --fsync rsync://127.0.0.1:$RPORT/objs/ $DST/")
fi
for c in 100 8; do
    url_var=M${c}_URL; url=${!url_var}
    MEAS+=(
    "mo$c-struct-j1|$MOSYNC seed --from $url --to $DST --verify-level struct --progress=json"
    "mo$c-struct-j2|$MOSYNC seed --from $url --to $DST --verify-level struct -j 2 --progress=json"
    "mo$c-none-j1|$MOSYNC seed --from $url --to $DST --verify-level none --progress=json"
    "mo$c-none-j2|$MOSYNC seed --from $url --to $DST --verify-level none -j 2 --progress=json"
    )
done
declare -A TIMES RSS RES
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
warm "$SRC"/*
echo "load average before timing: $LOAD_BEFORE"
# the measurements take turns within each repetition, so that load from other users of the
# machine spreads over all of them rather than hitting one
for ((r = 1; r <= REPS; r++)); do
    for m in "${MEAS[@]}"; do
        key=${m%%|*}; cmd=${m#*|}
        rm -rf "$DST"; sync; warm "$SRC"/*
        RES[$key]="${RES[$key]:-} $(resident "$SRC"/*)"
        s=$EPOCHREALTIME
        $TIME -f %M -o "$LOG/$key.$r.rss" bash -c "$cmd" >"$LOG/$key.$r.out" 2>"$LOG/$key.$r.err" ||
            { echo "FAILED: $cmd" >&2; cat "$LOG/$key.$r.err" >&2; exit 1; }
        e=$EPOCHREALTIME
        TIMES[$key]="${TIMES[$key]:-} $(secs "$s" "$e")"
        RSS[$key]="${RSS[$key]:-} $(tail -n 1 "$LOG/$key.$r.rss")"
        if [[ $key == mo* ]]; then
            [ "$(json_field "$LOG/$key.$r.err" status)" = ok ] || { echo "FAILED: $cmd" >&2; tail "$LOG/$key.$r.err" >&2; exit 1; }
        fi
        printf '  rep %d %-15s %8s s  %8s KiB  (source %s%% resident at start)\n' "$r" "$key" \
            "${TIMES[$key]##* }" "${RSS[$key]##* }" "${RES[$key]##* }"
    done
done
# the last copy must equal the source byte for byte
diff -rq -x .mosync "$SRC" "$DST" >/dev/null || { echo "pull_bench: $DST differs from $SRC" >&2; exit 1; }
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
HWM100=$(vmhwm "$M100_PID"); HWM8=$(vmhwm "$M8_PID")
stop_pid "$M100_PID"; stop_pid "$M8_PID"; stop_pid "$RSYNC_PID"

declare -A BEST MED
for m in "${MEAS[@]}"; do
    key=${m%%|*}
    read -r BEST[$key] MED[$key] <<<"$(stats "${TIMES[$key]}")"
done

# ---- peak RSS with one big object (object size >> chunk size), one run each ----
declare -A HRSS HHWM
if [ "$HUGE_ROWS" -gt 0 ]; then
    for c in 100 8; do
        start_moup H$c "$HUGE" ${c}m
        pid_var=H${c}_PID; url_var=H${c}_URL
        for j in 1 2; do
            rm -rf "$DST"; sync; warm "$HUGE"/*
            $TIME -f %M -o "$LOG/huge$c-j$j.rss" "$MOSYNC" seed --from "${!url_var}" --to "$DST" \
                --verify-level struct -j $j >/dev/null 2>"$LOG/huge$c-j$j.err" ||
                { echo "FAILED: huge pull" >&2; cat "$LOG/huge$c-j$j.err" >&2; exit 1; }
            HRSS[$c-$j]=$(tail -n 1 "$LOG/huge$c-j$j.rss")
        done
        diff -rq -x .mosync "$HUGE" "$DST" >/dev/null || { echo "pull_bench: huge copy differs" >&2; exit 1; }
        HHWM[$c]=$(vmhwm "${!pid_var}")
        stop_pid "${!pid_var}"
    done
fi
rm -rf "$DST"

# ---- report ----
echo
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo), kernel $(uname -r)"
echo "         $(rsync --version | head -n 1)"
echo "data:    $NOBJ objects, $MB MB (largest $(maxobj "$SRC") MB), $REPS reps per line (taking turns), warm cache, DST on the same disk"
echo "load:    before $LOAD_BEFORE, after $LOAD_AFTER"
echo
printf '%-40s %9s %9s %9s %9s %12s\n' "measurement" "best s" "median s" "best MB/s" "med MB/s" "peak RSS KiB"
desc() {
    case $1 in
        rsync) echo "rsync -a --whole-file (daemon)" ;;
        rsync-fsync) echo "rsync -a --whole-file --fsync (daemon)" ;;
        mo*) local c=${1#mo}; c=${c%%-*}; local rest=${1#mo$c-}
             echo "mosync seed ${c}MiB chunks ${rest%-j*} -${rest##*-}" ;;
    esac
}
for m in "${MEAS[@]}"; do
    key=${m%%|*}
    printf '%-40s %9s %9s %9s %9s %12s\n' "$(desc "$key")" "${BEST[$key]}" "${MED[$key]}" \
        "$(mbps "${BEST[$key]}")" "$(mbps "${MED[$key]}")" "$(maxof "${RSS[$key]}")"
done
echo
echo "ratio mosync / rsync (throughput; best, median), target >= 0.8:"
for m in "${MEAS[@]}"; do
    key=${m%%|*}
    [[ $key == mo* ]] || continue
    rb=$(ratio "${BEST[$key]}" "${BEST[rsync]}"); rm_=$(ratio "${MED[$key]}" "${MED[rsync]}")
    tag=""; [[ $key == *none* ]] && tag=" (transfer only, informative)"
    printf '  %-36s %6s %6s  %s%s\n' "$(desc "$key")" "$rb" "$rm_" "$(verdict_ge "$rb" 0.8)" "$tag"
done
echo
echo "moupstream peak RSS (VmHWM, KiB) over all the timed pulls: 100 MiB chunks $HWM100, 8 MiB chunks $HWM8"
if [ "$HUGE_ROWS" -gt 0 ]; then
    echo "one object of $(maxobj "$HUGE") MB, --verify-level struct, peak RSS KiB:"
    for c in 100 8; do
        echo "  ${c} MiB chunks: mosync -j 1 ${HRSS[$c-1]}, -j 2 ${HRSS[$c-2]}; moupstream VmHWM ${HHWM[$c]}"
    done
fi
