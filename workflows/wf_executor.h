/* The executor interface: what a worker receives for an attempt and the reports it sends back. */
#ifndef FLOWRAFT_WORKFLOWS_WF_EXECUTOR_H
#define FLOWRAFT_WORKFLOWS_WF_EXECUTOR_H

#include "workflows/wf_command.h"
#include "workflows/wf_limits.h"
#include "workflows/wf_state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Execution is separate from coordination (S3). Workers never touch replicated state: once a
 * start_attempt entry is applied, the leader builds the assignment from the applied state
 * (wf_assignment_from_state) and sends it to the worker named in it; the worker runs the task
 * and reports back with a command built by the wf_report_* helpers, which the leader stamps
 * (wf_command_stamp) and proposes. A report is accepted only if its token still names the task's
 * open attempt (fencing); a late or repeated report is refused and counted as a duplicate.
 *
 * Side effects are effectively-once through the idempotency key "<workflow id>/<task id>": it is
 * the same for every attempt of a task, so an external system that applies an effect once per
 * key turns a retried or duplicated execution into one effect (G5).
 */

/* The fencing token of an attempt. */
struct wf_token {
    char workflow_id[WF_ID_BYTES_MAX + 1];
    uint16_t task_index;
    uint32_t attempt; /* 1-based */
};

/* Everything a worker gets for one attempt: a plain value it may keep. */
struct wf_assignment {
    struct wf_token token;
    uint32_t worker_id;
    char task_id[WF_ID_BYTES_MAX + 1];
    char kind[WF_KIND_BYTES_MAX + 1];
    char idempotency_key[WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
    uint32_t params_len;
    char params[WF_PARAMS_BYTES_MAX + 1]; /* canonical JSON, NUL-terminated */
    uint64_t started_ms;                  /* dispatch time, when the lease started */
    uint64_t lease_deadline_ms;           /* report or extend before this */
    uint64_t lease_timeout_ms;            /* how far each extension moves the deadline */
};

/* Writes "<workflow id>/<task id>" into out (capacity WF_IDEMPOTENCY_KEY_BYTES_MAX + 1). */
void wf_idempotency_key(const char *workflow_id, const char *task_id, char *out);

/*
 * Builds the assignment of task `task_index` of `workflow_id` from applied state; false unless
 * the task is Running with an open attempt (call it right after applying the start_attempt).
 */
bool wf_assignment_from_state(const struct wf_state *state, const char *workflow_id,
                              uint16_t task_index, struct wf_assignment *out);

/* Reports, unstamped (timestamp 0): the leader stamps them when it proposes. */
void wf_report_completed(const struct wf_assignment *assignment, const void *output, size_t len,
                         struct wf_command *out);
void wf_report_failed(const struct wf_assignment *assignment, const char *error_kind,
                      struct wf_command *out);
void wf_report_extend(const struct wf_assignment *assignment, struct wf_command *out);

#endif
