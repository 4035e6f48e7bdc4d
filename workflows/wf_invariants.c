/* Workflow invariants as pure checks over the state and over two consecutive states. */
#include "workflows/wf_invariants.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool violated(struct wf_violation *violation, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static bool violated(struct wf_violation *violation, const char *format, ...)
{
    assert(violation != NULL);
    va_list args;
    va_start(args, format);
    int written = vsnprintf(violation->text, sizeof(violation->text), format, args);
    va_end(args);
    assert(written >= 0);
    return false;
}

static bool all_completed(const struct wf_run *run)
{
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        if (run->tasks[t].state != WF_TASK_COMPLETED) {
            return false;
        }
    }
    return true;
}

static bool any_failed(const struct wf_run *run)
{
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        if (run->tasks[t].state == WF_TASK_FAILED) {
            return true;
        }
    }
    return false;
}

static bool check_gauges(const struct wf_state *state, struct wf_violation *violation)
{
    uint64_t workflows[WF_WORKFLOW_STATE_COUNT] = { 0 };
    uint64_t tasks[WF_TASK_STATE_COUNT] = { 0 };
    for (uint32_t i = 0; i < wf_state_run_count(state); i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        if ((unsigned)run->state >= WF_WORKFLOW_STATE_COUNT) {
            return violated(violation, "one_state: workflow '%s': invalid state %d", run->def.id,
                            (int)run->state);
        }
        workflows[run->state]++;
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            if ((unsigned)run->tasks[t].state >= WF_TASK_STATE_COUNT) {
                return violated(violation, "one_state: workflow '%s' task '%s': invalid state %d",
                                run->def.id, run->def.tasks[t].id, (int)run->tasks[t].state);
            }
            tasks[run->tasks[t].state]++;
        }
    }
    struct wf_counters counters;
    wf_state_counters(state, &counters);
    for (int s = 0; s < WF_WORKFLOW_STATE_COUNT; s++) {
        if (counters.workflows_by_state[s] != workflows[s]) {
            return violated(violation, "one_state: %llu workflows counted %s, %llu are",
                            (unsigned long long)counters.workflows_by_state[s],
                            wf_workflow_state_name((enum wf_workflow_state)s),
                            (unsigned long long)workflows[s]);
        }
    }
    for (int s = 0; s < WF_TASK_STATE_COUNT; s++) {
        if (counters.tasks_by_state[s] != tasks[s]) {
            return violated(violation, "one_state: %llu tasks counted %s, %llu are",
                            (unsigned long long)counters.tasks_by_state[s],
                            wf_task_state_name((enum wf_task_state)s),
                            (unsigned long long)tasks[s]);
        }
    }
    return true;
}

static bool check_one_state(const struct wf_run *run, struct wf_violation *violation)
{
    bool completed = all_completed(run);
    bool failed = any_failed(run);
    bool consistent;
    switch (run->state) {
    case WF_WORKFLOW_COMPLETED:
        consistent = completed;
        break;
    case WF_WORKFLOW_FAILED:
        consistent = failed && !completed;
        break;
    default: /* Running, Paused, Cancelled */
        consistent = !failed && !completed;
        break;
    }
    if (!consistent) {
        return violated(
            violation, "one_state: workflow '%s' is %s but %s of its tasks completed and %s failed",
            run->def.id, wf_workflow_state_name(run->state), completed ? "all" : "not all",
            failed ? "some" : "none");
    }
    return true;
}

static bool check_run_history(const struct wf_state *state, const struct wf_run *run,
                              struct wf_violation *violation)
{
    uint64_t applied = wf_state_applied_index(state);
    uint64_t clock = wf_state_clock_ms(state);
    if (run->submit_index < 1 || run->submit_index > applied) {
        return violated(violation,
                        "run_history: workflow '%s' submitted at index %llu, not in 1..%llu (the "
                        "applied index)",
                        run->def.id, (unsigned long long)run->submit_index,
                        (unsigned long long)applied);
    }
    if (run->submitted_ms > clock) {
        return violated(
            violation, "run_history: workflow '%s' submitted at %llu after the clock %llu",
            run->def.id, (unsigned long long)run->submitted_ms, (unsigned long long)clock);
    }
    bool ended = wf_workflow_state_terminal(run->state);
    if (!ended && run->ended_ms != 0) {
        return violated(violation, "run_history: workflow '%s' is %s with ended_ms %llu",
                        run->def.id, wf_workflow_state_name(run->state),
                        (unsigned long long)run->ended_ms);
    }
    if (ended && (run->ended_ms < run->submitted_ms || run->ended_ms > clock)) {
        return violated(violation,
                        "run_history: workflow '%s' ended at %llu, outside submitted_ms %llu .. "
                        "clock %llu",
                        run->def.id, (unsigned long long)run->ended_ms,
                        (unsigned long long)run->submitted_ms, (unsigned long long)clock);
    }
    return true;
}

