/* Value text (dump CSV / mkobj --from-csv): documented anchors, format->parse round trips of
 * random values for every storable type, strict parse errors, and CSV field quoting. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo/obj_vec.h"
#include "mo_test.h"

static char txt[4096];

static mo_obj_type ty(uint8_t oid, int32_t width, int32_t scale)
{
    mo_obj_type t = mo_obj_type_default(oid);
    if (width >= 0)
        t.width = width;
    t.scale = scale;
    return t;
}

/* Formats @p p/@p n into txt. */
static const char *fmt(const mo_obj_type *t, const void *p, uint32_t n)
{
    mo_buf b = MO_BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(mo_obj_value_format(&b, t, p, n), MO_OK);
    CU_ASSERT_FATAL(b.len < sizeof(txt));
    if (b.len)
        memcpy(txt, b.ptr, b.len);
    txt[b.len] = 0;
    mo_buf_dispose(&b);
    return txt;
}

static const char *fmt_i64(uint8_t oid, int32_t scale, int64_t v)
{
    const mo_obj_type t = ty(oid, -1, scale);
    uint8_t b[8];
    mo_store_le64(b, (uint64_t)v);
    return fmt(&t, b, (uint32_t)mo_obj_type_size(oid));
}

/* Parses @p s into a fresh column; the value bytes go to @p out (<= 256), length returned. */
static int parse(const mo_obj_type *t, const char *s, uint8_t *out, uint32_t *n)
{
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, t);
    mo_err_clear(&mo_test_err);
    const int rc = mo_obj_value_parse_append(&c, s, strlen(s), &mo_test_err);
    if (rc == MO_OK) {
        CU_ASSERT_EQUAL(c.rows, 1);
        mo_obj_vec v;
        mo_obj_colbuf_view(&v, &c);
        const uint8_t *p;
        uint32_t len;
        mo_obj_vec_value(&v, 0, &p, &len);
        CU_ASSERT_FATAL(len <= 256);
        if (len)
            memcpy(out, p, len);
        *n = len;
    } else {
        CU_ASSERT_EQUAL(c.rows, 0);
    }
    mo_obj_colbuf_dispose(&c);
    return rc;
}

static int64_t parse_i64v(uint8_t oid, int32_t scale, const char *s)
{
    const mo_obj_type t = ty(oid, -1, scale);
    uint8_t b[256];
    uint32_t n;
    MO_ASSERT_OK(parse(&t, s, b, &n));
    CU_ASSERT_EQUAL(n, 8);
    return (int64_t)mo_load_le64(b);
}

static void expect_bad(const mo_obj_type *t, const char *s)
{
    uint8_t b[256];
    uint32_t n;
    const int rc = parse(t, s, b, &n);
    if (rc != MO_EINVAL)
        fprintf(stderr, "\nexpected MO_EINVAL for '%s' (oid %u), got %d\n", s, t->oid, rc);
    CU_ASSERT_EQUAL(rc, MO_EINVAL);
    if (rc == MO_EINVAL && strlen(s) < 40 && strlen(s) > 0) {
        /* the message names the value text and the column type */
        CU_ASSERT_PTR_NOT_NULL(strstr(mo_test_err.msg, s));
        CU_ASSERT_PTR_NOT_NULL(strstr(mo_test_err.msg, mo_obj_type_name(t->oid)));
    }
}

#define US INT64_C(1000000)
#define EPOCH_US INT64_C(62135596800000000)

