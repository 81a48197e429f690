/*
 * The subscription SQL surface: CREATE / DROP / PAUSE / RESUME SUBSCRIPTION, SHOW
 * SUBSCRIPTIONS and SHOW SUBSCRIPTION TASKS (issue "SQL surface"; MO's semantics from
 * ccpr-protocol.md §1.2: soft DROP, RESUME clears task errors and marks iterations complete).
 * Invariants:
 *  - a statement is parsed and validated completely, against the committed state, before
 *    mo_cat_begin; an error leaves the catalog and the secrets file as they were;
 *  - the password goes to the secrets file only: the stored upstream_conn has none, results
 *    mask it as ***, and no error message quotes a string literal (it may be the URI).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mo/cat.h"

/* ---------------- lexer ---------------- */

enum { SK_END, SK_WORD, SK_IDENT, SK_STR, SK_NUM, SK_PUNCT };

typedef struct stok {
    int kind;
    size_t off, len; /* raw text; IDENT and STR without their quotes */
} stok;

typedef struct slex {
    const char *s;
    stok t[48];
    size_t n, i;
} slex;

static bool word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static int lex_stmt(slex *L, const char *s, mo_err *err)
{
    memset(L, 0, sizeof(*L));
    L->s = s;
    size_t i = 0;
    for (;;) {
        while (s[i] && (isspace((unsigned char)s[i]) || (s[i] == '-' && s[i + 1] == '-'))) {
            if (s[i] == '-')
                while (s[i] && s[i] != '\n')
                    i++;
            else
                i++;
        }
        if (L->n == sizeof(L->t) / sizeof(L->t[0]) - 1)
            return mo_err_set(err, MO_EINVAL, "syntax error at position %zu: statement too long",
                              i + 1);
        stok *t = &L->t[L->n];
        unsigned char c = (unsigned char)s[i];
        if (!c) {
            *t = (stok){SK_END, i, 0};
            L->n++;
            return MO_OK;
        }
        if (c == '\'' || c == '`') {
            size_t st = i++;
            for (;;) {
                if (!s[i])
                    return mo_err_set(err, MO_EINVAL,
                                      "syntax error at position %zu: unterminated %s", st + 1,
                                      c == '`' ? "`identifier`" : "quoted string");
                if (s[i] == (char)c && s[i + 1] == (char)c) {
                    i += 2;
                    continue;
                }
                if (s[i] == (char)c)
                    break;
                i++;
            }
            *t = (stok){c == '`' ? SK_IDENT : SK_STR, st + 1, i - st - 1};
            i++;
        } else if (c == '"') {
            return mo_err_set(err, MO_EINVAL,
                              "syntax error at position %zu: double-quoted text is not "
                              "supported; quote strings with ' and names with `",
                              i + 1);
        } else if (isdigit(c)) {
            size_t st = i;
            while (word_char((unsigned char)s[i]) || s[i] == '.')
                i++;
            *t = (stok){SK_NUM, st, i - st};
        } else if (word_char(c)) {
            size_t st = i;
            while (word_char((unsigned char)s[i]))
                i++;
            *t = (stok){SK_WORD, st, i - st};
        } else if (c == '=' || c == ';' || c == ',' || c == '.' || c == '(' || c == ')' ||
                   c == '-' || c == '+' || c == '*' || c == ':' || c == '/' || c == '@' ||
                   c == '#') {
            *t = (stok){SK_PUNCT, i, 1};
            i++;
        } else {
            return mo_err_set(err, MO_EINVAL,
                              "syntax error at position %zu: unexpected character '%c'", i + 1,
                              isprint(c) ? c : '?');
        }
        L->n++;
    }
}

static const stok *cur(const slex *L)
{
    return &L->t[L->i < L->n ? L->i : L->n - 1];
}

static bool tok_is(const slex *L, const stok *t, const char *kw)
{
    return t->kind == SK_WORD && strlen(kw) == t->len && !strncasecmp(L->s + t->off, kw, t->len);
}

static bool accept(slex *L, const char *kw)
{
    if (!tok_is(L, cur(L), kw))
        return false;
    L->i++;
    return true;
}

static bool accept_p(slex *L, char c)
{
    const stok *t = cur(L);
    if (t->kind != SK_PUNCT || L->s[t->off] != c)
        return false;
    L->i++;
    return true;
}

