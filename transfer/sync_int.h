/* Private to the sync engine (sync_*.c): the handle, shared by the iteration (sync_iter.c),
 * the executor and scanner (sync_exec.c) and the upstream connections (sync_up.c). */
#ifndef MO_SYNC_INT_H
#define MO_SYNC_INT_H

#include <pthread.h>

#include "mo/srv.h"
#include "mo/sync.h"
#include "mo/upstream.h"

/* an in-process upstream for a `dir://` replica, shared by every subscription of the handle */
typedef struct sync_local_up {
    char path[1024];
    mo_srv_catbackend *be;
    mo_srv *srv;
    char uri[128];
} sync_local_up;

#define SYNC_MAX_RUNNING 256

struct mo_sync {
    char *dir;
    mo_cat *cat;
    pthread_mutex_t mu; /* the catalog, the running set, the local upstreams */
    mo_sync_opts o;
    char cn_uuid[64];
    char password[40]; /* of the in-process upstreams */
    sync_local_up *ups;
    size_t nups;
    uint64_t running[SYNC_MAX_RUNNING];
    size_t nrunning;
    /* upstream passwords seen, so that a DROP (which forgets the secret) can still release
     * the subscription's upstream snapshots while this process runs */
    struct sync_pw {
        uint64_t task_id;
        char pw[MO_CAT_NAME_MAX];
    } *pws;
    size_t npws;
};

/** How to reach a subscription's upstream. */
typedef struct sync_conn {
    char uri[1100];
    char password[MO_CAT_NAME_MAX];
    bool has_password;
    char pubacct[MO_CAT_NAME_MAX], pubname[MO_CAT_NAME_MAX];
} sync_conn;

/** Resolves @p sub's upstream (starting an in-process server for dir://). Takes s->mu. */
int mo_sync__conn(mo_sync *s, sync_conn *out, const mo_cat_sub *sub, mo_err *err);
/** Upstream client options from MO_UPSTREAM_ATTEMPTS / _BACKOFF_MS / _BACKOFF_CAP_MS / _TIMEOUT. */
void mo_sync__up_opts(mo_up_opts *o);
/** Connects to it. */
int mo_sync__connect(mo_up **out, const sync_conn *c, mo_err *err);
/** The task rows of subscription @p task_id (0: all), copied out (caller frees *out). */
int mo_sync__load_tasks(mo_sync *s, uint64_t task_id, mo_cat_task **out, size_t *n, mo_err *err);
/** "ccpr_<task>_<lsn>" */
void mo_sync__snap_name(char *out, size_t cap, uint64_t task_id, uint64_t lsn);
/** The upstream level of a subscription. */
mo_up_level mo_sync__level(const mo_cat_sub *sub);
int64_t mo_sync__now_s(void);
int64_t mo_sync__now_us(void);
void mo_sync__log(mo_sync *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
