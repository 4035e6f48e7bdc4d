/* The workflow plane's spine: setup, events, messages, node hooks and the leader's coordinator. */
#include "sim/world.h"

#include "workflows/wf_coordinator.h"
#include "workflows/wf_observe.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- setup ---- */

static int sim_wf_load_definitions(struct sim_world *w)
{
    struct sim_wf *wf = w->wf;
    const struct sim_wf_scenario *s = wf->scenario;
    wf->defs = calloc(s->definition_count, sizeof(*wf->defs));
    if (wf->defs == NULL) {
        sim_world_fail(w, "out of memory for the workflow definitions");
        return -1;
    }
    for (uint32_t i = 0; i < s->definition_count; i++) {
        char error[320];
        if (sim_wf_definition_load(s->definitions[i], &wf->defs[i], error, sizeof(error)) != 0) {
            sim_world_fail(w, "%s", error); /* changed since the scenario was loaded */
            return -1;
        }
    }
    wf->def_count = s->definition_count;
    return 0;
}

int sim_wf_setup(struct sim_world *w)
{
    assert(w->wf == NULL);
    assert(w->node_slots <= SIM_NODES_MAX);
    struct sim_wf *wf = calloc(1, sizeof(*wf));
    w->wf = wf;
    if (wf == NULL) {
        sim_world_fail(w, "out of memory for the workflow plane");
        return -1;
    }
    wf->scenario = &w->scenario.wf;
    wf->enabled = wf->scenario->submit_count > 0;
    wf->messages = calloc(SIM_WF_MESSAGES_MAX, sizeof(*wf->messages));
    if (w->options.log != NULL) {
        wf->log = malloc(SIM_WF_LOG_BYTES_MAX);
        wf->log_committed = w->options.log_nodes == 0;
    }
    if (wf->messages == NULL || (w->options.log != NULL && wf->log == NULL) ||
        sim_ledger_init(&wf->ledger) != 0) {
        sim_world_fail(w, "out of memory for the workflow plane");
        return -1;
    }
    if (sim_wf_check_setup(w) != 0) {
        return -1;
    }
    if (!wf->enabled) {
        return 0;
    }
    if (sim_wf_load_definitions(w) != 0) {
        return -1;
    }
    sim_wf_clients_start(w);
    sim_wf_workers_start(w);
    return 0;
}

void sim_wf_teardown(struct sim_world *w)
{
    struct sim_wf *wf = w->wf;
    if (wf == NULL) {
        return;
    }
    sim_wf_check_teardown(w);
    sim_ledger_deinit(&wf->ledger);
    free(wf->messages);
    free(wf->defs);
    free(wf->log);
    free(wf);
    w->wf = NULL;
}

/* ---- events and messages ---- */

int sim_wf_push(struct sim_world *w, uint64_t at_us, enum sim_wf_event kind, uint32_t node,
                uint32_t index, uint32_t generation)
{
    assert(kind > 0 && kind < SIM_WF_EV_COUNT);
    assert(index < (1u << 24));
    uint64_t arg = ((uint64_t)kind << 56) | ((uint64_t)index << 32) | generation;
    return sim_world_push(w, at_us, SIM_EV_WF, node, arg);
}

uint64_t sim_wf_now_ms(const struct sim_world *w)
{
    return w->queue.now_us / 1000;
}

uint64_t sim_wf_latency(struct sim_world *w)
{
    const struct sim_dist *latency = &w->scenario.latency;
    uint64_t drawn =
        sim_dist_sample(latency, sim_chooser_stream(&w->chooser, SIM_CONCERN_WORKFLOW));
    return sim_choose_sampled(&w->chooser, SIM_CONCERN_WORKFLOW, latency->min_us, latency->max_us,
                              drawn);
}

struct sim_wf_msg *sim_wf_msg_alloc(struct sim_world *w, enum sim_wf_msg_kind kind)
{
    struct sim_wf *wf = w->wf;
    for (uint32_t i = 0; i < SIM_WF_MESSAGES_MAX; i++) {
        struct sim_wf_msg *msg = &wf->messages[i];
        if (!msg->used) {
            uint32_t generation = msg->generation + 1;
            memset(msg, 0, sizeof(*msg));
            msg->used = true;
            msg->generation = generation;
            msg->kind = kind;
            return msg;
        }
    }
    wf->stats.messages_dropped++; /* like a full socket buffer: the sender retries */
    return NULL;
}

