/* The object verifier (spec §9). Levels nest: frame (CRC-32C of every DISK block) ⊂ struct
 * (header, footer, meta, exact tiling of chunks and BF/ZM areas, block/row rules) ⊂ deep
 * (every chunk decompressed and parsed, zone maps recomputed, PK values tested against
 * their block's filter, ObjectStats cross-checked, sort order when the stats say sorted).
 * Problems are reported one by one with file, offset, slot, block, seqnum and field; a
 * structural problem stops the levels that depend on it, a per-chunk problem does not. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mo/hash.h"
#include "mo/sys.h"
#include "obj_int.h"

typedef struct vctx {
    mo_obj_reader *r;
    const mo_obj_verify_opts *opts;
    mo_obj_verify_result *res;
    mo_obj_problem_cb cb;
    void *payload;
    const char *name;
    unsigned max_problems;
    bool aborted;
    mo_buf scratch;
    mo_buf bf0;      /* slot-0 BF area index: (offset, length) per filter, when it is sound */
    uint16_t bf_ver; /* its IOEntry version */
    uint64_t bf_off; /* its file offset */
    mo_buf bfblk;    /* the current block's filter bytes (deep level) */
    mo_obj_filter flt; /* ... parsed once per block */
    int flt_rc;        /* ... or why it does not parse */
    mo_err flt_err;
    int *pos2seq;    /* slot-0 block 0: position -> seqnum */
    bool tombstone;
} vctx;

