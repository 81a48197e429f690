/* The MO upstream client: URI and identifier rules, the exact statement texts and token
 * counts of spec §3, TS text, object-list de-duplication (deleted wins), §5.9 error classes,
 * the backoff schedule, and defensive checks of hostile reply rows — all without a server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo/upstream.h"
#include "mo_test.h"

static unsigned tokens(const char *s)
{
    unsigned n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = *s == ' ' || *s == '\t' || *s == '\n';
        if (!sp && !in)
            n++;
        in = !sp;
    }
    return n;
}

static void test_upclient__uri(void)
{
    mo_up_uri u;
    mo_err e = {0};
    MO_ASSERT_OK(mo_up_uri_parse(&u, "mysql://acc1#root:p:a#ss@127.0.0.1:6001", &e));
    CU_ASSERT_STRING_EQUAL(u.account, "acc1");
    CU_ASSERT_STRING_EQUAL(u.user, "root");
    CU_ASSERT_TRUE(u.has_password);
    CU_ASSERT_STRING_EQUAL(u.password, "p:a#ss");
    CU_ASSERT_STRING_EQUAL(u.host, "127.0.0.1");
    CU_ASSERT_EQUAL(u.port, 6001);
    CU_ASSERT_STRING_EQUAL(u.pubacct, "");
    MO_ASSERT_OK(mo_up_uri_parse(&u, "mysql://dump@db.example:3306/sys/pub1?snapshot=s1,s2&chunk=4194304", &e));
    CU_ASSERT_STRING_EQUAL(u.account, "");
    CU_ASSERT_STRING_EQUAL(u.user, "dump");
    CU_ASSERT_FALSE(u.has_password);
    CU_ASSERT_STRING_EQUAL(u.pubacct, "sys");
    CU_ASSERT_STRING_EQUAL(u.pubname, "pub1");
    CU_ASSERT_STRING_EQUAL(u.snapshot, "s1,s2");
    CU_ASSERT_EQUAL(u.chunk, 4194304);
    /* a password may hold '@': the last '@' ends the user part */
    MO_ASSERT_OK(mo_up_uri_parse(&u, "mysql://#u:a@b@h:1", &e));
    CU_ASSERT_STRING_EQUAL(u.password, "a@b");
    static const char *const bad[] = {
        "http://u@h:1",          "mysql://h:1",           "mysql://u@h",
        "mysql://u@h:0",         "mysql://u@h:65536",     "mysql://u@::1:3306",
        "mysql://u@h:1/a",       "mysql://u@h:1/a/b/c",   "mysql://u@h:1/a/b?x=1",
        "mysql://u@h:1/a/b?snapshot=a'b", "mysql://u@h:1/a/b?snapshot=", "mysql://u@h:1/a/b?snapshot=a,,b",
        "mysql://u@h:1/a/b?chunk=0", "mysql://a b@h:1",   "mysql://@h:1",
        "mysql://u@h:1/a'/b",    "mysql://u@h:1junk",     "mysql://u@h:x1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = mo_up_uri_parse(&u, bad[i], &e);
        if (rc != MO_EINVAL)
            fprintf(stderr, "accepted bad URI %s\n", bad[i]);
        CU_ASSERT_EQUAL(rc, MO_EINVAL);
    }
}

