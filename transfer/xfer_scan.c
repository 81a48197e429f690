/* Visible rows of a table, by scanning its objects (see mo/scan.h). Tombstones are read
 * first into a set of deleted rowids; then every visible data object is read block by
 * block, rows deleted, aborted or committed after the cut are skipped, and each remaining
 * row is hashed column by column (user columns in table order, absent seqnums as NULL as
 * MO reads them), so the fingerprint depends on the rows only, not on objects or order. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mo/hash.h"
#include "mo/objfmt.h"
#include "mo/scan.h"

typedef struct rowset {
    uint8_t (*keys)[24];
    uint8_t *used;
    size_t cap, n;
} rowset;

static uint64_t rs_hash(const uint8_t *k)
{
    return mo_xxh3_64(k, 24);
}

static int rs_add(rowset *s, const uint8_t k[24])
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint8_t(*keys)[24] = mo_malloc(cap * 24);
        uint8_t *used = mo_calloc(cap, 1);
        if (!keys || !used) {
            mo_free(keys);
            mo_free(used);
            return MO_ENOMEM;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->used[i]) {
                size_t j = rs_hash(s->keys[i]) & (cap - 1);
                while (used[j])
                    j = (j + 1) & (cap - 1);
                memcpy(keys[j], s->keys[i], 24);
                used[j] = 1;
            }
        mo_free(s->keys);
        mo_free(s->used);
        s->keys = keys;
        s->used = used;
        s->cap = cap;
    }
    size_t j = rs_hash(k) & (s->cap - 1);
    while (s->used[j]) {
        if (!memcmp(s->keys[j], k, 24))
            return MO_OK;
        j = (j + 1) & (s->cap - 1);
    }
    memcpy(s->keys[j], k, 24);
    s->used[j] = 1;
    s->n++;
    return MO_OK;
}

static bool rs_has(const rowset *s, const uint8_t k[24])
{
    if (!s->cap)
        return false;
    size_t j = rs_hash(k) & (s->cap - 1);
    while (s->used[j]) {
        if (!memcmp(s->keys[j], k, 24))
            return true;
        j = (j + 1) & (s->cap - 1);
    }
    return false;
}

static bool ts_zero(mo_obj_ts t)
{
    return t.physical == 0 && t.logical == 0;
}

/* Visible at @p at: created at or before it and not deleted by then (live state: not deleted). */
static bool entry_visible(const mo_cat_object *o, const mo_obj_ts *at)
{
    if (!at)
        return ts_zero(o->delete_ts);
    if (mo_obj_ts_cmp(o->create_ts, *at) > 0)
        return false;
    return ts_zero(o->delete_ts) || mo_obj_ts_cmp(o->delete_ts, *at) > 0;
}

typedef struct scan_ctx {
    mo_scan_result *res;
    mo_cat *c;
    const char *dir;
    const mo_cat_table *t;
    const mo_obj_ts *at;
    mo_scan_row_cb cb;
    void *payload;
    mo_err *err;
    rowset dead;
    bool tombstones_pass;
    int rc;
} scan_ctx;

/* Filters of appendable objects: commit-ts after the cut, aborted rows. */
static bool row_filtered(const mo_obj_vec *cts, const mo_obj_vec *abort_, uint32_t r,
                         const mo_obj_ts *at)
{
    if (abort_ && !mo_obj_vec_is_null(abort_, r)) {
        const uint8_t *p = mo_obj_vec_slot(abort_, r);
        if (p && p[0])
            return true;
    }
    if (at && cts && !mo_obj_vec_is_null(cts, r)) {
        const uint8_t *p = mo_obj_vec_slot(cts, r);
        if (p && mo_obj_ts_cmp(mo_obj_ts_decode(p), *at) > 0)
            return true;
    }
    return false;
}

