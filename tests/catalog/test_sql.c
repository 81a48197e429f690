/* The subscription SQL surface: every statement form, every statement error (each one must
 * leave SHOW output and the secrets file unchanged), password masking in results, errors and
 * on disk, connection-string edge cases, the secrets file, the statement splitter. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mo/cat.h"
#include "mo/sys.h"
#include "mo_test.h"

#define PW "S3cr:et#pw!x"
#define URI "mysql://acc1#admin:" PW "@10.0.0.7:6001"

static mo_cat *open_w(const char *tag, char dir_out[512])
{
    const char *d = mo_test_tmpdir(tag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    snprintf(dir_out, 512, "%s", d);
    mo_cat *c = NULL;
    MO_ASSERT_OK(mo_cat_open(&c, dir_out, MO_CAT_WRITE, NULL, &mo_test_err));
    return c;
}

static int run(mo_cat *c, const char *sql, mo_cat_result *r)
{
    mo_err_clear(&mo_test_err);
    return mo_cat_sql_exec(c, sql, r, &mo_test_err);
}

static void run_ok(mo_cat *c, const char *sql)
{
    mo_cat_result r;
    MO_ASSERT_OK(run(c, sql, &r));
    CU_ASSERT(strstr(r.message, PW) == NULL);
    mo_cat_result_dispose(&r);
}

/* everything a user can see, as one string (caller frees) */
static char *dump(mo_cat *c)
{
    mo_buf b = MO_BUF_INIT;
    const char *q[] = {"SHOW SUBSCRIPTIONS", "SHOW SUBSCRIPTION TASKS"};
    for (int k = 0; k < 2; k++) {
        mo_cat_result r;
        MO_ASSERT_OK(run(c, q[k], &r));
        for (unsigned j = 0; j < r.ncols; j++)
            mo_buf_printf(&b, "%s|", r.cols[j]);
        mo_buf_printf(&b, "\n");
        for (size_t i = 0; i < r.nrows; i++) {
            for (unsigned j = 0; j < r.ncols; j++)
                mo_buf_printf(&b, "%s|", r.rows[i][j] ? r.rows[i][j] : "NULL");
            mo_buf_printf(&b, "\n");
        }
        mo_cat_result_dispose(&r);
    }
    char sp[600];
    snprintf(sp, sizeof(sp), "%s/secrets", mo_cat_dir(c));
    uint8_t *raw;
    size_t n;
    if (mo_sys_read_file(&raw, &n, sp, NULL) == MO_OK) {
        mo_buf_printf(&b, "secrets %zu:", n);
        mo_buf_put(&b, raw, n);
        mo_free(raw);
    }
    mo_buf_cstr(&b);
    return (char *)b.ptr;
}

static const mo_cat_result *find_row(const mo_cat_result *r, const char *name, size_t *row)
{
    for (size_t i = 0; i < r->nrows; i++)
        if (r->rows[i][0] && !strcmp(r->rows[i][0], name)) {
            *row = i;
            return r;
        }
    return NULL;
}

static void test_sql__create_forms(void)
{
    char dir[512];
    mo_cat *c = open_w("sql_create", dir);
    run_ok(c, "CREATE SUBSCRIPTION s1 DATABASE db1 FROM '" URI "'");
    run_ok(c, "create subscription `s-2` database db2 table t1 from 'mysql://u:p@h:1' "
              "publication pubacc pub1 sync_interval = 30;");
    run_ok(c, "Create Subscription s3 Database db3 From 'mysql://#u:pw@h:3306' SYNC INTERVAL 7 "
              "PUBLICATION a p ;  ");
    run_ok(c, "CREATE SUBSCRIPTION s4 DATABASE db4 TABLE `T$x` FROM 'dir:///data/up' "
              "SYNC_INTERVAL 5");
    run_ok(c, "CREATE SUBSCRIPTION s5 DATABASE db5 FROM 'bundle:///b/x.tar' -- a comment");
    run_ok(c, "CREATE SUBSCRIPTION s6 DATABASE db6 FROM 'mysql://u:p@h:1' sys PUBLICATION p6");
    run_ok(c, "CREATE SUBSCRIPTION s7 DATABASE db7 FROM 'mysql://u:it''s@h:1'");

    mo_cat_sub s;
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s1", &s));
    CU_ASSERT_STRING_EQUAL(s.level, "database");
    CU_ASSERT_STRING_EQUAL(s.db, "db1");
    CU_ASSERT_STRING_EQUAL(s.table, "");
    CU_ASSERT_STRING_EQUAL(s.upstream_conn, "mysql://acc1#admin@10.0.0.7:6001");
    CU_ASSERT_EQUAL(s.sync_interval, 60);
    CU_ASSERT_EQUAL(s.state, MO_CAT_SUB_RUNNING);
    CU_ASSERT(s.created_us > 0 && s.updated_us == s.created_us);
    char pw[64];
    MO_ASSERT_OK(mo_cat_secret_get(c, s.task_id, pw, sizeof(pw), &mo_test_err));
    CU_ASSERT_STRING_EQUAL(pw, PW);
    uint64_t t1 = s.task_id;

    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s-2", &s));
    CU_ASSERT_STRING_EQUAL(s.level, "table");
    CU_ASSERT_STRING_EQUAL(s.db, "db2");
    CU_ASSERT_STRING_EQUAL(s.table, "t1");
    CU_ASSERT_STRING_EQUAL(s.pub_account, "pubacc");
    CU_ASSERT_STRING_EQUAL(s.pub_name, "pub1");
    CU_ASSERT_EQUAL(s.sync_interval, 30);
    CU_ASSERT(s.task_id != t1);

    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s3", &s));
    CU_ASSERT_EQUAL(s.sync_interval, 7);
    CU_ASSERT_STRING_EQUAL(s.pub_account, "a");
    CU_ASSERT_STRING_EQUAL(s.upstream_conn, "mysql://u@h:3306");
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s4", &s));
    CU_ASSERT_STRING_EQUAL(s.table, "T$x");
    CU_ASSERT_STRING_EQUAL(s.upstream_conn, "dir:///data/up");
    CU_ASSERT_EQUAL(s.sync_interval, 5);
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_secret_get(c, s.task_id, pw, sizeof(pw), &mo_test_err));
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s5", &s));
    CU_ASSERT_STRING_EQUAL(s.upstream_conn, "bundle:///b/x.tar");
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s6", &s));
    CU_ASSERT_STRING_EQUAL(s.pub_account, "sys");
    CU_ASSERT_STRING_EQUAL(s.pub_name, "p6");
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s7", &s));
    MO_ASSERT_OK(mo_cat_secret_get(c, s.task_id, pw, sizeof(pw), &mo_test_err));
    CU_ASSERT_STRING_EQUAL(pw, "it's");

    /* account level: only alone (it covers everything) */
    mo_cat_result r;
    MO_ASSERT_RC(MO_EEXISTS, run(c,
                                 "CREATE SUBSCRIPTION acc ACCOUNT FROM 'mysql://u:p@h:1' "
                                 "PUBLICATION sys pall",
                                 &r));
    mo_cat_close(c);

    c = open_w("sql_create_acct", dir);
    run_ok(c, "CREATE SUBSCRIPTION acc ACCOUNT FROM 'mysql://u:p@h:1' PUBLICATION sys pall");
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "acc", &s));
    CU_ASSERT_STRING_EQUAL(s.level, "account");
    MO_ASSERT_RC(MO_EEXISTS, run(c, "CREATE SUBSCRIPTION x DATABASE d FROM 'dir:///a'", &r));
    CU_ASSERT(strstr(mo_test_err.msg, "acc") != NULL);
    mo_cat_close(c);

    /* the state survives a reopen */
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err));
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "acc", &s));
    mo_cat_close(c);
}

