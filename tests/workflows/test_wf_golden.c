/* Golden paths of issue 7 at the state-machine level: coordinator + scripted workers, no Raft. */
#include "tests/workflows/test_wf_driver.h"

#include <criterion/criterion.h>
#include <string.h>

static const struct wf_task_run *task_of(const struct wfd *driver, const char *workflow_id,
                                         const char *task_id)
{
    const struct wf_run *run = wf_state_find(driver->state, workflow_id);
    cr_assert_not_null(run, "workflow %s", workflow_id);
    int t = wf_def_task_index(&run->def, task_id);
    cr_assert_geq(t, 0, "task %s", task_id);
    return &run->tasks[t];
}

static enum wf_workflow_state workflow_state(const struct wfd *driver, const char *workflow_id)
{
    const struct wf_run *run = wf_state_find(driver->state, workflow_id);
    cr_assert_not_null(run);
    return run->state;
}

static uint64_t projection(const struct wfd *driver, const char *workflow_id)
{
    return wf_run_projection_hash(wf_state_find(driver->state, workflow_id));
}

/* Runs an example with no faults and returns its projection hash. */
static uint64_t fault_free_projection(const char *example, const char *workflow_id)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    cr_assert_eq(wfd_submit_example(driver, example), WF_OK);
    wfd_run(driver, UINT64_MAX);
    cr_assert_str_empty(driver->violation, "%s", driver->violation);
    cr_assert_eq(workflow_state(driver, workflow_id), WF_WORKFLOW_COMPLETED);
    uint64_t hash = projection(driver, workflow_id);
    wfd_destroy(driver);
    return hash;
}

static void assert_clean_completion(const struct wfd *driver, const char *workflow_id)
{
    cr_assert_str_empty(driver->violation, "%s", driver->violation);
    cr_assert_eq(workflow_state(driver, workflow_id), WF_WORKFLOW_COMPLETED);
}

/* Invariants (every step): one state, no regression, deps before start; hello-world runs its
 * three tasks strictly in order, each once, and each side effect applies once. */
Test(wf_golden, hello_world_linear)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "hello");
    const char *order[] = { "fetch", "transform", "store" };
    for (int i = 0; i < 3; i++) {
        const struct wf_task_run *task = task_of(driver, "hello", order[i]);
        cr_assert_eq(task->state, WF_TASK_COMPLETED);
        cr_assert_eq(task->attempts, 1);
        cr_assert_eq(task->attempt_log[0].outcome, WF_ATTEMPT_COMPLETED);
        if (i > 0) {
            const struct wf_task_run *before = task_of(driver, "hello", order[i - 1]);
            cr_assert_geq(task->attempt_log[0].started_ms, before->completed_ms);
        }
    }
    cr_assert_eq(driver->executions, 3);
    cr_assert_eq(driver->effect_count, 3);
    cr_assert_eq(driver->duplicates, 0);
    const struct wf_task_run *store = task_of(driver, "hello", "store");
    cr_assert_eq(store->output_len, strlen("out:hello/store"));
    cr_assert_eq(memcmp(store->output, "out:hello/store", store->output_len), 0);
    wfd_destroy(driver);
}

/* Invariant: a task starts only after all its dependencies completed; independent tasks run in
 * parallel when workers are free (fan-out), the join waits for both (fan-in). */
Test(wf_golden, diamond_fan_out_fan_in)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver, (struct wfd_script){ .task_id = "c", .attempt = 1, .duration_ms = 300 });
    cr_assert_eq(wfd_submit_example(driver, "diamond.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "diamond");
    const struct wf_task_run *a = task_of(driver, "diamond", "a");
    const struct wf_task_run *b = task_of(driver, "diamond", "b");
    const struct wf_task_run *c = task_of(driver, "diamond", "c");
    const struct wf_task_run *d = task_of(driver, "diamond", "d");
    cr_assert_eq(b->attempt_log[0].started_ms, c->attempt_log[0].started_ms, "b, c in parallel");
    cr_assert_geq(b->attempt_log[0].started_ms, a->completed_ms);
    cr_assert_neq(b->attempt_log[0].worker_id, c->attempt_log[0].worker_id);
    cr_assert_geq(d->attempt_log[0].started_ms, c->completed_ms);
    cr_assert_gt(c->completed_ms, b->completed_ms, "the join waited for the slower branch");
    wfd_destroy(driver);
}

/* G1 + G5: task 2 fails once then succeeds. The retry is visible in the history and the state
 * hash, yet the workflow projection equals the fault-free run's; the backoff is respected. */
Test(wf_golden, retry_once_same_projection_as_fault_free)
{
    uint64_t fault_free = fault_free_projection("retry.json", "payments");
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver, (struct wfd_script){ .task_id = "charge",
                                            .attempt = 1,
                                            .action = WFD_FAIL,
                                            .error_kind = "gateway_timeout" });
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "payments");
    const struct wf_task_run *charge = task_of(driver, "payments", "charge");
    cr_assert_eq(charge->attempts, 2);
    cr_assert_eq(charge->attempt_log[0].outcome, WF_ATTEMPT_FAILED);
    cr_assert_str_eq(charge->attempt_log[0].error_kind, "gateway_timeout");
    cr_assert_eq(charge->attempt_log[1].outcome, WF_ATTEMPT_COMPLETED);
    cr_assert_geq(charge->attempt_log[1].started_ms, charge->attempt_log[0].ended_ms + 200,
                  "initial backoff 200 ms");
    cr_assert_eq(projection(driver, "payments"), fault_free);
    struct wf_counters counters;
    wf_state_counters(driver->state, &counters);
    cr_assert_eq(counters.retries_scheduled, 1);
    cr_assert_eq(counters.attempts_failed, 1);
    cr_assert_eq(driver->effect_count, 3);
    wfd_destroy(driver);
}

