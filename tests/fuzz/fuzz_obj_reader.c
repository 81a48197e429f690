/* Fuzz target for the object reader and the verifier (objfmt/obj_reader.c, obj_meta.c,
 * obj_verify.c and everything the deep level reaches: LZ4, vectors, zone maps, filters).
 * Byte 0 is control, the rest is the object file (raw or DISK-framed):
 *   bit 0  fix the input up so it reaches deeper code (libgit2's packfile trick): the
 *          header's meta extent is patched so that meta.End() + 64 == logical size (offset
 *          kept when plausible), and a framed input gets a valid CRC-32C in every block;
 *   bit 1  with bit 0, also force the meta extent's alg to LZ4 (1);
 *   bit 2  verify a second time with the ObjectStats derived by the reader (check_stats);
 *   bit 3  max_problems = 1 instead of the default;
 *   bit 4  the input holds the meta blob uncompressed, from the header's meta offset (or 64)
 *          to the 64-byte footer: the target LZ4-compresses it and patches the header, so
 *          mutations of meta fields survive (applied first, to raw inputs);
 *   bit 5  DISK-frame the object (after bit 4, before bit 0).
 * Oracles: mo_obj_verify_mem returns MO_OK or a data code (ECORRUPT, ECHECKSUM, ETRUNCATED,
 * EVERSION), never an environment/argument code on in-memory bytes; problems > 0 iff the
 * result is not MO_OK, and the first problem's code is the result; the callback sees
 * min(problems, max_problems) problems. The reader walk (open_mem, load_meta, every column of
 * every block) returns data codes only, every accessor of a decoded vector stays in bounds
 * (ASan), and an object the deep verifier accepts reads back completely without error. */
#include <string.h>

#include "mo/hash.h"
#include "mo/objfmt.h"
#include "mo_fuzz.h"

static bool data_code(int rc)
{
    return rc == MO_ECORRUPT || rc == MO_ECHECKSUM || rc == MO_ETRUNCATED || rc == MO_EVERSION;
}

typedef struct counter {
    unsigned n;
    int first;
} counter;

static int count_cb(const mo_obj_problem *p, void *payload)
{
    counter *c = payload;
    MO_FUZZ_CHECK(data_code(p->code) && p->msg != NULL && p->field != NULL);
    if (c->n++ == 0)
        c->first = p->code;
    return 0;
}

/* Patches the meta extent of the logical header at @p h (the 64-byte header). */
static void fix_meta_extent(uint8_t *h, uint64_t lsize, bool force_lz4)
{
    if (lsize < MO_OBJ_HEADER_LEN + MO_OBJ_FOOTER_LEN + 1 || lsize > UINT32_MAX)
        return;
    mo_obj_extent e;
    mo_obj_extent_decode(&e, h + 10);
    const uint64_t room = lsize - MO_OBJ_FOOTER_LEN; /* meta must end here */
    if (e.offset < MO_OBJ_HEADER_LEN || e.offset >= room)
        e.offset = (uint32_t)(MO_OBJ_HEADER_LEN + e.offset % (room - MO_OBJ_HEADER_LEN));
    e.length = (uint32_t)(room - e.offset);
    if (force_lz4)
        e.alg = MO_OBJ_ALG_LZ4;
    mo_obj_extent_encode(h + 10, &e);
}

static void fixup(uint8_t *p, size_t n, uint8_t ctl)
{
    const bool force = (ctl >> 1) & 1;
    if (mo_obj_frame_detect(p, n)) {
        uint64_t lsize;
        /* the header's bytes [10,23) sit in the first block, after its 4-byte CRC */
        if (mo_obj_frame_logical_size(&lsize, n, NULL) == MO_OK && n >= 4 + MO_OBJ_HEADER_LEN)
            fix_meta_extent(p + 4, lsize, force);
        for (size_t b = 0; b < n; b += MO_OBJ_FRAME_BLOCK) {
            const size_t bl = n - b < MO_OBJ_FRAME_BLOCK ? n - b : MO_OBJ_FRAME_BLOCK;
            if (bl >= 4)
                mo_store_le32(p + b, mo_crc32c(0, p + b + 4, bl - 4));
        }
    } else if (n >= MO_OBJ_HEADER_LEN) {
        fix_meta_extent(p, n, force);
    }
}

