/* Golden paths of the replicated workflow engine in the simulator (issue 7): each shipped
 * wf-*.ini scenario, what its run must show, the projector rebuild, determinism and the CLI. */
#include "sim/world.h"

#include "workflows/wf_observe.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif
#ifndef FLOWRAFT_EXE
#define FLOWRAFT_EXE "flowraft"
#endif

#define LOG_BYTES_MAX (4u << 20)

/* What a run left behind for one workflow, captured before teardown. */
struct capture {
    const char *workflow;
    bool found;
    struct wf_run run; /* the committed log's view of it */
    uint64_t projection;
    uint64_t state_hash; /* the whole committed workflow state */
    uint32_t executions[WF_TASKS_MAX];
    uint32_t effects[WF_TASKS_MAX];
    uint32_t records;                 /* ledger executions of this workflow */
    struct sim_ledger_record log[64]; /* in order */
    char keys[64][WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
    uint32_t nodes_rebuilt;
};

static struct sim_scenario scenario;
static struct report_run run;
static struct capture capture;

static void load(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/scenarios/%s", FLOWRAFT_SOURCE_DIR, name);
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_load(path, &scenario, error, sizeof(error)), 0, "%s", error);
}

static void at_end(void *ctx, const struct sim_world *w)
{
    struct capture *c = ctx;
    const struct wf_state *state = sim_wf_committed(w);
    const struct wf_run *r = wf_state_find(state, c->workflow);
    c->state_hash = wf_state_hash(state);
    c->nodes_rebuilt = (uint32_t)w->wf->stats.rebuilds;
    if (r == NULL) {
        return;
    }
    c->found = true;
    c->run = *r;
    c->projection = wf_run_projection_hash(r);
    for (uint32_t t = 0; t < r->def.task_count; t++) {
        char key[WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
        wf_idempotency_key(r->def.id, r->def.tasks[t].id, key);
        const struct sim_ledger_key *k = sim_ledger_find(&w->wf->ledger, key);
        c->executions[t] = k != NULL ? k->executions : 0;
        c->effects[t] = k != NULL ? k->effects : 0;
    }
    const struct sim_ledger *ledger = &w->wf->ledger;
    for (uint32_t i = 0; i < ledger->record_count && c->records < 64; i++) {
        const struct sim_ledger_record *rec = &ledger->records[i];
        if (strcmp(rec->token.workflow_id, c->workflow) == 0) {
            c->log[c->records] = *rec;
            memcpy(c->keys[c->records], ledger->keys[rec->key].key, sizeof(c->keys[0]));
            c->records++;
        }
    }
}

/* Runs the loaded scenario; `log` receives the verbose event log when not NULL. */
static const struct report_run *run_seed(uint64_t seed, const char *workflow, FILE *log)
{
    memset(&capture, 0, sizeof(capture));
    capture.workflow = workflow;
    struct sim_run_options options = {
        .scenario = &scenario,
        .seed = seed,
        .log = log,
        .log_kinds = log != NULL ? 1u << SIM_EV_WF : 0,
        .at_end = at_end,
        .at_end_ctx = &capture,
    };
    sim_run(&options, &run);
    return &run;
}

static void expect_pass(const struct report_run *r)
{
    cr_assert_eq(r->verdict, REPORT_PASS, "%s seed %lu: %s: %s", r->scenario,
                 (unsigned long)r->seed, r->invariant, r->detail);
}

static uint64_t counter(const char *name)
{
    return report_run_counter(&run, name);
}

static int task_index(const char *id)
{
    int t = wf_def_task_index(&capture.run.def, id);
    cr_assert_geq(t, 0, "no task %s", id);
    return t;
}

static const struct wf_task_run *task(const char *id)
{
    return &capture.run.tasks[task_index(id)];
}

/* Invariant: every committed task has exactly one effect; the rebuild replayed every node. */
static void expect_clean_run(uint32_t nodes)
{
    cr_assert(capture.found, "the workflow %s is not in the committed log", capture.workflow);
    for (uint32_t t = 0; t < capture.run.def.task_count; t++) {
        if (capture.run.tasks[t].state == WF_TASK_COMPLETED) {
            cr_assert_eq(capture.effects[t], 1, "task %u: %u effects", t, capture.effects[t]);
        }
    }
    cr_assert_eq(capture.nodes_rebuilt, nodes, "projector_rebuild replayed every node");
    cr_assert_eq(counter("wf.rebuilds"), nodes);
}

/* Golden path: hello-world, three tasks in a line, each after the one before. */
Test(sim_wf, hello_world_completes_in_order)
{
    load("wf-hello.ini");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        expect_pass(run_seed(seed, "hello", NULL));
        expect_clean_run(3);
        cr_assert_eq(capture.run.state, WF_WORKFLOW_COMPLETED);
        const char *order[] = { "fetch", "transform", "store" };
        for (int i = 0; i < 3; i++) {
            const struct wf_task_run *t = task(order[i]);
            cr_assert_eq(t->state, WF_TASK_COMPLETED);
            cr_assert_eq(t->attempts, 1, "%s ran once", order[i]);
            cr_assert_eq(capture.executions[task_index(order[i])], 1);
            if (i > 0) {
                cr_assert_geq(t->attempt_log[0].started_ms, task(order[i - 1])->completed_ms,
                              "%s started before %s completed", order[i], order[i - 1]);
            }
        }
        cr_assert_eq(counter("wf.completed"), 1);
        cr_assert_eq(counter("wf.tasks.completed"), 3);
        cr_assert_eq(counter("wf.effects"), 3);
        cr_assert_eq(counter("wf.duplicates"), 0);
    }
}

