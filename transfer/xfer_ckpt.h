/* Private: the checkpoint journal of one transfer job (see xfer_ckpt.c for the format). */
#ifndef MO_XFER_CKPT_H
#define MO_XFER_CKPT_H

#include "mo/xfer.h"

typedef struct mo_ckpt mo_ckpt;

/** What the journal knows about one object. */
typedef struct mo_ckpt_obj {
    uint32_t nchunks;     /* recorded chunks 0..nchunks-1 are in chunk[]; holes have len 0 */
    uint32_t cap;
    struct mo_ckpt_chunk {
        uint64_t off;
        uint32_t len;
        uint64_t hash; /* XXH3-64 */
    } *chunk;
    bool done;
    uint64_t size;
    mo_digest128 digest;
} mo_ckpt_obj;

typedef struct mo_ckpt_job {
    const char *source;    /* identity */
    mo_digest128 list;     /* XXH3-128 of the object list (names and sizes) */
    uint64_t objects;
    uint64_t chunk_size;
} mo_ckpt_job;

/**
 * Opens "<dir>/journal": creates it for @p job, or loads it and checks it is the same job.
 * A finished journal of any job is archived and a new one started. A torn tail is
 * reported in @p torn_out (bytes dropped) and cut off. Another job's unfinished journal,
 * or one whose header fails its checksum -> MO_ESTALE.
 */
int mo_ckpt_open(mo_ckpt **out, const char *dir, const mo_ckpt_job *job, uint64_t *torn_out,
                 mo_err *err);
/** Journal state of @p name, or NULL. Borrowed, valid until mo_ckpt_free. */
const mo_ckpt_obj *mo_ckpt_get(mo_ckpt *c, const char *name);
/** Appends a chunk record, not yet fsynced (see mo_ckpt_sync); the chunk is written first. */
int mo_ckpt_chunk(mo_ckpt *c, const char *name, uint32_t idx, uint64_t off, uint32_t len,
                  uint64_t hash, mo_err *err);
/** fsyncs the journal (batched durability of chunk records). */
int mo_ckpt_sync(mo_ckpt *c, mo_err *err);
/** Appends a DONE record: the object is published; fsynced when @p sync (the rename was
 * durable), else a claim the copier re-checks (unsynced sinks). */
int mo_ckpt_done(mo_ckpt *c, const char *name, uint64_t size, mo_digest128 digest, bool sync,
                 mo_err *err);
int mo_ckpt_job_done(mo_ckpt *c, mo_err *err);
/** Forgets the chunk records of @p name (its part was found damaged beyond chunk @p from). */
void mo_ckpt_forget(mo_ckpt *c, const char *name, uint32_t from);
void mo_ckpt_free(mo_ckpt *c);
/** Reads only the header of "<dir>/journal" (for `mosync resume`). */
int mo_ckpt_peek_source(char *out, size_t cap, const char *dir, mo_err *err);

#endif
