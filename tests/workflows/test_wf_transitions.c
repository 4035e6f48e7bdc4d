/* Tests for the transition table and that apply rejects every transition the table lacks. */
#include "tests/workflows/test_wf_driver.h"
#include "workflows/wf_state.h"
#include "workflows/wf_transitions.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

struct row {
    int from;
    int event;
    int to;
};

/* The documented lifecycle, written out independently of wf_transitions.c. */
static const struct row task_rows[] = {
    { WF_TASK_PENDING, WF_TASK_EV_DEPS_DONE, WF_TASK_READY },
    { WF_TASK_PENDING, WF_TASK_EV_RETRY_DUE, WF_TASK_READY },
    { WF_TASK_READY, WF_TASK_EV_START, WF_TASK_RUNNING },
    { WF_TASK_RUNNING, WF_TASK_EV_EXTEND, WF_TASK_RUNNING },
    { WF_TASK_RUNNING, WF_TASK_EV_COMPLETE, WF_TASK_COMPLETED },
    { WF_TASK_RUNNING, WF_TASK_EV_FAIL_RETRY, WF_TASK_PENDING },
    { WF_TASK_RUNNING, WF_TASK_EV_FAIL_FINAL, WF_TASK_FAILED },
    { WF_TASK_RUNNING, WF_TASK_EV_EXPIRE_RETRY, WF_TASK_PENDING },
    { WF_TASK_RUNNING, WF_TASK_EV_EXPIRE_FINAL, WF_TASK_FAILED },
};

static const struct row workflow_rows[] = {
    { WF_WORKFLOW_RUNNING, WF_WORKFLOW_EV_PAUSE, WF_WORKFLOW_PAUSED },
    { WF_WORKFLOW_PAUSED, WF_WORKFLOW_EV_RESUME, WF_WORKFLOW_RUNNING },
    { WF_WORKFLOW_RUNNING, WF_WORKFLOW_EV_CANCEL, WF_WORKFLOW_CANCELLED },
    { WF_WORKFLOW_PAUSED, WF_WORKFLOW_EV_CANCEL, WF_WORKFLOW_CANCELLED },
    { WF_WORKFLOW_RUNNING, WF_WORKFLOW_EV_ALL_COMPLETED, WF_WORKFLOW_COMPLETED },
    { WF_WORKFLOW_PAUSED, WF_WORKFLOW_EV_ALL_COMPLETED, WF_WORKFLOW_COMPLETED },
    { WF_WORKFLOW_RUNNING, WF_WORKFLOW_EV_TASK_FAILED, WF_WORKFLOW_FAILED },
    { WF_WORKFLOW_PAUSED, WF_WORKFLOW_EV_TASK_FAILED, WF_WORKFLOW_FAILED },
};

static const struct row *find_row(const struct row *rows, size_t count, int from, int event)
{
    for (size_t i = 0; i < count; i++) {
        if (rows[i].from == from && rows[i].event == event) {
            return &rows[i];
        }
    }
    return NULL;
}

/* Invariant: the task table holds exactly the documented transitions; every other
 * (state, event) pair is rejected. */
Test(wf_transitions, task_table_is_exactly_the_lifecycle)
{
    for (int from = 0; from < WF_TASK_STATE_COUNT; from++) {
        for (int event = 0; event < WF_TASK_EVENT_COUNT; event++) {
            enum wf_task_state to = WF_TASK_FAILED;
            bool legal = wf_task_next((enum wf_task_state)from, (enum wf_task_event)event, &to);
            const struct row *row =
                find_row(task_rows, sizeof(task_rows) / sizeof(task_rows[0]), from, event);
            cr_assert_eq(legal, row != NULL, "%s --%s-->", wf_task_state_name(from),
                         wf_task_event_name(event));
            if (row != NULL) {
                cr_assert_eq((int)to, row->to);
            }
        }
    }
}

