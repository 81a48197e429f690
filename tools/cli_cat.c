/* Catalog tools: `mosync register` (verify + register objects as CN-created, non-mergeable
 * entries in one commit), `mosync fsck` (catalog vs files), `mosync checksum` and
 * `mosync scan` (visible rows of a table). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mo/cat.h"
#include "mo/gen.h"
#include "mo/scan.h"
#include "mo/sys.h"

static int open_cat(mo_cat **c, const char *dir, int mode)
{
    mo_err e = {0};
    uint64_t torn = 0;
    int rc = mo_cat_open(c, dir, mode, &torn, &e);
    if (rc < 0) {
        fprintf(stderr, "mosync: %s: catalog: %s\n", dir, e.msg);
        return rc;
    }
    if (torn)
        fprintf(stderr, "mosync: %s: catalog: %" PRIu64 " bytes of torn tail dropped: %s\n", dir,
                torn, e.msg);
    return MO_OK;
}

/* "db.table" -> the catalogued table */
/* The table named db.name alive at @p at (created by then, not dropped by then). */
typedef struct at_find {
    const char *db, *name;
    mo_obj_ts at;
    mo_cat_table *out;
    int rc;
} at_find;

static int at_find_cb(const mo_cat_table *t, void *payload)
{
    at_find *f = payload;
    const bool dropped = t->dropped_ts.physical || t->dropped_ts.logical;
    if (strcmp(t->db, f->db) || strcmp(t->name, f->name) ||
        mo_obj_ts_cmp(t->created_ts, f->at) > 0 ||
        (dropped && mo_obj_ts_cmp(t->dropped_ts, f->at) <= 0))
        return 0;
    f->rc = mo_cat_table_copy(f->out, t);
    return 1;
}

/* db.name as of @p at: a generated upstream's truth names each step's tables (a later RENAME,
 * TRUNCATE or DROP does not change which table that was); else the catalog's history. */
static int find_table_at(mo_cat *c, const char *dir, const char *db, const char *name,
                         const mo_obj_ts *at, mo_cat_table *t, mo_err *e)
{
    mo_gen_truth tr;
    int rc = MO_ENOTFOUND;
    if (mo_gen_truth_load(&tr, dir, NULL) == MO_OK) {
        const mo_gen_truth_step *step = NULL;
        for (uint32_t i = 0; i < tr.nsteps; i++)
            if (mo_obj_ts_cmp(tr.steps[i].ts, *at) <= 0)
                step = &tr.steps[i];
        for (uint32_t k = 0; step && k < step->ntables && rc == MO_ENOTFOUND; k++)
            if (!strcmp(step->tables[k].db, db) && !strcmp(step->tables[k].name, name))
                rc = mo_cat_get_table(c, step->tables[k].table_id, t, e);
        mo_gen_truth_dispose(&tr);
        if (rc != MO_ENOTFOUND)
            return rc;
    }
    at_find f = {db, name, *at, t, MO_ENOTFOUND};
    mo_cat_foreach_table(c, at_find_cb, &f);
    return f.rc;
}

static int find_table(mo_cat *c, const char *dir, const char *spec, const mo_obj_ts *at,
                      mo_cat_table *t)
{
    char db[MO_CAT_NAME_MAX];
    const char *dot = strchr(spec, '.');
    if (!dot || dot == spec || !dot[1] || (size_t)(dot - spec) >= sizeof(db)) {
        fprintf(stderr, "mosync: want db.table, got '%s'\n", spec);
        return MO_EINVAL;
    }
    memcpy(db, spec, (size_t)(dot - spec));
    db[dot - spec] = 0;
    mo_err e = {0};
    int rc = at ? find_table_at(c, dir, db, dot + 1, at, t, &e)
                : mo_cat_find_table(c, db, dot + 1, t, &e);
    if (rc < 0)
        fprintf(stderr, "mosync: table %s: %s\n", spec,
                rc == MO_ENOTFOUND ? (at ? "not in the catalog at that TS" : "not in the catalog")
                                   : e.msg);
    return rc;
}