static bool check_completed_started(const struct wf_run *run, uint32_t t,
                                    struct wf_violation *violation)
{
    const struct wf_task_run *task = &run->tasks[t];
    uint32_t completed_attempts = 0;
    for (uint32_t a = 0; a < task->attempts && a < WF_ATTEMPTS_MAX; a++) {
        completed_attempts += task->attempt_log[a].outcome == WF_ATTEMPT_COMPLETED;
    }
    bool is_completed = task->state == WF_TASK_COMPLETED;
    if (is_completed && (task->attempts == 0 || completed_attempts != 1 ||
                         task->attempt_log[task->attempts - 1].outcome != WF_ATTEMPT_COMPLETED)) {
        return violated(violation,
                        "completed_started: workflow '%s' task '%s' is Completed with %u attempts, "
                        "%u of them completed",
                        run->def.id, run->def.tasks[t].id, task->attempts, completed_attempts);
    }
    if (!is_completed && completed_attempts != 0) {
        return violated(violation,
                        "completed_started: workflow '%s' task '%s' is %s with a completed attempt",
                        run->def.id, run->def.tasks[t].id, wf_task_state_name(task->state));
    }
    /* The output and completion time are written only by the completing attempt. */
    if (!is_completed && (task->completed_ms != 0 || task->output_len != 0)) {
        return violated(violation,
                        "completed_started: workflow '%s' task '%s' is %s with an output or a "
                        "completion time",
                        run->def.id, run->def.tasks[t].id, wf_task_state_name(task->state));
    }
    const struct wf_attempt *last = is_completed ? &task->attempt_log[task->attempts - 1] : NULL;
    if (last != NULL && task->completed_ms != last->ended_ms) {
        return violated(violation,
                        "completed_started: workflow '%s' task '%s' completed at %llu, its attempt "
                        "%u ended at %llu",
                        run->def.id, run->def.tasks[t].id, (unsigned long long)task->completed_ms,
                        task->attempts, (unsigned long long)last->ended_ms);
    }
    return true;
}

static bool check_deps_before_start(const struct wf_run *run, uint32_t t,
                                    struct wf_violation *violation)
{
    const struct wf_task_run *task = &run->tasks[t];
    bool waiting = task->state == WF_TASK_PENDING && task->attempts == 0;
    if (waiting) {
        return true;
    }
    const struct wf_task_def *def = &run->def.tasks[t];
    for (uint32_t j = 0; j < def->dep_count; j++) {
        const struct wf_task_run *dep = &run->tasks[def->deps[j]];
        if (dep->state != WF_TASK_COMPLETED) {
            return violated(violation,
                            "deps_before_start: workflow '%s' task '%s' is %s with %u attempts "
                            "but its dependency '%s' is %s",
                            run->def.id, def->id, wf_task_state_name(task->state), task->attempts,
                            run->def.tasks[def->deps[j]].id, wf_task_state_name(dep->state));
        }
        if (task->attempts > 0 && task->attempt_log[0].started_ms < dep->completed_ms) {
            return violated(violation,
                            "deps_before_start: workflow '%s' task '%s' started at %llu before "
                            "its dependency '%s' completed at %llu",
                            run->def.id, def->id,
                            (unsigned long long)task->attempt_log[0].started_ms,
                            run->def.tasks[def->deps[j]].id, (unsigned long long)dep->completed_ms);
        }
    }
    return true;
}

