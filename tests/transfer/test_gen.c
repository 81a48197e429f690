/* mosync gen (mo/gen.h): a small TPC-C-like upstream mutated 30 steps with a fixed seed; the
 * truth matches mo_scan_table at every snapshot, every object passes deep verification, each
 * operation kind happened, the forced steps have MO's DDL semantics (new table id for
 * TRUNCATE / copy ALTER, same id and objects for in-place ALTERs), upstream flags are kept,
 * the CREATE text has MO's layout, same seed gives the same catalog, and a damaged truth or
 * catalog is caught. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo/gen.h"
#include "mo/objfmt.h"
#include "mo/scan.h"
#include "mo/sys.h"
#include "mo_test.h"

#define STEPS 30

static const mo_gen_table_spec small_tables[] = {
    {"warehouse", 10, NULL}, {"district", 100, NULL}, {"customer", 15000, NULL},
    {"history", 6000, NULL}, {"orders", 12000, NULL}, {"order_line", 12000, NULL},
    {"item", 5000, NULL}};

static int make_upstream(const char *dir, uint64_t seed, mo_gen_report *mrep)
{
    mo_gen_opts o = {"tpcc", small_tables, sizeof(small_tables) / sizeof(small_tables[0]), seed,
                     -1, 0, false};
    mo_gen_report rep;
    int rc = mo_gen_create(dir, &o, &rep, &mo_test_err);
    if (rc < 0)
        return rc;
    return mo_gen_mutate(dir, STEPS, seed + 1, false, mrep, &mo_test_err);
}

static const char *g_dir;
static mo_gen_report g_rep;
static mo_gen_truth g_truth;

static int suite_init(void)
{
    g_dir = mo_strdup(mo_test_tmpdir("gen"));
    if (!g_dir || make_upstream(g_dir, 42, &g_rep) < 0) {
        fprintf(stderr, "gen suite setup: %s\n", mo_test_err.msg);
        return 1;
    }
    return mo_gen_truth_load(&g_truth, g_dir, &mo_test_err) < 0;
}

static int suite_clean(void)
{
    mo_gen_truth_dispose(&g_truth);
    mo_free((void *)g_dir);
    return 0;
}

static void test_gen__check_passes(void)
{
    uint64_t bad = 99;
    MO_ASSERT_OK(mo_gen_check(g_dir, NULL, NULL, &bad, &mo_test_err));
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(g_truth.nsteps, STEPS + 1);
    CU_ASSERT_EQUAL(g_rep.first_step, 2);
    CU_ASSERT_EQUAL(g_rep.last_step, STEPS + 1);
}

static void test_gen__every_kind_happened(void)
{
    for (int i = 0; i < MO_GEN_OP_COUNT; i++) {
        if (g_rep.ops[i] == 0)
            fprintf(stderr, "op %s never ran\n", mo_gen_op_name(i));
        CU_ASSERT(g_rep.ops[i] >= 1);
    }
}

static void test_gen__objects_verify_deep(void)
{
    DIR *d = opendir(g_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *de;
    unsigned n = 0;
    while ((de = readdir(d))) {
        if (!mo_obj_name_valid(de->d_name))
            continue;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", g_dir, de->d_name);
        mo_obj_verify_opts o = {MO_OBJ_LEVEL_DEEP, NULL, -1, 0};
        mo_obj_verify_result r;
        const int rc = mo_obj_verify_file(&r, path, &o, NULL, NULL, &mo_test_err);
        if (rc != MO_OK)
            fprintf(stderr, "%s: %s\n", de->d_name, mo_test_err.msg);
        CU_ASSERT_EQUAL(rc, MO_OK);
        n++;
    }
    closedir(d);
    CU_ASSERT(n > 20);
}

/* ---- forced steps: mutate step i (snapshot gen_<2+i>) did op i only ---- */

static const mo_gen_truth_step *step_of_op(int op)
{
    return &g_truth.steps[1 + op];
}

static const mo_gen_truth_table *by_id(const mo_gen_truth_step *s, uint64_t id)
{
    for (uint32_t i = 0; i < s->ntables; i++)
        if (s->tables[i].table_id == id)
            return &s->tables[i];
    return NULL;
}

static const mo_gen_truth_table *by_name(const mo_gen_truth_step *s, const char *db,
                                         const char *name)
{
    for (uint32_t i = 0; i < s->ntables; i++)
        if (!strcmp(s->tables[i].db, db) && !strcmp(s->tables[i].name, name))
            return &s->tables[i];
    return NULL;
}

