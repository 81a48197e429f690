/* The directory backend of moupstream: a plain directory of object files served as one
 * table, `mosync`.`objects`. Every file with a valid 42-char name is a live data object
 * created at its mtime; its ObjectStats come from the objfmt reader and are cached per
 * (name, size, mtime). Snapshots live in memory with strictly increasing wall-clock TS.
 * This is a stand-in until the catalog-backed backend exists: it has no history (no
 * deletes, no tombstones) and suits directories that do not change while being served.
 * Files are served as stored (raw bytes). Publications are fixed before the server starts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "mo/objfmt.h"
#include "mo/srv.h"
#include "srv_int.h"
#include "mo/sys.h"

#define DB_NAME "mosync"
#define TABLE_NAME "objects"
#define TABLE_DDL                                                                                  \
    "CREATE TABLE `mosync`.`objects` (\n"                                                          \
    "  `name` varchar(42) NOT NULL,\n"                                                             \
    "  `data` blob DEFAULT NULL,\n"                                                                \
    "  PRIMARY KEY (`name`)\n"                                                                     \
    ") COLLATE=utf8mb4_general_ci PROPERTIES('from_publication' = 'true')"

typedef struct centry {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    uint64_t size;
    int64_t mtime_ns;
    uint8_t stats[MO_OBJ_STATS_LEN];
} centry;

struct mo_srv_dirbackend {
    char *dir, *user, *password;
    pthread_mutex_t mu;
    mo_srv__pubset pubs;
    mo_srv_snap *snaps;
    size_t nsnaps, capsnaps;
    int64_t last_ts;
    centry *cache;
    size_t ncache, capcache;
};

int mo_srv_dirbackend_new(mo_srv_dirbackend **out, const char *dir, const char *user,
                          const char *password, mo_err *err)
{
    *out = NULL;
    mo_srv_dirbackend *b = mo_calloc(1, sizeof(*b));
    if (!b)
        return mo_err_set(err, MO_ENOMEM, "dir backend: out of memory");
    b->dir = mo_strdup(dir);
    b->user = mo_strdup(user);
    b->password = mo_strdup(password);
    pthread_mutex_init(&b->mu, NULL);
    if (!b->dir || !b->user || !b->password) {
        mo_srv_dirbackend_free(b);
        return mo_err_set(err, MO_ENOMEM, "dir backend: out of memory");
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        int e = errno;
        mo_srv_dirbackend_free(b);
        return mo_err_sys(err, MO_ENOTFOUND, e, "%s: not a directory", dir);
    }
    mo_srv__pubset_init(&b->pubs);
    *out = b;
    return MO_OK;
}

int mo_srv_dirbackend_publish(mo_srv_dirbackend *b, const char *account, const char *name,
                              const char *db, const char *table, mo_err *err)
{
    return mo_srv__pubset_add(&b->pubs, account, name, db, table, err);
}

void mo_srv_dirbackend_free(mo_srv_dirbackend *b)
{
    if (!b)
        return;
    mo_srv__pubset_dispose(&b->pubs);
    mo_free(b->snaps);
    mo_free(b->cache);
    mo_free(b->dir);
    mo_free(b->user);
    mo_free(b->password);
    pthread_mutex_destroy(&b->mu);
    mo_free(b);
}

/* ---------------- ops ---------------- */

static const char *d_password(void *ctx, const char *tenant, const char *user)
{
    mo_srv_dirbackend *b = ctx;
    if (strcasecmp(tenant, "sys") || strcmp(user, b->user))
        return NULL;
    return b->password;
}

static int d_pub_find(void *ctx, const mo_srv_pub **out, const char *account, const char *name,
                      mo_err *err)
{
    return mo_srv__pubset_find(&((mo_srv_dirbackend *)ctx)->pubs, out, account, name, err);
}

static mo_srv_snap *find_snap(mo_srv_dirbackend *b, const char *account, const char *name)
{
    for (size_t i = 0; i < b->nsnaps; i++)
        if (!strcmp(b->snaps[i].account, account) && !strcmp(b->snaps[i].name, name))
            return &b->snaps[i];
    return NULL;
}

