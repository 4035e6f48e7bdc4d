/* Tests for sim/hist.c: the recording API the simulator calls (invoke, complete, limits). */
#include "sim/hist.h"

#include <criterion/criterion.h>
#include <string.h>

static struct hist hist;

static void teardown(void)
{
    hist_free(&hist);
}

TestSuite(hist_record, .fini = teardown);

static int64_t put(uint64_t client, uint64_t time, const char *key, const char *value)
{
    struct hist_call call = { .kind = HIST_PUT,
                              .client = client,
                              .key = key,
                              .key_len = strlen(key),
                              .value = value,
                              .value_len = strlen(value) };
    return hist_invoke(&hist, time, &call);
}

static int64_t get(uint64_t client, uint64_t time, const char *key)
{
    struct hist_call call = {
        .kind = HIST_GET, .client = client, .key = key, .key_len = strlen(key)
    };
    return hist_invoke(&hist, time, &call);
}

/* Invariant: op ids are 0, 1, 2, ... in invocation order; events number invocations and
 * completions in the order they were recorded. */
Test(hist_record, ids_and_events_follow_call_order)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 16), HIST_E_OK);
    cr_assert_eq(put(1, 10, "x", "a"), 0);
    cr_assert_eq(get(2, 11, "x"), 1);
    cr_assert_eq(hist_complete(&hist, 1, 12, HIST_OK, "a", 1), HIST_E_OK);
    cr_assert_eq(hist_complete(&hist, 0, 13, HIST_OK, NULL, 0), HIST_E_OK);
    cr_assert_eq(hist.ops_count, 2);
    cr_assert_eq(hist.events_count, 4);
    cr_assert_eq(hist.ops[0].invoke_event, 0);
    cr_assert_eq(hist.ops[1].invoke_event, 1);
    cr_assert_eq(hist.ops[1].complete_event, 2);
    cr_assert_eq(hist.ops[0].complete_event, 3);
    cr_assert_eq(hist.ops[0].complete_time, 13);
    cr_assert_eq(hist.ops[1].client, 2);
}

/* Invariant: keys, values and results are copied (the caller's buffers may change), nil and ""
 * are different, and a read's result is kept only for an OK read. */
Test(hist_record, values_are_copied_and_nil_differs_from_empty)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 16), HIST_E_OK);
    char key[] = "k";
    char value[] = "v1";
    cr_assert_eq(put(1, 0, key, value), 0);
    key[0] = 'z';
    value[1] = '9';
    size_t len;
    const char *bytes = hist_str_bytes(&hist, hist.ops[0].key, &len);
    cr_assert(len == 1 && memcmp(bytes, "k", 1) == 0);
    bytes = hist_str_bytes(&hist, hist.ops[0].value, &len);
    cr_assert(len == 2 && memcmp(bytes, "v1", 2) == 0);
    cr_assert_eq(get(1, 1, "k"), 1);
    cr_assert_eq(get(2, 1, "k"), 2);
    cr_assert_eq(get(3, 1, "k"), 3);
    cr_assert_eq(hist_complete(&hist, 1, 2, HIST_OK, NULL, 0), HIST_E_OK);
    cr_assert_eq(hist_complete(&hist, 2, 2, HIST_OK, "", 0), HIST_E_OK);
    cr_assert_eq(hist_complete(&hist, 3, 2, HIST_UNKNOWN, "ignored", 7), HIST_E_OK);
    cr_assert_null(hist_str_bytes(&hist, hist.ops[1].result, &len));
    cr_assert_not_null(hist_str_bytes(&hist, hist.ops[2].result, &len));
    cr_assert_eq(len, 0);
    cr_assert_not(hist_str_equal(&hist, hist.ops[1].result, hist.ops[2].result));
    cr_assert_null(hist_str_bytes(&hist, hist.ops[3].result, &len));
}

/* Invariant: a history holds at most ops_max operations; the next invoke fails with HIST_E_FULL,
 * a message naming the limit, and no change to the history. */
