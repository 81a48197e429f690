/* Vector wire codec: round trips of every storable type, the spec §10 anchors, V1 bitmaps,
 * constant vectors, the column builder, and corruption tests asserting exact codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo/obj_vec.h"
#include "mo_test.h"

static const uint8_t all_oids[] = {
    MO_T_BOOL,      MO_T_BIT,        MO_T_INT8,       MO_T_INT16,    MO_T_INT32,      MO_T_INT64,
    MO_T_UINT8,     MO_T_UINT16,     MO_T_UINT32,     MO_T_UINT64,   MO_T_FLOAT32,    MO_T_FLOAT64,
    MO_T_DECIMAL64, MO_T_DECIMAL128, MO_T_DECIMAL256, MO_T_DATE,     MO_T_TIME,       MO_T_DATETIME,
    MO_T_TIMESTAMP, MO_T_YEAR,       MO_T_CHAR,       MO_T_VARCHAR,  MO_T_JSON,       MO_T_UUID,
    MO_T_BINARY,    MO_T_VARBINARY,  MO_T_ENUM,       MO_T_GEOMETRY, MO_T_GEOMETRY32, MO_T_BLOB,
    MO_T_TEXT,      MO_T_DATALINK,   MO_T_TS,         MO_T_ROWID,    MO_T_BLOCKID,    MO_T_VECF32,
    MO_T_VECF64,    MO_T_VECBF16,    MO_T_VECF16,     MO_T_VECINT8,  MO_T_VECUINT8,
};
#define N_OIDS (sizeof(all_oids) / sizeof(all_oids[0]))

/* One random value of @p oid into @p out (<= 200 bytes); returns its length. */
static uint32_t gen_value(uint8_t oid, uint64_t *rng, uint8_t *out)
{
    uint32_t n;
    if (mo_obj_type_is_varlena(oid)) {
        const uint64_t r = mo_test_rand(rng);
        n = (r & 1) ? (uint32_t)(r >> 8) % 24 : 24 + (uint32_t)(r >> 8) % 120;
        const int elem = mo_obj_type_array_elem(oid);
        if (elem > 1)
            n -= n % (uint32_t)elem;
    } else {
        n = (uint32_t)mo_obj_type_size(oid);
    }
    for (uint32_t i = 0; i < n; i++)
        out[i] = (uint8_t)mo_test_rand(rng);
    if (oid == MO_T_BOOL)
        out[0] &= 1;
    return n;
}

static int append_value(mo_obj_colbuf *c, const uint8_t *p, uint32_t n)
{
    if (mo_obj_type_is_varlena(c->type.oid))
        return mo_obj_colbuf_append_bytes(c, p, n);
    return mo_obj_colbuf_append_fixed(c, p);
}

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *d = mo_malloc(n ? n : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

/* Builds rows of @p oid (null when row % null_mod == null_mod-1, or when every_null),
 * encodes, decodes, compares every row, re-encodes byte-identically, copies via append_from. */
static void roundtrip(uint8_t oid, uint32_t rows, uint32_t null_mod, uint64_t seed)
{
    const mo_obj_type t = mo_obj_type_default(oid);
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &t);
    uint8_t *vals = mo_malloc((size_t)rows * 200);
    uint32_t *lens = mo_malloc((size_t)rows * sizeof(uint32_t));
    CU_ASSERT_PTR_NOT_NULL_FATAL(vals);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lens);
    uint64_t rng = seed;
    uint32_t nulls = 0, last_null = 0;
    for (uint32_t r = 0; r < rows; r++) {
        if (null_mod && r % null_mod == null_mod - 1) {
            lens[r] = UINT32_MAX;
            MO_ASSERT_OK(mo_obj_colbuf_append_null(&c));
            nulls++;
            last_null = r;
            continue;
        }
        lens[r] = gen_value(oid, &rng, vals + (size_t)r * 200);
        MO_ASSERT_OK(append_value(&c, vals + (size_t)r * 200, lens[r]));
    }
    CU_ASSERT_EQUAL(c.rows, rows);
    CU_ASSERT_EQUAL(c.null_count, (int64_t)nulls);
    CU_ASSERT_EQUAL(c.null_bits, nulls ? (uint64_t)last_null + 1 : 0);

    mo_obj_vec v;
    mo_obj_colbuf_view(&v, &c);
    mo_buf w = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_vec_encode(&w, &v, &mo_test_err));
    CU_ASSERT_EQUAL(w.len, mo_obj_vec_encoded_size(&v));
    uint8_t *wire = dup_exact(w.ptr, w.len);

    mo_obj_vec d;
    mo_obj_vec_fault f;
    MO_ASSERT_OK(mo_obj_vec_decode(&d, wire, w.len, 2, &f, &mo_test_err));
    CU_ASSERT_EQUAL(d.cls, MO_OBJ_VEC_FLAT);
    CU_ASSERT_EQUAL(d.type.oid, oid);
    CU_ASSERT_EQUAL(d.type.size, mo_obj_type_size(oid));
    CU_ASSERT_EQUAL(d.type.width, t.width);
    CU_ASSERT_EQUAL(d.type.charset, t.charset);
    CU_ASSERT_EQUAL(d.length, rows);
    CU_ASSERT_EQUAL(d.null_count, (int64_t)nulls);
    CU_ASSERT_EQUAL(d.data - wire, 25);
    if (nulls == 0)
        CU_ASSERT_PTR_NULL(d.null_words);
    for (uint32_t r = 0; r < rows; r++) {
        const bool isnull = lens[r] == UINT32_MAX;
        CU_ASSERT_EQUAL_FATAL(mo_obj_vec_is_null(&d, r), isnull);
        if (isnull)
            continue;
        const uint8_t *p;
        uint32_t n;
        mo_obj_vec_value(&d, r, &p, &n);
        CU_ASSERT_EQUAL_FATAL(n, lens[r]);
        CU_ASSERT_FATAL(n == 0 || memcmp(p, vals + (size_t)r * 200, n) == 0);
    }
    /* canonical: re-encoding the decoded view gives the same bytes */
    mo_buf w2 = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_vec_encode(&w2, &d, &mo_test_err));
    CU_ASSERT_EQUAL_FATAL(w2.len, w.len);
    CU_ASSERT(memcmp(w2.ptr, w.ptr, w.len) == 0);

    /* append_from copies values and nulls; append_range, in uneven runs (step 0: row by row
     * with append_from; then one row, 7, 37, ... rows per call), gives the same bytes */
    for (uint32_t step = 0; step <= rows + 1; step = step ? step * 5 + 2 : 1) {
        mo_obj_colbuf c2;
        mo_obj_colbuf_init(&c2, &t);
        for (uint32_t r = 0; r < rows; r += step ? step : 1) {
            if (!step)
                MO_ASSERT_OK(mo_obj_colbuf_append_from(&c2, &d, r));
            else
                MO_ASSERT_OK(
                    mo_obj_colbuf_append_range(&c2, &d, r, rows - r < step ? rows - r : step));
        }
        mo_obj_vec v2;
        mo_obj_colbuf_view(&v2, &c2);
        mo_buf w3 = MO_BUF_INIT;
        MO_ASSERT_OK(mo_obj_vec_encode(&w3, &v2, &mo_test_err));
        CU_ASSERT_EQUAL_FATAL(w3.len, w.len);
        CU_ASSERT(memcmp(w3.ptr, w.ptr, w.len) == 0);
        mo_buf_dispose(&w3);
        mo_obj_colbuf_dispose(&c2);
    }

    mo_buf_dispose(&w);
    mo_buf_dispose(&w2);
    mo_obj_colbuf_dispose(&c);
    mo_free(wire);
    mo_free(vals);
    mo_free(lens);
}

