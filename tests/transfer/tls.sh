#!/usr/bin/env bash
# TLS between mosync and an MO upstream (issue #5), end to end: a throwaway CA and server
# certificates made with the openssl CLI, moupstream --ssl-cert/--ssl-key, then
#  - the real `mariadb` client with --ssl-verify-server-cert: works with the CA, fails with
#    another CA (a plain session could not fail that way), and --skip-ssl adds no TLS session;
#  - `mosync seed` from mysql://...?ssl-mode=VERIFY_CA&ssl-ca=...: byte-identical objects and
#    every connection the server accepted was a TLS session (moupstream's own counters);
#  - a wrong CA: exit 5, a message naming TLS and the certificate, nothing published;
#    verify_identity against a certificate for another host fails where verify_ca passes;
#  - REQUIRED, VERIFY_CA and VERIFY_IDENTITY against a server without TLS fail cleanly and
#    before the login: the server counts no login (no user name or auth token reached it);
#    DISABLED and the default still work;
#    --require-secure-transport refuses DISABLED (ERR 3159);
#  - a multi-chunk fetch over TLS with --fault drop-after: the dropped chunk is fetched again
#    over new TLS sessions and the objects are byte-identical;
#  - a subscription (CREATE SUBSCRIPTION ... FROM 'mysql://...?ssl-mode=verify_ca&ssl-ca=...')
#    synced by `mosync run --once` over TLS, checksums equal; one with a wrong CA fails.
# usage: tls.sh MOSYNC MOUPSTREAM
set -u
MOSYNC=${1:?usage: tls.sh path/to/mosync path/to/moupstream}
MOUP=${2:?usage: tls.sh path/to/mosync path/to/moupstream}
command -v openssl >/dev/null || { echo "SKIP: openssl CLI not installed (.ci/deps)"; exit 77; }
command -v mariadb >/dev/null || { echo "SKIP: mariadb client not installed (.ci/deps)"; exit 77; }
T=${MO_TMP:-/tmp}/tls.$$
rm -rf "$T"; mkdir -p "$T/src" "$T/pki"
SRV_PID=
cleanup() { [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
export MO_UPSTREAM_BACKOFF_MS=1 MO_UPSTREAM_BACKOFF_CAP_MS=20 MO_UPSTREAM_PASSWORD=s3cret

# ---- a CA, a server certificate for 127.0.0.1/localhost, one for another host, another CA
K=$T/pki
mkcert() { # name san
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$K/$1.key" -out "$K/$1.csr" 2>/dev/null &&
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" > "$K/$1.ext" &&
    openssl x509 -req -in "$K/$1.csr" -CA "$K/ca.pem" -CAkey "$K/ca.key" -CAcreateserial -days 2 \
        -extfile "$K/$1.ext" -out "$K/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mosync test CA" \
    -keyout "$K/ca.key" -out "$K/ca.pem" 2>/dev/null &&
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=some other CA" \
    -keyout "$K/other.key" -out "$K/other.pem" 2>/dev/null &&
mkcert server 'IP:127.0.0.1,DNS:localhost' && mkcert elsewhere 'DNS:elsewhere.invalid' \
    || { echo "openssl could not make the test certificates"; exit 1; }

for i in 1 2 3; do
    "$MOSYNC" mkobj --schema 'id:int64,name:varchar(40),note:text' --rows $((15000 * i)) --seed "$i" \
        --pk id --sorted --out "$T/src" >/dev/null || { echo "mkobj failed"; exit 1; }
done
echo s3cret > "$T/pw"

# start_srv DATA [moupstream options...]: PORT; the server's stderr in $T/srv.err
start_srv() {
    stop_srv
    local data=$1
    shift
    : > "$T/port"
    "$MOUP" --data "$data" --listen 127.0.0.1:0 --user root --password-file "$T/pw" \
        --chunk-size 64k --log "$@" > "$T/port" 2> "$T/srv.err" &
    SRV_PID=$!
    for _ in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    PORT=$(head -1 "$T/port")
    [ -n "$PORT" ] || { echo "moupstream did not start:"; cat "$T/srv.err"; exit 1; }
    URL="mysql://sys#root@127.0.0.1:$PORT/sys/mosync"
}
# stop_srv: SIGTERM, then the stop line's counters: CONNS, TLS, TLSFAIL, LOGINS
stop_srv() {
    CONNS=0 TLS=0 TLSFAIL=0 LOGINS=0
    [ -n "$SRV_PID" ] || return 0
    kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=
    local l
    l=$(grep 'stopped by signal' "$T/srv.err")
    CONNS=$(sed -n 's/.*; \([0-9]*\) connections,.*/\1/p' <<<"$l")
    TLS=$(sed -n 's/.*, \([0-9]*\) TLS sessions,.*/\1/p' <<<"$l")
    TLSFAIL=$(sed -n 's/.*, \([0-9]*\) failed TLS handshakes.*/\1/p' <<<"$l")
    LOGINS=$(sed -n 's/.*, \([0-9]*\) logins$/\1/p' <<<"$l")
    [ -n "$CONNS" ] && [ -n "$TLS" ] && [ -n "$TLSFAIL" ] && [ -n "$LOGINS" ] ||
        bad "no counters in: $l"
}
tls_now() { grep -c 'TLS session ' "$T/srv.err"; } # sessions so far (--log)
same_all() { # dst what
    local f n=0
    for f in "$T"/src/*; do
        cmp -s "$f" "$1/$(basename "$f")" || { bad "$2: $(basename "$f") differs or is missing"; return 1; }
        n=$((n + 1))
    done
    [ "$n" -eq 3 ] || bad "$2: $n objects"
}
nothing_in() { # dst what
    [ -z "$(ls "$1" 2>/dev/null)" ] || bad "$2: objects published: $(ls "$1" | head -3)"
}
seed() { # dst url [flags...] -> rc in RC, output in $T/out
    local dst=$1 url=$2
    shift 2
    rm -rf "$dst"
    "$MOSYNC" seed --from "$url" --to "$dst" -j 2 "$@" > "$T/out" 2>&1
    RC=$?
}
copied() { # dst url what [flags...]: the seed succeeds, objects byte-identical
    local dst=$1 url=$2 what=$3
    shift 3
    seed "$dst" "$url" "$@"
    [ "$RC" -eq 0 ] || { bad "$what: exit $RC"; cat "$T/out"; }
    same_all "$dst" "$what"
}
refused() { # dst url what pattern: exit 5, the message matches, nothing published
    seed "$1" "$2"
    [ "$RC" -eq 5 ] && grep -q -- "$4" "$T/out" || { bad "$3: exit $RC, want 5 and /$4/"; cat "$T/out"; }
    nothing_in "$1" "$3"
}
M() { mariadb -h 127.0.0.1 -P "$PORT" -u root -ps3cret "$@"; }

# ---- 1. the mariadb client
start_srv "$T/src" --ssl-cert "$K/server.pem" --ssl-key "$K/server.key"
out=$(M --ssl --ssl-ca="$K/ca.pem" --ssl-verify-server-cert -e 'SHOW PUBLICATION COVERAGE `mosync`' 2>&1)
[ $? -eq 0 ] && grep -q '^\*	\*$' <<<"$out" || bad "mariadb --ssl-verify-server-cert: $out"
[ "$(tls_now)" -eq 1 ] || bad "mariadb with the CA: $(tls_now) TLS sessions, want 1"
grep -q 'conn 1: TLS session TLSv1\.[23] ' "$T/srv.err" || bad "mariadb: TLS version: $(cat "$T/srv.err")"
out=$(M --ssl --ssl-ca="$K/other.pem" --ssl-verify-server-cert -e 'SHOW PUBLICATION COVERAGE `mosync`' 2>&1)
[ $? -ne 0 ] && grep -q 'TLS/SSL error' <<<"$out" || bad "mariadb with another CA: $out"
out=$(M --skip-ssl -e 'SHOW PUBLICATION COVERAGE `mosync`' 2>&1)
[ $? -eq 0 ] || bad "mariadb --skip-ssl: $out"
stop_srv
[ "$CONNS" -eq 3 ] && [ "$TLS" -eq 1 ] && [ "$TLSFAIL" -eq 1 ] ||
    bad "mariadb: $CONNS connections, $TLS TLS sessions, $TLSFAIL failed; want 3, 1, 1"
echo "mariadb client: TLS with the CA, refused with another CA, plain with --skip-ssl"

# ---- 2. mosync seed over TLS (VERIFY_CA via the URI; VERIFY_IDENTITY via the flags)
start_srv "$T/src" --ssl-cert "$K/server.pem" --ssl-key "$K/server.key"
seed "$T/d1" "$URL?ssl-mode=VERIFY_CA&ssl-ca=$K/ca.pem"
[ "$RC" -eq 0 ] || { bad "seed VERIFY_CA: exit $RC"; cat "$T/out"; }
c1=$(grep -c 'moupstream: conn ' "$T/srv.err") # --log: one line per TLS session here
[ "$(tls_now)" -ge 2 ] && [ "$(tls_now)" -eq "$c1" ] || bad "seed VERIFY_CA: $(tls_now) TLS sessions, $c1 conn lines"
same_all "$T/d1" "seed VERIFY_CA"
"$MOSYNC" journal "$T/d1" | grep -q "^source .*&ssl-mode=VERIFY_CA&ssl-ca=$K/ca.pem$" ||
    bad "journal source lost the TLS parameters: $("$MOSYNC" journal "$T/d1" | head -1)"
"$MOSYNC" resume --to "$T/d1" > "$T/out" 2>&1 || { bad "resume of the TLS seed"; cat "$T/out"; }
copied "$T/d2" "$URL" "seed verify_identity" --ssl-mode verify_identity --ssl-ca "$K/ca.pem"
n0=$(tls_now)
copied "$T/d3" "$URL?ssl-mode=DISABLED&ssl-ca=$K/other.pem" "seed DISABLED" # DISABLED ignores the CA
[ "$(tls_now)" -eq "$n0" ] || bad "DISABLED opened TLS sessions"
n0=$(tls_now)
copied "$T/d4" "$URL" "seed default mode" # default (preferred): TLS when the server offers it
[ "$(tls_now)" -gt "$n0" ] || bad "the default mode did not use the server's TLS"
# a wrong CA: fatal at once (not retried), names TLS and the certificate, nothing published
refused "$T/d5" "$URL?ssl-mode=VERIFY_CA&ssl-ca=$K/other.pem" "wrong CA" 'TLS/SSL error: .*certificate'
n0=$(tls_now)
stop_srv
[ "$TLS" -eq "$n0" ] || bad "stop line: $TLS TLS sessions, log has $n0"
[ "$TLSFAIL" -ge 1 ] || bad "the wrong CA left no failed TLS handshake on the server"
echo "seed: VERIFY_CA, verify_identity, DISABLED, default; wrong CA refused (exit 5)"

# verify_identity checks the host name, verify_ca only the chain
start_srv "$T/src" --ssl-cert "$K/elsewhere.pem" --ssl-key "$K/elsewhere.key"
refused "$T/d6" "$URL?ssl-mode=verify_identity&ssl-ca=$K/ca.pem" "verify_identity, another host" 'TLS/SSL error'
copied "$T/d6" "$URL?ssl-mode=verify_ca&ssl-ca=$K/ca.pem" "verify_ca, another host"
stop_srv
echo "verify_identity refuses a certificate for another host, verify_ca accepts it"

# ---- 3. a server without TLS: the modes that require TLS fail cleanly before the login (no
# user name, no scrambled password sent in plain text), DISABLED works
start_srv "$T/src"
refused "$T/d7" "$URL?ssl-mode=REQUIRED" "REQUIRED, plain server" \
    'TLS is required (ssl mode REQUIRED) but the connection .* is not encrypted'
refused "$T/d7" "$URL?ssl-mode=VERIFY_CA&ssl-ca=$K/ca.pem" "VERIFY_CA, plain server" 'TLS is required'
refused "$T/d7" "$URL?ssl-mode=VERIFY_IDENTITY&ssl-ca=$K/ca.pem" "VERIFY_IDENTITY, plain server" \
    'TLS is required\|SSL is required'
stop_srv
[ "$CONNS" -gt 0 ] || bad "the refused modes never reached the plain server"
[ "$LOGINS" -eq 0 ] || bad "the refused modes sent $LOGINS logins to a server without TLS"
[ "$TLS" -eq 0 ] || bad "a server without a certificate counted TLS sessions"
start_srv "$T/src"
copied "$T/d8" "$URL?ssl-mode=DISABLED" "DISABLED, plain server"
stop_srv
[ "$LOGINS" -gt 0 ] && [ "$TLS" -eq 0 ] || bad "DISABLED, plain server: $LOGINS logins, $TLS TLS sessions"
echo "plain server: REQUIRED, VERIFY_CA, VERIFY_IDENTITY refused before the login, DISABLED works"

# ---- 4. --require-secure-transport
start_srv "$T/src" --ssl-cert "$K/server.pem" --ssl-key "$K/server.key" --require-secure-transport
refused "$T/d9" "$URL?ssl-mode=DISABLED" "DISABLED vs require-secure-transport" \
    'insecure transport are prohibited'
copied "$T/d9" "$URL?ssl-mode=VERIFY_CA&ssl-ca=$K/ca.pem" "VERIFY_CA vs require-secure-transport"
stop_srv
echo "require-secure-transport: plain refused (3159), TLS served"

# ---- 5. connections dropped mid-chunk over TLS: fetched again over new TLS sessions
start_srv "$T/src" --ssl-cert "$K/server.pem" --ssl-key "$K/server.key" --fault drop-after=40k/3
copied "$T/d10" "$URL?ssl-mode=VERIFY_CA&ssl-ca=$K/ca.pem" "drop-after over TLS"
summary=$(tail -1 "$T/out")
stop_srv
# every login was inside TLS (VERIFY_CA reads the greeting on a connection of its own first),
# and the three drops forced new ones
[ "$LOGINS" -gt 0 ] && [ "$TLS" -eq "$LOGINS" ] || bad "drop-after: $LOGINS logins but $TLS TLS sessions"
[ "$TLS" -ge 4 ] || bad "drop-after: only $TLS TLS sessions for 3 drops"
echo "drop-after=40k/3 over TLS: recovered, $LOGINS logins, all in TLS; $summary"

# ---- 6. a subscription over TLS: CREATE SUBSCRIPTION with the URI parameters, mosync run
G=$T/gen
mkdir -p "$G/down"
"$MOSYNC" gen --out "$G/up" --db db1 --table orders:1500 --table item:400 --seed 17 > /dev/null || bad "gen"
echo s3cret > "$T/pw"
start_srv "$G/up" --ssl-cert "$K/server.pem" --ssl-key "$K/server.key" --require-secure-transport
unset MO_UPSTREAM_PASSWORD
"$MOSYNC" sql -C "$G/down" "CREATE SUBSCRIPTION s1 DATABASE db1 FROM 'mysql://sys#root:s3cret@127.0.0.1:$PORT?ssl-mode=VERIFY_CA&ssl-ca=$K/ca.pem'" > "$T/out" 2>&1 ||
    { bad "create subscription over TLS"; cat "$T/out"; }
"$MOSYNC" sql -C "$G/down" "SHOW SUBSCRIPTIONS" > "$T/subs" 2>&1
grep -q "?ssl-mode=verify_ca&ssl-ca=$K/ca.pem" "$T/subs" || { bad "the stored URI lost the TLS parameters"; cat "$T/subs"; }
"$MOSYNC" run -C "$G/down" --once --quiet > "$T/out" 2>&1
[ $? -eq 0 ] && grep -q '^iter .* rc=OK' "$T/out" || { bad "run over TLS"; cat "$T/out"; }
fails0=$fails
. "$(dirname "$0")/../cli/sync_lib.sh" # compare: checksums at the watermark (counts in $fail)
compare "$G/up" "$G/down" s1 "sync over TLS"
fails=$((fails0 + fail))
"$MOSYNC" sql -C "$G/down" "CREATE SUBSCRIPTION s2 DATABASE db9 FROM 'mysql://sys#root:s3cret@127.0.0.1:$PORT?ssl-mode=VERIFY_CA&ssl-ca=$K/other.pem'" > /dev/null 2>&1 ||
    bad "create subscription s2"
"$MOSYNC" run -C "$G/down" --once --quiet > "$T/out" 2>&1
"$MOSYNC" sql -C "$G/down" "SHOW SUBSCRIPTION TASKS s2" > "$T/t2" 2>&1
grep -q 'TLS/SSL error' "$T/t2" "$T/out" || { bad "sync with a wrong CA: no TLS error recorded"; cat "$T/t2" "$T/out"; }
stop_srv
[ "$LOGINS" -gt 0 ] && [ "$TLS" -eq "$LOGINS" ] && [ "$TLSFAIL" -ge 1 ] ||
    bad "sync: $LOGINS logins, $TLS TLS, $TLSFAIL failed"
fails=$((fails0 + fail))
echo "subscription over TLS: $NTABLES tables equal, $TLS TLS sessions; wrong CA recorded"

[ "$fails" -eq 0 ] && echo "tls: ok"
exit "$fails"
