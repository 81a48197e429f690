/* The Sync Executor and the Task Scanner (spec/mission.md components; ccpr-protocol.md §5.1,
 * §5.12, without MO's §7 limitation 1: sync_interval is honoured). On start every iteration
 * left pending/running/cancel becomes complete; then rounds: dropped subscriptions get their
 * upstream snapshots dropped (DROP leaves none behind), running ones get the Task Scanner and,
 * when due, one Downstream Iteration, at most `workers` at once and never the same
 * subscription twice at a time. PAUSE/RESUME/DROP are read from the catalog at the start of
 * every iteration, i.e. they take effect at the next iteration boundary. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sync_int.h"

static bool is_sub_row(const mo_cat_task *k)
{
    return k->table_id == 0 && k->table[0] == 0;
}

/* ---------------- recovery ---------------- */

typedef struct tvec {
    mo_cat_task *v;
    size_t n, cap;
    uint64_t only; /* 0 = all */
    int rc;
} tvec;

static int tv_add(const mo_cat_task *k, void *payload)
{
    tvec *tv = payload;
    if (tv->only && k->task_id != tv->only)
        return 0;
    if (tv->n == tv->cap) {
        size_t cap = tv->cap ? tv->cap * 2 : 32;
        mo_cat_task *n = mo_realloc(tv->v, cap * sizeof(*n));
        if (!n) {
            tv->rc = MO_ENOMEM;
            return 1;
        }
        tv->v = n;
        tv->cap = cap;
    }
    tv->v[tv->n++] = *k;
    return 0;
}

static int tasks_of(mo_sync *s, uint64_t only, tvec *tv, mo_err *err)
{
    memset(tv, 0, sizeof(*tv));
    tv->only = only;
    int rc = mo_cat_foreach_task(s->cat, tv_add, tv);
    if (tv->rc < 0 || rc < 0) {
        mo_free(tv->v);
        tv->v = NULL;
        return mo_err_set(err, tv->rc < 0 ? tv->rc : rc, "catalog: reading tasks");
    }
    return MO_OK;
}

int mo_sync__load_tasks(mo_sync *s, uint64_t task_id, mo_cat_task **out, size_t *n, mo_err *err)
{
    tvec tv;
    int rc = tasks_of(s, task_id, &tv, err);
    *out = rc == MO_OK ? tv.v : NULL;
    *n = rc == MO_OK ? tv.n : 0;
    return rc;
}

int mo_sync_recover(mo_sync *s, unsigned *fixed_out, mo_err *err)
{
    unsigned fixed = 0;
    pthread_mutex_lock(&s->mu);
    tvec tv;
    mo_cat_txn *t = NULL;
    int rc = tasks_of(s, 0, &tv, err);
    for (size_t i = 0; i < tv.n && rc == MO_OK; i++) {
        mo_cat_task k = tv.v[i];
        if (k.iteration_state != MO_CAT_ITER_PENDING && k.iteration_state != MO_CAT_ITER_RUNNING &&
            k.iteration_state != MO_CAT_ITER_CANCEL)
            continue;
        if (!t && (rc = mo_cat_begin(s->cat, &t, err)) < 0)
            break;
        k.iteration_state = MO_CAT_ITER_COMPLETE;
        k.updated_us = mo_sync__now_us();
        rc = mo_cat_put_task(t, &k, err);
        fixed++;
    }
    if (t) {
        if (rc == MO_OK)
            rc = mo_cat_commit(t, err);
        else
            mo_cat_abort(t);
    }
    pthread_mutex_unlock(&s->mu);
    mo_free(tv.v);
    if (fixed_out)
        *fixed_out = rc == MO_OK ? fixed : 0;
    return rc;
}

/* ---------------- task scanner ---------------- */