static void test_vec__roundtrip_1row(void)
{
    for (size_t i = 0; i < N_OIDS; i++) {
        roundtrip(all_oids[i], 1, 0, 1 + i);
        roundtrip(all_oids[i], 1, 1, 1 + i); /* the single row is NULL */
    }
}

static void test_vec__roundtrip_8193(void)
{
    for (size_t i = 0; i < N_OIDS; i++) {
        roundtrip(all_oids[i], 8193, 0, 77 + i);
        roundtrip(all_oids[i], 8193, 7, 99 + i);
        roundtrip(all_oids[i], 8193, 8193, 5 + i); /* only the last row is NULL */
    }
}

static void test_vec__roundtrip_empty(void)
{
    roundtrip(MO_T_INT64, 0, 0, 1);
    roundtrip(MO_T_VARCHAR, 0, 0, 1);
}

/* ---- manual wires ---- */

static void put_type(mo_buf *b, uint8_t oid, int32_t size)
{
    uint8_t t[16] = {0};
    t[0] = oid;
    mo_store_le32(t + 4, (uint32_t)size);
    CU_ASSERT_EQUAL_FATAL(mo_buf_put(b, t, 16), MO_OK);
}

/* class|type|length|dataLen|data|areaLen|area|nullLen|nulls|sorted */
static void build_wire(mo_buf *b, uint8_t cls, uint8_t oid, uint32_t length, const void *data,
                       uint32_t dlen, const void *area, uint32_t alen, const void *nulls,
                       uint32_t nlen, uint8_t sorted)
{
    mo_buf_put_u8(b, cls);
    put_type(b, oid, mo_obj_type_size(oid));
    mo_buf_put_le32(b, length);
    mo_buf_put_le32(b, dlen);
    mo_buf_put(b, data, dlen);
    mo_buf_put_le32(b, alen);
    mo_buf_put(b, area, alen);
    mo_buf_put_le32(b, nlen);
    mo_buf_put(b, nulls, nlen);
    mo_buf_put_u8(b, sorted);
}

/* V2 bitmap bytes with @p count, @p bits, one word @p w0 (and a second word @p w1 when bits>64) */
static size_t build_bm(uint8_t *out, int64_t count, uint64_t bits, uint64_t w0, uint64_t w1)
{
    const uint64_t db = (bits + 63) / 64 * 8;
    mo_store_le64(out, (uint64_t)count);
    mo_store_le64(out + 8, bits);
    mo_store_le64(out + 16, db);
    if (db >= 8)
        mo_store_le64(out + 24, w0);
    if (db >= 16)
        mo_store_le64(out + 32, w1);
    return 24 + db;
}

static int decode_exact(mo_obj_vec *v, const mo_buf *b, uint16_t ver, mo_obj_vec_fault *f)
{
    uint8_t *d = dup_exact(b->ptr, b->len);
    mo_err_clear(&mo_test_err);
    const int rc = mo_obj_vec_decode(v, d, b->len, ver, f, &mo_test_err);
    mo_free(d); /* v is not used after this except scalar fields */
    return rc;
}

