/* Tests for the workflow command codec: round trips, and untrusted bytes never crash decoding. */
#include "core/prng.h"
#include "workflows/wf_command.h"
#include "workflows/wf_def.h"
#include "workflows/wf_state.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct wf_def *def;
static struct wf_def *scratch;

static void setup(void)
{
    def = calloc(1, sizeof(*def));
    scratch = calloc(1, sizeof(*scratch));
    const char *json = "{\"id\":\"w-1\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\",\"params\":{\"n\":"
                       "1}},{\"id\":\"b\",\"kind\":\"k2\",\"deps\":[\"a\"],\"retry\":{"
                       "\"non_retryable\":[\"x\",\"y\"]}}]}";
    struct wf_error error;
    cr_assert(wf_def_from_json(json, strlen(json), def, &error), "%s", error.text);
}

static void teardown(void)
{
    free(def);
    free(scratch);
}

TestSuite(wf_command, .init = setup, .fini = teardown);

/* One valid command of every type. */
static struct wf_command sample(enum wf_command_type type)
{
    struct wf_command command = {
        .type = type,
        .timestamp_ms = 0x0102030405060708ULL,
        .workflow_id = "w-1",
        .task_index = 1,
        .attempt = 3,
    };
    switch (type) {
    case WF_CMD_SUBMIT:
        command.def = def;
        break;
    case WF_CMD_START_ATTEMPT:
        command.worker_id = 77;
        break;
    case WF_CMD_COMPLETE_ATTEMPT:
        command.output_len = 5;
        memcpy(command.output, "hello", 5);
        break;
    case WF_CMD_FAIL_ATTEMPT:
        strcpy(command.error_kind, "gateway_timeout");
        break;
    default:
        break;
    }
    return command;
}

static size_t encode(const struct wf_command *command, uint8_t *buf, size_t cap)
{
    struct wf_error error;
    size_t len = wf_command_encode(command, buf, cap, &error);
    cr_assert_gt(len, 0, "%s", error.text);
    cr_assert_eq(len, wf_command_encoded_size(command));
    return len;
}

/* Invariant: every command type round-trips field for field, starting with tag 'W', version 1. */
Test(wf_command, round_trip_every_type)
{
    static uint8_t buf[WF_COMMAND_BYTES_MAX];
    for (int type = WF_CMD_SUBMIT; type < WF_CMD_TYPE_COUNT; type++) {
        struct wf_command in = sample((enum wf_command_type)type);
        size_t len = encode(&in, buf, sizeof(buf));
        cr_assert_eq(buf[0], 0x57);
        cr_assert_eq(buf[1], 1);
        cr_assert_eq(buf[2], type);
        if (type != WF_CMD_SUBMIT) {
            cr_assert_leq(len, WF_COMMAND_SMALL_BYTES_MAX);
        }
        struct wf_command out;
        struct wf_error error;
        cr_assert(wf_command_decode(buf, len, &out, scratch, &error), "%s", error.text);
        cr_assert_eq(out.type, in.type);
        cr_assert_eq(out.timestamp_ms, in.timestamp_ms);
        cr_assert_str_eq(out.workflow_id, in.workflow_id);
        if (wf_command_has_token(in.type)) {
            cr_assert_eq(out.task_index, in.task_index);
            cr_assert_eq(out.attempt, in.attempt);
        }
        cr_assert_eq(out.worker_id, in.worker_id);
        cr_assert_str_eq(out.error_kind, in.error_kind);
        cr_assert_eq(out.output_len, in.output_len);
        cr_assert_eq(memcmp(out.output, in.output, in.output_len), 0);
        if (type == WF_CMD_SUBMIT) {
            cr_assert_eq(out.def, scratch);
            cr_assert(wf_def_equal(out.def, def));
        }
    }
}

/* Invariant: every proper prefix of every command is rejected with a message naming the field
 * and byte offset (never a crash, never a partial command). */
Test(wf_command, every_truncation_is_named)
{
    static uint8_t buf[WF_COMMAND_BYTES_MAX];
    for (int type = WF_CMD_SUBMIT; type < WF_CMD_TYPE_COUNT; type++) {
        struct wf_command in = sample((enum wf_command_type)type);
        size_t len = encode(&in, buf, sizeof(buf));
        for (size_t cut = 0; cut < len; cut++) {
            struct wf_command out;
            struct wf_error error = { .text = "" };
            cr_assert_not(wf_command_decode(buf, cut, &out, scratch, &error), "%d cut %zu", type,
                          cut);
            cr_assert(strncmp(error.text, "command.", 8) == 0, "%s", error.text);
            cr_assert(strstr(error.text, "byte") != NULL || strstr(error.text, "bytes") != NULL,
                      "%s", error.text);
            cr_assert_eq(out.type, WF_CMD_INVALID);
        }
    }
}

