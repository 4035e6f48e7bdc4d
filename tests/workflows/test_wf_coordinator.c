/* Tests for the coordinator: a pure function of applied state that only a ready leader uses. */
#include "tests/workflows/test_wf_driver.h"
#include "workflows/wf_coordinator.h"
#include "workflows/wf_state.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct wf_state *state;
static struct wf_def *def;
static uint64_t next_index;

static struct wf_result apply(struct wf_command command, uint64_t at_ms)
{
    return wfd_apply_command(state, &next_index, command, at_ms);
}

/* Three independent tasks (lease 1000, backoff 200) in workflow "w". */
static void setup(void)
{
    struct wf_state_config config = { .workflows_max = 2 };
    state = wf_state_create(&config);
    def = calloc(1, sizeof(*def));
    const char *json = "{\"id\":\"w\",\"defaults\":{\"lease_timeout_ms\":1000,\"retry\":{"
                       "\"initial_backoff_ms\":200}},\"tasks\":[{\"id\":\"x\",\"kind\":\"k\"},"
                       "{\"id\":\"y\",\"kind\":\"k\"},{\"id\":\"z\",\"kind\":\"k\"}]}";
    struct wf_error error;
    cr_assert(wf_def_from_json(json, strlen(json), def, &error), "%s", error.text);
    next_index = 0;
    struct wf_command submit = { .type = WF_CMD_SUBMIT, .workflow_id = "w", .def = def };
    cr_assert_eq(apply(submit, 0).status, WF_OK);
}

static void teardown(void)
{
    wf_state_destroy(state);
    free(def);
}

TestSuite(wf_coordinator, .init = setup, .fini = teardown);

static const uint32_t workers[] = { 7, 8 };
static struct wf_command commands[8];

static struct wf_coord_output coordinate(uint64_t now, uint64_t grace_until, uint32_t free,
                                         uint32_t cap)
{
    struct wf_coord_input input = {
        .now_ms = now,
        .leader_ready = true,
        .grace_until_ms = grace_until,
        .free_workers = workers,
        .free_worker_count = free,
    };
    struct wf_coord_output output = { .commands = commands, .cap = cap };
    wf_coordinate(state, &input, &output);
    return output;
}

static struct wf_command token(enum wf_command_type type, uint16_t task, uint32_t attempt)
{
    struct wf_command command = {
        .type = type,
        .workflow_id = "w",
        .task_index = task,
        .attempt = attempt,
    };
    if (type == WF_CMD_FAIL_ATTEMPT) {
        strcpy(command.error_kind, "boom");
    }
    return command;
}

/* G3: a follower, or a leader that has not applied its own term's no-op, proposes nothing. */
Test(wf_coordinator, only_a_ready_leader_proposes)
{
    struct wf_coord_input input = {
        .now_ms = 5,
        .leader_ready = false,
        .free_workers = workers,
        .free_worker_count = 2,
    };
    struct wf_coord_output output = { .commands = commands, .cap = 8 };
    wf_coordinate(state, &input, &output);
    cr_assert_eq(output.count, 0);
    cr_assert_eq(output.next_due_ms, UINT64_MAX);
    input.leader_ready = true;
    wf_coordinate(state, &input, &output);
    cr_assert_eq(output.count, 2);
}

/* S3: the coordinator never changes state: repeated calls leave the hash as it was and give
 * the same answer. */
Test(wf_coordinator, never_mutates_state)
{
    uint64_t before = wf_state_hash(state);
    struct wf_coord_output first = coordinate(10, 0, 2, 8);
    struct wf_command saved[8];
    memcpy(saved, commands, sizeof(saved));
    for (int i = 0; i < 5; i++) {
        struct wf_coord_output again = coordinate(10, 0, 2, 8);
        cr_assert_eq(again.count, first.count);
        cr_assert_eq(memcmp(saved, commands, first.count * sizeof(commands[0])), 0);
    }
    cr_assert_eq(wf_state_hash(state), before);
}

/* One start per free worker, Ready tasks in order, stamped with the leader's time; commands
 * already in flight are not proposed again, and the output is bounded. */
Test(wf_coordinator, starts_fill_free_workers)
{
    struct wf_coord_output output = coordinate(10, 0, 2, 8);
    cr_assert_eq(output.count, 2);
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert_eq(commands[i].type, WF_CMD_START_ATTEMPT);
        cr_assert_eq(commands[i].task_index, i);
        cr_assert_eq(commands[i].attempt, 1);
        cr_assert_eq(commands[i].worker_id, workers[i]);
        cr_assert_eq(commands[i].timestamp_ms, 10);
    }
    struct wf_command in_flight = commands[0];
    struct wf_coord_input input = {
        .now_ms = 10,
        .leader_ready = true,
        .free_workers = workers,
        .free_worker_count = 2,
        .in_flight = &in_flight,
        .in_flight_count = 1,
    };
    struct wf_coord_output second = { .commands = commands, .cap = 8 };
    wf_coordinate(state, &input, &second);
    cr_assert_eq(second.count, 2);
    cr_assert_eq(commands[0].task_index, 1);
    cr_assert_eq(commands[1].task_index, 2);
    struct wf_coord_output capped = coordinate(10, 0, 2, 1);
    cr_assert_eq(capped.count, 1);
    cr_assert(capped.truncated);
    cr_assert_eq(coordinate(10, 0, 0, 8).count, 0, "no free worker, no start");
}

