/* Helpers shared by the KV tests: apply encoded commands at increasing indexes, compare results. */
#ifndef FLOWRAFT_TESTS_WORKFLOWS_TEST_KV_UTIL_H
#define FLOWRAFT_TESTS_WORKFLOWS_TEST_KV_UTIL_H

#include "workflows/kv.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define KVT_PAYLOAD_BYTES_MAX (KV_COMMAND_HEADER_BYTES + 4096 + 2 * 65536)

/* A store and the next log index to apply at. */
struct kvt {
    struct kv *kv;
    uint64_t next_index;
};

static inline struct kvt kvt_make(const struct kv_limits *limits)
{
    struct kv_limits defaults = kv_limits_default();
    struct kvt t = { .kv = kv_create(limits != NULL ? limits : &defaults), .next_index = 1 };
    cr_assert_not_null(t.kv);
    return t;
}

static inline void kvt_free(struct kvt *t)
{
    kv_destroy(t->kv);
    t->kv = NULL;
}

/* Applies raw payload bytes at the next index; the apply must succeed. */
static inline struct kv_applied kvt_apply_bytes(struct kvt *t, const uint8_t *payload, size_t len)
{
    struct kv_applied out;
    memset(&out, 0, sizeof(out));
    int rc = kv_apply(t->kv, t->next_index, payload, len, &out);
    cr_assert_eq(rc, 0, "kv_apply at index %llu returned %d", (unsigned long long)t->next_index,
                 rc);
    cr_assert_eq(kv_applied_index(t->kv), t->next_index);
    t->next_index++;
    return out;
}

/* Encodes `command` (which must be valid) and applies it at the next index. */
static inline struct kv_applied kvt_apply(struct kvt *t, struct kv_command command)
{
    static uint8_t payload[KVT_PAYLOAD_BYTES_MAX];
    size_t len = 0;
    struct kv_error error;
    int rc = kv_command_encode(&command, payload, sizeof(payload), &len, &error);
    cr_assert_eq(rc, 0, "encode failed: %s", error.reason);
    return kvt_apply_bytes(t, payload, len);
}

/* Registers a session and returns its id. */
static inline uint64_t kvt_register(struct kvt *t)
{
    uint64_t index = t->next_index;
    struct kv_applied out = kvt_apply(t, kv_command_register());
    cr_assert_eq(out.result.status, KV_STATUS_OK);
    cr_assert_eq(out.result.client_id, index);
    return out.result.client_id;
}

/* Asserts the store holds key = value (C strings). */
static inline void kvt_expect_value(const struct kvt *t, const char *key, const char *value)
{
    const uint8_t *bytes = NULL;
    uint32_t len = 0;
    cr_assert(kv_read(t->kv, key, strlen(key), &bytes, &len), "key \"%s\" absent", key);
    cr_assert_eq(len, strlen(value), "key \"%s\" has %u bytes, expected \"%s\"", key, len, value);
    cr_assert(memcmp(bytes, value, len) == 0, "key \"%s\" value differs from \"%s\"", key, value);
}

static inline void kvt_expect_absent(const struct kvt *t, const char *key)
{
    const uint8_t *bytes = NULL;
    uint32_t len = 0;
    cr_assert(!kv_read(t->kv, key, strlen(key), &bytes, &len), "key \"%s\" present", key);
}

/* True if the result carries exactly the C string `value`. */
static inline bool kvt_result_is(const struct kv_result *result, const char *value)
{
    return result->has_value && result->value_len == strlen(value) &&
           memcmp(result->value, value, result->value_len) == 0;
}

/* A copy of the result bytes, to compare with a later answer. Caller frees. */
static inline uint8_t *kvt_copy(const struct kv_applied *out)
{
    uint8_t *copy = malloc(out->result_len);
    cr_assert_not_null(copy);
    memcpy(copy, out->result_bytes, out->result_len);
    return copy;
}

/* Snapshot of the store's current state. Caller frees. */
static inline uint8_t *kvt_snapshot(const struct kv *kv, size_t *len)
{
    *len = kv_snapshot_bytes(kv);
    uint8_t *bytes = malloc(*len);
    cr_assert_not_null(bytes);
    kv_snapshot_write(kv, bytes, *len);
    return bytes;
}

#define KVS(s) (s), ((uint32_t)strlen(s)) /* a C string as (bytes, length) */

#endif
