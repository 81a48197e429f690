/* Zone maps (spec §5.1): MO's test vectors (zm_test.go) plus the writer quirks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo/obj_index.h"
#include "mo_test.h"

/* ---- helpers ---- */

typedef struct tvec {
    mo_obj_vec v;
    uint8_t data[8 * 64];
    uint8_t nulls[16];
} tvec;

static void tvec_init(tvec *t, uint8_t oid, int size, const void *data, uint32_t rows)
{
    memset(t, 0, sizeof(*t));
    t->v.cls = MO_OBJ_VEC_FLAT;
    t->v.type.oid = oid;
    t->v.type.size = size;
    t->v.length = rows;
    memcpy(t->data, data, (size_t)size * rows);
    t->v.data = t->data;
    t->v.data_len = (uint32_t)size * rows;
}

static void tvec_null(tvec *t, uint32_t row)
{
    t->nulls[row / 8] |= (uint8_t)(1u << (row % 8));
    t->v.null_words = t->nulls;
    t->v.null_words_bytes = sizeof(t->nulls);
    t->v.null_bits = t->v.length;
    t->v.null_count++;
}

static int64_t zm_i64(const uint8_t *p)
{
    return (int64_t)mo_load_le64(p);
}

static double zm_f64(const uint8_t *p)
{
    const uint64_t u = mo_load_le64(p);
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static void put_i64(uint8_t *p, int64_t v)
{
    mo_store_le64(p, (uint64_t)v);
}

/* ZM.ContainsKey of zm.go: +inf max admits everything above min. */
static bool zm_contains(const mo_obj_zm *zm, const uint8_t *k, size_t n)
{
    if (!mo_obj_zm_initialized(zm))
        return false;
    const uint8_t oid = zm->b[63];
    const uint8_t *mn, *mx;
    size_t mnn, mxn;
    bool inf;
    mo_obj_zm_min(zm, &mn, &mnn);
    mo_obj_zm_max(zm, &mx, &mxn, &inf);
    if (inf)
        return true;
    return mo_obj_value_cmp(oid, k, n, mn, mnn) >= 0 && mo_obj_value_cmp(oid, k, n, mx, mxn) <= 0;
}

/* ---- cases ---- */

static void test_zm__null(void)
{
    mo_obj_zm zm;
    mo_obj_zm_init(&zm, MO_T_INT64, 0);
    CU_ASSERT_FALSE(mo_obj_zm_initialized(&zm));
    const uint8_t *p;
    size_t n;
    mo_obj_zm_min(&zm, &p, &n);
    CU_ASSERT_EQUAL(n, 8);
    mo_obj_zm_max(&zm, &p, &n, NULL);
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_EQUAL(zm.b[30], 8);
    CU_ASSERT_EQUAL(zm.b[61], 8);
    CU_ASSERT_EQUAL(zm.b[63], MO_T_INT64);
    uint8_t k[8];
    put_i64(k, 0);
    CU_ASSERT_FALSE(zm_contains(&zm, k, 8));

    /* varlena: no length bytes; scale bits kept apart from the initialized bit */
    mo_obj_zm_init(&zm, MO_T_VARCHAR, 0);
    CU_ASSERT_EQUAL(zm.b[30], 0);
    CU_ASSERT_EQUAL(zm.b[61], 0);
    mo_obj_zm_init(&zm, MO_T_DECIMAL64, 0xff);
    CU_ASSERT_EQUAL(zm.b[62], 0x3f);
    CU_ASSERT_FALSE(mo_obj_zm_initialized(&zm));
}

static void test_zm__int_update(void)
{
    mo_obj_zm zm;
    uint8_t v[8], lo[8], hi[8];
    put_i64(v, 100);
    put_i64(lo, -100);
    put_i64(hi, 200);
    mo_obj_zm_init(&zm, MO_T_INT64, 0);
    mo_obj_zm_update(&zm, v, 8);
    CU_ASSERT_TRUE(mo_obj_zm_initialized(&zm));
    CU_ASSERT_EQUAL(zm_i64(zm.b), 100);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 31), 100);
    CU_ASSERT_FALSE(zm_contains(&zm, lo, 8));
    mo_obj_zm_update(&zm, lo, 8);
    CU_ASSERT_TRUE(zm_contains(&zm, lo, 8));
    CU_ASSERT_FALSE(zm_contains(&zm, hi, 8));
    mo_obj_zm_update(&zm, hi, 8);
    CU_ASSERT_TRUE(zm_contains(&zm, hi, 8));
    CU_ASSERT_EQUAL(zm_i64(zm.b), -100);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 31), 200);

    /* bit: unsigned 64 */
    mo_obj_zm_init(&zm, MO_T_BIT, 0);
    mo_store_le64(v, 500);
    mo_obj_zm_update(&zm, v, 8);
    mo_store_le64(v, 300);
    mo_obj_zm_update(&zm, v, 8);
    mo_store_le64(v, UINT64_MAX);
    mo_obj_zm_update(&zm, v, 8);
    CU_ASSERT_EQUAL(mo_load_le64(zm.b), 300);
    CU_ASSERT_EQUAL(mo_load_le64(zm.b + 31), UINT64_MAX);
}

/* TestZM: 31-byte strings */
static void test_zm__strings(void)
{
    uint8_t minv[31], maxv[31], v2[29], v3[30], v4[100];
    memset(minv, 0, sizeof(minv));
    memset(maxv, 0xff, sizeof(maxv));
    maxv[3] = 0x00;
    memset(v2, 0, sizeof(v2));
    memset(v3, 0, sizeof(v3));
    memset(v4, 0xff, sizeof(v4));

    mo_obj_zm zm;
    mo_obj_zm_init(&zm, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&zm, minv, sizeof(minv));
    CU_ASSERT_EQUAL(zm.b[30], 30);
    CU_ASSERT_EQUAL(zm.b[61], 30);
    /* max is the 30-byte prefix incremented: 29 zeros then 0x01 */
    CU_ASSERT_EQUAL(zm.b[31 + 29], 0x01);
    CU_ASSERT_FALSE(zm_contains(&zm, (const uint8_t *)"", 0));
    CU_ASSERT_FALSE(zm_contains(&zm, v2, sizeof(v2)));
    CU_ASSERT_TRUE(zm_contains(&zm, v3, sizeof(v3)));

    mo_obj_zm_update(&zm, maxv, sizeof(maxv));
    CU_ASSERT_EQUAL(zm.b[61] & 0x80, 0);
    CU_ASSERT_EQUAL(zm.b[61], 30);
    CU_ASSERT_TRUE(zm_contains(&zm, maxv, sizeof(maxv)));
    /* ff ff ff 00 ff.. +1 carries into byte 3 */
    static const uint8_t expect[30] = {0xff, 0xff, 0xff, 0x01};
    CU_ASSERT_EQUAL(memcmp(zm.b + 31, expect, 30), 0);

    maxv[3] = 0xff;
    mo_obj_zm_update(&zm, maxv, sizeof(maxv));
    bool inf;
    const uint8_t *p;
    size_t n;
    mo_obj_zm_max(&zm, &p, &n, &inf);
    CU_ASSERT_TRUE(inf);
    CU_ASSERT_EQUAL(n, 30);
    CU_ASSERT_EQUAL(zm.b[61], 0x9E);
    for (int i = 0; i < 30; i++)
        CU_ASSERT_EQUAL(zm.b[31 + i], 0xff);
    CU_ASSERT_TRUE(zm_contains(&zm, v4, sizeof(v4)));

    /* a round trip through bytes keeps everything */
    mo_obj_zm copy;
    memcpy(copy.b, zm.b, 64);
    CU_ASSERT_TRUE(mo_obj_zm_equal(&zm, &copy));
}

