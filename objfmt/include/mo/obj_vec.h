/**
 * @file mo/obj_vec.h
 * The vector wire format of column chunks (spec §7): FLAT/CONSTANT classes, varlena
 * inline/out-of-line, null bitmaps V2 (and V1 for reading), plus the text form of every
 * storable value used by `mosync dump` / `mkobj --from-csv`.
 */
#ifndef MO_OBJ_VEC_H
#define MO_OBJ_VEC_H

#include "mo/obj_types.h"

#define MO_OBJ_VEC_FLAT 0
#define MO_OBJ_VEC_CONST 1
#define MO_OBJ_VEC_DIST 2

/**
 * A decoded vector. Decoding borrows: data/area/null_words point into the wire buffer,
 * which must outlive the view. null_words are raw LE u64 words (maybe unaligned).
 */
typedef struct mo_obj_vec {
    uint8_t cls;
    mo_obj_type type;
    uint32_t length; /* rows */
    const uint8_t *data;
    uint32_t data_len;
    const uint8_t *area;
    uint32_t area_len;
    const uint8_t *null_words;
    uint64_t null_bits;  /* bitLength */
    uint64_t null_words_bytes;
    int64_t null_count;  /* the bitmap's count field; 0 when no bitmap */
    uint8_t sorted;
} mo_obj_vec;

/** Where a decode failure happened, for verifier reports. */
typedef struct mo_obj_vec_fault {
    uint64_t offset; /* byte offset inside the wire */
    const char *field; /* "class", "type.size", "dataLen", "varlena", "nulls.count", ... */
    uint32_t row;      /* row involved, or UINT32_MAX */
} mo_obj_vec_fault;

/**
 * Decodes and fully validates a vector wire (the bytes after the 4-byte IOEntry header).
 * @param version 2 (i64 count bitmap header) or 1 (i32 flag, count recomputed).
 * @param fault optional; filled on MO_ECORRUPT/MO_ETRUNCATED with the exact spot.
 * Validates: class <= 2, storable Oid + canonical Size, dataLen rules (FLAT = rows*size,
 * CONST = size or 0), bitmap rules (dataBytes, count <= bitLength, count == popcount,
 * no bits at/after bitLength), varlena bounds for non-null rows, array payload multiple of
 * element size, sorted byte <= 1, and no trailing bytes.
 */
int mo_obj_vec_decode(mo_obj_vec *out, const void *wire, size_t len, uint16_t version,
                      mo_obj_vec_fault *fault, mo_err *err);

/** Canonical V2 encoding of @p v appended to @p out (bitmap omitted when null_count == 0). */
int mo_obj_vec_encode(mo_buf *out, const mo_obj_vec *v, mo_err *err);
/** Exact encoded size of @p v. */
size_t mo_obj_vec_encoded_size(const mo_obj_vec *v);

/** True if row @p row is NULL (const-null vectors: every row). */
bool mo_obj_vec_is_null(const mo_obj_vec *v, uint32_t row);
/** True for const vectors without data or with null bit 0 (IsConstNull). */
bool mo_obj_vec_is_const_null(const mo_obj_vec *v);
/** Fixed-size slot of @p row (const vectors: the single slot). Undefined for const-null. */
const uint8_t *mo_obj_vec_slot(const mo_obj_vec *v, uint32_t row);
/** Varlena payload of a non-null row (bounds already checked by decode). */
void mo_obj_vec_bytes(const mo_obj_vec *v, uint32_t row, const uint8_t **p, uint32_t *n);
/**
 * Value bytes of a non-null row: the slot for fixed types, the payload for varlena.
 * This is what zone maps compare and bloom filters hash.
 */
void mo_obj_vec_value(const mo_obj_vec *v, uint32_t row, const uint8_t **p, uint32_t *n);

/**
 * An owned, appendable column used by writers: fixed slots, varlena area and null bitmap.
 * Build with _init/_append_*, view with mo_obj_colbuf_view, release with _dispose.
 */
typedef struct mo_obj_colbuf {
    mo_obj_type type;
    uint32_t rows;
    mo_buf data;
    mo_buf area;
    mo_buf nulls; /* u64 LE words */
    uint64_t null_bits; /* highest null row + 1 */
    int64_t null_count;
} mo_obj_colbuf;

void mo_obj_colbuf_init(mo_obj_colbuf *c, const mo_obj_type *t);
void mo_obj_colbuf_dispose(mo_obj_colbuf *c);
void mo_obj_colbuf_reset(mo_obj_colbuf *c); /* keeps type and capacity */
/** Appends a fixed-size value (exactly type.size bytes). */
int mo_obj_colbuf_append_fixed(mo_obj_colbuf *c, const void *v);
/** Appends a varlena payload (inline when <= 23 bytes). */
int mo_obj_colbuf_append_bytes(mo_obj_colbuf *c, const void *p, size_t n);
/** Appends a NULL row (zero slot). */
int mo_obj_colbuf_append_null(mo_obj_colbuf *c);
/** Appends row @p row of @p v (value or NULL). */
int mo_obj_colbuf_append_from(mo_obj_colbuf *c, const mo_obj_vec *v, uint32_t row);
/**
 * Appends rows [@p first, @p first + @p n) of @p v: the same bytes as that many
 * mo_obj_colbuf_append_from() calls, without their per-row overhead when @p v is FLAT (one copy
 * for fixed-size values without NULLs). MO_ENOMEM or MO_EINVAL (as append_from); on failure
 * @p c holds a prefix of the rows.
 */
int mo_obj_colbuf_append_range(mo_obj_colbuf *c, const mo_obj_vec *v, uint32_t first, uint32_t n);
/** A FLAT view of the buffer (borrowed). */
void mo_obj_colbuf_view(mo_obj_vec *out, const mo_obj_colbuf *c);

/* ---- value text (dump CSV / mkobj --from-csv), spec'd by issue #2 ---- */

/**
 * Appends the text of one non-null value: bool true/false; integers and decimals in decimal
 * text (decimals with their scale); floats shortest round-trip; date YYYY-MM-DD;
 * datetime/timestamp YYYY-MM-DD HH:MM:SS[.ffffff] (timestamp UTC); time [-]HH:MM:SS[.ffffff];
 * char/varchar/text as-is; binary/varbinary/blob/json/geometry/datalink 0x+hex; uuid
 * canonical; TS <physical>-<logical>; Rowid <seg>_<num>_<blk>_<row>; arrays [a,b,...].
 * Fractional digits: the type's scale for time/datetime/timestamp (fsp), none when 0.
 * No CSV quoting here.
 */
int mo_obj_value_format(mo_buf *out, const mo_obj_type *t, const uint8_t *p, uint32_t n);
/**
 * Parses the text of one value (the inverse of mo_obj_value_format) and appends it to @p c.
 * The text "\N" is not handled here (callers map it to NULL).
 */
int mo_obj_value_parse_append(mo_obj_colbuf *c, const char *s, size_t len, mo_err *err);
/** Appends @p s as one RFC 4180 CSV field (quoted when it holds , " CR or LF). */
int mo_obj_csv_field(mo_buf *out, const char *s, size_t len);

#endif
