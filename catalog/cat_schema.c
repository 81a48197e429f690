/*
 * Parser of MO's canonical CREATE TABLE text (ccpr-protocol.md §3.6.1) into the stored column
 * list (§5.13): user columns in definition order, then the hidden columns MO's planner
 * appends (buildTableDefs): __mo_cpkey_col (varchar, binary charset) for a PRIMARY KEY of
 * >= 2 columns, else __mo_fake_pk_col (uint64) when there is no primary key, then
 * __mo_cbkey_<%03d len><name>... (varchar) for a CLUSTER BY of >= 2 columns. seqnum = the
 * ordinal position. Types map as MO's getTypeFromAst does (decimal: p <= 16 -> decimal64,
 * p <= 38 -> decimal128, else decimal256). Index, constraint, collation, comment, property,
 * default, on-update and generated clauses are recognised and skipped; anything else is
 * MO_EINVAL naming the line and the offending text.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mo/cat.h"

enum { TK_EOF, TK_WORD, TK_IDENT, TK_STR, TK_NUM, TK_PUNCT };

typedef struct tok {
    int kind;
    size_t off, len; /* the raw text (IDENT: inside the backticks) */
    unsigned line;
} tok;

typedef struct sp {
    const char *s;
    tok *t;
    size_t n, cap, i;
    mo_err *err;
    int rc;
} sp;

static int sp_push(sp *p, int kind, size_t off, size_t len, unsigned line)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 256;
        tok *nt = mo_realloc(p->t, nc * sizeof(*nt));
        if (!nt)
            return mo_err_set(p->err, MO_ENOMEM, "schema: %zu tokens", nc);
        p->t = nt;
        p->cap = nc;
    }
    p->t[p->n++] = (tok){kind, off, len, line};
    return MO_OK;
}

static int snippet_err(sp *p, size_t off, unsigned line, const char *what)
{
    const char *s = p->s + off;
    size_t n = strcspn(s, "\n");
    if (n > 48)
        n = 48;
    return mo_err_set(p->err, MO_EINVAL, "CREATE TABLE line %u: %s at '%.*s'", line, what, (int)n,
                      s);
}

static int lex(sp *p)
{
    const char *s = p->s;
    size_t i = 0;
    unsigned line = 1;
    int rc;
    while (s[i]) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') {
            line++;
            i++;
        } else if (isspace(ch)) {
            i++;
        } else if (ch == '`') {
            size_t st = ++i;
            for (;;) {
                if (!s[i])
                    return snippet_err(p, st - 1, line, "unterminated `identifier`");
                if (s[i] == '`' && s[i + 1] == '`') {
                    i += 2;
                    continue;
                }
                if (s[i] == '`')
                    break;
                if (s[i] == '\n')
                    line++;
                i++;
            }
            if ((rc = sp_push(p, TK_IDENT, st, i - st, line)) < 0)
                return rc;
            i++;
        } else if (ch == '\'' || ch == '"') {
            size_t st = i++;
            for (;;) {
                if (!s[i])
                    return snippet_err(p, st, line, "unterminated string");
                if (s[i] == '\\' && s[i + 1]) {
                    i += 2;
                    continue;
                }
                if (s[i] == (char)ch && s[i + 1] == (char)ch) {
                    i += 2;
                    continue;
                }
                if (s[i] == (char)ch)
                    break;
                if (s[i] == '\n')
                    line++;
                i++;
            }
            i++;
            if ((rc = sp_push(p, TK_STR, st, i - st, line)) < 0)
                return rc;
        } else if (isdigit(ch) || (ch == '.' && isdigit((unsigned char)s[i + 1]))) {
            size_t st = i;
            while (isalnum((unsigned char)s[i]) || s[i] == '.')
                i++;
            if ((rc = sp_push(p, TK_NUM, st, i - st, line)) < 0)
                return rc;
        } else if (isalpha(ch) || ch == '_' || ch == '$') {
            size_t st = i;
            while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$')
                i++;
            /* b'0101', x'ff', _utf8mb4'x': a prefixed string literal */
            if (s[i] == '\'' && (i - st == 1 || s[st] == '_')) {
                size_t q = i++;
                for (;;) {
                    if (!s[i])
                        return snippet_err(p, q, line, "unterminated string");
                    if (s[i] == '\\' && s[i + 1]) {
                        i += 2;
                        continue;
                    }
                    if (s[i] == '\'' && s[i + 1] == '\'') {
                        i += 2;
                        continue;
                    }
                    if (s[i] == '\'')
                        break;
                    i++;
                }
                i++;
                if ((rc = sp_push(p, TK_STR, st, i - st, line)) < 0)
                    return rc;
                continue;
            }
            if ((rc = sp_push(p, TK_WORD, st, i - st, line)) < 0)
                return rc;
        } else {
            if ((rc = sp_push(p, TK_PUNCT, i, 1, line)) < 0)
                return rc;
            i++;
        }
    }
    return sp_push(p, TK_EOF, i, 0, line);
}

