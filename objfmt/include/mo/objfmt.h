/**
 * @file mo/objfmt.h
 * MatrixOne object files: meta decoding (V1/V2/V3), a random-access reader over raw or
 * DISK-framed files, the verifier (levels frame, struct, deep) and the writer.
 * Spec: objectio-format.md §2-§4, §9, §12.
 */
#ifndef MO_OBJFMT_H
#define MO_OBJFMT_H

#include "mo/obj_frame.h"
#include "mo/obj_index.h"
#include "mo/obj_types.h"
#include "mo/obj_vec.h"

#define MO_OBJ_HEADER_LEN 64
#define MO_OBJ_FOOTER_LEN 64
#define MO_OBJ_BLKHDR_LEN 179
#define MO_OBJ_COLMETA_LEN 124
#define MO_OBJ_META_HDR_LEN 32
#define MO_OBJ_MAGIC 0xFFFFFFFFull
#define MO_OBJ_VERSION 1

/* special seqnums (§4.5) */
#define MO_OBJ_SEQNUM_ROWID 65535
#define MO_OBJ_SEQNUM_ABORT 65534
#define MO_OBJ_SEQNUM_COMMITTS 65533
#define MO_OBJ_SEQNUM_UPPER 65530
#define MO_OBJ_NO_SORT_KEY 0xFFFF

/** BlockHeader (179 bytes), object-level or per block. */
typedef struct mo_obj_blkhdr {
    uint64_t db_id;
    uint64_t table_id;
    uint8_t block_id[20];
    uint16_t sequence; /* overlaps block_id[18..20) */
    uint32_t rows;
    uint16_t column_count;
    mo_obj_extent meta_location;
    mo_obj_extent bf_extent;
    uint32_t bf_checksum;
    mo_obj_extent zm_area;
    uint32_t zm_checksum;
    uint16_t meta_column_count;
    uint16_t max_seqnum;
    uint16_t start_id;
    uint8_t appendable;
    uint16_t sort_key;
    uint8_t bf_type;
} mo_obj_blkhdr;

/** ColumnMeta (124 bytes). type 0 = column absent. */
typedef struct mo_obj_colmeta {
    uint8_t type;
    uint16_t idx;
    uint32_t ndv;
    uint32_t null_count;
    mo_obj_extent extent;
    uint32_t checksum;
    mo_obj_zm zm;
} mo_obj_colmeta;

typedef struct mo_obj_blockmeta {
    mo_obj_blkhdr hdr;
    mo_obj_colmeta *cols; /* hdr.meta_column_count entries, index = seqnum */
    uint32_t meta_offset; /* offset of this block meta inside the meta blob */
} mo_obj_blockmeta;

/** One slot's objectDataMetaV1. */
typedef struct mo_obj_slotmeta {
    mo_obj_blkhdr hdr;    /* object-level header of this slot */
    mo_obj_colmeta *cols; /* hdr.meta_column_count entries */
    uint32_t block_count; /* BlockIndex count */
    mo_obj_blockmeta *blocks;
    uint32_t blob_offset; /* where this data meta starts inside the meta blob */
    uint32_t blob_len;
} mo_obj_slotmeta;

/** The decoded object meta (owned; free with mo_obj_meta_dispose). */
typedef struct mo_obj_meta {
    uint16_t version; /* IOEntry version: 1, 2 or 3 */
    uint16_t data_meta_count;
    uint32_t data_meta_offset;
    uint16_t tombstone_meta_count;
    uint32_t tombstone_meta_offset;
    uint16_t sub_meta_count; /* K */
    uint32_t slot_count;
    mo_obj_slotmeta *slots;
} mo_obj_meta;

/** Where a structural problem sits, for reports. */
typedef struct mo_obj_where {
    uint64_t offset; /* logical file offset, or offset in the meta blob when in_meta */
    bool in_meta;
    int slot;     /* -1 if n/a */
    int64_t block; /* -1 if n/a */
    int seqnum;   /* -1 if n/a */
    const char *field;
} mo_obj_where;

