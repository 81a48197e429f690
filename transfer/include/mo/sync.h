/**
 * @file mo/sync.h
 * The sync engine (issue 6): the Downstream Iteration of one subscription, the Task Scanner
 * and the Sync Executor behind `mosync run`. Spec: ../shared/DESIGN.md "Data flow of one
 * iteration", spec/mission.md (components), spec/ccpr-protocol.md §5 and §7.
 *
 * One iteration works on a whole SUBSCRIPTION: every table task of a database- or
 * account-level subscription moves at the same upstream snapshot `ccpr_<task_id>_<L>` in one
 * catalog commit (a consistent cut across the tables). Its steps: claim with fencing, upstream
 * snapshot (the previous one kept, the one before dropped, wait until flushed), DDL diff,
 * object diff (deleted wins), fetch through the copier (resumable, files already fetched and
 * verified are reused), rewrite appendable objects and remap tombstones, then ONE commit of
 * objects, DDL, mappings and the new watermark/lsn. Errors are recorded in MO's `R:`/`N:`
 * form with its retry budget (§5.9); nothing committed is ever rolled back.
 *
 * Threads: an mo_sync handle serialises its catalog accesses with an internal mutex, so
 * iterations of different subscriptions may run in parallel threads on one handle; the
 * same subscription never runs twice at a time (MO_EEXISTS).
 */
#ifndef MO_SYNC_H
#define MO_SYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mo/cat.h"
#include "mo/xfer.h"

/* ---------------- error messages (ccpr-protocol.md §4, §5.9) ---------------- */

/** MO's retry budget: more than this many consecutive retryable failures become fatal. */
#define MO_SYNC_RETRY_THRESHOLD 10

/** A decoded task error_message. */
typedef struct mo_sync_errmsg {
    bool set;        /* false: "" */
    bool retryable;  /* R: ... */
    unsigned count;  /* R: retry count */
    int64_t first, last; /* unix seconds */
    char msg[900];
} mo_sync_errmsg;

/** Parses "R:count:first:last:msg" / "N:first:msg"; other non-empty text = fatal legacy. */
void mo_sync_errmsg_parse(mo_sync_errmsg *out, const char *s);
/** Formats @p e (empty string when !e->set). */
void mo_sync_errmsg_format(char *out, size_t cap, const mo_sync_errmsg *e);
/**
 * The next error record after a failure of kind @p retryable with text @p msg at @p now,
 * given the previous record @p prev (MO's ErrorMetadata: the count grows while the kind stays
 * the same; a retryable error whose count passes MO_SYNC_RETRY_THRESHOLD becomes fatal).
 */
void mo_sync_errmsg_next(mo_sync_errmsg *out, const mo_sync_errmsg *prev, bool retryable,
                         const char *msg, int64_t now);
/** §5.9 classification of an iteration failure (rc + message) as retryable. */
bool mo_sync_retryable(int rc, const mo_err *err);

/* ---------------- the handle ---------------- */

typedef struct mo_sync mo_sync;

typedef struct mo_sync_opts {
    const char *cn_uuid;       /* worker identity; NULL = a fresh UUID */
    unsigned workers;          /* iterations at once (executor), 0 = 4 */
    unsigned fetch_jobs;       /* objects in flight per iteration, 0 = 4 */
    mo_obj_level verify_level; /* 0 = deep */
    unsigned flush_timeout_s;  /* wait for check_snapshot_flushed, 0 = 1800 (MO: 30 min) */
    FILE *log;                 /* one line per iteration and event, NULL = silent */
    bool buffered_io;          /* objects through the page cache, not O_DIRECT */
} mo_sync_opts;

/**
 * Opens the sync engine over the downstream replica @p dir (objects flat in @p dir, catalog
 * in "<dir>/.mosync/catalog", opened for writing: a second writer gets MO_EEXISTS).
 */
int mo_sync_new(mo_sync **out, const char *dir, const mo_sync_opts *opts, mo_err *err);
void mo_sync_free(mo_sync *s);
/** The catalog handle (borrowed; only while no iteration runs; mo_sync_run without `once`
 * closes and reopens it between rounds, so it is only valid until the next round). */
mo_cat *mo_sync_cat(mo_sync *s);
const char *mo_sync_cn_uuid(const mo_sync *s);

/**
 * Executor start: every task whose iteration is pending, running or cancel becomes complete
 * (iterations are idempotent: the next one replays the same lsn). @p fixed_out may be NULL.
 */
int mo_sync_recover(mo_sync *s, unsigned *fixed_out, mo_err *err);

