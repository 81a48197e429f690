/* MO upstream client over libmysqlclient (MariaDB Connector/C): exactly the statements of
 * spec/ccpr-protocol.md §3, sent as plain COM_QUERY text, results read unbuffered with
 * mysql_use_result. Every reply is checked (column count, integer types and texts, lengths,
 * object names) before a byte of it is trusted. Failures are classified as §5.9 says and
 * retried with backoff 200 ms x 2^n (cap 30 s) + jitter, reconnecting after client-side
 * errors (the connection state is unknown then). Connector/C negotiates classic EOF packets
 * and treats 0xFE only in packets of <= 8 bytes as a terminator, so a >= 16 MiB BLOB row
 * whose lenenc prefix is 0xFE is read as a row (§2.1). */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <errmsg.h>
#include <mysql.h>

#include "mo/upstream.h"

/* ---------------- identifiers and URI ---------------- */

bool mo_up_ident_valid(const char *s)
{
    if (!s || !*s || !strcmp(s, "-"))
        return false;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (n >= MO_UP_IDENT_MAX)
            return false;
        if (*p <= 0x20 || *p == 0x7f || *p == '\'' || *p == '"' || *p == '`' || *p == '\\' ||
            *p == ';')
            return false;
    }
    return true;
}

static int copy_field(char *dst, size_t cap, const char *p, size_t n, const char *what,
                      mo_err *err)
{
    if (n >= cap)
        return mo_err_set(err, MO_EINVAL, "upstream URI: %s too long", what);
    memcpy(dst, p, n);
    dst[n] = 0;
    return MO_OK;
}

static bool parse_dec(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        if (mo_mul_overflow(v, 10, &v) || mo_add_overflow(v, (uint64_t)(p[i] - '0'), &v))
            return false;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool ssl_mode_ok(const char *m)
{
    static const char *const modes[] = {"disabled", "preferred", "required", "verify_ca",
                                        "verify_identity"};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (!strcasecmp(m, modes[i]))
            return true;
    return false;
}

/* a URI component that is an identifier: also no URI delimiters */
static bool uri_ident_ok(const char *s)
{
    return mo_up_ident_valid(s) && !strpbrk(s, "/?&=@#,:");
}

int mo_up_uri_parse(mo_up_uri *u, const char *uri, mo_err *err)
{
    memset(u, 0, sizeof(*u));
    if (!uri || strncmp(uri, "mysql://", 8))
        return mo_err_set(err, MO_EINVAL, "upstream URI must start with mysql://");
    const char *s = uri + 8;
    const char *at = strrchr(s, '@');
    if (!at)
        return mo_err_set(err, MO_EINVAL, "upstream URI: no user@ part");
    /* user part: [acct#]user[:password] */
    const char *colon = memchr(s, ':', (size_t)(at - s));
    const char *uend = colon ? colon : at;
    const char *hash = memchr(s, '#', (size_t)(uend - s));
    int rc;
    if (hash && (rc = copy_field(u->account, sizeof(u->account), s, (size_t)(hash - s),
                                 "account", err)) < 0)
        return rc;
    const char *us = hash ? hash + 1 : s;
    if ((rc = copy_field(u->user, sizeof(u->user), us, (size_t)(uend - us), "user", err)) < 0)
        return rc;
    if (colon) {
        if ((rc = copy_field(u->password, sizeof(u->password), colon + 1,
                             (size_t)(at - colon - 1), "password", err)) < 0)
            return rc;
        u->has_password = true;
    }
    if (!u->user[0])
        return mo_err_set(err, MO_EINVAL, "upstream URI: empty user");
    if ((u->account[0] && !uri_ident_ok(u->account)) || !uri_ident_ok(u->user))
        return mo_err_set(err, MO_EINVAL, "upstream URI: account/user must be plain identifiers");
    /* host:port[/pubacct/pubname][?query] */
    const char *h = at + 1;
    size_t hl = strcspn(h, "/?");
    const char *hc = memchr(h, ':', hl);
    if (!hc || memchr(hc + 1, ':', hl - (size_t)(hc - h) - 1) || hc == h)
        return mo_err_set(err, MO_EINVAL, "upstream URI: want host:port (exactly one ':')");
    if ((rc = copy_field(u->host, sizeof(u->host), h, (size_t)(hc - h), "host", err)) < 0)
        return rc;
    uint64_t port;
    if (!parse_dec(hc + 1, hl - (size_t)(hc - h) - 1, 65535, &port) || port == 0)
        return mo_err_set(err, MO_EINVAL, "upstream URI: bad port");
    u->port = (unsigned)port;
    const char *p = h + hl;
    if (*p == '/') {
        p++;
        size_t al = strcspn(p, "/?");
        if (p[al] != '/')
            return mo_err_set(err, MO_EINVAL, "upstream URI: want /<pubacct>/<pubname>");
        if ((rc = copy_field(u->pubacct, sizeof(u->pubacct), p, al, "pubacct", err)) < 0)
            return rc;
        p += al + 1;
        size_t nl = strcspn(p, "/?");
        if (p[nl] == '/')
            return mo_err_set(err, MO_EINVAL, "upstream URI: path has more than 2 parts");
        if ((rc = copy_field(u->pubname, sizeof(u->pubname), p, nl, "pubname", err)) < 0)
            return rc;
        p += nl;
        if (!uri_ident_ok(u->pubacct) || !uri_ident_ok(u->pubname))
            return mo_err_set(err, MO_EINVAL,
                              "upstream URI: publication account/name must be plain identifiers");
    }
    if (*p == '?') {
        p++;
        while (*p) {
            size_t kl = strcspn(p, "&");
            const char *eq = memchr(p, '=', kl);
            if (!eq)
                return mo_err_set(err, MO_EINVAL, "upstream URI: query wants key=value");
            size_t klen = (size_t)(eq - p), vl = kl - klen - 1;
            if (klen == 8 && !strncmp(p, "snapshot", 8)) {
                if ((rc = copy_field(u->snapshot, sizeof(u->snapshot), eq + 1, vl, "snapshot",
                                     err)) < 0)
                    return rc;
                /* each comma-separated name must be an identifier */
                char tmp[sizeof(u->snapshot)];
                memcpy(tmp, u->snapshot, sizeof(tmp));
                char *save = NULL;
                unsigned cnt = 0;
                for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                    if (!uri_ident_ok(t))
                        return mo_err_set(err, MO_EINVAL, "upstream URI: bad snapshot name");
                    cnt++;
                }
                if (!cnt || u->snapshot[0] == ',' || u->snapshot[vl - 1] == ',' ||
                    strstr(u->snapshot, ",,"))
                    return mo_err_set(err, MO_EINVAL, "upstream URI: bad snapshot list");
            } else if (klen == 5 && !strncmp(p, "chunk", 5)) {
                if (!parse_dec(eq + 1, vl, (uint64_t)1 << 40, &u->chunk) || !u->chunk)
                    return mo_err_set(err, MO_EINVAL, "upstream URI: bad chunk=");
            } else if (klen == 8 && !strncmp(p, "ssl-mode", 8)) {
                if (copy_field(u->ssl_mode, sizeof(u->ssl_mode), eq + 1, vl, "ssl-mode", NULL) <
                        0 ||
                    !ssl_mode_ok(u->ssl_mode))
                    return mo_err_set(err, MO_EINVAL, "upstream URI: ssl-mode wants disabled, "
                                                      "preferred, required, verify_ca or "
                                                      "verify_identity");
            } else if (klen == 6 && !strncmp(p, "ssl-ca", 6)) {
                if ((rc = copy_field(u->ssl_ca, sizeof(u->ssl_ca), eq + 1, vl, "ssl-ca", err)) <
                    0)
                    return rc;
                for (size_t i = 0; i < vl; i++)
                    if ((unsigned char)u->ssl_ca[i] < 0x20 || u->ssl_ca[i] == 0x7f)
                        return mo_err_set(err, MO_EINVAL, "upstream URI: bad ssl-ca");
                if (!vl)
                    return mo_err_set(err, MO_EINVAL, "upstream URI: empty ssl-ca");
            } else {
                return mo_err_set(err, MO_EINVAL, "upstream URI: unknown parameter '%.*s'",
                                  (int)(klen < 40 ? klen : 40), p);
            }
            p += kl;
            if (*p == '&')
                p++;
        }
    } else if (*p) {
        return mo_err_set(err, MO_EINVAL, "upstream URI: unexpected '%.20s'", p);
    }
    return MO_OK;
}

