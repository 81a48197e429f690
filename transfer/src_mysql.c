/* The `mo` source: objects of an MO upstream publication, fetched with get_object as numbered
 * chunks of the size the upstream chose (the copier cuts objects at exactly these boundaries,
 * so read(name, k*C, n) is upstream chunk k+1). Listing = object_list of one snapshot (given,
 * or created once as mosync_seed_<hash> and then named in the identity so that resume reads
 * the same snapshot), live objects only, each sized by its chunk-0 metadata. The chunk size C
 * is not on the wire: it is learnt from the length of chunk 1 of the first multi-chunk object
 * (kept and served to the copier, never fetched twice) and recorded in the identity.
 * The sync engine's source (sync_src.c) is this one with a given object list
 * (mo_src_mysql__open_given): no snapshot, no listing, its own identity.
 * Connections: a small pool, one per object in flight (-j) plus one per prefetch in flight.
 * No password in spec or identity.
 *
 * No copy: borrow() hands the copier the chunk where libmysqlclient received it (the row in
 * the connection's receive buffer, mo_up_get_object_hold); release() checks that the reply
 * ended there and returns the connection to the pool. read() is borrow + copy + release.
 *
 * Prefetch (MO_UPSTREAM_PREFETCH = D, default 2, 0 disables, at most PF_MAX): the copier reads
 * an object's chunks in order, one worker thread per object. When it asks for chunk k, chunks
 * k+1..k+D are fetched in background threads, each on its own pooled connection, which keeps
 * the received row until the copier asks for that chunk and borrows it. Per object in flight
 * ("lane") there are at most D prefetches, so at most D+1 connections holding a chunk each
 * (libmysqlclient's receive buffer grows to one chunk and stays with the pooled connection).
 * A read of any other chunk than the lane's next one (resume, a retry after an error, a
 * restart) first joins and discards the lane's prefetches; so does an error and the last
 * chunk. Every check of a synchronous fetch (exact length, total size/chunks vs chunk 0)
 * applies to prefetched chunks when they are fetched; an error of a prefetch is returned by
 * the read that asks for its chunk.
 * MO_TEST_READ_COUNTER counts payload handed to the copier (a synchronous fetch, a prefetched
 * chunk when it is asked for, chunk 1 cached to learn the chunk size when it is received): the
 * D chunks prefetched per object and dropped by a kill are not in it (mo_kill.sh's bound of
 * kills x chunk size re-fetched would not hold with them: a kill then wastes up to
 * (1 + D) x objects in flight chunks). MO_TEST_FETCH_LOG (given lists, tests): each object
 * whose last chunk was handed out is appended to that file by name. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mo/hash.h"
#include "mo/sync.h"
#include "mo/sys.h"
#include "mo/upstream.h"
#include "mo/xfer.h"
#include "xfer_int.h"

#define POOL_MAX 32
#define PF_MAX 8    /* largest prefetch depth */
#define PF_LANES 32 /* objects prefetched at the same time; more read without prefetch */

struct up_src;
struct pf_lane;

/* one prefetched chunk: k = 0 empty, else in flight (thread th) until joined; after the join
 * with rc == MO_OK, up holds the chunk's row at data until it is handed over or dropped */
typedef struct pf_slot {
    struct pf_lane *lane;
    int64_t k;
    size_t n;
    pthread_t th;
    mo_up *up;
    const uint8_t *data;
    int rc;
    mo_err err;
} pf_slot;

typedef struct pf_lane {
    struct up_src *u;
    bool used;
    const struct up_obj *o;
    int64_t next; /* the chunk the copier is expected to ask for next, 0 = none */
    unsigned inflight;
    pf_slot slot[PF_MAX]; /* chunk k lives in slot k % D */
} pf_lane;

/* what a borrow lends: a connection holding the row, or the cached chunk 1 (own) */
typedef struct up_lend {
    mo_up *up;
    uint8_t *own;
} up_lend;

typedef struct up_obj {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    uint64_t size;
    int64_t chunks;
    uint8_t stats[MO_OBJ_STATS_LEN];
} up_obj;

