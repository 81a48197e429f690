/* The mo_sys syscall seam. Every durable-path syscall passes through here so that fault
 * injection can fail (EIO/ENOSPC) or crash (_exit) at an exact call, which is how the crash
 * and I/O-loop tests reach every failure point deterministically. */
#define _GNU_SOURCE /* sync_file_range */
#include "mo/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo/base.h"

/* atomics: worker threads do I/O concurrently, and a racy ++ would also lose counts */
static unsigned long sys_calls[MO_SYS_OP_COUNT];

#ifdef MO_FAULT_INJECTION
static struct {
    unsigned long nth; /* absolute call number that faults; 0 = off */
    mo_sys_fault_action action;
    bool persistent;
} sys_faults[MO_SYS_OP_COUNT];
static bool sys_env_loaded;

static void sys_load_env(void)
{
    if (__atomic_exchange_n(&sys_env_loaded, true, __ATOMIC_ACQ_REL))
        return;
    const char *spec = getenv("MO_FAULT");
    if (spec && *spec) {
        mo_err e;
        if (mo_sys_fault_parse(spec, &e) < 0)
            fprintf(stderr, "MO_FAULT ignored: %s\n", e.msg);
    }
}

/* Returns 0 to proceed, or -1 with errno set for an injected failure. */
static int sys_enter(mo_sys_op op)
{
    sys_load_env();
    const unsigned long n = __atomic_add_fetch(&sys_calls[op], 1, __ATOMIC_RELAXED);
    if (!sys_faults[op].nth)
        return 0;
    if (n == sys_faults[op].nth || (sys_faults[op].persistent && n > sys_faults[op].nth)) {
        switch (sys_faults[op].action) {
        case MO_SYS_FAULT_EIO:
            errno = EIO;
            return -1;
        case MO_SYS_FAULT_ENOSPC:
            errno = ENOSPC;
            return -1;
        case MO_SYS_FAULT_EINVAL:
            errno = EINVAL;
            return -1;
        case MO_SYS_FAULT_EXIT:
            _exit(77);
        default:
            break;
        }
    }
    return 0;
}
#else
static int sys_enter(mo_sys_op op)
{
    __atomic_add_fetch(&sys_calls[op], 1, __ATOMIC_RELAXED);
    return 0;
}
#endif

int mo_sys_fault_arm(mo_sys_op op, unsigned long nth, mo_sys_fault_action action, bool persistent)
{
#ifdef MO_FAULT_INJECTION
    if ((int)op < 0 || op >= MO_SYS_OP_COUNT)
        return MO_EINVAL;
    __atomic_store_n(&sys_env_loaded, true, __ATOMIC_RELEASE);
    sys_faults[op].nth = nth ? mo_sys_calls(op) + nth : 0;
    sys_faults[op].action = action;
    sys_faults[op].persistent = persistent;
    return MO_OK;
#else
    (void)op;
    (void)nth;
    (void)action;
    (void)persistent;
    return MO_EINVAL;
#endif
}

void mo_sys_fault_disarm_all(void)
{
#ifdef MO_FAULT_INJECTION
    memset(sys_faults, 0, sizeof(sys_faults));
#endif
}

unsigned long mo_sys_calls(mo_sys_op op)
{
    return (int)op >= 0 && op < MO_SYS_OP_COUNT ? __atomic_load_n(&sys_calls[op], __ATOMIC_RELAXED)
                                                : 0;
}

