/* XXH3-64 wrappers: one-shot, folded and streaming hashes. */
#include "core/hash.h"

#include "core/bytes.h"

#include <assert.h>

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
    assert(data != NULL || len == 0);
    return XXH3_64bits_withSeed(data, len, seed);
}

uint64_t hash_fold_bytes(uint64_t running, const void *data, size_t len)
{
    assert(data != NULL || len == 0);
    return XXH3_64bits_withSeed(data, len, running);
}

uint64_t hash_fold_u64(uint64_t running, uint64_t value)
{
    uint8_t bytes[8];
    bytes_put_u64(bytes, value);
    return XXH3_64bits_withSeed(bytes, sizeof(bytes), running);
}

void hash_stream_init(struct hash_stream *stream, uint64_t seed)
{
    assert(stream != NULL);
    /* xxhash.h: a state not made by XXH3_createState() must be XXH3_INITSTATE'd before a
     * _withSeed reset, or a stale seed field makes the reset keep a stale derived secret. */
    XXH3_INITSTATE(&stream->state);
    XXH_errorcode rc = XXH3_64bits_reset_withSeed(&stream->state, seed);
    assert(rc == XXH_OK);
    (void)rc;
}

void hash_stream_update(struct hash_stream *stream, const void *data, size_t len)
{
    assert(stream != NULL);
    assert(data != NULL || len == 0);
    XXH_errorcode rc = XXH3_64bits_update(&stream->state, data, len);
    assert(rc == XXH_OK);
    (void)rc;
}

uint64_t hash_stream_digest(const struct hash_stream *stream)
{
    assert(stream != NULL);
    return XXH3_64bits_digest(&stream->state);
}
