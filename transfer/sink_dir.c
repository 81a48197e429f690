/* The `dir` sink: objects arrive in "<dir>/.<name>.part" (a dot name, so MO's fileservice
 * and `mosync verify` walks skip it) and are published by fsync, rename to "<dir>/<name>",
 * fsync of the directory: a half-written object never appears under its final name. With
 * `framed`, publishing writes MO's legacy DISK framing of the logical part instead. An
 * unsynced sink (the sync's) publishes by rename alone and leaves durability to its owner's
 * batch; a direct sink writes parts with O_DIRECT. */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo/sys.h"
#include "mo/xfer.h"

typedef struct dir_sink {
    char *path;
    char *state;
    bool framed;
    bool unsynced; /* commit renames without fsync; the owner batches durability */
    bool direct;   /* write parts with O_DIRECT (mo_sink_dir_set_direct) */
    uint64_t direct_min; /* smaller objects stay buffered */
    /* O_DIRECT buffers of finished objects, for the next ones (objects in flight at once) */
    pthread_mutex_t mu;
    uint8_t *pool[8];
    unsigned npool;
} dir_sink;

struct mo_sink_obj {
    dir_sink *d;
    int fd;
    char name[MO_OBJ_NAME_STR_LEN + 1];
    char part[PATH_MAX];
    char final[PATH_MAX];
    uint64_t size;           /* the object's size */
    uint64_t wb_from, wb_to; /* written since the last writeback start: [wb_from, wb_to) */
    /* O_DIRECT: bytes written in order gather in dbuf (file range [doff, doff + dlen), doff
     * aligned) and reach the part in DIO_SLAB writes; -1 when not direct */
    int dfd;
    uint8_t *dbuf;
    uint64_t doff;
    size_t dlen;
    bool padded; /* a zero-padded block went out: cut the part at the last byte */
};

/* O_DIRECT parts (mo_sink_dir_set_direct): a bulk seed writes data no one reads soon, and
 * copying it into the page cache was the largest CPU cost of the sync on the machines we
 * measured (dd of 2 GB: 7.7 s of system time buffered, 0.4 s with O_DIRECT). Offsets, lengths
 * and the buffer are aligned to DIO_ALIGN; a partial last block is completed from the file
 * (zeros past its end), written and kept in the buffer, and the part is cut to the object's
 * size when its last byte arrives. */
#define DIO_ALIGN ((size_t)4096)
#define DIO_SLAB ((size_t)4 << 20)

/* Writeback of a part starts every WB_STEP bytes written in order and at its last byte, so
 * that the disk works while the copy goes on and the fsync at publish waits for little. */
#define WB_STEP ((uint64_t)4 << 20)

static int sink_errcode(int e)
{
    return e == ENOSPC ? MO_ENOSPC : MO_EIO;
}

static int final_path(char out[PATH_MAX], dir_sink *d, const char *name, mo_err *err)
{
    /* names come from sources, maybe hostile: only the strict 42-char form may touch a path */
    if (!mo_obj_name_valid(name))
        return mo_err_set(err, MO_EINVAL, "refusing object name '%.60s'", name);
    snprintf(out, PATH_MAX, "%s/%s", d->path, name);
    return MO_OK;
}

static int dsk_stat(mo_sink *k, const char *name, uint64_t *size, mo_err *err)
{
    char p[PATH_MAX];
    int rc = final_path(p, k->ctx, name, err);
    if (rc < 0)
        return rc;
    struct stat st;
    if (stat(p, &st) < 0)
        return errno == ENOENT ? MO_ENOTFOUND : mo_err_sys(err, MO_EIO, errno, "%s: stat", p);
    uint64_t sz = (uint64_t)st.st_size;
    if (((dir_sink *)k->ctx)->framed && (rc = mo_obj_frame_logical_size(&sz, sz, err)) < 0)
        return rc;
    *size = sz;
    return MO_OK;
}

