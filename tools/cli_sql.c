/*
 * `mosync sql -C DIR [--json] ["STATEMENT[; ...]"]`: runs subscription statements against the
 * catalog of replica DIR (statements from stdin when none is given, split on ';' outside
 * quotes). Result sets print as aligned text tables, or with --json as one object per row.
 * The catalog is opened read-only when every statement is a SHOW, so a running scheduler's
 * writer lock does not block inspection. Stops at the first failing statement. Nothing here
 * ever prints a statement's text: it may hold a password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mo/cat.h"

typedef struct stmt_list {
    char **v;
    size_t n;
    bool oom;
} stmt_list;

static int collect(const char *stmt, void *payload)
{
    stmt_list *l = payload;
    char **nv = mo_realloc(l->v, (l->n + 1) * sizeof(char *));
    if (!nv || !(nv[l->n] = mo_strdup(stmt))) {
        if (nv)
            l->v = nv;
        l->oom = true;
        return 1;
    }
    l->v = nv;
    l->n++;
    return 0;
}

static void list_free(stmt_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        memset(l->v[i], 0, strlen(l->v[i]));
        mo_free(l->v[i]);
    }
    mo_free(l->v);
    memset(l, 0, sizeof(*l));
}

static void rule(FILE *f, const size_t *w, unsigned n)
{
    for (unsigned c = 0; c < n; c++) {
        fputc('+', f);
        for (size_t k = 0; k < w[c] + 2; k++)
            fputc('-', f);
    }
    fputs("+\n", f);
}

static void cell(FILE *f, const char *s, size_t w)
{
    fprintf(f, "| %s%*s ", s, (int)(w - strlen(s)), "");
}

static void print_table(FILE *f, const mo_cat_result *r)
{
    size_t *w = mo_calloc(r->ncols, sizeof(size_t));
    if (!w)
        return;
    for (unsigned c = 0; c < r->ncols; c++) {
        w[c] = strlen(r->cols[c]);
        for (size_t i = 0; i < r->nrows; i++) {
            size_t l = r->rows[i][c] ? strlen(r->rows[i][c]) : 4;
            if (l > w[c])
                w[c] = l;
        }
    }
    rule(f, w, r->ncols);
    for (unsigned c = 0; c < r->ncols; c++)
        cell(f, r->cols[c], w[c]);
    fputs("|\n", f);
    rule(f, w, r->ncols);
    for (size_t i = 0; i < r->nrows; i++) {
        for (unsigned c = 0; c < r->ncols; c++)
            cell(f, r->rows[i][c] ? r->rows[i][c] : "NULL", w[c]);
        fputs("|\n", f);
    }
    if (r->nrows)
        rule(f, w, r->ncols);
    fprintf(f, "%zu row%s\n", r->nrows, r->nrows == 1 ? "" : "s");
    mo_free(w);
}

static int print_json(FILE *f, const mo_cat_result *r)
{
    mo_buf b = MO_BUF_INIT;
    int rc = MO_OK;
    if (r->ncols == 0) {
        rc = mo_buf_printf(&b, "{\"message\":");
        if (rc == MO_OK)
            rc = mo_cli_json_str(&b, r->message);
        if (rc == MO_OK)
            rc = mo_buf_printf(&b, "}\n");
    }
    for (size_t i = 0; i < r->nrows && rc == MO_OK; i++) {
        rc = mo_buf_put_u8(&b, '{');
        for (unsigned c = 0; c < r->ncols && rc == MO_OK; c++) {
            if (c)
                rc = mo_buf_put_u8(&b, ',');
            if (rc == MO_OK)
                rc = mo_cli_json_str(&b, r->cols[c]);
            if (rc == MO_OK)
                rc = mo_buf_put_u8(&b, ':');
            if (rc == MO_OK)
                rc = r->rows[i][c] ? mo_cli_json_str(&b, r->rows[i][c]) : mo_buf_printf(&b, "null");
        }
        if (rc == MO_OK)
            rc = mo_buf_printf(&b, "}\n");
    }
    if (rc == MO_OK && b.len)
        fwrite(b.ptr, 1, b.len, f);
    mo_buf_dispose(&b);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: mosync sql -C DIR [--json] [\"STATEMENT[; ...]\"]   (statements from "
                    "stdin when none is given)\n");
}

static int read_stdin(mo_buf *b)
{
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        if (mo_buf_put(b, chunk, n) < 0)
            return MO_ENOMEM;
    if (ferror(stdin))
        return MO_EIO;
    return mo_buf_cstr(b);
}

int mo_cli_sql(int argc, char **argv)
{
    const char *dir = NULL, *text = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-C") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return MO_CLI_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "mosync sql: unknown option '%s'\n", argv[i]);
            usage();
            return MO_CLI_USAGE;
        } else if (!text)
            text = argv[i];
        else {
            fprintf(stderr, "mosync sql: give one statement argument (quote it; separate several "
                            "with ';')\n");
            return MO_CLI_USAGE;
        }
    }
    if (!dir) {
        usage();
        return MO_CLI_USAGE;
    }
    mo_buf in = MO_BUF_INIT;
    mo_err err;
    mo_err_clear(&err);
    stmt_list l = {NULL, 0, false};
    mo_cat *c = NULL;
    int rc = MO_OK;
    if (!text) {
        if ((rc = read_stdin(&in)) < 0) {
            fprintf(stderr, "mosync sql: reading stdin: %s\n", mo_strerror(rc));
            goto out;
        }
        text = in.ptr ? (const char *)in.ptr : "";
    }
    if ((rc = mo_cat_sql_foreach_stmt(text, collect, &l, &err)) < 0) {
        if (l.oom)
            rc = mo_err_set(&err, MO_ENOMEM, "reading statements");
        fprintf(stderr, "mosync sql: %s\n", err.msg);
        goto out;
    }
    if (l.n == 0) {
        fprintf(stderr, "mosync sql: no statement given\n");
        rc = MO_EINVAL;
        goto out;
    }
    bool ro = true;
    for (size_t i = 0; i < l.n; i++)
        ro = ro && mo_cat_sql_readonly(l.v[i]);
    uint64_t torn = 0;
    if ((rc = mo_cat_open(&c, dir, ro ? MO_CAT_READ : MO_CAT_WRITE, &torn, &err)) < 0) {
        fprintf(stderr, "mosync sql: %s: %s\n", dir, err.msg);
        goto out;
    }
    if (torn)
        fprintf(stderr, "mosync sql: warning: catalog recovery dropped %llu torn bytes: %s\n",
                (unsigned long long)torn, err.msg);
    for (size_t i = 0; i < l.n; i++) {
        mo_cat_result r;
        mo_err_clear(&err);
        if ((rc = mo_cat_sql_exec(c, l.v[i], &r, &err)) < 0) {
            if (l.n > 1)
                fprintf(stderr, "mosync sql: statement %zu: %s\n", i + 1, err.msg);
            else
                fprintf(stderr, "mosync sql: %s\n", err.msg);
            goto out;
        }
        if (json)
            rc = print_json(stdout, &r);
        else if (r.ncols)
            print_table(stdout, &r);
        else
            printf("%s\n", r.message);
        mo_cat_result_dispose(&r);
        if (rc < 0) {
            fprintf(stderr, "mosync sql: out of memory printing the result\n");
            goto out;
        }
    }
out:
    fflush(stdout);
    mo_cat_close(c);
    list_free(&l);
    if (in.ptr)
        memset(in.ptr, 0, in.len);
    mo_buf_dispose(&in);
    return mo_cli_exit_for(rc);
}
