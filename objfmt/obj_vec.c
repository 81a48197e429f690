/* Vector wire codec (spec §7): decode with full validation, canonical V2 encode, row
 * accessors and the owned column builder used by writers.
 * Invariants: a vec returned by mo_obj_vec_decode has been checked completely (Size, dataLen,
 * bitmap, varlena bounds, array alignment), so the accessors below do no bounds checks on
 * its bytes. A decode failure names the wire offset and the field in mo_obj_vec_fault.
 * Everything read from the wire is bounds-checked through mo_cur and overflow-checked u64
 * arithmetic before use; nothing from the wire reaches an assert. */
#include <assert.h>
#include <inttypes.h>

#include "mo/obj_vec.h"

#define VEC_HDR_LEN (1 + MO_OBJ_TYPE_LEN + 4 + 4) /* class, type, length, dataLen */
#define BM_V2_HDR 24                              /* i64 count | u64 bitLength | u64 dataBytes */
#define BM_V1_HDR 20 /* i32 emptyFlag | u64 bitLength | u64 dataBytes */
#define VARLENA_INLINE_MAX 23

static int vec_fail(mo_obj_vec_fault *fault, mo_err *err, int code, uint64_t off, const char *field,
                    uint32_t row, const char *why)
{
    if (fault) {
        fault->offset = off;
        fault->field = field;
        fault->row = row;
    }
    if (row != UINT32_MAX)
        return mo_err_set(err, code, "vector wire @%" PRIu64 ": %s (row %" PRIu32 "): %s", off,
                          field, row, why);
    return mo_err_set(err, code, "vector wire @%" PRIu64 ": %s: %s", off, field, why);
}

/* Truncation: the wire ended before the field at @p off. */
static int vec_trunc(mo_obj_vec_fault *fault, mo_err *err, uint64_t off, const char *field)
{
    return vec_fail(fault, err, MO_ETRUNCATED, off, field, UINT32_MAX, "wire ends early");
}

/* SWAR popcount, inline: at the x86-64 baseline (no POPCNT) __builtin_popcountll is a call
 * into libgcc, made once per bitmap word of every chunk. */
static unsigned popcount64(uint64_t v)
{
    v -= (v >> 1) & 0x5555555555555555ull;
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (unsigned)((v * 0x0101010101010101ull) >> 56);
}

/* ceil(bits/64)*8 with overflow detection. */
static bool bitmap_bytes(uint64_t bits, uint64_t *out)
{
    const uint64_t words = bits / 64 + (bits % 64 != 0);
    return !mo_mul_overflow(words, 8, out);
}

static bool bit_is_set(const uint8_t *words, uint64_t nbytes, uint64_t bit)
{
    const uint64_t byte = (bit >> 6) * 8 + ((bit & 63) >> 3);
    if (byte >= nbytes)
        return false;
    return (words[byte] >> (bit & 7)) & 1;
}

