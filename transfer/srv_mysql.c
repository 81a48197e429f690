/* The MySQL wire protocol of the upstream emulator (spec ccpr-protocol.md §2.1): packet
 * framing with sequence ids (payloads >= 16 MiB-1 split into max-size packets plus an empty
 * one when the length is a multiple), handshake v10 with mysql_native_password and a
 * 20-byte scramble, handshake-response parsing by the CLIENT's flags, one auth switch,
 * OK/ERR/EOF packets, text result sets with either terminator style (classic 5-byte EOF
 * unless the client negotiated CLIENT_DEPRECATE_EOF), the accept loop and one thread per
 * connection up to max_connections. Nothing read from a socket reaches an assert.
 * TLS (OpenSSL): CLIENT_SSL is advertised when a certificate is configured; an SSLRequest
 * switches the connection's srv_io from the socket to an SSL, and everything above
 * send_all/recv_full is the same for both. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "srv_int.h"

#define CLIENT_LONG_PASSWORD 0x00000001u
#define CLIENT_FOUND_ROWS 0x00000002u
#define CLIENT_LONG_FLAG 0x00000004u
#define CLIENT_CONNECT_WITH_DB 0x00000008u
#define CLIENT_PROTOCOL_41 0x00000200u
#define CLIENT_SSL 0x00000800u
#define CLIENT_TRANSACTIONS 0x00002000u
#define CLIENT_SECURE_CONNECTION 0x00008000u
#define CLIENT_MULTI_STATEMENTS 0x00010000u
#define CLIENT_MULTI_RESULTS 0x00020000u
#define CLIENT_PLUGIN_AUTH 0x00080000u
#define CLIENT_CONNECT_ATTRS 0x00100000u
#define CLIENT_PLUGIN_AUTH_LENENC 0x00200000u
#define CLIENT_DEPRECATE_EOF 0x01000000u

#define SERVER_CAPS                                                                                \
    (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |        \
     CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION |                         \
     CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS |   \
     CLIENT_PLUGIN_AUTH_LENENC | CLIENT_DEPRECATE_EOF)
#define SERVER_STATUS_AUTOCOMMIT 0x0002
#define ER_SECURE_TRANSPORT_REQUIRED 3159

#define COM_QUIT 0x01
#define COM_INIT_DB 0x02
#define COM_QUERY 0x03
#define COM_FIELD_LIST 0x04
#define COM_STATISTICS 0x09
#define COM_PING 0x0e
#define COM_SET_OPTION 0x1b
#define COM_RESET_CONNECTION 0x1f

#define MAX_FRAG 0xFFFFFFu
#define MAX_CMD ((size_t)4 << 20)
#define WBUF_CAP ((size_t)64 << 10)
#define READ_PIECE ((uint32_t)64 << 10) /* a command is received this much at a time */
#define NATIVE "mysql_native_password"

typedef struct srv_slot {
    int state; /* 0 free, 1 running, 2 finished (join pending) */
    int fd;
    pthread_t thr;
    mo_srv *srv;
    uint32_t id;
} srv_slot;

void mo_srv_opts_init(mo_srv_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->max_connections = 151;
    o->max_chunk_reads = 30;
    o->chunk_size = MO_SRV_DEFAULT_CHUNK_SIZE;
    o->read_timeout_ms = 600000;
    o->write_timeout_ms = 60000;
    o->server_version = "8.0.30-MatrixOne-v2.2.0-moupstream";
}

/* ---------------- fault spec ---------------- */

static int parse_size(uint64_t *out, const char *s, const char *end)
{
    uint64_t v = 0;
    const char *p = s;
    if (p == end)
        return -1;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (mo_mul_overflow(v, 10, &v) || mo_add_overflow(v, (uint64_t)(*p - '0'), &v))
            return -1;
    }
    if (p == s)
        return -1;
    if (p < end) {
        unsigned sh = 0;
        switch (*p) {
        case 'k': case 'K': sh = 10; break;
        case 'm': case 'M': sh = 20; break;
        case 'g': case 'G': sh = 30; break;
        default: return -1;
        }
        if (p + 1 != end || v > (UINT64_MAX >> sh))
            return -1;
        v <<= sh;
    }
    *out = v;
    return 0;
}

static int parse_uint(unsigned *out, const char *s, const char *end)
{
    uint64_t v;
    if (parse_size(&v, s, end) < 0 || v > 0x7fffffff)
        return -1;
    for (const char *p = s; p < end; p++)
        if (*p < '0' || *p > '9')
            return -1;
    *out = (unsigned)v;
    return 0;
}

/* "VALUE[/K]" -> value part end and K (default 1) */
static int split_times(const char *v, const char *end, const char **vend, unsigned *times)
{
    const char *slash = memchr(v, '/', (size_t)(end - v));
    *times = 1;
    *vend = end;
    if (slash) {
        *vend = slash;
        if (parse_uint(times, slash + 1, end) < 0 || *times == 0)
            return -1;
    }
    return 0;
}

