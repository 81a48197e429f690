/* moupstream: serve a directory as a MatrixOne CCPR upstream over the MySQL protocol
 * (mo/srv.h). A replica with a catalog (DIR/.mosync/catalog, e.g. from `mosync gen`) is
 * served from the catalog with its history; any other directory as one table of files.
 * Prints the bound port on stdout when --listen asks for port 0, then serves until
 * SIGTERM/SIGINT. Exit codes: 0 stopped by a signal, 2 usage or environment error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mo/srv.h"
#include "mo/sys.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: moupstream --data DIR --listen HOST:PORT --user U --password-file F\n"
            "                  [--publish ACCT.PUB=DB[.TABLE]]... [--chunk-size SZ]\n"
            "                  [--max-connections N] [--fault SPEC] [--log]\n"
            "                  [--ssl-cert FILE --ssl-key FILE [--require-secure-transport]]\n"
            "\n"
            "Serves DIR to MatrixOne CCPR downstreams (and mosync) over the MySQL protocol:\n"
            "an upstream replica with a catalog (DIR/.mosync/catalog, from `mosync gen`) with\n"
            "its databases, tables, history and snapshots; any other directory as the files\n"
            "of one table, `mosync`.`objects`. Login as U or sys#U with the\n"
            "password in F (first line). Without --publish, account sys publishes everything\n"
            "as publication `mosync`. --publish DB may be '*' (account level). PORT 0 picks a\n"
            "free port and prints it on stdout. SZ takes k/m/g suffixes (default 100m).\n"
            "\n"
            "TLS: --ssl-cert (PEM chain) and --ssl-key (PEM) let clients start TLS (>= 1.2) as\n"
            "with a MySQL server (mariadb --ssl, mosync ?ssl-mode=...);\n"
            "--require-secure-transport refuses plain connections (ERR 3159). With --log\n"
            "each TLS session and failed TLS handshake is logged.\n"
            "\n"
            "--fault SPEC (tests), comma-separated:\n"
            "  drop-after=BYTES[/K]    close the connection after BYTES of a get_object chunk,\n"
            "                          for the first K chunk responses (default 1)\n"
            "  corrupt=chunkC:OFF[/K]  flip byte OFF of chunk C, the first K times it is served\n"
            "  retryable=K             the first K CCPR statements fail retryably (20101,\n"
            "                          'rpc timeout: backend unavailable')\n"
            "  delay=MS                sleep MS ms before answering each statement\n"
            "  refuse=K                close the first K connections before the handshake\n"
            "e.g. --fault drop-after=1m/2,retryable=3,delay=50,corrupt=chunk2:100,refuse=2\n");
}

/* The two backends behind one shape (publish before the server starts, free after it). */
typedef struct backend {
    const mo_srv_backend_ops *ops;
    int (*publish)(void *b, const char *acct, const char *pub, const char *db, const char *tbl,
                   mo_err *err);
    void (*free)(void *b);
    void *ctx;
} backend;

static int dir_publish(void *b, const char *acct, const char *pub, const char *db,
                       const char *tbl, mo_err *err)
{
    return mo_srv_dirbackend_publish(b, acct, pub, db, tbl, err);
}

static void dir_free(void *b)
{
    mo_srv_dirbackend_free(b);
}

static int cat_publish(void *b, const char *acct, const char *pub, const char *db,
                       const char *tbl, mo_err *err)
{
    return mo_srv_catbackend_publish(b, acct, pub, db, tbl, err);
}

static void cat_free(void *b)
{
    mo_srv_catbackend_free(b);
}

static int parse_sz(uint64_t *out, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned sh = 0;
    if (*end == 'k' || *end == 'K')
        sh = 10, end++;
    else if (*end == 'm' || *end == 'M')
        sh = 20, end++;
    else if (*end == 'g' || *end == 'G')
        sh = 30, end++;
    if (*end || v > (UINT64_MAX >> sh))
        return -1;
    *out = (uint64_t)v << sh;
    return 0;
}

