/* Identifiers, object names, extents, IOEntry/LZ4 helpers, the column type table and
 * ObjectStats (spec §1, §3, §6, §7). Names are parsed strictly because they become file
 * paths: only the exact 42-char lower-case form is accepted, so no name can carry '/',
 * '..', NUL or any other byte a path could misuse. */
#include "mo/obj_types.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---------------- UUIDs and names ---------------- */

int mo_obj_segid_new(uint8_t out[16], mo_err *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    uint8_t rnd[10];
    size_t got = 0;
    while (got < sizeof(rnd)) {
        ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return mo_err_sys(err, MO_EIO, errno, "getrandom");
        }
        got += (size_t)r;
    }
    for (int i = 0; i < 6; i++)
        out[i] = (uint8_t)(ms >> (40 - 8 * i));
    memcpy(out + 6, rnd, 10);
    out[6] = (uint8_t)(0x70 | (out[6] & 0x0f)); /* version 7 */
    out[8] = (uint8_t)(0x80 | (out[8] & 0x3f)); /* variant 10 */
    return MO_OK;
}

void mo_obj_uuid_format(char out[37], const uint8_t u[16])
{
    static const char hex[] = "0123456789abcdef";
    int j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[j++] = '-';
        out[j++] = hex[u[i] >> 4];
        out[j++] = hex[u[i] & 15];
    }
    out[j] = 0;
}

