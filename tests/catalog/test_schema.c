/* Schema parsing of MO's CREATE TABLE text (ccpr-protocol.md §3.6.1): the three spec examples,
 * hidden columns and seqnums (§5.13), the type mapping, tolerated clauses, exact errors. */
#include <string.h>

#include "mo/cat.h"
#include "mo_test.h"

static const char *T1 = "CREATE TABLE `db1`.`t1` (\n"
                        "  `id` int NOT NULL,\n"
                        "  `name` varchar(100) NOT NULL,\n"
                        "  `email` varchar(200) DEFAULT NULL,\n"
                        "  `status` varchar(10) DEFAULT 'active',\n"
                        "  PRIMARY KEY (`id`)\n"
                        ") COLLATE=utf8mb4_general_ci PROPERTIES('from_publication' = 'true')";

static const char *ORDERS =
    "CREATE TABLE `db1`.`orders` (\n"
    "  `o_id` bigint NOT NULL,\n"
    "  `line` int NOT NULL,\n"
    "  `sku` char(8) DEFAULT NULL,\n"
    "  `qty` int NOT NULL,\n"
    "  `note` text DEFAULT NULL,\n"
    "  PRIMARY KEY (`o_id`,`line`),\n"
    "  UNIQUE KEY `uk_sku_qty` (`sku`,`qty`),\n"
    "  KEY `idx_sku` (`sku`)\n"
    ") COLLATE=utf8mb4_general_ci COMMENT='order lines' PROPERTIES('from_publication' = 'true')";

static const char *METRICS = "CREATE TABLE `db1`.`metrics` (\n"
                             "  `ts` datetime(6) NOT NULL,\n"
                             "  `host` varchar(64) DEFAULT 'none',\n"
                             "  `val` double DEFAULT NULL\n"
                             ") COLLATE=utf8mb4_general_ci PROPERTIES('from_publication' = "
                             "'true') CLUSTER BY (`ts`, `host`)";

static void check_col(const mo_cat_col *c, const char *name, uint8_t oid, uint16_t seq, bool hidden,
                      bool not_null)
{
    CU_ASSERT_STRING_EQUAL(c->name, name);
    CU_ASSERT_EQUAL(c->type.oid, oid);
    CU_ASSERT_EQUAL(c->seqnum, seq);
    CU_ASSERT_EQUAL(c->hidden, hidden);
    CU_ASSERT_EQUAL(c->not_null, not_null);
}