/* Parses one "op:nth:action[+]" token; no arming, so a bad spec arms nothing at all. */
static int sys_fault_token(const char *tok, mo_sys_op *op_out, unsigned long *nth_out,
                           mo_sys_fault_action *act_out, bool *persistent_out, mo_err *err)
{
    static const char *const names[MO_SYS_OP_COUNT] = {"open",  "read",   "write",
                                                       "fsync", "rename", "unlink"};
    char op[16], num[24], act[16];
    int used = 0;
    /* %n must land on the terminating NUL: trailing junk ("eio x", "eio+x") is rejected, and
     * the count is digits only, because %lu would accept "-1" as ULONG_MAX */
    if (sscanf(tok, "%15[a-z]:%23[0-9]:%15[a-z+]%n", op, num, act, &used) != 3 ||
        tok[used] != 0)
        return mo_err_set(err, MO_EINVAL,
                          "fault spec '%s': want op:nth:eio|enospc|einval|exit[+]", tok);
    errno = 0;
    char *endp;
    const unsigned long nth = strtoul(num, &endp, 10);
    if (errno || *endp || nth == 0)
        return mo_err_set(err, MO_EINVAL, "fault spec '%s': nth must be 1..%lu", tok, ULONG_MAX);
    int o = -1;
    for (int i = 0; i < MO_SYS_OP_COUNT; i++)
        if (!strcmp(op, names[i]))
            o = i;
    if (o < 0)
        return mo_err_set(err, MO_EINVAL, "fault spec: unknown op '%s'", op);
    const size_t alen = strlen(act);
    const bool persistent = alen > 0 && act[alen - 1] == '+';
    if (persistent)
        act[alen - 1] = 0;
    const mo_sys_fault_action a = !strcmp(act, "eio")      ? MO_SYS_FAULT_EIO
                                  : !strcmp(act, "enospc") ? MO_SYS_FAULT_ENOSPC
                                  : !strcmp(act, "exit")   ? MO_SYS_FAULT_EXIT
                                  : !strcmp(act, "einval") ? MO_SYS_FAULT_EINVAL
                                                           : MO_SYS_FAULT_NONE;
    if (a == MO_SYS_FAULT_NONE)
        return mo_err_set(err, MO_EINVAL, "fault spec: unknown action '%s'", act);
    *op_out = (mo_sys_op)o;
    *nth_out = nth;
    *act_out = a;
    *persistent_out = persistent;
    return MO_OK;
}

int mo_sys_fault_parse(const char *spec, mo_err *err)
{
    char tmp[256];
    const size_t len = strlen(spec);
    if (len >= sizeof(tmp))
        return mo_err_set(err, MO_EINVAL, "fault spec too long");
#ifndef MO_FAULT_INJECTION
    if (len > 0)
        return mo_err_set(err, MO_EINVAL, "fault injection is not compiled in");
#endif
    /* two passes: validate every token first, so a bad spec leaves no fault half-armed */
    for (int pass = 0; pass < 2; pass++) {
        memcpy(tmp, spec, len + 1);
        char *save = NULL;
        for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            mo_sys_op op = MO_SYS_OPEN;
            unsigned long nth = 0;
            mo_sys_fault_action a = MO_SYS_FAULT_NONE;
            bool persistent = false;
            const int rc = sys_fault_token(tok, &op, &nth, &a, &persistent, err);
            if (rc < 0)
                return rc;
            if (pass == 1 && mo_sys_fault_arm(op, nth, a, persistent) < 0)
                return mo_err_set(err, MO_EINVAL, "fault injection is not compiled in");
        }
    }
    return MO_OK;
}

int mo_sys_open(const char *path, int flags, int mode)
{
    if (sys_enter(MO_SYS_OPEN) < 0)
        return -1;
    return open(path, flags | O_CLOEXEC, mode);
}

int mo_sys_close(int fd)
{
    return close(fd);
}

ssize_t mo_sys_pread(int fd, void *buf, size_t n, uint64_t off)
{
    if (sys_enter(MO_SYS_READ) < 0)
        return -1;
    return pread(fd, buf, n, (off_t)off);
}

ssize_t mo_sys_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
    if (sys_enter(MO_SYS_WRITE) < 0)
        return -1;
    return pwrite(fd, buf, n, (off_t)off);
}

ssize_t mo_sys_read(int fd, void *buf, size_t n)
{
    if (sys_enter(MO_SYS_READ) < 0)
        return -1;
    return read(fd, buf, n);
}

ssize_t mo_sys_write(int fd, const void *buf, size_t n)
{
    if (sys_enter(MO_SYS_WRITE) < 0)
        return -1;
    return write(fd, buf, n);
}

