/* The catalog store: "<replica>/.mosync/catalog/".
 *
 *   LOCK      flock(LOCK_EX|LOCK_NB) of the single writer; holds its pid (for the error)
 *   EPOCH     "MOSYCEP1" | u32 version=1 | u32 0 | u64 epoch | u64 xxh3_64(previous 24 bytes)
 *             bumped durably (temp, fsync, rename, fsync dir) by every writer at open; every
 *             commit re-reads it and is refused (MO_ESTALE) once a newer writer took over
 *   snapshot  header(104): "MOSYCSN1" | u32 version=1 | u32 104 | u64 epoch | u64 log_seq |
 *             u64 commit_seq | u64 rows_len | u64 nobj | u32 221 | u32 0 |
 *             16B xxh3_128(rows) | 16B xxh3_128(objects) | u64 xxh3_64(header before)
 *             then the row section (PUT records of every kind but objects) and the object
 *             section (nobj fixed 221-byte records, the hot bulk). The header checksum covers
 *             both section digests, so one chain protects every byte. Replaced only by
 *             snapshot.tmp, fsync, rename, fsync dir.
 *   log.<S>   "MOSYCLG1" | u32 version=1 | u32 48 | u64 S | u64 base commit_seq | u64 epoch |
 *             u64 xxh3_64(previous 40 bytes), then commits (cat_log.c). The snapshot names
 *             the log S that follows it, so a snapshot newer than a log supersedes it.
 *
 * Compaction: snapshot.tmp (log_seq S+1) -> fsync -> rename -> fsync dir -> log.<S+1> ->
 * fsync -> fsync dir -> unlink log.<S>. A crash anywhere leaves (old snapshot + log.S) or
 * (new snapshot [+ empty log.S+1]): the same rows either way.
 *
 * Opening is lazy about the one big thing, the object section: the header, the rows and the
 * log are read and checked at open (the log in one read), object ops of the log are kept
 * aside, and the object section is read, checksummed and indexed on the first call that
 * needs objects (get/foreach/commit with objects/compaction). The object count is in the
 * header and every COMMIT carries its object delta, so counting needs no object I/O. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cat_int.h"
#include "mo/sys.h"

#define SNAP_MAGIC "MOSYCSN1"
#define LOG_MAGIC "MOSYCLG1"
#define EPOCH_MAGIC "MOSYCEP1"
#define CAT_VERSION 1
#define SNAP_HDR 104
#define LOG_HDR 48
#define EPOCH_LEN 32
#define OBJ_CHUNK 16384 /* object records per read/write */

#define COMPACT_MAX ((uint64_t)64 << 20)
#define COMPACT_MIN ((uint64_t)1 << 20)

static int sys_code(int e)
{
    return e == ENOSPC ? MO_ENOSPC : MO_EIO;
}

static void path_of(char *out, size_t cap, const mo_cat *c, const char *name)
{
    snprintf(out, cap, "%s/%s", c->dir, name);
}

static void log_path(char *out, size_t cap, const mo_cat *c, uint64_t seq)
{
    snprintf(out, cap, "%s/log.%llu", c->dir, (unsigned long long)seq);
}

static void cat_init(mo_cat *c)
{
    static const size_t esz[CAT_NKIND] = {sizeof(mo_cat_sub),     sizeof(mo_cat_task),
                                          sizeof(mo_cat_db),      sizeof(mo_cat_table),
                                          sizeof(mo_cat_object),  sizeof(mo_cat_mapping),
                                          sizeof(mo_cat_snapshot), sizeof(cat_seq)};
    static void (*const disp[CAT_NKIND])(void *) = {
        NULL, NULL, NULL, (void (*)(void *))mo_cat_table_dispose, NULL,
        (void (*)(void *))mo_cat_mapping_dispose, NULL, NULL};
    for (int k = 0; k < CAT_NKIND; k++) {
        size_t klen = 8;
        if (k == CAT_OBJ || k == CAT_MAP)
            klen = MO_OBJ_OBJECTID_LEN;
        else if (k == CAT_SNAP || k == CAT_SEQ)
            klen = 0;
        mo_cat__tab_init(&c->tab[k], esz[k], klen, disp[k]);
    }
    c->lock_fd = c->log_fd = c->snap_fd = -1;
}

/* Frees everything but the lock (used by close and by a reader's full reload). */
static void cat_release(mo_cat *c)
{
    for (int k = 0; k < CAT_NKIND; k++)
        mo_cat__tab_dispose(&c->tab[k]);
    mo_free(c->pend);
    c->pend = NULL;
    c->npend = c->pend_cap = 0;
    mo_free(c->ops);
    c->ops = NULL;
    c->ops_cap = 0;
    if (c->log_fd >= 0)
        mo_sys_close(c->log_fd);
    if (c->snap_fd >= 0)
        mo_sys_close(c->snap_fd);
    c->log_fd = c->snap_fd = -1;
}

/* ---------------- EPOCH and LOCK ---------------- */

