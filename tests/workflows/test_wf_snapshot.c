/* Tests for the canonical state encoding: the hash and snapshots cover every field, exactly. */
#include "core/bytes.h"
#include "tests/workflows/test_wf_driver.h"
#include "workflows/wf_state_impl.h" /* white-box: walk and perturb every field */

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One field of the logical state, as the test walks it. */
enum field_kind {
    FIELD_U64,
    FIELD_U32,
    FIELD_U16,
    FIELD_BOOL,
    FIELD_TASK_STATE,
    FIELD_RUN_STATE,
    FIELD_OUTCOME,
    FIELD_TEXT,  /* a NUL-terminated string of at most size - 1 bytes */
    FIELD_BYTES, /* len meaningful bytes */
};

struct field {
    const char *name;
    enum field_kind kind;
    void *at;
    size_t size;                      /* bytes at `at` (the whole array for text and bytes) */
    size_t len;                       /* FIELD_BYTES: bytes in use */
    const struct wf_attempt *attempt; /* the attempt a time or outcome belongs to, or NULL */
};

#define FIELDS_MAX 4096

struct fields {
    uint32_t count;
    struct field items[FIELDS_MAX];
};

static void add(struct fields *fields, struct field field)
{
    cr_assert_lt(fields->count, FIELDS_MAX);
    fields->items[fields->count++] = field;
}

#define SCALAR(fields, label, kind_, lvalue)                                                       \
    add(fields,                                                                                    \
        (struct field){ .name = label, .kind = kind_, .at = &(lvalue), .size = sizeof(lvalue) })

static const struct {
    const char *name;
    size_t offset;
} counters[] = {
    { "workflows_submitted", offsetof(struct wf_counters, workflows_submitted) },
    { "submits_idempotent", offsetof(struct wf_counters, submits_idempotent) },
    { "attempts_started", offsetof(struct wf_counters, attempts_started) },
    { "attempts_completed", offsetof(struct wf_counters, attempts_completed) },
    { "attempts_failed", offsetof(struct wf_counters, attempts_failed) },
    { "attempts_abandoned", offsetof(struct wf_counters, attempts_abandoned) },
    { "lease_extensions", offsetof(struct wf_counters, lease_extensions) },
    { "lease_expiries", offsetof(struct wf_counters, lease_expiries) },
    { "retries_scheduled", offsetof(struct wf_counters, retries_scheduled) },
    { "duplicates_detected", offsetof(struct wf_counters, duplicates_detected) },
    { "commands_applied", offsetof(struct wf_counters, commands_applied) },
    { "commands_rejected", offsetof(struct wf_counters, commands_rejected) },
    { "commands_malformed", offsetof(struct wf_counters, commands_malformed) },
    { "completion_ms_total", offsetof(struct wf_counters, completion_ms_total) },
    { "completion_ms_min", offsetof(struct wf_counters, completion_ms_min) },
    { "completion_ms_max", offsetof(struct wf_counters, completion_ms_max) },
};

static void add_attempt(struct fields *fields, struct wf_attempt *attempt)
{
    SCALAR(fields, "attempt.worker_id", FIELD_U32, attempt->worker_id);
    add(fields, (struct field){ .name = "attempt.outcome",
                                .kind = FIELD_OUTCOME,
                                .at = &attempt->outcome,
                                .size = sizeof(attempt->outcome),
                                .attempt = attempt });
    add(fields, (struct field){ .name = "attempt.started_ms",
                                .kind = FIELD_U64,
                                .at = &attempt->started_ms,
                                .size = sizeof(attempt->started_ms),
                                .attempt = attempt });
    SCALAR(fields, "attempt.lease_deadline_ms", FIELD_U64, attempt->lease_deadline_ms);
    SCALAR(fields, "attempt.ended_ms", FIELD_U64, attempt->ended_ms);
    SCALAR(fields, "attempt.extensions", FIELD_U32, attempt->extensions);
    SCALAR(fields, "attempt.late_reports", FIELD_U32, attempt->late_reports);
    SCALAR(fields, "attempt.error_kind", FIELD_TEXT, attempt->error_kind);
}

