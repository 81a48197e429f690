/* Bundles: export of a directory (raw and DISK-framed objects, plus a non-object file) and
 * the bundle source (list with digests and ObjectStats, sequential reads with forward skips
 * and rewinds), the bundle verifier on a clean bundle, and damage with exact codes: a flipped
 * byte in an object or in the manifest, a torn manifest, hostile or foreign entries, a size
 * that disagrees with the manifest, a missing object, and truncated archives. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mo/sys.h"
#include "mo/xfer.h"
#include "mo_test.h"

#define NOBJ 4

typedef struct obj {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    mo_buf bytes; /* logical */
    mo_obj_stats stats;
    bool framed;
} obj;

typedef struct fixture {
    char dir[512];
    char tar[512];
    obj objs[NOBJ]; /* sorted by name, as the dir source lists them */
} fixture;

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(p, 1, n, f) == n);
    CU_ASSERT_FATAL(fclose(f) == 0);
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*n ? *n : 1);
    CU_ASSERT_FATAL(p && fread(p, 1, *n, f) == *n);
    fclose(f);
    return p;
}

/* An object of @p rows rows: a sorted int64 PK and a random varchar. */
static void make_obj(obj *o, uint32_t rows, uint64_t seed)
{
    mo_obj_writer_col cols[2] = {{mo_obj_type_default(MO_T_INT64), 0},
                                 {mo_obj_type_default(MO_T_VARCHAR), 1}};
    mo_obj_writer_opts wo = {0};
    wo.kind = MO_OBJ_KIND_DATA;
    wo.pk_pos = 0;
    wo.sort_key_pos = 0;
    mo_obj_writer *w;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, 2, &wo, &mo_test_err));
    mo_obj_colbuf c[2];
    mo_obj_vec v[2];
    for (int i = 0; i < 2; i++)
        mo_obj_colbuf_init(&c[i], &cols[i].type);
    uint64_t rng = seed;
    for (uint32_t base = 0; base < rows; base += MO_OBJ_BLOCK_MAX_ROWS) {
        const uint32_t n =
            rows - base < MO_OBJ_BLOCK_MAX_ROWS ? rows - base : MO_OBJ_BLOCK_MAX_ROWS;
        for (int i = 0; i < 2; i++)
            mo_obj_colbuf_reset(&c[i]);
        for (uint32_t r = 0; r < n; r++) {
            uint8_t k[8], s[64];
            mo_store_le64(k, (uint64_t)(base + r) * 7);
            MO_ASSERT_OK(mo_obj_colbuf_append_fixed(&c[0], k));
            const size_t len = 8 + mo_test_rand(&rng) % 50;
            for (size_t j = 0; j < len; j++)
                s[j] = (uint8_t)('a' + mo_test_rand(&rng) % 26);
            MO_ASSERT_OK(mo_obj_colbuf_append_bytes(&c[1], s, len));
        }
        for (int i = 0; i < 2; i++)
            mo_obj_colbuf_view(&v[i], &c[i]);
        MO_ASSERT_OK(mo_obj_writer_add_block(w, v, &mo_test_err));
    }
    mo_buf_init(&o->bytes);
    MO_ASSERT_OK(mo_obj_writer_finish(w, &o->bytes, &o->stats, &mo_test_err));
    mo_obj_name_format(o->name, mo_obj_writer_id(w));
    mo_obj_writer_free(w);
    for (int i = 0; i < 2; i++)
        mo_obj_colbuf_dispose(&c[i]);
}

static int cmp_obj(const void *a, const void *b)
{
    return strcmp(((const obj *)a)->name, ((const obj *)b)->name);
}

