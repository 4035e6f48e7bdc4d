/* The KV store's key index: an open-addressing hash table of heap entries, plus sorted iteration.
 */
#ifndef FLOWRAFT_WORKFLOWS_KV_TABLE_H
#define FLOWRAFT_WORKFLOWS_KV_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Internal to workflows/kv_*. Linear probing with backward-shift deletion (no tombstones), load
 * factor at most 3/4, capacity a power of two that only grows. The table owns its entries. Its
 * layout depends on insertion history; nothing observable does: kv_table_sorted gives the
 * canonical order (ascending bytes, shorter key first on a common prefix). The sorted order is
 * cached: inserts and removes invalidate it (O(1)), an overwrite patches it in place (O(log n)),
 * and the next kv_table_sorted re-sorts only if it was invalidated (snapshots).
 *
 * The table also keeps the sum (mod 2^64) of its entries' pair hashes, updated O(1) by every
 * insert, replace and remove: a hash of the set of (key, value) pairs that does not depend on
 * layout or history, which is what kv_hash folds (no sort, no walk).
 */

/* One stored pair, allocated as a single block: key bytes then value bytes. */
struct kv_entry {
    uint64_t key_hash;  /* invariant: kv_key_hash(key) */
    uint64_t pair_hash; /* invariant: kv_pair_hash(key_hash, value) */
    uint32_t key_len;
    uint32_t value_len;
    uint8_t bytes[]; /* key_len bytes of key, then value_len bytes of value */
};

/* The cached canonical order; a separate block so that a const table can refresh it. */
struct kv_order {
    struct kv_entry **entries; /* invariant: cap >= the table's count */
    uint32_t cap;
    bool sorted; /* invariant: if set, entries[0..count) are the table's entries in key order */
};

struct kv_table {
    struct kv_entry **slots; /* slot_count slots, NULL when empty */
    uint32_t slot_count;     /* invariant: power of two, count * 4 <= slot_count * 3 */
    uint32_t count;          /* entries stored */
    uint64_t hash_sum;       /* invariant: sum mod 2^64 of every stored entry's pair_hash */
    struct kv_order *order;  /* owned; never NULL after kv_table_init */
};

uint64_t kv_key_hash(const void *key, size_t key_len);

/* The hash of one (key, value) pair: XXH3-64 of the value seeded by the key's kv_key_hash (mixed
 * with a domain constant), so distinct pairs hash independently. */
uint64_t kv_pair_hash(uint64_t key_hash, const uint8_t *value, size_t value_len);

/* Total order on byte strings: memcmp on the common prefix, then the shorter first. */
int kv_key_compare(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* Allocates an entry holding copies of key and value; NULL if memory is exhausted. */
struct kv_entry *kv_entry_new(const uint8_t *key, uint32_t key_len, const uint8_t *value,
                              uint32_t value_len);

static inline const uint8_t *kv_entry_key(const struct kv_entry *entry)
{
    return entry->bytes;
}

static inline const uint8_t *kv_entry_value(const struct kv_entry *entry)
{
    return entry->bytes + entry->key_len;
}

/* An empty table with a few slots; -1 if memory is exhausted. */
int kv_table_init(struct kv_table *table);

/* Frees the slots, the scratch and every entry. */
void kv_table_free(struct kv_table *table);

/* The entry with this key, or NULL. */
struct kv_entry *kv_table_find(const struct kv_table *table, const uint8_t *key, size_t key_len);

/* Grows so that `count` entries fit without further allocation; -1 (table unchanged) on failure. */
int kv_table_reserve(struct kv_table *table, uint32_t count);

/* Inserts an entry whose key is absent; room must have been reserved. Takes ownership. */
void kv_table_insert(struct kv_table *table, struct kv_entry *entry);

/* Puts `replacement` (same key) where `old` was; returns `old`, now owned by the caller. */
struct kv_entry *kv_table_replace(struct kv_table *table, struct kv_entry *old,
                                  struct kv_entry *replacement);

/* Removes `entry`; the caller owns it afterwards. */
void kv_table_remove(struct kv_table *table, struct kv_entry *entry);

/* The sum of kv_pair_hash over every entry, recomputed from the stored bytes (not from the
 * entries' cached hashes nor from hash_sum): what hash_sum must equal. O(entries). Tests, asserts.
 */
uint64_t kv_table_hash_sum_recompute(const struct kv_table *table);

/* Every entry, in canonical key order (the cached order; valid until the next change). */
struct kv_entry *const *kv_table_sorted(const struct kv_table *table);

#endif