static uint8_t *pool_get(dir_sink *d)
{
    pthread_mutex_lock(&d->mu);
    uint8_t *p = d->npool ? d->pool[--d->npool] : NULL;
    pthread_mutex_unlock(&d->mu);
    return p ? p : mo_pages_alloc(DIO_SLAB); /* page-aligned, so DIO_ALIGN-aligned */
}

static void pool_put(dir_sink *d, uint8_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&d->mu);
    if (d->npool < sizeof(d->pool) / sizeof(d->pool[0])) {
        d->pool[d->npool++] = p;
        p = NULL;
    }
    pthread_mutex_unlock(&d->mu);
    mo_pages_free(p, DIO_SLAB);
}

static int dsk_begin(mo_sink *k, mo_sink_obj **out, const mo_obj_ref *ref, uint64_t *part_size,
                     mo_err *err)
{
    dir_sink *d = k->ctx;
    *out = NULL;
    mo_sink_obj *o = mo_calloc(1, sizeof(*o));
    if (!o)
        return mo_err_set(err, MO_ENOMEM, "sink object");
    int rc = final_path(o->final, d, ref->name, err);
    if (rc < 0) {
        mo_free(o);
        return rc;
    }
    o->d = d;
    o->size = ref->size;
    memcpy(o->name, ref->name, sizeof(o->name));
    snprintf(o->part, sizeof(o->part), "%s/.%s.part", d->path, ref->name);
    o->fd = mo_sys_open(o->part, O_RDWR | O_CREAT, 0644);
    if (o->fd < 0) {
        rc = mo_err_sys(err, sink_errcode(errno), errno, "%s: open", o->part);
        mo_free(o);
        return rc;
    }
    struct stat st;
    if (fstat(o->fd, &st) < 0) {
        rc = mo_err_sys(err, MO_EIO, errno, "%s: stat", o->part);
        mo_sys_close(o->fd);
        mo_free(o);
        return rc;
    }
    *part_size = (uint64_t)st.st_size;
    o->dfd = -1;
    if (d->direct && ref->size >= d->direct_min && (o->dbuf = pool_get(d))) {
        /* a filesystem without O_DIRECT (tmpfs) keeps the buffered path */
        o->dfd = mo_sys_open(o->part, O_WRONLY | O_DIRECT, 0);
        if (o->dfd < 0) {
            pool_put(d, o->dbuf);
            o->dbuf = NULL;
        }
    }
    *out = o;
    return MO_OK;
}

/* Writes dbuf[0, w) at doff with O_DIRECT. A device that refuses the alignment (EINVAL) turns
 * the object buffered from here on: the real bytes dbuf[0, real) go through the page cache. */
static int dio_out(mo_sink_obj *o, size_t real, size_t w, mo_err *err)
{
    mo_err e;
    mo_err_clear(&e);
    int rc = mo_sys_pwrite_full(o->dfd, o->dbuf, w, o->doff, o->part, &e);
    if (rc < 0 && e.sys_errno == EINVAL) {
        mo_sys_close(o->dfd);
        o->dfd = -1;
        return mo_sys_pwrite_full(o->fd, o->dbuf, real, o->doff, o->part, err);
    }
    if (rc < 0 && err)
        *err = e;
    o->padded |= rc == MO_OK && w > real;
    return rc;
}

/* Writes the buffered bytes; a partial last block goes completed from the file and stays
 * buffered, so that bytes written next in order complete it. */
static int dio_flush(mo_sink_obj *o, mo_err *err)
{
    if (!o->dlen)
        return MO_OK;
    const size_t full = o->dlen & ~(DIO_ALIGN - 1), tail = o->dlen - full;
    const size_t w = full + (tail ? DIO_ALIGN : 0);
    if (tail) {
        /* the rest of the last block as the file has it (zeros past its end): a rewrite inside
         * the part must not clobber the bytes after it */
        ssize_t r = mo_sys_pread(o->fd, o->dbuf + o->dlen, w - o->dlen, o->doff + o->dlen);
        if (r < 0)
            return mo_err_sys(err, MO_EIO, errno, "%s: read at offset %llu", o->part,
                              (unsigned long long)(o->doff + o->dlen));
        memset(o->dbuf + o->dlen + r, 0, w - o->dlen - (size_t)r);
    }
    int rc = dio_out(o, o->dlen, w, err);
    if (rc < 0 || o->dfd < 0) {
        o->dlen = 0; /* fell back: every byte is written */
        return rc;
    }
    if (tail)
        memmove(o->dbuf, o->dbuf + full, tail);
    o->doff += full;
    o->dlen = tail;
    return MO_OK;
}