Test(hist_record, bounded_by_ops_max)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 100), HIST_E_OK);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(put(1, (uint64_t)i, "k", "v"), i);
    }
    cr_assert_eq(put(1, 100, "k", "v"), HIST_E_FULL);
    cr_assert_not_null(strstr(hist.error, "100 operations"), "%s", hist.error);
    cr_assert_eq(hist.ops_count, 100);
    cr_assert_eq(hist.events_count, 100);
}

/* Invariant: completing an op that was never invoked, or twice, is refused with HIST_E_STATE. */
Test(hist_record, complete_requires_a_pending_op)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 8), HIST_E_OK);
    cr_assert_eq(put(1, 0, "k", "v"), 0);
    cr_assert_eq(hist_complete(&hist, 1, 1, HIST_OK, NULL, 0), HIST_E_STATE);
    cr_assert_not_null(strstr(hist.error, "never invoked"), "%s", hist.error);
    cr_assert_eq(hist_complete(&hist, 0, 1, HIST_FAIL, NULL, 0), HIST_E_OK);
    cr_assert_eq(hist_complete(&hist, 0, 2, HIST_OK, NULL, 0), HIST_E_STATE);
    cr_assert_not_null(strstr(hist.error, "twice"), "%s", hist.error);
    cr_assert_eq(hist.ops[0].outcome, HIST_FAIL);
    cr_assert_eq(hist.events_count, 2);
}

/* Invariant: times never go backwards in event order (they would contradict real-time order). */
Test(hist_record, time_never_goes_backwards)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 8), HIST_E_OK);
    cr_assert_eq(put(1, 50, "k", "v"), 0);
    cr_assert_eq(put(2, 49, "k", "w"), HIST_E_STATE);
    cr_assert_eq(hist_complete(&hist, 0, 10, HIST_OK, NULL, 0), HIST_E_STATE);
    cr_assert_eq(hist_complete(&hist, 0, 50, HIST_OK, NULL, 0), HIST_E_OK);
    cr_assert_eq(hist.ops_count, 1);
}

/* Invariant: an operation must belong to the history's model and carry what it needs. */
Test(hist_record, calls_are_checked_against_the_model)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_REGISTER, 8), HIST_E_OK);
    cr_assert_eq(put(1, 0, "k", "v"), HIST_E_ARG); /* a KV op on a register */
    struct hist_call write = { .kind = HIST_WRITE, .client = 1 };
    cr_assert_eq(hist_invoke(&hist, 0, &write), HIST_E_ARG); /* no value */
    cr_assert_not_null(strstr(hist.error, "needs a value"), "%s", hist.error);
    write.value = "3";
    write.value_len = 1;
    cr_assert_eq(hist_invoke(&hist, 0, &write), 0);
    struct hist_call bad = { .kind = (enum hist_kind)42 };
    cr_assert_eq(hist_invoke(&hist, 0, &bad), HIST_E_ARG);
    hist_free(&hist);
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 8), HIST_E_OK);
    struct hist_call keyless = { .kind = HIST_DELETE };
    cr_assert_eq(hist_invoke(&hist, 0, &keyless), HIST_E_ARG);
    cr_assert_not_null(strstr(hist.error, "needs a key"), "%s", hist.error);
}

/* Invariant: a single value is bounded by HIST_VALUE_BYTES_MAX; a refused call records nothing. */
Test(hist_record, value_size_is_bounded)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 8), HIST_E_OK);
    size_t big = (size_t)HIST_VALUE_BYTES_MAX + 1;
    char *value = calloc(big, 1);
    cr_assert_not_null(value);
    struct hist_call call = {
        .kind = HIST_PUT, .key = "k", .key_len = 1, .value = value, .value_len = big
    };
    cr_assert_eq(hist_invoke(&hist, 0, &call), HIST_E_BYTES);
    cr_assert_eq(hist.ops_count, 0);
    cr_assert_eq(hist.bytes_used, 0);
    call.value_len = big - 1;
    cr_assert_eq(hist_invoke(&hist, 0, &call), 0);
    free(value);
}

