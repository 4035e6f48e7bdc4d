/* Tests for elections: terms, votes, roles, randomized timeouts, pre-vote and check-quorum. */
#include "core/raft.h"
#include "tests/core/raft_harness.h"

#include <criterion/criterion.h>
#include <string.h>

/* Scripted elections without pre-vote or check-quorum, so only the ticked node campaigns. */
static void plain(struct raft_config *c, uint32_t id, void *ctx)
{
    (void)id;
    (void)ctx;
    c->pre_vote = false;
    c->check_quorum = false;
}

static struct raft_message vote_request(uint32_t from, uint32_t to, uint64_t term,
                                        uint64_t last_index, uint64_t last_term)
{
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_VOTE;
    m.from = from;
    m.to = to;
    m.term = term;
    m.vote.last_index = last_index;
    m.vote.last_term = last_term;
    return m;
}

/* Returns the `granted` flag of the vote response from -> to in flight (asserting there is one). */
static bool vote_granted(struct harness *h, uint32_t from, uint32_t to)
{
    size_t pos = h_find(h, RAFT_MSG_VOTE_RESPONSE, from, to);
    cr_assert_neq(pos, SIZE_MAX, "no vote response from %u to %u", from, to);
    struct raft_message m;
    h_peek(h, pos, &m);
    h_drop(h, pos);
    return m.vote_response.granted;
}

static struct raft_node *make_node(uint32_t id, uint32_t voters, uint64_t seed, bool pre_vote)
{
    struct raft_config c;
    raft_config_default(&c);
    c.id = id;
    c.voter_count = voters;
    for (uint32_t i = 0; i < voters; i++) {
        c.voter_ids[i] = i + 1;
    }
    c.seed = seed;
    c.pre_vote = pre_vote;
    c.check_quorum = pre_vote;
    struct raft_node *node = raft_node_create(&c);
    cr_assert_not_null(node);
    return node;
}

