/* Private to the upstream emulator: the connection the statement layer (srv_ccpr.c) answers
 * on, and the result-set writer of the protocol layer (srv_mysql.c). */
#ifndef MO_SRV_INT_H
#define MO_SRV_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "mo/base.h"
#include "mo/srv.h"

/* MySQL column types and flags used on the wire */
#define SRV_T_TINY 0x01
#define SRV_T_LONG 0x03
#define SRV_T_LONGLONG 0x08
#define SRV_T_VARCHAR 0x0f
#define SRV_T_BLOB 0xfc
#define SRV_T_VAR_STRING 0xfd
#define SRV_T_STRING 0xfe
#define SRV_FLAG_BLOB 0x0010
#define SRV_FLAG_BINARY 0x0080
#define SRV_CS_BINARY 63
#define SRV_CS_UTF8MB4 45

/* MO error codes (moerr) and MySQL ones */
#define SRV_ER_MO_INTERNAL 20101
#define SRV_ER_MO_NYI 20102
#define SRV_ER_MO_INVALID_INPUT 20301
#define SRV_ER_MO_STALE_READ 22101
#define SRV_ER_UNKNOWN 1105

typedef struct srv_col {
    const char *name;
    uint8_t type;
    uint16_t charset;
    uint32_t length;
    uint16_t flags;
} srv_col;

typedef struct srv_cell {
    const void *p; /* NULL with null set = SQL NULL */
    size_t len;
    bool null;
} srv_cell;

struct mo_srv {
    mo_srv_opts opts;
    const mo_srv_backend_ops *ops;
    void *ctx;
    int lfd;
    int wake[2];
    unsigned port;
    pthread_t accept_thr;
    bool started;
    atomic_bool stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct srv_slot *slots;
    unsigned chunk_reads; /* under mu */
    atomic_uint_fast32_t next_conn_id;
    /* fault counters */
    atomic_uint fault_refused, fault_retry, fault_drop, fault_corrupt;
    /* stats */
    atomic_uint_fast64_t st_accepted, st_full, st_refused, st_auth, st_stmts, st_chunk;
    struct ssl_ctx_st *ssl_ctx; /* OpenSSL SSL_CTX when TLS is configured, else NULL */
    atomic_uint_fast64_t st_tls, st_tls_failed, st_logins;
    atomic_size_t in_held; /* bytes of the connections' receive buffers (mo_srv_conn.in) */
};

/* The byte transport of a connection (srv_mysql.c): plain socket or TLS. send/recv move at
 * least one byte (> 0), recv returns 0 at EOF, < 0 is an error with errno set (EAGAIN or
 * EWOULDBLOCK when the socket timeout expired). */
struct mo_srv_conn;
typedef struct srv_io {
    ssize_t (*send)(struct mo_srv_conn *c, const void *p, size_t n);
    ssize_t (*recv)(struct mo_srv_conn *c, void *p, size_t n);
} srv_io;

typedef struct mo_srv_conn {
    mo_srv *srv;
    int fd;
    const srv_io *io;    /* plain until an SSLRequest switched it to TLS */
    struct ssl_st *ssl;  /* OpenSSL SSL of a TLS connection, else NULL */
    uint32_t id;
    uint8_t seq;
    uint32_t client_caps;
    bool deprecate_eof;
    bool broken; /* an I/O error happened: close after the current statement */
    char tenant[MO_SRV_NAME_MAX];
    char user[MO_SRV_NAME_MAX];
    char db[MO_SRV_NAME_MAX];
    mo_buf in;  /* current command */
    mo_buf pkt; /* payload being built */
    uint8_t *wbuf;
    size_t wlen;
    /* packet stream state (mo_srv__pw_*) */
    uint64_t pw_left;  /* payload bytes of the whole logical packet still to write */
    uint32_t pw_frag;  /* bytes left in the current physical packet */
    uint32_t pw_fraglen; /* its length */
    bool pw_need_hdr;  /* a (possibly empty) header is due before more bytes */
    uint8_t *chunk;    /* get_object chunk buffer */
    size_t chunk_cap;
} mo_srv_conn;

/* ---- protocol layer (srv_mysql.c) ---- */
/** A receive buffer above this size is freed once its command has been answered. */
#define MO_SRV__IN_KEEP ((size_t)256 << 10)
/** Bytes held by the receive buffers of the open connections (for tests). */
size_t mo_srv__in_held(const mo_srv *s);
int mo_srv__ok(mo_srv_conn *c, uint64_t affected);
int mo_srv__err(mo_srv_conn *c, unsigned code, const char *state, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int mo_srv__rs_begin(mo_srv_conn *c, const srv_col *cols, size_t n);
int mo_srv__rs_row(mo_srv_conn *c, const srv_cell *cells, size_t n);
int mo_srv__rs_end(mo_srv_conn *c);
/** A whole logical packet of @p total payload bytes, written in pieces. */
int mo_srv__pw_begin(mo_srv_conn *c, uint64_t total);
int mo_srv__pw_put(mo_srv_conn *c, const void *p, size_t n);
int mo_srv__pw_end(mo_srv_conn *c);
int mo_srv__flush(mo_srv_conn *c);
/** Length of a lenenc integer and its encoding into @p out (9 bytes max). */
size_t mo_srv__lenenc(uint8_t out[9], uint64_t v);
/** Waits for / releases one of max_chunk_reads chunk slots. */
void mo_srv__chunk_acquire(mo_srv *s);
void mo_srv__chunk_release(mo_srv *s);

/* ---- statement layer (srv_ccpr.c) ---- */
/**
 * Answers one COM_QUERY. @return MO_OK when a response was sent (possibly an ERR packet),
 * a negative code when the connection must be closed.
 */
int mo_srv__query(mo_srv_conn *c, const char *sql, size_t len);

/* ---- publications shared by the backends (srv_pubs.c) ---- */
typedef struct mo_srv__pubset_pub {
    mo_srv_pub pub; /* the view handed out; points into the fields below */
    char *account, *name;
    mo_srv_pub_entry *entries;
    size_t n, cap;
} mo_srv__pubset_pub;

typedef struct mo_srv__pubset {
    mo_srv__pubset_pub *pubs;
    size_t npubs;
    mo_srv_pub_entry all_entry; /* with no publication configured: sys.mosync, everything */
    mo_srv_pub all_pub;
} mo_srv__pubset;

void mo_srv__pubset_init(mo_srv__pubset *s);
int mo_srv__pubset_add(mo_srv__pubset *s, const char *account, const char *name, const char *db,
                       const char *table, mo_err *err);
int mo_srv__pubset_find(const mo_srv__pubset *s, const mo_srv_pub **out, const char *account,
                        const char *name, mo_err *err);
void mo_srv__pubset_dispose(mo_srv__pubset *s);

#endif
