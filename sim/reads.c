/* ReadIndex reads in the simulator: start on the leader, confirm through the core, serve once
 * applied. */
#include "sim/reads.h"

#include "sim/world.h"
#include "workflows/kv.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void sim_reads_remove(struct sim_reads *reads, uint32_t i)
{
    assert(i < reads->count);
    reads->pending[i] = reads->pending[--reads->count];
}

void sim_reads_local(const struct sim_node *n, uint32_t key_number, struct sim_reply *reply)
{
    assert(n->replica != NULL);
    char key[SIM_KEY_NAME_BYTES];
    size_t key_len = sim_key_name(key_number, key);
    const uint8_t *value = NULL;
    uint32_t value_len = 0;
    reply->kind = SIM_REPLY_RESULT;
    reply->status = KV_STATUS_NOT_FOUND;
    if (kv_read(replica_kv(n->replica), key, key_len, &value, &value_len) &&
        value_len <= SIM_VALUE_BYTES_MAX) {
        reply->status = KV_STATUS_OK;
        reply->has_value = 1;
        reply->value_len = (uint8_t)value_len;
        memcpy(reply->value, value, value_len);
    }
}

/* Answers the read from the node's KV state (which has applied at least its index). */
static void sim_reads_serve(struct sim_world *w, struct sim_node *n, const struct sim_read *read)
{
    const struct sim_client *c = &w->clients[read->client];
    struct sim_reply reply = { .op_seq = read->op_seq };
    if ((c->op_seq & 0xffffffffffffull) != read->op_seq || c->op != SIM_OP_GET) {
        return; /* the client moved on (it timed out and finished elsewhere) */
    }
    sim_reads_local(n, c->key, &reply);
    w->reads.served++;
    w->reads.waited_us += w->queue.now_us - read->started_us;
    sim_client_send_reply(w, read->client, &reply);
}

int sim_reads_request(struct sim_world *w, struct sim_node *n, uint32_t client, uint64_t op_seq)
{
    const struct sim_client *c = &w->clients[client];
    if (w->scenario.reads != SIM_READS_INDEX || c->registering || c->op != SIM_OP_GET) {
        return 0;
    }
    struct sim_reads *reads = &n->reads;
    struct sim_reply reply = { .op_seq = op_seq, .kind = SIM_REPLY_RETRY };
    if (reads->count == SIM_READS_PENDING_MAX) {
        w->reads.refused++;
        sim_client_send_reply(w, client, &reply);
        return 1;
    }
    /* Registered before the step: a broken core may answer within it. */
    uint64_t request_id = ++reads->next_request_id;
    reads->pending[reads->count++] = (struct sim_read){
        .request_id = request_id,
        .op_seq = op_seq,
        .started_us = w->queue.now_us,
        .client = client,
    };
    struct raft_event event = { .type = RAFT_EVENT_READ_INDEX };
    event.read_index.request_id = request_id;
    uint32_t incarnation = n->incarnation;
    int rc = replica_request(n->replica, &event, NULL, NULL);
    if (rc == REPLICA_EFAILED) {
        sim_node_failed(w, n, "the replica failed");
        return 1;
    }
    if (!n->up || n->incarnation != incarnation) {
        return 1;
    }
    if (rc == RAFT_OK) {
        w->reads.requested++;
        return 1;
    }
    for (uint32_t i = 0; i < reads->count; i++) {
        if (reads->pending[i].request_id == request_id) {
            sim_reads_remove(reads, i);
            break;
        }
    }
    w->reads.refused++;
    reply.kind = rc == RAFT_ERR_NOT_LEADER ? SIM_REPLY_REDIRECT : SIM_REPLY_RETRY;
    reply.hint = replica_leader(n->replica);
    sim_client_send_reply(w, client, &reply);
    return 1;
}

void sim_reads_on_update(struct sim_world *w, struct sim_node *n, const struct raft_update *u)
{
    struct sim_reads *reads = &n->reads;
    uint64_t applied = replica_applied_index(n->replica);
    for (size_t r = 0; r < u->read_count; r++) {
        const struct raft_read_result *result = &u->reads[r];
        for (uint32_t i = 0; i < reads->count; i++) {
            struct sim_read *read = &reads->pending[i];
            if (read->request_id != result->request_id) {
                continue;
            }
            if (result->status != RAFT_OK) {
                w->reads.not_leader++;
                struct sim_reply reply = { .op_seq = read->op_seq,
                                           .kind = SIM_REPLY_REDIRECT,
                                           .hint = u->leader_id };
                sim_client_send_reply(w, read->client, &reply);
                sim_reads_remove(reads, i);
            } else if (result->index <= applied) {
                sim_reads_serve(w, n, read);
                sim_reads_remove(reads, i);
            } else {
                read->confirmed = 1;
                read->index = result->index;
            }
            break;
        }
    }
}

void sim_reads_on_applied(struct sim_world *w, struct sim_node *n, uint64_t applied)
{
    struct sim_reads *reads = &n->reads;
    for (uint32_t i = 0; i < reads->count; i++) {
        struct sim_read *read = &reads->pending[i];
        if (read->confirmed && read->index <= applied) {
            sim_reads_serve(w, n, read);
            sim_reads_remove(reads, i);
            i--;
        }
    }
}

void sim_reads_reset(struct sim_node *n)
{
    n->reads.count = 0;
}
