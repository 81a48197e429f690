/* MO's legacy DISK framing (spec §1.4): logical bytes cut into 2044-byte chunks, each stored
 * as [u32 LE CRC-32C of the chunk][chunk]; the last chunk is not padded, so a final physical
 * block always holds 5..2048 bytes (1..4 bytes would be a CRC with no content: impossible).
 * Invariants: every logical byte handed out has had its block's CRC verified; the deframer
 * never buffers more than one physical block; pread never buffers more than
 * FRAME_PREAD_BLOCKS blocks, whatever the request size. */
#include "mo/obj_frame.h"

#include <inttypes.h>

#include "mo/hash.h"
#include "mo/sys.h"

/* Blocks read per pread batch: 16 KiB on the stack bounds memory for any request. */
#define FRAME_PREAD_BLOCKS 8
/* Deframer states stored in ->poisoned besides 0 (healthy) and negative error codes. */
#define FRAME_FINISHED 1

uint64_t mo_obj_frame_physical_size(uint64_t logical)
{
    const uint64_t blocks = logical / MO_OBJ_FRAME_CONTENT + (logical % MO_OBJ_FRAME_CONTENT != 0);
    uint64_t p;
    /* blocks*4 cannot overflow (blocks < 2^64/2044); the sum can for absurd sizes */
    if (mo_add_overflow(logical, blocks * 4, &p))
        return UINT64_MAX;
    return p;
}

int mo_obj_frame_logical_size(uint64_t *out, uint64_t physical, mo_err *err)
{
    const uint64_t full = physical / MO_OBJ_FRAME_BLOCK;
    const uint64_t rem = physical % MO_OBJ_FRAME_BLOCK;
    *out = 0;
    if (rem >= 1 && rem <= 4)
        return mo_err_set(err, MO_ECORRUPT,
                          "framed size %" PRIu64 ": final block of %" PRIu64
                          " bytes has no room for content",
                          physical, rem);
    *out = full * MO_OBJ_FRAME_CONTENT + (rem ? rem - 4 : 0);
    return MO_OK;
}

/* Verifies one physical block of @p n (5..2048) bytes that starts at physical block @p idx. */
static int frame_check_block(const uint8_t *blk, size_t n, uint64_t idx, const char *what,
                             mo_err *err)
{
    const uint32_t stored = mo_load_le32(blk);
    const uint32_t crc = mo_crc32c(0, blk + 4, n - 4);
    if (crc != stored)
        return mo_err_set(err, MO_ECHECKSUM,
                          "%s%sblock %" PRIu64 " at physical offset %" PRIu64
                          ": crc32c %08" PRIx32 " != stored %08" PRIx32,
                          what ? what : "", what ? ": " : "", idx, idx * MO_OBJ_FRAME_BLOCK, crc,
                          stored);
    return MO_OK;
}

bool mo_obj_frame_detect(const uint8_t *p, size_t n)
{
    /* The caller passes the whole file or at least its first block. */
    if (!p || n < 5)
        return false;
    if (n > MO_OBJ_FRAME_BLOCK)
        n = MO_OBJ_FRAME_BLOCK;
    return mo_crc32c(0, p + 4, n - 4) == mo_load_le32(p);
}

int mo_obj_frame_encode(mo_buf *out, const void *p, size_t n)
{
    const uint64_t phys = mo_obj_frame_physical_size(n);
    if (phys > SIZE_MAX)
        return MO_ENOMEM;
    uint8_t *dst;
    int rc = mo_buf_grow(out, (size_t)phys, &dst);
    if (rc < 0)
        return rc;
    const uint8_t *src = p;
    while (n > 0) {
        const size_t k = n < MO_OBJ_FRAME_CONTENT ? n : MO_OBJ_FRAME_CONTENT;
        mo_store_le32(dst, mo_crc32c(0, src, k));
        memcpy(dst + 4, src, k);
        dst += 4 + k;
        src += k;
        n -= k;
    }
    return MO_OK;
}

void mo_obj_deframer_init(mo_obj_deframer *d)
{
    d->fill = 0;
    d->phys_pos = 0;
    d->blocks = 0;
    d->poisoned = 0;
}

static int deframer_refuse(const mo_obj_deframer *d, mo_err *err)
{
    if (d->poisoned == FRAME_FINISHED)
        return mo_err_set(err, MO_EINVAL, "deframer already finished; re-init to reuse");
    return mo_err_set(err, d->poisoned,
                      "deframer poisoned by an earlier %s at block %" PRIu64 "; re-init to reuse",
                      mo_code_name(d->poisoned), d->blocks);
}

/* Verifies a complete (or final partial) block and appends its content. */
static int deframer_emit(mo_obj_deframer *d, mo_buf *out, const uint8_t *blk, size_t n,
                         mo_err *err)
{
    int rc = frame_check_block(blk, n, d->blocks, NULL, err);
    if (rc < 0)
        return rc;
    if ((rc = mo_buf_put(out, blk + 4, n - 4)) < 0)
        return mo_err_set(err, MO_ENOMEM, "deframe: %zu bytes", n - 4);
    d->blocks++;
    return MO_OK;
}

