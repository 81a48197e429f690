/* The sync engine (mo/sync.h) end to end over an in-process upstream: `mosync gen` builds an
 * upstream replica, a database-level subscription FROM 'dir://...' is synced by mo_sync_run
 * (once) after every mutation step; after every iteration each downstream table's rows and
 * fingerprint equal the upstream's at the watermark, every live entry is CN-created,
 * non-appendable and non-mergeable, no object is fetched twice, a no-op round fetches nothing.
 * Then PAUSE/RESUME/DROP at iteration boundaries (DROP leaves no upstream snapshot), a stale
 * previous snapshot (clean full resync), and MO's R:/N: error records with the retry budget. */
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mo/gen.h"
#include "mo/scan.h"
#include "mo/srv.h"
#include "mo/sync.h"
#include "mo/sys.h"
#include "mo_test.h"

static const mo_gen_table_spec tables[] = {
    {"orders", 1500, NULL}, {"item", 400, NULL}, {"stock", 600, NULL}};

static char g_up[1024], g_down[1024], g_log[1100];

static int make(const char *tag, uint64_t seed)
{
    const char *base = mo_test_tmpdir(tag);
    if (!base)
        return MO_EIO;
    snprintf(g_up, sizeof(g_up), "%s/up", base);
    snprintf(g_down, sizeof(g_down), "%s/down", base);
    snprintf(g_log, sizeof(g_log), "%s/fetch.log", base);
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s' && mkdir -p '%s'", g_up, g_down, g_log,
             g_down);
    if (system(cmd) != 0)
        return MO_EIO;
    mo_gen_opts o = {"db1", tables, sizeof(tables) / sizeof(tables[0]), seed, -1, 0, false};
    return mo_gen_create(g_up, &o, NULL, &mo_test_err);
}

static int sql(mo_sync *s, const char *stmt)
{
    mo_cat_result r;
    memset(&r, 0, sizeof(r));
    int rc = mo_cat_sql_exec(mo_sync_cat(s), stmt, &r, &mo_test_err);
    mo_cat_result_dispose(&r);
    return rc;
}

static mo_sync *open_sync(void)
{
    mo_sync_opts o;
    memset(&o, 0, sizeof(o));
    o.workers = 2;
    mo_sync *s = NULL;
    MO_ASSERT_OK(mo_sync_new(&s, g_down, &o, &mo_test_err));
    return s;
}

/* open_sync with subscription s1 to all of db1 upstream */
static mo_sync *open_subscribed(void)
{
    mo_sync *s = open_sync();
    char stmt[1400];
    snprintf(stmt, sizeof(stmt), "CREATE SUBSCRIPTION s1 DATABASE db1 FROM 'dir://%s'", g_up);
    MO_ASSERT_OK(sql(s, stmt));
    return s;
}

typedef struct last {
    mo_sync_report rep;
    unsigned n;
} last;

static void keep(const mo_sync_report *r, void *payload)
{
    last *l = payload;
    l->rep = *r;
    l->n++;
}

static int run_once(mo_sync *s, mo_sync_report *rep)
{
    mo_sync_run_opts ro;
    memset(&ro, 0, sizeof(ro));
    ro.once = true;
    last l;
    memset(&l, 0, sizeof(l));
    int rc = mo_sync_run(s, &ro, NULL, keep, &l, &mo_test_err);
    if (rep)
        *rep = l.rep;
    return rc;
}

typedef struct cmp_ctx {
    mo_cat *down, *up;
    mo_obj_ts at;
    unsigned tables, mismatches;
} cmp_ctx;

