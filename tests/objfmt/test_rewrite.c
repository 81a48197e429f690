/* Appendable -> CN rewrites and tombstone rowid remapping (ccpr-protocol §5.6 without the §7
 * bugs): visibility at the snapshot, MVCC columns dropped, stable order by the real sort key
 * (never column 0 by accident), an exact row-offset map, deep verification of every output
 * (sorted flag, PK bloom filter, tombstone HBF), no object when nothing remains, OOM loops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mo/objfmt.h"
#include "mo_test.h"

static const mo_obj_ts SNAP = {1100, 1};

/* ---------------- upstream rows: a pure function of the ordinal ---------------- */

static uint32_t mix32(uint64_t i)
{
    return (uint32_t)(i * 2654435761u); /* odd multiplier: a bijection mod 2^32 */
}
static mo_obj_ts cts_of(uint64_t i)
{
    mo_obj_ts t = {1000 + (int64_t)((i * 37) % 201), (uint32_t)(i % 3)};
    return t;
}
static bool abort_of(uint64_t i)
{
    return i % 17 == 0;
}
static bool visible_at(uint64_t i, mo_obj_ts snap)
{
    return !abort_of(i) && mo_obj_ts_cmp(cts_of(i), snap) <= 0;
}

/* Column generators: one value of column @p col for ordinal @p i. */
typedef void (*gen_fn)(mo_obj_colbuf *c, size_t col, uint64_t i);

static void put_mvcc(mo_obj_colbuf *c, uint64_t i)
{
    if (c->type.oid == MO_T_TS) {
        uint8_t t[12];
        mo_obj_ts_encode(t, cts_of(i));
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(c, t));
    } else {
        uint8_t b = abort_of(i);
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(c, &b));
    }
}

/* A: payload varchar(0), PK int64(1), float64 (seqnum 3; 2 was dropped), cts, abort */
static const mo_obj_writer_col *cols_a(void)
{
    static mo_obj_writer_col c[5];
    c[0] = (mo_obj_writer_col){mo_obj_type_default(MO_T_VARCHAR), 0};
    c[1] = (mo_obj_writer_col){mo_obj_type_default(MO_T_INT64), 1};
    c[2] = (mo_obj_writer_col){mo_obj_type_default(MO_T_FLOAT64), 3};
    c[3] = (mo_obj_writer_col){mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS};
    c[4] = (mo_obj_writer_col){mo_obj_type_default(MO_T_BOOL), MO_OBJ_SEQNUM_ABORT};
    return c;
}

static int64_t pk_a(uint64_t i)
{
    return (int64_t)mix32(i) - 2147483648LL;
}

static void gen_a(mo_obj_colbuf *c, size_t col, uint64_t i)
{
    char s[64];
    uint8_t v[8];
    switch (col) {
    case 0: {
        int n = i % 3 ? snprintf(s, sizeof(s), "p%llu", (unsigned long long)i)
                      : snprintf(s, sizeof(s), "an out-of-line payload for row %llu",
                                 (unsigned long long)i);
        MO_ASSERT_OK(mo_obj_colbuf_append_bytes(c, s, (size_t)n));
        break;
    }
    case 1:
        mo_store_le64(v, (uint64_t)pk_a(i));
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(c, v));
        break;
    case 2:
        if (i % 13 == 0) {
            MO_ASSERT_OK(mo_obj_colbuf_append_null(c));
        } else {
            double d = (double)i * 0.25;
            memcpy(v, &d, 8);
            MO_ASSERT_OK(mo_obj_colbuf_append_fixed(c, v));
        }
        break;
    default:
        put_mvcc(c, i);
    }
}

/* B: a int32(0), b int32(1), composite key varchar(2), cluster key int16 (4) with duplicates
 * and NULLs, cts, abort */
static const mo_obj_writer_col *cols_b(void)
{
    static mo_obj_writer_col c[6];
    c[0] = (mo_obj_writer_col){mo_obj_type_default(MO_T_INT32), 0};
    c[1] = (mo_obj_writer_col){mo_obj_type_default(MO_T_INT32), 1};
    c[2] = (mo_obj_writer_col){mo_obj_type_default(MO_T_VARCHAR), 2};
    c[3] = (mo_obj_writer_col){mo_obj_type_default(MO_T_INT16), 4};
    c[4] = (mo_obj_writer_col){mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS};
    c[5] = (mo_obj_writer_col){mo_obj_type_default(MO_T_BOOL), MO_OBJ_SEQNUM_ABORT};
    return c;
}

static void gen_b(mo_obj_colbuf *c, size_t col, uint64_t i)
{
    const int32_t a = (int32_t)(mix32(i) % 1000) - 500, b = (int32_t)(40000 - i);
    uint8_t v[8];
    switch (col) {
    case 0:
        mo_store_le32(v, (uint32_t)a);
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(c, v));
        break;
    case 1:
        mo_store_le32(v, (uint32_t)b);
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(c, v));
        break;
    case 2: { /* order-preserving serialization of (a, b), like MO's composite key */
        uint8_t k[10];
        k[0] = 0x01;
        uint32_t ua = (uint32_t)a ^ 0x80000000u, ub = (uint32_t)b ^ 0x80000000u;
        for (int j = 0; j < 4; j++) {
            k[1 + j] = (uint8_t)(ua >> (24 - 8 * j));
            k[5 + j] = (uint8_t)(ub >> (24 - 8 * j));
        }
        k[9] = 0x02;
        MO_ASSERT_OK(mo_obj_colbuf_append_bytes(c, k, sizeof(k)));
        break;
    }
    case 3:
        if (i % 29 == 5) {
            MO_ASSERT_OK(mo_obj_colbuf_append_null(c));
        } else {
            mo_store_le16(v, (uint16_t)(int16_t)((int)(mix32(i * 7) % 50) - 25));
            MO_ASSERT_OK(mo_obj_colbuf_append_fixed(c, v));
        }
        break;
    default:
        put_mvcc(c, i);
    }
}

typedef struct upobj {
    mo_buf file;
    mo_obj_stats stats;
    mo_obj_colbuf *truth; /* every row of every column */
    size_t ncols;
    uint64_t rows;
} upobj;

static void upobj_dispose(upobj *u)
{
    mo_buf_dispose(&u->file);
    for (size_t i = 0; i < u->ncols; i++)
        mo_obj_colbuf_dispose(&u->truth[i]);
    free(u->truth);
    memset(u, 0, sizeof(*u));
}

/* Writes @p rows rows through the writer in 8192-row blocks (ordinal == block*8192 + row). */
static void build(upobj *u, const mo_obj_writer_col *cols, size_t ncols, uint64_t rows,
                  const mo_obj_writer_opts *wo, gen_fn gen)
{
    memset(u, 0, sizeof(*u));
    u->ncols = ncols;
    u->rows = rows;
    u->truth = calloc(ncols, sizeof(*u->truth));
    mo_obj_colbuf *blk = calloc(ncols, sizeof(*blk));
    mo_obj_vec *views = calloc(ncols, sizeof(*views));
    CU_ASSERT_FATAL(u->truth && blk && views);
    for (size_t i = 0; i < ncols; i++) {
        mo_obj_colbuf_init(&u->truth[i], &cols[i].type);
        mo_obj_colbuf_init(&blk[i], &cols[i].type);
    }
    mo_obj_writer *w;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, ncols, wo, &mo_test_err));
    for (uint64_t base = 0; base < rows; base += MO_OBJ_BLOCK_MAX_ROWS) {
        uint32_t n =
            rows - base < MO_OBJ_BLOCK_MAX_ROWS ? (uint32_t)(rows - base) : MO_OBJ_BLOCK_MAX_ROWS;
        for (size_t c = 0; c < ncols; c++) {
            mo_obj_colbuf_reset(&blk[c]);
            for (uint32_t r = 0; r < n; r++)
                gen(&blk[c], c, base + r);
            mo_obj_colbuf_view(&views[c], &blk[c]);
            for (uint32_t r = 0; r < n; r++)
                MO_ASSERT_OK(mo_obj_colbuf_append_from(&u->truth[c], &views[c], r));
        }
        MO_ASSERT_OK(mo_obj_writer_add_block(w, views, &mo_test_err));
    }
    MO_ASSERT_OK(mo_obj_writer_finish(w, &u->file, &u->stats, &mo_test_err));
    mo_obj_writer_free(w);
    for (size_t i = 0; i < ncols; i++)
        mo_obj_colbuf_dispose(&blk[i]);
    free(blk);
    free(views);
}

static void build_appendable(upobj *u, const mo_obj_writer_col *cols, size_t ncols, uint64_t rows,
                             int pk_pos, gen_fn gen)
{
    mo_obj_writer_opts wo = {0};
    wo.kind = MO_OBJ_KIND_APPENDABLE;
    wo.pk_pos = pk_pos;
    wo.sort_key_pos = -1; /* appendable objects are in commit order, not sorted */
    build(u, cols, ncols, rows, &wo, gen);
}

/* Reads seqnums @p seqs of every block of an object into colbufs (test-side truth). */
static void read_all(mo_obj_colbuf *out, const mo_buf *file, const uint16_t *seqs,
                     const mo_obj_type *types, size_t n)
{
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, file->ptr, file->len, "out", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    const mo_obj_slotmeta *sl = &mo_obj_reader_meta(r)->slots[0];
    mo_buf scratch = MO_BUF_INIT;
    for (size_t c = 0; c < n; c++) {
        mo_obj_colbuf_init(&out[c], &types[c]);
        for (uint32_t b = 0; b < sl->block_count; b++) {
            mo_obj_vec v;
            MO_ASSERT_OK(mo_obj_reader_column(r, &v, &scratch, b, seqs[c], NULL, &mo_test_err));
            CU_ASSERT_FATAL(b + 1 == sl->block_count || v.length == MO_OBJ_BLOCK_MAX_ROWS);
            for (uint32_t i = 0; i < v.length; i++)
                MO_ASSERT_OK(mo_obj_colbuf_append_from(&out[c], &v, i));
        }
    }
    mo_buf_dispose(&scratch);
    mo_obj_reader_free(r);
}

/* NULLs equal, values byte-equal */
static bool same_value(const mo_obj_vec *a, uint32_t ra, const mo_obj_vec *b, uint32_t rb)
{
    bool na = mo_obj_vec_is_null(a, ra), nb = mo_obj_vec_is_null(b, rb);
    if (na || nb)
        return na == nb;
    const uint8_t *pa, *pb;
    uint32_t la, lb;
    mo_obj_vec_value(a, ra, &pa, &la);
    mo_obj_vec_value(b, rb, &pb, &lb);
    return la == lb && !memcmp(pa, pb, la);
}

