/* objfmt internals shared between its .c files (libgit2-style double underscore). */
#ifndef MO_OBJ_INT_H
#define MO_OBJ_INT_H

#include "mo/objfmt.h"

/** Reads one extent: alg 0 as-is (length == originSize), otherwise LZ4 with exact size. */
int mo_obj__read_extent(mo_obj_reader *r, mo_buf *out, const mo_obj_extent *e, mo_err *err);
/** The raw 64-byte header. */
const uint8_t *mo_obj__reader_header(const mo_obj_reader *r);

#endif