/* Every byte written so far is in the part (the padding of a partial block is cut later). */
static int dsk_flush(mo_sink_obj *o, mo_err *err)
{
    return o->dfd >= 0 ? dio_flush(o, err) : MO_OK;
}

static int buffered_write(mo_sink_obj *o, uint64_t off, const void *p, size_t n, mo_err *err);

static int dio_write(mo_sink_obj *o, uint64_t off, const uint8_t *p, size_t n, mo_err *err)
{
    int rc;
    if (o->dlen && off != o->doff + o->dlen) {
        if ((rc = dio_flush(o, err)) < 0)
            return rc;
        o->dlen = 0; /* out of order: the kept partial block is on disk already */
        if (o->dfd < 0)
            return buffered_write(o, off, p, n, err);
    }
    if (!o->dlen) {
        if (off % DIO_ALIGN) /* not where a block starts (never for chunked copies) */
            return buffered_write(o, off, p, n, err);
        o->doff = off;
    }
    while (n) {
        size_t k = DIO_SLAB - o->dlen < n ? DIO_SLAB - o->dlen : n;
        memcpy(o->dbuf + o->dlen, p, k);
        o->dlen += k;
        p += k;
        n -= k;
        if (o->dlen == DIO_SLAB) {
            if ((rc = dio_out(o, DIO_SLAB, DIO_SLAB, err)) < 0)
                return rc;
            o->doff += DIO_SLAB;
            o->dlen = 0;
            if (o->dfd < 0)
                return buffered_write(o, o->doff, p, n, err);
        }
    }
    if (o->doff + o->dlen == o->size) { /* the last byte: out with it, padding cut */
        if ((rc = dio_flush(o, err)) < 0)
            return rc;
        o->dlen = 0;
        if (ftruncate(o->fd, (off_t)o->size) < 0)
            return mo_err_sys(err, sink_errcode(errno), errno, "%s: truncate to %llu", o->part,
                              (unsigned long long)o->size);
    }
    return MO_OK;
}

static int dsk_write(mo_sink_obj *o, uint64_t off, const void *p, size_t n, mo_err *err)
{
    return o->dfd >= 0 ? dio_write(o, off, p, n, err) : buffered_write(o, off, p, n, err);
}

static int buffered_write(mo_sink_obj *o, uint64_t off, const void *p, size_t n, mo_err *err)
{
    int rc = n ? mo_sys_pwrite_full(o->fd, p, n, off, o->part, err) : MO_OK;
    if (rc == MO_OK && o->padded && off + n == o->size && ftruncate(o->fd, (off_t)o->size) < 0)
        rc = mo_err_sys(err, sink_errcode(errno), errno, "%s: truncate to %llu", o->part,
                        (unsigned long long)o->size); /* padding of an O_DIRECT block, cut */
    if (rc < 0 || o->d->framed) /* framed: the part is rewritten into another file */
        return rc;
    if (o->wb_to != off)
        o->wb_from = off; /* not in order (a resume, a chunk fetched again): a new range */
    o->wb_to = off + n;
    if (o->wb_to - o->wb_from >= WB_STEP || o->wb_to == o->size) {
        mo_sys_writeback_start(o->fd, o->wb_from, o->wb_to - o->wb_from);
        o->wb_from = o->wb_to;
    }
    return MO_OK;
}