static int key_cmp(const mo_obj_vec *v, uint32_t a, uint32_t b)
{
    bool na = mo_obj_vec_is_null(v, a), nb = mo_obj_vec_is_null(v, b);
    if (na || nb)
        return (int)nb - (int)na;
    const uint8_t *pa, *pb;
    uint32_t la, lb;
    mo_obj_vec_value(v, a, &pa, &la);
    mo_obj_vec_value(v, b, &pb, &lb);
    return mo_obj_value_cmp(v->type.oid, pa, la, pb, lb);
}

static int show_problem(const mo_obj_problem *p, void *payload)
{
    (void)payload;
    fprintf(stderr, "  problem %s block %lld seq %d [%s] %s\n", mo_code_name(p->code),
            (long long)p->block, p->seqnum, p->field ? p->field : "", p->msg);
    return 0;
}

static int verify_deep(const mo_buf *f, const mo_obj_stats *st, int pk_seqnum,
                       mo_obj_verify_result *res)
{
    mo_obj_verify_opts o = {MO_OBJ_LEVEL_DEEP, st, pk_seqnum, 0};
    return mo_obj_verify_mem(res, f->ptr, f->len, "rewritten", &o, show_problem, NULL,
                             &mo_test_err);
}

/*
 * The whole contract of one appendable rewrite: deep verification with its ObjectStats,
 * no MVCC column, exactly the visible rows, the row map exact for every column, and the
 * order (sort key nondecreasing, ties in upstream order; upstream order without a key).
 */
static void check_rewrite(const upobj *u, const mo_buf *out, const mo_obj_rewrite_result *res,
                          const mo_obj_rewrite_opts *o, const size_t *up_col, mo_obj_ts snap)
{
    const size_t nc = o->ncols;
    mo_obj_verify_result vr;
    int pk_seq = o->pk_pos >= 0 ? o->cols[o->pk_pos].seqnum : -1;
    MO_ASSERT_OK(verify_deep(out, &res->stats, pk_seq, &vr));
    CU_ASSERT_EQUAL(vr.problems, 0);
    CU_ASSERT_EQUAL(vr.rows, res->rows_out);
    if (o->pk_pos >= 0)
        CU_ASSERT_EQUAL(vr.bf_keys_checked, res->rows_out);
    CU_ASSERT_EQUAL(res->stats.rows, res->rows_out);
    CU_ASSERT_EQUAL(res->stats.block_count, (res->rows_out + 8191) / 8192);
    CU_ASSERT_FALSE(res->stats.flags & MO_OBJ_STATS_APPENDABLE);
    CU_ASSERT_EQUAL(!!(res->stats.flags & MO_OBJ_STATS_SORTED), o->sort_key_pos >= 0);
    CU_ASSERT_EQUAL(res->stats.size, out->len);
    /* MVCC columns gone, header says what the sort key is */
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, out->ptr, out->len, "out", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    mo_obj_special sp;
    mo_obj_meta_special(&sp, m);
    CU_ASSERT_EQUAL(sp.commit_ts, -1);
    CU_ASSERT_EQUAL(sp.abort, -1);
    CU_ASSERT_FALSE(m->slots[0].hdr.appendable);
    uint16_t maxs = 0;
    for (size_t c = 0; c < nc; c++)
        if (o->cols[c].seqnum > maxs)
            maxs = o->cols[c].seqnum;
    CU_ASSERT_EQUAL(m->slots[0].hdr.meta_column_count, maxs + 1);
    CU_ASSERT_EQUAL(m->slots[0].hdr.sort_key,
                    o->sort_key_pos >= 0 ? o->cols[o->sort_key_pos].seqnum : MO_OBJ_NO_SORT_KEY);
    mo_obj_reader_free(r);
    /* rows */
    uint16_t seqs[16] = {0};
    mo_obj_type types[16];
    memset(types, 0, sizeof(types));
    CU_ASSERT_FATAL(nc <= 16);
    for (size_t c = 0; c < nc; c++) {
        seqs[c] = o->cols[c].seqnum;
        types[c] = o->cols[c].type;
    }
    mo_obj_colbuf got[16];
    read_all(got, out, seqs, types, nc);
    mo_obj_vec gv[16], uv[16];
    for (size_t c = 0; c < nc; c++) {
        mo_obj_colbuf_view(&gv[c], &got[c]);
        mo_obj_colbuf_view(&uv[c], &u->truth[up_col[c]]);
    }
    const uint32_t n = gv[0].length;
    uint64_t nvis = 0;
    for (uint64_t i = 0; i < u->rows; i++)
        nvis += visible_at(i, snap);
    CU_ASSERT_EQUAL_FATAL(n, nvis);
    CU_ASSERT_EQUAL(res->rows_out, nvis);
    CU_ASSERT_EQUAL(res->rows_in, u->rows);
    CU_ASSERT_EQUAL(res->rows_invisible, u->rows - nvis);
    CU_ASSERT_EQUAL_FATAL(res->row_map_len, u->rows);
    uint32_t *inv = malloc((size_t)n * sizeof(*inv));
    CU_ASSERT_FATAL(inv != NULL);
    memset(inv, 0xFF, (size_t)n * sizeof(*inv));
    unsigned bad = 0;
    for (uint64_t i = 0; i < u->rows; i++) {
        const uint32_t k = res->row_map[i];
        if (!visible_at(i, snap)) {
            bad += k != UINT32_MAX;
            continue;
        }
        if (k >= n || inv[k] != UINT32_MAX) {
            bad++;
            continue;
        }
        inv[k] = (uint32_t)i;
        for (size_t c = 0; c < nc; c++)
            bad += !same_value(&uv[c], (uint32_t)i, &gv[c], k);
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* order */
    unsigned disorder = 0;
    for (uint32_t k = 1; k < n; k++) {
        int cmp = o->sort_key_pos >= 0 ? key_cmp(&gv[o->sort_key_pos], k - 1, k) : 0;
        disorder += cmp > 0 || (cmp == 0 && inv[k - 1] > inv[k]);
    }
    CU_ASSERT_EQUAL(disorder, 0);
    free(inv);
    for (size_t c = 0; c < nc; c++)
        mo_obj_colbuf_dispose(&got[c]);
}

static void rewrite_mem(const upobj *u, mo_buf *out, mo_obj_rewrite_result *res,
                        const mo_obj_rewrite_opts *o, mo_obj_ts snap, int expect)
{
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, u->file.ptr, u->file.len, "up", &mo_test_err));
    MO_ASSERT_RC(expect, mo_obj_rewrite_appendable(out, res, r, snap, o, &mo_test_err));
    mo_obj_reader_free(r);
}

/* ---------------- appendable rewrites ---------------- */

static void test_rewrite__pk_not_first_column(void)
{
    upobj u;
    build_appendable(&u, cols_a(), 5, 20000, 1, gen_a);
    /* the verifier accepts the appendable input with its stats */
    mo_obj_verify_result vr;
    MO_ASSERT_OK(verify_deep(&u.file, &u.stats, 1, &vr));
    const mo_obj_writer_col keep[3] = {cols_a()[0], cols_a()[1], cols_a()[2]};
    const size_t up_col[3] = {0, 1, 2};
    mo_obj_rewrite_opts o = {keep, 3, 1, 1, MO_OBJ_STATS_CNCREATED, NULL, false};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    rewrite_mem(&u, &out, &res, &o, SNAP, MO_OK);
    CU_ASSERT(res.stats.flags & MO_OBJ_STATS_CNCREATED);
    CU_ASSERT(res.rows_out > 5000 && res.rows_out < 15000);
    check_rewrite(&u, &out, &res, &o, up_col, SNAP);
    /* a fresh UUIDv7 name, never the upstream's */
    CU_ASSERT(memcmp(res.stats.id.seg, u.stats.id.seg, 16) != 0);
    CU_ASSERT_EQUAL(res.stats.id.seg[6] >> 4, 7);
    CU_ASSERT_EQUAL(res.stats.id.num, 0);
    mo_obj_rewrite_result_dispose(&res);
    CU_ASSERT_PTR_NULL(res.row_map);
    mo_obj_rewrite_result_dispose(NULL);
    mo_buf_dispose(&out);
    upobj_dispose(&u);
}

static void test_rewrite__caller_id_and_columns_from_object(void)
{
    upobj u;
    build_appendable(&u, cols_a(), 5, 9000, 1, gen_a);
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, u.file.ptr, u.file.len, "up", &mo_test_err));
    mo_obj_writer_col *cols;
    size_t n;
    MO_ASSERT_OK(mo_obj_rewrite_columns(&cols, &n, r, &mo_test_err));
    CU_ASSERT_EQUAL_FATAL(n, 3); /* seqnum 2 was dropped, MVCC columns are not user columns */
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(cols[i].seqnum, cols_a()[i].seqnum);
        CU_ASSERT_EQUAL(cols[i].type.oid, cols_a()[i].type.oid);
    }
    mo_obj_objectid id = {{0x01, 0x93, 0x00, 0x11, 0x22, 0x33, 0x70, 0x44, 0x85}, 0};
    mo_obj_rewrite_opts o = {cols, n, 1, 1, 0, &id, false};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    MO_ASSERT_OK(mo_obj_rewrite_appendable(&out, &res, r, SNAP, &o, &mo_test_err));
    CU_ASSERT_EQUAL(mo_obj_objectid_cmp(&res.stats.id, &id), 0);
    const size_t up_col[3] = {0, 1, 2};
    check_rewrite(&u, &out, &res, &o, up_col, SNAP);
    mo_obj_rewrite_result_dispose(&res);
    /* bad options are caller bugs: MO_EINVAL, nothing written */
    mo_obj_writer_col mv[2] = {cols[0], {mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS}};
    mo_obj_rewrite_opts bad = {mv, 2, -1, -1, 0, NULL, false};
    const size_t len = out.len;
    MO_ASSERT_RC(MO_EINVAL, mo_obj_rewrite_appendable(&out, &res, r, SNAP, &bad, &mo_test_err));
    bad.ncols = 1;
    bad.sort_key_pos = 1;
    MO_ASSERT_RC(MO_EINVAL, mo_obj_rewrite_appendable(&out, &res, r, SNAP, &bad, &mo_test_err));
    CU_ASSERT_EQUAL(out.len, len);
    CU_ASSERT_PTR_NULL(res.row_map);
    mo_free(cols);
    mo_obj_reader_free(r);
    mo_buf_dispose(&out);
    upobj_dispose(&u);
}

