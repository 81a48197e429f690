/**
 * @file mo/srv.h
 * An MO upstream emulator: a MySQL wire-protocol server (handshake v10,
 * mysql_native_password, text result sets, multi-packet rows) that answers the statements
 * a MatrixOne CCPR downstream sends (spec ccpr-protocol.md §2, §3) from a BACKEND ops
 * table. The server owns the protocol, the statement grammar, the exact error texts and
 * MO's object-list windows; the backend owns the data (users, publications, snapshots,
 * catalog, object bytes).
 *
 * Threads: one accept thread, one thread per connection (at most max_connections; the next
 * connection gets ERR 1040 "Too many connections" and is closed). Backend methods are
 * called concurrently from connection threads and must be thread-safe.
 *
 * Memory per connection: a 64 KiB output buffer, the current statement (<= 4 MiB, buffered
 * as its bytes arrive: an announced length alone costs nothing) and, while a get_object chunk
 * is being served, one 256 KiB buffer: chunks are streamed, read and sent piece by piece,
 * whatever chunk_size is. The server serves at most max_chunk_reads chunks at
 * once (MO: 30). A TLS connection adds OpenSSL's record buffers (about 40 KiB while busy,
 * released when idle).
 *
 * TLS (optional, ssl_cert + ssl_key): the handshake advertises CLIENT_SSL; a client that
 * sends an SSLRequest gets a TLS >= 1.2 session (OpenSSL) and the protocol continues inside
 * it with the next sequence id, as in MySQL. Without require_secure_transport plain clients
 * are still served.
 */
#ifndef MO_SRV_H
#define MO_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mo/err.h"
#include "mo/obj_types.h"

#define MO_SRV_DEFAULT_CHUNK_SIZE ((uint64_t)100 << 20) /* MO's GetChunkSize */
#define MO_SRV_NAME_MAX 256                             /* identifiers, incl. NUL */

/* ---------------- backend ---------------- */

/** One scope entry of a publication: db "*" = the whole account; table NULL = whole db. */
typedef struct mo_srv_pub_entry {
    const char *db;
    const char *table;
} mo_srv_pub_entry;

/** A publication as MO's mo_pubs row describes it. */
typedef struct mo_srv_pub {
    const char *account;      /**< publisher account (case-sensitive, like MO's tokens) */
    const char *name;         /**< publication name */
    const char *account_list; /**< "all" or comma-separated subscriber tenants */
    const mo_srv_pub_entry *entries;
    size_t n_entries;
} mo_srv_pub;

/** True iff @p pub covers table @p db.@p table (what get_object serves). */
bool mo_srv_pub_covers(const mo_srv_pub *pub, const char *db, const char *table);
/** True iff tenant @p tenant may use @p pub ("all" or listed; case-insensitive). */
bool mo_srv_pub_allows(const mo_srv_pub *pub, const char *tenant);

typedef enum mo_srv_level {
    MO_SRV_LEVEL_CLUSTER = 0,
    MO_SRV_LEVEL_ACCOUNT = 1,
    MO_SRV_LEVEL_DATABASE = 2,
    MO_SRV_LEVEL_TABLE = 3
} mo_srv_level;

/** A snapshot record of the publisher account (MO's mo_snapshots row). */
typedef struct mo_srv_snap {
    char name[MO_SRV_NAME_MAX];
    char account[MO_SRV_NAME_MAX]; /**< publisher account the snapshot lives in */
    mo_srv_level level;
    char db[MO_SRV_NAME_MAX];    /**< database/table level */
    char table[MO_SRV_NAME_MAX]; /**< table level */
    mo_obj_ts ts;                /**< set by the backend at creation */
} mo_srv_snap;

/** A table (or view / hidden index table) of a database. Strings borrowed for the callback. */
typedef struct mo_srv_table {
    const char *db;
    const char *name;
    uint64_t id;            /**< upstream table id */
    char kind;              /**< 'r' table, 'v' view, 'i' index table ('__mo_index_*') */
    const char *create_sql; /**< §3.6.1 text, NULL for views */
} mo_srv_table;

