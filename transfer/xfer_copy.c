/* The chunked copier. Per object: resume what the journal and the `.part` file agree on
 * (re-hashing the local prefix, which also rebuilds the whole-object XXH3-128), fetch the
 * missing chunks (XXH3-64 each as it arrives, retried with backoff on MO_EAGAIN), make each
 * chunk durable and journal it before the next, check the length and the source's digest,
 * verify the object, then publish it (fsync, rename, fsync dir) and journal it as done.
 * Memory: one chunk buffer per worker, whatever the object size. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mo/sys.h"
#include "xfer_ckpt.h"

typedef struct xfer {
    mo_src *src;
    mo_sink *sink;
    mo_xfer_opts o;
    mo_ckpt *ck; /* NULL without a journal */
    mo_obj_ref *refs;
    size_t n;
    size_t next;
    pthread_mutex_t mu; /* next, stats, journal, first error, progress */
    mo_xfer_stats *st;
    int rc;
    mo_err err;
    double t0, last_progress;
    uint64_t bytes_done; /* objects' bytes accounted as done (copied, skipped, resumed) */
    uint64_t objects_done;
    bool have_first_byte;
    size_t piece; /* I/O piece inside a chunk (0 = whole chunks: chunked sources) */
} xfer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static void progress(xfer *x, bool final)
{
    /* under x->mu */
    double t = now_s();
    if (!x->o.progress || (!final && t - x->last_progress < (x->o.progress == 2 ? 1.0 : 0.5)))
        return;
    x->last_progress = t;
    double dt = t - x->t0;
    double rate = dt > 0 ? (double)x->st->bytes_copied / dt : 0;
    uint64_t left = x->st->bytes_total > x->bytes_done ? x->st->bytes_total - x->bytes_done : 0;
    double eta = rate > 0 ? (double)left / rate : -1;
    if (x->o.progress == 2)
        fprintf(stderr,
                "{\"event\":\"%s\",\"t\":%.3f,\"objects_done\":%" PRIu64 ",\"objects_total\":%" PRIu64
                ",\"bytes_done\":%" PRIu64 ",\"bytes_total\":%" PRIu64 ",\"bytes_fetched\":%" PRIu64
                ",\"rate_bps\":%.0f,\"eta_s\":%.1f}\n",
                final ? "done" : "progress", dt, x->objects_done, x->st->objects_total,
                x->bytes_done, x->st->bytes_total, x->st->bytes_copied, rate, eta);
    else
        fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " objects  %.1f/%.1f MB  %.1f MB/s  ETA %.0fs   %s",
                x->objects_done, x->st->objects_total, x->bytes_done / 1e6,
                x->st->bytes_total / 1e6, rate / 1e6, eta < 0 ? 0 : eta, final ? "\n" : "");
}

static void account(xfer *x, uint64_t fetched, uint64_t done_bytes, bool object_done)
{
    pthread_mutex_lock(&x->mu);
    x->st->bytes_copied += fetched;
    x->bytes_done += done_bytes;
    if (object_done)
        x->objects_done++;
    if (fetched && !x->have_first_byte) {
        x->have_first_byte = true;
        x->st->first_byte_seconds = now_s() - x->t0;
    }
    progress(x, false);
    pthread_mutex_unlock(&x->mu);
}

/* The pause before retry @p a of a transient failure: exponential backoff + jitter. */
static void retry_pause(unsigned a)
{
    double back = 0.1 * (double)(1u << (a < 6 ? a : 6));
    if (back > 5)
        back = 5;
    sleep_s(back * (0.5 + (double)(rand() % 1000) / 1000.0));
}

/* Reads from the source, retrying transient failures. */
static int src_read_retry(xfer *x, const char *name, uint64_t off, void *buf, size_t n, mo_err *err)
{
    unsigned tries = x->o.retries ? x->o.retries : 5;
    for (unsigned a = 0;; a++) {
        int rc = x->src->ops->read(x->src, name, off, buf, n, err);
        if (rc != MO_EAGAIN || a >= tries)
            return rc;
        retry_pause(a);
    }
}