static void test_value__temporal_anchors(void)
{
    const mo_obj_type d = ty(MO_T_DATE, -1, 0);
    uint8_t b[8], out[256];
    uint32_t n;
    mo_store_le32(b, 719162);
    CU_ASSERT_STRING_EQUAL(fmt(&d, b, 4), "1970-01-01");
    MO_ASSERT_OK(parse(&d, "1970-01-01", out, &n));
    CU_ASSERT_EQUAL(mo_load_le32(out), 719162);
    mo_store_le32(b, 0);
    CU_ASSERT_STRING_EQUAL(fmt(&d, b, 4), "0001-01-01");
    MO_ASSERT_OK(parse(&d, "2000-02-29", out, &n));
    CU_ASSERT_EQUAL((int32_t)mo_load_le32(out), 730178);
    MO_ASSERT_OK(parse(&d, "9999-12-31", out, &n));
    CU_ASSERT_EQUAL((int32_t)mo_load_le32(out), 3652058);
    mo_store_le32(b, (uint32_t)-1);
    CU_ASSERT_STRING_EQUAL(fmt(&d, b, 4), "0000-12-31");
    mo_store_le32(b, (uint32_t)-367);
    CU_ASSERT_STRING_EQUAL(fmt(&d, b, 4), "-0001-12-31");
    MO_ASSERT_OK(parse(&d, "-0001-12-31", out, &n));
    CU_ASSERT_EQUAL((int32_t)mo_load_le32(out), -367);

    /* timestamp: UTC µs since 0001-01-01 */
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_TIMESTAMP, 1, EPOCH_US + 500000), "1970-01-01 00:00:00.5");
    CU_ASSERT_EQUAL(parse_i64v(MO_T_TIMESTAMP, 1, "1970-01-01 00:00:00.5"), EPOCH_US + 500000);
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_TIMESTAMP, 0, EPOCH_US), "1970-01-01 00:00:00");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_TIMESTAMP, 6, EPOCH_US + 1), "1970-01-01 00:00:00.000001");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DATETIME, 3, EPOCH_US + 123000), "1970-01-01 00:00:00.123");
    /* digits below the scale are never dropped */
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DATETIME, 3, EPOCH_US + 123456),
                           "1970-01-01 00:00:00.123456");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DATETIME, 0, EPOCH_US + 5), "1970-01-01 00:00:00.000005");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DATETIME, 9, EPOCH_US), "1970-01-01 00:00:00.000000");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DATETIME, 0, 0), "0001-01-01 00:00:00");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DATETIME, 0, -1 * US), "0000-12-31 23:59:59");
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DATETIME, 0, "2024-09-23 12:34:56"),
                    ((INT64_C(739151) * 86400) + 12 * 3600 + 34 * 60 + 56) * US);
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DATETIME, 0, "2024-09-23T12:34:56.25"),
                    ((INT64_C(739151) * 86400) + 12 * 3600 + 34 * 60 + 56) * US + 250000);
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DATETIME, 0, "1970-01-01"), EPOCH_US);

    /* time: signed µs */
    const int64_t t838 = -((838 * INT64_C(3600) + 59 * 60 + 59) * US);
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_TIME, 0, t838), "-838:59:59");
    CU_ASSERT_EQUAL(parse_i64v(MO_T_TIME, 0, "-838:59:59"), t838);
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_TIME, 0, 0), "00:00:00");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_TIME, 2, -US / 2), "-00:00:00.50");
    CU_ASSERT_EQUAL(parse_i64v(MO_T_TIME, 2, "-00:00:00.50"), -US / 2);
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_TIME, 6, 25 * 3600 * US + 1), "25:00:00.000001");
    CU_ASSERT_EQUAL(parse_i64v(MO_T_TIME, 0, "12:00:00"), 12 * 3600 * US);
    CU_ASSERT_EQUAL(parse_i64v(MO_T_TIME, 0, "-00:00:00"), 0);
    /* the extremes of i64 round trip */
    const int64_t ext[] = {INT64_MIN, INT64_MAX, INT64_MIN + 1, -1};
    const uint8_t toids[] = {MO_T_TIME, MO_T_DATETIME, MO_T_TIMESTAMP};
    for (size_t i = 0; i < 4; i++)
        for (size_t k = 0; k < 3; k++) {
            char s[128];
            snprintf(s, sizeof(s), "%s", fmt_i64(toids[k], 6, ext[i]));
            CU_ASSERT_EQUAL(parse_i64v(toids[k], 6, s), ext[i]);
        }
}

