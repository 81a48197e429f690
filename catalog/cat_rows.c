/* Row codec: every record is  u8 type | u8 0 | u16 0 | u32 len | payload | u64 xxh3_64,
 * the checksum covering header and payload. Integers are little-endian, strings are
 * u16 length + bytes (no NUL), TS are 12 bytes (u32 logical, i64 physical, as MO). Objects
 * have one fixed 221-byte payload so the snapshot's object section is an array. Decoding
 * trusts nothing: every length is checked against the payload and the destination field,
 * so bytes from disk end in MO_ECORRUPT, never in an assert or an overflow. */
#include <stdlib.h>
#include <string.h>

#include "cat_int.h"

/* db and table rows: version 1 ended after their last field; version 2 appends this byte
 * and the history TS (created, dropped). Both decode. */
#define CAT_ROW_V2 2

/* ---------------- flags (ccpr-protocol.md §5.6) ---------------- */

uint8_t mo_cat_normalize_flags(uint8_t flags, bool is_tombstone, bool real_pk)
{
    uint8_t f = (uint8_t)(flags & 0xE0); /* keep the level bits b5..b7, clear b0..b4 */
    if (is_tombstone || real_pk)
        f |= MO_OBJ_STATS_SORTED;
    return (uint8_t)(f | MO_OBJ_STATS_CNCREATED);
}

/* ---------------- owned rows ---------------- */

void mo_cat_table_dispose(mo_cat_table *t)
{
    if (!t)
        return;
    mo_free(t->create_sql);
    mo_free(t->cols);
    t->create_sql = NULL;
    t->cols = NULL;
    t->ncols = 0;
}

void mo_cat_mapping_dispose(mo_cat_mapping *m)
{
    if (!m)
        return;
    mo_free(m->down_ids);
    mo_free(m->row_map);
    m->down_ids = NULL;
    m->row_map = NULL;
    m->ndown = m->nrows = 0;
}

void mo_cat__row_dispose(int kind, void *row)
{
    if (kind == CAT_TABLE)
        mo_cat_table_dispose(row);
    else if (kind == CAT_MAP)
        mo_cat_mapping_dispose(row);
}

int mo_cat_table_copy(mo_cat_table *dst, const mo_cat_table *src)
{
    *dst = *src;
    dst->create_sql = NULL;
    dst->cols = NULL;
    if (src->create_sql && !(dst->create_sql = mo_strdup(src->create_sql)))
        return MO_ENOMEM;
    if (src->ncols) {
        dst->cols = mo_malloc(src->ncols * sizeof(*dst->cols));
        if (!dst->cols) {
            mo_cat_table_dispose(dst);
            return MO_ENOMEM;
        }
        memcpy(dst->cols, src->cols, src->ncols * sizeof(*dst->cols));
    }
    return MO_OK;
}

int mo_cat__mapping_copy(mo_cat_mapping *dst, const mo_cat_mapping *src)
{
    *dst = *src;
    dst->down_ids = NULL;
    dst->row_map = NULL;
    if (src->ndown) {
        if (!(dst->down_ids = mo_malloc((size_t)src->ndown * MO_OBJ_OBJECTID_LEN)))
            goto oom;
        memcpy(dst->down_ids, src->down_ids, (size_t)src->ndown * MO_OBJ_OBJECTID_LEN);
    }
    if (src->nrows) {
        if (!(dst->row_map = mo_malloc((size_t)src->nrows * sizeof(uint32_t))))
            goto oom;
        memcpy(dst->row_map, src->row_map, (size_t)src->nrows * sizeof(uint32_t));
    }
    return MO_OK;
oom:
    mo_cat_mapping_dispose(dst);
    return MO_ENOMEM;
}

/* ---------------- encoding ---------------- */

static int put_str(mo_buf *b, const char *s, size_t cap)
{
    const size_t n = strnlen(s, cap);
    if (n >= cap || n > UINT16_MAX)
        return MO_EINVAL;
    int rc = mo_buf_put_le16(b, (uint16_t)n);
    return rc < 0 ? rc : mo_buf_put(b, s, n);
}

