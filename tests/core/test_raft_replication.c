/* Tests for log replication: consistency check, conflicts, commit, apply, pipelining, persistence.
 */
#include "core/raft.h"
#include "core/raft_internal.h" /* white-box: a leader's per-peer progress */
#include "tests/core/raft_harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static void plain(struct raft_config *c, uint32_t id, void *ctx)
{
    (void)id;
    (void)ctx;
    c->pre_vote = false;
    c->check_quorum = false;
}

static struct raft_message append_msg(uint32_t from, uint32_t to, uint64_t term,
                                      uint64_t prev_index, uint64_t prev_term, uint64_t commit,
                                      const struct raft_entry *entries, uint32_t count)
{
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND;
    m.from = from;
    m.to = to;
    m.term = term;
    m.append.prev_index = prev_index;
    m.append.prev_term = prev_term;
    m.append.commit = commit;
    m.append.entries = entries;
    m.append.entry_count = count;
    return m;
}

static struct raft_entry cmd(uint64_t index, uint64_t term, const char *text)
{
    return (struct raft_entry){ index, term, RAFT_ENTRY_COMMAND, (uint32_t)strlen(text),
                                (const uint8_t *)text };
}

/* The append response in flight from -> to (removed from the network). */
static struct raft_append_response append_reply(struct harness *h, uint32_t from, uint32_t to)
{
    size_t pos = h_find(h, RAFT_MSG_APPEND_RESPONSE, from, to);
    cr_assert_neq(pos, SIZE_MAX, "no append response from %u to %u", from, to);
    struct raft_message m;
    h_peek(h, pos, &m);
    h_drop(h, pos);
    return m.append_response;
}

