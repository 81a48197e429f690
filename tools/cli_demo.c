/* `mosync demo`: the README's main job for now. Generates a sample set of objects of every
 * kind (sorted PK data, no-PK data with every type, appendable, tombstone, DISK-framed),
 * verifies each at the deep level, then damages copies (a flipped chunk byte, a torn
 * file, a flipped CRC-framed byte) and shows that each is caught. Exit 0 only if every
 * clean object passes and every damaged one is detected. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mo/sys.h"

typedef struct sample {
    const char *what;
    const char *schema;
    const char *pk;
    bool sorted, appendable, tombstone, framed;
    uint64_t rows;
} sample;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_problems(const mo_obj_problem *p, void *payload)
{
    (void)p;
    ++*(unsigned *)payload;
    return 0;
}

static int damage(const char *src, const char *dst, uint64_t flip_at, uint64_t truncate_to, mo_err *e)
{
    uint8_t *p;
    size_t n;
    int rc = mo_sys_read_file(&p, &n, src, e);
    if (rc < 0)
        return rc;
    if (flip_at < n)
        p[flip_at] ^= 0x5a;
    if (truncate_to < n)
        n = (size_t)truncate_to;
    rc = mo_sys_write_file_atomic(dst, p, n, e);
    mo_free(p);
    return rc;
}

static int demo_objects(int argc, char **argv)
{
    static const struct option lo[] = {{"out", required_argument, NULL, 'o'},
                                       {"rows", required_argument, NULL, 'r'},
                                       {"objects", no_argument, NULL, 'O'},
                                       {NULL, 0, NULL, 0}};
    char dir[4096] = "";
    uint64_t rows = 100000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'o')
            snprintf(dir, sizeof(dir), "%s", optarg);
        else if (c == 'r')
            rows = strtoull(optarg, NULL, 10);
        else if (c == 'O')
            continue;
        else {
            fprintf(stderr, "usage: mosync demo --objects [--out DIR] [--rows N]\n");
            return MO_CLI_USAGE;
        }
    }
    if (rows == 0 || rows > 10000000) {
        fprintf(stderr, "mosync demo: --rows must be 1..10000000\n");
        return MO_CLI_USAGE;
    }
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/mosync-demo.XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mosync demo: mkdtemp");
            return MO_CLI_USAGE;
        }
    } else if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        perror(dir);
        return MO_CLI_USAGE;
    }
    const sample samples[] = {
        {"orders (sorted int64 PK, mixed types)",
         "o_id:int64,o_c_id:int32,o_amount:decimal64(12,2),o_entry:timestamp(6),o_note:varchar(40),o_ok:bool",
         "o_id", true, false, false, false, rows},
        {"every storable type, no PK",
         "b:bool,i8:int8,i16:int16,i32:int32,i64:int64,u8:uint8,u16:uint16,u32:uint32,u64:uint64,"
         "f32:float32,f64:float64,d64:decimal64(18,4),d128:decimal128(38,6),dt:date,tm:time(3),"
         "dtm:datetime(6),ts:timestamp,yr:year,ch:char(20),vc:varchar(100),tx:text,js:json,"
         "uu:uuid,bn:binary(16),vb:varbinary(64),en:enum,bt:bit(12),bl:blob,v32:vecf32(4),"
         "v64:vecf64(2),t:ts,r:rowid",
         NULL, false, false, false, false, rows / 4 + 1},
        {"appendable (commit-ts + abort columns)", "id:int64,v:varchar(30)", "id", true, true,
         false, false, rows / 2 + 1},
        {"tombstone (rowid + pk, hybrid filter)", "pk:int64", NULL, true, false, true, false,
         rows / 5 + 1},
        {"legacy DISK CRC-32C framed", "id:int64,name:varchar(40),price:float64", "id", true,
         false, false, true, rows / 2 + 1},
    };
    const size_t ns = sizeof(samples) / sizeof(samples[0]);
    char paths[8][4096];
    bool ok = true;
    printf("mosync demo: writing %zu sample objects into %s\n\n", ns, dir);
    printf("%-42s %8s %7s %10s %7s %9s  %s\n", "object", "rows", "blocks", "bytes", "framed",
           "verify", "result");
    double t0 = now_s();
    uint64_t total_bytes = 0;
    for (size_t i = 0; i < ns; i++) {
        const sample *s = &samples[i];
        static mo_cli_col cols[64];
        size_t n;
        mo_err e = {0};
        mo_cli_genspec g;
        memset(&g, 0, sizeof(g));
        if (mo_cli_parse_schema(cols, 64, &n, s->schema, &e) < 0) {
            fprintf(stderr, "demo schema: %s\n", e.msg);
            return MO_CLI_USAGE;
        }
        g.cols = cols;
        g.ncols = n;
        g.pk = -1;
        for (size_t k = 0; s->pk && k < n; k++)
            if (!strcmp(cols[k].name, s->pk))
                g.pk = (int)k;
        g.sorted = s->sorted;
        g.appendable = s->appendable;
        g.tombstone = s->tombstone;
        g.framed = s->framed;
        g.rows = s->rows;
        g.seed = 42 + i;
        mo_obj_stats st;
        if (mo_cli_gen_object(&g, dir, paths[i], &st, &e) < 0) {
            fprintf(stderr, "mosync demo: %s: %s\n", s->what, e.msg);
            return MO_CLI_USAGE;
        }
        mo_obj_verify_opts vo = {MO_OBJ_LEVEL_DEEP, &st, -1, 0};
        mo_obj_verify_result res;
        unsigned probs = 0;
        double v0 = now_s();
        int rc = mo_obj_verify_file(&res, paths[i], &vo, count_problems, &probs, &e);
        double dv = now_s() - v0;
        total_bytes += res.physical_size;
        printf("%-42s %8u %7u %10" PRIu64 " %7s %8.3fs  %s\n", s->what, st.rows, st.block_count,
               res.physical_size, res.framed ? "yes" : "no", dv,
               rc == MO_OK ? "ok" : mo_code_name(rc));
        if (rc != MO_OK)
            ok = false;
    }
    printf("\ndamaged copies (each must be detected):\n");
    struct {
        const char *what;
        size_t src;
        uint64_t flip, trunc;
        int want;
    } dmg[] = {
        {"byte flipped inside a column chunk", 0, 200, UINT64_MAX, MO_ECORRUPT},
        {"file torn 100 bytes short", 0, UINT64_MAX, 0, MO_ECORRUPT},
        {"byte flipped in a CRC-framed block", 4, 3000, UINT64_MAX, MO_ECHECKSUM},
    };
    for (size_t i = 0; i < sizeof(dmg) / sizeof(dmg[0]); i++) {
        char dst[4200];
        snprintf(dst, sizeof(dst), "%s/.damaged-%zu", dir, i);
        struct stat stt;
        stat(paths[dmg[i].src], &stt);
        uint64_t trunc = dmg[i].trunc == 0 ? (uint64_t)stt.st_size - 100 : dmg[i].trunc;
        mo_err e = {0};
        if (damage(paths[dmg[i].src], dst, dmg[i].flip, trunc, &e) < 0) {
            fprintf(stderr, "mosync demo: %s\n", e.msg);
            return MO_CLI_USAGE;
        }
        mo_obj_verify_opts vo = {MO_OBJ_LEVEL_DEEP, NULL, -1, 0};
        mo_obj_verify_result res;
        unsigned probs = 0;
        int rc = mo_obj_verify_file(&res, dst, &vo, count_problems, &probs, &e);
        bool caught = rc != MO_OK && probs > 0;
        printf("  %-40s -> %-14s %u problem(s) %s\n", dmg[i].what, mo_code_name(rc), probs,
               caught ? "detected" : "MISSED");
        if (!caught)
            ok = false;
        unlink(dst);
    }
    printf("\n%zu objects, %.1f MB generated and deep-verified in %.2f s: %s\n", ns,
           total_bytes / 1e6, now_s() - t0, ok ? "ALL OK" : "FAILED");
    printf("try: mosync inspect %s | head -40\n", paths[0]);
    return ok ? MO_CLI_OK : MO_CLI_CORRUPT;
}

/* ---------------- the main job: generated upstream, served, synced, verified ---------------- */

