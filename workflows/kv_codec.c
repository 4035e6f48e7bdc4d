/* Encodes, decodes and validates KV commands and results (formats in kv_codec.h). */
#include "workflows/kv_codec.h"

#include "workflows/kv_bytes.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define STATUS_BIT(status) (1u << (status))

/* Which statuses each op may answer with; index by enum kv_op. */
static const uint32_t op_statuses[KV_OP_COUNT] = {
    [KV_OP_NONE] = STATUS_BIT(KV_STATUS_MALFORMED),
    [KV_OP_REGISTER] = STATUS_BIT(KV_STATUS_OK),
    [KV_OP_PUT] = STATUS_BIT(KV_STATUS_OK) | STATUS_BIT(KV_STATUS_KEY_TOO_LARGE) |
                  STATUS_BIT(KV_STATUS_VALUE_TOO_LARGE) | STATUS_BIT(KV_STATUS_KEYS_FULL) |
                  STATUS_BIT(KV_STATUS_BYTES_FULL) | STATUS_BIT(KV_STATUS_SESSION_UNKNOWN) |
                  STATUS_BIT(KV_STATUS_SESSION_STALE),
    [KV_OP_GET] = STATUS_BIT(KV_STATUS_OK) | STATUS_BIT(KV_STATUS_NOT_FOUND) |
                  STATUS_BIT(KV_STATUS_KEY_TOO_LARGE) | STATUS_BIT(KV_STATUS_SESSION_UNKNOWN) |
                  STATUS_BIT(KV_STATUS_SESSION_STALE),
    [KV_OP_DELETE] = STATUS_BIT(KV_STATUS_OK) | STATUS_BIT(KV_STATUS_NOT_FOUND) |
                     STATUS_BIT(KV_STATUS_KEY_TOO_LARGE) | STATUS_BIT(KV_STATUS_SESSION_UNKNOWN) |
                     STATUS_BIT(KV_STATUS_SESSION_STALE),
    [KV_OP_CAS] = STATUS_BIT(KV_STATUS_OK) | STATUS_BIT(KV_STATUS_CAS_MISMATCH) |
                  STATUS_BIT(KV_STATUS_KEY_TOO_LARGE) | STATUS_BIT(KV_STATUS_VALUE_TOO_LARGE) |
                  STATUS_BIT(KV_STATUS_KEYS_FULL) | STATUS_BIT(KV_STATUS_BYTES_FULL) |
                  STATUS_BIT(KV_STATUS_SESSION_UNKNOWN) | STATUS_BIT(KV_STATUS_SESSION_STALE),
};

static const char *const op_names[KV_OP_COUNT] = {
    [KV_OP_NONE] = "none", [KV_OP_REGISTER] = "register", [KV_OP_PUT] = "put",
    [KV_OP_GET] = "get",   [KV_OP_DELETE] = "delete",     [KV_OP_CAS] = "cas",
};

static const char *const status_names[KV_STATUS_COUNT] = {
    [KV_STATUS_OK] = "ok",
    [KV_STATUS_NOT_FOUND] = "not_found",
    [KV_STATUS_CAS_MISMATCH] = "cas_mismatch",
    [KV_STATUS_KEY_TOO_LARGE] = "key_too_large",
    [KV_STATUS_VALUE_TOO_LARGE] = "value_too_large",
    [KV_STATUS_KEYS_FULL] = "keys_full",
    [KV_STATUS_BYTES_FULL] = "bytes_full",
    [KV_STATUS_SESSION_UNKNOWN] = "session_unknown",
    [KV_STATUS_SESSION_STALE] = "session_stale",
    [KV_STATUS_MALFORMED] = "malformed",
};