static int put_ts(mo_buf *b, mo_obj_ts ts)
{
    int rc = mo_buf_put_le32(b, ts.logical);
    return rc < 0 ? rc : mo_buf_put_le64(b, (uint64_t)ts.physical);
}

#define P(x)                                                                                       \
    do {                                                                                           \
        if ((rc = (x)) < 0)                                                                        \
            goto out;                                                                              \
    } while (0)

static int enc_sub(mo_buf *b, const mo_cat_sub *s)
{
    int rc;
    P(mo_buf_put_le64(b, s->task_id));
    P(put_str(b, s->name, sizeof(s->name)));
    P(put_str(b, s->level, sizeof(s->level)));
    P(put_str(b, s->account, sizeof(s->account)));
    P(put_str(b, s->db, sizeof(s->db)));
    P(put_str(b, s->table, sizeof(s->table)));
    P(put_str(b, s->upstream_conn, sizeof(s->upstream_conn)));
    P(put_str(b, s->pub_account, sizeof(s->pub_account)));
    P(put_str(b, s->pub_name, sizeof(s->pub_name)));
    P(mo_buf_put_le32(b, s->sync_interval));
    P(mo_buf_put_u8(b, s->state));
    P(mo_buf_put_le64(b, (uint64_t)s->created_us));
    P(mo_buf_put_le64(b, (uint64_t)s->updated_us));
out:
    return rc;
}

static int enc_task(mo_buf *b, const mo_cat_task *k)
{
    int rc;
    P(mo_buf_put_le64(b, k->job_id));
    P(mo_buf_put_le64(b, k->task_id));
    P(put_str(b, k->account, sizeof(k->account)));
    P(mo_buf_put_le64(b, k->db_id));
    P(mo_buf_put_le64(b, k->down_db_id));
    P(put_str(b, k->db, sizeof(k->db)));
    P(mo_buf_put_le64(b, k->table_id));
    P(mo_buf_put_le64(b, k->down_table_id));
    P(put_str(b, k->table, sizeof(k->table)));
    P(put_ts(b, k->watermark));
    P(put_ts(b, k->snapshot_ts));
    P(mo_buf_put_u8(b, k->iteration_state));
    P(put_str(b, k->cn_uuid, sizeof(k->cn_uuid)));
    P(mo_buf_put_le64(b, k->iteration_lsn));
    P(put_str(b, k->error_message, sizeof(k->error_message)));
    P(mo_buf_put_le64(b, (uint64_t)k->created_us));
    P(mo_buf_put_le64(b, (uint64_t)k->updated_us));
out:
    return rc;
}

static int enc_table(mo_buf *b, const mo_cat_table *t)
{
    int rc;
    if (t->ncols && !t->cols)
        return MO_EINVAL;
    if (t->pk_col < -1 || t->pk_col >= (int)t->ncols || t->sort_col < -1 ||
        t->sort_col >= (int)t->ncols)
        return MO_EINVAL;
    P(mo_buf_put_le64(b, t->down_id));
    P(mo_buf_put_le64(b, t->up_id));
    P(mo_buf_put_le64(b, t->down_db_id));
    P(put_str(b, t->db, sizeof(t->db)));
    P(put_str(b, t->name, sizeof(t->name)));
    const size_t sl = t->create_sql ? strlen(t->create_sql) : 0;
    if (sl >= CAT_REC_MAX / 2)
        return MO_EINVAL;
    P(mo_buf_put_u8(b, t->create_sql != NULL));
    P(mo_buf_put_le32(b, (uint32_t)sl));
    P(mo_buf_put(b, t->create_sql ? t->create_sql : "", sl));
    P(mo_buf_put_le16(b, t->ncols));
    for (uint16_t i = 0; i < t->ncols; i++) {
        const mo_cat_col *col = &t->cols[i];
        uint8_t ty[MO_OBJ_TYPE_LEN];
        ty[0] = col->type.oid;
        ty[1] = col->type.charset;
        ty[2] = col->type.not_null;
        ty[3] = 0;
        mo_store_le32(ty + 4, (uint32_t)col->type.size);
        mo_store_le32(ty + 8, (uint32_t)col->type.width);
        mo_store_le32(ty + 12, (uint32_t)col->type.scale);
        P(put_str(b, col->name, sizeof(col->name)));
        P(mo_buf_put(b, ty, sizeof(ty)));
        P(mo_buf_put_le16(b, col->seqnum));
        P(mo_buf_put_u8(b, (uint8_t)(col->hidden | (col->not_null << 1))));
    }
    P(mo_buf_put_le32(b, (uint32_t)t->pk_col));
    P(mo_buf_put_u8(b, t->real_pk));
    P(mo_buf_put_le32(b, (uint32_t)t->sort_col));
    /* row version 2: history TS appended (version-1 rows end before this byte) */
    P(mo_buf_put_u8(b, CAT_ROW_V2));
    P(put_ts(b, t->created_ts));
    P(put_ts(b, t->dropped_ts));
out:
    return rc;
}

