/**
 * @file mo/cat.h
 * The downstream catalog: durable state of mosync in files under "<replica>/.mosync/catalog/",
 * no server needed. An append-only log of checksummed records grouped into atomic commits,
 * periodic compaction into a snapshot, recovery that stops at the first torn or corrupt
 * record, and a single-writer lock with an epoch number (a stale writer is fenced out).
 * Rows: subscriptions (the design's mo_sync_configs), table tasks (mo_sync_tasks),
 * databases, tables (with their parsed column lists), object entries (CN-created,
 * non-mergeable), upstream->downstream object mappings (with row-offset maps), snapshots.
 * Spec: ../shared/spec/mission.md, ccpr-protocol.md §1, §4, §5.6.
 */
#ifndef MO_CAT_H
#define MO_CAT_H

#include <stdbool.h>
#include <stdint.h>

#include "mo/base.h"
#include "mo/hash.h"
#include "mo/obj_types.h"

typedef struct mo_cat mo_cat;
typedef struct mo_cat_txn mo_cat_txn;

/* ---------------- rows ---------------- */

#define MO_CAT_NAME_MAX 256

/* subscription state (MO's mo_ccpr_log.state) */
enum { MO_CAT_SUB_RUNNING = 0, MO_CAT_SUB_ERROR = 1, MO_CAT_SUB_PAUSED = 2, MO_CAT_SUB_DROPPED = 3 };
/* iteration_state, MO's codes */
enum {
    MO_CAT_ITER_PENDING = 0,
    MO_CAT_ITER_RUNNING = 1,
    MO_CAT_ITER_COMPLETE = 2,
    MO_CAT_ITER_ERROR = 3,
    MO_CAT_ITER_CANCEL = 4
};

/** A subscription (mo_sync_configs). Key: task_id; subscription_name is unique. */
typedef struct mo_cat_sub {
    uint64_t task_id;
    char name[MO_CAT_NAME_MAX];
    char level[16]; /* "account" | "database" | "table" */
    char account[MO_CAT_NAME_MAX];
    char db[MO_CAT_NAME_MAX];
    char table[MO_CAT_NAME_MAX];
    /** mysql://acct#user@host:port, dir:///path or bundle:///file.tar; NEVER a password. */
    char upstream_conn[1024];
    char pub_account[MO_CAT_NAME_MAX];
    char pub_name[MO_CAT_NAME_MAX];
    uint32_t sync_interval; /* seconds, default 60 */
    uint8_t state;
    int64_t created_us, updated_us;
} mo_cat_sub;

/** A table task (mo_sync_tasks). Key: job_id. */
typedef struct mo_cat_task {
    uint64_t job_id;
    uint64_t task_id;
    char account[MO_CAT_NAME_MAX];
    uint64_t db_id, down_db_id;
    char db[MO_CAT_NAME_MAX];
    uint64_t table_id, down_table_id; /* upstream / downstream */
    char table[MO_CAT_NAME_MAX];
    mo_obj_ts watermark;
    mo_obj_ts snapshot_ts;
    uint8_t iteration_state;
    char cn_uuid[64];
    uint64_t iteration_lsn;
    char error_message[1024]; /* "R:count:first:last:msg" | "N:first:msg" | "" */
    int64_t created_us, updated_us;
} mo_cat_task;

typedef struct mo_cat_db {
    uint64_t down_id; /* key */
    uint64_t up_id;
    char name[MO_CAT_NAME_MAX];
    /* history (upstream replicas, `mosync gen`): {0,0} = unknown / live */
    mo_obj_ts created_ts;
    mo_obj_ts dropped_ts; /* non-zero: dropped at that TS, row kept for object_list history */
} mo_cat_db;

/** One column of a table, as stored in objects: seqnum = ColumnMeta index. */
typedef struct mo_cat_col {
    char name[MO_CAT_NAME_MAX];
    mo_obj_type type;
    uint16_t seqnum;
    bool hidden; /* __mo_cpkey_col, __mo_fake_pk_col, __mo_cbkey_* */
    bool not_null;
} mo_cat_col;

