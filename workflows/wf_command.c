/* Binary codec of workflow commands (Raft COMMAND payloads tagged 'W'). */
#include "workflows/wf_command.h"

#include "workflows/wf_bytes.h"
#include "workflows/wf_def.h"

#include <assert.h>
#include <string.h>

/* A definition at every maximum: id, task count, then per task the fields of encode_task. */
#define DEF_TASK_BYTES_MAX                                                                         \
    (1 + WF_ID_BYTES_MAX + 1 + WF_KIND_BYTES_MAX + 2 + WF_PARAMS_BYTES_MAX + 1 + 2 * WF_DEPS_MAX + \
     4 + 8 + 4 + 8 + 1 + WF_NON_RETRYABLE_MAX * (1 + WF_ERROR_KIND_BYTES_MAX) + 8)
#define HEADER_BYTES_MAX (3 + 8 + 1 + WF_ID_BYTES_MAX)
_Static_assert(HEADER_BYTES_MAX + 4 + 1 + WF_ID_BYTES_MAX + 2 + WF_TASKS_MAX * DEF_TASK_BYTES_MAX <=
                   WF_COMMAND_BYTES_MAX,
               "WF_COMMAND_BYTES_MAX must hold a submit at every maximum");
_Static_assert(HEADER_BYTES_MAX + 2 + 4 + 2 + WF_OUTPUT_BYTES_MAX <= WF_COMMAND_SMALL_BYTES_MAX,
               "WF_COMMAND_SMALL_BYTES_MAX must hold every other command");

bool wf_command_has_token(enum wf_command_type type)
{
    return type >= WF_CMD_START_ATTEMPT && type <= WF_CMD_SCHEDULE_RETRY;
}

const char *wf_command_type_name(enum wf_command_type type)
{
    static const char *const names[WF_CMD_TYPE_COUNT] = {
        "invalid",      "submit",       "start_attempt",  "extend_lease", "complete_attempt",
        "fail_attempt", "expire_lease", "schedule_retry", "pause",        "resume",
        "cancel",
    };
    return (unsigned)type < WF_CMD_TYPE_COUNT ? names[type] : "invalid";
}

void wf_command_stamp(struct wf_command *command, uint64_t now_ms)
{
    assert(command != NULL);
    assert(command->type != WF_CMD_INVALID);
    command->timestamp_ms = now_ms;
}

/* Checks what the encoder cannot represent or the decoder would reject. */
static bool command_valid(const struct wf_command *command, struct wf_error *error)
{
    if (command->type <= WF_CMD_INVALID || command->type >= WF_CMD_TYPE_COUNT) {
        wf_error_set(error, "command.type: unknown type %d", (int)command->type);
        return false;
    }
    if (!wf_name_valid(command->workflow_id, strnlen(command->workflow_id, WF_ID_BYTES_MAX + 1),
                       WF_ID_BYTES_MAX)) {
        wf_error_set(error, "command.workflow_id: must be 1..%d characters of [A-Za-z0-9_.-]",
                     WF_ID_BYTES_MAX);
        return false;
    }
    if (command->type == WF_CMD_SUBMIT) {
        if (command->def == NULL || strcmp(command->def->id, command->workflow_id) != 0) {
            wf_error_set(error, "command.definition: missing or its id differs from workflow_id");
            return false;
        }
        struct wf_error invalid;
        if (!wf_def_validate(command->def, &invalid)) {
            wf_error_set(error, "command.definition.%s", invalid.text);
            return false;
        }
    }
    if (command->type == WF_CMD_FAIL_ATTEMPT &&
        !wf_name_valid(command->error_kind,
                       strnlen(command->error_kind, WF_ERROR_KIND_BYTES_MAX + 1),
                       WF_ERROR_KIND_BYTES_MAX)) {
        wf_error_set(error, "command.error_kind: must be 1..%d characters of [A-Za-z0-9_.-]",
                     WF_ERROR_KIND_BYTES_MAX);
        return false;
    }
    if (command->type == WF_CMD_COMPLETE_ATTEMPT && command->output_len > WF_OUTPUT_BYTES_MAX) {
        wf_error_set(error, "command.output: %u bytes exceed the maximum %d",
                     (unsigned)command->output_len, WF_OUTPUT_BYTES_MAX);
        return false;
    }
    return true;
}

static void encode_body(const struct wf_command *command, struct wf_writer *writer)
{
    wf_put_u8(writer, WF_COMMAND_TAG);
    wf_put_u8(writer, WF_COMMAND_VERSION);
    wf_put_u8(writer, (uint8_t)command->type);
    wf_put_u64(writer, command->timestamp_ms);
    wf_put_str8(writer, command->workflow_id);
    if (command->type == WF_CMD_SUBMIT) {
        struct wf_writer counter;
        wf_writer_init(&counter, NULL, 0);
        wf_def_encode(command->def, &counter);
        wf_put_u32(writer, (uint32_t)counter.len);
        wf_def_encode(command->def, writer);
        return;
    }
    if (!wf_command_has_token(command->type)) {
        return;
    }
    wf_put_u16(writer, command->task_index);
    wf_put_u32(writer, command->attempt);
    if (command->type == WF_CMD_START_ATTEMPT) {
        wf_put_u32(writer, command->worker_id);
    } else if (command->type == WF_CMD_COMPLETE_ATTEMPT) {
        wf_put_blob16(writer, command->output, command->output_len);
    } else if (command->type == WF_CMD_FAIL_ATTEMPT) {
        wf_put_str8(writer, command->error_kind);
    }
}

size_t wf_command_encoded_size(const struct wf_command *command)
{
    assert(command != NULL);
    struct wf_writer writer;
    wf_writer_init(&writer, NULL, 0);
    encode_body(command, &writer);
    return writer.len;
}