static mo_obj_ts now_ts(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    mo_obj_ts t = {(int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0};
    return t;
}

/* Digest of a file's logical bytes, streamed. */
static int file_digest(const char *path, mo_digest128 *out, uint64_t *size, mo_err *err)
{
    mo_obj_reader *r;
    int rc = mo_obj_reader_open(&r, path, err);
    if (rc < 0)
        return rc;
    mo_xxh3_stream *hs;
    if (mo_xxh3_stream_new(&hs) < 0) {
        mo_obj_reader_free(r);
        return mo_err_set(err, MO_ENOMEM, "hash");
    }
    enum { PIECE = 4 << 20 };
    uint8_t *buf = mo_malloc(PIECE);
    uint64_t n = mo_obj_reader_size(r);
    rc = buf ? MO_OK : mo_err_set(err, MO_ENOMEM, "buffer");
    for (uint64_t off = 0; rc == MO_OK && off < n;) {
        size_t k = n - off < PIECE ? (size_t)(n - off) : PIECE;
        if ((rc = mo_obj_reader_read(r, buf, k, off, err)) == MO_OK)
            mo_xxh3_stream_update(hs, buf, k);
        off += k;
    }
    *out = mo_xxh3_stream_digest(hs);
    *size = n;
    mo_free(buf);
    mo_xxh3_stream_free(hs);
    mo_obj_reader_free(r);
    return rc;
}

/* Copies @p src to @p dst durably (temp, fsync, rename, fsync dir). */
static int copy_file(const char *src, const char *dst, mo_err *err)
{
    uint8_t *p;
    size_t n;
    int rc = mo_sys_read_file(&p, &n, src, err);
    if (rc == MO_OK)
        rc = mo_sys_write_file_atomic(dst, p, n, err);
    mo_free(p);
    return rc;
}

int mo_cli_register(int argc, char **argv)
{
    static const struct option lo[] = {{"table", required_argument, NULL, 't'},
                                       {NULL, 0, NULL, 0}};
    const char *dir = NULL, *table = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "C:", lo, NULL)) != -1) {
        if (c == 'C')
            dir = optarg;
        else if (c == 't')
            table = optarg;
        else
            return MO_CLI_USAGE;
    }
    if (!dir || !table || optind >= argc) {
        fprintf(stderr, "usage: mosync register -C DIR --table db.t OBJECT_FILE...\n");
        return MO_CLI_USAGE;
    }
    mo_cat *cat;
    int rc = open_cat(&cat, dir, MO_CAT_WRITE);
    if (rc < 0)
        return mo_cli_exit_for(rc);
    mo_cat_table t;
    memset(&t, 0, sizeof(t));
    if ((rc = find_table(cat, dir, table, NULL, &t)) < 0) {
        mo_cat_close(cat);
        return rc == MO_EINVAL || rc == MO_ENOTFOUND ? MO_CLI_USAGE : mo_cli_exit_for(rc);
    }
    mo_err e = {0};
    mo_cat_txn *txn = NULL;
    int n = argc - optind;
    mo_cat_object *objs = mo_calloc((size_t)n, sizeof(*objs));
    char (*names)[43] = mo_calloc((size_t)n, 43);
    if (!objs || !names) {
        rc = mo_err_set(&e, MO_ENOMEM, "register");
        goto out;
    }
    /* verify everything first: the commit is all or nothing */
    for (int i = 0; i < n; i++) {
        const char *path = argv[optind + i];
        mo_obj_verify_opts vo = {MO_OBJ_LEVEL_DEEP, NULL, -1, 0};
        mo_obj_verify_result res;
        rc = mo_obj_verify_file(&res, path, &vo, NULL, NULL, &e);
        if (rc != MO_OK) {
            if (res.problems)
                mo_err_set(&e, rc, "%s fails deep verification (%u problems); run `mosync verify %s`",
                           path, res.problems, path);
            goto out;
        }
        mo_obj_reader *r;
        mo_obj_where w;
        if ((rc = mo_obj_reader_open(&r, path, &e)) < 0 ||
            (rc = mo_obj_reader_load_meta(r, &w, &e)) < 0) {
            mo_obj_reader_free(r);
            goto out;
        }
        mo_obj_stats st;
        rc = mo_obj_reader_stats(r, &st, &e);
        const mo_obj_meta *m = mo_obj_reader_meta(r);
        bool tomb = m->slots[0].block_count && m->slots[0].blocks[0].hdr.bf_type == MO_OBJ_BF_HYBRID;
        mo_obj_reader_free(r);
        if (rc < 0)
            goto out;
        mo_obj_name_format(names[i], &st.id);
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (strcmp(base, names[i])) {
            rc = mo_err_set(&e, MO_EINVAL, "%s: file name is not the object's name %s", path,
                            names[i]);
            goto out;
        }
        st.flags = mo_cat_normalize_flags(st.flags, tomb, t.real_pk);
        mo_cat_object *o = &objs[i];
        mo_obj_stats_encode(o->stats, &st);
        o->table_id = t.down_id;
        o->is_tombstone = tomb;
        o->create_ts = now_ts();
        mo_obj_objectid_encode(o->upstream_id, &st.id);
        o->non_mergeable = true;
        uint64_t size;
        if ((rc = file_digest(path, &o->digest, &size, &e)) < 0)
            goto out;
        mo_cat_object old;
        if (mo_cat_get_object(cat, o->upstream_id, &old) == MO_OK) {
            rc = mo_err_set(&e, MO_EEXISTS, "%s is already registered", names[i]);
            goto out;
        }
    }
    /* bring the files into the replica directory */
    for (int i = 0; i < n; i++) {
        char dst[4200];
        snprintf(dst, sizeof(dst), "%s/%s", dir, names[i]);
        struct stat a, b;
        if (stat(dst, &b) == 0 && stat(argv[optind + i], &a) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            continue;
        if ((rc = copy_file(argv[optind + i], dst, &e)) < 0)
            goto out;
    }
    if ((rc = mo_cat_begin(cat, &txn, &e)) < 0)
        goto out;
    for (int i = 0; i < n && rc == MO_OK; i++)
        rc = mo_cat_put_object(txn, &objs[i], &e);
    if (rc == MO_OK) {
        rc = mo_cat_commit(txn, &e);
        txn = NULL;
    }
    if (rc == MO_OK)
        printf("registered %d object(s) in %s (CN-created, non-mergeable)\n", n, table);
out:
    if (txn)
        mo_cat_abort(txn);
    if (rc < 0)
        fprintf(stderr, "mosync register: %s\n", e.msg);
    mo_free(objs);
    mo_free(names);
    mo_cat_table_dispose(&t);
    mo_cat_close(cat);
    return rc == MO_EEXISTS || rc == MO_EINVAL ? MO_CLI_USAGE : mo_cli_exit_for(rc);
}

