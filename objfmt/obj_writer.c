/* Object writer (spec §12). Blocks arrive one at a time; each column chunk is encoded,
 * LZ4-compressed and kept per column so that finish() can lay chunks out column-major as
 * MO does. Statistics follow MO's writer: block ZMs from min/max/sum, object ZMs merged
 * from block ZMs, PK NDV = rows, hidden Rowid/TS columns of data objects without
 * InspectVector stats, PK bloom filters per block (HBF on the rowid for tombstones).
 * add_block_raw takes chunks as another object stores them (bytes, zone map, null count)
 * beside encoded ones: the layout and every count stay the writer's, only the values of a
 * stored chunk are not seen unless given, so its column's NDV must be (mo_obj_writer_set_ndv). */
#include <math.h>
#include <stdio.h>

#include "mo/hash.h"
#include "mo/objfmt.h"

#define HLL_P 12
#define HLL_M (1u << HLL_P)

typedef struct blkcol {
    uint32_t clen, ulen, nulls;
    mo_obj_zm zm;
} blkcol;

typedef struct wcol {
    mo_obj_type type;
    uint16_t seqnum; /* as given */
    uint16_t mapped; /* after special-seqnum remapping */
    bool hidden;     /* Rowid/TS column of a data object: no InspectVector stats */
    mo_buf chunks;   /* this column's compressed chunks, block order */
    mo_obj_zm obj_zm;
    bool obj_zm_set;
    uint64_t obj_nulls;
    uint8_t *hll; /* HLL_M registers; NULL for hidden columns */
    bool stored;  /* holds a stored chunk without its values: the HLL misses them */
    bool ndv_set; /* ndv given by mo_obj_writer_set_ndv, replacing the HLL estimate */
    uint32_t ndv;
} wcol;

struct mo_obj_writer {
    mo_obj_writer_opts opts;
    mo_obj_objectid id;
    size_t ncols;
    wcol *cols;
    uint16_t meta_col_count;
    uint16_t max_seqnum;
    uint32_t nblocks;
    uint64_t rows;
    bool short_block;
    bool poisoned;
    blkcol *bc; /* nblocks * ncols */
    size_t bc_cap;
    uint32_t *blk_rows;
    mo_buf filters;    /* per-block filters back to back */
    mo_buf filter_len; /* u32 per block */
    mo_buf wire;       /* scratch */
};

const mo_obj_objectid *mo_obj_writer_id(const mo_obj_writer *w)
{
    return &w->id;
}

void mo_obj_writer_free(mo_obj_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->cols && i < w->ncols; i++) { /* cols NULL: its calloc failed */
        mo_buf_dispose(&w->cols[i].chunks);
        mo_free(w->cols[i].hll);
    }
    mo_free(w->cols);
    mo_free(w->bc);
    mo_free(w->blk_rows);
    mo_buf_dispose(&w->filters);
    mo_buf_dispose(&w->filter_len);
    mo_buf_dispose(&w->wire);
    mo_free(w);
}

