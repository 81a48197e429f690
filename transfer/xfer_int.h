/* Private to mo_transfer: the bundle manifest codec (xfer_manifest.c), shared by the exporter
 * (xfer_export.c), the bundle source and the bundle verifier (src_bundle.c). */
#ifndef MO_XFER_INT_H
#define MO_XFER_INT_H

#include "mo/xfer.h"

/* First entry of every bundle. Format (a durable file: magic, version, checksummed trailer):
 *   mosync-bundle 1\n
 *   <42-char name> <size> <xxh3-128: 32 hex> <ObjectStats: 308 hex | ->\n      (per object)
 *   end <count> <xxh3-64 of every preceding byte: 16 hex>\n
 * Lower-case hex, decimal without leading zeros, single spaces, nothing after the trailer. */
#define MO_XFER__MANIFEST_NAME "MANIFEST.mosync"
#define MO_XFER__MANIFEST_MAGIC "mosync-bundle"
#define MO_XFER__MANIFEST_VERSION 1
/* Refuse larger manifests before allocating (about 1.3 million objects). */
#define MO_XFER__MANIFEST_MAX ((uint64_t)512 << 20)

typedef struct mo_xfer__manifest {
    mo_obj_ref *refs; /* in manifest order (= tar order when written by mo_xfer_export) */
    size_t n;
    const mo_obj_ref **by_name; /* refs sorted by name, for lookups */
} mo_xfer__manifest;

/** Starts a manifest in @p out (appends the magic/version line). */
int mo_xfer__manifest_begin(mo_buf *out);
/** Appends one object line; the stats column is "-" unless ref->has_stats. */
int mo_xfer__manifest_add(mo_buf *out, const mo_obj_ref *ref);
/** Appends the trailer covering every byte appended so far. */
int mo_xfer__manifest_end(mo_buf *out, uint64_t count);

/**
 * Parses and checks a whole manifest. @p what names it in messages. MO_ECORRUPT for a missing
 * or wrong trailer (a torn bundle), a malformed line, an invalid or duplicate name, stats that
 * do not decode or name another object; MO_EVERSION for another version; MO_ENOMEM.
 * On failure @p out is empty.
 */
int mo_xfer__manifest_parse(mo_xfer__manifest *out, const void *p, size_t n, const char *what,
                            mo_err *err);
/** Index in refs of @p name, or -1. */
long mo_xfer__manifest_find(const mo_xfer__manifest *m, const char *name);
void mo_xfer__manifest_dispose(mo_xfer__manifest *m);

/* ---------------- src_mysql.c, given object lists (the sync engine's source) ---------------- */

struct mo_sync_want;
struct mo_up_opts;
/**
 * The `mo` source serving exactly @p want (borrowed, n objects; sizes from get_object chunk 0,
 * the chunk size learnt as for a listing) over connections to @p uri + @p password with
 * @p opts. No snapshot, no listing; the identity is set by the caller
 * (mo_src_mysql__set_identity) before the copier runs.
 */
int mo_src_mysql__open_given(mo_src **out, const char *uri, const char *password,
                             const struct mo_up_opts *opts, const char *pubacct,
                             const char *pubname, const struct mo_sync_want *want, size_t n,
                             mo_err *err);
int mo_src_mysql__set_identity(mo_src *s, const char *identity, mo_err *err);

#endif