/* A composite key (varchar serialization) as PK and sort key, over three blocks. */
static void test_rewrite__composite_key_blocks(void)
{
    upobj u;
    build_appendable(&u, cols_b(), 6, 5 * 8192 + 100, 2, gen_b);
    const mo_obj_writer_col keep[4] = {cols_b()[0], cols_b()[1], cols_b()[2], cols_b()[3]};
    const size_t up_col[4] = {0, 1, 2, 3};
    mo_obj_rewrite_opts o = {keep, 4, 2, 2, 0, NULL, false};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    rewrite_mem(&u, &out, &res, &o, SNAP, MO_OK);
    check_rewrite(&u, &out, &res, &o, up_col, SNAP);
    CU_ASSERT(res.stats.block_count >= 2);
    mo_obj_rewrite_result_dispose(&res);
    mo_buf_dispose(&out);
    upobj_dispose(&u);
}

/* A cluster key with duplicates and NULLs, no PK: NULLs first, ties stay in upstream order. */
static void test_rewrite__cluster_key_stable(void)
{
    upobj u;
    build_appendable(&u, cols_b(), 6, 8192 + 3000, -1, gen_b);
    const mo_obj_writer_col keep[4] = {cols_b()[0], cols_b()[1], cols_b()[2], cols_b()[3]};
    const size_t up_col[4] = {0, 1, 2, 3};
    mo_obj_rewrite_opts o = {keep, 4, 3, -1, 0, NULL, false};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    rewrite_mem(&u, &out, &res, &o, SNAP, MO_OK);
    check_rewrite(&u, &out, &res, &o, up_col, SNAP);
    mo_obj_rewrite_result_dispose(&res);
    /* the same object with a reordered column list: output positions follow the list */
    const mo_obj_writer_col keep2[3] = {cols_b()[3], cols_b()[2], cols_b()[0]};
    const size_t up_col2[3] = {3, 2, 0};
    mo_obj_rewrite_opts o2 = {keep2, 3, 0, 1, 0, NULL, false};
    out.len = 0;
    rewrite_mem(&u, &out, &res, &o2, SNAP, MO_OK);
    check_rewrite(&u, &out, &res, &o2, up_col2, SNAP);
    mo_obj_rewrite_result_dispose(&res);
    mo_buf_dispose(&out);
    upobj_dispose(&u);
}

/* No sort key: rows keep their order and the object is not flagged sorted. */
static void test_rewrite__no_sort_key(void)
{
    upobj u;
    build_appendable(&u, cols_a(), 5, 8192, 1, gen_a);
    const mo_obj_writer_col keep[3] = {cols_a()[0], cols_a()[1], cols_a()[2]};
    const size_t up_col[3] = {0, 1, 2};
    mo_obj_rewrite_opts o = {keep, 3, -1, 1, 0, NULL, false};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    rewrite_mem(&u, &out, &res, &o, SNAP, MO_OK);
    check_rewrite(&u, &out, &res, &o, up_col, SNAP);
    mo_obj_rewrite_result_dispose(&res);
    /* every row visible at a late snapshot but the aborted ones */
    const mo_obj_ts late = {5000, 0};
    out.len = 0;
    rewrite_mem(&u, &out, &res, &o, late, MO_OK);
    CU_ASSERT_EQUAL(res.rows_invisible, (8192 + 16) / 17);
    mo_obj_rewrite_result_dispose(&res);
    mo_buf_dispose(&out);
    upobj_dispose(&u);
}

/* A seqnum the object does not have becomes NULLs (MO's reader rule). */
static void test_rewrite__absent_column_null(void)
{
    upobj u;
    build_appendable(&u, cols_a(), 5, 100, 1, gen_a);
    const mo_obj_writer_col keep[3] = {
        cols_a()[1], {mo_obj_type_default(MO_T_INT32), 2}, cols_a()[2]};
    mo_obj_rewrite_opts o = {keep, 3, 0, 0, 0, NULL, false};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    rewrite_mem(&u, &out, &res, &o, SNAP, MO_OK);
    mo_obj_verify_result vr;
    MO_ASSERT_OK(verify_deep(&out, &res.stats, 1, &vr));
    uint16_t seqs[1] = {2};
    mo_obj_type t = mo_obj_type_default(MO_T_INT32);
    mo_obj_colbuf got;
    read_all(&got, &out, seqs, &t, 1);
    CU_ASSERT_EQUAL(got.rows, res.rows_out);
    CU_ASSERT_EQUAL(got.null_count, (int64_t)res.rows_out);
    mo_obj_colbuf_dispose(&got);
    mo_obj_rewrite_result_dispose(&res);
    /* a kept column whose type disagrees with the object's chunks is malformed input */
    const mo_obj_writer_col wrong[1] = {{mo_obj_type_default(MO_T_INT32), 1}};
    mo_obj_rewrite_opts ow = {wrong, 1, 0, 0, 0, NULL, false};
    const size_t len = out.len;
    rewrite_mem(&u, &out, &res, &ow, SNAP, MO_ECORRUPT);
    CU_ASSERT_EQUAL(out.len, len);
    mo_buf_dispose(&out);
    upobj_dispose(&u);
}

/* Every row invisible: MO_ENOTFOUND, no object at all, a map of UINT32_MAX. */
static void test_rewrite__all_filtered(void)
{
    upobj u;
    build_appendable(&u, cols_a(), 5, 8200, 1, gen_a);
    const mo_obj_writer_col keep[3] = {cols_a()[0], cols_a()[1], cols_a()[2]};
    mo_obj_rewrite_opts o = {keep, 3, 1, 1, 0, NULL, false};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    const mo_obj_ts early = {999, 0};
    rewrite_mem(&u, &out, &res, &o, early, MO_ENOTFOUND);
    CU_ASSERT_EQUAL(out.len, 0);
    CU_ASSERT_EQUAL(res.rows_in, 8200);
    CU_ASSERT_EQUAL(res.rows_invisible, 8200);
    CU_ASSERT_EQUAL(res.rows_out, 0);
    CU_ASSERT_EQUAL(res.stats.rows, 0);
    CU_ASSERT_EQUAL_FATAL(res.row_map_len, 8200);
    unsigned mapped = 0;
    for (uint32_t i = 0; i < res.row_map_len; i++)
        mapped += res.row_map[i] != UINT32_MAX;
    CU_ASSERT_EQUAL(mapped, 0);
    mo_obj_rewrite_result_dispose(&res);
    upobj_dispose(&u);
    /* aborted rows only: same */
    upobj v;
    build_appendable(&v, cols_a(), 5, 1, 1, gen_a); /* row 0: 0 % 17 == 0, aborted */
    rewrite_mem(&v, &out, &res, &o, SNAP, MO_ENOTFOUND);
    CU_ASSERT_EQUAL(out.len, 0);
    mo_obj_rewrite_result_dispose(&res);
    upobj_dispose(&v);
}

/* Without a commit-ts column rows cannot be filtered: malformed, not silently all visible. */
static void test_rewrite__no_commit_ts(void)
{
    upobj u;
    mo_obj_writer_opts wo = {0};
    wo.pk_pos = 1;
    wo.sort_key_pos = -1;
    build(&u, cols_a(), 3, 100, &wo, gen_a);
    const mo_obj_writer_col keep[3] = {cols_a()[0], cols_a()[1], cols_a()[2]};
    mo_obj_rewrite_opts o = {keep, 3, 1, 1, 0, NULL, false};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    rewrite_mem(&u, &out, &res, &o, SNAP, MO_ECORRUPT);
    CU_ASSERT_EQUAL(out.len, 0);
    mo_buf_dispose(&out);
    upobj_dispose(&u);
}

/* ---------------- tombstones ---------------- */

static const mo_obj_objectid OTHER = {{0x01, 0x90, 0xaa, 0xbb, 0, 0, 0x70, 1, 0x80, 2}, 3};

typedef struct mapctx {
    mo_obj_objectid up, down;
    const uint32_t *map;
    uint32_t nrows;
    unsigned calls;
    int fail; /* returned instead when non-zero */
} mapctx;

static int map_cb(void *payload, const uint8_t upstream_objectid[18], uint8_t down_objectid[18],
                  const uint32_t **row_map, uint32_t *nrows)
{
    mapctx *m = payload;
    m->calls++;
    if (m->fail)
        return m->fail;
    mo_obj_objectid id;
    mo_obj_objectid_decode(&id, upstream_objectid);
    if (mo_obj_objectid_cmp(&id, &m->up))
        return MO_ENOTFOUND;
    mo_obj_objectid_encode(down_objectid, &m->down);
    *row_map = m->map;
    *nrows = m->nrows;
    return MO_OK;
}

/* Tombstone row t: its target ordinal/object, its visibility (shares cts_of/abort_of). */
typedef struct tomb_plan {
    uint64_t rows;
    uint64_t data_rows; /* rows of the rewritten upstream object */
    mo_obj_objectid up;
} tomb_plan;

static tomb_plan g_plan;

static bool tomb_to_other(uint64_t t)
{
    return t % 5 == 1;
}
static uint64_t tomb_target(uint64_t t)
{
    return (uint64_t)mix32(t * 3 + 1) % g_plan.data_rows;
}
static void tomb_rowid(uint8_t out[24], uint64_t t)
{
    uint64_t o = tomb_target(t);
    if (tomb_to_other(t))
        mo_obj_rowid_make(out, &OTHER, (uint16_t)(t % 4), (uint32_t)(t % 8192));
    else
        mo_obj_rowid_make(out, &g_plan.up, (uint16_t)(o / 8192), (uint32_t)(o % 8192));
}

static void gen_tomb(mo_obj_colbuf *c, size_t col, uint64_t t)
{
    uint8_t v[24];
    switch (col) {
    case 0:
        tomb_rowid(v, t);
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(c, v));
        break;
    case 1: /* the deleted row's PK (for OTHER: anything) */
        mo_store_le64(v, tomb_to_other(t) ? t : (uint64_t)pk_a(tomb_target(t)));
        MO_ASSERT_OK(mo_obj_colbuf_append_fixed(c, v));
        break;
    default:
        put_mvcc(c, t * 5 + 2); /* visibility pattern unrelated to the data rows' */
    }
}
static bool tomb_visible(uint64_t t, mo_obj_ts snap, bool mvcc)
{
    return !mvcc || visible_at(t * 5 + 2, snap);
}

