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
int mo_cli_gen(int argc, char **argv);
int mo_cli_run(int argc, char **argv);
int mo_cli_demo(int argc, char **argv);
int mo_cli_seed(int argc, char **argv);
int mo_cli_resume(int argc, char **argv);
int mo_cli_import(int argc, char **argv);
int mo_cli_journal(int argc, char **argv);
int mo_cli_export(int argc, char **argv);
int mo_cli_sql(int argc, char **argv);
int mo_cli_register(int argc, char **argv);
int mo_cli_fsck(int argc, char **argv);
int mo_cli_checksum(int argc, char **argv);
int mo_cli_scan(int argc, char **argv);
int mo_cli_mktable(int argc, char **argv);

/** Maps an mo_code to the CLI exit code. */
int mo_cli_exit_for(int rc);
/** Parses "8M", "64k", "1G", plain bytes. */
bool mo_cli_parse_size(const char *s, unsigned long long *out);

#include <stdint.h>

#include "mo/objfmt.h"

/** `mosync verify BUNDLE.tar`: one line per problem (or JSON), a summary; returns the exit
 *  code (0 ok, 1 corrupt, 2 usage/IO, 3 unsupported version). */
int mo_cli_verify_bundle(const char *path, mo_obj_level level, bool json);

/** Appends @p s as a JSON string literal (quoted, escaped). */
int mo_cli_json_str(mo_buf *out, const char *s);

/** Calls @p cb for every regular file under @p path (a file, or a directory walked
 *  recursively, skipping dot-names which are temp files). Returns the number skipped. */
typedef int (*mo_cli_file_cb)(const char *path, uint64_t size, void *payload);
int mo_cli_walk(const char *path, mo_cli_file_cb cb, void *payload, unsigned *skipped, mo_err *err);

/** A column of a --schema SPEC ("name:type"). */
typedef struct mo_cli_col {
    char name[64];
    mo_obj_type type;
} mo_cli_col;
int mo_cli_parse_schema(mo_cli_col *cols, size_t cap, size_t *n, const char *spec, mo_err *err);

/** Options of one generated object (mkobj and demo). */
typedef struct mo_cli_genspec {
    const mo_cli_col *cols;
    size_t ncols;
    int pk;           /* column index or -1 */
    bool sorted;      /* rows ordered by the pk (or the first column) */
    bool appendable;  /* adds commit-ts (65533) and abort (65534) columns */
    bool tombstone;   /* cols = {pk}; writes rowid + pk */
    bool framed;
    uint64_t rows;
    uint64_t seed;
    const char *csv; /* load rows from this CSV instead of generating */
} mo_cli_genspec;

/** Writes one object into @p dir (raw or framed, temp + fsync + rename). */
int mo_cli_gen_object(const mo_cli_genspec *g, const char *dir, char path_out[4096],
                      mo_obj_stats *stats, mo_err *err);
/** Prints a one-line ObjectStats summary. */
void mo_cli_print_stats(FILE *f, const mo_obj_stats *st);
/** Writes @p n bytes durably to @p path, DISK-framed when @p framed. */
int mo_cli_write_object(const char *path, const uint8_t *p, size_t n, bool framed, mo_err *err);

#endif
