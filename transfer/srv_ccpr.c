/* The statement layer of the upstream emulator (spec ccpr-protocol.md §2, §3): the seven
 * `__++__internal_*` commands (case-insensitive prefix, the rest split like Go's
 * strings.Fields, exact token counts, MO's error texts and codes, `-` placeholders only
 * where MO interprets them), CREATE/DROP SNAPSHOT, SHOW PUBLICATION COVERAGE, MO's
 * inclusive object-list windows, chunked get_object streamed from one chunk buffer, the
 * deterministic faults, and the session queries real clients send on connect.
 * Object names are checked with mo_obj_name_valid before any backend call sees them. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "srv_int.h"

#define NTOK 8

typedef struct tokv {
    const char *p[NTOK];
    size_t len[NTOK];
    size_t n; /* may exceed NTOK: only counted */
} tokv;

/* ---------------- publication helpers (public) ---------------- */

bool mo_srv_pub_covers(const mo_srv_pub *pub, const char *db, const char *table)
{
    for (size_t i = 0; i < pub->n_entries; i++) {
        const mo_srv_pub_entry *e = &pub->entries[i];
        if (!strcmp(e->db, "*"))
            return true;
        if (!strcmp(e->db, db) && (!e->table || !strcmp(e->table, "*") || !strcmp(e->table, table)))
            return true;
    }
    return false;
}

bool mo_srv_pub_allows(const mo_srv_pub *pub, const char *tenant)
{
    const char *l = pub->account_list ? pub->account_list : "";
    if (!strcasecmp(l, "all"))
        return true;
    size_t tl = strlen(tenant);
    while (*l) {
        while (*l == ' ' || *l == ',')
            l++;
        size_t n = strcspn(l, ",");
        size_t m = n;
        while (m && l[m - 1] == ' ')
            m--;
        if (m == tl && !strncasecmp(l, tenant, tl))
            return true;
        l += n;
    }
    return false;
}

/* ---------------- tokens ---------------- */

/* Length of the Unicode white-space rune at p (Go's unicode.IsSpace), 0 if none. */
static size_t space_len(const uint8_t *p, const uint8_t *end)
{
    size_t left = (size_t)(end - p);
    if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        return 1;
    if (left >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
        return 2;
    if (left >= 3) {
        if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
            return 3;
        if (p[0] == 0xe2 && p[1] == 0x80 &&
            ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
            return 3;
        if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
            return 3;
        if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
            return 3;
    }
    return 0;
}

static void fields(tokv *t, const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    t->n = 0;
    while (p < end) {
        size_t k;
        while (p < end && (k = space_len(p, end)))
            p += k;
        if (p >= end)
            break;
        const uint8_t *b = p;
        while (p < end && !space_len(p, end))
            p++;
        if (t->n < NTOK) {
            t->p[t->n] = (const char *)b;
            t->len[t->n] = (size_t)(p - b);
        }
        t->n++;
    }
}

/* Copies token i; false when it does not fit or holds a NUL. */
static bool tok(char out[MO_SRV_NAME_MAX], const tokv *t, size_t i)
{
    if (t->len[i] >= MO_SRV_NAME_MAX || memchr(t->p[i], 0, t->len[i]))
        return false;
    memcpy(out, t->p[i], t->len[i]);
    out[t->len[i]] = 0;
    return true;
}

static bool is_dash(const char *s)
{
    return s[0] == '-' && s[1] == 0;
}

/* ---------------- errors ---------------- */

#define MO_ERR(c, ...) mo_srv__err((c), SRV_ER_MO_INTERNAL, "HY000", "internal error: " __VA_ARGS__)

/* check_snapshot_flushed sends MO's error unwrapped (prefix ""), the others wrap it */
static int find0(mo_srv_conn *c, const char *prefix, const char *name)
{
    return MO_ERR(c, "%s%sfind 0 snapshot records by name(%s), expect only 1", prefix,
                  *prefix ? "internal error: " : "", name);
}

/* ---------------- lazily started result sets ---------------- */

typedef struct rs {
    mo_srv_conn *c;
    const srv_col *cols;
    size_t ncols;
    bool begun;
} rs;

static int rs_row(rs *r, const srv_cell *cells)
{
    int rc;
    if (!r->begun) {
        if ((rc = mo_srv__rs_begin(r->c, r->cols, r->ncols)) < 0)
            return rc;
        r->begun = true;
    }
    return mo_srv__rs_row(r->c, cells, r->ncols);
}

static int rs_end(rs *r)
{
    int rc;
    if (!r->begun) {
        if ((rc = mo_srv__rs_begin(r->c, r->cols, r->ncols)) < 0)
            return rc;
        r->begun = true;
    }
    return mo_srv__rs_end(r->c);
}

static srv_cell cstr(const char *s)
{
    srv_cell x = {s, strlen(s), false};
    return x;
}

#define COL(n, t) {n, t, 0, 0, 0}
#define BOOLCOL(n) {n, SRV_T_TINY, SRV_CS_BINARY, 1, 0}

/* ---------------- shared checks ---------------- */

static bool is_sys(const mo_srv_conn *c)
{
    return !strcasecmp(c->tenant, "sys");
}

/* Tenant + publication checks of every internal command. 1 = passed, 0 = ERR sent, <0 I/O. */
static int auth_pub(mo_srv_conn *c, const char *cmd, const char *acct, const char *pubname,
                    const mo_srv_pub **pub)
{
    mo_srv *s = c->srv;
    int rc;
    if (!is_sys(c)) {
        rc = MO_ERR(c, "tenant %s user %s is not allowed to execute publication internal command %s",
                    c->tenant, c->user, cmd);
        return rc < 0 ? rc : 0;
    }
    mo_err e;
    mo_err_clear(&e);
    rc = s->ops->pub_find(s->ctx, pub, acct, pubname, &e);
    if (rc == MO_ENOTFOUND)
        rc = MO_ERR(c, "publication %s.%s does not exist", acct, pubname);
    else if (rc < 0)
        rc = MO_ERR(c, "failed to query publication info: %s", e.msg);
    else if (!mo_srv_pub_allows(*pub, c->tenant))
        rc = MO_ERR(c, "account %s does not have permission to access publication %s.%s", c->tenant,
                    acct, pubname);
    else
        return 1;
    return rc < 0 ? rc : 0;
}

/* Snapshot lookup in the publisher account. 1 found, 0 ERR sent, <0 I/O. */
static int snap_lookup(mo_srv_conn *c, mo_srv_snap *out, const char *acct, const char *name,
                       const char *prefix)
{
    mo_err e;
    mo_err_clear(&e);
    int rc = c->srv->ops->snap_get(c->srv->ctx, out, acct, name, &e);
    if (rc == MO_OK)
        return 1;
    if (rc == MO_ENOTFOUND)
        rc = find0(c, prefix, name);
    else
        rc = MO_ERR(c, "%s%s", prefix, e.msg);
    return rc < 0 ? rc : 0;
}

static const char *const system_dbs[] = {"information_schema", "mo_catalog", "mo_debug", "mo_task",
                                         "mysql", "system", "system_metrics"};

static bool is_system_db(const char *db)
{
    for (size_t i = 0; i < sizeof(system_dbs) / sizeof(system_dbs[0]); i++)
        if (!strcasecmp(db, system_dbs[i]))
            return true;
    return false;
}

static void ts_text(char out[48], mo_obj_ts ts)
{
    mo_obj_ts_format(out, ts);
}

/* ---------------- get_snapshot_ts / check_snapshot_flushed ---------------- */

static int cmd_snapshot_ts(mo_srv_conn *c, const tokv *t)
{
    char snap[MO_SRV_NAME_MAX], acct[MO_SRV_NAME_MAX], pubn[MO_SRV_NAME_MAX];
    if (t->n != 3)
        return MO_ERR(c, "invalid getsnapshotts command format, expected: getsnapshotts "
                         "<snapshotName> <accountName> <publicationName>");
    if (!tok(snap, t, 0) || !tok(acct, t, 1) || !tok(pubn, t, 2))
        return MO_ERR(c, "identifier too long");
    const mo_srv_pub *pub;
    mo_srv_snap sn;
    int rc = auth_pub(c, "get_snapshot_ts", acct, pubn, &pub);
    if (rc <= 0 || (rc = snap_lookup(c, &sn, acct, snap, "failed to query snapshot: ")) <= 0)
        return rc;
    static const srv_col cols[] = {COL("snapshotts", SRV_T_LONGLONG)};
    char v[32];
    snprintf(v, sizeof(v), "%" PRId64, sn.ts.physical);
    rs r = {c, cols, 1, false};
    srv_cell cell = cstr(v);
    if ((rc = rs_row(&r, &cell)) < 0)
        return rc;
    return rs_end(&r);
}

static int cmd_flushed(mo_srv_conn *c, const tokv *t)
{
    char snap[MO_SRV_NAME_MAX], acct[MO_SRV_NAME_MAX], pubn[MO_SRV_NAME_MAX];
    if (t->n != 3)
        return MO_ERR(c, "invalid checksnapshotflushed command format, expected: "
                         "checksnapshotflushed <snapshotName> <subscriptionAccountName> "
                         "<publicationName>");
    if (!tok(snap, t, 0) || !tok(acct, t, 1) || !tok(pubn, t, 2))
        return MO_ERR(c, "identifier too long");
    const mo_srv_pub *pub;
    mo_srv_snap sn;
    int rc = auth_pub(c, "check_snapshot_flushed", acct, pubn, &pub);
    if (rc <= 0 || (rc = snap_lookup(c, &sn, acct, snap, "")) <= 0)
        return rc;
    if (sn.level == MO_SRV_LEVEL_CLUSTER)
        return MO_ERR(c, "invalid snapshot level: cluster");
    bool flushed = true;
    mo_err e;
    mo_err_clear(&e);
    if (c->srv->ops->snap_flushed &&
        (rc = c->srv->ops->snap_flushed(c->srv->ctx, &flushed, &sn, &e)) < 0)
        return MO_ERR(c, "%s", e.msg);
    static const srv_col cols[] = {BOOLCOL("result")};
    rs r = {c, cols, 1, false};
    srv_cell cell = cstr(flushed ? "1" : "0");
    if ((rc = rs_row(&r, &cell)) < 0)
        return rc;
    return rs_end(&r);
}

/* ---------------- get_databases ---------------- */

typedef struct name_list {
    char **v;
    size_t n, cap;
    int rc;
} name_list;

static int name_add(const char *name, void *payload)
{
    name_list *l = payload;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = mo_realloc(l->v, cap * sizeof(*v));
        if (!v)
            return l->rc = MO_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = mo_strdup(name)))
        return l->rc = MO_ENOMEM;
    l->n++;
    return 0;
}

