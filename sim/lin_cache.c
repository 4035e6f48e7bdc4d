/* The checker's memo set of visited (linearized set, state) configurations, memory-bounded. */
#include "sim/lin_cache.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define LIN_CACHE_CAP_MIN   256u
#define LIN_CACHE_WORDS_MIN 1024u
#define LIN_CACHE_COUNT_MAX (UINT32_MAX / 8) /* keeps entry + 1 and the index within range */

int lin_cache_init(struct lin_cache *cache, uint64_t memory_max)
{
    assert(cache != NULL);
    memset(cache, 0, sizeof(*cache));
    cache->memory_max = memory_max;
    cache->index_mask = 4 * LIN_CACHE_CAP_MIN - 1;
    cache->index = calloc(cache->index_mask + 1, sizeof(*cache->index));
    cache->memory_used = (cache->index_mask + 1) * sizeof(*cache->index);
    return cache->index == NULL ? -1 : 0;
}

void lin_cache_free(struct lin_cache *cache)
{
    assert(cache != NULL);
    free(cache->entries);
    free(cache->words);
    free(cache->index);
    memset(cache, 0, sizeof(*cache));
}

static uint64_t lin_cache_hash(uint64_t set_hash, uint32_t state)
{
    uint64_t h = set_hash ^ ((uint64_t)state * 0x9e3779b97f4a7c15ull);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}

static void lin_cache_index_put(struct lin_cache *cache, uint32_t entry)
{
    uint64_t slot = cache->entries[entry].hash & cache->index_mask;
    while (cache->index[slot] != 0) { /* bounded: the index is never more than a quarter full */
        slot = (slot + 1) & cache->index_mask;
    }
    cache->index[slot] = entry + 1;
}

/* Doubles the entries and the index, within the budget. */
static int lin_cache_grow_entries(struct lin_cache *cache)
{
    uint64_t cap = cache->cap == 0 ? LIN_CACHE_CAP_MIN : 2ull * cache->cap;
    uint64_t slots = cap * 4 > cache->index_mask + 1 ? cap * 4 : cache->index_mask + 1;
    uint64_t extra = (cap - cache->cap) * sizeof(struct lin_cache_entry) +
                     (slots - cache->index_mask - 1) * sizeof(uint32_t);
    if (cap > LIN_CACHE_COUNT_MAX || cache->memory_used + extra > cache->memory_max) {
        return -1;
    }
    struct lin_cache_entry *entries = realloc(cache->entries, cap * sizeof(*entries));
    if (entries == NULL) {
        return -1;
    }
    cache->entries = entries;
    uint32_t *index = slots > cache->index_mask + 1 ? calloc(slots, sizeof(*index)) : NULL;
    if (slots > cache->index_mask + 1 && index == NULL) {
        return -1; /* entries grew, cap did not: still consistent */
    }
    cache->cap = (uint32_t)cap;
    cache->memory_used += extra;
    if (index != NULL) {
        free(cache->index);
        cache->index = index;
        cache->index_mask = slots - 1;
        for (uint32_t e = 0; e < cache->count; e++) {
            lin_cache_index_put(cache, e);
        }
    }
    return 0;
}

/* Makes room for `len` more span words, within the budget. */
static int lin_cache_reserve_words(struct lin_cache *cache, uint64_t len)
{
    uint64_t need = cache->words_used + len;
    if (need <= cache->words_cap) {
        return 0;
    }
    uint64_t cap = cache->words_cap == 0 ? LIN_CACHE_WORDS_MIN : cache->words_cap;
    while (cap < need) {
        cap *= 2;
    }
    uint64_t extra = (cap - cache->words_cap) * sizeof(uint64_t);
    if (cache->memory_used + extra > cache->memory_max) {
        return -1;
    }
    uint64_t *words = realloc(cache->words, cap * sizeof(*words));
    if (words == NULL) {
        return -1;
    }
    cache->words = words;
    cache->words_cap = cap;
    cache->memory_used += extra;
    return 0;
}

int lin_cache_add(struct lin_cache *cache, const uint64_t *span, uint32_t base, uint32_t len,
                  uint64_t set_hash, uint32_t state)
{
    assert(cache != NULL);
    assert(span != NULL || len == 0);
    assert(len == 0 || span[len - 1] != 0); /* canonical: no trailing zero words */
    uint64_t hash = lin_cache_hash(set_hash, state);
    uint64_t slot = hash & cache->index_mask;
    size_t bytes = (size_t)len * sizeof(uint64_t);
    while (cache->index[slot] != 0) { /* bounded: the index is never more than a quarter full */
        const struct lin_cache_entry *e = &cache->entries[cache->index[slot] - 1];
        if (e->hash == hash && e->state == state && e->base == base && e->len == len &&
            (len == 0 || memcmp(cache->words + e->off, span, bytes) == 0)) {
            return 0;
        }
        slot = (slot + 1) & cache->index_mask;
    }
    if (cache->count == cache->cap && lin_cache_grow_entries(cache) != 0) {
        return -1;
    }
    if (lin_cache_reserve_words(cache, len) != 0) {
        return -1;
    }
    uint32_t e = cache->count++;
    cache->entries[e] = (struct lin_cache_entry){
        .hash = hash, .off = cache->words_used, .state = state, .base = base, .len = len
    };
    if (len > 0) {
        memcpy(cache->words + cache->words_used, span, bytes);
    }
    cache->words_used += len;
    lin_cache_index_put(cache, e);
    assert(cache->count <= cache->cap);
    return 1;
}