/* Invariant: the workflow table holds exactly the documented transitions. */
Test(wf_transitions, workflow_table_is_exactly_the_lifecycle)
{
    for (int from = 0; from < WF_WORKFLOW_STATE_COUNT; from++) {
        for (int event = 0; event < WF_WORKFLOW_EVENT_COUNT; event++) {
            enum wf_workflow_state to = WF_WORKFLOW_FAILED;
            bool legal =
                wf_workflow_next((enum wf_workflow_state)from, (enum wf_workflow_event)event, &to);
            const struct row *row = find_row(
                workflow_rows, sizeof(workflow_rows) / sizeof(workflow_rows[0]), from, event);
            cr_assert_eq(legal, row != NULL, "%s --%s-->", wf_workflow_state_name(from),
                         wf_workflow_event_name(event));
            if (row != NULL) {
                cr_assert_eq((int)to, row->to);
            }
        }
    }
}

/* Invariant: terminal states have no way out (no state regresses). */
Test(wf_transitions, terminal_states_are_final)
{
    enum wf_task_state to;
    enum wf_workflow_state wto;
    for (int event = 0; event < WF_TASK_EVENT_COUNT; event++) {
        cr_assert_not(wf_task_next(WF_TASK_COMPLETED, (enum wf_task_event)event, &to));
        cr_assert_not(wf_task_next(WF_TASK_FAILED, (enum wf_task_event)event, &to));
    }
    for (int event = 0; event < WF_WORKFLOW_EVENT_COUNT; event++) {
        for (int s = WF_WORKFLOW_COMPLETED; s <= WF_WORKFLOW_CANCELLED; s++) {
            cr_assert(wf_workflow_state_terminal((enum wf_workflow_state)s));
            cr_assert_not(
                wf_workflow_next((enum wf_workflow_state)s, (enum wf_workflow_event)event, &wto));
        }
    }
    for (int type = 0; type < WF_CMD_TYPE_COUNT; type++) {
        for (int s = WF_WORKFLOW_COMPLETED; s <= WF_WORKFLOW_CANCELLED; s++) {
            cr_assert_not(
                wf_command_allowed((enum wf_workflow_state)s, (enum wf_command_type)type));
        }
    }
}

/* Invariant: the command gate admits reports and expiry while paused, dispatch only while
 * running, and pause/resume/cancel only where the workflow table has the edge. */
Test(wf_transitions, command_gate)
{
    const char *running = "-.+++++++.+"; /* indexed by command type; '+' allowed */
    const char *paused = "-..++++..++";
    for (int type = 0; type < WF_CMD_TYPE_COUNT; type++) {
        cr_assert_eq(wf_command_allowed(WF_WORKFLOW_RUNNING, (enum wf_command_type)type),
                     running[type] == '+', "running %s", wf_command_type_name(type));
        cr_assert_eq(wf_command_allowed(WF_WORKFLOW_PAUSED, (enum wf_command_type)type),
                     paused[type] == '+', "paused %s", wf_command_type_name(type));
    }
}

/* Invariant: along every legal edge the progress position never decreases, and increases on
 * every edge but the extend self-loop, so retries move forward (no state regresses). */
Test(wf_transitions, progress_increases_along_edges)
{
    for (size_t i = 0; i < 9; i++) {
        const struct row *row = &task_rows[i];
        for (uint32_t attempts = 0; attempts < 4; attempts++) {
            if (row->from == WF_TASK_RUNNING && attempts == 0) {
                continue;
            }
            uint32_t after = row->event == WF_TASK_EV_START ? attempts + 1 : attempts;
            uint64_t p0 = wf_task_progress((enum wf_task_state)row->from, attempts);
            uint64_t p1 = wf_task_progress((enum wf_task_state)row->to, after);
            if (row->event == WF_TASK_EV_EXTEND) {
                cr_assert_eq(p1, p0);
            } else {
                cr_assert_gt(p1, p0, "%s --%s--> %s, %u attempts", wf_task_state_name(row->from),
                             wf_task_event_name(row->event), wf_task_state_name(row->to), attempts);
            }
        }
    }
    for (int s = 0; s < WF_TASK_STATE_COUNT; s++) {
        cr_assert_str_neq(wf_task_state_name((enum wf_task_state)s), "invalid");
    }
    cr_assert_str_eq(wf_task_state_name((enum wf_task_state)9), "invalid");
}

/* ---- apply-level: every command in every task situation ---- */