int mo_cat__read_epoch(const char *dir, uint64_t *out, mo_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/EPOCH", dir);
    *out = 0;
    const int fd = mo_sys_open(path, O_RDONLY, 0);
    if (fd < 0) {
        if (errno == ENOENT)
            return MO_OK;
        return mo_err_sys(err, MO_EIO, errno, "%s: open", path);
    }
    uint8_t b[EPOCH_LEN + 1];
    ssize_t n;
    do
        n = mo_sys_pread(fd, b, sizeof(b), 0);
    while (n < 0 && errno == EINTR);
    const int e = errno;
    mo_sys_close(fd);
    if (n < 0)
        return mo_err_sys(err, MO_EIO, e, "%s: read", path);
    if (n != EPOCH_LEN || memcmp(b, EPOCH_MAGIC, 8) || mo_load_le32(b + 12) ||
        mo_load_le64(b + 24) != mo_xxh3_64(b, 24))
        return mo_err_set(err, MO_ECORRUPT, "%s: not a valid epoch file (%zd bytes)", path, n);
    if (mo_load_le32(b + 8) != CAT_VERSION)
        return mo_err_set(err, MO_EVERSION, "%s: version %u", path, mo_load_le32(b + 8));
    *out = mo_load_le64(b + 16);
    return MO_OK;
}

static int write_epoch(const char *dir, uint64_t epoch, mo_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/EPOCH", dir);
    uint8_t b[EPOCH_LEN];
    memcpy(b, EPOCH_MAGIC, 8);
    mo_store_le32(b + 8, CAT_VERSION);
    mo_store_le32(b + 12, 0);
    mo_store_le64(b + 16, epoch);
    mo_store_le64(b + 24, mo_xxh3_64(b, 24));
    return mo_sys_write_file_atomic(path, b, sizeof(b), err);
}

static int take_lock(mo_cat *c, mo_err *err)
{
    char path[PATH_MAX + 16];
    path_of(path, sizeof(path), c, "LOCK");
    const int fd = mo_sys_open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0)
        return mo_err_sys(err, MO_EIO, errno, "%s: open", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        const int e = errno;
        char pid[32] = "";
        const ssize_t n = mo_sys_pread(fd, pid, sizeof(pid) - 1, 0);
        mo_sys_close(fd);
        if (e != EWOULDBLOCK)
            return mo_err_sys(err, MO_EIO, e, "%s: flock", path);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        return mo_err_set(err, MO_EEXISTS, "catalog %s is locked by pid %s", c->dir,
                          pid[0] ? pid : "(unknown)");
    }
    c->lock_fd = fd;
    return MO_OK;
}

static void note_pid(mo_cat *c)
{
    char pid[32];
    const int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(c->lock_fd, 0) == 0)
        (void)mo_sys_pwrite(c->lock_fd, pid, (size_t)n, 0);
}

void mo_cat__test_unlock(mo_cat *c)
{
    if (c->lock_fd >= 0) {
        mo_sys_close(c->lock_fd);
        c->lock_fd = -1;
    }
}

/* ---------------- snapshot ---------------- */

static int load_snapshot(mo_cat *c, mo_err *err)
{
    char path[PATH_MAX + 16];
    path_of(path, sizeof(path), c, "snapshot");
    c->log_seq = 1;
    c->snap_commit_seq = c->commit_seq = 0;
    c->snap_size = 0;
    c->snap_nobj = 0;
    c->objs_loaded = true;
    c->obj_count = 0;
    c->snap_dev = 0;
    c->snap_ino = 0;
    const int fd = mo_sys_open(path, O_RDONLY, 0);
    if (fd < 0) {
        if (errno == ENOENT)
            return MO_OK;
        return mo_err_sys(err, MO_EIO, errno, "%s: open", path);
    }
    c->snap_fd = fd;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return mo_err_sys(err, MO_EIO, errno, "%s: stat", path);
    c->snap_dev = st.st_dev;
    c->snap_ino = st.st_ino;
    const uint64_t size = (uint64_t)st.st_size;
    uint8_t h[SNAP_HDR];
    if (size < SNAP_HDR)
        return mo_err_set(err, MO_ETRUNCATED, "%s: %llu bytes, shorter than its header", path,
                          (unsigned long long)size);
    int rc = mo_sys_pread_full(fd, h, SNAP_HDR, 0, path, err);
    if (rc < 0)
        return rc;
    if (memcmp(h, SNAP_MAGIC, 8) || mo_load_le32(h + 12) != SNAP_HDR)
        return mo_err_set(err, MO_ECORRUPT, "%s: not a catalog snapshot (bad magic)", path);
    if (mo_load_le32(h + 8) != CAT_VERSION)
        return mo_err_set(err, MO_EVERSION, "%s: snapshot version %u (known: 1)", path,
                          mo_load_le32(h + 8));
    if (mo_load_le64(h + 96) != mo_xxh3_64(h, 96))
        return mo_err_set(err, MO_ECHECKSUM, "%s: header checksum mismatch", path);
    const uint64_t rows_len = mo_load_le64(h + 40), nobj = mo_load_le64(h + 48);
    uint64_t objb, total;
    if (mo_load_le32(h + 56) != CAT_OBJ_REC || mo_mul_overflow(nobj, CAT_OBJ_REC, &objb) ||
        mo_add_overflow(SNAP_HDR, rows_len, &total) || mo_add_overflow(total, objb, &total) ||
        nobj > UINT32_MAX / 4)
        return mo_err_set(err, MO_ECORRUPT, "%s: bad section sizes", path);
    if (total != size)
        return mo_err_set(err, total > size ? MO_ETRUNCATED : MO_ECORRUPT,
                          "%s: %llu bytes, header says %llu", path, (unsigned long long)size,
                          (unsigned long long)total);
    uint8_t *rows = mo_malloc((size_t)rows_len);
    if (!rows)
        return mo_err_set(err, MO_ENOMEM, "%s: row section of %llu bytes", path,
                          (unsigned long long)rows_len);
    if ((rc = mo_sys_pread_full(fd, rows, (size_t)rows_len, SNAP_HDR, path, err)) < 0)
        goto out;
    const mo_digest128 d = mo_xxh3_128(rows, (size_t)rows_len);
    if (d.lo != mo_load_le64(h + 64) || d.hi != mo_load_le64(h + 72)) {
        rc = mo_err_set(err, MO_ECHECKSUM, "%s: row section checksum mismatch", path);
        goto out;
    }
    char why[200];
    rc = mo_cat__apply_rows(c, rows, (size_t)rows_len, why, sizeof(why), err);
    if (rc == 0)
        rc = mo_err_set(err, MO_ECORRUPT, "%s: row section: %s", path, why);
    if (rc < 0)
        goto out;
    rc = MO_OK;
    c->snap_size = size;
    c->log_seq = mo_load_le64(h + 24);
    c->snap_commit_seq = c->commit_seq = mo_load_le64(h + 32);
    c->last_epoch = mo_load_le64(h + 16);
    c->snap_obj_off = SNAP_HDR + rows_len;
    c->snap_nobj = nobj;
    c->snap_obj_digest.lo = mo_load_le64(h + 80);
    c->snap_obj_digest.hi = mo_load_le64(h + 88);
    c->objs_loaded = nobj == 0;
    c->obj_count = nobj;
out:
    mo_free(rows);
    return rc;
}

