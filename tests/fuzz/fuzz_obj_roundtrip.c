/* Round-trip fuzz target (STYLE rule 25, as lz4's round_trip fuzzer): the input describes a
 * small object, the writer builds it, and the deep verifier must accept it with the writer's
 * ObjectStats, raw and DISK-framed, and every column must read back to exactly the values
 * written. Input layout (missing bytes read as 0; values continue from a PRNG seeded by the
 * input once the bytes run out):
 *   byte 0  flags: bits 0-1 blocks - 1 (3 -> 1); bit 2 appendable; bit 3 tombstone;
 *           bit 4 primary key at position 0 (data objects); bit 5 NULLs allowed in
 *           non-key columns; bit 6 sorted int64 key + SORTED stats flag; bit 7 tell the
 *           verifier the PK seqnum (else it deduces it);
 *   byte 1  user columns - 1 (mod 4), then one byte per column: type (index into oids[])
 *           and seqnum gap (bits 6-7);
 *   2 bytes rows of the last block: 1 + le16 % 300;
 *   rest    values: per row and column, a selector byte (NULL / varlena length) and then
 *           the value's bytes. */
#include <string.h>

#include "mo/objfmt.h"
#include "mo_fuzz.h"

static const uint8_t oids[] = {
    MO_T_BOOL,     MO_T_INT8,      MO_T_INT16,     MO_T_INT32,    MO_T_INT64,      MO_T_UINT8,
    MO_T_UINT16,   MO_T_UINT32,    MO_T_UINT64,    MO_T_FLOAT32,  MO_T_FLOAT64,    MO_T_DECIMAL64,
    MO_T_DECIMAL128, MO_T_DATE,    MO_T_TIME,      MO_T_DATETIME, MO_T_TIMESTAMP,  MO_T_YEAR,
    MO_T_CHAR,     MO_T_VARCHAR,   MO_T_JSON,      MO_T_UUID,     MO_T_BINARY,     MO_T_VARBINARY,
    MO_T_BLOB,     MO_T_TEXT,      MO_T_VECF32,    MO_T_VECF64,   MO_T_BIT,        MO_T_ENUM,
    MO_T_DECIMAL256, MO_T_TS,      MO_T_ROWID,     MO_T_DATALINK,
};
#define N_OIDS (sizeof(oids) / sizeof(oids[0]))
#define MAX_COLS 6

typedef struct src {
    const uint8_t *p;
    size_t n, pos;
    uint64_t rng;
} src;

static uint8_t next(src *s)
{
    if (s->pos < s->n)
        return s->p[s->pos++];
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (uint8_t)((s->rng * 0x2545F4914F6CDD1DULL) >> 56);
}

static void put_value(mo_obj_colbuf *c, src *s, bool nullable, int64_t *key)
{
    const uint8_t oid = c->type.oid;
    uint8_t v[256];
    const uint8_t sel = next(s);
    if (nullable && sel % 8 == 7) {
        MO_FUZZ_CHECK(mo_obj_colbuf_append_null(c) == MO_OK);
        return;
    }
    if (key) { /* sorted int64 key */
        *key += sel % 4;
        mo_store_le64(v, (uint64_t)*key);
        MO_FUZZ_CHECK(mo_obj_colbuf_append_fixed(c, v) == MO_OK);
        return;
    }
    if (mo_obj_type_is_varlena(oid)) {
        uint32_t n = (sel >> 3) % 2 ? (sel >> 4) % 24 : 24 + (sel >> 4) * 4u;
        const int el = mo_obj_type_array_elem(oid);
        if (el > 1)
            n -= n % (uint32_t)el;
        for (uint32_t i = 0; i < n; i++)
            v[i] = next(s);
        MO_FUZZ_CHECK(mo_obj_colbuf_append_bytes(c, v, n) == MO_OK);
        return;
    }
    for (int i = 0; i < c->type.size; i++)
        v[i] = next(s);
    if (oid == MO_T_BOOL)
        v[0] &= 1;
    MO_FUZZ_CHECK(mo_obj_colbuf_append_fixed(c, v) == MO_OK);
}

static int print_problem(const mo_obj_problem *p, void *payload)
{
    (void)payload;
    fprintf(stderr, "problem %s off %llu slot %d block %lld seq %d [%s] %s\n", mo_code_name(p->code),
            (unsigned long long)p->offset, p->slot, (long long)p->block, p->seqnum,
            p->field ? p->field : "", p->msg);
    return 0;
}