static void test_vec__anchor_int64_1row(void)
{
    const mo_obj_type t = mo_obj_type_default(MO_T_INT64);
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &t);
    const int64_t val = 0x0102030405060708;
    uint8_t le[8];
    mo_store_le64(le, (uint64_t)val);
    MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c, le));
    mo_obj_vec v;
    mo_obj_colbuf_view(&v, &c);
    mo_buf w = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_vec_encode(&w, &v, NULL));
    static const uint8_t expect[] = {
        0x00,                                              /* class FLAT */
        23,   0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* type int64, Size 8 */
        1,    0, 0, 0,                                     /* length 1 */
        8,    0, 0, 0,                                     /* dataLen 8 @21 */
        8,    7, 6, 5, 4, 3, 2, 1,                         /* data @25 */
        0,    0, 0, 0,                                     /* areaLen @33 */
        0,    0, 0, 0,                                     /* nullLen @37 = 1+16+4+4+8+4 */
        0,                                                 /* sorted */
    };
    CU_ASSERT_EQUAL_FATAL(w.len, sizeof(expect));
    CU_ASSERT(memcmp(w.ptr, expect, sizeof(expect)) == 0);
    CU_ASSERT_EQUAL(1 + 16 + 4 + 4 + 8 + 4, 37);
    CU_ASSERT_EQUAL(mo_load_le32(w.ptr + 37), 0);

    /* with a NULL in row 0: nullLen at 37 now covers a 32-byte V2 bitmap */
    MO_ASSERT_OK(mo_obj_colbuf_append_null(&c));
    mo_obj_colbuf_reset(&c);
    MO_ASSERT_OK(mo_obj_colbuf_append_null(&c));
    mo_obj_colbuf_view(&v, &c);
    w.len = 0;
    MO_ASSERT_OK(mo_obj_vec_encode(&w, &v, NULL));
    CU_ASSERT_EQUAL(w.len, sizeof(expect) + 32);
    CU_ASSERT_EQUAL(mo_load_le32(w.ptr + 37), 32);
    CU_ASSERT_EQUAL(mo_load_le64(w.ptr + 41), 1); /* count */
    CU_ASSERT_EQUAL(mo_load_le64(w.ptr + 49), 1); /* bitLength = highest null + 1 */
    CU_ASSERT_EQUAL(mo_load_le64(w.ptr + 57), 8); /* dataBytes */
    CU_ASSERT_EQUAL(mo_load_le64(w.ptr + 65), 1); /* word 0 */
    CU_ASSERT_EQUAL(w.ptr[73], 0);                /* sorted */
    mo_buf_dispose(&w);
    mo_obj_colbuf_dispose(&c);
}

