/* Task, workflow and attempt states, and the one table of legal transitions between them. */
#ifndef FLOWRAFT_WORKFLOWS_WF_TRANSITIONS_H
#define FLOWRAFT_WORKFLOWS_WF_TRANSITIONS_H

#include "workflows/wf_command.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Task lifecycle (every arrow is a row of the table in wf_transitions.c; nothing else is legal):
 *
 *   Pending --deps_done--> Ready --start--> Running --complete--> Completed
 *      ^                                     |  |  \--fail_final / expire_final--> Failed
 *      \----retry_due---- Pending <--fail_retry / expire_retry
 *                                            \--extend--> Running (the lease moves, state stays)
 *
 * Pending means "not runnable yet": waiting for its dependencies (attempts == 0) or for its retry
 * backoff after a failed or expired attempt (retry_pending). Ready means runnable, waiting for a
 * worker. Completed and Failed are terminal.
 *
 * The attempt counter: wf_task_run.attempts counts attempts started; `start` increments it and
 * nothing else changes it. invariant: attempts <= retry.max_attempts.
 */
enum wf_task_state {
    WF_TASK_PENDING = 0,
    WF_TASK_READY = 1,
    WF_TASK_RUNNING = 2,
    WF_TASK_COMPLETED = 3,
    WF_TASK_FAILED = 4,
};
#define WF_TASK_STATE_COUNT 5

enum wf_task_event {
    WF_TASK_EV_DEPS_DONE = 0,    /* every dependency is Completed */
    WF_TASK_EV_RETRY_DUE = 1,    /* schedule retry: the backoff has elapsed */
    WF_TASK_EV_START = 2,        /* start attempt: dispatched to a worker */
    WF_TASK_EV_EXTEND = 3,       /* extend lease */
    WF_TASK_EV_COMPLETE = 4,     /* complete attempt */
    WF_TASK_EV_FAIL_RETRY = 5,   /* fail attempt, retryable kind, attempts left */
    WF_TASK_EV_FAIL_FINAL = 6,   /* fail attempt, non-retryable kind or no attempts left */
    WF_TASK_EV_EXPIRE_RETRY = 7, /* expire lease, attempts left */
    WF_TASK_EV_EXPIRE_FINAL = 8, /* expire lease, no attempts left (or lease_expired is final) */
};
#define WF_TASK_EVENT_COUNT 9

/*
 * Workflow lifecycle: submit creates a run in Running (WF_WORKFLOW_INITIAL). Running <-> Paused by
 * pause / resume; from either, all_completed -> Completed, task_failed -> Failed,
 * cancel -> Cancelled. Completed, Failed and Cancelled are terminal.
 */
enum wf_workflow_state {
    WF_WORKFLOW_RUNNING = 0,
    WF_WORKFLOW_PAUSED = 1,
    WF_WORKFLOW_COMPLETED = 2,
    WF_WORKFLOW_FAILED = 3,
    WF_WORKFLOW_CANCELLED = 4,
};
#define WF_WORKFLOW_STATE_COUNT 5
#define WF_WORKFLOW_INITIAL     WF_WORKFLOW_RUNNING

enum wf_workflow_event {
    WF_WORKFLOW_EV_PAUSE = 0,
    WF_WORKFLOW_EV_RESUME = 1,
    WF_WORKFLOW_EV_CANCEL = 2,
    WF_WORKFLOW_EV_ALL_COMPLETED = 3, /* the last task completed */
    WF_WORKFLOW_EV_TASK_FAILED = 4,   /* a task failed terminally */
};
#define WF_WORKFLOW_EVENT_COUNT 5

/* How an attempt ended. Open -> exactly one of the others, once. */
enum wf_attempt_outcome {
    WF_ATTEMPT_OPEN = 0,      /* dispatched, lease running */
    WF_ATTEMPT_COMPLETED = 1, /* the worker reported success */
    WF_ATTEMPT_FAILED = 2,    /* the worker reported an error kind */
    WF_ATTEMPT_EXPIRED = 3,   /* the leader expired its lease */
    WF_ATTEMPT_ABANDONED = 4, /* the workflow ended (failed, cancelled) while it ran */
};
#define WF_ATTEMPT_OUTCOME_COUNT 5

/* The table: true and *to set if (from, event) is a row; false for anything else. */
bool wf_task_next(enum wf_task_state from, enum wf_task_event event, enum wf_task_state *to);
bool wf_workflow_next(enum wf_workflow_state from, enum wf_workflow_event event,
                      enum wf_workflow_state *to);

/* True if some event moves `from` to `to` (from != to, or the extend self-loop). */
bool wf_task_edge_legal(enum wf_task_state from, enum wf_task_state to);
bool wf_workflow_edge_legal(enum wf_workflow_state from, enum wf_workflow_state to);

/*
 * Which commands a workflow accepts in each state (before task-level rules apply). Reports from
 * workers (extend, complete, fail) and lease expiry are accepted while Paused, so work already
 * dispatched is not lost; new dispatches (start, schedule retry) wait for resume.
 */
bool wf_command_allowed(enum wf_workflow_state state, enum wf_command_type type);

bool wf_task_state_terminal(enum wf_task_state state);
bool wf_workflow_state_terminal(enum wf_workflow_state state);

/*
 * A task's progress position, non-decreasing over its life (the "no state regresses" invariant):
 * Pending and Ready with n attempts started come before Running attempt n+1, which comes before
 * Pending-after-attempt n+1; terminal states come last. Retries therefore move forward.
 */
uint64_t wf_task_progress(enum wf_task_state state, uint32_t attempts);

const char *wf_task_state_name(enum wf_task_state state);
const char *wf_task_event_name(enum wf_task_event event);
const char *wf_workflow_state_name(enum wf_workflow_state state);
const char *wf_workflow_event_name(enum wf_workflow_event event);
const char *wf_attempt_outcome_name(enum wf_attempt_outcome outcome);

#endif