static int hexval(char c, bool lower_only)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (!lower_only && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int uuid_parse(uint8_t out[16], const char *s, size_t len, bool lower_only)
{
    if (len != 36)
        return -1;
    int j = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            i++;
            continue;
        }
        int hi = hexval(s[i], lower_only), lo = hexval(s[i + 1], lower_only);
        if (hi < 0 || lo < 0)
            return -1;
        out[j++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return 0;
}

int mo_obj_uuid_parse(uint8_t out[16], const char *s, size_t len, mo_err *err)
{
    if (uuid_parse(out, s, len, false) < 0)
        return mo_err_set(err, MO_EINVAL, "bad uuid text '%.*s'", (int)(len > 40 ? 40 : len), s);
    return MO_OK;
}

void mo_obj_name_format(char out[43], const mo_obj_objectid *id)
{
    mo_obj_uuid_format(out, id->seg);
    snprintf(out + 36, 7, "_%05u", (unsigned)id->num);
}

/* Printable excerpt of an untrusted name for messages: non-printables become '?'. */
static void name_excerpt(char out[48], const char *s, size_t len)
{
    size_t n = len > 44 ? 44 : len;
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[n] = 0;
    if (len > n)
        memcpy(out + n, "...", 4);
}

int mo_obj_name_parse(mo_obj_objectid *out, const char *s, size_t len, mo_err *err)
{
    char ex[48];
    if (len != MO_OBJ_NAME_STR_LEN) {
        name_excerpt(ex, s, len);
        return mo_err_set(err, MO_EINVAL, "object name '%s': length %zu, want 42", ex, len);
    }
    if (uuid_parse(out->seg, s, 36, true) < 0 || s[36] != '_') {
        name_excerpt(ex, s, len);
        return mo_err_set(err, MO_EINVAL, "object name '%s': not '<lower-case uuid>_<num>'", ex);
    }
    unsigned v = 0;
    for (int i = 37; i < 42; i++) {
        if (s[i] < '0' || s[i] > '9') {
            name_excerpt(ex, s, len);
            return mo_err_set(err, MO_EINVAL, "object name '%s': file number not 5 digits", ex);
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535) {
        name_excerpt(ex, s, len);
        return mo_err_set(err, MO_EINVAL, "object name '%s': file number %u > 65535", ex, v);
    }
    out->num = (uint16_t)v;
    return MO_OK;
}

bool mo_obj_name_valid(const char *s)
{
    mo_obj_objectid id;
    size_t n = strnlen(s, 64);
    return mo_obj_name_parse(&id, s, n, NULL) == MO_OK;
}

void mo_obj_objectid_encode(uint8_t out[18], const mo_obj_objectid *id)
{
    memcpy(out, id->seg, 16);
    mo_store_le16(out + 16, id->num);
}

void mo_obj_objectid_decode(mo_obj_objectid *out, const uint8_t in[18])
{
    memcpy(out->seg, in, 16);
    out->num = mo_load_le16(in + 16);
}

void mo_obj_name_encode(uint8_t out[60], const mo_obj_objectid *id)
{
    char s[43];
    mo_obj_objectid_encode(out, id);
    mo_obj_name_format(s, id);
    memcpy(out + 18, s, 42);
}

int mo_obj_name_decode(mo_obj_objectid *out, const uint8_t in[60], mo_err *err)
{
    mo_obj_objectid bin, str;
    mo_obj_objectid_decode(&bin, in);
    int rc = mo_obj_name_parse(&str, (const char *)in + 18, 42, err);
    if (rc < 0)
        return rc == MO_EINVAL ? mo_err_set(err, MO_ECORRUPT, "%s", err ? err->msg : "") : rc;
    if (memcmp(bin.seg, str.seg, 16) || bin.num != str.num)
        return mo_err_set(err, MO_ECORRUPT, "ObjectName: string '%.42s' disagrees with binary id",
                          (const char *)in + 18);
    *out = bin;
    return MO_OK;
}

int mo_obj_objectid_cmp(const mo_obj_objectid *a, const mo_obj_objectid *b)
{
    int c = memcmp(a->seg, b->seg, 16);
    if (c)
        return c < 0 ? -1 : 1;
    return a->num < b->num ? -1 : a->num > b->num;
}

/* ---------------- TS, Rowid ---------------- */

void mo_obj_ts_encode(uint8_t out[12], mo_obj_ts ts)
{
    mo_store_le32(out, ts.logical);
    mo_store_le64(out + 4, (uint64_t)ts.physical);
}

mo_obj_ts mo_obj_ts_decode(const uint8_t in[12])
{
    mo_obj_ts ts = {(int64_t)mo_load_le64(in + 4), mo_load_le32(in)};
    return ts;
}

int mo_obj_ts_cmp(mo_obj_ts a, mo_obj_ts b)
{
    if (a.physical != b.physical)
        return a.physical < b.physical ? -1 : 1;
    return a.logical < b.logical ? -1 : a.logical > b.logical;
}

void mo_obj_ts_format(char out[48], mo_obj_ts ts)
{
    snprintf(out, 48, "%" PRId64 "-%" PRIu32, ts.physical, ts.logical);
}

/* Parses a decimal integer of s[0..n) strictly; false on junk or overflow. */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

int mo_obj_ts_parse(mo_obj_ts *out, const char *s, mo_err *err)
{
    const char *dash = strrchr(s, '-');
    bool neg = s[0] == '-';
    if (!dash || dash == s)
        return mo_err_set(err, MO_EINVAL, "bad TS text '%.40s': want <physical>-<logical>", s);
    uint64_t phys, logical;
    const char *p = s + (neg ? 1 : 0);
    if (!parse_u64(p, (size_t)(dash - p), neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &phys) ||
        !parse_u64(dash + 1, strlen(dash + 1), UINT32_MAX, &logical))
        return mo_err_set(err, MO_EINVAL, "bad TS text '%.40s': want <physical>-<logical>", s);
    out->physical = neg ? (int64_t)(0 - phys) : (int64_t)phys;
    out->logical = (uint32_t)logical;
    return MO_OK;
}

void mo_obj_rowid_make(uint8_t out[24], const mo_obj_objectid *id, uint16_t block, uint32_t row)
{
    mo_obj_objectid_encode(out, id);
    mo_store_le16(out + 18, block);
    mo_store_le32(out + 20, row);
}

void mo_obj_rowid_format(char out[64], const uint8_t r[24])
{
    char u[37];
    mo_obj_uuid_format(u, r);
    snprintf(out, 64, "%s_%u_%u_%" PRIu32, u, (unsigned)mo_load_le16(r + 16),
             (unsigned)mo_load_le16(r + 18), mo_load_le32(r + 20));
}

int mo_obj_rowid_parse(uint8_t out[24], const char *s, mo_err *err)
{
    size_t n = strlen(s);
    uint64_t num, blk, row;
    const char *a = n > 37 ? s + 37 : NULL;
    const char *b = a ? strchr(a, '_') : NULL;
    const char *c = b ? strchr(b + 1, '_') : NULL;
    if (n < 42 || s[36] != '_' || uuid_parse(out, s, 36, false) < 0 || !b || !c ||
        !parse_u64(a, (size_t)(b - a), 65535, &num) ||
        !parse_u64(b + 1, (size_t)(c - b - 1), 65535, &blk) ||
        !parse_u64(c + 1, strlen(c + 1), UINT32_MAX, &row))
        return mo_err_set(err, MO_EINVAL, "bad Rowid text '%.80s': want <uuid>_<num>_<blk>_<row>",
                          s);
    mo_store_le16(out + 16, (uint16_t)num);
    mo_store_le16(out + 18, (uint16_t)blk);
    mo_store_le32(out + 20, (uint32_t)row);
    return MO_OK;
}

int mo_obj_rowid_cmp(const uint8_t *a, const uint8_t *b, size_t len)
{
    int c = memcmp(a, b, 16);
    if (c)
        return c < 0 ? -1 : 1;
    uint16_t an = mo_load_le16(a + 16), bn = mo_load_le16(b + 16);
    if (an != bn)
        return an < bn ? -1 : 1;
    uint16_t ab = mo_load_le16(a + 18), bb = mo_load_le16(b + 18);
    if (ab != bb)
        return ab < bb ? -1 : 1;
    if (len < 24)
        return 0;
    uint32_t ar = mo_load_le32(a + 20), br = mo_load_le32(b + 20);
    return ar < br ? -1 : ar > br;
}

/* ---------------- extents, locations, LZ4 ---------------- */

void mo_obj_extent_encode(uint8_t out[13], const mo_obj_extent *e)
{
    out[0] = e->alg;
    mo_store_le32(out + 1, e->offset);
    mo_store_le32(out + 5, e->length);
    mo_store_le32(out + 9, e->origin_size);
}

void mo_obj_extent_decode(mo_obj_extent *out, const uint8_t in[13])
{
    out->alg = in[0];
    out->offset = mo_load_le32(in + 1);
    out->length = mo_load_le32(in + 5);
    out->origin_size = mo_load_le32(in + 9);
}

void mo_obj_location_format(char out[128], const mo_obj_location *l)
{
    char name[43];
    mo_obj_name_format(name, &l->id);
    snprintf(out, 128, "%s_%u_%" PRIu32 "_%" PRIu32 "_%" PRIu32 "_%" PRIu32 "_%u", name,
             (unsigned)l->extent.alg, l->extent.offset, l->extent.length, l->extent.origin_size,
             l->rows, (unsigned)l->block);
}

int mo_obj_location_parse(mo_obj_location *out, const char *s, mo_err *err)
{
    size_t n = strlen(s);
    if (n < 43 || s[42] != '_' || mo_obj_name_parse(&out->id, s, 42, NULL) < 0)
        return mo_err_set(err, MO_EINVAL, "bad location '%.100s': want <name>_<alg>_<off>_<len>_<origin>_<rows>_<blk>", s);
    uint64_t v[6];
    static const uint64_t max[6] = {255, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, 65535};
    const char *p = s + 43;
    for (int i = 0; i < 6; i++) {
        const char *e = strchr(p, '_');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if ((i < 5) != (e != NULL) || !parse_u64(p, len, max[i], &v[i]))
            return mo_err_set(err, MO_EINVAL, "bad location '%.100s': field %d", s, i + 2);
        p = e ? e + 1 : p + len;
    }
    out->extent.alg = (uint8_t)v[0];
    out->extent.offset = (uint32_t)v[1];
    out->extent.length = (uint32_t)v[2];
    out->extent.origin_size = (uint32_t)v[3];
    out->rows = (uint32_t)v[4];
    out->block = (uint16_t)v[5];
    return MO_OK;
}

void mo_obj_location_encode(uint8_t out[79], const mo_obj_location *l)
{
    mo_obj_name_encode(out, &l->id);
    mo_obj_extent_encode(out + 60, &l->extent);
    mo_store_le32(out + 73, l->rows);
    mo_store_le16(out + 77, l->block);
}

int mo_obj_lz4_decode(void *dst, size_t origin_size, const void *src, size_t len, mo_err *err)
{
    if (len > INT32_MAX || origin_size > INT32_MAX)
        return mo_err_set(err, MO_ECORRUPT, "lz4 block too large (%zu -> %zu)", len, origin_size);
    int r = LZ4_decompress_safe(src, dst, (int)len, (int)origin_size);
    if (r < 0)
        return mo_err_set(err, MO_ECORRUPT, "lz4 block of %zu bytes is malformed (code %d)", len, r);
    if ((size_t)r != origin_size)
        return mo_err_set(err, MO_ECORRUPT, "lz4 block decodes to %d bytes, originSize says %zu", r,
                          origin_size);
    return MO_OK;
}

int mo_obj_lz4_decode_prefix(void *dst, size_t want, const void *src, size_t len,
                             size_t origin_size, mo_err *err)
{
    if (len > INT32_MAX || want > origin_size || origin_size > INT32_MAX)
        return mo_err_set(err, MO_ECORRUPT, "lz4 prefix of %zu bytes from %zu -> %zu", want, len,
                          origin_size);
    int r = LZ4_decompress_safe_partial(src, dst, (int)len, (int)want, (int)want);
    if (r < 0 || (size_t)r != want)
        return mo_err_set(err, MO_ECORRUPT, "lz4 block of %zu bytes does not start with %zu bytes",
                          len, want);
    return MO_OK;
}

int mo_obj_lz4_encode(mo_buf *out, const void *src, size_t len, uint32_t *clen_out, mo_err *err)
{
    if (len > LZ4_MAX_INPUT_SIZE)
        return mo_err_set(err, MO_EINVAL, "lz4 input of %zu bytes too large", len);
    int bound = LZ4_compressBound((int)len);
    if (mo_buf_reserve(out, (size_t)bound) < 0)
        return mo_err_set(err, MO_ENOMEM, "lz4 buffer of %d bytes", bound);
    int c = LZ4_compress_default(src, (char *)out->ptr + out->len, (int)len, bound);
    if (c <= 0)
        return mo_err_set(err, MO_ERROR, "lz4 compression failed");
    out->len += (size_t)c;
    *clen_out = (uint32_t)c;
    return MO_OK;
}

/* ---------------- type table ---------------- */

typedef struct type_info {
    uint8_t oid;
    int8_t size; /* canonical TypeLen; -1 = not storable */
    const char *name;
    int32_t width;
    uint8_t charset;
} type_info;

static const type_info type_table[] = {
    {MO_T_BOOL, 1, "bool", 0, 0},
    {MO_T_BIT, 8, "bit", 64, 0},
    {MO_T_INT8, 1, "int8", 0, 0},
    {MO_T_INT16, 2, "int16", 0, 0},
    {MO_T_INT32, 4, "int32", 0, 0},
    {MO_T_INT64, 8, "int64", 0, 0},
    {MO_T_UINT8, 1, "uint8", 0, 0},
    {MO_T_UINT16, 2, "uint16", 0, 0},
    {MO_T_UINT32, 4, "uint32", 0, 0},
    {MO_T_UINT64, 8, "uint64", 0, 0},
    {MO_T_FLOAT32, 4, "float32", 0, 0},
    {MO_T_FLOAT64, 8, "float64", 0, 0},
    {MO_T_DECIMAL64, 8, "decimal64", 18, 0},
    {MO_T_DECIMAL128, 16, "decimal128", 38, 0},
    {MO_T_DECIMAL256, 32, "decimal256", 76, 0},
    {MO_T_DATE, 4, "date", 0, 0},
    {MO_T_TIME, 8, "time", 0, 0},
    {MO_T_DATETIME, 8, "datetime", 0, 0},
    {MO_T_TIMESTAMP, 8, "timestamp", 0, 0},
    {MO_T_YEAR, 2, "year", 4, 0},
    {MO_T_CHAR, 24, "char", 255, 3},
    {MO_T_VARCHAR, 24, "varchar", 65535, 3},
    {MO_T_JSON, 24, "json", 0, 0},
    {MO_T_UUID, 16, "uuid", 0, 0},
    {MO_T_BINARY, 24, "binary", 255, 1},
    {MO_T_VARBINARY, 24, "varbinary", 65535, 1},
    {MO_T_ENUM, 2, "enum", 0, 0},
    {MO_T_GEOMETRY, 24, "geometry", 0, 1},
    {MO_T_GEOMETRY32, 24, "geometry32", 0, 1},
    {MO_T_BLOB, 24, "blob", 0, 1},
    {MO_T_TEXT, 24, "text", 0, 3},
    {MO_T_DATALINK, 24, "datalink", 0, 0},
    {MO_T_TS, 12, "ts", 0, 0},
    {MO_T_ROWID, 24, "rowid", 0, 0},
    {MO_T_BLOCKID, 20, "blockid", 0, 0},
    {MO_T_VECF32, 24, "vecf32", 65535, 0},
    {MO_T_VECF64, 24, "vecf64", 65535, 0},
    {MO_T_VECBF16, 24, "vecbf16", 65535, 0},
    {MO_T_VECF16, 24, "vecf16", 65535, 0},
    {MO_T_VECINT8, 24, "vecint8", 65535, 0},
    {MO_T_VECUINT8, 24, "vecuint8", 65535, 0},
};

static const type_info *type_lookup(uint8_t oid)
{
    for (size_t i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
        if (type_table[i].oid == oid)
            return &type_table[i];
    return NULL;
}

int mo_obj_type_size(uint8_t oid)
{
    const type_info *t = type_lookup(oid);
    return t ? t->size : -1;
}

bool mo_obj_type_is_array(uint8_t oid)
{
    return oid >= MO_T_VECF32 && oid <= MO_T_VECUINT8;
}

int mo_obj_type_array_elem(uint8_t oid)
{
    switch (oid) {
    case MO_T_VECF32:
        return 4;
    case MO_T_VECF64:
        return 8;
    case MO_T_VECBF16:
    case MO_T_VECF16:
        return 2;
    case MO_T_VECINT8:
    case MO_T_VECUINT8:
        return 1;
    default:
        return 0;
    }
}

bool mo_obj_type_is_varlena(uint8_t oid)
{
    switch (oid) {
    case MO_T_CHAR:
    case MO_T_VARCHAR:
    case MO_T_JSON:
    case MO_T_BINARY:
    case MO_T_VARBINARY:
    case MO_T_GEOMETRY:
    case MO_T_GEOMETRY32:
    case MO_T_BLOB:
    case MO_T_TEXT:
    case MO_T_DATALINK:
        return true;
    default:
        return mo_obj_type_is_array(oid);
    }
}

const char *mo_obj_type_name(uint8_t oid)
{
    const type_info *t = type_lookup(oid);
    return t ? t->name : NULL;
}

mo_obj_type mo_obj_type_default(uint8_t oid)
{
    mo_obj_type t = {0};
    const type_info *ti = type_lookup(oid);
    t.oid = oid;
    if (ti) {
        t.size = ti->size;
        t.width = ti->width;
        t.charset = ti->charset;
    }
    return t;
}

int mo_obj_type_parse(mo_obj_type *out, const char *s, size_t len, mo_err *err)
{
    char name[32];
    size_t nl = 0;
    while (nl < len && s[nl] != '(' && nl < sizeof(name) - 1) {
        name[nl] = s[nl];
        nl++;
    }
    name[nl] = 0;
    /* aliases users type */
    static const struct {
        const char *alias, *name;
    } aliases[] = {{"int", "int32"},      {"bigint", "int64"},     {"smallint", "int16"},
                   {"tinyint", "int8"},   {"float", "float32"},    {"double", "float64"},
                   {"boolean", "bool"},   {"decimal", "decimal64"}};
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (!strcmp(name, aliases[i].alias))
            snprintf(name, sizeof(name), "%s", aliases[i].name);
    const type_info *ti = NULL;
    for (size_t i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
        if (!strcmp(type_table[i].name, name))
            ti = &type_table[i];
    if (!ti || ti->oid == MO_T_BLOCKID)
        return mo_err_set(err, MO_EINVAL, "unknown column type '%.*s'", (int)(len > 40 ? 40 : len),
                          s);
    *out = mo_obj_type_default(ti->oid);
    if (nl == len)
        return MO_OK;
    /* "(a)" or "(a,b)" */
    long a = -1, b = -1;
    char tail[64];
    size_t tl = len - nl;
    if (tl >= sizeof(tail))
        return mo_err_set(err, MO_EINVAL, "bad type parameters in '%.*s'", (int)len, s);
    memcpy(tail, s + nl, tl);
    tail[tl] = 0;
    char close = 0;
    int got = sscanf(tail, "(%ld,%ld%c", &a, &b, &close);
    if (got != 3 || close != ')') {
        got = sscanf(tail, "(%ld%c", &a, &close);
        if (got != 2 || close != ')')
            return mo_err_set(err, MO_EINVAL, "bad type parameters in '%.*s'", (int)len, s);
        b = -1;
    }
    char chk[64];
    if (b >= 0)
        snprintf(chk, sizeof(chk), "(%ld,%ld)", a, b);
    else
        snprintf(chk, sizeof(chk), "(%ld)", a);
    if (strcmp(chk, tail) != 0 || a < 0 || a > 65535 || b > 65535)
        return mo_err_set(err, MO_EINVAL, "bad type parameters in '%.*s'", (int)len, s);
    switch (ti->oid) {
    case MO_T_DECIMAL64:
    case MO_T_DECIMAL128:
    case MO_T_DECIMAL256:
        out->width = (int32_t)a;
        out->scale = b >= 0 ? (int32_t)b : 0;
        if (out->scale > out->width || out->width > ti->width)
            return mo_err_set(err, MO_EINVAL, "decimal precision/scale out of range in '%.*s'",
                              (int)len, s);
        break;
    case MO_T_TIME:
    case MO_T_DATETIME:
    case MO_T_TIMESTAMP:
        if (b >= 0 || a > 6)
            return mo_err_set(err, MO_EINVAL, "fsp must be 0..6 in '%.*s'", (int)len, s);
        out->scale = (int32_t)a;
        break;
    default:
        if (b >= 0 || ti->width == 0)
            return mo_err_set(err, MO_EINVAL, "type '%s' takes no such parameters", ti->name);
        out->width = (int32_t)a;
        break;
    }
    return MO_OK;
}

void mo_obj_type_format(char out[48], const mo_obj_type *t)
{
    const char *n = mo_obj_type_name(t->oid);
    if (!n) {
        snprintf(out, 48, "oid%u", (unsigned)t->oid);
        return;
    }
    switch (t->oid) {
    case MO_T_DECIMAL64:
    case MO_T_DECIMAL128:
    case MO_T_DECIMAL256:
        snprintf(out, 48, "%s(%d,%d)", n, (int)t->width, (int)t->scale);
        break;
    case MO_T_TIME:
    case MO_T_DATETIME:
    case MO_T_TIMESTAMP:
        if (t->scale)
            snprintf(out, 48, "%s(%d)", n, (int)t->scale);
        else
            snprintf(out, 48, "%s", n);
        break;
    default: {
        const type_info *ti = type_lookup(t->oid);
        if (ti && ti->width && t->width != ti->width)
            snprintf(out, 48, "%s(%d)", n, (int)t->width);
        else
            snprintf(out, 48, "%s", n);
    }
    }
}

void mo_obj_type_encode(uint8_t out[16], const mo_obj_type *t)
{
    out[0] = t->oid;
    out[1] = t->charset;
    out[2] = t->not_null;
    out[3] = 0;
    mo_store_le32(out + 4, (uint32_t)t->size);
    mo_store_le32(out + 8, (uint32_t)t->width);
    mo_store_le32(out + 12, (uint32_t)t->scale);
}

int mo_obj_type_decode(mo_obj_type *out, const uint8_t in[16], mo_err *err)
{
    out->oid = in[0];
    out->charset = in[1];
    out->not_null = in[2];
    out->size = (int32_t)mo_load_le32(in + 4);
    out->width = (int32_t)mo_load_le32(in + 8);
    out->scale = (int32_t)mo_load_le32(in + 12);
    int sz = mo_obj_type_size(out->oid);
    if (sz < 0)
        return mo_err_set(err, MO_ECORRUPT, "type oid %u is not storable in a vector",
                          (unsigned)out->oid);
    if (out->size != sz)
        return mo_err_set(err, MO_ECORRUPT, "invalid vector type size %d for %s (want %d)",
                          (int)out->size, mo_obj_type_name(out->oid), sz);
    return MO_OK;
}

/* ---------------- ObjectStats ---------------- */

void mo_obj_stats_encode(uint8_t out[154], const mo_obj_stats *s)
{
    mo_obj_name_encode(out, &s->id);
    mo_obj_extent_encode(out + 60, &s->extent);
    mo_store_le32(out + 73, s->rows);
    mo_store_le32(out + 77, s->block_count);
    memcpy(out + 81, s->sort_key_zm, 64);
    mo_store_le32(out + 145, s->size);
    mo_store_le32(out + 149, s->origin_size);
    out[153] = s->flags;
}

int mo_obj_stats_decode(mo_obj_stats *out, const uint8_t in[154], mo_err *err)
{
    int rc = mo_obj_name_decode(&out->id, in, err);
    if (rc < 0) {
        mo_err_prefix(err, "ObjectStats: ");
        return rc;
    }
    mo_obj_extent_decode(&out->extent, in + 60);
    out->rows = mo_load_le32(in + 73);
    out->block_count = mo_load_le32(in + 77);
    memcpy(out->sort_key_zm, in + 81, 64);
    out->size = mo_load_le32(in + 145);
    out->origin_size = mo_load_le32(in + 149);
    out->flags = in[153];
    return MO_OK;
}

void mo_obj_stats_set_level(mo_obj_stats *s, int level)
{
    if (level < 0)
        level = 0;
    if (level > 7)
        level = 7;
    s->flags = (uint8_t)((s->flags & 0x1f) | (level << 5));
}

uint32_t mo_obj_stats_block_rows(const mo_obj_stats *s, uint32_t blk)
{
    if (s->block_count == 0 || blk >= s->block_count)
        return 0;
    if (blk + 1 < s->block_count)
        return MO_OBJ_BLOCK_MAX_ROWS;
    return s->rows - MO_OBJ_BLOCK_MAX_ROWS * (s->block_count - 1);
}