/** What one iteration did. */
typedef struct mo_sync_report {
    uint64_t task_id;
    char sub[MO_CAT_NAME_MAX];
    uint64_t lsn;          /* L */
    mo_obj_ts ts;          /* snapshot TS = the new watermark */
    bool skipped;          /* not runnable (paused, fatal error, fenced out) */
    bool resync;           /* stale previous snapshot: clean full resync */
    uint32_t tables;       /* tables in scope after the iteration */
    uint32_t ddl_create, ddl_drop, ddl_recreate, ddl_inplace, ddl_rename;
    uint64_t listed;       /* object_list entries after de-duplication */
    uint64_t fetched;      /* objects fetched from the upstream */
    uint64_t reused;       /* objects found already fetched and verified */
    uint64_t bytes;        /* payload bytes fetched */
    uint64_t merged_bytes; /* of them, merge churn: incremental fetches of data objects an
                            * upstream merge wrote (ObjectStats level > 0) into tables already
                            * here, i.e. rows this downstream had in the objects replaced */
    uint64_t registered;   /* object entries inserted */
    uint64_t deleted;      /* object entries soft-deleted */
    uint64_t rewritten;    /* appendable objects rewritten, tombstones remapped */
    double seconds;
    int rc;
    char error[1024];      /* the error_message recorded ("" on success) */
} mo_sync_report;

/**
 * Runs one Downstream Iteration of subscription @p task_id (claim, snapshot, DDL, objects,
 * one commit). @return MO_OK also when the subscription was skipped (rep->skipped: paused,
 * dropped, in a fatal error state, or claimed by another worker); on failure the error is
 * recorded in the task rows (R:/N:) and returned. MO_EEXISTS: already running in this handle.
 */
int mo_sync_iterate(mo_sync *s, mo_sync_report *rep, uint64_t task_id, mo_err *err);

/**
 * Task Scanner for one subscription: lists the upstream tables (get_ddl at "now") and creates
 * task rows for tables not yet tracked (database/account level); a table whose upstream id
 * changed gets its task re-pointed (the next iteration drops and re-creates it). @p created
 * may be NULL.
 */
int mo_sync_scan(mo_sync *s, uint64_t task_id, unsigned *created, mo_err *err);

/**
 * DROP at an iteration boundary: drops every upstream snapshot the subscription still holds
 * and deletes its task rows (its tables stay). Only for dropped subscriptions.
 */
int mo_sync_drop(mo_sync *s, uint64_t task_id, mo_err *err);

/** Executor options for mo_sync_run. */
typedef struct mo_sync_run_opts {
    bool once;           /* one round, then return */
    bool honor_interval_once; /* with once: skip subscriptions not due yet */
    double max_seconds;  /* > 0: stop after this long (tests) */
    volatile int *stop;  /* non-NULL: stop when it becomes non-zero */
} mo_sync_run_opts;

/** Summary of mo_sync_run. */
typedef struct mo_sync_run_stats {
    unsigned rounds, iterations, failed, skipped;
    uint64_t fetched, bytes;
} mo_sync_run_stats;

typedef void (*mo_sync_report_cb)(const mo_sync_report *rep, void *payload);

/**
 * The Sync Executor: mo_sync_recover, then rounds: per subscription, DROP handling, Task
 * Scanner and one iteration when due (sync_interval since the last start; failures back off
 * exponentially and retry the same lsn), at most opts.workers at once. Without `once` the
 * catalog is closed between rounds (and reopened, waiting while another writer such as
 * `mosync sql` holds it), so PAUSE/RESUME/DROP issued meanwhile apply from the next round.
 * @p cb (may be NULL)
 * sees every iteration report. @return MO_OK when every iteration of a `once` run succeeded,
 * else the first failure's code.
 */
int mo_sync_run(mo_sync *s, const mo_sync_run_opts *ro, mo_sync_run_stats *st,
                mo_sync_report_cb cb, void *payload, mo_err *err);

/* ---------------- the iteration's object source (exposed for tests) ---------------- */

struct mo_up;
/** One object to fetch: upstream name and stats from object_list. */
typedef struct mo_sync_want {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    uint8_t stats[MO_OBJ_STATS_LEN];
} mo_sync_want;

/**
 * A copier source serving exactly @p want (borrowed, n objects) from an MO upstream:
 * sizes from get_object chunk 0, bytes as upstream chunks (MO_SRC_CHUNKS), connections from
 * @p uri + @p password (pool). The identity names the upstream, @p job and the list hash, so
 * a retried iteration resumes its own journal.
 */
int mo_sync_src_open(mo_src **out, const char *uri, const char *password, const char *pubacct,
                     const char *pubname, const mo_sync_want *want, size_t n, const char *job,
                     mo_err *err);

/**
 * A dir sink into @p dir whose journal lives in @p state_dir instead of "<dir>/.mosync"
 * (one journal per subscription, so parallel iterations never share one). It publishes
 * unsynced (the iteration makes what it registers durable in one batch before its commit);
 * @p direct: parts written with O_DIRECT (objects kept as they are, not read back soon).
 */
int mo_sync_sink_open(mo_sink **out, const char *dir, const char *state_dir, bool direct,
                      mo_err *err);

#endif
