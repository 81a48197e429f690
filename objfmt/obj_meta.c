/* Object meta codec (spec §4): BlockHeader, ColumnMeta, and the meta blob with its V3
 * header, SubMetaIndex and one objectDataMetaV1 per slot. Decoding checks every structural
 * rule of §9.4 so that later stages may index blocks and columns without re-checking. */
#include <stdarg.h>
#include <stdio.h>

#include "mo/objfmt.h"

void mo_obj_blkhdr_decode(mo_obj_blkhdr *h, const uint8_t in[179])
{
    h->db_id = mo_load_le64(in);
    h->table_id = mo_load_le64(in + 8);
    memcpy(h->block_id, in + 16, 20);
    h->sequence = mo_load_le16(in + 34);
    h->rows = mo_load_le32(in + 36);
    h->column_count = mo_load_le16(in + 40);
    mo_obj_extent_decode(&h->meta_location, in + 42);
    mo_obj_extent_decode(&h->bf_extent, in + 55);
    h->bf_checksum = mo_load_le32(in + 68);
    mo_obj_extent_decode(&h->zm_area, in + 72);
    h->zm_checksum = mo_load_le32(in + 136);
    h->meta_column_count = mo_load_le16(in + 140);
    h->max_seqnum = mo_load_le16(in + 142);
    h->start_id = mo_load_le16(in + 144);
    h->appendable = in[146];
    h->sort_key = mo_load_le16(in + 147);
    h->bf_type = in[149];
}

void mo_obj_blkhdr_encode(uint8_t out[179], const mo_obj_blkhdr *h)
{
    memset(out, 0, 179);
    mo_store_le64(out, h->db_id);
    mo_store_le64(out + 8, h->table_id);
    memcpy(out + 16, h->block_id, 20);
    mo_store_le16(out + 34, h->sequence);
    mo_store_le32(out + 36, h->rows);
    mo_store_le16(out + 40, h->column_count);
    mo_obj_extent_encode(out + 42, &h->meta_location);
    mo_obj_extent_encode(out + 55, &h->bf_extent);
    mo_store_le32(out + 68, h->bf_checksum);
    mo_obj_extent_encode(out + 72, &h->zm_area);
    mo_store_le32(out + 136, h->zm_checksum);
    mo_store_le16(out + 140, h->meta_column_count);
    mo_store_le16(out + 142, h->max_seqnum);
    mo_store_le16(out + 144, h->start_id);
    out[146] = h->appendable;
    mo_store_le16(out + 147, h->sort_key);
    out[149] = h->bf_type;
}

void mo_obj_colmeta_decode(mo_obj_colmeta *c, const uint8_t in[124])
{
    c->type = in[0];
    c->idx = mo_load_le16(in + 1);
    c->ndv = mo_load_le32(in + 3);
    c->null_count = mo_load_le32(in + 7);
    mo_obj_extent_decode(&c->extent, in + 11);
    c->checksum = mo_load_le32(in + 24);
    memcpy(c->zm.b, in + 28, 64);
}

void mo_obj_colmeta_encode(uint8_t out[124], const mo_obj_colmeta *c)
{
    memset(out, 0, 124);
    out[0] = c->type;
    mo_store_le16(out + 1, c->idx);
    mo_store_le32(out + 3, c->ndv);
    mo_store_le32(out + 7, c->null_count);
    mo_obj_extent_encode(out + 11, &c->extent);
    mo_store_le32(out + 24, c->checksum);
    memcpy(out + 28, c->zm.b, 64);
}

void mo_obj_meta_dispose(mo_obj_meta *m)
{
    if (!m)
        return;
    for (uint32_t s = 0; s < m->slot_count; s++) {
        mo_obj_slotmeta *sl = &m->slots[s];
        for (uint32_t b = 0; b < sl->block_count; b++)
            mo_free(sl->blocks[b].cols);
        mo_free(sl->blocks);
        mo_free(sl->cols);
    }
    mo_free(m->slots);
    memset(m, 0, sizeof(*m));
}

static int meta_fail(mo_obj_where *w, mo_err *err, int code, uint64_t off, int slot, int64_t block,
                     const char *field, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static int meta_fail(mo_obj_where *w, mo_err *err, int code, uint64_t off, int slot, int64_t block,
                     const char *field, const char *fmt, ...)
{
    if (w) {
        w->offset = off;
        w->in_meta = true;
        w->slot = slot;
        w->block = block;
        w->seqnum = -1;
        w->field = field;
    }
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        char msg[200];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        mo_err_set(err, code, "meta+%llu: %s", (unsigned long long)off, msg);
    }
    return code;
}