#include "mo/gen.h"
#include "mo/scan.h"
#include "mo/srv.h"
#include "mo/sync.h"

typedef struct demo_round {
    uint64_t fetched, bytes, merged, registered, deleted, iterations, failed;
    double seconds;
    mo_obj_ts ts;
    char error[1024];
} demo_round;

static void demo_report(const mo_sync_report *rep, void *payload)
{
    demo_round *r = payload;
    r->iterations++;
    r->fetched += rep->fetched;
    r->bytes += rep->bytes;
    r->merged += rep->merged_bytes;
    r->registered += rep->registered;
    r->deleted += rep->deleted;
    r->seconds += rep->seconds;
    if (rep->rc != MO_OK) {
        r->failed++;
        snprintf(r->error, sizeof(r->error), "%s", rep->error);
    } else if (!rep->skipped) {
        r->ts = rep->ts;
    }
}

typedef struct cmp_ctx {
    mo_cat *up, *down;
    const char *updir, *downdir, *db;
    mo_obj_ts at;
    unsigned tables, mismatches;
    bool verbose;
} cmp_ctx;

static bool ts_le(mo_obj_ts a, mo_obj_ts b)
{
    return mo_obj_ts_cmp(a, b) <= 0;
}

/* The downstream's live index table carrying upstream index table @p up (its own name differs). */
typedef struct ix_by_up {
    const char *db, *up;
    mo_cat_table *out;
    bool found;
} ix_by_up;