/** One mo_indexes row (§3.7). */
typedef struct mo_srv_index {
    uint64_t table_id;
    const char *name;
    const char *algo_table_type;
    const char *index_table_name;
} mo_srv_index;

/**
 * One object record in a snapshot's scope: created at create_at, deleted at delete_at
 * ({0,0} = never). The server applies MO's windows (§3.8), so backends may report every
 * record they know of; from/to passed to objects() are hints.
 */
typedef struct mo_srv_obj {
    const char *db;
    const char *table;
    uint8_t stats[MO_OBJ_STATS_LEN];
    mo_obj_ts create_at;
    mo_obj_ts delete_at;
    bool tombstone;
} mo_srv_obj;

typedef int (*mo_srv_name_cb)(const char *name, void *payload);
typedef int (*mo_srv_table_cb)(const mo_srv_table *t, void *payload);
typedef int (*mo_srv_index_cb)(const mo_srv_index *ix, void *payload);
typedef int (*mo_srv_obj_cb)(const mo_srv_obj *o, void *payload);

/**
 * The data behind the server. Every method returns MO_OK or a negative code with the
 * detail in @p err; err->msg is sent to the client inside MO's error wrappers, so write it
 * as MO would ("database db1 does not exist"). Specific codes the server interprets:
 * MO_ENOTFOUND (missing snapshot / publication / object / db / table), MO_EEXISTS
 * (snapshot exists), MO_ESTALE (object_list range too old: err->msg must be MO's
 * "CDC handle: stale read, min TS is <ts>, receive <ts>"). A non-zero callback return
 * must be passed back unchanged. @p at = NULL means "now".
 */
typedef struct mo_srv_backend_ops {
    unsigned version; /**< MO_SRV_BACKEND_VERSION; methods are only ever appended */
    /** Password of @p tenant / @p user (borrowed), NULL if no such login. */
    const char *(*password)(void *ctx, const char *tenant, const char *user);
    /** Publication by account and name, or by name only (account NULL, first match). */
    int (*pub_find)(void *ctx, const mo_srv_pub **out, const char *account, const char *name,
                    mo_err *err);
    /** Creates @p req (name, account, level, db, table); fills the TS. MO_EEXISTS if present. */
    int (*snap_create)(void *ctx, mo_srv_snap *req, mo_err *err);
    int (*snap_get)(void *ctx, mo_srv_snap *out, const char *account, const char *name,
                    mo_err *err);
    int (*snap_drop)(void *ctx, const char *account, const char *name, mo_err *err);
    int (*snap_flushed)(void *ctx, bool *out, const mo_srv_snap *snap, mo_err *err);
    /** Databases of @p account, system databases included (the server filters). */
    int (*databases)(void *ctx, const char *account, const mo_srv_snap *at, mo_srv_name_cb cb,
                     void *payload, mo_err *err);
    /** Tables of @p db (views and index tables included); MO_ENOTFOUND if no such db. */
    int (*tables)(void *ctx, const char *account, const mo_srv_snap *at, const char *db,
                  mo_srv_table_cb cb, void *payload, mo_err *err);
    int (*indexes)(void *ctx, const char *account, const mo_srv_snap *at, uint64_t table_id,
                   mo_srv_index_cb cb, void *payload, mo_err *err);
    /** Object records in @p snap's scope (index tables under their own names). */
    int (*objects)(void *ctx, const mo_srv_snap *snap, const mo_obj_ts *from, mo_obj_ts to,
                   mo_srv_obj_cb cb, void *payload, mo_err *err);
    /**
     * Size of object @p name (already validated with mo_obj_name_valid); MO_ENOTFOUND when
     * it does not exist or does not belong to a table @p pub covers.
     */
    int (*object_stat)(void *ctx, uint64_t *size_out, const mo_srv_pub *pub, const char *name,
                       mo_err *err);
    /** Bytes [off, off+n) of object @p name; short objects are an error. */
    int (*object_read)(void *ctx, const char *name, uint64_t off, void *buf, size_t n,
                       mo_err *err);
} mo_srv_backend_ops;
#define MO_SRV_BACKEND_VERSION 1