static uint64_t next_index;

static struct wf_result apply(struct wf_state *state, struct wf_command command, uint64_t at_ms)
{
    return wfd_apply_command(state, &next_index, command, at_ms);
}

static struct wf_command token_command(enum wf_command_type type, uint16_t task, uint32_t attempt)
{
    struct wf_command command = { .type = type, .task_index = task, .attempt = attempt };
    strcpy(command.workflow_id, "w");
    if (type == WF_CMD_FAIL_ATTEMPT) {
        strcpy(command.error_kind, "boom");
    }
    return command;
}

static struct wf_state *situation(int which, struct wf_def *def)
{
    struct wf_state_config config = { .workflows_max = 2 };
    struct wf_state *state = wf_state_create(&config);
    struct wf_error error;
    const char *json = "{\"id\":\"w\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\",\"lease_timeout_ms\":"
                       "1000,\"retry\":{\"max_attempts\":2,\"initial_backoff_ms\":100,"
                       "\"non_retryable\":[\"fatal\"]}},{\"id\":\"b\",\"kind\":\"k\",\"deps\":"
                       "[\"a\"]}]}";
    cr_assert(wf_def_from_json(json, strlen(json), def, &error), "%s", error.text);
    struct wf_command submit = { .type = WF_CMD_SUBMIT, .workflow_id = "w", .def = def };
    next_index = 0;
    cr_assert_eq(apply(state, submit, 0).status, WF_OK);
    if (which == 0) {
        return state; /* a Ready, b Pending (deps) */
    }
    struct wf_command start = token_command(WF_CMD_START_ATTEMPT, 0, 1);
    cr_assert_eq(apply(state, start, 10).status, WF_OK);
    if (which == 1) {
        return state; /* a Running attempt 1, deadline 1010 */
    }
    struct wf_command fail = token_command(WF_CMD_FAIL_ATTEMPT, 0, 1);
    if (which == 4) {
        strcpy(fail.error_kind, "fatal");
    }
    if (which == 2 || which == 4) {
        cr_assert_eq(apply(state, fail, 20).status, WF_OK);
        return state; /* 2: a Pending retry at 120; 4: a Failed, workflow Failed */
    }
    struct wf_command complete = token_command(WF_CMD_COMPLETE_ATTEMPT, 0, 1);
    cr_assert_eq(apply(state, complete, 20).status, WF_OK);
    return state; /* 3: a Completed, b Ready */
}

/* Which commands on task a are legal in each situation (start, extend, complete, fail, expire,
 * schedule_retry), per the table and the gate. */
static const bool legal[5][6] = {
    /* a Ready */ { true, false, false, false, false, false },
    /* a Running */ { false, true, true, true, true, false },
    /* a Pending retry */ { false, false, false, false, false, true },
    /* a Completed */ { false, false, false, false, false, false },
    /* a Failed */ { false, false, false, false, false, false },
};

/* Invariant: apply accepts exactly the table's transitions; every other command is rejected and
 * leaves workflow and task states (the projection) unchanged. */
Test(wf_transitions, apply_rejects_every_illegal_transition)
{
    struct wf_def *def = malloc(sizeof(*def));
    const enum wf_command_type types[6] = {
        WF_CMD_START_ATTEMPT, WF_CMD_EXTEND_LEASE, WF_CMD_COMPLETE_ATTEMPT,
        WF_CMD_FAIL_ATTEMPT,  WF_CMD_EXPIRE_LEASE, WF_CMD_SCHEDULE_RETRY,
    };
    for (int which = 0; which < 5; which++) {
        for (int c = 0; c < 6; c++) {
            for (uint16_t task = 0; task < 2; task++) {
                struct wf_state *state = situation(which, def);
                const struct wf_run *run = wf_state_find(state, "w");
                const struct wf_task_run *t = &run->tasks[task];
                uint32_t attempt = types[c] == WF_CMD_START_ATTEMPT ? t->attempts + 1 : t->attempts;
                uint64_t before = wf_state_projection_hash(state);
                enum wf_task_state state_before = t->state;
                struct wf_result result =
                    apply(state, token_command(types[c], task, attempt), 5000);
                bool expect = task == 0 && legal[which][c];
                if (which == 3 && task == 1) {
                    expect = types[c] == WF_CMD_START_ATTEMPT; /* b became Ready */
                }
                cr_assert_eq(result.status == WF_OK, expect, "situation %d task %u %s: %s", which,
                             task, wf_command_type_name(types[c]), result.message);
                if (!expect) {
                    cr_assert_eq(wf_state_projection_hash(state), before);
                    cr_assert_eq(t->state, state_before);
                    cr_assert_eq(result.transitions, 0);
                }
                wf_state_destroy(state);
            }
        }
    }
    free(def);
}