/* Golden path: diamond. b and c start after a and run in parallel; d starts after both. */
Test(sim_wf, diamond_fans_out_and_in)
{
    load("wf-diamond.ini");
    uint32_t overlapped = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        expect_pass(run_seed(seed, "diamond", NULL));
        expect_clean_run(3);
        const struct wf_task_run *a = task("a");
        const struct wf_task_run *b = task("b");
        const struct wf_task_run *c = task("c");
        const struct wf_task_run *d = task("d");
        cr_assert_eq(d->state, WF_TASK_COMPLETED);
        cr_assert_geq(b->attempt_log[0].started_ms, a->completed_ms);
        cr_assert_geq(c->attempt_log[0].started_ms, a->completed_ms);
        cr_assert_geq(d->attempt_log[0].started_ms, b->completed_ms);
        cr_assert_geq(d->attempt_log[0].started_ms, c->completed_ms);
        overlapped += b->attempt_log[0].started_ms < c->completed_ms &&
                      c->attempt_log[0].started_ms < b->completed_ms;
    }
    cr_assert_eq(overlapped, 3, "b and c ran in parallel (3 workers)");
}

/* Golden path: task 2 fails once, then succeeds. The projection (what the workflow computed)
 * equals the fault-free run's; the state hash does not (the retry is part of the history). */
Test(sim_wf, retry_has_the_fault_free_projection)
{
    load("wf-hello.ini");
    expect_pass(run_seed(1, "hello", NULL));
    uint64_t projection = capture.projection;
    uint64_t state_hash = capture.state_hash;
    load("wf-retry.ini");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        expect_pass(run_seed(seed, "hello", NULL));
        expect_clean_run(3);
        const struct wf_task_run *t = task("transform");
        cr_assert_eq(t->attempts, 2);
        cr_assert_eq(t->attempt_log[0].outcome, WF_ATTEMPT_FAILED);
        cr_assert_str_eq(t->attempt_log[0].error_kind, "transient");
        cr_assert_eq(t->attempt_log[1].outcome, WF_ATTEMPT_COMPLETED);
        cr_assert_eq(counter("wf.retries"), 1);
        cr_assert_eq(capture.projection, projection, "seed %lu", (unsigned long)seed);
        cr_assert_neq(capture.state_hash, state_hash, "retries are never invisible");
    }
}