static void name_list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        mo_free(l->v[i]);
    mo_free(l->v);
}

/* Non-system databases of @p acct at @p at. 1 ok, 0 ERR sent, <0 I/O. */
static int user_dbs(mo_srv_conn *c, name_list *out, const char *acct, const mo_srv_snap *at,
                    const char *errprefix)
{
    mo_err e;
    mo_err_clear(&e);
    name_list all = {0};
    int rc = c->srv->ops->databases(c->srv->ctx, acct, at, name_add, &all, &e);
    if (rc < 0 || all.rc < 0) {
        name_list_free(&all);
        rc = MO_ERR(c, "%s%s", errprefix, all.rc < 0 ? "out of memory" : e.msg);
        return rc < 0 ? rc : 0;
    }
    for (size_t i = 0; i < all.n; i++)
        if (!is_system_db(all.v[i]) && name_add(all.v[i], out) < 0) {
            name_list_free(&all);
            return MO_ERR(c, "out of memory") < 0 ? MO_EIO : 0;
        }
    name_list_free(&all);
    return 1;
}

static int cmd_databases(mo_srv_conn *c, const tokv *t)
{
    char snap[MO_SRV_NAME_MAX], acct[MO_SRV_NAME_MAX], pubn[MO_SRV_NAME_MAX],
        level[MO_SRV_NAME_MAX], db[MO_SRV_NAME_MAX];
    if (t->n != 6)
        return MO_ERR(c, "invalid getdatabases command format, expected: getdatabases "
                         "<snapshotName> <accountName> <publicationName> <level> <dbName> "
                         "<tableName>");
    if (!tok(snap, t, 0) || !tok(acct, t, 1) || !tok(pubn, t, 2) || !tok(level, t, 3) ||
        !tok(db, t, 4))
        return MO_ERR(c, "identifier too long");
    const mo_srv_pub *pub;
    mo_srv_snap sn, *at = NULL;
    int rc = auth_pub(c, "get_databases", acct, pubn, &pub);
    if (rc <= 0)
        return rc;
    if (!is_dash(snap)) {
        if ((rc = snap_lookup(c, &sn, acct, snap, "failed to query snapshot: ")) <= 0)
            return rc;
        at = &sn;
    }
    static const srv_col cols[] = {COL("datname", SRV_T_VARCHAR)};
    rs r = {c, cols, 1, false};
    if (!strcmp(level, "database") || !strcmp(level, "table")) {
        srv_cell cell = cstr(is_dash(db) ? "" : db);
        if ((rc = rs_row(&r, &cell)) < 0)
            return rc;
        return rs_end(&r);
    }
    name_list dbs = {0};
    if ((rc = user_dbs(c, &dbs, acct, at, "failed to query databases: ")) <= 0)
        return name_list_free(&dbs), rc;
    for (size_t i = 0; i < dbs.n && rc >= 0; i++) {
        srv_cell cell = cstr(dbs.v[i]);
        rc = rs_row(&r, &cell);
    }
    name_list_free(&dbs);
    return rc < 0 ? rc : rs_end(&r);
}

/* ---------------- get_ddl ---------------- */

typedef struct ddl_row {
    char *db, *name, *sql;
    uint64_t id;
    char kind;
} ddl_row;

typedef struct ddl_list {
    ddl_row *v;
    size_t n, cap;
    int rc;
} ddl_list;

