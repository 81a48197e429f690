/* The checkpoint journal: "<sink>/.mosync/ckpt/journal".
 *
 *   header : "MOSYNCJ1" | u32 version=1 | u32 payload_len | payload | u64 xxh3_64(all before)
 *   payload: u64 chunk_size | 16B list digest | u64 objects | u16 id_len | identity
 *   record : u8 type | u8 0 | u16 len | payload[len] | u64 xxh3_64(type..payload)
 *     1 CHUNK  name[42] u32 idx u64 off u32 len u64 xxh3_64(chunk)
 *     2 DONE   name[42] u64 size 16B xxh3_128
 *     3 JOB    u64 objects
 *
 * A chunk record is written right after its bytes reach the part file (both in the page
 * cache, so a killed process loses at most the chunk in flight); the journal is fsynced in
 * batches (about once a second, and at every publish) to bound what a power loss can take,
 * the part only at publish. Chunk
 * records are claims, not trust: on resume every recorded chunk of a part is re-hashed
 * (which also rebuilds the object digest) and fetched again if it does not match. DONE and
 * JOB records are fsynced at once, after the rename they describe is durable (with an unsynced
 * sink, DONE records are not fsynced and are only claims: the copier re-hashes the object). Replay stops
 * at the first record that fails its checksum (torn tail): reported and cut, never
 * trusted. A zero checksum is a failure like any other. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mo/sys.h"
#include "xfer_ckpt.h"

#define CK_MAGIC "MOSYNCJ1"
#define CK_VERSION 1
#define REC_CHUNK 1
#define REC_DONE 2
#define REC_JOB 3

typedef struct ck_entry {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    mo_ckpt_obj obj;
} ck_entry;

struct mo_ckpt {
    char path[PATH_MAX];
    int fd;
    uint64_t end; /* append offset */
    ck_entry *ents;
    size_t n, cap;
    size_t *index; /* open-addressing table of ents indices + 1 */
    uint64_t records; /* chunk records replayed */
    size_t index_cap;
};

static uint64_t name_hash(const char *name)
{
    return mo_xxh3_64(name, MO_OBJ_NAME_STR_LEN);
}

static ck_entry *ck_find(mo_ckpt *c, const char *name, bool create)
{
    if (c->index_cap) {
        for (size_t i = name_hash(name) & (c->index_cap - 1);; i = (i + 1) & (c->index_cap - 1)) {
            size_t v = c->index[i];
            if (!v)
                break;
            if (!memcmp(c->ents[v - 1].name, name, MO_OBJ_NAME_STR_LEN))
                return &c->ents[v - 1];
        }
    }
    if (!create)
        return NULL;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        ck_entry *e = mo_realloc(c->ents, cap * sizeof(*e));
        if (!e)
            return NULL;
        c->ents = e;
        c->cap = cap;
    }
    if ((c->n + 1) * 2 > c->index_cap) {
        size_t icap = c->index_cap ? c->index_cap * 2 : 128;
        while ((c->n + 1) * 2 > icap)
            icap *= 2;
        size_t *idx = mo_calloc(icap, sizeof(*idx));
        if (!idx)
            return NULL;
        for (size_t k = 0; k < c->n; k++) {
            size_t i = name_hash(c->ents[k].name) & (icap - 1);
            while (idx[i])
                i = (i + 1) & (icap - 1);
            idx[i] = k + 1;
        }
        mo_free(c->index);
        c->index = idx;
        c->index_cap = icap;
    }
    ck_entry *e = &c->ents[c->n];
    memset(e, 0, sizeof(*e));
    memcpy(e->name, name, MO_OBJ_NAME_STR_LEN);
    size_t i = name_hash(name) & (c->index_cap - 1);
    while (c->index[i])
        i = (i + 1) & (c->index_cap - 1);
    c->index[i] = ++c->n;
    return e;
}

static int obj_set_chunk(mo_ckpt_obj *o, uint32_t idx, uint64_t off, uint32_t len, uint64_t hash)
{
    if (idx >= o->cap) {
        uint32_t cap = o->cap ? o->cap : 16;
        while (cap <= idx)
            cap *= 2;
        struct mo_ckpt_chunk *ch = mo_realloc(o->chunk, cap * sizeof(*ch));
        if (!ch)
            return MO_ENOMEM;
        memset(ch + o->cap, 0, (cap - o->cap) * sizeof(*ch));
        o->chunk = ch;
        o->cap = cap;
    }
    o->chunk[idx].off = off;
    o->chunk[idx].len = len;
    o->chunk[idx].hash = hash;
    if (idx + 1 > o->nchunks)
        o->nchunks = idx + 1;
    return MO_OK;
}

