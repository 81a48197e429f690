/* CRC-32C and XXH wrappers. No Debian library ships a CRC-32C with a stable C API (zlib's
 * crc32 is the IEEE polynomial), so it is computed here: SSE4.2 crc32 instructions when
 * the CPU has them (three-way interleaving is not needed at our 2044-byte block size),
 * slicing-by-8 tables otherwise. XXH comes from libxxhash. */
#include "mo/hash.h"

#include <stdio.h>
#include <xxhash.h>

#include "mo/base.h"

static uint32_t crc_table[8][256];
/* 0 = not built, 1 = being built by one thread, 2 = ready. Threads that lose the race use
 * the bitwise loop meanwhile instead of writing the table concurrently (a data race). */
static int crc_table_state;

static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return crc;
}

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] =
                (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
    __atomic_store_n(&crc_table_state, 2, __ATOMIC_RELEASE);
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t n)
{
    if (__atomic_load_n(&crc_table_state, __ATOMIC_ACQUIRE) != 2) {
        int expect = 0;
        if (!__atomic_compare_exchange_n(&crc_table_state, &expect, 1, false, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            return crc32c_bitwise(crc, p, n);
        crc_table_init();
    }
    while (n >= 8) {
        uint64_t w = mo_load_le64(p) ^ crc;
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
              crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
              crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        c = __builtin_ia32_crc32di(c, mo_load_le64(p));
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

static bool crc32c_have_hw(void)
{
#if defined(__x86_64__)
    /* -1 unknown; relaxed atomics: every thread computes the same answer */
    static int have_hw = -1;
    int h = __atomic_load_n(&have_hw, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&have_hw, h, __ATOMIC_RELAXED);
    }
    return h == 1;
#else
    return false;
#endif
}

uint32_t mo_crc32c(uint32_t crc, const void *p, size_t n)
{
    crc = ~crc;
#if defined(__x86_64__)
    if (crc32c_have_hw())
        return ~crc32c_hw(crc, p, n);
#endif
    return ~crc32c_sw(crc, p, n);
}

/* Test seam (tests/objfmt/test_base.c declares these): each implementation on its own, so
 * the table path is checked on machines whose mo_crc32c takes the SSE4.2 path. `which`:
 * 0 bitwise, 1 slicing-by-8, 2 SSE4.2. Returns false when that path is unavailable. */
bool mo__crc32c_impl(uint32_t *out, int which, uint32_t crc, const void *p, size_t n);
bool mo__crc32c_impl(uint32_t *out, int which, uint32_t crc, const void *p, size_t n)
{
    switch (which) {
    case 0:
        *out = ~crc32c_bitwise(~crc, p, n);
        return true;
    case 1:
        *out = ~crc32c_sw(~crc, p, n);
        return true;
    case 2:
#if defined(__x86_64__)
        if (crc32c_have_hw()) {
            *out = ~crc32c_hw(~crc, p, n);
            return true;
        }
#endif
        return false;
    }
    return false;
}

uint64_t mo_xxh64(const void *p, size_t n)
{
    return XXH64(p, n, 0);
}

uint64_t mo_xxh3_64(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

mo_digest128 mo_xxh3_128(const void *p, size_t n)
{
    XXH128_hash_t h = XXH3_128bits(p, n);
    mo_digest128 d = {h.low64, h.high64};
    return d;
}

void mo_digest128_hex(char out[33], mo_digest128 d)
{
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)d.hi, (unsigned long long)d.lo);
}

struct mo_xxh3_stream {
    XXH3_state_t *st;
};

int mo_xxh3_stream_new(mo_xxh3_stream **out)
{
    *out = NULL;
    mo_xxh3_stream *s = mo_calloc(1, sizeof(*s));
    if (!s)
        return MO_ENOMEM;
    s->st = XXH3_createState();
    if (!s->st) {
        mo_free(s);
        return MO_ENOMEM;
    }
    XXH3_128bits_reset(s->st);
    *out = s;
    return MO_OK;
}

void mo_xxh3_stream_update(mo_xxh3_stream *s, const void *p, size_t n)
{
    XXH3_128bits_update(s->st, p, n);
}

mo_digest128 mo_xxh3_stream_digest(const mo_xxh3_stream *s)
{
    XXH128_hash_t h = XXH3_128bits_digest(s->st);
    mo_digest128 d = {h.low64, h.high64};
    return d;
}

void mo_xxh3_stream_copy(mo_xxh3_stream *dst, const mo_xxh3_stream *src)
{
    XXH3_copyState(dst->st, src->st);
}

void mo_xxh3_stream_free(mo_xxh3_stream *s)
{
    if (!s)
        return;
    XXH3_freeState(s->st);
    mo_free(s);
}

struct mo_xxh3_64_stream {
    XXH3_state_t *st;
};

int mo_xxh3_64_stream_new(mo_xxh3_64_stream **out)
{
    *out = NULL;
    mo_xxh3_64_stream *s = mo_calloc(1, sizeof(*s));
    if (!s)
        return MO_ENOMEM;
    s->st = XXH3_createState();
    if (!s->st) {
        mo_free(s);
        return MO_ENOMEM;
    }
    XXH3_64bits_reset(s->st);
    *out = s;
    return MO_OK;
}

void mo_xxh3_64_stream_reset(mo_xxh3_64_stream *s)
{
    XXH3_64bits_reset(s->st);
}

void mo_xxh3_64_stream_update(mo_xxh3_64_stream *s, const void *p, size_t n)
{
    XXH3_64bits_update(s->st, p, n);
}

uint64_t mo_xxh3_64_stream_digest(const mo_xxh3_64_stream *s)
{
    return XXH3_64bits_digest(s->st);
}

void mo_xxh3_64_stream_free(mo_xxh3_64_stream *s)
{
    if (!s)
        return;
    XXH3_freeState(s->st);
    mo_free(s);
}