/* Bit 4: compress the raw meta blob in place of itself; returns the new buffer. */
static uint8_t *compress_meta(uint8_t *p, size_t *n)
{
    if (*n < MO_OBJ_HEADER_LEN + MO_OBJ_FOOTER_LEN || mo_obj_frame_detect(p, *n))
        return p;
    mo_obj_extent e;
    mo_obj_extent_decode(&e, p + 10);
    const size_t end = *n - MO_OBJ_FOOTER_LEN;
    const size_t off = e.offset >= MO_OBJ_HEADER_LEN && e.offset <= end ? e.offset : MO_OBJ_HEADER_LEN;
    mo_buf out = MO_BUF_INIT;
    uint32_t clen;
    MO_FUZZ_CHECK(mo_buf_put(&out, p, off) == MO_OK);
    if (mo_obj_lz4_encode(&out, p + off, end - off, &clen, NULL) < 0) {
        mo_buf_dispose(&out);
        return p;
    }
    MO_FUZZ_CHECK(mo_buf_put(&out, p + end, MO_OBJ_FOOTER_LEN) == MO_OK);
    e.alg = MO_OBJ_ALG_LZ4;
    e.offset = (uint32_t)off;
    e.length = clen;
    e.origin_size = (uint32_t)(end - off);
    mo_obj_extent_encode(out.ptr + 10, &e);
    mo_free(p);
    *n = out.len;
    uint8_t *q = mo_malloc(out.len);
    MO_FUZZ_CHECK(q != NULL);
    memcpy(q, out.ptr, out.len);
    mo_buf_dispose(&out);
    return q;
}

static uint8_t *frame(uint8_t *p, size_t *n)
{
    mo_buf out = MO_BUF_INIT;
    MO_FUZZ_CHECK(mo_obj_frame_encode(&out, p, *n) == MO_OK);
    mo_free(p);
    *n = out.len;
    uint8_t *q = mo_malloc(out.len ? out.len : 1);
    MO_FUZZ_CHECK(q != NULL);
    if (out.len)
        memcpy(q, out.ptr, out.len);
    mo_buf_dispose(&out);
    return q;
}

static int verify(const uint8_t *p, size_t n, const mo_obj_stats *st, unsigned max_problems)
{
    mo_obj_verify_opts o = {MO_OBJ_LEVEL_DEEP, st, -1, max_problems};
    mo_obj_verify_result res;
    counter c = {0, MO_OK};
    mo_err err;
    const int rc = mo_obj_verify_mem(&res, p, n, "fuzz", &o, count_cb, &c, &err);
    MO_FUZZ_CHECK(rc == MO_OK || data_code(rc));
    MO_FUZZ_CHECK((res.problems > 0) == (rc != MO_OK));
    MO_FUZZ_CHECK(res.first_code == rc);
    const unsigned limit = max_problems ? max_problems : 100;
    MO_FUZZ_CHECK(c.n == (res.problems < limit ? res.problems : limit));
    MO_FUZZ_CHECK(c.n == 0 || c.first == rc);
    MO_FUZZ_CHECK(res.physical_size == n);
    return rc;
}

