/* The MO upstream client: URI and identifier rules, the exact statement texts and token
 * counts of spec §3, TS text, object-list de-duplication (deleted wins), §5.9 error classes,
 * the backoff schedule, and defensive checks of hostile reply rows — all without a server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    /* TLS parameters */
    MO_ASSERT_OK(mo_up_uri_parse(&u, "mysql://u@h:1/a/b?snapshot=s&ssl-mode=VERIFY_CA&ssl-ca=/x/c:a.pem&chunk=9", &e));
    CU_ASSERT_STRING_EQUAL(u.ssl_mode, "VERIFY_CA");
    CU_ASSERT_STRING_EQUAL(u.ssl_ca, "/x/c:a.pem");
    CU_ASSERT_EQUAL(u.chunk, 9);
    MO_ASSERT_OK(mo_up_uri_parse(&u, "mysql://u@h:1?ssl-mode=disabled", &e));
    CU_ASSERT_STRING_EQUAL(u.ssl_mode, "disabled");
    CU_ASSERT_STRING_EQUAL(u.ssl_ca, "");
    static const char *const bad[] = {
        "mysql://u@h:1?ssl-mode=sometimes", "mysql://u@h:1?ssl-mode=", "mysql://u@h:1?ssl-ca=",
        "mysql://u@h:1?ssl-ca=/a\tb",
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
    /* TLS: a session cut mid-reply is a lost connection; certificate errors are fatal */
    CU_ASSERT_TRUE(mo_up_retryable(2026, "TLS/SSL error: unexpected eof while reading"));
    CU_ASSERT_FALSE(mo_up_retryable(2026, "TLS/SSL error: unable to get local issuer certificate"));
    CU_ASSERT_FALSE(mo_up_retryable(2026, "TLS/SSL error: certificate verify failed"));
    CU_ASSERT_FALSE(mo_up_retryable(2026, "SSL is required, but the server does not support it"));
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


/* ================= loopback against the in-process moupstream server ================= */
/* Compiled once the server (mo/srv.h) is in the tree. */
#if defined(__has_include)
#if __has_include("mo/srv.h")
#define UP_HAVE_SRV 1
#endif
#endif
#ifdef UP_HAVE_SRV

#include <pthread.h>
#include <sys/stat.h>

#include "mo/srv.h"
#include "mo/xfer.h"

#define LB_OBJS 6

typedef struct lb_obj {
    uint8_t stats[MO_OBJ_STATS_LEN];
    char name[MO_OBJ_NAME_STR_LEN + 1];
    uint8_t *data;
    uint64_t size;
    mo_obj_ts create_at, delete_at;
} lb_obj;

typedef struct lb_backend {
    pthread_mutex_t mu;
    mo_srv_snap snaps[32];
    unsigned nsnaps;
    int64_t next_ts;
    lb_obj objs[LB_OBJS];
    unsigned nobjs;
    mo_srv_pub pub;
    mo_srv_pub_entry entry;
} lb_backend;

static const char *lb_password(void *ctx, const char *tenant, const char *user)
{
    (void)ctx;
    return !strcasecmp(tenant, "sys") && !strcmp(user, "root") ? "s3cret" : NULL;
}

static int lb_pub_find(void *ctx, const mo_srv_pub **out, const char *account, const char *name,
                       mo_err *err)
{
    lb_backend *b = ctx;
    if ((account && strcmp(account, "sys")) || strcmp(name, "pub1"))
        return mo_err_set(err, MO_ENOTFOUND, "no publication");
    *out = &b->pub;
    return MO_OK;
}

static int lb_snap_create(void *ctx, mo_srv_snap *req, mo_err *err)
{
    lb_backend *b = ctx;
    pthread_mutex_lock(&b->mu);
    for (unsigned i = 0; i < b->nsnaps; i++)
        if (!strcmp(b->snaps[i].name, req->name)) {
            pthread_mutex_unlock(&b->mu);
            return mo_err_set(err, MO_EEXISTS, "snapshot %s already exists", req->name);
        }
    if (b->nsnaps == 32) {
        pthread_mutex_unlock(&b->mu);
        return mo_err_set(err, MO_ENOMEM, "too many snapshots");
    }
    req->ts.physical = b->next_ts;
    req->ts.logical = 0;
    b->next_ts += 100;
    b->snaps[b->nsnaps++] = *req;
    pthread_mutex_unlock(&b->mu);
    return MO_OK;
}

static int lb_snap_get(void *ctx, mo_srv_snap *out, const char *account, const char *name,
                       mo_err *err)
{
    lb_backend *b = ctx;
    (void)account;
    pthread_mutex_lock(&b->mu);
    for (unsigned i = 0; i < b->nsnaps; i++)
        if (!strcmp(b->snaps[i].name, name)) {
            *out = b->snaps[i];
            pthread_mutex_unlock(&b->mu);
            return MO_OK;
        }
    pthread_mutex_unlock(&b->mu);
    return mo_err_set(err, MO_ENOTFOUND, "no snapshot %s", name);
}

static int lb_snap_drop(void *ctx, const char *account, const char *name, mo_err *err)
{
    lb_backend *b = ctx;
    (void)account;
    pthread_mutex_lock(&b->mu);
    for (unsigned i = 0; i < b->nsnaps; i++)
        if (!strcmp(b->snaps[i].name, name)) {
            b->snaps[i] = b->snaps[--b->nsnaps];
            pthread_mutex_unlock(&b->mu);
            return MO_OK;
        }
    pthread_mutex_unlock(&b->mu);
    return mo_err_set(err, MO_ENOTFOUND, "no snapshot %s", name);
}

static int lb_snap_flushed(void *ctx, bool *out, const mo_srv_snap *snap, mo_err *err)
{
    (void)ctx, (void)snap, (void)err;
    *out = true;
    return MO_OK;
}

static int lb_databases(void *ctx, const char *account, const mo_srv_snap *at, mo_srv_name_cb cb,
                        void *payload, mo_err *err)
{
    (void)ctx, (void)account, (void)at, (void)err;
    int rc = cb("mo_catalog", payload);
    return rc ? rc : cb("db1", payload);
}

static int lb_tables(void *ctx, const char *account, const mo_srv_snap *at, const char *db,
                     mo_srv_table_cb cb, void *payload, mo_err *err)
{
    (void)ctx, (void)account, (void)at;
    if (strcmp(db, "db1"))
        return mo_err_set(err, MO_ENOTFOUND, "database %s does not exist", db);
    mo_srv_table t = {"db1", "t1", 1001, 'r',
                      "CREATE TABLE `db1`.`t1` (\n  `a` INT NOT NULL,\n  PRIMARY KEY (`a`)\n)"};
    return cb(&t, payload);
}

static int lb_indexes(void *ctx, const char *account, const mo_srv_snap *at, uint64_t table_id,
                      mo_srv_index_cb cb, void *payload, mo_err *err)
{
    (void)ctx, (void)account, (void)at, (void)err;
    if (table_id != 1001)
        return MO_OK;
    mo_srv_index ix = {1001, "PRIMARY", "", ""};
    return cb(&ix, payload);
}

static int lb_objects(void *ctx, const mo_srv_snap *snap, const mo_obj_ts *from, mo_obj_ts to,
                      mo_srv_obj_cb cb, void *payload, mo_err *err)
{
    lb_backend *b = ctx;
    (void)snap, (void)from, (void)to, (void)err;
    for (unsigned i = 0; i < b->nobjs; i++) {
        mo_srv_obj o = {"db1", "t1", {0}, b->objs[i].create_at, b->objs[i].delete_at, false};
        memcpy(o.stats, b->objs[i].stats, MO_OBJ_STATS_LEN);
        int rc = cb(&o, payload);
        if (rc)
            return rc;
    }
    return MO_OK;
}

static const lb_obj *lb_find(lb_backend *b, const char *name)
{
    for (unsigned i = 0; i < b->nobjs; i++)
        if (!strcmp(b->objs[i].name, name))
            return &b->objs[i];
    return NULL;
}

static int lb_object_stat(void *ctx, uint64_t *size, const mo_srv_pub *pub, const char *name,
                          mo_err *err)
{
    (void)pub;
    const lb_obj *o = lb_find(ctx, name);
    if (!o)
        return mo_err_set(err, MO_ENOTFOUND, "no %s", name);
    *size = o->size;
    return MO_OK;
}

static int lb_object_read(void *ctx, const char *name, uint64_t off, void *buf, size_t n,
                          mo_err *err)
{
    const lb_obj *o = lb_find(ctx, name);
    if (!o || off + n > o->size)
        return mo_err_set(err, MO_EIO, "short read of %s", name);
    memcpy(buf, o->data + off, n);
    return MO_OK;
}

static const mo_srv_backend_ops lb_ops = {
    MO_SRV_BACKEND_VERSION, lb_password, lb_pub_find,  lb_snap_create, lb_snap_get,
    lb_snap_drop,           lb_snap_flushed, lb_databases, lb_tables,  lb_indexes,
    lb_objects,             lb_object_stat,  lb_object_read,
};

/* objects: sizes around the chunk size; object 4 is deleted at 150 (after snapshot 1 at
 * 100); object 5 is created at 150 */
static void lb_init(lb_backend *b, uint64_t chunk, bool big)
{
    memset(b, 0, sizeof(*b));
    pthread_mutex_init(&b->mu, NULL);
    b->next_ts = 100;
    b->entry.db = "db1";
    b->entry.table = NULL;
    b->pub.account = "sys";
    b->pub.name = "pub1";
    b->pub.account_list = "all";
    b->pub.entries = &b->entry;
    b->pub.n_entries = 1;
    uint64_t sizes[LB_OBJS] = {1, chunk, chunk + 1, 3 * chunk + 17, 77, chunk - 1};
    b->nobjs = big ? 1 : LB_OBJS;
    if (big)
        sizes[0] = chunk + 5;
    uint64_t rng = 99;
    for (unsigned i = 0; i < b->nobjs; i++) {
        lb_obj *o = &b->objs[i];
        make_stats(o->stats, 100 + i);
        memcpy(o->name, o->stats + 18, MO_OBJ_NAME_STR_LEN);
        o->size = sizes[i];
        o->data = malloc(o->size);
        for (uint64_t k = 0; k < o->size; k += 8) {
            uint64_t r = mo_test_rand(&rng);
            memcpy(o->data + k, &r, o->size - k < 8 ? o->size - k : 8);
        }
        o->create_at.physical = i == 5 ? 150 : 50;
        o->delete_at.physical = i == 4 ? 150 : 0;
    }
}

static void lb_dispose(lb_backend *b)
{
    for (unsigned i = 0; i < b->nobjs; i++)
        free(b->objs[i].data);
    pthread_mutex_destroy(&b->mu);
}

typedef struct lb {
    lb_backend be;
    mo_srv *srv;
    char uri[128];
} lb;

static void lb_start(lb *l, uint64_t chunk, const char *fault, bool big)
{
    lb_init(&l->be, chunk, big);
    mo_srv_opts o;
    mo_srv_opts_init(&o);
    o.port = 0;
    o.chunk_size = chunk;
    mo_err e = {0};
    if (fault)
        MO_ASSERT_OK(mo_srv_fault_parse(&o.fault, fault, &e));
    MO_ASSERT_OK(mo_srv_new(&l->srv, &o, &lb_ops, &l->be, &e));
    MO_ASSERT_OK(mo_srv_start(l->srv, &e));
    snprintf(l->uri, sizeof(l->uri), "mysql://sys#root@127.0.0.1:%u", mo_srv_port(l->srv));
}

static void lb_stop(lb *l)
{
    mo_srv_free(l->srv);
    lb_dispose(&l->be);
}

static const mo_up_opts fast = {.connect_timeout = 5, .read_timeout = 10, .write_timeout = 10,
                                .max_attempts = 6, .backoff_base_ms = 1, .backoff_cap_ms = 4,
                                .jitter_ms = 1};

/* fetches a whole object through chunk 0 and 1..N and compares it with the original */
static void fetch_whole(mo_up *up, const lb_obj *o, uint64_t chunk)
{
    mo_up_chunk m;
    mo_err e = {0};
    MO_ASSERT_OK(mo_up_get_object(up, &m, NULL, 0, "sys", "pub1", o->name, 0, &e));
    CU_ASSERT_EQUAL(m.total_size, o->size);
    CU_ASSERT_EQUAL((uint64_t)m.total_chunks, o->size <= chunk ? 1 : (o->size + chunk - 1) / chunk);
    uint8_t *all = malloc(o->size), *buf = malloc(chunk);
    uint64_t at = 0;
    for (int64_t k = 1; k <= m.total_chunks; k++) {
        mo_up_chunk c;
        MO_ASSERT_OK(mo_up_get_object(up, &c, buf, chunk, "sys", "pub1", o->name, k, &e));
        CU_ASSERT_EQUAL(c.is_complete, k == m.total_chunks);
        CU_ASSERT_FATAL(at + c.len <= o->size);
        memcpy(all + at, buf, c.len);
        at += c.len;
    }
    CU_ASSERT_EQUAL(at, o->size);
    CU_ASSERT_EQUAL(memcmp(all, o->data, o->size), 0);
    free(all);
    free(buf);
}

static void test_upclient__loopback_statements(void)
{
    lb l;
    const uint64_t C = 64 << 10;
    lb_start(&l, C, NULL, false);
    mo_up *up = NULL;
    mo_err e = {0};
    /* wrong credentials: fatal, MySQL 1045 */
    CU_ASSERT_EQUAL(mo_up_connect(&up, l.uri, "wrong", &fast, &e), MO_EUPSTREAM);
    CU_ASSERT_EQUAL(e.upstream_code, 1045);
    CU_ASSERT_PTR_NULL(up);
    MO_ASSERT_OK(mo_up_connect(&up, l.uri, "s3cret", &fast, &e));

    mo_up_strs cov;
    MO_ASSERT_OK(mo_up_pub_coverage(up, &cov, "pub1", &e));
    CU_ASSERT_EQUAL_FATAL(cov.n, 4);
    CU_ASSERT_STRING_EQUAL(cov.v[0], "db1");
    CU_ASSERT_STRING_EQUAL(cov.v[1], "*");
    CU_ASSERT_STRING_EQUAL(cov.v[3], "t1");
    mo_up_strs_dispose(&cov);
    CU_ASSERT_EQUAL(mo_up_pub_coverage(up, &cov, "nopub", &e), MO_EUPSTREAM);

    MO_ASSERT_OK(mo_up_create_snapshot(up, "ccpr_t_1", MO_UP_LEVEL_DATABASE, "db1", NULL, "sys",
                                       "pub1", &e));
    MO_ASSERT_OK(mo_up_create_snapshot(up, "ccpr_t_1", MO_UP_LEVEL_DATABASE, "db1", NULL, "sys",
                                       "pub1", &e)); /* IF NOT EXISTS: idempotent */
    int64_t ts = 0;
    MO_ASSERT_OK(mo_up_get_snapshot_ts(up, &ts, "ccpr_t_1", "sys", "pub1", &e));
    CU_ASSERT_EQUAL(ts, 100);
    bool fl = false;
    MO_ASSERT_OK(mo_up_check_snapshot_flushed(up, &fl, "ccpr_t_1", "sys", "pub1", &e));
    CU_ASSERT_TRUE(fl);
    mo_up_strs dbs;
    MO_ASSERT_OK(mo_up_get_databases(up, &dbs, "ccpr_t_1", "sys", "pub1", MO_UP_LEVEL_ACCOUNT,
                                     NULL, NULL, &e));
    CU_ASSERT_EQUAL_FATAL(dbs.n, 1); /* mo_catalog filtered by the server */
    CU_ASSERT_STRING_EQUAL(dbs.v[0], "db1");
    mo_up_strs_dispose(&dbs);
    mo_up_ddl *ddl;
    size_t nd;
    MO_ASSERT_OK(mo_up_get_ddl(up, &ddl, &nd, NULL, "sys", "pub1", MO_UP_LEVEL_DATABASE, "db1",
                               NULL, &e));
    CU_ASSERT_EQUAL_FATAL(nd, 1);
    CU_ASSERT_STRING_EQUAL(ddl[0].table, "t1");
    CU_ASSERT_EQUAL(ddl[0].table_id, 1001);
    CU_ASSERT_PTR_NOT_NULL(strstr(ddl[0].sql, "CREATE TABLE"));
    mo_up_ddl_free(ddl, nd);
    mo_up_index *ix;
    size_t ni;
    MO_ASSERT_OK(mo_up_get_mo_indexes(up, &ix, &ni, 1001, "sys", "pub1", "ccpr_t_1", &e));
    CU_ASSERT_EQUAL_FATAL(ni, 1);
    CU_ASSERT_STRING_EQUAL(ix[0].name, "PRIMARY");
    CU_ASSERT_EQUAL(ix[0].table_id, 1001);
    mo_up_index_free(ix, ni);

    /* full listing at snapshot 1 (ts 100): objects 0..4 live, 5 not yet created */
    mo_up_obj *objs;
    size_t no;
    MO_ASSERT_OK(mo_up_object_list(up, &objs, &no, "ccpr_t_1", NULL, "sys", "pub1", &e));
    CU_ASSERT_EQUAL(no, 5);
    for (size_t i = 0; i < no; i++) {
        CU_ASSERT_FALSE(objs[i].deleted);
        CU_ASSERT_STRING_EQUAL(objs[i].db, "db1");
    }
    mo_free(objs);
    /* incremental 1 -> 2 (ts 200): object 4 deleted, object 5 created */
    MO_ASSERT_OK(mo_up_create_snapshot(up, "ccpr_t_2", MO_UP_LEVEL_TABLE, "db1", "t1", "sys",
                                       "pub1", &e));
    MO_ASSERT_OK(mo_up_object_list(up, &objs, &no, "ccpr_t_2", "ccpr_t_1", "sys", "pub1", &e));
    CU_ASSERT_EQUAL_FATAL(no, 2);
    for (size_t i = 0; i < no; i++) {
        bool is4 = !strcmp(objs[i].name, l.be.objs[4].name);
        CU_ASSERT_TRUE(is4 || !strcmp(objs[i].name, l.be.objs[5].name));
        CU_ASSERT_EQUAL(objs[i].deleted, is4);
        if (is4)
            CU_ASSERT_EQUAL(objs[i].delete_at.physical, 150);
    }
    mo_free(objs);

    for (unsigned i = 0; i < LB_OBJS; i++)
        fetch_whole(up, &l.be.objs[i], C);
    /* past the last chunk: MO's invalid-input error, fatal */
    mo_up_chunk m;
    uint8_t b1[16];
    CU_ASSERT_EQUAL(mo_up_get_object(up, &m, b1, sizeof(b1), "sys", "pub1", l.be.objs[0].name, 2,
                                     &e), MO_EUPSTREAM);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "invalid chunk_index"));
    CU_ASSERT_EQUAL(e.upstream_code, 20301);
    /* a buffer smaller than the chunk is a reply error, and the handle stays usable */
    CU_ASSERT_EQUAL(mo_up_get_object(up, &m, b1, sizeof(b1), "sys", "pub1", l.be.objs[1].name, 1,
                                     &e), MO_EUPSTREAM);
    fetch_whole(up, &l.be.objs[0], C);
    /* unknown object: the fileservice's not-found error */
    CU_ASSERT_EQUAL(mo_up_get_object(up, &m, NULL, 0, "sys", "pub1",
                                     "0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b_00001", 0, &e),
                    MO_EUPSTREAM);
    MO_ASSERT_OK(mo_up_drop_snapshot(up, "ccpr_t_1", "sys", "pub1", &e));
    MO_ASSERT_OK(mo_up_drop_snapshot(up, "ccpr_t_1", "sys", "pub1", &e)); /* IF EXISTS */
    CU_ASSERT_EQUAL(mo_up_get_snapshot_ts(up, &ts, "ccpr_t_1", "sys", "pub1", &e), MO_EUPSTREAM);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "find 0 snapshot records by name(ccpr_t_1)"));
    CU_ASSERT_EQUAL(e.upstream_code, 20101);
    /* identifiers are refused before anything is sent */
    uint64_t sent = mo_up_statements(up);
    CU_ASSERT_EQUAL(mo_up_get_snapshot_ts(up, &ts, "x y", "sys", "pub1", &e), MO_EINVAL);
    CU_ASSERT_EQUAL(mo_up_statements(up), sent);
    mo_up_free(up);
    lb_stop(&l);
}