static void test_vec__anchor_varlena_offset(void)
{
    const mo_obj_type t = mo_obj_type_default(MO_T_VARCHAR);
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &t);
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "abc", 3));
    const char *longs = "0123456789abcdefghijklmnopqrstuvwxyz"; /* 36 bytes */
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, longs, 36));
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, longs, 23)); /* inline at the limit */
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, longs, 24)); /* out-of-line at the limit */
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "", 0));
    mo_obj_vec v;
    mo_obj_colbuf_view(&v, &c);
    mo_buf w = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_vec_encode(&w, &v, NULL));
    const uint8_t *s = w.ptr + 1 + 16 + 4 + 4; /* 25 */
    /* inline: len, payload, zeros */
    CU_ASSERT_EQUAL(s[0], 3);
    CU_ASSERT(memcmp(s + 1, "abc", 3) == 0);
    for (int i = 4; i < 24; i++)
        CU_ASSERT_EQUAL(s[i], 0);
    /* out-of-line: 0xFFFFFFFF, offset, len, zeros */
    s += 24;
    CU_ASSERT_EQUAL(mo_load_le32(s), 0xFFFFFFFFu);
    CU_ASSERT_EQUAL(mo_load_le32(s + 4), 0);
    CU_ASSERT_EQUAL(mo_load_le32(s + 8), 36);
    for (int i = 12; i < 24; i++)
        CU_ASSERT_EQUAL(s[i], 0);
    s += 24;
    CU_ASSERT_EQUAL(s[0], 23);
    s += 24;
    CU_ASSERT_EQUAL(s[0], 0xFF);
    CU_ASSERT_EQUAL(mo_load_le32(s + 4), 36);
    CU_ASSERT_EQUAL(mo_load_le32(s + 8), 24);
    s += 24;
    CU_ASSERT_EQUAL(s[0], 0);
    /* areaLen right after the data */
    CU_ASSERT_EQUAL(mo_load_le32(w.ptr + 25 + 5 * 24), 60);

    mo_obj_vec d;
    MO_ASSERT_OK(mo_obj_vec_decode(&d, w.ptr, w.len, 2, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(d.data - w.ptr, 25);
    const uint8_t *p;
    uint32_t n;
    mo_obj_vec_bytes(&d, 1, &p, &n);
    CU_ASSERT_EQUAL(n, 36);
    CU_ASSERT(memcmp(p, longs, 36) == 0);
    mo_obj_vec_bytes(&d, 4, &p, &n);
    CU_ASSERT_EQUAL(n, 0);
    mo_buf_dispose(&w);
    mo_obj_colbuf_dispose(&c);
}

static void test_vec__const(void)
{
    mo_buf b = MO_BUF_INIT;
    mo_obj_vec v;
    mo_obj_vec_fault f;
    uint8_t val[8];
    mo_store_le64(val, 42);
    /* const int64 with a value */
    build_wire(&b, MO_OBJ_VEC_CONST, MO_T_INT64, 1000, val, 8, NULL, 0, NULL, 0, 0);
    MO_ASSERT_OK(mo_obj_vec_decode(&v, b.ptr, b.len, 2, &f, &mo_test_err));
    CU_ASSERT_FALSE(mo_obj_vec_is_const_null(&v));
    CU_ASSERT_FALSE(mo_obj_vec_is_null(&v, 999));
    CU_ASSERT_EQUAL(mo_load_le64(mo_obj_vec_slot(&v, 999)), 42);
    mo_buf r = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_vec_encode(&r, &v, NULL));
    CU_ASSERT(r.len == b.len && memcmp(r.ptr, b.ptr, b.len) == 0);
    CU_ASSERT_EQUAL(mo_obj_vec_encoded_size(&v), b.len);

    /* const NULL: dataLen 0 */
    b.len = 0;
    build_wire(&b, MO_OBJ_VEC_CONST, MO_T_INT64, 5, NULL, 0, NULL, 0, NULL, 0, 0);
    MO_ASSERT_OK(mo_obj_vec_decode(&v, b.ptr, b.len, 2, &f, &mo_test_err));
    CU_ASSERT_TRUE(mo_obj_vec_is_const_null(&v));
    CU_ASSERT_TRUE(mo_obj_vec_is_null(&v, 0));
    CU_ASSERT_TRUE(mo_obj_vec_is_null(&v, 4));
    r.len = 0;
    MO_ASSERT_OK(mo_obj_vec_encode(&r, &v, NULL));
    CU_ASSERT(r.len == b.len && memcmp(r.ptr, b.ptr, b.len) == 0);
    /* append_from expands a const-null to NULL rows */
    mo_obj_type t = mo_obj_type_default(MO_T_INT64);
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &t);
    for (uint32_t i = 0; i < v.length; i++)
        MO_ASSERT_OK(mo_obj_colbuf_append_from(&c, &v, i));
    CU_ASSERT_EQUAL(c.null_count, 5);
    CU_ASSERT_EQUAL(c.null_bits, 5);
    mo_obj_colbuf_dispose(&c);

    /* const with data and null bit 0 set is const-null too (IsConstNull) */
    uint8_t bm[40];
    size_t bl = build_bm(bm, 1, 1, 1, 0);
    b.len = 0;
    build_wire(&b, MO_OBJ_VEC_CONST, MO_T_INT64, 5, val, 8, NULL, 0, bm, (uint32_t)bl, 0);
    MO_ASSERT_OK(mo_obj_vec_decode(&v, b.ptr, b.len, 2, &f, &mo_test_err));
    CU_ASSERT_TRUE(mo_obj_vec_is_const_null(&v));
    CU_ASSERT_TRUE(mo_obj_vec_is_null(&v, 3));

    /* const varchar, out-of-line, expands via append_from */
    uint8_t slot[24] = {0};
    mo_store_le32(slot, 0xFFFFFFFFu);
    mo_store_le32(slot + 4, 2);
    mo_store_le32(slot + 8, 30);
    char area[40];
    memset(area, 'q', sizeof(area));
    b.len = 0;
    build_wire(&b, MO_OBJ_VEC_CONST, MO_T_VARCHAR, 3, slot, 24, area, 32, NULL, 0, 0);
    MO_ASSERT_OK(mo_obj_vec_decode(&v, b.ptr, b.len, 2, &f, &mo_test_err));
    t = mo_obj_type_default(MO_T_VARCHAR);
    mo_obj_colbuf_init(&c, &t);
    for (uint32_t i = 0; i < v.length; i++)
        MO_ASSERT_OK(mo_obj_colbuf_append_from(&c, &v, i));
    CU_ASSERT_EQUAL(c.rows, 3);
    CU_ASSERT_EQUAL(c.area.len, 90);
    mo_obj_colbuf_dispose(&c);
    /* ... and with the area one byte short it is corrupt */
    b.len = 0;
    build_wire(&b, MO_OBJ_VEC_CONST, MO_T_VARCHAR, 3, slot, 24, area, 31, NULL, 0, 0);
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_vec_decode(&v, b.ptr, b.len, 2, &f, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(f.field, "varlena");
    CU_ASSERT_EQUAL(f.offset, 25);

    /* CONST dataLen must be Size or 0 */
    b.len = 0;
    build_wire(&b, MO_OBJ_VEC_CONST, MO_T_INT64, 5, val, 4, NULL, 0, NULL, 0, 0);
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_vec_decode(&v, b.ptr, b.len, 2, &f, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(f.field, "dataLen");
    mo_buf_dispose(&b);
    mo_buf_dispose(&r);
}

static void test_vec__v1_bitmap(void)
{
    /* 3-row int32, rows 0 and 2 null; V1 header: i32 emptyFlag | u64 bitLength | u64 dataBytes */
    uint8_t data[12] = {0};
    mo_store_le32(data + 4, 77);
    uint8_t bm[28];
    mo_store_le32(bm, (uint32_t)-1);
    mo_store_le64(bm + 4, 3);
    mo_store_le64(bm + 12, 8);
    mo_store_le64(bm + 20, 5);
    mo_buf b = MO_BUF_INIT;
    build_wire(&b, 0, MO_T_INT32, 3, data, 12, NULL, 0, bm, 28, 0);
    mo_obj_vec v;
    mo_obj_vec_fault f;
    MO_ASSERT_OK(mo_obj_vec_decode(&v, b.ptr, b.len, 1, &f, &mo_test_err));
    CU_ASSERT_EQUAL(v.null_count, 2); /* recomputed by popcount */
    CU_ASSERT_EQUAL(v.null_bits, 3);
    CU_ASSERT_TRUE(mo_obj_vec_is_null(&v, 0));
    CU_ASSERT_FALSE(mo_obj_vec_is_null(&v, 1));
    CU_ASSERT_TRUE(mo_obj_vec_is_null(&v, 2));
    CU_ASSERT_EQUAL(mo_load_le32(mo_obj_vec_slot(&v, 1)), 77);
    /* re-encoding yields V2 */
    mo_buf r = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_vec_encode(&r, &v, NULL));
    mo_obj_vec v2;
    MO_ASSERT_OK(mo_obj_vec_decode(&v2, r.ptr, r.len, 2, &f, &mo_test_err));
    CU_ASSERT_EQUAL(v2.null_count, 2);
    CU_ASSERT_EQUAL(r.len, b.len + 4);
    /* emptyFlag values are informational: 0 and 1 decode alike */
    mo_store_le32(b.ptr + 1 + 16 + 8 + 12 + 4 + 4, 1);
    MO_ASSERT_OK(mo_obj_vec_decode(&v, b.ptr, b.len, 1, &f, &mo_test_err));
    CU_ASSERT_EQUAL(v.null_count, 2);
    /* V1 rules still apply: bit past bitLength */
    const size_t bmoff = 1 + 16 + 8 + 12 + 4 + 4;
    mo_store_le64(b.ptr + bmoff + 20, 5 | 8);
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_vec_decode(&v, b.ptr, b.len, 1, &f, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(f.field, "nulls.words");
    /* a V1 wire read as V2 is malformed (dataBytes is off by 4 bytes) */
    mo_store_le64(b.ptr + bmoff + 20, 5);
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_vec_decode(&v, b.ptr, b.len, 2, &f, &mo_test_err));
    /* unsupported version */
    MO_ASSERT_RC(MO_EVERSION, mo_obj_vec_decode(&v, b.ptr, b.len, 3, &f, &mo_test_err));
    mo_buf_dispose(&b);
    mo_buf_dispose(&r);
}