void sim_wf_msg_free(struct sim_world *w, struct sim_wf_msg *msg)
{
    (void)w;
    assert(msg->used);
    msg->used = false;
}

static uint32_t sim_wf_msg_slot(const struct sim_world *w, const struct sim_wf_msg *msg)
{
    return (uint32_t)(msg - w->wf->messages);
}

void sim_wf_msg_send(struct sim_world *w, struct sim_wf_msg *msg, enum sim_wf_event kind,
                     uint32_t to)
{
    assert(kind == SIM_WF_EV_AT_NODE || kind == SIM_WF_EV_AT_CLIENT || kind == SIM_WF_EV_AT_WORKER);
    struct sim_wf *wf = w->wf;
    if (sim_choose_chance(&w->chooser, SIM_CONCERN_WORKFLOW, w->net.config.drop_probability)) {
        wf->stats.messages_dropped++;
        sim_wf_msg_free(w, msg);
        return;
    }
    if (sim_choose_chance(&w->chooser, SIM_CONCERN_WORKFLOW, w->net.config.duplicate_probability)) {
        struct sim_wf_msg *copy = sim_wf_msg_alloc(w, msg->kind);
        if (copy != NULL) {
            uint32_t generation = copy->generation;
            *copy = *msg;
            copy->generation = generation;
            sim_wf_push(w, w->queue.now_us + sim_wf_latency(w), kind, to, sim_wf_msg_slot(w, copy),
                        copy->generation);
        }
    }
    sim_wf_push(w, w->queue.now_us + sim_wf_latency(w), kind, to, sim_wf_msg_slot(w, msg),
                msg->generation);
}

/* Sends an answer for a request (a submitter's) or a report (a worker's). */
static void sim_wf_answer(struct sim_world *w, bool to_worker, uint32_t origin, uint64_t seq,
                          enum sim_wf_answer answer, enum wf_status status, uint32_t hint)
{
    assert(to_worker ? origin < w->scenario.wf.workers : origin < w->wf->request_count);
    assert(status < WF_STATUS_COUNT);
    struct sim_wf_msg *msg = sim_wf_msg_alloc(w, SIM_WF_MSG_ANSWER);
    if (msg == NULL) {
        return;
    }
    msg->to_worker = to_worker;
    msg->origin = origin;
    msg->seq = seq;
    msg->answer = answer;
    msg->status = status;
    msg->hint = hint;
    sim_wf_msg_send(w, msg, to_worker ? SIM_WF_EV_AT_WORKER : SIM_WF_EV_AT_CLIENT, origin);
}

/* ---- the leader side: requests and reports become proposals ---- */

static void sim_wf_record(struct sim_world *w, struct sim_node *n,
                          const struct sim_wf_proposal *proposal)
{
    struct sim_wf_node *wn = &w->wf->nodes[n->index];
    assert(proposal->index >= 1);
    assert(n->role == RAFT_LEADER); /* it proposed just now */
    if (wn->proposal_count == SIM_WF_PROPOSALS_MAX) {
        return; /* untracked: a coordinator command may be proposed twice (apply refuses it), a
                   sender times out and resends */
    }
    wn->proposals[wn->proposal_count++] = *proposal;
}

/* Stamps `command` with the leader's clock, encodes and proposes it. RAFT_OK with the index and
 * term, or the raft error. */
static int sim_wf_propose(struct sim_world *w, struct sim_node *n, struct wf_command *command,
                          uint64_t *index, uint64_t *term)
{
    assert(n->up && !n->paused);
    assert(n->role == RAFT_LEADER); /* G3: only the leader proposes transitions */
    struct wf_error error;
    wf_command_stamp(command, sim_wf_now_ms(w));
    size_t len = wf_command_encode(command, w->wf->encode, sizeof(w->wf->encode), &error);
    if (len == 0) {
        sim_world_fail(w, "n%u cannot encode a workflow command: %s", n->index + 1, error.text);
        return RAFT_ERR_INVALID;
    }
    return sim_node_propose(w, n, w->wf->encode, len, index, term);
}