static int enc_map(mo_buf *b, const mo_cat_mapping *m)
{
    int rc;
    if ((m->ndown && !m->down_ids) || (m->nrows && !m->row_map) ||
        (uint64_t)m->ndown * 18 + (uint64_t)m->nrows * 4 > CAT_REC_MAX - 64)
        return MO_EINVAL;
    P(mo_buf_put(b, m->upstream_id, MO_OBJ_OBJECTID_LEN));
    P(mo_buf_put_le64(b, m->table_id));
    P(mo_buf_put_le32(b, m->ndown));
    P(mo_buf_put(b, m->down_ids, (size_t)m->ndown * MO_OBJ_OBJECTID_LEN));
    P(mo_buf_put_le32(b, m->nrows));
    uint8_t *p;
    P(mo_buf_grow(b, (size_t)m->nrows * 4, &p));
    for (uint32_t i = 0; i < m->nrows; i++)
        mo_store_le32(p + 4 * (size_t)i, m->row_map[i]);
out:
    return rc;
}

void mo_cat__obj_encode(uint8_t out[CAT_OBJ_REC], const mo_cat_object *o)
{
    uint8_t *p = out;
    memcpy(p, o->stats, MO_OBJ_STATS_LEN);
    p += MO_OBJ_STATS_LEN;
    mo_store_le64(p, o->table_id);
    p += 8;
    *p++ = (uint8_t)(o->is_tombstone | (o->non_mergeable << 1));
    mo_store_le32(p, o->create_ts.logical);
    mo_store_le64(p + 4, (uint64_t)o->create_ts.physical);
    p += 12;
    mo_store_le32(p, o->delete_ts.logical);
    mo_store_le64(p + 4, (uint64_t)o->delete_ts.physical);
    p += 12;
    mo_store_le64(p, o->digest.lo);
    mo_store_le64(p + 8, o->digest.hi);
    p += 16;
    memcpy(p, o->upstream_id, MO_OBJ_OBJECTID_LEN);
}

int mo_cat__obj_decode(mo_cat_object *o, const uint8_t in[CAT_OBJ_REC], mo_err *err)
{
    const uint8_t *p = in;
    memcpy(o->stats, p, MO_OBJ_STATS_LEN);
    p += MO_OBJ_STATS_LEN;
    o->table_id = mo_load_le64(p);
    p += 8;
    const uint8_t f = *p++;
    if (f & ~3u)
        return mo_err_set(err, MO_ECORRUPT, "object flags 0x%02x", f);
    o->is_tombstone = f & 1;
    o->non_mergeable = (f >> 1) & 1;
    o->create_ts.logical = mo_load_le32(p);
    o->create_ts.physical = (int64_t)mo_load_le64(p + 4);
    p += 12;
    o->delete_ts.logical = mo_load_le32(p);
    o->delete_ts.physical = (int64_t)mo_load_le64(p + 4);
    p += 12;
    o->digest.lo = mo_load_le64(p);
    o->digest.hi = mo_load_le64(p + 8);
    p += 16;
    memcpy(o->upstream_id, p, MO_OBJ_OBJECTID_LEN);
    return MO_OK;
}