static bool check_ready_once_unblocked(const struct wf_run *run, uint32_t t,
                                       struct wf_violation *violation)
{
    const struct wf_task_run *task = &run->tasks[t];
    bool waiting = task->state == WF_TASK_PENDING && task->attempts == 0;
    if (!waiting || wf_workflow_state_terminal(run->state)) {
        return true; /* tasks of an ended workflow stay frozen as they were */
    }
    const struct wf_task_def *def = &run->def.tasks[t];
    for (uint32_t j = 0; j < def->dep_count; j++) {
        if (run->tasks[def->deps[j]].state != WF_TASK_COMPLETED) {
            return true;
        }
    }
    return violated(violation,
                    "ready_once_unblocked: workflow '%s' (%s) task '%s' is Pending with every "
                    "dependency Completed",
                    run->def.id, wf_workflow_state_name(run->state), def->id);
}

static bool check_attempts_bounded(const struct wf_run *run, uint32_t t,
                                   struct wf_violation *violation)
{
    const struct wf_task_run *task = &run->tasks[t];
    uint32_t max = run->def.tasks[t].retry.max_attempts;
    if (task->attempts > max || task->attempts > WF_ATTEMPTS_MAX) {
        return violated(
            violation,
            "attempts_bounded: workflow '%s' task '%s' has %u attempts, policy allows %u",
            run->def.id, run->def.tasks[t].id, task->attempts, max);
    }
    /* Ready (next: start) and a pending retry (next: schedule_retry, then start) both lead to
     * one more attempt, so apply asserts one is left; a state without it must not exist. */
    if (task->state == WF_TASK_READY && task->attempts == max) {
        return violated(violation,
                        "attempts_bounded: workflow '%s' task '%s' is Ready after %u of %u "
                        "attempts",
                        run->def.id, run->def.tasks[t].id, task->attempts, max);
    }
    if (task->retry_pending && task->attempts == max) {
        return violated(violation,
                        "attempts_bounded: workflow '%s' task '%s' is %s with a retry pending "
                        "after %u of %u attempts",
                        run->def.id, run->def.tasks[t].id, wf_task_state_name(task->state),
                        task->attempts, max);
    }
    return true;
}

static bool check_attempt_times(const struct wf_run *run, uint32_t t, uint32_t a, uint64_t clock,
                                struct wf_violation *violation)
{
    const struct wf_attempt *attempt = &run->tasks[t].attempt_log[a];
    bool open = attempt->outcome == WF_ATTEMPT_OPEN;
    bool ordered = attempt->lease_deadline_ms >= attempt->started_ms &&
                   attempt->started_ms <= clock &&
                   (open ? attempt->ended_ms == 0
                         : attempt->ended_ms >= attempt->started_ms && attempt->ended_ms <= clock);
    if (!ordered || (unsigned)attempt->outcome >= WF_ATTEMPT_OUTCOME_COUNT) {
        return violated(violation,
                        "attempt_history: workflow '%s' task '%s' attempt %u: outcome %d, times "
                        "started %llu deadline %llu ended %llu out of order (clock %llu)",
                        run->def.id, run->def.tasks[t].id, a + 1, (int)attempt->outcome,
                        (unsigned long long)attempt->started_ms,
                        (unsigned long long)attempt->lease_deadline_ms,
                        (unsigned long long)attempt->ended_ms, (unsigned long long)clock);
    }
    return true;
}

/* Failed: the worker's kind (a valid name); expired: WF_ERROR_KIND_LEASE_EXPIRED; else none. */
static bool check_attempt_error_kind(const struct wf_run *run, uint32_t t, uint32_t a,
                                     struct wf_violation *violation)
{
    const struct wf_attempt *attempt = &run->tasks[t].attempt_log[a];
    const char *kind = attempt->error_kind;
    size_t len = strnlen(kind, sizeof(attempt->error_kind));
    bool fits;
    switch (attempt->outcome) {
    case WF_ATTEMPT_FAILED:
        fits = wf_name_valid(kind, len, WF_ERROR_KIND_BYTES_MAX);
        break;
    case WF_ATTEMPT_EXPIRED:
        fits = strcmp(kind, WF_ERROR_KIND_LEASE_EXPIRED) == 0;
        break;
    default:
        fits = len == 0;
        break;
    }
    if (!fits) {
        return violated(violation,
                        "attempt_history: workflow '%s' task '%s' attempt %u is %s with error kind "
                        "'%.*s'",
                        run->def.id, run->def.tasks[t].id, a + 1,
                        wf_attempt_outcome_name(attempt->outcome), (int)len, kind);
    }
    return true;
}

