/* Transactions and log replay. A transaction encodes its rows straight into one buffer of
 * framed records: BEGIN(epoch, commit seq) + PUT/DEL + COMMIT(count, object delta, xxh3_64
 * of every byte from BEGIN up to COMMIT). The commit is decoded with the replay decoder,
 * table capacity is reserved, then one pwrite and one fsync make it durable, and only then is
 * it applied in memory (without allocating, so a durable commit is never half applied).
 * Replay applies whole commits only and stops at the first torn or corrupt record. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cat_int.h"
#include "mo/sys.h"

#define TXN_SEQS 8

struct mo_cat_txn {
    mo_cat *c;
    mo_buf buf; /* BEGIN placeholder + row records */
    uint32_t nrecs;
    size_t nobj;
    struct txn_tab {
        uint64_t id;
        bool real_pk;
    } *tabs;
    size_t ntabs, tabcap;
    cat_seq seqs[TXN_SEQS];
    int nseq;
};

/* ---------------- decoding commits ---------------- */

static int grow_ops(mo_cat *c, size_t want)
{
    if (want <= c->ops_cap)
        return MO_OK;
    size_t cap = c->ops_cap ? c->ops_cap * 2 : 64;
    while (cap < want)
        cap *= 2;
    cat_op *o = mo_realloc(c->ops, cap * sizeof(*o));
    if (!o)
        return MO_ENOMEM;
    c->ops = o;
    c->ops_cap = cap;
    return MO_OK;
}

static void dispose_ops(cat_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mo_cat__op_dispose(&ops[i]);
}

/* One framed record at p[pos..n). 1 = ok, 0 = torn/corrupt (why set). */
static int read_rec(const uint8_t *p, size_t n, size_t pos, uint8_t *type, const uint8_t **pl,
                    size_t *len, char *why, size_t whycap)
{
    if (n - pos < CAT_REC_HDR + CAT_REC_TRAILER) {
        snprintf(why, whycap, "record header truncated (%zu bytes left)", n - pos);
        return 0;
    }
    const uint8_t *h = p + pos;
    const uint32_t l = mo_load_le32(h + 4);
    if (h[1] || h[2] || h[3] || l > CAT_REC_MAX) {
        snprintf(why, whycap, "bad record header (type %u, length %u)", h[0], l);
        return 0;
    }
    if ((size_t)l > n - pos - CAT_REC_HDR - CAT_REC_TRAILER) {
        snprintf(why, whycap, "record of %u bytes runs past the end", l);
        return 0;
    }
    const uint64_t want = mo_load_le64(h + CAT_REC_HDR + l);
    const uint64_t got = mo_xxh3_64(h, CAT_REC_HDR + (size_t)l);
    if (want != got) {
        snprintf(why, whycap, "record checksum %016llx != %016llx", (unsigned long long)got,
                 (unsigned long long)want);
        return 0;
    }
    *type = h[0];
    *pl = h + CAT_REC_HDR;
    *len = l;
    return 1;
}

/* Decodes the row records of p[from..to) into c->ops. 1 ok, 0 corrupt (why), <0 error. */
static int decode_rows(mo_cat *c, const uint8_t *p, size_t from, size_t to, size_t *nops,
                       char *why, size_t whycap, mo_err *err)
{
    *nops = 0;
    size_t pos = from;
    while (pos < to) {
        uint8_t type;
        const uint8_t *pl;
        size_t len;
        if (!read_rec(p, to, pos, &type, &pl, &len, why, whycap))
            goto corrupt;
        if (grow_ops(c, *nops + 1) < 0) {
            dispose_ops(c->ops, *nops);
            return mo_err_set(err, MO_ENOMEM, "catalog: decoding a commit");
        }
        mo_err e;
        mo_err_clear(&e);
        const int rc = mo_cat__dec(&c->ops[*nops], type, pl, len, &e);
        if (rc == MO_ENOMEM) {
            dispose_ops(c->ops, *nops);
            return mo_err_set(err, MO_ENOMEM, "catalog: %s", e.msg);
        }
        if (rc < 0) {
            snprintf(why, whycap, "%s", e.msg);
            goto corrupt;
        }
        (*nops)++;
        pos += CAT_REC_HDR + len + CAT_REC_TRAILER;
    }
    return 1;
corrupt:
    dispose_ops(c->ops, *nops);
    *nops = 0;
    return 0;
}