/* A directory of NOBJ objects (the second one DISK-framed), a non-object file, and its bundle. */
static void fixture_make(fixture *f)
{
    memset(f, 0, sizeof(*f));
    const char *d = mo_test_tmpdir("bundle");
    CU_ASSERT_FATAL(d != NULL);
    snprintf(f->dir, sizeof(f->dir), "%s/objs", d);
    snprintf(f->tar, sizeof(f->tar), "%s/b.tar", d);
    CU_ASSERT_FATAL(mkdir(f->dir, 0755) == 0);
    static const uint32_t rows[NOBJ] = {20000, 9000, 1, 30000};
    for (int i = 0; i < NOBJ; i++)
        make_obj(&f->objs[i], rows[i], 1000 + (uint64_t)i);
    f->objs[1].framed = true;
    for (int i = 0; i < NOBJ; i++) {
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", f->dir, f->objs[i].name);
        if (f->objs[i].framed) {
            mo_buf fr = MO_BUF_INIT;
            MO_ASSERT_OK(mo_obj_frame_encode(&fr, f->objs[i].bytes.ptr, f->objs[i].bytes.len));
            write_file(p, fr.ptr, fr.len);
            mo_buf_dispose(&fr);
        } else {
            write_file(p, f->objs[i].bytes.ptr, f->objs[i].bytes.len);
        }
    }
    char p[600];
    snprintf(p, sizeof(p), "%s/README", f->dir);
    write_file(p, "not an object\n", 14);
    qsort(f->objs, NOBJ, sizeof(obj), cmp_obj);
    mo_src *src;
    MO_ASSERT_OK(mo_src_dir_open(&src, f->dir, &mo_test_err));
    MO_ASSERT_OK(mo_xfer_export(src, f->tar, &mo_test_err));
    mo_src_free(src);
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->tar);
    struct stat st;
    CU_ASSERT(stat(tmp, &st) != 0); /* no temp file left */
}

static void fixture_dispose(fixture *f)
{
    for (int i = 0; i < NOBJ; i++)
        mo_buf_dispose(&f->objs[i].bytes);
}

typedef struct refs {
    int n;
    mo_obj_ref r[16];
} refs;

static int collect_ref(const mo_obj_ref *r, void *payload)
{
    refs *rs = payload;
    if (rs->n < 16)
        rs->r[rs->n] = *r;
    rs->n++;
    return 0;
}

/* Reads [off, off+n) of object @p i through the source and compares it with the original. */
static void expect_read(mo_src *s, const obj *o, uint64_t off, size_t n)
{
    uint8_t *buf = malloc(n ? n : 1);
    CU_ASSERT_FATAL(buf != NULL);
    MO_ASSERT_OK(s->ops->read(s, o->name, off, buf, n, &mo_test_err));
    CU_ASSERT(memcmp(buf, o->bytes.ptr + off, n) == 0);
    free(buf);
}

static void test_bundle__export_list_read(void)
{
    fixture f;
    fixture_make(&f);
    mo_src *s;
    MO_ASSERT_OK(mo_src_bundle_open(&s, f.tar, &mo_test_err));
    CU_ASSERT_EQUAL(s->ops->caps, MO_SRC_LIST | MO_SRC_DIGEST);
    CU_ASSERT(strncmp(s->ops->identity(s), "bundle:/", 8) == 0);
    CU_ASSERT(strstr(s->ops->identity(s), "/b.tar") != NULL);
    refs rs = {0};
    uint64_t ignored = 0;
    MO_ASSERT_OK(s->ops->list(s, collect_ref, &rs, &ignored, &mo_test_err));
    CU_ASSERT_EQUAL_FATAL(rs.n, NOBJ); /* README is not exported */
    uint64_t total = 0;
    for (int i = 0; i < NOBJ; i++) {
        const obj *o = &f.objs[i];
        const mo_obj_ref *r = &rs.r[i];
        CU_ASSERT_STRING_EQUAL(r->name, o->name);
        CU_ASSERT_EQUAL(r->size, o->bytes.len); /* logical, also for the framed one */
        CU_ASSERT(r->has_digest);
        const mo_digest128 d = mo_xxh3_128(o->bytes.ptr, o->bytes.len);
        CU_ASSERT(r->digest.lo == d.lo && r->digest.hi == d.hi);
        CU_ASSERT(r->has_stats);
        uint8_t st[MO_OBJ_STATS_LEN];
        mo_obj_stats_encode(st, &o->stats);
        CU_ASSERT(memcmp(st, r->stats, MO_OBJ_STATS_LEN) == 0);
        /* whole object in uneven pieces */
        for (uint64_t off = 0; off < o->bytes.len;) {
            const size_t k = o->bytes.len - off < 70001 ? (size_t)(o->bytes.len - off) : 70001;
            expect_read(s, o, off, k);
            off += k;
        }
        total += o->bytes.len;
    }
    CU_ASSERT_EQUAL(s->bytes_read, total);
    /* reads past the end and of unknown objects are refused */
    uint8_t b[4];
    MO_ASSERT_RC(MO_EINVAL,
                 s->ops->read(s, f.objs[0].name, f.objs[0].bytes.len - 2, b, 4, &mo_test_err));
    MO_ASSERT_RC(MO_ENOTFOUND, s->ops->read(s, "0190c4a8-1234-7abc-8def-0123456789ab_00000", 0, b,
                                            1, &mo_test_err));
    mo_src_free(s);
    /* a bundle source exports again into an identical bundle */
    MO_ASSERT_OK(mo_src_bundle_open(&s, f.tar, &mo_test_err));
    char again[600];
    snprintf(again, sizeof(again), "%s.again", f.tar);
    MO_ASSERT_OK(mo_xfer_export(s, again, &mo_test_err));
    mo_src_free(s);
    size_t n1, n2;
    uint8_t *t1 = read_file(f.tar, &n1), *t2 = read_file(again, &n2);
    CU_ASSERT(n1 == n2 && memcmp(t1, t2, n1) == 0);
    free(t1);
    free(t2);
    fixture_dispose(&f);
}

