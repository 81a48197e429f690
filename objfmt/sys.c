/* The mo_sys syscall seam. Every durable-path syscall passes through here so that fault
 * injection can fail (EIO/ENOSPC) or crash (_exit) at an exact call, which is how the crash
 * and I/O-loop tests reach every failure point deterministically. */
#include "mo/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo/base.h"

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
    if (sys_env_loaded)
        return;
    sys_env_loaded = true;
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
    unsigned long n = ++sys_calls[op];
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
    ++sys_calls[op];
    return 0;
}
#endif

int mo_sys_fault_arm(mo_sys_op op, unsigned long nth, mo_sys_fault_action action, bool persistent)
{
#ifdef MO_FAULT_INJECTION
    if ((int)op < 0 || op >= MO_SYS_OP_COUNT)
        return MO_EINVAL;
    sys_env_loaded = true;
    sys_faults[op].nth = nth ? sys_calls[op] + nth : 0;
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
    return (int)op >= 0 && op < MO_SYS_OP_COUNT ? sys_calls[op] : 0;
}

int mo_sys_fault_parse(const char *spec, mo_err *err)
{
    static const char *const names[MO_SYS_OP_COUNT] = {"open",  "read",   "write",
                                                       "fsync", "rename", "unlink"};
    char tmp[256];
    if (strlen(spec) >= sizeof(tmp))
        return mo_err_set(err, MO_EINVAL, "fault spec too long");
    memcpy(tmp, spec, strlen(spec) + 1);
    char *save = NULL;
    for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char op[16], act[16];
        unsigned long nth;
        if (sscanf(tok, "%15[a-z]:%lu:%15[a-z+]", op, &nth, act) != 3 || nth == 0)
            return mo_err_set(err, MO_EINVAL, "fault spec '%s': want op:nth:eio|enospc|exit", tok);
        int o = -1;
        for (int i = 0; i < MO_SYS_OP_COUNT; i++)
            if (!strcmp(op, names[i]))
                o = i;
        if (o < 0)
            return mo_err_set(err, MO_EINVAL, "fault spec: unknown op '%s'", op);
        bool persistent = strchr(act, '+') != NULL;
        if (persistent)
            *strchr(act, '+') = 0;
        mo_sys_fault_action a = !strcmp(act, "eio")      ? MO_SYS_FAULT_EIO
                                : !strcmp(act, "enospc") ? MO_SYS_FAULT_ENOSPC
                                : !strcmp(act, "exit")   ? MO_SYS_FAULT_EXIT
                                                         : MO_SYS_FAULT_NONE;
        if (a == MO_SYS_FAULT_NONE)
            return mo_err_set(err, MO_EINVAL, "fault spec: unknown action '%s'", act);
        if (mo_sys_fault_arm((mo_sys_op)o, nth, a, persistent) < 0)
            return mo_err_set(err, MO_EINVAL, "fault injection is not compiled in");
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

int mo_sys_fsync(int fd)
{
    if (sys_enter(MO_SYS_FSYNC) < 0)
        return -1;
    return fsync(fd);
}

int mo_sys_rename(const char *from, const char *to)
{
    if (sys_enter(MO_SYS_RENAME) < 0)
        return -1;
    return rename(from, to);
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

int mo_sys_write_file_atomic(const char *path, const void *p, size_t n, mo_err *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return mo_err_set(err, MO_EINVAL, "path too long: %.64s...", path);
    int fd = mo_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return mo_err_sys(err, sys_errcode(errno), errno, "%s: create", tmp);
    int rc = mo_sys_pwrite_full(fd, p, n, 0, tmp, err);
    if (rc == MO_OK && mo_sys_fsync(fd) < 0)
        rc = mo_err_sys(err, sys_errcode(errno), errno, "%s: fsync", tmp);
    mo_sys_close(fd);
    if (rc == MO_OK && mo_sys_rename(tmp, path) < 0)
        rc = mo_err_sys(err, sys_errcode(errno), errno, "rename %s -> %s", tmp, path);
    if (rc < 0) {
        mo_sys_unlink(tmp);
        return rc;
    }
    return mo_sys_fsync_dir_of(path, err);
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
