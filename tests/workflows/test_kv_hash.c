/* Tests for the KV state hash kept incrementally: it always equals a from-scratch hash. */
#include "test_kv_util.h"

#include "core/prng.h"

#include <stdio.h>

#define CLIENTS    5
#define KEYS       24
#define STEPS      6000
#define LONG_VALUE 300 /* past XXH3's 240-byte short-input path */

/* A random workload touching every kind of change: inserts, overwrites, deletes, compare-and-set,
 * long values, registrations with eviction, retries (remembered answers), stale numbers, a full
 * store, sessionless writes and malformed payloads. */
struct workload {
    struct prng prng;
    uint64_t ids[CLIENTS];
    uint64_t seqs[CLIENTS];
};

static size_t next_payload(struct workload *w, uint64_t index, uint8_t *payload, size_t cap)
{
    char key[8];
    static char value[LONG_VALUE + 1];
    uint32_t key_len =
        (uint32_t)snprintf(key, sizeof(key), "k%u", (unsigned)prng_below(&w->prng, KEYS));
    uint32_t value_len =
        prng_below(&w->prng, 10) == 0
            ? LONG_VALUE
            : (uint32_t)snprintf(value, sizeof(value), "%u", (unsigned)prng_below(&w->prng, 5));
    if (value_len == LONG_VALUE) {
        memset(value, 'a' + (int)prng_below(&w->prng, 26), LONG_VALUE);
    }
    uint64_t c = prng_below(&w->prng, CLIENTS);
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
    uint64_t id = roll < 12 ? 0 : w->ids[c];
    uint64_t seq = 0;
    if (id != 0) {
        if (roll < 22 && w->seqs[c] > 0) {
            seq = w->seqs[c]; /* a retry: answered from the session */
        } else if (roll < 26 && w->seqs[c] > 1) {
            seq = w->seqs[c] - 1; /* stale */
        } else {
            seq = ++w->seqs[c];
        }
    }
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

static struct kv_limits small_limits(void)
{
    struct kv_limits limits = kv_limits_default();
    limits.sessions_max = 3; /* fewer than the clients: sessions are evicted */
    limits.keys_max = 16;    /* fewer than the keys: KEYS_FULL happens */
    return limits;
}

/* Invariant: after every applied entry, the O(1) incremental kv_hash equals kv_hash_recompute,
 * which hashes every stored key, value and session from scratch. */
Test(kv_hash, incremental_equals_from_scratch_after_every_entry)
{
    struct kv_limits limits = small_limits();
    struct kvt t = kvt_make(&limits);
    struct workload w = { 0 };
    prng_seed(&w.prng, 7);
    static uint8_t payload[1024];
    int statuses[KV_STATUS_COUNT] = { 0 };
    for (uint64_t index = 1; index <= STEPS; index++) {
        size_t len = next_payload(&w, index, payload, sizeof(payload));
        struct kv_applied out = kvt_apply_bytes(&t, payload, len);
        statuses[out.result.status]++;
        cr_assert_eq(kv_hash(t.kv), kv_hash_recompute(t.kv), "index %llu",
                     (unsigned long long)index);
    }
    cr_assert(statuses[KV_STATUS_SESSION_UNKNOWN] > 0, "sessions were evicted");
    cr_assert(statuses[KV_STATUS_SESSION_STALE] > 0, "stale numbers were answered");
    cr_assert(statuses[KV_STATUS_KEYS_FULL] > 0, "the store filled up");
    cr_assert(statuses[KV_STATUS_NOT_FOUND] > 0, "deletes and gets missed");
    cr_assert(statuses[KV_STATUS_MALFORMED] > 0, "malformed payloads were applied");
    kvt_free(&t);
}

/* Invariant: a snapshot restores to a store with the same hash (incremental and from scratch)
 * and byte-identical snapshots, and the restored store keeps agreeing with the original as both
 * apply the same entries afterwards (the restored per-item hashes and sums are right). */
Test(kv_hash, snapshots_round_trip_and_keep_agreeing)
{
    struct kv_limits limits = small_limits();
    struct kvt a = kvt_make(&limits);
    struct kvt b = kvt_make(&limits);
    struct workload w = { 0 };
    prng_seed(&w.prng, 11);
    static uint8_t payload[1024];
    for (uint64_t index = 1; index <= STEPS; index++) {
        size_t len = next_payload(&w, index, payload, sizeof(payload));
        kvt_apply_bytes(&a, payload, len);
        if (index % 500 == 0) {
            size_t snap_len = 0;
            uint8_t *snap = kvt_snapshot(a.kv, &snap_len);
            kvt_free(&b);
            b = kvt_make(&limits);
            struct kv_error error;
            cr_assert_eq(kv_restore(b.kv, snap, snap_len, &error), 0, "%s", error.reason);
            b.next_index = index + 1;
            cr_assert_eq(kv_hash(b.kv), kv_hash(a.kv), "index %llu", (unsigned long long)index);
            cr_assert_eq(kv_hash_recompute(b.kv), kv_hash(b.kv));
            size_t again_len = 0;
            uint8_t *again = kvt_snapshot(b.kv, &again_len);
            cr_assert_eq(again_len, snap_len);
            cr_assert(memcmp(again, snap, snap_len) == 0, "snapshots are canonical");
            free(again);
            free(snap);
        } else if (index > 500) {
            kvt_apply_bytes(&b, payload, len);
            cr_assert_eq(kv_hash(b.kv), kv_hash(a.kv), "index %llu", (unsigned long long)index);
        }
    }
    kvt_free(&b);
    kvt_free(&a);
}

/* Invariant: the hash binds each value to its key and covers every session field: swapping two
 * keys' values, or answering a session differently, changes it (a sum of per-item hashes must
 * not lose which item held what). */
Test(kv_hash, binds_values_to_keys_and_covers_sessions)
{
    struct kvt x = kvt_make(NULL);
    struct kvt y = kvt_make(NULL);
    kvt_apply(&x, kv_command_put(0, 0, KVS("a"), KVS("1")));
    kvt_apply(&x, kv_command_put(0, 0, KVS("b"), KVS("2")));
    kvt_apply(&y, kv_command_put(0, 0, KVS("a"), KVS("2")));
    kvt_apply(&y, kv_command_put(0, 0, KVS("b"), KVS("1")));
    cr_assert_neq(kv_hash(x.kv), kv_hash(y.kv), "swapped values");
    kvt_apply(&y, kv_command_put(0, 0, KVS("a"), KVS("1")));
    kvt_apply(&y, kv_command_put(0, 0, KVS("b"), KVS("2")));
    cr_assert_eq(kv_hash(x.kv), kv_hash(y.kv), "same pairs, other history");
    kvt_apply(&x, kv_command_put(0, 0, KVS("b"), KVS("2"))); /* x catches up to y's index */
    kvt_apply(&x, kv_command_put(0, 0, KVS("a"), KVS("1")));
    cr_assert_eq(kv_hash(x.kv), kv_hash(y.kv));

    uint64_t id_x = kvt_register(&x);
    uint64_t id_y = kvt_register(&y);
    cr_assert_eq(id_x, id_y);
    cr_assert_eq(kv_hash(x.kv), kv_hash(y.kv));
    kvt_apply(&x, kv_command_get(id_x, 1, KVS("a")));
    kvt_apply(&y, kv_command_get(id_y, 1, KVS("b")));
    cr_assert_neq(kv_hash(x.kv), kv_hash(y.kv), "remembered answers differ");
    cr_assert_eq(kv_hash(x.kv), kv_hash_recompute(x.kv));
    cr_assert_eq(kv_hash(y.kv), kv_hash_recompute(y.kv));
    kvt_free(&y);
    kvt_free(&x);
}
