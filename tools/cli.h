/* Shared declarations of the mosync CLI: argument parsing and printing only. */
#ifndef MO_CLI_H
#define MO_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes (README "Exit codes"). */
enum {
    MO_CLI_OK = 0,
    MO_CLI_CORRUPT = 1,
    MO_CLI_USAGE = 2,
    MO_CLI_VERSION = 3,
    MO_CLI_STALE_CKPT = 4,
    MO_CLI_UPSTREAM = 5
};

typedef struct mo_cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} mo_cli_cmd;

int mo_cli_verify(int argc, char **argv);
int mo_cli_inspect(int argc, char **argv);
int mo_cli_dump(int argc, char **argv);
int mo_cli_mkobj(int argc, char **argv);
int mo_cli_demo(int argc, char **argv);

/** Maps an mo_code to the CLI exit code. */
int mo_cli_exit_for(int rc);
/** Parses "8M", "64k", "1G", plain bytes. */
bool mo_cli_parse_size(const char *s, unsigned long long *out);

#endif
