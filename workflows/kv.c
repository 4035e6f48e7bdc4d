/* Applies committed KV commands deterministically: the operations, their limits, and sessions. */
#include "workflows/kv_impl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct kv_limits kv_limits_default(void)
{
    struct kv_limits limits = {
        .key_bytes_max = 256,
        .value_bytes_max = 64 * 1024,
        .keys_max = 65536,
        .bytes_max = 64ull * 1024 * 1024,
        .sessions_max = 1024,
    };
    return limits;
}

bool kv_limits_valid(const struct kv_limits *limits, const char **reason)
{
    assert(limits != NULL);
    assert(reason != NULL);
    *reason = NULL;
    if (limits->key_bytes_max < 1 || limits->key_bytes_max > KV_KEY_BYTES_LIMIT) {
        *reason = "key_bytes_max must be in 1..KV_KEY_BYTES_LIMIT (4096)";
    } else if (limits->value_bytes_max < 1 || limits->value_bytes_max > KV_VALUE_BYTES_LIMIT) {
        *reason = "value_bytes_max must be in 1..KV_VALUE_BYTES_LIMIT (1048576)";
    } else if (limits->keys_max < 1 || limits->keys_max > KV_KEYS_LIMIT) {
        *reason = "keys_max must be in 1..KV_KEYS_LIMIT (16777216)";
    } else if (limits->bytes_max < 1 || limits->bytes_max > KV_BYTES_LIMIT) {
        *reason = "bytes_max must be in 1..KV_BYTES_LIMIT (2^40)";
    } else if (limits->sessions_max < 1 || limits->sessions_max > KV_SESSIONS_LIMIT) {
        *reason = "sessions_max must be in 1..KV_SESSIONS_LIMIT (1048576)";
    }
    return *reason == NULL;
}

int kv_state_init(struct kv_state *state, uint32_t sessions_max)
{
    assert(state != NULL);
    memset(state, 0, sizeof(*state));
    if (kv_table_init(&state->table) != 0) {
        return -1;
    }
    kv_sessions_init(&state->sessions, sessions_max);
    return 0;
}

void kv_state_free(struct kv_state *state)
{
    assert(state != NULL);
    kv_table_free(&state->table);
    kv_sessions_free(&state->sessions);
}

struct kv *kv_create(const struct kv_limits *limits)
{
    const char *reason;
    assert(limits != NULL);
    assert(kv_limits_valid(limits, &reason));
    struct kv *kv = calloc(1, sizeof(*kv));
    if (kv == NULL) {
        return NULL;
    }
    kv->limits = *limits;
    uint32_t value_max = limits->value_bytes_max > KV_REASON_BYTES_MAX ? limits->value_bytes_max
                                                                       : KV_REASON_BYTES_MAX;
    kv->result_buf_cap = KV_RESULT_HEADER_BYTES + (size_t)value_max;
    kv->result_buf = malloc(kv->result_buf_cap);
    if (kv->result_buf == NULL) {
        goto out_free_kv;
    }
    if (kv_state_init(&kv->state, limits->sessions_max) != 0) {
        goto out_free_buf;
    }
    return kv;

out_free_buf:
    free(kv->result_buf);
out_free_kv:
    free(kv);
    return NULL;
}

void kv_destroy(struct kv *kv)
{
    if (kv == NULL) {
        return;
    }
    kv_state_free(&kv->state);
    free(kv->result_buf);
    free(kv);
}

/* ------------------------------------------------------------------------------- operations */

static struct kv_result result_for(const struct kv_command *command, uint64_t index, uint8_t status)
{
    struct kv_result result = {
        .op = command->op,
        .status = status,
        .index = index,
        .client_id = command->client_id,
        .seq = command->seq,
    };
    return result;
}

static void attach_value(struct kv_result *result, const struct kv_entry *entry)
{
    result->has_value = true;
    result->value = kv_entry_value(entry);
    result->value_len = entry->value_len;
}

static uint8_t check_sizes(const struct kv *kv, const struct kv_command *command)
{
    if (command->key_len > kv->limits.key_bytes_max) {
        return KV_STATUS_KEY_TOO_LARGE;
    }
    if (command->value_len > kv->limits.value_bytes_max ||
        command->expected_len > kv->limits.value_bytes_max) {
        return KV_STATUS_VALUE_TOO_LARGE;
    }
    return KV_STATUS_OK;
}

static uint8_t check_room(const struct kv *kv, const struct kv_entry *existing,
                          const struct kv_command *command)
{
    const struct kv_state *state = &kv->state;
    if (existing == NULL && state->table.count >= kv->limits.keys_max) {
        return KV_STATUS_KEYS_FULL;
    }
    uint64_t freed = existing != NULL ? (uint64_t)existing->key_len + existing->value_len : 0;
    assert(freed <= state->bytes_used);
    uint64_t after = state->bytes_used - freed + command->key_len + command->value_len;
    if (after > kv->limits.bytes_max) {
        return KV_STATUS_BYTES_FULL;
    }
    return KV_STATUS_OK;
}