static void test_upclient__identifiers(void)
{
    CU_ASSERT_TRUE(mo_up_ident_valid("db1"));
    CU_ASSERT_TRUE(mo_up_ident_valid("ccpr_0d9c6a2e-0000-7000-8000-000000000001_17"));
    CU_ASSERT_TRUE(mo_up_ident_valid("__mo_index_secondary_x"));
    static const char *const bad[] = {"", "-", "a b", "a\tb", "a\nb", "a'b", "a\"b",
                                      "a`b", "a\\b", "a;b", "a\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_FALSE(mo_up_ident_valid(bad[i]));
    CU_ASSERT_FALSE(mo_up_ident_valid(NULL));
    char long_[300];
    memset(long_, 'a', sizeof(long_) - 1);
    long_[299] = 0;
    CU_ASSERT_FALSE(mo_up_ident_valid(long_));
    long_[255] = 0;
    CU_ASSERT_TRUE(mo_up_ident_valid(long_));
    long_[255] = 'a';
    long_[256] = 0;
    CU_ASSERT_FALSE(mo_up_ident_valid(long_));
}

static void test_upclient__statements(void)
{
    char s[512];
    mo_err e = {0};
    MO_ASSERT_OK(mo_up_stmt_create_snapshot(s, sizeof(s), "ccpr_t_1", MO_UP_LEVEL_ACCOUNT, NULL,
                                            NULL, "acc1", "pub1", &e));
    CU_ASSERT_STRING_EQUAL(s, "CREATE SNAPSHOT IF NOT EXISTS `ccpr_t_1` FOR ACCOUNT FROM acc1 PUBLICATION pub1");
    MO_ASSERT_OK(mo_up_stmt_create_snapshot(s, sizeof(s), "ccpr_t_1", MO_UP_LEVEL_DATABASE, "db1",
                                            NULL, "acc1", "pub1", &e));
    CU_ASSERT_STRING_EQUAL(s, "CREATE SNAPSHOT IF NOT EXISTS `ccpr_t_1` FOR DATABASE db1 FROM acc1 PUBLICATION pub1");
    MO_ASSERT_OK(mo_up_stmt_create_snapshot(s, sizeof(s), "ccpr_t_1", MO_UP_LEVEL_TABLE, "db1",
                                            "t1", "acc1", "pub1", &e));
    CU_ASSERT_STRING_EQUAL(s, "CREATE SNAPSHOT IF NOT EXISTS `ccpr_t_1` FOR TABLE db1 t1 FROM acc1 PUBLICATION pub1");
    MO_ASSERT_RC(MO_EINVAL, mo_up_stmt_create_snapshot(s, sizeof(s), "ccpr_t_1", MO_UP_LEVEL_TABLE,
                                                       "db1", NULL, "acc1", "pub1", &e));
    MO_ASSERT_RC(MO_EINVAL, mo_up_stmt_create_snapshot(s, sizeof(s), "a`b", MO_UP_LEVEL_ACCOUNT,
                                                       NULL, NULL, "acc1", "pub1", &e));
    MO_ASSERT_OK(mo_up_stmt_drop_snapshot(s, sizeof(s), "ccpr_t_0", "acc1", "pub1", &e));
    CU_ASSERT_STRING_EQUAL(s, "DROP SNAPSHOT IF EXISTS `ccpr_t_0` FROM acc1 PUBLICATION pub1");

    MO_ASSERT_OK(mo_up_stmt_get_snapshot_ts(s, sizeof(s), "sn", "acc1", "pub1", &e));
    CU_ASSERT_STRING_EQUAL(s, "__++__internal_get_snapshot_ts sn acc1 pub1");
    CU_ASSERT_EQUAL(tokens(s), 4);
    MO_ASSERT_RC(MO_EINVAL, mo_up_stmt_get_snapshot_ts(s, sizeof(s), NULL, "acc1", "pub1", &e));
    MO_ASSERT_OK(mo_up_stmt_check_snapshot_flushed(s, sizeof(s), "sn", "acc1", "pub1", &e));
    CU_ASSERT_STRING_EQUAL(s, "__++__internal_check_snapshot_flushed sn acc1 pub1");
    MO_ASSERT_OK(mo_up_stmt_get_databases(s, sizeof(s), NULL, "acc1", "pub1", MO_UP_LEVEL_ACCOUNT,
                                          NULL, "", &e));
    CU_ASSERT_STRING_EQUAL(s, "__++__internal_get_databases - acc1 pub1 account - -");
    CU_ASSERT_EQUAL(tokens(s), 7);
    MO_ASSERT_OK(mo_up_stmt_get_ddl(s, sizeof(s), "sn", "acc1", "pub1", MO_UP_LEVEL_TABLE, "db1",
                                    "t1", &e));
    CU_ASSERT_STRING_EQUAL(s, "__++__internal_get_ddl sn acc1 pub1 table db1 t1");
    MO_ASSERT_OK(mo_up_stmt_get_ddl(s, sizeof(s), NULL, "acc1", "pub1", MO_UP_LEVEL_DATABASE,
                                    "db1", NULL, &e));
    CU_ASSERT_STRING_EQUAL(s, "__++__internal_get_ddl - acc1 pub1 database db1 -");
    MO_ASSERT_RC(MO_EINVAL, mo_up_stmt_get_ddl(s, sizeof(s), NULL, "acc1", "pub1",
                                               MO_UP_LEVEL_DATABASE, "d b", NULL, &e));
    MO_ASSERT_OK(mo_up_stmt_get_mo_indexes(s, sizeof(s), 18446744073709551615ull, "acc1", "pub1",
                                           NULL, &e));
    CU_ASSERT_STRING_EQUAL(s, "__++__internal_get_mo_indexes 18446744073709551615 acc1 pub1 -");
    CU_ASSERT_EQUAL(tokens(s), 5);
    MO_ASSERT_OK(mo_up_stmt_object_list(s, sizeof(s), "s2", NULL, "acc1", "pub1", &e));
    CU_ASSERT_STRING_EQUAL(s, "__++__internal_object_list s2 - acc1 pub1");
    MO_ASSERT_OK(mo_up_stmt_object_list(s, sizeof(s), "s2", "s1", "acc1", "pub1", &e));
    CU_ASSERT_STRING_EQUAL(s, "__++__internal_object_list s2 s1 acc1 pub1");
    MO_ASSERT_OK(mo_up_stmt_get_object(s, sizeof(s), "acc1", "pub1",
                                       "0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b_00001", 3, &e));
    CU_ASSERT_STRING_EQUAL(s, "__++__internal_get_object acc1 pub1 0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b_00001 3");
    MO_ASSERT_RC(MO_EINVAL, mo_up_stmt_get_object(s, sizeof(s), "acc1", "pub1",
                                                  "../../etc/passwd", 1, &e));
    MO_ASSERT_RC(MO_EINVAL, mo_up_stmt_get_object(s, sizeof(s), "acc1", "pub1",
                                                  "0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b_00001", -1,
                                                  &e));
    MO_ASSERT_OK(mo_up_stmt_pub_coverage(s, sizeof(s), "pub1", &e));
    CU_ASSERT_STRING_EQUAL(s, "SHOW PUBLICATION COVERAGE `pub1`");
    MO_ASSERT_RC(MO_EINVAL, mo_up_stmt_pub_coverage(s, sizeof(s), "pub 1", &e));
    /* too small a buffer is an error, never a truncated statement */
    char tiny[16];
    MO_ASSERT_RC(MO_EINVAL, mo_up_stmt_object_list(tiny, sizeof(tiny), "s2", NULL, "a", "p", &e));
}

static void test_upclient__ts_text(void)
{
    mo_obj_ts ts;
    bool set;
    mo_err e = {0};
    MO_ASSERT_OK(mo_up_ts_text_parse(&ts, &set, "1744877383123456789-7", 21, &e));
    CU_ASSERT_TRUE(set);
    CU_ASSERT_EQUAL(ts.physical, 1744877383123456789ll);
    CU_ASSERT_EQUAL(ts.logical, 7);
    MO_ASSERT_OK(mo_up_ts_text_parse(&ts, &set, "0-0", 3, &e));
    CU_ASSERT_FALSE(set);
    MO_ASSERT_OK(mo_up_ts_text_parse(&ts, &set, NULL, 0, &e));
    CU_ASSERT_FALSE(set);
    MO_ASSERT_OK(mo_up_ts_text_parse(&ts, &set, "", 0, &e));
    CU_ASSERT_FALSE(set);
    static const char *const bad[] = {"abc", "1-", "-1-0", "1-4294967296", "1", "1-2-3",
                                      "99999999999999999999-0", "1 -0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(mo_up_ts_text_parse(&ts, &set, bad[i], strlen(bad[i]), &e), MO_EUPSTREAM);
    CU_ASSERT_EQUAL(mo_up_ts_text_parse(&ts, &set, "1\0-0", 4, &e), MO_EUPSTREAM);
}

/* ---- synthetic reply rows ---- */

static void make_stats(uint8_t out[MO_OBJ_STATS_LEN], unsigned seed)
{
    mo_obj_stats st;
    memset(&st, 0, sizeof(st));
    for (int i = 0; i < 16; i++)
        st.id.seg[i] = (uint8_t)(seed * 31 + (unsigned)i);
    st.id.seg[6] = 0x70 | (st.id.seg[6] & 0x0f); /* UUIDv7 */
    st.id.seg[8] = 0x80 | (st.id.seg[8] & 0x3f);
    st.id.num = (uint16_t)seed;
    st.rows = 10;
    st.block_count = 1;
    st.size = 1000;
    st.origin_size = 2000;
    mo_obj_stats_encode(out, &st);
}

typedef struct rowbuf {
    unsigned types[8];
    char *vals[8];
    unsigned long lens[8];
    mo_up_row r;
} rowbuf;

static void rb_set(rowbuf *b, unsigned i, unsigned type, const char *v, size_t len)
{
    b->types[i] = type;
    b->vals[i] = (char *)v;
    b->lens[i] = (unsigned long)len;
}

static void objlist_row(rowbuf *b, const uint8_t *stats, const char *del, const char *tomb)
{
    memset(b, 0, sizeof(*b));
    rb_set(b, 0, MO_UP_T_VAR_STRING, "db1", 3);
    rb_set(b, 1, MO_UP_T_VAR_STRING, "t1", 2);
    rb_set(b, 2, MO_UP_T_STRING, (const char *)stats, MO_OBJ_STATS_LEN);
    rb_set(b, 3, MO_UP_T_VARCHAR, "1744877383123456789-0", 21);
    rb_set(b, 4, MO_UP_T_VARCHAR, del, del ? strlen(del) : 0);
    rb_set(b, 5, MO_UP_T_TINY, tomb, strlen(tomb));
    b->r.ncols = 6;
    b->r.types = b->types;
    b->r.vals = b->vals;
    b->r.lens = b->lens;
}

static void test_upclient__objlist_rows(void)
{
    uint8_t stats[MO_OBJ_STATS_LEN];
    make_stats(stats, 1);
    rowbuf b;
    mo_up_obj o;
    mo_err e = {0};
    objlist_row(&b, stats, "0-0", "0");
    MO_ASSERT_OK(mo_up_parse_objlist_row(&o, &b.r, &e));
    CU_ASSERT_STRING_EQUAL(o.db, "db1");
    CU_ASSERT_STRING_EQUAL(o.table, "t1");
    CU_ASSERT_TRUE(mo_obj_name_valid(o.name));
    CU_ASSERT_FALSE(o.deleted);
    CU_ASSERT_FALSE(o.is_tombstone);
    CU_ASSERT_EQUAL(o.create_at.physical, 1744877383123456789ll);
    objlist_row(&b, stats, NULL, "1");
    MO_ASSERT_OK(mo_up_parse_objlist_row(&o, &b.r, &e));
    CU_ASSERT_FALSE(o.deleted);
    CU_ASSERT_TRUE(o.is_tombstone);
    objlist_row(&b, stats, "1744877383999999999-2", "0");
    MO_ASSERT_OK(mo_up_parse_objlist_row(&o, &b.r, &e));
    CU_ASSERT_TRUE(o.deleted);
    CU_ASSERT_EQUAL(o.delete_at.logical, 2);

    /* wrong column count */
    objlist_row(&b, stats, "0-0", "0");
    b.r.ncols = 5;
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "object_list"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "columns"));
    /* short stats */
    objlist_row(&b, stats, "0-0", "0");
    b.lens[2] = 153;
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "stats"));
    /* is_tombstone not an integer column / out of range / NULL */
    objlist_row(&b, stats, "0-0", "0");
    b.types[5] = MO_UP_T_VARCHAR;
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "is_tombstone"));
    objlist_row(&b, stats, "0-0", "2");
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
    objlist_row(&b, stats, "0-0", "x");
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
    objlist_row(&b, stats, "0-0", "0");
    b.vals[5] = NULL;
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
    /* bad TS text */
    objlist_row(&b, stats, "yesterday", "0");
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
    /* hostile object names in the stats: "../" and a name/id mismatch */
    uint8_t evil[MO_OBJ_STATS_LEN];
    memcpy(evil, stats, sizeof(evil));
    memcpy(evil + 18, "../../../../../../../../../etc/passwd_0000", 42);
    objlist_row(&b, evil, "0-0", "0");
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "object_list"));
    memcpy(evil, stats, sizeof(evil));
    evil[0] ^= 1; /* binary id no longer matches the name string */
    objlist_row(&b, evil, "0-0", "0");
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
    /* NUL inside a db name */
    objlist_row(&b, stats, "0-0", "0");
    rb_set(&b, 0, MO_UP_T_VAR_STRING, "d\0b", 3);
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_objlist_row(&o, &b.r, &e));
}

