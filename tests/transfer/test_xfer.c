/* The copier through the ops tables: a fake source with transient failures (retries and
 * backoff), a sequential source (jobs forced to 1), a hostile name, skip-if-same, a length
 * mismatch, the digest check, and the OOM loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo/hash.h"
#include "mo/sys.h"
#include "mo/xfer.h"
#include "mo_test.h"

typedef struct fake {
    mo_obj_ref refs[4];
    uint8_t *data[4];
    size_t n;
    unsigned eagain_left; /* transient failures still to return */
    int short_obj;        /* object whose reads come back short, -1 none */
    unsigned reads;
    uint64_t max_off_seen;
    char last_name[64];
    bool sequential;
} fake;

static int fake_list(mo_src *s, mo_obj_ref_cb cb, void *payload, uint64_t *ignored, mo_err *err)
{
    fake *f = s->ctx;
    (void)ignored;
    for (size_t i = 0; i < f->n; i++)
        if (cb(&f->refs[i], payload))
            return mo_err_set(err, MO_EUSER, "stop");
    return MO_OK;
}

static int fake_read(mo_src *s, const char *name, uint64_t off, void *buf, size_t n, mo_err *err)
{
    fake *f = s->ctx;
    f->reads++;
    if (f->eagain_left) {
        f->eagain_left--;
        return mo_err_set(err, MO_EAGAIN, "connection reset (transient)");
    }
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->refs[i].name, name)) {
            if ((int)i == f->short_obj && off + n >= f->refs[i].size)
                return mo_err_set(err, MO_ETRUNCATED, "%s: source ends early", name);
            memcpy(buf, f->data[i] + off, n);
            s->bytes_read += n;
            return MO_OK;
        }
    return mo_err_set(err, MO_ENOTFOUND, "%s", name);
}

static const char *fake_identity(mo_src *s)
{
    (void)s;
    return "fake:test";
}

static void fake_free(mo_src *s)
{
    (void)s;
}

static struct mo_src_ops fake_ops = {MO_SRC_OPS_VERSION, "fake", MO_SRC_SEEK | MO_SRC_LIST,
                                     fake_list, fake_read, fake_identity, fake_free, NULL,
                                     NULL, NULL};

/* Two real objects (the copier verifies before publishing). */
static void fake_init(fake *f, mo_src *s)
{
    memset(f, 0, sizeof(*f));
    f->short_obj = -1;
    for (int k = 0; k < 2; k++) {
        mo_obj_writer_col cols[2] = {{mo_obj_type_default(MO_T_INT64), 0},
                                     {mo_obj_type_default(MO_T_VARCHAR), 1}};
        mo_obj_writer_opts o = {0};
        o.pk_pos = 0;
        o.sort_key_pos = -1;
        mo_obj_writer *w;
        MO_ASSERT_OK(mo_obj_writer_new(&w, cols, 2, &o, &mo_test_err));
        mo_obj_colbuf c[2];
        mo_obj_vec v[2];
        mo_obj_colbuf_init(&c[0], &cols[0].type);
        mo_obj_colbuf_init(&c[1], &cols[1].type);
        for (int r = 0; r < 5000; r++) {
            uint8_t b[8];
            mo_store_le64(b, (uint64_t)(r + k * 100000));
            MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c[0], b));
            char t[40];
            int n = snprintf(t, sizeof(t), "value %d of object %d, padded", r, k);
            MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c[1], t, (size_t)n));
        }
        mo_obj_colbuf_view(&v[0], &c[0]);
        mo_obj_colbuf_view(&v[1], &c[1]);
        MO_ASSERT_OK(mo_obj_writer_add_block(w, v, &mo_test_err));
        mo_buf file = MO_BUF_INIT;
        mo_obj_stats st;
        MO_ASSERT_OK(mo_obj_writer_finish(w, &file, &st, &mo_test_err));
        mo_obj_name_format(f->refs[k].name, mo_obj_writer_id(w));
        f->refs[k].size = file.len;
        f->data[k] = file.ptr;
        mo_obj_writer_free(w);
        mo_obj_colbuf_dispose(&c[0]);
        mo_obj_colbuf_dispose(&c[1]);
    }
    f->n = 2;
    s->ops = &fake_ops;
    s->ctx = f;
    s->bytes_read = 0;
}

static void fake_dispose(fake *f)
{
    for (size_t i = 0; i < f->n; i++)
        mo_free(f->data[i]);
}

