/* The node's workflow plane: submissions, controls, histories, workers and the leader's
 * coordinator. */
#include "node/server_internal.h"

#include "workflows/wf_coordinator.h"
#include "workflows/wf_executor.h"
#include "workflows/wf_observe.h"
#include "workflows/wf_transitions.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_WF_TEXT_BYTES (256u << 10) /* SHOW and LIST replies */

int node_wf_init(struct node_wf *wf)
{
    assert(wf != NULL);
    memset(wf, 0, sizeof(*wf));
    wf->def = malloc(2 * sizeof(*wf->def)); /* [0] requests, [1] decoding applied entries */
    wf->text = malloc(NODE_WF_TEXT_BYTES);
    if (wf->def == NULL || wf->text == NULL) {
        node_wf_free(wf);
        return -1;
    }
    return 0;
}

void node_wf_free(struct node_wf *wf)
{
    assert(wf != NULL);
    free(wf->def);
    free(wf->text);
    wf->def = NULL;
    wf->text = NULL;
}

void node_wf_reset(struct node_wf *wf)
{
    assert(wf != NULL);
    wf->ready = false;
    wf->term = 0;
    wf->grace_until_ms = 0;
    wf->proposal_count = 0;
}

/* ---- workers ---- */

static struct node_worker *wf_worker_by_id(struct node_wf *wf, uint32_t id)
{
    for (uint32_t i = 0; i < NODE_WORKERS_MAX; i++) {
        if (wf->workers[i].used && wf->workers[i].id == id) {
            return &wf->workers[i];
        }
    }
    return NULL;
}

void node_wf_on_close(struct node_server *s, struct node_client_ref ref)
{
    for (uint32_t i = 0; i < NODE_WORKERS_MAX; i++) {
        struct node_worker *w = &s->wf.workers[i];
        if (w->used && w->conn.slot == ref.slot && w->conn.generation == ref.generation) {
            w->used = false;
        }
    }
}

/* Leadership moved: workers must follow it (their TASKs come from the leader only). */
static void wf_workers_redirect(struct node_server *s)
{
    for (uint32_t i = 0; i < NODE_WORKERS_MAX; i++) {
        struct node_worker *w = &s->wf.workers[i];
        if (!w->used) {
            continue;
        }
        server_redirect(s, w->conn);
        struct node_client *c = node_clients_get(&s->clients, w->conn);
        if (c != NULL) {
            c->closing = 1;
        }
        w->used = false;
    }
}

static void wf_worker_register(struct node_server *s, struct node_client_ref ref, uint32_t id)
{
    if (!server_is_leader(s)) {
        server_redirect(s, ref);
        return;
    }
    struct node_worker *w = wf_worker_by_id(&s->wf, id);
    for (uint32_t i = 0; i < NODE_WORKERS_MAX && w == NULL; i++) {
        w = s->wf.workers[i].used ? NULL : &s->wf.workers[i];
    }
    if (w == NULL) {
        server_reply(s, ref, "ERR busy: %u workers connected", NODE_WORKERS_MAX);
        return;
    }
    *w = (struct node_worker){ .used = true, .id = id, .conn = ref };
    server_reply(s, ref, "OK worker %" PRIu32, id);
}

/* Sends the attempt a start_attempt just opened to its worker, if it is connected here. */
static void wf_dispatch(struct node_server *s, const struct wf_command *start)
{
    struct node_worker *w = wf_worker_by_id(&s->wf, start->worker_id);
    struct wf_assignment a;
    if (w == NULL || !wf_assignment_from_state(replica_wf(s->replica), start->workflow_id,
                                               start->task_index, &a)) {
        return; /* the lease expires and the task is retried elsewhere */
    }
    struct node_buf *out = node_clients_out(&s->clients, w->conn);
    if (out == NULL) {
        return;
    }
    char head[512];
    int n = snprintf(head, sizeof(head), "TASK %s %u %" PRIu32 " %s %s %s %" PRIu64 " ",
                     a.token.workflow_id, (unsigned)a.token.task_index, a.token.attempt, a.task_id,
                     a.idempotency_key, a.kind, a.lease_timeout_ms);
    assert(n > 0 && (size_t)n < sizeof(head));
    if (node_buf_append(out, head, (size_t)n) != 0 ||
        node_proto_quote(out, a.params, a.params_len) != 0 || node_buf_append(out, "\n", 1) != 0) {
        return;
    }
}

