/* Fuzz target for moupstream's protocol handling: the MySQL wire protocol (srv_mysql.c), the
 * CCPR statements (srv_ccpr.c) and the catalog backend behind them, over real loopback TCP.
 *
 * Once per process: a small generated replica (mo_gen_create + a mutate run covering every
 * generator operation) under $MO_TMP (else $TMPDIR, else /tmp), served by an in-process
 * mo_srv on 127.0.0.1, port 0, login root / "fuzzpw", faults off, chunk size 512 bytes so
 * that get_object has several chunks. Publications: sys.mosync (everything), sys.p1
 * (fz.kv_r2, a table the generator's scenario renames into existence), sys.p2 (database fz).
 *
 * Per input, one connection; byte 0 selects the mode:
 * - bit 0 clear, pre-auth: the remaining bytes go raw to the server (the handshake response
 *   and whatever follows); login cannot succeed, the parsers before it are the target.
 * - bit 0 set, post-auth: the harness reads the greeting and logs in with the scramble
 *   (bit 1: CLIENT_DEPRECATE_EOF, bit 2: CLIENT_CONNECT_WITH_DB "fz"), then sends the rest
 *   as records: u16 LE n, then n bytes (clamped to what is left). With n & 0x8000 the
 *   (n & 0x7fff) bytes go raw (own headers: huge lengths, bad sequence ids); else they are
 *   one packet with a correct header and sequence id 0. Bit 3: in framed packets "@0".."@9"
 *   become the names of the replica's objects (sorted), so that mutated inputs keep
 *   reaching get_object's read path.
 * Everything is sent pipelined while the replies are read; then the harness half-closes
 * and reads until the server closes.
 *
 * Oracles: ASan/UBSan in the server threads; the server must close within HANG_MS of the
 * client's EOF (else a hang: abort); its output must be whole packets; a correct login
 * must get OK. Snapshots an input creates are dropped after it, so that inputs do not
 * depend on each other. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mo/base.h"
#include "mo/gen.h"
#include "mo/obj_types.h"
#include "mo/srv.h"
#include "mo_fuzz.h"

#define HANG_MS 5000
#define PASSWORD "fuzzpw"
#define MAX_OBJS 10

static struct {
    bool ready;
    char dir[512];
    mo_srv_catbackend *be;
    mo_srv *srv;
    mo_srv_backend_ops ops; /* the catalog backend's, snapshot creation recorded */
    char objs[MAX_OBJS][48];
    size_t nobjs;
    pthread_mutex_t mu;
    mo_srv_snap *made; /* snapshots the current input created */
    size_t nmade, capmade;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---------------- setup ---------------- */

static int snap_create_rec(void *ctx, mo_srv_snap *req, mo_err *err)
{
    const int rc = mo_srv_catbackend_ops()->snap_create(ctx, req, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&g.mu);
    if (g.nmade == g.capmade) {
        const size_t cap = g.capmade ? 2 * g.capmade : 16;
        mo_srv_snap *v = mo_realloc(g.made, cap * sizeof(*v));
        MO_FUZZ_CHECK(v != NULL);
        g.made = v;
        g.capmade = cap;
    }
    g.made[g.nmade++] = *req;
    pthread_mutex_unlock(&g.mu);
    return rc;
}

static void drop_made(void)
{
    pthread_mutex_lock(&g.mu);
    for (size_t i = 0; i < g.nmade; i++) /* gone already when the input dropped it itself */
        mo_srv_catbackend_ops()->snap_drop(g.be, g.made[i].account, g.made[i].name, NULL);
    g.nmade = 0;
    pthread_mutex_unlock(&g.mu);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void teardown(void)
{
    mo_srv_free(g.srv);
    mo_srv_catbackend_free(g.be);
    mo_free(g.made);
    if (g.dir[0])
        nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void list_objects(void)
{
    DIR *d = opendir(g.dir);
    MO_FUZZ_CHECK(d != NULL);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!mo_obj_name_valid(e->d_name) || strlen(e->d_name) >= sizeof(g.objs[0]))
            continue;
        if (g.nobjs < MAX_OBJS) {
            memcpy(g.objs[g.nobjs++], e->d_name, strlen(e->d_name) + 1);
        } else if (strcmp(e->d_name, g.objs[MAX_OBJS - 1]) < 0) { /* keep the smallest */
            memcpy(g.objs[MAX_OBJS - 1], e->d_name, strlen(e->d_name) + 1);
        }
        qsort(g.objs, g.nobjs, sizeof(g.objs[0]), cmp_name);
    }
    closedir(d);
    MO_FUZZ_CHECK(g.nobjs > 0);
}

