/* Tests for workflows/kv: put, get, delete, compare-and-set, limits, malformed payloads. */
#include "test_kv_util.h"

#include "core/prng.h"

#include <signal.h>
#include <stdio.h>

/* Invariant: put stores the value, get returns it, overwrite replaces it, delete removes it. */
Test(kv_ops, put_get_overwrite_delete)
{
    struct kvt t = kvt_make(NULL);
    struct kv_applied out = kvt_apply(&t, kv_command_get(0, 0, KVS("k")));
    cr_assert_eq(out.result.status, KV_STATUS_NOT_FOUND);
    cr_assert(!out.result.has_value);

    out = kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("v1")));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    cr_assert_eq(out.result.op, KV_OP_PUT);
    cr_assert_eq(out.result.index, 2);
    cr_assert(!out.result.has_value);
    kvt_expect_value(&t, "k", "v1");

    out = kvt_apply(&t, kv_command_get(0, 0, KVS("k")));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    cr_assert(kvt_result_is(&out.result, "v1"));

    out = kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("second")));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    kvt_expect_value(&t, "k", "second");
    cr_assert_eq(kv_key_count(t.kv), 1);
    cr_assert_eq(kv_bytes_used(t.kv), 1 + 6);

    out = kvt_apply(&t, kv_command_delete(0, 0, KVS("k")));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    kvt_expect_absent(&t, "k");
    cr_assert_eq(kv_key_count(t.kv), 0);
    cr_assert_eq(kv_bytes_used(t.kv), 0);

    out = kvt_apply(&t, kv_command_delete(0, 0, KVS("k")));
    cr_assert_eq(out.result.status, KV_STATUS_NOT_FOUND);
    kvt_free(&t);
}

/* Invariant: keys and values are byte strings: empty and NUL-containing ones are distinct keys. */
Test(kv_ops, binary_and_empty_keys_and_values)
{
    struct kvt t = kvt_make(NULL);
    const uint8_t a[] = { 'x', 0, 'y' };
    const uint8_t b[] = { 'x', 0, 'z' };
    kvt_apply(&t, kv_command_put(0, 0, a, 3, "A", 1));
    kvt_apply(&t, kv_command_put(0, 0, b, 3, "B", 1));
    kvt_apply(&t, kv_command_put(0, 0, "x", 1, "", 0));
    kvt_apply(&t, kv_command_put(0, 0, "", 0, "empty-key", 9));
    cr_assert_eq(kv_key_count(t.kv), 4);

    const uint8_t *value;
    uint32_t len;
    cr_assert(kv_read(t.kv, a, 3, &value, &len));
    cr_assert(len == 1 && value[0] == 'A');
    cr_assert(kv_read(t.kv, b, 3, &value, &len));
    cr_assert(len == 1 && value[0] == 'B');
    cr_assert(kv_read(t.kv, "x", 1, &value, &len));
    cr_assert_eq(len, 0);
    struct kv_applied out = kvt_apply(&t, kv_command_get(0, 0, "x", 1));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    cr_assert(out.result.has_value, "an empty value is a value, not absence");
    cr_assert_eq(out.result.value_len, 0);
    kvt_expect_value(&t, "", "empty-key");
    kvt_free(&t);
}

/* Invariant: cas swaps only when the current value equals the expected one; else it reports it. */
Test(kv_ops, cas_semantics)
{
    struct kvt t = kvt_make(NULL);
    struct kv_applied out = kvt_apply(&t, kv_command_cas(0, 0, KVS("r"), KVS("0"), KVS("1")));
    cr_assert_eq(out.result.status, KV_STATUS_CAS_MISMATCH, "cas on an absent key fails");
    cr_assert(!out.result.has_value, "absent key: no current value");
    kvt_expect_absent(&t, "r");

    out = kvt_apply(&t, kv_command_cas_absent(0, 0, KVS("r"), KVS("0")));
    cr_assert_eq(out.result.status, KV_STATUS_OK, "cas-absent creates");
    kvt_expect_value(&t, "r", "0");

    out = kvt_apply(&t, kv_command_cas_absent(0, 0, KVS("r"), KVS("9")));
    cr_assert_eq(out.result.status, KV_STATUS_CAS_MISMATCH, "cas-absent on a present key fails");
    cr_assert(kvt_result_is(&out.result, "0"));
    kvt_expect_value(&t, "r", "0");

    out = kvt_apply(&t, kv_command_cas(0, 0, KVS("r"), KVS("7"), KVS("1")));
    cr_assert_eq(out.result.status, KV_STATUS_CAS_MISMATCH);
    cr_assert(kvt_result_is(&out.result, "0"), "mismatch reports the current value");
    kvt_expect_value(&t, "r", "0");

    out = kvt_apply(&t, kv_command_cas(0, 0, KVS("r"), KVS("0"), KVS("1")));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    cr_assert(!out.result.has_value);
    kvt_expect_value(&t, "r", "1");

    /* A prefix of the value is not equal to it. */
    kvt_apply(&t, kv_command_put(0, 0, KVS("r"), KVS("10")));
    out = kvt_apply(&t, kv_command_cas(0, 0, KVS("r"), KVS("1"), KVS("2")));
    cr_assert_eq(out.result.status, KV_STATUS_CAS_MISMATCH);
    /* Expecting the empty value matches only an empty value. */
    kvt_apply(&t, kv_command_put(0, 0, KVS("e"), "", 0));
    out = kvt_apply(&t, kv_command_cas(0, 0, KVS("e"), "", 0, KVS("full")));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    kvt_expect_value(&t, "e", "full");
    kvt_free(&t);
}