typedef struct up_src {
    mo_up_uri uri;
    char base[900]; /* mysql://[acct#]user@host:port, no password (given lists: the caller's) */
    char *password;
    mo_up_opts opts;
    char ssl_ca[1024], ssl_mode[32];
    pthread_mutex_t mu;
    mo_up *idle[POOL_MAX];
    unsigned nidle;
    up_obj *objs;
    size_t n;
    bool prepared;
    uint64_t chunk;
    char snaps[1024];
    char *identity;
    char cache_name[MO_OBJ_NAME_STR_LEN + 1]; /* chunk 1 fetched to learn the chunk size */
    uint8_t *cache;
    size_t cache_len;
    bool given;        /* object list given (sync): no snapshot, no listing */
    uint64_t *counter; /* test seam: MO_TEST_READ_COUNTER (payload fetched, across runs) */
    unsigned depth;    /* prefetch depth D */
    pf_lane *lanes;    /* PF_LANES, allocated at first use; guarded by mu (used flags) */
    mo_src_mysql_pf_stats st; /* guarded by mu */
} up_src;

static int pool_get(up_src *u, mo_up **out, mo_err *err)
{
    pthread_mutex_lock(&u->mu);
    if (u->nidle) {
        *out = u->idle[--u->nidle];
        pthread_mutex_unlock(&u->mu);
        return MO_OK;
    }
    pthread_mutex_unlock(&u->mu);
    int rc = mo_up_connect(out, u->base, u->password, &u->opts, err);
    if (rc < 0 && !u->given) /* a given URI may carry a password */
        mo_err_prefix(err, "%s: ", u->base);
    return rc;
}

static void pool_put(up_src *u, mo_up *up)
{
    pthread_mutex_lock(&u->mu);
    if (u->nidle < POOL_MAX) {
        u->idle[u->nidle++] = up;
        up = NULL;
    }
    pthread_mutex_unlock(&u->mu);
    mo_up_free(up);
}

static void count(mo_src *s, up_src *u, uint64_t n)
{
    if (u->counter)
        __atomic_add_fetch(u->counter, n, __ATOMIC_RELAXED);
    (void)s;
}

static int set_identity(up_src *u, mo_err *err)
{
    char buf[3700], tls[1100];
    int k;
    /* the spec's TLS parameters stay in the identity: a resume (which reopens the journal's
     * source) keeps them */
    snprintf(tls, sizeof(tls), "%s%s%s%s", u->uri.ssl_mode[0] ? "&ssl-mode=" : "",
             u->uri.ssl_mode, u->uri.ssl_ca[0] ? "&ssl-ca=" : "", u->uri.ssl_ca);
    if (u->snaps[0])
        k = snprintf(buf, sizeof(buf), "%s/%s/%s?snapshot=%s&chunk=%" PRIu64 "%s", u->base,
                     u->uri.pubacct, u->uri.pubname, u->snaps, u->chunk, tls);
    else
        k = snprintf(buf, sizeof(buf), "%s/%s/%s%s%s", u->base, u->uri.pubacct, u->uri.pubname,
                     tls[0] ? "?" : "", tls[0] ? tls + 1 : "");
    if (k < 0 || (size_t)k >= sizeof(buf))
        return mo_err_set(err, MO_EINVAL, "source identity too long");
    char *id = mo_strdup(buf);
    if (!id)
        return mo_err_set(err, MO_ENOMEM, "source identity");
    mo_free(u->identity);
    u->identity = id;
    return MO_OK;
}

static int snaps_add(up_src *u, const char *name, mo_err *err)
{
    size_t l = strlen(u->snaps);
    int k = snprintf(u->snaps + l, sizeof(u->snaps) - l, "%s%s", l ? "," : "", name);
    if (k < 0 || (size_t)k >= sizeof(u->snaps) - l)
        return mo_err_set(err, MO_EINVAL, "too many seed snapshots");
    return MO_OK;
}

/* Creates the seed snapshot(s) for the publication's coverage (§1.3): ('*','*') = account,
 * (db,'*') = database, (db,t) rows not under a database marker = one table snapshot each. */