static const mo_obj_writer_col *cols_tomb(void)
{
    static mo_obj_writer_col c[4];
    c[0] = (mo_obj_writer_col){mo_obj_type_default(MO_T_ROWID), 0};
    c[1] = (mo_obj_writer_col){mo_obj_type_default(MO_T_INT64), 1};
    c[2] = (mo_obj_writer_col){mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS};
    c[3] = (mo_obj_writer_col){mo_obj_type_default(MO_T_BOOL), MO_OBJ_SEQNUM_ABORT};
    return c;
}

static void build_tomb(upobj *t, uint64_t rows, bool mvcc)
{
    mo_obj_writer_opts wo = {0};
    wo.kind = MO_OBJ_KIND_TOMBSTONE;
    wo.pk_pos = -1;
    wo.sort_key_pos = 0;
    g_plan.rows = rows;
    build(t, cols_tomb(), mvcc ? 4 : 2, rows, &wo, gen_tomb);
}

/* Rewrites data object A, then tombstones into A and OTHER, and checks every output row. */
static void tomb_case(uint64_t data_rows, uint64_t tomb_rows, bool mvcc)
{
    upobj a;
    build_appendable(&a, cols_a(), 5, data_rows, 1, gen_a);
    const mo_obj_writer_col keep[3] = {cols_a()[0], cols_a()[1], cols_a()[2]};
    mo_obj_rewrite_opts o = {keep, 3, 1, 1, 0, NULL, false};
    mo_buf dout = MO_BUF_INIT, tout = MO_BUF_INIT;
    mo_obj_rewrite_result dres, tres;
    rewrite_mem(&a, &dout, &dres, &o, SNAP, MO_OK);
    g_plan.data_rows = data_rows;
    g_plan.up = a.stats.id;
    upobj t;
    build_tomb(&t, tomb_rows, mvcc);
    mapctx mc = {a.stats.id, dres.stats.id, dres.row_map, dres.row_map_len, 0, 0};
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, t.file.ptr, t.file.len, "tomb", &mo_test_err));
    MO_ASSERT_OK(mo_obj_rewrite_tombstone(&tout, &tres, r, SNAP, NULL, map_cb, &mc, &mo_test_err));
    mo_obj_reader_free(r);
    CU_ASSERT(mc.calls >= 2);
    CU_ASSERT_PTR_NULL(tres.row_map);
    /* expectations from the plan */
    uint64_t exp_vis = 0, exp_orphan = 0, exp_other = 0;
    for (uint64_t i = 0; i < tomb_rows; i++) {
        if (!tomb_visible(i, SNAP, mvcc))
            continue;
        exp_vis++;
        if (tomb_to_other(i))
            exp_other++;
        else if (!visible_at(tomb_target(i), SNAP))
            exp_orphan++;
    }
    CU_ASSERT_EQUAL(tres.rows_in, tomb_rows);
    CU_ASSERT_EQUAL(tres.rows_invisible, tomb_rows - exp_vis);
    CU_ASSERT_EQUAL(tres.rows_orphaned, exp_orphan);
    CU_ASSERT_EQUAL(tres.rows_out, exp_vis - exp_orphan);
    CU_ASSERT(exp_orphan > 0 && exp_other > 0);
    /* deep verification: HBF on the rowid checked for every row, sorted by rowid */
    mo_obj_verify_result vr;
    MO_ASSERT_OK(verify_deep(&tout, &tres.stats, -1, &vr));
    CU_ASSERT_EQUAL(vr.problems, 0);
    CU_ASSERT_EQUAL(vr.bf_keys_checked, tres.rows_out);
    CU_ASSERT_EQUAL(tres.stats.flags & 0x0F, MO_OBJ_STATS_SORTED);
    mo_obj_reader *tr;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&tr, tout.ptr, tout.len, "tout", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(tr, NULL, &mo_test_err));
    const mo_obj_meta *tm = mo_obj_reader_meta(tr);
    mo_obj_special sp;
    mo_obj_meta_special(&sp, tm);
    CU_ASSERT_EQUAL(sp.commit_ts, -1);
    CU_ASSERT_EQUAL(tm->slots[0].hdr.meta_column_count, 2);
    CU_ASSERT_EQUAL(tm->slots[0].blocks[0].hdr.bf_type, MO_OBJ_BF_HYBRID);
    mo_obj_reader_free(tr);
    /* every output row: sorted, and it deletes the right downstream row */
    uint16_t ts[2] = {0, 1};
    mo_obj_type tt[2] = {cols_tomb()[0].type, cols_tomb()[1].type};
    mo_obj_colbuf tg[2];
    read_all(tg, &tout, ts, tt, 2);
    uint16_t ds[1] = {1};
    mo_obj_type dt = cols_a()[1].type;
    mo_obj_colbuf dg;
    read_all(&dg, &dout, ds, &dt, 1);
    mo_obj_vec rid, pk, dpk;
    mo_obj_colbuf_view(&rid, &tg[0]);
    mo_obj_colbuf_view(&pk, &tg[1]);
    mo_obj_colbuf_view(&dpk, &dg);
    CU_ASSERT_EQUAL_FATAL(rid.length, tres.rows_out);
    unsigned bad = 0, to_down = 0, to_other = 0;
    uint8_t down_id[18], other_id[18];
    mo_obj_objectid_encode(down_id, &dres.stats.id);
    mo_obj_objectid_encode(other_id, &OTHER);
    for (uint32_t k = 0; k < rid.length; k++) {
        const uint8_t *p = mo_obj_vec_slot(&rid, k);
        if (k && mo_obj_rowid_cmp(mo_obj_vec_slot(&rid, k - 1), p, 24) > 0)
            bad++;
        if (!memcmp(p, down_id, 18)) {
            to_down++;
            uint32_t ord = mo_load_le16(p + 18) * 8192u + mo_load_le32(p + 20);
            bad += mo_load_le32(p + 20) >= 8192 || ord >= dpk.length ||
                   memcmp(mo_obj_vec_slot(&dpk, ord), mo_obj_vec_slot(&pk, k), 8) != 0;
        } else if (!memcmp(p, other_id, 18)) {
            to_other++; /* unchanged: its PK column carries the tombstone ordinal */
            uint64_t i = mo_load_le64(mo_obj_vec_slot(&pk, k));
            uint8_t want[24];
            tomb_rowid(want, i);
            bad += i >= tomb_rows || !tomb_to_other(i) || memcmp(want, p, 24) != 0;
        } else {
            bad++; /* a rowid into the upstream appendable object survived */
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(to_other, exp_other);
    CU_ASSERT_EQUAL(to_down, exp_vis - exp_orphan - exp_other);
    mo_obj_colbuf_dispose(&tg[0]);
    mo_obj_colbuf_dispose(&tg[1]);
    mo_obj_colbuf_dispose(&dg);
    mo_obj_rewrite_result_dispose(&tres);
    mo_obj_rewrite_result_dispose(&dres);
    mo_buf_dispose(&dout);
    mo_buf_dispose(&tout);
    upobj_dispose(&t);
    upobj_dispose(&a);
}

static void test_rewrite__tombstone_appendable(void)
{
    tomb_case(20000, 10000, true);
}

static void test_rewrite__tombstone_non_appendable(void)
{
    tomb_case(9000, 3000, false);
}

static void test_rewrite__tombstone_nothing_left(void)
{
    upobj a;
    build_appendable(&a, cols_a(), 5, 500, 1, gen_a);
    g_plan.data_rows = 500;
    g_plan.up = a.stats.id;
    upobj t;
    build_tomb(&t, 400, true);
    /* the data object was entirely filtered: every mapped row is gone */
    uint32_t *none = malloc(500 * sizeof(*none));
    CU_ASSERT_FATAL(none != NULL);
    memset(none, 0xFF, 500 * sizeof(*none));
    mo_obj_objectid down = {{9}, 0};
    mapctx mc = {a.stats.id, down, none, 500, 0, 0};
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, t.file.ptr, t.file.len, "tomb", &mo_test_err));
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    /* tombstones of OTHER keep the object alive ... */
    MO_ASSERT_OK(mo_obj_rewrite_tombstone(&out, &res, r, SNAP, NULL, map_cb, &mc, &mo_test_err));
    CU_ASSERT(res.rows_out > 0);
    mo_obj_rewrite_result_dispose(&res);
    /* ... unless every rowid points into the filtered object: no object at all */
    mo_obj_reader_free(r);
    mc.up = OTHER;
    mc.nrows = 0; /* beyond the map: the row cannot exist */
    upobj t2;
    g_plan.up = OTHER;
    build_tomb(&t2, 300, true);
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, t2.file.ptr, t2.file.len, "tomb2", &mo_test_err));
    const size_t len = out.len;
    MO_ASSERT_RC(MO_ENOTFOUND,
                 mo_obj_rewrite_tombstone(&out, &res, r, SNAP, NULL, map_cb, &mc, &mo_test_err));
    CU_ASSERT_EQUAL(out.len, len);
    CU_ASSERT_EQUAL(res.rows_in, 300);
    CU_ASSERT_EQUAL(res.rows_out, 0);
    CU_ASSERT(res.rows_orphaned > 0);
    /* a failing callback aborts with its own code */
    mc.fail = MO_EIO;
    MO_ASSERT_RC(MO_EIO,
                 mo_obj_rewrite_tombstone(&out, &res, r, SNAP, NULL, map_cb, &mc, &mo_test_err));
    mc.fail = 7;
    MO_ASSERT_RC(MO_EUSER,
                 mo_obj_rewrite_tombstone(&out, &res, r, SNAP, NULL, map_cb, &mc, &mo_test_err));
    CU_ASSERT_EQUAL(out.len, len);
    mo_obj_reader_free(r);
    /* a data object is not a tombstone */
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, a.file.ptr, a.file.len, "data", &mo_test_err));
    MO_ASSERT_RC(MO_ECORRUPT,
                 mo_obj_rewrite_tombstone(&out, &res, r, SNAP, NULL, map_cb, &mc, &mo_test_err));
    mo_obj_reader_free(r);
    free(none);
    mo_buf_dispose(&out);
    upobj_dispose(&t);
    upobj_dispose(&t2);
    upobj_dispose(&a);
}

/* ---------------- fault injection ---------------- */

/* Fails the Nth allocation of opening @p in and rewriting it, N = 1, 2, ... until it
 * succeeds: MO_ENOMEM and nothing written each time. Returns the N that succeeded. */
