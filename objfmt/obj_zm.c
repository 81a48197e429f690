/*
 * Zone maps (spec §5.1): the 64-byte min/max/sum summary MO keeps per block column and per
 * object column. Everything here reproduces MO's update sequence byte for byte (including
 * stale bytes after the length fields, the 30-byte string truncation with its big-endian
 * increment, and the +inf flag), because a writer that wants MO-identical output must.
 * Zone maps may come from disk: every length read from one is masked to 5 bits and every
 * copy is clamped to the 64-byte buffer, so no input can make these functions read or
 * write out of bounds.
 */
#include <math.h>
#include <string.h>

#include "mo/obj_index.h"

#define ZM_MIN_LEN 30
#define ZM_MAX_OFF 31
#define ZM_INF 0x80
#define ZM_INITED 0x80

/* types.T.FixedLength(): >0 fixed size, <0 varlena (incl. arrays), 0 for any/unknown. */
static int fixed_len(uint8_t oid)
{
    switch (oid) {
    case MO_T_BOOL:
    case MO_T_INT8:
    case MO_T_UINT8:
        return 1;
    case MO_T_INT16:
    case MO_T_UINT16:
    case MO_T_YEAR:
    case MO_T_ENUM:
        return 2;
    case MO_T_INT32:
    case MO_T_UINT32:
    case MO_T_DATE:
    case MO_T_FLOAT32:
        return 4;
    case MO_T_BIT:
    case MO_T_INT64:
    case MO_T_UINT64:
    case MO_T_DATETIME:
    case MO_T_TIME:
    case MO_T_FLOAT64:
    case MO_T_TIMESTAMP:
    case MO_T_DECIMAL64:
        return 8;
    case MO_T_TS:
        return MO_OBJ_TS_LEN;
    case MO_T_DECIMAL128:
    case MO_T_UUID:
        return 16;
    case MO_T_BLOCKID:
        return MO_OBJ_BLOCKID_LEN;
    case MO_T_ROWID:
        return MO_OBJ_ROWID_LEN;
    case MO_T_DECIMAL256:
        return 32;
    case MO_T_CHAR:
    case MO_T_VARCHAR:
    case MO_T_JSON:
    case MO_T_BINARY:
    case MO_T_VARBINARY:
    case MO_T_BLOB:
    case MO_T_TEXT:
    case MO_T_DATALINK:
    case MO_T_GEOMETRY:
    case MO_T_GEOMETRY32:
    case MO_T_VECF32:
    case MO_T_VECF64:
    case MO_T_VECBF16:
    case MO_T_VECF16:
    case MO_T_VECINT8:
    case MO_T_VECUINT8:
        return -24;
    default:
        return 0;
    }
}

static bool is_string(uint8_t oid)
{
    return fixed_len(oid) < 0;
}

static bool is_array(uint8_t oid)
{
    return oid >= MO_T_VECF32 && oid <= MO_T_VECUINT8;
}

static bool is_signed_int(uint8_t oid)
{
    return oid >= MO_T_INT8 && oid <= MO_T_INT64;
}

static bool is_unsigned_int(uint8_t oid)
{
    return (oid >= MO_T_UINT8 && oid <= MO_T_UINT64) || oid == MO_T_BIT;
}

bool mo_obj_zm_has_sum(uint8_t oid)
{
    return is_signed_int(oid) || is_unsigned_int(oid) || oid == MO_T_FLOAT32 ||
           oid == MO_T_FLOAT64 || oid == MO_T_DECIMAL64;
}

void mo_obj_zm_init(mo_obj_zm *zm, uint8_t oid, uint8_t scale)
{
    memset(zm->b, 0, sizeof(zm->b));
    zm->b[63] = oid;
    const int sz = fixed_len(oid);
    if (sz > 0) {
        zm->b[61] = (uint8_t)sz;
        zm->b[30] = (uint8_t)sz;
    }
    zm->b[62] = (uint8_t)(scale & 0x3f);
}

bool mo_obj_zm_initialized(const mo_obj_zm *zm)
{
    return (zm->b[62] & ZM_INITED) != 0;
}

void mo_obj_zm_min(const mo_obj_zm *zm, const uint8_t **p, size_t *n)
{
    *p = zm->b;
    *n = zm->b[30] & 0x1f;
}

void mo_obj_zm_max(const mo_obj_zm *zm, const uint8_t **p, size_t *n, bool *max_inf)
{
    *p = zm->b + ZM_MAX_OFF;
    *n = zm->b[61] & 0x1f;
    if (max_inf)
        *max_inf = (zm->b[61] & ZM_INF) != 0;
}

/* ---------------- comparison (compute.Compare) ---------------- */

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    const size_t m = an < bn ? an : bn;
    const int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