static void object_row(rowbuf *b, const char *data, size_t len, const char *size,
                       const char *idx, const char *total, const char *complete)
{
    memset(b, 0, sizeof(*b));
    rb_set(b, 0, MO_UP_T_BLOB, data, len);
    rb_set(b, 1, MO_UP_T_LONGLONG, size, strlen(size));
    rb_set(b, 2, MO_UP_T_LONG, idx, strlen(idx));
    rb_set(b, 3, MO_UP_T_LONG, total, strlen(total));
    rb_set(b, 4, MO_UP_T_TINY, complete, strlen(complete));
    b->r.ncols = 5;
    b->r.types = b->types;
    b->r.vals = b->vals;
    b->r.lens = b->lens;
}

static void test_upclient__object_rows(void)
{
    rowbuf b;
    mo_up_chunk c;
    mo_err e = {0};
    object_row(&b, "", 0, "10", "0", "3", "0");
    MO_ASSERT_OK(mo_up_parse_object_row(&c, &b.r, 0, &e));
    CU_ASSERT_EQUAL(c.total_size, 10);
    CU_ASSERT_EQUAL(c.total_chunks, 3);
    CU_ASSERT_FALSE(c.is_complete);
    object_row(&b, "abcd", 4, "10", "1", "3", "0");
    MO_ASSERT_OK(mo_up_parse_object_row(&c, &b.r, 1, &e));
    CU_ASSERT_EQUAL(c.len, 4);
    object_row(&b, "ab", 2, "10", "3", "3", "1");
    MO_ASSERT_OK(mo_up_parse_object_row(&c, &b.r, 3, &e));
    CU_ASSERT_TRUE(c.is_complete);

    struct {
        const char *data;
        size_t len;
        const char *size, *idx, *total, *complete;
        int64_t want;
        const char *needle;
    } bad[] = {
        {"abcd", 4, "10", "2", "3", "0", 1, "chunk_index"}, /* echo mismatch */
        {"abcd", 4, "abc", "1", "3", "0", 1, "total_size"},
        {"abcd", 4, "0", "1", "3", "0", 1, "total_size"},
        {"abcd", 4, "-5", "1", "3", "0", 1, "total_size"},
        {"abcd", 4, "10", "1", "0", "0", 1, "total_chunks"},
        {"abcd", 4, "10", "1", "11", "0", 1, "total_chunks"},
        {"abcd", 4, "10", "4", "3", "1", 4, "past"},
        {"abcd", 4, "10", "1", "3", "1", 1, "is_complete"},
        {"ab", 2, "10", "3", "3", "0", 3, "is_complete"},
        {"x", 1, "10", "0", "3", "0", 0, "chunk 0"},
        {"", 0, "10", "1", "3", "0", 1, "bytes"},
        {"0123456789A", 11, "10", "1", "1", "1", 1, "bytes"},
        {"abcd", 4, "99999999999999999999", "1", "3", "0", 1, "total_size"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        object_row(&b, bad[i].data, bad[i].len, bad[i].size, bad[i].idx, bad[i].total,
                   bad[i].complete);
        int rc = mo_up_parse_object_row(&c, &b.r, bad[i].want, &e);
        CU_ASSERT_EQUAL(rc, MO_EUPSTREAM);
        if (rc != MO_EUPSTREAM || !strstr(e.msg, bad[i].needle) || !strstr(e.msg, "get_object"))
            fprintf(stderr, "case %zu: rc %d msg '%s'\n", i, rc, e.msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad[i].needle));
    }
    /* wrong column count, NULL data, integer column with a string type */
    object_row(&b, "abcd", 4, "10", "1", "3", "0");
    b.r.ncols = 4;
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_object_row(&c, &b.r, 1, &e));
    object_row(&b, "abcd", 4, "10", "1", "3", "0");
    b.vals[0] = NULL;
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_object_row(&c, &b.r, 1, &e));
    object_row(&b, "abcd", 4, "10", "1", "3", "0");
    b.types[1] = MO_UP_T_VAR_STRING;
    MO_ASSERT_RC(MO_EUPSTREAM, mo_up_parse_object_row(&c, &b.r, 1, &e));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "total_size"));
}