static void test_upclient__loopback_multipacket(void)
{
    /* a 20 MiB chunk: the row spans two MySQL packets and its BLOB prefix is 0xFE */
    lb l;
    const uint64_t C = 20u << 20;
    lb_start(&l, C, NULL, true);
    mo_up *up = NULL;
    mo_err e = {0};
    MO_ASSERT_OK(mo_up_connect(&up, l.uri, "s3cret", &fast, &e));
    fetch_whole(up, &l.be.objs[0], C);
    mo_up_free(up);
    lb_stop(&l);
}

static void test_upclient__loopback_faults(void)
{
    const uint64_t C = 64 << 10;
    mo_err e = {0};
    mo_up *up = NULL;
    lb l;
    /* the first K statements fail with a retryable error: retried, then fine */
    lb_start(&l, C, "retryable=3", false);
    MO_ASSERT_OK(mo_up_connect(&up, l.uri, "s3cret", &fast, &e));
    fetch_whole(up, &l.be.objs[3], C);
    CU_ASSERT_TRUE(mo_up_statements(up) >= 3 + 5);
    mo_up_free(up);
    lb_stop(&l);
    /* more failures than attempts: MO_EAGAIN (resumable), message kept */
    lb_start(&l, C, "retryable=100", false);
    MO_ASSERT_OK(mo_up_connect(&up, l.uri, "s3cret", &fast, &e));
    mo_up_chunk m;
    CU_ASSERT_EQUAL(mo_up_get_object(up, &m, NULL, 0, "sys", "pub1", l.be.objs[0].name, 0, &e),
                    MO_EAGAIN);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "backend unavailable"));
    mo_up_free(up);
    lb_stop(&l);
    /* connection dropped mid-chunk twice: reconnect and re-request */
    lb_start(&l, C, "drop-after=1000/2", false);
    MO_ASSERT_OK(mo_up_connect(&up, l.uri, "s3cret", &fast, &e));
    fetch_whole(up, &l.be.objs[3], C);
    CU_ASSERT_EQUAL(mo_up_reconnects(up), 2);
    mo_up_free(up);
    lb_stop(&l);
    /* the first connections refused: connect retries */
    lb_start(&l, C, "refuse=2", false);
    MO_ASSERT_OK(mo_up_connect(&up, l.uri, "s3cret", &fast, &e));
    fetch_whole(up, &l.be.objs[2], C);
    mo_up_free(up);
    lb_stop(&l);
    /* a corrupt byte: the wire has no checksum, so the client cannot see it; the copier's
     * verification must (mo_seed.sh shows it with real objects) */
    lb_start(&l, C, "corrupt=chunk1:10", false);
    MO_ASSERT_OK(mo_up_connect(&up, l.uri, "s3cret", &fast, &e));
    uint8_t *buf = malloc(C);
    MO_ASSERT_OK(mo_up_get_object(up, &m, buf, C, "sys", "pub1", l.be.objs[1].name, 1, &e));
    CU_ASSERT_EQUAL(m.len, C);
    CU_ASSERT_EQUAL(buf[10], l.be.objs[1].data[10] ^ 0xff);
    free(buf);
    mo_up_free(up);
    lb_stop(&l);
}