static void add_task(struct fields *fields, struct wf_task_run *task)
{
    SCALAR(fields, "task.state", FIELD_TASK_STATE, task->state);
    SCALAR(fields, "task.attempts", FIELD_U32, task->attempts);
    SCALAR(fields, "task.retry_pending", FIELD_BOOL, task->retry_pending);
    SCALAR(fields, "task.retry_at_ms", FIELD_U64, task->retry_at_ms);
    SCALAR(fields, "task.ready_ms", FIELD_U64, task->ready_ms);
    SCALAR(fields, "task.completed_ms", FIELD_U64, task->completed_ms);
    SCALAR(fields, "task.output_len", FIELD_U16, task->output_len);
    add(fields, (struct field){ .name = "task.output",
                                .kind = FIELD_BYTES,
                                .at = task->output,
                                .size = sizeof(task->output),
                                .len = task->output_len });
    for (uint32_t a = 0; a < task->attempts; a++) {
        add_attempt(fields, &task->attempt_log[a]);
    }
}

/* Every field of the logical state (the by-state gauges are derived, the definition enters
 * through def_hash), in canonical order. */
static void walk(struct wf_state *state, struct fields *fields)
{
    fields->count = 0;
    SCALAR(fields, "clock_ms", FIELD_U64, state->clock_ms);
    for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
        add(fields, (struct field){ .name = counters[c].name,
                                    .kind = FIELD_U64,
                                    .at = (uint8_t *)&state->counters + counters[c].offset,
                                    .size = sizeof(uint64_t) });
    }
    for (uint32_t i = 0; i < state->run_count; i++) {
        struct wf_run *run = &state->runs[i];
        SCALAR(fields, "run.submit_index", FIELD_U64, run->submit_index);
        SCALAR(fields, "run.def_hash", FIELD_U64, run->def_hash);
        SCALAR(fields, "run.state", FIELD_RUN_STATE, run->state);
        SCALAR(fields, "run.submitted_ms", FIELD_U64, run->submitted_ms);
        SCALAR(fields, "run.ended_ms", FIELD_U64, run->ended_ms);
        SCALAR(fields, "run.pauses", FIELD_U32, run->pauses);
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            add_task(fields, &run->tasks[t]);
        }
    }
}

static bool field_equal(const struct field *a, const struct field *b)
{
    cr_assert_str_eq(a->name, b->name);
    switch (a->kind) {
    case FIELD_TEXT:
        return strcmp(a->at, b->at) == 0;
    case FIELD_BYTES:
        return a->len == b->len && memcmp(a->at, b->at, a->len) == 0;
    default:
        return memcmp(a->at, b->at, a->size) == 0;
    }
}

static bool field_nonzero(const struct field *field)
{
    const uint8_t *bytes = field->at;
    size_t size = field->kind == FIELD_BYTES ? field->len : field->size;
    for (size_t i = 0; i < size; i++) {
        if (bytes[i] != 0) {
            return true;
        }
    }
    return false;
}

