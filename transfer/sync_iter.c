/* The Downstream Iteration of one subscription (DESIGN.md "Data flow of one iteration",
 * ccpr-protocol.md §5.2-§5.9, without MO's §7 bugs). Every table of the subscription moves
 * at one upstream snapshot ccpr_<task>_<L> in ONE catalog commit (a consistent cut).
 *
 * Invariants:
 *  - the catalog is only touched under s->mu, and only in three places: the claim, the
 *    record of the new upstream snapshot, and the final commit (or the error record);
 *  - nothing is written to the catalog between the claim and the final commit that a crash
 *    could leave half-done: a crash replays the same L (same snapshot, same TS, same diff),
 *    files already fetched and verified are reused, rewrite outputs have ids derived from
 *    (task, L, upstream id) so a replay rewrites onto the same names;
 *  - the subscription's own task row (table_id 0, table "") carries L, the watermark and the
 *    error of the subscription; table task rows mirror it.
 * Object files: non-appendable data objects keep their upstream names in the replica
 * directory; appendable objects and tombstones are fetched into a per-subscription stage
 * directory and rewritten into the replica directory (emptied after the commit).
 * Durability: objects and rewrite outputs are published by rename alone (stage files are never
 * fsynced); right before the commit one batch fsyncs every file the commit names and their
 * directories (make_durable). A file under its final name that no commit names yet is a claim:
 * a replay deep-verifies it (reusable) or re-hashes it against the journal before use. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mo/hash.h"
#include "mo/objfmt.h"
#include "mo/sys.h"
#include "sync_int.h"

/* ---------------- small helpers ---------------- */

static bool ts_zero(mo_obj_ts t)
{
    return t.physical == 0 && t.logical == 0;
}

static bool is_sub_row(const mo_cat_task *k)
{
    return k->table_id == 0 && k->table[0] == 0;
}

static int mkdir_p(const char *path, mo_err *err)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof(tmp))
        return mo_err_set(err, MO_EINVAL, "path too long");
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return mo_err_sys(err, MO_EIO, errno, "%s: mkdir", tmp);
            *p = '/';
        }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return mo_err_sys(err, MO_EIO, errno, "%s: mkdir", tmp);
    return MO_OK;
}

/* XXH3-128 of a file, streamed */
static int file_digest(mo_digest128 *out, const char *path, mo_err *err)
{
    int fd = mo_sys_open(path, O_RDONLY, 0);
    if (fd < 0)
        return mo_err_sys(err, MO_EIO, errno, "%s: open", path);
    mo_xxh3_stream *hs;
    if (mo_xxh3_stream_new(&hs) < 0) {
        mo_sys_close(fd);
        return mo_err_set(err, MO_ENOMEM, "hash state");
    }
    uint8_t *buf = mo_malloc(1 << 20);
    int rc = buf ? MO_OK : mo_err_set(err, MO_ENOMEM, "read buffer");
    uint64_t off = 0;
    while (rc == MO_OK) {
        ssize_t n = mo_sys_pread(fd, buf, 1 << 20, off);
        if (n < 0) {
            rc = mo_err_sys(err, MO_EIO, errno, "%s: read", path);
            break;
        }
        if (n == 0)
            break;
        mo_xxh3_stream_update(hs, buf, (size_t)n);
        off += (uint64_t)n;
    }
    if (rc == MO_OK)
        *out = mo_xxh3_stream_digest(hs);
    mo_free(buf);
    mo_xxh3_stream_free(hs);
    mo_sys_close(fd);
    return rc;
}

/* A file already fetched (or rewritten) and still passing deep verification against @p stats. */
static bool reusable(const char *path, const uint8_t *stats_raw)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return false;
    mo_obj_stats stats;
    mo_obj_verify_opts vo = {MO_OBJ_LEVEL_DEEP, NULL, -1, 1};
    if (stats_raw && mo_obj_stats_decode(&stats, stats_raw, NULL) == MO_OK)
        vo.stats = &stats;
    mo_obj_verify_result res;
    return mo_obj_verify_file(&res, path, &vo, NULL, NULL, NULL) == MO_OK;
}

/* Output ids derived from (task, L, upstream id, role): a replay writes the same names. */
static void derived_id(mo_obj_objectid *out, uint64_t task, uint64_t lsn, const uint8_t up[18],
                       unsigned role)
{
    uint8_t in[40];
    memcpy(in, up, 18);
    mo_store_le64(in + 18, task);
    mo_store_le64(in + 26, lsn);
    mo_store_le32(in + 34, role);
    memcpy(in + 38, "ms", 2);
    mo_digest128 d = mo_xxh3_128(in, sizeof(in));
    mo_store_le64(out->seg, d.lo);
    mo_store_le64(out->seg + 8, d.hi);
    out->seg[6] = (uint8_t)((out->seg[6] & 0x0f) | 0x70); /* UUIDv7 version */
    out->seg[8] = (uint8_t)((out->seg[8] & 0x3f) | 0x80); /* variant 10 */
    out->num = 0;
}

/* ---------------- the plan ---------------- */

enum { PT_KEEP, PT_CREATE, PT_RECREATE, PT_INPLACE, PT_RENAME, PT_DROP };

typedef struct ptab {
    mo_cat_table t;       /* the table after the commit (PT_DROP: the dropped one) */
    uint64_t old_down_id; /* PT_RECREATE: the table it replaces */
    int kind;
    bool rename;
    bool ix;         /* a hidden index table (no task of its own; follows its parent) */
    bool ix_queried; /* a parent whose get_mo_indexes was read this iteration */
    char ix_up[MO_CAT_NAME_MAX]; /* ix: the upstream index table's name */
} ptab;

enum { PO_DATA, PO_ADATA, PO_TOMB };

typedef struct pobj {
    mo_up_obj u;
    int cls;
    ptab *tab;
    bool fetch; /* needed and not reused */
    bool stage; /* fetched into the stage directory (rewritten) */
    /* result */
    bool has_out;
    uint8_t out_stats[MO_OBJ_STATS_LEN];
    mo_digest128 digest;
    uint32_t *row_map;
    uint32_t nrows;
    bool mapped; /* a mapping row is written for it */
    bool digest_known; /* digest given by the copier (fetched this iteration) */
    /* appendables whose rows commit after the snapshot stay "pending" (their upstream file
     * kept in the pending directory) and are rewritten again at later snapshots */
    bool future;  /* rows committed after this snapshot remain */
    bool repend;  /* a pending appendable, rewritten again */
    bool unchanged; /* repend: no new row became visible, nothing to do */
    uint8_t old_down[MO_OBJ_OBJECTID_LEN];
    bool has_old_down;
    uint32_t *old_map;
    uint32_t old_nrows;
} pobj;

/* a committed downstream tombstone rewritten because an appendable it points into was */
typedef struct rremap {
    mo_cat_object old;
    bool has_new;
    uint8_t new_stats[MO_OBJ_STATS_LEN];
    mo_digest128 digest;
} rremap;

typedef struct delop {
    uint8_t id[MO_OBJ_OBJECTID_LEN];
    bool tombstone;
} delop;

typedef struct iter {
    mo_sync *s;
    mo_sync_report *rep;
    mo_err *err;
    mo_cat_sub sub;
    mo_cat_task *tasks; /* of the subscription, committed state at the claim */
    size_t ntasks;
    mo_cat_task subrow;
    uint64_t L;
    bool resync;
    sync_conn conn;
    mo_up *up;
    char snap[96], prev[96];
    mo_obj_ts cur_ts, prev_ts;
    bool have_prev;
    /* plan */
    mo_cat_table *old; /* current downstream tables of the subscription */
    size_t nold;
    mo_cat_table *oldix; /* live downstream index tables (matched to parents by their link) */
    size_t noldix;
    bool *ixkept; /* [noldix]: planned to stay */
    ptab *tabs;
    size_t ntabs;
    mo_up_strs dbs;
    pobj *objs;
    size_t nobjs;
    delop *dels;
    size_t ndels, capdels;
    uint8_t (*delmaps)[MO_OBJ_OBJECTID_LEN];
    size_t ndelmaps, capdelmaps;
    /* mapping lookups during tombstone rewrites */
    mo_cat_mapping *loaded;
    size_t nloaded, caploaded;
    rremap *rr;
    size_t nrr;
    char stage[4096], jmain[4096], jstage[4096], pending[4096];
    struct name_ix *fix; /* fetch_set: its objects by name, for fetched_digest */
    size_t nfix;
} iter;

static void iter_dispose(iter *it)
{
    mo_free(it->tasks);
    for (size_t i = 0; i < it->nold; i++)
        mo_cat_table_dispose(&it->old[i]);
    mo_free(it->old);
    for (size_t i = 0; i < it->noldix; i++)
        mo_cat_table_dispose(&it->oldix[i]);
    mo_free(it->oldix);
    mo_free(it->ixkept);
    for (size_t i = 0; i < it->ntabs; i++)
        mo_cat_table_dispose(&it->tabs[i].t);
    mo_free(it->tabs);
    mo_up_strs_dispose(&it->dbs);
    for (size_t i = 0; i < it->nobjs; i++) {
        mo_free(it->objs[i].row_map);
        mo_free(it->objs[i].old_map);
    }
    mo_free(it->objs);
    mo_free(it->rr);
    mo_free(it->dels);
    mo_free(it->delmaps);
    for (size_t i = 0; i < it->nloaded; i++)
        mo_cat_mapping_dispose(&it->loaded[i]);
    mo_free(it->loaded);
    mo_up_free(it->up);
}

static int add_del_err(iter *it, const uint8_t id[18], bool tombstone, mo_err *err)
{
    for (size_t i = 0; i < it->ndels; i++)
        if (!memcmp(it->dels[i].id, id, 18))
            return MO_OK;
    if (it->ndels == it->capdels) {
        size_t cap = it->capdels ? it->capdels * 2 : 64;
        delop *n = mo_realloc(it->dels, cap * sizeof(*n));
        if (!n)
            return mo_err_set(err, MO_ENOMEM, "delete list");
        it->dels = n;
        it->capdels = cap;
    }
    memcpy(it->dels[it->ndels].id, id, 18);
    it->dels[it->ndels++].tombstone = tombstone;
    return MO_OK;
}

static int add_del(iter *it, const uint8_t id[18], bool tombstone)
{
    return add_del_err(it, id, tombstone, it->err);
}

static int add_delmap(iter *it, const uint8_t id[18])
{
    if (it->ndelmaps == it->capdelmaps) {
        size_t cap = it->capdelmaps ? it->capdelmaps * 2 : 64;
        uint8_t(*n)[18] = mo_realloc(it->delmaps, cap * 18);
        if (!n)
            return mo_err_set(it->err, MO_ENOMEM, "mapping list");
        it->delmaps = n;
        it->capdelmaps = cap;
    }
    memcpy(it->delmaps[it->ndelmaps++], id, 18);
    return MO_OK;
}

/* ---------------- claim ---------------- */

enum { CLAIM_OK, CLAIM_SKIP };

