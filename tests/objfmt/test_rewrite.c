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
    mo_obj_rewrite_opts o = {keep, 3, 1, 1, MO_OBJ_STATS_CNCREATED, NULL};
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
    mo_obj_rewrite_opts o = {cols, n, 1, 1, 0, &id};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    MO_ASSERT_OK(mo_obj_rewrite_appendable(&out, &res, r, SNAP, &o, &mo_test_err));
    CU_ASSERT_EQUAL(mo_obj_objectid_cmp(&res.stats.id, &id), 0);
    const size_t up_col[3] = {0, 1, 2};
    check_rewrite(&u, &out, &res, &o, up_col, SNAP);
    mo_obj_rewrite_result_dispose(&res);
    /* bad options are caller bugs: MO_EINVAL, nothing written */
    mo_obj_writer_col mv[2] = {cols[0], {mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS}};
    mo_obj_rewrite_opts bad = {mv, 2, -1, -1, 0, NULL};
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
    mo_obj_rewrite_opts o = {keep, 4, 2, 2, 0, NULL};
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
    mo_obj_rewrite_opts o = {keep, 4, 3, -1, 0, NULL};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    rewrite_mem(&u, &out, &res, &o, SNAP, MO_OK);
    check_rewrite(&u, &out, &res, &o, up_col, SNAP);
    mo_obj_rewrite_result_dispose(&res);
    /* the same object with a reordered column list: output positions follow the list */
    const mo_obj_writer_col keep2[3] = {cols_b()[3], cols_b()[2], cols_b()[0]};
    const size_t up_col2[3] = {3, 2, 0};
    mo_obj_rewrite_opts o2 = {keep2, 3, 0, 1, 0, NULL};
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
    mo_obj_rewrite_opts o = {keep, 3, -1, 1, 0, NULL};
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
    mo_obj_rewrite_opts o = {keep, 3, 0, 0, 0, NULL};
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
    mo_obj_rewrite_opts ow = {wrong, 1, 0, 0, 0, NULL};
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
    mo_obj_rewrite_opts o = {keep, 3, 1, 1, 0, NULL};
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
    mo_obj_rewrite_opts o = {keep, 3, 1, 1, 0, NULL};
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
    mo_obj_rewrite_opts o = {keep, 3, 1, 1, 0, NULL};
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

static void test_rewrite__oom_loop(void)
{
    upobj a;
    build_appendable(&a, cols_b(), 6, 8192 + 700, 2, gen_b);
    const mo_obj_writer_col keep[4] = {cols_b()[0], cols_b()[1], cols_b()[2], cols_b()[3]};
    mo_obj_rewrite_opts o = {keep, 4, 2, 2, 0, NULL};
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res, dres;
    unsigned long nth;
    for (nth = 1;; nth++) {
        mo_obj_reader *r = NULL;
        memset(&res, 0, sizeof(res));
        mo_alloc_fail_at(nth, false);
        int rc = mo_obj_reader_open_mem(&r, a.file.ptr, a.file.len, "oom", &mo_test_err);
        if (rc == MO_OK)
            rc = mo_obj_rewrite_appendable(&out, &res, r, SNAP, &o, &mo_test_err);
        mo_alloc_fail_at(0, false);
        mo_obj_reader_free(r);
        if (rc == MO_OK)
            break;
        MO_ASSERT_RC(MO_ENOMEM, rc);
        CU_ASSERT_EQUAL_FATAL(out.len, 0);
        CU_ASSERT_PTR_NULL_FATAL(res.row_map);
        CU_ASSERT_FATAL(nth < 20000);
    }
    CU_ASSERT(nth > 10);
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

CU_SuiteInfo test_rewrite_suites[] = {
    {"rewrite", NULL, NULL, NULL, NULL, rewrite_tests},
    CU_SUITE_INFO_NULL,
};
