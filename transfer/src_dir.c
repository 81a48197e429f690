/* The `dir` source: a fileservice directory of flat object files (raw local2/S3 layout or
 * legacy DISK CRC-32C framing, detected per file). Only files whose names are valid
 * 42-char object names are objects; everything else is ignored and counted. Framed files
 * are served as logical bytes with every touched block's CRC checked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo/sys.h"
#include "mo/upstream.h"
#include "mo/xfer.h"

typedef struct dir_file {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    int fd;
    bool framed;
    uint64_t phys;
} dir_file;

typedef struct dir_src {
    char *path;
    char *identity;
    pthread_mutex_t mu;
    dir_file open[16]; /* small cache of open files, one per object in flight */
    unsigned next_evict;
    uint64_t *counter; /* test seam: MO_TEST_READ_COUNTER, survives _exit via a shared map */
} dir_src;

static int dir_list(mo_src *s, mo_obj_ref_cb cb, void *payload, uint64_t *ignored, mo_err *err)
{
    dir_src *d = s->ctx;
    DIR *dh = opendir(d->path);
    if (!dh)
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s: opendir",
                          d->path);
    /* collect then sort: a stable order makes the job's object-list digest stable */
    mo_obj_ref *refs = NULL;
    size_t n = 0, cap = 0;
    int rc = MO_OK;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (!mo_obj_name_valid(de->d_name)) {
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                (*ignored)++;
            continue;
        }
        char p[PATH_MAX];
        struct stat st;
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", d->path, de->d_name) >= sizeof(p) ||
            stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
            (*ignored)++;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            mo_obj_ref *nr = mo_realloc(refs, cap * sizeof(*nr));
            if (!nr) {
                rc = mo_err_set(err, MO_ENOMEM, "listing %s", d->path);
                break;
            }
            refs = nr;
        }
        mo_obj_ref *r = &refs[n++];
        memset(r, 0, sizeof(*r));
        memcpy(r->name, de->d_name, MO_OBJ_NAME_STR_LEN + 1);
        r->size = (uint64_t)st.st_size;
        /* framed files are served as logical bytes */
        uint8_t first[MO_OBJ_FRAME_BLOCK];
        int fd = mo_sys_open(p, O_RDONLY, 0);
        if (fd < 0) {
            rc = mo_err_sys(err, MO_EIO, errno, "%s: open", p);
            break;
        }
        size_t k = st.st_size < (off_t)sizeof(first) ? (size_t)st.st_size : sizeof(first);
        rc = mo_sys_pread_full(fd, first, k, 0, p, err);
        mo_sys_close(fd);
        if (rc < 0)
            break;
        if (mo_obj_frame_detect(first, k) &&
            (rc = mo_obj_frame_logical_size(&r->size, (uint64_t)st.st_size, err)) < 0) {
            mo_err_prefix(err, "%s: ", p);
            break;
        }
    }
    closedir(dh);
    if (rc == MO_OK) {
        qsort(refs, n, sizeof(*refs), (int (*)(const void *, const void *))strcmp);
        for (size_t i = 0; i < n && rc == MO_OK; i++)
            if (cb(&refs[i], payload) != 0)
                rc = mo_err_set(err, MO_EUSER, "listing stopped by the caller");
    }
    mo_free(refs);
    return rc;
}

/* Returns the cached descriptor of @p name (under d->mu). */
static int dir_get(dir_src *d, const char *name, dir_file **out, mo_err *err)
{
    for (unsigned i = 0; i < 16; i++)
        if (d->open[i].fd >= 0 && !strcmp(d->open[i].name, name)) {
            *out = &d->open[i];
            return MO_OK;
        }
    dir_file *f = &d->open[d->next_evict++ % 16];
    if (f->fd >= 0)
        mo_sys_close(f->fd);
    f->fd = -1;
    char p[PATH_MAX];
    if (!mo_obj_name_valid(name))
        return mo_err_set(err, MO_EINVAL, "not an object name: '%.60s'", name);
    snprintf(p, sizeof(p), "%s/%s", d->path, name);
    int fd = mo_sys_open(p, O_RDONLY, 0);
    if (fd < 0)
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s: open", p);
    struct stat st;
    uint8_t first[MO_OBJ_FRAME_BLOCK];
    if (fstat(fd, &st) < 0) {
        mo_sys_close(fd);
        return mo_err_sys(err, MO_EIO, errno, "%s: stat", p);
    }
    size_t k = st.st_size < (off_t)sizeof(first) ? (size_t)st.st_size : sizeof(first);
    int rc = mo_sys_pread_full(fd, first, k, 0, p, err);
    if (rc < 0) {
        mo_sys_close(fd);
        return rc;
    }
    memcpy(f->name, name, MO_OBJ_NAME_STR_LEN + 1);
    f->fd = fd;
    f->phys = (uint64_t)st.st_size;
    f->framed = mo_obj_frame_detect(first, k);
    *out = f;
    return MO_OK;
}