int mo_obj_writer_new(mo_obj_writer **out, const mo_obj_writer_col *cols, size_t ncols,
                      const mo_obj_writer_opts *opts, mo_err *err)
{
    *out = NULL;
    if (ncols == 0 || ncols > 4096)
        return mo_err_set(err, MO_EINVAL, "writer: %zu columns (1..4096)", ncols);
    if (opts->pk_pos >= (int)ncols || opts->sort_key_pos >= (int)ncols)
        return mo_err_set(err, MO_EINVAL, "writer: pk/sort key position out of range");
    mo_obj_writer *w = mo_calloc(1, sizeof(*w));
    if (!w)
        return mo_err_set(err, MO_ENOMEM, "writer");
    w->opts = *opts;
    w->ncols = ncols;
    int rc = MO_OK;
    w->cols = mo_calloc(ncols, sizeof(*w->cols));
    if (!w->cols) {
        rc = mo_err_set(err, MO_ENOMEM, "writer columns");
        goto fail;
    }
    if (opts->id)
        w->id = *opts->id;
    else if ((rc = mo_obj_segid_new(w->id.seg, err)) < 0)
        goto fail;
    /* NewSeqnums: MaxSeq = largest user seqnum; specials renumbered after it in order. */
    int max_user = -1;
    for (size_t i = 0; i < ncols; i++) {
        if (mo_obj_type_size(cols[i].type.oid) < 0 || cols[i].type.oid == MO_T_BLOCKID) {
            rc = mo_err_set(err, MO_EINVAL, "writer: column %zu: type oid %u is not storable", i,
                            (unsigned)cols[i].type.oid);
            goto fail;
        }
        if (cols[i].seqnum < MO_OBJ_SEQNUM_UPPER && (int)cols[i].seqnum > max_user)
            max_user = cols[i].seqnum;
        for (size_t j = 0; j < i; j++)
            if (cols[j].seqnum == cols[i].seqnum) {
                rc = mo_err_set(err, MO_EINVAL, "writer: duplicate seqnum %u", cols[i].seqnum);
                goto fail;
            }
    }
    if (max_user < 0) {
        rc = mo_err_set(err, MO_EINVAL, "writer: no user column (all seqnums >= 65530)");
        goto fail;
    }
    w->max_seqnum = (uint16_t)max_user;
    unsigned next = (unsigned)max_user + 1, last = 0;
    bool has_cts = false;
    for (size_t i = 0; i < ncols; i++) {
        wcol *c = &w->cols[i];
        c->type = cols[i].type;
        c->type.size = mo_obj_type_size(c->type.oid);
        c->seqnum = cols[i].seqnum;
        c->mapped = cols[i].seqnum >= MO_OBJ_SEQNUM_UPPER ? (uint16_t)next++ : cols[i].seqnum;
        if (c->mapped > last)
            last = c->mapped;
        if (cols[i].seqnum == MO_OBJ_SEQNUM_COMMITTS && c->type.oid == MO_T_TS)
            has_cts = true;
        c->hidden = opts->kind != MO_OBJ_KIND_TOMBSTONE &&
                    (c->type.oid == MO_T_ROWID || c->type.oid == MO_T_TS);
        if (!c->hidden && !(c->hll = mo_calloc(HLL_M, 1))) {
            rc = mo_err_set(err, MO_ENOMEM, "writer HLL");
            goto fail;
        }
    }
    if (last + 1 > 0xFFFF) {
        rc = mo_err_set(err, MO_EINVAL, "writer: too many columns after seqnum mapping");
        goto fail;
    }
    w->meta_col_count = (uint16_t)(last + 1);
    if (opts->kind == MO_OBJ_KIND_APPENDABLE && !has_cts) {
        rc = mo_err_set(err, MO_EINVAL, "writer: appendable objects need a TS column with seqnum 65533");
        goto fail;
    }
    if (opts->kind == MO_OBJ_KIND_TOMBSTONE &&
        (ncols < 2 || cols[0].type.oid != MO_T_ROWID || cols[0].seqnum != 0 || cols[1].seqnum != 1)) {
        rc = mo_err_set(err, MO_EINVAL, "writer: tombstones are rowid(seqnum 0), pk(seqnum 1), ...");
        goto fail;
    }
    *out = w;
    return MO_OK;
fail:
    mo_obj_writer_free(w);
    return rc;
}

static void hll_add(uint8_t *reg, const uint8_t *p, size_t n)
{
    uint64_t h = mo_xxh64(p, n);
    uint32_t idx = (uint32_t)(h >> (64 - HLL_P));
    uint64_t rest = (h << HLL_P) | (1ull << (HLL_P - 1));
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > reg[idx])
        reg[idx] = rank;
}

static uint32_t hll_estimate(const uint8_t *reg)
{
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < HLL_M; i++) {
        sum += ldexp(1.0, -reg[i]);
        zeros += reg[i] == 0;
    }
    double m = HLL_M, est = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (est <= 2.5 * m && zeros)
        est = m * log(m / zeros);
    return (uint32_t)(est + 0.5);
}

static bool is_pk(const mo_obj_writer *w, size_t pos)
{
    return (int)pos == w->opts.pk_pos || (w->opts.kind == MO_OBJ_KIND_TOMBSTONE && pos == 0);
}

