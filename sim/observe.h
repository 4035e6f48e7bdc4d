/* What the issue-6 parts of the simulator observe of each node: ReadIndex outcomes, CONFIG
 * entries, snapshots and leaders, fed to the reads, the membership driver and their checkers. */
#ifndef FLOWRAFT_SIM_OBSERVE_H
#define FLOWRAFT_SIM_OBSERVE_H

#include "core/raft.h"
#include "sim/replica.h"

struct sim_world;
struct sim_node;

/* Called by node.c at the matching replica callbacks and lifetime points. */
void sim_observe_send(struct sim_world *w, struct sim_node *n, const struct replica_sent *sent);
void sim_observe_update(struct sim_world *w, struct sim_node *n, const struct raft_update *u);
void sim_observe_applied(struct sim_world *w, struct sim_node *n, const struct raft_entry *e);
void sim_observe_restored(struct sim_world *w, struct sim_node *n,
                          const struct raft_snapshot *snapshot);
void sim_observe_durable(struct sim_world *w, struct sim_node *n);
void sim_observe_start(struct sim_world *w, struct sim_node *n);
void sim_observe_down(struct sim_world *w, struct sim_node *n);

#endif
