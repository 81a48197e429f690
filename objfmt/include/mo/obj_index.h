/**
 * @file mo/obj_index.h
 * Zone maps (64 bytes, spec §5.1) and bloom filters (spec §5.2): Binary Fuse 8 (type 0),
 * prefix (type 1) and hybrid (type 2) filters, bit-compatible with MO's readers.
 */
#ifndef MO_OBJ_INDEX_H
#define MO_OBJ_INDEX_H

#include "mo/obj_vec.h"

/* ---------------- zone maps ---------------- */

#define MO_OBJ_ZM_LEN 64

typedef struct mo_obj_zm {
    uint8_t b[64];
} mo_obj_zm;

/** NewZM(oid, scale): type byte, scale bits, fixed-size length bytes; not initialized. */
void mo_obj_zm_init(mo_obj_zm *zm, uint8_t oid, uint8_t scale);
bool mo_obj_zm_initialized(const mo_obj_zm *zm);
/** UpdateZM(zm, v) exactly as MO (string truncation to 30, +inf flag, increment). */
void mo_obj_zm_update(mo_obj_zm *zm, const uint8_t *v, size_t n);
/**
 * Compares two values of type @p oid the way MO's compute.Compare does (numeric per type,
 * signed decimals, TS/Rowid by parts, bytes.Compare for varlena). <0, 0, >0.
 */
int mo_obj_value_cmp(uint8_t oid, const uint8_t *a, size_t an, const uint8_t *b, size_t bn);
/**
 * Block zone map of a vector as MO's writer builds it: NewZM(oid, scale), UpdateZM(min),
 * UpdateZM(max) over non-null values (NaN skipped; bool min = max = AND unless
 * @p bool_max_or), then the sum for integer/float/decimal64/bit types.
 */
void mo_obj_zm_from_vec(mo_obj_zm *out, const mo_obj_vec *v, uint8_t scale, bool bool_max_or);
/** Merges a block ZM into an object ZM (UpdateZm of OU/write_index.go, incl. the sum quirk). */
void mo_obj_zm_merge(mo_obj_zm *obj, const mo_obj_zm *blk);
/**
 * Semantic equality: type, scale, initialized flag, min/max by their lengths (stale bytes
 * after the lengths ignored), the +inf flag, and the sum where the type has one.
 */
bool mo_obj_zm_equal(const mo_obj_zm *a, const mo_obj_zm *b);
/** min/max value bytes and lengths (valid only when initialized). */
void mo_obj_zm_min(const mo_obj_zm *zm, const uint8_t **p, size_t *n);
void mo_obj_zm_max(const mo_obj_zm *zm, const uint8_t **p, size_t *n, bool *max_inf);
/** True if the type carries a sum in bytes 8..16. */
bool mo_obj_zm_has_sum(uint8_t oid);

/* ---------------- bloom filters ---------------- */

#define MO_OBJ_BF_PLAIN 0  /* Binary Fuse 8 */
#define MO_OBJ_BF_PREFIX 1 /* u8 prefix fn id + BF over prefix */
#define MO_OBJ_BF_HYBRID 2 /* len1 len2 len3 | PBF(obj) | PBF(blk) | BF(full) */

#define MO_OBJ_PREFIX_OBJECT 0 /* first 18 bytes */
#define MO_OBJ_PREFIX_BLOCK 1  /* first 20 bytes */

/** Parsed Binary Fuse 8 filter (borrows the fingerprints). */
typedef struct mo_obj_bfuse {
    uint64_t seed;
    uint32_t segment_length;
    uint32_t segment_length_mask;
    uint32_t segment_count;
    uint32_t segment_count_length;
    const uint8_t *fingerprints;
    size_t fingerprints_len;
} mo_obj_bfuse;

/** Key of a value: xxhash64 with seed 0 of its bytes. */
uint64_t mo_obj_bf_key(const uint8_t *p, size_t n);
/**
 * Builds a Binary Fuse 8 filter over @p keys (duplicates allowed) and appends its 24-byte
 * header + fingerprints to @p out, in MO's serialization.
 */
int mo_obj_bfuse_build(mo_buf *out, const uint64_t *keys, size_t n, mo_err *err);
/** Parses and validates (power-of-two segment length, mask, fingerprint count). */
int mo_obj_bfuse_parse(mo_obj_bfuse *out, const uint8_t *p, size_t n, mo_err *err);
bool mo_obj_bfuse_contains(const mo_obj_bfuse *f, uint64_t key);
/**
 * Tests @p n keys of @p stride bytes each, stored back to back at @p keys (a fixed-width
 * column's value array), against @p f: the same answer as
 * mo_obj_bfuse_contains(f, mo_obj_bf_key(keys + i * stride, stride)) for each i, in one loop.
 * @return the index of the first key that is absent, or @p n when all are present.
 */
size_t mo_obj_bfuse_first_miss(const mo_obj_bfuse *f, const uint8_t *keys, size_t stride,
                               size_t n);

/**
 * Builds the filter of one block column as MO's writer does, appended to @p out:
 * type 0 over every row's value bytes (NULL varlena rows hash the empty string, NULL fixed
 * rows their slot); type 2 (tombstones) over the rowid column with object/block prefixes.
 */
int mo_obj_filter_build(mo_buf *out, uint8_t bf_type, const mo_obj_vec *v, mo_err *err);
/**
 * A serialized filter of any type, parsed once (borrows the filter bytes), so that many
 * values can be tested without re-validating it: type 0 uses @c full; type 1 @c l1 with
 * prefix length @c plen1; type 2 all three levels.
 */
typedef struct mo_obj_filter {
    uint8_t type;
    int plen1, plen2;
    mo_obj_bfuse l1, l2, full;
} mo_obj_filter;

/** Parses and validates a filter of type @p bf_type (errors as mo_obj_filter_test). */
int mo_obj_filter_parse(mo_obj_filter *out, uint8_t bf_type, const uint8_t *filter, size_t flen,
                        mo_err *err);
/**
 * Tests value bytes against a parsed filter: same answer and same MO_EINVAL for values of
 * the wrong size as mo_obj_filter_test.
 */
int mo_obj_filter_contains(const mo_obj_filter *f, const uint8_t *v, size_t n, bool *present_out,
                           mo_err *err);

/**
 * Tests value bytes against a serialized filter of type @p bf_type. For HBF the value is a
 * 24-byte rowid and all three levels must pass. Malformed filter -> MO_ECORRUPT.
 * @param present_out set to true/false.
 */
int mo_obj_filter_test(bool *present_out, uint8_t bf_type, const uint8_t *filter, size_t flen,
                       const uint8_t *v, size_t n, mo_err *err);

#endif
