/* `mosync inspect` (header, meta, blocks, columns with decoded zone maps, ObjectStats) and
 * `mosync dump` (every row as RFC 4180 CSV with c<seqnum> headers). */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static int open_loaded(mo_obj_reader **r, const char *path)
{
    mo_err e = {0};
    mo_obj_where w;
    int rc = mo_obj_reader_open(r, path, &e);
    if (rc == MO_OK && (rc = mo_obj_reader_load_meta(*r, &w, &e)) < 0) {
        mo_obj_reader_free(*r);
        *r = NULL;
    }
    if (rc < 0)
        fprintf(stderr, "mosync: %s\n", e.msg);
    return rc;
}

/* Decoded text of a zone-map bound (value text; strings may be truncated prefixes). */
static void zm_bound(mo_buf *o, const mo_obj_zm *zm, bool max, bool json)
{
    const uint8_t *p;
    size_t n;
    bool inf = false;
    if (!mo_obj_zm_initialized(zm)) {
        mo_buf_printf(o, json ? "null" : "-");
        return;
    }
    if (max)
        mo_obj_zm_max(zm, &p, &n, &inf);
    else
        mo_obj_zm_min(zm, &p, &n);
    if (inf) {
        mo_buf_printf(o, json ? "\"+inf\"" : "+inf");
        return;
    }
    mo_obj_type t = mo_obj_type_default(zm->b[63]);
    t.scale = zm->b[62] & 0x3f;
    mo_buf v = MO_BUF_INIT;
    if (mo_obj_type_size(t.oid) < 0 ||
        (!mo_obj_type_is_varlena(t.oid) && n != (size_t)t.size) ||
        mo_obj_value_format(&v, &t, p, (uint32_t)n) < 0) {
        v.len = 0;
        mo_buf_printf(&v, "0x");
        for (size_t i = 0; i < n; i++)
            mo_buf_printf(&v, "%02x", p[i]);
    }
    mo_buf_cstr(&v);
    if (json)
        mo_cli_json_str(o, v.ptr ? (const char *)v.ptr : "");
    else
        mo_buf_put(o, v.ptr, v.len);
    mo_buf_dispose(&v);
}

static void ext(mo_buf *o, const mo_obj_extent *e, bool json)
{
    if (json)
        mo_buf_printf(o, "{\"alg\":%u,\"offset\":%u,\"length\":%u,\"origin_size\":%u}", e->alg,
                      e->offset, e->length, e->origin_size);
    else
        mo_buf_printf(o, "%u_%u_%u_%u", e->alg, e->offset, e->length, e->origin_size);
}

static void colmeta(mo_buf *o, const mo_obj_colmeta *c, uint16_t seq, bool json)
{
    const char *tn = mo_obj_type_name(c->type);
    if (json) {
        mo_buf_printf(o, "{\"seqnum\":%u,\"type\":", seq);
        mo_cli_json_str(o, tn ? tn : "-");
        mo_buf_printf(o, ",\"oid\":%u,\"idx\":%u,\"ndv\":%u,\"nulls\":%u,\"extent\":", c->type,
                      c->idx, c->ndv, c->null_count);
        ext(o, &c->extent, json);
        mo_buf_printf(o, ",\"zm_min\":");
        zm_bound(o, &c->zm, false, json);
        mo_buf_printf(o, ",\"zm_max\":");
        zm_bound(o, &c->zm, true, json);
        mo_buf_printf(o, "}");
    } else {
        mo_buf_printf(o, "      seqnum %-5u %-10s idx %-3u ndv %-8u nulls %-6u extent ", seq,
                      tn ? tn : "-", c->idx, c->ndv, c->null_count);
        ext(o, &c->extent, json);
        mo_buf_printf(o, " zm [");
        zm_bound(o, &c->zm, false, json);
        mo_buf_printf(o, ", ");
        zm_bound(o, &c->zm, true, json);
        mo_buf_printf(o, "]\n");
    }
}