int mo_cat__reserve_ops(mo_cat *c, const cat_op *ops, size_t n, mo_err *err)
{
    size_t nput[CAT_NKIND] = {0};
    size_t nobj = 0;
    for (size_t i = 0; i < n; i++) {
        const int k = cat_kind(ops[i].type);
        if (k == CAT_OBJ)
            nobj++;
        if (!cat_is_del(ops[i].type))
            nput[k]++;
    }
    for (int k = 0; k < CAT_NKIND; k++) {
        if (k == CAT_OBJ && !c->objs_loaded)
            continue;
        if (nput[k] && mo_cat__tab_reserve(&c->tab[k], nput[k]) < 0)
            return mo_err_set(err, MO_ENOMEM, "catalog: reserving %zu rows", nput[k]);
    }
    if (!c->objs_loaded && c->npend + nobj > c->pend_cap) {
        size_t cap = c->pend_cap ? c->pend_cap : 256;
        while (cap < c->npend + nobj)
            cap *= 2;
        cat_pending *pd = mo_realloc(c->pend, cap * sizeof(*pd));
        if (!pd)
            return mo_err_set(err, MO_ENOMEM, "catalog: %zu pending object ops", cap);
        c->pend = pd;
        c->pend_cap = cap;
    }
    return MO_OK;
}

void mo_cat__apply_ops(mo_cat *c, cat_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cat_op *op = &ops[i];
        const int k = cat_kind(op->type);
        const bool del = cat_is_del(op->type);
        if (k == CAT_OBJ && !c->objs_loaded) {
            cat_pending *pd = &c->pend[c->npend++];
            pd->put = !del;
            if (del) {
                memset(&pd->obj, 0, sizeof(pd->obj));
                memcpy(pd->obj.stats, op->u.key18, MO_OBJ_OBJECTID_LEN);
            } else {
                pd->obj = op->u.obj;
            }
            continue;
        }
        cat_tab *t = &c->tab[k];
        if (del) {
            const void *key = (k == CAT_OBJ || k == CAT_MAP) ? (const void *)op->u.key18
                              : k == CAT_SNAP ? (const void *)op->u.name
                                              : (const void *)&op->u.key64;
            mo_cat__tab_del(t, key);
            continue;
        }
        switch (k) {
        case CAT_SUB:
            mo_cat__tab_put(t, op->u.sub);
            break;
        case CAT_TASK:
            mo_cat__tab_put(t, op->u.task);
            break;
        case CAT_TABLE:
            mo_cat__tab_put(t, op->u.table); /* the row's pointers move into the table */
            mo_free(op->u.table);
            op->u.table = NULL;
            op->type = 0;
            continue;
        case CAT_MAP:
            mo_cat__tab_put(t, &op->u.map);
            op->type = 0;
            continue;
        case CAT_DB:
            mo_cat__tab_put(t, &op->u.db);
            break;
        case CAT_OBJ:
            mo_cat__tab_put(t, &op->u.obj);
            break;
        case CAT_SNAP:
            mo_cat__tab_put(t, &op->u.snap);
            break;
        case CAT_SEQ:
            mo_cat__tab_put(t, &op->u.seq);
            break;
        }
        mo_cat__op_dispose(op);
    }
    if (c->objs_loaded)
        c->obj_count = c->tab[CAT_OBJ].n;
}