int mo_sync_scan(mo_sync *s, uint64_t task_id, unsigned *created, mo_err *err)
{
    if (created)
        *created = 0;
    mo_cat_sub sub;
    pthread_mutex_lock(&s->mu);
    int rc = mo_cat_get_sub(s->cat, task_id, &sub);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0)
        return mo_err_set(err, rc, "subscription %" PRIu64 ": not found", task_id);
    if (sub.state != MO_CAT_SUB_RUNNING || mo_sync__level(&sub) == MO_UP_LEVEL_TABLE)
        return MO_OK; /* table level: the iteration checks its one table */
    sync_conn c;
    mo_up *up = NULL;
    if ((rc = mo_sync__conn(s, &c, &sub, err)) < 0 || (rc = mo_sync__connect(&up, &c, err)) < 0)
        return rc;
    mo_up_ddl *rows = NULL;
    size_t n = 0;
    rc = mo_up_get_ddl(up, &rows, &n, NULL, c.pubacct, c.pubname, mo_sync__level(&sub),
                       sub.db[0] ? sub.db : NULL, NULL, err);
    mo_up_free(up);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&s->mu);
    tvec tv;
    mo_cat_txn *t = NULL;
    unsigned made = 0;
    if ((rc = tasks_of(s, task_id, &tv, err)) < 0)
        goto out;
    uint64_t lsn = 0;
    bool busy = false;
    for (size_t i = 0; i < tv.n; i++) {
        if (tv.v[i].iteration_lsn > lsn)
            lsn = tv.v[i].iteration_lsn;
        busy |= tv.v[i].iteration_state == MO_CAT_ITER_RUNNING;
    }
    if (busy)
        goto out; /* an iteration owns the rows now; it rediscovers the scope itself */
    int64_t now = mo_sync__now_us();
    for (size_t i = 0; i < n && rc == MO_OK; i++) {
        const mo_up_ddl *u = &rows[i];
        if (!strncmp(u->table, "__mo_index_", 11))
            continue;
        const mo_cat_task *same_id = NULL, *same_name = NULL;
        for (size_t k = 0; k < tv.n; k++) {
            const mo_cat_task *x = &tv.v[k];
            if (is_sub_row(x))
                continue;
            if (x->table_id == (uint64_t)u->table_id)
                same_id = x;
            else if (!strcmp(x->db, u->db) && !strcmp(x->table, u->table))
                same_name = x;
        }
        if (same_id)
            continue;
        if (!t && (rc = mo_cat_begin(s->cat, &t, err)) < 0)
            break;
        mo_cat_task k;
        memset(&k, 0, sizeof(k));
        if (same_name) {
            /* a changed upstream table id (TRUNCATE, copy ALTER): the old task stops, a new
             * one takes over the downstream table, which the next iteration re-creates */
            k = *same_name;
            if ((rc = mo_cat_del_task(t, same_name->job_id, err)) < 0)
                break;
        } else {
            k.task_id = task_id;
            snprintf(k.account, sizeof(k.account), "%s", sub.account);
            snprintf(k.db, sizeof(k.db), "%s", u->db);
            snprintf(k.table, sizeof(k.table), "%s", u->table);
            k.iteration_lsn = lsn;
            k.iteration_state = MO_CAT_ITER_COMPLETE;
        }
        if ((rc = mo_cat_next_id(t, "job", &k.job_id, err)) < 0)
            break;
        k.table_id = (uint64_t)u->table_id;
        k.created_us = k.updated_us = now;
        rc = mo_cat_put_task(t, &k, err);
        made++;
    }
    if (t) {
        if (rc == MO_OK)
            rc = mo_cat_commit(t, err);
        else
            mo_cat_abort(t);
    }
out:
    pthread_mutex_unlock(&s->mu);
    mo_free(tv.v);
    mo_up_ddl_free(rows, n);
    if (created)
        *created = rc == MO_OK ? made : 0;
    return rc;
}

/* ---------------- DROP ---------------- */

typedef struct snapvec {
    char prefix[64];
    char (*names)[MO_CAT_NAME_MAX];
    size_t n, cap;
    int rc;
} snapvec;