static uint32_t elect_any(struct harness *h)
{
    uint32_t leader = 0;
    for (int t = 0; t < 300 && (leader = h_leader(h)) == 0; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    cr_assert_neq(leader, 0, "no leader elected");
    return leader;
}

static struct raft_progress *progress_of(struct harness *h, uint32_t leader, uint32_t peer)
{
    struct raft_progress *pr = raft_progress_find(h_raft(h, leader), peer);
    cr_assert_not_null(pr);
    return pr;
}

/* Invariant: the log is append-only and contiguous: proposals take last+1, updates hand out
 * contiguous entries (the harness's disk rejects gaps), and a leader never rewrites its log. */
Test(raft_replication, append_only_contiguous_log)
{
    struct harness *h = h_create(3, 21, NULL, NULL);
    uint32_t leader = elect_any(h);
    uint64_t last = raft_node_last_index(h_raft(h, leader));
    for (int i = 0; i < 10; i++) {
        uint64_t index = 0;
        cr_assert_eq(h_propose(h, leader, "x", &index), RAFT_OK);
        cr_assert_eq(index, last + 1 + (uint64_t)i);
        if (i % 3 == 0) {
            h_deliver_all(h);
        }
    }
    h_deliver_all(h);
    h_tick_all(h, 3);
    h_deliver_all(h);
    for (uint32_t id = 1; id <= 3; id++) {
        cr_assert_eq(raft_node_last_index(h_raft(h, id)), last + 10);
        cr_assert_eq(h_node(h, id)->disk_count, last + 10, "disk holds the same contiguous log");
    }
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a new leader appends a no-op of its term and commits it (§8), committing earlier
 * entries through it. */
Test(raft_replication, noop_on_election)
{
    struct harness *h = h_create(3, 22, NULL, NULL);
    uint32_t leader = elect_any(h);
    struct raft_entry e;
    cr_assert(raft_node_entry_at(h_raft(h, leader), 1, &e));
    cr_assert_eq(e.type, RAFT_ENTRY_NOOP);
    cr_assert_eq(e.term, raft_node_term(h_raft(h, leader)));
    cr_assert_eq(raft_node_commit_index(h_raft(h, leader)), 1);
    h_destroy(h);
}

/* Invariant (§5.3): AppendEntries whose previous entry does not match is rejected, with a hint
 * pointing at the end of a short log or the first index of the conflicting term. */
Test(raft_replication, consistency_check_rejects_with_hint)
{
    struct harness *h = h_create(3, 23, plain, NULL);
    const uint64_t terms[] = { 1, 1, 2, 2, 2 };
    h_load_log(h, 2, terms, 5, 3, 0);
    struct raft_entry e = cmd(9, 4, "late");
    struct raft_message m = append_msg(1, 2, 4, 8, 3, 0, &e, 1); /* beyond our log */
    h_inject(h, &m);
    struct raft_append_response r = append_reply(h, 2, 1);
    cr_assert(r.reject);
    cr_assert_eq(r.index, 8);
    cr_assert_eq(r.hint_index, 6, "short log: retry at last + 1");
    cr_assert_eq(r.hint_term, 0);
    e = cmd(5, 4, "x");
    m = append_msg(1, 2, 4, 4, 3, 0, &e, 1); /* term mismatch at 4 */
    h_inject(h, &m);
    r = append_reply(h, 2, 1);
    cr_assert(r.reject);
    cr_assert_eq(r.hint_term, 2);
    cr_assert_eq(r.hint_index, 3, "first index of the conflicting term");
    cr_assert_eq(raft_node_last_index(h_raft(h, 2)), 5, "a rejection changes nothing");
    h_destroy(h);
}

/* Invariant (§5.3): the first real conflict truncates the follower's log from that index, and the
 * update tells storage to truncate from exactly there. */
Test(raft_replication, conflict_deletion_truncates_from_first_conflict)
{
    struct harness *h = h_create(3, 24, plain, NULL);
    const uint64_t terms[] = { 1, 1, 2, 2, 2 };
    h_load_log(h, 2, terms, 5, 2, 0);
    struct raft_node *node = h_raft(h, 2);
    struct raft_entry es[3] = { cmd(2, 1, "e2t1"), cmd(3, 3, "new3"), cmd(4, 3, "new4") };
    struct raft_message m = append_msg(1, 2, 3, 1, 1, 0, es, 3);
    struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = &m;
    struct raft_update u;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_OK);
    cr_assert_eq(u.truncate_from_index, 3, "entry 2 matched, 3 conflicted");
    cr_assert_eq(u.entry_count, 2);
    cr_assert_eq(u.entries[0].index, 3);
    cr_assert_eq(u.entries[1].index, 4);
    cr_assert_eq(raft_node_last_index(node), 4, "the old entry 5 went with the conflict");
    cr_assert(h_has(h, 2, 3, 3) && h_has(h, 2, 4, 3) && h_has(h, 2, 2, 1));
    cr_assert_eq(u.message_count, 1);
    cr_assert_eq(u.messages[0].append_response.index, 4);
    h_destroy(h);
}

/* Invariant: a stale or duplicate AppendEntries never truncates: entries already present with the
 * same term are kept, including those after the message's last entry. */
Test(raft_replication, stale_and_duplicate_append_never_truncates)
{
    struct harness *h = h_create(3, 25, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 6, "a");
    h_deliver_all(h);
    struct raft_node *f = h_raft(h, 2);
    uint64_t last = raft_node_last_index(f);
    cr_assert_eq(last, 7);
    /* Replay an old append carrying entries 2..3 (as the leader sent them earlier). */
    struct raft_entry es[2];
    raft_node_entry_at(h_raft(h, 1), 2, &es[0]);
    raft_node_entry_at(h_raft(h, 1), 3, &es[1]);
    uint64_t term = raft_node_term(h_raft(h, 1));
    struct raft_message m = append_msg(1, 2, term, 1, term, 0, es, 2);
    for (int i = 0; i < 3; i++) {
        struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
        ev.receive.message = &m;
        struct raft_update u;
        raft_step(f, &ev, &u);
        cr_assert_eq(u.truncate_from_index, 0, "duplicate %d truncated", i);
        cr_assert_eq(u.entry_count, 0);
        cr_assert_eq(raft_node_last_index(f), last);
    }
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant (Figure 2): a follower's commit is min(leaderCommit, index of the last new entry):
 * entries beyond what the leader's message proved are never committed. */
Test(raft_replication, follower_commit_is_min_of_leader_commit_and_last_new)
{
    struct harness *h = h_create(3, 26, plain, NULL);
    const uint64_t terms[] = { 1, 1, 1, 1 };
    h_load_log(h, 2, terms, 4, 2, 0);
    struct raft_entry e = cmd(2, 1, "e2t1");
    struct raft_message m = append_msg(1, 2, 2, 1, 1, 4, &e, 1);
    h_inject(h, &m);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 2)), 2, "only entry 2 was proven");
    cr_assert_eq(raft_node_last_index(h_raft(h, 2)), 4);
    h_destroy(h);
}

