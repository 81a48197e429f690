/* The iteration's copier source and sink. The source serves exactly the objects an
 * iteration's diff asks for (never a whole snapshot listing: a no-op round asks for none, an
 * incremental one costs one chunk-0 request per new object), as numbered upstream chunks; the
 * chunk size C is learnt as src_mysql.c does (sizes and chunk counts bound it, chunk 1 of a
 * multi-chunk object fixes it and is kept for the copier). The sink is a dir sink whose journal
 * lives in a per-subscription state directory, so parallel iterations never share a journal.
 * MO_TEST_FETCH_LOG (tests): each object whose last chunk was served is appended to that file
 * by name (an object fetched twice in full shows up twice). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo/hash.h"
#include "mo/sync.h"
#include "mo/upstream.h"
#include "sync_int.h"

#define POOL_MAX 16

typedef struct ss_obj {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    uint64_t size;
    int64_t chunks;
    uint8_t stats[MO_OBJ_STATS_LEN];
} ss_obj;

typedef struct ss_src {
    char *uri, *password;
    char pubacct[MO_UP_IDENT_MAX + 1], pubname[MO_UP_IDENT_MAX + 1];
    pthread_mutex_t mu;
    mo_up *idle[POOL_MAX];
    unsigned nidle;
    ss_obj *objs;
    size_t n;
    uint64_t chunk;
    char *identity;
    char cache_name[MO_OBJ_NAME_STR_LEN + 1];
    uint8_t *cache;
    size_t cache_len;
} ss_src;

static int pool_get(ss_src *u, mo_up **out, mo_err *err)
{
    pthread_mutex_lock(&u->mu);
    if (u->nidle) {
        *out = u->idle[--u->nidle];
        pthread_mutex_unlock(&u->mu);
        return MO_OK;
    }
    pthread_mutex_unlock(&u->mu);
    mo_up_opts o;
    mo_sync__up_opts(&o);
    return mo_up_connect(out, u->uri, u->password, &o, err);
}

static void pool_put(ss_src *u, mo_up *up)
{
    pthread_mutex_lock(&u->mu);
    if (u->nidle < POOL_MAX) {
        u->idle[u->nidle++] = up;
        up = NULL;
    }
    pthread_mutex_unlock(&u->mu);
    mo_up_free(up);
}

static int cmp_obj(const void *a, const void *b)
{
    return strcmp(((const ss_obj *)a)->name, ((const ss_obj *)b)->name);
}

static int learn_chunk(ss_src *u, mo_up *up, mo_err *err)
{
    uint64_t lo = 1, hi = UINT64_MAX, maxsize = 1;
    const ss_obj *multi = NULL;
    for (size_t i = 0; i < u->n; i++) {
        const ss_obj *o = &u->objs[i];
        uint64_t c = (uint64_t)o->chunks;
        uint64_t l = (o->size + c - 1) / c;
        uint64_t h = c > 1 ? (o->size - 1) / (c - 1) : UINT64_MAX;
        if (l > lo)
            lo = l;
        if (h < hi)
            hi = h;
        if (o->size > maxsize)
            maxsize = o->size;
        if (c > 1 && !multi)
            multi = o;
    }
    if (lo > hi)
        return mo_err_set(err, MO_EUPSTREAM, "get_object: the objects' sizes and chunk counts "
                                             "fit no single chunk size");
    if (!multi) {
        u->chunk = maxsize;
        return MO_OK;
    }
    size_t cap = (size_t)(hi < multi->size ? hi : multi->size);
    uint8_t *buf = mo_malloc(cap);
    if (!buf)
        return mo_err_set(err, MO_ENOMEM, "chunk of %zu bytes", cap);
    mo_up_chunk meta;
    int rc = mo_up_get_object(up, &meta, buf, cap, u->pubacct, u->pubname, multi->name, 1, err);
    if (rc == MO_OK && (meta.total_size != multi->size || meta.total_chunks != multi->chunks ||
                        meta.len < lo || meta.len > hi))
        rc = mo_err_set(err, MO_EUPSTREAM, "get_object %s chunk 1: %zu bytes do not fit the "
                                           "objects' chunk counts", multi->name, meta.len);
    if (rc < 0) {
        mo_free(buf);
        return rc;
    }
    u->chunk = meta.len;
    memcpy(u->cache_name, multi->name, sizeof(u->cache_name));
    u->cache = buf;
    u->cache_len = meta.len;
    return MO_OK;
}

static void fetch_log(const char *name)
{
    const char *p = getenv("MO_TEST_FETCH_LOG");
    if (!p || !*p)
        return;
    FILE *f = fopen(p, "a");
    if (f) {
        fprintf(f, "%s\n", name);
        fclose(f);
    }
}

static int ss_list(mo_src *s, mo_obj_ref_cb cb, void *payload, uint64_t *ignored, mo_err *err)
{
    ss_src *u = s->ctx;
    (void)ignored;
    for (size_t i = 0; i < u->n; i++) {
        mo_obj_ref r;
        memset(&r, 0, sizeof(r));
        memcpy(r.name, u->objs[i].name, sizeof(r.name));
        r.size = u->objs[i].size;
        r.has_stats = true;
        memcpy(r.stats, u->objs[i].stats, sizeof(r.stats));
        if (cb(&r, payload) != 0)
            return mo_err_set(err, MO_EUSER, "listing stopped by the caller");
    }
    return MO_OK;
}

static int ss_read(mo_src *s, const char *name, uint64_t off, void *buf, size_t n, mo_err *err)
{
    ss_src *u = s->ctx;
    ss_obj key;
    snprintf(key.name, sizeof(key.name), "%s", name);
    const ss_obj *o = u->n ? bsearch(&key, u->objs, u->n, sizeof(*u->objs), cmp_obj) : NULL;
    if (!o)
        return mo_err_set(err, MO_ENOTFOUND, "%.60s: not in the iteration's object list", name);
    uint64_t c = u->chunk;
    if (!c || off % c || off >= o->size)
        return mo_err_set(err, MO_EINVAL, "%s: read at %" PRIu64 " is not at a chunk boundary",
                          name, off);
    uint64_t want = o->size - off < c ? o->size - off : c;
    if (n != want)
        return mo_err_set(err, MO_EINVAL, "%s: read of %zu bytes, the chunk has %" PRIu64, name,
                          n, want);
    int64_t k = (int64_t)(off / c) + 1;
    const bool last = off + n == o->size; /* logged once the whole object has been served */
    pthread_mutex_lock(&u->mu);
    if (u->cache && k == 1 && !strcmp(u->cache_name, name) && u->cache_len == n) {
        memcpy(buf, u->cache, n);
        mo_free(u->cache);
        u->cache = NULL;
        pthread_mutex_unlock(&u->mu);
        __atomic_add_fetch(&s->bytes_read, n, __ATOMIC_RELAXED);
        if (last)
            fetch_log(name);
        return MO_OK;
    }
    pthread_mutex_unlock(&u->mu);
    mo_up *up;
    int rc = pool_get(u, &up, err);
    if (rc < 0)
        return rc;
    mo_up_chunk meta;
    rc = mo_up_get_object(up, &meta, buf, n, u->pubacct, u->pubname, name, k, err);
    pool_put(u, up);
    if (rc < 0)
        return rc;
    if (meta.total_size != o->size || meta.total_chunks != o->chunks || meta.len != n)
        return mo_err_set(err, MO_EUPSTREAM,
                          "get_object %s chunk %" PRId64 ": %zu bytes of %" PRIu64
                          " (chunk 0 said %" PRIu64 ")",
                          name, k, meta.len, meta.total_size, o->size);
    __atomic_add_fetch(&s->bytes_read, n, __ATOMIC_RELAXED);
    if (last)
        fetch_log(name);
    return MO_OK;
}

