/**
 * @file mo/upstream.h
 * A client of a MatrixOne upstream over the MySQL protocol (libmysqlclient API, MariaDB
 * Connector/C): the exact CCPR statements of spec/ccpr-protocol.md §3, every reply checked
 * defensively, errors classified as §5.9 says, statement retries with exponential backoff and
 * reconnects. The pure parts (URI and identifier rules, statement text, TS text, reply rows,
 * object-list de-duplication, error classes, backoff) are exposed so that they can be tested
 * without a server.
 *
 * Threads: one mo_up handle is used by one thread at a time. mo_up_global_init() runs
 * mysql_library_init() once; mo_up_connect() calls it too (pthread_once), but programs that
 * start threads should call it first.
 */
#ifndef MO_UPSTREAM_H
#define MO_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mo/base.h"
#include "mo/obj_types.h"

/* ---------------- URI (§1.4) ---------------- */

#define MO_UP_IDENT_MAX 255

/**
 * `mysql://[acct#]user[:password]@host:port[/pubacct/pubname][?snapshot=s1[,s2..]&chunk=N]`
 * with optional TLS parameters `ssl-mode=disabled|preferred|required|verify_ca|
 * verify_identity` (any case) and `ssl-ca=/path/ca.pem` (no '@', '&' or control characters)
 * in the query. The last `@` separates the user part; the first `:` in it starts the password
 * and the first `#` ends the account. host:port is exactly two fields (no IPv6), port 1..65535.
 */
typedef struct mo_up_uri {
    char account[MO_UP_IDENT_MAX + 1]; /* "" = none (the upstream's default, sys) */
    char user[MO_UP_IDENT_MAX + 1];
    char password[MO_UP_IDENT_MAX + 1];
    bool has_password;
    char host[MO_UP_IDENT_MAX + 1];
    unsigned port;
    char pubacct[MO_UP_IDENT_MAX + 1]; /* "" when the URI has no path */
    char pubname[MO_UP_IDENT_MAX + 1];
    char snapshot[1024]; /* comma-separated snapshot names, "" = none */
    uint64_t chunk;      /* chunk=N (the source records the upstream's chunk size), 0 = none */
    char ssl_mode[32];   /* ssl-mode=..., "" = none */
    char ssl_ca[1024];   /* ssl-ca=..., "" = none */
} mo_up_uri;

/** Parses @p uri. @return MO_OK or MO_EINVAL with the reason in @p err. */
int mo_up_uri_parse(mo_up_uri *out, const char *uri, mo_err *err);

/**
 * True iff @p s can be sent as a bare token / backticked name: 1..255 bytes, printable ASCII
 * or UTF-8, no whitespace, no quote of any kind (' " `), no backslash, no `;`, not `-` (the
 * placeholder) — the upstream never unescapes (spec §2).
 */
bool mo_up_ident_valid(const char *s);

/** Reads MO_UPSTREAM_PASSWORD, else the file named by MO_UPSTREAM_PASSWORD_FILE (one line,
 * the trailing newline stripped). *out = NULL when neither is set. Caller frees with mo_free. */
int mo_up_password_from_env(char **out, mo_err *err);

/* ---------------- statements (§3) ---------------- */

typedef enum mo_up_level {
    MO_UP_LEVEL_ACCOUNT = 0,
    MO_UP_LEVEL_DATABASE = 1,
    MO_UP_LEVEL_TABLE = 2,
} mo_up_level;

/** "account" | "database" | "table". */
const char *mo_up_level_name(mo_up_level l);

/**
 * Statement builders: write the exact text into @p out (NUL-terminated, at most @p cap bytes).
 * NULL or "" means empty and is sent as `-` where §2 allows it; anywhere else it is an error.
 * Every identifier is checked with mo_up_ident_valid() first.
 * @return MO_OK, or MO_EINVAL (bad identifier, text too long).
 */
int mo_up_stmt_create_snapshot(char *out, size_t cap, const char *snap, mo_up_level level,
                               const char *db, const char *tbl, const char *pubacct,
                               const char *pubname, mo_err *err);
int mo_up_stmt_drop_snapshot(char *out, size_t cap, const char *snap, const char *pubacct,
                             const char *pubname, mo_err *err);
int mo_up_stmt_get_snapshot_ts(char *out, size_t cap, const char *snap, const char *pubacct,
                               const char *pubname, mo_err *err);