static void encode_header(mo_buf *b, const mo_ckpt_job *job)
{
    size_t idl = strlen(job->source);
    mo_buf_put(b, CK_MAGIC, 8);
    mo_buf_put_le32(b, CK_VERSION);
    mo_buf_put_le32(b, (uint32_t)(8 + 16 + 8 + 2 + idl));
    mo_buf_put_le64(b, job->chunk_size);
    mo_buf_put_le64(b, job->list.lo);
    mo_buf_put_le64(b, job->list.hi);
    mo_buf_put_le64(b, job->objects);
    mo_buf_put_le16(b, (uint16_t)idl);
    mo_buf_put(b, job->source, idl);
    mo_buf_put_le64(b, mo_xxh3_64(b->ptr, b->len));
}

/* Parses the header at the start of @p p; fills *hdr_len and the job fields. */
static int decode_header(const uint8_t *p, size_t n, size_t *hdr_len, mo_ckpt_job *job,
                         char *idbuf, size_t idcap, const char *path, mo_err *err)
{
    if (n < 16 || memcmp(p, CK_MAGIC, 8))
        return mo_err_set(err, MO_ESTALE, "%s: not a mosync journal (bad magic)", path);
    if (mo_load_le32(p + 8) != CK_VERSION)
        return mo_err_set(err, MO_ESTALE, "%s: journal version %u (known: 1)", path,
                          mo_load_le32(p + 8));
    uint32_t pl = mo_load_le32(p + 12);
    if (pl < 34 || pl > 8192 || n < 16 + (size_t)pl + 8)
        return mo_err_set(err, MO_ESTALE, "%s: journal header torn or corrupt", path);
    if (mo_load_le64(p + 16 + pl) != mo_xxh3_64(p, 16 + pl))
        return mo_err_set(err, MO_ESTALE,
                          "%s: journal header fails its checksum; cannot tell which job it "
                          "belongs to (remove it to start over)",
                          path);
    const uint8_t *q = p + 16;
    job->chunk_size = mo_load_le64(q);
    job->list.lo = mo_load_le64(q + 8);
    job->list.hi = mo_load_le64(q + 16);
    job->objects = mo_load_le64(q + 24);
    uint16_t idl = mo_load_le16(q + 32);
    if (34u + idl != pl || idl >= idcap)
        return mo_err_set(err, MO_ESTALE, "%s: journal header identity length %u", path, idl);
    memcpy(idbuf, q + 34, idl);
    idbuf[idl] = 0;
    job->source = idbuf;
    *hdr_len = 16 + pl + 8;
    return MO_OK;
}

static int ck_append(mo_ckpt *c, uint8_t type, const uint8_t *payload, uint16_t len, bool sync,
                     mo_err *err)
{
    uint8_t rec[128];
    rec[0] = type;
    rec[1] = 0;
    mo_store_le16(rec + 2, len);
    memcpy(rec + 4, payload, len);
    mo_store_le64(rec + 4 + len, mo_xxh3_64(rec, 4 + (size_t)len));
    size_t n = 4 + (size_t)len + 8;
    int rc = mo_sys_pwrite_full(c->fd, rec, n, c->end, c->path, err);
    if (rc == MO_OK && sync && mo_sys_fsync(c->fd) < 0)
        rc = mo_err_sys(err, errno == ENOSPC ? MO_ENOSPC : MO_EIO, errno, "%s: fsync", c->path);
    if (rc == MO_OK)
        c->end += n;
    return rc;
}

static int replay(mo_ckpt *c, const uint8_t *p, size_t n, size_t pos, uint64_t *torn, bool *job_done,
                  mo_err *err)
{
    *job_done = false;
    c->records = 0;
    while (pos < n) {
        if (n - pos < 12)
            break;
        uint16_t len = mo_load_le16(p + pos + 2);
        if (n - pos < 12 + (size_t)len)
            break;
        uint64_t want = mo_load_le64(p + pos + 4 + len);
        if (want != mo_xxh3_64(p + pos, 4 + (size_t)len))
            break;
        const uint8_t *q = p + pos + 4;
        uint8_t type = p[pos];
        char name[MO_OBJ_NAME_STR_LEN + 1];
        if ((type == REC_CHUNK && len == 42 + 4 + 8 + 4 + 8) || (type == REC_DONE && len == 42 + 8 + 16)) {
            memcpy(name, q, 42);
            name[42] = 0;
            if (!mo_obj_name_valid(name))
                break;
            ck_entry *e = ck_find(c, name, true);
            if (!e)
                return mo_err_set(err, MO_ENOMEM, "journal index");
            if (type == REC_CHUNK) {
                if (obj_set_chunk(&e->obj, mo_load_le32(q + 42), mo_load_le64(q + 46),
                                  mo_load_le32(q + 54), mo_load_le64(q + 58)) < 0)
                    return mo_err_set(err, MO_ENOMEM, "journal chunks");
            } else {
                e->obj.done = true;
                e->obj.size = mo_load_le64(q + 42);
                e->obj.digest.lo = mo_load_le64(q + 50);
                e->obj.digest.hi = mo_load_le64(q + 58);
            }
            c->records += type == REC_CHUNK;
        } else if (type == REC_JOB && len == 8) {
            *job_done = true;
        } else {
            break;
        }
        pos += 12 + len;
    }
    *torn = n - pos;
    c->end = pos;
    return MO_OK;
}