static const char *ss_identity(mo_src *s)
{
    return ((ss_src *)s->ctx)->identity;
}

static uint64_t ss_chunk_size(mo_src *s)
{
    return ((ss_src *)s->ctx)->chunk;
}

static void ss_free(mo_src *s)
{
    if (!s)
        return;
    ss_src *u = s->ctx;
    if (u) {
        for (unsigned i = 0; i < u->nidle; i++)
            mo_up_free(u->idle[i]);
        pthread_mutex_destroy(&u->mu);
        if (u->password) {
            memset(u->password, 0, strlen(u->password));
            mo_free(u->password);
        }
        mo_free(u->uri);
        mo_free(u->cache);
        mo_free(u->objs);
        mo_free(u->identity);
        mo_free(u);
    }
    mo_free(s);
}

static const struct mo_src_ops ss_ops = {
    MO_SRC_OPS_VERSION, "mo-sync", MO_SRC_LIST | MO_SRC_SEEK | MO_SRC_CHUNKS, ss_list, ss_read,
    ss_identity, ss_free, ss_chunk_size,
};

int mo_sync_src_open(mo_src **out, const char *uri, const char *password, const char *pubacct,
                     const char *pubname, const mo_sync_want *want, size_t n, const char *job,
                     mo_err *err)
{
    *out = NULL;
    mo_src *s = mo_calloc(1, sizeof(*s));
    ss_src *u = mo_calloc(1, sizeof(*u));
    if (!s || !u) {
        mo_free(s);
        mo_free(u);
        return mo_err_set(err, MO_ENOMEM, "sync source");
    }
    pthread_mutex_init(&u->mu, NULL);
    s->ops = &ss_ops;
    s->ctx = u;
    int rc = MO_OK;
    mo_up *up = NULL;
    u->uri = mo_strdup(uri);
    u->password = password ? mo_strdup(password) : NULL;
    u->objs = mo_calloc(n ? n : 1, sizeof(*u->objs));
    if (!u->uri || (password && !u->password) || !u->objs) {
        rc = mo_err_set(err, MO_ENOMEM, "sync source");
        goto fail;
    }
    snprintf(u->pubacct, sizeof(u->pubacct), "%s", pubacct);
    snprintf(u->pubname, sizeof(u->pubname), "%s", pubname);
    if (n && (rc = pool_get(u, &up, err)) < 0)
        goto fail;
    mo_xxh3_stream *hs;
    if (mo_xxh3_stream_new(&hs) < 0) {
        rc = mo_err_set(err, MO_ENOMEM, "hash state");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        ss_obj *o = &u->objs[u->n];
        memcpy(o->name, want[i].name, sizeof(o->name));
        memcpy(o->stats, want[i].stats, sizeof(o->stats));
        mo_up_chunk meta;
        rc = mo_up_get_object(up, &meta, NULL, 0, u->pubacct, u->pubname, o->name, 0, err);
        if (rc < 0) {
            mo_xxh3_stream_free(hs);
            goto fail;
        }
        o->size = meta.total_size;
        o->chunks = meta.total_chunks;
        mo_xxh3_stream_update(hs, o->name, MO_OBJ_NAME_STR_LEN);
        u->n++;
    }
    qsort(u->objs, u->n, sizeof(*u->objs), cmp_obj);
    for (size_t i = 1; i < u->n; i++)
        if (!strcmp(u->objs[i].name, u->objs[i - 1].name)) {
            mo_xxh3_stream_free(hs);
            rc = mo_err_set(err, MO_EINVAL, "object %s asked for twice", u->objs[i].name);
            goto fail;
        }
    mo_digest128 d = mo_xxh3_stream_digest(hs);
    mo_xxh3_stream_free(hs);
    if (u->n && (rc = learn_chunk(u, up, err)) < 0)
        goto fail;
    if (!u->n)
        u->chunk = 1;
    char hex[33], buf[1400];
    mo_digest128_hex(hex, d);
    snprintf(buf, sizeof(buf), "mo-sync:%s/%s/%s?job=%s&list=%s&chunk=%" PRIu64, uri, pubacct,
             pubname, job, hex, u->chunk);
    if (!(u->identity = mo_strdup(buf))) {
        rc = mo_err_set(err, MO_ENOMEM, "identity");
        goto fail;
    }
    if (up)
        pool_put(u, up);
    *out = s;
    return MO_OK;
fail:
    mo_up_free(up);
    ss_free(s);
    return rc;
}