int mo_srv_fault_parse(mo_srv_fault *out, const char *spec, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!spec)
        return MO_OK;
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (!eq)
            return mo_err_set(err, MO_EINVAL, "fault '%.*s': expected key=value", (int)(e - p), p);
        size_t kl = (size_t)(eq - p);
        const char *v = eq + 1, *vend;
        int bad = 0;
        if (kl == 10 && !memcmp(p, "drop-after", 10)) {
            bad = split_times(v, e, &vend, &out->drop_times) < 0 ||
                  parse_size(&out->drop_after, v, vend) < 0;
        } else if (kl == 7 && !memcmp(p, "corrupt", 7)) {
            const char *colon = memchr(v, ':', (size_t)(e - v));
            bad = (size_t)(e - v) < 6 || memcmp(v, "chunk", 5) || !colon ||
                  parse_uint(&out->corrupt_chunk, v + 5, colon) < 0 || out->corrupt_chunk == 0 ||
                  split_times(colon + 1, e, &vend, &out->corrupt_times) < 0 ||
                  parse_size(&out->corrupt_off, colon + 1, vend) < 0;
        } else if (kl == 9 && !memcmp(p, "retryable", 9)) {
            bad = parse_uint(&out->retryable, v, e) < 0;
        } else if (kl == 5 && !memcmp(p, "delay", 5)) {
            bad = parse_uint(&out->delay_ms, v, e) < 0;
        } else if (kl == 6 && !memcmp(p, "refuse", 6)) {
            bad = parse_uint(&out->refuse, v, e) < 0;
        } else {
            return mo_err_set(err, MO_EINVAL, "fault: unknown key '%.*s'", (int)kl, p);
        }
        if (bad)
            return mo_err_set(err, MO_EINVAL, "fault: bad value in '%.*s'", (int)(e - p), p);
        p = *e ? e + 1 : e;
    }
    return MO_OK;
}

/* ---------------- SHA-1 (libcrypto) ---------------- */

static int sha1(uint8_t out[20], const void *a, size_t an, const void *b, size_t bn)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) && EVP_DigestUpdate(ctx, a, an) &&
             (!bn || EVP_DigestUpdate(ctx, b, bn)) && EVP_DigestFinal_ex(ctx, out, &n) && n == 20;
    EVP_MD_CTX_free(ctx);
    return ok ? MO_OK : MO_ERROR;
}

/* token == SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))), constant time */
static bool native_ok(const char *pw, const uint8_t scramble[20], const uint8_t *tok, size_t n)
{
    size_t pl = strlen(pw);
    if (pl == 0)
        return n == 0;
    if (n != 20)
        return false;
    uint8_t s1[20], s2[20], s3[20];
    if (sha1(s1, pw, pl, NULL, 0) < 0 || sha1(s2, s1, 20, NULL, 0) < 0 ||
        sha1(s3, scramble, 20, s2, 20) < 0)
        return false;
    uint8_t diff = 0;
    for (int i = 0; i < 20; i++)
        diff |= (uint8_t)((s1[i] ^ s3[i]) ^ tok[i]);
    return diff == 0;
}

/* ---------------- socket I/O ---------------- */

static ssize_t plain_send(mo_srv_conn *c, const void *p, size_t n)
{
    return send(c->fd, p, n, MSG_NOSIGNAL);
}

static ssize_t plain_recv(mo_srv_conn *c, void *p, size_t n)
{
    return recv(c->fd, p, n, 0);
}

static const srv_io plain_io = {plain_send, plain_recv};

/* OpenSSL's outcome as the socket calls' (> 0, 0 = EOF, < 0 with errno) */
static ssize_t tls_result(mo_srv_conn *c, int ok, size_t done, bool reading)
{
    if (ok)
        return (ssize_t)done;
    const int e = errno;
    switch (SSL_get_error(c->ssl, 0)) {
    case SSL_ERROR_ZERO_RETURN: /* close_notify */
        return reading ? 0 : (errno = EPIPE, -1);
    case SSL_ERROR_WANT_READ: /* a blocking socket only wants more after SO_*TIMEO expired */
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        errno = e ? e : EPIPE;
        return reading && !e ? 0 : -1;
    default: /* protocol error, bad record MAC, EOF without close_notify (OpenSSL 3) */
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

static ssize_t tls_send(mo_srv_conn *c, const void *p, size_t n)
{
    size_t done = 0;
    errno = 0;
    const int ok = SSL_write_ex(c->ssl, p, n, &done);
    return tls_result(c, ok, done, false);
}

static ssize_t tls_recv(mo_srv_conn *c, void *p, size_t n)
{
    size_t done = 0;
    errno = 0;
    const int ok = SSL_read_ex(c->ssl, p, n, &done);
    return tls_result(c, ok, done, true);
}

static const srv_io tls_io = {tls_send, tls_recv};

static int send_all(mo_srv_conn *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = c->io->send(c, b, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            c->broken = true;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? MO_ETIMEOUT : MO_EIO;
        }
        b += k;
        n -= (size_t)k;
    }
    return MO_OK;
}

int mo_srv__flush(mo_srv_conn *c)
{
    if (c->broken)
        return MO_EIO;
    int rc = c->wlen ? send_all(c, c->wbuf, c->wlen) : MO_OK;
    c->wlen = 0;
    return rc;
}

static int wr(mo_srv_conn *c, const void *p, size_t n)
{
    if (c->broken)
        return MO_EIO;
    if (n >= WBUF_CAP / 4) {
        int rc = mo_srv__flush(c);
        return rc < 0 ? rc : send_all(c, p, n);
    }
    if (c->wlen + n > WBUF_CAP) {
        int rc = mo_srv__flush(c);
        if (rc < 0)
            return rc;
    }
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
    return MO_OK;
}

static int recv_full(mo_srv_conn *c, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t k = c->io->recv(c, b, n);
        if (k == 0)
            return MO_ECANCELED;
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? MO_ETIMEOUT : MO_EIO;
        }
        b += k;
        n -= (size_t)k;
    }
    return MO_OK;
}

/* Frees the receive buffer (a big command must not pin up to MAX_CMD until the connection
 * closes); the next command allocates again. */
static void in_release(mo_srv_conn *c)
{
    atomic_fetch_sub(&c->srv->in_held, c->in.cap);
    mo_buf_dispose(&c->in);
    mo_buf_init(&c->in);
}

size_t mo_srv__in_held(const mo_srv *s)
{
    return atomic_load(&((mo_srv *)s)->in_held);
}