static struct kv_limits small_limits(void)
{
    struct kv_limits limits = kv_limits_default();
    limits.key_bytes_max = 4;
    limits.value_bytes_max = 8;
    limits.keys_max = 3;
    limits.bytes_max = 20;
    limits.sessions_max = 4;
    return limits;
}

/* Invariant: exceeding key/value length limits is a deterministic error that changes nothing. */
Test(kv_ops, length_limits)
{
    struct kv_limits limits = small_limits();
    struct kvt t = kvt_make(&limits);
    uint64_t before = kv_hash(t.kv);
    struct kv_applied out = kvt_apply(&t, kv_command_put(0, 0, KVS("12345"), KVS("v")));
    cr_assert_eq(out.result.status, KV_STATUS_KEY_TOO_LARGE);
    out = kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("123456789")));
    cr_assert_eq(out.result.status, KV_STATUS_VALUE_TOO_LARGE);
    out = kvt_apply(&t, kv_command_get(0, 0, KVS("12345")));
    cr_assert_eq(out.result.status, KV_STATUS_KEY_TOO_LARGE);
    out = kvt_apply(&t, kv_command_delete(0, 0, KVS("12345")));
    cr_assert_eq(out.result.status, KV_STATUS_KEY_TOO_LARGE);
    out = kvt_apply(&t, kv_command_cas(0, 0, KVS("k"), KVS("123456789"), KVS("v")));
    cr_assert_eq(out.result.status, KV_STATUS_VALUE_TOO_LARGE, "expected value is bounded too");
    out = kvt_apply(&t, kv_command_cas_absent(0, 0, KVS("k"), KVS("123456789")));
    cr_assert_eq(out.result.status, KV_STATUS_VALUE_TOO_LARGE);
    cr_assert_eq(kv_hash(t.kv), before);
    cr_assert_eq(kv_key_count(t.kv), 0);

    /* Exactly at the limits is allowed. */
    out = kvt_apply(&t, kv_command_put(0, 0, KVS("1234"), KVS("12345678")));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    kvt_free(&t);
}

/* Invariant: keys_max and bytes_max are never exceeded; overwrites that fit are still allowed. */
Test(kv_ops, capacity_limits)
{
    struct kv_limits limits = small_limits(); /* 3 keys, 20 bytes */
    struct kvt t = kvt_make(&limits);
    cr_assert_eq(kvt_apply(&t, kv_command_put(0, 0, KVS("a"), KVS("1234"))).result.status,
                 KV_STATUS_OK);
    cr_assert_eq(kvt_apply(&t, kv_command_put(0, 0, KVS("b"), KVS("1234"))).result.status,
                 KV_STATUS_OK);
    cr_assert_eq(kvt_apply(&t, kv_command_put(0, 0, KVS("c"), KVS("12"))).result.status,
                 KV_STATUS_OK);
    cr_assert_eq(kv_bytes_used(t.kv), 13);
    uint64_t full = kv_hash(t.kv);
    struct kv_applied out = kvt_apply(&t, kv_command_put(0, 0, KVS("d"), KVS("1")));
    cr_assert_eq(out.result.status, KV_STATUS_KEYS_FULL);
    out = kvt_apply(&t, kv_command_cas_absent(0, 0, KVS("d"), KVS("1")));
    cr_assert_eq(out.result.status, KV_STATUS_KEYS_FULL);
    /* Overwriting "c" (3 bytes) with 9 bytes makes 19: allowed. */
    out = kvt_apply(&t, kv_command_put(0, 0, KVS("c"), KVS("12345678")));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    cr_assert_eq(kv_bytes_used(t.kv), 19);
    out = kvt_apply(&t, kv_command_put(0, 0, KVS("a"), KVS("123456")));
    cr_assert_eq(out.result.status, KV_STATUS_BYTES_FULL, "7 + 5 + 9 = 21 > 20");
    out = kvt_apply(&t, kv_command_put(0, 0, KVS("a"), KVS("12345")));
    cr_assert_eq(out.result.status, KV_STATUS_OK, "6 + 5 + 9 = 20, exactly bytes_max");
    cr_assert_eq(kv_bytes_used(t.kv), 20);
    out = kvt_apply(&t, kv_command_put(0, 0, KVS("b"), KVS("123456")));
    cr_assert_eq(out.result.status, KV_STATUS_BYTES_FULL);
    out = kvt_apply(&t, kv_command_cas(0, 0, KVS("b"), KVS("1234"), KVS("123456")));
    cr_assert_eq(out.result.status, KV_STATUS_BYTES_FULL, "cas respects bytes_max");
    kvt_expect_value(&t, "b", "1234");
    cr_assert_neq(kv_hash(t.kv), full);
    /* Deleting frees room for a new key. */
    cr_assert_eq(kvt_apply(&t, kv_command_delete(0, 0, KVS("a"))).result.status, KV_STATUS_OK);
    out = kvt_apply(&t, kv_command_put(0, 0, KVS("d"), KVS("1")));
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    cr_assert(kv_key_count(t.kv) <= limits.keys_max);
    cr_assert(kv_bytes_used(t.kv) <= limits.bytes_max);
    kvt_free(&t);
}