static const tok *peek(const sp *p, size_t k)
{
    size_t j = p->i + k;
    return &p->t[j < p->n ? j : p->n - 1];
}

static bool is_word(const sp *p, const tok *t, const char *w)
{
    return t->kind == TK_WORD && strlen(w) == t->len && !strncasecmp(p->s + t->off, w, t->len);
}

static bool is_punct(const sp *p, const tok *t, char c)
{
    return t->kind == TK_PUNCT && p->s[t->off] == c;
}

static bool accept_word(sp *p, const char *w)
{
    if (!is_word(p, peek(p, 0), w))
        return false;
    p->i++;
    return true;
}

static bool accept_punct(sp *p, char c)
{
    if (!is_punct(p, peek(p, 0), c))
        return false;
    p->i++;
    return true;
}

static int fail_here(sp *p, const char *what)
{
    const tok *t = peek(p, 0);
    if (t->kind == TK_EOF)
        return mo_err_set(p->err, MO_EINVAL, "CREATE TABLE: %s at the end of the text", what);
    return snippet_err(p, t->off, t->line, what);
}

static int expect_word(sp *p, const char *w)
{
    if (accept_word(p, w))
        return MO_OK;
    char what[64];
    snprintf(what, sizeof(what), "expected %s", w);
    return fail_here(p, what);
}

static int expect_punct(sp *p, char c)
{
    if (accept_punct(p, c))
        return MO_OK;
    char what[32];
    snprintf(what, sizeof(what), "expected '%c'", c);
    return fail_here(p, what);
}

/* A name: `ident` (`` -> `) or a bare word. */
static int take_name(sp *p, char out[MO_CAT_NAME_MAX])
{
    const tok *t = peek(p, 0);
    if (t->kind != TK_IDENT && t->kind != TK_WORD)
        return fail_here(p, "expected a name");
    size_t n = 0;
    for (size_t k = 0; k < t->len; k++) {
        char ch = p->s[t->off + k];
        if (t->kind == TK_IDENT && ch == '`')
            k++;
        if (n + 1 >= MO_CAT_NAME_MAX)
            return fail_here(p, "name too long");
        out[n++] = ch;
    }
    out[n] = 0;
    p->i++;
    return MO_OK;
}

/* Skips a balanced parenthesised group starting at the current '('. */
static int skip_group(sp *p)
{
    if (!is_punct(p, peek(p, 0), '('))
        return fail_here(p, "expected '('");
    int depth = 0;
    do {
        const tok *t = peek(p, 0);
        if (t->kind == TK_EOF)
            return fail_here(p, "unbalanced parentheses");
        if (is_punct(p, t, '('))
            depth++;
        else if (is_punct(p, t, ')'))
            depth--;
        p->i++;
    } while (depth > 0);
    return MO_OK;
}

