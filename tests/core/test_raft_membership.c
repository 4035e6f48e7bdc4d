/* Tests for membership changes: learners, joint consensus, removal, one change at a time. */
#include "core/raft.h"
#include "tests/core/raft_harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Five nodes exist; 1..3 found the cluster, 4 and 5 join later (created without voters).
 * ctx, if set, holds test_bugs for every node. */
static void founders(struct raft_config *c, uint32_t id, void *ctx)
{
    c->pre_vote = false;
    c->check_quorum = false;
    c->voter_count = id <= 3 ? 3 : 0;
    if (ctx != NULL) {
        c->test_bugs = *(const uint32_t *)ctx;
    }
}

/* Proposes n commands on the leader and delivers everything. */
static void propose_n(struct harness *h, uint32_t leader, int n)
{
    h_propose_n(h, leader, n, "m");
    h_deliver_all(h);
}

static bool voter_of(const struct raft_membership *m, uint32_t id)
{
    for (uint32_t i = 0; i < m->voter_count; i++) {
        if (m->voters[i] == id) {
            return true;
        }
    }
    return false;
}

/* Invariant: a learner receives the whole log but never votes, never counts toward a quorum
 * and never campaigns. */
Test(raft_membership, learner_catches_up_but_never_votes)
{
    struct harness *h = h_create(5, 201, founders, NULL);
    cr_assert(h_elect(h, 1, 0x7));
    propose_n(h, 1, 5);
    const uint32_t voters[] = { 1, 2, 3 };
    const uint32_t learners[] = { 4 };
    cr_assert_eq(h_change_config(h, 1, voters, 3, learners, 1), RAFT_OK);
    h_settle(h, 1, 6);
    struct raft_node *l = h_raft(h, 4);
    cr_assert_eq(raft_node_last_index(l), raft_node_last_index(h_raft(h, 1)));
    cr_assert_eq(raft_node_membership(l)->learner_count, 1, "learned its role from the log");
    uint64_t match = 0;
    cr_assert(raft_node_peer_match(h_raft(h, 1), 4, &match));
    cr_assert_eq(match, raft_node_last_index(h_raft(h, 1)));
    for (int t = 0; t < 100; t++) {
        h_tick(h, 4);
    }
    cr_assert_eq(raft_node_role(l), RAFT_FOLLOWER, "a learner never campaigns");
    h_crash(h, 2);
    h_crash(h, 3);
    uint64_t commit = raft_node_commit_index(h_raft(h, 1));
    propose_n(h, 1, 1);
    h_settle(h, 1, 3);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), commit, "leader + learner is no quorum");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant (§6, thesis §4.3): a voter change goes through C_old,new, which needs majorities of
 * both sets, and the leader then moves to C_new by itself; no two disjoint quorums at any time
 * (the harness checks every step). */
Test(raft_membership, joint_consensus_replaces_members)
{
    struct harness *h = h_create(5, 202, founders, NULL);
    cr_assert(h_elect(h, 1, 0x7));
    propose_n(h, 1, 3);
    h_isolate(h, 4, true);
    h_isolate(h, 5, true);
    const uint32_t target[] = { 1, 4, 5 };
    uint64_t before = raft_node_commit_index(h_raft(h, 1));
    cr_assert_eq(h_change_config(h, 1, target, 3, NULL, 0), RAFT_OK);
    const struct raft_membership *m = raft_node_membership(h_raft(h, 1));
    cr_assert_eq(m->voters_outgoing_count, 3, "the leader uses C_old,new at once");
    h_settle(h, 1, 4);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), before,
                 "old majority alone does not commit the joint entry");
    h_isolate(h, 4, false);
    h_isolate(h, 5, false);
    h_settle(h, 1, 10);
    m = raft_node_membership(h_raft(h, 1));
    cr_assert_eq(m->voters_outgoing_count, 0, "left the joint configuration");
    cr_assert(voter_of(m, 4) && voter_of(m, 5) && !voter_of(m, 2) && !voter_of(m, 3));
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), raft_node_last_index(h_raft(h, 1)));
    h_crash(h, 2);
    h_crash(h, 3);
    propose_n(h, 1, 2);
    h_settle(h, 1, 2);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 4)), raft_node_last_index(h_raft(h, 1)),
                 "the new members commit on their own");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant (§6): a leader removed from the configuration steps down once C_new commits, and
 * the remaining voters elect a new leader; the removed node never leads again. */
