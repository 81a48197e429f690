/* Bloom filters (spec §5.2): Binary Fuse 8 build/parse/test, prefix and hybrid filters. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mo/hash.h"
#include "mo/obj_index.h"
#include "mo_test.h"

static uint64_t *rand_keys(size_t n, uint64_t seed)
{
    uint64_t *k = mo_malloc(n ? n * sizeof(*k) : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    for (size_t i = 0; i < n; i++)
        k[i] = mo_test_rand(&seed);
    return k;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Builds, parses and checks the geometry of a filter over @p keys. */
static void build_parse(mo_buf *b, mo_obj_bfuse *f, const uint64_t *keys, size_t n)
{
    mo_buf_init(b);
    MO_ASSERT_OK(mo_obj_bfuse_build(b, keys, n, &mo_test_err));
    MO_ASSERT_OK(mo_obj_bfuse_parse(f, b->ptr, b->len, &mo_test_err));
    CU_ASSERT_EQUAL(f->segment_length_mask, f->segment_length - 1);
    CU_ASSERT_EQUAL(f->segment_count_length, f->segment_count * f->segment_length);
    CU_ASSERT_EQUAL(f->fingerprints_len,
                    ((size_t)f->segment_count + 2) * (size_t)f->segment_length);
    CU_ASSERT_EQUAL(b->len, 24 + f->fingerprints_len);
}

static void check_sizes(size_t n)
{
    uint64_t *keys = rand_keys(n, 0x1234 + n);
    mo_buf b;
    mo_obj_bfuse f;
    build_parse(&b, &f, keys, n);
    size_t missing = 0;
    for (size_t i = 0; i < n; i++)
        missing += !mo_obj_bfuse_contains(&f, keys[i]);
    CU_ASSERT_EQUAL(missing, 0);
    uint64_t s = 0xabcdef + n;
    size_t fp = 0;
    const size_t probes = 100000;
    for (size_t i = 0; i < probes; i++)
        fp += mo_obj_bfuse_contains(&f, mo_test_rand(&s) ^ 0x5555);
    if (n >= 1000)
        CU_ASSERT_TRUE(fp < probes / 100);
    mo_buf_dispose(&b);
    mo_free(keys);
}

static void test_bf__sizes(void)
{
    const size_t sizes[] = {1, 2, 3, 5, 17, 100, 1000, 8192, 100000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        check_sizes(sizes[i]);
}

static void test_bf__tiny(void)
{
    mo_buf b;
    mo_obj_bfuse f;
    /* n = 0: 3 segments of 4, all-zero fingerprints, Go's first seed */
    build_parse(&b, &f, NULL, 0);
    CU_ASSERT_EQUAL(f.segment_length, 4);
    CU_ASSERT_EQUAL(f.segment_count, 1);
    CU_ASSERT_EQUAL(f.fingerprints_len, 12);
    CU_ASSERT_EQUAL(f.seed, 0x910a2dec89025cc1ull); /* splitmix64 from counter 1 */
    for (size_t i = 0; i < 12; i++)
        CU_ASSERT_EQUAL(f.fingerprints[i], 0);
    mo_buf_dispose(&b);

    const uint64_t one = 0xfeedface;
    build_parse(&b, &f, &one, 1);
    CU_ASSERT_EQUAL(f.segment_length, 4);
    CU_ASSERT_EQUAL(f.segment_count, 1);
    CU_ASSERT_EQUAL(f.seed, 0x910a2dec89025cc1ull);
    CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, one));
    mo_buf_dispose(&b);
}

static void test_bf__duplicates(void)
{
    const size_t n = 3000;
    uint64_t *keys = rand_keys(n, 77);
    /* every key three times: adjacent, and interleaved */
    for (size_t i = 1000; i < 2000; i++)
        keys[i] = keys[i - 1000];
    for (size_t i = 2000; i < 3000; i++)
        keys[i] = keys[(i * 7) % 1000];
    mo_buf b;
    mo_obj_bfuse f;
    build_parse(&b, &f, keys, n);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, keys[i]));
    mo_buf_dispose(&b);

    /* 8192 copies of one key (a block prefix of a tombstone block) */
    for (size_t i = 0; i < n; i++)
        keys[i] = 0x42;
    build_parse(&b, &f, keys, n);
    CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, 0x42));
    mo_buf_dispose(&b);

    /* a few distinct keys, many copies each, shuffled */
    uint64_t s = 5;
    for (size_t i = 0; i < n; i++)
        keys[i] = 1000 + mo_test_rand(&s) % 7;
    build_parse(&b, &f, keys, n);
    for (uint64_t k = 1000; k < 1007; k++)
        CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, k));
    mo_buf_dispose(&b);
    mo_free(keys);
}

