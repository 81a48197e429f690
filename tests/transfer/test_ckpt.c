/* The checkpoint journal: replay, torn tails at every byte offset of the last record,
 * every bit flip of it, another job's journal refused, a finished job archived. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../transfer/xfer_ckpt.h"
#include "mo/sys.h"
#include "mo_test.h"

static const char *N1 = "0191b752-b7af-76d9-af25-e702423dc08a_00000";
static const char *N2 = "0191b752-b7af-76d9-af25-e702423dc08a_00001";

static mo_ckpt_job job_of(const char *src)
{
    mo_ckpt_job j = {src, {1, 2}, 2, 65536};
    return j;
}

static void write_journal(const char *dir, int chunks)
{
    mo_ckpt *c;
    uint64_t torn;
    mo_ckpt_job j = job_of("dir:/a");
    MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
    for (int i = 0; i < chunks; i++)
        MO_ASSERT_OK(mo_ckpt_chunk(c, N1, (uint32_t)i, (uint64_t)i * 65536, 65536, 1000 + i, &mo_test_err));
    mo_ckpt_free(c);
}

static void test_ckpt__replay(void)
{
    const char *dir = mo_test_tmpdir("ckpt");
    mo_ckpt *c;
    uint64_t torn;
    mo_ckpt_job j = job_of("dir:/a");
    MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
    MO_ASSERT_OK(mo_ckpt_chunk(c, N1, 0, 0, 65536, 11, &mo_test_err));
    MO_ASSERT_OK(mo_ckpt_chunk(c, N1, 1, 65536, 100, 12, &mo_test_err));
    MO_ASSERT_OK(mo_ckpt_done(c, N1, 65636, (mo_digest128){5, 6}, true, &mo_test_err));
    MO_ASSERT_OK(mo_ckpt_chunk(c, N2, 0, 0, 7, 13, &mo_test_err));
    mo_ckpt_free(c);
    MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
    CU_ASSERT_EQUAL(torn, 0);
    const mo_ckpt_obj *o = mo_ckpt_get(c, N1);
    CU_ASSERT_FATAL(o != NULL);
    CU_ASSERT(o->done && o->size == 65636 && o->digest.lo == 5 && o->digest.hi == 6);
    CU_ASSERT(o->nchunks == 2 && o->chunk[1].off == 65536 && o->chunk[1].len == 100 && o->chunk[1].hash == 12);
    o = mo_ckpt_get(c, N2);
    CU_ASSERT(o && !o->done && o->nchunks == 1 && o->chunk[0].hash == 13);
    CU_ASSERT_PTR_NULL(mo_ckpt_get(c, "0191b752-b7af-76d9-af25-e702423dc08a_00002"));
    char src[64];
    MO_ASSERT_OK(mo_ckpt_peek_source(src, sizeof(src), dir, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(src, "dir:/a");
    mo_ckpt_free(c);
}

static void test_ckpt__torn_tail_every_offset(void)
{
    const char *dir = mo_test_tmpdir("ckpt");
    write_journal(dir, 3);
    char path[600];
    snprintf(path, sizeof(path), "%s/journal", dir);
    uint8_t *data;
    size_t n;
    MO_ASSERT_OK(mo_sys_read_file(&data, &n, path, &mo_test_err));
    const size_t rec = 4 + 66 + 8;
    for (size_t cut = n - rec; cut < n; cut++) {
        MO_ASSERT_OK(mo_sys_write_file_atomic(path, data, cut, &mo_test_err));
        mo_ckpt *c;
        uint64_t torn;
        mo_ckpt_job j = job_of("dir:/a");
        MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
        CU_ASSERT_EQUAL(torn, cut - (n - rec));
        const mo_ckpt_obj *o = mo_ckpt_get(c, N1);
        CU_ASSERT_FATAL(o != NULL);
        CU_ASSERT_EQUAL(o->nchunks, 2); /* exactly the previous state */
        /* appending after the cut continues the valid prefix */
        MO_ASSERT_OK(mo_ckpt_chunk(c, N1, 2, 131072, 65536, 99, &mo_test_err));
        mo_ckpt_free(c);
        MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
        CU_ASSERT_EQUAL(torn, 0);
        CU_ASSERT_EQUAL(mo_ckpt_get(c, N1)->chunk[2].hash, 99);
        mo_ckpt_free(c);
    }
    /* every bit of the last record flipped: that record is dropped, never trusted */
    for (size_t pos = n - rec; pos < n; pos++)
        for (int bit = 0; bit < 8; bit++) {
            data[pos] ^= (uint8_t)(1 << bit);
            MO_ASSERT_OK(mo_sys_write_file_atomic(path, data, n, &mo_test_err));
            data[pos] ^= (uint8_t)(1 << bit);
            mo_ckpt *c;
            uint64_t torn;
            mo_ckpt_job j = job_of("dir:/a");
            MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
            CU_ASSERT_EQUAL(torn, rec);
            CU_ASSERT_EQUAL(mo_ckpt_get(c, N1)->nchunks, 2);
            mo_ckpt_free(c);
        }
    free(data);
}

