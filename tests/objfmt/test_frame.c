/* Legacy DISK framing (spec §1.4): size formulas and their anchors, encode/deframe round
 * trips under any slicing, detection, single-byte corruption and truncation, and random
 * access through mo_obj_frame_pread. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mo/hash.h"
#include "mo/obj_frame.h"
#include "mo/sys.h"
#include "mo_test.h"

static uint8_t *rand_bytes(size_t n, uint64_t *seed)
{
    uint8_t *p = mo_malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)mo_test_rand(seed);
    return p;
}

/* Deframes @p p in random slices (0..max_slice bytes, zero-length slices included). */
static int deframe_sliced(mo_buf *out, const uint8_t *p, size_t n, uint64_t *seed,
                          size_t max_slice, mo_err *err)
{
    mo_obj_deframer d;
    mo_obj_deframer_init(&d);
    size_t pos = 0;
    while (pos < n) {
        size_t k = (size_t)(mo_test_rand(seed) % (max_slice + 1));
        if (k > n - pos)
            k = n - pos;
        const int rc = mo_obj_deframer_feed(&d, out, p + pos, k, err);
        if (rc < 0)
            return rc;
        pos += k;
    }
    return mo_obj_deframer_finish(&d, out, err);
}

/* ---------------------------------------------------------------- sizes */

static void test_frame_size__anchors(void)
{
    CU_ASSERT_EQUAL(mo_obj_frame_physical_size(0), 0);
    CU_ASSERT_EQUAL(mo_obj_frame_physical_size(1), 5);
    CU_ASSERT_EQUAL(mo_obj_frame_physical_size(64), 68); /* TestFileWithChecksumOffsets */
    CU_ASSERT_EQUAL(mo_obj_frame_physical_size(2043), 2047);
    CU_ASSERT_EQUAL(mo_obj_frame_physical_size(2044), 2048);
    CU_ASSERT_EQUAL(mo_obj_frame_physical_size(2045), 2053);
    CU_ASSERT_EQUAL(mo_obj_frame_physical_size(4088), 4096);
    CU_ASSERT_EQUAL(mo_obj_frame_physical_size(UINT64_MAX), UINT64_MAX); /* saturates */

    uint64_t l = 99;
    MO_ASSERT_OK(mo_obj_frame_logical_size(&l, 0, &mo_test_err));
    CU_ASSERT_EQUAL(l, 0);
    MO_ASSERT_OK(mo_obj_frame_logical_size(&l, 68, &mo_test_err));
    CU_ASSERT_EQUAL(l, 64);
    MO_ASSERT_OK(mo_obj_frame_logical_size(&l, 2048, &mo_test_err));
    CU_ASSERT_EQUAL(l, 2044);
    MO_ASSERT_OK(mo_obj_frame_logical_size(&l, 2053, &mo_test_err));
    CU_ASSERT_EQUAL(l, 2045);
    MO_ASSERT_OK(mo_obj_frame_logical_size(&l, 5, &mo_test_err));
    CU_ASSERT_EQUAL(l, 1);
    MO_ASSERT_OK(mo_obj_frame_logical_size(&l, UINT64_MAX, &mo_test_err));
}

static void test_frame_size__inverse_and_impossible(void)
{
    for (uint64_t lg = 0; lg < 3 * 2044 + 10; lg++) {
        uint64_t back;
        MO_ASSERT_OK(mo_obj_frame_logical_size(&back, mo_obj_frame_physical_size(lg), NULL));
        CU_ASSERT_EQUAL_FATAL(back, lg);
    }
    uint64_t seed = 11;
    for (int i = 0; i < 10000; i++) {
        const uint64_t lg = mo_test_rand(&seed) >> 8;
        uint64_t back;
        MO_ASSERT_OK(mo_obj_frame_logical_size(&back, mo_obj_frame_physical_size(lg), NULL));
        CU_ASSERT_EQUAL_FATAL(back, lg);
    }
    static const uint64_t bad[] = {1, 2, 3, 4, 2049, 2050, 2051, 2052, 4097, 2048ull * 1000 + 3};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t out = 123;
        mo_err_clear(&mo_test_err);
        MO_ASSERT_RC(MO_ECORRUPT, mo_obj_frame_logical_size(&out, bad[i], &mo_test_err));
        CU_ASSERT_EQUAL(out, 0);
        CU_ASSERT(mo_test_err.msg[0] != 0);
    }
    /* every physical size not of the impossible shape maps to some logical size */
    for (uint64_t p = 0; p < 3 * 2048; p++) {
        uint64_t out;
        const int rc = mo_obj_frame_logical_size(&out, p, NULL);
        const uint64_t rem = p % 2048;
        CU_ASSERT_EQUAL_FATAL(rc, rem >= 1 && rem <= 4 ? MO_ECORRUPT : MO_OK);
        if (rc == MO_OK)
            CU_ASSERT_EQUAL_FATAL(mo_obj_frame_physical_size(out), p);
    }
}

