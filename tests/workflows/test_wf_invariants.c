/* Tests for the invariant checks: each one catches a state corrupted to break exactly it. */
#include "tests/workflows/test_wf_driver.h"
#include "workflows/wf_state_impl.h" /* white-box: corrupt the state on purpose */

#include <criterion/criterion.h>
#include <string.h>

static struct wfd *driver;

/* hello-world, run until `until_ms` (150: fetch completed, transform running; UINT64_MAX: done). */
static struct wf_run *hello(uint64_t until_ms)
{
    driver = wfd_create(2, 4, NULL, NULL);
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, until_ms);
    cr_assert_str_empty(driver->violation, "%s", driver->violation);
    return &driver->state->runs[0];
}

static void teardown(void)
{
    wfd_destroy(driver);
    driver = NULL;
}

TestSuite(wf_invariants, .fini = teardown);

/* Sets a task's state keeping the gauges consistent, so only the intended invariant breaks. */
static void set_task_state(struct wf_run *run, uint32_t t, enum wf_task_state to)
{
    struct wf_counters *counters = &driver->state->counters;
    counters->tasks_by_state[run->tasks[t].state]--;
    counters->tasks_by_state[to]++;
    run->tasks[t].state = to;
}

static void set_workflow_state(struct wf_run *run, enum wf_workflow_state to)
{
    struct wf_counters *counters = &driver->state->counters;
    counters->workflows_by_state[run->state]--;
    counters->workflows_by_state[to]++;
    run->state = to;
}

static void expect_state_violation(const char *prefix)
{
    struct wf_violation violation;
    cr_assert_not(wf_inv_check_state(driver->state, &violation), "expected %s", prefix);
    cr_assert(strncmp(violation.text, prefix, strlen(prefix)) == 0, "expected %s, got %s", prefix,
              violation.text);
}

/* The checks pass on real states, mid-run and at the end. */
Test(wf_invariants, real_states_pass)
{
    hello(150);
    struct wf_violation violation;
    cr_assert(wf_inv_check_state(driver->state, &violation), "%s", violation.text);
    wfd_run(driver, UINT64_MAX);
    cr_assert(wf_inv_check_state(driver->state, &violation), "%s", violation.text);
}

/* one_state: a gauge that counts a task in two states, an out-of-range state, or a workflow
 * state that disagrees with its tasks. */
Test(wf_invariants, one_state)
{
    struct wf_run *run = hello(UINT64_MAX);
    driver->state->counters.tasks_by_state[WF_TASK_RUNNING]++;
    expect_state_violation("one_state: 1 tasks counted Running, 0 are");
    driver->state->counters.tasks_by_state[WF_TASK_RUNNING]--;
    run->state = (enum wf_workflow_state)7;
    expect_state_violation("one_state: workflow 'hello': invalid state 7");
    run->state = WF_WORKFLOW_COMPLETED;
    set_workflow_state(run, WF_WORKFLOW_RUNNING);
    expect_state_violation("one_state: workflow 'hello' is Running but all of its tasks completed");
}

/* completed_started: a Completed task with no started attempt, or with none that completed. */
Test(wf_invariants, completed_started)
{
    struct wf_run *run = hello(UINT64_MAX);
    run->tasks[2].attempts = 0;
    expect_state_violation("completed_started: workflow 'hello' task 'store' is Completed with 0 "
                           "attempts");
    run->tasks[2].attempts = 1;
    run->tasks[2].attempt_log[0].outcome = WF_ATTEMPT_FAILED;
    expect_state_violation("completed_started:");
}

/* deps_before_start: a task Ready while its dependency runs, or started before it completed. */
Test(wf_invariants, deps_before_start)
{
    struct wf_run *run = hello(150); /* transform running, store pending */
    set_task_state(run, 2, WF_TASK_READY);
    expect_state_violation("deps_before_start: workflow 'hello' task 'store' is Ready with 0 "
                           "attempts but its dependency 'transform' is Running");
    teardown();
    run = hello(UINT64_MAX);
    run->tasks[1].attempt_log[0].started_ms = run->tasks[0].completed_ms - 1;
    expect_state_violation("deps_before_start: workflow 'hello' task 'transform' started at");
}