/* Invariant: commit never moves backwards: an older heartbeat or append with a lower commit
 * (reordered) leaves it where it is. */
Test(raft_replication, reordered_heartbeats_commit_monotonic)
{
    struct harness *h = h_create(3, 27, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 4, "b");
    h_deliver_all(h);
    struct raft_node *leader = h_raft(h, 1);
    uint64_t term = raft_node_term(leader);
    struct raft_message hb;
    memset(&hb, 0, sizeof(hb));
    hb.type = RAFT_MSG_HEARTBEAT;
    hb.from = 1;
    hb.to = 2;
    hb.term = term;
    struct raft_entry es[5];
    for (uint64_t i = 0; i < 5; i++) {
        raft_node_entry_at(leader, i + 1, &es[i]);
    }
    struct raft_message m = append_msg(1, 2, term, 0, 0, 0, es, 5);
    h_inject(h, &m);
    hb.heartbeat.commit = 5;
    h_inject(h, &hb);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 2)), 5);
    hb.heartbeat.commit = 3; /* the older heartbeat, arriving late */
    h_inject(h, &hb);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 2)), 5, "commit went backwards");
    m.append.commit = 1;
    h_inject(h, &m);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 2)), 5);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a heartbeat from a deposed leader (older term) changes nothing and is answered with
 * the current term, so the old leader steps down. */
Test(raft_replication, stale_term_heartbeat_answered_with_current_term)
{
    struct harness *h = h_create(3, 28, NULL, NULL);
    uint32_t leader = elect_any(h);
    uint32_t f = leader == 1 ? 2 : 1;
    uint64_t term = raft_node_term(h_raft(h, f));
    struct raft_message hb;
    memset(&hb, 0, sizeof(hb));
    hb.type = RAFT_MSG_HEARTBEAT;
    hb.from = 6 - leader - f;
    hb.to = f;
    hb.term = term - 1 > 0 ? term - 1 : 0;
    hb.heartbeat.commit = 100;
    h_inject(h, &hb);
    cr_assert_eq(raft_node_leader(h_raft(h, f)), leader);
    cr_assert_eq(raft_node_term(h_raft(h, f)), term);
    struct raft_append_response r = append_reply(h, f, hb.from);
    cr_assert(r.reject);
    h_destroy(h);
}

/* Plain Raft (no pre-vote, no check-quorum), founders 1..3 voters, node 4 a learner. */
static void plain_with_learner(struct raft_config *c, uint32_t id, void *ctx)
{
    plain(c, id, ctx);
    c->voter_count = 3;
    c->learner_ids[0] = 4;
    c->learner_count = 1;
}

/*
 * Liveness (§5.1, Figure 2: AppendEntries "reply false if term < currentTerm"): a node that may
 * not campaign (a learner here; equally a removed or joining node) but holds a higher term than
 * the leader must still be caught up. It answers the leader's stale messages with its term; the
 * leader steps down and the next election's term reaches it. Before the fix such answers were
 * sent only with pre-vote or check-quorum on, so the learner dropped every message of the
 * leader's term forever. (Found by the chaos test, seed 25387 of FLOWRAFT_CHAOS_SEEDS: a joining
 * voter stuck in term 7 under a leader of term 6, with both options off.)
 */