static int ddl_add(const mo_srv_table *tb, void *payload)
{
    ddl_list *l = payload;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        ddl_row *v = mo_realloc(l->v, cap * sizeof(*v));
        if (!v)
            return l->rc = MO_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    ddl_row *r = &l->v[l->n];
    r->db = mo_strdup(tb->db);
    r->name = mo_strdup(tb->name);
    r->sql = mo_strdup(tb->create_sql ? tb->create_sql : "");
    r->id = tb->id;
    r->kind = tb->kind;
    l->n++;
    if (!r->db || !r->name || !r->sql)
        return l->rc = MO_ENOMEM;
    return 0;
}

static void ddl_list_free(ddl_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        mo_free(l->v[i].db);
        mo_free(l->v[i].name);
        mo_free(l->v[i].sql);
    }
    mo_free(l->v);
    memset(l, 0, sizeof(*l));
}

/* Tables of @p db into @p l. 1 ok, 0 ERR sent, <0 I/O. */
static int db_tables(mo_srv_conn *c, ddl_list *l, const char *acct, const mo_srv_snap *at,
                     const char *db)
{
    mo_err e;
    mo_err_clear(&e);
    int rc = c->srv->ops->tables(c->srv->ctx, acct, at, db, ddl_add, l, &e);
    if (l->rc < 0)
        rc = MO_ERR(c, "out of memory");
    else if (rc < 0)
        rc = MO_ERR(c, "failed to get database: %s", e.msg);
    else
        return 1;
    return rc < 0 ? rc : 0;
}

static bool ddl_visible(const ddl_row *r)
{
    return r->kind != 'v' && r->kind != 'i' && strncmp(r->name, "__mo_index_", 11) != 0;
}

static int ddl_send(rs *r, const ddl_row *row)
{
    char id[32];
    snprintf(id, sizeof(id), "%" PRId64, (int64_t)row->id);
    srv_cell cells[4] = {cstr(row->db), cstr(row->name), cstr(id), cstr(row->sql)};
    return rs_row(r, cells);
}

static int cmd_ddl(mo_srv_conn *c, const tokv *t)
{
    char snap[MO_SRV_NAME_MAX], acct[MO_SRV_NAME_MAX], pubn[MO_SRV_NAME_MAX],
        level[MO_SRV_NAME_MAX], db[MO_SRV_NAME_MAX], tbl[MO_SRV_NAME_MAX];
    if (t->n != 6)
        return MO_ERR(c, "invalid getddl command format, expected: getddl <snapshotName> "
                         "<subscriptionAccountName> <publicationName> <level> <dbName> "
                         "<tableName>");
    if (!tok(snap, t, 0) || !tok(acct, t, 1) || !tok(pubn, t, 2) || !tok(level, t, 3) ||
        !tok(db, t, 4) || !tok(tbl, t, 5))
        return MO_ERR(c, "identifier too long");
    const mo_srv_pub *pub;
    mo_srv_snap sn, *at = NULL;
    int rc = auth_pub(c, "get_ddl", acct, pubn, &pub);
    if (rc <= 0)
        return rc;
    if (!is_dash(snap)) {
        if ((rc = snap_lookup(c, &sn, acct, snap, "failed to query snapshot: ")) <= 0)
            return rc;
        at = &sn;
    }
    name_list dbs = {0};
    if (is_dash(db)) {
        if ((rc = user_dbs(c, &dbs, acct, at, "failed to get database: ")) <= 0)
            return name_list_free(&dbs), rc;
    } else if ((rc = name_add(db, &dbs)) < 0) {
        name_list_free(&dbs);
        return MO_ERR(c, "out of memory");
    }
    /* collect everything first: a later failure must still be a clean ERR */
    ddl_list all = {0};
    rc = 1;
    for (size_t i = 0; i < dbs.n && rc > 0; i++) {
        ddl_list one = {0};
        if ((rc = db_tables(c, &one, acct, at, dbs.v[i])) <= 0) {
            ddl_list_free(&one);
            break;
        }
        bool found = false;
        for (size_t k = 0; k < one.n && rc > 0; k++) {
            ddl_row *row = &one.v[k];
            if (!is_dash(tbl) && strcmp(row->name, tbl))
                continue;
            found = true;
            if (!ddl_visible(row))
                continue;
            mo_srv_table tb = {row->db, row->name, row->id, row->kind, row->sql};
            if (ddl_add(&tb, &all) < 0) {
                rc = MO_ERR(c, "out of memory");
                rc = rc < 0 ? rc : 0;
            }
        }
        if (rc > 0 && !is_dash(tbl) && !found) {
            rc = MO_ERR(c, "failed to get table: table %s.%s does not exist", dbs.v[i], tbl);
            rc = rc < 0 ? rc : 0;
        }
        ddl_list_free(&one);
    }
    name_list_free(&dbs);
    if (rc > 0) {
        static const srv_col cols[] = {COL("dbname", SRV_T_VARCHAR), COL("tablename", SRV_T_VARCHAR),
                                       COL("tableid", SRV_T_LONGLONG),
                                       COL("tablesql", SRV_T_VARCHAR)};
        rs r = {c, cols, 4, false};
        for (size_t i = 0; i < all.n && rc >= 0; i++)
            rc = ddl_send(&r, &all.v[i]);
        if (rc >= 0)
            rc = rs_end(&r);
    }
    ddl_list_free(&all);
    return rc < 0 ? rc : MO_OK;
}

/* ---------------- get_mo_indexes ---------------- */

static bool parse_u64(uint64_t *out, const char *s)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || mo_mul_overflow(v, 10, &v) ||
            mo_add_overflow(v, (uint64_t)(*s - '0'), &v))
            return false;
    }
    *out = v;
    return true;
}

