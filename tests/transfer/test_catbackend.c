/* The catalog backend of moupstream (mo/srv.h, srv_catbackend.c): a small upstream replica
 * built with the catalog API (two databases, three tables, objects written by the objfmt
 * writer — one DISK-framed —, snapshots gen_1..gen_3, a delete, a table drop), checked
 * through every backend call and then through the in-process server with the upstream
 * client (mo/upstream.h): object_list diffs between snapshots, get_ddl before and after the
 * drop, get_object of plain and framed objects, publications restricting objects, a writer
 * committing while the backend serves, the durable snapshot file and its corruption. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo/cat.h"
#include "mo/gen.h"
#include "mo/obj_frame.h"
#include "mo/objfmt.h"
#include "mo/srv.h"
#include "mo/upstream.h"
#include "mo_test.h"

enum { DB1 = 1001, DB2 = 1002, T1 = 2001, T2 = 2002, U1 = 2003, T1B = 2004 };
enum { O_A, O_B, O_C, O_T, O_P, O_U, O_F, O_D, O_N, O_COUNT };

#define T1_SQL                                                                                     \
    "CREATE TABLE `db1`.`t1` (\n  `id` bigint NOT NULL,\n  PRIMARY KEY (`id`)\n) "                 \
    "COLLATE=utf8mb4_general_ci PROPERTIES('from_publication' = 'true')"
#define T2_SQL                                                                                     \
    "CREATE TABLE `db1`.`t2` (\n  `a` bigint NOT NULL,\n  `b` int NOT NULL,\n  PRIMARY KEY "       \
    "(`a`,`b`)\n) COLLATE=utf8mb4_general_ci PROPERTIES('from_publication' = 'true')"
#define U1_SQL                                                                                     \
    "CREATE TABLE `db2`.`u1` (\n  `v` bigint DEFAULT NULL\n) COLLATE=utf8mb4_general_ci "          \
    "PROPERTIES('from_publication' = 'true')"

typedef struct tobj {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    uint8_t stats[MO_OBJ_STATS_LEN];
    mo_buf bytes; /* logical */
} tobj;

#define NO_SUCH "0d9c0000-0000-7000-8000-000000000000_00000"

static char g_dir[512];
static bool g_step4; /* the "generator" committed step 4 while a backend served */
static mo_cat *g_w;  /* the "generator": a writer kept open while the backend serves */
static tobj g_o[O_COUNT];

/* ---------------- building the replica ---------------- */

static void write_obj(tobj *o, uint32_t rows, uint64_t seed, bool framed)
{
    mo_obj_writer_col cols[1] = {{mo_obj_type_default(MO_T_INT64), 0}};
    mo_obj_writer_opts wo = {0};
    wo.kind = MO_OBJ_KIND_DATA;
    wo.pk_pos = 0;
    wo.sort_key_pos = 0;
    mo_obj_writer *w;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, 1, &wo, &mo_test_err));
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &cols[0].type);
    for (uint32_t r = 0; r < rows; r++) {
        uint8_t k[8];
        mo_store_le64(k, seed * 1000000 + r);
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c, k));
    }
    mo_obj_vec v;
    mo_obj_colbuf_view(&v, &c);
    MO_ASSERT_OK(mo_obj_writer_add_block(w, &v, &mo_test_err));
    mo_buf_init(&o->bytes);
    mo_obj_stats st;
    MO_ASSERT_OK(mo_obj_writer_finish(w, &o->bytes, &st, &mo_test_err));
    mo_obj_stats_encode(o->stats, &st);
    mo_obj_name_format(o->name, mo_obj_writer_id(w));
    mo_obj_writer_free(w);
    mo_obj_colbuf_dispose(&c);
    mo_buf disk = MO_BUF_INIT;
    if (framed)
        MO_ASSERT_OK(mo_obj_frame_encode(&disk, o->bytes.ptr, o->bytes.len));
    char p[700];
    snprintf(p, sizeof(p), "%s/%s", g_dir, o->name);
    FILE *f = fopen(p, "wb");
    CU_ASSERT_FATAL(f != NULL);
    const mo_buf *b = framed ? &disk : &o->bytes;
    CU_ASSERT_FATAL(fwrite(b->ptr, 1, b->len, f) == b->len);
    fclose(f);
    mo_buf_dispose(&disk);
}

static void put_table(mo_cat_txn *t, const char *sql, uint64_t id, uint64_t db, int64_t created,
                      int64_t dropped)
{
    mo_cat_table tb;
    MO_ASSERT_OK(mo_cat_schema_parse(&tb, sql, &mo_test_err));
    tb.down_id = tb.up_id = id;
    tb.down_db_id = db;
    tb.created_ts.physical = created;
    tb.dropped_ts.physical = dropped;
    MO_ASSERT_OK(mo_cat_put_table(t, &tb, &mo_test_err));
    mo_cat_table_dispose(&tb);
}

static void put_obj(mo_cat_txn *t, int which, uint64_t table, int64_t created, int64_t deleted,
                    bool tomb)
{
    mo_cat_object o;
    memset(&o, 0, sizeof(o));
    memcpy(o.stats, g_o[which].stats, MO_OBJ_STATS_LEN);
    memcpy(o.upstream_id, o.stats, MO_OBJ_OBJECTID_LEN);
    o.table_id = table;
    o.is_tombstone = tomb;
    o.create_ts.physical = created;
    o.delete_ts.physical = deleted;
    MO_ASSERT_OK(mo_cat_put_object_raw(t, &o, &mo_test_err));
}