int mo_up_password_from_env(char **out, mo_err *err)
{
    *out = NULL;
    const char *pw = getenv("MO_UPSTREAM_PASSWORD");
    if (pw) {
        if (!(*out = mo_strdup(pw)))
            return mo_err_set(err, MO_ENOMEM, "password");
        return MO_OK;
    }
    const char *f = getenv("MO_UPSTREAM_PASSWORD_FILE");
    if (!f || !*f)
        return MO_OK;
    FILE *fp = fopen(f, "r");
    if (!fp)
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno,
                          "MO_UPSTREAM_PASSWORD_FILE %s", f);
    char line[1024];
    size_t n = fread(line, 1, sizeof(line) - 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad)
        return mo_err_set(err, MO_EIO, "MO_UPSTREAM_PASSWORD_FILE %s: read error", f);
    line[n] = 0;
    line[strcspn(line, "\r\n")] = 0;
    if (!(*out = mo_strdup(line)))
        return mo_err_set(err, MO_ENOMEM, "password");
    return MO_OK;
}

/* ---------------- statements ---------------- */

const char *mo_up_level_name(mo_up_level l)
{
    switch (l) {
    case MO_UP_LEVEL_ACCOUNT: return "account";
    case MO_UP_LEVEL_DATABASE: return "database";
    case MO_UP_LEVEL_TABLE: return "table";
    }
    return "?";
}

/* checks an identifier; @p dash: empty allowed and sent as `-` */
static int ident(const char **tok, const char *s, bool dash, const char *what, const char *stmt,
                 mo_err *err)
{
    *tok = "-"; /* always set: callers read it only on success, but gcc cannot tell */
    if (!s || !*s) {
        if (dash) {
            *tok = "-";
            return MO_OK;
        }
        return mo_err_set(err, MO_EINVAL, "%s: %s is empty", stmt, what);
    }
    if (!mo_up_ident_valid(s))
        return mo_err_set(err, MO_EINVAL,
                          "%s: %s '%.60s' is not a plain identifier (no whitespace, quotes, "
                          "backslashes, ';'; not '-')",
                          stmt, what, s);
    *tok = s;
    return MO_OK;
}

static int emit(char *out, size_t cap, const char *stmt, mo_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int emit(char *out, size_t cap, const char *stmt, mo_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap)
        return mo_err_set(err, MO_EINVAL, "%s: statement longer than %zu bytes", stmt, cap);
    return MO_OK;
}

int mo_up_stmt_create_snapshot(char *out, size_t cap, const char *snap, mo_up_level level,
                               const char *db, const char *tbl, const char *pubacct,
                               const char *pubname, mo_err *err)
{
    const char *st = "CREATE SNAPSHOT", *s, *a, *p, *d, *t;
    int rc;
    if ((rc = ident(&s, snap, false, "snapshot", st, err)) < 0 ||
        (rc = ident(&a, pubacct, false, "publication account", st, err)) < 0 ||
        (rc = ident(&p, pubname, false, "publication", st, err)) < 0)
        return rc;
    switch (level) {
    case MO_UP_LEVEL_ACCOUNT:
        return emit(out, cap, st, err,
                    "CREATE SNAPSHOT IF NOT EXISTS `%s` FOR ACCOUNT FROM %s PUBLICATION %s", s, a,
                    p);
    case MO_UP_LEVEL_DATABASE:
        if ((rc = ident(&d, db, false, "database", st, err)) < 0)
            return rc;
        return emit(out, cap, st, err,
                    "CREATE SNAPSHOT IF NOT EXISTS `%s` FOR DATABASE %s FROM %s PUBLICATION %s", s,
                    d, a, p);
    case MO_UP_LEVEL_TABLE:
        if ((rc = ident(&d, db, false, "database", st, err)) < 0 ||
            (rc = ident(&t, tbl, false, "table", st, err)) < 0)
            return rc;
        return emit(out, cap, st, err,
                    "CREATE SNAPSHOT IF NOT EXISTS `%s` FOR TABLE %s %s FROM %s PUBLICATION %s", s,
                    d, t, a, p);
    }
    return mo_err_set(err, MO_EINVAL, "%s: bad level %d", st, (int)level);
}

int mo_up_stmt_drop_snapshot(char *out, size_t cap, const char *snap, const char *pubacct,
                             const char *pubname, mo_err *err)
{
    const char *st = "DROP SNAPSHOT", *s, *a, *p;
    int rc;
    if ((rc = ident(&s, snap, false, "snapshot", st, err)) < 0 ||
        (rc = ident(&a, pubacct, false, "publication account", st, err)) < 0 ||
        (rc = ident(&p, pubname, false, "publication", st, err)) < 0)
        return rc;
    return emit(out, cap, st, err, "DROP SNAPSHOT IF EXISTS `%s` FROM %s PUBLICATION %s", s, a, p);
}

static int stmt3(char *out, size_t cap, const char *cmd, const char *snap, const char *pubacct,
                 const char *pubname, mo_err *err)
{
    const char *s, *a, *p;
    int rc;
    if ((rc = ident(&s, snap, false, "snapshot", cmd, err)) < 0 ||
        (rc = ident(&a, pubacct, false, "publication account", cmd, err)) < 0 ||
        (rc = ident(&p, pubname, false, "publication", cmd, err)) < 0)
        return rc;
    return emit(out, cap, cmd, err, "__++__internal_%s %s %s %s", cmd, s, a, p);
}

int mo_up_stmt_get_snapshot_ts(char *out, size_t cap, const char *snap, const char *pubacct,
                               const char *pubname, mo_err *err)
{
    return stmt3(out, cap, "get_snapshot_ts", snap, pubacct, pubname, err);
}

int mo_up_stmt_check_snapshot_flushed(char *out, size_t cap, const char *snap,
                                      const char *pubacct, const char *pubname, mo_err *err)
{
    return stmt3(out, cap, "check_snapshot_flushed", snap, pubacct, pubname, err);
}

static int stmt6(char *out, size_t cap, const char *cmd, const char *snap, const char *pubacct,
                 const char *pubname, mo_up_level level, const char *db, const char *tbl,
                 mo_err *err)
{
    const char *s, *a, *p, *d, *t;
    int rc;
    if (level > MO_UP_LEVEL_TABLE)
        return mo_err_set(err, MO_EINVAL, "%s: bad level %d", cmd, (int)level);
    if ((rc = ident(&s, snap, true, "snapshot", cmd, err)) < 0 ||
        (rc = ident(&a, pubacct, false, "publication account", cmd, err)) < 0 ||
        (rc = ident(&p, pubname, false, "publication", cmd, err)) < 0 ||
        (rc = ident(&d, db, true, "database", cmd, err)) < 0 ||
        (rc = ident(&t, tbl, true, "table", cmd, err)) < 0)
        return rc;
    return emit(out, cap, cmd, err, "__++__internal_%s %s %s %s %s %s %s", cmd, s, a, p,
                mo_up_level_name(level), d, t);
}

int mo_up_stmt_get_databases(char *out, size_t cap, const char *snap, const char *pubacct,
                             const char *pubname, mo_up_level level, const char *db,
                             const char *tbl, mo_err *err)
{
    return stmt6(out, cap, "get_databases", snap, pubacct, pubname, level, db, tbl, err);
}

int mo_up_stmt_get_ddl(char *out, size_t cap, const char *snap, const char *pubacct,
                       const char *pubname, mo_up_level level, const char *db, const char *tbl,
                       mo_err *err)
{
    return stmt6(out, cap, "get_ddl", snap, pubacct, pubname, level, db, tbl, err);
}