/* ---------------------------------------------------------------- encode / deframe */

static void check_layout(const uint8_t *phys, size_t plen, const uint8_t *lg, size_t n)
{
    CU_ASSERT_EQUAL_FATAL(plen, mo_obj_frame_physical_size(n));
    for (size_t b = 0; b * 2044 < n; b++) {
        const size_t k = n - b * 2044 < 2044 ? n - b * 2044 : 2044;
        const uint8_t *blk = phys + b * 2048;
        CU_ASSERT_EQUAL_FATAL(mo_load_le32(blk), mo_crc32c(0, lg + b * 2044, k));
        CU_ASSERT_EQUAL_FATAL(memcmp(blk + 4, lg + b * 2044, k), 0);
    }
}

static void test_frame_codec__roundtrip(void)
{
    static const size_t sizes[] = {0, 1, 2, 63, 64, 2043, 2044, 2045, 4087, 4088, 4089, 100000};
    static const size_t slices[] = {1, 3, 100, 2047, 2048, 2049, 5000, 200000};
    uint64_t seed = 1;
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        const size_t n = sizes[si];
        uint8_t *lg = rand_bytes(n, &seed);
        mo_buf phys = MO_BUF_INIT;
        MO_ASSERT_OK(mo_buf_put(&phys, "pre", 3)); /* encode appends */
        MO_ASSERT_OK(mo_obj_frame_encode(&phys, lg, n));
        check_layout(phys.ptr + 3, phys.len - 3, lg, n);
        for (size_t sl = 0; sl < sizeof(slices) / sizeof(slices[0]); sl++) {
            if (n > 5000 && slices[sl] < 100)
                continue; /* keep the byte-at-a-time rounds cheap */
            for (int round = 0; round < 3; round++) {
                mo_buf out = MO_BUF_INIT;
                MO_ASSERT_OK(deframe_sliced(&out, phys.ptr + 3, phys.len - 3, &seed, slices[sl],
                                            &mo_test_err));
                CU_ASSERT_EQUAL_FATAL(out.len, n);
                CU_ASSERT_FATAL(n == 0 || memcmp(out.ptr, lg, n) == 0);
                mo_buf_dispose(&out);
            }
        }
        mo_buf_dispose(&phys);
        mo_free(lg);
    }
}

static void test_frame_codec__detect(void)
{
    uint64_t seed = 5;
    /* a raw object starts with the objectio header magic and version */
    uint8_t raw[4096] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0x01, 0x00};
    CU_ASSERT_FALSE(mo_obj_frame_detect(raw, 64));
    CU_ASSERT_FALSE(mo_obj_frame_detect(raw, sizeof(raw)));
    static const size_t sizes[] = {1, 64, 2044, 2045, 5000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *lg = rand_bytes(sizes[i], &seed);
        memcpy(lg, raw, sizes[i] < 10 ? sizes[i] : 10);
        mo_buf phys = MO_BUF_INIT;
        MO_ASSERT_OK(mo_obj_frame_encode(&phys, lg, sizes[i]));
        CU_ASSERT_TRUE(mo_obj_frame_detect(phys.ptr, phys.len));
        CU_ASSERT_FALSE(mo_obj_frame_detect(lg, sizes[i]));
        if (sizes[i] >= 10) /* in a framed file the magic sits at physical offset 4 */
            CU_ASSERT_EQUAL(memcmp(phys.ptr + 4, raw, 10), 0);
        phys.ptr[phys.len - 1] ^= 0x40;
        CU_ASSERT_EQUAL(mo_obj_frame_detect(phys.ptr, phys.len), phys.len > 2048);
        mo_buf_dispose(&phys);
        mo_free(lg);
    }
    CU_ASSERT_FALSE(mo_obj_frame_detect(NULL, 0));
    CU_ASSERT_FALSE(mo_obj_frame_detect(raw, 4));
    uint8_t zero4[4] = {0};
    CU_ASSERT_FALSE(mo_obj_frame_detect(zero4, 4)); /* crc of nothing is 0, but no content */
}

