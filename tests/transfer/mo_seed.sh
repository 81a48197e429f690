#!/usr/bin/env bash
# `mosync seed --from mysql://...` against moupstream over loopback (issue #5): a clean seed
# (byte-identical, journal complete, resume finds nothing to do), the password from a file,
# wrong credentials (exit 5), a password in the spec (refused), and moupstream's --fault modes:
# retryable errors for the first K statements, connections refused, the connection dropped
# mid-chunk (the client must recover), and a corrupt byte in a chunk (the wire has no checksum:
# the copier's verification must catch it and publish nothing wrong).
set -u
MOSYNC=${1:?usage: mo_seed.sh path/to/mosync path/to/moupstream}
MOUP=${2:?usage: mo_seed.sh path/to/mosync path/to/moupstream}
T=${MO_TMP:-/tmp}/moseed.$$
rm -rf "$T"; mkdir -p "$T/src"
SRV_PID=
cleanup() { [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

for i in 1 2 3 4; do
    "$MOSYNC" mkobj --schema 'id:int64,name:varchar(40),amount:decimal64(12,2),note:text' \
        --rows $((20000 * i)) --seed "$i" --pk id --sorted --out "$T/src" >/dev/null || { echo "mkobj failed"; exit 1; }
done
echo s3cret > "$T/pw"
export MO_UPSTREAM_BACKOFF_MS=1 MO_UPSTREAM_BACKOFF_CAP_MS=20
CHUNK=128k

start_srv() { # [fault]
    [ -n "$SRV_PID" ] && { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; }
    : > "$T/port"
    "$MOUP" --data "$T/src" --listen 127.0.0.1:0 --user root --password-file "$T/pw" \
        --chunk-size "$CHUNK" ${1:+--fault "$1"} > "$T/port" 2> "$T/srv.err" &
    SRV_PID=$!
    for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$T/port")
    [ -n "$PORT" ] || { echo "moupstream did not start:"; cat "$T/srv.err"; exit 1; }
    URL="mysql://sys#root@127.0.0.1:$PORT/sys/mosync"
}

same_all() { # dst
    for f in "$T"/src/*; do cmp -s "$f" "$1/$(basename "$f")" || { bad "$1: $(basename "$f") differs or is missing"; return 1; }; done
}

# 1. clean seed, -j 3
start_srv
MO_UPSTREAM_PASSWORD=s3cret "$MOSYNC" seed --from "$URL" --to "$T/d1" -j 3 > "$T/out" 2>&1 || { bad "clean seed"; cat "$T/out"; }
same_all "$T/d1"
"$MOSYNC" journal "$T/d1" > "$T/j"
grep -q '^complete yes' "$T/j" || { bad "journal not complete"; cat "$T/j"; }
grep -q '^source mysql://sys#root@127.0.0.1:[0-9]*/sys/mosync?snapshot=mosync_seed_[0-9a-f]*&chunk=131072$' "$T/j" \
    || { bad "journal source"; cat "$T/j"; }
grep -q s3cret "$T/j" "$T/d1/.mosync/ckpt/"* 2>/dev/null && bad "password in the journal"
MO_UPSTREAM_PASSWORD=s3cret "$MOSYNC" resume --to "$T/d1" > "$T/out" 2>&1 || { bad "resume of a finished job"; cat "$T/out"; }

# 2. password from a file; wrong password; password in the spec
MO_UPSTREAM_PASSWORD_FILE="$T/pw" "$MOSYNC" seed --from "$URL" --to "$T/d2" > "$T/out" 2>&1 || { bad "password file"; cat "$T/out"; }
same_all "$T/d2"
MO_UPSTREAM_PASSWORD=wrong "$MOSYNC" seed --from "$URL" --to "$T/d3" > "$T/out" 2>&1
rc=$?
[ "$rc" -eq 5 ] || bad "wrong password: exit $rc, want 5"
grep -q 'Access denied' "$T/out" || { bad "wrong password message"; cat "$T/out"; }
MO_UPSTREAM_PASSWORD=s3cret "$MOSYNC" seed --from "mysql://sys#root:s3cret@127.0.0.1:$PORT/sys/mosync" --to "$T/d3" > "$T/out" 2>&1
[ $? -ne 0 ] && grep -q 'must not carry a password' "$T/out" || { bad "password in the spec accepted"; cat "$T/out"; }

# 3. faults the client must ride out
for fault in retryable=3 refuse=2 drop-after=50k/3 "drop-after=1k/2,retryable=2,delay=5"; do
    start_srv "$fault"
    rm -rf "$T/df"
    MO_UPSTREAM_PASSWORD=s3cret "$MOSYNC" seed --from "$URL" --to "$T/df" -j 2 > "$T/out" 2>&1 \
        || { bad "fault $fault: seed failed"; cat "$T/out"; continue; }
    same_all "$T/df" && echo "fault $fault: recovered"
done

# 4. a corrupt byte: caught by verification, never published; a clean server then completes it
start_srv "corrupt=chunk2:1000"
rm -rf "$T/dc"
MO_UPSTREAM_PASSWORD=s3cret "$MOSYNC" seed --from "$URL" --to "$T/dc" > "$T/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || { bad "corrupt chunk: exit $rc, want 1"; cat "$T/out"; }
for f in "$T"/src/*; do
    g="$T/dc/$(basename "$f")"
    [ -e "$g" ] && ! cmp -s "$f" "$g" && bad "corrupt object published: $(basename "$f")"
done
echo "corrupt chunk: $(tail -1 "$T/out")"
start_srv
SNAPURL=$(grep -o 'mysql://[^ ]*' <("$MOSYNC" journal "$T/dc") | head -1)
# the snapshot lived in the old server's memory: start the job again against the new one
rm -rf "$T/dc"
MO_UPSTREAM_PASSWORD=s3cret "$MOSYNC" seed --from "$URL" --to "$T/dc" > "$T/out" 2>&1 || { bad "clean re-seed"; cat "$T/out"; }
same_all "$T/dc"
: "$SNAPURL"

# TLS options reach the connector: this moupstream has no certificate, so a required TLS fails
# cleanly (no data), and a bad mode is a usage error
rm -rf "$T/dt"
MO_UPSTREAM_PASSWORD=s3cret MO_UPSTREAM_ATTEMPTS=1 "$MOSYNC" seed --from "$URL" --to "$T/dt" --ssl-mode required > "$T/out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -qi 'ssl\|tls' "$T/out" || { bad "--ssl-mode required against a non-TLS upstream: exit $rc"; cat "$T/out"; }
[ -z "$(ls "$T/dt" 2>/dev/null | grep -v '^\.')" ] || bad "objects published without the required TLS"
MO_UPSTREAM_PASSWORD=s3cret "$MOSYNC" seed --from "$URL" --to "$T/dt" --ssl-mode sometimes > "$T/out" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "ssl mode 'sometimes'" "$T/out" || { bad "bad --ssl-mode: exit $rc"; cat "$T/out"; }

[ "$fail" -eq 0 ] && echo "mo_seed: ok"
exit "$fail"
