/* Client session table: sorted by id, binary-searched, least recently used evicted when full. */
#include "workflows/kv_session.h"

#include "core/bytes.h"
#include "core/hash.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define SESSIONS_CAP_MIN  8u
#define SESSION_HASH_SEED 0x4b5653455353ull /* "KVSESS": the state hash's per-session domain */

uint64_t kv_session_hash(const struct kv_session *session)
{
    assert(session != NULL);
    assert(session->result != NULL || session->result_len == 0);
    uint8_t fields[28];
    bytes_put_u64(fields, session->client_id);
    bytes_put_u64(fields + 8, session->last_seq);
    bytes_put_u64(fields + 16, session->last_used_index);
    bytes_put_u32(fields + 24, session->result_len);
    uint64_t h = hash_bytes(fields, sizeof(fields), SESSION_HASH_SEED);
    return hash_bytes(session->result, session->result_len, h);
}

uint64_t kv_sessions_hash_sum_recompute(const struct kv_sessions *sessions)
{
    assert(sessions != NULL);
    assert(sessions->count <= sessions->cap);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < sessions->count; i++) {
        sum += kv_session_hash(&sessions->items[i]);
    }
    return sum;
}

/* After any change to `session`'s fields: its cached hash and the table's sum follow. */
static void rehash(struct kv_sessions *sessions, struct kv_session *session)
{
    sessions->hash_sum -= session->hash;
    session->hash = kv_session_hash(session);
    sessions->hash_sum += session->hash;
}

void kv_sessions_init(struct kv_sessions *sessions, uint32_t max)
{
    assert(sessions != NULL);
    assert(max >= 1);
    memset(sessions, 0, sizeof(*sessions));
    sessions->max = max;
}

void kv_sessions_free(struct kv_sessions *sessions)
{
    assert(sessions != NULL);
    assert(sessions->count <= sessions->cap);
    for (uint32_t i = 0; i < sessions->count; i++) {
        free(sessions->items[i].result);
    }
    free(sessions->items);
    memset(sessions, 0, sizeof(*sessions));
}

struct kv_session *kv_sessions_find(const struct kv_sessions *sessions, uint64_t client_id)
{
    assert(sessions != NULL);
    uint32_t lo = 0;
    uint32_t hi = sessions->count;
    /* Bounded: the range halves every step, at most 32 steps. */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t id = sessions->items[mid].client_id;
        if (id == client_id) {
            return &sessions->items[mid];
        }
        if (id < client_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

int kv_sessions_reserve(struct kv_sessions *sessions)
{
    assert(sessions != NULL);
    assert(sessions->count <= sessions->max);
    if (sessions->count < sessions->cap || sessions->count == sessions->max) {
        return 0; /* room, or the next open evicts one */
    }
    uint64_t cap =
        sessions->cap < SESSIONS_CAP_MIN ? SESSIONS_CAP_MIN : (uint64_t)sessions->cap * 2;
    if (cap > sessions->max) {
        cap = sessions->max;
    }
    struct kv_session *items = realloc(sessions->items, (size_t)cap * sizeof(*items));
    if (items == NULL) {
        return -1;
    }
    sessions->items = items;
    sessions->cap = (uint32_t)cap;
    return 0;
}

static void evict_least_recently_used(struct kv_sessions *sessions)
{
    assert(sessions->count > 0);
    uint32_t victim = 0;
    for (uint32_t i = 1; i < sessions->count; i++) {
        assert(sessions->items[i].last_used_index != sessions->items[victim].last_used_index);
        if (sessions->items[i].last_used_index < sessions->items[victim].last_used_index) {
            victim = i;
        }
    }
    sessions->hash_sum -= sessions->items[victim].hash;
    free(sessions->items[victim].result);
    memmove(&sessions->items[victim], &sessions->items[victim + 1],
            (size_t)(sessions->count - victim - 1) * sizeof(*sessions->items));
    sessions->count--;
}

struct kv_session *kv_sessions_open(struct kv_sessions *sessions, uint64_t client_id,
                                    uint64_t index)
{
    assert(sessions != NULL);
    assert(client_id >= 1);
    assert(client_id <= index);
    assert(sessions->count == 0 || sessions->items[sessions->count - 1].client_id < client_id);
    if (sessions->count == sessions->max) {
        evict_least_recently_used(sessions);
    }
    assert(sessions->count < sessions->cap);
    struct kv_session *session = &sessions->items[sessions->count++];
    memset(session, 0, sizeof(*session));
    session->client_id = client_id;
    session->last_used_index = index;
    session->hash = kv_session_hash(session);
    sessions->hash_sum += session->hash;
    return session;
}

int kv_session_reserve_result(struct kv_session *session, size_t len)
{
    assert(session != NULL);
    assert(len <= UINT32_MAX);
    if (session->result_cap >= len) {
        return 0;
    }
    uint8_t *result = realloc(session->result, len);
    if (result == NULL) {
        return -1;
    }
    session->result = result;
    session->result_cap = (uint32_t)len;
    return 0;
}

void kv_session_answer(struct kv_sessions *sessions, struct kv_session *session, uint64_t seq,
                       uint64_t index, const uint8_t *result, size_t len)
{
    assert(sessions != NULL);
    assert(session != NULL);
    assert(seq > session->last_seq);
    assert(index > session->last_used_index);
    assert(len > 0 && len <= session->result_cap);
    memcpy(session->result, result, len);
    session->result_len = (uint32_t)len;
    session->last_seq = seq;
    session->last_used_index = index;
    rehash(sessions, session);
}

void kv_session_touch(struct kv_sessions *sessions, struct kv_session *session, uint64_t index)
{
    assert(sessions != NULL);
    assert(session != NULL);
    assert(index > session->last_used_index);
    session->last_used_index = index;
    rehash(sessions, session);
}

void kv_session_restore_answer(struct kv_sessions *sessions, struct kv_session *session,
                               uint64_t seq, const uint8_t *result, size_t len)
{
    assert(sessions != NULL);
    assert(session != NULL);
    assert(session->last_seq == 0 && seq > 0);
    assert(len > 0 && len <= session->result_cap);
    memcpy(session->result, result, len);
    session->result_len = (uint32_t)len;
    session->last_seq = seq;
    rehash(sessions, session);
}