static bool check_attempt_history(const struct wf_run *run, uint32_t t, uint64_t clock,
                                  struct wf_violation *violation)
{
    const struct wf_task_run *task = &run->tasks[t];
    const char *where_wf = run->def.id;
    const char *where_task = run->def.tasks[t].id;
    for (uint32_t a = 0; a < task->attempts; a++) {
        if (!check_attempt_times(run, t, a, clock, violation) ||
            !check_attempt_error_kind(run, t, a, violation)) {
            return false;
        }
        enum wf_attempt_outcome outcome = task->attempt_log[a].outcome;
        bool last = a + 1 == task->attempts;
        if (!last && outcome != WF_ATTEMPT_FAILED && outcome != WF_ATTEMPT_EXPIRED) {
            return violated(violation,
                            "attempt_history: workflow '%s' task '%s' attempt %u is %s but a "
                            "later attempt started",
                            where_wf, where_task, a + 1, wf_attempt_outcome_name(outcome));
        }
    }
    bool open =
        task->attempts > 0 && task->attempt_log[task->attempts - 1].outcome == WF_ATTEMPT_OPEN;
    bool live = !wf_workflow_state_terminal(run->state);
    bool running = task->state == WF_TASK_RUNNING;
    if (open != (running && live)) {
        return violated(violation,
                        "attempt_history: workflow '%s' (%s) task '%s' is %s with %s last attempt",
                        where_wf, wf_workflow_state_name(run->state), where_task,
                        wf_task_state_name(task->state), open ? "an open" : "no open");
    }
    bool after_failure = task->state == WF_TASK_PENDING && task->attempts > 0;
    if (task->retry_pending != after_failure) {
        return violated(violation,
                        "attempt_history: workflow '%s' task '%s' is %s after %u attempts with "
                        "retry_pending %d",
                        where_wf, where_task, wf_task_state_name(task->state), task->attempts,
                        (int)task->retry_pending);
    }
    return true;
}

bool wf_inv_check_state(const struct wf_state *state, struct wf_violation *violation)
{
    assert(state != NULL);
    assert(violation != NULL);
    if (!check_gauges(state, violation)) {
        return false;
    }
    uint64_t clock = wf_state_clock_ms(state);
    for (uint32_t i = 0; i < wf_state_run_count(state); i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        if (!check_one_state(run, violation) || !check_run_history(state, run, violation)) {
            return false;
        }
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            if (!check_attempts_bounded(run, t, violation) ||
                !check_completed_started(run, t, violation) ||
                !check_deps_before_start(run, t, violation) ||
                !check_ready_once_unblocked(run, t, violation) ||
                !check_attempt_history(run, t, clock, violation)) {
                return false;
            }
        }
    }
    return true;
}

struct wf_inv_view *wf_inv_view_create(uint32_t runs_max)
{
    assert(runs_max >= 1 && runs_max <= WF_WORKFLOWS_MAX);
    struct wf_inv_view *view = calloc(1, sizeof(*view));
    if (view == NULL) {
        return NULL;
    }
    view->runs = calloc(runs_max, sizeof(*view->runs));
    if (view->runs == NULL) {
        free(view);
        return NULL;
    }
    view->runs_max = runs_max;
    return view;
}

void wf_inv_view_destroy(struct wf_inv_view *view)
{
    if (view == NULL) {
        return;
    }
    free(view->runs);
    free(view);
}

void wf_inv_capture(const struct wf_state *state, struct wf_inv_view *view)
{
    assert(state != NULL);
    assert(view != NULL);
    assert(wf_state_run_count(state) <= view->runs_max);
    view->run_count = wf_state_run_count(state);
    view->clock_ms = wf_state_clock_ms(state);
    view->applied_index = wf_state_applied_index(state);
    for (uint32_t i = 0; i < view->run_count; i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        struct wf_inv_run_view *out = &view->runs[i];
        memcpy(out->id, run->def.id, sizeof(out->id));
        out->state = run->state;
        out->task_count = run->def.task_count;
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            const struct wf_task_run *task = &run->tasks[t];
            out->tasks[t].state = task->state;
            out->tasks[t].attempts = task->attempts;
            for (uint32_t a = 0; a < WF_ATTEMPTS_MAX; a++) {
                out->tasks[t].outcomes[a] =
                    a < task->attempts ? task->attempt_log[a].outcome : WF_ATTEMPT_OPEN;
            }
        }
    }
}