/* Parses and validates the bitmap that occupies exactly [base, base+len) of the wire. */
static int decode_bitmap(mo_obj_vec *v, const uint8_t *bm, uint64_t len, uint64_t base,
                         uint16_t version, mo_obj_vec_fault *fault, mo_err *err)
{
    const uint64_t hdr = version == 1 ? BM_V1_HDR : BM_V2_HDR;
    if (len < hdr)
        return vec_fail(fault, err, MO_ECORRUPT, base - 4, "nullLen", UINT32_MAX,
                        "shorter than the bitmap header");
    int64_t count = 0;
    uint64_t off_bits;
    if (version == 1) {
        off_bits = 4; /* i32 emptyFlag is informational; the count is recomputed */
    } else {
        count = (int64_t)mo_load_le64(bm);
        off_bits = 8;
    }
    const uint64_t bits = mo_load_le64(bm + off_bits);
    const uint64_t dbytes = mo_load_le64(bm + off_bits + 8);
    uint64_t want;
    if (!bitmap_bytes(bits, &want))
        return vec_fail(fault, err, MO_ECORRUPT, base + off_bits, "nulls.bitLength", UINT32_MAX,
                        "bitLength too large");
    if (dbytes != want)
        return vec_fail(fault, err, MO_ECORRUPT, base + off_bits + 8, "nulls.dataBytes", UINT32_MAX,
                        "dataBytes != ceil(bitLength/64)*8");
    if (len - hdr != dbytes)
        return vec_fail(fault, err, MO_ECORRUPT, base + off_bits + 8, "nulls.dataBytes", UINT32_MAX,
                        "dataBytes disagrees with nullLen");
    const uint8_t *words = bm + hdr;
    uint64_t pop = 0;
    for (uint64_t i = 0; i < dbytes / 8; i++) {
        uint64_t w = mo_load_le64(words + i * 8);
        const uint64_t first = i * 64;
        if (bits < first + 64) {
            /* last word: bits at or after bitLength must be clear */
            const uint64_t keep = bits - first; /* 1..63 here, since dbytes is exact */
            if (w >> keep)
                return vec_fail(fault, err, MO_ECORRUPT, base + hdr + i * 8, "nulls.words",
                                UINT32_MAX, "bit set at or beyond bitLength");
        }
        pop += popcount64(w);
    }
    if (version == 1) {
        count = (int64_t)pop;
    } else {
        if (count < 0 || (uint64_t)count > bits)
            return vec_fail(fault, err, MO_ECORRUPT, base, "nulls.count", UINT32_MAX,
                            "count < 0 or count > bitLength");
        if ((uint64_t)count != pop)
            return vec_fail(fault, err, MO_ECORRUPT, base, "nulls.count", UINT32_MAX,
                            "count != popcount(words)");
    }
    v->null_words = words;
    v->null_bits = bits;
    v->null_words_bytes = dbytes;
    v->null_count = count;
    return MO_OK;
}

/* Varlena bounds (and array alignment) of one slot. */
static int check_varlena(const mo_obj_vec *v, const uint8_t *slot, uint32_t row, uint64_t off,
                         int elem, mo_obj_vec_fault *fault, mo_err *err)
{
    uint64_t n;
    if (slot[0] <= VARLENA_INLINE_MAX) {
        n = slot[0];
    } else {
        const uint64_t aoff = mo_load_le32(slot + 4);
        n = mo_load_le32(slot + 8);
        if (aoff + n > v->area_len) /* both < 2^32: no overflow */
            return vec_fail(fault, err, MO_ECORRUPT, off, "varlena", row,
                            "offset+len beyond areaLen");
    }
    if (elem > 1 && n % (uint64_t)elem != 0)
        return vec_fail(fault, err, MO_ECORRUPT, off, "varlena", row,
                        "array payload not a multiple of the element size");
    return MO_OK;
}

/*
 * True when every slot of a FLAT/DIST varlena view, NULL rows included, is inline or points
 * inside the area. Branch-free over the slot array; a false answer (some slot is out of
 * bounds, perhaps only a NULL row's) sends the caller to the exact row-by-row check, which
 * skips NULL rows and names the first bad one.
 */
static bool varlena_bounds_ok(const mo_obj_vec *v)
{
    const uint8_t *s = v->data;
    const uint64_t area = v->area_len;
    unsigned bad = 0;
    for (uint32_t r = 0; r < v->length; r++, s += MO_OBJ_VARLENA_SIZE) {
        const uint64_t end = (uint64_t)mo_load_le32(s + 4) + mo_load_le32(s + 8);
        bad |= (unsigned)(s[0] > VARLENA_INLINE_MAX) & (unsigned)(end > area);
    }
    return !bad;
}