/* Starts a record; returns its start offset for finish_rec. */
static int begin_rec(mo_buf *b, uint8_t type, size_t *start)
{
    *start = b->len;
    const uint8_t h[CAT_REC_HDR] = {type, 0, 0, 0, 0, 0, 0, 0};
    return mo_buf_put(b, h, sizeof(h));
}

static int finish_rec(mo_buf *b, size_t start)
{
    const size_t len = b->len - start - CAT_REC_HDR;
    if (len > CAT_REC_MAX)
        return MO_EINVAL;
    mo_store_le32(b->ptr + start + 4, (uint32_t)len);
    return mo_buf_put_le64(b, mo_xxh3_64(b->ptr + start, b->len - start));
}

int mo_cat__enc_raw(mo_buf *b, uint8_t type, const void *payload, size_t len)
{
    size_t start;
    int rc = mo_buf_reserve(b, CAT_REC_HDR + len + CAT_REC_TRAILER);
    if (rc == MO_OK)
        rc = begin_rec(b, type, &start);
    if (rc == MO_OK)
        rc = mo_buf_put(b, payload, len);
    if (rc == MO_OK)
        rc = finish_rec(b, start);
    return rc;
}

int mo_cat__enc_put(mo_buf *b, int kind, const void *row)
{
    const size_t start0 = b->len;
    size_t start;
    int rc = begin_rec(b, (uint8_t)(CAT_REC_ROW + 2 * kind), &start);
    if (rc < 0)
        return rc;
    switch (kind) {
    case CAT_SUB:
        rc = enc_sub(b, row);
        break;
    case CAT_TASK:
        rc = enc_task(b, row);
        break;
    case CAT_DB: {
        const mo_cat_db *d = row;
        P(mo_buf_put_le64(b, d->down_id));
        P(mo_buf_put_le64(b, d->up_id));
        P(put_str(b, d->name, sizeof(d->name)));
        P(mo_buf_put_u8(b, CAT_ROW_V2));
        P(put_ts(b, d->created_ts));
        P(put_ts(b, d->dropped_ts));
        break;
    }
    case CAT_TABLE:
        rc = enc_table(b, row);
        break;
    case CAT_OBJ: {
        uint8_t *p;
        P(mo_buf_grow(b, CAT_OBJ_REC, &p));
        mo_cat__obj_encode(p, row);
        break;
    }
    case CAT_MAP:
        rc = enc_map(b, row);
        break;
    case CAT_SNAP: {
        const mo_cat_snapshot *s = row;
        P(put_str(b, s->name, sizeof(s->name)));
        P(put_ts(b, s->ts));
        break;
    }
    case CAT_SEQ: {
        const cat_seq *s = row;
        P(put_str(b, s->name, sizeof(s->name)));
        P(mo_buf_put_le64(b, s->value));
        break;
    }
    default:
        rc = MO_EINVAL;
    }
    if (rc == MO_OK)
        rc = finish_rec(b, start);
out:
    if (rc < 0)
        b->len = start0; /* the buffer is unchanged after any failure */
    return rc;
}

int mo_cat__enc_del(mo_buf *b, int kind, const void *key)
{
    const size_t start0 = b->len;
    size_t start;
    int rc = begin_rec(b, (uint8_t)(CAT_REC_ROW + 2 * kind + 1), &start);
    if (rc < 0)
        return rc;
    if (kind == CAT_OBJ || kind == CAT_MAP)
        rc = mo_buf_put(b, key, MO_OBJ_OBJECTID_LEN);
    else if (kind == CAT_SNAP)
        rc = put_str(b, key, MO_CAT_NAME_MAX);
    else if (kind == CAT_SEQ)
        rc = MO_EINVAL;
    else
        rc = mo_buf_put_le64(b, *(const uint64_t *)key);
    if (rc == MO_OK)
        rc = finish_rec(b, start);
    if (rc < 0)
        b->len = start0;
    return rc;
}

#undef P

/* ---------------- decoding ---------------- */

#define BAD(what) return mo_err_set(err, MO_ECORRUPT, "%s: %s", rec_name(type), what)
#define G(x)                                                                                       \
    do {                                                                                           \
        if (!(x))                                                                                  \
            BAD("payload too short");                                                              \
    } while (0)