static mo_xfer_opts opts_small(void)
{
    mo_xfer_opts o;
    memset(&o, 0, sizeof(o));
    o.chunk_size = 4096;
    o.verify_level = MO_OBJ_LEVEL_DEEP;
    o.journal = true;
    o.retries = 3;
    return o;
}

static bool same_file(const char *dir, const fake *f, size_t i)
{
    char p[700];
    snprintf(p, sizeof(p), "%s/%s", dir, f->refs[i].name);
    uint8_t *d;
    size_t n;
    if (mo_sys_read_file(&d, &n, p, NULL) < 0)
        return false;
    bool same = n == f->refs[i].size && !memcmp(d, f->data[i], n);
    mo_free(d);
    return same;
}

static void test_xfer__retry_transient(void)
{
    fake f;
    mo_src s;
    fake_init(&f, &s);
    const char *dir = mo_test_tmpdir("xfer");
    mo_sink *k;
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    mo_xfer_opts o = opts_small();
    mo_xfer_stats st;
    f.eagain_left = 3; /* within the retry budget */
    MO_ASSERT_OK(mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT(same_file(dir, &f, 0) && same_file(dir, &f, 1));
    CU_ASSERT_EQUAL(st.objects_copied, 2);
    CU_ASSERT_EQUAL(st.bytes_copied, f.refs[0].size + f.refs[1].size);
    mo_sink_free(k);
    /* beyond the budget: MO_EAGAIN surfaces, nothing published */
    dir = mo_test_tmpdir("xfer");
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    f.eagain_left = 100;
    MO_ASSERT_RC(MO_EAGAIN, mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT_FALSE(same_file(dir, &f, 0));
    /* and then it resumes */
    f.eagain_left = 0;
    MO_ASSERT_OK(mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT(same_file(dir, &f, 0) && same_file(dir, &f, 1));
    mo_sink_free(k);
    fake_dispose(&f);
}

/* Lending (borrow/release): a release may fail after the bytes were hashed and written (the
 * source learnt only then that the reply was bad): the copier must fetch the chunk again and
 * keep the object hash as if the bad bytes had never been seen (the source's digest is
 * checked). The bad borrows hand out damaged bytes. */
typedef struct lend_tok {
    uint8_t *bad; /* a damaged copy, or NULL when the bytes are the fake's own */
    bool fail;
} lend_tok;

static unsigned lend_fail_left, lend_borrows, lend_outstanding;

static int fake_borrow(mo_src *s, const char *name, uint64_t off, size_t n, const void **p,
                       void **token, mo_err *err)
{
    fake *f = s->ctx;
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->refs[i].name, name))
            continue;
        lend_tok *t = calloc(1, sizeof(*t));
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        lend_borrows++;
        lend_outstanding++;
        if (lend_fail_left) {
            lend_fail_left--;
            t->fail = true;
            t->bad = malloc(n);
            CU_ASSERT_PTR_NOT_NULL_FATAL(t->bad);
            memcpy(t->bad, f->data[i] + off, n);
            t->bad[n / 2] ^= 0x5a;
        }
        *p = t->bad ? t->bad : f->data[i] + off;
        *token = t;
        s->bytes_read += n;
        return MO_OK;
    }
    return mo_err_set(err, MO_ENOTFOUND, "%s", name);
}

static int fake_release(mo_src *s, void *token, mo_err *err)
{
    (void)s;
    lend_tok *t = token;
    const bool fail = t->fail;
    free(t->bad);
    free(t);
    lend_outstanding--;
    return fail ? mo_err_set(err, MO_EAGAIN, "a second row after the chunk (transient)") : MO_OK;
}