/* Checks that a block of @p rows may follow and makes room for its entries. */
static int block_begin(mo_obj_writer *w, uint32_t rows, mo_err *err)
{
    if (rows == 0 || rows > MO_OBJ_BLOCK_MAX_ROWS)
        return mo_err_set(err, MO_EINVAL, "writer: block of %u rows (1..8192)", rows);
    if (w->short_block)
        return mo_err_set(err, MO_EINVAL,
                          "writer: a block after a short block (only the last may have < 8192 rows)");
    if (w->nblocks >= 0xFFFF || w->rows + rows > UINT32_MAX)
        return mo_err_set(err, MO_EINVAL, "writer: object too large");
    if ((w->nblocks + 1) * w->ncols > w->bc_cap) {
        size_t cap = w->bc_cap ? w->bc_cap * 2 : w->ncols * 16;
        blkcol *bc = mo_realloc(w->bc, cap * sizeof(*bc));
        uint32_t *br = mo_realloc(w->blk_rows, cap / w->ncols * sizeof(*br));
        if (bc)
            w->bc = bc;
        if (br)
            w->blk_rows = br;
        if (!bc || !br)
            return mo_err_set(err, MO_ENOMEM, "writer block table");
        w->bc_cap = cap;
    }
    return MO_OK;
}

/* Object-level statistics of column @p c after block entry @p b was filled (NDV aside). */
static void col_merge(wcol *c, const blkcol *b)
{
    if (c->hidden) {
        if (mo_obj_zm_initialized(&b->zm)) {
            if (!c->obj_zm_set)
                c->obj_zm = b->zm;
            else
                mo_obj_zm_merge(&c->obj_zm, &b->zm);
            c->obj_zm_set = true;
        }
        return;
    }
    if (!c->obj_zm_set) {
        mo_obj_zm_init(&c->obj_zm, c->type.oid, (uint8_t)(c->type.scale & 0x3f));
        c->obj_zm_set = true;
    }
    mo_obj_zm_merge(&c->obj_zm, &b->zm);
    c->obj_nulls += b->nulls;
}

/* The values of @p v into column @p i's NDV estimate (the PK and hidden columns have none). */
static void col_count(mo_obj_writer *w, size_t i, const mo_obj_vec *v)
{
    wcol *c = &w->cols[i];
    if (c->hidden || is_pk(w, i))
        return;
    for (uint32_t r = 0; r < v->length; r++) {
        if (mo_obj_vec_is_null(v, r))
            continue;
        const uint8_t *p;
        uint32_t n;
        mo_obj_vec_value(v, r, &p, &n);
        hll_add(c->hll, p, n);
    }
}

/* Encodes, compresses and describes vector @p v as column @p i of the block being added. */
static int col_encode(mo_obj_writer *w, size_t i, const mo_obj_vec *v, uint32_t rows, mo_err *err)
{
    wcol *c = &w->cols[i];
    blkcol *b = &w->bc[(size_t)w->nblocks * w->ncols + i];
    if (v->length != rows || v->type.oid != c->type.oid)
        return mo_err_set(err, MO_EINVAL, "writer: column %zu: %u rows of oid %u, want %u of %u", i,
                          v->length, v->type.oid, rows, c->type.oid);
    mo_obj_vec enc = *v;
    enc.type = c->type; /* width/scale/charset come from the column definition */
    w->wire.len = 0;
    int rc;
    if ((rc = mo_buf_put_le16(&w->wire, MO_OBJ_IOET_COLDATA)) < 0 ||
        (rc = mo_buf_put_le16(&w->wire, 2)) < 0 || (rc = mo_obj_vec_encode(&w->wire, &enc, err)) < 0)
        return rc;
    if (w->opts.wire_hook)
        w->opts.wire_hook(&w->wire, i, w->nblocks, w->opts.wire_hook_payload);
    if ((rc = mo_obj_lz4_encode(&c->chunks, w->wire.ptr, w->wire.len, &b->clen, err)) < 0)
        return rc;
    b->ulen = (uint32_t)w->wire.len;
    b->nulls = mo_obj_vec_is_const_null(v) && !v->null_words ? 0 : (uint32_t)v->null_count;
    mo_obj_zm_from_vec(&b->zm, &enc, (uint8_t)(c->type.scale & 0x3f), false);
    col_merge(c, b);
    col_count(w, i, v);
    return MO_OK;
}