/* How a token is named in an error: never the contents of a string literal. */
static void tok_show(char *out, size_t cap, const slex *L, const stok *t)
{
    switch (t->kind) {
    case SK_END:
        snprintf(out, cap, "end of statement");
        break;
    case SK_STR:
        snprintf(out, cap, "a quoted string");
        break;
    default: {
        size_t n = t->len > 40 ? 40 : t->len;
        char buf[48];
        for (size_t k = 0; k < n; k++) {
            unsigned char ch = (unsigned char)L->s[t->off + k];
            buf[k] = isprint(ch) || ch >= 0x80 ? (char)ch : '?';
        }
        buf[n] = 0;
        snprintf(out, cap, t->kind == SK_IDENT ? "`%s`%s" : "'%s'%s", buf,
                 t->len > 40 ? "..." : "");
    }
    }
}

static int syntax(const slex *L, mo_err *err, const char *expected)
{
    const stok *t = cur(L);
    char shown[64];
    tok_show(shown, sizeof(shown), L, t);
    return mo_err_set(err, MO_EINVAL, "syntax error at position %zu: unexpected %s (expected %s)",
                      t->off + 1, shown, expected);
}

static int expect(slex *L, const char *kw, mo_err *err)
{
    if (accept(L, kw))
        return MO_OK;
    char up[32];
    size_t n = 0;
    for (; kw[n] && n < sizeof(up) - 1; n++)
        up[n] = (char)toupper((unsigned char)kw[n]);
    up[n] = 0;
    return syntax(L, err, up);
}

/* a quoted string, '' -> ' */
static int take_str(slex *L, char *out, size_t cap, const char *what, mo_err *err)
{
    const stok *t = cur(L);
    if (t->kind != SK_STR)
        return syntax(L, err, what);
    size_t n = 0;
    for (size_t k = 0; k < t->len; k++) {
        char ch = L->s[t->off + k];
        if (ch == '\'')
            k++;
        if (n + 1 >= cap)
            return mo_err_set(err, MO_EINVAL, "%s at position %zu is longer than %zu bytes", what,
                              t->off + 1, cap - 1);
        out[n++] = ch;
    }
    out[n] = 0;
    L->i++;
    return MO_OK;
}