/* ---------------- fault injection ---------------- */

/**
 * Deterministic faults (tests). Spec syntax, comma-separated:
 *   drop-after=BYTES[/K]    close the connection after BYTES bytes of a get_object chunk
 *                           (chunks >= 1), for the first K such chunk responses (default 1)
 *   corrupt=chunkC:OFF[/K]  flip byte OFF of chunk C (>= 1) of any object, the first K
 *                           times that chunk is served (default 1)
 *   retryable=K             the first K CCPR statements fail with code 20101 and a message
 *                           MO's downstream classifies as retryable ("rpc timeout: backend
 *                           unavailable")
 *   delay=MS                sleep MS milliseconds before answering every statement
 *   refuse=K                close the first K accepted connections before the handshake
 * BYTES and OFF take k/m/g suffixes (KiB, MiB, GiB). Example:
 *   drop-after=1m/2,retryable=3,delay=50,corrupt=chunk2:100,refuse=2
 */
typedef struct mo_srv_fault {
    uint64_t drop_after;
    unsigned drop_times; /* 0 = off */
    unsigned corrupt_chunk;
    uint64_t corrupt_off;
    unsigned corrupt_times; /* 0 = off */
    unsigned retryable;
    unsigned delay_ms;
    unsigned refuse;
} mo_srv_fault;

/** Parses a fault spec into @p out (zeroed first). MO_EINVAL on syntax errors. */
int mo_srv_fault_parse(mo_srv_fault *out, const char *spec, mo_err *err);

/* ---------------- server ---------------- */

typedef struct mo_srv_opts {
    const char *host;          /**< listen address (IPv4 literal), default "127.0.0.1" */
    unsigned port;             /**< 0 = ephemeral, see mo_srv_port */
    unsigned max_connections;  /**< default 151 */
    unsigned max_chunk_reads;  /**< concurrent get_object chunks served, default 30 */
    uint64_t chunk_size;       /**< get_object chunk size, default 100 MiB */
    unsigned read_timeout_ms;  /**< per read while waiting for a command, default 600000 */
    unsigned write_timeout_ms; /**< per write, default 60000 */
    const char *server_version;
    mo_srv_fault fault;
    bool log; /**< one stderr line per connection error (and per TLS session) */
    const char *ssl_cert; /**< PEM certificate chain; with ssl_key enables TLS, NULL = none */
    const char *ssl_key;  /**< PEM private key of ssl_cert */
    bool require_secure_transport; /**< refuse clients that do not start TLS (ERR 3159) */
} mo_srv_opts;

void mo_srv_opts_init(mo_srv_opts *o);

typedef struct mo_srv mo_srv;

/** Counters since mo_srv_new (tests, logs). */
typedef struct mo_srv_stats {
    uint64_t accepted, refused_full, refused_fault, auth_failed, statements;
    uint64_t chunk_bytes; /**< get_object data bytes sent */
    unsigned active;
    uint64_t tls_sessions; /**< TLS handshakes completed */
    uint64_t tls_failed;   /**< TLS handshakes that failed (e.g. the client rejected the cert) */
    uint64_t logins;       /**< handshake responses received (a user name and an auth token,
                                in TLS or not), whether the login then succeeded or not */
} mo_srv_stats;

/**
 * Binds and listens (nothing is accepted before mo_srv_start). The backend is borrowed and
 * must outlive the server; so are the option strings. With ssl_cert/ssl_key the certificate
 * and key are loaded and checked here. @return MO_OK, MO_EINVAL (options, TLS certificate or
 * key: err->msg has OpenSSL's reason), MO_EIO (bind/listen), MO_ENOMEM.
 */
int mo_srv_new(mo_srv **out, const mo_srv_opts *opts, const mo_srv_backend_ops *ops, void *ctx,
               mo_err *err);
/** The bound TCP port (useful with port 0). */
unsigned mo_srv_port(const mo_srv *s);
/** Starts the accept thread. */
int mo_srv_start(mo_srv *s, mo_err *err);
/** Stops accepting, closes every connection and joins all threads. Idempotent. */
void mo_srv_stop(mo_srv *s);
void mo_srv_get_stats(const mo_srv *s, mo_srv_stats *out);
/** Stops if needed and frees. Accepts NULL. */
void mo_srv_free(mo_srv *s);