static void test_zm__truncated_overlap(void)
{
    /* 0xff/0x20 prefixes: the increment stays an upper bound and the stored bytes compare */
    uint8_t v[40];
    mo_obj_zm zm;

    memset(v, 0xff, sizeof(v));
    v[29] = 0x20;
    mo_obj_zm_init(&zm, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&zm, v, sizeof(v));
    CU_ASSERT_EQUAL(zm.b[61], 30);
    CU_ASSERT_EQUAL(zm.b[31 + 29], 0x21);
    CU_ASSERT_EQUAL(zm.b[31 + 28], 0xff);
    CU_ASSERT_EQUAL(zm.b[29], 0x20); /* min is a plain prefix */
    CU_ASSERT_TRUE(zm_contains(&zm, v, sizeof(v)));

    /* ff*28 00 00 + tail -> ff*28 00 01 */
    memset(v, 0xff, sizeof(v));
    v[28] = v[29] = 0;
    mo_obj_zm_init(&zm, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&zm, v, sizeof(v));
    CU_ASSERT_EQUAL(zm.b[31 + 28], 0x00);
    CU_ASSERT_EQUAL(zm.b[31 + 29], 0x01);
    const uint8_t *mx;
    size_t mxn;
    mo_obj_zm_max(&zm, &mx, &mxn, NULL);
    uint8_t ff28[28];
    memset(ff28, 0xff, sizeof(ff28));
    /* the stored max (ff*28 00 01) is above ff*28 itself */
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_VARCHAR, mx, mxn, ff28, sizeof(ff28)) > 0);

    /* a 30-byte all-ff value is stored as is, without the flag */
    memset(v, 0xff, 30);
    mo_obj_zm_init(&zm, MO_T_BLOB, 0);
    mo_obj_zm_update(&zm, v, 30);
    CU_ASSERT_EQUAL(zm.b[61], 30);

    /* overlap: block 1 max (truncated, incremented) reaches into block 2's min */
    uint8_t a[35], b[35];
    memset(a, 'k', sizeof(a));
    memset(b, 'k', sizeof(b));
    b[34] = 'l'; /* b > a, but they share the first 30 bytes */
    mo_obj_zm z1, z2;
    mo_obj_zm_init(&z1, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&z1, a, sizeof(a));
    mo_obj_zm_init(&z2, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&z2, b, sizeof(b));
    const uint8_t *mx1, *mn2;
    size_t mx1n, mn2n;
    mo_obj_zm_max(&z1, &mx1, &mx1n, NULL);
    mo_obj_zm_min(&z2, &mn2, &mn2n);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_VARCHAR, mx1, mx1n, mn2, mn2n) > 0);
}

static void test_zm__increment_carry(void)
{
    uint8_t v[33];
    memset(v, 0xff, sizeof(v));
    v[0] = 'a';
    v[1] = 'b';
    mo_obj_zm zm;
    mo_obj_zm_init(&zm, MO_T_TEXT, 0);
    mo_obj_zm_update(&zm, v, sizeof(v));
    CU_ASSERT_EQUAL(zm.b[31], 'a');
    CU_ASSERT_EQUAL(zm.b[32], 'c');
    for (int i = 2; i < 30; i++)
        CU_ASSERT_EQUAL(zm.b[31 + i], 0x00);
    CU_ASSERT_EQUAL(zm.b[61], 30);
    CU_ASSERT_EQUAL(zm.b[30], 30);
    CU_ASSERT_EQUAL(zm.b[0], 'a');
    CU_ASSERT_EQUAL(zm.b[2], 0xff);
}

static void test_zm__stale_bytes(void)
{
    mo_obj_zm a, b;
    mo_obj_zm_init(&a, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&a, (const uint8_t *)"abcdef", 6);
    mo_obj_zm_update(&a, (const uint8_t *)"aa", 2);
    CU_ASSERT_EQUAL(a.b[30], 2);
    CU_ASSERT_EQUAL(a.b[2], 'c'); /* stale, not cleared */
    mo_obj_zm_init(&b, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&b, (const uint8_t *)"aa", 2);
    mo_obj_zm_update(&b, (const uint8_t *)"abcdef", 6);
    CU_ASSERT_NOT_EQUAL(memcmp(a.b, b.b, 64), 0);
    CU_ASSERT_TRUE(mo_obj_zm_equal(&a, &b));
    /* a value between min and max changes nothing */
    mo_obj_zm_update(&b, (const uint8_t *)"ab", 2);
    CU_ASSERT_TRUE(mo_obj_zm_equal(&a, &b));
    mo_obj_zm_update(&b, (const uint8_t *)"b", 1);
    CU_ASSERT_FALSE(mo_obj_zm_equal(&a, &b));
    CU_ASSERT_EQUAL(b.b[61], 1);
    CU_ASSERT_EQUAL(b.b[32], 'b'); /* stale max byte */
}

static void test_zm__decimal256_skipped(void)
{
    mo_obj_zm zm;
    mo_obj_zm_init(&zm, MO_T_DECIMAL256, 4);
    CU_ASSERT_EQUAL(zm.b[30], 32);
    CU_ASSERT_EQUAL(zm.b[61], 32);
    CU_ASSERT_EQUAL(zm.b[62], 4);
    uint8_t v[32] = {0x34, 0x30};
    mo_obj_zm_update(&zm, v, sizeof(v));
    CU_ASSERT_FALSE(mo_obj_zm_initialized(&zm));
    const uint8_t *p;
    size_t n;
    mo_obj_zm_min(&zm, &p, &n);
    CU_ASSERT_EQUAL(n, 0); /* 32 & 0x1f */

    tvec t;
    uint8_t rows[2 * 32] = {1, [32] = 2};
    tvec_init(&t, MO_T_DECIMAL256, 32, rows, 2);
    mo_obj_zm_from_vec(&zm, &t.v, 4, false);
    CU_ASSERT_FALSE(mo_obj_zm_initialized(&zm));
    CU_ASSERT_FALSE(mo_obj_zm_has_sum(MO_T_DECIMAL256));
    CU_ASSERT_FALSE(mo_obj_zm_has_sum(MO_T_DECIMAL128));

    /* arrays are never initialized either */
    mo_obj_zm_init(&zm, MO_T_VECF32, 0);
    mo_obj_zm_update(&zm, v, 8);
    CU_ASSERT_FALSE(mo_obj_zm_initialized(&zm));
}

static void test_zm__nan(void)
{
    const double nan = NAN;
    double d[4] = {nan, 1.5, nan, -2.0};
    tvec t;
    mo_obj_zm zm;
    tvec_init(&t, MO_T_FLOAT64, 8, d, 4);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_TRUE(mo_obj_zm_initialized(&zm));
    CU_ASSERT_EQUAL(zm_f64(zm.b), -2.0);
    CU_ASSERT_EQUAL(zm_f64(zm.b + 31), 1.5);
    CU_ASSERT_TRUE(isnan(zm_f64(zm.b + 8)));

    double all[2] = {nan, nan};
    tvec_init(&t, MO_T_FLOAT64, 8, all, 2);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_FALSE(mo_obj_zm_initialized(&zm));
    CU_ASSERT_TRUE(isnan(zm_f64(zm.b + 8))); /* the sum is written anyway */

    float f[3] = {2.5f, NAN, -1.25f};
    tvec_init(&t, MO_T_FLOAT32, 4, f, 3);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    float mn, mx;
    memcpy(&mn, zm.b, 4);
    memcpy(&mx, zm.b + 31, 4);
    CU_ASSERT_EQUAL(mn, -1.25f);
    CU_ASSERT_EQUAL(mx, 2.5f);
    CU_ASSERT_EQUAL(zm.b[30], 4);
    CU_ASSERT_TRUE(isnan(zm_f64(zm.b + 8)));

    /* without NaN: f64 sum of float32 values, and NULL rows skipped */
    float g[3] = {0.5f, 100.0f, 0.25f};
    tvec_init(&t, MO_T_FLOAT32, 4, g, 3);
    tvec_null(&t, 1);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(zm_f64(zm.b + 8), 0.75);

    /* direct UpdateZM orders NaN below everything (cmp.Compare) */
    mo_obj_zm_init(&zm, MO_T_FLOAT64, 0);
    uint8_t b[8];
    memcpy(b, &d[1], 8);
    mo_obj_zm_update(&zm, b, 8);
    memcpy(b, &d[0], 8);
    mo_obj_zm_update(&zm, b, 8);
    CU_ASSERT_TRUE(isnan(zm_f64(zm.b)));
}

