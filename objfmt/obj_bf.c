/*
 * Bloom filters of spec §5.2: Binary Fuse 8 (type 0), prefix (type 1) and hybrid (type 2).
 * The builder follows the 3-wise binary fuse construction (hash into segments, peel cells
 * holding one key, assign fingerprints in reverse peel order) with the same parameters,
 * seed sequence (splitmix64 from counter 1) and duplicate handling as the Go xorfilter
 * package MO links, so equal key sequences give equal filters. Readers only evaluate the
 * membership formula; parse validates every size so that formula stays inside the
 * fingerprint array for any input bytes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mo/hash.h"
#include "mo/obj_index.h"

#define BF_HDR_LEN 24
#define BF_MAX_ITERATIONS 1024
#define BF_MAX_KEYS (1u << 30)
#define BF_MAX_SEGMENT_LENGTH 262144u

static uint64_t murmur64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t splitmix64(uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/*
 * XXH64 with seed 0 of inputs shorter than 32 bytes (no stripes: lanes of 8, 4 and 1 bytes,
 * then the avalanche), inline: bloom-filter keys are mostly 8-byte integers, where the
 * call into libxxhash cost more than the hash. Longer inputs go to libxxhash.
 */
#define XP1 0x9E3779B185EBCA87ull
#define XP2 0xC2B2AE3D27D4EB4Full
#define XP3 0x165667B19E3779F9ull
#define XP4 0x85EBCA77C2B2AE63ull
#define XP5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t bf_key(const uint8_t *p, size_t n)
{
    if (n >= 32)
        return mo_xxh64(p, n);
    uint64_t h = XP5 + (uint64_t)n;
    size_t i = 0; /* indexes, not pointers: p may be NULL when n == 0 */
    for (; n - i >= 8; i += 8) {
        const uint64_t k = rotl64(mo_load_le64(p + i) * XP2, 31) * XP1;
        h = rotl64(h ^ k, 27) * XP1 + XP4;
    }
    if (n - i >= 4) {
        h ^= (uint64_t)mo_load_le32(p + i) * XP1;
        h = rotl64(h, 23) * XP2 + XP3;
        i += 4;
    }
    for (; i < n; i++) {
        h ^= (uint64_t)p[i] * XP5;
        h = rotl64(h, 11) * XP1;
    }
    h ^= h >> 33;
    h *= XP2;
    h ^= h >> 29;
    h *= XP3;
    h ^= h >> 32;
    return h;
}

uint64_t mo_obj_bf_key(const uint8_t *p, size_t n)
{
    return bf_key(p, n);
}

__extension__ typedef unsigned __int128 u128;

typedef struct fuse_geom {
    uint32_t seg_len, seg_mask, seg_count, seg_count_len;
} fuse_geom;

/* The three cells of a mixed hash; all < (seg_count + 2) * seg_len. */
static void fuse_cells(const fuse_geom *g, uint64_t hash, uint32_t h[3])
{
    const uint32_t h0 = (uint32_t)(((u128)hash * g->seg_count_len) >> 64);
    h[0] = h0;
    h[1] = (h0 + g->seg_len) ^ ((uint32_t)(hash >> 18) & g->seg_mask);
    h[2] = (h0 + 2 * g->seg_len) ^ ((uint32_t)hash & g->seg_mask);
}

static uint8_t fuse_fp(uint64_t hash)
{
    return (uint8_t)(hash ^ (hash >> 32));
}

bool mo_obj_bfuse_contains(const mo_obj_bfuse *f, uint64_t key)
{
    const fuse_geom g = {f->segment_length, f->segment_length_mask, f->segment_count,
                         f->segment_count_length};
    const uint64_t hash = murmur64(key + f->seed);
    uint32_t h[3];
    fuse_cells(&g, hash, h);
    const uint8_t *fp = f->fingerprints;
    return (uint8_t)(fuse_fp(hash) ^ fp[h[0]] ^ fp[h[1]] ^ fp[h[2]]) == 0;
}

/*
 * The membership formula over many keys, in batches of 64: first the mixed hashes of the
 * batch (multiplications only, no loads, independent from key to key), then the three
 * fingerprint loads of each. Split this way the CPU overlaps far more keys than in one
 * hash-then-probe loop with an exit test per key (~12% faster in a microbenchmark of 8-byte
 * keys). 8- and 4-byte keys (int64/int32 PKs) get a constant-length hash.
 */
