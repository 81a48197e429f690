/* mo_base: CRC-32C, mo_buf, mo_err, the alloc seam and the mo_sys fault seam, including a
 * fork-based crash loop over mo_sys_write_file_atomic (old or new content, never torn). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mo/base.h"
#include "mo/hash.h"
#include "mo/sys.h"
#include "mo_test.h"

/* hash.c test seam: 0 bitwise, 1 slicing-by-8, 2 SSE4.2 (false when unavailable) */
bool mo__crc32c_impl(uint32_t *out, int which, uint32_t crc, const void *p, size_t n);

/* ---------------------------------------------------------------- crc */

/* Textbook reflected CRC-32C, independent of hash.c. */
static uint32_t ref_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void fill_rand(uint8_t *p, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)mo_test_rand(seed);
}

static void test_base_crc__check_values(void)
{
    CU_ASSERT_EQUAL(mo_crc32c(0, "123456789", 9), 0xE3069283u);
    static const uint8_t zeros[2044];
    CU_ASSERT_EQUAL(mo_crc32c(0, zeros, sizeof(zeros)), 0x954F7B20u);
    CU_ASSERT_EQUAL(mo_crc32c(0, NULL, 0), 0u);
    CU_ASSERT_EQUAL(ref_crc32c(0, (const uint8_t *)"123456789", 9), 0xE3069283u);
    /* RFC 3720 B.4 vectors */
    uint8_t b[32];
    memset(b, 0xff, sizeof(b));
    CU_ASSERT_EQUAL(mo_crc32c(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    CU_ASSERT_EQUAL(mo_crc32c(0, b, 32), 0x46DD794Eu);
}

static void test_base_crc__incremental(void)
{
    uint64_t seed = 42;
    uint8_t buf[5000];
    fill_rand(buf, sizeof(buf), &seed);
    const uint32_t whole = mo_crc32c(0, buf, sizeof(buf));
    CU_ASSERT_EQUAL(whole, ref_crc32c(0, buf, sizeof(buf)));
    for (int round = 0; round < 200; round++) {
        uint32_t c = 0;
        size_t pos = 0;
        while (pos < sizeof(buf)) {
            size_t k = (size_t)(mo_test_rand(&seed) % 300);
            if (k > sizeof(buf) - pos)
                k = sizeof(buf) - pos;
            c = mo_crc32c(c, buf + pos, k);
            pos += k;
        }
        CU_ASSERT_EQUAL_FATAL(c, whole);
    }
}

static void test_base_crc__paths_match_reference(void)
{
    uint64_t seed = 7;
    uint8_t buf[4200];
    fill_rand(buf, sizeof(buf), &seed);
    bool have_hw = false;
    for (int round = 0; round < 500; round++) {
        const size_t off = (size_t)(mo_test_rand(&seed) % 16); /* misaligned starts */
        const size_t n = (size_t)(mo_test_rand(&seed) % (sizeof(buf) - off));
        const uint32_t init = round % 3 ? (uint32_t)mo_test_rand(&seed) : 0;
        const uint32_t want = ref_crc32c(init, buf + off, n);
        CU_ASSERT_EQUAL_FATAL(mo_crc32c(init, buf + off, n), want);
        for (int which = 0; which < 3; which++) {
            uint32_t got;
            if (!mo__crc32c_impl(&got, which, init, buf + off, n))
                continue;
            have_hw |= which == 2;
            CU_ASSERT_EQUAL_FATAL(got, want);
        }
    }
#if defined(__x86_64__)
    if (!have_hw)
        fprintf(stderr, "(no SSE4.2: hardware CRC path not exercised) ");
#endif
}

/* ---------------------------------------------------------------- buf */

static void test_base_buf__growth(void)
{
    mo_buf b = MO_BUF_INIT;
    uint64_t seed = 3;
    uint8_t ref[70000];
    fill_rand(ref, sizeof(ref), &seed);
    size_t pos = 0;
    while (pos < sizeof(ref)) {
        size_t k = (size_t)(mo_test_rand(&seed) % 999);
        if (k > sizeof(ref) - pos)
            k = sizeof(ref) - pos;
        MO_ASSERT_OK(mo_buf_put(&b, ref + pos, k));
        pos += k;
        CU_ASSERT_EQUAL_FATAL(b.len, pos);
        CU_ASSERT_FATAL(b.cap >= b.len);
    }
    CU_ASSERT_EQUAL(memcmp(b.ptr, ref, sizeof(ref)), 0);
    mo_buf_dispose(&b);
    CU_ASSERT_PTR_NULL(b.ptr);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_EQUAL(b.cap, 0);
    mo_buf_dispose(NULL);
}

static void test_base_buf__put_helpers(void)
{
    mo_buf b;
    mo_buf_init(&b);
    MO_ASSERT_OK(mo_buf_put_u8(&b, 0xAB));
    MO_ASSERT_OK(mo_buf_put_le16(&b, 0x1234));
    MO_ASSERT_OK(mo_buf_put_le32(&b, 0xDEADBEEFu));
    MO_ASSERT_OK(mo_buf_put_le64(&b, 0x0102030405060708ull));
    MO_ASSERT_OK(mo_buf_put_zero(&b, 3));
    static const uint8_t want[] = {0xAB, 0x34, 0x12, 0xEF, 0xBE, 0xAD, 0xDE, 8, 7, 6, 5,
                                   4,    3,    2,    1,    0,    0,    0};
    CU_ASSERT_EQUAL_FATAL(b.len, sizeof(want));
    CU_ASSERT_EQUAL(memcmp(b.ptr, want, sizeof(want)), 0);
    MO_ASSERT_OK(mo_buf_cstr(&b));
    CU_ASSERT_EQUAL(b.len, sizeof(want));
    CU_ASSERT_EQUAL(b.ptr[b.len], 0);
    uint8_t *room;
    MO_ASSERT_OK(mo_buf_grow(&b, 5, &room));
    CU_ASSERT_PTR_EQUAL(room, b.ptr + sizeof(want));
    CU_ASSERT_EQUAL(b.len, sizeof(want) + 5);
    mo_buf_dispose(&b);
}

/* Zero-length operations on an empty buffer: the buffer's ptr is NULL there, and NULL + 0
 * or memset(NULL, 0, 0) are undefined behaviour (caught by UBSan before the fix). */
static void test_base_buf__zero_length_on_empty(void)
{
    mo_buf b = MO_BUF_INIT;
    MO_ASSERT_OK(mo_buf_put(&b, NULL, 0));
    MO_ASSERT_OK(mo_buf_put_zero(&b, 0));
    CU_ASSERT_EQUAL(b.len, 0);
    uint8_t *room = NULL;
    MO_ASSERT_OK(mo_buf_grow(&b, 0, &room));
    CU_ASSERT_PTR_NOT_NULL(room);
    CU_ASSERT_EQUAL(b.len, 0);
    mo_buf_dispose(&b);
}

static void test_base_buf__printf(void)
{
    mo_buf b = MO_BUF_INIT;
    MO_ASSERT_OK(mo_buf_printf(&b, "%d-%s", 42, "x"));
    CU_ASSERT_EQUAL(b.len, 4);
    CU_ASSERT_EQUAL(memcmp(b.ptr, "42-x", 4), 0);
    CU_ASSERT_EQUAL(b.ptr[b.len], 0); /* printf leaves it terminated */
    char big[300];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    MO_ASSERT_OK(mo_buf_printf(&b, "[%s]", big));
    CU_ASSERT_EQUAL(b.len, 4 + 2 + 299);
    CU_ASSERT_EQUAL(b.ptr[4], '[');
    CU_ASSERT_EQUAL(b.ptr[4 + 300], ']');
    MO_ASSERT_OK(mo_buf_printf(&b, "%s", ""));
    CU_ASSERT_EQUAL(b.len, 305);
    mo_buf_dispose(&b);
}

/* ---------------------------------------------------------------- err */

static void test_base_err__set_and_prefix(void)
{
    mo_err e;
    mo_err_clear(&e);
    CU_ASSERT_EQUAL(e.code, 0);
    CU_ASSERT_EQUAL(e.msg[0], 0);
    CU_ASSERT_EQUAL(mo_err_set(&e, MO_ECHECKSUM, "block %u", 7u), MO_ECHECKSUM);
    CU_ASSERT_EQUAL(e.code, MO_ECHECKSUM);
    CU_ASSERT_STRING_EQUAL(e.msg, "block 7");
    mo_err_prefix(&e, "object %s: ", "abc");
    CU_ASSERT_STRING_EQUAL(e.msg, "object abc: block 7");
    CU_ASSERT_EQUAL(mo_err_set(NULL, MO_EIO, "x"), MO_EIO);
    mo_err_prefix(NULL, "x");
    mo_err_clear(NULL);

    /* long texts are truncated, never overflow */
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    mo_err_set(&e, MO_ECORRUPT, "%s", big);
    CU_ASSERT_EQUAL(strlen(e.msg), sizeof(e.msg) - 1);
    mo_err_prefix(&e, "%s", big);
    CU_ASSERT_EQUAL(strlen(e.msg), sizeof(e.msg) - 1);
    mo_err_set(&e, MO_ECORRUPT, "tail");
    mo_err_prefix(&e, "%s", big);
    CU_ASSERT_EQUAL(strlen(e.msg), sizeof(e.msg) - 1);
}

static void test_base_err__sys_and_upstream(void)
{
    mo_err e;
    mo_err_clear(&e);
    CU_ASSERT_EQUAL(mo_err_sys(&e, MO_EIO, ENOENT, "open %s", "f"), MO_EIO);
    CU_ASSERT_EQUAL(e.sys_errno, ENOENT);
    CU_ASSERT_EQUAL(strncmp(e.msg, "open f: ", 8), 0);
    CU_ASSERT(strlen(e.msg) > 8);
    e.upstream_code = 2013;
    mo_err_set(&e, MO_ECORRUPT, "later");
    CU_ASSERT_EQUAL(e.sys_errno, 0);
    CU_ASSERT_EQUAL(e.upstream_code, 0); /* no stale MySQL errno on an unrelated failure */
    mo_err_sys(&e, MO_EIO, 0, "no errno");
    CU_ASSERT_STRING_EQUAL(e.msg, "no errno");
}

static void test_base_err__names(void)
{
    CU_ASSERT_STRING_EQUAL(mo_strerror(MO_OK), "ok");
    CU_ASSERT_STRING_EQUAL(mo_strerror(MO_ECHECKSUM), "checksum mismatch");
    CU_ASSERT_STRING_EQUAL(mo_strerror(-9999), "unknown error");
    CU_ASSERT_STRING_EQUAL(mo_strerror(5), "unknown error");
    CU_ASSERT_STRING_EQUAL(mo_code_name(MO_ECORRUPT), "MO_ECORRUPT");
    CU_ASSERT_STRING_EQUAL(mo_code_name(MO_ENOSPC), "MO_ENOSPC");
    CU_ASSERT_STRING_EQUAL(mo_code_name(1), "MO_UNKNOWN");
    /* the numbering is stable (zstd rule): pin it */
    CU_ASSERT_EQUAL(MO_ERROR, -1);
    CU_ASSERT_EQUAL(MO_ECORRUPT, -5);
    CU_ASSERT_EQUAL(MO_ECHECKSUM, -6);
    CU_ASSERT_EQUAL(MO_EAGAIN, -12);
    CU_ASSERT_EQUAL(MO_ENOSPC, -16);
    for (int c = 0; c >= -16; c--) {
        CU_ASSERT_STRING_NOT_EQUAL(mo_strerror(c), "unknown error");
        CU_ASSERT_STRING_NOT_EQUAL(mo_code_name(c), "MO_UNKNOWN");
    }
}

/* ---------------------------------------------------------------- alloc */

static void test_base_alloc__fail_at(void)
{
#ifdef MO_FAULT_INJECTION
    const unsigned long c0 = mo_alloc_count();
    void *a = mo_malloc(8);
    CU_ASSERT_EQUAL(mo_alloc_count(), c0 + 1);
    mo_free(a);

    mo_alloc_fail_at(2, false);
    a = mo_malloc(8);
    void *b = mo_malloc(8);
    void *c = mo_calloc(2, 8);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NOT_NULL(c);
    mo_free(a);
    mo_free(c);

    mo_alloc_fail_at(1, true);
    CU_ASSERT_PTR_NULL(mo_malloc(1));
    CU_ASSERT_PTR_NULL(mo_calloc(1, 1));
    CU_ASSERT_PTR_NULL(mo_strdup("x"));
    mo_alloc_fail_at(0, false);
    char *s = mo_strdup("hello");
    CU_ASSERT_STRING_EQUAL(s, "hello");
    mo_free(s);

    /* a failed growth leaves the buffer exactly as it was */
    mo_buf buf = MO_BUF_INIT;
    MO_ASSERT_OK(mo_buf_put(&buf, "abc", 3));
    const uint8_t *const ptr = buf.ptr;
    const size_t cap = buf.cap;
    uint8_t big[1000] = {0};
    mo_alloc_fail_at(1, false);
    MO_ASSERT_RC(MO_ENOMEM, mo_buf_put(&buf, big, sizeof(big)));
    CU_ASSERT_PTR_EQUAL(buf.ptr, ptr);
    CU_ASSERT_EQUAL(buf.len, 3);
    CU_ASSERT_EQUAL(buf.cap, cap);
    mo_alloc_fail_at(1, false);
    MO_ASSERT_RC(MO_ENOMEM, mo_buf_printf(&buf, "%1000d", 1));
    CU_ASSERT_EQUAL(buf.len, 3);
    MO_ASSERT_OK(mo_buf_put(&buf, big, sizeof(big)));
    CU_ASSERT_EQUAL(memcmp(buf.ptr, "abc", 3), 0);
    mo_buf_dispose(&buf);
    mo_alloc_fail_at(0, false);
#endif
}

/* ---------------------------------------------------------------- sys */

static char *path_in(const char *dir, const char *name)
{
    static char p[4][600];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

static bool file_equals(const char *path, const void *want, size_t n)
{
    uint8_t *got;
    size_t len;
    if (mo_sys_read_file(&got, &len, path, NULL) < 0)
        return false;
    const bool eq = len == n && (n == 0 || memcmp(got, want, n) == 0);
    mo_free(got);
    return eq;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_base_sys__write_faults(void)
{
#ifdef MO_FAULT_INJECTION
    const char *dir = mo_test_tmpdir("sys_faults");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    const int fd = mo_sys_open(path_in(dir, "f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    mo_err *e = &mo_test_err;

    /* write:2:enospc, transient */
    MO_ASSERT_OK(mo_sys_fault_arm(MO_SYS_WRITE, 2, MO_SYS_FAULT_ENOSPC, false));
    MO_ASSERT_OK(mo_sys_pwrite_full(fd, "a", 1, 0, "f", e));
    MO_ASSERT_RC(MO_ENOSPC, mo_sys_pwrite_full(fd, "b", 1, 1, "f", e));
    CU_ASSERT_EQUAL(mo_test_err.sys_errno, ENOSPC);
    MO_ASSERT_OK(mo_sys_pwrite_full(fd, "c", 1, 1, "f", e));

    /* fsync:1:eio */
    MO_ASSERT_OK(mo_sys_fault_arm(MO_SYS_FSYNC, 1, MO_SYS_FAULT_EIO, false));
    CU_ASSERT_EQUAL(mo_sys_fsync(fd), -1);
    CU_ASSERT_EQUAL(errno, EIO);
    CU_ASSERT_EQUAL(mo_sys_fsync(fd), 0);

    /* persistent: the 2nd and every later read fail */
    MO_ASSERT_OK(mo_sys_fault_arm(MO_SYS_READ, 2, MO_SYS_FAULT_EIO, true));
    char got[2];
    MO_ASSERT_OK(mo_sys_pread_full(fd, got, 2, 0, "f", e));
    CU_ASSERT_EQUAL(memcmp(got, "ac", 2), 0);
    for (int i = 0; i < 5; i++)
        MO_ASSERT_RC(MO_EIO, mo_sys_pread_full(fd, got, 2, 0, "f", e));
    mo_sys_fault_disarm_all();
    MO_ASSERT_OK(mo_sys_pread_full(fd, got, 2, 0, "f", e));
    MO_ASSERT_RC(MO_ETRUNCATED, mo_sys_pread_full(fd, got, 2, 1, "f", e));

    /* counters */
    const unsigned long w = mo_sys_calls(MO_SYS_WRITE);
    MO_ASSERT_OK(mo_sys_pwrite_full(fd, "d", 1, 2, "f", e));
    CU_ASSERT_EQUAL(mo_sys_calls(MO_SYS_WRITE), w + 1);
    CU_ASSERT_EQUAL(mo_sys_calls(MO_SYS_OP_COUNT), 0);
    CU_ASSERT_EQUAL(mo_sys_fault_arm(MO_SYS_OP_COUNT, 1, MO_SYS_FAULT_EIO, false), MO_EINVAL);
    mo_sys_close(fd);
#endif
}

static void test_base_sys__fault_parse(void)
{
#ifdef MO_FAULT_INJECTION
    mo_err *e = &mo_test_err;
    const char *dir = mo_test_tmpdir("sys_parse");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    const int fd = mo_sys_open(path_in(dir, "f"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(fd >= 0);

    MO_ASSERT_OK(mo_sys_fault_parse("write:2:enospc,fsync:1:eio+", e));
    MO_ASSERT_OK(mo_sys_pwrite_full(fd, "a", 1, 0, "f", e));
    MO_ASSERT_RC(MO_ENOSPC, mo_sys_pwrite_full(fd, "a", 1, 0, "f", e));
    MO_ASSERT_OK(mo_sys_pwrite_full(fd, "a", 1, 0, "f", e));
    CU_ASSERT_EQUAL(mo_sys_fsync(fd), -1);
    CU_ASSERT_EQUAL(mo_sys_fsync(fd), -1);
    mo_sys_fault_disarm_all();
    CU_ASSERT_EQUAL(mo_sys_fsync(fd), 0);
    MO_ASSERT_OK(mo_sys_fault_parse("", e));
    MO_ASSERT_OK(mo_sys_fault_parse("rename:3:exit,unlink:1:eio,open:1:enospc,read:9:eio", e));
    mo_sys_fault_disarm_all();

    static const char *const bad[] = {
        "write",           "write:1",       "write:0:eio",     "write:-1:eio",
        "write:+1:eio",    "bogus:1:eio",   "write:1:boom",    "write:1:eio junk",
        "write:1:eio+x",   "write:x:eio",   "WRITE:1:eio",     "write::eio",
        "write:99999999999999999999999:eio",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mo_err_clear(e);
        const int rc = mo_sys_fault_parse(bad[i], e);
        if (rc != MO_EINVAL)
            fprintf(stderr, "\nspec '%s' accepted\n", bad[i]);
        CU_ASSERT_EQUAL(rc, MO_EINVAL);
        CU_ASSERT(e->msg[0] != 0);
    }
    char toolong[400];
    memset(toolong, 'w', sizeof(toolong) - 1);
    toolong[sizeof(toolong) - 1] = 0;
    MO_ASSERT_RC(MO_EINVAL, mo_sys_fault_parse(toolong, e));

    /* a bad token anywhere arms nothing, not even the good tokens before it */
    MO_ASSERT_RC(MO_EINVAL, mo_sys_fault_parse("write:1:eio,bogus:1:eio", e));
    MO_ASSERT_OK(mo_sys_pwrite_full(fd, "a", 1, 0, "f", e));
    mo_sys_fault_disarm_all();
    mo_sys_close(fd);
#endif
}

static const char old_content[] = "old content, version 1";

static void make_new_content(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + 1);
}

/* Fail each write, fsync, rename and open of mo_sys_write_file_atomic in turn (transient and
 * persistent, EIO and ENOSPC): the target keeps its old content and no temp file is left. */
static void test_base_sys__atomic_write_fail_each_call(void)
{
#ifdef MO_FAULT_INJECTION
    const char *dir = mo_test_tmpdir("sys_atomic");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[600], tmp[610];
    snprintf(path, sizeof(path), "%s/ckpt", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    static uint8_t fresh[100000];
    make_new_content(fresh, sizeof(fresh));
    mo_err *e = &mo_test_err;

    static const mo_sys_op ops[] = {MO_SYS_OPEN, MO_SYS_WRITE, MO_SYS_FSYNC, MO_SYS_RENAME};
    for (size_t oi = 0; oi < sizeof(ops) / sizeof(ops[0]); oi++)
        for (int mode = 0; mode < 3; mode++) {
            const mo_sys_fault_action act = mode == 1 ? MO_SYS_FAULT_ENOSPC : MO_SYS_FAULT_EIO;
            const bool persistent = mode == 2;
            for (unsigned long nth = 1;; nth++) {
                MO_ASSERT_OK(mo_sys_write_file_atomic(path, old_content, sizeof(old_content), e));
                const unsigned long before = mo_sys_calls(ops[oi]);
                MO_ASSERT_OK(mo_sys_fault_arm(ops[oi], nth, act, persistent));
                const int rc = mo_sys_write_file_atomic(path, fresh, sizeof(fresh), e);
                const bool fired = mo_sys_calls(ops[oi]) - before >= nth;
                mo_sys_fault_disarm_all();
                CU_ASSERT_FALSE(file_exists(tmp));
                if (!fired) {
                    MO_ASSERT_OK(rc);
                    CU_ASSERT(file_equals(path, fresh, sizeof(fresh)));
                    CU_ASSERT(nth > 1);
                    break;
                }
                CU_ASSERT_FATAL(rc < 0);
                if (act == MO_SYS_FAULT_ENOSPC && ops[oi] != MO_SYS_OPEN)
                    CU_ASSERT_EQUAL(rc, MO_ENOSPC);
                /* the directory fsync (2nd fsync, or the 2nd open) runs after the rename: the
                 * new file is in place and only its durability is in doubt */
                const bool after_rename = (ops[oi] == MO_SYS_FSYNC || ops[oi] == MO_SYS_OPEN) &&
                                          nth == 2;
                const bool want_new = after_rename;
                CU_ASSERT(want_new ? file_equals(path, fresh, sizeof(fresh))
                                   : file_equals(path, old_content, sizeof(old_content)));
                CU_ASSERT_FATAL(nth < 10000);
            }
        }
    unlink(path);
#endif
}

/* SQLite test6-style crash loop: the child _exits at the Nth write/fsync/rename inside
 * mo_sys_write_file_atomic; the parent then finds either the old or the new file, whole. */
static void test_base_sys__atomic_write_crash_loop(void)
{
#ifdef MO_FAULT_INJECTION
    const char *dir = mo_test_tmpdir("sys_crash");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[600];
    snprintf(path, sizeof(path), "%s/ckpt", dir);
    static uint8_t fresh[300000]; /* large enough that pwrite may take several calls */
    make_new_content(fresh, sizeof(fresh));
    static const mo_sys_op ops[] = {MO_SYS_WRITE, MO_SYS_FSYNC, MO_SYS_RENAME, MO_SYS_OPEN};
    int crashes = 0;
    for (size_t oi = 0; oi < sizeof(ops) / sizeof(ops[0]); oi++)
        for (unsigned long nth = 1;; nth++) {
            MO_ASSERT_OK(
                mo_sys_write_file_atomic(path, old_content, sizeof(old_content), &mo_test_err));
            fflush(NULL);
            const pid_t pid = fork();
            CU_ASSERT_FATAL(pid >= 0);
            if (pid == 0) {
                mo_sys_fault_arm(ops[oi], nth, MO_SYS_FAULT_EXIT, false);
                const int rc = mo_sys_write_file_atomic(path, fresh, sizeof(fresh), NULL);
                _exit(rc == MO_OK ? 0 : 1);
            }
            int st;
            CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
            CU_ASSERT_FATAL(WIFEXITED(st));
            const int code = WEXITSTATUS(st);
            CU_ASSERT_FATAL(code == 0 || code == 77);
            const bool is_old = file_equals(path, old_content, sizeof(old_content));
            const bool is_new = file_equals(path, fresh, sizeof(fresh));
            CU_ASSERT_FATAL(is_old || is_new);
            if (code == 0) {
                CU_ASSERT(is_new);
                break;
            }
            crashes++;
            /* a crash before the rename must leave the old file */
            if (ops[oi] == MO_SYS_WRITE || (ops[oi] == MO_SYS_FSYNC && nth == 1) ||
                ops[oi] == MO_SYS_RENAME || (ops[oi] == MO_SYS_OPEN && nth == 1))
                CU_ASSERT(is_old);
            CU_ASSERT_FATAL(nth < 1000);
        }
    CU_ASSERT(crashes >= 5);
    unlink(path);
    char tmp[610];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
#endif
}

static void test_base_sys__read_file(void)
{
    const char *dir = mo_test_tmpdir("sys_read");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    uint8_t *p;
    size_t n;
    MO_ASSERT_RC(MO_ENOTFOUND, mo_sys_read_file(&p, &n, path_in(dir, "missing"), &mo_test_err));
    CU_ASSERT_PTR_NULL(p);
    MO_ASSERT_OK(mo_sys_write_file_atomic(path_in(dir, "empty"), NULL, 0, &mo_test_err));
    MO_ASSERT_OK(mo_sys_read_file(&p, &n, path_in(dir, "empty"), &mo_test_err));
    CU_ASSERT_EQUAL(n, 0);
    mo_free(p);
}


/* mo_sys_write_file_unsynced + mo_sys_fsync_batch: files published by rename alone, then one
 * fsync per file and one per distinct directory; a failing fsync names the file. */
static void test_base_sys__fsync_batch(void)
{
    char a[500];
    const char *t = mo_test_tmpdir("sys_batch_a"), *b;
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    snprintf(a, sizeof(a), "%s", t); /* mo_test_tmpdir's buffer is reused */
    b = mo_test_tmpdir("sys_batch_b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    char paths[5][600];
    const char *v[5];
    const unsigned long f0 = mo_sys_calls(MO_SYS_FSYNC);
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "obj%d", i);
        snprintf(paths[i], sizeof(paths[i]), "%s", path_in(i < 3 ? a : b, name));
        v[i] = paths[i];
        MO_ASSERT_OK(mo_sys_write_file_unsynced(paths[i], name, strlen(name), &mo_test_err));
        CU_ASSERT(file_equals(paths[i], name, strlen(name)));
        char tmp[3100];
        snprintf(tmp, sizeof(tmp), "%s.tmp", paths[i]);
        CU_ASSERT_FALSE(file_exists(tmp));
    }
    CU_ASSERT_EQUAL(mo_sys_calls(MO_SYS_FSYNC) - f0, 0); /* unsynced: no fsync yet */
    MO_ASSERT_OK(mo_sys_fsync_batch(v, 5, &mo_test_err));
    CU_ASSERT_EQUAL(mo_sys_calls(MO_SYS_FSYNC) - f0, 5 + 2); /* 5 files, 2 directories */
    MO_ASSERT_OK(mo_sys_fsync_batch(v, 0, &mo_test_err));
    MO_ASSERT_RC(MO_EIO, mo_sys_fsync_batch((const char *[]){path_in(a, "missing")}, 1,
                                            &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "missing") != NULL);
#ifdef MO_FAULT_INJECTION
    MO_ASSERT_OK(mo_sys_fault_arm(MO_SYS_FSYNC, 4, MO_SYS_FAULT_EIO, false));
    MO_ASSERT_RC(MO_EIO, mo_sys_fsync_batch(v, 5, &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "obj3: fsync") != NULL);
    MO_ASSERT_OK(mo_sys_fault_arm(MO_SYS_FSYNC, 7, MO_SYS_FAULT_EIO, false));
    MO_ASSERT_RC(MO_EIO, mo_sys_fsync_batch(v, 5, &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "fsync directory") != NULL);
    mo_sys_fault_disarm_all();
#endif
}

static CU_TestInfo crc_tests[] = {
    {"check_values", test_base_crc__check_values},
    {"incremental", test_base_crc__incremental},
    {"paths_match_reference", test_base_crc__paths_match_reference},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo buf_tests[] = {
    {"growth", test_base_buf__growth},
    {"put_helpers", test_base_buf__put_helpers},
    {"zero_length_on_empty", test_base_buf__zero_length_on_empty},
    {"printf", test_base_buf__printf},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo err_tests[] = {
    {"set_and_prefix", test_base_err__set_and_prefix},
    {"sys_and_upstream", test_base_err__sys_and_upstream},
    {"names", test_base_err__names},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo alloc_tests[] = {
    {"fail_at", test_base_alloc__fail_at},
    CU_TEST_INFO_NULL,
};
static CU_TestInfo sys_tests[] = {
    {"write_faults", test_base_sys__write_faults},
    {"fault_parse", test_base_sys__fault_parse},
    {"atomic_write_fail_each_call", test_base_sys__atomic_write_fail_each_call},
    {"atomic_write_crash_loop", test_base_sys__atomic_write_crash_loop},
    {"read_file", test_base_sys__read_file},
    {"fsync_batch", test_base_sys__fsync_batch},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_base_suites[] = {
    {"base_crc", NULL, NULL, NULL, NULL, crc_tests},
    {"base_buf", NULL, NULL, NULL, NULL, buf_tests},
    {"base_err", NULL, NULL, NULL, NULL, err_tests},
    {"base_alloc", NULL, NULL, NULL, NULL, alloc_tests},
    {"base_sys", NULL, NULL, NULL, NULL, sys_tests},
    CU_SUITE_INFO_NULL,
};
