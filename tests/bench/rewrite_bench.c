/*
 * mo_rewrite_bench: times mo_obj_rewrite_appendable over the appendable objects of PATHs as
 * the sync calls it (the object's own columns, the table's PK as PK and sort key, the snapshot
 * after every commit), from memory, and counts the rewrites that took the fast path.
 *
 * usage: mo_rewrite_bench [--slow] [--check] [--reps N] [--key SEQ] PATH...
 *        mo_rewrite_bench --clean OUTDIR [--key SEQ] PATH...
 * --key SEQ  the seqnum of the PK (and sort key); `auto`: the one column whose object NDV is
 *            the row count (MO's PK mark, what the sync gets from the catalog); none by default
 * --slow     opts.no_fast_path: every row decoded and re-encoded, as before the fast path
 * --check    rewrites each object both ways (same object id) and compares the bytes
 * --clean    writes each appendable object's committed, non-aborted rows again as an
 *            appendable object with the same columns and PK: what the fast path is for
 *            (`mosync gen` and `mkobj --appendable` put aborted rows in every object)
 * Prints one line: objects, input MB, fast-path count, CPU and wall seconds of the best rep.
 * -DMO_BENCH_OLD builds it against a tree without the fast path (no --slow/--check).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mo/objfmt.h"

typedef struct obj {
    char *path;
    uint8_t *p;
    size_t n;
} obj;

typedef struct objs {
    obj *v;
    size_t n, cap;
} objs;

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads the appendable objects under @p path (files or directories, names starting with '.'
 * skipped) into memory. */
static int load_path(objs *o, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "mo_rewrite_bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return -1;
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                names = realloc(names, cap * sizeof(*names));
            }
            size_t l = strlen(path) + strlen(de->d_name) + 2;
            names[n] = malloc(l);
            snprintf(names[n++], l, "%s/%s", path, de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(*names), cmpstr);
        int rc = 0;
        for (size_t i = 0; i < n; i++) {
            if (rc == 0)
                rc = load_path(o, names[i]);
            free(names[i]);
        }
        free(names);
        return rc;
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *p = malloc((size_t)st.st_size ? (size_t)st.st_size : 1);
    size_t got = fread(p, 1, (size_t)st.st_size, f);
    fclose(f);
    mo_obj_reader *r;
    mo_err err = {0};
    bool appendable = false;
    if (got == (size_t)st.st_size && mo_obj_reader_open_mem(&r, p, got, path, &err) == MO_OK) {
        appendable = mo_obj_reader_load_meta(r, NULL, &err) == MO_OK &&
                     mo_obj_reader_meta(r)->slots[0].hdr.appendable;
        mo_obj_reader_free(r);
    }
    if (!appendable) {
        free(p);
        return 0;
    }
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 64;
        o->v = realloc(o->v, o->cap * sizeof(*o->v));
    }
    o->v[o->n++] = (obj){strdup(path), p, got};
    return 0;
}

