/* The checker's memo set: every (linearized-ops set, model state) configuration visited. */
#ifndef FLOWRAFT_SIM_LIN_CACHE_H
#define FLOWRAFT_SIM_LIN_CACHE_H

#include <stdint.h>

/*
 * Lowe's "cache": the search never explores a configuration twice, since the same linearized set
 * in the same state has the same future. A linearized set is a bitset over the partition's ops
 * (in invocation order), stored canonically as its span: the words from the first one that is
 * not full (`base`) to the last non-zero one. Long histories have long full prefixes, so spans
 * stay short where full bitsets would grow with the history. Memory is bounded by memory_max: an
 * add that would exceed it fails, and the checker answers "unknown".
 */
struct lin_cache_entry {
    uint64_t hash;  /* of the whole set and the state */
    uint64_t off;   /* first word of the span in words[] */
    uint32_t state; /* interned model state */
    uint32_t base;  /* index of the span's first word in the full bitset */
    uint32_t len;   /* span words */
};

struct lin_cache {
    struct lin_cache_entry *entries;
    uint32_t count; /* invariant: count <= cap */
    uint32_t cap;
    uint64_t *words;     /* every entry's span, back to back */
    uint64_t words_used; /* invariant: words_used <= words_cap */
    uint64_t words_cap;
    uint32_t *index;      /* slots hold entry + 1, 0 when empty; never more than a quarter full */
    uint64_t index_mask;  /* index has index_mask + 1 slots, a power of two */
    uint64_t memory_used; /* bytes allocated */
    uint64_t memory_max;
};

int lin_cache_init(struct lin_cache *cache, uint64_t memory_max); /* 0 or -1 */
void lin_cache_free(struct lin_cache *cache);
/*
 * Adds the configuration whose linearized set has the span `span[0..len)` starting at word
 * `base` (all words before it full, none after it non-zero), hashing to `set_hash`, in `state`.
 * Returns 1 when added, 0 when it was already there, -1 when the memory budget is exhausted.
 */
int lin_cache_add(struct lin_cache *cache, const uint64_t *span, uint32_t base, uint32_t len,
                  uint64_t set_hash, uint32_t state);

#endif