static void hdr_text(mo_buf *o, const mo_obj_blkhdr *h, bool json)
{
    if (json) {
        mo_buf_printf(o, "\"sequence\":%u,\"rows\":%u,\"column_count\":%u,\"meta_column_count\":%u,"
                         "\"max_seqnum\":%u,\"start_id\":%u,\"appendable\":%u,\"sort_key\":%u,"
                         "\"bf_type\":%u,\"bf_extent\":",
                      h->sequence, h->rows, h->column_count, h->meta_column_count, h->max_seqnum,
                      h->start_id, h->appendable, h->sort_key, h->bf_type);
        ext(o, &h->bf_extent, json);
        mo_buf_printf(o, ",\"zm_area\":");
        ext(o, &h->zm_area, json);
    } else {
        mo_buf_printf(o, "sequence %u rows %u columns %u/%u maxSeqnum %u startID %u appendable %u "
                         "sortKey %u bfType %u bf ",
                      h->sequence, h->rows, h->column_count, h->meta_column_count, h->max_seqnum,
                      h->start_id, h->appendable, h->sort_key, h->bf_type);
        ext(o, &h->bf_extent, json);
        mo_buf_printf(o, " zm ");
        ext(o, &h->zm_area, json);
        mo_buf_printf(o, "\n");
    }
}

int mo_cli_inspect(int argc, char **argv)
{
    bool json = false;
    static const struct option lo[] = {{"json", no_argument, NULL, 'J'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'J')
            json = true;
        else
            return MO_CLI_USAGE;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: mosync inspect [--json] FILE\n");
        return MO_CLI_USAGE;
    }
    mo_obj_reader *r;
    int rc = open_loaded(&r, argv[optind]);
    if (rc < 0)
        return mo_cli_exit_for(rc);
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    mo_obj_extent me = mo_obj_reader_meta_extent(r);
    mo_obj_stats st;
    mo_obj_reader_stats(r, &st, NULL);
    mo_buf o = MO_BUF_INIT;
    if (json) {
        mo_buf_printf(&o, "{\"file\":");
        mo_cli_json_str(&o, argv[optind]);
        mo_buf_printf(&o, ",\"framed\":%s,\"physical_size\":%" PRIu64 ",\"logical_size\":%" PRIu64
                          ",\"header\":{\"version\":1,\"schema_version\":%u,\"meta_extent\":",
                      mo_obj_reader_framed(r) ? "true" : "false", mo_obj_reader_physical_size(r),
                      mo_obj_reader_size(r), mo_obj_reader_schema_version(r));
        ext(&o, &me, json);
        mo_buf_printf(&o, "},\"meta\":{\"version\":%u,\"data_meta_count\":%u,\"sub_meta_count\":%u,"
                          "\"slots\":[",
                      m->version, m->data_meta_count, m->sub_meta_count);
    } else {
        mo_buf_printf(&o, "file %s (%s, %" PRIu64 " physical / %" PRIu64 " logical bytes)\n",
                      argv[optind], mo_obj_reader_framed(r) ? "DISK-framed" : "raw",
                      mo_obj_reader_physical_size(r), mo_obj_reader_size(r));
        mo_buf_printf(&o, "header: version 1 schema_version %u meta ", mo_obj_reader_schema_version(r));
        ext(&o, &me, json);
        mo_buf_printf(&o, "\nmeta: version %u, %u data blocks, %u sub metas, %u slots\n",
                      m->version, m->data_meta_count, m->sub_meta_count, m->slot_count);
    }
    for (uint32_t s = 0; s < m->slot_count; s++) {
        const mo_obj_slotmeta *sl = &m->slots[s];
        if (json) {
            mo_buf_printf(&o, "%s{\"slot\":%u,", s ? "," : "", s);
            hdr_text(&o, &sl->hdr, json);
            mo_buf_printf(&o, ",\"columns\":[");
        } else {
            mo_buf_printf(&o, "  slot %u: ", s);
            hdr_text(&o, &sl->hdr, json);
        }
        bool first = true;
        for (uint16_t q = 0; q < sl->hdr.meta_column_count; q++) {
            const mo_obj_colmeta *cm = &sl->cols[q];
            if (!cm->extent.length && !cm->ndv && !cm->null_count && !cm->zm.b[63])
                continue;
            if (json && !first)
                mo_buf_put_u8(&o, ',');
            first = false;
            colmeta(&o, cm, q, json);
        }
        if (json)
            mo_buf_printf(&o, "],\"blocks\":[");
        for (uint32_t b = 0; b < sl->block_count; b++) {
            const mo_obj_blockmeta *bm = &sl->blocks[b];
            if (json) {
                mo_buf_printf(&o, "%s{", b ? "," : "");
                hdr_text(&o, &bm->hdr, json);
                mo_buf_printf(&o, ",\"columns\":[");
            } else {
                mo_buf_printf(&o, "    block %u: ", b);
                hdr_text(&o, &bm->hdr, json);
            }
            first = true;
            for (uint16_t q = 0; q < bm->hdr.meta_column_count; q++) {
                if (!bm->cols[q].type)
                    continue;
                if (json && !first)
                    mo_buf_put_u8(&o, ',');
                first = false;
                colmeta(&o, &bm->cols[q], q, json);
            }
            if (json)
                mo_buf_printf(&o, "]}");
        }
        if (json)
            mo_buf_printf(&o, "]}");
    }
    char name[43];
    mo_obj_name_format(name, &st.id);
    if (json) {
        mo_buf_printf(&o, "]},\"object_stats\":{\"name\":\"%s\",\"extent\":", name);
        ext(&o, &st.extent, json);
        mo_buf_printf(&o, ",\"rows\":%u,\"block_count\":%u,\"size\":%u,\"origin_size\":%u,"
                          "\"flags\":%u,\"level\":%d}}\n",
                      st.rows, st.block_count, st.size, st.origin_size, st.flags,
                      mo_obj_stats_level(&st));
        fwrite(o.ptr, 1, o.len, stdout);
    } else {
        fwrite(o.ptr, 1, o.len, stdout);
        printf("ObjectStats: ");
        mo_cli_print_stats(stdout, &st);
    }
    mo_buf_dispose(&o);
    mo_obj_reader_free(r);
    return MO_CLI_OK;
}