int mo_cat__replay(mo_cat *c, const uint8_t *p, size_t n, size_t pos, size_t *end_out, char *why,
                   size_t whycap, mo_err *err)
{
    why[0] = 0;
    *end_out = pos;
    while (pos < n) {
        const size_t start = pos;
        uint8_t type;
        const uint8_t *pl;
        size_t len;
        if (!read_rec(p, n, pos, &type, &pl, &len, why, whycap))
            return MO_OK;
        if (type != CAT_REC_BEGIN || len != 16) {
            snprintf(why, whycap, "expected BEGIN, found record type %u", type);
            return MO_OK;
        }
        const uint64_t epoch = mo_load_le64(pl), seq = mo_load_le64(pl + 8);
        if (seq != c->commit_seq + 1) {
            snprintf(why, whycap, "commit seq %llu, expected %llu", (unsigned long long)seq,
                     (unsigned long long)c->commit_seq + 1);
            return MO_OK;
        }
        if (epoch < c->last_epoch) {
            snprintf(why, whycap, "commit of stale epoch %llu after epoch %llu",
                     (unsigned long long)epoch, (unsigned long long)c->last_epoch);
            return MO_OK;
        }
        pos += CAT_REC_HDR + 16 + CAT_REC_TRAILER;
        const size_t rows_from = pos;
        /* find COMMIT: walk the framing first, decode only a complete commit */
        uint32_t nrecs = 0;
        for (;;) {
            if (!read_rec(p, n, pos, &type, &pl, &len, why, whycap))
                return MO_OK;
            if (type == CAT_REC_COMMIT)
                break;
            if (type == CAT_REC_BEGIN) {
                snprintf(why, whycap, "BEGIN inside a commit");
                return MO_OK;
            }
            nrecs++;
            pos += CAT_REC_HDR + len + CAT_REC_TRAILER;
        }
        const size_t rows_to = pos;
        if (len != 24 || mo_load_le32(pl) != nrecs || mo_load_le32(pl + 4) ||
            mo_load_le64(pl + 16) != mo_xxh3_64(p + start, rows_to - start)) {
            snprintf(why, whycap, "COMMIT record does not match its %u records", nrecs);
            return MO_OK;
        }
        const int64_t delta = (int64_t)mo_load_le64(pl + 8);
        size_t nops;
        int rc = decode_rows(c, p, rows_from, rows_to, &nops, why, whycap, err);
        if (rc <= 0)
            return rc;
        if ((rc = mo_cat__reserve_ops(c, c->ops, nops, err)) < 0) {
            dispose_ops(c->ops, nops);
            return rc;
        }
        mo_cat__apply_ops(c, c->ops, nops);
        if (!c->objs_loaded)
            c->obj_count += (uint64_t)delta;
        pos = rows_to + CAT_REC_HDR + 24 + CAT_REC_TRAILER;
        c->commit_seq = seq;
        c->last_epoch = epoch;
        *end_out = pos;
    }
    return MO_OK;
}

int mo_cat__apply_rows(mo_cat *c, const uint8_t *p, size_t n, char *why, size_t whycap,
                       mo_err *err)
{
    size_t nops;
    int rc = decode_rows(c, p, 0, n, &nops, why, whycap, err);
    if (rc <= 0)
        return rc;
    for (size_t i = 0; i < nops; i++)
        if (cat_is_del(c->ops[i].type) || cat_kind(c->ops[i].type) == CAT_OBJ) {
            dispose_ops(c->ops, nops);
            snprintf(why, whycap, "snapshot holds a delete or an object record in its row section");
            return 0;
        }
    if ((rc = mo_cat__reserve_ops(c, c->ops, nops, err)) < 0) {
        dispose_ops(c->ops, nops);
        return rc;
    }
    mo_cat__apply_ops(c, c->ops, nops);
    return 1;
}

/* ---------------- transactions ---------------- */

int mo_cat_begin(mo_cat *c, mo_cat_txn **out, mo_err *err)
{
    *out = NULL;
    if (c->mode != MO_CAT_WRITE)
        return mo_err_set(err, MO_EINVAL, "catalog %s: opened read-only", c->dir);
    if (c->poisoned)
        return mo_err_set(err, MO_EIO, "catalog %s: an earlier commit failed; reopen it", c->dir);
    mo_cat_txn *t = mo_calloc(1, sizeof(*t));
    if (!t)
        return mo_err_set(err, MO_ENOMEM, "catalog: transaction");
    t->c = c;
    mo_buf_init(&t->buf);
    const uint8_t zero[16] = {0};
    if (mo_cat__enc_raw(&t->buf, CAT_REC_BEGIN, zero, sizeof(zero)) < 0) {
        mo_free(t);
        return mo_err_set(err, MO_ENOMEM, "catalog: transaction");
    }
    *out = t;
    return MO_OK;
}