static bool parse_i64(int64_t *out, const char *s)
{
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    uint64_t v;
    if (!parse_u64(&v, s) || v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

typedef struct ix_ctx {
    rs r;
    int rc;
} ix_ctx;

static int ix_row(const mo_srv_index *ix, void *payload)
{
    ix_ctx *x = payload;
    char id[32];
    snprintf(id, sizeof(id), "%" PRId64, (int64_t)ix->table_id);
    srv_cell cells[4] = {cstr(id), cstr(ix->name ? ix->name : ""),
                         cstr(ix->algo_table_type ? ix->algo_table_type : ""),
                         cstr(ix->index_table_name ? ix->index_table_name : "")};
    int rc = rs_row(&x->r, cells);
    if (rc < 0)
        return x->rc = rc;
    return 0;
}

static int cmd_indexes(mo_srv_conn *c, const tokv *t)
{
    char tid[MO_SRV_NAME_MAX], acct[MO_SRV_NAME_MAX], pubn[MO_SRV_NAME_MAX], snap[MO_SRV_NAME_MAX];
    if (t->n != 4)
        return MO_ERR(c, "invalid getmoindexes command format, expected: getmoindexes <tableId> "
                         "<subscriptionAccountName> <publicationName> <snapshotName>");
    if (!tok(tid, t, 0))
        return MO_ERR(c, "invalid tableId: %.*s", (int)(t->len[0] > 64 ? 64 : t->len[0]), t->p[0]);
    uint64_t id;
    if (!parse_u64(&id, tid))
        return MO_ERR(c, "invalid tableId: %s", tid);
    if (!tok(acct, t, 1) || !tok(pubn, t, 2) || !tok(snap, t, 3))
        return MO_ERR(c, "identifier too long");
    const mo_srv_pub *pub;
    mo_srv_snap sn, *at = NULL;
    int rc = auth_pub(c, "get_mo_indexes", acct, pubn, &pub);
    if (rc <= 0)
        return rc;
    if (!is_dash(snap)) {
        if ((rc = snap_lookup(c, &sn, acct, snap, "failed to query snapshot: ")) <= 0)
            return rc;
        at = &sn;
    }
    static const srv_col cols[] = {COL("table_id", SRV_T_LONGLONG), COL("name", SRV_T_VARCHAR),
                                   COL("algo_table_type", SRV_T_VARCHAR),
                                   COL("index_table_name", SRV_T_VARCHAR)};
    ix_ctx x = {{c, cols, 4, false}, 0};
    mo_err e;
    mo_err_clear(&e);
    rc = c->srv->ops->indexes ? c->srv->ops->indexes(c->srv->ctx, acct, at, id, ix_row, &x, &e)
                              : MO_OK;
    if (x.rc < 0)
        return x.rc;
    if (rc < 0)
        return MO_ERR(c, "failed to query mo_indexes: %s", e.msg);
    return rs_end(&x.r);
}

/* ---------------- object_list ---------------- */

typedef struct ol_ctx {
    rs r;
    const mo_obj_ts *from;
    mo_obj_ts to;
    int rc;
    uint64_t rows;
} ol_ctx;

static bool ts_zero(mo_obj_ts t)
{
    return t.physical == 0 && t.logical == 0;
}

static int ol_row(const mo_srv_obj *o, void *payload)
{
    ol_ctx *x = payload;
    bool deleted = !ts_zero(o->delete_at);
    bool del_le_to = deleted && mo_obj_ts_cmp(o->delete_at, x->to) <= 0;
    bool in;
    if (!x->from) { /* full listing: alive at `to` */
        in = mo_obj_ts_cmp(o->create_at, x->to) <= 0 && !del_le_to;
    } else { /* MO's tailCheckFn: both bounds inclusive */
        bool c_in = mo_obj_ts_cmp(*x->from, o->create_at) <= 0 &&
                    mo_obj_ts_cmp(o->create_at, x->to) <= 0;
        bool d_in = del_le_to && mo_obj_ts_cmp(*x->from, o->delete_at) <= 0;
        in = c_in || d_in;
    }
    if (!in)
        return 0;
    char cts[48], dts[48];
    ts_text(cts, o->create_at);
    if (x->from && del_le_to)
        ts_text(dts, o->delete_at);
    else
        memcpy(dts, "0-0", 4);
    srv_cell cells[6] = {cstr(o->db), cstr(o->table), {o->stats, MO_OBJ_STATS_LEN, false},
                         cstr(cts), cstr(dts), cstr(o->tombstone ? "1" : "0")};
    int rc = rs_row(&x->r, cells);
    if (rc < 0)
        return x->rc = rc;
    x->rows++;
    return 0;
}

static const char *level_name(mo_srv_level l)
{
    switch (l) {
    case MO_SRV_LEVEL_CLUSTER: return "cluster";
    case MO_SRV_LEVEL_ACCOUNT: return "account";
    case MO_SRV_LEVEL_DATABASE: return "database";
    case MO_SRV_LEVEL_TABLE: return "table";
    }
    return "?";
}

static int cmd_object_list(mo_srv_conn *c, const tokv *t)
{
    char snap[MO_SRV_NAME_MAX], against[MO_SRV_NAME_MAX], acct[MO_SRV_NAME_MAX],
        pubn[MO_SRV_NAME_MAX];
    if (t->n != 4)
        return MO_ERR(c, "invalid objectlist command format, expected: objectlist <snapshotName> "
                         "<againstSnapshotName> <subscriptionAccountName> <publicationName>");
    if (!tok(snap, t, 0) || !tok(against, t, 1) || !tok(acct, t, 2) || !tok(pubn, t, 3))
        return MO_ERR(c, "identifier too long");
    const mo_srv_pub *pub;
    mo_srv_snap sn, asn;
    int rc = auth_pub(c, "object_list", acct, pubn, &pub);
    if (rc <= 0 || (rc = snap_lookup(c, &sn, acct, snap, "failed to query snapshot: ")) <= 0)
        return rc;
    const mo_obj_ts *from = NULL;
    if (!is_dash(against)) {
        char pre[MO_SRV_NAME_MAX + 64];
        snprintf(pre, sizeof(pre), "failed to resolve against snapshot '%s': ", against);
        if ((rc = snap_lookup(c, &asn, acct, against, pre)) <= 0)
            return rc;
        from = &asn.ts;
    }
    if (sn.level < MO_SRV_LEVEL_ACCOUNT || sn.level > MO_SRV_LEVEL_TABLE)
        return mo_srv__err(c, SRV_ER_MO_INTERNAL, "HY000", "unsupported snapshot level: %s",
                           level_name(sn.level));
    static const srv_col cols[] = {COL("db name", SRV_T_VAR_STRING),
                                   COL("table name", SRV_T_VAR_STRING),
                                   COL("stats", SRV_T_STRING),
                                   COL("create_at", SRV_T_VARCHAR),
                                   COL("delete_at", SRV_T_VARCHAR),
                                   BOOLCOL("is_tombstone")};
    ol_ctx x = {{c, cols, 6, false}, from, sn.ts, 0, 0};
    mo_err e;
    mo_err_clear(&e);
    rc = c->srv->ops->objects(c->srv->ctx, &sn, from, sn.ts, ol_row, &x, &e);
    if (x.rc < 0)
        return x.rc;
    if (rc == MO_ESTALE) /* ERR instead of a row is legal mid-result-set */
        return mo_srv__err(c, SRV_ER_MO_STALE_READ, "HY000", "%s", e.msg);
    if (rc < 0)
        return MO_ERR(c, "%s", e.msg);
    return rs_end(&x.r);
}

/* ---------------- get_object ---------------- */

#define SEND_PIECE ((size_t)256 << 10) /* read/send granule of a chunk (fits a core's L2) */

static int cmd_get_object(mo_srv_conn *c, const tokv *t)
{
    mo_srv *s = c->srv;
    char acct[MO_SRV_NAME_MAX], pubn[MO_SRV_NAME_MAX], name[MO_SRV_NAME_MAX],
        idx_s[MO_SRV_NAME_MAX];
    if (t->n != 4)
        return MO_ERR(c, "invalid getobject command format, expected: getobject "
                         "<subscriptionAccountName> <publicationName> <objectName> <chunkIndex>");
    int64_t idx;
    if (!tok(idx_s, t, 3) || !parse_i64(&idx, idx_s))
        return MO_ERR(c, "invalid chunkIndex: %.*s", (int)(t->len[3] > 64 ? 64 : t->len[3]),
                      t->p[3]);
    if (!tok(acct, t, 0) || !tok(pubn, t, 1))
        return MO_ERR(c, "identifier too long");
    /* never let a hostile name reach the backend (path traversal) */
    if (!tok(name, t, 2) || !mo_obj_name_valid(name))
        return mo_srv__err(c, SRV_ER_MO_INVALID_INPUT, "HY000",
                           "invalid input: invalid object name: %.*s",
                           (int)(t->len[2] > 80 ? 80 : t->len[2]), t->p[2]);
    const mo_srv_pub *pub;
    int rc = auth_pub(c, "get_object", acct, pubn, &pub);
    if (rc <= 0)
        return rc;
    uint64_t size;
    mo_err e;
    mo_err_clear(&e);
    if ((rc = s->ops->object_stat(s->ctx, &size, pub, name, &e)) < 0) {
        if (rc == MO_ENOTFOUND)
            return MO_ERR(c, "file %s is not found", name);
        return MO_ERR(c, "%s", e.msg);
    }
    if (idx < 0)
        return mo_srv__err(c, SRV_ER_MO_INVALID_INPUT, "HY000",
                           "invalid input: invalid chunk_index: must be >= 0");
    if (size == 0)
        return mo_srv__err(c, SRV_ER_MO_INVALID_INPUT, "HY000",
                           "invalid input: size must be positive");
    const uint64_t C = s->opts.chunk_size;
    const uint64_t total = size <= C ? 1 : (size + C - 1) / C;
    if ((uint64_t)idx > total)
        return mo_srv__err(c, SRV_ER_MO_INVALID_INPUT, "HY000",
                           "invalid input: invalid chunk_index: %" PRId64
                           ", file has only %" PRIu64 " data chunks (chunk 0 is metadata)",
                           idx, total);
    static const srv_col cols[] = {
        {"data", SRV_T_BLOB, SRV_CS_BINARY, 0, SRV_FLAG_BLOB | SRV_FLAG_BINARY},
        COL("total_size", SRV_T_LONGLONG), COL("chunk_index", SRV_T_LONG),
        COL("total_chunks", SRV_T_LONG), BOOLCOL("is_complete")};
    srv_col cc[5];
    memcpy(cc, cols, sizeof(cc));
    cc[0].length = C > UINT32_MAX ? UINT32_MAX : (uint32_t)C;
    char vs[32], vi[32], vt[32];
    snprintf(vs, sizeof(vs), "%" PRIu64, size);
    snprintf(vi, sizeof(vi), "%" PRId64, idx);
    snprintf(vt, sizeof(vt), "%" PRIu64, total);
    srv_cell tail[4] = {cstr(vs), cstr(vi), cstr(vt), cstr((uint64_t)idx == total ? "1" : "0")};
    if (idx == 0) {
        srv_cell cells[5] = {{"", 0, false}, tail[0], tail[1], tail[2], tail[3]};
        if ((rc = mo_srv__rs_begin(c, cc, 5)) < 0 || (rc = mo_srv__rs_row(c, cells, 5)) < 0)
            return rc;
        return mo_srv__rs_end(c);
    }
    const uint64_t off = ((uint64_t)idx - 1) * C;
    const size_t n = (size_t)(size - off < C ? size - off : C);
    /* Streamed: the chunk is read and sent in SEND_PIECE pieces through one small buffer, so
     * that the downstream receives while the server reads and memory does not follow the
     * chunk size. The first piece is read before anything is sent (a missing or short object
     * is a clean ERR); a read failure after the row began cannot be an ERR packet any more:
     * the connection is closed (the downstream sees a lost connection and retries). */
    const size_t cap = n < SEND_PIECE ? n : SEND_PIECE;
    mo_srv__chunk_acquire(s);
    if (c->chunk_cap < cap) {
        mo_free(c->chunk);
        c->chunk_cap = 0;
        if (!(c->chunk = mo_malloc(cap))) {
            mo_srv__chunk_release(s);
            return MO_ERR(c, "out of memory for a %zu-byte buffer", cap);
        }
        c->chunk_cap = cap;
    }
    rc = s->ops->object_read(s->ctx, name, off, c->chunk, cap, &e);
    if (rc < 0) {
        mo_srv__chunk_release(s);
        return MO_ERR(c, "failed to read file %s: %s", name, e.msg);
    }
    const mo_srv_fault *f = &s->opts.fault;
    const bool corrupt = f->corrupt_times && (uint64_t)idx == f->corrupt_chunk &&
                         f->corrupt_off < n &&
                         atomic_fetch_add(&s->fault_corrupt, 1) < f->corrupt_times;
    size_t send_n = n;
    bool drop = false;
    if (f->drop_times && atomic_fetch_add(&s->fault_drop, 1) < f->drop_times) {
        drop = true;
        if (f->drop_after < send_n)
            send_n = (size_t)f->drop_after;
    }
    uint8_t le[9];
    size_t lel = mo_srv__lenenc(le, n);
    uint64_t row = lel + n;
    for (int i = 0; i < 4; i++) {
        uint8_t t9[9];
        row += mo_srv__lenenc(t9, tail[i].len) + tail[i].len;
    }
    if ((rc = mo_srv__rs_begin(c, cc, 5)) < 0 || (rc = mo_srv__pw_begin(c, row)) < 0 ||
        (rc = mo_srv__pw_put(c, le, lel)) < 0)
        goto out;
    for (size_t done = 0; done < send_n;) {
        const size_t k = n - done < cap ? n - done : cap; /* bytes of this piece */
        if (done && (rc = s->ops->object_read(s->ctx, name, off + done, c->chunk, k, &e)) < 0) {
            if (s->opts.log)
                fprintf(stderr, "moupstream: conn %u: reading %s at %" PRIu64 ": %s; closing\n",
                        c->id, name, off + done, e.msg);
            c->broken = true;
            goto out;
        }
        if (corrupt && f->corrupt_off >= done && f->corrupt_off < done + k)
            c->chunk[f->corrupt_off - done] ^= 0xff;
        const size_t put = send_n - done < k ? send_n - done : k;
        if ((rc = mo_srv__pw_put(c, c->chunk, put)) < 0)
            goto out;
        atomic_fetch_add(&s->st_chunk, put);
        done += put;
    }
    if (drop) {
        mo_srv__flush(c);
        c->broken = true;
        rc = MO_ECANCELED;
        goto out;
    }
    for (int i = 0; i < 4 && rc >= 0; i++) {
        uint8_t t9[9];
        size_t k = mo_srv__lenenc(t9, tail[i].len);
        if ((rc = mo_srv__pw_put(c, t9, k)) >= 0)
            rc = mo_srv__pw_put(c, tail[i].p, tail[i].len);
    }
    if (rc >= 0 && (rc = mo_srv__pw_end(c)) >= 0)
        rc = mo_srv__rs_end(c);
out:
    mo_srv__chunk_release(s);
    return rc;
}

/* ---------------- SQL statements: a tiny lexer ---------------- */

#define SQL_MAXTOK 16

typedef struct sqltok {
    char text[MO_SRV_NAME_MAX];
    bool quoted; /* backticks: never a keyword */
} sqltok;

typedef struct sqltoks {
    sqltok t[SQL_MAXTOK];
    size_t n;
} sqltoks;

/* Identifiers are case-folded (lower_case_table_names = 1). false on syntax errors. */
static bool sql_lex(sqltoks *out, const char *s, size_t len)
{
    size_t i = 0;
    out->n = 0;
    while (i < len) {
        unsigned char ch = (unsigned char)s[i];
        if (isspace(ch)) {
            i++;
            continue;
        }
        if (out->n == SQL_MAXTOK)
            return false;
        sqltok *t = &out->t[out->n];
        size_t w = 0;
        t->quoted = false;
        if (ch == '`') {
            t->quoted = true;
            for (i++;; i++) {
                if (i >= len)
                    return false;
                if (s[i] == '`') {
                    if (i + 1 < len && s[i + 1] == '`')
                        i++;
                    else
                        break;
                }
                if (w + 1 >= MO_SRV_NAME_MAX || s[i] == 0)
                    return false;
                t->text[w++] = (char)tolower((unsigned char)s[i]);
            }
            i++;
        } else if (isalnum(ch) || ch == '_' || ch == '$' || ch >= 0x80) {
            while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' ||
                               (unsigned char)s[i] >= 0x80)) {
                if (w + 1 >= MO_SRV_NAME_MAX)
                    return false;
                t->text[w++] = (char)tolower((unsigned char)s[i++]);
            }
        } else {
            t->text[w++] = (char)ch;
            i++;
        }
        t->text[w] = 0;
        out->n++;
    }
    while (out->n && !out->t[out->n - 1].quoted && !strcmp(out->t[out->n - 1].text, ";"))
        out->n--;
    return true;
}

