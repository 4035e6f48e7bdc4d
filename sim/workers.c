/* Simulated workers: run attempts in simulated time, fail, crash, stall, report through the leader.
 */
#include "sim/world.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#define SIM_WF_WORKER_BACKOFF_US 50000u /* after "not now" from a node */

static struct sim_wf_worker *sim_wf_worker(struct sim_world *w, uint32_t id)
{
    assert(id < w->scenario.wf.workers);
    return &w->wf->workers[id];
}

static uint32_t sim_wf_worker_random_node(struct sim_world *w)
{
    return (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_WORKFLOW, w->node_slots);
}

void sim_wf_workers_start(struct sim_world *w)
{
    for (uint32_t id = 0; id < w->scenario.wf.workers; id++) {
        struct sim_wf_worker *wk = &w->wf->workers[id];
        memset(wk, 0, sizeof(*wk));
        wk->id = id;
        wk->up = true;
        wk->target = sim_wf_worker_random_node(w);
        /* staggered, so the workers' pings do not all fall on the same instant */
        sim_wf_push(w, w->queue.now_us + SIM_WF_PING_US * id / w->scenario.wf.workers,
                    SIM_WF_EV_WORKER_PING, 0, id, wk->incarnation);
    }
}

void sim_wf_worker_ping(struct sim_world *w, uint32_t id, uint32_t incarnation)
{
    struct sim_wf_worker *wk = sim_wf_worker(w, id);
    if (!wk->up || incarnation != wk->incarnation) {
        return; /* the ping chain of a crashed incarnation */
    }
    bool frozen = wk->job_count > 0 && wk->jobs[0].action == SIM_WF_ACT_LATE;
    if (wk->ping_unanswered && !frozen) {
        wk->target = (wk->target + 1) % w->node_slots;
    }
    struct sim_wf_msg *msg = frozen ? NULL : sim_wf_msg_alloc(w, SIM_WF_MSG_PING);
    if (msg != NULL) {
        msg->origin = id;
        sim_wf_msg_send(w, msg, SIM_WF_EV_AT_NODE, wk->target);
    }
    wk->ping_unanswered = true;
    sim_wf_push(w, w->queue.now_us + SIM_WF_PING_US, SIM_WF_EV_WORKER_PING, 0, id, wk->incarnation);
}

/* A ping's answer: the leader heard it, or a node names the leader. */
static void sim_wf_ping_answer(struct sim_world *w, struct sim_wf_worker *wk,
                               const struct sim_wf_msg *msg)
{
    if (!wk->up) {
        return;
    }
    if (msg->answer == SIM_WF_ANSWER_APPLIED) {
        wk->ping_unanswered = false;
    } else if (msg->hint >= 1 && msg->hint <= w->node_slots) {
        wk->target = msg->hint - 1;
        wk->ping_unanswered = false;
    }
}

static uint64_t sim_wf_draw(struct sim_world *w, const struct sim_dist *dist)
{
    uint64_t drawn = sim_dist_sample(dist, sim_chooser_stream(&w->chooser, SIM_CONCERN_WORKFLOW));
    return sim_choose_sampled(&w->chooser, SIM_CONCERN_WORKFLOW, dist->min_us, dist->max_us, drawn);
}

/* ---- reports ---- */

static struct sim_wf_report *sim_wf_report_find(struct sim_wf_worker *wk, uint64_t seq)
{
    for (uint32_t i = 0; i < wk->report_count; i++) {
        if (wk->reports[i].seq == seq) {
            return &wk->reports[i];
        }
    }
    return NULL;
}

static void sim_wf_report_remove(struct sim_wf_worker *wk, struct sim_wf_report *report)
{
    uint32_t i = (uint32_t)(report - wk->reports);
    assert(i < wk->report_count);
    memmove(&wk->reports[i], &wk->reports[i + 1], (wk->report_count - i - 1) * sizeof(*report));
    wk->report_count--;
}

/* Sends a report to the node the worker believes leads; completions and failures wait for an
 * answer (resent after a timeout), extensions are sent once. */