/* strict UTF-8 (no overlongs, surrogates or values above U+10FFFF) */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (!len || i + len > n)
            return false;
        uint32_t v = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            v = (v << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/*
 * A name, bare or backticked, checked against what MO's internal commands can carry
 * (ccpr-protocol.md §7 item 2: whitespace-separated tokens, '-' meaning "none").
 */
static int take_name(slex *L, char out[MO_CAT_NAME_MAX], const char *what, bool no_dot, mo_err *err)
{
    const stok *t = cur(L);
    if (t->kind != SK_WORD && t->kind != SK_IDENT && t->kind != SK_NUM)
        return syntax(L, err, what);
    size_t n = 0;
    for (size_t k = 0; k < t->len; k++) {
        char ch = L->s[t->off + k];
        if (t->kind == SK_IDENT && ch == '`')
            k++;
        if (n + 1 >= MO_CAT_NAME_MAX)
            return mo_err_set(err, MO_EINVAL, "%s at position %zu is longer than %d bytes", what,
                              t->off + 1, MO_CAT_NAME_MAX - 1);
        out[n++] = ch;
    }
    out[n] = 0;
    const char *why = NULL;
    if (n == 0)
        why = "is empty";
    else if (!strcmp(out, "-"))
        why = "is '-', which MO's internal commands read as \"none\"";
    for (size_t k = 0; k < n && !why; k++) {
        unsigned char ch = (unsigned char)out[k];
        if (ch == '\'' || ch == '"' || ch == '`')
            why = "contains a quote";
        else if (ch == '\\')
            why = "contains a backslash";
        else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f')
            why = "contains whitespace";
        else if (ch < 0x20 || ch == 0x7f)
            why = "contains a control character";
        else if (ch == '.' && no_dot)
            why = "contains '.', which MO's \"db.table\" keys cannot carry";
    }
    if (!why && !utf8_valid((const unsigned char *)out, n))
        why = "is not valid UTF-8";
    if (why) {
        char shown[64];
        tok_show(shown, sizeof(shown), L, t);
        return mo_err_set(err, MO_EINVAL,
                          "%s %s at position %zu %s; MO's internal commands cannot carry quotes, "
                          "whitespace or backslashes in names",
                          what, shown, t->off + 1, why);
    }
    L->i++;
    return MO_OK;
}

/* ---------------- statements ---------------- */

enum { ST_CREATE, ST_DROP, ST_PAUSE, ST_RESUME, ST_SHOW_SUBS, ST_SHOW_TASKS };

typedef struct stmt {
    int kind;
    char name[MO_CAT_NAME_MAX];
    bool have_name, if_exists;
    char level[16];
    char db[MO_CAT_NAME_MAX], table[MO_CAT_NAME_MAX];
    mo_cat_uri uri;
    char pub_account[MO_CAT_NAME_MAX], pub_name[MO_CAT_NAME_MAX];
    uint32_t interval;
} stmt;

static bool is_clause_kw(const slex *L, const stok *t)
{
    return tok_is(L, t, "publication") || tok_is(L, t, "sync") || tok_is(L, t, "sync_interval");
}

static int parse_interval(slex *L, stmt *st, mo_err *err)
{
    accept_p(L, '=');
    const stok *t = cur(L);
    bool ok = t->kind == SK_NUM;
    uint64_t v = 0;
    for (size_t k = 0; ok && k < t->len; k++) {
        char ch = L->s[t->off + k];
        if (ch < '0' || ch > '9' || v > UINT32_MAX)
            ok = false;
        else
            v = v * 10 + (uint64_t)(ch - '0');
    }
    if (!ok || v == 0 || v > UINT32_MAX) {
        char shown[64];
        tok_show(shown, sizeof(shown), L, t);
        return mo_err_set(err, MO_EINVAL,
                          "sync interval at position %zu must be a positive integer number of "
                          "seconds (1..%u), not %s",
                          t->off + 1, (unsigned)UINT32_MAX, shown);
    }
    st->interval = (uint32_t)v;
    L->i++;
    return MO_OK;
}

static int parse_create(slex *L, stmt *st, mo_err *err)
{
    int rc;
    if ((rc = expect(L, "subscription", err)) < 0 ||
        (rc = take_name(L, st->name, "subscription name", false, err)) < 0)
        return rc;
    if (accept(L, "account")) {
        snprintf(st->level, sizeof(st->level), "account");
    } else if (accept(L, "database")) {
        if ((rc = take_name(L, st->db, "database name", true, err)) < 0)
            return rc;
        snprintf(st->level, sizeof(st->level), "database");
        if (accept(L, "table")) {
            if ((rc = take_name(L, st->table, "table name", false, err)) < 0)
                return rc;
            snprintf(st->level, sizeof(st->level), "table");
        }
    } else if (tok_is(L, cur(L), "table")) {
        return mo_err_set(err, MO_EINVAL,
                          "syntax error at position %zu: TABLE needs its database first: "
                          "DATABASE db TABLE t",
                          cur(L)->off + 1);
    } else {
        return syntax(L, err, "DATABASE db [TABLE t] or ACCOUNT");
    }
    if (!accept(L, "from")) {
        if (cur(L)->kind == SK_END || (cur(L)->kind == SK_PUNCT && L->s[cur(L)->off] == ';'))
            return mo_err_set(err, MO_EINVAL, "missing FROM 'uri' (position %zu)", cur(L)->off + 1);
        return syntax(L, err, "FROM 'uri'");
    }
    char uri[2048];
    if ((rc = take_str(L, uri, sizeof(uri), "a quoted URI after FROM", err)) < 0)
        return rc;
    rc = mo_cat_uri_parse(&st->uri, uri, err);
    memset(uri, 0, sizeof(uri));
    if (rc < 0)
        return rc;
    /* MO's own order: FROM 'uri' <pubacct> PUBLICATION <pubname> */
    const stok *t = cur(L);
    if ((t->kind == SK_WORD || t->kind == SK_IDENT) && !is_clause_kw(L, t) &&
        tok_is(L, &L->t[L->i + 1 < L->n ? L->i + 1 : L->n - 1], "publication")) {
        if ((rc = take_name(L, st->pub_account, "publisher account", false, err)) < 0)
            return rc;
        L->i++; /* PUBLICATION */
        if ((rc = take_name(L, st->pub_name, "publication name", false, err)) < 0)
            return rc;
    }
    bool have_interval = false;
    for (;;) {
        if (accept(L, "publication")) {
            if (st->pub_name[0])
                return mo_err_set(err, MO_EINVAL,
                                  "syntax error at position %zu: PUBLICATION "
                                  "given twice",
                                  L->t[L->i - 1].off + 1);
            if ((rc = take_name(L, st->pub_account, "publisher account", false, err)) < 0 ||
                (rc = take_name(L, st->pub_name, "publication name", false, err)) < 0)
                return rc;
        } else if (tok_is(L, cur(L), "sync_interval") || tok_is(L, cur(L), "sync")) {
            size_t at = cur(L)->off;
            if (accept(L, "sync") && (rc = expect(L, "interval", err)) < 0)
                return rc;
            accept(L, "sync_interval");
            if (have_interval)
                return mo_err_set(err, MO_EINVAL,
                                  "syntax error at position %zu: SYNC INTERVAL given twice",
                                  at + 1);
            if ((rc = parse_interval(L, st, err)) < 0)
                return rc;
            have_interval = true;
        } else {
            return MO_OK;
        }
    }
}

static int parse_stmt(stmt *st, const char *text, mo_err *err)
{
    memset(st, 0, sizeof(*st));
    st->interval = 60;
    slex L;
    int rc = lex_stmt(&L, text, err);
    if (rc < 0)
        return rc;
    const stok *t0 = cur(&L);
    if (t0->kind == SK_END)
        return mo_err_set(err, MO_EINVAL, "empty statement");
    if (accept(&L, "create")) {
        st->kind = ST_CREATE;
        rc = parse_create(&L, st, err);
    } else if (accept(&L, "drop")) {
        st->kind = ST_DROP;
        if ((rc = expect(&L, "subscription", err)) < 0)
            return rc;
        st->if_exists = accept(&L, "if");
        if (st->if_exists && (rc = expect(&L, "exists", err)) < 0)
            return rc;
        rc = take_name(&L, st->name, "subscription name", false, err);
    } else if (accept(&L, "pause") || accept(&L, "resume")) {
        st->kind = tok_is(&L, t0, "pause") ? ST_PAUSE : ST_RESUME;
        if ((rc = expect(&L, "subscription", err)) < 0)
            return rc;
        rc = take_name(&L, st->name, "subscription name", false, err);
    } else if (accept(&L, "show")) {
        if (accept(&L, "subscriptions")) {
            st->kind = ST_SHOW_SUBS;
        } else if (accept(&L, "subscription")) {
            st->kind = ST_SHOW_TASKS;
            if ((rc = expect(&L, "tasks", err)) < 0)
                return rc;
            const stok *t = cur(&L);
            if (t->kind == SK_WORD || t->kind == SK_IDENT || t->kind == SK_NUM) {
                if ((rc = take_name(&L, st->name, "subscription name", false, err)) < 0)
                    return rc;
                st->have_name = true;
            }
        } else {
            return syntax(&L, err, "SUBSCRIPTIONS or SUBSCRIPTION TASKS");
        }
    } else {
        char shown[64];
        tok_show(shown, sizeof(shown), &L, t0);
        return mo_err_set(err, MO_EINVAL,
                          "syntax error at position %zu: unknown keyword %s (expected CREATE, "
                          "DROP, PAUSE, RESUME or SHOW)",
                          t0->off + 1, shown);
    }
    if (rc < 0)
        return rc;
    accept_p(&L, ';');
    if (cur(&L)->kind != SK_END) {
        char shown[64];
        tok_show(shown, sizeof(shown), &L, cur(&L));
        return mo_err_set(err, MO_EINVAL, "syntax error at position %zu: unexpected %s",
                          cur(&L)->off + 1, shown);
    }
    return MO_OK;
}

bool mo_cat_sql_readonly(const char *text)
{
    slex L;
    if (lex_stmt(&L, text, NULL) < 0)
        return false;
    return tok_is(&L, cur(&L), "show");
}

/* ---------------- results ---------------- */

void mo_cat_result_dispose(mo_cat_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrows; i++) {
        for (unsigned c = 0; r->rows[i] && c < r->ncols; c++)
            mo_free(r->rows[i][c]);
        mo_free(r->rows[i]);
    }
    mo_free(r->rows);
    for (unsigned c = 0; r->cols && c < r->ncols; c++)
        mo_free(r->cols[c]);
    mo_free(r->cols);
    memset(r, 0, sizeof(*r));
}