int mo_cat__ensure_objects(mo_cat *c, mo_err *err)
{
    if (c->objs_loaded)
        return MO_OK;
    cat_tab *t = &c->tab[CAT_OBJ];
    int rc = mo_cat__tab_reserve(t, (size_t)c->snap_nobj + c->npend);
    if (rc < 0)
        return mo_err_set(err, rc, "catalog: index of %llu objects",
                          (unsigned long long)c->snap_nobj);
    mo_xxh3_stream *hs = NULL;
    uint8_t *buf = mo_malloc((size_t)OBJ_CHUNK * CAT_OBJ_REC);
    if (!buf || mo_xxh3_stream_new(&hs) < 0) {
        rc = mo_err_set(err, MO_ENOMEM, "catalog: object section buffer");
        goto out;
    }
    char path[PATH_MAX + 16];
    path_of(path, sizeof(path), c, "snapshot");
    for (uint64_t i = 0; i < c->snap_nobj;) {
        const size_t k = (size_t)(c->snap_nobj - i < OBJ_CHUNK ? c->snap_nobj - i : OBJ_CHUNK);
        if ((rc = mo_sys_pread_full(c->snap_fd, buf, k * CAT_OBJ_REC,
                                    c->snap_obj_off + i * CAT_OBJ_REC, path, err)) < 0)
            goto out_bad;
        mo_xxh3_stream_update(hs, buf, k * CAT_OBJ_REC);
        for (size_t j = 0; j < k; j++) {
            mo_cat_object o;
            if ((rc = mo_cat__obj_decode(&o, buf + j * CAT_OBJ_REC, err)) < 0) {
                mo_err_prefix(err, "%s: object %llu: ", path, (unsigned long long)(i + j));
                goto out_bad;
            }
            mo_cat__tab_put(t, &o);
        }
        i += k;
    }
    const mo_digest128 d = mo_xxh3_stream_digest(hs);
    if (d.lo != c->snap_obj_digest.lo || d.hi != c->snap_obj_digest.hi) {
        rc = mo_err_set(err, MO_ECHECKSUM, "%s: object section checksum mismatch", path);
        goto out_bad;
    }
    if (t->n != c->snap_nobj) {
        rc = mo_err_set(err, MO_ECORRUPT, "%s: duplicate object ids in the object section", path);
        goto out_bad;
    }
    for (size_t i = 0; i < c->npend; i++) {
        if (c->pend[i].put)
            mo_cat__tab_put(t, &c->pend[i].obj);
        else
            mo_cat__tab_del(t, c->pend[i].obj.stats);
    }
    mo_free(c->pend);
    c->pend = NULL;
    c->npend = c->pend_cap = 0;
    c->objs_loaded = true;
    c->obj_count = t->n;
    goto out;
out_bad:
    /* drop the partial index; the handle can retry */
    mo_free(t->el);
    mo_free(t->slots);
    t->el = NULL;
    t->slots = NULL;
    t->n = t->cap = t->scap = 0;
out:
    mo_xxh3_stream_free(hs);
    mo_free(buf);
    return rc;
}

/* ---------------- log ---------------- */

static void encode_log_hdr(uint8_t h[LOG_HDR], uint64_t seq, uint64_t base, uint64_t epoch)
{
    memcpy(h, LOG_MAGIC, 8);
    mo_store_le32(h + 8, CAT_VERSION);
    mo_store_le32(h + 12, LOG_HDR);
    mo_store_le64(h + 16, seq);
    mo_store_le64(h + 24, base);
    mo_store_le64(h + 32, epoch);
    mo_store_le64(h + 40, mo_xxh3_64(h, 40));
}