static void test_xfer__borrow_release_failure(void)
{
    fake f;
    mo_src s;
    fake_init(&f, &s);
    struct mo_src_ops lend_ops = fake_ops;
    lend_ops.borrow = fake_borrow;
    lend_ops.release = fake_release;
    s.ops = &lend_ops;
    for (size_t i = 0; i < f.n; i++) {
        f.refs[i].has_digest = true;
        f.refs[i].digest = mo_xxh3_128(f.data[i], f.refs[i].size);
    }
    const char *dir = mo_test_tmpdir("xfer");
    mo_sink *k;
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    mo_xfer_opts o = opts_small();
    mo_xfer_stats st;
    lend_fail_left = 3; /* within the retry budget */
    lend_borrows = lend_outstanding = 0;
    MO_ASSERT_OK(mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT(same_file(dir, &f, 0) && same_file(dir, &f, 1));
    CU_ASSERT_EQUAL(st.objects_copied, 2);
    CU_ASSERT_EQUAL(lend_outstanding, 0);
    const uint64_t chunks = (f.refs[0].size + 4095) / 4096 + (f.refs[1].size + 4095) / 4096;
    CU_ASSERT_EQUAL(lend_borrows, chunks + 3);
    CU_ASSERT_EQUAL(f.reads, 0); /* nothing copied through read() */
    mo_sink_free(k);
    /* beyond the budget: MO_EAGAIN surfaces, nothing outstanding */
    dir = mo_test_tmpdir("xfer");
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    lend_fail_left = 100;
    MO_ASSERT_RC(MO_EAGAIN, mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT_EQUAL(lend_outstanding, 0);
    lend_fail_left = 0;
    mo_sink_free(k);
    fake_dispose(&f);
}

static void test_xfer__skip_same_and_replace_damaged(void)
{
    fake f;
    mo_src s;
    fake_init(&f, &s);
    const char *dir = mo_test_tmpdir("xfer");
    mo_sink *k;
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    /* pre-populate: object 0 identical, object 1 same size, different bytes */
    char p[700];
    snprintf(p, sizeof(p), "%s/%s", dir, f.refs[0].name);
    MO_ASSERT_OK(mo_sys_write_file_atomic(p, f.data[0], f.refs[0].size, &mo_test_err));
    snprintf(p, sizeof(p), "%s/%s", dir, f.refs[1].name);
    f.data[1][100] ^= 1;
    MO_ASSERT_OK(mo_sys_write_file_atomic(p, f.data[1], f.refs[1].size, &mo_test_err));
    f.data[1][100] ^= 1;
    mo_xfer_opts o = opts_small();
    o.journal = false;
    mo_xfer_stats st;
    MO_ASSERT_OK(mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT_EQUAL(st.objects_skipped, 1);
    CU_ASSERT_EQUAL(st.objects_copied, 1);
    CU_ASSERT(same_file(dir, &f, 1)); /* the damaged copy was replaced */
    mo_sink_free(k);
    fake_dispose(&f);
}

static void test_xfer__short_source_and_bad_digest(void)
{
    fake f;
    mo_src s;
    fake_init(&f, &s);
    const char *dir = mo_test_tmpdir("xfer");
    mo_sink *k;
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    mo_xfer_opts o = opts_small();
    mo_xfer_stats st;
    f.short_obj = 0;
    MO_ASSERT_RC(MO_ETRUNCATED, mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT_FALSE(same_file(dir, &f, 0));
    f.short_obj = -1;
    /* a source digest that does not match what arrives: refused, not published */
    f.refs[0].has_digest = true;
    f.refs[0].digest = (mo_digest128){1, 2};
    MO_ASSERT_RC(MO_ECHECKSUM, mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT_FALSE(same_file(dir, &f, 0));
    f.refs[0].digest = mo_xxh3_128(f.data[0], f.refs[0].size);
    MO_ASSERT_OK(mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT(same_file(dir, &f, 0));
    mo_sink_free(k);
    fake_dispose(&f);
}

static void test_xfer__hostile_name(void)
{
    fake f;
    mo_src s;
    fake_init(&f, &s);
    snprintf(f.refs[1].name, sizeof(f.refs[1].name), "../../etc/passwd");
    const char *dir = mo_test_tmpdir("xfer");
    mo_sink *k;
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    mo_xfer_opts o = opts_small();
    mo_xfer_stats st;
    MO_ASSERT_RC(MO_EINVAL, mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT(strstr(mo_test_err.msg, "refusing object name") != NULL);
    mo_sink_free(k);
    fake_dispose(&f);
}

static void test_xfer__oom_loop(void)
{
    fake f;
    mo_src s;
    fake_init(&f, &s);
    for (unsigned long nth = 1;; nth++) {
        const char *dir = mo_test_tmpdir("xferoom");
        mo_sink *k;
        MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
        mo_xfer_opts o = opts_small();
        mo_xfer_stats st;
        mo_alloc_fail_at(nth, false);
        int rc = mo_xfer_run(&st, &s, k, &o, &mo_test_err);
        mo_alloc_fail_at(0, false);
        mo_sink_free(k);
        if (rc == MO_OK)
            break;
        MO_ASSERT_RC(MO_ENOMEM, rc);
        CU_ASSERT_FATAL(nth < 5000);
    }
    fake_dispose(&f);
}


/* An unsynced sink (the sync's batched durability): DONE records are claims. A published
 * object damaged after its DONE record (a power loss before the batch fsync) is re-hashed
 * against the record and fetched again; a durable sink trusts the record without reading. */
static void test_xfer__unsynced_done_rechecked(void)
{
    for (int unsynced = 1; unsynced >= 0; unsynced--) {
        fake f;
        mo_src s;
        fake_init(&f, &s);
        const char *dir = mo_test_tmpdir("xferuns");
        mo_sink *k;
        MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
        if (unsynced)
            mo_sink_dir_set_unsynced(k);
        mo_xfer_opts o = opts_small();
        o.unsynced_sink = unsynced;
        mo_xfer_stats st;
        f.short_obj = 1; /* object 0 is published and journaled DONE, then the job fails */
        MO_ASSERT_RC(MO_ETRUNCATED, mo_xfer_run(&st, &s, k, &o, &mo_test_err));
        CU_ASSERT(same_file(dir, &f, 0));
        char p[700];
        snprintf(p, sizeof(p), "%s/%s", dir, f.refs[0].name);
        int fd = open(p, O_WRONLY);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(pwrite(fd, "\xff\xff\xff\xff", 4, 200), 4); /* same size, other bytes */
        close(fd);
        f.short_obj = -1;
        MO_ASSERT_OK(mo_xfer_run(&st, &s, k, &o, &mo_test_err));
        if (unsynced) {
            CU_ASSERT_EQUAL(st.objects_copied, 2);
            CU_ASSERT_EQUAL(st.objects_skipped, 0);
            CU_ASSERT(same_file(dir, &f, 0));
        } else {
            CU_ASSERT_EQUAL(st.objects_copied, 1);
            CU_ASSERT_EQUAL(st.objects_skipped, 1); /* trusted: DONE = durable */
        }
        CU_ASSERT(same_file(dir, &f, 1));
        mo_sink_free(k);
        fake_dispose(&f);
    }
}

/* Pages of @p path in the page cache (mincore). */
static size_t resident_pages(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return SIZE_MAX;
    struct stat st;
    fstat(fd, &st);
    size_t len = (size_t)st.st_size, pg = (size_t)sysconf(_SC_PAGESIZE), n = 0;
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return SIZE_MAX;
    unsigned char *v = malloc((len + pg - 1) / pg);
    if (v && mincore(m, len, v) == 0)
        for (size_t i = 0; i < (len + pg - 1) / pg; i++)
            n += v[i] & 1;
    free(v);
    munmap(m, len);
    return n;
}

/* The O_DIRECT dir sink: bytes exact through in-order pieces of odd sizes, a flush at an
 * unaligned offset, a read before the end, out-of-order rewrites at aligned and unaligned
 * offsets, a truncate; the last byte cuts the zero padding; written pages bypass the page
 * cache. Then the copier over it with an unaligned chunk size, a failed run and a resume. */
static void test_xfer__direct_sink_exact(void)
{
    const char *dir = mo_test_tmpdir("xferdio");
    mo_sink *k;
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    mo_sink_dir_set_direct(k, 0);
    const size_t size = (9u << 20) + 12345;
    uint8_t *data = malloc(size), *back = malloc(size);
    CU_ASSERT_FATAL(data && back);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    mo_obj_ref ref;
    memset(&ref, 0, sizeof(ref));
    snprintf(ref.name, sizeof(ref.name), "01900000-0000-7000-8000-000000000001_00000");
    ref.size = size;
    for (int pass = 0; pass < 4; pass++) {
        mo_sink_obj *o;
        uint64_t part;
        MO_ASSERT_OK(k->ops->begin(k, &o, &ref, &part, &mo_test_err));
        /* passes 2, 3: the device refuses O_DIRECT's alignment (EINVAL) at the 2nd slab or at
         * the flush of a partial block: the object goes on through the page cache, exact */
        if (pass >= 2)
            MO_ASSERT_OK(mo_sys_fault_arm(MO_SYS_WRITE, pass == 2 ? 2 : 3, MO_SYS_FAULT_EINVAL,
                                          false));
        CU_ASSERT_EQUAL(part, 0);
        size_t off = 0;
        while (off < size) {
            size_t n = size - off < 100003 ? size - off : 100003;
            MO_ASSERT_OK(k->ops->write(o, off, data + off, n, &mo_test_err));
            off += n;
            if (pass != 0 && off > (5u << 20) && off < (5u << 20) + 100003) {
                MO_ASSERT_OK(k->ops->flush(o, &mo_test_err)); /* unaligned: padded, kept */
                MO_ASSERT_OK(k->ops->read(o, 0, back, off, &mo_test_err));
                CU_ASSERT_EQUAL(memcmp(back, data, off), 0);
            }
        }
        if (pass == 1) {
            /* out of order: at an aligned and an unaligned offset, then a truncate that the
             * last write restores */
            MO_ASSERT_OK(k->ops->write(o, 8192, data + 8192, 5000, &mo_test_err));
            MO_ASSERT_OK(k->ops->write(o, 70001, data + 70001, 333, &mo_test_err));
            MO_ASSERT_OK(k->ops->truncate(o, size - 100, &mo_test_err));
            MO_ASSERT_OK(k->ops->write(o, size - 100, data + size - 100, 100, &mo_test_err));
        }
        MO_ASSERT_OK(k->ops->commit(o, &mo_test_err));
        char p[700];
        snprintf(p, sizeof(p), "%s/%s", dir, ref.name);
        if (pass == 0)
            CU_ASSERT(resident_pages(p) <= 2); /* O_DIRECT: not through the page cache */
        if (pass >= 2)
            CU_ASSERT(resident_pages(p) > 2); /* fell back to buffered writes */
        mo_sys_fault_disarm_all();
        uint8_t *d;
        size_t n;
        MO_ASSERT_OK(mo_sys_read_file(&d, &n, p, &mo_test_err));
        CU_ASSERT_EQUAL(n, size);
        CU_ASSERT(n == size && !memcmp(d, data, size));
        mo_free(d);
        unlink(p);
    }
    mo_sink_free(k);
    /* a threshold: smaller objects stay buffered (in the page cache), larger ones do not */
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    mo_sink_dir_set_direct(k, (uint64_t)1 << 20);
    for (int big = 0; big < 2; big++) {
        ref.size = big ? (2u << 20) : (100u << 10);
        mo_sink_obj *o;
        uint64_t part;
        MO_ASSERT_OK(k->ops->begin(k, &o, &ref, &part, &mo_test_err));
        MO_ASSERT_OK(k->ops->write(o, 0, data, ref.size, &mo_test_err));
        MO_ASSERT_OK(k->ops->commit(o, &mo_test_err));
        char p[700];
        snprintf(p, sizeof(p), "%s/%s", dir, ref.name);
        const size_t res = resident_pages(p);
        CU_ASSERT(big ? res <= 2 : res >= 20 && res != SIZE_MAX);
        unlink(p);
    }
    mo_sink_free(k);
    free(data);
    free(back);
    /* the copier: chunks of 3 pages + 5 bytes, a run that fails on object 1, a resume */
    fake f;
    mo_src s;
    fake_init(&f, &s);
    dir = mo_test_tmpdir("xferdio2");
    MO_ASSERT_OK(mo_sink_dir_open(&k, dir, false, &mo_test_err));
    mo_sink_dir_set_direct(k, 0);
    mo_xfer_opts o = opts_small();
    o.chunk_size = 3 * 4096 + 5;
    mo_xfer_stats st;
    f.short_obj = 1;
    MO_ASSERT_RC(MO_ETRUNCATED, mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    f.short_obj = -1;
    MO_ASSERT_OK(mo_xfer_run(&st, &s, k, &o, &mo_test_err));
    CU_ASSERT(same_file(dir, &f, 0) && same_file(dir, &f, 1));
    CU_ASSERT_EQUAL(st.chunks_refetched, 0); /* every journaled chunk was in the part */
    mo_sink_free(k);
    fake_dispose(&f);
}

static CU_TestInfo xfer_tests[] = {
    {"test_xfer__retry_transient", test_xfer__retry_transient},
    {"test_xfer__borrow_release_failure", test_xfer__borrow_release_failure},
    {"test_xfer__skip_same_and_replace_damaged", test_xfer__skip_same_and_replace_damaged},
    {"test_xfer__short_source_and_bad_digest", test_xfer__short_source_and_bad_digest},
    {"test_xfer__hostile_name", test_xfer__hostile_name},
    {"test_xfer__oom_loop", test_xfer__oom_loop},
    {"test_xfer__unsynced_done_rechecked", test_xfer__unsynced_done_rechecked},
    {"test_xfer__direct_sink_exact", test_xfer__direct_sink_exact},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_xfer_suites[] = {
    {"xfer", NULL, NULL, NULL, NULL, xfer_tests},
    CU_SUITE_INFO_NULL,
};