/* Retry policy: a non-retryable error kind fails the task and the workflow at once; dependents
 * never start. */
Test(wf_golden, non_retryable_error_fails_workflow)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver, (struct wfd_script){ .task_id = "charge",
                                            .attempt = 1,
                                            .action = WFD_FAIL,
                                            .error_kind = "card_declined" });
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    cr_assert_str_empty(driver->violation, "%s", driver->violation);
    cr_assert_eq(workflow_state(driver, "payments"), WF_WORKFLOW_FAILED);
    cr_assert_eq(task_of(driver, "payments", "charge")->state, WF_TASK_FAILED);
    cr_assert_eq(task_of(driver, "payments", "charge")->attempts, 1);
    cr_assert_eq(task_of(driver, "payments", "ship")->state, WF_TASK_PENDING);
    cr_assert_eq(task_of(driver, "payments", "ship")->attempts, 0);
    wfd_destroy(driver);
}

/* Invariant: attempts never exceed the policy (charge allows 4); then the workflow fails. */
Test(wf_golden, attempts_stop_at_max_attempts)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    for (uint32_t a = 1; a <= 5; a++) {
        wfd_script(driver, (struct wfd_script){ .task_id = "charge",
                                                .attempt = a,
                                                .action = WFD_FAIL,
                                                .error_kind = "timeout" });
    }
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    cr_assert_str_empty(driver->violation, "%s", driver->violation);
    const struct wf_task_run *charge = task_of(driver, "payments", "charge");
    cr_assert_eq(charge->attempts, 4);
    cr_assert_eq(charge->state, WF_TASK_FAILED);
    cr_assert_eq(workflow_state(driver, "payments"), WF_WORKFLOW_FAILED);
    /* backoffs 200, 400, 800 between the four attempts */
    for (uint32_t a = 1; a < 4; a++) {
        uint64_t gap = charge->attempt_log[a].started_ms - charge->attempt_log[a - 1].ended_ms;
        cr_assert_geq(gap, 200ULL << (a - 1), "gap before attempt %u", a + 1);
    }
    wfd_destroy(driver);
}

/* G1: pause then resume gives the same final projection; nothing is dispatched while paused, but
 * the attempt already running may finish. */
Test(wf_golden, pause_then_resume_same_projection)
{
    uint64_t fault_free = fault_free_projection("hello.json", "hello");
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    struct wf_command pause = { .type = WF_CMD_PAUSE, .workflow_id = "hello" };
    struct wf_command resume = { .type = WF_CMD_RESUME, .workflow_id = "hello" };
    wfd_inject(driver, 150, &pause);
    wfd_inject(driver, 2000, &resume);
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "hello");
    const struct wf_task_run *transform = task_of(driver, "hello", "transform");
    const struct wf_task_run *store = task_of(driver, "hello", "store");
    cr_assert_lt(transform->completed_ms, 2000, "the running attempt finished while paused");
    cr_assert_geq(store->attempt_log[0].started_ms, 2000, "no dispatch while paused");
    cr_assert_eq(wf_state_find(driver->state, "hello")->pauses, 1);
    cr_assert_eq(projection(driver, "hello"), fault_free);
    wfd_destroy(driver);
}

/* G5: a worker crashes mid-task; the lease expires and attempt 2 gets the same idempotency key,
 * so the side effect applies once. */