static int cmp_task(const mo_cat_task *k, void *payload)
{
    cmp_ctx *c = payload;
    if (!k->table_id)
        return 0;
    c->at = k->watermark;
    mo_cat_table dt, ut;
    if (mo_cat_get_table(c->down, k->down_table_id, &dt, NULL) != MO_OK) {
        c->mismatches++;
        return 0;
    }
    if (mo_cat_find_table(c->up, k->db, k->table, &ut, NULL) != MO_OK) {
        fprintf(stderr, "upstream %s.%s missing\n", k->db, k->table);
        c->mismatches++;
        mo_cat_table_dispose(&dt);
        return 0;
    }
    mo_scan_result a, b;
    mo_err e1 = {0}, e2 = {0};
    int r1 = mo_scan_table(&a, c->down, g_down, &dt, NULL, NULL, NULL, &e1);
    int r2 = mo_scan_table(&b, c->up, g_up, &ut, &k->watermark, NULL, NULL, &e2);
    c->tables++;
    if (r1 || r2 || a.rows != b.rows || a.sum != b.sum || a.xor_ != b.xor_) {
        fprintf(stderr, "%s.%s: down rows=%llu (%s) up rows=%llu (%s)\n", k->db, k->table,
                (unsigned long long)a.rows, e1.msg, (unsigned long long)b.rows, e2.msg);
        c->mismatches++;
    }
    mo_cat_table_dispose(&dt);
    mo_cat_table_dispose(&ut);
    return 0;
}

typedef struct flag_ctx {
    unsigned objects, bad;
} flag_ctx;

static int check_flags(const mo_cat_object *o, void *payload)
{
    flag_ctx *f = payload;
    if (o->delete_ts.physical)
        return 0;
    f->objects++;
    const uint8_t fl = o->stats[153];
    if (!(fl & MO_OBJ_STATS_CNCREATED) || (fl & MO_OBJ_STATS_APPENDABLE) || !o->non_mergeable ||
        (o->is_tombstone && !(fl & MO_OBJ_STATS_SORTED)))
        f->bad++;
    return 0;
}

/* Checksums of every table of the subscription, flags of every entry. */
static void verify(mo_sync *s, const char *what)
{
    cmp_ctx c;
    memset(&c, 0, sizeof(c));
    c.down = mo_sync_cat(s);
    MO_ASSERT_OK(mo_cat_open(&c.up, g_up, MO_CAT_READ, NULL, &mo_test_err));
    mo_cat_foreach_task(c.down, cmp_task, &c);
    mo_cat_close(c.up);
    if (c.mismatches)
        fprintf(stderr, "%s: %u of %u tables differ\n", what, c.mismatches, c.tables);
    CU_ASSERT_EQUAL(c.mismatches, 0);
    CU_ASSERT(c.tables > 0);
    flag_ctx f = {0, 0};
    mo_cat_foreach_object(c.down, 0, check_flags, &f);
    CU_ASSERT(f.objects > 0);
    CU_ASSERT_EQUAL(f.bad, 0);
}

/* Each object name at most once in the fetch log. */
static unsigned fetched_twice(void)
{
    FILE *f = fopen(g_log, "r");
    if (!f)
        return 0;
    char (*names)[48] = NULL;
    size_t n = 0, cap = 0;
    char line[128];
    unsigned dup = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(names[i], line)) {
                dup++;
                fprintf(stderr, "fetched twice: %s\n", line);
            }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
        }
        memcpy(names[n], line, 47);
        names[n++][47] = 0;
    }
    fclose(f);
    free(names);
    return dup;
}