/* Creates/overwrites a log file with just its header, durably. */
static int create_log(mo_cat *c, uint64_t seq, int *fd_out, mo_err *err)
{
    char path[PATH_MAX + 32];
    log_path(path, sizeof(path), c, seq);
    const int fd = mo_sys_open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return mo_err_sys(err, sys_code(errno), errno, "%s: create", path);
    uint8_t h[LOG_HDR];
    encode_log_hdr(h, seq, c->commit_seq, c->epoch);
    int rc = mo_sys_pwrite_full(fd, h, LOG_HDR, 0, path, err);
    if (rc == MO_OK && mo_sys_fsync(fd) < 0)
        rc = mo_err_sys(err, sys_code(errno), errno, "%s: fsync", path);
    if (rc == MO_OK)
        rc = mo_sys_fsync_dir_of(path, err);
    if (rc < 0) {
        mo_sys_close(fd);
        return rc;
    }
    *fd_out = fd;
    return MO_OK;
}

static void torn_report(mo_err *err, const char *path, uint64_t off, const char *why,
                        uint64_t dropped)
{
    mo_err_set(err, MO_ECORRUPT, "%s: torn or corrupt at offset %llu (%s); %llu bytes dropped",
               path, (unsigned long long)off, why, (unsigned long long)dropped);
}

/* Opens and replays log.<log_seq>; *torn = bytes past the last complete commit. */
static int load_log(mo_cat *c, uint64_t *torn, mo_err *err)
{
    char path[PATH_MAX + 32];
    log_path(path, sizeof(path), c, c->log_seq);
    *torn = 0;
    c->log_end = 0;
    c->log_ok = false;
    const bool w = c->mode == MO_CAT_WRITE;
    const int fd = mo_sys_open(path, w ? O_RDWR : O_RDONLY, 0);
    if (fd < 0) {
        if (errno == ENOENT)
            return MO_OK; /* no commit since the snapshot (a writer creates it) */
        return mo_err_sys(err, MO_EIO, errno, "%s: open", path);
    }
    c->log_fd = fd;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return mo_err_sys(err, MO_EIO, errno, "%s: stat", path);
    const size_t size = (size_t)st.st_size;
    if (size == 0)
        return MO_OK;
    uint8_t *p = mo_malloc(size);
    if (!p)
        return mo_err_set(err, MO_ENOMEM, "%s: %zu bytes", path, size);
    int rc = mo_sys_pread_full(fd, p, size, 0, path, err);
    if (rc < 0)
        goto out;
    if (size < LOG_HDR || memcmp(p, LOG_MAGIC, 8) || mo_load_le32(p + 8) != CAT_VERSION ||
        mo_load_le32(p + 12) != LOG_HDR || mo_load_le64(p + 40) != mo_xxh3_64(p, 40) ||
        mo_load_le64(p + 16) != c->log_seq || mo_load_le64(p + 24) != c->snap_commit_seq) {
        *torn = size;
        torn_report(err, path, 0, "log header torn or not of this snapshot", size);
        goto out;
    }
    c->log_ok = true;
    size_t end;
    char why[200];
    if ((rc = mo_cat__replay(c, p, size, LOG_HDR, &end, why, sizeof(why), err)) < 0)
        goto out;
    c->log_end = end;
    if (end < size) {
        *torn = size - end;
        torn_report(err, path, end, why, size - end);
    }
out:
    mo_free(p);
    return rc;
}

/* Writer: cut a torn tail (or rewrite a torn header) before appending. */
static int writer_prepare_log(mo_cat *c, uint64_t torn, mo_err *err)
{
    char path[PATH_MAX + 32];
    log_path(path, sizeof(path), c, c->log_seq);
    if (!c->log_ok) {
        if (c->log_fd >= 0)
            mo_sys_close(c->log_fd);
        c->log_fd = -1;
        const int rc = create_log(c, c->log_seq, &c->log_fd, err);
        if (rc < 0)
            return rc;
        c->log_ok = true;
        c->log_end = LOG_HDR;
        return MO_OK;
    }
    if (torn) {
        if (ftruncate(c->log_fd, (off_t)c->log_end) < 0)
            return mo_err_sys(err, MO_EIO, errno, "%s: cut the torn tail", path);
        if (mo_sys_fsync(c->log_fd) < 0)
            return mo_err_sys(err, sys_code(errno), errno, "%s: fsync", path);
    }
    return MO_OK;
}

/* Writer: leftovers of interrupted compactions and atomic writes. */
static void writer_cleanup(mo_cat *c)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX + 300];
    while ((e = readdir(d))) {
        unsigned long long seq;
        int used = 0;
        bool drop = !strcmp(e->d_name, "snapshot.tmp") || !strcmp(e->d_name, "EPOCH.tmp");
        if (sscanf(e->d_name, "log.%llu%n", &seq, &used) == 1 && !e->d_name[used] &&
            seq != c->log_seq)
            drop = true;
        if (drop) {
            snprintf(path, sizeof(path), "%s/%s", c->dir, e->d_name);
            mo_sys_unlink(path);
        }
    }
    closedir(d);
}

/* ---------------- open / close ---------------- */