/* Any single flipped byte is caught, and the error names its block and physical offset. */
static void test_frame_codec__flip_each_byte(void)
{
    uint64_t seed = 9;
    const size_t n = 5000; /* blocks of 2048, 2048 and 916 physical bytes */
    uint8_t *lg = rand_bytes(n, &seed);
    mo_buf phys = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_frame_encode(&phys, lg, n));
    for (size_t at = 0; at < phys.len; at++) {
        const uint8_t x = (uint8_t)(1 + mo_test_rand(&seed) % 255);
        phys.ptr[at] ^= x;
        mo_buf out = MO_BUF_INIT;
        mo_err_clear(&mo_test_err);
        MO_ASSERT_RC(MO_ECHECKSUM,
                     deframe_sliced(&out, phys.ptr, phys.len, &seed, 3000, &mo_test_err));
        char want[80];
        snprintf(want, sizeof(want), "block %zu at physical offset %zu:", at / 2048,
                 at / 2048 * 2048);
        if (!strstr(mo_test_err.msg, want))
            fprintf(stderr, "\nflip @%zu: '%s' lacks '%s'\n", at, mo_test_err.msg, want);
        CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(mo_test_err.msg, want));
        /* blocks before the bad one were delivered, nothing from it or after */
        CU_ASSERT_FATAL(out.len <= at / 2048 * 2044);
        mo_buf_dispose(&out);
        phys.ptr[at] ^= x;
    }
    mo_buf_dispose(&phys);
    mo_free(lg);
}

static void test_frame_codec__poisoned_until_init(void)
{
    uint64_t seed = 13;
    uint8_t *lg = rand_bytes(3000, &seed);
    mo_buf phys = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_frame_encode(&phys, lg, 3000));
    phys.ptr[10] ^= 1;
    mo_obj_deframer d;
    mo_obj_deframer_init(&d);
    mo_buf out = MO_BUF_INIT;
    MO_ASSERT_RC(MO_ECHECKSUM, mo_obj_deframer_feed(&d, &out, phys.ptr, phys.len, &mo_test_err));
    phys.ptr[10] ^= 1;
    MO_ASSERT_RC(MO_ECHECKSUM, mo_obj_deframer_feed(&d, &out, phys.ptr, phys.len, &mo_test_err));
    MO_ASSERT_RC(MO_ECHECKSUM, mo_obj_deframer_finish(&d, &out, &mo_test_err));
    CU_ASSERT_EQUAL(out.len, 0);
    mo_obj_deframer_init(&d);
    MO_ASSERT_OK(mo_obj_deframer_feed(&d, &out, phys.ptr, phys.len, &mo_test_err));
    MO_ASSERT_OK(mo_obj_deframer_finish(&d, &out, &mo_test_err));
    CU_ASSERT_EQUAL(out.len, 3000);
    CU_ASSERT_EQUAL(memcmp(out.ptr, lg, 3000), 0);
    CU_ASSERT_EQUAL(d.blocks, 2);
    CU_ASSERT_EQUAL(d.phys_pos, phys.len);
    /* a finished deframer refuses more input until re-initialized */
    MO_ASSERT_RC(MO_EINVAL, mo_obj_deframer_feed(&d, &out, phys.ptr, 1, &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL, mo_obj_deframer_finish(&d, &out, &mo_test_err));
    mo_buf_dispose(&out);
    mo_buf_dispose(&phys);
    mo_free(lg);
}

/* Cutting a framed file anywhere: at a block boundary it is a valid shorter file (the format
 * has no trailer), 1..4 bytes into a block is impossible, anywhere else the CRC fails. */
static void test_frame_codec__truncate(void)
{
    uint64_t seed = 17;
    const size_t n = 5000;
    uint8_t *lg = rand_bytes(n, &seed);
    mo_buf phys = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_frame_encode(&phys, lg, n));
    for (size_t t = 0; t < phys.len; t++) {
        mo_buf out = MO_BUF_INIT;
        const int rc = deframe_sliced(&out, phys.ptr, t, &seed, 2500, &mo_test_err);
        const size_t rem = t % 2048;
        if (rem == 0) {
            CU_ASSERT_EQUAL_FATAL(rc, MO_OK);
            CU_ASSERT_EQUAL_FATAL(out.len, t / 2048 * 2044);
            CU_ASSERT_FATAL(out.len == 0 || memcmp(out.ptr, lg, out.len) == 0);
        } else if (rem <= 4) {
            CU_ASSERT_EQUAL_FATAL(rc, MO_ECORRUPT);
        } else {
            CU_ASSERT_EQUAL_FATAL(rc, MO_ECHECKSUM);
        }
        mo_buf_dispose(&out);
    }
    mo_buf_dispose(&phys);
    mo_free(lg);
}