static void expect_decode_error(const uint8_t *buf, size_t len, const char *expected)
{
    struct wf_command out;
    struct wf_error error = { .text = "" };
    cr_assert_not(wf_command_decode(buf, len, &out, scratch, &error));
    cr_assert_str_eq(error.text, expected);
}

/* Invariant: a wrong tag, version or type, a bad id, an over-long field or trailing bytes are
 * each rejected with the field named. */
Test(wf_command, bad_headers_and_fields)
{
    uint8_t buf[WF_COMMAND_SMALL_BYTES_MAX];
    struct wf_command in = sample(WF_CMD_FAIL_ATTEMPT);
    size_t len = encode(&in, buf, sizeof(buf));
    uint8_t bad[WF_COMMAND_SMALL_BYTES_MAX];
    memcpy(bad, buf, len);
    bad[0] = 0x4B;
    expect_decode_error(bad, len, "command.tag: 0x4b is not the workflow tag 0x57");
    memcpy(bad, buf, len);
    bad[1] = 2;
    expect_decode_error(bad, len, "command.version: unsupported version 2 (this build: 1)");
    memcpy(bad, buf, len);
    bad[2] = 0;
    expect_decode_error(bad, len, "command.type: unknown type 0");
    bad[2] = WF_CMD_TYPE_COUNT;
    expect_decode_error(bad, len, "command.type: unknown type 11");
    memcpy(bad, buf, len);
    bad[12] = '/'; /* the workflow id "w-1" starts at byte 12 */
    expect_decode_error(bad, len,
                        "command.workflow_id: must be 1..64 characters of [A-Za-z0-9_.-]");
    memcpy(bad, buf, len);
    bad[11] = 65; /* id length byte */
    expect_decode_error(bad, len,
                        "command.workflow_id: length 65 exceeds the maximum 64 at byte 11");
    memcpy(bad, buf, len);
    bad[len] = 0;
    expect_decode_error(bad, len + 1, "command: 1 trailing bytes at byte 37");
    memcpy(bad, buf, len);
    bad[21] = 33; /* error kind length: 15 -> 33 */
    expect_decode_error(bad, len,
                        "command.error_kind: length 33 exceeds the maximum 32 at byte 21");
    bad[21] = 0;
    expect_decode_error(bad, 22, "command.error_kind: must be 1..32 characters of [A-Za-z0-9_.-]");
    /* a complete_attempt whose output claims more than WF_OUTPUT_BYTES_MAX */
    struct wf_command complete = sample(WF_CMD_COMPLETE_ATTEMPT);
    len = encode(&complete, buf, sizeof(buf));
    buf[21] = 0x01;
    buf[22] = 0x01; /* 257, little-endian */
    expect_decode_error(buf, len, "command.output: length 257 exceeds the maximum 256 at byte 21");
    expect_decode_error(NULL, 0, "command.tag: truncated at byte 0 (1 bytes needed, 0 left)");
}

/* Invariant: decoding is canonical: a string field with a NUL byte inside is refused, never
 * read as its prefix (which would accept several encodings of one command, and let a snapshot
 * restore into a state whose snapshot differs from the bytes it came from). */
Test(wf_command, nul_inside_a_string_is_refused)
{
    uint8_t buf[WF_COMMAND_SMALL_BYTES_MAX];
    struct wf_command pause = sample(WF_CMD_PAUSE);
    size_t len = encode(&pause, buf, sizeof(buf));
    cr_assert_eq(buf[11], 3, "the workflow id \"w-1\" starts at byte 12");
    buf[13] = '\0'; /* "w\0" "1" */
    expect_decode_error(buf, len, "command.workflow_id: NUL byte at byte 13");
    struct wf_command fail = sample(WF_CMD_FAIL_ATTEMPT);
    len = encode(&fail, buf, sizeof(buf));
    buf[len - 1] = '\0'; /* "gateway_timeou\0" */
    expect_decode_error(buf, len, "command.error_kind: NUL byte at byte 36");
}

/* Invariant: a submit whose definition is invalid or belongs to another id is rejected, naming
 * the definition field; the encoder refuses what the decoder would. */