/* Invariant: the initial value can be set only before the first operation. */
Test(hist_record, initial_value_only_before_operations)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 8), HIST_E_OK);
    cr_assert_eq(hist.initial.off, HIST_NIL);
    cr_assert_eq(hist_set_initial(&hist, "", 0), HIST_E_OK);
    cr_assert_neq(hist.initial.off, HIST_NIL);
    cr_assert_eq(get(1, 0, "k"), 0);
    cr_assert_eq(hist_set_initial(&hist, "x", 1), HIST_E_STATE);
}

/* Invariant: the description names the op, its arguments, result, outcome and interval. */
Test(hist_record, describe_is_readable)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 8), HIST_E_OK);
    struct hist_call cas = { .kind = HIST_KV_CAS,
                             .client = 7,
                             .key = "k",
                             .key_len = 1,
                             .value = "new\n",
                             .value_len = 4,
                             .expected = NULL };
    cr_assert_eq(hist_invoke(&hist, 5, &cas), 0);
    cr_assert_eq(get(3, 6, "k"), 1);
    cr_assert_eq(hist_complete(&hist, 1, 9, HIST_OK, "new\n", 4), HIST_E_OK);
    char line[256];
    hist_op_describe(&hist, 0, line, sizeof(line));
    cr_assert_str_eq(line, "op 0 client 7 cas \"k\" nil -> \"new\\n\" [pending, t 5..]");
    hist_op_describe(&hist, 1, line, sizeof(line));
    cr_assert_str_eq(line, "op 1 client 3 get \"k\" = \"new\\n\" [ok, t 6..9]");
}

/* Invariant: a cas that did not swap is recorded as OK with the current value it saw (nil:
 * absent); only a cas can complete that way. */
Test(hist_record, cas_mismatch_keeps_the_value_seen)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 8), HIST_E_OK);
    struct hist_call cas = { .kind = HIST_KV_CAS,
                             .client = 1,
                             .key = "k",
                             .key_len = 1,
                             .value = "b",
                             .value_len = 1,
                             .expected = "a",
                             .expected_len = 1 };
    cr_assert_eq(hist_invoke(&hist, 0, &cas), 0);
    cr_assert_eq(hist_invoke(&hist, 0, &cas), 1);
    cr_assert_eq(get(2, 0, "k"), 2);
    cr_assert_eq(hist_complete_cas_mismatch(&hist, 0, 1, "z", 1), HIST_E_OK);
    cr_assert_eq(hist_complete_cas_mismatch(&hist, 1, 1, NULL, 0), HIST_E_OK);
    cr_assert_eq(hist_complete_cas_mismatch(&hist, 2, 1, "z", 1), HIST_E_ARG);
    cr_assert_eq(hist_complete_cas_mismatch(&hist, 0, 1, "z", 1), HIST_E_STATE);
    cr_assert(hist.ops[0].outcome == HIST_OK && hist.ops[0].cas_mismatch);
    size_t len;
    const char *seen = hist_str_bytes(&hist, hist.ops[0].result, &len);
    cr_assert(len == 1 && seen[0] == 'z');
    cr_assert_null(hist_str_bytes(&hist, hist.ops[1].result, &len));
    char line[256];
    hist_op_describe(&hist, 0, line, sizeof(line));
    cr_assert_str_eq(line, "op 0 client 1 cas \"k\" \"a\" -> \"b\" = mismatch \"z\" [ok, t 0..1]");
}

/* Invariant: the allocation grows past its first size without losing recorded ops. */
Test(hist_record, growth_keeps_ops)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_KV, 5000), HIST_E_OK);
    char value[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(value, sizeof(value), "value-%d", i);
        cr_assert_eq(put((uint64_t)i % 7, (uint64_t)i, "key", value), i);
    }
    size_t len;
    const char *bytes = hist_str_bytes(&hist, hist.ops[4321].value, &len);
    cr_assert(len == strlen("value-4321") && memcmp(bytes, "value-4321", len) == 0);
    cr_assert_eq(hist.ops[4321].client, 4321 % 7);
}
