/* The catalog backend of moupstream: an UPSTREAM replica directory (objects flat in DIR, the
 * catalog in DIR/.mosync/catalog, as `mosync gen` writes it) served with its history. The
 * catalog is opened read-only and refreshed before every answer, so `mosync gen --mutate`
 * keeps committing while we serve; we never take its writer lock.
 *
 * Model: the replica is the data of every publisher account, restricted to what that
 * account publishes (without --publish: account sys, everything, publication `mosync`). A
 * database or table is alive at TS when created <= TS < dropped ({0,0} = unknown / never).
 * Object records are reported with their create/delete TS; the server applies MO's windows.
 *
 * CCPR snapshots made by downstreams live in DIR/.mosync/upstream-snapshots (the catalog is
 * the generator's): a small durable file rewritten whole on every create/drop
 *   "MOUPSNP1" | u32 version=1 | u32 count | u64 file length
 *   count x { u8 level | u8 0 | u16 name_len | u16 account_len | u16 db_len | u16 table_len |
 *             i64 physical | u32 logical | name | account | db | table }
 *   u64 xxh64(every byte before)
 * written temp, fsync, rename, fsync dir. A new snapshot's TS is the newest TS committed in
 * the catalog at that moment, so it names exactly the state the reader sees. The catalog's
 * own snapshots (gen_<n>) are visible as read-only account-level snapshots. One server per
 * directory: DIR/.mosync/upstream.lock is flock'ed while the backend lives.
 *
 * Object bytes are served as LOGICAL bytes: DISK-framed files (CRC-32C per 2 KiB block) are
 * deframed and verified on the fly.
 *
 * Names and DDL as of a snapshot: a catalog table row holds only its latest name and CREATE
 * TABLE text (RENAME TABLE and in-place ALTERs keep the id). When the replica was generated,
 * the generator's truth ("<dir>/.mosync/gen/truth": per step, each table's id, name and
 * CREATE TABLE text) supplies them for the step a snapshot TS falls in; it is reloaded when
 * the file changes. Without it the latest catalog names are used. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo/cat.h"
#include "mo/gen.h"
#include "mo/hash.h"
#include "mo/obj_frame.h"
#include "mo/objfmt.h"
#include "mo/srv.h"
#include "srv_int.h"
#include "mo/sys.h"

#define SNAPS_FILE "upstream-snapshots"
#define LOCK_FILE "upstream.lock"
#define SNAPS_MAGIC "MOUPSNP1"
#define SNAPS_VERSION 1
#define SNAPS_HDR 24
#define SNAPS_REC 22
#define FCACHE_MAX 1024

/* framing of one object file, keyed by (name, size, mtime, inode) */
typedef struct fcache {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    uint64_t phys;
    int64_t mtime_ns;
    uint64_t ino;
    bool framed;
    uint64_t logical;
} fcache;

struct mo_srv_catbackend {
    char *dir, *user, *password;
    char snaps_path[PATH_MAX];
    int lock_fd;
    pthread_mutex_t mu; /* guards cat, snaps, fc */
    mo_cat *cat;
    mo_srv__pubset pubs;
    mo_srv_snap *snaps;
    size_t nsnaps, capsnaps;
    fcache *fc;
    size_t nfc, next_fc;
    /* the generator's truth (names and DDL per step), keyed by the file's identity */
    char truth_path[PATH_MAX];
    mo_gen_truth truth;
    bool has_truth;
    uint64_t truth_ino, truth_size;
    int64_t truth_mtime;
};

/* ---------------- small helpers ---------------- */

static bool ts_zero(mo_obj_ts t)
{
    return t.physical == 0 && t.logical == 0;
}

static void ts_max(mo_obj_ts *m, mo_obj_ts t)
{
    if (mo_obj_ts_cmp(t, *m) > 0)
        *m = t;
}

