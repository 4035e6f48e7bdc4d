/* Leadership transfer (thesis §3.10): catch the target up, then tell it to campaign now. */
#include "core/raft_internal.h"

#include <assert.h>

int raft_transfer_leadership(struct raft_node *node, uint32_t target)
{
    assert(node != NULL);
    if (node->role != RAFT_LEADER) {
        return raft_fail(node, RAFT_ERR_NOT_LEADER, "not the leader (leader is %u)",
                         node->leader_id);
    }
    if (target == node->config.id) {
        return RAFT_OK; /* already there */
    }
    struct raft_progress *pr = raft_progress_find(node, target);
    if (pr == NULL || !pr->voter) {
        return raft_fail(node, RAFT_ERR_INVALID, "transfer target %u is not a voter", target);
    }
    /* Proposals are refused meanwhile so the target can catch up (thesis §3.10 step 1). */
    node->transfer_target = target;
    node->transfer_elapsed = 0;
    raft_transfer_maybe_send(node, pr);
    return RAFT_OK;
}

void raft_transfer_maybe_send(struct raft_node *node, struct raft_progress *pr)
{
    assert(node->role == RAFT_LEADER);
    if (node->transfer_target == 0 || pr->id != node->transfer_target) {
        return;
    }
    if (pr->match_index < raft_log_last_index(&node->log)) {
        raft_replicate_to(node, pr); /* not caught up yet: the next acknowledgement retries */
        return;
    }
    (void)raft_send(node, RAFT_MSG_TIMEOUT_NOW, pr->id);
}
