/* Fuzz target for the vector wire codec (objfmt/obj_vec.c, spec §7).
 * Byte 0 is control, the rest is one vector wire (the bytes after the 4-byte IOEntry header):
 *   bit 0  wire version: 0 -> 2 (i64 count bitmap header), 1 -> 1 (i32 flag, count recomputed).
 * Oracles: decode fails only with MO_ECORRUPT or MO_ETRUNCATED, and then names a field and an
 * offset inside the wire; a decoded vector's views lie inside the wire and every accessor
 * (is_null, slot, value) stays in bounds for every row (ASan); mo_obj_vec_encode produces
 * exactly mo_obj_vec_encoded_size bytes that decode again (as version 2) to an equal vector:
 * same class, type, rows, data, area, sorted byte, the same NULL rows and the same values;
 * and that canonical encoding is a fixed point of decode+encode. */
#include <string.h>

#include "mo/obj_vec.h"
#include "mo_fuzz.h"

static bool inside(const uint8_t *p, uint64_t n, const uint8_t *base, size_t len)
{
    if (n == 0)
        return true;
    return p >= base && (size_t)(p - base) <= len && n <= len - (size_t)(p - base);
}

static unsigned touch(const uint8_t *p, uint32_t n)
{
    unsigned s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

/* Bounds of every view and accessor of @p v over the wire [base, base+len). */
static void check_views(const mo_obj_vec *v, const uint8_t *base, size_t len)
{
    volatile unsigned sink = 0;
    MO_FUZZ_CHECK(inside(v->data, v->data_len, base, len));
    MO_FUZZ_CHECK(inside(v->area, v->area_len, base, len));
    if (v->null_words)
        MO_FUZZ_CHECK(inside(v->null_words, v->null_words_bytes, base, len));
    MO_FUZZ_CHECK(v->null_count >= 0 && (uint64_t)v->null_count <= v->null_bits);
    MO_FUZZ_CHECK(v->type.size > 0);
    const bool cnull = mo_obj_vec_is_const_null(v);
    if (v->cls == MO_OBJ_VEC_CONST) {
        MO_FUZZ_CHECK(v->data_len == 0 || v->data_len == (uint32_t)v->type.size);
        if (!cnull) {
            MO_FUZZ_CHECK(v->data_len == (uint32_t)v->type.size);
            const uint8_t *s = mo_obj_vec_slot(v, 0);
            MO_FUZZ_CHECK(inside(s, (uint32_t)v->type.size, v->data, v->data_len));
        }
    } else {
        MO_FUZZ_CHECK((uint64_t)v->length * (uint64_t)v->type.size == v->data_len);
    }
    for (uint32_t r = 0; r < v->length; r++) {
        if (v->cls == MO_OBJ_VEC_CONST && v->length > 4 && r == 3)
            r = v->length - 1; /* every const row is the same slot: sample the ends */
        const bool isnull = mo_obj_vec_is_null(v, r);
        if (v->cls == MO_OBJ_VEC_CONST)
            MO_FUZZ_CHECK(isnull == cnull);
        if (isnull)
            continue;
        const uint8_t *s = mo_obj_vec_slot(v, r);
        MO_FUZZ_CHECK(inside(s, (uint32_t)v->type.size, v->data, v->data_len));
        const uint8_t *p;
        uint32_t n;
        mo_obj_vec_value(v, r, &p, &n);
        if (mo_obj_type_is_varlena(v->type.oid)) {
            MO_FUZZ_CHECK(inside(p, n, s, (size_t)v->type.size) ||
                          inside(p, n, v->area, v->area_len));
            const int el = mo_obj_type_array_elem(v->type.oid);
            if (el > 1)
                MO_FUZZ_CHECK(n % (uint32_t)el == 0);
        } else {
            MO_FUZZ_CHECK(p == s && n == (uint32_t)v->type.size);
        }
        sink += touch(p, n);
    }
    (void)sink;
}

/* Same rows, NULL rows and values. */
static void check_equal(const mo_obj_vec *a, const mo_obj_vec *b)
{
    MO_FUZZ_CHECK(a->cls == b->cls && a->length == b->length && a->sorted == b->sorted);
    MO_FUZZ_CHECK(memcmp(&a->type, &b->type, sizeof(a->type)) == 0);
    MO_FUZZ_CHECK(a->data_len == b->data_len && a->area_len == b->area_len);
    MO_FUZZ_CHECK(a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
    MO_FUZZ_CHECK(a->area_len == 0 || memcmp(a->area, b->area, a->area_len) == 0);
    MO_FUZZ_CHECK(a->null_count == b->null_count);
    MO_FUZZ_CHECK(mo_obj_vec_is_const_null(a) == mo_obj_vec_is_const_null(b));
    for (uint32_t r = 0; r < a->length; r++) {
        if (a->cls == MO_OBJ_VEC_CONST && a->length > 2 && r == 1)
            r = a->length - 1; /* const: first and last row */
        const bool na = mo_obj_vec_is_null(a, r);
        MO_FUZZ_CHECK(na == mo_obj_vec_is_null(b, r));
        if (na)
            continue;
        const uint8_t *p, *q;
        uint32_t pn, qn;
        mo_obj_vec_value(a, r, &p, &pn);
        mo_obj_vec_value(b, r, &q, &qn);
        MO_FUZZ_CHECK(pn == qn && (pn == 0 || memcmp(p, q, pn) == 0));
    }
}

static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *q = mo_malloc(n ? n : 1);
    MO_FUZZ_CHECK(q != NULL);
    if (n)
        memcpy(q, p, n);
    return q;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint16_t version = (data[0] & 1) ? 1 : 2;
    const size_t n = size - 1;
    uint8_t *p = exact_copy(data + 1, n);

    mo_obj_vec v;
    mo_obj_vec_fault fault;
    mo_err err;
    int rc = mo_obj_vec_decode(&v, p, n, version, &fault, &err);
    if (rc < 0) {
        MO_FUZZ_CHECK(rc == MO_ECORRUPT || rc == MO_ETRUNCATED);
        MO_FUZZ_CHECK(err.code == rc && err.msg[0] != 0);
        MO_FUZZ_CHECK(fault.field != NULL && fault.offset <= n);
        mo_free(p);
        return 0;
    }
    check_views(&v, p, n);

    mo_buf enc = MO_BUF_INIT;
    MO_FUZZ_CHECK(mo_obj_vec_encode(&enc, &v, &err) == MO_OK);
    MO_FUZZ_CHECK(enc.len == mo_obj_vec_encoded_size(&v));
    if (version == 2 && (v.null_count > 0 || v.null_words == NULL))
        MO_FUZZ_CHECK(enc.len == n); /* V2 with a canonical bitmap: same size */
    uint8_t *e = exact_copy(enc.ptr, enc.len);
    mo_obj_vec v2;
    rc = mo_obj_vec_decode(&v2, e, enc.len, 2, &fault, &err);
    MO_FUZZ_CHECK(rc == MO_OK);
    check_views(&v2, e, enc.len);
    check_equal(&v, &v2);

    /* canonical form is a fixed point */
    mo_buf enc2 = MO_BUF_INIT;
    MO_FUZZ_CHECK(mo_obj_vec_encode(&enc2, &v2, &err) == MO_OK);
    MO_FUZZ_CHECK(enc2.len == enc.len && memcmp(enc2.ptr, enc.ptr, enc.len) == 0);

    mo_buf_dispose(&enc2);
    mo_free(e);
    mo_buf_dispose(&enc);
    mo_free(p);
    return 0;
}