/* Invariant: term monotonicity across restart — the persisted term survives a crash. */
Test(raft_election, term_monotonic_across_restart)
{
    struct harness *h = h_create(3, 1, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    uint64_t term = raft_node_term(h_raft(h, 1));
    cr_assert_geq(term, 1);
    for (uint32_t id = 1; id <= 3; id++) {
        h_crash(h, id);
        h_restart(h, id);
        cr_assert_eq(raft_node_term(h_raft(h, id)), term, "node %u term after restart", id);
    }
    cr_assert(h_elect(h, 2, 0));
    cr_assert_gt(raft_node_term(h_raft(h, 2)), term, "a new election uses a higher term");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Copies leader's log entries first..last into `out` as an AppendEntries to `to`. */
static struct raft_message append_from_leader(struct harness *h, uint32_t leader, uint32_t to,
                                              struct raft_entry *out, uint32_t max)
{
    struct raft_node *l = h_raft(h, leader);
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND;
    m.term = raft_node_term(l);
    m.from = leader;
    m.to = to;
    m.append.commit = raft_node_commit_index(l);
    uint32_t n = 0;
    for (uint64_t i = 1; i <= raft_node_last_index(l) && n < max; i++) {
        cr_assert(raft_node_entry_at(l, i, &out[n]));
        n++;
    }
    m.append.entries = out;
    m.append.entry_count = n;
    return m;
}

/*
 * Invariant: term monotonic across restart, and restart always possible from a crash state the
 * persistence contract allows. A follower that first hears of a term through an AppendEntries
 * persists the new term and that term's entries in one update, entries first (obligation 3). A
 * power cut between the two leaves entries of a term above the stored hard state. The node never
 * sent anything in that term (messages wait for the whole update) nor voted in it, so it
 * restarts in the entries' term with no vote. Before the fix, restore refused the state as
 * corrupt and the node could never restart.
 */
Test(raft_election, restart_after_power_cut_between_entries_and_term)
{
    struct harness *h = h_create(3, 3, plain, NULL);
    cr_assert(h_elect(h, 1, 0x3)); /* node 3 hears nothing: it stays in term 0 */
    cr_assert_eq(raft_node_term(h_raft(h, 3)), 0);
    uint64_t term = raft_node_term(h_raft(h, 1));
    struct raft_entry entries[8];
    struct raft_message append = append_from_leader(h, 1, 3, entries, 8);
    h_set_manual_sync(h, 3, true);
    h_inject(h, &append); /* term `term` and its entries, one update, not yet durable */
    h_crash_before_hard_state(h, 3);
    cr_assert_eq(h_node(h, 3)->disk_hs.term, 0, "the power cut kept the old hard state");
    cr_assert_gt(h_node(h, 3)->disk_count, 0, "but the new term's entries reached the disk");
    h_set_manual_sync(h, 3, false);
    h_restart(h, 3);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    cr_assert_eq(raft_node_term(h_raft(h, 3)), term, "restarts in the entries' term");
    cr_assert_eq(raft_node_vote(h_raft(h, 3)), 0, "with no vote in it");
    h_tick(h, 3);
    cr_assert_eq(h_node(h, 3)->disk_hs.term, term, "and stores that term at its first step");
    for (int t = 0; t < 4; t++) {
        h_tick(h, 1);
        h_deliver_all(h);
    }
    cr_assert_eq(raft_node_commit_index(h_raft(h, 3)), raft_node_commit_index(h_raft(h, 1)));
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: one vote per term, and the vote survives a restart (Figure 2: votedFor). */
Test(raft_election, single_vote_per_term_survives_restart)
{
    struct harness *h = h_create(3, 2, plain, NULL);
    struct raft_message req = vote_request(2, 1, 1, 0, 0);
    h_inject(h, &req);
    cr_assert(vote_granted(h, 1, 2));
    cr_assert_eq(raft_node_vote(h_raft(h, 1)), 2);
    h_crash(h, 1);
    h_restart(h, 1);
    cr_assert_eq(raft_node_vote(h_raft(h, 1)), 2, "vote restored from disk");
    req = vote_request(3, 1, 1, 0, 0);
    h_inject(h, &req);
    cr_assert_not(vote_granted(h, 1, 3), "a second candidate in the same term is refused");
    req = vote_request(2, 1, 1, 0, 0);
    h_inject(h, &req);
    cr_assert(vote_granted(h, 1, 2), "the same candidate gets the same answer again");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: the vote is in the update's hard state whenever the grant is in its messages, so
 * it is durable before the reply is sent (§5.1 / Figure 2). */
Test(raft_election, vote_persisted_before_reply)
{
    struct raft_node *node = make_node(1, 3, 7, false);
    struct raft_message req = vote_request(2, 1, 4, 0, 0);
    struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = &req;
    struct raft_update u;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_OK);
    cr_assert_eq(u.message_count, 1);
    cr_assert_eq(u.messages[0].type, RAFT_MSG_VOTE_RESPONSE);
    cr_assert(u.messages[0].vote_response.granted);
    cr_assert(u.hard_state_changed, "the grant's update persists the vote");
    cr_assert_eq(u.hard_state.term, 4);
    cr_assert_eq(u.hard_state.vote, 2);
    raft_node_destroy(node);
}

/* Invariant: a vote that never reached the disk was never sent: after a crash before the sync,
 * the node may vote for someone else, and nobody saw the lost grant. */
Test(raft_election, unsynced_vote_is_never_sent)
{
    struct harness *h = h_create(3, 3, plain, NULL);
    h_set_manual_sync(h, 1, true);
    struct raft_message req = vote_request(2, 1, 1, 0, 0);
    h_inject(h, &req);
    cr_assert_eq(h_count(h, RAFT_MSG_VOTE_RESPONSE, 1, 0), 0, "held until durable");
    h_crash(h, 1);
    h_restart(h, 1);
    cr_assert_eq(raft_node_vote(h_raft(h, 1)), 0);
    req = vote_request(3, 1, 1, 0, 0);
    h_inject(h, &req);
    h_sync(h, 1);
    cr_assert(vote_granted(h, 1, 3));
    cr_assert_eq(h_count(h, RAFT_MSG_VOTE_RESPONSE, 1, 2), 0, "the lost grant never left");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: one role at a time, and only legal transitions (follower -> pre-candidate ->
 * candidate -> leader; any -> follower), observed through every update of a busy cluster. */
Test(raft_election, one_role_at_a_time_legal_transitions)
{
    struct raft_node *nodes[3];
    enum raft_role roles[3];
    for (uint32_t i = 0; i < 3; i++) {
        nodes[i] = make_node(i + 1, 3, 100 + i, true);
        roles[i] = RAFT_FOLLOWER;
    }
    /* Ticks only: nobody delivers, so nodes keep timing out and polling. */
    for (int t = 0; t < 300; t++) {
        for (uint32_t i = 0; i < 3; i++) {
            struct raft_event ev = { .type = RAFT_EVENT_TICK };
            struct raft_update u;
            raft_step(nodes[i], &ev, &u);
            enum raft_role from = roles[i];
            enum raft_role to = u.role;
            cr_assert_eq(to, raft_node_role(nodes[i]));
            bool legal = from == to || to == RAFT_FOLLOWER ||
                         (from == RAFT_FOLLOWER && to == RAFT_PRE_CANDIDATE) ||
                         (from == RAFT_PRE_CANDIDATE && to == RAFT_CANDIDATE) ||
                         (from == RAFT_CANDIDATE && to == RAFT_LEADER);
            cr_assert(legal, "illegal transition %s -> %s", raft_role_name(from),
                      raft_role_name(to));
            roles[i] = to;
        }
    }
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert_eq(roles[i], RAFT_PRE_CANDIDATE, "isolated pre-vote nodes keep polling");
        cr_assert_eq(raft_node_term(nodes[i]), 0, "polling never raises the term (§9.6)");
        raft_node_destroy(nodes[i]);
    }
}

/* Invariant: a message with a higher term makes a leader a follower in that term first. */
Test(raft_election, step_down_on_higher_term)
{
    struct harness *h = h_create(3, 4, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    uint64_t term = raft_node_term(h_raft(h, 1));
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND_RESPONSE;
    m.from = 2;
    m.to = 1;
    m.term = term + 3;
    m.append_response.index = 1;
    h_inject(h, &m);
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_FOLLOWER);
    cr_assert_eq(raft_node_term(h_raft(h, 1)), term + 3);
    cr_assert_eq(raft_node_vote(h_raft(h, 1)), 0, "a new term starts without a vote");
    cr_assert_eq(h_node(h, 1)->disk_hs.term, term + 3, "the new term was persisted");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a candidate that hears an AppendEntries of its own term steps down (§5.2). */
Test(raft_election, candidate_steps_down_to_current_leader)
{
    struct harness *h = h_create(3, 5, plain, NULL);
    for (int t = 0; t < 100 && raft_node_role(h_raft(h, 3)) != RAFT_CANDIDATE; t++) {
        h_tick(h, 3);
    }
    uint64_t term = raft_node_term(h_raft(h, 3));
    h_clear_net(h);
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND;
    m.from = 1;
    m.to = 3;
    m.term = term;
    h_inject(h, &m);
    cr_assert_eq(raft_node_role(h_raft(h, 3)), RAFT_FOLLOWER);
    cr_assert_eq(raft_node_leader(h_raft(h, 3)), 1);
    cr_assert_eq(raft_node_term(h_raft(h, 3)), term);
    h_destroy(h);
}

/* Invariant: an election starts a new term with a self-vote, persisted with the requests. */
Test(raft_election, election_starts_new_term_with_self_vote)
{
    struct raft_node *node = make_node(2, 3, 9, false);
    struct raft_update u;
    for (int t = 0; t < 100; t++) {
        struct raft_event ev = { .type = RAFT_EVENT_TICK };
        raft_step(node, &ev, &u);
        if (u.role == RAFT_CANDIDATE) {
            break;
        }
    }
    cr_assert_eq(u.role, RAFT_CANDIDATE);
    cr_assert(u.soft_state_changed);
    cr_assert(u.hard_state_changed);
    cr_assert_eq(u.hard_state.term, 1);
    cr_assert_eq(u.hard_state.vote, 2);
    cr_assert_eq(u.message_count, 2);
    for (size_t i = 0; i < u.message_count; i++) {
        cr_assert_eq(u.messages[i].type, RAFT_MSG_VOTE);
        cr_assert_eq(u.messages[i].term, 1);
        cr_assert_neq(u.messages[i].to, 2);
    }
    raft_node_destroy(node);
}

/* Invariant: vote-granting rules (§5.2, §5.4.1): no vote for a lower term or a less up-to-date
 * log; a higher last term wins over a longer log. */
Test(raft_election, vote_granting_rules)
{
    struct harness *h = h_create(3, 6, plain, NULL);
    const uint64_t terms[] = { 1, 1, 2, 2 };
    h_load_log(h, 1, terms, 4, 3, 0);
    struct raft_message req = vote_request(2, 1, 2, 10, 2); /* lower term */
    h_inject(h, &req);
    cr_assert_eq(h_count(h, RAFT_MSG_VOTE_RESPONSE, 1, 2), 0, "lower-term request ignored");
    cr_assert_eq(raft_node_term(h_raft(h, 1)), 3);
    req = vote_request(2, 1, 4, 10, 1); /* longer log, lower last term */
    h_inject(h, &req);
    cr_assert_not(vote_granted(h, 1, 2), "a lower last term loses");
    req = vote_request(3, 1, 5, 3, 2); /* same last term, shorter */
    h_inject(h, &req);
    cr_assert_not(vote_granted(h, 1, 3), "a shorter log with the same last term loses");
    req = vote_request(3, 1, 6, 1, 3); /* higher last term, shorter */
    h_inject(h, &req);
    cr_assert(vote_granted(h, 1, 3), "a higher last term wins although shorter");
    req = vote_request(2, 1, 7, 4, 2); /* same last term, same length */
    h_inject(h, &req);
    cr_assert(vote_granted(h, 1, 2), "an equal log is up-to-date");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: with RAFT_BUG_DOUBLE_VOTE a node grants a second vote in a term, and the harness's
 * election-safety checker catches the two leaders it causes (the check can fail). */
static void double_vote_on_1(struct raft_config *c, uint32_t id, void *ctx)
{
    plain(c, id, ctx);
    if (id == 1 && ctx != NULL) {
        c->test_bugs = RAFT_BUG_DOUBLE_VOTE;
    }
}

static void two_candidates_one_voter(bool bug)
{
    int flag = 1;
    struct harness *h = h_create(3, 8, double_vote_on_1, bug ? &flag : NULL);
    struct raft_message req = vote_request(2, 1, 1, 0, 0);
    h_inject(h, &req);
    req = vote_request(3, 1, 1, 0, 0);
    h_inject(h, &req);
    cr_assert_eq(vote_granted(h, 1, 2), true);
    cr_assert_eq(vote_granted(h, 1, 3), bug, "second vote granted only with the bug");
    h_destroy(h);
}

Test(raft_election, double_vote_only_with_test_bug)
{
    two_candidates_one_voter(false);
    two_candidates_one_voter(true);
}

static size_t run_split_brain(bool bug)
{
    int flag = 1;
    struct harness *h = h_create(3, 9, double_vote_on_1, bug ? &flag : NULL);
    /* Nodes 2 and 3 campaign in the same term; node 1 is asked by both. */
    for (int t = 0; t < 100 && raft_node_role(h_raft(h, 2)) != RAFT_CANDIDATE; t++) {
        h_tick(h, 2);
    }
    for (int t = 0; t < 100 && raft_node_role(h_raft(h, 3)) != RAFT_CANDIDATE; t++) {
        h_tick(h, 3);
    }
    cr_assert_eq(raft_node_term(h_raft(h, 2)), raft_node_term(h_raft(h, 3)));
    h_block(h, 2, 3, true);
    h_block(h, 3, 2, true);
    h_deliver_all(h);
    size_t violated = strstr(h->violation, "election safety") != NULL;
    h_destroy(h);
    return violated;
}

Test(raft_election, at_most_one_leader_per_term_and_checker_catches_double_vote)
{
    cr_assert_eq(run_split_brain(false), 0, "one leader per term without the bug");
    cr_assert_eq(run_split_brain(true), 1, "the checker reports two leaders with the bug");
}

/* Invariant: a candidate needs a majority: two of five votes are not enough, three are. */
Test(raft_election, majority_election)
{
    struct harness *h = h_create(5, 10, plain, NULL);
    for (int t = 0; t < 100 && raft_node_role(h_raft(h, 1)) != RAFT_CANDIDATE; t++) {
        h_tick(h, 1);
    }
    h_drop(h, h_find(h, RAFT_MSG_VOTE, 1, 3));
    h_drop(h, h_find(h, RAFT_MSG_VOTE, 1, 4));
    h_drop(h, h_find(h, RAFT_MSG_VOTE, 1, 5));
    h_deliver_all(h);
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_CANDIDATE, "2 of 5 is not a majority");
    struct raft_message req = vote_request(1, 3, raft_node_term(h_raft(h, 1)), 0, 0);
    h_inject(h, &req);
    h_deliver_all(h);
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_LEADER, "3 of 5 is");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: election timeouts are drawn from the node's PRNG in [min, max], differ between
 * seeds and between rounds, and are identical for identical seeds (determinism). */
Test(raft_election, randomized_timeouts)
{
    bool seen[64] = { false };
    uint32_t distinct = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        uint32_t first[2] = { 0, 0 };
        for (int copy = 0; copy < 2; copy++) {
            struct raft_node *node = make_node(1, 3, seed, false);
            uint32_t ticks = 0;
            struct raft_update u;
            do {
                struct raft_event ev = { .type = RAFT_EVENT_TICK };
                raft_step(node, &ev, &u);
                ticks++;
            } while (u.role == RAFT_FOLLOWER && ticks < 100);
            cr_assert_geq(ticks, 10);
            cr_assert_leq(ticks, 20);
            first[copy] = ticks;
            raft_node_destroy(node);
        }
        cr_assert_eq(first[0], first[1], "same seed, same timeout");
        if (!seen[first[0]]) {
            seen[first[0]] = true;
            distinct++;
        }
    }
    cr_assert_geq(distinct, 6, "timeouts spread over the range (%u distinct)", distinct);
}

/* Invariant (thesis §9.6): a partitioned node with pre-vote never raises its term, so it does not
 * depose the leader when it returns; without pre-vote it does. */
static uint64_t rejoin_terms(bool pre_vote, uint64_t *leader_term_after)
{
    struct harness *h = h_create(3, 11, pre_vote ? NULL : plain, NULL);
    uint32_t leader = 0;
    for (int t = 0; t < 200 && (leader = h_leader(h)) == 0; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    cr_assert_neq(leader, 0);
    uint32_t lone = leader == 3 ? 2 : 3;
    h_isolate(h, lone, true);
    uint64_t term = raft_node_term(h_raft(h, leader));
    for (int t = 0; t < 100; t++) {
        h_tick(h, lone);
        h_deliver_all(h);
        for (uint32_t id = 1; id <= 3; id++) {
            if (id != lone) {
                h_tick(h, id);
            }
        }
        h_deliver_all(h);
    }
    uint64_t lone_term = raft_node_term(h_raft(h, lone));
    h_isolate(h, lone, false);
    for (int t = 0; t < 20; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    uint32_t now = h_leader(h);
    *leader_term_after = now ? raft_node_term(h_raft(h, now)) : 0;
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
    return lone_term - term;
}

Test(raft_election, prevote_partitioned_node_does_not_disrupt)
{
    uint64_t after = 0;
    uint64_t grown = rejoin_terms(true, &after);
    cr_assert_eq(grown, 0, "with pre-vote the lone node's term stayed put");
    uint64_t grown_plain = rejoin_terms(false, &after);
    cr_assert_gt(grown_plain, 0, "without pre-vote the lone node inflates its term");
}

/* Invariant (check-quorum, thesis §6.2): a leader that hears from no quorum for an election
 * timeout steps down; without check-quorum it stays leader. */
static void no_check_quorum(struct raft_config *c, uint32_t id, void *ctx)
{
    (void)id;
    (void)ctx;
    c->check_quorum = false;
}

static enum raft_role isolated_leader_role(bool check_quorum)
{
    struct harness *h = h_create(3, 12, check_quorum ? NULL : no_check_quorum, NULL);
    uint32_t leader = 0;
    for (int t = 0; t < 200 && (leader = h_leader(h)) == 0; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    cr_assert_neq(leader, 0);
    h_isolate(h, leader, true);
    for (int t = 0; t < 25; t++) {
        h_tick(h, leader);
        h_deliver_all(h);
    }
    enum raft_role role = raft_node_role(h_raft(h, leader));
    h_destroy(h);
    return role;
}

Test(raft_election, check_quorum_isolated_leader_steps_down)
{
    cr_assert_eq(isolated_leader_role(true), RAFT_FOLLOWER);
    cr_assert_eq(isolated_leader_role(false), RAFT_LEADER);
}

/* Invariant (thesis §4.2.3): a follower that hears a leader ignores a higher-term vote request
 * (no reply, no term change) unless it is a leadership transfer. */
Test(raft_election, leader_stickiness_ignores_disruptive_votes)
{
    struct harness *h = h_create(3, 13, NULL, NULL);
    uint32_t leader = 0;
    for (int t = 0; t < 200 && (leader = h_leader(h)) == 0; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    uint32_t follower = leader == 1 ? 2 : 1;
    uint32_t other = 6 - leader - follower;
    uint64_t term = raft_node_term(h_raft(h, follower));
    struct raft_message req = vote_request(other, follower, term + 1, 100, term);
    h_inject(h, &req);
    cr_assert_eq(h_count(h, RAFT_MSG_VOTE_RESPONSE, follower, other), 0);
    cr_assert_eq(raft_node_term(h_raft(h, follower)), term);
    req.vote.transfer = true;
    h_inject(h, &req);
    cr_assert_eq(raft_node_term(h_raft(h, follower)), term + 1);
    cr_assert(vote_granted(h, follower, other), "a transfer campaign is heard");
    h_destroy(h);
}

/* Invariant: votes count only for the current term's election, once per voter: stale grants,
 * and the same voter's grant repeated, never make a leader. */
Test(raft_election, stale_and_duplicate_vote_responses_not_counted)
{
    struct harness *h = h_create(5, 14, plain, NULL);
    for (int round = 0; round < 2; round++) {
        uint64_t term = raft_node_term(h_raft(h, 1));
        for (int t = 0; t < 100 && raft_node_term(h_raft(h, 1)) == term; t++) {
            h_tick(h, 1);
        }
    }
    h_clear_net(h);
    uint64_t term = raft_node_term(h_raft(h, 1));
    cr_assert_eq(term, 2);
    struct raft_message resp;
    memset(&resp, 0, sizeof(resp));
    resp.type = RAFT_MSG_VOTE_RESPONSE;
    resp.to = 1;
    resp.vote_response.granted = true;
    /* Grants from term 1 (a previous election) from three voters: all ignored. */
    resp.term = 1;
    for (uint32_t from = 2; from <= 4; from++) {
        resp.from = from;
        h_inject(h, &resp);
    }
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_CANDIDATE);
    /* One voter granting three times counts once: 2 of 5. */
    resp.term = term;
    resp.from = 2;
    for (int i = 0; i < 3; i++) {
        h_inject(h, &resp);
    }
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_CANDIDATE);
    resp.from = 5;
    h_inject(h, &resp);
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_LEADER, "a third distinct voter elects");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a candidate that collects a quorum of rejections gives up and waits as follower. */
Test(raft_election, rejected_candidate_returns_to_follower)
{
    struct harness *h = h_create(3, 15, plain, NULL);
    for (int t = 0; t < 100 && raft_node_role(h_raft(h, 1)) != RAFT_CANDIDATE; t++) {
        h_tick(h, 1);
    }
    h_clear_net(h);
    struct raft_message resp;
    memset(&resp, 0, sizeof(resp));
    resp.type = RAFT_MSG_VOTE_RESPONSE;
    resp.to = 1;
    resp.term = raft_node_term(h_raft(h, 1));
    resp.from = 2;
    h_inject(h, &resp);
    resp.from = 3;
    h_inject(h, &resp);
    cr_assert_eq(raft_node_role(h_raft(h, 1)), RAFT_FOLLOWER);
    cr_assert_eq(raft_node_vote(h_raft(h, 1)), 1, "the vote of the term is kept");
    h_destroy(h);
}