/* Copies a stored chunk as column @p i of the block being added. */
static int col_copy(mo_obj_writer *w, size_t i, const mo_obj_writer_chunk *ch, uint32_t rows,
                    mo_err *err)
{
    wcol *c = &w->cols[i];
    blkcol *b = &w->bc[(size_t)w->nblocks * w->ncols + i];
    if (!ch->data || !ch->clen || ch->ulen < 4)
        return mo_err_set(err, MO_EINVAL, "writer: column %zu: stored chunk of %u/%u bytes", i,
                          ch->clen, ch->ulen);
    if (ch->values && (ch->values->length != rows || ch->values->type.oid != c->type.oid))
        return mo_err_set(err, MO_EINVAL, "writer: column %zu: %u values of oid %u, want %u of %u",
                          i, ch->values->length, ch->values->type.oid, rows, c->type.oid);
    if (mo_buf_put(&c->chunks, ch->data, ch->clen) < 0)
        return mo_err_set(err, MO_ENOMEM, "writer: out of memory");
    b->clen = ch->clen;
    b->ulen = ch->ulen;
    b->nulls = ch->null_count;
    b->zm = ch->zm;
    col_merge(c, b);
    if (ch->values)
        col_count(w, i, ch->values);
    else
        c->stored = true;
    return MO_OK;
}

/* The block's filter (copied, or built from @p key), then the block is counted. */
static int block_end(mo_obj_writer *w, uint32_t rows, const mo_obj_vec *key, const void *filter,
                     size_t filter_len, mo_err *err)
{
    const bool tomb = w->opts.kind == MO_OBJ_KIND_TOMBSTONE;
    const size_t before = w->filters.len;
    int rc = MO_OK;
    if (!tomb && w->opts.pk_pos < 0) {
        if (filter || key)
            return mo_err_set(err, MO_EINVAL, "writer: a filter for an object without a key");
    } else if (filter) {
        if (!filter_len || filter_len > UINT32_MAX)
            return mo_err_set(err, MO_EINVAL, "writer: stored filter of %zu bytes", filter_len);
        rc = mo_buf_put(&w->filters, filter, filter_len);
    } else {
        const size_t kp = tomb ? 0 : (size_t)w->opts.pk_pos;
        if (!key || key->length != rows || key->type.oid != w->cols[kp].type.oid)
            return mo_err_set(err, MO_EINVAL, "writer: block without its key column's filter");
        rc = mo_obj_filter_build(&w->filters, tomb ? MO_OBJ_BF_HYBRID : MO_OBJ_BF_PLAIN, key, err);
    }
    if (rc < 0 || (rc = mo_buf_put_le32(&w->filter_len, (uint32_t)(w->filters.len - before))) < 0)
        return rc;
    w->blk_rows[w->nblocks] = rows;
    w->nblocks++;
    w->rows += rows;
    if (rows < MO_OBJ_BLOCK_MAX_ROWS)
        w->short_block = true;
    return MO_OK;
}

/* Marks the writer poisoned; an out-of-memory failure gets the writer's message. */
static int poison(mo_obj_writer *w, int rc, mo_err *err)
{
    w->poisoned = true;
    if (rc == MO_ENOMEM)
        mo_err_set(err, MO_ENOMEM, "writer: out of memory");
    return rc;
}

int mo_obj_writer_add_block(mo_obj_writer *w, const mo_obj_vec *vecs, mo_err *err)
{
    if (w->poisoned)
        return mo_err_set(err, MO_EINVAL, "writer: poisoned by an earlier error");
    const uint32_t rows = vecs[0].length;
    int rc = block_begin(w, rows, err);
    for (size_t i = 0; rc == MO_OK && i < w->ncols; i++)
        rc = col_encode(w, i, &vecs[i], rows, err);
    if (rc < 0)
        return poison(w, rc, err);
    const mo_obj_vec *key = w->opts.kind == MO_OBJ_KIND_TOMBSTONE ? &vecs[0]
                            : w->opts.pk_pos >= 0                 ? &vecs[w->opts.pk_pos]
                                                                  : NULL;
    if ((rc = block_end(w, rows, key, NULL, 0, err)) < 0)
        return poison(w, rc, err);
    return MO_OK;
}