/* Skips to the ',' or ')' that ends the current table item. */
static int skip_item(sp *p)
{
    for (;;) {
        const tok *t = peek(p, 0);
        if (t->kind == TK_EOF)
            return fail_here(p, "unterminated table item");
        if (is_punct(p, t, ',') || is_punct(p, t, ')'))
            return MO_OK;
        if (is_punct(p, t, '(')) {
            int rc = skip_group(p);
            if (rc < 0)
                return rc;
            continue;
        }
        p->i++;
    }
}

/* A default / on-update value: literal, signed number, word[(args)], or (expr). */
static int skip_expr(sp *p)
{
    const tok *t = peek(p, 0);
    if (is_punct(p, t, '('))
        return skip_group(p);
    if (is_punct(p, t, '-') || is_punct(p, t, '+')) {
        p->i++;
        t = peek(p, 0);
    }
    if (t->kind == TK_EOF || t->kind == TK_PUNCT)
        return fail_here(p, "expected a value");
    p->i++;
    if (t->kind == TK_WORD && is_punct(p, peek(p, 0), '('))
        return skip_group(p);
    return MO_OK;
}

static long take_num(sp *p, long lo, long hi, int *rc)
{
    const tok *t = peek(p, 0);
    long v = 0;
    if (t->kind != TK_NUM) {
        *rc = fail_here(p, "expected a number");
        return 0;
    }
    for (size_t k = 0; k < t->len; k++) {
        char ch = p->s[t->off + k];
        if (ch < '0' || ch > '9' || v > 1000000) {
            *rc = fail_here(p, "expected an integer");
            return 0;
        }
        v = v * 10 + (ch - '0');
    }
    if (v < lo || v > hi) {
        *rc = fail_here(p, "number out of range");
        return 0;
    }
    p->i++;
    return v;
}

/* Optional "(a)" or "(a,b)": returns how many were given. */
static int type_args(sp *p, long *a, long *b, long hi, int *rc)
{
    if (!accept_punct(p, '('))
        return 0;
    *a = take_num(p, 0, hi, rc);
    if (*rc < 0)
        return 0;
    int n = 1;
    if (accept_punct(p, ',')) {
        *b = take_num(p, 0, hi, rc);
        if (*rc < 0)
            return 0;
        n = 2;
    }
    if ((*rc = expect_punct(p, ')')) < 0)
        return 0;
    return n;
}

