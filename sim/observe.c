/* Per-node observers for reads, membership and snapshots, called from node.c's callbacks. */
#include "sim/observe.h"

#include "sim/world.h"

#include <assert.h>
#include <stdbool.h>

void sim_observe_send(struct sim_world *w, struct sim_node *n, const struct replica_sent *sent)
{
    assert(sent->from == n->index + 1);
    if (sent->type == RAFT_MSG_SNAPSHOT) {
        w->stats.snapshot_chunks++;
    }
}

void sim_observe_update(struct sim_world *w, struct sim_node *n, const struct raft_update *u)
{
    const struct raft_node *raft = replica_raft(n->replica);
    for (size_t i = 0; i < u->entry_count; i++) {
        const struct raft_entry *e = &u->entries[i];
        if (e->type == RAFT_ENTRY_CONFIG) {
            sim_check_config_append(&w->config_check, &w->checker, n->index, e->index, e->data,
                                    e->data_len);
        }
    }
    if (u->snapshot != NULL && u->snapshot_restore != NULL) {
        w->stats.snapshot_installs++; /* received from the leader, chunk by chunk */
    }
    sim_check_snapshot_step(&w->snapshot_check, &w->checker, n->index,
                            raft_node_snapshot_index(raft),
                            u->snapshot != NULL ? u->snapshot->meta.index : 0);
    sim_check_config_node(&w->config_check, &w->checker, n->index, raft);
    sim_reads_on_update(w, n, u);
    if (u->role == RAFT_LEADER) {
        sim_membership_on_leader(w, n);
    }
}

void sim_observe_applied(struct sim_world *w, struct sim_node *n, const struct raft_entry *e)
{
    sim_reads_on_applied(w, n, e->index);
}

void sim_observe_restored(struct sim_world *w, struct sim_node *n,
                          const struct raft_snapshot *snapshot)
{
    sim_reads_on_applied(w, n, snapshot->meta.index);
}

void sim_observe_durable(struct sim_world *w, struct sim_node *n)
{
    sim_check_snapshot_durable(&w->snapshot_check, n->index);
}

void sim_observe_start(struct sim_world *w, struct sim_node *n)
{
    const struct raft_node *raft = replica_raft(n->replica);
    /* A bit flipped at rest may have invalidated the newest snapshot: then an older one is the
     * newest valid one. */
    bool damaged = sim_fs_stats(n->fs)->bit_flips > 0;
    sim_check_snapshot_restart(&w->snapshot_check, &w->checker, n->index,
                               raft_node_snapshot_index(raft), damaged);
    sim_check_config_node(&w->config_check, &w->checker, n->index, raft);
}

void sim_observe_down(struct sim_world *w, struct sim_node *n)
{
    sim_reads_reset(n);
    sim_check_snapshot_crash(&w->snapshot_check, n->index);
    sim_check_config_down(&w->config_check, n->index);
}