static bool kw(const sqltoks *t, size_t i, const char *k)
{
    return i < t->n && !t->t[i].quoted && !strcasecmp(t->t[i].text, k);
}

static bool ident(const sqltoks *t, size_t i)
{
    if (i >= t->n)
        return false;
    unsigned char ch = (unsigned char)t->t[i].text[0];
    return t->t[i].quoted || isalnum(ch) || ch == '_' || ch == '$' || ch >= 0x80;
}

static int parse_error(mo_srv_conn *c, const char *sql, size_t len)
{
    return mo_srv__err(c, 1064, "42000",
                       "SQL parser error: You have an error in your SQL syntax; check the manual "
                       "that corresponds to your MatrixOne server version for the right syntax "
                       "to use. near \"%.*s\"",
                       (int)(len > 120 ? 120 : len), sql);
}

/* Optional `FROM a PUBLICATION p` at @p i; 1 present, 0 absent, -1 malformed. */
static int from_pub(const sqltoks *t, size_t i, size_t *end)
{
    if (i == t->n) {
        *end = i;
        return 0;
    }
    if (kw(t, i, "from") && ident(t, i + 1) && kw(t, i + 2, "publication") && ident(t, i + 3)) {
        *end = i + 4;
        return 1;
    }
    return -1;
}

