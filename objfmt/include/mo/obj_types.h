/**
 * @file mo/obj_types.h
 * MatrixOne object identifiers (Segmentid, Objectid, Blockid, Rowid, TS), the 42-character
 * object name, Location strings, extents, IOEntry headers, the column type table and the
 * 154-byte ObjectStats. Spec: objectio-format.md §1, §3, §6, §7 (type table).
 * All multi-byte integers are little-endian on disk.
 */
#ifndef MO_OBJ_TYPES_H
#define MO_OBJ_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mo/base.h"

/* ---------------- identifiers (§1.1) ---------------- */

#define MO_OBJ_SEGID_LEN 16
#define MO_OBJ_OBJECTID_LEN 18
#define MO_OBJ_BLOCKID_LEN 20
#define MO_OBJ_ROWID_LEN 24
#define MO_OBJ_TS_LEN 12
#define MO_OBJ_NAME_STR_LEN 42 /* "<uuid>_<5 digits>" */
#define MO_OBJ_NAME_LEN 60     /* ObjectName: segid | u16 num | 42-char string */
#define MO_OBJ_LOCATION_LEN 79

/** Objectid: 16-byte segment id (UUIDv7) + u16 file number. */
typedef struct mo_obj_objectid {
    uint8_t seg[16];
    uint16_t num;
} mo_obj_objectid;

/** Decoded transaction timestamp: on disk u32 logical @0, i64 physical @4. */
typedef struct mo_obj_ts {
    int64_t physical;
    uint32_t logical;
} mo_obj_ts;

/** Fills a fresh UUIDv7 segment id (48-bit ms clock, version 7, variant 10, random rest). */
int mo_obj_segid_new(uint8_t out[16], mo_err *err);
/** Canonical lower-case hyphenated text (36 chars + NUL). */
void mo_obj_uuid_format(char out[37], const uint8_t u[16]);
/** Strict parse of exactly 36 chars of canonical UUID text (either case of hex). */
int mo_obj_uuid_parse(uint8_t out[16], const char *s, size_t len, mo_err *err);

/** The 42-char file name "<uuid>_<%05u num>" (+ NUL). */
void mo_obj_name_format(char out[43], const mo_obj_objectid *id);
/**
 * Strict parse of a 42-char object name: lower-case canonical UUID, '_', five decimal
 * digits <= 65535. Anything else (other lengths, NUL, '/', upper case) -> MO_EINVAL.
 */
int mo_obj_name_parse(mo_obj_objectid *out, const char *s, size_t len, mo_err *err);
/** True iff @p s (NUL-terminated) is a valid 42-char object name. */
bool mo_obj_name_valid(const char *s);
/** 60-byte ObjectName (§1.2). */
void mo_obj_name_encode(uint8_t out[60], const mo_obj_objectid *id);
/** Decodes and cross-checks the 60-byte ObjectName (string must match the binary id). */
int mo_obj_name_decode(mo_obj_objectid *out, const uint8_t in[60], mo_err *err);
void mo_obj_objectid_encode(uint8_t out[18], const mo_obj_objectid *id);
void mo_obj_objectid_decode(mo_obj_objectid *out, const uint8_t in[18]);
/** Spec ordering: segment memcmp, then num numerically. */
int mo_obj_objectid_cmp(const mo_obj_objectid *a, const mo_obj_objectid *b);

void mo_obj_ts_encode(uint8_t out[12], mo_obj_ts ts);
mo_obj_ts mo_obj_ts_decode(const uint8_t in[12]);
int mo_obj_ts_cmp(mo_obj_ts a, mo_obj_ts b);
/** "<physical>-<logical>" */
void mo_obj_ts_format(char out[48], mo_obj_ts ts);
int mo_obj_ts_parse(mo_obj_ts *out, const char *s, mo_err *err);

/** Rowid bytes from parts: objectid | u16 block | u32 row. */
void mo_obj_rowid_make(uint8_t out[24], const mo_obj_objectid *id, uint16_t block, uint32_t row);
/** "<segment-uuid>_<num>_<block>_<row>" */
void mo_obj_rowid_format(char out[64], const uint8_t rowid[24]);
int mo_obj_rowid_parse(uint8_t out[24], const char *s, mo_err *err);
/** Compare raw Rowid/Blockid bytes: segment memcmp, then numbers (len = 20 or 24). */
int mo_obj_rowid_cmp(const uint8_t *a, const uint8_t *b, size_t len);

