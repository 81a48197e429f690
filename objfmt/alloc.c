/* Allocation seam: every mosync allocation passes here, so tests can fail the Nth one
 * (SQLite faultsim) and assert that each failure path returns MO_ENOMEM and leaks nothing.
 * The counters are atomics: the sync scheduler allocates from several threads, and a plain
 * ++ is a data race (TSan) that also loses counts. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "mo/base.h"

static unsigned long alloc_calls;
#ifdef MO_FAULT_INJECTION
static unsigned long alloc_fail_nth;
static bool alloc_fail_persistent;

static bool alloc_should_fail(void)
{
    const unsigned long n = __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
    const unsigned long nth = __atomic_load_n(&alloc_fail_nth, __ATOMIC_RELAXED);
    if (!nth)
        return false;
    if (n == nth)
        return true;
    return __atomic_load_n(&alloc_fail_persistent, __ATOMIC_RELAXED) && n > nth;
}
#else
static bool alloc_should_fail(void)
{
    __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
    return false;
}
#endif

void mo_alloc_fail_at(unsigned long nth, bool persistent)
{
#ifdef MO_FAULT_INJECTION
    __atomic_store_n(&alloc_fail_persistent, persistent, __ATOMIC_RELAXED);
    __atomic_store_n(&alloc_fail_nth, nth ? mo_alloc_count() + nth : 0, __ATOMIC_RELAXED);
#else
    (void)nth;
    (void)persistent;
#endif
}

unsigned long mo_alloc_count(void)
{
    return __atomic_load_n(&alloc_calls, __ATOMIC_RELAXED);
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

void *mo_pages_alloc(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void mo_pages_free(void *p, size_t n)
{
    if (p)
        munmap(p, n ? n : 1);
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