static void ck_reset(mo_ckpt *c)
{
    for (size_t i = 0; i < c->n; i++)
        mo_free(c->ents[i].obj.chunk);
    c->n = 0;
    if (c->index)
        memset(c->index, 0, c->index_cap * sizeof(*c->index));
}

int mo_ckpt_open(mo_ckpt **out, const char *dir, const mo_ckpt_job *job, uint64_t *torn_out,
                 mo_err *err)
{
    *out = NULL;
    *torn_out = 0;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return mo_err_sys(err, MO_EIO, errno, "%s: mkdir", dir);
    mo_ckpt *c = mo_calloc(1, sizeof(*c));
    if (!c)
        return mo_err_set(err, MO_ENOMEM, "journal");
    c->fd = -1;
    snprintf(c->path, sizeof(c->path), "%s/journal", dir);
    uint8_t *data = NULL;
    size_t n = 0;
    int rc = mo_sys_read_file(&data, &n, c->path, err);
    if (rc == MO_ENOTFOUND || (rc == MO_OK && n == 0)) {
        rc = MO_OK;
    } else if (rc == MO_OK) {
        mo_ckpt_job old = {0};
        char oldid[8192];
        size_t hl = 0;
        rc = decode_header(data, n, &hl, &old, oldid, sizeof(oldid), c->path, err);
        bool job_done = false;
        if (rc == MO_OK)
            rc = replay(c, data, n, hl, torn_out, &job_done, err);
        if (rc == MO_OK) {
            bool same = !strcmp(old.source, job->source) && old.chunk_size == job->chunk_size &&
                        old.list.lo == job->list.lo && old.list.hi == job->list.hi &&
                        old.objects == job->objects;
            if (job_done && !same) {
                /* a finished job: keep it for the record, start a new journal */
                char arch[PATH_MAX + 32];
                snprintf(arch, sizeof(arch), "%s.%lld.done", c->path, (long long)time(NULL));
                if (mo_sys_rename(c->path, arch) < 0)
                    rc = mo_err_sys(err, MO_EIO, errno, "rename %s", c->path);
                ck_reset(c);
                c->end = 0;
                n = 0;
            } else if (!same) {
                rc = mo_err_set(err, MO_ESTALE,
                                "%s belongs to another unfinished job (source %s, %llu objects, "
                                "chunk %llu) than this one (source %s, %llu objects, chunk %llu); "
                                "finish it with `mosync resume` or remove it",
                                c->path, old.source, (unsigned long long)old.objects,
                                (unsigned long long)old.chunk_size, job->source,
                                (unsigned long long)job->objects,
                                (unsigned long long)job->chunk_size);
            }
        }
    }
    mo_free(data);
    if (rc < 0)
        goto fail;
    c->fd = mo_sys_open(c->path, O_RDWR | O_CREAT, 0644);
    if (c->fd < 0) {
        rc = mo_err_sys(err, MO_EIO, errno, "%s: open", c->path);
        goto fail;
    }
    if (c->end == 0) {
        mo_buf h = MO_BUF_INIT;
        encode_header(&h, job);
        if (!h.ptr) {
            rc = mo_err_set(err, MO_ENOMEM, "journal header");
            goto fail;
        }
        rc = mo_sys_pwrite_full(c->fd, h.ptr, h.len, 0, c->path, err);
        c->end = h.len;
        mo_buf_dispose(&h);
        if (rc == MO_OK && ftruncate(c->fd, (off_t)c->end) < 0)
            rc = mo_err_sys(err, MO_EIO, errno, "%s: truncate", c->path);
        if (rc == MO_OK && mo_sys_fsync(c->fd) < 0)
            rc = mo_err_sys(err, MO_EIO, errno, "%s: fsync", c->path);
        if (rc == MO_OK)
            rc = mo_sys_fsync_dir_of(c->path, err);
    } else if (*torn_out) {
        /* cut the torn tail so new records follow the valid prefix */
        if (ftruncate(c->fd, (off_t)c->end) < 0 || mo_sys_fsync(c->fd) < 0)
            rc = mo_err_sys(err, MO_EIO, errno, "%s: truncate torn tail", c->path);
    }
    if (rc < 0)
        goto fail;
    *out = c;
    return MO_OK;
fail:
    mo_ckpt_free(c);
    return rc;
}