static double now(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* --key auto: the user column whose object NDV is the row count, if exactly one. */
static int key_of(mo_obj_reader *r, int key_seq)
{
    if (key_seq != -2)
        return key_seq;
    const mo_obj_slotmeta *sl = &mo_obj_reader_meta(r)->slots[0];
    int k = -1;
    for (uint16_t s = 0; s <= sl->hdr.max_seqnum && s < sl->hdr.meta_column_count; s++)
        if (sl->cols[s].ndv == sl->hdr.rows) {
            if (k >= 0)
                return -1;
            k = s;
        }
    return k;
}

/* A reader over @p x and the columns a rewrite keeps (the object's own). */
static int open_obj(mo_obj_reader **r, mo_obj_writer_col **cols, size_t *nc, const obj *x,
                    mo_err *err)
{
    *cols = NULL;
    *nc = 0;
    int rc = mo_obj_reader_open_mem(r, x->p, x->n, x->path, err);
    if (rc == MO_OK)
        rc = mo_obj_rewrite_columns(cols, nc, *r, err);
    return rc;
}

/* Rewrites @p x as the sync does; @p out gets the object. */
static int rewrite(mo_buf *out, bool *fast, const obj *x, int key_seq, bool slow,
                   const mo_obj_objectid *id)
{
    mo_obj_reader *r;
    mo_err err = {0};
    mo_obj_writer_col *cols;
    size_t nc;
    int rc = open_obj(&r, &cols, &nc, x, &err);
    if (rc == MO_OK) {
        key_seq = key_of(r, key_seq);
        mo_obj_rewrite_opts o;
        memset(&o, 0, sizeof(o));
        o.cols = cols;
        o.ncols = nc;
        o.sort_key_pos = o.pk_pos = -1;
        for (size_t i = 0; i < nc; i++)
            if (cols[i].seqnum == key_seq)
                o.sort_key_pos = o.pk_pos = (int)i;
        o.stats_flags = MO_OBJ_STATS_CNCREATED;
        o.id = id;
#ifndef MO_BENCH_OLD
        o.no_fast_path = slow;
#else
        (void)slow;
#endif
        const mo_obj_ts snap = {INT64_MAX, UINT32_MAX};
        mo_obj_rewrite_result res;
        rc = mo_obj_rewrite_appendable(out, &res, r, snap, &o, &err);
#ifndef MO_BENCH_OLD
        *fast = res.fast;
#else
        *fast = false;
#endif
        if (rc == MO_ENOTFOUND)
            rc = MO_OK;
        mo_obj_rewrite_result_dispose(&res);
    }
    if (rc < 0)
        fprintf(stderr, "mo_rewrite_bench: %s: %s\n", x->path, err.msg);
    mo_free(cols);
    mo_obj_reader_free(r);
    return rc;
}

/* Writes @p x's committed, non-aborted rows as a new appendable object into @p dir. */
static int clean(const char *dir, const obj *x, int key_seq)
{
    mo_obj_reader *r;
    mo_err err = {0};
    mo_obj_writer_col *cols;
    size_t nc;
    int rc = open_obj(&r, &cols, &nc, x, &err);
    if (rc < 0) {
        fprintf(stderr, "mo_rewrite_bench: %s: %s\n", x->path, err.msg);
        mo_obj_reader_free(r);
        return rc;
    }
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    const mo_obj_slotmeta *sl = &m->slots[0];
    mo_obj_special sp;
    mo_obj_meta_special(&sp, m);
    key_seq = key_of(r, key_seq);
    const size_t nw = nc + 2;
    mo_obj_writer_col *wc = calloc(nw, sizeof(*wc));
    mo_obj_colbuf *all = calloc(nw, sizeof(*all));
    memcpy(wc, cols, nc * sizeof(*wc));
    wc[nc] = (mo_obj_writer_col){mo_obj_type_default(MO_T_TS), MO_OBJ_SEQNUM_COMMITTS};
    wc[nc + 1] = (mo_obj_writer_col){mo_obj_type_default(MO_T_BOOL), MO_OBJ_SEQNUM_ABORT};
    for (size_t c = 0; c < nw; c++)
        mo_obj_colbuf_init(&all[c], &wc[c].type);
    mo_buf s0 = MO_BUF_INIT, s1 = MO_BUF_INIT;
    for (uint32_t b = 0; rc == MO_OK && b < sl->block_count; b++) {
        mo_obj_vec ab, v;
        bool have_ab = sp.abort >= 0 &&
                       mo_obj_reader_column(r, &ab, &s1, b, (uint16_t)sp.abort, NULL, &err) == MO_OK;
        for (size_t c = 0; rc == MO_OK && c < nw; c++) {
            const uint16_t seq = c == nc ? (uint16_t)sp.commit_ts : wc[c].seqnum;
            if (c == nc + 1) { /* abort: false for every kept row */
                for (uint32_t i = 0; i < sl->blocks[b].hdr.rows; i++) {
                    const uint8_t f = 0;
                    if (!have_ab || mo_obj_vec_is_null(&ab, i) || !mo_obj_vec_slot(&ab, i)[0])
                        rc = mo_obj_colbuf_append_fixed(&all[c], &f);
                }
                continue;
            }
            rc = mo_obj_reader_column(r, &v, &s0, b, seq, NULL, &err);
            for (uint32_t i = 0; rc == MO_OK && i < v.length; i++)
                if (!have_ab || mo_obj_vec_is_null(&ab, i) || !mo_obj_vec_slot(&ab, i)[0])
                    rc = mo_obj_colbuf_append_from(&all[c], &v, i);
        }
    }
    mo_obj_writer_opts wo;
    memset(&wo, 0, sizeof(wo));
    wo.kind = MO_OBJ_KIND_APPENDABLE;
    wo.pk_pos = -1;
    wo.sort_key_pos = -1;
    wo.schema_version = mo_obj_reader_schema_version(r);
    for (size_t i = 0; i < nc; i++)
        if (cols[i].seqnum == key_seq)
            wo.pk_pos = (int)i;
    mo_obj_writer *w = NULL;
    mo_buf file = MO_BUF_INIT;
    if (rc == MO_OK)
        rc = mo_obj_writer_new(&w, wc, nw, &wo, &err);
    mo_obj_vec *views = calloc(nw, sizeof(*views));
    mo_obj_colbuf *bufs = calloc(nw, sizeof(*bufs));
    for (size_t c = 0; c < nw; c++)
        mo_obj_colbuf_init(&bufs[c], &wc[c].type);
    const uint32_t rows = all[0].rows;
    for (uint32_t base = 0; rc == MO_OK && base < rows; base += MO_OBJ_BLOCK_MAX_ROWS) {
        const uint32_t n = rows - base < MO_OBJ_BLOCK_MAX_ROWS ? rows - base : MO_OBJ_BLOCK_MAX_ROWS;
        for (size_t c = 0; rc == MO_OK && c < nw; c++) {
            mo_obj_vec av;
            mo_obj_colbuf_view(&av, &all[c]);
            mo_obj_colbuf_reset(&bufs[c]);
            rc = mo_obj_colbuf_append_range(&bufs[c], &av, base, n);
            mo_obj_colbuf_view(&views[c], &bufs[c]);
        }
        if (rc == MO_OK)
            rc = mo_obj_writer_add_block(w, views, &err);
    }
    if (rc == MO_OK && rows)
        rc = mo_obj_writer_finish(w, &file, NULL, &err);
    if (rc == MO_OK && rows) {
        char name[43], path[4200];
        mo_obj_name_format(name, mo_obj_writer_id(w));
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(file.ptr, 1, file.len, f) != file.len)
            rc = MO_EIO;
        if (f)
            fclose(f);
    }
    if (rc < 0)
        fprintf(stderr, "mo_rewrite_bench: --clean %s: %s\n", x->path, err.msg);
    for (size_t c = 0; c < nw; c++) {
        mo_obj_colbuf_dispose(&all[c]);
        mo_obj_colbuf_dispose(&bufs[c]);
    }
    free(all);
    free(bufs);
    free(views);
    free(wc);
    mo_buf_dispose(&s0);
    mo_buf_dispose(&s1);
    mo_buf_dispose(&file);
    mo_obj_writer_free(w);
    mo_free(cols);
    mo_obj_reader_free(r);
    return rc;
}