int mo_cli_dump(int argc, char **argv)
{
    static const struct option lo[] = {{"format", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c != 'f' || strcmp(optarg, "csv")) {
            fprintf(stderr, "mosync dump: only --format csv is supported\n");
            return MO_CLI_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: mosync dump [--format csv] FILE\n");
        return MO_CLI_USAGE;
    }
    mo_obj_reader *r;
    int rc = open_loaded(&r, argv[optind]);
    if (rc < 0)
        return mo_cli_exit_for(rc);
    const mo_obj_slotmeta *sl = &mo_obj_reader_meta(r)->slots[0];
    mo_buf o = MO_BUF_INIT, val = MO_BUF_INIT;
    enum { MAXC = 4096 };
    static int seqs[MAXC];
    static mo_buf scratch[MAXC];
    static mo_obj_vec vecs[MAXC];
    int ncols = 0;
    if (sl->block_count) {
        const mo_obj_blockmeta *b0 = &sl->blocks[0];
        /* columns in position order */
        for (int pos = 0; pos < b0->hdr.column_count && pos < MAXC; pos++)
            for (uint16_t q = 0; q < b0->hdr.meta_column_count; q++)
                if (b0->cols[q].type && b0->cols[q].idx == pos)
                    seqs[ncols++] = q;
    }
    for (int i = 0; i < ncols; i++)
        mo_buf_printf(&o, "%sc%d", i ? "," : "", seqs[i]);
    mo_buf_put_u8(&o, '\n');
    for (uint32_t b = 0; b < sl->block_count && rc == MO_OK; b++) {
        mo_err e = {0};
        for (int i = 0; i < ncols && rc == MO_OK; i++)
            rc = mo_obj_reader_column(r, &vecs[i], &scratch[i], b, (uint16_t)seqs[i], NULL, &e);
        if (rc < 0) {
            fprintf(stderr, "mosync dump: %s\n", e.msg);
            break;
        }
        for (uint32_t row = 0; row < sl->blocks[b].hdr.rows; row++) {
            for (int i = 0; i < ncols; i++) {
                if (i)
                    mo_buf_put_u8(&o, ',');
                if (row >= vecs[i].length || mo_obj_vec_is_null(&vecs[i], row)) {
                    mo_buf_put(&o, "\\N", 2);
                    continue;
                }
                const uint8_t *p;
                uint32_t n;
                mo_obj_vec_value(&vecs[i], row, &p, &n);
                val.len = 0;
                mo_obj_value_format(&val, &vecs[i].type, p, n);
                /* a literal \N text value must be quoted to stay distinct from NULL */
                if (val.len == 2 && !memcmp(val.ptr, "\\N", 2))
                    mo_buf_put(&o, "\"\\N\"", 4);
                else
                    mo_obj_csv_field(&o, val.ptr ? (const char *)val.ptr : "", val.len);
            }
            mo_buf_put_u8(&o, '\n');
            if (o.len > (1u << 20)) {
                fwrite(o.ptr, 1, o.len, stdout);
                o.len = 0;
            }
        }
    }
    fwrite(o.ptr ? (const char *)o.ptr : "", 1, o.len, stdout);
    for (int i = 0; i < ncols; i++)
        mo_buf_dispose(&scratch[i]);
    mo_buf_dispose(&o);
    mo_buf_dispose(&val);
    mo_obj_reader_free(r);
    return mo_cli_exit_for(rc);
}
