/* Random-access object reader over a file (raw or DISK-framed, detected per file) or a
 * memory buffer. Memory stays bounded by the meta plus one column chunk at a time, so a
 * 3 GiB object is verified with the same footprint as a small one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "mo/objfmt.h"
#include "mo/sys.h"
#include "obj_int.h"

struct mo_obj_reader {
    char *name;
    int fd; /* -1 for memory readers */
    const uint8_t *mem;
    bool framed;
    uint64_t phys_size;
    uint64_t size;
    uint8_t header[MO_OBJ_HEADER_LEN];
    mo_obj_extent meta_extent;
    uint32_t schema_version;
    bool meta_loaded;
    mo_obj_meta meta;
    mo_buf zbuf; /* compressed chunk scratch */
};

static int reader_header(mo_obj_reader *r, mo_err *err)
{
    if (r->size < MO_OBJ_HEADER_LEN + MO_OBJ_FOOTER_LEN)
        return mo_err_set(err, MO_ETRUNCATED,
                          "%s: %llu logical bytes, an object needs at least 128 (header+footer)",
                          r->name, (unsigned long long)r->size);
    int rc = mo_obj_reader_read(r, r->header, MO_OBJ_HEADER_LEN, 0, err);
    if (rc < 0)
        return rc;
    if (mo_load_le64(r->header) != MO_OBJ_MAGIC)
        return mo_err_set(err, MO_ECORRUPT, "%s: offset 0: bad header magic %016llx", r->name,
                          (unsigned long long)mo_load_le64(r->header));
    uint16_t ver = mo_load_le16(r->header + 8);
    if (ver != MO_OBJ_VERSION)
        return mo_err_set(err, MO_EVERSION, "%s: offset 8: header version %u (known: 1)", r->name,
                          ver);
    mo_obj_extent_decode(&r->meta_extent, r->header + 10);
    r->schema_version = mo_load_le32(r->header + 23);
    return MO_OK;
}

static int reader_new(mo_obj_reader **out, const char *name)
{
    mo_obj_reader *r = mo_calloc(1, sizeof(*r));
    if (!r)
        return MO_ENOMEM;
    r->fd = -1;
    r->name = mo_strdup(name ? name : "<memory>");
    if (!r->name) {
        mo_free(r);
        return MO_ENOMEM;
    }
    *out = r;
    return MO_OK;
}

int mo_obj_reader_open(mo_obj_reader **out, const char *path, mo_err *err)
{
    *out = NULL;
    mo_obj_reader *r;
    if (reader_new(&r, path) < 0)
        return mo_err_set(err, MO_ENOMEM, "%s: reader", path);
    int rc = MO_OK;
    r->fd = mo_sys_open(path, O_RDONLY, 0);
    if (r->fd < 0) {
        rc = mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s: open", path);
        goto fail;
    }
    struct stat st;
    if (fstat(r->fd, &st) < 0) {
        rc = mo_err_sys(err, MO_EIO, errno, "%s: stat", path);
        goto fail;
    }
    r->phys_size = (uint64_t)st.st_size;
    uint8_t first[MO_OBJ_FRAME_BLOCK];
    size_t n = r->phys_size < sizeof(first) ? (size_t)r->phys_size : sizeof(first);
    if ((rc = mo_sys_pread_full(r->fd, first, n, 0, path, err)) < 0)
        goto fail;
    /* A raw object starts with the magic FF FF FF FF 00 00 00 00; a framed one with a CRC. */
    r->framed = mo_obj_frame_detect(first, n);
    if (r->framed) {
        if ((rc = mo_obj_frame_logical_size(&r->size, r->phys_size, err)) < 0) {
            mo_err_prefix(err, "%s: ", path);
            goto fail;
        }
    } else {
        r->size = r->phys_size;
    }
    if ((rc = reader_header(r, err)) < 0)
        goto fail;
    *out = r;
    return MO_OK;
fail:
    mo_obj_reader_free(r);
    return rc;
}

int mo_obj_reader_open_mem(mo_obj_reader **out, const void *p, size_t n, const char *name,
                           mo_err *err)
{
    *out = NULL;
    mo_obj_reader *r;
    if (reader_new(&r, name) < 0)
        return mo_err_set(err, MO_ENOMEM, "reader");
    r->mem = p;
    r->phys_size = r->size = n;
    int rc = reader_header(r, err);
    if (rc < 0) {
        mo_obj_reader_free(r);
        return rc;
    }
    *out = r;
    return MO_OK;
}

void mo_obj_reader_free(mo_obj_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        mo_sys_close(r->fd);
    mo_obj_meta_dispose(&r->meta);
    mo_buf_dispose(&r->zbuf);
    mo_free(r->name);
    mo_free(r);
}

