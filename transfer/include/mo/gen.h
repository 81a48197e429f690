/**
 * @file mo/gen.h
 * Upstream generator with history (`mosync gen`): builds an UPSTREAM replica (objects flat in
 * a directory, catalog in "<dir>/.mosync/catalog") the way MO's upstream would hold it, then
 * advances it step by step, each step one catalog commit plus snapshot "gen_<n>": inserts
 * (CN data objects), deletes (tombstones), merges, appendable objects (commit-ts + abort),
 * TRUNCATE and copy ALTERs (new table id), in-place ALTERs (same id), create/drop table and
 * database (ccpr-protocol.md §3.6.1, §3.8, §5.6, §5.13). Object entries keep MO's upstream
 * flags (mo_cat_put_object_raw); dropped tables and databases stay in the catalog with their
 * dropped_ts so object_list can answer windows over the past.
 *
 * Ground truth: per step and table, the visible row count and fingerprint computed from the
 * generator's own row model (never by scanning), in "<dir>/.mosync/gen/truth"; mo_gen_check
 * compares mo_scan_table at every snapshot with it. The model itself is kept in
 * "<dir>/.mosync/gen/state" so that later runs can mutate further. Both files: magic,
 * version, length, XXH64 trailer; written temp, fsync, rename, fsync dir.
 *
 * Determinism: same options and seeds give the same catalog content and the same files
 * (object ids are UUIDv7 built from the seeded generator with the step TS as the clock),
 * unless `realtime` is set.
 */
#ifndef MO_GEN_H
#define MO_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "mo/cat.h"

/** What a step can do. The first MO_GEN_OP_COUNT steps of a long enough mutate run each
 * force one of them, in this order. */
typedef enum mo_gen_op {
    MO_GEN_OP_INSERT = 0,
    MO_GEN_OP_DELETE,
    MO_GEN_OP_MERGE,
    MO_GEN_OP_APPEND, /* appendable object with commit-ts / abort columns */
    MO_GEN_OP_TRUNCATE,
    MO_GEN_OP_ADD_COLUMN,  /* copy ALTER: new table id */
    MO_GEN_OP_DROP_COLUMN, /* copy ALTER */
    MO_GEN_OP_MODIFY_TYPE, /* copy ALTER */
    MO_GEN_OP_RENAME_TABLE, /* in place */
    MO_GEN_OP_RENAME_COLUMN,
    MO_GEN_OP_ADD_INDEX,
    MO_GEN_OP_INDEX_VISIBILITY, /* ALTER INDEX ... VISIBLE / INVISIBLE (in place) */
    MO_GEN_OP_DROP_INDEX,
    MO_GEN_OP_COMMENT,
    MO_GEN_OP_MODIFY_INPLACE, /* drop NOT NULL, change default, widen VARCHAR */
    MO_GEN_OP_CREATE_TABLE,
    MO_GEN_OP_DROP_TABLE,
    MO_GEN_OP_CREATE_DB,
    MO_GEN_OP_DROP_DB,
    MO_GEN_OP_COUNT
} mo_gen_op;

/** "insert", "delete", ..., "drop_db"; NULL for unknown values. */
const char *mo_gen_op_name(int op);

typedef struct mo_gen_table_spec {
    const char *name;
    uint64_t rows;
    /**
     * NULL: a TPC-C-like default chosen by name (warehouse, district, customer, history,
     * orders, new_order, order_line, stock, item; any other name gets a generic table).
     * Else "id:int64,name:varchar(40),..." (mkobj's syntax), the first column the PK.
     */
    const char *schema;
} mo_gen_table_spec;

typedef struct mo_gen_opts {
    const char *db;
    const mo_gen_table_spec *tables;
    size_t ntables;
    uint64_t seed;           /* 0 counts as 1 */
    double appendable_share; /* share of rows loaded through appendable objects; < 0: 0.1 */
    int64_t base_ts;         /* physical TS (ns) of step 0; 0: 1700000000 s */
    bool realtime;           /* step TS = max(previous + 1 s, wall clock): for live demos */
} mo_gen_opts;