static int colmetas_decode(mo_obj_colmeta **out, const uint8_t *p, uint16_t n)
{
    *out = NULL;
    if (!n)
        return MO_OK;
    mo_obj_colmeta *c = mo_calloc(n, sizeof(*c));
    if (!c)
        return MO_ENOMEM;
    for (uint16_t i = 0; i < n; i++)
        mo_obj_colmeta_decode(&c[i], p + (size_t)i * MO_OBJ_COLMETA_LEN);
    *out = c;
    return MO_OK;
}

/* Decodes one objectDataMetaV1 at blob[off..end); sets *len_out to its exact length. */
static int datameta_decode(mo_obj_slotmeta *sl, const uint8_t *blob, size_t off, size_t end,
                           int slot, size_t *len_out, mo_obj_where *w, mo_err *err)
{
    const uint8_t *p = blob + off;
    size_t avail = end - off;
    if (avail < MO_OBJ_BLKHDR_LEN)
        return meta_fail(w, err, MO_ECORRUPT, off, slot, -1, "BlockHeader",
                         "slot %d: %zu bytes left, need a 179-byte header", slot, avail);
    mo_obj_blkhdr_decode(&sl->hdr, p);
    uint16_t mcc = sl->hdr.meta_column_count;
    size_t hdr_len = MO_OBJ_BLKHDR_LEN + (size_t)MO_OBJ_COLMETA_LEN * mcc;
    if (avail < hdr_len + 4)
        return meta_fail(w, err, MO_ECORRUPT, off + 140, slot, -1, "MetaColumnCount",
                         "slot %d: MetaColumnCount %u needs %zu bytes, %zu left", slot, mcc,
                         hdr_len + 4, avail);
    if (sl->hdr.column_count > mcc)
        return meta_fail(w, err, MO_ECORRUPT, off + 40, slot, -1, "ColumnCount",
                         "slot %d: ColumnCount %u > MetaColumnCount %u", slot,
                         sl->hdr.column_count, mcc);
    if (mcc && sl->hdr.max_seqnum >= mcc)
        return meta_fail(w, err, MO_ECORRUPT, off + 142, slot, -1, "MaxSeqnum",
                         "slot %d: MaxSeqnum %u >= MetaColumnCount %u", slot, sl->hdr.max_seqnum,
                         mcc);
    if (colmetas_decode(&sl->cols, p + MO_OBJ_BLKHDR_LEN, mcc) < 0)
        return mo_err_set(err, MO_ENOMEM, "meta: column metas");
    uint32_t count = mo_load_le32(p + hdr_len);
    if (count > (avail - hdr_len - 4) / 8)
        return meta_fail(w, err, MO_ECORRUPT, off + hdr_len, slot, -1, "BlockIndex.count",
                         "slot %d: BlockIndex count %u does not fit", slot, count);
    if (count != sl->hdr.sequence)
        return meta_fail(w, err, MO_ECORRUPT, off + 34, slot, -1, "Sequence",
                         "slot %d: header Sequence %u != BlockIndex count %u", slot,
                         sl->hdr.sequence, count);
    size_t pos = hdr_len + 4 + (size_t)8 * count;
    if (count) {
        sl->blocks = mo_calloc(count, sizeof(*sl->blocks));
        if (!sl->blocks)
            return mo_err_set(err, MO_ENOMEM, "meta: %u block metas", count);
    }
    sl->block_count = count; /* only now: dispose walks blocks[0..block_count) */
    for (uint32_t b = 0; b < count; b++) {
        uint32_t boff = mo_load_le32(p + hdr_len + 4 + 8 * (size_t)b);
        uint32_t blen = mo_load_le32(p + hdr_len + 8 + 8 * (size_t)b);
        if (boff != pos)
            return meta_fail(w, err, MO_ECORRUPT, off + hdr_len + 4 + 8 * (size_t)b, slot, b,
                             "BlockIndex.offset",
                             "slot %d block %u: offset %u, want %zu (contiguous)", slot, b, boff,
                             pos);
        if (blen < MO_OBJ_BLKHDR_LEN || blen > avail - pos)
            return meta_fail(w, err, MO_ECORRUPT, off + hdr_len + 8 + 8 * (size_t)b, slot, b,
                             "BlockIndex.length", "slot %d block %u: length %u out of range",
                             slot, b, blen);
        mo_obj_blockmeta *bm = &sl->blocks[b];
        mo_obj_blkhdr_decode(&bm->hdr, p + pos);
        uint16_t bmcc = bm->hdr.meta_column_count;
        if (blen != MO_OBJ_BLKHDR_LEN + (size_t)MO_OBJ_COLMETA_LEN * bmcc)
            return meta_fail(w, err, MO_ECORRUPT, off + hdr_len + 8 + 8 * (size_t)b, slot, b,
                             "BlockIndex.length", "slot %d block %u: length %u != 179 + 124*%u",
                             slot, b, blen, bmcc);
        if (bm->hdr.column_count > bmcc)
            return meta_fail(w, err, MO_ECORRUPT, off + pos + 40, slot, b, "ColumnCount",
                             "slot %d block %u: ColumnCount %u > MetaColumnCount %u", slot, b,
                             bm->hdr.column_count, bmcc);
        if (bmcc && bm->hdr.max_seqnum >= bmcc)
            return meta_fail(w, err, MO_ECORRUPT, off + pos + 142, slot, b, "MaxSeqnum",
                             "slot %d block %u: MaxSeqnum %u >= MetaColumnCount %u", slot, b,
                             bm->hdr.max_seqnum, bmcc);
        bm->meta_offset = (uint32_t)(off + pos);
        if (colmetas_decode(&bm->cols, p + pos + MO_OBJ_BLKHDR_LEN, bmcc) < 0)
            return mo_err_set(err, MO_ENOMEM, "meta: column metas");
        pos += blen;
    }
    if (sl->hdr.meta_location.origin_size != pos)
        return meta_fail(w, err, MO_ECORRUPT, off + 42, slot, -1, "MetaLocation.originSize",
                         "slot %d: MetaLocation originSize %u != data meta length %zu", slot,
                         sl->hdr.meta_location.origin_size, pos);
    sl->blob_offset = (uint32_t)off;
    sl->blob_len = (uint32_t)pos;
    *len_out = pos;
    return MO_OK;
}