static const char *rec_name(uint8_t type)
{
    static const char *const names[] = {"sub", "task", "db", "table", "object", "mapping",
                                        "snapshot", "sequence"};
    const int k = cat_kind(type);
    return k >= 0 && k < CAT_NKIND ? names[k] : "record";
}

static bool get_str(mo_cur *c, char *out, size_t cap)
{
    uint16_t n;
    const uint8_t *p;
    if (!mo_cur_le16(c, &n) || n >= cap || !mo_cur_take(c, n, &p) || memchr(p, 0, n))
        return false;
    memcpy(out, p, n);
    out[n] = 0;
    return true;
}

static bool get_ts(mo_cur *c, mo_obj_ts *ts)
{
    uint64_t ph;
    if (!mo_cur_le32(c, &ts->logical) || !mo_cur_le64(c, &ph))
        return false;
    ts->physical = (int64_t)ph;
    return true;
}

/* Optional row-version-2 tail of db and table rows: absent (version 1) = zero TS. */
static bool get_history(mo_cur *c, mo_obj_ts *created, mo_obj_ts *dropped)
{
    memset(created, 0, sizeof(*created));
    memset(dropped, 0, sizeof(*dropped));
    if (!mo_cur_left(c))
        return true;
    uint8_t v;
    return mo_cur_u8(c, &v) && v == CAT_ROW_V2 && get_ts(c, created) && get_ts(c, dropped);
}

static int dec_sub(mo_cat_sub *s, mo_cur *c, uint8_t type, mo_err *err)
{
    uint64_t a, b2;
    G(mo_cur_le64(c, &s->task_id));
    G(get_str(c, s->name, sizeof(s->name)));
    G(get_str(c, s->level, sizeof(s->level)));
    G(get_str(c, s->account, sizeof(s->account)));
    G(get_str(c, s->db, sizeof(s->db)));
    G(get_str(c, s->table, sizeof(s->table)));
    G(get_str(c, s->upstream_conn, sizeof(s->upstream_conn)));
    G(get_str(c, s->pub_account, sizeof(s->pub_account)));
    G(get_str(c, s->pub_name, sizeof(s->pub_name)));
    G(mo_cur_le32(c, &s->sync_interval));
    G(mo_cur_u8(c, &s->state));
    G(mo_cur_le64(c, &a));
    G(mo_cur_le64(c, &b2));
    s->created_us = (int64_t)a;
    s->updated_us = (int64_t)b2;
    return MO_OK;
}

static int dec_task(mo_cat_task *k, mo_cur *c, uint8_t type, mo_err *err)
{
    uint64_t a, b2;
    G(mo_cur_le64(c, &k->job_id));
    G(mo_cur_le64(c, &k->task_id));
    G(get_str(c, k->account, sizeof(k->account)));
    G(mo_cur_le64(c, &k->db_id));
    G(mo_cur_le64(c, &k->down_db_id));
    G(get_str(c, k->db, sizeof(k->db)));
    G(mo_cur_le64(c, &k->table_id));
    G(mo_cur_le64(c, &k->down_table_id));
    G(get_str(c, k->table, sizeof(k->table)));
    G(get_ts(c, &k->watermark));
    G(get_ts(c, &k->snapshot_ts));
    G(mo_cur_u8(c, &k->iteration_state));
    G(get_str(c, k->cn_uuid, sizeof(k->cn_uuid)));
    G(mo_cur_le64(c, &k->iteration_lsn));
    G(get_str(c, k->error_message, sizeof(k->error_message)));
    G(mo_cur_le64(c, &a));
    G(mo_cur_le64(c, &b2));
    k->created_us = (int64_t)a;
    k->updated_us = (int64_t)b2;
    return MO_OK;
}