static void test_sql__show_subscriptions(void)
{
    char dir[512];
    mo_cat *c = open_w("sql_show", dir);
    run_ok(c, "CREATE SUBSCRIPTION s1 DATABASE db1 FROM '" URI "' SYNC_INTERVAL = 15");
    run_ok(c, "CREATE SUBSCRIPTION s2 DATABASE db2 TABLE t2 FROM 'dir:///x'");
    run_ok(c, "CREATE SUBSCRIPTION s3 DATABASE db3 FROM 'mysql://u:p@h:1'");
    mo_cat_result r;
    MO_ASSERT_OK(run(c, "show subscriptions", &r));
    static const char *cols[] = {
        "subscription_name", "upstream_conn", "database",    "tables",
        "sync_interval",     "status",        "create_time", "update_time"};
    CU_ASSERT_EQUAL_FATAL(r.ncols, 8);
    for (unsigned i = 0; i < 8; i++)
        CU_ASSERT_STRING_EQUAL(r.cols[i], cols[i]);
    CU_ASSERT_EQUAL_FATAL(r.nrows, 3);
    size_t i = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(find_row(&r, "s1", &i));
    CU_ASSERT_STRING_EQUAL(r.rows[i][1], "mysql://acc1#admin:***@10.0.0.7:6001");
    CU_ASSERT_STRING_EQUAL(r.rows[i][2], "db1");
    CU_ASSERT_STRING_EQUAL(r.rows[i][3], "*");
    CU_ASSERT_STRING_EQUAL(r.rows[i][4], "15");
    CU_ASSERT_STRING_EQUAL(r.rows[i][5], "running");
    CU_ASSERT_EQUAL(strlen(r.rows[i][6]), 19); /* YYYY-MM-DD HH:MM:SS */
    CU_ASSERT_PTR_NOT_NULL_FATAL(find_row(&r, "s2", &i));
    CU_ASSERT_STRING_EQUAL(r.rows[i][1], "dir:///x");
    CU_ASSERT_STRING_EQUAL(r.rows[i][3], "t2");
    CU_ASSERT_STRING_EQUAL(r.rows[i][4], "60");
    for (size_t k = 0; k < r.nrows; k++)
        for (unsigned j = 0; j < r.ncols; j++)
            CU_ASSERT(!r.rows[k][j] || !strstr(r.rows[k][j], PW));
    mo_cat_result_dispose(&r);
    mo_cat_close(c);
}

static mo_cat_task mk_task(uint64_t job, uint64_t task, const char *db, const char *t)
{
    mo_cat_task k;
    memset(&k, 0, sizeof(k));
    k.job_id = job;
    k.task_id = task;
    snprintf(k.db, sizeof(k.db), "%s", db);
    snprintf(k.table, sizeof(k.table), "%s", t);
    k.watermark = (mo_obj_ts){1744877383123456789ll, 2};
    k.iteration_state = MO_CAT_ITER_ERROR;
    k.iteration_lsn = 41;
    snprintf(k.error_message, sizeof(k.error_message),
             "R:3:1744877000:1744877300:login as "
             "admin:" PW " refused");
    k.created_us = k.updated_us = 1744877383000000ll;
    return k;
}

