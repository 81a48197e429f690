/* Object generation for `mosync mkobj` and `mosync demo`: deterministic random rows of every
 * storable type (seeded), or rows loaded from the CSV that `mosync dump` prints. Generated
 * rows stream block by block so memory stays at one block; CSV input is loaded whole
 * because --sorted may reorder it. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mo/sys.h"

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Appends one generated value; @p key >= 0 makes it the row's monotonic sort key. */
static int gen_value(mo_obj_colbuf *c, uint64_t *s, int64_t key)
{
    const mo_obj_type *t = &c->type;
    uint8_t v[32] = {0};
    uint64_t r = rnd(s);
    if (key < 0 && r % 20 == 0)
        return mo_obj_colbuf_append_null(c);
    r = rnd(s);
    switch (t->oid) {
    case MO_T_BOOL:
        v[0] = key >= 0 ? (uint8_t)(key > 0) : (uint8_t)(r & 1);
        break;
    case MO_T_INT8: case MO_T_INT16: case MO_T_INT32: case MO_T_INT64: {
        int bits = 8 * t->size;
        int64_t x;
        if (key >= 0)
            x = key - (bits < 64 ? (1ll << (bits - 1)) : 0);
        else if (bits == 64)
            x = (int64_t)r; /* two's complement reinterpretation, no arithmetic overflow */
        else
            x = (int64_t)(r >> (64 - bits)) - (1ll << (bits - 1));
        mo_store_le64(v, (uint64_t)x);
        break;
    }
    case MO_T_UINT8: case MO_T_UINT16: case MO_T_UINT32: case MO_T_UINT64: case MO_T_ENUM:
        mo_store_le64(v, key >= 0 ? (uint64_t)key : r >> (64 - 8 * t->size));
        if (t->oid == MO_T_ENUM && key < 0)
            mo_store_le16(v, (uint16_t)(1 + r % 8));
        break;
    case MO_T_BIT: {
        int w = t->width > 0 && t->width < 64 ? t->width : 64;
        mo_store_le64(v, key >= 0 ? (uint64_t)key : (w == 64 ? r : r & ((1ull << w) - 1)));
        break;
    }
    case MO_T_FLOAT32: {
        float f = key >= 0 ? (float)key : (float)((double)(int64_t)r / 9.3e15);
        memcpy(v, &f, 4);
        break;
    }
    case MO_T_FLOAT64: {
        double f = key >= 0 ? (double)key + 0.5 : (double)(int64_t)r / 7.7e12;
        memcpy(v, &f, 8);
        break;
    }
    case MO_T_DECIMAL64: {
        int64_t lim = 1;
        for (int i = 0; i < t->width && i < 18; i++)
            lim *= 10;
        int64_t x = key >= 0 ? key : (int64_t)(r % (uint64_t)lim) * ((r >> 63) ? -1 : 1);
        mo_store_le64(v, (uint64_t)x);
        break;
    }
    case MO_T_DECIMAL128: {
        int64_t x = key >= 0 ? key : (int64_t)(r >> 8) * ((r & 1) ? -1 : 1);
        mo_store_le64(v, (uint64_t)x);
        mo_store_le64(v + 8, x < 0 ? ~0ull : 0);
        break;
    }
    case MO_T_DATE:
        mo_store_le32(v, (uint32_t)(key >= 0 ? 700000 + key : 700000 + (int64_t)(r % 40000)));
        break;
    case MO_T_TIME: case MO_T_DATETIME: case MO_T_TIMESTAMP: {
        int64_t unit = 1;
        for (int i = t->scale; i < 6; i++)
            unit *= 10;
        int64_t x;
        if (t->oid == MO_T_TIME)
            x = key >= 0 ? key * unit : ((int64_t)(r % 3000000000000ull) - 1500000000000) / unit * unit;
        else
            x = 62135596800000000 + (key >= 0 ? key * unit : (int64_t)(r % 2000000000000000ull) / unit * unit);
        mo_store_le64(v, (uint64_t)x);
        break;
    }
    case MO_T_YEAR:
        mo_store_le16(v, (uint16_t)(key >= 0 ? 1901 + key : 1901 + (int64_t)(r % 254)));
        break;
    case MO_T_UUID:
        if (key >= 0) {
            for (int i = 0; i < 8; i++)
                v[15 - i] = (uint8_t)(key >> (8 * i));
        } else {
            mo_store_le64(v, r);
            mo_store_le64(v + 8, rnd(s));
        }
        break;
    case MO_T_TS: {
        mo_obj_ts ts = {1700000000000000000ll + (key >= 0 ? key : (int64_t)(r % 1000000)),
                        (uint32_t)(key >= 0 ? 0 : r % 4)};
        mo_obj_ts_encode(v, ts);
        break;
    }
    case MO_T_ROWID: {
        mo_obj_objectid id = {{0}, 0};
        mo_store_le64(id.seg, 0x0191b752b7af76d9ull);
        uint64_t k = key >= 0 ? (uint64_t)key : r % 1000000;
        mo_obj_rowid_make(v, &id, (uint16_t)(k / 8192), (uint32_t)(k % 8192));
        break;
    }
    default:
        if (mo_obj_type_is_varlena(t->oid)) {
            char b[96];
            size_t n;
            if (key >= 0) {
                n = (size_t)snprintf(b, sizeof(b), "k%016" PRId64, key);
            } else if (mo_obj_type_is_array(t->oid)) {
                int el = mo_obj_type_array_elem(t->oid);
                int dim = t->width > 0 && t->width <= 8 ? t->width : 3;
                n = (size_t)(el * dim);
                for (size_t i = 0; i < n; i++)
                    b[i] = (char)rnd(s);
                if (t->oid == MO_T_VECF32 || t->oid == MO_T_VECF64)
                    for (int i = 0; i < dim; i++) {
                        double d = (double)(rnd(s) % 100000) / 64.0;
                        if (el == 4) {
                            float f = (float)d;
                            memcpy(b + 4 * i, &f, 4);
                        } else {
                            memcpy(b + 8 * i, &d, 8);
                        }
                    }
            } else {
                size_t maxlen = t->width > 0 && t->width < 60 ? (size_t)t->width : 60;
                n = (size_t)(r % (maxlen + 1));
                bool text = t->oid == MO_T_CHAR || t->oid == MO_T_VARCHAR || t->oid == MO_T_TEXT;
                for (size_t i = 0; i < n; i++)
                    b[i] = text ? (char)('a' + rnd(s) % 26) : (char)rnd(s);
            }
            return mo_obj_colbuf_append_bytes(c, b, n);
        }
        return MO_EINVAL;
    }
    return mo_obj_colbuf_append_fixed(c, v);
}

