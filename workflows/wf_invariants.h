/* Workflow invariants as pure checks, for the simulator to run after every step. */
#ifndef FLOWRAFT_WORKFLOWS_WF_INVARIANTS_H
#define FLOWRAFT_WORKFLOWS_WF_INVARIANTS_H

#include "workflows/wf_state.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The workflow invariants of the brief and issue 7 that a single replica's state can show.
 * (Across replicas: equal wf_state_hash at equal applied index; against the log: rebuild and
 * compare; against the side-effect ledger: the simulator.) Each check reads only; a false return
 * means a bug, described in `violation` as "<invariant>: <where>: <what>" for the first violation.
 */
struct wf_violation {
    char text[2 * WF_MESSAGE_BYTES_MAX];
};

/*
 * Checks, in order:
 *  one_state             every workflow is in exactly one valid state, the per-state gauges
 *                        agree with a recount, and the state agrees with its tasks (Completed iff
 *                        every task Completed; Failed iff some task Failed; otherwise none Failed)
 *  run_history           a run was submitted at an applied index and not after the clock; it
 *                        has an end time iff it ended, between its submission and the clock
 *  completed_started     no task is Completed without a started attempt that completed (exactly
 *                        one, the last, whose end is the task's completion time); only Completed
 *                        tasks have an output or a completion time
 *  deps_before_start     a task is Ready, Running, Completed or has attempts only after all its
 *                        dependencies Completed, and its first attempt started after they did
 *  ready_once_unblocked  in a live workflow no task still waits for dependencies that all
 *                        Completed (it became Ready in the entry that completed the last one)
 *  attempts_bounded      attempts never exceed the task's retry.max_attempts, and a task that
 *                        may still start (Ready, or with a retry pending) has an attempt left
 *  attempt_history       only the last attempt can be open, and it is open iff the task is
 *                        Running in a live workflow; earlier attempts failed or expired; times
 *                        are ordered and never after the state's clock; a failed attempt has
 *                        the worker's error kind (a valid name), an expired one lease_expired,
 *                        any other none; a retry pending follows a failed attempt
 */
bool wf_inv_check_state(const struct wf_state *state, struct wf_violation *violation);

/* A compact copy of every workflow, task and attempt state, to compare a later state against. */
struct wf_inv_task_view {
    enum wf_task_state state;
    uint32_t attempts;
    enum wf_attempt_outcome outcomes[WF_ATTEMPTS_MAX];
};

struct wf_inv_run_view {
    char id[WF_ID_BYTES_MAX + 1];
    enum wf_workflow_state state;
    uint32_t task_count;
    struct wf_inv_task_view tasks[WF_TASKS_MAX];
};

struct wf_inv_view {
    uint32_t runs_max;  /* capacity of runs */
    uint32_t run_count; /* invariant: <= runs_max */
    uint64_t clock_ms;
    uint64_t applied_index;
    struct wf_inv_run_view *runs; /* owned; canonical (submission) order */
};

/* Allocates a view for states of up to runs_max workflows (NULL if memory is short). */
struct wf_inv_view *wf_inv_view_create(uint32_t runs_max);
void wf_inv_view_destroy(struct wf_inv_view *view);
/* Captures `state` (whose run count must be <= view->runs_max). */
void wf_inv_capture(const struct wf_state *state, struct wf_inv_view *view);

/*
 * no_regression: nothing captured in `before` went backwards in `after`: runs never disappear;
 * the clock and applied index never decrease; a workflow only moves along the transition table
 * (so never out of a terminal state); a task's attempt counter never decreases, its progress
 * position (wf_task_progress) never decreases, terminal tasks never change; closed attempts never
 * change outcome.
 */
bool wf_inv_check_progress(const struct wf_inv_view *before, const struct wf_state *after,
                           struct wf_violation *violation);

#endif