static void mk_obj(mo_up_obj *o, unsigned id, bool deleted, unsigned tag)
{
    memset(o, 0, sizeof(*o));
    uint8_t st[MO_OBJ_STATS_LEN];
    make_stats(st, id);
    mo_err e = {0};
    MO_ASSERT_OK(mo_obj_stats_decode(&o->stats, st, &e));
    o->deleted = deleted;
    o->delete_at.physical = deleted ? 5 : 0;
    o->create_at.logical = tag; /* tells records apart */
}

static void test_upclient__dedup_deleted_wins(void)
{
    mo_up_obj v[7];
    mk_obj(&v[0], 1, false, 0); /* A live */
    mk_obj(&v[1], 2, false, 1); /* B live */
    mk_obj(&v[2], 1, true, 2);  /* A deleted: wins, keeps A's first position */
    mk_obj(&v[3], 3, true, 3);  /* C deleted first */
    mk_obj(&v[4], 3, false, 4); /* C live later: loses */
    mk_obj(&v[5], 2, false, 5); /* B live twice: first kept */
    mk_obj(&v[6], 4, false, 6);
    size_t n = mo_up_obj_dedup(v, 7);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_EQUAL(v[0].stats.id.num, 1);
    CU_ASSERT_TRUE(v[0].deleted);
    CU_ASSERT_EQUAL(v[0].create_at.logical, 2);
    CU_ASSERT_EQUAL(v[1].stats.id.num, 2);
    CU_ASSERT_FALSE(v[1].deleted);
    CU_ASSERT_EQUAL(v[1].create_at.logical, 1);
    CU_ASSERT_EQUAL(v[2].stats.id.num, 3);
    CU_ASSERT_TRUE(v[2].deleted);
    CU_ASSERT_EQUAL(v[3].stats.id.num, 4);
    CU_ASSERT_EQUAL(mo_up_obj_dedup(v, 0), 0);
    CU_ASSERT_EQUAL(mo_up_obj_dedup(v, 1), 1);
    /* a larger random mix: every id once, deleted iff any record of it was deleted */
    enum { N = 500 };
    mo_up_obj *w = calloc(N, sizeof(*w));
    bool anydel[64] = {false}, seen[64] = {false};
    uint64_t rng = 42;
    for (unsigned i = 0; i < N; i++) {
        unsigned id = (unsigned)(mo_test_rand(&rng) % 64);
        bool del = mo_test_rand(&rng) % 5 == 0;
        mk_obj(&w[i], id, del, i);
        anydel[id] |= del;
        seen[id] = true;
    }
    n = mo_up_obj_dedup(w, N);
    unsigned expect = 0;
    for (unsigned i = 0; i < 64; i++)
        expect += seen[i];
    CU_ASSERT_EQUAL(n, expect);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(w[i].deleted, anydel[w[i].stats.id.num]);
        for (size_t j = 0; j < i; j++)
            CU_ASSERT_NOT_EQUAL(w[i].stats.id.num, w[j].stats.id.num);
    }
    free(w);
}