int mo_obj_deframer_feed(mo_obj_deframer *d, mo_buf *out, const void *p, size_t n, mo_err *err)
{
    if (d->poisoned)
        return deframer_refuse(d, err);
    const uint8_t *src = p;
    int rc = MO_OK;
    while (n > 0) {
        if (d->fill == 0 && n >= MO_OBJ_FRAME_BLOCK) {
            /* whole blocks straight from the input, no copy */
            if ((rc = deframer_emit(d, out, src, MO_OBJ_FRAME_BLOCK, err)) < 0)
                goto out;
            src += MO_OBJ_FRAME_BLOCK;
            n -= MO_OBJ_FRAME_BLOCK;
            d->phys_pos += MO_OBJ_FRAME_BLOCK;
            continue;
        }
        size_t k = MO_OBJ_FRAME_BLOCK - d->fill;
        if (k > n)
            k = n;
        memcpy(d->blk + d->fill, src, k);
        d->fill += k;
        src += k;
        n -= k;
        d->phys_pos += k;
        if (d->fill == MO_OBJ_FRAME_BLOCK) {
            if ((rc = deframer_emit(d, out, d->blk, MO_OBJ_FRAME_BLOCK, err)) < 0)
                goto out;
            d->fill = 0;
        }
    }
out:
    if (rc < 0)
        d->poisoned = rc;
    return rc;
}

int mo_obj_deframer_finish(mo_obj_deframer *d, mo_buf *out, mo_err *err)
{
    if (d->poisoned)
        return deframer_refuse(d, err);
    int rc = MO_OK;
    if (d->fill > 0 && d->fill <= 4)
        rc = mo_err_set(err, MO_ECORRUPT,
                        "framed stream ends with a %zu-byte block %" PRIu64
                        " at physical offset %" PRIu64 " (no room for content)",
                        d->fill, d->blocks, d->blocks * MO_OBJ_FRAME_BLOCK);
    else if (d->fill > 0)
        rc = deframer_emit(d, out, d->blk, d->fill, err);
    d->fill = 0;
    d->poisoned = rc < 0 ? rc : FRAME_FINISHED;
    return rc;
}

int mo_obj_frame_pread(int fd, uint64_t phys_size, void *buf, size_t n, uint64_t off,
                       const char *what, mo_err *err)
{
    if (!what)
        what = "framed file";
    uint64_t lsize, end;
    int rc = mo_obj_frame_logical_size(&lsize, phys_size, err);
    if (rc < 0) {
        mo_err_prefix(err, "%s: ", what);
        return rc;
    }
    if (mo_add_overflow(off, n, &end) || end > lsize)
        return mo_err_set(err, MO_ETRUNCATED,
                          "%s: logical range [%" PRIu64 ", +%zu) beyond logical size %" PRIu64,
                          what, off, n, lsize);
    if (n == 0)
        return MO_OK;

    uint8_t tmp[FRAME_PREAD_BLOCKS * MO_OBJ_FRAME_BLOCK];
    uint8_t *dst = buf;
    const uint64_t last = (end - 1) / MO_OBJ_FRAME_CONTENT;
    uint64_t blk = off / MO_OBJ_FRAME_CONTENT;
    uint64_t pos = off; /* next logical byte to copy */
    while (blk <= last) {
        uint64_t cnt = last - blk + 1;
        if (cnt > FRAME_PREAD_BLOCKS)
            cnt = FRAME_PREAD_BLOCKS;
        const uint64_t pstart = blk * MO_OBJ_FRAME_BLOCK;
        uint64_t plen = cnt * MO_OBJ_FRAME_BLOCK;
        if (plen > phys_size - pstart)
            plen = phys_size - pstart; /* the final, short block */
        if ((rc = mo_sys_pread_full(fd, tmp, (size_t)plen, pstart, what, err)) < 0)
            return rc;
        for (uint64_t i = 0; i < cnt; i++, blk++) {
            const uint8_t *b = tmp + i * MO_OBJ_FRAME_BLOCK;
            const uint64_t left = plen - i * MO_OBJ_FRAME_BLOCK;
            const size_t bl = left < MO_OBJ_FRAME_BLOCK ? (size_t)left : MO_OBJ_FRAME_BLOCK;
            /* bl >= 5: logical_size rejected a 1..4-byte final block, and the range check
             * keeps blk within the file's blocks */
            if ((rc = frame_check_block(b, bl, blk, what, err)) < 0)
                return rc;
            const uint64_t cbase = blk * MO_OBJ_FRAME_CONTENT; /* logical offset of b+4 */
            const uint64_t from = pos - cbase;
            uint64_t upto = end - cbase;
            if (upto > bl - 4)
                upto = bl - 4;
            memcpy(dst, b + 4 + from, (size_t)(upto - from));
            dst += upto - from;
            pos += upto - from;
        }
    }
    return MO_OK;
}