/* Changes the field to another value the encoder accepts; false if this one is left alone. */
static bool perturb(struct field *field)
{
    const struct wf_attempt *attempt = field->attempt;
    bool closed = attempt != NULL && attempt->outcome != WF_ATTEMPT_OPEN;
    switch (field->kind) {
    case FIELD_U64: {
        uint64_t *value = field->at;
        bool down =
            closed && *value == attempt->started_ms && attempt->started_ms >= attempt->ended_ms;
        if (down && *value == 0) {
            return false; /* a closed attempt must not start after it ended */
        }
        *value = down ? *value - 1 : *value + 1;
        return true;
    }
    case FIELD_U32: {
        uint32_t *value = field->at;
        *value = *value < WF_ATTEMPTS_MAX ? *value + 1 : *value - 1;
        return true;
    }
    case FIELD_U16: {
        uint16_t *value = field->at;
        *value = *value < WF_OUTPUT_BYTES_MAX ? *value + 1 : *value - 1;
        return true;
    }
    case FIELD_BOOL:
        *(bool *)field->at = !*(bool *)field->at;
        return true;
    case FIELD_TASK_STATE: {
        enum wf_task_state *state = field->at;
        *state = (enum wf_task_state)((*state + 1) % WF_TASK_STATE_COUNT);
        return true;
    }
    case FIELD_RUN_STATE: {
        enum wf_workflow_state *state = field->at;
        *state = (enum wf_workflow_state)((*state + 1) % WF_WORKFLOW_STATE_COUNT);
        return true;
    }
    case FIELD_OUTCOME: {
        enum wf_attempt_outcome *outcome = field->at;
        if (!closed) {
            return false; /* an open attempt has no end time to stay consistent with */
        }
        *outcome = (enum wf_attempt_outcome)(1 + *outcome % (WF_ATTEMPT_OUTCOME_COUNT - 1));
        return true;
    }
    case FIELD_TEXT: {
        char *text = field->at;
        if (text[0] == '\0') {
            strcpy(text, "x");
        } else {
            text[0] = text[0] == 'x' ? 'y' : 'x';
        }
        return true;
    }
    case FIELD_BYTES:
        if (field->len == 0) {
            return false; /* output_len has its own field */
        }
        ((uint8_t *)field->at)[0] ^= 1;
        return true;
    }
    return false;
}

/* A run with every kind of history: retries after a failure and after an expiry, a late report,
 * a double report, lease extensions, a pause, a cancel with abandoned attempts. */
static struct wfd *rich_run(void)
{
    struct wfd *driver = wfd_create(3, 4, NULL, NULL);
    wfd_script(driver, (struct wfd_script){ .task_id = "charge",
                                            .attempt = 1,
                                            .action = WFD_FAIL,
                                            .error_kind = "gateway_timeout" });
    wfd_script(driver,
               (struct wfd_script){ .task_id = "charge", .attempt = 2, .duration_ms = 5000 });
    wfd_script(driver,
               (struct wfd_script){
                   .task_id = "reserve", .attempt = 1, .duration_ms = 600, .heartbeat_ms = 200 });
    wfd_script(driver, (struct wfd_script){
                           .task_id = "fetch", .attempt = 1, .action = WFD_COMPLETE_TWICE });
    wfd_script(driver, (struct wfd_script){ .task_id = "b", .attempt = 1, .duration_ms = 900 });
    struct wf_command pause = { .type = WF_CMD_PAUSE, .workflow_id = "hello" };
    struct wf_command resume = { .type = WF_CMD_RESUME, .workflow_id = "hello" };
    struct wf_command cancel = { .type = WF_CMD_CANCEL, .workflow_id = "diamond" };
    wfd_inject(driver, 150, &pause);
    wfd_inject(driver, 400, &resume);
    wfd_inject(driver, 450, &cancel);
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, 50);
    cr_assert_eq(wfd_submit_example(driver, "diamond.json"), WF_OK);
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK_EXISTING);
    const uint8_t malformed[] = { WF_COMMAND_TAG, WF_COMMAND_VERSION };
    cr_assert_eq(wfd_propose_bytes(driver, malformed, sizeof(malformed)).status,
                 WF_REJECT_MALFORMED);
    wfd_run(driver, UINT64_MAX);
    cr_assert_str_empty(driver->violation, "%s", driver->violation);
    return driver;
}

static struct fields *walked_a;
static struct fields *walked_b;

static void setup(void)
{
    walked_a = calloc(1, sizeof(*walked_a));
    walked_b = calloc(1, sizeof(*walked_b));
    cr_assert(walked_a != NULL && walked_b != NULL);
}

static void teardown(void)
{
    free(walked_a);
    free(walked_b);
}

TestSuite(wf_snapshot, .init = setup, .fini = teardown);

