/* `mosync mkobj`: write one object from a schema spec, generated rows or dump-format CSV. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: mosync mkobj --schema SPEC (--rows N [--seed S] | --from-csv FILE) [--pk COL]\n"
            "                    [--sorted] [--appendable] [--tombstone] [--framed] --out DIR\n"
            "  SPEC: name:type,... e.g. id:int64,name:varchar(40),amount:decimal64(12,2),at:timestamp\n"
            "  --tombstone: SPEC is the primary-key column; rows are (rowid, pk); a --from-csv\n"
            "               file then has two columns: the deleted rowid and the pk\n");
}

int mo_cli_mkobj(int argc, char **argv)
{
    static const struct option lo[] = {
        {"schema", required_argument, NULL, 's'}, {"rows", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 'S'},   {"from-csv", required_argument, NULL, 'c'},
        {"pk", required_argument, NULL, 'p'},     {"sorted", no_argument, NULL, 'o'},
        {"appendable", no_argument, NULL, 'a'},   {"tombstone", no_argument, NULL, 't'},
        {"framed", no_argument, NULL, 'f'},       {"out", required_argument, NULL, 'O'},
        {NULL, 0, NULL, 0}};
    const char *schema = NULL, *pk = NULL, *out = NULL;
    mo_cli_genspec g;
    memset(&g, 0, sizeof(g));
    g.pk = -1;
    g.seed = 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 's': schema = optarg; break;
        case 'r':
            g.rows = strtoull(optarg, &end, 10);
            if (*end || !*optarg) {
                fprintf(stderr, "mosync mkobj: bad --rows '%s'\n", optarg);
                return MO_CLI_USAGE;
            }
            break;
        case 'S':
            g.seed = strtoull(optarg, &end, 10);
            if (*end || !*optarg) {
                fprintf(stderr, "mosync mkobj: bad --seed '%s'\n", optarg);
                return MO_CLI_USAGE;
            }
            break;
        case 'c': g.csv = optarg; break;
        case 'p': pk = optarg; break;
        case 'o': g.sorted = true; break;
        case 'a': g.appendable = true; break;
        case 't': g.tombstone = true; break;
        case 'f': g.framed = true; break;
        case 'O': out = optarg; break;
        default: usage(); return MO_CLI_USAGE;
        }
    }
    if (!schema || !out || optind != argc || (!g.csv == !g.rows) || (g.tombstone && g.appendable)) {
        usage();
        return MO_CLI_USAGE;
    }
    static mo_cli_col cols[256];
    size_t n;
    mo_err e = {0};
    if (mo_cli_parse_schema(cols, 256, &n, schema, &e) < 0) {
        fprintf(stderr, "mosync mkobj: %s\n", e.msg);
        return MO_CLI_USAGE;
    }
    if (pk) {
        for (size_t i = 0; i < n; i++)
            if (!strcmp(cols[i].name, pk))
                g.pk = (int)i;
        if (g.pk < 0) {
            fprintf(stderr, "mosync mkobj: --pk %s is not a column of the schema\n", pk);
            return MO_CLI_USAGE;
        }
    }
    if (g.tombstone && n != 1) {
        fprintf(stderr, "mosync mkobj: --tombstone takes exactly one column (the primary key)\n");
        return MO_CLI_USAGE;
    }
    g.cols = cols;
    g.ncols = n;
    char path[4096];
    mo_obj_stats st;
    int rc = mo_cli_gen_object(&g, out, path, &st, &e);
    if (rc < 0) {
        fprintf(stderr, "mosync mkobj: %s\n", e.msg);
        return rc == MO_EINVAL ? MO_CLI_USAGE : mo_cli_exit_for(rc);
    }
    printf("%s\n", path);
    mo_cli_print_stats(stdout, &st);
    return MO_CLI_OK;
}
