/* `mosync run -C DIR [--once] [--workers N] [--cn-uuid U] [--max-seconds S] [--quiet]`: the
 * sync executor over the downstream replica DIR (mo/sync.h). One line per iteration on stdout:
 *   iter sub=<name> task=<id> lsn=<L> ts=<physical>-<logical> tables=N fetched=N reused=N
 *        bytes=N registered=N deleted=N rewritten=N ddl=c/d/r/i/n resync=0|1 secs=S rc=OK|<error>
 * With --once: one round, exit 0 iff every iteration succeeded (else the exit code of the
 * first failure). Without: runs until SIGINT/SIGTERM. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mo/sync.h"

static volatile int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void print_report(const mo_sync_report *r, void *payload)
{
    (void)payload;
    if (r->skipped) {
        printf("skip sub=%s task=%" PRIu64 "\n", r->sub, r->task_id);
        fflush(stdout);
        return;
    }
    printf("iter sub=%s task=%" PRIu64 " lsn=%" PRIu64 " ts=%" PRId64 "-%u tables=%u fetched=%" PRIu64
           " reused=%" PRIu64 " bytes=%" PRIu64 " merged=%" PRIu64 " registered=%" PRIu64 " deleted=%" PRIu64
           " rewritten=%" PRIu64 " ddl=%u/%u/%u/%u/%u resync=%d secs=%.3f rc=%s%s%s\n",
           r->sub, r->task_id, r->lsn, r->ts.physical, r->ts.logical, r->tables, r->fetched,
           r->reused, r->bytes, r->merged_bytes, r->registered, r->deleted, r->rewritten, r->ddl_create,
           r->ddl_drop, r->ddl_recreate, r->ddl_inplace, r->ddl_rename, r->resync, r->seconds,
           r->rc == 0 ? "OK" : mo_code_name(r->rc), r->rc == 0 ? "" : " error=",
           r->rc == 0 ? "" : r->error);
    fflush(stdout);
}

int mo_cli_run(int argc, char **argv)
{
    const char *dir = NULL, *cn = NULL;
    bool once = false, quiet = false, buffered = false;
    unsigned workers = 0;
    double max_s = 0;
    mo_obj_level level = 0; /* 0: the engine's default (deep) */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-C") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--once"))
            once = true;
        else if (!strcmp(argv[i], "--quiet"))
            quiet = true;
        else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
            workers = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--cn-uuid") && i + 1 < argc)
            cn = argv[++i];
        else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc)
            max_s = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--buffered-io"))
            buffered = true;
        else if (!strcmp(argv[i], "--verify-level") && i + 1 < argc &&
                 mo_obj_level_parse(&level, argv[i + 1]) == MO_OK)
            i++;
        else {
            fprintf(stderr, "usage: mosync run -C DIR [--once] [--workers N] [--cn-uuid U] "
                            "[--max-seconds S] [--verify-level frame|struct|deep] [--buffered-io] "
                            "[--quiet]\n");
            return MO_CLI_USAGE;
        }
    }
    if (!dir) {
        fprintf(stderr, "mosync run: -C DIR is required\n");
        return MO_CLI_USAGE;
    }
    if (workers > 64)
        workers = 64;
    mo_sync_opts o;
    memset(&o, 0, sizeof(o));
    o.cn_uuid = cn;
    o.workers = workers;
    o.verify_level = level;
    o.buffered_io = buffered;
    o.log = quiet ? NULL : stderr;
    mo_err err = {0};
    mo_sync *s;
    int rc = mo_sync_new(&s, dir, &o, &err);
    if (rc < 0) {
        fprintf(stderr, "mosync run: %s\n", err.msg);
        return mo_cli_exit_for(rc);
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    mo_sync_run_opts ro;
    memset(&ro, 0, sizeof(ro));
    ro.once = once;
    ro.max_seconds = max_s;
    ro.stop = &g_stop;
    mo_sync_run_stats st;
    rc = mo_sync_run(s, &ro, &st, print_report, NULL, &err);
    mo_sync_free(s);
    if (!quiet)
        fprintf(stderr,
                "mosync run: %u rounds, %u iterations (%u failed, %u skipped), %" PRIu64
                " objects / %" PRIu64 " bytes fetched\n",
                st.rounds, st.iterations, st.failed, st.skipped, st.fetched, st.bytes);
    if (rc < 0) {
        fprintf(stderr, "mosync run: %s\n", err.msg);
        return mo_cli_exit_for(rc);
    }
    return MO_CLI_OK;
}
