/* A seeded random KV client workload shared by the KV tests, encoded entry by entry. */
#ifndef FLOWRAFT_TESTS_WORKFLOWS_TEST_KV_WORKLOAD_H
#define FLOWRAFT_TESTS_WORKFLOWS_TEST_KV_WORKLOAD_H

#include "test_kv_util.h"

#include "core/prng.h"

#include <stdio.h>

#define KVT_WORKLOAD_CLIENTS 5
#define KVT_WORKLOAD_KEYS    24
#define KVT_WORKLOAD_LONG    300  /* a long value: past XXH3's 240-byte short-input path */
#define KVT_WORKLOAD_PAYLOAD 1024 /* payload buffers of this size hold any entry it makes */

/* Every kind of change: inserts, overwrites, deletes, compare-and-set, long values,
 * registrations with eviction, retries (remembered answers), stale numbers, a full store,
 * sessionless writes and malformed payloads, drawn from `prng`. */
struct kvt_workload {
    struct prng prng;
    uint64_t ids[KVT_WORKLOAD_CLIENTS];  /* a client's session id, 0 before it registers */
    uint64_t seqs[KVT_WORKLOAD_CLIENTS]; /* the last sequence number a client used */
};

static inline struct kvt_workload kvt_workload_make(uint64_t seed)
{
    struct kvt_workload w;
    memset(&w, 0, sizeof(w));
    prng_seed(&w.prng, seed);
    return w;
}

/* The sequence number of client c's next request (0 without a session): mostly a new one,
 * sometimes a retry of the last (answered from the session) or an older, stale one. */
static inline uint64_t kvt_workload_seq(struct kvt_workload *w, uint64_t c, uint64_t roll)
{
    if (w->ids[c] == 0 || roll < 12) {
        return 0;
    }
    if (roll < 22 && w->seqs[c] > 0) {
        return w->seqs[c];
    }
    if (roll < 26 && w->seqs[c] > 1) {
        return w->seqs[c] - 1;
    }
    return ++w->seqs[c];
}

/* Encodes the entry to apply at `index` into payload[0, cap) and returns its length. */
static inline size_t kvt_workload_next(struct kvt_workload *w, uint64_t index, uint8_t *payload,
                                       size_t cap)
{
    cr_assert_geq(cap, KVT_WORKLOAD_PAYLOAD);
    char key[8];
    static char value[KVT_WORKLOAD_LONG + 1];
    uint32_t key_len = (uint32_t)snprintf(key, sizeof(key), "k%u",
                                          (unsigned)prng_below(&w->prng, KVT_WORKLOAD_KEYS));
    uint32_t value_len = KVT_WORKLOAD_LONG;
    if (prng_below(&w->prng, 10) == 0) {
        memset(value, 'a' + (int)prng_below(&w->prng, 26), KVT_WORKLOAD_LONG);
    } else {
        value_len =
            (uint32_t)snprintf(value, sizeof(value), "%u", (unsigned)prng_below(&w->prng, 5));
    }
    uint64_t c = prng_below(&w->prng, KVT_WORKLOAD_CLIENTS);
    uint64_t roll = prng_below(&w->prng, 100);
    size_t len = 0;
    if (w->ids[c] == 0 || roll < 3) {
        w->ids[c] = index; /* this entry registers; its index is the id */
        w->seqs[c] = 0;
        struct kv_command reg = kv_command_register();
        cr_assert_eq(kv_command_encode(&reg, payload, cap, &len, NULL), 0);
        return len;
    }
    if (roll < 5) {
        payload[0] = KV_TAG;
        payload[1] = (uint8_t)roll;
        return 2; /* malformed */
    }
    uint64_t seq = kvt_workload_seq(w, c, roll);
    uint64_t id = seq == 0 ? 0 : w->ids[c];
    struct kv_command command;
    switch (prng_below(&w->prng, 5)) {
    case 0:
        command = kv_command_delete(id, seq, key, key_len);
        break;
    case 1:
        command = kv_command_get(id, seq, key, key_len);
        break;
    case 2:
        command = kv_command_cas(id, seq, key, key_len, "1", 1, value, value_len);
        break;
    case 3:
        command = kv_command_cas_absent(id, seq, key, key_len, value, value_len);
        break;
    default:
        command = kv_command_put(id, seq, key, key_len, value, value_len);
        break;
    }
    cr_assert_eq(kv_command_encode(&command, payload, cap, &len, NULL), 0);
    return len;
}

#endif