Test(raft_membership, removed_leader_steps_down)
{
    struct harness *h = h_create(5, 203, founders, NULL);
    cr_assert(h_elect(h, 1, 0x7));
    propose_n(h, 1, 2);
    const uint32_t target[] = { 2, 3, 4 };
    cr_assert_eq(h_change_config(h, 1, target, 3, NULL, 0), RAFT_OK);
    h_settle(h, 1, 10);
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_FOLLOWER, "removed leader stepped down");
    const struct raft_membership *m = raft_node_membership(h_raft(h, 2));
    cr_assert(voter_of(m, 4) && !voter_of(m, 1));
    cr_assert(h_elect(h, 2, 0xe));
    for (int t = 0; t < 100; t++) {
        h_tick(h, 1);
        h_deliver_all(h);
    }
    cr_assert_neq(raft_node_role(h_raft(h, 1)), RAFT_LEADER);
    propose_n(h, 2, 1);
    h_settle(h, 2, 2);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 4)), raft_node_last_index(h_raft(h, 2)));
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

static int two_quick_changes(uint32_t bugs, char *violation, size_t len)
{
    struct harness *h = h_create(5, 204, founders, bugs ? &bugs : NULL);
    cr_assert(h_elect(h, 1, 0x7));
    propose_n(h, 1, 2);
    h_isolate(h, 1, true); /* nothing commits from here on */
    const uint32_t four[] = { 1, 2, 3, 4 };
    const uint32_t five[] = { 1, 2, 3, 4, 5 };
    cr_assert_eq(h_change_config(h, 1, four, 4, NULL, 0), RAFT_OK);
    int rc = h_change_config(h, 1, five, 5, NULL, 0);
    snprintf(violation, len, "%s", h->violation);
    h_destroy(h);
    return rc;
}

/* Invariant: one configuration change at a time (the previous must commit first); the broken
 * variant RAFT_BUG_UNSAFE_CONFIG_CHANGE applies the second at once and the checker reports
 * configurations with disjoint quorums. */
Test(raft_membership, one_change_at_a_time)
{
    char v[512];
    cr_assert_eq(two_quick_changes(0, v, sizeof(v)), RAFT_ERR_BUSY);
    cr_assert_str_empty(v, "%s", v);
    cr_assert_eq(two_quick_changes(RAFT_BUG_UNSAFE_CONFIG_CHANGE, v, sizeof(v)), RAFT_OK);
    cr_assert(strstr(v, "disjoint quorums") != NULL, "checker must catch it: '%s'", v);
}

/* Invariant (raft.h obligation 14): RAFT_ERR_BUSY while any configuration entry is uncommitted,
 * not only while a joint one is: here a learner-only change (applied directly, no joint phase)
 * and then the leader's own C_new, each uncommitted, refuse the next change until they commit.
 * Nothing else covered this rule: dropping the check went unnoticed by the whole suite. */
