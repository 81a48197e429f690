/* Catalog store: row round trips and ordered enumeration, torn-tail recovery at every byte
 * of the last commit (truncation and bit flips), fork-and-kill at every fsync/rename of a
 * commit + compaction, lazy object loading, fencing (second writer, stale epoch), readers
 * during commits, flag normalization (ccpr-protocol.md §5.6), and the OOM loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mo/cat.h"
#include "mo/sys.h"
#include "mo_test.h"

/* test hook in cat_store.c: drops the writer's flock as if the lock had been broken */
void mo_cat__test_unlock(mo_cat *c);

/* ---------------- fixtures ---------------- */

static void make_obj(mo_cat_object *o, uint64_t k, uint64_t table)
{
    memset(o, 0, sizeof(*o));
    uint64_t s = k * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < MO_OBJ_STATS_LEN; i++)
        o->stats[i] = (uint8_t)mo_test_rand(&s);
    memcpy(o->stats, &k, 8); /* unique id */
    o->stats[MO_OBJ_STATS_LEN - 1] = 0x20 | MO_OBJ_STATS_APPENDABLE; /* level 1, appendable */
    o->table_id = table;
    o->is_tombstone = k % 5 == 0;
    o->create_ts.physical = (int64_t)(1000 + k);
    o->create_ts.logical = (uint32_t)k;
    o->digest.lo = k;
    o->digest.hi = ~k;
    memcpy(o->upstream_id, o->stats, MO_OBJ_OBJECTID_LEN);
    o->upstream_id[0] ^= 0xFF;
}

static void make_sub(mo_cat_sub *s, uint64_t id, const char *name)
{
    memset(s, 0, sizeof(*s));
    s->task_id = id;
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->level, sizeof(s->level), "database");
    snprintf(s->account, sizeof(s->account), "acc%llu", (unsigned long long)id);
    snprintf(s->db, sizeof(s->db), "db%llu", (unsigned long long)id);
    snprintf(s->upstream_conn, sizeof(s->upstream_conn), "mysql://a#u@h:6001");
    snprintf(s->pub_account, sizeof(s->pub_account), "sys");
    snprintf(s->pub_name, sizeof(s->pub_name), "pub%llu", (unsigned long long)id);
    s->sync_interval = 60;
    s->state = MO_CAT_SUB_RUNNING;
    s->created_us = 1700000000000000 + (int64_t)id;
    s->updated_us = s->created_us + 5;
}

static void make_task(mo_cat_task *k, uint64_t job)
{
    memset(k, 0, sizeof(*k));
    k->job_id = job;
    k->task_id = job / 10;
    snprintf(k->account, sizeof(k->account), "acc");
    k->db_id = 100 + job;
    k->down_db_id = 200 + job;
    snprintf(k->db, sizeof(k->db), "db");
    k->table_id = 300 + job;
    k->down_table_id = 400 + job;
    snprintf(k->table, sizeof(k->table), "t%llu", (unsigned long long)job);
    k->watermark.physical = 77;
    k->watermark.logical = 3;
    k->snapshot_ts.physical = 78;
    k->iteration_state = MO_CAT_ITER_ERROR;
    snprintf(k->cn_uuid, sizeof(k->cn_uuid), "cn-%llu", (unsigned long long)job);
    k->iteration_lsn = 9;
    snprintf(k->error_message, sizeof(k->error_message), "R:2:1:2:boom");
}

static mo_cat_col g_cols[3];
static char g_sql[] = "CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(10))";

static void make_table(mo_cat_table *t, uint64_t id, bool real_pk)
{
    memset(t, 0, sizeof(*t));
    t->down_id = id;
    t->up_id = id + 1000;
    t->down_db_id = 7;
    snprintf(t->db, sizeof(t->db), "db");
    snprintf(t->name, sizeof(t->name), "t%llu", (unsigned long long)id);
    t->create_sql = g_sql;
    for (int i = 0; i < 3; i++) {
        memset(&g_cols[i], 0, sizeof(g_cols[i]));
        snprintf(g_cols[i].name, sizeof(g_cols[i].name), "c%d", i);
        g_cols[i].type.oid = (uint8_t)(MO_T_INT32 + i);
        g_cols[i].type.size = 4;
        g_cols[i].seqnum = (uint16_t)i;
        g_cols[i].hidden = i == 2;
        g_cols[i].not_null = i == 0;
    }
    t->cols = g_cols;
    t->ncols = 3;
    t->pk_col = real_pk ? 0 : 2;
    t->real_pk = real_pk;
    t->sort_col = 0;
}

/* ---------------- a canonical dump of the whole state (for old-or-new comparisons) ---------------- */