/* Invariant: workflow commands follow the workflow table: pause twice, resume while running,
 * and anything after a terminal state are rejected. */
Test(wf_transitions, apply_rejects_illegal_workflow_transitions)
{
    struct wf_def *def = malloc(sizeof(*def));
    struct wf_state *state = situation(0, def);
    struct wf_command pause = { .type = WF_CMD_PAUSE, .workflow_id = "w" };
    struct wf_command resume = { .type = WF_CMD_RESUME, .workflow_id = "w" };
    struct wf_command cancel = { .type = WF_CMD_CANCEL, .workflow_id = "w" };
    cr_assert_eq(apply(state, resume, 1).status, WF_REJECT_ILLEGAL);
    cr_assert_eq(apply(state, pause, 2).status, WF_OK);
    cr_assert_eq(apply(state, pause, 3).status, WF_REJECT_ILLEGAL);
    struct wf_result start = apply(state, token_command(WF_CMD_START_ATTEMPT, 0, 1), 4);
    cr_assert_eq(start.status, WF_REJECT_ILLEGAL, "no dispatch while paused");
    cr_assert_eq(apply(state, resume, 5).status, WF_OK);
    cr_assert_eq(apply(state, cancel, 6).status, WF_OK);
    cr_assert_eq(wf_state_find(state, "w")->state, WF_WORKFLOW_CANCELLED);
    cr_assert_eq(apply(state, cancel, 7).status, WF_REJECT_ILLEGAL);
    cr_assert_eq(apply(state, resume, 8).status, WF_REJECT_ILLEGAL);
    cr_assert_eq(apply(state, pause, 9).status, WF_REJECT_ILLEGAL);
    start = apply(state, token_command(WF_CMD_START_ATTEMPT, 0, 1), 10);
    cr_assert_eq(start.status, WF_REJECT_ILLEGAL);
    struct wf_command unknown = { .type = WF_CMD_PAUSE, .workflow_id = "nope" };
    cr_assert_eq(apply(state, unknown, 11).status, WF_REJECT_NOT_FOUND);
    struct wf_result out_of_range = apply(state, token_command(WF_CMD_START_ATTEMPT, 9, 1), 12);
    cr_assert_eq(out_of_range.status, WF_REJECT_NOT_FOUND);
    cr_assert_str_eq(out_of_range.message, "workflow 'w' has no task 9 (2 tasks)");
    wf_state_destroy(state);
    free(def);
}

/* Fencing: a start carries the attempt number it opens, which must be the next one. A start
 * proposed for an attempt that is no longer next (a stale proposal of an earlier leader, replayed
 * after a retry made the task Ready again) is refused as stale and changes nothing, so no attempt
 * is dispatched to a worker chosen for another. */
Test(wf_transitions, start_must_open_the_next_attempt)
{
    struct wf_def *def = malloc(sizeof(*def));
    struct wf_state *state = situation(2, def); /* a: attempt 1 failed, retry at 120 */
    cr_assert_eq(apply(state, token_command(WF_CMD_SCHEDULE_RETRY, 0, 1), 120).status, WF_OK);
    const struct wf_task_run *a = &wf_state_find(state, "w")->tasks[0];
    cr_assert_eq(a->state, WF_TASK_READY);
    uint64_t hash = wf_state_hash(state);
    for (uint32_t attempt = 0; attempt <= 3; attempt++) {
        if (attempt == 2) {
            continue;
        }
        struct wf_command start = token_command(WF_CMD_START_ATTEMPT, 0, attempt);
        start.worker_id = 5;
        struct wf_result result = apply(state, start, 130);
        cr_assert_eq(result.status, WF_REJECT_STALE, "attempt %u: %s", attempt, result.message);
        cr_assert_eq(a->state, WF_TASK_READY);
        cr_assert_eq(a->attempts, 1);
    }
    struct wf_counters counters;
    wf_state_counters(state, &counters);
    cr_assert_eq(counters.commands_rejected, 3);
    cr_assert_neq(wf_state_hash(state), hash, "only the rejection counter moved");
    cr_assert_eq(apply(state, token_command(WF_CMD_START_ATTEMPT, 0, 2), 130).status, WF_OK);
    cr_assert_eq(a->attempts, 2);
    wf_state_destroy(state);
    free(def);
}