Test(wf_golden, worker_crash_retries_with_same_idempotency_key)
{
    uint64_t fault_free = fault_free_projection("hello.json", "hello");
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver,
               (struct wfd_script){
                   .task_id = "transform", .attempt = 1, .action = WFD_CRASH, .duration_ms = 50 });
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "hello");
    const struct wf_task_run *transform = task_of(driver, "hello", "transform");
    cr_assert_eq(transform->attempts, 2);
    cr_assert_eq(transform->attempt_log[0].outcome, WF_ATTEMPT_EXPIRED);
    cr_assert_str_eq(transform->attempt_log[0].error_kind, WF_ERROR_KIND_LEASE_EXPIRED);
    cr_assert_eq(transform->attempt_log[0].ended_ms, transform->attempt_log[0].lease_deadline_ms,
                 "expired exactly at its deadline, measured from dispatch");
    const struct wf_assignment *first = NULL;
    const struct wf_assignment *second = NULL;
    for (uint32_t i = 0; i < driver->assignment_count; i++) {
        const struct wf_assignment *a = &driver->assignments[i];
        if (strcmp(a->task_id, "transform") == 0) {
            *(a->token.attempt == 1 ? &first : &second) = a;
        }
    }
    cr_assert_not_null(first);
    cr_assert_not_null(second);
    cr_assert_eq(second->token.attempt, 2);
    cr_assert_str_eq(first->idempotency_key, "hello/transform");
    cr_assert_str_eq(second->idempotency_key, first->idempotency_key);
    cr_assert_eq(driver->effect_count, 3);
    cr_assert_eq(projection(driver, "hello"), fault_free);
    wfd_destroy(driver);
}

/* Fencing (G5): a completion that arrives after its lease expired and a retry started is
 * rejected, counted as a detected duplicate, and changes no state; the ledger applies once. */
Test(wf_golden, stale_completion_after_retry_is_rejected_and_counted)
{
    uint64_t fault_free = fault_free_projection("retry.json", "payments");
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver,
               (struct wfd_script){ .task_id = "charge", .attempt = 1, .duration_ms = 5000 });
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "payments");
    const struct wf_task_run *charge = task_of(driver, "payments", "charge");
    cr_assert_eq(charge->attempts, 2);
    cr_assert_eq(charge->attempt_log[0].outcome, WF_ATTEMPT_EXPIRED);
    cr_assert_eq(charge->attempt_log[0].late_reports, 1);
    cr_assert_eq(charge->attempt_log[1].outcome, WF_ATTEMPT_COMPLETED);
    cr_assert_lt(charge->attempt_log[1].ended_ms, charge->attempt_log[0].started_ms + 5000,
                 "attempt 2 completed before attempt 1's late report");
    struct wf_counters counters;
    wf_state_counters(driver->state, &counters);
    cr_assert_eq(counters.duplicates_detected, 1);
    cr_assert_eq(driver->duplicates, 1);
    cr_assert_eq(driver->status_counts[WF_REJECT_STALE], 1);
    cr_assert_eq(driver->executions, 4, "the slow worker executed too");
    cr_assert_eq(driver->effect_count, 3, "but the effect applied once per key");
    cr_assert_eq(projection(driver, "payments"), fault_free);
    wfd_destroy(driver);
}

/* Fencing: a worker reporting the same completion twice; the second is a detected duplicate. */
Test(wf_golden, double_report_is_a_detected_duplicate)
{
    uint64_t fault_free = fault_free_projection("hello.json", "hello");
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver, (struct wfd_script){
                           .task_id = "fetch", .attempt = 1, .action = WFD_COMPLETE_TWICE });
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "hello");
    cr_assert_eq(driver->duplicates, 1);
    cr_assert_eq(task_of(driver, "hello", "fetch")->attempt_log[0].late_reports, 1);
    cr_assert_eq(projection(driver, "hello"), fault_free);
    wfd_destroy(driver);
}

/* Leases: heartbeats extend the lease from the time they are applied, so a long attempt that
 * keeps extending never expires. */
Test(wf_golden, heartbeats_keep_a_long_attempt_alive)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver,
               (struct wfd_script){
                   .task_id = "charge", .attempt = 1, .duration_ms = 2500, .heartbeat_ms = 400 });
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "payments");
    const struct wf_task_run *charge = task_of(driver, "payments", "charge");
    cr_assert_eq(charge->attempts, 1);
    cr_assert_eq(charge->attempt_log[0].extensions, 6);
    struct wf_counters counters;
    wf_state_counters(driver->state, &counters);
    cr_assert_eq(counters.lease_expiries, 0);
    cr_assert_eq(counters.lease_extensions, 6);
    wfd_destroy(driver);
}

/* S3: after a failover the new leader proposes nothing until ready, then grants running attempts
 * a grace period: an attempt whose lease ran out during the election is not retried. */