static void test_zm__int_sum(void)
{
    tvec t;
    mo_obj_zm zm;

    int8_t i8[4] = {-100, 50, 99, 7};
    tvec_init(&t, MO_T_INT8, 1, i8, 4);
    tvec_null(&t, 2);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 8), -43);
    CU_ASSERT_EQUAL((int8_t)zm.b[0], -100);
    CU_ASSERT_EQUAL((int8_t)zm.b[31], 50);

    int16_t i16[3] = {-30000, -30000, -30000};
    tvec_init(&t, MO_T_INT16, 2, i16, 3);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 8), -90000);

    int64_t i64[3] = {INT64_MAX, 1, -5};
    tvec_init(&t, MO_T_INT64, 8, i64, 3);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 8), 0); /* overflow -> 0 */
    CU_ASSERT_EQUAL(zm_i64(zm.b), -5);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 31), INT64_MAX);

    int64_t neg[2] = {INT64_MIN, -1};
    tvec_init(&t, MO_T_INT64, 8, neg, 2);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 8), 0);

    int64_t ok[3] = {INT64_MAX, -1, 1};
    tvec_init(&t, MO_T_INT64, 8, ok, 3);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 8), INT64_MAX);

    uint8_t u8[2] = {200, 100};
    tvec_init(&t, MO_T_UINT8, 1, u8, 2);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(mo_load_le64(zm.b + 8), 300);
    CU_ASSERT_EQUAL(zm.b[0], 100);
    CU_ASSERT_EQUAL(zm.b[31], 200);

    uint64_t u64[2] = {UINT64_MAX, 1};
    tvec_init(&t, MO_T_UINT64, 8, u64, 2);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(mo_load_le64(zm.b + 8), 0);

    uint64_t bits[2] = {1ull << 63, (1ull << 63) - 1};
    tvec_init(&t, MO_T_BIT, 8, bits, 2);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(mo_load_le64(zm.b + 8), UINT64_MAX);

    /* all NULL: uninitialized, sum bytes untouched (zero) */
    int32_t i32[2] = {5, 6};
    tvec_init(&t, MO_T_INT32, 4, i32, 2);
    tvec_null(&t, 0);
    tvec_null(&t, 1);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_FALSE(mo_obj_zm_initialized(&zm));
    CU_ASSERT_EQUAL(mo_load_le64(zm.b + 8), 0);
    CU_ASSERT_EQUAL(zm.b[30], 4);

    /* empty */
    tvec_init(&t, MO_T_INT32, 4, i32, 0);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_FALSE(mo_obj_zm_initialized(&zm));
}

static void test_zm__decimal64_sum(void)
{
    tvec t;
    mo_obj_zm zm;
    int64_t a[2] = {INT64_MAX - 1, 5};
    tvec_init(&t, MO_T_DECIMAL64, 8, a, 2);
    mo_obj_zm_from_vec(&zm, &t.v, 2, false);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 8), 0);
    CU_ASSERT_EQUAL(zm.b[62], 0x80 | 2);

    int64_t b[3] = {-3, 10, -20};
    tvec_init(&t, MO_T_DECIMAL64, 8, b, 3);
    mo_obj_zm_from_vec(&zm, &t.v, 2, false);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 8), -13);
    CU_ASSERT_EQUAL(zm_i64(zm.b), -20); /* signed min */
    CU_ASSERT_EQUAL(zm_i64(zm.b + 31), 10);

    int64_t c[2] = {INT64_MIN, -1};
    tvec_init(&t, MO_T_DECIMAL64, 8, c, 2);
    mo_obj_zm_from_vec(&zm, &t.v, 2, false);
    CU_ASSERT_EQUAL(zm_i64(zm.b + 8), 0);
}

static void test_zm__bool(void)
{
    tvec t;
    mo_obj_zm zm;
    uint8_t b[4] = {1, 0, 1, 0};
    tvec_init(&t, MO_T_BOOL, 1, b, 3);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_TRUE(mo_obj_zm_initialized(&zm));
    CU_ASSERT_EQUAL(zm.b[0], 0);
    CU_ASSERT_EQUAL(zm.b[31], 0); /* MO's quirk: max = AND */
    CU_ASSERT_EQUAL(zm.b[30], 1);
    CU_ASSERT_EQUAL(zm.b[61], 1);
    mo_obj_zm_from_vec(&zm, &t.v, 0, true);
    CU_ASSERT_EQUAL(zm.b[0], 0);
    CU_ASSERT_EQUAL(zm.b[31], 1);

    tvec_null(&t, 1);
    mo_obj_zm_from_vec(&zm, &t.v, 0, false);
    CU_ASSERT_EQUAL(zm.b[0], 1);
    CU_ASSERT_EQUAL(zm.b[31], 1);
    CU_ASSERT_FALSE(mo_obj_zm_has_sum(MO_T_BOOL));
}

static void test_zm__merge(void)
{
    tvec t;
    mo_obj_zm blk[4], obj;
    int64_t b1[2] = {1, 2}, b3[2] = {10, 20}, b4[1] = {-7};
    tvec_init(&t, MO_T_INT64, 8, b1, 2);
    mo_obj_zm_from_vec(&blk[0], &t.v, 0, false);
    tvec_init(&t, MO_T_INT64, 8, b1, 2);
    tvec_null(&t, 0);
    tvec_null(&t, 1);
    mo_obj_zm_from_vec(&blk[1], &t.v, 0, false);
    tvec_init(&t, MO_T_INT64, 8, b3, 2);
    mo_obj_zm_from_vec(&blk[2], &t.v, 0, false);
    tvec_init(&t, MO_T_INT64, 8, b4, 1);
    mo_obj_zm_from_vec(&blk[3], &t.v, 0, false);
    /* pretend block 3's ZM were uninitialized but carries a sum (all-NaN style) */
    blk[3].b[62] &= 0x7f;

    mo_obj_zm_init(&obj, MO_T_INT64, 0);
    for (int i = 0; i < 4; i++)
        mo_obj_zm_merge(&obj, &blk[i]);
    CU_ASSERT_TRUE(mo_obj_zm_initialized(&obj));
    CU_ASSERT_EQUAL(zm_i64(obj.b), 1);
    CU_ASSERT_EQUAL(zm_i64(obj.b + 31), 20);
    CU_ASSERT_EQUAL(zm_i64(obj.b + 8), 30); /* last initialized block's sum, not 33 */

    /* no initialized block: the object ZM stays as NewZM left it */
    mo_obj_zm_init(&obj, MO_T_INT64, 0);
    mo_obj_zm_merge(&obj, &blk[1]);
    CU_ASSERT_FALSE(mo_obj_zm_initialized(&obj));
    CU_ASSERT_EQUAL(mo_load_le64(obj.b + 8), 0);

    /* varchar: the +inf flag propagates and survives later blocks */
    uint8_t big[40];
    memset(big, 0xff, sizeof(big));
    mo_obj_zm s1, s2, so;
    mo_obj_zm_init(&s1, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&s1, (const uint8_t *)"m", 1);
    mo_obj_zm_update(&s1, big, sizeof(big));
    CU_ASSERT_EQUAL(s1.b[61], 0x9E);
    mo_obj_zm_init(&s2, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&s2, (const uint8_t *)"a", 1);
    mo_obj_zm_update(&s2, (const uint8_t *)"zz", 2);
    mo_obj_zm_init(&so, MO_T_VARCHAR, 0);
    mo_obj_zm_merge(&so, &s1);
    CU_ASSERT_EQUAL(so.b[61], 0x9E);
    mo_obj_zm_merge(&so, &s2);
    CU_ASSERT_EQUAL(so.b[61], 0x9E);
    CU_ASSERT_EQUAL(so.b[30], 1);
    CU_ASSERT_EQUAL(so.b[0], 'a');
    CU_ASSERT_FALSE(mo_obj_zm_has_sum(MO_T_VARCHAR));
}