#define IO_PIECE ((size_t)256 << 10) /* hash and write granule: stays in a core's cache */

/* Hashes (chunk XXH3-64, object XXH3-128) and writes bytes [off, off+n) held at @p p, piece by
 * piece, so that each byte is read from memory once and hashed and written from the cache. */
static int hash_write(xfer *x, mo_sink_obj *so, uint64_t off, const uint8_t *p, size_t n,
                      mo_xxh3_64_stream *ch64, mo_xxh3_stream *hs, mo_err *err)
{
    for (size_t done = 0; done < n;) {
        const size_t k = n - done < IO_PIECE ? n - done : IO_PIECE;
        mo_xxh3_64_stream_update(ch64, p + done, k);
        mo_xxh3_stream_update(hs, p + done, k);
        int rc = x->sink->ops->write(so, off + done, p + done, k, err);
        if (rc < 0)
            return rc;
        done += k;
    }
    return MO_OK;
}

/* One whole chunk: borrowed from the source when it lends its bytes (no copy into @p buf),
 * else read into @p buf; then hashed and written (hash_write; ch64 is reset here). A failed
 * release (the source learnt after the bytes that the reply was bad) restores the object hash
 * from @p save and, when transient, fetches the chunk again like src_read_retry. */
static int fetch_chunk(xfer *x, mo_sink_obj *so, const char *name, uint64_t off, size_t n,
                       uint8_t *buf, mo_xxh3_64_stream *ch64, mo_xxh3_stream *hs,
                       mo_xxh3_stream *save, mo_err *err)
{
    const struct mo_src_ops *ops = x->src->ops;
    mo_xxh3_64_stream_reset(ch64);
    if (ops->version < 3 || !ops->borrow || !ops->release) {
        int rc = src_read_retry(x, name, off, buf, n, err);
        return rc < 0 ? rc : hash_write(x, so, off, buf, n, ch64, hs, err);
    }
    const unsigned tries = x->o.retries ? x->o.retries : 5;
    mo_xxh3_stream_copy(save, hs);
    for (unsigned a = 0;; a++) {
        const void *p;
        void *tok;
        int rc = ops->borrow(x->src, name, off, n, &p, &tok, err);
        if (rc == MO_OK) {
            rc = hash_write(x, so, off, p, n, ch64, hs, err);
            mo_err rel_err;
            mo_err_clear(&rel_err);
            const int rel = ops->release(x->src, tok, &rel_err);
            if (rc < 0)
                return rc; /* the sink failed: not the source's fault, not retried */
            if ((rc = rel) < 0) {
                if (err)
                    *err = rel_err;
                mo_xxh3_stream_copy(hs, save);
                mo_xxh3_64_stream_reset(ch64);
            }
        }
        if (rc != MO_EAGAIN || a >= tries)
            return rc;
        retry_pause(a);
    }
}

/* Keeps the aggregate rate under --bwlimit. */
static void throttle(xfer *x)
{
    if (!x->o.bwlimit)
        return;
    pthread_mutex_lock(&x->mu);
    double want = (double)x->st->bytes_copied / (double)x->o.bwlimit;
    double have = now_s() - x->t0;
    pthread_mutex_unlock(&x->mu);
    sleep_s(want - have);
}

static int journal_chunk(xfer *x, const char *name, uint32_t idx, uint64_t off, uint32_t len,
                         uint64_t h, mo_err *err)
{
    if (!x->ck)
        return MO_OK;
    pthread_mutex_lock(&x->mu);
    int rc = mo_ckpt_chunk(x->ck, name, idx, off, len, h, err);
    pthread_mutex_unlock(&x->mu);
    return rc;
}

