/**
 * @file mo/obj_frame.h
 * MO's legacy DISK fileservice framing (spec §1.4): the logical stream cut into 2044-byte
 * chunks, each stored as [u32 LE CRC-32C][chunk], last chunk unpadded, no header.
 */
#ifndef MO_OBJ_FRAME_H
#define MO_OBJ_FRAME_H

#include "mo/base.h"

#define MO_OBJ_FRAME_BLOCK 2048
#define MO_OBJ_FRAME_CONTENT 2044

/** Physical size of a framed file holding @p logical bytes. */
uint64_t mo_obj_frame_physical_size(uint64_t logical);
/**
 * Logical size of a framed file of @p physical bytes. A final block of only 1..4 bytes
 * (no content room) is impossible -> MO_ECORRUPT.
 */
int mo_obj_frame_logical_size(uint64_t *out, uint64_t physical, mo_err *err);
/** checkNotCRCFramed's test: the first block's CRC matches its content. */
bool mo_obj_frame_detect(const uint8_t *p, size_t n);
/** Frames @p n logical bytes, appending to @p out. */
int mo_obj_frame_encode(mo_buf *out, const void *p, size_t n);

/**
 * Push deframer: feed physical bytes in any slicing; logical bytes come out through @p out
 * (appended). Every block's CRC is checked; a mismatch -> MO_ECHECKSUM naming the block
 * index and physical offset. After an error the deframer is poisoned until _reset.
 */
typedef struct mo_obj_deframer {
    uint8_t blk[MO_OBJ_FRAME_BLOCK];
    size_t fill;
    uint64_t phys_pos;  /* physical bytes consumed */
    uint64_t blocks;    /* blocks verified */
    int poisoned;
} mo_obj_deframer;

void mo_obj_deframer_init(mo_obj_deframer *d);
int mo_obj_deframer_feed(mo_obj_deframer *d, mo_buf *out, const void *p, size_t n, mo_err *err);
/** Flushes the final partial block (must hold >= 5 bytes when present). */
int mo_obj_deframer_finish(mo_obj_deframer *d, mo_buf *out, mo_err *err);

/**
 * Random access to logical bytes [off, off+n) of a framed file open on @p fd, verifying the
 * CRC of every physical block touched. @p phys_size is the file's physical size.
 */
int mo_obj_frame_pread(int fd, uint64_t phys_size, void *buf, size_t n, uint64_t off,
                       const char *what, mo_err *err);

#endif
