/**
 * @file mo/sys.h
 * The syscalls that matter for durability and I/O, behind one swappable table (SQLite's
 * xSetSystemCall). Fault injection (MO_FAULT_INJECTION builds) makes the Nth call of one
 * kind fail with EIO or ENOSPC, or _exit the process, to drive crash and I/O-loop tests.
 */
#ifndef MO_SYS_H
#define MO_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mo/err.h"

typedef enum mo_sys_op {
    MO_SYS_OPEN = 0,
    MO_SYS_READ,  /* read and pread */
    MO_SYS_WRITE, /* write and pwrite */
    MO_SYS_FSYNC,
    MO_SYS_RENAME,
    MO_SYS_UNLINK,
    MO_SYS_OP_COUNT
} mo_sys_op;

typedef enum mo_sys_fault_action {
    MO_SYS_FAULT_NONE = 0,
    MO_SYS_FAULT_EIO,
    MO_SYS_FAULT_ENOSPC,
    MO_SYS_FAULT_EXIT, /* _exit(77) at that call: a crash at an exact point */
    MO_SYS_FAULT_EINVAL /* what O_DIRECT returns for an alignment the device refuses */
} mo_sys_fault_action;

/** Returns the fd or -1 with errno set. */
int mo_sys_open(const char *path, int flags, int mode);
int mo_sys_close(int fd);
ssize_t mo_sys_pread(int fd, void *buf, size_t n, uint64_t off);
ssize_t mo_sys_pwrite(int fd, const void *buf, size_t n, uint64_t off);
ssize_t mo_sys_read(int fd, void *buf, size_t n);
ssize_t mo_sys_write(int fd, const void *buf, size_t n);
int mo_sys_fsync(int fd);
/**
 * Starts writing back [off, off+len) of @p fd without waiting for it (Linux sync_file_range
 * SYNC_FILE_RANGE_WRITE; a no-op elsewhere), so that a later mo_sys_fsync has less to wait
 * for. Not a durability step (only fsync is) and not a fault-injection point; errors are
 * ignored.
 */
void mo_sys_writeback_start(int fd, uint64_t off, uint64_t len);
int mo_sys_rename(const char *from, const char *to);
int mo_sys_unlink(const char *path);

/**
 * Arms a fault: the @p nth call (1-based, counted from now) of @p op performs @p action;
 * every later call too when @p persistent. nth = 0 disarms that op.
 * @return MO_EINVAL when the build has no fault injection.
 */
int mo_sys_fault_arm(mo_sys_op op, unsigned long nth, mo_sys_fault_action action, bool persistent);
void mo_sys_fault_disarm_all(void);
/** Calls of @p op so far (for fail-the-Nth loops). */
unsigned long mo_sys_calls(mo_sys_op op);
/**
 * Arms faults from a spec such as "fsync:3:exit,write:10:enospc" (actions eio, enospc, einval, exit) (the MO_FAULT environment
 * variable of test builds). @return MO_OK or MO_EINVAL with a message.
 */
int mo_sys_fault_parse(const char *spec, mo_err *err);

/**
 * Test builds (MO_FAULT_INJECTION): @p cb sees every successful fsync (its fd, path NULL) and
 * rename (fd -1, the target path) right after it returned, from the calling thread (the
 * callback locks what it shares); NULL turns it off. The durability tests use it to prove the
 * order of fsyncs, renames and commits. @return MO_EINVAL when the build has no fault injection.
 */
typedef void (*mo_sys_trace_fn)(mo_sys_op op, int fd, const char *path, void *payload);
int mo_sys_trace_set(mo_sys_trace_fn cb, void *payload);

/* ---- helpers built on the table ---- */

/** Reads exactly @p n bytes at @p off. Short file -> MO_ETRUNCATED; errors -> MO_EIO. */
int mo_sys_pread_full(int fd, void *buf, size_t n, uint64_t off, const char *what, mo_err *err);
/** Writes all of @p n bytes at @p off (ENOSPC -> MO_ENOSPC, others MO_EIO). */
int mo_sys_pwrite_full(int fd, const void *buf, size_t n, uint64_t off, const char *what,
                       mo_err *err);
/** fsyncs the directory that holds @p path. */
int mo_sys_fsync_dir_of(const char *path, mo_err *err);
/**
 * Durably replaces @p path with @p n bytes: write "<path>.tmp", fsync, rename, fsync dir.
 * On failure the old file (if any) is untouched and the temp file is removed.
 */
int mo_sys_write_file_atomic(const char *path, const void *p, size_t n, mo_err *err);
/**
 * write "<path>.tmp", rename: atomic against a killed process, not against a power loss. The
 * caller makes it durable later (mo_sys_fsync_batch) before anything durable refers to it.
 */
int mo_sys_write_file_unsynced(const char *path, const void *p, size_t n, mo_err *err);
/**
 * Makes files published without fsync durable in one step: fsync each of @p paths, then each
 * directory that holds one, once. Batching lets the filesystem commit its journal a few times
 * instead of twice per file.
 */
int mo_sys_fsync_batch(const char *const *paths, size_t n, mo_err *err);
/** Reads a whole file into a fresh mo_malloc buffer (caller frees). */
int mo_sys_read_file(uint8_t **out, size_t *len_out, const char *path, mo_err *err);

#endif