static const char *const error_names[KV_ERROR_COUNT] = {
    [KV_ERROR_NONE] = "none",
    [KV_ERROR_TRUNCATED] = "truncated",
    [KV_ERROR_BAD_TAG] = "bad_tag",
    [KV_ERROR_BAD_VERSION] = "bad_version",
    [KV_ERROR_BAD_OP] = "bad_op",
    [KV_ERROR_BAD_FLAGS] = "bad_flags",
    [KV_ERROR_BAD_STATUS] = "bad_status",
    [KV_ERROR_TOO_LARGE] = "too_large",
    [KV_ERROR_BAD_FIELD] = "bad_field",
    [KV_ERROR_TRAILING] = "trailing",
    [KV_ERROR_NO_SPACE] = "no_space",
    [KV_ERROR_BAD_CHECKSUM] = "bad_checksum",
    [KV_ERROR_BAD_ORDER] = "bad_order",
    [KV_ERROR_LIMIT] = "limit",
    [KV_ERROR_STALE] = "stale",
};

const char *kv_op_name(unsigned op)
{
    return op < KV_OP_COUNT ? op_names[op] : "unknown";
}

const char *kv_status_name(unsigned status)
{
    return status < KV_STATUS_COUNT ? status_names[status] : "unknown";
}

const char *kv_error_name(unsigned code)
{
    return code < KV_ERROR_COUNT ? error_names[code] : "unknown";
}

bool kv_error_fail(struct kv_error *error, enum kv_error_code code, size_t offset,
                   const char *format, ...)
{
    assert(code != KV_ERROR_NONE);
    assert(code < KV_ERROR_COUNT);
    if (error == NULL) {
        return false;
    }
    error->code = code;
    error->offset = offset;
    va_list args;
    va_start(args, format);
    int n = vsnprintf(error->reason, sizeof(error->reason), format, args);
    va_end(args);
    assert(n >= 0);
    (void)n;
    return false;
}

void kv_error_clear(struct kv_error *error)
{
    if (error != NULL) {
        error->code = KV_ERROR_NONE;
        error->offset = 0;
        error->reason[0] = '\0';
    }
}

/* ---------------------------------------------------------------------------------- commands */

static struct kv_command command_make(uint8_t op, uint64_t client_id, uint64_t seq, const void *key,
                                      uint32_t key_len)
{
    struct kv_command command = {
        .op = op, .client_id = client_id, .seq = seq, .key = key, .key_len = key_len
    };
    return command;
}

struct kv_command kv_command_register(void)
{
    return command_make(KV_OP_REGISTER, 0, 0, NULL, 0);
}

struct kv_command kv_command_put(uint64_t client_id, uint64_t seq, const void *key,
                                 uint32_t key_len, const void *value, uint32_t value_len)
{
    struct kv_command command = command_make(KV_OP_PUT, client_id, seq, key, key_len);
    command.value = value;
    command.value_len = value_len;
    return command;
}

struct kv_command kv_command_get(uint64_t client_id, uint64_t seq, const void *key,
                                 uint32_t key_len)
{
    return command_make(KV_OP_GET, client_id, seq, key, key_len);
}

struct kv_command kv_command_delete(uint64_t client_id, uint64_t seq, const void *key,
                                    uint32_t key_len)
{
    return command_make(KV_OP_DELETE, client_id, seq, key, key_len);
}

struct kv_command kv_command_cas(uint64_t client_id, uint64_t seq, const void *key,
                                 uint32_t key_len, const void *expected, uint32_t expected_len,
                                 const void *value, uint32_t value_len)
{
    struct kv_command command = command_make(KV_OP_CAS, client_id, seq, key, key_len);
    command.value = value;
    command.value_len = value_len;
    command.expected = expected;
    command.expected_len = expected_len;
    return command;
}

struct kv_command kv_command_cas_absent(uint64_t client_id, uint64_t seq, const void *key,
                                        uint32_t key_len, const void *value, uint32_t value_len)
{
    struct kv_command command =
        kv_command_cas(client_id, seq, key, key_len, NULL, 0, value, value_len);
    command.flags = KV_CAS_EXPECT_ABSENT;
    return command;
}