/* expect_read clamped to the object (the sorted order of fresh UUIDv7 names is random, so
 * which object is the 1-row one is too); returns whether the reader must reopen, modelled as
 * "an earlier entry, or an earlier offset of the current one". */
static bool expect_read_in(mo_src *s, const obj *objs, int i, uint64_t off, size_t n, int *cur,
                           uint64_t *cur_off)
{
    const obj *o = &objs[i];
    if (off >= o->bytes.len)
        off = o->bytes.len - 1;
    if (n > o->bytes.len - off)
        n = (size_t)(o->bytes.len - off);
    const bool rewind = i < *cur || (i == *cur && off < *cur_off);
    expect_read(s, o, off, n);
    *cur = i;
    *cur_off = off + n;
    return rewind;
}

static void test_bundle__sequential_skips_rewinds(void)
{
    fixture f;
    fixture_make(&f);
    mo_src *s;
    MO_ASSERT_OK(mo_src_bundle_open(&s, f.tar, &mo_test_err));
    const obj *o = f.objs;
    /* {object, offset, length}, clamped to the object */
    static const struct {
        int obj;
        uint64_t off;
        size_t n;
    } steps[] = {
        {2, 0, 1},         /* skips objects 0 and 1 */
        {2, 100, 50},      /* forward inside the entry */
        {3, 5000, 4096},   /* the next entry, mid-object */
        {3, 1u << 30, 10}, /* its tail */
        {0, 0, 777},       /* an earlier entry: rewind */
        {0, 10, 10},       /* an earlier offset: rewind */
        {1, 5, 1u << 30},  /* the rest of the next entry */
        {3, 0, 1u << 30},  /* a later entry, whole */
        {1, 0, 16},        /* back again: rewind */
    };
    int cur = -1;
    uint64_t cur_off = 0;
    unsigned long rewinds = 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        const unsigned long opens = mo_sys_calls(MO_SYS_OPEN);
        const bool rewind =
            expect_read_in(s, o, steps[i].obj, steps[i].off, steps[i].n, &cur, &cur_off);
        CU_ASSERT_EQUAL(mo_sys_calls(MO_SYS_OPEN) - opens, rewind ? 1 : 0);
        rewinds += rewind;
    }
    CU_ASSERT(rewinds >= 3); /* steps 5, 6 and 9 rewind whatever the sizes */
    mo_src_free(s);
    fixture_dispose(&f);
}

typedef struct probs {
    int n;
    int code[32];
    char object[32][700];
    char field[32][32];
} probs;

static int collect_problem(const mo_obj_problem *p, void *payload)
{
    probs *ps = payload;
    if (getenv("MO_TEST_VERBOSE"))
        fprintf(stderr, "  problem %s: %s [%s] %s\n", p->object, mo_code_name(p->code),
                p->field ? p->field : "-", p->msg);
    if (ps->n < 32) {
        ps->code[ps->n] = p->code;
        snprintf(ps->object[ps->n], sizeof(ps->object[0]), "%s", p->object);
        snprintf(ps->field[ps->n], sizeof(ps->field[0]), "%s", p->field ? p->field : "");
    }
    ps->n++;
    return 0;
}