static void test_zm__from_vec_varlena(void)
{
    mo_obj_type ty = {.oid = MO_T_VARCHAR, .size = MO_OBJ_VARLENA_SIZE};
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &ty);
    uint8_t longv[45];
    memset(longv, 'z', sizeof(longv));
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "mango", 5));
    MO_ASSERT_OK(mo_obj_colbuf_append_null(&c));
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "apple", 5));
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, longv, sizeof(longv)));
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "", 0));
    mo_obj_vec v;
    mo_obj_colbuf_view(&v, &c);
    mo_obj_zm zm;
    mo_obj_zm_from_vec(&zm, &v, 0, false);
    CU_ASSERT_TRUE(mo_obj_zm_initialized(&zm));
    CU_ASSERT_EQUAL(zm.b[30], 0); /* "" is the minimum */
    CU_ASSERT_EQUAL(zm.b[61], 30);
    CU_ASSERT_EQUAL(zm.b[31 + 29], 'z' + 1);
    CU_ASSERT_EQUAL(zm.b[31], 'z');
    CU_ASSERT_EQUAL(zm.b[63], MO_T_VARCHAR);
    mo_obj_colbuf_dispose(&c);
}

static void test_zm__value_cmp(void)
{
    const uint8_t m1 = 0xff, p1 = 0x01;
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_INT8, &m1, 1, &p1, 1) < 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_UINT8, &m1, 1, &p1, 1) > 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_BOOL, &p1, 1, &p1, 1) == 0);
    const uint8_t zero = 0;
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_BOOL, &zero, 1, &p1, 1) < 0);

    uint8_t a[32], b[32];
    /* 16-bit: signed vs unsigned families */
    mo_store_le16(a, 0x8000);
    mo_store_le16(b, 1);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_INT16, a, 2, b, 2) < 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_YEAR, a, 2, b, 2) < 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_UINT16, a, 2, b, 2) > 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_ENUM, a, 2, b, 2) > 0);
    /* 32-bit */
    mo_store_le32(a, 0x80000000u);
    mo_store_le32(b, 1);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_INT32, a, 4, b, 4) < 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_DATE, a, 4, b, 4) < 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_UINT32, a, 4, b, 4) > 0);
    /* 64-bit */
    mo_store_le64(a, 1ull << 63);
    mo_store_le64(b, 1);
    const uint8_t s64[] = {MO_T_INT64, MO_T_TIME, MO_T_DATETIME, MO_T_TIMESTAMP, MO_T_DECIMAL64};
    for (size_t i = 0; i < sizeof(s64); i++)
        CU_ASSERT_TRUE(mo_obj_value_cmp(s64[i], a, 8, b, 8) < 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_UINT64, a, 8, b, 8) > 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_BIT, a, 8, b, 8) > 0);
    CU_ASSERT_EQUAL(mo_obj_value_cmp(MO_T_INT64, a, 8, a, 8), 0);

    /* floats: NaN lowest and equal to NaN; -0 == +0 */
    float fa = -INFINITY, fb = NAN, fz = -0.0f, fp = 0.0f;
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_FLOAT32, (uint8_t *)&fb, 4, (uint8_t *)&fa, 4) < 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_FLOAT32, (uint8_t *)&fa, 4, (uint8_t *)&fb, 4) > 0);
    CU_ASSERT_EQUAL(mo_obj_value_cmp(MO_T_FLOAT32, (uint8_t *)&fb, 4, (uint8_t *)&fb, 4), 0);
    CU_ASSERT_EQUAL(mo_obj_value_cmp(MO_T_FLOAT32, (uint8_t *)&fz, 4, (uint8_t *)&fp, 4), 0);
    double da = -1.5, db = 2.25;
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_FLOAT64, (uint8_t *)&da, 8, (uint8_t *)&db, 8) < 0);

    /* decimal128 {lo, hi}: signed on hi, unsigned on lo */
    memset(a, 0, 16);
    memset(b, 0, 16);
    mo_store_le64(a, 5);
    mo_store_le64(a + 8, UINT64_MAX); /* negative */
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_DECIMAL128, a, 16, b, 16) < 0);
    mo_store_le64(a, UINT64_MAX);
    mo_store_le64(a + 8, 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_DECIMAL128, a, 16, b, 16) > 0);
    mo_store_le64(b, 1);
    mo_store_le64(b + 8, 1);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_DECIMAL128, a, 16, b, 16) < 0);
    /* decimal256: sign in the top word */
    memset(a, 0, 32);
    memset(b, 0, 32);
    a[31] = 0x80;
    b[0] = 1;
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_DECIMAL256, a, 32, b, 32) < 0);

    /* uuid: memcmp */
    memset(a, 0, 16);
    memset(b, 0, 16);
    a[0] = 0x01;
    b[15] = 0xff;
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_UUID, a, 16, b, 16) > 0);

    /* TS: physical (signed, bytes 4..12) first, then logical (bytes 0..4) */
    uint8_t t1[12], t2[12];
    mo_store_le32(t1, 100);
    put_i64(t1 + 4, 1);
    mo_store_le32(t2, 0);
    put_i64(t2 + 4, 2);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_TS, t1, 12, t2, 12) < 0);
    put_i64(t2 + 4, 1);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_TS, t1, 12, t2, 12) > 0);
    put_i64(t1 + 4, -1);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_TS, t1, 12, t2, 12) < 0);

    /* Rowid: segment memcmp, then LE numbers */
    uint8_t r1[24] = {0}, r2[24] = {0};
    mo_store_le16(r1 + 16, 256); /* bytes 00 01 */
    mo_store_le16(r2 + 16, 1);   /* bytes 01 00 */
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_ROWID, r1, 24, r2, 24) > 0);
    mo_store_le16(r2 + 16, 256);
    mo_store_le32(r1 + 20, 0x100);
    mo_store_le32(r2 + 20, 0x2);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_ROWID, r1, 24, r2, 24) > 0);
    /* against an 18-byte object prefix only the object part counts */
    CU_ASSERT_EQUAL(mo_obj_value_cmp(MO_T_ROWID, r1, 24, r2, 18), 0);
    CU_ASSERT_EQUAL(mo_obj_value_cmp(MO_T_ROWID, r1, 20, r2, 24), 0);
    r2[0] = 1;
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_ROWID, r1, 24, r2, 18) < 0);
    mo_store_le16(r1 + 18, 0x100);
    memset(r2, 0, sizeof(r2));
    mo_store_le16(r2 + 16, 256);
    mo_store_le16(r2 + 18, 0x2);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_BLOCKID, r1, 20, r2, 20) > 0);

    /* varlena: bytes.Compare */
    CU_ASSERT_TRUE(
        mo_obj_value_cmp(MO_T_VARCHAR, (const uint8_t *)"ab", 2, (const uint8_t *)"abc", 3) < 0);
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_BLOB, (const uint8_t *)"b", 1, (const uint8_t *)"abc", 3) >
                   0);
    CU_ASSERT_EQUAL(mo_obj_value_cmp(MO_T_JSON, NULL, 0, NULL, 0), 0);
    /* short buffers never over-read */
    CU_ASSERT_TRUE(mo_obj_value_cmp(MO_T_INT64, a, 3, b, 8) != 0 ||
                   mo_obj_value_cmp(MO_T_INT64, a, 3, b, 8) == 0);
}