Test(wf_golden, failover_grace_period_prevents_mass_retry)
{
    /* Without a failover, a's 6 s attempt overruns its 5 s lease and is retried. */
    struct wfd *plain = wfd_create(2, 4, NULL, NULL);
    wfd_script(plain, (struct wfd_script){ .task_id = "a", .attempt = 1, .duration_ms = 6000 });
    cr_assert_eq(wfd_submit_example(plain, "diamond.json"), WF_OK);
    wfd_run(plain, UINT64_MAX);
    assert_clean_completion(plain, "diamond");
    cr_assert_eq(task_of(plain, "diamond", "a")->attempts, 2);
    wfd_destroy(plain);

    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    wfd_script(driver, (struct wfd_script){ .task_id = "a", .attempt = 1, .duration_ms = 6000 });
    cr_assert_eq(wfd_submit_example(driver, "diamond.json"), WF_OK);
    wfd_run(driver, 4000);
    wfd_failover(driver, 500, 3000); /* ready at 4500, grace until 7500 */
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "diamond");
    const struct wf_task_run *a = task_of(driver, "diamond", "a");
    cr_assert_eq(a->attempts, 1, "the grace period kept attempt 1");
    cr_assert_eq(a->completed_ms, 6000);
    cr_assert_geq(task_of(driver, "diamond", "b")->attempt_log[0].started_ms, 6000);
    wfd_destroy(driver);
}

/* Workflow cancel: the run ends Cancelled, its open attempt is abandoned, and a report for it
 * afterwards is a detected duplicate that changes nothing. */
Test(wf_golden, cancel_abandons_open_attempts)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    struct wf_command cancel = { .type = WF_CMD_CANCEL, .workflow_id = "hello" };
    wfd_inject(driver, 150, &cancel);
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    cr_assert_str_empty(driver->violation, "%s", driver->violation);
    cr_assert_eq(workflow_state(driver, "hello"), WF_WORKFLOW_CANCELLED);
    const struct wf_task_run *transform = task_of(driver, "hello", "transform");
    cr_assert_eq(transform->state, WF_TASK_RUNNING, "frozen as it was");
    cr_assert_eq(transform->attempt_log[0].outcome, WF_ATTEMPT_ABANDONED);
    cr_assert_eq(transform->attempt_log[0].late_reports, 1, "its worker reported at 200");
    cr_assert_eq(task_of(driver, "hello", "store")->attempts, 0);
    cr_assert_eq(driver->duplicates, 1);
    wfd_destroy(driver);
}

/* Submit is idempotent on the workflow id: the same definition (in any JSON spelling) returns
 * the existing run; a different definition under the same id is refused. */
Test(wf_golden, submit_is_idempotent_on_workflow_id)
{
    struct wfd *driver = wfd_create(2, 4, NULL, NULL);
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    wfd_run(driver, 150);
    uint64_t hash = wf_run_projection_hash(wf_state_find(driver->state, "hello"));
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK_EXISTING);
    const char *respelled =
        "{\"tasks\":[{\"kind\":\"http_get\",\"id\":\"fetch\",\"params\":{\"url\":"
        "\"https://example.com/greeting\"},\"retry\":{\"max_attempts\":3}},"
        "{\"id\":\"transform\",\"kind\":\"uppercase\",\"deps\":[\"fetch\"],\"params\":{}},"
        "{\"id\":\"store\",\"kind\":\"kv_put\",\"params\":{\"key\":\"greeting\"},"
        "\"deps\":[\"transform\"]}],\"id\":\"hello\"}";
    cr_assert_eq(wfd_submit_json(driver, respelled), WF_OK_EXISTING);
    const char *different =
        "{\"id\":\"hello\",\"tasks\":[{\"id\":\"fetch\",\"kind\":\"http_get\"}]}";
    cr_assert_eq(wfd_submit_json(driver, different), WF_REJECT_CONFLICT);
    cr_assert_eq(wf_run_projection_hash(wf_state_find(driver->state, "hello")), hash);
    cr_assert_eq(wf_state_run_count(driver->state), 1);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "hello");
    struct wf_counters counters;
    wf_state_counters(driver->state, &counters);
    cr_assert_eq(counters.submits_idempotent, 2);
    cr_assert_eq(counters.workflows_submitted, 1);
    wfd_destroy(driver);
}

/* Several workflows share the workers; each completes, with one effect per task. */
Test(wf_golden, three_workflows_share_workers)
{
    struct wfd *driver = wfd_create(3, 4, NULL, NULL);
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    cr_assert_eq(wfd_submit_example(driver, "diamond.json"), WF_OK);
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    assert_clean_completion(driver, "hello");
    assert_clean_completion(driver, "diamond");
    assert_clean_completion(driver, "payments");
    cr_assert_eq(driver->effect_count, 10);
    struct wf_counters counters;
    wf_state_counters(driver->state, &counters);
    cr_assert_eq(counters.workflows_by_state[WF_WORKFLOW_COMPLETED], 3);
    cr_assert_eq(counters.tasks_by_state[WF_TASK_COMPLETED], 10);
    wfd_destroy(driver);
}