static void test_bundle__verify_clean(void)
{
    fixture f;
    fixture_make(&f);
    mo_xfer_bundle_result r;
    probs ps = {0};
    MO_ASSERT_OK(
        mo_xfer_verify_bundle(&r, f.tar, MO_OBJ_LEVEL_DEEP, collect_problem, &ps, &mo_test_err));
    CU_ASSERT_EQUAL(ps.n, 0);
    CU_ASSERT_EQUAL(r.objects, NOBJ);
    CU_ASSERT_EQUAL(r.objects_ok, NOBJ);
    CU_ASSERT_EQUAL(r.problems, 0);
    CU_ASSERT_EQUAL(r.first_code, MO_OK);
    uint64_t total = 0;
    for (int i = 0; i < NOBJ; i++)
        total += f.objs[i].bytes.len;
    CU_ASSERT_EQUAL(r.bytes, total);
    MO_ASSERT_OK(mo_xfer_verify_bundle(&r, f.tar, 0, NULL, NULL, &mo_test_err)); /* digests */
    CU_ASSERT_EQUAL(r.objects_ok, NOBJ);
    MO_ASSERT_RC(MO_ENOTFOUND, mo_xfer_verify_bundle(&r, "/nonexistent/x.tar", MO_OBJ_LEVEL_DEEP,
                                                     NULL, NULL, &mo_test_err));
    fixture_dispose(&f);
}

/* Offset of the data of entry @p name: its ustar header (name at offset 0) plus 512. */
static size_t entry_data(const uint8_t *tar, size_t n, const char *name)
{
    for (size_t h = 0; h + 512 <= n; h += 512)
        if (!strncmp((const char *)tar + h, name, 100))
            return h + 512;
    CU_FAIL_FATAL("entry not found");
    return 0;
}

static void test_bundle__object_flip(void)
{
    fixture f;
    fixture_make(&f);
    size_t n;
    uint8_t *t = read_file(f.tar, &n);
    const obj *o = &f.objs[2 % NOBJ];
    const size_t at = entry_data(t, n, o->name) + o->bytes.len / 2;
    t[at] ^= 0x10;
    write_file(f.tar, t, n);
    free(t);
    mo_xfer_bundle_result r;
    probs ps = {0};
    MO_ASSERT_RC(MO_ECHECKSUM, mo_xfer_verify_bundle(&r, f.tar, MO_OBJ_LEVEL_DEEP, collect_problem,
                                                     &ps, &mo_test_err));
    CU_ASSERT_EQUAL(r.first_code, MO_ECHECKSUM);
    CU_ASSERT_EQUAL(r.objects_ok, NOBJ - 1);
    CU_ASSERT_FATAL(ps.n >= 1);
    char want[700];
    snprintf(want, sizeof(want), "%s:%s", f.tar, o->name);
    CU_ASSERT_EQUAL(ps.code[0], MO_ECHECKSUM);
    CU_ASSERT_STRING_EQUAL(ps.object[0], want);
    CU_ASSERT_STRING_EQUAL(ps.field[0], "xxh3_128");
    for (int i = 0; i < ps.n && i < 32; i++) /* every problem is about that object */
        CU_ASSERT_STRING_EQUAL(ps.object[i], want);
    fixture_dispose(&f);
}

static void test_bundle__manifest_flip(void)
{
    fixture f;
    fixture_make(&f);
    size_t n;
    uint8_t *t = read_file(f.tar, &n);
    const size_t m = entry_data(t, n, "MANIFEST.mosync");
    CU_ASSERT_EQUAL(m, 512); /* the manifest comes first */
    t[m + 16 + 50] ^= 0x01;  /* inside the first object line's size or digest */
    write_file(f.tar, t, n);
    free(t);
    mo_src *s;
    MO_ASSERT_RC(MO_ECORRUPT, mo_src_bundle_open(&s, f.tar, &mo_test_err));
    CU_ASSERT(s == NULL);
    CU_ASSERT(strstr(mo_test_err.msg, "trailer") != NULL);
    mo_xfer_bundle_result r;
    probs ps = {0};
    MO_ASSERT_RC(MO_ECORRUPT, mo_xfer_verify_bundle(&r, f.tar, MO_OBJ_LEVEL_DEEP, collect_problem,
                                                    &ps, &mo_test_err));
    CU_ASSERT_EQUAL_FATAL(ps.n, 1);
    CU_ASSERT(strstr(ps.object[0], ":MANIFEST.mosync") != NULL);
    fixture_dispose(&f);
}