static void test_zm__equal(void)
{
    mo_obj_zm a, b;
    mo_obj_zm_init(&a, MO_T_DECIMAL64, 2);
    mo_obj_zm_init(&b, MO_T_DECIMAL64, 3);
    CU_ASSERT_FALSE(mo_obj_zm_equal(&a, &b));
    mo_obj_zm_init(&b, MO_T_DECIMAL64, 2);
    CU_ASSERT_TRUE(mo_obj_zm_equal(&a, &b));
    b.b[8] = 1; /* sum differs */
    CU_ASSERT_FALSE(mo_obj_zm_equal(&a, &b));
    mo_obj_zm_init(&b, MO_T_INT64, 2);
    CU_ASSERT_FALSE(mo_obj_zm_equal(&a, &b));

    /* NaN sums with different payloads are the same sum */
    mo_obj_zm_init(&a, MO_T_FLOAT64, 0);
    mo_obj_zm_init(&b, MO_T_FLOAT64, 0);
    mo_store_le64(a.b + 8, 0x7ff8000000000000ull);
    mo_store_le64(b.b + 8, 0xfff8000000000001ull);
    CU_ASSERT_TRUE(mo_obj_zm_equal(&a, &b));
    mo_store_le64(b.b + 8, 0);
    CU_ASSERT_FALSE(mo_obj_zm_equal(&a, &b));

    /* initialized flag and +inf flag matter */
    mo_obj_zm_init(&a, MO_T_VARCHAR, 0);
    mo_obj_zm_init(&b, MO_T_VARCHAR, 0);
    mo_obj_zm_update(&a, (const uint8_t *)"x", 1);
    CU_ASSERT_FALSE(mo_obj_zm_equal(&a, &b));
    mo_obj_zm_update(&b, (const uint8_t *)"x", 1);
    CU_ASSERT_TRUE(mo_obj_zm_equal(&a, &b));
    b.b[61] |= 0x80;
    CU_ASSERT_FALSE(mo_obj_zm_equal(&a, &b));
}

/* Zone maps read from disk may hold any bytes: merging and updating must stay in bounds. */
static void test_zm__garbage_safe(void)
{
    uint64_t s = 42;
    const uint8_t types[] = {MO_T_INT64,   MO_T_VARCHAR, MO_T_ROWID, MO_T_TS, MO_T_DECIMAL128,
                             MO_T_FLOAT32, MO_T_BOOL,    MO_T_UUID,  0,       250,
                             MO_T_BLOCKID};
    for (int it = 0; it < 20000; it++) {
        mo_obj_zm blk, obj;
        for (int i = 0; i < 64; i += 8)
            mo_store_le64(blk.b + i, mo_test_rand(&s));
        const uint8_t oid = types[mo_test_rand(&s) % sizeof(types)];
        blk.b[63] = oid;
        blk.b[62] |= 0x80;
        mo_obj_zm_init(&obj, oid, 0);
        if (it & 1) {
            for (int i = 0; i < 64; i += 8)
                mo_store_le64(obj.b + i, mo_test_rand(&s));
            obj.b[63] = oid;
        }
        mo_obj_zm_merge(&obj, &blk);
        mo_obj_zm_merge(&obj, &obj);
        const uint8_t *p;
        size_t n;
        mo_obj_zm_max(&obj, &p, &n, NULL);
        CU_ASSERT_TRUE(p + n <= obj.b + 64);
        (void)mo_obj_zm_equal(&obj, &blk);
    }
}

/* ---- mo_obj_zm_from_vec against a row-by-row reference ---- */

/* The straightforward definition: per row through the generic accessors, min/max by
 * mo_obj_value_cmp keeping the first of equal values, then UpdateZM(min), UpdateZM(max),
 * then GetSumValue in a second pass. */
static void ref_zm_from_vec(mo_obj_zm *out, const mo_obj_vec *v, uint8_t scale, bool bool_max_or)
{
    const uint8_t oid = v->type.oid;
    mo_obj_zm_init(out, oid, scale);
    if (oid == MO_T_DECIMAL256)
        return;
    const uint8_t *minp = NULL, *maxp = NULL;
    uint32_t minn = 0, maxn = 0;
    bool found = false;
    uint8_t band = 1, bor = 0;
    for (uint32_t r = 0; r < v->length; r++) {
        if (mo_obj_vec_is_null(v, r))
            continue;
        const uint8_t *p;
        uint32_t n;
        mo_obj_vec_value(v, r, &p, &n);
        if (oid == MO_T_BOOL) {
            const uint8_t b = n >= 1 && p[0] != 0;
            band &= b;
            bor |= b;
            found = true;
            continue;
        }
        if (oid == MO_T_FLOAT32 && n >= 4) {
            float f;
            memcpy(&f, p, 4);
            if (isnan(f))
                continue;
        }
        if (oid == MO_T_FLOAT64 && n >= 8 && isnan(zm_f64(p)))
            continue;
        if (!found) {
            minp = maxp = p;
            minn = maxn = n;
            found = true;
            continue;
        }
        if (mo_obj_value_cmp(oid, minp, minn, p, n) > 0) {
            minp = p;
            minn = n;
        }
        if (mo_obj_value_cmp(oid, maxp, maxn, p, n) < 0) {
            maxp = p;
            maxn = n;
        }
    }
    if (found) {
        if (oid == MO_T_BOOL) {
            const uint8_t mx = bool_max_or ? bor : band;
            mo_obj_zm_update(out, &band, 1);
            mo_obj_zm_update(out, &mx, 1);
        } else {
            mo_obj_zm_update(out, minp, minn);
            mo_obj_zm_update(out, maxp, maxn);
        }
    }
    if (!mo_obj_zm_has_sum(oid))
        return;
    const bool sgn = (oid >= MO_T_INT8 && oid <= MO_T_INT64) || oid == MO_T_DECIMAL64;
    const bool flt = oid == MO_T_FLOAT32 || oid == MO_T_FLOAT64;
    int64_t si = 0;
    uint64_t su = 0;
    double sf = 0;
    bool any = false, ovf = false;
    for (uint32_t r = 0; r < v->length; r++) {
        if (mo_obj_vec_is_null(v, r))
            continue;
        const uint8_t *p;
        uint32_t n;
        mo_obj_vec_value(v, r, &p, &n);
        const uint32_t sz = oid == MO_T_INT8 || oid == MO_T_UINT8     ? 1
                            : oid == MO_T_INT16 || oid == MO_T_UINT16 ? 2
                            : oid == MO_T_INT32 || oid == MO_T_UINT32 || oid == MO_T_FLOAT32
                                ? 4
                                : 8;
        if (n < sz)
            continue;
        any = true;
        if (ovf)
            continue;
        if (flt) {
            if (oid == MO_T_FLOAT32) {
                float f;
                memcpy(&f, p, 4);
                sf += (double)f;
            } else {
                sf += zm_f64(p);
            }
        } else if (sgn) {
            int64_t x = sz == 1   ? (int8_t)p[0]
                        : sz == 2 ? (int16_t)mo_load_le16(p)
                        : sz == 4 ? (int32_t)mo_load_le32(p)
                                  : (int64_t)mo_load_le64(p);
            if (__builtin_add_overflow(si, x, &si))
                ovf = true;
        } else {
            uint64_t x = sz == 1 ? p[0] : sz == 2 ? mo_load_le16(p) : sz == 4 ? mo_load_le32(p)
                                                                              : mo_load_le64(p);
            if (__builtin_add_overflow(su, x, &su))
                ovf = true;
        }
    }
    if (!any)
        return;
    uint64_t bits = flt ? 0 : sgn ? (uint64_t)si : su;
    if (flt)
        memcpy(&bits, &sf, 8);
    mo_store_le64(out->b + 8, ovf ? 0 : bits);
}

