/* The bundle manifest (MANIFEST.mosync, the first tar entry): a text file with a magic and
 * version line, one line per object (name, logical size, XXH3-128, ObjectStats) and a trailer
 * with the line count and the XXH3-64 of every preceding byte. The parser is strict and
 * treats a missing or wrong trailer as a torn bundle (MO_ECORRUPT); it never trusts a prefix.
 * Names must be valid 42-char object names, so an entry can never name a path. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xfer_int.h"

#define HASH_HEX 32
#define STATS_HEX (2 * MO_OBJ_STATS_LEN)

int mo_xfer__manifest_begin(mo_buf *out)
{
    return mo_buf_printf(out, "%s %d\n", MO_XFER__MANIFEST_MAGIC, MO_XFER__MANIFEST_VERSION);
}

int mo_xfer__manifest_add(mo_buf *out, const mo_obj_ref *ref)
{
    char hex[HASH_HEX + 1];
    mo_digest128_hex(hex, ref->digest);
    int rc = mo_buf_printf(out, "%s %" PRIu64 " %s ", ref->name, ref->size, hex);
    if (rc < 0)
        return rc;
    if (!ref->has_stats)
        return mo_buf_put(out, "-\n", 2);
    uint8_t *p;
    if ((rc = mo_buf_grow(out, STATS_HEX + 1, &p)) < 0)
        return rc;
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < MO_OBJ_STATS_LEN; i++) {
        p[2 * i] = (uint8_t)digits[ref->stats[i] >> 4];
        p[2 * i + 1] = (uint8_t)digits[ref->stats[i] & 15];
    }
    p[STATS_HEX] = '\n';
    return MO_OK;
}

int mo_xfer__manifest_end(mo_buf *out, uint64_t count)
{
    const uint64_t h = mo_xxh3_64(out->ptr, out->len);
    return mo_buf_printf(out, "end %" PRIu64 " %016" PRIx64 "\n", count, h);
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is not canonical: refused */
}

/* Decodes 2*n lower-case hex digits into @p out. */
static bool unhex(uint8_t *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const int a = hexval(p[2 * i]), b = hexval(p[2 * i + 1]);
        if (a < 0 || b < 0)
            return false;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return true;
}

static bool hex_u64(uint64_t *out, const uint8_t *p)
{
    uint8_t b[8];
    if (!unhex(b, p, 8))
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    *out = v;
    return true;
}

/* Canonical decimal: no sign, no leading zero (except "0"), no overflow. Advances *pos. */
static bool parse_dec(uint64_t *out, const uint8_t *p, size_t len, size_t *pos)
{
    size_t i = *pos;
    if (i >= len || p[i] < '0' || p[i] > '9' ||
        (p[i] == '0' && i + 1 < len && p[i + 1] >= '0' && p[i + 1] <= '9'))
        return false;
    uint64_t v = 0;
    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
        if (mo_mul_overflow(v, 10, &v) || mo_add_overflow(v, (uint64_t)(p[i] - '0'), &v))
            return false;
    *out = v;
    *pos = i;
    return true;
}

static int cmp_ref(const void *a, const void *b)
{
    return strcmp((*(const mo_obj_ref *const *)a)->name, (*(const mo_obj_ref *const *)b)->name);
}

/* One object line [p, p+len) without its '\n'. */
static int parse_line(mo_obj_ref *r, const uint8_t *p, size_t len, const char *what, size_t lineno,
                      mo_err *err)
{
    memset(r, 0, sizeof(*r));
    size_t pos = MO_OBJ_NAME_STR_LEN;
    if (len < pos + 1 || p[pos] != ' ')
        goto bad;
    memcpy(r->name, p, MO_OBJ_NAME_STR_LEN);
    r->name[MO_OBJ_NAME_STR_LEN] = 0;
    if (memchr(r->name, 0, MO_OBJ_NAME_STR_LEN) || !mo_obj_name_valid(r->name))
        return mo_err_set(err, MO_ECORRUPT, "%s line %zu: not an object name: '%.42s'", what,
                          lineno, r->name);
    pos++;
    if (!parse_dec(&r->size, p, len, &pos) || pos >= len || p[pos] != ' ')
        goto bad;
    pos++;
    if (len - pos < HASH_HEX + 1 || p[pos + HASH_HEX] != ' ' || !hex_u64(&r->digest.hi, p + pos) ||
        !hex_u64(&r->digest.lo, p + pos + 16))
        goto bad;
    r->has_digest = true;
    pos += HASH_HEX + 1;
    if (len - pos == 1 && p[pos] == '-')
        return MO_OK;
    if (len - pos != STATS_HEX || !unhex(r->stats, p + pos, MO_OBJ_STATS_LEN))
        goto bad;
    mo_obj_stats st;
    mo_err e;
    if (mo_obj_stats_decode(&st, r->stats, &e) < 0)
        return mo_err_set(err, MO_ECORRUPT, "%s line %zu: %s: ObjectStats: %s", what, lineno,
                          r->name, e.msg);
    char sn[MO_OBJ_NAME_STR_LEN + 1];
    mo_obj_name_format(sn, &st.id);
    if (strcmp(sn, r->name))
        return mo_err_set(err, MO_ECORRUPT, "%s line %zu: %s: ObjectStats names %s", what, lineno,
                          r->name, sn);
    r->has_stats = true;
    return MO_OK;
bad:
    return mo_err_set(err, MO_ECORRUPT, "%s line %zu: malformed object line", what, lineno);
}