static int parse_type(sp *p, mo_obj_type *ty)
{
    const tok *t = peek(p, 0);
    if (t->kind != TK_WORD)
        return fail_here(p, "expected a column type");
    char name[32];
    size_t n = t->len < sizeof(name) - 1 ? t->len : sizeof(name) - 1;
    for (size_t k = 0; k < n; k++)
        name[k] = (char)tolower((unsigned char)p->s[t->off + k]);
    name[n] = 0;
    size_t at = p->i;
    p->i++;
    int rc = MO_OK;
    long a = -1, b = -1;
    static const struct {
        const char *name;
        uint8_t s, u;
    } ints[] = {{"tinyint", MO_T_INT8, MO_T_UINT8},     {"smallint", MO_T_INT16, MO_T_UINT16},
                {"mediumint", MO_T_INT32, MO_T_UINT32}, {"int", MO_T_INT32, MO_T_UINT32},
                {"integer", MO_T_INT32, MO_T_UINT32},   {"bigint", MO_T_INT64, MO_T_UINT64}};
    for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
        if (strcmp(name, ints[k].name))
            continue;
        type_args(p, &a, &b, 255, &rc);
        if (rc < 0)
            return rc;
        bool uns = false;
        for (;;) {
            if (accept_word(p, "unsigned"))
                uns = true;
            else if (!accept_word(p, "signed") && !accept_word(p, "zerofill"))
                break;
        }
        *ty = mo_obj_type_default(uns ? ints[k].u : ints[k].s);
        return MO_OK;
    }
    int na;
    if (!strcmp(name, "float") || !strcmp(name, "double") || !strcmp(name, "real")) {
        if (!strcmp(name, "double"))
            accept_word(p, "precision");
        *ty = mo_obj_type_default(!strcmp(name, "float") ? MO_T_FLOAT32 : MO_T_FLOAT64);
        na = type_args(p, &a, &b, 255, &rc);
        if (rc < 0)
            return rc;
        if (na >= 1)
            ty->width = (int32_t)a;
        if (na == 2)
            ty->scale = (int32_t)b;
        while (accept_word(p, "unsigned") || accept_word(p, "zerofill"))
            ;
        return MO_OK;
    }
    if (!strcmp(name, "decimal") || !strcmp(name, "numeric") || !strcmp(name, "dec")) {
        a = 10;
        b = 0;
        na = type_args(p, &a, &b, 76, &rc);
        if (rc < 0)
            return rc;
        if (na == 1)
            b = 0;
        if (b > a) {
            p->i = at;
            return fail_here(p, "decimal scale larger than precision");
        }
        *ty = mo_obj_type_default(a > 38   ? MO_T_DECIMAL256
                                  : a > 16 ? MO_T_DECIMAL128
                                           : MO_T_DECIMAL64);
        ty->width = (int32_t)a;
        ty->scale = (int32_t)b;
        while (accept_word(p, "unsigned") || accept_word(p, "zerofill"))
            ;
        return MO_OK;
    }
    static const struct {
        const char *name;
        uint8_t oid;
        int args;  /* 0 none, 1 optional width, 2 optional fsp, 3 required dimension */
        long dflt; /* width without args (-1: type default) */
    } simple[] = {
        {"bool", MO_T_BOOL, 0, -1},
        {"boolean", MO_T_BOOL, 0, -1},
        {"bit", MO_T_BIT, 1, 1},
        {"char", MO_T_CHAR, 1, 1},
        {"varchar", MO_T_VARCHAR, 1, -1},
        {"binary", MO_T_BINARY, 1, 1},
        {"varbinary", MO_T_VARBINARY, 1, -1},
        {"text", MO_T_TEXT, 0, -1},
        {"tinytext", MO_T_TEXT, 0, 255},
        {"mediumtext", MO_T_TEXT, 0, -1},
        {"longtext", MO_T_TEXT, 0, -1},
        {"blob", MO_T_BLOB, 0, -1},
        {"tinyblob", MO_T_BLOB, 0, -1},
        {"mediumblob", MO_T_BLOB, 0, -1},
        {"longblob", MO_T_BLOB, 0, -1},
        {"json", MO_T_JSON, 0, -1},
        {"uuid", MO_T_UUID, 0, -1},
        {"date", MO_T_DATE, 0, -1},
        {"time", MO_T_TIME, 2, -1},
        {"datetime", MO_T_DATETIME, 2, -1},
        {"timestamp", MO_T_TIMESTAMP, 2, -1},
        {"year", MO_T_YEAR, 1, -1},
        {"vecf32", MO_T_VECF32, 3, -1},
        {"vecf64", MO_T_VECF64, 3, -1},
        {"datalink", MO_T_DATALINK, 0, -1},
    };
    for (size_t k = 0; k < sizeof(simple) / sizeof(simple[0]); k++) {
        if (strcmp(name, simple[k].name))
            continue;
        *ty = mo_obj_type_default(simple[k].oid);
        if (simple[k].dflt >= 0)
            ty->width = (int32_t)simple[k].dflt;
        if (simple[k].args == 0)
            return MO_OK;
        na = type_args(p, &a, &b, 65535, &rc);
        if (rc < 0)
            return rc;
        if (na == 2) {
            p->i = at;
            return fail_here(p, "type takes one parameter");
        }
        if (simple[k].args == 3 && (na == 0 || a < 1)) {
            p->i = at;
            return fail_here(p, "vector type needs a dimension >= 1");
        }
        if (na == 1) {
            if (simple[k].args == 2) {
                if (a > 6) {
                    p->i = at;
                    return fail_here(p, "fractional seconds precision must be 0..6");
                }
                ty->scale = (int32_t)a;
            } else if (simple[k].oid != MO_T_YEAR) {
                ty->width = (int32_t)a;
            }
        }
        return MO_OK;
    }
    if (!strcmp(name, "enum") || !strcmp(name, "set")) {
        if ((rc = expect_punct(p, '(')) < 0)
            return rc;
        do {
            if (peek(p, 0)->kind != TK_STR)
                return fail_here(p, "expected a quoted enum value");
            p->i++;
        } while (accept_punct(p, ','));
        if ((rc = expect_punct(p, ')')) < 0)
            return rc;
        /* MO stores SET as uint64 with the member list in the plan type */
        *ty = mo_obj_type_default(!strcmp(name, "enum") ? MO_T_ENUM : MO_T_UINT64);
        return MO_OK;
    }
    p->i = at;
    return fail_here(p, "unsupported column type");
}