int mo_obj_writer_add_block_raw(mo_obj_writer *w, const mo_obj_writer_block *blk, mo_err *err)
{
    if (w->poisoned)
        return mo_err_set(err, MO_EINVAL, "writer: poisoned by an earlier error");
    int rc = block_begin(w, blk->rows, err);
    for (size_t i = 0; rc == MO_OK && i < w->ncols; i++) {
        const mo_obj_writer_chunk *ch = &blk->cols[i];
        rc = ch->vec ? col_encode(w, i, ch->vec, blk->rows, err)
                     : col_copy(w, i, ch, blk->rows, err);
    }
    if (rc == MO_OK)
        rc = block_end(w, blk->rows, blk->filter_key, blk->filter, blk->filter_len, err);
    return rc < 0 ? poison(w, rc, err) : MO_OK;
}

int mo_obj_writer_set_ndv(mo_obj_writer *w, size_t pos, uint32_t ndv, mo_err *err)
{
    if (pos >= w->ncols)
        return mo_err_set(err, MO_EINVAL, "writer: no column %zu (of %zu)", pos, w->ncols);
    w->cols[pos].ndv = ndv;
    w->cols[pos].ndv_set = true;
    return MO_OK;
}

/* A BlockHeader template shared by the object-level headers. */
static void obj_header(mo_obj_blkhdr *h, const mo_obj_writer *w, uint32_t nblocks)
{
    memset(h, 0, sizeof(*h));
    mo_obj_objectid_encode(h->block_id, &w->id);
    mo_store_le16(h->block_id + 18, (uint16_t)nblocks);
    h->sequence = (uint16_t)nblocks;
    h->rows = (uint32_t)w->rows;
}

static int put_blkhdr(mo_buf *b, const mo_obj_blkhdr *h)
{
    uint8_t t[MO_OBJ_BLKHDR_LEN];
    mo_obj_blkhdr_encode(t, h);
    return mo_buf_put(b, t, sizeof(t));
}

static int put_colmeta(mo_buf *b, const mo_obj_colmeta *c)
{
    uint8_t t[MO_OBJ_COLMETA_LEN];
    mo_obj_colmeta_encode(t, c);
    return mo_buf_put(b, t, sizeof(t));
}

