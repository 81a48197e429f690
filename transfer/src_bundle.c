/* The `bundle` source and the bundle verifier: a tar written by mo_xfer_export, read with
 * libarchive through mo_sys (pread, so the fault seam applies), strictly sequentially.
 * Invariants: the manifest (first entry, trailer-checked) is the whole truth about what the
 * bundle holds; every other entry must be a regular file named by a valid object name that
 * the manifest lists, with the manifest's size, so an entry can never name a path. The
 * source keeps one reader positioned at (entry, offset): later positions are reached by
 * skipping forward, earlier ones by reopening the archive from its start. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo/sys.h"
#include "xfer_int.h"

#define TIN_BLOCK ((size_t)64 << 10) /* libarchive's read unit */
#define SKIP_SCRATCH ((size_t)64 << 10)
#define VERIFY_PIECE ((size_t)1 << 20)

/* ---------------- a tar reader over mo_sys ---------------- */

typedef struct tar_in {
    struct archive *a;
    int fd;
    uint64_t pos, size; /* file position of the callbacks, file size */
    const char *path;   /* borrowed, for messages */
    uint8_t *blk;
    int io_rc; /* a failed syscall, reported instead of libarchive's text */
    mo_err io_err;
} tar_in;

static la_ssize_t tin_read_cb(struct archive *a, void *ud, const void **buf)
{
    tar_in *t = ud;
    const ssize_t r = mo_sys_pread(t->fd, t->blk, TIN_BLOCK, t->pos);
    if (r < 0) {
        const int e = errno;
        t->io_rc = mo_err_sys(&t->io_err, MO_EIO, e, "%s: read at %" PRIu64, t->path, t->pos);
        archive_set_error(a, e, "read failed");
        return -1;
    }
    t->pos += (uint64_t)r;
    *buf = t->blk;
    return r;
}

static la_int64_t tin_skip_cb(struct archive *a, void *ud, la_int64_t req)
{
    tar_in *t = ud;
    (void)a;
    const uint64_t left = t->size > t->pos ? t->size - t->pos : 0;
    uint64_t k = req > 0 ? (uint64_t)req : 0;
    if (k > left)
        k = left;
    t->pos += k;
    return (la_int64_t)k;
}

static void tin_close(tar_in *t)
{
    if (t->a)
        archive_read_free(t->a);
    t->a = NULL;
    if (t->fd >= 0)
        mo_sys_close(t->fd);
    t->fd = -1;
    mo_free(t->blk);
    t->blk = NULL;
}

/* Maps the archive's last failure to a code: our syscall error, else truncation/corruption. */
static int tin_fail(tar_in *t, const char *what, mo_err *err)
{
    if (t->io_rc < 0) {
        if (err)
            *err = t->io_err;
        return t->io_rc;
    }
    const char *s = t->a ? archive_error_string(t->a) : NULL;
    const int e = t->a ? archive_errno(t->a) : 0;
    int code = MO_ECORRUPT;
    if (e == ENOMEM)
        code = MO_ENOMEM;
    else if (s && strstr(s, "runcated"))
        code = MO_ETRUNCATED;
    return mo_err_set(err, code, "%s: %s: %s", t->path, what, s ? s : "archive error");
}

static int tin_open(tar_in *t, const char *path, mo_err *err)
{
    memset(t, 0, sizeof(*t));
    t->fd = -1;
    t->path = path;
    if ((t->fd = mo_sys_open(path, O_RDONLY, 0)) < 0)
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s: open", path);
    struct stat st;
    if (fstat(t->fd, &st) < 0) {
        const int e = errno;
        tin_close(t);
        return mo_err_sys(err, MO_EIO, e, "%s: stat", path);
    }
    if (!S_ISREG(st.st_mode)) {
        tin_close(t);
        return mo_err_set(err, MO_EINVAL, "%s: not a regular file", path);
    }
    t->size = (uint64_t)st.st_size;
    if (!(t->blk = mo_malloc(TIN_BLOCK)) || !(t->a = archive_read_new())) {
        tin_close(t);
        return mo_err_set(err, MO_ENOMEM, "%s: archive reader", path);
    }
    archive_read_support_format_tar(t->a);
    archive_read_set_callback_data(t->a, t);
    archive_read_set_read_callback(t->a, tin_read_cb);
    archive_read_set_skip_callback(t->a, tin_skip_cb);
    if (archive_read_open1(t->a) != ARCHIVE_OK) {
        const int rc = tin_fail(t, "open", err);
        tin_close(t);
        return rc;
    }
    return MO_OK;
}