static void test_schema__t1(void)
{
    mo_cat_table t;
    MO_ASSERT_OK(mo_cat_schema_parse(&t, T1, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(t.db, "db1");
    CU_ASSERT_STRING_EQUAL(t.name, "t1");
    CU_ASSERT_FATAL(t.ncols == 4);
    check_col(&t.cols[0], "id", MO_T_INT32, 0, false, true);
    check_col(&t.cols[1], "name", MO_T_VARCHAR, 1, false, true);
    check_col(&t.cols[2], "email", MO_T_VARCHAR, 2, false, false);
    check_col(&t.cols[3], "status", MO_T_VARCHAR, 3, false, false);
    CU_ASSERT_EQUAL(t.cols[1].type.width, 100);
    CU_ASSERT_EQUAL(t.cols[2].type.width, 200);
    CU_ASSERT_EQUAL(t.cols[1].type.charset, 3); /* utf8mb4_general_ci */
    CU_ASSERT_EQUAL(t.pk_col, 0);
    CU_ASSERT(t.real_pk);
    CU_ASSERT_EQUAL(t.sort_col, 0);
    CU_ASSERT_STRING_EQUAL(t.create_sql, T1);
    mo_cat_table_dispose(&t);
}

static void test_schema__orders_composite_pk(void)
{
    mo_cat_table t;
    MO_ASSERT_OK(mo_cat_schema_parse(&t, ORDERS, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(t.name, "orders");
    CU_ASSERT_FATAL(t.ncols == 6);
    check_col(&t.cols[0], "o_id", MO_T_INT64, 0, false, true);
    check_col(&t.cols[1], "line", MO_T_INT32, 1, false, true);
    check_col(&t.cols[2], "sku", MO_T_CHAR, 2, false, false);
    check_col(&t.cols[3], "qty", MO_T_INT32, 3, false, true);
    check_col(&t.cols[4], "note", MO_T_TEXT, 4, false, false);
    check_col(&t.cols[5], "__mo_cpkey_col", MO_T_VARCHAR, 5, true, true);
    CU_ASSERT_EQUAL(t.cols[2].type.width, 8);
    CU_ASSERT_EQUAL(t.cols[5].type.width, 65535);
    CU_ASSERT_EQUAL(t.cols[5].type.charset, 1);
    CU_ASSERT_EQUAL(t.pk_col, 5);
    CU_ASSERT(t.real_pk);
    CU_ASSERT_EQUAL(t.sort_col, 5);
    mo_cat_table_dispose(&t);
}

static void test_schema__metrics_fake_pk_cluster_by(void)
{
    mo_cat_table t;
    MO_ASSERT_OK(mo_cat_schema_parse(&t, METRICS, &mo_test_err));
    CU_ASSERT_FATAL(t.ncols == 5);
    check_col(&t.cols[0], "ts", MO_T_DATETIME, 0, false, true);
    CU_ASSERT_EQUAL(t.cols[0].type.scale, 6);
    check_col(&t.cols[1], "host", MO_T_VARCHAR, 1, false, false);
    check_col(&t.cols[2], "val", MO_T_FLOAT64, 2, false, false);
    check_col(&t.cols[3], "__mo_fake_pk_col", MO_T_UINT64, 3, true, true);
    check_col(&t.cols[4], "__mo_cbkey_002ts004host", MO_T_VARCHAR, 4, true, false);
    CU_ASSERT_EQUAL(t.pk_col, 3);
    CU_ASSERT(!t.real_pk);
    CU_ASSERT_EQUAL(t.sort_col, 4);
    mo_cat_table_dispose(&t);
}

static void test_schema__no_pk_single_cluster_by(void)
{
    mo_cat_table t;
    MO_ASSERT_OK(mo_cat_schema_parse(&t,
                                     "CREATE TABLE `d`.`m` (\n  `a` int DEFAULT NULL,\n  `b` "
                                     "bigint DEFAULT NULL\n) CLUSTER BY (`b`)",
                                     &mo_test_err));
    CU_ASSERT_FATAL(t.ncols == 3);
    check_col(&t.cols[2], "__mo_fake_pk_col", MO_T_UINT64, 2, true, true);
    CU_ASSERT_EQUAL(t.pk_col, 2);
    CU_ASSERT(!t.real_pk);
    CU_ASSERT_EQUAL(t.sort_col, 1);
    mo_cat_table_dispose(&t);

    MO_ASSERT_OK(
        mo_cat_schema_parse(&t, "CREATE TABLE `d`.`n` (\n  `a` int DEFAULT NULL\n)", &mo_test_err));
    CU_ASSERT_EQUAL(t.ncols, 2);
    CU_ASSERT_EQUAL(t.sort_col, -1); /* a fake pk is never a sort key */
    CU_ASSERT_EQUAL(t.pk_col, 1);
    mo_cat_table_dispose(&t);
}

static void test_schema__types(void)
{
    static const char *sql =
        "CREATE TABLE `db`.`all` (\n"
        "  `a` tinyint unsigned NOT NULL,\n"
        "  `b` smallint DEFAULT NULL,\n"
        "  `c` int unsigned DEFAULT NULL,\n"
        "  `d` bigint unsigned NOT NULL AUTO_INCREMENT,\n"
        "  `e` float DEFAULT NULL,\n"
        "  `f` double(10,3) DEFAULT '1.5',\n"
        "  `g` decimal(10,2) DEFAULT NULL,\n"
        "  `h` decimal(16,0) DEFAULT NULL,\n"
        "  `i` decimal(17,4) DEFAULT NULL,\n"
        "  `j` decimal(38,10) DEFAULT NULL,\n"
        "  `k` char(8) COLLATE utf8mb4_bin DEFAULT NULL,\n"
        "  `l` varchar(100) COLLATE binary NOT NULL,\n"
        "  `m` text DEFAULT NULL,\n"
        "  `n` tinytext DEFAULT NULL,\n"
        "  `o` mediumtext DEFAULT NULL,\n"
        "  `p` longtext DEFAULT NULL,\n"
        "  `q` blob DEFAULT NULL,\n"
        "  `r` json DEFAULT NULL,\n"
        "  `s` binary(16) DEFAULT NULL,\n"
        "  `t` varbinary(16) DEFAULT NULL,\n"
        "  `u` bool DEFAULT true,\n"
        "  `v` date DEFAULT NULL,\n"
        "  `w` time DEFAULT NULL,\n"
        "  `x` time(3) DEFAULT NULL,\n"
        "  `y` datetime DEFAULT CURRENT_TIMESTAMP() ON UPDATE CURRENT_TIMESTAMP(),\n"
        "  `z` timestamp(3) NULL DEFAULT NULL,\n"
        "  `bb` bit(8) DEFAULT b'101',\n"
        "  `yy` year DEFAULT NULL,\n"
        "  `en` enum('a','b''c') DEFAULT 'a' COMMENT 'an, enum',\n"
        "  `uu` uuid DEFAULT NULL,\n"
        "  `v1` vecf32(128) DEFAULT NULL,\n"
        "  `v2` vecf64(3) DEFAULT NULL,\n"
        "  `gc` int GENERATED ALWAYS AS ((`c` + 1)) STORED,\n"
        "  `neg` int DEFAULT -5,\n"
        "  `ex` varchar(20) DEFAULT (concat('a', 'b')),\n"
        "  `we``ird` smallint unsigned DEFAULT NULL,\n"
        "  PRIMARY KEY (`d`),\n"
        "  UNIQUE KEY `u1` (`k`,`l`),\n"
        " FULLTEXT `ft`(`m`) WITH PARSER ngram,\n"
        "  KEY `idx10` USING ivfflat (`v1`) lists = 1  op_type 'vector_l2_ops' ,\n"
        "  KEY `kp` (`l`(10)) INVISIBLE COMMENT 'prefix',\n"
        "  CONSTRAINT `chk` CHECK ((`b` > 0))\n"
        ") COLLATE=utf8mb4_general_ci COMMENT='all, the types' PROPERTIES('k''1' = 'v\\\\1', "
        "'from_publication' = 'true');";
    mo_cat_table t;
    MO_ASSERT_OK(mo_cat_schema_parse(&t, sql, &mo_test_err));
    static const struct {
        const char *name;
        uint8_t oid;
        int32_t width, scale;
    } want[] = {
        {"a", MO_T_UINT8, -1, -1},     {"b", MO_T_INT16, -1, -1},
        {"c", MO_T_UINT32, -1, -1},    {"d", MO_T_UINT64, -1, -1},
        {"e", MO_T_FLOAT32, -1, -1},   {"f", MO_T_FLOAT64, 10, 3},
        {"g", MO_T_DECIMAL64, 10, 2},  {"h", MO_T_DECIMAL64, 16, 0},
        {"i", MO_T_DECIMAL128, 17, 4}, {"j", MO_T_DECIMAL128, 38, 10},
        {"k", MO_T_CHAR, 8, -1},       {"l", MO_T_VARCHAR, 100, -1},
        {"m", MO_T_TEXT, -1, -1},      {"n", MO_T_TEXT, 255, -1},
        {"o", MO_T_TEXT, -1, -1},      {"p", MO_T_TEXT, -1, -1},
        {"q", MO_T_BLOB, -1, -1},      {"r", MO_T_JSON, -1, -1},
        {"s", MO_T_BINARY, 16, -1},    {"t", MO_T_VARBINARY, 16, -1},
        {"u", MO_T_BOOL, -1, -1},      {"v", MO_T_DATE, -1, -1},
        {"w", MO_T_TIME, -1, 0},       {"x", MO_T_TIME, -1, 3},
        {"y", MO_T_DATETIME, -1, 0},   {"z", MO_T_TIMESTAMP, -1, 3},
        {"bb", MO_T_BIT, 8, -1},       {"yy", MO_T_YEAR, -1, -1},
        {"en", MO_T_ENUM, -1, -1},     {"uu", MO_T_UUID, -1, -1},
        {"v1", MO_T_VECF32, 128, -1},  {"v2", MO_T_VECF64, 3, -1},
        {"gc", MO_T_INT32, -1, -1},    {"neg", MO_T_INT32, -1, -1},
        {"ex", MO_T_VARCHAR, 20, -1},  {"we`ird", MO_T_UINT16, -1, -1},
    };
    size_t n = sizeof(want) / sizeof(want[0]);
    CU_ASSERT_FATAL(t.ncols == n);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_STRING_EQUAL(t.cols[i].name, want[i].name);
        CU_ASSERT_EQUAL(t.cols[i].type.oid, want[i].oid);
        CU_ASSERT_EQUAL(t.cols[i].seqnum, i);
        CU_ASSERT(!t.cols[i].hidden);
        if (want[i].width >= 0)
            CU_ASSERT_EQUAL(t.cols[i].type.width, want[i].width);
        if (want[i].scale >= 0)
            CU_ASSERT_EQUAL(t.cols[i].type.scale, want[i].scale);
    }
    CU_ASSERT_EQUAL(t.cols[10].type.charset, 2); /* COLLATE utf8mb4_bin */
    CU_ASSERT_EQUAL(t.cols[11].type.charset, 1); /* COLLATE binary */
    CU_ASSERT_EQUAL(t.cols[12].type.charset, 3); /* table default */
    CU_ASSERT_EQUAL(t.cols[16].type.charset, 1); /* blob */
    CU_ASSERT_EQUAL(t.pk_col, 3);
    CU_ASSERT(t.real_pk);
    CU_ASSERT(t.cols[3].not_null);
    mo_cat_table_dispose(&t);
}

static void test_schema__table_collation_and_names(void)
{
    mo_cat_table t;
    MO_ASSERT_OK(mo_cat_schema_parse(&t,
                                     "CREATE TABLE `d``b`.`T x` (\n  `a` varchar(5) NOT NULL,\n"
                                     "  `b` text DEFAULT NULL,\n  PRIMARY KEY (`a`)\n) "
                                     "COLLATE=utf8mb4_bin",
                                     &mo_test_err));
    CU_ASSERT_STRING_EQUAL(t.db, "d`b");
    CU_ASSERT_STRING_EQUAL(t.name, "T x");
    CU_ASSERT_EQUAL(t.cols[0].type.charset, 2);
    CU_ASSERT_EQUAL(t.cols[1].type.charset, 2);
    mo_cat_table_dispose(&t);
    /* the upstream's text as users type it: unqualified, lower case, inline key */
    MO_ASSERT_OK(mo_cat_schema_parse(
        &t, "create table t (id bigint primary key, v varchar(10)) character set=binary;",
        &mo_test_err));
    CU_ASSERT_STRING_EQUAL(t.db, "");
    CU_ASSERT_EQUAL(t.ncols, 2);
    CU_ASSERT_EQUAL(t.pk_col, 0);
    CU_ASSERT(t.cols[0].not_null);
    CU_ASSERT_EQUAL(t.cols[1].type.charset, 1);
    mo_cat_table_dispose(&t);
}

static void expect_einval(const char *sql, const char *needle)
{
    mo_cat_table t;
    mo_err err;
    mo_err_clear(&err);
    int rc = mo_cat_schema_parse(&t, sql, &err);
    CU_ASSERT_EQUAL(rc, MO_EINVAL);
    if (needle && !strstr(err.msg, needle)) {
        fprintf(stderr, "\nmessage '%s' lacks '%s'\n", err.msg, needle);
        CU_FAIL("error message");
    }
    CU_ASSERT_EQUAL(t.ncols, 0);
    CU_ASSERT_PTR_NULL(t.cols);
    CU_ASSERT_PTR_NULL(t.create_sql);
}

static void test_schema__errors(void)
{
    expect_einval("", "CREATE");
    expect_einval("CREATE VIEW `d`.`v` AS SELECT 1", "VIEW");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` geometry DEFAULT NULL\n)", "line 2");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` geometry DEFAULT NULL\n)", "geometry");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` int FROBNICATE\n)", "FROBNICATE");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` int\n) PARTITION BY HASH(a)", "PARTITION");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` int,\n  PRIMARY KEY (`zz`)\n)", "zz");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` int,\n  `A` int\n)", "duplicate column");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` int,\n  PRIMARY KEY (`a`)\n) CLUSTER BY (`a`)",
                  "CLUSTER BY");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` int DEFAULT 'x\n)", "unterminated");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a int\n)", "unterminated");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` decimal(5,7)\n)", "scale");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` datetime(7)\n)", "precision");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` vecf32\n)", "dimension");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` int\n) garbage", "garbage");
    expect_einval("CREATE TABLE `d`.`t` (\n)", NULL);
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` int PRIMARY KEY,\n  PRIMARY KEY (`a`)\n)",
                  "second primary key");
    expect_einval("CREATE TABLE `d`.`t` (\n  `a` int\n", NULL);
}

static void test_schema__oom(void)
{
#ifdef MO_FAULT_INJECTION
    for (unsigned long nth = 1;; nth++) {
        mo_cat_table t;
        mo_alloc_fail_at(nth, false);
        int rc = mo_cat_schema_parse(&t, ORDERS, NULL);
        mo_alloc_fail_at(0, false);
        if (rc == MO_OK) {
            CU_ASSERT_EQUAL(t.ncols, 6);
            mo_cat_table_dispose(&t);
            break;
        }
        CU_ASSERT_EQUAL_FATAL(rc, MO_ENOMEM);
        CU_ASSERT_PTR_NULL(t.cols);
        CU_ASSERT_FATAL(nth < 1000);
    }
#endif
}

static CU_TestInfo schema_tests[] = {
    {"t1", test_schema__t1},
    {"orders_composite_pk", test_schema__orders_composite_pk},
    {"metrics_fake_pk_cluster_by", test_schema__metrics_fake_pk_cluster_by},
    {"no_pk_single_cluster_by", test_schema__no_pk_single_cluster_by},
    {"types", test_schema__types},
    {"table_collation_and_names", test_schema__table_collation_and_names},
    {"errors", test_schema__errors},
    {"oom", test_schema__oom},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_schema_suites[] = {
    {"schema", NULL, NULL, NULL, NULL, schema_tests},
    CU_SUITE_INFO_NULL,
};
