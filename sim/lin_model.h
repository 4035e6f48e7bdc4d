/* Sequential models for the checker (register, per-key KV) over interned, comparable states. */
#ifndef FLOWRAFT_SIM_LIN_MODEL_H
#define FLOWRAFT_SIM_LIN_MODEL_H

#include "sim/hist.h"

#include <stddef.h>
#include <stdint.h>

/*
 * A model state is one optional byte string: the register's value, or one key's value (the KV
 * store is checked key by key). States are interned: equal strings get equal ids, so a state is
 * hashed and compared as a uint32_t, which is what the checker's memo set needs.
 */

#define LIN_STATE_NIL 0u /* the id of nil: no value, an absent key */

/* Interned byte strings. Owns its memory; ids are dense, 0 is nil. */
struct lin_states {
    char *bytes;         /* arena of every interned string */
    uint64_t bytes_used; /* invariant: bytes_used <= bytes_cap */
    uint64_t bytes_cap;
    struct lin_state_entry {
        uint64_t hash;
        uint64_t off; /* into bytes */
        uint32_t len;
    } * entries;    /* entries[0] is nil */
    uint32_t count; /* invariant: 1 <= count <= entries_cap */
    uint32_t entries_cap;
    uint32_t *index;      /* open addressing over entries; 0 marks an empty slot */
    uint32_t index_mask;  /* index has index_mask + 1 slots, a power of two, > 2 * count */
    uint64_t memory_used; /* bytes allocated by this table */
    uint64_t memory_max;  /* the budget; interning fails beyond it */
};

int lin_states_init(struct lin_states *states, uint64_t memory_max); /* 0 or -1 (no memory) */
void lin_states_free(struct lin_states *states);
/* Interns `len` bytes (NULL: nil, id 0) into *id. Returns 0, or -1 when the budget is exhausted. */
int lin_states_intern(struct lin_states *states, const char *bytes, size_t len, uint32_t *id);
/* Interns the concatenation of states `a` and `b` (nil counts as ""). Returns 0 or -1. */
int lin_states_concat(struct lin_states *states, uint32_t a, uint32_t b, uint32_t *id);
/* The bytes of state `id` (NULL for nil); *len_out gets the length. */
const char *lin_states_bytes(const struct lin_states *states, uint32_t id, size_t *len_out);

/* One operation as the search sees it: values interned into the checker's state table. */
struct lin_op {
    uint32_t hist_id; /* the op's id in the history */
    enum hist_kind kind;
    int unknown;       /* outcome unknown (or pending): its effect may or may not happen */
    int mismatch;      /* a cas that saw `result` and did not swap */
    uint32_t value;    /* write / put / append / cas new value */
    uint32_t expected; /* cas */
    uint32_t result;   /* read / get: the value read; cas mismatch: the value seen */
};

/*
 * The sequential specification. Returns 1 when `op` may take effect in `state` with its observed
 * result (*next: the state after it), 0 when it cannot, -1 when the state table's budget is
 * exhausted (append). Invariant: an op with an unknown outcome is never rejected (a cas whose
 * comparison fails just has no effect), so placing it after everything else means "never".
 */
int lin_model_step(struct lin_states *states, uint32_t state, const struct lin_op *op,
                   uint32_t *next);

#endif