void mo_obj_blkhdr_decode(mo_obj_blkhdr *out, const uint8_t in[179]);
void mo_obj_blkhdr_encode(uint8_t out[179], const mo_obj_blkhdr *h);
void mo_obj_colmeta_decode(mo_obj_colmeta *out, const uint8_t in[124]);
void mo_obj_colmeta_encode(uint8_t out[124], const mo_obj_colmeta *c);

/**
 * Decodes the decompressed meta blob (starting with its IOEntry header) with every
 * structural rule of spec §9.4. @param where filled on failure.
 * @return MO_OK, MO_ECORRUPT, MO_ETRUNCATED, MO_EVERSION (unknown meta version), MO_ENOMEM.
 */
int mo_obj_meta_decode(mo_obj_meta *out, const uint8_t *blob, size_t len, mo_obj_where *where,
                       mo_err *err);
void mo_obj_meta_dispose(mo_obj_meta *m);

/* ---------------- reader ---------------- */

typedef struct mo_obj_reader mo_obj_reader;

/**
 * Opens an object file for random access; raw or DISK-framed is detected from the first
 * block. Reads and checks the 64-byte header only (magic, version).
 */
int mo_obj_reader_open(mo_obj_reader **out, const char *path, mo_err *err);
/** Same over bytes in memory (borrowed; must outlive the reader). @p name for messages. */
int mo_obj_reader_open_mem(mo_obj_reader **out, const void *p, size_t n, const char *name,
                           mo_err *err);
void mo_obj_reader_free(mo_obj_reader *r);
/** Loads and decodes the meta (idempotent). Errors leave the reader usable for reads. */
int mo_obj_reader_load_meta(mo_obj_reader *r, mo_obj_where *where, mo_err *err);
const mo_obj_meta *mo_obj_reader_meta(const mo_obj_reader *r);
const char *mo_obj_reader_name(const mo_obj_reader *r);
uint64_t mo_obj_reader_size(const mo_obj_reader *r);          /* logical */
uint64_t mo_obj_reader_physical_size(const mo_obj_reader *r); /* on disk */
bool mo_obj_reader_framed(const mo_obj_reader *r);
mo_obj_extent mo_obj_reader_meta_extent(const mo_obj_reader *r);
uint32_t mo_obj_reader_schema_version(const mo_obj_reader *r);
/** Logical bytes [off, off+n) (framed files: CRC-checked per block). */
int mo_obj_reader_read(mo_obj_reader *r, void *buf, size_t n, uint64_t off, mo_err *err);
/**
 * Reads, decompresses and decodes the column chunk of @p seqnum in slot-0 block @p block.
 * The vector borrows @p scratch, which the caller reuses across calls.
 * A seqnum that is absent (beyond MaxSeqnum or type 0) gives MO_ENOTFOUND.
 */
int mo_obj_reader_column(mo_obj_reader *r, mo_obj_vec *out, mo_buf *scratch, uint32_t block,
                         uint16_t seqnum, mo_obj_vec_fault *fault, mo_err *err);

/**
 * The ObjectStats MO's writer would describe this object with (name from the file name when
 * it is a valid object name, else from the meta's block id; flags: appendable from the
 * header, nothing else). Requires a loaded meta.
 */
int mo_obj_reader_stats(const mo_obj_reader *r, mo_obj_stats *out, mo_err *err);

/** Seqnums of the special columns of slot 0, resolved as ResolveSpecialColumnLayout. */
typedef struct mo_obj_special {
    int commit_ts; /* mapped seqnum or -1 */
    int abort;
    int phys_addr;
} mo_obj_special;
void mo_obj_meta_special(mo_obj_special *out, const mo_obj_meta *m);

/* ---------------- verifier ---------------- */

typedef enum mo_obj_level {
    MO_OBJ_LEVEL_FRAME = 1,
    MO_OBJ_LEVEL_STRUCT = 2,
    MO_OBJ_LEVEL_DEEP = 3
} mo_obj_level;

/** Parses "frame" | "struct" | "deep". */
int mo_obj_level_parse(mo_obj_level *out, const char *s);