static void test_value__numeric_anchors(void)
{
    /* decimal64 */
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DECIMAL64, 2, 12345), "123.45");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DECIMAL64, 2, -5), "-0.05");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DECIMAL64, 2, 0), "0.00");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DECIMAL64, 0, -42), "-42");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DECIMAL64, 3, 100), "0.100");
    CU_ASSERT_STRING_EQUAL(fmt_i64(MO_T_DECIMAL64, 2, INT64_MIN), "-92233720368547758.08");
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DECIMAL64, 2, "-0.05"), -5);
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DECIMAL64, 2, "123.45"), 12345);
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DECIMAL64, 2, "123.4"), 12340);
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DECIMAL64, 2, "123"), 12300);
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DECIMAL64, 2, "1.500"), 150); /* zero digits past scale */
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DECIMAL64, 2, ".5"), 50);
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DECIMAL64, 2, "-92233720368547758.08"), INT64_MIN);
    CU_ASSERT_EQUAL(parse_i64v(MO_T_DECIMAL64, 2, "92233720368547758.07"), INT64_MAX);

    /* decimal128 {lo, hi} */
    const mo_obj_type d128 = ty(MO_T_DECIMAL128, -1, 2);
    uint8_t b[32], out[256];
    uint32_t n;
    mo_store_le64(b, (uint64_t)-5);
    mo_store_le64(b + 8, UINT64_MAX);
    CU_ASSERT_STRING_EQUAL(fmt(&d128, b, 16), "-0.05");
    mo_store_le64(b, 0);
    mo_store_le64(b + 8, 1); /* 2^64 */
    CU_ASSERT_STRING_EQUAL(fmt(&d128, b, 16), "184467440737095516.16");
    MO_ASSERT_OK(parse(&d128, "-184467440737095516.16", out, &n));
    CU_ASSERT_EQUAL(mo_load_le64(out), 0);
    CU_ASSERT_EQUAL(mo_load_le64(out + 8), UINT64_MAX); /* -2^64 */
    mo_store_le64(b, 0);
    mo_store_le64(b + 8, UINT64_C(1) << 63); /* -2^127 */
    CU_ASSERT_STRING_EQUAL(fmt(&d128, b, 16), "-1701411834604692317316873037158841057.28");
    MO_ASSERT_OK(parse(&d128, "-1701411834604692317316873037158841057.28", out, &n));
    CU_ASSERT(memcmp(out, b, 16) == 0);
    expect_bad(&d128, "1701411834604692317316873037158841057.28"); /* 2^127 */
    const mo_obj_type d256 = ty(MO_T_DECIMAL256, -1, 0);
    memset(b, 0xFF, 32);
    CU_ASSERT_STRING_EQUAL(fmt(&d256, b, 32), "-1");

    /* floats: shortest round trip */
    const mo_obj_type f64 = ty(MO_T_FLOAT64, -1, 0), f32 = ty(MO_T_FLOAT32, -1, 0);
    double dv = 0.1;
    CU_ASSERT_STRING_EQUAL(fmt(&f64, &dv, 8), "0.1");
    dv = 1.0 / 3;
    CU_ASSERT_STRING_EQUAL(fmt(&f64, &dv, 8), "0.3333333333333333");
    dv = 1e100;
    CU_ASSERT_STRING_EQUAL(fmt(&f64, &dv, 8), "1e+100");
    dv = -0.0;
    CU_ASSERT_STRING_EQUAL(fmt(&f64, &dv, 8), "-0");
    dv = INFINITY;
    CU_ASSERT_STRING_EQUAL(fmt(&f64, &dv, 8), "inf");
    dv = -INFINITY;
    CU_ASSERT_STRING_EQUAL(fmt(&f64, &dv, 8), "-inf");
    dv = NAN;
    CU_ASSERT_STRING_EQUAL(fmt(&f64, &dv, 8), "nan");
    float fv = 0.1f;
    CU_ASSERT_STRING_EQUAL(fmt(&f32, &fv, 4), "0.1");
    fv = 16777216.0f;
    CU_ASSERT_STRING_EQUAL(fmt(&f32, &fv, 4), "16777216");
    MO_ASSERT_OK(parse(&f64, "0.1", out, &n));
    memcpy(&dv, out, 8);
    CU_ASSERT_EQUAL(dv, 0.1);
    MO_ASSERT_OK(parse(&f32, "0.1", out, &n));
    memcpy(&fv, out, 4);
    CU_ASSERT_EQUAL(fv, 0.1f);
    MO_ASSERT_OK(parse(&f64, "-inf", out, &n));
    memcpy(&dv, out, 8);
    CU_ASSERT(isinf(dv) && dv < 0);
    MO_ASSERT_OK(parse(&f64, "nan", out, &n));
    memcpy(&dv, out, 8);
    CU_ASSERT(isnan(dv));

    /* integers and friends */
    const mo_obj_type i8 = ty(MO_T_INT8, -1, 0), u64 = ty(MO_T_UINT64, -1, 0);
    int8_t c = -128;
    CU_ASSERT_STRING_EQUAL(fmt(&i8, &c, 1), "-128");
    uint64_t uv = UINT64_MAX;
    CU_ASSERT_STRING_EQUAL(fmt(&u64, &uv, 8), "18446744073709551615");
    MO_ASSERT_OK(parse(&u64, "18446744073709551615", out, &n));
    CU_ASSERT_EQUAL(mo_load_le64(out), UINT64_MAX);
    const mo_obj_type bo = ty(MO_T_BOOL, -1, 0);
    uint8_t one = 1, zero = 0;
    CU_ASSERT_STRING_EQUAL(fmt(&bo, &one, 1), "true");
    CU_ASSERT_STRING_EQUAL(fmt(&bo, &zero, 1), "false");
    MO_ASSERT_OK(parse(&bo, "true", out, &n));
    CU_ASSERT_EQUAL(out[0], 1);
    MO_ASSERT_OK(parse(&bo, "false", out, &n));
    CU_ASSERT_EQUAL(out[0], 0);
    const mo_obj_type yr = ty(MO_T_YEAR, -1, 0), en = ty(MO_T_ENUM, -1, 0);
    mo_store_le16(b, 2024);
    CU_ASSERT_STRING_EQUAL(fmt(&yr, b, 2), "2024");
    mo_store_le16(b, 65535);
    CU_ASSERT_STRING_EQUAL(fmt(&en, b, 2), "65535");
    const mo_obj_type bit = ty(MO_T_BIT, 8, 0);
    MO_ASSERT_OK(parse(&bit, "255", out, &n));
    CU_ASSERT_EQUAL(mo_load_le64(out), 255);
    expect_bad(&bit, "256");
}