/* Invariant: a snapshot carries the whole logical state: restoring it, at any index of a run
 * with every kind of history, gives back every field exactly (and the applied index). The test
 * data sets every field to a nonzero value somewhere, so a field the encoding left out would come
 * back as zero and be caught. */
Test(wf_snapshot, restore_gives_back_every_field)
{
    struct wfd *driver = rich_run();
    const char *nonzero[64];
    uint32_t nonzero_count = 0;
    for (uint32_t cut = 1; cut <= driver->log_count; cut++) {
        struct wf_state *original = wfd_rebuild(driver, cut);
        size_t size = wf_state_snapshot_size(original);
        uint8_t *bytes = malloc(size);
        cr_assert_eq(wf_state_snapshot(original, bytes, size), size);
        struct wf_state *restored = wfd_rebuild(driver, 0);
        struct wf_error error;
        cr_assert(wf_state_restore(restored, bytes, size, &error), "cut %u: %s", cut, error.text);
        cr_assert_eq(wf_state_applied_index(restored), wf_state_applied_index(original));
        walk(original, walked_a);
        walk(restored, walked_b);
        cr_assert_eq(walked_a->count, walked_b->count, "cut %u", cut);
        for (uint32_t f = 0; f < walked_a->count; f++) {
            const struct field *a = &walked_a->items[f];
            cr_assert(field_equal(a, &walked_b->items[f]), "cut %u: %s differs after restore", cut,
                      a->name);
            bool seen = false;
            for (uint32_t n = 0; n < nonzero_count && !seen; n++) {
                seen = strcmp(nonzero[n], a->name) == 0;
            }
            if (!seen && field_nonzero(a)) {
                cr_assert_lt(nonzero_count, 64);
                nonzero[nonzero_count++] = a->name;
            }
        }
        free(bytes);
        wf_state_destroy(original);
        wf_state_destroy(restored);
    }
    walk(driver->state, walked_a);
    for (uint32_t f = 0; f < walked_a->count; f++) {
        bool seen = false;
        for (uint32_t n = 0; n < nonzero_count && !seen; n++) {
            seen = strcmp(nonzero[n], walked_a->items[f].name) == 0;
        }
        cr_assert(seen, "the test data never sets %s", walked_a->items[f].name);
    }
    wfd_destroy(driver);
}

/* Invariant: the state hash covers every field: replicas that differ in anything, down to one
 * late report or one lease extension, hash differently. */
Test(wf_snapshot, hash_covers_every_field)
{
    struct wfd *driver = rich_run();
    for (uint32_t cut = 1; cut <= driver->log_count; cut += 7) {
        struct wf_state *state = wfd_rebuild(driver, cut);
        uint64_t before = wf_state_hash_uncached(state);
        cr_assert_eq(wf_state_hash(state), before);
        walk(state, walked_a);
        for (uint32_t f = 0; f < walked_a->count; f++) {
            struct field *field = &walked_a->items[f];
            uint8_t saved[WF_OUTPUT_BYTES_MAX];
            cr_assert_leq(field->size, sizeof(saved));
            memcpy(saved, field->at, field->size);
            if (!perturb(field)) {
                continue;
            }
            cr_assert_neq(wf_state_hash_uncached(state), before, "cut %u: %s is not hashed", cut,
                          field->name);
            memcpy(field->at, saved, field->size);
        }
        cr_assert_eq(wf_state_hash_uncached(state), before);
        wf_state_destroy(state);
    }
    wfd_destroy(driver);
}

/* Snapshots `state` and restores the bytes into a fresh state; true if accepted. */
static bool round_trip(const struct wf_state *state, struct wf_error *error)
{
    size_t size = wf_state_snapshot_size(state);
    uint8_t *bytes = malloc(size);
    cr_assert_eq(wf_state_snapshot(state, bytes, size), size);
    struct wf_state_config config = { .workflows_max = wf_state_config(state)->workflows_max };
    struct wf_state *restored = wf_state_create(&config);
    bool accepted = wf_state_restore(restored, bytes, size, error);
    wf_state_destroy(restored);
    free(bytes);
    return accepted;
}

