/* Roles, randomized election timers, pre-vote and vote rules (§5.2, §5.4.1, thesis §9.6). */
#include "core/raft_internal.h"

#include <assert.h>

void raft_reset_election_timer(struct raft_node *node)
{
    assert(node != NULL);
    const struct raft_config *c = &node->config;
    node->election_elapsed = 0;
    /* §5.2: randomized timeouts make split votes rare. */
    node->election_timeout = (uint32_t)prng_range(&node->prng, c->election_timeout_ticks_min,
                                                  c->election_timeout_ticks_max);
    assert(node->election_timeout >= c->election_timeout_ticks_min);
}

static void raft_votes_clear(struct raft_node *node)
{
    for (uint32_t i = 0; i < node->progress_count; i++) {
        node->progress[i].vote = RAFT_VOTE_NONE;
    }
}

void raft_become_follower(struct raft_node *node, uint64_t term, uint32_t leader_id)
{
    assert(node != NULL);
    assert(term >= node->term); /* term monotonicity (Figure 2, "Rules for Servers") */
    if (term > node->term) {
        node->term = term;
        node->vote = 0; /* a new term starts without a vote */
    }
    if (node->role == RAFT_LEADER) {
        raft_reads_fail_all(node);
    }
    node->role = RAFT_FOLLOWER;
    node->leader_id = leader_id;
    node->transfer_target = 0;
    raft_votes_clear(node);
    raft_reset_election_timer(node);
}

bool raft_in_lease(const struct raft_node *node)
{
    assert(node != NULL);
    return node->leader_id != 0 && node->election_elapsed < node->config.election_timeout_ticks_min;
}

/* Sends our log position to every other voter, as a (pre-)vote request for `term`. */
static void raft_request_votes(struct raft_node *node, enum raft_message_type type, uint64_t term,
                               bool transfer)
{
    for (uint32_t i = 0; i < node->progress_count; i++) {
        const struct raft_progress *pr = &node->progress[i];
        if (pr->id == node->config.id || (!pr->voter && !pr->voter_outgoing)) {
            continue;
        }
        struct raft_message *m = raft_send(node, type, pr->id);
        if (m == NULL) {
            return;
        }
        m->term = term;
        m->vote.last_index = raft_log_last_index(&node->log);
        m->vote.last_term = raft_log_last_term(&node->log);
        m->vote.transfer = transfer;
    }
}

/* Records one voter's answer, once per election (votes are counted once per voter). */
static void raft_record_vote(struct raft_node *node, uint32_t id, bool granted)
{
    struct raft_progress *pr = raft_progress_find(node, id);
    if (pr == NULL || pr->vote != RAFT_VOTE_NONE) {
        return;
    }
    pr->vote = granted ? RAFT_VOTE_GRANTED : RAFT_VOTE_REJECTED;
}

static void raft_become_candidate(struct raft_node *node, bool transfer)
{
    /* §5.2: increment the term, vote for self, reset the timer, request votes. */
    node->term++;
    node->vote = node->config.id;
    node->role = RAFT_CANDIDATE;
    node->leader_id = 0;
    raft_votes_clear(node);
    raft_reset_election_timer(node);
    raft_record_vote(node, node->config.id, true);
    if (raft_quorum_vote_result(node) > 0) {
        raft_become_leader(node);
        return;
    }
    raft_request_votes(node, RAFT_MSG_VOTE, node->term, transfer);
}

static void raft_become_pre_candidate(struct raft_node *node)
{
    /* Thesis §9.6: poll with term + 1 without changing our term or vote. */
    node->role = RAFT_PRE_CANDIDATE;
    node->leader_id = 0;
    raft_votes_clear(node);
    raft_reset_election_timer(node);
    raft_record_vote(node, node->config.id, true);
    if (raft_quorum_vote_result(node) > 0) {
        raft_become_candidate(node, false);
        return;
    }
    raft_request_votes(node, RAFT_MSG_PRE_VOTE, node->term + 1, false);
}

void raft_campaign(struct raft_node *node, bool transfer)
{
    assert(node != NULL);
    assert(node->role != RAFT_LEADER);
    if (!raft_may_campaign(node)) {
        return; /* learners and removed nodes never campaign */
    }
    if (node->config.pre_vote && !transfer) {
        raft_become_pre_candidate(node);
    } else {
        raft_become_candidate(node, transfer);
    }
}

void raft_become_leader(struct raft_node *node)
{
    assert(node != NULL);
    assert(node->role == RAFT_CANDIDATE);
    node->role = RAFT_LEADER;
    node->leader_id = node->config.id;
    node->election_elapsed = 0;
    node->heartbeat_elapsed = 0;
    node->transfer_target = 0;
    node->read_context = 0;
    uint64_t next = raft_log_last_index(&node->log) + 1;
    for (uint32_t i = 0; i < node->progress_count; i++) {
        raft_progress_reset(&node->progress[i], next); /* §5.3: next = last + 1, match = 0 */
    }
    /* §8, thesis §6.4: a no-op of the new term lets the leader commit (and learn) everything
     * before it. There is always room: an entry with no payload needs only a metadata slot,
     * and the leader drops the no-op only if even that is missing. */
    if (raft_log_can_append(&node->log, 0)) {
        raft_append_local(node, RAFT_ENTRY_NOOP, NULL, 0);
    }
    raft_maybe_commit(node);
    if (node->role == RAFT_LEADER) {
        raft_broadcast_append(node);
    }
}

