/* Tests for workflow definitions: JSON validation, canonical form, binary codec, retry math. */
#include "tests/workflows/test_wf_driver.h"
#include "workflows/wf_def.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wf_def *def_a;
static struct wf_def *def_b;

static void setup(void)
{
    def_a = calloc(1, sizeof(*def_a));
    def_b = calloc(1, sizeof(*def_b));
    cr_assert(def_a != NULL && def_b != NULL);
}

static void teardown(void)
{
    free(def_a);
    free(def_b);
}

TestSuite(wf_def, .init = setup, .fini = teardown);

static void expect_error(const char *json, const char *expected)
{
    struct wf_error error = { .text = "" };
    bool ok = wf_def_from_json(json, strlen(json), def_a, &error);
    cr_assert_not(ok, "accepted: %s", json);
    cr_assert_str_eq(error.text, expected, "for %s: got %s", json, error.text);
}

static void expect_ok(const char *json, struct wf_def *out)
{
    struct wf_error error = { .text = "" };
    bool ok = wf_def_from_json(json, strlen(json), out, &error);
    cr_assert(ok, "rejected: %s: %s", json, error.text);
}

#define ONE_TASK(fields) "{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"" fields "}]}"
#define RETRY(fields)    ONE_TASK(",\"retry\":{" fields "}")

/* Invariant: every shipped example is a valid definition. */
Test(wf_def, examples_are_valid)
{
    const char *names[] = { "hello.json", "diamond.json", "retry.json" };
    for (size_t i = 0; i < 3; i++) {
        size_t len = 0;
        char *json = wfd_read_example(names[i], &len);
        cr_assert_not_null(json, "%s", names[i]);
        struct wf_error error = { .text = "" };
        cr_assert(wf_def_from_json(json, len, def_a, &error), "%s: %s", names[i], error.text);
        free(json);
    }
    cr_assert_eq(def_a->task_count, 3);
    cr_assert_eq(def_a->tasks[1].retry.max_attempts, 4, "a task's retry overrides defaults");
    cr_assert_eq(def_a->tasks[1].retry.initial_backoff_ms, 200, "unset fields keep defaults");
    cr_assert_eq(def_a->tasks[2].lease_timeout_ms, 3000);
    cr_assert_eq(def_a->tasks[0].lease_timeout_ms, 1000);
}

/* Invariant: bad JSON and bad shapes are rejected with the position or field path named. */
Test(wf_def, rejects_bad_documents)
{
    struct wf_error error;
    cr_assert_not(wf_def_from_json("", 0, def_a, &error));
    cr_assert(strncmp(error.text, "definition: line 1, column", 26) == 0, "%s", error.text);
    cr_assert_not(wf_def_from_json("{\"id\":\"w\",\"id\":\"v\"}", 19, def_a, &error));
    cr_assert(strstr(error.text, "duplicate object key") != NULL, "%s", error.text);
    expect_error("[]", "definition: must be a JSON object");
    expect_error("{\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"}]}", "id: required");
    expect_error("{\"id\":\"a b\",\"tasks\":[]}",
                 "id: must be a string of 1..64 characters of [A-Za-z0-9_.-]");
    expect_error("{\"id\":\"w\"}", "tasks: required");
    expect_error("{\"id\":\"w\",\"tasks\":{}}", "tasks: must be an array");
    expect_error("{\"id\":\"w\",\"tasks\":[]}", "tasks: must contain 1..64 tasks (got 0)");
    expect_error("{\"id\":\"w\",\"taks\":[]}", "taks: unknown field");
    expect_error("{\"id\":\"w\",\"description\":5,\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"}]}",
                 "description: must be a string");
    char *big = malloc(WF_DEF_JSON_BYTES_MAX + 2);
    memset(big, ' ', WF_DEF_JSON_BYTES_MAX + 1);
    cr_assert_not(wf_def_from_json(big, WF_DEF_JSON_BYTES_MAX + 1, def_a, &error));
    cr_assert_str_eq(error.text, "definition: 65537 bytes exceed the maximum 65536");
    free(big);
}