static void setup(void)
{
    mo_err err;
    const char *base = getenv("MO_TMP");
    if (!base || !*base)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(g.dir, sizeof(g.dir), "%s/fuzz_srv.XXXXXX", base);
    MO_FUZZ_CHECK(mkdtemp(g.dir) != NULL);
    atexit(teardown);
    static const mo_gen_table_spec specs[] = {{"kv", 40, "id:int64,v:varchar(20)"},
                                              {"item", 30, NULL}};
    mo_gen_opts go = {.db = "fz", .tables = specs, .ntables = 2, .seed = 7};
    go.appendable_share = -1;
    if (mo_gen_create(g.dir, &go, NULL, &err) < 0 ||
        mo_gen_mutate(g.dir, MO_GEN_OP_COUNT, 8, false, NULL, &err) < 0 ||
        mo_srv_catbackend_new(&g.be, g.dir, "root", PASSWORD, &err) < 0 ||
        mo_srv_catbackend_publish(g.be, "sys", "mosync", "*", NULL, &err) < 0 ||
        mo_srv_catbackend_publish(g.be, "sys", "p1", "fz", "kv_r2", &err) < 0 ||
        mo_srv_catbackend_publish(g.be, "sys", "p2", "fz", NULL, &err) < 0) {
        fprintf(stderr, "fuzz_srv_protocol: setup: %s\n", err.msg);
        abort();
    }
    list_objects();
    g.ops = *mo_srv_catbackend_ops();
    g.ops.snap_create = snap_create_rec;
    mo_srv_opts o;
    mo_srv_opts_init(&o);
    o.chunk_size = 512;
    o.read_timeout_ms = 30000;
    o.write_timeout_ms = 30000;
    if (mo_srv_new(&g.srv, &o, &g.ops, g.be, &err) < 0 || mo_srv_start(g.srv, &err) < 0) {
        fprintf(stderr, "fuzz_srv_protocol: server: %s\n", err.msg);
        abort();
    }
    g.ready = true;
}