int mo_obj_vec_decode(mo_obj_vec *out, const void *wire, size_t len, uint16_t version,
                      mo_obj_vec_fault *fault, mo_err *err)
{
    assert(out && (wire || len == 0));
    if (version != 1 && version != 2)
        return mo_err_set(err, MO_EVERSION, "vector wire version %u unsupported",
                          (unsigned)version);
    memset(out, 0, sizeof(*out));
    if (fault) {
        fault->offset = 0;
        fault->field = NULL;
        fault->row = UINT32_MAX;
    }
    mo_cur c;
    mo_cur_init(&c, wire, len);
    mo_obj_vec v;
    memset(&v, 0, sizeof(v));

    if (!mo_cur_u8(&c, &v.cls))
        return vec_trunc(fault, err, 0, "class");
    if (v.cls > MO_OBJ_VEC_DIST)
        return vec_fail(fault, err, MO_ECORRUPT, 0, "class", UINT32_MAX, "class > 2");

    const uint8_t *tb;
    if (!mo_cur_take(&c, MO_OBJ_TYPE_LEN, &tb))
        return vec_trunc(fault, err, 1, "type");
    v.type.oid = tb[0];
    v.type.charset = tb[1];
    v.type.not_null = tb[2];
    v.type.size = (int32_t)mo_load_le32(tb + 4);
    v.type.width = (int32_t)mo_load_le32(tb + 8);
    v.type.scale = (int32_t)mo_load_le32(tb + 12);
    const int canon = mo_obj_type_size(v.type.oid);
    if (canon < 0)
        return vec_fail(fault, err, MO_ECORRUPT, 1, "type.oid", UINT32_MAX,
                        "oid not storable in a vector");
    if (v.type.size != canon)
        return vec_fail(fault, err, MO_ECORRUPT, 5, "type.size", UINT32_MAX,
                        "invalid vector type size");
    const bool varlena = mo_obj_type_is_varlena(v.type.oid);
    const uint64_t size = (uint64_t)canon;

    if (!mo_cur_le32(&c, &v.length))
        return vec_trunc(fault, err, 17, "length");
    if (!mo_cur_le32(&c, &v.data_len))
        return vec_trunc(fault, err, 21, "dataLen");
    if (v.cls == MO_OBJ_VEC_CONST) {
        if (v.data_len != 0 && v.data_len != size)
            return vec_fail(fault, err, MO_ECORRUPT, 21, "dataLen", UINT32_MAX,
                            "CONSTANT dataLen must be Size or 0");
    } else {
        uint64_t want;
        if (mo_mul_overflow(v.length, size, &want) || want != v.data_len)
            return vec_fail(fault, err, MO_ECORRUPT, 21, "dataLen", UINT32_MAX,
                            "dataLen != length * Size");
    }
    if (!mo_cur_take(&c, v.data_len, &v.data))
        return vec_trunc(fault, err, c.pos, "data");

    if (!mo_cur_le32(&c, &v.area_len))
        return vec_trunc(fault, err, c.pos, "areaLen");
    if (!mo_cur_take(&c, v.area_len, &v.area))
        return vec_trunc(fault, err, c.pos, "area");

    uint32_t null_len;
    if (!mo_cur_le32(&c, &null_len))
        return vec_trunc(fault, err, c.pos, "nullLen");
    const uint64_t null_base = c.pos;
    const uint8_t *bm = NULL;
    if (!mo_cur_take(&c, null_len, &bm))
        return vec_trunc(fault, err, c.pos, "nulls");
    int rc;
    if (null_len > 0 && (rc = decode_bitmap(&v, bm, null_len, null_base, version, fault, err)) < 0)
        return rc;

    if (!mo_cur_u8(&c, &v.sorted))
        return vec_trunc(fault, err, c.pos, "sorted");
    if (v.sorted > 1)
        return vec_fail(fault, err, MO_ECORRUPT, c.pos - 1, "sorted", UINT32_MAX,
                        "sorted byte > 1");
    if (mo_cur_left(&c) != 0)
        return vec_fail(fault, err, MO_ECORRUPT, c.pos, "trailing", UINT32_MAX,
                        "trailing bytes after the sorted byte");

    if (varlena) {
        const int elem = mo_obj_type_array_elem(v.type.oid);
        if (v.cls == MO_OBJ_VEC_CONST) {
            if (v.data_len > 0 && !mo_obj_vec_is_const_null(&v) &&
                (rc = check_varlena(&v, v.data, 0, VEC_HDR_LEN, elem, fault, err)) < 0)
                return rc;
        } else if (elem <= 1 && varlena_bounds_ok(&v)) {
            /* the common case: every slot in bounds, proven by one tight pass */
        } else {
            for (uint32_t r = 0; r < v.length; r++) {
                if (mo_obj_vec_is_null(&v, r))
                    continue;
                if ((rc = check_varlena(&v, v.data + (size_t)r * MO_OBJ_VARLENA_SIZE, r,
                                        VEC_HDR_LEN + (uint64_t)r * MO_OBJ_VARLENA_SIZE, elem,
                                        fault, err)) < 0)
                    return rc;
            }
        }
    }
    *out = v;
    return MO_OK;
}

static uint64_t encoded_null_len(const mo_obj_vec *v, uint64_t *dbytes)
{
    *dbytes = 0;
    if (v->null_count == 0)
        return 0;
    if (!bitmap_bytes(v->null_bits, dbytes))
        return UINT64_MAX;
    return BM_V2_HDR + *dbytes;
}

