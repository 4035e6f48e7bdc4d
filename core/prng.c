/* Seeded pseudo-random generator: splitmix64 seeding, xoshiro256** output, named sub-streams. */
#include "core/prng.h"

#include "core/bytes.h"
#include "core/hash.h"

#include <assert.h>
#include <string.h>

static uint64_t prng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t prng_splitmix64(uint64_t *state)
{
    assert(state != NULL);
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void prng_seed(struct prng *prng, uint64_t seed)
{
    assert(prng != NULL);
    uint64_t state = seed;
    for (int i = 0; i < 4; i++) {
        prng->s[i] = prng_splitmix64(&state);
    }
    /* splitmix64 is a bijection of distinct counters, so four zero outputs cannot happen. */
    assert((prng->s[0] | prng->s[1] | prng->s[2] | prng->s[3]) != 0);
}

uint64_t prng_seed_derive(uint64_t seed, const char *name)
{
    assert(name != NULL);
    size_t len = strlen(name);
    assert(len > 0);
    return hash_bytes(name, len, seed);
}

uint64_t prng_seed_derive_index(uint64_t seed, uint64_t index)
{
    uint8_t bytes[8];
    bytes_put_u64(bytes, index); /* little-endian, so the result is portable */
    return hash_bytes(bytes, sizeof(bytes), seed);
}

uint64_t prng_next(struct prng *prng)
{
    assert(prng != NULL);
    uint64_t *s = prng->s;
    uint64_t result = prng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = prng_rotl(s[3], 45);
    return result;
}

uint64_t prng_below(struct prng *prng, uint64_t bound)
{
    assert(prng != NULL);
    assert(bound > 0);
    /* Reject the lowest (2^64 mod bound) values so that the modulo below is unbiased. */
    uint64_t threshold = (0 - bound) % bound;
    uint64_t r = prng_next(prng);
    for (int tries = 0; r < threshold; tries++) {
        assert(tries < 1000); /* each try is rejected with probability < 1/2 */
        r = prng_next(prng);
    }
    return r % bound;
}

uint64_t prng_range(struct prng *prng, uint64_t min, uint64_t max)
{
    assert(prng != NULL);
    assert(min <= max);
    if (min == 0 && max == UINT64_MAX) {
        return prng_next(prng);
    }
    return min + prng_below(prng, max - min + 1);
}

double prng_unit(struct prng *prng)
{
    assert(prng != NULL);
    return (double)(prng_next(prng) >> 11) * 0x1.0p-53;
}

int prng_chance(struct prng *prng, double probability)
{
    assert(prng != NULL);
    double draw = prng_unit(prng);
    if (probability <= 0.0) {
        return 0;
    }
    return draw < probability;
}