void mo_cat_abort(mo_cat_txn *t)
{
    if (!t)
        return;
    mo_buf_dispose(&t->buf);
    mo_free(t->tabs);
    mo_free(t);
}

static int txn_put(mo_cat_txn *t, int kind, const void *row, mo_err *err)
{
    const int rc = mo_cat__enc_put(&t->buf, kind, row);
    if (rc == MO_EINVAL)
        return mo_err_set(err, rc, "catalog: invalid row (unterminated string, bad column index)");
    if (rc < 0)
        return mo_err_set(err, rc, "catalog: encoding a row");
    t->nrecs++;
    return MO_OK;
}

static int txn_del(mo_cat_txn *t, int kind, const void *key, mo_err *err)
{
    const int rc = mo_cat__enc_del(&t->buf, kind, key);
    if (rc < 0)
        return mo_err_set(err, rc, "catalog: encoding a delete");
    t->nrecs++;
    return MO_OK;
}

int mo_cat_put_sub(mo_cat_txn *t, const mo_cat_sub *s, mo_err *err)
{
    return txn_put(t, CAT_SUB, s, err);
}
int mo_cat_del_sub(mo_cat_txn *t, uint64_t task_id, mo_err *err)
{
    return txn_del(t, CAT_SUB, &task_id, err);
}
int mo_cat_put_task(mo_cat_txn *t, const mo_cat_task *k, mo_err *err)
{
    return txn_put(t, CAT_TASK, k, err);
}
int mo_cat_del_task(mo_cat_txn *t, uint64_t job_id, mo_err *err)
{
    return txn_del(t, CAT_TASK, &job_id, err);
}
int mo_cat_put_db(mo_cat_txn *t, const mo_cat_db *d, mo_err *err)
{
    return txn_put(t, CAT_DB, d, err);
}
int mo_cat_del_db(mo_cat_txn *t, uint64_t down_id, mo_err *err)
{
    return txn_del(t, CAT_DB, &down_id, err);
}

static int txn_note_table(mo_cat_txn *t, uint64_t id, bool real_pk, mo_err *err)
{
    if (t->ntabs == t->tabcap) {
        const size_t cap = t->tabcap ? t->tabcap * 2 : 8;
        struct txn_tab *v = mo_realloc(t->tabs, cap * sizeof(*v));
        if (!v)
            return mo_err_set(err, MO_ENOMEM, "catalog: transaction tables");
        t->tabs = v;
        t->tabcap = cap;
    }
    t->tabs[t->ntabs].id = id;
    t->tabs[t->ntabs].real_pk = real_pk;
    t->ntabs++;
    return MO_OK;
}

int mo_cat_put_table(mo_cat_txn *t, const mo_cat_table *tb, mo_err *err)
{
    const size_t len0 = t->buf.len;
    int rc = txn_put(t, CAT_TABLE, tb, err);
    if (rc == MO_OK && (rc = txn_note_table(t, tb->down_id, tb->real_pk, err)) < 0) {
        t->buf.len = len0;
        t->nrecs--;
    }
    return rc;
}
int mo_cat_del_table(mo_cat_txn *t, uint64_t down_id, mo_err *err)
{
    return txn_del(t, CAT_TABLE, &down_id, err);
}

