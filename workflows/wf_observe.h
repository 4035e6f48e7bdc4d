/* Observability of the workflow engine: structured log lines, counters and per-attempt history. */
#ifndef FLOWRAFT_WORKFLOWS_WF_OBSERVE_H
#define FLOWRAFT_WORKFLOWS_WF_OBSERVE_H

#include "workflows/wf_state.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Every function here formats into a caller buffer with snprintf semantics: it returns the length
 * the full text needs (excluding the NUL), writes at most cap - 1 bytes plus a NUL, and prints
 * nothing anywhere. Output is deterministic: the same state gives the same bytes.
 */

/* One structured log record; the state machine emits one per transition and per rejection. */
struct wf_log_record {
    const char *event;    /* "transition" or "reject" */
    uint64_t index;       /* log index of the entry */
    uint64_t time_ms;     /* the state's clock after the entry's timestamp */
    const char *command;  /* wf_command_type_name */
    const char *workflow; /* workflow id, or "-" */
    const char *task;     /* task id, or "-" for workflow-level lines */
    uint32_t attempt;     /* the attempt concerned; 0 for none */
    const char *from;     /* state name before (transition; "-" when created) */
    const char *to;       /* state name after (transition) */
    const char *cause;    /* transition: the table's event name; reject: the status name */
    const char *reason;   /* reject: why (quoted in the line); NULL otherwise */
};

/*
 * Formats as one line without a trailing newline, logfmt style, for example
 *   wf event=transition index=7 time_ms=1200 cmd=complete_attempt workflow=hello task=fetch
 *   attempt=1 from=Running to=Completed cause=complete
 * (on one line). Double quotes inside the reason become single quotes.
 */
size_t wf_log_format(const struct wf_log_record *record, char *buf, size_t cap);

/* Counters as "name value" lines, including the mean submit-to-completion time. */
size_t wf_counters_format(const struct wf_counters *counters, char *buf, size_t cap);

/*
 * A workflow's history, task by task in definition order, attempt by attempt. For example (each
 * attempt is one line, wrapped here):
 *   workflow payments state=Completed submit_index=1 submitted_ms=0 ended_ms=2000 pauses=0 tasks=3
 *     task 1 charge kind=payment_charge state=Completed attempts=3/4 key=payments/charge
 *       completed_ms=1900 output_bytes=19
 *       attempt 1 worker=0 started_ms=100 deadline_ms=1100 ended_ms=200 outcome=failed
 *         error=gateway_timeout extensions=0 late_reports=0
 *       attempt 2 worker=0 started_ms=400 deadline_ms=1400 ended_ms=1400 outcome=expired
 *         error=lease_expired extensions=0 late_reports=1
 *       attempt 3 worker=1 started_ms=1800 deadline_ms=2800 ended_ms=1900 outcome=completed
 *         extensions=0 late_reports=0
 * An open attempt shows ended_ms=- outcome=open; a pending retry shows retry_at_ms on its task.
 * Returns 0 and writes "" if the workflow does not exist.
 */
size_t wf_history_render(const struct wf_state *state, const char *workflow_id, char *buf,
                         size_t cap);

#endif