static int report(vctx *v, int code, uint64_t off, bool in_meta, int slot, int64_t block,
                  int seqnum, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

static int report(vctx *v, int code, uint64_t off, bool in_meta, int slot, int64_t block,
                  int seqnum, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v->res->problems++;
    if (v->res->first_code == MO_OK)
        v->res->first_code = code;
    if (v->res->problems > v->max_problems) {
        v->aborted = true;
        return code;
    }
    if (v->cb) {
        mo_obj_problem p = {code, v->name, off, in_meta, slot, block, seqnum, field, msg};
        if (v->cb(&p, v->payload) != 0) {
            v->aborted = true;
            return MO_EUSER;
        }
    }
    return code;
}

/* Reports the failure a library call left in @p err, tagging the spot. */
static int report_err(vctx *v, int rc, const mo_err *err, uint64_t off, int slot, int64_t block,
                      int seqnum, const char *field)
{
    if (rc == MO_ENOMEM || rc == MO_EIO)
        return rc; /* environment, not data */
    return report(v, rc, off, false, slot, block, seqnum, field, "%s", err->msg);
}

/* ---------------- frame level ---------------- */

static int verify_frames(vctx *v, int fd, uint64_t phys)
{
    enum { BUF = 512 * MO_OBJ_FRAME_BLOCK };
    uint8_t *buf = mo_malloc(BUF);
    if (!buf)
        return MO_ENOMEM;
    int rc = MO_OK;
    mo_err e;
    for (uint64_t off = 0; off < phys && !v->aborted;) {
        size_t n = phys - off < BUF ? (size_t)(phys - off) : BUF;
        if ((rc = mo_sys_pread_full(fd, buf, n, off, v->name, &e)) < 0) {
            rc = report_err(v, rc, &e, off, -1, -1, -1, "frame");
            break;
        }
        for (size_t p = 0; p < n; p += MO_OBJ_FRAME_BLOCK) {
            size_t bl = n - p < MO_OBJ_FRAME_BLOCK ? n - p : MO_OBJ_FRAME_BLOCK;
            uint64_t blk = (off + p) / MO_OBJ_FRAME_BLOCK;
            if (bl <= 4) {
                report(v, MO_ECORRUPT, off + p, false, -1, -1, -1, "frame.size",
                       "framed block %llu at physical offset %llu has %zu bytes, no content",
                       (unsigned long long)blk, (unsigned long long)(off + p), bl);
                continue;
            }
            uint32_t want = mo_load_le32(buf + p), got = mo_crc32c(0, buf + p + 4, bl - 4);
            if (want != got)
                report(v, MO_ECHECKSUM, blk * MO_OBJ_FRAME_CONTENT, false, -1, -1, -1,
                       "frame.crc32c",
                       "block %llu (physical offset %llu): crc32c %08x, stored %08x",
                       (unsigned long long)blk, (unsigned long long)(off + p), got, want);
        }
        off += n;
    }
    mo_free(buf);
    return rc == MO_ENOMEM || rc == MO_EIO ? rc : MO_OK;
}

/* ---------------- struct level ---------------- */

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int check_header_footer(vctx *v)
{
    const uint8_t *h = mo_obj__reader_header(v->r);
    for (int i = 27; i < 64; i++)
        if (h[i]) {
            report(v, MO_ECORRUPT, (uint64_t)i, false, -1, -1, -1, "header.reserved",
                   "header byte %d is 0x%02x, want 0", i, h[i]);
            break;
        }
    mo_obj_extent me = mo_obj_reader_meta_extent(v->r);
    if (me.alg != MO_OBJ_ALG_LZ4)
        report(v, MO_ECORRUPT, 10, false, -1, -1, -1, "header.metaExtent.alg",
               "meta extent alg %u, want 1 (LZ4)", me.alg);
    uint8_t f[MO_OBJ_FOOTER_LEN];
    mo_err e;
    uint64_t foff = mo_obj_reader_size(v->r) - MO_OBJ_FOOTER_LEN;
    int rc = mo_obj_reader_read(v->r, f, sizeof(f), foff, &e);
    if (rc < 0)
        return report_err(v, rc, &e, foff, -1, -1, -1, "footer");
    for (int i = 0; i < 48; i++)
        if (f[i]) {
            report(v, MO_ECORRUPT, foff + (uint64_t)i, false, -1, -1, -1, "footer.zero",
                   "footer byte %d is 0x%02x, want 0", i, f[i]);
            break;
        }
    uint64_t tail = mo_load_le64(f + 56);
    if (tail != 13 && tail != 0)
        report(v, MO_ECORRUPT, foff + 56, false, -1, -1, -1, "footer.extentLen",
               "footer [56,64) holds %llu, want 13 (or 0)", (unsigned long long)tail);
    return MO_OK;
}

/* position -> seqnum map of one block; reports duplicates/out-of-range idx. */
static int block_positions(vctx *v, const mo_obj_blockmeta *bm, int slot, uint32_t b, int *map)
{
    uint16_t cc = bm->hdr.column_count;
    for (uint16_t i = 0; i < cc; i++)
        map[i] = -1;
    unsigned present = 0;
    for (uint16_t s = 0; s < bm->hdr.meta_column_count; s++) {
        const mo_obj_colmeta *c = &bm->cols[s];
        if (!c->type)
            continue;
        present++;
        if (c->idx >= cc || map[c->idx] >= 0)
            return report(v, MO_ECORRUPT, bm->meta_offset + 179 + 124u * s + 1, true, slot, b, s,
                          "ColumnMeta.idx", "position %u out of range or used twice (ColumnCount %u)",
                          c->idx, cc);
        map[c->idx] = s;
    }
    if (present != cc)
        return report(v, MO_ECORRUPT, bm->meta_offset + 40, true, slot, b, -1, "ColumnCount",
                      "ColumnCount %u but %u columns present", cc, present);
    return MO_OK;
}

static int check_layout(vctx *v, const mo_obj_meta *m, uint64_t *origin_out)
{
    uint64_t expect = MO_OBJ_HEADER_LEN, origin = MO_OBJ_HEADER_LEN + MO_OBJ_FOOTER_LEN;
    int rc = MO_OK;
    int map[4096];
    for (uint32_t s = 0; s < m->slot_count; s++) {
        const mo_obj_slotmeta *sl = &m->slots[s];
        uint16_t maxcols = 0;
        for (uint32_t b = 0; b < sl->block_count; b++)
            if (sl->blocks[b].hdr.column_count > maxcols)
                maxcols = sl->blocks[b].hdr.column_count;
        if (maxcols > 4096)
            return report(v, MO_ECORRUPT, sl->blob_offset + 40, true, (int)s, -1, -1,
                          "ColumnCount", "%u columns (at most 4096 supported)", maxcols);
        for (uint16_t pos = 0; pos < maxcols; pos++) {
            uint64_t col_start = expect, clen = 0, corigin = 0;
            int seq0 = -1;
            for (uint32_t b = 0; b < sl->block_count; b++) {
                const mo_obj_blockmeta *bm = &sl->blocks[b];
                if (pos >= bm->hdr.column_count)
                    continue;
                if ((rc = block_positions(v, bm, (int)s, b, map)) < 0)
                    return rc;
                int seq = map[pos];
                const mo_obj_extent *e = &bm->cols[seq].extent;
                if (e->offset != expect)
                    return report(v, MO_ECORRUPT, e->offset, false, (int)s, b, seq,
                                  "ColumnMeta.extent.offset",
                                  "chunk at %u, want %llu (chunks must tile column-major)",
                                  e->offset, (unsigned long long)expect);
                if (e->alg == MO_OBJ_ALG_NONE || e->length == 0)
                    return report(v, MO_ECORRUPT, e->offset, false, (int)s, b, seq,
                                  "ColumnMeta.extent", "chunk alg %u length %u", e->alg, e->length);
                if (seq0 < 0)
                    seq0 = seq;
                expect += e->length;
                clen += e->length;
                corigin += e->origin_size;
            }
            origin += corigin;
            /* object-level column extent: span of the column's chunks (when written) */
            if (seq0 >= 0 && seq0 < sl->hdr.meta_column_count) {
                const mo_obj_colmeta *oc = &sl->cols[seq0];
                bool written = oc->extent.offset || oc->extent.length;
                if (written && (oc->extent.offset != col_start || oc->extent.length != clen ||
                                oc->extent.origin_size != corigin))
                    report(v, MO_ECORRUPT, sl->blob_offset + 179 + 124u * seq0 + 11, true, (int)s,
                           -1, seq0, "object ColumnMeta.extent",
                           "object column extent %u/%u/%u, chunks span %llu/%llu/%llu",
                           oc->extent.offset, oc->extent.length, oc->extent.origin_size,
                           (unsigned long long)col_start, (unsigned long long)clen,
                           (unsigned long long)corigin);
            }
        }
    }
    for (uint32_t s = 0; s < m->slot_count; s++) {
        const mo_obj_slotmeta *sl = &m->slots[s];
        const mo_obj_extent *bf = &sl->hdr.bf_extent, *zm = &sl->hdr.zm_area;
        if (bf->offset != expect || bf->alg != MO_OBJ_ALG_NONE || bf->length != bf->origin_size)
            return report(v, MO_ECORRUPT, bf->offset, false, (int)s, -1, -1, "BFExtent",
                          "slot %u BF area %u_%u_%u_%u, want raw at %llu", s, bf->alg, bf->offset,
                          bf->length, bf->origin_size, (unsigned long long)expect);
        expect += bf->length;
        if (zm->offset != expect || zm->length == 0)
            return report(v, MO_ECORRUPT, zm->offset, false, (int)s, -1, -1, "ZoneMapArea",
                          "slot %u ZM area at %u length %u, want at %llu", s, zm->offset,
                          zm->length, (unsigned long long)expect);
        expect += zm->length;
        origin += bf->origin_size + zm->origin_size;
    }
    mo_obj_extent me = mo_obj_reader_meta_extent(v->r);
    if (expect != me.offset)
        return report(v, MO_ECORRUPT, expect, false, -1, -1, -1, "layout",
                      "BF/ZM areas end at %llu but the meta starts at %u",
                      (unsigned long long)expect, me.offset);
    *origin_out = origin + me.origin_size;
    return MO_OK;
}

static int check_areas(vctx *v, const mo_obj_meta *m)
{
    mo_err e;
    int rc;
    for (uint32_t s = 0; s < m->slot_count && !v->aborted; s++) {
        const mo_obj_slotmeta *sl = &m->slots[s];
        /* BF area: only its IOEntry header and index here (check_layout made it raw and
         * inside the object); the deep level reads one block's filter at a time, so memory
         * does not grow with the object */
        const mo_obj_extent *bx = &sl->hdr.bf_extent;
        size_t n = bx->length;
        uint8_t hdr[8];
        if (n >= 8 && (rc = mo_obj_reader_read(v->r, hdr, sizeof(hdr), bx->offset, &e)) < 0) {
            if ((rc = report_err(v, rc, &e, bx->offset, (int)s, -1, -1, "BF area")) == MO_ENOMEM ||
                rc == MO_EIO)
                return rc;
            continue;
        }
        uint32_t want = sl->block_count + 1;
        if (n < 8 || mo_load_le16(hdr) != MO_OBJ_IOET_BF ||
            (mo_load_le16(hdr + 2) != 1 && mo_load_le16(hdr + 2) != 2)) {
            report(v, MO_ECORRUPT, bx->offset, false, (int)s, -1, -1, "BF area.IOEntry",
                   "BF area does not start with IOEntry {3,1|2}");
            continue;
        }
        uint32_t cnt = mo_load_le32(hdr + 4);
        if (cnt != want || (n - 8) / 8 < cnt) {
            report(v, MO_ECORRUPT, bx->offset + 4, false, (int)s, -1, -1, "BF area.count",
                   "BF area count %u, want blocks+1 = %u", cnt, want);
            continue;
        }
        v->scratch.len = 0;
        if (mo_buf_reserve(&v->scratch, 8 * (size_t)cnt) < 0)
            return MO_ENOMEM;
        if ((rc = mo_obj_reader_read(v->r, v->scratch.ptr, 8 * (size_t)cnt, bx->offset + 8, &e)) <
            0) {
            if ((rc = report_err(v, rc, &e, bx->offset, (int)s, -1, -1, "BF area")) == MO_ENOMEM ||
                rc == MO_EIO)
                return rc;
            continue;
        }
        const uint8_t *ix = v->scratch.ptr;
        uint64_t expect = 4 + 8ull * cnt;
        bool ok = true;
        for (uint32_t i = 0; i < cnt && ok; i++) {
            uint32_t fo = mo_load_le32(ix + 8 * (size_t)i), fl = mo_load_le32(ix + 4 + 8 * (size_t)i);
            if (fo != expect || (uint64_t)fo + fl > n - 4) {
                report(v, MO_ECORRUPT, bx->offset + 8 + 8ull * i, false, (int)s, i, -1,
                       "BF area.entry", "filter %u at %u+%u, want contiguous at %llu within %zu",
                       i, fo, fl, (unsigned long long)expect, n - 4);
                ok = false;
            }
            expect += fl;
        }
        if (ok && expect != n - 4)
            report(v, MO_ECORRUPT, bx->offset, false, (int)s, -1, -1, "BF area.length",
                   "BF area holds %zu bytes after its index, filters cover %llu", n - 4,
                   (unsigned long long)expect);
        if (s == 0 && ok) {
            v->bf0.len = 0;
            if (mo_buf_put(&v->bf0, ix, 8 * (size_t)cnt) < 0)
                return MO_ENOMEM;
            v->bf_ver = mo_load_le16(hdr + 2);
            v->bf_off = bx->offset;
        }
        /* ZM area */
        const mo_obj_extent *zx = &sl->hdr.zm_area;
        if ((rc = mo_obj__read_extent(v->r, &v->scratch, zx, &e)) < 0) {
            if ((rc = report_err(v, rc, &e, zx->offset, (int)s, -1, -1, "ZM area")) == MO_ENOMEM ||
                rc == MO_EIO)
                return rc;
            continue;
        }
        const uint8_t *p = v->scratch.ptr;
        n = v->scratch.len;
        if (n < 8 || mo_load_le16(p) != MO_OBJ_IOET_ZM || mo_load_le16(p + 2) != 1 ||
            mo_load_le32(p + 4) != sl->block_count || (n - 8) / 8 < sl->block_count) {
            report(v, MO_ECORRUPT, zx->offset, false, (int)s, -1, -1, "ZM area.header",
                   "ZM area header/count wrong (want IOEntry {4,1}, count %u)", sl->block_count);
            continue;
        }
        expect = 4 + 8ull * sl->block_count;
        for (uint32_t b = 0; b < sl->block_count; b++) {
            const mo_obj_blockmeta *bm = &sl->blocks[b];
            uint32_t zo = mo_load_le32(p + 8 + 8 * (size_t)b), zl = mo_load_le32(p + 12 + 8 * (size_t)b);
            if (zo != expect || zl != 64u * bm->hdr.meta_column_count || (uint64_t)zo + zl > n - 4) {
                report(v, MO_ECORRUPT, zx->offset, false, (int)s, b, -1, "ZM area.entry",
                       "block %u ZMs at %u+%u, want %llu+%u", b, zo, zl,
                       (unsigned long long)expect, 64u * bm->hdr.meta_column_count);
                break;
            }
            for (uint16_t q = 0; q < bm->hdr.meta_column_count; q++)
                if (memcmp(p + 4 + zo + 64u * q, bm->cols[q].zm.b, 64)) {
                    report(v, MO_ECORRUPT, zx->offset, false, (int)s, b, q, "ZM area.zonemap",
                           "ZM area copy differs from the meta's block zone map");
                    break;
                }
            expect += zl;
        }
        if (expect != n - 4)
            report(v, MO_ECORRUPT, zx->offset, false, (int)s, -1, -1, "ZM area.length",
                   "ZM area has %zu bytes after its index, entries cover %llu", n - 4,
                   (unsigned long long)expect);
    }
    return MO_OK;
}

static int check_blocks(vctx *v, const mo_obj_meta *m)
{
    const mo_obj_slotmeta *sl = &m->slots[0];
    uint64_t rows = 0;
    for (uint32_t b = 0; b < sl->block_count; b++) {
        const mo_obj_blockmeta *bm = &sl->blocks[b];
        if (bm->hdr.sequence != b)
            report(v, MO_ECORRUPT, bm->meta_offset + 34, true, 0, b, -1, "BlockHeader.Sequence",
                   "block %u has Sequence %u", b, bm->hdr.sequence);
        bool last = b + 1 == sl->block_count;
        if (bm->hdr.rows == 0 || bm->hdr.rows > MO_OBJ_BLOCK_MAX_ROWS ||
            (!last && bm->hdr.rows != MO_OBJ_BLOCK_MAX_ROWS))
            report(v, MO_ECORRUPT, bm->meta_offset + 36, true, 0, b, -1, "BlockHeader.rows",
                   "block %u has %u rows; every block but the last must have 8192", b,
                   bm->hdr.rows);
        if (bm->hdr.bf_type == MO_OBJ_BF_HYBRID)
            v->tombstone = true;
        rows += bm->hdr.rows;
    }
    v->res->rows = rows;
    v->res->blocks = sl->block_count;
    if (sl->block_count)
        v->res->columns = sl->blocks[0].hdr.column_count;
    if (sl->hdr.rows && sl->hdr.rows != rows)
        report(v, MO_ECORRUPT, sl->blob_offset + 36, true, 0, -1, -1, "rows",
               "object header says %u rows, blocks hold %llu", sl->hdr.rows,
               (unsigned long long)rows);
    return MO_OK;
}

static void check_stats(vctx *v, const mo_obj_meta *m, uint64_t origin)
{
    const mo_obj_stats *st = v->opts->stats;
    const mo_obj_slotmeta *sl = &m->slots[0];
    const char *base = strrchr(v->name, '/');
    base = base ? base + 1 : v->name;
    char nm[43];
    mo_obj_name_format(nm, &st->id);
    if (mo_obj_name_valid(base) && strcmp(base, nm))
        report(v, MO_ECORRUPT, 0, false, -1, -1, -1, "ObjectStats.name",
               "ObjectStats name %s != file name %s", nm, base);
    mo_obj_extent me = mo_obj_reader_meta_extent(v->r);
    if ((me.alg != st->extent.alg || me.offset != st->extent.offset ||
         me.length != st->extent.length || me.origin_size != st->extent.origin_size))
        report(v, MO_ECORRUPT, 10, false, -1, -1, -1, "ObjectStats.extent",
               "ObjectStats extent %u_%u_%u_%u != header %u_%u_%u_%u", st->extent.alg,
               st->extent.offset, st->extent.length, st->extent.origin_size, me.alg, me.offset,
               me.length, me.origin_size);
    if (st->rows != v->res->rows)
        report(v, MO_ECORRUPT, 0, false, -1, -1, -1, "ObjectStats.rows",
               "ObjectStats rows %u, blocks hold %llu", st->rows, (unsigned long long)v->res->rows);
    if (st->block_count != m->data_meta_count)
        report(v, MO_ECORRUPT, 0, false, -1, -1, -1, "ObjectStats.blkCnt",
               "ObjectStats block count %u, DataMetaCount %u", st->block_count, m->data_meta_count);
    if (st->size != mo_obj_reader_size(v->r))
        report(v, MO_ECORRUPT, 0, false, -1, -1, -1, "ObjectStats.size",
               "ObjectStats size %u, logical size %llu", st->size,
               (unsigned long long)mo_obj_reader_size(v->r));
    if (st->origin_size != origin)
        report(v, MO_ECORRUPT, 0, false, -1, -1, -1, "ObjectStats.originSize",
               "ObjectStats origin size %u, computed %llu", st->origin_size,
               (unsigned long long)origin);
    /* sort-key ZM: the object ZM of the column at *position* SortKey (MO's quirk, §6) */
    uint8_t want[64] = {0};
    uint16_t sk = sl->hdr.sort_key;
    if (sl->block_count && sk < sl->hdr.column_count && v->pos2seq && v->pos2seq[sk] >= 0)
        memcpy(want, sl->cols[v->pos2seq[sk]].zm.b, 64);
    if (memcmp(want, st->sort_key_zm, 64)) {
        mo_obj_zm a, b;
        memcpy(a.b, want, 64);
        memcpy(b.b, st->sort_key_zm, 64);
        if (!mo_obj_zm_equal(&a, &b))
            report(v, MO_ECORRUPT, 0, false, -1, -1, sk == 0xFFFF ? -1 : sk,
                   "ObjectStats.sortKeyZM", "ObjectStats sort-key zone map differs from the object's");
    }
    mo_obj_special sp;
    mo_obj_meta_special(&sp, m);
    if ((st->flags & MO_OBJ_STATS_APPENDABLE) && !sl->hdr.appendable)
        report(v, MO_ECORRUPT, 0, false, -1, -1, -1, "ObjectStats.flags",
               "ObjectStats says appendable, the object header does not");
    if ((st->flags & MO_OBJ_STATS_CNCREATED) && !v->tombstone && sp.commit_ts >= 0 &&
        sl->hdr.appendable)
        report(v, MO_ECORRUPT, 0, false, -1, -1, -1, "ObjectStats.flags",
               "ObjectStats says CN-created, but the object is appendable with commit-ts");
}

/* ---------------- deep level ---------------- */

/*
 * Reads block b's filter (its slot-0 BF area index entry says where) into v->bfblk and
 * parses it once into v->flt (a parse failure is kept in flt_rc/flt_err and reported by the
 * first column checked against it). *len = 0 when the block has no filter.
 */
static int bf_block_filter(vctx *v, uint32_t b, uint8_t type, uint32_t *len)
{
    const uint8_t *ix = v->bf0.ptr + 8 * (size_t)b;
    const uint32_t fo = mo_load_le32(ix), fl = mo_load_le32(ix + 4);
    *len = 0;
    if (!fl)
        return MO_OK;
    v->bfblk.len = 0;
    if (mo_buf_reserve(&v->bfblk, fl) < 0)
        return MO_ENOMEM;
    mo_err e;
    const uint64_t off = v->bf_off + 4 + fo;
    int rc = mo_obj_reader_read(v->r, v->bfblk.ptr, fl, off, &e);
    if (rc < 0) {
        rc = report_err(v, rc, &e, off, 0, b, -1, "bloom filter");
        return rc == MO_ENOMEM || rc == MO_EIO ? rc : MO_OK;
    }
    v->bfblk.len = fl;
    *len = fl;
    v->flt_rc = mo_obj_filter_parse(&v->flt, type, v->bfblk.ptr, fl, &v->flt_err);
    return MO_OK;
}

/* Every row's value of column seqnum in block b against the block's (parsed) filter. */
static int bf_check_column(vctx *v, const mo_obj_vec *vec, uint32_t b, int seq, uint32_t limit,
                           bool quiet)
{
    const uint32_t n = vec->length < limit ? vec->length : limit;
    const bool vl = mo_obj_type_is_varlena(vec->type.oid);
    const bool cst = vec->cls == MO_OBJ_VEC_CONST;
    const bool cnull = cst && mo_obj_vec_is_const_null(vec);
    const size_t size = vec->type.size > 0 ? (size_t)vec->type.size : 0;
    const uint8_t *nw = vec->null_words;
    if (n && v->flt_rc >= 0 && v->flt.type == MO_OBJ_BF_PLAIN && !vl && !cst && size) {
        /* fixed-width view: every row's key is its slot, NULL or not (as below); one batched
         * loop over the value array */
        const size_t miss = mo_obj_bfuse_first_miss(&v->flt.full, vec->data, size, n);
        v->res->bf_keys_checked += miss < n ? miss + 1 : n;
        if (miss == n)
            return MO_OK;
        return quiet ? MO_ECORRUPT
                     : report(v, MO_ECORRUPT, 0, false, 0, b, seq, "bloom filter",
                              "row %u's key is not in block %u's filter (false negative)",
                              (uint32_t)miss, b);
    }
    for (uint32_t r = 0; r < n; r++) {
        const uint8_t *p = NULL;
        uint32_t len = 0;
        /* mo_obj_vec_is_null / _value, inline */
        const bool isnull = cst ? cnull
                                : nw && r < vec->null_bits && (r >> 3) < vec->null_words_bytes &&
                                      ((nw[r >> 3] >> (r & 7)) & 1);
        if (isnull) {
            static const uint8_t zero_slot[32];
            if (vl)
                p = (const uint8_t *)"", len = 0;
            else if (cnull && vec->data_len == 0) /* const NULL without data: no slot bytes */
                p = zero_slot, len = size <= sizeof(zero_slot) ? (uint32_t)size : 0;
            else
                p = mo_obj_vec_slot(vec, r), len = (uint32_t)vec->type.size;
            if (!p)
                continue;
        } else {
            const uint8_t *slot = cst ? vec->data : vec->data + (size_t)r * size;
            if (!vl) {
                p = slot;
                len = (uint32_t)vec->type.size;
            } else if (slot[0] <= 23) {
                p = slot + 1;
                len = slot[0];
            } else {
                len = mo_load_le32(slot + 8);
                p = vec->area + mo_load_le32(slot + 4);
            }
        }
        bool present;
        mo_err e;
        int rc = v->flt_rc;
        if (rc < 0)
            return quiet ? rc
                         : report(v, rc, 0, false, 0, b, seq, "bloom filter", "%s", v->flt_err.msg);
        if ((rc = mo_obj_filter_contains(&v->flt, p, len, &present, &e)) < 0)
            return quiet ? rc : report(v, rc, 0, false, 0, b, seq, "bloom filter", "%s", e.msg);
        v->res->bf_keys_checked++;
        if (!present)
            return quiet ? MO_ECORRUPT
                         : report(v, MO_ECORRUPT, 0, false, 0, b, seq, "bloom filter",
                                  "row %u's key is not in block %u's filter (false negative)", r, b);
    }
    return MO_OK;
}

static int verify_deep(vctx *v, const mo_obj_meta *m, bool sorted)
{
    const mo_obj_slotmeta *sl = &m->slots[0];
    int rc = MO_OK;
    mo_err e;
    mo_obj_vec_fault fault;
    int pk = v->opts->pk_seqnum;
    bool pk_decided = pk >= 0;
    int weak_pk = -1; /* a fallback PK candidate (see below) */
    mo_obj_zm *objzm = NULL;
    uint64_t *objnulls = NULL;
    uint8_t *seen = NULL;
    mo_buf prev = MO_BUF_INIT; /* last sort-key value for the order check */
    bool have_prev = false;
    uint16_t mcc = sl->hdr.meta_column_count;
    objzm = mo_calloc(mcc ? mcc : 1, sizeof(*objzm));
    objnulls = mo_calloc(mcc ? mcc : 1, sizeof(*objnulls));
    seen = mo_calloc(mcc ? mcc : 1, 1);
    if (!objzm || !objnulls || !seen) {
        rc = MO_ENOMEM;
        goto out;
    }
    int sort_seq = v->tombstone ? 0 : sl->hdr.sort_key;
    for (uint32_t b = 0; b < sl->block_count && !v->aborted; b++) {
        const mo_obj_blockmeta *bm = &sl->blocks[b];
        uint32_t flen = 0;
        /* a row count out of range was reported by the struct pass; its chunks could claim
         * 2^32 constant rows, so their content is not walked */
        if (bm->hdr.rows == 0 || bm->hdr.rows > MO_OBJ_BLOCK_MAX_ROWS)
            continue;
        /* v1 filters may have false negatives: not checked, so not read */
        if (v->bf0.len && v->bf_ver >= 2 &&
            (rc = bf_block_filter(v, b, bm->hdr.bf_type, &flen)) < 0)
            goto out;
        bool check_bf = flen != 0;
        for (uint16_t s = 0; s < bm->hdr.meta_column_count && !v->aborted; s++) {
            const mo_obj_colmeta *cm = &bm->cols[s];
            if (!cm->type)
                continue;
            mo_obj_vec vec;
            memset(&fault, 0, sizeof(fault));
            rc = mo_obj_reader_column(v->r, &vec, &v->scratch, b, s, &fault, &e);
            v->res->chunks_checked++;
            if (rc < 0) {
                if (rc == MO_ENOMEM || rc == MO_EIO)
                    goto out;
                report(v, rc, cm->extent.offset, false, 0, b, s,
                       fault.field ? fault.field : "chunk", "%s", e.msg);
                rc = MO_OK;
                continue;
            }
            if (vec.type.oid != cm->type) {
                report(v, MO_ECORRUPT, cm->extent.offset, false, 0, b, s, "type.oid",
                       "chunk holds oid %u, ColumnMeta says %u", vec.type.oid, cm->type);
                continue;
            }
            if (vec.length != bm->hdr.rows) {
                report(v, MO_ECORRUPT, cm->extent.offset, false, 0, b, s, "length",
                       "chunk has %u rows, block header %u", vec.length, bm->hdr.rows);
                continue;
            }
            if ((uint64_t)vec.null_count != cm->null_count)
                report(v, MO_ECORRUPT, cm->extent.offset, false, 0, b, s, "nullCnt",
                       "bitmap count %lld, ColumnMeta null count %u", (long long)vec.null_count,
                       cm->null_count);
            uint8_t scale = cm->zm.b[62] & 0x3f;
            mo_obj_zm z;
            mo_obj_zm_from_vec(&z, &vec, scale, false);
            if (!mo_obj_zm_equal(&z, &cm->zm)) {
                mo_obj_zm z2;
                mo_obj_zm_from_vec(&z2, &vec, scale, true);
                if (vec.type.oid != MO_T_BOOL || !mo_obj_zm_equal(&z2, &cm->zm))
                    report(v, MO_ECORRUPT, cm->extent.offset, false, 0, b, s, "zonemap",
                           "stored block zone map differs from the recomputed one");
            }
            /* object-level expectations, merged as MO's writer does */
            bool hidden = !v->tombstone && (cm->type == MO_T_ROWID || cm->type == MO_T_TS);
            if (hidden) {
                if (mo_obj_zm_initialized(&cm->zm)) {
                    if (!seen[s])
                        objzm[s] = cm->zm;
                    else
                        mo_obj_zm_merge(&objzm[s], &cm->zm);
                    seen[s] = 1;
                }
            } else {
                if (!seen[s])
                    mo_obj_zm_init(&objzm[s], cm->type, scale);
                seen[s] = 1;
                mo_obj_zm_merge(&objzm[s], &cm->zm);
                objnulls[s] += cm->null_count;
            }
            /* sort order when the stats promise it */
            if (sorted && s == sort_seq) {
                for (uint32_t r = 0; r < vec.length; r++) {
                    if (mo_obj_vec_is_null(&vec, r))
                        continue;
                    const uint8_t *p;
                    uint32_t n;
                    mo_obj_vec_value(&vec, r, &p, &n);
                    if (have_prev && mo_obj_value_cmp(cm->type, prev.ptr, prev.len, p, n) > 0) {
                        report(v, MO_ECORRUPT, cm->extent.offset, false, 0, b, s, "sorted",
                               "row %u is smaller than its predecessor but ObjectStats says sorted",
                               r);
                        break;
                    }
                    prev.len = 0;
                    if (mo_buf_put(&prev, p, n) < 0) {
                        rc = MO_ENOMEM;
                        goto out;
                    }
                    have_prev = true;
                }
            }
            /* bloom filter: the PK column (or the rowid for tombstones) */
            if (check_bf) {
                uint8_t ft = bm->hdr.bf_type;
                if (ft == MO_OBJ_BF_HYBRID) {
                    if (s == 0)
                        bf_check_column(v, &vec, b, s, UINT32_MAX, false);
                } else if (!pk_decided) {
                    /* the object does not record its PK. A column whose NDV is the row count
                     * (MO's PK NDV) or the sort key decides at once; any other column whose
                     * values all pass is only a fallback, taken at the end of the block, and
                     * never a constant one: a constant value that happens to be a key (or a
                     * false positive) once passed and hid the real PK (found by the seed
                     * bench on a generated appendable object) */
                    bool strong = sl->cols[s].ndv == sl->hdr.rows || s == sl->hdr.sort_key;
                    if (bf_check_column(v, &vec, b, s, 64, true) == MO_OK) {
                        if (strong) {
                            pk = s;
                            pk_decided = true;
                            bf_check_column(v, &vec, b, s, UINT32_MAX, false);
                        } else if (weak_pk < 0 && sl->cols[s].ndv > 1 &&
                                   bf_check_column(v, &vec, b, s, UINT32_MAX, true) == MO_OK) {
                            weak_pk = s;
                        }
                    }
                } else if (s == pk) {
                    bf_check_column(v, &vec, b, s, UINT32_MAX, false);
                }
            }
        }
        if (!pk_decided && weak_pk >= 0) {
            pk = weak_pk;
            pk_decided = true;
        }
        if (check_bf && bm->hdr.bf_type != MO_OBJ_BF_HYBRID && !pk_decided)
            report(v, MO_ECORRUPT, sl->hdr.bf_extent.offset, false, 0, b, -1, "bloom filter",
                   "no column's values pass block %u's filter", b);
    }
    /* object-level column metas: merged ZMs (sum quirk tolerated) and null counts */
    for (uint16_t s = 0; s < mcc && !v->aborted; s++) {
        if (!seen[s])
            continue;
        const mo_obj_colmeta *oc = &sl->cols[s];
        if (all_zero(oc->zm.b, 64) && !oc->null_count && !oc->ndv)
            continue; /* special writers never fill object-level metas */
        mo_obj_zm want = objzm[s];
        if (mo_obj_zm_has_sum(oc->zm.b[63]))
            memcpy(want.b + 8, oc->zm.b + 8, 8);
        if (!mo_obj_zm_equal(&want, &oc->zm))
            report(v, MO_ECORRUPT, sl->blob_offset + 179 + 124u * s + 28, true, 0, -1, s,
                   "object zonemap", "object zone map is not the merge of the block zone maps");
        if (oc->null_count != objnulls[s])
            report(v, MO_ECORRUPT, sl->blob_offset + 179 + 124u * s + 7, true, 0, -1, s,
                   "object nullCnt", "object null count %u, blocks sum to %llu", oc->null_count,
                   (unsigned long long)objnulls[s]);
    }
    rc = MO_OK;
out:
    mo_free(objzm);
    mo_free(objnulls);
    mo_free(seen);
    mo_buf_dispose(&prev);
    return rc;
}

/* ---------------- driver ---------------- */

static int verify_reader(vctx *v)
{
    int rc = check_header_footer(v);
    if (rc < 0 || v->aborted)
        return rc;
    mo_obj_where w;
    mo_err e;
    rc = mo_obj_reader_load_meta(v->r, &w, &e);
    if (rc < 0) {
        if (rc == MO_ENOMEM || rc == MO_EIO)
            return rc;
        report(v, rc, w.offset, w.in_meta, w.slot, w.block, w.seqnum, w.field, "%s", e.msg);
        return MO_OK;
    }
    const mo_obj_meta *m = mo_obj_reader_meta(v->r);
    uint64_t origin = 0;
    if ((rc = check_layout(v, m, &origin)) < 0 || v->res->problems)
        return rc == MO_ENOMEM || rc == MO_EIO ? rc : MO_OK;
    if ((rc = check_blocks(v, m)) < 0 || (rc = check_areas(v, m)) < 0)
        return rc;
    const mo_obj_slotmeta *sl = &m->slots[0];
    int map[4096];
    if (sl->block_count && sl->blocks[0].hdr.column_count <= 4096 &&
        block_positions(v, &sl->blocks[0], 0, 0, map) == MO_OK)
        v->pos2seq = map;
    if (v->opts->stats)
        check_stats(v, m, origin);
    if (v->opts->level >= MO_OBJ_LEVEL_DEEP && !v->aborted) {
        bool sorted = v->opts->stats && (v->opts->stats->flags & MO_OBJ_STATS_SORTED);
        rc = verify_deep(v, m, sorted);
    }
    v->pos2seq = NULL;
    return rc;
}

static void vctx_init(vctx *v, mo_obj_verify_result *out, const char *name,
                      const mo_obj_verify_opts *opts, mo_obj_problem_cb cb, void *payload)
{
    memset(out, 0, sizeof(*out));
    memset(v, 0, sizeof(*v));
    v->opts = opts;
    v->res = out;
    v->cb = cb;
    v->payload = payload;
    v->name = name;
    v->max_problems = opts->max_problems ? opts->max_problems : 100;
}

static void vctx_dispose(vctx *v)
{
    mo_buf_dispose(&v->scratch);
    mo_buf_dispose(&v->bf0);
    mo_buf_dispose(&v->bfblk);
}

static int vctx_finish(vctx *v, int rc)
{
    vctx_dispose(v);
    if (rc < 0 && rc != MO_EUSER)
        return rc;
    if (v->aborted && rc == MO_EUSER)
        return MO_EUSER;
    return v->res->first_code;
}

/* Reports a failure to open (bad magic, truncated, version) as the object's problem. */
static int open_problem(vctx *v, int rc, const mo_err *e)
{
    if (rc == MO_ENOMEM || rc == MO_EIO || rc == MO_ENOTFOUND)
        return rc;
    uint64_t off = rc == MO_EVERSION ? 8 : 0;
    report(v, rc, off, false, -1, -1, -1, rc == MO_EVERSION ? "header.version" : "header", "%s",
           e->msg);
    return MO_OK;
}

int mo_obj_verify_file(mo_obj_verify_result *out, const char *path, const mo_obj_verify_opts *opts,
                       mo_obj_problem_cb cb, void *payload, mo_err *err)
{
    vctx v;
    vctx_init(&v, out, path, opts, cb, payload);
    int rc = MO_OK;
    int fd = mo_sys_open(path, O_RDONLY, 0);
    if (fd < 0)
        return mo_err_sys(err, MO_EIO, errno, "%s: open", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        mo_sys_close(fd);
        return mo_err_sys(err, MO_EIO, errno, "%s: stat", path);
    }
    out->physical_size = (uint64_t)st.st_size;
    uint8_t first[MO_OBJ_FRAME_BLOCK];
    size_t n = out->physical_size < sizeof(first) ? (size_t)out->physical_size : sizeof(first);
    if ((rc = mo_sys_pread_full(fd, first, n, 0, path, err)) < 0) {
        mo_sys_close(fd);
        return rc;
    }
    out->framed = mo_obj_frame_detect(first, n);
    if (out->framed)
        rc = verify_frames(&v, fd, out->physical_size);
    mo_sys_close(fd);
    if (rc < 0)
        return mo_err_set(err, rc, "%s: verifying frames", path);
    if (opts->level == MO_OBJ_LEVEL_FRAME || v.aborted)
        return vctx_finish(&v, MO_OK);
    mo_err e;
    rc = mo_obj_reader_open(&v.r, path, &e);
    if (rc < 0) {
        rc = open_problem(&v, rc, &e);
        if (rc < 0) {
            if (err)
                *err = e;
            return rc;
        }
        return vctx_finish(&v, MO_OK);
    }
    out->logical_size = mo_obj_reader_size(v.r);
    /* CRC problems already reported: struct checks on damaged bytes would only add noise */
    if (!v.res->problems)
        rc = verify_reader(&v);
    mo_obj_reader_free(v.r);
    if (rc < 0 && rc != MO_EUSER) {
        vctx_dispose(&v);
        return mo_err_set(err, rc, "%s: %s", path, mo_strerror(rc));
    }
    return vctx_finish(&v, rc);
}

int mo_obj_verify_mem(mo_obj_verify_result *out, const void *p, size_t n, const char *name,
                      const mo_obj_verify_opts *opts, mo_obj_problem_cb cb, void *payload,
                      mo_err *err)
{
    vctx v;
    vctx_init(&v, out, name, opts, cb, payload);
    out->physical_size = n;
    mo_buf logical = MO_BUF_INIT;
    const uint8_t *lp = p;
    size_t ln = n;
    int rc = MO_OK;
    mo_err e;
    if (mo_obj_frame_detect(p, n)) {
        out->framed = true;
        mo_obj_deframer d;
        mo_obj_deframer_init(&d);
        rc = mo_obj_deframer_feed(&d, &logical, p, n, &e);
        if (rc == MO_OK)
            rc = mo_obj_deframer_finish(&d, &logical, &e);
        if (rc < 0) {
            mo_buf_dispose(&logical);
            if (rc == MO_ENOMEM)
                return mo_err_set(err, rc, "%s: deframing", name);
            report(&v, rc, 0, false, -1, -1, -1, "frame.crc32c", "%s", e.msg);
            return vctx_finish(&v, MO_OK);
        }
        lp = logical.ptr;
        ln = logical.len;
    }
    if (opts->level > MO_OBJ_LEVEL_FRAME) {
        rc = mo_obj_reader_open_mem(&v.r, lp, ln, name, &e);
        if (rc < 0) {
            rc = open_problem(&v, rc, &e);
        } else {
            out->logical_size = ln;
            rc = verify_reader(&v);
            mo_obj_reader_free(v.r);
        }
    }
    mo_buf_dispose(&logical);
    if (rc < 0 && rc != MO_EUSER) {
        vctx_dispose(&v);
        return mo_err_set(err, rc, "%s: %s", name, mo_strerror(rc));
    }
    return vctx_finish(&v, rc);
}

/* ---------------- push-fed ---------------- */

struct mo_obj_dec {
    char *name;
    mo_obj_verify_opts opts;
    mo_buf raw; /* everything fed; verified at finish */
};

int mo_obj_dec_new(mo_obj_dec **out, const char *name, const mo_obj_verify_opts *opts)
{
    *out = NULL;
    mo_obj_dec *d = mo_calloc(1, sizeof(*d));
    if (!d)
        return MO_ENOMEM;
    d->name = mo_strdup(name ? name : "<stream>");
    if (!d->name) {
        mo_free(d);
        return MO_ENOMEM;
    }
    d->opts = *opts;
    *out = d;
    return MO_OK;
}

int mo_obj_dec_feed(mo_obj_dec *d, const void *p, size_t n, mo_err *err)
{
    if (mo_buf_put(&d->raw, p, n) < 0)
        return mo_err_set(err, MO_ENOMEM, "%s: buffering %zu bytes", d->name, n);
    return MO_OK;
}

int mo_obj_dec_finish(mo_obj_dec *d, mo_obj_verify_result *out, mo_obj_problem_cb cb,
                      void *payload, mo_err *err)
{
    return mo_obj_verify_mem(out, d->raw.ptr ? d->raw.ptr : (const uint8_t *)"", d->raw.len,
                             d->name, &d->opts, cb, payload, err);
}

void mo_obj_dec_free(mo_obj_dec *d)
{
    if (!d)
        return;
    mo_buf_dispose(&d->raw);
    mo_free(d->name);
    mo_free(d);
}