static unsigned long oom_rewrite(mo_buf *out, mo_obj_rewrite_result *res, const mo_buf *in,
                                 const mo_obj_rewrite_opts *o)
{
    unsigned long nth;
    for (nth = 1;; nth++) {
        mo_obj_reader *r = NULL;
        memset(res, 0, sizeof(*res));
        mo_alloc_fail_at(nth, false);
        int rc = mo_obj_reader_open_mem(&r, in->ptr, in->len, "oom", &mo_test_err);
        if (rc == MO_OK)
            rc = mo_obj_rewrite_appendable(out, res, r, SNAP, o, &mo_test_err);
        mo_alloc_fail_at(0, false);
        mo_obj_reader_free(r);
        if (rc == MO_OK)
            return nth;
        MO_ASSERT_RC(MO_ENOMEM, rc);
        CU_ASSERT_EQUAL_FATAL(out->len, 0);
        CU_ASSERT_PTR_NULL_FATAL(res->row_map);
        CU_ASSERT_FATAL(nth < 20000);
    }
}

static void test_rewrite__oom_loop(void)
{
    upobj a;
    build_appendable(&a, cols_b(), 6, 8192 + 700, 2, gen_b);
    const mo_obj_writer_col keep[4] = {cols_b()[0], cols_b()[1], cols_b()[2], cols_b()[3]};
    mo_obj_rewrite_opts o = {keep, 4, 2, 2, 0, NULL, false};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res, dres;
    unsigned long nth = oom_rewrite(&out, &res, &a.file, &o);
    CU_ASSERT(nth > 10);
    CU_ASSERT_FALSE(res.fast); /* rows are filtered: the slow path's allocations */
    dres = res;
    /* tombstones into it */
    g_plan.data_rows = 8192 + 700;
    g_plan.up = a.stats.id;
    upobj t;
    build_tomb(&t, 9000, true);
    mapctx mc = {a.stats.id, dres.stats.id, dres.row_map, dres.row_map_len, 0, 0};
    mo_buf tout = MO_BUF_INIT;
    for (nth = 1;; nth++) {
        mo_obj_reader *r = NULL;
        memset(&res, 0, sizeof(res));
        mo_alloc_fail_at(nth, false);
        int rc = mo_obj_reader_open_mem(&r, t.file.ptr, t.file.len, "oomt", &mo_test_err);
        if (rc == MO_OK)
            rc = mo_obj_rewrite_tombstone(&tout, &res, r, SNAP, NULL, map_cb, &mc, &mo_test_err);
        mo_alloc_fail_at(0, false);
        mo_obj_reader_free(r);
        if (rc == MO_OK)
            break;
        MO_ASSERT_RC(MO_ENOMEM, rc);
        CU_ASSERT_EQUAL_FATAL(tout.len, 0);
        CU_ASSERT_FATAL(nth < 20000);
    }
    mo_obj_verify_result vr;
    MO_ASSERT_OK(verify_deep(&tout, &res.stats, -1, &vr));
    mo_obj_rewrite_result_dispose(&res);
    mo_obj_rewrite_result_dispose(&dres);
    mo_buf_dispose(&out);
    mo_buf_dispose(&tout);
    upobj_dispose(&t);
    upobj_dispose(&a);
}

/* ---------------- the fast path: input blocks carried over ---------------- */

/* Every storable type (BLOCKID is not: the writer refuses it). */
static const uint8_t fast_oids[] = {
    MO_T_BOOL,      MO_T_BIT,        MO_T_INT8,       MO_T_INT16,    MO_T_INT32,      MO_T_INT64,
    MO_T_UINT8,     MO_T_UINT16,     MO_T_UINT32,     MO_T_UINT64,   MO_T_FLOAT32,    MO_T_FLOAT64,
    MO_T_DECIMAL64, MO_T_DECIMAL128, MO_T_DECIMAL256, MO_T_DATE,     MO_T_TIME,       MO_T_DATETIME,
    MO_T_TIMESTAMP, MO_T_YEAR,       MO_T_CHAR,       MO_T_VARCHAR,  MO_T_JSON,       MO_T_UUID,
    MO_T_BINARY,    MO_T_VARBINARY,  MO_T_ENUM,       MO_T_GEOMETRY, MO_T_GEOMETRY32, MO_T_BLOB,
    MO_T_TEXT,      MO_T_DATALINK,   MO_T_TS,         MO_T_ROWID,    MO_T_VECF32,     MO_T_VECF64,
    MO_T_VECBF16,   MO_T_VECF16,     MO_T_VECINT8,    MO_T_VECUINT8,
};
#define N_FAST_OIDS (sizeof(fast_oids) / sizeof(fast_oids[0]))

/*
 * The wide schema, by position: 0 key int64 (seqnum 0, increasing); 1..N one column per
 * storable type with NULLs (seqnums 1..N, then a gap: seqnum N+1 was "dropped"); then a
 * constant int32, a constant out-of-line varchar and a constant NULL int64 (CONST vectors in
 * every block), a cluster key int16 (NULLs first, then ties), commit-ts, abort.
 */
enum {
    W_KEY = 0,
    W_TYPES = 1,
    W_CONST_I32 = W_TYPES + N_FAST_OIDS,
    W_CONST_VC,
    W_CONST_NULL,
    W_CLUSTER,
    W_CTS,
    W_ABORT,
    W_NCOLS
};
#define W_NUSER W_CTS
#define W_GAP_SEQ (N_FAST_OIDS + 1)

static const mo_obj_writer_col *wide_cols(void)
{
    static mo_obj_writer_col c[W_NCOLS];
    c[W_KEY] = (mo_obj_writer_col){mo_obj_type_default(MO_T_INT64), 0};
    for (size_t i = 0; i < N_FAST_OIDS; i++)
        c[W_TYPES + i] = (mo_obj_writer_col){mo_obj_type_default(fast_oids[i]), (uint16_t)(1 + i)};
    c[W_CONST_I32] = (mo_obj_writer_col){mo_obj_type_default(MO_T_INT32), W_GAP_SEQ + 1};
    c[W_CONST_VC] = (mo_obj_writer_col){mo_obj_type_default(MO_T_VARCHAR), W_GAP_SEQ + 2};
    c[W_CONST_NULL] = (mo_obj_writer_col){mo_obj_type_default(MO_T_INT64), W_GAP_SEQ + 3};
    c[W_CLUSTER] = (mo_obj_writer_col){mo_obj_type_default(MO_T_INT16), W_GAP_SEQ + 4};
    c[W_CTS] = (mo_obj_writer_col){mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS};
    c[W_ABORT] = (mo_obj_writer_col){mo_obj_type_default(MO_T_BOOL), MO_OBJ_SEQNUM_ABORT};
    return c;
}

/* What the input looks like; -1 disables an irregularity. */
typedef struct wplan {
    uint64_t rows;
    int pk_pos;             /* the input writer's PK */
    int64_t abort_row;      /* this row is aborted */
    int64_t future_row;     /* this row commits after SNAP */
    int64_t swap_row;       /* keys of this row and the next are swapped */
    int64_t late_null_row;  /* the cluster key is NULL here (after non-NULL keys) */
    const mo_obj_objectid *id; /* NULL: a fresh one */
    mo_obj_wire_hook hook;     /* the writer's test seam */
} wplan;

static wplan wplan_default(uint64_t rows)
{
    wplan p = {rows, W_KEY, -1, -1, -1, -1, NULL, NULL};
    return p;
}

/* Marks the key column's chunks as column data v1 (the same bytes: it has no NULLs). */
static void key_chunks_v1(mo_buf *wire, size_t pos, uint32_t block, void *payload)
{
    (void)block;
    (void)payload;
    if (pos == W_KEY)
        mo_store_le16(wire->ptr + 2, 1);
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int64_t wide_key(const wplan *p, uint64_t i)
{
    if (p->swap_row >= 0 && i == (uint64_t)p->swap_row)
        i++;
    else if (p->swap_row >= 0 && i == (uint64_t)p->swap_row + 1)
        i--;
    return (int64_t)i * 3 - 5000;
}

/* One value of type column @p t (a fast_oids index) at row @p i; false for NULL. */
static bool wide_value(size_t t, uint64_t i, uint8_t *v, uint32_t *n)
{
    const uint8_t oid = fast_oids[t];
    uint64_t h = splitmix(t * 1000003u + i);
    if ((i + t) % 11 == 0)
        return false;
    if (mo_obj_type_is_varlena(oid)) {
        *n = (h & 1) ? (uint32_t)(h >> 8) % 24 : 24 + (uint32_t)(h >> 8) % 120;
        const int elem = mo_obj_type_array_elem(oid);
        if (elem > 1)
            *n -= *n % (uint32_t)elem;
    } else {
        *n = (uint32_t)mo_obj_type_size(oid);
    }
    for (uint32_t k = 0; k < *n; k++) {
        if (k % 8 == 0)
            h = splitmix(h);
        v[k] = (uint8_t)(h >> (8 * (k % 8)));
    }
    if (oid == MO_T_BOOL)
        v[0] &= 1;
    return true;
}

static const char CONST_PAYLOAD[] = "a constant varchar that is stored out of line";

/* Writes the wide schema's input (an appendable object) for @p p. */
static void build_wide(mo_buf *file, const wplan *p)
{
    const mo_obj_writer_col *cols = wide_cols();
    mo_obj_writer_opts wo = {0};
    wo.kind = MO_OBJ_KIND_APPENDABLE;
    wo.pk_pos = p->pk_pos;
    wo.sort_key_pos = -1;
    wo.schema_version = 7;
    wo.id = p->id;
    wo.wire_hook = p->hook;
    mo_obj_colbuf cb[W_NCOLS];
    mo_obj_vec views[W_NCOLS];
    for (size_t c = 0; c < W_NCOLS; c++)
        mo_obj_colbuf_init(&cb[c], &cols[c].type);
    mo_obj_writer *w;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, W_NCOLS, &wo, &mo_test_err));
    uint8_t v[200];
    int failed = MO_OK; /* one assert per block: millions of CU_ASSERTs cost seconds */
    for (uint64_t base = 0; base < p->rows; base += MO_OBJ_BLOCK_MAX_ROWS) {
        const uint32_t n = p->rows - base < MO_OBJ_BLOCK_MAX_ROWS ? (uint32_t)(p->rows - base)
                                                                  : MO_OBJ_BLOCK_MAX_ROWS;
        for (size_t c = 0; c < W_NCOLS; c++)
            mo_obj_colbuf_reset(&cb[c]);
        for (uint32_t r = 0; r < n; r++) {
            const uint64_t i = base + r;
            mo_store_le64(v, (uint64_t)wide_key(p, i));
            failed |= mo_obj_colbuf_append_fixed(&cb[W_KEY], v);
            for (size_t t = 0; t < N_FAST_OIDS; t++) {
                uint32_t len;
                mo_obj_colbuf *c = &cb[W_TYPES + t];
                if (!wide_value(t, i, v, &len))
                    failed |= mo_obj_colbuf_append_null(c);
                else if (mo_obj_type_is_varlena(fast_oids[t]))
                    failed |= mo_obj_colbuf_append_bytes(c, v, len);
                else
                    failed |= mo_obj_colbuf_append_fixed(c, v);
            }
            if (i < 50 || (p->late_null_row >= 0 && i == (uint64_t)p->late_null_row)) {
                failed |= mo_obj_colbuf_append_null(&cb[W_CLUSTER]);
            } else {
                mo_store_le16(v, (uint16_t)(i / 1000));
                failed |= mo_obj_colbuf_append_fixed(&cb[W_CLUSTER], v);
            }
            mo_obj_ts ts = {1000 + (int64_t)(i % 100), (uint32_t)(i % 2)};
            if (p->future_row >= 0 && i == (uint64_t)p->future_row)
                ts.physical = SNAP.physical + 1;
            mo_obj_ts_encode(v, ts);
            failed |= mo_obj_colbuf_append_fixed(&cb[W_CTS], v);
            v[0] = p->abort_row >= 0 && i == (uint64_t)p->abort_row;
            failed |= mo_obj_colbuf_append_fixed(&cb[W_ABORT], v);
        }
        for (size_t c = 0; c < W_NCOLS; c++)
            mo_obj_colbuf_view(&views[c], &cb[c]);
        /* the constant columns: CONST vectors, as MO may write them */
        uint8_t ci[4], cv[24];
        mo_store_le32(ci, (uint32_t)(42 + base / MO_OBJ_BLOCK_MAX_ROWS));
        memset(cv, 0, sizeof(cv));
        mo_store_le32(cv, 0xFFFFFFFFu);
        mo_store_le32(cv + 8, (uint32_t)strlen(CONST_PAYLOAD));
        for (size_t c = W_CONST_I32; c <= W_CONST_NULL; c++) {
            mo_obj_vec *x = &views[c];
            memset(x, 0, sizeof(*x));
            x->cls = MO_OBJ_VEC_CONST;
            x->type = cols[c].type;
            x->length = n;
        }
        views[W_CONST_I32].data = ci;
        views[W_CONST_I32].data_len = 4;
        views[W_CONST_VC].data = cv;
        views[W_CONST_VC].data_len = 24;
        views[W_CONST_VC].area = (const uint8_t *)CONST_PAYLOAD;
        views[W_CONST_VC].area_len = (uint32_t)strlen(CONST_PAYLOAD);
        CU_ASSERT_EQUAL_FATAL(failed, MO_OK);
        MO_ASSERT_OK(mo_obj_writer_add_block(w, views, &mo_test_err));
    }
    MO_ASSERT_OK(mo_obj_writer_finish(w, file, NULL, &mo_test_err));
    mo_obj_writer_free(w);
    for (size_t c = 0; c < W_NCOLS; c++)
        mo_obj_colbuf_dispose(&cb[c]);
}