static void put_snap(const char *name, int64_t ts)
{
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(g_w, &t, &mo_test_err));
    mo_cat_snapshot s;
    memset(&s, 0, sizeof(s));
    snprintf(s.name, sizeof(s.name), "%s", name);
    s.ts.physical = ts;
    MO_ASSERT_OK(mo_cat_put_snapshot(t, &s, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
}

/*
 * TS 100: db1{t1, t2}, db2{u1}; A, B (t1), P (t2), U (u1), F (t1, DISK-framed) -> gen_1 @150
 * TS 200: B deleted; C, tombstone T (t1); D (t1) created at 200, deleted at 240 -> gen_2 @250
 * TS 300: t2 dropped                                                            -> gen_3 @350
 * N is a file in the directory that the catalog does not know.
 */
static void build(void)
{
    if (g_w)
        return;
    const char *d = mo_test_tmpdir("catbackend");
    CU_ASSERT_FATAL(d != NULL);
    snprintf(g_dir, sizeof(g_dir), "%s", d);
    for (int i = 0; i < O_COUNT; i++)
        write_obj(&g_o[i], 100 + 37 * (uint32_t)i, (uint64_t)i + 1, i == O_F);
    MO_ASSERT_OK(mo_cat_open(&g_w, g_dir, MO_CAT_WRITE, NULL, &mo_test_err));
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(g_w, &t, &mo_test_err));
    mo_cat_db d1 = {.down_id = DB1, .up_id = DB1, .name = "db1", .created_ts = {100, 0}};
    mo_cat_db d2 = {.down_id = DB2, .up_id = DB2, .name = "db2", .created_ts = {100, 0}};
    MO_ASSERT_OK(mo_cat_put_db(t, &d1, &mo_test_err));
    MO_ASSERT_OK(mo_cat_put_db(t, &d2, &mo_test_err));
    put_table(t, T1_SQL, T1, DB1, 100, 0);
    put_table(t, T2_SQL, T2, DB1, 100, 0);
    put_table(t, U1_SQL, U1, DB2, 100, 0);
    put_obj(t, O_A, T1, 100, 0, false);
    put_obj(t, O_B, T1, 100, 0, false);
    put_obj(t, O_P, T2, 100, 0, false);
    put_obj(t, O_U, U1, 100, 0, false);
    put_obj(t, O_F, T1, 100, 0, false);
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    put_snap("gen_1", 150);
    MO_ASSERT_OK(mo_cat_begin(g_w, &t, &mo_test_err));
    put_obj(t, O_B, T1, 100, 200, false);
    put_obj(t, O_C, T1, 200, 0, false);
    put_obj(t, O_T, T1, 200, 0, true);
    put_obj(t, O_D, T1, 200, 240, false);
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    put_snap("gen_2", 250);
    MO_ASSERT_OK(mo_cat_begin(g_w, &t, &mo_test_err));
    put_table(t, T2_SQL, T2, DB1, 100, 300);
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    put_snap("gen_3", 350);
}

/* TS 400: N registered in t1 -> gen_4 @450, committed while a backend reads. Idempotent. */
static void step4(void)
{
    build();
    if (g_step4)
        return;
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(g_w, &t, &mo_test_err));
    put_obj(t, O_N, T1, 400, 0, false);
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    put_snap("gen_4", 450);
    g_step4 = true;
}

static int suite_clean(void)
{
    mo_cat_close(g_w);
    g_w = NULL;
    for (int i = 0; i < O_COUNT; i++)
        mo_buf_dispose(&g_o[i].bytes);
    return 0;
}

/* ---------------- callbacks collecting results ---------------- */

typedef struct names {
    char v[16][64];
    size_t n;
} names;

static int name_cb(const char *name, void *payload)
{
    names *l = payload;
    if (l->n < 16)
        snprintf(l->v[l->n++], 64, "%s", name);
    return 0;
}

typedef struct tabs {
    mo_srv_table v[16];
    char sql[16][4096];
    char name[16][64];
    size_t n;
} tabs;

static int table_cb(const mo_srv_table *t, void *payload)
{
    tabs *l = payload;
    if (l->n < 16) {
        l->v[l->n] = *t;
        snprintf(l->sql[l->n], sizeof(l->sql[0]), "%s", t->create_sql ? t->create_sql : "");
        snprintf(l->name[l->n], 64, "%s", t->name);
        l->v[l->n].db = l->v[l->n].name = l->v[l->n].create_sql = NULL;
        l->n++;
    }
    return 0;
}

static int index_cb(const mo_srv_index *ix, void *payload)
{
    CU_ASSERT_STRING_EQUAL(ix->name, "PRIMARY");
    (*(unsigned *)payload)++;
    return 0;
}

typedef struct recs {
    char name[32][43];
    char table[32][64];
    mo_obj_ts c[32], d[32];
    bool tomb[32];
    size_t n;
} recs;

static int obj_cb(const mo_srv_obj *o, void *payload)
{
    recs *l = payload;
    if (l->n < 32) {
        memcpy(l->name[l->n], o->stats + 18, 42);
        l->name[l->n][42] = 0;
        snprintf(l->table[l->n], 64, "%s.%s", o->db, o->table);
        l->c[l->n] = o->create_at;
        l->d[l->n] = o->delete_at;
        l->tomb[l->n] = o->tombstone;
        l->n++;
    }
    return 0;
}