/* Next header: 1 and *out, 0 at the end, or an error (the reader is then unusable). */
static int tin_next(tar_in *t, struct archive_entry **out, mo_err *err)
{
    const int r = archive_read_next_header(t->a, out);
    if (r == ARCHIVE_EOF)
        return 0;
    if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
        return 1;
    return tin_fail(t, "reading the next entry", err);
}

/* Exactly @p n bytes of the current entry's data. */
static int tin_data(tar_in *t, void *buf, size_t n, const char *entry, mo_err *err)
{
    uint8_t *p = buf;
    while (n) {
        const la_ssize_t r = archive_read_data(t->a, p, n);
        if (r == 0)
            return mo_err_set(err, MO_ETRUNCATED, "%s: entry %s ends early", t->path, entry);
        if (r < 0) {
            const int rc = tin_fail(t, entry, err);
            return rc;
        }
        p += r;
        n -= (size_t)r;
    }
    return MO_OK;
}

/* Reads the first entry, which must be the manifest, and parses it. */
static int tin_manifest(tar_in *t, mo_xfer__manifest *m, mo_err *err)
{
    struct archive_entry *e;
    int rc = tin_next(t, &e, err);
    if (rc == 0)
        return mo_err_set(err, MO_ECORRUPT, "%s: empty archive, not a mosync bundle", t->path);
    if (rc < 0)
        return rc;
    const char *name = archive_entry_pathname(e);
    if (!name || strcmp(name, MO_XFER__MANIFEST_NAME) || archive_entry_filetype(e) != AE_IFREG)
        return mo_err_set(err, MO_ECORRUPT, "%s: not a mosync bundle: first entry is '%.64s'",
                          t->path, name ? name : "?");
    const la_int64_t sz = archive_entry_size(e);
    if (!archive_entry_size_is_set(e) || sz <= 0 || (uint64_t)sz > MO_XFER__MANIFEST_MAX)
        return mo_err_set(err, MO_ECORRUPT, "%s: manifest size %" PRId64 " out of range", t->path,
                          (int64_t)sz);
    uint8_t *buf = mo_malloc((size_t)sz);
    if (!buf)
        return mo_err_set(err, MO_ENOMEM, "%s: manifest of %" PRId64 " bytes", t->path,
                          (int64_t)sz);
    char what[PATH_MAX + 32];
    snprintf(what, sizeof(what), "%s:%s", t->path, MO_XFER__MANIFEST_NAME);
    if ((rc = tin_data(t, buf, (size_t)sz, MO_XFER__MANIFEST_NAME, err)) == MO_OK)
        rc = mo_xfer__manifest_parse(m, buf, (size_t)sz, what, err);
    mo_free(buf);
    return rc;
}

/* Checks an object entry against the manifest; returns its manifest index or MO_ECORRUPT.
 * *@p listed is the index whenever the name is in the manifest, even when the entry is bad. */
static long entry_check(const mo_xfer__manifest *m, struct archive_entry *e, const char *bundle,
                        long *listed, mo_err *err)
{
    *listed = -1;
    const char *name = archive_entry_pathname(e);
    if (!name)
        return mo_err_set(err, MO_ECORRUPT, "%s: entry without a name", bundle);
    if (!mo_obj_name_valid(name))
        return mo_err_set(err, MO_ECORRUPT, "%s: entry '%.80s' is not an object name", bundle,
                          name);
    const long i = mo_xfer__manifest_find(m, name);
    if (i < 0)
        return mo_err_set(err, MO_ECORRUPT, "%s: entry %s is not in the manifest", bundle, name);
    *listed = i;
    if (archive_entry_filetype(e) != AE_IFREG)
        return mo_err_set(err, MO_ECORRUPT, "%s: entry %s is not a regular file", bundle, name);
    const la_int64_t sz = archive_entry_size(e);
    if (!archive_entry_size_is_set(e) || sz < 0 || (uint64_t)sz != m->refs[i].size)
        return mo_err_set(err, MO_ECORRUPT,
                          "%s: entry %s has %" PRId64 " bytes, the manifest says %" PRIu64, bundle,
                          name, (int64_t)sz, m->refs[i].size);
    return i;
}