int mo_up_stmt_get_mo_indexes(char *out, size_t cap, uint64_t table_id, const char *pubacct,
                              const char *pubname, const char *snap, mo_err *err)
{
    const char *cmd = "get_mo_indexes", *s, *a, *p;
    int rc;
    if ((rc = ident(&a, pubacct, false, "publication account", cmd, err)) < 0 ||
        (rc = ident(&p, pubname, false, "publication", cmd, err)) < 0 ||
        (rc = ident(&s, snap, true, "snapshot", cmd, err)) < 0)
        return rc;
    return emit(out, cap, cmd, err, "__++__internal_get_mo_indexes %" PRIu64 " %s %s %s",
                table_id, a, p, s);
}

int mo_up_stmt_object_list(char *out, size_t cap, const char *snap, const char *against,
                           const char *pubacct, const char *pubname, mo_err *err)
{
    const char *cmd = "object_list", *s, *g, *a, *p;
    int rc;
    if ((rc = ident(&s, snap, false, "snapshot", cmd, err)) < 0 ||
        (rc = ident(&g, against, true, "against snapshot", cmd, err)) < 0 ||
        (rc = ident(&a, pubacct, false, "publication account", cmd, err)) < 0 ||
        (rc = ident(&p, pubname, false, "publication", cmd, err)) < 0)
        return rc;
    return emit(out, cap, cmd, err, "__++__internal_object_list %s %s %s %s", s, g, a, p);
}

int mo_up_stmt_get_object(char *out, size_t cap, const char *pubacct, const char *pubname,
                          const char *object, int64_t chunk_index, mo_err *err)
{
    const char *cmd = "get_object", *a, *p;
    int rc;
    if ((rc = ident(&a, pubacct, false, "publication account", cmd, err)) < 0 ||
        (rc = ident(&p, pubname, false, "publication", cmd, err)) < 0)
        return rc;
    if (!object || !mo_obj_name_valid(object))
        return mo_err_set(err, MO_EINVAL, "%s: '%.60s' is not a 42-char object name", cmd,
                          object ? object : "(null)");
    if (chunk_index < 0)
        return mo_err_set(err, MO_EINVAL, "%s: negative chunk index", cmd);
    return emit(out, cap, cmd, err, "__++__internal_get_object %s %s %s %" PRId64, a, p, object,
                chunk_index);
}

int mo_up_stmt_pub_coverage(char *out, size_t cap, const char *pubname, mo_err *err)
{
    const char *p;
    int rc;
    if ((rc = ident(&p, pubname, false, "publication", "SHOW PUBLICATION COVERAGE", err)) < 0)
        return rc;
    return emit(out, cap, "SHOW PUBLICATION COVERAGE", err, "SHOW PUBLICATION COVERAGE `%s`", p);
}

/* ---------------- reply rows ---------------- */

static bool is_int_type(unsigned t)
{
    return t == MO_UP_T_TINY || t == MO_UP_T_SHORT || t == MO_UP_T_LONG ||
           t == MO_UP_T_LONGLONG || t == MO_UP_T_INT24 || t == MO_UP_T_YEAR;
}

static int want_cols(const mo_up_row *r, unsigned n, const char *stmt, mo_err *err)
{
    if (r->ncols != n)
        return mo_err_set(err, MO_EUPSTREAM, "%s: reply has %u columns, want %u", stmt, r->ncols,
                          n);
    return MO_OK;
}

int mo_up_parse_int_cell(int64_t *out, const mo_up_row *r, unsigned col, const char *stmt,
                         const char *field, mo_err *err)
{
    if (col >= r->ncols)
        return mo_err_set(err, MO_EUPSTREAM, "%s: no column %s", stmt, field);
    if (!is_int_type(r->types[col]))
        return mo_err_set(err, MO_EUPSTREAM, "%s: column %s has wire type 0x%02x, want an integer",
                          stmt, field, r->types[col]);
    const char *v = r->vals[col];
    size_t n = r->lens[col];
    if (!v)
        return mo_err_set(err, MO_EUPSTREAM, "%s: %s is NULL", stmt, field);
    bool neg = n > 0 && v[0] == '-';
    uint64_t u;
    if (!parse_dec(v + neg, n - neg, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &u))
        return mo_err_set(err, MO_EUPSTREAM, "%s: %s '%.*s' is not a decimal integer", stmt, field,
                          (int)(n < 30 ? n : 30), v);
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return MO_OK;
}

/* a string cell without NUL bytes, copied into @p dst */
static int str_cell(char *dst, size_t cap, const mo_up_row *r, unsigned col, const char *stmt,
                    const char *field, mo_err *err)
{
    const char *v = r->vals[col];
    size_t n = r->lens[col];
    if (!v)
        return mo_err_set(err, MO_EUPSTREAM, "%s: %s is NULL", stmt, field);
    if (is_int_type(r->types[col]) && n == 0)
        return mo_err_set(err, MO_EUPSTREAM, "%s: %s has an integer type", stmt, field);
    if (n >= cap || memchr(v, 0, n))
        return mo_err_set(err, MO_EUPSTREAM, "%s: %s is longer than %zu bytes or holds NUL", stmt,
                          field, cap - 1);
    memcpy(dst, v, n);
    dst[n] = 0;
    return MO_OK;
}

static int str_dup_cell(char **dst, const mo_up_row *r, unsigned col, const char *stmt,
                        const char *field, mo_err *err)
{
    const char *v = r->vals[col];
    size_t n = r->lens[col];
    if (!v)
        return mo_err_set(err, MO_EUPSTREAM, "%s: %s is NULL", stmt, field);
    if (memchr(v, 0, n))
        return mo_err_set(err, MO_EUPSTREAM, "%s: %s holds a NUL byte", stmt, field);
    if (!(*dst = mo_malloc(n + 1)))
        return mo_err_set(err, MO_ENOMEM, "%s: %s", stmt, field);
    memcpy(*dst, v, n);
    (*dst)[n] = 0;
    return MO_OK;
}

int mo_up_ts_text_parse(mo_obj_ts *out, bool *set, const char *s, size_t len, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    *set = false;
    if (!s || len == 0 || (len == 3 && !memcmp(s, "0-0", 3)))
        return MO_OK;
    char tmp[48];
    if (len >= sizeof(tmp) || memchr(s, 0, len))
        return mo_err_set(err, MO_EUPSTREAM, "bad TS text (%zu bytes)", len);
    memcpy(tmp, s, len);
    tmp[len] = 0;
    /* strictly <physical>-<logical>, both decimal, physical >= 0 */
    const char *dash = strchr(tmp, '-');
    uint64_t ph, lo;
    if (!dash || !parse_dec(tmp, (size_t)(dash - tmp), INT64_MAX, &ph) ||
        !parse_dec(dash + 1, strlen(dash + 1), UINT32_MAX, &lo))
        return mo_err_set(err, MO_EUPSTREAM, "bad TS text '%s': want <physical>-<logical>", tmp);
    out->physical = (int64_t)ph;
    out->logical = (uint32_t)lo;
    *set = ph != 0 || lo != 0;
    return MO_OK;
}