static bool check_lengths(const struct kv_command *command, struct kv_error *error)
{
    if (command->key_len > KV_KEY_BYTES_LIMIT) {
        return kv_error_fail(error, KV_ERROR_TOO_LARGE, 0, "key_len %" PRIu32 " exceeds %u",
                             command->key_len, KV_KEY_BYTES_LIMIT);
    }
    if (command->value_len > KV_VALUE_BYTES_LIMIT) {
        return kv_error_fail(error, KV_ERROR_TOO_LARGE, 0, "value_len %" PRIu32 " exceeds %u",
                             command->value_len, KV_VALUE_BYTES_LIMIT);
    }
    if (command->expected_len > KV_VALUE_BYTES_LIMIT) {
        return kv_error_fail(error, KV_ERROR_TOO_LARGE, 0, "expected_len %" PRIu32 " exceeds %u",
                             command->expected_len, KV_VALUE_BYTES_LIMIT);
    }
    return true;
}

static bool check_pointers(const struct kv_command *command)
{
    return (command->key != NULL || command->key_len == 0) &&
           (command->value != NULL || command->value_len == 0) &&
           (command->expected != NULL || command->expected_len == 0);
}

static bool check_session(const struct kv_command *command, struct kv_error *error)
{
    const char *op = kv_op_name(command->op);
    if (command->op == KV_OP_REGISTER) {
        if (command->client_id != 0 || command->seq != 0) {
            return kv_error_fail(error, KV_ERROR_BAD_FIELD, 0,
                                 "register carries client_id %" PRIu64 " seq %" PRIu64
                                 " (both must be 0)",
                                 command->client_id, command->seq);
        }
        return true;
    }
    if (command->client_id == 0 && command->seq != 0) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 0,
                             "%s without a session (client_id 0) carries seq %" PRIu64
                             " (must be 0)",
                             op, command->seq);
    }
    if (command->client_id != 0 && command->seq == 0) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 0,
                             "%s of client_id %" PRIu64
                             " carries seq 0 (sequence numbers start at 1)",
                             op, command->client_id);
    }
    return true;
}

static bool check_fields(const struct kv_command *command, struct kv_error *error)
{
    const char *op = kv_op_name(command->op);
    bool key_allowed = command->op != KV_OP_REGISTER;
    bool value_allowed = command->op == KV_OP_PUT || command->op == KV_OP_CAS;
    bool expected_allowed =
        command->op == KV_OP_CAS && (command->flags & KV_CAS_EXPECT_ABSENT) == 0;
    if (!key_allowed && command->key_len != 0) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 0, "%s carries a key (key_len %" PRIu32 ")",
                             op, command->key_len);
    }
    if (!value_allowed && command->value_len != 0) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 0,
                             "%s carries a value (value_len %" PRIu32 ")", op, command->value_len);
    }
    if (!expected_allowed && command->expected_len != 0) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 0,
                             "%s carries an expected value (expected_len %" PRIu32 ")", op,
                             command->expected_len);
    }
    return true;
}

bool kv_command_check(const struct kv_command *command, struct kv_error *error)
{
    assert(command != NULL);
    assert(check_pointers(command));
    kv_error_clear(error);
    if (command->op == KV_OP_NONE || command->op >= KV_OP_COUNT) {
        return kv_error_fail(error, KV_ERROR_BAD_OP, 2, "unknown op %u", command->op);
    }
    unsigned allowed_flags = command->op == KV_OP_CAS ? KV_CAS_EXPECT_ABSENT : 0;
    if ((command->flags & ~allowed_flags) != 0) {
        return kv_error_fail(error, KV_ERROR_BAD_FLAGS, 3, "flags 0x%02x not allowed for %s",
                             command->flags, kv_op_name(command->op));
    }
    return check_lengths(command, error) && check_session(command, error) &&
           check_fields(command, error);
}

size_t kv_command_encoded_bytes(const struct kv_command *command)
{
    assert(command != NULL);
    assert(command->key_len <= KV_KEY_BYTES_LIMIT);
    return KV_COMMAND_HEADER_BYTES + (size_t)command->key_len + command->value_len +
           command->expected_len;
}