/* Invariant: task ids are unique and well-formed; unknown fields are errors, not defaults. */
Test(wf_def, rejects_bad_tasks)
{
    expect_error("{\"id\":\"w\",\"tasks\":[5]}", "tasks[0]: must be a JSON object");
    expect_error("{\"id\":\"w\",\"tasks\":[{\"kind\":\"k\"}]}", "tasks[0].id: required");
    expect_error("{\"id\":\"w\",\"tasks\":[{\"id\":\"a\"}]}", "tasks[0].kind: required");
    expect_error("{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"},{\"id\":\"b\",\"kind\":"
                 "\"k\"},{\"id\":\"a\",\"kind\":\"k\"}]}",
                 "tasks[2].id: duplicate task id 'a' (first at tasks[0])");
    expect_error(ONE_TASK(",\"dep\":[]"), "tasks[0].dep: unknown field");
    expect_error(ONE_TASK(",\"description\":[]"), "tasks[0].description: must be a string");
    expect_error("{\"id\":\"w\",\"tasks\":[{\"id\":\"a/b\",\"kind\":\"k\"}]}",
                 "tasks[0].id: must be a string of 1..64 characters of [A-Za-z0-9_.-]");
    expect_error(ONE_TASK(",\"params\":[1]"), "tasks[0].params: must be a JSON object");
    expect_error(ONE_TASK(",\"lease_timeout_ms\":0"),
                 "tasks[0].lease_timeout_ms: must be between 1 and 604800000 (got 0)");
    expect_error(ONE_TASK(",\"lease_timeout_ms\":\"5s\""),
                 "tasks[0].lease_timeout_ms: must be an integer");
}

/* Invariant: dependencies name other existing tasks, once each, and form no cycle. */
Test(wf_def, rejects_bad_dependencies)
{
    expect_error("{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"},{\"id\":\"b\",\"kind\":"
                 "\"k\",\"deps\":\"a\"}]}",
                 "tasks[1].deps: must be an array of task ids");
    expect_error("{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"},{\"id\":\"b\",\"kind\":"
                 "\"k\",\"deps\":[\"zz\"]}]}",
                 "tasks[1].deps[0]: unknown task id 'zz'");
    expect_error("{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"},{\"id\":\"b\",\"kind\":"
                 "\"k\",\"deps\":[1]}]}",
                 "tasks[1].deps[0]: must be a task id string");
    expect_error(ONE_TASK(",\"deps\":[\"a\"]"), "tasks[0].deps[0]: task 'a' depends on itself");
    expect_error("{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"},{\"id\":\"b\",\"kind\":"
                 "\"k\",\"deps\":[\"a\",\"a\"]}]}",
                 "tasks[1].deps[1]: duplicate dependency 'a'");
    expect_error("{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\",\"deps\":[\"b\"]},{\"id\":"
                 "\"b\",\"kind\":\"k\",\"deps\":[\"a\"]}]}",
                 "tasks[0].deps: dependency cycle a -> b -> a (each depends on the next)");
    /* a cycle c -> b -> a -> c with an entry task x and a task d hanging off it */
    expect_error("{\"id\":\"w\",\"tasks\":[{\"id\":\"d\",\"kind\":\"k\",\"deps\":[\"a\"]},"
                 "{\"id\":\"x\",\"kind\":\"k\"},{\"id\":\"a\",\"kind\":\"k\",\"deps\":[\"x\","
                 "\"c\"]},{\"id\":\"b\",\"kind\":\"k\",\"deps\":[\"a\"]},{\"id\":\"c\",\"kind\":"
                 "\"k\",\"deps\":[\"b\"]}]}",
                 "tasks[4].deps: dependency cycle c -> b -> a -> c (each depends on the next)");
}