/* The kept user columns of the wide schema (every one), output position = input position. */
static void wide_keep(mo_obj_writer_col *keep)
{
    memcpy(keep, wide_cols(), W_NUSER * sizeof(*keep));
}

/* Seqnums @p seqs of every block of @p file, absent chunks read as NULLs (MO's rule). */
static void read_kept(mo_obj_colbuf *out, const mo_buf *file, const mo_obj_writer_col *cols,
                      size_t n)
{
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, file->ptr, file->len, "in", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    const mo_obj_slotmeta *sl = &mo_obj_reader_meta(r)->slots[0];
    mo_buf scratch = MO_BUF_INIT;
    int failed = MO_OK;
    for (size_t c = 0; c < n; c++) {
        mo_obj_colbuf_init(&out[c], &cols[c].type);
        for (uint32_t b = 0; b < sl->block_count; b++) {
            mo_obj_vec v;
            int rc = mo_obj_reader_column(r, &v, &scratch, b, cols[c].seqnum, NULL, &mo_test_err);
            if (rc == MO_ENOTFOUND) {
                for (uint32_t i = 0; i < sl->blocks[b].hdr.rows; i++)
                    failed |= mo_obj_colbuf_append_null(&out[c]);
                continue;
            }
            MO_ASSERT_OK(rc);
            failed |= mo_obj_colbuf_append_range(&out[c], &v, 0, v.length);
        }
    }
    CU_ASSERT_EQUAL(failed, MO_OK);
    mo_buf_dispose(&scratch);
    mo_obj_reader_free(r);
}

typedef struct fast_expect {
    bool fast;
    int64_t chunks_copied;  /* -1: do not check */
    int64_t filters_copied; /* -1: do not check */
} fast_expect;

/*
 * Rewrites @p in twice, forced slow and allowed fast, with the same object id: asserts the
 * fast path was (not) taken as @p ex says, the two objects and ObjectStats are byte-identical,
 * both row maps equal, both outputs pass deep verification, and every mapped input row's
 * kept values are the output row's (input rows by block*8192 + row).
 */
static void fast_vs_slow(const mo_buf *in, mo_obj_rewrite_opts *o, fast_expect ex)
{
    const mo_obj_objectid id = {{0x01, 0x93, 0x10, 0x20, 0x30, 0x40, 0x70, 0x50, 0x81, 0x01}, 0};
    o->id = &id;
    mo_buf out[2] = {MO_BUF_INIT, MO_BUF_INIT};
    mo_obj_rewrite_result res[2];
    for (int k = 0; k < 2; k++) {
        o->no_fast_path = k == 0;
        mo_obj_reader *r;
        MO_ASSERT_OK(mo_obj_reader_open_mem(&r, in->ptr, in->len, "up", &mo_test_err));
        MO_ASSERT_OK(mo_obj_rewrite_appendable(&out[k], &res[k], r, SNAP, o, &mo_test_err));
        mo_obj_reader_free(r);
    }
    o->no_fast_path = false;
    CU_ASSERT_FALSE(res[0].fast);
    CU_ASSERT_EQUAL(res[0].chunks_copied, 0);
    CU_ASSERT_EQUAL(res[1].fast, ex.fast);
    if (ex.chunks_copied >= 0)
        CU_ASSERT_EQUAL(res[1].chunks_copied, (uint64_t)ex.chunks_copied);
    if (ex.filters_copied >= 0)
        CU_ASSERT_EQUAL(res[1].filters_copied, (uint64_t)ex.filters_copied);
    /* byte identity of the object and its ObjectStats */
    CU_ASSERT_EQUAL_FATAL(out[0].len, out[1].len);
    CU_ASSERT(memcmp(out[0].ptr, out[1].ptr, out[0].len) == 0);
    uint8_t st[2][MO_OBJ_STATS_LEN];
    mo_obj_stats_encode(st[0], &res[0].stats);
    mo_obj_stats_encode(st[1], &res[1].stats);
    CU_ASSERT(memcmp(st[0], st[1], MO_OBJ_STATS_LEN) == 0);
    CU_ASSERT_EQUAL(res[0].rows_in, res[1].rows_in);
    CU_ASSERT_EQUAL(res[0].rows_out, res[1].rows_out);
    CU_ASSERT_EQUAL(res[0].rows_invisible, res[1].rows_invisible);
    CU_ASSERT_EQUAL_FATAL(res[0].row_map_len, res[1].row_map_len);
    CU_ASSERT(memcmp(res[0].row_map, res[1].row_map, res[0].row_map_len * sizeof(uint32_t)) == 0);
    if (ex.fast) {
        unsigned not_identity = 0;
        for (uint32_t i = 0; i < res[1].row_map_len; i++)
            not_identity += res[1].row_map[i] != i;
        CU_ASSERT_EQUAL(not_identity, 0);
        CU_ASSERT_EQUAL(res[1].rows_out, res[1].rows_in);
    }
    /* deep verification, with the PK's bloom filter tested for every row */
    const int pk_seq = o->pk_pos >= 0 ? o->cols[o->pk_pos].seqnum : -1;
    for (int k = 0; k < 2; k++) {
        mo_obj_verify_result vr;
        MO_ASSERT_OK(verify_deep(&out[k], &res[k].stats, pk_seq, &vr));
        CU_ASSERT_EQUAL(vr.problems, 0);
        CU_ASSERT_EQUAL(vr.rows, res[k].rows_out);
        if (o->pk_pos >= 0)
            CU_ASSERT_EQUAL(vr.bf_keys_checked, res[k].rows_out);
    }
    /* the values: input row i is output row map[i] */
    CU_ASSERT_FATAL(o->ncols <= W_NCOLS);
    mo_obj_colbuf inc[W_NCOLS], outc[W_NCOLS];
    read_kept(inc, in, o->cols, o->ncols);
    read_kept(outc, &out[1], o->cols, o->ncols);
    unsigned bad = 0;
    uint64_t mapped = 0;
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, in->ptr, in->len, "in", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    const mo_obj_slotmeta *sl = &mo_obj_reader_meta(r)->slots[0];
    for (size_t c = 0; c < o->ncols; c++) {
        mo_obj_vec iv, ov;
        mo_obj_colbuf_view(&iv, &inc[c]);
        mo_obj_colbuf_view(&ov, &outc[c]);
        CU_ASSERT_EQUAL(ov.length, res[1].rows_out);
        /* input ordinals skip the missing rows of a short middle block: walk the blocks */
        uint32_t row = 0;
        for (uint32_t b = 0; b < sl->block_count; b++)
            for (uint32_t i = 0; i < sl->blocks[b].hdr.rows; i++, row++) {
                const uint32_t k = res[1].row_map[(size_t)b * MO_OBJ_BLOCK_MAX_ROWS + i];
                if (k == UINT32_MAX)
                    continue;
                mapped += c == 0;
                bad += k >= ov.length || !same_value(&iv, row, &ov, k);
            }
        mo_obj_colbuf_dispose(&inc[c]);
        mo_obj_colbuf_dispose(&outc[c]);
    }
    mo_obj_reader_free(r);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(mapped, res[1].rows_out);
    for (int k = 0; k < 2; k++) {
        mo_obj_rewrite_result_dispose(&res[k]);
        mo_buf_dispose(&out[k]);
    }
}

static uint64_t nblocks_of(uint64_t rows)
{
    return (rows + MO_OBJ_BLOCK_MAX_ROWS - 1) / MO_OBJ_BLOCK_MAX_ROWS;
}