/* Reads one logical packet (reassembling 16 MiB-1 fragments) into c->in. */
static int read_packet(mo_srv_conn *c)
{
    c->in.len = 0;
    for (;;) {
        uint8_t h[4];
        int rc = recv_full(c, h, 4);
        if (rc < 0)
            return rc;
        uint32_t len = (uint32_t)h[0] | ((uint32_t)h[1] << 8) | ((uint32_t)h[2] << 16);
        if (h[3] != c->seq) {
            c->seq = (uint8_t)(h[3] + 1);
            mo_srv__err(c, 1156, "08S01", "Got packets out of order");
            mo_srv__flush(c);
            return MO_ECORRUPT;
        }
        c->seq++;
        if (c->in.len + len > MAX_CMD) {
            mo_srv__err(c, 1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes");
            mo_srv__flush(c);
            return MO_ECORRUPT;
        }
        /* the buffer grows with the bytes that arrive, not with the announced length: a
         * header without its body (even before login) must not cost 4 MiB */
        uint32_t got = 0;
        do {
            const uint32_t k = len - got < READ_PIECE ? len - got : READ_PIECE;
            uint8_t *dst;
            const size_t cap0 = c->in.cap;
            rc = mo_buf_grow(&c->in, k, &dst);
            atomic_fetch_add(&c->srv->in_held, c->in.cap - cap0);
            if (rc < 0 || (rc = recv_full(c, dst, k)) < 0)
                return rc;
            got += k;
        } while (got < len);
        if (len < MAX_FRAG)
            return MO_OK;
    }
}

/* ---------------- packet writer ---------------- */

static int pw_hdr(mo_srv_conn *c)
{
    uint32_t len = c->pw_left < MAX_FRAG ? (uint32_t)c->pw_left : MAX_FRAG;
    uint8_t h[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), c->seq++};
    c->pw_frag = len;
    c->pw_fraglen = len;
    c->pw_need_hdr = false;
    return wr(c, h, 4);
}

int mo_srv__pw_begin(mo_srv_conn *c, uint64_t total)
{
    c->pw_left = total;
    c->pw_frag = 0;
    c->pw_fraglen = 0;
    c->pw_need_hdr = true;
    return MO_OK;
}

int mo_srv__pw_put(mo_srv_conn *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        int rc;
        if (c->pw_need_hdr && (rc = pw_hdr(c)) < 0)
            return rc;
        if (c->pw_frag == 0) /* more bytes than announced: a bug in the caller */
            return MO_EINVAL;
        size_t k = n < c->pw_frag ? n : c->pw_frag;
        if ((rc = wr(c, b, k)) < 0)
            return rc;
        c->pw_frag -= (uint32_t)k;
        c->pw_left -= k;
        b += k;
        n -= k;
        /* a full-size fragment is always followed by another header (maybe an empty one) */
        if (c->pw_frag == 0)
            c->pw_need_hdr = c->pw_fraglen == MAX_FRAG;
    }
    return MO_OK;
}

int mo_srv__pw_end(mo_srv_conn *c)
{
    if (c->pw_left != 0 || c->pw_frag != 0)
        return MO_EINVAL;
    return c->pw_need_hdr ? pw_hdr(c) : MO_OK;
}

static int send_packet(mo_srv_conn *c, const void *p, size_t n)
{
    int rc;
    if ((rc = mo_srv__pw_begin(c, n)) < 0 || (rc = mo_srv__pw_put(c, p, n)) < 0)
        return rc;
    return mo_srv__pw_end(c);
}

size_t mo_srv__lenenc(uint8_t out[9], uint64_t v)
{
    if (v < 251) {
        out[0] = (uint8_t)v;
        return 1;
    }
    if (v < 0x10000) {
        out[0] = 0xfc;
        mo_store_le16(out + 1, (uint16_t)v);
        return 3;
    }
    if (v < 0x1000000) {
        out[0] = 0xfd;
        out[1] = (uint8_t)v;
        out[2] = (uint8_t)(v >> 8);
        out[3] = (uint8_t)(v >> 16);
        return 4;
    }
    out[0] = 0xfe;
    mo_store_le64(out + 1, v);
    return 9;
}

static int put_lenenc(mo_buf *b, uint64_t v)
{
    uint8_t t[9];
    return mo_buf_put(b, t, mo_srv__lenenc(t, v));
}

static int put_lenstr(mo_buf *b, const void *p, size_t n)
{
    int rc = put_lenenc(b, n);
    return rc < 0 ? rc : mo_buf_put(b, p, n);
}

/* ---------------- OK / ERR / EOF / result sets ---------------- */

int mo_srv__ok(mo_srv_conn *c, uint64_t affected)
{
    c->pkt.len = 0;
    int rc;
    if ((rc = mo_buf_put_u8(&c->pkt, 0x00)) < 0 || (rc = put_lenenc(&c->pkt, affected)) < 0 ||
        (rc = put_lenenc(&c->pkt, 0)) < 0 ||
        (rc = mo_buf_put_le16(&c->pkt, SERVER_STATUS_AUTOCOMMIT)) < 0 ||
        (rc = mo_buf_put_le16(&c->pkt, 0)) < 0)
        return rc;
    return send_packet(c, c->pkt.ptr, c->pkt.len);
}

int mo_srv__err(mo_srv_conn *c, unsigned code, const char *state, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(msg))
        n = (int)sizeof(msg) - 1;
    c->pkt.len = 0;
    int rc;
    if ((rc = mo_buf_put_u8(&c->pkt, 0xff)) < 0 ||
        (rc = mo_buf_put_le16(&c->pkt, (uint16_t)code)) < 0 ||
        (rc = mo_buf_put_u8(&c->pkt, '#')) < 0 || (rc = mo_buf_put(&c->pkt, state, 5)) < 0 ||
        (rc = mo_buf_put(&c->pkt, msg, (size_t)n)) < 0)
        return rc;
    if (c->srv->opts.log && code != 1045)
        fprintf(stderr, "moupstream: conn %u: ERR %u %s\n", c->id, code, msg);
    return send_packet(c, c->pkt.ptr, c->pkt.len);
}