static void test_upclient__loopback_source(void)
{
    const uint64_t C = 64 << 10;
    lb l;
    lb_start(&l, C, "drop-after=100/1", false);
    mo_err e = {0};
    char spec[256];
    snprintf(spec, sizeof(spec), "%s/sys/pub1", l.uri);
    mo_src *src = NULL;
    setenv("MO_UPSTREAM_BACKOFF_MS", "1", 1);
    setenv("MO_UPSTREAM_BACKOFF_CAP_MS", "4", 1);
    unsetenv("MO_UPSTREAM_PASSWORD_FILE");
    setenv("MO_UPSTREAM_PASSWORD", "nope", 1);
    CU_ASSERT_EQUAL(mo_src_open(&src, spec, &e), MO_EUPSTREAM);
    CU_ASSERT_EQUAL(e.upstream_code, 1045);
    setenv("MO_UPSTREAM_PASSWORD", "s3cret", 1);
    char withpw[256];
    snprintf(withpw, sizeof(withpw), "mysql://sys#root:s3cret@127.0.0.1:%u/sys/pub1",
             mo_srv_port(l.srv));
    CU_ASSERT_EQUAL(mo_src_open(&src, withpw, &e), MO_EINVAL);
    MO_ASSERT_OK(mo_src_open(&src, spec, &e));
    CU_ASSERT_TRUE((src->ops->caps & (MO_SRC_CHUNKS | MO_SRC_LIST | MO_SRC_SEEK)) ==
                   (MO_SRC_CHUNKS | MO_SRC_LIST | MO_SRC_SEEK));
    const char *dir = mo_test_tmpdir("upclient-src");
    mo_sink *sink = NULL;
    MO_ASSERT_OK(mo_sink_dir_open(&sink, dir, false, &e));
    mo_xfer_opts o = {0};
    o.jobs = 3;
    o.verify_level = 0;
    o.journal = true;
    mo_xfer_stats st;
    MO_ASSERT_OK(mo_xfer_run(&st, src, sink, &o, &e));
    /* the live objects of the seed snapshot (ts 100): 0..4 */
    CU_ASSERT_EQUAL(st.objects_total, 5);
    CU_ASSERT_EQUAL(src->ops->chunk_size(src), C);
    char id[1024];
    snprintf(id, sizeof(id), "%s", src->ops->identity(src));
    CU_ASSERT_PTR_NOT_NULL(strstr(id, "?snapshot=mosync_seed_"));
    CU_ASSERT_PTR_NOT_NULL(strstr(id, "&chunk=65536"));
    CU_ASSERT_PTR_NULL(strstr(id, "s3cret"));
    for (unsigned i = 0; i < 5; i++) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, l.be.objs[i].name);
        FILE *f = fopen(p, "rb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        uint8_t *got = malloc(l.be.objs[i].size + 1);
        size_t n = fread(got, 1, l.be.objs[i].size + 1, f);
        fclose(f);
        CU_ASSERT_EQUAL(n, l.be.objs[i].size);
        CU_ASSERT_EQUAL(memcmp(got, l.be.objs[i].data, l.be.objs[i].size), 0);
        free(got);
    }
    mo_src_free(src);
    /* re-open by identity: same snapshot, nothing to fetch */
    MO_ASSERT_OK(mo_src_open(&src, id, &e));
    MO_ASSERT_OK(mo_xfer_run(&st, src, sink, &o, &e));
    CU_ASSERT_EQUAL(st.objects_copied, 0);
    CU_ASSERT_EQUAL(st.bytes_copied, 0);
    CU_ASSERT_STRING_EQUAL(src->ops->identity(src), id);
    mo_src_free(src);
    mo_sink_free(sink);
    unsetenv("MO_UPSTREAM_PASSWORD");
    lb_stop(&l);
}