/* A random value of @p size bytes drawn from a per-vector "style". */
static void rnd_fixed(uint64_t *s, uint8_t oid, int size, int style, uint8_t *out)
{
    for (int i = 0; i < size; i++)
        out[i] = (uint8_t)mo_test_rand(s);
    const uint64_t r = mo_test_rand(s);
    if (style == 1) { /* few distinct values: ties everywhere */
        memset(out, 0, (size_t)size);
        out[0] = (uint8_t)(r % 4);
        if (size > 1)
            out[size - 1] = (uint8_t)((r >> 8) % 3 == 0 ? 0x80 : 0);
    } else if (style == 2 && size == 8) { /* extremes: overflowing sums */
        static const uint64_t ext[] = {0x7fffffffffffffffull, 0x8000000000000000ull,
                                       0xffffffffffffffffull, 1, 0, 0x4000000000000000ull};
        mo_store_le64(out, ext[r % 6]);
    }
    if (oid == MO_T_FLOAT32 || oid == MO_T_FLOAT64) {
        const double sp[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0, -0.0, 1.5, -2.25, 1e300};
        double d = (double)(int64_t)(r % 2001) / 8 - 125;
        if (style != 0 || r % 5 == 0)
            d = sp[(r >> 16) % 9];
        if (oid == MO_T_FLOAT32) {
            float f = (float)d;
            uint32_t u;
            memcpy(&u, &f, 4);
            mo_store_le32(out, u);
        } else {
            uint64_t u;
            memcpy(&u, &d, 8);
            mo_store_le64(out, u);
        }
    }
    if (oid == MO_T_BOOL)
        out[0] = style == 1 ? (uint8_t)(r % 2) : (uint8_t)(r % 3 ? r % 7 : 0);
}

static void rnd_bytes(uint64_t *s, int style, uint8_t *out, size_t *n)
{
    const uint64_t r = mo_test_rand(s);
    *n = style == 1 ? r % 4 : r % 45;
    static const uint8_t alpha[] = {0x00, 0x01, 'a', 'b', 0x7f, 0xfe, 0xff};
    for (size_t i = 0; i < *n; i++)
        out[i] = style == 0 ? (uint8_t)mo_test_rand(s) : alpha[mo_test_rand(s) % sizeof(alpha)];
    if (style == 2 && *n > 8)
        memset(out, 0xff, *n - 3);
}

static void test_zm__from_vec_random(void)
{
    static const struct {
        uint8_t oid;
        int size;
    } types[] = {
        {MO_T_BOOL, 1},       {MO_T_INT8, 1},      {MO_T_INT16, 2},      {MO_T_INT32, 4},
        {MO_T_INT64, 8},      {MO_T_UINT8, 1},     {MO_T_UINT16, 2},     {MO_T_UINT32, 4},
        {MO_T_UINT64, 8},     {MO_T_BIT, 8},       {MO_T_ENUM, 2},       {MO_T_YEAR, 2},
        {MO_T_FLOAT32, 4},    {MO_T_FLOAT64, 8},   {MO_T_DECIMAL64, 8},  {MO_T_DECIMAL128, 16},
        {MO_T_DECIMAL256, 32}, {MO_T_DATE, 4},     {MO_T_TIME, 8},       {MO_T_DATETIME, 8},
        {MO_T_TIMESTAMP, 8},  {MO_T_TS, 12},       {MO_T_ROWID, 24},     {MO_T_BLOCKID, 20},
        {MO_T_UUID, 16},      {MO_T_CHAR, 24},     {MO_T_VARCHAR, 24},   {MO_T_TEXT, 24},
        {MO_T_BLOB, 24},      {MO_T_JSON, 24},     {MO_T_VECF32, 24},    {MO_T_INT64, 4},
        {MO_T_INT32, 8},      {MO_T_ANY, 8},
    };
    uint64_t s = 20261121;
    unsigned checked = 0, mismatched = 0;
    for (int it = 0; it < 12000; it++) {
        const int ti = (int)(mo_test_rand(&s) % (sizeof(types) / sizeof(types[0])));
        const uint8_t oid = types[ti].oid;
        const int size = types[ti].size;
        const bool vl = mo_obj_type_is_varlena(oid);
        const int style = (int)(mo_test_rand(&s) % 3);
        const int nmode = (int)(mo_test_rand(&s) % 6);
        const int cmode = (int)(mo_test_rand(&s) % 8); /* 0: const, 1: dist, else flat */
        uint32_t rows = (uint32_t)(mo_test_rand(&s) % 300);
        if (mo_test_rand(&s) % 50 == 0)
            rows = 8192;

        mo_obj_type ty = {.oid = oid, .size = size};
        mo_obj_colbuf c;
        mo_obj_colbuf_init(&c, &ty);
        const uint32_t gen = cmode == 0 ? (rows ? 1 : 0) : rows;
        for (uint32_t r = 0; r < gen; r++) {
            uint8_t val[64];
            if (vl && size == MO_OBJ_VARLENA_SIZE) {
                size_t n;
                rnd_bytes(&s, style, val, &n);
                MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, val, n));
            } else {
                rnd_fixed(&s, oid, size, style, val);
                MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c, val));
            }
        }
        mo_obj_vec v;
        mo_obj_colbuf_view(&v, &c);
        /* null bitmap: none, empty, sparse, dense, all, partial tail words */
        uint8_t nulls[8192 / 8 + 8];
        memset(nulls, 0, sizeof(nulls));
        if (nmode > 0 && cmode != 0) {
            int64_t cnt = 0;
            for (uint32_t r = 0; r < rows; r++) {
                const uint64_t x = mo_test_rand(&s);
                const bool nul = nmode == 1   ? false
                                 : nmode == 2 ? x % 10 == 0
                                 : nmode == 3 ? x % 10 != 0
                                 : nmode == 4 ? true
                                              : (r / 64) % 2 == 1 || x % 3 == 0;
                if (nul) {
                    nulls[r / 8] |= (uint8_t)(1u << (r % 8));
                    cnt++;
                }
            }
            v.null_words = nulls;
            v.null_count = cnt;
            v.null_bits = nmode == 5 && rows > 10 ? rows - mo_test_rand(&s) % 10 : rows;
            v.null_words_bytes = (v.null_bits + 63) / 64 * 8;
            if (nmode == 5 && mo_test_rand(&s) % 2)
                v.null_words_bytes = (v.null_bits + 7) / 8; /* a short last word */
        }
        if (cmode == 0) {
            v.cls = MO_OBJ_VEC_CONST;
            v.length = rows;
            if (nmode == 4 && rows) { /* const null through the bitmap */
                nulls[0] = 1;
                v.null_words = nulls;
                v.null_bits = 1;
                v.null_words_bytes = 8;
                v.null_count = 1;
            } else if (nmode == 3) {
                v.data_len = 0; /* const null without data */
            }
        } else if (cmode == 1) {
            v.cls = MO_OBJ_VEC_DIST;
        }
        const uint8_t scale = (uint8_t)(mo_test_rand(&s) % 7);
        for (int bmo = 0; bmo < 2; bmo++) {
            mo_obj_zm got, want;
            memset(&got, 0xa5, sizeof(got));
            memset(&want, 0x5a, sizeof(want));
            mo_obj_zm_from_vec(&got, &v, scale, bmo);
            ref_zm_from_vec(&want, &v, scale, bmo);
            checked++;
            /* the one liberty: which NaN a float sum ends as (sign/payload) depends on the
             * order the compiler gives the operands of an addition, in C as in Go */
            if ((oid == MO_T_FLOAT32 || oid == MO_T_FLOAT64) && isnan(zm_f64(got.b + 8)) &&
                isnan(zm_f64(want.b + 8)))
                memcpy(got.b + 8, want.b + 8, 8);
            if (memcmp(got.b, want.b, 64) != 0) {
                if (mismatched++ < 5)
                    fprintf(stderr,
                            "zm mismatch: oid %u size %d rows %u cls %u style %d nulls %d "
                            "bool_max_or %d\n",
                            oid, size, rows, v.cls, style, nmode, bmo);
                if (getenv("ZM_DEBUG"))
                    for (int i = 0; i < 64; i++)
                        fprintf(stderr, "%02x%02x%s", got.b[i], want.b[i], i % 16 == 15 ? "\n" : " ");
            }
        }
        mo_obj_colbuf_dispose(&c);
    }
    CU_ASSERT_EQUAL(mismatched, 0);
    CU_ASSERT_TRUE(checked >= 24000);
}

