/* Applying committed workflow commands: every state change of the workflow engine happens here. */
#include "workflows/wf_observe.h"
#include "workflows/wf_state_impl.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The entry being applied. */
struct apply {
    struct wf_state *state;
    uint64_t index;
    const struct wf_command *command; /* NULL while decoding */
    struct wf_result *result;
};

static const char *task_name(const struct apply *apply, const struct wf_run *run)
{
    const struct wf_command *command = apply->command;
    if (run == NULL || command == NULL || !wf_command_has_token(command->type) ||
        command->task_index >= run->def.task_count) {
        return "-";
    }
    return run->def.tasks[command->task_index].id;
}

static void emit(struct apply *apply, const struct wf_log_record *record)
{
    struct wf_state *state = apply->state;
    if (state->config.log == NULL) {
        return;
    }
    size_t len = wf_log_format(record, state->log_line, sizeof(state->log_line));
    if (len >= sizeof(state->log_line)) {
        len = sizeof(state->log_line) - 1;
    }
    state->config.log(state->config.log_context, state->log_line, len);
}

static void log_task(struct apply *apply, const struct wf_run *run, uint32_t t,
                     enum wf_task_state from, enum wf_task_event event)
{
    const struct wf_task_run *task = &run->tasks[t];
    struct wf_log_record record = {
        .event = "transition",
        .index = apply->index,
        .time_ms = apply->state->clock_ms,
        .command = wf_command_type_name(apply->command->type),
        .workflow = run->def.id,
        .task = run->def.tasks[t].id,
        .attempt = task->attempts,
        .from = wf_task_state_name(from),
        .to = wf_task_state_name(task->state),
        .cause = wf_task_event_name(event),
    };
    emit(apply, &record);
}

static void log_workflow(struct apply *apply, const struct wf_run *run, const char *from,
                         const char *cause)
{
    struct wf_log_record record = {
        .event = "transition",
        .index = apply->index,
        .time_ms = apply->state->clock_ms,
        .command = wf_command_type_name(apply->command->type),
        .workflow = run->def.id,
        .task = "-",
        .from = from,
        .to = wf_workflow_state_name(run->state),
        .cause = cause,
    };
    emit(apply, &record);
}

/* Refuses the command: nothing but counters (and late_reports) changes. */
static void reject(struct apply *apply, const struct wf_run *run, enum wf_status status,
                   const char *format, ...) __attribute__((format(printf, 4, 5)));

static void reject(struct apply *apply, const struct wf_run *run, enum wf_status status,
                   const char *format, ...)
{
    assert(status != WF_OK && status != WF_OK_EXISTING);
    struct wf_result *result = apply->result;
    result->status = status;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(result->message, sizeof(result->message), format, args);
    va_end(args);
    assert(written >= 0);
    if (status == WF_REJECT_MALFORMED) {
        apply->state->counters.commands_malformed++;
    } else {
        apply->state->counters.commands_rejected++;
    }
    const struct wf_command *command = apply->command;
    struct wf_log_record record = {
        .event = "reject",
        .index = apply->index,
        .time_ms = apply->state->clock_ms,
        .command = command != NULL ? wf_command_type_name(command->type) : "invalid",
        .workflow = command != NULL ? command->workflow_id : "-",
        .task = task_name(apply, run),
        .attempt = command != NULL && wf_command_has_token(command->type) ? command->attempt : 0,
        .cause = wf_status_name(status),
        .reason = result->message,
    };
    emit(apply, &record);
}

static void accept(struct apply *apply, enum wf_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void accept(struct apply *apply, enum wf_status status, const char *format, ...)
{
    assert(status == WF_OK || status == WF_OK_EXISTING);
    apply->result->status = status;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(apply->result->message, sizeof(apply->result->message), format, args);
    va_end(args);
    assert(written >= 0);
    apply->state->counters.commands_applied++;
}

/* Moves task t by `event`, which the caller has checked is in the table. */
static void task_transition(struct apply *apply, struct wf_run *run, uint32_t t,
                            enum wf_task_event event)
{
    assert(t < run->def.task_count);
    struct wf_task_run *task = &run->tasks[t];
    enum wf_task_state from = task->state;
    enum wf_task_state to;
    bool legal = wf_task_next(from, event, &to);
    assert(legal);
    assert(task->attempts <= run->def.tasks[t].retry.max_attempts);
    struct wf_counters *counters = &apply->state->counters;
    assert(counters->tasks_by_state[from] > 0);
    counters->tasks_by_state[from]--;
    counters->tasks_by_state[to]++;
    task->state = to;
    if (to == WF_TASK_READY) {
        task->ready_ms = apply->state->clock_ms;
    }
    apply->result->transitions++;
    log_task(apply, run, t, from, event);
}

/* Closes every open attempt of a run that has just ended without completing. */
static void abandon_open_attempts(struct apply *apply, struct wf_run *run)
{
    assert(wf_workflow_state_terminal(run->state));
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        struct wf_task_run *task = &run->tasks[t];
        if (task->attempts == 0) {
            continue;
        }
        struct wf_attempt *attempt = &task->attempt_log[task->attempts - 1];
        if (attempt->outcome == WF_ATTEMPT_OPEN) {
            attempt->outcome = WF_ATTEMPT_ABANDONED;
            attempt->ended_ms = apply->state->clock_ms;
            apply->state->counters.attempts_abandoned++;
        }
    }
}