static int snap_add(const mo_cat_snapshot *sn, void *payload)
{
    snapvec *v = payload;
    if (strncmp(sn->name, v->prefix, strlen(v->prefix)))
        return 0;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        char(*n)[MO_CAT_NAME_MAX] = mo_realloc(v->names, cap * MO_CAT_NAME_MAX);
        if (!n) {
            v->rc = MO_ENOMEM;
            return 1;
        }
        v->names = n;
        v->cap = cap;
    }
    snprintf(v->names[v->n++], MO_CAT_NAME_MAX, "%s", sn->name);
    return 0;
}

int mo_sync_drop(mo_sync *s, uint64_t task_id, mo_err *err)
{
    mo_cat_sub sub;
    snapvec sv;
    memset(&sv, 0, sizeof(sv));
    snprintf(sv.prefix, sizeof(sv.prefix), "ccpr_%" PRIu64 "_", task_id);
    tvec tv = {0};
    pthread_mutex_lock(&s->mu);
    int rc = mo_cat_get_sub(s->cat, task_id, &sub);
    if (rc == MO_OK && sub.state != MO_CAT_SUB_DROPPED)
        rc = mo_err_set(err, MO_EINVAL, "subscription %s is not dropped", sub.name);
    else if (rc < 0)
        rc = mo_err_set(err, rc, "subscription %" PRIu64 ": not found", task_id);
    if (rc == MO_OK && mo_cat_foreach_snapshot(s->cat, snap_add, &sv) < 0 && sv.rc < 0)
        rc = mo_err_set(err, MO_ENOMEM, "snapshot list");
    if (rc == MO_OK)
        rc = tasks_of(s, task_id, &tv, err);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0 || (!sv.n && !tv.n))
        goto out;
    /* the names the lsn implies, too: a crash between CREATE SNAPSHOT and its record */
    uint64_t lsn = 0;
    for (size_t i = 0; i < tv.n; i++)
        if (tv.v[i].iteration_lsn > lsn)
            lsn = tv.v[i].iteration_lsn;
    size_t recorded = sv.n;
    for (uint64_t l = lsn > 0 ? lsn - 1 : 0; l <= lsn && rc == MO_OK; l++) {
        mo_cat_snapshot fake;
        memset(&fake, 0, sizeof(fake));
        mo_sync__snap_name(fake.name, sizeof(fake.name), task_id, l);
        bool have = false;
        for (size_t i = 0; i < sv.n && !have; i++)
            have = !strcmp(sv.names[i], fake.name);
        if (!have && snap_add(&fake, &sv) != 0)
            rc = mo_err_set(err, MO_ENOMEM, "snapshot list");
    }
    if (rc < 0)
        goto out;
    if (sv.n) {
        sync_conn c;
        mo_up *up = NULL;
        if ((rc = mo_sync__conn(s, &c, &sub, err)) < 0 ||
            (rc = mo_sync__connect(&up, &c, err)) < 0)
            goto out;
        for (size_t i = 0; i < sv.n && rc == MO_OK; i++)
            rc = mo_up_drop_snapshot(up, sv.names[i], c.pubacct, c.pubname, err);
        mo_up_free(up);
        if (rc < 0)
            goto out;
    }
    pthread_mutex_lock(&s->mu);
    mo_cat_txn *t;
    if ((rc = mo_cat_begin(s->cat, &t, err)) == MO_OK) {
        for (size_t i = 0; i < recorded && rc == MO_OK; i++)
            rc = mo_cat_del_snapshot(t, sv.names[i], err);
        for (size_t i = 0; i < tv.n && rc == MO_OK; i++)
            rc = mo_cat_del_task(t, tv.v[i].job_id, err);
        if (rc == MO_OK)
            rc = mo_cat_commit(t, err);
        else
            mo_cat_abort(t);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == MO_OK)
        mo_sync__log(s, "%s: dropped: upstream snapshots released (%zu recorded), %zu task "
                        "rows removed", sub.name, recorded, tv.n);
out:
    mo_free(sv.names);
    mo_free(tv.v);
    return rc;
}

/* ---------------- executor ---------------- */

typedef struct due {
    uint64_t task_id;
    double next; /* monotonic seconds */
    unsigned failures;
} due;