static int mkdirs(const char *dir, bool create, char *out, size_t cap, mo_err *err)
{
    if ((size_t)snprintf(out, cap, "%s/.mosync/catalog", dir) >= cap)
        return mo_err_set(err, MO_EINVAL, "path too long: %.64s...", dir);
    struct stat st;
    if (stat(out, &st) == 0)
        return MO_OK;
    if (!create)
        return mo_err_sys(err, MO_ENOTFOUND, errno, "%s: no catalog", out);
    char mid[PATH_MAX + 16];
    snprintf(mid, sizeof(mid), "%s/.mosync", dir);
    if (mkdir(mid, 0755) < 0 && errno != EEXIST)
        return mo_err_sys(err, MO_EIO, errno, "%s: mkdir", mid);
    if (mkdir(out, 0755) < 0 && errno != EEXIST)
        return mo_err_sys(err, MO_EIO, errno, "%s: mkdir", out);
    int rc = mo_sys_fsync_dir_of(mid, err);
    return rc < 0 ? rc : mo_sys_fsync_dir_of(out, err);
}

/* Loads snapshot + log into a fresh handle (no lock, no epoch work). */
static int load_state(mo_cat *c, uint64_t *torn, mo_err *err)
{
    for (int attempt = 0;; attempt++) {
        int rc = load_snapshot(c, err);
        if (rc == MO_OK)
            rc = load_log(c, torn, err);
        if (rc < 0 || c->mode == MO_CAT_WRITE)
            return rc;
        /* a reader raced a compaction when the snapshot changed under it: start over */
        char path[PATH_MAX + 16];
        path_of(path, sizeof(path), c, "snapshot");
        struct stat st;
        const bool same = stat(path, &st) == 0 ? (c->snap_fd >= 0 && st.st_dev == c->snap_dev &&
                                                  st.st_ino == c->snap_ino)
                                               : c->snap_fd < 0;
        if (same || attempt == 20)
            return MO_OK;
        cat_release(c);
        cat_init(c);
        mo_err_clear(err);
        *torn = 0;
    }
}

int mo_cat_open(mo_cat **out, const char *dir, int mode, uint64_t *torn_out, mo_err *err)
{
    *out = NULL;
    if (torn_out)
        *torn_out = 0;
    if (mode != MO_CAT_READ && mode != MO_CAT_WRITE)
        return mo_err_set(err, MO_EINVAL, "catalog: bad open mode %d", mode);
    mo_cat *c = mo_calloc(1, sizeof(*c));
    if (!c)
        return mo_err_set(err, MO_ENOMEM, "catalog handle");
    cat_init(c);
    c->mode = mode;
    int rc = mkdirs(dir, mode == MO_CAT_WRITE, c->dir, sizeof(c->dir), err);
    if (rc < 0)
        goto fail;
    if (mode == MO_CAT_WRITE) {
        uint64_t e;
        if ((rc = take_lock(c, err)) < 0 || (rc = mo_cat__read_epoch(c->dir, &e, err)) < 0)
            goto fail;
        if ((rc = write_epoch(c->dir, e + 1, err)) < 0)
            goto fail;
        c->epoch = e + 1;
    }
    uint64_t torn = 0;
    mo_err report;
    mo_err_clear(&report);
    if ((rc = load_state(c, &torn, &report)) < 0) {
        if (err)
            *err = report;
        goto fail;
    }
    if (mode == MO_CAT_WRITE) {
        if ((rc = writer_prepare_log(c, torn, err)) < 0)
            goto fail;
        writer_cleanup(c);
        note_pid(c);
    }
    if (torn && err)
        *err = report; /* MO_OK, with where and why in the message */
    if (torn_out)
        *torn_out = torn;
    *out = c;
    return MO_OK;
fail:
    cat_release(c);
    if (c->lock_fd >= 0)
        mo_sys_close(c->lock_fd);
    mo_free(c);
    return rc;
}

void mo_cat_close(mo_cat *c)
{
    if (!c)
        return;
    mo_err e;
    mo_cat__maybe_compact(c, true, &e);
    cat_release(c);
    if (c->lock_fd >= 0)
        mo_sys_close(c->lock_fd);
    mo_free(c);
}

uint64_t mo_cat_epoch(const mo_cat *c)
{
    return c->mode == MO_CAT_WRITE ? c->epoch : 0;
}