/* Moves the run by `event`, which the caller has checked is in the table. */
static void workflow_transition(struct apply *apply, struct wf_run *run,
                                enum wf_workflow_event event)
{
    struct wf_state *state = apply->state;
    enum wf_workflow_state from = run->state;
    enum wf_workflow_state to;
    bool legal = wf_workflow_next(from, event, &to);
    assert(legal);
    assert(!wf_workflow_state_terminal(from)); /* the table has no exit from terminal states */
    assert(state->counters.workflows_by_state[from] > 0);
    state->counters.workflows_by_state[from]--;
    state->counters.workflows_by_state[to]++;
    run->state = to;
    if (wf_workflow_state_terminal(to)) {
        run->ended_ms = state->clock_ms;
        abandon_open_attempts(apply, run);
    }
    if (to == WF_WORKFLOW_COMPLETED) {
        uint64_t took = run->ended_ms - run->submitted_ms;
        struct wf_counters *counters = &state->counters;
        counters->completion_ms_total += took;
        bool first = counters->workflows_by_state[WF_WORKFLOW_COMPLETED] == 1;
        counters->completion_ms_min =
            first || took < counters->completion_ms_min ? took : counters->completion_ms_min;
        counters->completion_ms_max =
            took > counters->completion_ms_max ? took : counters->completion_ms_max;
    }
    apply->result->transitions++;
    log_workflow(apply, run, wf_workflow_state_name(from), wf_workflow_event_name(event));
}

static bool deps_completed(const struct wf_run *run, uint32_t t)
{
    const struct wf_task_def *def = &run->def.tasks[t];
    for (uint32_t j = 0; j < def->dep_count; j++) {
        if (run->tasks[def->deps[j]].state != WF_TASK_COMPLETED) {
            return false;
        }
    }
    return true;
}

/* Pending tasks that wait only for dependencies, with all of them now Completed, become Ready. */
static void promote_ready(struct apply *apply, struct wf_run *run)
{
    assert(run->def.task_count <= WF_TASKS_MAX);
    assert(!wf_workflow_state_terminal(run->state));
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        const struct wf_task_run *task = &run->tasks[t];
        if (task->state == WF_TASK_PENDING && task->attempts == 0 && !task->retry_pending &&
            deps_completed(run, t)) {
            task_transition(apply, run, t, WF_TASK_EV_DEPS_DONE);
        }
    }
}

static struct wf_run *find_run(struct apply *apply)
{
    struct wf_state *state = apply->state;
    const struct wf_run *run = wf_state_find(state, apply->command->workflow_id);
    if (run == NULL) {
        reject(apply, NULL, WF_REJECT_NOT_FOUND, "no workflow '%s'", apply->command->workflow_id);
        return NULL;
    }
    return &state->runs[run - state->runs];
}

