/* Interned model states: byte strings with dense ids, so states hash and compare as integers. */
#include "sim/lin_model.h"

#include "core/hash.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define LIN_STATES_SEED        0x6c696e7374617465ull /* "linstate" */
#define LIN_STATES_ENTRIES_MIN 64u
#define LIN_STATES_BYTES_MIN   4096u
#define LIN_STATES_COUNT_MAX   (1u << 30) /* keeps index sizes within uint32_t */

int lin_states_init(struct lin_states *states, uint64_t memory_max)
{
    assert(states != NULL);
    memset(states, 0, sizeof(*states));
    states->memory_max = memory_max;
    states->entries_cap = LIN_STATES_ENTRIES_MIN;
    states->index_mask = 4 * LIN_STATES_ENTRIES_MIN - 1;
    states->bytes_cap = LIN_STATES_BYTES_MIN;
    states->entries = calloc(states->entries_cap, sizeof(*states->entries));
    states->index = calloc((size_t)states->index_mask + 1, sizeof(*states->index));
    states->bytes = malloc(states->bytes_cap);
    states->count = 1; /* entry 0: nil */
    states->memory_used = states->entries_cap * sizeof(*states->entries) +
                          ((uint64_t)states->index_mask + 1) * sizeof(*states->index) +
                          states->bytes_cap;
    if (states->entries == NULL || states->index == NULL || states->bytes == NULL) {
        lin_states_free(states);
        return -1;
    }
    return 0;
}

void lin_states_free(struct lin_states *states)
{
    assert(states != NULL);
    free(states->bytes);
    free(states->entries);
    free(states->index);
    memset(states, 0, sizeof(*states));
}

/* Makes room for `extra` more bytes in the arena, within the budget. */
static int lin_states_reserve_bytes(struct lin_states *states, uint64_t extra)
{
    uint64_t need = states->bytes_used + extra;
    if (need <= states->bytes_cap) {
        return 0;
    }
    uint64_t cap = states->bytes_cap;
    while (cap < need) {
        cap *= 2;
    }
    if (states->memory_used + (cap - states->bytes_cap) > states->memory_max) {
        return -1;
    }
    char *grown = realloc(states->bytes, cap);
    if (grown == NULL) {
        return -1;
    }
    states->memory_used += cap - states->bytes_cap;
    states->bytes = grown;
    states->bytes_cap = cap;
    return 0;
}

static void lin_states_index_put(struct lin_states *states, uint32_t id)
{
    uint32_t slot = (uint32_t)states->entries[id].hash & states->index_mask;
    while (states->index[slot] != 0) { /* bounded: the index is never more than half full */
        slot = (slot + 1) & states->index_mask;
    }
    states->index[slot] = id;
}

/* Doubles the entries and the index when the next entry would not fit. */
static int lin_states_grow(struct lin_states *states)
{
    if (states->count < states->entries_cap) {
        return 0;
    }
    if (states->entries_cap >= LIN_STATES_COUNT_MAX) {
        return -1;
    }
    uint32_t cap = states->entries_cap * 2;
    uint64_t slots = 4ull * cap;
    uint64_t extra = (cap - states->entries_cap) * sizeof(*states->entries) +
                     (slots - states->index_mask - 1) * sizeof(*states->index);
    if (states->memory_used + extra > states->memory_max) {
        return -1;
    }
    struct lin_state_entry *entries = realloc(states->entries, cap * sizeof(*entries));
    uint32_t *index = calloc(slots, sizeof(*index));
    if (entries == NULL || index == NULL) {
        free(index);
        if (entries != NULL) {
            states->entries = entries;
        }
        return -1;
    }
    states->entries = entries;
    states->entries_cap = cap;
    free(states->index);
    states->index = index;
    states->index_mask = (uint32_t)(slots - 1);
    states->memory_used += extra;
    for (uint32_t id = 1; id < states->count; id++) {
        lin_states_index_put(states, id);
    }
    return 0;
}

/* Interns the `len` bytes already written at the end of the arena (not yet counted as used). */
static int lin_states_commit(struct lin_states *states, uint64_t len, uint32_t *id)
{
    const char *bytes = states->bytes + states->bytes_used;
    uint64_t hash = hash_bytes(bytes, len, LIN_STATES_SEED);
    uint32_t slot = (uint32_t)hash & states->index_mask;
    while (states->index[slot] != 0) { /* bounded: the index is never more than half full */
        const struct lin_state_entry *e = &states->entries[states->index[slot]];
        if (e->hash == hash && e->len == len && memcmp(states->bytes + e->off, bytes, len) == 0) {
            *id = states->index[slot];
            return 0;
        }
        slot = (slot + 1) & states->index_mask;
    }
    if (len > UINT32_MAX || lin_states_grow(states) != 0) {
        return -1;
    }
    uint32_t new_id = states->count++;
    states->entries[new_id] =
        (struct lin_state_entry){ .hash = hash, .off = states->bytes_used, .len = (uint32_t)len };
    states->bytes_used += len;
    lin_states_index_put(states, new_id);
    assert(states->count <= states->entries_cap);
    *id = new_id;
    return 0;
}

int lin_states_intern(struct lin_states *states, const char *bytes, size_t len, uint32_t *id)
{
    assert(states != NULL && id != NULL);
    if (bytes == NULL) {
        *id = LIN_STATE_NIL;
        return 0;
    }
    if (lin_states_reserve_bytes(states, len) != 0) {
        return -1;
    }
    if (len > 0) {
        memcpy(states->bytes + states->bytes_used, bytes, len);
    }
    return lin_states_commit(states, len, id);
}

int lin_states_concat(struct lin_states *states, uint32_t a, uint32_t b, uint32_t *id)
{
    assert(states != NULL && id != NULL);
    assert(a < states->count && b < states->count);
    uint64_t a_len = states->entries[a].len;
    uint64_t b_len = states->entries[b].len;
    if (lin_states_reserve_bytes(states, a_len + b_len) != 0) {
        return -1;
    }
    /* the arena may have moved: address both parts by offset, after the reserve */
    char *end = states->bytes + states->bytes_used;
    memcpy(end, states->bytes + states->entries[a].off, a_len);
    memcpy(end + a_len, states->bytes + states->entries[b].off, b_len);
    return lin_states_commit(states, a_len + b_len, id);
}

const char *lin_states_bytes(const struct lin_states *states, uint32_t id, size_t *len_out)
{
    assert(states != NULL && len_out != NULL);
    assert(id < states->count);
    if (id == LIN_STATE_NIL) {
        *len_out = 0;
        return NULL;
    }
    *len_out = states->entries[id].len;
    return states->bytes + states->entries[id].off;
}