static void test_sql__drop_pause_resume(void)
{
    char dir[512];
    mo_cat *c = open_w("sql_dpr", dir);
    run_ok(c, "CREATE SUBSCRIPTION s1 DATABASE db1 FROM '" URI "'");
    run_ok(c, "CREATE SUBSCRIPTION s2 DATABASE db2 FROM 'mysql://u:other@h:1'");
    mo_cat_sub s1, s2;
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s1", &s1));
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s2", &s2));
    /* tasks as the scheduler would write them */
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    mo_cat_task k1 = mk_task(100, s1.task_id, "db1", "a"),
                k2 = mk_task(101, s1.task_id, "db1", "b"),
                k3 = mk_task(102, s2.task_id, "db2", "c");
    MO_ASSERT_OK(mo_cat_put_task(t, &k1, &mo_test_err));
    MO_ASSERT_OK(mo_cat_put_task(t, &k2, &mo_test_err));
    MO_ASSERT_OK(mo_cat_put_task(t, &k3, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));

    mo_cat_result r;
    MO_ASSERT_OK(run(c, "PAUSE SUBSCRIPTION s1", &r));
    CU_ASSERT(strstr(r.message, "paused") != NULL);
    mo_cat_result_dispose(&r);
    mo_cat_sub s;
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s1", &s));
    CU_ASSERT_EQUAL(s.state, MO_CAT_SUB_PAUSED);
    CU_ASSERT(s.updated_us >= s.created_us);

    run_ok(c, "resume subscription `s1`;");
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s1", &s));
    CU_ASSERT_EQUAL(s.state, MO_CAT_SUB_RUNNING);
    mo_cat_task k;
    MO_ASSERT_OK(mo_cat_get_task(c, 100, &k));
    CU_ASSERT_EQUAL(k.iteration_state, MO_CAT_ITER_COMPLETE);
    CU_ASSERT_STRING_EQUAL(k.error_message, "");
    CU_ASSERT_EQUAL(k.iteration_lsn, 41);
    MO_ASSERT_OK(mo_cat_get_task(c, 101, &k));
    CU_ASSERT_EQUAL(k.iteration_state, MO_CAT_ITER_COMPLETE);
    MO_ASSERT_OK(mo_cat_get_task(c, 102, &k)); /* another subscription's task: untouched */
    CU_ASSERT_EQUAL(k.iteration_state, MO_CAT_ITER_ERROR);
    CU_ASSERT(k.error_message[0] != 0);

    /* RESUME is also the way out of the error state */
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    s.state = MO_CAT_SUB_ERROR;
    MO_ASSERT_OK(mo_cat_put_sub(t, &s, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));
    run_ok(c, "RESUME SUBSCRIPTION s1");
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s1", &s));
    CU_ASSERT_EQUAL(s.state, MO_CAT_SUB_RUNNING);

    /* soft drop: the row stays visible as dropped, the password is forgotten */
    run_ok(c, "DROP SUBSCRIPTION s1");
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s1", &s));
    CU_ASSERT_EQUAL(s.state, MO_CAT_SUB_DROPPED);
    char pw[64];
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_secret_get(c, s.task_id, pw, sizeof(pw), &mo_test_err));
    MO_ASSERT_OK(mo_cat_secret_get(c, s2.task_id, pw, sizeof(pw), &mo_test_err));
    CU_ASSERT_STRING_EQUAL(pw, "other");
    MO_ASSERT_OK(run(c, "SHOW SUBSCRIPTIONS", &r));
    size_t i = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(find_row(&r, "s1", &i));
    CU_ASSERT_STRING_EQUAL(r.rows[i][5], "dropped");
    mo_cat_result_dispose(&r);

    /* a dropped subscription cannot be paused, resumed or dropped again */
    MO_ASSERT_RC(MO_ENOTFOUND, run(c, "PAUSE SUBSCRIPTION s1", &r));
    CU_ASSERT(strstr(mo_test_err.msg, "dropped") != NULL);
    MO_ASSERT_RC(MO_ENOTFOUND, run(c, "RESUME SUBSCRIPTION s1", &r));
    MO_ASSERT_RC(MO_ENOTFOUND, run(c, "DROP SUBSCRIPTION s1", &r));
    MO_ASSERT_RC(MO_ENOTFOUND, run(c, "DROP SUBSCRIPTION nope", &r));
    MO_ASSERT_OK(run(c, "DROP SUBSCRIPTION IF EXISTS s1", &r));
    CU_ASSERT(strstr(r.message, "nothing") != NULL);
    mo_cat_result_dispose(&r);
    run_ok(c, "drop subscription if exists nope");

    /* its name and its database are free again: the dropped row and its tasks are replaced */
    run_ok(c, "CREATE SUBSCRIPTION s1 DATABASE db1 FROM 'mysql://u:new@h:2'");
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s1", &s));
    CU_ASSERT_EQUAL(s.state, MO_CAT_SUB_RUNNING);
    CU_ASSERT(s.task_id != s1.task_id);
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_get_task(c, 100, &k));
    MO_ASSERT_OK(mo_cat_get_task(c, 102, &k));
    MO_ASSERT_OK(run(c, "SHOW SUBSCRIPTIONS", &r));
    CU_ASSERT_EQUAL(r.nrows, 2);
    mo_cat_result_dispose(&r);
    mo_cat_close(c);
}

static void test_sql__show_tasks(void)
{
    char dir[512];
    mo_cat *c = open_w("sql_tasks", dir);
    run_ok(c, "CREATE SUBSCRIPTION s1 DATABASE db1 FROM '" URI "'");
    run_ok(c, "CREATE SUBSCRIPTION s2 DATABASE db2 FROM 'dir:///x'");
    mo_cat_sub s1, s2;
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s1", &s1));
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "s2", &s2));
    mo_cat_txn *t;
    MO_ASSERT_OK(mo_cat_begin(c, &t, &mo_test_err));
    mo_cat_task k1 = mk_task(7, s1.task_id, "db1", "a"), k2 = mk_task(8, s2.task_id, "db2", "b");
    k2.iteration_state = MO_CAT_ITER_PENDING;
    k2.error_message[0] = 0;
    MO_ASSERT_OK(mo_cat_put_task(t, &k1, &mo_test_err));
    MO_ASSERT_OK(mo_cat_put_task(t, &k2, &mo_test_err));
    MO_ASSERT_OK(mo_cat_commit(t, &mo_test_err));

    mo_cat_result r;
    MO_ASSERT_OK(run(c, "SHOW SUBSCRIPTION TASKS", &r));
    static const char *cols[] = {"job_id",    "subscription_name", "database",
                                 "table",     "iteration_state",   "iteration_lsn",
                                 "watermark", "error_message",     "updated"};
    CU_ASSERT_EQUAL_FATAL(r.ncols, 9);
    for (unsigned i = 0; i < 9; i++)
        CU_ASSERT_STRING_EQUAL(r.cols[i], cols[i]);
    CU_ASSERT_EQUAL(r.nrows, 2);
    mo_cat_result_dispose(&r);

    MO_ASSERT_OK(run(c, "show subscription tasks s1;", &r));
    CU_ASSERT_EQUAL_FATAL(r.nrows, 1);
    CU_ASSERT_STRING_EQUAL(r.rows[0][0], "7");
    CU_ASSERT_STRING_EQUAL(r.rows[0][1], "s1");
    CU_ASSERT_STRING_EQUAL(r.rows[0][2], "db1");
    CU_ASSERT_STRING_EQUAL(r.rows[0][3], "a");
    CU_ASSERT_STRING_EQUAL(r.rows[0][4], "error");
    CU_ASSERT_STRING_EQUAL(r.rows[0][5], "41");
    CU_ASSERT_STRING_EQUAL(r.rows[0][6], "1744877383123456789-2");
    /* an upstream message that echoes the password is masked */
    CU_ASSERT_STRING_EQUAL(r.rows[0][7], "R:3:1744877000:1744877300:login as admin:*** refused");
    CU_ASSERT_STRING_EQUAL(r.rows[0][8], "2025-04-17 08:09:43");
    mo_cat_result_dispose(&r);

    MO_ASSERT_OK(run(c, "SHOW SUBSCRIPTION TASKS `s2`", &r));
    CU_ASSERT_EQUAL_FATAL(r.nrows, 1);
    CU_ASSERT_STRING_EQUAL(r.rows[0][4], "pending");
    CU_ASSERT_STRING_EQUAL(r.rows[0][7], "");
    mo_cat_result_dispose(&r);

    MO_ASSERT_RC(MO_ENOTFOUND, run(c, "SHOW SUBSCRIPTION TASKS nope", &r));
    CU_ASSERT(strstr(mo_test_err.msg, "nope") != NULL);
    mo_cat_close(c);
}

