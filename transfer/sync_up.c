/* The sync handle and the way to a subscription's upstream. `mysql://` upstreams are reached
 * directly (password from the catalog's secrets file, else MO_UPSTREAM_PASSWORD[_FILE]);
 * `dir://` upstream replicas are served by an in-process moupstream (mo_srv over the catalog
 * backend of that replica, on 127.0.0.1 and an ephemeral port), so every path speaks the real
 * CCPR protocol. One server per replica directory for the life of the handle (the backend
 * flocks the replica). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync_int.h"

int64_t mo_sync__now_s(void)
{
    return (int64_t)time(NULL);
}

int64_t mo_sync__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void mo_sync__log(mo_sync *s, const char *fmt, ...)
{
    if (!s->o.log)
        return;
    va_list ap;
    va_start(ap, fmt);
    flockfile(s->o.log);
    fputs("mosync run: ", s->o.log);
    vfprintf(s->o.log, fmt, ap);
    fputc('\n', s->o.log);
    fflush(s->o.log);
    funlockfile(s->o.log);
    va_end(ap);
}

void mo_sync__snap_name(char *out, size_t cap, uint64_t task_id, uint64_t lsn)
{
    snprintf(out, cap, "ccpr_%" PRIu64 "_%" PRIu64, task_id, lsn);
}

mo_up_level mo_sync__level(const mo_cat_sub *sub)
{
    if (!strcmp(sub->level, "table"))
        return MO_UP_LEVEL_TABLE;
    if (!strcmp(sub->level, "account"))
        return MO_UP_LEVEL_ACCOUNT;
    return MO_UP_LEVEL_DATABASE;
}

int mo_sync_new(mo_sync **out, const char *dir, const mo_sync_opts *opts, mo_err *err)
{
    *out = NULL;
    int rc = mo_up_global_init(err);
    if (rc < 0)
        return rc;
    mo_sync *s = mo_calloc(1, sizeof(*s));
    if (!s || !(s->dir = mo_strdup(dir))) {
        mo_free(s);
        return mo_err_set(err, MO_ENOMEM, "sync handle");
    }
    pthread_mutex_init(&s->mu, NULL);
    if (opts)
        s->o = *opts;
    if (!s->o.workers)
        s->o.workers = 4;
    if (!s->o.fetch_jobs)
        s->o.fetch_jobs = 4;
    if (!s->o.verify_level)
        s->o.verify_level = MO_OBJ_LEVEL_DEEP;
    if (!s->o.flush_timeout_s)
        s->o.flush_timeout_s = 1800;
    uint8_t u[16];
    if ((rc = mo_obj_segid_new(u, err)) < 0)
        goto fail;
    if (s->o.cn_uuid && *s->o.cn_uuid) {
        snprintf(s->cn_uuid, sizeof(s->cn_uuid), "%s", s->o.cn_uuid);
    } else {
        mo_obj_uuid_format(s->cn_uuid, u);
    }
    s->o.cn_uuid = s->cn_uuid;
    for (int i = 0; i < 16; i++)
        snprintf(s->password + 2 * i, 3, "%02x", u[(i + 7) % 16] ^ (uint8_t)(i * 37));
    if ((rc = mo_cat_open(&s->cat, dir, MO_CAT_WRITE, NULL, err)) < 0) {
        mo_err_prefix(err, "%s: catalog: ", dir);
        goto fail;
    }
    *out = s;
    return MO_OK;
fail:
    mo_sync_free(s);
    return rc;
}

void mo_sync_free(mo_sync *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nups; i++) {
        mo_srv_free(s->ups[i].srv);
        mo_srv_catbackend_free(s->ups[i].be);
    }
    mo_free(s->ups);
    for (size_t i = 0; i < s->npws; i++)
        memset(s->pws[i].pw, 0, sizeof(s->pws[i].pw));
    mo_free(s->pws);
    mo_cat_close(s->cat);
    pthread_mutex_destroy(&s->mu);
    mo_free(s->dir);
    mo_free(s);
}

mo_cat *mo_sync_cat(mo_sync *s)
{
    return s->cat;
}

const char *mo_sync_cn_uuid(const mo_sync *s)
{
    return s->cn_uuid;
}

/* under s->mu */
static int local_up(mo_sync *s, const char *path, const char **uri, mo_err *err)
{
    for (size_t i = 0; i < s->nups; i++)
        if (!strcmp(s->ups[i].path, path)) {
            *uri = s->ups[i].uri;
            return MO_OK;
        }
    sync_local_up *n = mo_realloc(s->ups, (s->nups + 1) * sizeof(*n));
    if (!n)
        return mo_err_set(err, MO_ENOMEM, "local upstream");
    s->ups = n;
    sync_local_up *u = &s->ups[s->nups];
    memset(u, 0, sizeof(*u));
    snprintf(u->path, sizeof(u->path), "%s", path);
    int rc = mo_srv_catbackend_new(&u->be, path, "mosync", s->password, err);
    if (rc < 0) {
        mo_err_prefix(err, "upstream dir://%s: ", path);
        return rc;
    }
    mo_srv_opts so;
    mo_srv_opts_init(&so);
    so.host = "127.0.0.1";
    so.port = 0;
    if ((rc = mo_srv_new(&u->srv, &so, mo_srv_catbackend_ops(), u->be, err)) < 0 ||
        (rc = mo_srv_start(u->srv, err)) < 0) {
        mo_srv_free(u->srv);
        mo_srv_catbackend_free(u->be);
        return rc;
    }
    snprintf(u->uri, sizeof(u->uri), "mysql://mosync@127.0.0.1:%u", mo_srv_port(u->srv));
    s->nups++;
    *uri = u->uri;
    return MO_OK;
}

