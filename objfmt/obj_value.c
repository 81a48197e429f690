/* Text form of every storable value (mosync dump / mkobj --from-csv) and RFC 4180 fields.
 * mo_obj_value_parse_append is the exact inverse of mo_obj_value_format: for every value v,
 * parse(format(v)) stores the same bytes (NaN payloads aside). Parsing is strict: any text
 * that format could not have produced for the type (or an out-of-range value) is MO_EINVAL
 * with the text and the column type in the message. Calendar math is proleptic Gregorian
 * (days from 0001-01-01), microsecond units, 64-bit throughout, overflow-checked. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mo/obj_vec.h"

#define UNIX_EPOCH_DAYS INT64_C(719162)
#define USEC_PER_SEC INT64_C(1000000)
#define USEC_PER_DAY (INT64_C(86400) * USEC_PER_SEC)

/* ---------------- helpers ---------------- */

static const char *type_label(const mo_obj_type *t, char buf[48])
{
    mo_obj_type_format(buf, t);
    return buf;
}

static int bad_value(mo_err *err, const mo_obj_type *t, const char *s, size_t len, const char *why)
{
    char tn[48];
    return mo_err_set(err, MO_EINVAL, "invalid %s value '%.*s%s': %s", type_label(t, tn),
                      (int)(len > 64 ? 64 : len), s, len > 64 ? "..." : "", why);
}

static int put_str(mo_buf *out, const char *s)
{
    return mo_buf_put(out, s, strlen(s));
}

static int put_hex(mo_buf *out, const uint8_t *p, uint32_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t *d;
    if (mo_buf_grow(out, 2 + (size_t)n * 2, &d) < 0)
        return MO_ENOMEM;
    *d++ = '0';
    *d++ = 'x';
    for (uint32_t i = 0; i < n; i++) {
        *d++ = (uint8_t)hex[p[i] >> 4];
        *d++ = (uint8_t)hex[p[i] & 15];
    }
    return MO_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Shortest text that strtod/strtof reads back to the same bits. */
static int put_double(mo_buf *out, double d)
{
    if (isnan(d))
        return put_str(out, "nan");
    if (isinf(d))
        return put_str(out, d < 0 ? "-inf" : "inf");
    char b[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(b, sizeof(b), "%.*g", prec, d);
        const double back = strtod(b, NULL);
        if (memcmp(&back, &d, sizeof(d)) == 0)
            break;
    }
    return put_str(out, b);
}

static int put_float(mo_buf *out, float f)
{
    if (isnan(f))
        return put_str(out, "nan");
    if (isinf(f))
        return put_str(out, f < 0 ? "-inf" : "inf");
    char b[40];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(b, sizeof(b), "%.*g", prec, (double)f);
        const float back = strtof(b, NULL);
        if (memcmp(&back, &f, sizeof(f)) == 0)
            break;
    }
    return put_str(out, b);
}

/* Strict decimal integer of s[0..n): optional sign (only '-' when @p allow_neg), digits.
 * Stores the magnitude and sign; false on junk or when the magnitude exceeds @p max. */
static bool parse_mag(const char *s, size_t n, bool allow_neg, uint64_t max_pos, uint64_t max_neg,
                      bool *neg_out, uint64_t *mag_out)
{
    bool neg = false;
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    if (neg && !allow_neg)
        return false;
    if (i == n)
        return false;
    const uint64_t max = neg ? max_neg : max_pos;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        const unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *neg_out = neg;
    *mag_out = v;
    return true;
}