static void test_ckpt__foreign_job(void)
{
    const char *dir = mo_test_tmpdir("ckpt");
    write_journal(dir, 2);
    mo_ckpt *c;
    uint64_t torn;
    mo_ckpt_job j = job_of("dir:/b");
    MO_ASSERT_RC(MO_ESTALE, mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "dir:/a") && strstr(mo_test_err.msg, "dir:/b"));
    j = job_of("dir:/a");
    j.chunk_size = 4096;
    MO_ASSERT_RC(MO_ESTALE, mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
    j = job_of("dir:/a");
    j.list.lo = 77;
    MO_ASSERT_RC(MO_ESTALE, mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
    /* header damage: the job cannot be told, so it is refused, not discarded */
    char path[600];
    snprintf(path, sizeof(path), "%s/journal", dir);
    uint8_t *data;
    size_t n;
    MO_ASSERT_OK(mo_sys_read_file(&data, &n, path, &mo_test_err));
    for (size_t pos = 0; pos < 60; pos++) {
        data[pos] ^= 0x10;
        MO_ASSERT_OK(mo_sys_write_file_atomic(path, data, n, &mo_test_err));
        data[pos] ^= 0x10;
        j = job_of("dir:/a");
        MO_ASSERT_RC(MO_ESTALE, mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
        struct stat st;
        CU_ASSERT(stat(path, &st) == 0 && (size_t)st.st_size == n);
    }
    free(data);
}

static void test_ckpt__finished_job_archived(void)
{
    const char *dir = mo_test_tmpdir("ckpt");
    mo_ckpt *c;
    uint64_t torn;
    mo_ckpt_job j = job_of("dir:/a");
    MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
    MO_ASSERT_OK(mo_ckpt_done(c, N1, 10, (mo_digest128){1, 1}, true, &mo_test_err));
    MO_ASSERT_OK(mo_ckpt_job_done(c, &mo_test_err));
    mo_ckpt_free(c);
    /* same job again: state kept */
    MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
    CU_ASSERT(mo_ckpt_get(c, N1) && mo_ckpt_get(c, N1)->done);
    mo_ckpt_free(c);
    /* another job after a finished one: a fresh journal, the old one archived */
    j = job_of("dir:/b");
    MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
    CU_ASSERT_PTR_NULL(mo_ckpt_get(c, N1));
    mo_ckpt_free(c);
    char src[64];
    MO_ASSERT_OK(mo_ckpt_peek_source(src, sizeof(src), dir, &mo_test_err));
    CU_ASSERT_STRING_EQUAL(src, "dir:/b");
}

static void test_ckpt__io_faults(void)
{
    /* every write/fsync of a record failing: an error, and the journal keeps the prefix */
    for (int op = MO_SYS_WRITE; op <= MO_SYS_FSYNC; op++) {
        const char *dir = mo_test_tmpdir("ckpt");
        write_journal(dir, 1);
        mo_ckpt *c;
        uint64_t torn;
        mo_ckpt_job j = job_of("dir:/a");
        MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
        MO_ASSERT_OK(mo_sys_fault_arm((mo_sys_op)op, 1, MO_SYS_FAULT_ENOSPC, false));
        /* chunk records are written at once and fsynced in batches; DONE is fsynced at once */
        int rc = op == MO_SYS_WRITE ? mo_ckpt_chunk(c, N1, 1, 65536, 65536, 5, &mo_test_err)
                                    : mo_ckpt_done(c, N1, 65536, (mo_digest128){1, 2}, true, &mo_test_err);
        mo_sys_fault_disarm_all();
        if (rc != MO_ENOSPC)
            mo_ckpt_free(c);
        MO_ASSERT_RC(MO_ENOSPC, rc);
        if (op == MO_SYS_FSYNC) {
            MO_ASSERT_OK(mo_sys_fault_arm(MO_SYS_FSYNC, 1, MO_SYS_FAULT_EIO, false));
            rc = mo_ckpt_sync(c, &mo_test_err);
            mo_sys_fault_disarm_all();
            MO_ASSERT_RC(MO_EIO, rc);
        }
        mo_ckpt_free(c);
        MO_ASSERT_OK(mo_ckpt_open(&c, dir, &j, &torn, &mo_test_err));
        CU_ASSERT(mo_ckpt_get(c, N1)->nchunks >= 1);
        mo_ckpt_free(c);
    }
}

static CU_TestInfo ckpt_tests[] = {
    {"test_ckpt__replay", test_ckpt__replay},
    {"test_ckpt__torn_tail_every_offset", test_ckpt__torn_tail_every_offset},
    {"test_ckpt__foreign_job", test_ckpt__foreign_job},
    {"test_ckpt__finished_job_archived", test_ckpt__finished_job_archived},
    {"test_ckpt__io_faults", test_ckpt__io_faults},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_ckpt_suites[] = {
    {"ckpt", NULL, NULL, NULL, NULL, ckpt_tests},
    CU_SUITE_INFO_NULL,
};