/* OOM loop: fail the Nth allocation until encode+deframe succeed; each round is MO_ENOMEM. */
static void test_frame_codec__oom_loop(void)
{
#ifdef MO_FAULT_INJECTION
    uint64_t seed = 19;
    uint8_t *lg = rand_bytes(10000, &seed);
    for (unsigned long nth = 1;; nth++) {
        mo_buf phys = MO_BUF_INIT, out = MO_BUF_INIT;
        mo_alloc_fail_at(nth, false);
        int rc = mo_obj_frame_encode(&phys, lg, 10000);
        if (rc == MO_OK) {
            mo_obj_deframer d;
            mo_obj_deframer_init(&d);
            for (size_t pos = 0; rc == MO_OK && pos < phys.len; pos += 700)
                rc = mo_obj_deframer_feed(&d, &out, phys.ptr + pos,
                                          phys.len - pos < 700 ? phys.len - pos : 700, NULL);
            if (rc == MO_OK)
                rc = mo_obj_deframer_finish(&d, &out, NULL);
        }
        mo_alloc_fail_at(0, false);
        mo_buf_dispose(&phys);
        mo_buf_dispose(&out);
        if (rc == MO_OK)
            break;
        CU_ASSERT_EQUAL_FATAL(rc, MO_ENOMEM);
        CU_ASSERT_FATAL(nth < 1000);
    }
    mo_free(lg);
#endif
}

/* ---------------------------------------------------------------- pread */

static int write_framed(const char *path, const uint8_t *lg, size_t n, uint64_t *phys_len)
{
    mo_buf phys = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_frame_encode(&phys, lg, n));
    MO_ASSERT_OK(mo_sys_write_file_atomic(path, phys.ptr, phys.len, &mo_test_err));
    *phys_len = phys.len;
    mo_buf_dispose(&phys);
    const int fd = mo_sys_open(path, O_RDWR, 0);
    CU_ASSERT_FATAL(fd >= 0);
    return fd;
}

static void test_frame_pread__random(void)
{
    const char *dir = mo_test_tmpdir("frame_pread");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[600];
    snprintf(path, sizeof(path), "%s/obj", dir);
    uint64_t seed = 23;
    const size_t n = 100000;
    uint8_t *lg = rand_bytes(n, &seed);
    uint64_t plen;
    const int fd = write_framed(path, lg, n, &plen);
    uint8_t *got = mo_malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    for (int i = 0; i < 2000; i++) {
        const uint64_t r = mo_test_rand(&seed);
        size_t len;
        switch (r % 4) {
        case 0: len = (size_t)(r >> 8) % 10; break;
        case 1: len = (size_t)(r >> 8) % 5000; break;
        case 2: len = (size_t)(r >> 8) % 40000; break; /* > 8 blocks: several batches */
        default: len = (size_t)(r >> 8) % (n + 1); break;
        }
        const uint64_t off = mo_test_rand(&seed) % (n - len + 1);
        MO_ASSERT_OK(mo_obj_frame_pread(fd, plen, got, len, off, "obj", &mo_test_err));
        CU_ASSERT_FATAL(len == 0 || memcmp(got, lg + off, len) == 0);
    }
    MO_ASSERT_OK(mo_obj_frame_pread(fd, plen, got, n, 0, "obj", &mo_test_err));
    CU_ASSERT_EQUAL(memcmp(got, lg, n), 0);
    MO_ASSERT_OK(mo_obj_frame_pread(fd, plen, got, 0, n, "obj", &mo_test_err));
    /* past the logical end */
    MO_ASSERT_RC(MO_ETRUNCATED, mo_obj_frame_pread(fd, plen, got, 2, n - 1, "obj", &mo_test_err));
    MO_ASSERT_RC(MO_ETRUNCATED,
                 mo_obj_frame_pread(fd, plen, got, 1, UINT64_MAX, "obj", &mo_test_err));
    /* an impossible physical size, and a size claiming more than the file holds */
    MO_ASSERT_RC(MO_ECORRUPT, mo_obj_frame_pread(fd, 2050, got, 1, 0, "obj", &mo_test_err));
    MO_ASSERT_RC(MO_ETRUNCATED,
                 mo_obj_frame_pread(fd, plen + 2048, got, 10, n, "obj", &mo_test_err));
#ifdef MO_FAULT_INJECTION
    MO_ASSERT_OK(mo_sys_fault_arm(MO_SYS_READ, 1, MO_SYS_FAULT_EIO, false));
    MO_ASSERT_RC(MO_EIO, mo_obj_frame_pread(fd, plen, got, 10, 0, "obj", &mo_test_err));
    mo_sys_fault_disarm_all();
#endif
    mo_free(got);
    mo_free(lg);
    mo_sys_close(fd);
}

