/* `mosync export`: writes a bundle, a tar (libarchive, pax-restricted ustar) whose first entry
 * is MANIFEST.mosync (xfer_manifest.c) followed by every object of the source as a regular
 * file named by its object name, holding its logical bytes (DISK framing removed).
 * Two passes over the source: the first computes what the manifest needs (size, XXH3-128,
 * ObjectStats), the second streams the bytes into the tar and re-hashes them, so an object
 * that changed in between fails the export instead of producing a lying manifest. Objects
 * are read in 8 MiB pieces; memory does not grow with object size. The tar is written to
 * "<path>.tmp" through mo_sys, fsynced, renamed, and the directory fsynced. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "mo/sys.h"
#include "xfer_int.h"

#define EXPORT_PIECE ((size_t)8 << 20)

typedef struct ref_list {
    mo_obj_ref *refs;
    size_t n, cap;
    bool oom;
} ref_list;

static int collect(const mo_obj_ref *ref, void *payload)
{
    ref_list *l = payload;
    if (l->n == l->cap) {
        const size_t cap = l->cap ? l->cap * 2 : 256;
        mo_obj_ref *r = mo_realloc(l->refs, cap * sizeof(*r));
        if (!r) {
            l->oom = true;
            return 1;
        }
        l->refs = r;
        l->cap = cap;
    }
    l->refs[l->n++] = *ref;
    return 0;
}

typedef struct tar_out {
    int fd;
    const char *path;
    uint64_t pos;
    int rc; /* a failed write, reported instead of libarchive's text */
    mo_err err;
} tar_out;

/*
 * A failed write is recorded here and then swallowed: libarchive (3.6) leaks its client
 * buffer when a write callback fails (the handle goes FATAL and _free skips the close that
 * frees it), so it is told "written" and the exporter checks o->rc after every call.
 */
static la_ssize_t tout_write(struct archive *a, void *ud, const void *buf, size_t n)
{
    tar_out *o = ud;
    (void)a;
    if (o->rc < 0)
        return (la_ssize_t)n;
    const int rc = mo_sys_pwrite_full(o->fd, buf, n, o->pos, o->path, &o->err);
    if (rc < 0)
        o->rc = rc;
    else
        o->pos += n;
    return (la_ssize_t)n;
}

/* Streams object @p ref from the source through XXH3-128; @p a, when set, gets the bytes. */
static int pass_object(mo_src *src, const mo_obj_ref *ref, uint8_t *buf, struct archive *a,
                       const tar_out *o, mo_digest128 *out, mo_err *err)
{
    mo_xxh3_stream *h;
    int rc = mo_xxh3_stream_new(&h);
    if (rc < 0)
        return mo_err_set(err, rc, "xxh3 state");
    for (uint64_t off = 0; off < ref->size;) {
        const uint64_t left = ref->size - off;
        const size_t k = left < EXPORT_PIECE ? (size_t)left : EXPORT_PIECE;
        if ((rc = src->ops->read(src, ref->name, off, buf, k, err)) < 0)
            break;
        mo_xxh3_stream_update(h, buf, k);
        if (a) {
            const la_ssize_t w = archive_write_data(a, buf, k);
            if (w < 0 || (size_t)w != k || o->rc < 0) {
                rc = MO_EIO; /* the caller maps the archive's failure */
                break;
            }
        }
        off += k;
    }
    *out = mo_xxh3_stream_digest(h);
    mo_xxh3_stream_free(h);
    return rc;
}

/*
 * ObjectStats need the objfmt reader, which opens a file: a source that already carries them
 * (a bundle) passes them on; a directory source (identity "dir:<abs path>") has its file
 * opened in place; any other source, or a file that is not a readable object, gets "-".
 */
static int object_stats(mo_src *src, mo_obj_ref *ref, mo_err *err)
{
    if (ref->has_stats)
        return MO_OK;
    const char *id = src->ops->identity(src);
    if (!id || strncmp(id, "dir:", 4))
        return MO_OK;
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", id + 4, ref->name) >= sizeof(path))
        return mo_err_set(err, MO_EINVAL, "%s/%s: path too long", id + 4, ref->name);
    mo_obj_reader *r;
    mo_err e;
    int rc = mo_obj_reader_open(&r, path, &e);
    if (rc == MO_OK) {
        mo_obj_where where;
        mo_obj_stats st;
        if ((rc = mo_obj_reader_load_meta(r, &where, &e)) == MO_OK &&
            (rc = mo_obj_reader_stats(r, &st, &e)) == MO_OK) {
            mo_obj_stats_encode(ref->stats, &st);
            ref->has_stats = true;
        }
        mo_obj_reader_free(r);
    }
    if (rc == MO_ENOMEM || rc == MO_EIO) {
        if (err)
            *err = e;
        return rc;
    }
    return MO_OK; /* not an object we can describe: exported with "-" */
}

static int tout_fail(tar_out *o, struct archive *a, const char *what, mo_err *err)
{
    if (o->rc < 0) {
        if (err)
            *err = o->err;
        return o->rc;
    }
    const char *s = archive_error_string(a);
    return mo_err_set(err, archive_errno(a) == ENOMEM ? MO_ENOMEM : MO_EIO, "%s: %s: %s", o->path,
                      what, s ? s : "archive error");
}

static int put_header(struct archive *a, const char *name, uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return MO_ENOMEM;
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, 0, 0); /* same objects, same bundle bytes */
    const int r = archive_write_header(a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? MO_OK : MO_EIO;
}