static void dump_add(mo_buf *b, const void *p, size_t n)
{
    CU_ASSERT_FATAL(mo_buf_put(b, p, n) == MO_OK);
}
static int d_sub(const mo_cat_sub *s, void *p)
{
    dump_add(p, s, sizeof(*s));
    return 0;
}
static int d_task(const mo_cat_task *s, void *p)
{
    dump_add(p, s, sizeof(*s));
    return 0;
}
static int d_db(const mo_cat_db *s, void *p)
{
    dump_add(p, s, sizeof(*s));
    return 0;
}
static int d_table(const mo_cat_table *t, void *p)
{
    mo_buf_printf(p, "T%llu/%llu/%llu/%s/%s/%s/%d/%d/%d/%u|", (unsigned long long)t->down_id,
                  (unsigned long long)t->up_id, (unsigned long long)t->down_db_id, t->db, t->name,
                  t->create_sql ? t->create_sql : "(null)", t->pk_col, t->real_pk, t->sort_col,
                  t->ncols);
    for (unsigned i = 0; i < t->ncols; i++)
        mo_buf_printf(p, "%s:%u:%d:%u:%d:%d|", t->cols[i].name, t->cols[i].type.oid,
                      t->cols[i].type.size, t->cols[i].seqnum, t->cols[i].hidden,
                      t->cols[i].not_null);
    return 0;
}
static int d_obj(const mo_cat_object *o, void *p)
{
    dump_add(p, o->stats, sizeof(o->stats));
    mo_buf_printf(p, "%llu/%d/%lld.%u/%lld.%u/%llx%llx/%d|", (unsigned long long)o->table_id,
                  o->is_tombstone, (long long)o->create_ts.physical, o->create_ts.logical,
                  (long long)o->delete_ts.physical, o->delete_ts.logical,
                  (unsigned long long)o->digest.hi, (unsigned long long)o->digest.lo,
                  o->non_mergeable);
    dump_add(p, o->upstream_id, sizeof(o->upstream_id));
    return 0;
}
static int d_snap(const mo_cat_snapshot *s, void *p)
{
    mo_buf_printf(p, "S%s/%lld.%u|", s->name, (long long)s->ts.physical, s->ts.logical);
    return 0;
}

static const uint8_t g_map_ids[4][18] = {{1}, {2}, {3}, {4}};

static void dump(mo_cat *c, mo_buf *b)
{
    b->len = 0;
    MO_ASSERT_OK(mo_cat_foreach_sub(c, d_sub, b));
    MO_ASSERT_OK(mo_cat_foreach_task(c, d_task, b));
    MO_ASSERT_OK(mo_cat_foreach_db(c, d_db, b));
    MO_ASSERT_OK(mo_cat_foreach_table(c, d_table, b));
    MO_ASSERT_OK(mo_cat_foreach_object(c, 0, d_obj, b));
    MO_ASSERT_OK(mo_cat_foreach_snapshot(c, d_snap, b));
    mo_buf_printf(b, "count=%llu|", (unsigned long long)mo_cat_count_objects(c));
    for (int i = 0; i < 4; i++) {
        mo_cat_mapping m;
        if (mo_cat_get_mapping(c, g_map_ids[i], &m, NULL) == MO_OK) {
            mo_buf_printf(b, "M%d/%llu/%u/%u|", i, (unsigned long long)m.table_id, m.ndown,
                          m.nrows);
            dump_add(b, m.down_ids, (size_t)m.ndown * 18);
            dump_add(b, m.row_map, (size_t)m.nrows * 4);
            mo_cat_mapping_dispose(&m);
        }
    }
}

static void dump_dir(const char *dir, mo_buf *b, uint64_t *torn)
{
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_READ, torn, &mo_test_err));
    dump(c, b);
    mo_cat_close(c);
}

static bool same(const mo_buf *a, const mo_buf *b)
{
    return a->len == b->len && !memcmp(a->ptr, b->ptr, a->len);
}