static void put_hdr(uint8_t *p, uint64_t seed, uint32_t sl, uint32_t mask, uint32_t sc,
                    uint32_t scl)
{
    mo_store_le64(p, seed);
    mo_store_le32(p + 8, sl);
    mo_store_le32(p + 12, mask);
    mo_store_le32(p + 16, sc);
    mo_store_le32(p + 20, scl);
}

static void test_bf__parse_rejects(void)
{
    uint8_t buf[24 + 64] = {0};
    mo_obj_bfuse f;
    put_hdr(buf, 1, 8, 7, 3, 24);
    MO_ASSERT_OK(mo_obj_bfuse_parse(&f, buf, 24 + 40, &mo_test_err));
    MO_ASSERT_OK(mo_obj_bfuse_parse(&f, buf, sizeof(buf), &mo_test_err)); /* extra is fine */
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_bfuse_parse(&f, buf, 24 + 39, &mo_test_err));
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_bfuse_parse(&f, buf, 23, &mo_test_err));
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_bfuse_parse(&f, buf, 0, &mo_test_err));
    put_hdr(buf, 1, 8, 3, 3, 24); /* bad mask */
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_bfuse_parse(&f, buf, sizeof(buf), &mo_test_err));
    put_hdr(buf, 1, 6, 5, 3, 18); /* not a power of two */
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_bfuse_parse(&f, buf, sizeof(buf), &mo_test_err));
    put_hdr(buf, 1, 0, UINT32_MAX, 3, 0);
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_bfuse_parse(&f, buf, sizeof(buf), &mo_test_err));
    put_hdr(buf, 1, 8, 7, 3, 25); /* count length inconsistent */
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_bfuse_parse(&f, buf, sizeof(buf), &mo_test_err));
    put_hdr(buf, 1, 1u << 31, (1u << 31) - 1, 2, 0); /* overflowing geometry */
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_bfuse_parse(&f, buf, sizeof(buf), &mo_test_err));
}

/*
 * The membership formula on a hand-made filter. Constants computed independently:
 * key 0x0123456789abcdef, seed 0x1122334455667788 -> murmur64 = 0xe2421c633be342e8,
 * fingerprint 0x8b, with SegmentLength 8 / SegmentCount 3 the cells are 21, 29, 37.
 */
static void test_bf__formula(void)
{
    uint8_t buf[24 + 40] = {0};
    put_hdr(buf, 0x1122334455667788ull, 8, 7, 3, 24);
    const uint64_t key = 0x0123456789abcdefull;
    mo_obj_bfuse f;
    MO_ASSERT_OK(mo_obj_bfuse_parse(&f, buf, sizeof(buf), &mo_test_err));
    CU_ASSERT_FALSE(mo_obj_bfuse_contains(&f, key));
    buf[24 + 21] = 0x8b;
    CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, key));
    buf[24 + 29] = 0x10;
    CU_ASSERT_FALSE(mo_obj_bfuse_contains(&f, key));
    buf[24 + 37] = 0x10;
    CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, key));
    buf[24 + 36] = 0x77; /* a neighbour cell is irrelevant */
    CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, key));
    /* key 0 with seed 0: hash 0, fingerprint 0, cells 0, SL, 2*SL */
    uint8_t z[24 + 40] = {0};
    put_hdr(z, 0, 8, 7, 3, 24);
    MO_ASSERT_OK(mo_obj_bfuse_parse(&f, z, sizeof(z), &mo_test_err));
    CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, 0));
    z[24 + 8] = 1;
    CU_ASSERT_FALSE(mo_obj_bfuse_contains(&f, 0));
    z[24 + 16] = 1;
    CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, 0));
    /* the key hash is XXH64 seed 0 */
    CU_ASSERT_EQUAL(mo_obj_bf_key((const uint8_t *)"", 0), 0xef46db3751d8e999ull);
}