/* charset of MO text types from a collation / character-set name */
static uint8_t charset_of(const char *s, size_t n)
{
    if ((n == 6 && !strncasecmp(s, "binary", 6)))
        return 1;
    if (n >= 4 && !strncasecmp(s + n - 4, "_bin", 4))
        return 2;
    return 3;
}

static bool is_text_oid(uint8_t oid)
{
    return oid == MO_T_CHAR || oid == MO_T_VARCHAR || oid == MO_T_TEXT;
}

/* the word / string / identifier value after COLLATE or CHARACTER SET */
static int take_charset(sp *p, uint8_t *cs)
{
    accept_punct(p, '=');
    const tok *t = peek(p, 0);
    if (t->kind == TK_WORD || t->kind == TK_IDENT)
        *cs = charset_of(p->s + t->off, t->len);
    else if (t->kind == TK_STR && t->len >= 2)
        *cs = charset_of(p->s + t->off + 1, t->len - 2);
    else
        return fail_here(p, "expected a collation or character set name");
    p->i++;
    return MO_OK;
}

typedef struct col_build {
    mo_cat_col *cols;
    size_t n, cap;
    uint8_t *explicit_cs; /* per column: 1 when COLLATE/CHARACTER SET was given */
} col_build;

static int col_add(sp *p, col_build *cb, const mo_cat_col *c, bool explicit_cs)
{
    if (cb->n == cb->cap) {
        size_t nc = cb->cap ? cb->cap * 2 : 16;
        if (nc > 65000)
            return mo_err_set(p->err, MO_EINVAL, "CREATE TABLE: too many columns");
        mo_cat_col *ncols = mo_realloc(cb->cols, nc * sizeof(*ncols));
        if (!ncols)
            return mo_err_set(p->err, MO_ENOMEM, "schema: %zu columns", nc);
        cb->cols = ncols;
        uint8_t *ne = mo_realloc(cb->explicit_cs, nc);
        if (!ne)
            return mo_err_set(p->err, MO_ENOMEM, "schema: %zu columns", nc);
        cb->explicit_cs = ne;
        cb->cap = nc;
    }
    cb->explicit_cs[cb->n] = explicit_cs;
    cb->cols[cb->n++] = *c;
    return MO_OK;
}

static int find_col(const col_build *cb, const char *name)
{
    for (size_t k = 0; k < cb->n; k++)
        if (!strcasecmp(cb->cols[k].name, name))
            return (int)k;
    return -1;
}

/* "(`a`, `b`(10) DESC, ...)": column indexes into @p idx (cap MAX) */
#define KEY_MAX 64
static int key_list(sp *p, const col_build *cb, int idx[KEY_MAX], int *n_out)
{
    int rc = expect_punct(p, '(');
    if (rc < 0)
        return rc;
    int n = 0;
    do {
        char name[MO_CAT_NAME_MAX];
        size_t at = p->i;
        if ((rc = take_name(p, name)) < 0)
            return rc;
        int k = find_col(cb, name);
        if (k < 0) {
            p->i = at;
            return fail_here(p, "key names an unknown column");
        }
        if (n == KEY_MAX)
            return fail_here(p, "too many key columns");
        idx[n++] = k;
        if (is_punct(p, peek(p, 0), '(') && (rc = skip_group(p)) < 0)
            return rc;
        if (!accept_word(p, "asc"))
            accept_word(p, "desc");
    } while (accept_punct(p, ','));
    *n_out = n;
    return expect_punct(p, ')');
}