/* commit A: a few rows of every kind; commit B: more of every kind plus changes/deletes */
static void commit_a(mo_cat *c)
{
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    mo_cat_sub s;
    make_sub(&s, 1, "s1");
    MO_ASSERT_OK(mo_cat_put_sub(t, &s, &mo_test_err));
    mo_cat_task k;
    make_task(&k, 11);
    MO_ASSERT_OK(mo_cat_put_task(t, &k, &mo_test_err));
    mo_cat_db d = {.down_id = 7, .up_id = 8, .name = "db"};
    MO_ASSERT_OK(mo_cat_put_db(t, &d, &mo_test_err));
    mo_cat_table tb;
    make_table(&tb, 100, true);
    MO_ASSERT_OK(mo_cat_put_table(t, &tb, &mo_test_err));
    for (uint64_t i = 1; i <= 5; i++) {
        mo_cat_object o;
        make_obj(&o, i, 100);
        MO_ASSERT_OK(mo_cat_put_object(t, &o, &mo_test_err));
    }
    uint8_t down[2][18] = {{9}, {10}};
    uint32_t rows[3] = {2, UINT32_MAX, 0};
    mo_cat_mapping m = {{0}, 100, down, 2, rows, 3};
    memcpy(m.upstream_id, g_map_ids[0], 18);
    MO_ASSERT_OK(mo_cat_put_mapping(t, &m, &mo_test_err));
    mo_cat_snapshot sn = {"ccpr_1_1", {55, 1}};
    MO_ASSERT_OK(mo_cat_put_snapshot(t, &sn, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
}

static void commit_b(mo_cat *c)
{
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    mo_cat_sub s;
    make_sub(&s, 2, "s2");
    MO_ASSERT_OK(mo_cat_put_sub(t, &s, &mo_test_err));
    make_sub(&s, 1, "s1");
    s.state = MO_CAT_SUB_PAUSED;
    MO_ASSERT_OK(mo_cat_put_sub(t, &s, &mo_test_err));
    MO_ASSERT_OK(mo_cat_del_task(t, 11, &mo_test_err));
    mo_cat_task k;
    make_task(&k, 12);
    MO_ASSERT_OK(mo_cat_put_task(t, &k, &mo_test_err));
    mo_cat_table tb;
    make_table(&tb, 101, false);
    MO_ASSERT_OK(mo_cat_put_table(t, &tb, &mo_test_err));
    mo_cat_object o;
    make_obj(&o, 2, 100);
    o.delete_ts.physical = 99; /* soft delete */
    MO_ASSERT_OK(mo_cat_put_object(t, &o, &mo_test_err));
    make_obj(&o, 3, 100);
    MO_ASSERT_OK(mo_cat_del_object(t, o.stats, &mo_test_err));
    make_obj(&o, 6, 101);
    MO_ASSERT_OK(mo_cat_put_object(t, &o, &mo_test_err));
    MO_ASSERT_OK(mo_cat_del_mapping(t, g_map_ids[0], &mo_test_err));
    uint8_t down[1][18] = {{11}};
    mo_cat_mapping m = {{0}, 101, down, 1, NULL, 0};
    memcpy(m.upstream_id, g_map_ids[1], 18);
    MO_ASSERT_OK(mo_cat_put_mapping(t, &m, &mo_test_err));
    MO_ASSERT_OK(mo_cat_del_snapshot(t, "ccpr_1_1", &mo_test_err));
    mo_cat_snapshot sn = {"ccpr_1_2", {56, 0}};
    MO_ASSERT_OK(mo_cat_put_snapshot(t, &sn, &mo_test_err));
    uint64_t id;
    MO_ASSERT_OK(mo_cat_next_id(t, "task", &id, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
}

static off_t file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static void read_all(const char *path, uint8_t **p, size_t *n)
{
    MO_ASSERT_OK(mo_sys_read_file(p, n, path, &mo_test_err));
}

static void write_all(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(p, 1, n, f) == n);
    fclose(f);
}

/* ---------------- cases ---------------- */

static void test_store__roundtrip(void)
{
    const char *d = mo_test_tmpdir("cat_rt");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", d);
    mo_cat *c;
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err));
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(mo_cat_epoch(c), 1);
    commit_a(c);
    commit_b(c);
    mo_buf live = MO_BUF_INIT, b2 = MO_BUF_INIT;
    dump(c, &live);

    mo_cat_sub s;
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s1", &s));
    CU_ASSERT_EQUAL(s.state, MO_CAT_SUB_PAUSED);
    CU_ASSERT_STRING_EQUAL(s.pub_name, "pub1");
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_get_sub(c, 3, &s));
    mo_cat_task k;
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_get_task(c, 11, &k));
    MO_ASSERT_OK(mo_cat_get_task(c, 12, &k));
    CU_ASSERT_STRING_EQUAL(k.error_message, "R:2:1:2:boom");
    CU_ASSERT_EQUAL(k.watermark.logical, 3);
    mo_cat_table tb;
    MO_ASSERT_OK(mo_cat_find_table(c, "db", "t100", &tb, &mo_test_err));
    CU_ASSERT_EQUAL(tb.ncols, 3);
    CU_ASSERT_STRING_EQUAL(tb.create_sql, g_sql);
    CU_ASSERT_STRING_EQUAL(tb.cols[1].name, "c1");
    CU_ASSERT(tb.cols[2].hidden && tb.cols[0].not_null && tb.real_pk);
    mo_cat_table_dispose(&tb);
    CU_ASSERT_EQUAL(mo_cat_count_objects(c), 5);
    mo_cat_object o, want;
    make_obj(&want, 2, 100);
    MO_ASSERT_OK(mo_cat_get_object(c, want.stats, &o));
    CU_ASSERT_EQUAL(o.delete_ts.physical, 99);
    CU_ASSERT(o.non_mergeable);
    mo_cat_snapshot sn;
    MO_ASSERT_OK(mo_cat_get_snapshot(c, "ccpr_1_2", &sn));
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_get_snapshot(c, "ccpr_1_1", &sn));
    mo_cat_close(c);

    /* reopen from the log, then from a compacted snapshot, as reader and writer */
    dump_dir(dir, &b2, NULL);
    CU_ASSERT(same(&live, &b2));
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(mo_cat_epoch(c), 2);
    MO_ASSERT_OK(mo_cat_compact(c, &mo_test_err));
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    uint64_t id;
    MO_ASSERT_OK(mo_cat_next_id(t, "task", &id, &mo_test_err));
    CU_ASSERT_EQUAL(id, 2);
    MO_ASSERT_OK(mo_cat_next_id(t, "task", &id, &mo_test_err));
    CU_ASSERT_EQUAL(id, 3);
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    mo_cat_close(c);
    dump_dir(dir, &b2, NULL);
    CU_ASSERT(same(&live, &b2)); /* sequences are not in the dump */
    /* no stray files after compaction */
    char p[600];
    snprintf(p, sizeof(p), "%s/.mosync/catalog/log.1", dir);
    CU_ASSERT(file_size(p) < 0);
    snprintf(p, sizeof(p), "%s/.mosync/catalog/log.2", dir);
    CU_ASSERT(file_size(p) > 0);
    mo_buf_dispose(&live);
    mo_buf_dispose(&b2);
}