typedef struct mo_cat_table {
    uint64_t down_id; /* key */
    uint64_t up_id;
    uint64_t down_db_id;
    char db[MO_CAT_NAME_MAX];
    char name[MO_CAT_NAME_MAX];
    char *create_sql; /* owned; the upstream CREATE TABLE text */
    mo_cat_col *cols; /* owned */
    uint16_t ncols;
    int pk_col;       /* index into cols of the (possibly hidden composite) PK, -1 none */
    bool real_pk;     /* false when the PK is __mo_fake_pk_col */
    int sort_col;     /* sort key column (PK, or cluster-by), -1 none */
    /* history (upstream replicas, `mosync gen`): {0,0} = unknown / live */
    mo_obj_ts created_ts;
    mo_obj_ts dropped_ts; /* non-zero: dropped (or replaced by TRUNCATE / copy ALTER) at that TS */
} mo_cat_table;

/** An object entry. Key: 18-byte object id. */
typedef struct mo_cat_object {
    uint8_t stats[MO_OBJ_STATS_LEN]; /* flags normalized at registration */
    uint64_t table_id;               /* downstream table id */
    bool is_tombstone;
    mo_obj_ts create_ts;
    mo_obj_ts delete_ts; /* {0,0} while live (soft delete sets it) */
    mo_digest128 digest; /* XXH3-128 of the file */
    uint8_t upstream_id[MO_OBJ_OBJECTID_LEN];
    bool non_mergeable;
} mo_cat_object;

/** Upstream object -> downstream objects, with the row-offset map of rewritten appendables. */
typedef struct mo_cat_mapping {
    uint8_t upstream_id[MO_OBJ_OBJECTID_LEN]; /* key */
    uint64_t table_id;
    uint8_t (*down_ids)[MO_OBJ_OBJECTID_LEN]; /* owned */
    uint32_t ndown;
    uint32_t *row_map; /* owned; upstream row ordinal -> downstream row ordinal, UINT32_MAX = dropped */
    uint32_t nrows;
} mo_cat_mapping;

typedef struct mo_cat_snapshot {
    char name[MO_CAT_NAME_MAX]; /* key */
    mo_obj_ts ts;
} mo_cat_snapshot;

void mo_cat_table_dispose(mo_cat_table *t);
/** Deep copy (CREATE text and columns); MO_ENOMEM leaves @p dst empty. */
int mo_cat_table_copy(mo_cat_table *dst, const mo_cat_table *src);
void mo_cat_mapping_dispose(mo_cat_mapping *m);

/* ---------------- the store ---------------- */

#define MO_CAT_READ 0
#define MO_CAT_WRITE 1 /* takes the single-writer lock and a new epoch */

/**
 * Opens "<dir>/.mosync/catalog" (created when writing). Recovery replays the snapshot and
 * the log up to the first torn or corrupt record; @p torn_out (may be NULL) receives the
 * bytes dropped, and the message in @p err says where when non-zero. A second writer gets
 * MO_EEXISTS ("locked by pid N").
 */
int mo_cat_open(mo_cat **out, const char *dir, int mode, uint64_t *torn_out, mo_err *err);
/**
 * Closes (NULL is fine). A writer whose log has grown past max(1 MiB, snapshot/64) compacts
 * first, so that the next open replays little; a failure there only leaves the log longer.
 */
void mo_cat_close(mo_cat *c);
/** The epoch this writer holds (0 for readers). */
uint64_t mo_cat_epoch(const mo_cat *c);
/** The catalog directory "<dir>/.mosync/catalog" (borrowed; lives as long as @p c). */
const char *mo_cat_dir(const mo_cat *c);
/** Rewrites the snapshot from the live rows and starts an empty log (temp, fsync, rename, fsync dir). */
int mo_cat_compact(mo_cat *c, mo_err *err);
/** Re-reads state committed by another process (readers). */
int mo_cat_refresh(mo_cat *c, mo_err *err);

