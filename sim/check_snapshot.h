/* Snapshot invariant across restarts (§7): a node's snapshot index never goes backwards. */
#ifndef FLOWRAFT_SIM_CHECK_SNAPSHOT_H
#define FLOWRAFT_SIM_CHECK_SNAPSHOT_H

#include "sim/check.h"

#include <stdbool.h>
#include <stdint.h>

/*
 *   snapshot_monotonic  while a node runs, its snapshot index (raft_node_snapshot_index) never
 *                       decreases; and a node restarts with a snapshot at least as new as the
 *                       newest one it made durable (a group commit that stored it finished):
 *                       recovery loads the newest valid snapshot, then the log after it. A node
 *                       whose disk had a bit flipped at rest is exempt from the restart half: the
 *                       flip may legitimately invalidate its newest snapshot.
 */

struct sim_check_snapshot_node {
    uint64_t running; /* snapshot index at the last step of this incarnation */
    uint64_t staged;  /* newest snapshot handed to storage since the last finished sync */
    uint64_t durable; /* newest snapshot a finished sync stored, any incarnation */
};

struct sim_check_snapshot {
    uint32_t node_count;
    struct sim_check_snapshot_node nodes[SIM_CHECK_NODES_MAX];
};

void sim_check_snapshot_init(struct sim_check_snapshot *cs, uint32_t node_count);
/* After a step: the node's snapshot index now, and the snapshot the update hands to storage
 * (0 if none). */
void sim_check_snapshot_step(struct sim_check_snapshot *cs, struct sim_checker *checker,
                             uint32_t node, uint64_t snapshot_index, uint64_t persisted_index);
/* A group commit finished: what was staged is durable. */
void sim_check_snapshot_durable(struct sim_check_snapshot *cs, uint32_t node);
/* The node crashed: staged writes may be lost. */
void sim_check_snapshot_crash(struct sim_check_snapshot *cs, uint32_t node);
/* The node restarted with this snapshot index; `exempt` when its disk was damaged at rest. */
void sim_check_snapshot_restart(struct sim_check_snapshot *cs, struct sim_checker *checker,
                                uint32_t node, uint64_t snapshot_index, bool exempt);

#endif
