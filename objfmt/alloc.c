/* Allocation seam: every mosync allocation passes here, so tests can fail the Nth one
 * (SQLite faultsim) and assert that each failure path returns MO_ENOMEM and leaks nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "mo/base.h"

static unsigned long alloc_calls;
#ifdef MO_FAULT_INJECTION
static unsigned long alloc_fail_nth;
static bool alloc_fail_persistent;

static bool alloc_should_fail(void)
{
    alloc_calls++;
    if (!alloc_fail_nth)
        return false;
    if (alloc_calls == alloc_fail_nth)
        return true;
    return alloc_fail_persistent && alloc_calls > alloc_fail_nth;
}
#else
static bool alloc_should_fail(void)
{
    alloc_calls++;
    return false;
}
#endif

void mo_alloc_fail_at(unsigned long nth, bool persistent)
{
#ifdef MO_FAULT_INJECTION
    alloc_fail_nth = nth ? alloc_calls + nth : 0;
    alloc_fail_persistent = persistent;
#else
    (void)nth;
    (void)persistent;
#endif
}

unsigned long mo_alloc_count(void)
{
    return alloc_calls;
}

void *mo_malloc(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *mo_calloc(size_t count, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return calloc(count ? count : 1, n ? n : 1);
}

void *mo_realloc(void *p, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void mo_free(void *p)
{
    free(p);
}

char *mo_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mo_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