const char *mo_obj_reader_name(const mo_obj_reader *r)
{
    return r->name;
}
uint64_t mo_obj_reader_size(const mo_obj_reader *r)
{
    return r->size;
}
uint64_t mo_obj_reader_physical_size(const mo_obj_reader *r)
{
    return r->phys_size;
}
bool mo_obj_reader_framed(const mo_obj_reader *r)
{
    return r->framed;
}
mo_obj_extent mo_obj_reader_meta_extent(const mo_obj_reader *r)
{
    return r->meta_extent;
}
uint32_t mo_obj_reader_schema_version(const mo_obj_reader *r)
{
    return r->schema_version;
}
const mo_obj_meta *mo_obj_reader_meta(const mo_obj_reader *r)
{
    return r->meta_loaded ? &r->meta : NULL;
}
const uint8_t *mo_obj__reader_header(const mo_obj_reader *r)
{
    return r->header;
}

int mo_obj_reader_read(mo_obj_reader *r, void *buf, size_t n, uint64_t off, mo_err *err)
{
    uint64_t end;
    if (mo_add_overflow(off, n, &end) || end > r->size)
        return mo_err_set(err, MO_ETRUNCATED,
                          "%s: read [%llu, +%zu) beyond the logical size %llu", r->name,
                          (unsigned long long)off, n, (unsigned long long)r->size);
    if (r->mem) {
        if (n) /* buf may be NULL for an empty extent (an empty mo_buf) */
            memcpy(buf, r->mem + off, n);
        return MO_OK;
    }
    if (r->framed)
        return mo_obj_frame_pread(r->fd, r->phys_size, buf, n, off, r->name, err);
    return mo_sys_pread_full(r->fd, buf, n, off, r->name, err);
}

int mo_obj__read_extent(mo_obj_reader *r, mo_buf *out, const mo_obj_extent *e, mo_err *err)
{
    out->len = 0;
    /* Sizes come from the file: check them before allocating, so a tiny damaged object
     * cannot make the reader reserve gigabytes (found by fuzz_obj_reader). */
    if (mo_obj_extent_end(e) > r->size)
        return mo_err_set(err, MO_ETRUNCATED,
                          "%s: extent [%u, +%u) beyond the logical size %llu", r->name, e->offset,
                          e->length, (unsigned long long)r->size);
    if (e->alg != MO_OBJ_ALG_NONE && e->origin_size > (uint64_t)e->length * 255)
        return mo_err_set(err, MO_ECORRUPT,
                          "%s: offset %u: originSize %u is more than LZ4 can expand %u bytes to",
                          r->name, e->offset, e->origin_size, e->length);
    if (e->alg == MO_OBJ_ALG_NONE) {
        if (e->length != e->origin_size)
            return mo_err_set(err, MO_ECORRUPT,
                              "%s: offset %u: uncompressed extent length %u != originSize %u",
                              r->name, e->offset, e->length, e->origin_size);
        if (mo_buf_reserve(out, e->length) < 0)
            return mo_err_set(err, MO_ENOMEM, "extent of %u bytes", e->length);
        int rc = mo_obj_reader_read(r, out->ptr, e->length, e->offset, err);
        if (rc == MO_OK)
            out->len = e->length;
        return rc;
    }
    /* every non-zero alg is LZ4 for MO's reader */
    r->zbuf.len = 0;
    if (mo_buf_reserve(&r->zbuf, e->length) < 0 || mo_buf_reserve(out, e->origin_size) < 0)
        return mo_err_set(err, MO_ENOMEM, "extent of %u/%u bytes", e->length, e->origin_size);
    int rc = mo_obj_reader_read(r, r->zbuf.ptr, e->length, e->offset, err);
    if (rc < 0)
        return rc;
    rc = mo_obj_lz4_decode(out->ptr, e->origin_size, r->zbuf.ptr, e->length, err);
    if (rc < 0) {
        mo_err_prefix(err, "%s: offset %u: ", r->name, e->offset);
        return rc;
    }
    out->len = e->origin_size;
    return MO_OK;
}

int mo_obj_reader_load_meta(mo_obj_reader *r, mo_obj_where *where, mo_err *err)
{
    if (r->meta_loaded)
        return MO_OK;
    const mo_obj_extent *e = &r->meta_extent;
    if (where) {
        memset(where, 0, sizeof(*where));
        where->slot = where->seqnum = -1;
        where->block = -1;
        where->offset = 10;
        where->field = "header.metaExtent";
    }
    if (e->alg == MO_OBJ_ALG_NONE || e->length == 0)
        return mo_err_set(err, MO_ECORRUPT, "%s: offset 10: meta extent alg %u length %u", r->name,
                          e->alg, e->length);
    if (e->offset < MO_OBJ_HEADER_LEN || mo_obj_extent_end(e) + MO_OBJ_FOOTER_LEN != r->size)
        return mo_err_set(err, MO_ECORRUPT,
                          "%s: offset 10: meta extent [%u, +%u) + 64-byte footer != size %llu",
                          r->name, e->offset, e->length, (unsigned long long)r->size);
    mo_buf blob = MO_BUF_INIT;
    int rc = mo_obj__read_extent(r, &blob, e, err);
    if (rc == MO_OK) {
        rc = mo_obj_meta_decode(&r->meta, blob.ptr, blob.len, where, err);
        if (rc < 0)
            mo_err_prefix(err, "%s: ", r->name);
    } else if (where) {
        where->offset = e->offset;
        where->field = "meta";
    }
    mo_buf_dispose(&blob);
    if (rc == MO_OK)
        r->meta_loaded = true;
    return rc;
}