/*
 * The vectorised integer loops: NULL rows are folded in as neutral values through a byte
 * mask built 1024 rows at a time. NULL rows here hold the type's extremes (and live rows
 * never do), so a mask that lets one NULL row through, a batch boundary off by one, or a
 * spread of bitmap bits to bytes in the wrong order gives a wrong min, max or sum. A live
 * extreme in the last row of a batch (and in the last row) must be found.
 */
static void test_zm__from_vec_int_masked(void)
{
    static const struct {
        uint8_t oid;
        int size;
    } types[] = {{MO_T_INT8, 1},   {MO_T_INT16, 2},  {MO_T_INT32, 4},     {MO_T_INT64, 8},
                 {MO_T_UINT8, 1},  {MO_T_UINT16, 2}, {MO_T_UINT32, 4},    {MO_T_UINT64, 8},
                 {MO_T_DATE, 4},   {MO_T_ENUM, 2},   {MO_T_DECIMAL64, 8}, {MO_T_TIMESTAMP, 8}};
    static const uint32_t lens[] = {1, 63, 64, 65, 1023, 1024, 1025, 2047, 3000, 8192};
    static uint8_t nulls[8192 / 8 + 8];
    uint64_t s = 7;
    unsigned mismatched = 0, checked = 0;
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
            for (int pat = 0; pat < 5; pat++) {
                const uint8_t oid = types[ti].oid;
                const int size = types[ti].size;
                const uint32_t rows = lens[li];
                mo_obj_type ty = {.oid = oid, .size = size};
                mo_obj_colbuf c;
                mo_obj_colbuf_init(&c, &ty);
                memset(nulls, 0, sizeof(nulls));
                int64_t cnt = 0;
                for (uint32_t r = 0; r < rows; r++) {
                    const uint64_t x = mo_test_rand(&s);
                    /* 0: one NULL per word; 1: sparse; 2: dense; 3: whole words NULL;
                     * 4: every row but the batch/vector ends NULL */
                    const bool nul = pat == 0   ? r % 64 == x % 64 || r % 64 == 17
                                     : pat == 1 ? x % 20 == 0
                                     : pat == 2 ? x % 4 != 0
                                     : pat == 3 ? (r / 64) % 3 == 1
                                                : !(r % 1024 == 1023 || r + 1 == rows);
                    uint8_t val[8];
                    if (nul) {
                        nulls[r / 8] |= (uint8_t)(1u << (r % 8));
                        cnt++;
                        memset(val, x & 1 ? 0xff : 0x00, sizeof(val)); /* -1 / max, 0 */
                        if (x & 2) { /* the signed extremes: 0x80.. and 0x7f.. */
                            memset(val, x & 1 ? 0x00 : 0xff, sizeof(val));
                            val[size - 1] = x & 1 ? 0x80 : 0x7f;
                        }
                    } else {
                        /* live values stay well inside every type's range */
                        uint64_t y = 5 + x % 90;
                        if (r % 1024 == 1023 || r + 1 == rows)
                            y = 100; /* the maximum sits at a batch end */
                        for (int i = 0; i < size; i++)
                            val[i] = i == 0 ? (uint8_t)y : 0;
                    }
                    MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c, val));
                }
                mo_obj_vec v;
                mo_obj_colbuf_view(&v, &c);
                /* with the bitmap (masked loop), then the same values without (plain loop) */
                for (int plain = 0; plain < 2; plain++) {
                    v.null_words = plain ? NULL : nulls;
                    v.null_count = plain ? 0 : cnt;
                    v.null_bits = plain ? 0 : rows;
                    v.null_words_bytes = plain ? 0 : (rows + 63) / 64 * 8;
                    mo_obj_zm got, want;
                    mo_obj_zm_from_vec(&got, &v, 0, false);
                    ref_zm_from_vec(&want, &v, 0, false);
                    checked++;
                    if (memcmp(got.b, want.b, 64) != 0 && mismatched++ < 5)
                        fprintf(stderr, "zm mismatch (%s loop): oid %u rows %u pattern %d\n",
                                plain ? "plain" : "masked", oid, rows, pat);
                }
                mo_obj_colbuf_dispose(&c);
            }
        }
    }
    CU_ASSERT_EQUAL(mismatched, 0);
    CU_ASSERT_EQUAL(checked, 2 * 12 * 10 * 5);
}

/*
 * Varlena slots built by hand, as a foreign writer may lay them out: out-of-line values of
 * 0..7 bytes (only those bytes exist, at the very end of the area), inline and out-of-line
 * values with equal 8-byte prefixes (ties decided by the length or the bytes after 8), junk
 * after an inline value's length, against the row-by-row reference.
 */