/* transactions: all-or-nothing after a crash; a stale epoch is rejected with MO_ESTALE */
int mo_cat_begin(mo_cat *c, mo_cat_txn **out, mo_err *err);
/**
 * One pwrite + one fsync. MO_ESTALE when a newer writer bumped EPOCH (nothing written). After
 * an I/O failure (MO_EIO/MO_ENOSPC) the handle is poisoned: the commit may or may not be
 * durable, and only a reopen (replay) can tell; every later begin/commit fails. Other
 * failures leave the handle unchanged. A commit may compact the log when it has grown large.
 */
int mo_cat_commit(mo_cat_txn *t, mo_err *err); /* frees t in every case */
void mo_cat_abort(mo_cat_txn *t);

int mo_cat_put_sub(mo_cat_txn *t, const mo_cat_sub *s, mo_err *err);
int mo_cat_del_sub(mo_cat_txn *t, uint64_t task_id, mo_err *err);
int mo_cat_put_task(mo_cat_txn *t, const mo_cat_task *k, mo_err *err);
int mo_cat_del_task(mo_cat_txn *t, uint64_t job_id, mo_err *err);
int mo_cat_put_db(mo_cat_txn *t, const mo_cat_db *d, mo_err *err);
int mo_cat_del_db(mo_cat_txn *t, uint64_t down_id, mo_err *err);
int mo_cat_put_table(mo_cat_txn *t, const mo_cat_table *tb, mo_err *err);
int mo_cat_del_table(mo_cat_txn *t, uint64_t down_id, mo_err *err);
/**
 * Registers (or replaces) an object entry. The stored flags byte (stats[153]) is normalized
 * with mo_cat_normalize_flags() using real_pk of table o->table_id (put earlier in the same
 * transaction, else committed; an unknown table counts as no real PK), and the entry is
 * stored with non_mergeable = true whatever the caller passed.
 */
int mo_cat_put_object(mo_cat_txn *t, const mo_cat_object *o, mo_err *err);
/**
 * Registers (or replaces) an object entry exactly as given: flags byte and non_mergeable are
 * stored unchanged. For upstream replicas (`mosync gen`), whose entries carry the flags MO's
 * upstream gave the object (appendable, sorted, CN-created) and must not be normalized.
 */
int mo_cat_put_object_raw(mo_cat_txn *t, const mo_cat_object *o, mo_err *err);
int mo_cat_del_object(mo_cat_txn *t, const uint8_t id[MO_OBJ_OBJECTID_LEN], mo_err *err);
int mo_cat_put_mapping(mo_cat_txn *t, const mo_cat_mapping *m, mo_err *err);
int mo_cat_del_mapping(mo_cat_txn *t, const uint8_t upstream_id[MO_OBJ_OBJECTID_LEN], mo_err *err);
int mo_cat_put_snapshot(mo_cat_txn *t, const mo_cat_snapshot *s, mo_err *err);
int mo_cat_del_snapshot(mo_cat_txn *t, const char *name, mo_err *err);
/** Allocates the next id of a sequence ("task", "job", "db", "table"), part of @p t. */
int mo_cat_next_id(mo_cat_txn *t, const char *seq, uint64_t *out, mo_err *err);

/* reads (committed state; a txn sees its own writes only after commit) */
int mo_cat_get_sub(mo_cat *c, uint64_t task_id, mo_cat_sub *out);          /* MO_ENOTFOUND */
int mo_cat_get_sub_by_name(mo_cat *c, const char *name, mo_cat_sub *out);
int mo_cat_get_task(mo_cat *c, uint64_t job_id, mo_cat_task *out);
int mo_cat_get_table(mo_cat *c, uint64_t down_id, mo_cat_table *out, mo_err *err); /* deep copy */
/** By name; tables with a non-zero dropped_ts are skipped. */
int mo_cat_find_table(mo_cat *c, const char *db, const char *name, mo_cat_table *out, mo_err *err);
/**
 * The first object read (get/foreach) of a handle loads and checksums the snapshot's object
 * section (open does not), so these may also return MO_EIO/MO_ECHECKSUM/MO_ENOMEM.
 */
