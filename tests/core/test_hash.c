/* Tests for core/hash: known XXH3-64 vectors, folding and streaming agreement. */
#include "core/hash.h"

#include <criterion/criterion.h>
#include <string.h>

/* The buffer of LLVM's xxh3 unit test: xorshift64 bytes, whose XXH3 values are published there. */
static void fill_xorshift_buffer(uint8_t *buffer, size_t size)
{
    uint64_t x = 1;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buffer[i] = (uint8_t)x;
    }
}

/* Invariant: hash_bytes is XXH3-64 with seed 0, on every input-length path of the algorithm. */
Test(hash, xxh3_matches_known_vectors)
{
    static uint8_t buffer[2243];
    fill_xorshift_buffer(buffer, sizeof(buffer));
    const struct {
        size_t len;
        uint64_t expected;
    } vectors[] = {
        { 0, 0x2d06800538d394c2ULL },    { 1, 0xd0d496e05c553485ULL },
        { 3, 0x6ea2d59aca5c3778ULL },    { 4, 0xbf65290914e80242ULL },
        { 8, 0xabc1413da6cd0209ULL },    { 9, 0x8bc89400bfed51f6ULL },
        { 16, 0x7e46916754d7c9b8ULL },   { 17, 0xed4be912ba5f836dULL },
        { 128, 0x06a146ee9a2da378ULL },  { 129, 0xbc7138129bf065daULL },
        { 403, 0xcefeb3ffa532ad8cULL },  { 2048, 0x330ce110cbb79eaeULL },
        { 2243, 0x0979f786a24edde7ULL },
    };
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        cr_assert_eq(hash_bytes(buffer, vectors[i].len, 0), vectors[i].expected, "length %zu",
                     vectors[i].len);
    }
    cr_assert_eq(hash_bytes(NULL, 0, 0), 0x2d06800538d394c2ULL);
    cr_assert_eq(hash_bytes("a", 1, 0), 0xe6c632b61e964e1fULL);
    cr_assert_eq(hash_bytes("abc", 3, 0), 0x78af5f94892f3950ULL);
}

/* Invariant: the seed changes the result (separate domains, separate checksums). */
Test(hash, seed_changes_result)
{
    cr_assert_neq(hash_bytes("abc", 3, 0), hash_bytes("abc", 3, 1));
}

/* Invariant: folding is order-sensitive and equals a seeded one-shot hash. */
Test(hash, fold_is_seeded_hash_and_order_sensitive)
{
    uint64_t h = hash_fold_bytes(0, "abc", 3);
    cr_assert_eq(h, hash_bytes("abc", 3, 0));
    uint64_t ab = hash_fold_u64(hash_fold_u64(0, 1), 2);
    uint64_t ba = hash_fold_u64(hash_fold_u64(0, 2), 1);
    cr_assert_neq(ab, ba);
    const uint8_t one_le[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };
    cr_assert_eq(hash_fold_u64(5, 1), hash_bytes(one_le, 8, 5));
}

/* Invariant: a stream fed in pieces digests to the one-shot hash of the whole. */
Test(hash, stream_equals_one_shot)
{
    static uint8_t buffer[2243];
    fill_xorshift_buffer(buffer, sizeof(buffer));
    struct hash_stream stream;
    hash_stream_init(&stream, 0);
    size_t offset = 0;
    for (size_t piece = 1; offset < sizeof(buffer); piece = piece * 2 + 1) {
        size_t len = piece < sizeof(buffer) - offset ? piece : sizeof(buffer) - offset;
        hash_stream_update(&stream, buffer + offset, len);
        offset += len;
    }
    cr_assert_eq(hash_stream_digest(&stream), 0x0979f786a24edde7ULL);
    cr_assert_eq(hash_stream_digest(&stream), hash_bytes(buffer, sizeof(buffer), 0));
}

/* Invariant: a reused or dirty stream struct, re-initialised with the same seed, still digests to
 * the one-shot seeded hash (the derived secret is never taken from stale memory). */
Test(hash, stream_reinit_with_same_seed_ignores_stale_secret)
{
    static uint8_t buffer[1000]; /* longer than 240 bytes: the derived secret is used */
    fill_xorshift_buffer(buffer, sizeof(buffer));
    struct hash_stream stream;
    hash_stream_init(&stream, 7);
    memset(stream.state.customSecret, 0x5a, sizeof(stream.state.customSecret));
    hash_stream_init(&stream, 7);
    hash_stream_update(&stream, buffer, sizeof(buffer));
    cr_assert_eq(hash_stream_digest(&stream), hash_bytes(buffer, sizeof(buffer), 7));
}
