/* Private to mo_catalog: the in-memory tables, record codec and store internals shared by
 * cat_index.c, cat_rows.c, cat_log.c and cat_store.c. On-disk formats are in cat_store.c's
 * header comment. */
#ifndef MO_CAT_INT_H
#define MO_CAT_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mo/cat.h"

/* row kinds; record type = CAT_REC_ROW + 2*kind (+1 for a delete) */
enum { CAT_SUB, CAT_TASK, CAT_DB, CAT_TABLE, CAT_OBJ, CAT_MAP, CAT_SNAP, CAT_SEQ, CAT_NKIND };

#define CAT_REC_BEGIN 1
#define CAT_REC_COMMIT 2
#define CAT_REC_ROW 16
#define CAT_REC_HDR 8     /* u8 type | u8 0 | u16 0 | u32 len */
#define CAT_REC_TRAILER 8 /* xxh3_64 of header + payload */
#define CAT_REC_MAX (1u << 30)
#define CAT_OBJ_REC 221 /* fixed object payload: stats, table, flags, 2 TS, digest, upstream */
#define CAT_SEQ_NAME 64

typedef struct cat_seq {
    char name[CAT_SEQ_NAME]; /* key */
    uint64_t value;
} cat_seq;

/* ---- cat_index.c: an array of fixed-size rows plus an open-addressing index ---- */
typedef struct cat_tab {
    uint8_t *el;
    size_t esz, n, cap;
    size_t klen; /* key at offset 0: klen bytes, or a NUL-terminated string when 0 */
    uint32_t *slots; /* 0 empty, else element index + 1; linear probing, load <= 1/2 */
    size_t scap;
    void (*dispose)(void *row);
} cat_tab;

void mo_cat__tab_init(cat_tab *t, size_t esz, size_t klen, void (*dispose)(void *));
void mo_cat__tab_dispose(cat_tab *t);
/** Room for @p extra more rows (rows and index) so that puts cannot fail. */
int mo_cat__tab_reserve(cat_tab *t, size_t extra);
void *mo_cat__tab_get(const cat_tab *t, const void *key);
/** Inserts or replaces (disposing the old row); needs a prior reserve. Takes the row's pointers. */
void mo_cat__tab_put(cat_tab *t, const void *row);
/** Removes (disposing the row); false when absent. */
bool mo_cat__tab_del(cat_tab *t, const void *key);
static inline void *mo_cat__tab_at(const cat_tab *t, size_t i)
{
    return t->el + i * t->esz;
}
/** Row pointers sorted by key (cmp on rows); *out is mo_malloc'ed (NULL when n == 0). */
int mo_cat__tab_sorted(const cat_tab *t, int (*cmp)(const void *, const void *), bool (*keep)(const void *, void *),
                       void *payload, void ***out, size_t *n_out);
int mo_cat__objid_cmp(const uint8_t *a, const uint8_t *b);

/* ---- cat_rows.c: one decoded record ---- */
typedef struct cat_op {
    uint8_t type; /* record type */
    union {
        mo_cat_sub *sub;
        mo_cat_task *task;
        mo_cat_table *table;
        mo_cat_db db;
        mo_cat_object obj;
        mo_cat_mapping map;
        mo_cat_snapshot snap;
        cat_seq seq;
        uint64_t key64;
        uint8_t key18[MO_OBJ_OBJECTID_LEN];
        char name[MO_CAT_NAME_MAX];
    } u;
} cat_op;

static inline int cat_kind(uint8_t type)
{
    return (type - CAT_REC_ROW) / 2;
}
static inline bool cat_is_del(uint8_t type)
{
    return (type - CAT_REC_ROW) & 1;
}

/** Appends one framed record (header, payload, checksum) of a row put. */
int mo_cat__enc_put(mo_buf *b, int kind, const void *row);
/** Appends a framed delete record; @p key is a u64*, an 18-byte id or a string. */
int mo_cat__enc_del(mo_buf *b, int kind, const void *key);
/** Appends a framed record with a raw payload. */
int mo_cat__enc_raw(mo_buf *b, uint8_t type, const void *payload, size_t len);
/** Decodes one payload (already checksummed) into @p op (owning its allocations). */
int mo_cat__dec(cat_op *op, uint8_t type, const uint8_t *p, size_t len, mo_err *err);
void mo_cat__op_dispose(cat_op *op);
void mo_cat__obj_encode(uint8_t out[CAT_OBJ_REC], const mo_cat_object *o);
int mo_cat__obj_decode(mo_cat_object *o, const uint8_t in[CAT_OBJ_REC], mo_err *err);
int mo_cat__mapping_copy(mo_cat_mapping *dst, const mo_cat_mapping *src);
void mo_cat__row_dispose(int kind, void *row);

/* ---- the store ---- */
typedef struct cat_pending { /* object ops replayed while the object section is not loaded */
    bool put;
    mo_cat_object obj;
} cat_pending;

struct mo_cat {
    char dir[PATH_MAX]; /* <replica>/.mosync/catalog */
    int mode;
    int lock_fd, log_fd, snap_fd;
    uint64_t epoch;      /* writer epoch (0 for readers) */
    uint64_t last_epoch; /* newest epoch seen in the log */
    int poisoned;        /* writer: a commit failed after its write began */
    cat_tab tab[CAT_NKIND];
    /* snapshot */
    uint64_t log_seq, snap_commit_seq, snap_size;
    uint64_t snap_obj_off, snap_nobj;
    mo_digest128 snap_obj_digest;
    dev_t snap_dev;
    ino_t snap_ino;
    bool objs_loaded;
    cat_pending *pend;
    size_t npend, pend_cap;
    uint64_t obj_count;
    /* log */
    uint64_t log_end, commit_seq;
    bool log_ok; /* header present and valid */
    cat_op *ops; /* scratch for one commit */
    size_t ops_cap;
    size_t hw_ops; /* high-water of decoded ops */
};

int mo_cat__ensure_objects(mo_cat *c, mo_err *err);
/**
 * Replays complete commits of @p p[0..n) starting at @p pos (file offset @p base + pos).
 * *end_out = offset just after the last applied commit; on a torn/corrupt commit, *why
 * receives the reason (else ""), never an error return: only ENOMEM/EIO are errors.
 */
int mo_cat__replay(mo_cat *c, const uint8_t *p, size_t n, size_t pos, size_t *end_out, char *why,
                   size_t whycap, mo_err *err);
/** Applies the decoded ops of one commit (capacity reserved before). */
int mo_cat__reserve_ops(mo_cat *c, const cat_op *ops, size_t n, mo_err *err);
void mo_cat__apply_ops(mo_cat *c, cat_op *ops, size_t n);
/** Decodes and applies the PUT records of a snapshot's row section: 1 ok, 0 corrupt (why). */
int mo_cat__apply_rows(mo_cat *c, const uint8_t *p, size_t n, char *why, size_t whycap,
                       mo_err *err);
int mo_cat__read_epoch(const char *dir, uint64_t *out, mo_err *err);
int mo_cat__maybe_compact(mo_cat *c, bool closing, mo_err *err);
/** Test hook: drops the writer's flock as if the lock had been broken (fencing tests). */
void mo_cat__test_unlock(mo_cat *c);

#endif