const mo_ckpt_obj *mo_ckpt_get(mo_ckpt *c, const char *name)
{
    ck_entry *e = ck_find(c, name, false);
    return e ? &e->obj : NULL;
}

int mo_ckpt_chunk(mo_ckpt *c, const char *name, uint32_t idx, uint64_t off, uint32_t len,
                  uint64_t hash, mo_err *err)
{
    uint8_t p[66];
    memcpy(p, name, 42);
    mo_store_le32(p + 42, idx);
    mo_store_le64(p + 46, off);
    mo_store_le32(p + 54, len);
    mo_store_le64(p + 58, hash);
    int rc = ck_append(c, REC_CHUNK, p, 66, false, err);
    if (rc < 0)
        return rc;
    ck_entry *e = ck_find(c, name, true);
    if (!e || obj_set_chunk(&e->obj, idx, off, len, hash) < 0)
        return mo_err_set(err, MO_ENOMEM, "journal index");
    return MO_OK;
}

int mo_ckpt_done(mo_ckpt *c, const char *name, uint64_t size, mo_digest128 d, bool sync,
                 mo_err *err)
{
    uint8_t p[66];
    memcpy(p, name, 42);
    mo_store_le64(p + 42, size);
    mo_store_le64(p + 50, d.lo);
    mo_store_le64(p + 58, d.hi);
    int rc = ck_append(c, REC_DONE, p, 66, sync, err);
    if (rc < 0)
        return rc;
    ck_entry *e = ck_find(c, name, true);
    if (!e)
        return mo_err_set(err, MO_ENOMEM, "journal index");
    e->obj.done = true;
    e->obj.size = size;
    e->obj.digest = d;
    return MO_OK;
}

int mo_ckpt_job_done(mo_ckpt *c, mo_err *err)
{
    uint8_t p[8];
    mo_store_le64(p, c->n);
    return ck_append(c, REC_JOB, p, 8, true, err);
}

int mo_ckpt_sync(mo_ckpt *c, mo_err *err)
{
    if (mo_sys_fsync(c->fd) < 0)
        return mo_err_sys(err, errno == ENOSPC ? MO_ENOSPC : MO_EIO, errno, "%s: fsync", c->path);
    return MO_OK;
}

void mo_ckpt_forget(mo_ckpt *c, const char *name, uint32_t from)
{
    ck_entry *e = ck_find(c, name, false);
    if (!e)
        return;
    for (uint32_t i = from; i < e->obj.nchunks; i++)
        e->obj.chunk[i].len = 0;
    if (from < e->obj.nchunks)
        e->obj.nchunks = from;
}

void mo_ckpt_free(mo_ckpt *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        mo_sys_close(c->fd);
    ck_reset(c);
    mo_free(c->ents);
    mo_free(c->index);
    mo_free(c);
}

int mo_ckpt_peek_source(char *out, size_t cap, const char *dir, mo_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/journal", dir);
    uint8_t *data;
    size_t n;
    int rc = mo_sys_read_file(&data, &n, path, err);
    if (rc < 0)
        return rc == MO_ENOTFOUND ? mo_err_set(err, MO_ENOTFOUND, "%s: no journal to resume", path)
                                  : rc;
    mo_ckpt_job job = {0};
    size_t hl = 0;
    rc = decode_header(data, n, &hl, &job, out, cap, path, err);
    mo_free(data);
    return rc;
}

int mo_xfer_journal_status_read(mo_xfer_journal_status *out, mo_sink *sink, mo_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *sd = sink->ops->state_dir(sink);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/ckpt/journal", sd ? sd : ".");
    uint8_t *data;
    size_t n;
    int rc = mo_sys_read_file(&data, &n, path, err);
    if (rc < 0)
        return rc;
    mo_ckpt c;
    memset(&c, 0, sizeof(c));
    mo_ckpt_job job = {0};
    size_t hl = 0;
    bool job_done = false;
    rc = decode_header(data, n, &hl, &job, out->source, sizeof(out->source), path, err);
    if (rc == MO_OK)
        rc = replay(&c, data, n, hl, &out->torn, &job_done, err);
    if (rc == MO_OK) {
        out->objects = job.objects;
        out->chunk_size = job.chunk_size;
        out->chunks = c.records;
        out->complete = job_done;
        for (size_t i = 0; i < c.n; i++)
            out->done += c.ents[i].obj.done;
    }
    ck_reset(&c);
    mo_free(c.ents);
    mo_free(c.index);
    mo_free(data);
    return rc;
}