/* ---- prefetch of the mysql source (MO_UPSTREAM_PREFETCH) ---- */

static void pf_env(unsigned depth)
{
    char d[16];
    snprintf(d, sizeof(d), "%u", depth);
    setenv("MO_UPSTREAM_PREFETCH", d, 1);
    setenv("MO_UPSTREAM_BACKOFF_MS", "1", 1);
    setenv("MO_UPSTREAM_BACKOFF_CAP_MS", "4", 1);
    unsetenv("MO_UPSTREAM_PASSWORD_FILE");
    setenv("MO_UPSTREAM_PASSWORD", "s3cret", 1);
}

static void pf_env_done(void)
{
    unsetenv("MO_UPSTREAM_PREFETCH");
    unsetenv("MO_UPSTREAM_PASSWORD");
}

/* seeds the snapshot's live objects into a fresh directory with -j jobs and checks
 * every byte; returns the source's prefetch counters */
static void pf_pull(lb *l, unsigned depth, unsigned jobs, mo_src_mysql_pf_stats *ps)
{
    pf_env(depth);
    mo_err e = {0};
    char spec[256];
    snprintf(spec, sizeof(spec), "%s/sys/pub1", l->uri);
    mo_src *src = NULL;
    MO_ASSERT_OK(mo_src_open(&src, spec, &e));
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    const char *dir = mo_test_tmpdir("upclient-pf");
    char dcopy[512];
    snprintf(dcopy, sizeof(dcopy), "%s", dir);
    mo_sink *sink = NULL;
    MO_ASSERT_OK(mo_sink_dir_open(&sink, dcopy, false, &e));
    mo_xfer_opts o = {0};
    o.jobs = jobs;
    o.verify_level = 0;
    o.journal = true;
    mo_xfer_stats st;
    MO_ASSERT_OK(mo_xfer_run(&st, src, sink, &o, &e));
    CU_ASSERT_EQUAL(st.objects_total, 5);
    /* the seed snapshot is new each time: objects 0..4 at ts 100, 0..3 and 5 later */
    unsigned found = 0;
    for (unsigned i = 0; i < LB_OBJS; i++) {
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", dcopy, l->be.objs[i].name);
        FILE *f = fopen(p, "rb");
        if (!f)
            continue;
        found++;
        uint8_t *got = malloc(l->be.objs[i].size + 1);
        size_t n = fread(got, 1, l->be.objs[i].size + 1, f);
        fclose(f);
        CU_ASSERT_EQUAL(n, l->be.objs[i].size);
        CU_ASSERT_EQUAL(memcmp(got, l->be.objs[i].data, l->be.objs[i].size), 0);
        free(got);
    }
    CU_ASSERT_EQUAL(found, 5);
    mo_src_mysql_prefetch_stats(src, ps);
    CU_ASSERT_EQUAL(ps->depth, depth);
    /* memory bound: at most D prefetches in flight per object (+ the copier's buffer = D+1),
     * at most D buffers per object in flight */
    CU_ASSERT_TRUE(ps->peak_inflight <= depth);
    CU_ASSERT_TRUE(ps->buffers <= (uint64_t)depth * jobs);
    mo_src_free(src);
    mo_sink_free(sink);
    pf_env_done();
}