static int journal_sync(xfer *x, mo_err *err)
{
    pthread_mutex_lock(&x->mu);
    int rc = mo_ckpt_sync(x->ck, err);
    pthread_mutex_unlock(&x->mu);
    return rc;
}

/* Snapshot of the journal's chunk records of @p name (copied out under the lock). */
static int journal_chunks(xfer *x, const char *name, struct mo_ckpt_chunk **out, uint32_t *n,
                          bool *done, mo_digest128 *digest)
{
    *out = NULL;
    *n = 0;
    *done = false;
    if (!x->ck)
        return MO_OK;
    pthread_mutex_lock(&x->mu);
    const mo_ckpt_obj *o = mo_ckpt_get(x->ck, name);
    int rc = MO_OK;
    if (o) {
        *done = o->done;
        *digest = o->digest;
        if (o->nchunks) {
            *out = mo_malloc(o->nchunks * sizeof(**out));
            if (*out) {
                memcpy(*out, o->chunk, o->nchunks * sizeof(**out));
                *n = o->nchunks;
            } else {
                rc = MO_ENOMEM;
            }
        }
    }
    pthread_mutex_unlock(&x->mu);
    return rc;
}

static bool journal_says_published(xfer *x, const mo_obj_ref *ref)
{
    if (!x->ck || x->o.unsynced_sink)
        return false; /* unsynced: a claim only, same_final re-hashes against its digest */
    pthread_mutex_lock(&x->mu);
    const mo_ckpt_obj *o = mo_ckpt_get(x->ck, ref->name);
    bool done = o && o->done && o->size == ref->size &&
                (!ref->has_digest || (o->digest.lo == ref->digest.lo && o->digest.hi == ref->digest.hi));
    pthread_mutex_unlock(&x->mu);
    return done;
}

/* A published object of the right size: is it the same object? Compare digests (journal,
 * source manifest) or, failing those, the journal's chunk hashes, else hash the source. */
static int same_final(xfer *x, const mo_obj_ref *ref, uint8_t *buf, bool *same, mo_err *err)
{
    *same = false;
    struct mo_ckpt_chunk *ch;
    uint32_t nch;
    bool done;
    mo_digest128 jd = {0, 0};
    if (journal_chunks(x, ref->name, &ch, &nch, &done, &jd) < 0)
        return mo_err_set(err, MO_ENOMEM, "journal snapshot");
    uint64_t chunk = x->o.chunk_size;
    uint64_t want_chunks = (ref->size + chunk - 1) / chunk;
    bool chunks_known = nch == want_chunks && want_chunks > 0;
    for (uint32_t i = 0; chunks_known && i < nch; i++)
        if (!ch[i].len)
            chunks_known = false;
    mo_xxh3_stream *hs = NULL, *hsrc = NULL;
    int rc = mo_xxh3_stream_new(&hs);
    bool need_src = !done && !ref->has_digest && !chunks_known;
    if (rc == MO_OK && need_src)
        rc = mo_xxh3_stream_new(&hsrc);
    if (rc < 0) {
        mo_free(ch);
        mo_xxh3_stream_free(hs);
        return mo_err_set(err, MO_ENOMEM, "hash state");
    }
    bool chunks_match = chunks_known;
    for (uint64_t off = 0, i = 0; off < ref->size && rc == MO_OK; off += chunk, i++) {
        size_t n = ref->size - off < chunk ? (size_t)(ref->size - off) : (size_t)chunk;
        if ((rc = x->sink->ops->read_final(x->sink, ref->name, off, buf, n, err)) < 0)
            break;
        mo_xxh3_stream_update(hs, buf, n);
        if (chunks_known && mo_xxh3_64(buf, n) != ch[i].hash)
            chunks_match = false;
        if (need_src) {
            /* the sink copy is in buf; hash the source piece through the tail of buf */
            uint8_t *sb = mo_malloc(n);
            if (!sb) {
                rc = mo_err_set(err, MO_ENOMEM, "source buffer");
                break;
            }
            rc = src_read_retry(x, ref->name, off, sb, n, err);
            if (rc == MO_OK)
                mo_xxh3_stream_update(hsrc, sb, n);
            mo_free(sb);
        }
    }
    if (rc == MO_OK) {
        mo_digest128 d = mo_xxh3_stream_digest(hs);
        if (done)
            *same = d.lo == jd.lo && d.hi == jd.hi;
        else if (ref->has_digest)
            *same = d.lo == ref->digest.lo && d.hi == ref->digest.hi;
        else if (chunks_known)
            *same = chunks_match;
        else {
            mo_digest128 s = mo_xxh3_stream_digest(hsrc);
            *same = d.lo == s.lo && d.hi == s.hi;
        }
        if (*same && x->ck && !done) {
            pthread_mutex_lock(&x->mu);
            rc = mo_ckpt_done(x->ck, ref->name, ref->size, d, !x->o.unsynced_sink, err);
            pthread_mutex_unlock(&x->mu);
        }
    }
    mo_free(ch);
    mo_xxh3_stream_free(hs);
    mo_xxh3_stream_free(hsrc);
    return rc;
}

