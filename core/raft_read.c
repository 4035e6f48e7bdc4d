/* Linearizable reads with ReadIndex (§8, thesis §6.4): pending requests and their outcomes. */
#include "core/raft_internal.h"

#include <assert.h>

/* Leadership is gone: every pending read completes with RAFT_ERR_NOT_LEADER in this update. */
void raft_reads_fail_all(struct raft_node *node)
{
    assert(node != NULL);
    assert(node->read_count <= node->config.limits.read_requests_max);
    for (uint32_t i = 0; i < node->read_count; i++) {
        const struct raft_read *r =
            &node->reads[(node->read_head + i) % (node->config.limits.read_requests_max + 1)];
        assert(node->out_read_count <= node->config.limits.read_requests_max);
        node->out_reads[node->out_read_count++] =
            (struct raft_read_result){ r->request_id, r->index, RAFT_ERR_NOT_LEADER };
    }
    node->read_head = 0;
    node->read_count = 0;
}