static void sim_wf_report_send(struct sim_world *w, struct sim_wf_worker *wk,
                               struct sim_wf_report *report)
{
    struct sim_wf *wf = w->wf;
    assert(wk->up);
    assert(report->seq >= 1);
    struct sim_wf_msg *msg = sim_wf_msg_alloc(w, SIM_WF_MSG_REPORT);
    report->sends++;
    if (report->command.type == WF_CMD_EXTEND_LEASE) {
        wf->stats.extends_sent++;
    } else {
        wf->stats.reports_sent++;
        wf->stats.report_resends += report->sends > 1 ? 1 : 0;
    }
    if (msg != NULL) {
        msg->origin = wk->id;
        msg->seq = report->seq;
        msg->u.command = report->command;
        sim_wf_msg_send(w, msg, SIM_WF_EV_AT_NODE, wk->target);
    }
    if (report->resend) {
        report->deadline_us = w->queue.now_us + wf->scenario->request_timeout_us;
        sim_wf_push(w, report->deadline_us, SIM_WF_EV_REPORT_TIMEOUT, 0, wk->id,
                    (uint32_t)report->seq);
    }
}

static void sim_wf_report(struct sim_world *w, struct sim_wf_worker *wk,
                          const struct wf_command *command)
{
    assert(command->type == WF_CMD_COMPLETE_ATTEMPT || command->type == WF_CMD_FAIL_ATTEMPT ||
           command->type == WF_CMD_EXTEND_LEASE);
    struct sim_wf_report report = {
        .command = *command,
        .seq = ++wk->report_seq,
        .resend = command->type != WF_CMD_EXTEND_LEASE,
    };
    if (!report.resend) {
        sim_wf_report_send(w, wk, &report);
        return;
    }
    if (wk->report_count == SIM_WF_REPORTS_MAX) {
        return; /* like a lost report: the lease expires and the task is retried */
    }
    wk->reports[wk->report_count] = report;
    sim_wf_report_send(w, wk, &wk->reports[wk->report_count++]);
}

void sim_wf_report_timeout(struct sim_world *w, uint32_t id, uint32_t seq)
{
    struct sim_wf_worker *wk = sim_wf_worker(w, id);
    struct sim_wf_report *report = wk->up ? sim_wf_report_find(wk, seq) : NULL;
    if (report == NULL || w->queue.now_us < report->deadline_us) {
        sim_world_note(w, "w%" PRIu32 ": report timer lapsed (answered or sent again)", id);
        return;
    }
    wk->target = (wk->target + 1) % w->node_slots;
    sim_world_note(w, "w%" PRIu32 ": no answer to its %s of %s attempt %" PRIu32 ", to n%" PRIu32,
                   id, wf_command_type_name(report->command.type), report->command.workflow_id,
                   report->command.attempt, wk->target + 1);
    sim_wf_report_send(w, wk, report);
}

static void sim_wf_worker_answer(struct sim_world *w, const struct sim_wf_msg *msg)
{
    struct sim_wf_worker *wk = sim_wf_worker(w, msg->origin);
    if (msg->seq == 0) {
        sim_wf_ping_answer(w, wk, msg);
        return;
    }
    struct sim_wf_report *report = wk->up ? sim_wf_report_find(wk, msg->seq) : NULL;
    if (report == NULL) {
        sim_world_note(w,
                       "w%" PRIu32 ": an answer to a report answered already (or lost in "
                       "a crash)",
                       msg->origin);
        return;
    }
    const struct wf_command *c = &report->command;
    switch (msg->answer) {
    case SIM_WF_ANSWER_APPLIED:
        sim_world_note(w, "w%" PRIu32 ": %s of %s task %u attempt %" PRIu32 " applied: %s", wk->id,
                       wf_command_type_name(c->type), c->workflow_id, c->task_index, c->attempt,
                       wf_status_name(msg->status));
        sim_wf_report_remove(wk, report);
        return;
    case SIM_WF_ANSWER_REDIRECT:
        if (msg->hint >= 1 && msg->hint <= w->node_slots && msg->hint - 1 != wk->target) {
            sim_world_note(w, "w%" PRIu32 ": redirected to n%" PRIu32, wk->id, msg->hint);
            wk->target = msg->hint - 1;
            sim_wf_report_send(w, wk, report);
            return;
        }
        sim_world_note(w, "w%" PRIu32 ": no leader known, back off", wk->id);
        wk->target = sim_wf_worker_random_node(w);
        break;
    case SIM_WF_ANSWER_RETRY:
        sim_world_note(w, "w%" PRIu32 ": not committed, back off", wk->id);
        break;
    }
    report->deadline_us = w->queue.now_us + SIM_WF_WORKER_BACKOFF_US;
    sim_wf_push(w, report->deadline_us, SIM_WF_EV_REPORT_TIMEOUT, 0, wk->id, (uint32_t)report->seq);
}