int mo_up_parse_objlist_row(mo_up_obj *o, const mo_up_row *r, mo_err *err)
{
    const char *st = "object_list";
    int rc;
    memset(o, 0, sizeof(*o));
    if ((rc = want_cols(r, 6, st, err)) < 0 ||
        (rc = str_cell(o->db, sizeof(o->db), r, 0, st, "db name", err)) < 0 ||
        (rc = str_cell(o->table, sizeof(o->table), r, 1, st, "table name", err)) < 0)
        return rc;
    if (!r->vals[2] || r->lens[2] != MO_OBJ_STATS_LEN)
        return mo_err_set(err, MO_EUPSTREAM, "%s: stats is %lu bytes, want %d (table %s)", st,
                          r->vals[2] ? r->lens[2] : 0, MO_OBJ_STATS_LEN, o->table);
    memcpy(o->stats_raw, r->vals[2], MO_OBJ_STATS_LEN);
    if ((rc = mo_obj_stats_decode(&o->stats, o->stats_raw, err)) < 0) {
        mo_err_prefix(err, "%s: stats (table %s): ", st, o->table);
        if (err)
            err->code = MO_EUPSTREAM;
        return MO_EUPSTREAM;
    }
    memcpy(o->name, o->stats_raw + 18, MO_OBJ_NAME_STR_LEN);
    o->name[MO_OBJ_NAME_STR_LEN] = 0;
    if (!mo_obj_name_valid(o->name) || strstr(o->name, "../") || strchr(o->name, '/'))
        return mo_err_set(err, MO_EUPSTREAM, "%s: object name '%.42s' is not a valid name", st,
                          o->name);
    bool cset;
    if ((rc = mo_up_ts_text_parse(&o->create_at, &cset, r->vals[3], r->lens[3], err)) < 0 ||
        (rc = mo_up_ts_text_parse(&o->delete_at, &o->deleted, r->vals[4], r->lens[4], err)) < 0) {
        mo_err_prefix(err, "%s: object %s: ", st, o->name);
        return rc;
    }
    int64_t tomb;
    if ((rc = mo_up_parse_int_cell(&tomb, r, 5, st, "is_tombstone", err)) < 0)
        return rc;
    if (tomb != 0 && tomb != 1)
        return mo_err_set(err, MO_EUPSTREAM, "%s: is_tombstone is %" PRId64 ", want 0 or 1", st,
                          tomb);
    o->is_tombstone = tomb == 1;
    return MO_OK;
}

int mo_up_parse_object_row(mo_up_chunk *c, const mo_up_row *r, int64_t want, mo_err *err)
{
    const char *st = "get_object";
    int rc;
    memset(c, 0, sizeof(*c));
    if ((rc = want_cols(r, 5, st, err)) < 0)
        return rc;
    if (!r->vals[0])
        return mo_err_set(err, MO_EUPSTREAM, "%s: data is NULL (chunk %" PRId64 ")", st, want);
    if (is_int_type(r->types[0]))
        return mo_err_set(err, MO_EUPSTREAM, "%s: data has integer wire type 0x%02x", st,
                          r->types[0]);
    int64_t size, idx, total, complete;
    if ((rc = mo_up_parse_int_cell(&size, r, 1, st, "total_size", err)) < 0 ||
        (rc = mo_up_parse_int_cell(&idx, r, 2, st, "chunk_index", err)) < 0 ||
        (rc = mo_up_parse_int_cell(&total, r, 3, st, "total_chunks", err)) < 0 ||
        (rc = mo_up_parse_int_cell(&complete, r, 4, st, "is_complete", err)) < 0)
        return rc;
    if (idx != want)
        return mo_err_set(err, MO_EUPSTREAM, "%s: chunk_index %" PRId64 " echoes %" PRId64, st, idx,
                          want);
    if (size <= 0)
        return mo_err_set(err, MO_EUPSTREAM, "%s: total_size %" PRId64 " is not positive", st,
                          size);
    if (total <= 0 || total > size)
        return mo_err_set(err, MO_EUPSTREAM, "%s: total_chunks %" PRId64 " out of range (size %" PRId64
                          ")", st, total, size);
    if (want > total)
        return mo_err_set(err, MO_EUPSTREAM, "%s: chunk %" PRId64 " past total_chunks %" PRId64, st,
                          want, total);
    if (complete != (want == total ? 1 : 0))
        return mo_err_set(err, MO_EUPSTREAM, "%s: is_complete %" PRId64 " for chunk %" PRId64
                          " of %" PRId64, st, complete, want, total);
    if (want == 0 && r->lens[0] != 0)
        return mo_err_set(err, MO_EUPSTREAM, "%s: chunk 0 carries %lu data bytes, want none", st,
                          r->lens[0]);
    if (want > 0 && (r->lens[0] == 0 || r->lens[0] > (uint64_t)size))
        return mo_err_set(err, MO_EUPSTREAM, "%s: chunk %" PRId64 " has %lu bytes (size %" PRId64
                          ")", st, want, r->lens[0], size);
    c->data = (const uint8_t *)r->vals[0];
    c->len = r->lens[0];
    c->total_size = (uint64_t)size;
    c->chunk_index = idx;
    c->total_chunks = total;
    c->is_complete = complete == 1;
    return MO_OK;
}

size_t mo_up_obj_dedup(mo_up_obj *o, size_t n)
{
    /* sort an index by object id, resolve duplicates, then compact keeping first positions */
    if (n < 2)
        return n;
    size_t *ix = mo_malloc(n * sizeof(*ix));
    bool *drop = mo_calloc(n, sizeof(*drop));
    if (!ix || !drop) {
        /* quadratic fallback without memory */
        mo_free(ix);
        mo_free(drop);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            size_t j = 0;
            for (; j < k; j++)
                if (!mo_obj_objectid_cmp(&o[j].stats.id, &o[i].stats.id))
                    break;
            if (j < k) {
                if (o[i].deleted && !o[j].deleted)
                    o[j] = o[i];
            } else {
                if (k != i)
                    o[k] = o[i];
                k++;
            }
        }
        return k;
    }
    for (size_t i = 0; i < n; i++)
        ix[i] = i;
    /* insertion-free: simple merge sort would do; n is moderate, use qsort with a context-free
     * comparator over a static pointer is not thread-safe, so do a shell sort */
    for (size_t gap = n / 2; gap > 0; gap /= 2)
        for (size_t i = gap; i < n; i++) {
            size_t t = ix[i], j = i;
            while (j >= gap) {
                int c = mo_obj_objectid_cmp(&o[ix[j - gap]].stats.id, &o[t].stats.id);
                if (c < 0 || (c == 0 && ix[j - gap] < t))
                    break;
                ix[j] = ix[j - gap];
                j -= gap;
            }
            ix[j] = t;
        }
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !mo_obj_objectid_cmp(&o[ix[i]].stats.id, &o[ix[j]].stats.id))
            j++;
        /* group [i, j): keep the first position; take the first deleted record's content */
        size_t keep = ix[i], src = keep;
        for (size_t k = i; k < j; k++)
            if (o[ix[k]].deleted) {
                src = ix[k];
                break;
            }
        if (src != keep)
            o[keep] = o[src];
        for (size_t k = i + 1; k < j; k++)
            drop[ix[k]] = true;
        i = j;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!drop[i]) {
            if (k != i)
                o[k] = o[i];
            k++;
        }
    mo_free(ix);
    mo_free(drop);
    return k;
}

/* ---------------- errors and retry ---------------- */

