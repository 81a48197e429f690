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
typedef struct sum_acc {
    int64_t si;
    uint64_t su;
    double sf;
    bool any, ovf;
} sum_acc;

static void sum_add(sum_acc *a, uint8_t oid, int sz, const uint8_t *p)
{
    a->any = true;
    if (a->ovf)
        return;
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
        const int64_t c = (int64_t)((uint64_t)a->si + (uint64_t)x);
        /* addInt: kept only when (c > a) == (b > 0); Add64: sign flip of like signs */
        const bool bad = oid == MO_T_DECIMAL64 ? ((a->si < 0) == (x < 0) && (c < 0) != (a->si < 0))
                                               : ((c > a->si) != (x > 0));
        if (bad)
            a->ovf = true;
        else
            a->si = c;
    } else if (is_unsigned_int(oid)) {
        const uint64_t x = sz == 1   ? p[0]
                           : sz == 2 ? mo_load_le16(p)
                           : sz == 4 ? mo_load_le32(p)
                                     : mo_load_le64(p);
        const uint64_t c = a->su + x;
        if ((c > a->su) != (x > 0))
            a->ovf = true;
        else
            a->su = c;
    } else if (oid == MO_T_FLOAT32) {
        a->sf += (double)ld_f32(p);
    } else {
        a->sf += ld_f64(p);
    }
}