static void test_value__id_anchors(void)
{
    const mo_obj_type u = ty(MO_T_UUID, -1, 0);
    uint8_t out[256];
    uint32_t n;
    MO_ASSERT_OK(parse(&u, "0D5687DA-2A67-11ED-99E0-000C29847904", out, &n));
    CU_ASSERT_STRING_EQUAL(fmt(&u, out, 16), "0d5687da-2a67-11ed-99e0-000c29847904");
    const mo_obj_type ts = ty(MO_T_TS, -1, 0);
    uint8_t tb[12];
    mo_obj_ts_encode(tb, (mo_obj_ts){.physical = 1727000000000000000, .logical = 7});
    CU_ASSERT_STRING_EQUAL(fmt(&ts, tb, 12), "1727000000000000000-7");
    MO_ASSERT_OK(parse(&ts, "1727000000000000000-7", out, &n));
    CU_ASSERT(memcmp(out, tb, 12) == 0);
    const mo_obj_type rid = ty(MO_T_ROWID, -1, 0);
    uint8_t r[24];
    mo_obj_objectid oid = {.num = 3};
    MO_ASSERT_OK(mo_obj_uuid_parse(oid.seg, "0191b752-b7af-76d9-af25-e702423dc08a", 36, NULL));
    mo_obj_rowid_make(r, &oid, 2, 8191);
    CU_ASSERT_STRING_EQUAL(fmt(&rid, r, 24), "0191b752-b7af-76d9-af25-e702423dc08a_3_2_8191");
    MO_ASSERT_OK(parse(&rid, txt, out, &n));
    CU_ASSERT(memcmp(out, r, 24) == 0);
    const mo_obj_type bid = ty(MO_T_BLOCKID, -1, 0);
    CU_ASSERT_STRING_EQUAL(fmt(&bid, r, 20), "0191b752-b7af-76d9-af25-e702423dc08a_3_2");
    MO_ASSERT_OK(parse(&bid, txt, out, &n));
    CU_ASSERT(memcmp(out, r, 20) == 0);
}