/* ---------------- fsck ---------------- */

typedef struct fsck_ctx {
    const char *dir;
    unsigned missing, mismatch, checked, flags_bad;
    bool quick, require_cn;
} fsck_ctx;

static int fsck_object(const mo_cat_object *o, void *payload)
{
    fsck_ctx *f = payload;
    if (o->delete_ts.physical || o->delete_ts.logical)
        return 0; /* soft-deleted entries may have had their file removed */
    mo_obj_stats st;
    if (mo_obj_stats_decode(&st, o->stats, NULL) < 0) {
        printf("corrupt entry: undecodable ObjectStats\n");
        f->mismatch++;
        return 0;
    }
    char name[43], path[4200];
    mo_obj_name_format(name, &st.id);
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    f->checked++;
    /* what a downstream registers (spec §5.6): CN-created, never appendable, never merged */
    if (f->require_cn && (!(st.flags & MO_OBJ_STATS_CNCREATED) ||
                          (st.flags & (MO_OBJ_STATS_APPENDABLE | MO_OBJ_STATS_CNDELETED)) ||
                          !o->non_mergeable)) {
        printf("entry flags: %s: ObjectStats flags 0x%02x, %s (want CN-created, not appendable, "
               "non-mergeable)\n",
               name, st.flags, o->non_mergeable ? "non-mergeable" : "mergeable");
        f->flags_bad++;
    }
    struct stat sb;
    if (stat(path, &sb) < 0) {
        printf("registered but missing: %s\n", name);
        f->missing++;
        return 0;
    }
    mo_digest128 d;
    uint64_t size;
    mo_err e = {0};
    if (file_digest(path, &d, &size, &e) < 0) {
        printf("unreadable: %s: %s\n", name, e.msg);
        f->mismatch++;
    } else if (size != st.size || d.lo != o->digest.lo || d.hi != o->digest.hi) {
        char a[33], b[33];
        mo_digest128_hex(a, d);
        mo_digest128_hex(b, o->digest);
        printf("digest mismatch: %s: file %s (%" PRIu64 " bytes), catalog %s (%u bytes)\n", name,
               a, size, b, st.size);
        f->mismatch++;
    }
    return 0;
}