/* Invariant: retry policies are in range; the field path names the offending value. */
Test(wf_def, rejects_bad_retry_policies)
{
    expect_error(RETRY("\"max_attempts\":0"),
                 "tasks[0].retry.max_attempts: must be between 1 and 16 (got 0)");
    expect_error(RETRY("\"max_attempts\":17"),
                 "tasks[0].retry.max_attempts: must be between 1 and 16 (got 17)");
    expect_error(RETRY("\"max_attempts\":2.5"), "tasks[0].retry.max_attempts: must be an integer");
    expect_error(RETRY("\"max_attempts\":\"3\""),
                 "tasks[0].retry.max_attempts: must be an integer");
    expect_error(RETRY("\"initial_backoff_ms\":-1"),
                 "tasks[0].retry.initial_backoff_ms: must be between 0 and 604800000 (got -1)");
    expect_error(RETRY("\"initial_backoff_ms\":500,\"max_backoff_ms\":100"),
                 "tasks[0].retry.initial_backoff_ms: must be <= max_backoff_ms (100)");
    expect_error(RETRY("\"max_backoff_ms\":604800001"),
                 "tasks[0].retry.max_backoff_ms: must be between 0 and 604800000 (got 604800001)");
    expect_error(RETRY("\"multiplier\":0.5"),
                 "tasks[0].retry.multiplier: must be between 1.0 and 100.0");
    expect_error(RETRY("\"multiplier\":\"2\""), "tasks[0].retry.multiplier: must be a number");
    expect_error(RETRY("\"max_attempt\":3"), "tasks[0].retry.max_attempt: unknown field");
    expect_error(ONE_TASK(",\"retry\":3"), "tasks[0].retry: must be a JSON object");
    expect_error(RETRY("\"non_retryable\":\"x\""),
                 "tasks[0].retry.non_retryable: must be an array of error kinds");
    expect_error(RETRY("\"non_retryable\":[\"ok\",\"not ok\"]"),
                 "tasks[0].retry.non_retryable[1]: must be a string of 1..32 characters of "
                 "[A-Za-z0-9_.-]");
    expect_error(RETRY("\"non_retryable\":[\"x\",\"x\"]"),
                 "tasks[0].retry.non_retryable[1]: duplicate error kind 'x'");
    expect_error(RETRY("\"non_retryable\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]"),
                 "tasks[0].retry.non_retryable: at most 8 error kinds (got 9)");
    expect_error("{\"id\":\"w\",\"defaults\":{\"retry\":{\"max_attempts\":0}},\"tasks\":[{\"id\":"
                 "\"a\",\"kind\":\"k\"}]}",
                 "defaults.retry.max_attempts: must be between 1 and 16 (got 0)");
    expect_error("{\"id\":\"w\",\"defaults\":{\"lease\":1},\"tasks\":[{\"id\":\"a\",\"kind\":"
                 "\"k\"}]}",
                 "defaults.lease: unknown field");
}

/* Builds a definition JSON with `tasks` tasks, each depending on up to `deps` previous ones. */
static char *chain_json(uint32_t tasks, uint32_t deps, size_t id_len)
{
    size_t cap = 1 << 20;
    char *json = malloc(cap);
    size_t used = (size_t)snprintf(json, cap, "{\"id\":\"w\",\"tasks\":[");
    for (uint32_t t = 0; t < tasks; t++) {
        used += (size_t)snprintf(json + used, cap - used, "%s{\"id\":\"%0*u\",\"kind\":\"k\"",
                                 t ? "," : "", (int)id_len, t);
        if (t > 0) {
            used += (size_t)snprintf(json + used, cap - used, ",\"deps\":[");
            for (uint32_t j = 0; j < deps && j < t; j++) {
                used += (size_t)snprintf(json + used, cap - used, "%s\"%0*u\"", j ? "," : "",
                                         (int)id_len, t - 1 - j);
            }
            used += (size_t)snprintf(json + used, cap - used, "]");
        }
        used += (size_t)snprintf(json + used, cap - used, "}");
    }
    snprintf(json + used, cap - used, "]}");
    return json;
}

/* Invariant: every bound is a named maximum; exactly at it is accepted, one past it rejected;
 * a 64-task chain (the deepest DAG) validates without recursion. */