/* A worker's ping: the leader notes it alive; others redirect it. */
static void sim_wf_node_ping(struct sim_world *w, struct sim_node *n, const struct sim_wf_msg *msg)
{
    if (!n->up || n->paused) {
        return;
    }
    if (n->role == RAFT_LEADER) {
        w->wf->nodes[n->index].seen_us[msg->origin] = w->queue.now_us;
        sim_wf_answer(w, true, msg->origin, 0, SIM_WF_ANSWER_APPLIED, WF_OK, 0);
        return;
    }
    sim_wf_answer(w, true, msg->origin, 0, SIM_WF_ANSWER_REDIRECT, WF_OK,
                  replica_leader(n->replica));
}

static void sim_wf_node_receive(struct sim_world *w, uint32_t node, struct sim_wf_msg *msg)
{
    assert(node < w->node_slots);
    assert(msg->kind != SIM_WF_MSG_ANSWER && msg->kind != SIM_WF_MSG_ASSIGN);
    struct sim_node *n = &w->nodes[node];
    bool from_worker = msg->kind == SIM_WF_MSG_REPORT;
    if (msg->kind == SIM_WF_MSG_PING) {
        sim_wf_node_ping(w, n, msg);
        return;
    }
    if (!n->up || n->paused) {
        sim_world_note(w, "n%u is %s: %s lost", node + 1, n->up ? "paused" : "down",
                       wf_command_type_name(msg->u.command.type));
        return; /* the sender times out */
    }
    if (n->role != RAFT_LEADER) {
        sim_world_note(w, "n%u is not the leader: redirects %s (leader: n%u, 0 = unknown)",
                       node + 1, wf_command_type_name(msg->u.command.type),
                       replica_leader(n->replica));
        sim_wf_answer(w, from_worker, msg->origin, msg->seq, SIM_WF_ANSWER_REDIRECT, WF_OK,
                      replica_leader(n->replica));
        return;
    }
    struct wf_command command = msg->u.command;
    if (command.type == WF_CMD_SUBMIT) {
        /* one definition serves every workflow of a `submit` line: it takes the id at encoding */
        struct wf_def *def = &w->wf->defs[w->wf->requests[msg->origin].definition];
        memcpy(def->id, command.workflow_id, sizeof(def->id));
        command.def = def;
    }
    uint64_t index = 0;
    uint64_t term = 0;
    int rc = sim_wf_propose(w, n, &command, &index, &term);
    if (!n->up) {
        return; /* the proposal failed the replica: it crashed */
    }
    if (rc != RAFT_OK) {
        sim_wf_answer(w, from_worker, msg->origin, msg->seq,
                      rc == RAFT_ERR_NOT_LEADER ? SIM_WF_ANSWER_REDIRECT : SIM_WF_ANSWER_RETRY,
                      WF_OK, replica_leader(n->replica));
        return;
    }
    sim_world_note(w, "n%u proposes %s %s at index %" PRIu64, node + 1,
                   wf_command_type_name(command.type), command.workflow_id, index);
    struct sim_wf_proposal proposal = {
        .index = index,
        .term = term,
        .source = from_worker ? SIM_WF_FROM_WORKER : SIM_WF_FROM_CLIENT,
        .origin = msg->origin,
        .seq = msg->seq,
    };
    sim_wf_record(w, n, &proposal);
}

/* ---- the coordinator driver (G3: the leader only, after its own term's no-op) ---- */

/* Workers the leader's applied state shows free: no open attempt, no start in flight. */
/* The workers this leader heard from recently that hold no attempt (wf_workers_idle). */
static uint32_t sim_wf_free_workers(const struct sim_world *w, const struct sim_wf_node *wn,
                                    const struct wf_state *state,
                                    const struct wf_command *in_flight, uint32_t in_flight_count,
                                    uint32_t *free_workers)
{
    uint32_t live[SIM_WF_WORKERS_MAX];
    uint32_t live_count = 0;
    for (uint32_t id = 0; id < w->scenario.wf.workers; id++) {
        if (wn->seen_us[id] != 0 && wn->seen_us[id] + SIM_WF_SEEN_US > w->queue.now_us) {
            live[live_count++] = id;
        }
    }
    return wf_workers_idle(state, in_flight, in_flight_count, live, live_count, free_workers);
}