typedef struct obj_count {
    mo_obj_ts ts;
    unsigned created, deleted, live_before;
} obj_count;

static int count_objs(const mo_cat_object *o, void *payload)
{
    obj_count *c = payload;
    c->created += !mo_obj_ts_cmp(o->create_ts, c->ts);
    c->deleted += !mo_obj_ts_cmp(o->delete_ts, c->ts);
    c->live_before += mo_obj_ts_cmp(o->create_ts, c->ts) < 0 &&
                      (!o->delete_ts.physical || mo_obj_ts_cmp(o->delete_ts, c->ts) >= 0);
    return 0;
}

static obj_count objects_at(mo_cat *c, uint64_t table_id, mo_obj_ts ts)
{
    obj_count n = {ts, 0, 0, 0};
    MO_ASSERT_OK(mo_cat_foreach_object(c, table_id, count_objs, &n));
    return n;
}

/* The table of @p prev replaced by a new id under the same name at @p op's step. */
static void assert_new_id(mo_cat *c, int op, bool keeps_rows)
{
    const mo_gen_truth_step *s = step_of_op(op), *prev = s - 1;
    CU_ASSERT_EQUAL_FATAL(s->ntables, prev->ntables);
    unsigned replaced = 0;
    for (uint32_t i = 0; i < prev->ntables; i++) {
        const mo_gen_truth_table *old = &prev->tables[i];
        const mo_gen_truth_table *now = by_name(s, old->db, old->name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(now);
        if (now->table_id == old->table_id) {
            /* rows an append of the previous step committed after its TS show up now */
            CU_ASSERT(now->rows >= old->rows);
            continue;
        }
        replaced++;
        CU_ASSERT(now->table_id > old->table_id);
        if (keeps_rows) { /* a copy holds every row, late commits of the last step too */
            CU_ASSERT(now->rows >= old->rows);
        } else {
            CU_ASSERT_EQUAL(now->rows, 0);
        }
        /* old: every object live before the step deleted at it; the row kept as dropped */
        obj_count oc = objects_at(c, old->table_id, s->ts);
        CU_ASSERT_EQUAL(oc.created, 0);
        CU_ASSERT(oc.deleted >= 1);
        mo_cat_table t;
        MO_ASSERT_OK(mo_cat_get_table(c, old->table_id, &t, &mo_test_err));
        CU_ASSERT_EQUAL(mo_obj_ts_cmp(t.dropped_ts, s->ts), 0);
        mo_cat_table_dispose(&t);
        /* new: only objects created at the step, with fresh seqnums 0..n-1 */
        obj_count nc = objects_at(c, now->table_id, s->ts);
        CU_ASSERT_EQUAL(nc.live_before, 0);
        CU_ASSERT_EQUAL(nc.created > 0, keeps_rows && now->rows > 0);
        MO_ASSERT_OK(mo_cat_get_table(c, now->table_id, &t, &mo_test_err));
        CU_ASSERT(t.dropped_ts.physical == 0 || t.dropped_ts.physical > s->ts.physical);
        for (uint16_t k = 0; k < t.ncols; k++)
            CU_ASSERT_EQUAL(t.cols[k].seqnum, k);
        mo_cat_table_dispose(&t);
    }
    CU_ASSERT_EQUAL(replaced, 1);
}

/* Same ids, one CREATE text changed, rows and objects untouched. */
static void assert_inplace(mo_cat *c, int op)
{
    const mo_gen_truth_step *s = step_of_op(op), *prev = s - 1;
    CU_ASSERT_EQUAL_FATAL(s->ntables, prev->ntables);
    unsigned changed = 0;
    for (uint32_t i = 0; i < prev->ntables; i++) {
        const mo_gen_truth_table *old = &prev->tables[i];
        const mo_gen_truth_table *now = by_id(s, old->table_id);
        CU_ASSERT_PTR_NOT_NULL_FATAL(now);
        if (now->rows == old->rows) { /* else late commits of the previous step's append */
            CU_ASSERT_EQUAL(now->sum, old->sum);
            CU_ASSERT_EQUAL(now->xor_, old->xor_);
        }
        CU_ASSERT(now->rows >= old->rows);
        changed += strcmp(now->create_sql, old->create_sql) != 0;
        if (op == MO_GEN_OP_RENAME_TABLE) {
            CU_ASSERT_EQUAL(strcmp(now->name, old->name) != 0,
                            strcmp(now->create_sql, old->create_sql) != 0);
        }
        obj_count oc = objects_at(c, old->table_id, s->ts);
        CU_ASSERT_EQUAL(oc.created, 0);
        CU_ASSERT_EQUAL(oc.deleted, 0);
    }
    CU_ASSERT_EQUAL(changed, 1);
}

static void test_gen__ddl_semantics(void)
{
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, g_dir, MO_CAT_READ, NULL, &mo_test_err));
    assert_new_id(c, MO_GEN_OP_TRUNCATE, false);
    assert_new_id(c, MO_GEN_OP_ADD_COLUMN, true);
    assert_new_id(c, MO_GEN_OP_DROP_COLUMN, true);
    assert_new_id(c, MO_GEN_OP_MODIFY_TYPE, true);
    for (int op = MO_GEN_OP_RENAME_TABLE; op <= MO_GEN_OP_MODIFY_INPLACE; op++)
        assert_inplace(c, op);
    /* create/drop table and database */
    const mo_gen_truth_step *ct = step_of_op(MO_GEN_OP_CREATE_TABLE);
    CU_ASSERT_EQUAL(ct->ntables, (ct - 1)->ntables + 1);
    const mo_gen_truth_step *dt = step_of_op(MO_GEN_OP_DROP_TABLE);
    CU_ASSERT_EQUAL(dt->ntables, (dt - 1)->ntables - 1);
    for (uint32_t i = 0; i < (dt - 1)->ntables; i++) {
        const mo_gen_truth_table *t = &(dt - 1)->tables[i];
        if (by_id(dt, t->table_id))
            continue;
        mo_cat_table tb;
        MO_ASSERT_OK(mo_cat_get_table(c, t->table_id, &tb, &mo_test_err));
        CU_ASSERT_EQUAL(mo_obj_ts_cmp(tb.dropped_ts, dt->ts), 0);
        mo_cat_table_dispose(&tb);
        obj_count oc = objects_at(c, t->table_id, dt->ts);
        CU_ASSERT(oc.deleted >= 1);
    }
    const mo_gen_truth_step *cd = step_of_op(MO_GEN_OP_CREATE_DB);
    CU_ASSERT_EQUAL(cd->ntables, (cd - 1)->ntables + 1);
    const mo_gen_truth_step *dd = step_of_op(MO_GEN_OP_DROP_DB);
    CU_ASSERT(dd->ntables < (dd - 1)->ntables);
    mo_cat_close(c);
}