static int send_eof(mo_srv_conn *c)
{
    const uint8_t eof[5] = {0xfe, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0};
    return send_packet(c, eof, sizeof(eof));
}

int mo_srv__rs_begin(mo_srv_conn *c, const srv_col *cols, size_t n)
{
    int rc;
    c->pkt.len = 0;
    if ((rc = put_lenenc(&c->pkt, n)) < 0 || (rc = send_packet(c, c->pkt.ptr, c->pkt.len)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        mo_buf *b = &c->pkt;
        b->len = 0;
        if ((rc = put_lenstr(b, "def", 3)) < 0 || (rc = put_lenstr(b, "", 0)) < 0 ||
            (rc = put_lenstr(b, "", 0)) < 0 || (rc = put_lenstr(b, "", 0)) < 0 ||
            (rc = put_lenstr(b, cols[i].name, strlen(cols[i].name))) < 0 ||
            (rc = put_lenstr(b, "", 0)) < 0 || (rc = mo_buf_put_u8(b, 0x0c)) < 0 ||
            (rc = mo_buf_put_le16(b, cols[i].charset)) < 0 ||
            (rc = mo_buf_put_le32(b, cols[i].length)) < 0 ||
            (rc = mo_buf_put_u8(b, cols[i].type)) < 0 ||
            (rc = mo_buf_put_le16(b, cols[i].flags)) < 0 || (rc = mo_buf_put_u8(b, 0)) < 0 ||
            (rc = mo_buf_put_le16(b, 0)) < 0 || (rc = send_packet(c, b->ptr, b->len)) < 0)
            return rc;
    }
    return c->deprecate_eof ? MO_OK : send_eof(c);
}

int mo_srv__rs_row(mo_srv_conn *c, const srv_cell *cells, size_t n)
{
    int rc;
    mo_buf *b = &c->pkt;
    b->len = 0;
    for (size_t i = 0; i < n; i++) {
        rc = cells[i].null ? mo_buf_put_u8(b, 0xfb) : put_lenstr(b, cells[i].p, cells[i].len);
        if (rc < 0)
            return rc;
    }
    return send_packet(c, b->ptr, b->len);
}

int mo_srv__rs_end(mo_srv_conn *c)
{
    if (!c->deprecate_eof)
        return send_eof(c);
    /* OK-style terminator: 0xFE header, shorter than 0xFFFFFF */
    const uint8_t ok[7] = {0xfe, 0, 0, SERVER_STATUS_AUTOCOMMIT, 0, 0, 0};
    return send_packet(c, ok, sizeof(ok));
}

void mo_srv__chunk_acquire(mo_srv *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->chunk_reads >= s->opts.max_chunk_reads && !atomic_load(&s->stopping))
        pthread_cond_wait(&s->cv, &s->mu);
    s->chunk_reads++;
    pthread_mutex_unlock(&s->mu);
}

void mo_srv__chunk_release(mo_srv *s)
{
    pthread_mutex_lock(&s->mu);
    s->chunk_reads--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---------------- handshake ---------------- */

static void make_scramble(uint8_t s[20])
{
    if (getrandom(s, 20, 0) != 20) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)s;
        for (int i = 0; i < 20; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s[i] = (uint8_t)x;
        }
    }
    for (int i = 0; i < 20; i++) /* printable, never NUL (clients treat it as a C string) */
        s[i] = (uint8_t)(33 + s[i] % 94);
}

static int send_handshake(mo_srv_conn *c, const uint8_t scramble[20])
{
    mo_buf *b = &c->pkt;
    const char *ver = c->srv->opts.server_version;
    const uint32_t caps = SERVER_CAPS | (c->srv->ssl_ctx ? CLIENT_SSL : 0);
    int rc;
    b->len = 0;
    if ((rc = mo_buf_put_u8(b, 10)) < 0 || (rc = mo_buf_put(b, ver, strlen(ver) + 1)) < 0 ||
        (rc = mo_buf_put_le32(b, c->id)) < 0 || (rc = mo_buf_put(b, scramble, 8)) < 0 ||
        (rc = mo_buf_put_u8(b, 0)) < 0 ||
        (rc = mo_buf_put_le16(b, (uint16_t)(caps & 0xffff))) < 0 ||
        (rc = mo_buf_put_u8(b, SRV_CS_UTF8MB4)) < 0 ||
        (rc = mo_buf_put_le16(b, SERVER_STATUS_AUTOCOMMIT)) < 0 ||
        (rc = mo_buf_put_le16(b, (uint16_t)(caps >> 16))) < 0 ||
        (rc = mo_buf_put_u8(b, 21)) < 0 || (rc = mo_buf_put_zero(b, 10)) < 0 ||
        (rc = mo_buf_put(b, scramble + 8, 12)) < 0 || (rc = mo_buf_put_u8(b, 0)) < 0 ||
        (rc = mo_buf_put(b, NATIVE, sizeof(NATIVE))) < 0)
        return rc;
    if ((rc = send_packet(c, b->ptr, b->len)) < 0)
        return rc;
    return mo_srv__flush(c);
}

static bool cur_cstr(mo_cur *cur, const char **s, size_t *n)
{
    const uint8_t *p = cur->p + cur->pos;
    const uint8_t *z = memchr(p, 0, mo_cur_left(cur));
    if (!z)
        return false;
    *s = (const char *)p;
    *n = (size_t)(z - p);
    cur->pos += *n + 1;
    return true;
}