static void make_rowid(uint8_t out[24], uint8_t obj, uint16_t blk, uint32_t row)
{
    memset(out, 0, 24);
    out[0] = 0x01;
    out[5] = obj;
    out[15] = 0x7f;
    mo_store_le16(out + 16, 0);
    mo_store_le16(out + 18, blk);
    mo_store_le32(out + 20, row);
}

typedef struct rowid_col {
    mo_obj_vec v;
    uint8_t *data;
} rowid_col;

static void rowid_col_init(rowid_col *c, uint8_t obj, uint16_t blocks, uint32_t rows_per_block)
{
    const uint32_t n = blocks * rows_per_block;
    c->data = mo_malloc((size_t)n * 24 + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->data);
    for (uint16_t b = 0; b < blocks; b++)
        for (uint32_t r = 0; r < rows_per_block; r++)
            make_rowid(c->data + ((size_t)b * rows_per_block + r) * 24, obj, b, r * 3);
    memset(&c->v, 0, sizeof(c->v));
    c->v.cls = MO_OBJ_VEC_FLAT;
    c->v.type.oid = MO_T_ROWID;
    c->v.type.size = 24;
    c->v.length = n;
    c->v.data = c->data;
    c->v.data_len = n * 24;
}

static void test_bf__hybrid(void)
{
    rowid_col c;
    rowid_col_init(&c, 1, 4, 1000);
    mo_buf b = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_filter_build(&b, MO_OBJ_BF_HYBRID, &c.v, &mo_test_err));
    const uint32_t len1 = mo_load_le32(b.ptr), len2 = mo_load_le32(b.ptr + 4),
                   len3 = mo_load_le32(b.ptr + 8);
    CU_ASSERT_EQUAL(12 + (size_t)len1 + len2 + len3, b.len);
    CU_ASSERT_EQUAL(b.ptr[12], MO_OBJ_PREFIX_OBJECT);
    CU_ASSERT_EQUAL(b.ptr[12 + len1], MO_OBJ_PREFIX_BLOCK);
    bool present;
    for (uint32_t i = 0; i < c.v.length; i++) {
        MO_ASSERT_OK(mo_obj_filter_test(&present, MO_OBJ_BF_HYBRID, b.ptr, b.len,
                                        c.data + (size_t)i * 24, 24, &mo_test_err));
        CU_ASSERT_TRUE(present);
    }
    /* another object, another block of this object, other rows of these blocks */
    int fp_obj = 0, fp_blk = 0, fp_row = 0;
    uint8_t r[24];
    for (uint32_t i = 0; i < 1000; i++) {
        make_rowid(r, (uint8_t)(2 + i % 200), (uint16_t)(i % 4), i * 3);
        r[6] = (uint8_t)i;
        MO_ASSERT_OK(
            mo_obj_filter_test(&present, MO_OBJ_BF_HYBRID, b.ptr, b.len, r, 24, &mo_test_err));
        fp_obj += present;
        make_rowid(r, 1, (uint16_t)(4 + i), 0);
        MO_ASSERT_OK(
            mo_obj_filter_test(&present, MO_OBJ_BF_HYBRID, b.ptr, b.len, r, 24, &mo_test_err));
        fp_blk += present;
        make_rowid(r, 1, (uint16_t)(i % 4), i * 3 + 1);
        MO_ASSERT_OK(
            mo_obj_filter_test(&present, MO_OBJ_BF_HYBRID, b.ptr, b.len, r, 24, &mo_test_err));
        fp_row += present;
    }
    CU_ASSERT_TRUE(fp_obj <= 2);
    CU_ASSERT_TRUE(fp_blk <= 10);
    CU_ASSERT_TRUE(fp_row <= 20);
    MO_ASSERT_RC(MO_EINVAL, mo_obj_filter_test(&present, MO_OBJ_BF_HYBRID, b.ptr, b.len, c.data, 20,
                                               &mo_test_err));
    MO_ASSERT_RC(MO_ECORRUPT,
                 mo_obj_filter_test(&present, 7, b.ptr, b.len, c.data, 24, &mo_test_err));

    /* the levels are ordinary (prefix) filters over the rowid prefixes */
    mo_obj_bfuse l1;
    MO_ASSERT_OK(mo_obj_bfuse_parse(&l1, b.ptr + 13, len1 - 1, &mo_test_err));
    CU_ASSERT_TRUE(mo_obj_bfuse_contains(&l1, mo_obj_bf_key(c.data, 18)));
    MO_ASSERT_OK(mo_obj_filter_test(&present, MO_OBJ_BF_PREFIX, b.ptr + 12 + len1, len2,
                                    c.data + 24 * 1500, 24, &mo_test_err));
    CU_ASSERT_TRUE(present);
    MO_ASSERT_OK(mo_obj_filter_test(&present, MO_OBJ_BF_PLAIN, b.ptr + 12 + len1 + len2, len3,
                                    c.data + 24 * 3999, 24, &mo_test_err));
    CU_ASSERT_TRUE(present);
    mo_buf_dispose(&b);

    /* a PBF on its own (type 1): object prefix */
    MO_ASSERT_OK(mo_obj_filter_build(&b, MO_OBJ_BF_PREFIX, &c.v, &mo_test_err));
    CU_ASSERT_EQUAL(b.ptr[0], MO_OBJ_PREFIX_OBJECT);
    MO_ASSERT_OK(mo_obj_filter_test(&present, MO_OBJ_BF_PREFIX, b.ptr, b.len, c.data + 240, 24,
                                    &mo_test_err));
    CU_ASSERT_TRUE(present);
    MO_ASSERT_OK(
        mo_obj_filter_test(&present, MO_OBJ_BF_PREFIX, b.ptr, b.len, c.data, 18, &mo_test_err));
    CU_ASSERT_TRUE(present);
    MO_ASSERT_RC(MO_EINVAL, mo_obj_filter_test(&present, MO_OBJ_BF_PREFIX, b.ptr, b.len, c.data, 17,
                                               &mo_test_err));
    mo_buf_dispose(&b);
    mo_free(c.data);

    /* hybrid needs a rowid column */
    mo_obj_vec v = {.cls = MO_OBJ_VEC_FLAT, .type = {.oid = MO_T_INT64, .size = 8}};
    MO_ASSERT_RC(MO_EINVAL, mo_obj_filter_build(&b, MO_OBJ_BF_HYBRID, &v, &mo_test_err));
    CU_ASSERT_EQUAL(b.len, 0);
}

