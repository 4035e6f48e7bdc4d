/* Tests for workflows/kv determinism: equal command streams and equal states give equal hashes. */
#include "test_kv_workload.h"

/* Invariant: two replicas applying the same committed commands give byte-identical results and
 * equal hashes after every entry (state machine safety, Raft §5.4.3), including through session
 * eviction; and a replica restored from a mid-way snapshot converges to the same hash. */
Test(kv_determinism, replicas_agree_step_by_step)
{
    struct kv_limits limits = kv_limits_default();
    limits.sessions_max = 4; /* fewer than the clients: eviction happens */
    limits.keys_max = 12;    /* fewer than the keys: KEYS_FULL happens */
    struct kvt a = kvt_make(&limits);
    struct kvt b = kvt_make(&limits);
    struct kvt late = kvt_make(&limits);
    struct kvt_workload w = kvt_workload_make(99);
    static uint8_t payload[KVT_WORKLOAD_PAYLOAD];
    int duplicates = 0;
    int statuses[KV_STATUS_COUNT] = { 0 };
    for (uint64_t index = 1; index <= 4000; index++) {
        size_t len = kvt_workload_next(&w, index, payload, sizeof(payload));
        struct kv_applied ra = kvt_apply_bytes(&a, payload, len);
        uint8_t *copy = kvt_copy(&ra);
        size_t copy_len = ra.result_len;
        bool duplicate = ra.duplicate;
        struct kv_applied rb = kvt_apply_bytes(&b, payload, len);
        cr_assert_eq(rb.result_len, copy_len);
        cr_assert(memcmp(rb.result_bytes, copy, copy_len) == 0, "index %llu",
                  (unsigned long long)index);
        cr_assert_eq(rb.duplicate, duplicate);
        cr_assert_eq(kv_hash(a.kv), kv_hash(b.kv), "index %llu", (unsigned long long)index);
        duplicates += duplicate;
        statuses[rb.result.status]++;
        free(copy);
        if (index == 2000) {
            size_t snap_len;
            uint8_t *snap = kvt_snapshot(a.kv, &snap_len);
            struct kv_error error;
            cr_assert_eq(kv_restore(late.kv, snap, snap_len, &error), 0, "%s", error.reason);
            late.next_index = index + 1;
            free(snap);
        } else if (index > 2000) {
            kvt_apply_bytes(&late, payload, len);
        }
    }
    cr_assert_eq(kv_hash(late.kv), kv_hash(a.kv));
    cr_assert(duplicates > 0, "the workload produced retries");
    cr_assert(statuses[KV_STATUS_SESSION_STALE] > 0, "and stale numbers");
    cr_assert(statuses[KV_STATUS_SESSION_UNKNOWN] > 0, "and evicted sessions");
    cr_assert(statuses[KV_STATUS_KEYS_FULL] > 0, "and a full store");
    cr_assert(statuses[KV_STATUS_MALFORMED] > 0, "and malformed payloads");
    kvt_free(&late);
    kvt_free(&b);
    kvt_free(&a);
}

/* Invariant: the hash depends only on the logical state, not on insertion order or history:
 * the same final contents reached by different orders and paths hash alike. */
Test(kv_determinism, hash_independent_of_history)
{
    struct kvt forward = kvt_make(NULL);
    struct kvt backward = kvt_make(NULL);
    struct kvt churned = kvt_make(NULL);
    char key[16];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        kvt_apply(&forward, kv_command_put(0, 0, KVS(key), KVS("v")));
        snprintf(key, sizeof(key), "key-%d", 199 - i);
        kvt_apply(&backward, kv_command_put(0, 0, KVS(key), KVS("v")));
    }
    /* Churned: insert 2000 other keys (the table grows), overwrite, delete them all again. */
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "tmp-%d", i);
        kvt_apply(&churned, kv_command_put(0, 0, KVS(key), KVS("x")));
    }
    for (int i = 199; i >= 0; i--) {
        snprintf(key, sizeof(key), "key-%d", i);
        kvt_apply(&churned, kv_command_put(0, 0, KVS(key), KVS("old")));
        kvt_apply(&churned, kv_command_put(0, 0, KVS(key), KVS("v")));
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "tmp-%d", (i * 7) % 2000);
        kvt_apply(&churned, kv_command_delete(0, 0, KVS(key)));
    }
    cr_assert_eq(kv_key_count(churned.kv), 200);
    cr_assert_eq(kv_hash(forward.kv), kv_hash(backward.kv));
    cr_assert_eq(kv_hash(forward.kv), kv_hash(churned.kv));
    size_t len_f;
    size_t len_c;
    uint8_t *snap_f = kvt_snapshot(forward.kv, &len_f);
    uint8_t *snap_c = kvt_snapshot(churned.kv, &len_c);
    cr_assert_eq(len_f, len_c);
    cr_assert(memcmp(snap_f + 16, snap_c + 16, len_f - 24) == 0,
              "equal states give equal snapshot bodies (only the applied index differs)");
    free(snap_f);
    free(snap_c);
    kvt_free(&churned);
    kvt_free(&backward);
    kvt_free(&forward);
}

