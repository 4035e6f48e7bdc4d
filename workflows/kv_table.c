/* Open-addressing hash table of KV entries (linear probing, backward-shift delete), sorted walks.
 */
#include "workflows/kv_table.h"

#include "core/hash.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_SLOTS_MIN 16u
#define TABLE_SLOTS_MAX (1u << 31)
#define KEY_HASH_SEED   0x4b564b4559ull   /* "KVKEY": the table's own hash domain */
#define PAIR_HASH_SEED  0x4b5650414952ull /* "KVPAIR": the state hash's per-pair domain */

uint64_t kv_key_hash(const void *key, size_t key_len)
{
    return hash_bytes(key, key_len, KEY_HASH_SEED);
}

uint64_t kv_pair_hash(uint64_t key_hash, const uint8_t *value, size_t value_len)
{
    assert(value != NULL || value_len == 0);
    return hash_bytes(value, value_len, key_hash ^ PAIR_HASH_SEED);
}

int kv_key_compare(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    assert(a != NULL || a_len == 0);
    assert(b != NULL || b_len == 0);
    size_t common = a_len < b_len ? a_len : b_len;
    int c = common == 0 ? 0 : memcmp(a, b, common);
    if (c != 0) {
        return c;
    }
    return a_len < b_len ? -1 : (a_len > b_len ? 1 : 0);
}

struct kv_entry *kv_entry_new(const uint8_t *key, uint32_t key_len, const uint8_t *value,
                              uint32_t value_len)
{
    assert(key != NULL || key_len == 0);
    assert(value != NULL || value_len == 0);
    struct kv_entry *entry = malloc(sizeof(*entry) + (size_t)key_len + value_len);
    if (entry == NULL) {
        return NULL;
    }
    entry->key_hash = kv_key_hash(key, key_len);
    entry->pair_hash = kv_pair_hash(entry->key_hash, value, value_len);
    entry->key_len = key_len;
    entry->value_len = value_len;
    if (key_len > 0) {
        memcpy(entry->bytes, key, key_len);
    }
    if (value_len > 0) {
        memcpy(entry->bytes + key_len, value, value_len);
    }
    return entry;
}

int kv_table_init(struct kv_table *table)
{
    assert(table != NULL);
    memset(table, 0, sizeof(*table));
    table->order = calloc(1, sizeof(*table->order));
    table->slots = calloc(TABLE_SLOTS_MIN, sizeof(*table->slots));
    if (table->slots == NULL || table->order == NULL) {
        free(table->order);
        free(table->slots);
        return -1;
    }
    table->order->sorted = true; /* empty */
    table->slot_count = TABLE_SLOTS_MIN;
    return 0;
}

void kv_table_free(struct kv_table *table)
{
    assert(table != NULL);
    for (uint32_t i = 0; i < table->slot_count; i++) {
        free(table->slots[i]);
    }
    free(table->slots);
    if (table->order != NULL) {
        free(table->order->entries);
        free(table->order);
    }
    memset(table, 0, sizeof(*table));
}

static uint32_t mask_of(const struct kv_table *table)
{
    assert(table->slot_count >= TABLE_SLOTS_MIN);
    assert((table->slot_count & (table->slot_count - 1)) == 0);
    return table->slot_count - 1;
}

struct kv_entry *kv_table_find(const struct kv_table *table, const uint8_t *key, size_t key_len)
{
    assert(table != NULL);
    assert(key != NULL || key_len == 0);
    uint64_t key_hash = kv_key_hash(key, key_len);
    uint32_t mask = mask_of(table);
    uint32_t slot = (uint32_t)key_hash & mask;
    for (uint32_t probes = 0; probes < table->slot_count; probes++) {
        struct kv_entry *entry = table->slots[slot];
        if (entry == NULL) {
            return NULL;
        }
        if (entry->key_hash == key_hash && entry->key_len == key_len &&
            (key_len == 0 || memcmp(kv_entry_key(entry), key, key_len) == 0)) {
            return entry;
        }
        slot = (slot + 1) & mask;
    }
    return NULL; /* unreachable while the load factor invariant holds */
}

/* The slot holding exactly this entry (it must be in the table). */
static uint32_t slot_of(const struct kv_table *table, const struct kv_entry *entry)
{
    uint32_t mask = mask_of(table);
    uint32_t slot = (uint32_t)entry->key_hash & mask;
    for (uint32_t probes = 0; probes < table->slot_count; probes++) {
        if (table->slots[slot] == entry) {
            return slot;
        }
        assert(table->slots[slot] != NULL);
        slot = (slot + 1) & mask;
    }
    assert(!"entry not in table");
    return 0;
}

static void place(struct kv_entry **slots, uint32_t slot_count, struct kv_entry *entry)
{
    uint32_t mask = slot_count - 1;
    uint32_t slot = (uint32_t)entry->key_hash & mask;
    for (uint32_t probes = 0; probes < slot_count; probes++) {
        if (slots[slot] == NULL) {
            slots[slot] = entry;
            return;
        }
        slot = (slot + 1) & mask;
    }
    assert(!"hash table full");
}