/* ---- attempts ---- */

static const struct sim_wf_script *sim_wf_script_for(const struct sim_world *w,
                                                     const struct wf_assignment *a)
{
    const struct sim_wf_scenario *s = &w->scenario.wf;
    for (uint32_t i = 0; i < s->script_count; i++) {
        const struct sim_wf_script *script = &s->scripts[i];
        if (script->attempt == a->token.attempt && strcmp(script->task_id, a->task_id) == 0 &&
            (script->workflow_id[0] == '\0' ||
             strcmp(script->workflow_id, a->token.workflow_id) == 0)) {
            return script;
        }
    }
    return NULL;
}

/* The attempt's fate: a script's, else drawn (faults only during the faulty phase). */
static void sim_wf_job_fate(struct sim_world *w, struct sim_wf_job *job)
{
    const struct sim_wf_scenario *s = &w->scenario.wf;
    const struct sim_wf_script *script = sim_wf_script_for(w, &job->assignment);
    struct sim_chooser *c = &w->chooser;
    job->action = SIM_WF_ACT_COMPLETE;
    snprintf(job->error_kind, sizeof(job->error_kind), "%s", SIM_WF_ERROR_KIND_DEFAULT);
    if (script != NULL) {
        job->action = script->action;
        if (script->error_kind[0] != '\0') {
            snprintf(job->error_kind, sizeof(job->error_kind), "%s", script->error_kind);
        }
    } else if (!w->liveness_phase) {
        if (sim_choose_chance(c, SIM_CONCERN_WORKFLOW, s->crash)) {
            job->action =
                sim_choose(c, SIM_CONCERN_WORKFLOW, 2) ? SIM_WF_ACT_CRASH_EFFECT : SIM_WF_ACT_CRASH;
        } else if (sim_choose_chance(c, SIM_CONCERN_WORKFLOW, s->fail)) {
            job->action = SIM_WF_ACT_FAIL;
        } else if (sim_choose_chance(c, SIM_CONCERN_WORKFLOW, s->late)) {
            job->action = SIM_WF_ACT_LATE;
        } else if (sim_choose_chance(c, SIM_CONCERN_WORKFLOW, s->twice)) {
            job->action = SIM_WF_ACT_TWICE;
        }
    }
}

static void sim_wf_worker_schedule(struct sim_world *w, struct sim_wf_worker *wk)
{
    assert(wk->up && wk->job_count > 0);
    const struct sim_wf_job *job = &wk->jobs[0];
    assert(job->end_us >= w->queue.now_us);
    uint64_t at = job->end_us < job->next_beat_us ? job->end_us : job->next_beat_us;
    sim_wf_push(w, at, SIM_WF_EV_WORKER_STEP, 0, wk->id, ++wk->generation);
}

static uint64_t sim_wf_beat_us(const struct sim_wf_job *job)
{
    uint64_t beat = job->assignment.lease_timeout_ms * 1000 / 3;
    return beat > 0 ? beat : 1;
}

static void sim_wf_job_start(struct sim_world *w, struct sim_wf_worker *wk)
{
    struct sim_wf_job *job = &wk->jobs[0];
    const struct wf_assignment *a = &job->assignment;
    assert(wk->up && wk->job_count > 0);
    sim_wf_check_execution(w, a, wk->id);
    sim_wf_job_fate(w, job);
    uint64_t now = w->queue.now_us;
    uint64_t duration = sim_wf_draw(w, &w->scenario.wf.duration);
    job->end_us = now + duration;
    job->next_beat_us = UINT64_MAX;
    if (job->action == SIM_WF_ACT_CRASH) {
        job->end_us = now + duration / 2;
    } else if (job->action == SIM_WF_ACT_LATE) {
        /* frozen (a long GC pause, a swapped-out VM): no extensions, it reports after the lease */
        uint64_t late = a->lease_deadline_ms * 1000 + w->scenario.wf.late_by_us;
        job->end_us = late > job->end_us ? late : job->end_us;
    } else if (w->scenario.wf.extend && now + sim_wf_beat_us(job) < job->end_us) {
        job->next_beat_us = now + sim_wf_beat_us(job);
    }
    sim_world_note(w, "w%" PRIu32 " runs %s attempt %" PRIu32 " (%s, %" PRIu64 "ms)", wk->id,
                   a->idempotency_key, a->token.attempt, sim_wf_action_name(job->action),
                   (job->end_us - now) / 1000);
    sim_wf_worker_schedule(w, wk);
}