/* ---------------- client side ---------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll until @p p is ready or @p deadline; libFuzzer's timer signals interrupt poll (EINTR) */
static bool wait_fd(struct pollfd *p, int64_t deadline)
{
    for (;;) {
        const int64_t wait = deadline - now_ms();
        if (wait <= 0)
            return false;
        const int n = poll(p, 1, (int)wait);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

/* Splits the server's byte stream into packets; whole packets are all the server may send. */
typedef struct framer {
    uint8_t hdr[4];
    size_t have; /* header bytes seen */
    size_t left; /* body bytes still due */
    uint64_t packets;
} framer;

static void framer_feed(framer *f, const uint8_t *p, size_t n)
{
    while (n) {
        if (f->left) {
            const size_t k = n < f->left ? n : f->left;
            f->left -= k;
            p += k;
            n -= k;
            continue;
        }
        f->hdr[f->have++] = *p++;
        n--;
        if (f->have == 4) {
            f->have = 0;
            f->left = (size_t)f->hdr[0] | (size_t)f->hdr[1] << 8 | (size_t)f->hdr[2] << 16;
            f->packets++;
        }
    }
}

static int connect_srv(void)
{
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    MO_FUZZ_CHECK(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)mo_srv_port(g.srv));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    if (rc != 0 && errno == EINTR) { /* a timer signal: the connection goes on by itself */
        struct pollfd p = {fd, POLLOUT, 0};
        int e = 0;
        socklen_t el = sizeof(e);
        rc = wait_fd(&p, now_ms() + HANG_MS) && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0
                 ? (errno = e, e ? -1 : 0)
                 : -1;
    }
    if (rc != 0) {
        fprintf(stderr, "fuzz_srv_protocol: connect: %s\n", strerror(errno));
        abort();
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Reads exactly one packet (blocking, bounded by the hang deadline) into buf. */
static size_t read_one(int fd, uint8_t *buf, size_t cap, uint8_t *seq, int64_t deadline)
{
    uint8_t h[4];
    size_t got = 0, len = 4;
    uint8_t *dst = h;
    for (int part = 0; part < 2; part++) {
        while (got < len) {
            struct pollfd p = {fd, POLLIN, 0};
            MO_FUZZ_CHECK(wait_fd(&p, deadline)); /* else the server hangs */
            const ssize_t k = recv(fd, dst + got, len - got, 0);
            MO_FUZZ_CHECK(k > 0); /* the server closed in the middle of its greeting or OK */
            got += (size_t)k;
        }
        if (part == 0) {
            len = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
            *seq = h[3];
            MO_FUZZ_CHECK(len <= cap);
            dst = buf;
            got = 0;
        }
    }
    return len;
}

static void sha1(uint8_t out[20], const void *a, size_t an, const void *b, size_t bn)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    MO_FUZZ_CHECK(c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) && EVP_DigestUpdate(c, a, an) &&
                  (!bn || EVP_DigestUpdate(c, b, bn)) && EVP_DigestFinal_ex(c, out, &n));
    EVP_MD_CTX_free(c);
}

/* Reads the greeting, answers it as root/PASSWORD and requires the OK. */
static void login(int fd, uint8_t mode, int64_t deadline)
{
    uint8_t buf[512], seq;
    const size_t n = read_one(fd, buf, sizeof(buf), &seq, deadline);
    MO_FUZZ_CHECK(seq == 0 && n > 1 && buf[0] == 10);
    const uint8_t *nul = memchr(buf + 1, 0, n - 1);
    MO_FUZZ_CHECK(nul != NULL);
    size_t p = (size_t)(nul - buf) + 1 + 4; /* version, connection id */
    MO_FUZZ_CHECK(p + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 12 <= n);
    uint8_t salt[20];
    memcpy(salt, buf + p, 8);
    p += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10;
    memcpy(salt + 8, buf + p, 12);
    uint8_t s1[20], s2[20], s3[20];
    sha1(s1, PASSWORD, strlen(PASSWORD), NULL, 0);
    sha1(s2, s1, 20, NULL, 0);
    sha1(s3, salt, 20, s2, 20);
    uint32_t caps = 0x00000001u | 0x00000200u | 0x00002000u | 0x00008000u | 0x00010000u |
                    0x00020000u | 0x00080000u; /* LONG_PASSWORD PROTOCOL_41 TRANSACTIONS
                                                  SECURE_CONNECTION MULTI_* PLUGIN_AUTH */
    if (mode & 2)
        caps |= 0x01000000u; /* DEPRECATE_EOF */
    if (mode & 4)
        caps |= 0x00000008u; /* CONNECT_WITH_DB */
    mo_buf r = MO_BUF_INIT;
    uint8_t zero[23] = {0};
    int rc = mo_buf_put_le32(&r, caps) | mo_buf_put_le32(&r, 1u << 24) | mo_buf_put_u8(&r, 45) |
             mo_buf_put(&r, zero, 23) | mo_buf_put(&r, "root", 5) | mo_buf_put_u8(&r, 20);
    for (int i = 0; i < 20; i++)
        rc |= mo_buf_put_u8(&r, (uint8_t)(s1[i] ^ s3[i]));
    if (mode & 4)
        rc |= mo_buf_put(&r, "fz", 3);
    rc |= mo_buf_put(&r, "mysql_native_password", 22);
    MO_FUZZ_CHECK(rc == 0 && r.len < 256);
    const uint8_t h[4] = {(uint8_t)r.len, 0, 0, 1};
    MO_FUZZ_CHECK(send(fd, h, 4, MSG_NOSIGNAL) == 4);
    MO_FUZZ_CHECK(send(fd, r.ptr, r.len, MSG_NOSIGNAL) == (ssize_t)r.len);
    mo_buf_dispose(&r);
    const size_t k = read_one(fd, buf, sizeof(buf), &seq, deadline);
    MO_FUZZ_CHECK(seq == 2 && k > 0 && buf[0] == 0x00); /* a correct login is accepted */
}

/* One framed packet: header, payload with the @<digit> object placeholders expanded. */
static void put_packet(mo_buf *out, const uint8_t *p, size_t n, bool expand)
{
    const size_t at = out->len;
    int rc = mo_buf_put_zero(out, 4);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (expand && p[i] == '@' && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9') {
            const char *name = g.objs[(size_t)(p[i + 1] - '0') % g.nobjs];
            rc = mo_buf_put(out, name, strlen(name));
            i++;
        } else {
            rc = mo_buf_put_u8(out, p[i]);
        }
    }
    MO_FUZZ_CHECK(rc == 0);
    const size_t len = out->len - at - 4; /* < 2^24: inputs are far smaller */
    out->ptr[at] = (uint8_t)len;
    out->ptr[at + 1] = (uint8_t)(len >> 8);
    out->ptr[at + 2] = (uint8_t)(len >> 16);
    out->ptr[at + 3] = 0;
}