static int dsk_read(mo_sink_obj *o, uint64_t off, void *p, size_t n, mo_err *err)
{
    int rc = dsk_flush(o, err);
    return rc < 0 ? rc : mo_sys_pread_full(o->fd, p, n, off, o->part, err);
}

static int dsk_sync(mo_sink_obj *o, mo_err *err)
{
    int rc = dsk_flush(o, err);
    if (rc < 0)
        return rc;
    if (mo_sys_fsync(o->fd) < 0)
        return mo_err_sys(err, sink_errcode(errno), errno, "%s: fsync", o->part);
    return MO_OK;
}

static int dsk_truncate(mo_sink_obj *o, uint64_t size, mo_err *err)
{
    int rc = dsk_flush(o, err);
    if (rc < 0)
        return rc;
    o->dlen = 0;
    if (ftruncate(o->fd, (off_t)size) < 0)
        return mo_err_sys(err, sink_errcode(errno), errno, "%s: truncate to %llu", o->part,
                          (unsigned long long)size);
    return MO_OK;
}

static const char *dsk_part_path(mo_sink_obj *o)
{
    return o->part;
}

/* Writes the DISK framing of the logical part into "<part>.framed", returns its path. */
static int frame_part(mo_sink_obj *o, char out[PATH_MAX + 16], mo_err *err)
{
    struct stat st;
    if (fstat(o->fd, &st) < 0)
        return mo_err_sys(err, MO_EIO, errno, "%s: stat", o->part);
    snprintf(out, PATH_MAX + 16, "%s.framed", o->part);
    int fd = mo_sys_open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return mo_err_sys(err, sink_errcode(errno), errno, "%s: open", out);
    enum { PIECE = 2044 * 512 };
    uint8_t *buf = mo_malloc(PIECE);
    mo_buf f = MO_BUF_INIT;
    int rc = buf ? MO_OK : mo_err_set(err, MO_ENOMEM, "framing buffer");
    uint64_t in = 0, outoff = 0, size = (uint64_t)st.st_size;
    while (rc == MO_OK && in < size) {
        size_t n = size - in < PIECE ? (size_t)(size - in) : PIECE;
        f.len = 0;
        if ((rc = mo_sys_pread_full(o->fd, buf, n, in, o->part, err)) < 0)
            break;
        if (mo_obj_frame_encode(&f, buf, n) < 0) {
            rc = mo_err_set(err, MO_ENOMEM, "framing");
            break;
        }
        rc = mo_sys_pwrite_full(fd, f.ptr, f.len, outoff, out, err);
        in += n;
        outoff += f.len;
    }
    if (rc == MO_OK && !o->d->unsynced && mo_sys_fsync(fd) < 0)
        rc = mo_err_sys(err, sink_errcode(errno), errno, "%s: fsync", out);
    mo_sys_close(fd);
    mo_free(buf);
    mo_buf_dispose(&f);
    if (rc < 0)
        mo_sys_unlink(out);
    return rc;
}

static void obj_free(mo_sink_obj *o)
{
    if (o->dfd >= 0)
        mo_sys_close(o->dfd);
    mo_sys_close(o->fd);
    pool_put(o->d, o->dbuf);
    mo_free(o);
}

static int dsk_commit(mo_sink_obj *o, mo_err *err)
{
    int rc = o->d->unsynced ? dsk_flush(o, err) : dsk_sync(o, err);
    const char *from = o->part;
    char framed[PATH_MAX + 16];
    if (rc == MO_OK && o->d->framed) {
        rc = frame_part(o, framed, err);
        from = framed;
    }
    if (rc == MO_OK && mo_sys_rename(from, o->final) < 0)
        rc = mo_err_sys(err, sink_errcode(errno), errno, "rename %s -> %s", from, o->final);
    if (rc == MO_OK && !o->d->unsynced)
        rc = mo_sys_fsync_dir_of(o->final, err);
    if (rc == MO_OK && o->d->framed)
        mo_sys_unlink(o->part);
    obj_free(o);
    return rc;
}