/* ---------------- extents, IOEntry (§3) ---------------- */

#define MO_OBJ_EXTENT_LEN 13
#define MO_OBJ_ALG_NONE 0
#define MO_OBJ_ALG_LZ4 1

typedef struct mo_obj_extent {
    uint8_t alg;
    uint32_t offset;
    uint32_t length;
    uint32_t origin_size;
} mo_obj_extent;

void mo_obj_extent_encode(uint8_t out[13], const mo_obj_extent *e);
void mo_obj_extent_decode(mo_obj_extent *out, const uint8_t in[13]);
static inline uint64_t mo_obj_extent_end(const mo_obj_extent *e)
{
    return (uint64_t)e->offset + e->length;
}

/** Location (§1.3): name + meta extent + rows + block sequence. */
typedef struct mo_obj_location {
    mo_obj_objectid id;
    mo_obj_extent extent;
    uint32_t rows;
    uint16_t block;
} mo_obj_location;
/** "<name>_<alg>_<off>_<len>_<origin>_<rows>_<blk>" */
void mo_obj_location_format(char out[128], const mo_obj_location *loc);
int mo_obj_location_parse(mo_obj_location *out, const char *s, mo_err *err);
void mo_obj_location_encode(uint8_t out[79], const mo_obj_location *loc);

/* IOEntryHeader types (§3.3) */
#define MO_OBJ_IOET_META 1
#define MO_OBJ_IOET_COLDATA 2
#define MO_OBJ_IOET_BF 3
#define MO_OBJ_IOET_ZM 4

/**
 * Decompresses one LZ4 raw block with LZ4_decompress_safe, requiring that exactly
 * @p origin_size bytes come out of exactly @p len input bytes (else MO_ECORRUPT).
 */
int mo_obj_lz4_decode(void *dst, size_t origin_size, const void *src, size_t len, mo_err *err);
/**
 * Decompresses only the first @p want bytes of an LZ4 raw block whose whole output is
 * @p origin_size bytes (LZ4_decompress_safe_partial): a chunk's headers without the chunk.
 * The rest of the block is not checked. MO_ECORRUPT when those bytes cannot be produced.
 */
int mo_obj_lz4_decode_prefix(void *dst, size_t want, const void *src, size_t len,
                             size_t origin_size, mo_err *err);
/** LZ4_compress_default into a fresh region appended to @p out; *clen_out = compressed size. */
int mo_obj_lz4_encode(mo_buf *out, const void *src, size_t len, uint32_t *clen_out, mo_err *err);

/* ---------------- column types (§7 type table) ---------------- */

enum {
    MO_T_ANY = 0,
    MO_T_BOOL = 10,
    MO_T_BIT = 11,
    MO_T_INT8 = 20,
    MO_T_INT16 = 21,
    MO_T_INT32 = 22,
    MO_T_INT64 = 23,
    MO_T_INT128 = 24,
    MO_T_UINT8 = 25,
    MO_T_UINT16 = 26,
    MO_T_UINT32 = 27,
    MO_T_UINT64 = 28,
    MO_T_UINT128 = 29,
    MO_T_FLOAT32 = 30,
    MO_T_FLOAT64 = 31,
    MO_T_DECIMAL64 = 32,
    MO_T_DECIMAL128 = 33,
    MO_T_DECIMAL256 = 34,
    MO_T_DATE = 50,
    MO_T_TIME = 51,
    MO_T_DATETIME = 52,
    MO_T_TIMESTAMP = 53,
    MO_T_INTERVAL = 54,
    MO_T_YEAR = 55,
    MO_T_CHAR = 60,
    MO_T_VARCHAR = 61,
    MO_T_JSON = 62,
    MO_T_UUID = 63,
    MO_T_BINARY = 64,
    MO_T_VARBINARY = 65,
    MO_T_ENUM = 66,
    MO_T_GEOMETRY = 67,
    MO_T_GEOMETRY32 = 68,
    MO_T_BLOB = 70,
    MO_T_TEXT = 71,
    MO_T_DATALINK = 72,
    MO_T_TS = 100,
    MO_T_ROWID = 101,
    MO_T_BLOCKID = 102,
    MO_T_OBJECTID = 103,
    MO_T_TUPLE = 201,
    MO_T_VECF32 = 224,
    MO_T_VECF64 = 225,
    MO_T_VECBF16 = 226,
    MO_T_VECF16 = 227,
    MO_T_VECINT8 = 228,
    MO_T_VECUINT8 = 229,
};