static void test_sync__steps_checksums_equal(void)
{
    MO_ASSERT_OK(make("sync_steps", 7));
    setenv("MO_TEST_FETCH_LOG", g_log, 1);
    mo_sync *s = open_subscribed();
    mo_sync_report rep;
    MO_ASSERT_OK(run_once(s, &rep));
    CU_ASSERT_EQUAL(rep.lsn, 0);
    CU_ASSERT(rep.fetched > 0);
    CU_ASSERT_EQUAL(rep.tables, 3);
    verify(s, "full copy");
    /* incremental iterations: one upstream step each (inserts, deletes, merges, appendable
     * objects with late commits, and whatever DDL the seed brings) */
    for (unsigned i = 1; i <= 12; i++) {
        mo_sync_free(s);
        MO_ASSERT_OK(mo_gen_mutate(g_up, 1, 100 + i, false, NULL, &mo_test_err));
        s = open_sync();
        MO_ASSERT_OK(run_once(s, &rep));
        CU_ASSERT_EQUAL(rep.lsn, i);
        char what[32];
        snprintf(what, sizeof(what), "step %u", i);
        verify(s, what);
    }
    /* every operation kind once (TRUNCATE, copy and in-place ALTERs, rename, create/drop) */
    mo_sync_free(s);
    MO_ASSERT_OK(mo_gen_mutate(g_up, MO_GEN_OP_COUNT, 999, false, NULL, &mo_test_err));
    s = open_sync();
    MO_ASSERT_OK(run_once(s, &rep));
    CU_ASSERT(rep.ddl_create + rep.ddl_drop + rep.ddl_recreate + rep.ddl_inplace +
                  rep.ddl_rename > 0);
    verify(s, "all operations");
    /* a no-op round on an unchanged upstream fetches and registers nothing */
    MO_ASSERT_OK(run_once(s, &rep));
    CU_ASSERT_EQUAL(rep.fetched, 0);
    CU_ASSERT_EQUAL(rep.bytes, 0);
    CU_ASSERT_EQUAL(rep.registered, 0);
    CU_ASSERT_EQUAL(rep.deleted, 0);
    verify(s, "no-op");
    CU_ASSERT_EQUAL(fetched_twice(), 0);
    mo_sync_free(s);
    unsetenv("MO_TEST_FETCH_LOG");
}

typedef struct snapcount {
    const char *prefix;
    unsigned n;
} snapcount;

static int count_snap(const mo_cat_snapshot *sn, void *payload)
{
    snapcount *c = payload;
    c->n += !strncmp(sn->name, c->prefix, strlen(c->prefix));
    return 0;
}

static int count_task(const mo_cat_task *k, void *payload)
{
    (void)k;
    (*(unsigned *)payload)++;
    return 0;
}

static bool upstream_has(const char *snap)
{
    mo_srv_catbackend *b;
    MO_ASSERT_OK(mo_srv_catbackend_new(&b, g_up, "u", "p", &mo_test_err));
    mo_srv_snap out;
    mo_err e = {0};
    int rc = mo_srv_catbackend_ops()->snap_get(b, &out, "sys", snap, &e);
    mo_srv_catbackend_free(b);
    return rc == MO_OK;
}

static void test_sync__pause_resume_drop(void)
{
    MO_ASSERT_OK(make("sync_drop", 9));
    mo_sync *s = open_subscribed();
    mo_sync_report rep;
    MO_ASSERT_OK(run_once(s, &rep));
    MO_ASSERT_OK(run_once(s, &rep));
    MO_ASSERT_OK(run_once(s, &rep));
    CU_ASSERT_EQUAL(rep.lsn, 2);
    /* PAUSE: the next boundary skips it */
    MO_ASSERT_OK(sql(s, "PAUSE SUBSCRIPTION s1"));
    memset(&rep, 0, sizeof(rep));
    MO_ASSERT_OK(run_once(s, &rep));
    CU_ASSERT_EQUAL(rep.lsn, 0); /* no iteration report */
    MO_ASSERT_OK(sql(s, "RESUME SUBSCRIPTION s1"));
    MO_ASSERT_OK(run_once(s, &rep));
    CU_ASSERT_EQUAL(rep.lsn, 3);
    CU_ASSERT_FALSE(rep.skipped);
    verify(s, "resumed");
    snapcount sc = {"ccpr_1_", 0};
    mo_cat_foreach_snapshot(mo_sync_cat(s), count_snap, &sc);
    CU_ASSERT_EQUAL(sc.n, 2); /* lsn-1 and lsn kept, older ones dropped */
    /* DROP: its upstream snapshots go at the next boundary */
    MO_ASSERT_OK(sql(s, "DROP SUBSCRIPTION s1"));
    MO_ASSERT_OK(run_once(s, &rep));
    sc.n = 0;
    mo_cat_foreach_snapshot(mo_sync_cat(s), count_snap, &sc);
    CU_ASSERT_EQUAL(sc.n, 0);
    unsigned ntasks = 0;
    mo_cat_foreach_task(mo_sync_cat(s), count_task, &ntasks);
    CU_ASSERT_EQUAL(ntasks, 0);
    mo_sync_free(s); /* releases the in-process upstream */
    CU_ASSERT_FALSE(upstream_has("ccpr_1_3"));
    CU_ASSERT_FALSE(upstream_has("ccpr_1_2"));
}