typedef struct mo_obj_problem {
    int code;           /* exact mo_code */
    const char *object; /* file path or name */
    uint64_t offset;    /* logical offset (or meta-blob offset when in_meta) */
    bool in_meta;
    int slot;
    int64_t block;
    int seqnum;
    const char *field;
    const char *msg;
} mo_obj_problem;

/** Called once per problem; non-zero return stops the verification with MO_EUSER. */
typedef int (*mo_obj_problem_cb)(const mo_obj_problem *p, void *payload);

typedef struct mo_obj_verify_opts {
    mo_obj_level level;
    const mo_obj_stats *stats; /* optional: check every ObjectStats field */
    int pk_seqnum;             /* -1: deduce (sort key, else NDV == rows, else any that passes) */
    unsigned max_problems;     /* 0 = 100 */
} mo_obj_verify_opts;

typedef struct mo_obj_verify_result {
    uint64_t logical_size;
    uint64_t physical_size;
    bool framed;
    uint32_t blocks;
    uint32_t columns;
    uint64_t rows;
    uint64_t chunks_checked;
    uint64_t bf_keys_checked;
    unsigned problems;
    int first_code; /* code of the first problem, MO_OK if none */
} mo_obj_verify_result;

/**
 * Verifies one object at @p opts->level. Problems go to @p cb (may be NULL).
 * @return MO_OK when clean; otherwise the code of the first problem (MO_ECORRUPT,
 * MO_ECHECKSUM, MO_ETRUNCATED, MO_EVERSION), or MO_EIO/MO_ENOMEM for environment errors.
 */
int mo_obj_verify_file(mo_obj_verify_result *out, const char *path, const mo_obj_verify_opts *opts,
                       mo_obj_problem_cb cb, void *payload, mo_err *err);
int mo_obj_verify_mem(mo_obj_verify_result *out, const void *p, size_t n, const char *name,
                      const mo_obj_verify_opts *opts, mo_obj_problem_cb cb, void *payload,
                      mo_err *err);

/**
 * Push-fed verification (libgit2 indexer style): feed the file's bytes in any slicing,
 * then finish. Framing is detected on the first block and checked as bytes arrive; the
 * logical bytes are kept in memory for the struct/deep checks at finish.
 */
typedef struct mo_obj_dec mo_obj_dec;
int mo_obj_dec_new(mo_obj_dec **out, const char *name, const mo_obj_verify_opts *opts);
int mo_obj_dec_feed(mo_obj_dec *d, const void *p, size_t n, mo_err *err);
int mo_obj_dec_finish(mo_obj_dec *d, mo_obj_verify_result *out, mo_obj_problem_cb cb,
                      void *payload, mo_err *err);
void mo_obj_dec_free(mo_obj_dec *d);

/* ---------------- writer ---------------- */

typedef enum mo_obj_kind {
    MO_OBJ_KIND_DATA = 0,       /* CN-style data object */
    MO_OBJ_KIND_APPENDABLE = 1, /* has commit-ts (65533) and abort (65534) columns */
    MO_OBJ_KIND_TOMBSTONE = 2   /* rowid(0), pk(1) [, commit-ts]: HBF on column 0 */
} mo_obj_kind;

typedef struct mo_obj_writer_col {
    mo_obj_type type;
    uint16_t seqnum; /* special seqnums >= 65530 are remapped as MO does */
} mo_obj_writer_col;

/**
 * Test seam: called with each chunk's wire (after the 4-byte IOEntry header, before LZ4)
 * so corruption tests can damage a vector inside an otherwise valid object. @p pos is the
 * column position. Never set in production code.
 */
typedef void (*mo_obj_wire_hook)(mo_buf *wire, size_t pos, uint32_t block, void *payload);

typedef struct mo_obj_writer_opts {
    mo_obj_kind kind;
    int pk_pos;       /* column position of the primary key, -1 for none */
    int sort_key_pos; /* column position of the sort key, -1 for none (0xFFFF) */
    uint32_t schema_version;
    uint8_t stats_flags; /* extra ObjectStats flags: MO_OBJ_STATS_SORTED | _CNCREATED */
    const mo_obj_objectid *id; /* NULL: a fresh UUIDv7, num 0 */
    mo_obj_wire_hook wire_hook; /* tests only */
    void *wire_hook_payload;
} mo_obj_writer_opts;