static int claim(iter *it, int *outcome)
{
    mo_sync *s = it->s;
    *outcome = CLAIM_SKIP;
    pthread_mutex_lock(&s->mu);
    int rc = mo_cat_get_sub(s->cat, it->rep->task_id, &it->sub);
    if (rc == MO_ENOTFOUND) {
        rc = mo_err_set(it->err, MO_ENOTFOUND, "subscription %" PRIu64 " does not exist",
                        it->rep->task_id);
        goto out;
    }
    if (rc < 0) {
        rc = mo_err_set(it->err, rc, "catalog: reading subscription");
        goto out;
    }
    snprintf(it->rep->sub, sizeof(it->rep->sub), "%s", it->sub.name);
    if (it->sub.state != MO_CAT_SUB_RUNNING) {
        rc = MO_OK;
        goto out;
    }
    if ((rc = mo_sync__load_tasks(s, it->sub.task_id, &it->tasks, &it->ntasks, it->err)) < 0)
        goto out;
    bool have_subrow = false;
    for (size_t i = 0; i < it->ntasks; i++) {
        const mo_cat_task *k = &it->tasks[i];
        if (k->iteration_state == MO_CAT_ITER_RUNNING && strcmp(k->cn_uuid, s->cn_uuid)) {
            mo_sync__log(s, "%s: claimed by worker %s, skipped", it->sub.name, k->cn_uuid);
            goto out; /* fencing: another worker holds it */
        }
        if (is_sub_row(k)) {
            it->subrow = *k;
            have_subrow = true;
        }
    }
    mo_sync_errmsg em;
    if (have_subrow) {
        mo_sync_errmsg_parse(&em, it->subrow.error_message);
        if (em.set && !em.retryable) {
            goto out; /* fatal: waits for RESUME */
        }
        it->L = it->subrow.iteration_lsn;
        it->resync = em.set && strstr(em.msg, "stale read") != NULL;
    } else {
        for (size_t i = 0; i < it->ntasks; i++)
            if (it->tasks[i].iteration_lsn > it->L)
                it->L = it->tasks[i].iteration_lsn;
    }
    mo_cat_txn *t;
    if ((rc = mo_cat_begin(s->cat, &t, it->err)) < 0)
        goto out;
    int64_t now = mo_sync__now_us();
    if (!have_subrow) {
        memset(&it->subrow, 0, sizeof(it->subrow));
        if ((rc = mo_cat_next_id(t, "job", &it->subrow.job_id, it->err)) < 0) {
            mo_cat_abort(t);
            goto out;
        }
        it->subrow.task_id = it->sub.task_id;
        snprintf(it->subrow.account, sizeof(it->subrow.account), "%s", it->sub.account);
        snprintf(it->subrow.db, sizeof(it->subrow.db), "%s", it->sub.db);
        it->subrow.iteration_lsn = it->L;
        it->subrow.created_us = now;
    }
    it->subrow.iteration_state = MO_CAT_ITER_RUNNING;
    snprintf(it->subrow.cn_uuid, sizeof(it->subrow.cn_uuid), "%s", s->cn_uuid);
    it->subrow.updated_us = now;
    rc = mo_cat_put_task(t, &it->subrow, it->err);
    for (size_t i = 0; i < it->ntasks && rc == MO_OK; i++) {
        mo_cat_task *k = &it->tasks[i];
        if (is_sub_row(k))
            continue;
        k->iteration_state = MO_CAT_ITER_RUNNING;
        snprintf(k->cn_uuid, sizeof(k->cn_uuid), "%s", s->cn_uuid);
        k->updated_us = now;
        rc = mo_cat_put_task(t, k, it->err);
    }
    if (rc < 0) {
        mo_cat_abort(t);
        goto out;
    }
    if ((rc = mo_cat_commit(t, it->err)) < 0)
        goto out;
    *outcome = CLAIM_OK;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The fencing check of §5.2 step 3 / §5.7 step 1; caller holds s->mu. */
static int fence_ok(iter *it, bool *ok)
{
    *ok = false;
    mo_cat_sub sub;
    int rc = mo_cat_get_sub(it->s->cat, it->sub.task_id, &sub);
    if (rc < 0)
        return rc == MO_ENOTFOUND ? MO_OK : mo_err_set(it->err, rc, "catalog: subscription");
    if (sub.state != MO_CAT_SUB_RUNNING)
        return MO_OK;
    mo_cat_task k;
    if (mo_cat_get_task(it->s->cat, it->subrow.job_id, &k) != MO_OK)
        return MO_OK;
    *ok = !strcmp(k.cn_uuid, it->s->cn_uuid) && k.iteration_lsn == it->L &&
          k.iteration_state == MO_CAT_ITER_RUNNING;
    return MO_OK;
}

/* ---------------- snapshots ---------------- */

static bool missing_snapshot(const mo_err *e)
{
    return strstr(e->msg, "find 0 snapshot records") || strstr(e->msg, "does not exist");
}

static int snapshots(iter *it)
{
    mo_sync *s = it->s;
    const sync_conn *c = &it->conn;
    mo_sync__snap_name(it->snap, sizeof(it->snap), it->sub.task_id, it->L);
    int rc = mo_up_create_snapshot(it->up, it->snap, mo_sync__level(&it->sub),
                                   it->sub.db[0] ? it->sub.db : NULL,
                                   it->sub.table[0] ? it->sub.table : NULL, c->pubacct, c->pubname,
                                   it->err);
    if (rc < 0 && !(strstr(it->err->msg, "Duplicate entry") && strstr(it->err->msg, "sname")))
        return rc;
    int64_t ns;
    if ((rc = mo_up_get_snapshot_ts(it->up, &ns, it->snap, c->pubacct, c->pubname, it->err)) < 0)
        return rc;
    it->cur_ts.physical = ns;
    it->cur_ts.logical = 0;
    /* remember it, so DROP can leave nothing behind */
    pthread_mutex_lock(&s->mu);
    mo_cat_snapshot have;
    if (mo_cat_get_snapshot(s->cat, it->snap, &have) != MO_OK) {
        mo_cat_txn *t;
        mo_cat_snapshot row;
        memset(&row, 0, sizeof(row));
        snprintf(row.name, sizeof(row.name), "%s", it->snap);
        row.ts = it->cur_ts;
        if ((rc = mo_cat_begin(s->cat, &t, it->err)) == MO_OK) {
            if ((rc = mo_cat_put_snapshot(t, &row, it->err)) < 0)
                mo_cat_abort(t);
            else
                rc = mo_cat_commit(t, it->err);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (rc < 0)
        return rc;
    if (it->L > 0 && !it->resync) {
        mo_sync__snap_name(it->prev, sizeof(it->prev), it->sub.task_id, it->L - 1);
        mo_err e = {0};
        rc = mo_up_get_snapshot_ts(it->up, &ns, it->prev, c->pubacct, c->pubname, &e);
        if (rc == MO_OK) {
            it->prev_ts.physical = ns;
            it->have_prev = true;
        } else if (missing_snapshot(&e)) {
            /* §5.8: the previous snapshot is gone, the diff base with it: clean full resync */
            mo_sync__log(s, "%s: previous snapshot %s is gone (%s): full resync", it->sub.name,
                         it->prev, e.msg);
            it->resync = true;
        } else {
            if (it->err)
                *it->err = e;
            return rc;
        }
    }
    if (it->L >= 2) {
        char old[96];
        mo_sync__snap_name(old, sizeof(old), it->sub.task_id, it->L - 2);
        mo_err e = {0};
        if (mo_up_drop_snapshot(it->up, old, c->pubacct, c->pubname, &e) < 0)
            mo_sync__log(s, "%s: dropping %s: %s (ignored)", it->sub.name, old, e.msg);
    }
    /* wait until flushed: first check at once, then with a growing pause (MO: every minute) */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned pause_ms = 100;
    for (;;) {
        bool flushed = false;
        mo_err e = {0};
        rc = mo_up_check_snapshot_flushed(it->up, &flushed, it->snap, c->pubacct, c->pubname, &e);
        if (rc == MO_OK && flushed)
            return MO_OK;
        if (rc < 0 && !mo_sync_retryable(rc, &e)) {
            if (it->err)
                *it->err = e;
            return rc;
        }
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec >= (time_t)s->o.flush_timeout_s)
            return mo_err_set(it->err, MO_ETIMEOUT,
                              "timeout: snapshot %s not flushed after %u s", it->snap,
                              s->o.flush_timeout_s);
        struct timespec d = {pause_ms / 1000, (long)(pause_ms % 1000) * 1000000};
        nanosleep(&d, NULL);
        if (pause_ms < 10000)
            pause_ms *= 2;
    }
}

/* ---------------- DDL ---------------- */

typedef struct tab_vec {
    const mo_cat_task *tasks;
    size_t ntasks;
    bool ix; /* collect the index tables of @p parents instead */
    const mo_cat_table *parents;
    size_t nparents;
    mo_cat_table *v;
    size_t n, cap;
    int rc;
} tab_vec;

static int collect_table(const mo_cat_table *t, void *payload)
{
    tab_vec *tv = payload;
    if (!ts_zero(t->dropped_ts))
        return 0;
    bool mine = false;
    if (tv->ix) {
        /* index tables have no task: theirs when the parent (by upstream id) is */
        mo_cat_index_link l;
        if (mo_cat_index_table_link(t->name, t->create_sql, &l) == MO_OK)
            for (size_t i = 0; i < tv->nparents && !mine; i++)
                mine = tv->parents[i].up_id == l.parent_id &&
                       tv->parents[i].down_db_id == t->down_db_id;
    } else {
        for (size_t i = 0; i < tv->ntasks && !mine; i++)
            mine = tv->tasks[i].down_table_id == t->down_id && !is_sub_row(&tv->tasks[i]);
    }
    if (!mine)
        return 0;
    if (tv->n == tv->cap) {
        size_t cap = tv->cap ? tv->cap * 2 : 16;
        mo_cat_table *n = mo_realloc(tv->v, cap * sizeof(*n));
        if (!n) {
            tv->rc = MO_ENOMEM;
            return 1;
        }
        tv->v = n;
        tv->cap = cap;
    }
    if (mo_cat_table_copy(&tv->v[tv->n], t) < 0) {
        tv->rc = MO_ENOMEM;
        return 1;
    }
    tv->n++;
    return 0;
}

static int load_old_tables(iter *it)
{
    tab_vec tv = {it->tasks, it->ntasks, false, NULL, 0, NULL, 0, 0, MO_OK};
    pthread_mutex_lock(&it->s->mu);
    int rc = mo_cat_foreach_table(it->s->cat, collect_table, &tv);
    pthread_mutex_unlock(&it->s->mu);
    it->old = tv.v;
    it->nold = tv.n;
    if (tv.rc < 0 || rc < 0)
        return mo_err_set(it->err, tv.rc < 0 ? tv.rc : rc, "catalog: reading tables");
    tab_vec ti = {NULL, 0, true, it->old, it->nold, NULL, 0, 0, MO_OK};
    pthread_mutex_lock(&it->s->mu);
    rc = mo_cat_foreach_table(it->s->cat, collect_table, &ti);
    pthread_mutex_unlock(&it->s->mu);
    it->oldix = ti.v;
    it->noldix = ti.n;
    if (ti.rc < 0 || rc < 0)
        return mo_err_set(it->err, ti.rc < 0 ? ti.rc : rc, "catalog: reading index tables");
    return MO_OK;
}

/* Same stored columns (seqnums, hidden set, storage type; CHAR/VARCHAR may widen): the objects
 * stay readable, so the change is applied in place. */
static bool inplace_compatible(const mo_cat_table *a, const mo_cat_table *b, char *why, size_t cap)
{
    if (a->ncols != b->ncols) {
        snprintf(why, cap, "%u stored columns become %u", a->ncols, b->ncols);
        return false;
    }
    for (uint16_t i = 0; i < a->ncols; i++) {
        const mo_cat_col *x = &a->cols[i], *y = &b->cols[i];
        bool text = x->type.oid == MO_T_CHAR || x->type.oid == MO_T_VARCHAR;
        if (x->seqnum != y->seqnum || x->hidden != y->hidden || x->type.oid != y->type.oid ||
            x->type.size != y->type.size || x->type.scale != y->type.scale ||
            (text ? y->type.width < x->type.width : y->type.width != x->type.width)) {
            snprintf(why, cap, "column %.150s changes its storage", x->name);
            return false;
        }
    }
    if (a->real_pk != b->real_pk || a->sort_col != b->sort_col || a->pk_col != b->pk_col) {
        snprintf(why, cap, "the primary or sort key changes");
        return false;
    }
    return true;
}

static int push_tab(iter *it, ptab **out)
{
    ptab *n = mo_realloc(it->tabs, (it->ntabs + 1) * sizeof(*n));
    if (!n)
        return mo_err_set(it->err, MO_ENOMEM, "table plan");
    it->tabs = n;
    *out = &it->tabs[it->ntabs++];
    memset(*out, 0, sizeof(**out));
    return MO_OK;
}

/* ---------------- hidden index tables ---------------- */

/* A secondary index's objects live in a hidden table the object list names (§3.8); mosync
 * keeps it downstream under a name of its own (MO's downstream gets new names by executing the
 * CREATE text) and maps the upstream name through the link in the index table's CREATE text
 * (mo_cat_index_table_make). Index tables get no task: they follow their parent — created
 * with it, dropped with it or when get_mo_indexes stops listing them, kept across RENAME. */

static bool ix_linked(const mo_cat_table *t, uint64_t parent_up, uint64_t db_id, const char *up)
{
    mo_cat_index_link l;
    return t->down_db_id == db_id && mo_cat_index_table_link(t->name, t->create_sql, &l) == MO_OK &&
           l.parent_id == parent_up && (!up || !strcmp(l.up_name, up));
}

static ptab *ix_table(iter *it, const char *db, const char *up)
{
    for (size_t i = 0; i < it->ntabs; i++)
        if (it->tabs[i].ix && it->tabs[i].kind != PT_DROP && !strcmp(it->tabs[i].ix_up, up) &&
            !strcmp(it->tabs[i].t.db, db))
            return &it->tabs[i];
    return NULL;
}

/* Keeps (PT_KEEP) the existing downstream index table @p k. */
static int ix_keep(iter *it, bool *kept, size_t k)
{
    ptab *np = NULL;
    int rc = push_tab(it, &np);
    if (rc < 0)
        return rc;
    if (mo_cat_table_copy(&np->t, &it->oldix[k]) < 0) {
        it->ntabs--;
        return mo_err_set(it->err, MO_ENOMEM, "table plan");
    }
    mo_cat_index_link l;
    mo_cat_index_table_link(np->t.name, np->t.create_sql, &l);
    np->kind = PT_KEEP;
    np->ix = true;
    snprintf(np->ix_up, sizeof(np->ix_up), "%s", l.up_name);
    kept[k] = true;
    return MO_OK;
}

/* A downstream name for upstream index table @p up: its kind prefix and a new UUID (v4 form),
 * derived from the task, LSN and name so that a replayed iteration plans the same name. */
static void ix_down_name(const iter *it, const char *up, char out[MO_CAT_NAME_MAX])
{
    const size_t n = strlen(up);
    const size_t keep = n > 36 && up[n - 37] == '_' ? n - 36 : n;
    char seed[MO_CAT_NAME_MAX + 64];
    const int sn = snprintf(seed, sizeof(seed), "%" PRIu64 "/%" PRIu64 "/%s", it->sub.task_id,
                            it->L, up);
    const mo_digest128 d = mo_xxh3_128(seed, (size_t)sn);
    uint8_t u[16];
    for (int i = 0; i < 8; i++) {
        u[i] = (uint8_t)(d.hi >> (8 * i));
        u[8 + i] = (uint8_t)(d.lo >> (8 * i));
    }
    u[6] = (uint8_t)(0x40 | (u[6] & 0x0f));
    u[8] = (uint8_t)(0x80 | (u[8] & 0x3f));
    char uuid[37];
    mo_obj_uuid_format(uuid, u);
    snprintf(out, MO_CAT_NAME_MAX, "%.*s%s%s", (int)(keep > 200 ? 200 : keep), up,
             keep == n ? "_" : "", uuid);
}

/* get_mo_indexes of parent @p pi at this snapshot: index tables already here are kept, new
 * ones created. */
static int ix_refresh(iter *it, size_t pi, bool *kept)
{
    const sync_conn *c = &it->conn;
    it->tabs[pi].ix_queried = true;
    mo_up_index *rows = NULL;
    size_t n = 0;
    int rc = mo_up_get_mo_indexes(it->up, &rows, &n, it->tabs[pi].t.up_id, c->pubacct,
                                  c->pubname, it->snap, it->err);
    for (size_t i = 0; i < n && rc == MO_OK; i++) {
        const char *up = rows[i].index_table_name;
        const mo_cat_table *par = &it->tabs[pi].t;
        if (!up || !mo_cat_is_index_table(up) || ix_table(it, par->db, up))
            continue; /* PRIMARY, or a further column of an index already planned */
        size_t k = it->noldix;
        for (size_t j = 0; j < it->noldix && k == it->noldix; j++)
            if (!kept[j] && it->tabs[pi].kind != PT_RECREATE && it->tabs[pi].kind != PT_CREATE &&
                ix_linked(&it->oldix[j], par->up_id, par->down_db_id, up))
                k = j;
        if (k < it->noldix) {
            rc = ix_keep(it, kept, k);
            continue;
        }
        char down[MO_CAT_NAME_MAX];
        ix_down_name(it, up, down);
        mo_cat_table t;
        if ((rc = mo_cat_index_table_make(&t, par, par->up_id, down, rows[i].name, up, it->err)) <
            0) {
            mo_err_prefix(it->err, "index %s of %s.%s: ", rows[i].name, par->db, par->name);
            break;
        }
        t.down_db_id = par->down_db_id;
        ptab *np = NULL;
        if ((rc = push_tab(it, &np)) < 0) {
            mo_cat_table_dispose(&t);
            break;
        }
        np->t = t;
        np->kind = PT_CREATE;
        np->ix = true;
        snprintf(np->ix_up, sizeof(np->ix_up), "%s", up);
    }
    mo_up_index_free(rows, n);
    return rc;
}

/* After the table plan: the index tables of every parent in scope. Parents whose DDL changed
 * (created, re-created, altered in place: ADD/DROP INDEX changes the CREATE text) read
 * get_mo_indexes; the others keep theirs; index tables left over are dropped. */
static int ix_plan(iter *it, bool *kept)
{
    int rc = MO_OK;
    const size_t nuser = it->ntabs;
    for (size_t i = 0; i < nuser && rc == MO_OK; i++) {
        const int kind = it->tabs[i].kind;
        if (kind == PT_DROP)
            continue;
        if (kind == PT_CREATE || kind == PT_RECREATE || kind == PT_INPLACE) {
            rc = ix_refresh(it, i, kept);
            continue;
        }
        for (size_t k = 0; k < it->noldix && rc == MO_OK; k++)
            if (!kept[k] &&
                ix_linked(&it->oldix[k], it->tabs[i].t.up_id, it->tabs[i].t.down_db_id, NULL))
                rc = ix_keep(it, kept, k);
    }
    return rc;
}

static int ix_drop_rest(iter *it, const bool *kept)
{
    for (size_t k = 0; k < it->noldix; k++) {
        if (kept[k])
            continue;
        ptab *p = NULL;
        int rc = push_tab(it, &p);
        if (rc < 0)
            return rc;
        if (mo_cat_table_copy(&p->t, &it->oldix[k]) < 0) {
            it->ntabs--;
            return mo_err_set(it->err, MO_ENOMEM, "table plan");
        }
        p->kind = PT_DROP;
        p->ix = true;
    }
    return MO_OK;
}

/* Index-table names in the object list that no planned table maps (a parent kept since before
 * its index tables were carried): read get_mo_indexes of that database's other parents. */
static int ix_discover(iter *it, const mo_up_obj *list, size_t n, bool *kept)
{
    int rc = MO_OK;
    const size_t nuser = it->ntabs;
    for (size_t i = 0; i < n && rc == MO_OK; i++) {
        if (list[i].deleted || !mo_cat_is_index_table(list[i].table) ||
            ix_table(it, list[i].db, list[i].table))
            continue;
        for (size_t p = 0; p < nuser && rc == MO_OK && !ix_table(it, list[i].db, list[i].table);
             p++)
            if (!it->tabs[p].ix && !it->tabs[p].ix_queried && it->tabs[p].kind != PT_DROP &&
                !strcmp(it->tabs[p].t.db, list[i].db))
                rc = ix_refresh(it, p, kept);
    }
    return rc;
}

static int ddl(iter *it)
{
    const sync_conn *c = &it->conn;
    mo_up_level lvl = mo_sync__level(&it->sub);
    const char *db = it->sub.db[0] ? it->sub.db : NULL;
    const char *tb = lvl == MO_UP_LEVEL_TABLE && it->sub.table[0] ? it->sub.table : NULL;
    int rc;
    if (lvl != MO_UP_LEVEL_TABLE &&
        (rc = mo_up_get_databases(it->up, &it->dbs, it->snap, c->pubacct, c->pubname, lvl, db,
                                  tb, it->err)) < 0)
        return rc;
    mo_up_ddl *rows = NULL;
    size_t n = 0;
    if ((rc = mo_up_get_ddl(it->up, &rows, &n, it->snap, c->pubacct, c->pubname, lvl, db, tb,
                            it->err)) < 0)
        return rc;
    if ((rc = load_old_tables(it)) < 0)
        goto out;
    bool *used = mo_calloc(it->nold ? it->nold : 1, 1);
    if (!used) {
        rc = mo_err_set(it->err, MO_ENOMEM, "table plan");
        goto out;
    }
    for (size_t i = 0; i < n && rc == MO_OK; i++) {
        const mo_up_ddl *u = &rows[i];
        if (!strncmp(u->table, "__mo_index_", 11))
            continue;
        mo_cat_table nt;
        if ((rc = mo_cat_schema_parse(&nt, u->sql, it->err)) < 0) {
            mo_err_prefix(it->err, "cannot apply DDL of %s.%s: ", u->db, u->table);
            rc = MO_EINVAL; /* fatal: names the statement's table */
            break;
        }
        snprintf(nt.db, sizeof(nt.db), "%s", u->db);
        snprintf(nt.name, sizeof(nt.name), "%s", u->table);
        nt.up_id = (uint64_t)u->table_id;
        /* the same upstream table (id) already here, unless a resync starts afresh */
        size_t match = it->nold;
        for (size_t k = 0; k < it->nold && !it->resync; k++)
            if (!used[k] && it->old[k].up_id == nt.up_id)
                match = k;
        ptab *p = NULL;
        if ((rc = push_tab(it, &p)) < 0) {
            mo_cat_table_dispose(&nt);
            break;
        }
        if (match < it->nold) {
            const mo_cat_table *o = &it->old[match];
            used[match] = true;
            nt.down_id = o->down_id;
            nt.down_db_id = o->down_db_id;
            nt.created_ts = o->created_ts;
            p->t = nt;
            p->kind = PT_KEEP;
            if (strcmp(o->db, nt.db) || strcmp(o->name, nt.name)) {
                /* RENAME TABLE keeps the id: keep the objects (MO loses them, §7) */
                p->kind = PT_RENAME;
                p->rename = true;
                it->rep->ddl_rename++;
            }
            if (!o->create_sql || strcmp(o->create_sql, nt.create_sql)) {
                char why[256];
                /* compare without the table name (a rename changes the text too) */
                if (!inplace_compatible(o, &nt, why, sizeof(why))) {
                    rc = mo_err_set(it->err, MO_EINVAL,
                                    "cannot apply DDL in place on %s.%s (table id %" PRIu64
                                    " unchanged): %s; statement: %.300s",
                                    nt.db, nt.name, nt.up_id, why, u->sql);
                    break;
                }
                if (p->kind == PT_KEEP) {
                    p->kind = PT_INPLACE;
                    it->rep->ddl_inplace++;
                }
            }
            continue;
        }
        /* a table of that name with another id: TRUNCATE or copy ALTER -> drop + recreate */
        p->t = nt;
        p->kind = PT_CREATE;
        for (size_t k = 0; k < it->nold && !it->resync; k++)
            if (!used[k] && !strcmp(it->old[k].db, nt.db) && !strcmp(it->old[k].name, nt.name)) {
                used[k] = true;
                p->kind = PT_RECREATE;
                p->old_down_id = it->old[k].down_id;
                p->t.down_db_id = it->old[k].down_db_id;
            }
        if (p->kind == PT_RECREATE)
            it->rep->ddl_recreate++;
        else
            it->rep->ddl_create++;
    }
    /* in scope here, gone upstream (or a resync): drop */
    for (size_t k = 0; k < it->nold && rc == MO_OK; k++) {
        if (used[k])
            continue;
        ptab *p = NULL;
        if ((rc = push_tab(it, &p)) < 0)
            break;
        if ((rc = mo_cat_table_copy(&p->t, &it->old[k])) < 0) {
            it->ntabs--;
            rc = mo_err_set(it->err, MO_ENOMEM, "table plan");
            break;
        }
        p->kind = PT_DROP;
        if (!it->resync)
            it->rep->ddl_drop++;
    }
    mo_free(used);
    if (rc == MO_OK && !(it->ixkept = mo_calloc(it->noldix ? it->noldix : 1, 1)))
        rc = mo_err_set(it->err, MO_ENOMEM, "index table plan");
    if (rc == MO_OK)
        rc = ix_plan(it, it->ixkept);
out:
    mo_up_ddl_free(rows, n);
    return rc;
}

/* ---------------- objects ---------------- */

static ptab *table_by_name(iter *it, const char *db, const char *name)
{
    for (size_t i = 0; i < it->ntabs; i++)
        if (it->tabs[i].kind != PT_DROP && !strcmp(it->tabs[i].t.db, db) &&
            !strcmp(it->tabs[i].t.name, name))
            return &it->tabs[i];
    return NULL;
}

static bool obj_live(mo_sync *s, const uint8_t id[18], mo_cat_object *o)
{
    return mo_cat_get_object(s->cat, id, o) == MO_OK && ts_zero(o->delete_ts);
}

/* Classifies the listing: what to delete, what to fetch. */
static int plan_objects(iter *it, mo_up_obj *list, size_t n)
{
    mo_sync *s = it->s;
    it->objs = mo_calloc(n ? n : 1, sizeof(*it->objs));
    if (!it->objs)
        return mo_err_set(it->err, MO_ENOMEM, "object plan");
    int rc = MO_OK;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n && rc == MO_OK; i++) {
        const mo_up_obj *u = &list[i];
        uint8_t id[18];
        memcpy(id, u->stats_raw, 18);
        bool appendable = (u->stats.flags & MO_OBJ_STATS_APPENDABLE) != 0;
        mo_cat_mapping m;
        bool has_map = mo_cat_get_mapping(s->cat, id, &m, NULL) == MO_OK;
        mo_cat_object o;
        if (u->deleted) {
            if (has_map) {
                for (uint32_t k = 0; k < m.ndown && rc == MO_OK; k++)
                    if (obj_live(s, m.down_ids[k], &o))
                        rc = add_del(it, m.down_ids[k], o.is_tombstone);
                if (rc == MO_OK)
                    rc = add_delmap(it, id);
            } else if (obj_live(s, id, &o)) {
                rc = add_del(it, id, o.is_tombstone);
            }
            if (has_map)
                mo_cat_mapping_dispose(&m);
            continue;
        }
        const bool ix = mo_cat_is_index_table(u->table);
        ptab *p = ix ? ix_table(it, u->db, u->table) : table_by_name(it, u->db, u->table);
        if (!p) {
            if (has_map)
                mo_cat_mapping_dispose(&m);
            rc = mo_err_set(it->err, MO_EUPSTREAM,
                            "object_list: object %s of %s.%s, a table %s did not list", u->name,
                            u->db, u->table, ix ? "get_mo_indexes" : "get_ddl");
            break;
        }
        /* already applied (an inclusive window, or a replay after a crash past the commit) */
        bool fresh = p->kind == PT_CREATE || p->kind == PT_RECREATE;
        bool done = false;
        if (!fresh) {
            if (has_map)
                done = m.table_id == p->t.down_id;
            else if (!appendable && !u->is_tombstone)
                done = obj_live(s, id, &o) && o.table_id == p->t.down_id;
        }
        if (has_map)
            mo_cat_mapping_dispose(&m);
        if (done)
            continue;
        pobj *po = &it->objs[it->nobjs++];
        po->u = *u;
        po->tab = p;
        po->cls = u->is_tombstone ? PO_TOMB : appendable ? PO_ADATA : PO_DATA;
        po->stage = po->cls != PO_DATA;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int list_objects(iter *it)
{
    const sync_conn *c = &it->conn;
    mo_up_obj *list = NULL;
    size_t n = 0;
    int rc = mo_up_object_list(it->up, &list, &n, it->snap,
                               it->have_prev && !it->resync ? it->prev : NULL, c->pubacct,
                               c->pubname, it->err);
    if (rc < 0 && it->have_prev && strstr(it->err->msg, "stale read")) {
        /* the diff range is gone upstream: clean full resync (§5.8) */
        mo_sync__log(it->s, "%s: %s: full resync", it->sub.name, it->err->msg);
        it->resync = true;
        return MO_EAGAIN; /* the caller restarts the DDL phase */
    }
    if (rc < 0)
        return rc;
    it->rep->listed = n;
    if ((rc = ix_discover(it, list, n, it->ixkept)) == MO_OK &&
        (rc = ix_drop_rest(it, it->ixkept)) == MO_OK)
        rc = plan_objects(it, list, n);
    mo_free(list);
    return rc;
}

typedef struct obj_vec {
    uint64_t table_id;
    mo_cat_object *v;
    size_t n, cap;
    int rc;
} obj_vec;

static int collect_obj(const mo_cat_object *o, void *payload)
{
    obj_vec *ov = payload;
    if (!ts_zero(o->delete_ts))
        return 0;
    if (ov->n == ov->cap) {
        size_t cap = ov->cap ? ov->cap * 2 : 64;
        mo_cat_object *n = mo_realloc(ov->v, cap * sizeof(*n));
        if (!n) {
            ov->rc = MO_ENOMEM;
            return 1;
        }
        ov->v = n;
        ov->cap = cap;
    }
    ov->v[ov->n++] = *o;
    return 0;
}

static int collect_tomb(const mo_cat_object *o, obj_vec *ov)
{
    return o->is_tombstone ? collect_obj(o, ov) : 0;
}

/* ---------------- pending appendables ---------------- */

/* Rows of an appendable object visible at @p ts (not aborted, committed by then), and whether
 * non-aborted rows committed after @p ts remain. */
static int visible_rows(const char *path, mo_obj_ts ts, uint64_t *vis, bool *future, mo_err *err)
{
    *vis = 0;
    *future = false;
    mo_obj_reader *r;
    mo_obj_where w;
    int rc = mo_obj_reader_open(&r, path, err);
    if (rc < 0)
        return rc;
    if ((rc = mo_obj_reader_load_meta(r, &w, err)) < 0) {
        mo_obj_reader_free(r);
        return rc;
    }
    const mo_obj_meta *m = mo_obj_reader_meta(r);
    mo_obj_special sp;
    mo_obj_meta_special(&sp, m);
    mo_buf sc[2] = {MO_BUF_INIT, MO_BUF_INIT};
    const mo_obj_slotmeta *sl = &m->slots[0];
    for (uint32_t b = 0; b < sl->block_count && rc == MO_OK; b++) {
        mo_obj_vec cts, ab;
        bool have_cts = sp.commit_ts >= 0 &&
                        mo_obj_reader_column(r, &cts, &sc[0], b, (uint16_t)sp.commit_ts, NULL,
                                             NULL) == MO_OK;
        bool have_ab = sp.abort >= 0 && mo_obj_reader_column(r, &ab, &sc[1], b,
                                                             (uint16_t)sp.abort, NULL,
                                                             NULL) == MO_OK;
        for (uint32_t k = 0; k < sl->blocks[b].hdr.rows; k++) {
            if (have_ab && !mo_obj_vec_is_null(&ab, k)) {
                const uint8_t *p = mo_obj_vec_slot(&ab, k);
                if (p && p[0])
                    continue;
            }
            if (have_cts && !mo_obj_vec_is_null(&cts, k)) {
                const uint8_t *p = mo_obj_vec_slot(&cts, k);
                if (p && mo_obj_ts_cmp(mo_obj_ts_decode(p), ts) > 0) {
                    *future = true;
                    continue;
                }
            }
            (*vis)++;
        }
    }
    mo_buf_dispose(&sc[0]);
    mo_buf_dispose(&sc[1]);
    mo_obj_reader_free(r);
    return rc;
}

static bool in_delmaps(const iter *it, const uint8_t id[18])
{
    for (size_t i = 0; i < it->ndelmaps; i++)
        if (!memcmp(it->delmaps[i], id, 18))
            return true;
    return false;
}

/* Pending appendables of kept tables join the plan to be rewritten at this snapshot. */
static int scan_pending(iter *it)
{
    DIR *d = opendir(it->pending);
    if (!d)
        return MO_OK;
    int rc = MO_OK;
    struct dirent *e;
    while (rc == MO_OK && (e = readdir(d))) {
        if (!mo_obj_name_valid(e->d_name))
            continue;
        mo_obj_objectid oid;
        uint8_t id[18];
        if (mo_obj_name_parse(&oid, e->d_name, strlen(e->d_name), NULL) < 0)
            continue;
        mo_obj_objectid_encode(id, &oid);
        if (in_delmaps(it, id))
            continue; /* deleted upstream in this diff: the file goes after the commit */
        bool listed = false;
        for (size_t i = 0; i < it->nobjs && !listed; i++)
            listed = !memcmp(it->objs[i].u.stats_raw, id, 18);
        if (listed)
            continue; /* a replay: rewritten as listed */
        mo_cat_mapping m;
        pthread_mutex_lock(&it->s->mu);
        int mr = mo_cat_get_mapping(it->s->cat, id, &m, NULL);
        pthread_mutex_unlock(&it->s->mu);
        if (mr < 0)
            continue; /* never committed (a failed iteration): dropped after the commit */
        ptab *p = NULL;
        for (size_t i = 0; i < it->ntabs && !p; i++)
            if (it->tabs[i].t.down_id == m.table_id &&
                (it->tabs[i].kind == PT_KEEP || it->tabs[i].kind == PT_INPLACE ||
                 it->tabs[i].kind == PT_RENAME))
                p = &it->tabs[i];
        if (!p) {
            mo_cat_mapping_dispose(&m);
            continue;
        }
        pobj *n = mo_realloc(it->objs, (it->nobjs + 1) * sizeof(*n));
        if (!n) {
            mo_cat_mapping_dispose(&m);
            rc = mo_err_set(it->err, MO_ENOMEM, "object plan");
            break;
        }
        it->objs = n;
        pobj *po = &it->objs[it->nobjs++];
        memset(po, 0, sizeof(*po));
        memcpy(po->u.name, e->d_name, MO_OBJ_NAME_STR_LEN);
        po->u.name[MO_OBJ_NAME_STR_LEN] = 0;
        memcpy(po->u.stats_raw, id, 18);
        snprintf(po->u.db, sizeof(po->u.db), "%s", p->t.db);
        snprintf(po->u.table, sizeof(po->u.table), "%s", p->t.name);
        po->tab = p;
        po->cls = PO_ADATA;
        po->stage = true;
        po->repend = true;
        if (m.ndown) {
            memcpy(po->old_down, m.down_ids[0], 18);
            po->has_old_down = true;
        }
        po->old_map = m.row_map;
        po->old_nrows = m.nrows;
        m.row_map = NULL;
        mo_cat_mapping_dispose(&m);
    }
    closedir(d);
    return rc;
}

/* ---------------- fetch ---------------- */

static void obj_path(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

/* it->objs indices sorted by name: duplicate names and the copier's callback in O(log n) */
typedef struct name_ix name_ix;
struct name_ix {
    const char *name;
    size_t i;
};

static int name_ix_cmp(const void *a, const void *b)
{
    const name_ix *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The copier's XXH3-128 of a replica-set object it published (its threads; each object once):
 * materialize need not read the file again. Only digest fields of PO_DATA objects are written,
 * which no one else touches while the copier runs. */
static void fetched_digest(void *payload, const mo_obj_ref *ref, mo_digest128 digest)
{
    iter *it = payload;
    size_t lo = 0, hi = it->nfix; /* the first entry >= ref->name */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(it->fix[mid].name, ref->name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < it->nfix && !strcmp(it->fix[lo].name, ref->name); lo++) {
        pobj *po = &it->objs[it->fix[lo].i];
        if (po->cls == PO_DATA && !po->stage) {
            po->digest = digest;
            po->digest_known = true;
        }
    }
}

static int fetch_set(iter *it, bool stage)
{
    mo_sync *s = it->s;
    const char *dir = stage ? it->stage : s->dir;
    mo_sync_want *want = mo_calloc(it->nobjs ? it->nobjs : 1, sizeof(*want));
    name_ix *ix = mo_calloc(it->nobjs ? it->nobjs : 1, sizeof(*ix));
    bool *dup = mo_calloc(it->nobjs ? it->nobjs : 1, sizeof(*dup));
    if (!want || !ix || !dup) {
        mo_free(want);
        mo_free(ix);
        mo_free(dup);
        return mo_err_set(it->err, MO_ENOMEM, "fetch list");
    }
    size_t nix = 0;
    for (size_t i = 0; i < it->nobjs; i++)
        if (it->objs[i].stage == stage && !it->objs[i].repend)
            ix[nix++] = (name_ix){it->objs[i].u.name, i};
    qsort(ix, nix, sizeof(*ix), name_ix_cmp);
    for (size_t k = 1; k < nix; k++)
        dup[ix[k].i] = !strcmp(ix[k].name, ix[k - 1].name); /* all but the first of a name */
    size_t n = 0;
    for (size_t i = 0; i < it->nobjs; i++) {
        pobj *po = &it->objs[i];
        if (po->stage != stage || po->repend || dup[i])
            continue;
        char path[4200];
        obj_path(path, sizeof(path), dir, po->u.name);
        if (reusable(path, po->u.stats_raw)) {
            it->rep->reused++;
            continue;
        }
        memcpy(want[n].name, po->u.name, sizeof(want[n].name));
        memcpy(want[n].stats, po->u.stats_raw, MO_OBJ_STATS_LEN);
        n++;
        if (it->have_prev && !it->resync && po->cls == PO_DATA &&
            mo_obj_stats_level(&po->u.stats) > 0 && po->tab &&
            po->tab->kind != PT_CREATE && po->tab->kind != PT_RECREATE)
            it->rep->merged_bytes += po->u.stats.size;
    }
    mo_free(dup);
    it->fix = ix;
    it->nfix = nix;
    int rc = MO_OK;
    if (!n)
        goto out;
    const char *jdir = stage ? it->jstage : it->jmain;
    char job[160];
    snprintf(job, sizeof(job), "%s-%" PRIu64 "-%" PRIu64 "-%s", it->s->cn_uuid[0] ? "sync" : "",
             it->sub.task_id, it->L, stage ? "stage" : "main");
    for (int attempt = 0; attempt < 2; attempt++) {
        mo_src *src = NULL;
        mo_sink *sink = NULL;
        if ((rc = mo_sync_src_open(&src, it->conn.uri, it->conn.has_password ? it->conn.password
                                                                            : NULL,
                                   it->conn.pubacct, it->conn.pubname, want, n, job, it->err)) <
            0)
            goto out;
        if ((rc = mo_sync_sink_open(&sink, dir, jdir, !stage && !s->o.buffered_io, it->err)) < 0) {
            mo_src_free(src);
            goto out;
        }
        mo_xfer_opts xo;
        memset(&xo, 0, sizeof(xo));
        xo.jobs = s->o.fetch_jobs;
        xo.verify_level = s->o.verify_level;
        xo.journal = true;
        xo.unsynced_sink = true;
        xo.on_published = stage ? NULL : fetched_digest;
        xo.payload = it;
        mo_xfer_stats st;
        rc = mo_xfer_run(&st, src, sink, &xo, it->err);
        mo_src_free(src);
        mo_sink_free(sink);
        it->rep->fetched += st.objects_copied;
        it->rep->reused += st.objects_skipped;
        it->rep->bytes += st.bytes_copied;
        if (rc == MO_ESTALE && attempt == 0) {
            /* another job's unfinished journal (a resync changed the list): objects it
             * published are reused above next time; start a fresh journal */
            char jp[4200];
            snprintf(jp, sizeof(jp), "%s/ckpt/journal", jdir);
            mo_sys_unlink(jp);
            mo_err_clear(it->err);
            continue;
        }
        break;
    }
out:
    mo_free(want);
    mo_free(it->fix);
    it->fix = NULL;
    it->nfix = 0;
    return rc;
}

/* ---------------- rewrites ---------------- */

static pobj *find_new_map(iter *it, const uint8_t up[18])
{
    for (size_t i = 0; i < it->nobjs; i++) {
        pobj *po = &it->objs[i];
        if (po->cls == PO_ADATA && po->mapped && !po->unchanged &&
            !memcmp(po->u.stats_raw, up, 18))
            return po;
    }
    return NULL;
}

static int map_cb(void *payload, const uint8_t upstream_objectid[18], uint8_t down_objectid[18],
                  const uint32_t **row_map, uint32_t *nrows)
{
    iter *it = payload;
    pobj *po = find_new_map(it, upstream_objectid);
    if (po) {
        if (!po->has_out) {
            /* every row of it was invisible: its rows are gone */
            memcpy(down_objectid, upstream_objectid, 18);
            *row_map = po->row_map;
            *nrows = po->nrows;
            return MO_OK;
        }
        memcpy(down_objectid, po->out_stats, 18);
        *row_map = po->row_map;
        *nrows = po->nrows;
        return MO_OK;
    }
    for (size_t i = 0; i < it->nloaded; i++)
        if (!memcmp(it->loaded[i].upstream_id, upstream_objectid, 18))
            goto found;
    if (it->nloaded == it->caploaded) {
        size_t cap = it->caploaded ? it->caploaded * 2 : 16;
        mo_cat_mapping *n = mo_realloc(it->loaded, cap * sizeof(*n));
        if (!n)
            return MO_ENOMEM;
        it->loaded = n;
        it->caploaded = cap;
    }
    pthread_mutex_lock(&it->s->mu);
    mo_cat_mapping *slot = &it->loaded[it->nloaded];
    int rc = mo_cat_get_mapping(it->s->cat, upstream_objectid, slot, NULL);
    pthread_mutex_unlock(&it->s->mu);
    if (rc == MO_ENOTFOUND) {
        memset(slot, 0, sizeof(*slot)); /* remembered as "not rewritten" */
        memcpy(slot->upstream_id, upstream_objectid, 18);
    } else if (rc < 0) {
        return rc;
    }
    it->nloaded++;
    size_t i;
found:
    i = 0;
    for (; i < it->nloaded; i++)
        if (!memcmp(it->loaded[i].upstream_id, upstream_objectid, 18))
            break;
    const mo_cat_mapping *m = &it->loaded[i];
    if (!m->row_map)
        return MO_ENOTFOUND; /* a tombstone mapping, or no row map: rowids stay */
    if (m->ndown)
        memcpy(down_objectid, m->down_ids[0], 18);
    else
        memcpy(down_objectid, upstream_objectid, 18);
    *row_map = m->row_map;
    *nrows = m->nrows;
    return MO_OK;
}

static int write_out(iter *it, pobj *po, mo_buf *out, const mo_obj_stats *st, mo_err *err)
{
    char name[43], path[4200];
    mo_obj_name_format(name, &st->id);
    obj_path(path, sizeof(path), it->s->dir, name);
    int rc = mo_sys_write_file_unsynced(path, out->ptr, out->len, err);
    if (rc < 0)
        return rc;
    mo_obj_stats_encode(po->out_stats, st);
    po->has_out = true;
    po->digest = mo_xxh3_128(out->ptr, out->len);
    return MO_OK;
}

/* The one call per appendable object (obj_rewrite.c). Runs on materialize's worker threads:
 * it touches only @p po, reads @p it, and takes @p mu for the shared report and delete list;
 * failures go to @p err (the worker's own). */
static int rewrite_appendable(iter *it, pobj *po, pthread_mutex_t *mu, mo_err *err)
{
    char path[4200];
    obj_path(path, sizeof(path), po->repend ? it->pending : it->stage, po->u.name);
    const mo_cat_table *t = &po->tab->t;
    uint64_t vis;
    int rc = visible_rows(path, it->cur_ts, &vis, &po->future, err);
    if (rc < 0)
        return rc;
    if (po->repend) {
        uint64_t before = 0;
        for (uint32_t i = 0; i < po->old_nrows; i++)
            before += po->old_map[i] != UINT32_MAX;
        if (before == vis) {
            po->unchanged = true; /* nothing new became visible: stays as it is */
            return MO_OK;
        }
    }
    mo_obj_reader *r = NULL;
    mo_obj_where w;
    rc = mo_obj_reader_open(&r, path, err);
    if (rc == MO_OK)
        rc = mo_obj_reader_load_meta(r, &w, err);
    mo_obj_writer_col *cols = mo_calloc(t->ncols ? t->ncols : 1, sizeof(*cols));
    if (rc == MO_OK && !cols)
        rc = mo_err_set(err, MO_ENOMEM, "columns");
    for (uint16_t i = 0; rc == MO_OK && i < t->ncols; i++) {
        cols[i].type = t->cols[i].type;
        cols[i].seqnum = t->cols[i].seqnum;
    }
    mo_obj_objectid id;
    derived_id(&id, it->sub.task_id, it->L, po->u.stats_raw, 1);
    mo_obj_rewrite_opts ro;
    memset(&ro, 0, sizeof(ro));
    ro.cols = cols;
    ro.ncols = t->ncols;
    ro.sort_key_pos = t->sort_col;
    ro.pk_pos = t->pk_col;
    ro.stats_flags = MO_OBJ_STATS_CNCREATED;
    ro.id = &id;
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    memset(&res, 0, sizeof(res));
    if (rc == MO_OK) {
        rc = mo_obj_rewrite_appendable(&out, &res, r, it->cur_ts, &ro, err);
        if (rc == MO_OK)
            rc = write_out(it, po, &out, &res.stats, err);
        else if (rc == MO_ENOTFOUND) {
            rc = MO_OK; /* no visible row: nothing registered, the mapping remembers it */
            mo_err_clear(err);
        }
        if (rc == MO_OK) {
            po->row_map = res.row_map;
            po->nrows = res.row_map_len;
            res.row_map = NULL;
            po->mapped = true;
            pthread_mutex_lock(mu);
            it->rep->rewritten++;
            if (po->repend && po->has_old_down)
                rc = add_del_err(it, po->old_down, false, err);
            pthread_mutex_unlock(mu);
        }
    }
    mo_obj_rewrite_result_dispose(&res);
    mo_buf_dispose(&out);
    mo_free(cols);
    mo_obj_reader_free(r);
    if (rc < 0)
        mo_err_prefix(err, "rewriting appendable %s: ", po->u.name);
    return rc;
}

/* The one call per tombstone object: rowids of rewritten appendables remapped. */
static int rewrite_tombstone(iter *it, pobj *po)
{
    char path[4200];
    obj_path(path, sizeof(path), it->stage, po->u.name);
    mo_obj_reader *r = NULL;
    mo_obj_where w;
    int rc = mo_obj_reader_open(&r, path, it->err);
    if (rc == MO_OK)
        rc = mo_obj_reader_load_meta(r, &w, it->err);
    mo_obj_objectid id;
    derived_id(&id, it->sub.task_id, it->L, po->u.stats_raw, 2);
    mo_obj_tombstone_opts to;
    memset(&to, 0, sizeof(to));
    to.stats_flags = MO_OBJ_STATS_CNCREATED;
    to.id = &id;
    mo_buf out = MO_BUF_INIT;
    mo_obj_rewrite_result res;
    memset(&res, 0, sizeof(res));
    if (rc == MO_OK) {
        rc = mo_obj_rewrite_tombstone(&out, &res, r, it->cur_ts, &to, map_cb, it, it->err);
        if (rc == MO_OK)
            rc = write_out(it, po, &out, &res.stats, it->err);
        else if (rc == MO_ENOTFOUND) {
            rc = MO_OK;
            mo_err_clear(it->err);
        }
        if (rc == MO_OK) {
            po->mapped = true;
            it->rep->rewritten++;
        }
    }
    mo_obj_rewrite_result_dispose(&res);
    mo_buf_dispose(&out);
    mo_obj_reader_free(r);
    if (rc < 0)
        mo_err_prefix(it->err, "remapping tombstone %s: ", po->u.name);
    return rc;
}

/* D1 (the old downstream object of a rewritten-again appendable) -> D2 with the composed map */
typedef struct rr_ctx {
    iter *it;
    uint32_t **comp; /* per repend pobj index */
    uint32_t *ncomp;
    bool hit;
} rr_ctx;

static int rr_cb(void *payload, const uint8_t up[18], uint8_t down[18], const uint32_t **row_map,
                 uint32_t *nrows)
{
    rr_ctx *x = payload;
    iter *it = x->it;
    for (size_t i = 0; i < it->nobjs; i++) {
        pobj *po = &it->objs[i];
        if (!po->repend || po->unchanged || !po->has_old_down || memcmp(po->old_down, up, 18))
            continue;
        x->hit = true;
        memcpy(down, po->has_out ? po->out_stats : po->old_down, 18);
        *row_map = x->comp[i];
        *nrows = x->ncomp[i];
        return MO_OK;
    }
    return MO_ENOTFOUND;
}

static int rr_collect(const mo_cat_object *o, void *payload)
{
    obj_vec *ov = payload;
    return collect_tomb(o, ov);
}

static int reremap_tombstones(iter *it)
{
    bool any = false;
    for (size_t i = 0; i < it->nobjs; i++)
        any |= it->objs[i].repend && !it->objs[i].unchanged && it->objs[i].has_old_down;
    if (!any)
        return MO_OK;
    int rc = MO_OK;
    rr_ctx x = {it, mo_calloc(it->nobjs, sizeof(uint32_t *)), mo_calloc(it->nobjs, sizeof(uint32_t)),
                false};
    obj_vec ov;
    memset(&ov, 0, sizeof(ov));
    if (!x.comp || !x.ncomp) {
        rc = mo_err_set(it->err, MO_ENOMEM, "remap");
        goto out;
    }
    for (size_t i = 0; i < it->nobjs && rc == MO_OK; i++) {
        pobj *po = &it->objs[i];
        if (!po->repend || po->unchanged || !po->has_old_down)
            continue;
        uint32_t n = 0;
        for (uint32_t u = 0; u < po->old_nrows; u++)
            if (po->old_map[u] != UINT32_MAX && po->old_map[u] + 1 > n)
                n = po->old_map[u] + 1;
        x.comp[i] = mo_malloc((n ? n : 1) * sizeof(uint32_t));
        if (!x.comp[i]) {
            rc = mo_err_set(it->err, MO_ENOMEM, "remap");
            break;
        }
        x.ncomp[i] = n;
        for (uint32_t k = 0; k < n; k++)
            x.comp[i][k] = UINT32_MAX;
        for (uint32_t u = 0; u < po->old_nrows; u++)
            if (po->old_map[u] != UINT32_MAX)
                x.comp[i][po->old_map[u]] =
                    po->row_map && u < po->nrows ? po->row_map[u] : UINT32_MAX;
        /* the live tombstones of its table */
        ov.table_id = po->tab->t.down_id;
        pthread_mutex_lock(&it->s->mu);
        int r2 = mo_cat_foreach_object(it->s->cat, po->tab->t.down_id, rr_collect, &ov);
        pthread_mutex_unlock(&it->s->mu);
        if (ov.rc < 0 || r2 < 0)
            rc = mo_err_set(it->err, MO_ENOMEM, "catalog: reading tombstones");
    }
    for (size_t i = 0; i < ov.n && rc == MO_OK; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = !memcmp(ov.v[k].stats, ov.v[i].stats, 18);
        if (seen)
            continue;
        const mo_cat_object *t = &ov.v[i];
        mo_obj_stats st;
        if ((rc = mo_obj_stats_decode(&st, t->stats, it->err)) < 0)
            break;
        char name[43], path[4200];
        mo_obj_name_format(name, &st.id);
        obj_path(path, sizeof(path), it->s->dir, name);
        mo_obj_reader *r = NULL;
        mo_obj_where w;
        if ((rc = mo_obj_reader_open(&r, path, it->err)) == MO_OK)
            rc = mo_obj_reader_load_meta(r, &w, it->err);
        mo_obj_objectid id;
        derived_id(&id, it->sub.task_id, it->L, t->stats, 3);
        mo_obj_tombstone_opts to;
        memset(&to, 0, sizeof(to));
        to.stats_flags = MO_OBJ_STATS_CNCREATED;
        to.id = &id;
        mo_buf out = MO_BUF_INIT;
        mo_obj_rewrite_result res;
        memset(&res, 0, sizeof(res));
        x.hit = false;
        if (rc == MO_OK) {
            mo_obj_ts all = {INT64_MAX, UINT32_MAX};
            rc = mo_obj_rewrite_tombstone(&out, &res, r, all, &to, rr_cb, &x, it->err);
        }
        mo_obj_reader_free(r);
        if ((rc == MO_OK || rc == MO_ENOTFOUND) && x.hit) {
            rremap *nr = mo_realloc(it->rr, (it->nrr + 1) * sizeof(*nr));
            if (!nr) {
                rc = mo_err_set(it->err, MO_ENOMEM, "remap");
            } else {
                it->rr = nr;
                rremap *q = &it->rr[it->nrr++];
                memset(q, 0, sizeof(*q));
                q->old = *t;
                if (rc == MO_OK) {
                    char nn[43], np[4200];
                    mo_obj_name_format(nn, &res.stats.id);
                    obj_path(np, sizeof(np), it->s->dir, nn);
                    if ((rc = mo_sys_write_file_unsynced(np, out.ptr, out.len, it->err)) == MO_OK) {
                        mo_obj_stats_encode(q->new_stats, &res.stats);
                        q->digest = mo_xxh3_128(out.ptr, out.len);
                        q->has_new = true;
                    }
                } else {
                    rc = MO_OK;
                    mo_err_clear(it->err);
                }
                it->rep->rewritten++;
            }
        } else if (rc == MO_ENOTFOUND) {
            rc = MO_OK;
            mo_err_clear(it->err);
        }
        mo_obj_rewrite_result_dispose(&res);
        mo_buf_dispose(&out);
        if (rc < 0)
            mo_err_prefix(it->err, "remapping downstream tombstone %s: ", name);
    }
out:
    for (size_t i = 0; x.comp && i < it->nobjs; i++)
        mo_free(x.comp[i]);
    mo_free(x.comp);
    mo_free(x.ncomp);
    mo_free(ov.v);
    return rc;
}

/* ---------------- materialize: digests and appendable rewrites on worker threads -------- */

/* Objects of one class, claimed in order by the calling thread and up to MAT_HELPERS helper
 * threads (online CPUs - 1). Each object is independent: a PO_DATA digest or a PO_ADATA rewrite
 * (derived output names, so the order of completion does not matter). The first failure stops
 * the claims; the others finish their object and stop. */
#define MAT_HELPERS 7

typedef struct mat_pool {
    iter *it;
    int cls;
    pthread_mutex_t mu; /* next, rc/err, and (rewrite_appendable) it->rep and the delete list */
    size_t next;
    int rc;
    mo_err err;
    pthread_t th[MAT_HELPERS];
    unsigned nth;
} mat_pool;

static int mat_one(iter *it, pobj *po, pthread_mutex_t *mu, mo_err *err)
{
    if (po->cls == PO_ADATA)
        return rewrite_appendable(it, po, mu, err);
    char path[4200];
    obj_path(path, sizeof(path), it->s->dir, po->u.name);
    int rc = po->digest_known ? MO_OK : file_digest(&po->digest, path, err);
    memcpy(po->out_stats, po->u.stats_raw, MO_OBJ_STATS_LEN);
    po->has_out = true;
    return rc;
}

static void *mat_worker(void *arg)
{
    mat_pool *p = arg;
    mo_err e;
    mo_err_clear(&e);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next;
        while (i < p->it->nobjs && p->it->objs[i].cls != p->cls)
            i++;
        p->next = i + 1;
        const bool stop = p->rc < 0 || i >= p->it->nobjs;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        int rc = mat_one(p->it, &p->it->objs[i], &p->mu, &e);
        if (rc < 0) {
            pthread_mutex_lock(&p->mu);
            if (p->rc == MO_OK) {
                p->rc = rc;
                p->err = e;
            }
            pthread_mutex_unlock(&p->mu);
            break;
        }
    }
    return NULL;
}

/* Starts the helpers on the objects of class @p cls (none if there is no such object). */
static void mat_begin(mat_pool *p, iter *it, int cls)
{
    memset(p, 0, sizeof(*p));
    p->it = it;
    p->cls = cls;
    pthread_mutex_init(&p->mu, NULL);
    size_t n = 0;
    for (size_t i = 0; i < it->nobjs; i++)
        n += it->objs[i].cls == cls;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned want = cpus > 1 ? (unsigned)(cpus - 1) : 1;
    if (want > MAT_HELPERS)
        want = MAT_HELPERS;
    if (want > n)
        want = (unsigned)n;
    for (unsigned i = 0; i < want; i++)
        if (pthread_create(&p->th[p->nth], NULL, mat_worker, p) == 0)
            p->nth++;
}

/* The calling thread works too (unless @p cancel), then joins the helpers. Returns the first
 * failure, its detail in it->err; with @p cancel the helpers stop after their current object
 * and it->err is left alone (the caller's failure is reported). */
static int mat_end(mat_pool *p, bool cancel)
{
    if (cancel) {
        pthread_mutex_lock(&p->mu);
        if (p->rc == MO_OK)
            p->rc = MO_ECANCELED;
        pthread_mutex_unlock(&p->mu);
    } else {
        mat_worker(p);
    }
    for (unsigned i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    if (cancel)
        return MO_ECANCELED;
    if (p->rc < 0 && p->it->err)
        *p->it->err = p->err;
    return p->rc;
}

/* Fetches both sets; the appendables (stage set, fetched first) are rewritten while the
 * replica set is fetched, so the rewrites' CPU overlaps the transfer. */
static int fetch_and_rewrite(iter *it)
{
    int rc = fetch_set(it, true);
    if (rc < 0)
        return rc;
    mat_pool ap;
    mat_begin(&ap, it, PO_ADATA);
    rc = fetch_set(it, false);
    int arc = mat_end(&ap, rc < 0);
    return rc < 0 ? rc : arc;
}

/* Digests of the fetched data objects; appendables are rewritten by fetch_and_rewrite. */
static int materialize(iter *it)
{
    mat_pool dp;
    mat_begin(&dp, it, PO_DATA);
    int rc = mat_end(&dp, false);
    /* committed tombstones pointing into rewritten-again appendables follow them */
    if (rc == MO_OK)
        rc = reremap_tombstones(it);
    /* tombstones need every data mapping of this iteration first */
    for (size_t i = 0; i < it->nobjs && rc == MO_OK; i++)
        if (it->objs[i].cls == PO_TOMB)
            rc = rewrite_tombstone(it, &it->objs[i]);
    return rc;
}

/* ---------------- the commit ---------------- */

static int soft_delete(iter *it, mo_cat_txn *t, const uint8_t id[18])
{
    mo_cat_object o;
    if (!obj_live(it->s, id, &o))
        return MO_OK;
    o.delete_ts = it->cur_ts;
    it->rep->deleted++;
    return mo_cat_put_object(t, &o, it->err);
}

/* Live objects of dropped / replaced tables, by class. Caller holds s->mu. */
static int dropped_objects(iter *it, obj_vec *ov)
{
    for (size_t i = 0; i < it->ntabs; i++) {
        const ptab *p = &it->tabs[i];
        uint64_t id = p->kind == PT_DROP ? p->t.down_id
                      : p->kind == PT_RECREATE ? p->old_down_id : 0;
        if (!id)
            continue;
        int rc = mo_cat_foreach_object(it->s->cat, id, collect_obj, ov);
        if (ov->rc < 0 || rc < 0)
            return mo_err_set(it->err, ov->rc < 0 ? ov->rc : rc, "catalog: reading objects");
    }
    return MO_OK;
}

static int find_db(const mo_cat_db *d, void *payload)
{
    mo_cat_db *want = payload;
    if (!strcmp(d->name, want->name) && ts_zero(d->dropped_ts)) {
        *want = *d;
        return 1;
    }
    return 0;
}

static int put_obj(iter *it, mo_cat_txn *t, pobj *po)
{
    if (!po->has_out)
        return MO_OK;
    mo_cat_object o;
    memset(&o, 0, sizeof(o));
    memcpy(o.stats, po->out_stats, MO_OBJ_STATS_LEN);
    o.table_id = po->tab->t.down_id;
    o.is_tombstone = po->cls == PO_TOMB;
    o.create_ts = it->cur_ts;
    o.digest = po->digest;
    memcpy(o.upstream_id, po->u.stats_raw, 18);
    o.non_mergeable = true;
    it->rep->registered++;
    return mo_cat_put_object(t, &o, it->err);
}

static int put_map(iter *it, mo_cat_txn *t, pobj *po)
{
    if (!po->mapped)
        return MO_OK;
    mo_cat_mapping m;
    memset(&m, 0, sizeof(m));
    memcpy(m.upstream_id, po->u.stats_raw, 18);
    m.table_id = po->tab->t.down_id;
    uint8_t down[1][MO_OBJ_OBJECTID_LEN];
    if (po->has_out) {
        memcpy(down[0], po->out_stats, 18);
        m.down_ids = down;
        m.ndown = 1;
    }
    m.row_map = po->row_map;
    m.nrows = po->row_map ? po->nrows : 0;
    return mo_cat_put_mapping(t, &m, it->err);
}

static mo_cat_task *task_for(iter *it, const ptab *p)
{
    for (size_t i = 0; i < it->ntasks; i++) {
        mo_cat_task *k = &it->tasks[i];
        if (is_sub_row(k))
            continue;
        if (p->kind == PT_RECREATE ? k->down_table_id == p->old_down_id || k->table_id == p->t.up_id
                                   : k->down_table_id == p->t.down_id ||
                                         (p->kind == PT_CREATE && k->table_id == p->t.up_id &&
                                          !k->down_table_id))
            return k;
    }
    return NULL;
}

static int commit(iter *it, bool *fenced)
{
    mo_sync *s = it->s;
    *fenced = false;
    pthread_mutex_lock(&s->mu);
    bool ok;
    int rc = fence_ok(it, &ok);
    if (rc < 0 || !ok) {
        *fenced = rc == MO_OK;
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    obj_vec dropped = {0, NULL, 0, 0, MO_OK};
    mo_cat_txn *t = NULL;
    bool *keep = mo_calloc(it->ntasks ? it->ntasks : 1, 1);
    if (!keep) {
        rc = mo_err_set(it->err, MO_ENOMEM, "task plan");
        goto out;
    }
    if ((rc = dropped_objects(it, &dropped)) < 0 || (rc = mo_cat_begin(s->cat, &t, it->err)) < 0)
        goto out;
    int64_t now = mo_sync__now_us();
    /* DDL first: object flags are normalized with the table's real_pk, read from this txn */
    for (size_t i = 0; i < it->ntabs && rc == MO_OK; i++) {
        ptab *p = &it->tabs[i];
        if (p->kind == PT_DROP) {
            p->t.dropped_ts = it->cur_ts;
            rc = mo_cat_put_table(t, &p->t, it->err);
            continue;
        }
        if (p->kind == PT_RECREATE) {
            mo_cat_table o;
            if (mo_cat_get_table(s->cat, p->old_down_id, &o, NULL) == MO_OK) {
                o.dropped_ts = it->cur_ts;
                rc = mo_cat_put_table(t, &o, it->err);
                mo_cat_table_dispose(&o);
                if (rc < 0)
                    break;
            }
        }
        if (!p->t.down_db_id || p->rename) {
            mo_cat_db d;
            memset(&d, 0, sizeof(d));
            snprintf(d.name, sizeof(d.name), "%s", p->t.db);
            if (mo_cat_foreach_db(s->cat, find_db, &d) == MO_EUSER) {
                p->t.down_db_id = d.down_id;
            } else {
                /* created earlier in this txn? */
                bool found = false;
                for (size_t k = 0; k < i && !found; k++)
                    if (it->tabs[k].kind != PT_DROP && !strcmp(it->tabs[k].t.db, p->t.db) &&
                        it->tabs[k].t.down_db_id) {
                        p->t.down_db_id = it->tabs[k].t.down_db_id;
                        found = true;
                    }
                if (!found) {
                    if ((rc = mo_cat_next_id(t, "db", &d.down_id, it->err)) < 0)
                        break;
                    d.created_ts = it->cur_ts;
                    if ((rc = mo_cat_put_db(t, &d, it->err)) < 0)
                        break;
                    p->t.down_db_id = d.down_id;
                }
            }
        }
        if (p->kind == PT_CREATE || p->kind == PT_RECREATE) {
            if ((rc = mo_cat_next_id(t, "table", &p->t.down_id, it->err)) < 0)
                break;
            p->t.created_ts = it->cur_ts;
        }
        if (p->kind != PT_KEEP)
            rc = mo_cat_put_table(t, &p->t, it->err);
    }
    /* account level: a database gone upstream whose tables all went is dropped here too
     * (database level: get_databases always echoes the database, MO never drops it) */
    for (size_t i = 0; i < it->ntabs && rc == MO_OK && it->dbs.n; i++) {
        const ptab *p = &it->tabs[i];
        if (p->kind != PT_DROP || !p->t.down_db_id)
            continue;
        bool listed = false, used = false, done = false;
        for (size_t k = 0; k < it->dbs.n && !listed; k++)
            listed = !strcmp(it->dbs.v[k], p->t.db);
        for (size_t k = 0; k < it->ntabs && !used; k++)
            used = it->tabs[k].kind != PT_DROP && it->tabs[k].t.down_db_id == p->t.down_db_id;
        for (size_t k = 0; k < i && !done; k++)
            done = it->tabs[k].kind == PT_DROP && it->tabs[k].t.down_db_id == p->t.down_db_id;
        if (listed || used || done)
            continue;
        mo_cat_db d;
        memset(&d, 0, sizeof(d));
        snprintf(d.name, sizeof(d.name), "%s", p->t.db);
        if (mo_cat_foreach_db(s->cat, find_db, &d) == MO_EUSER && d.down_id == p->t.down_db_id) {
            d.dropped_ts = it->cur_ts;
            rc = mo_cat_put_db(t, &d, it->err);
        }
    }
    /* tombstone deletes, tombstone inserts, data deletes, data inserts */
    for (size_t i = 0; i < dropped.n && rc == MO_OK; i++)
        if (dropped.v[i].is_tombstone)
            rc = soft_delete(it, t, dropped.v[i].stats);
    for (size_t i = 0; i < it->ndels && rc == MO_OK; i++)
        if (it->dels[i].tombstone)
            rc = soft_delete(it, t, it->dels[i].id);
    for (size_t i = 0; i < it->nrr && rc == MO_OK; i++)
        rc = soft_delete(it, t, it->rr[i].old.stats);
    for (size_t i = 0; i < it->nobjs && rc == MO_OK; i++)
        if (it->objs[i].cls == PO_TOMB)
            rc = put_obj(it, t, &it->objs[i]);
    for (size_t i = 0; i < it->nrr && rc == MO_OK; i++) {
        const rremap *q = &it->rr[i];
        if (q->has_new) {
            mo_cat_object o = q->old;
            memcpy(o.stats, q->new_stats, MO_OBJ_STATS_LEN);
            o.create_ts = it->cur_ts;
            memset(&o.delete_ts, 0, sizeof(o.delete_ts));
            o.digest = q->digest;
            it->rep->registered++;
            rc = mo_cat_put_object(t, &o, it->err);
        }
        mo_cat_mapping m;
        if (rc == MO_OK && mo_cat_get_mapping(s->cat, q->old.upstream_id, &m, NULL) == MO_OK) {
            uint32_t w = 0;
            for (uint32_t k = 0; k < m.ndown; k++) {
                if (!memcmp(m.down_ids[k], q->old.stats, 18)) {
                    if (!q->has_new)
                        continue;
                    memcpy(m.down_ids[k], q->new_stats, 18);
                }
                if (w != k)
                    memcpy(m.down_ids[w], m.down_ids[k], 18);
                w++;
            }
            m.ndown = w;
            rc = mo_cat_put_mapping(t, &m, it->err);
            mo_cat_mapping_dispose(&m);
        }
    }
    for (size_t i = 0; i < dropped.n && rc == MO_OK; i++)
        if (!dropped.v[i].is_tombstone)
            rc = soft_delete(it, t, dropped.v[i].stats);
    for (size_t i = 0; i < it->ndels && rc == MO_OK; i++)
        if (!it->dels[i].tombstone)
            rc = soft_delete(it, t, it->dels[i].id);
    for (size_t i = 0; i < it->nobjs && rc == MO_OK; i++)
        if (it->objs[i].cls != PO_TOMB)
            rc = put_obj(it, t, &it->objs[i]);
    /* mappings */
    for (size_t i = 0; i < it->ndelmaps && rc == MO_OK; i++)
        rc = mo_cat_del_mapping(t, it->delmaps[i], it->err);
    for (size_t i = 0; i < it->nobjs && rc == MO_OK; i++)
        rc = put_map(it, t, &it->objs[i]);
    /* tasks: one per table in scope, all at the new watermark and lsn */
    uint32_t ntables = 0;
    for (size_t i = 0; i < it->ntabs && rc == MO_OK; i++) {
        const ptab *p = &it->tabs[i];
        if (p->kind == PT_DROP || p->ix)
            continue;
        ntables++;
        mo_cat_task *old = task_for(it, p);
        mo_cat_task k;
        if (old) {
            k = *old;
            keep[old - it->tasks] = true;
        } else {
            memset(&k, 0, sizeof(k));
            if ((rc = mo_cat_next_id(t, "job", &k.job_id, it->err)) < 0)
                break;
            k.task_id = it->sub.task_id;
            snprintf(k.account, sizeof(k.account), "%s", it->sub.account);
            k.created_us = now;
        }
        snprintf(k.db, sizeof(k.db), "%s", p->t.db);
        snprintf(k.table, sizeof(k.table), "%s", p->t.name);
        k.table_id = p->t.up_id;
        k.down_table_id = p->t.down_id;
        k.down_db_id = p->t.down_db_id;
        k.watermark = k.snapshot_ts = it->cur_ts;
        k.iteration_lsn = it->L + 1;
        k.iteration_state = MO_CAT_ITER_COMPLETE;
        snprintf(k.cn_uuid, sizeof(k.cn_uuid), "%s", s->cn_uuid);
        k.error_message[0] = 0;
        k.updated_us = now;
        rc = mo_cat_put_task(t, &k, it->err);
    }
    for (size_t i = 0; i < it->ntasks && rc == MO_OK; i++)
        if (!keep[i] && !is_sub_row(&it->tasks[i]))
            rc = mo_cat_del_task(t, it->tasks[i].job_id, it->err);
    if (rc == MO_OK) {
        mo_cat_task k = it->subrow;
        k.watermark = k.snapshot_ts = it->cur_ts;
        k.iteration_lsn = it->L + 1;
        k.iteration_state = MO_CAT_ITER_COMPLETE;
        k.error_message[0] = 0;
        k.updated_us = now;
        rc = mo_cat_put_task(t, &k, it->err);
    }
    if (rc == MO_OK && it->L >= 2) {
        char old[96];
        mo_cat_snapshot sn;
        mo_sync__snap_name(old, sizeof(old), it->sub.task_id, it->L - 2);
        if (mo_cat_get_snapshot(s->cat, old, &sn) == MO_OK)
            rc = mo_cat_del_snapshot(t, old, it->err);
    }
    if (rc < 0) {
        mo_cat_abort(t);
        t = NULL;
        goto out;
    }
    rc = mo_cat_commit(t, it->err);
    t = NULL;
    it->rep->tables = ntables;
out:
    pthread_mutex_unlock(&s->mu);
    mo_free(keep);
    mo_free(dropped.v);
    return rc;
}

/* ---------------- failure record ---------------- */

static void record_error(iter *it, int rc, const mo_err *e)
{
    mo_sync *s = it->s;
    bool retry = mo_sync_retryable(rc, e);
    mo_sync_errmsg prev, next;
    mo_sync_errmsg_parse(&prev, it->subrow.error_message);
    char msg[900];
    snprintf(msg, sizeof(msg), "%s", e && e->msg[0] ? e->msg : mo_strerror(rc));
    mo_sync_errmsg_next(&next, &prev, retry, msg, mo_sync__now_s());
    mo_sync_errmsg_format(it->rep->error, sizeof(it->rep->error), &next);
    pthread_mutex_lock(&s->mu);
    mo_cat_task *tasks = NULL;
    size_t n = 0;
    mo_cat_txn *t = NULL;
    mo_err e2 = {0};
    int r = mo_sync__load_tasks(s, it->sub.task_id, &tasks, &n, &e2);
    if (r == MO_OK)
        r = mo_cat_begin(s->cat, &t, &e2);
    int64_t now = mo_sync__now_us();
    for (size_t i = 0; i < n && r == MO_OK; i++) {
        mo_cat_task k = tasks[i];
        if (strcmp(k.cn_uuid, s->cn_uuid) || k.iteration_lsn != it->L)
            continue; /* not ours (fenced): leave it */
        k.iteration_state = MO_CAT_ITER_ERROR;
        snprintf(k.error_message, sizeof(k.error_message), "%s", it->rep->error);
        k.updated_us = now;
        r = mo_cat_put_task(t, &k, &e2);
    }
    if (r == MO_OK && !next.retryable) {
        mo_cat_sub sub;
        if (mo_cat_get_sub(s->cat, it->sub.task_id, &sub) == MO_OK &&
            sub.state == MO_CAT_SUB_RUNNING) {
            sub.state = MO_CAT_SUB_ERROR;
            sub.updated_us = now;
            r = mo_cat_put_sub(t, &sub, &e2);
        }
    }
    if (t) {
        if (r == MO_OK)
            r = mo_cat_commit(t, &e2);
        else
            mo_cat_abort(t);
    }
    pthread_mutex_unlock(&s->mu);
    mo_free(tasks);
    if (r < 0)
        mo_sync__log(s, "%s: recording the error failed: %s", it->sub.name, e2.msg);
}

/* Gives a claimed iteration back untouched (paused/dropped meanwhile): complete, same lsn. */
static void release(iter *it)
{
    mo_sync *s = it->s;
    pthread_mutex_lock(&s->mu);
    mo_cat_task *tasks = NULL;
    size_t n = 0;
    mo_cat_txn *t = NULL;
    int r = mo_sync__load_tasks(s, it->sub.task_id, &tasks, &n, NULL);
    if (r == MO_OK)
        r = mo_cat_begin(s->cat, &t, NULL);
    for (size_t i = 0; i < n && r == MO_OK; i++) {
        mo_cat_task k = tasks[i];
        if (strcmp(k.cn_uuid, s->cn_uuid) || k.iteration_state != MO_CAT_ITER_RUNNING)
            continue;
        k.iteration_state = MO_CAT_ITER_COMPLETE;
        r = mo_cat_put_task(t, &k, NULL);
    }
    if (t) {
        if (r == MO_OK)
            mo_cat_commit(t, NULL);
        else
            mo_cat_abort(t);
    }
    pthread_mutex_unlock(&s->mu);
    mo_free(tasks);
}

static void rm_dir_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d))) {
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            mo_sys_unlink(p);
    }
    closedir(d);
}

/* Upstream files of appendables with rows still to come: kept (hard link) before the commit. */
static int keep_pending(iter *it)
{
    for (size_t i = 0; i < it->nobjs; i++) {
        const pobj *po = &it->objs[i];
        if (po->cls != PO_ADATA || po->repend || !po->future)
            continue;
        char from[4200], to[4200];
        obj_path(from, sizeof(from), it->stage, po->u.name);
        obj_path(to, sizeof(to), it->pending, po->u.name);
        if (link(from, to) < 0 && errno != EEXIST)
            return mo_err_sys(it->err, MO_EIO, errno, "%s: link", to);
    }
    return MO_OK;
}

/* After the commit: pending files that are complete, deleted upstream, or never committed. */
static void prune_pending(iter *it)
{
    DIR *d = opendir(it->pending);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!mo_obj_name_valid(e->d_name))
            continue;
        mo_obj_objectid oid;
        uint8_t id[18];
        if (mo_obj_name_parse(&oid, e->d_name, strlen(e->d_name), NULL) < 0)
            continue;
        mo_obj_objectid_encode(id, &oid);
        bool drop = false;
        for (size_t i = 0; i < it->nobjs; i++) {
            const pobj *po = &it->objs[i];
            if (po->cls == PO_ADATA && !memcmp(po->u.stats_raw, id, 18) && !po->future &&
                !po->unchanged)
                drop = true;
        }
        mo_cat_mapping m;
        pthread_mutex_lock(&it->s->mu);
        if (mo_cat_get_mapping(it->s->cat, id, &m, NULL) == MO_OK) {
            /* its table must still be one of ours (not dropped or replaced) */
            bool live = false;
            for (size_t i = 0; i < it->ntabs && !live; i++)
                live = it->tabs[i].kind != PT_DROP && it->tabs[i].t.down_id == m.table_id;
            drop |= !live;
            mo_cat_mapping_dispose(&m);
        } else {
            drop = true;
        }
        pthread_mutex_unlock(&it->s->mu);
        if (drop) {
            char p[4400];
            snprintf(p, sizeof(p), "%s/%s", it->pending, e->d_name);
            mo_sys_unlink(p);
        }
    }
    closedir(d);
}