/* Stores key = value, replacing `existing` if set. Allocates first: ENOMEM changes nothing. */
static int write_entry(struct kv *kv, struct kv_entry *existing, const struct kv_command *command)
{
    struct kv_state *state = &kv->state;
    struct kv_entry *entry =
        kv_entry_new(command->key, command->key_len, command->value, command->value_len);
    if (entry == NULL) {
        return KV_ENOMEM;
    }
    if (existing != NULL) {
        state->bytes_used -= (uint64_t)existing->key_len + existing->value_len;
        free(kv_table_replace(&state->table, existing, entry));
    } else {
        if (kv_table_reserve(&state->table, state->table.count + 1) != 0) {
            free(entry);
            return KV_ENOMEM;
        }
        kv_table_insert(&state->table, entry);
    }
    state->bytes_used += (uint64_t)command->key_len + command->value_len;
    assert(state->bytes_used <= kv->limits.bytes_max);
    assert(state->table.count <= kv->limits.keys_max);
    return 0;
}

static int do_write(struct kv *kv, struct kv_entry *existing, const struct kv_command *command,
                    struct kv_result *result)
{
    result->status = check_room(kv, existing, command);
    if (result->status != KV_STATUS_OK) {
        return 0;
    }
    return write_entry(kv, existing, command);
}

static int do_get(const struct kv_entry *existing, struct kv_result *result)
{
    if (existing == NULL) {
        result->status = KV_STATUS_NOT_FOUND;
        return 0;
    }
    attach_value(result, existing);
    return 0;
}

static int do_delete(struct kv *kv, struct kv_entry *existing, struct kv_result *result)
{
    if (existing == NULL) {
        result->status = KV_STATUS_NOT_FOUND;
        return 0;
    }
    struct kv_state *state = &kv->state;
    uint64_t freed = (uint64_t)existing->key_len + existing->value_len;
    assert(freed <= state->bytes_used);
    kv_table_remove(&state->table, existing);
    free(existing);
    state->bytes_used -= freed;
    return 0;
}

static bool value_equals(const struct kv_entry *entry, const uint8_t *bytes, uint32_t len)
{
    return entry->value_len == len && (len == 0 || memcmp(kv_entry_value(entry), bytes, len) == 0);
}

static int do_cas(struct kv *kv, struct kv_entry *existing, const struct kv_command *command,
                  struct kv_result *result)
{
    bool match =
        (command->flags & KV_CAS_EXPECT_ABSENT) != 0
            ? existing == NULL
            : existing != NULL && value_equals(existing, command->expected, command->expected_len);
    if (!match) {
        result->status = KV_STATUS_CAS_MISMATCH;
        if (existing != NULL) {
            attach_value(result, existing);
        }
        return 0;
    }
    return do_write(kv, existing, command, result);
}

/* Runs one decoded put/get/delete/cas. The result's value may borrow from the table. */
static int execute(struct kv *kv, uint64_t index, const struct kv_command *command,
                   struct kv_result *result)
{
    assert(command->op != KV_OP_REGISTER);
    *result = result_for(command, index, check_sizes(kv, command));
    if (result->status != KV_STATUS_OK) {
        return 0;
    }
    struct kv_entry *existing = kv_table_find(&kv->state.table, command->key, command->key_len);
    switch (command->op) {
    case KV_OP_PUT:
        return do_write(kv, existing, command, result);
    case KV_OP_GET:
        return do_get(existing, result);
    case KV_OP_DELETE:
        return do_delete(kv, existing, result);
    case KV_OP_CAS:
        return do_cas(kv, existing, command, result);
    default:
        assert(!"op checked by the decoder");
        return 0;
    }
}

/* Upper bound on the encoded result of `command` run now (for reserving a session's memory). */
static size_t result_bytes_bound(const struct kv *kv, const struct kv_command *command)
{
    if (command->op != KV_OP_GET && command->op != KV_OP_CAS) {
        return KV_RESULT_HEADER_BYTES;
    }
    const struct kv_entry *existing =
        kv_table_find(&kv->state.table, command->key, command->key_len);
    return KV_RESULT_HEADER_BYTES + (existing != NULL ? existing->value_len : 0);
}

/* ---------------------------------------------------------------------------------- results */

/* Decodes the bytes just placed in result_buf into `out` (checking what was written). */
static void publish(struct kv *kv, size_t len, bool duplicate, struct kv_applied *out)
{
    struct kv_error error;
    int rc = kv_result_decode(kv->result_buf, len, &out->result, &error);
    assert(rc == 0);
    (void)rc;
    out->result_bytes = kv->result_buf;
    out->result_len = len;
    out->duplicate = duplicate;
}

static void emit(struct kv *kv, const struct kv_result *result, struct kv_applied *out)
{
    size_t len;
    struct kv_error error;
    int rc = kv_result_encode(result, kv->result_buf, kv->result_buf_cap, &len, &error);
    assert(rc == 0);
    (void)rc;
    publish(kv, len, false, out);
}