/* each statement must fail with @p code, name @p needle, and change nothing */
static void expect_fail(mo_cat *c, const char *sql, int code, const char *needle)
{
    char *before = dump(c);
    mo_cat_result r;
    int rc = run(c, sql, &r);
    if (rc != code)
        fprintf(stderr, "\n%s: got %s (%s)\n", sql, mo_code_name(rc), mo_test_err.msg);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_EQUAL(r.ncols, 0);
    CU_ASSERT_EQUAL(r.nrows, 0);
    if (needle && !strstr(mo_test_err.msg, needle)) {
        fprintf(stderr, "\n%s: message '%s' lacks '%s'\n", sql, mo_test_err.msg, needle);
        CU_FAIL("error message");
    }
    CU_ASSERT(strstr(mo_test_err.msg, PW) == NULL);
    CU_ASSERT(strstr(mo_test_err.msg, "hunter2") == NULL);
    char *after = dump(c);
    CU_ASSERT_STRING_EQUAL(before, after);
    mo_free(before);
    mo_free(after);
}

static void test_sql__errors_change_nothing(void)
{
    char dir[512];
    mo_cat *c = open_w("sql_err", dir);
    run_ok(c, "CREATE SUBSCRIPTION s1 DATABASE db1 FROM '" URI "'");
    run_ok(c, "CREATE SUBSCRIPTION s2 DATABASE db2 TABLE t2 FROM 'dir:///x'");
    const int E = MO_EINVAL;
    /* unknown keywords, named with their position */
    expect_fail(c, "FROBNICATE SUBSCRIPTION s", E, "unknown keyword 'FROBNICATE'");
    expect_fail(c, "FROBNICATE SUBSCRIPTION s", E, "position 1");
    expect_fail(c, "CREATE SUBSCRIPTON s DATABASE d FROM 'dir:///x'", E, "'SUBSCRIPTON'");
    expect_fail(c, "CREATE SUBSCRIPTION s DATABASE d FROM 'dir:///x' SYNC_INTERVALS 5", E,
                "position 50");
    expect_fail(c, "CREATE SUBSCRIPTION s DATABASE d FROM 'dir:///x' WITH x", E, "'WITH'");
    expect_fail(c, "SHOW SUBSCRIPTION", E, "TASKS");
    expect_fail(c, "SHOW TABLES", E, "'TABLES'");
    expect_fail(c, "PAUSE s1", E, "SUBSCRIPTION");
    expect_fail(c, "", E, "empty");
    expect_fail(c, "  ; ", E, NULL);
    expect_fail(c, "SHOW SUBSCRIPTIONS extra", E, "'extra'");
    expect_fail(c, "SHOW SUBSCRIPTIONS; SHOW SUBSCRIPTIONS", E, "'SHOW'");
    /* duplicates and overlapping coverage */
    expect_fail(c, "CREATE SUBSCRIPTION s1 DATABASE other FROM 'dir:///x'", MO_EEXISTS,
                "'s1' already exists");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE DB1 FROM 'dir:///x'", MO_EEXISTS, "s1");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE db1 TABLE t FROM 'dir:///x'", MO_EEXISTS, "s1");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE db2 TABLE t2 FROM 'dir:///x'", MO_EEXISTS,
                "s2");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE db2 FROM 'dir:///x'", MO_EEXISTS, "s2");
    expect_fail(c, "CREATE SUBSCRIPTION s9 ACCOUNT FROM 'dir:///x'", MO_EEXISTS, NULL);
    /* bad URIs, never quoted back */
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'mysql://u:hunter2@x@h:1'", E,
                "more than one '@'");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'mysql://u:hunter2@[::1]:3306'", E,
                "IPv6");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'mysql://u:hunter2@h:65536'", E,
                "range");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'mysql://u:hunter2@h:1/db'", E,
                "digits");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'postgres://u:hunter2@h:1'", E,
                "mysql://");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir://rel/path'", E, "absolute");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'mysql://uhunter2@h:1'", E, "password");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'mysql://u:hunter2@h:1", E,
                "unterminated quoted string");
    expect_fail(c, "CREATE SUBSCRIPTION 'mysql://u:hunter2@h:1' DATABASE d FROM 'dir:///x'", E,
                "a quoted string");
    /* missing FROM, TABLE without DATABASE */
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d", E, "missing FROM");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d;", E, "missing FROM");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d 'mysql://u:hunter2@h:1'", E, "FROM");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM mysql", E, "quoted URI");
    expect_fail(c, "CREATE SUBSCRIPTION s9 TABLE t FROM 'dir:///x'", E, "DATABASE db TABLE t");
    expect_fail(c, "CREATE SUBSCRIPTION s9 FROM 'dir:///x'", E, "DATABASE");
    /* names MO's internal commands cannot carry */
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE `a b` FROM 'dir:///x'", E, "whitespace");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE `a'b` FROM 'dir:///x'", E, "quote");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE `a\"b` FROM 'dir:///x'", E, "quote");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d TABLE `a``b` FROM 'dir:///x'", E, "quote");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d TABLE `a\\b` FROM 'dir:///x'", E,
                "backslash");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE `a.b` FROM 'dir:///x'", E, "'.'");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE `-` FROM 'dir:///x'", E, "none");
    expect_fail(c, "CREATE SUBSCRIPTION `` DATABASE d FROM 'dir:///x'", E, "empty");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' PUBLICATION `p q` p", E,
                "whitespace");
    expect_fail(c, "CREATE SUBSCRIPTION \"s9\" DATABASE d FROM 'dir:///x'", E, "double-quoted");
    expect_fail(c, "CREATE SUBSCRIPTION s\xff DATABASE d FROM 'dir:///x'", E, "UTF-8");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE `\xc0\xaf` FROM 'dir:///x'", E, "UTF-8");
    run_ok(c, "CREATE SUBSCRIPTION s\xc3\xa9 DATABASE `d\xe6\x95\xb0` FROM 'dir:///x'");
    /* sync interval */
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' SYNC_INTERVAL = 0", E,
                "positive integer");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' SYNC_INTERVAL = -5", E,
                "positive integer");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' SYNC INTERVAL 1.5", E,
                "'1.5'");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' SYNC INTERVAL abc", E,
                "positive integer");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' SYNC_INTERVAL 99999999999", E,
                "positive integer");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' SYNC_INTERVAL", E,
                "positive integer");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' SYNC 5", E, "INTERVAL");
    expect_fail(c,
                "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' SYNC INTERVAL 5 SYNC "
                "INTERVAL 6",
                E, "twice");
    expect_fail(c, "CREATE SUBSCRIPTION s9 DATABASE d FROM 'dir:///x' PUBLICATION a", E,
                "publication name");
    /* unknown subscriptions */
    expect_fail(c, "PAUSE SUBSCRIPTION nope", MO_ENOTFOUND, "'nope' does not exist");
    expect_fail(c, "RESUME SUBSCRIPTION nope", MO_ENOTFOUND, "'nope'");
    expect_fail(c, "DROP SUBSCRIPTION nope", MO_ENOTFOUND, "'nope'");
    mo_cat_close(c);
}