/* ---------------- the source ---------------- */

typedef struct bundle_src {
    char *path; /* absolute */
    char *identity;
    mo_xfer__manifest m;
    pthread_mutex_t mu;
    tar_in t;
    bool open;        /* t is positioned somewhere valid */
    long cur;         /* manifest index of the current entry, -1 before the first object */
    uint64_t cur_off; /* data bytes of the current entry already consumed */
    uint8_t *scratch;
} bundle_src;

static int bundle_list(mo_src *s, mo_obj_ref_cb cb, void *payload, uint64_t *ignored, mo_err *err)
{
    bundle_src *b = s->ctx;
    (void)ignored; /* a bundle holds nothing else: foreign entries are errors, not skipped */
    for (size_t i = 0; i < b->m.n; i++)
        if (cb(&b->m.refs[i], payload) != 0)
            return mo_err_set(err, MO_EUSER, "listing stopped by the caller");
    return MO_OK;
}

/* (Re)opens the archive and skips the manifest (already parsed at open). */
static int bundle_rewind(bundle_src *b, mo_err *err)
{
    tin_close(&b->t);
    b->open = false;
    int rc = tin_open(&b->t, b->path, err);
    if (rc < 0)
        return rc;
    struct archive_entry *e;
    rc = tin_next(&b->t, &e, err);
    if (rc == 0 || (rc > 0 && strcmp(archive_entry_pathname(e) ? archive_entry_pathname(e) : "",
                                     MO_XFER__MANIFEST_NAME)))
        rc = mo_err_set(err, MO_ECORRUPT, "%s: the manifest is no longer the first entry", b->path);
    if (rc < 0) {
        tin_close(&b->t);
        return rc;
    }
    b->open = true;
    b->cur = -1;
    b->cur_off = 0;
    return MO_OK;
}

/* Positions the reader at offset @p off of manifest object @p idx. */
static int bundle_seek(bundle_src *b, long idx, uint64_t off, mo_err *err)
{
    int rc;
    const char *name = b->m.refs[idx].name;
    /* a foreign tool may have stored entries in another order than the manifest: then the
     * index comparison is only a hint, and a miss scans once more from the start */
    bool from_start = false;
    if (!b->open || b->cur > idx || (b->cur == idx && off < b->cur_off)) {
        if ((rc = bundle_rewind(b, err)) < 0)
            return rc;
        from_start = true;
    }
    while (b->cur != idx) {
        struct archive_entry *e;
        rc = tin_next(&b->t, &e, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (from_start)
                return mo_err_set(err, MO_ECORRUPT, "%s: object %s is missing from the archive",
                                  b->path, name);
            if ((rc = bundle_rewind(b, err)) < 0)
                return rc;
            from_start = true;
            continue;
        }
        long listed;
        const long j = entry_check(&b->m, e, b->path, &listed, err);
        if (j < 0)
            return (int)j;
        b->cur = j;
        b->cur_off = 0;
    }
    while (b->cur_off < off) {
        const uint64_t left = off - b->cur_off;
        const size_t k = left < SKIP_SCRATCH ? (size_t)left : SKIP_SCRATCH;
        if ((rc = tin_data(&b->t, b->scratch, k, name, err)) < 0)
            return rc;
        b->cur_off += k;
    }
    return MO_OK;
}