/* A small varchar wire: inline, out-of-line, NULL, inline. */
static void small_varchar_wire(mo_buf *w)
{
    const mo_obj_type t = mo_obj_type_default(MO_T_VARCHAR);
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &t);
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "hi", 2));
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "a string longer than 23 bytes", 29));
    MO_ASSERT_OK(mo_obj_colbuf_append_null(&c));
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "x", 1));
    mo_obj_vec v;
    mo_obj_colbuf_view(&v, &c);
    MO_ASSERT_OK(mo_obj_vec_encode(w, &v, NULL));
    mo_obj_colbuf_dispose(&c);
}

static void test_vec__truncated_every_offset(void)
{
    mo_buf w = MO_BUF_INIT;
    small_varchar_wire(&w);
    mo_obj_vec v;
    mo_obj_vec_fault f;
    MO_ASSERT_OK(decode_exact(&v, &w, 2, &f));
    for (size_t l = 0; l < w.len; l++) {
        uint8_t *d = dup_exact(w.ptr, l);
        const int rc = mo_obj_vec_decode(&v, d, l, 2, &f, &mo_test_err);
        mo_free(d);
        if (rc != MO_ETRUNCATED)
            fprintf(stderr, "\nprefix %zu: rc %d field %s\n", l, rc, f.field);
        CU_ASSERT_EQUAL_FATAL(rc, MO_ETRUNCATED);
        CU_ASSERT_PTR_NOT_NULL(f.field);
        CU_ASSERT(f.offset <= l);
    }
    mo_buf_dispose(&w);
}

static void test_vec__header_faults(void)
{
    mo_buf w = MO_BUF_INIT;
    small_varchar_wire(&w);
    mo_obj_vec v;
    mo_obj_vec_fault f;

    w.ptr[0] = 3; /* class 3 */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "class");
    CU_ASSERT_EQUAL(f.offset, 0);
    w.ptr[0] = 2; /* DIST is accepted */
    MO_ASSERT_OK(decode_exact(&v, &w, 2, &f));
    w.ptr[0] = 0;

    mo_store_le32(w.ptr + 5, 16); /* wrong Size */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "type.size");
    CU_ASSERT_EQUAL(f.offset, 5);
    mo_store_le32(w.ptr + 5, 24);

    static const uint8_t bad_oids[] = {0, 24, 29, MO_T_INTERVAL, MO_T_OBJECTID, MO_T_TUPLE, 99};
    for (size_t i = 0; i < sizeof(bad_oids); i++) {
        const uint8_t keep = w.ptr[1];
        w.ptr[1] = bad_oids[i];
        MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
        CU_ASSERT_STRING_EQUAL(f.field, "type.oid");
        w.ptr[1] = keep;
    }

    mo_store_le32(w.ptr + 21, 4 * 24 - 1); /* FLAT dataLen != rows*Size */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "dataLen");
    CU_ASSERT_EQUAL(f.offset, 21);
    mo_store_le32(w.ptr + 21, 4 * 24);

    mo_store_le32(w.ptr + 17, 0x40000000); /* length * Size overflows u32 dataLen */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "dataLen");
    mo_store_le32(w.ptr + 17, 4);

    w.ptr[w.len - 1] = 2; /* sorted byte 2 */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "sorted");
    CU_ASSERT_EQUAL(f.offset, w.len - 1);
    w.ptr[w.len - 1] = 1; /* 1 is fine and kept */
    MO_ASSERT_OK(decode_exact(&v, &w, 2, &f));
    CU_ASSERT_EQUAL(v.sorted, 1);
    w.ptr[w.len - 1] = 0;

    mo_buf_put_u8(&w, 0); /* trailing byte */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "trailing");
    CU_ASSERT_EQUAL(f.offset, w.len - 1);
    w.len--;
    MO_ASSERT_OK(decode_exact(&v, &w, 2, &f));
    mo_buf_dispose(&w);
}