typedef struct flag_stats {
    unsigned appendable, cn, merged, tomb, other;
    bool bad;
} flag_stats;

static int flags_of(const mo_cat_object *o, void *payload)
{
    flag_stats *f = payload;
    const uint8_t fl = o->stats[MO_OBJ_STATS_LEN - 1] & 0x0f;
    if (o->non_mergeable)
        f->bad = true;
    if (o->is_tombstone) {
        f->tomb++;
        f->bad |= !(fl & MO_OBJ_STATS_SORTED) || (fl & MO_OBJ_STATS_APPENDABLE);
    } else if (fl & MO_OBJ_STATS_APPENDABLE) {
        f->appendable++;
        f->bad |= (fl & (MO_OBJ_STATS_SORTED | MO_OBJ_STATS_CNCREATED)) != 0;
    } else if (fl & MO_OBJ_STATS_CNCREATED) {
        f->cn++;
    } else if (o->stats[MO_OBJ_STATS_LEN - 1] >> 5) {
        f->merged++; /* TN merge output: level >= 1, not CN-created */
    } else {
        f->other++;
    }
    return 0;
}

static void test_gen__upstream_flags_kept(void)
{
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, g_dir, MO_CAT_READ, NULL, &mo_test_err));
    flag_stats f = {0, 0, 0, 0, 0, false};
    MO_ASSERT_OK(mo_cat_foreach_object(c, 0, flags_of, &f));
    mo_cat_close(c);
    CU_ASSERT(!f.bad);
    CU_ASSERT(f.appendable > 0);
    CU_ASSERT(f.cn > 0);
    CU_ASSERT(f.merged > 0);
    CU_ASSERT(f.tomb > 0);
    CU_ASSERT_EQUAL(f.other, 0);
}