Test(wf_def, limits_are_exact)
{
    char *json = chain_json(WF_TASKS_MAX, 1, 4);
    expect_ok(json, def_a);
    cr_assert_eq(def_a->task_count, WF_TASKS_MAX);
    free(json);
    json = chain_json(WF_TASKS_MAX + 1, 1, 4);
    expect_error(json, "tasks: must contain 1..64 tasks (got 65)");
    free(json);
    json = chain_json(WF_DEPS_MAX + 1, WF_DEPS_MAX, 2);
    expect_ok(json, def_a);
    cr_assert_eq(def_a->tasks[WF_DEPS_MAX].dep_count, WF_DEPS_MAX);
    free(json);
    json = chain_json(WF_DEPS_MAX + 2, WF_DEPS_MAX + 1, 2);
    expect_error(json, "tasks[17].deps: at most 16 dependencies (got 17)");
    free(json);
    json = chain_json(2, 1, WF_ID_BYTES_MAX);
    expect_ok(json, def_a);
    free(json);
    json = chain_json(2, 1, WF_ID_BYTES_MAX + 1);
    expect_error(json, "tasks[0].id: must be a string of 1..64 characters of [A-Za-z0-9_.-]");
    free(json);
    expect_ok(
        "{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"}]}",
        def_a);
    expect_error(
        "{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"}]}",
        "tasks[0].kind: must be a string of 1..32 characters of [A-Za-z0-9_.-]");
    /* params: {"p":"xxx..."} is 8 bytes of framing plus the string */
    char params[1024];
    char text[2048];
    memset(params, 'x', sizeof(params));
    params[WF_PARAMS_BYTES_MAX - 8] = '\0';
    snprintf(text, sizeof(text), ONE_TASK(",\"params\":{\"p\":\"%s\"}"), params);
    expect_ok(text, def_a);
    cr_assert_eq(def_a->tasks[0].params_len, WF_PARAMS_BYTES_MAX);
    params[WF_PARAMS_BYTES_MAX - 8] = 'x';
    params[WF_PARAMS_BYTES_MAX - 7] = '\0';
    snprintf(text, sizeof(text), ONE_TASK(",\"params\":{\"p\":\"%s\"}"), params);
    expect_error(text, "tasks[0].params: 513 bytes as compact JSON, at most 512");
}

/* Invariant: the canonical form ignores JSON spelling (whitespace, key order, dependency and
 * error-kind order, omitted defaults, 2 vs 2.0) but not meaning or task order. */
Test(wf_def, canonical_form)
{
    expect_ok("{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\",\"params\":{\"x\":1,\"y\":"
              "[true,null]}},{\"id\":\"b\",\"kind\":\"k\"},{\"id\":\"c\",\"kind\":\"k\","
              "\"deps\":[\"a\",\"b\"],\"retry\":{\"multiplier\":2,\"non_retryable\":[\"p\","
              "\"q\"]}}]}",
              def_a);
    expect_ok("{ \"tasks\" : [ {\"kind\":\"k\",\"id\":\"a\",\"params\":{\"y\":[true, null], "
              "\"x\":1}, \"retry\":{\"max_attempts\":3}},\n{\"id\":\"b\",\"kind\":\"k\","
              "\"params\":{}},{\"id\":\"c\",\"kind\":\"k\",\"deps\":[\"b\",\"a\"],\"retry\":"
              "{\"multiplier\":2.0,\"non_retryable\":[\"q\",\"p\"]},\"lease_timeout_ms\":30000}],"
              "\"id\":\"w\"}",
              def_b);
    cr_assert(wf_def_equal(def_a, def_b));
    cr_assert_eq(wf_def_hash(def_a), wf_def_hash(def_b));
    cr_assert_str_eq(def_a->tasks[0].params, "{\"x\":1,\"y\":[true,null]}");
    cr_assert_eq(def_a->tasks[2].deps[0], 0);
    cr_assert_eq(def_a->tasks[2].deps[1], 1);
    cr_assert_str_eq(def_a->tasks[2].retry.non_retryable[0], "p");
    expect_ok("{\"id\":\"w\",\"tasks\":[{\"id\":\"b\",\"kind\":\"k\"},{\"id\":\"a\",\"kind\":\"k\","
              "\"params\":{\"x\":1,\"y\":[true,null]}},{\"id\":\"c\",\"kind\":\"k\",\"deps\":"
              "[\"a\",\"b\"],\"retry\":{\"non_retryable\":[\"p\",\"q\"]}}]}",
              def_b);
    cr_assert_not(wf_def_equal(def_a, def_b), "task order matters: commands address by index");
    expect_ok(ONE_TASK(",\"retry\":{\"multiplier\":1.5}"), def_b);
    cr_assert_eq(def_b->tasks[0].retry.multiplier_permille, 1500);
}