#define CMP3(x, y) ((x) < (y) ? -1 : (x) > (y) ? 1 : 0)

static int64_t ld_i64(const uint8_t *p)
{
    return (int64_t)mo_load_le64(p);
}

/* Go's cmp.Compare for floats: NaN sorts below everything and equals NaN. */
static int cmp_double(double x, double y)
{
    const bool xn = isnan(x), yn = isnan(y);
    if (xn || yn)
        return xn && yn ? 0 : xn ? -1 : 1;
    return CMP3(x, y);
}

static float ld_f32(const uint8_t *p)
{
    const uint32_t u = mo_load_le32(p);
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static double ld_f64(const uint8_t *p)
{
    const uint64_t u = mo_load_le64(p);
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

/* Segment memcmp, then u16 file number, u16 block, u32 row, as far as the shorter one goes. */
static int cmp_rowid_prefix(const uint8_t *a, const uint8_t *b, size_t len)
{
    const int c = memcmp(a, b, 16);
    if (c)
        return c < 0 ? -1 : 1;
    if (len >= 18) {
        const int r = CMP3(mo_load_le16(a + 16), mo_load_le16(b + 16));
        if (r)
            return r;
    }
    if (len >= 20) {
        const int r = CMP3(mo_load_le16(a + 18), mo_load_le16(b + 18));
        if (r)
            return r;
    }
    if (len >= 24)
        return CMP3(mo_load_le32(a + 20), mo_load_le32(b + 20));
    return 0;
}

/* Signed compare of n little-endian 64-bit words (two's complement, top word signed). */
static int cmp_signed_words(const uint8_t *a, const uint8_t *b, int words)
{
    const int top = CMP3(ld_i64(a + 8 * (words - 1)), ld_i64(b + 8 * (words - 1)));
    if (top)
        return top;
    for (int i = words - 2; i >= 0; i--) {
        const int r = CMP3(mo_load_le64(a + 8 * i), mo_load_le64(b + 8 * i));
        if (r)
            return r;
    }
    return 0;
}

int mo_obj_value_cmp(uint8_t oid, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    const int sz = fixed_len(oid);
    if (sz < 0)
        return cmp_bytes(a, an, b, bn);
    if (oid == MO_T_ANY)
        return 0;
    if (oid == MO_T_ROWID) {
        /* Rowid compares against its own prefixes (Rowid.ComparePrefix). */
        const size_t m = an < bn ? an : bn;
        if (m >= 16 && (m == 16 || m == 18 || m == 20 || m >= 24))
            return cmp_rowid_prefix(a, b, m);
        return cmp_bytes(a, an, b, bn);
    }
    /* Too-short buffers (only from malformed input) get a safe, deterministic order. */
    if (sz == 0 || an < (size_t)sz || bn < (size_t)sz)
        return cmp_bytes(a, an, b, bn);
    switch (oid) {
    case MO_T_BOOL:
        return CMP3(a[0] != 0, b[0] != 0);
    case MO_T_INT8:
        return CMP3((int8_t)a[0], (int8_t)b[0]);
    case MO_T_UINT8:
        return CMP3(a[0], b[0]);
    case MO_T_INT16:
    case MO_T_YEAR:
        return CMP3((int16_t)mo_load_le16(a), (int16_t)mo_load_le16(b));
    case MO_T_UINT16:
    case MO_T_ENUM:
        return CMP3(mo_load_le16(a), mo_load_le16(b));
    case MO_T_INT32:
    case MO_T_DATE:
        return CMP3((int32_t)mo_load_le32(a), (int32_t)mo_load_le32(b));
    case MO_T_UINT32:
        return CMP3(mo_load_le32(a), mo_load_le32(b));
    case MO_T_INT64:
    case MO_T_TIME:
    case MO_T_DATETIME:
    case MO_T_TIMESTAMP:
    case MO_T_DECIMAL64:
        return CMP3(ld_i64(a), ld_i64(b));
    case MO_T_UINT64:
    case MO_T_BIT:
        return CMP3(mo_load_le64(a), mo_load_le64(b));
    case MO_T_FLOAT32:
        return cmp_double(ld_f32(a), ld_f32(b));
    case MO_T_FLOAT64:
        return cmp_double(ld_f64(a), ld_f64(b));
    case MO_T_DECIMAL128:
        return cmp_signed_words(a, b, 2);
    case MO_T_DECIMAL256:
        return cmp_signed_words(a, b, 4);
    case MO_T_TS: {
        const int r = CMP3(ld_i64(a + 4), ld_i64(b + 4));
        return r ? r : CMP3(mo_load_le32(a), mo_load_le32(b));
    }
    case MO_T_BLOCKID:
        return cmp_rowid_prefix(a, b, 20);
    case MO_T_UUID:
    default:
        return cmp_bytes(a, (size_t)sz, b, (size_t)sz);
    }
}

/* ---------------- UpdateZM ---------------- */

static bool has_max_prefix(const uint8_t *v)
{
    for (int i = 0; i < ZM_MIN_LEN; i++)
        if (v[i] != 0xff)
            return false;
    return true;
}

static void update_min_string(mo_obj_zm *zm, const uint8_t *v, size_t n)
{
    const size_t size = n > ZM_MIN_LEN ? ZM_MIN_LEN : n;
    if (size)
        memmove(zm->b, v, size);
    zm->b[30] = (uint8_t)size;
}

static void update_max_string(mo_obj_zm *zm, const uint8_t *v, size_t n)
{
    uint8_t flag = 0;
    size_t size = n;
    if (n > ZM_MIN_LEN) {
        size = ZM_MIN_LEN;
        memmove(zm->b + ZM_MAX_OFF, v, size);
        if (has_max_prefix(zm->b + ZM_MAX_OFF)) {
            flag |= ZM_INF;
        } else {
            /* big-endian +1 of the cut prefix: it stays an upper bound of v */
            for (int i = ZM_MAX_OFF + ZM_MIN_LEN - 1; i >= ZM_MAX_OFF; i--)
                if (++zm->b[i] != 0)
                    break;
        }
    } else if (size) {
        memmove(zm->b + ZM_MAX_OFF, v, size);
    }
    zm->b[61] = (uint8_t)(flag | size);
}

/* Go's copy() clamps to the destination; the length byte keeps len(v) truncated to a byte. */
static void update_min_fixed(mo_obj_zm *zm, const uint8_t *v, size_t n)
{
    const size_t c = n > MO_OBJ_ZM_LEN ? MO_OBJ_ZM_LEN : n;
    if (c)
        memmove(zm->b, v, c);
    zm->b[30] = (uint8_t)n;
}

static void update_max_fixed(mo_obj_zm *zm, const uint8_t *v, size_t n)
{
    const size_t room = MO_OBJ_ZM_LEN - ZM_MAX_OFF;
    const size_t c = n > room ? room : n;
    if (c)
        memmove(zm->b + ZM_MAX_OFF, v, c);
    zm->b[61] = (uint8_t)n;
}

void mo_obj_zm_update(mo_obj_zm *zm, const uint8_t *v, size_t n)
{
    const uint8_t oid = zm->b[63];
    if (oid == MO_T_DECIMAL256)
        return;
    if (!mo_obj_zm_initialized(zm)) {
        if (is_array(oid))
            return;
        if (is_string(oid)) {
            update_min_string(zm, v, n);
            update_max_string(zm, v, n);
        } else {
            /* v may alias the ZM itself (merging from a ZM): copy it first */
            uint8_t tmp[MO_OBJ_ZM_LEN];
            const size_t c = n > sizeof(tmp) ? sizeof(tmp) : n;
            if (c)
                memcpy(tmp, v, c);
            update_min_fixed(zm, tmp, n);
            update_max_fixed(zm, tmp, n);
        }
        zm->b[62] |= ZM_INITED;
        return;
    }
    const uint8_t *minp, *maxp;
    size_t minn, maxn;
    mo_obj_zm_min(zm, &minp, &minn);
    mo_obj_zm_max(zm, &maxp, &maxn, NULL);
    if (is_string(oid)) {
        if (cmp_bytes(v, n, minp, minn) < 0)
            update_min_string(zm, v, n);
        else if (cmp_bytes(v, n, maxp, maxn) > 0)
            update_max_string(zm, v, n);
        return;
    }
    if (mo_obj_value_cmp(oid, v, n, minp, minn) < 0)
        update_min_fixed(zm, v, n);
    else if (mo_obj_value_cmp(oid, v, n, maxp, maxn) > 0)
        update_max_fixed(zm, v, n);
}

/* ---------------- block ZM of a vector ---------------- */

static void zm_set_sum(mo_obj_zm *zm, uint64_t bits)
{
    mo_store_le64(zm->b + 8, bits);
}

/* GetSumValue: widened accumulators; an overflowing addition makes the stored sum 0. */
static void vec_sum(mo_obj_zm *zm, const mo_obj_vec *v)
{
    const uint8_t oid = v->type.oid;
    const int sz = fixed_len(oid);
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
        if (sz <= 0 || n < (uint32_t)sz)
            continue; /* only a malformed view can get here */
        any = true;
        if (ovf)
            continue;
        if (is_signed_int(oid) || oid == MO_T_DECIMAL64) {
            int64_t x;
            switch (sz) {
            case 1:
                x = (int8_t)p[0];
                break;
            case 2:
                x = (int16_t)mo_load_le16(p);
                break;
            case 4:
                x = (int32_t)mo_load_le32(p);
                break;
            default:
                x = ld_i64(p);
                break;
            }
            const int64_t c = (int64_t)((uint64_t)si + (uint64_t)x);
            /* addInt: kept only when (c > a) == (b > 0); Add64: sign flip of like signs */
            const bool bad = oid == MO_T_DECIMAL64 ? ((si < 0) == (x < 0) && (c < 0) != (si < 0))
                                                   : ((c > si) != (x > 0));
            if (bad)
                ovf = true;
            else
                si = c;
        } else if (is_unsigned_int(oid)) {
            const uint64_t x = sz == 1   ? p[0]
                               : sz == 2 ? mo_load_le16(p)
                               : sz == 4 ? mo_load_le32(p)
                                         : mo_load_le64(p);
            const uint64_t c = su + x;
            if ((c > su) != (x > 0))
                ovf = true;
            else
                su = c;
        } else if (oid == MO_T_FLOAT32) {
            sf += (double)ld_f32(p);
        } else {
            sf += ld_f64(p);
        }
    }
    if (!any)
        return;
    if (ovf) {
        zm_set_sum(zm, 0);
    } else if (oid == MO_T_FLOAT32 || oid == MO_T_FLOAT64) {
        uint64_t bits;
        memcpy(&bits, &sf, sizeof(bits));
        zm_set_sum(zm, bits);
    } else if (is_unsigned_int(oid)) {
        zm_set_sum(zm, su);
    } else {
        zm_set_sum(zm, (uint64_t)si);
    }
}

static bool value_is_nan(uint8_t oid, const uint8_t *p, uint32_t n)
{
    if (oid == MO_T_FLOAT32 && n >= 4)
        return isnan(ld_f32(p));
    if (oid == MO_T_FLOAT64 && n >= 8)
        return isnan(ld_f64(p));
    return false;
}

void mo_obj_zm_from_vec(mo_obj_zm *out, const mo_obj_vec *v, uint8_t scale, bool bool_max_or)
{
    const uint8_t oid = v->type.oid;
    mo_obj_zm_init(out, oid, scale);
    if (oid == MO_T_DECIMAL256)
        return; /* BatchUpdateZM returns early, and decimal256 has no sum */

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
        if (value_is_nan(oid, p, n))
            continue;
        if (!found) {
            minp = maxp = p;
            minn = maxn = n;
            found = true;
            continue;
        }
        /* strict comparisons keep the first of equal values, like MO's loops */
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
    if (mo_obj_zm_has_sum(oid))
        vec_sum(out, v);
}

/* ---------------- object ZM ---------------- */

void mo_obj_zm_merge(mo_obj_zm *obj, const mo_obj_zm *blk)
{
    if (!mo_obj_zm_initialized(blk))
        return;
    const uint8_t *p;
    size_t n;
    bool inf;
    mo_obj_zm_min(blk, &p, &n);
    mo_obj_zm_update(obj, p, n);
    mo_obj_zm_max(blk, &p, &n, &inf);
    mo_obj_zm_update(obj, p, n);
    if (is_string(blk->b[63]) && inf)
        obj->b[61] |= ZM_INF;
    /* SetSum overwrites: the object keeps the sum of the last initialized block */
    if (mo_obj_zm_has_sum(obj->b[63]) && mo_obj_zm_has_sum(blk->b[63]))
        memcpy(obj->b + 8, blk->b + 8, 8);
}

bool mo_obj_zm_equal(const mo_obj_zm *a, const mo_obj_zm *b)
{
    const uint8_t oid = a->b[63];
    if (oid != b->b[63])
        return false;
    if ((a->b[62] & 0xbf) != (b->b[62] & 0xbf))
        return false;
    if (mo_obj_zm_initialized(a)) {
        const uint8_t *pa, *pb;
        size_t na, nb;
        bool ia, ib;
        mo_obj_zm_min(a, &pa, &na);
        mo_obj_zm_min(b, &pb, &nb);
        if (na != nb || memcmp(pa, pb, na) != 0)
            return false;
        mo_obj_zm_max(a, &pa, &na, &ia);
        mo_obj_zm_max(b, &pb, &nb, &ib);
        if (na != nb || ia != ib || memcmp(pa, pb, na) != 0)
            return false;
    }
    if (mo_obj_zm_has_sum(oid) && memcmp(a->b + 8, b->b + 8, 8) != 0) {
        /* float sums: any two NaNs are the same sum whatever their payload */
        if (oid != MO_T_FLOAT32 && oid != MO_T_FLOAT64)
            return false;
        if (!(isnan(ld_f64(a->b + 8)) && isnan(ld_f64(b->b + 8))))
            return false;
    }
    return true;
}