typedef struct round {
    mo_sync *s;
    uint64_t *ids;
    size_t n, next;
    pthread_mutex_t mu;
    mo_sync_report_cb cb;
    void *payload;
    mo_sync_report *reps;
    int *rcs;
    mo_err *errs;
} round;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *round_worker(void *arg)
{
    round *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        size_t i = r->next < r->n ? r->next++ : r->n;
        pthread_mutex_unlock(&r->mu);
        if (i >= r->n)
            break;
        mo_err e = {0};
        unsigned created = 0;
        int rc = mo_sync_scan(r->s, r->ids[i], &created, &e);
        if (rc < 0)
            mo_sync__log(r->s, "task scanner (subscription %" PRIu64 "): %s", r->ids[i], e.msg);
        else if (created)
            mo_sync__log(r->s, "task scanner (subscription %" PRIu64 "): %u new tasks",
                         r->ids[i], created);
        mo_err_clear(&e);
        r->rcs[i] = mo_sync_iterate(r->s, &r->reps[i], r->ids[i], &e);
        r->errs[i] = e;
        if (r->cb) {
            pthread_mutex_lock(&r->mu);
            r->cb(&r->reps[i], r->payload);
            pthread_mutex_unlock(&r->mu);
        }
    }
    return NULL;
}

typedef struct subvec {
    mo_cat_sub *v;
    size_t n, cap;
    int rc;
} subvec;

static int sub_add(const mo_cat_sub *x, void *payload)
{
    subvec *v = payload;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        mo_cat_sub *n = mo_realloc(v->v, cap * sizeof(*n));
        if (!n) {
            v->rc = MO_ENOMEM;
            return 1;
        }
        v->v = n;
        v->cap = cap;
    }
    v->v[v->n++] = *x;
    return 0;
}

static due *due_of(due **tab, size_t *n, uint64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if ((*tab)[i].task_id == id)
            return &(*tab)[i];
    due *nt = mo_realloc(*tab, (*n + 1) * sizeof(**tab));
    if (!nt)
        return NULL;
    *tab = nt;
    due *d = &nt[(*n)++];
    memset(d, 0, sizeof(*d));
    d->task_id = id;
    return d;
}

