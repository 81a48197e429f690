/* Shared test helpers: exact-code assertions with messages, temp dirs, a seeded PRNG. */
#include "mo_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mo_err mo_test_err;

void mo_test_rc_report(const char *file, int line, const char *expr, int expect, int got)
{
    fprintf(stderr, "\n%s:%d: %s: expected %s, got %s (%d): %s\n", file, line, expr,
            mo_code_name(expect), mo_code_name(got), got, mo_test_err.msg);
}

const char *mo_test_tmpdir(const char *tag)
{
    static char path[512];
    static unsigned seq;
    const char *base = getenv("MO_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(path, sizeof(path), "%s/%s.%ld.%u", base, tag, (long)getpid(), seq++);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        return NULL;
    if (mkdir(path, 0755) != 0)
        return NULL;
    return path;
}

uint64_t mo_test_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