static void test_frame_pread__corrupt_block(void)
{
    const char *dir = mo_test_tmpdir("frame_pread_bad");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[600];
    snprintf(path, sizeof(path), "%s/obj", dir);
    uint64_t seed = 29;
    const size_t n = 30000; /* 15 blocks, last one partial */
    uint8_t *lg = rand_bytes(n, &seed);
    uint64_t plen;
    const int fd = write_framed(path, lg, n, &plen);
    const uint64_t nblk = (n + 2043) / 2044;
    uint8_t got[30000];
    static const uint64_t bad_blocks[] = {0, 7, 14};
    for (size_t bi = 0; bi < sizeof(bad_blocks) / sizeof(bad_blocks[0]); bi++) {
        const uint64_t bad = bad_blocks[bi];
        const uint64_t blen = bad == nblk - 1 ? plen - bad * 2048 : 2048;
        const uint64_t at = bad * 2048 + mo_test_rand(&seed) % blen; /* CRC or content */
        uint8_t byte;
        MO_ASSERT_OK(mo_sys_pread_full(fd, &byte, 1, at, "obj", &mo_test_err));
        byte ^= 0x10;
        MO_ASSERT_OK(mo_sys_pwrite_full(fd, &byte, 1, at, "obj", &mo_test_err));
        for (int i = 0; i < 1500; i++) {
            const size_t len = 1 + (size_t)(mo_test_rand(&seed) % 9000);
            const uint64_t off = mo_test_rand(&seed) % (n - len + 1);
            const bool touches = off / 2044 <= bad && (off + len - 1) / 2044 >= bad;
            mo_err_clear(&mo_test_err);
            const int rc = mo_obj_frame_pread(fd, plen, got, len, off, "obj", &mo_test_err);
            if (touches) {
                CU_ASSERT_EQUAL_FATAL(rc, MO_ECHECKSUM);
                char want[80];
                snprintf(want, sizeof(want), "obj: block %" PRIu64 " at physical offset %" PRIu64,
                         bad, bad * 2048);
                CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(mo_test_err.msg, want));
            } else {
                CU_ASSERT_EQUAL_FATAL(rc, MO_OK);
                CU_ASSERT_EQUAL_FATAL(memcmp(got, lg + off, len), 0);
            }
        }
        byte ^= 0x10;
        MO_ASSERT_OK(mo_sys_pwrite_full(fd, &byte, 1, at, "obj", &mo_test_err));
    }
    MO_ASSERT_OK(mo_obj_frame_pread(fd, plen, got, n, 0, "obj", &mo_test_err));
    CU_ASSERT_EQUAL(memcmp(got, lg, n), 0);
    mo_free(lg);
    mo_sys_close(fd);
}

static CU_TestInfo size_tests[] = {
    {"anchors", test_frame_size__anchors},
    {"inverse_and_impossible", test_frame_size__inverse_and_impossible},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo codec_tests[] = {
    {"roundtrip", test_frame_codec__roundtrip},
    {"detect", test_frame_codec__detect},
    {"flip_each_byte", test_frame_codec__flip_each_byte},
    {"poisoned_until_init", test_frame_codec__poisoned_until_init},
    {"truncate", test_frame_codec__truncate},
    {"oom_loop", test_frame_codec__oom_loop},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo pread_tests[] = {
    {"random", test_frame_pread__random},
    {"corrupt_block", test_frame_pread__corrupt_block},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_frame_suites[] = {
    {"frame_size", NULL, NULL, NULL, NULL, size_tests},
    {"frame_codec", NULL, NULL, NULL, NULL, codec_tests},
    {"frame_pread", NULL, NULL, NULL, NULL, pread_tests},
    CU_SUITE_INFO_NULL,
};
