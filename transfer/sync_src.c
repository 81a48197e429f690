/* The iteration's copier source and sink. The source serves exactly the objects an
 * iteration's diff asks for (never a whole snapshot listing: a no-op round asks for none, an
 * incremental one costs one chunk-0 request per new object): it is the `mo` source of
 * src_mysql.c with a given object list (pool, chunk-size learning, prefetch, borrowed chunks),
 * under an identity naming the job and the list. The sink is a dir sink whose journal lives
 * in a per-subscription state directory, so parallel iterations never share a journal.
 * MO_TEST_FETCH_LOG (tests): each object whose last chunk was served is appended to that file
 * by name (an object fetched twice in full shows up twice; src_mysql.c writes it). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mo/hash.h"
#include "mo/sync.h"
#include "mo/upstream.h"
#include "sync_int.h"
#include "xfer_int.h"

int mo_sync_src_open(mo_src **out, const char *uri, const char *password, const char *pubacct,
                     const char *pubname, const mo_sync_want *want, size_t n, const char *job,
                     mo_err *err)
{
    *out = NULL;
    mo_up_opts o;
    mo_sync__up_opts(&o);
    mo_src *s;
    int rc = mo_src_mysql__open_given(&s, uri, password, &o, pubacct, pubname, want, n, err);
    if (rc < 0)
        return rc;
    mo_xxh3_stream *hs;
    if (mo_xxh3_stream_new(&hs) < 0) {
        mo_src_free(s);
        return mo_err_set(err, MO_ENOMEM, "hash state");
    }
    for (size_t i = 0; i < n; i++)
        mo_xxh3_stream_update(hs, want[i].name, MO_OBJ_NAME_STR_LEN);
    mo_digest128 d = mo_xxh3_stream_digest(hs);
    mo_xxh3_stream_free(hs);
    char hex[33], buf[1400];
    mo_digest128_hex(hex, d);
    snprintf(buf, sizeof(buf), "mo-sync:%s/%s/%s?job=%s&list=%s&chunk=%" PRIu64, uri, pubacct,
             pubname, job, hex, s->ops->chunk_size(s));
    if ((rc = mo_src_mysql__set_identity(s, buf, err)) < 0) {
        mo_src_free(s);
        return rc;
    }
    *out = s;
    return MO_OK;
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

int mo_sync_sink_open(mo_sink **out, const char *dir, const char *state_dir, bool direct,
                      mo_err *err)
{
    *out = NULL;
    mo_sink *inner;
    int rc = mo_sink_dir_open(&inner, dir, false, err);
    if (rc < 0)
        return rc;
    mo_sink_dir_set_unsynced(inner); /* the iteration flushes what it registers, in one batch */
    if (direct)
        mo_sink_dir_set_direct(inner, (uint64_t)1 << 20);
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
