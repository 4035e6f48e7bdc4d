/* Tests for ReadIndex reads (§8) and leadership transfer (thesis §3.10). */
#include "core/raft.h"
#include "tests/core/raft_harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Scripted elections; ctx, if set, holds test_bugs for every node. */
static void plain(struct raft_config *c, uint32_t id, void *ctx)
{
    (void)id;
    c->pre_vote = false;
    c->check_quorum = false;
    c->limits.read_requests_max = 4;
    if (ctx != NULL) {
        c->test_bugs = *(const uint32_t *)ctx;
    }
}

/* Delivers vote traffic only, leaving every other frame in flight. */
static void deliver_votes(struct harness *h)
{
    for (int i = 0; i < 1000; i++) {
        size_t pos = h_find(h, RAFT_MSG_VOTE, 0, 0);
        if (pos == SIZE_MAX) {
            pos = h_find(h, RAFT_MSG_VOTE_RESPONSE, 0, 0);
        }
        if (pos == SIZE_MAX) {
            return;
        }
        h_deliver(h, pos);
    }
}

/* Invariant (§8): a read is answered only after a heartbeat round started after it arrived is
 * acknowledged by a quorum, at the commit index of that moment. */
Test(raft_read, served_after_quorum_round_at_commit_index)
{
    struct harness *h = h_create(3, 301, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 3, "r");
    h_deliver_all(h);
    uint64_t commit = raft_node_commit_index(h_raft(h, 1));
    uint32_t slot = 0;
    cr_assert_eq(h_read(h, 1, &slot), RAFT_OK);
    cr_assert_not(h->reads[slot].done, "not before the heartbeat round");
    cr_assert_eq(h_count(h, RAFT_MSG_HEARTBEAT, 1, 0), 2);
    h_deliver_all(h);
    cr_assert(h->reads[slot].done);
    cr_assert_eq(h->reads[slot].status, RAFT_OK);
    cr_assert_eq(h->reads[slot].index, commit);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Builds: node 1 committed index 5, nodes 2 and 3 hold it but know an older commit; node 1
 * crashes and node 3 wins an election; its no-op is in flight, not committed. */
static struct harness *new_leader_with_stale_commit(uint32_t *bugs)
{
    struct harness *h = h_create(3, 302, plain, bugs);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 4, "r");
    h_deliver_all(h);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), 5);
    cr_assert_lt(raft_node_commit_index(h_raft(h, 3)), 5);
    h_crash(h, 1);
    for (int t = 0; t < 100 && raft_node_role(h_raft(h, 3)) != RAFT_LEADER; t++) {
        h_tick(h, 3);
        deliver_votes(h);
    }
    cr_assert_eq(raft_node_role(h_raft(h, 3)), RAFT_LEADER);
    return h;
}

/* Invariant (§8): a new leader serves no read before its no-op commits (its commit index may lag
 * what its predecessor committed); with RAFT_BUG_READ_BEFORE_NOOP_COMMIT it does and the
 * linearizability check in the harness reports the stale read. */
Test(raft_read, waits_for_the_terms_first_commit)
{
    struct harness *h = new_leader_with_stale_commit(NULL);
    uint32_t slot = 0;
    cr_assert_eq(h_read(h, 3, &slot), RAFT_OK);
    cr_assert_eq(h_count(h, RAFT_MSG_HEARTBEAT, 3, 0), 0, "no round before the no-op commits");
    h_deliver_all(h);
    cr_assert(h->reads[slot].done);
    cr_assert_eq(h->reads[slot].status, RAFT_OK);
    cr_assert_geq(h->reads[slot].index, 6, "at least the new no-op");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);

    uint32_t bugs = RAFT_BUG_READ_BEFORE_NOOP_COMMIT;
    h = new_leader_with_stale_commit(&bugs);
    cr_assert_eq(h_read(h, 3, &slot), RAFT_OK);
    h_deliver_all(h);
    cr_assert(h->reads[slot].done);
    cr_assert_lt(h->reads[slot].index, 5, "the broken leader answered at its stale commit");
    cr_assert(strstr(h->violation, "linearizable read") != NULL, "'%s'", h->violation);
    h_destroy(h);
}

/* Builds: node 1 leads, gets cut off; nodes 2 and 3 elect node 2, which commits more. */
static struct harness *deposed_leader(uint32_t *bugs)
{
    struct harness *h = h_create(3, 303, plain, bugs);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 2, "r");
    h_deliver_all(h);
    h_isolate(h, 1, true);
    cr_assert(h_elect(h, 2, 0x6));
    h_propose_n(h, 2, 3, "r");
    h_settle(h, 2, 2);
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_LEADER, "node 1 has not noticed yet");
    return h;
}

/* Invariant (§8): a deposed leader that has not noticed yet cannot confirm its leadership, so its
 * read never completes with data; it fails once it learns the new term. With
 * RAFT_BUG_READ_WITHOUT_QUORUM it answers from its stale state and the check reports it. */