int mo_xfer_export(mo_src *src, const char *tar_path, mo_err *err)
{
    ref_list l = {NULL, 0, 0, false};
    mo_buf man = MO_BUF_INIT;
    uint8_t *buf = NULL;
    struct archive *a = NULL;
    char tmp[PATH_MAX];
    tar_out o = {-1, tmp, 0, MO_OK, {0}};
    uint64_t ignored = 0;
    int rc;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", tar_path) >= sizeof(tmp))
        return mo_err_set(err, MO_EINVAL, "%s: path too long", tar_path);
    if (!(src->ops->caps & MO_SRC_LIST))
        return mo_err_set(err, MO_EINVAL, "%s: the source cannot list its objects",
                          src->ops->identity(src));
    if ((rc = src->ops->list(src, collect, &l, &ignored, err)) < 0) {
        if (l.oom)
            rc = mo_err_set(err, MO_ENOMEM, "listing the source");
        goto out;
    }
    if (!(buf = mo_malloc(EXPORT_PIECE))) {
        rc = mo_err_set(err, MO_ENOMEM, "export buffer");
        goto out;
    }
    /* pass 1: the manifest */
    if ((rc = mo_xfer__manifest_begin(&man)) < 0)
        goto out_nomem;
    for (size_t i = 0; i < l.n; i++) {
        mo_obj_ref *r = &l.refs[i];
        if (!mo_obj_name_valid(r->name)) {
            rc = mo_err_set(err, MO_EINVAL, "the source listed '%.60s', not an object name",
                            r->name);
            goto out;
        }
        if (!r->has_digest) {
            if ((rc = pass_object(src, r, buf, NULL, NULL, &r->digest, err)) < 0) {
                mo_err_prefix(err, "export %s: ", r->name);
                goto out;
            }
            r->has_digest = true;
        }
        if ((rc = object_stats(src, r, err)) < 0)
            goto out;
        if ((rc = mo_xfer__manifest_add(&man, r)) < 0)
            goto out_nomem;
    }
    if ((rc = mo_xfer__manifest_end(&man, l.n)) < 0)
        goto out_nomem;
    /* pass 2: the tar */
    if ((o.fd = mo_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        rc = mo_err_sys(err, errno == ENOSPC ? MO_ENOSPC : MO_EIO, errno, "%s: create", tmp);
        goto out;
    }
    if (!(a = archive_write_new())) {
        rc = mo_err_set(err, MO_ENOMEM, "archive writer");
        goto out;
    }
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open(a, &o, NULL, tout_write, NULL) != ARCHIVE_OK) {
        rc = tout_fail(&o, a, "open", err);
        goto out;
    }
    if (put_header(a, MO_XFER__MANIFEST_NAME, man.len) < 0 ||
        archive_write_data(a, man.ptr, man.len) != (la_ssize_t)man.len || o.rc < 0) {
        rc = tout_fail(&o, a, MO_XFER__MANIFEST_NAME, err);
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        const mo_obj_ref *r = &l.refs[i];
        if (put_header(a, r->name, r->size) < 0 || o.rc < 0) {
            rc = tout_fail(&o, a, r->name, err);
            goto out;
        }
        mo_digest128 d;
        mo_err e = {0};
        if ((rc = pass_object(src, r, buf, a, &o, &d, &e)) < 0) {
            if (e.code == MO_OK) /* the archive failed, not the source */
                rc = tout_fail(&o, a, r->name, err);
            else if (err)
                *err = e;
            mo_err_prefix(err, "export %s: ", r->name);
            goto out;
        }
        if (d.lo != r->digest.lo || d.hi != r->digest.hi) {
            char got[33], want[33];
            mo_digest128_hex(got, d);
            mo_digest128_hex(want, r->digest);
            rc = mo_err_set(err, MO_ECHECKSUM,
                            "export %s: xxh3-128 %s while the manifest says %s (changed while "
                            "exporting?)",
                            r->name, got, want);
            goto out;
        }
    }
    if (archive_write_close(a) != ARCHIVE_OK || o.rc < 0) {
        rc = tout_fail(&o, a, "close", err);
        goto out;
    }
    if (mo_sys_fsync(o.fd) < 0) {
        rc = mo_err_sys(err, errno == ENOSPC ? MO_ENOSPC : MO_EIO, errno, "%s: fsync", tmp);
        goto out;
    }
    mo_sys_close(o.fd);
    o.fd = -1;
    if (mo_sys_rename(tmp, tar_path) < 0) {
        rc = mo_err_sys(err, MO_EIO, errno, "rename %s -> %s", tmp, tar_path);
        goto out;
    }
    rc = mo_sys_fsync_dir_of(tar_path, err);
    goto out;
out_nomem:
    rc = mo_err_set(err, MO_ENOMEM, "bundle manifest");
out:
    if (a) {
        o.rc = o.rc < 0 ? o.rc : MO_ERROR; /* its closing writes after a failure are dropped */
        archive_write_free(a);
    }
    if (o.fd >= 0) {
        mo_sys_close(o.fd);
        mo_sys_unlink(tmp);
    } else if (rc < 0 && o.pos) {
        mo_sys_unlink(tmp);
    }
    mo_buf_dispose(&man);
    mo_free(buf);
    mo_free(l.refs);
    return rc;
}