int mo_cat_get_object(mo_cat *c, const uint8_t id[MO_OBJ_OBJECTID_LEN], mo_cat_object *out);
int mo_cat_get_mapping(mo_cat *c, const uint8_t up[MO_OBJ_OBJECTID_LEN], mo_cat_mapping *out,
                       mo_err *err);
int mo_cat_get_snapshot(mo_cat *c, const char *name, mo_cat_snapshot *out);

/* enumeration in key order; a non-zero return from the callback stops with MO_EUSER */
int mo_cat_foreach_sub(mo_cat *c, int (*cb)(const mo_cat_sub *, void *), void *payload);
int mo_cat_foreach_task(mo_cat *c, int (*cb)(const mo_cat_task *, void *), void *payload);
int mo_cat_foreach_db(mo_cat *c, int (*cb)(const mo_cat_db *, void *), void *payload);
int mo_cat_foreach_table(mo_cat *c, int (*cb)(const mo_cat_table *, void *), void *payload);
/** Objects of one downstream table (table_id = 0: all). */
int mo_cat_foreach_object(mo_cat *c, uint64_t table_id, int (*cb)(const mo_cat_object *, void *),
                          void *payload);
/** Live object entries; needs no I/O (the snapshot header count plus each commit's delta). */
uint64_t mo_cat_count_objects(mo_cat *c);
int mo_cat_foreach_snapshot(mo_cat *c, int (*cb)(const mo_cat_snapshot *, void *), void *payload);

/* ---------------- registration (ccpr-protocol.md §5.6) ---------------- */

/**
 * MO's downstream flag rewrite: clear appendable/sorted/CN-created/CN-deleted (b0..b4), keep
 * the level bits, set sorted = is_tombstone || real_pk, set CN-created.
 */
uint8_t mo_cat_normalize_flags(uint8_t flags, bool is_tombstone, bool real_pk);

/* ---------------- connection strings (§1.4) ---------------- */

#define MO_CAT_URI_SSL_CA_MAX 200 /* keeps the formatted URI inside upstream_conn */

typedef struct mo_cat_uri {
    char scheme[16]; /* "mysql" | "dir" | "bundle" */
    char account[MO_CAT_NAME_MAX];
    char user[MO_CAT_NAME_MAX];
    char password[MO_CAT_NAME_MAX];
    char host[MO_CAT_NAME_MAX];
    uint16_t port;
    char path[1024]; /* dir / bundle */
    char ssl_mode[32]; /* mysql: ?ssl-mode=..., "" = none (lower case) */
    char ssl_ca[MO_CAT_URI_SSL_CA_MAX + 1]; /* mysql: &ssl-ca=/abs/path, "" = none */
} mo_cat_uri;

/**
 * Parses like MO's CREATE-time parser (exactly one '@', host:port, no IPv6, ...). mosync's
 * extension: mysql:// URIs may end in `?ssl-mode=MODE[&ssl-ca=/abs/ca.pem]` (either or both,
 * any order), MODE one of disabled, preferred, required, verify_ca, verify_identity.
 */
int mo_cat_uri_parse(mo_cat_uri *out, const char *s, mo_err *err);
/** The URI without its password ("mysql://acct#user:***@host:port" when @p mask). */
void mo_cat_uri_format(char *out, size_t cap, const mo_cat_uri *u, bool mask);

/**
 * Passwords live in "<catalog>/secrets" (mode 0600), keyed by task id, never in the log.
 * put/del need a writer (MO_EINVAL on a reader) and rewrite the file durably (temp, fsync,
 * rename, fsync dir); a secrets file that group or others may read is refused (MO_EINVAL),
 * a damaged one is MO_ECHECKSUM / MO_ECORRUPT; get of an unknown task is MO_ENOTFOUND.
 */