static int rec_find(const recs *l, int which)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], g_o[which].name))
            return (int)i;
    return -1;
}

static mo_srv_catbackend *open_be(void)
{
    mo_srv_catbackend *b = NULL;
    MO_ASSERT_OK(mo_srv_catbackend_new(&b, g_dir, "root", "pw", &mo_test_err));
    return b;
}

static mo_srv_snap get_snap(mo_srv_catbackend *b, const char *name)
{
    mo_srv_snap s;
    MO_ASSERT_OK(mo_srv_catbackend_ops()->snap_get(b, &s, "sys", name, &mo_test_err));
    return s;
}

/* ---------------- backend calls ---------------- */

static void test_catbackend__logins_and_pubs(void)
{
    build(); /* once per run, inside a test so that asserts have one */
    mo_srv_catbackend *b = open_be();
    const mo_srv_backend_ops *ops = mo_srv_catbackend_ops();
    CU_ASSERT_STRING_EQUAL(ops->password(b, "sys", "root"), "pw");
    CU_ASSERT_STRING_EQUAL(ops->password(b, "SYS", "root"), "pw");
    CU_ASSERT_PTR_NULL(ops->password(b, "acme", "root"));
    CU_ASSERT_PTR_NULL(ops->password(b, "sys", "bob"));
    const mo_srv_pub *p;
    MO_ASSERT_OK(ops->pub_find(b, &p, "sys", "mosync", &mo_test_err));
    CU_ASSERT(mo_srv_pub_covers(p, "db2", "u1"));
    MO_ASSERT_OK(ops->pub_find(b, &p, NULL, "mosync", &mo_test_err));
    MO_ASSERT_RC(MO_ENOTFOUND, ops->pub_find(b, &p, "sys", "other", &mo_test_err));
    /* a second server on the same replica is refused */
    mo_srv_catbackend *b2 = NULL;
    MO_ASSERT_RC(MO_EEXISTS, mo_srv_catbackend_new(&b2, g_dir, "root", "pw", &mo_test_err));
    CU_ASSERT_PTR_NULL(b2);
    mo_srv_catbackend_free(b);
    /* no catalog: not a replica */
    const char *empty = mo_test_tmpdir("catbackend_empty");
    MO_ASSERT_RC(MO_ENOTFOUND, mo_srv_catbackend_new(&b2, empty, "root", "pw", &mo_test_err));
}