int kv_command_encode(const struct kv_command *command, uint8_t *buf, size_t cap, size_t *len,
                      struct kv_error *error)
{
    assert(command != NULL);
    assert(len != NULL);
    assert(buf != NULL || cap == 0);
    if (!kv_command_check(command, error)) {
        return -1;
    }
    size_t need = kv_command_encoded_bytes(command);
    if (need > cap) {
        kv_error_fail(error, KV_ERROR_NO_SPACE, cap, "command needs %zu bytes, buffer has %zu",
                      need, cap);
        return -1;
    }
    struct kv_writer writer = { .buf = buf, .cap = cap };
    kv_write_u8(&writer, KV_TAG);
    kv_write_u8(&writer, KV_CODEC_VERSION);
    kv_write_u8(&writer, command->op);
    kv_write_u8(&writer, command->flags);
    kv_write_u64(&writer, command->client_id);
    kv_write_u64(&writer, command->seq);
    kv_write_u32(&writer, command->key_len);
    kv_write_bytes(&writer, command->key, command->key_len);
    kv_write_u32(&writer, command->value_len);
    kv_write_bytes(&writer, command->value, command->value_len);
    kv_write_u32(&writer, command->expected_len);
    kv_write_bytes(&writer, command->expected, command->expected_len);
    assert(writer.len == need);
    *len = writer.len;
    return 0;
}

/* Reads the tag and version every KV command and result starts with. */
static bool read_preamble(struct kv_reader *reader, const char *what, struct kv_error *error)
{
    uint8_t tag;
    uint8_t version;
    if (!kv_read_u8(reader, &tag)) {
        return kv_error_fail(error, KV_ERROR_TRUNCATED, 0, "empty %s (no tag byte)", what);
    }
    if (tag != KV_TAG) {
        return kv_error_fail(error, KV_ERROR_BAD_TAG, 0, "%s tag 0x%02x is not 0x%02x ('K')", what,
                             tag, KV_TAG);
    }
    if (!kv_read_u8(reader, &version)) {
        return kv_error_fail(error, KV_ERROR_TRUNCATED, 1, "%s truncated before version", what);
    }
    if (version != KV_CODEC_VERSION) {
        return kv_error_fail(error, KV_ERROR_BAD_VERSION, 1,
                             "%s version %u unknown (this code reads %u)", what, version,
                             KV_CODEC_VERSION);
    }
    return true;
}

/* Reads a u32 length and that many bytes, checking the length against `limit` first. */
static bool read_field(struct kv_reader *reader, const char *name, uint32_t limit,
                       const uint8_t **bytes, uint32_t *len, struct kv_error *error)
{
    size_t at = reader->offset;
    if (!kv_read_u32(reader, len)) {
        return kv_error_fail(error, KV_ERROR_TRUNCATED, at,
                             "truncated before %s_len (%zu bytes left)", name,
                             kv_reader_left(reader));
    }
    if (*len > limit) {
        return kv_error_fail(error, KV_ERROR_TOO_LARGE, at, "%s_len %" PRIu32 " exceeds %" PRIu32,
                             name, *len, limit);
    }
    if (!kv_read_bytes(reader, *len, bytes)) {
        return kv_error_fail(error, KV_ERROR_TRUNCATED, reader->offset,
                             "%s_len %" PRIu32 " but only %zu bytes left", name, *len,
                             kv_reader_left(reader));
    }
    return true;
}

static bool read_u64_field(struct kv_reader *reader, const char *name, uint64_t *out,
                           struct kv_error *error)
{
    if (!kv_read_u64(reader, out)) {
        return kv_error_fail(error, KV_ERROR_TRUNCATED, reader->offset, "truncated before %s",
                             name);
    }
    return true;
}

static bool expect_end(const struct kv_reader *reader, const char *what, struct kv_error *error)
{
    if (kv_reader_left(reader) != 0) {
        return kv_error_fail(error, KV_ERROR_TRAILING, reader->offset,
                             "%zu trailing bytes after the %s", kv_reader_left(reader), what);
    }
    return true;
}