int main(int argc, char **argv)
{
    bool slow = false, check = false;
    int reps = 3, key = -1;
    const char *clean_dir = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--slow"))
            slow = true;
        else if (!strcmp(argv[i], "--check"))
            check = true;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--key") && i + 1 < argc)
            key = !strcmp(argv[i + 1], "auto") ? -2 : (int)strtol(argv[i + 1], NULL, 10), i++;
        else if (!strcmp(argv[i], "--clean") && i + 1 < argc)
            clean_dir = argv[++i];
        else
            break;
    }
    if (i >= argc || reps < 1) {
        fprintf(stderr, "usage: mo_rewrite_bench [--slow] [--check] [--reps N] [--key SEQ] PATH...\n"
                        "       mo_rewrite_bench --clean OUTDIR [--key SEQ] PATH...\n");
        return 2;
    }
#ifdef MO_BENCH_OLD
    if (slow || check) {
        fprintf(stderr, "mo_rewrite_bench: built without the fast path: no --slow/--check\n");
        return 2;
    }
#endif
    objs o = {0};
    for (; i < argc; i++)
        if (load_path(&o, argv[i]) < 0)
            return 1;
    uint64_t bytes = 0;
    for (size_t k = 0; k < o.n; k++)
        bytes += o.v[k].n;
    if (clean_dir) {
        for (size_t k = 0; k < o.n; k++)
            if (clean(clean_dir, &o.v[k], key) < 0)
                return 1;
        printf("cleaned %zu appendable objects (%.1f MB)\n", o.n, (double)bytes / 1e6);
        return 0;
    }
    const mo_obj_objectid id = {{0x01, 0x93, 0x10, 0x20, 0x30, 0x40, 0x70, 0x50, 0x81, 0x01}, 0};
    double best_cpu = 1e30, best_wall = 1e30;
    uint64_t fast = 0, out_bytes = 0;
    mo_buf out = MO_BUF_INIT;
    for (int rep = 0; rep < reps; rep++) {
        fast = out_bytes = 0;
        const double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
        for (size_t k = 0; k < o.n; k++) {
            bool f = false;
            out.len = 0;
            if (rewrite(&out, &f, &o.v[k], key, slow, &id) < 0)
                return 1;
            fast += f;
            out_bytes += out.len;
        }
        const double c1 = now(CLOCK_PROCESS_CPUTIME_ID), w1 = now(CLOCK_MONOTONIC);
        if (c1 - c0 < best_cpu)
            best_cpu = c1 - c0;
        if (w1 - w0 < best_wall)
            best_wall = w1 - w0;
    }
    uint64_t same = 0, differ = 0;
    if (check) {
        mo_buf ref = MO_BUF_INIT;
        for (size_t k = 0; k < o.n; k++) {
            bool f;
            out.len = ref.len = 0;
            if (rewrite(&out, &f, &o.v[k], key, false, &id) < 0 ||
                rewrite(&ref, &f, &o.v[k], key, true, &id) < 0)
                return 1;
            if (out.len == ref.len && !memcmp(out.ptr, ref.ptr, out.len)) {
                same++;
            } else {
                differ++;
                fprintf(stderr, "mo_rewrite_bench: %s: fast path output differs (%zu/%zu bytes)\n",
                        o.v[k].path, out.len, ref.len);
            }
        }
        mo_buf_dispose(&ref);
    }
    printf("%zu appendable objects, %.1f MB in, %.1f MB out, fast path %" PRIu64
           ", best of %d: %.3f s CPU, %.3f s wall, %.1f MB/s (CPU)",
           o.n, (double)bytes / 1e6, (double)out_bytes / 1e6, fast, reps, best_cpu, best_wall,
           (double)bytes / 1e6 / best_cpu);
    if (check)
        printf(", byte-identical to the slow path: %" PRIu64 " of %" PRIu64, same, same + differ);
    printf("\n");
    mo_buf_dispose(&out);
    for (size_t k = 0; k < o.n; k++) {
        free(o.v[k].path);
        free(o.v[k].p);
    }
    free(o.v);
    return differ ? 1 : 0;
}