/* 1, 8191, 8192, 8193 and 3*8192+5 rows of every type: every chunk copied but the three
 * constant columns' (re-encoded FLAT as the slow path does), every PK filter copied. */
static void test_rewrite_fast__sizes(void)
{
    static const uint64_t sizes[] = {1, 8191, 8192, 8193, 3 * 8192 + 5};
    mo_obj_writer_col keep[W_NUSER];
    wide_keep(keep);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        const wplan p = wplan_default(sizes[s]);
        mo_buf in = MO_BUF_INIT;
        build_wide(&in, &p);
        mo_obj_rewrite_opts o = {keep, W_NUSER, W_KEY, W_KEY, MO_OBJ_STATS_CNCREATED, NULL, false};
        const uint64_t nb = nblocks_of(sizes[s]);
        /* one row: every column has NDV 1 = rows, which leaves the PK unknown: built */
        const int64_t filters = sizes[s] == 1 ? 0 : (int64_t)nb;
        fast_vs_slow(&in, &o, (fast_expect){true, (int64_t)(nb * (W_NUSER - 3)), filters});
        mo_buf_dispose(&in);
    }
}

/* PK and sort key, each present or not, and a cluster key with NULLs first and ties. */
static void test_rewrite_fast__keys(void)
{
    mo_obj_writer_col keep[W_NUSER];
    wide_keep(keep);
    const uint64_t rows = 8192 + 77, nb = nblocks_of(rows);
    const int64_t copied = (int64_t)(nb * (W_NUSER - 3));
    struct {
        int in_pk, pk, sort;
        int64_t filters;
    } cases[] = {
        {-1, -1, -1, 0},              /* no PK, no sort key */
        {W_KEY, W_KEY, -1, (int64_t)nb}, /* PK, rows kept in their order */
        {-1, -1, W_CLUSTER, 0},       /* cluster key: NULLs first, ties in order */
        {W_KEY, W_KEY, W_CLUSTER, (int64_t)nb},
        {-1, W_KEY, W_KEY, 0},        /* the input had no PK filter: built */
        {W_KEY, -1, W_KEY, 0},        /* no PK: no filter, the old PK's NDV estimated */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wplan p = wplan_default(rows);
        p.pk_pos = cases[i].in_pk;
        mo_buf in = MO_BUF_INIT;
        build_wide(&in, &p);
        mo_obj_rewrite_opts o = {keep, W_NUSER, cases[i].sort, cases[i].pk, 0, NULL, false};
        fast_vs_slow(&in, &o, (fast_expect){true, copied, cases[i].filters});
        mo_buf_dispose(&in);
    }
}

/* Chunks the slow path would not write as stored go through its steps, block by block: a
 * narrower varchar, a seqnum the object lacks (NULLs), a reordered column list, a sort key
 * the object lacks altogether (all NULL: in order), column data v1. */
static void test_rewrite_fast__chunk_fallbacks(void)
{
    const uint64_t rows = 8192 + 300, nb = nblocks_of(rows);
    wplan p = wplan_default(rows);
    mo_buf in = MO_BUF_INIT;
    build_wide(&in, &p);
    const mo_obj_writer_col *w = wide_cols();
    size_t vc = 0;
    while (fast_oids[vc] != MO_T_VARCHAR)
        vc++;
    mo_obj_writer_col narrow = w[W_TYPES + vc];
    narrow.type.width = 40;
    const mo_obj_writer_col keep[6] = {
        w[W_CLUSTER], narrow, {mo_obj_type_default(MO_T_INT32), W_GAP_SEQ}, w[W_KEY],
        w[W_CONST_VC], w[W_TYPES]};
    /* copied per block: cluster, key, bool column */
    mo_obj_rewrite_opts o = {keep, 6, 3, 3, 0, NULL, false};
    fast_vs_slow(&in, &o, (fast_expect){true, (int64_t)(3 * nb), (int64_t)nb});
    /* the absent column as the sort key */
    mo_obj_rewrite_opts o2 = {keep, 6, 2, 3, 0, NULL, false};
    fast_vs_slow(&in, &o2, (fast_expect){true, (int64_t)(3 * nb), (int64_t)nb});
    mo_buf_dispose(&in);
    /* the key column's chunks as column data v1: decoded and written v2, like the slow path */
    p.hook = key_chunks_v1;
    build_wide(&in, &p);
    fast_vs_slow(&in, &o, (fast_expect){true, (int64_t)(2 * nb), (int64_t)nb});
    mo_buf_dispose(&in);
}

/* Rewrites the meta blob of @p in through @p fn into @p out (re-compressed, header fixed). */
static void patch_meta(mo_buf *out, const mo_buf *in,
                       void (*fn)(uint8_t *blob, const mo_obj_slotmeta *sl, void *arg), void *arg)
{
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, in->ptr, in->len, "patch", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    const mo_obj_extent me = mo_obj_reader_meta_extent(r);
    uint8_t *blob = malloc(me.origin_size);
    CU_ASSERT_FATAL(blob != NULL);
    MO_ASSERT_OK(mo_obj_lz4_decode(blob, me.origin_size, in->ptr + me.offset, me.length,
                                   &mo_test_err));
    fn(blob, &mo_obj_reader_meta(r)->slots[0], arg);
    mo_obj_reader_free(r);
    out->len = 0;
    MO_ASSERT_OK(mo_buf_put(out, in->ptr, me.offset));
    mo_obj_extent ne = me;
    MO_ASSERT_OK(mo_obj_lz4_encode(out, blob, me.origin_size, &ne.length, &mo_test_err));
    MO_ASSERT_OK(mo_buf_put(out, in->ptr + in->len - MO_OBJ_FOOTER_LEN, MO_OBJ_FOOTER_LEN));
    mo_obj_extent_encode(out->ptr + 10, &ne);
    free(blob);
}

/* BlockHeader.rows sits at byte 36 of a block meta and of the object header. */
static void short_block_1(uint8_t *blob, const mo_obj_slotmeta *sl, void *arg)
{
    (void)arg;
    CU_ASSERT_EQUAL(mo_load_le32(blob + sl->blocks[1].meta_offset + 36), 8192);
    CU_ASSERT_EQUAL(mo_load_le32(blob + sl->blob_offset + 36), 3 * 8192);
    mo_store_le32(blob + sl->blocks[1].meta_offset + 36, 100);
    mo_store_le32(blob + sl->blob_offset + 36, 2 * 8192 + 100);
}

/* The object-level ColumnMeta of seqnum *arg emptied, as special writers leave it. */
static void empty_obj_colmeta(uint8_t *blob, const mo_obj_slotmeta *sl, void *arg)
{
    const uint16_t seq = *(const uint16_t *)arg;
    CU_ASSERT(sl->cols[seq].ndv > 0);
    memset(blob + sl->blob_offset + MO_OBJ_BLKHDR_LEN + MO_OBJ_COLMETA_LEN * (size_t)seq, 0,
           MO_OBJ_COLMETA_LEN);
}

/* Inputs the fast path must leave to the slow path, which still gets them right. */
static void test_rewrite_fast__not_taken(void)
{
    mo_obj_writer_col keep[W_NUSER];
    wide_keep(keep);
    const uint64_t rows = 8192 + 300;
    struct {
        int64_t abort_row, future_row, swap_row, late_null;
        int sort;
    } cases[] = {
        {8200, -1, -1, -1, W_KEY},     /* one aborted row */
        {-1, 8491, -1, -1, W_KEY},     /* one row (the last) committed after the snapshot */
        {-1, -1, 5000, -1, W_KEY},     /* two keys out of order inside a block */
        {-1, -1, 8191, -1, W_KEY},     /* ... across a block boundary */
        {-1, -1, -1, 8192, W_CLUSTER}, /* a NULL cluster key after non-NULL ones */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wplan p = wplan_default(rows);
        p.abort_row = cases[i].abort_row;
        p.future_row = cases[i].future_row;
        p.swap_row = cases[i].swap_row;
        p.late_null_row = cases[i].late_null;
        mo_buf in = MO_BUF_INIT;
        build_wide(&in, &p);
        mo_obj_rewrite_opts o = {keep, W_NUSER, cases[i].sort, W_KEY, 0, NULL, false};
        fast_vs_slow(&in, &o, (fast_expect){false, 0, 0});
        mo_buf_dispose(&in);
    }
    /* the same inputs without the irregularity take the fast path (the cases are sharp) */
    wplan p = wplan_default(rows);
    mo_buf in = MO_BUF_INIT, g = MO_BUF_INIT;
    build_wide(&in, &p);
    mo_obj_rewrite_opts o = {keep, W_NUSER, W_CLUSTER, W_KEY, 0, NULL, false};
    fast_vs_slow(&in, &o, (fast_expect){true, -1, -1});
    /* an object-level meta left empty gives no NDV to carry over */
    const uint16_t seq = W_TYPES + 5;
    patch_meta(&g, &in, empty_obj_colmeta, (void *)&seq);
    fast_vs_slow(&g, &o, (fast_expect){false, 0, 0});
    mo_buf_dispose(&in);
    mo_buf_dispose(&g);
}

/* Stored chunks of block @p b of @p file for every column of the wide schema. */
static void stored_block(mo_obj_writer_chunk *ch, mo_buf *bytes, const mo_buf *file, uint32_t b)
{
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, file->ptr, file->len, "q", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    const mo_obj_blockmeta *bm = &m->slots[0].blocks[b];
    size_t at[W_NCOLS];
    mo_obj_special sp;
    mo_obj_meta_special(&sp, m);
    bytes->len = 0;
    for (size_t c = 0; c < W_NCOLS; c++) {
        const uint16_t seq = c == W_CTS     ? (uint16_t)sp.commit_ts
                             : c == W_ABORT ? (uint16_t)sp.abort
                                            : wide_cols()[c].seqnum;
        const mo_obj_colmeta *cm = &bm->cols[seq];
        uint8_t *z;
        at[c] = bytes->len;
        MO_ASSERT_OK(mo_buf_grow(bytes, cm->extent.length, &z));
        MO_ASSERT_OK(mo_obj_reader_read(r, z, cm->extent.length, cm->extent.offset, &mo_test_err));
        memset(&ch[c], 0, sizeof(ch[c]));
        ch[c].clen = cm->extent.length;
        ch[c].ulen = cm->extent.origin_size;
        ch[c].null_count = cm->null_count;
        ch[c].zm = cm->zm;
    }
    for (size_t c = 0; c < W_NCOLS; c++)
        ch[c].data = bytes->ptr + at[c];
    mo_obj_reader_free(r);
}