/* every file under @p dir: the password may only be in "secrets", which must be 0600 */
static void scan_dir(const char *dir, const char *pw, int *hits_secrets, int *hits_other)
{
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        CU_ASSERT_FATAL(lstat(p, &st) == 0);
        if (S_ISDIR(st.st_mode)) {
            scan_dir(p, pw, hits_secrets, hits_other);
            continue;
        }
        uint8_t *raw;
        size_t n;
        if (mo_sys_read_file(&raw, &n, p, NULL) != MO_OK)
            continue;
        size_t pl = strlen(pw);
        bool hit = false;
        for (size_t i = 0; i + pl <= n && !hit; i++)
            hit = !memcmp(raw + i, pw, pl);
        mo_free(raw);
        if (!hit)
            continue;
        if (!strcmp(e->d_name, "secrets")) {
            (*hits_secrets)++;
            CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
        } else {
            fprintf(stderr, "\npassword found in %s\n", p);
            (*hits_other)++;
        }
    }
    closedir(d);
}

static void test_sql__password_never_leaks(void)
{
    char dir[512];
    mo_cat *c = open_w("sql_pw", dir);
    run_ok(c, "CREATE SUBSCRIPTION s1 DATABASE db1 FROM '" URI "'");
    run_ok(c, "CREATE SUBSCRIPTION s2 DATABASE db2 FROM 'mysql://a#u:" PW "@h:1'");
    run_ok(c, "PAUSE SUBSCRIPTION s2");
    run_ok(c, "DROP SUBSCRIPTION s2");
    expect_fail(c, "CREATE SUBSCRIPTION s1 DATABASE db9 FROM '" URI "'", MO_EEXISTS, NULL);
    expect_fail(c, "CREATE SUBSCRIPTION s3 DATABASE db1 FROM '" URI "'", MO_EEXISTS, NULL);
    expect_fail(c, "CREATE SUBSCRIPTION s3 DATABASE db3 FROM '" URI "' SYNC_INTERVAL 0", MO_EINVAL,
                NULL);
    expect_fail(c, "CREATE SUBSCRIPTION s3 DATABASE db3 FROM '" URI "' bogus", MO_EINVAL, NULL);
    expect_fail(c, "CREATE SUBSCRIPTION s3 DATABASE db3 FROM '" URI, MO_EINVAL, NULL);
    mo_cat_result r;
    MO_ASSERT_OK(run(c, "SHOW SUBSCRIPTIONS", &r));
    for (size_t k = 0; k < r.nrows; k++)
        for (unsigned j = 0; j < r.ncols; j++)
            CU_ASSERT(!r.rows[k][j] || !strstr(r.rows[k][j], PW));
    mo_cat_result_dispose(&r);
    MO_ASSERT_OK(mo_cat_compact(c, &mo_test_err)); /* the snapshot too */
    run_ok(c, "RESUME SUBSCRIPTION s1");
    mo_cat_close(c);
    int in_secrets = 0, elsewhere = 0;
    scan_dir(dir, PW, &in_secrets, &elsewhere);
    CU_ASSERT_EQUAL(in_secrets, 1);
    CU_ASSERT_EQUAL(elsewhere, 0);
}