int mo_obj_writer_finish(mo_obj_writer *w, mo_buf *out, mo_obj_stats *stats, mo_err *err)
{
    if (w->poisoned)
        return mo_err_set(err, MO_EINVAL, "writer: poisoned by an earlier error");
    if (w->nblocks == 0)
        return mo_err_set(err, MO_EINVAL, "writer: no rows");
    for (size_t i = 0; i < w->ncols; i++)
        if (w->cols[i].stored && w->cols[i].hll && !is_pk(w, i) && !w->cols[i].ndv_set)
            return mo_err_set(err, MO_EINVAL,
                              "writer: column %zu holds stored chunks but was given no NDV", i);
    const size_t nb = w->nblocks, nc = w->ncols;
    const uint16_t mcc = w->meta_col_count;
    int rc = MO_OK;
    mo_buf zm = MO_BUF_INIT, zmz = MO_BUF_INIT, bf = MO_BUF_INIT, meta = MO_BUF_INIT,
           metaz = MO_BUF_INIT;
    uint32_t *chunk_off = mo_calloc(nb * nc, sizeof(uint32_t));
    mo_obj_colmeta *ocols = mo_calloc(mcc, sizeof(*ocols));
    mo_obj_colmeta *bcols = mo_calloc(mcc, sizeof(*bcols));
    if (!chunk_off || !ocols || !bcols) {
        rc = mo_err_set(err, MO_ENOMEM, "writer finish");
        goto out;
    }
    /* 1. chunk offsets, column-major from 64 */
    uint64_t off = MO_OBJ_HEADER_LEN, origin = MO_OBJ_HEADER_LEN + MO_OBJ_FOOTER_LEN;
    for (size_t i = 0; i < nc; i++)
        for (size_t b = 0; b < nb; b++) {
            chunk_off[b * nc + i] = (uint32_t)off;
            off += w->bc[b * nc + i].clen;
            origin += w->bc[b * nc + i].ulen;
        }
    /* 2. slot-0 BF area (raw): IOEntry{3,2}, count = blocks+1, index, filters, empty object BF */
    uint32_t bf_count = (uint32_t)nb + 1;
    uint32_t foff = 4 + 8 * bf_count;
    if ((rc = mo_buf_put_le16(&bf, MO_OBJ_IOET_BF)) < 0 || (rc = mo_buf_put_le16(&bf, 2)) < 0 ||
        (rc = mo_buf_put_le32(&bf, bf_count)) < 0)
        goto oom;
    for (size_t b = 0; b < nb; b++) {
        uint32_t fl = mo_load_le32(w->filter_len.ptr + 4 * b);
        if ((rc = mo_buf_put_le32(&bf, foff)) < 0 || (rc = mo_buf_put_le32(&bf, fl)) < 0)
            goto oom;
        foff += fl;
    }
    if ((rc = mo_buf_put_le32(&bf, foff)) < 0 || (rc = mo_buf_put_le32(&bf, 0)) < 0 ||
        (rc = mo_buf_put(&bf, w->filters.ptr, w->filters.len)) < 0)
        goto oom;
    /* 3. slot-0 ZM area: IOEntry{4,1}, count, index, per block MetaColumnCount ZMs */
    if ((rc = mo_buf_put_le16(&zm, MO_OBJ_IOET_ZM)) < 0 || (rc = mo_buf_put_le16(&zm, 1)) < 0 ||
        (rc = mo_buf_put_le32(&zm, (uint32_t)nb)) < 0)
        goto oom;
    for (size_t b = 0; b < nb; b++)
        if ((rc = mo_buf_put_le32(&zm, (uint32_t)(4 + 8 * nb + b * mcc * 64))) < 0 ||
            (rc = mo_buf_put_le32(&zm, (uint32_t)mcc * 64)) < 0)
            goto oom;
    for (size_t b = 0; b < nb; b++) {
        uint8_t *z;
        if ((rc = mo_buf_grow(&zm, (size_t)mcc * 64, &z)) < 0)
            goto oom;
        memset(z, 0, (size_t)mcc * 64);
        for (size_t i = 0; i < nc; i++)
            memcpy(z + (size_t)w->cols[i].mapped * 64, w->bc[b * nc + i].zm.b, 64);
    }
    uint32_t zmz_len;
    if ((rc = mo_obj_lz4_encode(&zmz, zm.ptr, zm.len, &zmz_len, err)) < 0)
        goto out;
    mo_obj_extent bf0 = {MO_OBJ_ALG_NONE, (uint32_t)off, (uint32_t)bf.len, (uint32_t)bf.len};
    off += bf.len;
    mo_obj_extent zm0 = {MO_OBJ_ALG_LZ4, (uint32_t)off, zmz_len, (uint32_t)zm.len};
    off += zmz_len;
    static const uint8_t empty_bf[16] = {3, 0, 2, 0, 1, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t empty_zm[9] = {0x80, 4, 0, 1, 0, 0, 0, 0, 0};
    mo_obj_extent bf1 = {MO_OBJ_ALG_NONE, (uint32_t)off, 16, 16};
    off += 16;
    mo_obj_extent zm1 = {MO_OBJ_ALG_LZ4, (uint32_t)off, 9, 8};
    off += 9;
    origin += bf.len + zm.len + 16 + 8;
    const uint64_t meta_off = off;
    /* 4. meta blob */
    const size_t hdr_len = MO_OBJ_BLKHDR_LEN + (size_t)MO_OBJ_COLMETA_LEN * mcc;
    const size_t slot0_len = hdr_len + 4 + 8 * nb + nb * hdr_len;
    if ((rc = mo_buf_put_le16(&meta, MO_OBJ_IOET_META)) < 0 ||
        (rc = mo_buf_put_le16(&meta, 3)) < 0 || (rc = mo_buf_put_le16(&meta, (uint16_t)nb)) < 0 ||
        (rc = mo_buf_put_le32(&meta, 34)) < 0 || (rc = mo_buf_put_zero(&meta, 26)) < 0 ||
        (rc = mo_buf_put_le16(&meta, 0)) < 0)
        goto oom;
    mo_obj_blkhdr h;
    obj_header(&h, w, (uint32_t)nb);
    h.column_count = (uint16_t)nc;
    h.meta_location = (mo_obj_extent){MO_OBJ_ALG_NONE, (uint32_t)meta_off, 0, (uint32_t)slot0_len};
    h.bf_extent = bf0;
    h.zm_area = zm0;
    h.meta_column_count = mcc;
    h.max_seqnum = w->max_seqnum;
    h.appendable = w->opts.kind == MO_OBJ_KIND_APPENDABLE;
    h.sort_key = w->opts.kind == MO_OBJ_KIND_TOMBSTONE ? 0
                 : w->opts.sort_key_pos >= 0          ? w->cols[w->opts.sort_key_pos].mapped
                                                      : MO_OBJ_NO_SORT_KEY;
    for (size_t i = 0; i < nc; i++) {
        wcol *c = &w->cols[i];
        mo_obj_colmeta *o = &ocols[c->mapped];
        o->extent = (mo_obj_extent){MO_OBJ_ALG_LZ4, chunk_off[i], 0, 0};
        for (size_t b = 0; b < nb; b++) {
            o->extent.length += w->bc[b * nc + i].clen;
            o->extent.origin_size += w->bc[b * nc + i].ulen;
        }
        if (c->obj_zm_set)
            o->zm = c->obj_zm;
        o->null_count = (uint32_t)c->obj_nulls;
        if (is_pk(w, i))
            o->ndv = (uint32_t)w->rows;
        else if (c->hll)
            o->ndv = c->ndv_set ? c->ndv : hll_estimate(c->hll);
    }
    if ((rc = put_blkhdr(&meta, &h)) < 0)
        goto oom;
    for (uint16_t s = 0; s < mcc; s++)
        if ((rc = put_colmeta(&meta, &ocols[s])) < 0)
            goto oom;
    if ((rc = mo_buf_put_le32(&meta, (uint32_t)nb)) < 0)
        goto oom;
    for (size_t b = 0; b < nb; b++)
        if ((rc = mo_buf_put_le32(&meta, (uint32_t)(hdr_len + 4 + 8 * nb + b * hdr_len))) < 0 ||
            (rc = mo_buf_put_le32(&meta, (uint32_t)hdr_len)) < 0)
            goto oom;
    for (size_t b = 0; b < nb; b++) {
        mo_obj_blkhdr bh;
        memset(&bh, 0, sizeof(bh));
        bh.sequence = (uint16_t)b;
        mo_store_le16(bh.block_id + 18, (uint16_t)b);
        bh.rows = w->blk_rows[b];
        bh.column_count = (uint16_t)nc;
        bh.meta_column_count = mcc;
        bh.max_seqnum = w->max_seqnum;
        bh.bf_type = w->opts.kind == MO_OBJ_KIND_TOMBSTONE ? MO_OBJ_BF_HYBRID : MO_OBJ_BF_PLAIN;
        if ((rc = put_blkhdr(&meta, &bh)) < 0)
            goto oom;
        memset(bcols, 0, mcc * sizeof(*bcols));
        for (size_t i = 0; i < nc; i++) {
            const blkcol *bc = &w->bc[b * nc + i];
            mo_obj_colmeta *m = &bcols[w->cols[i].mapped];
            m->type = w->cols[i].type.oid;
            m->idx = (uint16_t)i;
            m->null_count = bc->nulls;
            m->extent = (mo_obj_extent){MO_OBJ_ALG_LZ4, chunk_off[b * nc + i], bc->clen, bc->ulen};
            m->zm = bc->zm;
        }
        for (uint16_t s = 0; s < mcc; s++)
            if ((rc = put_colmeta(&meta, &bcols[s])) < 0)
                goto oom;
    }
    /* empty slot 1 (183 bytes) */
    obj_header(&h, w, 0);
    h.meta_location = (mo_obj_extent){MO_OBJ_ALG_NONE, (uint32_t)meta_off, 0, MO_OBJ_BLKHDR_LEN + 4};
    h.bf_extent = bf1;
    h.zm_area = zm1;
    h.start_id = (uint16_t)nb;
    h.appendable = w->opts.kind == MO_OBJ_KIND_APPENDABLE;
    h.sort_key = MO_OBJ_NO_SORT_KEY;
    if ((rc = put_blkhdr(&meta, &h)) < 0 || (rc = mo_buf_put_le32(&meta, 0)) < 0)
        goto oom;
    uint32_t meta_clen;
    if ((rc = mo_obj_lz4_encode(&metaz, meta.ptr, meta.len, &meta_clen, err)) < 0)
        goto out;
    origin += meta.len;
    uint64_t total = meta_off + meta_clen + MO_OBJ_FOOTER_LEN;
    if (total > 3ull << 30) {
        rc = mo_err_set(err, MO_EINVAL, "writer: object of %llu bytes exceeds MO's 3 GiB limit",
                        (unsigned long long)total);
        goto out;
    }
    mo_obj_extent mext = {MO_OBJ_ALG_LZ4, (uint32_t)meta_off, meta_clen, (uint32_t)meta.len};
    /* 5. the file */
    if ((rc = mo_buf_reserve(out, total)) < 0)
        goto oom;
    uint8_t hdr[MO_OBJ_HEADER_LEN] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};
    mo_store_le16(hdr + 8, MO_OBJ_VERSION);
    mo_obj_extent_encode(hdr + 10, &mext);
    mo_store_le32(hdr + 23, w->opts.schema_version);
    mo_buf_put(out, hdr, sizeof(hdr));
    for (size_t i = 0; i < nc; i++)
        mo_buf_put(out, w->cols[i].chunks.ptr, w->cols[i].chunks.len);
    mo_buf_put(out, bf.ptr, bf.len);
    mo_buf_put(out, zmz.ptr, zmz.len);
    mo_buf_put(out, empty_bf, 16);
    mo_buf_put(out, empty_zm, 9);
    mo_buf_put(out, metaz.ptr, metaz.len);
    uint8_t footer[MO_OBJ_FOOTER_LEN] = {0};
    mo_store_le64(footer + 56, 13); /* Go's slice length of the footer's metaExtent */
    mo_buf_put(out, footer, sizeof(footer));
    if (stats) {
        memset(stats, 0, sizeof(*stats));
        stats->id = w->id;
        stats->extent = mext;
        stats->rows = (uint32_t)w->rows;
        stats->block_count = (uint32_t)nb;
        /* MO takes colmeta[SortKey] with colmeta indexed by position (§6); mirror it */
        uint16_t sk = h.sort_key;
        if (w->opts.kind == MO_OBJ_KIND_TOMBSTONE)
            sk = 0;
        else if (w->opts.sort_key_pos >= 0)
            sk = w->cols[w->opts.sort_key_pos].mapped;
        else
            sk = MO_OBJ_NO_SORT_KEY;
        if (sk < nc)
            memcpy(stats->sort_key_zm, w->cols[sk].obj_zm.b, 64);
        stats->size = (uint32_t)total;
        stats->origin_size = (uint32_t)origin;
        stats->flags = w->opts.stats_flags & (MO_OBJ_STATS_SORTED | MO_OBJ_STATS_CNCREATED);
        if (w->opts.kind == MO_OBJ_KIND_APPENDABLE)
            stats->flags |= MO_OBJ_STATS_APPENDABLE;
    }
    goto out;
oom:
    rc = mo_err_set(err, MO_ENOMEM, "writer finish: out of memory");
out:
    mo_free(chunk_off);
    mo_free(ocols);
    mo_free(bcols);
    mo_buf_dispose(&zm);
    mo_buf_dispose(&zmz);
    mo_buf_dispose(&bf);
    mo_buf_dispose(&meta);
    mo_buf_dispose(&metaz);
    if (rc < 0)
        w->poisoned = true;
    return rc;
}