static void apply_submit(struct apply *apply)
{
    struct wf_state *state = apply->state;
    const struct wf_def *def = apply->command->def;
    assert(def != NULL);
    bool found = false;
    uint32_t position = wf_state_id_position(state, def->id, &found);
    if (found) {
        const struct wf_run *existing = &state->runs[state->by_id[position]];
        if (!wf_def_equal(&existing->def, def)) {
            reject(apply, NULL, WF_REJECT_CONFLICT,
                   "workflow '%s' exists with a different definition", def->id);
            return;
        }
        state->counters.submits_idempotent++;
        accept(apply, WF_OK_EXISTING, "workflow '%s' exists (submitted at index %llu), state %s",
               def->id, (unsigned long long)existing->submit_index,
               wf_workflow_state_name(existing->state));
        return;
    }
    if (state->run_count == state->config.workflows_max) {
        reject(apply, NULL, WF_REJECT_CAPACITY, "%u workflows already, the maximum",
               state->run_count);
        return;
    }
    uint32_t slot = state->run_count;
    struct wf_run *run = &state->runs[slot];
    /* Slots at and above runs_dirty are zero already (wf_state_impl.h): no 160 KB memset. */
    if (slot >= state->runs_dirty) {
        state->runs_dirty = slot + 1;
    } else {
        memset(run, 0, sizeof(*run));
    }
    run->def = *def;
    run->def_hash = wf_def_hash(def);
    run->state = WF_WORKFLOW_INITIAL;
    run->submit_index = apply->index;
    run->submitted_ms = state->clock_ms;
    state->run_hash_valid[slot] = false;
    wf_state_index_insert(state, position, slot);
    state->run_count++;
    state->counters.workflows_submitted++;
    state->counters.workflows_by_state[run->state]++;
    state->counters.tasks_by_state[WF_TASK_PENDING] += def->task_count;
    assert(wf_state_find(state, def->id) == run);
    assert(state->run_count <= state->config.workflows_max);
    apply->result->transitions++;
    log_workflow(apply, run, "-", "submit");
    promote_ready(apply, run);
    accept(apply, WF_OK, "workflow '%s' submitted with %u tasks", def->id, def->task_count);
}

/* Finds the run and task of an attempt-level command, rejecting if either is missing. */
static bool find_task(struct apply *apply, struct wf_run **run_out, struct wf_task_run **task_out)
{
    struct wf_run *run = find_run(apply);
    if (run == NULL) {
        return false;
    }
    uint16_t t = apply->command->task_index;
    if (t >= run->def.task_count) {
        reject(apply, run, WF_REJECT_NOT_FOUND, "workflow '%s' has no task %u (%u tasks)",
               run->def.id, (unsigned)t, run->def.task_count);
        return false;
    }
    *run_out = run;
    *task_out = &run->tasks[t];
    return true;
}

/*
 * Fencing: the token (workflow, task, attempt) must name the task's open attempt. Any other
 * token is refused; for worker reports it is also counted as a detected duplicate, on the
 * attempt it names when that attempt exists.
 */
static struct wf_attempt *check_token(struct apply *apply, struct wf_run *run,
                                      struct wf_task_run *task, bool worker_report)
{
    uint32_t attempt = apply->command->attempt;
    assert(task->attempts <= WF_ATTEMPTS_MAX);
    assert(apply->command->task_index < run->def.task_count);
    bool current = attempt >= 1 && attempt == task->attempts;
    if (current && task->attempt_log[attempt - 1].outcome == WF_ATTEMPT_OPEN) {
        return &task->attempt_log[attempt - 1];
    }
    const char *why = "was never started";
    if (attempt >= 1 && attempt <= task->attempts) {
        why = wf_attempt_outcome_name(task->attempt_log[attempt - 1].outcome);
    }
    if (worker_report) {
        apply->state->counters.duplicates_detected++;
        apply->result->duplicate = true;
        if (attempt >= 1 && attempt <= task->attempts) {
            task->attempt_log[attempt - 1].late_reports++;
        }
    }
    reject(apply, run, WF_REJECT_STALE,
           "token (%s, %s, %u) is not the open attempt: attempt %u %s, task has %u attempts",
           run->def.id, run->def.tasks[apply->command->task_index].id, attempt, attempt, why,
           task->attempts);
    return NULL;
}

static bool check_gate(struct apply *apply, struct wf_run *run)
{
    if (wf_command_allowed(run->state, apply->command->type)) {
        return true;
    }
    reject(apply, run, WF_REJECT_ILLEGAL, "%s: not allowed while workflow '%s' is %s",
           wf_command_type_name(apply->command->type), run->def.id,
           wf_workflow_state_name(run->state));
    return false;
}

static bool check_task_event(struct apply *apply, struct wf_run *run, struct wf_task_run *task,
                             enum wf_task_event event)
{
    enum wf_task_state to;
    if (wf_task_next(task->state, event, &to)) {
        return true;
    }
    reject(apply, run, WF_REJECT_ILLEGAL, "task '%s': no transition '%s' from %s",
           run->def.tasks[apply->command->task_index].id, wf_task_event_name(event),
           wf_task_state_name(task->state));
    return false;
}

/*
 * Resolves an attempt-level report or expiry to its open attempt: the run and task must exist,
 * the token must name the open attempt (fencing), and the workflow must accept the command.
 */