static void test_value__varlena_anchors(void)
{
    uint8_t out[256];
    uint32_t n;
    const mo_obj_type vc = ty(MO_T_VARCHAR, -1, 0);
    CU_ASSERT_STRING_EQUAL(fmt(&vc, "a,b \"c\"", 7), "a,b \"c\"");
    MO_ASSERT_OK(parse(&vc, "", out, &n));
    CU_ASSERT_EQUAL(n, 0);
    const mo_obj_type bin = ty(MO_T_VARBINARY, -1, 0);
    CU_ASSERT_STRING_EQUAL(fmt(&bin, "\x00\xff\x10", 3), "0x00ff10");
    CU_ASSERT_STRING_EQUAL(fmt(&bin, "", 0), "0x");
    MO_ASSERT_OK(parse(&bin, "0x00FF10", out, &n));
    CU_ASSERT(n == 3 && memcmp(out, "\x00\xff\x10", 3) == 0);
    MO_ASSERT_OK(parse(&bin, "0x", out, &n));
    CU_ASSERT_EQUAL(n, 0);
    const mo_obj_type js = ty(MO_T_JSON, -1, 0);
    CU_ASSERT_STRING_EQUAL(fmt(&js, "\x0c\x01", 2), "0x0c01");

    const mo_obj_type vf = ty(MO_T_VECF32, 2, 0);
    float f2[2] = {1.0f, 2.5f};
    CU_ASSERT_STRING_EQUAL(fmt(&vf, f2, 8), "[1,2.5]");
    MO_ASSERT_OK(parse(&vf, "[1, 2.5]", out, &n));
    CU_ASSERT(n == 8 && memcmp(out, f2, 8) == 0);
    expect_bad(&vf, "[1,2,3]"); /* dimension 2 */
    const mo_obj_type vd = ty(MO_T_VECF64, -1, 0);
    double d3[3] = {0.1, -1e-300, 3};
    CU_ASSERT_STRING_EQUAL(fmt(&vd, d3, 24), "[0.1,-1e-300,3]");
    CU_ASSERT_STRING_EQUAL(fmt(&vd, d3, 0), "[]");
    MO_ASSERT_OK(parse(&vd, "[]", out, &n));
    CU_ASSERT_EQUAL(n, 0);
    const mo_obj_type vi = ty(MO_T_VECINT8, -1, 0), vu = ty(MO_T_VECUINT8, -1, 0);
    CU_ASSERT_STRING_EQUAL(fmt(&vi, "\xff\x02", 2), "[-1,2]");
    CU_ASSERT_STRING_EQUAL(fmt(&vu, "\xff\x02", 2), "[255,2]");
    MO_ASSERT_OK(parse(&vi, "[-128,127]", out, &n));
    CU_ASSERT(n == 2 && out[0] == 0x80 && out[1] == 0x7f);
    const mo_obj_type vb = ty(MO_T_VECBF16, -1, 0);
    CU_ASSERT_STRING_EQUAL(fmt(&vb, "\x80\x3f", 2), "0x803f");
    expect_bad(&vb, "0x803f00");
    /* format refuses payloads that are not whole elements */
    mo_buf b = MO_BUF_INIT;
    CU_ASSERT_EQUAL(mo_obj_value_format(&b, &vf, out, 5), MO_EINVAL);
    const mo_obj_type i64 = ty(MO_T_INT64, -1, 0);
    CU_ASSERT_EQUAL(mo_obj_value_format(&b, &i64, out, 4), MO_EINVAL);
    mo_buf_dispose(&b);
}