int mo_sync__conn(mo_sync *s, sync_conn *out, const mo_cat_sub *sub, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc;
    snprintf(out->pubacct, sizeof(out->pubacct), "%s", sub->pub_account[0] ? sub->pub_account : "sys");
    snprintf(out->pubname, sizeof(out->pubname), "%s", sub->pub_name[0] ? sub->pub_name : "mosync");
    /* stored without a password (mo_cat_uri_format): only the scheme and the path matter */
    if (!strncmp(sub->upstream_conn, "dir://", 6)) {
        const char *uri = NULL;
        pthread_mutex_lock(&s->mu);
        rc = local_up(s, sub->upstream_conn + 6, &uri, err);
        if (rc == MO_OK)
            snprintf(out->uri, sizeof(out->uri), "%s", uri);
        pthread_mutex_unlock(&s->mu);
        if (rc < 0)
            return rc;
        snprintf(out->password, sizeof(out->password), "%s", s->password);
        out->has_password = true;
        return MO_OK;
    }
    if (strncmp(sub->upstream_conn, "mysql://", 8))
        return mo_err_set(err, MO_EINVAL, "upstream %.40s: `mosync run` syncs from mysql:// "
                                          "and dir:// upstreams", sub->upstream_conn);
    snprintf(out->uri, sizeof(out->uri), "%s", sub->upstream_conn);
    pthread_mutex_lock(&s->mu);
    rc = mo_cat_secret_get(s->cat, sub->task_id, out->password, sizeof(out->password), NULL);
    size_t i;
    for (i = 0; i < s->npws && s->pws[i].task_id != sub->task_id; i++)
        ;
    if (rc == MO_OK && i == s->npws) {
        struct sync_pw *n = mo_realloc(s->pws, (s->npws + 1) * sizeof(*n));
        if (n) {
            s->pws = n;
            n[s->npws].task_id = sub->task_id;
            snprintf(n[s->npws].pw, sizeof(n[s->npws].pw), "%s", out->password);
            s->npws++;
        }
    } else if (rc != MO_OK && i < s->npws) {
        snprintf(out->password, sizeof(out->password), "%s", s->pws[i].pw);
        rc = MO_OK;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == MO_OK) {
        out->has_password = true;
        return MO_OK;
    }
    char *pw = NULL;
    if ((rc = mo_up_password_from_env(&pw, err)) < 0)
        return rc;
    if (pw) {
        snprintf(out->password, sizeof(out->password), "%s", pw);
        out->has_password = true;
        memset(pw, 0, strlen(pw));
        mo_free(pw);
    }
    return MO_OK;
}

static unsigned env_uint(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    return *end || x > 3600000ul ? 0 : (unsigned)x;
}

void mo_sync__up_opts(mo_up_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_attempts = env_uint("MO_UPSTREAM_ATTEMPTS");
    o->backoff_base_ms = env_uint("MO_UPSTREAM_BACKOFF_MS");
    o->backoff_cap_ms = env_uint("MO_UPSTREAM_BACKOFF_CAP_MS");
    o->read_timeout = env_uint("MO_UPSTREAM_TIMEOUT");
    o->connect_timeout = o->write_timeout = o->read_timeout;
}

int mo_sync__connect(mo_up **out, const sync_conn *c, mo_err *err)
{
    mo_up_opts o;
    mo_sync__up_opts(&o);
    int rc = mo_up_connect(out, c->uri, c->has_password ? c->password : NULL, &o, err);
    if (rc < 0)
        mo_err_prefix(err, "upstream: ");
    return rc;
}
