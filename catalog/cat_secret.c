/*
 * Subscription passwords, kept out of the catalog log: "<catalog>/secrets", mode 0600,
 * owned by the process's user. Layout (little-endian):
 *   "MOSECRET" | u32 version (1) | u32 count | count x (u64 task_id | u32 len | len bytes)
 *   | u64 xxh64 of everything before it.
 * Written whole each time: "<secrets>.tmp" created 0600 (O_EXCL after removing a stale one,
 * so an old temp file's mode never leaks), write, fsync, rename, fsync of the directory. A
 * file that group or others may read is refused (the password may already have leaked, and
 * silently tightening it would hide that). Only writers (epoch != 0) may change the file;
 * the catalog's single-writer lock serializes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo/cat.h"
#include "mo/hash.h"
#include "mo/sys.h"

#define SECRET_MAGIC "MOSECRET"
#define SECRET_VERSION 1u
#define SECRET_MAX_LEN 4096u

typedef struct secret_ent {
    uint64_t task_id;
    uint32_t len;
    const uint8_t *p; /* points into the loaded file or the caller's string */
} secret_ent;

typedef struct secret_file {
    uint8_t *raw;
    size_t rawlen;
    secret_ent *ents;
    uint32_t n;
} secret_file;

static void secret_file_dispose(secret_file *f)
{
    if (f->raw)
        memset(f->raw, 0, f->rawlen);
    mo_free(f->raw);
    mo_free(f->ents);
    memset(f, 0, sizeof(*f));
}

static int secrets_path(char *out, size_t cap, mo_cat *c, mo_err *err)
{
    const char *dir = mo_cat_dir(c);
    if (!dir)
        return mo_err_set(err, MO_EINVAL, "catalog has no directory");
    if ((size_t)snprintf(out, cap, "%s/secrets", dir) >= cap)
        return mo_err_set(err, MO_EINVAL, "catalog path too long");
    return MO_OK;
}

/* Loads the file; a missing file is an empty set. */
static int secret_load(secret_file *f, const char *path, mo_err *err)
{
    memset(f, 0, sizeof(*f));
    int fd = mo_sys_open(path, O_RDONLY | O_NOFOLLOW, 0);
    if (fd < 0) {
        if (errno == ENOENT)
            return MO_OK;
        return mo_err_sys(err, MO_EIO, errno, "%s: open", path);
    }
    struct stat st;
    int rc = MO_OK;
    if (fstat(fd, &st) < 0) {
        rc = mo_err_sys(err, MO_EIO, errno, "%s: stat", path);
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = mo_err_set(err, MO_EINVAL, "%s: not a regular file", path);
        goto out_close;
    }
    if (st.st_mode & 077) {
        rc = mo_err_set(err, MO_EINVAL,
                        "%s: mode %04o lets group or others read the passwords; refusing to use "
                        "it (chmod 600 it after checking who read it)",
                        path, (unsigned)(st.st_mode & 07777));
        goto out_close;
    }
    if (st.st_uid != geteuid()) {
        rc = mo_err_set(err, MO_EINVAL, "%s: owned by uid %u, not by this user", path,
                        (unsigned)st.st_uid);
        goto out_close;
    }
    f->rawlen = (size_t)st.st_size;
    if (f->rawlen < 8 + 4 + 4 + 8) {
        rc = mo_err_set(err, MO_ECORRUPT, "%s: %zu bytes, shorter than a header", path, f->rawlen);
        goto out_close;
    }
    if (!(f->raw = mo_malloc(f->rawlen))) {
        rc = mo_err_set(err, MO_ENOMEM, "%s: %zu bytes", path, f->rawlen);
        goto out_close;
    }
    if ((rc = mo_sys_pread_full(fd, f->raw, f->rawlen, 0, path, err)) < 0)
        goto out_close;
    mo_sys_close(fd);
    fd = -1;
    if (memcmp(f->raw, SECRET_MAGIC, 8)) {
        rc = mo_err_set(err, MO_ECORRUPT, "%s: bad magic", path);
        goto out;
    }
    uint64_t want = mo_load_le64(f->raw + f->rawlen - 8);
    uint64_t got = mo_xxh64(f->raw, f->rawlen - 8);
    if (want != got) {
        rc = mo_err_set(err, MO_ECHECKSUM, "%s: xxh64 %016llx != stored %016llx", path,
                        (unsigned long long)got, (unsigned long long)want);
        goto out;
    }
    uint32_t ver = mo_load_le32(f->raw + 8);
    if (ver != SECRET_VERSION) {
        rc = mo_err_set(err, MO_EVERSION, "%s: version %u (this build reads %u)", path, ver,
                        SECRET_VERSION);
        goto out;
    }
    uint32_t n = mo_load_le32(f->raw + 12);
    mo_cur cur;
    mo_cur_init(&cur, f->raw + 16, f->rawlen - 16 - 8);
    if (n > mo_cur_left(&cur) / 12) {
        rc = mo_err_set(err, MO_ECORRUPT, "%s: count %u does not fit the file", path, n);
        goto out;
    }
    if (n && !(f->ents = mo_calloc(n, sizeof(*f->ents)))) {
        rc = mo_err_set(err, MO_ENOMEM, "%s: %u entries", path, n);
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        secret_ent *e = &f->ents[i];
        if (!mo_cur_le64(&cur, &e->task_id) || !mo_cur_le32(&cur, &e->len) ||
            e->len > SECRET_MAX_LEN || !mo_cur_take(&cur, e->len, &e->p)) {
            rc = mo_err_set(err, MO_ECORRUPT, "%s: entry %u truncated", path, i);
            goto out;
        }
    }
    if (mo_cur_left(&cur)) {
        rc = mo_err_set(err, MO_ECORRUPT, "%s: %zu trailing bytes", path, mo_cur_left(&cur));
        goto out;
    }
    f->n = n;
    return MO_OK;
out_close:
    mo_sys_close(fd);
out:
    secret_file_dispose(f);
    return rc;
}

