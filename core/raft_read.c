/* Linearizable reads with ReadIndex (§8, thesis §6.4): pending requests and their outcomes. */
#include "core/raft_internal.h"

#include <assert.h>

/*
 * A read is served at index I = the leader's commit when the read can start, which is only
 * once the leader has committed an entry of its own term (its no-op): before that its commit may
 * lag entries committed by its predecessor. Then one heartbeat round, started after the read
 * arrived, must be acknowledged by a quorum: that proves nobody had deposed this leader when
 * the read arrived. The caller serves the read once applied >= I. Lease reads are not offered.
 */

static uint32_t raft_reads_slots(const struct raft_node *node)
{
    return node->config.limits.read_requests_max + 1;
}

static struct raft_read *raft_read_at(struct raft_node *node, uint32_t i)
{
    assert(i < node->read_count);
    return &node->reads[(node->read_head + i) % raft_reads_slots(node)];
}

static void raft_read_emit(struct raft_node *node, uint64_t request_id, uint64_t index, int status)
{
    assert(node->out_read_count < raft_reads_slots(node));
    node->out_reads[node->out_read_count++] =
        (struct raft_read_result){ request_id, index, status };
}

static void raft_read_pop(struct raft_node *node)
{
    assert(node->read_count > 0);
    node->read_head = (node->read_head + 1) % raft_reads_slots(node);
    node->read_count--;
}

static bool raft_term_committed(const struct raft_node *node)
{
    uint64_t term = 0;
    return raft_log_term_at(&node->log, node->commit, &term) && term == node->term;
}

/* Starts one heartbeat round for every queued read that has none yet. */
static void raft_reads_start_round(struct raft_node *node)
{
    bool started = false;
    for (uint32_t i = 0; i < node->read_count; i++) {
        struct raft_read *r = raft_read_at(node, i);
        if (r->context != 0) {
            continue;
        }
        if (!started) {
            node->read_context++;
            started = true;
        }
        r->index = node->commit;
        r->context = node->read_context;
    }
    if (started) {
        raft_broadcast_heartbeat(node, node->read_context);
        raft_reads_check(node);
    }
}

int raft_read_index(struct raft_node *node, uint64_t request_id)
{
    assert(node != NULL);
    if (node->role != RAFT_LEADER) {
        return raft_fail(node, RAFT_ERR_NOT_LEADER, "not the leader (leader is %u)",
                         node->leader_id);
    }
    uint32_t bugs = node->config.test_bugs;
    bool ready_term = raft_term_committed(node) || (bugs & RAFT_BUG_READ_BEFORE_NOOP_COMMIT);
    if (ready_term && (bugs & RAFT_BUG_READ_WITHOUT_QUORUM)) {
        raft_read_emit(node, request_id, node->commit, RAFT_OK); /* broken: no confirmation */
        return RAFT_OK;
    }
    if (node->read_count >= node->config.limits.read_requests_max) {
        return raft_fail(node, RAFT_ERR_BUSY, "%u reads pending (read_requests_max)",
                         node->read_count);
    }
    uint32_t slot = (node->read_head + node->read_count) % raft_reads_slots(node);
    node->reads[slot] = (struct raft_read){ request_id, 0, 0 };
    node->read_count++;
    if (ready_term) {
        raft_reads_start_round(node);
    }
    return RAFT_OK;
}

void raft_reads_on_commit(struct raft_node *node)
{
    assert(node != NULL);
    if (node->role == RAFT_LEADER && node->read_count > 0 && raft_term_committed(node)) {
        raft_reads_start_round(node);
    }
}

void raft_reads_check(struct raft_node *node)
{
    assert(node != NULL);
    while (node->read_count > 0) {
        struct raft_read *r = raft_read_at(node, 0);
        if (r->context == 0 || !raft_quorum_read_acked(node, r->context)) {
            return;
        }
        raft_read_emit(node, r->request_id, r->index, RAFT_OK);
        raft_read_pop(node);
    }
}

void raft_reads_fail_all(struct raft_node *node)
{
    assert(node != NULL);
    while (node->read_count > 0) {
        struct raft_read *r = raft_read_at(node, 0);
        raft_read_emit(node, r->request_id, r->index, RAFT_ERR_NOT_LEADER);
        raft_read_pop(node);
    }
    node->read_head = 0;
}