static uint8_t in(const uint8_t *d, size_t n, size_t i)
{
    return i < n ? d[i] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t fl = in(data, size, 0);
    uint32_t nblocks = (fl & 3) + 1u;
    if (nblocks == 4)
        nblocks = 1;
    const bool tomb = (fl >> 3) & 1, app = !tomb && ((fl >> 2) & 1);
    const bool pk = tomb || ((fl >> 4) & 1), nulls = (fl >> 5) & 1;
    const bool tell_pk = (fl >> 7) & 1;
    const size_t nuser = (size_t)(in(data, size, 1) % 4) + 1;

    mo_obj_writer_col cols[MAX_COLS];
    size_t ncols = 0;
    uint16_t seq = 0;
    if (tomb) {
        cols[ncols].type = (mo_obj_type){.oid = MO_T_ROWID};
        cols[ncols++].seqnum = seq++;
    }
    for (size_t i = 0; i < nuser && !(tomb && i == 1); i++) {
        const uint8_t b = in(data, size, 2 + i);
        uint8_t oid = oids[(b & 63) % N_OIDS];
        if (tomb && oid == MO_T_ROWID)
            oid = MO_T_INT64;
        if (!tomb)
            seq = (uint16_t)(seq + (b >> 6)); /* gaps in the seqnums */
        cols[ncols].type = (mo_obj_type){.oid = oid, .width = b, .scale = b % 7};
        cols[ncols++].seqnum = seq++;
    }
    const bool sorted_key = !tomb && pk && ((fl >> 6) & 1);
    if (sorted_key)
        cols[0].type = (mo_obj_type){.oid = MO_T_INT64};
    if (app) {
        cols[ncols].type = (mo_obj_type){.oid = MO_T_TS};
        cols[ncols++].seqnum = MO_OBJ_SEQNUM_COMMITTS;
        cols[ncols].type = (mo_obj_type){.oid = MO_T_BOOL};
        cols[ncols++].seqnum = MO_OBJ_SEQNUM_ABORT;
    }
    for (size_t i = 0; i < ncols; i++)
        cols[i].type.size = mo_obj_type_size(cols[i].type.oid);
    const size_t hdr = 2 + nuser;
    const uint32_t last_rows = 1 + (uint32_t)(in(data, size, hdr) | in(data, size, hdr + 1) << 8) % 300;

    src s = {data, size, hdr + 2, 0x9E3779B97F4A7C15ULL ^ size};
    for (size_t i = 0; i < size; i++)
        s.rng = (s.rng ^ data[i]) * 0x100000001B3ULL;
    if (!s.rng)
        s.rng = 1;

    static const mo_obj_objectid id = {{0x01, 0x91, 0xb7, 0x00, 0x11, 0x22, 0x73, 0x33, 0x84, 0x44,
                                        0x55, 0x66, 0x77, 0x88, 0x99, 0xaa},
                                       3};
    mo_obj_writer_opts o = {0};
    o.kind = tomb ? MO_OBJ_KIND_TOMBSTONE : app ? MO_OBJ_KIND_APPENDABLE : MO_OBJ_KIND_DATA;
    o.pk_pos = tomb ? 1 : pk ? 0 : -1;
    o.sort_key_pos = sorted_key ? 0 : -1;
    o.stats_flags = sorted_key ? MO_OBJ_STATS_SORTED : 0;
    o.id = &id;
    mo_obj_writer *w;
    mo_err err;
    MO_FUZZ_CHECK(mo_obj_writer_new(&w, cols, ncols, &o, &err) == MO_OK);

    mo_obj_colbuf truth[MAX_COLS], blk[MAX_COLS];
    mo_obj_vec views[MAX_COLS];
    for (size_t i = 0; i < ncols; i++) {
        mo_obj_colbuf_init(&truth[i], &cols[i].type);
        mo_obj_colbuf_init(&blk[i], &cols[i].type);
    }
    int64_t key = (int64_t)in(data, size, hdr) - 100;
    uint64_t row = 0;
    for (uint32_t b = 0; b < nblocks; b++) {
        const uint32_t n = b + 1 < nblocks ? MO_OBJ_BLOCK_MAX_ROWS : last_rows;
        for (size_t i = 0; i < ncols; i++)
            mo_obj_colbuf_reset(&blk[i]);
        for (uint32_t r = 0; r < n; r++, row++)
            for (size_t i = 0; i < ncols; i++) {
                uint8_t v[MO_OBJ_ROWID_LEN];
                if (tomb && i == 0) { /* rowids ascending, as MO's tombstones */
                    mo_obj_rowid_make(v, &id, (uint16_t)(row / 8192), (uint32_t)(row % 8192));
                    MO_FUZZ_CHECK(mo_obj_colbuf_append_fixed(&blk[i], v) == MO_OK);
                } else if (app && cols[i].seqnum == MO_OBJ_SEQNUM_ABORT) {
                    v[0] = next(&s) & 1;
                    MO_FUZZ_CHECK(mo_obj_colbuf_append_fixed(&blk[i], v) == MO_OK);
                } else {
                    const bool is_key = (int)i == o.pk_pos;
                    put_value(&blk[i], &s, nulls && !is_key && cols[i].seqnum < MO_OBJ_SEQNUM_UPPER,
                              sorted_key && i == 0 ? &key : NULL);
                }
            }
        for (size_t i = 0; i < ncols; i++) {
            mo_obj_colbuf_view(&views[i], &blk[i]);
            for (uint32_t r = 0; r < n; r++)
                MO_FUZZ_CHECK(mo_obj_colbuf_append_from(&truth[i], &views[i], r) == MO_OK);
        }
        MO_FUZZ_CHECK(mo_obj_writer_add_block(w, views, &err) == MO_OK);
    }
    mo_buf file = MO_BUF_INIT;
    mo_obj_stats st;
    MO_FUZZ_CHECK(mo_obj_writer_finish(w, &file, &st, &err) == MO_OK);
    mo_obj_writer_free(w);
    MO_FUZZ_CHECK(st.rows == row && st.block_count == nblocks && st.size == file.len);

    /* the deep verifier accepts it, with the writer's stats, raw and framed */
    mo_obj_reader *r;
    MO_FUZZ_CHECK(mo_obj_reader_open_mem(&r, file.ptr, file.len, "obj", &err) == MO_OK);
    MO_FUZZ_CHECK(mo_obj_reader_load_meta(r, NULL, &err) == MO_OK);
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    const mo_obj_slotmeta *sl = &m->slots[0];
    MO_FUZZ_CHECK(sl->block_count == nblocks);
    int seqof[MAX_COLS];
    for (size_t i = 0; i < ncols; i++) {
        seqof[i] = -1;
        for (uint16_t q = 0; q < sl->blocks[0].hdr.meta_column_count; q++)
            if (sl->blocks[0].cols[q].type && sl->blocks[0].cols[q].idx == i) {
                MO_FUZZ_CHECK(seqof[i] < 0);
                seqof[i] = q;
            }
        MO_FUZZ_CHECK(seqof[i] >= 0);
        if (cols[i].seqnum < MO_OBJ_SEQNUM_UPPER)
            MO_FUZZ_CHECK(seqof[i] == cols[i].seqnum);
    }
    mo_obj_verify_opts vo = {MO_OBJ_LEVEL_DEEP, &st, tell_pk && o.pk_pos >= 0 ? seqof[o.pk_pos] : -1,
                             0};
    mo_obj_verify_result res;
    int rc = mo_obj_verify_mem(&res, file.ptr, file.len, "obj", &vo, print_problem, NULL, &err);
    MO_FUZZ_CHECK(rc == MO_OK && res.problems == 0);
    MO_FUZZ_CHECK(res.rows == row && res.blocks == nblocks && res.columns == ncols);
    mo_buf framed = MO_BUF_INIT;
    MO_FUZZ_CHECK(mo_obj_frame_encode(&framed, file.ptr, file.len) == MO_OK);
    rc = mo_obj_verify_mem(&res, framed.ptr, framed.len, "obj", &vo, print_problem, NULL, &err);
    MO_FUZZ_CHECK(rc == MO_OK && res.framed && res.logical_size == file.len);
    mo_buf_dispose(&framed);

    /* the stats the reader derives are the writer's (but for the flags it cannot know) */
    mo_obj_stats rst;
    MO_FUZZ_CHECK(mo_obj_reader_stats(r, &rst, &err) == MO_OK);
    MO_FUZZ_CHECK(rst.rows == st.rows && rst.block_count == st.block_count &&
                  rst.size == st.size && rst.origin_size == st.origin_size);
    MO_FUZZ_CHECK(memcmp(&rst.id, &st.id, sizeof(st.id)) == 0);

    /* every column reads back exactly */
    mo_buf scratch = MO_BUF_INIT;
    for (size_t i = 0; i < ncols; i++) {
        mo_obj_vec t;
        mo_obj_colbuf_view(&t, &truth[i]);
        uint64_t k = 0;
        for (uint32_t b = 0; b < nblocks; b++) {
            mo_obj_vec v;
            MO_FUZZ_CHECK(mo_obj_reader_column(r, &v, &scratch, b, (uint16_t)seqof[i], NULL, &err) ==
                          MO_OK);
            MO_FUZZ_CHECK(v.type.oid == cols[i].type.oid && v.length == sl->blocks[b].hdr.rows);
            for (uint32_t j = 0; j < v.length; j++, k++) {
                const bool n1 = mo_obj_vec_is_null(&v, j);
                MO_FUZZ_CHECK(n1 == mo_obj_vec_is_null(&t, (uint32_t)k));
                if (n1)
                    continue;
                const uint8_t *p, *q;
                uint32_t pn, qn;
                mo_obj_vec_value(&v, j, &p, &pn);
                mo_obj_vec_value(&t, (uint32_t)k, &q, &qn);
                MO_FUZZ_CHECK(pn == qn && (pn == 0 || memcmp(p, q, pn) == 0));
            }
        }
        MO_FUZZ_CHECK(k == t.length);
    }
    mo_buf_dispose(&scratch);
    mo_obj_reader_free(r);
    mo_buf_dispose(&file);
    for (size_t i = 0; i < ncols; i++) {
        mo_obj_colbuf_dispose(&truth[i]);
        mo_obj_colbuf_dispose(&blk[i]);
    }
    return 0;
}
