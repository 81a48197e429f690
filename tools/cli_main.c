/* mosync command-line entry: dispatches subcommands; each lives in its own cli_*.c. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mo/err.h"

static const mo_cli_cmd cmds[] = {
    {"demo", mo_cli_demo, "demo [--out DIR] [--rows N]        generate sample objects, verify them"},
    {"verify", mo_cli_verify, "verify [--level frame|struct|deep] [--json] [-j N] PATH...|BUNDLE.tar"},
    {"inspect", mo_cli_inspect, "inspect [--json] FILE"},
    {"dump", mo_cli_dump, "dump [--format csv] FILE"},
    {"seed", mo_cli_seed,
     "seed --from SRC --to DIR [-j N] [--chunk-size SZ] [--verify-level L] [--bwlimit R]\n"
     "              [--progress=json] [--framed] [--no-journal]"},
    {"resume", mo_cli_resume, "resume --to DIR [seed options]"},
    {"import", mo_cli_import, "import FILE.tar --to DIR [seed options]"},
    {"export", mo_cli_export, "export --from DIR --to FILE.tar       write a bundle (objects + manifest)"},
    {"mktable", mo_cli_mktable, "mktable -C DIR \"CREATE TABLE `db`.`t` (...)\""},
    {"register", mo_cli_register, "register -C DIR --table db.t OBJECT_FILE..."},
    {"fsck", mo_cli_fsck, "fsck -C DIR [--repair]            catalog vs files"},
    {"checksum", mo_cli_checksum, "checksum -C DIR db.t [--at TS]    rows + order-independent fingerprint"},
    {"scan", mo_cli_scan, "scan -C DIR db.t [--at TS] [--format csv]"},
    {"sql", mo_cli_sql, "sql -C DIR [--json] [\"STATEMENT[; ...]\"]   subscriptions (stdin if none)"},
    {"journal", mo_cli_journal, "journal DIR                       state of DIR's checkpoint journal"},
    {"run", mo_cli_run, "run -C DIR [--once] [--workers N] [--cn-uuid U]   sync subscriptions (executor)"},
    {"gen", mo_cli_gen,
     "gen --out DIR --db NAME --table NAME:ROWS[:SCHEMA]... [--seed S] | --mutate DIR --steps K\n"
     "      [--seed S] | --check DIR     upstream replica with history + ground truth"},
    {"mkobj", mo_cli_mkobj,
     "mkobj --schema SPEC (--rows N [--seed S] | --from-csv FILE) [--pk COL] [--sorted]\n"
     "              [--appendable] [--tombstone] [--framed] --out DIR"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mosync <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(f, "  %s\n", cmds[i].usage);
    fprintf(f, "\nexit codes: 0 ok, 1 corrupt data, 2 usage or I/O error, 3 unsupported "
               "format version, 4 stale or foreign checkpoint, 5 upstream unreachable\n");
}

int mo_cli_exit_for(int rc)
{
    switch (rc) {
    case MO_OK:
        return MO_CLI_OK;
    case MO_ECORRUPT:
    case MO_ECHECKSUM:
    case MO_ETRUNCATED:
        return MO_CLI_CORRUPT;
    case MO_EVERSION:
        return MO_CLI_VERSION;
    case MO_EUPSTREAM:
    case MO_EAGAIN: /* transient upstream errors still failing after every retry */
        return MO_CLI_UPSTREAM;
    case MO_ESTALE:
        return MO_CLI_STALE_CKPT;
    default:
        return MO_CLI_USAGE;
    }
}

bool mo_cli_parse_size(const char *s, unsigned long long *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s)
        return false;
    unsigned long long mul = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = 1ull << 10; break;
        case 'm': case 'M': mul = 1ull << 20; break;
        case 'g': case 'G': mul = 1ull << 30; break;
        default: return false;
        }
        if (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
            return false;
    }
    if (v > ~0ull / mul)
        return false;
    *out = v * mul;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? MO_CLI_USAGE : MO_CLI_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mosync: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return MO_CLI_USAGE;
}