bool mo_up_retryable(unsigned code, const char *msg)
{
    static const unsigned codes[] = {
        1205, 1213, 2006, 2013, 2003, 1043, /* §5.9 */
        2002, 2055, /* connector: can't connect (socket), lost connection (extended) */
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (code == codes[i])
            return true;
    if (!msg)
        return false;
    static const char *const subs[] = {
        "connection reset", "connection timed out", "connection timeout", "connection refused",
        "dial tcp", "i/o timeout", "broken pipe", "tls handshake timeout",
        "use of closed network connection", "temporary failure", "service unavailable",
        "temporarily unavailable", "timeout", "network error", "rpc error", "backend error",
        "backend is not available", "backend unavailable", "invalid connection",
        "txn need retry in rc mode", "stale read", "gc is running", "sync protection ttl expired",
        "sync protection is soft deleted",
    };
    char low[512];
    size_t n = strlen(msg);
    if (n >= sizeof(low))
        n = sizeof(low) - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)msg[i]);
    low[n] = 0;
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (strstr(low, subs[i]))
            return true;
    /* a TLS session cut mid-reply (Connector/C: CR_SSL_CONNECTION_ERROR "TLS/SSL error:
     * unexpected eof while reading") is a lost connection; certificate errors stay fatal */
    return code == 2026 && strstr(low, "unexpected eof") != NULL;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint64_t mo_up_backoff_ms(unsigned attempt, unsigned base_ms, unsigned cap_ms, unsigned jitter_ms,
                          uint64_t *rng)
{
    uint64_t d = base_ms;
    for (unsigned i = 0; i < attempt && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    return d + (jitter_ms ? xorshift(rng) % ((uint64_t)jitter_ms + 1) : 0);
}

/* ---------------- the connection ---------------- */

struct mo_up {
    MYSQL *my;
    mo_up_uri uri;
    char *password;
    mo_up_opts o;
    char ssl_ca[1024];
    char ssl_mode[32];
    uint64_t rng;
    uint64_t statements, reconnects;
    bool connected_once;
    MYSQL_RES *held; /* mo_up_get_object_hold's reply, its row borrowed by the caller */
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;

static void lib_init(void)
{
    lib_rc = mysql_library_init(0, NULL, NULL);
}

int mo_up_global_init(mo_err *err)
{
    pthread_once(&lib_once, lib_init);
    if (lib_rc)
        return mo_err_set(err, MO_ERROR, "mysql_library_init failed");
    return MO_OK;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void up_close(mo_up *up)
{
    if (up->held) {
        mysql_free_result(up->held);
        up->held = NULL;
    }
    if (up->my) {
        mysql_close(up->my);
        up->my = NULL;
    }
}

/* classifies the handle's current error; client-side errors poison the connection */
static int up_fail(mo_up *up, const char *what, mo_err *err)
{
    unsigned code = up->my ? mysql_errno(up->my) : CR_SERVER_LOST;
    char msg[200];
    snprintf(msg, sizeof(msg), "%s", up->my ? mysql_error(up->my) : "connection lost");
    bool client_side = code >= 2000 && code < 3000;
    if (client_side)
        up_close(up);
    int rc = mo_up_retryable(code, msg) ? MO_EAGAIN : MO_EUPSTREAM;
    mo_err_set(err, rc, "%s: %s (MySQL %u)", what, msg, code);
    if (err)
        err->upstream_code = (int)code;
    return rc;
}

static bool tls_required(const char *mode)
{
    return !strcasecmp(mode, "required") || !strcasecmp(mode, "verify_ca") ||
           !strcasecmp(mode, "verify_identity");
}

/* Reads exactly @p n bytes (SO_RCVTIMEO bounds each wait). */
static bool probe_recv(int fd, uint8_t *p, size_t n)
{
    while (n) {
        const ssize_t k = recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* The server's greeting on a TCP connection of its own, closed at once: 1 when it offers TLS
 * (CLIENT_SSL), 0 when it does not, -1 when that cannot be told (no connection, no greeting,
 * an ERR packet, a malformed or pre-4.1 greeting). */
static int probe_offers_tls(const char *host, unsigned port, unsigned timeout_s)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char svc[8];
    snprintf(svc, sizeof(svc), "%u", port);
    if (getaddrinfo(host, svc, &hints, &ai) != 0)
        return -1;
    int fd = -1;
    const struct timeval tv = {(time_t)timeout_s, 0};
    for (const struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        if ((fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol)) < 0)
            continue;
        /* Linux bounds connect() by SO_SNDTIMEO */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return -1;
    /* HandshakeV10: version 10, server version NUL-terminated, connection id (4), scramble
     * part 1 (8), filler (1), capability flags low 16 bits: CLIENT_SSL is 0x0800 */
    uint8_t h[4], buf[512];
    int offers = -1;
    if (probe_recv(fd, h, 4) && h[3] == 0) {
        size_t len = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
        if (len > sizeof(buf))
            len = sizeof(buf);
        mo_cur cur;
        mo_cur_init(&cur, buf, len);
        uint8_t proto;
        const uint8_t *nul, *skip;
        uint16_t caps;
        if (probe_recv(fd, buf, len) && mo_cur_u8(&cur, &proto) && proto == 10 &&
            (nul = memchr(buf + 1, 0, len - 1)) != NULL &&
            mo_cur_take(&cur, (size_t)(nul - buf), &skip) && mo_cur_take(&cur, 13, &skip) &&
            mo_cur_le16(&cur, &caps))
            offers = (caps & CLIENT_SSL) != 0;
    }
    close(fd);
    return offers;
}

static int tls_missing(const mo_up *up, const char *mode, const char *how, mo_err *err)
{
    return mo_err_set(err, MO_EUPSTREAM,
                      "connect: TLS is required (ssl mode %s) but the connection to %s:%u is not "
                      "encrypted (the upstream does not offer TLS)%s",
                      mode, up->uri.host, (unsigned)up->uri.port, how);
}

static int up_open(mo_up *up, mo_err *err)
{
    up_close(up);
    unsigned ct = up->o.connect_timeout ? up->o.connect_timeout : 10;
    const char *mode = up->ssl_mode;
    /* Connector/C 3.3 refuses a server without TLS before the login only when it checks the
     * host name (verify_identity); for required and verify_ca it goes on in plain text and
     * sends the user name and the scrambled password before the cipher check below can close
     * the session. So the required modes read the greeting first, on a connection of their
     * own, and refuse before any credential leaves. When the probe cannot tell (no connection,
     * no greeting), the connector runs and reports the failure in its own terms; a server
     * that offers TLS to the probe and not to the next connection is still closed by the
     * cipher check, after the login. */
    if (tls_required(mode) && probe_offers_tls(up->uri.host, up->uri.port, ct) == 0)
        return tls_missing(up, mode, "; no credentials were sent", err);
    MYSQL *my = mysql_init(NULL);
    if (!my)
        return mo_err_set(err, MO_ENOMEM, "mysql_init");
    unsigned rt = up->o.read_timeout ? up->o.read_timeout : 10;
    unsigned wt = up->o.write_timeout ? up->o.write_timeout : 10;
    unsigned proto = MYSQL_PROTOCOL_TCP; /* "localhost" would otherwise mean the unix socket */
    unsigned long maxpkt = 1ul << 30;     /* 100 MiB chunk rows span many 16 MiB packets */
    my_bool no = 0, yes = 1;
    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &wt);
    mysql_options(my, MYSQL_OPT_PROTOCOL, &proto);
    mysql_options(my, MYSQL_OPT_MAX_ALLOWED_PACKET, &maxpkt);
    mysql_options(my, MYSQL_OPT_RECONNECT, &no);
    mysql_options(my, MYSQL_OPT_LOCAL_INFILE, &no);
    /* Connector/C 3.3 asks for TLS only when some TLS option is set (and then falls back to
     * plain text silently, even with SSL_ENFORCE): every mode but disabled turns it on, and
     * the required ones are checked below */
    if (strcasecmp(mode, "disabled"))
        mysql_ssl_set(my, NULL, NULL, NULL, NULL, NULL);
    if (up->ssl_ca[0])
        mysql_options(my, MYSQL_OPT_SSL_CA, up->ssl_ca);
    if (tls_required(mode))
        mysql_options(my, MYSQL_OPT_SSL_ENFORCE, &yes);
    /* Connector/C verifies the chain whenever it has a CA; the server-cert option adds the
     * host name check (verify_identity) */
    if (!strcasecmp(mode, "verify_identity"))
        mysql_options(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
    char user[2 * MO_UP_IDENT_MAX + 2];
    if (up->uri.account[0])
        snprintf(user, sizeof(user), "%s#%s", up->uri.account, up->uri.user);
    else
        snprintf(user, sizeof(user), "%s", up->uri.user);
    up->my = my;
    if (!mysql_real_connect(my, up->uri.host, user, up->password ? up->password : "", NULL,
                            up->uri.port, NULL, 0))
        return up_fail(up, "connect", err);
    if (mysql_ping(my))
        return up_fail(up, "ping", err);
    /* do not trust the connector's enforcement alone: a required TLS that did not happen
     * (a server without TLS) is a fatal error, never a silent plain-text session */
    if (tls_required(mode) && !mysql_get_ssl_cipher(my)) {
        up_close(up);
        return tls_missing(up, mode, "", err);
    }
    if (up->connected_once)
        up->reconnects++;
    up->connected_once = true;
    return MO_OK;
}

void mo_up_free(mo_up *up)
{
    if (!up)
        return;
    up_close(up);
    if (up->password) {
        memset(up->password, 0, strlen(up->password));
        mo_free(up->password);
    }
    memset(up->uri.password, 0, sizeof(up->uri.password));
    mo_free(up);
}

/* one row callback per attempt; row == NULL starts an attempt (reset partial results) */
typedef int (*row_fn)(void *ctx, const mo_up_row *row, mo_err *err);

static int attempts_max(const mo_up *up)
{
    return (int)(up->o.max_attempts ? up->o.max_attempts : 8);
}

static void backoff(mo_up *up, unsigned attempt)
{
    sleep_ms(mo_up_backoff_ms(attempt, up->o.backoff_base_ms ? up->o.backoff_base_ms : 200,
                              up->o.backoff_cap_ms ? up->o.backoff_cap_ms : 30000,
                              up->o.jitter_ms ? up->o.jitter_ms : 200, &up->rng));
}

/* The reply's column count (1..64) with their wire types in types[]; 0 after an error (the
 * result freed, the connection closed, detail in @p err). */
static unsigned res_types(mo_up *up, MYSQL_RES *res, unsigned types[64], const char *label,
                          mo_err *err)
{
    const unsigned nf = mysql_num_fields(res);
    const MYSQL_FIELD *f = mysql_fetch_fields(res);
    if (nf == 0 || nf > 64) {
        mysql_free_result(res);
        up_close(up);
        mo_err_set(err, MO_EUPSTREAM, "%s: reply has %u columns", label, nf);
        return 0;
    }
    for (unsigned i = 0; i < nf; i++)
        types[i] = (unsigned)f[i].type;
    return nf;
}

static int query_once(mo_up *up, const char *label, const char *sql, row_fn fn, void *ctx,
                      unsigned *nrows, mo_err *err)
{
    int rc;
    if (!up->my && (rc = up_open(up, err)) < 0)
        return rc;
    up->statements++;
    if (mysql_real_query(up->my, sql, (unsigned long)strlen(sql)))
        return up_fail(up, label, err);
    MYSQL_RES *res = mysql_use_result(up->my);
    if (!res) {
        if (mysql_errno(up->my))
            return up_fail(up, label, err);
        return MO_OK; /* OK packet, no result set */
    }
    unsigned types[64];
    const unsigned nf = res_types(up, res, types, label, err);
    if (!nf)
        return MO_EUPSTREAM;
    MYSQL_ROW row;
    rc = MO_OK;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *lens = mysql_fetch_lengths(res);
        mo_up_row r = {nf, types, row, lens};
        (*nrows)++;
        if ((rc = fn(ctx, &r, err)) < 0)
            break;
    }
    if (rc < 0) {
        /* a reply we refuse: do not drain what may be a hostile stream */
        mysql_free_result(res);
        up_close(up);
        return rc;
    }
    if (mysql_errno(up->my)) {
        rc = up_fail(up, label, err);
        mysql_free_result(res);
        return rc;
    }
    mysql_free_result(res);
    return MO_OK;
}

static int run_stmt(mo_up *up, const char *label, const char *sql, row_fn fn, void *ctx,
                    unsigned *nrows, mo_err *err)
{
    int max = attempts_max(up);
    for (int a = 0;; a++) {
        *nrows = 0;
        if (fn && (fn(ctx, NULL, err)) < 0)
            return MO_ENOMEM;
        int rc = query_once(up, label, sql, fn, ctx, nrows, err);
        if (rc != MO_EAGAIN || a + 1 >= max)
            return rc;
        backoff(up, (unsigned)a);
    }
}

int mo_up_connect(mo_up **out, const char *uri, const char *password, const mo_up_opts *opts,
                  mo_err *err)
{
    *out = NULL;
    int rc;
    if ((rc = mo_up_global_init(err)) < 0)
        return rc;
    mo_up *up = mo_calloc(1, sizeof(*up));
    if (!up)
        return mo_err_set(err, MO_ENOMEM, "upstream handle");
    if ((rc = mo_up_uri_parse(&up->uri, uri, err)) < 0)
        goto fail;
    if (opts)
        up->o = *opts;
    const char *mode = up->o.ssl_mode     ? up->o.ssl_mode
                       : up->uri.ssl_mode[0] ? up->uri.ssl_mode
                                             : "preferred";
    if (!up->o.ssl_ca && up->uri.ssl_ca[0])
        up->o.ssl_ca = up->uri.ssl_ca;
    if (!ssl_mode_ok(mode)) {
        rc = mo_err_set(err, MO_EINVAL, "ssl mode '%.30s': want disabled, preferred, required, "
                        "verify_ca or verify_identity", mode);
        goto fail;
    }
    snprintf(up->ssl_mode, sizeof(up->ssl_mode), "%s", mode);
    if ((!strcasecmp(mode, "verify_ca") || !strcasecmp(mode, "verify_identity")) &&
        (!up->o.ssl_ca || !up->o.ssl_ca[0])) {
        rc = mo_err_set(err, MO_EINVAL, "ssl mode %s needs a CA certificate (ssl-ca)", mode);
        goto fail;
    }
    if (up->o.ssl_ca && strcasecmp(mode, "disabled")) {
        if (strlen(up->o.ssl_ca) >= sizeof(up->ssl_ca)) {
            rc = mo_err_set(err, MO_EINVAL, "ssl ca path too long");
            goto fail;
        }
        snprintf(up->ssl_ca, sizeof(up->ssl_ca), "%s", up->o.ssl_ca);
    }
    up->o.ssl_ca = NULL;
    up->o.ssl_mode = NULL;
    const char *pw = password ? password : up->uri.has_password ? up->uri.password : "";
    if (!(up->password = mo_strdup(pw))) {
        rc = mo_err_set(err, MO_ENOMEM, "upstream handle");
        goto fail;
    }
    up->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)up;
    for (int a = 0;; a++) {
        rc = up_open(up, err);
        if (rc != MO_EAGAIN || a + 1 >= attempts_max(up))
            break;
        backoff(up, (unsigned)a);
    }
    if (rc < 0)
        goto fail;
    *out = up;
    return MO_OK;
fail:
    mo_up_free(up);
    return rc;
}

uint64_t mo_up_statements(const mo_up *up)
{
    return up->statements;
}

uint64_t mo_up_reconnects(const mo_up *up)
{
    return up->reconnects;
}

#define STMT_CAP 2048

int mo_up_create_snapshot(mo_up *up, const char *snap, mo_up_level level, const char *db,
                          const char *tbl, const char *pubacct, const char *pubname, mo_err *err)
{
    char sql[STMT_CAP];
    unsigned n;
    int rc = mo_up_stmt_create_snapshot(sql, sizeof(sql), snap, level, db, tbl, pubacct, pubname,
                                        err);
    if (rc < 0)
        return rc;
    rc = run_stmt(up, "CREATE SNAPSHOT", sql, NULL, NULL, &n, err);
    /* §3.1: a duplicate-key race on the snapshot name means it exists: success */
    if (rc == MO_EUPSTREAM && err && strstr(err->msg, "Duplicate entry") &&
        strstr(err->msg, "for key 'sname'"))
        rc = MO_OK;
    return rc;
}

int mo_up_drop_snapshot(mo_up *up, const char *snap, const char *pubacct, const char *pubname,
                        mo_err *err)
{
    char sql[STMT_CAP];
    unsigned n;
    int rc = mo_up_stmt_drop_snapshot(sql, sizeof(sql), snap, pubacct, pubname, err);
    return rc < 0 ? rc : run_stmt(up, "DROP SNAPSHOT", sql, NULL, NULL, &n, err);
}

typedef struct one_int {
    const char *stmt, *field;
    int64_t v;
} one_int;

static int one_int_row(void *ctx, const mo_up_row *r, mo_err *err)
{
    one_int *c = ctx;
    if (!r)
        return MO_OK;
    int rc = want_cols(r, 1, c->stmt, err);
    return rc < 0 ? rc : mo_up_parse_int_cell(&c->v, r, 0, c->stmt, c->field, err);
}

static int want_one_row(unsigned n, const char *stmt, mo_err *err)
{
    if (n != 1)
        return mo_err_set(err, MO_EUPSTREAM, "%s: reply has %u rows, want 1", stmt, n);
    return MO_OK;
}

int mo_up_get_snapshot_ts(mo_up *up, int64_t *ts, const char *snap, const char *pubacct,
                          const char *pubname, mo_err *err)
{
    char sql[STMT_CAP];
    unsigned n;
    one_int c = {"get_snapshot_ts", "snapshotts", 0};
    int rc = mo_up_stmt_get_snapshot_ts(sql, sizeof(sql), snap, pubacct, pubname, err);
    if (rc < 0 || (rc = run_stmt(up, c.stmt, sql, one_int_row, &c, &n, err)) < 0 ||
        (rc = want_one_row(n, c.stmt, err)) < 0)
        return rc;
    if (c.v < 0)
        return mo_err_set(err, MO_EUPSTREAM, "get_snapshot_ts: negative snapshotts");
    *ts = c.v;
    return MO_OK;
}

int mo_up_check_snapshot_flushed(mo_up *up, bool *flushed, const char *snap, const char *pubacct,
                                 const char *pubname, mo_err *err)
{
    char sql[STMT_CAP];
    unsigned n;
    one_int c = {"check_snapshot_flushed", "result", 0};
    int rc = mo_up_stmt_check_snapshot_flushed(sql, sizeof(sql), snap, pubacct, pubname, err);
    if (rc < 0 || (rc = run_stmt(up, c.stmt, sql, one_int_row, &c, &n, err)) < 0 ||
        (rc = want_one_row(n, c.stmt, err)) < 0)
        return rc;
    if (c.v != 0 && c.v != 1)
        return mo_err_set(err, MO_EUPSTREAM, "check_snapshot_flushed: result %" PRId64 ", want 0/1",
                          c.v);
    *flushed = c.v == 1;
    return MO_OK;
}

void mo_up_strs_dispose(mo_up_strs *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        mo_free(s->v[i]);
    mo_free(s->v);
    s->v = NULL;
    s->n = 0;
}

typedef struct strs_ctx {
    const char *stmt;
    unsigned cols;
    const char *names[2];
    mo_up_strs *out;
} strs_ctx;

static int strs_row(void *ctx, const mo_up_row *r, mo_err *err)
{
    strs_ctx *c = ctx;
    if (!r) {
        mo_up_strs_dispose(c->out);
        return MO_OK;
    }
    int rc = want_cols(r, c->cols, c->stmt, err);
    if (rc < 0)
        return rc;
    char **nv = mo_realloc(c->out->v, (c->out->n + c->cols) * sizeof(*nv));
    if (!nv)
        return mo_err_set(err, MO_ENOMEM, "%s", c->stmt);
    c->out->v = nv;
    for (unsigned i = 0; i < c->cols; i++) {
        if ((rc = str_dup_cell(&nv[c->out->n], r, i, c->stmt, c->names[i], err)) < 0)
            return rc;
        c->out->n++;
    }
    return MO_OK;
}

int mo_up_get_databases(mo_up *up, mo_up_strs *out, const char *snap, const char *pubacct,
                        const char *pubname, mo_up_level level, const char *db, const char *tbl,
                        mo_err *err)
{
    char sql[STMT_CAP];
    unsigned n;
    memset(out, 0, sizeof(*out));
    strs_ctx c = {"get_databases", 1, {"datname", NULL}, out};
    int rc = mo_up_stmt_get_databases(sql, sizeof(sql), snap, pubacct, pubname, level, db, tbl,
                                      err);
    if (rc == MO_OK && (rc = run_stmt(up, c.stmt, sql, strs_row, &c, &n, err)) < 0)
        mo_up_strs_dispose(out);
    return rc;
}

int mo_up_pub_coverage(mo_up *up, mo_up_strs *out, const char *pubname, mo_err *err)
{
    char sql[STMT_CAP];
    unsigned n;
    memset(out, 0, sizeof(*out));
    strs_ctx c = {"SHOW PUBLICATION COVERAGE", 2, {"Database", "Table"}, out};
    int rc = mo_up_stmt_pub_coverage(sql, sizeof(sql), pubname, err);
    if (rc == MO_OK && (rc = run_stmt(up, c.stmt, sql, strs_row, &c, &n, err)) < 0)
        mo_up_strs_dispose(out);
    return rc;
}

void mo_up_ddl_free(mo_up_ddl *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        mo_free(rows[i].db);
        mo_free(rows[i].table);
        mo_free(rows[i].sql);
    }
    mo_free(rows);
}

typedef struct ddl_ctx {
    mo_up_ddl *v;
    size_t n;
} ddl_ctx;

static int ddl_row(void *ctx, const mo_up_row *r, mo_err *err)
{
    ddl_ctx *c = ctx;
    const char *st = "get_ddl";
    if (!r) {
        mo_up_ddl_free(c->v, c->n);
        c->v = NULL;
        c->n = 0;
        return MO_OK;
    }
    int rc = want_cols(r, 4, st, err);
    if (rc < 0)
        return rc;
    mo_up_ddl *nv = mo_realloc(c->v, (c->n + 1) * sizeof(*nv));
    if (!nv)
        return mo_err_set(err, MO_ENOMEM, "%s", st);
    c->v = nv;
    mo_up_ddl *d = &nv[c->n++];
    memset(d, 0, sizeof(*d));
    if ((rc = str_dup_cell(&d->db, r, 0, st, "dbname", err)) < 0 ||
        (rc = str_dup_cell(&d->table, r, 1, st, "tablename", err)) < 0 ||
        (rc = mo_up_parse_int_cell(&d->table_id, r, 2, st, "tableid", err)) < 0 ||
        (rc = str_dup_cell(&d->sql, r, 3, st, "tablesql", err)) < 0)
        return rc;
    return MO_OK;
}

int mo_up_get_ddl(mo_up *up, mo_up_ddl **rows, size_t *n, const char *snap, const char *pubacct,
                  const char *pubname, mo_up_level level, const char *db, const char *tbl,
                  mo_err *err)
{
    char sql[STMT_CAP];
    unsigned nr;
    ddl_ctx c = {NULL, 0};
    *rows = NULL;
    *n = 0;
    int rc = mo_up_stmt_get_ddl(sql, sizeof(sql), snap, pubacct, pubname, level, db, tbl, err);
    if (rc == MO_OK)
        rc = run_stmt(up, "get_ddl", sql, ddl_row, &c, &nr, err);
    if (rc < 0) {
        mo_up_ddl_free(c.v, c.n);
        return rc;
    }
    *rows = c.v;
    *n = c.n;
    return MO_OK;
}

void mo_up_index_free(mo_up_index *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        mo_free(rows[i].name);
        mo_free(rows[i].algo_table_type);
        mo_free(rows[i].index_table_name);
    }
    mo_free(rows);
}