/* Reachability over the workflow table (closure of its edges; 5 states, bounded loops). */
static bool workflow_reachable(enum wf_workflow_state from, enum wf_workflow_state to)
{
    if (from == to) {
        return true; /* almost every run between two entries: no closure to compute */
    }
    bool reach[WF_WORKFLOW_STATE_COUNT][WF_WORKFLOW_STATE_COUNT];
    for (int a = 0; a < WF_WORKFLOW_STATE_COUNT; a++) {
        for (int b = 0; b < WF_WORKFLOW_STATE_COUNT; b++) {
            reach[a][b] = a == b || wf_workflow_edge_legal((enum wf_workflow_state)a,
                                                           (enum wf_workflow_state)b);
        }
    }
    for (int k = 0; k < WF_WORKFLOW_STATE_COUNT; k++) { /* Floyd-Warshall closure */
        for (int a = 0; a < WF_WORKFLOW_STATE_COUNT; a++) {
            for (int b = 0; b < WF_WORKFLOW_STATE_COUNT; b++) {
                reach[a][b] = reach[a][b] || (reach[a][k] && reach[k][b]);
            }
        }
    }
    return reach[from][to];
}

static bool check_task_progress(const struct wf_inv_run_view *before_run, uint32_t t,
                                const struct wf_run *run, struct wf_violation *violation)
{
    const struct wf_inv_task_view *before = &before_run->tasks[t];
    const struct wf_task_run *after = &run->tasks[t];
    const char *task_id = run->def.tasks[t].id;
    bool terminal_changed = wf_task_state_terminal(before->state) && after->state != before->state;
    if (terminal_changed || after->attempts < before->attempts ||
        wf_task_progress(after->state, after->attempts) <
            wf_task_progress(before->state, before->attempts)) {
        return violated(
            violation,
            "no_regression: workflow '%s' task '%s' went from %s with %u attempts to %s "
            "with %u attempts",
            run->def.id, task_id, wf_task_state_name(before->state), before->attempts,
            wf_task_state_name(after->state), after->attempts);
    }
    for (uint32_t a = 0; a < before->attempts; a++) {
        enum wf_attempt_outcome was = before->outcomes[a];
        enum wf_attempt_outcome now = after->attempt_log[a].outcome;
        if (was != WF_ATTEMPT_OPEN && now != was) {
            return violated(violation,
                            "no_regression: workflow '%s' task '%s' attempt %u changed from %s "
                            "to %s after it closed",
                            run->def.id, task_id, a + 1, wf_attempt_outcome_name(was),
                            wf_attempt_outcome_name(now));
        }
    }
    return true;
}

bool wf_inv_check_progress(const struct wf_inv_view *before, const struct wf_state *after,
                           struct wf_violation *violation)
{
    assert(before != NULL);
    assert(after != NULL);
    if (wf_state_clock_ms(after) < before->clock_ms ||
        wf_state_applied_index(after) < before->applied_index) {
        return violated(violation, "no_regression: clock or applied index went backwards");
    }
    for (uint32_t i = 0; i < before->run_count; i++) {
        const struct wf_inv_run_view *was = &before->runs[i];
        const struct wf_run *run = wf_state_find(after, was->id);
        if (run == NULL || run->def.task_count != was->task_count) {
            return violated(violation, "no_regression: workflow '%s' disappeared or changed shape",
                            was->id);
        }
        if (!workflow_reachable(was->state, run->state)) {
            return violated(violation, "no_regression: workflow '%s' went from %s to %s", was->id,
                            wf_workflow_state_name(was->state), wf_workflow_state_name(run->state));
        }
        for (uint32_t t = 0; t < was->task_count; t++) {
            if (!check_task_progress(was, t, run, violation)) {
                return false;
            }
        }
    }
    return true;
}