int mo_sync_run(mo_sync *s, const mo_sync_run_opts *ro, mo_sync_run_stats *st,
                mo_sync_report_cb cb, void *payload, mo_err *err)
{
    mo_sync_run_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    unsigned fixed = 0;
    int rc = mo_sync_recover(s, &fixed, err);
    if (rc < 0)
        return rc;
    if (fixed)
        mo_sync__log(s, "recovered %u interrupted iterations (marked complete)", fixed);
    int first = MO_OK;
    due *dues = NULL;
    size_t ndues = 0;
    const double t0 = mono();
    for (;;) {
        if (ro->stop && *ro->stop)
            break;
        subvec sv = {0};
        pthread_mutex_lock(&s->mu);
        rc = mo_cat_foreach_sub(s->cat, sub_add, &sv);
        pthread_mutex_unlock(&s->mu);
        if (sv.rc < 0 || rc < 0) {
            mo_free(sv.v);
            mo_free(dues);
            return mo_err_set(err, MO_ENOMEM, "catalog: reading subscriptions");
        }
        round r;
        memset(&r, 0, sizeof(r));
        r.s = s;
        r.cb = cb;
        r.payload = payload;
        r.ids = mo_calloc(sv.n ? sv.n : 1, sizeof(*r.ids));
        r.reps = mo_calloc(sv.n ? sv.n : 1, sizeof(*r.reps));
        r.rcs = mo_calloc(sv.n ? sv.n : 1, sizeof(*r.rcs));
        r.errs = mo_calloc(sv.n ? sv.n : 1, sizeof(*r.errs));
        if (!r.ids || !r.reps || !r.rcs || !r.errs) {
            mo_free(r.ids), mo_free(r.reps), mo_free(r.rcs), mo_free(r.errs), mo_free(sv.v);
            mo_free(dues);
            return mo_err_set(err, MO_ENOMEM, "round");
        }
        const double now = mono();
        for (size_t i = 0; i < sv.n; i++) {
            const mo_cat_sub *x = &sv.v[i];
            if (x->state == MO_CAT_SUB_DROPPED) {
                mo_err e = {0};
                if (mo_sync_drop(s, x->task_id, &e) < 0)
                    mo_sync__log(s, "%s: releasing the dropped subscription: %s (retried next "
                                    "round)", x->name, e.msg);
                continue;
            }
            if (x->state != MO_CAT_SUB_RUNNING)
                continue;
            due *d = due_of(&dues, &ndues, x->task_id);
            if (d && d->next > now && (!ro->once || ro->honor_interval_once))
                continue;
            r.ids[r.n++] = x->task_id;
        }
        mo_free(sv.v);
        pthread_mutex_init(&r.mu, NULL);
        pthread_t tids[64];
        unsigned started = 0;
        unsigned want = s->o.workers < r.n ? s->o.workers : (unsigned)r.n;
        for (unsigned k = 1; k < want && k < 64; k++)
            if (pthread_create(&tids[started], NULL, round_worker, &r) == 0)
                started++;
        round_worker(&r);
        for (unsigned k = 0; k < started; k++)
            pthread_join(tids[k], NULL);
        pthread_mutex_destroy(&r.mu);
        for (size_t i = 0; i < r.n; i++) {
            const mo_sync_report *rp = &r.reps[i];
            due *d = due_of(&dues, &ndues, r.ids[i]);
            mo_cat_sub x;
            uint32_t interval = 60;
            pthread_mutex_lock(&s->mu);
            if (mo_cat_get_sub(s->cat, r.ids[i], &x) == MO_OK)
                interval = x.sync_interval;
            pthread_mutex_unlock(&s->mu);
            if (rp->skipped) {
                st->skipped++;
                if (d)
                    d->next = mono() + 1;
                continue;
            }
            st->iterations++;
            st->fetched += rp->fetched;
            st->bytes += rp->bytes;
            if (r.rcs[i] < 0) {
                st->failed++;
                if (first == MO_OK) {
                    first = r.rcs[i];
                    if (err)
                        *err = r.errs[i];
                }
                if (d) {
                    /* retry the same lsn later, backing off */
                    d->failures++;
                    double back = 1.0 * (double)(1u << (d->failures < 6 ? d->failures : 6));
                    d->next = mono() + back;
                }
            } else if (d) {
                d->failures = 0;
                d->next = now + (interval ? interval : 60);
            }
        }
        mo_free(r.ids), mo_free(r.reps), mo_free(r.rcs), mo_free(r.errs);
        st->rounds++;
        if (ro->once)
            break;
        if (ro->max_seconds > 0 && mono() - t0 >= ro->max_seconds)
            break;
        /* between rounds the catalog is closed, so `mosync sql` (PAUSE, RESUME, DROP, CREATE)
         * can take the single-writer lock; its changes apply from the next round on */
        pthread_mutex_lock(&s->mu);
        mo_cat_close(s->cat);
        s->cat = NULL;
        pthread_mutex_unlock(&s->mu);
        struct timespec d = {0, 500 * 1000 * 1000};
        nanosleep(&d, NULL);
        for (unsigned tries = 0;; tries++) {
            mo_err e = {0};
            pthread_mutex_lock(&s->mu);
            rc = mo_cat_open(&s->cat, s->dir, MO_CAT_WRITE, NULL, &e);
            pthread_mutex_unlock(&s->mu);
            if (rc == MO_OK)
                break;
            if (rc != MO_EEXISTS || tries >= 600 || (ro->stop && *ro->stop)) {
                mo_free(dues);
                if (err)
                    *err = e;
                return rc;
            }
            nanosleep(&d, NULL); /* another writer (mosync sql) holds it for a moment */
        }
    }
    mo_free(dues);
    return ro->once ? first : MO_OK;
}
