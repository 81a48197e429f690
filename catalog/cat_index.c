/* In-memory tables of the catalog: rows of one fixed size in a flat array, indexed by an
 * open-addressing hash (linear probing, load <= 1/2, backward-shift deletion), keyed by the
 * bytes at the start of each row (u64 id, 18-byte object id, or a NUL-terminated name).
 * Deletion swaps the last row into the hole, so rows stay dense. Capacity is reserved
 * before a commit is written, so applying a durable commit never allocates. */
#include <stdlib.h>
#include <string.h>

#include "cat_int.h"

void mo_cat__tab_init(cat_tab *t, size_t esz, size_t klen, void (*dispose)(void *))
{
    memset(t, 0, sizeof(*t));
    t->esz = esz;
    t->klen = klen;
    t->dispose = dispose;
}

void mo_cat__tab_dispose(cat_tab *t)
{
    if (t->dispose)
        for (size_t i = 0; i < t->n; i++)
            t->dispose(mo_cat__tab_at(t, i));
    mo_free(t->el);
    mo_free(t->slots);
    t->el = NULL;
    t->slots = NULL;
    t->n = t->cap = t->scap = 0;
}

static uint64_t key_hash(const cat_tab *t, const void *key)
{
    const size_t len = t->klen ? t->klen : strlen(key);
    return mo_xxh3_64(key, len);
}

static bool key_eq(const cat_tab *t, const void *a, const void *b)
{
    return t->klen ? !memcmp(a, b, t->klen) : !strcmp(a, b);
}

static int rehash(cat_tab *t, size_t scap)
{
    uint32_t *s = mo_calloc(scap, sizeof(*s));
    if (!s)
        return MO_ENOMEM;
    for (size_t k = 0; k < t->n; k++) {
        size_t i = key_hash(t, mo_cat__tab_at(t, k)) & (scap - 1);
        while (s[i])
            i = (i + 1) & (scap - 1);
        s[i] = (uint32_t)(k + 1);
    }
    mo_free(t->slots);
    t->slots = s;
    t->scap = scap;
    return MO_OK;
}

int mo_cat__tab_reserve(cat_tab *t, size_t extra)
{
    if (extra > UINT32_MAX / 4 || t->n + extra > UINT32_MAX / 4)
        return MO_ENOMEM;
    const size_t want = t->n + extra;
    if (want > t->cap) {
        size_t cap = t->cap ? t->cap : 16;
        while (cap < want)
            cap *= 2;
        uint8_t *el = mo_realloc(t->el, cap * t->esz);
        if (!el)
            return MO_ENOMEM;
        t->el = el;
        t->cap = cap;
    }
    if (want * 2 > t->scap) {
        size_t scap = t->scap ? t->scap : 32;
        while (want * 2 > scap)
            scap *= 2;
        if (rehash(t, scap) < 0)
            return MO_ENOMEM;
    }
    return MO_OK;
}

/* slot holding @p key, or the empty slot where it would go */
static size_t find_slot(const cat_tab *t, const void *key, bool *found)
{
    size_t i = key_hash(t, key) & (t->scap - 1);
    for (;; i = (i + 1) & (t->scap - 1)) {
        const uint32_t v = t->slots[i];
        if (!v) {
            *found = false;
            return i;
        }
        if (key_eq(t, mo_cat__tab_at(t, v - 1), key)) {
            *found = true;
            return i;
        }
    }
}

void *mo_cat__tab_get(const cat_tab *t, const void *key)
{
    if (!t->n)
        return NULL;
    bool found;
    const size_t i = find_slot(t, key, &found);
    return found ? mo_cat__tab_at(t, t->slots[i] - 1) : NULL;
}

void mo_cat__tab_put(cat_tab *t, const void *row)
{
    bool found;
    const size_t i = find_slot(t, row, &found);
    if (found) {
        void *old = mo_cat__tab_at(t, t->slots[i] - 1);
        if (t->dispose)
            t->dispose(old);
        memcpy(old, row, t->esz);
        return;
    }
    memcpy(mo_cat__tab_at(t, t->n), row, t->esz);
    t->slots[i] = (uint32_t)++t->n;
}

bool mo_cat__tab_del(cat_tab *t, const void *key)
{
    if (!t->n)
        return false;
    bool found;
    size_t i = find_slot(t, key, &found);
    if (!found)
        return false;
    const size_t idx = t->slots[i] - 1;
    if (t->dispose)
        t->dispose(mo_cat__tab_at(t, idx));
    /* backward-shift deletion keeps every probe chain unbroken without tombstones */
    const size_t mask = t->scap - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!t->slots[j])
            break;
        const size_t home = key_hash(t, mo_cat__tab_at(t, t->slots[j] - 1)) & mask;
        /* move slot j into the hole at i when its home is not cyclically in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = 0;
    /* move the last row into the hole */
    const size_t last = t->n - 1;
    if (idx != last) {
        void *lrow = mo_cat__tab_at(t, last);
        bool f2;
        const size_t s = find_slot(t, lrow, &f2);
        memcpy(mo_cat__tab_at(t, idx), lrow, t->esz);
        t->slots[s] = (uint32_t)(idx + 1);
    }
    t->n--;
    return true;
}

/* qsort has no payload argument; the comparators only look at rows */
int mo_cat__tab_sorted(const cat_tab *t, int (*cmp)(const void *, const void *),
                       bool (*keep)(const void *, void *), void *payload, void ***out,
                       size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!t->n)
        return MO_OK;
    void **v = mo_malloc(t->n * sizeof(*v));
    if (!v)
        return MO_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        void *row = mo_cat__tab_at(t, i);
        if (!keep || keep(row, payload))
            v[n++] = row;
    }
    qsort(v, n, sizeof(*v), cmp);
    *out = v;
    *n_out = n;
    return MO_OK;
}

/* Objectid order of the spec: segment bytes, then the u16 file number numerically. */
int mo_cat__objid_cmp(const uint8_t *a, const uint8_t *b)
{
    const int c = memcmp(a, b, 16);
    if (c)
        return c;
    const uint16_t x = mo_load_le16(a + 16), y = mo_load_le16(b + 16);
    return x < y ? -1 : x > y;
}