size_t mo_obj_vec_encoded_size(const mo_obj_vec *v)
{
    uint64_t dbytes;
    const uint64_t nl = encoded_null_len(v, &dbytes);
    return (size_t)(VEC_HDR_LEN + (uint64_t)v->data_len + 4 + v->area_len + 4 + nl + 1);
}

int mo_obj_vec_encode(mo_buf *out, const mo_obj_vec *v, mo_err *err)
{
    uint64_t dbytes;
    const uint64_t nl = encoded_null_len(v, &dbytes);
    if (nl > UINT32_MAX)
        return mo_err_set(err, MO_EINVAL, "null bitmap of %" PRIu64 " bits does not fit a wire",
                          v->null_bits);
    assert(v->null_count == 0 || v->null_words || v->null_words_bytes == 0);
    const size_t total = mo_obj_vec_encoded_size(v);
    const size_t start = out->len;
    uint8_t *p;
    if (mo_buf_grow(out, total, &p) < 0)
        return mo_err_set(err, MO_ENOMEM, "vector encode: out of memory (%zu bytes)", total);
    p[0] = v->cls;
    mo_obj_type_encode(p + 1, &v->type);
    mo_store_le32(p + 17, v->length);
    mo_store_le32(p + 21, v->data_len);
    p += VEC_HDR_LEN;
    if (v->data_len)
        memcpy(p, v->data, v->data_len);
    p += v->data_len;
    mo_store_le32(p, v->area_len);
    p += 4;
    if (v->area_len)
        memcpy(p, v->area, v->area_len);
    p += v->area_len;
    mo_store_le32(p, (uint32_t)nl);
    p += 4;
    if (nl) {
        mo_store_le64(p, (uint64_t)v->null_count);
        mo_store_le64(p + 8, v->null_bits);
        mo_store_le64(p + 16, dbytes);
        p += BM_V2_HDR;
        const uint64_t have = v->null_words_bytes < dbytes ? v->null_words_bytes : dbytes;
        if (have)
            memcpy(p, v->null_words, (size_t)have);
        memset(p + have, 0, (size_t)(dbytes - have));
        /* canonical: nothing at or beyond bitLength */
        if (v->null_bits % 64) {
            uint8_t *last = p + dbytes - 8;
            mo_store_le64(last, mo_load_le64(last) & ((UINT64_C(1) << (v->null_bits % 64)) - 1));
        }
        p += dbytes;
    }
    *p++ = v->sorted;
    assert((size_t)(p - out->ptr) == start + total);
    (void)start;
    return MO_OK;
}

bool mo_obj_vec_is_const_null(const mo_obj_vec *v)
{
    if (v->cls != MO_OBJ_VEC_CONST)
        return false;
    return v->data_len == 0 ||
           (v->null_words && bit_is_set(v->null_words, v->null_words_bytes, 0) && v->null_bits > 0);
}

bool mo_obj_vec_is_null(const mo_obj_vec *v, uint32_t row)
{
    if (v->cls == MO_OBJ_VEC_CONST)
        return mo_obj_vec_is_const_null(v);
    if (!v->null_words || row >= v->null_bits)
        return false;
    return bit_is_set(v->null_words, v->null_words_bytes, row);
}

const uint8_t *mo_obj_vec_slot(const mo_obj_vec *v, uint32_t row)
{
    if (v->cls == MO_OBJ_VEC_CONST)
        return v->data;
    return v->data + (size_t)row * (size_t)v->type.size;
}

void mo_obj_vec_bytes(const mo_obj_vec *v, uint32_t row, const uint8_t **p, uint32_t *n)
{
    const uint8_t *s = mo_obj_vec_slot(v, row);
    if (s[0] <= VARLENA_INLINE_MAX) {
        *p = s + 1;
        *n = s[0];
    } else {
        *n = mo_load_le32(s + 8);
        *p = v->area + mo_load_le32(s + 4);
    }
}

void mo_obj_vec_value(const mo_obj_vec *v, uint32_t row, const uint8_t **p, uint32_t *n)
{
    if (mo_obj_type_is_varlena(v->type.oid)) {
        mo_obj_vec_bytes(v, row, p, n);
        return;
    }
    *p = mo_obj_vec_slot(v, row);
    *n = (uint32_t)v->type.size;
}