Test(raft_replication, node_that_cannot_campaign_in_a_higher_term_is_caught_up)
{
    struct harness *h = h_create(4, 30, plain_with_learner, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 2, "a");
    h_deliver_all(h);
    /* A vote request of term 10 (an election under a configuration nobody kept) reaches only 4. */
    struct raft_message vote;
    memset(&vote, 0, sizeof(vote));
    vote.type = RAFT_MSG_VOTE;
    vote.from = 2;
    vote.to = 4;
    vote.term = 10;
    vote.vote.last_index = 100;
    vote.vote.last_term = 9;
    h_inject(h, &vote);
    h_clear_net(h);
    cr_assert_eq(raft_node_term(h_raft(h, 4)), 10);
    uint64_t index = 0;
    cr_assert_eq(h_propose(h, 1, "after", &index), RAFT_OK);
    for (int t = 0; t < 200 && h_node(h, 4)->applied < index; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    cr_assert_geq(h_node(h, 4)->applied, index, "the learner never caught up");
    cr_assert_geq(raft_node_term(h_raft(h, h_leader(h))), 11, "a new leader, above term 10");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: next/match never regress on stale responses (duplicated successes, late
 * rejections of appends the leader moved past). */
Test(raft_replication, next_match_never_regress_on_stale_responses)
{
    struct harness *h = h_create(3, 29, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 5, "c");
    h_deliver_all(h);
    struct raft_progress *pr = progress_of(h, 1, 2);
    uint64_t match = pr->match_index;
    uint64_t next = pr->next_index;
    cr_assert_eq(match, 6);
    cr_assert_eq(pr->state, RAFT_PROGRESS_REPLICATE);
    struct raft_message resp;
    memset(&resp, 0, sizeof(resp));
    resp.type = RAFT_MSG_APPEND_RESPONSE;
    resp.from = 2;
    resp.to = 1;
    resp.term = raft_node_term(h_raft(h, 1));
    resp.append_response.index = 3; /* an old success */
    h_inject(h, &resp);
    cr_assert_eq(pr->match_index, match);
    cr_assert_eq(pr->next_index, next);
    resp.append_response.reject = true; /* a late rejection of an append at prev 2 */
    resp.append_response.index = 2;
    resp.append_response.hint_index = 1;
    h_inject(h, &resp);
    cr_assert_eq(pr->match_index, match);
    cr_assert_eq(pr->next_index, next);
    cr_assert_eq(pr->state, RAFT_PROGRESS_REPLICATE);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: the leader tracks next/match per peer: a lagging follower is probed back to the
 * divergence point with the hint and then caught up (match = leader's last). */
Test(raft_replication, next_match_tracking_catches_up_lagging_follower)
{
    struct harness *h = h_create(3, 30, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_isolate(h, 3, true);
    h_propose_n(h, 1, 20, "d");
    h_deliver_all(h);
    h_tick_all(h, 2);
    h_deliver_all(h);
    cr_assert_eq(raft_node_last_index(h_raft(h, 3)), 1);
    h_isolate(h, 3, false);
    for (int t = 0; t < 10; t++) {
        h_tick(h, 1);
        h_deliver_all(h);
    }
    struct raft_progress *pr = progress_of(h, 1, 3);
    cr_assert_eq(pr->match_index, 21);
    cr_assert_eq(pr->next_index, 22);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 3)), 21);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: pipelining is bounded: at most inflight_appends_max unacknowledged appends per peer,
 * each within append_entries_max / append_bytes_max. */
static void small_windows(struct raft_config *c, uint32_t id, void *ctx)
{
    plain(c, id, ctx);
    c->limits.inflight_appends_max = 3;
    c->limits.append_entries_max = 2;
    c->limits.append_bytes_max = 64;
    c->limits.entry_bytes_max = 64;
}

Test(raft_replication, pipelining_bounded_window_and_batches)
{
    struct harness *h = h_create(3, 31, small_windows, NULL);
    cr_assert(h_elect(h, 1, 0));
    cr_assert_eq(progress_of(h, 1, 2)->state, RAFT_PROGRESS_REPLICATE);
    h_propose_n(h, 1, 20, "e"); /* nothing delivered yet */
    cr_assert_eq(h_count(h, RAFT_MSG_APPEND, 1, 2), 3, "window of 3 in flight");
    for (size_t i = 0; i < h->net_count; i++) {
        struct raft_message m;
        h_peek(h, i, &m);
        if (m.type == RAFT_MSG_APPEND) {
            cr_assert_leq(m.append.entry_count, 2);
        }
    }
    /* A big entry travels alone within the byte limit. */
    char big[61];
    memset(big, 'z', 60);
    big[60] = '\0';
    h_deliver_all(h);
    cr_assert_eq(h_propose(h, 1, big, NULL), RAFT_OK);
    cr_assert_eq(h_propose(h, 1, big, NULL), RAFT_OK);
    for (size_t i = 0; i < h->net_count; i++) {
        struct raft_message m;
        h_peek(h, i, &m);
        if (m.type == RAFT_MSG_APPEND) {
            cr_assert_leq(m.append.entry_count, 1, "60+60 bytes exceed the 64-byte batch");
        }
    }
    h_deliver_all(h);
    h_tick_all(h, 2);
    h_deliver_all(h);
    for (uint32_t id = 1; id <= 3; id++) {
        cr_assert_eq(raft_node_commit_index(h_raft(h, id)), 23);
    }
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: appends lost in the pipeline are recovered: the follower rejects the gap, the
 * leader probes back and resends (liveness under loss, safety always). */
Test(raft_replication, lost_pipelined_appends_recovered)
{
    struct harness *h = h_create(3, 32, small_windows, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 8, "f");
    size_t pos = h_find(h, RAFT_MSG_APPEND, 1, 2);
    h_drop(h, pos); /* lose the first pipelined append to node 2 */
    h_deliver_all(h);
    for (int t = 0; t < 10; t++) {
        h_tick(h, 1);
        h_deliver_all(h);
    }
    cr_assert_eq(raft_node_last_index(h_raft(h, 2)), 9);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 2)), 9);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant (thesis §10.2.1): the leader counts itself toward a quorum only for entries it has
 * persisted: with one follower down, a follower's ack alone commits nothing until the leader's
 * own write is acknowledged. */
Test(raft_replication, leader_counts_itself_only_when_persisted)
{
    struct harness *h = h_create(3, 34, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_deliver_all(h);
    h_crash(h, 3);
    struct raft_node *leader = h_raft(h, 1);
    uint64_t before = raft_node_commit_index(leader);
    /* Build the proposal's update by hand so its persistence is never acknowledged. */
    struct raft_event ev = { .type = RAFT_EVENT_PROPOSE };
    ev.propose.data = "p";
    ev.propose.data_len = 1;
    struct raft_update u;
    cr_assert_eq(raft_step(leader, &ev, &u), RAFT_OK);
    cr_assert_eq(u.entry_count, 1);
    uint64_t index = u.proposed_index;
    struct raft_message resp;
    memset(&resp, 0, sizeof(resp));
    resp.type = RAFT_MSG_APPEND_RESPONSE;
    resp.from = 2;
    resp.to = 1;
    resp.term = raft_node_term(leader);
    resp.append_response.index = index;
    ev = (struct raft_event){ .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = &resp;
    raft_step(leader, &ev, &u);
    cr_assert_eq(raft_node_commit_index(leader), before, "leader's own copy is not durable");
    ev = (struct raft_event){ .type = RAFT_EVENT_PERSISTED };
    ev.persisted.index = index;
    ev.persisted.term = raft_node_term(leader);
    raft_step(leader, &ev, &u);
    cr_assert_eq(raft_node_commit_index(leader), index);
    h_destroy(h);
}

/* Invariant: committed entries are handed out only once durable locally: a follower that knows
 * the commit but has not persisted the entries applies nothing yet. */
Test(raft_replication, apply_waits_for_local_persistence)
{
    struct harness *h = h_create(3, 35, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_deliver_all(h);
    h_set_manual_sync(h, 2, true);
    h_propose_n(h, 1, 3, "g");
    h_deliver_all(h); /* node 2's acks are held; node 3 makes the majority */
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), 4);
    h_propose_n(h, 1, 1, "carrier"); /* its append carries commit 4 to node 2 */
    h_deliver_all(h);
    struct raft_node *f = h_raft(h, 2);
    cr_assert_eq(raft_node_commit_index(f), 4, "commit learned from the append");
    cr_assert_eq(raft_node_persisted_index(f), 1);
    cr_assert_eq(h_node(h, 2)->applied, 1, "only the no-op, durable earlier, was applied");
    h_sync(h, 2);
    cr_assert_eq(h_node(h, 2)->applied, 4);
    cr_assert_eq(raft_node_applied_index(f), 4);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a persistence ack for entries that were truncated since is ignored: the replaced
 * entries do not count as durable. */
Test(raft_replication, persisted_ack_of_truncated_entries_ignored)
{
    struct harness *h = h_create(3, 36, plain, NULL);
    struct raft_node *f = h_raft(h, 2);
    struct raft_entry old[2] = { cmd(1, 1, "old1"), cmd(2, 1, "old2") };
    struct raft_message m = append_msg(1, 2, 1, 0, 0, 0, old, 2);
    struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = &m;
    struct raft_update u;
    raft_step(f, &ev, &u);
    cr_assert_eq(u.entry_count, 2); /* not acknowledged yet */
    struct raft_entry fresh = cmd(2, 2, "new2");
    m = append_msg(3, 2, 2, 1, 1, 0, &fresh, 1);
    raft_step(f, &ev, &u);
    cr_assert_eq(u.truncate_from_index, 2);
    ev = (struct raft_event){ .type = RAFT_EVENT_PERSISTED };
    ev.persisted.index = 2;
    ev.persisted.term = 1; /* the old write completes */
    raft_step(f, &ev, &u);
    cr_assert_eq(raft_node_persisted_index(f), 1, "only entry 1 survives from the old write");
    ev.persisted.term = 2;
    raft_step(f, &ev, &u);
    cr_assert_eq(raft_node_persisted_index(f), 2);
    h_destroy(h);
}

/* Invariant: entries are applied exactly once, in order, after commit, also when the per-update
 * limit spreads them over several updates, and again from 1 after a restart. */
static void tiny_apply(struct raft_config *c, uint32_t id, void *ctx)
{
    plain(c, id, ctx);
    c->limits.apply_entries_per_update_max = 2;
}

Test(raft_replication, apply_exactly_once_in_order)
{
    struct harness *h = h_create(3, 37, tiny_apply, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 9, "h");
    h_deliver_all(h);
    for (int t = 0; t < 6; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    for (uint32_t id = 1; id <= 3; id++) {
        cr_assert_eq(h_node(h, id)->applied, 10, "node %u", id);
        cr_assert_eq(h_node(h, id)->commands_applied, 9);
    }
    uint64_t sm = h_node(h, 2)->sm_hash;
    h_crash(h, 2);
    h_restart(h, 2);
    for (int t = 0; t < 8; t++) {
        h_tick_all(h, 1);
        h_deliver_all(h);
    }
    cr_assert_eq(h_node(h, 2)->applied, 10);
    cr_assert_eq(h_node(h, 2)->sm_hash, sm, "the rebuilt state machine is the same");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: committed entries keep their term forever (entry terms never change), across
 * leader changes and restarts. */
Test(raft_replication, entry_terms_never_change_after_commit)
{
    struct harness *h = h_create(3, 38, plain, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_propose_n(h, 1, 3, "i");
    h_deliver_all(h);
    h_tick_all(h, 2);
    h_deliver_all(h);
    uint64_t terms[5];
    for (uint64_t i = 1; i <= 4; i++) {
        cr_assert(raft_node_term_at(h_raft(h, 2), i, &terms[i]));
    }
    h_crash(h, 1);
    cr_assert(h_elect(h, 2, 0x6));
    h_propose_n(h, 2, 2, "j");
    h_restart(h, 1);
    for (int t = 0; t < 6; t++) {
        h_tick(h, 2);
        h_deliver_all(h);
    }
    for (uint32_t id = 1; id <= 3; id++) {
        for (uint64_t i = 1; i <= 4; i++) {
            cr_assert(h_has(h, id, i, terms[i]), "node %u index %llu", id, (unsigned long long)i);
        }
        cr_assert_eq(raft_node_commit_index(h_raft(h, id)), 7);
    }
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: proposals go only to the leader: elsewhere RAFT_ERR_NOT_LEADER names the known
 * leader; too-big and log-full proposals are refused without changing the log. */
static void tight_log(struct raft_config *c, uint32_t id, void *ctx)
{
    plain(c, id, ctx);
    c->limits.log_entries_max = 8;
    c->limits.entry_bytes_max = 16;
}

Test(raft_replication, proposal_errors)
{
    struct harness *h = h_create(3, 39, tight_log, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_deliver_all(h);
    struct raft_event ev = { .type = RAFT_EVENT_PROPOSE };
    ev.propose.data = "x";
    ev.propose.data_len = 1;
    struct raft_update u;
    cr_assert_eq(raft_step(h_raft(h, 2), &ev, &u), RAFT_ERR_NOT_LEADER);
    cr_assert_eq(u.leader_id, 1);
    cr_assert_eq(u.proposed_index, 0);
    cr_assert_eq(h_propose(h, 1, "this payload is too long", NULL), RAFT_ERR_TOO_BIG);
    int rc = RAFT_OK;
    int accepted = 0;
    for (int i = 0; i < 10 && rc == RAFT_OK; i++) {
        rc = h_propose(h, 1, "k", NULL);
        accepted += rc == RAFT_OK;
    }
    cr_assert_eq(rc, RAFT_ERR_BUSY);
    cr_assert_eq(accepted, 7, "8 slots, one taken by the no-op");
    cr_assert_eq(raft_node_last_index(h_raft(h, 1)), 8);
    cr_assert_str_neq(raft_node_errmsg(h_raft(h, 1)), "");
    h_destroy(h);
}