static bool cur_lenenc(mo_cur *cur, uint64_t *v)
{
    uint8_t b;
    if (!mo_cur_u8(cur, &b))
        return false;
    if (b < 0xfb) {
        *v = b;
        return true;
    }
    const uint8_t *p;
    size_t n = b == 0xfc ? 2 : b == 0xfd ? 3 : b == 0xfe ? 8 : 0;
    if (!n || !mo_cur_take(cur, n, &p))
        return false;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v |= (uint64_t)p[i] << (8 * i);
    return true;
}

static bool copy_name(char dst[MO_SRV_NAME_MAX], const char *s, size_t n)
{
    if (n >= MO_SRV_NAME_MAX || memchr(s, 0, n))
        return false;
    memcpy(dst, s, n);
    dst[n] = 0;
    return true;
}

/* MO's GetTenantInfo: drop from '?', split on ':' else '#' else "%3A", else tenant sys. */
static bool split_login(mo_srv_conn *c, const char *login)
{
    char name[MO_SRV_NAME_MAX];
    size_t n = strcspn(login, "?");
    if (!copy_name(name, login, n))
        return false;
    char sep = strchr(name, ':') ? ':' : strchr(name, '#') ? '#' : 0;
    if (!sep && strstr(name, "%3A")) {
        char *w = name;
        for (const char *r = name; *r;) {
            if (!strncmp(r, "%3A", 3)) {
                *w++ = ':';
                r += 3;
            } else {
                *w++ = *r++;
            }
        }
        *w = 0;
        sep = ':';
    }
    if (!sep) {
        if (!name[0])
            return false;
        memcpy(c->tenant, "sys", 4);
        memcpy(c->user, name, strlen(name) + 1);
        return true;
    }
    char *a = strchr(name, sep);
    *a = 0;
    char *u = a + 1;
    char *role = strchr(u, sep);
    if (role) {
        *role = 0;
        if (!role[1])
            return false;
    }
    if (!name[0] || !u[0])
        return false;
    memcpy(c->tenant, name, strlen(name) + 1);
    memcpy(c->user, u, strlen(u) + 1);
    return true;
}

static int deny(mo_srv_conn *c, const char *login, bool with_pw)
{
    atomic_fetch_add(&c->srv->st_auth, 1);
    mo_srv__err(c, 1045, "28000", "Access denied for user %s. internal error: check password failed (using password: %s)",
                login, with_pw ? "YES" : "NO");
    mo_srv__flush(c);
    return MO_EUPSTREAM;
}