static void build_records(mo_buf *out, const uint8_t *p, size_t n, bool expand)
{
    while (n) {
        size_t len = p[0];
        if (n >= 2)
            len |= (size_t)p[1] << 8;
        const size_t hdr = n >= 2 ? 2 : 1;
        p += hdr;
        n -= hdr;
        const bool raw = (len & 0x8000) != 0;
        len &= 0x7fff;
        if (len > n)
            len = n;
        if (raw)
            MO_FUZZ_CHECK(mo_buf_put(out, p, len) == 0);
        else
            put_packet(out, p, len, expand);
        p += len;
        n -= len;
    }
}

/* Sends @p n bytes while draining the replies, half-closes, reads until the server closes. */
static void pump(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
    framer f;
    memset(&f, 0, sizeof(f));
    bool wr_open = true;
    uint8_t buf[65536];
    bool clean = false; /* EOF, not a reset (which may drop what the server sent last) */
    for (;;) {
        if (wr_open && n == 0) {
            shutdown(fd, SHUT_WR);
            wr_open = false;
        }
        struct pollfd pf = {fd, (short)(POLLIN | (wr_open ? POLLOUT : 0)), 0};
        if (!wait_fd(&pf, deadline)) {
            fprintf(stderr,
                    "fuzz_srv_protocol: the server did not close the connection within "
                    "%d ms of the client's last byte (hang)\n",
                    HANG_MS);
            abort();
        }
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                clean = k == 0;
                break; /* closed (a reset after unread input counts too) */
            }
            if (k > 0)
                framer_feed(&f, buf, (size_t)k);
        }
        if (wr_open && (pf.revents & POLLOUT)) {
            const ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k > 0) {
                p += k;
                n -= (size_t)k;
            } else if (k < 0 && errno != EAGAIN && errno != EINTR) {
                n = 0; /* the server is gone; read what it said */
            }
        }
    }
    if (clean && (f.have || f.left)) {
        fprintf(stderr,
                "fuzz_srv_protocol: the server closed inside a packet (%zu header bytes, "
                "%zu body bytes missing)\n",
                f.have, f.left);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > ((size_t)1 << 20))
        return 0;
    if (!g.ready)
        setup();
    const int64_t deadline = now_ms() + HANG_MS;
    const int fd = connect_srv();
    const uint8_t mode = data[0];
    if (!(mode & 1)) {
        pump(fd, data + 1, size - 1, deadline);
    } else {
        login(fd, mode, deadline);
        mo_buf out = MO_BUF_INIT;
        build_records(&out, data + 1, size - 1, (mode & 8) != 0);
        pump(fd, out.ptr, out.len, now_ms() + HANG_MS);
        mo_buf_dispose(&out);
    }
    close(fd);
    drop_made();
    return 0;
}
