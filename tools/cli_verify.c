/* `mosync verify`: files and directories (recursive; framed or raw detected per file),
 * levels frame|struct|deep, -j N worker threads over the file list, one line per problem
 * (or one JSON object per file), a summary with throughput, a progress line on a terminal.
 * Exit: 0 clean, 1 corrupt data, 3 unsupported version only, 2 usage or I/O error. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct vfile {
    char *path;
    uint64_t size;
    mo_obj_verify_result res;
    int rc;
    mo_buf out; /* this file's report lines, printed in order */
} vfile;

typedef struct vjob {
    vfile *files;
    size_t n, cap;
    size_t next;    /* next entry of order[] to take */
    size_t *order;  /* file indexes, largest file first */
    pthread_mutex_t mu;
    mo_obj_verify_opts opts;
    bool json;
    bool progress;
    uint64_t bytes_done;
    double t0;
} vjob;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int add_file(const char *path, uint64_t size, void *payload)
{
    vjob *j = payload;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 256;
        vfile *f = mo_realloc(j->files, cap * sizeof(*f));
        if (!f)
            return MO_ENOMEM;
        j->files = f;
        j->cap = cap;
    }
    vfile *f = &j->files[j->n];
    memset(f, 0, sizeof(*f));
    if (!(f->path = mo_strdup(path)))
        return MO_ENOMEM;
    f->size = size;
    j->n++;
    return MO_OK;
}

static int on_problem(const mo_obj_problem *p, void *payload)
{
    vfile *f = payload;
    if (f->out.len && f->out.ptr[f->out.len - 1] != '\n' && f->out.ptr[f->out.len - 1] != '[')
        mo_buf_put_u8(&f->out, ',');
    (void)p;
    return 0;
}

typedef struct pctx {
    vfile *f;
    bool json;
} pctx;

static int problem_cb(const mo_obj_problem *p, void *payload)
{
    pctx *c = payload;
    mo_buf *o = &c->f->out;
    if (c->json) {
        on_problem(p, c->f);
        mo_buf_printf(o, "{\"code\":\"%s\",\"offset\":%" PRIu64 ",\"in_meta\":%s,\"slot\":%d,"
                         "\"block\":%" PRId64 ",\"seqnum\":%d,\"field\":",
                      mo_code_name(p->code), p->offset, p->in_meta ? "true" : "false", p->slot,
                      p->block, p->seqnum);
        mo_cli_json_str(o, p->field ? p->field : "");
        mo_buf_printf(o, ",\"message\":");
        mo_cli_json_str(o, p->msg);
        mo_buf_put_u8(o, '}');
    } else {
        mo_buf_printf(o, "%s: %s: %s%" PRIu64, p->object, mo_code_name(p->code),
                      p->in_meta ? "meta+" : "offset ", p->offset);
        if (p->slot >= 0)
            mo_buf_printf(o, " slot %d", p->slot);
        if (p->block >= 0)
            mo_buf_printf(o, " block %" PRId64, p->block);
        if (p->seqnum >= 0)
            mo_buf_printf(o, " seqnum %d", p->seqnum);
        mo_buf_printf(o, " [%s]: %s\n", p->field ? p->field : "-", p->msg);
    }
    return 0;
}

static void verify_one(vjob *j, vfile *f)
{
    pctx c = {f, j->json};
    mo_err e = {0};
    if (j->json) {
        mo_buf_printf(&f->out, "{\"file\":");
        mo_cli_json_str(&f->out, f->path);
        mo_buf_printf(&f->out, ",\"problems\":[");
    }
    f->rc = mo_obj_verify_file(&f->res, f->path, &j->opts, problem_cb, &c, &e);
    if (j->json) {
        mo_buf_printf(&f->out, "],\"status\":\"%s\",\"framed\":%s,\"physical_size\":%" PRIu64
                               ",\"logical_size\":%" PRIu64 ",\"blocks\":%u,\"columns\":%u,"
                               "\"rows\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"bf_keys\":%" PRIu64,
                      f->rc == MO_OK ? "ok" : mo_code_name(f->rc), f->res.framed ? "true" : "false",
                      f->res.physical_size, f->res.logical_size, f->res.blocks, f->res.columns,
                      f->res.rows, f->res.chunks_checked, f->res.bf_keys_checked);
        if (f->rc < 0 && !f->res.problems) {
            mo_buf_printf(&f->out, ",\"error\":");
            mo_cli_json_str(&f->out, e.msg);
        }
        mo_buf_printf(&f->out, "}\n");
    } else if (f->rc < 0 && !f->res.problems) {
        mo_buf_printf(&f->out, "%s: %s: %s\n", f->path, mo_code_name(f->rc), e.msg);
    }
}

/* Largest first (then in list order): with -j N the last file to start is a small one, so
 * the workers finish close together (LPT scheduling); one large object last left the other
 * workers idle for most of its time. Reports are still printed in list order. */
typedef struct sized {
    uint64_t size;
    size_t idx;
} sized;