static int ix_by_up_cb(const mo_cat_table *t, void *payload)
{
    ix_by_up *f = payload;
    mo_cat_index_link l;
    if (f->found || t->dropped_ts.physical || t->dropped_ts.logical || strcmp(t->db, f->db) ||
        mo_cat_index_table_link(t->name, t->create_sql, &l) != MO_OK || strcmp(l.up_name, f->up))
        return 0;
    f->found = mo_cat_table_copy(f->out, t) == MO_OK;
    return 1;
}

static int find_down(mo_cat *down, const mo_cat_table *ut, mo_cat_table *dt, mo_err *e)
{
    if (!mo_cat_is_index_table(ut->name))
        return mo_cat_find_table(down, ut->db, ut->name, dt, e);
    ix_by_up f = {ut->db, ut->name, dt, false};
    mo_cat_foreach_table(down, ix_by_up_cb, &f);
    return f.found ? MO_OK : MO_ENOTFOUND;
}

static int compare_table(const mo_cat_table *ut, void *payload)
{
    cmp_ctx *c = payload;
    bool zero_drop = !ut->dropped_ts.physical && !ut->dropped_ts.logical;
    /* the upstream table as of the iteration's snapshot */
    if (strcmp(ut->db, c->db) || !ts_le(ut->created_ts, c->at) ||
        (!zero_drop && ts_le(ut->dropped_ts, c->at)))
        return 0;
    c->tables++;
    mo_err e = {0};
    mo_scan_result ur, dr;
    char us[96] = "error", ds[96] = "missing";
    int rc = mo_scan_table(&ur, c->up, c->updir, ut, &c->at, NULL, NULL, &e);
    if (rc == MO_OK)
        mo_scan_format(us, &ur);
    mo_cat_table dt;
    memset(&dt, 0, sizeof(dt));
    bool same = false;
    if (rc == MO_OK && find_down(c->down, ut, &dt, &e) == MO_OK) {
        if (mo_scan_table(&dr, c->down, c->downdir, &dt, NULL, NULL, NULL, &e) == MO_OK) {
            mo_scan_format(ds, &dr);
            same = dr.rows == ur.rows && dr.sum == ur.sum && dr.xor_ == ur.xor_;
        } else {
            snprintf(ds, sizeof(ds), "error: %.80s", e.msg);
        }
        mo_cat_table_dispose(&dt);
    }
    if (!same) {
        c->mismatches++;
        printf("    MISMATCH %s.%s: upstream %s, downstream %s\n", ut->db, ut->name, us, ds);
    } else if (c->verbose) {
        printf("    %s.%s %s\n", ut->db, ut->name, us);
    }
    return 0;
}