static void test_bf__column_plain(void)
{
    /* int64 with a NULL row: the NULL slot's bytes are hashed too */
    int64_t vals[5] = {10, -3, 77, 0x1234567, 5};
    uint8_t data[40];
    for (int i = 0; i < 5; i++)
        mo_store_le64(data + 8 * i, (uint64_t)vals[i]);
    uint8_t nulls[8] = {0x04}; /* row 2 */
    mo_obj_vec v = {.cls = MO_OBJ_VEC_FLAT,
                    .type = {.oid = MO_T_INT64, .size = 8},
                    .length = 5,
                    .data = data,
                    .data_len = 40,
                    .null_words = nulls,
                    .null_bits = 5,
                    .null_words_bytes = 8,
                    .null_count = 1};
    mo_buf b = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_filter_build(&b, MO_OBJ_BF_PLAIN, &v, &mo_test_err));
    bool present;
    for (int i = 0; i < 5; i++) {
        MO_ASSERT_OK(mo_obj_filter_test(&present, MO_OBJ_BF_PLAIN, b.ptr, b.len, data + 8 * i, 8,
                                        &mo_test_err));
        CU_ASSERT_TRUE(present);
    }
    mo_obj_bfuse f;
    MO_ASSERT_OK(mo_obj_bfuse_parse(&f, b.ptr, b.len, &mo_test_err));
    CU_ASSERT_TRUE(mo_obj_bfuse_contains(&f, mo_xxh64(data + 16, 8)));
    mo_buf_dispose(&b);

    /* varchar: payloads; a NULL row hashes the empty string */
    mo_obj_type ty = {.oid = MO_T_VARCHAR, .size = MO_OBJ_VARLENA_SIZE};
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &ty);
    static const char *const words[] = {"alpha", "a much longer payload kept out of line", "z"};
    for (int i = 0; i < 3; i++)
        MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, words[i], strlen(words[i])));
    MO_ASSERT_OK(mo_obj_colbuf_append_null(&c));
    mo_obj_vec cv;
    mo_obj_colbuf_view(&cv, &c);
    MO_ASSERT_OK(mo_obj_filter_build(&b, MO_OBJ_BF_PLAIN, &cv, &mo_test_err));
    for (int i = 0; i < 3; i++) {
        MO_ASSERT_OK(mo_obj_filter_test(&present, MO_OBJ_BF_PLAIN, b.ptr, b.len,
                                        (const uint8_t *)words[i], strlen(words[i]), &mo_test_err));
        CU_ASSERT_TRUE(present);
    }
    MO_ASSERT_OK(
        mo_obj_filter_test(&present, MO_OBJ_BF_PLAIN, b.ptr, b.len, NULL, 0, &mo_test_err));
    CU_ASSERT_TRUE(present);
    mo_buf_dispose(&b);
    mo_obj_colbuf_dispose(&c);
}