static int dec_table(mo_cat_table *t, mo_cur *c, uint8_t type, mo_err *err)
{
    uint8_t has_sql, rp;
    uint32_t sl, pk, sk;
    const uint8_t *p;
    G(mo_cur_le64(c, &t->down_id));
    G(mo_cur_le64(c, &t->up_id));
    G(mo_cur_le64(c, &t->down_db_id));
    G(get_str(c, t->db, sizeof(t->db)));
    G(get_str(c, t->name, sizeof(t->name)));
    G(mo_cur_u8(c, &has_sql) && has_sql <= 1);
    G(mo_cur_le32(c, &sl) && mo_cur_take(c, sl, &p));
    if (memchr(p, 0, sl) || (!has_sql && sl))
        BAD("create_sql");
    if (has_sql) {
        if (!(t->create_sql = mo_malloc((size_t)sl + 1)))
            return mo_err_set(err, MO_ENOMEM, "table create_sql: %u bytes", sl);
        memcpy(t->create_sql, p, sl);
        t->create_sql[sl] = 0;
    }
    G(mo_cur_le16(c, &t->ncols));
    /* each column takes at least 2 + 16 + 2 + 1 bytes: check before allocating */
    if ((size_t)t->ncols * 21 > mo_cur_left(c))
        BAD("column count beyond the payload");
    if (t->ncols && !(t->cols = mo_calloc(t->ncols, sizeof(*t->cols))))
        return mo_err_set(err, MO_ENOMEM, "table columns: %u", t->ncols);
    for (uint16_t i = 0; i < t->ncols; i++) {
        mo_cat_col *col = &t->cols[i];
        uint8_t fl;
        G(get_str(c, col->name, sizeof(col->name)));
        G(mo_cur_take(c, MO_OBJ_TYPE_LEN, &p));
        col->type.oid = p[0];
        col->type.charset = p[1];
        col->type.not_null = p[2];
        col->type.size = (int32_t)mo_load_le32(p + 4);
        col->type.width = (int32_t)mo_load_le32(p + 8);
        col->type.scale = (int32_t)mo_load_le32(p + 12);
        G(mo_cur_le16(c, &col->seqnum));
        G(mo_cur_u8(c, &fl) && fl <= 3);
        col->hidden = fl & 1;
        col->not_null = (fl >> 1) & 1;
    }
    G(mo_cur_le32(c, &pk));
    G(mo_cur_u8(c, &rp) && rp <= 1);
    G(mo_cur_le32(c, &sk));
    t->pk_col = (int32_t)pk;
    t->sort_col = (int32_t)sk;
    t->real_pk = rp;
    if (t->pk_col < -1 || t->pk_col >= (int)t->ncols || t->sort_col < -1 ||
        t->sort_col >= (int)t->ncols)
        BAD("pk/sort column out of range");
    G(get_history(c, &t->created_ts, &t->dropped_ts));
    return MO_OK;
}

static int dec_map(mo_cat_mapping *m, mo_cur *c, uint8_t type, mo_err *err)
{
    const uint8_t *p;
    G(mo_cur_take(c, MO_OBJ_OBJECTID_LEN, &p));
    memcpy(m->upstream_id, p, MO_OBJ_OBJECTID_LEN);
    G(mo_cur_le64(c, &m->table_id));
    G(mo_cur_le32(c, &m->ndown));
    if ((uint64_t)m->ndown * MO_OBJ_OBJECTID_LEN > mo_cur_left(c))
        BAD("down id count beyond the payload");
    G(mo_cur_take(c, (size_t)m->ndown * MO_OBJ_OBJECTID_LEN, &p));
    if (m->ndown) {
        if (!(m->down_ids = mo_malloc((size_t)m->ndown * MO_OBJ_OBJECTID_LEN)))
            return mo_err_set(err, MO_ENOMEM, "mapping: %u ids", m->ndown);
        memcpy(m->down_ids, p, (size_t)m->ndown * MO_OBJ_OBJECTID_LEN);
    }
    G(mo_cur_le32(c, &m->nrows));
    if ((uint64_t)m->nrows * 4 > mo_cur_left(c))
        BAD("row map beyond the payload");
    G(mo_cur_take(c, (size_t)m->nrows * 4, &p));
    if (m->nrows) {
        if (!(m->row_map = mo_malloc((size_t)m->nrows * 4)))
            return mo_err_set(err, MO_ENOMEM, "mapping: %u rows", m->nrows);
        for (uint32_t i = 0; i < m->nrows; i++)
            m->row_map[i] = mo_load_le32(p + 4 * (size_t)i);
    }
    return MO_OK;
}