static int result_cols(mo_cat_result *r, const char *const *names, unsigned n, mo_err *err)
{
    if (!(r->cols = mo_calloc(n, sizeof(char *))))
        return mo_err_set(err, MO_ENOMEM, "result columns");
    r->ncols = n;
    for (unsigned c = 0; c < n; c++)
        if (!(r->cols[c] = mo_strdup(names[c])))
            return mo_err_set(err, MO_ENOMEM, "result columns");
    return MO_OK;
}

/* appends a row of copies of @p cells (NULL stays NULL) */
static int result_row(mo_cat_result *r, const char *const *cells, mo_err *err)
{
    char ***nr = mo_realloc(r->rows, (r->nrows + 1) * sizeof(*nr));
    if (!nr)
        return mo_err_set(err, MO_ENOMEM, "result rows");
    r->rows = nr;
    char **row = mo_calloc(r->ncols, sizeof(char *));
    if (!row)
        return mo_err_set(err, MO_ENOMEM, "result row");
    r->rows[r->nrows++] = row;
    for (unsigned c = 0; c < r->ncols; c++)
        if (cells[c] && !(row[c] = mo_strdup(cells[c])))
            return mo_err_set(err, MO_ENOMEM, "result cell");
    return MO_OK;
}

/* ---------------- helpers over the committed state ---------------- */