static void test_upclient__prefetch_depths(void)
{
    const uint64_t C = 64 << 10;
    lb l;
    lb_start(&l, C, NULL, false);
    mo_src_mysql_pf_stats ps;
    pf_pull(&l, 0, 1, &ps);
    CU_ASSERT_EQUAL(ps.launched, 0);
    CU_ASSERT_EQUAL(ps.buffers, 0);
    pf_pull(&l, 1, 1, &ps);
    CU_ASSERT_TRUE(ps.launched > 0);
    CU_ASSERT_TRUE(ps.handed > 0);
    CU_ASSERT_EQUAL(ps.peak_inflight, 1);
    CU_ASSERT_EQUAL(ps.discarded, 0);
    CU_ASSERT_EQUAL(ps.handed, ps.launched);
    /* object 3 has 4 chunks: reading chunk 1 puts 2, 3 and 4 in flight */
    pf_pull(&l, 3, 1, &ps);
    CU_ASSERT_EQUAL(ps.peak_inflight, 3);
    CU_ASSERT_TRUE(ps.buffers <= 3);
    CU_ASSERT_EQUAL(ps.discarded, 0);
    CU_ASSERT_EQUAL(ps.handed, ps.launched);
    pf_pull(&l, 3, 3, &ps);
    CU_ASSERT_EQUAL(ps.handed, ps.launched);
    pf_pull(&l, 2, 2, &ps); /* the default depth, two objects at a time */
    lb_stop(&l);
}