static void test_value__parse_errors(void)
{
    const mo_obj_type d = ty(MO_T_DATE, -1, 0);
    expect_bad(&d, "1970-13-01");
    expect_bad(&d, "1970-02-30");
    expect_bad(&d, "1900-02-29");
    expect_bad(&d, "1970-1-1");
    expect_bad(&d, "70-01-01");
    expect_bad(&d, "1970-01-01 ");
    expect_bad(&d, "1970-01-01 00:00:00");
    expect_bad(&d, "");
    expect_bad(&d, "99999999-01-01"); /* beyond i32 days */
    const mo_obj_type dt = ty(MO_T_DATETIME, -1, 0);
    expect_bad(&dt, "1970-01-01 24:00:00");
    expect_bad(&dt, "1970-01-01 00:60:00");
    expect_bad(&dt, "1970-01-01 00:00:00.");
    expect_bad(&dt, "1970-01-01 00:00:00.1234567");
    expect_bad(&dt, "1970-01-01 0:00:00");
    expect_bad(&dt, "1970-01-01  00:00:00");
    const mo_obj_type tm = ty(MO_T_TIME, -1, 0);
    expect_bad(&tm, "12:60:00");
    expect_bad(&tm, "12:00:60");
    expect_bad(&tm, "1:00:00");
    expect_bad(&tm, "12:00");
    expect_bad(&tm, "99999999999999999999:00:00");
    expect_bad(&tm, "2562047789:00:00"); /* > i64 µs */
    CU_ASSERT_EQUAL(parse_i64v(MO_T_TIME, 0, "2562047788:00:00"), INT64_C(2562047788) * 3600 * US);
    const mo_obj_type i8 = ty(MO_T_INT8, -1, 0), u8 = ty(MO_T_UINT8, -1, 0);
    expect_bad(&i8, "128");
    expect_bad(&i8, "-129");
    expect_bad(&i8, "abc");
    expect_bad(&i8, "");
    expect_bad(&i8, " 1");
    expect_bad(&i8, "1 ");
    expect_bad(&i8, "1.0");
    expect_bad(&i8, "-");
    expect_bad(&u8, "-1");
    expect_bad(&u8, "256");
    const mo_obj_type i64 = ty(MO_T_INT64, -1, 0);
    expect_bad(&i64, "9223372036854775808");
    expect_bad(&i64, "0x10");
    const mo_obj_type dec = ty(MO_T_DECIMAL64, -1, 2);
    expect_bad(&dec, "1.234");
    expect_bad(&dec, "92233720368547758.08");
    expect_bad(&dec, "1.2.3");
    expect_bad(&dec, "1e3");
    expect_bad(&dec, ".");
    expect_bad(&dec, "--1");
    expect_bad(&dec, "12a");
    const mo_obj_type f64 = ty(MO_T_FLOAT64, -1, 0), f32 = ty(MO_T_FLOAT32, -1, 0);
    expect_bad(&f64, "1e999");
    expect_bad(&f64, "abc");
    expect_bad(&f64, "1.5x");
    expect_bad(&f64, " 1.5");
    expect_bad(&f64, "0x1p3");
    expect_bad(&f32, "1e39");
    const mo_obj_type bo = ty(MO_T_BOOL, -1, 0);
    expect_bad(&bo, "yes");
    expect_bad(&bo, "2");
    const mo_obj_type bin = ty(MO_T_BINARY, -1, 0);
    expect_bad(&bin, "0x0");
    expect_bad(&bin, "0xzz");
    expect_bad(&bin, "00ff");
    expect_bad(&bin, "hello");
    const mo_obj_type vf = ty(MO_T_VECF32, -1, 0);
    expect_bad(&vf, "[1,2");
    expect_bad(&vf, "1,2]");
    expect_bad(&vf, "[1,,2]");
    expect_bad(&vf, "[1,2,]");
    expect_bad(&vf, "[1 2]");
    expect_bad(&vf, "[a]");
    expect_bad(&vf, "[1e39]");
    const mo_obj_type vi = ty(MO_T_VECINT8, -1, 0);
    expect_bad(&vi, "[128]");
    expect_bad(&vi, "[1.5]");
    const mo_obj_type uu = ty(MO_T_UUID, -1, 0);
    expect_bad(&uu, "0d5687da-2a67-11ed-99e0-000c2984790");
    expect_bad(&uu, "0d5687da2a6711ed99e0000c29847904");
    const mo_obj_type ts = ty(MO_T_TS, -1, 0);
    expect_bad(&ts, "abc");
    expect_bad(&ts, "12");
    expect_bad(&ts, "12-4294967296");
    const mo_obj_type rid = ty(MO_T_ROWID, -1, 0);
    expect_bad(&rid, "0191b752-b7af-76d9-af25-e702423dc08a_3_2");
    const mo_obj_type yr = ty(MO_T_YEAR, -1, 0), en = ty(MO_T_ENUM, -1, 0);
    expect_bad(&yr, "40000");
    expect_bad(&en, "65536");
    /* embedded NUL */
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &i64);
    MO_ASSERT_RC(MO_EINVAL, mo_obj_value_parse_append(&c,
                                                      "1\0"
                                                      "2",
                                                      3, &mo_test_err));
    /* long garbage (heap copy path) */
    char big[600];
    memset(big, '9', sizeof(big));
    MO_ASSERT_RC(MO_EINVAL, mo_obj_value_parse_append(&c, big, sizeof(big), &mo_test_err));
    CU_ASSERT_EQUAL(c.rows, 0);
    mo_obj_colbuf_dispose(&c);
}