#ifdef MO_FAULT_INJECTION
static mo_sys_trace_fn sys_trace;
static void *sys_trace_payload;
#define SYS_TRACE(op, fd, path)                                                                 \
    do {                                                                                        \
        mo_sys_trace_fn cb_ = __atomic_load_n(&sys_trace, __ATOMIC_ACQUIRE);                    \
        if (cb_)                                                                                \
            cb_((op), (fd), (path), sys_trace_payload);                                         \
    } while (0)
#else
#define SYS_TRACE(op, fd, path) ((void)0)
#endif

int mo_sys_trace_set(mo_sys_trace_fn cb, void *payload)
{
#ifdef MO_FAULT_INJECTION
    __atomic_store_n(&sys_trace, NULL, __ATOMIC_RELEASE);
    sys_trace_payload = payload;
    __atomic_store_n(&sys_trace, cb, __ATOMIC_RELEASE);
    return MO_OK;
#else
    (void)cb;
    (void)payload;
    return MO_EINVAL;
#endif
}

int mo_sys_fsync(int fd)
{
    if (sys_enter(MO_SYS_FSYNC) < 0)
        return -1;
    int r = fsync(fd);
    if (r == 0)
        SYS_TRACE(MO_SYS_FSYNC, fd, NULL);
    return r;
}

void mo_sys_writeback_start(int fd, uint64_t off, uint64_t len)
{
#ifdef SYNC_FILE_RANGE_WRITE
    (void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)off;
    (void)len;
#endif
}

int mo_sys_rename(const char *from, const char *to)
{
    if (sys_enter(MO_SYS_RENAME) < 0)
        return -1;
    int r = rename(from, to);
    if (r == 0)
        SYS_TRACE(MO_SYS_RENAME, -1, to);
    return r;
}

int mo_sys_unlink(const char *path)
{
    if (sys_enter(MO_SYS_UNLINK) < 0)
        return -1;
    return unlink(path);
}

static int sys_errcode(int e)
{
    return e == ENOSPC ? MO_ENOSPC : MO_EIO;
}

int mo_sys_pread_full(int fd, void *buf, size_t n, uint64_t off, const char *what, mo_err *err)
{
    uint8_t *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = mo_sys_pread(fd, p + done, n - done, off + done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return mo_err_sys(err, MO_EIO, errno, "%s: read at offset %llu", what,
                              (unsigned long long)(off + done));
        }
        if (r == 0)
            return mo_err_set(err, MO_ETRUNCATED, "%s: file ends at offset %llu, need %zu bytes at %llu",
                              what, (unsigned long long)(off + done), n, (unsigned long long)off);
        done += (size_t)r;
    }
    return MO_OK;
}

int mo_sys_pwrite_full(int fd, const void *buf, size_t n, uint64_t off, const char *what,
                       mo_err *err)
{
    const uint8_t *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = mo_sys_pwrite(fd, p + done, n - done, off + done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return mo_err_sys(err, sys_errcode(errno), errno, "%s: write at offset %llu", what,
                              (unsigned long long)(off + done));
        }
        if (r == 0) /* would spin forever; POSIX allows it only for n == 0 */
            return mo_err_set(err, MO_EIO, "%s: write at offset %llu made no progress", what,
                              (unsigned long long)(off + done));
        done += (size_t)r;
    }
    return MO_OK;
}

