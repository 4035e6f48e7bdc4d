/* The KV store's client session table: last answered sequence number and result per client. */
#ifndef FLOWRAFT_WORKFLOWS_KV_SESSION_H
#define FLOWRAFT_WORKFLOWS_KV_SESSION_H

#include <stddef.h>
#include <stdint.h>

/*
 * Internal to workflows/kv_*. Sessions live in one array sorted by client id. Ids are the log
 * indexes of register entries, which only grow, so a new session is always appended; eviction of
 * the least recently used session (smallest last_used_index; indexes are unique, so there are no
 * ties) shifts the tail down. Lookup is a binary search.
 *
 * Each session caches the hash of its fields and the table keeps their sum (mod 2^64), so kv_hash
 * folds the sessions in O(1). Every change to a session goes through a function here (open, evict,
 * answer, touch, restore), which updates both in O(1).
 */
struct kv_session {
    uint64_t client_id;       /* invariant: >= 1, the index of the register entry */
    uint64_t last_seq;        /* last answered sequence number; 0 before the first answer */
    uint64_t last_used_index; /* invariant: client_id <= last_used_index <= applied index */
    uint8_t *result;          /* encoded result of last_seq (owned); NULL iff result_len == 0 */
    uint32_t result_len;      /* invariant: result_len == 0 iff last_seq == 0 */
    uint32_t result_cap;
    uint64_t hash; /* invariant: kv_session_hash(this session's fields) */
};

struct kv_sessions {
    struct kv_session *items; /* ascending client_id */
    uint32_t count;           /* invariant: count <= cap <= max */
    uint32_t cap;
    uint32_t max;      /* kv_limits.sessions_max */
    uint64_t hash_sum; /* invariant: sum mod 2^64 of items[0..count).hash */
};

/* XXH3-64 of a session's logical fields: client_id, last_seq, last_used_index, the result. */
uint64_t kv_session_hash(const struct kv_session *session);

/* The sum of kv_session_hash over every session, recomputed from the fields (not from the cached
 * hashes nor from hash_sum): what hash_sum must equal. O(sessions). Tests and asserts. */
uint64_t kv_sessions_hash_sum_recompute(const struct kv_sessions *sessions);

void kv_sessions_init(struct kv_sessions *sessions, uint32_t max);
void kv_sessions_free(struct kv_sessions *sessions);

/* The session with this id, or NULL. */
struct kv_session *kv_sessions_find(const struct kv_sessions *sessions, uint64_t client_id);

/* Makes room so the next kv_sessions_open cannot fail; -1 (unchanged) if memory is exhausted. */
int kv_sessions_reserve(struct kv_sessions *sessions);

/*
 * Opens session `client_id` (greater than every id in the table) used at `index`; if the table is
 * full, first evicts the least recently used session. Room must have been reserved.
 */
struct kv_session *kv_sessions_open(struct kv_sessions *sessions, uint64_t client_id,
                                    uint64_t index);

/* Makes room for a remembered result of `len` bytes; -1 (unchanged) if memory is exhausted. */
int kv_session_reserve_result(struct kv_session *session, size_t len);

/* Remembers `result` (len bytes, room reserved) as the answer to `seq`, given at `index`. */
void kv_session_answer(struct kv_sessions *sessions, struct kv_session *session, uint64_t seq,
                       uint64_t index, const uint8_t *result, size_t len);

/* Records that `session` was used at `index` without a new answer (a stale or repeated seq). */
void kv_session_touch(struct kv_sessions *sessions, struct kv_session *session, uint64_t index);

/* Restore only: sets the remembered answer of a session just opened (room reserved), keeping its
 * last used index. */
void kv_session_restore_answer(struct kv_sessions *sessions, struct kv_session *session,
                               uint64_t seq, const uint8_t *result, size_t len);

#endif