static void expect_refused(const struct wf_state *state, const char *prefix)
{
    struct wf_error error = { .text = "" };
    cr_assert_not(round_trip(state, &error), "accepted, expected %s", prefix);
    cr_assert(strncmp(error.text, prefix, strlen(prefix)) == 0, "expected %s, got %s", prefix,
              error.text);
}

/* payments at 300 ms: reserve completed, charge failed once (gateway_timeout), retry pending. */
static struct wfd *charge_retry_pending(void)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver, (struct wfd_script){ .task_id = "charge",
                                            .attempt = 1,
                                            .action = WFD_FAIL,
                                            .error_kind = "gateway_timeout" });
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    wfd_run(driver, 300);
    cr_assert_str_empty(driver->violation, "%s", driver->violation);
    struct wf_task_run *charge = &driver->state->runs[0].tasks[1];
    cr_assert(charge->retry_pending && charge->attempts == 1);
    return driver;
}

/* Invariant attempts_bounded: a task that may still start (Ready, or with a retry pending) has an
 * attempt left. A snapshot breaking it must be refused: applying a schedule_retry or a start to
 * such a state aborts on the attempt counter's assertion (or, built without assertions, writes
 * past the attempt log). */
Test(wf_snapshot, restore_refuses_tasks_without_attempts_left_that_may_start)
{
    struct wfd *driver = charge_retry_pending();
    struct wf_run *run = &driver->state->runs[0];
    struct wf_task_run *charge = &run->tasks[1];
    struct wf_error error;
    cr_assert(round_trip(driver->state, &error), "%s", error.text);
    run->def.tasks[1].retry.max_attempts = 1; /* retry pending, but attempt 1 was the last */
    expect_refused(driver->state, "snapshot: inconsistent state: attempts_bounded: workflow "
                                  "'payments' task 'charge' is Pending with a retry pending after "
                                  "1 of 1 attempts");
    charge->retry_pending = false; /* Ready for an attempt 2 that the policy does not allow */
    driver->state->counters.tasks_by_state[WF_TASK_PENDING]--;
    driver->state->counters.tasks_by_state[WF_TASK_READY]++;
    charge->state = WF_TASK_READY;
    expect_refused(driver->state, "snapshot: inconsistent state: attempts_bounded: workflow "
                                  "'payments' task 'charge' is Ready after 1 of 1 attempts");
    wfd_destroy(driver);
}

/* Invariant ready_once_unblocked: in a live workflow, a task waiting only for its dependencies
 * becomes Ready in the same entry that completes the last of them. A snapshot in which one still
 * waits with every dependency Completed must be refused: nothing would ever promote it (promotion
 * happens only when a task completes), so the workflow would hang for good. */
Test(wf_snapshot, restore_refuses_a_task_left_waiting_with_its_dependencies_done)
{
    struct wfd *driver = charge_retry_pending();
    struct wf_run *run = &driver->state->runs[0];
    struct wf_error error;
    cr_assert(round_trip(driver->state, &error), "%s", error.text);
    struct wf_task_run *charge = &run->tasks[1];
    struct wf_task_run *ship = &run->tasks[2];
    /* charge completes at 300, but ship is left Pending */
    driver->state->clock_ms = 300;
    charge->retry_pending = false;
    charge->attempts = 2;
    charge->attempt_log[1] = (struct wf_attempt){ .outcome = WF_ATTEMPT_COMPLETED,
                                                  .started_ms = 250,
                                                  .lease_deadline_ms = 1250,
                                                  .ended_ms = 300 };
    charge->completed_ms = 300;
    driver->state->counters.tasks_by_state[WF_TASK_PENDING]--;
    driver->state->counters.tasks_by_state[WF_TASK_COMPLETED]++;
    charge->state = WF_TASK_COMPLETED;
    cr_assert_eq(ship->state, WF_TASK_PENDING);
    expect_refused(driver->state, "snapshot: inconsistent state: ready_once_unblocked: workflow "
                                  "'payments' (Running) task 'ship' is Pending with every "
                                  "dependency Completed");
    /* the same state in a cancelled workflow is fine: its tasks froze as they were */
    driver->state->counters.workflows_by_state[WF_WORKFLOW_RUNNING]--;
    driver->state->counters.workflows_by_state[WF_WORKFLOW_CANCELLED]++;
    run->state = WF_WORKFLOW_CANCELLED;
    run->ended_ms = 300;
    cr_assert(round_trip(driver->state, &error), "%s", error.text);
    wfd_destroy(driver);
}