int mo_cat_put_object(mo_cat_txn *t, const mo_cat_object *o, mo_err *err)
{
    /* real PK: a table put earlier in this transaction wins over the committed one */
    bool real_pk = false, known = false;
    for (size_t i = t->ntabs; i-- > 0;)
        if (t->tabs[i].id == o->table_id) {
            real_pk = t->tabs[i].real_pk;
            known = true;
            break;
        }
    if (!known) {
        const mo_cat_table *tb = mo_cat__tab_get(&t->c->tab[CAT_TABLE], &o->table_id);
        real_pk = tb && tb->real_pk;
    }
    mo_cat_object n = *o;
    n.stats[MO_OBJ_STATS_LEN - 1] =
        mo_cat_normalize_flags(o->stats[MO_OBJ_STATS_LEN - 1], o->is_tombstone, real_pk);
    n.non_mergeable = true; /* nothing in mosync ever merges */
    const int rc = txn_put(t, CAT_OBJ, &n, err);
    if (rc == MO_OK)
        t->nobj++;
    return rc;
}
int mo_cat_put_object_raw(mo_cat_txn *t, const mo_cat_object *o, mo_err *err)
{
    const int rc = txn_put(t, CAT_OBJ, o, err);
    if (rc == MO_OK)
        t->nobj++;
    return rc;
}
int mo_cat_del_object(mo_cat_txn *t, const uint8_t id[MO_OBJ_OBJECTID_LEN], mo_err *err)
{
    const int rc = txn_del(t, CAT_OBJ, id, err);
    if (rc == MO_OK)
        t->nobj++;
    return rc;
}
int mo_cat_put_mapping(mo_cat_txn *t, const mo_cat_mapping *m, mo_err *err)
{
    return txn_put(t, CAT_MAP, m, err);
}
int mo_cat_del_mapping(mo_cat_txn *t, const uint8_t upstream_id[MO_OBJ_OBJECTID_LEN], mo_err *err)
{
    return txn_del(t, CAT_MAP, upstream_id, err);
}
int mo_cat_put_snapshot(mo_cat_txn *t, const mo_cat_snapshot *s, mo_err *err)
{
    return txn_put(t, CAT_SNAP, s, err);
}
int mo_cat_del_snapshot(mo_cat_txn *t, const char *name, mo_err *err)
{
    if (strnlen(name, MO_CAT_NAME_MAX) >= MO_CAT_NAME_MAX)
        return mo_err_set(err, MO_EINVAL, "catalog: snapshot name too long");
    return txn_del(t, CAT_SNAP, name, err);
}

int mo_cat_next_id(mo_cat_txn *t, const char *seq, uint64_t *out, mo_err *err)
{
    *out = 0;
    if (strnlen(seq, CAT_SEQ_NAME) >= CAT_SEQ_NAME)
        return mo_err_set(err, MO_EINVAL, "catalog: sequence name too long");
    int i;
    for (i = 0; i < t->nseq; i++)
        if (!strcmp(t->seqs[i].name, seq))
            break;
    if (i == t->nseq) {
        if (t->nseq == TXN_SEQS)
            return mo_err_set(err, MO_EINVAL, "catalog: more than %d sequences in one transaction",
                              TXN_SEQS);
        cat_seq s;
        memset(&s, 0, sizeof(s));
        memcpy(s.name, seq, strlen(seq) + 1);
        const cat_seq *cur = mo_cat__tab_get(&t->c->tab[CAT_SEQ], s.name);
        s.value = cur ? cur->value : 0;
        t->seqs[i] = s;
    }
    cat_seq s = t->seqs[i];
    s.value++;
    const int rc = txn_put(t, CAT_SEQ, &s, err);
    if (rc < 0)
        return rc;
    if (i == t->nseq)
        t->nseq++;
    t->seqs[i] = s;
    *out = s.value;
    return MO_OK;
}

/* Objects added minus removed by @p ops, given the committed state plus earlier ops. */
static int obj_delta(mo_cat *c, const cat_op *ops, size_t n, size_t nobj, int64_t *out,
                     mo_err *err)
{
    *out = 0;
    if (!nobj)
        return MO_OK;
    struct ov {
        uint8_t id[MO_OBJ_OBJECTID_LEN];
        uint8_t used, exists;
    } *v;
    size_t cap = 16;
    while (cap < nobj * 2)
        cap *= 2;
    if (!(v = mo_calloc(cap, sizeof(*v))))
        return mo_err_set(err, MO_ENOMEM, "catalog: commit overlay");
    int64_t d = 0;
    for (size_t i = 0; i < n; i++) {
        if (cat_kind(ops[i].type) != CAT_OBJ)
            continue;
        const bool del = cat_is_del(ops[i].type);
        const uint8_t *id = del ? ops[i].u.key18 : ops[i].u.obj.stats;
        size_t s = mo_xxh3_64(id, MO_OBJ_OBJECTID_LEN) & (cap - 1);
        while (v[s].used && memcmp(v[s].id, id, MO_OBJ_OBJECTID_LEN))
            s = (s + 1) & (cap - 1);
        if (!v[s].used) {
            v[s].used = 1;
            memcpy(v[s].id, id, MO_OBJ_OBJECTID_LEN);
            v[s].exists = mo_cat__tab_get(&c->tab[CAT_OBJ], id) != NULL;
        }
        if (del && v[s].exists)
            d--;
        else if (!del && !v[s].exists)
            d++;
        v[s].exists = !del;
    }
    mo_free(v);
    *out = d;
    return MO_OK;
}