/* Two tasks, every field given: VARIANT(...) changes exactly one of them. */
#define DEF_WITH(id, b_id, kind, params, deps, attempts, initial, mult, max, kinds, lease)         \
    "{\"id\":\"" id "\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"},{\"id\":\"" b_id                  \
    "\",\"kind\":\"" kind "\",\"params\":" params ",\"deps\":" deps ",\"retry\":{"                 \
    "\"max_attempts\":" attempts ",\"initial_backoff_ms\":" initial ",\"multiplier\":" mult        \
    ",\"max_backoff_ms\":" max ",\"non_retryable\":" kinds "},\"lease_timeout_ms\":" lease "}]}"
#define BASE_DEF                                                                                   \
    DEF_WITH("w", "b", "k2", "{\"n\":1}", "[\"a\"]", "4", "100", "1.5", "900", "[\"x\"]", "700")

/* Invariant: idempotent submit compares whole definitions: equality and the definition hash
 * (which the state hash uses in its place) both see a change to any one field, so a resubmit
 * that differs anywhere is a conflict, never the existing run. */
Test(wf_def, equality_and_hash_see_every_field)
{
    const char *variants[] = {
        DEF_WITH("v", "b", "k2", "{\"n\":1}", "[\"a\"]", "4", "100", "1.5", "900", "[\"x\"]",
                 "700"),
        DEF_WITH("w", "c", "k2", "{\"n\":1}", "[\"a\"]", "4", "100", "1.5", "900", "[\"x\"]",
                 "700"),
        DEF_WITH("w", "b", "k3", "{\"n\":1}", "[\"a\"]", "4", "100", "1.5", "900", "[\"x\"]",
                 "700"),
        DEF_WITH("w", "b", "k2", "{\"n\":2}", "[\"a\"]", "4", "100", "1.5", "900", "[\"x\"]",
                 "700"),
        DEF_WITH("w", "b", "k2", "{\"n\":1}", "[]", "4", "100", "1.5", "900", "[\"x\"]", "700"),
        DEF_WITH("w", "b", "k2", "{\"n\":1}", "[\"a\"]", "5", "100", "1.5", "900", "[\"x\"]",
                 "700"),
        DEF_WITH("w", "b", "k2", "{\"n\":1}", "[\"a\"]", "4", "101", "1.5", "900", "[\"x\"]",
                 "700"),
        DEF_WITH("w", "b", "k2", "{\"n\":1}", "[\"a\"]", "4", "100", "1.6", "900", "[\"x\"]",
                 "700"),
        DEF_WITH("w", "b", "k2", "{\"n\":1}", "[\"a\"]", "4", "100", "1.5", "901", "[\"x\"]",
                 "700"),
        DEF_WITH("w", "b", "k2", "{\"n\":1}", "[\"a\"]", "4", "100", "1.5", "900", "[\"y\"]",
                 "700"),
        DEF_WITH("w", "b", "k2", "{\"n\":1}", "[\"a\"]", "4", "100", "1.5", "900", "[]", "700"),
        DEF_WITH("w", "b", "k2", "{\"n\":1}", "[\"a\"]", "4", "100", "1.5", "900", "[\"x\"]",
                 "701"),
        "{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"}]}",
    };
    expect_ok(BASE_DEF, def_a);
    expect_ok(BASE_DEF, def_b);
    cr_assert(wf_def_equal(def_a, def_b));
    cr_assert_eq(wf_def_hash(def_a), wf_def_hash(def_b));
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        expect_ok(variants[i], def_b);
        cr_assert_not(wf_def_equal(def_a, def_b), "variant %zu equal: %s", i, variants[i]);
        cr_assert_not(wf_def_equal(def_b, def_a), "variant %zu equal: %s", i, variants[i]);
        cr_assert_neq(wf_def_hash(def_a), wf_def_hash(def_b), "variant %zu: %s", i, variants[i]);
    }
}

/* Invariant: the binary form round-trips, and decoding untrusted bytes never crashes: every
 * truncation is an error naming the definition field. */