static void sim_wf_worker_crash(struct sim_world *w, struct sim_wf_worker *wk)
{
    assert(wk->up);
    wk->up = false;
    wk->job_count = 0;
    wk->report_count = 0;
    wk->incarnation++;
    w->wf->stats.worker_crashes++;
    uint64_t downtime = sim_wf_draw(w, &w->scenario.wf.restart);
    sim_world_note(w, "w%" PRIu32 " crashes; it restarts in %" PRIu64 "ms", wk->id,
                   downtime / 1000);
    sim_wf_push(w, w->queue.now_us + downtime, SIM_WF_EV_WORKER_RESTART, 0, wk->id,
                ++wk->generation);
}

void sim_wf_worker_restart(struct sim_world *w, uint32_t id, uint32_t generation)
{
    struct sim_wf_worker *wk = sim_wf_worker(w, id);
    if (wk->up || generation != wk->generation) {
        sim_world_note(w, "w%" PRIu32 ": restart of an earlier crash", id);
        return;
    }
    wk->up = true;
    wk->generation++;
    wk->target = sim_wf_worker_random_node(w);
    wk->ping_unanswered = false;
    sim_world_note(w, "w%" PRIu32 " is back", wk->id);
    sim_wf_worker_ping(w, id, wk->incarnation);
}

/* Executes the effect through the ledger (with the idempotency key, unless broken). */
static void sim_wf_execute(struct sim_world *w, struct sim_wf_worker *wk,
                           const struct wf_assignment *a)
{
    struct sim_ledger *ledger = &w->wf->ledger;
    assert(wk->up);
    assert(a->idempotency_key[0] != '\0');
    int rc = (w->options.sim_bugs & SIM_BUG_WF_LEDGER_BYPASS)
                 ? sim_ledger_execute_unkeyed(ledger, a, wk->id, w->queue.now_us)
                 : sim_ledger_execute(ledger, a, wk->id, w->queue.now_us);
    if (rc < 0) {
        sim_world_fail(w, "the side-effect ledger is full (%u keys)", SIM_LEDGER_KEYS_MAX);
        return;
    }
    if (rc == 0) {
        sim_world_note(w, "ledger: %s executed again, the effect stays applied once",
                       a->idempotency_key);
    }
    sim_wf_check_effects(w, a->idempotency_key);
}

static void sim_wf_job_finish(struct sim_world *w, struct sim_wf_worker *wk, struct sim_wf_job *job)
{
    struct sim_wf *wf = w->wf;
    const struct wf_assignment *a = &job->assignment;
    struct wf_command report;
    char output[WF_OUTPUT_BYTES_MAX];
    /* the output depends only on the task, as an idempotent task's must */
    int len = snprintf(output, sizeof(output), "done:%s", a->idempotency_key);
    assert(len > 0 && (size_t)len < sizeof(output));
    switch (job->action) {
    case SIM_WF_ACT_LATE:
        wf->stats.worker_lates++;
        /* fallthrough */
    case SIM_WF_ACT_COMPLETE:
    case SIM_WF_ACT_TWICE:
        sim_wf_execute(w, wk, a);
        wf_report_completed(a, output, (size_t)len, &report);
        sim_wf_report(w, wk, &report);
        if (job->action == SIM_WF_ACT_TWICE) {
            wf->stats.worker_twice++;
            sim_wf_report(w, wk, &report);
        }
        return;
    case SIM_WF_ACT_FAIL:
        wf->stats.worker_fails++;
        wf_report_failed(a, job->error_kind, &report);
        sim_wf_report(w, wk, &report);
        return;
    case SIM_WF_ACT_CRASH_EFFECT:
        sim_wf_execute(w, wk, a);
        /* fallthrough */
    case SIM_WF_ACT_CRASH:
        sim_wf_worker_crash(w, wk);
        return;
    case SIM_WF_ACT_COUNT:
        break;
    }
    assert(0 && "unknown worker action");
}