/*
 * A short block in the middle (the writer never makes one; built here with stored chunks
 * of a 100-row block under a header patched afterwards): the slow path, correct.
 */
static void test_rewrite_fast__short_middle_block(void)
{
    const mo_obj_writer_col *cols = wide_cols();
    wplan pp = wplan_default(3 * 8192), pq = wplan_default(100);
    pp.pk_pos = pq.pk_pos = -1;
    mo_buf p = MO_BUF_INIT, q = MO_BUF_INIT, raw = MO_BUF_INIT, braw = MO_BUF_INIT;
    build_wide(&p, &pp);
    build_wide(&q, &pq);
    mo_obj_writer_opts wo = {0};
    wo.kind = MO_OBJ_KIND_APPENDABLE;
    wo.pk_pos = -1;
    wo.sort_key_pos = -1;
    mo_obj_writer *w;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, W_NCOLS, &wo, &mo_test_err));
    mo_obj_writer_chunk ch[W_NCOLS];
    for (uint32_t b = 0; b < 3; b++) {
        /* blocks 0 and 2 of p as stored, then block 0 of q (100 rows) claimed as 8192 */
        stored_block(ch, b == 1 ? &raw : &braw, b == 1 ? &q : &p, b == 1 ? 0 : b);
        mo_obj_writer_block blk = {MO_OBJ_BLOCK_MAX_ROWS, ch, NULL, 0, NULL};
        MO_ASSERT_OK(mo_obj_writer_add_block_raw(w, &blk, &mo_test_err));
    }
    for (size_t c = 0; c < W_NCOLS; c++)
        MO_ASSERT_OK(mo_obj_writer_set_ndv(w, c, 1, &mo_test_err));
    mo_buf f = MO_BUF_INIT;
    MO_ASSERT_OK(mo_obj_writer_finish(w, &f, NULL, &mo_test_err));
    mo_obj_writer_free(w);
    /* block 1 and the object hold 8192 - 100 rows less */
    mo_buf g = MO_BUF_INIT;
    patch_meta(&g, &f, short_block_1, NULL);
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, g.ptr, g.len, "mid", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(mo_obj_reader_meta(r)->slots[0].blocks[1].hdr.rows, 100);
    mo_obj_reader_free(r);
    mo_obj_writer_col keep[W_NUSER];
    wide_keep(keep);
    mo_obj_rewrite_opts o = {keep, W_NUSER, W_KEY, W_KEY, 0, NULL, false};
    fast_vs_slow(&g, &o, (fast_expect){false, 0, 0});
    mo_buf_dispose(&p);
    mo_buf_dispose(&q);
    mo_buf_dispose(&raw);
    mo_buf_dispose(&braw);
    mo_buf_dispose(&f);
    mo_buf_dispose(&g);
}

/* add_block_raw keeps the writer's rules; copying every block of an object as stored, with
 * its NDVs, gives back the writer's own bytes. */
static void test_rewrite_fast__writer_raw(void)
{
    const mo_obj_writer_col *cols = wide_cols();
    const mo_obj_objectid id = {{0x01, 0x93, 0x10, 0x20, 0x30, 0x40, 0x70, 0x50, 0x81, 0x02}, 0};
    wplan pl = wplan_default(8192 + 10);
    pl.pk_pos = -1;
    pl.id = &id;
    mo_buf orig = MO_BUF_INIT, bytes = MO_BUF_INIT, copy = MO_BUF_INIT;
    build_wide(&orig, &pl);
    mo_obj_writer_opts wo = {0};
    wo.kind = MO_OBJ_KIND_APPENDABLE;
    wo.pk_pos = -1;
    wo.sort_key_pos = -1;
    wo.schema_version = 7;
    wo.id = &id;
    mo_obj_reader *r;
    MO_ASSERT_OK(mo_obj_reader_open_mem(&r, orig.ptr, orig.len, "t", &mo_test_err));
    MO_ASSERT_OK(mo_obj_reader_load_meta(r, NULL, &mo_test_err));
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    const mo_obj_slotmeta *sl = &m->slots[0];
    mo_obj_special sp;
    mo_obj_meta_special(&sp, m);
    mo_obj_writer *w;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, W_NCOLS, &wo, &mo_test_err));
    for (uint32_t b = 0; b < sl->block_count; b++) {
        mo_obj_writer_chunk ch[W_NCOLS];
        stored_block(ch, &bytes, &orig, b);
        mo_obj_writer_block blk = {sl->blocks[b].hdr.rows, ch, NULL, 0, NULL};
        MO_ASSERT_OK(mo_obj_writer_add_block_raw(w, &blk, &mo_test_err));
    }
    /* NDVs are required for stored chunks of columns with an HLL */
    MO_ASSERT_RC(MO_EINVAL, mo_obj_writer_finish(w, &copy, NULL, &mo_test_err));
    CU_ASSERT_EQUAL(copy.len, 0);
    MO_ASSERT_RC(MO_EINVAL, mo_obj_writer_set_ndv(w, W_NCOLS, 1, &mo_test_err));
    for (size_t c = 0; c < W_NCOLS; c++) {
        const int seq = c == W_CTS ? sp.commit_ts : c == W_ABORT ? sp.abort : cols[c].seqnum;
        MO_ASSERT_OK(mo_obj_writer_set_ndv(w, c, sl->cols[seq].ndv, &mo_test_err));
    }
    MO_ASSERT_OK(mo_obj_writer_finish(w, &copy, NULL, &mo_test_err));
    mo_obj_writer_free(w);
    mo_obj_reader_free(r);
    CU_ASSERT_EQUAL_FATAL(orig.len, copy.len);
    CU_ASSERT(memcmp(orig.ptr, copy.ptr, orig.len) == 0);
    /* the rules */
    mo_obj_writer_chunk ch[W_NCOLS];
    stored_block(ch, &bytes, &orig, 1); /* 10 rows */
    mo_obj_writer_block blk = {10, ch, NULL, 0, NULL};
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, W_NCOLS, &wo, &mo_test_err));
    MO_ASSERT_OK(mo_obj_writer_add_block_raw(w, &blk, &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL, mo_obj_writer_add_block_raw(w, &blk, &mo_test_err)); /* short */
    MO_ASSERT_RC(MO_EINVAL, mo_obj_writer_add_block_raw(w, &blk, &mo_test_err)); /* poisoned */
    mo_obj_writer_free(w);
    uint8_t fb[32] = {0};
    blk.filter = fb;
    blk.filter_len = sizeof(fb);
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, W_NCOLS, &wo, &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL, mo_obj_writer_add_block_raw(w, &blk, &mo_test_err)); /* no key */
    mo_obj_writer_free(w);
    wo.pk_pos = W_KEY;
    blk.filter = NULL;
    blk.filter_len = 0;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, W_NCOLS, &wo, &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL, mo_obj_writer_add_block_raw(w, &blk, &mo_test_err)); /* no filter */
    mo_obj_writer_free(w);
    ch[3].clen = 0;
    wo.pk_pos = -1;
    MO_ASSERT_OK(mo_obj_writer_new(&w, cols, W_NCOLS, &wo, &mo_test_err));
    MO_ASSERT_RC(MO_EINVAL, mo_obj_writer_add_block_raw(w, &blk, &mo_test_err)); /* empty chunk */
    mo_obj_writer_free(w);
    mo_buf_dispose(&orig);
    mo_buf_dispose(&copy);
    mo_buf_dispose(&bytes);
}

/* OOM loop through the fast path: MO_ENOMEM each round, nothing written, then success. */
static void test_rewrite_fast__oom_loop(void)
{
    const wplan p = wplan_default(8192 + 700);
    mo_buf in = MO_BUF_INIT, out = MO_BUF_INIT;
    build_wide(&in, &p);
    mo_obj_writer_col keep[W_NUSER];
    wide_keep(keep);
    mo_obj_rewrite_opts o = {keep, W_NUSER, W_KEY, W_KEY, 0, NULL, false};
    mo_obj_rewrite_result res;
    CU_ASSERT(oom_rewrite(&out, &res, &in, &o) > 10);
    CU_ASSERT(res.fast);
    mo_obj_verify_result vr;
    MO_ASSERT_OK(verify_deep(&out, &res.stats, 0, &vr));
    CU_ASSERT_EQUAL(vr.problems, 0);
    mo_obj_rewrite_result_dispose(&res);
    mo_buf_dispose(&out);
    mo_buf_dispose(&in);
}

static CU_TestInfo rewrite_tests[] = {
    {"test_rewrite__pk_not_first_column", test_rewrite__pk_not_first_column},
    {"test_rewrite__caller_id_and_columns_from_object",
     test_rewrite__caller_id_and_columns_from_object},
    {"test_rewrite__composite_key_blocks", test_rewrite__composite_key_blocks},
    {"test_rewrite__cluster_key_stable", test_rewrite__cluster_key_stable},
    {"test_rewrite__no_sort_key", test_rewrite__no_sort_key},
    {"test_rewrite__absent_column_null", test_rewrite__absent_column_null},
    {"test_rewrite__all_filtered", test_rewrite__all_filtered},
    {"test_rewrite__no_commit_ts", test_rewrite__no_commit_ts},
    {"test_rewrite__tombstone_appendable", test_rewrite__tombstone_appendable},
    {"test_rewrite__tombstone_non_appendable", test_rewrite__tombstone_non_appendable},
    {"test_rewrite__tombstone_nothing_left", test_rewrite__tombstone_nothing_left},
    {"test_rewrite__oom_loop", test_rewrite__oom_loop},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo rewrite_fast_tests[] = {
    {"test_rewrite_fast__sizes", test_rewrite_fast__sizes},
    {"test_rewrite_fast__keys", test_rewrite_fast__keys},
    {"test_rewrite_fast__chunk_fallbacks", test_rewrite_fast__chunk_fallbacks},
    {"test_rewrite_fast__not_taken", test_rewrite_fast__not_taken},
    {"test_rewrite_fast__short_middle_block", test_rewrite_fast__short_middle_block},
    {"test_rewrite_fast__writer_raw", test_rewrite_fast__writer_raw},
    {"test_rewrite_fast__oom_loop", test_rewrite_fast__oom_loop},
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo test_rewrite_suites[] = {
    {"rewrite", NULL, NULL, NULL, NULL, rewrite_tests},
    {"rewrite_fast", NULL, NULL, NULL, NULL, rewrite_fast_tests},
    CU_SUITE_INFO_NULL,
};