/* ---------------- durability ---------------- */

static int add_path(char ***v, size_t *n, const char *dir, const uint8_t stats_raw[MO_OBJ_STATS_LEN],
                    mo_err *err)
{
    mo_obj_stats st;
    int rc = mo_obj_stats_decode(&st, stats_raw, err);
    if (rc < 0)
        return rc;
    char name[MO_OBJ_NAME_STR_LEN + 1];
    mo_obj_name_format(name, &st.id);
    size_t len = strlen(dir) + 1 + MO_OBJ_NAME_STR_LEN + 1;
    char *p = mo_malloc(len);
    if (!p)
        return mo_err_set(err, MO_ENOMEM, "durable list");
    snprintf(p, len, "%s/%s", dir, name);
    (*v)[(*n)++] = p;
    return MO_OK;
}

/* Every file the commit refers to was published without fsync (the copier's unsynced sink,
 * rewrites, pending links; a kill's leftovers reused): one batch makes them all durable
 * before the catalog names them, a few filesystem journal commits instead of two per file.
 * Until then they are claims: a replay re-verifies each before it reuses it. */
static int make_durable(iter *it)
{
    size_t cap = 2 * it->nobjs + it->nrr + 1, n = 0;
    char **v = mo_calloc(cap, sizeof(*v));
    if (!v)
        return mo_err_set(it->err, MO_ENOMEM, "durable list");
    int rc = MO_OK;
    for (size_t i = 0; i < it->nobjs && rc == MO_OK; i++) {
        const pobj *po = &it->objs[i];
        if (po->has_out)
            rc = add_path(&v, &n, it->s->dir, po->out_stats, it->err);
        if (rc == MO_OK && po->cls == PO_ADATA && !po->repend && po->future)
            rc = add_path(&v, &n, it->pending, po->u.stats_raw, it->err); /* keep_pending */
    }
    for (size_t i = 0; i < it->nrr && rc == MO_OK; i++)
        if (it->rr[i].has_new)
            rc = add_path(&v, &n, it->s->dir, it->rr[i].new_stats, it->err);
    if (rc == MO_OK)
        rc = mo_sys_fsync_batch((const char *const *)v, n, it->err);
    for (size_t i = 0; i < n; i++)
        mo_free(v[i]);
    mo_free(v);
    return rc;
}