static int make_snapshots(up_src *u, mo_up *up, mo_err *err)
{
    mo_up_strs cov;
    int rc = mo_up_pub_coverage(up, &cov, u->uri.pubname, err);
    if (rc < 0)
        return rc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char seedtxt[800];
    int sl = snprintf(seedtxt, sizeof(seedtxt), "%s/%s/%s@%lld.%09ld#%ld", u->base,
                      u->uri.pubacct, u->uri.pubname, (long long)ts.tv_sec, ts.tv_nsec,
                      (long)getpid());
    char base[64];
    snprintf(base, sizeof(base), "mosync_seed_%016" PRIx64,
             mo_xxh3_64(seedtxt, sl > 0 ? (size_t)sl : 0));
    /* plan first, so that names are numbered only when there are several */
    size_t rows = cov.n / 2, plan = 0;
    bool account = false;
    for (size_t i = 0; i < rows; i++)
        if (!strcmp(cov.v[2 * i], "*") && !strcmp(cov.v[2 * i + 1], "*"))
            account = true;
    unsigned char *kind = mo_calloc(rows ? rows : 1, 1); /* 1 db marker, 2 table */
    if (!kind) {
        mo_up_strs_dispose(&cov);
        return mo_err_set(err, MO_ENOMEM, "coverage");
    }
    if (!account) {
        for (size_t i = 0; i < rows; i++)
            if (strcmp(cov.v[2 * i], "*") && !strcmp(cov.v[2 * i + 1], "*")) {
                kind[i] = 1;
                plan++;
            }
        for (size_t i = 0; i < rows; i++) {
            if (kind[i] || !strcmp(cov.v[2 * i], "*") || !strcmp(cov.v[2 * i + 1], "*"))
                continue;
            bool under = false;
            for (size_t j = 0; j < rows; j++)
                if (kind[j] == 1 && !strcmp(cov.v[2 * j], cov.v[2 * i]))
                    under = true;
            if (!under && !strncmp(cov.v[2 * i + 1], "__mo_index_", 11))
                under = true; /* index tables come with their table's listing */
            if (!under) {
                kind[i] = 2;
                plan++;
            }
        }
    }
    if (!account && !plan) {
        rc = mo_err_set(err, MO_EUPSTREAM, "publication %s.%s covers no table", u->uri.pubacct,
                        u->uri.pubname);
        goto out;
    }
    unsigned seq = 0;
    char name[96];
    if (account) {
        if ((rc = mo_up_create_snapshot(up, base, MO_UP_LEVEL_ACCOUNT, NULL, NULL,
                                        u->uri.pubacct, u->uri.pubname, err)) < 0 ||
            (rc = snaps_add(u, base, err)) < 0)
            goto out;
    }
    for (size_t i = 0; i < rows && !account; i++) {
        if (!kind[i])
            continue;
        if (plan > 1)
            snprintf(name, sizeof(name), "%s_%u", base, ++seq);
        else
            snprintf(name, sizeof(name), "%s", base);
        rc = mo_up_create_snapshot(up, name, kind[i] == 1 ? MO_UP_LEVEL_DATABASE : MO_UP_LEVEL_TABLE,
                                   cov.v[2 * i], cov.v[2 * i + 1], u->uri.pubacct, u->uri.pubname,
                                   err);
        if (rc < 0 || (rc = snaps_add(u, name, err)) < 0)
            goto out;
    }
out:
    mo_free(kind);
    mo_up_strs_dispose(&cov);
    return rc;
}

static int cmp_obj(const void *a, const void *b)
{
    return strcmp(((const up_obj *)a)->name, ((const up_obj *)b)->name);
}