/* attempts_bounded: more attempts than the policy's max_attempts. */
Test(wf_invariants, attempts_bounded)
{
    struct wf_run *run = hello(UINT64_MAX);
    run->tasks[0].attempts = 4;
    expect_state_violation("attempts_bounded: workflow 'hello' task 'fetch' has 4 attempts, "
                           "policy allows 3");
}

/* attempts_bounded: a task that may still start has an attempt left. */
Test(wf_invariants, attempts_bounded_ready_needs_an_attempt_left)
{
    struct wf_run *run = hello(150); /* transform running attempt 1 of 3 */
    struct wf_task_run *transform = &run->tasks[1];
    transform->attempt_log[0].outcome = WF_ATTEMPT_FAILED;
    strcpy(transform->attempt_log[0].error_kind, "boom");
    transform->attempt_log[0].ended_ms = driver->state->clock_ms;
    set_task_state(run, 1, WF_TASK_READY);
    struct wf_violation violation;
    cr_assert(wf_inv_check_state(driver->state, &violation), "%s", violation.text);
    run->def.tasks[1].retry.max_attempts = 1;
    expect_state_violation("attempts_bounded: workflow 'hello' task 'transform' is Ready after 1 "
                           "of 1 attempts");
}

/* ready_once_unblocked: a live workflow's task waiting on dependencies that all completed. */
Test(wf_invariants, ready_once_unblocked)
{
    struct wf_run *run = hello(50); /* fetch running, transform pending */
    struct wf_task_run *fetch = &run->tasks[0];
    fetch->attempt_log[0].outcome = WF_ATTEMPT_COMPLETED;
    fetch->attempt_log[0].ended_ms = driver->state->clock_ms;
    fetch->completed_ms = driver->state->clock_ms;
    set_task_state(run, 0, WF_TASK_COMPLETED);
    expect_state_violation("ready_once_unblocked: workflow 'hello' (Running) task 'transform' is "
                           "Pending with every dependency Completed");
    set_workflow_state(run, WF_WORKFLOW_CANCELLED); /* its tasks froze: no longer checked */
    struct wf_violation violation;
    cr_assert(wf_inv_check_state(driver->state, &violation), "%s", violation.text);
}

/* attempt_history: an open attempt that is not the last, a Running task without an open attempt,
 * a closed attempt ending before it started, a retry pending on a task that never ran, an error
 * kind its outcome cannot have. */
Test(wf_invariants, attempt_history)
{
    struct wf_run *run = hello(150);
    struct wf_task_run *transform = &run->tasks[1];
    transform->attempt_log[0].outcome = WF_ATTEMPT_EXPIRED;
    strcpy(transform->attempt_log[0].error_kind, WF_ERROR_KIND_LEASE_EXPIRED);
    transform->attempt_log[0].ended_ms = driver->state->clock_ms;
    expect_state_violation("attempt_history: workflow 'hello' (Running) task 'transform' is "
                           "Running with no open last attempt");
    transform->attempt_log[0].outcome = WF_ATTEMPT_OPEN;
    transform->attempt_log[0].ended_ms = 0;
    transform->attempt_log[0].error_kind[0] = '\0';
    transform->attempt_log[1] = transform->attempt_log[0];
    transform->attempts = 2;
    expect_state_violation("attempt_history: workflow 'hello' task 'transform' attempt 1 is open "
                           "but a later attempt started");
    transform->attempts = 1;
    struct wf_attempt *fetch = &run->tasks[0].attempt_log[0];
    struct wf_attempt kept = *fetch;
    fetch->started_ms = 50; /* ended 49, when the task completed: only the order is wrong */
    fetch->ended_ms = 49;
    run->tasks[0].completed_ms = 49;
    expect_state_violation("attempt_history: workflow 'hello' task 'fetch' attempt 1");
    *fetch = kept;
    run->tasks[0].completed_ms = kept.ended_ms;
    run->tasks[2].retry_pending = true;
    expect_state_violation("attempt_history: workflow 'hello' task 'store' is Pending after 0 "
                           "attempts with retry_pending 1");
    run->tasks[2].retry_pending = false;
    strcpy(run->tasks[0].attempt_log[0].error_kind, "timeout");
    expect_state_violation("attempt_history: workflow 'hello' task 'fetch' attempt 1 is completed "
                           "with error kind 'timeout'");
}