typedef struct idx_ctx {
    mo_up_index *v;
    size_t n;
} idx_ctx;

static int idx_row(void *ctx, const mo_up_row *r, mo_err *err)
{
    idx_ctx *c = ctx;
    const char *st = "get_mo_indexes";
    if (!r) {
        mo_up_index_free(c->v, c->n);
        c->v = NULL;
        c->n = 0;
        return MO_OK;
    }
    int rc = want_cols(r, 4, st, err);
    if (rc < 0)
        return rc;
    mo_up_index *nv = mo_realloc(c->v, (c->n + 1) * sizeof(*nv));
    if (!nv)
        return mo_err_set(err, MO_ENOMEM, "%s", st);
    c->v = nv;
    mo_up_index *d = &nv[c->n++];
    memset(d, 0, sizeof(*d));
    if ((rc = mo_up_parse_int_cell(&d->table_id, r, 0, st, "table_id", err)) < 0 ||
        (rc = str_dup_cell(&d->name, r, 1, st, "name", err)) < 0 ||
        (rc = str_dup_cell(&d->algo_table_type, r, 2, st, "algo_table_type", err)) < 0 ||
        (rc = str_dup_cell(&d->index_table_name, r, 3, st, "index_table_name", err)) < 0)
        return rc;
    return MO_OK;
}