void sim_wf_worker_step(struct sim_world *w, uint32_t id, uint32_t generation)
{
    struct sim_wf_worker *wk = sim_wf_worker(w, id);
    if (!wk->up || generation != wk->generation || wk->job_count == 0) {
        sim_world_note(w, "w%" PRIu32 ": step of an earlier state", id);
        return;
    }
    struct sim_wf_job *job = &wk->jobs[0];
    if (w->queue.now_us < job->end_us) {
        sim_world_note(w, "w%" PRIu32 " extends its lease on %s attempt %" PRIu32, id,
                       job->assignment.idempotency_key, job->assignment.token.attempt);
        struct wf_command extend; /* still running: extend the lease */
        wf_report_extend(&job->assignment, &extend);
        sim_wf_report(w, wk, &extend);
        job->next_beat_us += sim_wf_beat_us(job);
        if (job->next_beat_us >= job->end_us) {
            job->next_beat_us = UINT64_MAX;
        }
        sim_wf_worker_schedule(w, wk);
        return;
    }
    struct sim_wf_job done = *job;
    sim_world_note(w, "w%" PRIu32 " ends %s attempt %" PRIu32 " (%s)", id,
                   job->assignment.idempotency_key, job->assignment.token.attempt,
                   sim_wf_action_name(job->action));
    memmove(&wk->jobs[0], &wk->jobs[1], (wk->job_count - 1) * sizeof(wk->jobs[0]));
    wk->job_count--;
    sim_wf_job_finish(w, wk, &done);
    if (wk->up && wk->job_count > 0) {
        sim_wf_job_start(w, wk);
    }
}

/* ---- assignments ---- */

static void sim_wf_worker_assign(struct sim_world *w, const struct wf_assignment *a)
{
    struct sim_wf *wf = w->wf;
    if (a->worker_id >= w->scenario.wf.workers) {
        return;
    }
    struct sim_wf_worker *wk = sim_wf_worker(w, a->worker_id);
    if (!wk->up || wk->job_count == SIM_WF_JOBS_MAX) {
        sim_world_note(w, "w%" PRIu32 " is %s: assignment of %s attempt %" PRIu32 " lost", wk->id,
                       wk->up ? "full" : "down", a->idempotency_key, a->token.attempt);
        wf->stats.assignments_lost++;
        return;
    }
    for (uint32_t i = 0; i < wk->job_count; i++) {
        const struct wf_token *t = &wk->jobs[i].assignment.token;
        if (t->attempt == a->token.attempt && t->task_index == a->token.task_index &&
            strcmp(t->workflow_id, a->token.workflow_id) == 0) {
            wf->stats.assignments_repeated++; /* delivered twice: run it once */
            sim_world_note(w, "w%" PRIu32 " holds %s attempt %" PRIu32 " already", wk->id,
                           a->idempotency_key, a->token.attempt);
            return;
        }
    }
    struct sim_wf_job *job = &wk->jobs[wk->job_count++];
    memset(job, 0, sizeof(*job));
    job->assignment = *a;
    if (wk->job_count == 1) {
        sim_wf_job_start(w, wk);
    } else {
        sim_world_note(w, "w%" PRIu32 " queues %s attempt %" PRIu32 " behind %" PRIu32 " job(s)",
                       wk->id, a->idempotency_key, a->token.attempt, wk->job_count - 1);
    }
}

void sim_wf_worker_receive(struct sim_world *w, struct sim_wf_msg *msg)
{
    if (msg->kind == SIM_WF_MSG_ASSIGN) {
        sim_wf_worker_assign(w, &msg->u.assignment);
        return;
    }
    assert(msg->kind == SIM_WF_MSG_ANSWER && msg->to_worker);
    sim_wf_worker_answer(w, msg);
}