#define BFUSE_HASHES(KEYFN)                                                                    \
    for (size_t i = 0; i < m; i++)                                                             \
        hs[i] = murmur64(KEYFN + f->seed);

size_t mo_obj_bfuse_first_miss(const mo_obj_bfuse *f, const uint8_t *keys, size_t stride,
                               size_t n)
{
    const fuse_geom g = {f->segment_length, f->segment_length_mask, f->segment_count,
                         f->segment_count_length};
    const uint8_t *fp = f->fingerprints;
    uint64_t hs[64];
    for (size_t base = 0; base < n; base += 64) {
        const size_t m = n - base < 64 ? n - base : 64;
        const uint8_t *kb = keys + base * stride;
        switch (stride) {
        case 8:
            BFUSE_HASHES(bf_key(kb + 8 * i, 8));
            break;
        case 4:
            BFUSE_HASHES(bf_key(kb + 4 * i, 4));
            break;
        default:
            BFUSE_HASHES(bf_key(kb + stride * i, stride));
            break;
        }
        unsigned miss = 0;
        size_t first = m;
        for (size_t i = 0; i < m; i++) {
            const uint64_t h = hs[i];
            const uint32_t h0 = (uint32_t)(((u128)h * g.seg_count_len) >> 64);
            const uint32_t h1 = (h0 + g.seg_len) ^ ((uint32_t)(h >> 18) & g.seg_mask);
            const uint32_t h2 = (h0 + 2 * g.seg_len) ^ ((uint32_t)h & g.seg_mask);
            const unsigned bad = (uint8_t)(fuse_fp(h) ^ fp[h0] ^ fp[h1] ^ fp[h2]) != 0;
            if (bad && !miss)
                first = i;
            miss |= bad;
        }
        if (miss)
            return base + first;
    }
    return n;
}

int mo_obj_bfuse_parse(mo_obj_bfuse *out, const uint8_t *p, size_t n, mo_err *err)
{
    if (n < BF_HDR_LEN)
        return mo_err_set(err, MO_ECORRUPT, "binary fuse filter: %zu bytes, header needs %d", n,
                          BF_HDR_LEN);
    mo_obj_bfuse f;
    f.seed = mo_load_le64(p);
    f.segment_length = mo_load_le32(p + 8);
    f.segment_length_mask = mo_load_le32(p + 12);
    f.segment_count = mo_load_le32(p + 16);
    f.segment_count_length = mo_load_le32(p + 20);
    f.fingerprints = p + BF_HDR_LEN;
    f.fingerprints_len = n - BF_HDR_LEN;
    const uint32_t sl = f.segment_length;
    if (sl == 0 || (sl & (sl - 1)) != 0)
        return mo_err_set(err, MO_ECORRUPT,
                          "binary fuse filter: segment length %u is not a power of two", sl);
    if (f.segment_length_mask != sl - 1)
        return mo_err_set(err, MO_ECORRUPT, "binary fuse filter: segment length mask %u != %u - 1",
                          f.segment_length_mask, sl);
    if ((uint64_t)f.segment_count * sl != f.segment_count_length)
        return mo_err_set(err, MO_ECORRUPT,
                          "binary fuse filter: segment count length %u != %u * %u",
                          f.segment_count_length, f.segment_count, sl);
    /* the largest cell the test can touch is < (count + 2) * length; keep it in u32 like Go */
    const uint64_t need = ((uint64_t)f.segment_count + 2) * sl;
    if (need > (uint64_t)UINT32_MAX + 1)
        return mo_err_set(err, MO_ECORRUPT, "binary fuse filter: %" PRIu64 " cells overflow", need);
    if (f.fingerprints_len < need)
        return mo_err_set(err, MO_ECORRUPT,
                          "binary fuse filter: %zu fingerprints, geometry needs %" PRIu64,
                          f.fingerprints_len, need);
    *out = f;
    return MO_OK;
}

/* ---------------- construction ---------------- */

static uint32_t segment_length_for(uint32_t size)
{
    if (size == 0)
        return 4;
    /* floor, not round: the Go parameters are sensitive to it */
    const int e = (int)floor(log((double)size) / log(3.33) + 2.25);
    const uint64_t sl = (uint64_t)1 << (e < 0 ? 0 : e > 31 ? 31 : e);
    return sl > BF_MAX_SEGMENT_LENGTH ? BF_MAX_SEGMENT_LENGTH : (uint32_t)sl;
}