static void test_upclient__error_classes(void)
{
    /* MySQL codes of §5.9 and the connector's connection losses */
    static const unsigned retry_codes[] = {1205, 1213, 2006, 2013, 2003, 1043, 2055};
    for (size_t i = 0; i < sizeof(retry_codes) / sizeof(retry_codes[0]); i++)
        CU_ASSERT_TRUE(mo_up_retryable(retry_codes[i], "x"));
    static const char *const retry_msgs[] = {
        "internal error: rpc timeout: backend unavailable",
        "CDC handle: stale read, min TS is 1-0, receive 0-0",
        "read tcp 1.2.3.4: connection reset by peer",
        "dial tcp 10.0.0.1:6001: connection refused",
        "write: broken pipe",
        "txn need retry in rc mode",
        "GC is running, please retry later",
        "sync protection TTL expired",
        "sync protection is soft deleted",
        "Service Unavailable",
        "invalid connection",
        "context deadline exceeded: i/o timeout",
    };
    for (size_t i = 0; i < sizeof(retry_msgs) / sizeof(retry_msgs[0]); i++)
        CU_ASSERT_TRUE(mo_up_retryable(20101, retry_msgs[i]));
    static const char *const fatal_msgs[] = {
        "Access denied for user 'sys#root'",
        "internal error: find 0 snapshot records by name(x), expect only 1",
        "invalid input: invalid chunk_index: 9, file has only 3 data chunks (chunk 0 is metadata)",
        "internal error: publication acc1.pub1 does not exist",
        "Duplicate entry 'x' for key 'sname'",
    };
    for (size_t i = 0; i < sizeof(fatal_msgs) / sizeof(fatal_msgs[0]); i++)
        CU_ASSERT_FALSE(mo_up_retryable(i == 0 ? 1045 : 20101, fatal_msgs[i]));
    CU_ASSERT_FALSE(mo_up_retryable(1105, NULL));
}