int mo_up_get_mo_indexes(mo_up *up, mo_up_index **rows, size_t *n, uint64_t table_id,
                         const char *pubacct, const char *pubname, const char *snap, mo_err *err)
{
    char sql[STMT_CAP];
    unsigned nr;
    idx_ctx c = {NULL, 0};
    *rows = NULL;
    *n = 0;
    int rc = mo_up_stmt_get_mo_indexes(sql, sizeof(sql), table_id, pubacct, pubname, snap, err);
    if (rc == MO_OK)
        rc = run_stmt(up, "get_mo_indexes", sql, idx_row, &c, &nr, err);
    if (rc < 0) {
        mo_up_index_free(c.v, c.n);
        return rc;
    }
    *rows = c.v;
    *n = c.n;
    return MO_OK;
}

typedef struct obj_ctx {
    mo_up_obj *v;
    size_t n, cap;
} obj_ctx;

static int obj_row(void *ctx, const mo_up_row *r, mo_err *err)
{
    obj_ctx *c = ctx;
    if (!r) {
        c->n = 0;
        return MO_OK;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        mo_up_obj *nv = mo_realloc(c->v, nc * sizeof(*nv));
        if (!nv)
            return mo_err_set(err, MO_ENOMEM, "object_list: %zu rows", c->n);
        c->v = nv;
        c->cap = nc;
    }
    int rc = mo_up_parse_objlist_row(&c->v[c->n], r, err);
    if (rc < 0)
        return rc;
    c->n++;
    return MO_OK;
}