static void fuse_geom_init(fuse_geom *g, uint32_t *capacity, uint32_t size)
{
    g->seg_len = segment_length_for(size);
    g->seg_mask = g->seg_len - 1;
    uint32_t cap = 0;
    if (size > 1) {
        const double f = fmax(1.125, 0.875 + 0.25 * log(1000000.0) / log((double)size));
        cap = (uint32_t)round((double)size * f);
    }
    uint32_t total = (uint32_t)(((uint64_t)cap + g->seg_len - 1) / g->seg_len);
    if (total < 3)
        total = 3;
    g->seg_count = total - 2;
    g->seg_count_len = g->seg_count * g->seg_len;
    *capacity = total * g->seg_len;
}

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* pruneDuplicates: sorted unique copy. */
static uint64_t *sorted_unique(const uint64_t *keys, size_t n, size_t *n_out)
{
    uint64_t *k = mo_malloc(n ? n * sizeof(*k) : 1);
    if (!k)
        return NULL;
    if (n)
        memcpy(k, keys, n * sizeof(*k));
    qsort(k, n, sizeof(*k), cmp_u64);
    size_t pos = 0;
    for (size_t i = 1; i < n; i++)
        if (k[i] != k[pos])
            k[++pos] = k[i];
    *n_out = n ? pos + 1 : 0;
    return k;
}

typedef struct keyidx {
    uint64_t key;
    size_t idx;
} keyidx;

