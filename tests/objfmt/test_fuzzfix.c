/* Regressions for library bugs found by the fuzz targets (tests/fuzz/RESULTS.md). Each case
 * rebuilds the trigger from a valid object so that it documents the rule, and the raw
 * fuzzer input is kept in tests/fuzz/corpus/<target>/regress_*. */
#include <string.h>

#include "mo/objfmt.h"
#include "mo_test.h"

/* A small valid object: int64 PK + varchar, @p rows rows in one block. */
static void small_object(mo_buf *file, mo_obj_stats *st, uint32_t rows)
{
    mo_obj_writer_col cols[2] = {{{.oid = MO_T_INT64, .size = 8}, 0},
                                 {{.oid = MO_T_VARCHAR, .size = 24}, 1}};
    mo_obj_writer_opts o = {0};
    o.pk_pos = 0;
    o.sort_key_pos = -1;
    mo_obj_writer *w;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, 2, &o, &mo_test_err));
    mo_obj_colbuf c[2];
    mo_obj_vec v[2];
    for (int i = 0; i < 2; i++)
        mo_obj_colbuf_init(&c[i], &cols[i].type);
    for (uint32_t r = 0; r < rows; r++) {
        uint8_t k[8];
        mo_store_le64(k, r * 7u);
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c[0], k));
        MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c[1], "a fairly long value, out of line", 32));
    }
    for (int i = 0; i < 2; i++)
        mo_obj_colbuf_view(&v[i], &c[i]);
    MO_ASSERT_OK(mo_obj_writer_add_block(w, v, &mo_test_err));
    MO_ASSERT_OK(mo_obj_writer_finish(w, file, st, &mo_test_err));
    mo_obj_writer_free(w);
    for (int i = 0; i < 2; i++)
        mo_obj_colbuf_dispose(&c[i]);
}

/* obj_reader.c mo_obj__read_extent: the meta extent's originSize was reserved before
 * anything checked it, so a 2 KB object claiming a 4 GiB meta made the reader allocate
 * 4 GiB (MO_ENOMEM, or a huge allocation). Now: more than LZ4 can expand -> MO_ECORRUPT. */
static void test_fuzzfix__meta_origin_size_huge(void)
{
    mo_buf f = MO_BUF_INIT;
    mo_obj_stats st;
    small_object(&f, &st, 50);
    mo_obj_extent e;
    mo_obj_extent_decode(&e, f.ptr + 10);
    e.origin_size = 0xFFFFFFF0u;
    mo_obj_extent_encode(f.ptr + 10, &e);
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, f.ptr, f.len, "obj", &mo_test_err));
    const unsigned long before = mo_alloc_count();
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    CU_ASSERT_PTR_NOT_NULL(strstr(mo_test_err.msg, "originSize"));
    CU_ASSERT_EQUAL(mo_alloc_count(), before);
    mo_obj_reader_free(r);

    mo_obj_verify_opts o = {MO_OBJ_LEVEL_DEEP, NULL, -1, 0};
    mo_obj_verify_result res;
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_verify_mem(&res, f.ptr, f.len, "obj", &o, NULL, NULL,
                                                &mo_test_err));
    CU_ASSERT(res.problems > 0);
    mo_buf_dispose(&f);
}

/* Same function: a chunk extent reaching past the end was reserved (up to 4 GiB) before the
 * read noticed. Now MO_ETRUNCATED without allocating. */
static void test_fuzzfix__chunk_extent_past_end(void)
{
    mo_buf f = MO_BUF_INIT;
    mo_obj_stats st;
    small_object(&f, &st, 50);
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, f.ptr, f.len, "obj", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    /* damage the decoded meta in place: the reader trusts what load_meta checked */
    mo_obj_meta *m = (mo_obj_meta *)mo_obj_reader_meta(r);
    mo_obj_extent *e = &m->slots[0].blocks[0].cols[1].extent;
    e->length = 0xFFFFFF00u;
    e->origin_size = 0xFFFFFF00u;
    mo_buf scratch = MO_BUF_INIT;
    mo_obj_vec v;
    const unsigned long before = mo_alloc_count();
    MO_ASSERT_RC(MO_ETRUNCATED, mo_obj_reader_column(r, &v, &scratch, 0, 1, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(mo_alloc_count(), before);
    e->alg = MO_OBJ_ALG_NONE;
    MO_ASSERT_RC(MO_ETRUNCATED, mo_obj_reader_column(r, &v, &scratch, 0, 1, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(mo_alloc_count(), before);
    mo_buf_dispose(&scratch);
    mo_obj_reader_free(r);
    mo_buf_dispose(&f);
}

/* obj_reader.c mo_obj_reader_read: an empty extent (a 0-byte BF area, reserved into an
 * empty mo_buf whose ptr is NULL) did memcpy(NULL, src, 0), UB caught by UBSan. */
static void test_fuzzfix__empty_read_null_buffer(void)
{
    mo_buf f = MO_BUF_INIT;
    mo_obj_stats st;
    small_object(&f, &st, 3);
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, f.ptr, f.len, "obj", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_read(r, NULL, 0, 64, &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_read(r, NULL, 0, f.len, &mo_test_err));
    MO_ASSERT_RC(MO_ETRUNCATED, mo_obj_reader_read(r, NULL, 0, f.len + 1, &mo_test_err));
    mo_obj_reader_free(r);
    mo_buf_dispose(&f);
}

static CU_TestInfo fuzzfix_tests[] = {
    {"empty_read_null_buffer", test_fuzzfix__empty_read_null_buffer},
    {"meta_origin_size_huge", test_fuzzfix__meta_origin_size_huge},
    {"chunk_extent_past_end", test_fuzzfix__chunk_extent_past_end},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_fuzzfix_suites[] = {
    {"fuzzfix", NULL, NULL, NULL, NULL, fuzzfix_tests},
    CU_SUITE_INFO_NULL,
};