int mo_cli_fsck(int argc, char **argv)
{
    static const struct option lo[] = {{"repair", no_argument, NULL, 'r'},
                                       {"require-cn", no_argument, NULL, 'n'},
                                       {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    bool repair = false, require_cn = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "C:", lo, NULL)) != -1) {
        if (c == 'C')
            dir = optarg;
        else if (c == 'r')
            repair = true;
        else if (c == 'n')
            require_cn = true;
        else
            return MO_CLI_USAGE;
    }
    if (!dir || optind != argc) {
        fprintf(stderr, "usage: mosync fsck -C DIR [--repair] [--require-cn]\n");
        return MO_CLI_USAGE;
    }
    mo_cat *cat;
    int rc = open_cat(&cat, dir, repair ? MO_CAT_WRITE : MO_CAT_READ);
    if (rc < 0)
        return mo_cli_exit_for(rc);
    fsck_ctx f = {dir, 0, 0, 0, 0, false, require_cn};
    mo_cat_foreach_object(cat, 0, fsck_object, &f);
    unsigned unregistered = 0, orphans = 0, removed = 0;
    DIR *dh = opendir(dir);
    struct dirent *de;
    while (dh && (de = readdir(dh))) {
        const char *n = de->d_name;
        size_t len = strlen(n);
        if (mo_obj_name_valid(n)) {
            mo_obj_objectid id;
            mo_obj_name_parse(&id, n, len, NULL);
            uint8_t key[18];
            mo_obj_objectid_encode(key, &id);
            mo_cat_object o;
            if (mo_cat_get_object(cat, key, &o) != MO_OK) {
                printf("present but unregistered: %s\n", n);
                unregistered++;
            }
        } else if ((n[0] == '.' && len > 5 && !strcmp(n + len - 5, ".part")) ||
                   (len > 4 && !strcmp(n + len - 4, ".tmp")) || !strncmp(n, ".tmp.", 5) ||
                   (len > 7 && !strcmp(n + len - 7, ".framed"))) {
            printf("orphan temp file: %s\n", n);
            orphans++;
            if (repair) {
                char p[4200];
                snprintf(p, sizeof(p), "%s/%s", dir, n);
                if (mo_sys_unlink(p) == 0)
                    removed++;
            }
        }
    }
    if (dh)
        closedir(dh);
    mo_err e = {0};
    if (repair && mo_cat_compact(cat, &e) < 0)
        fprintf(stderr, "mosync fsck: compaction: %s\n", e.msg);
    printf("fsck %s: %u entries checked, %u missing, %u digest mismatches, %u unregistered, "
           "%u orphan temp files%s",
           dir, f.checked, f.missing, f.mismatch, unregistered, orphans,
           repair ? (removed ? " (removed)" : "") : "");
    if (require_cn)
        printf(", %u entries not CN-created/non-mergeable", f.flags_bad);
    printf("\n");
    mo_cat_close(cat);
    bool bad = f.missing || f.mismatch || unregistered || (orphans && removed < orphans) ||
               f.flags_bad;
    return bad ? MO_CLI_CORRUPT : MO_CLI_OK;
}