static void expect_progress_violation(const char *prefix)
{
    struct wf_violation violation;
    cr_assert_not(wf_inv_check_progress(driver->before, driver->state, &violation));
    cr_assert(strncmp(violation.text, prefix, strlen(prefix)) == 0, "expected %s, got %s", prefix,
              violation.text);
}

/* no_regression: terminal states never change, attempts and progress never go back, closed
 * attempts never change, runs never disappear. */
Test(wf_invariants, no_regression)
{
    struct wf_run *run = hello(UINT64_MAX);
    wf_inv_capture(driver->state, driver->before);
    struct wf_violation violation;
    cr_assert(wf_inv_check_progress(driver->before, driver->state, &violation));
    set_task_state(run, 2, WF_TASK_RUNNING);
    expect_progress_violation("no_regression: workflow 'hello' task 'store' went from Completed "
                              "with 1 attempts to Running with 1 attempts");
    set_task_state(run, 2, WF_TASK_COMPLETED);
    run->state = WF_WORKFLOW_RUNNING;
    expect_progress_violation("no_regression: workflow 'hello' went from Completed to Running");
    run->state = WF_WORKFLOW_COMPLETED;
    run->tasks[0].attempt_log[0].outcome = WF_ATTEMPT_EXPIRED;
    expect_progress_violation("no_regression: workflow 'hello' task 'fetch' attempt 1 changed "
                              "from completed to expired after it closed");
    run->tasks[0].attempt_log[0].outcome = WF_ATTEMPT_COMPLETED;
    driver->state->run_count = 0;
    expect_progress_violation("no_regression: workflow 'hello' disappeared");
    driver->state->run_count = 1;
    driver->state->clock_ms--;
    expect_progress_violation("no_regression: clock or applied index went backwards");
}

/* no_regression: a retry (Running -> Pending -> Ready, attempts kept, then a new attempt) is
 * progress; going back from Ready-for-attempt-2 to Running attempt 1 is not. */
Test(wf_invariants, retries_are_progress_not_regression)
{
    struct wf_run *run = hello(150);
    wf_inv_capture(driver->state, driver->before);
    struct wf_task_run *transform = &run->tasks[1];
    struct wf_violation violation;
    set_task_state(run, 1, WF_TASK_PENDING);
    transform->retry_pending = true;
    transform->attempt_log[0].outcome = WF_ATTEMPT_FAILED;
    strcpy(transform->attempt_log[0].error_kind, "boom");
    transform->attempt_log[0].ended_ms = driver->state->clock_ms;
    cr_assert(wf_inv_check_progress(driver->before, driver->state, &violation), "%s",
              violation.text);
    cr_assert(wf_inv_check_state(driver->state, &violation), "%s", violation.text);
    set_task_state(run, 1, WF_TASK_READY);
    transform->retry_pending = false;
    cr_assert(wf_inv_check_progress(driver->before, driver->state, &violation), "%s",
              violation.text);
    cr_assert(wf_inv_check_state(driver->state, &violation), "%s", violation.text);
    wf_inv_capture(driver->state, driver->before);
    set_task_state(run, 1, WF_TASK_RUNNING);
    expect_progress_violation("no_regression: workflow 'hello' task 'transform' went from Ready "
                              "with 1 attempts to Running with 1 attempts");
    set_task_state(run, 1, WF_TASK_PENDING);
    transform->attempts = 0;
    expect_progress_violation("no_regression: workflow 'hello' task 'transform' went from Ready "
                              "with 1 attempts to Pending with 0 attempts");
}