static int pf_count_cb(const mo_obj_ref *r, void *payload)
{
    (void)r;
    ++*(unsigned *)payload;
    return 0;
}

/* reads chunk k (1-based) of backend object i through the source and compares it */
static void pf_read(mo_src *src, const lb_obj *o, uint64_t C, uint64_t k)
{
    uint64_t off = (k - 1) * C;
    size_t n = (size_t)(o->size - off < C ? o->size - off : C);
    uint8_t *buf = malloc(n);
    mo_err e = {0};
    MO_ASSERT_OK(src->ops->read(src, o->name, off, buf, n, &e));
    CU_ASSERT_EQUAL(memcmp(buf, o->data + off, n), 0);
    free(buf);
}

static mo_src *pf_open(lb *l, unsigned depth, const char *query)
{
    pf_env(depth);
    mo_err e = {0};
    char spec[300];
    snprintf(spec, sizeof(spec), "%s/sys/pub1%s", l->uri, query);
    mo_src *src = NULL;
    MO_ASSERT_OK(mo_src_open(&src, spec, &e));
    CU_ASSERT_PTR_NOT_NULL_FATAL(src);
    unsigned nobj = 0;
    MO_ASSERT_OK(src->ops->list(src, pf_count_cb, &nobj, NULL, &e));
    CU_ASSERT_EQUAL(nobj, 5);
    return src;
}