static void sim_wf_dispatch(struct sim_world *w, struct sim_node *n,
                            const struct wf_assignment *assignment)
{
    struct sim_wf *wf = w->wf;
    assert(n->role == RAFT_LEADER); /* only a leader hands out work */
    assert(assignment->token.attempt >= 1);
    if (assignment->worker_id >= w->scenario.wf.workers) {
        return; /* not one of ours (a hand-written command) */
    }
    struct sim_wf_msg *msg = sim_wf_msg_alloc(w, SIM_WF_MSG_ASSIGN);
    if (msg == NULL) {
        wf->stats.assignments_lost++;
        return;
    }
    msg->u.assignment = *assignment;
    wf->stats.assignments_sent++;
    sim_world_note(w, "n%u dispatches %s attempt %" PRIu32 " to w%" PRIu32, n->index + 1,
                   assignment->idempotency_key, assignment->token.attempt, assignment->worker_id);
    sim_wf_msg_send(w, msg, SIM_WF_EV_AT_WORKER, assignment->worker_id);
}

/* The broken variant: an assignment built from a start that is only proposed. */
static void sim_wf_dispatch_uncommitted(struct sim_world *w, struct sim_node *n,
                                        const struct wf_command *start)
{
    const struct wf_run *run = wf_state_find(replica_wf(n->replica), start->workflow_id);
    if (run == NULL || start->task_index >= run->def.task_count) {
        return;
    }
    const struct wf_task_def *task = &run->def.tasks[start->task_index];
    struct wf_assignment a;
    memset(&a, 0, sizeof(a));
    memcpy(a.token.workflow_id, start->workflow_id, sizeof(a.token.workflow_id));
    a.token.task_index = start->task_index;
    a.token.attempt = start->attempt;
    a.worker_id = start->worker_id;
    memcpy(a.task_id, task->id, sizeof(a.task_id));
    memcpy(a.kind, task->kind, sizeof(a.kind));
    wf_idempotency_key(start->workflow_id, task->id, a.idempotency_key);
    a.params_len = task->params_len;
    memcpy(a.params, task->params, sizeof(a.params));
    a.started_ms = start->timestamp_ms;
    a.lease_deadline_ms = start->timestamp_ms + task->lease_timeout_ms;
    a.lease_timeout_ms = task->lease_timeout_ms;
    sim_wf_dispatch(w, n, &a);
}

static void sim_wf_coordinate(struct sim_world *w, struct sim_node *n, struct sim_wf_node *wn)
{
    struct sim_wf *wf = w->wf;
    assert(wn->ready && wn->term == n->term);
    const struct wf_state *state = replica_wf(n->replica);
    uint32_t in_flight = 0;
    for (uint32_t i = 0; i < wn->proposal_count; i++) {
        if (wn->proposals[i].source == SIM_WF_FROM_COORDINATOR) {
            wf->in_flight[in_flight++] = wn->proposals[i].command;
        }
    }
    uint32_t free_workers[SIM_WF_WORKERS_MAX];
    uint32_t free_count = sim_wf_free_workers(w, wn, state, wf->in_flight, in_flight, free_workers);
    struct wf_coord_input input = {
        .now_ms = sim_wf_now_ms(w),
        .leader_ready = true,
        .grace_until_ms = wn->grace_until_ms,
        .free_workers = free_workers,
        .free_worker_count = free_count,
        .in_flight = wf->in_flight,
        .in_flight_count = in_flight,
    };
    struct wf_coord_output output = { .commands = wf->batch, .cap = SIM_WF_COORD_BATCH_MAX };
    wf_coordinate(state, &input, &output);
    wf->stats.coordinator_calls++;
    for (uint32_t i = 0; i < output.count && n->up; i++) {
        struct wf_command *command = &wf->batch[i];
        uint64_t index = 0;
        uint64_t term = 0;
        if (sim_wf_propose(w, n, command, &index, &term) != RAFT_OK) {
            break;
        }
        wf->stats.coordinator_proposals++;
        struct sim_wf_proposal proposal = {
            .index = index,
            .term = term,
            .source = SIM_WF_FROM_COORDINATOR,
            .command = *command,
        };
        sim_wf_record(w, n, &proposal);
        if (command->type == WF_CMD_START_ATTEMPT &&
            (w->options.sim_bugs & SIM_BUG_WF_DISPATCH_UNCOMMITTED)) {
            sim_wf_dispatch_uncommitted(w, n, command);
        }
    }
}

