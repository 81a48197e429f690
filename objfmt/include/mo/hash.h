/**
 * @file mo/hash.h
 * CRC-32C (Castagnoli, as MO's legacy DISK framing) and thin wrappers over libxxhash
 * (XXH64 for bloom-filter keys, XXH3-64/128 for chunk and object digests).
 */
#ifndef MO_HASH_H
#define MO_HASH_H

#include <stddef.h>
#include <stdint.h>

/** Continues a CRC-32C; start with crc = 0. crc32c("123456789") == 0xE3069283. */
uint32_t mo_crc32c(uint32_t crc, const void *p, size_t n);

/** XXH64 with seed 0: the key hash of MO's bloom filters (cespare/xxhash Sum64). */
uint64_t mo_xxh64(const void *p, size_t n);
uint64_t mo_xxh3_64(const void *p, size_t n);

typedef struct mo_digest128 {
    uint64_t lo, hi;
} mo_digest128;

mo_digest128 mo_xxh3_128(const void *p, size_t n);
/** Canonical 32-hex-char text of a 128-bit digest (high half first, as xxhsum -H2). */
void mo_digest128_hex(char out[33], mo_digest128 d);

/** Streaming XXH3-128 (opaque state, heap allocated). */
typedef struct mo_xxh3_stream mo_xxh3_stream;
int mo_xxh3_stream_new(mo_xxh3_stream **out);
void mo_xxh3_stream_update(mo_xxh3_stream *s, const void *p, size_t n);
mo_digest128 mo_xxh3_stream_digest(const mo_xxh3_stream *s);
/** Sets @p dst to the state of @p src (both from mo_xxh3_stream_new): a save point. */
void mo_xxh3_stream_copy(mo_xxh3_stream *dst, const mo_xxh3_stream *src);
void mo_xxh3_stream_free(mo_xxh3_stream *s);

/** Streaming XXH3-64 (equal to mo_xxh3_64 over the concatenation); same life cycle. */
typedef struct mo_xxh3_64_stream mo_xxh3_64_stream;
int mo_xxh3_64_stream_new(mo_xxh3_64_stream **out);
void mo_xxh3_64_stream_reset(mo_xxh3_64_stream *s);
void mo_xxh3_64_stream_update(mo_xxh3_64_stream *s, const void *p, size_t n);
uint64_t mo_xxh3_64_stream_digest(const mo_xxh3_64_stream *s);
void mo_xxh3_64_stream_free(mo_xxh3_64_stream *s);

#endif