int mo_up_stmt_check_snapshot_flushed(char *out, size_t cap, const char *snap,
                                      const char *pubacct, const char *pubname, mo_err *err);
int mo_up_stmt_get_databases(char *out, size_t cap, const char *snap, const char *pubacct,
                             const char *pubname, mo_up_level level, const char *db,
                             const char *tbl, mo_err *err);
int mo_up_stmt_get_ddl(char *out, size_t cap, const char *snap, const char *pubacct,
                       const char *pubname, mo_up_level level, const char *db, const char *tbl,
                       mo_err *err);
int mo_up_stmt_get_mo_indexes(char *out, size_t cap, uint64_t table_id, const char *pubacct,
                              const char *pubname, const char *snap, mo_err *err);
int mo_up_stmt_object_list(char *out, size_t cap, const char *snap, const char *against,
                           const char *pubacct, const char *pubname, mo_err *err);
int mo_up_stmt_get_object(char *out, size_t cap, const char *pubacct, const char *pubname,
                          const char *object, int64_t chunk_index, mo_err *err);
int mo_up_stmt_pub_coverage(char *out, size_t cap, const char *pubname, mo_err *err);

/* ---------------- reply rows ---------------- */

/* MySQL wire column types (the values of enum enum_field_types). */
#define MO_UP_T_TINY 0x01
#define MO_UP_T_SHORT 0x02
#define MO_UP_T_LONG 0x03
#define MO_UP_T_LONGLONG 0x08
#define MO_UP_T_INT24 0x09
#define MO_UP_T_YEAR 0x0d
#define MO_UP_T_VARCHAR 0x0f
#define MO_UP_T_BLOB 0xfc
#define MO_UP_T_VAR_STRING 0xfd
#define MO_UP_T_STRING 0xfe

/** One row of a text result set as the connector hands it over (borrowed). */
typedef struct mo_up_row {
    unsigned ncols;
    const unsigned *types;     /* wire type per column */
    char *const *vals;         /* NULL entry = SQL NULL */
    const unsigned long *lens; /* byte length per column */
} mo_up_row;

/** One de-duplicated object_list entry (§3.8). */
typedef struct mo_up_obj {
    char db[MO_UP_IDENT_MAX + 1];
    char table[MO_UP_IDENT_MAX + 1];
    char name[MO_OBJ_NAME_STR_LEN + 1];
    uint8_t stats_raw[MO_OBJ_STATS_LEN];
    mo_obj_stats stats;
    mo_obj_ts create_at;
    mo_obj_ts delete_at;
    bool deleted; /* delete_at is neither NULL nor 0-0 */
    bool is_tombstone;
} mo_up_obj;

/** get_object's row (§3.9); data is borrowed from the row. */
typedef struct mo_up_chunk {
    const uint8_t *data;
    size_t len;
    uint64_t total_size;
    int64_t chunk_index;
    int64_t total_chunks;
    bool is_complete;
} mo_up_chunk;

typedef struct mo_up_ddl {
    char *db, *table, *sql; /* owned; mo_up_ddl_free */
    int64_t table_id;
} mo_up_ddl;

typedef struct mo_up_index {
    int64_t table_id;
    char *name, *algo_table_type, *index_table_name; /* owned; mo_up_index_free */
} mo_up_index;

/** A list of strings (get_databases; SHOW PUBLICATION COVERAGE as db/table pairs). */
typedef struct mo_up_strs {
    char **v;
    size_t n;
} mo_up_strs;

/**
 * Parses a TS text `<physical>-<logical>`; NULL, empty and `0-0` mean "not set"
 * (*set = false, *out zero). @return MO_OK or MO_EUPSTREAM.
 */
int mo_up_ts_text_parse(mo_obj_ts *out, bool *set, const char *s, size_t len, mo_err *err);

/** object_list row: 6 columns, stats exactly 154 bytes decoding to a valid object name,
 * TS texts, is_tombstone an integer column holding 0 or 1. @return MO_OK or MO_EUPSTREAM. */
int mo_up_parse_objlist_row(mo_up_obj *out, const mo_up_row *r, mo_err *err);

/**
 * get_object row: 5 columns of the §3.9 types, integer texts in range, chunk_index echoing
 * @p want_index, total_chunks > 0, want_index <= total_chunks, total_size > 0, chunk 0 with
 * empty data and is_complete = (index == total_chunks). @return MO_OK or MO_EUPSTREAM.
 */
int mo_up_parse_object_row(mo_up_chunk *out, const mo_up_row *r, int64_t want_index,
                           mo_err *err);

