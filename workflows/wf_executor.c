/* Assignments handed to workers and the report commands they send back. */
#include "workflows/wf_executor.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void wf_idempotency_key(const char *workflow_id, const char *task_id, char *out)
{
    assert(workflow_id != NULL);
    assert(task_id != NULL);
    int written = snprintf(out, WF_IDEMPOTENCY_KEY_BYTES_MAX + 1, "%s/%s", workflow_id, task_id);
    assert(written > 0 && written <= WF_IDEMPOTENCY_KEY_BYTES_MAX);
}

bool wf_assignment_from_state(const struct wf_state *state, const char *workflow_id,
                              uint16_t task_index, struct wf_assignment *out)
{
    assert(state != NULL);
    assert(out != NULL);
    const struct wf_run *run = wf_state_find(state, workflow_id);
    if (run == NULL || task_index >= run->def.task_count) {
        return false;
    }
    const struct wf_task_run *task = &run->tasks[task_index];
    if (task->state != WF_TASK_RUNNING || task->attempts == 0 ||
        task->attempt_log[task->attempts - 1].outcome != WF_ATTEMPT_OPEN) {
        return false;
    }
    const struct wf_task_def *def = &run->def.tasks[task_index];
    const struct wf_attempt *attempt = &task->attempt_log[task->attempts - 1];
    memset(out, 0, sizeof(*out));
    memcpy(out->token.workflow_id, run->def.id, sizeof(out->token.workflow_id));
    out->token.task_index = task_index;
    out->token.attempt = task->attempts;
    out->worker_id = attempt->worker_id;
    memcpy(out->task_id, def->id, sizeof(out->task_id));
    memcpy(out->kind, def->kind, sizeof(out->kind));
    wf_idempotency_key(run->def.id, def->id, out->idempotency_key);
    out->params_len = def->params_len;
    memcpy(out->params, def->params, sizeof(out->params));
    out->started_ms = attempt->started_ms;
    out->lease_deadline_ms = attempt->lease_deadline_ms;
    out->lease_timeout_ms = def->lease_timeout_ms;
    return true;
}

static void report(const struct wf_assignment *assignment, enum wf_command_type type,
                   struct wf_command *out)
{
    assert(assignment != NULL);
    assert(out != NULL);
    memset(out, 0, sizeof(*out));
    out->type = type;
    memcpy(out->workflow_id, assignment->token.workflow_id, sizeof(out->workflow_id));
    out->task_index = assignment->token.task_index;
    out->attempt = assignment->token.attempt;
}

void wf_report_completed(const struct wf_assignment *assignment, const void *output, size_t len,
                         struct wf_command *out)
{
    assert(output != NULL || len == 0);
    assert(len <= WF_OUTPUT_BYTES_MAX);
    report(assignment, WF_CMD_COMPLETE_ATTEMPT, out);
    out->output_len = (uint16_t)len;
    if (len > 0) {
        memcpy(out->output, output, len);
    }
}

void wf_report_failed(const struct wf_assignment *assignment, const char *error_kind,
                      struct wf_command *out)
{
    assert(error_kind != NULL);
    assert(strlen(error_kind) <= WF_ERROR_KIND_BYTES_MAX);
    report(assignment, WF_CMD_FAIL_ATTEMPT, out);
    memcpy(out->error_kind, error_kind, strlen(error_kind) + 1);
}

void wf_report_extend(const struct wf_assignment *assignment, struct wf_command *out)
{
    report(assignment, WF_CMD_EXTEND_LEASE, out);
}