/* created <= at < dropped; @p at NULL = now (not dropped). */
static bool alive(mo_obj_ts created, mo_obj_ts dropped, const mo_obj_ts *at)
{
    if (!at)
        return ts_zero(dropped);
    if (!ts_zero(created) && mo_obj_ts_cmp(created, *at) > 0)
        return false;
    return ts_zero(dropped) || mo_obj_ts_cmp(*at, dropped) < 0;
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* The publications of @p account (the implicit sys.mosync when none was configured). */
static bool acct_pubs(const mo_srv_catbackend *b, const char *account, size_t i,
                      const mo_srv_pub **out)
{
    if (!b->pubs.npubs) {
        if (i == 0 && !strcmp(account, "sys")) {
            *out = &b->pubs.all_pub;
            return true;
        }
        return false;
    }
    for (size_t k = 0, seen = 0; k < b->pubs.npubs; k++)
        if (!strcmp(b->pubs.pubs[k].account, account) && seen++ == i) {
            *out = &b->pubs.pubs[k].pub;
            return true;
        }
    return false;
}

/* True iff @p account publishes @p db (any table of it when @p table is NULL). */
static bool acct_covers(const mo_srv_catbackend *b, const char *account, const char *db,
                        const char *table)
{
    const mo_srv_pub *p;
    for (size_t i = 0; acct_pubs(b, account, i, &p); i++) {
        if (table) {
            if (mo_srv_pub_covers(p, db, table))
                return true;
            continue;
        }
        for (size_t k = 0; k < p->n_entries; k++)
            if (!strcmp(p->entries[k].db, "*") || !strcmp(p->entries[k].db, db))
                return true;
    }
    return false;
}

/* ---------------- catalog views (taken under mu, used after it) ---------------- */

typedef struct cdb {
    uint64_t id;
    char name[MO_CAT_NAME_MAX];
    mo_obj_ts created, dropped;
} cdb;

typedef struct ctab {
    uint64_t down_id, up_id, db_id;
    char db[MO_CAT_NAME_MAX];
    char name[MO_CAT_NAME_MAX];
    char *sql; /* owned */
    mo_obj_ts created, dropped;
} ctab;

typedef struct cview {
    cdb *dbs;
    size_t ndbs, capdbs;
    ctab *tabs;
    size_t ntabs, captabs;
    bool want_sql;
    int rc;
} cview;

static void cview_dispose(cview *v)
{
    for (size_t i = 0; i < v->ntabs; i++)
        mo_free(v->tabs[i].sql);
    mo_free(v->tabs);
    mo_free(v->dbs);
    memset(v, 0, sizeof(*v));
}

static int db_collect(const mo_cat_db *d, void *payload)
{
    cview *v = payload;
    if (v->ndbs == v->capdbs) {
        size_t cap = v->capdbs ? v->capdbs * 2 : 16;
        cdb *n = mo_realloc(v->dbs, cap * sizeof(*n));
        if (!n)
            return v->rc = MO_ENOMEM;
        v->dbs = n;
        v->capdbs = cap;
    }
    cdb *o = &v->dbs[v->ndbs++];
    o->id = d->down_id;
    copy_name(o->name, sizeof(o->name), d->name);
    o->created = d->created_ts;
    o->dropped = d->dropped_ts;
    return 0;
}

static int tab_collect(const mo_cat_table *t, void *payload)
{
    cview *v = payload;
    if (v->ntabs == v->captabs) {
        size_t cap = v->captabs ? v->captabs * 2 : 16;
        ctab *n = mo_realloc(v->tabs, cap * sizeof(*n));
        if (!n)
            return v->rc = MO_ENOMEM;
        v->tabs = n;
        v->captabs = cap;
    }
    ctab *o = &v->tabs[v->ntabs];
    memset(o, 0, sizeof(*o));
    o->down_id = t->down_id;
    o->up_id = t->up_id ? t->up_id : t->down_id;
    o->db_id = t->down_db_id;
    copy_name(o->db, sizeof(o->db), t->db);
    copy_name(o->name, sizeof(o->name), t->name);
    o->created = t->created_ts;
    o->dropped = t->dropped_ts;
    if (v->want_sql && t->create_sql && !(o->sql = mo_strdup(t->create_sql)))
        return v->rc = MO_ENOMEM;
    v->ntabs++;
    return 0;
}

/* Reloads the generator's truth when its file changed (caller holds mu). A missing or
 * unreadable truth only means no overlay. */
static void truth_sync(mo_srv_catbackend *b)
{
    struct stat st;
    if (stat(b->truth_path, &st) < 0) {
        if (b->has_truth)
            mo_gen_truth_dispose(&b->truth);
        b->has_truth = false;
        return;
    }
    const int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (b->has_truth && b->truth_ino == (uint64_t)st.st_ino &&
        b->truth_size == (uint64_t)st.st_size && b->truth_mtime == mt)
        return;
    if (b->has_truth)
        mo_gen_truth_dispose(&b->truth);
    b->has_truth = mo_gen_truth_load(&b->truth, b->dir, NULL) == MO_OK;
    b->truth_ino = (uint64_t)st.st_ino;
    b->truth_size = (uint64_t)st.st_size;
    b->truth_mtime = mt;
}

/* Names and CREATE text of the tables as of @p at, from the truth step @p at falls in. */
static int truth_overlay(cview *v, const mo_srv_catbackend *b, const mo_obj_ts *at)
{
    if (!at || !b->has_truth)
        return MO_OK;
    const mo_gen_truth_step *step = NULL;
    for (uint32_t i = 0; i < b->truth.nsteps; i++)
        if (mo_obj_ts_cmp(b->truth.steps[i].ts, *at) <= 0 &&
            (!step || mo_obj_ts_cmp(b->truth.steps[i].ts, step->ts) >= 0))
            step = &b->truth.steps[i];
    if (!step)
        return MO_OK;
    for (size_t i = 0; i < v->ntabs; i++) {
        ctab *t = &v->tabs[i];
        for (uint32_t k = 0; k < step->ntables; k++) {
            const mo_gen_truth_table *g = &step->tables[k];
            if (g->table_id != t->up_id)
                continue;
            copy_name(t->name, sizeof(t->name), g->name);
            copy_name(t->db, sizeof(t->db), g->db);
            if (v->want_sql && g->create_sql) {
                char *sql = mo_strdup(g->create_sql);
                if (!sql)
                    return MO_ENOMEM;
                mo_free(t->sql);
                t->sql = sql;
            }
            break;
        }
    }
    return MO_OK;
}

/* Refreshes the reader and copies the db and table rows, names as of @p at (NULL = now).
 * Caller holds mu. */
static int cview_load(cview *v, mo_srv_catbackend *b, bool want_sql, const mo_obj_ts *at,
                      mo_err *err)
{
    memset(v, 0, sizeof(*v));
    v->want_sql = want_sql;
    int rc = mo_cat_refresh(b->cat, err);
    if (rc < 0)
        return rc;
    rc = mo_cat_foreach_db(b->cat, db_collect, v);
    if (rc == MO_OK)
        rc = mo_cat_foreach_table(b->cat, tab_collect, v);
    if (v->rc < 0 || rc < 0) {
        cview_dispose(v);
        return mo_err_set(err, v->rc < 0 ? v->rc : rc, "catalog: reading databases and tables");
    }
    truth_sync(b);
    if ((rc = truth_overlay(v, b, at)) < 0) {
        cview_dispose(v);
        return mo_err_set(err, rc, "generator truth: out of memory");
    }
    return MO_OK;
}

/* The database row named @p name alive at @p at, or NULL. */
static const cdb *db_at(const cview *v, const char *name, const mo_obj_ts *at)
{
    for (size_t i = 0; i < v->ndbs; i++)
        if (!strcmp(v->dbs[i].name, name) && alive(v->dbs[i].created, v->dbs[i].dropped, at))
            return &v->dbs[i];
    return NULL;
}

/* Table @p t belongs to database row @p d: by id when the table's db id names a known row,
 * else by name. */
static bool tab_in_db(const cview *v, const ctab *t, const cdb *d)
{
    if (t->db_id == d->id)
        return true;
    for (size_t i = 0; i < v->ndbs; i++)
        if (v->dbs[i].id == t->db_id)
            return false;
    return !strcmp(t->db, d->name);
}

static char tab_kind(const ctab *t)
{
    return strncmp(t->name, "__mo_index_", 11) ? 'r' : 'i';
}

/* ---------------- snapshots file ---------------- */

static int snaps_encode(mo_buf *out, const mo_srv_catbackend *b)
{
    int rc = MO_OK;
    rc |= mo_buf_put(out, SNAPS_MAGIC, 8);
    rc |= mo_buf_put_le32(out, SNAPS_VERSION);
    rc |= mo_buf_put_le32(out, (uint32_t)b->nsnaps);
    rc |= mo_buf_put_le64(out, 0); /* length, patched below */
    for (size_t i = 0; i < b->nsnaps; i++) {
        const mo_srv_snap *s = &b->snaps[i];
        const char *f[4] = {s->name, s->account, s->db, s->table};
        rc |= mo_buf_put_u8(out, (uint8_t)s->level);
        rc |= mo_buf_put_u8(out, 0);
        for (int k = 0; k < 4; k++)
            rc |= mo_buf_put_le16(out, (uint16_t)strlen(f[k]));
        rc |= mo_buf_put_le64(out, (uint64_t)s->ts.physical);
        rc |= mo_buf_put_le32(out, s->ts.logical);
        for (int k = 0; k < 4; k++)
            rc |= mo_buf_put(out, f[k], strlen(f[k]));
    }
    if (rc != MO_OK)
        return MO_ENOMEM;
    mo_store_le64(out->ptr + 16, (uint64_t)out->len + 8);
    return mo_buf_put_le64(out, mo_xxh64(out->ptr, out->len));
}

static int snaps_save(mo_srv_catbackend *b, mo_err *err)
{
    mo_buf out = MO_BUF_INIT;
    int rc = snaps_encode(&out, b);
    if (rc < 0)
        rc = mo_err_set(err, rc, "%s: out of memory", SNAPS_FILE);
    else
        rc = mo_sys_write_file_atomic(b->snaps_path, out.ptr, out.len, err);
    mo_buf_dispose(&out);
    return rc;
}

static int snaps_decode(mo_srv_catbackend *b, const uint8_t *p, size_t n, mo_err *err)
{
    if (n < SNAPS_HDR + 8 || memcmp(p, SNAPS_MAGIC, 8))
        return mo_err_set(err, MO_ECORRUPT, "%s: not a snapshot file", b->snaps_path);
    if (mo_load_le32(p + 8) != SNAPS_VERSION)
        return mo_err_set(err, MO_EVERSION, "%s: version %" PRIu32 " (want %d)", b->snaps_path,
                          mo_load_le32(p + 8), SNAPS_VERSION);
    if (mo_load_le64(p + 16) != n)
        return mo_err_set(err, MO_ECORRUPT, "%s: length %" PRIu64 " but %zu bytes on disk",
                          b->snaps_path, mo_load_le64(p + 16), n);
    const uint64_t want = mo_load_le64(p + n - 8), got = mo_xxh64(p, n - 8);
    if (want == 0 || want != got)
        return mo_err_set(err, MO_ECHECKSUM, "%s: xxh64 %016" PRIx64 " != %016" PRIx64,
                          b->snaps_path, got, want);
    const uint32_t count = mo_load_le32(p + 12);
    mo_cur c;
    mo_cur_init(&c, p + SNAPS_HDR, n - SNAPS_HDR - 8);
    mo_srv_snap *v = count ? mo_calloc(count, sizeof(*v)) : NULL;
    if (count && !v)
        return mo_err_set(err, MO_ENOMEM, "%s: %" PRIu32 " snapshots", b->snaps_path, count);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t level, pad;
        uint16_t len[4];
        uint64_t phys;
        uint32_t logical;
        bool ok = mo_cur_u8(&c, &level) && mo_cur_u8(&c, &pad);
        for (int k = 0; k < 4 && ok; k++)
            ok = mo_cur_le16(&c, &len[k]) && len[k] < MO_SRV_NAME_MAX;
        ok = ok && mo_cur_le64(&c, &phys) && mo_cur_le32(&c, &logical) &&
             level <= MO_SRV_LEVEL_TABLE;
        char *f[4] = {v[i].name, v[i].account, v[i].db, v[i].table};
        for (int k = 0; k < 4 && ok; k++) {
            const uint8_t *s;
            ok = mo_cur_take(&c, len[k], &s) && !memchr(s, 0, len[k]);
            if (ok) {
                memcpy(f[k], s, len[k]);
                f[k][len[k]] = 0;
            }
        }
        if (!ok) {
            mo_free(v);
            return mo_err_set(err, MO_ECORRUPT, "%s: snapshot record %" PRIu32 " is malformed",
                              b->snaps_path, i);
        }
        v[i].level = (mo_srv_level)level;
        v[i].ts.physical = (int64_t)phys;
        v[i].ts.logical = logical;
    }
    if (mo_cur_left(&c)) {
        mo_free(v);
        return mo_err_set(err, MO_ECORRUPT, "%s: %zu trailing bytes", b->snaps_path,
                          mo_cur_left(&c));
    }
    b->snaps = v;
    b->nsnaps = b->capsnaps = count;
    return MO_OK;
}