/* ---- rewriting bundles entry by entry ---- */

typedef struct ent {
    char name[128];
    uint8_t *data;
    size_t len;
} ent;

static int tar_load(ent *e, int cap, const char *path)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    CU_ASSERT_FATAL(archive_read_open_filename(a, path, 10240) == ARCHIVE_OK);
    struct archive_entry *ae;
    int n = 0;
    while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
        CU_ASSERT_FATAL(n < cap);
        snprintf(e[n].name, sizeof(e[n].name), "%s", archive_entry_pathname(ae));
        e[n].len = (size_t)archive_entry_size(ae);
        e[n].data = malloc(e[n].len ? e[n].len : 1);
        CU_ASSERT_FATAL(archive_read_data(a, e[n].data, e[n].len) == (la_ssize_t)e[n].len);
        n++;
    }
    archive_read_free(a);
    return n;
}

static void tar_save(const ent *e, int n, const char *path)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    CU_ASSERT_FATAL(archive_write_open_filename(a, path) == ARCHIVE_OK);
    for (int i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_size(ae, (la_int64_t)e[i].len);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        CU_ASSERT_FATAL(archive_write_header(a, ae) == ARCHIVE_OK);
        CU_ASSERT_FATAL(archive_write_data(a, e[i].data, e[i].len) == (la_ssize_t)e[i].len);
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static void ents_free(ent *e, int n)
{
    for (int i = 0; i < n; i++)
        free(e[i].data);
}

/* Verifies @p path and expects @p code first, on an entry whose object name ends in @p tail. */
static void expect_verify(const char *path, int code, const char *tail)
{
    mo_xfer_bundle_result r;
    probs ps = {0};
    MO_ASSERT_RC(code, mo_xfer_verify_bundle(&r, path, MO_OBJ_LEVEL_DEEP, collect_problem, &ps,
                                             &mo_test_err));
    CU_ASSERT_FATAL(ps.n >= 1);
    CU_ASSERT_EQUAL(ps.code[0], code);
    const size_t lo = strlen(ps.object[0]), lt = strlen(tail);
    CU_ASSERT(lo >= lt && !strcmp(ps.object[0] + lo - lt, tail));
}

/* Reads every object through the source; expects the first failure to be @p code. */
static void expect_read_fails(const char *path, const fixture *f, int code)
{
    mo_src *s;
    MO_ASSERT_OK(mo_src_bundle_open(&s, path, &mo_test_err));
    int rc = MO_OK;
    uint8_t *buf = malloc(1 << 20);
    for (int i = 0; i < NOBJ && rc == MO_OK; i++)
        for (uint64_t off = 0; off < f->objs[i].bytes.len && rc == MO_OK;) {
            const uint64_t left = f->objs[i].bytes.len - off;
            const size_t k = left < (1 << 20) ? (size_t)left : (1 << 20);
            rc = s->ops->read(s, f->objs[i].name, off, buf, k, &mo_test_err);
            off += k;
        }
    free(buf);
    mo_src_free(s);
    MO_ASSERT_RC(code, rc);
}

static void test_bundle__manifest_torn(void)
{
    fixture f;
    fixture_make(&f);
    ent e[16];
    const int n = tar_load(e, 16, f.tar);
    CU_ASSERT_EQUAL_FATAL(n, NOBJ + 1);
    CU_ASSERT_STRING_EQUAL_FATAL(e[0].name, "MANIFEST.mosync");
    const size_t full = e[0].len;
    /* cut inside the trailer, at its start, and inside the last object line */
    const size_t cuts[] = {1, 10, 30, 60};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        e[0].len = full - cuts[c];
        tar_save(e, n, f.tar);
        mo_src *s;
        MO_ASSERT_RC(MO_ECORRUPT, mo_src_bundle_open(&s, f.tar, &mo_test_err));
        expect_verify(f.tar, MO_ECORRUPT, ":MANIFEST.mosync");
    }
    /* another version is MO_EVERSION, not corruption */
    e[0].len = full;
    e[0].data[14] = '2';
    tar_save(e, n, f.tar);
    mo_src *s;
    MO_ASSERT_RC(MO_EVERSION, mo_src_bundle_open(&s, f.tar, &mo_test_err));
    expect_verify(f.tar, MO_EVERSION, ":MANIFEST.mosync");
    /* no manifest first: not a bundle */
    e[0].data[14] = '1';
    tar_save(e + 1, n - 1, f.tar);
    MO_ASSERT_RC(MO_ECORRUPT, mo_src_bundle_open(&s, f.tar, &mo_test_err));
    ents_free(e, n);
    fixture_dispose(&f);
}