static int bundle_read(mo_src *s, const char *name, uint64_t off, void *buf, size_t n, mo_err *err)
{
    bundle_src *b = s->ctx;
    const long idx = mo_xfer__manifest_find(&b->m, name);
    if (idx < 0)
        return mo_err_set(err, MO_ENOTFOUND, "%s: no object %.60s in the bundle", b->path, name);
    uint64_t end;
    if (mo_add_overflow(off, n, &end) || end > b->m.refs[idx].size)
        return mo_err_set(err, MO_EINVAL, "%s: read [%" PRIu64 ", +%zu) past the end (%" PRIu64 ")",
                          name, off, n, b->m.refs[idx].size);
    if (n == 0)
        return MO_OK;
    pthread_mutex_lock(&b->mu);
    int rc = bundle_seek(b, idx, off, err);
    if (rc == MO_OK && (rc = tin_data(&b->t, buf, n, name, err)) == MO_OK)
        b->cur_off += n;
    if (rc < 0) {
        /* libarchive cannot continue after a failure: the next read reopens */
        tin_close(&b->t);
        b->open = false;
    }
    pthread_mutex_unlock(&b->mu);
    if (rc == MO_OK)
        __atomic_add_fetch(&s->bytes_read, n, __ATOMIC_RELAXED);
    return rc;
}

static const char *bundle_identity(mo_src *s)
{
    return ((bundle_src *)s->ctx)->identity;
}

static void bundle_free(mo_src *s)
{
    bundle_src *b = s->ctx;
    if (b) {
        tin_close(&b->t);
        mo_xfer__manifest_dispose(&b->m);
        pthread_mutex_destroy(&b->mu);
        mo_free(b->scratch);
        mo_free(b->path);
        mo_free(b->identity);
        mo_free(b);
    }
    mo_free(s);
}

static const struct mo_src_ops bundle_src_ops = {
    MO_SRC_OPS_VERSION, "bundle",    MO_SRC_LIST | MO_SRC_DIGEST, bundle_list, bundle_read,
    bundle_identity,    bundle_free,                  NULL,        NULL,        NULL,
};

int mo_src_bundle_open(mo_src **out, const char *path, mo_err *err)
{
    *out = NULL;
    char abs[PATH_MAX];
    if (!realpath(path, abs))
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s", path);
    mo_src *s = mo_calloc(1, sizeof(*s));
    bundle_src *b = mo_calloc(1, sizeof(*b));
    const size_t il = strlen(abs) + sizeof("bundle:");
    char *id = mo_malloc(il);
    if (!s || !b || !id || !(b->path = mo_strdup(abs)) || !(b->scratch = mo_malloc(SKIP_SCRATCH))) {
        if (b) {
            mo_free(b->path);
            mo_free(b->scratch);
        }
        mo_free(b);
        mo_free(s);
        mo_free(id);
        return mo_err_set(err, MO_ENOMEM, "bundle source");
    }
    snprintf(id, il, "bundle:%s", abs);
    b->identity = id;
    b->t.fd = -1;
    pthread_mutex_init(&b->mu, NULL);
    s->ops = &bundle_src_ops;
    s->ctx = b;
    int rc = tin_open(&b->t, b->path, err);
    if (rc == MO_OK && (rc = tin_manifest(&b->t, &b->m, err)) == MO_OK) {
        b->open = true;
        b->cur = -1;
    }
    if (rc < 0) {
        bundle_free(s);
        return rc;
    }
    *out = s;
    return MO_OK;
}

/* ---------------- the verifier ---------------- */

typedef struct vb {
    mo_xfer_bundle_result *res;
    const char *bundle;
    mo_obj_problem_cb cb;
    void *payload;
    char object[PATH_MAX + 64]; /* "<bundle>:<name>" of the entry being checked */
    char tmp[PATH_MAX];         /* its temp file */
    bool aborted;
} vb;

static void vb_object(vb *v, const char *name)
{
    snprintf(v->object, sizeof(v->object), "%s:%s", v->bundle, name);
}

static int vb_report(vb *v, const mo_obj_problem *p)
{
    v->res->problems++;
    if (v->res->first_code == MO_OK)
        v->res->first_code = p->code;
    if (v->cb && v->cb(p, v->payload) != 0) {
        v->aborted = true;
        return MO_EUSER;
    }
    return MO_OK;
}