static void test_sql__secrets_file(void)
{
    char dir[512];
    mo_cat *c = open_w("sql_secrets", dir);
    char pw[64], path[600];
    snprintf(path, sizeof(path), "%s/secrets", mo_cat_dir(c));
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_secret_get(c, 1, pw, sizeof(pw), &mo_test_err));
    MO_ASSERT_OK(mo_cat_secret_del(c, 1, &mo_test_err)); /* nothing to delete */
    MO_ASSERT_OK(mo_cat_secret_put(c, 1, "one", &mo_test_err));
    MO_ASSERT_OK(mo_cat_secret_put(c, 2, "two:@#", &mo_test_err));
    MO_ASSERT_OK(mo_cat_secret_put(c, 1, "uno", &mo_test_err));
    MO_ASSERT_OK(mo_cat_secret_put(c, 3, "", &mo_test_err));
    MO_ASSERT_OK(mo_cat_secret_get(c, 1, pw, sizeof(pw), &mo_test_err));
    CU_ASSERT_STRING_EQUAL(pw, "uno");
    MO_ASSERT_OK(mo_cat_secret_get(c, 2, pw, sizeof(pw), &mo_test_err));
    CU_ASSERT_STRING_EQUAL(pw, "two:@#");
    MO_ASSERT_OK(mo_cat_secret_get(c, 3, pw, sizeof(pw), &mo_test_err));
    CU_ASSERT_STRING_EQUAL(pw, "");
    MO_ASSERT_RC(MO_EINVAL, mo_cat_secret_get(c, 2, pw, 4, &mo_test_err));
    MO_ASSERT_OK(mo_cat_secret_del(c, 1, &mo_test_err));
    MO_ASSERT_RC(MO_ENOTFOUND, mo_cat_secret_get(c, 1, pw, sizeof(pw), &mo_test_err));
    struct stat st;
    CU_ASSERT_FATAL(stat(path, &st) == 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

    /* readable by others: refused, never silently fixed */
    CU_ASSERT_FATAL(chmod(path, 0644) == 0);
    MO_ASSERT_RC(MO_EINVAL, mo_cat_secret_get(c, 2, pw, sizeof(pw), &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "0644") != NULL);
    MO_ASSERT_RC(MO_EINVAL, mo_cat_secret_put(c, 4, "x", &mo_test_err));
    mo_cat_result r;
    MO_ASSERT_RC(MO_EINVAL, run(c, "CREATE SUBSCRIPTION s DATABASE d FROM 'mysql://u:p@h:1'", &r));
    MO_ASSERT_OK(run(c, "SHOW SUBSCRIPTIONS", &r)); /* nothing was created */
    CU_ASSERT_EQUAL(r.nrows, 0);
    mo_cat_result_dispose(&r);
    CU_ASSERT_FATAL(chmod(path, 0640) == 0);
    MO_ASSERT_RC(MO_EINVAL, mo_cat_secret_get(c, 2, pw, sizeof(pw), &mo_test_err));
    CU_ASSERT_FATAL(chmod(path, 0600) == 0);
    MO_ASSERT_OK(mo_cat_secret_get(c, 2, pw, sizeof(pw), &mo_test_err));

    /* a flipped byte anywhere is caught */
    uint8_t *raw;
    size_t n;
    MO_ASSERT_OK(mo_sys_read_file(&raw, &n, path, &mo_test_err));
    for (size_t i = 0; i < n; i++) {
        raw[i] ^= 0x20;
        FILE *f = fopen(path, "wb");
        CU_ASSERT_FATAL(f != NULL);
        fwrite(raw, 1, n, f);
        fclose(f);
        int rc = mo_cat_secret_get(c, 2, pw, sizeof(pw), &mo_test_err);
        CU_ASSERT(rc == MO_ECHECKSUM || rc == MO_ECORRUPT);
        raw[i] ^= 0x20;
    }
    /* truncated */
    FILE *f = fopen(path, "wb");
    fwrite(raw, 1, n - 3, f);
    fclose(f);
    int rc = mo_cat_secret_get(c, 2, pw, sizeof(pw), &mo_test_err);
    CU_ASSERT(rc == MO_ECHECKSUM || rc == MO_ECORRUPT);
    f = fopen(path, "wb");
    fwrite(raw, 1, n, f);
    fclose(f);
    mo_free(raw);
    MO_ASSERT_OK(mo_cat_secret_get(c, 2, pw, sizeof(pw), &mo_test_err));
    mo_cat_close(c);

    /* readers may read, not write */
    MO_ASSERT_OK(mo_cat_open(&c, dir, MO_CAT_READ, NULL, &mo_test_err));
    MO_ASSERT_OK(mo_cat_secret_get(c, 2, pw, sizeof(pw), &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL, mo_cat_secret_put(c, 9, "x", &mo_test_err));
    mo_cat_close(c);
}

static void test_sql__secrets_io_faults(void)
{
#ifdef MO_FAULT_INJECTION
    char dir[512];
    mo_cat *c = open_w("sql_secrets_io", dir);
    MO_ASSERT_OK(mo_cat_secret_put(c, 1, "old", &mo_test_err));
    static const mo_sys_op ops[] = {MO_SYS_OPEN, MO_SYS_WRITE, MO_SYS_FSYNC, MO_SYS_RENAME};
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
        for (unsigned long nth = 1; nth < 6; nth++) {
            mo_sys_fault_arm(ops[o], nth, MO_SYS_FAULT_EIO, false);
            int rc = mo_cat_secret_put(c, 1, "new", &mo_test_err);
            mo_sys_fault_disarm_all();
            char pw[16];
            MO_ASSERT_OK(mo_cat_secret_get(c, 1, pw, sizeof(pw), &mo_test_err));
            /* old or new, never torn; success means new (a failure after the rename, at
             * the directory fsync, may leave either) */
            if (rc == MO_OK)
                CU_ASSERT_STRING_EQUAL(pw, "new");
            CU_ASSERT(!strcmp(pw, "old") || !strcmp(pw, "new"));
            MO_ASSERT_OK(mo_cat_secret_put(c, 1, "old", &mo_test_err));
        }
    }
    mo_cat_close(c);
#endif
}