Test(wf_def, binary_round_trip_and_truncation)
{
    size_t len = 0;
    char *json = wfd_read_example("retry.json", &len);
    struct wf_error error;
    cr_assert(wf_def_from_json(json, len, def_a, &error));
    free(json);
    uint8_t bytes[8192];
    struct wf_writer writer;
    wf_writer_init(&writer, bytes, sizeof(bytes));
    wf_def_encode(def_a, &writer);
    cr_assert_not(writer.overflow);
    struct wf_reader reader;
    wf_reader_init(&reader, bytes, writer.len);
    cr_assert(wf_def_decode(&reader, def_b, &error), "%s", error.text);
    cr_assert(wf_reader_expect_end(&reader, "definition"));
    cr_assert(wf_def_equal(def_a, def_b));
    for (size_t cut = 0; cut < writer.len; cut++) {
        wf_reader_init(&reader, bytes, cut);
        error.text[0] = '\0';
        cr_assert_not(wf_def_decode(&reader, def_b, &error), "cut at %zu", cut);
        cr_assert(strncmp(error.text, "definition.", 11) == 0, "cut %zu: %s", cut, error.text);
    }
}

/* Invariant: validation of the binary form enforces the same rules as JSON (a cycle, an
 * out-of-range dependency or unsorted deps built by hand are refused). */
Test(wf_def, validate_rejects_hand_built_definitions)
{
    expect_ok("{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"},{\"id\":\"b\",\"kind\":\"k\","
              "\"deps\":[\"a\"]}]}",
              def_a);
    struct wf_error error;
    cr_assert(wf_def_validate(def_a, &error));
    def_a->tasks[0].dep_count = 1;
    def_a->tasks[0].deps[0] = 1;
    cr_assert_not(wf_def_validate(def_a, &error));
    cr_assert_str_eq(error.text,
                     "tasks[0].deps: dependency cycle a -> b -> a (each depends on the next)");
    def_a->tasks[0].deps[0] = 7;
    cr_assert_not(wf_def_validate(def_a, &error));
    cr_assert_str_eq(error.text, "tasks[0].deps[0]: task index 7 out of range (2 tasks)");
    def_a->tasks[0].dep_count = 0;
    def_a->task_count = 0;
    cr_assert_not(wf_def_validate(def_a, &error));
    cr_assert_str_eq(error.text, "tasks: must contain at least 1 task");
}

/* Invariant: backoff is initial * multiplier^(n-1) capped at max, in integer arithmetic. */
Test(wf_def, backoff_arithmetic)
{
    struct wf_retry_policy policy = {
        .max_attempts = 16,
        .initial_backoff_ms = 100,
        .multiplier_permille = 2000,
        .max_backoff_ms = 1000,
    };
    const uint64_t expected[] = { 100, 200, 400, 800, 1000, 1000, 1000 };
    for (uint32_t n = 1; n <= 7; n++) {
        cr_assert_eq(wf_retry_backoff_ms(&policy, n), expected[n - 1], "after attempt %u", n);
    }
    policy.multiplier_permille = 1500;
    cr_assert_eq(wf_retry_backoff_ms(&policy, 3), 225);
    policy.multiplier_permille = WF_MULTIPLIER_PERMILLE_MAX;
    policy.max_backoff_ms = WF_DURATION_MS_MAX;
    cr_assert_eq(wf_retry_backoff_ms(&policy, 16), WF_DURATION_MS_MAX, "saturates, no overflow");
    policy.initial_backoff_ms = 0;
    cr_assert_eq(wf_retry_backoff_ms(&policy, 5), 0);
    /* Short backoffs grow too: truncating to whole milliseconds at every step would keep 1 ms
     * times 1.5 at 1 ms forever, and 3 ms times 1.5 three times at 9 instead of 10 (10.125). */
    policy = (struct wf_retry_policy){
        .max_attempts = 16,
        .initial_backoff_ms = 1,
        .multiplier_permille = 1500,
        .max_backoff_ms = 1000,
    };
    const uint64_t slow[] = { 1, 1, 2, 3, 5, 7, 11, 17, 25, 38 }; /* floor(1.5^(n-1)) */
    for (uint32_t n = 1; n <= 10; n++) {
        cr_assert_eq(wf_retry_backoff_ms(&policy, n), slow[n - 1], "after attempt %u", n);
    }
    policy.initial_backoff_ms = 3;
    cr_assert_eq(wf_retry_backoff_ms(&policy, 4), 10);
    policy.multiplier_permille = 1001; /* 1.001^15 = 1.015: 1015.1 ms from 1000 */
    policy.initial_backoff_ms = 1000;
    policy.max_backoff_ms = 2000;
    cr_assert_eq(wf_retry_backoff_ms(&policy, 16), 1015);
}