/* Invariant: different logical states hash differently (values, keys, and session state all
 * count), so the hash can catch divergent replicas. */
Test(kv_determinism, hash_sees_every_part_of_state)
{
    struct kvt base = kvt_make(NULL);
    uint64_t empty = kv_hash(base.kv);
    kvt_apply(&base, kv_command_put(0, 0, KVS("k"), KVS("1")));
    uint64_t one = kv_hash(base.kv);
    cr_assert_neq(one, empty);

    struct kvt other_value = kvt_make(NULL);
    kvt_apply(&other_value, kv_command_put(0, 0, KVS("k"), KVS("2")));
    cr_assert_neq(kv_hash(other_value.kv), one);

    struct kvt split = kvt_make(NULL); /* "k"+"1" vs "k1"+"" must not collide by concatenation */
    kvt_apply(&split, kv_command_put(0, 0, KVS("k1"), "", 0));
    cr_assert_neq(kv_hash(split.kv), one);

    uint64_t id = kvt_register(&base);
    uint64_t registered = kv_hash(base.kv);
    cr_assert_neq(registered, one, "a session is part of the state");
    kvt_apply(&base, kv_command_get(id, 1, KVS("k")));
    uint64_t answered = kv_hash(base.kv);
    cr_assert_neq(answered, registered, "a remembered answer is part of the state");
    kvt_free(&split);
    kvt_free(&other_value);
    kvt_free(&base);
}

/* Invariant: the hash of a store that is hashed after every change (so its cached key order is
 * patched and rebuilt along the way) equals the hash of a fresh store holding the same contents. */
Test(kv_determinism, hash_cache_follows_changes)
{
    struct kvt t = kvt_make(NULL);
    struct prng prng;
    prng_seed(&prng, 5);
    char key[16];
    char value[16];
    for (int step = 0; step < 3000; step++) {
        uint32_t key_len =
            (uint32_t)snprintf(key, sizeof(key), "k%u", (unsigned)prng_below(&prng, 64));
        uint32_t value_len = (uint32_t)snprintf(value, sizeof(value), "%d", step);
        uint64_t op = prng_below(&prng, 8);
        if (op == 0) {
            kvt_apply(&t, kv_command_delete(0, 0, key, key_len));
        } else if (op == 1) {
            kvt_apply(&t, kv_command_cas(0, 0, key, key_len, "0", 1, value, value_len));
        } else {
            kvt_apply(&t, kv_command_put(0, 0, key, key_len, value, value_len));
        }
        uint64_t hash = kv_hash(t.kv);
        if (step % 300 != 299) {
            continue;
        }
        struct kvt fresh = kvt_make(NULL);
        for (unsigned k = 0; k < 64; k++) {
            const uint8_t *v;
            uint32_t v_len;
            key_len = (uint32_t)snprintf(key, sizeof(key), "k%u", 63 - k);
            if (kv_read(t.kv, key, key_len, &v, &v_len)) {
                kvt_apply(&fresh, kv_command_put(0, 0, key, key_len, v, v_len));
            }
        }
        cr_assert_eq(kv_key_count(fresh.kv), kv_key_count(t.kv));
        cr_assert_eq(kv_hash(fresh.kv), hash, "step %d", step);
        kvt_free(&fresh);
    }
    kvt_free(&t);
}