/* Fencing: a schedule_retry names the failed attempt it retries; one naming another attempt (a
 * duplicate proposal from an earlier retry cycle) is refused as stale, even once the backoff of
 * the current one has passed. */
Test(wf_transitions, schedule_retry_must_name_the_failed_attempt)
{
    struct wf_def *def = malloc(sizeof(*def));
    struct wf_state *state = situation(2, def); /* a: attempt 1 failed, retry at 120 */
    const struct wf_task_run *a = &wf_state_find(state, "w")->tasks[0];
    for (uint32_t attempt = 0; attempt <= 2; attempt += 2) {
        struct wf_result result =
            apply(state, token_command(WF_CMD_SCHEDULE_RETRY, 0, attempt), 5000);
        cr_assert_eq(result.status, WF_REJECT_STALE, "attempt %u: %s", attempt, result.message);
        cr_assert(a->retry_pending);
        cr_assert_eq(a->state, WF_TASK_PENDING);
    }
    cr_assert_eq(apply(state, token_command(WF_CMD_SCHEDULE_RETRY, 0, 1), 5000).status, WF_OK);
    cr_assert_eq(a->state, WF_TASK_READY);
    wf_state_destroy(state);
    free(def);
}

/* Invariant: time gates are re-checked at apply: an expiry before the deadline and a retry before
 * the backoff are refused as too early, whatever the proposer believed. */
Test(wf_transitions, apply_enforces_deadlines_and_backoff)
{
    struct wf_def *def = malloc(sizeof(*def));
    struct wf_state *state = situation(1, def); /* a Running, deadline 1010 */
    struct wf_result early = apply(state, token_command(WF_CMD_EXPIRE_LEASE, 0, 1), 1009);
    cr_assert_eq(early.status, WF_REJECT_TOO_EARLY);
    cr_assert_str_eq(early.message, "attempt 1 lease runs until 1010, clock is 1009");
    cr_assert_eq(apply(state, token_command(WF_CMD_EXPIRE_LEASE, 0, 1), 1010).status, WF_OK);
    /* retry at 1010 + 100 */
    struct wf_result soon = apply(state, token_command(WF_CMD_SCHEDULE_RETRY, 0, 1), 1109);
    cr_assert_eq(soon.status, WF_REJECT_TOO_EARLY);
    cr_assert_eq(apply(state, token_command(WF_CMD_SCHEDULE_RETRY, 0, 1), 1110).status, WF_OK);
    /* the clock never goes back: a command stamped earlier runs at the state's clock */
    cr_assert_eq(apply(state, token_command(WF_CMD_START_ATTEMPT, 0, 2), 5).status, WF_OK);
    const struct wf_task_run *a = &wf_state_find(state, "w")->tasks[0];
    cr_assert_eq(a->attempt_log[1].started_ms, 1110);
    cr_assert_eq(a->attempt_log[1].lease_deadline_ms, 2110);
    cr_assert_eq(wf_state_clock_ms(state), 1110);
    /* attempt 2 of 2 expires: no attempts left, the task and workflow fail */
    cr_assert_eq(apply(state, token_command(WF_CMD_EXPIRE_LEASE, 0, 2), 3000).status, WF_OK);
    cr_assert_eq(a->state, WF_TASK_FAILED);
    cr_assert_eq(wf_state_find(state, "w")->state, WF_WORKFLOW_FAILED);
    wf_state_destroy(state);
    free(def);
}