/* Finds the first committed transition line with all of `needles`; returns its time_ms or -1. */
static long long line_time(const char *log, const char *const *needles, size_t count)
{
    for (const char *line = log; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        char copy[1024];
        snprintf(copy, sizeof(copy), "%.*s", (int)(len < sizeof(copy) ? len : sizeof(copy) - 1),
                 line);
        bool all = strstr(copy, "[committed] wf ") != NULL;
        for (size_t i = 0; i < count && all; i++) {
            all = strstr(copy, needles[i]) != NULL;
        }
        const char *time = strstr(copy, " time_ms=");
        if (all && time != NULL) {
            return atoll(time + 9);
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return -1;
}

static char *run_logged(uint64_t seed, const char *workflow)
{
    char *text = NULL;
    size_t size = 0;
    FILE *log = open_memstream(&text, &size);
    cr_assert_not_null(log);
    run_seed(seed, workflow, log);
    fclose(log);
    cr_assert_lt(size, LOG_BYTES_MAX);
    return text;
}

/* Golden path: pause then resume. Nothing starts while paused; the projection is the fault-free
 * run's. */
Test(sim_wf, pause_then_resume_has_the_fault_free_projection)
{
    load("wf-hello.ini");
    expect_pass(run_seed(1, "hello", NULL));
    uint64_t projection = capture.projection;
    load("wf-pause.ini");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        char *log = run_logged(seed, "hello");
        expect_pass(&run);
        expect_clean_run(3);
        cr_assert_eq(capture.run.pauses, 1);
        cr_assert_eq(capture.projection, projection);
        static const char *const paused[] = { "cmd=pause", "to=Paused" };
        static const char *const resumed[] = { "cmd=resume", "to=Running" };
        long long pause_ms = line_time(log, paused, 2);
        long long resume_ms = line_time(log, resumed, 2);
        cr_assert_gt(pause_ms, 0, "the pause is a logged transition");
        cr_assert_gt(resume_ms, pause_ms);
        for (uint32_t t = 0; t < capture.run.def.task_count; t++) {
            const struct wf_task_run *tr = &capture.run.tasks[t];
            for (uint32_t a = 0; a < tr->attempts; a++) {
                long long started = (long long)tr->attempt_log[a].started_ms;
                cr_assert(started <= pause_ms || started >= resume_ms,
                          "task %u attempt %u started at %lld while paused (%lld..%lld)", t, a + 1,
                          started, pause_ms, resume_ms);
            }
        }
        free(log);
    }
}

/* Golden path: the leader crashes mid-workflow; the workflows complete, no effect twice. */
Test(sim_wf, leader_crash_mid_workflow)
{
    load("wf-leader-crash.ini");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        expect_pass(run_seed(seed, "hello", NULL));
        expect_clean_run(3);
        cr_assert_eq(counter("crash"), 1);
        cr_assert_geq(run.elections, 2, "a new leader took over");
        cr_assert_eq(counter("wf.completed"), 2);
        cr_assert_eq(counter("wf.effects"), counter("wf.tasks.completed"));
        cr_assert_lt(capture.run.submitted_ms, 400, "running before the crash at 400ms");
        cr_assert_gt(capture.run.ended_ms, 400, "still running at the crash");
    }
}

/* Golden path: a worker crashes after its side effect; attempt 2 carries the same idempotency
 * key, and the ledger applies the effect once (one repeated execution detected). */