static void test_vec__bitmap_faults(void)
{
    /* 4-row int16, row 1 null */
    uint8_t data[8] = {0};
    uint8_t bm[48];
    mo_buf b = MO_BUF_INIT;
    mo_obj_vec v;
    mo_obj_vec_fault f;
    const size_t bmoff = 1 + 16 + 8 + 8 + 4 + 4; /* the count field */

#define WIRE(count, bits, w0, w1)                                                                  \
    do {                                                                                           \
        b.len = 0;                                                                                 \
        size_t bl_ = build_bm(bm, count, bits, w0, w1);                                            \
        build_wire(&b, 0, MO_T_INT16, 4, data, 8, NULL, 0, bm, (uint32_t)bl_, 0);                  \
    } while (0)

    WIRE(1, 2, 2, 0);
    MO_ASSERT_OK(decode_exact(&v, &b, 2, &f));

    WIRE(2, 2, 2, 0); /* count != popcount */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "nulls.count");
    CU_ASSERT_EQUAL(f.offset, bmoff);

    WIRE(0, 2, 2, 0); /* count 0 but a bit set */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "nulls.count");

    WIRE(3, 2, 3, 0); /* count > bitLength */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "nulls.count");

    WIRE(-1, 2, 2, 0); /* negative count */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "nulls.count");

    WIRE(2, 2, 2 | 4, 0); /* bit set at bitLength */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "nulls.words");
    CU_ASSERT_EQUAL(f.offset, bmoff + 24);

    WIRE(2, 2, 2 | (1ull << 63), 0); /* bit 63 of a 2-bit map */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));

    WIRE(2, 65, 2, 4); /* bit 66 of a 65-bit map: second word */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_EQUAL(f.offset, bmoff + 32);

    WIRE(2, 65, 2, 1); /* bit 64 of a 65-bit map is fine; bitLength > length is accepted */
    MO_ASSERT_OK(decode_exact(&v, &b, 2, &f));
    CU_ASSERT_EQUAL(v.null_bits, 65);

    WIRE(2, 64, 2 | (1ull << 63), 0); /* exact word: bit 63 inside */
    MO_ASSERT_OK(decode_exact(&v, &b, 2, &f));

    WIRE(1, 2, 2, 0); /* dataBytes mismatch: claims 16 */
    mo_store_le64(b.ptr + bmoff + 16, 16);
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "nulls.dataBytes");
    CU_ASSERT_EQUAL(f.offset, bmoff + 16);

    WIRE(1, 2, 2, 0); /* bitLength 100 with dataBytes 8 */
    mo_store_le64(b.ptr + bmoff + 8, 100);
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "nulls.dataBytes");

    WIRE(1, 2, 2, 0); /* huge bitLength and dataBytes agreeing with it, but not with nullLen */
    mo_store_le64(b.ptr + bmoff + 8, UINT64_MAX);
    mo_store_le64(b.ptr + bmoff + 16, (UINT64_MAX / 64 + 1) * 8);
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "nulls.dataBytes");

    /* bitmap shorter than its header */
    b.len = 0;
    build_wire(&b, 0, MO_T_INT16, 4, data, 8, NULL, 0, bm, 10, 0);
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "nullLen");

    /* bitmap present with count 0 and no bits: accepted, nothing null */
    WIRE(0, 2, 0, 0);
    MO_ASSERT_OK(decode_exact(&v, &b, 2, &f));
    CU_ASSERT_EQUAL(v.null_count, 0);
#undef WIRE
    mo_buf_dispose(&b);
}

static void test_vec__varlena_faults(void)
{
    mo_buf w = MO_BUF_INIT;
    small_varchar_wire(&w);
    mo_obj_vec v;
    mo_obj_vec_fault f;
    uint8_t *slot1 = w.ptr + 25 + 24;
    uint8_t *slot2 = w.ptr + 25 + 48; /* the NULL row */

    mo_store_le32(slot1 + 4, 1); /* offset 1 + len 29 > areaLen 29 */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "varlena");
    CU_ASSERT_EQUAL(f.row, 1);
    CU_ASSERT_EQUAL(f.offset, 25 + 24);
    mo_store_le32(slot1 + 4, 0);
    mo_store_le32(slot1 + 8, 30);
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    mo_store_le32(slot1 + 4, 0xFFFFFFFFu); /* u32 offset + len must not wrap */
    mo_store_le32(slot1 + 8, 0xFFFFFFFFu);
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    mo_store_le32(slot1 + 4, 0);
    mo_store_le32(slot1 + 8, 29);
    /* only byte 0 decides out-of-line: 24 with junk in u32 @0 is still out-of-line */
    slot1[0] = 24;
    MO_ASSERT_OK(decode_exact(&v, &w, 2, &f));
    slot1[0] = 0xFF;

    /* stale varlena in a NULL row is accepted */
    slot2[0] = 0xFF;
    mo_store_le32(slot2 + 4, 1000);
    mo_store_le32(slot2 + 8, 1000);
    MO_ASSERT_OK(decode_exact(&v, &w, 2, &f));
    mo_buf_dispose(&w);

    /* array payload not a multiple of the element size */
    const mo_obj_type t = mo_obj_type_default(MO_T_VECF32);
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &t);
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "abcdefgh", 8));
    MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, "0123456789abcdef0123456789abcdef", 32));
    mo_obj_vec cv;
    mo_obj_colbuf_view(&cv, &c);
    MO_ASSERT_OK(mo_obj_vec_encode(&w, &cv, NULL));
    MO_ASSERT_OK(decode_exact(&v, &w, 2, &f));
    w.ptr[25] = 5; /* inline 5 bytes */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_STRING_EQUAL(f.field, "varlena");
    CU_ASSERT_EQUAL(f.row, 0);
    w.ptr[25] = 8;
    mo_store_le32(w.ptr + 25 + 24 + 8, 30); /* out-of-line 30 bytes */
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_EQUAL(f.row, 1);
    mo_buf_dispose(&w);
    mo_obj_colbuf_dispose(&c);

    /* vecf64: 4 bytes is not a multiple of 8 */
    mo_buf b = MO_BUF_INIT;
    uint8_t s[24] = {4, 1, 2, 3, 4};
    build_wire(&b, 0, MO_T_VECF64, 1, s, 24, NULL, 0, NULL, 0, 0);
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &b, 2, &f));
    mo_buf_dispose(&b);
}

/*
 * The branch-free all-slots pass of the varlena bounds check, on a full block: a bad slot in
 * a live row is reported at its exact row wherever it is (first, last, after a bad NULL
 * row), and bad slots only in NULL rows are accepted.
 */