Test(raft_membership, busy_until_the_latest_configuration_commits)
{
    struct harness *h = h_create(5, 205, founders, NULL);
    cr_assert(h_elect(h, 1, 0x7));
    propose_n(h, 1, 2);
    const uint32_t three[] = { 1, 2, 3 };
    const uint32_t four[] = { 1, 2, 3, 4 };
    const uint32_t learner4[] = { 4 };
    const uint32_t learner5[] = { 5 };
    h_isolate(h, 1, true);
    cr_assert_eq(h_change_config(h, 1, three, 3, learner4, 1), RAFT_OK, "learners only: direct");
    cr_assert_eq(raft_node_membership(h_raft(h, 1))->voters_outgoing_count, 0);
    cr_assert_eq(h_change_config(h, 1, three, 3, learner5, 1), RAFT_ERR_BUSY);
    h_isolate(h, 1, false);
    h_settle(h, 1, 4);
    cr_assert_eq(h_change_config(h, 1, four, 4, NULL, 0), RAFT_OK, "committed: next change");
    /* Deliver until C_old,new commits and the leader appends C_new, then cut the leader off:
     * C_new cannot commit. */
    for (int i = 0; i < 100 && raft_node_membership(h_raft(h, 1))->voters_outgoing_count > 0; i++) {
        cr_assert_gt(h->net_count, 0);
        h_deliver(h, 0);
    }
    h_isolate(h, 1, true);
    h_clear_net(h);
    cr_assert_eq(raft_node_membership(h_raft(h, 1))->voters_outgoing_count, 0, "C_new appended");
    cr_assert_gt(raft_node_membership_index(h_raft(h, 1)), raft_node_commit_index(h_raft(h, 1)));
    cr_assert_eq(h_change_config(h, 1, three, 3, NULL, 0), RAFT_ERR_BUSY, "C_new uncommitted");
    h_isolate(h, 1, false);
    h_settle(h, 1, 4);
    cr_assert_eq(h_change_config(h, 1, three, 3, NULL, 0), RAFT_OK);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: an uncommitted configuration entry that is truncated stops being in force: the node
 * falls back to the previous configuration. */
Test(raft_membership, truncated_config_entry_reverts)
{
    struct harness *h = h_create(5, 205, founders, NULL);
    cr_assert(h_elect(h, 1, 0x7));
    propose_n(h, 1, 1);
    h_isolate(h, 1, true);
    const uint32_t target[] = { 1, 2, 3, 4, 5 };
    cr_assert_eq(h_change_config(h, 1, target, 5, NULL, 0), RAFT_OK);
    cr_assert_eq(raft_node_membership(h_raft(h, 1))->voters_outgoing_count, 3);
    cr_assert(h_elect(h, 2, 0x6));
    propose_n(h, 2, 1);
    h_isolate(h, 1, false);
    h_settle(h, 2, 6);
    const struct raft_membership *m = raft_node_membership(h_raft(h, 1));
    cr_assert_eq(m->voters_outgoing_count, 0, "the joint entry was truncated");
    cr_assert_eq(m->voter_count, 3);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a restarted node recovers the membership from its log, or from its snapshot once
 * the configuration entries were compacted. */
Test(raft_membership, restart_recovers_membership)
{
    struct harness *h = h_create(5, 206, founders, NULL);
    cr_assert(h_elect(h, 1, 0x7));
    const uint32_t target[] = { 1, 2, 3, 4 };
    cr_assert_eq(h_change_config(h, 1, target, 4, NULL, 0), RAFT_OK);
    h_settle(h, 1, 8);
    h_crash(h, 4);
    h_restart(h, 4);
    cr_assert(voter_of(raft_node_membership(h_raft(h, 4)), 4), "from the log");
    h_settle(h, 1, 2);
    cr_assert_eq(h_take_snapshot(h, 4), RAFT_OK);
    h_crash(h, 4);
    h_restart(h, 4);
    cr_assert_eq(raft_node_snapshot_index(h_raft(h, 4)), h_node(h, 4)->disk_snapshot.meta.index);
    cr_assert(voter_of(raft_node_membership(h_raft(h, 4)), 4), "from the snapshot");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: malformed or misplaced change requests are refused without touching the log. */
Test(raft_membership, invalid_changes_refused)
{
    struct harness *h = h_create(5, 207, founders, NULL);
    cr_assert(h_elect(h, 1, 0x7));
    uint64_t last = raft_node_last_index(h_raft(h, 1));
    const uint32_t voters[] = { 1, 2, 3 };
    const uint32_t dup[] = { 1, 1 };
    cr_assert_eq(h_change_config(h, 1, voters, 0, NULL, 0), RAFT_ERR_INVALID);
    cr_assert_eq(h_change_config(h, 1, dup, 2, NULL, 0), RAFT_ERR_INVALID);
    cr_assert_eq(h_change_config(h, 1, voters, 3, voters, 1), RAFT_ERR_INVALID);
    cr_assert_eq(h_change_config(h, 2, voters, 3, NULL, 0), RAFT_ERR_NOT_LEADER);
    cr_assert_eq(raft_node_last_index(h_raft(h, 1)), last);
    h_destroy(h);
}

/* Node 1 alone founds the cluster; node 2 joins later. */
static void solo_founder(struct raft_config *c, uint32_t id, void *ctx)
{
    (void)ctx;
    c->pre_vote = false;
    c->check_quorum = false;
    c->voter_count = id == 1 ? 1 : 0;
    c->voter_ids[0] = 1;
}

struct drop_from_index {
    uint64_t index;
};

static bool drop_appends_reaching(const struct raft_message *m, void *ctx)
{
    const struct drop_from_index *d = ctx;
    return m->type != RAFT_MSG_APPEND || m->append.prev_index + m->append.entry_count < d->index;
}

/* Liveness: {1} -> {2} via C_old,new = {2}+{1}. The joint entry commits, the leader appends
 * C_new = {2} and crashes before node 2 gets it. Node 1 (log longer, outside its latest
 * configuration) and node 2 (joint, needs node 1's vote) must still elect a leader: node 1 may
 * campaign because its latest configuration is uncommitted and it was a voter before it. */
Test(raft_membership, node_outside_uncommitted_config_still_elects)
{
    struct harness *h = h_create(2, 208, solo_founder, NULL);
    cr_assert(h_elect(h, 1, 0x1));
    propose_n(h, 1, 2);
    uint64_t joint = raft_node_last_index(h_raft(h, 1)) + 1;
    struct drop_from_index d = { joint + 1 };
    const uint32_t target[] = { 2 };
    cr_assert_eq(h_change_config(h, 1, target, 1, NULL, 0), RAFT_OK);
    for (int t = 0; t < 6; t++) {
        h_tick(h, 1);
        h_deliver_filtered(h, drop_appends_reaching, &d);
    }
    cr_assert_eq(raft_node_membership_index(h_raft(h, 1)), joint + 1, "C_new appended");
    cr_assert_eq(raft_node_membership_index(h_raft(h, 2)), joint, "node 2 is still joint");
    cr_assert_eq(raft_node_commit_index(h_raft(h, 2)), joint);
    h_crash(h, 1);
    h_restart(h, 1);
    for (int t = 0; t < 200 && raft_node_role(h_raft(h, 2)) != RAFT_LEADER; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    cr_assert_eq(raft_node_role(h_raft(h, 2)), RAFT_LEADER, "the new member leads in the end");
    cr_assert_geq(raft_node_commit_index(h_raft(h, 2)), joint + 1, "C_new committed");
    cr_assert_eq(raft_node_membership(h_raft(h, 2))->voters_outgoing_count, 0);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Joiners get their appends in pairs, so they hold entries before the one that adds them. */
static void founders_small_batches(struct raft_config *c, uint32_t id, void *ctx)
{
    founders(c, id, ctx);
    c->limits.append_entries_max = 2;
}

/*
 * Invariant (§7): a snapshot's metadata names the configuration in force at its index. A joining
 * node (created without voters) does not know it until a CONFIG entry or a snapshot reaches it:
 * its bootstrap list is empty, not the founders'. Before the fix a joiner that had applied the
 * first entries took a snapshot recording "no voters"; stored, restored or sent on, that
 * snapshot hands an empty configuration to whoever uses it. Now such a snapshot is refused with
 * RAFT_ERR_BUSY until the configuration at its index is known.
 */
Test(raft_membership, joiner_never_snapshots_an_unknown_configuration)
{
    struct harness *h = h_create(5, 207, founders_small_batches, NULL);
    cr_assert(h_elect(h, 1, 0x7));
    propose_n(h, 1, 6);
    const uint32_t voters[] = { 1, 2, 3 };
    const uint32_t learners[] = { 4 };
    cr_assert_eq(h_change_config(h, 1, voters, 3, learners, 1), RAFT_OK);
    uint64_t config_index = raft_node_last_index(h_raft(h, 1));
    /* Node 4 is probed and caught up two entries at a time; stop once it applied some entries
     * that precede the CONFIG entry adding it. */
    for (int i = 0; i < 200 && h->net_count > 0 && h_node(h, 4)->applied < 3; i++) {
        h_deliver(h, 0);
        if (h->net_count == 0) {
            h_tick(h, 1);
        }
    }
    cr_assert_geq(h_node(h, 4)->applied, 3);
    cr_assert_lt(raft_node_last_index(h_raft(h, 4)), config_index, "no CONFIG entry yet");
    cr_assert_eq(h_take_snapshot(h, 4), RAFT_ERR_BUSY);
    cr_assert_null(raft_node_snapshot(h_raft(h, 4)), "a snapshot with no voters was taken");
    h_settle(h, 1, 6);
    cr_assert_eq(h_take_snapshot(h, 4), RAFT_OK, "once the configuration is known");
    const struct raft_snapshot *s = raft_node_snapshot(h_raft(h, 4));
    cr_assert_not_null(s);
    cr_assert_eq(s->meta.membership.voter_count, 3);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}
