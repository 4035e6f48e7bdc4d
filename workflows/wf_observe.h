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
 * A workflow's history, task by task in definition order, attempt by attempt, e.g.
 *   workflow hello state=Completed submitted_ms=0 ended_ms=1400 pauses=0 tasks=3
 *     task 0 fetch kind=http state=Completed attempts=2/3 key=hello/fetch output_bytes=9
 *       attempt 1 worker=0 started_ms=0 deadline_ms=1000 ended_ms=1000 outcome=expired
 *         error=lease_expired extensions=0 late_reports=1
 *       attempt 2 ...
 * (each attempt on one line). Returns 0 and writes "" if the workflow does not exist.
 */
size_t wf_history_render(const struct wf_state *state, const char *workflow_id, char *buf,
                         size_t cap);

#endif