static int read_password(char *out, size_t cap, const char *path)
{
    uint8_t *data = NULL;
    size_t n = 0;
    mo_err e;
    if (mo_sys_read_file(&data, &n, path, &e) < 0) {
        fprintf(stderr, "moupstream: --password-file: %s\n", e.msg);
        return -1;
    }
    size_t l = 0;
    while (l < n && data[l] != '\n' && data[l] != '\r')
        l++;
    if (l >= cap || memchr(data, 0, l)) {
        mo_free(data);
        fprintf(stderr, "moupstream: --password-file: password too long\n");
        return -1;
    }
    memcpy(out, data, l);
    out[l] = 0;
    mo_free(data);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"user", required_argument, NULL, 'u'},
        {"password-file", required_argument, NULL, 'p'},
        {"publish", required_argument, NULL, 'P'},
        {"chunk-size", required_argument, NULL, 'c'},
        {"max-connections", required_argument, NULL, 'm'},
        {"fault", required_argument, NULL, 'f'},
        {"log", no_argument, NULL, 'L'},
        {"ssl-cert", required_argument, NULL, 'C'},
        {"ssl-key", required_argument, NULL, 'K'},
        {"require-secure-transport", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data = NULL, *listen_s = NULL, *user = NULL, *pwfile = NULL;
    char *pubs[256];
    size_t npubs = 0;
    mo_srv_opts o;
    mo_srv_opts_init(&o);
    mo_err e;
    mo_err_clear(&e);
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'd': data = optarg; break;
        case 'l': listen_s = optarg; break;
        case 'u': user = optarg; break;
        case 'p': pwfile = optarg; break;
        case 'L': o.log = true; break;
        case 'C': o.ssl_cert = optarg; break;
        case 'K': o.ssl_key = optarg; break;
        case 'S': o.require_secure_transport = true; break;
        case 'P':
            if (npubs == sizeof(pubs) / sizeof(pubs[0])) {
                fprintf(stderr, "moupstream: too many --publish\n");
                return 2;
            }
            pubs[npubs++] = optarg;
            break;
        case 'c':
            if (parse_sz(&o.chunk_size, optarg) < 0 || o.chunk_size == 0 ||
                o.chunk_size > ((uint64_t)1 << 30)) {
                fprintf(stderr, "moupstream: bad --chunk-size '%s' (1..1g)\n", optarg);
                return 2;
            }
            break;
        case 'm': {
            uint64_t v;
            if (parse_sz(&v, optarg) < 0 || v == 0 || v > 100000) {
                fprintf(stderr, "moupstream: bad --max-connections '%s'\n", optarg);
                return 2;
            }
            o.max_connections = (unsigned)v;
            break;
        }
        case 'f':
            if (mo_srv_fault_parse(&o.fault, optarg, &e) < 0) {
                fprintf(stderr, "moupstream: --fault: %s\n", e.msg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !data || !listen_s || !user || !pwfile) {
        usage(stderr);
        return 2;
    }
    static char host[64];
    const char *colon = strrchr(listen_s, ':');
    uint64_t port;
    if (!colon || (size_t)(colon - listen_s) >= sizeof(host) || parse_sz(&port, colon + 1) < 0 ||
        port > 65535 || strpbrk(colon + 1, "kKmMgG")) {
        fprintf(stderr, "moupstream: bad --listen '%s' (HOST:PORT)\n", listen_s);
        return 2;
    }
    memcpy(host, listen_s, (size_t)(colon - listen_s));
    host[colon - listen_s] = 0;
    o.host = host;
    o.port = (unsigned)port;
    char pw[1024];
    if (read_password(pw, sizeof(pw), pwfile) < 0)
        return 2;

    /* the backend: the catalog when DIR has one, else the plain directory */
    char catdir[4096];
    struct stat cst;
    const bool use_cat = (size_t)snprintf(catdir, sizeof(catdir), "%s/.mosync/catalog", data) <
                             sizeof(catdir) &&
                         stat(catdir, &cst) == 0 && S_ISDIR(cst.st_mode);
    backend be;
    if (use_cat)
        be = (backend){mo_srv_catbackend_ops(), cat_publish, cat_free, NULL};
    else
        be = (backend){mo_srv_dirbackend_ops(), dir_publish, dir_free, NULL};
    mo_srv_catbackend *cb = NULL;
    mo_srv_dirbackend *db0 = NULL;
    const int brc = use_cat ? mo_srv_catbackend_new(&cb, data, user, pw, &e)
                            : mo_srv_dirbackend_new(&db0, data, user, pw, &e);
    be.ctx = use_cat ? (void *)cb : (void *)db0;
    if (brc < 0) {
        fprintf(stderr, "moupstream: --data: %s\n", e.msg);
        return 2;
    }
    void *b = be.ctx;
    for (size_t i = 0; i < npubs; i++) {
        /* ACCT.PUB=DB[.TABLE] */
        char spec[1024];
        if (strlen(pubs[i]) >= sizeof(spec))
            goto bad_pub;
        memcpy(spec, pubs[i], strlen(pubs[i]) + 1);
        char *eq = strchr(spec, '=');
        if (!eq)
            goto bad_pub;
        *eq = 0;
        char *dot = strchr(spec, '.');
        if (!dot || dot == spec || !dot[1])
            goto bad_pub;
        *dot = 0;
        char *db = eq + 1, *tbl = strchr(db, '.');
        if (tbl)
            *tbl++ = 0;
        if (!*db || (tbl && !*tbl) || strpbrk(spec, " \t'`\\") || strpbrk(dot + 1, " \t'`\\"))
            goto bad_pub;
        if (be.publish(b, spec, dot + 1, db, tbl, &e) < 0) {
            fprintf(stderr, "moupstream: --publish: %s\n", e.msg);
            be.free(b);
            return 2;
        }
        continue;
    bad_pub:
        fprintf(stderr, "moupstream: bad --publish '%s' (ACCT.PUB=DB[.TABLE])\n", pubs[i]);
        be.free(b);
        return 2;
    }

    /* signals are taken synchronously by this thread; every server thread inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    mo_srv *s = NULL;
    if (mo_srv_new(&s, &o, be.ops, b, &e) < 0 || mo_srv_start(s, &e) < 0) {
        fprintf(stderr, "moupstream: %s\n", e.msg);
        mo_srv_free(s);
        be.free(b);
        return 2;
    }
    if (port == 0)
        printf("%u\n", mo_srv_port(s));
    fprintf(stderr, "moupstream: listening on %s:%u (%s backend%s)\n", host, mo_srv_port(s),
            use_cat ? "catalog" : "directory",
            o.require_secure_transport ? ", TLS required" : o.ssl_cert ? ", TLS" : "");
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    mo_srv_stats st;
    mo_srv_get_stats(s, &st);
    mo_srv_free(s);
    be.free(b);
    fprintf(stderr,
            "moupstream: stopped by signal %d; %" PRIu64 " connections, %" PRIu64
            " statements, %" PRIu64 " chunk bytes, %" PRIu64 " TLS sessions, %" PRIu64
            " failed TLS handshakes, %" PRIu64 " logins\n",
            sig, st.accepted, st.statements, st.chunk_bytes, st.tls_sessions, st.tls_failed,
            st.logins);
    return 0;
}