static int verify_part(xfer *x, mo_sink_obj *so, const mo_obj_ref *ref, mo_err *err)
{
    if (!x->o.verify_level)
        return MO_OK;
    const char *path = x->sink->ops->part_path(so);
    if (!path)
        return MO_OK;
    mo_obj_stats st;
    mo_obj_verify_opts vo = {x->o.verify_level, NULL, -1, 10};
    if (ref->has_stats && mo_obj_stats_decode(&st, ref->stats, NULL) == MO_OK)
        vo.stats = &st;
    mo_obj_verify_result res;
    mo_err e = {0};
    int rc = mo_obj_verify_file(&res, path, &vo, NULL, NULL, &e);
    if (rc == MO_OK)
        return MO_OK;
    if (rc == MO_ENOMEM || rc == MO_EIO)
        return mo_err_set(err, rc, "%s: verifying: %s", ref->name, e.msg);
    return mo_err_set(err, MO_ECORRUPT,
                      "%s: fetched object fails %s verification (%u problems, first %s); not "
                      "published",
                      ref->name,
                      x->o.verify_level == MO_OBJ_LEVEL_DEEP ? "deep"
                      : x->o.verify_level == MO_OBJ_LEVEL_STRUCT ? "struct" : "frame",
                      res.problems, mo_code_name(res.first_code));
}

/* An assembled object proved bad (digest or verification): its journal records and part go,
 * so that the next attempt fetches it from the start instead of resuming the bad bytes. */
static void forget_part(xfer *x, mo_sink_obj *so, const mo_obj_ref *ref)
{
    if (x->ck) {
        pthread_mutex_lock(&x->mu);
        mo_ckpt_forget(x->ck, ref->name, 0);
        pthread_mutex_unlock(&x->mu);
    }
    x->sink->ops->truncate(so, 0, NULL);
}