/** Parses an integer cell as the Go driver would (decimal text, signed 64-bit). */
int mo_up_parse_int_cell(int64_t *out, const mo_up_row *r, unsigned col, const char *stmt,
                         const char *field, mo_err *err);

/**
 * De-duplicates @p objs in place by 18-byte object id, keeping the first position of each id
 * and, when one id appears both live and deleted, the deleted record (§5.5). @return new count.
 */
size_t mo_up_obj_dedup(mo_up_obj *objs, size_t n);

/* ---------------- errors and retry (§5.9) ---------------- */

/** True iff a failure with MySQL error number @p code and text @p msg is retryable. */
bool mo_up_retryable(unsigned code, const char *msg);

/**
 * Delay before retry @p attempt (0-based): base * 2^attempt capped at @p cap_ms, plus a jitter
 * drawn uniformly from [0, jitter_ms] with the xorshift state @p rng.
 */
uint64_t mo_up_backoff_ms(unsigned attempt, unsigned base_ms, unsigned cap_ms, unsigned jitter_ms,
                          uint64_t *rng);

/* ---------------- the connection ---------------- */

typedef struct mo_up_opts {
    unsigned connect_timeout; /* seconds, 0 = 10 (§1.4) */
    unsigned read_timeout;    /* seconds, 0 = 10; applies to each socket read */
    unsigned write_timeout;   /* seconds, 0 = 10 */
    const char *ssl_ca;       /* PEM file, NULL = the URI's ssl-ca (else none) */
    const char *ssl_mode;     /* disabled | preferred | required | verify_ca | verify_identity;
                                 NULL = the URI's ssl-mode, else preferred */
    unsigned max_attempts;    /* per statement, retryable errors, 0 = 8 */
    unsigned backoff_base_ms; /* 0 = 200 */
    unsigned backoff_cap_ms;  /* 0 = 30000 */
    unsigned jitter_ms;       /* 0 = 200 */
} mo_up_opts;

typedef struct mo_up mo_up;

/** Calls mysql_library_init() once. @return MO_OK or MO_ERROR. */
int mo_up_global_init(mo_err *err);

/**
 * Connects to @p uri (path, snapshot and chunk ignored) as `acct#user` (`user` when there is no
 * account) over TCP, then COM_PING. TLS: opts->ssl_mode / ssl_ca, else the URI's ssl-mode /
 * ssl-ca; modes required and stronger fail with MO_EUPSTREAM when the session is not
 * encrypted (against a server whose greeting offers no TLS, before the login is sent: the
 * greeting is read first on a connection of its own), verify_ca checks the chain against
 * ssl_ca, verify_identity also the host name. @p password overrides the URI's; NULL = the
 * URI's (or none).
 * Connection errors are retried like statements. @p opts may be NULL.
 * @return MO_OK; MO_EINVAL (URI, ssl_mode); MO_EAGAIN (unreachable after the retries);
 * MO_EUPSTREAM (refused, e.g. wrong credentials; err->upstream_code = the MySQL number).
 */
int mo_up_connect(mo_up **out, const char *uri, const char *password, const mo_up_opts *opts,
                  mo_err *err);
void mo_up_free(mo_up *up);

/**
 * Every statement below: identifiers validated before anything is sent; retryable failures
 * retried (reconnecting when the connection dropped) up to opts.max_attempts, then MO_EAGAIN;
 * other upstream errors MO_EUPSTREAM with err->upstream_code; a malformed reply MO_EUPSTREAM
 * naming the statement and the field. The handle stays usable after any error.
 */
int mo_up_create_snapshot(mo_up *up, const char *snap, mo_up_level level, const char *db,
                          const char *tbl, const char *pubacct, const char *pubname, mo_err *err);
int mo_up_drop_snapshot(mo_up *up, const char *snap, const char *pubacct, const char *pubname,
                        mo_err *err);
/** Snapshot physical TS in ns. */
int mo_up_get_snapshot_ts(mo_up *up, int64_t *ts, const char *snap, const char *pubacct,
                          const char *pubname, mo_err *err);
int mo_up_check_snapshot_flushed(mo_up *up, bool *flushed, const char *snap, const char *pubacct,
                                 const char *pubname, mo_err *err);
/** @p snap NULL = `-` (now). *out owned: mo_up_strs_dispose. */
int mo_up_get_databases(mo_up *up, mo_up_strs *out, const char *snap, const char *pubacct,
                        const char *pubname, mo_up_level level, const char *db, const char *tbl,
                        mo_err *err);