static int sql_create_snapshot(mo_srv_conn *c, const sqltoks *t, const char *sql, size_t len)
{
    size_t i = 2;
    bool ine = false;
    if (kw(t, i, "if") && kw(t, i + 1, "not") && kw(t, i + 2, "exists")) {
        ine = true;
        i += 3;
    }
    if (!ident(t, i) || !kw(t, i + 1, "for"))
        return parse_error(c, sql, len);
    mo_srv_snap req;
    memset(&req, 0, sizeof(req));
    memcpy(req.name, t->t[i].text, sizeof(req.name));
    i += 2;
    const char *acct = c->tenant, *pubname = NULL;
    size_t end = 0;
    int fp = -1;
    if (kw(t, i, "cluster") && i + 1 == t->n) {
        return mo_srv__err(c, SRV_ER_MO_NYI, "HY000",
                           "not supported: cluster level snapshots in moupstream");
    } else if (kw(t, i, "account")) {
        req.level = MO_SRV_LEVEL_ACCOUNT;
        if (kw(t, i + 1, "from")) {
            fp = from_pub(t, i + 1, &end);
        } else if (ident(t, i + 1) && i + 2 == t->n) {
            acct = t->t[i + 1].text;
            fp = 0;
            end = t->n;
        } else {
            fp = from_pub(t, i + 1, &end);
        }
    } else if (kw(t, i, "database") && ident(t, i + 1)) {
        req.level = MO_SRV_LEVEL_DATABASE;
        memcpy(req.db, t->t[i + 1].text, sizeof(req.db));
        fp = from_pub(t, i + 2, &end);
    } else if (kw(t, i, "table") && ident(t, i + 1) && ident(t, i + 2)) {
        req.level = MO_SRV_LEVEL_TABLE;
        memcpy(req.db, t->t[i + 1].text, sizeof(req.db));
        memcpy(req.table, t->t[i + 2].text, sizeof(req.table));
        fp = from_pub(t, i + 3, &end);
    }
    if (fp < 0 || end != t->n)
        return parse_error(c, sql, len);
    if (fp == 1) {
        acct = t->t[end - 3].text;
        pubname = t->t[end - 1].text;
        const mo_srv_pub *pub;
        int rc = auth_pub(c, "create_snapshot", acct, pubname, &pub);
        if (rc <= 0)
            return rc;
    }
    memcpy(req.account, acct, strlen(acct) + 1);
    mo_err e;
    mo_err_clear(&e);
    int rc = c->srv->ops->snap_create(c->srv->ctx, &req, &e);
    if (rc == MO_EEXISTS)
        return ine ? mo_srv__ok(c, 0) : MO_ERR(c, "snapshot %s already exists", req.name);
    if (rc < 0)
        return MO_ERR(c, "%s", e.msg);
    return mo_srv__ok(c, 0);
}