static int reserve_order(struct kv_order *order, uint32_t count)
{
    if (order->cap >= count) {
        return 0;
    }
    uint64_t cap = order->cap < 16 ? 16 : order->cap;
    for (int i = 0; i < 32 && cap < count; i++) {
        cap *= 2;
    }
    assert(cap >= count);
    struct kv_entry **entries = realloc(order->entries, (size_t)cap * sizeof(*entries));
    if (entries == NULL) {
        return -1;
    }
    order->entries = entries;
    order->cap = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);
    return 0;
}

static int rehash(struct kv_table *table, uint32_t slot_count)
{
    assert(slot_count > table->slot_count);
    struct kv_entry **slots = calloc(slot_count, sizeof(*slots));
    if (slots == NULL) {
        return -1;
    }
    for (uint32_t i = 0; i < table->slot_count; i++) {
        if (table->slots[i] != NULL) {
            place(slots, slot_count, table->slots[i]);
        }
    }
    free(table->slots);
    table->slots = slots;
    table->slot_count = slot_count;
    return 0;
}

int kv_table_reserve(struct kv_table *table, uint32_t count)
{
    assert(table != NULL);
    assert(count <= TABLE_SLOTS_MAX / 4 * 3);
    if (reserve_order(table->order, count) != 0) {
        return -1;
    }
    uint64_t slot_count = table->slot_count;
    for (int i = 0; i < 32 && (uint64_t)count * 4 > slot_count * 3; i++) {
        slot_count *= 2;
    }
    assert((uint64_t)count * 4 <= slot_count * 3);
    if (slot_count == table->slot_count) {
        return 0;
    }
    return rehash(table, (uint32_t)slot_count);
}

void kv_table_insert(struct kv_table *table, struct kv_entry *entry)
{
    assert(table != NULL);
    assert(entry != NULL);
    assert((uint64_t)(table->count + 1) * 4 <= (uint64_t)table->slot_count * 3);
    assert(table->order->cap >= table->count + 1);
    place(table->slots, table->slot_count, entry);
    table->count++;
    table->hash_sum += entry->pair_hash;
    table->order->sorted = false;
}

static int compare_entry_keys(const struct kv_entry *x, const struct kv_entry *y)
{
    return kv_key_compare(kv_entry_key(x), x->key_len, kv_entry_key(y), y->key_len);
}

/* Where `entry` sits in the (sorted) cached order: a binary search, at most 32 steps. */
static uint32_t order_position(const struct kv_table *table, const struct kv_entry *entry)
{
    assert(table->order->sorted);
    uint32_t lo = 0;
    uint32_t hi = table->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = compare_entry_keys(table->order->entries[mid], entry);
        if (c == 0) {
            assert(table->order->entries[mid] == entry);
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    assert(!"entry not in the sorted order");
    return 0;
}

struct kv_entry *kv_table_replace(struct kv_table *table, struct kv_entry *old,
                                  struct kv_entry *replacement)
{
    assert(replacement != NULL);
    assert(old->key_hash == replacement->key_hash);
    assert(old->key_len == replacement->key_len);
    table->slots[slot_of(table, old)] = replacement;
    table->hash_sum += replacement->pair_hash - old->pair_hash;
    if (table->order->sorted) {
        table->order->entries[order_position(table, old)] = replacement;
    }
    return old;
}

void kv_table_remove(struct kv_table *table, struct kv_entry *entry)
{
    assert(table != NULL);
    assert(table->count > 0);
    uint32_t mask = mask_of(table);
    uint32_t hole = slot_of(table, entry);
    table->slots[hole] = NULL;
    table->count--;
    table->hash_sum -= entry->pair_hash;
    table->order->sorted = false;
    uint32_t next = hole;
    for (uint32_t probes = 0; probes < table->slot_count; probes++) {
        next = (next + 1) & mask;
        struct kv_entry *moving = table->slots[next];
        if (moving == NULL) {
            return;
        }
        uint32_t home = (uint32_t)moving->key_hash & mask;
        /* Move back into the hole unless its home lies cyclically in (hole, next]. */
        if (((next - home) & mask) >= ((next - hole) & mask)) {
            table->slots[hole] = moving;
            table->slots[next] = NULL;
            hole = next;
        }
    }
}

uint64_t kv_table_hash_sum_recompute(const struct kv_table *table)
{
    assert(table != NULL);
    uint64_t sum = 0;
    uint32_t seen = 0;
    for (uint32_t i = 0; i < table->slot_count; i++) {
        const struct kv_entry *entry = table->slots[i];
        if (entry != NULL) {
            uint64_t key_hash = kv_key_hash(kv_entry_key(entry), entry->key_len);
            sum += kv_pair_hash(key_hash, kv_entry_value(entry), entry->value_len);
            seen++;
        }
    }
    assert(seen == table->count);
    return sum;
}

static int compare_entries(const void *a, const void *b)
{
    return compare_entry_keys(*(const struct kv_entry *const *)a,
                              *(const struct kv_entry *const *)b);
}

struct kv_entry *const *kv_table_sorted(const struct kv_table *table)
{
    assert(table != NULL);
    struct kv_order *order = table->order;
    assert(order->cap >= table->count || table->count == 0);
    if (order->sorted) {
        return order->entries;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < table->slot_count; i++) {
        if (table->slots[i] != NULL) {
            order->entries[n++] = table->slots[i];
        }
    }
    assert(n == table->count);
    if (n > 1) {
        qsort(order->entries, n, sizeof(*order->entries), compare_entries);
    }
    order->sorted = true;
    return order->entries;
}