/* The TLS handshake after an SSLRequest (sequence id 1); the next packet is id 2. */
static int tls_accept(mo_srv_conn *c)
{
    mo_srv *s = c->srv;
    if (!s->ssl_ctx) {
        mo_srv__err(c, 1105, "08S01", "SSL is not supported by this server");
        mo_srv__flush(c);
        return MO_EINVAL;
    }
    if (!(c->ssl = SSL_new(s->ssl_ctx)) || !SSL_set_fd(c->ssl, c->fd)) {
        ERR_clear_error();
        return MO_ENOMEM;
    }
    ERR_clear_error();
    const int r = SSL_accept(c->ssl);
    if (r != 1) {
        char why[160] = "connection closed";
        const unsigned long e = ERR_get_error();
        if (e)
            ERR_error_string_n(e, why, sizeof(why));
        else if (SSL_get_error(c->ssl, r) == SSL_ERROR_SYSCALL && errno)
            snprintf(why, sizeof(why), "%s", strerror(errno));
        ERR_clear_error();
        atomic_fetch_add(&s->st_tls_failed, 1);
        if (s->opts.log)
            fprintf(stderr, "moupstream: conn %u: TLS handshake failed: %s\n", c->id, why);
        c->broken = true; /* no close_notify on a session that never was */
        return MO_EIO;
    }
    c->io = &tls_io;
    atomic_fetch_add(&s->st_tls, 1);
    if (s->opts.log)
        fprintf(stderr, "moupstream: conn %u: TLS session %s %s\n", c->id,
                SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
    return MO_OK;
}

static int handshake(mo_srv_conn *c)
{
    uint8_t scramble[20];
    int rc;
    make_scramble(scramble);
    c->seq = 0;
    if ((rc = send_handshake(c, scramble)) < 0 || (rc = read_packet(c)) < 0)
        return rc;
    mo_cur cur;
    mo_cur_init(&cur, c->in.ptr, c->in.len);
    uint32_t caps, maxpkt;
    uint8_t cs;
    const uint8_t *skip;
    if (!mo_cur_le32(&cur, &caps))
        goto bad;
    if (!(caps & CLIENT_PROTOCOL_41)) {
        mo_srv__err(c, 1105, "HY000", "client must support CLIENT_PROTOCOL_41");
        mo_srv__flush(c);
        return MO_EVERSION;
    }
    if (caps & CLIENT_SSL && c->in.len == 32) { /* SSLRequest: the rest comes inside TLS */
        if ((rc = tls_accept(c)) < 0 || (rc = read_packet(c)) < 0)
            return rc;
        mo_cur_init(&cur, c->in.ptr, c->in.len);
        if (!mo_cur_le32(&cur, &caps) || !(caps & CLIENT_PROTOCOL_41))
            goto bad;
    }
    /* the login (user name, auth token) has reached the server, accepted or not */
    atomic_fetch_add(&c->srv->st_logins, 1);
    if (!c->ssl && c->srv->opts.require_secure_transport) {
        mo_srv__err(c, ER_SECURE_TRANSPORT_REQUIRED, "08004",
                    "Connections using insecure transport are prohibited while "
                    "--require_secure_transport=ON.");
        mo_srv__flush(c);
        return MO_EINVAL;
    }
    if (!mo_cur_le32(&cur, &maxpkt) || !mo_cur_u8(&cur, &cs) || !mo_cur_take(&cur, 23, &skip))
        goto bad;
    const char *login;
    size_t login_n;
    if (!cur_cstr(&cur, &login, &login_n))
        goto bad;
    char login_s[MO_SRV_NAME_MAX];
    if (!copy_name(login_s, login, login_n))
        goto bad;
    const uint8_t *tok = NULL;
    size_t tok_n = 0;
    if (caps & CLIENT_PLUGIN_AUTH_LENENC) {
        uint64_t l;
        if (!cur_lenenc(&cur, &l) || l > mo_cur_left(&cur) || !mo_cur_take(&cur, (size_t)l, &tok))
            goto bad;
        tok_n = (size_t)l;
    } else if (caps & CLIENT_SECURE_CONNECTION) {
        uint8_t l;
        if (!mo_cur_u8(&cur, &l) || !mo_cur_take(&cur, l, &tok))
            goto bad;
        tok_n = l;
    } else {
        const char *s;
        if (!cur_cstr(&cur, &s, &tok_n))
            goto bad;
        tok = (const uint8_t *)s;
    }
    if (caps & CLIENT_CONNECT_WITH_DB && mo_cur_left(&cur)) {
        const char *db;
        size_t dbn;
        if (!cur_cstr(&cur, &db, &dbn))
            goto bad;
        if (!copy_name(c->db, db, dbn))
            goto bad;
    }
    const char *plugin = NATIVE;
    size_t plugin_n = strlen(NATIVE);
    if (caps & CLIENT_PLUGIN_AUTH && mo_cur_left(&cur)) {
        if (!cur_cstr(&cur, &plugin, &plugin_n)) { /* tolerate a missing final NUL */
            plugin = (const char *)cur.p + cur.pos;
            plugin_n = mo_cur_left(&cur);
            cur.pos = cur.len;
        }
    }
    if (caps & CLIENT_CONNECT_ATTRS && mo_cur_left(&cur)) {
        uint64_t l;
        if (!cur_lenenc(&cur, &l) || l > mo_cur_left(&cur))
            goto bad;
        mo_cur attrs;
        mo_cur_init(&attrs, cur.p + cur.pos, (size_t)l);
        while (mo_cur_left(&attrs)) { /* key/value pairs, validated then ignored */
            uint64_t kl;
            if (!cur_lenenc(&attrs, &kl) || kl > mo_cur_left(&attrs) ||
                !mo_cur_take(&attrs, (size_t)kl, &skip))
                goto bad;
        }
    }
    c->client_caps = caps;
    c->deprecate_eof = (caps & SERVER_CAPS & CLIENT_DEPRECATE_EOF) != 0;

    uint8_t tokbuf[64];
    if (tok_n > sizeof(tokbuf))
        tok_n = sizeof(tokbuf); /* longer than any native token: fails verification below */
    memcpy(tokbuf, tok ? tok : (const uint8_t *)"", tok_n);
    if (plugin_n != strlen(NATIVE) || memcmp(plugin, NATIVE, plugin_n)) {
        /* auth switch to mysql_native_password, once */
        mo_buf *b = &c->pkt;
        b->len = 0;
        if ((rc = mo_buf_put_u8(b, 0xfe)) < 0 || (rc = mo_buf_put(b, NATIVE, sizeof(NATIVE))) < 0 ||
            (rc = mo_buf_put(b, scramble, 20)) < 0 || (rc = mo_buf_put_u8(b, 0)) < 0 ||
            (rc = send_packet(c, b->ptr, b->len)) < 0 || (rc = mo_srv__flush(c)) < 0 ||
            (rc = read_packet(c)) < 0)
            return rc;
        tok_n = c->in.len < sizeof(tokbuf) ? c->in.len : sizeof(tokbuf);
        memcpy(tokbuf, c->in.ptr, tok_n);
    }
    if (!split_login(c, login_s))
        return deny(c, login_s, tok_n != 0);
    const char *pw = c->srv->ops->password(c->srv->ctx, c->tenant, c->user);
    if (!pw || !native_ok(pw, scramble, tokbuf, tok_n))
        return deny(c, login_s, tok_n != 0);
    if ((rc = mo_srv__ok(c, 0)) < 0)
        return rc;
    return mo_srv__flush(c);
bad:
    mo_srv__err(c, 1043, "08S01", "Bad handshake");
    mo_srv__flush(c);
    return MO_ECORRUPT;
}

/* ---------------- connection ---------------- */

static void set_timeout(int fd, int opt, unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

static void serve(mo_srv_conn *c)
{
    mo_srv *s = c->srv;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    set_timeout(c->fd, SO_SNDTIMEO, s->opts.write_timeout_ms);
    set_timeout(c->fd, SO_RCVTIMEO, s->opts.write_timeout_ms); /* handshake */
    if (handshake(c) < 0)
        return;
    set_timeout(c->fd, SO_RCVTIMEO, s->opts.read_timeout_ms);
    while (!atomic_load(&s->stopping) && !c->broken) {
        c->seq = 0;
        if (read_packet(c) < 0 || c->in.len == 0)
            return;
        uint8_t cmd = c->in.ptr[0];
        int rc = MO_OK;
        switch (cmd) {
        case COM_QUIT:
            return;
        case COM_PING:
        case COM_RESET_CONNECTION:
            rc = mo_srv__ok(c, 0);
            break;
        case COM_INIT_DB:
            if (!copy_name(c->db, (const char *)c->in.ptr + 1, c->in.len - 1))
                rc = mo_srv__err(c, 1102, "42000", "Incorrect database name");
            else
                rc = mo_srv__ok(c, 0);
            break;
        case COM_QUERY:
            atomic_fetch_add(&s->st_stmts, 1);
            rc = mo_srv__query(c, (const char *)c->in.ptr + 1, c->in.len - 1);
            break;
        case COM_FIELD_LIST:
        case COM_SET_OPTION:
            rc = send_eof(c);
            break;
        case COM_STATISTICS: {
            const char *st = "Uptime: 1  Threads: 1  Questions: 0  Slow queries: 0  Opens: 0  "
                             "Open tables: 0  Queries per second avg: 0.000";
            rc = send_packet(c, st, strlen(st));
            break;
        }
        default:
            rc = mo_srv__err(c, 1047, "08S01", "Unknown command");
        }
        /* before the reply's last bytes go out: a client that has the reply sees it done */
        if (c->in.cap > MO_SRV__IN_KEEP)
            in_release(c);
        if (rc < 0 || mo_srv__flush(c) < 0)
            return;
    }
}

static void *conn_main(void *arg)
{
    /* OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a peer gone mid-write must give
     * EPIPE in this thread, not kill a process that did not ignore SIGPIPE */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    srv_slot *sl = arg;
    mo_srv *s = sl->srv;
    mo_srv_conn c;
    memset(&c, 0, sizeof(c));
    c.srv = s;
    c.fd = sl->fd;
    c.io = &plain_io;
    c.id = sl->id;
    mo_buf_init(&c.in);
    mo_buf_init(&c.pkt);
    c.wbuf = mo_malloc(WBUF_CAP);
    if (c.wbuf)
        serve(&c);
    if (c.ssl) {
        if (!c.broken) /* a fault drop or a dead peer closes without close_notify */
            SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
        ERR_clear_error();
    }
    mo_free(c.wbuf);
    mo_free(c.chunk);
    in_release(&c);
    mo_buf_dispose(&c.pkt);
    pthread_mutex_lock(&s->mu);
    int fd = sl->fd;
    sl->fd = -1;
    sl->state = 2;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    close(fd);
    return NULL;
}

static void reap(mo_srv *s, bool all)
{
    for (unsigned i = 0; i < s->opts.max_connections; i++) {
        srv_slot *sl = &s->slots[i];
        pthread_mutex_lock(&s->mu);
        int st = sl->state;
        pthread_mutex_unlock(&s->mu);
        if (st == 2 || (all && st == 1)) {
            pthread_join(sl->thr, NULL);
            pthread_mutex_lock(&s->mu);
            sl->state = 0;
            pthread_mutex_unlock(&s->mu);
        }
    }
}

static void refuse_full(mo_srv *s, int fd)
{
    mo_srv_conn c;
    uint8_t wbuf[256];
    memset(&c, 0, sizeof(c));
    c.srv = s;
    c.fd = fd;
    c.io = &plain_io;
    c.wbuf = wbuf;
    mo_buf_init(&c.pkt);
    set_timeout(fd, SO_SNDTIMEO, 1000);
    /* MySQL answers a connection over the limit with ERR 1040 as its first packet */
    c.seq = 0;
    if (mo_srv__err(&c, 1040, "08004", "Too many connections") == MO_OK)
        mo_srv__flush(&c);
    mo_buf_dispose(&c.pkt);
    shutdown(fd, SHUT_WR);
    close(fd);
}

static void *accept_main(void *arg)
{
    mo_srv *s = arg;
    while (!atomic_load(&s->stopping)) {
        struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
        int n = poll(p, 2, 1000);
        reap(s, false);
        if (n <= 0 || p[1].revents)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        atomic_fetch_add(&s->st_accepted, 1);
        if (atomic_load(&s->fault_refused) < s->opts.fault.refuse) {
            atomic_fetch_add(&s->fault_refused, 1);
            atomic_fetch_add(&s->st_refused, 1);
            close(fd);
            continue;
        }
        srv_slot *free_sl = NULL;
        pthread_mutex_lock(&s->mu);
        for (unsigned i = 0; i < s->opts.max_connections && !free_sl; i++)
            if (s->slots[i].state == 0)
                free_sl = &s->slots[i];
        if (free_sl) {
            free_sl->state = 1;
            free_sl->fd = fd;
            free_sl->srv = s;
            free_sl->id = (uint32_t)atomic_fetch_add(&s->next_conn_id, 1);
        }
        pthread_mutex_unlock(&s->mu);
        if (!free_sl) {
            atomic_fetch_add(&s->st_full, 1);
            refuse_full(s, fd);
            continue;
        }
        if (pthread_create(&free_sl->thr, NULL, conn_main, free_sl) != 0) {
            pthread_mutex_lock(&s->mu);
            free_sl->state = 0;
            free_sl->fd = -1;
            pthread_mutex_unlock(&s->mu);
            refuse_full(s, fd);
        }
    }
    return NULL;
}

/* ---------------- server ---------------- */

/* The server's SSL_CTX from opts.ssl_cert / ssl_key (TLS >= 1.2), or none. */
static int tls_ctx_new(mo_srv *s, mo_err *err)
{
    const mo_srv_opts *o = &s->opts;
    if (!o->ssl_cert && !o->ssl_key) {
        if (o->require_secure_transport)
            return mo_err_set(err, MO_EINVAL, "server: require_secure_transport needs a "
                                              "TLS certificate and key");
        return MO_OK;
    }
    if (!o->ssl_cert || !o->ssl_key)
        return mo_err_set(err, MO_EINVAL, "server: TLS needs both a certificate and a key");
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *step = "SSL_CTX_new";
    if (!ctx)
        goto fail;
    step = "minimum protocol TLS 1.2";
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
        goto fail;
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF); /* MySQL framing delimits data */
#endif
    step = o->ssl_cert;
    if (SSL_CTX_use_certificate_chain_file(ctx, o->ssl_cert) != 1)
        goto fail;
    step = o->ssl_key;
    if (SSL_CTX_use_PrivateKey_file(ctx, o->ssl_key, SSL_FILETYPE_PEM) != 1)
        goto fail;
    step = "the key does not match the certificate";
    if (SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    s->ssl_ctx = ctx;
    return MO_OK;
fail:;
    char why[160] = "";
    const unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return mo_err_set(err, MO_EINVAL, "server: TLS: %s: %s", step, why[0] ? why : "failed");
}

int mo_srv_new(mo_srv **out, const mo_srv_opts *opts, const mo_srv_backend_ops *ops, void *ctx,
               mo_err *err)
{
    *out = NULL;
    if (!ops || ops->version < 1 || !ops->password)
        return mo_err_set(err, MO_EINVAL, "server: backend ops missing");
    mo_srv *s = mo_calloc(1, sizeof(*s));
    if (!s)
        return mo_err_set(err, MO_ENOMEM, "server: out of memory");
    mo_srv_opts_init(&s->opts);
    if (opts)
        s->opts = *opts;
    if (!s->opts.host)
        s->opts.host = "127.0.0.1";
    if (!s->opts.max_connections)
        s->opts.max_connections = 151;
    if (!s->opts.max_chunk_reads)
        s->opts.max_chunk_reads = 30;
    if (!s->opts.chunk_size)
        s->opts.chunk_size = MO_SRV_DEFAULT_CHUNK_SIZE;
    if (s->opts.chunk_size > ((uint64_t)1 << 30))
        return mo_srv_free(s), mo_err_set(err, MO_EINVAL, "server: chunk size above 1 GiB");
    if (!s->opts.read_timeout_ms)
        s->opts.read_timeout_ms = 600000;
    if (!s->opts.write_timeout_ms)
        s->opts.write_timeout_ms = 60000;
    if (!s->opts.server_version)
        s->opts.server_version = "8.0.30-MatrixOne-v2.2.0-moupstream";
    s->ops = ops;
    s->ctx = ctx;
    s->lfd = -1;
    s->wake[0] = s->wake[1] = -1;
    atomic_init(&s->next_conn_id, 1);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->slots = mo_calloc(s->opts.max_connections, sizeof(*s->slots));
    if (!s->slots) {
        mo_srv_free(s);
        return mo_err_set(err, MO_ENOMEM, "server: out of memory");
    }
    for (unsigned i = 0; i < s->opts.max_connections; i++)
        s->slots[i].fd = -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->opts.port);
    if (s->opts.port > 65535 || inet_pton(AF_INET, s->opts.host, &a.sin_addr) != 1) {
        mo_srv_free(s);
        return mo_err_set(err, MO_EINVAL, "server: bad listen address %s:%u",
                          opts && opts->host ? opts->host : "?", opts ? opts->port : 0);
    }
    int one = 1;
    if (pipe(s->wake) < 0 || (s->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 128) < 0) {
        int e = errno;
        mo_srv_free(s);
        return mo_err_sys(err, MO_EIO, e, "server: listen on %s:%u: %s", opts ? opts->host : "",
                          opts ? opts->port : 0, strerror(e));
    }
    fcntl(s->lfd, F_SETFD, FD_CLOEXEC);
    int rc = tls_ctx_new(s, err);
    if (rc < 0) {
        mo_srv_free(s);
        return rc;
    }
    socklen_t al = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    *out = s;
    return MO_OK;
}

unsigned mo_srv_port(const mo_srv *s)
{
    return s->port;
}

int mo_srv_start(mo_srv *s, mo_err *err)
{
    if (s->started)
        return MO_OK;
    if (pthread_create(&s->accept_thr, NULL, accept_main, s) != 0)
        return mo_err_set(err, MO_ERROR, "server: cannot start the accept thread");
    s->started = true;
    return MO_OK;
}

void mo_srv_stop(mo_srv *s)
{
    if (!s || !s->started)
        return;
    atomic_store(&s->stopping, true);
    if (write(s->wake[1], "x", 1) < 0) {
        /* poll times out within a second anyway */
    }
    pthread_join(s->accept_thr, NULL);
    pthread_mutex_lock(&s->mu);
    for (unsigned i = 0; i < s->opts.max_connections; i++)
        if (s->slots[i].state == 1 && s->slots[i].fd >= 0)
            shutdown(s->slots[i].fd, SHUT_RDWR);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    reap(s, true);
    s->started = false;
}

void mo_srv_get_stats(const mo_srv *s, mo_srv_stats *out)
{
    mo_srv *m = (mo_srv *)s;
    memset(out, 0, sizeof(*out));
    out->accepted = atomic_load(&m->st_accepted);
    out->refused_full = atomic_load(&m->st_full);
    out->refused_fault = atomic_load(&m->st_refused);
    out->auth_failed = atomic_load(&m->st_auth);
    out->statements = atomic_load(&m->st_stmts);
    out->chunk_bytes = atomic_load(&m->st_chunk);
    out->tls_sessions = atomic_load(&m->st_tls);
    out->tls_failed = atomic_load(&m->st_tls_failed);
    out->logins = atomic_load(&m->st_logins);
    pthread_mutex_lock(&m->mu);
    for (unsigned i = 0; i < s->opts.max_connections; i++)
        out->active += s->slots[i].state == 1;
    pthread_mutex_unlock(&m->mu);
}

void mo_srv_free(mo_srv *s)
{
    if (!s)
        return;
    mo_srv_stop(s);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    mo_free(s->slots);
    SSL_CTX_free(s->ssl_ctx);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    mo_free(s);
}
