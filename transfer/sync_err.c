/* MO's task error records (ccpr-protocol.md §4 ErrorMetadata, §5.9): retryable
 * "R:<count>:<first>:<last>:<msg>", fatal "N:<first>:<msg>", anything else fatal legacy text.
 * The count grows while the kind stays the same; past MO_SYNC_RETRY_THRESHOLD a retryable
 * error becomes fatal. Messages are kept on one line (the record is one text cell). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo/sync.h"
#include "mo/upstream.h"

static bool take_num(const char **p, int64_t *out)
{
    char *end;
    long long v = strtoll(*p, &end, 10);
    if (end == *p || *end != ':')
        return false;
    *out = v;
    *p = end + 1;
    return true;
}

void mo_sync_errmsg_parse(mo_sync_errmsg *out, const char *s)
{
    memset(out, 0, sizeof(*out));
    if (!s || !*s)
        return;
    out->set = true;
    const char *p = s + 2;
    int64_t a, b, c;
    if (!strncmp(s, "R:", 2) && take_num(&p, &a) && take_num(&p, &b) && take_num(&p, &c)) {
        out->retryable = true;
        out->count = a < 0 ? 0 : (unsigned)a;
        out->first = b;
        out->last = c;
        snprintf(out->msg, sizeof(out->msg), "%s", p);
        return;
    }
    p = s + 2;
    if (!strncmp(s, "N:", 2) && take_num(&p, &a)) {
        out->first = out->last = a;
        snprintf(out->msg, sizeof(out->msg), "%s", p);
        return;
    }
    snprintf(out->msg, sizeof(out->msg), "%s", s); /* legacy: non-retryable */
}

void mo_sync_errmsg_format(char *out, size_t cap, const mo_sync_errmsg *e)
{
    if (!cap)
        return;
    if (!e->set) {
        out[0] = 0;
        return;
    }
    if (e->retryable)
        snprintf(out, cap, "R:%u:%" PRId64 ":%" PRId64 ":%s", e->count, e->first, e->last, e->msg);
    else
        snprintf(out, cap, "N:%" PRId64 ":%s", e->first, e->msg);
}

void mo_sync_errmsg_next(mo_sync_errmsg *out, const mo_sync_errmsg *prev, bool retryable,
                         const char *msg, int64_t now)
{
    mo_sync_errmsg e;
    memset(&e, 0, sizeof(e));
    e.set = true;
    e.retryable = retryable;
    e.first = e.last = now;
    e.count = 1;
    if (prev && prev->set && prev->retryable == retryable) {
        e.count = prev->count + 1;
        e.first = prev->first;
    }
    snprintf(e.msg, sizeof(e.msg), "%s", msg);
    for (char *p = e.msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (e.retryable && e.count > MO_SYNC_RETRY_THRESHOLD) {
        /* MO: the budget is spent, the error becomes non-retryable */
        char m[sizeof(e.msg)];
        int k = snprintf(m, sizeof(m), "retry budget of %d exhausted: ", MO_SYNC_RETRY_THRESHOLD);
        size_t room = sizeof(m) - (size_t)k - 1, len = strlen(e.msg);
        memcpy(m + k, e.msg, len < room ? len : room);
        m[(size_t)k + (len < room ? len : room)] = 0;
        memcpy(e.msg, m, sizeof(m));
        e.retryable = false;
    }
    *out = e;
}

bool mo_sync_retryable(int rc, const mo_err *err)
{
    const char *m = err ? err->msg : "";
    if (strstr(m, "stale read") || strstr(m, "timeout") || strstr(m, "GC is running"))
        return true;
    switch (rc) {
    case MO_EAGAIN:
    case MO_ETIMEOUT:
    case MO_EIO:     /* local disk trouble may clear; the same lsn is replayed */
    case MO_ENOSPC:
    case MO_ENOMEM:
    case MO_ECHECKSUM: /* a damaged chunk: fetching again may fix it */
    case MO_ECORRUPT:
        return true;
    case MO_EUPSTREAM:
        return mo_up_retryable(err ? (unsigned)err->upstream_code : 0, m);
    default:
        return false;
    }
}