/* ---------------- checksum / scan ---------------- */

static int parse_common(int argc, char **argv, const char **dir, const char **table,
                        mo_obj_ts *at, bool *has_at, bool *csv, bool *indexes)
{
    static const struct option lo[] = {{"at", required_argument, NULL, 'a'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"indexes", no_argument, NULL, 'i'},
                                       {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    *has_at = false;
    while ((c = getopt_long(argc, argv, "C:", lo, NULL)) != -1) {
        if (c == 'C') {
            *dir = optarg;
        } else if (c == 'a') {
            mo_err e = {0};
            if (mo_obj_ts_parse(at, optarg, &e) < 0) {
                fprintf(stderr, "mosync: --at: %s\n", e.msg);
                return MO_EINVAL;
            }
            *has_at = true;
        } else if (c == 'f' && csv && !strcmp(optarg, "csv")) {
            *csv = true;
        } else if (c == 'i' && indexes) {
            *indexes = true;
        } else {
            return MO_EINVAL;
        }
    }
    if (!*dir || optind + 1 != argc)
        return MO_EINVAL;
    *table = argv[optind];
    return MO_OK;
}

static int print_row(const mo_cat_table *t, const mo_obj_vec *cols, const bool *present,
                     uint32_t row, void *payload)
{
    mo_buf *o = payload, val = MO_BUF_INIT;
    bool first = true;
    for (uint16_t i = 0; i < t->ncols; i++) {
        if (t->cols[i].hidden)
            continue;
        if (!first)
            mo_buf_put_u8(o, ',');
        first = false;
        if (!present[i] || mo_obj_vec_is_null(&cols[i], row)) {
            mo_buf_put(o, "\\N", 2);
            continue;
        }
        const uint8_t *p;
        uint32_t n;
        mo_obj_vec_value(&cols[i], row, &p, &n);
        val.len = 0;
        mo_obj_value_format(&val, &cols[i].type, p, n);
        if (val.len == 2 && !memcmp(val.ptr, "\\N", 2))
            mo_buf_put(o, "\"\\N\"", 4);
        else
            mo_obj_csv_field(o, val.ptr ? (const char *)val.ptr : "", val.len);
    }
    mo_buf_put_u8(o, '\n');
    mo_buf_dispose(&val);
    if (o->len > (1u << 20)) {
        fwrite(o->ptr, 1, o->len, stdout);
        o->len = 0;
    }
    return 0;
}

/* The hidden index tables of @p parent alive at @p at (NULL: now), by index name. */
typedef struct ix_find {
    const mo_cat_table *parent;
    const mo_obj_ts *at;
    mo_cat_table *v;
    mo_cat_index_link *l;
    size_t n, cap;
    int rc;
} ix_find;

static int ix_collect(const mo_cat_table *t, void *payload)
{
    ix_find *f = payload;
    mo_cat_index_link l;
    const bool alive = f->at ? mo_obj_ts_cmp(t->created_ts, *f->at) <= 0 &&
                                   (!t->dropped_ts.physical ||
                                    mo_obj_ts_cmp(t->dropped_ts, *f->at) > 0)
                             : !t->dropped_ts.physical && !t->dropped_ts.logical;
    if (!alive || t->down_db_id != f->parent->down_db_id ||
        mo_cat_index_table_link(t->name, t->create_sql, &l) != MO_OK ||
        l.parent_id != f->parent->up_id)
        return 0;
    if (f->n == f->cap) {
        const size_t cap = f->cap ? f->cap * 2 : 4;
        mo_cat_table *v = mo_realloc(f->v, cap * sizeof(*v));
        mo_cat_index_link *ls = v ? mo_realloc(f->l, cap * sizeof(*ls)) : NULL;
        if (v)
            f->v = v;
        if (!ls) {
            f->rc = MO_ENOMEM;
            return 1;
        }
        f->l = ls;
        f->cap = cap;
    }
    if (mo_cat_table_copy(&f->v[f->n], t) < 0) {
        f->rc = MO_ENOMEM;
        return 1;
    }
    f->l[f->n++] = l;
    return 0;
}

/* `checksum --indexes`: one line per index table, "  index <index> <table> rows=...", in
 * index-name order (the table names differ between an upstream and its downstream). */
static int checksum_indexes(mo_cat *cat, const char *dir, const mo_cat_table *t,
                            const mo_obj_ts *at, mo_err *e)
{
    ix_find f = {t, at, NULL, NULL, 0, 0, MO_OK};
    int rc = mo_cat_foreach_table(cat, ix_collect, &f);
    if (f.rc < 0)
        rc = mo_err_set(e, f.rc, "index tables");
    for (size_t i = 0; i < f.n && rc >= 0; i++) {
        size_t m = i; /* selection sort: a handful of indexes */
        for (size_t j = i + 1; j < f.n; j++)
            if (strcmp(f.l[j].index_name, f.l[m].index_name) < 0)
                m = j;
        mo_cat_table tt = f.v[i];
        mo_cat_index_link tl = f.l[i];
        f.v[i] = f.v[m];
        f.l[i] = f.l[m];
        f.v[m] = tt;
        f.l[m] = tl;
        mo_scan_result res;
        if ((rc = mo_scan_table(&res, cat, dir, &f.v[i], at, NULL, NULL, e)) < 0) {
            mo_err_prefix(e, "index %s (%s): ", f.l[i].index_name, f.v[i].name);
            break;
        }
        char s[96];
        mo_scan_format(s, &res);
        printf("  index %s %s %s\n", f.l[i].index_name, f.v[i].name, s);
    }
    for (size_t i = 0; i < f.n; i++)
        mo_cat_table_dispose(&f.v[i]);
    mo_free(f.v);
    mo_free(f.l);
    return rc < 0 ? rc : MO_OK;
}

static int checksum_or_scan(int argc, char **argv, bool scan)
{
    const char *dir = NULL, *table = NULL;
    mo_obj_ts at;
    bool has_at, csv = false, indexes = false;
    if (parse_common(argc, argv, &dir, &table, &at, &has_at, scan ? &csv : NULL,
                     scan ? NULL : &indexes) < 0) {
        fprintf(stderr, scan ? "usage: mosync scan -C DIR db.t [--at TS] [--format csv]\n"
                             : "usage: mosync checksum -C DIR db.t [--at TS] [--indexes]\n");
        return MO_CLI_USAGE;
    }
    mo_cat *cat;
    int rc = open_cat(&cat, dir, MO_CAT_READ);
    if (rc < 0)
        return mo_cli_exit_for(rc);
    mo_cat_table t;
    memset(&t, 0, sizeof(t));
    if ((rc = find_table(cat, dir, table, has_at ? &at : NULL, &t)) < 0) {
        mo_cat_close(cat);
        return MO_CLI_USAGE;
    }
    mo_buf out = MO_BUF_INIT;
    if (scan) {
        bool first = true;
        for (uint16_t i = 0; i < t.ncols; i++)
            if (!t.cols[i].hidden) {
                if (!first)
                    mo_buf_put_u8(&out, ',');
                first = false;
                mo_obj_csv_field(&out, t.cols[i].name, strlen(t.cols[i].name));
            }
        mo_buf_put_u8(&out, '\n');
    }
    mo_scan_result res;
    mo_err e = {0};
    rc = mo_scan_table(&res, cat, dir, &t, has_at ? &at : NULL, scan ? print_row : NULL, &out, &e);
    if (scan)
        fwrite(out.ptr ? (const char *)out.ptr : "", 1, out.len, stdout);
    if (rc < 0) {
        fprintf(stderr, "mosync: %s: %s\n", table, e.msg);
    } else if (!scan) {
        char s[96];
        mo_scan_format(s, &res);
        printf("%s %s\n", table, s);
        if (indexes && (rc = checksum_indexes(cat, dir, &t, has_at ? &at : NULL, &e)) < 0)
            fprintf(stderr, "mosync: %s: %s\n", table, e.msg);
    }
    mo_buf_dispose(&out);
    mo_cat_table_dispose(&t);
    mo_cat_close(cat);
    return mo_cli_exit_for(rc);
}

int mo_cli_checksum(int argc, char **argv)
{
    return checksum_or_scan(argc, argv, false);
}

int mo_cli_scan(int argc, char **argv)
{
    return checksum_or_scan(argc, argv, true);
}

/* `mosync mktable -C DIR "CREATE TABLE `db`.`t` (...)"`: catalogs a table from MO's CREATE
 * TABLE text (the database is created when missing), so objects can be registered into it
 * without an upstream. */
typedef struct db_find {
    const char *name;
    mo_cat_db found;
    bool ok;
} db_find;

static int find_db(const mo_cat_db *d, void *payload)
{
    db_find *f = payload;
    if (!strcmp(d->name, f->name)) {
        f->found = *d;
        f->ok = true;
        return 1;
    }
    return 0;
}

int mo_cli_mktable(int argc, char **argv)
{
    const char *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "C:")) != -1) {
        if (c == 'C')
            dir = optarg;
        else
            return MO_CLI_USAGE;
    }
    if (!dir || optind + 1 != argc) {
        fprintf(stderr, "usage: mosync mktable -C DIR \"CREATE TABLE `db`.`t` (...)\"\n");
        return MO_CLI_USAGE;
    }
    mo_err e = {0};
    mo_cat_table t;
    int rc = mo_cat_schema_parse(&t, argv[optind], &e);
    if (rc < 0) {
        fprintf(stderr, "mosync mktable: %s\n", e.msg);
        return MO_CLI_USAGE;
    }
    if (!t.db[0]) {
        fprintf(stderr, "mosync mktable: the table name must be qualified: `db`.`table`\n");
        mo_cat_table_dispose(&t);
        return MO_CLI_USAGE;
    }
    mo_cat *cat;
    if ((rc = open_cat(&cat, dir, MO_CAT_WRITE)) < 0) {
        mo_cat_table_dispose(&t);
        return mo_cli_exit_for(rc);
    }
    mo_cat_table old;
    mo_cat_txn *txn = NULL;
    if (mo_cat_find_table(cat, t.db, t.name, &old, &e) == MO_OK) {
        mo_cat_table_dispose(&old);
        rc = mo_err_set(&e, MO_EEXISTS, "table %s.%s already exists", t.db, t.name);
        goto out;
    }
    db_find f = {t.db, {0}, false};
    mo_cat_foreach_db(cat, find_db, &f);
    if ((rc = mo_cat_begin(cat, &txn, &e)) < 0)
        goto out;
    if (!f.ok) {
        f.found.up_id = 0;
        snprintf(f.found.name, sizeof(f.found.name), "%s", t.db);
        if ((rc = mo_cat_next_id(txn, "db", &f.found.down_id, &e)) < 0 ||
            (rc = mo_cat_put_db(txn, &f.found, &e)) < 0)
            goto out;
    }
    t.down_db_id = f.found.down_id;
    if ((rc = mo_cat_next_id(txn, "table", &t.down_id, &e)) < 0 ||
        (rc = mo_cat_put_table(txn, &t, &e)) < 0)
        goto out;
    rc = mo_cat_commit(txn, &e);
    txn = NULL;
    if (rc == MO_OK)
        printf("table %s.%s created (id %" PRIu64 ", %u columns)\n", t.db, t.name, t.down_id,
               (unsigned)t.ncols);
out:
    if (txn)
        mo_cat_abort(txn);
    if (rc < 0)
        fprintf(stderr, "mosync mktable: %s\n", e.msg);
    mo_cat_table_dispose(&t);
    mo_cat_close(cat);
    return rc == MO_EEXISTS ? MO_CLI_USAGE : mo_cli_exit_for(rc);
}