int mo_obj_meta_decode(mo_obj_meta *m, const uint8_t *blob, size_t len, mo_obj_where *w,
                       mo_err *err)
{
    memset(m, 0, sizeof(*m));
    if (len < 4)
        return meta_fail(w, err, MO_ECORRUPT, 0, -1, -1, "IOEntry", "meta of %zu bytes", len);
    uint16_t type = mo_load_le16(blob), ver = mo_load_le16(blob + 2);
    if (type != MO_OBJ_IOET_META)
        return meta_fail(w, err, MO_ECORRUPT, 0, -1, -1, "IOEntry.type",
                         "IOEntry type %u, want 1 (object meta)", type);
    if (ver < 1 || ver > 3)
        return meta_fail(w, err, MO_EVERSION, 2, -1, -1, "IOEntry.version",
                         "object meta version %u (known: 1, 2, 3)", ver);
    m->version = ver;
    int rc;
    if (ver == 1) {
        /* V1: the blob is one bare objectDataMetaV1 (slot 0). */
        m->slots = mo_calloc(1, sizeof(*m->slots));
        if (!m->slots)
            return mo_err_set(err, MO_ENOMEM, "meta slots");
        m->slot_count = 1;
        size_t dlen;
        rc = datameta_decode(&m->slots[0], blob, 4, len, 0, &dlen, w, err);
        if (rc < 0)
            goto fail;
        if (4 + dlen != len) {
            rc = meta_fail(w, err, MO_ECORRUPT, 4 + dlen, 0, -1, "length",
                           "%zu trailing bytes after the V1 data meta", len - 4 - dlen);
            goto fail;
        }
        m->data_meta_count = (uint16_t)m->slots[0].block_count;
        return MO_OK;
    }
    const uint8_t *M = blob + 4;
    size_t mlen = len - 4;
    if (mlen < MO_OBJ_META_HDR_LEN + 2)
        return meta_fail(w, err, MO_ECORRUPT, 4, -1, -1, "ObjectMeta",
                         "meta of %zu bytes cannot hold the 32-byte header", len);
    m->data_meta_count = mo_load_le16(M);
    m->data_meta_offset = mo_load_le32(M + 2);
    m->tombstone_meta_count = mo_load_le16(M + 6);
    m->tombstone_meta_offset = mo_load_le32(M + 8);
    for (int i = 12; i < 32; i++)
        if (M[i])
            return meta_fail(w, err, MO_ECORRUPT, 4 + (size_t)i, -1, -1, "ObjectMeta.reserved",
                             "reserved header byte %d is 0x%02x", i, M[i]);
    m->sub_meta_count = mo_load_le16(M + 32);
    size_t smi_len = 2 + (size_t)8 * m->sub_meta_count;
    if (m->sub_meta_count > 29 || MO_OBJ_META_HDR_LEN + smi_len > mlen)
        return meta_fail(w, err, MO_ECORRUPT, 36, -1, -1, "SubMetaIndex",
                         "SubMetaIndex count %u (at most 29, and it must fit)", m->sub_meta_count);
    if (m->data_meta_offset != MO_OBJ_META_HDR_LEN + smi_len)
        return meta_fail(w, err, MO_ECORRUPT, 6, -1, -1, "DataMetaOffset",
                         "DataMetaOffset %u, want %zu", m->data_meta_offset,
                         MO_OBJ_META_HDR_LEN + smi_len);
    uint32_t nslots = 2 + m->sub_meta_count;
    m->slots = mo_calloc(nslots, sizeof(*m->slots));
    if (!m->slots)
        return mo_err_set(err, MO_ENOMEM, "meta slots");
    m->slot_count = nslots;
    size_t off = 4 + m->data_meta_offset;
    uint32_t start_id = 0;
    for (uint32_t s = 0; s < nslots; s++) {
        size_t dlen;
        if (off >= len) {
            rc = meta_fail(w, err, MO_ECORRUPT, off, (int)s, -1, "DataMeta",
                           "slot %u missing: meta ends at %zu", s, len);
            goto fail;
        }
        rc = datameta_decode(&m->slots[s], blob, off, len, (int)s, &dlen, w, err);
        if (rc < 0)
            goto fail;
        if (m->slots[s].hdr.start_id != start_id) {
            rc = meta_fail(w, err, MO_ECORRUPT, off + 144, (int)s, -1, "StartID",
                           "slot %u: StartID %u, want %u", s, m->slots[s].hdr.start_id, start_id);
            goto fail;
        }
        if (s >= 2) {
            const uint8_t *e = M + 34 + 8 * (size_t)(s - 2);
            uint32_t soff = mo_load_le32(e + 4);
            if (soff != off - 4 || mo_load_le16(e + 2) != m->slots[s].block_count) {
                rc = meta_fail(w, err, MO_ECORRUPT, 36 + 8 * (size_t)(s - 2), (int)s, -1,
                               "SubMetaIndex.entry", "sub meta %u: offset %u/blocks %u disagree",
                               s - 2, soff, mo_load_le16(e + 2));
                goto fail;
            }
        }
        start_id += m->slots[s].block_count;
        off += dlen;
    }
    if (off != len) {
        rc = meta_fail(w, err, MO_ECORRUPT, off, -1, -1, "length",
                       "%zu trailing bytes after the last data meta", len - off);
        goto fail;
    }
    if (m->data_meta_count != m->slots[0].block_count) {
        rc = meta_fail(w, err, MO_ECORRUPT, 4, 0, -1, "DataMetaCount",
                       "DataMetaCount %u != slot-0 blocks %u", m->data_meta_count,
                       m->slots[0].block_count);
        goto fail;
    }
    return MO_OK;
fail:
    mo_obj_meta_dispose(m);
    return rc;
}

void mo_obj_meta_special(mo_obj_special *out, const mo_obj_meta *m)
{
    out->commit_ts = out->abort = out->phys_addr = -1;
    if (!m->slot_count || !m->slots[0].block_count)
        return;
    const mo_obj_blockmeta *b = &m->slots[0].blocks[0];
    int pos = b->hdr.max_seqnum + 1;
    int n = b->hdr.meta_column_count;
    if (pos < n && b->cols[pos].type == MO_T_ROWID)
        out->phys_addr = pos++;
    if (pos < n && b->cols[pos].type == MO_T_TS)
        out->commit_ts = pos++;
    else
        return;
    if (out->phys_addr < 0 && pos < n && b->cols[pos].type == MO_T_ROWID)
        out->phys_addr = pos++;
    if (pos < n && b->cols[pos].type == MO_T_BOOL)
        out->abort = pos;
}
