/* Error codes and the caller-owned error detail. There is no global last-error: every
 * message travels in the mo_err the caller passed. */
#include "mo/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mo_err_clear(mo_err *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

/* the attribute lets -Wformat-nonliteral (clang, -Wformat=2) check callers instead */
__attribute__((format(printf, 4, 0))) static void err_vset(mo_err *err, int code, int sys_errno,
                                                           const char *fmt, va_list ap)
{
    err->code = code;
    err->sys_errno = sys_errno;
    err->upstream_code = 0; /* a new failure must not inherit the last one's MySQL errno */
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int mo_err_set(mo_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, 0, fmt, ap);
    va_end(ap);
    return code;
}

int mo_err_sys(mo_err *err, int code, int sys_errno, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, sys_errno, fmt, ap);
    va_end(ap);
    size_t n = strlen(err->msg);
    if (sys_errno && n < sizeof(err->msg) - 1) {
        /* strerror() may share a static buffer across threads; XSI strerror_r does not */
        char text[128];
        if (strerror_r(sys_errno, text, sizeof(text)) != 0)
            snprintf(text, sizeof(text), "errno %d", sys_errno);
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", text);
    }
    return code;
}

void mo_err_prefix(mo_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    size_t hl = strlen(head), tl = strnlen(err->msg, sizeof(err->msg) - 1);
    if (hl > sizeof(err->msg) - 1)
        hl = sizeof(err->msg) - 1;
    if (hl + tl > sizeof(err->msg) - 1)
        tl = sizeof(err->msg) - 1 - hl;
    memmove(err->msg + hl, err->msg, tl);
    memcpy(err->msg, head, hl);
    err->msg[hl + tl] = 0;
}

const char *mo_strerror(int code)
{
    switch (code) {
#define MO_ERR_TEXT(name, value, text)                                                             \
    case value:                                                                                    \
        return text;
        MO_ERRORS(MO_ERR_TEXT)
#undef MO_ERR_TEXT
    }
    return "unknown error";
}

const char *mo_code_name(int code)
{
    switch (code) {
#define MO_ERR_NAME(name, value, text)                                                             \
    case value:                                                                                    \
        return #name;
        MO_ERRORS(MO_ERR_NAME)
#undef MO_ERR_NAME
    }
    return "MO_UNKNOWN";
}