/* A random value of @p oid; floats are never NaN (NaN payloads do not survive text). */
static uint32_t gen_value(uint8_t oid, uint64_t *rng, uint8_t *out)
{
    uint32_t n;
    if (mo_obj_type_is_varlena(oid)) {
        const uint64_t r = mo_test_rand(rng);
        n = (r & 1) ? (uint32_t)(r >> 8) % 24 : 24 + (uint32_t)(r >> 8) % 100;
        const int elem = mo_obj_type_array_elem(oid);
        if (elem > 1)
            n -= n % (uint32_t)elem;
    } else {
        n = (uint32_t)mo_obj_type_size(oid);
    }
    for (uint32_t i = 0; i < n; i++)
        out[i] = (uint8_t)mo_test_rand(rng);
    switch (oid) {
    case MO_T_BOOL:
        out[0] &= 1;
        break;
    case MO_T_CHAR:
    case MO_T_VARCHAR:
    case MO_T_TEXT: /* the helper passes text with strlen */
        for (uint32_t i = 0; i < n; i++)
            if (!out[i])
                out[i] = 'z';
        break;
    case MO_T_FLOAT32:
    case MO_T_VECF32:
        for (uint32_t i = 0; i < n; i += 4) {
            float f;
            memcpy(&f, out + i, 4);
            if (isnan(f))
                out[i + 3] &= 0x3f; /* clear top exponent bit */
        }
        break;
    case MO_T_FLOAT64:
    case MO_T_VECF64:
        for (uint32_t i = 0; i < n; i += 8) {
            double d;
            memcpy(&d, out + i, 8);
            if (isnan(d))
                out[i + 7] &= 0x3f;
        }
        break;
    default:
        break;
    }
    return n;
}