static void test_zm__from_vec_varlena_slots(void)
{
    enum { ROWS = 3000 }; /* the zone-map loop works in batches of 1024 rows */
    static uint8_t slots[ROWS * 24];
    static uint8_t area[ROWS * 40];
    static uint8_t nulls[ROWS / 8 + 8];
    uint64_t s = 31;
    unsigned mismatched = 0;
    for (int it = 0; it < 400; it++) {
        const uint32_t rows = 1 + (uint32_t)(mo_test_rand(&s) % (it % 5 ? 300 : ROWS));
        uint32_t alen = 0;
        memset(nulls, 0, sizeof(nulls));
        int64_t cnt = 0;
        for (uint32_t r = 0; r < rows; r++) {
            uint8_t *sl = slots + 24 * r;
            uint8_t val[40];
            const uint32_t n = (uint32_t)(mo_test_rand(&s) % (it % 2 ? 12 : 40));
            /* few distinct bytes, so prefixes and whole values tie often */
            for (uint32_t i = 0; i < n; i++)
                val[i] = (uint8_t)("\x00\x01" "ab\xff"[mo_test_rand(&s) % 5]);
            for (int i = 0; i < 24; i++)
                sl[i] = (uint8_t)mo_test_rand(&s); /* junk everywhere first */
            if (n <= 23 && mo_test_rand(&s) % 2) {
                sl[0] = (uint8_t)n;
                memcpy(sl + 1, val, n);
            } else {
                sl[0] = 0xFF;
                mo_store_le32(sl + 4, alen);
                mo_store_le32(sl + 8, n);
                memcpy(area + alen, val, n);
                alen += n;
            }
            if (it % 3 == 0 && mo_test_rand(&s) % 7 == 0) {
                nulls[r / 8] |= (uint8_t)(1u << (r % 8));
                cnt++;
            }
        }
        /* the area ends right after the last value: a short out-of-line value at its very
         * end may only be read for its length (ASan would see an 8-byte load) */
        uint8_t *exact = mo_malloc(alen ? alen : 1);
        CU_ASSERT_FATAL(exact != NULL);
        memcpy(exact, area, alen);
        mo_obj_vec v;
        memset(&v, 0, sizeof(v));
        v.cls = MO_OBJ_VEC_FLAT;
        v.type.oid = it % 4 ? MO_T_VARCHAR : MO_T_CHAR;
        v.type.size = MO_OBJ_VARLENA_SIZE;
        v.length = rows;
        v.data = slots;
        v.data_len = 24 * rows;
        v.area = exact;
        v.area_len = alen;
        if (cnt) {
            v.null_words = nulls;
            v.null_count = cnt;
            v.null_bits = rows;
            v.null_words_bytes = (rows + 63) / 64 * 8;
        }
        mo_obj_zm got, want;
        mo_obj_zm_from_vec(&got, &v, 0, false);
        ref_zm_from_vec(&want, &v, 0, false);
        if (memcmp(got.b, want.b, 64) != 0 && mismatched++ < 5)
            fprintf(stderr, "varlena slot zm mismatch: iteration %d rows %u\n", it, rows);
        mo_free(exact);
    }
    CU_ASSERT_EQUAL(mismatched, 0);
}

/*
 * Varlena min/max across the 1024-row batches of the zone-map loop: the extremes' 8-byte keys
 * tie with ones found in earlier batches and only the bytes after 8 decide (the later value
 * wins), and NULL rows hold the smallest and largest values of all.
 */
static void test_zm__from_vec_varlena_batches(void)
{
    const mo_obj_type t = mo_obj_type_default(MO_T_VARCHAR);
    /* a short min ending in a zero byte is undercut by a shorter tie in a later batch;
     * one ending in a nonzero byte is tied, never undercut */
    static const struct {
        const char *first;
        size_t fn;
        const char *later;
        size_t ln;
        const char *want;
        size_t wn;
    } shorts[] = {{"ab\0", 3, "ab", 2, "ab", 2}, {"ab\0\0", 4, "ab\0", 3, "ab\0", 3},
                  {"ab", 2, "ab", 2, "ab", 2},    {"", 0, "", 0, "", 0}};
    for (size_t k = 0; k < sizeof(shorts) / sizeof(shorts[0]); k++) {
        mo_obj_colbuf c;
        mo_obj_colbuf_init(&c, &t);
        for (uint32_t r = 0; r < 2600; r++) {
            const char *val = r == 5 ? shorts[k].first : r == 2000 ? shorts[k].later : "qqq";
            const size_t n = r == 5 ? shorts[k].fn : r == 2000 ? shorts[k].ln : 3;
            MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, val, n));
        }
        mo_obj_vec v;
        mo_obj_colbuf_view(&v, &c);
        mo_obj_zm got, want;
        mo_obj_zm_from_vec(&got, &v, 0, false);
        ref_zm_from_vec(&want, &v, 0, false);
        CU_ASSERT_EQUAL(memcmp(got.b, want.b, 64), 0);
        CU_ASSERT_EQUAL(got.b[30], shorts[k].wn);
        CU_ASSERT_EQUAL(memcmp(got.b, shorts[k].want, shorts[k].wn), 0);
        mo_obj_colbuf_dispose(&c);
    }
    for (int with_nulls = 0; with_nulls < 2; with_nulls++) {
        mo_obj_colbuf c;
        mo_obj_colbuf_init(&c, &t);
        static uint8_t nulls[2600 / 8 + 8];
        memset(nulls, 0, sizeof(nulls));
        int64_t cnt = 0;
        for (uint32_t r = 0; r < 2600; r++) {
            const char *val = "mmmmmmmm-m";
            if (r == 10)
                val = "abcdefgh-z";
            else if (r == 1500)
                val = "abcdefgh-a"; /* same key as row 10, smaller: the min */
            else if (r == 20)
                val = "zzzzzzzz-a";
            else if (r == 2100)
                val = "zzzzzzzz-z"; /* same key as row 20, larger: the max */
            else if (with_nulls && (r == 700 || r == 1800 || r == 2599)) {
                val = r == 1800 ? "\xff\xff\xff\xff\xff\xff\xff\xff\xff" : "";
                nulls[r / 8] |= (uint8_t)(1u << (r % 8));
                cnt++;
            }
            MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, val, strlen(val) + (*val == 0)));
        }
        mo_obj_vec v;
        mo_obj_colbuf_view(&v, &c);
        if (cnt) {
            v.null_words = nulls;
            v.null_count = cnt;
            v.null_bits = 2600;
            v.null_words_bytes = (2600 + 63) / 64 * 8;
        }
        mo_obj_zm got, want;
        mo_obj_zm_from_vec(&got, &v, 0, false);
        ref_zm_from_vec(&want, &v, 0, false);
        CU_ASSERT_EQUAL(memcmp(got.b, want.b, 64), 0);
        CU_ASSERT_EQUAL(memcmp(got.b, "abcdefgh-a", 10), 0);
        CU_ASSERT_EQUAL(memcmp(got.b + 31, "zzzzzzzz-z", 10), 0);
        mo_obj_colbuf_dispose(&c);
    }
}

static CU_TestInfo zm_tests[] = {
    {"from_vec_varlena_batches", test_zm__from_vec_varlena_batches},
    {"from_vec_varlena_slots", test_zm__from_vec_varlena_slots},
    {"from_vec_int_masked", test_zm__from_vec_int_masked},
    {"null", test_zm__null},
    {"int_update", test_zm__int_update},
    {"strings", test_zm__strings},
    {"truncated_overlap", test_zm__truncated_overlap},
    {"increment_carry", test_zm__increment_carry},
    {"stale_bytes", test_zm__stale_bytes},
    {"decimal256_skipped", test_zm__decimal256_skipped},
    {"nan", test_zm__nan},
    {"int_sum", test_zm__int_sum},
    {"decimal64_sum", test_zm__decimal64_sum},
    {"bool", test_zm__bool},
    {"merge", test_zm__merge},
    {"from_vec_varlena", test_zm__from_vec_varlena},
    {"value_cmp", test_zm__value_cmp},
    {"equal", test_zm__equal},
    {"garbage_safe", test_zm__garbage_safe},
    {"from_vec_random", test_zm__from_vec_random},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_zm_suites[] = {
    {"zm", NULL, NULL, NULL, NULL, zm_tests},
    CU_SUITE_INFO_NULL,
};
