/* Fuzz target for the legacy DISK deframer (objfmt/obj_frame.c).
 * Byte 0 is control, the rest is the physical stream:
 *   bit 0    patch a valid CRC-32C into every 2048-byte block first (libgit2's packfile trick),
 *            so inputs get past the checksum and exercise the content and length paths;
 *   bits 1-4 slice size for feeding, from the table below (0 = everything at once);
 *   bit 5    vary the slice size pseudo-randomly around that value.
 * Oracles: the result (code and bytes) does not depend on the slicing; success means the
 * output is exactly the blocks' contents and re-encodes to the input; failure is only
 * MO_ECHECKSUM or MO_ECORRUPT (for a 1..4-byte final block), as the size formula says. */
#include <string.h>

#include "mo/hash.h"
#include "mo/obj_frame.h"
#include "mo_fuzz.h"

static const size_t slice_sizes[16] = {0,    1,    2,    3,    5,    7,    64,   511,
                                       2043, 2044, 2047, 2048, 2049, 4095, 4096, 6000};

static int deframe(mo_buf *out, const uint8_t *p, size_t n, size_t slice, bool vary,
                   uint32_t seed)
{
    mo_obj_deframer d;
    mo_obj_deframer_init(&d);
    mo_err err;
    size_t pos = 0;
    int rc = MO_OK;
    while (pos < n) {
        size_t k = slice ? slice : n;
        if (vary) {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 8) % (2 * k);
        }
        if (k > n - pos)
            k = n - pos;
        if ((rc = mo_obj_deframer_feed(&d, out, p + pos, k, &err)) < 0)
            break;
        MO_FUZZ_CHECK(d.phys_pos == pos + k);
        pos += k;
    }
    if (rc == MO_OK)
        rc = mo_obj_deframer_finish(&d, out, &err);
    if (rc < 0) {
        MO_FUZZ_CHECK(err.code == rc && err.msg[0] != 0);
        /* poisoned: nothing more is accepted, and the code is repeated */
        MO_FUZZ_CHECK(mo_obj_deframer_feed(&d, out, p, n ? 1 : 0, NULL) == rc);
        MO_FUZZ_CHECK(mo_obj_deframer_finish(&d, out, NULL) == rc);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t ctl = data[0];
    const size_t n = size - 1;
    /* an exact-size heap copy, so ASan sees any read past the end */
    uint8_t *p = mo_malloc(n);
    MO_FUZZ_CHECK(p != NULL);
    if (n)
        memcpy(p, data + 1, n);
    if (ctl & 1)
        for (size_t b = 0; b < n; b += MO_OBJ_FRAME_BLOCK) {
            const size_t bl = n - b < MO_OBJ_FRAME_BLOCK ? n - b : MO_OBJ_FRAME_BLOCK;
            if (bl >= 4)
                mo_store_le32(p + b, mo_crc32c(0, p + b + 4, bl - 4));
        }

    uint64_t lsize = 0;
    const int size_rc = mo_obj_frame_logical_size(&lsize, n, NULL);

    mo_buf one = MO_BUF_INIT, sliced = MO_BUF_INIT;
    const int rc_one = deframe(&one, p, n, 0, false, 0);
    const int rc = deframe(&sliced, p, n, slice_sizes[(ctl >> 1) & 15], (ctl >> 5) & 1, ctl);
    MO_FUZZ_CHECK(rc == rc_one);
    MO_FUZZ_CHECK(rc == MO_OK || rc == MO_ECHECKSUM || rc == MO_ECORRUPT);
    /* even on failure both deliver the same verified prefix */
    MO_FUZZ_CHECK(one.len == sliced.len);
    MO_FUZZ_CHECK(one.len == 0 || memcmp(one.ptr, sliced.ptr, one.len) == 0);
    if (rc == MO_OK) {
        MO_FUZZ_CHECK(size_rc == MO_OK && one.len == lsize);
        for (size_t b = 0, lo = 0; b < n; b += MO_OBJ_FRAME_BLOCK, lo += MO_OBJ_FRAME_CONTENT) {
            const size_t bl = n - b < MO_OBJ_FRAME_BLOCK ? n - b : MO_OBJ_FRAME_BLOCK;
            MO_FUZZ_CHECK(memcmp(one.ptr + lo, p + b + 4, bl - 4) == 0);
        }
        mo_buf re = MO_BUF_INIT;
        MO_FUZZ_CHECK(mo_obj_frame_encode(&re, one.ptr, one.len) == MO_OK);
        MO_FUZZ_CHECK(re.len == n && (n == 0 || memcmp(re.ptr, p, n) == 0));
        mo_buf_dispose(&re);
        MO_FUZZ_CHECK(n == 0 || mo_obj_frame_detect(p, n));
    } else if (rc == MO_ECORRUPT) {
        MO_FUZZ_CHECK(size_rc == MO_ECORRUPT);
    } else {
        /* output stops at a block boundary, before the bad block */
        MO_FUZZ_CHECK(one.len % MO_OBJ_FRAME_CONTENT == 0);
        MO_FUZZ_CHECK(size_rc != MO_OK || one.len < lsize);
    }
    if (ctl & 1 && n % MO_OBJ_FRAME_BLOCK - 1 >= 4) /* patched and not 1..4 bytes at the end */
        MO_FUZZ_CHECK(rc == MO_OK);
    mo_buf_dispose(&one);
    mo_buf_dispose(&sliced);
    mo_free(p);
    return 0;
}