static int dir_read(mo_src *s, const char *name, uint64_t off, void *buf, size_t n, mo_err *err)
{
    dir_src *d = s->ctx;
    pthread_mutex_lock(&d->mu);
    dir_file *f;
    int rc = dir_get(d, name, &f, err);
    int fd = rc == MO_OK ? f->fd : -1;
    bool framed = rc == MO_OK && f->framed;
    uint64_t phys = rc == MO_OK ? f->phys : 0;
    /* pread is thread-safe; the fd stays open while its object is in flight (16 > -j) */
    pthread_mutex_unlock(&d->mu);
    if (rc < 0)
        return rc;
    rc = framed ? mo_obj_frame_pread(fd, phys, buf, n, off, name, err)
                : mo_sys_pread_full(fd, buf, n, off, name, err);
    if (rc == MO_OK) {
        __atomic_add_fetch(&s->bytes_read, n, __ATOMIC_RELAXED);
        if (d->counter)
            __atomic_add_fetch(d->counter, n, __ATOMIC_RELAXED);
    }
    return rc;
}

static const char *dir_identity(mo_src *s)
{
    return ((dir_src *)s->ctx)->identity;
}

static void dir_free(mo_src *s)
{
    dir_src *d = s->ctx;
    for (unsigned i = 0; i < 16; i++)
        if (d->open[i].fd >= 0)
            mo_sys_close(d->open[i].fd);
    pthread_mutex_destroy(&d->mu);
    if (d->counter)
        munmap(d->counter, sizeof(uint64_t));
    mo_free(d->path);
    mo_free(d->identity);
    mo_free(d);
    mo_free(s);
}

static const struct mo_src_ops dir_src_ops = {
    MO_SRC_OPS_VERSION, "dir", MO_SRC_SEEK | MO_SRC_LIST, dir_list, dir_read, dir_identity,
    dir_free, NULL, NULL, NULL,
};

int mo_src_dir_open(mo_src **out, const char *path, mo_err *err)
{
    *out = NULL;
    char abs[PATH_MAX];
    if (!realpath(path, abs))
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s", path);
    struct stat st;
    if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode))
        return mo_err_set(err, MO_EINVAL, "%s: not a directory", path);
    mo_src *s = mo_calloc(1, sizeof(*s));
    dir_src *d = mo_calloc(1, sizeof(*d));
    size_t il = strlen(abs) + 5;
    char *id = mo_malloc(il);
    if (!s || !d || !id || !(d->path = mo_strdup(abs))) {
        mo_free(s);
        mo_free(id);
        if (d)
            mo_free(d->path);
        mo_free(d);
        return mo_err_set(err, MO_ENOMEM, "dir source");
    }
    snprintf(id, il, "dir:%s", abs);
    d->identity = id;
    for (unsigned i = 0; i < 16; i++)
        d->open[i].fd = -1;
    pthread_mutex_init(&d->mu, NULL);
#ifdef MO_FAULT_INJECTION
    /* crash tests count payload served across killed runs in a shared 8-byte file */
    const char *cpath = getenv("MO_TEST_READ_COUNTER");
    if (cpath && *cpath) {
        int cfd = mo_sys_open(cpath, O_RDWR | O_CREAT, 0644);
        if (cfd >= 0 && ftruncate(cfd, sizeof(uint64_t)) == 0) {
            void *m = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
            if (m != MAP_FAILED)
                d->counter = m;
        }
        if (cfd >= 0)
            mo_sys_close(cfd);
    }
#endif
    s->ops = &dir_src_ops;
    s->ctx = d;
    *out = s;
    return MO_OK;
}

void mo_src_free(mo_src *s)
{
    if (s)
        s->ops->free(s);
}

int mo_src_open(mo_src **out, const char *spec, mo_err *err)
{
    if (!strncmp(spec, "mysql://", 8))
        return mo_src_mysql_open(out, spec, err);
    if (!strncmp(spec, "dir:", 4))
        return mo_src_dir_open(out, spec + 4, err);
    if (!strncmp(spec, "bundle:", 7))
        return mo_src_bundle_open(out, spec + 7, err);
    struct stat st;
    if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode))
        return mo_src_dir_open(out, spec, err);
    return mo_src_bundle_open(out, spec, err);
}