static void test_vec__varlena_bounds_block(void)
{
    const mo_obj_type t = mo_obj_type_default(MO_T_VARCHAR);
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &t);
    for (uint32_t r = 0; r < 8192; r++) {
        if (r % 97 == 5) {
            MO_ASSERT_OK(mo_obj_colbuf_append_null(&c));
            continue;
        }
        char val[40];
        const int n = snprintf(val, sizeof(val), "%s-%u", r % 2 ? "a-value-out-of-line" : "s", r);
        MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c, val, (size_t)n));
    }
    mo_obj_vec cv;
    mo_obj_colbuf_view(&cv, &c);
    mo_buf w = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_vec_encode(&w, &cv, NULL));
    mo_obj_vec v;
    mo_obj_vec_fault f;
    MO_ASSERT_OK(decode_exact(&v, &w, 2, &f));
    uint8_t *const d = w.ptr + 25;
    const uint32_t area = v.area_len; /* v is zeroed by a failed decode */
    static const uint32_t bad_rows[] = {0, 1, 4096, 8191};
    for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
        uint8_t *slot = d + 24u * bad_rows[i];
        uint8_t keep[24];
        memcpy(keep, slot, 24);
        slot[0] = 0xFF;
        mo_store_le32(slot + 4, area); /* offset at the end, length 1: one byte beyond */
        mo_store_le32(slot + 8, 1);
        MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
        CU_ASSERT_STRING_EQUAL(f.field, "varlena");
        CU_ASSERT_EQUAL(f.row, bad_rows[i]);
        memcpy(slot, keep, 24);
    }
    /* NULL rows 5 and 102 hold junk: accepted; then live row 200 is bad: reported */
    uint8_t *n1 = d + 24u * 5, *n2 = d + 24u * 102, *l = d + 24u * 200;
    n1[0] = n2[0] = 0xFF;
    mo_store_le32(n1 + 4, 0xFFFFFFF0u);
    mo_store_le32(n2 + 8, 0xFFFFFFF0u);
    MO_ASSERT_OK(decode_exact(&v, &w, 2, &f));
    l[0] = 0xFF;
    mo_store_le32(l + 8, area + 1);
    MO_ASSERT_RC(MO_ECORRUPT, decode_exact(&v, &w, 2, &f));
    CU_ASSERT_EQUAL(f.row, 200);
    mo_buf_dispose(&w);
    mo_obj_colbuf_dispose(&c);
}

/* Random byte flips of valid wires: never a crash, only OK / ECORRUPT / ETRUNCATED, and an
 * accepted wire is safe to walk with every accessor. */
static void test_vec__mutations(void)
{
    uint64_t rng = 12345;
    static const uint8_t oids[] = {MO_T_VARCHAR, MO_T_INT32, MO_T_VECF32, MO_T_DECIMAL128};
    for (size_t k = 0; k < sizeof(oids); k++) {
        const mo_obj_type t = mo_obj_type_default(oids[k]);
        mo_obj_colbuf c;
        mo_obj_colbuf_init(&c, &t);
        uint8_t val[200];
        for (int r = 0; r < 70; r++) {
            if (r % 5 == 2)
                MO_ASSERT_OK(mo_obj_colbuf_append_null(&c));
            else
                MO_ASSERT_OK(append_value(&c, val, gen_value(oids[k], &rng, val)));
        }
        mo_obj_vec cv;
        mo_obj_colbuf_view(&cv, &c);
        mo_buf w = MO_BUF_INIT;
        MO_ASSERT_OK(mo_obj_vec_encode(&w, &cv, NULL));
        for (int it = 0; it < 3000; it++) {
            uint8_t *d = dup_exact(w.ptr, w.len);
            const int flips = 1 + (int)(mo_test_rand(&rng) % 3);
            for (int i = 0; i < flips; i++)
                d[mo_test_rand(&rng) % w.len] ^= (uint8_t)(1u << (mo_test_rand(&rng) % 8));
            mo_obj_vec v;
            const int rc = mo_obj_vec_decode(&v, d, w.len, 2, NULL, NULL);
            CU_ASSERT_FATAL(rc == MO_OK || rc == MO_ECORRUPT || rc == MO_ETRUNCATED);
            if (rc == MO_OK) {
                for (uint32_t r = 0; r < v.length; r++) {
                    if (mo_obj_vec_is_null(&v, r))
                        continue;
                    const uint8_t *p;
                    uint32_t n;
                    mo_obj_vec_value(&v, r, &p, &n);
                    volatile uint8_t sink = 0;
                    for (uint32_t i = 0; i < n; i++)
                        sink ^= p[i];
                    (void)sink;
                }
            }
            mo_free(d);
        }
        mo_buf_dispose(&w);
        mo_obj_colbuf_dispose(&c);
    }
}

static void test_vec__colbuf(void)
{
    const mo_obj_type t = mo_obj_type_default(MO_T_INT32);
    mo_obj_colbuf c;
    mo_obj_colbuf_init(&c, &t);
    uint8_t v4[4] = {1, 0, 0, 0};
    MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c, v4));
    MO_ASSERT_OK(mo_obj_colbuf_append_null(&c));
    for (int i = 0; i < 100; i++)
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c, v4));
    CU_ASSERT_EQUAL(c.null_bits, 2);
    CU_ASSERT_EQUAL(c.nulls.len, 8);
    MO_ASSERT_OK(mo_obj_colbuf_append_null(&c)); /* row 102 */
    CU_ASSERT_EQUAL(c.null_bits, 103);
    CU_ASSERT_EQUAL(c.nulls.len, 16);
    CU_ASSERT_EQUAL(c.null_count, 2);
    CU_ASSERT_EQUAL(mo_load_le32(c.data.ptr + 4), 0); /* NULL slots are zero */
    mo_obj_vec v;
    mo_obj_colbuf_view(&v, &c);
    CU_ASSERT_TRUE(mo_obj_vec_is_null(&v, 102));
    CU_ASSERT_FALSE(mo_obj_vec_is_null(&v, 101));
    CU_ASSERT_FALSE(mo_obj_vec_is_null(&v, 5000));
    mo_buf w = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_vec_encode(&w, &v, NULL));
    /* nullLen = 24 + ceil(103/64)*8 */
    CU_ASSERT_EQUAL(mo_load_le32(w.ptr + 25 + 103 * 4 + 4), 24 + 16);
    mo_obj_colbuf_reset(&c);
    CU_ASSERT_EQUAL(c.rows, 0);
    CU_ASSERT_EQUAL(c.null_bits, 0);
    CU_ASSERT_EQUAL(c.type.oid, MO_T_INT32);
    MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c, v4));
    mo_obj_colbuf_view(&v, &c);
    CU_ASSERT_FALSE(mo_obj_vec_is_null(&v, 0));
    CU_ASSERT_PTR_NULL(v.null_words);

    /* type mismatch in append_from */
    const mo_obj_type tv = mo_obj_type_default(MO_T_VARCHAR);
    mo_obj_colbuf cs;
    mo_obj_colbuf_init(&cs, &tv);
    MO_ASSERT_RC(MO_EINVAL, mo_obj_colbuf_append_from(&cs, &v, 0));
    mo_obj_colbuf_dispose(&cs);
    mo_obj_colbuf_dispose(&c);
    mo_obj_colbuf_dispose(&c); /* dispose twice is harmless */
    mo_obj_colbuf_dispose(NULL);
    mo_buf_dispose(&w);
}

