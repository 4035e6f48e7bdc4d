/* The coordinator: reads applied workflow state and decides which transitions to propose. */
#include "workflows/wf_coordinator.h"

#include <assert.h>
#include <string.h>

static bool in_flight(const struct wf_coord_input *input, enum wf_command_type type,
                      const char *workflow_id, uint16_t task, uint32_t attempt)
{
    for (uint32_t i = 0; i < input->in_flight_count; i++) {
        const struct wf_command *c = &input->in_flight[i];
        if (c->type == type && c->task_index == task && c->attempt == attempt &&
            strcmp(c->workflow_id, workflow_id) == 0) {
            return true;
        }
    }
    return false;
}

static void note_due(struct wf_coord_output *output, uint64_t due_ms)
{
    if (due_ms < output->next_due_ms) {
        output->next_due_ms = due_ms;
    }
}

/* Appends a command for (run, task, attempt); false if the output is full. */
static bool propose(const struct wf_coord_input *input, struct wf_coord_output *output,
                    enum wf_command_type type, const struct wf_run *run, uint32_t t,
                    uint32_t attempt)
{
    assert(t < run->def.task_count);
    assert(attempt >= 1);
    if (output->count == output->cap) {
        output->truncated = true;
        return false;
    }
    struct wf_command *command = &output->commands[output->count++];
    memset(command, 0, sizeof(*command));
    command->type = type;
    memcpy(command->workflow_id, run->def.id, sizeof(command->workflow_id));
    command->task_index = (uint16_t)t;
    command->attempt = attempt;
    wf_command_stamp(command, input->now_ms);
    return true;
}

/*
 * A timed proposal (expire_lease, schedule_retry) for (run, task t, attempt), due at due_ms: before
 * then it only lowers next_due_ms; from then on it is proposed unless already in flight. False
 * if the output is full (the caller stops).
 */
static bool propose_when_due(const struct wf_coord_input *input, struct wf_coord_output *output,
                             enum wf_command_type type, const struct wf_run *run, uint32_t t,
                             uint32_t attempt, uint64_t due_ms)
{
    assert(type == WF_CMD_EXPIRE_LEASE || type == WF_CMD_SCHEDULE_RETRY);
    if (input->now_ms < due_ms) {
        note_due(output, due_ms);
        return true;
    }
    return in_flight(input, type, run->def.id, (uint16_t)t, attempt) ||
           propose(input, output, type, run, t, attempt);
}

static void propose_expiries(const struct wf_state *state, const struct wf_coord_input *input,
                             struct wf_coord_output *output)
{
    for (uint32_t i = 0; i < wf_state_run_count(state); i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        if (wf_workflow_state_terminal(run->state)) {
            continue;
        }
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            const struct wf_task_run *task = &run->tasks[t];
            if (task->state != WF_TASK_RUNNING) {
                continue;
            }
            assert(task->attempts >= 1);
            const struct wf_attempt *attempt = &task->attempt_log[task->attempts - 1];
            uint64_t due = attempt->lease_deadline_ms > input->grace_until_ms
                               ? attempt->lease_deadline_ms
                               : input->grace_until_ms;
            if (!propose_when_due(input, output, WF_CMD_EXPIRE_LEASE, run, t, task->attempts,
                                  due)) {
                return;
            }
        }
    }
}

static void propose_retries(const struct wf_state *state, const struct wf_coord_input *input,
                            struct wf_coord_output *output)
{
    for (uint32_t i = 0; i < wf_state_run_count(state); i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        if (run->state != WF_WORKFLOW_RUNNING) {
            continue;
        }
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            const struct wf_task_run *task = &run->tasks[t];
            if (task->state != WF_TASK_PENDING || !task->retry_pending) {
                continue;
            }
            if (!propose_when_due(input, output, WF_CMD_SCHEDULE_RETRY, run, t, task->attempts,
                                  task->retry_at_ms)) {
                return;
            }
        }
    }
}

static void propose_starts(const struct wf_state *state, const struct wf_coord_input *input,
                           struct wf_coord_output *output)
{
    uint32_t next_worker = 0;
    for (uint32_t i = 0; i < wf_state_run_count(state); i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        if (run->state != WF_WORKFLOW_RUNNING) {
            continue;
        }
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            const struct wf_task_run *task = &run->tasks[t];
            uint32_t attempt = task->attempts + 1;
            if (task->state != WF_TASK_READY ||
                in_flight(input, WF_CMD_START_ATTEMPT, run->def.id, (uint16_t)t, attempt)) {
                continue;
            }
            if (next_worker == input->free_worker_count) {
                return; /* no worker: waits for one to report; not a timed event */
            }
            if (!propose(input, output, WF_CMD_START_ATTEMPT, run, t, attempt)) {
                return;
            }
            output->commands[output->count - 1].worker_id = input->free_workers[next_worker++];
        }
    }
}

void wf_coordinate(const struct wf_state *state, const struct wf_coord_input *input,
                   struct wf_coord_output *output)
{
    assert(state != NULL);
    assert(input != NULL);
    assert(output != NULL);
    assert(output->commands != NULL || output->cap == 0);
    assert(input->free_workers != NULL || input->free_worker_count == 0);
    output->count = 0;
    output->truncated = false;
    output->next_due_ms = UINT64_MAX;
    if (!input->leader_ready) {
        return; /* G3: followers and not-yet-ready leaders propose nothing */
    }
    propose_expiries(state, input, output);
    propose_retries(state, input, output);
    propose_starts(state, input, output);
}

/* Removes every `id` from ids[0, *count), keeping the others in order. */
static void wf_workers_drop(uint32_t *ids, uint32_t *count, uint32_t id)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < *count; i++) {
        if (ids[i] != id) {
            ids[kept++] = ids[i];
        }
    }
    *count = kept;
}

uint32_t wf_workers_idle(const struct wf_state *state, const struct wf_command *in_flight,
                         uint32_t in_flight_count, const uint32_t *live, uint32_t live_count,
                         uint32_t *idle)
{
    assert(state != NULL);
    assert(live != NULL || live_count == 0);
    assert(in_flight != NULL || in_flight_count == 0);
    /* One pass over the tasks: every worker holding an open attempt leaves the candidates. */
    uint32_t count = live_count;
    if (live_count > 0) {
        memcpy(idle, live, (size_t)live_count * sizeof(*idle));
    }
    for (uint32_t r = 0; r < wf_state_run_count(state) && count > 0; r++) {
        const struct wf_run *run = wf_state_run_at(state, r);
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            const struct wf_task_run *task = &run->tasks[t];
            if (task->attempts == 0) {
                continue;
            }
            assert(task->attempts <= WF_ATTEMPTS_MAX);
            const struct wf_attempt *last = &task->attempt_log[task->attempts - 1];
            if (last->outcome == WF_ATTEMPT_OPEN) {
                wf_workers_drop(idle, &count, last->worker_id);
            }
        }
    }
    for (uint32_t k = 0; k < in_flight_count && count > 0; k++) {
        if (in_flight[k].type == WF_CMD_START_ATTEMPT) {
            wf_workers_drop(idle, &count, in_flight[k].worker_id);
        }
    }
    assert(count <= live_count);
    return count;
}