void sim_wf_node_tick(struct sim_world *w, struct sim_node *n)
{
    struct sim_wf *wf = w->wf;
    if (!wf->enabled || !n->up || n->paused || n->role != RAFT_LEADER) {
        return; /* G3: followers never propose */
    }
    struct sim_wf_node *wn = &wf->nodes[n->index];
    if (!wn->ready || wn->term != n->term) {
        return; /* not until it applied its own term's no-op (Raft §8) */
    }
    sim_wf_coordinate(w, n, wn);
}

/* ---- node hooks ---- */

static void sim_wf_node_reset(struct sim_wf_node *wn)
{
    wn->ready = false;
    wn->term = 0;
    wn->grace_until_ms = 0;
    wn->proposal_count = 0;
    memset(wn->seen_us, 0, sizeof(wn->seen_us));
}

void sim_wf_node_started(struct sim_world *w, struct sim_node *n)
{
    struct sim_wf_node *wn = &w->wf->nodes[n->index];
    sim_wf_node_reset(wn);
    wn->term = n->term;
    wf_inv_capture(replica_wf(n->replica), wn->before); /* a new process starts empty */
    sim_wf_check_commit(w, n);
}

void sim_wf_node_crashed(struct sim_world *w, struct sim_node *n)
{
    sim_wf_node_reset(&w->wf->nodes[n->index]);
}

/* Leadership lost or a new term: the coordinator stops, its in-flight set is forgotten (what was
 * proposed may still commit; the next leader's applied state shows it). */
static void sim_wf_leadership(struct sim_wf_node *wn, const struct raft_update *u)
{
    if (u->role == RAFT_LEADER && u->term == wn->term) {
        return;
    }
    wn->ready = false;
    wn->term = u->term;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < wn->proposal_count; i++) {
        if (wn->proposals[i].source != SIM_WF_FROM_COORDINATOR) {
            wn->proposals[kept++] = wn->proposals[i]; /* answered when (if) they apply */
        }
    }
    wn->proposal_count = kept;
}

void sim_wf_on_update(struct sim_world *w, struct sim_node *n, const struct raft_update *u)
{
    sim_wf_check_commit(w, n);
    sim_wf_leadership(&w->wf->nodes[n->index], u);
}

/* Answers the proposals made at this index; coordinator proposals leave the in-flight set. */
static void sim_wf_settle_proposals(struct sim_world *w, struct sim_node *n,
                                    const struct raft_entry *e, const struct wf_result *result)
{
    struct sim_wf_node *wn = &w->wf->nodes[n->index];
    assert(e->index >= 1);
    assert(wn->proposal_count <= SIM_WF_PROPOSALS_MAX);
    for (uint32_t i = 0; i < wn->proposal_count; i++) {
        struct sim_wf_proposal *p = &wn->proposals[i];
        if (p->index != e->index) {
            continue;
        }
        if (p->source != SIM_WF_FROM_COORDINATOR) {
            bool ours = p->term == e->term && result != NULL;
            sim_wf_answer(w, p->source == SIM_WF_FROM_WORKER, p->origin, p->seq,
                          ours ? SIM_WF_ANSWER_APPLIED : SIM_WF_ANSWER_RETRY,
                          ours ? result->status : WF_OK, 0);
        }
        wn->proposals[i] = wn->proposals[--wn->proposal_count];
        i--;
    }
}

