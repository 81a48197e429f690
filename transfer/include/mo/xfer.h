/**
 * @file mo/xfer.h
 * The transfer engine: object sources and sinks behind const ops tables (curl cfilter
 * style: capability bits, never backend names), the chunked copier with per-chunk XXH3-64
 * and per-object XXH3-128, `.part` files, the checkpoint journal, and resume.
 * Design: ../shared/DESIGN.md "Sources and sinks", "Durable files".
 */
#ifndef MO_XFER_H
#define MO_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include "mo/base.h"
#include "mo/hash.h"
#include "mo/objfmt.h"

/* ---------------- sources ---------------- */

#define MO_SRC_SEEK 0x01   /* reads at any offset, cheaply (pread) */
#define MO_SRC_LIST 0x02   /* can enumerate its objects */
#define MO_SRC_CHUNKS 0x04 /* serves numbered chunks of a size it chooses (MO upstream) */
#define MO_SRC_DIGEST 0x08 /* knows each object's XXH3-128 up front (bundle manifest) */

/** One object a source offers. size = logical bytes (what the sink receives). */
typedef struct mo_obj_ref {
    char name[MO_OBJ_NAME_STR_LEN + 1];
    uint64_t size;
    bool has_digest;
    mo_digest128 digest;
    bool has_stats;
    uint8_t stats[MO_OBJ_STATS_LEN];
} mo_obj_ref;

typedef struct mo_src mo_src;
typedef int (*mo_obj_ref_cb)(const mo_obj_ref *ref, void *payload);

struct mo_src_ops {
    unsigned version; /* MO_SRC_OPS_VERSION; methods are only ever appended */
    const char *scheme; /* "dir" | "bundle" | "mo": logs only */
    uint32_t caps;
    /** Enumerates objects in the source's natural order; non-object entries are counted. */
    int (*list)(mo_src *s, mo_obj_ref_cb cb, void *payload, uint64_t *ignored, mo_err *err);
    /**
     * Reads logical bytes [off, off+n) of object @p name. Sequential sources (no SEEK) serve
     * reads in list order and forward only, skipping what is not asked for.
     */
    int (*read)(mo_src *s, const char *name, uint64_t off, void *buf, size_t n, mo_err *err);
    /** A stable, re-openable identity ("dir:/abs/path"), for the journal. */
    const char *(*identity)(mo_src *s);
    void (*free)(mo_src *s);
    /* ---- version 2 ---- */
    /**
     * MO_SRC_CHUNKS sources: the chunk size they serve (MO: 100 MiB). The copier then cuts
     * objects at exactly these boundaries, so each read() is one upstream chunk.
     * May be NULL for other sources.
     */
    uint64_t (*chunk_size)(mo_src *s);
    /* ---- version 3 ---- */
    /**
     * Optional (NULL: use read): read() without the copy. *p borrows the bytes from the source
     * until release(s, *token) (one token per borrow; the same thread, no other borrow of that
     * object in between). release() fails when the source learns only then that the read was
     * bad (MO_EAGAIN: read again); the bytes must not be trusted before it returned MO_OK. On
     * failure of borrow nothing is held.
     */
    int (*borrow)(mo_src *s, const char *name, uint64_t off, size_t n, const void **p,
                  void **token, mo_err *err);
    int (*release)(mo_src *s, void *token, mo_err *err);
};
#define MO_SRC_OPS_VERSION 3

struct mo_src {
    const struct mo_src_ops *ops;
    void *ctx;
    uint64_t bytes_read; /* payload served: the resume tests' measure */
};

/** A fileservice directory: flat files named by object name, raw or DISK-framed per file. */
int mo_src_dir_open(mo_src **out, const char *path, mo_err *err);
/** A bundle written by mo_xfer_export (tar + manifest), read sequentially with libarchive. */
int mo_src_bundle_open(mo_src **out, const char *path, mo_err *err);
/** Opens by identity or path: "dir:/p", "bundle:/f.tar", a directory, or a *.tar file. */
int mo_src_open(mo_src **out, const char *spec, mo_err *err);
void mo_src_free(mo_src *s);