static int cmp_keyidx(const void *a, const void *b)
{
    const keyidx *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* lo.Uniq: first occurrences, original order (MO's fallback after a failed build). */
static uint64_t *stable_unique(const uint64_t *keys, size_t n, size_t *n_out)
{
    keyidx *ki = mo_malloc(n ? n * sizeof(*ki) : 1);
    uint8_t *keep = mo_calloc(n ? n : 1, 1);
    uint64_t *k = mo_malloc(n ? n * sizeof(*k) : 1);
    if (!ki || !keep || !k) {
        mo_free(ki);
        mo_free(keep);
        mo_free(k);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        ki[i].key = keys[i];
        ki[i].idx = i;
    }
    qsort(ki, n, sizeof(*ki), cmp_keyidx);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || ki[i].key != ki[i - 1].key)
            keep[ki[i].idx] = 1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            k[m++] = keys[i];
    mo_free(ki);
    mo_free(keep);
    *n_out = m;
    return k;
}

/*
 * One call of the Go builder. Returns MO_OK with the serialized filter appended, MO_EAGAIN
 * when it gave up after BF_MAX_ITERATIONS seeds (the caller then deduplicates), or
 * MO_ENOMEM. @p out is unchanged on failure.
 */
static int fuse_build_once(mo_buf *out, const uint64_t *keys_in, uint32_t size, mo_err *err)
{
    int rc = MO_OK;
    fuse_geom g;
    uint32_t capacity;
    fuse_geom_init(&g, &capacity, size);

    /* the segment count doubles (+2) at most while retrying with a halved length */
    int max_bits = 1;
    while (((uint64_t)1 << max_bits) < (uint64_t)g.seg_count * 2 + 2)
        max_bits++;

    const uint64_t *keys = keys_in;
    size_t nkeys = size;
    uint64_t *owned_keys = NULL;
    uint32_t *alone = mo_malloc(((size_t)capacity + 1) * sizeof(*alone));
    uint8_t *t2count = mo_calloc(capacity, 1);
    uint64_t *t2hash = mo_calloc(capacity, sizeof(*t2hash));
    uint64_t *rev_order = mo_calloc((size_t)size + 1, sizeof(*rev_order));
    uint8_t *rev_h = mo_malloc((size_t)size + 1);
    uint32_t *start_pos = mo_malloc(((size_t)1 << max_bits) * sizeof(*start_pos));
    if (!alone || !t2count || !t2hash || !rev_order || !rev_h || !start_pos) {
        rc = mo_err_set(err, MO_ENOMEM, "binary fuse filter: %u keys", size);
        goto out;
    }
    rev_order[size] = 1;

    uint64_t rng = 1;
    uint64_t seed = splitmix64(&rng);
    int iterations = 0;
    for (;;) {
        if (++iterations > BF_MAX_ITERATIONS) {
            rc = MO_EAGAIN;
            goto out;
        }
        if (size > 4 && size < 1000000) {
            /* every 4th try uses half the segment length at the same capacity */
            if (iterations % 4 == 2) {
                g.seg_len /= 2;
                g.seg_mask = g.seg_len - 1;
                g.seg_count = g.seg_count * 2 + 2;
                g.seg_count_len = g.seg_count * g.seg_len;
            } else if (iterations % 4 == 3) {
                g.seg_len *= 2;
                g.seg_mask = g.seg_len - 1;
                g.seg_count = g.seg_count / 2 - 1;
                g.seg_count_len = g.seg_count * g.seg_len;
            }
        }
        int block_bits = 1;
        while (((uint64_t)1 << block_bits) < g.seg_count)
            block_bits++;
        const size_t nblocks = (size_t)1 << block_bits;
        for (size_t i = 0; i < nblocks; i++)
            start_pos[i] = (uint32_t)(((uint64_t)i * size) >> block_bits);
        /* bucket the mixed hashes by their top bits, so cells fill segment by segment */
        for (size_t k = 0; k < nkeys; k++) {
            const uint64_t hash = murmur64(keys[k] + seed);
            uint64_t seg = hash >> (64 - block_bits);
            while (rev_order[start_pos[seg]] != 0)
                seg = (seg + 1) & (nblocks - 1);
            rev_order[start_pos[seg]] = hash;
            start_pos[seg]++;
        }

        bool failed = false;
        uint32_t duplicates = 0;
        for (uint32_t i = 0; i < size; i++) {
            const uint64_t hash = rev_order[i];
            uint32_t h[3];
            fuse_cells(&g, hash, h);
            for (int j = 0; j < 3; j++) {
                t2count[h[j]] = (uint8_t)((t2count[h[j]] + 4) ^ j);
                t2hash[h[j]] ^= hash;
            }
            /* an identical hash inserted twice cancels out: undo it and count a duplicate */
            if ((t2hash[h[0]] & t2hash[h[1]] & t2hash[h[2]]) == 0 &&
                ((t2hash[h[0]] == 0 && t2count[h[0]] == 8) ||
                 (t2hash[h[1]] == 0 && t2count[h[1]] == 8) ||
                 (t2hash[h[2]] == 0 && t2count[h[2]] == 8))) {
                duplicates++;
                for (int j = 0; j < 3; j++) {
                    t2count[h[j]] = (uint8_t)((t2count[h[j]] - 4) ^ j);
                    t2hash[h[j]] ^= hash;
                }
            }
            for (int j = 0; j < 3; j++)
                if (t2count[h[j]] < 4)
                    failed = true; /* 6-bit counter wrapped */
        }
        if (!failed) {
            /* peel: repeatedly remove a key that is alone in one of its cells */
            size_t q = 0;
            for (uint32_t i = 0; i < capacity; i++)
                if ((t2count[i] >> 2) == 1)
                    alone[q++] = i;
            uint32_t stack = 0;
            while (q > 0) {
                const uint32_t index = alone[--q];
                if ((t2count[index] >> 2) != 1)
                    continue;
                const uint64_t hash = t2hash[index];
                const uint8_t found = t2count[index] & 3;
                rev_h[stack] = found;
                rev_order[stack] = hash;
                stack++;
                uint32_t h[3];
                fuse_cells(&g, hash, h);
                for (int d = 1; d <= 2; d++) {
                    const uint8_t pos = (uint8_t)((found + d) % 3);
                    const uint32_t other = h[pos];
                    if ((t2count[other] >> 2) == 2)
                        alone[q++] = other;
                    t2count[other] = (uint8_t)((t2count[other] - 4) ^ pos);
                    t2hash[other] ^= hash;
                }
            }
            if (stack + duplicates == size) {
                uint8_t *dst;
                if ((rc = mo_buf_grow(out, BF_HDR_LEN + (size_t)capacity, &dst)) < 0) {
                    mo_err_set(err, rc, "binary fuse filter: %u fingerprints", capacity);
                    goto out;
                }
                mo_store_le64(dst, seed);
                mo_store_le32(dst + 8, g.seg_len);
                mo_store_le32(dst + 12, g.seg_mask);
                mo_store_le32(dst + 16, g.seg_count);
                mo_store_le32(dst + 20, g.seg_count_len);
                uint8_t *fp = dst + BF_HDR_LEN;
                memset(fp, 0, capacity);
                /* assign in reverse peel order: each key owns the cell it was peeled from */
                for (uint32_t i = stack; i-- > 0;) {
                    const uint64_t hash = rev_order[i];
                    uint32_t h[3];
                    fuse_cells(&g, hash, h);
                    const uint8_t f = rev_h[i];
                    fp[h[f]] = (uint8_t)(fuse_fp(hash) ^ fp[h[(f + 1) % 3]] ^ fp[h[(f + 2) % 3]]);
                }
                goto out;
            }
            if (duplicates > 0 && !owned_keys) {
                /*
                 * Like Go: sort the keys unique, but keep `size` (the freed slots stay zero
                 * and act as hash 0, harmless extra members).
                 */
                size_t m;
                owned_keys = sorted_unique(keys, nkeys, &m);
                if (!owned_keys) {
                    rc = mo_err_set(err, MO_ENOMEM, "binary fuse filter: dedup %u keys", size);
                    goto out;
                }
                keys = owned_keys;
                nkeys = m;
            }
        }
        memset(rev_order, 0, (size_t)size * sizeof(*rev_order));
        memset(t2count, 0, capacity);
        memset(t2hash, 0, (size_t)capacity * sizeof(*t2hash));
        seed = splitmix64(&rng);
    }
out:
    mo_free(owned_keys);
    mo_free(alone);
    mo_free(t2count);
    mo_free(t2hash);
    mo_free(rev_order);
    mo_free(rev_h);
    mo_free(start_pos);
    return rc;
}

int mo_obj_bfuse_build(mo_buf *out, const uint64_t *keys, size_t n, mo_err *err)
{
    if (n > BF_MAX_KEYS)
        return mo_err_set(err, MO_EINVAL, "binary fuse filter: %zu keys, limit %u", n, BF_MAX_KEYS);
    int rc = fuse_build_once(out, keys, (uint32_t)n, err);
    if (rc != MO_EAGAIN)
        return rc;
    /* MO's wrapper: on "too many iterations", drop duplicate keys and try once more */
    size_t m;
    uint64_t *uniq = stable_unique(keys, n, &m);
    if (!uniq)
        return mo_err_set(err, MO_ENOMEM, "binary fuse filter: dedup %zu keys", n);
    rc = fuse_build_once(out, uniq, (uint32_t)m, err);
    mo_free(uniq);
    if (rc == MO_EAGAIN)
        rc = mo_err_set(err, MO_ERROR, "binary fuse filter: no seed worked for %zu keys", m);
    return rc;
}

/* ---------------- prefix and hybrid filters ---------------- */

static int prefix_len(uint8_t id)
{
    return id == MO_OBJ_PREFIX_OBJECT  ? MO_OBJ_OBJECTID_LEN
           : id == MO_OBJ_PREFIX_BLOCK ? MO_OBJ_BLOCKID_LEN
                                       : -1;
}

static int pbf_parse(mo_obj_bfuse *bf, int *plen, const uint8_t *p, size_t n, mo_err *err)
{
    if (n < 1)
        return mo_err_set(err, MO_ECORRUPT, "prefix filter: empty");
    *plen = prefix_len(p[0]);
    if (*plen < 0)
        return mo_err_set(err, MO_ECORRUPT, "prefix filter: unknown prefix function %u", p[0]);
    int rc = mo_obj_bfuse_parse(bf, p + 1, n - 1, err);
    if (rc < 0)
        mo_err_prefix(err, "prefix filter: ");
    return rc;
}

typedef struct hbf_view {
    mo_obj_bfuse l1, l2, full;
    int plen1, plen2;
} hbf_view;

static int hbf_parse(hbf_view *h, const uint8_t *p, size_t n, mo_err *err)
{
    if (n < 12)
        return mo_err_set(err, MO_ECORRUPT, "hybrid filter: %zu bytes, header needs 12", n);
    const uint64_t len1 = mo_load_le32(p), len2 = mo_load_le32(p + 4), len3 = mo_load_le32(p + 8);
    if (12 + len1 + len2 + len3 != n)
        return mo_err_set(err, MO_ECORRUPT,
                          "hybrid filter: 12 + %" PRIu64 " + %" PRIu64 " + %" PRIu64
                          " != %zu bytes",
                          len1, len2, len3, n);
    int rc;
    p += 12;
    if ((rc = pbf_parse(&h->l1, &h->plen1, p, len1, err)) < 0) {
        mo_err_prefix(err, "hybrid level 1: ");
        return rc;
    }
    p += len1;
    if ((rc = pbf_parse(&h->l2, &h->plen2, p, len2, err)) < 0) {
        mo_err_prefix(err, "hybrid level 2: ");
        return rc;
    }
    p += len2;
    if ((rc = mo_obj_bfuse_parse(&h->full, p, len3, err)) < 0) {
        mo_err_prefix(err, "hybrid full key: ");
        return rc;
    }
    return MO_OK;
}

int mo_obj_filter_parse(mo_obj_filter *out, uint8_t bf_type, const uint8_t *filter, size_t flen,
                        mo_err *err)
{
    int rc;
    memset(out, 0, sizeof(*out));
    out->type = bf_type;
    switch (bf_type) {
    case MO_OBJ_BF_PLAIN:
        return mo_obj_bfuse_parse(&out->full, filter, flen, err);
    case MO_OBJ_BF_PREFIX:
        return pbf_parse(&out->l1, &out->plen1, filter, flen, err);
    case MO_OBJ_BF_HYBRID: {
        hbf_view h;
        if ((rc = hbf_parse(&h, filter, flen, err)) < 0)
            return rc;
        out->l1 = h.l1;
        out->l2 = h.l2;
        out->full = h.full;
        out->plen1 = h.plen1;
        out->plen2 = h.plen2;
        return MO_OK;
    }
    default:
        return mo_err_set(err, MO_ECORRUPT, "bloom filter type %u unknown", bf_type);
    }
}

int mo_obj_filter_contains(const mo_obj_filter *f, const uint8_t *v, size_t n, bool *present_out,
                           mo_err *err)
{
    *present_out = false;
    switch (f->type) {
    case MO_OBJ_BF_PLAIN:
        *present_out = mo_obj_bfuse_contains(&f->full, bf_key(v, n));
        return MO_OK;
    case MO_OBJ_BF_PREFIX:
        if (n < (size_t)f->plen1)
            return mo_err_set(err, MO_EINVAL, "prefix filter: value of %zu bytes, prefix %d", n,
                              f->plen1);
        *present_out = mo_obj_bfuse_contains(&f->l1, bf_key(v, (size_t)f->plen1));
        return MO_OK;
    case MO_OBJ_BF_HYBRID:
        if (n != MO_OBJ_ROWID_LEN)
            return mo_err_set(err, MO_EINVAL, "hybrid filter: value of %zu bytes, need a rowid", n);
        *present_out = mo_obj_bfuse_contains(&f->l1, bf_key(v, (size_t)f->plen1)) &&
                       mo_obj_bfuse_contains(&f->l2, bf_key(v, (size_t)f->plen2)) &&
                       mo_obj_bfuse_contains(&f->full, bf_key(v, n));
        return MO_OK;
    default:
        return mo_err_set(err, MO_ECORRUPT, "bloom filter type %u unknown", f->type);
    }
}

int mo_obj_filter_test(bool *present_out, uint8_t bf_type, const uint8_t *filter, size_t flen,
                       const uint8_t *v, size_t n, mo_err *err)
{
    mo_obj_filter f;
    *present_out = false;
    int rc = mo_obj_filter_parse(&f, bf_type, filter, flen, err);
    if (rc < 0)
        return rc;
    return mo_obj_filter_contains(&f, v, n, present_out, err);
}

/* Bytes a filter hashes for one row (ForeachWindowBytes). */
static void row_bytes(const mo_obj_vec *v, uint32_t row, bool varlena, const uint8_t **p,
                      uint32_t *n)
{
    static const uint8_t zero[MO_OBJ_VARLENA_SIZE + 8];
    if (!mo_obj_vec_is_null(v, row)) {
        mo_obj_vec_value(v, row, p, n);
        return;
    }
    if (varlena) {
        *p = zero;
        *n = 0; /* a nil slice */
        return;
    }
    const uint32_t sz = v->type.size > 0 ? (uint32_t)v->type.size : 0;
    if (mo_obj_vec_is_const_null(v) || sz > sizeof(zero)) {
        /* no slot to hash: a const-null vector carries no data */
        *p = zero;
        *n = sz > sizeof(zero) ? (uint32_t)sizeof(zero) : sz;
        return;
    }
    *p = mo_obj_vec_slot(v, row);
    *n = sz;
}

static int put_pbf(mo_buf *out, uint8_t id, const uint64_t *keys, size_t n, mo_err *err)
{
    int rc = mo_buf_put_u8(out, id);
    if (rc < 0)
        return mo_err_set(err, rc, "prefix filter");
    return mo_obj_bfuse_build(out, keys, n, err);
}

int mo_obj_filter_build(mo_buf *out, uint8_t bf_type, const mo_obj_vec *v, mo_err *err)
{
    const bool varlena = mo_obj_type_is_varlena(v->type.oid);
    const size_t rows = v->length;
    const size_t start = out->len;
    int rc = MO_OK;

    if (bf_type > MO_OBJ_BF_HYBRID)
        return mo_err_set(err, MO_EINVAL, "bloom filter type %u unknown", bf_type);
    if (bf_type != MO_OBJ_BF_PLAIN && (varlena || v->type.size < MO_OBJ_OBJECTID_LEN))
        return mo_err_set(err, MO_EINVAL, "prefix filters need rowid-like values, not oid %u",
                          v->type.oid);
    if (bf_type == MO_OBJ_BF_HYBRID && v->type.size != MO_OBJ_ROWID_LEN)
        return mo_err_set(err, MO_EINVAL, "hybrid filter needs a rowid column, not oid %u",
                          v->type.oid);

    const size_t nlists = bf_type == MO_OBJ_BF_HYBRID ? 3 : 1;
    uint64_t *keys = mo_malloc(rows && nlists ? rows * nlists * sizeof(*keys) : 1);
    if (!keys)
        return mo_err_set(err, MO_ENOMEM, "bloom filter keys: %zu rows", rows);
    uint64_t *full = keys, *l1 = keys + rows, *l2 = keys + 2 * rows;
    for (uint32_t r = 0; r < rows; r++) {
        const uint8_t *p;
        uint32_t n;
        row_bytes(v, r, varlena, &p, &n);
        switch (bf_type) {
        case MO_OBJ_BF_PLAIN:
            full[r] = mo_obj_bf_key(p, n);
            break;
        case MO_OBJ_BF_PREFIX:
            full[r] = mo_obj_bf_key(p, MO_OBJ_OBJECTID_LEN);
            break;
        default:
            full[r] = mo_obj_bf_key(p, n);
            l1[r] = mo_obj_bf_key(p, MO_OBJ_OBJECTID_LEN);
            l2[r] = mo_obj_bf_key(p, MO_OBJ_BLOCKID_LEN);
            break;
        }
    }

    switch (bf_type) {
    case MO_OBJ_BF_PLAIN:
        rc = mo_obj_bfuse_build(out, full, rows, err);
        break;
    case MO_OBJ_BF_PREFIX:
        rc = put_pbf(out, MO_OBJ_PREFIX_OBJECT, full, rows, err);
        break;
    default: {
        if ((rc = mo_buf_put_zero(out, 12)) < 0) {
            mo_err_set(err, rc, "hybrid filter header");
            break;
        }
        const size_t o1 = out->len;
        if ((rc = put_pbf(out, MO_OBJ_PREFIX_OBJECT, l1, rows, err)) < 0)
            break;
        const size_t o2 = out->len;
        if ((rc = put_pbf(out, MO_OBJ_PREFIX_BLOCK, l2, rows, err)) < 0)
            break;
        const size_t o3 = out->len;
        if ((rc = mo_obj_bfuse_build(out, full, rows, err)) < 0)
            break;
        if (o2 - o1 > UINT32_MAX || o3 - o2 > UINT32_MAX || out->len - o3 > UINT32_MAX) {
            rc = mo_err_set(err, MO_EINVAL, "hybrid filter: level larger than 4 GiB");
            break;
        }
        mo_store_le32(out->ptr + start, (uint32_t)(o2 - o1));
        mo_store_le32(out->ptr + start + 4, (uint32_t)(o3 - o2));
        mo_store_le32(out->ptr + start + 8, (uint32_t)(out->len - o3));
        break;
    }
    }
    mo_free(keys);
    if (rc < 0)
        out->len = start;
    return rc;
}
