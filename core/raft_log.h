/* In-memory Raft log: a ring of entry metadata plus a ring arena of payload bytes (core-private).
 */
#ifndef FLOWRAFT_CORE_RAFT_LOG_H
#define FLOWRAFT_CORE_RAFT_LOG_H

#include "core/raft.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The log holds entries prev_index+1 .. prev_index+count. Entries before that were compacted
 * into a snapshot (issue 6); only the last compacted entry's (index, term) is remembered, so the
 * AppendEntries consistency check (§5.3) still works right after the snapshot point.
 *
 * Payloads live in a byte ring addressed by absolute, ever-increasing positions: an entry's
 * payload occupies [data_pos, data_pos + data_len), never wrapping (the arena skips to the next
 * lap instead). Used bytes are arena_tail - arena_head, invariant: <= arena_size.
 *
 * Each entry also stores `chain`, a running XXH3 over the terms, types and payload hashes of all
 * entries up to it (seeded by the compaction point), so the state hash of the log is O(1).
 */
struct raft_log_meta {
    uint64_t term;     /* invariant: >= previous entry's term (§5.3 append-only, terms grow) */
    uint64_t chain;    /* running hash through this entry */
    uint64_t data_pos; /* absolute arena position */
    uint32_t data_len;
    uint8_t type; /* enum raft_entry_type */
};

struct raft_log {
    struct raft_log_meta *metas; /* ring of `capacity` slots, owned by the node's allocation */
    uint64_t capacity;
    uint8_t *arena; /* `arena_size` bytes, owned by the node's allocation */
    uint64_t arena_size;
    uint64_t head_slot; /* slot of the first held entry; invariant: < capacity */
    uint64_t count;     /* invariant: <= capacity */
    uint64_t arena_head;
    uint64_t arena_tail; /* invariant: arena_head <= arena_tail <= arena_head + arena_size */
    uint64_t prev_index; /* the entry just before the first held one (0 = start of the log) */
    uint64_t prev_term;
    uint64_t prev_chain;
};

void raft_log_init(struct raft_log *log, struct raft_log_meta *metas, uint64_t capacity,
                   uint8_t *arena, uint64_t arena_size);

uint64_t raft_log_first_index(const struct raft_log *log);
uint64_t raft_log_last_index(const struct raft_log *log);
uint64_t raft_log_last_term(const struct raft_log *log);
/* Running hash of the whole log (prev_chain when empty). */
uint64_t raft_log_chain(const struct raft_log *log);

/* True if `index` is held (prev_index < index <= last). */
bool raft_log_holds(const struct raft_log *log, uint64_t index);
/* Term at `index`: known for held entries, for prev_index, and for index 0 (term 0). */
bool raft_log_term_at(const struct raft_log *log, uint64_t index, uint64_t *term);
/* The metadata of a held entry. */
const struct raft_log_meta *raft_log_meta_at(const struct raft_log *log, uint64_t index);
/* Fills `entry` for a held index; the payload points into the arena. */
void raft_log_entry_at(const struct raft_log *log, uint64_t index, struct raft_entry *entry);

/* True if one more entry with a `data_len`-byte payload fits. */
bool raft_log_can_append(const struct raft_log *log, uint32_t data_len);
/* Appends at last_index + 1 (requires raft_log_can_append and term >= last term). */
void raft_log_append(struct raft_log *log, uint64_t term, enum raft_entry_type type,
                     const uint8_t *data, uint32_t data_len);
/* Drops every held entry with index >= `index` (requires index > prev_index). */
void raft_log_truncate_from(struct raft_log *log, uint64_t index);
/* Drops every held entry with index <= `index` (requires a held index or prev_index). */
void raft_log_compact_to(struct raft_log *log, uint64_t index);
/* Empties the log and restarts it after (index, term): a snapshot replaced everything. */
void raft_log_reset(struct raft_log *log, uint64_t index, uint64_t term);

/* The running hash seed for a log that starts after (index, term). */
uint64_t raft_log_chain_seed(uint64_t index, uint64_t term);

#endif