static int copy_object(xfer *x, const mo_obj_ref *ref, uint8_t *buf, mo_err *err)
{
    uint64_t have;
    int rc = x->sink->ops->stat(x->sink, ref->name, &have, err);
    if (rc == MO_OK && have == ref->size && journal_says_published(x, ref)) {
        /* the journal's DONE record is written only after the digest was computed from the
         * bytes written and the rename was durable: no need to read the object again */
        pthread_mutex_lock(&x->mu);
        x->st->objects_skipped++;
        pthread_mutex_unlock(&x->mu);
        account(x, 0, ref->size, true);
        return MO_OK;
    }
    if (rc == MO_OK && have == ref->size) {
        bool same;
        if ((rc = same_final(x, ref, buf, &same, err)) < 0)
            return rc;
        if (same) {
            pthread_mutex_lock(&x->mu);
            x->st->objects_skipped++;
            pthread_mutex_unlock(&x->mu);
            account(x, 0, ref->size, true);
            return MO_OK;
        }
        /* same name, other bytes: the published copy is damaged; fetch and replace it */
    } else if (rc < 0 && rc != MO_ENOTFOUND) {
        return rc;
    }
    mo_sink_obj *so;
    uint64_t part;
    if ((rc = x->sink->ops->begin(x->sink, &so, ref, &part, err)) < 0)
        return rc;
    mo_xxh3_stream *hs = NULL, *save = NULL;
    mo_xxh3_64_stream *ch64 = NULL;
    struct mo_ckpt_chunk *ch = NULL;
    uint32_t nch = 0;
    bool done_rec;
    mo_digest128 jd;
    if (mo_xxh3_stream_new(&hs) < 0 || mo_xxh3_stream_new(&save) < 0 ||
        mo_xxh3_64_stream_new(&ch64) < 0 ||
        journal_chunks(x, ref->name, &ch, &nch, &done_rec, &jd) < 0) {
        rc = mo_err_set(err, MO_ENOMEM, "%s: resume state", ref->name);
        goto out;
    }
    const uint64_t chunk = x->o.chunk_size;
    const uint64_t total_chunks = ref->size ? (ref->size + chunk - 1) / chunk : 0;
    uint64_t fetched = 0, rehashed = 0, refetched = 0;
    bool resumed = false;
    double last_sync = now_s();
    for (uint64_t idx = 0; idx < total_chunks; idx++) {
        uint64_t off = idx * chunk;
        size_t n = ref->size - off < chunk ? (size_t)(ref->size - off) : (size_t)chunk;
        /* the journal says this chunk is in the part: re-hash the local copy */
        if (idx < nch && ch[idx].len == n && ch[idx].off == off && off + n <= part) {
            if ((rc = x->sink->ops->read(so, off, buf, n, err)) < 0)
                goto out;
            rehashed += n;
            if (mo_xxh3_64(buf, n) == ch[idx].hash) {
                mo_xxh3_stream_update(hs, buf, n);
                resumed = true;
                continue;
            }
            refetched++;
            fprintf(stderr, "mosync: %s: chunk %" PRIu64 " of the part file fails its digest; "
                            "fetching it again\n", ref->name, idx);
        }
        if (x->piece && n > x->piece) {
            /* seekable sources: read, hash and write in cache-sized pieces; the chunk stays
             * the unit of checksums and journal records */
            mo_xxh3_64_stream_reset(ch64);
            for (size_t done = 0; done < n;) {
                size_t k = n - done < x->piece ? n - done : x->piece;
                if ((rc = src_read_retry(x, ref->name, off + done, buf, k, err)) < 0 ||
                    (rc = hash_write(x, so, off + done, buf, k, ch64, hs, err)) < 0)
                    goto out;
                done += k;
            }
        } else if ((rc = fetch_chunk(x, so, ref->name, off, n, buf, ch64, hs, save, err)) < 0) {
            goto out;
        }
        const uint64_t h = mo_xxh3_64_stream_digest(ch64);
        fetched += n;
        if (x->sink->ops->version >= 2 && x->sink->ops->flush &&
            (rc = x->sink->ops->flush(so, err)) < 0)
            goto out; /* the chunk's bytes are in the part before its record */
        if (x->ck) {
            /* written after the chunk: a killed process loses at most the chunk in flight */
            if ((rc = journal_chunk(x, ref->name, (uint32_t)idx, off, (uint32_t)n, h, err)) < 0)
                goto out;
            /* bound what a power loss can take: the journal (tiny) is fsynced about once a
             * second. The part is not: its chunks are re-hashed against these records on
             * resume, so a record whose bytes did not reach the disk only costs a re-fetch,
             * and a synchronous fsync here stalled the copy (+55% at -j 1 in the bench) */
            double t = now_s();
            if (t - last_sync >= 1.0) {
                if ((rc = journal_sync(x, err)) < 0)
                    goto out;
                last_sync = t;
            }
        }
        account(x, n, n, false);
        throttle(x);
    }
    if (part > ref->size && (rc = x->sink->ops->truncate(so, ref->size, err)) < 0)
        goto out;
    mo_digest128 d = mo_xxh3_stream_digest(hs);
    if (ref->has_digest && (d.lo != ref->digest.lo || d.hi != ref->digest.hi)) {
        char a[33], b[33];
        mo_digest128_hex(a, d);
        mo_digest128_hex(b, ref->digest);
        rc = mo_err_set(err, MO_ECHECKSUM, "%s: assembled object has XXH3-128 %s, source says %s",
                        ref->name, a, b);
        forget_part(x, so, ref);
        goto out;
    }
    if ((rc = verify_part(x, so, ref, err)) < 0) {
        if (rc == MO_ECORRUPT)
            forget_part(x, so, ref); /* the chunk records hash the bad bytes: fetch anew */
        goto out;
    }
    rc = x->sink->ops->commit(so, err);
    so = NULL;
    if (rc == MO_OK && x->ck) {
        pthread_mutex_lock(&x->mu);
        rc = mo_ckpt_done(x->ck, ref->name, ref->size, d, !x->o.unsynced_sink, err);
        pthread_mutex_unlock(&x->mu);
    }
    if (rc == MO_OK && x->o.on_published)
        x->o.on_published(x->o.payload, ref, d);
    if (rc == MO_OK) {
        pthread_mutex_lock(&x->mu);
        x->st->objects_copied++;
        x->st->objects_resumed += resumed;
        x->st->bytes_rehashed += rehashed;
        x->st->chunks_refetched += refetched;
        pthread_mutex_unlock(&x->mu);
        account(x, 0, ref->size - fetched, true);
    }
out:
    if (so)
        x->sink->ops->close(so);
    mo_free(ch);
    mo_xxh3_stream_free(hs);
    mo_xxh3_stream_free(save);
    mo_xxh3_64_stream_free(ch64);
    return rc;
}