struct order {
    uint64_t last;
    uint8_t lastid[18];
    int n;
    bool bad;
};
static int chk_obj_order(const mo_cat_object *o, void *p)
{
    struct order *ord = p;
    if (ord->n && memcmp(ord->lastid, o->stats, 16) > 0)
        ord->bad = true;
    memcpy(ord->lastid, o->stats, 18);
    ord->n++;
    return 0;
}
static int chk_sub_order(const mo_cat_sub *s, void *p)
{
    struct order *ord = p;
    if (ord->n && s->task_id <= ord->last)
        ord->bad = true;
    ord->last = s->task_id;
    ord->n++;
    return 0;
}
static int stop_cb(const mo_cat_sub *s, void *p)
{
    (void)s;
    (void)p;
    return 1;
}

static void test_store__foreach_order(void)
{
    const char *dir = mo_test_tmpdir("cat_order");
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    uint64_t seed = 5;
    for (int i = 0; i < 200; i++) {
        mo_cat_sub s;
        char name[32];
        snprintf(name, sizeof(name), "s%d", i);
        make_sub(&s, mo_test_rand(&seed) % 100000 + 1, name);
        MO_ASSERT_OK(mo_cat_put_sub(t, &s, &mo_test_err));
        mo_cat_object o;
        make_obj(&o, mo_test_rand(&seed), (uint64_t)(i % 3 + 1));
        o.stats[0] = (uint8_t)mo_test_rand(&seed);
        MO_ASSERT_OK(mo_cat_put_object(t, &o, &mo_test_err));
    }
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    struct order ord = {0};
    MO_ASSERT_OK(mo_cat_foreach_sub(c, chk_sub_order, &ord));
    CU_ASSERT(!ord.bad);
    memset(&ord, 0, sizeof(ord));
    MO_ASSERT_OK(mo_cat_foreach_object(c, 0, chk_obj_order, &ord));
    CU_ASSERT(!ord.bad);
    CU_ASSERT_EQUAL(ord.n, 200);
    memset(&ord, 0, sizeof(ord));
    MO_ASSERT_OK(mo_cat_foreach_object(c, 2, chk_obj_order, &ord));
    CU_ASSERT(!ord.bad);
    CU_ASSERT(ord.n >= 60 && ord.n <= 70);
    MO_ASSERT_RC(MO_EUSER, mo_cat_foreach_sub(c, stop_cb, NULL));
    mo_cat_close(c);
}

/* Builds A then B; returns the log path and the offsets of B inside it. */
static void build_ab(const char *dir, char *log, size_t cap, off_t *b_start, off_t *b_end,
                     mo_buf *sa, mo_buf *sb)
{
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    commit_a(c);
    dump(c, sa);
    snprintf(log, cap, "%s/.mosync/catalog/log.1", dir);
    *b_start = file_size(log);
    commit_b(c);
    dump(c, sb);
    *b_end = file_size(log);
    mo_cat_close(c);
    CU_ASSERT_FATAL(*b_end > *b_start);
}

static void test_store__torn_truncate(void)
{
    char dir[512], log[600];
    snprintf(dir, sizeof(dir), "%s", mo_test_tmpdir("cat_torn"));
    off_t bs, be;
    mo_buf sa = MO_BUF_INIT, sb = MO_BUF_INIT, got = MO_BUF_INIT;
    build_ab(dir, log, sizeof(log), &bs, &be, &sa, &sb);
    uint8_t *orig;
    size_t n;
    read_all(log, &orig, &n);
    CU_ASSERT_FATAL((off_t)n == be);
    for (off_t cut = bs + 1; cut < be; cut++) {
        write_all(log, orig, (size_t)cut);
        uint64_t torn = 0;
        mo_err_clear(&mo_test_err);
        dump_dir(dir, &got, &torn);
        CU_ASSERT_EQUAL(torn, (uint64_t)(cut - bs));
        CU_ASSERT(strstr(mo_test_err.msg, "torn or corrupt at offset") != NULL);
        if (!same(&got, &sa)) {
            fprintf(stderr, "cut at %lld: state is not commit A\n", (long long)cut);
            CU_FAIL_FATAL("partial commit visible");
        }
    }
    /* the writer cuts the tail and appends after it */
    write_all(log, orig, (size_t)(bs + 7));
    mo_cat *c;
    uint64_t torn;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, &torn, &mo_test_err));
    CU_ASSERT_EQUAL(torn, 7);
    CU_ASSERT_EQUAL(file_size(log), bs);
    commit_b(c);
    mo_cat_close(c);
    dump_dir(dir, &got, &torn);
    CU_ASSERT_EQUAL(torn, 0);
    CU_ASSERT(same(&got, &sb));
    mo_free(orig);
    mo_buf_dispose(&sa);
    mo_buf_dispose(&sb);
    mo_buf_dispose(&got);
}