typedef struct mo_gen_report {
    uint32_t first_step, last_step; /* snapshot numbers written by this call */
    mo_obj_ts last_ts;
    uint64_t objects_written;
    uint64_t rows_written;
    uint32_t ops[MO_GEN_OP_COUNT]; /* operations applied by this call */
} mo_gen_report;

/**
 * Creates the upstream replica in @p dir (created if missing; must not hold a generator
 * state yet: MO_EEXISTS) and snapshot "gen_1". @p rep may be NULL.
 * @return MO_OK, MO_EINVAL (bad spec), MO_EEXISTS, MO_EIO, MO_ENOMEM, catalog codes.
 * After an error the directory may hold objects not in the catalog and no state.
 */
int mo_gen_create(const char *dir, const mo_gen_opts *o, mo_gen_report *rep, mo_err *err);

/**
 * Advances the replica by @p steps steps ("gen_<n+1>".."gen_<n+steps>"), mixing the seed
 * into the saved generator state. When @p steps >= MO_GEN_OP_COUNT, the first steps force
 * each mo_gen_op once, in enum order, one operation per step (step n+1+i does op i only).
 * A failing step leaves the last committed step as the state (its
 * objects may remain as orphan files).
 */
int mo_gen_mutate(const char *dir, unsigned steps, uint64_t seed, bool realtime,
                  mo_gen_report *rep, mo_err *err);

/**
 * Advances the replica by exactly one step applying @p ops[0..nops) in that order (a scripted
 * scenario). An operation with nothing to act on (DROP INDEX with no index) is not applied:
 * @p rep->ops tells what was. At most 8 operations.
 */
int mo_gen_step(const char *dir, const int *ops, size_t nops, uint64_t seed, bool realtime,
                mo_gen_report *rep, mo_err *err);

/** The mo_gen_op named @p name ("rename_table"), or -1. */
int mo_gen_op_parse(const char *name);

/** Expected state of one table at one step. */
typedef struct mo_gen_truth_table {
    uint64_t table_id, db_id;
    char db[MO_CAT_NAME_MAX];
    char name[MO_CAT_NAME_MAX];
    uint64_t rows, sum, xor_; /* as mo_scan_result */
    char *create_sql;         /* owned; the CREATE TABLE text at that step (get_ddl) */
} mo_gen_truth_table;

typedef struct mo_gen_truth_step {
    uint32_t step;
    char snapshot[MO_CAT_NAME_MAX];
    mo_obj_ts ts;
    uint32_t ntables;
    mo_gen_truth_table *tables; /* owned */
} mo_gen_truth_step;

typedef struct mo_gen_truth {
    uint32_t nsteps;
    mo_gen_truth_step *steps; /* owned, in step order */
} mo_gen_truth;

/** Loads "<dir>/.mosync/gen/truth" (MO_ENOTFOUND, MO_ECORRUPT, MO_ECHECKSUM, MO_EVERSION). */
int mo_gen_truth_load(mo_gen_truth *out, const char *dir, mo_err *err);
void mo_gen_truth_dispose(mo_gen_truth *t);

/** One comparison of mo_gen_check. */
typedef struct mo_gen_check_item {
    const mo_gen_truth_step *step;
    const mo_gen_truth_table *table;
    struct {
        uint64_t rows, sum, xor_;
    } got; /* from mo_scan_table */
    bool ok;
} mo_gen_check_item;

typedef int (*mo_gen_check_cb)(const mo_gen_check_item *it, void *payload);

/**
 * Scans every table of every step at its snapshot TS and compares with the truth (also that
 * snapshot "gen_<n>" exists with that TS). @p cb (may be NULL) sees each comparison.
 * *mismatches_out = number of failed comparisons. @return MO_OK when the check ran (whatever
 * the mismatches), else the error that stopped it.
 */
int mo_gen_check(const char *dir, mo_gen_check_cb cb, void *payload, uint64_t *mismatches_out,
                 mo_err *err);

#endif