/* ---------------- owned column builder ---------------- */

void mo_obj_colbuf_init(mo_obj_colbuf *c, const mo_obj_type *t)
{
    c->type = *t;
    c->rows = 0;
    mo_buf_init(&c->data);
    mo_buf_init(&c->area);
    mo_buf_init(&c->nulls);
    c->null_bits = 0;
    c->null_count = 0;
}

void mo_obj_colbuf_dispose(mo_obj_colbuf *c)
{
    if (!c)
        return;
    mo_buf_dispose(&c->data);
    mo_buf_dispose(&c->area);
    mo_buf_dispose(&c->nulls);
    c->rows = 0;
    c->null_bits = 0;
    c->null_count = 0;
}

void mo_obj_colbuf_reset(mo_obj_colbuf *c)
{
    c->rows = 0;
    c->data.len = 0;
    c->area.len = 0;
    c->nulls.len = 0;
    c->null_bits = 0;
    c->null_count = 0;
}

static size_t colbuf_slot_size(const mo_obj_colbuf *c)
{
    return c->type.size > 0 ? (size_t)c->type.size : 0;
}

/* Room for one more row whose slot is @p slot bytes (data_len and rows stay u32). */
static int colbuf_room(const mo_obj_colbuf *c, size_t slot)
{
    if (c->rows == UINT32_MAX || c->data.len + slot > UINT32_MAX)
        return MO_EINVAL;
    return MO_OK;
}

int mo_obj_colbuf_append_fixed(mo_obj_colbuf *c, const void *v)
{
    assert(!mo_obj_type_is_varlena(c->type.oid));
    const size_t sz = colbuf_slot_size(c);
    int rc;
    if ((rc = colbuf_room(c, sz)) < 0)
        return rc;
    if ((rc = mo_buf_put(&c->data, v, sz)) < 0)
        return rc;
    c->rows++;
    return MO_OK;
}

int mo_obj_colbuf_append_bytes(mo_obj_colbuf *c, const void *p, size_t n)
{
    assert(mo_obj_type_is_varlena(c->type.oid));
    int rc;
    if ((rc = colbuf_room(c, MO_OBJ_VARLENA_SIZE)) < 0)
        return rc;
    uint8_t slot[MO_OBJ_VARLENA_SIZE] = {0};
    if (n <= VARLENA_INLINE_MAX) {
        slot[0] = (uint8_t)n;
        if (n)
            memcpy(slot + 1, p, n);
    } else {
        if (n > UINT32_MAX || c->area.len > UINT32_MAX - n)
            return MO_EINVAL;
        mo_store_le32(slot, 0xFFFFFFFFu);
        mo_store_le32(slot + 4, (uint32_t)c->area.len);
        mo_store_le32(slot + 8, (uint32_t)n);
        if ((rc = mo_buf_reserve(&c->data, MO_OBJ_VARLENA_SIZE)) < 0)
            return rc;
        if ((rc = mo_buf_put(&c->area, p, n)) < 0)
            return rc;
    }
    if ((rc = mo_buf_put(&c->data, slot, sizeof(slot))) < 0)
        return rc; /* cannot fail after the reserve above for the out-of-line case */
    c->rows++;
    return MO_OK;
}

int mo_obj_colbuf_append_null(mo_obj_colbuf *c)
{
    const size_t sz =
        mo_obj_type_is_varlena(c->type.oid) ? MO_OBJ_VARLENA_SIZE : colbuf_slot_size(c);
    int rc;
    if ((rc = colbuf_room(c, sz)) < 0)
        return rc;
    const uint32_t row = c->rows;
    const size_t need = ((size_t)row / 64 + 1) * 8;
    if ((rc = mo_buf_reserve(&c->data, sz)) < 0)
        return rc;
    if (need > c->nulls.len && (rc = mo_buf_put_zero(&c->nulls, need - c->nulls.len)) < 0)
        return rc;
    memset(c->data.ptr + c->data.len, 0, sz);
    c->data.len += sz;
    c->nulls.ptr[(row / 64) * 8 + (row % 64) / 8] |= (uint8_t)(1u << (row % 8));
    c->null_bits = (uint64_t)row + 1;
    c->null_count++;
    c->rows++;
    return MO_OK;
}