static double demo_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int mo_cli_demo(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--objects"))
            return demo_objects(argc, argv);
    static const struct option lo[] = {{"out", required_argument, NULL, 'o'},
                                       {"rounds", required_argument, NULL, 'n'},
                                       {"steps", required_argument, NULL, 'k'},
                                       {"rows", required_argument, NULL, 'r'},
                                       {"seed", required_argument, NULL, 's'},
                                       {"verbose", no_argument, NULL, 'v'},
                                       {NULL, 0, NULL, 0}};
    char dir[4096] = "";
    unsigned rounds = 8, steps = 3;
    uint64_t rows = 20000, seed = 7;
    bool verbose = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'o': snprintf(dir, sizeof(dir), "%s", optarg); break;
        case 'n': rounds = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'k': steps = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'r': rows = strtoull(optarg, NULL, 10); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'v': verbose = true; break;
        default:
            fprintf(stderr, "usage: mosync demo [--out DIR] [--rounds N] [--steps K] [--rows N] "
                            "[--seed S] [--verbose]\n       mosync demo --objects [--out DIR] [--rows N]\n");
            return MO_CLI_USAGE;
        }
    }
    if (rounds == 0 || rounds > 1000 || rows == 0 || rows > 10000000) {
        fprintf(stderr, "mosync demo: --rounds 1..1000, --rows 1..10000000\n");
        return MO_CLI_USAGE;
    }
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/mosync-demo.XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mosync demo: mkdtemp");
            return MO_CLI_USAGE;
        }
    }
    char up[4200], down[4200];
    snprintf(up, sizeof(up), "%s/upstream", dir);
    snprintf(down, sizeof(down), "%s/downstream", dir);
    mkdir(dir, 0755);
    mkdir(down, 0755);
    mo_err e = {0};
    int rc = MO_OK, exit_code = MO_CLI_OK;
    mo_srv_catbackend *be = NULL;
    mo_srv *srv = NULL;
    mo_sync *sy = NULL;
    mo_cat *upc = NULL;
    /* 1. a generated upstream: TPC-C-like tables with appendable and CN objects */
    const mo_gen_table_spec tables[] = {
        {"warehouse", rows / 2000 + 2, NULL}, {"district", rows / 200 + 10, NULL},
        {"customer", rows, NULL},            {"orders", rows, NULL},
        {"order_line", rows * 3, NULL},      {"stock", rows, NULL},
        {"item", rows / 2 + 1, NULL},
    };
    mo_gen_opts go;
    memset(&go, 0, sizeof(go));
    go.db = "tpcc";
    go.tables = tables;
    go.ntables = sizeof(tables) / sizeof(tables[0]);
    go.seed = seed;
    go.appendable_share = -1;
    go.realtime = true;
    mo_gen_report gr;
    printf("mosync demo in %s\n", dir);
    double t0 = demo_now();
    if ((rc = mo_gen_create(up, &go, &gr, &e)) < 0)
        goto fail;
    printf("upstream: generated %llu rows in %llu objects (7 tables) in %.2f s\n",
           (unsigned long long)gr.rows_written, (unsigned long long)gr.objects_written,
           demo_now() - t0);
    /* 2. served over MO's CCPR protocol on a free loopback port */
    const char *pw = "demo-secret";
    if ((rc = mo_srv_catbackend_new(&be, up, "root", pw, &e)) < 0)
        goto fail;
    mo_srv_opts so;
    mo_srv_opts_init(&so);
    so.port = 0;
    so.chunk_size = 4u << 20;
    if ((rc = mo_srv_new(&srv, &so, mo_srv_catbackend_ops(), be, &e)) < 0 ||
        (rc = mo_srv_start(srv, &e)) < 0)
        goto fail;
    printf("upstream: served on 127.0.0.1:%u (mysql_native_password, 4 MiB chunks)\n",
           mo_srv_port(srv));
    /* 3. a database-level subscription in a fresh downstream */
    {
        mo_cat *dc;
        uint64_t torn;
        if ((rc = mo_cat_open(&dc, down, MO_CAT_WRITE, &torn, &e)) < 0)
            goto fail;
        char stmt[512];
        snprintf(stmt, sizeof(stmt),
                 "CREATE SUBSCRIPTION demo DATABASE tpcc FROM 'mysql://sys#root:%s@127.0.0.1:%u' "
                 "PUBLICATION sys mosync SYNC_INTERVAL = 1",
                 pw, mo_srv_port(srv));
        mo_cat_result res;
        memset(&res, 0, sizeof(res));
        rc = mo_cat_sql_exec(dc, stmt, &res, &e);
        mo_cat_result_dispose(&res);
        mo_cat_close(dc);
        if (rc < 0)
            goto fail;
        printf("downstream: CREATE SUBSCRIPTION demo DATABASE tpcc FROM 'mysql://sys#root:***@127.0.0.1:%u' ...\n\n",
               mo_srv_port(srv));
    }
    mo_sync_opts sopt;
    memset(&sopt, 0, sizeof(sopt));
    if ((rc = mo_sync_new(&sy, down, &sopt, &e)) < 0)
        goto fail;
    uint64_t torn = 0;
    if ((rc = mo_cat_open(&upc, up, MO_CAT_READ, &torn, &e)) < 0)
        goto fail;
    printf("%5s %-34s %8s %10s %10s %8s %8s %8s %7s  %s\n", "round", "upstream change",
           "fetched", "bytes", "merged", "entries", "deleted", "seconds", "lag s", "checksums");
    unsigned total_mismatch = 0, total_tables = 0;
    uint64_t inc_bytes = 0, inc_merged = 0; /* after the initial copy: merge churn */
    for (unsigned r = 0; r < rounds; r++) {
        char change[64] = "initial copy";
        if (r > 0) {
            mo_gen_report mr;
            if ((rc = mo_gen_mutate(up, steps, seed + r, true, &mr, &e)) < 0)
                goto fail;
            change[0] = 0;
            size_t used = 0;
            for (int op = 0; op < MO_GEN_OP_COUNT && used < sizeof(change) - 12; op++)
                if (mr.ops[op])
                    used += (size_t)snprintf(change + used, sizeof(change) - used, "%s%s",
                                             used ? "," : "", mo_gen_op_name(op));
        }
        double commit_time = demo_now();
        demo_round dr;
        memset(&dr, 0, sizeof(dr));
        mo_sync_run_opts ro;
        memset(&ro, 0, sizeof(ro));
        ro.once = true;
        mo_sync_run_stats st;
        rc = mo_sync_run(sy, &ro, &st, demo_report, &dr, &e);
        double lag = demo_now() - commit_time;
        if (rc < 0 || dr.failed) {
            printf("%5u %-34.34s iteration failed: %s\n", r, change, dr.error[0] ? dr.error : e.msg);
            exit_code = MO_CLI_CORRUPT;
            rc = MO_OK;
            continue;
        }
        if ((rc = mo_cat_refresh(upc, &e)) < 0)
            goto fail;
        cmp_ctx cc = {upc, mo_sync_cat(sy), up, down, "tpcc", dr.ts, 0, 0, verbose};
        mo_cat_foreach_table(upc, compare_table, &cc);
        total_mismatch += cc.mismatches;
        total_tables += cc.tables;
        if (r > 0) {
            inc_bytes += dr.bytes;
            inc_merged += dr.merged;
        }
        printf("%5u %-34.34s %8llu %10llu %10llu %8llu %8llu %8.2f %7.2f  %u/%u equal\n", r,
               change, (unsigned long long)dr.fetched, (unsigned long long)dr.bytes,
               (unsigned long long)dr.merged, (unsigned long long)dr.registered, (unsigned long long)dr.deleted, dr.seconds, lag,
               cc.tables - cc.mismatches, cc.tables);
    }
    printf("\nmerge churn after the initial copy: %llu of %llu bytes fetched (%.1f%%) were objects "
           "an upstream merge rewrote\n",
           (unsigned long long)inc_merged, (unsigned long long)inc_bytes,
           inc_bytes ? 100.0 * (double)inc_merged / (double)inc_bytes : 0.0);
    printf("%u rounds, %u table comparisons, %u mismatches: %s (%.1f s)\n", rounds,
           total_tables, total_mismatch,
           total_mismatch || exit_code ? "FAILED" : "ALL EQUAL", demo_now() - t0);
    if (total_mismatch)
        exit_code = MO_CLI_CORRUPT;
    goto out;
fail:
    fprintf(stderr, "mosync demo: %s\n", e.msg);
    exit_code = mo_cli_exit_for(rc);
out:
    mo_cat_close(upc);
    mo_sync_free(sy);
    mo_srv_free(srv);
    mo_srv_catbackend_free(be);
    return exit_code;
}