size_t wf_command_encode(const struct wf_command *command, uint8_t *buf, size_t cap,
                         struct wf_error *error)
{
    assert(command != NULL);
    assert(buf != NULL || cap == 0);
    if (!command_valid(command, error)) {
        return 0;
    }
    struct wf_writer writer;
    wf_writer_init(&writer, buf, cap);
    encode_body(command, &writer);
    if (writer.overflow) {
        wf_error_set(error, "command: %zu bytes do not fit in a %zu-byte buffer", writer.len, cap);
        return 0;
    }
    assert(writer.len > 0);
    return writer.len;
}

static bool decode_header(struct wf_reader *reader, struct wf_command *out)
{
    uint8_t tag = 0;
    uint8_t version = 0;
    uint8_t type = 0;
    if (!wf_get_u8(reader, "command.tag", &tag)) {
        return false;
    }
    if (tag != WF_COMMAND_TAG) {
        return wf_reader_fail(reader, "command.tag: 0x%02x is not the workflow tag 0x%02x",
                              (unsigned)tag, WF_COMMAND_TAG);
    }
    if (!wf_get_u8(reader, "command.version", &version)) {
        return false;
    }
    if (version != WF_COMMAND_VERSION) {
        return wf_reader_fail(reader, "command.version: unsupported version %u (this build: %d)",
                              (unsigned)version, WF_COMMAND_VERSION);
    }
    if (!wf_get_u8(reader, "command.type", &type)) {
        return false;
    }
    if (type == WF_CMD_INVALID || type >= WF_CMD_TYPE_COUNT) {
        return wf_reader_fail(reader, "command.type: unknown type %u", (unsigned)type);
    }
    out->type = (enum wf_command_type)type;
    wf_get_u64(reader, "command.timestamp_ms", &out->timestamp_ms);
    if (!wf_get_str8(reader, "command.workflow_id", out->workflow_id, WF_ID_BYTES_MAX)) {
        return false;
    }
    if (!wf_name_valid(out->workflow_id, strlen(out->workflow_id), WF_ID_BYTES_MAX)) {
        return wf_reader_fail(reader,
                              "command.workflow_id: must be 1..%d characters of [A-Za-z0-9_.-]",
                              WF_ID_BYTES_MAX);
    }
    return true;
}

static bool decode_submit(struct wf_reader *reader, struct wf_command *out, struct wf_def *def)
{
    uint32_t def_len = 0;
    if (!wf_get_u32(reader, "command.definition", &def_len)) {
        return false;
    }
    if (def_len > reader->len - reader->pos) {
        return wf_reader_fail(reader, "command.definition: length %u exceeds the %zu bytes left",
                              def_len, reader->len - reader->pos);
    }
    struct wf_reader inner;
    struct wf_error error;
    wf_reader_init(&inner, reader->buf + reader->pos, def_len);
    if (!wf_def_decode(&inner, def, &error)) {
        return wf_reader_fail(reader, "command.%s", error.text);
    }
    if (!wf_reader_expect_end(&inner, "definition")) {
        return wf_reader_fail(reader, "command.%s", inner.error.text);
    }
    reader->pos += def_len;
    if (strcmp(def->id, out->workflow_id) != 0) {
        return wf_reader_fail(reader, "command.definition.id: '%s' differs from workflow_id '%s'",
                              def->id, out->workflow_id);
    }
    out->def = def;
    return true;
}

static bool decode_token_fields(struct wf_reader *reader, struct wf_command *out)
{
    size_t output_len = 0;
    wf_get_u16(reader, "command.task", &out->task_index);
    if (!wf_get_u32(reader, "command.attempt", &out->attempt)) {
        return false;
    }
    switch (out->type) {
    case WF_CMD_START_ATTEMPT:
        return wf_get_u32(reader, "command.worker", &out->worker_id);
    case WF_CMD_COMPLETE_ATTEMPT:
        if (!wf_get_blob16(reader, "command.output", out->output, WF_OUTPUT_BYTES_MAX,
                           &output_len)) {
            return false;
        }
        out->output_len = (uint16_t)output_len;
        return true;
    case WF_CMD_FAIL_ATTEMPT:
        if (!wf_get_str8(reader, "command.error_kind", out->error_kind, WF_ERROR_KIND_BYTES_MAX)) {
            return false;
        }
        if (!wf_name_valid(out->error_kind, strlen(out->error_kind), WF_ERROR_KIND_BYTES_MAX)) {
            return wf_reader_fail(reader,
                                  "command.error_kind: must be 1..%d characters of "
                                  "[A-Za-z0-9_.-]",
                                  WF_ERROR_KIND_BYTES_MAX);
        }
        return true;
    default:
        return true;
    }
}

bool wf_command_decode(const uint8_t *buf, size_t len, struct wf_command *out,
                       struct wf_def *def_scratch, struct wf_error *error)
{
    assert(buf != NULL || len == 0);
    assert(out != NULL);
    assert(def_scratch != NULL);
    memset(out, 0, sizeof(*out));
    struct wf_reader reader;
    wf_reader_init(&reader, buf, len);
    if (!decode_header(&reader, out)) {
        goto out_fail;
    }
    if (out->type == WF_CMD_SUBMIT) {
        if (!decode_submit(&reader, out, def_scratch)) {
            goto out_fail;
        }
    } else if (wf_command_has_token(out->type) && !decode_token_fields(&reader, out)) {
        goto out_fail;
    }
    if (!wf_reader_expect_end(&reader, "command")) {
        goto out_fail;
    }
    return true;
out_fail:
    assert(reader.failed);
    wf_error_set(error, "%s", reader.error.text);
    out->type = WF_CMD_INVALID;
    out->def = NULL;
    return false;
}