int mo_xfer__manifest_parse(mo_xfer__manifest *out, const void *data, size_t n, const char *what,
                            mo_err *err)
{
    memset(out, 0, sizeof(*out));
    const uint8_t *p = data;
    const size_t ml = strlen(MO_XFER__MANIFEST_MAGIC);
    if (n < ml + 1 || memcmp(p, MO_XFER__MANIFEST_MAGIC " ", ml + 1))
        return mo_err_set(err, MO_ECORRUPT, "%s: not a mosync bundle manifest (bad magic)", what);
    size_t pos = ml + 1;
    uint64_t version;
    if (!parse_dec(&version, p, n, &pos) || pos >= n || p[pos] != '\n')
        return mo_err_set(err, MO_ECORRUPT, "%s: malformed version line", what);
    if (version != MO_XFER__MANIFEST_VERSION)
        return mo_err_set(err, MO_EVERSION, "%s: bundle version %" PRIu64 " (this build reads %d)",
                          what, version, MO_XFER__MANIFEST_VERSION);
    const size_t body = pos + 1;
    /* the trailer is the last line; without it (or with a wrong one) the file is torn */
    if (p[n - 1] != '\n')
        return mo_err_set(err, MO_ECORRUPT, "%s: no trailer (torn bundle)", what);
    size_t t = n - 1;
    while (t > body && p[t - 1] != '\n')
        t--;
    uint64_t count, sum;
    size_t tp = t + 4;
    if (n - t < 4 || memcmp(p + t, "end ", 4) || !parse_dec(&count, p, n - 1, &tp) ||
        n - 1 - tp != 17 || p[tp] != ' ' || !hex_u64(&sum, p + tp + 1))
        return mo_err_set(err, MO_ECORRUPT, "%s: no trailer (torn bundle)", what);
    const uint64_t h = mo_xxh3_64(p, t);
    if (h != sum)
        return mo_err_set(err, MO_ECORRUPT,
                          "%s: trailer xxh3 %016" PRIx64 " != %016" PRIx64 " of the content", what,
                          sum, h);
    /* the content is exactly what the writer wrote; now parse it strictly */
    size_t lines = 0;
    for (size_t i = body; i < t; i++)
        lines += p[i] == '\n';
    if (lines != count)
        return mo_err_set(err, MO_ECORRUPT, "%s: trailer counts %" PRIu64 " objects, found %zu",
                          what, count, lines);
    if (lines) {
        out->refs = mo_calloc(lines, sizeof(*out->refs));
        out->by_name = mo_calloc(lines, sizeof(*out->by_name));
        if (!out->refs || !out->by_name) {
            mo_xfer__manifest_dispose(out);
            return mo_err_set(err, MO_ENOMEM, "%s: %zu objects", what, lines);
        }
    }
    int rc = MO_OK;
    for (size_t i = body; i < t && rc == MO_OK;) {
        const uint8_t *nl = memchr(p + i, '\n', t - i);
        const size_t len = (size_t)(nl - (p + i));
        rc = parse_line(&out->refs[out->n], p + i, len, what, out->n + 2, err);
        if (rc == MO_OK) {
            out->by_name[out->n] = &out->refs[out->n];
            out->n++;
        }
        i += len + 1;
    }
    if (rc == MO_OK && out->n) {
        qsort(out->by_name, out->n, sizeof(*out->by_name), cmp_ref);
        for (size_t i = 1; i < out->n && rc == MO_OK; i++)
            if (!strcmp(out->by_name[i - 1]->name, out->by_name[i]->name))
                rc = mo_err_set(err, MO_ECORRUPT, "%s: object %s listed twice", what,
                                out->by_name[i]->name);
    }
    if (rc < 0)
        mo_xfer__manifest_dispose(out);
    return rc;
}

long mo_xfer__manifest_find(const mo_xfer__manifest *m, const char *name)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(m->by_name[mid]->name, name);
        if (c == 0)
            return (long)(m->by_name[mid] - m->refs);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void mo_xfer__manifest_dispose(mo_xfer__manifest *m)
{
    if (!m)
        return;
    mo_free(m->refs);
    mo_free(m->by_name);
    memset(m, 0, sizeof(*m));
}