/* ---- the coordinator (leader only) ---- */

void node_wf_on_update(struct node_server *s, const struct raft_update *update)
{
    struct node_wf *wf = &s->wf;
    bool leads = update->role == RAFT_LEADER;
    if (!leads || update->term != wf->term) {
        bool was_leader = wf->ready || wf->proposal_count > 0;
        node_wf_reset(wf);
        if (!leads && (was_leader || s->role == RAFT_LEADER)) {
            wf_workers_redirect(s);
        }
    }
    if (leads) {
        wf->term = update->term;
    }
}

void node_wf_on_applied(struct node_server *s, const struct raft_entry *entry)
{
    struct node_wf *wf = &s->wf;
    /* Every coordinator proposal at or below this index is resolved (applied or lost). */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < wf->proposal_count; i++) {
        if (wf->proposals[i].index > entry->index) {
            wf->proposals[kept++] = wf->proposals[i];
        }
    }
    wf->proposal_count = kept;
    if (entry->type == RAFT_ENTRY_NOOP && server_is_leader(s) && entry->term == wf->term &&
        !wf->ready) {
        /* Raft §8: the applied state now holds everything committed before this term. */
        wf->ready = true;
        wf->grace_until_ms = server_wall_ms() + s->config.failover_grace_ms;
    }
}

void node_wf_on_workflow_applied(struct node_server *s, const struct raft_entry *entry,
                                 const struct wf_result *result)
{
    struct node_pending *p = server_pending_take(s, entry->index, entry->term);
    if (p != NULL && p->kind == NODE_PENDING_WF) {
        if (result->status == WF_OK || result->status == WF_OK_EXISTING) {
            server_reply(s, p->client, "OK %s", result->message);
        } else {
            server_reply(s, p->client, "ERR %s: %s", wf_status_name(result->status),
                         result->message);
        }
    } else if (p != NULL) {
        server_reply(s, p->client, "ERR internal: the entry applied is not the one proposed");
    }
    if (result->status != WF_OK || !server_is_leader(s)) {
        return;
    }
    struct wf_command command;
    struct wf_error error;
    if (wf_command_decode(entry->data, entry->data_len, &command, &s->wf.def[1], &error) &&
        command.type == WF_CMD_START_ATTEMPT) {
        wf_dispatch(s, &command);
    }
}

static bool wf_propose_command(struct node_server *s, struct wf_command *command)
{
    static uint8_t payload[WF_COMMAND_BYTES_MAX];
    struct wf_error error;
    size_t len = wf_command_encode(command, payload, sizeof(payload), &error);
    assert(len > 0); /* the coordinator only proposes valid commands */
    uint64_t index = 0;
    uint64_t term = 0;
    if (replica_propose(s->replica, payload, len, &index, &term) != RAFT_OK) {
        return false;
    }
    struct node_wf *wf = &s->wf;
    assert(wf->proposal_count < NODE_WF_PROPOSALS_MAX);
    wf->proposals[wf->proposal_count++] =
        (struct node_wf_proposal){ .index = index, .term = term, .command = *command };
    return true;
}

void node_wf_tick(struct node_server *s)
{
    struct node_wf *wf = &s->wf;
    if (!wf->ready || !server_is_leader(s)) {
        return; /* G3: only a leader that applied its own no-op coordinates */
    }
    uint32_t live[NODE_WORKERS_MAX];
    uint32_t live_count = 0;
    for (uint32_t i = 0; i < NODE_WORKERS_MAX; i++) {
        if (wf->workers[i].used) {
            live[live_count++] = wf->workers[i].id;
        }
    }
    for (uint32_t i = 0; i < wf->proposal_count; i++) {
        wf->in_flight[i] = wf->proposals[i].command;
    }
    const struct wf_state *state = replica_wf(s->replica);
    uint32_t idle[NODE_WORKERS_MAX];
    uint32_t idle_count =
        wf_workers_idle(state, wf->in_flight, wf->proposal_count, live, live_count, idle);
    uint32_t room = NODE_WF_PROPOSALS_MAX - wf->proposal_count;
    struct wf_coord_input input = {
        .now_ms = server_wall_ms(),
        .leader_ready = true,
        .grace_until_ms = wf->grace_until_ms,
        .free_workers = idle,
        .free_worker_count = idle_count,
        .in_flight = wf->in_flight,
        .in_flight_count = wf->proposal_count,
    };
    struct wf_coord_output output = {
        .commands = wf->batch,
        .cap = room < NODE_WF_BATCH_MAX ? room : NODE_WF_BATCH_MAX,
    };
    wf_coordinate(state, &input, &output);
    for (uint32_t i = 0; i < output.count; i++) {
        if (!wf_propose_command(s, &wf->batch[i])) {
            return;
        }
    }
}