static void emit_remembered(struct kv *kv, const struct kv_session *session, struct kv_applied *out)
{
    assert(session->result_len >= KV_RESULT_HEADER_BYTES);
    assert(session->result_len <= kv->result_buf_cap);
    memcpy(kv->result_buf, session->result, session->result_len);
    publish(kv, session->result_len, true, out);
}

static void emit_malformed(struct kv *kv, uint64_t index, const struct kv_error *error,
                           struct kv_applied *out)
{
    struct kv_result result = {
        .op = KV_OP_NONE,
        .status = KV_STATUS_MALFORMED,
        .index = index,
        .has_value = true,
        .value = (const uint8_t *)error->reason,
        .value_len = (uint32_t)strnlen(error->reason, sizeof(error->reason)),
    };
    emit(kv, &result, out);
}

/* ------------------------------------------------------------------------------------ apply */

static int apply_register(struct kv *kv, uint64_t index, const struct kv_command *command,
                          struct kv_applied *out)
{
    if (kv_sessions_reserve(&kv->state.sessions) != 0) {
        return KV_ENOMEM;
    }
    kv_sessions_open(&kv->state.sessions, index, index);
    struct kv_result result = result_for(command, index, KV_STATUS_OK);
    result.client_id = index;
    emit(kv, &result, out);
    return 0;
}

static int apply_sessionless(struct kv *kv, uint64_t index, const struct kv_command *command,
                             struct kv_applied *out)
{
    struct kv_result result;
    int rc = execute(kv, index, command, &result);
    if (rc != 0) {
        return rc;
    }
    emit(kv, &result, out);
    return 0;
}

static int apply_in_session(struct kv *kv, uint64_t index, const struct kv_command *command,
                            struct kv_applied *out)
{
    struct kv_session *session = kv_sessions_find(&kv->state.sessions, command->client_id);
    if (session == NULL) {
        struct kv_result result = result_for(command, index, KV_STATUS_SESSION_UNKNOWN);
        emit(kv, &result, out);
        return 0;
    }
    assert(session->last_used_index < index);
    if (command->seq < session->last_seq) {
        struct kv_result result = result_for(command, index, KV_STATUS_SESSION_STALE);
        emit(kv, &result, out);
        kv_session_touch(&kv->state.sessions, session, index);
        return 0;
    }
    if (command->seq == session->last_seq) {
        emit_remembered(kv, session, out);
        kv_session_touch(&kv->state.sessions, session, index);
        return 0;
    }
    if (kv_session_reserve_result(session, result_bytes_bound(kv, command)) != 0) {
        return KV_ENOMEM;
    }
    struct kv_result result;
    int rc = execute(kv, index, command, &result);
    if (rc != 0) {
        return rc;
    }
    emit(kv, &result, out);
    kv_session_answer(&kv->state.sessions, session, command->seq, index, out->result_bytes,
                      out->result_len);
    return 0;
}

int kv_apply(struct kv *kv, uint64_t index, const uint8_t *payload, size_t len,
             struct kv_applied *out)
{
    assert(kv != NULL);
    assert(out != NULL);
    assert(payload != NULL || len == 0);
    assert(index > kv->state.applied_index); /* committed entries apply in log order */
    struct kv_command command;
    struct kv_error error;
    int rc;
    if (kv_command_decode(payload, len, &command, &error) != 0) {
        emit_malformed(kv, index, &error, out);
        rc = 0;
    } else if (command.op == KV_OP_REGISTER) {
        rc = apply_register(kv, index, &command, out);
    } else if (command.client_id == 0) {
        rc = apply_sessionless(kv, index, &command, out);
    } else {
        rc = apply_in_session(kv, index, &command, out);
    }
    if (rc == 0) {
        kv->state.applied_index = index;
    }
    return rc;
}

/* ------------------------------------------------------------------------------- inspection */

bool kv_read(const struct kv *kv, const void *key, size_t key_len, const uint8_t **value,
             uint32_t *value_len)
{
    assert(kv != NULL);
    assert(value != NULL && value_len != NULL);
    const struct kv_entry *entry = kv_table_find(&kv->state.table, key, key_len);
    if (entry == NULL) {
        return false;
    }
    *value = kv_entry_value(entry);
    *value_len = entry->value_len;
    return true;
}

uint64_t kv_applied_index(const struct kv *kv)
{
    assert(kv != NULL);
    return kv->state.applied_index;
}

uint32_t kv_key_count(const struct kv *kv)
{
    assert(kv != NULL);
    return kv->state.table.count;
}

uint64_t kv_bytes_used(const struct kv *kv)
{
    assert(kv != NULL);
    return kv->state.bytes_used;
}

uint32_t kv_session_count(const struct kv *kv)
{
    assert(kv != NULL);
    return kv->state.sessions.count;
}

const struct kv_limits *kv_limits_of(const struct kv *kv)
{
    assert(kv != NULL);
    return &kv->limits;
}