/** types.Type (16 bytes on the wire). */
typedef struct mo_obj_type {
    uint8_t oid;
    uint8_t charset;
    uint8_t not_null;
    int32_t size;
    int32_t width;
    int32_t scale;
} mo_obj_type;

#define MO_OBJ_TYPE_LEN 16
#define MO_OBJ_VARLENA_SIZE 24

/** Canonical TypeLen of a storable Oid, or -1 when vectors may not carry it. */
int mo_obj_type_size(uint8_t oid);
/** True for varlena types (Size 24, FixedLength < 0). */
bool mo_obj_type_is_varlena(uint8_t oid);
/** True for vecf32.. arrays (varlena payload of packed elements). */
bool mo_obj_type_is_array(uint8_t oid);
/** Element size of array types (4 for vecf32, 8 for vecf64, 2, 2, 1, 1); 0 otherwise. */
int mo_obj_type_array_elem(uint8_t oid);
/** Lower-case name ("int64", "decimal64", ...), or NULL for unknown Oids. */
const char *mo_obj_type_name(uint8_t oid);
/** Default type for an Oid as MO's T.ToType(): width and charset per §7, scale 0. */
mo_obj_type mo_obj_type_default(uint8_t oid);
/**
 * Parses a type spec: "int64", "varchar(40)", "decimal64(12,2)", "timestamp(6)", "vecf32(3)".
 * @p len is the spec length.
 */
int mo_obj_type_parse(mo_obj_type *out, const char *s, size_t len, mo_err *err);
/** Inverse of mo_obj_type_parse (including width/scale where meaningful). */
void mo_obj_type_format(char out[48], const mo_obj_type *t);
void mo_obj_type_encode(uint8_t out[16], const mo_obj_type *t);
/** Decodes and validates Oid storability and canonical Size. */
int mo_obj_type_decode(mo_obj_type *out, const uint8_t in[16], mo_err *err);

/* ---------------- ObjectStats (§6) ---------------- */

#define MO_OBJ_STATS_LEN 154
#define MO_OBJ_STATS_APPENDABLE 0x01
#define MO_OBJ_STATS_SORTED 0x02
#define MO_OBJ_STATS_CNCREATED 0x04
#define MO_OBJ_STATS_CNDELETED 0x08

/** Decoded ObjectStats; mo_obj_stats_encode/decode convert to/from the 154 bytes. */
typedef struct mo_obj_stats {
    mo_obj_objectid id;
    mo_obj_extent extent; /* meta extent */
    uint32_t rows;
    uint32_t block_count;
    uint8_t sort_key_zm[64];
    uint32_t size;
    uint32_t origin_size;
    uint8_t flags; /* bits 0..3 flags, bits 5..7 level */
} mo_obj_stats;

void mo_obj_stats_encode(uint8_t out[154], const mo_obj_stats *s);
/** Decodes; the 42-char name must be valid and agree with the binary id (else MO_ECORRUPT). */
int mo_obj_stats_decode(mo_obj_stats *out, const uint8_t in[154], mo_err *err);
/** Merge level (bits 5..7). */
static inline int mo_obj_stats_level(const mo_obj_stats *s)
{
    return s->flags >> 5;
}
/** Sets the level, clamped to 0..7 like MO's SetLevel; other flag bits kept. */
void mo_obj_stats_set_level(mo_obj_stats *s, int level);
/** Rows of block @p blk as MO derives them from stats: 8192 each but the last. */
uint32_t mo_obj_stats_block_rows(const mo_obj_stats *s, uint32_t blk);

#define MO_OBJ_BLOCK_MAX_ROWS 8192

#endif