static void *worker(void *arg)
{
    xfer *x = arg;
    uint8_t *buf = mo_malloc((size_t)x->o.chunk_size);
    mo_err err = {0};
    if (!buf) {
        pthread_mutex_lock(&x->mu);
        if (x->rc == MO_OK) {
            x->rc = MO_ENOMEM;
            mo_err_set(&x->err, MO_ENOMEM, "chunk buffer of %" PRIu64 " bytes", x->o.chunk_size);
        }
        pthread_mutex_unlock(&x->mu);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&x->mu);
        size_t i = x->rc == MO_OK && x->next < x->n ? x->next++ : x->n;
        pthread_mutex_unlock(&x->mu);
        if (i >= x->n)
            break;
        int rc = copy_object(x, &x->refs[i], buf, &err);
        if (rc < 0) {
            pthread_mutex_lock(&x->mu);
            if (x->rc == MO_OK) {
                x->rc = rc;
                x->err = err;
            }
            pthread_mutex_unlock(&x->mu);
            break;
        }
    }
    mo_free(buf);
    return NULL;
}

typedef struct list_ctx {
    mo_obj_ref *refs;
    size_t n, cap;
} list_ctx;

static int collect_ref(const mo_obj_ref *ref, void *payload)
{
    list_ctx *l = payload;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        mo_obj_ref *r = mo_realloc(l->refs, cap * sizeof(*r));
        if (!r)
            return -1;
        l->refs = r;
        l->cap = cap;
    }
    l->refs[l->n++] = *ref;
    return 0;
}