/* ---------------- the iteration ---------------- */

static int run(iter *it)
{
    mo_sync *s = it->s;
    int outcome;
    int rc = claim(it, &outcome);
    if (rc < 0 || outcome == CLAIM_SKIP) {
        it->rep->skipped = rc == MO_OK;
        return rc;
    }
    it->rep->lsn = it->L;
    snprintf(it->stage, sizeof(it->stage), "%s/.mosync/sync/%" PRIu64 "/stage", s->dir,
             it->sub.task_id);
    snprintf(it->jmain, sizeof(it->jmain), "%s/.mosync/sync/%" PRIu64 "/j-main", s->dir,
             it->sub.task_id);
    snprintf(it->jstage, sizeof(it->jstage), "%s/.mosync/sync/%" PRIu64 "/j-stage", s->dir,
             it->sub.task_id);
    snprintf(it->pending, sizeof(it->pending), "%s/.mosync/sync/%" PRIu64 "/pending", s->dir,
             it->sub.task_id);
    if ((rc = mkdir_p(it->stage, it->err)) < 0 || (rc = mkdir_p(it->jmain, it->err)) < 0 ||
        (rc = mkdir_p(it->jstage, it->err)) < 0 || (rc = mkdir_p(it->pending, it->err)) < 0)
        goto fail;
    if ((rc = mo_sync__conn(s, &it->conn, &it->sub, it->err)) < 0 ||
        (rc = mo_sync__connect(&it->up, &it->conn, it->err)) < 0)
        goto fail;
    if ((rc = snapshots(it)) < 0)
        goto fail;
    it->rep->ts = it->cur_ts;
    for (int pass = 0; pass < 2; pass++) {
        if ((rc = ddl(it)) < 0)
            goto fail;
        rc = list_objects(it);
        if (rc == MO_EAGAIN && it->resync && pass == 0) {
            /* restart the plan as a full resync */
            for (size_t i = 0; i < it->ntabs; i++)
                mo_cat_table_dispose(&it->tabs[i].t);
            it->ntabs = 0;
            for (size_t i = 0; i < it->nold; i++)
                mo_cat_table_dispose(&it->old[i]);
            mo_free(it->old);
            it->old = NULL;
            it->nold = 0;
            for (size_t i = 0; i < it->noldix; i++)
                mo_cat_table_dispose(&it->oldix[i]);
            mo_free(it->oldix);
            it->oldix = NULL;
            it->noldix = 0;
            mo_free(it->ixkept);
            it->ixkept = NULL;
            mo_up_strs_dispose(&it->dbs);
            it->rep->ddl_create = it->rep->ddl_drop = it->rep->ddl_recreate = 0;
            it->rep->ddl_inplace = it->rep->ddl_rename = 0;
            mo_err_clear(it->err);
            continue;
        }
        if (rc < 0)
            goto fail;
        break;
    }
    it->rep->resync = it->resync;
    if (!it->resync && (rc = scan_pending(it)) < 0)
        goto fail;
    if ((rc = fetch_and_rewrite(it)) < 0)
        goto fail;
    if ((rc = materialize(it)) < 0)
        goto fail;
    if ((rc = keep_pending(it)) < 0 || (rc = make_durable(it)) < 0)
        goto fail;
    bool fenced;
    if ((rc = commit(it, &fenced)) < 0)
        goto fail;
    if (fenced) {
        mo_sync__log(s, "%s: paused, dropped or taken over during lsn %" PRIu64
                        ": nothing committed", it->sub.name, it->L);
        release(it);
        it->rep->skipped = true;
        return MO_OK;
    }
    rm_dir_files(it->stage);
    prune_pending(it);
    return MO_OK;
fail:
    record_error(it, rc, it->err);
    return rc;
}

