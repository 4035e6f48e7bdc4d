/* Observability: structured log lines, counter listings and per-attempt workflow histories. */
#include "workflows/wf_observe.h"

#include "workflows/wf_executor.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Text accumulated into a caller buffer with snprintf semantics (len counts what did not fit). */
struct text {
    char *buf;
    size_t cap;
    size_t len;
};

static void text_init(struct text *text, char *buf, size_t cap)
{
    assert(buf != NULL || cap == 0);
    *text = (struct text){ .buf = buf, .cap = cap };
    if (cap > 0) {
        buf[0] = '\0';
    }
}

static void text_add(struct text *text, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void text_add(struct text *text, const char *format, ...)
{
    bool room = text->len < text->cap;
    va_list args;
    va_start(args, format);
    int n = vsnprintf(room ? text->buf + text->len : NULL, room ? text->cap - text->len : 0, format,
                      args);
    va_end(args);
    assert(n >= 0);
    text->len += (size_t)n;
}

size_t wf_log_format(const struct wf_log_record *record, char *buf, size_t cap)
{
    assert(record != NULL);
    assert(record->event != NULL);
    struct text text;
    text_init(&text, buf, cap);
    text_add(&text, "wf event=%s index=%llu time_ms=%llu cmd=%s workflow=%s task=%s", record->event,
             (unsigned long long)record->index, (unsigned long long)record->time_ms,
             record->command, record->workflow, record->task);
    if (record->attempt > 0) {
        text_add(&text, " attempt=%u", record->attempt);
    }
    if (record->from != NULL && record->to != NULL) {
        text_add(&text, " from=%s to=%s", record->from, record->to);
    }
    if (record->cause != NULL) {
        text_add(&text, " %s=%s", record->reason != NULL ? "status" : "cause", record->cause);
    }
    if (record->reason != NULL) {
        char reason[WF_MESSAGE_BYTES_MAX];
        snprintf(reason, sizeof(reason), "%s", record->reason);
        for (char *c = reason; *c != '\0'; c++) {
            *c = *c == '"' ? '\'' : *c;
        }
        text_add(&text, " reason=\"%s\"", reason);
    }
    return text.len;
}

size_t wf_counters_format(const struct wf_counters *counters, char *buf, size_t cap)
{
    assert(counters != NULL);
    struct text text;
    text_init(&text, buf, cap);
    for (int s = 0; s < WF_WORKFLOW_STATE_COUNT; s++) {
        text_add(&text, "workflows_%s %llu\n", wf_workflow_state_name((enum wf_workflow_state)s),
                 (unsigned long long)counters->workflows_by_state[s]);
    }
    for (int s = 0; s < WF_TASK_STATE_COUNT; s++) {
        text_add(&text, "tasks_%s %llu\n", wf_task_state_name((enum wf_task_state)s),
                 (unsigned long long)counters->tasks_by_state[s]);
    }
    const struct {
        const char *name;
        uint64_t value;
    } rows[] = {
        { "workflows_submitted", counters->workflows_submitted },
        { "submits_idempotent", counters->submits_idempotent },
        { "attempts_started", counters->attempts_started },
        { "attempts_completed", counters->attempts_completed },
        { "attempts_failed", counters->attempts_failed },
        { "attempts_abandoned", counters->attempts_abandoned },
        { "lease_extensions", counters->lease_extensions },
        { "lease_expiries", counters->lease_expiries },
        { "retries_scheduled", counters->retries_scheduled },
        { "duplicates_detected", counters->duplicates_detected },
        { "commands_applied", counters->commands_applied },
        { "commands_rejected", counters->commands_rejected },
        { "commands_malformed", counters->commands_malformed },
        { "completion_ms_min", counters->completion_ms_min },
        { "completion_ms_max", counters->completion_ms_max },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        text_add(&text, "%s %llu\n", rows[i].name, (unsigned long long)rows[i].value);
    }
    uint64_t completed = counters->workflows_by_state[WF_WORKFLOW_COMPLETED];
    text_add(&text, "completion_ms_mean %llu\n",
             (unsigned long long)(completed > 0 ? counters->completion_ms_total / completed : 0));
    return text.len;
}

static void render_attempt(struct text *text, uint32_t number, const struct wf_attempt *attempt)
{
    text_add(text, "    attempt %u worker=%u started_ms=%llu deadline_ms=%llu", number,
             attempt->worker_id, (unsigned long long)attempt->started_ms,
             (unsigned long long)attempt->lease_deadline_ms);
    if (attempt->outcome == WF_ATTEMPT_OPEN) {
        text_add(text, " ended_ms=- outcome=open");
    } else {
        text_add(text, " ended_ms=%llu outcome=%s", (unsigned long long)attempt->ended_ms,
                 wf_attempt_outcome_name(attempt->outcome));
    }
    if (attempt->error_kind[0] != '\0') {
        text_add(text, " error=%s", attempt->error_kind);
    }
    text_add(text, " extensions=%u late_reports=%u\n", attempt->extensions, attempt->late_reports);
}

static void render_task(struct text *text, const struct wf_run *run, uint32_t t)
{
    const struct wf_task_def *def = &run->def.tasks[t];
    const struct wf_task_run *task = &run->tasks[t];
    char key[WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
    wf_idempotency_key(run->def.id, def->id, key);
    text_add(text, "  task %u %s kind=%s state=%s attempts=%u/%u key=%s", t, def->id, def->kind,
             wf_task_state_name(task->state), task->attempts, def->retry.max_attempts, key);
    if (task->retry_pending) {
        text_add(text, " retry_at_ms=%llu", (unsigned long long)task->retry_at_ms);
    }
    if (task->state == WF_TASK_COMPLETED) {
        text_add(text, " completed_ms=%llu output_bytes=%u", (unsigned long long)task->completed_ms,
                 (unsigned)task->output_len);
    }
    text_add(text, "\n");
    for (uint32_t a = 0; a < task->attempts; a++) {
        render_attempt(text, a + 1, &task->attempt_log[a]);
    }
}

size_t wf_history_render(const struct wf_state *state, const char *workflow_id, char *buf,
                         size_t cap)
{
    assert(state != NULL);
    assert(workflow_id != NULL);
    struct text text;
    text_init(&text, buf, cap);
    const struct wf_run *run = wf_state_find(state, workflow_id);
    if (run == NULL) {
        return 0;
    }
    text_add(&text, "workflow %s state=%s submit_index=%llu submitted_ms=%llu", run->def.id,
             wf_workflow_state_name(run->state), (unsigned long long)run->submit_index,
             (unsigned long long)run->submitted_ms);
    if (wf_workflow_state_terminal(run->state)) {
        text_add(&text, " ended_ms=%llu", (unsigned long long)run->ended_ms);
    }
    text_add(&text, " pauses=%u tasks=%u\n", run->pauses, run->def.task_count);
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        render_task(&text, run, t);
    }
    return text.len;
}