static void test_upclient__prefetch_offsets(void)
{
    const uint64_t C = 64 << 10;
    lb l;
    lb_start(&l, C, NULL, false);
    mo_src *src = pf_open(&l, 2, "");
    const lb_obj *o3 = &l.be.objs[3], *o2 = &l.be.objs[2]; /* 4 chunks, 2 chunks */
    mo_src_mysql_pf_stats ps;
    /* in order */
    for (uint64_t k = 1; k <= 4; k++)
        pf_read(src, o3, C, k);
    mo_src_mysql_prefetch_stats(src, &ps);
    CU_ASSERT_EQUAL(ps.discarded, 0);
    CU_ASSERT_EQUAL(ps.handed, 3);
    /* out of order: 1 (2 and 3 prefetched), then 3: 2 and 3 are stale */
    pf_read(src, o3, C, 1);
    pf_read(src, o3, C, 3);
    mo_src_mysql_prefetch_stats(src, &ps);
    CU_ASSERT_EQUAL(ps.discarded, 2);
    pf_read(src, o3, C, 4); /* prefetched by the read of 3 */
    mo_src_mysql_prefetch_stats(src, &ps);
    CU_ASSERT_EQUAL(ps.handed, 4);
    /* a retry of the same chunk (the copier after an error) and a restart from 1 */
    pf_read(src, o3, C, 1);
    pf_read(src, o3, C, 1);
    pf_read(src, o3, C, 2);
    pf_read(src, o3, C, 1);
    /* resume: starting at the first missing chunk; two objects interleaved */
    pf_read(src, o3, C, 3);
    pf_read(src, o2, C, 2);
    pf_read(src, o2, C, 1);
    pf_read(src, o3, C, 4);
    pf_read(src, o2, C, 2);
    /* still refused: not a chunk boundary, wrong length */
    uint8_t b[16];
    mo_err e = {0};
    CU_ASSERT_EQUAL(src->ops->read(src, o3->name, 5, b, sizeof(b), &e), MO_EINVAL);
    CU_ASSERT_EQUAL(src->ops->read(src, o3->name, 0, b, sizeof(b), &e), MO_EINVAL);
    mo_src_mysql_prefetch_stats(src, &ps);
    CU_ASSERT_TRUE(ps.peak_inflight <= 2);
    CU_ASSERT_TRUE(ps.buffers <= 4);
    /* abandoned mid-object with prefetches in flight: freeing the source joins them */
    pf_read(src, o3, C, 1);
    mo_src_free(src);
    pf_env_done();
    lb_stop(&l);
}