int mo_obj_colbuf_append_from(mo_obj_colbuf *c, const mo_obj_vec *v, uint32_t row)
{
    const bool vl = mo_obj_type_is_varlena(c->type.oid);
    if (vl != mo_obj_type_is_varlena(v->type.oid) || (!vl && v->type.size != c->type.size))
        return MO_EINVAL;
    if (mo_obj_vec_is_null(v, row))
        return mo_obj_colbuf_append_null(c);
    if (vl) {
        const uint8_t *p;
        uint32_t n;
        mo_obj_vec_bytes(v, row, &p, &n);
        return mo_obj_colbuf_append_bytes(c, p, n);
    }
    return mo_obj_colbuf_append_fixed(c, mo_obj_vec_slot(v, row));
}

/* true iff no row of [first, first+n) of the FLAT vector @p v is NULL */
static bool vec_range_no_nulls(const mo_obj_vec *v, uint32_t first, uint32_t n)
{
    if (!v->null_words || first >= v->null_bits)
        return true;
    for (uint32_t i = first; i < first + n; i++)
        if (mo_obj_vec_is_null(v, i))
            return false;
    return true;
}

int mo_obj_colbuf_append_range(mo_obj_colbuf *c, const mo_obj_vec *v, uint32_t first, uint32_t n)
{
    const bool vl = mo_obj_type_is_varlena(c->type.oid);
    if (vl != mo_obj_type_is_varlena(v->type.oid) || (!vl && v->type.size != c->type.size))
        return MO_EINVAL;
    const size_t sz = vl ? MO_OBJ_VARLENA_SIZE : colbuf_slot_size(c);
    int rc;
    if (v->cls != MO_OBJ_VEC_FLAT || !n || !vec_range_no_nulls(v, first, n) ||
        (uint64_t)c->rows + n > UINT32_MAX || c->data.len + (uint64_t)n * sz > UINT32_MAX) {
        for (uint32_t i = first; i < first + n; i++)
            if ((rc = mo_obj_colbuf_append_from(c, v, i)) < 0)
                return rc;
        return MO_OK;
    }
    if (!vl) {
        if ((rc = mo_buf_put(&c->data, v->data + (size_t)first * sz, (size_t)n * sz)) < 0)
            return rc;
        c->rows += n;
        return MO_OK;
    }
    /* varlena: slots rebuilt exactly as append_bytes does (inline tails zeroed, out-of-line
     * payloads moved to this buffer's area) */
    if ((rc = mo_buf_reserve(&c->data, (size_t)n * sz)) < 0)
        return rc;
    for (uint32_t i = first; i < first + n; i++) {
        const uint8_t *s = v->data + (size_t)i * sz;
        uint8_t *d = c->data.ptr + c->data.len;
        if (s[0] <= VARLENA_INLINE_MAX) {
            memset(d, 0, sz);
            memcpy(d, s, (size_t)s[0] + 1);
        } else {
            const uint8_t *p;
            uint32_t len;
            mo_obj_vec_bytes(v, i, &p, &len);
            if (len <= VARLENA_INLINE_MAX || c->area.len > UINT32_MAX - (uint64_t)len) {
                if ((rc = mo_obj_colbuf_append_bytes(c, p, len)) < 0)
                    return rc;
                continue;
            }
            memset(d, 0, sz);
            mo_store_le32(d, 0xFFFFFFFFu);
            mo_store_le32(d + 4, (uint32_t)c->area.len);
            mo_store_le32(d + 8, len);
            if ((rc = mo_buf_put(&c->area, p, len)) < 0)
                return rc;
        }
        c->data.len += sz;
        c->rows++;
    }
    return MO_OK;
}

void mo_obj_colbuf_view(mo_obj_vec *out, const mo_obj_colbuf *c)
{
    memset(out, 0, sizeof(*out));
    out->cls = MO_OBJ_VEC_FLAT;
    out->type = c->type;
    out->length = c->rows;
    out->data = c->data.ptr;
    out->data_len = (uint32_t)c->data.len;
    out->area = c->area.ptr;
    out->area_len = (uint32_t)c->area.len;
    out->null_words = c->null_count ? c->nulls.ptr : NULL;
    out->null_bits = c->null_bits;
    out->null_words_bytes = c->null_count ? c->nulls.len : 0;
    out->null_count = c->null_count;
    out->sorted = 0;
}
