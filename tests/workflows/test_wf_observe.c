/* Tests for observability: one log line per transition, counters, and attempt-by-attempt history.
 */
#include "tests/workflows/test_wf_driver.h"
#include "workflows/wf_observe.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define LINES_MAX 256

struct lines {
    uint32_t count;
    char text[LINES_MAX][WF_LOG_LINE_BYTES_MAX];
};

static void collect(void *context, const char *line, size_t len)
{
    struct lines *lines = context;
    cr_assert_lt(lines->count, LINES_MAX);
    cr_assert_eq(strlen(line), len);
    cr_assert_null(strchr(line, '\n'), "one line each");
    memcpy(lines->text[lines->count++], line, len + 1);
}

static uint32_t count_prefix(const struct lines *lines, const char *prefix)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < lines->count; i++) {
        n += strncmp(lines->text[i], prefix, strlen(prefix)) == 0;
    }
    return n;
}

static bool has_line(const struct lines *lines, const char *line)
{
    for (uint32_t i = 0; i < lines->count; i++) {
        if (strcmp(lines->text[i], line) == 0) {
            return true;
        }
    }
    return false;
}

/* S5: every applied transition is logged as exactly one structured line, and every rejection as
 * one line with its status and reason. */
Test(wf_observe, one_line_per_transition)
{
    struct lines *lines = calloc(1, sizeof(*lines));
    struct wfd *driver = wfd_create(2, 4, collect, lines);
    wfd_script(driver, (struct wfd_script){
                           .task_id = "fetch", .attempt = 1, .action = WFD_COMPLETE_TWICE });
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    cr_assert_str_empty(driver->violation);
    uint32_t transitions = count_prefix(lines, "wf event=transition ");
    uint32_t rejects = count_prefix(lines, "wf event=reject ");
    cr_assert_eq(transitions, driver->transitions);
    cr_assert_eq(transitions, 11, "create, 3 x (ready, start, complete), completed");
    cr_assert_eq(rejects, 1);
    cr_assert_eq(lines->count, transitions + rejects);
    cr_assert(has_line(lines, "wf event=transition index=1 time_ms=0 cmd=submit workflow=hello "
                              "task=- from=- to=Running cause=submit"));
    cr_assert(has_line(lines, "wf event=transition index=2 time_ms=0 cmd=start_attempt "
                              "workflow=hello task=fetch attempt=1 from=Ready to=Running "
                              "cause=start"));
    cr_assert(has_line(lines, "wf event=transition index=3 time_ms=100 cmd=complete_attempt "
                              "workflow=hello task=transform from=Pending to=Ready "
                              "cause=deps_done"));
    cr_assert(has_line(lines, "wf event=reject index=4 time_ms=100 cmd=complete_attempt "
                              "workflow=hello task=fetch attempt=1 status=stale reason=\"token "
                              "(hello, fetch, 1) is not the open attempt: attempt 1 completed, "
                              "task has 1 attempts\""),
              "%s", lines->text[4]);
    wfd_destroy(driver);
    free(lines);
}

/* S5: the counters count workflows and tasks by state, attempts, retries, expiries, duplicates
 * and submit-to-completion time, identically on every replica (they are replicated state). */
Test(wf_observe, counters)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver,
               (struct wfd_script){ .task_id = "charge", .attempt = 1, .duration_ms = 5000 });
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    cr_assert_str_empty(driver->violation);
    struct wf_counters c;
    wf_state_counters(driver->state, &c);
    cr_assert_eq(c.workflows_by_state[WF_WORKFLOW_COMPLETED], 2);
    cr_assert_eq(c.tasks_by_state[WF_TASK_COMPLETED], 6);
    cr_assert_eq(c.attempts_started, 7);
    cr_assert_eq(c.attempts_completed, 6);
    cr_assert_eq(c.lease_expiries, 1);
    cr_assert_eq(c.retries_scheduled, 1);
    cr_assert_eq(c.duplicates_detected, 1);
    cr_assert_eq(c.completion_ms_min, 300, "hello: three 100 ms tasks");
    /* payments: reserve 0-100, charge expires at 1100, retry at 1300, done 1400, ship 1500 */
    cr_assert_eq(c.completion_ms_max, 1500);
    cr_assert_eq(c.completion_ms_total, 1800);
    char text[4096];
    size_t len = wf_counters_format(&c, text, sizeof(text));
    cr_assert_eq(len, strlen(text));
    cr_assert_not_null(strstr(text, "workflows_Completed 2\n"));
    cr_assert_not_null(strstr(text, "duplicates_detected 1\n"));
    cr_assert_not_null(strstr(text, "lease_expiries 1\n"));
    cr_assert_not_null(strstr(text, "completion_ms_mean 900\n"));
    struct wf_state *rebuilt = wfd_rebuild(driver, driver->log_count);
    struct wf_counters replica;
    wf_state_counters(rebuilt, &replica);
    cr_assert_eq(memcmp(&c, &replica, sizeof(c)), 0);
    wf_state_destroy(rebuilt);
    wfd_destroy(driver);
}