typedef struct vec {
    void *p;
    size_t n, cap, elem;
    int rc;
} vec;

static int vec_push(vec *v, const void *e)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 16;
        void *np = mo_realloc(v->p, nc * v->elem);
        if (!np) {
            v->rc = MO_ENOMEM;
            return 1;
        }
        v->p = np;
        v->cap = nc;
    }
    memcpy((char *)v->p + v->n * v->elem, e, v->elem);
    v->n++;
    return 0;
}

static int sub_cb(const mo_cat_sub *s, void *payload)
{
    return vec_push(payload, s);
}

static int task_cb(const mo_cat_task *k, void *payload)
{
    return vec_push(payload, k);
}

static int load_subs(mo_cat *c, vec *v, mo_err *err)
{
    *v = (vec){NULL, 0, 0, sizeof(mo_cat_sub), MO_OK};
    int rc = mo_cat_foreach_sub(c, sub_cb, v);
    if (rc < 0 || v->rc < 0) {
        mo_free(v->p);
        v->p = NULL;
        return mo_err_set(err, v->rc < 0 ? v->rc : rc, "listing subscriptions");
    }
    return MO_OK;
}

static int load_tasks(mo_cat *c, vec *v, mo_err *err)
{
    *v = (vec){NULL, 0, 0, sizeof(mo_cat_task), MO_OK};
    int rc = mo_cat_foreach_task(c, task_cb, v);
    if (rc < 0 || v->rc < 0) {
        mo_free(v->p);
        v->p = NULL;
        return mo_err_set(err, v->rc < 0 ? v->rc : rc, "listing subscription tasks");
    }
    return MO_OK;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fmt_time(char out[32], int64_t us)
{
    time_t sec = (time_t)(us / 1000000);
    struct tm tm;
    if (us <= 0 || !gmtime_r(&sec, &tm)) {
        snprintf(out, 32, "%s", us ? "?" : "");
        return;
    }
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *state_name(uint8_t s)
{
    switch (s) {
    case MO_CAT_SUB_RUNNING:
        return "running";
    case MO_CAT_SUB_ERROR:
        return "error";
    case MO_CAT_SUB_PAUSED:
        return "paused";
    case MO_CAT_SUB_DROPPED:
        return "dropped";
    default:
        return "unknown";
    }
}

static const char *iter_name(uint8_t s)
{
    static const char *const n[] = {"pending", "running", "complete", "error", "cancel"};
    return s < 5 ? n[s] : "unknown";
}

/* upstream_conn as shown: the stored form never has a password; show where it would be */
static void conn_masked(char *out, size_t cap, const char *stored)
{
    const char *at = strrchr(stored, '@');
    if (strncmp(stored, "mysql://", 8) || !at) {
        snprintf(out, cap, "%s", stored);
        return;
    }
    snprintf(out, cap, "%.*s:***%s", (int)(at - stored), stored, at);
}

/* Replaces every occurrence of @p pw in @p s by "***" (defence in depth for upstream text). */
static void scrub(char *s, size_t cap, const char *pw)
{
    size_t pl = strlen(pw);
    if (pl < 3)
        return;
    (void)cap; /* pl >= 3: the text never grows */
    char *from = s, *p;
    while ((p = strstr(from, pw))) {
        memmove(p + 3, p + pl, strlen(p + pl) + 1);
        memcpy(p, "***", 3);
        from = p + 3;
    }
}

static bool live(const mo_cat_sub *s)
{
    return s->state != MO_CAT_SUB_DROPPED;
}

/* a live subscription already replicating what @p st asks for (MO's doCreateSubscription) */
static const mo_cat_sub *coverage_conflict(const vec *subs, const stmt *st)
{
    const mo_cat_sub *a = subs->p;
    for (size_t i = 0; i < subs->n; i++) {
        const mo_cat_sub *s = &a[i];
        if (!live(s))
            continue;
        if (!strcmp(st->level, "account") || !strcmp(s->level, "account"))
            return s;
        if (strcasecmp(s->db, st->db))
            continue;
        if (!strcmp(st->level, "database") || !strcmp(s->level, "database"))
            return s;
        if (!strcasecmp(s->table, st->table))
            return s;
    }
    return NULL;
}

/* ---------------- execution ---------------- */

static int exec_create(mo_cat *c, stmt *st, mo_cat_result *out, mo_err *err)
{
    mo_cat_sub old;
    bool replace = false;
    int rc = mo_cat_get_sub_by_name(c, st->name, &old);
    if (rc == MO_OK && live(&old))
        return mo_err_set(err, MO_EEXISTS, "subscription '%s' already exists", st->name);
    if (rc == MO_OK)
        replace = true; /* a soft-dropped one: its row is replaced, as MO's GC would */
    else if (rc != MO_ENOTFOUND)
        return mo_err_set(err, rc, "looking up subscription '%s'", st->name);
    vec subs, tasks = {0};
    if ((rc = load_subs(c, &subs, err)) < 0)
        return rc;
    const mo_cat_sub *cf = coverage_conflict(&subs, st);
    if (cf) {
        if (!strcmp(cf->level, "account"))
            rc = mo_err_set(err, MO_EEXISTS,
                            "subscription '%s' already replicates the whole account", cf->name);
        else if (!strcmp(st->level, "account"))
            rc = mo_err_set(err, MO_EEXISTS,
                            "an account-level subscription conflicts with live subscription "
                            "'%s'",
                            cf->name);
        else if (!strcmp(cf->level, "database") || !strcmp(st->level, "database"))
            rc = mo_err_set(err, MO_EEXISTS,
                            "database '%s' is already covered by subscription "
                            "'%s'",
                            cf->db, cf->name);
        else
            rc =
                mo_err_set(err, MO_EEXISTS, "table '%s.%s' is already covered by subscription '%s'",
                           cf->db, cf->table, cf->name);
        goto out;
    }
    if (replace && (rc = load_tasks(c, &tasks, err)) < 0)
        goto out;

    mo_cat_sub s;
    memset(&s, 0, sizeof(s));
    snprintf(s.name, sizeof(s.name), "%s", st->name);
    snprintf(s.level, sizeof(s.level), "%s", st->level);
    snprintf(s.db, sizeof(s.db), "%s", st->db);
    snprintf(s.table, sizeof(s.table), "%s", st->table);
    mo_cat_uri_format(s.upstream_conn, sizeof(s.upstream_conn), &st->uri, false);
    snprintf(s.pub_account, sizeof(s.pub_account), "%s", st->pub_account);
    snprintf(s.pub_name, sizeof(s.pub_name), "%s", st->pub_name);
    s.sync_interval = st->interval;
    s.state = MO_CAT_SUB_RUNNING;
    s.created_us = s.updated_us = now_us();

    mo_cat_txn *t = NULL;
    if ((rc = mo_cat_begin(c, &t, err)) < 0)
        goto out;
    if ((rc = mo_cat_next_id(t, "task", &s.task_id, err)) < 0)
        goto out_abort;
    if (replace) {
        const mo_cat_task *k = tasks.p;
        for (size_t i = 0; i < tasks.n; i++)
            if (k[i].task_id == old.task_id && (rc = mo_cat_del_task(t, k[i].job_id, err)) < 0)
                goto out_abort;
        if ((rc = mo_cat_del_sub(t, old.task_id, err)) < 0)
            goto out_abort;
    }
    if ((rc = mo_cat_put_sub(t, &s, err)) < 0)
        goto out_abort;
    /* the password first: a crash before the commit leaves only an unused secrets entry
     * (overwritten when the id is handed out again), never a subscription without one */
    bool secret = st->uri.password[0] != 0;
    if (secret && (rc = mo_cat_secret_put(c, s.task_id, st->uri.password, err)) < 0)
        goto out_abort;
    rc = mo_cat_commit(t, err);
    t = NULL;
    if (rc < 0) {
        if (secret)
            mo_cat_secret_del(c, s.task_id, NULL);
        goto out;
    }
    if (replace)
        mo_cat_secret_del(c, old.task_id, NULL);
    snprintf(out->message, sizeof(out->message),
             "subscription %.160s created (%s level, task %" PRIu64 ")", s.name, s.level,
             s.task_id);
    goto out;
out_abort:
    mo_cat_abort(t);
out:
    mo_free(subs.p);
    mo_free(tasks.p);
    return rc;
}

static int find_live(mo_cat *c, const char *name, mo_cat_sub *s, mo_err *err)
{
    int rc = mo_cat_get_sub_by_name(c, name, s);
    if (rc == MO_ENOTFOUND || (rc == MO_OK && !live(s)))
        return mo_err_set(err, MO_ENOTFOUND, "subscription '%s' does not exist%s", name,
                          rc == MO_OK ? " (it was dropped)" : "");
    if (rc < 0)
        return mo_err_set(err, rc, "looking up subscription '%s'", name);
    return MO_OK;
}

static int exec_change(mo_cat *c, stmt *st, mo_cat_result *out, mo_err *err)
{
    mo_cat_sub s;
    int rc = find_live(c, st->name, &s, err);
    if (rc == MO_ENOTFOUND && st->kind == ST_DROP && st->if_exists) {
        mo_err_clear(err);
        snprintf(out->message, sizeof(out->message),
                 "subscription %.160s does not exist, nothing dropped", st->name);
        return MO_OK;
    }
    if (rc < 0)
        return rc;
    vec tasks = {0};
    if (st->kind == ST_RESUME && (rc = load_tasks(c, &tasks, err)) < 0)
        return rc;
    const char *verb = "";
    int64_t now = now_us();
    switch (st->kind) {
    case ST_DROP:
        s.state = MO_CAT_SUB_DROPPED;
        verb = "dropped";
        break;
    case ST_PAUSE:
        s.state = MO_CAT_SUB_PAUSED;
        verb = "paused";
        break;
    default:
        s.state = MO_CAT_SUB_RUNNING;
        verb = "resumed";
        break;
    }
    s.updated_us = now;
    mo_cat_txn *t = NULL;
    unsigned ntask = 0;
    if ((rc = mo_cat_begin(c, &t, err)) < 0)
        goto out;
    if ((rc = mo_cat_put_sub(t, &s, err)) < 0)
        goto out_abort;
    mo_cat_task *k = tasks.p;
    for (size_t i = 0; i < tasks.n; i++) {
        if (k[i].task_id != s.task_id)
            continue;
        /* MO's RESUME: iteration_state = complete, error_message cleared */
        k[i].iteration_state = MO_CAT_ITER_COMPLETE;
        k[i].error_message[0] = 0;
        k[i].updated_us = now;
        if ((rc = mo_cat_put_task(t, &k[i], err)) < 0)
            goto out_abort;
        ntask++;
    }
    rc = mo_cat_commit(t, err);
    t = NULL;
    if (rc < 0)
        goto out;
    /* a dropped subscription never connects again: forget its password (best effort; the
     * drop itself is committed) */
    if (st->kind == ST_DROP)
        mo_cat_secret_del(c, s.task_id, NULL);
    if (st->kind == ST_RESUME)
        snprintf(out->message, sizeof(out->message), "subscription %.160s resumed (%u tasks reset)",
                 s.name, ntask);
    else
        snprintf(out->message, sizeof(out->message), "subscription %.160s %s", s.name, verb);
    goto out;
out_abort:
    mo_cat_abort(t);
out:
    mo_free(tasks.p);
    return rc;
}

static int exec_show_subs(mo_cat *c, mo_cat_result *out, mo_err *err)
{
    static const char *const cols[] = {
        "subscription_name", "upstream_conn", "database",    "tables",
        "sync_interval",     "status",        "create_time", "update_time"};
    vec subs;
    int rc = load_subs(c, &subs, err);
    if (rc < 0)
        return rc;
    if ((rc = result_cols(out, cols, 8, err)) < 0)
        goto out;
    const mo_cat_sub *a = subs.p;
    for (size_t i = 0; i < subs.n; i++) {
        const mo_cat_sub *s = &a[i];
        char conn[1100], iv[16], ct[32], ut[32];
        conn_masked(conn, sizeof(conn), s->upstream_conn);
        snprintf(iv, sizeof(iv), "%u", (unsigned)s->sync_interval);
        fmt_time(ct, s->created_us);
        fmt_time(ut, s->updated_us);
        bool acct = !strcmp(s->level, "account");
        const char *cells[8] = {s->name,
                                conn,
                                acct ? "*" : s->db,
                                strcmp(s->level, "table") ? "*" : s->table,
                                iv,
                                state_name(s->state),
                                ct,
                                ut};
        if ((rc = result_row(out, cells, err)) < 0)
            goto out;
    }
    snprintf(out->message, sizeof(out->message), "%zu subscription%s", subs.n,
             subs.n == 1 ? "" : "s");
out:
    mo_free(subs.p);
    return rc;
}

static int exec_show_tasks(mo_cat *c, const stmt *st, mo_cat_result *out, mo_err *err)
{
    static const char *const cols[] = {"job_id",    "subscription_name", "database",
                                       "table",     "iteration_state",   "iteration_lsn",
                                       "watermark", "error_message",     "updated"};
    vec subs, tasks = {0};
    int rc = load_subs(c, &subs, err);
    if (rc < 0)
        return rc;
    const mo_cat_sub *a = subs.p;
    uint64_t only = 0;
    if (st->have_name) {
        size_t i = 0;
        while (i < subs.n && strcmp(a[i].name, st->name))
            i++;
        if (i == subs.n) {
            rc = mo_err_set(err, MO_ENOTFOUND, "subscription '%s' does not exist", st->name);
            goto out;
        }
        only = a[i].task_id;
    }
    if ((rc = load_tasks(c, &tasks, err)) < 0 || (rc = result_cols(out, cols, 9, err)) < 0)
        goto out;
    const mo_cat_task *k = tasks.p;
    size_t shown = 0;
    for (size_t i = 0; i < tasks.n; i++) {
        if (st->have_name && k[i].task_id != only)
            continue;
        const char *sname = NULL;
        for (size_t j = 0; j < subs.n && !sname; j++)
            if (a[j].task_id == k[i].task_id)
                sname = a[j].name;
        char job[24], lsn[24], wm[48], upd[32], msg[sizeof(k[i].error_message)];
        snprintf(job, sizeof(job), "%" PRIu64, k[i].job_id);
        snprintf(lsn, sizeof(lsn), "%" PRIu64, k[i].iteration_lsn);
        mo_obj_ts_format(wm, k[i].watermark);
        fmt_time(upd, k[i].updated_us);
        snprintf(msg, sizeof(msg), "%s", k[i].error_message);
        if (msg[0]) {
            char pw[MO_CAT_NAME_MAX];
            if (mo_cat_secret_get(c, k[i].task_id, pw, sizeof(pw), NULL) == MO_OK)
                scrub(msg, sizeof(msg), pw);
            memset(pw, 0, sizeof(pw));
        }
        const char *cells[9] = {job, sname, k[i].db, k[i].table, iter_name(k[i].iteration_state),
                                lsn, wm,    msg,     upd};
        if ((rc = result_row(out, cells, err)) < 0)
            goto out;
        shown++;
    }
    snprintf(out->message, sizeof(out->message), "%zu task%s", shown, shown == 1 ? "" : "s");
out:
    mo_free(subs.p);
    mo_free(tasks.p);
    return rc;
}

int mo_cat_sql_exec(mo_cat *c, const char *text, mo_cat_result *out, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    stmt st;
    int rc = parse_stmt(&st, text, err);
    if (rc == MO_OK) {
        switch (st.kind) {
        case ST_CREATE:
            rc = exec_create(c, &st, out, err);
            break;
        case ST_SHOW_SUBS:
            rc = exec_show_subs(c, out, err);
            break;
        case ST_SHOW_TASKS:
            rc = exec_show_tasks(c, &st, out, err);
            break;
        default:
            rc = exec_change(c, &st, out, err);
            break;
        }
    }
    memset(&st.uri, 0, sizeof(st.uri));
    if (rc < 0)
        mo_cat_result_dispose(out);
    return rc;
}

/* ---------------- scripts ---------------- */

int mo_cat_sql_foreach_stmt(const char *text, int (*cb)(const char *stmt, void *payload),
                            void *payload, mo_err *err)
{
    size_t i = 0, start = 0;
    char q = 0;
    size_t qstart = 0;
    for (;; i++) {
        char ch = text[i];
        if (q) {
            if (!ch)
                return mo_err_set(err, MO_EINVAL, "unterminated %s starting at offset %zu",
                                  q == '`' ? "`identifier`" : "quoted string", qstart + 1);
            if (ch == q)
                q = 0; /* '' re-enters at the next quote */
            continue;
        }
        if (ch == '-' && text[i + 1] == '-') {
            while (text[i + 1] && text[i + 1] != '\n')
                i++;
            continue;
        }
        if (ch == '\'' || ch == '`' || ch == '"') {
            q = ch;
            qstart = i;
            continue;
        }
        if (ch != ';' && ch)
            continue;
        /* one statement: text[start, i), trimmed; empty (or comment-only) ones skipped */
        size_t a = start, b = i;
        while (a < b && isspace((unsigned char)text[a]))
            a++;
        while (b > a && isspace((unsigned char)text[b - 1]))
            b--;
        if (b > a) {
            slex L;
            char *one = mo_malloc(b - a + 1);
            if (!one)
                return mo_err_set(err, MO_ENOMEM, "statement of %zu bytes", b - a);
            memcpy(one, text + a, b - a);
            one[b - a] = 0;
            bool only_comments = lex_stmt(&L, one, NULL) == MO_OK && L.n == 1;
            int r = only_comments ? 0 : cb(one, payload);
            memset(one, 0, b - a);
            mo_free(one);
            if (r)
                return mo_err_set(err, MO_EUSER, "stopped by the statement callback");
        }
        if (!ch)
            return MO_OK;
        start = i + 1;
    }
}