/* Every truncation of a serialized filter is MO_ECORRUPT; random flips never crash. */
static void test_bf__truncation(void)
{
    rowid_col c;
    rowid_col_init(&c, 9, 2, 50);
    mo_buf bufs[3] = {MO_BUF_INIT, MO_BUF_INIT, MO_BUF_INIT};
    for (uint8_t t = 0; t < 3; t++)
        MO_ASSERT_OK(mo_obj_filter_build(&bufs[t], t, &c.v, &mo_test_err));
    uint64_t s = 99;
    for (uint8_t t = 0; t < 3; t++) {
        const mo_buf *b = &bufs[t];
        bool present;
        MO_ASSERT_OK(mo_obj_filter_test(&present, t, b->ptr, b->len, c.data, 24, &mo_test_err));
        CU_ASSERT_TRUE(present);
        for (size_t n = 0; n < b->len; n++) {
            /* a fresh heap copy of exactly n bytes, so ASan sees any over-read */
            uint8_t *p = mo_malloc(n ? n : 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(p);
            memcpy(p, b->ptr, n);
            MO_ASSERT_RC(MO_ECORRUPT,
                         mo_obj_filter_test(&present, t, p, n, c.data, 24, &mo_test_err));
            mo_free(p);
        }
        uint8_t *p = mo_malloc(b->len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        for (int it = 0; it < 3000; it++) {
            memcpy(p, b->ptr, b->len);
            const int flips = 1 + (int)(mo_test_rand(&s) % 4);
            for (int k = 0; k < flips; k++) {
                /* bias towards the headers, where the sizes live */
                const size_t lim = mo_test_rand(&s) & 1 ? (b->len < 64 ? b->len : 64) : b->len;
                p[mo_test_rand(&s) % lim] ^= (uint8_t)(1u << (mo_test_rand(&s) % 8));
            }
            const int rc = mo_obj_filter_test(&present, t, p, b->len, c.data, 24, &mo_test_err);
            CU_ASSERT_TRUE(rc == MO_OK || rc == MO_ECORRUPT);
        }
        mo_free(p);
        mo_buf_dispose(&bufs[t]);
    }
    mo_free(c.data);
}

/* Allocation failures: MO_ENOMEM, output untouched, nothing leaked (ASan checks). */
static void test_bf__oom(void)
{
    rowid_col c;
    rowid_col_init(&c, 3, 2, 100);
#ifdef MO_FAULT_INJECTION
    for (unsigned long nth = 1;; nth++) {
        mo_buf b = MO_BUF_INIT;
        mo_alloc_fail_at(nth, false);
        const int rc = mo_obj_filter_build(&b, MO_OBJ_BF_HYBRID, &c.v, &mo_test_err);
        mo_alloc_fail_at(0, false);
        if (rc == MO_OK) {
            mo_buf_dispose(&b);
            break;
        }
        CU_ASSERT_EQUAL(rc, MO_ENOMEM);
        CU_ASSERT_EQUAL(b.len, 0);
        mo_buf_dispose(&b);
        if (nth > 200) {
            CU_FAIL("never succeeded");
            break;
        }
    }
#endif
    mo_free(c.data);
}

static void test_bf__perf(void)
{
    const size_t n = 1000000;
    uint64_t *keys = rand_keys(n, 2024);
    mo_buf b = MO_BUF_INIT;
    const double t0 = now_s();
    MO_ASSERT_OK(mo_obj_bfuse_build(&b, keys, n, &mo_test_err));
    const double t1 = now_s();
    mo_obj_bfuse f;
    MO_ASSERT_OK(mo_obj_bfuse_parse(&f, b.ptr, b.len, &mo_test_err));
    size_t hits = 0;
    const size_t probes = 4000000;
    for (size_t i = 0; i < probes; i++)
        hits += mo_obj_bfuse_contains(&f, keys[i % n] + (i >= n));
    const double t2 = now_s();
    CU_ASSERT_TRUE(hits >= n);
    printf("\n    bfuse: build %.1f Mkeys/s (%zu keys, %.2f bits/key), contains %.1f M/s\n",
           (double)n / (t1 - t0) / 1e6, n, 8.0 * (double)b.len / (double)n,
           (double)probes / (t2 - t1) / 1e6);
    mo_buf_dispose(&b);
    mo_free(keys);
}

/* The inline short-key XXH64 of mo_obj_bf_key equals libxxhash at every length. */
static void test_bf__key_xxh64(void)
{
    CU_ASSERT_EQUAL(mo_obj_bf_key((const uint8_t *)"", 0), 0xEF46DB3751D8E999ull);
    uint64_t s = 7;
    uint8_t buf[80];
    for (int it = 0; it < 200; it++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)mo_test_rand(&s);
        for (size_t n = 0; n <= 72; n++) {
            const size_t off = (size_t)it % 8; /* unaligned starts too */
            CU_ASSERT_EQUAL(mo_obj_bf_key(buf + off, n), mo_xxh64(buf + off, n));
        }
    }
}

/* Parse once + contains gives what mo_obj_filter_test gives, for every type, value size and
 * damaged filter. */
static void test_bf__parsed_filter(void)
{
    rowid_col c;
    rowid_col_init(&c, 5, 3, 40);
    uint64_t s = 1234;
    for (uint8_t t = 0; t < 4; t++) {
        mo_buf b = MO_BUF_INIT;
        if (t < 3)
            MO_ASSERT_OK(mo_obj_filter_build(&b, t, &c.v, &mo_test_err));
        else
            MO_ASSERT_OK(mo_buf_put(&b, "0123456789abcdefghijklmnopqrstuvwxyz", 36));
        uint8_t *p = mo_malloc(b.len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        for (int it = 0; it < 400; it++) {
            memcpy(p, b.ptr, b.len);
            size_t n = b.len;
            if (it % 4 == 1)
                p[mo_test_rand(&s) % (n < 64 ? n : 64)] ^= (uint8_t)(1u << (mo_test_rand(&s) % 8));
            else if (it % 4 == 2)
                n = mo_test_rand(&s) % b.len;
            mo_obj_filter f;
            mo_err e1, e2;
            const int prc = mo_obj_filter_parse(&f, t, p, n, &e1);
            for (int k = 0; k < 8; k++) {
                uint8_t key[24];
                const size_t kn = k == 0 ? 18 : k == 1 ? 20 : k == 2 ? 8 : 24;
                if (k < 5)
                    memcpy(key, c.data + 24 * (mo_test_rand(&s) % c.v.length), 24);
                else
                    for (int i = 0; i < 24; i++)
                        key[i] = (uint8_t)mo_test_rand(&s);
                bool want = true, got = true;
                const int trc = mo_obj_filter_test(&want, t, p, n, key, kn, &e2);
                int crc = prc;
                if (prc == MO_OK)
                    crc = mo_obj_filter_contains(&f, key, kn, &got, &e1);
                else
                    got = false;
                CU_ASSERT_EQUAL(crc, trc);
                CU_ASSERT_EQUAL(got, want);
                if (crc < 0 && trc < 0)
                    CU_ASSERT_STRING_EQUAL(e1.msg, e2.msg);
            }
        }
        mo_free(p);
        mo_buf_dispose(&b);
    }
    mo_free(c.data);
}

/*
 * The batched probe: for keys of 4, 8 and other widths, first_miss is the first index whose
 * mo_obj_bfuse_contains answer is false. Keys of the filter pass; a key that is not in it
 * (most random keys are not) is found exactly where it sits, at the start, middle and end.
 */
static void test_bf__first_miss(void)
{
    static const size_t widths[] = {4, 8, 12, 24, 40};
    uint64_t s = 99;
    for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
        const size_t w = widths[wi], n = 3000;
        uint8_t *vals = mo_malloc(w * n);
        uint64_t *keys = mo_malloc(sizeof(uint64_t) * n);
        CU_ASSERT_FATAL(vals && keys);
        for (size_t i = 0; i < w * n; i++)
            vals[i] = (uint8_t)mo_test_rand(&s);
        for (size_t i = 0; i < n; i++)
            keys[i] = mo_obj_bf_key(vals + w * i, w);
        mo_buf b = MO_BUF_INIT;
        MO_ASSERT_OK(mo_obj_bfuse_build(&b, keys, n, &mo_test_err));
        mo_obj_bfuse f;
        MO_ASSERT_OK(mo_obj_bfuse_parse(&f, b.ptr, b.len, &mo_test_err));
        CU_ASSERT_EQUAL(mo_obj_bfuse_first_miss(&f, vals, w, n), n);
        CU_ASSERT_EQUAL(mo_obj_bfuse_first_miss(&f, vals, w, 0), 0);
        /* values that are not keys, at several spots; the answer agrees with the scalar test */
        uint8_t *probe = mo_malloc(w * n);
        CU_ASSERT_FATAL(probe != NULL);
        static const size_t spots[] = {0, 1, 7, 1499, 2998, 2999};
        for (size_t k = 0; k < sizeof(spots) / sizeof(spots[0]); k++) {
            memcpy(probe, vals, w * n);
            size_t want = n;
            for (int tries = 0; tries < 64 && want == n; tries++) {
                for (size_t i = 0; i < w; i++)
                    probe[w * spots[k] + i] = (uint8_t)mo_test_rand(&s);
                for (size_t i = 0; i < n && want == n; i++)
                    if (!mo_obj_bfuse_contains(&f, mo_obj_bf_key(probe + w * i, w)))
                        want = i;
            }
            CU_ASSERT_EQUAL(want, spots[k]); /* a non-key found within 64 tries (fpp ~0.4%) */
            CU_ASSERT_EQUAL(mo_obj_bfuse_first_miss(&f, probe, w, n), want);
        }
        /* two non-keys in one 64-key batch (1499 and 1530): the first is the answer */
        memcpy(probe, vals, w * n);
        for (int pass = 0; pass < 2; pass++) {
            const size_t at = pass ? 1499 : 1530;
            for (int tries = 0; tries < 64; tries++) {
                for (size_t i = 0; i < w; i++)
                    probe[w * at + i] = (uint8_t)mo_test_rand(&s);
                if (!mo_obj_bfuse_contains(&f, mo_obj_bf_key(probe + w * at, w)))
                    break;
            }
        }
        CU_ASSERT_EQUAL(mo_obj_bfuse_first_miss(&f, probe, w, n), 1499);
        mo_free(probe);
        mo_buf_dispose(&b);
        mo_free(keys);
        mo_free(vals);
    }
}

static CU_TestInfo bf_tests[] = {
    {"first_miss", test_bf__first_miss},
    {"sizes", test_bf__sizes},
    {"tiny", test_bf__tiny},
    {"duplicates", test_bf__duplicates},
    {"parse_rejects", test_bf__parse_rejects},
    {"formula", test_bf__formula},
    {"hybrid", test_bf__hybrid},
    {"column_plain", test_bf__column_plain},
    {"truncation", test_bf__truncation},
    {"oom", test_bf__oom},
    {"perf", test_bf__perf},
    {"key_xxh64", test_bf__key_xxh64},
    {"parsed_filter", test_bf__parsed_filter},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_bf_suites[] = {
    {"bf", NULL, NULL, NULL, NULL, bf_tests},
    CU_SUITE_INFO_NULL,
};