/* Invariants run_history, completed_started and attempt_history cover what apply writes beside
 * the states: a snapshot whose run was submitted after its own index (a later submit would then
 * sort before it, and that state's snapshot would be refused), whose live run has an end time,
 * whose unfinished task has an output, or whose attempt carries an error kind its outcome cannot
 * have (text that reaches history lines unchecked) is refused, each with the field named. */
Test(wf_snapshot, restore_refuses_fields_apply_never_writes)
{
    struct wfd *driver = charge_retry_pending();
    struct wf_state *state = driver->state;
    struct wf_run *run = &state->runs[0];
    struct wf_task_run *reserve = &run->tasks[0];
    struct wf_task_run *charge = &run->tasks[1];
    struct wf_task_run *ship = &run->tasks[2];
    struct wf_error error;
    cr_assert(round_trip(state, &error), "%s", error.text);

    run->submit_index = state->applied_index + 1;
    expect_refused(state, "snapshot: inconsistent state: run_history: workflow 'payments' "
                          "submitted at index 6, not in 1..5 (the applied index)");
    run->submit_index = 1;
    run->ended_ms = 150;
    expect_refused(state, "snapshot: inconsistent state: run_history: workflow 'payments' is "
                          "Running with ended_ms 150");
    run->ended_ms = 0;
    run->submitted_ms = state->clock_ms + 1;
    expect_refused(state, "snapshot: inconsistent state: run_history: workflow 'payments' "
                          "submitted at 201 after the clock 200");
    run->submitted_ms = 0;
    cr_assert(round_trip(state, &error), "%s", error.text);

    ship->output_len = 3;
    expect_refused(state, "snapshot: inconsistent state: completed_started: workflow 'payments' "
                          "task 'ship' is Pending with an output or a completion time");
    ship->output_len = 0;
    reserve->completed_ms = 99;
    expect_refused(state, "snapshot: inconsistent state: completed_started: workflow 'payments' "
                          "task 'reserve' completed at 99, its attempt 1 ended at 100");
    reserve->completed_ms = 100;
    cr_assert(round_trip(state, &error), "%s", error.text);

    strcpy(charge->attempt_log[0].error_kind, "bad kind\n");
    expect_refused(state, "snapshot: inconsistent state: attempt_history: workflow 'payments' "
                          "task 'charge' attempt 1 is failed with error kind 'bad kind");
    strcpy(charge->attempt_log[0].error_kind, "");
    expect_refused(state, "snapshot: inconsistent state: attempt_history: workflow 'payments' "
                          "task 'charge' attempt 1 is failed with error kind ''");
    strcpy(charge->attempt_log[0].error_kind, "gateway_timeout");
    strcpy(reserve->attempt_log[0].error_kind, "boom");
    expect_refused(state, "snapshot: inconsistent state: attempt_history: workflow 'payments' "
                          "task 'reserve' attempt 1 is completed with error kind 'boom'");
    strcpy(reserve->attempt_log[0].error_kind, "");
    cr_assert(round_trip(state, &error), "%s", error.text);
    wfd_destroy(driver);
}

/* Invariant: restore is canonical: a string with a NUL byte inside (here the failed attempt's
 * error kind "gateway\0timeout", checksum recomputed) is refused, not read as "gateway", which
 * would give a state whose own snapshot differs from the bytes it was restored from. */