int mo_cat_refresh(mo_cat *c, mo_err *err)
{
    if (c->mode == MO_CAT_WRITE)
        return MO_OK; /* the writer's memory is the newest state */
    char path[PATH_MAX + 32];
    path_of(path, sizeof(path), c, "snapshot");
    struct stat st;
    const bool has = stat(path, &st) == 0;
    const bool same = has ? (c->snap_fd >= 0 && st.st_dev == c->snap_dev && st.st_ino == c->snap_ino)
                          : c->snap_fd < 0;
    if (!same) { /* compacted since: load the new generation aside, then swap */
        mo_cat *n = mo_calloc(1, sizeof(*n));
        if (!n)
            return mo_err_set(err, MO_ENOMEM, "catalog handle");
        cat_init(n);
        n->mode = c->mode;
        memcpy(n->dir, c->dir, sizeof(c->dir));
        uint64_t torn;
        mo_err report;
        const int rc = load_state(n, &torn, &report);
        if (rc < 0) {
            if (err)
                *err = report;
            cat_release(n);
            mo_free(n);
            return rc;
        }
        cat_release(c);
        *c = *n;
        mo_free(n);
        return MO_OK;
    }
    if (c->log_fd < 0) {
        log_path(path, sizeof(path), c, c->log_seq);
        if ((c->log_fd = mo_sys_open(path, O_RDONLY, 0)) < 0) {
            if (errno == ENOENT)
                return MO_OK;
            return mo_err_sys(err, MO_EIO, errno, "%s: open", path);
        }
    }
    if (fstat(c->log_fd, &st) < 0)
        return mo_err_sys(err, MO_EIO, errno, "log: stat");
    const uint64_t from = c->log_ok ? c->log_end : 0;
    if ((uint64_t)st.st_size <= from)
        return MO_OK;
    const size_t n = (size_t)((uint64_t)st.st_size - from);
    uint8_t *p = mo_malloc(n);
    if (!p)
        return mo_err_set(err, MO_ENOMEM, "log: %zu bytes", n);
    int rc = mo_sys_pread_full(c->log_fd, p, n, from, "catalog log", err);
    size_t pos = 0, end = 0;
    char why[200];
    if (rc == MO_OK && !c->log_ok) {
        if (n < LOG_HDR || memcmp(p, LOG_MAGIC, 8) || mo_load_le64(p + 40) != mo_xxh3_64(p, 40) ||
            mo_load_le64(p + 16) != c->log_seq || mo_load_le64(p + 24) != c->snap_commit_seq)
            goto out; /* header not complete yet */
        c->log_ok = true;
        c->log_end = LOG_HDR;
        pos = LOG_HDR;
    }
    if (rc == MO_OK && (rc = mo_cat__replay(c, p, n, pos, &end, why, sizeof(why), err)) == MO_OK)
        c->log_end = from + end;
out:
    mo_free(p);
    return rc;
}

/* ---------------- compaction ---------------- */