/** *rows owned: mo_up_ddl_free(rows, n). */
int mo_up_get_ddl(mo_up *up, mo_up_ddl **rows, size_t *n, const char *snap, const char *pubacct,
                  const char *pubname, mo_up_level level, const char *db, const char *tbl,
                  mo_err *err);
int mo_up_get_mo_indexes(mo_up *up, mo_up_index **rows, size_t *n, uint64_t table_id,
                         const char *pubacct, const char *pubname, const char *snap, mo_err *err);
/** De-duplicated (deleted wins); *objs owned: mo_free. @p against NULL = `-` (full list). */
int mo_up_object_list(mo_up *up, mo_up_obj **objs, size_t *n, const char *snap,
                      const char *against, const char *pubacct, const char *pubname, mo_err *err);
/**
 * Chunk @p index of @p object: 0 = metadata only (@p buf may be NULL); k >= 1 copies the chunk
 * into @p buf (at most @p cap bytes, more is MO_EUPSTREAM). @p meta->data is not valid after
 * the call; meta->len = bytes copied.
 */
int mo_up_get_object(mo_up *up, mo_up_chunk *meta, void *buf, size_t cap, const char *pubacct,
                     const char *pubname, const char *object, int64_t index, mo_err *err);
/**
 * Chunk @p index (>= 1) of @p object without a copy: the row stays in the connection's receive
 * buffer and @p meta->data borrows it (meta->len bytes, at most @p cap, more is MO_EUPSTREAM)
 * until mo_up_get_object_done(@p up), which must come before any other use of @p up. Same
 * checks and retries as mo_up_get_object. On failure nothing is held.
 */
int mo_up_get_object_hold(mo_up *up, mo_up_chunk *meta, size_t cap, const char *pubacct,
                          const char *pubname, const char *object, int64_t index, mo_err *err);
/**
 * Ends a held get_object: the reply must end after its one row (MO_EUPSTREAM if another row
 * follows, MO_EAGAIN/MO_EUPSTREAM for an error after it, the connection then closed). The
 * borrowed bytes are invalid afterwards. A no-op without a held reply.
 */
int mo_up_get_object_done(mo_up *up, mo_err *err);
/** SHOW PUBLICATION COVERAGE: out->v = db0, tbl0, db1, tbl1, ... (n = 2 x rows). */
int mo_up_pub_coverage(mo_up *up, mo_up_strs *out, const char *pubname, mo_err *err);

void mo_up_strs_dispose(mo_up_strs *s);
void mo_up_ddl_free(mo_up_ddl *rows, size_t n);
void mo_up_index_free(mo_up_index *rows, size_t n);

/** Statements sent and reconnects made so far (tests, logs). */
uint64_t mo_up_statements(const mo_up *up);
uint64_t mo_up_reconnects(const mo_up *up);

/* ---------------- the `mo` source ---------------- */

struct mo_src;
/**
 * The copier's source for `mysql://[acct#]user@host:port/<pubacct>/<pubname>[?snapshot=..]`
 * (caps LIST | SEEK | CHUNKS). The password comes from MO_UPSTREAM_PASSWORD or
 * MO_UPSTREAM_PASSWORD_FILE, never from the spec. Without `snapshot=` a snapshot
 * `mosync_seed_<hash>` (one per covered table for table-list publications) is created when
 * listing and left on the upstream so that `mosync resume` reads the same snapshot; the
 * identity names it (and the upstream chunk size) but never the password.
 */
int mo_src_mysql_open(struct mo_src **out, const char *spec, mo_err *err);

/** Prefetch counters of a source opened by mo_src_mysql_open (tests, logs). */
typedef struct mo_src_mysql_pf_stats {
    unsigned depth;         /* D: MO_UPSTREAM_PREFETCH (default 2, 0 = off, at most 8) */
    uint64_t launched;      /* chunk prefetches started */
    uint64_t handed;        /* prefetched chunks handed to the copier */
    uint64_t discarded;     /* prefetches dropped: unexpected offset, error */
    uint64_t buffers;       /* always 0: a prefetched chunk stays in its connection's buffer */
    unsigned peak_inflight; /* most prefetches in flight for one object (<= D) */
} mo_src_mysql_pf_stats;
void mo_src_mysql_prefetch_stats(struct mo_src *s, mo_src_mysql_pf_stats *out);

#endif