typedef struct mo_obj_writer mo_obj_writer;

int mo_obj_writer_new(mo_obj_writer **out, const mo_obj_writer_col *cols, size_t ncols,
                      const mo_obj_writer_opts *opts, mo_err *err);
/**
 * Adds one block: @p cols[i] is the vector of column position i, all with the same row
 * count (1..8192). Only the last block may hold fewer than 8192 rows.
 * After an error the writer is poisoned (only _free is valid).
 */
int mo_obj_writer_add_block(mo_obj_writer *w, const mo_obj_vec *cols, mo_err *err);

/**
 * One column chunk of a block given to mo_obj_writer_add_block_raw: a vector, encoded exactly
 * as mo_obj_writer_add_block encodes it, or a chunk as another object stores it.
 */
typedef struct mo_obj_writer_chunk {
    const mo_obj_vec *vec; /* non-NULL: encode this vector; the fields below are ignored */
    const void *data;      /* else the stored LZ4 block: IOEntry {2,2} + the vector wire of this
                              column's type and the block's rows; copied as it is */
    uint32_t clen;         /* its length (> 0) */
    uint32_t ulen;         /* its decompressed length (originSize) */
    uint32_t null_count;   /* the block ColumnMeta's null count */
    mo_obj_zm zm;          /* the block ColumnMeta's zone map */
    const mo_obj_vec *values; /* optional: the stored chunk decoded, for the NDV estimate */
} mo_obj_writer_chunk;

/** One block for mo_obj_writer_add_block_raw. */
typedef struct mo_obj_writer_block {
    uint32_t rows;                   /* 1..8192 */
    const mo_obj_writer_chunk *cols; /* one per column position */
    /* Objects with a key (a PK, or tombstones): the block's filter as stored, of the kind this
     * writer builds (BF type 0 on the PK; HBF type 2 on the rowid for tombstones), copied as it
     * is; or, when @c filter is NULL, the key column's vector, which it is built from. Objects
     * without a key: both NULL. */
    const void *filter;
    size_t filter_len;
    const mo_obj_vec *filter_key;
} mo_obj_writer_block;

/**
 * Adds one block whose chunks are vectors or stored chunks (see mo_obj_writer_chunk). Every
 * rule of mo_obj_writer_add_block holds (row counts, only the last block short, the layout,
 * ObjectStats); the zone map, null count and filter of a stored chunk are the caller's and
 * the writer trusts them: the bytes must decode to the column's type with @p blk->rows rows.
 * A column that receives a stored chunk without its @c values needs mo_obj_writer_set_ndv
 * before finish unless it is the PK (NDV = rows) or a hidden Rowid/TS column of a data object
 * (NDV 0).
 * @return MO_OK; MO_EINVAL (bad block, chunk or filter arguments); MO_ENOMEM.
 * After an error the writer is poisoned (only _free is valid).
 */
int mo_obj_writer_add_block_raw(mo_obj_writer *w, const mo_obj_writer_block *blk, mo_err *err);
/**
 * Sets the object-level NDV of column position @p pos, replacing the writer's HyperLogLog
 * estimate (ignored for the PK and hidden columns, whose NDV the writer fixes).
 * @return MO_OK; MO_EINVAL when @p pos is out of range (the writer is unchanged).
 */
int mo_obj_writer_set_ndv(mo_obj_writer *w, size_t pos, uint32_t ndv, mo_err *err);
/**
 * Lays out the object into @p out (appended) and describes it in @p stats.
 * MO_EINVAL when a column holding stored chunks was given no NDV (the writer is unchanged).
 */
int mo_obj_writer_finish(mo_obj_writer *w, mo_buf *out, mo_obj_stats *stats, mo_err *err);
const mo_obj_objectid *mo_obj_writer_id(const mo_obj_writer *w);
void mo_obj_writer_free(mo_obj_writer *w);