static bool parse_i64(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    bool neg;
    uint64_t mag;
    if (!parse_mag(s, n, lo < 0, (uint64_t)hi, lo < 0 ? (uint64_t)0 - (uint64_t)lo : 0, &neg, &mag))
        return false;
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

static bool parse_u64v(const char *s, size_t n, uint64_t hi, uint64_t *out)
{
    bool neg;
    return parse_mag(s, n, false, hi, 0, &neg, out);
}

/* Exactly @p n digits at s[0..n) (no sign). */
static bool digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* ---------------- calendar (H. Hinnant's civil algorithms, shifted to 0001-01-01) -------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    const int64_t z = days - UNIX_EPOCH_DAYS + 719468;
    const int64_t era = floor_div(z, 146097);
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = floor_div(y, 400);
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + UNIX_EPOCH_DAYS;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

static int put_date(mo_buf *out, int64_t days)
{
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0)
        return mo_buf_printf(out, "-%04" PRId64 "-%02d-%02d", -y, m, d);
    return mo_buf_printf(out, "%04" PRId64 "-%02d-%02d", y, m, d);
}

static int clamp_fsp(int32_t scale)
{
    return scale < 0 ? 0 : scale > 6 ? 6 : scale;
}

/* ".fff" with @p fsp digits; all six when the value carries digits below the scale, so
 * that no stored microsecond is ever lost in text. */
static int put_frac(mo_buf *out, int64_t us, int fsp)
{
    static const int64_t pow10[7] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (us % pow10[6 - fsp] != 0)
        fsp = 6;
    if (fsp == 0)
        return MO_OK;
    return mo_buf_printf(out, ".%0*" PRId64, fsp, us / pow10[6 - fsp]);
}

/* Parses "YYYY-MM-DD" (year: optional '-', 4+ digits) at s[0..n); returns chars used. */
static size_t parse_date_part(const char *s, size_t n, int64_t *days)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && s[i] == '-') {
        neg = true;
        i++;
    }
    const size_t ys = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    const size_t yl = i - ys;
    if (yl < 4 || yl > 12)
        return 0;
    int64_t y, m, d;
    if (!digits(s + ys, yl, &y) || i + 6 > n || s[i] != '-' || !digits(s + i + 1, 2, &m) ||
        s[i + 3] != '-' || !digits(s + i + 4, 2, &d))
        return 0;
    if (neg)
        y = -y;
    if (m < 1 || m > 12 || d < 1 || d > month_days(y, (int)m))
        return 0;
    *days = days_from_civil(y, (int)m, (int)d);
    return i + 6;
}

/* Parses ".f{1,6}" at s[0..n) into microseconds; returns chars used (0 when absent), or
 * SIZE_MAX on a malformed fraction. */
static size_t parse_frac(const char *s, size_t n, int64_t *us)
{
    *us = 0;
    if (n == 0 || s[0] != '.')
        return 0;
    size_t i = 1;
    int64_t v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i <= 6) {
        v = v * 10 + (s[i] - '0');
        i++;
    }
    if (i == 1)
        return SIZE_MAX;
    for (size_t k = i; k <= 6; k++)
        v *= 10;
    *us = v;
    return i;
}

/* days*USEC_PER_DAY + rem without intermediate overflow for every representable result. */
static bool datetime_us(int64_t days, int64_t rem, int64_t *out)
{
    int64_t a, r;
    if (days < 0) {
        if (__builtin_mul_overflow(days + 1, USEC_PER_DAY, &a) ||
            __builtin_add_overflow(a, rem - USEC_PER_DAY, &r))
            return false;
    } else {
        if (__builtin_mul_overflow(days, USEC_PER_DAY, &a) || __builtin_add_overflow(a, rem, &r))
            return false;
    }
    *out = r;
    return true;
}

static int put_datetime(mo_buf *out, int64_t v, int32_t scale)
{
    const int64_t days = floor_div(v, USEC_PER_DAY);
    int64_t rem = v % USEC_PER_DAY;
    if (rem < 0)
        rem += USEC_PER_DAY;
    int rc;
    if ((rc = put_date(out, days)) < 0)
        return rc;
    const int64_t secs = rem / USEC_PER_SEC;
    if ((rc = mo_buf_printf(out, " %02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
                            (int)(secs % 60))) < 0)
        return rc;
    return put_frac(out, rem % USEC_PER_SEC, clamp_fsp(scale));
}

static bool parse_datetime(const char *s, size_t n, int64_t *out)
{
    int64_t days;
    size_t i = parse_date_part(s, n, &days);
    if (i == 0)
        return false;
    int64_t rem = 0;
    if (i < n) {
        int64_t h, m, sec, us;
        if (n - i < 9 || (s[i] != ' ' && s[i] != 'T') || !digits(s + i + 1, 2, &h) ||
            s[i + 3] != ':' || !digits(s + i + 4, 2, &m) || s[i + 6] != ':' ||
            !digits(s + i + 7, 2, &sec))
            return false;
        if (h > 23 || m > 59 || sec > 59)
            return false;
        i += 9;
        const size_t f = parse_frac(s + i, n - i, &us);
        if (f == SIZE_MAX || i + f != n)
            return false;
        rem = ((h * 60 + m) * 60 + sec) * USEC_PER_SEC + us;
    }
    return datetime_us(days, rem, out);
}

