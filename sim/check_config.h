/* Membership invariants across the cluster (§6, thesis ch. 4): configurations in force never
 * have disjoint quorums, and a leader removed from the configuration steps down. */
#ifndef FLOWRAFT_SIM_CHECK_CONFIG_H
#define FLOWRAFT_SIM_CHECK_CONFIG_H

#include "core/raft.h"
#include "sim/check.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * What "in force" means. The committed configuration C (the latest CONFIG entry at or below the
 * run's highest commit index, at index c; the bootstrap one at index 0 before any) is in force.
 * So is the configuration M a node uses (raft_node_membership) whenever that node's log holds C
 * (its entry at c is the committed one, or its snapshot covers c) and M comes from index c or
 * later: such a node can campaign and count votes or replicas with M. A node whose log lacks C is
 * stale: it cannot win an election (its log is behind a majority of C's voters) and is ignored.
 * Learner-only and empty (joining) configurations decide nothing and are ignored too.
 *
 *   quorum_overlap            every two configurations in force (C and each node's M) have
 *                             intersecting quorums: no quorum of one is disjoint from a quorum of
 *                             the other (a joint configuration's quorums hold a majority of both
 *                             voter sets). With joint consensus a node's M is C or a successor
 *                             appended only once C committed, which always overlaps; a direct
 *                             change of two voters, or a second change before the first commits,
 *                             makes disjoint quorums and is reported the moment a node uses it.
 *   removed_leader_steps_down a leader whose own configuration is committed, not joint, and does
 *                             not list it as a voter has stepped down after that step (§6).
 *
 * Committed configurations are found without decoding logs twice: every CONFIG entry appended
 * anywhere is registered with its (index, chain value) from the log mirrors of check.h; once the
 * run's commit index passes it and its chain is the committed chain there, it is committed.
 * Registered entries at or below the committed configuration are dropped, so the registry holds
 * only the few uncommitted ones (bounded; overflowing it is a checker_limit violation).
 */

#define SIM_CHECK_CONFIG_REGISTRY_MAX 256u /* uncommitted CONFIG entries tracked at once */
#define SIM_CHECK_CONFIG_CACHE_MAX    32u  /* remembered pairwise verdicts */

struct sim_check_config_entry {
    uint64_t index;
    uint64_t chain; /* the log mirror's chain value at index: identifies the entry */
    struct raft_membership membership;
};

/* What the checker knows of one node: the configuration it uses and whether it is in force. */
struct sim_check_config_node {
    bool up;
    uint64_t index;          /* raft_node_membership_index */
    uint64_t snapshot_index; /* raft_node_snapshot_index */
    struct raft_membership membership;
    uint64_t hash; /* of `membership`, 0 when it decides nothing (no voters) */
    bool in_force;
};

struct sim_check_config {
    uint32_t node_count;
    struct raft_membership committed; /* C; the bootstrap configuration until one commits */
    uint64_t committed_index;         /* c */
    uint64_t committed_hash;
    uint64_t scanned_to; /* checker.committed_last when the registry was last scanned */
    struct sim_check_config_entry registry[SIM_CHECK_CONFIG_REGISTRY_MAX]; /* [0, registry_count) */
    uint32_t registry_count;
    struct sim_check_config_node nodes[SIM_CHECK_NODES_MAX];
    struct {
        uint64_t a;
        uint64_t b;
        bool disjoint;
    } cache[SIM_CHECK_CONFIG_CACHE_MAX];
    uint32_t cache_next;
    uint64_t committed_changes; /* configurations committed over the run */
    uint64_t overlap_checks;    /* pairwise quorum comparisons made */
};

/* `bootstrap` is the initial configuration every founding node is created with. */
void sim_check_config_init(struct sim_check_config *cc, uint32_t node_count,
                           const struct raft_membership *bootstrap);

/* A CONFIG entry was appended to `node`'s log (after sim_check_append recorded it). */
void sim_check_config_append(struct sim_check_config *cc, struct sim_checker *checker,
                             uint32_t node, uint64_t index, const uint8_t *data, uint32_t len);

/* After every step of `node` (and after its restart): re-reads its configuration and checks. */
void sim_check_config_node(struct sim_check_config *cc, struct sim_checker *checker, uint32_t node,
                           const struct raft_node *raft);

/* The node crashed or stopped: its configuration is in force nowhere until it restarts. */
void sim_check_config_down(struct sim_check_config *cc, uint32_t node);

/* True if some quorum of `a` and some quorum of `b` share no member (ids 1..32). Configurations
 * without voters have no quorum: false. Exposed for tests. */
bool sim_check_config_disjoint(const struct raft_membership *a, const struct raft_membership *b);

/* True if `id` is a voter (incoming or outgoing) or learner of `m`. */
bool sim_membership_has(const struct raft_membership *m, uint32_t id);
bool sim_membership_is_voter(const struct raft_membership *m, uint32_t id);
bool sim_membership_is_learner(const struct raft_membership *m, uint32_t id);

#endif