/* ---------------- rewriting ---------------- */

/*
 * What mosync does to upstream objects that cannot be copied byte for byte (ccpr-protocol
 * §5.6, without MO's §7 bugs): an appendable data object becomes a new CN data object that
 * holds only the rows visible at the snapshot, sorted by the table's real sort key, together
 * with the row-offset map that tombstones need; a tombstone object gets its rowids remapped
 * through those maps.
 */

/** Options of mo_obj_rewrite_appendable. */
typedef struct mo_obj_rewrite_opts {
    const mo_obj_writer_col *cols; /* columns to keep, output position order; seqnums < 65530 */
    size_t ncols;
    int sort_key_pos;    /* position in @c cols of the real sort key (PK / cluster key), -1 none */
    int pk_pos;          /* position in @c cols of the PK (bloom filter), -1 none */
    uint8_t stats_flags; /* extra ObjectStats flags (e.g. MO_OBJ_STATS_CNCREATED) */
    const mo_obj_objectid *id; /* NULL: a fresh UUIDv7, num 0 */
    bool no_fast_path;         /* always decode and re-encode every row (tests, comparisons) */
} mo_obj_rewrite_opts;

/** What a rewrite produced. Release with mo_obj_rewrite_result_dispose. */
typedef struct mo_obj_rewrite_result {
    mo_obj_stats stats;      /* of the new object; all zero when nothing was written */
    uint32_t *row_map;       /* owned; appendable rewrites only, else NULL */
    uint32_t row_map_len;    /* upstream ordinals: (blocks-1)*8192 + rows of the last block */
    uint64_t rows_in;        /* rows read */
    uint64_t rows_invisible; /* commit_ts > snapshot or aborted */
    uint64_t rows_orphaned;  /* tombstones only: the deleted row was dropped by a rewrite */
    uint64_t rows_out;       /* rows written */
    bool fast;               /* appendable rewrites: the blocks were carried over (see below) */
    uint64_t chunks_copied;  /* column chunks copied as stored (fast path) */
    uint64_t filters_copied; /* block PK filters copied as stored (fast path) */
} mo_obj_rewrite_result;

/** Frees the row map and zeroes @p res (NULL allowed). */
void mo_obj_rewrite_result_dispose(mo_obj_rewrite_result *res);

/**
 * The columns MO keeps when it rewrites an appendable object: every seqnum 0..MaxSeqnum that
 * has a chunk (DataType != 0) in some block, with the type of the first such chunk. Requires a
 * loaded meta.
 * @param[out] out an mo_malloc'ed array (free with mo_free); NULL on failure
 * @param[out] n_out its length
 * @return MO_OK, MO_ENOTFOUND (no block, or no column), MO_ECORRUPT / MO_ECHECKSUM / MO_EIO
 * reading a chunk, MO_ENOMEM.
 */
int mo_obj_rewrite_columns(mo_obj_writer_col **out, size_t *n_out, mo_obj_reader *r, mo_err *err);