/* ---- CSV (RFC 4180) reading ---- */

typedef struct csv_rd {
    const char *p, *end;
    mo_buf field;
} csv_rd;

/* Next field into r->field; *eol set when it ended a record. 1 = got field, 0 = EOF. */
static int csv_next(csv_rd *r, bool *eol, bool *quoted, mo_err *err)
{
    r->field.len = 0;
    *quoted = false;
    if (r->p >= r->end)
        return 0;
    if (*r->p == '"') {
        *quoted = true;
        r->p++;
        for (;;) {
            if (r->p >= r->end)
                return mo_err_set(err, MO_EINVAL, "csv: unterminated quoted field");
            if (*r->p == '"') {
                if (r->p + 1 < r->end && r->p[1] == '"') {
                    mo_buf_put_u8(&r->field, '"');
                    r->p += 2;
                    continue;
                }
                r->p++;
                break;
            }
            mo_buf_put_u8(&r->field, (uint8_t)*r->p++);
        }
    } else {
        while (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r')
            mo_buf_put_u8(&r->field, (uint8_t)*r->p++);
    }
    *eol = true;
    if (r->p < r->end && *r->p == ',') {
        *eol = false;
        r->p++;
    } else if (r->p < r->end && *r->p == '\r') {
        r->p++;
        if (r->p < r->end && *r->p == '\n')
            r->p++;
    } else if (r->p < r->end && *r->p == '\n') {
        r->p++;
    } else if (r->p < r->end) {
        return mo_err_set(err, MO_EINVAL, "csv: junk after a quoted field");
    }
    return 1;
}

static int load_csv(mo_obj_colbuf *cb, size_t ncols, const char *path, mo_err *err)
{
    uint8_t *data;
    size_t len;
    int rc = mo_sys_read_file(&data, &len, path, err);
    if (rc < 0)
        return rc;
    csv_rd r = {(const char *)data, (const char *)data + len, MO_BUF_INIT};
    bool eol, quoted;
    uint64_t line = 1;
    /* header: c<seqnum>, one per column */
    for (size_t i = 0; i < ncols; i++) {
        int g = csv_next(&r, &eol, &quoted, err);
        if (g <= 0 || (eol != (i + 1 == ncols))) {
            rc = g < 0 ? g : mo_err_set(err, MO_EINVAL, "%s: header must have %zu columns", path, ncols);
            goto out;
        }
    }
    while (r.p < r.end) {
        line++;
        for (size_t i = 0; i < ncols; i++) {
            int g = csv_next(&r, &eol, &quoted, err);
            if (g < 0) {
                rc = g;
                goto out;
            }
            if (g == 0 || eol != (i + 1 == ncols)) {
                rc = mo_err_set(err, MO_EINVAL, "%s: line %" PRIu64 ": want %zu fields", path, line, ncols);
                goto out;
            }
            if (!quoted && r.field.len == 2 && !memcmp(r.field.ptr, "\\N", 2))
                rc = mo_obj_colbuf_append_null(&cb[i]);
            else
                rc = mo_obj_value_parse_append(&cb[i], r.field.len ? (const char *)r.field.ptr : "",
                                               r.field.len, err);
            if (rc < 0) {
                mo_err_prefix(err, "%s: line %" PRIu64 " field %zu: ", path, line, i + 1);
                goto out;
            }
        }
    }
out:
    mo_buf_dispose(&r.field);
    mo_free(data);
    return rc;
}

typedef struct sort_ctx {
    const mo_obj_vec *v;
} sort_ctx;
static sort_ctx g_sort; /* qsort has no payload argument in C11 */

static int cmp_rows(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const mo_obj_vec *v = g_sort.v;
    bool nx = mo_obj_vec_is_null(v, x), ny = mo_obj_vec_is_null(v, y);
    if (nx || ny)
        return nx == ny ? (x > y) - (x < y) : (nx ? -1 : 1);
    const uint8_t *p, *q;
    uint32_t pn, qn;
    mo_obj_vec_value(v, x, &p, &pn);
    mo_obj_vec_value(v, y, &q, &qn);
    int c = mo_obj_value_cmp(v->type.oid, p, pn, q, qn);
    return c ? c : (x > y) - (x < y);
}

int mo_cli_gen_object(const mo_cli_genspec *g, const char *dir, char path_out[4096],
                      mo_obj_stats *stats, mo_err *err)
{
    enum { MAXC = 256 };
    mo_obj_writer_col wc[MAXC + 3];
    size_t nw = 0;
    if (g->ncols > MAXC)
        return mo_err_set(err, MO_EINVAL, "at most %d columns", MAXC);
    if (g->tombstone)
        wc[nw++] = (mo_obj_writer_col){mo_obj_type_default(MO_T_ROWID), 0};
    for (size_t i = 0; i < g->ncols; i++)
        wc[nw++] = (mo_obj_writer_col){g->cols[i].type, (uint16_t)(i + (g->tombstone ? 1 : 0))};
    if (g->appendable) {
        wc[nw++] = (mo_obj_writer_col){mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS};
        wc[nw++] = (mo_obj_writer_col){mo_obj_type_default(MO_T_BOOL), MO_OBJ_SEQNUM_ABORT};
    }
    int sort_col = g->tombstone ? 0 : g->pk >= 0 ? g->pk : (g->sorted ? 0 : -1);
    mo_obj_writer_opts o = {0};
    o.kind = g->tombstone ? MO_OBJ_KIND_TOMBSTONE
             : g->appendable ? MO_OBJ_KIND_APPENDABLE : MO_OBJ_KIND_DATA;
    o.pk_pos = g->tombstone ? 1 : g->pk;
    o.sort_key_pos = g->sorted || g->tombstone ? sort_col : -1;
    o.stats_flags = (g->sorted || g->tombstone ? MO_OBJ_STATS_SORTED : 0) |
                    (g->appendable ? 0 : MO_OBJ_STATS_CNCREATED);
    mo_obj_writer *w = NULL;
    mo_obj_colbuf cb[MAXC + 3];
    mo_obj_vec views[MAXC + 3];
    mo_obj_colbuf all[MAXC + 3];
    bool have_all = false;
    mo_buf file = MO_BUF_INIT;
    uint32_t *perm = NULL;
    for (size_t i = 0; i < nw; i++) {
        mo_obj_colbuf_init(&cb[i], &wc[i].type);
        mo_obj_colbuf_init(&all[i], &wc[i].type);
    }
    int rc = mo_obj_writer_new(&w, wc, nw, &o, err);
    if (rc < 0)
        goto out;
    uint64_t seed = g->seed ? g->seed : 1;
    uint64_t rows = g->rows;
    size_t first = g->tombstone ? 1 : 0; /* index of the first schema column in wc */
    if (g->csv && g->tombstone)
        first = 0; /* a tombstone CSV carries the deleted rowid as its first column */
    if (g->csv) {
        rc = load_csv(all + first, g->ncols + (g->tombstone ? 1 : 0), g->csv, err);
        if (rc < 0)
            goto out;
        have_all = true;
        rows = all[first].rows;
        if (rows == 0) {
            rc = mo_err_set(err, MO_EINVAL, "%s: no rows", g->csv);
            goto out;
        }
        perm = mo_malloc(rows * sizeof(*perm));
        if (!perm) {
            rc = mo_err_set(err, MO_ENOMEM, "row permutation");
            goto out;
        }
        for (uint32_t i = 0; i < rows; i++)
            perm[i] = i;
        if (g->sorted && sort_col >= 0) {
            mo_obj_vec sv;
            mo_obj_colbuf_view(&sv, &all[(size_t)sort_col]);
            g_sort.v = &sv;
            qsort(perm, rows, sizeof(*perm), cmp_rows);
        }
    }
    if (rows == 0 || rows > UINT32_MAX) {
        rc = mo_err_set(err, MO_EINVAL, "rows must be 1..4294967295");
        goto out;
    }
    for (uint64_t base = 0; base < rows; base += MO_OBJ_BLOCK_MAX_ROWS) {
        uint32_t n = rows - base < MO_OBJ_BLOCK_MAX_ROWS ? (uint32_t)(rows - base) : MO_OBJ_BLOCK_MAX_ROWS;
        for (size_t i = 0; i < nw; i++)
            mo_obj_colbuf_reset(&cb[i]);
        for (uint32_t k = 0; k < n && rc == MO_OK; k++) {
            int64_t row = (int64_t)(base + k);
            for (size_t i = 0; i < nw && rc == MO_OK; i++) {
                uint16_t seq = wc[i].seqnum;
                if (seq == MO_OBJ_SEQNUM_COMMITTS) {
                    uint8_t ts[12];
                    mo_obj_ts_encode(ts, (mo_obj_ts){1700000000000000000ll + row * 1000, 0});
                    rc = mo_obj_colbuf_append_fixed(&cb[i], ts);
                } else if (seq == MO_OBJ_SEQNUM_ABORT) {
                    uint8_t ab = row % 50 == 49;
                    rc = mo_obj_colbuf_append_fixed(&cb[i], &ab);
                } else if (have_all && i >= first) {
                    mo_obj_vec av;
                    mo_obj_colbuf_view(&av, &all[i]);
                    rc = mo_obj_colbuf_append_from(&cb[i], &av, perm[row]);
                } else {
                    bool key = g->tombstone ? i == 0 : (int)(i - first) == sort_col && (g->sorted || g->pk >= 0);
                    rc = gen_value(&cb[i], &seed, key ? (g->tombstone ? row * 3 : row) : -1);
                }
            }
        }
        if (rc < 0) {
            if (rc == MO_ENOMEM)
                mo_err_set(err, rc, "generating rows");
            goto out;
        }
        for (size_t i = 0; i < nw; i++)
            mo_obj_colbuf_view(&views[i], &cb[i]);
        if ((rc = mo_obj_writer_add_block(w, views, err)) < 0)
            goto out;
    }
    if ((rc = mo_obj_writer_finish(w, &file, stats, err)) < 0)
        goto out;
    char name[43];
    mo_obj_name_format(name, mo_obj_writer_id(w));
    if ((size_t)snprintf(path_out, 4096, "%s/%s", dir, name) >= 4096) {
        rc = mo_err_set(err, MO_EINVAL, "output path too long");
        goto out;
    }
    rc = mo_cli_write_object(path_out, file.ptr, file.len, g->framed, err);
out:
    for (size_t i = 0; i < nw; i++) {
        mo_obj_colbuf_dispose(&cb[i]);
        mo_obj_colbuf_dispose(&all[i]);
    }
    mo_free(perm);
    mo_buf_dispose(&file);
    mo_obj_writer_free(w);
    return rc;
}