static void test_store__torn_flip(void)
{
    char dir[512], log[600];
    snprintf(dir, sizeof(dir), "%s", mo_test_tmpdir("cat_flip"));
    off_t bs, be;
    mo_buf sa = MO_BUF_INIT, sb = MO_BUF_INIT, got = MO_BUF_INIT;
    build_ab(dir, log, sizeof(log), &bs, &be, &sa, &sb);
    uint8_t *orig;
    size_t n;
    read_all(log, &orig, &n);
    for (off_t i = bs; i < be; i++) {
        orig[i] ^= 0x5A;
        write_all(log, orig, n);
        orig[i] ^= 0x5A;
        uint64_t torn = 0;
        dump_dir(dir, &got, &torn);
        CU_ASSERT(torn > 0);
        if (!same(&got, &sa)) {
            fprintf(stderr, "flip at %lld: state is not commit A\n", (long long)i);
            CU_FAIL_FATAL("corrupt commit applied");
        }
    }
    /* a flip in the log header drops the whole log: the snapshot state (empty) */
    orig[20] ^= 1;
    write_all(log, orig, n);
    uint64_t torn;
    dump_dir(dir, &got, &torn);
    CU_ASSERT_EQUAL(torn, n);
    mo_free(orig);
    mo_buf_dispose(&sa);
    mo_buf_dispose(&sb);
    mo_buf_dispose(&got);
}

static void test_store__snapshot_corrupt(void)
{
    char dir[512], snap[600];
    snprintf(dir, sizeof(dir), "%s", mo_test_tmpdir("cat_snapc"));
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    commit_a(c);
    MO_ASSERT_OK(mo_cat_compact(c, &mo_test_err));
    mo_cat_close(c);
    snprintf(snap, sizeof(snap), "%s/.mosync/catalog/snapshot", dir);
    uint8_t *orig;
    size_t n;
    read_all(snap, &orig, &n);
    /* a flipped byte anywhere is found: header/rows at open, objects at first object use */
    for (size_t i = 0; i < n; i += (i < 200 ? 1 : 37)) {
        orig[i] ^= 0x10;
        write_all(snap, orig, n);
        orig[i] ^= 0x10;
        int rc = mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err);
        if (rc == MO_OK) {
            mo_cat_object o;
            make_obj(&o, 1, 100);
            rc = mo_cat_get_object(c, o.stats, &o);
            mo_cat_close(c);
        }
        CU_ASSERT(rc == MO_ECHECKSUM || rc == MO_ECORRUPT || rc == MO_EVERSION);
    }
    write_all(snap, orig, n - 1);
    MO_ASSERT_RC(MO_ETRUNCATED, mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err));
    mo_free(orig);
}

/* Child: A (durable), then with faults armed: B + compaction. */
static void crash_child(const char *dir, mo_sys_op op, unsigned long nth)
{
    mo_cat *c;
    if (mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, NULL) < 0)
        _exit(2);
    mo_sys_fault_arm(op, nth, MO_SYS_FAULT_EXIT, false);
    commit_b(c);
    if (mo_cat_compact(c, NULL) < 0)
        _exit(3);
    mo_cat_close(c);
    _exit(0);
}

static void test_store__crash_compaction(void)
{
    /* fsync and rename are the brief's crash points; a kill there loses nothing already
     * written (the page cache survives a process crash), so write points are added to also
     * reach the old state */
    static const mo_sys_op ops[] = {MO_SYS_FSYNC, MO_SYS_RENAME, MO_SYS_WRITE};
    static const char *const names[] = {"fsync", "rename", "write"};
    mo_buf sa = MO_BUF_INIT, sb = MO_BUF_INIT, got = MO_BUF_INIT;
    int olds = 0, news = 0, kills = 0;
    for (int oi = 0; oi < 3; oi++) {
        for (unsigned long nth = 1;; nth++) {
            char dir[512];
            snprintf(dir, sizeof(dir), "%s", mo_test_tmpdir("cat_crash"));
            mo_cat *c;
            MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
            commit_a(c);
            dump(c, &sa);
            if (!sb.len) { /* the expected new state, computed once in a scratch copy */
                commit_b(c);
                dump(c, &sb);
                mo_cat_close(c);
                snprintf(dir, sizeof(dir), "%s", mo_test_tmpdir("cat_crash"));
                MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
                commit_a(c);
            }
            mo_cat_close(c);
            fflush(NULL);
            const pid_t pid = fork();
            CU_ASSERT_FATAL(pid >= 0);
            if (pid == 0)
                crash_child(dir, ops[oi], nth);
            int st;
            CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
            CU_ASSERT_FATAL(WIFEXITED(st));
            const int code = WEXITSTATUS(st);
            CU_ASSERT_FATAL(code == 0 || code == 77);
            for (int pass = 0; pass < 2; pass++) { /* as found, then after a writer's recovery */
                dump_dir(dir, &got, NULL);
                if (same(&got, &sa))
                    olds++;
                else if (same(&got, &sb))
                    news++;
                else {
                    fprintf(stderr, "%s #%lu: neither old nor new state\n", names[oi], nth);
                    CU_FAIL_FATAL("torn state after a crash");
                }
                if (pass == 0) {
                    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
                    mo_cat_close(c);
                }
            }
            if (code == 0)
                break;
            kills++;
            CU_ASSERT_FATAL(nth < 50);
        }
    }
    CU_ASSERT(olds > 0 && news > 0);
    CU_ASSERT(kills >= 8);
    mo_buf_dispose(&sa);
    mo_buf_dispose(&sb);
    mo_buf_dispose(&got);
}

