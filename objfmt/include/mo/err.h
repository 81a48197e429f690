/**
 * @file mo/err.h
 * Stable error codes and the caller-owned error detail of every mosync library.
 * Codes are explicit and never reused; 0 is success, every failure is negative.
 */
#ifndef MO_ERR_H
#define MO_ERR_H

#include <stddef.h>

#define MO_ERRORS(X)                                                                               \
    X(MO_OK, 0, "ok")                                                                              \
    X(MO_ERROR, -1, "error")                                                                       \
    X(MO_ENOMEM, -2, "out of memory")                                                              \
    X(MO_EIO, -3, "i/o error")                                                                     \
    X(MO_ENOTFOUND, -4, "not found")                                                               \
    X(MO_ECORRUPT, -5, "malformed data")                                                           \
    X(MO_ECHECKSUM, -6, "checksum mismatch")                                                       \
    X(MO_ETRUNCATED, -7, "truncated data")                                                         \
    X(MO_EVERSION, -8, "unsupported format version")                                               \
    X(MO_EINVAL, -9, "invalid argument")                                                           \
    X(MO_EEXISTS, -10, "already exists")                                                           \
    X(MO_EUPSTREAM, -11, "upstream error")                                                         \
    X(MO_EAGAIN, -12, "transient, resumable")                                                      \
    X(MO_ETIMEOUT, -13, "timed out")                                                               \
    X(MO_ECANCELED, -14, "canceled")                                                               \
    X(MO_EUSER, -15, "callback aborted")                                                           \
    X(MO_ENOSPC, -16, "no space left")                                                             \
    X(MO_ESTALE, -17, "stale or foreign checkpoint")

#define MO_ERR_ENUM(name, value, text) name = (value),
typedef enum { MO_ERRORS(MO_ERR_ENUM) } mo_code;
#undef MO_ERR_ENUM

/** Caller-owned detail of the last failure of one call chain. */
typedef struct mo_err {
    int code;          /**< the mo_code returned */
    int sys_errno;     /**< errno when a syscall failed, else 0 */
    int upstream_code; /**< MySQL error number from an upstream, else 0 */
    char msg[256];     /**< human text: object, offset, field */
} mo_err;

/** Clears @p err (may be NULL). */
void mo_err_clear(mo_err *err);

/**
 * Records a failure. @return @p code unchanged, so callers can `return mo_err_set(...)`.
 * @p err may be NULL.
 */
int mo_err_set(mo_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** Like mo_err_set, and records @p sys_errno (mapping ENOSPC to MO_ENOSPC is the caller's). */
int mo_err_sys(mo_err *err, int code, int sys_errno, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/** Prepends context ("object X: ") to the message already in @p err. */
void mo_err_prefix(mo_err *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** Static text for a code; "unknown error" for values not in the list. */
const char *mo_strerror(int code);

/** Symbolic name of a code ("MO_ECORRUPT"); "MO_UNKNOWN" otherwise. */
const char *mo_code_name(int code);

#endif