static int write_snapshot(mo_cat *c, const char *tmp, uint64_t *size_out, mo_err *err)
{
    mo_buf rows = MO_BUF_INIT;
    uint8_t *chunk = NULL;
    mo_xxh3_stream *hs = NULL;
    int fd = -1, rc = MO_OK;
    for (int k = 0; k < CAT_NKIND; k++) {
        if (k == CAT_OBJ)
            continue;
        for (size_t i = 0; i < c->tab[k].n; i++)
            if ((rc = mo_cat__enc_put(&rows, k, mo_cat__tab_at(&c->tab[k], i))) < 0) {
                rc = mo_err_set(err, rc, "snapshot: encoding rows");
                goto out;
            }
    }
    chunk = mo_malloc((size_t)OBJ_CHUNK * CAT_OBJ_REC);
    if (!chunk || mo_xxh3_stream_new(&hs) < 0) {
        rc = mo_err_set(err, MO_ENOMEM, "snapshot: buffers");
        goto out;
    }
    if ((fd = mo_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        rc = mo_err_sys(err, sys_code(errno), errno, "%s: create", tmp);
        goto out;
    }
    uint64_t off = SNAP_HDR;
    if ((rc = mo_sys_pwrite_full(fd, rows.ptr, rows.len, off, tmp, err)) < 0)
        goto out;
    off += rows.len;
    const cat_tab *t = &c->tab[CAT_OBJ];
    for (size_t i = 0; i < t->n;) {
        const size_t k = t->n - i < OBJ_CHUNK ? t->n - i : OBJ_CHUNK;
        for (size_t j = 0; j < k; j++)
            mo_cat__obj_encode(chunk + j * CAT_OBJ_REC, mo_cat__tab_at(t, i + j));
        mo_xxh3_stream_update(hs, chunk, k * CAT_OBJ_REC);
        if ((rc = mo_sys_pwrite_full(fd, chunk, k * CAT_OBJ_REC, off, tmp, err)) < 0)
            goto out;
        off += k * CAT_OBJ_REC;
        i += k;
    }
    uint8_t h[SNAP_HDR];
    memcpy(h, SNAP_MAGIC, 8);
    mo_store_le32(h + 8, CAT_VERSION);
    mo_store_le32(h + 12, SNAP_HDR);
    mo_store_le64(h + 16, c->epoch);
    mo_store_le64(h + 24, c->log_seq + 1);
    mo_store_le64(h + 32, c->commit_seq);
    mo_store_le64(h + 40, rows.len);
    mo_store_le64(h + 48, t->n);
    mo_store_le32(h + 56, CAT_OBJ_REC);
    mo_store_le32(h + 60, 0);
    const mo_digest128 dr = mo_xxh3_128(rows.ptr ? rows.ptr : (const uint8_t *)"", rows.len);
    const mo_digest128 dobj = mo_xxh3_stream_digest(hs);
    mo_store_le64(h + 64, dr.lo);
    mo_store_le64(h + 72, dr.hi);
    mo_store_le64(h + 80, dobj.lo);
    mo_store_le64(h + 88, dobj.hi);
    mo_store_le64(h + 96, mo_xxh3_64(h, 96));
    if ((rc = mo_sys_pwrite_full(fd, h, SNAP_HDR, 0, tmp, err)) < 0)
        goto out;
    if (mo_sys_fsync(fd) < 0) {
        rc = mo_err_sys(err, sys_code(errno), errno, "%s: fsync", tmp);
        goto out;
    }
    *size_out = off;
out:
    if (fd >= 0)
        mo_sys_close(fd);
    if (rc < 0 && fd >= 0)
        mo_sys_unlink(tmp);
    mo_xxh3_stream_free(hs);
    mo_free(chunk);
    mo_buf_dispose(&rows);
    return rc;
}

int mo_cat_compact(mo_cat *c, mo_err *err)
{
    if (c->mode != MO_CAT_WRITE)
        return mo_err_set(err, MO_EINVAL, "catalog %s: opened read-only", c->dir);
    if (c->poisoned)
        return mo_err_set(err, MO_EIO, "catalog %s: an earlier commit failed; reopen it", c->dir);
    uint64_t cur;
    int rc = mo_cat__read_epoch(c->dir, &cur, err);
    if (rc < 0)
        return rc;
    if (cur != c->epoch)
        return mo_err_set(err, MO_ESTALE, "catalog %s: writer epoch %llu is stale (epoch %llu)",
                          c->dir, (unsigned long long)c->epoch, (unsigned long long)cur);
    if ((rc = mo_cat__ensure_objects(c, err)) < 0)
        return rc;
    char tmp[PATH_MAX + 16], snap[PATH_MAX + 16], old[PATH_MAX + 32];
    path_of(tmp, sizeof(tmp), c, "snapshot.tmp");
    path_of(snap, sizeof(snap), c, "snapshot");
    uint64_t size = 0;
    if ((rc = write_snapshot(c, tmp, &size, err)) < 0)
        return rc;
    if (mo_sys_rename(tmp, snap) < 0) {
        rc = mo_err_sys(err, sys_code(errno), errno, "rename %s -> %s", tmp, snap);
        mo_sys_unlink(tmp);
        return rc;
    }
    /* from here the new snapshot is the truth once the directory is durable; on any failure
     * the handle cannot know which log a reopen will follow, so it is poisoned */
    if ((rc = mo_sys_fsync_dir_of(snap, err)) < 0) {
        c->poisoned = 1;
        return rc;
    }
    int nfd;
    c->log_seq++;
    if ((rc = create_log(c, c->log_seq, &nfd, err)) < 0) {
        c->poisoned = 1;
        return rc;
    }
    log_path(old, sizeof(old), c, c->log_seq - 1);
    if (c->log_fd >= 0)
        mo_sys_close(c->log_fd);
    c->log_fd = nfd;
    c->log_end = LOG_HDR;
    c->log_ok = true;
    c->snap_commit_seq = c->commit_seq;
    c->snap_size = size;
    mo_sys_unlink(old); /* a leftover is removed by the next writer's open */
    if (c->snap_fd >= 0)
        mo_sys_close(c->snap_fd);
    c->snap_fd = -1;
    return MO_OK;
}

int mo_cat__maybe_compact(mo_cat *c, bool closing, mo_err *err)
{
    if (c->mode != MO_CAT_WRITE || c->poisoned || c->log_end <= LOG_HDR)
        return MO_OK;
    const uint64_t log = c->log_end - LOG_HDR;
    bool go;
    if (closing) /* keep the next open's replay short */
        go = log > COMPACT_MIN && log > c->snap_size / 64;
    else
        go = log > COMPACT_MAX || (log > COMPACT_MIN && log > 4 * c->snap_size);
    return go ? mo_cat_compact(c, err) : MO_OK;
}

/* ---------------- reads ---------------- */

int mo_cat_get_sub(mo_cat *c, uint64_t task_id, mo_cat_sub *out)
{
    const mo_cat_sub *s = mo_cat__tab_get(&c->tab[CAT_SUB], &task_id);
    if (!s)
        return MO_ENOTFOUND;
    *out = *s;
    return MO_OK;
}

int mo_cat_get_sub_by_name(mo_cat *c, const char *name, mo_cat_sub *out)
{
    for (size_t i = 0; i < c->tab[CAT_SUB].n; i++) {
        const mo_cat_sub *s = mo_cat__tab_at(&c->tab[CAT_SUB], i);
        if (!strcmp(s->name, name)) {
            *out = *s;
            return MO_OK;
        }
    }
    return MO_ENOTFOUND;
}

int mo_cat_get_task(mo_cat *c, uint64_t job_id, mo_cat_task *out)
{
    const mo_cat_task *k = mo_cat__tab_get(&c->tab[CAT_TASK], &job_id);
    if (!k)
        return MO_ENOTFOUND;
    *out = *k;
    return MO_OK;
}

int mo_cat_get_table(mo_cat *c, uint64_t down_id, mo_cat_table *out, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    const mo_cat_table *t = mo_cat__tab_get(&c->tab[CAT_TABLE], &down_id);
    if (!t)
        return mo_err_set(err, MO_ENOTFOUND, "table id %llu not in the catalog",
                          (unsigned long long)down_id);
    if (mo_cat_table_copy(out, t) < 0) {
        memset(out, 0, sizeof(*out));
        return mo_err_set(err, MO_ENOMEM, "table copy");
    }
    return MO_OK;
}

int mo_cat_find_table(mo_cat *c, const char *db, const char *name, mo_cat_table *out, mo_err *err)
{
    for (size_t i = 0; i < c->tab[CAT_TABLE].n; i++) {
        const mo_cat_table *t = mo_cat__tab_at(&c->tab[CAT_TABLE], i);
        if (!strcmp(t->db, db) && !strcmp(t->name, name) && !t->dropped_ts.physical &&
            !t->dropped_ts.logical)
            return mo_cat_get_table(c, t->down_id, out, err);
    }
    memset(out, 0, sizeof(*out));
    return mo_err_set(err, MO_ENOTFOUND, "table %s.%s not in the catalog", db, name);
}

int mo_cat_get_object(mo_cat *c, const uint8_t id[MO_OBJ_OBJECTID_LEN], mo_cat_object *out)
{
    const int rc = mo_cat__ensure_objects(c, NULL);
    if (rc < 0)
        return rc;
    const mo_cat_object *o = mo_cat__tab_get(&c->tab[CAT_OBJ], id);
    if (!o)
        return MO_ENOTFOUND;
    *out = *o;
    return MO_OK;
}

int mo_cat_get_mapping(mo_cat *c, const uint8_t up[MO_OBJ_OBJECTID_LEN], mo_cat_mapping *out,
                       mo_err *err)
{
    memset(out, 0, sizeof(*out));
    const mo_cat_mapping *m = mo_cat__tab_get(&c->tab[CAT_MAP], up);
    if (!m)
        return MO_ENOTFOUND;
    if (mo_cat__mapping_copy(out, m) < 0) {
        memset(out, 0, sizeof(*out));
        return mo_err_set(err, MO_ENOMEM, "mapping copy");
    }
    return MO_OK;
}

int mo_cat_get_snapshot(mo_cat *c, const char *name, mo_cat_snapshot *out)
{
    if (strnlen(name, MO_CAT_NAME_MAX) >= MO_CAT_NAME_MAX)
        return MO_ENOTFOUND;
    const mo_cat_snapshot *s = mo_cat__tab_get(&c->tab[CAT_SNAP], name);
    if (!s)
        return MO_ENOTFOUND;
    *out = *s;
    return MO_OK;
}

uint64_t mo_cat_count_objects(mo_cat *c)
{
    return c->obj_count;
}

/* ---------------- enumeration ---------------- */

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = **(const uint64_t *const *)a, y = **(const uint64_t *const *)b;
    return x < y ? -1 : x > y;
}
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int foreach_kind(mo_cat *c, int kind, int (*cmp)(const void *, const void *),
                        bool (*keep)(const void *, void *), void *kp,
                        int (*cb)(const void *, void *), void *payload)
{
    void **v;
    size_t n;
    int rc = mo_cat__tab_sorted(&c->tab[kind], cmp, keep, kp, &v, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && rc == MO_OK; i++)
        if (cb(v[i], payload))
            rc = MO_EUSER;
    mo_free(v);
    return rc;
}

