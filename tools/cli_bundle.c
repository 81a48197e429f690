/* Bundles on the command line: `mosync export --from DIR --to FILE.tar` (a summary line;
 * exit 0, 1 when the source holds damaged data, 2 usage or I/O) and the bundle half of
 * `mosync verify` (one line per problem as for plain objects, or one JSON object, then a
 * summary; exit 0 clean, 1 corrupt, 2 I/O, 3 unsupported version only). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "mo/xfer.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char export_usage[] = "usage: mosync export --from DIR --to FILE.tar\n";

typedef struct count {
    uint64_t objects, bytes, with_stats;
} count;

static int count_ref(const mo_obj_ref *ref, void *payload)
{
    count *c = payload;
    c->objects++;
    c->bytes += ref->size;
    c->with_stats += ref->has_stats;
    return 0;
}

int mo_cli_export(int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    static const struct option lo[] = {{"from", required_argument, NULL, 'f'},
                                       {"to", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        default:
            fputs(export_usage, stderr);
            return c == 'h' ? MO_CLI_OK : MO_CLI_USAGE;
        }
    }
    if (!from || !to || optind != argc) {
        fputs(export_usage, stderr);
        return MO_CLI_USAGE;
    }
    const double t0 = now_s();
    mo_err e = {0};
    mo_src *src;
    int rc = mo_src_open(&src, from, &e);
    if (rc < 0) {
        fprintf(stderr, "mosync export: %s\n", e.msg);
        return MO_CLI_USAGE;
    }
    rc = mo_xfer_export(src, to, &e);
    mo_src_free(src);
    if (rc < 0) {
        fprintf(stderr, "mosync export: %s: %s\n", mo_code_name(rc), e.msg);
        return mo_cli_exit_for(rc);
    }
    const double dt = now_s() - t0;
    /* the summary comes from the bundle just written: it also re-reads its manifest */
    count n = {0, 0, 0};
    mo_src *b;
    if ((rc = mo_src_bundle_open(&b, to, &e)) == MO_OK) {
        rc = b->ops->list(b, count_ref, &n, NULL, &e);
        mo_src_free(b);
    }
    if (rc < 0) {
        fprintf(stderr, "mosync export: %s: rereading %s: %s\n", mo_code_name(rc), to, e.msg);
        return mo_cli_exit_for(rc);
    }
    struct stat st;
    const double tar_mb = stat(to, &st) == 0 ? (double)st.st_size / 1e6 : 0.0;
    printf("exported %" PRIu64 " objects (%" PRIu64 " with ObjectStats), %.1f MB of objects, "
           "to %s (%.1f MB) in %.2f s, %.1f MB/s\n",
           n.objects, n.with_stats, n.bytes / 1e6, to, tar_mb, dt,
           dt > 0 ? n.bytes / 1e6 / dt : 0.0);
    return MO_CLI_OK;
}

typedef struct vbctx {
    bool json;
    unsigned printed;
    mo_buf line;
} vbctx;

static int print_problem(const mo_obj_problem *p, void *payload)
{
    vbctx *c = payload;
    mo_buf *o = &c->line;
    o->len = 0;
    if (c->json) {
        mo_buf_printf(o, "%s{\"object\":", c->printed ? "," : "");
        mo_cli_json_str(o, p->object);
        mo_buf_printf(o,
                      ",\"code\":\"%s\",\"offset\":%" PRIu64 ",\"in_meta\":%s,\"slot\":%d,"
                      "\"block\":%" PRId64 ",\"seqnum\":%d,\"field\":",
                      mo_code_name(p->code), p->offset, p->in_meta ? "true" : "false", p->slot,
                      p->block, p->seqnum);
        mo_cli_json_str(o, p->field ? p->field : "");
        mo_buf_printf(o, ",\"message\":");
        mo_cli_json_str(o, p->msg ? p->msg : "");
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
        mo_buf_printf(o, " [%s]: %s\n", p->field ? p->field : "-", p->msg ? p->msg : "");
    }
    fwrite(o->ptr ? (const char *)o->ptr : "", 1, o->len, stdout);
    c->printed++;
    return 0;
}

int mo_cli_verify_bundle(const char *path, mo_obj_level level, bool json)
{
    vbctx c = {json, 0, MO_BUF_INIT};
    mo_err e = {0};
    mo_xfer_bundle_result r;
    const double t0 = now_s();
    if (json) {
        mo_buf_printf(&c.line, "{\"bundle\":");
        mo_cli_json_str(&c.line, path);
        mo_buf_printf(&c.line, ",\"problems\":[");
        fwrite(c.line.ptr ? (const char *)c.line.ptr : "", 1, c.line.len, stdout);
    }
    const int rc = mo_xfer_verify_bundle(&r, path, level, print_problem, &c, &e);
    const double dt = now_s() - t0;
    const bool env = rc < 0 && !r.problems;
    if (json) {
        c.line.len = 0;
        mo_buf_printf(&c.line,
                      "],\"status\":\"%s\",\"objects\":%" PRIu64 ",\"objects_ok\":%" PRIu64
                      ",\"bytes\":%" PRIu64,
                      rc == MO_OK ? "ok" : mo_code_name(rc), r.objects, r.objects_ok, r.bytes);
        if (env) {
            mo_buf_printf(&c.line, ",\"error\":");
            mo_cli_json_str(&c.line, e.msg);
        }
        mo_buf_printf(&c.line, "}\n");
        fwrite(c.line.ptr, 1, c.line.len, stdout);
    } else {
        if (env)
            printf("%s: %s: %s\n", path, mo_code_name(rc), e.msg);
        printf("verified bundle %s: %" PRIu64 " objects (%s), %.1f MB in %.2f s, %.1f MB/s: "
               "%" PRIu64 " ok, %u problems\n",
               path, r.objects,
               level == MO_OBJ_LEVEL_DEEP     ? "deep"
               : level == MO_OBJ_LEVEL_STRUCT ? "struct"
               : level == MO_OBJ_LEVEL_FRAME  ? "frame"
                                              : "digests only",
               r.bytes / 1e6, dt, dt > 0 ? r.bytes / 1e6 / dt : 0.0, r.objects_ok, r.problems);
    }
    mo_buf_dispose(&c.line);
    if (rc == MO_OK)
        return MO_CLI_OK;
    if (env)
        return MO_CLI_USAGE;
    if (rc == MO_EVERSION)
        return MO_CLI_VERSION;
    return MO_CLI_CORRUPT;
}