static void test_sync__stale_previous_snapshot_resyncs(void)
{
    MO_ASSERT_OK(make("sync_stale", 11));
    mo_sync *s = open_subscribed();
    mo_sync_report rep;
    MO_ASSERT_OK(run_once(s, &rep));
    mo_sync_free(s);
    MO_ASSERT_OK(mo_gen_mutate(g_up, 2, 5, false, NULL, &mo_test_err));
    /* the upstream loses the previous snapshot (GC, an operator) */
    mo_srv_catbackend *b;
    MO_ASSERT_OK(mo_srv_catbackend_new(&b, g_up, "u", "p", &mo_test_err));
    MO_ASSERT_OK(mo_srv_catbackend_ops()->snap_drop(b, "sys", "ccpr_1_0", &mo_test_err));
    mo_srv_catbackend_free(b);
    s = open_sync();
    MO_ASSERT_OK(run_once(s, &rep));
    CU_ASSERT_TRUE(rep.resync);
    CU_ASSERT_EQUAL(rep.lsn, 1);
    verify(s, "resync");
    mo_sync_free(s);
}

typedef struct task_err {
    char msg[1024];
    unsigned n;
} task_err;

static int collect_err(const mo_cat_task *k, void *payload)
{
    task_err *t = payload;
    if (k->table[0] && !strcmp(k->table, "item")) {
        snprintf(t->msg, sizeof(t->msg), "%s", k->error_message);
        t->n++;
    }
    return 0;
}

/* An upstream DDL that keeps the table id but changes the stored columns cannot be applied in
 * place: the task stops with an N: error naming the statement, the table keeps its rows (never
 * an empty table, never a silent skip), and later rounds skip it until RESUME. */