static void test_sql__uri(void)
{
    mo_cat_uri u;
    char s[512];
    MO_ASSERT_OK(mo_cat_uri_parse(&u, "mysql://acc#user:p:a:ss@host.x:6001", &mo_test_err));
    CU_ASSERT_STRING_EQUAL(u.scheme, "mysql");
    CU_ASSERT_STRING_EQUAL(u.account, "acc");
    CU_ASSERT_STRING_EQUAL(u.user, "user");
    CU_ASSERT_STRING_EQUAL(u.password, "p:a:ss"); /* ':' in passwords is fine */
    CU_ASSERT_STRING_EQUAL(u.host, "host.x");
    CU_ASSERT_EQUAL(u.port, 6001);
    mo_cat_uri_format(s, sizeof(s), &u, true);
    CU_ASSERT_STRING_EQUAL(s, "mysql://acc#user:***@host.x:6001");
    mo_cat_uri_format(s, sizeof(s), &u, false);
    CU_ASSERT_STRING_EQUAL(s, "mysql://acc#user@host.x:6001");
    CU_ASSERT(strstr(s, "p:a:ss") == NULL);

    MO_ASSERT_OK(mo_cat_uri_parse(&u, "mysql://#u:p@h:1", &mo_test_err)); /* empty account */
    CU_ASSERT_STRING_EQUAL(u.account, "");
    CU_ASSERT_STRING_EQUAL(u.user, "u");
    MO_ASSERT_OK(mo_cat_uri_parse(&u, "mysql://u:p@h:1", &mo_test_err));
    CU_ASSERT_STRING_EQUAL(u.account, "");
    mo_cat_uri_format(s, sizeof(s), &u, true);
    CU_ASSERT_STRING_EQUAL(s, "mysql://u:***@h:1");
    MO_ASSERT_OK(mo_cat_uri_parse(&u, "mysql://a#b#u:p#q@h:0", &mo_test_err));
    CU_ASSERT_STRING_EQUAL(u.account, "a");
    CU_ASSERT_STRING_EQUAL(u.user, "b#u");
    CU_ASSERT_STRING_EQUAL(u.password, "p#q");
    CU_ASSERT_EQUAL(u.port, 0);
    MO_ASSERT_OK(mo_cat_uri_parse(&u, "mysql://u:@h:65535", &mo_test_err)); /* empty password */
    CU_ASSERT_EQUAL(u.port, 65535);
    /* mosync's TLS parameters: validated, kept (normalised) in the stored form */
    MO_ASSERT_OK(mo_cat_uri_parse(&u, "mysql://a#u:p@h:6001?ssl-mode=VERIFY_CA&ssl-ca=/etc/c:a.pem",
                                  &mo_test_err));
    CU_ASSERT_EQUAL(u.port, 6001);
    CU_ASSERT_STRING_EQUAL(u.ssl_mode, "verify_ca");
    CU_ASSERT_STRING_EQUAL(u.ssl_ca, "/etc/c:a.pem");
    mo_cat_uri_format(s, sizeof(s), &u, false);
    CU_ASSERT_STRING_EQUAL(s, "mysql://a#u@h:6001?ssl-mode=verify_ca&ssl-ca=/etc/c:a.pem");
    MO_ASSERT_OK(mo_cat_uri_parse(&u, "mysql://u:p@h:1?ssl-ca=/ca.pem", &mo_test_err));
    mo_cat_uri_format(s, sizeof(s), &u, true);
    CU_ASSERT_STRING_EQUAL(s, "mysql://u:***@h:1?ssl-ca=/ca.pem");
    MO_ASSERT_OK(mo_cat_uri_parse(&u, "mysql://u:p@h:1?ssl-mode=disabled", &mo_test_err));
    mo_cat_uri_format(s, sizeof(s), &u, false);
    CU_ASSERT_STRING_EQUAL(s, "mysql://u@h:1?ssl-mode=disabled");
    static const char *bad_tls[] = {
        "mysql://u:p@h:1?ssl-mode=sometimes", "mysql://u:p@h:1?ssl-mode=", "mysql://u:p@h:1?ssl-ca=",
        "mysql://u:p@h:1?ssl-ca=rel/ca.pem",  "mysql://u:p@h:1?ssl-ca=/a#b", "mysql://u:p@h:1?ssl-mode",
        "mysql://u:p@h:1?ssl-mode=required&x=1", "mysql://u:p@h:?ssl-mode=required",
    };
    for (size_t i = 0; i < sizeof(bad_tls) / sizeof(bad_tls[0]); i++)
        CU_ASSERT_EQUAL(mo_cat_uri_parse(&u, bad_tls[i], NULL), MO_EINVAL);
    char longca[MO_CAT_URI_SSL_CA_MAX + 40];
    snprintf(longca, sizeof(longca), "mysql://u:p@h:1?ssl-ca=/%0*d", MO_CAT_URI_SSL_CA_MAX, 0);
    CU_ASSERT_EQUAL(mo_cat_uri_parse(&u, longca, NULL), MO_EINVAL);

    MO_ASSERT_OK(mo_cat_uri_parse(&u, "dir:///data/x", &mo_test_err));
    CU_ASSERT_STRING_EQUAL(u.scheme, "dir");
    CU_ASSERT_STRING_EQUAL(u.path, "/data/x");
    mo_cat_uri_format(s, sizeof(s), &u, true);
    CU_ASSERT_STRING_EQUAL(s, "dir:///data/x");
    MO_ASSERT_OK(mo_cat_uri_parse(&u, "bundle:///b/x.tar", &mo_test_err));
    CU_ASSERT_STRING_EQUAL(u.scheme, "bundle");
    CU_ASSERT_STRING_EQUAL(u.path, "/b/x.tar");

    static const char *bad[] = {
        "mysql://u:pa@ss@h:1",    /* '@' in the password */
        "mysql://u:p@[::1]:3306", /* IPv6 */
        "mysql://u:p@::1:3306",   /* IPv6 unbracketed */
        "mysql://u:p@h:65536",    /* port out of range */
        "mysql://u:p@h:-1",
        "mysql://u:p@h:+1",
        "mysql://u:p@h:",
        "mysql://u:p@h",
        "mysql://u:p@h:1/db",  /* no /db */
        "mysql://u:p@h:1?x=1", /* no ?params */
        "mysql://u:p@h/db:1",
        "mysql://u:p@:1",
        "mysql://up@h:1", /* no password */
        "mysql://:p@h:1", /* empty user */
        "mysql://u:p",
        "MYSQL://u:p@h:1",
        "mysql:/u:p@h:1",
        "http://u:p@h:1",
        "dir://relative",
        "bundle://x.tar",
        "",
        "mysql://u:p\n@h:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mo_err err;
        mo_err_clear(&err);
        int rc = mo_cat_uri_parse(&u, bad[i], &err);
        if (rc != MO_EINVAL)
            fprintf(stderr, "\naccepted bad URI '%s'\n", bad[i]);
        CU_ASSERT_EQUAL(rc, MO_EINVAL);
        CU_ASSERT(strstr(err.msg, "pa") == NULL || strstr(err.msg, "pa@ss") == NULL);
        CU_ASSERT_STRING_EQUAL(u.password, ""); /* nothing left behind */
    }
}