void mo_cat__op_dispose(cat_op *op)
{
    if (op->type < CAT_REC_ROW || cat_is_del(op->type))
        return;
    switch (cat_kind(op->type)) {
    case CAT_SUB:
        mo_free(op->u.sub);
        op->u.sub = NULL;
        break;
    case CAT_TASK:
        mo_free(op->u.task);
        op->u.task = NULL;
        break;
    case CAT_TABLE:
        mo_cat_table_dispose(op->u.table);
        mo_free(op->u.table);
        op->u.table = NULL;
        break;
    case CAT_MAP:
        mo_cat_mapping_dispose(&op->u.map);
        break;
    default:
        break;
    }
}

int mo_cat__dec(cat_op *op, uint8_t type, const uint8_t *p, size_t len, mo_err *err)
{
    memset(op, 0, sizeof(*op));
    op->type = type;
    const int kind = cat_kind(type);
    if (type < CAT_REC_ROW || kind >= CAT_NKIND || type == CAT_REC_ROW + 2 * CAT_SEQ + 1) {
        op->type = 0;
        return mo_err_set(err, MO_ECORRUPT, "unknown record type %u", type);
    }
    mo_cur c;
    mo_cur_init(&c, p, len);
    int rc = MO_OK;
    if (cat_is_del(type)) {
        const uint8_t *q;
        if (kind == CAT_OBJ || kind == CAT_MAP) {
            G(mo_cur_take(&c, MO_OBJ_OBJECTID_LEN, &q));
            memcpy(op->u.key18, q, MO_OBJ_OBJECTID_LEN);
        } else if (kind == CAT_SNAP) {
            G(get_str(&c, op->u.name, sizeof(op->u.name)));
        } else {
            G(mo_cur_le64(&c, &op->u.key64));
        }
    } else {
        switch (kind) {
        case CAT_SUB:
            if (!(op->u.sub = mo_calloc(1, sizeof(*op->u.sub))))
                return mo_err_set(err, MO_ENOMEM, "sub row");
            rc = dec_sub(op->u.sub, &c, type, err);
            break;
        case CAT_TASK:
            if (!(op->u.task = mo_calloc(1, sizeof(*op->u.task))))
                return mo_err_set(err, MO_ENOMEM, "task row");
            rc = dec_task(op->u.task, &c, type, err);
            break;
        case CAT_DB:
            G(mo_cur_le64(&c, &op->u.db.down_id));
            G(mo_cur_le64(&c, &op->u.db.up_id));
            G(get_str(&c, op->u.db.name, sizeof(op->u.db.name)));
            G(get_history(&c, &op->u.db.created_ts, &op->u.db.dropped_ts));
            break;
        case CAT_TABLE:
            if (!(op->u.table = mo_calloc(1, sizeof(*op->u.table))))
                return mo_err_set(err, MO_ENOMEM, "table row");
            rc = dec_table(op->u.table, &c, type, err);
            break;
        case CAT_OBJ:
            if (len != CAT_OBJ_REC)
                BAD("object payload length");
            rc = mo_cat__obj_decode(&op->u.obj, p, err);
            c.pos = len;
            break;
        case CAT_MAP:
            rc = dec_map(&op->u.map, &c, type, err);
            break;
        case CAT_SNAP:
            G(get_str(&c, op->u.snap.name, sizeof(op->u.snap.name)));
            G(get_ts(&c, &op->u.snap.ts));
            break;
        case CAT_SEQ:
            G(get_str(&c, op->u.seq.name, sizeof(op->u.seq.name)));
            G(mo_cur_le64(&c, &op->u.seq.value));
            break;
        }
    }
    if (rc == MO_OK && mo_cur_left(&c))
        rc = mo_err_set(err, MO_ECORRUPT, "%s: %zu trailing payload bytes", rec_name(type),
                        mo_cur_left(&c));
    if (rc < 0)
        mo_cat__op_dispose(op);
    return rc;
}
