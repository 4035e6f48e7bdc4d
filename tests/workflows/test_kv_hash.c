/* Tests for the KV state hash kept incrementally: it always equals a from-scratch hash. */
#include "test_kv_workload.h"

#define STEPS 6000

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
    struct kvt_workload w = kvt_workload_make(7);
    static uint8_t payload[KVT_WORKLOAD_PAYLOAD];
    int statuses[KV_STATUS_COUNT] = { 0 };
    for (uint64_t index = 1; index <= STEPS; index++) {
        size_t len = kvt_workload_next(&w, index, payload, sizeof(payload));
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
    struct kvt_workload w = kvt_workload_make(11);
    static uint8_t payload[KVT_WORKLOAD_PAYLOAD];
    for (uint64_t index = 1; index <= STEPS; index++) {
        size_t len = kvt_workload_next(&w, index, payload, sizeof(payload));
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