static void sum_store(mo_obj_zm *zm, uint8_t oid, const sum_acc *a)
{
    if (!a->any)
        return;
    if (a->ovf) {
        zm_set_sum(zm, 0);
    } else if (oid == MO_T_FLOAT32 || oid == MO_T_FLOAT64) {
        uint64_t bits;
        memcpy(&bits, &a->sf, sizeof(bits));
        zm_set_sum(zm, bits);
    } else if (is_unsigned_int(oid)) {
        zm_set_sum(zm, a->su);
    } else {
        zm_set_sum(zm, (uint64_t)a->si);
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

/*
 * Row-by-row path through the generic accessors. Only views whose type.size disagrees with
 * their oid (or oids without a fixed length) get here; mo_obj_vec_decode never returns such
 * a view, so the verifier and the writer always take the specialised loops below.
 */
static void zm_from_vec_generic(mo_obj_zm *out, const mo_obj_vec *v, bool bool_max_or)
{
    const uint8_t oid = v->type.oid;
    const int sz = fixed_len(oid);
    const uint8_t *minp = NULL, *maxp = NULL;
    uint32_t minn = 0, maxn = 0;
    bool found = false;
    uint8_t band = 1, bor = 0;
    sum_acc acc = {0};
    for (uint32_t r = 0; r < v->length; r++) {
        if (mo_obj_vec_is_null(v, r))
            continue;
        const uint8_t *p;
        uint32_t n;
        mo_obj_vec_value(v, r, &p, &n);
        if (sz > 0 && n >= (uint32_t)sz && mo_obj_zm_has_sum(oid))
            sum_add(&acc, oid, sz, p);
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
        sum_store(out, oid, &acc);
}

/* ---- specialised loops ---- */

__extension__ typedef unsigned __int128 u128;

/* Native-order loads of unaligned wire bytes (the wire is little-endian). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LE16(x) __builtin_bswap16(x)
#define LE32(x) __builtin_bswap32(x)
#define LE64(x) __builtin_bswap64(x)
#define BE64(x) (x)
#else
#define LE16(x) (x)
#define LE32(x) (x)
#define LE64(x) (x)
#define BE64(x) __builtin_bswap64(x)
#endif

static inline uint8_t fl8(const uint8_t *p)
{
    return p[0];
}
static inline uint16_t fl16(const uint8_t *p)
{
    uint16_t x;
    memcpy(&x, p, 2);
    return LE16(x);
}
static inline uint32_t fl32(const uint8_t *p)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return LE32(x);
}
static inline uint64_t fl64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return LE64(x);
}
/* first 8 bytes as a big-endian number: memcmp order of 8-byte prefixes */
static inline uint64_t fbe64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return BE64(x);
}

static void store_le(uint8_t *p, uint64_t v, int sz)
{
    switch (sz) {
    case 1:
        p[0] = (uint8_t)v;
        break;
    case 2:
        mo_store_le16(p, (uint16_t)v);
        break;
    case 4:
        mo_store_le32(p, (uint32_t)v);
        break;
    default:
        mo_store_le64(p, v);
        break;
    }
}

/* Null bits of rows [64w, 64w + 64), exactly as mo_obj_vec_is_null sees them. */
static inline uint64_t null_word(const mo_obj_vec *v, uint32_t w)
{
    const uint64_t first = (uint64_t)w * 64;
    if (first >= v->null_bits)
        return 0;
    const uint64_t off = (uint64_t)w * 8;
    if (off >= v->null_words_bytes)
        return 0;
    uint64_t x;
    if (v->null_words_bytes - off >= 8) {
        x = fl64(v->null_words + off);
    } else {
        x = 0;
        for (uint64_t i = 0; off + i < v->null_words_bytes; i++)
            x |= (uint64_t)v->null_words[off + i] << (8 * i);
    }
    if (v->null_bits - first < 64)
        x &= ((uint64_t)1 << (v->null_bits - first)) - 1;
    return x;
}

static inline bool flat_has_nulls(const mo_obj_vec *v)
{
    return v->null_words && v->null_bits && v->null_words_bytes;
}

/* At least one non-null row (FLAT/DIST views). */
static bool any_live(const mo_obj_vec *v)
{
    if (!v->length)
        return false;
    if (!flat_has_nulls(v))
        return true;
    for (uint32_t base = 0; base < v->length; base += 64) {
        const uint32_t span = v->length - base < 64 ? v->length - base : 64;
        const uint64_t live = span == 64 ? UINT64_MAX : ((uint64_t)1 << span) - 1;
        if (~null_word(v, base / 64) & live)
            return true;
    }
    return false;
}

/*
 * Runs the statement list for every non-null row r (uint32_t) of a FLAT/DIST view, in row
 * order: one tight loop without nulls, otherwise a bitmap word at a time (word without
 * nulls: tight loop over its 64 rows; else its clear bits).
 */
#define FOR_LIVE_ROWS(v, r, ...)                                                               \
    do {                                                                                       \
        const uint32_t len_ = (v)->length;                                                     \
        if (!flat_has_nulls(v)) {                                                              \
            for (uint32_t r = 0; r < len_; r++) {                                              \
                __VA_ARGS__                                                                    \
            }                                                                                  \
        } else {                                                                               \
            for (uint32_t base_ = 0; base_ < len_; base_ += 64) {                              \
                const uint32_t end_ = len_ - base_ < 64 ? len_ : base_ + 64;                   \
                const uint64_t nw_ = null_word((v), base_ / 64);                               \
                if (!nw_) {                                                                    \
                    for (uint32_t r = base_; r < end_; r++) {                                  \
                        __VA_ARGS__                                                            \
                    }                                                                          \
                } else {                                                                       \
                    const uint32_t span_ = end_ - base_;                                       \
                    uint64_t live_ =                                                           \
                        ~nw_ & (span_ == 64 ? UINT64_MAX : ((uint64_t)1 << span_) - 1);        \
                    while (live_) {                                                            \
                        const uint32_t r = base_ + (uint32_t)__builtin_ctzll(live_);           \
                        live_ &= live_ - 1;                                                    \
                        __VA_ARGS__                                                            \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    } while (0)

/*
 * Integers and everything compared as one (date, time, datetime, timestamp, decimal64, year,
 * enum, bit): min, max and the wrapping sum in one pass. Equal integers have equal bytes, so
 * "first of equal values" needs no tracking.
 *
 * The pass over a run of rows without nulls is a function of its own per width, compiled
 * twice on x86-64 (baseline and AVX2, chosen once at load time by the target_clones ifunc):
 * the baseline ISA has no 32/64-bit vector min/max (pminsd is SSE4.1, pcmpgtq SSE4.2), so
 * without the AVX2 clone these loops stay scalar and were the largest cost of deep verify
 * after LZ4. Rows of bitmap words that hold nulls are folded in one by one.
 */
#if defined(__x86_64__) && defined(__has_attribute) && !defined(MO_NO_TARGET_CLONES)
#if __has_attribute(target_clones)
#define ZM_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef ZM_CLONES
#define ZM_CLONES
#endif

/* SPREAD[b]: byte i is 0xFF when bit i of b is set, else 0 (a 2 KiB table, built by the
 * compiler: one load per 8 rows instead of a multiply-and-mask sequence). */
#define SP1(b)                                                                                 \
    (((b)&1 ? 0xFFull : 0) | ((b)&2 ? 0xFF00ull : 0) | ((b)&4 ? 0xFF0000ull : 0) |             \
     ((b)&8 ? 0xFF000000ull : 0) | ((b)&16 ? 0xFF00000000ull : 0) |                            \
     ((b)&32 ? 0xFF0000000000ull : 0) | ((b)&64 ? 0xFF000000000000ull : 0) |                   \
     ((b)&128 ? 0xFF00000000000000ull : 0))
#define SP4(b) SP1(b), SP1((b) + 1), SP1((b) + 2), SP1((b) + 3)
#define SP16(b) SP4(b), SP4((b) + 4), SP4((b) + 8), SP4((b) + 12)
#define SP64(b) SP16(b), SP16((b) + 16), SP16((b) + 32), SP16((b) + 48)
static const uint64_t SPREAD[256] = {SP64(0), SP64(64), SP64(128), SP64(192)};

/* Rows masked per batch: an int8 mask of this many rows lives on the stack. */
#define MASK_ROWS 1024u

/* m[i] = -1 (live) or 0 (NULL) for rows [base, base + n), base a multiple of 64, n <= MASK_ROWS;
 * exactly mo_obj_vec_is_null's view of the bitmap (null_word). */
static void live_mask(int8_t *m, const mo_obj_vec *v, uint32_t base, uint32_t n)
{
    for (uint32_t i = 0; i < n; i += 64) {
        const uint64_t live = ~null_word(v, (base + i) / 64);
        for (unsigned k = 0; k < 8; k++) {
            memcpy(m + i + 8 * k, &SPREAD[(uint8_t)(live >> (8 * k))], 8);
        }
    }
}

/* run: every row of [0, n); run_m: the rows whose mask byte is -1, NULL rows taking the
 * neutral values (T's max for min, its min for max, 0 for the sum) without a branch. */
#define DEF_INT_RUN(NAME, T, LD, TMIN, TMAX)                                                   \
    ZM_CLONES static void NAME(const uint8_t *d, uint32_t n, T *mn, T *mx, uint64_t *sum)      \
    {                                                                                          \
        T a = *mn, b = *mx;                                                                    \
        uint64_t c = *sum;                                                                     \
        for (uint32_t r = 0; r < n; r++) {                                                     \
            const T x = (T)LD(d + (size_t)r * sizeof(T));                                      \
            a = x < a ? x : a;                                                                 \
            b = x > b ? x : b;                                                                 \
            c += (uint64_t)x;                                                                  \
        }                                                                                      \
        *mn = a;                                                                               \
        *mx = b;                                                                               \
        *sum = c;                                                                              \
    }                                                                                          \
    ZM_CLONES static void NAME##_m(const uint8_t *d, const int8_t *m, uint32_t n, T *mn,       \
                                   T *mx, uint64_t *sum)                                       \
    {                                                                                          \
        T a = *mn, b = *mx;                                                                    \
        uint64_t c = *sum;                                                                     \
        for (uint32_t r = 0; r < n; r++) {                                                     \
            const T x = (T)LD(d + (size_t)r * sizeof(T));                                      \
            const T l = (T)m[r];                                                               \
            const T xa = (T)((x & l) | ((T)TMAX & (T)~l));                                     \
            const T xb = (T)((x & l) | ((T)TMIN & (T)~l));                                     \
            a = xa < a ? xa : a;                                                               \
            b = xb > b ? xb : b;                                                               \
            c += (uint64_t)(T)(x & l);                                                         \
        }                                                                                      \
        *mn = a;                                                                               \
        *mx = b;                                                                               \
        *sum = c;                                                                              \
    }

DEF_INT_RUN(run_i8, int8_t, fl8, INT8_MIN, INT8_MAX)
DEF_INT_RUN(run_i16, int16_t, fl16, INT16_MIN, INT16_MAX)
DEF_INT_RUN(run_i32, int32_t, fl32, INT32_MIN, INT32_MAX)
DEF_INT_RUN(run_i64, int64_t, fl64, INT64_MIN, INT64_MAX)
DEF_INT_RUN(run_u8, uint8_t, fl8, 0, UINT8_MAX)
DEF_INT_RUN(run_u16, uint16_t, fl16, 0, UINT16_MAX)
DEF_INT_RUN(run_u32, uint32_t, fl32, 0, UINT32_MAX)
DEF_INT_RUN(run_u64, uint64_t, fl64, 0, UINT64_MAX)

#define INT_KERNEL(T, RUN, TMIN, TMAX, mnout, mxout, sumout)                                   \
    do {                                                                                       \
        T mn_ = TMAX, mx_ = TMIN;                                                              \
        uint64_t s_ = 0;                                                                       \
        const uint8_t *d_ = v->data;                                                           \
        const uint32_t len_ = v->length;                                                       \
        if (!flat_has_nulls(v)) {                                                              \
            RUN(d_, len_, &mn_, &mx_, &s_);                                                    \
        } else {                                                                               \
            int8_t m_[MASK_ROWS];                                                              \
            for (uint32_t base_ = 0; base_ < len_; base_ += MASK_ROWS) {                       \
                const uint32_t n_ = len_ - base_ < MASK_ROWS ? len_ - base_ : MASK_ROWS;       \
                live_mask(m_, v, base_, n_);                                                   \
                RUN##_m(d_ + (size_t)base_ * sizeof(T), m_, n_, &mn_, &mx_, &s_);              \
            }                                                                                  \
        }                                                                                      \
        mnout = (int64_t)mn_;                                                                  \
        mxout = (int64_t)mx_;                                                                  \
        sumout = s_;                                                                           \
    } while (0)

/* Exact GetSumValue of a FLAT view with the sequential overflow rule (the rare slow case). */
static void flat_sum_exact(sum_acc *acc, const mo_obj_vec *v, int sz)
{
    const uint8_t oid = v->type.oid;
    const uint8_t *d = v->data;
    FOR_LIVE_ROWS(v, r, { sum_add(acc, oid, sz, d + (size_t)r * (size_t)sz); });
}

static void zm_put_fixed(mo_obj_zm *out, const uint8_t *mn, const uint8_t *mx, int sz)
{
    mo_obj_zm_update(out, mn, (size_t)sz);
    mo_obj_zm_update(out, mx, (size_t)sz);
}

/* 1..8-byte integer-like types. */
static void zm_flat_int(mo_obj_zm *out, const mo_obj_vec *v, int sz)
{
    const uint8_t oid = v->type.oid;
    const bool sgn = !(is_unsigned_int(oid) || oid == MO_T_ENUM);
    int64_t mn = 0, mx = 0;
    uint64_t s = 0;
    if (sgn) {
        switch (sz) {
        case 1:
            INT_KERNEL(int8_t, run_i8, INT8_MIN, INT8_MAX, mn, mx, s);
            break;
        case 2:
            INT_KERNEL(int16_t, run_i16, INT16_MIN, INT16_MAX, mn, mx, s);
            break;
        case 4:
            INT_KERNEL(int32_t, run_i32, INT32_MIN, INT32_MAX, mn, mx, s);
            break;
        default:
            INT_KERNEL(int64_t, run_i64, INT64_MIN, INT64_MAX, mn, mx, s);
            break;
        }
    } else {
        switch (sz) {
        case 1:
            INT_KERNEL(uint8_t, run_u8, 0, UINT8_MAX, mn, mx, s);
            break;
        case 2:
            INT_KERNEL(uint16_t, run_u16, 0, UINT16_MAX, mn, mx, s);
            break;
        case 4:
            INT_KERNEL(uint32_t, run_u32, 0, UINT32_MAX, mn, mx, s);
            break;
        default:
            INT_KERNEL(uint64_t, run_u64, 0, UINT64_MAX, mn, mx, s);
            break;
        }
    }
    if (!any_live(v))
        return; /* NewZM as is, sum bytes untouched */
    uint8_t a[8], b[8];
    store_le(a, (uint64_t)mn, sz);
    store_le(b, (uint64_t)mx, sz);
    zm_put_fixed(out, a, b, sz);
    if (!mo_obj_zm_has_sum(oid))
        return;
    /*
     * Sums of <= 32-bit values cannot leave the 64-bit accumulator (2^32 rows at most). For
     * 64-bit values every prefix sum lies in [len * min(mn, 0), len * max(mx, 0)]: when that
     * fits, the wrapping sum is exact; otherwise redo it with MO's sequential overflow rule.
     */
    __extension__ const __int128 len = v->length;
    bool exact = sz < 8;
    if (sz == 8 && sgn)
        exact = len * (mx > 0 ? mx : 0) <= INT64_MAX && len * (mn < 0 ? mn : 0) >= INT64_MIN;
    else if (sz == 8)
        exact = (u128)len * (uint64_t)mx <= UINT64_MAX;
    if (exact) {
        zm_set_sum(out, s);
        return;
    }
    sum_acc acc = {0};
    flat_sum_exact(&acc, v, sz);
    sum_store(out, oid, &acc);
}

/* float32/float64: NaN skipped for min/max (x < NaN and x > NaN are false), kept in the
 * row-order double sum; ±0 ties keep the first value seen, as the strict compares do. */
static void zm_flat_float(mo_obj_zm *out, const mo_obj_vec *v, bool f32)
{
    const uint8_t *d = v->data;
    double sf = 0;
    uint8_t a[8], b[8];
    bool found;
    if (f32) {
        float mn = INFINITY, mx = -INFINITY;
        FOR_LIVE_ROWS(v, r, {
            const uint32_t u = fl32(d + (size_t)r * 4);
            float x;
            memcpy(&x, &u, 4);
            if (x < mn)
                mn = x;
            if (x > mx)
                mx = x;
            sf += (double)x;
        });
        found = mn <= mx;
        uint32_t um, ux;
        memcpy(&um, &mn, 4);
        memcpy(&ux, &mx, 4);
        mo_store_le32(a, um);
        mo_store_le32(b, ux);
    } else {
        double mn = INFINITY, mx = -INFINITY;
        FOR_LIVE_ROWS(v, r, {
            const uint64_t u = fl64(d + (size_t)r * 8);
            double x;
            memcpy(&x, &u, 8);
            if (x < mn)
                mn = x;
            if (x > mx)
                mx = x;
            sf += x;
        });
        found = mn <= mx;
        uint64_t um, ux;
        memcpy(&um, &mn, 8);
        memcpy(&ux, &mx, 8);
        mo_store_le64(a, um);
        mo_store_le64(b, ux);
    }
    if (found)
        zm_put_fixed(out, a, b, f32 ? 4 : 8);
    if (any_live(v)) {
        uint64_t bits;
        memcpy(&bits, &sf, sizeof(bits));
        zm_set_sum(out, bits);
    }
}

/*
 * Multi-word values, ordered by a 128-bit unsigned key k then a u64 l (the Rowid/Blockid
 * numbers); signed parts are biased by 2^63. Equal keys mean equal bytes.
 */

static inline void key_dec128(const uint8_t *p, u128 *k, uint64_t *l)
{
    *k = ((u128)(fl64(p + 8) ^ (1ull << 63)) << 64) | fl64(p);
    *l = 0;
}
static inline void key_ts(const uint8_t *p, u128 *k, uint64_t *l)
{
    *k = ((u128)(fl64(p + 4) ^ (1ull << 63)) << 64) | fl32(p);
    *l = 0;
}
static inline void key_uuid(const uint8_t *p, u128 *k, uint64_t *l)
{
    *k = ((u128)fbe64(p) << 64) | fbe64(p + 8);
    *l = 0;
}
static inline void key_rowid(const uint8_t *p, u128 *k, uint64_t *l)
{
    *k = ((u128)fbe64(p) << 64) | fbe64(p + 8);
    *l = ((uint64_t)fl16(p + 16) << 48) | ((uint64_t)fl16(p + 18) << 32) | fl32(p + 20);
}
static inline void key_blockid(const uint8_t *p, u128 *k, uint64_t *l)
{
    *k = ((u128)fbe64(p) << 64) | fbe64(p + 8);
    *l = ((uint64_t)fl16(p + 16) << 16) | fl16(p + 18);
}

#define WIDE_SCAN(KEY)                                                                         \
    FOR_LIVE_ROWS(v, r, {                                                                      \
        const uint8_t *p = d + (size_t)r * (size_t)sz;                                         \
        u128 k;                                                                                \
        uint64_t l;                                                                            \
        KEY(p, &k, &l);                                                                        \
        if (!mnp) {                                                                            \
            mnp = mxp = p;                                                                     \
            mnk = mxk = k;                                                                     \
            mnl = mxl = l;                                                                     \
        } else {                                                                               \
            if (k < mnk || (k == mnk && l < mnl)) {                                            \
                mnp = p;                                                                       \
                mnk = k;                                                                       \
                mnl = l;                                                                       \
            }                                                                                  \
            if (k > mxk || (k == mxk && l > mxl)) {                                            \
                mxp = p;                                                                       \
                mxk = k;                                                                       \
                mxl = l;                                                                       \
            }                                                                                  \
        }                                                                                      \
    })

static void zm_flat_wide(mo_obj_zm *out, const mo_obj_vec *v, int sz)
{
    const uint8_t *d = v->data;
    const uint8_t *mnp = NULL, *mxp = NULL;
    u128 mnk = 0, mxk = 0;
    uint64_t mnl = 0, mxl = 0;
    switch (v->type.oid) {
    case MO_T_DECIMAL128:
        WIDE_SCAN(key_dec128);
        break;
    case MO_T_TS:
        WIDE_SCAN(key_ts);
        break;
    case MO_T_UUID:
        WIDE_SCAN(key_uuid);
        break;
    case MO_T_ROWID:
        WIDE_SCAN(key_rowid);
        break;
    default:
        WIDE_SCAN(key_blockid);
        break;
    }
    if (mnp)
        zm_put_fixed(out, mnp, mxp, sz);
}

/*
 * Varlena payload of a 24-byte slot and its first 8 bytes as a big-endian key (zero-padded:
 * a strictly smaller key means a strictly smaller value under bytes.Compare). Selects, not
 * branches, between inline and out-of-line: varchar lengths around the 23-byte inline limit
 * made that branch mispredict on a large share of rows.
 */
static inline void vl_get(const mo_obj_vec *v, const uint8_t *s, const uint8_t **p, uint32_t *n,
                          uint64_t *k)
{
    /* all-ones when inline; the address of either place is formed as an integer, so the
     * unused one is never a pointer */
    const uint64_t inl = (uint64_t)0 - (uint64_t)(s[0] <= 23);
    const uint32_t len = (uint32_t)((s[0] & inl) | (fl32(s + 8) & ~inl));
    const uintptr_t q = (uintptr_t)(((uint64_t)(uintptr_t)(s + 1) & inl) |
                                    ((uint64_t)((uintptr_t)v->area + fl32(s + 4)) & ~inl));
    uint64_t x = 0;
    if (inl | (len >= 8)) {
        x = fbe64((const uint8_t *)q); /* inline: inside the 24-byte slot; else in the area */
    } else {
        for (uint32_t i = 0; i < len; i++) /* a short out-of-line value: only len bytes */
            x |= (uint64_t)((const uint8_t *)q)[i] << (56 - 8 * i);
    }
    *p = (const uint8_t *)q;
    *n = len;
    /* the first min(len, 8) bytes: len 0..7 keeps 8*len bits, len >= 8 all of them */
    *k = x & (~(UINT64_MAX >> ((8 * len) & 63)) | ((uint64_t)0 - (uint64_t)(len >= 8)));
}

/*
 * bytes.Compare of two values whose keys are equal: when either is at most 8 bytes long it is
 * a prefix of the other (the key zero-pads), so the shorter is smaller; otherwise the first 8
 * bytes are equal and the rest decides.
 */
static inline int vl_cmp_tied(const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn)
{
    if (an <= 8 || bn <= 8)
        return CMP3(an, bn);
    return cmp_bytes(a + 8, an - 8, b + 8, bn - 8);
}

/* Unsigned min and max of the keys whose mask byte is -1 (a NULL row is neutral: all-ones
 * for the min, 0 for the max). */
ZM_CLONES static void keys_minmax_m(const uint64_t *k, const int8_t *m, uint32_t n, uint64_t *mn,
                                    uint64_t *mx)
{
    uint64_t a = *mn, b = *mx;
    for (uint32_t r = 0; r < n; r++) {
        const uint64_t l = (uint64_t)(int64_t)m[r];
        const uint64_t xa = k[r] | ~l, xb = k[r] & l;
        a = xa < a ? xa : a;
        b = xb > b ? xb : b;
    }
    *mn = a;
    *mx = b;
}

/*
 * Min and max by bytes.Compare, first of equal values kept, in three steps per batch of rows:
 * the 8-byte keys of all rows (straight-line, no compares), their masked min and max (a
 * vectorised loop), then only the live rows whose key equals a batch extreme that can change
 * the running one are compared in row order, in full where keys tie. A row whose key is not
 * its batch's extreme cannot be the min or max, so the result is the row-order scan's.
 */
static void zm_flat_varlena(mo_obj_zm *out, const mo_obj_vec *v)
{
    const uint8_t *d = v->data;
    const uint8_t *mnp = NULL, *mxp = NULL;
    uint32_t mnn = 0, mxn = 0;
    uint64_t mnk = 0, mxk = 0;
    uint64_t keys[MASK_ROWS];
    int8_t m[MASK_ROWS];
    memset(m, -1, sizeof(m));
    const bool nulls = flat_has_nulls(v);
    for (uint32_t base = 0; base < v->length; base += MASK_ROWS) {
        const uint32_t n = v->length - base < MASK_ROWS ? v->length - base : MASK_ROWS;
        const uint8_t *sb = d + (size_t)base * MO_OBJ_VARLENA_SIZE;
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *p;
            uint32_t len;
            vl_get(v, sb + (size_t)i * MO_OBJ_VARLENA_SIZE, &p, &len, &keys[i]);
        }
        if (nulls)
            live_mask(m, v, base, n);
        uint64_t bmn = UINT64_MAX, bmx = 0;
        keys_minmax_m(keys, m, n, &bmn, &bmx);
        /* a row whose key ties the running min is smaller only if it is shorter and the
         * min's bytes after its length are zero: a min of at most 8 bytes that is empty or
         * ends in a nonzero byte (say "" or "GC") is final against ties, so low-cardinality
         * columns do not rescan every batch */
        const bool mn_final = mnp && mnn <= 8 && (mnn == 0 || mnp[mnn - 1] != 0);
        const bool scan_mn = !mnp || bmn < mnk || (bmn == mnk && !mn_final);
        const bool scan_mx = !mxp || bmx >= mxk;
        if (!scan_mn && !scan_mx)
            continue;
        /* (an all-NULL batch finds no row here and changes nothing) */
        for (uint32_t i = 0; i < n; i++) {
            if (!m[i] || (keys[i] != bmn && keys[i] != bmx))
                continue;
            const uint8_t *p;
            uint32_t len;
            uint64_t k;
            vl_get(v, sb + (size_t)i * MO_OBJ_VARLENA_SIZE, &p, &len, &k);
            if (scan_mn && k == bmn &&
                (!mnp || k < mnk || vl_cmp_tied(mnp, mnn, p, len) > 0)) {
                mnp = p;
                mnn = len;
                mnk = k;
            }
            if (scan_mx && k == bmx &&
                (!mxp || k > mxk || vl_cmp_tied(mxp, mxn, p, len) < 0)) {
                mxp = p;
                mxn = len;
                mxk = k;
            }
        }
    }
    if (mnp) {
        mo_obj_zm_update(out, mnp, mnn);
        mo_obj_zm_update(out, mxp, mxn);
    }
}

static void zm_flat_bool(mo_obj_zm *out, const mo_obj_vec *v, bool bool_max_or)
{
    const uint8_t *d = v->data;
    uint8_t band = 1, bor = 0;
    FOR_LIVE_ROWS(v, r, {
        const uint8_t b = d[r] != 0;
        band &= b;
        bor |= b;
    });
    if (!any_live(v))
        return;
    const uint8_t mx = bool_max_or ? bor : band;
    mo_obj_zm_update(out, &band, 1);
    mo_obj_zm_update(out, &mx, 1);
}

/* A constant vector: one value repeated length times (or every row NULL). */
static void zm_const(mo_obj_zm *out, const mo_obj_vec *v, bool bool_max_or, int sz)
{
    const uint8_t oid = v->type.oid;
    if (!v->length || mo_obj_vec_is_const_null(v))
        return;
    const uint8_t *p;
    uint32_t n;
    mo_obj_vec_value(v, 0, &p, &n);
    if (oid == MO_T_BOOL) {
        const uint8_t b = p[0] != 0;
        (void)bool_max_or; /* AND and OR of one repeated value agree */
        mo_obj_zm_update(out, &b, 1);
        mo_obj_zm_update(out, &b, 1);
        return;
    }
    if (!value_is_nan(oid, p, n)) {
        mo_obj_zm_update(out, p, n);
        mo_obj_zm_update(out, p, n);
    }
    if (mo_obj_zm_has_sum(oid)) {
        sum_acc acc = {0};
        for (uint32_t r = 0; r < v->length; r++)
            sum_add(&acc, oid, sz, p);
        sum_store(out, oid, &acc);
    }
}

void mo_obj_zm_from_vec(mo_obj_zm *out, const mo_obj_vec *v, uint8_t scale, bool bool_max_or)
{
    const uint8_t oid = v->type.oid;
    mo_obj_zm_init(out, oid, scale);
    if (oid == MO_T_DECIMAL256)
        return; /* BatchUpdateZM returns early, and decimal256 has no sum */
    if (is_array(oid))
        return; /* UpdateZM never initializes a vector ZM, and arrays have no sum */
    const int sz = fixed_len(oid);
    if (sz == 0 || (sz > 0 && v->type.size != sz) ||
        (sz < 0 && v->type.size != MO_OBJ_VARLENA_SIZE)) {
        zm_from_vec_generic(out, v, bool_max_or);
        return;
    }
    if (v->cls == MO_OBJ_VEC_CONST) {
        zm_const(out, v, bool_max_or, sz);
        return;
    }
    switch (oid) {
    case MO_T_BOOL:
        zm_flat_bool(out, v, bool_max_or);
        return;
    case MO_T_FLOAT32:
    case MO_T_FLOAT64:
        zm_flat_float(out, v, oid == MO_T_FLOAT32);
        return;
    case MO_T_DECIMAL128:
    case MO_T_TS:
    case MO_T_UUID:
    case MO_T_ROWID:
    case MO_T_BLOCKID:
        zm_flat_wide(out, v, sz);
        return;
    default:
        break;
    }
    if (sz < 0)
        zm_flat_varlena(out, v);
    else if (sz <= 8)
        zm_flat_int(out, v, sz);
    else
        zm_from_vec_generic(out, v, bool_max_or);
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