int mo_cat_secret_put(mo_cat *c, uint64_t task_id, const char *password, mo_err *err);
int mo_cat_secret_get(mo_cat *c, uint64_t task_id, char *out, size_t cap, mo_err *err);
int mo_cat_secret_del(mo_cat *c, uint64_t task_id, mo_err *err);

/* ---------------- schemas ---------------- */

/**
 * Parses MO's CREATE TABLE text (ccpr-protocol.md §3.6.1) into db, table name and columns
 * with seqnums in definition order plus the hidden columns MO appends (§5.13).
 */
int mo_cat_schema_parse(mo_cat_table *out, const char *create_sql, mo_err *err);

/** @p t as CREATE TABLE column type text ("decimal(12,2)", "bigint unsigned"). */
void mo_cat_type_sql(char *out, size_t cap, const mo_obj_type *t);

/* ---------------- hidden index tables ---------------- */

/** MO's hidden index tables are named `__mo_index_<kind>_<uuid>` (catalog.IsHiddenTable). */
#define MO_CAT_INDEX_PREFIX "__mo_index_"
bool mo_cat_is_index_table(const char *name);

/**
 * The table a secondary index of @p parent is stored in (`__mo_index_idx_col` = the packed
 * tuple of the indexed value and the primary key, VARCHAR, its PK and sort key;
 * `__mo_index_pri_col` = the parent's primary-key storage column). Index-table schemas are
 * not transmitted (ccpr-protocol.md §5.13): both sides derive them from the parent, as MO's
 * downstream does by executing the parent's CREATE text. The link to the parent (@p parent_id
 * on this side, the index name, the upstream index table's name @p up_name) is kept in the
 * CREATE text's comment, see mo_cat_index_table_link. down_id/up_id are left 0.
 */
int mo_cat_index_table_make(mo_cat_table *out, const mo_cat_table *parent, uint64_t parent_id,
                            const char *name, const char *index_name, const char *up_name,
                            mo_err *err);

/** What an index table's CREATE text says of its parent; MO_ENOTFOUND for other tables. */
typedef struct mo_cat_index_link {
    uint64_t parent_id;
    char index_name[MO_CAT_NAME_MAX];
    char up_name[MO_CAT_NAME_MAX]; /* the upstream index table's name */
} mo_cat_index_link;
int mo_cat_index_table_link(const char *name, const char *create_sql, mo_cat_index_link *out);

/* ---------------- SQL surface ---------------- */

/** A result set: column names and rows of NUL-terminated strings (NULL cell = NULL pointer). */
typedef struct mo_cat_result {
    unsigned ncols;
    char **cols;
    size_t nrows;
    char ***rows;
    char message[256]; /* for statements without rows: "subscription s1 created" */
} mo_cat_result;

void mo_cat_result_dispose(mo_cat_result *r);
/**
 * Executes one statement of the subscription SQL surface: CREATE/DROP/PAUSE/RESUME
 * SUBSCRIPTION, SHOW SUBSCRIPTIONS, SHOW SUBSCRIPTION TASKS [name]. Errors change nothing.
 */
int mo_cat_sql_exec(mo_cat *c, const char *stmt, mo_cat_result *out, mo_err *err);
/** True when @p stmt only reads (SHOW ...), so a MO_CAT_READ handle can run it. */
bool mo_cat_sql_readonly(const char *stmt);
/**
 * Splits @p text into statements on ';' outside quoted strings and backticked identifiers
 * and calls @p cb with each one (a trimmed, NUL-terminated copy without the ';'; empty
 * statements are skipped). An unterminated quote gives MO_EINVAL; a non-zero return from
 * @p cb stops with MO_EUSER.
 */
int mo_cat_sql_foreach_stmt(const char *text, int (*cb)(const char *stmt, void *payload),
                            void *payload, mo_err *err);

#endif