static bool decode_command(struct kv_reader *reader, struct kv_command *command,
                           struct kv_error *error)
{
    if (!read_preamble(reader, "command", error)) {
        return false;
    }
    if (!kv_read_u8(reader, &command->op) || !kv_read_u8(reader, &command->flags)) {
        return kv_error_fail(error, KV_ERROR_TRUNCATED, reader->offset,
                             "truncated before op and flags");
    }
    if (command->op == KV_OP_NONE || command->op >= KV_OP_COUNT) {
        return kv_error_fail(error, KV_ERROR_BAD_OP, 2, "unknown op %u", command->op);
    }
    return read_u64_field(reader, "client_id", &command->client_id, error) &&
           read_u64_field(reader, "seq", &command->seq, error) &&
           read_field(reader, "key", KV_KEY_BYTES_LIMIT, &command->key, &command->key_len, error) &&
           read_field(reader, "value", KV_VALUE_BYTES_LIMIT, &command->value, &command->value_len,
                      error) &&
           read_field(reader, "expected", KV_VALUE_BYTES_LIMIT, &command->expected,
                      &command->expected_len, error) &&
           expect_end(reader, "command", error);
}

int kv_command_decode(const uint8_t *bytes, size_t len, struct kv_command *command,
                      struct kv_error *error)
{
    assert(bytes != NULL || len == 0);
    assert(command != NULL);
    kv_error_clear(error);
    memset(command, 0, sizeof(*command));
    struct kv_reader reader = kv_reader_make(bytes, len);
    if (!decode_command(&reader, command, error) || !kv_command_check(command, error)) {
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------------------------------- results */

static bool check_result_value(const struct kv_result *result, struct kv_error *error)
{
    bool may_have = (result->op == KV_OP_GET && result->status == KV_STATUS_OK) ||
                    (result->op == KV_OP_CAS && result->status == KV_STATUS_CAS_MISMATCH) ||
                    result->status == KV_STATUS_MALFORMED;
    bool must_have = (result->op == KV_OP_GET && result->status == KV_STATUS_OK) ||
                     result->status == KV_STATUS_MALFORMED;
    if (!result->has_value && result->value_len != 0) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 4,
                             "value_len %" PRIu32 " without a value flag", result->value_len);
    }
    if (result->has_value && !may_have) {
        return kv_error_fail(error, KV_ERROR_BAD_FLAGS, 4, "%s %s carries a value",
                             kv_op_name(result->op), kv_status_name(result->status));
    }
    if (!result->has_value && must_have) {
        return kv_error_fail(error, KV_ERROR_BAD_FLAGS, 4, "%s %s lacks its value",
                             kv_op_name(result->op), kv_status_name(result->status));
    }
    if (result->value_len > KV_VALUE_BYTES_LIMIT) {
        return kv_error_fail(error, KV_ERROR_TOO_LARGE, KV_RESULT_HEADER_BYTES - 4,
                             "value_len %" PRIu32 " exceeds %u", result->value_len,
                             KV_VALUE_BYTES_LIMIT);
    }
    return true;
}

static bool check_result_session(const struct kv_result *result, struct kv_error *error)
{
    bool no_client = result->op == KV_OP_NONE;
    bool new_client = result->op == KV_OP_REGISTER;
    if (no_client && (result->client_id != 0 || result->seq != 0)) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 13, "malformed result carries a session");
    }
    if (new_client && (result->client_id != result->index || result->seq != 0)) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 13,
                             "register result client_id %" PRIu64 " is not its index %" PRIu64
                             " or seq %" PRIu64 " is not 0",
                             result->client_id, result->index, result->seq);
    }
    if (!no_client && !new_client && (result->client_id == 0) != (result->seq == 0)) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 13,
                             "client_id %" PRIu64 " and seq %" PRIu64 " break the session rule",
                             result->client_id, result->seq);
    }
    bool session_status =
        result->status == KV_STATUS_SESSION_UNKNOWN || result->status == KV_STATUS_SESSION_STALE;
    if (session_status && result->client_id == 0) {
        return kv_error_fail(error, KV_ERROR_BAD_STATUS, 3, "%s without a session",
                             kv_status_name(result->status));
    }
    return true;
}