static int parse_column(sp *p, col_build *cb, int *inline_pk)
{
    mo_cat_col c;
    memset(&c, 0, sizeof(c));
    size_t at = p->i;
    int rc = take_name(p, c.name);
    if (rc < 0)
        return rc;
    if (find_col(cb, c.name) >= 0) {
        p->i = at;
        return fail_here(p, "duplicate column name");
    }
    if ((rc = parse_type(p, &c.type)) < 0)
        return rc;
    bool explicit_cs = false;
    for (;;) {
        const tok *t = peek(p, 0);
        if (is_punct(p, t, ',') || is_punct(p, t, ')'))
            break;
        if (accept_word(p, "not")) {
            if ((rc = expect_word(p, "null")) < 0)
                return rc;
            c.not_null = true;
        } else if (accept_word(p, "null") || accept_word(p, "auto_increment") ||
                   accept_word(p, "visible") || accept_word(p, "invisible") ||
                   accept_word(p, "stored") || accept_word(p, "virtual")) {
        } else if (accept_word(p, "default")) {
            if ((rc = skip_expr(p)) < 0)
                return rc;
        } else if (accept_word(p, "on")) {
            if ((rc = expect_word(p, "update")) < 0 || (rc = skip_expr(p)) < 0)
                return rc;
        } else if (accept_word(p, "comment")) {
            if (peek(p, 0)->kind != TK_STR)
                return fail_here(p, "expected a quoted comment");
            p->i++;
        } else if (accept_word(p, "collate")) {
            if ((rc = take_charset(p, &c.type.charset)) < 0)
                return rc;
            explicit_cs = true;
        } else if (accept_word(p, "charset") ||
                   (is_word(p, t, "character") && is_word(p, peek(p, 1), "set"))) {
            if (is_word(p, t, "character"))
                p->i++;
            accept_word(p, "set");
            if ((rc = take_charset(p, &c.type.charset)) < 0)
                return rc;
            explicit_cs = true;
        } else if (accept_word(p, "generated")) {
            if ((rc = expect_word(p, "always")) < 0 || (rc = expect_word(p, "as")) < 0 ||
                (rc = skip_group(p)) < 0)
                return rc;
        } else if (accept_word(p, "as")) {
            if ((rc = skip_group(p)) < 0)
                return rc;
        } else if (accept_word(p, "primary")) {
            if ((rc = expect_word(p, "key")) < 0)
                return rc;
            *inline_pk = (int)cb->n;
        } else if (accept_word(p, "key")) {
            *inline_pk = (int)cb->n;
        } else if (accept_word(p, "unique")) {
            accept_word(p, "key");
        } else {
            return fail_here(p, "unsupported column attribute");
        }
    }
    if (!is_text_oid(c.type.oid) && explicit_cs)
        c.type.charset = mo_obj_type_default(c.type.oid).charset; /* MO: text types only */
    if (*inline_pk == (int)cb->n)
        c.not_null = true;
    return col_add(p, cb, &c, explicit_cs);
}

static int hidden_add(sp *p, col_build *cb, const char *name, uint8_t oid, bool not_null)
{
    mo_cat_col c;
    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.type = mo_obj_type_default(oid);
    if (oid == MO_T_VARCHAR) {
        c.type.width = 65535; /* makeHiddenColTyp: MaxVarcharLen, binary charset */
        c.type.charset = 1;
    }
    c.hidden = true;
    c.not_null = not_null;
    return col_add(p, cb, &c, true);
}