static void test_gen__create_text_layout(void)
{
    const char *dir = mo_test_tmpdir("gen_layout");
    const mo_gen_table_spec t[] = {
        {"t1", 100, "id:int64,name:varchar(40),amount:decimal64(12,2),ts:timestamp,d:date"},
        {"metrics", 50, NULL}};
    mo_gen_opts o = {"db1", t, 2, 5, 0, 0, false};
    MO_ASSERT_OK(mo_gen_create(dir, &o, NULL, &mo_test_err));
    mo_gen_truth tr;
    MO_ASSERT_OK(mo_gen_truth_load(&tr, dir, &mo_test_err));
    CU_ASSERT_EQUAL_FATAL(tr.nsteps, 1);
    CU_ASSERT_EQUAL_FATAL(tr.steps[0].ntables, 2);
    CU_ASSERT_STRING_EQUAL(tr.steps[0].snapshot, "gen_1");
    CU_ASSERT_STRING_EQUAL(tr.steps[0].tables[0].create_sql,
                           "CREATE TABLE `db1`.`t1` (\n"
                           "  `id` bigint NOT NULL,\n"
                           "  `name` varchar(40) DEFAULT NULL,\n"
                           "  `amount` decimal(12,2) DEFAULT NULL,\n"
                           "  `ts` timestamp NULL DEFAULT NULL,\n"
                           "  `d` date DEFAULT NULL,\n"
                           "  PRIMARY KEY (`id`)\n"
                           ") COLLATE=utf8mb4_general_ci PROPERTIES('from_publication' = 'true')");
    CU_ASSERT_EQUAL(tr.steps[0].tables[0].rows, 100);
    mo_gen_truth_dispose(&tr);
    /* a second create on the same directory is refused */
    MO_ASSERT_RC(MO_EEXISTS, mo_gen_create(dir, &o, NULL, &mo_test_err));
    /* bad specs */
    const mo_gen_table_spec bad[] = {{"t", 10, "id:vecf32(3)"}};
    mo_gen_opts ob = {"db2", bad, 1, 5, 0, 0, false};
    MO_ASSERT_RC(MO_EINVAL, mo_gen_create(mo_test_tmpdir("gen_bad"), &ob, NULL, &mo_test_err));
}

typedef struct cat_dump {
    mo_buf b;
} cat_dump;

static int dump_obj(const mo_cat_object *o, void *payload)
{
    cat_dump *d = payload;
    mo_buf_put(&d->b, o, sizeof(*o));
    return 0;
}

static int dump_table(const mo_cat_table *t, void *payload)
{
    cat_dump *d = payload;
    char line[1024];
    snprintf(line, sizeof(line), "%llu %s.%s %lld %lld|", (unsigned long long)t->down_id, t->db,
             t->name, (long long)t->created_ts.physical, (long long)t->dropped_ts.physical);
    mo_buf_put(&d->b, line, strlen(line));
    mo_buf_put(&d->b, t->create_sql, strlen(t->create_sql));
    return 0;
}

static int dump_snap(const mo_cat_snapshot *s, void *payload)
{
    cat_dump *d = payload;
    mo_buf_put(&d->b, s, sizeof(*s));
    return 0;
}

static void dump_catalog(const char *dir, mo_buf *out)
{
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err));
    cat_dump d = {MO_BUF_INIT};
    MO_ASSERT_OK(mo_cat_foreach_table(c, dump_table, &d));
    MO_ASSERT_OK(mo_cat_foreach_object(c, 0, dump_obj, &d));
    MO_ASSERT_OK(mo_cat_foreach_snapshot(c, dump_snap, &d));
    mo_cat_close(c);
    *out = d.b;
}

static void test_gen__deterministic(void)
{
    char a[1024], b[1024];
    snprintf(a, sizeof(a), "%s", mo_test_tmpdir("gen_det_a"));
    snprintf(b, sizeof(b), "%s", mo_test_tmpdir("gen_det_b"));
    const mo_gen_table_spec t[] = {{"customer", 3000, NULL}, {"stock", 2000, NULL}};
    mo_gen_opts o = {"d", t, 2, 77, 0.2, 0, false};
    MO_ASSERT_OK(mo_gen_create(a, &o, NULL, &mo_test_err));
    MO_ASSERT_OK(mo_gen_create(b, &o, NULL, &mo_test_err));
    MO_ASSERT_OK(mo_gen_mutate(a, 20, 9, false, NULL, &mo_test_err));
    MO_ASSERT_OK(mo_gen_mutate(b, 20, 9, false, NULL, &mo_test_err));
    mo_buf x, y;
    dump_catalog(a, &x);
    dump_catalog(b, &y);
    CU_ASSERT(x.len > 1000);
    CU_ASSERT_EQUAL_FATAL(x.len, y.len);
    CU_ASSERT(!memcmp(x.ptr, y.ptr, x.len));
    mo_buf_dispose(&x);
    mo_buf_dispose(&y);
    /* the truth files are byte-identical too */
    char pa[1100], pb[1100];
    snprintf(pa, sizeof(pa), "%s/.mosync/gen/truth", a);
    snprintf(pb, sizeof(pb), "%s/.mosync/gen/truth", b);
    uint8_t *da, *db;
    size_t la, lb;
    MO_ASSERT_OK(mo_sys_read_file(&da, &la, pa, &mo_test_err));
    MO_ASSERT_OK(mo_sys_read_file(&db, &lb, pb, &mo_test_err));
    CU_ASSERT(la == lb && !memcmp(da, db, la));
    mo_free(da);
    mo_free(db);
    /* another seed gives another history */
    MO_ASSERT_OK(mo_gen_mutate(b, 1, 10, false, NULL, &mo_test_err));
    MO_ASSERT_OK(mo_gen_mutate(a, 1, 11, false, NULL, &mo_test_err));
    dump_catalog(a, &x);
    dump_catalog(b, &y);
    CU_ASSERT(x.len != y.len || memcmp(x.ptr, y.ptr, x.len));
    mo_buf_dispose(&x);
    mo_buf_dispose(&y);
}