static void test_upclient__prefetch_faults(void)
{
    const uint64_t C = 64 << 10;
    lb l;
    /* chunk=: no chunk 1 fetched to learn the size, so the first chunk responses are the
     * reads below: chunk 1 (synchronous) and 2..4 (prefetched) in flight together; three of
     * these four responses are cut after 1000 bytes, so at least two prefetches reconnect */
    lb_start(&l, C, "drop-after=1000/3", false);
    mo_src *src = pf_open(&l, 3, "?chunk=65536");
    const lb_obj *o3 = &l.be.objs[3];
    for (uint64_t k = 1; k <= 4; k++)
        pf_read(src, o3, C, k);
    mo_src_mysql_pf_stats ps;
    mo_src_mysql_prefetch_stats(src, &ps);
    CU_ASSERT_EQUAL(ps.handed, 3);
    CU_ASSERT_EQUAL(ps.discarded, 0);
    mo_src_free(src);
    pf_env_done();
    lb_stop(&l);
    /* whole pulls under dropped connections and retryable errors */
    lb_start(&l, C, "drop-after=1000/6,retryable=4", false);
    pf_pull(&l, 3, 1, &ps);
    lb_stop(&l);
    lb_start(&l, C, "drop-after=5000/4", false);
    pf_pull(&l, 2, 2, &ps);
    lb_stop(&l);
    /* more failures than attempts: with 2 attempts per fetch, every chunk response cut, the
     * synchronous fetch of chunk 1 fails resumably (MO_EAGAIN) and its two prefetches, which
     * failed too, are joined and dropped */
    setenv("MO_UPSTREAM_ATTEMPTS", "2", 1);
    lb_start(&l, C, "drop-after=1000/6", false);
    src = pf_open(&l, 2, "?chunk=65536");
    uint8_t *buf = malloc(C);
    mo_err e = {0};
    CU_ASSERT_EQUAL(src->ops->read(src, o3->name, 0, buf, C, &e), MO_EAGAIN);
    mo_src_mysql_prefetch_stats(src, &ps);
    CU_ASSERT_EQUAL(ps.launched, 2);
    CU_ASSERT_EQUAL(ps.discarded, 2);
    CU_ASSERT_EQUAL(ps.handed, 0);
    /* the faults are used up: the copier's retry of chunk 1 works, and so does the rest */
    for (uint64_t k = 1; k <= 4; k++)
        pf_read(src, o3, C, k);
    mo_src_free(src);
    lb_stop(&l);
    /* two cuts among chunk 1 and its two prefetches, 2 attempts each: whichever fetch fails
     * (a prefetch's error is returned by the read of its chunk), retrying the read as the
     * copier does gives every byte */
    lb_start(&l, C, "drop-after=1000/2", false);
    src = pf_open(&l, 2, "?chunk=65536");
    unsigned fails = 0;
    for (uint64_t k = 1; k <= 4; k++) {
        uint64_t off = (k - 1) * C;
        size_t n = (size_t)(o3->size - off < C ? o3->size - off : C);
        int rc;
        for (unsigned a = 0; (rc = src->ops->read(src, o3->name, off, buf, n, &e)) == MO_EAGAIN &&
                             a < 3; a++)
            fails++;
        MO_ASSERT_OK(rc);
        CU_ASSERT_EQUAL(memcmp(buf, o3->data + off, n), 0);
    }
    CU_ASSERT_TRUE(fails <= 1);
    free(buf);
    mo_src_free(src);
    lb_stop(&l);
    unsetenv("MO_UPSTREAM_ATTEMPTS");
    pf_env_done();
}
#endif /* UP_HAVE_SRV */

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
#ifdef UP_HAVE_SRV
    {"test_upclient__loopback_statements", test_upclient__loopback_statements},
    {"test_upclient__loopback_multipacket", test_upclient__loopback_multipacket},
    {"test_upclient__loopback_faults", test_upclient__loopback_faults},
    {"test_upclient__loopback_source", test_upclient__loopback_source},
    {"test_upclient__prefetch_depths", test_upclient__prefetch_depths},
    {"test_upclient__prefetch_offsets", test_upclient__prefetch_offsets},
    {"test_upclient__prefetch_faults", test_upclient__prefetch_faults},
#endif
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_upclient_suites[] = {
    {"upclient", NULL, NULL, NULL, NULL, upclient_tests},
    CU_SUITE_INFO_NULL,
};