static int snaps_load(mo_srv_catbackend *b, mo_err *err)
{
    struct stat st;
    if (stat(b->snaps_path, &st) < 0) {
        if (errno == ENOENT)
            return MO_OK;
        return mo_err_sys(err, MO_EIO, errno, "%s: stat", b->snaps_path);
    }
    uint8_t *p = NULL;
    size_t n = 0;
    int rc = mo_sys_read_file(&p, &n, b->snaps_path, err);
    if (rc == MO_OK)
        rc = snaps_decode(b, p, n, err);
    mo_free(p);
    return rc;
}

/* ---------------- construction ---------------- */

int mo_srv_catbackend_new(mo_srv_catbackend **out, const char *dir, const char *user,
                          const char *password, mo_err *err)
{
    *out = NULL;
    mo_srv_catbackend *b = mo_calloc(1, sizeof(*b));
    if (!b)
        return mo_err_set(err, MO_ENOMEM, "catalog backend: out of memory");
    b->lock_fd = -1;
    pthread_mutex_init(&b->mu, NULL);
    b->dir = mo_strdup(dir);
    b->user = mo_strdup(user);
    b->password = mo_strdup(password);
    int rc = MO_OK;
    if (!b->dir || !b->user || !b->password) {
        rc = mo_err_set(err, MO_ENOMEM, "catalog backend: out of memory");
        goto fail;
    }
    mo_srv__pubset_init(&b->pubs);
    char lock[PATH_MAX];
    if ((size_t)snprintf(b->truth_path, sizeof(b->truth_path), "%s/.mosync/gen/truth", dir) >=
            sizeof(b->truth_path) ||
        (size_t)snprintf(b->snaps_path, sizeof(b->snaps_path), "%s/.mosync/%s", dir, SNAPS_FILE) >=
            sizeof(b->snaps_path) ||
        (size_t)snprintf(lock, sizeof(lock), "%s/.mosync/%s", dir, LOCK_FILE) >= sizeof(lock)) {
        rc = mo_err_set(err, MO_EINVAL, "%s: path too long", dir);
        goto fail;
    }
    if ((rc = mo_cat_open(&b->cat, dir, MO_CAT_READ, NULL, err)) < 0) {
        mo_err_prefix(err, "%s: catalog: ", dir);
        goto fail;
    }
    if ((b->lock_fd = mo_sys_open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        rc = mo_err_sys(err, MO_EIO, errno, "%s: open", lock);
        goto fail;
    }
    if (flock(b->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        const int e = errno;
        rc = e == EWOULDBLOCK
                 ? mo_err_set(err, MO_EEXISTS, "%s: another moupstream serves this replica", dir)
                 : mo_err_sys(err, MO_EIO, e, "%s: flock", lock);
        goto fail;
    }
    if ((rc = snaps_load(b, err)) < 0)
        goto fail;
    *out = b;
    return MO_OK;
fail:
    mo_srv_catbackend_free(b);
    return rc;
}

int mo_srv_catbackend_publish(mo_srv_catbackend *b, const char *account, const char *name,
                              const char *db, const char *table, mo_err *err)
{
    return mo_srv__pubset_add(&b->pubs, account, name, db, table, err);
}

void mo_srv_catbackend_free(mo_srv_catbackend *b)
{
    if (!b)
        return;
    mo_srv__pubset_dispose(&b->pubs);
    mo_free(b->snaps);
    mo_free(b->fc);
    if (b->has_truth)
        mo_gen_truth_dispose(&b->truth);
    mo_cat_close(b->cat);
    if (b->lock_fd >= 0)
        mo_sys_close(b->lock_fd); /* releases the flock */
    mo_free(b->dir);
    mo_free(b->user);
    mo_free(b->password);
    pthread_mutex_destroy(&b->mu);
    mo_free(b);
}

/* ---------------- ops: logins, publications ---------------- */

static const char *c_password(void *ctx, const char *tenant, const char *user)
{
    mo_srv_catbackend *b = ctx;
    if (strcasecmp(tenant, "sys") || strcmp(user, b->user))
        return NULL;
    return b->password;
}

static int c_pub_find(void *ctx, const mo_srv_pub **out, const char *account, const char *name,
                      mo_err *err)
{
    return mo_srv__pubset_find(&((mo_srv_catbackend *)ctx)->pubs, out, account, name, err);
}

/* ---------------- ops: snapshots ---------------- */

static mo_srv_snap *find_snap(mo_srv_catbackend *b, const char *account, const char *name)
{
    for (size_t i = 0; i < b->nsnaps; i++)
        if (!strcmp(b->snaps[i].account, account) && !strcmp(b->snaps[i].name, name))
            return &b->snaps[i];
    return NULL;
}

/* A catalog snapshot (gen_<n>) seen from @p account: account level, read-only. */
static bool cat_snap(mo_srv_catbackend *b, mo_srv_snap *out, const char *account, const char *name)
{
    const mo_srv_pub *p;
    mo_cat_snapshot cs;
    if (strlen(name) >= MO_CAT_NAME_MAX || !acct_pubs(b, account, 0, &p) ||
        mo_cat_get_snapshot(b->cat, name, &cs) != MO_OK)
        return false;
    if (out) {
        memset(out, 0, sizeof(*out));
        copy_name(out->name, sizeof(out->name), name);
        copy_name(out->account, sizeof(out->account), account);
        out->level = MO_SRV_LEVEL_ACCOUNT;
        out->ts = cs.ts;
    }
    return true;
}

static int newest_snap(const mo_cat_snapshot *s, void *payload)
{
    ts_max(payload, s->ts);
    return 0;
}

static int newest_obj(const mo_cat_object *o, void *payload)
{
    ts_max(payload, o->create_ts);
    ts_max(payload, o->delete_ts);
    return 0;
}

/* The newest TS committed in the catalog (caller holds mu, reader refreshed). */
static int newest_ts(mo_srv_catbackend *b, const cview *v, mo_obj_ts *out, mo_err *err)
{
    mo_obj_ts m = {1, 0};
    for (size_t i = 0; i < v->ndbs; i++) {
        ts_max(&m, v->dbs[i].created);
        ts_max(&m, v->dbs[i].dropped);
    }
    for (size_t i = 0; i < v->ntabs; i++) {
        ts_max(&m, v->tabs[i].created);
        ts_max(&m, v->tabs[i].dropped);
    }
    int rc = mo_cat_foreach_snapshot(b->cat, newest_snap, &m);
    if (rc == MO_OK)
        rc = mo_cat_foreach_object(b->cat, 0, newest_obj, &m);
    if (rc < 0)
        return mo_err_set(err, rc, "catalog: reading objects");
    *out = m;
    return MO_OK;
}

static int c_snap_create(void *ctx, mo_srv_snap *req, mo_err *err)
{
    mo_srv_catbackend *b = ctx;
    cview v;
    pthread_mutex_lock(&b->mu);
    int rc = cview_load(&v, b, false, NULL, err);
    if (rc < 0)
        goto out_unlock;
    if (find_snap(b, req->account, req->name) || cat_snap(b, NULL, req->account, req->name)) {
        rc = mo_err_set(err, MO_EEXISTS, "snapshot %s already exists", req->name);
        goto out;
    }
    if (req->level == MO_SRV_LEVEL_DATABASE || req->level == MO_SRV_LEVEL_TABLE) {
        const cdb *d = db_at(&v, req->db, NULL);
        if (!d || !acct_covers(b, req->account, req->db, NULL)) {
            rc = mo_err_set(err, MO_ENOTFOUND, "database %s does not exist", req->db);
            goto out;
        }
        if (req->level == MO_SRV_LEVEL_TABLE) {
            bool found = false;
            for (size_t i = 0; i < v.ntabs && !found; i++)
                found = !strcmp(v.tabs[i].name, req->table) &&
                        alive(v.tabs[i].created, v.tabs[i].dropped, NULL) &&
                        tab_in_db(&v, &v.tabs[i], d);
            if (!found || !acct_covers(b, req->account, req->db, req->table)) {
                rc = mo_err_set(err, MO_ENOTFOUND, "table %s.%s does not exist", req->db,
                                req->table);
                goto out;
            }
        }
    }
    if ((rc = newest_ts(b, &v, &req->ts, err)) < 0)
        goto out;
    if (b->nsnaps == b->capsnaps) {
        size_t cap = b->capsnaps ? b->capsnaps * 2 : 16;
        mo_srv_snap *n = mo_realloc(b->snaps, cap * sizeof(*n));
        if (!n) {
            rc = mo_err_set(err, MO_ENOMEM, "out of memory");
            goto out;
        }
        b->snaps = n;
        b->capsnaps = cap;
    }
    b->snaps[b->nsnaps++] = *req;
    if ((rc = snaps_save(b, err)) < 0)
        b->nsnaps--; /* not durable: not created */
out:
    cview_dispose(&v);
out_unlock:
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static int c_snap_get(void *ctx, mo_srv_snap *out, const char *account, const char *name,
                      mo_err *err)
{
    mo_srv_catbackend *b = ctx;
    pthread_mutex_lock(&b->mu);
    int rc = MO_OK;
    mo_srv_snap *s = find_snap(b, account, name);
    if (s)
        *out = *s;
    else if ((rc = mo_cat_refresh(b->cat, err)) == MO_OK && !cat_snap(b, out, account, name))
        rc = mo_err_set(err, MO_ENOTFOUND, "snapshot %s does not exist", name);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static int c_snap_drop(void *ctx, const char *account, const char *name, mo_err *err)
{
    mo_srv_catbackend *b = ctx;
    pthread_mutex_lock(&b->mu);
    int rc = MO_OK;
    mo_srv_snap *s = find_snap(b, account, name);
    if (s) {
        const mo_srv_snap keep = *s;
        const size_t at = (size_t)(s - b->snaps);
        memmove(s, s + 1, (b->nsnaps - at - 1) * sizeof(*s));
        b->nsnaps--;
        if ((rc = snaps_save(b, err)) < 0) { /* not durable: put it back where it was */
            memmove(b->snaps + at + 1, b->snaps + at, (b->nsnaps - at) * sizeof(*s));
            b->snaps[at] = keep;
            b->nsnaps++;
        }
    } else if ((rc = mo_cat_refresh(b->cat, err)) == MO_OK) {
        rc = cat_snap(b, NULL, account, name)
                 ? mo_err_set(err, MO_EINVAL,
                              "snapshot %s belongs to the replica's catalog and cannot be dropped",
                              name)
                 : mo_err_set(err, MO_ENOTFOUND, "snapshot %s does not exist", name);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static int c_snap_flushed(void *ctx, bool *out, const mo_srv_snap *snap, mo_err *err)
{
    (void)ctx, (void)snap, (void)err;
    *out = true; /* every committed object is a file already */
    return MO_OK;
}

/* ---------------- ops: databases, tables, indexes ---------------- */

static int c_databases(void *ctx, const char *account, const mo_srv_snap *at, mo_srv_name_cb cb,
                       void *payload, mo_err *err)
{
    mo_srv_catbackend *b = ctx;
    const mo_obj_ts *ts = at ? &at->ts : NULL;
    cview v;
    pthread_mutex_lock(&b->mu);
    int rc = cview_load(&v, b, false, ts, err);
    pthread_mutex_unlock(&b->mu);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < v.ndbs && rc == MO_OK; i++) {
        const cdb *d = &v.dbs[i];
        if (!alive(d->created, d->dropped, ts) || !acct_covers(b, account, d->name, NULL) ||
            db_at(&v, d->name, ts) != d) /* one row per name */
            continue;
        if (cb(d->name, payload))
            rc = mo_err_set(err, MO_EUSER, "stopped");
    }
    cview_dispose(&v);
    return rc;
}

static int c_tables(void *ctx, const char *account, const mo_srv_snap *at, const char *db,
                    mo_srv_table_cb cb, void *payload, mo_err *err)
{
    mo_srv_catbackend *b = ctx;
    const mo_obj_ts *ts = at ? &at->ts : NULL;
    cview v;
    pthread_mutex_lock(&b->mu);
    int rc = cview_load(&v, b, true, ts, err);
    pthread_mutex_unlock(&b->mu);
    if (rc < 0)
        return rc;
    const cdb *d = db_at(&v, db, ts);
    if (!d || !acct_covers(b, account, db, NULL)) {
        cview_dispose(&v);
        return mo_err_set(err, MO_ENOTFOUND, "database %s does not exist", db);
    }
    for (size_t i = 0; i < v.ntabs && rc == MO_OK; i++) {
        const ctab *t = &v.tabs[i];
        if (!alive(t->created, t->dropped, ts) || !tab_in_db(&v, t, d) ||
            !acct_covers(b, account, db, t->name))
            continue;
        const mo_srv_table st = {d->name, t->name, t->up_id, tab_kind(t), t->sql};
        if (cb(&st, payload))
            rc = mo_err_set(err, MO_EUSER, "stopped");
    }
    cview_dispose(&v);
    return rc;
}

/* Column count of the "PRIMARY KEY (`a`,`b`)" line of a §3.6.1 text, 0 without one. */
static unsigned pk_columns(const char *sql)
{
    const char *p = sql ? strstr(sql, "\n  PRIMARY KEY (") : NULL;
    if (!p)
        return 0;
    p += strlen("\n  PRIMARY KEY (");
    unsigned n = 1;
    bool quoted = false;
    for (; *p && *p != '\n'; p++) {
        if (*p == '`') {
            if (quoted && p[1] == '`') {
                p++;
                continue;
            }
            quoted = !quoted;
        } else if (!quoted && *p == ',') {
            n++;
        } else if (!quoted && *p == ')') {
            return n;
        }
    }
    return 0;
}

static int c_indexes(void *ctx, const char *account, const mo_srv_snap *at, uint64_t table_id,
                     mo_srv_index_cb cb, void *payload, mo_err *err)
{
    mo_srv_catbackend *b = ctx;
    const mo_obj_ts *ts = at ? &at->ts : NULL;
    cview v;
    pthread_mutex_lock(&b->mu);
    int rc = cview_load(&v, b, true, ts, err);
    pthread_mutex_unlock(&b->mu);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < v.ntabs && rc == MO_OK; i++) {
        const ctab *t = &v.tabs[i];
        if (t->up_id != table_id || !alive(t->created, t->dropped, ts) ||
            !acct_covers(b, account, t->db, t->name))
            continue;
        /* one PRIMARY row per primary-key column, then one row per secondary index (its
         * hidden table; the generator's indexes are single-column) */
        const unsigned n = pk_columns(t->sql);
        const mo_srv_index ix = {table_id, "PRIMARY", "", ""};
        for (unsigned k = 0; k < n && rc == MO_OK; k++)
            if (cb(&ix, payload))
                rc = mo_err_set(err, MO_EUSER, "stopped");
        for (size_t j = 0; j < v.ntabs && rc == MO_OK; j++) {
            const ctab *x = &v.tabs[j];
            mo_cat_index_link l;
            if (!alive(x->created, x->dropped, ts) || x->db_id != t->db_id ||
                mo_cat_index_table_link(x->name, x->sql, &l) != MO_OK || l.parent_id != table_id)
                continue;
            const mo_srv_index sx = {table_id, l.index_name, "", x->name};
            if (cb(&sx, payload))
                rc = mo_err_set(err, MO_EUSER, "stopped");
        }
        break;
    }
    cview_dispose(&v);
    return rc;
}

/* ---------------- ops: object records ---------------- */

typedef struct orec {
    uint8_t stats[MO_OBJ_STATS_LEN];
    mo_obj_ts create_at, delete_at;
    uint32_t tab; /* index into the scope's table list */
    uint32_t seq; /* catalog order within the table */
    bool tombstone;
} orec;

typedef struct ocollect {
    orec *v;
    size_t n, cap;
    uint32_t tab;
    const mo_obj_ts *from;
    mo_obj_ts to;
    int rc;
} ocollect;

/* The server's window (§3.8) applied early so that only candidates are copied. */
static bool in_window(const mo_cat_object *o, const mo_obj_ts *from, mo_obj_ts to)
{
    if (mo_obj_ts_cmp(o->create_ts, to) > 0)
        return false;
    const bool del_le_to = !ts_zero(o->delete_ts) && mo_obj_ts_cmp(o->delete_ts, to) <= 0;
    if (!from)
        return !del_le_to;
    return mo_obj_ts_cmp(*from, o->create_ts) <= 0 ||
           (del_le_to && mo_obj_ts_cmp(*from, o->delete_ts) <= 0);
}

static int obj_collect(const mo_cat_object *o, void *payload)
{
    ocollect *x = payload;
    if (!in_window(o, x->from, x->to))
        return 0;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 256;
        orec *n = mo_realloc(x->v, cap * sizeof(*n));
        if (!n)
            return x->rc = MO_ENOMEM;
        x->v = n;
        x->cap = cap;
    }
    orec *r = &x->v[x->n];
    memcpy(r->stats, o->stats, MO_OBJ_STATS_LEN);
    r->create_at = o->create_ts;
    r->delete_at = o->delete_ts;
    r->tab = x->tab;
    r->seq = (uint32_t)x->n;
    r->tombstone = o->is_tombstone;
    x->n++;
    return 0;
}

/* MO's order: per table, data objects then tombstones, each in catalog order. */
static int cmp_orec(const void *a, const void *b)
{
    const orec *x = a, *y = b;
    if (x->tab != y->tab)
        return x->tab < y->tab ? -1 : 1;
    if (x->tombstone != y->tombstone)
        return x->tombstone ? 1 : -1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int c_objects(void *ctx, const mo_srv_snap *snap, const mo_obj_ts *from, mo_obj_ts to,
                     mo_srv_obj_cb cb, void *payload, mo_err *err)
{
    mo_srv_catbackend *b = ctx;
    const mo_obj_ts *ts = &snap->ts;
    cview v;
    ocollect x = {0};
    x.from = from;
    x.to = to;
    const ctab **scope = NULL;
    const cdb **scope_db = NULL;
    size_t nscope = 0;
    pthread_mutex_lock(&b->mu);
    int rc = cview_load(&v, b, true, ts, err); /* texts: index tables name their parent */
    if (rc < 0) {
        pthread_mutex_unlock(&b->mu);
        return rc;
    }
    scope = mo_calloc(v.ntabs ? v.ntabs : 1, sizeof(*scope));
    scope_db = mo_calloc(v.ntabs ? v.ntabs : 1, sizeof(*scope_db));
    if (!scope || !scope_db) {
        rc = mo_err_set(err, MO_ENOMEM, "object list: out of memory");
        goto out_unlock;
    }
    /* the snapshot record's scope, at the snapshot's TS, within what the account publishes */
    for (size_t i = 0; i < v.ndbs; i++) {
        const cdb *d = &v.dbs[i];
        if (!alive(d->created, d->dropped, ts) || db_at(&v, d->name, ts) != d ||
            (snap->level != MO_SRV_LEVEL_ACCOUNT && strcmp(d->name, snap->db)))
            continue;
        for (size_t k = 0; k < v.ntabs; k++) {
            const ctab *t = &v.tabs[k];
            if (!alive(t->created, t->dropped, ts) || !tab_in_db(&v, t, d) ||
                tab_kind(t) == 'i' ||
                (snap->level == MO_SRV_LEVEL_TABLE && strcmp(t->name, snap->table)) ||
                !acct_covers(b, snap->account, d->name, t->name))
                continue;
            scope[nscope] = t;
            scope_db[nscope++] = d;
            /* §3.8: each table's index tables follow it, under their own names */
            for (size_t j = 0; j < v.ntabs; j++) {
                const ctab *ix = &v.tabs[j];
                mo_cat_index_link l;
                if (tab_kind(ix) == 'i' && alive(ix->created, ix->dropped, ts) &&
                    ix->db_id == t->db_id &&
                    mo_cat_index_table_link(ix->name, ix->sql, &l) == MO_OK &&
                    l.parent_id == t->up_id) {
                    scope[nscope] = ix;
                    scope_db[nscope++] = d;
                }
            }
        }
    }
    for (size_t i = 0; i < nscope && rc == MO_OK; i++) {
        x.tab = (uint32_t)i;
        const size_t before = x.n;
        rc = mo_cat_foreach_object(b->cat, scope[i]->down_id, obj_collect, &x);
        if (x.rc < 0)
            rc = mo_err_set(err, x.rc, "object list: out of memory");
        else if (rc < 0)
            rc = mo_err_set(err, rc, "catalog: reading objects of table %s", scope[i]->name);
        for (size_t k = before; k < x.n; k++)
            x.v[k].seq = (uint32_t)(k - before);
    }
out_unlock:
    pthread_mutex_unlock(&b->mu);
    if (rc == MO_OK && x.n)
        qsort(x.v, x.n, sizeof(*x.v), cmp_orec);
    for (size_t i = 0; i < x.n && rc == MO_OK; i++) {
        const orec *r = &x.v[i];
        mo_srv_obj o;
        o.db = scope_db[r->tab]->name;
        o.table = scope[r->tab]->name;
        memcpy(o.stats, r->stats, MO_OBJ_STATS_LEN);
        o.create_at = r->create_at;
        o.delete_at = r->delete_at;
        o.tombstone = r->tombstone;
        if (cb(&o, payload))
            rc = mo_err_set(err, MO_EUSER, "stopped");
    }
    mo_free(x.v);
    mo_free(scope);
    mo_free(scope_db);
    cview_dispose(&v);
    return rc;
}

/* ---------------- ops: object bytes ---------------- */

static int obj_path(char *out, size_t cap, const mo_srv_catbackend *b, const char *name,
                    mo_err *err)
{
    if (!mo_obj_name_valid(name) || (size_t)snprintf(out, cap, "%s/%s", b->dir, name) >= cap)
        return mo_err_set(err, MO_ENOTFOUND, "file %s is not found", name);
    return MO_OK;
}

/* Physical size, framing and logical size of the file open on @p fd. Caches by identity. */
static int file_info(mo_srv_catbackend *b, fcache *out, int fd, const char *name, mo_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return mo_err_sys(err, MO_EIO, errno, "%s: fstat", name);
    memset(out, 0, sizeof(*out));
    copy_name(out->name, sizeof(out->name), name);
    out->phys = (uint64_t)st.st_size;
    out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    out->ino = (uint64_t)st.st_ino;
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < b->nfc; i++) {
        const fcache *f = &b->fc[i];
        if (!strcmp(f->name, name) && f->phys == out->phys && f->mtime_ns == out->mtime_ns &&
            f->ino == out->ino) {
            *out = *f;
            pthread_mutex_unlock(&b->mu);
            return MO_OK;
        }
    }
    pthread_mutex_unlock(&b->mu);
    uint8_t first[MO_OBJ_FRAME_BLOCK];
    const size_t n = out->phys < sizeof(first) ? (size_t)out->phys : sizeof(first);
    int rc = mo_sys_pread_full(fd, first, n, 0, name, err);
    if (rc < 0)
        return rc;
    out->framed = mo_obj_frame_detect(first, n);
    out->logical = out->phys;
    if (out->framed && (rc = mo_obj_frame_logical_size(&out->logical, out->phys, err)) < 0)
        return rc;
    pthread_mutex_lock(&b->mu);
    if (!b->fc)
        b->fc = mo_calloc(FCACHE_MAX, sizeof(*b->fc));
    if (b->fc) { /* round robin once full */
        b->fc[b->next_fc] = *out;
        b->next_fc = (b->next_fc + 1) % FCACHE_MAX;
        if (b->nfc < FCACHE_MAX)
            b->nfc++;
    }
    pthread_mutex_unlock(&b->mu);
    return MO_OK;
}

static int open_obj(mo_srv_catbackend *b, int *fd_out, fcache *info, const char *name, mo_err *err)
{
    char p[PATH_MAX];
    int rc = obj_path(p, sizeof(p), b, name, err);
    if (rc < 0)
        return rc;
    const int fd = mo_sys_open(p, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? mo_err_set(err, MO_ENOTFOUND, "file %s is not found", name)
                               : mo_err_sys(err, MO_EIO, errno, "%s: open", name);
    if ((rc = file_info(b, info, fd, name, err)) < 0) {
        mo_sys_close(fd);
        return rc;
    }
    *fd_out = fd;
    return MO_OK;
}

static int c_object_stat(void *ctx, uint64_t *size_out, const mo_srv_pub *pub, const char *name,
                         mo_err *err)
{
    mo_srv_catbackend *b = ctx;
    mo_obj_objectid id;
    if (mo_obj_name_parse(&id, name, strlen(name), NULL) < 0)
        return mo_err_set(err, MO_ENOTFOUND, "file %s is not found", name);
    uint8_t key[MO_OBJ_OBJECTID_LEN];
    mo_obj_objectid_encode(key, &id);
    /* only objects the catalog knows (at any time), of tables @p pub covers */
    mo_cat_object o;
    mo_cat_table t;
    memset(&t, 0, sizeof(t));
    pthread_mutex_lock(&b->mu);
    int rc = mo_cat_refresh(b->cat, err);
    if (rc == MO_OK) {
        rc = mo_cat_get_object(b->cat, key, &o);
        if (rc == MO_OK)
            rc = mo_cat_get_table(b->cat, o.table_id, &t, err);
        mo_cat_index_link l;
        if (rc == MO_OK && mo_cat_index_table_link(t.name, t.create_sql, &l) == MO_OK) {
            /* an index table's objects are served with its parent's (replica ids: up == down) */
            mo_cat_table_dispose(&t);
            memset(&t, 0, sizeof(t));
            rc = mo_cat_get_table(b->cat, l.parent_id, &t, err);
        }
        if (rc == MO_ENOTFOUND)
            rc = mo_err_set(err, MO_ENOTFOUND, "file %s is not found", name);
        else if (rc < 0)
            rc = mo_err_set(err, rc, "catalog: looking up object %s", name);
    }
    pthread_mutex_unlock(&b->mu);
    if (rc == MO_OK && !mo_srv_pub_covers(pub, t.db, t.name))
        rc = mo_err_set(err, MO_ENOTFOUND, "file %s is not found", name);
    mo_cat_table_dispose(&t);
    if (rc < 0)
        return rc;
    int fd;
    fcache info;
    if ((rc = open_obj(b, &fd, &info, name, err)) < 0)
        return rc;
    mo_sys_close(fd);
    *size_out = info.logical;
    return MO_OK;
}

static int c_object_read(void *ctx, const char *name, uint64_t off, void *buf, size_t n,
                         mo_err *err)
{
    mo_srv_catbackend *b = ctx;
    int fd;
    fcache info;
    int rc = open_obj(b, &fd, &info, name, err);
    if (rc < 0)
        return rc;
    uint64_t end;
    if (mo_add_overflow(off, n, &end) || end > info.logical)
        rc = mo_err_set(err, MO_ETRUNCATED, "%s: [%" PRIu64 ", +%zu) past its %" PRIu64 " bytes",
                        name, off, n, info.logical);
    else if (info.framed)
        rc = mo_obj_frame_pread(fd, info.phys, buf, n, off, name, err);
    else
        rc = mo_sys_pread_full(fd, buf, n, off, name, err);
    mo_sys_close(fd);
    return rc;
}

/* clang-format off */
static const mo_srv_backend_ops cat_ops = {
    MO_SRV_BACKEND_VERSION,
    c_password,
    c_pub_find,
    c_snap_create,
    c_snap_get,
    c_snap_drop,
    c_snap_flushed,
    c_databases,
    c_tables,
    c_indexes,
    c_objects,
    c_object_stat,
    c_object_read,
};
/* clang-format on */

const mo_srv_backend_ops *mo_srv_catbackend_ops(void)
{
    return &cat_ops;
}