static void test_catbackend__databases_tables_indexes(void)
{
    build(); /* once per run, inside a test so that asserts have one */
    mo_srv_catbackend *b = open_be();
    const mo_srv_backend_ops *ops = mo_srv_catbackend_ops();
    names dbs = {0};
    MO_ASSERT_OK(ops->databases(b, "sys", NULL, name_cb, &dbs, &mo_test_err));
    CU_ASSERT_EQUAL(dbs.n, 2);
    CU_ASSERT_STRING_EQUAL(dbs.v[0], "db1");
    CU_ASSERT_STRING_EQUAL(dbs.v[1], "db2");
    names none = {0};
    MO_ASSERT_OK(ops->databases(b, "acme", NULL, name_cb, &none, &mo_test_err));
    CU_ASSERT_EQUAL(none.n, 0);
    /* before the drop both tables of db1, after it only t1 */
    mo_srv_snap g2 = get_snap(b, "gen_2"), g3 = get_snap(b, "gen_3");
    CU_ASSERT_EQUAL(g2.ts.physical, 250);
    CU_ASSERT_EQUAL(g2.level, MO_SRV_LEVEL_ACCOUNT);
    tabs t = {0};
    MO_ASSERT_OK(ops->tables(b, "sys", &g2, "db1", table_cb, &t, &mo_test_err));
    CU_ASSERT_EQUAL_FATAL(t.n, 2);
    CU_ASSERT_STRING_EQUAL(t.name[0], "t1");
    CU_ASSERT_EQUAL(t.v[0].id, T1);
    CU_ASSERT_EQUAL(t.v[0].kind, 'r');
    CU_ASSERT_STRING_EQUAL(t.sql[0], T1_SQL);
    CU_ASSERT_STRING_EQUAL(t.name[1], "t2");
    CU_ASSERT_STRING_EQUAL(t.sql[1], T2_SQL);
    memset(&t, 0, sizeof(t));
    MO_ASSERT_OK(ops->tables(b, "sys", &g3, "db1", table_cb, &t, &mo_test_err));
    CU_ASSERT_EQUAL(t.n, 1);
    memset(&t, 0, sizeof(t));
    MO_ASSERT_OK(ops->tables(b, "sys", NULL, "db1", table_cb, &t, &mo_test_err));
    CU_ASSERT_EQUAL(t.n, 1);
    MO_ASSERT_RC(MO_ENOTFOUND, ops->tables(b, "sys", NULL, "nodb", table_cb, &t, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(mo_test_err.msg, "database nodb does not exist");
    /* before the databases were created */
    mo_srv_snap early = g2;
    early.ts.physical = 50;
    MO_ASSERT_RC(MO_ENOTFOUND, ops->tables(b, "sys", &early, "db1", table_cb, &t, &mo_test_err));
    memset(&dbs, 0, sizeof(dbs));
    MO_ASSERT_OK(ops->databases(b, "sys", &early, name_cb, &dbs, &mo_test_err));
    CU_ASSERT_EQUAL(dbs.n, 0);
    /* mo_indexes: one PRIMARY row per primary-key column, none without a key */
    unsigned n = 0;
    MO_ASSERT_OK(ops->indexes(b, "sys", &g2, T2, index_cb, &n, &mo_test_err));
    CU_ASSERT_EQUAL(n, 2);
    n = 0;
    MO_ASSERT_OK(ops->indexes(b, "sys", &g3, T2, index_cb, &n, &mo_test_err)); /* dropped */
    CU_ASSERT_EQUAL(n, 0);
    MO_ASSERT_OK(ops->indexes(b, "sys", NULL, T1, index_cb, &n, &mo_test_err));
    CU_ASSERT_EQUAL(n, 1);
    n = 0;
    MO_ASSERT_OK(ops->indexes(b, "sys", NULL, U1, index_cb, &n, &mo_test_err));
    CU_ASSERT_EQUAL(n, 0);
    mo_srv_catbackend_free(b);
}

static void test_catbackend__objects(void)
{
    build(); /* once per run, inside a test so that asserts have one */
    mo_srv_catbackend *b = open_be();
    const mo_srv_backend_ops *ops = mo_srv_catbackend_ops();
    mo_srv_snap g1 = get_snap(b, "gen_1"), g2 = get_snap(b, "gen_2"), g3 = get_snap(b, "gen_3");
    /* full at gen_1: A, B, F (t1), P (t2), U (u1); data before tombstones per table */
    recs r = {0};
    MO_ASSERT_OK(ops->objects(b, &g1, NULL, g1.ts, obj_cb, &r, &mo_test_err));
    CU_ASSERT_EQUAL(r.n, 5);
    CU_ASSERT(rec_find(&r, O_A) >= 0 && rec_find(&r, O_B) >= 0 && rec_find(&r, O_F) >= 0);
    CU_ASSERT(rec_find(&r, O_P) >= 0 && rec_find(&r, O_U) >= 0);
    CU_ASSERT_STRING_EQUAL(r.table[rec_find(&r, O_P)], "db1.t2");
    CU_ASSERT_STRING_EQUAL(r.table[rec_find(&r, O_U)], "db2.u1");
    /* incremental gen_1..gen_2: B (deleted at 200), C, D, T; their TS as stored */
    memset(&r, 0, sizeof(r));
    MO_ASSERT_OK(ops->objects(b, &g2, &g1.ts, g2.ts, obj_cb, &r, &mo_test_err));
    CU_ASSERT_EQUAL(r.n, 4);
    int i = rec_find(&r, O_B);
    CU_ASSERT_FATAL(i >= 0);
    CU_ASSERT_EQUAL(r.d[i].physical, 200);
    i = rec_find(&r, O_D);
    CU_ASSERT_FATAL(i >= 0);
    CU_ASSERT_EQUAL(r.c[i].physical, 200);
    CU_ASSERT_EQUAL(r.d[i].physical, 240);
    i = rec_find(&r, O_T);
    CU_ASSERT_FATAL(i >= 0);
    CU_ASSERT(r.tomb[i]);
    CU_ASSERT_EQUAL((size_t)i, r.n - 1); /* tombstones after the data objects */
    /* full at gen_3: t2 dropped, so only t1's live objects (A, C, F, T) and U */
    memset(&r, 0, sizeof(r));
    MO_ASSERT_OK(ops->objects(b, &g3, NULL, g3.ts, obj_cb, &r, &mo_test_err));
    CU_ASSERT_EQUAL(r.n, 5);
    CU_ASSERT(rec_find(&r, O_P) < 0 && rec_find(&r, O_B) < 0 && rec_find(&r, O_D) < 0);
    /* a database-level snapshot record sees only its database */
    mo_srv_snap s = g3;
    s.level = MO_SRV_LEVEL_DATABASE;
    snprintf(s.db, sizeof(s.db), "db2");
    memset(&r, 0, sizeof(r));
    MO_ASSERT_OK(ops->objects(b, &s, NULL, s.ts, obj_cb, &r, &mo_test_err));
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT(rec_find(&r, O_U) == 0);
    mo_srv_catbackend_free(b);
}

static void test_catbackend__object_bytes(void)
{
    build(); /* once per run, inside a test so that asserts have one */
    mo_srv_catbackend *b = open_be();
    const mo_srv_backend_ops *ops = mo_srv_catbackend_ops();
    const mo_srv_pub *all;
    MO_ASSERT_OK(ops->pub_find(b, &all, "sys", "mosync", &mo_test_err));
    for (int w = 0; w < O_N; w++) {
        uint64_t size = 0;
        MO_ASSERT_OK(ops->object_stat(b, &size, all, g_o[w].name, &mo_test_err));
        CU_ASSERT_EQUAL(size, g_o[w].bytes.len); /* logical, also for the framed F */
        uint8_t *buf = malloc(size);
        MO_ASSERT_OK(ops->object_read(b, g_o[w].name, 0, buf, size, &mo_test_err));
        CU_ASSERT(memcmp(buf, g_o[w].bytes.ptr, size) == 0);
        /* a range crossing a frame boundary */
        if (size > 3000) {
            MO_ASSERT_OK(ops->object_read(b, g_o[w].name, 2000, buf, 1000, &mo_test_err));
            CU_ASSERT(memcmp(buf, g_o[w].bytes.ptr + 2000, 1000) == 0);
        }
        MO_ASSERT_RC(MO_ETRUNCATED, ops->object_read(b, g_o[w].name, 1, buf, size, &mo_test_err));
        free(buf);
    }
    uint64_t size;
    /* a file the catalog does not know, a deleted object (still served: history) */
    if (!g_step4)
        MO_ASSERT_RC(MO_ENOTFOUND, ops->object_stat(b, &size, all, g_o[O_N].name, &mo_test_err));
    MO_ASSERT_RC(MO_ENOTFOUND, ops->object_stat(b, &size, all, NO_SUCH, &mo_test_err));
    MO_ASSERT_OK(ops->object_stat(b, &size, all, g_o[O_B].name, &mo_test_err));
    MO_ASSERT_OK(ops->object_stat(b, &size, all, g_o[O_P].name, &mo_test_err)); /* dropped t2 */
    /* publications: only db2, or only db1.t2 */
    static const mo_srv_pub_entry e_db2[] = {{"db2", NULL}}, e_t2[] = {{"db1", "t2"}};
    const mo_srv_pub p_db2 = {"sys", "p", "all", e_db2, 1}, p_t2 = {"sys", "q", "all", e_t2, 1};
    MO_ASSERT_RC(MO_ENOTFOUND, ops->object_stat(b, &size, &p_db2, g_o[O_A].name, &mo_test_err));
    CU_ASSERT(strncmp(mo_test_err.msg, "file ", 5) == 0);
    MO_ASSERT_OK(ops->object_stat(b, &size, &p_db2, g_o[O_U].name, &mo_test_err));
    MO_ASSERT_OK(ops->object_stat(b, &size, &p_t2, g_o[O_P].name, &mo_test_err));
    MO_ASSERT_RC(MO_ENOTFOUND, ops->object_stat(b, &size, &p_t2, g_o[O_A].name, &mo_test_err));
    mo_srv_catbackend_free(b);
}

static void test_catbackend__snapshots(void)
{
    build(); /* once per run, inside a test so that asserts have one */
    mo_srv_catbackend *b = open_be();
    const mo_srv_backend_ops *ops = mo_srv_catbackend_ops();
    mo_srv_snap req;
    memset(&req, 0, sizeof(req));
    snprintf(req.name, sizeof(req.name), "ccpr_x_1");
    snprintf(req.account, sizeof(req.account), "sys");
    req.level = MO_SRV_LEVEL_ACCOUNT;
    const bool later = g_step4;
    MO_ASSERT_OK(ops->snap_create(b, &req, &mo_test_err));
    CU_ASSERT_EQUAL(req.ts.physical, later ? 450 : 350); /* the newest committed TS */
    MO_ASSERT_RC(MO_EEXISTS, ops->snap_create(b, &req, &mo_test_err));
    mo_srv_snap gen = req;
    snprintf(gen.name, sizeof(gen.name), "gen_1");
    MO_ASSERT_RC(MO_EEXISTS, ops->snap_create(b, &gen, &mo_test_err));
    mo_srv_snap bad = req;
    snprintf(bad.name, sizeof(bad.name), "ccpr_x_bad");
    bad.level = MO_SRV_LEVEL_TABLE;
    snprintf(bad.db, sizeof(bad.db), "db1");
    snprintf(bad.table, sizeof(bad.table), "t2"); /* dropped */
    MO_ASSERT_RC(MO_ENOTFOUND, ops->snap_create(b, &bad, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(mo_test_err.msg, "table db1.t2 does not exist");
    snprintf(bad.db, sizeof(bad.db), "db9");
    MO_ASSERT_RC(MO_ENOTFOUND, ops->snap_create(b, &bad, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(mo_test_err.msg, "database db9 does not exist");
    /* the generator commits while we serve: a new object at 400, snapshot gen_4 at 450 */
    step4();
    snprintf(req.name, sizeof(req.name), "ccpr_x_2");
    req.level = MO_SRV_LEVEL_TABLE;
    snprintf(req.db, sizeof(req.db), "db1");
    snprintf(req.table, sizeof(req.table), "t1");
    MO_ASSERT_OK(ops->snap_create(b, &req, &mo_test_err));
    CU_ASSERT_EQUAL(req.ts.physical, 450);
    mo_srv_snap s1 = get_snap(b, "ccpr_x_1"), s2 = get_snap(b, "ccpr_x_2");
    recs r = {0};
    MO_ASSERT_OK(ops->objects(b, &s2, &s1.ts, s2.ts, obj_cb, &r, &mo_test_err));
    CU_ASSERT_EQUAL(r.n, later ? 0 : 1);
    CU_ASSERT(later || rec_find(&r, O_N) == 0);
    /* durable: a new backend sees both; drops persist too */
    mo_srv_catbackend_free(b);
    b = open_be();
    s2 = get_snap(b, "ccpr_x_2");
    CU_ASSERT_EQUAL(s2.level, MO_SRV_LEVEL_TABLE);
    CU_ASSERT_STRING_EQUAL(s2.table, "t1");
    CU_ASSERT_EQUAL(s2.ts.physical, 450);
    mo_srv_snap s;
    MO_ASSERT_RC(MO_ENOTFOUND, ops->snap_get(b, &s, "acme", "ccpr_x_1", &mo_test_err));
    MO_ASSERT_RC(MO_ENOTFOUND, ops->snap_get(b, &s, "acme", "gen_1", &mo_test_err));
    MO_ASSERT_OK(ops->snap_drop(b, "sys", "ccpr_x_1", &mo_test_err));
    MO_ASSERT_RC(MO_ENOTFOUND, ops->snap_drop(b, "sys", "ccpr_x_1", &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL, ops->snap_drop(b, "sys", "gen_1", &mo_test_err));
    bool fl = false;
    MO_ASSERT_OK(ops->snap_flushed(b, &fl, &s2, &mo_test_err));
    CU_ASSERT(fl);
    mo_srv_catbackend_free(b);
    b = open_be();
    MO_ASSERT_RC(MO_ENOTFOUND, ops->snap_get(b, &s, "sys", "ccpr_x_1", &mo_test_err));
    s2 = get_snap(b, "ccpr_x_2");
    mo_srv_catbackend_free(b);
    /* a damaged snapshot file is refused, never silently emptied */
    char p[700];
    snprintf(p, sizeof(p), "%s/.mosync/upstream-snapshots", g_dir);
    FILE *f = fopen(p, "r+b");
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, 30, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 30, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
    mo_srv_catbackend *b2 = NULL;
    MO_ASSERT_RC(MO_ECHECKSUM, mo_srv_catbackend_new(&b2, g_dir, "root", "pw", &mo_test_err));
    f = fopen(p, "r+b");
    fseek(f, 30, SEEK_SET);
    fputc(c, f);
    fclose(f);
    b = open_be();
    MO_ASSERT_OK(ops->snap_drop(b, "sys", "ccpr_x_2", &mo_test_err));
    mo_srv_catbackend_free(b);
}

/* ---------------- through the server ---------------- */

static mo_srv *g_srv;

static mo_up *srv_conn(mo_srv_catbackend *b)
{
    mo_srv_opts o;
    mo_srv_opts_init(&o);
    o.port = 0;
    o.chunk_size = 1000; /* several chunks per object */
    MO_ASSERT_OK(mo_srv_new(&g_srv, &o, mo_srv_catbackend_ops(), b, &mo_test_err));
    MO_ASSERT_OK(mo_srv_start(g_srv, &mo_test_err));
    char uri[128];
    snprintf(uri, sizeof(uri), "mysql://sys#root@127.0.0.1:%u", mo_srv_port(g_srv));
    mo_up_opts uo = {0};
    uo.max_attempts = 1;
    mo_up *up = NULL;
    MO_ASSERT_OK(mo_up_connect(&up, uri, "pw", &uo, &mo_test_err));
    return up;
}

static void srv_done(mo_up *up)
{
    mo_up_free(up);
    mo_srv_free(g_srv);
    g_srv = NULL;
}

static const mo_up_obj *up_find(const mo_up_obj *v, size_t n, int which)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, g_o[which].name))
            return &v[i];
    return NULL;
}

static void fetch_all(mo_up *up, const char *pub, int which)
{
    mo_up_chunk meta;
    MO_ASSERT_OK(
        mo_up_get_object(up, &meta, NULL, 0, "sys", pub, g_o[which].name, 0, &mo_test_err));
    CU_ASSERT_EQUAL_FATAL(meta.total_size, g_o[which].bytes.len);
    uint8_t *buf = malloc(meta.total_size);
    size_t off = 0;
    for (int64_t k = 1; k <= meta.total_chunks; k++) {
        mo_up_chunk ch;
        MO_ASSERT_OK(mo_up_get_object(up, &ch, buf + off, meta.total_size - off, "sys", pub,
                                      g_o[which].name, k, &mo_test_err));
        off += ch.len;
    }
    CU_ASSERT_EQUAL(off, meta.total_size);
    CU_ASSERT(memcmp(buf, g_o[which].bytes.ptr, off) == 0);
    free(buf);
}

static void test_catbackend__server_object_list(void)
{
    build(); /* once per run, inside a test so that asserts have one */
    step4();
    mo_srv_catbackend *b = open_be();
    mo_up *up = srv_conn(b);
    mo_up_obj *v = NULL;
    size_t n = 0;
    /* gen_1 -> gen_2, MO's inclusive window [150, 250]: B deleted, C, D (created and deleted
     * inside: one record, deleted), tombstone T */
    MO_ASSERT_OK(mo_up_object_list(up, &v, &n, "gen_2", "gen_1", "sys", "mosync", &mo_test_err));
    CU_ASSERT_EQUAL(n, 4);
    const mo_up_obj *o = up_find(v, n, O_B);
    CU_ASSERT_FATAL(o != NULL);
    CU_ASSERT(o->deleted);
    CU_ASSERT_EQUAL(o->delete_at.physical, 200);
    CU_ASSERT_STRING_EQUAL(o->db, "db1");
    CU_ASSERT_STRING_EQUAL(o->table, "t1");
    CU_ASSERT((o = up_find(v, n, O_C)) && !o->deleted && o->create_at.physical == 200);
    CU_ASSERT((o = up_find(v, n, O_D)) && o->deleted);
    CU_ASSERT((o = up_find(v, n, O_T)) && o->is_tombstone && !o->deleted);
    mo_free(v);
    /* full list at gen_2: live objects only, delete_at empty */
    MO_ASSERT_OK(mo_up_object_list(up, &v, &n, "gen_2", NULL, "sys", "mosync", &mo_test_err));
    CU_ASSERT_EQUAL(n, 6); /* A, C, F, T (t1), P (t2), U */
    for (size_t i = 0; i < n; i++)
        CU_ASSERT(!v[i].deleted);
    CU_ASSERT(up_find(v, n, O_B) == NULL && up_find(v, n, O_D) == NULL);
    mo_free(v);
    /* a downstream's own snapshots: created now, diffed against gen_2 */
    MO_ASSERT_OK(mo_up_create_snapshot(up, "ccpr_t_1", MO_UP_LEVEL_ACCOUNT, NULL, NULL, "sys",
                                       "mosync", &mo_test_err));
    int64_t ts = 0;
    MO_ASSERT_OK(mo_up_get_snapshot_ts(up, &ts, "ccpr_t_1", "sys", "mosync", &mo_test_err));
    CU_ASSERT(ts >= 450);
    MO_ASSERT_OK(mo_up_object_list(up, &v, &n, "ccpr_t_1", "gen_2", "sys", "mosync", &mo_test_err));
    CU_ASSERT(up_find(v, n, O_N) != NULL); /* registered at 400 */
    CU_ASSERT(up_find(v, n, O_P) == NULL); /* t2 is gone at the snapshot */
    mo_free(v);
    MO_ASSERT_RC(MO_EUPSTREAM,
                 mo_up_object_list(up, &v, &n, "nosnap", NULL, "sys", "mosync", &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "find 0 snapshot records by name(nosnap)") != NULL);
    MO_ASSERT_OK(mo_up_drop_snapshot(up, "ccpr_t_1", "sys", "mosync", &mo_test_err));
    srv_done(up);
    mo_srv_catbackend_free(b);
}

static void test_catbackend__server_ddl_objects(void)
{
    build(); /* once per run, inside a test so that asserts have one */
    mo_srv_catbackend *b = open_be();
    mo_up *up = srv_conn(b);
    mo_up_ddl *d = NULL;
    size_t n = 0;
    MO_ASSERT_OK(mo_up_get_ddl(up, &d, &n, "gen_2", "sys", "mosync", MO_UP_LEVEL_ACCOUNT, NULL,
                               NULL, &mo_test_err));
    CU_ASSERT_EQUAL(n, 3);
    bool t2 = false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(d[i].table, "t2")) {
            t2 = true;
            CU_ASSERT_EQUAL(d[i].table_id, T2);
            CU_ASSERT_STRING_EQUAL(d[i].sql, T2_SQL);
        }
    CU_ASSERT(t2);
    mo_up_ddl_free(d, n);
    MO_ASSERT_OK(mo_up_get_ddl(up, &d, &n, "gen_3", "sys", "mosync", MO_UP_LEVEL_ACCOUNT, NULL,
                               NULL, &mo_test_err));
    CU_ASSERT_EQUAL(n, 2);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_STRING_NOT_EQUAL(d[i].table, "t2");
    mo_up_ddl_free(d, n);
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_get_ddl(up, &d, &n, "gen_3", "sys", "mosync",
                                             MO_UP_LEVEL_TABLE, "db1", "t2", &mo_test_err));
    mo_up_strs s = {0};
    MO_ASSERT_OK(mo_up_get_databases(up, &s, "gen_1", "sys", "mosync", MO_UP_LEVEL_ACCOUNT, NULL,
                                     NULL, &mo_test_err));
    CU_ASSERT_EQUAL(s.n, 2);
    mo_up_strs_dispose(&s);
    mo_up_index *ix = NULL;
    MO_ASSERT_OK(mo_up_get_mo_indexes(up, &ix, &n, T1, "sys", "mosync", "gen_3", &mo_test_err));
    CU_ASSERT_EQUAL(n, 1);
    mo_up_index_free(ix, n);
    /* bytes in 1000-byte chunks, the framed F as logical bytes */
    fetch_all(up, "mosync", O_A);
    fetch_all(up, "mosync", O_F);
    fetch_all(up, "mosync", O_B); /* deleted since, still in history */
    mo_up_chunk meta;
    MO_ASSERT_RC(MO_EUPSTREAM,
                 mo_up_get_object(up, &meta, NULL, 0, "sys", "mosync", NO_SUCH, 0, &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "is not found") != NULL);
    srv_done(up);
    mo_srv_catbackend_free(b);
}

static void test_catbackend__server_publications(void)
{
    build(); /* once per run, inside a test so that asserts have one */
    mo_srv_catbackend *b = open_be();
    MO_ASSERT_OK(mo_srv_catbackend_publish(b, "sys", "p2", "db2", NULL, &mo_test_err));
    MO_ASSERT_OK(mo_srv_catbackend_publish(b, "sys", "pt", "db1", "t1", &mo_test_err));
    mo_up *up = srv_conn(b);
    mo_up_chunk meta;
    /* an object of an unpublished table is not found; a published one is served */
    MO_ASSERT_RC(MO_EUPSTREAM,
                 mo_up_get_object(up, &meta, NULL, 0, "sys", "p2", g_o[O_A].name, 0, &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "is not found") != NULL);
    fetch_all(up, "p2", O_U);
    fetch_all(up, "pt", O_A);
    MO_ASSERT_RC(MO_EUPSTREAM,
                 mo_up_get_object(up, &meta, NULL, 0, "sys", "pt", g_o[O_U].name, 0, &mo_test_err));
    /* the default publication is gone once publications are configured */
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_get_object(up, &meta, NULL, 0, "sys", "mosync", g_o[O_A].name,
                                                0, &mo_test_err));
    /* account sys owns what it publishes: db1 (t1 only) and db2 */
    mo_up_ddl *d = NULL;
    size_t n = 0;
    MO_ASSERT_OK(mo_up_get_ddl(up, &d, &n, "gen_2", "sys", "p2", MO_UP_LEVEL_ACCOUNT, NULL, NULL,
                               &mo_test_err));
    CU_ASSERT_EQUAL(n, 2); /* t1 and u1; t2 is not published */
    mo_up_ddl_free(d, n);
    /* a table-level snapshot of t1 lists t1's objects only */
    MO_ASSERT_OK(mo_up_create_snapshot(up, "ccpr_p_1", MO_UP_LEVEL_TABLE, "db1", "t1", "sys", "pt",
                                       &mo_test_err));
    mo_up_obj *v = NULL;
    MO_ASSERT_OK(mo_up_object_list(up, &v, &n, "ccpr_p_1", NULL, "sys", "pt", &mo_test_err));
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_STRING_EQUAL(v[i].table, "t1");
    CU_ASSERT(up_find(v, n, O_A) != NULL);
    mo_free(v);
    MO_ASSERT_OK(mo_up_drop_snapshot(up, "ccpr_p_1", "sys", "pt", &mo_test_err));
    srv_done(up);
    mo_srv_catbackend_free(b);
}

/* A replica from the generator: at every gen_<n>, the tables the backend reports (through
 * databases + tables) are exactly the truth's, with the step's names (RENAME keeps the id),
 * ids (TRUNCATE and copy ALTER change them) and CREATE TABLE text (in-place ALTERs). */
static void test_catbackend__gen_replica(void)
{
    build();
    const char *dir = mo_test_tmpdir("catbackend_gen");
    CU_ASSERT_FATAL(dir != NULL);
    char d[512];
    snprintf(d, sizeof(d), "%s", dir);
    const mo_gen_table_spec specs[] = {
        {"warehouse", 10, NULL}, {"customer", 600, NULL}, {"kv", 300, "id:int64,v:varchar(20)"}};
    mo_gen_opts go = {0};
    go.db = "tpcc";
    go.tables = specs;
    go.ntables = 3;
    go.seed = 7;
    go.appendable_share = -1;
    MO_ASSERT_OK(mo_gen_create(d, &go, NULL, &mo_test_err));
    MO_ASSERT_OK(mo_gen_mutate(d, MO_GEN_OP_COUNT, 8, false, NULL, &mo_test_err));
    mo_gen_truth truth;
    MO_ASSERT_OK(mo_gen_truth_load(&truth, d, &mo_test_err));
    CU_ASSERT_FATAL(truth.nsteps == MO_GEN_OP_COUNT + 1);
    mo_srv_catbackend *b = NULL;
    MO_ASSERT_OK(mo_srv_catbackend_new(&b, d, "root", "pw", &mo_test_err));
    const mo_srv_backend_ops *ops = mo_srv_catbackend_ops();
    for (uint32_t i = 0; i < truth.nsteps; i++) {
        const mo_gen_truth_step *st = &truth.steps[i];
        mo_srv_snap sn = get_snap(b, st->snapshot);
        CU_ASSERT_EQUAL(mo_obj_ts_cmp(sn.ts, st->ts), 0);
        names dbs = {0};
        MO_ASSERT_OK(ops->databases(b, "sys", &sn, name_cb, &dbs, &mo_test_err));
        size_t got = 0;
        for (size_t k = 0; k < dbs.n; k++) {
            tabs t = {0};
            MO_ASSERT_OK(ops->tables(b, "sys", &sn, dbs.v[k], table_cb, &t, &mo_test_err));
            for (size_t j = 0; j < t.n; j++, got++) {
                if (t.v[j].kind == 'i') { /* hidden index tables: derived, no truth entry */
                    CU_ASSERT(mo_cat_is_index_table(t.name[j]));
                    got--;
                    continue;
                }
                const mo_gen_truth_table *w = NULL;
                for (uint32_t x = 0; x < st->ntables; x++)
                    if (st->tables[x].table_id == t.v[j].id)
                        w = &st->tables[x];
                if (!w || strcmp(w->name, t.name[j]) || strcmp(w->db, dbs.v[k]) ||
                    strcmp(w->create_sql, t.sql[j]))
                    fprintf(stderr, "\n%s: %s.%s id %" PRIu64 " differs from the truth\n",
                            st->snapshot, dbs.v[k], t.name[j], t.v[j].id);
                CU_ASSERT(w && !strcmp(w->name, t.name[j]) && !strcmp(w->db, dbs.v[k]) &&
                          !strcmp(w->create_sql, t.sql[j]));
            }
        }
        CU_ASSERT_EQUAL(got, st->ntables);
    }
    mo_srv_catbackend_free(b);
    mo_gen_truth_dispose(&truth);
}

static CU_TestInfo catbackend_tests[] = {
    {"logins_and_pubs", test_catbackend__logins_and_pubs},
    {"databases_tables_indexes", test_catbackend__databases_tables_indexes},
    {"objects", test_catbackend__objects},
    {"object_bytes", test_catbackend__object_bytes},
    {"snapshots", test_catbackend__snapshots},
    {"server_object_list", test_catbackend__server_object_list},
    {"server_ddl_objects", test_catbackend__server_ddl_objects},
    {"server_publications", test_catbackend__server_publications},
    {"gen_replica", test_catbackend__gen_replica},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_catbackend_suites[] = {
    {"catbackend", NULL, suite_clean, NULL, NULL, catbackend_tests},
    CU_SUITE_INFO_NULL,
};
