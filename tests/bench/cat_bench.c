/* Catalog benchmark driver (issue #4). Modes:
 *   cat_bench gensql N PER      SQL script for the sqlite3 CLI with exactly the rows `load` registers
 *   cat_bench load DIR N PER    registers N object entries in commits of PER (one writer)
 *   cat_bench count DIR         opens the catalog (reader) and counts the object entries
 *   cat_bench full DIR          opens, loads and enumerates every entry (forces the object section)
 * Prints "<mode> <seconds> <count>" on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mo/cat.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Object k: random 154-byte stats (random 18-byte id), table k%16+1, like a real registration. */
static void make(mo_cat_object *o, uint64_t k)
{
    memset(o, 0, sizeof(*o));
    uint64_t s = (k + 1) * 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < MO_OBJ_STATS_LEN; i += 8) {
        const uint64_t v = rnd(&s);
        memcpy(o->stats + i, &v, MO_OBJ_STATS_LEN - i < 8 ? (size_t)(MO_OBJ_STATS_LEN - i) : 8);
    }
    o->stats[MO_OBJ_STATS_LEN - 1] = 0x20;
    o->table_id = k % 16 + 1;
    o->is_tombstone = k % 7 == 0;
    o->create_ts.physical = (int64_t)(1700000000000000000ll + (int64_t)k);
    o->create_ts.logical = (uint32_t)k;
    o->digest.lo = rnd(&s);
    o->digest.hi = rnd(&s);
    memcpy(o->upstream_id, o->stats, MO_OBJ_OBJECTID_LEN);
    o->non_mergeable = true;
}

static void hex(FILE *f, const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    fputs("X'", f);
    for (size_t i = 0; i < n; i++) {
        fputc(d[p[i] >> 4], f);
        fputc(d[p[i] & 15], f);
    }
    fputc('\'', f);
}

static int gensql(uint64_t n, uint64_t per)
{
    FILE *f = stdout;
    fputs("CREATE TABLE objects(id BLOB PRIMARY KEY, stats BLOB NOT NULL, table_id INTEGER NOT "
          "NULL, is_tombstone INTEGER NOT NULL, create_ts BLOB NOT NULL, delete_ts BLOB NOT NULL, "
          "digest BLOB NOT NULL, upstream_id BLOB NOT NULL, non_mergeable INTEGER NOT NULL);\n",
          f);
    for (uint64_t k = 0; k < n; k++) {
        if (k % per == 0)
            fputs("BEGIN;\n", f);
        mo_cat_object o;
        make(&o, k);
        uint8_t ts[12], dts[12] = {0}, dg[16];
        memcpy(ts, &o.create_ts.logical, 4);
        memcpy(ts + 4, &o.create_ts.physical, 8);
        memcpy(dg, &o.digest.lo, 8);
        memcpy(dg + 8, &o.digest.hi, 8);
        fputs("INSERT INTO objects VALUES(", f);
        hex(f, o.stats, MO_OBJ_OBJECTID_LEN);
        fputc(',', f);
        hex(f, o.stats, MO_OBJ_STATS_LEN);
        fprintf(f, ",%llu,%d,", (unsigned long long)o.table_id, o.is_tombstone);
        hex(f, ts, 12);
        fputc(',', f);
        hex(f, dts, 12);
        fputc(',', f);
        hex(f, dg, 16);
        fputc(',', f);
        hex(f, o.upstream_id, MO_OBJ_OBJECTID_LEN);
        fputs(",1);\n", f);
        if (k % per == per - 1 || k == n - 1)
            fputs("COMMIT;\n", f);
    }
    return 0;
}

static int fail(const char *what, int rc, const mo_err *e)
{
    fprintf(stderr, "%s: %s: %s\n", what, mo_code_name(rc), e->msg);
    return 1;
}

static int count_cb(const mo_cat_object *o, void *p)
{
    (void)o;
    ++*(uint64_t *)p;
    return 0;
}

int main(int argc, char **argv)
{
    mo_err e;
    mo_err_clear(&e);
    if (argc == 4 && !strcmp(argv[1], "gensql"))
        return gensql(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
    if (argc == 5 && !strcmp(argv[1], "load")) {
        const uint64_t n = strtoull(argv[3], NULL, 10), per = strtoull(argv[4], NULL, 10);
        const double t0 = now();
        mo_cat *c;
        int rc = mo_cat_open(&c, argv[2], MO_CAT_WRITE, NULL, &e);
        if (rc < 0)
            return fail("open", rc, &e);
        for (uint64_t k = 0; k < n;) {
            mo_cat_txn *t;
            if ((rc = mo_cat_begin(c, &t, &e)) < 0)
                return fail("begin", rc, &e);
            for (uint64_t j = 0; j < per && k < n; j++, k++) {
                mo_cat_object o;
                make(&o, k);
                if ((rc = mo_cat_put_object(t, &o, &e)) < 0)
                    return fail("put", rc, &e);
            }
            if ((rc = mo_cat_commit(t, &e)) < 0)
                return fail("commit", rc, &e);
        }
        const uint64_t cnt = mo_cat_count_objects(c);
        mo_cat_close(c);
        printf("load %.3f %llu\n", now() - t0, (unsigned long long)cnt);
        return 0;
    }
    if (argc == 3 && (!strcmp(argv[1], "count") || !strcmp(argv[1], "full"))) {
        const double t0 = now();
        mo_cat *c;
        int rc = mo_cat_open(&c, argv[2], MO_CAT_READ, NULL, &e);
        if (rc < 0)
            return fail("open", rc, &e);
        uint64_t cnt = 0;
        if (!strcmp(argv[1], "count"))
            cnt = mo_cat_count_objects(c);
        else if ((rc = mo_cat_foreach_object(c, 0, count_cb, &cnt)) < 0)
            return fail("foreach", rc, &e);
        mo_cat_close(c);
        printf("%s %.3f %llu\n", argv[1], now() - t0, (unsigned long long)cnt);
        return 0;
    }
    fprintf(stderr, "usage: cat_bench gensql N PER | load DIR N PER | count DIR | full DIR\n");
    return 2;
}
