/* Rewriting of upstream objects that cannot be registered byte for byte (ccpr-protocol §5.6):
 * appendable data objects become CN data objects holding the rows visible at the snapshot,
 * sorted by the table's real sort key (MO sorts by column 0, §7), plus the row-offset map that
 * later tombstones need (MO does not persist it, §7); tombstones get their rowids remapped
 * through such maps. Invariants: an upstream row ordinal is block*8192 + row; nothing is
 * appended to the output buffer unless the whole rewrite succeeded; an empty result writes
 * no object at all (MO registers an all-zero ObjectStats instead); the fast path (every row
 * visible, already in order) copies the input's chunks where the slow path would write the
 * same bytes, and writes exactly the slow path's object either way. */
#include "mo/objfmt.h"

void mo_obj_rewrite_result_dispose(mo_obj_rewrite_result *res)
{
    if (!res)
        return;
    mo_free(res->row_map);
    memset(res, 0, sizeof(*res));
}

static int nomem(mo_err *err, const char *what)
{
    return mo_err_set(err, MO_ENOMEM, "rewrite: out of memory (%s)", what);
}

/* colbuf appends fail with MO_ENOMEM or MO_EINVAL (a column beyond 4 GiB / 2^32 rows) */
static int append_rc(int rc, mo_err *err, const char *name)
{
    if (rc == MO_ENOMEM)
        return nomem(err, "column buffer");
    return mo_err_set(err, rc, "%s: rewritten column exceeds 4 GiB or 2^32 rows", name);
}

/* ---------------- stable sort of row indexes ---------------- */

typedef struct sortkey {
    mo_obj_vec v;
} sortkey;

/* The sort order of two keys: NULLs first, then values as MO compares them. */
static int order_cmp(uint8_t oid, bool na, const uint8_t *pa, uint32_t la, bool nb,
                     const uint8_t *pb, uint32_t lb)
{
    if (na || nb)
        return (int)nb - (int)na;
    return mo_obj_value_cmp(oid, pa, la, pb, lb);
}

/* Ties keep their input order (stable). */
static int key_cmp(const sortkey *k, uint32_t a, uint32_t b)
{
    const bool na = mo_obj_vec_is_null(&k->v, a), nb = mo_obj_vec_is_null(&k->v, b);
    const uint8_t *pa = NULL, *pb = NULL;
    uint32_t la = 0, lb = 0;
    if (!na)
        mo_obj_vec_value(&k->v, a, &pa, &la);
    if (!nb)
        mo_obj_vec_value(&k->v, b, &pb, &lb);
    return order_cmp(k->v.type.oid, na, pa, la, nb, pb, lb);
}