static int collect(const char *stmt, void *payload)
{
    mo_buf *b = payload;
    mo_buf_printf(b, "[%s]", stmt);
    return !strcmp(stmt, "stop");
}

static void test_sql__split(void)
{
    mo_buf b = MO_BUF_INIT;
    MO_ASSERT_OK(mo_cat_sql_foreach_stmt(
        "SHOW SUBSCRIPTIONS;\n  create x from 'a;b''c;' ;;\n-- only a comment\n;"
        "drop `x;y`  ; -- tail ; comment\nlast",
        collect, &b, &mo_test_err));
    mo_buf_cstr(&b);
    CU_ASSERT_STRING_EQUAL((char *)b.ptr, "[SHOW SUBSCRIPTIONS][create x from 'a;b''c;'][drop "
                                          "`x;y`][-- tail ; comment\nlast]");
    b.len = 0;
    MO_ASSERT_OK(mo_cat_sql_foreach_stmt("", collect, &b, &mo_test_err));
    CU_ASSERT_EQUAL(b.len, 0);
    MO_ASSERT_RC(MO_EINVAL, mo_cat_sql_foreach_stmt("a; b 'x;", collect, &b, &mo_test_err));
    MO_ASSERT_RC(MO_EUSER, mo_cat_sql_foreach_stmt("a;stop;c", collect, &b, &mo_test_err));
    mo_buf_dispose(&b);

    CU_ASSERT(mo_cat_sql_readonly("  show subscriptions"));
    CU_ASSERT(mo_cat_sql_readonly("SHOW SUBSCRIPTION TASKS x;"));
    CU_ASSERT(!mo_cat_sql_readonly("DROP SUBSCRIPTION x"));
    CU_ASSERT(!mo_cat_sql_readonly("'show'"));
}

static int exec_cb(const char *stmt, void *payload)
{
    mo_cat_result r;
    int rc = run(payload, stmt, &r);
    mo_cat_result_dispose(&r);
    return rc < 0;
}

static void test_sql__multi_statement_script(void)
{
    char dir[512];
    mo_cat *c = open_w("sql_script", dir);
    const char *script = "CREATE SUBSCRIPTION a DATABASE da FROM 'mysql://u:x;y@h:1';\n"
                         "-- the second one\n"
                         "CREATE SUBSCRIPTION b DATABASE db FROM 'dir:///p';\n"
                         "PAUSE SUBSCRIPTION b;\n";
    MO_ASSERT_OK(mo_cat_sql_foreach_stmt(script, exec_cb, c, &mo_test_err));
    mo_cat_sub s;
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "a", &s));
    char pw[16];
    MO_ASSERT_OK(mo_cat_secret_get(c, s.task_id, pw, sizeof(pw), &mo_test_err));
    CU_ASSERT_STRING_EQUAL(pw, "x;y");
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "b", &s));
    CU_ASSERT_EQUAL(s.state, MO_CAT_SUB_PAUSED);
    /* a failing statement stops the script */
    MO_ASSERT_RC(MO_EUSER, mo_cat_sql_foreach_stmt("RESUME SUBSCRIPTION b; BOGUS; DROP "
                                                   "SUBSCRIPTION a",
                                                   exec_cb, c, &mo_test_err));
    MO_ASSERT_OK(mo_cat_get_sub_by_name(c, "a", &s));
    CU_ASSERT_EQUAL(s.state, MO_CAT_SUB_RUNNING);
    mo_cat_close(c);
}

static void test_sql__oom(void)
{
#ifdef MO_FAULT_INJECTION
    char dir[512];
    mo_cat *c = open_w("sql_oom", dir);
    run_ok(c, "CREATE SUBSCRIPTION s0 DATABASE d0 FROM 'mysql://u:p@h:1'");
    for (unsigned long nth = 1;; nth++) {
        mo_cat_result r;
        mo_alloc_fail_at(nth, false);
        int rc = run(c, "SHOW SUBSCRIPTIONS", &r);
        mo_alloc_fail_at(0, false);
        if (rc == MO_OK) {
            CU_ASSERT_EQUAL(r.nrows, 1);
            mo_cat_result_dispose(&r);
            break;
        }
        CU_ASSERT_EQUAL_FATAL(rc, MO_ENOMEM);
        CU_ASSERT_FATAL(nth < 1000);
    }
    mo_cat_close(c);
#endif
}

static CU_TestInfo sql_tests[] = {
    {"create_forms", test_sql__create_forms},
    {"show_subscriptions", test_sql__show_subscriptions},
    {"drop_pause_resume", test_sql__drop_pause_resume},
    {"show_tasks", test_sql__show_tasks},
    {"errors_change_nothing", test_sql__errors_change_nothing},
    {"password_never_leaks", test_sql__password_never_leaks},
    {"secrets_file", test_sql__secrets_file},
    {"secrets_io_faults", test_sql__secrets_io_faults},
    {"uri", test_sql__uri},
    {"split", test_sql__split},
    {"multi_statement_script", test_sql__multi_statement_script},
    {"oom", test_sql__oom},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_sql_suites[] = {
    {"sql", NULL, NULL, NULL, NULL, sql_tests},
    CU_SUITE_INFO_NULL,
};