int mo_xfer_run(mo_xfer_stats *st, mo_src *src, mo_sink *sink, const mo_xfer_opts *opts,
                mo_err *err)
{
    memset(st, 0, sizeof(*st));
    xfer x;
    memset(&x, 0, sizeof(x));
    x.src = src;
    x.sink = sink;
    x.o = *opts;
    if ((src->ops->caps & MO_SRC_CHUNKS) && src->ops->version >= 2 && src->ops->chunk_size) {
        /* the source decides: each copier chunk must be one upstream chunk */
        uint64_t cs = src->ops->chunk_size(src);
        if (cs)
            x.o.chunk_size = cs;
    }
    if (!x.o.chunk_size)
        x.o.chunk_size = 8u << 20;
    if (!x.o.jobs)
        x.o.jobs = 1;
    if (!(src->ops->caps & MO_SRC_SEEK))
        x.o.jobs = 1; /* sequential sources serve one object at a time, in order */
    /* 8 MiB buffers fall out of the CPU caches between read, hash and write (the seed
     * benchmark measured 4x the kernel time): move seekable sources' bytes in 256 KiB */
    if ((src->ops->caps & MO_SRC_SEEK) && !(src->ops->caps & MO_SRC_CHUNKS))
        x.piece = 256u << 10;
    x.st = st;
    x.t0 = now_s();
    list_ctx l = {0};
    int rc = src->ops->list(src, collect_ref, &l, &st->ignored, err);
    if (rc < 0) {
        mo_free(l.refs);
        return rc == MO_EUSER ? mo_err_set(err, MO_ENOMEM, "listing the source") : rc;
    }
    x.refs = l.refs;
    x.n = l.n;
    st->objects_total = l.n;
    /* the job's identity: source, object list (names and sizes), chunk size */
    mo_xxh3_stream *hs;
    if (mo_xxh3_stream_new(&hs) < 0) {
        mo_free(l.refs);
        return mo_err_set(err, MO_ENOMEM, "hash state");
    }
    for (size_t i = 0; i < l.n; i++) {
        uint8_t sz[8];
        mo_store_le64(sz, l.refs[i].size);
        mo_xxh3_stream_update(hs, l.refs[i].name, MO_OBJ_NAME_STR_LEN);
        mo_xxh3_stream_update(hs, sz, 8);
        st->bytes_total += l.refs[i].size;
    }
    mo_ckpt_job job = {src->ops->identity(src), mo_xxh3_stream_digest(hs), l.n, x.o.chunk_size};
    mo_xxh3_stream_free(hs);
    if (x.o.journal) {
        const char *sd = sink->ops->state_dir(sink);
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/ckpt", sd ? sd : ".");
        uint64_t torn = 0;
        if ((rc = mo_ckpt_open(&x.ck, dir, &job, &torn, err)) < 0) {
            mo_free(l.refs);
            return rc;
        }
        if (torn)
            fprintf(stderr, "mosync: %s/journal: %" PRIu64 " bytes of torn or corrupt tail "
                            "dropped; their chunks will be checked or fetched again\n", dir, torn);
    }
    pthread_mutex_init(&x.mu, NULL);
    pthread_t tids[64];
    unsigned started = 0;
    for (unsigned t = 1; t < x.o.jobs && t < 64; t++)
        if (pthread_create(&tids[started], NULL, worker, &x) == 0)
            started++;
    worker(&x);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    rc = x.rc;
    if (rc < 0 && err)
        *err = x.err;
    if (rc == MO_OK && x.ck)
        rc = mo_ckpt_job_done(x.ck, err);
    pthread_mutex_lock(&x.mu);
    progress(&x, true);
    pthread_mutex_unlock(&x.mu);
    pthread_mutex_destroy(&x.mu);
    mo_ckpt_free(x.ck);
    mo_free(x.refs);
    st->seconds = now_s() - x.t0;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        st->peak_rss_kb = (uint64_t)ru.ru_maxrss;
    return rc;
}

int mo_xfer_journal_source(char *out, size_t cap, mo_sink *sink, mo_err *err)
{
    const char *sd = sink->ops->state_dir(sink);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/ckpt", sd ? sd : ".");
    return mo_ckpt_peek_source(out, cap, dir, err);
}