/* Encoding a vec whose words carry bits past bitLength masks them (canonical output). */
static void test_vec__encode_canonical(void)
{
    uint8_t data[16] = {0};
    uint8_t words[16] = {0};
    mo_store_le64(words, 0xF1); /* bits 0, 4..7 */
    mo_obj_vec v;
    memset(&v, 0, sizeof(v));
    v.cls = MO_OBJ_VEC_FLAT;
    v.type = mo_obj_type_default(MO_T_INT16);
    v.length = 8;
    v.data = data;
    v.data_len = 16;
    v.null_words = words;
    v.null_words_bytes = 16; /* more than needed */
    v.null_bits = 1;
    v.null_count = 1;
    mo_buf w = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_vec_encode(&w, &v, NULL));
    CU_ASSERT_EQUAL(w.len, mo_obj_vec_encoded_size(&v));
    mo_obj_vec d;
    MO_ASSERT_OK(mo_obj_vec_decode(&d, w.ptr, w.len, 2, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(d.null_bits, 1);
    CU_ASSERT_EQUAL(d.null_words_bytes, 8);
    CU_ASSERT_TRUE(mo_obj_vec_is_null(&d, 0));
    CU_ASSERT_FALSE(mo_obj_vec_is_null(&d, 4));
    mo_buf_dispose(&w);
}

static void test_vec__oom(void)
{
#ifdef MO_FAULT_INJECTION
    for (unsigned long nth = 1; nth < 50; nth++) {
        const mo_obj_type t = mo_obj_type_default(MO_T_VARCHAR);
        mo_obj_colbuf c;
        mo_obj_colbuf_init(&c, &t);
        mo_buf w = MO_BUF_INIT;
        mo_alloc_fail_at(nth, false);
        int rc = MO_OK;
        for (int i = 0; i < 40 && rc == MO_OK; i++) {
            if (i % 3 == 0)
                rc = mo_obj_colbuf_append_null(&c);
            else
                rc = mo_obj_colbuf_append_bytes(&c, "0123456789abcdef0123456789", 20 + i % 7);
        }
        if (rc == MO_OK) {
            mo_obj_vec v;
            mo_obj_colbuf_view(&v, &c);
            rc = mo_obj_vec_encode(&w, &v, NULL);
        }
        mo_alloc_fail_at(0, false);
        CU_ASSERT(rc == MO_OK || rc == MO_ENOMEM);
        if (rc == MO_OK) {
            mo_obj_vec d;
            MO_ASSERT_OK(mo_obj_vec_decode(&d, w.ptr, w.len, 2, NULL, &mo_test_err));
            CU_ASSERT_EQUAL(d.length, 40);
        } else {
            /* the builder stays consistent after a failed append */
            mo_obj_vec v;
            mo_obj_colbuf_view(&v, &c);
            mo_buf w2 = MO_BUF_INIT;
            MO_ASSERT_OK(mo_obj_vec_encode(&w2, &v, NULL));
            mo_obj_vec d;
            MO_ASSERT_OK(mo_obj_vec_decode(&d, w2.ptr, w2.len, 2, NULL, &mo_test_err));
            CU_ASSERT_EQUAL(d.length, c.rows);
            mo_buf_dispose(&w2);
        }
        mo_buf_dispose(&w);
        mo_obj_colbuf_dispose(&c);
    }
#endif
}

static CU_TestInfo vec_tests[] = {
    {"roundtrip_1row", test_vec__roundtrip_1row},
    {"roundtrip_8193", test_vec__roundtrip_8193},
    {"roundtrip_empty", test_vec__roundtrip_empty},
    {"anchor_int64_1row", test_vec__anchor_int64_1row},
    {"anchor_varlena_offset", test_vec__anchor_varlena_offset},
    {"const", test_vec__const},
    {"v1_bitmap", test_vec__v1_bitmap},
    {"truncated_every_offset", test_vec__truncated_every_offset},
    {"header_faults", test_vec__header_faults},
    {"bitmap_faults", test_vec__bitmap_faults},
    {"varlena_faults", test_vec__varlena_faults},
    {"varlena_bounds_block", test_vec__varlena_bounds_block},
    {"mutations", test_vec__mutations},
    {"colbuf", test_vec__colbuf},
    {"encode_canonical", test_vec__encode_canonical},
    {"oom", test_vec__oom},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_vec_suites[] = {
    {"vec", NULL, NULL, NULL, NULL, vec_tests},
    CU_SUITE_INFO_NULL,
};
