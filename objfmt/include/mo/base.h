/**
 * @file mo/base.h
 * Allocation seam, little-endian loads/stores, overflow-checked arithmetic, a growable
 * byte buffer and a bounds-checked read cursor. Everything here is header-light and safe
 * to use on bytes from disk or the network.
 */
#ifndef MO_BASE_H
#define MO_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mo/err.h"

/* ---- allocation seam (fault injection counts calls here) ---- */
void *mo_malloc(size_t n);
void *mo_calloc(size_t count, size_t n);
void *mo_realloc(void *p, size_t n);
void mo_free(void *p);
/** Duplicates a NUL-terminated string; NULL on allocation failure. */
char *mo_strdup(const char *s);
/**
 * @p n bytes of fresh page-aligned memory straight from the kernel (mmap), for large buffers
 * that O_DIRECT needs aligned; outside malloc, so they never move malloc's mmap threshold.
 * Freed with mo_pages_free(p, n).
 */
void *mo_pages_alloc(size_t n);
void mo_pages_free(void *p, size_t n);

/**
 * Test seam: the @p nth allocation from now on (1-based) fails, and every later one too when
 * @p persistent. 0 disables. Only active in builds with MO_FAULT_INJECTION.
 */
void mo_alloc_fail_at(unsigned long nth, bool persistent);
/** Number of allocations performed so far (for fail-the-Nth loops). */
unsigned long mo_alloc_count(void);

/* ---- little-endian access (never cast packed structs from disk) ---- */
static inline uint16_t mo_load_le16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t mo_load_le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static inline uint64_t mo_load_le64(const void *p)
{
    return (uint64_t)mo_load_le32(p) | ((uint64_t)mo_load_le32((const uint8_t *)p + 4) << 32);
}
static inline void mo_store_le16(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}
static inline void mo_store_le32(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}
static inline void mo_store_le64(void *p, uint64_t v)
{
    mo_store_le32(p, (uint32_t)v);
    mo_store_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/* ---- overflow-checked arithmetic: return true on overflow ---- */
static inline bool mo_add_overflow(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}
static inline bool mo_mul_overflow(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

/* ---- growable byte buffer ---- */
typedef struct mo_buf {
    uint8_t *ptr;
    size_t len;
    size_t cap;
} mo_buf;

#define MO_BUF_INIT {NULL, 0, 0}

void mo_buf_init(mo_buf *b);
void mo_buf_dispose(mo_buf *b);
/** Ensures room for @p extra more bytes. @return MO_OK or MO_ENOMEM (buffer unchanged). */
int mo_buf_reserve(mo_buf *b, size_t extra);
int mo_buf_put(mo_buf *b, const void *p, size_t n);
int mo_buf_put_u8(mo_buf *b, uint8_t v);
int mo_buf_put_le16(mo_buf *b, uint16_t v);
int mo_buf_put_le32(mo_buf *b, uint32_t v);
int mo_buf_put_le64(mo_buf *b, uint64_t v);
int mo_buf_put_zero(mo_buf *b, size_t n);
int mo_buf_printf(mo_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/** Appends @p n bytes of uninitialized room and returns it through @p out. */
int mo_buf_grow(mo_buf *b, size_t n, uint8_t **out);
/** NUL-terminates without changing len (for printing). */
int mo_buf_cstr(mo_buf *b);

/* ---- bounds-checked read cursor over untrusted bytes ---- */
typedef struct mo_cur {
    const uint8_t *p;
    size_t len;
    size_t pos;
} mo_cur;

static inline void mo_cur_init(mo_cur *c, const void *p, size_t len)
{
    c->p = p;
    c->len = len;
    c->pos = 0;
}
static inline size_t mo_cur_left(const mo_cur *c)
{
    return c->len - c->pos;
}
/** Borrows @p n bytes; false (cursor unchanged) when fewer remain. */
static inline bool mo_cur_take(mo_cur *c, size_t n, const uint8_t **out)
{
    if (n > c->len - c->pos)
        return false;
    *out = c->p + c->pos;
    c->pos += n;
    return true;
}
static inline bool mo_cur_u8(mo_cur *c, uint8_t *v)
{
    if (c->len - c->pos < 1)
        return false;
    *v = c->p[c->pos++];
    return true;
}
static inline bool mo_cur_le16(mo_cur *c, uint16_t *v)
{
    const uint8_t *p;
    if (!mo_cur_take(c, 2, &p))
        return false;
    *v = mo_load_le16(p);
    return true;
}
static inline bool mo_cur_le32(mo_cur *c, uint32_t *v)
{
    const uint8_t *p;
    if (!mo_cur_take(c, 4, &p))
        return false;
    *v = mo_load_le32(p);
    return true;
}
static inline bool mo_cur_le64(mo_cur *c, uint64_t *v)
{
    const uint8_t *p;
    if (!mo_cur_take(c, 8, &p))
        return false;
    *v = mo_load_le64(p);
    return true;
}

#endif