static struct wf_attempt *find_open_attempt(struct apply *apply, bool worker_report,
                                            struct wf_run **run, struct wf_task_run **task)
{
    if (!find_task(apply, run, task)) {
        return NULL;
    }
    struct wf_attempt *attempt = check_token(apply, *run, *task, worker_report);
    if (attempt == NULL || !check_gate(apply, *run)) {
        return NULL;
    }
    assert(attempt == &(*task)->attempt_log[(*task)->attempts - 1]);
    assert((*task)->state == WF_TASK_RUNNING); /* open attempt in a live workflow */
    return attempt;
}

/*
 * Resolves a dispatch (start, schedule retry) to its run and task: both must exist, the workflow
 * must accept the command, and the table must have `event` from the task's state.
 */
static bool find_task_for(struct apply *apply, enum wf_task_event event, struct wf_run **run,
                          struct wf_task_run **task)
{
    assert(event == WF_TASK_EV_START || event == WF_TASK_EV_RETRY_DUE);
    return find_task(apply, run, task) && check_gate(apply, *run) &&
           check_task_event(apply, *run, *task, event);
}

static void apply_start(struct apply *apply)
{
    const struct wf_command *command = apply->command;
    struct wf_run *run;
    struct wf_task_run *task;
    if (!find_task_for(apply, WF_TASK_EV_START, &run, &task)) {
        return;
    }
    const struct wf_task_def *def = &run->def.tasks[command->task_index];
    if (command->attempt != task->attempts + 1) {
        reject(apply, run, WF_REJECT_STALE, "task '%s': next attempt is %u, not %u", def->id,
               task->attempts + 1, command->attempt);
        return;
    }
    assert(task->attempts < def->retry.max_attempts); /* Ready implies an attempt is left */
    uint64_t now = apply->state->clock_ms;
    struct wf_attempt *attempt = &task->attempt_log[task->attempts];
    *attempt = (struct wf_attempt){
        .worker_id = command->worker_id,
        .outcome = WF_ATTEMPT_OPEN,
        .started_ms = now,
        .lease_deadline_ms = wf_add_sat(now, def->lease_timeout_ms),
    };
    task->attempts++;
    assert(task->attempts <= def->retry.max_attempts);
    apply->state->counters.attempts_started++;
    task_transition(apply, run, command->task_index, WF_TASK_EV_START);
    accept(apply, WF_OK, "task '%s' attempt %u dispatched to worker %u, lease until %llu", def->id,
           task->attempts, command->worker_id, (unsigned long long)attempt->lease_deadline_ms);
}

static void apply_extend(struct apply *apply)
{
    struct wf_run *run;
    struct wf_task_run *task;
    struct wf_attempt *attempt = find_open_attempt(apply, true, &run, &task);
    if (attempt == NULL || !check_task_event(apply, run, task, WF_TASK_EV_EXTEND)) {
        return;
    }
    const struct wf_task_def *def = &run->def.tasks[apply->command->task_index];
    uint64_t deadline = wf_add_sat(apply->state->clock_ms, def->lease_timeout_ms);
    if (deadline > attempt->lease_deadline_ms) {
        attempt->lease_deadline_ms = deadline;
    }
    attempt->extensions++;
    apply->state->counters.lease_extensions++;
    task_transition(apply, run, apply->command->task_index, WF_TASK_EV_EXTEND);
    accept(apply, WF_OK, "task '%s' attempt %u lease until %llu", def->id, task->attempts,
           (unsigned long long)attempt->lease_deadline_ms);
}

static bool all_tasks_completed(const struct wf_run *run)
{
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        if (run->tasks[t].state != WF_TASK_COMPLETED) {
            return false;
        }
    }
    return true;
}

static void apply_complete(struct apply *apply)
{
    const struct wf_command *command = apply->command;
    struct wf_run *run;
    struct wf_task_run *task;
    struct wf_attempt *attempt = find_open_attempt(apply, true, &run, &task);
    if (attempt == NULL || !check_task_event(apply, run, task, WF_TASK_EV_COMPLETE)) {
        return;
    }
    assert(command->output_len <= WF_OUTPUT_BYTES_MAX);
    uint64_t now = apply->state->clock_ms;
    attempt->outcome = WF_ATTEMPT_COMPLETED;
    attempt->ended_ms = now;
    task->completed_ms = now;
    task->output_len = command->output_len;
    memcpy(task->output, command->output, command->output_len);
    apply->state->counters.attempts_completed++;
    task_transition(apply, run, command->task_index, WF_TASK_EV_COMPLETE);
    promote_ready(apply, run);
    if (all_tasks_completed(run)) {
        workflow_transition(apply, run, WF_WORKFLOW_EV_ALL_COMPLETED);
    }
    accept(apply, WF_OK, "task '%s' attempt %u completed", run->def.tasks[command->task_index].id,
           task->attempts);
}