int mo_cat_commit(mo_cat_txn *t, mo_err *err)
{
    mo_cat *c = t->c;
    int rc = MO_OK;
    size_t nops = 0;
    if (!t->nrecs)
        goto out;
    if (c->poisoned) {
        rc = mo_err_set(err, MO_EIO, "catalog %s: an earlier commit failed; reopen it", c->dir);
        goto out;
    }
    /* fencing: a writer that took over since our open owns the log now */
    uint64_t cur;
    if ((rc = mo_cat__read_epoch(c->dir, &cur, err)) < 0)
        goto out;
    if (cur != c->epoch) {
        rc = mo_err_set(err, MO_ESTALE,
                        "catalog %s: writer epoch %llu is stale (epoch %llu took over); commit "
                        "rejected",
                        c->dir, (unsigned long long)c->epoch, (unsigned long long)cur);
        goto out;
    }
    if (t->nobj && (rc = mo_cat__ensure_objects(c, err)) < 0)
        goto out;

    uint8_t *b = t->buf.ptr;
    mo_store_le64(b + CAT_REC_HDR, c->epoch);
    mo_store_le64(b + CAT_REC_HDR + 8, c->commit_seq + 1);
    mo_store_le64(b + CAT_REC_HDR + 16, mo_xxh3_64(b, CAT_REC_HDR + 16));
    const size_t rows_from = CAT_REC_HDR + 16 + CAT_REC_TRAILER, rows_to = t->buf.len;

    char why[256];
    if ((rc = decode_rows(c, b, rows_from, rows_to, &nops, why, sizeof(why), err)) < 0)
        goto out;
    if (rc == 0) { /* our own encoder produced it: a bug, never disk bytes */
        rc = mo_err_set(err, MO_EINVAL, "catalog: transaction does not decode: %s", why);
        goto out;
    }
    int64_t delta;
    if ((rc = obj_delta(c, c->ops, nops, t->nobj, &delta, err)) < 0)
        goto out_ops;
    uint8_t cm[24];
    mo_store_le32(cm, t->nrecs);
    mo_store_le32(cm + 4, 0);
    mo_store_le64(cm + 8, (uint64_t)delta);
    mo_store_le64(cm + 16, mo_xxh3_64(t->buf.ptr, t->buf.len));
    if ((rc = mo_cat__enc_raw(&t->buf, CAT_REC_COMMIT, cm, sizeof(cm))) < 0) {
        rc = mo_err_set(err, rc, "catalog: commit record");
        goto out_ops;
    }
    if ((rc = mo_cat__reserve_ops(c, c->ops, nops, err)) < 0)
        goto out_ops;

    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/log.%llu", c->dir, (unsigned long long)c->log_seq);
    rc = mo_sys_pwrite_full(c->log_fd, t->buf.ptr, t->buf.len, c->log_end, path, err);
    if (rc == MO_OK && mo_sys_fsync(c->log_fd) < 0)
        rc = mo_err_sys(err, errno == ENOSPC ? MO_ENOSPC : MO_EIO, errno, "%s: fsync", path);
    if (rc < 0) {
        /* the bytes may or may not be on disk: only a reopen (replay) can tell */
        c->poisoned = 1;
        if (ftruncate(c->log_fd, (off_t)c->log_end) < 0)
            mo_err_prefix(err, "(tail not cut: %s) ", strerror(errno));
        goto out_ops;
    }
    mo_cat__apply_ops(c, c->ops, nops);
    nops = 0;
    c->log_end += t->buf.len;
    c->commit_seq++;
    c->last_epoch = c->epoch;
    mo_cat_abort(t);
    mo_err e2;
    /* the commit is durable whatever compaction does; a failed compaction poisons the handle
     * only when it could not leave a usable log behind */
    mo_cat__maybe_compact(c, false, &e2);
    return MO_OK;
out_ops:
    dispose_ops(c->ops, nops);
out:
    mo_cat_abort(t);
    return rc;
}