Test(raft_read, deposed_leader_cannot_serve)
{
    struct harness *h = deposed_leader(NULL);
    uint32_t slot = 0;
    cr_assert_eq(h_read(h, 1, &slot), RAFT_OK);
    h_deliver_all(h);
    cr_assert_not(h->reads[slot].done, "no quorum can answer the round");
    h_isolate(h, 1, false);
    h_settle(h, 2, 2);
    cr_assert(h->reads[slot].done);
    cr_assert_eq(h->reads[slot].status, RAFT_ERR_NOT_LEADER);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);

    uint32_t bugs = RAFT_BUG_READ_WITHOUT_QUORUM;
    h = deposed_leader(&bugs);
    cr_assert_eq(h_read(h, 1, &slot), RAFT_OK);
    cr_assert(h->reads[slot].done);
    cr_assert(strstr(h->violation, "linearizable read") != NULL, "'%s'", h->violation);
    h_destroy(h);
}

/* Invariant: reads go to the leader only; pending reads are bounded (RAFT_ERR_BUSY beyond);
 * a single-voter cluster answers at once. */
Test(raft_read, not_leader_busy_and_single_node)
{
    struct harness *h = h_create(3, 304, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_deliver_all(h);
    cr_assert_eq(h_read(h, 2, NULL), RAFT_ERR_NOT_LEADER);
    h_isolate(h, 1, true);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(h_read(h, 1, NULL), RAFT_OK);
    }
    cr_assert_eq(h_read(h, 1, NULL), RAFT_ERR_BUSY);
    h_destroy(h);

    h = h_create(1, 305, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_tick(h, 1);
    uint32_t slot = 0;
    cr_assert_eq(h_read(h, 1, &slot), RAFT_OK);
    cr_assert(h->reads[slot].done);
    cr_assert_eq(h->reads[slot].status, RAFT_OK);
    h_destroy(h);
}

/* Invariant (thesis §3.10): transferring to an up-to-date voter makes it leader in the next term
 * at once, bypassing pre-vote and leader stickiness; the old leader steps down. */
Test(raft_transfer, to_up_to_date_follower)
{
    struct harness *h = h_create(3, 306, NULL, NULL); /* defaults: pre-vote, check-quorum */
    uint32_t leader = 0;
    for (int t = 0; t < 200 && (leader = h_leader(h)) == 0; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    h_propose_n(h, leader, 2, "r");
    h_deliver_all(h);
    uint32_t target = leader == 3 ? 1 : leader + 1;
    uint64_t term = raft_node_term(h_raft(h, leader));
    cr_assert_eq(h_transfer(h, leader, target), RAFT_OK);
    h_deliver_all(h);
    cr_assert_eq(raft_node_role(h_raft(h, target)), RAFT_LEADER);
    cr_assert_eq(raft_node_term(h_raft(h, target)), term + 1);
    cr_assert_eq(raft_node_role(h_raft(h, leader)), RAFT_FOLLOWER);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a lagging target is caught up first (proposals are refused meanwhile), then takes
 * over with every entry. */
Test(raft_transfer, lagging_target_caught_up_first)
{
    struct harness *h = h_create(3, 307, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_isolate(h, 3, true);
    h_propose_n(h, 1, 5, "r");
    h_deliver_all(h);
    h_isolate(h, 3, false);
    uint64_t last = raft_node_last_index(h_raft(h, 1));
    cr_assert_eq(h_transfer(h, 1, 3), RAFT_OK);
    cr_assert_eq(h_propose(h, 1, "refused", NULL), RAFT_ERR_BUSY);
    h_settle(h, 1, 4);
    cr_assert_eq(raft_node_role(h_raft(h, 3)), RAFT_LEADER);
    cr_assert_geq(raft_node_last_index(h_raft(h, 3)), last + 1, "all entries, then its no-op");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a transfer that cannot finish is abandoned after an election timeout and the
 * leader serves proposals again; bad targets are refused. */
Test(raft_transfer, abandoned_after_timeout_and_bad_targets)
{
    struct harness *h = h_create(3, 308, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_deliver_all(h);
    cr_assert_eq(h_transfer(h, 1, 9), RAFT_ERR_INVALID);
    cr_assert_eq(h_transfer(h, 2, 3), RAFT_ERR_NOT_LEADER);
    h_crash(h, 2);
    h_propose_n(h, 1, 1, "r");
    h_deliver_all(h);
    cr_assert_eq(h_transfer(h, 1, 2), RAFT_OK);
    cr_assert_eq(h_propose(h, 1, "x", NULL), RAFT_ERR_BUSY);
    h_settle(h, 1, 25);
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_LEADER);
    cr_assert_eq(h_propose(h, 1, "y", NULL), RAFT_OK);
    h_destroy(h);
}