static int cmp_size_desc(const void *a, const void *b)
{
    const sized *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* j->order = file indexes by size, largest first; left NULL (list order) without memory */
static void order_largest_first(vjob *j)
{
    sized *t = mo_malloc(j->n * sizeof(*t));
    j->order = mo_malloc(j->n * sizeof(*j->order));
    if (t && j->order) {
        for (size_t i = 0; i < j->n; i++)
            t[i] = (sized){j->files[i].size, i};
        qsort(t, j->n, sizeof(*t), cmp_size_desc);
        for (size_t i = 0; i < j->n; i++)
            j->order[i] = t[i].idx;
    } else {
        mo_free(j->order);
        j->order = NULL;
    }
    mo_free(t);
}

static void *worker(void *arg)
{
    vjob *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        const size_t k = j->next < j->n ? j->next++ : j->n;
        pthread_mutex_unlock(&j->mu);
        if (k >= j->n)
            return NULL;
        vfile *f = &j->files[j->order ? j->order[k] : k];
        verify_one(j, f);
        pthread_mutex_lock(&j->mu);
        j->bytes_done += f->size;
        if (j->progress) {
            double dt = now_s() - j->t0;
            fprintf(stderr, "\r%zu/%zu objects, %.1f MB, %.1f MB/s   ", j->next, j->n,
                    j->bytes_done / 1e6, dt > 0 ? j->bytes_done / 1e6 / dt : 0.0);
        }
        pthread_mutex_unlock(&j->mu);
    }
}

int mo_cli_verify(int argc, char **argv)
{
    vjob j;
    memset(&j, 0, sizeof(j));
    j.opts.level = MO_OBJ_LEVEL_DEEP;
    j.opts.pk_seqnum = -1;
    long threads = 1;
    static const struct option lo[] = {{"level", required_argument, NULL, 'l'},
                                       {"json", no_argument, NULL, 'J'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:h", lo, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (mo_obj_level_parse(&j.opts.level, optarg) < 0) {
                fprintf(stderr, "mosync verify: --level must be frame, struct or deep\n");
                return MO_CLI_USAGE;
            }
            break;
        case 'J':
            j.json = true;
            break;
        case 'j':
            threads = strtol(optarg, NULL, 10);
            if (threads < 1 || threads > 256) {
                fprintf(stderr, "mosync verify: -j wants 1..256\n");
                return MO_CLI_USAGE;
            }
            break;
        default:
            fprintf(stderr, "usage: mosync verify [--level frame|struct|deep] [--json] [-j N] PATH...\n");
            return c == 'h' ? MO_CLI_OK : MO_CLI_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: mosync verify [--level frame|struct|deep] [--json] [-j N] PATH...\n");
        return MO_CLI_USAGE;
    }
    /* a bundle (tar written by `mosync export`) is verified entry by entry */
    if (optind + 1 == argc) {
        size_t n = strlen(argv[optind]);
        if (n > 4 && !strcmp(argv[optind] + n - 4, ".tar"))
            return mo_cli_verify_bundle(argv[optind], j.opts.level, j.json);
    }
    unsigned skipped = 0;
    int exit_code = MO_CLI_OK;
    bool io_error = false;
    for (int i = optind; i < argc; i++) {
        mo_err e = {0};
        int rc = mo_cli_walk(argv[i], add_file, &j, &skipped, &e);
        if (rc < 0) {
            fprintf(stderr, "mosync verify: %s\n", rc == MO_ENOMEM ? "out of memory" : e.msg);
            io_error = true;
        }
    }
    if (threads > 1 && j.n > 1)
        order_largest_first(&j);
    pthread_mutex_init(&j.mu, NULL);
    j.progress = isatty(2) && !j.json;
    j.t0 = now_s();
    pthread_t tids[256];
    long started = 0;
    for (long t = 1; t < threads; t++)
        if (pthread_create(&tids[started], NULL, worker, &j) == 0)
            started++;
    worker(&j);
    for (long t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    double dt = now_s() - j.t0;
    if (j.progress)
        fprintf(stderr, "\r%*s\r", 60, "");
    uint64_t bytes = 0, bad = 0, version = 0, ioerr = 0, problems = 0;
    for (size_t i = 0; i < j.n; i++) {
        vfile *f = &j.files[i];
        fwrite(f->out.ptr ? (const char *)f->out.ptr : "", 1, f->out.len, stdout);
        bytes += f->size;
        problems += f->res.problems;
        if (f->rc == MO_EVERSION && f->res.first_code == MO_EVERSION)
            version++;
        else if (f->rc == MO_ECORRUPT || f->rc == MO_ECHECKSUM || f->rc == MO_ETRUNCATED ||
                 f->rc == MO_EVERSION)
            bad++;
        else if (f->rc < 0)
            ioerr++;
        mo_buf_dispose(&f->out);
        mo_free(f->path);
    }
    if (!j.json)
        printf("verified %zu objects (%s), %.1f MB in %.2f s, %.1f MB/s: %" PRIu64 " ok, %" PRIu64
               " corrupt, %" PRIu64 " unsupported version, %" PRIu64 " unreadable, %" PRIu64
               " problems; %u non-object entries skipped\n",
               j.n,
               j.opts.level == MO_OBJ_LEVEL_DEEP     ? "deep"
               : j.opts.level == MO_OBJ_LEVEL_STRUCT ? "struct"
                                                     : "frame",
               bytes / 1e6, dt, dt > 0 ? bytes / 1e6 / dt : 0.0, j.n - bad - version - ioerr, bad,
               version, ioerr, problems, skipped);
    mo_free(j.files);
    mo_free(j.order);
    pthread_mutex_destroy(&j.mu);
    if (bad)
        exit_code = MO_CLI_CORRUPT;
    else if (version)
        exit_code = MO_CLI_VERSION;
    else if (ioerr || io_error)
        exit_code = MO_CLI_USAGE;
    return exit_code;
}