bool kv_result_check(const struct kv_result *result, struct kv_error *error)
{
    assert(result != NULL);
    assert(result->value != NULL || result->value_len == 0);
    kv_error_clear(error);
    if (result->op >= KV_OP_COUNT) {
        return kv_error_fail(error, KV_ERROR_BAD_OP, 2, "unknown op %u", result->op);
    }
    if (result->status >= KV_STATUS_COUNT ||
        (op_statuses[result->op] & STATUS_BIT(result->status)) == 0) {
        return kv_error_fail(error, KV_ERROR_BAD_STATUS, 3, "status %u (%s) is not an answer to %s",
                             result->status, kv_status_name(result->status),
                             kv_op_name(result->op));
    }
    if (result->index == 0) {
        return kv_error_fail(error, KV_ERROR_BAD_FIELD, 5, "index 0 (log indexes start at 1)");
    }
    return check_result_value(result, error) && check_result_session(result, error);
}

size_t kv_result_encoded_bytes(const struct kv_result *result)
{
    assert(result != NULL);
    assert(result->value_len <= KV_VALUE_BYTES_LIMIT);
    return KV_RESULT_HEADER_BYTES + (size_t)result->value_len;
}

int kv_result_encode(const struct kv_result *result, uint8_t *buf, size_t cap, size_t *len,
                     struct kv_error *error)
{
    assert(result != NULL);
    assert(len != NULL);
    assert(buf != NULL || cap == 0);
    if (!kv_result_check(result, error)) {
        return -1;
    }
    size_t need = kv_result_encoded_bytes(result);
    if (need > cap) {
        kv_error_fail(error, KV_ERROR_NO_SPACE, cap, "result needs %zu bytes, buffer has %zu", need,
                      cap);
        return -1;
    }
    struct kv_writer writer = { .buf = buf, .cap = cap };
    kv_write_u8(&writer, KV_TAG);
    kv_write_u8(&writer, KV_CODEC_VERSION);
    kv_write_u8(&writer, result->op);
    kv_write_u8(&writer, result->status);
    kv_write_u8(&writer, result->has_value ? KV_RESULT_HAS_VALUE : 0);
    kv_write_u64(&writer, result->index);
    kv_write_u64(&writer, result->client_id);
    kv_write_u64(&writer, result->seq);
    kv_write_u32(&writer, result->value_len);
    kv_write_bytes(&writer, result->value, result->value_len);
    assert(writer.len == need);
    *len = writer.len;
    return 0;
}

static bool decode_result(struct kv_reader *reader, struct kv_result *result,
                          struct kv_error *error)
{
    uint8_t flags;
    if (!read_preamble(reader, "result", error)) {
        return false;
    }
    if (!kv_read_u8(reader, &result->op) || !kv_read_u8(reader, &result->status) ||
        !kv_read_u8(reader, &flags)) {
        return kv_error_fail(error, KV_ERROR_TRUNCATED, reader->offset,
                             "truncated before op, status and flags");
    }
    if ((flags & ~KV_RESULT_HAS_VALUE) != 0) {
        return kv_error_fail(error, KV_ERROR_BAD_FLAGS, 4, "unknown result flags 0x%02x", flags);
    }
    result->has_value = (flags & KV_RESULT_HAS_VALUE) != 0;
    return read_u64_field(reader, "index", &result->index, error) &&
           read_u64_field(reader, "client_id", &result->client_id, error) &&
           read_u64_field(reader, "seq", &result->seq, error) &&
           read_field(reader, "value", KV_VALUE_BYTES_LIMIT, &result->value, &result->value_len,
                      error) &&
           expect_end(reader, "result", error);
}

int kv_result_decode(const uint8_t *bytes, size_t len, struct kv_result *result,
                     struct kv_error *error)
{
    assert(bytes != NULL || len == 0);
    assert(result != NULL);
    kv_error_clear(error);
    memset(result, 0, sizeof(*result));
    struct kv_reader reader = kv_reader_make(bytes, len);
    if (!decode_result(&reader, result, error) || !kv_result_check(result, error)) {
        return -1;
    }
    return 0;
}