static bool retry_allowed(const struct wf_run *run, uint32_t t, const char *error_kind)
{
    const struct wf_task_def *def = &run->def.tasks[t];
    return run->tasks[t].attempts < def->retry.max_attempts &&
           wf_retry_kind_retryable(&def->retry, error_kind);
}

/*
 * Closes the command's open attempt as `outcome` (failed or expired) with `error_kind`, then
 * schedules a retry if the policy allows one, else fails the task and the workflow. False (and
 * rejected, nothing changed) if the table lacks the transition. *retry tells which happened.
 */
static bool close_failed_attempt(struct apply *apply, struct wf_run *run,
                                 struct wf_attempt *attempt, enum wf_attempt_outcome outcome,
                                 const char *error_kind, bool *retry)
{
    assert(outcome == WF_ATTEMPT_FAILED || outcome == WF_ATTEMPT_EXPIRED);
    assert(attempt->outcome == WF_ATTEMPT_OPEN);
    uint32_t t = apply->command->task_index;
    struct wf_task_run *task = &run->tasks[t];
    bool expired = outcome == WF_ATTEMPT_EXPIRED;
    *retry = retry_allowed(run, t, error_kind);
    enum wf_task_event event = expired
                                   ? (*retry ? WF_TASK_EV_EXPIRE_RETRY : WF_TASK_EV_EXPIRE_FINAL)
                                   : (*retry ? WF_TASK_EV_FAIL_RETRY : WF_TASK_EV_FAIL_FINAL);
    if (!check_task_event(apply, run, task, event)) {
        return false;
    }
    uint64_t now = apply->state->clock_ms;
    attempt->outcome = outcome;
    attempt->ended_ms = now;
    snprintf(attempt->error_kind, sizeof(attempt->error_kind), "%s", error_kind);
    if (expired) {
        apply->state->counters.lease_expiries++;
    } else {
        apply->state->counters.attempts_failed++;
    }
    if (*retry) {
        task->retry_pending = true;
        task->retry_at_ms =
            wf_add_sat(now, wf_retry_backoff_ms(&run->def.tasks[t].retry, task->attempts));
    }
    task_transition(apply, run, t, event);
    if (!*retry) {
        workflow_transition(apply, run, WF_WORKFLOW_EV_TASK_FAILED);
    }
    return true;
}

static void apply_fail(struct apply *apply)
{
    const struct wf_command *command = apply->command;
    struct wf_run *run;
    struct wf_task_run *task;
    struct wf_attempt *attempt = find_open_attempt(apply, true, &run, &task);
    bool retry = false;
    if (attempt == NULL || !close_failed_attempt(apply, run, attempt, WF_ATTEMPT_FAILED,
                                                 command->error_kind, &retry)) {
        return;
    }
    accept(apply, WF_OK, "task '%s' attempt %u failed (%s), %s",
           run->def.tasks[command->task_index].id, task->attempts, command->error_kind,
           retry ? "retry pending" : "task failed");
}

static void apply_expire(struct apply *apply)
{
    const struct wf_command *command = apply->command;
    struct wf_run *run;
    struct wf_task_run *task;
    struct wf_attempt *attempt = find_open_attempt(apply, false, &run, &task);
    if (attempt == NULL) {
        return;
    }
    if (apply->state->clock_ms < attempt->lease_deadline_ms) {
        reject(apply, run, WF_REJECT_TOO_EARLY, "attempt %u lease runs until %llu, clock is %llu",
               command->attempt, (unsigned long long)attempt->lease_deadline_ms,
               (unsigned long long)apply->state->clock_ms);
        return;
    }
    bool retry = false;
    if (!close_failed_attempt(apply, run, attempt, WF_ATTEMPT_EXPIRED, WF_ERROR_KIND_LEASE_EXPIRED,
                              &retry)) {
        return;
    }
    accept(apply, WF_OK, "task '%s' attempt %u lease expired, %s",
           run->def.tasks[command->task_index].id, task->attempts,
           retry ? "retry pending" : "task failed");
}