static int scan_object(scan_ctx *s, const mo_cat_object *o)
{
    mo_obj_objectid id;
    mo_obj_stats st;
    int rc = mo_obj_stats_decode(&st, o->stats, s->err);
    if (rc < 0)
        return rc;
    id = st.id;
    char path[4200], name[43];
    mo_obj_name_format(name, &id);
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    mo_obj_reader *r;
    mo_obj_where w;
    if ((rc = mo_obj_reader_open(&r, path, s->err)) < 0)
        return rc;
    if ((rc = mo_obj_reader_load_meta(r, &w, s->err)) < 0) {
        mo_obj_reader_free(r);
        return rc;
    }
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    mo_obj_special sp;
    mo_obj_meta_special(&sp, m);
    const mo_obj_slotmeta *sl = &m->slots[0];
    const mo_cat_table *t = s->t;
    uint16_t nuser = 0;
    for (uint16_t i = 0; i < t->ncols; i++)
        nuser += !t->cols[i].hidden;
    mo_buf *scratch = mo_calloc((size_t)t->ncols + 3, sizeof(mo_buf));
    mo_obj_vec *vecs = mo_calloc((size_t)t->ncols + 3, sizeof(mo_obj_vec));
    bool *present = mo_calloc((size_t)t->ncols + 3, sizeof(bool));
    mo_buf rowbuf = MO_BUF_INIT;
    if (!scratch || !vecs || !present) {
        rc = mo_err_set(s->err, MO_ENOMEM, "scan buffers");
        goto out;
    }
    s->res->objects++;
    for (uint32_t b = 0; b < sl->block_count && rc == MO_OK; b++) {
        uint32_t rows = sl->blocks[b].hdr.rows;
        mo_obj_vec *cts = NULL, *ab = NULL;
        size_t extra = t->ncols;
        if (sp.commit_ts >= 0 &&
            mo_obj_reader_column(r, &vecs[extra], &scratch[extra], b, (uint16_t)sp.commit_ts, NULL,
                                 s->err) == MO_OK)
            cts = &vecs[extra];
        if (sp.abort >= 0 &&
            mo_obj_reader_column(r, &vecs[extra + 1], &scratch[extra + 1], b, (uint16_t)sp.abort,
                                 NULL, s->err) == MO_OK)
            ab = &vecs[extra + 1];
        if (s->tombstones_pass) {
            /* column 0 = the deleted rowid */
            if ((rc = mo_obj_reader_column(r, &vecs[0], &scratch[0], b, 0, NULL, s->err)) < 0)
                goto out;
            for (uint32_t k = 0; k < rows; k++) {
                if (mo_obj_vec_is_null(&vecs[0], k) || row_filtered(cts, ab, k, s->at))
                    continue;
                if ((rc = rs_add(&s->dead, mo_obj_vec_slot(&vecs[0], k))) < 0) {
                    rc = mo_err_set(s->err, MO_ENOMEM, "tombstone set");
                    goto out;
                }
                s->res->tombstone_rows++;
            }
            continue;
        }
        for (uint16_t i = 0; i < t->ncols; i++) {
            present[i] = false;
            if (t->cols[i].hidden)
                continue;
            int crc = mo_obj_reader_column(r, &vecs[i], &scratch[i], b, t->cols[i].seqnum, NULL,
                                           s->err);
            if (crc == MO_ENOTFOUND)
                continue; /* absent seqnum: NULL, as MO reads it */
            if (crc < 0) {
                rc = crc;
                goto out;
            }
            present[i] = true;
        }
        for (uint32_t k = 0; k < rows; k++) {
            uint8_t rid[24];
            mo_obj_rowid_make(rid, &id, sl->blocks[b].hdr.sequence, k);
            if (rs_has(&s->dead, rid)) {
                s->res->deleted_rows++;
                continue;
            }
            if (row_filtered(cts, ab, k, s->at))
                continue;
            rowbuf.len = 0;
            for (uint16_t i = 0; i < t->ncols; i++) {
                if (t->cols[i].hidden)
                    continue;
                if (!present[i] || mo_obj_vec_is_null(&vecs[i], k)) {
                    mo_buf_put_u8(&rowbuf, 0);
                    continue;
                }
                const uint8_t *p;
                uint32_t n;
                mo_obj_vec_value(&vecs[i], k, &p, &n);
                mo_buf_put_u8(&rowbuf, 1);
                mo_buf_put_le32(&rowbuf, n);
                mo_buf_put(&rowbuf, p, n);
            }
            if (!rowbuf.ptr && nuser) {
                rc = mo_err_set(s->err, MO_ENOMEM, "row buffer");
                goto out;
            }
            uint64_t h = mo_xxh3_64(rowbuf.ptr ? rowbuf.ptr : (const uint8_t *)"", rowbuf.len);
            s->res->rows++;
            s->res->sum += h;
            s->res->xor_ ^= h;
            if (s->cb && s->cb(t, vecs, present, k, s->payload) != 0) {
                rc = mo_err_set(s->err, MO_EUSER, "scan stopped by the caller");
                goto out;
            }
        }
    }
out:
    if (scratch)
        for (size_t i = 0; i < (size_t)t->ncols + 3; i++)
            mo_buf_dispose(&scratch[i]);
    mo_free(scratch);
    mo_free(vecs);
    mo_free(present);
    mo_buf_dispose(&rowbuf);
    mo_obj_reader_free(r);
    if (rc < 0 && rc != MO_ENOMEM && rc != MO_EUSER)
        mo_err_prefix(s->err, "%s: ", name);
    return rc;
}

static int each_object(const mo_cat_object *o, void *payload)
{
    scan_ctx *s = payload;
    if (o->is_tombstone != s->tombstones_pass || !entry_visible(o, s->at))
        return 0;
    s->rc = scan_object(s, o);
    return s->rc < 0 ? 1 : 0;
}

int mo_scan_table(mo_scan_result *out, mo_cat *c, const char *dir, const mo_cat_table *t,
                  const mo_obj_ts *at, mo_scan_row_cb cb, void *payload, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    scan_ctx s;
    memset(&s, 0, sizeof(s));
    s.res = out;
    s.c = c;
    s.dir = dir;
    s.t = t;
    s.at = at;
    s.cb = cb;
    s.payload = payload;
    s.err = err;
    int rc = MO_OK;
    for (int pass = 0; pass < 2 && rc == MO_OK; pass++) {
        s.tombstones_pass = pass == 0;
        s.rc = MO_OK;
        rc = mo_cat_foreach_object(c, t->down_id, each_object, &s);
        if (rc == MO_EUSER || s.rc < 0)
            rc = s.rc;
    }
    mo_free(s.dead.keys);
    mo_free(s.dead.used);
    return rc;
}

void mo_scan_format(char out[96], const mo_scan_result *r)
{
    snprintf(out, 96, "rows=%" PRIu64 " fingerprint=%016" PRIx64 "%016" PRIx64, r->rows, r->sum,
             r->xor_);
}