static void test_store__lazy_objects(void)
{
    const char *dir = mo_test_tmpdir("cat_lazy");
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    mo_cat_txn *t;
    for (uint64_t round = 0; round < 3; round++) {
        MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
        for (uint64_t i = 0; i < 300; i++) {
            mo_cat_object o;
            make_obj(&o, round * 200 + i, 1); /* overlaps: replaces */
            MO_ASSERT_OK(mo_cat_put_object(t, &o, &mo_test_err));
        }
        MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
        if (round == 1)
            MO_ASSERT_OK(mo_cat_compact(c, &mo_test_err));
    }
    /* the log after the snapshot deletes some and re-puts one in the same commit */
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    mo_cat_object o;
    for (uint64_t i = 0; i < 10; i++) {
        make_obj(&o, i, 1);
        MO_ASSERT_OK(mo_cat_del_object(t, o.stats, &mo_test_err));
        MO_ASSERT_OK(mo_cat_del_object(t, o.stats, &mo_test_err));
    }
    make_obj(&o, 3, 1);
    MO_ASSERT_OK(mo_cat_put_object(t, &o, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    const uint64_t want = 700 - 10 + 1;
    CU_ASSERT_EQUAL(mo_cat_count_objects(c), want);
    mo_cat_close(c);
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(mo_cat_count_objects(c), want); /* from header + commit deltas */
    struct order ord = {0};
    MO_ASSERT_OK(mo_cat_foreach_object(c, 0, chk_obj_order, &ord)); /* loads */
    CU_ASSERT_EQUAL((uint64_t)ord.n, want);
    CU_ASSERT_EQUAL(mo_cat_count_objects(c), want);
    make_obj(&o, 4, 1);
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_get_object(c, o.stats, &o));
    make_obj(&o, 3, 1);
    MO_ASSERT_OK(mo_cat_get_object(c, o.stats, &o));
    mo_cat_close(c);
}

static void test_store__second_writer(void)
{
    const char *dir = mo_test_tmpdir("cat_lock");
    mo_cat *a, *b;
    MO_ASSERT_OK(mo_cat_open(&a, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    mo_err e;
    MO_ASSERT_RC(MO_EEXISTS, mo_cat_open(&b, dir, MO_CAT_WRITE, NULL, &e));
    char want[64];
    snprintf(want, sizeof(want), "locked by pid %ld", (long)getpid());
    CU_ASSERT(strstr(e.msg, want) != NULL);
    /* readers never take the lock */
    MO_ASSERT_OK(mo_cat_open(&b, dir, MO_CAT_READ, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(mo_cat_epoch(b), 0);
    mo_cat_txn *t;
    MO_ASSERT_RC(MO_EINVAL, mo_cat_begin(b, &t, &mo_test_err));
    mo_cat_close(b);
    mo_cat_close(a);
    MO_ASSERT_OK(mo_cat_open(&b, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(mo_cat_epoch(b), 2);
    mo_cat_close(b);
}

static void test_store__stale_writer(void)
{
    const char *dir = mo_test_tmpdir("cat_stale");
    mo_cat *a, *b;
    MO_ASSERT_OK(mo_cat_open(&a, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    commit_a(a);
    mo_cat__test_unlock(a); /* the lock is broken (admin, lost lease): B takes over */
    MO_ASSERT_OK(mo_cat_open(&b, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    CU_ASSERT(mo_cat_epoch(b) > mo_cat_epoch(a));
    mo_buf before = MO_BUF_INIT, after = MO_BUF_INIT;
    dump(b, &before);
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(a, &t, &mo_test_err));
    mo_cat_sub s;
    make_sub(&s, 99, "stale");
    MO_ASSERT_OK(mo_cat_put_sub(t, &s, &mo_test_err));
    mo_err e;
    MO_ASSERT_RC(MO_ESTALE, mo_cat_commit(t, &e));
    CU_ASSERT(strstr(e.msg, "stale") != NULL);
    MO_ASSERT_RC(MO_ESTALE, mo_cat_compact(a, &e));
    mo_cat_close(a);
    /* B keeps working, and nobody sees A's commit */
    commit_b(b);
    mo_cat_close(b);
    dump_dir(dir, &after, NULL);
    mo_cat *r;
    MO_ASSERT_OK(mo_cat_open(&r, dir, MO_CAT_READ, NULL, &mo_test_err));
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_get_sub_by_name(r, "stale", &s));
    MO_ASSERT_OK(mo_cat_get_sub_by_name(r, "s2", &s));
    mo_cat_close(r);
    mo_buf_dispose(&before);
    mo_buf_dispose(&after);
}

/* Writer child commits N times: K objects + sub 1 whose sync_interval = commits so far,
 * compacting now and then. The reader must always see count == K * sync_interval. */
static void test_store__readers_during_commits(void)
{
    const char *d = mo_test_tmpdir("cat_readers");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", d);
    enum { N = 60, K = 50 };
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    mo_cat_close(c);
    fflush(NULL);
    const pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        if (mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, NULL) < 0)
            _exit(2);
        for (uint32_t i = 1; i <= N; i++) {
            mo_cat_txn *t;
            if (mo_cat_begin(c, &t, NULL) < 0)
                _exit(3);
            for (int j = 0; j < K; j++) {
                mo_cat_object o;
                make_obj(&o, (uint64_t)i * 1000 + (uint64_t)j, 1);
                mo_cat_put_object(t, &o, NULL);
            }
            mo_cat_sub s;
            make_sub(&s, 1, "s1");
            s.sync_interval = i;
            mo_cat_put_sub(t, &s, NULL);
            if (mo_cat_commit(t, NULL) < 0)
                _exit(4);
            if (i % 15 == 0 && mo_cat_compact(c, NULL) < 0)
                _exit(5);
        }
        mo_cat_close(c);
        _exit(0);
    }
    mo_cat *r;
    MO_ASSERT_OK(mo_cat_open(&r, dir, MO_CAT_READ, NULL, &mo_test_err));
    int checks = 0, bad = 0;
    uint32_t last = 0;
    for (;;) {
        int st;
        const bool done = waitpid(pid, &st, WNOHANG) == pid;
        MO_ASSERT_OK(mo_cat_refresh(r, &mo_test_err));
        mo_cat_sub s;
        const uint32_t seen = mo_cat_get_sub(r, 1, &s) == MO_OK ? s.sync_interval : 0;
        if (mo_cat_count_objects(r) != (uint64_t)K * seen || seen < last)
            bad++;
        if (checks % 7 == 0) { /* and the loaded objects agree too */
            struct order ord = {0};
            MO_ASSERT_OK(mo_cat_foreach_object(r, 0, chk_obj_order, &ord));
            if ((uint64_t)ord.n != (uint64_t)K * seen)
                bad++;
        }
        last = seen;
        checks++;
        if (done) {
            CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            break;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(last, N);
    CU_ASSERT(checks > 1);
    mo_cat_close(r);
}

static void test_store__flags(void)
{
    /* MO: clear b0..b4, keep level b5..b7, sorted = tombstone || real PK, CN-created set */
    for (unsigned f = 0; f < 256; f++)
        for (int tomb = 0; tomb < 2; tomb++)
            for (int pk = 0; pk < 2; pk++) {
                const uint8_t got = mo_cat_normalize_flags((uint8_t)f, tomb, pk);
                uint8_t want = (uint8_t)((f & 0xE0) | MO_OBJ_STATS_CNCREATED);
                if (tomb || pk)
                    want |= MO_OBJ_STATS_SORTED;
                CU_ASSERT_EQUAL(got, want);
            }
    CU_ASSERT_EQUAL(mo_cat_normalize_flags(0xFF, false, false), 0xE4);
    CU_ASSERT_EQUAL(mo_cat_normalize_flags(0x01, false, true), 0x06);
    CU_ASSERT_EQUAL(mo_cat_normalize_flags(0x41, true, false), 0x46);

    /* registration applies it with the table's PK (same txn or committed) */
    const char *dir = mo_test_tmpdir("cat_flags");
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    mo_cat_table tb;
    make_table(&tb, 100, true);
    MO_ASSERT_OK(mo_cat_put_table(t, &tb, &mo_test_err));
    make_table(&tb, 101, false);
    MO_ASSERT_OK(mo_cat_put_table(t, &tb, &mo_test_err));
    mo_cat_object o;
    make_obj(&o, 10, 100); /* data, real PK */
    o.is_tombstone = false;
    o.stats[MO_OBJ_STATS_LEN - 1] = 0x60 | 0x1F;
    o.non_mergeable = false;
    MO_ASSERT_OK(mo_cat_put_object(t, &o, &mo_test_err));
    make_obj(&o, 11, 101); /* data, fake PK */
    o.is_tombstone = false;
    o.stats[MO_OBJ_STATS_LEN - 1] = 0x23;
    MO_ASSERT_OK(mo_cat_put_object(t, &o, &mo_test_err));
    make_obj(&o, 12, 101); /* tombstone, fake PK */
    o.is_tombstone = true;
    o.stats[MO_OBJ_STATS_LEN - 1] = 0x01;
    MO_ASSERT_OK(mo_cat_put_object(t, &o, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    mo_cat_close(c);
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err));
    static const uint8_t want[3] = {0x66, 0x24, 0x06};
    for (int i = 0; i < 3; i++) {
        make_obj(&o, 10 + (uint64_t)i, 0);
        mo_cat_object got;
        MO_ASSERT_OK(mo_cat_get_object(c, o.stats, &got));
        CU_ASSERT_EQUAL(got.stats[MO_OBJ_STATS_LEN - 1], want[i]);
        CU_ASSERT(got.non_mergeable);
        CU_ASSERT(!(got.stats[MO_OBJ_STATS_LEN - 1] & MO_OBJ_STATS_APPENDABLE));
    }
    mo_cat_close(c);
}

static void test_store__invalid_rows(void)
{
    const char *dir = mo_test_tmpdir("cat_inval");
    mo_cat *c;
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    mo_cat_sub s;
    make_sub(&s, 1, "x");
    memset(s.name, 'a', sizeof(s.name)); /* unterminated */
    MO_ASSERT_RC(MO_EINVAL, mo_cat_put_sub(t, &s, &mo_test_err));
    mo_cat_table tb;
    make_table(&tb, 5, true);
    tb.pk_col = 3;
    MO_ASSERT_RC(MO_EINVAL, mo_cat_put_table(t, &tb, &mo_test_err));
    make_sub(&s, 1, "ok"); /* the txn is still usable */
    MO_ASSERT_OK(mo_cat_put_sub(t, &s, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "ok", &s));
    /* an empty transaction is a no-op */
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    mo_cat_abort(t);
    mo_cat_close(c);
}

static void test_store__oom(void)
{
    char dir[512];
    int ok_round = 0;
    for (unsigned long nth = 1; nth < 5000 && !ok_round; nth++) {
        snprintf(dir, sizeof(dir), "%s", mo_test_tmpdir("cat_oom"));
        /* a compacted base so open exercises snapshot, rows and lazy objects */
        mo_cat *c;
        MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err));
        commit_a(c);
        MO_ASSERT_OK(mo_cat_compact(c, &mo_test_err));
        commit_a(c);
        mo_cat_close(c);
        mo_alloc_fail_at(nth, false);
        int rc = mo_cat_open(&c, dir, MO_CAT_WRITE, NULL, &mo_test_err);
        if (rc == MO_OK) {
            mo_cat_txn *t;
            rc = mo_cat_begin(c, &t, &mo_test_err);
            if (rc == MO_OK) {
                mo_cat_object o;
                make_obj(&o, 77, 100);
                rc = mo_cat_put_object(t, &o, &mo_test_err);
                mo_cat_table tb;
                make_table(&tb, 102, true);
                if (rc == MO_OK)
                    rc = mo_cat_put_table(t, &tb, &mo_test_err);
                if (rc == MO_OK)
                    rc = mo_cat_commit(t, &mo_test_err);
                else
                    mo_cat_abort(t);
            }
            if (rc == MO_OK)
                rc = mo_cat_compact(c, &mo_test_err);
            mo_cat_close(c);
        }
        mo_alloc_fail_at(0, false);
        if (rc != MO_OK && rc != MO_ENOMEM) {
            fprintf(stderr, "nth %lu: %s: %s\n", nth, mo_code_name(rc), mo_test_err.msg);
            CU_FAIL_FATAL("not ENOMEM");
        }
        /* whatever failed, the catalog reopens: either with the new commit or without */
        MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err));
        const uint64_t n = mo_cat_count_objects(c);
        CU_ASSERT(n == 5 || n == 6);
        if (rc == MO_OK)
            CU_ASSERT(n == 6);
        mo_cat_close(c);
        ok_round = rc == MO_OK;
    }
    CU_ASSERT(ok_round);
}

static CU_TestInfo store_tests[] = {
    {"roundtrip", test_store__roundtrip},
    {"foreach_order", test_store__foreach_order},
    {"torn_truncate", test_store__torn_truncate},
    {"torn_flip", test_store__torn_flip},
    {"snapshot_corrupt", test_store__snapshot_corrupt},
    {"crash_compaction", test_store__crash_compaction},
    {"lazy_objects", test_store__lazy_objects},
    {"second_writer", test_store__second_writer},
    {"stale_writer", test_store__stale_writer},
    {"readers_during_commits", test_store__readers_during_commits},
    {"flags", test_store__flags},
    {"invalid_rows", test_store__invalid_rows},
    {"oom", test_store__oom},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_store_suites[] = {
    {"store", NULL, NULL, NULL, NULL, store_tests},
    CU_SUITE_INFO_NULL,
};