static void apply_schedule_retry(struct apply *apply)
{
    const struct wf_command *command = apply->command;
    struct wf_run *run;
    struct wf_task_run *task;
    if (!find_task_for(apply, WF_TASK_EV_RETRY_DUE, &run, &task)) {
        return;
    }
    const char *task_id = run->def.tasks[command->task_index].id;
    if (!task->retry_pending || command->attempt != task->attempts) {
        reject(apply, run, WF_REJECT_STALE, "task '%s': no retry pending after attempt %u", task_id,
               command->attempt);
        return;
    }
    if (apply->state->clock_ms < task->retry_at_ms) {
        reject(apply, run, WF_REJECT_TOO_EARLY, "task '%s': backoff runs until %llu, clock is %llu",
               task_id, (unsigned long long)task->retry_at_ms,
               (unsigned long long)apply->state->clock_ms);
        return;
    }
    assert(task->attempts >= 1 &&
           task->attempts < run->def.tasks[command->task_index].retry.max_attempts);
    task->retry_pending = false;
    apply->state->counters.retries_scheduled++;
    task_transition(apply, run, command->task_index, WF_TASK_EV_RETRY_DUE);
    accept(apply, WF_OK, "task '%s' ready for attempt %u", task_id, task->attempts + 1);
}

static void apply_workflow_command(struct apply *apply, enum wf_workflow_event event)
{
    struct wf_run *run = find_run(apply);
    if (run == NULL || !check_gate(apply, run)) {
        return;
    }
    enum wf_workflow_state to;
    if (!wf_workflow_next(run->state, event, &to)) {
        reject(apply, run, WF_REJECT_ILLEGAL, "workflow '%s': no transition '%s' from %s",
               run->def.id, wf_workflow_event_name(event), wf_workflow_state_name(run->state));
        return;
    }
    if (event == WF_WORKFLOW_EV_PAUSE) {
        run->pauses++;
    }
    workflow_transition(apply, run, event);
    accept(apply, WF_OK, "workflow '%s' %s", run->def.id, wf_workflow_state_name(run->state));
}

static void dispatch(struct apply *apply)
{
    switch (apply->command->type) {
    case WF_CMD_SUBMIT:
        apply_submit(apply);
        return;
    case WF_CMD_START_ATTEMPT:
        apply_start(apply);
        return;
    case WF_CMD_EXTEND_LEASE:
        apply_extend(apply);
        return;
    case WF_CMD_COMPLETE_ATTEMPT:
        apply_complete(apply);
        return;
    case WF_CMD_FAIL_ATTEMPT:
        apply_fail(apply);
        return;
    case WF_CMD_EXPIRE_LEASE:
        apply_expire(apply);
        return;
    case WF_CMD_SCHEDULE_RETRY:
        apply_schedule_retry(apply);
        return;
    case WF_CMD_PAUSE:
        apply_workflow_command(apply, WF_WORKFLOW_EV_PAUSE);
        return;
    case WF_CMD_RESUME:
        apply_workflow_command(apply, WF_WORKFLOW_EV_RESUME);
        return;
    case WF_CMD_CANCEL:
        apply_workflow_command(apply, WF_WORKFLOW_EV_CANCEL);
        return;
    case WF_CMD_INVALID:
        break;
    }
    assert(!"decoded command of invalid type");
}

void wf_state_apply(struct wf_state *state, uint64_t index, const uint8_t *payload, size_t len,
                    struct wf_result *result)
{
    assert(state != NULL);
    assert(result != NULL);
    assert(index > state->applied_index); /* entries are applied once, in log order */
    const uint64_t clock_before = state->clock_ms;
    memset(result, 0, sizeof(*result));
    state->applied_index = index;
    struct apply apply = { .state = state, .index = index, .result = result };
    struct wf_error error;
    if (!wf_command_decode(payload, len, &state->scratch_cmd, &state->scratch_def, &error)) {
        reject(&apply, NULL, WF_REJECT_MALFORMED, "%s", error.text);
        return;
    }
    apply.command = &state->scratch_cmd;
    wf_state_invalidate_run(state, apply.command->workflow_id); /* the only run it may change */
    if (state->scratch_cmd.timestamp_ms > state->clock_ms) {
        state->clock_ms = state->scratch_cmd.timestamp_ms; /* G1: time never goes back */
    }
    dispatch(&apply);
    assert(result->status != WF_OK || result->transitions > 0);
    assert(state->clock_ms >= clock_before); /* G1: time never goes back */
    assert(state->run_count <= state->config.workflows_max);
}