int mo_up_object_list(mo_up *up, mo_up_obj **objs, size_t *n, const char *snap,
                      const char *against, const char *pubacct, const char *pubname, mo_err *err)
{
    char sql[STMT_CAP];
    unsigned nr;
    obj_ctx c = {NULL, 0, 0};
    *objs = NULL;
    *n = 0;
    int rc = mo_up_stmt_object_list(sql, sizeof(sql), snap, against, pubacct, pubname, err);
    if (rc == MO_OK)
        rc = run_stmt(up, "object_list", sql, obj_row, &c, &nr, err);
    if (rc < 0) {
        mo_free(c.v);
        return rc;
    }
    *objs = c.v;
    *n = mo_up_obj_dedup(c.v, c.n);
    return MO_OK;
}

typedef struct chunk_ctx {
    mo_up_chunk *meta;
    void *buf;
    size_t cap;
    int64_t index;
    const char *object;
} chunk_ctx;

static int chunk_row(void *ctx, const mo_up_row *r, mo_err *err)
{
    chunk_ctx *c = ctx;
    if (!r) {
        memset(c->meta, 0, sizeof(*c->meta));
        return MO_OK;
    }
    if (c->meta->total_chunks)
        return mo_err_set(err, MO_EUPSTREAM, "get_object %s chunk %" PRId64 ": more than one row",
                          c->object, c->index);
    int rc = mo_up_parse_object_row(c->meta, r, c->index, err);
    if (rc < 0) {
        mo_err_prefix(err, "object %s: ", c->object);
        return rc;
    }
    if (c->meta->len > c->cap)
        return mo_err_set(err, MO_EUPSTREAM,
                          "get_object %s chunk %" PRId64 ": %zu bytes, more than the %zu expected",
                          c->object, c->index, c->meta->len, c->cap);
    if (c->meta->len)
        memcpy(c->buf, c->meta->data, c->meta->len);
    c->meta->data = NULL;
    return MO_OK;
}

/* One attempt of mo_up_get_object_hold: the statement, then its first row only. */
static int hold_once(mo_up *up, const char *sql, chunk_ctx *c, mo_err *err)
{
    int rc;
    if (!up->my && (rc = up_open(up, err)) < 0)
        return rc;
    up->statements++;
    if (mysql_real_query(up->my, sql, (unsigned long)strlen(sql)))
        return up_fail(up, "get_object", err);
    MYSQL_RES *res = mysql_use_result(up->my);
    if (!res) {
        if (mysql_errno(up->my))
            return up_fail(up, "get_object", err);
        return mo_err_set(err, MO_EUPSTREAM, "get_object %s chunk %" PRId64 ": no result set",
                          c->object, c->index);
    }
    unsigned types[64];
    const unsigned nf = res_types(up, res, types, "get_object", err);
    if (!nf)
        return MO_EUPSTREAM;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row) {
        rc = mysql_errno(up->my)
                 ? up_fail(up, "get_object", err)
                 : mo_err_set(err, MO_EUPSTREAM, "get_object %s chunk %" PRId64 ": 0 rows, want 1",
                              c->object, c->index);
        mysql_free_result(res);
        return rc;
    }
    mo_up_row r = {nf, types, row, mysql_fetch_lengths(res)};
    if ((rc = mo_up_parse_object_row(c->meta, &r, c->index, err)) < 0)
        mo_err_prefix(err, "object %s: ", c->object);
    else if (c->meta->len > c->cap)
        rc = mo_err_set(err, MO_EUPSTREAM,
                        "get_object %s chunk %" PRId64 ": %zu bytes, more than the %zu expected",
                        c->object, c->index, c->meta->len, c->cap);
    if (rc < 0) {
        /* a reply we refuse: do not drain what may be a hostile stream */
        mysql_free_result(res);
        up_close(up);
        return rc;
    }
    up->held = res;
    return MO_OK;
}

int mo_up_get_object_hold(mo_up *up, mo_up_chunk *meta, size_t cap, const char *pubacct,
                          const char *pubname, const char *object, int64_t index, mo_err *err)
{
    assert(!up->held && index >= 1);
    char sql[STMT_CAP];
    chunk_ctx c = {meta, NULL, cap, index, object};
    memset(meta, 0, sizeof(*meta));
    int rc = mo_up_stmt_get_object(sql, sizeof(sql), pubacct, pubname, object, index, err);
    if (rc < 0)
        return rc;
    const int max = attempts_max(up);
    for (int a = 0;; a++) {
        rc = hold_once(up, sql, &c, err);
        if (rc != MO_EAGAIN || a + 1 >= max)
            return rc;
        backoff(up, (unsigned)a);
    }
}

int mo_up_get_object_done(mo_up *up, mo_err *err)
{
    MYSQL_RES *res = up->held;
    if (!res)
        return MO_OK;
    up->held = NULL;
    int rc = MO_OK;
    if (mysql_fetch_row(res)) {
        rc = mo_err_set(err, MO_EUPSTREAM, "get_object: more than one row");
        mysql_free_result(res);
        up_close(up);
        return rc;
    }
    if (mysql_errno(up->my))
        rc = up_fail(up, "get_object", err);
    mysql_free_result(res);
    return rc;
}

int mo_up_get_object(mo_up *up, mo_up_chunk *meta, void *buf, size_t cap, const char *pubacct,
                     const char *pubname, const char *object, int64_t index, mo_err *err)
{
    char sql[STMT_CAP];
    unsigned nr;
    chunk_ctx c = {meta, buf, buf ? cap : 0, index, object};
    int rc = mo_up_stmt_get_object(sql, sizeof(sql), pubacct, pubname, object, index, err);
    if (rc < 0 || (rc = run_stmt(up, "get_object", sql, chunk_row, &c, &nr, err)) < 0)
        return rc;
    if (nr != 1)
        return mo_err_set(err, MO_EUPSTREAM, "get_object %s chunk %" PRId64 ": %u rows, want 1",
                          object, index, nr);
    return MO_OK;
}
