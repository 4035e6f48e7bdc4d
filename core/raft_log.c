/* In-memory Raft log: ring of entry metadata and ring arena of payloads, no allocation. */
#include "core/raft_log.h"

#include "core/hash.h"

#include <assert.h>
#include <string.h>

void raft_log_init(struct raft_log *log, struct raft_log_meta *metas, uint64_t capacity,
                   uint8_t *arena, uint64_t arena_size)
{
    assert(log != NULL);
    assert(metas != NULL && capacity > 0);
    assert(arena != NULL && arena_size > 0);
    memset(log, 0, sizeof(*log));
    log->metas = metas;
    log->capacity = capacity;
    log->arena = arena;
    log->arena_size = arena_size;
}

uint64_t raft_log_first_index(const struct raft_log *log)
{
    assert(log != NULL);
    return log->prev_index + 1;
}

uint64_t raft_log_last_index(const struct raft_log *log)
{
    assert(log != NULL);
    assert(log->count <= log->capacity);
    return log->prev_index + log->count;
}

static uint64_t raft_log_slot(const struct raft_log *log, uint64_t index)
{
    assert(raft_log_holds(log, index));
    return (log->head_slot + (index - log->prev_index - 1)) % log->capacity;
}

const struct raft_log_meta *raft_log_meta_at(const struct raft_log *log, uint64_t index)
{
    assert(raft_log_holds(log, index));
    return &log->metas[raft_log_slot(log, index)];
}

uint64_t raft_log_last_term(const struct raft_log *log)
{
    assert(log != NULL);
    if (log->count == 0) {
        return log->prev_term;
    }
    return raft_log_meta_at(log, raft_log_last_index(log))->term;
}

uint64_t raft_log_chain(const struct raft_log *log)
{
    assert(log != NULL);
    if (log->count == 0) {
        return log->prev_chain;
    }
    return raft_log_meta_at(log, raft_log_last_index(log))->chain;
}

bool raft_log_holds(const struct raft_log *log, uint64_t index)
{
    assert(log != NULL);
    return index > log->prev_index && index <= log->prev_index + log->count;
}

bool raft_log_term_at(const struct raft_log *log, uint64_t index, uint64_t *term)
{
    assert(log != NULL);
    assert(term != NULL);
    if (index == log->prev_index) {
        *term = log->prev_term;
        return true;
    }
    if (index == 0) {
        *term = 0;
        return true;
    }
    if (!raft_log_holds(log, index)) {
        return false;
    }
    *term = raft_log_meta_at(log, index)->term;
    return true;
}

void raft_log_entry_at(const struct raft_log *log, uint64_t index, struct raft_entry *entry)
{
    assert(entry != NULL);
    const struct raft_log_meta *meta = raft_log_meta_at(log, index);
    entry->index = index;
    entry->term = meta->term;
    entry->type = (enum raft_entry_type)meta->type;
    entry->data_len = meta->data_len;
    entry->data = meta->data_len > 0 ? log->arena + (meta->data_pos % log->arena_size) : NULL;
}

/* Where a payload of `data_len` bytes would start: the tail, or the next lap if it would wrap. */
static uint64_t raft_log_arena_place(const struct raft_log *log, uint32_t data_len)
{
    uint64_t pos = log->arena_tail;
    uint64_t offset = pos % log->arena_size;
    if (data_len > 0 && offset + data_len > log->arena_size) {
        pos += log->arena_size - offset;
    }
    return pos;
}

bool raft_log_can_append(const struct raft_log *log, uint32_t data_len)
{
    assert(log != NULL);
    if (log->count >= log->capacity) {
        return false;
    }
    if (data_len > log->arena_size) {
        return false;
    }
    uint64_t pos = raft_log_arena_place(log, data_len);
    return pos + data_len - log->arena_head <= log->arena_size;
}

uint64_t raft_log_chain_seed(uint64_t index, uint64_t term)
{
    if (index == 0) {
        return 0;
    }
    return hash_fold_u64(hash_fold_u64(0, index), term);
}

static uint64_t raft_log_chain_next(uint64_t chain, uint64_t term, enum raft_entry_type type,
                                    const uint8_t *data, uint32_t data_len)
{
    uint64_t payload = hash_bytes(data, data_len, (uint64_t)type);
    return hash_fold_u64(hash_fold_u64(chain, term), payload);
}

void raft_log_append(struct raft_log *log, uint64_t term, enum raft_entry_type type,
                     const uint8_t *data, uint32_t data_len)
{
    assert(raft_log_can_append(log, data_len));
    assert(term >= raft_log_last_term(log));
    assert(data != NULL || data_len == 0);
    uint64_t chain = raft_log_chain_next(raft_log_chain(log), term, type, data, data_len);
    uint64_t pos = raft_log_arena_place(log, data_len);
    uint64_t slot = (log->head_slot + log->count) % log->capacity;
    struct raft_log_meta *meta = &log->metas[slot];
    meta->term = term;
    meta->chain = chain;
    meta->data_pos = pos;
    meta->data_len = data_len;
    meta->type = (uint8_t)type;
    if (data_len > 0) {
        memcpy(log->arena + (pos % log->arena_size), data, data_len);
    }
    log->arena_tail = pos + data_len;
    log->count++;
    assert(log->arena_tail - log->arena_head <= log->arena_size);
}

void raft_log_truncate_from(struct raft_log *log, uint64_t index)
{
    assert(log != NULL);
    assert(index > log->prev_index);
    if (index > raft_log_last_index(log)) {
        return;
    }
    log->count = index - log->prev_index - 1;
    if (log->count == 0) {
        log->arena_tail = log->arena_head;
        return;
    }
    const struct raft_log_meta *last = raft_log_meta_at(log, index - 1);
    log->arena_tail = last->data_pos + last->data_len;
    assert(log->arena_tail >= log->arena_head);
}

void raft_log_compact_to(struct raft_log *log, uint64_t index)
{
    assert(log != NULL);
    assert(index >= log->prev_index && index <= raft_log_last_index(log));
    if (index == log->prev_index) {
        return;
    }
    const struct raft_log_meta *meta = raft_log_meta_at(log, index);
    uint64_t dropped = index - log->prev_index;
    log->prev_term = meta->term;
    log->prev_chain = meta->chain;
    log->prev_index = index;
    log->head_slot = (log->head_slot + dropped) % log->capacity;
    log->count -= dropped;
    if (log->count == 0) {
        log->arena_head = log->arena_tail;
    } else {
        log->arena_head = raft_log_meta_at(log, index + 1)->data_pos;
    }
    assert(log->arena_head <= log->arena_tail);
}

void raft_log_reset(struct raft_log *log, uint64_t index, uint64_t term)
{
    assert(log != NULL);
    assert(index > 0 || term == 0);
    log->count = 0;
    log->head_slot = 0;
    log->arena_head = log->arena_tail;
    log->prev_index = index;
    log->prev_term = term;
    log->prev_chain = raft_log_chain_seed(index, term);
}