static void add_running(mo_sync *s, uint64_t id)
{
    s->running[s->nrunning++] = id;
}

int mo_sync_iterate(mo_sync *s, mo_sync_report *rep, uint64_t task_id, mo_err *err)
{
    mo_err local = {0};
    if (!err)
        err = &local;
    memset(rep, 0, sizeof(*rep));
    rep->task_id = task_id;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nrunning; i++)
        if (s->running[i] == task_id) {
            pthread_mutex_unlock(&s->mu);
            return mo_err_set(err, MO_EEXISTS, "subscription %" PRIu64 " is running already",
                              task_id);
        }
    if (s->nrunning == SYNC_MAX_RUNNING) {
        pthread_mutex_unlock(&s->mu);
        return mo_err_set(err, MO_EINVAL, "too many iterations at once");
    }
    add_running(s, task_id);
    pthread_mutex_unlock(&s->mu);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    iter it;
    memset(&it, 0, sizeof(it));
    it.s = s;
    it.rep = rep;
    it.err = err;
    int rc = run(&it);
    iter_dispose(&it);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rep->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    rep->rc = rc;
    if (rc < 0 && !rep->error[0])
        snprintf(rep->error, sizeof(rep->error), "%s", err->msg);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nrunning; i++)
        if (s->running[i] == task_id) {
            s->running[i] = s->running[--s->nrunning];
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