Test(sim_wf, worker_crash_retries_with_the_same_key)
{
    load("wf-worker-crash.ini");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        expect_pass(run_seed(seed, "payments", NULL));
        expect_clean_run(3);
        const struct wf_task_run *charge = task("charge");
        cr_assert_eq(charge->attempts, 2);
        cr_assert_eq(charge->attempt_log[0].outcome, WF_ATTEMPT_EXPIRED);
        cr_assert_eq(charge->attempt_log[1].outcome, WF_ATTEMPT_COMPLETED);
        cr_assert_neq(charge->attempt_log[0].worker_id, charge->attempt_log[1].worker_id,
                      "attempt 2 went to a live worker");
        uint32_t seen = 0;
        for (uint32_t i = 0; i < capture.records; i++) {
            if (capture.log[i].token.task_index == (uint16_t)task_index("charge")) {
                cr_assert_str_eq(capture.keys[i], "payments/charge");
                cr_assert_eq(capture.log[i].token.attempt, seen + 1);
                cr_assert_eq(capture.log[i].applied, seen == 0, "only attempt 1 applied it");
                seen++;
            }
        }
        cr_assert_eq(seen, 2, "both attempts executed the charge");
        cr_assert_eq(capture.effects[task_index("charge")], 1);
        cr_assert_eq(counter("wf.effect_duplicates"), 1);
        cr_assert_eq(counter("wf.worker_crashes"), 1);
    }
}

/* Golden path: a completion that arrives after the retry started is refused (fencing) and
 * counted; it changes nothing. */
Test(sim_wf, stale_completion_is_rejected_and_counted)
{
    load("wf-stale.ini");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        char *log = run_logged(seed, "payments");
        expect_pass(&run);
        expect_clean_run(3);
        const struct wf_task_run *charge = task("charge");
        cr_assert_eq(charge->attempts, 2);
        cr_assert_eq(charge->attempt_log[0].outcome, WF_ATTEMPT_EXPIRED);
        cr_assert_eq(charge->attempt_log[0].late_reports, 1);
        cr_assert_eq(charge->attempt_log[1].outcome, WF_ATTEMPT_COMPLETED);
        cr_assert_geq(counter("wf.duplicates"), 1);
        static const char *const rejected[] = { "event=reject", "cmd=complete_attempt",
                                                "task=charge", "attempt=1" };
        long long rejected_ms = line_time(log, rejected, 4);
        cr_assert_geq(rejected_ms, (long long)charge->attempt_log[1].started_ms,
                      "the late completion came after the retry started");
        free(log);
    }
}

/* Submit idempotency: an impatient client resends; the log holds a submit twice and the second
 * returns the existing run; each workflow runs once. */
Test(sim_wf, resent_submits_return_the_existing_run)
{
    load("wf-resubmit.ini");
    expect_pass(run_seed(1, "hello-1", NULL));
    expect_clean_run(3);
    cr_assert_eq(counter("wf.submitted"), 3);
    cr_assert_gt(counter("wf.submit_existing"), 0);
    cr_assert_eq(counter("wf.attempts"), 9, "every task ran once");
}

/* Chaos: partitions, crashes, pauses, loss and worker faults; every check passes, snapshots of
 * both state machines are taken and installed, and the rebuild replays snapshot plus WAL. */
Test(sim_wf, chaos_passes_with_faults_seen)
{
    load("wf-chaos.ini");
    uint64_t retries = 0;
    uint64_t duplicates = 0;
    uint64_t snapshots = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        expect_pass(run_seed(seed, "hello-1", NULL));
        cr_assert_eq(counter("wf.submitted"), 12);
        cr_assert_eq(counter("wf.unfinished"), 0);
        cr_assert_eq(counter("wf.executions"),
                     counter("wf.effects") + counter("wf.effect_duplicates"));
        cr_assert_geq(counter("wf.effects"), counter("wf.tasks.completed"));
        cr_assert_gt(counter("wf.rebuilds"), 0);
        retries += counter("wf.retries");
        duplicates += counter("wf.duplicates");
        snapshots += counter("snapshots");
    }
    cr_assert_gt(retries, 0);
    cr_assert_gt(duplicates, 0);
    cr_assert_gt(snapshots, 0);
}