typedef struct first_tomb {
    bool found;
    uint8_t id[MO_OBJ_OBJECTID_LEN];
} first_tomb;

static int find_tomb(const mo_cat_object *o, void *payload)
{
    first_tomb *f = payload;
    if (!o->is_tombstone || o->delete_ts.physical)
        return 0;
    memcpy(f->id, o->upstream_id, sizeof(f->id));
    f->found = true;
    return 1;
}

static void test_gen__check_catches_damage(void)
{
    const char *dir = mo_test_tmpdir("gen_damage");
    const mo_gen_table_spec t[] = {{"item", 4000, NULL}};
    mo_gen_opts o = {"d", t, 1, 3, 0.1, 0, false};
    MO_ASSERT_OK(mo_gen_create(dir, &o, NULL, &mo_test_err));
    /* deletes until a live tombstone exists */
    first_tomb f = {false, {0}};
    for (int i = 0; i < 20 && !f.found; i++) {
        MO_ASSERT_OK(mo_gen_mutate(dir, 1, (uint64_t)i + 1, false, NULL, &mo_test_err));
        mo_cat *c;
        MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err));
        mo_cat_foreach_object(c, 0, find_tomb, &f);
        mo_cat_close(c);
    }
    CU_ASSERT_FATAL(f.found);
    uint64_t bad = 0;
    MO_ASSERT_OK(mo_gen_check(dir, NULL, NULL, &bad, &mo_test_err));
    CU_ASSERT_EQUAL(bad, 0);
    /* forget a tombstone: deleted rows come back, the check must notice */
    mo_cat *c;
    mo_cat_txn *txn;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    MO_ASSERT_OK(mo_cat_begin(c, &txn, &mo_test_err));
    MO_ASSERT_OK(mo_cat_del_object(txn, f.id, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(txn, &mo_test_err));
    mo_cat_close(c);
    MO_ASSERT_OK(mo_gen_check(dir, NULL, NULL, &bad, &mo_test_err));
    CU_ASSERT(bad > 0);
    /* a flipped byte in the truth file */
    char p[1100];
    snprintf(p, sizeof(p), "%s/.mosync/gen/truth", dir);
    uint8_t *d;
    size_t n;
    MO_ASSERT_OK(mo_sys_read_file(&d, &n, p, &mo_test_err));
    d[n / 2] ^= 0x10;
    MO_ASSERT_OK(mo_sys_write_file_atomic(p, d, n, &mo_test_err));
    mo_free(d);
    mo_gen_truth tr;
    MO_ASSERT_RC(MO_ECHECKSUM, mo_gen_truth_load(&tr, dir, &mo_test_err));
    MO_ASSERT_RC(MO_ECHECKSUM, mo_gen_check(dir, NULL, NULL, &bad, &mo_test_err));
}

static CU_TestInfo gen_tests[] = {
    {"check_passes", test_gen__check_passes},
    {"every_kind_happened", test_gen__every_kind_happened},
    {"objects_verify_deep", test_gen__objects_verify_deep},
    {"ddl_semantics", test_gen__ddl_semantics},
    {"upstream_flags_kept", test_gen__upstream_flags_kept},
    {"create_text_layout", test_gen__create_text_layout},
    {"deterministic", test_gen__deterministic},
    {"check_catches_damage", test_gen__check_catches_damage},
    CU_TEST_INFO_NULL};

CU_SuiteInfo test_gen_suites[] = {{"gen", suite_init, suite_clean, NULL, NULL, gen_tests},
                                  CU_SUITE_INFO_NULL};
