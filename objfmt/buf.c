/* Growable byte buffer. Invariant: ptr is NULL iff cap == 0; a failed growth leaves the
 * buffer exactly as it was, so callers can report MO_ENOMEM and still dispose it. */
#include <stdarg.h>
#include <stdio.h>

#include "mo/base.h"

void mo_buf_init(mo_buf *b)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void mo_buf_dispose(mo_buf *b)
{
    if (!b)
        return;
    mo_free(b->ptr);
    mo_buf_init(b);
}

int mo_buf_reserve(mo_buf *b, size_t extra)
{
    size_t need;
    if (__builtin_add_overflow(b->len, extra, &need))
        return MO_ENOMEM;
    if (need <= b->cap)
        return MO_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = mo_realloc(b->ptr, cap);
    if (!p)
        return MO_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return MO_OK;
}

int mo_buf_grow(mo_buf *b, size_t n, uint8_t **out)
{
    /* reserve(0) on an empty buffer leaves ptr NULL, and NULL + 0 is undefined (UBSan) */
    int rc = mo_buf_reserve(b, n ? n : 1);
    if (rc < 0)
        return rc;
    *out = b->ptr + b->len;
    b->len += n;
    return MO_OK;
}

int mo_buf_put(mo_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return MO_OK;
    int rc = mo_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return MO_OK;
}

int mo_buf_put_u8(mo_buf *b, uint8_t v)
{
    return mo_buf_put(b, &v, 1);
}

int mo_buf_put_le16(mo_buf *b, uint16_t v)
{
    uint8_t t[2];
    mo_store_le16(t, v);
    return mo_buf_put(b, t, 2);
}

int mo_buf_put_le32(mo_buf *b, uint32_t v)
{
    uint8_t t[4];
    mo_store_le32(t, v);
    return mo_buf_put(b, t, 4);
}

int mo_buf_put_le64(mo_buf *b, uint64_t v)
{
    uint8_t t[8];
    mo_store_le64(t, v);
    return mo_buf_put(b, t, 8);
}

int mo_buf_put_zero(mo_buf *b, size_t n)
{
    uint8_t *p;
    if (n == 0)
        return MO_OK;
    int rc = mo_buf_grow(b, n, &p);
    if (rc < 0)
        return rc;
    memset(p, 0, n);
    return MO_OK;
}

int mo_buf_printf(mo_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MO_EINVAL;
    int rc = mo_buf_reserve(b, (size_t)n + 1);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return MO_OK;
}

int mo_buf_cstr(mo_buf *b)
{
    int rc = mo_buf_reserve(b, 1);
    if (rc < 0)
        return rc;
    b->ptr[b->len] = 0;
    return MO_OK;
}