/* ---------------- sinks ---------------- */

typedef struct mo_sink mo_sink;
typedef struct mo_sink_obj mo_sink_obj; /* one object being written */

struct mo_sink_ops {
    unsigned version;
    const char *scheme;
    uint32_t caps;
    /** Size of the published object @p name, or MO_ENOTFOUND. */
    int (*stat)(mo_sink *k, const char *name, uint64_t *size, mo_err *err);
    /** Opens (creating or reusing) the temp file of @p name; *part_size = bytes already there. */
    int (*begin)(mo_sink *k, mo_sink_obj **out, const mo_obj_ref *ref, uint64_t *part_size,
                 mo_err *err);
    int (*write)(mo_sink_obj *o, uint64_t off, const void *p, size_t n, mo_err *err);
    int (*read)(mo_sink_obj *o, uint64_t off, void *p, size_t n, mo_err *err); /* of the part */
    int (*sync)(mo_sink_obj *o, mo_err *err);
    /** Truncates the part to @p size (drops bytes past the last good chunk). */
    int (*truncate)(mo_sink_obj *o, uint64_t size, mo_err *err);
    /** Path of the temp file for the verifier, or NULL when the sink cannot expose one. */
    const char *(*part_path)(mo_sink_obj *o);
    /** fsync, rename to the final name, fsync the directory; frees @p o. */
    int (*commit)(mo_sink_obj *o, mo_err *err);
    /** Closes without publishing; the part stays for resume. Frees @p o. */
    void (*close)(mo_sink_obj *o);
    /** Reads a published object (for skip-if-same-digest). */
    int (*read_final)(mo_sink *k, const char *name, uint64_t off, void *p, size_t n, mo_err *err);
    /** Directory for the journal and other state, or NULL. */
    const char *(*state_dir)(mo_sink *k);
    void (*free)(mo_sink *k);
    /* ---- version 2 ---- */
    /** Optional: every byte written so far reaches the part file (not necessarily the disk);
     * the copier calls it before it journals a chunk. */
    int (*flush)(mo_sink_obj *o, mo_err *err);
};
#define MO_SINK_OPS_VERSION 2

struct mo_sink {
    const struct mo_sink_ops *ops;
    void *ctx;
};

/** A directory sink; @p framed writes MO's legacy DISK framing at publish time. */
int mo_sink_dir_open(mo_sink **out, const char *path, bool framed, mo_err *err);
/**
 * Makes @p k (a dir sink) publish by rename alone, without fsync of the object or its
 * directory: atomic against a killed process, not against a power loss. Its owner makes what
 * it keeps durable in one batch (mo_sys_fsync_batch) before anything durable refers to it, and
 * runs the copier with mo_xfer_opts.unsynced_sink so that the journal's DONE records are
 * re-checked instead of trusted.
 */
void mo_sink_dir_set_unsynced(mo_sink *k);
/**
 * Makes @p k (a dir sink) write parts of objects of @p min_size bytes or more with O_DIRECT
 * through an aligned 4 MiB buffer where the filesystem allows it: no copy into the page cache,
 * for bulk data not read back soon. Smaller objects stay buffered: their direct write would
 * wait for the device while copying a few pages into the page cache costs next to nothing.
 */
void mo_sink_dir_set_direct(mo_sink *k, uint64_t min_size);
void mo_sink_free(mo_sink *k);

/* ---------------- the copier ---------------- */

typedef struct mo_xfer_opts {
    uint64_t chunk_size;   /* 0 = 8 MiB */
    unsigned jobs;         /* objects in flight, 0 = 1 */
    mo_obj_level verify_level; /* 0 = none; default deep */
    uint64_t bwlimit;      /* bytes/s, 0 = unlimited */
    unsigned retries;      /* for MO_EAGAIN, 0 = 5 */
    bool journal;          /* false: no checkpoint journal (benchmark baseline) */
    int progress;          /* 0 none, 1 terminal line, 2 JSON events on stderr */
    /** The sink publishes without fsync (mo_sink_dir_set_unsynced): DONE records are written
     * without fsync, and a published object they describe is re-hashed against the recorded
     * digest before it is skipped (after a power loss its bytes may not be there). */
    bool unsynced_sink;
    /** Optional: called (from the copier's threads) for each object published by this run,
     * with the XXH3-128 of its bytes as written; the return value is ignored. */
    void (*on_published)(void *payload, const mo_obj_ref *ref, mo_digest128 digest);
    void *payload;
} mo_xfer_opts;

