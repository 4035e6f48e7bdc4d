/* The snapshot-index checker: never backwards while running, never behind what was durable. */
#include "sim/check_snapshot.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

void sim_check_snapshot_init(struct sim_check_snapshot *cs, uint32_t node_count)
{
    assert(cs != NULL);
    assert(node_count >= 1 && node_count <= SIM_CHECK_NODES_MAX);
    memset(cs, 0, sizeof(*cs));
    cs->node_count = node_count;
}

void sim_check_snapshot_step(struct sim_check_snapshot *cs, struct sim_checker *checker,
                             uint32_t node, uint64_t snapshot_index, uint64_t persisted_index)
{
    assert(node < cs->node_count);
    struct sim_check_snapshot_node *n = &cs->nodes[node];
    checker->checks++;
    if (snapshot_index < n->running) {
        sim_check_violation(checker, "snapshot_monotonic", node + 1, 0, 0, snapshot_index,
                            "node %u's snapshot index went back from %" PRIu64 " to %" PRIu64
                            " while it ran (§7: a stale snapshot never replaces a newer one)",
                            node + 1, n->running, snapshot_index);
    }
    n->running = snapshot_index;
    if (persisted_index > n->staged) {
        n->staged = persisted_index;
    }
}

void sim_check_snapshot_durable(struct sim_check_snapshot *cs, uint32_t node)
{
    assert(node < cs->node_count);
    struct sim_check_snapshot_node *n = &cs->nodes[node];
    if (n->staged > n->durable) {
        n->durable = n->staged;
    }
    n->staged = 0;
}

void sim_check_snapshot_crash(struct sim_check_snapshot *cs, uint32_t node)
{
    assert(node < cs->node_count);
    cs->nodes[node].staged = 0;
    cs->nodes[node].running = 0;
}

void sim_check_snapshot_restart(struct sim_check_snapshot *cs, struct sim_checker *checker,
                                uint32_t node, uint64_t snapshot_index, bool exempt)
{
    assert(node < cs->node_count);
    struct sim_check_snapshot_node *n = &cs->nodes[node];
    checker->checks++;
    if (!exempt && snapshot_index < n->durable) {
        sim_check_violation(checker, "snapshot_monotonic", node + 1, 0, 0, snapshot_index,
                            "node %u restarted from the snapshot at index %" PRIu64
                            " although it had stored one at index %" PRIu64
                            " durably: recovery must load the newest valid snapshot",
                            node + 1, snapshot_index, n->durable);
    }
    n->running = snapshot_index;
    n->staged = 0;
}