/* Leases: an expiry is proposed at the deadline (measured from dispatch), never before, and never
 * before the failover grace period ends; next_due says when to look again. */
Test(wf_coordinator, expiry_waits_for_deadline_and_grace)
{
    cr_assert_eq(apply(token(WF_CMD_START_ATTEMPT, 0, 1), 100).status, WF_OK);
    struct wf_coord_output output = coordinate(1099, 0, 0, 8);
    cr_assert_eq(output.count, 0);
    cr_assert_eq(output.next_due_ms, 1100);
    output = coordinate(1100, 0, 0, 8);
    cr_assert_eq(output.count, 1);
    cr_assert_eq(commands[0].type, WF_CMD_EXPIRE_LEASE);
    cr_assert_eq(commands[0].attempt, 1);
    output = coordinate(1100, 1600, 0, 8);
    cr_assert_eq(output.count, 0, "grace period");
    cr_assert_eq(output.next_due_ms, 1600);
    output = coordinate(1600, 1600, 0, 8);
    cr_assert_eq(output.count, 1);
    cr_assert_eq(apply(commands[0], 1600).status, WF_OK);
}

/* Retries: schedule_retry is proposed once the backoff has elapsed, then a new start follows with
 * the next attempt number. */
Test(wf_coordinator, retry_after_backoff_then_next_attempt)
{
    cr_assert_eq(apply(token(WF_CMD_START_ATTEMPT, 0, 1), 0).status, WF_OK);
    cr_assert_eq(apply(token(WF_CMD_FAIL_ATTEMPT, 0, 1), 1000).status, WF_OK);
    struct wf_coord_output output = coordinate(1199, 0, 0, 8);
    cr_assert_eq(output.count, 0);
    cr_assert_eq(output.next_due_ms, 1200);
    output = coordinate(1200, 0, 0, 8);
    cr_assert_eq(output.count, 1);
    cr_assert_eq(commands[0].type, WF_CMD_SCHEDULE_RETRY);
    cr_assert_eq(commands[0].attempt, 1);
    cr_assert_eq(apply(commands[0], 1200).status, WF_OK);
    output = coordinate(1200, 0, 1, 8);
    cr_assert_eq(output.count, 1);
    cr_assert_eq(commands[0].type, WF_CMD_START_ATTEMPT);
    cr_assert_eq(commands[0].task_index, 0);
    cr_assert_eq(commands[0].attempt, 2);
}

/* Pause: nothing new is dispatched or retried while paused, but overdue leases still expire. */
Test(wf_coordinator, paused_workflows_only_expire)
{
    cr_assert_eq(apply(token(WF_CMD_START_ATTEMPT, 0, 1), 0).status, WF_OK);
    cr_assert_eq(apply(token(WF_CMD_START_ATTEMPT, 1, 1), 0).status, WF_OK);
    cr_assert_eq(apply(token(WF_CMD_FAIL_ATTEMPT, 1, 1), 10).status, WF_OK);
    struct wf_command pause = { .type = WF_CMD_PAUSE, .workflow_id = "w" };
    cr_assert_eq(apply(pause, 20).status, WF_OK);
    struct wf_coord_output output = coordinate(5000, 0, 2, 8);
    cr_assert_eq(output.count, 1);
    cr_assert_eq(commands[0].type, WF_CMD_EXPIRE_LEASE);
    cr_assert_eq(commands[0].task_index, 0);
}

/* Terminal workflows are left alone. */
Test(wf_coordinator, terminal_workflows_are_ignored)
{
    cr_assert_eq(apply(token(WF_CMD_START_ATTEMPT, 0, 1), 0).status, WF_OK);
    struct wf_command cancel = { .type = WF_CMD_CANCEL, .workflow_id = "w" };
    cr_assert_eq(apply(cancel, 1).status, WF_OK);
    struct wf_coord_output output = coordinate(100000, 0, 2, 8);
    cr_assert_eq(output.count, 0);
    cr_assert_eq(output.next_due_ms, UINT64_MAX);
}

/* A worker is idle only with no open attempt in the applied state and no start in flight: the
 * coordinator never hands one worker two tasks at once. */
Test(wf_coordinator, idle_workers_exclude_open_and_in_flight_starts)
{
    const uint32_t live[] = { 7, 8, 9 };
    uint32_t idle[3];
    cr_assert_eq(wf_workers_idle(state, NULL, 0, live, 3, idle), 3);
    struct wf_command start = token(WF_CMD_START_ATTEMPT, 0, 1);
    start.worker_id = 8;
    cr_assert_eq(apply(start, 10).status, WF_OK);
    cr_assert_eq(wf_workers_idle(state, NULL, 0, live, 3, idle), 2);
    cr_assert_eq(idle[0], 7);
    cr_assert_eq(idle[1], 9);
    struct wf_command in_flight = token(WF_CMD_START_ATTEMPT, 1, 1);
    in_flight.worker_id = 9;
    cr_assert_eq(wf_workers_idle(state, &in_flight, 1, live, 3, idle), 1);
    cr_assert_eq(idle[0], 7);
    struct wf_command done = token(WF_CMD_COMPLETE_ATTEMPT, 0, 1);
    cr_assert_eq(apply(done, 20).status, WF_OK);
    cr_assert_eq(wf_workers_idle(state, &in_flight, 1, live, 3, idle), 2, "8 is free again");
}