/* ---- requests ---- */

/* Copies token `i` into `out` (capacity cap) as a C string. 0, or -1 if empty or too long. */
static int wf_token(const struct node_proto_request *r, uint32_t i, char *out, size_t cap)
{
    if (i >= r->token_count || r->token_lens[i] == 0 || r->token_lens[i] >= cap ||
        memchr(r->tokens[i], '\0', r->token_lens[i]) != NULL) {
        return -1;
    }
    memcpy(out, r->tokens[i], r->token_lens[i]);
    out[r->token_lens[i]] = '\0';
    return 0;
}

static int wf_token_u32(const struct node_proto_request *r, uint32_t i, uint32_t *out)
{
    char text[16];
    if (wf_token(r, i, text, sizeof(text)) != 0) {
        return -1;
    }
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || text[0] == '-' || v > UINT32_MAX) {
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Stamps, encodes and proposes a command for client `ref` (answered when applied). */
static void wf_propose_request(struct node_server *s, struct node_client_ref ref,
                               struct wf_command *command)
{
    static uint8_t payload[WF_COMMAND_BYTES_MAX];
    wf_command_stamp(command, server_wall_ms());
    struct wf_error error;
    size_t len = wf_command_encode(command, payload, sizeof(payload), &error);
    if (len == 0) {
        server_reply(s, ref, "ERR %s", error.text);
        return;
    }
    (void)server_propose(s, ref, NODE_PENDING_WF, payload, len);
}

static void wf_submit(struct node_server *s, struct node_client_ref ref,
                      const struct node_proto_request *r)
{
    struct wf_error error;
    if (!wf_def_from_json(r->rest, r->rest_len, &s->wf.def[0], &error)) {
        server_reply(s, ref, "ERR definition: %s", error.text);
        return;
    }
    struct wf_command command = { .type = WF_CMD_SUBMIT, .def = &s->wf.def[0] };
    memcpy(command.workflow_id, s->wf.def[0].id, sizeof(command.workflow_id));
    wf_propose_request(s, ref, &command);
}

/* PAUSE, RESUME, CANCEL id */
static void wf_control(struct node_server *s, struct node_client_ref ref,
                       const struct node_proto_request *r, enum wf_command_type type)
{
    struct wf_command command = { .type = type };
    if (r->token_count != 1 ||
        wf_token(r, 0, command.workflow_id, sizeof(command.workflow_id)) != 0) {
        server_reply(s, ref, "ERR usage: %s workflow-id", r->command);
        return;
    }
    wf_propose_request(s, ref, &command);
}

/* DONE wf task attempt [output] | FAIL wf task attempt kind | EXTEND wf task attempt */
static void wf_report(struct node_server *s, struct node_client_ref ref,
                      const struct node_proto_request *r, enum wf_command_type type)
{
    struct wf_command command = { .type = type };
    uint32_t task = 0;
    uint32_t extra = type == WF_CMD_EXTEND_LEASE ? 0 : 1;
    bool ok = r->token_count >= 3 && r->token_count <= 3 + extra &&
              wf_token(r, 0, command.workflow_id, sizeof(command.workflow_id)) == 0 &&
              wf_token_u32(r, 1, &task) == 0 && task <= UINT16_MAX &&
              wf_token_u32(r, 2, &command.attempt) == 0;
    command.task_index = (uint16_t)task;
    if (ok && type == WF_CMD_FAIL_ATTEMPT) {
        ok = wf_token(r, 3, command.error_kind, sizeof(command.error_kind)) == 0;
    }
    if (ok && type == WF_CMD_COMPLETE_ATTEMPT && r->token_count == 4) {
        ok = r->token_lens[3] <= WF_OUTPUT_BYTES_MAX;
        if (ok) {
            command.output_len = (uint16_t)r->token_lens[3];
            memcpy(command.output, r->tokens[3], r->token_lens[3]);
        }
    }
    if (!ok) {
        server_reply(s, ref,
                     "ERR usage: DONE wf task attempt [output] | FAIL wf task attempt kind | "
                     "EXTEND wf task attempt (output at most %u bytes)",
                     WF_OUTPUT_BYTES_MAX);
        return;
    }
    wf_propose_request(s, ref, &command);
}

static void wf_show(struct node_server *s, struct node_client_ref ref,
                    const struct node_proto_request *r)
{
    char id[WF_ID_BYTES_MAX + 1];
    if (r->token_count != 1 || wf_token(r, 0, id, sizeof(id)) != 0) {
        server_reply(s, ref, "ERR usage: SHOW workflow-id");
        return;
    }
    size_t len = wf_history_render(replica_wf(s->replica), id, s->wf.text, NODE_WF_TEXT_BYTES);
    if (len == 0) {
        server_reply(s, ref, "NOT_FOUND");
        return;
    }
    if (len >= NODE_WF_TEXT_BYTES) {
        len = NODE_WF_TEXT_BYTES - 1; /* truncated */
    }
    server_reply_lines(s, ref, s->wf.text, len);
}

static void wf_list(struct node_server *s, struct node_client_ref ref)
{
    const struct wf_state *state = replica_wf(s->replica);
    size_t used = 0;
    for (uint32_t i = 0; i < wf_state_run_count(state) && used < NODE_WF_TEXT_BYTES; i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        uint32_t completed = 0;
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            completed += run->tasks[t].state == WF_TASK_COMPLETED;
        }
        int n =
            snprintf(s->wf.text + used, NODE_WF_TEXT_BYTES - used,
                     "%s %s tasks_completed=%" PRIu32 "/%u\n", run->def.id,
                     wf_workflow_state_name(run->state), completed, (unsigned)run->def.task_count);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used >= NODE_WF_TEXT_BYTES) {
        used = NODE_WF_TEXT_BYTES - 1;
    }
    server_reply_lines(s, ref, s->wf.text, used);
}