typedef struct mo_xfer_stats {
    uint64_t objects_total, objects_copied, objects_skipped, objects_resumed;
    uint64_t bytes_total, bytes_copied; /* payload read from the source this run */
    uint64_t bytes_rehashed;            /* local .part bytes re-read on resume */
    uint64_t chunks_refetched;          /* chunks whose .part copy failed its digest */
    uint64_t ignored;                   /* non-object entries in the source */
    double seconds;
    double first_byte_seconds;          /* resume latency: start to first byte fetched */
    uint64_t peak_rss_kb;
} mo_xfer_stats;

/**
 * Copies every object of @p src into @p sink, resumably. Errors: MO_ESTALE when the sink's
 * unfinished journal belongs to another job or source (CLI exit 4); MO_ECORRUPT when a
 * fetched object fails verification (it is not published); MO_ENOSPC/MO_EIO from the sink.
 */
int mo_xfer_run(mo_xfer_stats *stats, mo_src *src, mo_sink *sink, const mo_xfer_opts *opts,
                mo_err *err);

/** What a sink's journal says (for `mosync journal` and the crash tests). */
typedef struct mo_xfer_journal_status {
    char source[1024];
    uint64_t objects;      /* objects of the job */
    uint64_t chunk_size;
    uint64_t done;         /* objects recorded as published */
    uint64_t chunks;       /* chunk records */
    uint64_t torn;         /* bytes of torn or corrupt tail */
    bool complete;         /* the job-done record is present */
} mo_xfer_journal_status;

int mo_xfer_journal_status_read(mo_xfer_journal_status *out, mo_sink *sink, mo_err *err);

/** Reads the source identity recorded in the sink's unfinished journal (for `resume`). */
int mo_xfer_journal_source(char *out, size_t cap, mo_sink *sink, mo_err *err);

/** Writes a bundle: tar with MANIFEST first (name, size, XXH3-128, ObjectStats), then objects. */
int mo_xfer_export(mo_src *src, const char *tar_path, mo_err *err);

/* ---------------- bundle verification ---------------- */

/** What mo_xfer_verify_bundle found. */
typedef struct mo_xfer_bundle_result {
    uint64_t objects;    /* listed in the manifest */
    uint64_t objects_ok; /* present once, size and XXH3-128 as listed, verifier clean */
    uint64_t bytes;      /* object payload read */
    unsigned problems;   /* reported through the callback */
    int first_code;      /* code of the first problem, MO_OK if none */
} mo_xfer_bundle_result;

/**
 * Reads the bundle at @p path once, sequentially: the manifest trailer, every entry's name,
 * size and XXH3-128 against the manifest, every listed object present exactly once, and the
 * objfmt verifier at @p level (0: digests only) on each object, with the manifest's
 * ObjectStats when present. Objects are staged one at a time in a temp file under $TMPDIR
 * (memory stays bounded). Problems go to @p cb (may be NULL) with object = "<path>:<name>".
 * @return MO_OK when clean; else the first problem's code (MO_ECORRUPT, MO_ECHECKSUM,
 * MO_ETRUNCATED, MO_EVERSION), MO_EUSER when @p cb stopped it, or an environment error
 * (MO_ENOTFOUND, MO_EIO, MO_ENOMEM, MO_ENOSPC) with nothing reported.
 */
int mo_xfer_verify_bundle(mo_xfer_bundle_result *out, const char *path, mo_obj_level level,
                          mo_obj_problem_cb cb, void *payload, mo_err *err);

#endif