int mo_sys_fsync_dir_of(const char *path, mo_err *err)
{
    char tmp[4096];
    if (strlen(path) >= sizeof(tmp))
        return mo_err_set(err, MO_EINVAL, "path too long: %.64s...", path);
    memcpy(tmp, path, strlen(path) + 1);
    const char *dir = dirname(tmp);
    int fd = mo_sys_open(dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return mo_err_sys(err, MO_EIO, errno, "%s: open directory", dir);
    int rc = MO_OK;
    if (mo_sys_fsync(fd) < 0)
        rc = mo_err_sys(err, sys_errcode(errno), errno, "%s: fsync directory", dir);
    mo_sys_close(fd);
    return rc;
}

static int write_file_renamed(const char *path, const void *p, size_t n, bool durable, mo_err *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return mo_err_set(err, MO_EINVAL, "path too long: %.64s...", path);
    int fd = mo_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return mo_err_sys(err, sys_errcode(errno), errno, "%s: create", tmp);
    int rc = mo_sys_pwrite_full(fd, p, n, 0, tmp, err);
    if (rc == MO_OK && durable && mo_sys_fsync(fd) < 0)
        rc = mo_err_sys(err, sys_errcode(errno), errno, "%s: fsync", tmp);
    if (rc == MO_OK && !durable)
        mo_sys_writeback_start(fd, 0, n); /* the batch's fsync then waits for less */
    mo_sys_close(fd);
    if (rc == MO_OK && mo_sys_rename(tmp, path) < 0)
        rc = mo_err_sys(err, sys_errcode(errno), errno, "rename %s -> %s", tmp, path);
    if (rc < 0) {
        mo_sys_unlink(tmp);
        return rc;
    }
    return durable ? mo_sys_fsync_dir_of(path, err) : MO_OK;
}

int mo_sys_write_file_atomic(const char *path, const void *p, size_t n, mo_err *err)
{
    return write_file_renamed(path, p, n, true, err);
}

int mo_sys_write_file_unsynced(const char *path, const void *p, size_t n, mo_err *err)
{
    return write_file_renamed(path, p, n, false, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mo_sys_fsync_batch(const char *const *paths, size_t n, mo_err *err)
{
    int rc = MO_OK;
    for (size_t i = 0; i < n && rc == MO_OK; i++) {
        int fd = mo_sys_open(paths[i], O_RDONLY, 0);
        if (fd < 0)
            return mo_err_sys(err, MO_EIO, errno, "%s: open", paths[i]);
        if (mo_sys_fsync(fd) < 0)
            rc = mo_err_sys(err, sys_errcode(errno), errno, "%s: fsync", paths[i]);
        mo_sys_close(fd);
    }
    if (rc < 0 || !n)
        return rc;
    /* then each directory once: the renames that named the files */
    char **dirs = mo_calloc(n, sizeof(*dirs));
    if (!dirs)
        return mo_err_set(err, MO_ENOMEM, "directory list");
    size_t nd = 0;
    for (size_t i = 0; i < n && rc == MO_OK; i++) {
        char *d = mo_strdup(strchr(paths[i], '/') ? paths[i] : ".");
        if (!d) {
            rc = mo_err_set(err, MO_ENOMEM, "directory list");
            break;
        }
        char *slash = strrchr(d, '/');
        if (slash == d)
            slash[1] = 0; /* "/x": the root */
        else if (slash)
            *slash = 0;
        dirs[nd++] = d;
    }
    qsort(dirs, nd, sizeof(*dirs), cmp_str);
    for (size_t i = 0; i < nd && rc == MO_OK; i++) {
        if (i && !strcmp(dirs[i], dirs[i - 1]))
            continue;
        int fd = mo_sys_open(dirs[i], O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0) {
            rc = mo_err_sys(err, MO_EIO, errno, "%s: open directory", dirs[i]);
            break;
        }
        if (mo_sys_fsync(fd) < 0)
            rc = mo_err_sys(err, sys_errcode(errno), errno, "%s: fsync directory", dirs[i]);
        mo_sys_close(fd);
    }
    for (size_t i = 0; i < nd; i++)
        mo_free(dirs[i]);
    mo_free(dirs);
    return rc;
}

int mo_sys_read_file(uint8_t **out, size_t *len_out, const char *path, mo_err *err)
{
    *out = NULL;
    *len_out = 0;
    int fd = mo_sys_open(path, O_RDONLY, 0);
    if (fd < 0)
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s: open", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        mo_sys_close(fd);
        return mo_err_sys(err, MO_EIO, errno, "%s: stat", path);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = mo_malloc(n);
    if (!p) {
        mo_sys_close(fd);
        return mo_err_set(err, MO_ENOMEM, "%s: %zu bytes", path, n);
    }
    int rc = mo_sys_pread_full(fd, p, n, 0, path, err);
    mo_sys_close(fd);
    if (rc < 0) {
        mo_free(p);
        return rc;
    }
    *out = p;
    *len_out = n;
    return MO_OK;
}