/* ---------------- sink with its own state directory ---------------- */

typedef struct ss_sink {
    mo_sink k; /* first: the ops receive &k */
    mo_sink *inner;
    struct mo_sink_ops ops;
    char *state;
} ss_sink;

static const char *ws_state_dir(mo_sink *k)
{
    return ((ss_sink *)k)->state;
}

static void ws_free(mo_sink *k)
{
    ss_sink *w = (ss_sink *)k;
    mo_sink_free(w->inner);
    mo_free(w->state);
    mo_free(w);
}

int mo_sync_sink_open(mo_sink **out, const char *dir, const char *state_dir, mo_err *err)
{
    *out = NULL;
    mo_sink *inner;
    int rc = mo_sink_dir_open(&inner, dir, false, err);
    if (rc < 0)
        return rc;
    ss_sink *w = mo_calloc(1, sizeof(*w));
    if (!w || !(w->state = mo_strdup(state_dir))) {
        mo_free(w);
        mo_sink_free(inner);
        return mo_err_set(err, MO_ENOMEM, "sink");
    }
    w->inner = inner;
    w->ops = *inner->ops;
    w->ops.state_dir = ws_state_dir;
    w->ops.free = ws_free;
    w->k.ops = &w->ops;
    w->k.ctx = inner->ctx;
    *out = &w->k;
    return MO_OK;
}