int mo_cat_schema_parse(mo_cat_table *out, const char *create_sql, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    out->pk_col = out->sort_col = -1;
    sp p = {create_sql, NULL, 0, 0, 0, err, MO_OK};
    col_build cb = {NULL, 0, 0, NULL};
    int pk[KEY_MAX], npk = 0, cl[KEY_MAX], ncl = 0, inline_pk = -1;
    bool have_pk = false, have_cluster = false;
    uint8_t table_cs = 3;
    int rc;
    if ((rc = lex(&p)) < 0)
        goto out;
    if ((rc = expect_word(&p, "create")) < 0 || (rc = expect_word(&p, "table")) < 0)
        goto out;
    if (accept_word(&p, "if") &&
        ((rc = expect_word(&p, "not")) < 0 || (rc = expect_word(&p, "exists")) < 0))
        goto out;
    char n1[MO_CAT_NAME_MAX];
    if ((rc = take_name(&p, n1)) < 0)
        goto out;
    if (accept_punct(&p, '.')) {
        snprintf(out->db, sizeof(out->db), "%s", n1);
        if ((rc = take_name(&p, out->name)) < 0)
            goto out;
    } else {
        snprintf(out->name, sizeof(out->name), "%s", n1);
    }
    if ((rc = expect_punct(&p, '(')) < 0)
        goto out;
    do {
        const tok *t = peek(&p, 0);
        if (is_word(&p, t, "primary")) {
            p.i++;
            if ((rc = expect_word(&p, "key")) < 0)
                goto out;
            if (have_pk || inline_pk >= 0) {
                rc = fail_here(&p, "second primary key");
                goto out;
            }
            if (accept_word(&p, "using"))
                p.i++;
            if ((rc = key_list(&p, &cb, pk, &npk)) < 0 || (rc = skip_item(&p)) < 0)
                goto out;
            have_pk = true;
        } else if (is_word(&p, t, "unique") || is_word(&p, t, "key") || is_word(&p, t, "index") ||
                   is_word(&p, t, "fulltext") || is_word(&p, t, "spatial") ||
                   is_word(&p, t, "constraint") || is_word(&p, t, "check")) {
            if ((rc = skip_item(&p)) < 0)
                goto out;
        } else if (is_word(&p, t, "foreign")) {
            /* MO strips foreign keys from the replicated text (§3.6); one here is unexpected
             * but harmless for the stored columns */
            if ((rc = skip_item(&p)) < 0)
                goto out;
        } else if (t->kind == TK_IDENT || t->kind == TK_WORD) {
            int before = inline_pk;
            if ((rc = parse_column(&p, &cb, &inline_pk)) < 0)
                goto out;
            if ((before >= 0 || have_pk) && inline_pk != before) {
                rc = fail_here(&p, "second primary key");
                goto out;
            }
        } else {
            rc = fail_here(&p, "expected a column or key definition");
            goto out;
        }
    } while (accept_punct(&p, ','));
    if ((rc = expect_punct(&p, ')')) < 0)
        goto out;
    for (;;) {
        const tok *t = peek(&p, 0);
        if (t->kind == TK_EOF || is_punct(&p, t, ';'))
            break;
        if (accept_punct(&p, ',')) {
        } else if (accept_word(&p, "collate")) {
            if ((rc = take_charset(&p, &table_cs)) < 0)
                goto out;
        } else if (accept_word(&p, "default")) {
            /* DEFAULT CHARSET= / DEFAULT COLLATE= */
        } else if (accept_word(&p, "charset") ||
                   (is_word(&p, t, "character") && is_word(&p, peek(&p, 1), "set"))) {
            if (is_word(&p, t, "character"))
                p.i += 2;
            uint8_t cs = 3;
            if ((rc = take_charset(&p, &cs)) < 0)
                goto out;
            if (cs == 1)
                table_cs = 1;
        } else if (accept_word(&p, "comment")) {
            accept_punct(&p, '=');
            if (peek(&p, 0)->kind != TK_STR) {
                rc = fail_here(&p, "expected a quoted comment");
                goto out;
            }
            p.i++;
        } else if (accept_word(&p, "properties")) {
            if ((rc = skip_group(&p)) < 0)
                goto out;
        } else if (accept_word(&p, "engine") || accept_word(&p, "auto_increment") ||
                   accept_word(&p, "row_format")) {
            accept_punct(&p, '=');
            if ((rc = skip_expr(&p)) < 0)
                goto out;
        } else if (accept_word(&p, "cluster")) {
            if ((rc = expect_word(&p, "by")) < 0 || (rc = key_list(&p, &cb, cl, &ncl)) < 0)
                goto out;
            have_cluster = true;
        } else {
            rc = fail_here(&p, "unsupported table option");
            goto out;
        }
    }
    accept_punct(&p, ';');
    if (peek(&p, 0)->kind != TK_EOF) {
        rc = fail_here(&p, "text after the statement");
        goto out;
    }
    if (cb.n == 0) {
        rc = mo_err_set(err, MO_EINVAL, "CREATE TABLE: no columns");
        goto out;
    }
    if (inline_pk >= 0) {
        pk[0] = inline_pk;
        npk = 1;
        have_pk = true;
    }
    if (have_pk && have_cluster) {
        rc = mo_err_set(err, MO_EINVAL,
                        "CREATE TABLE: CLUSTER BY with a primary key (MO rejects it)");
        goto out;
    }
    /* table default collation for text columns without their own */
    for (size_t k = 0; k < cb.n; k++) {
        if (is_text_oid(cb.cols[k].type.oid) && !cb.explicit_cs[k])
            cb.cols[k].type.charset = table_cs;
    }
    bool real_pk = have_pk;
    if (have_pk && npk == 1) {
        out->pk_col = pk[0];
        cb.cols[pk[0]].not_null = true;
    } else if (have_pk) {
        for (int k = 0; k < npk; k++)
            cb.cols[pk[k]].not_null = true;
        out->pk_col = (int)cb.n;
        if ((rc = hidden_add(&p, &cb, "__mo_cpkey_col", MO_T_VARCHAR, true)) < 0)
            goto out;
    } else {
        out->pk_col = (int)cb.n;
        if ((rc = hidden_add(&p, &cb, "__mo_fake_pk_col", MO_T_UINT64, true)) < 0)
            goto out;
    }
    out->real_pk = real_pk;
    if (real_pk) {
        out->sort_col = out->pk_col;
    } else if (have_cluster && ncl == 1) {
        out->sort_col = cl[0];
    } else if (have_cluster) {
        /* BuildCompositeClusterByColumnName: prefix + per column %03d length + name
         * (MO's lower-cased column names) */
        char name[MO_CAT_NAME_MAX];
        size_t len = (size_t)snprintf(name, sizeof(name), "__mo_cbkey_");
        for (int k = 0; k < ncl; k++) {
            const char *cn = cb.cols[cl[k]].name;
            size_t cl_len = strlen(cn);
            if (len + 3 + cl_len >= sizeof(name)) {
                rc = mo_err_set(err, MO_EINVAL, "CREATE TABLE: cluster-by key name too long");
                goto out;
            }
            len += (size_t)snprintf(name + len, sizeof(name) - len, "%03zu", cl_len);
            for (size_t j = 0; j < cl_len; j++)
                name[len++] = (char)tolower((unsigned char)cn[j]);
            name[len] = 0;
        }
        out->sort_col = (int)cb.n;
        if ((rc = hidden_add(&p, &cb, name, MO_T_VARCHAR, false)) < 0)
            goto out;
    }
    for (size_t k = 0; k < cb.n; k++)
        cb.cols[k].seqnum = (uint16_t)k;
    if (!(out->create_sql = mo_strdup(create_sql))) {
        rc = mo_err_set(err, MO_ENOMEM, "schema: CREATE text");
        goto out;
    }
    out->cols = cb.cols;
    out->ncols = (uint16_t)cb.n;
    cb.cols = NULL;
out:
    mo_free(p.t);
    mo_free(cb.cols);
    mo_free(cb.explicit_cs);
    if (rc < 0) {
        mo_free(out->create_sql);
        memset(out, 0, sizeof(*out));
        out->pk_col = out->sort_col = -1;
    }
    return rc;
}