/**
 * Rewrites an appendable data object into a new non-appendable CN data object: rows with
 * commit_ts > @p snapshot or abort = true are dropped, the MVCC columns (commit-ts, abort,
 * physical address) are dropped, @p opts->cols are kept (a seqnum the object lacks becomes
 * NULLs), rows are stably sorted by @p opts->sort_key_pos (NULLs first; -1 keeps the order) and
 * written in full 8192-row blocks, with a PK bloom filter and MO_OBJ_STATS_SORTED set when
 * sorted. The object keeps the reader's schema version.
 *
 * res->row_map[block*8192 + row] is the downstream ordinal of upstream row (block, row), or
 * UINT32_MAX when the row was dropped (or does not exist).
 *
 * Fast path (res->fast): when every row is visible, every block but the last holds 8192 rows,
 * the rows are already in sort-key order (only the sort-key column is decoded to tell) and the
 * object-level column metas of the kept columns are filled, the output's blocks are the
 * input's blocks: each chunk that is LZ4, IOEntry {2,2}, FLAT and of exactly the kept column's
 * type is copied with its zone map and null count without being decoded (res->chunks_copied);
 * any other chunk (constant, another type width, absent, ...) is decoded and encoded as the
 * slow path does. PK filters are copied (res->filters_copied) when the input has type-0 filters
 * (IOEntry {3,2}) and its PK column is the one whose NDV is the row count, else built from the
 * PK column. NDVs come from the input's object metas, except where the input's NDV is the row
 * count on a column that is not the output's PK (maybe the input writer's PK rule, not an
 * estimate): that column is decoded and estimated as the slow path does.
 * The row map is the identity. For an input this writer wrote, the output is byte for byte
 * the slow path's. Copied chunks are not checked beyond their first bytes, like objects copied
 * byte for byte: the input's verification covers them (the sync's default level is deep).
 *
 * @param[out] out the new object is appended (nothing is appended on any failure)
 * @param[out] res zeroed first; filled on MO_OK and MO_ENOTFOUND
 * @param r a reader with its meta loaded (loaded here otherwise)
 * @return MO_OK; MO_ENOTFOUND when no row is visible: NO object is written (MO registers an
 * all-zero ObjectStats here, §7), res->row_map maps every row to UINT32_MAX;
 * MO_EINVAL for bad options; MO_ECORRUPT when the object has no commit-ts column, a chunk
 * disagrees with its block header or a kept column's type; reader codes; MO_ENOMEM.
 * On failure other than MO_ENOTFOUND @p res holds nothing to free.
 */
int mo_obj_rewrite_appendable(mo_buf *out, mo_obj_rewrite_result *res, mo_obj_reader *r,
                              mo_obj_ts snapshot, const mo_obj_rewrite_opts *opts, mo_err *err);

/**
 * Looks up how an upstream data object was rewritten.
 * @param[out] down_objectid the downstream object id
 * @param[out] row_map the row-offset map (borrowed; must stay valid until the rewrite returns)
 * @param[out] nrows its length
 * @return MO_OK; MO_ENOTFOUND when the object was not rewritten (rowids into it stay as they
 * are); any other negative code aborts the rewrite with that code; a positive one with MO_EUSER.
 */
typedef int (*mo_obj_rowid_map_cb)(void *payload, const uint8_t upstream_objectid[18],
                                   uint8_t down_objectid[18], const uint32_t **row_map,
                                   uint32_t *nrows);

/** Options of mo_obj_rewrite_tombstone. */
typedef struct mo_obj_tombstone_opts {
    uint8_t stats_flags;       /* extra ObjectStats flags; MO_OBJ_STATS_SORTED is always set */
    const mo_obj_objectid *id; /* NULL: a fresh UUIDv7, num 0 */
} mo_obj_tombstone_opts;

/**
 * Rewrites a tombstone object (appendable or not: rowid column 0, PK column 1, optional
 * commit-ts/abort) into a new non-appendable tombstone object: rows with commit_ts >
 * @p snapshot or abort = true are dropped; each rowid whose object @p map knows is remapped to
 * down id | u16 (ordinal / 8192) | u32 (ordinal % 8192), and dropped when its row was dropped
 * (UINT32_MAX or beyond the map); commit-ts/abort/physical-address columns are dropped; rows
 * are stably sorted by rowid; the HBF covers the rowid. @p opts may be NULL.
 *
 * @param[out] out the new object is appended (nothing on any failure)
 * @param[out] res zeroed first, then filled (row_map stays NULL)
 * @return MO_OK; MO_ENOTFOUND when no row remains (no object written); MO_ECORRUPT (column 0 is
 * not a rowid, no PK column, a chunk disagrees with its block header, a mapped ordinal beyond
 * 65535 blocks); the callback's codes; reader codes; MO_ENOMEM.
 */
int mo_obj_rewrite_tombstone(mo_buf *out, mo_obj_rewrite_result *res, mo_obj_reader *r,
                             mo_obj_ts snapshot, const mo_obj_tombstone_opts *opts,
                             mo_obj_rowid_map_cb map, void *payload, mo_err *err);

#endif