/* Bottom-up merge sort of @p a (row indexes into the key vector). */
static int stable_sort(uint32_t *a, uint32_t n, const sortkey *k, mo_err *err)
{
    uint32_t i = 1;
    while (i < n && key_cmp(k, a[i - 1], a[i]) <= 0)
        i++;
    if (i >= n)
        return MO_OK; /* already in order, the common case for PK-ordered appends */
    uint32_t *tmp = mo_malloc((size_t)n * sizeof(*tmp));
    if (!tmp)
        return nomem(err, "sort");
    uint32_t *src = a, *dst = tmp;
    for (uint64_t w = 1; w < n; w *= 2) {
        for (uint64_t lo = 0; lo < n; lo += 2 * w) {
            uint64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            uint64_t x = lo, y = mid, o = lo;
            while (x < mid && y < hi)
                dst[o++] = key_cmp(k, src[y], src[x]) < 0 ? src[y++] : src[x++];
            while (x < mid)
                dst[o++] = src[x++];
            while (y < hi)
                dst[o++] = src[y++];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, (size_t)n * sizeof(*a));
    mo_free(tmp);
    return MO_OK;
}

/* ---------------- shared steps ---------------- */

static int load(mo_obj_reader *r, const mo_obj_slotmeta **sl_out, mo_err *err)
{
    int rc = mo_obj_reader_load_meta(r, NULL, err);
    if (rc < 0)
        return rc;
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    if (!m->slot_count)
        return mo_err_set(err, MO_ECORRUPT, "%s: no data slot", mo_obj_reader_name(r));
    const mo_obj_slotmeta *sl = &m->slots[0];
    for (uint32_t b = 0; b < sl->block_count; b++)
        if (sl->blocks[b].hdr.rows > MO_OBJ_BLOCK_MAX_ROWS)
            return mo_err_set(err, MO_ECORRUPT, "%s: block %u has %u rows (max 8192)",
                              mo_obj_reader_name(r), b, sl->blocks[b].hdr.rows);
    *sl_out = sl;
    return MO_OK;
}

/* Reads one column chunk and checks it against the block header (and @p oid unless 0). */
static int read_col(mo_obj_reader *r, mo_obj_vec *v, mo_buf *scratch, uint32_t b, uint32_t rows,
                    uint16_t seqnum, uint8_t oid, mo_err *err)
{
    int rc = mo_obj_reader_column(r, v, scratch, b, seqnum, NULL, err);
    if (rc < 0)
        return rc;
    if (v->length != rows)
        return mo_err_set(err, MO_ECORRUPT, "%s: block %u seqnum %u: %u rows, block header %u",
                          mo_obj_reader_name(r), b, seqnum, v->length, rows);
    if (oid && v->type.oid != oid)
        return mo_err_set(err, MO_ECORRUPT, "%s: block %u seqnum %u: oid %u, expected %u",
                          mo_obj_reader_name(r), b, seqnum, v->type.oid, oid);
    return MO_OK;
}

/*
 * keep[row] = 1 for the rows of block @p b visible at @p snap: commit_ts <= snap and not
 * aborted. Without a commit-ts column every row is visible. A NULL abort counts as false; a
 * NULL commit-ts is malformed (MO reads the slot of a row TN always fills).
 */
static int block_visible(uint8_t *keep, mo_obj_reader *r, uint32_t b, uint32_t rows,
                         const mo_obj_special *sp, mo_obj_ts snap, mo_buf *s0, mo_buf *s1,
                         mo_err *err)
{
    memset(keep, 1, rows);
    if (sp->commit_ts < 0)
        return MO_OK;
    mo_obj_vec ts, ab;
    int rc = read_col(r, &ts, s0, b, rows, (uint16_t)sp->commit_ts, MO_T_TS, err);
    if (rc < 0)
        return rc;
    bool have_ab = false;
    if (sp->abort >= 0) {
        rc = read_col(r, &ab, s1, b, rows, (uint16_t)sp->abort, MO_T_BOOL, err);
        if (rc == MO_OK)
            have_ab = true;
        else if (rc != MO_ENOTFOUND)
            return rc;
    }
    for (uint32_t i = 0; i < rows; i++) {
        if (mo_obj_vec_is_null(&ts, i))
            return mo_err_set(err, MO_ECORRUPT, "%s: block %u row %u: NULL commit-ts",
                              mo_obj_reader_name(r), b, i);
        if (mo_obj_ts_cmp(mo_obj_ts_decode(mo_obj_vec_slot(&ts, i)), snap) > 0)
            keep[i] = 0;
        else if (have_ab && !mo_obj_vec_is_null(&ab, i) && mo_obj_vec_slot(&ab, i)[0])
            keep[i] = 0;
    }
    return MO_OK;
}

/*
 * Writes rows perm[0..n) of the column buffers @p full into a new object appended to @p out;
 * @p out is left as it was on failure.
 */
static int write_rows(mo_buf *out, mo_obj_stats *stats, const mo_obj_writer_col *wc, size_t nc,
                      const mo_obj_colbuf *full, const uint32_t *perm, uint32_t n,
                      const mo_obj_writer_opts *wo, mo_err *err)
{
    int rc = MO_OK;
    const size_t start = out->len;
    mo_obj_writer *w = NULL;
    mo_obj_colbuf *blk = mo_calloc(nc, sizeof(*blk));
    mo_obj_vec *fv = mo_calloc(nc, sizeof(*fv));
    mo_obj_vec *bv = mo_calloc(nc, sizeof(*bv));
    if (!blk || !fv || !bv) {
        rc = nomem(err, "block buffers");
        goto out;
    }
    for (size_t i = 0; i < nc; i++) {
        mo_obj_colbuf_init(&blk[i], &full[i].type);
        mo_obj_colbuf_view(&fv[i], &full[i]);
    }
    if ((rc = mo_obj_writer_new(&w, wc, nc, wo, err)) < 0)
        goto out;
    for (uint32_t base = 0; base < n; base += MO_OBJ_BLOCK_MAX_ROWS) {
        const uint32_t cnt = n - base < MO_OBJ_BLOCK_MAX_ROWS ? n - base : MO_OBJ_BLOCK_MAX_ROWS;
        for (size_t i = 0; i < nc; i++) {
            mo_obj_colbuf_reset(&blk[i]);
            /* runs of consecutive input rows (all of them when the input was in order) */
            for (uint32_t k = 0, run; k < cnt; k += run) {
                run = 1;
                while (k + run < cnt && perm[base + k + run] == perm[base + k] + run)
                    run++;
                if ((rc = mo_obj_colbuf_append_range(&blk[i], &fv[i], perm[base + k], run)) <
                    0) {
                    rc = append_rc(rc, err, "output block");
                    goto out;
                }
            }
            mo_obj_colbuf_view(&bv[i], &blk[i]);
        }
        if ((rc = mo_obj_writer_add_block(w, bv, err)) < 0)
            goto out;
    }
    rc = mo_obj_writer_finish(w, out, stats, err);
out:
    if (rc < 0)
        out->len = start;
    mo_obj_writer_free(w);
    if (blk)
        for (size_t i = 0; i < nc; i++)
            mo_obj_colbuf_dispose(&blk[i]);
    mo_free(blk);
    mo_free(fv);
    mo_free(bv);
    return rc;
}

/* ---------------- appendable data objects ---------------- */

int mo_obj_rewrite_columns(mo_obj_writer_col **out, size_t *n_out, mo_obj_reader *r, mo_err *err)
{
    *out = NULL;
    *n_out = 0;
    const mo_obj_slotmeta *sl;
    int rc = load(r, &sl, err);
    if (rc < 0)
        return rc;
    if (!sl->block_count)
        return mo_err_set(err, MO_ENOTFOUND, "%s: no block", mo_obj_reader_name(r));
    const uint32_t maxs = sl->blocks[0].hdr.max_seqnum;
    if (maxs >= MO_OBJ_SEQNUM_UPPER)
        return mo_err_set(err, MO_ECORRUPT, "%s: MaxSeqnum %u", mo_obj_reader_name(r), maxs);
    mo_obj_writer_col *cols = mo_calloc(maxs + 1, sizeof(*cols));
    mo_buf scratch = MO_BUF_INIT;
    if (!cols)
        return nomem(err, "columns");
    size_t n = 0;
    for (uint32_t s = 0; s <= maxs; s++)
        for (uint32_t b = 0; b < sl->block_count; b++) {
            const mo_obj_blockmeta *bm = &sl->blocks[b];
            if (s >= bm->hdr.meta_column_count || s > bm->hdr.max_seqnum || !bm->cols[s].type)
                continue;
            mo_obj_vec v;
            if ((rc = read_col(r, &v, &scratch, b, bm->hdr.rows, (uint16_t)s, bm->cols[s].type,
                               err)) < 0)
                goto out;
            cols[n].type = v.type;
            cols[n].seqnum = (uint16_t)s;
            n++;
            break;
        }
    if (!n)
        rc = mo_err_set(err, MO_ENOTFOUND, "%s: no user column", mo_obj_reader_name(r));
out:
    mo_buf_dispose(&scratch);
    if (rc < 0) {
        mo_free(cols);
        return rc;
    }
    *out = cols;
    *n_out = n;
    return MO_OK;
}

static int check_opts(const mo_obj_rewrite_opts *o, mo_err *err)
{
    if (!o || !o->cols || !o->ncols)
        return mo_err_set(err, MO_EINVAL, "rewrite: no columns to keep");
    if (o->sort_key_pos >= (int)o->ncols || o->pk_pos >= (int)o->ncols)
        return mo_err_set(err, MO_EINVAL, "rewrite: sort key/pk position out of range");
    for (size_t i = 0; i < o->ncols; i++) {
        if (o->cols[i].seqnum >= MO_OBJ_SEQNUM_UPPER)
            return mo_err_set(err, MO_EINVAL, "rewrite: column %zu: seqnum %u is an MVCC column", i,
                              o->cols[i].seqnum);
        if (mo_obj_type_size(o->cols[i].type.oid) < 0)
            return mo_err_set(err, MO_EINVAL, "rewrite: column %zu: oid %u is not storable", i,
                              o->cols[i].type.oid);
    }
    return MO_OK;
}

/* ---------------- the fast path: the input's blocks carried over ---------------- */

/*
 * When every row is visible, the blocks are full but the last and the rows are in sort-key
 * order, the slow path would write exactly the input's blocks: the same rows in the same
 * blocks. Then a chunk the slow path would re-encode to the same bytes (LZ4, IOEntry {2,2},
 * FLAT, the column's exact type) is copied with its zone map and null count instead; other
 * chunks go through the slow path's steps one block at a time, so nothing else changes.
 */

/* The block ColumnMeta of @p seq, NULL when absent (the reader's rule). */
static const mo_obj_colmeta *block_col(const mo_obj_blockmeta *bm, uint16_t seq)
{
    return seq < bm->hdr.meta_column_count && bm->cols[seq].type ? &bm->cols[seq] : NULL;
}

static bool hidden_type(uint8_t oid)
{
    return oid == MO_T_TS || oid == MO_T_ROWID; /* no object-level stats in data objects */
}

/*
 * The NDVs of the output come from the input's object-level metas, whose HLL saw the same
 * rows: they must be there, i.e. every kept column some block holds has an object zone map
 * of its type (special writers leave object metas empty).
 */
static bool obj_metas_filled(const mo_obj_slotmeta *sl, const mo_obj_rewrite_opts *o)
{
    for (size_t c = 0; c < o->ncols; c++) {
        const uint16_t seq = o->cols[c].seqnum;
        const uint8_t oid = o->cols[c].type.oid;
        bool held = false;
        for (uint32_t b = 0; b < sl->block_count && !held; b++)
            held = block_col(&sl->blocks[b], seq) != NULL;
        if (held && !hidden_type(oid) &&
            (seq >= sl->hdr.meta_column_count || sl->cols[seq].zm.b[63] != oid))
            return false;
    }
    return true;
}

/* Whether the rows are already in sort-key order (ties allowed: the stable sort keeps
 * them), decoding the sort-key column only. */
static int rows_in_order(bool *in_order, mo_obj_reader *r, const mo_obj_slotmeta *sl,
                         uint16_t seq, uint8_t oid, mo_buf *scratch, mo_err *err)
{
    *in_order = false;
    mo_buf keep = MO_BUF_INIT; /* the previous block's last key */
    bool have = false, pnull = false;
    const uint8_t *pp = NULL;
    uint32_t pl = 0;
    int rc = MO_OK;
    for (uint32_t b = 0; b < sl->block_count; b++) {
        const uint32_t rows = sl->blocks[b].hdr.rows;
        mo_obj_vec v;
        rc = read_col(r, &v, scratch, b, rows, seq, oid, err);
        if (rc == MO_ENOTFOUND) { /* an absent column reads as NULLs */
            mo_err_clear(err);
            rc = MO_OK;
            if (have && !pnull)
                goto out;
            have = pnull = true;
            continue;
        }
        if (rc < 0)
            goto out;
        for (uint32_t i = 0; i < rows; i++) {
            const bool cnull = mo_obj_vec_is_null(&v, i);
            const uint8_t *cp = NULL;
            uint32_t cl = 0;
            if (!cnull)
                mo_obj_vec_value(&v, i, &cp, &cl);
            if (have && order_cmp(oid, pnull, pp, pl, cnull, cp, cl) > 0)
                goto out;
            have = true;
            pnull = cnull;
            pp = cp;
            pl = cl;
        }
        if (!pnull) { /* @p scratch is reused by the next block */
            static const uint8_t none[1];
            keep.len = 0;
            if (mo_buf_put(&keep, pp, pl) < 0) {
                rc = nomem(err, "sort key");
                goto out;
            }
            pp = pl ? keep.ptr : none; /* never NULL, even for an empty value */
        }
    }
    *in_order = true;
out:
    mo_buf_dispose(&keep);
    return rc;
}

/* Input errors that only mean "do not copy the filters": the slow path never reads them. */
static int soft(int rc, mo_err *err)
{
    if (rc == MO_ENOMEM || rc == MO_EIO)
        return rc;
    mo_err_clear(err);
    return MO_OK;
}

/*
 * The input's block filters when they are what the writer builds on the output's PK: type 0
 * in every block, IOEntry {3,2} (v1 filters may miss keys, spec §5.2), none empty, and the
 * PK column is the one input column whose object NDV is the row count (MO's mark of its PK;
 * the filter is on the PK). @p ix gets the area's block index ({u32 offset, u32 length} per
 * block); *ok false when the filters must be built instead.
 */
static int input_filters(bool *ok, mo_buf *ix, mo_obj_reader *r, const mo_obj_slotmeta *sl,
                         uint16_t pk_seq, uint64_t rows, mo_err *err)
{
    *ok = false;
    const mo_obj_extent *bx = &sl->hdr.bf_extent;
    const uint32_t nb = sl->block_count;
    if (pk_seq >= sl->hdr.meta_column_count || sl->cols[pk_seq].ndv != rows)
        return MO_OK;
    for (uint16_t s = 0; s < sl->hdr.meta_column_count; s++)
        if (s != pk_seq && sl->cols[s].ndv == rows)
            return MO_OK; /* which one is the PK? */
    for (uint32_t b = 0; b < nb; b++)
        if (sl->blocks[b].hdr.bf_type != MO_OBJ_BF_PLAIN)
            return MO_OK;
    if (bx->alg != MO_OBJ_ALG_NONE || bx->length != bx->origin_size ||
        bx->length < 8 + 8ull * (nb + 1))
        return MO_OK;
    uint8_t h[8];
    int rc = mo_obj_reader_read(r, h, sizeof(h), bx->offset, err);
    if (rc < 0)
        return soft(rc, err);
    if (mo_load_le16(h) != MO_OBJ_IOET_BF || mo_load_le16(h + 2) != 2 ||
        mo_load_le32(h + 4) != nb + 1)
        return MO_OK;
    ix->len = 0;
    if (mo_buf_reserve(ix, 8 * (size_t)nb) < 0)
        return nomem(err, "filter index");
    if ((rc = mo_obj_reader_read(r, ix->ptr, 8 * (size_t)nb, (uint64_t)bx->offset + 8, err)) < 0)
        return soft(rc, err);
    ix->len = 8 * (size_t)nb;
    for (uint32_t b = 0; b < nb; b++) {
        const uint64_t fo = mo_load_le32(ix->ptr + 8 * (size_t)b);
        const uint32_t fl = mo_load_le32(ix->ptr + 8 * (size_t)b + 4);
        if (!fl || 4 + fo + fl > bx->length)
            return MO_OK;
    }
    *ok = true;
    return MO_OK;
}

/* Block @p b's input filter into @p buf when it parses as type 0; buf->len 0 otherwise. */
static int input_filter(mo_buf *buf, mo_obj_reader *r, const mo_obj_slotmeta *sl,
                        const mo_buf *ix, uint32_t b, mo_err *err)
{
    const uint32_t fo = mo_load_le32(ix->ptr + 8 * (size_t)b);
    const uint32_t fl = mo_load_le32(ix->ptr + 8 * (size_t)b + 4);
    buf->len = 0;
    if (mo_buf_reserve(buf, fl) < 0)
        return nomem(err, "filter");
    int rc = mo_obj_reader_read(r, buf->ptr, fl, (uint64_t)sl->hdr.bf_extent.offset + 4 + fo, err);
    if (rc < 0)
        return soft(rc, err);
    mo_obj_filter f;
    if (mo_obj_filter_parse(&f, MO_OBJ_BF_PLAIN, buf->ptr, fl, NULL) == MO_OK)
        buf->len = fl;
    return MO_OK;
}

/* One kept column on the fast path. */
typedef struct fcol {
    uint16_t seq;
    uint8_t oid;
    uint8_t wire_type[MO_OBJ_TYPE_LEN]; /* the type bytes the slow path writes */
    bool recount;                       /* NDV estimated from the values, not copied */
    mo_obj_colbuf cb;                   /* a block decoded the slow path's way */
    mo_obj_vec view;
    mo_buf wire; /* a copied chunk decoded for recount */
    mo_obj_vec values;
} fcol;

/* IOEntry {2,2} + FLAT + type + rows: what the start of a copied chunk must be */
#define CHUNK_HEAD_LEN (4 + 1 + MO_OBJ_TYPE_LEN + 4)

/* True when the stored chunk @p z is what the slow path would write for @p f's rows. */
static bool chunk_as_written(const fcol *f, const uint8_t *z, const mo_obj_extent *e, uint32_t rows)
{
    uint8_t h[CHUNK_HEAD_LEN];
    if (e->origin_size < CHUNK_HEAD_LEN || e->origin_size > (uint64_t)e->length * 255 ||
        mo_obj_lz4_decode_prefix(h, sizeof(h), z, e->length, e->origin_size, NULL) < 0)
        return false;
    return mo_load_le16(h) == MO_OBJ_IOET_COLDATA && mo_load_le16(h + 2) == 2 &&
           h[4] == MO_OBJ_VEC_FLAT && !memcmp(h + 5, f->wire_type, MO_OBJ_TYPE_LEN) &&
           mo_load_le32(h + 5 + MO_OBJ_TYPE_LEN) == rows;
}

/* Block @p b of @p f decoded into f->cb as the slow path copies it (NULLs when absent). */
static int col_decode(fcol *f, mo_obj_reader *r, mo_buf *scratch, uint32_t b, uint32_t rows,
                      mo_err *err)
{
    mo_obj_colbuf_reset(&f->cb);
    mo_obj_vec v;
    int rc = read_col(r, &v, scratch, b, rows, f->seq, f->oid, err);
    if (rc == MO_ENOTFOUND) {
        mo_err_clear(err);
        rc = MO_OK;
        for (uint32_t i = 0; i < rows && rc == MO_OK; i++)
            rc = mo_obj_colbuf_append_null(&f->cb);
    } else if (rc == MO_OK) {
        rc = mo_obj_colbuf_append_range(&f->cb, &v, 0, rows);
    } else {
        return rc;
    }
    if (rc < 0)
        return append_rc(rc, err, mo_obj_reader_name(r));
    mo_obj_colbuf_view(&f->view, &f->cb);
    return MO_OK;
}

/*
 * Writes the object from the input's blocks into @p out when the sort order and the object
 * metas allow it (*taken); *taken false and nothing written otherwise. The caller checked
 * that every row is visible and every block but the last is full.
 */
static int rewrite_fast(bool *taken, mo_buf *out, mo_obj_rewrite_result *res, mo_obj_reader *r,
                        const mo_obj_slotmeta *sl, const mo_obj_rewrite_opts *o,
                        const mo_obj_writer_opts *wo, uint64_t rows, mo_err *err)
{
    *taken = false;
    if (!obj_metas_filled(sl, o))
        return MO_OK;
    const size_t nc = o->ncols;
    int rc = MO_OK;
    mo_obj_writer *w = NULL;
    mo_buf scratch = MO_BUF_INIT, raw = MO_BUF_INIT, ix = MO_BUF_INIT, filter = MO_BUF_INIT;
    fcol *fc = mo_calloc(nc, sizeof(*fc));
    mo_obj_writer_chunk *ch = mo_calloc(nc, sizeof(*ch));
    size_t *at = mo_calloc(nc, sizeof(*at));
    if (!fc || !ch || !at) {
        rc = nomem(err, "fast path");
        goto out;
    }
    for (size_t c = 0; c < nc; c++) {
        mo_obj_type t = o->cols[c].type;
        t.size = mo_obj_type_size(t.oid); /* as the writer does */
        fc[c].seq = o->cols[c].seqnum;
        fc[c].oid = t.oid;
        mo_obj_type_encode(fc[c].wire_type, &t);
        mo_obj_colbuf_init(&fc[c].cb, &t);
        /* an NDV equal to the row count may be the input writer's PK rule (NDV = rows) and
         * not the estimate the slow path makes for a column that is not the output's PK */
        fc[c].recount = (int)c != o->pk_pos && !hidden_type(t.oid) &&
                        fc[c].seq < sl->hdr.meta_column_count && sl->cols[fc[c].seq].ndv == rows;
    }
    if (o->sort_key_pos >= 0) {
        bool in_order;
        const fcol *k = &fc[o->sort_key_pos];
        if ((rc = rows_in_order(&in_order, r, sl, k->seq, k->oid, &scratch, err)) < 0 || !in_order)
            goto out;
    }
    bool copy_filters = false;
    if (o->pk_pos >= 0 &&
        (rc = input_filters(&copy_filters, &ix, r, sl, fc[o->pk_pos].seq, rows, err)) < 0)
        goto out;
    if ((rc = mo_obj_writer_new(&w, o->cols, nc, wo, err)) < 0)
        goto out;
    for (uint32_t b = 0; b < sl->block_count; b++) {
        const mo_obj_blockmeta *bm = &sl->blocks[b];
        const uint32_t n = bm->hdr.rows;
        uint64_t copied = 0;
        raw.len = 0;
        for (size_t c = 0; c < nc; c++) {
            const mo_obj_colmeta *cm = block_col(bm, fc[c].seq);
            memset(&ch[c], 0, sizeof(ch[c]));
            if (cm && cm->type == fc[c].oid && cm->extent.alg != MO_OBJ_ALG_NONE &&
                cm->extent.length) {
                uint8_t *z;
                at[c] = raw.len;
                if (mo_buf_grow(&raw, cm->extent.length, &z) < 0) {
                    rc = nomem(err, "chunks");
                    goto out;
                }
                if ((rc = mo_obj_reader_read(r, z, cm->extent.length, cm->extent.offset, err)) < 0)
                    goto out;
                if (chunk_as_written(&fc[c], z, &cm->extent, n)) {
                    ch[c].clen = cm->extent.length;
                    ch[c].ulen = cm->extent.origin_size;
                    ch[c].null_count = cm->null_count;
                    ch[c].zm = cm->zm;
                    if (fc[c].recount) {
                        if ((rc = read_col(r, &fc[c].values, &fc[c].wire, b, n, fc[c].seq,
                                           fc[c].oid, err)) < 0)
                            goto out;
                        ch[c].values = &fc[c].values;
                    }
                    copied++;
                    continue;
                }
                raw.len = at[c];
            }
            if ((rc = col_decode(&fc[c], r, &scratch, b, n, err)) < 0)
                goto out;
            ch[c].vec = &fc[c].view;
        }
        for (size_t c = 0; c < nc; c++)
            if (!ch[c].vec)
                ch[c].data = raw.ptr + at[c]; /* raw no longer moves */
        mo_obj_writer_block blk = {n, ch, NULL, 0, NULL};
        if (o->pk_pos >= 0) {
            if (copy_filters && (rc = input_filter(&filter, r, sl, &ix, b, err)) < 0)
                goto out;
            if (copy_filters && filter.len) {
                blk.filter = filter.ptr;
                blk.filter_len = filter.len;
                res->filters_copied++;
            } else {
                fcol *pk = &fc[o->pk_pos];
                if (!ch[o->pk_pos].vec && (rc = col_decode(pk, r, &scratch, b, n, err)) < 0)
                    goto out;
                blk.filter_key = &pk->view;
            }
        }
        if ((rc = mo_obj_writer_add_block_raw(w, &blk, err)) < 0)
            goto out;
        res->chunks_copied += copied;
    }
    for (size_t c = 0; c < nc; c++) {
        const uint16_t seq = fc[c].seq;
        const uint32_t ndv = seq < sl->hdr.meta_column_count ? sl->cols[seq].ndv : 0;
        if (!fc[c].recount && (rc = mo_obj_writer_set_ndv(w, c, ndv, err)) < 0)
            goto out;
    }
    if ((rc = mo_obj_writer_finish(w, out, &res->stats, err)) < 0)
        goto out;
    *taken = true;
out:
    mo_obj_writer_free(w);
    if (fc)
        for (size_t c = 0; c < nc; c++) {
            mo_obj_colbuf_dispose(&fc[c].cb);
            mo_buf_dispose(&fc[c].wire);
        }
    mo_free(fc);
    mo_free(ch);
    mo_free(at);
    mo_buf_dispose(&scratch);
    mo_buf_dispose(&raw);
    mo_buf_dispose(&ix);
    mo_buf_dispose(&filter);
    return rc;
}

/* The writer options of an appendable rewrite (both paths). */
static void rewrite_writer_opts(mo_obj_writer_opts *wo, const mo_obj_reader *r,
                                const mo_obj_rewrite_opts *opts)
{
    memset(wo, 0, sizeof(*wo));
    wo->kind = MO_OBJ_KIND_DATA;
    wo->pk_pos = opts->pk_pos;
    wo->sort_key_pos = opts->sort_key_pos;
    wo->schema_version = mo_obj_reader_schema_version(r);
    wo->stats_flags = opts->stats_flags & (MO_OBJ_STATS_SORTED | MO_OBJ_STATS_CNCREATED);
    if (opts->sort_key_pos >= 0)
        wo->stats_flags |= MO_OBJ_STATS_SORTED;
    wo->id = opts->id;
}

int mo_obj_rewrite_appendable(mo_buf *out, mo_obj_rewrite_result *res, mo_obj_reader *r,
                              mo_obj_ts snapshot, const mo_obj_rewrite_opts *opts, mo_err *err)
{
    memset(res, 0, sizeof(*res));
    int rc = check_opts(opts, err);
    if (rc < 0)
        return rc;
    const mo_obj_slotmeta *sl;
    if ((rc = load(r, &sl, err)) < 0)
        return rc;
    const char *name = mo_obj_reader_name(r);
    mo_obj_special sp;
    mo_obj_meta_special(&sp, mo_obj_reader_meta(r));
    if (sl->block_count && sp.commit_ts < 0)
        return mo_err_set(err, MO_ECORRUPT,
                          "%s: appendable object without a commit-ts column (rows unfilterable)",
                          name);
    const size_t nc = opts->ncols;
    const uint32_t nb = sl->block_count;
    uint64_t span =
        nb ? (uint64_t)(nb - 1) * MO_OBJ_BLOCK_MAX_ROWS + sl->blocks[nb - 1].hdr.rows : 0;
    if (span > UINT32_MAX - 1)
        return mo_err_set(err, MO_ECORRUPT, "%s: %u blocks exceed the row ordinal range", name, nb);
    uint32_t *map = NULL, *vis_ord = NULL, *perm = NULL;
    uint8_t *keep = NULL;
    mo_obj_colbuf *full = NULL;
    mo_buf s0 = MO_BUF_INIT, s1 = MO_BUF_INIT;
    uint32_t nvis = 0;
    map = mo_malloc((span ? span : 1) * sizeof(*map));
    keep = mo_malloc(nb ? (size_t)nb * MO_OBJ_BLOCK_MAX_ROWS : 1);
    full = mo_calloc(nc, sizeof(*full));
    if (!map || !keep || !full) {
        rc = nomem(err, "row map");
        goto out;
    }
    for (size_t i = 0; i < nc; i++)
        mo_obj_colbuf_init(&full[i], &opts->cols[i].type);
    /* 1. visibility of every row; map[] first holds the visible index in upstream order */
    memset(map, 0xFF, (span ? span : 1) * sizeof(*map));
    for (uint32_t b = 0; b < nb; b++) {
        const uint32_t rows = sl->blocks[b].hdr.rows;
        uint8_t *kb = keep + (size_t)b * MO_OBJ_BLOCK_MAX_ROWS;
        if ((rc = block_visible(kb, r, b, rows, &sp, snapshot, &s0, &s1, err)) < 0)
            goto out;
        res->rows_in += rows;
        for (uint32_t i = 0; i < rows; i++)
            if (kb[i])
                map[(size_t)b * MO_OBJ_BLOCK_MAX_ROWS + i] = nvis++;
    }
    res->rows_invisible = res->rows_in - nvis;
    if (!nvis) {
        res->row_map = map;
        res->row_map_len = (uint32_t)span;
        map = NULL;
        rc = mo_err_set(err, MO_ENOTFOUND, "%s: no row visible at the snapshot", name);
        goto out;
    }
    mo_obj_writer_opts wo;
    rewrite_writer_opts(&wo, r, opts);
    /* 2. maybe the input's blocks as they are. nvis == span: every row is visible and every
     * block but the last is full (no ordinal without a row); the last one is not empty */
    if (!opts->no_fast_path && nvis == span && sl->blocks[nb - 1].hdr.rows) {
        bool taken;
        if ((rc = rewrite_fast(&taken, out, res, r, sl, opts, &wo, span, err)) < 0)
            goto out;
        if (taken) { /* map[] is the identity: every ordinal is visible, in order */
            res->fast = true;
            res->row_map = map;
            res->row_map_len = (uint32_t)span;
            res->rows_out = nvis;
            map = NULL;
            goto out;
        }
    }
    /* 3. the kept columns' visible rows, column by column */
    for (size_t c = 0; c < nc; c++) {
        const uint16_t seq = opts->cols[c].seqnum;
        const uint8_t oid = opts->cols[c].type.oid;
        for (uint32_t b = 0; b < nb; b++) {
            const uint32_t rows = sl->blocks[b].hdr.rows;
            const uint8_t *kb = keep + (size_t)b * MO_OBJ_BLOCK_MAX_ROWS;
            mo_obj_vec v;
            rc = read_col(r, &v, &s0, b, rows, seq, oid, err);
            bool absent = rc == MO_ENOTFOUND;
            if (rc < 0 && !absent)
                goto out;
            for (uint32_t i = 0, run; i < rows; i += run) {
                run = 1;
                if (!kb[i])
                    continue;
                while (!absent && i + run < rows && kb[i + run])
                    run++;
                rc = absent ? mo_obj_colbuf_append_null(&full[c])
                            : mo_obj_colbuf_append_range(&full[c], &v, i, run);
                if (rc < 0) {
                    rc = append_rc(rc, err, name);
                    goto out;
                }
            }
        }
    }
    rc = MO_OK;
    /* 4. order: stable by the real sort key */
    perm = mo_malloc((size_t)nvis * sizeof(*perm));
    vis_ord = mo_malloc((size_t)nvis * sizeof(*vis_ord));
    if (!perm || !vis_ord) {
        rc = nomem(err, "permutation");
        goto out;
    }
    for (uint32_t i = 0; i < nvis; i++)
        perm[i] = i;
    for (uint32_t o = 0; o < span; o++)
        if (map[o] != UINT32_MAX)
            vis_ord[map[o]] = o;
    if (opts->sort_key_pos >= 0) {
        sortkey k;
        mo_obj_colbuf_view(&k.v, &full[opts->sort_key_pos]);
        if ((rc = stable_sort(perm, nvis, &k, err)) < 0)
            goto out;
    }
    /* 5. the object, then the final map (upstream ordinal -> downstream ordinal) */
    if ((rc = write_rows(out, &res->stats, opts->cols, nc, full, perm, nvis, &wo, err)) < 0)
        goto out;
    for (uint32_t k = 0; k < nvis; k++)
        map[vis_ord[perm[k]]] = k;
    res->row_map = map;
    res->row_map_len = (uint32_t)span;
    res->rows_out = nvis;
    map = NULL;
out:
    mo_free(map);
    mo_free(keep);
    mo_free(perm);
    mo_free(vis_ord);
    if (full)
        for (size_t i = 0; i < nc; i++)
            mo_obj_colbuf_dispose(&full[i]);
    mo_free(full);
    mo_buf_dispose(&s0);
    mo_buf_dispose(&s1);
    if (rc < 0 && rc != MO_ENOTFOUND)
        mo_obj_rewrite_result_dispose(res);
    return rc;
}

/* ---------------- tombstones ---------------- */

typedef struct lookup {
    mo_obj_rowid_map_cb cb;
    void *payload;
    bool valid;
    uint8_t up[MO_OBJ_OBJECTID_LEN];
    int found; /* MO_OK or MO_ENOTFOUND */
    uint8_t down[MO_OBJ_OBJECTID_LEN];
    const uint32_t *map;
    uint32_t nrows;
} lookup;

static int lookup_object(lookup *l, const uint8_t *rowid, mo_err *err)
{
    if (l->valid && !memcmp(l->up, rowid, MO_OBJ_OBJECTID_LEN))
        return MO_OK;
    l->valid = false;
    memcpy(l->up, rowid, MO_OBJ_OBJECTID_LEN);
    l->map = NULL;
    l->nrows = 0;
    int rc = l->cb ? l->cb(l->payload, l->up, l->down, &l->map, &l->nrows) : MO_ENOTFOUND;
    if (rc > 0)
        return mo_err_set(err, MO_EUSER, "rewrite: rowid map callback returned %d", rc);
    if (rc < 0 && rc != MO_ENOTFOUND)
        return mo_err_set(err, rc, "rewrite: rowid map callback failed (%s)", mo_strerror(rc));
    if (rc == MO_OK && !l->map && l->nrows)
        return mo_err_set(err, MO_EINVAL, "rewrite: rowid map callback gave no map");
    l->found = rc;
    l->valid = true;
    return MO_OK;
}

int mo_obj_rewrite_tombstone(mo_buf *out, mo_obj_rewrite_result *res, mo_obj_reader *r,
                             mo_obj_ts snapshot, const mo_obj_tombstone_opts *opts,
                             mo_obj_rowid_map_cb map, void *payload, mo_err *err)
{
    memset(res, 0, sizeof(*res));
    const mo_obj_slotmeta *sl;
    int rc = load(r, &sl, err);
    if (rc < 0)
        return rc;
    const char *name = mo_obj_reader_name(r);
    const uint32_t nb = sl->block_count;
    for (uint32_t b = 0; b < nb; b++) {
        const mo_obj_blockmeta *bm = &sl->blocks[b];
        if (bm->hdr.meta_column_count < 2 || bm->cols[0].type != MO_T_ROWID || !bm->cols[1].type)
            return mo_err_set(err, MO_ECORRUPT,
                              "%s: block %u: not a tombstone (rowid column 0, pk column 1)", name,
                              b);
    }
    mo_obj_special sp;
    mo_obj_meta_special(&sp, mo_obj_reader_meta(r));
    mo_obj_colbuf full[2];
    const mo_obj_type rid_t = mo_obj_type_default(MO_T_ROWID);
    mo_obj_type pk_t = rid_t;
    mo_obj_colbuf_init(&full[0], &rid_t);
    mo_obj_colbuf_init(&full[1], &rid_t); /* retyped when the first PK chunk is read */
    mo_buf s0 = MO_BUF_INIT, s1 = MO_BUF_INIT;
    uint8_t *keep = mo_malloc(MO_OBJ_BLOCK_MAX_ROWS);
    uint32_t *perm = NULL;
    lookup lk = {map, payload, false, {0}, 0, {0}, NULL, 0};
    if (!keep) {
        rc = nomem(err, "visibility");
        goto out;
    }
    for (uint32_t b = 0; b < nb; b++) {
        const uint32_t rows = sl->blocks[b].hdr.rows;
        if ((rc = block_visible(keep, r, b, rows, &sp, snapshot, &s0, &s1, err)) < 0)
            goto out;
        res->rows_in += rows;
        mo_obj_vec rid, pk;
        if ((rc = read_col(r, &rid, &s0, b, rows, 0, MO_T_ROWID, err)) < 0 ||
            (rc = read_col(r, &pk, &s1, b, rows, 1, b ? pk_t.oid : 0, err)) < 0)
            goto out;
        if (!b) {
            pk_t = pk.type;
            full[1].type = pk_t;
        }
        for (uint32_t i = 0; i < rows; i++) {
            if (!keep[i]) {
                res->rows_invisible++;
                continue;
            }
            if (mo_obj_vec_is_null(&rid, i)) {
                rc = mo_err_set(err, MO_ECORRUPT, "%s: block %u row %u: NULL rowid", name, b, i);
                goto out;
            }
            uint8_t nrid[MO_OBJ_ROWID_LEN];
            memcpy(nrid, mo_obj_vec_slot(&rid, i), MO_OBJ_ROWID_LEN);
            if ((rc = lookup_object(&lk, nrid, err)) < 0)
                goto out;
            if (lk.found == MO_OK) {
                /* a row offset >= 8192 names no row of an upstream block: nothing to delete */
                const uint32_t row = mo_load_le32(nrid + 20);
                const uint64_t ord =
                    (uint64_t)mo_load_le16(nrid + 18) * MO_OBJ_BLOCK_MAX_ROWS + row;
                const uint32_t down =
                    row < MO_OBJ_BLOCK_MAX_ROWS && ord < lk.nrows ? lk.map[ord] : UINT32_MAX;
                if (down == UINT32_MAX) {
                    res->rows_orphaned++;
                    continue;
                }
                if (down / MO_OBJ_BLOCK_MAX_ROWS > 0xFFFF) {
                    rc = mo_err_set(err, MO_ECORRUPT, "%s: row map entry %u is beyond 65535 blocks",
                                    name, down);
                    goto out;
                }
                memcpy(nrid, lk.down, MO_OBJ_OBJECTID_LEN);
                mo_store_le16(nrid + 18, (uint16_t)(down / MO_OBJ_BLOCK_MAX_ROWS));
                mo_store_le32(nrid + 20, down % MO_OBJ_BLOCK_MAX_ROWS);
            }
            if ((rc = mo_obj_colbuf_append_fixed(&full[0], nrid)) < 0 ||
                (rc = mo_obj_colbuf_append_from(&full[1], &pk, i)) < 0) {
                rc = append_rc(rc, err, name);
                goto out;
            }
        }
    }
    const uint32_t n = full[0].rows;
    if (!n) {
        rc = mo_err_set(err, MO_ENOTFOUND, "%s: no tombstone row remains", name);
        goto out;
    }
    if (!(perm = mo_malloc((size_t)n * sizeof(*perm)))) {
        rc = nomem(err, "permutation");
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    sortkey k;
    mo_obj_colbuf_view(&k.v, &full[0]);
    if ((rc = stable_sort(perm, n, &k, err)) < 0)
        goto out;
    const mo_obj_writer_col wc[2] = {{rid_t, 0}, {pk_t, 1}};
    mo_obj_writer_opts wo;
    memset(&wo, 0, sizeof(wo));
    wo.kind = MO_OBJ_KIND_TOMBSTONE;
    wo.pk_pos = -1; /* column 0 is the tombstone's key; the PK column gets an HLL NDV (§8) */
    wo.sort_key_pos = 0;
    wo.schema_version = mo_obj_reader_schema_version(r);
    wo.stats_flags = MO_OBJ_STATS_SORTED;
    if (opts) {
        wo.stats_flags |= opts->stats_flags & MO_OBJ_STATS_CNCREATED;
        wo.id = opts->id;
    }
    if ((rc = write_rows(out, &res->stats, wc, 2, full, perm, n, &wo, err)) < 0)
        goto out;
    res->rows_out = n;
out:
    mo_free(keep);
    mo_free(perm);
    mo_obj_colbuf_dispose(&full[0]);
    mo_obj_colbuf_dispose(&full[1]);
    mo_buf_dispose(&s0);
    mo_buf_dispose(&s1);
    if (rc < 0) {
        const mo_obj_rewrite_result keep_counts = *res;
        memset(res, 0, sizeof(*res));
        if (rc == MO_ENOTFOUND) {
            res->rows_in = keep_counts.rows_in;
            res->rows_invisible = keep_counts.rows_invisible;
            res->rows_orphaned = keep_counts.rows_orphaned;
        }
    }
    return rc;
}