static void test_upclient__backoff(void)
{
    uint64_t rng = 7;
    for (unsigned a = 0; a < 40; a++) {
        uint64_t base = 200;
        for (unsigned i = 0; i < a && base < 30000; i++)
            base *= 2;
        if (base > 30000)
            base = 30000;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int k = 0; k < 200; k++) {
            uint64_t d = mo_up_backoff_ms(a, 200, 30000, 200, &rng);
            CU_ASSERT_TRUE(d >= base && d <= base + 200);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        CU_ASSERT_TRUE(hi - lo > 50); /* the jitter really varies */
        CU_ASSERT_EQUAL(mo_up_backoff_ms(a, 200, 30000, 0, &rng), base);
    }
    CU_ASSERT_EQUAL(mo_up_backoff_ms(0, 200, 30000, 0, &rng), 200);
    CU_ASSERT_EQUAL(mo_up_backoff_ms(3, 200, 30000, 0, &rng), 1600);
    CU_ASSERT_EQUAL(mo_up_backoff_ms(8, 200, 30000, 0, &rng), 30000);
    CU_ASSERT_EQUAL(mo_up_backoff_ms(1000, 200, 30000, 0, &rng), 30000);
    CU_ASSERT_EQUAL(mo_up_backoff_ms(5, 1, 5, 0, &rng), 5); /* test caps */
}