/* Chunk size from the objects' (size, total_chunks): C must satisfy ceil(size/C) = chunks. */
static int learn_chunk(up_src *u, mo_up *up, mo_err *err)
{
    uint64_t lo = 1, hi = UINT64_MAX, maxsize = 1;
    const up_obj *multi = NULL;
    mo_free(u->cache);
    u->cache = NULL;
    for (size_t i = 0; i < u->n; i++) {
        const up_obj *o = &u->objs[i];
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
        return mo_err_set(err, MO_EUPSTREAM,
                          "object_list/get_object: the objects' sizes and chunk counts fit no "
                          "single chunk size");
    if (u->uri.chunk) {
        if (u->uri.chunk < lo || u->uri.chunk > hi)
            return mo_err_set(err, MO_EUPSTREAM,
                              "the upstream's chunk counts do not fit chunk=%" PRIu64
                              " recorded for this job (upstream chunk size changed?)",
                              u->uri.chunk);
        u->chunk = u->uri.chunk;
        return MO_OK;
    }
    if (!multi) {
        /* every object is one chunk: any C >= the largest object cuts them the same way */
        u->chunk = maxsize;
        return MO_OK;
    }
    size_t cap = (size_t)(hi < multi->size ? hi : multi->size);
    uint8_t *buf = mo_malloc(cap);
    if (!buf)
        return mo_err_set(err, MO_ENOMEM, "chunk of %zu bytes", cap);
    mo_up_chunk meta;
    int rc = mo_up_get_object(up, &meta, buf, cap, u->uri.pubacct, u->uri.pubname, multi->name,
                              1, err);
    if (rc == MO_OK && (meta.total_size != multi->size || meta.total_chunks != multi->chunks))
        rc = mo_err_set(err, MO_EUPSTREAM, "get_object %s: size/chunks changed between requests",
                        multi->name);
    if (rc == MO_OK && (meta.len < lo || meta.len > hi))
        rc = mo_err_set(err, MO_EUPSTREAM,
                        "get_object %s chunk 1: %zu bytes do not fit the other objects' chunk "
                        "counts [%" PRIu64 ", %" PRIu64 "]",
                        multi->name, meta.len, lo, hi);
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

/* Appends object @p name to u->objs (which has room), sized by its chunk-0 metadata. */
static int obj_add(up_src *u, mo_up *up, const char *name, const uint8_t *stats, mo_err *err)
{
    up_obj *o = &u->objs[u->n];
    snprintf(o->name, sizeof(o->name), "%s", name);
    memcpy(o->stats, stats, sizeof(o->stats));
    mo_up_chunk meta;
    int rc = mo_up_get_object(up, &meta, NULL, 0, u->uri.pubacct, u->uri.pubname, o->name, 0,
                              err);
    if (rc < 0)
        return rc;
    o->size = meta.total_size;
    o->chunks = meta.total_chunks;
    u->n++;
    return MO_OK;
}

/* Sorts u->objs by name (up_borrow's bsearch); a name twice is an error: the upstream's
 * listing (MO_EUPSTREAM) or the caller's given list (MO_EINVAL). */
static int objs_sort(up_src *u, mo_err *err)
{
    qsort(u->objs, u->n, sizeof(*u->objs), cmp_obj);
    for (size_t i = 1; i < u->n; i++) {
        if (strcmp(u->objs[i].name, u->objs[i - 1].name))
            continue;
        if (u->given)
            return mo_err_set(err, MO_EINVAL, "object %s asked for twice", u->objs[i].name);
        return mo_err_set(err, MO_EUPSTREAM, "object_list: object %s listed twice",
                          u->objs[i].name);
    }
    return MO_OK;
}

/* Snapshot(s), object list, chunk-0 sizes, chunk size: done once, before the copier asks for
 * the chunk size (which it does before listing). */
static int prepare(mo_src *s, mo_err *err)
{
    up_src *u = s->ctx;
    if (u->prepared)
        return MO_OK;
    mo_up *up;
    int rc = pool_get(u, &up, err);
    if (rc < 0)
        return rc;
    mo_up_obj *all = NULL;
    size_t nall = 0;
    if (!u->snaps[0]) {
        if (u->uri.snapshot[0])
            snprintf(u->snaps, sizeof(u->snaps), "%s", u->uri.snapshot);
        else if ((rc = make_snapshots(u, up, err)) < 0)
            goto out;
    }
    char list[sizeof(u->snaps)];
    memcpy(list, u->snaps, sizeof(list));
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        mo_up_obj *v;
        size_t n;
        if ((rc = mo_up_object_list(up, &v, &n, t, NULL, u->uri.pubacct, u->uri.pubname, err)) <
            0)
            goto out;
        mo_up_obj *na = n ? mo_realloc(all, (nall + n) * sizeof(*na)) : all;
        if (n && !na) {
            mo_free(v);
            rc = mo_err_set(err, MO_ENOMEM, "object list");
            goto out;
        }
        all = na;
        if (n)
            memcpy(all + nall, v, n * sizeof(*v));
        nall += n;
        mo_free(v);
    }
    nall = mo_up_obj_dedup(all, nall);
    mo_free(u->objs);
    u->objs = mo_calloc(nall ? nall : 1, sizeof(*u->objs));
    u->n = 0;
    if (!u->objs) {
        rc = mo_err_set(err, MO_ENOMEM, "object list");
        goto out;
    }
    for (size_t i = 0; i < nall; i++) {
        if (all[i].deleted)
            continue;
        if ((rc = obj_add(u, up, all[i].name, all[i].stats_raw, err)) < 0)
            goto out;
    }
    if ((rc = objs_sort(u, err)) < 0)
        goto out;
    if ((rc = learn_chunk(u, up, err)) < 0 || (rc = set_identity(u, err)) < 0)
        goto out;
    if (u->cache)
        count(s, u, u->cache_len);
    u->prepared = true;
out:
    mo_free(all);
    pool_put(u, up);
    return rc;
}

static int up_list(mo_src *s, mo_obj_ref_cb cb, void *payload, uint64_t *ignored, mo_err *err)
{
    up_src *u = s->ctx;
    (void)ignored;
    int rc = prepare(s, err);
    for (size_t i = 0; i < u->n && rc == MO_OK; i++) {
        mo_obj_ref r;
        memset(&r, 0, sizeof(r));
        memcpy(r.name, u->objs[i].name, sizeof(r.name));
        r.size = u->objs[i].size;
        r.has_stats = true;
        memcpy(r.stats, u->objs[i].stats, sizeof(r.stats));
        if (cb(&r, payload) != 0)
            rc = mo_err_set(err, MO_EUSER, "listing stopped by the caller");
    }
    return rc;
}

/* Fetches chunk k of o (exactly n bytes) on a pooled connection, with every check, and keeps
 * the row: on success *up_out holds it at *data (hand it back with chunk_done). */
static int hold_chunk(up_src *u, const up_obj *o, int64_t k, size_t n, mo_up **up_out,
                      const uint8_t **data, mo_err *err)
{
    *up_out = NULL;
    mo_up *up;
    int rc = pool_get(u, &up, err);
    if (rc < 0)
        return rc;
    mo_up_chunk meta;
    rc = mo_up_get_object_hold(up, &meta, n, u->uri.pubacct, u->uri.pubname, o->name, k, err);
    if (rc == MO_OK && (meta.total_size != o->size || meta.total_chunks != o->chunks))
        rc = mo_err_set(err, MO_EUPSTREAM,
                        "get_object %s chunk %" PRId64 ": total_size %" PRIu64 "/total_chunks %"
                        PRId64 " differ from chunk 0's %" PRIu64 "/%" PRId64,
                        o->name, k, meta.total_size, meta.total_chunks, o->size, o->chunks);
    else if (rc == MO_OK && meta.len != n)
        rc = mo_err_set(err, MO_EUPSTREAM,
                        "get_object %s chunk %" PRId64 ": %zu bytes, want %zu (chunk size %" PRIu64
                        ", total_size %" PRIu64 ")",
                        o->name, k, meta.len, n, u->chunk, o->size);
    if (rc < 0) {
        mo_up_free(up); /* a refused reply: the connection is not reused */
        return rc;
    }
    *up_out = up;
    *data = meta.data;
    return MO_OK;
}

/* Ends a held chunk: the reply must end after the row; the connection goes back to the pool
 * (or is closed after an error). */
static int chunk_done(up_src *u, mo_up *up, mo_err *err)
{
    int rc = mo_up_get_object_done(up, err);
    if (rc < 0)
        mo_up_free(up);
    else
        pool_put(u, up);
    return rc;
}

static void *pf_thread(void *arg)
{
    pf_slot *sl = arg;
    pf_lane *L = sl->lane;
    memset(&sl->err, 0, sizeof(sl->err));
    sl->rc = hold_chunk(L->u, L->o, sl->k, sl->n, &sl->up, &sl->data, &sl->err);
    return NULL;
}

/* bytes of chunk k (1-based) of o */
static size_t chunk_len(const up_src *u, const up_obj *o, int64_t k)
{
    uint64_t off = (uint64_t)(k - 1) * u->chunk;
    return (size_t)(o->size - off < u->chunk ? o->size - off : u->chunk);
}

/* Waits for the lane's prefetches and drops them (their rows with them). Called by the lane's
 * owner only. */
static void lane_discard(pf_lane *L, bool stale)
{
    up_src *u = L->u;
    for (unsigned i = 0; i < u->depth; i++) {
        pf_slot *sl = &L->slot[i];
        if (!sl->k)
            continue;
        pthread_join(sl->th, NULL);
        if (sl->up)
            chunk_done(u, sl->up, NULL);
        sl->up = NULL;
        sl->k = 0;
        L->inflight--;
        if (stale) {
            pthread_mutex_lock(&u->mu);
            u->st.discarded++;
            pthread_mutex_unlock(&u->mu);
        }
    }
    L->next = 0;
}

static void lane_release(pf_lane *L, bool stale)
{
    lane_discard(L, stale);
    pthread_mutex_lock(&L->u->mu);
    L->used = false;
    L->o = NULL;
    pthread_mutex_unlock(&L->u->mu);
}

/* The lane of object o (the copier reads one object from one thread), a free one, or NULL. */
static pf_lane *lane_get(up_src *u, const up_obj *o)
{
    pf_lane *L = NULL, *fr = NULL;
    pthread_mutex_lock(&u->mu);
    if (!u->lanes) {
        u->lanes = mo_calloc(PF_LANES, sizeof(*u->lanes));
        for (unsigned i = 0; u->lanes && i < PF_LANES; i++) {
            u->lanes[i].u = u;
            for (unsigned j = 0; j < PF_MAX; j++)
                u->lanes[i].slot[j].lane = &u->lanes[i];
        }
    }
    for (unsigned i = 0; u->lanes && i < PF_LANES && !L; i++) {
        if (u->lanes[i].used && u->lanes[i].o == o)
            L = &u->lanes[i];
        else if (!u->lanes[i].used && !fr)
            fr = &u->lanes[i];
    }
    if (!L && fr) {
        L = fr;
        L->used = true;
        L->o = o;
        L->next = 0;
    }
    pthread_mutex_unlock(&u->mu);
    return L;
}

/* Starts prefetches of chunks k+1..k+D that are not in flight yet. */
static void lane_launch(pf_lane *L, int64_t k)
{
    up_src *u = L->u;
    const up_obj *o = L->o;
    for (int64_t j = k + 1; j <= k + (int64_t)u->depth && j <= o->chunks; j++) {
        pf_slot *sl = &L->slot[j % u->depth];
        if (sl->k == j)
            continue;
        if (sl->k) /* not expected: the lane keeps k+1..k+D only */
            lane_discard(L, true);
        sl->k = j;
        sl->n = chunk_len(u, o, j);
        sl->up = NULL;
        if (pthread_create(&sl->th, NULL, pf_thread, sl) != 0) {
            sl->k = 0;
            return; /* no thread: the copier's read fetches it itself */
        }
        L->inflight++;
        pthread_mutex_lock(&u->mu);
        u->st.launched++;
        if (L->inflight > u->st.peak_inflight)
            u->st.peak_inflight = L->inflight;
        pthread_mutex_unlock(&u->mu);
    }
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

static int up_borrow(mo_src *s, const char *name, uint64_t off, size_t n, const void **p,
                     void **token, mo_err *err)
{
    *p = NULL;
    *token = NULL;
    up_src *u = s->ctx;
    up_obj key;
    snprintf(key.name, sizeof(key.name), "%s", name);
    const up_obj *o = u->n ? bsearch(&key, u->objs, u->n, sizeof(*u->objs), cmp_obj) : NULL;
    if (!o)
        return mo_err_set(err, MO_ENOTFOUND, "%.60s: not in the %s object list", name,
                          u->given ? "iteration's" : "upstream's");
    uint64_t c = u->chunk;
    if (!c || off % c || off >= o->size)
        return mo_err_set(err, MO_EINVAL, "%s: read at %" PRIu64 " is not at a chunk boundary of %"
                          PRIu64, name, off, c);
    uint64_t want = o->size - off < c ? o->size - off : c;
    if (n != want)
        return mo_err_set(err, MO_EINVAL, "%s: read of %zu bytes at %" PRIu64 ", the chunk has %"
                          PRIu64, name, n, off, want);
    up_lend *lend = mo_calloc(1, sizeof(*lend));
    if (!lend)
        return mo_err_set(err, MO_ENOMEM, "%s: borrow", name);
    int64_t k = (int64_t)(off / c) + 1;
    pf_lane *L = u->depth && o->chunks > 1 ? lane_get(u, o) : NULL;
    if (L && L->next != k)
        lane_discard(L, true); /* resume, retry, restart: prefetches of other chunks are stale */
    bool got = false;
    int rc = MO_OK;
    pthread_mutex_lock(&u->mu);
    if (u->cache && k == 1 && !strcmp(u->cache_name, name) && u->cache_len == n) {
        lend->own = u->cache; /* counted when it was received */
        u->cache = NULL;
        *p = lend->own;
        got = true;
    }
    pthread_mutex_unlock(&u->mu);
    pf_slot *sl = L && !got ? &L->slot[k % u->depth] : NULL;
    if (sl && sl->k == k) {
        pthread_join(sl->th, NULL);
        sl->k = 0;
        L->inflight--;
        got = true;
        rc = sl->rc;
        if (rc < 0) {
            *err = sl->err;
        } else {
            lend->up = sl->up;
            *p = sl->data;
            count(s, u, n);
        }
        sl->up = NULL;
        pthread_mutex_lock(&u->mu);
        u->st.handed++;
        pthread_mutex_unlock(&u->mu);
    }
    if (L && rc == MO_OK)
        lane_launch(L, k); /* before a synchronous fetch of k, so that they overlap with it */
    if (!got) {
        const uint8_t *d = NULL;
        if ((rc = hold_chunk(u, o, k, n, &lend->up, &d, err)) == MO_OK) {
            *p = d;
            count(s, u, n);
        }
    }
    if (L) {
        if (rc < 0 || k >= o->chunks)
            lane_release(L, rc < 0);
        else
            L->next = k + 1;
    }
    if (rc < 0) {
        mo_free(lend);
        return rc;
    }
    __atomic_add_fetch(&s->bytes_read, n, __ATOMIC_RELAXED);
    if (u->given && off + n == o->size)
        fetch_log(name);
    *token = lend;
    return MO_OK;
}

static int up_release(mo_src *s, void *token, mo_err *err)
{
    up_lend *lend = token;
    int rc = lend->up ? chunk_done(s->ctx, lend->up, err) : MO_OK;
    mo_free(lend->own);
    mo_free(lend);
    return rc;
}

static int up_read(mo_src *s, const char *name, uint64_t off, void *buf, size_t n, mo_err *err)
{
    const void *p;
    void *tok;
    int rc = up_borrow(s, name, off, n, &p, &tok, err);
    if (rc < 0)
        return rc;
    memcpy(buf, p, n);
    return up_release(s, tok, err);
}

void mo_src_mysql_prefetch_stats(mo_src *s, mo_src_mysql_pf_stats *out)
{
    up_src *u = s->ctx;
    pthread_mutex_lock(&u->mu);
    *out = u->st;
    out->depth = u->depth;
    pthread_mutex_unlock(&u->mu);
}

static const char *up_identity(mo_src *s)
{
    return ((up_src *)s->ctx)->identity;
}

static uint64_t up_chunk_size(mo_src *s)
{
    /* on failure 0: list() prepares again and reports the error */
    mo_err e = {0};
    return prepare(s, &e) == MO_OK ? ((up_src *)s->ctx)->chunk : 0;
}

static void up_free(mo_src *s)
{
    up_src *u = s->ctx;
    for (unsigned i = 0; u->lanes && i < PF_LANES; i++)
        lane_discard(&u->lanes[i], false); /* an object the copier gave up on */
    mo_free(u->lanes);
    for (unsigned i = 0; i < u->nidle; i++)
        mo_up_free(u->idle[i]);
    pthread_mutex_destroy(&u->mu);
    if (u->counter)
        munmap(u->counter, sizeof(uint64_t));
    if (u->password) {
        memset(u->password, 0, strlen(u->password));
        mo_free(u->password);
    }
    mo_free(u->cache);
    mo_free(u->objs);
    mo_free(u->identity);
    mo_free(u);
    mo_free(s);
}

static const struct mo_src_ops up_src_ops = {
    MO_SRC_OPS_VERSION, "mo",        MO_SRC_LIST | MO_SRC_SEEK | MO_SRC_CHUNKS, up_list, up_read,
    up_identity,        up_free,     up_chunk_size,                             up_borrow, up_release,
};

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    return *end || x > 3600000ul ? dflt : (unsigned)x;
}

/* A source handle before any setup (free with up_free): pool, lock, prefetch depth. */
static int src_alloc(mo_src **out, mo_err *err)
{
    *out = NULL;
    mo_src *s = mo_calloc(1, sizeof(*s));
    up_src *u = mo_calloc(1, sizeof(*u));
    if (!s || !u) {
        mo_free(s);
        mo_free(u);
        return mo_err_set(err, MO_ENOMEM, "mysql source");
    }
    pthread_mutex_init(&u->mu, NULL);
    s->ops = &up_src_ops;
    s->ctx = u;
    u->depth = env_uint("MO_UPSTREAM_PREFETCH", 2);
    if (u->depth > PF_MAX)
        u->depth = PF_MAX;
    *out = s;
    return MO_OK;
}

int mo_src_mysql__open_given(mo_src **out, const char *uri, const char *password,
                             const mo_up_opts *opts, const char *pubacct, const char *pubname,
                             const mo_sync_want *want, size_t n, mo_err *err)
{
    *out = NULL;
    mo_src *s;
    int rc = src_alloc(&s, err);
    if (rc < 0)
        return rc;
    up_src *u = s->ctx;
    u->given = true;
    mo_up *up = NULL;
    if (strlen(uri) >= sizeof(u->base) || strlen(pubacct) >= sizeof(u->uri.pubacct) ||
        strlen(pubname) >= sizeof(u->uri.pubname)) {
        rc = mo_err_set(err, MO_EINVAL, "sync source: URI or publication name too long");
        goto fail;
    }
    snprintf(u->base, sizeof(u->base), "%s", uri);
    snprintf(u->uri.pubacct, sizeof(u->uri.pubacct), "%s", pubacct);
    snprintf(u->uri.pubname, sizeof(u->uri.pubname), "%s", pubname);
    if (opts)
        u->opts = *opts;
    u->password = password ? mo_strdup(password) : NULL;
    u->objs = mo_calloc(n ? n : 1, sizeof(*u->objs));
    if ((password && !u->password) || !u->objs) {
        rc = mo_err_set(err, MO_ENOMEM, "sync source");
        goto fail;
    }
    if (n && (rc = pool_get(u, &up, err)) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if ((rc = obj_add(u, up, want[i].name, want[i].stats, err)) < 0)
            goto fail;
    if ((rc = objs_sort(u, err)) < 0)
        goto fail;
    if (u->n && (rc = learn_chunk(u, up, err)) < 0)
        goto fail;
    if (!u->n)
        u->chunk = 1;
    if (up)
        pool_put(u, up);
    u->prepared = true;
    *out = s;
    return MO_OK;
fail:
    mo_up_free(up);
    up_free(s);
    return rc;
}

int mo_src_mysql__set_identity(mo_src *s, const char *identity, mo_err *err)
{
    up_src *u = s->ctx;
    char *id = mo_strdup(identity);
    if (!id)
        return mo_err_set(err, MO_ENOMEM, "source identity");
    mo_free(u->identity);
    u->identity = id;
    return MO_OK;
}

int mo_src_mysql_open(mo_src **out, const char *spec, mo_err *err)
{
    *out = NULL;
    mo_src *s;
    int rc = src_alloc(&s, err);
    if (rc < 0)
        return rc;
    up_src *u = s->ctx;
    rc = mo_up_uri_parse(&u->uri, spec, err);
    if (rc < 0)
        goto fail;
    if (u->uri.has_password) {
        rc = mo_err_set(err, MO_EINVAL, "the source spec must not carry a password: set "
                                        "MO_UPSTREAM_PASSWORD or MO_UPSTREAM_PASSWORD_FILE");
        goto fail;
    }
    if (!u->uri.pubacct[0]) {
        rc = mo_err_set(err, MO_EINVAL, "mysql source: want mysql://[acct#]user@host:port/"
                                        "<pubacct>/<pubname>[?snapshot=<name>]");
        goto fail;
    }
    if ((rc = mo_up_password_from_env(&u->password, err)) < 0)
        goto fail;
    if (u->uri.account[0])
        snprintf(u->base, sizeof(u->base), "mysql://%s#%s@%s:%u", u->uri.account, u->uri.user,
                 u->uri.host, u->uri.port);
    else
        snprintf(u->base, sizeof(u->base), "mysql://%s@%s:%u", u->uri.user, u->uri.host,
                 u->uri.port);
    if (u->uri.snapshot[0])
        snprintf(u->snaps, sizeof(u->snaps), "%s", u->uri.snapshot);
    u->chunk = u->uri.chunk;
    u->opts.max_attempts = env_uint("MO_UPSTREAM_ATTEMPTS", 0);
    u->opts.backoff_base_ms = env_uint("MO_UPSTREAM_BACKOFF_MS", 0);
    u->opts.backoff_cap_ms = env_uint("MO_UPSTREAM_BACKOFF_CAP_MS", 0);
    u->opts.read_timeout = env_uint("MO_UPSTREAM_TIMEOUT", 0);
    u->opts.connect_timeout = u->opts.write_timeout = u->opts.read_timeout;
    const char *ca = getenv("MO_UPSTREAM_SSL_CA"), *mode = getenv("MO_UPSTREAM_SSL_MODE");
    if (ca && *ca) {
        snprintf(u->ssl_ca, sizeof(u->ssl_ca), "%s", ca);
        u->opts.ssl_ca = u->ssl_ca;
    }
    if (mode && *mode) {
        snprintf(u->ssl_mode, sizeof(u->ssl_mode), "%s", mode);
        u->opts.ssl_mode = u->ssl_mode;
    }
    /* the spec's ?ssl-mode=&ssl-ca= when no --ssl-* flag overrides them */
    if (!u->opts.ssl_ca && u->uri.ssl_ca[0])
        u->opts.ssl_ca = u->uri.ssl_ca;
    if (!u->opts.ssl_mode && u->uri.ssl_mode[0])
        u->opts.ssl_mode = u->uri.ssl_mode;
    if ((rc = set_identity(u, err)) < 0)
        goto fail;
    /* connect now: wrong credentials or an unreachable upstream fail at open */
    mo_up *up;
    if ((rc = pool_get(u, &up, err)) < 0)
        goto fail;
    pool_put(u, up);
#ifdef MO_FAULT_INJECTION
    const char *cpath = getenv("MO_TEST_READ_COUNTER");
    if (cpath && *cpath) {
        int cfd = mo_sys_open(cpath, O_RDWR | O_CREAT, 0644);
        if (cfd >= 0 && ftruncate(cfd, sizeof(uint64_t)) == 0) {
            void *m = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
            if (m != MAP_FAILED)
                u->counter = m;
        }
        if (cfd >= 0)
            mo_sys_close(cfd);
    }
#endif
    *out = s;
    return MO_OK;
fail:
    up_free(s);
    return rc;
}