static int secret_store(const char *path, const secret_ent *ents, uint32_t n, mo_err *err)
{
    mo_buf b = MO_BUF_INIT;
    int rc = mo_buf_put(&b, SECRET_MAGIC, 8);
    if (rc == MO_OK)
        rc = mo_buf_put_le32(&b, SECRET_VERSION);
    if (rc == MO_OK)
        rc = mo_buf_put_le32(&b, n);
    for (uint32_t i = 0; i < n && rc == MO_OK; i++) {
        rc = mo_buf_put_le64(&b, ents[i].task_id);
        if (rc == MO_OK)
            rc = mo_buf_put_le32(&b, ents[i].len);
        if (rc == MO_OK && ents[i].len)
            rc = mo_buf_put(&b, ents[i].p, ents[i].len);
    }
    if (rc == MO_OK)
        rc = mo_buf_put_le64(&b, mo_xxh64(b.ptr, b.len));
    if (rc < 0) {
        rc = mo_err_set(err, MO_ENOMEM, "secrets: building %u entries", n);
        goto out;
    }
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        rc = mo_err_set(err, MO_EINVAL, "secrets path too long");
        goto out;
    }
    if (mo_sys_unlink(tmp) < 0 && errno != ENOENT) {
        rc = mo_err_sys(err, MO_EIO, errno, "%s: unlink stale temp", tmp);
        goto out;
    }
    int fd = mo_sys_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = mo_err_sys(err, errno == ENOSPC ? MO_ENOSPC : MO_EIO, errno, "%s: create", tmp);
        goto out;
    }
    /* the umask can only remove bits, but be explicit: 0600 whatever happened before */
    if (fchmod(fd, 0600) < 0)
        rc = mo_err_sys(err, MO_EIO, errno, "%s: chmod 600", tmp);
    if (rc == MO_OK)
        rc = mo_sys_pwrite_full(fd, b.ptr, b.len, 0, tmp, err);
    if (rc == MO_OK && mo_sys_fsync(fd) < 0)
        rc = mo_err_sys(err, MO_EIO, errno, "%s: fsync", tmp);
    mo_sys_close(fd);
    if (rc == MO_OK && mo_sys_rename(tmp, path) < 0)
        rc = mo_err_sys(err, MO_EIO, errno, "rename %s -> %s", tmp, path);
    if (rc < 0) {
        mo_sys_unlink(tmp);
        goto out;
    }
    rc = mo_sys_fsync_dir_of(path, err);
out:
    if (b.ptr)
        memset(b.ptr, 0, b.cap);
    mo_buf_dispose(&b);
    return rc;
}

/* Rewrites the file with @p task_id set to @p password (NULL: removed). */
static int secret_update(mo_cat *c, uint64_t task_id, const char *password, mo_err *err)
{
    if (mo_cat_epoch(c) == 0)
        return mo_err_set(err, MO_EINVAL, "secrets: catalog opened read-only");
    size_t plen = password ? strlen(password) : 0;
    if (plen > SECRET_MAX_LEN)
        return mo_err_set(err, MO_EINVAL, "password longer than %u bytes", SECRET_MAX_LEN);
    char path[4096];
    int rc = secrets_path(path, sizeof(path), c, err);
    if (rc < 0)
        return rc;
    secret_file f;
    if ((rc = secret_load(&f, path, err)) < 0)
        return rc;
    secret_ent *ents = mo_calloc((size_t)f.n + 1, sizeof(*ents));
    if (!ents) {
        secret_file_dispose(&f);
        return mo_err_set(err, MO_ENOMEM, "secrets: %u entries", f.n + 1);
    }
    uint32_t n = 0;
    bool found = false;
    for (uint32_t i = 0; i < f.n; i++) {
        if (f.ents[i].task_id == task_id) {
            found = true;
            continue;
        }
        ents[n++] = f.ents[i];
    }
    if (password)
        ents[n++] = (secret_ent){task_id, (uint32_t)plen, (const uint8_t *)password};
    if (password || found)
        rc = secret_store(path, ents, n, err);
    mo_free(ents);
    secret_file_dispose(&f);
    return rc;
}

int mo_cat_secret_put(mo_cat *c, uint64_t task_id, const char *password, mo_err *err)
{
    return secret_update(c, task_id, password, err);
}

int mo_cat_secret_del(mo_cat *c, uint64_t task_id, mo_err *err)
{
    return secret_update(c, task_id, NULL, err);
}

int mo_cat_secret_get(mo_cat *c, uint64_t task_id, char *out, size_t cap, mo_err *err)
{
    if (cap)
        out[0] = 0;
    char path[4096];
    int rc = secrets_path(path, sizeof(path), c, err);
    if (rc < 0)
        return rc;
    secret_file f;
    if ((rc = secret_load(&f, path, err)) < 0)
        return rc;
    rc = MO_ENOTFOUND;
    for (uint32_t i = 0; i < f.n; i++) {
        if (f.ents[i].task_id != task_id)
            continue;
        if (f.ents[i].len >= cap) {
            rc = mo_err_set(err, MO_EINVAL, "password of task %llu longer than the buffer",
                            (unsigned long long)task_id);
            break;
        }
        memcpy(out, f.ents[i].p, f.ents[i].len);
        out[f.ents[i].len] = 0;
        rc = MO_OK;
        break;
    }
    if (rc == MO_ENOTFOUND)
        mo_err_set(err, MO_ENOTFOUND, "no password stored for task %llu",
                   (unsigned long long)task_id);
    secret_file_dispose(&f);
    return rc;
}