static int put_time(mo_buf *out, int64_t v, int32_t scale)
{
    const uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    const uint64_t secs = mag / (uint64_t)USEC_PER_SEC;
    int rc;
    if ((rc = mo_buf_printf(out, "%s%02" PRIu64 ":%02u:%02u", v < 0 ? "-" : "", secs / 3600,
                            (unsigned)(secs / 60 % 60), (unsigned)(secs % 60))) < 0)
        return rc;
    return put_frac(out, (int64_t)(mag % (uint64_t)USEC_PER_SEC), clamp_fsp(scale));
}

static bool parse_time(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    const size_t hs = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    uint64_t h;
    bool hneg;
    int64_t m, sec, us;
    if (i - hs < 2 || !parse_mag(s + hs, i - hs, false, UINT64_MAX, 0, &hneg, &h))
        return false;
    if (n - i < 6 || s[i] != ':' || !digits(s + i + 1, 2, &m) || s[i + 3] != ':' ||
        !digits(s + i + 4, 2, &sec) || m > 59 || sec > 59)
        return false;
    i += 6;
    const size_t f = parse_frac(s + i, n - i, &us);
    if (f == SIZE_MAX || i + f != n)
        return false;
    uint64_t mag;
    if (__builtin_mul_overflow(h, (uint64_t)3600 * (uint64_t)USEC_PER_SEC, &mag) ||
        __builtin_add_overflow(mag, (uint64_t)((m * 60 + sec) * USEC_PER_SEC + us), &mag))
        return false;
    if (mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return false;
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

/* ---------------- decimals: two's complement of 64/128/256 bits as u32 limbs -------- */

#define DEC_LIMBS 9 /* one spare limb above 256 bits detects overflow while parsing */

static int put_decimal(mo_buf *out, const uint8_t *p, int bytes, int32_t scale)
{
    uint32_t l[DEC_LIMBS] = {0};
    const int nl = bytes / 4;
    for (int i = 0; i < nl; i++)
        l[i] = mo_load_le32(p + 4 * i);
    const bool neg = (l[nl - 1] >> 31) != 0;
    if (neg) { /* magnitude = ~x + 1 */
        uint64_t carry = 1;
        for (int i = 0; i < nl; i++) {
            const uint64_t t = (uint64_t)(uint32_t)~l[i] + carry;
            l[i] = (uint32_t)t;
            carry = t >> 32;
        }
    }
    char dig[100];
    int nd = 0;
    for (;;) {
        bool zero = true;
        uint64_t rem = 0;
        for (int i = nl - 1; i >= 0; i--) {
            const uint64_t cur = (rem << 32) | l[i];
            l[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
            if (l[i])
                zero = false;
        }
        dig[nd++] = (char)('0' + rem);
        if (zero)
            break;
    }
    if (scale < 0)
        scale = 0;
    char txt[200];
    size_t k = 0;
    if (neg)
        txt[k++] = '-';
    if (scale >= nd) {
        if (scale > 100)
            return MO_EINVAL;
        txt[k++] = '0';
        txt[k++] = '.';
        for (int i = 0; i < scale - nd; i++)
            txt[k++] = '0';
        for (int i = nd - 1; i >= 0; i--)
            txt[k++] = dig[i];
    } else {
        for (int i = nd - 1; i >= 0; i--) {
            txt[k++] = dig[i];
            if (i == scale && scale > 0)
                txt[k++] = '.';
        }
    }
    return mo_buf_put(out, txt, k);
}

static bool dec_mul10_add(uint32_t l[DEC_LIMBS], unsigned d)
{
    uint64_t carry = d;
    for (int i = 0; i < DEC_LIMBS; i++) {
        const uint64_t t = (uint64_t)l[i] * 10 + carry;
        l[i] = (uint32_t)t;
        carry = t >> 32;
    }
    return carry == 0;
}

/* Parses [+-]digits[.digits] scaled by @p scale into @p bytes of two's complement. */
static bool parse_decimal(uint8_t *outp, int bytes, int32_t scale, const char *s, size_t n,
                          const char **why)
{
    uint32_t l[DEC_LIMBS] = {0};
    size_t i = 0;
    bool neg = false;
    if (scale < 0)
        scale = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    size_t nd = 0;
    int frac = -1; /* digits after '.', -1 without a point */
    *why = "not a decimal number";
    for (; i < n; i++) {
        if (s[i] == '.') {
            if (frac >= 0)
                return false;
            frac = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return false;
        nd++;
        if (frac >= 0) {
            if (frac >= scale) {
                if (s[i] != '0') {
                    *why = "more fractional digits than the column scale";
                    return false;
                }
                continue;
            }
            frac++;
        }
        if (!dec_mul10_add(l, (unsigned)(s[i] - '0'))) {
            *why = "out of range";
            return false;
        }
    }
    if (nd == 0)
        return false;
    for (int k = frac < 0 ? 0 : frac; k < scale; k++)
        if (!dec_mul10_add(l, 0)) {
            *why = "out of range";
            return false;
        }
    /* magnitude must fit: < 2^(B-1), or == 2^(B-1) when negative */
    *why = "out of range";
    const int nl = bytes / 4;
    for (int k = nl; k < DEC_LIMBS; k++)
        if (l[k])
            return false;
    if (l[nl - 1] >> 31) {
        bool exact_min = neg && l[nl - 1] == 0x80000000u;
        for (int k = 0; k < nl - 1 && exact_min; k++)
            exact_min = l[k] == 0;
        if (!exact_min)
            return false;
    }
    if (neg) {
        uint64_t carry = 1;
        for (int k = 0; k < nl; k++) {
            const uint64_t t = (uint64_t)(uint32_t)~l[k] + carry;
            l[k] = (uint32_t)t;
            carry = t >> 32;
        }
    }
    for (int k = 0; k < nl; k++)
        mo_store_le32(outp + 4 * k, l[k]);
    return true;
}

/* ---------------- arrays ---------------- */

static int put_array(mo_buf *out, uint8_t oid, const uint8_t *p, uint32_t n)
{
    const int elem = mo_obj_type_array_elem(oid);
    if (elem <= 0 || n % (uint32_t)elem)
        return MO_EINVAL;
    int rc;
    if ((rc = mo_buf_put_u8(out, '[')) < 0)
        return rc;
    for (uint32_t i = 0; i < n / (uint32_t)elem; i++) {
        if (i && (rc = mo_buf_put_u8(out, ',')) < 0)
            return rc;
        const uint8_t *e = p + (size_t)i * (size_t)elem;
        switch (oid) {
        case MO_T_VECF32: {
            float f;
            memcpy(&f, e, 4);
            rc = put_float(out, f);
            break;
        }
        case MO_T_VECF64: {
            double d;
            memcpy(&d, e, 8);
            rc = put_double(out, d);
            break;
        }
        case MO_T_VECINT8:
            rc = mo_buf_printf(out, "%d", (int)(int8_t)e[0]);
            break;
        default:
            rc = mo_buf_printf(out, "%u", (unsigned)e[0]);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return mo_buf_put_u8(out, ']');
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool parse_float_text(const char *z, size_t n, bool f32, double *d, float *f)
{
    /* z is NUL-terminated at z[n]; strtod must consume exactly n chars */
    if (n == 0 || is_space(z[0]) || z[0] == '\n')
        return false;
    for (size_t i = 0; i < n; i++)
        if (z[i] == 'x' || z[i] == 'X' || z[i] == '(')
            return false; /* no hex floats, no nan(payload) */
    char *end;
    errno = 0;
    if (f32) {
        *f = strtof(z, &end);
        if (end != z + n)
            return false;
        if (isinf(*f) && errno == ERANGE)
            return false;
    } else {
        *d = strtod(z, &end);
        if (end != z + n)
            return false;
        if (isinf(*d) && errno == ERANGE)
            return false;
    }
    return true;
}

/* "[a,b,...]" into packed elements appended to @p b. @p z is NUL-terminated at z[n] and
 * writable. */
static bool parse_array(mo_buf *b, uint8_t oid, char *z, size_t n, size_t *count, const char **why)
{
    *why = "want [e1,e2,...]";
    *count = 0;
    if (n < 2 || z[0] != '[' || z[n - 1] != ']')
        return false;
    size_t i = 1;
    const size_t end = n - 1;
    while (i < end && is_space(z[i]))
        i++;
    if (i == end)
        return true; /* [] */
    for (;;) {
        while (i < end && is_space(z[i]))
            i++;
        size_t j = i;
        while (j < end && z[j] != ',' && !is_space(z[j]))
            j++;
        const char save = z[j];
        z[j] = 0;
        const char *e = z + i;
        const size_t el = j - i;
        bool ok;
        int rc = MO_OK;
        switch (oid) {
        case MO_T_VECF32: {
            float f;
            ok = parse_float_text(e, el, true, NULL, &f);
            if (ok)
                rc = mo_buf_put(b, &f, 4);
            break;
        }
        case MO_T_VECF64: {
            double d;
            ok = parse_float_text(e, el, false, &d, NULL);
            if (ok)
                rc = mo_buf_put(b, &d, 8);
            break;
        }
        case MO_T_VECINT8: {
            int64_t v;
            ok = parse_i64(e, el, INT8_MIN, INT8_MAX, &v);
            if (ok)
                rc = mo_buf_put_u8(b, (uint8_t)(int8_t)v);
            break;
        }
        default: {
            uint64_t v;
            ok = parse_u64v(e, el, UINT8_MAX, &v);
            if (ok)
                rc = mo_buf_put_u8(b, (uint8_t)v);
            break;
        }
        }
        z[j] = save;
        if (!ok) {
            *why = "bad array element";
            return false;
        }
        if (rc < 0) {
            *why = "out of memory";
            return false;
        }
        (*count)++;
        i = j;
        while (i < end && is_space(z[i]))
            i++;
        if (i == end)
            return true;
        if (z[i] != ',')
            return false;
        i++;
    }
}

/* ---------------- public ---------------- */

static bool is_hex_type(uint8_t oid)
{
    switch (oid) {
    case MO_T_BINARY:
    case MO_T_VARBINARY:
    case MO_T_BLOB:
    case MO_T_JSON:
    case MO_T_GEOMETRY:
    case MO_T_GEOMETRY32:
    case MO_T_DATALINK:
    case MO_T_VECBF16:
    case MO_T_VECF16:
        return true;
    default:
        return false;
    }
}

int mo_obj_value_format(mo_buf *out, const mo_obj_type *t, const uint8_t *p, uint32_t n)
{
    const uint8_t oid = t->oid;
    if (oid == MO_T_CHAR || oid == MO_T_VARCHAR || oid == MO_T_TEXT)
        return mo_buf_put(out, p, n);
    if (is_hex_type(oid)) {
        if ((oid == MO_T_VECBF16 || oid == MO_T_VECF16) && n % 2)
            return MO_EINVAL;
        return put_hex(out, p, n);
    }
    if (mo_obj_type_is_array(oid))
        return put_array(out, oid, p, n);
    const int size = mo_obj_type_size(oid);
    if (size <= 0 || n != (uint32_t)size)
        return MO_EINVAL;
    switch (oid) {
    case MO_T_BOOL:
        return put_str(out, p[0] ? "true" : "false");
    case MO_T_BIT:
    case MO_T_UINT64:
        return mo_buf_printf(out, "%" PRIu64, mo_load_le64(p));
    case MO_T_INT8:
        return mo_buf_printf(out, "%d", (int)(int8_t)p[0]);
    case MO_T_INT16:
        return mo_buf_printf(out, "%d", (int)(int16_t)mo_load_le16(p));
    case MO_T_INT32:
        return mo_buf_printf(out, "%" PRId32, (int32_t)mo_load_le32(p));
    case MO_T_INT64:
        return mo_buf_printf(out, "%" PRId64, (int64_t)mo_load_le64(p));
    case MO_T_UINT8:
        return mo_buf_printf(out, "%u", (unsigned)p[0]);
    case MO_T_UINT16:
    case MO_T_ENUM:
        return mo_buf_printf(out, "%u", (unsigned)mo_load_le16(p));
    case MO_T_UINT32:
        return mo_buf_printf(out, "%" PRIu32, mo_load_le32(p));
    case MO_T_FLOAT32: {
        float f;
        uint32_t u = mo_load_le32(p);
        memcpy(&f, &u, 4);
        return put_float(out, f);
    }
    case MO_T_FLOAT64: {
        double d;
        uint64_t u = mo_load_le64(p);
        memcpy(&d, &u, 8);
        return put_double(out, d);
    }
    case MO_T_DECIMAL64:
    case MO_T_DECIMAL128:
    case MO_T_DECIMAL256:
        return put_decimal(out, p, size, t->scale);
    case MO_T_DATE:
        return put_date(out, (int32_t)mo_load_le32(p));
    case MO_T_TIME:
        return put_time(out, (int64_t)mo_load_le64(p), t->scale);
    case MO_T_DATETIME:
    case MO_T_TIMESTAMP:
        return put_datetime(out, (int64_t)mo_load_le64(p), t->scale);
    case MO_T_YEAR:
        return mo_buf_printf(out, "%d", (int)(int16_t)mo_load_le16(p));
    case MO_T_UUID: {
        char u[37];
        mo_obj_uuid_format(u, p);
        return put_str(out, u);
    }
    case MO_T_TS: {
        char b[48];
        mo_obj_ts_format(b, mo_obj_ts_decode(p));
        return put_str(out, b);
    }
    case MO_T_ROWID: {
        char b[64];
        mo_obj_rowid_format(b, p);
        return put_str(out, b);
    }
    case MO_T_BLOCKID: {
        char u[37];
        mo_obj_uuid_format(u, p);
        return mo_buf_printf(out, "%s_%u_%u", u, (unsigned)mo_load_le16(p + 16),
                             (unsigned)mo_load_le16(p + 18));
    }
    default:
        return MO_EINVAL;
    }
}

static int parse_hex(mo_buf *b, const char *s, size_t n)
{
    if (n < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || (n - 2) % 2)
        return MO_EINVAL;
    if (n == 2)
        return MO_OK;
    uint8_t *d;
    if (mo_buf_grow(b, (n - 2) / 2, &d) < 0)
        return MO_ENOMEM;
    for (size_t i = 2; i < n; i += 2) {
        const int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return MO_EINVAL;
        *d++ = (uint8_t)(hi << 4 | lo);
    }
    return MO_OK;
}

/* Fixed-width parse into @p slot; false with @p why on failure. @p z is NUL-terminated. */
static bool parse_fixed(uint8_t *slot, const mo_obj_type *t, const char *z, size_t n, mo_err *err,
                        int *rc_out, const char **why)
{
    int64_t iv;
    uint64_t uv;
    *why = "not a valid number";
    *rc_out = MO_OK;
    switch (t->oid) {
    case MO_T_BOOL:
        *why = "want true or false";
        if ((n == 4 && !strncmp(z, "true", 4)) || (n == 1 && z[0] == '1'))
            slot[0] = 1;
        else if ((n == 5 && !strncmp(z, "false", 5)) || (n == 1 && z[0] == '0'))
            slot[0] = 0;
        else
            return false;
        return true;
    case MO_T_BIT: {
        const uint64_t max =
            t->width > 0 && t->width < 64 ? (UINT64_C(1) << t->width) - 1 : UINT64_MAX;
        *why = "not an unsigned integer within the bit width";
        if (!parse_u64v(z, n, max, &uv))
            return false;
        mo_store_le64(slot, uv);
        return true;
    }
    case MO_T_INT8:
    case MO_T_INT16:
    case MO_T_INT32:
    case MO_T_INT64:
    case MO_T_YEAR: {
        static const int64_t lim[] = {INT8_MAX, INT16_MAX, INT32_MAX, INT64_MAX};
        const int sz = mo_obj_type_size(t->oid);
        const int64_t hi = lim[sz == 1 ? 0 : sz == 2 ? 1 : sz == 4 ? 2 : 3];
        *why = "not an integer in range";
        if (!parse_i64(z, n, -hi - 1, hi, &iv))
            return false;
        if (sz == 1)
            slot[0] = (uint8_t)iv;
        else if (sz == 2)
            mo_store_le16(slot, (uint16_t)iv);
        else if (sz == 4)
            mo_store_le32(slot, (uint32_t)iv);
        else
            mo_store_le64(slot, (uint64_t)iv);
        return true;
    }
    case MO_T_UINT8:
    case MO_T_UINT16:
    case MO_T_UINT32:
    case MO_T_UINT64:
    case MO_T_ENUM: {
        const int sz = mo_obj_type_size(t->oid);
        const uint64_t hi = sz == 1   ? UINT8_MAX
                            : sz == 2 ? UINT16_MAX
                            : sz == 4 ? UINT32_MAX
                                      : UINT64_MAX;
        *why = "not an unsigned integer in range";
        if (!parse_u64v(z, n, hi, &uv))
            return false;
        if (sz == 1)
            slot[0] = (uint8_t)uv;
        else if (sz == 2)
            mo_store_le16(slot, (uint16_t)uv);
        else if (sz == 4)
            mo_store_le32(slot, (uint32_t)uv);
        else
            mo_store_le64(slot, uv);
        return true;
    }
    case MO_T_FLOAT32: {
        float f;
        *why = "not a float32";
        if (!parse_float_text(z, n, true, NULL, &f))
            return false;
        uint32_t u;
        memcpy(&u, &f, 4);
        mo_store_le32(slot, u);
        return true;
    }
    case MO_T_FLOAT64: {
        double d;
        *why = "not a float64";
        if (!parse_float_text(z, n, false, &d, NULL))
            return false;
        uint64_t u;
        memcpy(&u, &d, 8);
        mo_store_le64(slot, u);
        return true;
    }
    case MO_T_DECIMAL64:
    case MO_T_DECIMAL128:
    case MO_T_DECIMAL256:
        return parse_decimal(slot, mo_obj_type_size(t->oid), t->scale, z, n, why);
    case MO_T_DATE: {
        int64_t days;
        *why = "want YYYY-MM-DD";
        if (parse_date_part(z, n, &days) != n || n == 0)
            return false;
        if (days < INT32_MIN || days > INT32_MAX) {
            *why = "date out of range";
            return false;
        }
        mo_store_le32(slot, (uint32_t)(int32_t)days);
        return true;
    }
    case MO_T_TIME:
        *why = "want [-]HH:MM:SS[.ffffff]";
        if (!parse_time(z, n, &iv))
            return false;
        mo_store_le64(slot, (uint64_t)iv);
        return true;
    case MO_T_DATETIME:
    case MO_T_TIMESTAMP:
        *why = "want YYYY-MM-DD HH:MM:SS[.ffffff]";
        if (!parse_datetime(z, n, &iv))
            return false;
        mo_store_le64(slot, (uint64_t)iv);
        return true;
    case MO_T_UUID:
        *why = "want a canonical UUID";
        if (mo_obj_uuid_parse(slot, z, n, NULL) < 0)
            return false;
        return true;
    case MO_T_TS: {
        mo_obj_ts ts;
        *why = "want <physical>-<logical>";
        if (n == 0 || mo_obj_ts_parse(&ts, z, NULL) < 0)
            return false;
        mo_obj_ts_encode(slot, ts);
        return true;
    }
    case MO_T_ROWID:
        *why = "want <uuid>_<num>_<blk>_<row>";
        if (mo_obj_rowid_parse(slot, z, NULL) < 0)
            return false;
        return true;
    case MO_T_BLOCKID: {
        *why = "want <uuid>_<num>_<blk>";
        if (n < 40 || z[36] != '_' || mo_obj_uuid_parse(slot, z, 36, NULL) < 0)
            return false;
        const char *a = z + 37;
        const char *u = strchr(a, '_');
        uint64_t num, blk;
        if (!u || !parse_u64v(a, (size_t)(u - a), UINT16_MAX, &num) ||
            !parse_u64v(u + 1, n - (size_t)(u + 1 - z), UINT16_MAX, &blk))
            return false;
        mo_store_le16(slot + 16, (uint16_t)num);
        mo_store_le16(slot + 18, (uint16_t)blk);
        return true;
    }
    default: {
        char tn[48];
        *rc_out = mo_err_set(err, MO_EINVAL, "column type %s has no text form", type_label(t, tn));
        return false;
    }
    }
}

int mo_obj_value_parse_append(mo_obj_colbuf *c, const char *s, size_t len, mo_err *err)
{
    const mo_obj_type *t = &c->type;
    const uint8_t oid = t->oid;
    if (oid == MO_T_CHAR || oid == MO_T_VARCHAR || oid == MO_T_TEXT) {
        const int rc = mo_obj_colbuf_append_bytes(c, s, len);
        if (rc < 0)
            return mo_err_set(err, rc, "append %zu-byte value: %s", len, mo_strerror(rc));
        return MO_OK;
    }
    if (memchr(s, 0, len))
        return bad_value(err, t, s, len, "embedded NUL");
    /* a writable NUL-terminated copy for strtod and the identifier parsers */
    char small[128];
    char *z = small;
    if (len >= sizeof(small)) {
        z = mo_malloc(len + 1);
        if (!z)
            return mo_err_set(err, MO_ENOMEM, "out of memory parsing a %zu-byte value", len);
    }
    memcpy(z, s, len);
    z[len] = 0;
    int rc = MO_OK;
    const char *why = NULL;
    if (is_hex_type(oid) || mo_obj_type_is_array(oid)) {
        mo_buf b = MO_BUF_INIT;
        if (is_hex_type(oid)) {
            rc = parse_hex(&b, z, len);
            why = "want 0x followed by an even number of hex digits";
            if (rc == MO_OK && (oid == MO_T_VECBF16 || oid == MO_T_VECF16) && b.len % 2) {
                rc = MO_EINVAL;
                why = "half-float array needs an even byte count";
            }
        } else {
            size_t count;
            rc = parse_array(&b, oid, z, len, &count, &why) ? MO_OK : MO_EINVAL;
            if (rc == MO_OK && t->width > 0 && t->width < 65535 && count != (size_t)t->width) {
                rc = MO_EINVAL;
                why = "element count differs from the vector dimension";
            }
        }
        if (rc == MO_EINVAL)
            rc = bad_value(err, t, s, len, why);
        else if (rc < 0)
            rc = mo_err_set(err, rc, "parse %zu-byte value: %s", len, mo_strerror(rc));
        else if ((rc = mo_obj_colbuf_append_bytes(c, b.ptr, b.len)) < 0)
            rc = mo_err_set(err, rc, "append %zu-byte value: %s", b.len, mo_strerror(rc));
        mo_buf_dispose(&b);
        goto out;
    }
    uint8_t slot[32] = {0};
    const int size = mo_obj_type_size(oid);
    if (size <= 0 || size > (int)sizeof(slot) || mo_obj_type_is_varlena(oid)) {
        char tn[48];
        rc = mo_err_set(err, MO_EINVAL, "column type %s has no text form", type_label(t, tn));
        goto out;
    }
    if (!parse_fixed(slot, t, z, len, err, &rc, &why)) {
        if (rc == MO_OK)
            rc = bad_value(err, t, s, len, why);
        goto out;
    }
    if ((rc = mo_obj_colbuf_append_fixed(c, slot)) < 0)
        rc = mo_err_set(err, rc, "append value: %s", mo_strerror(rc));
out:
    if (z != small)
        mo_free(z);
    return rc;
}

int mo_obj_csv_field(mo_buf *out, const char *s, size_t len)
{
    bool quote = len == 2 && s[0] == '\\' && s[1] == 'N'; /* keep a literal \N apart from NULL */
    for (size_t i = 0; i < len && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            quote = true;
    if (!quote)
        return mo_buf_put(out, s, len);
    int rc;
    if ((rc = mo_buf_put_u8(out, '"')) < 0)
        return rc;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '"')
            continue;
        if ((rc = mo_buf_put(out, s + start, i + 1 - start)) < 0 ||
            (rc = mo_buf_put_u8(out, '"')) < 0)
            return rc;
        start = i + 1;
    }
    if ((rc = mo_buf_put(out, s + start, len - start)) < 0)
        return rc;
    return mo_buf_put_u8(out, '"');
}