/* Invariant: checks run in a documented order: sizes, then the op's condition, then capacity. */
Test(kv_ops, check_order)
{
    struct kv_limits limits = small_limits();
    struct kvt t = kvt_make(&limits);
    kvt_apply(&t, kv_command_put(0, 0, KVS("a"), KVS("1")));
    kvt_apply(&t, kv_command_put(0, 0, KVS("b"), KVS("1")));
    kvt_apply(&t, kv_command_put(0, 0, KVS("c"), KVS("1")));
    /* Key too large and value too large: key wins. */
    struct kv_applied out = kvt_apply(&t, kv_command_put(0, 0, KVS("12345"), KVS("123456789")));
    cr_assert_eq(out.result.status, KV_STATUS_KEY_TOO_LARGE);
    /* Store full and condition false: the condition wins. */
    out = kvt_apply(&t, kv_command_cas(0, 0, KVS("d"), KVS("x"), KVS("y")));
    cr_assert_eq(out.result.status, KV_STATUS_CAS_MISMATCH);
    kvt_free(&t);
}

/* Invariant: any payload gets a deterministic result; malformed ones are MALFORMED, with a reason,
 * and change nothing but the applied index. */
Test(kv_ops, malformed_payload_is_a_result)
{
    struct kvt t = kvt_make(NULL);
    kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("v")));
    uint64_t before = kv_hash(t.kv);
    const uint8_t wrong_tag[] = { 'W', 1, 2, 3 };
    struct kv_applied out = kvt_apply_bytes(&t, wrong_tag, sizeof(wrong_tag));
    cr_assert_eq(out.result.status, KV_STATUS_MALFORMED);
    cr_assert_eq(out.result.op, KV_OP_NONE);
    cr_assert_eq(out.result.index, 2);
    cr_assert(out.result.has_value);
    cr_assert(out.result.value_len > 0 && out.result.value_len < KV_REASON_BYTES_MAX);
    char reason[KV_REASON_BYTES_MAX];
    memcpy(reason, out.result.value, out.result.value_len);
    reason[out.result.value_len] = '\0';
    cr_assert_not_null(strstr(reason, "tag"), "the reason names the tag: %s", reason);
    out = kvt_apply_bytes(&t, NULL, 0);
    cr_assert_eq(out.result.status, KV_STATUS_MALFORMED);
    cr_assert_eq(kv_hash(t.kv), before);
    cr_assert_eq(kv_applied_index(t.kv), 3);
    kvt_free(&t);
}

/* Invariant: entries apply in strictly increasing index order; gaps are fine. */
Test(kv_ops, index_gaps_allowed)
{
    struct kvt t = kvt_make(NULL);
    t.next_index = 10;
    kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("v")));
    t.next_index = 100;
    struct kv_applied out = kvt_apply(&t, kv_command_get(0, 0, KVS("k")));
    cr_assert_eq(out.result.index, 100);
    cr_assert_eq(kv_applied_index(t.kv), 100);
    kvt_free(&t);
}

/* Invariant: applying an index that is not above the applied index is a programmer error. */
Test(kv_ops, index_going_back_aborts, .signal = SIGABRT)
{
    struct kvt t = kvt_make(NULL);
    t.next_index = 5;
    kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("v")));
    t.next_index = 5;
    kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("v")));
}