static int d_snap_create(void *ctx, mo_srv_snap *req, mo_err *err)
{
    mo_srv_dirbackend *b = ctx;
    if (req->level == MO_SRV_LEVEL_DATABASE || req->level == MO_SRV_LEVEL_TABLE) {
        if (strcmp(req->db, DB_NAME))
            return mo_err_set(err, MO_ENOTFOUND, "database %s does not exist", req->db);
        if (req->level == MO_SRV_LEVEL_TABLE && strcmp(req->table, TABLE_NAME))
            return mo_err_set(err, MO_ENOTFOUND, "table %s.%s does not exist", req->db,
                              req->table);
    }
    int rc = MO_OK;
    pthread_mutex_lock(&b->mu);
    if (find_snap(b, req->account, req->name)) {
        rc = mo_err_set(err, MO_EEXISTS, "snapshot %s already exists", req->name);
        goto out;
    }
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
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (now <= b->last_ts)
        now = b->last_ts + 1;
    b->last_ts = now;
    req->ts.physical = now;
    req->ts.logical = 0;
    b->snaps[b->nsnaps++] = *req;
out:
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static int d_snap_get(void *ctx, mo_srv_snap *out, const char *account, const char *name,
                      mo_err *err)
{
    mo_srv_dirbackend *b = ctx;
    pthread_mutex_lock(&b->mu);
    mo_srv_snap *s = find_snap(b, account, name);
    if (s)
        *out = *s;
    pthread_mutex_unlock(&b->mu);
    return s ? MO_OK : mo_err_set(err, MO_ENOTFOUND, "snapshot %s does not exist", name);
}

static int d_snap_drop(void *ctx, const char *account, const char *name, mo_err *err)
{
    mo_srv_dirbackend *b = ctx;
    pthread_mutex_lock(&b->mu);
    mo_srv_snap *s = find_snap(b, account, name);
    if (s)
        *s = b->snaps[--b->nsnaps];
    pthread_mutex_unlock(&b->mu);
    return s ? MO_OK : mo_err_set(err, MO_ENOTFOUND, "snapshot %s does not exist", name);
}

static int d_snap_flushed(void *ctx, bool *out, const mo_srv_snap *snap, mo_err *err)
{
    (void)ctx, (void)snap, (void)err;
    *out = true;
    return MO_OK;
}

static int d_databases(void *ctx, const char *account, const mo_srv_snap *at, mo_srv_name_cb cb,
                       void *payload, mo_err *err)
{
    (void)ctx, (void)at;
    if (strcmp(account, "sys"))
        return MO_OK;
    int rc;
    if ((rc = cb("mo_catalog", payload)) != 0 || (rc = cb(DB_NAME, payload)) != 0)
        return mo_err_set(err, MO_EUSER, "stopped");
    return MO_OK;
}

static int d_tables(void *ctx, const char *account, const mo_srv_snap *at, const char *db,
                    mo_srv_table_cb cb, void *payload, mo_err *err)
{
    (void)ctx, (void)at;
    if (!strcmp(db, "mo_catalog"))
        return MO_OK;
    if (strcmp(account, "sys") || strcmp(db, DB_NAME))
        return mo_err_set(err, MO_ENOTFOUND, "database %s does not exist", db);
    mo_srv_table t = {DB_NAME, TABLE_NAME, MO_SRV_DIR_TABLE_ID, 'r', TABLE_DDL};
    return cb(&t, payload) ? mo_err_set(err, MO_EUSER, "stopped") : MO_OK;
}

static int d_indexes(void *ctx, const char *account, const mo_srv_snap *at, uint64_t table_id,
                     mo_srv_index_cb cb, void *payload, mo_err *err)
{
    (void)ctx, (void)at;
    if (strcmp(account, "sys") || table_id != MO_SRV_DIR_TABLE_ID)
        return MO_OK;
    mo_srv_index ix = {table_id, "PRIMARY", "", ""};
    return cb(&ix, payload) ? mo_err_set(err, MO_EUSER, "stopped") : MO_OK;
}

static bool in_scope(const mo_srv_snap *s)
{
    if (strcmp(s->account, "sys"))
        return false;
    if (s->level == MO_SRV_LEVEL_ACCOUNT)
        return true;
    if (strcmp(s->db, DB_NAME))
        return false;
    return s->level == MO_SRV_LEVEL_DATABASE || !strcmp(s->table, TABLE_NAME);
}

/* Stats of one file, cached by (name, size, mtime). */
static int file_stats(mo_srv_dirbackend *b, centry *out, const char *path, mo_err *err)
{
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < b->ncache; i++)
        if (!strcmp(b->cache[i].name, out->name) && b->cache[i].size == out->size &&
            b->cache[i].mtime_ns == out->mtime_ns) {
            memcpy(out->stats, b->cache[i].stats, MO_OBJ_STATS_LEN);
            pthread_mutex_unlock(&b->mu);
            return MO_OK;
        }
    pthread_mutex_unlock(&b->mu);
    mo_obj_reader *r = NULL;
    mo_obj_stats st;
    int rc;
    if ((rc = mo_obj_reader_open(&r, path, err)) < 0 ||
        (rc = mo_obj_reader_load_meta(r, NULL, err)) < 0 ||
        (rc = mo_obj_reader_stats(r, &st, err)) < 0) {
        mo_obj_reader_free(r);
        return rc;
    }
    mo_obj_reader_free(r);
    mo_obj_stats_encode(out->stats, &st);
    pthread_mutex_lock(&b->mu);
    if (b->ncache == b->capcache) {
        size_t cap = b->capcache ? b->capcache * 2 : 256;
        centry *n = mo_realloc(b->cache, cap * sizeof(*n));
        if (n) {
            b->cache = n;
            b->capcache = cap;
        }
    }
    if (b->ncache < b->capcache)
        b->cache[b->ncache++] = *out;
    pthread_mutex_unlock(&b->mu);
    return MO_OK;
}