/* @p msg without a leading "<prefix>: " (messages repeat what the object field says). */
static const char *strip(const char *msg, const char *prefix)
{
    const size_t n = strlen(prefix);
    if (n && !strncmp(msg, prefix, n) && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg;
}

static int vb_problem(vb *v, int code, const char *field, const char *msg)
{
    msg = strip(strip(strip(msg, v->object), v->bundle), v->tmp);
    const mo_obj_problem p = {code, v->object, 0, false, -1, -1, -1, field, msg};
    return vb_report(v, &p);
}

/* The objfmt verifier's problems, re-attributed to "<bundle>:<name>" (not the temp file). */
static int vb_forward(const mo_obj_problem *p, void *payload)
{
    vb *v = payload;
    mo_obj_problem q = *p;
    q.object = v->object;
    if (q.msg)
        q.msg = strip(q.msg, v->tmp);
    return vb_report(v, &q) < 0 ? 1 : 0;
}

/*
 * One object entry: streamed in 1 MiB pieces into a temp file named by the object (so the
 * reader derives the same ObjectStats name) while hashing, then size and digest checked and,
 * at @p level, the objfmt verifier run on the file with the manifest's ObjectStats. Memory
 * stays bounded whatever the object size; the disk cost is one object at a time.
 * @return MO_OK (problems, if any, reported) or an environment / archive error.
 */
static int vb_entry(vb *v, tar_in *t, const mo_obj_ref *ref, const char *tmpdir, mo_obj_level level,
                    uint8_t *piece, mo_err *err)
{
    char *tmp = v->tmp;
    snprintf(tmp, sizeof(v->tmp), "%s/%s", tmpdir, ref->name);
    int fd = -1;
    if (level) {
        fd = mo_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            return mo_err_sys(err, MO_EIO, errno, "%s: create", tmp);
    }
    mo_xxh3_stream *h;
    int rc = mo_xxh3_stream_new(&h);
    if (rc < 0) {
        if (fd >= 0) {
            mo_sys_close(fd);
            mo_sys_unlink(tmp);
        }
        return mo_err_set(err, rc, "xxh3 state");
    }
    for (uint64_t off = 0; off < ref->size && rc == MO_OK;) {
        const uint64_t left = ref->size - off;
        const size_t k = left < VERIFY_PIECE ? (size_t)left : VERIFY_PIECE;
        if ((rc = tin_data(t, piece, k, ref->name, err)) < 0)
            break;
        mo_xxh3_stream_update(h, piece, k);
        if (fd >= 0)
            rc = mo_sys_pwrite_full(fd, piece, k, off, tmp, err);
        off += k;
        v->res->bytes += k;
    }
    const mo_digest128 d = mo_xxh3_stream_digest(h);
    mo_xxh3_stream_free(h);
    if (fd >= 0)
        mo_sys_close(fd);
    if (rc < 0)
        goto out;
    bool ok = true;
    if (d.lo != ref->digest.lo || d.hi != ref->digest.hi) {
        char got[33], want[33], msg[128];
        mo_digest128_hex(got, d);
        mo_digest128_hex(want, ref->digest);
        snprintf(msg, sizeof(msg), "xxh3-128 %s != %s in the manifest", got, want);
        ok = false;
        if ((rc = vb_problem(v, MO_ECHECKSUM, "xxh3_128", msg)) < 0)
            goto out;
    }
    if (level) {
        /* run even after a digest mismatch: it tells where the damage is */
        mo_obj_stats st;
        mo_obj_verify_opts o = {level, NULL, -1, 0};
        if (ref->has_stats && mo_obj_stats_decode(&st, ref->stats, NULL) == MO_OK)
            o.stats = &st;
        mo_obj_verify_result r;
        const unsigned before = v->res->problems;
        rc = mo_obj_verify_file(&r, tmp, &o, vb_forward, v, err);
        if (v->aborted) {
            rc = MO_EUSER;
            goto out;
        }
        if (rc == MO_EIO || rc == MO_ENOMEM || rc == MO_EINVAL)
            goto out;
        if (rc < 0 && v->res->problems == before) /* a failure the verifier did not report */
            rc = vb_problem(v, rc, NULL, err ? err->msg : mo_strerror(rc));
        else
            rc = MO_OK;
        if (rc < 0)
            goto out;
        ok = ok && v->res->problems == before;
    }
    if (ok)
        v->res->objects_ok++;
out:
    if (fd >= 0)
        mo_sys_unlink(tmp);
    return rc;
}

static bool env_code(int rc)
{
    return rc == MO_ENOMEM || rc == MO_EIO || rc == MO_ENOSPC || rc == MO_EINVAL ||
           rc == MO_ENOTFOUND;
}

int mo_xfer_verify_bundle(mo_xfer_bundle_result *out, const char *path, mo_obj_level level,
                          mo_obj_problem_cb cb, void *payload, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    out->first_code = MO_OK;
    vb v = {out, path, cb, payload, "", "", false};
    vb_object(&v, MO_XFER__MANIFEST_NAME);
    tar_in t;
    mo_xfer__manifest m;
    memset(&m, 0, sizeof(m));
    bool *seen = NULL;
    uint8_t *piece = NULL;
    char tmpdir[PATH_MAX] = "";
    mo_err e = {0};
    int rc = tin_open(&t, path, &e);
    if (rc == MO_OK)
        rc = tin_manifest(&t, &m, &e);
    if (rc < 0) {
        if (env_code(rc))
            goto fail_env;
        rc = vb_problem(&v, rc, "manifest", e.msg);
        goto done;
    }
    out->objects = m.n;
    if ((m.n && !(seen = mo_calloc(m.n, sizeof(*seen)))) || !(piece = mo_malloc(VERIFY_PIECE))) {
        rc = mo_err_set(err, MO_ENOMEM, "%s: verifying", path);
        goto out;
    }
    if (level) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/mosync-verify-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            rc = mo_err_sys(err, MO_EIO, errno, "%s: mkdtemp", tmpdir);
            tmpdir[0] = 0;
            goto out;
        }
    }
    bool complete = false;
    for (;;) {
        struct archive_entry *ent;
        rc = tin_next(&t, &ent, &e);
        if (rc == 0) {
            complete = true;
            break;
        }
        if (rc < 0) {
            if (env_code(rc))
                goto fail_env;
            vb_object(&v, "(archive)");
            rc = vb_problem(&v, rc, "entry", e.msg);
            break; /* libarchive cannot go on after a fatal error */
        }
        const char *name = archive_entry_pathname(ent);
        vb_object(&v, name ? name : "?");
        long listed;
        const long i = entry_check(&m, ent, path, &listed, &e);
        if (i < 0 && listed >= 0 && !seen[listed]) {
            seen[listed] = true; /* reported here, not again as absent */
        }
        if (i < 0) {
            if ((rc = vb_problem(&v, (int)i, "entry", e.msg)) < 0)
                break;
            continue; /* the next header skips its data */
        }
        if (seen[i]) {
            if ((rc = vb_problem(&v, MO_ECORRUPT, "entry", "the object appears twice")) < 0)
                break;
            continue;
        }
        seen[i] = true;
        rc = vb_entry(&v, &t, &m.refs[i], tmpdir, level, piece, &e);
        if (env_code(rc))
            goto fail_env;
        if (rc < 0 && rc != MO_EUSER) { /* the archive itself failed mid-entry (truncated) */
            rc = vb_problem(&v, rc, "entry", e.msg);
            break; /* libarchive cannot go on */
        }
        if (rc < 0)
            break;
    }
    if (complete)
        for (size_t i = 0; i < m.n && rc == MO_OK; i++)
            if (!seen[i]) {
                vb_object(&v, m.refs[i].name);
                rc = vb_problem(&v, MO_ECORRUPT, "entry",
                                "listed in the manifest, absent from the archive");
            }
done:
    if (rc == MO_EUSER) {
        mo_err_set(err, rc, "%s: verification stopped by the callback", path);
    } else if (out->problems) {
        rc =
            mo_err_set(err, out->first_code, "%s: %u problem%s, the first: %s", path, out->problems,
                       out->problems == 1 ? "" : "s", mo_code_name(out->first_code));
    }
    goto out;
fail_env:
    if (err)
        *err = e;
out:
    if (tmpdir[0])
        rmdir(tmpdir);
    mo_free(piece);
    mo_free(seen);
    mo_xfer__manifest_dispose(&m);
    tin_close(&t);
    return rc;
}