static void dsk_close(mo_sink_obj *o)
{
    if (!o)
        return;
    (void)dsk_flush(o, NULL); /* what was written stays for resume, as on the buffered path */
    obj_free(o);
}

static int dsk_read_final(mo_sink *k, const char *name, uint64_t off, void *p, size_t n, mo_err *err)
{
    char path[PATH_MAX];
    int rc = final_path(path, k->ctx, name, err);
    if (rc < 0)
        return rc;
    int fd = mo_sys_open(path, O_RDONLY, 0);
    if (fd < 0)
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s: open", path);
    if (((dir_sink *)k->ctx)->framed) {
        struct stat st;
        rc = fstat(fd, &st) < 0 ? mo_err_sys(err, MO_EIO, errno, "%s: stat", path)
                                : mo_obj_frame_pread(fd, (uint64_t)st.st_size, p, n, off, path, err);
    } else {
        rc = mo_sys_pread_full(fd, p, n, off, path, err);
    }
    mo_sys_close(fd);
    return rc;
}

static const char *dsk_state_dir(mo_sink *k)
{
    return ((dir_sink *)k->ctx)->state;
}

static void dsk_free(mo_sink *k)
{
    dir_sink *d = k->ctx;
    for (unsigned i = 0; i < d->npool; i++)
        mo_pages_free(d->pool[i], DIO_SLAB);
    pthread_mutex_destroy(&d->mu);
    mo_free(d->path);
    mo_free(d->state);
    mo_free(d);
    mo_free(k);
}

static const struct mo_sink_ops dir_sink_ops = {
    MO_SINK_OPS_VERSION, "dir",          0,           dsk_stat,       dsk_begin,
    dsk_write,           dsk_read,       dsk_sync,    dsk_truncate,   dsk_part_path,
    dsk_commit,          dsk_close,      dsk_read_final, dsk_state_dir, dsk_free,
    dsk_flush,
};

static int mkdir_p(const char *path, mo_err *err)
{
    char tmp[PATH_MAX];
    if (strlen(path) >= sizeof(tmp))
        return mo_err_set(err, MO_EINVAL, "path too long");
    memcpy(tmp, path, strlen(path) + 1);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return mo_err_sys(err, MO_EIO, errno, "%s: mkdir", tmp);
            *p = '/';
        }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return mo_err_sys(err, MO_EIO, errno, "%s: mkdir", tmp);
    return MO_OK;
}

int mo_sink_dir_open(mo_sink **out, const char *path, bool framed, mo_err *err)
{
    *out = NULL;
    int rc = mkdir_p(path, err);
    if (rc < 0)
        return rc;
    char abs[PATH_MAX], state[PATH_MAX + 16];
    if (!realpath(path, abs))
        return mo_err_sys(err, MO_EIO, errno, "%s", path);
    snprintf(state, sizeof(state), "%s/.mosync", abs);
    if ((rc = mkdir_p(state, err)) < 0)
        return rc;
    mo_sink *k = mo_calloc(1, sizeof(*k));
    dir_sink *d = mo_calloc(1, sizeof(*d));
    if (!k || !d || !(d->path = mo_strdup(abs)) || !(d->state = mo_strdup(state))) {
        if (d) {
            mo_free(d->path);
            mo_free(d);
        }
        mo_free(k);
        return mo_err_set(err, MO_ENOMEM, "dir sink");
    }
    d->framed = framed;
    pthread_mutex_init(&d->mu, NULL);
    k->ops = &dir_sink_ops;
    k->ctx = d;
    *out = k;
    return MO_OK;
}

void mo_sink_dir_set_direct(mo_sink *k, uint64_t min_size)
{
    ((dir_sink *)k->ctx)->direct = true;
    ((dir_sink *)k->ctx)->direct_min = min_size;
}

void mo_sink_dir_set_unsynced(mo_sink *k)
{
    ((dir_sink *)k->ctx)->unsynced = true;
}

void mo_sink_free(mo_sink *k)
{
    if (k)
        k->ops->free(k);
}