/* S5 / G5: the history shows every attempt with worker, times, outcome and error: retries and
 * late reports are never invisible. */
Test(wf_observe, history_attempt_by_attempt)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver, (struct wfd_script){ .task_id = "charge",
                                            .attempt = 1,
                                            .action = WFD_FAIL,
                                            .error_kind = "gateway_timeout" });
    wfd_script(driver,
               (struct wfd_script){ .task_id = "charge", .attempt = 2, .duration_ms = 5000 });
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    cr_assert_str_empty(driver->violation);
    char text[8192];
    size_t len = wf_history_render(driver->state, "payments", text, sizeof(text));
    cr_assert_eq(len, strlen(text));
    const char *expected =
        "workflow payments state=Completed submit_index=1 submitted_ms=0 ended_ms=2000 pauses=0 "
        "tasks=3\n"
        "  task 0 reserve kind=inventory_reserve state=Completed attempts=1/3 "
        "key=payments/reserve completed_ms=100 output_bytes=20\n"
        "    attempt 1 worker=0 started_ms=0 deadline_ms=1000 ended_ms=100 outcome=completed "
        "extensions=0 late_reports=0\n"
        "  task 1 charge kind=payment_charge state=Completed attempts=3/4 key=payments/charge "
        "completed_ms=1900 output_bytes=19\n"
        "    attempt 1 worker=0 started_ms=100 deadline_ms=1100 ended_ms=200 outcome=failed "
        "error=gateway_timeout extensions=0 late_reports=0\n"
        "    attempt 2 worker=0 started_ms=400 deadline_ms=1400 ended_ms=1400 outcome=expired "
        "error=lease_expired extensions=0 late_reports=1\n"
        "    attempt 3 worker=1 started_ms=1800 deadline_ms=2800 ended_ms=1900 outcome=completed "
        "extensions=0 late_reports=0\n";
    cr_assert(strncmp(text, expected, strlen(expected)) == 0, "got:\n%s", text);
    cr_assert_not_null(strstr(text, "  task 2 ship "));
    /* backoffs: 200 ms after attempt 1 (200 -> 400), 400 ms after attempt 2 (1400 -> 1800) */
    /* snprintf semantics: the size is reported even when the buffer is short */
    char small[16];
    cr_assert_eq(wf_history_render(driver->state, "payments", small, sizeof(small)), len);
    cr_assert_eq(strlen(small), sizeof(small) - 1);
    cr_assert_eq(wf_history_render(driver->state, "payments", NULL, 0), len);
    cr_assert_eq(wf_history_render(driver->state, "nope", text, sizeof(text)), 0);
    cr_assert_str_empty(text);
    wfd_destroy(driver);
}

/* Log format: quotes in a reason cannot break the line's structure. */
Test(wf_observe, log_format_escapes_reason)
{
    struct wf_log_record record = {
        .event = "reject",
        .index = 9,
        .time_ms = 5,
        .command = "pause",
        .workflow = "w",
        .task = "-",
        .cause = "illegal",
        .reason = "say \"no\"",
    };
    char line[WF_LOG_LINE_BYTES_MAX];
    size_t len = wf_log_format(&record, line, sizeof(line));
    cr_assert_str_eq(line, "wf event=reject index=9 time_ms=5 cmd=pause workflow=w task=- "
                           "status=illegal reason=\"say 'no'\"");
    cr_assert_eq(len, strlen(line));
}