Test(wf_snapshot, restore_refuses_a_nul_inside_a_string)
{
    struct wfd *driver = charge_retry_pending();
    size_t size = wf_state_snapshot_size(driver->state);
    uint8_t *bytes = malloc(size);
    cr_assert_eq(wf_state_snapshot(driver->state, bytes, size), size);
    const char *kind = "gateway_timeout";
    uint8_t *at = NULL;
    for (size_t i = 0; i + strlen(kind) <= size && at == NULL; i++) {
        at = memcmp(bytes + i, kind, strlen(kind)) == 0 ? bytes + i : NULL;
    }
    cr_assert_not_null(at);
    at[7] = '\0';
    uint64_t checksum = hash_bytes(bytes, size - 8, 0);
    bytes_put_u64(bytes + size - 8, checksum);
    struct wf_state *restored = wfd_rebuild(driver, 0);
    struct wf_error error;
    cr_assert_not(wf_state_restore(restored, bytes, size, &error));
    char expected[WF_MESSAGE_BYTES_MAX];
    snprintf(expected, sizeof(expected),
             "snapshot.runs[0].tasks[1].attempts[0]: NUL byte at byte %zu",
             (size_t)(at + 7 - bytes));
    cr_assert_str_eq(error.text, expected);
    wf_state_destroy(restored);
    free(bytes);
    wfd_destroy(driver);
}

/* True if every byte of runs[from, workflows_max) is zero (the slots a submit takes as they are).
 */
static bool runs_zero_from(const struct wf_state *state, uint32_t from)
{
    const uint8_t *bytes = (const uint8_t *)&state->runs[from];
    size_t len = (size_t)(state->config.workflows_max - from) * sizeof(state->runs[0]);
    for (size_t i = 0; i < len; i++) {
        if (bytes[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Invariant: every run slot at or above runs_dirty is zero, so a submit need not clear the slot it
 * takes and a clear (restore) zeroes only the slots used: a state that held more runs than the
 * snapshot it restores ends up exactly like the snapshot's, and the same later entries bring both
 * to the same hash. */
Test(wf_snapshot, restore_over_more_runs_leaves_clean_slots)
{
    struct wfd *driver = rich_run();
    struct wf_state *full = wfd_rebuild(driver, driver->log_count);
    cr_assert_geq(full->run_count, 3);
    cr_assert(runs_zero_from(full, full->runs_dirty));
    uint32_t cut = 1;
    struct wf_state *early = wfd_rebuild(driver, cut);
    while (early->run_count < 1) {
        wf_state_destroy(early);
        early = wfd_rebuild(driver, ++cut);
    }
    cr_assert_eq(early->run_count, 1);
    size_t size = wf_state_snapshot_size(early);
    uint8_t *bytes = malloc(size);
    cr_assert_eq(wf_state_snapshot(early, bytes, size), size);
    struct wf_error error;
    cr_assert(wf_state_restore(full, bytes, size, &error), "%s", error.text);
    cr_assert_eq(full->run_count, 1);
    cr_assert_eq(full->runs_dirty, 1);
    cr_assert(runs_zero_from(full, 1), "the runs the snapshot does not have are cleared");
    cr_assert_eq(wf_state_hash(full), wf_state_hash(early));
    for (uint32_t i = cut; i < driver->log_count; i++) { /* log[i] is index i + 1 */
        struct wf_result r1;
        struct wf_result r2;
        const struct wfd_entry *e = &driver->log[i];
        wf_state_apply(full, e->index, e->bytes, e->len, &r1);
        wf_state_apply(early, e->index, e->bytes, e->len, &r2);
        cr_assert_eq(r1.status, r2.status, "entry %llu", (unsigned long long)e->index);
        cr_assert_eq(wf_state_hash(full), wf_state_hash(early));
        cr_assert_eq(wf_state_hash_uncached(full), wf_state_hash(full));
    }
    cr_assert_geq(full->run_count, 3, "the later submits were applied again");
    free(bytes);
    wf_state_destroy(early);
    wf_state_destroy(full);
    wfd_destroy(driver);
}
