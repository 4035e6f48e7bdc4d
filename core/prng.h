/* Seeded pseudo-random generator (xoshiro256** seeded by splitmix64) with named sub-streams. */
#ifndef FLOWRAFT_CORE_PRNG_H
#define FLOWRAFT_CORE_PRNG_H

#include <stdint.h>

/*
 * A generator is a plain value: no globals, no hidden state. Two generators seeded with the same
 * 64-bit seed produce the same sequence on every platform. Copying the struct forks the stream.
 *
 * Sub-streams: prng_seed_derive(seed, "net") gives an independent 64-bit seed for one concern, so
 * turning one fault kind on or off in the simulator does not reshuffle the draws of the others.
 */
struct prng {
    uint64_t s[4]; /* invariant: not all zero (splitmix64 seeding guarantees it) */
};

/* One step of splitmix64 (Steele, Lea, Flood 2014): advances *state and returns the next output. */
uint64_t prng_splitmix64(uint64_t *state);

/* Seeds the generator's four state words from splitmix64(seed). */
void prng_seed(struct prng *prng, uint64_t seed);

/* Derives the seed of the sub-stream called `name` (a non-empty C string) from `seed`. */
uint64_t prng_seed_derive(uint64_t seed, const char *name);

/* Derives the seed of numbered sub-stream `index` (a node id, a client id) from `seed`. */
uint64_t prng_seed_derive_index(uint64_t seed, uint64_t index);

/* Next 64 uniformly distributed bits (xoshiro256**, Blackman and Vigna 2018). */
uint64_t prng_next(struct prng *prng);

/* Uniform integer in [0, bound); bound must be > 0. Unbiased (rejects the short final range). */
uint64_t prng_below(struct prng *prng, uint64_t bound);

/* Uniform integer in [min, max], inclusive; requires min <= max. */
uint64_t prng_range(struct prng *prng, uint64_t min, uint64_t max);

/* Uniform double in [0, 1) with 53 bits of precision. */
double prng_unit(struct prng *prng);

/* True with probability `probability` (clamped to [0, 1]); draws exactly one number either way. */
int prng_chance(struct prng *prng, double probability);

#endif