/* Determinism: the same seed gives the same trace hash and the same final state. */
Test(sim_wf, same_seed_same_run)
{
    load("wf-chaos.ini");
    expect_pass(run_seed(5, "hello-1", NULL));
    uint64_t trace = run.trace_hash;
    uint64_t state = capture.state_hash;
    expect_pass(run_seed(5, "hello-1", NULL));
    cr_assert_eq(run.trace_hash, trace);
    cr_assert_eq(capture.state_hash, state);
    expect_pass(run_seed(6, "hello-1", NULL));
    cr_assert_neq(run.trace_hash, trace);
}

static char *command_output(const char *command, int *status)
{
    FILE *pipe = popen(command, "r");
    cr_assert_not_null(pipe);
    size_t cap = 1 << 20;
    char *out = calloc(1, cap);
    size_t used = fread(out, 1, cap - 1, pipe);
    out[used] = '\0';
    *status = pclose(pipe);
    return out;
}

/* The CLI: `flowraft history` prints a workflow attempt by attempt; `replay --verbose` prints
 * every committed transition as one structured line, filterable by workflow. */
Test(sim_wf, cli_history_and_structured_lines)
{
    int status = 0;
    char *out = command_output("cd " FLOWRAFT_SOURCE_DIR " && " FLOWRAFT_EXE
                               " history scenarios/wf-stale.ini --seed 2 --workflow payments",
                               &status);
    cr_assert_eq(status, 0, "%s", out);
    cr_assert(strstr(out, "workflow payments state=Completed") != NULL, "%s", out);
    cr_assert(strstr(out, "attempt 1 worker=") != NULL, "%s", out);
    cr_assert(strstr(out, "outcome=expired error=lease_expired") != NULL, "%s", out);
    cr_assert(strstr(out, "late_reports=1") != NULL, "%s", out);
    cr_assert(strstr(out, "ledger payments/charge: executions=2 effects=1") != NULL, "%s", out);
    free(out);
    out = command_output(FLOWRAFT_EXE " history " FLOWRAFT_SOURCE_DIR
                                      "/scenarios/wf-stale.ini --workflow nope 2>&1",
                         &status);
    cr_assert_eq(WEXITSTATUS(status), 2);
    cr_assert(strstr(out, "no workflow 'nope'") != NULL, "%s", out);
    free(out);
    out = command_output("cd " FLOWRAFT_SOURCE_DIR " && " FLOWRAFT_EXE
                         " replay scenarios/wf-diamond.ini --seed 1 --verbose --kind workflow"
                         " --workflow diamond",
                         &status);
    cr_assert_eq(status, 0);
    cr_assert(strstr(out, "[committed] wf event=transition index=") != NULL, "%s", out);
    cr_assert(strstr(out, "cmd=complete_attempt workflow=diamond task=d") != NULL, "%s", out);
    cr_assert(strstr(out, " tick ") == NULL, "only workflow events");
    free(out);
    out = command_output("cd " FLOWRAFT_SOURCE_DIR " && " FLOWRAFT_EXE
                         " replay scenarios/wf-diamond.ini --seed 1 --verbose --kind workflow"
                         " --node 2",
                         &status);
    cr_assert(strstr(out, "[n2] wf event=transition") != NULL, "%s", out);
    cr_assert(strstr(out, "[committed]") == NULL);
    free(out);
    out = command_output("cd " FLOWRAFT_SOURCE_DIR " && " FLOWRAFT_EXE
                         " run scenarios/wf-worker-crash.ini --seed 1",
                         &status);
    cr_assert_eq(status, 0);
    cr_assert(strstr(out,
                     "workflows   1 submitted: 1 completed, 0 failed, 0 cancelled, 0 "
                     "unfinished (0 paused); tasks 3 completed, 0 failed, 0 unfinished") != NULL,
              "%s", out);
    cr_assert(strstr(out, "4 executions, 3 effects applied, 1 repeated executions") != NULL, "%s",
              out);
    free(out);
}