/* Touches every byte an accessor hands out, so ASan sees an out-of-bounds view. */
static unsigned touch(const uint8_t *p, uint32_t n)
{
    unsigned s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

static void walk_vec(const mo_obj_vec *v)
{
    volatile unsigned sink = 0;
    if (mo_obj_vec_is_const_null(v))
        return;
    for (uint32_t r = 0; r < v->length; r++) {
        if (mo_obj_vec_is_null(v, r))
            continue;
        const uint8_t *p;
        uint32_t n;
        mo_obj_vec_value(v, r, &p, &n);
        sink += touch(p, n);
        sink += touch(mo_obj_vec_slot(v, r), (uint32_t)v->type.size);
        if (v->cls == MO_OBJ_VEC_CONST)
            break;
    }
    (void)sink;
}

/* The reader over logical bytes; returns the first failure (MO_OK if everything read). */
static int read_all(const uint8_t *p, size_t n, mo_obj_stats *st, bool *have_st)
{
    mo_obj_reader *r;
    mo_err err;
    int rc = mo_obj_reader_open_mem(&r, p, n, "fuzz", &err);
    if (rc < 0) {
        MO_FUZZ_CHECK(data_code(rc));
        return rc;
    }
    MO_FUZZ_CHECK(mo_obj_reader_size(r) == n && !mo_obj_reader_framed(r));
    mo_obj_where w;
    rc = mo_obj_reader_load_meta(r, &w, &err);
    if (rc < 0) {
        MO_FUZZ_CHECK(data_code(rc));
        MO_FUZZ_CHECK(mo_obj_reader_meta(r) == NULL);
        mo_obj_reader_free(r);
        return rc;
    }
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    MO_FUZZ_CHECK(m && m->slot_count >= 1);
    MO_FUZZ_CHECK(mo_obj_reader_load_meta(r, NULL, NULL) == MO_OK); /* idempotent */
    mo_obj_special sp;
    mo_obj_meta_special(&sp, m);
    *have_st = mo_obj_reader_stats(r, st, NULL) == MO_OK;
    MO_FUZZ_CHECK(*have_st);

    int first = MO_OK;
    mo_buf scratch = MO_BUF_INIT;
    const mo_obj_slotmeta *sl = &m->slots[0];
    for (uint32_t b = 0; b < sl->block_count; b++) {
        const mo_obj_blockmeta *bm = &sl->blocks[b];
        const uint32_t top = (uint32_t)bm->hdr.meta_column_count + 2;
        for (uint32_t s = 0; s < top && s <= 0xFFFF; s++) {
            mo_obj_vec v;
            mo_obj_vec_fault fault;
            rc = mo_obj_reader_column(r, &v, &scratch, b, (uint16_t)s, &fault, &err);
            if (rc == MO_ENOTFOUND) {
                MO_FUZZ_CHECK(s >= bm->hdr.meta_column_count || bm->cols[s].type == 0);
                continue;
            }
            MO_FUZZ_CHECK(s < bm->hdr.meta_column_count && bm->cols[s].type != 0);
            if (rc < 0) {
                MO_FUZZ_CHECK(data_code(rc));
                if (first == MO_OK)
                    first = rc;
                continue;
            }
            walk_vec(&v);
        }
    }
    /* out of range block */
    mo_obj_vec v;
    MO_FUZZ_CHECK(mo_obj_reader_column(r, &v, &scratch, sl->block_count, 0, NULL, NULL) ==
                  MO_EINVAL);
    mo_buf_dispose(&scratch);
    mo_obj_reader_free(r);
    return first;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t ctl = data[0];
    size_t n = size - 1;
    /* an exact-size heap copy, so ASan sees any read past the end */
    uint8_t *p = mo_malloc(n ? n : 1);
    MO_FUZZ_CHECK(p != NULL);
    if (n)
        memcpy(p, data + 1, n);
    if (ctl & 16)
        p = compress_meta(p, &n);
    if ((ctl & 32) && n > 0)
        p = frame(p, &n);
    if (ctl & 1)
        fixup(p, n, ctl);
    const unsigned maxp = (ctl & 8) ? 1 : 0;

    const int rc = verify(p, n, NULL, maxp);
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("MO_FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "ctl 0x%02x, %zu bytes: verify %s\n", ctl, n, mo_code_name(rc));

    /* the logical bytes, for the reader (which takes them raw) */
    mo_buf logical = MO_BUF_INIT;
    const uint8_t *lp = p;
    size_t ln = n;
    bool ok = true;
    if (mo_obj_frame_detect(p, n)) {
        mo_obj_deframer d;
        mo_obj_deframer_init(&d);
        ok = mo_obj_deframer_feed(&d, &logical, p, n, NULL) == MO_OK &&
             mo_obj_deframer_finish(&d, &logical, NULL) == MO_OK;
        lp = logical.ptr;
        ln = logical.len;
    }
    if (ok) {
        /* exact-size copy again: logical.ptr has slack capacity */
        uint8_t *q = mo_malloc(ln ? ln : 1);
        MO_FUZZ_CHECK(q != NULL);
        if (ln)
            memcpy(q, lp, ln);
        mo_obj_stats st;
        bool have_st = false;
        const int rrc = read_all(q, ln, &st, &have_st);
        if (rc == MO_OK)
            MO_FUZZ_CHECK(rrc == MO_OK); /* accepted by the deep verifier: reads back */
        if (have_st && (ctl & 4)) {
            const int src = verify(p, n, &st, maxp);
            /* the stats come from the object itself, so they add no problem of their own
             * unless the object is already bad */
            if (rc == MO_OK)
                MO_FUZZ_CHECK(src == MO_OK);
        }
        mo_free(q);
    } else {
        MO_FUZZ_CHECK(rc != MO_OK);
    }
    mo_buf_dispose(&logical);
    mo_free(p);
    return 0;
}
