/* Thin hashing module over XXH3-64: checksums, fingerprints and running (folded) hashes. */
#ifndef FLOWRAFT_CORE_HASH_H
#define FLOWRAFT_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_STATIC_LINKING_ONLY /* exposes XXH3_state_t so a stream can live on the stack */
#include <xxhash.h>

/*
 * Every checksum and fingerprint in FlowRaft is XXH3-64 through this module, so the algorithm is
 * chosen in one place. Results are the same on every platform (XXH3 is endian-independent).
 */

/* XXH3-64 of `len` bytes at `data` with `seed`. `data` may be NULL only when `len` is 0. */
uint64_t hash_bytes(const void *data, size_t len, uint64_t seed);

/* Folds `len` bytes into a running hash: the result is XXH3-64 of the bytes seeded by `running`. */
uint64_t hash_fold_bytes(uint64_t running, const void *data, size_t len);

/* Folds one 64-bit value (as 8 little-endian bytes) into a running hash. */
uint64_t hash_fold_u64(uint64_t running, uint64_t value);

/* Streaming XXH3-64 for data that arrives in pieces (files, snapshots). Caller owns the struct. */
struct hash_stream {
    XXH3_state_t state;
};

void hash_stream_init(struct hash_stream *stream, uint64_t seed);
void hash_stream_update(struct hash_stream *stream, const void *data, size_t len);
/* Digest of everything fed so far; the stream may continue to be updated afterwards. */
uint64_t hash_stream_digest(const struct hash_stream *stream);

#endif