typedef int (*row_cb)(const void *, void *);

int mo_cat_foreach_sub(mo_cat *c, int (*cb)(const mo_cat_sub *, void *), void *payload)
{
    return foreach_kind(c, CAT_SUB, cmp_u64, NULL, NULL, (row_cb)cb, payload);
}
int mo_cat_foreach_task(mo_cat *c, int (*cb)(const mo_cat_task *, void *), void *payload)
{
    return foreach_kind(c, CAT_TASK, cmp_u64, NULL, NULL, (row_cb)cb, payload);
}
int mo_cat_foreach_db(mo_cat *c, int (*cb)(const mo_cat_db *, void *), void *payload)
{
    return foreach_kind(c, CAT_DB, cmp_u64, NULL, NULL, (row_cb)cb, payload);
}
int mo_cat_foreach_table(mo_cat *c, int (*cb)(const mo_cat_table *, void *), void *payload)
{
    return foreach_kind(c, CAT_TABLE, cmp_u64, NULL, NULL, (row_cb)cb, payload);
}
int mo_cat_foreach_snapshot(mo_cat *c, int (*cb)(const mo_cat_snapshot *, void *), void *payload)
{
    return foreach_kind(c, CAT_SNAP, cmp_str, NULL, NULL, (row_cb)cb, payload);
}

/* Objects are the bulk: sort compact inline keys (segment as two big-endian words, then the
 * file number) instead of chasing row pointers, which is several times faster at 1M rows. */
typedef struct obj_key {
    uint64_t a, b;
    uint32_t num, idx;
} obj_key;

static int cmp_obj_key(const void *x, const void *y)
{
    const obj_key *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return p->num < q->num ? -1 : p->num > q->num;
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int mo_cat_foreach_object(mo_cat *c, uint64_t table_id, int (*cb)(const mo_cat_object *, void *),
                          void *payload)
{
    int rc = mo_cat__ensure_objects(c, NULL);
    if (rc < 0)
        return rc;
    const cat_tab *t = &c->tab[CAT_OBJ];
    if (!t->n)
        return MO_OK;
    obj_key *k = mo_malloc(t->n * sizeof(*k));
    if (!k)
        return MO_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const mo_cat_object *o = mo_cat__tab_at(t, i);
        if (table_id && o->table_id != table_id)
            continue;
        k[n].a = load_be64(o->stats);
        k[n].b = load_be64(o->stats + 8);
        k[n].num = mo_load_le16(o->stats + 16);
        k[n].idx = (uint32_t)i;
        n++;
    }
    qsort(k, n, sizeof(*k), cmp_obj_key);
    for (size_t i = 0; i < n && rc == MO_OK; i++)
        if (cb(mo_cat__tab_at(t, k[i].idx), payload))
            rc = MO_EUSER;
    mo_free(k);
    return rc;
}

const char *mo_cat_dir(const mo_cat *c)
{
    return c->dir;
}