Test(wf_command, submit_definition_is_validated)
{
    static uint8_t buf[WF_COMMAND_BYTES_MAX];
    struct wf_command in = sample(WF_CMD_SUBMIT);
    size_t len = encode(&in, buf, sizeof(buf));
    /* make task b depend on itself: deps[0] of task 1 lives near the end; find "k2" */
    size_t at = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] == 'k' && buf[i + 1] == '2') {
            at = i + 2 + 2 + 2 + 1; /* kind, params length + "{}", dep count */
        }
    }
    cr_assert_gt(at, 0);
    cr_assert_eq(buf[at], 0, "deps[0] of b is task 0");
    buf[at] = 1;
    expect_decode_error(buf, len,
                        "command.definition.tasks[1].deps[0]: task 'b' depends on itself");
    struct wf_error error;
    struct wf_command other = sample(WF_CMD_SUBMIT);
    strcpy(other.workflow_id, "w-2");
    cr_assert_eq(wf_command_encode(&other, buf, sizeof(buf), &error), 0);
    cr_assert_str_eq(error.text, "command.definition: missing or its id differs from workflow_id");
    struct wf_command small = sample(WF_CMD_SUBMIT);
    cr_assert_eq(wf_command_encode(&small, buf, 40, &error), 0);
    cr_assert(strstr(error.text, "do not fit") != NULL, "%s", error.text);
    struct wf_command bad_kind = sample(WF_CMD_FAIL_ATTEMPT);
    strcpy(bad_kind.error_kind, "has space");
    cr_assert_eq(wf_command_encode(&bad_kind, buf, sizeof(buf), &error), 0);
}

/* Invariant: decoding arbitrary mutations of valid commands never crashes; whatever decodes is
 * canonical (re-encoding gives the same bytes), whatever does not names a field. */
Test(wf_command, mutations_never_crash_and_decodes_are_canonical)
{
    static uint8_t buf[WF_COMMAND_BYTES_MAX];
    static uint8_t again[WF_COMMAND_BYTES_MAX];
    struct prng prng;
    prng_seed(&prng, 0x57);
    uint32_t decoded = 0;
    uint32_t rejected = 0;
    for (uint32_t round = 0; round < 4000; round++) {
        enum wf_command_type type =
            (enum wf_command_type)(1 + prng_below(&prng, WF_CMD_TYPE_COUNT - 1));
        struct wf_command in = sample(type);
        size_t len = encode(&in, buf, sizeof(buf));
        uint32_t flips = 1 + (uint32_t)prng_below(&prng, 3);
        for (uint32_t f = 0; f < flips; f++) {
            buf[prng_below(&prng, len)] ^= (uint8_t)(1u << prng_below(&prng, 8));
        }
        size_t cut = prng_chance(&prng, 0.2) ? (size_t)prng_below(&prng, len + 1) : len;
        struct wf_command out;
        struct wf_error error = { .text = "" };
        if (wf_command_decode(buf, cut, &out, scratch, &error)) {
            size_t len2 = wf_command_encode(&out, again, sizeof(again), &error);
            cr_assert_eq(len2, cut, "round %u: %s", round, error.text);
            cr_assert_eq(memcmp(again, buf, cut), 0, "round %u not canonical", round);
            decoded++;
        } else {
            cr_assert(strncmp(error.text, "command", 7) == 0, "round %u: %s", round, error.text);
            rejected++;
        }
    }
    cr_assert_gt(decoded, 100, "mutations of values still decode");
    cr_assert_gt(rejected, 100);
}

/* Invariant: applying a malformed payload is a result, not a crash; it changes no workflow state
 * and is counted. */
Test(wf_command, malformed_entry_changes_nothing)
{
    static uint8_t buf[WF_COMMAND_BYTES_MAX];
    struct wf_state_config config = { .workflows_max = 2 };
    struct wf_state *state = wf_state_create(&config);
    struct wf_command submit = sample(WF_CMD_SUBMIT);
    submit.timestamp_ms = 10;
    size_t len = encode(&submit, buf, sizeof(buf));
    struct wf_result result;
    wf_state_apply(state, 1, buf, len, &result);
    cr_assert_eq(result.status, WF_OK);
    uint64_t projection = wf_state_projection_hash(state);
    uint64_t clock = wf_state_clock_ms(state);
    wf_state_apply(state, 2, buf, len - 1, &result);
    cr_assert_eq(result.status, WF_REJECT_MALFORMED);
    cr_assert(strncmp(result.message, "command.", 8) == 0, "%s", result.message);
    const uint8_t kv[] = { 0x4B, 1, 2, 3 };
    wf_state_apply(state, 3, kv, sizeof(kv), &result);
    cr_assert_eq(result.status, WF_REJECT_MALFORMED);
    cr_assert_eq(wf_state_projection_hash(state), projection);
    cr_assert_eq(wf_state_clock_ms(state), clock);
    struct wf_counters counters;
    wf_state_counters(state, &counters);
    cr_assert_eq(counters.commands_malformed, 2);
    cr_assert_eq(counters.commands_applied, 1);
    uint8_t bytes[WF_MESSAGE_BYTES_MAX + 8];
    size_t result_len = wf_result_encode(&result, bytes, sizeof(bytes));
    cr_assert_gt(result_len, 4);
    cr_assert_eq(bytes[0], 0x57);
    cr_assert_eq(bytes[1], WF_REJECT_MALFORMED);
    wf_state_destroy(state);
}