static void test_bundle__hostile_entries(void)
{
    fixture f;
    fixture_make(&f);
    ent e[16];
    const int n = tar_load(e, 16, f.tar);
    CU_ASSERT_EQUAL_FATAL(n, NOBJ + 1);
    char bad[600];
    snprintf(bad, sizeof(bad), "%s.bad", f.tar);
    ent x[17];
    /* "../x" right after the manifest */
    x[0] = e[0];
    snprintf(x[1].name, sizeof(x[1].name), "../x");
    x[1].data = (uint8_t *)"evil";
    x[1].len = 4;
    memcpy(x + 2, e + 1, (size_t)(n - 1) * sizeof(ent));
    tar_save(x, n + 1, bad);
    expect_verify(bad, MO_ECORRUPT, ":../x");
    expect_read_fails(bad, &f, MO_ECORRUPT);
    CU_ASSERT(strstr(mo_test_err.msg, "../x") != NULL);
    /* a valid object name the manifest does not list */
    snprintf(x[1].name, sizeof(x[1].name), "0190c4a8-1234-7abc-8def-0123456789ab_00000");
    tar_save(x, n + 1, bad);
    expect_verify(bad, MO_ECORRUPT, ":0190c4a8-1234-7abc-8def-0123456789ab_00000");
    expect_read_fails(bad, &f, MO_ECORRUPT);
    CU_ASSERT(strstr(mo_test_err.msg, "not in the manifest") != NULL);
    /* an entry one byte shorter than the manifest says */
    memcpy(x, e, (size_t)n * sizeof(ent));
    x[2].len--;
    tar_save(x, n, bad);
    expect_verify(bad, MO_ECORRUPT, x[2].name);
    expect_read_fails(bad, &f, MO_ECORRUPT);
    /* a listed object missing */
    memcpy(x, e, (size_t)n * sizeof(ent));
    tar_save(x, n - 1, bad);
    expect_verify(bad, MO_ECORRUPT, e[n - 1].name);
    expect_read_fails(bad, &f, MO_ECORRUPT);
    /* an object twice */
    memcpy(x, e, (size_t)n * sizeof(ent));
    x[n] = e[1];
    tar_save(x, n + 1, bad);
    expect_verify(bad, MO_ECORRUPT, e[1].name);
    ents_free(e, n);
    fixture_dispose(&f);
}

static void test_bundle__truncated(void)
{
    fixture f;
    fixture_make(&f);
    size_t n;
    uint8_t *t = read_file(f.tar, &n);
    const size_t last = entry_data(t, n, f.objs[NOBJ - 1].name) + f.objs[NOBJ - 1].bytes.len;
    char cut[600];
    snprintf(cut, sizeof(cut), "%s.cut", f.tar);
    /* every cut strictly before the end of the last object's data loses something */
    const size_t hdr = entry_data(t, n, f.objs[0].name) - 300; /* inside an entry header */
    size_t points[] = {0,   100,      512,      700,      1024,       1030,
                       hdr, last / 5, last / 3, last / 2, last - 600, last - 1};
    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        write_file(cut, t, points[i]);
        mo_xfer_bundle_result r;
        probs ps = {0};
        const int rc =
            mo_xfer_verify_bundle(&r, cut, MO_OBJ_LEVEL_DEEP, collect_problem, &ps, &mo_test_err);
        CU_ASSERT_EQUAL(ps.n, (int)r.problems);
        CU_ASSERT(rc == MO_ECORRUPT || rc == MO_ETRUNCATED);
        CU_ASSERT(r.problems >= 1);
        mo_src *s;
        const int orc = mo_src_bundle_open(&s, cut, &mo_test_err);
        if (orc < 0) {
            CU_ASSERT(orc == MO_ECORRUPT || orc == MO_ETRUNCATED);
            continue;
        }
        int rrc = MO_OK;
        uint8_t *buf = malloc(1 << 20);
        for (int j = 0; j < NOBJ && rrc == MO_OK; j++)
            for (uint64_t off = 0; off < f.objs[j].bytes.len && rrc == MO_OK;) {
                const uint64_t left = f.objs[j].bytes.len - off;
                const size_t k = left < (1 << 20) ? (size_t)left : (1 << 20);
                rrc = s->ops->read(s, f.objs[j].name, off, buf, k, &mo_test_err);
                off += k;
            }
        free(buf);
        mo_src_free(s);
        CU_ASSERT(rrc == MO_ECORRUPT || rrc == MO_ETRUNCATED);
    }
    free(t);
    fixture_dispose(&f);
}