/* ---------------- directory backend ---------------- */

typedef struct mo_srv_dirbackend mo_srv_dirbackend;

/**
 * A plain directory of object files served as one table, `mosync`.`objects` (table id
 * MO_SRV_DIR_TABLE_ID): every file with a valid 42-char object name is a live data object
 * created at its mtime; stats come from the objfmt reader (cached per name/size/mtime);
 * snapshots live in memory (TS = wall clock, strictly increasing). Login: tenant "sys",
 * @p user with @p password. Publications are added with mo_srv_dirbackend_publish; with
 * none, account "sys" publishes everything as "mosync".
 */
int mo_srv_dirbackend_new(mo_srv_dirbackend **out, const char *dir, const char *user,
                          const char *password, mo_err *err);
/**
 * Adds scope @p db[.@p table] (db "*" = account level) to publication @p account.@p name
 * (created on first use, subscribers "all").
 */
int mo_srv_dirbackend_publish(mo_srv_dirbackend *b, const char *account, const char *name,
                              const char *db, const char *table, mo_err *err);
const mo_srv_backend_ops *mo_srv_dirbackend_ops(void);
void mo_srv_dirbackend_free(mo_srv_dirbackend *b);
#define MO_SRV_DIR_TABLE_ID 272515u

/* ---------------- catalog backend ---------------- */

typedef struct mo_srv_catbackend mo_srv_catbackend;

/**
 * An upstream replica directory as `mosync gen` writes it: object files flat in @p dir, the
 * catalog in "<dir>/.mosync/catalog" (databases and tables with upstream ids, CREATE TABLE
 * text and created/dropped TS; object entries with create/delete TS; snapshots gen_<n>),
 * served with its history. The catalog is opened read-only (MO_CAT_READ) and refreshed before
 * each answer, so a writer (`mosync gen --mutate`) may commit while the server runs.
 * - Accounts: each publisher account owns the databases and tables its publications cover
 *   (without publications: account sys, everything, publication "mosync"). Login: tenant
 *   "sys", @p user with @p password.
 * - databases/tables/get_ddl at a snapshot: the rows alive at its TS (created <= TS <
 *   dropped), with each table's stored CREATE TABLE text and upstream table id; names and
 *   text as of that TS come from the generator's truth ("<dir>/.mosync/gen/truth") when the
 *   replica has one (the catalog keeps only the latest after RENAME / in-place ALTER).
 * - object_list: the object records of the tables alive at the snapshot in its scope, with
 *   their create/delete TS (the server applies MO's windows, §3.8).
 * - get_object: objects the catalog knows (at any time) whose table @p pub covers, read from
 *   "<dir>/<name>" as logical bytes (DISK-framed files are deframed and CRC-checked).
 * - Snapshots created by downstreams persist in "<dir>/.mosync/upstream-snapshots" (magic,
 *   version, length, XXH64; temp, fsync, rename, fsync dir) with TS = the newest TS committed
 *   in the catalog when created; the catalog's own snapshots are visible read-only at
 *   account level. "<dir>/.mosync/upstream.lock" is held (flock) so that one server serves a
 *   replica at a time.
 * @return MO_OK; MO_ENOTFOUND (no catalog); MO_EEXISTS (another server holds the lock);
 * MO_ECORRUPT/MO_ECHECKSUM/MO_EVERSION (snapshot file); catalog and I/O codes.
 */
int mo_srv_catbackend_new(mo_srv_catbackend **out, const char *dir, const char *user,
                          const char *password, mo_err *err);
/** As mo_srv_dirbackend_publish; call before the server starts. */
int mo_srv_catbackend_publish(mo_srv_catbackend *b, const char *account, const char *name,
                              const char *db, const char *table, mo_err *err);
const mo_srv_backend_ops *mo_srv_catbackend_ops(void);
void mo_srv_catbackend_free(mo_srv_catbackend *b);

#endif