void sim_wf_on_applied(struct sim_world *w, struct sim_node *n, const struct raft_entry *e,
                       uint64_t state_hash)
{
    struct sim_wf *wf = w->wf;
    struct sim_wf_node *wn = &wf->nodes[n->index];
    sim_wf_check_applied(w, n, e->index, state_hash, "applied");
    if (e->type == RAFT_ENTRY_NOOP && n->role == RAFT_LEADER && e->term == n->term &&
        wn->term == n->term && !wn->ready) {
        wn->ready = true;
        wn->grace_until_ms = sim_wf_now_ms(w) + wf->scenario->grace_us / 1000;
        if (wf->enabled) {
            sim_world_note(w,
                           "n%u applied its no-op of term %" PRIu64 ": it coordinates, no "
                           "lease expires before %" PRIu64 "ms",
                           n->index + 1, e->term, wn->grace_until_ms);
        }
    }
    bool workflow =
        e->type == RAFT_ENTRY_COMMAND && e->data_len > 0 && e->data[0] == WF_COMMAND_TAG;
    if (wn->proposal_count > 0 && !workflow) {
        sim_wf_settle_proposals(w, n, e, NULL); /* another entry took the index */
    }
}

void sim_wf_on_workflow_applied(struct sim_world *w, struct sim_node *n, const struct raft_entry *e,
                                const struct wf_result *result)
{
    struct sim_wf *wf = w->wf;
    assert(e->data_len > 0 && e->data[0] == WF_COMMAND_TAG);
    assert(result->status < WF_STATUS_COUNT);
    sim_wf_check_replica(w, n, e->index);
    sim_wf_settle_proposals(w, n, e, result);
    bool start = e->data_len > 2 && e->data[2] == WF_CMD_START_ATTEMPT;
    if (!start || result->status != WF_OK || n->role != RAFT_LEADER ||
        (w->options.sim_bugs & SIM_BUG_WF_DISPATCH_UNCOMMITTED)) {
        return;
    }
    struct wf_command command;
    struct wf_error error;
    if (!wf_command_decode(e->data, e->data_len, &command, wf->decode_scratch, &error)) {
        sim_world_fail(w, "n%u applied a start it cannot decode: %s", n->index + 1, error.text);
        return;
    }
    struct wf_assignment assignment;
    if (!wf_assignment_from_state(replica_wf(n->replica), command.workflow_id, command.task_index,
                                  &assignment)) {
        sim_world_fail(w, "n%u: no assignment for an applied start of %s", n->index + 1,
                       command.workflow_id);
        return;
    }
    sim_wf_dispatch(w, n, &assignment);
}

void sim_wf_on_restored(struct sim_world *w, struct sim_node *n, uint64_t index,
                        uint64_t state_hash)
{
    sim_wf_check_applied(w, n, index, state_hash, "restored a snapshot at");
    sim_wf_check_replica(w, n, index);
}

/* ---- the run ---- */

void sim_wf_event(struct sim_world *w, uint64_t arg, uint32_t node)
{
    enum sim_wf_event kind = (enum sim_wf_event)(arg >> 56);
    uint32_t index = (uint32_t)(arg >> 32) & 0xffffffu;
    uint32_t generation = (uint32_t)arg;
    struct sim_wf_msg *msg = NULL;
    if (kind == SIM_WF_EV_AT_NODE || kind == SIM_WF_EV_AT_CLIENT || kind == SIM_WF_EV_AT_WORKER) {
        assert(index < SIM_WF_MESSAGES_MAX);
        msg = &w->wf->messages[index];
        assert(msg->used && msg->generation == generation);
    }
    switch (kind) {
    case SIM_WF_EV_REQUEST_SEND:
        sim_wf_request_send(w, index, generation);
        return;
    case SIM_WF_EV_REQUEST_TIMEOUT:
        sim_wf_request_timeout(w, index, generation);
        return;
    case SIM_WF_EV_AT_NODE:
        sim_wf_node_receive(w, node, msg);
        sim_wf_msg_free(w, msg);
        return;
    case SIM_WF_EV_AT_CLIENT:
        sim_wf_client_answer(w, msg);
        sim_wf_msg_free(w, msg);
        return;
    case SIM_WF_EV_AT_WORKER:
        sim_wf_worker_receive(w, msg);
        sim_wf_msg_free(w, msg);
        return;
    case SIM_WF_EV_WORKER_STEP:
        sim_wf_worker_step(w, index, generation);
        return;
    case SIM_WF_EV_WORKER_RESTART:
        sim_wf_worker_restart(w, index, generation);
        return;
    case SIM_WF_EV_REPORT_TIMEOUT:
        sim_wf_report_timeout(w, index, generation);
        return;
    case SIM_WF_EV_SETTLE_DEADLINE:
        sim_wf_check_settle(w, true);
        return;
    case SIM_WF_EV_WORKER_PING:
        sim_wf_worker_ping(w, index, generation);
        return;
    case SIM_WF_EV_COUNT:
        break;
    }
    assert(0 && "unknown workflow event");
}