static void test_sync__unappliable_ddl_stops_task(void)
{
    MO_ASSERT_OK(make("sync_badddl", 13));
    mo_sync *s = open_subscribed();
    mo_sync_report rep;
    MO_ASSERT_OK(run_once(s, &rep));
    mo_cat_table before;
    MO_ASSERT_OK(mo_cat_find_table(mo_sync_cat(s), "db1", "item", &before, &mo_test_err));
    mo_scan_result r0;
    MO_ASSERT_OK(mo_scan_table(&r0, mo_sync_cat(s), g_down, &before, NULL, NULL, NULL,
                               &mo_test_err));
    mo_cat_table_dispose(&before);
    CU_ASSERT(r0.rows > 0);
    mo_sync_free(s);
    /* the upstream's item gets a column in place (same id): its CREATE text from the catalog,
     * not the generator's truth */
    char path[1200];
    snprintf(path, sizeof(path), "%s/.mosync/gen/truth", g_up);
    CU_ASSERT_EQUAL(remove(path), 0);
    mo_cat *up;
    MO_ASSERT_OK(mo_cat_open(&up, g_up, MO_CAT_WRITE, NULL, &mo_test_err));
    mo_cat_table t;
    MO_ASSERT_OK(mo_cat_find_table(up, "db1", "item", &t, &mo_test_err));
    const char *open = strstr(t.create_sql, "(\n");
    CU_ASSERT_FATAL(open != NULL);
    char *sql2 = mo_malloc(strlen(t.create_sql) + 64);
    CU_ASSERT_FATAL(sql2 != NULL);
    snprintf(sql2, strlen(t.create_sql) + 64, "%.*s(\n  `zz_new` int DEFAULT NULL,%s",
             (int)(open - t.create_sql), t.create_sql, open + 1);
    mo_free(t.create_sql);
    t.create_sql = sql2;
    mo_cat_txn *txn;
    MO_ASSERT_OK(mo_cat_begin(up, &txn, &mo_test_err));
    MO_ASSERT_OK(mo_cat_put_table(txn, &t, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(txn, &mo_test_err));
    mo_cat_table_dispose(&t);
    mo_cat_close(up);
    s = open_sync();
    CU_ASSERT(run_once(s, &rep) < 0);
    task_err te;
    memset(&te, 0, sizeof(te));
    mo_cat_foreach_task(mo_sync_cat(s), collect_err, &te);
    CU_ASSERT_EQUAL(te.n, 1);
    if (!strstr(te.msg, "cannot apply DDL in place on db1.item") ||
        !strstr(te.msg, "statement: CREATE TABLE"))
        fprintf(stderr, "\nerror message: %s\n", te.msg);
    CU_ASSERT_EQUAL(strncmp(te.msg, "N:", 2), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(te.msg, "cannot apply DDL in place on db1.item"));
    CU_ASSERT_PTR_NOT_NULL(strstr(te.msg, "`zz_new`")); /* the statement */
    /* nothing was lost: the downstream table still has every row it had */
    mo_cat_table after;
    MO_ASSERT_OK(mo_cat_find_table(mo_sync_cat(s), "db1", "item", &after, &mo_test_err));
    mo_scan_result r1;
    MO_ASSERT_OK(mo_scan_table(&r1, mo_sync_cat(s), g_down, &after, NULL, NULL, NULL,
                               &mo_test_err));
    mo_cat_table_dispose(&after);
    CU_ASSERT(r1.rows == r0.rows && r1.sum == r0.sum && r1.xor_ == r0.xor_);
    /* a fatal error: the next round does not run the task, the error stays */
    memset(&rep, 0, sizeof(rep));
    MO_ASSERT_OK(run_once(s, &rep));
    CU_ASSERT_TRUE(rep.skipped || rep.task_id == 0);
    task_err te2;
    memset(&te2, 0, sizeof(te2));
    mo_cat_foreach_task(mo_sync_cat(s), collect_err, &te2);
    CU_ASSERT_STRING_EQUAL(te2.msg, te.msg);
    mo_sync_free(s);
}

static void test_sync__errmsg_budget(void)
{
    mo_sync_errmsg e, p;
    mo_sync_errmsg_parse(&e, "");
    CU_ASSERT_FALSE(e.set);
    mo_sync_errmsg_parse(&e, "R:3:100:200:rpc timeout: backend unavailable");
    CU_ASSERT_TRUE(e.set && e.retryable);
    CU_ASSERT_EQUAL(e.count, 3);
    CU_ASSERT_EQUAL(e.first, 100);
    CU_ASSERT_EQUAL(e.last, 200);
    CU_ASSERT_STRING_EQUAL(e.msg, "rpc timeout: backend unavailable");
    mo_sync_errmsg_parse(&e, "N:5:table db.t: cannot apply DDL");
    CU_ASSERT_TRUE(e.set && !e.retryable);
    CU_ASSERT_EQUAL(e.first, 5);
    CU_ASSERT_STRING_EQUAL(e.msg, "table db.t: cannot apply DDL");
    mo_sync_errmsg_parse(&e, "something legacy");
    CU_ASSERT_TRUE(e.set && !e.retryable);
    char buf[1024];
    memset(&p, 0, sizeof(p));
    for (unsigned i = 1; i <= 10; i++) {
        mo_sync_errmsg_next(&e, &p, true, "connection refused", 1000 + i);
        CU_ASSERT_TRUE(e.retryable);
        CU_ASSERT_EQUAL(e.count, i);
        CU_ASSERT_EQUAL(e.first, 1001);
        p = e;
    }
    mo_sync_errmsg_format(buf, sizeof(buf), &p);
    CU_ASSERT_STRING_EQUAL(buf, "R:10:1001:1010:connection refused");
    mo_sync_errmsg_next(&e, &p, true, "connection refused", 2000); /* the 11th: fatal */
    CU_ASSERT_FALSE(e.retryable);
    mo_sync_errmsg_format(buf, sizeof(buf), &e);
    CU_ASSERT_EQUAL(strncmp(buf, "N:1001:retry budget of 10 exhausted: connection refused", 56),
                    0);
    mo_err er = {0};
    mo_err_set(&er, MO_EUPSTREAM, "internal error: invalid input");
    CU_ASSERT_FALSE(mo_sync_retryable(MO_EUPSTREAM, &er));
    mo_err_set(&er, MO_EAGAIN, "unreachable");
    CU_ASSERT_TRUE(mo_sync_retryable(MO_EAGAIN, &er));
    mo_err_set(&er, MO_EINVAL, "cannot apply DDL in place");
    CU_ASSERT_FALSE(mo_sync_retryable(MO_EINVAL, &er));
}


/* ---- durability order: every file a commit names is fsynced, and so is its directory after
 * the rename that named it, before the catalog commit (the sync publishes unsynced and makes
 * what it registers durable in one batch) ---- */

typedef struct trace_ev {
    mo_sys_op op;
    char path[PATH_MAX];
} trace_ev;

static struct {
    trace_ev *v;
    size_t n, cap;
    pthread_mutex_t mu;
} g_tr = {NULL, 0, 0, PTHREAD_MUTEX_INITIALIZER};

static void trace_cb(mo_sys_op op, int fd, const char *path, void *payload)
{
    (void)payload;
    char p[PATH_MAX] = "";
    if (path) {
        if (!realpath(path, p))
            snprintf(p, sizeof(p), "%s", path);
    } else {
        char l[64];
        snprintf(l, sizeof(l), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(l, p, sizeof(p) - 1);
        p[n > 0 ? n : 0] = 0;
    }
    pthread_mutex_lock(&g_tr.mu);
    if (g_tr.n == g_tr.cap) {
        size_t cap = g_tr.cap ? 2 * g_tr.cap : 1024;
        trace_ev *v = realloc(g_tr.v, cap * sizeof(*v));
        if (!v) {
            pthread_mutex_unlock(&g_tr.mu);
            return;
        }
        g_tr.v = v;
        g_tr.cap = cap;
    }
    g_tr.v[g_tr.n].op = op;
    memcpy(g_tr.v[g_tr.n].path, p, sizeof(p));
    g_tr.n++;
    pthread_mutex_unlock(&g_tr.mu);
}

/* Index of the last event @p op on @p path before @p before, or -1. */
static long trace_last(mo_sys_op op, const char *path, size_t before)
{
    for (size_t i = before; i-- > 0;)
        if (g_tr.v[i].op == op && !strcmp(g_tr.v[i].path, path))
            return (long)i;
    return -1;
}

typedef struct durable_files {
    char (*path)[PATH_MAX];
    size_t n;
} durable_files;

static void list_objects_in(durable_files *f, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (mo_obj_name_valid(e->d_name)) {
            f->path = realloc(f->path, (f->n + 1) * sizeof(*f->path));
            snprintf(f->path[f->n++], PATH_MAX, "%s/%s", dir, e->d_name);
        }
    closedir(d);
}

static void test_sync__registered_files_durable_before_commit(void)
{
    MO_ASSERT_OK(make("sync_durable", 21));
    /* appendable objects, some rows committed after the snapshot: pending files too */
    const int ops[] = {MO_GEN_OP_APPEND, MO_GEN_OP_APPEND, MO_GEN_OP_APPEND};
    MO_ASSERT_OK(mo_gen_step(g_up, ops, 3, 77, false, NULL, &mo_test_err));
    mo_sync *s = open_subscribed();
    g_tr.n = 0;
    if (mo_sys_trace_set(trace_cb, NULL) != MO_OK) {
        CU_FAIL("this test needs a fault-injection build (mo_sys_trace_set)");
        mo_sync_free(s);
        return;
    }
    mo_sync_report rep;
    int rc = run_once(s, &rep);
    mo_sys_trace_set(NULL, NULL);
    MO_ASSERT_OK(rc);
    CU_ASSERT(rep.fetched > 0);
    CU_ASSERT(rep.rewritten > 0); /* rewrite outputs are covered too */
    char down[PATH_MAX];
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(g_down, down));
    durable_files f = {NULL, 0};
    list_objects_in(&f, down);
    const size_t nobj = f.n;
    CU_ASSERT(nobj >= rep.registered && nobj > 0);
    char pat[PATH_MAX + 32];
    snprintf(pat, sizeof(pat), "%s/.mosync/sync/*/pending", down);
    glob_t g;
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            list_objects_in(&f, g.gl_pathv[i]);
        globfree(&g);
    }
    CU_ASSERT(f.n > nobj); /* pending appendables kept for a later snapshot */
    /* the commit: the first catalog fsync after the last rename that named an object */
    long last_rename = -1;
    for (size_t i = 0; i < nobj; i++) {
        long r = trace_last(MO_SYS_RENAME, f.path[i], g_tr.n);
        if (r > last_rename)
            last_rename = r;
    }
    CU_ASSERT(last_rename >= 0);
    char catdir[PATH_MAX + 32];
    snprintf(catdir, sizeof(catdir), "%s/.mosync/catalog/", down);
    size_t commit = g_tr.n;
    for (size_t i = (size_t)(last_rename + 1); i < g_tr.n; i++)
        if (g_tr.v[i].op == MO_SYS_FSYNC && !strncmp(g_tr.v[i].path, catdir, strlen(catdir))) {
            commit = i;
            break;
        }
    CU_ASSERT_FATAL(commit < g_tr.n);
    unsigned not_synced = 0, dir_not_synced = 0;
    for (size_t i = 0; i < f.n; i++) {
        if (trace_last(MO_SYS_FSYNC, f.path[i], commit) < 0) {
            if (!not_synced++)
                fprintf(stderr, "not fsynced before the commit: %s\n", f.path[i]);
        }
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", f.path[i]);
        *strrchr(dir, '/') = 0;
        long named = trace_last(MO_SYS_RENAME, f.path[i], commit);
        long dsync = trace_last(MO_SYS_FSYNC, dir, commit);
        if (dsync < 0 || dsync < named) {
            if (!dir_not_synced++)
                fprintf(stderr, "directory not fsynced after naming %s\n", f.path[i]);
        }
    }
    CU_ASSERT_EQUAL(not_synced, 0);
    CU_ASSERT_EQUAL(dir_not_synced, 0);
    verify(s, "durable seed");
    free(f.path);
    free(g_tr.v);
    g_tr.v = NULL;
    g_tr.n = g_tr.cap = 0;
    mo_sync_free(s);
}

static CU_TestInfo sync_tests[] = {
    {"errmsg_budget", test_sync__errmsg_budget},
    {"steps_checksums_equal", test_sync__steps_checksums_equal},
    {"pause_resume_drop", test_sync__pause_resume_drop},
    {"stale_previous_snapshot_resyncs", test_sync__stale_previous_snapshot_resyncs},
    {"unappliable_ddl_stops_task", test_sync__unappliable_ddl_stops_task},
    {"registered_files_durable_before_commit", test_sync__registered_files_durable_before_commit},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_sync_suites[] = {
    {"sync", NULL, NULL, NULL, NULL, sync_tests},
    CU_SUITE_INFO_NULL,
};