/* Fail the Nth open/read/write/fsync/rename of an export until it succeeds: every round
 * fails with MO_EIO or MO_ENOSPC, leaves no temp file, and no bundle or a complete one. */
static void test_bundle__export_io_faults(void)
{
    fixture f;
    fixture_make(&f);
    char out[600], tmp[620];
    snprintf(out, sizeof(out), "%s.faults", f.tar);
    snprintf(tmp, sizeof(tmp), "%s.tmp", out);
    static const mo_sys_op ops[] = {MO_SYS_OPEN, MO_SYS_READ, MO_SYS_WRITE, MO_SYS_FSYNC,
                                    MO_SYS_RENAME};
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        bool done = false;
        for (unsigned long nth = 1; nth < 2000 && !done; nth++) {
            mo_src *src;
            MO_ASSERT_OK(mo_src_dir_open(&src, f.dir, &mo_test_err));
            MO_ASSERT_OK(mo_sys_fault_arm(ops[k], nth,
                                          nth % 2 ? MO_SYS_FAULT_EIO : MO_SYS_FAULT_ENOSPC, false));
            const int rc = mo_xfer_export(src, out, &mo_test_err);
            mo_sys_fault_disarm_all();
            mo_src_free(src);
            struct stat st;
            CU_ASSERT(stat(tmp, &st) != 0);
            if (rc == MO_OK) {
                done = true;
                break;
            }
            CU_ASSERT(rc == MO_EIO || rc == MO_ENOSPC);
            if (stat(out, &st) == 0) { /* only the directory fsync after the rename failed */
                size_t n1, n2;
                uint8_t *t1 = read_file(f.tar, &n1), *t2 = read_file(out, &n2);
                CU_ASSERT(n1 == n2 && memcmp(t1, t2, n1) == 0); /* complete, never torn */
                free(t1);
                free(t2);
                remove(out);
            }
        }
        CU_ASSERT(done);
        size_t n1, n2;
        uint8_t *t1 = read_file(f.tar, &n1), *t2 = read_file(out, &n2);
        CU_ASSERT(n1 == n2 && memcmp(t1, t2, n1) == 0);
        free(t1);
        free(t2);
        remove(out);
    }
    /* a failed read of the bundle source leaves it usable: the next read reopens */
    mo_src *s;
    MO_ASSERT_OK(mo_src_bundle_open(&s, f.tar, &mo_test_err));
    expect_read(s, &f.objs[1], 0, 100);
    MO_ASSERT_OK(mo_sys_fault_arm(MO_SYS_READ, 1, MO_SYS_FAULT_EIO, false));
    uint8_t b[100];
    MO_ASSERT_RC(MO_EIO, s->ops->read(s, f.objs[3].name, 0, b, sizeof(b), &mo_test_err));
    mo_sys_fault_disarm_all();
    expect_read(s, &f.objs[3], 0, 100);
    expect_read(s, &f.objs[1], 100, 100);
    mo_src_free(s);
    fixture_dispose(&f);
}

static CU_TestInfo bundle_tests[] = {
    {"export_list_read", test_bundle__export_list_read},
    {"sequential_skips_rewinds", test_bundle__sequential_skips_rewinds},
    {"verify_clean", test_bundle__verify_clean},
    {"object_flip", test_bundle__object_flip},
    {"manifest_flip", test_bundle__manifest_flip},
    {"manifest_torn", test_bundle__manifest_torn},
    {"hostile_entries", test_bundle__hostile_entries},
    {"truncated", test_bundle__truncated},
    {"export_io_faults", test_bundle__export_io_faults},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_bundle_suites[] = {
    {"bundle", NULL, NULL, NULL, NULL, bundle_tests},
    CU_SUITE_INFO_NULL,
};