static int sql_drop_snapshot(mo_srv_conn *c, const sqltoks *t, const char *sql, size_t len)
{
    size_t i = 2, end;
    bool ie = false;
    if (kw(t, i, "if") && kw(t, i + 1, "exists")) {
        ie = true;
        i += 2;
    }
    if (!ident(t, i))
        return parse_error(c, sql, len);
    const char *name = t->t[i].text, *acct = c->tenant;
    int fp = from_pub(t, i + 1, &end);
    if (fp < 0 || end != t->n)
        return parse_error(c, sql, len);
    if (fp == 1) {
        acct = t->t[end - 3].text;
        const mo_srv_pub *pub;
        int rc = auth_pub(c, "drop_snapshot", acct, t->t[end - 1].text, &pub);
        if (rc <= 0)
            return rc;
    }
    mo_err e;
    mo_err_clear(&e);
    int rc = c->srv->ops->snap_drop(c->srv->ctx, acct, name, &e);
    if (rc == MO_ENOTFOUND)
        return ie ? mo_srv__ok(c, 0) : MO_ERR(c, "snapshot %s does not exist", name);
    if (rc < 0)
        return MO_ERR(c, "%s", e.msg);
    return mo_srv__ok(c, 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sql_coverage(mo_srv_conn *c, const sqltoks *t, const char *sql, size_t len)
{
    if (t->n != 4 || !ident(t, 3))
        return parse_error(c, sql, len);
    const char *pname = t->t[3].text;
    const mo_srv_pub *pub;
    mo_err e;
    mo_err_clear(&e);
    int rc = c->srv->ops->pub_find(c->srv->ctx, &pub, NULL, pname, &e);
    if (rc == MO_ENOTFOUND)
        return MO_ERR(c, "publication '%s' does not exist", pname);
    if (rc < 0)
        return MO_ERR(c, "%s", e.msg);
    if (!mo_srv_pub_allows(pub, c->tenant))
        return MO_ERR(c, "account '%s' is not allowed to access publication '%s'", c->tenant,
                      pname);
    static const srv_col cols[] = {COL("Database", SRV_T_VARCHAR), COL("Table", SRV_T_VARCHAR)};
    /* collect first: a failing table listing must still produce a clean ERR */
    name_list rows = {0}; /* pairs: db, table */
    for (size_t i = 0; i < pub->n_entries && rc >= 0; i++) {
        const mo_srv_pub_entry *en = &pub->entries[i];
        if (!strcmp(en->db, "*")) {
            rc = name_add("*", &rows) < 0 || name_add("*", &rows) < 0 ? MO_ENOMEM : MO_OK;
        } else if (!en->table || !strcmp(en->table, "*")) {
            ddl_list tl = {0};
            if (name_add(en->db, &rows) < 0 || name_add("*", &rows) < 0)
                rc = MO_ENOMEM;
            else if ((rc = c->srv->ops->tables(c->srv->ctx, pub->account, NULL, en->db, ddl_add,
                                               &tl, &e)) < 0 ||
                     tl.rc < 0)
                rc = rc < 0 ? rc : tl.rc;
            name_list names = {0};
            for (size_t k = 0; k < tl.n && rc >= 0; k++)
                if (tl.v[k].kind != 'v' && name_add(tl.v[k].name, &names) < 0)
                    rc = MO_ENOMEM;
            if (rc >= 0)
                qsort(names.v, names.n, sizeof(char *), cmp_str);
            for (size_t k = 0; k < names.n && rc >= 0; k++)
                if (name_add(en->db, &rows) < 0 || name_add(names.v[k], &rows) < 0)
                    rc = MO_ENOMEM;
            name_list_free(&names);
            ddl_list_free(&tl);
        } else {
            rc = name_add(en->db, &rows) < 0 || name_add(en->table, &rows) < 0 ? MO_ENOMEM : MO_OK;
        }
    }
    if (rc < 0) {
        name_list_free(&rows);
        return MO_ERR(c, "%s", rc == MO_ENOMEM ? "out of memory" : e.msg);
    }
    rs r = {c, cols, 2, false};
    for (size_t i = 0; i + 1 < rows.n && rc >= 0; i += 2) {
        srv_cell cells[2] = {cstr(rows.v[i]), cstr(rows.v[i + 1])};
        rc = rs_row(&r, cells);
    }
    name_list_free(&rows);
    return rc < 0 ? rc : rs_end(&r);
}

/* ---------------- session queries of real clients ---------------- */

typedef struct sysvar {
    const char *name;
    const char *value;
    bool num;
} sysvar;

static const sysvar sysvars[] = {
    {"version_comment", "MatrixOne upstream emulator (mosync moupstream)", false},
    {"max_allowed_packet", "67108864", true},
    {"autocommit", "1", true},
    {"transaction_isolation", "REPEATABLE-READ", false},
    {"tx_isolation", "REPEATABLE-READ", false},
    {"transaction_read_only", "0", true},
    {"tx_read_only", "0", true},
    {"character_set_client", "utf8mb4", false},
    {"character_set_connection", "utf8mb4", false},
    {"character_set_results", "utf8mb4", false},
    {"character_set_server", "utf8mb4", false},
    {"character_set_database", "utf8mb4", false},
    {"collation_connection", "utf8mb4_general_ci", false},
    {"collation_server", "utf8mb4_general_ci", false},
    {"collation_database", "utf8mb4_general_ci", false},
    {"sql_mode", "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                 "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION", false},
    {"lower_case_table_names", "1", true},
    {"time_zone", "SYSTEM", false},
    {"system_time_zone", "UTC", false},
    {"wait_timeout", "28800", true},
    {"interactive_timeout", "28800", true},
    {"net_write_timeout", "60", true},
    {"net_read_timeout", "30", true},
    {"net_buffer_length", "16384", true},
    {"auto_increment_increment", "1", true},
    {"performance_schema", "0", true},
    {"query_cache_size", "0", true},
    {"query_cache_type", "OFF", false},
    {"init_connect", "", false},
    {"license", "Apache License 2.0", false},
    {"version_compile_os", "Linux", false},
    {"version_compile_machine", "x86_64", false},
    {"sql_select_limit", "18446744073709551615", true},
    {"session_track_gtids", "OFF", false},
};

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    return p;
}

static bool starts_ci(const char *p, const char *end, const char *k)
{
    size_t n = strlen(k);
    return (size_t)(end - p) >= n && !strncasecmp(p, k, n);
}

/* SELECT @@a [AS x], @@session.b ... [LIMIT n]; 1 handled, 0 not this shape */
static int select_vars(mo_srv_conn *c, const char *p, const char *end, int *rc_out)
{
    srv_col cols[8];
    srv_cell cells[8];
    char names[8][64];
    size_t n = 0;
    /* per server, and read by every connection thread: a local, never a shared static */
    const sysvar ver = {"version", c->srv->opts.server_version, false};
    const char *lim = NULL;
    for (const char *q = p; q + 6 <= end; q++)
        if (strncasecmp(q, " limit", 6) == 0)
            lim = q;
    if (lim)
        end = lim;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    while (p < end) {
        p = skip_ws(p, end);
        if (n == 8 || !starts_ci(p, end, "@@"))
            return 0;
        const char *expr = p;
        p += 2;
        if (starts_ci(p, end, "session.") || starts_ci(p, end, "global."))
            p = strchr(p, '.') + 1;
        else if (starts_ci(p, end, "local."))
            p += 6;
        const char *nm = p;
        while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        size_t nl = (size_t)(p - nm);
        const char *expr_end = p;
        p = skip_ws(p, end);
        const char *alias = NULL;
        size_t alias_n = 0;
        if (starts_ci(p, end, "as ")) {
            p = skip_ws(p + 3, end);
            alias = p;
            while (p < end && *p != ',' && !isspace((unsigned char)*p))
                p++;
            alias_n = (size_t)(p - alias);
            p = skip_ws(p, end);
        }
        if (p < end && *p != ',')
            return 0;
        if (p < end)
            p++;
        const sysvar *v = NULL;
        for (size_t i = 0; i < sizeof(sysvars) / sizeof(sysvars[0]); i++)
            if (strlen(sysvars[i].name) == nl && !strncasecmp(sysvars[i].name, nm, nl))
                v = &sysvars[i];
        if (!v && nl == 7 && !strncasecmp(nm, "version", 7))
            v = &ver;
        if (!v) {
            *rc_out = mo_srv__err(c, 1193, "HY000", "Unknown system variable '%.*s'", (int)nl, nm);
            return 1;
        }
        const char *cn = alias ? alias : expr;
        size_t cl = alias ? alias_n : (size_t)(expr_end - expr);
        if (cl && (*cn == '`' || *cn == '\'' || *cn == '"') && cl >= 2) {
            cn++;
            cl -= 2;
        }
        snprintf(names[n], sizeof(names[n]), "%.*s", (int)cl, cn);
        cols[n] = (srv_col){names[n], v->num ? SRV_T_LONGLONG : SRV_T_VAR_STRING,
                            v->num ? SRV_CS_BINARY : SRV_CS_UTF8MB4, 0, 0};
        cells[n] = cstr(v->value);
        n++;
    }
    if (!n)
        return 0;
    int rc;
    if ((rc = mo_srv__rs_begin(c, cols, n)) < 0 || (rc = mo_srv__rs_row(c, cells, n)) < 0)
        *rc_out = rc;
    else
        *rc_out = mo_srv__rs_end(c);
    return 1;
}

static int one_value(mo_srv_conn *c, const char *col, uint8_t type, const char *v)
{
    srv_col cols[1] = {{col, type, type == SRV_T_LONGLONG ? SRV_CS_BINARY : SRV_CS_UTF8MB4, 0, 0}};
    srv_cell cell = v ? cstr(v) : (srv_cell){NULL, 0, true};
    int rc;
    if ((rc = mo_srv__rs_begin(c, cols, 1)) < 0 || (rc = mo_srv__rs_row(c, &cell, 1)) < 0)
        return rc;
    return mo_srv__rs_end(c);
}

static int session_query(mo_srv_conn *c, const char *sql, size_t len)
{
    const char *p = skip_ws(sql, sql + len), *end = sql + len;
    while (end > p && (isspace((unsigned char)end[-1]) || end[-1] == ';'))
        end--;
    size_t n = (size_t)(end - p);
    char norm[128];
    if (n < sizeof(norm)) { /* lower-cased, single spaces */
        size_t w = 0;
        for (const char *q = p; q < end; q++) {
            char ch = (char)tolower((unsigned char)*q);
            if (isspace((unsigned char)ch)) {
                if (w && norm[w - 1] == ' ')
                    continue;
                ch = ' ';
            }
            norm[w++] = ch;
        }
        norm[w] = 0;
    } else {
        norm[0] = 0;
    }
    int rc;
    if (starts_ci(p, end, "select") && n > 7) {
        const char *q = skip_ws(p + 6, end);
        if (starts_ci(q, end, "@@") && select_vars(c, q, end, &rc))
            return rc;
    }
    if (!strcmp(norm, "select database()"))
        return one_value(c, "DATABASE()", SRV_T_VAR_STRING, c->db[0] ? c->db : NULL);
    if (!strcmp(norm, "select version()"))
        return one_value(c, "VERSION()", SRV_T_VAR_STRING, c->srv->opts.server_version);
    if (!strcmp(norm, "select user()") || !strcmp(norm, "select current_user()")) {
        char u[2 * MO_SRV_NAME_MAX + 16];
        snprintf(u, sizeof(u), "%s@127.0.0.1", c->user);
        return one_value(c, strchr(norm, 'c') && strstr(norm, "current") ? "CURRENT_USER()"
                                                                         : "USER()",
                         SRV_T_VAR_STRING, u);
    }
    if (!strcmp(norm, "select connection_id()")) {
        char v[16];
        snprintf(v, sizeof(v), "%u", c->id);
        return one_value(c, "CONNECTION_ID()", SRV_T_LONGLONG, v);
    }
    if (!strcmp(norm, "select 1"))
        return one_value(c, "1", SRV_T_LONGLONG, "1");
    if (!strcmp(norm, "show warnings") || !strcmp(norm, "show errors")) {
        static const srv_col cols[] = {{"Level", SRV_T_VAR_STRING, SRV_CS_UTF8MB4, 0, 0},
                                       {"Code", SRV_T_LONG, SRV_CS_BINARY, 0, 0},
                                       {"Message", SRV_T_VAR_STRING, SRV_CS_UTF8MB4, 0, 0}};
        if ((rc = mo_srv__rs_begin(c, cols, 3)) < 0)
            return rc;
        return mo_srv__rs_end(c);
    }
    if (starts_ci(p, end, "set ") || starts_ci(p, end, "set\t") || !strcmp(norm, "begin") ||
        !strcmp(norm, "commit") || !strcmp(norm, "rollback") ||
        !strcmp(norm, "start transaction"))
        return mo_srv__ok(c, 0);
    if (starts_ci(p, end, "use ")) {
        sqltoks t;
        if (sql_lex(&t, p, n) && t.n == 2 && ident(&t, 1)) {
            memcpy(c->db, t.t[1].text, sizeof(c->db));
            return mo_srv__ok(c, 0);
        }
    }
    return parse_error(c, p, n);
}

/* ---------------- dispatch ---------------- */

typedef int (*cmd_fn)(mo_srv_conn *c, const tokv *t);

static const struct {
    const char *prefix;
    cmd_fn fn;
} internal_cmds[] = {
    {"__++__internal_get_snapshot_ts", cmd_snapshot_ts},
    {"__++__internal_check_snapshot_flushed", cmd_flushed},
    {"__++__internal_get_databases", cmd_databases},
    {"__++__internal_get_ddl", cmd_ddl},
    {"__++__internal_get_mo_indexes", cmd_indexes},
    {"__++__internal_object_list", cmd_object_list},
    {"__++__internal_get_object", cmd_get_object},
};

static int fault_retryable(mo_srv_conn *c, bool *sent)
{
    mo_srv *s = c->srv;
    *sent = false;
    if (s->opts.fault.retryable &&
        atomic_fetch_add(&s->fault_retry, 1) < s->opts.fault.retryable) {
        *sent = true;
        return MO_ERR(c, "rpc timeout: backend unavailable (moupstream fault injection, retry)");
    }
    return MO_OK;
}

int mo_srv__query(mo_srv_conn *c, const char *sql, size_t len)
{
    mo_srv *s = c->srv;
    if (s->opts.fault.delay_ms) {
        struct timespec ts = {(time_t)(s->opts.fault.delay_ms / 1000),
                              (long)(s->opts.fault.delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    bool sent;
    int rc;
    for (size_t i = 0; i < sizeof(internal_cmds) / sizeof(internal_cmds[0]); i++) {
        size_t pl = strlen(internal_cmds[i].prefix);
        if (len >= pl && !strncasecmp(sql, internal_cmds[i].prefix, pl)) {
            if ((rc = fault_retryable(c, &sent)) < 0 || sent)
                return rc;
            tokv t;
            fields(&t, sql + pl, len - pl);
            return internal_cmds[i].fn(c, &t);
        }
    }
    sqltoks t;
    if (sql_lex(&t, sql, len)) {
        int (*fn)(mo_srv_conn *, const sqltoks *, const char *, size_t) = NULL;
        if (kw(&t, 0, "create") && kw(&t, 1, "snapshot"))
            fn = sql_create_snapshot;
        else if (kw(&t, 0, "drop") && kw(&t, 1, "snapshot"))
            fn = sql_drop_snapshot;
        else if (kw(&t, 0, "show") && kw(&t, 1, "publication") && kw(&t, 2, "coverage"))
            fn = sql_coverage;
        if (fn) {
            if ((rc = fault_retryable(c, &sent)) < 0 || sent)
                return rc;
            return fn(c, &t, sql, len);
        }
    }
    return session_query(c, sql, len);
}