/* Invariant: kv_limits_valid accepts the defaults and names the first field out of range. */
Test(kv_ops, limits_validation)
{
    const char *reason;
    struct kv_limits limits = kv_limits_default();
    cr_assert(kv_limits_valid(&limits, &reason));
    limits.value_bytes_max = KV_VALUE_BYTES_LIMIT + 1;
    cr_assert(!kv_limits_valid(&limits, &reason));
    cr_assert_not_null(strstr(reason, "value_bytes_max"));
    limits = kv_limits_default();
    limits.sessions_max = 0;
    cr_assert(!kv_limits_valid(&limits, &reason));
    cr_assert_not_null(strstr(reason, "sessions_max"));
}

/* A reference model: a plain array of (key, value) for a small key space. */
#define MODEL_KEYS 300

struct model {
    bool present[MODEL_KEYS];
    uint8_t value[MODEL_KEYS][8];
    uint32_t value_len[MODEL_KEYS];
};

static uint32_t model_key(uint32_t k, uint8_t key[8])
{
    /* Keys share prefixes and differ in length, to exercise ordering and hashing. */
    return (uint32_t)snprintf((char *)key, 8, "k%u", k);
}

/* Invariant: under a long random mix of operations (table growth, backward-shift deletes), the
 * store agrees with a trivial model on every result and on the final contents. */
Test(kv_ops, random_ops_match_model)
{
    struct kv_limits limits = kv_limits_default();
    struct kvt t = kvt_make(&limits);
    static struct model model;
    memset(&model, 0, sizeof(model));
    struct prng prng;
    prng_seed(&prng, 42);
    for (int step = 0; step < 20000; step++) {
        uint8_t key[8];
        uint32_t k = (uint32_t)prng_below(&prng, MODEL_KEYS);
        uint32_t key_len = model_key(k, key);
        uint8_t value[8];
        uint32_t value_len = (uint32_t)prng_below(&prng, 8);
        for (uint32_t i = 0; i < value_len; i++) {
            value[i] = (uint8_t)prng_below(&prng, 3); /* few values, so cas sometimes matches */
        }
        uint64_t op = prng_below(&prng, 4);
        struct kv_applied out;
        if (op == 0) {
            out = kvt_apply(&t, kv_command_put(0, 0, key, key_len, value, value_len));
            cr_assert_eq(out.result.status, KV_STATUS_OK);
            model.present[k] = true;
            memcpy(model.value[k], value, value_len);
            model.value_len[k] = value_len;
        } else if (op == 1) {
            out = kvt_apply(&t, kv_command_get(0, 0, key, key_len));
            cr_assert_eq(out.result.status, model.present[k] ? KV_STATUS_OK : KV_STATUS_NOT_FOUND);
            if (model.present[k]) {
                cr_assert_eq(out.result.value_len, model.value_len[k]);
                cr_assert(memcmp(out.result.value, model.value[k], model.value_len[k]) == 0);
            }
        } else if (op == 2) {
            out = kvt_apply(&t, kv_command_delete(0, 0, key, key_len));
            cr_assert_eq(out.result.status, model.present[k] ? KV_STATUS_OK : KV_STATUS_NOT_FOUND);
            model.present[k] = false;
        } else {
            uint32_t expected_len = value_len > 0 ? value_len - 1 : 0;
            out = kvt_apply(
                &t, kv_command_cas(0, 0, key, key_len, value, expected_len, value, value_len));
            bool match = model.present[k] && model.value_len[k] == expected_len &&
                         memcmp(model.value[k], value, expected_len) == 0;
            cr_assert_eq(out.result.status, match ? KV_STATUS_OK : KV_STATUS_CAS_MISMATCH,
                         "step %d", step);
            if (match) {
                memcpy(model.value[k], value, value_len);
                model.value_len[k] = value_len;
            }
        }
    }
    uint32_t count = 0;
    uint64_t bytes = 0;
    for (uint32_t k = 0; k < MODEL_KEYS; k++) {
        uint8_t key[8];
        uint32_t key_len = model_key(k, key);
        const uint8_t *value;
        uint32_t value_len;
        cr_assert_eq(kv_read(t.kv, key, key_len, &value, &value_len), model.present[k]);
        if (model.present[k]) {
            count++;
            bytes += key_len + model.value_len[k];
            cr_assert_eq(value_len, model.value_len[k]);
            cr_assert(value_len == 0 || memcmp(value, model.value[k], value_len) == 0);
        }
    }
    cr_assert_eq(kv_key_count(t.kv), count);
    cr_assert_eq(kv_bytes_used(t.kv), bytes);
    kvt_free(&t);
}