/* Follower, pre-candidate, candidate: count down to an election. */
static void raft_tick_election(struct raft_node *node)
{
    node->election_elapsed++;
    if (node->election_elapsed >= node->election_timeout) {
        raft_campaign(node, false);
    }
}

/* Leader: heartbeats, check-quorum (thesis §6.2), transfer timeout, pending reconfiguration. */
static void raft_tick_leader(struct raft_node *node)
{
    node->heartbeat_elapsed++;
    node->election_elapsed++;
    if (node->transfer_target != 0 &&
        ++node->transfer_elapsed >= node->config.election_timeout_ticks_max) {
        node->transfer_target = 0; /* the target did not take over in time: carry on */
    }
    if (node->election_elapsed >= node->config.election_timeout_ticks_min) {
        node->election_elapsed = 0;
        if (node->config.check_quorum && !raft_quorum_active(node)) {
            raft_become_follower(node, node->term, 0);
            return;
        }
        for (uint32_t i = 0; i < node->progress_count; i++) {
            node->progress[i].recent_active = false;
        }
    }
    raft_reconfig_on_commit(node); /* retries leaving a joint configuration if the log was full */
    if (node->role != RAFT_LEADER) {
        return;
    }
    if (node->heartbeat_elapsed >= node->config.heartbeat_interval_ticks) {
        node->heartbeat_elapsed = 0;
        raft_broadcast_heartbeat(node, node->read_context);
    }
}

int raft_tick(struct raft_node *node)
{
    assert(node != NULL);
    if (node->role == RAFT_LEADER) {
        raft_tick_leader(node);
    } else {
        raft_tick_election(node);
    }
    return RAFT_OK;
}

/* §5.4.1: the candidate's log is at least as up-to-date as ours. */
static bool raft_log_up_to_date(const struct raft_node *node, uint64_t last_index,
                                uint64_t last_term)
{
    uint64_t my_term = raft_log_last_term(&node->log);
    if (last_term != my_term) {
        return last_term > my_term;
    }
    return last_index >= raft_log_last_index(&node->log);
}

/* May we vote for `from`? (§5.2: one vote per term, first come first served.) */
static bool raft_can_vote(const struct raft_node *node, const struct raft_message *m)
{
    if (m->type == RAFT_MSG_PRE_VOTE) {
        /* A pre-vote changes nothing; grant it for a future term (thesis §9.6). */
        return m->term > node->term;
    }
    assert(m->term == node->term);
    if (node->vote == m->from) {
        return true; /* a retransmitted request gets the same answer */
    }
    if (node->vote == 0) {
        return node->leader_id == 0;
    }
    return (node->config.test_bugs & RAFT_BUG_DOUBLE_VOTE) != 0;
}

void raft_recv_vote(struct raft_node *node, const struct raft_message *m)
{
    assert(node != NULL);
    assert(m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PRE_VOTE);
    bool pre = m->type == RAFT_MSG_PRE_VOTE;
    bool granted =
        raft_can_vote(node, m) && raft_log_up_to_date(node, m->vote.last_index, m->vote.last_term);
    if (granted && !pre) {
        /* The vote is in this update's hard state, so it is durable before the reply below is
         * sent (obligation 4). */
        node->vote = m->from;
        raft_reset_election_timer(node);
    }
    struct raft_message *reply =
        raft_send(node, pre ? RAFT_MSG_PRE_VOTE_RESPONSE : RAFT_MSG_VOTE_RESPONSE, m->from);
    if (reply == NULL) {
        return;
    }
    /* A granted pre-vote answers in the polled term so the pre-candidate counts it. */
    reply->term = granted && pre ? m->term : node->term;
    reply->vote_response.granted = granted;
}

void raft_recv_vote_response(struct raft_node *node, const struct raft_message *m)
{
    assert(node != NULL);
    bool pre = m->type == RAFT_MSG_PRE_VOTE_RESPONSE;
    if (pre) {
        if (node->role != RAFT_PRE_CANDIDATE) {
            return;
        }
        /* Grants carry the polled term, rejections ours: anything else is stale. */
        uint64_t expected = m->vote_response.granted ? node->term + 1 : node->term;
        if (m->term != expected) {
            return;
        }
    } else if (node->role != RAFT_CANDIDATE || m->term != node->term) {
        return; /* votes count only for the current term's election */
    }
    raft_record_vote(node, m->from, m->vote_response.granted);
    int result = raft_quorum_vote_result(node);
    if (result > 0) {
        if (pre) {
            raft_become_candidate(node, false);
        } else {
            raft_become_leader(node);
        }
    } else if (result < 0) {
        raft_become_follower(node, node->term, 0);
    }
}