static void test_upclient__connect_refused(void)
{
    /* nothing listens on port 1: retryable, so MO_EAGAIN after the (fast) attempts */
    mo_up *up = NULL;
    mo_err e = {0};
    mo_up_opts o = {.connect_timeout = 2, .max_attempts = 2, .backoff_base_ms = 1,
                    .backoff_cap_ms = 2, .jitter_ms = 1};
    int rc = mo_up_connect(&up, "mysql://sys#root@127.0.0.1:1", "pw", &o, &e);
    CU_ASSERT_EQUAL(rc, MO_EAGAIN);
    CU_ASSERT_PTR_NULL(up);
    CU_ASSERT_TRUE(e.upstream_code == 2002 || e.upstream_code == 2003);
    o.ssl_mode = "sometimes";
    MO_ASSERT_RC(MO_EINVAL, mo_up_connect(&up, "mysql://sys#root@127.0.0.1:1", "pw", &o, &e));
    MO_ASSERT_RC(MO_EINVAL, mo_up_connect(&up, "mysql://root@127.0.0.1", "pw", NULL, &e));
}

static CU_TestInfo upclient_tests[] = {
    {"test_upclient__uri", test_upclient__uri},
    {"test_upclient__identifiers", test_upclient__identifiers},
    {"test_upclient__statements", test_upclient__statements},
    {"test_upclient__ts_text", test_upclient__ts_text},
    {"test_upclient__objlist_rows", test_upclient__objlist_rows},
    {"test_upclient__object_rows", test_upclient__object_rows},
    {"test_upclient__dedup_deleted_wins", test_upclient__dedup_deleted_wins},
    {"test_upclient__error_classes", test_upclient__error_classes},
    {"test_upclient__backoff", test_upclient__backoff},
    {"test_upclient__connect_refused", test_upclient__connect_refused},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_upclient_suites[] = {
    {"upclient", NULL, NULL, NULL, NULL, upclient_tests},
    CU_SUITE_INFO_NULL,
};
