/* The layout of struct kv, shared by kv.c (apply) and kv_snapshot.c (snapshot, restore, hash). */
#ifndef FLOWRAFT_WORKFLOWS_KV_IMPL_H
#define FLOWRAFT_WORKFLOWS_KV_IMPL_H

#include "workflows/kv.h"
#include "workflows/kv_bytes.h"
#include "workflows/kv_session.h"
#include "workflows/kv_table.h"

/* Everything a snapshot replaces; swapped as a whole so a failed restore changes nothing. */
struct kv_state {
    uint64_t applied_index; /* invariant: strictly increases with every kv_apply */
    uint64_t bytes_used;    /* invariant: sum of key_len + value_len, <= limits.bytes_max */
    struct kv_table table;  /* invariant: table.count <= limits.keys_max */
    struct kv_sessions sessions;
};

struct kv {
    struct kv_limits limits; /* fixed at create */
    struct kv_state state;
    uint8_t *result_buf;   /* the last result's bytes, returned borrowed by kv_apply */
    size_t result_buf_cap; /* KV_RESULT_HEADER_BYTES + max(value_bytes_max, reason) */
};

/* An empty state (applied index 0); -1 if memory is exhausted. */
int kv_state_init(struct kv_state *state, uint32_t sessions_max);
void kv_state_free(struct kv_state *state);

/* Writes the canonical body (keys in byte order, then sessions in id order) of a snapshot. */
void kv_state_write_body(const struct kv_state *state, struct kv_writer *writer);

#endif