static int cmp_centry(const void *a, const void *b)
{
    return strcmp(((const centry *)a)->name, ((const centry *)b)->name);
}

static int d_objects(void *ctx, const mo_srv_snap *snap, const mo_obj_ts *from, mo_obj_ts to,
                     mo_srv_obj_cb cb, void *payload, mo_err *err)
{
    mo_srv_dirbackend *b = ctx;
    (void)from, (void)to;
    if (!in_scope(snap))
        return MO_OK;
    DIR *dh = opendir(b->dir);
    if (!dh)
        return mo_err_sys(err, MO_EIO, errno, "%s: opendir", b->dir);
    centry *v = NULL;
    size_t n = 0, cap = 0;
    int rc = MO_OK;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (!mo_obj_name_valid(de->d_name))
            continue;
        char p[PATH_MAX];
        struct stat st;
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", b->dir, de->d_name) >= sizeof(p) ||
            stat(p, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            centry *nv = mo_realloc(v, cap * sizeof(*nv));
            if (!nv) {
                rc = mo_err_set(err, MO_ENOMEM, "listing %s: out of memory", b->dir);
                break;
            }
            v = nv;
        }
        centry *e = &v[n];
        memcpy(e->name, de->d_name, MO_OBJ_NAME_STR_LEN + 1);
        e->size = (uint64_t)st.st_size;
        e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        mo_err fe;
        if (file_stats(b, e, p, &fe) < 0)
            continue; /* not a readable object: not part of the table */
        n++;
    }
    closedir(dh);
    if (rc == MO_OK) {
        qsort(v, n, sizeof(*v), cmp_centry);
        for (size_t i = 0; i < n; i++) {
            mo_srv_obj o;
            memset(&o, 0, sizeof(o));
            o.db = DB_NAME;
            o.table = TABLE_NAME;
            memcpy(o.stats, v[i].stats, MO_OBJ_STATS_LEN);
            o.create_at.physical = v[i].mtime_ns;
            if (cb(&o, payload)) {
                rc = mo_err_set(err, MO_EUSER, "stopped");
                break;
            }
        }
    }
    mo_free(v);
    return rc;
}

static int d_object_stat(void *ctx, uint64_t *size_out, const mo_srv_pub *pub, const char *name,
                         mo_err *err)
{
    mo_srv_dirbackend *b = ctx;
    if (!mo_obj_name_valid(name) || !mo_srv_pub_covers(pub, DB_NAME, TABLE_NAME))
        return mo_err_set(err, MO_ENOTFOUND, "file %s is not found", name);
    char p[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(p, sizeof(p), "%s/%s", b->dir, name) >= sizeof(p) || stat(p, &st) < 0 ||
        !S_ISREG(st.st_mode))
        return mo_err_set(err, MO_ENOTFOUND, "file %s is not found", name);
    *size_out = (uint64_t)st.st_size;
    return MO_OK;
}

static int d_object_read(void *ctx, const char *name, uint64_t off, void *buf, size_t n,
                         mo_err *err)
{
    mo_srv_dirbackend *b = ctx;
    char p[PATH_MAX];
    if (!mo_obj_name_valid(name) ||
        (size_t)snprintf(p, sizeof(p), "%s/%s", b->dir, name) >= sizeof(p))
        return mo_err_set(err, MO_ENOTFOUND, "file %s is not found", name);
    int fd = mo_sys_open(p, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return mo_err_sys(err, errno == ENOENT ? MO_ENOTFOUND : MO_EIO, errno, "%s: open", name);
    int rc = mo_sys_pread_full(fd, buf, n, off, name, err);
    mo_sys_close(fd);
    return rc;
}

static const mo_srv_backend_ops dir_ops = {
    MO_SRV_BACKEND_VERSION,
    d_password,
    d_pub_find,
    d_snap_create,
    d_snap_get,
    d_snap_drop,
    d_snap_flushed,
    d_databases,
    d_tables,
    d_indexes,
    d_objects,
    d_object_stat,
    d_object_read,
};

const mo_srv_backend_ops *mo_srv_dirbackend_ops(void)
{
    return &dir_ops;
}