static const uint8_t text_oids[] = {
    MO_T_BOOL,      MO_T_BIT,        MO_T_INT8,       MO_T_INT16,    MO_T_INT32,      MO_T_INT64,
    MO_T_UINT8,     MO_T_UINT16,     MO_T_UINT32,     MO_T_UINT64,   MO_T_FLOAT32,    MO_T_FLOAT64,
    MO_T_DECIMAL64, MO_T_DECIMAL128, MO_T_DECIMAL256, MO_T_DATE,     MO_T_TIME,       MO_T_DATETIME,
    MO_T_TIMESTAMP, MO_T_YEAR,       MO_T_CHAR,       MO_T_VARCHAR,  MO_T_JSON,       MO_T_UUID,
    MO_T_BINARY,    MO_T_VARBINARY,  MO_T_ENUM,       MO_T_GEOMETRY, MO_T_GEOMETRY32, MO_T_BLOB,
    MO_T_TEXT,      MO_T_DATALINK,   MO_T_TS,         MO_T_ROWID,    MO_T_BLOCKID,    MO_T_VECF32,
    MO_T_VECF64,    MO_T_VECBF16,    MO_T_VECF16,     MO_T_VECINT8,  MO_T_VECUINT8,
};

/* format -> parse -> same bytes, for random values of every storable type and scales. */
static void test_value__roundtrip_all_types(void)
{
    uint64_t rng = 2024;
    for (size_t k = 0; k < sizeof(text_oids); k++) {
        const uint8_t oid = text_oids[k];
        for (int it = 0; it < 600; it++) {
            int32_t scale = 0;
            if (oid == MO_T_DECIMAL64)
                scale = it % 19;
            else if (oid == MO_T_DECIMAL128)
                scale = it % 39;
            else if (oid == MO_T_DECIMAL256)
                scale = it % 77;
            else if (oid == MO_T_TIME || oid == MO_T_DATETIME || oid == MO_T_TIMESTAMP)
                scale = it % 7;
            const mo_obj_type t = ty(oid, -1, scale);
            uint8_t v[256];
            const uint32_t n = gen_value(oid, &rng, v);
            if (oid == MO_T_DATE && it % 2) /* also realistic dates */
                mo_store_le32(v, (uint32_t)(mo_test_rand(&rng) % 3652059));
            const char *s = fmt(&t, v, n);
            uint8_t out[256];
            uint32_t on = 0;
            const int rc = parse(&t, s, out, &on);
            if (rc != MO_OK || on != n || (n && memcmp(out, v, n) != 0))
                fprintf(stderr, "\nround trip failed: %s scale %d text '%s' rc %d: %s\n",
                        mo_obj_type_name(oid), scale, s, rc, mo_test_err.msg);
            CU_ASSERT_EQUAL_FATAL(rc, MO_OK);
            CU_ASSERT_EQUAL_FATAL(on, n);
            CU_ASSERT_FATAL(n == 0 || memcmp(out, v, n) == 0);
        }
    }
}

static void test_value__csv_field(void)
{
    struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},       {"", ""},
        {"a,b", "\"a,b\""},       {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"\"", "\"\"\"\""},       {"line\nbreak", "\"line\nbreak\""},
        {"cr\rlf", "\"cr\rlf\""}, {"\\N", "\"\\N\""},
        {"\\Nx", "\\Nx"},         {"sp ace", "sp ace"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mo_buf b = MO_BUF_INIT;
        MO_ASSERT_OK(mo_obj_csv_field(&b, cases[i].in, strlen(cases[i].in)));
        CU_ASSERT_EQUAL(b.len, strlen(cases[i].out));
        CU_ASSERT(b.len == 0 || memcmp(b.ptr, cases[i].out, b.len) == 0);
        mo_buf_dispose(&b);
    }
}

static CU_TestInfo value_tests[] = {
    {"temporal_anchors", test_value__temporal_anchors},
    {"numeric_anchors", test_value__numeric_anchors},
    {"id_anchors", test_value__id_anchors},
    {"varlena_anchors", test_value__varlena_anchors},
    {"parse_errors", test_value__parse_errors},
    {"roundtrip_all_types", test_value__roundtrip_all_types},
    {"csv_field", test_value__csv_field},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_value_suites[] = {
    {"value", NULL, NULL, NULL, NULL, value_tests},
    CU_SUITE_INFO_NULL,
};
