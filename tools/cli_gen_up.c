/* `mosync gen`: argument parsing and printing around mo/gen.h (create an upstream replica
 * with history, mutate it by K steps, check it against the generator's ground truth). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mo/base.h"
#include "mo/gen.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: mosync gen --out DIR --db NAME --table NAME:ROWS[:SCHEMA]... [--seed S]\n"
            "                  [--appendable-share P] [--base-ts NS] [--realtime]\n"
            "       mosync gen --mutate DIR --steps K [--seed S] [--realtime]\n"
            "       mosync gen --mutate DIR --op OP[,OP...] [--seed S] [--realtime]\n"
            "       mosync gen --check DIR [--verbose]\n"
            "SCHEMA: name:type,... (mkobj syntax, first column = PK); default: TPC-C-like by name\n"
            "--op: one step doing exactly these operations, in order (names as in the ops: line)\n");
}

static void print_report(const char *what, const mo_gen_report *r)
{
    printf("%s: snapshots gen_%u..gen_%u, last TS %" PRId64 "-%u, %" PRIu64 " objects, %" PRIu64
           " rows written\n",
           what, r->first_step, r->last_step, r->last_ts.physical, r->last_ts.logical,
           r->objects_written, r->rows_written);
    printf("ops:");
    for (int i = 0; i < MO_GEN_OP_COUNT; i++)
        printf(" %s=%u", mo_gen_op_name(i), r->ops[i]);
    printf("\n");
}

typedef struct check_out {
    bool verbose;
} check_out;

static int on_check(const mo_gen_check_item *it, void *payload)
{
    const check_out *o = payload;
    if (!it->ok || o->verbose)
        printf("%s %s (ts %" PRId64 ") %s.%s id=%" PRIu64 ": want rows=%" PRIu64
               " fp=%016" PRIx64 "%016" PRIx64 ", got rows=%" PRIu64 " fp=%016" PRIx64
               "%016" PRIx64 "\n",
               it->ok ? "ok" : "MISMATCH", it->step->snapshot, it->step->ts.physical,
               it->table->db, it->table->name, it->table->table_id, it->table->rows,
               it->table->sum, it->table->xor_, it->got.rows, it->got.sum, it->got.xor_);
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    const unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || *s == '-')
        return -1;
    *out = v;
    return 0;
}

int mo_cli_gen(int argc, char **argv)
{
    enum { O_OUT = 1, O_DB, O_TABLE, O_SEED, O_ASHARE, O_MUTATE, O_STEPS, O_CHECK, O_BASE, O_RT,
           O_VERBOSE, O_OP };
    static const struct option lo[] = {{"out", required_argument, NULL, O_OUT},
                                       {"db", required_argument, NULL, O_DB},
                                       {"table", required_argument, NULL, O_TABLE},
                                       {"seed", required_argument, NULL, O_SEED},
                                       {"appendable-share", required_argument, NULL, O_ASHARE},
                                       {"mutate", required_argument, NULL, O_MUTATE},
                                       {"steps", required_argument, NULL, O_STEPS},
                                       {"check", required_argument, NULL, O_CHECK},
                                       {"base-ts", required_argument, NULL, O_BASE},
                                       {"realtime", no_argument, NULL, O_RT},
                                       {"verbose", no_argument, NULL, O_VERBOSE},
                                       {"op", required_argument, NULL, O_OP},
                                       {NULL, 0, NULL, 0}};
    const char *out = NULL, *db = NULL, *mutate = NULL, *check = NULL;
    uint64_t seed = 1, steps = 0, base = 0;
    bool have_steps = false, realtime = false, verbose = false;
    double ashare = -1;
    mo_gen_table_spec specs[64];
    char *bufs[64];
    size_t nspec = 0, nops = 0;
    int ops[8];
    int rc = MO_CLI_USAGE, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case O_OUT: out = optarg; break;
        case O_DB: db = optarg; break;
        case O_MUTATE: mutate = optarg; break;
        case O_CHECK: check = optarg; break;
        case O_RT: realtime = true; break;
        case O_VERBOSE: verbose = true; break;
        case O_SEED:
            if (parse_u64(optarg, &seed) < 0)
                goto bad;
            break;
        case O_OP: {
            char list[256];
            if (strlen(optarg) >= sizeof(list))
                goto bad;
            snprintf(list, sizeof(list), "%s", optarg);
            for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                const int op = mo_gen_op_parse(t);
                if (op < 0) {
                    fprintf(stderr, "mosync gen: unknown operation '%s'\n", t);
                    goto bad;
                }
                if (nops == 8)
                    goto bad;
                ops[nops++] = op;
            }
            if (!nops)
                goto bad;
            break;
        }
        case O_STEPS:
            if (parse_u64(optarg, &steps) < 0 || steps > 1000000)
                goto bad;
            have_steps = true;
            break;
        case O_BASE:
            if (parse_u64(optarg, &base) < 0 || base > INT64_MAX / 2)
                goto bad;
            break;
        case O_ASHARE: {
            char *end;
            ashare = strtod(optarg, &end);
            if (*end || ashare < 0 || ashare > 1)
                goto bad;
            break;
        }
        case O_TABLE: {
            if (nspec == 64)
                goto bad;
            char *s = bufs[nspec] = mo_strdup(optarg);
            if (!s)
                goto bad;
            nspec++;
            char *colon = strchr(s, ':');
            if (!colon)
                goto bad;
            *colon = 0;
            char *rows = colon + 1, *schema = strchr(rows, ':');
            if (schema)
                *schema++ = 0;
            uint64_t n;
            if (!*s || parse_u64(rows, &n) < 0 || n > UINT32_MAX)
                goto bad;
            specs[nspec - 1] = (mo_gen_table_spec){s, n, schema};
            break;
        }
        default:
            goto bad;
        }
    }
    if (optind != argc || (!!out + !!mutate + !!check) != 1 || (nops && !mutate))
        goto bad;
    mo_err e = {0};
    mo_gen_report rep;
    if (out) {
        if (!db || !nspec)
            goto bad;
        mo_gen_opts o = {db, specs, nspec, seed, ashare, (int64_t)base, realtime};
        if ((rc = mo_gen_create(out, &o, &rep, &e)) < 0) {
            fprintf(stderr, "mosync gen: %s\n", e.msg);
            rc = rc == MO_EINVAL || rc == MO_EEXISTS ? MO_CLI_USAGE : mo_cli_exit_for(rc);
            goto done;
        }
        print_report(out, &rep);
    } else if (mutate) {
        if (have_steps == (nops > 0) || nspec || db)
            goto bad;
        rc = nops ? mo_gen_step(mutate, ops, nops, seed, realtime, &rep, &e)
                  : mo_gen_mutate(mutate, (unsigned)steps, seed, realtime, &rep, &e);
        if (rc < 0) {
            fprintf(stderr, "mosync gen: %s\n", e.msg);
            rc = mo_cli_exit_for(rc);
            goto done;
        }
        print_report(mutate, &rep);
    } else {
        uint64_t bad = 0;
        check_out co = {verbose};
        if ((rc = mo_gen_check(check, on_check, &co, &bad, &e)) < 0) {
            fprintf(stderr, "mosync gen: %s\n", e.msg);
            rc = mo_cli_exit_for(rc);
            goto done;
        }
        if (bad) {
            printf("%" PRIu64 " mismatches\n", bad);
            rc = MO_CLI_CORRUPT;
            goto done;
        }
        printf("check ok\n");
    }
    rc = MO_CLI_OK;
    goto done;
bad:
    usage();
    rc = MO_CLI_USAGE;
done:
    for (size_t i = 0; i < nspec; i++)
        mo_free(bufs[i]);
    return rc;
}