int node_wf_request(struct node_server *s, struct node_client_ref ref, struct node_proto_request *r)
{
    assert(s != NULL);
    assert(r != NULL);
    const char *c = r->command;
    if (strcmp(c, "SUBMIT") == 0) {
        wf_submit(s, ref, r);
    } else if (strcmp(c, "PAUSE") == 0) {
        wf_control(s, ref, r, WF_CMD_PAUSE);
    } else if (strcmp(c, "RESUME") == 0) {
        wf_control(s, ref, r, WF_CMD_RESUME);
    } else if (strcmp(c, "CANCEL") == 0) {
        wf_control(s, ref, r, WF_CMD_CANCEL);
    } else if (strcmp(c, "DONE") == 0) {
        wf_report(s, ref, r, WF_CMD_COMPLETE_ATTEMPT);
    } else if (strcmp(c, "FAIL") == 0) {
        wf_report(s, ref, r, WF_CMD_FAIL_ATTEMPT);
    } else if (strcmp(c, "EXTEND") == 0) {
        wf_report(s, ref, r, WF_CMD_EXTEND_LEASE);
    } else if (strcmp(c, "SHOW") == 0) {
        wf_show(s, ref, r);
    } else if (strcmp(c, "LIST") == 0) {
        wf_list(s, ref);
    } else if (strcmp(c, "WORKER") == 0) {
        uint32_t id = 0;
        if (r->token_count != 1 || wf_token_u32(r, 0, &id) != 0) {
            server_reply(s, ref, "ERR usage: WORKER id (a number)");
        } else {
            wf_worker_register(s, ref, id);
        }
    } else {
        return 0;
    }
    return 1;
}