void sim_wf_phase_end(struct sim_world *w)
{
    struct sim_wf *wf = w->wf;
    if (!wf->enabled) {
        return;
    }
    wf->settle_armed = true;
    sim_wf_push(w, w->queue.now_us + wf->scenario->settle_us, SIM_WF_EV_SETTLE_DEADLINE, 0, 0, 0);
}

bool sim_wf_settled(const struct sim_world *w)
{
    struct sim_wf *wf = w->wf; /* the cache below is written through the world's pointer */
    if (!wf->enabled) {
        return true;
    }
    assert(wf->requests_done <= wf->request_count);
    if (wf->requests_done < wf->request_count) {
        return false; /* asked after every event of the liveness phase: O(1) until all answered */
    }
    uint64_t applied = replica_sm_applied_index(wf->reference);
    if (applied != wf->settled_index || applied == 0) {
        const struct wf_state *state = sim_wf_committed(w);
        wf->settled_runs = true;
        for (uint32_t i = 0; i < wf_state_run_count(state) && wf->settled_runs; i++) {
            enum wf_workflow_state s = wf_state_run_at(state, i)->state;
            wf->settled_runs = wf_workflow_state_terminal(s) || s == WF_WORKFLOW_PAUSED;
        }
        wf->settled_index = applied;
    }
    return wf->settled_runs;
}

void sim_wf_finish(struct sim_world *w)
{
    struct sim_wf *wf = w->wf;
    if (wf == NULL || !wf->enabled || w->stop || w->checker.violated) {
        return;
    }
    sim_wf_check_settle(w, false);
    if (!w->checker.violated) {
        sim_wf_check_rebuild(w);
    }
}

/* ---- structured lines for replay --verbose ---- */

void sim_wf_log_line(struct sim_world *w, struct sim_node *n, const char *line, size_t len)
{
    struct sim_wf *wf = w->wf;
    assert(line != NULL);
    if (wf == NULL || wf->log == NULL) {
        return;
    }
    if (n == NULL ? !wf->log_committed
                  : (wf->log_committed || !((w->options.log_nodes >> n->index) & 1u))) {
        return;
    }
    if (w->options.log_kinds != 0 && !((w->options.log_kinds >> SIM_EV_WF) & 1u)) {
        return;
    }
    if (w->options.log_workflow != NULL) {
        char needle[WF_ID_BYTES_MAX + 16];
        snprintf(needle, sizeof(needle), " workflow=%s ", w->options.log_workflow);
        if (strstr(line, needle) == NULL) {
            return;
        }
    }
    char prefix[24];
    int p = n == NULL ? snprintf(prefix, sizeof(prefix), "    [committed] ")
                      : snprintf(prefix, sizeof(prefix), "    [n%u] ", n->index + 1);
    if (wf->log_used + (size_t)p + len + 1 > SIM_WF_LOG_BYTES_MAX) {
        return; /* more than a megabyte of lines for one event: the rest is not shown */
    }
    memcpy(wf->log + wf->log_used, prefix, (size_t)p);
    memcpy(wf->log + wf->log_used + p, line, len);
    wf->log_used += (size_t)p + len;
    wf->log[wf->log_used++] = '\n';
}

void sim_wf_log_flush(struct sim_world *w)
{
    struct sim_wf *wf = w->wf;
    if (wf == NULL || wf->log_used == 0) {
        return;
    }
    fwrite(wf->log, 1, wf->log_used, w->options.log);
    wf->log_used = 0;
}