int mo_obj_reader_column(mo_obj_reader *r, mo_obj_vec *out, mo_buf *scratch, uint32_t block,
                         uint16_t seqnum, mo_obj_vec_fault *fault, mo_err *err)
{
    if (!r->meta_loaded || !r->meta.slot_count || block >= r->meta.slots[0].block_count)
        return mo_err_set(err, MO_EINVAL, "%s: no block %u", r->name, block);
    const mo_obj_blockmeta *bm = &r->meta.slots[0].blocks[block];
    if (seqnum > bm->hdr.max_seqnum && seqnum >= bm->hdr.meta_column_count)
        return mo_err_set(err, MO_ENOTFOUND, "%s: block %u has no seqnum %u", r->name, block,
                          seqnum);
    if (seqnum >= bm->hdr.meta_column_count || bm->cols[seqnum].type == 0)
        return mo_err_set(err, MO_ENOTFOUND, "%s: block %u has no seqnum %u", r->name, block,
                          seqnum);
    const mo_obj_colmeta *cm = &bm->cols[seqnum];
    int rc = mo_obj__read_extent(r, scratch, &cm->extent, err);
    if (rc < 0)
        return rc;
    if (scratch->len < 4)
        return mo_err_set(err, MO_ECORRUPT, "%s: block %u seqnum %u: chunk of %zu bytes", r->name,
                          block, seqnum, scratch->len);
    uint16_t type = mo_load_le16(scratch->ptr), ver = mo_load_le16(scratch->ptr + 2);
    if (type != MO_OBJ_IOET_COLDATA)
        return mo_err_set(err, MO_ECORRUPT, "%s: offset %u: block %u seqnum %u: IOEntry type %u, want 2",
                          r->name, cm->extent.offset, block, seqnum, type);
    if (ver != 1 && ver != 2)
        return mo_err_set(err, MO_EVERSION,
                          "%s: offset %u: block %u seqnum %u: column data version %u (known 1, 2)",
                          r->name, cm->extent.offset, block, seqnum, ver);
    rc = mo_obj_vec_decode(out, scratch->ptr + 4, scratch->len - 4, ver, fault, err);
    if (rc < 0)
        mo_err_prefix(err, "%s: offset %u: block %u seqnum %u: ", r->name, cm->extent.offset,
                      block, seqnum);
    return rc;
}

int mo_obj_level_parse(mo_obj_level *out, const char *s)
{
    if (!strcmp(s, "frame"))
        *out = MO_OBJ_LEVEL_FRAME;
    else if (!strcmp(s, "struct"))
        *out = MO_OBJ_LEVEL_STRUCT;
    else if (!strcmp(s, "deep"))
        *out = MO_OBJ_LEVEL_DEEP;
    else
        return MO_EINVAL;
    return MO_OK;
}

int mo_obj_reader_stats(const mo_obj_reader *r, mo_obj_stats *out, mo_err *err)
{
    if (!r->meta_loaded)
        return mo_err_set(err, MO_EINVAL, "%s: meta not loaded", r->name);
    const mo_obj_meta *m = &r->meta;
    const mo_obj_slotmeta *sl = &m->slots[0];
    memset(out, 0, sizeof(*out));
    const char *base = strrchr(r->name, '/');
    base = base ? base + 1 : r->name;
    if (mo_obj_name_parse(&out->id, base, strlen(base), NULL) < 0)
        mo_obj_objectid_decode(&out->id, sl->hdr.block_id);
    out->extent = r->meta_extent;
    uint64_t rows = 0, origin = MO_OBJ_HEADER_LEN + MO_OBJ_FOOTER_LEN + r->meta_extent.origin_size;
    for (uint32_t b = 0; b < sl->block_count; b++)
        rows += sl->blocks[b].hdr.rows;
    for (uint32_t s = 0; s < m->slot_count; s++) {
        const mo_obj_slotmeta *x = &m->slots[s];
        origin += x->hdr.bf_extent.origin_size + x->hdr.zm_area.origin_size;
        for (uint32_t b = 0; b < x->block_count; b++)
            for (uint16_t c = 0; c < x->blocks[b].hdr.meta_column_count; c++)
                if (x->blocks[b].cols[c].type)
                    origin += x->blocks[b].cols[c].extent.origin_size;
    }
    out->rows = (uint32_t)rows;
    out->block_count = m->data_meta_count;
    uint16_t sk = sl->hdr.sort_key;
    if (sl->block_count && sk < sl->hdr.column_count) {
        const mo_obj_blockmeta *b0 = &sl->blocks[0];
        for (uint16_t s = 0; s < b0->hdr.meta_column_count; s++)
            if (b0->cols[s].type && b0->cols[s].idx == sk && s < sl->hdr.meta_column_count)
                memcpy(out->sort_key_zm, sl->cols[s].zm.b, 64);
    }
    out->size = (uint32_t)r->size;
    out->origin_size = (uint32_t)origin;
    out->flags = sl->hdr.appendable ? MO_OBJ_STATS_APPENDABLE : 0;
    return MO_OK;
}
