/* Receiving a message: term rules first (Figure 2 "Rules for Servers"), then dispatch by type. */
#include "core/raft_internal.h"

#include <assert.h>

static bool raft_is_vote_request(const struct raft_message *m)
{
    return m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PRE_VOTE;
}

/* Messages only a leader sends: receiving one in our term names the leader. */
static bool raft_is_from_leader(const struct raft_message *m)
{
    return m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
           m->type == RAFT_MSG_SNAPSHOT || m->type == RAFT_MSG_TIMEOUT_NOW;
}

/*
 * Thesis §4.2.3 (disruptive servers): while a node hears from a current leader it ignores
 * requests to elect someone else, unless leadership is being transferred. With check-quorum
 * this covers real votes; pre-votes are always refused then (thesis §9.6).
 */
static bool raft_lease_blocks(const struct raft_node *node, const struct raft_message *m)
{
    if (m->vote.transfer || !raft_in_lease(node)) {
        return false;
    }
    return node->config.check_quorum || m->type == RAFT_MSG_PRE_VOTE;
}

/* A message from an older term: never acted upon; answered only so the sender catches up. */
static int raft_recv_stale(struct raft_node *node, const struct raft_message *m)
{
    bool answer_leader = node->config.check_quorum || node->config.pre_vote;
    if (raft_is_from_leader(m) && m->type != RAFT_MSG_TIMEOUT_NOW && answer_leader) {
        /* A deposed leader that cannot win an election (pre-vote) would otherwise never learn
         * the new term; our reply carries it. */
        struct raft_message *reply = raft_send(node, RAFT_MSG_APPEND_RESPONSE, m->from);
        if (reply != NULL) {
            reply->append_response.reject = true;
            reply->append_response.last_index = raft_log_last_index(&node->log);
        }
    } else if (m->type == RAFT_MSG_PRE_VOTE) {
        struct raft_message *reply = raft_send(node, RAFT_MSG_PRE_VOTE_RESPONSE, m->from);
        if (reply != NULL) {
            reply->vote_response.granted = false;
        }
    }
    return RAFT_OK;
}

/* Applies the term rules. Returns false if the message must be dropped. */
static bool raft_recv_term(struct raft_node *node, const struct raft_message *m)
{
    if (m->term > node->term) {
        if (raft_is_vote_request(m)) {
            if (raft_lease_blocks(node, m)) {
                return false;
            }
            if (m->type == RAFT_MSG_PRE_VOTE) {
                return true; /* polling never changes our term (thesis §9.6) */
            }
            raft_become_follower(node, m->term, 0);
            return true;
        }
        if (m->type == RAFT_MSG_PRE_VOTE_RESPONSE && m->vote_response.granted) {
            return true; /* a grant carries the polled term, not the voter's */
        }
        /* §5.1: a higher term makes us a follower in that term before anything else. */
        raft_become_follower(node, m->term, raft_is_from_leader(m) ? m->from : 0);
        return true;
    }
    if (m->term < node->term) {
        raft_recv_stale(node, m);
        return false;
    }
    if (raft_is_from_leader(m)) {
        if (node->role == RAFT_LEADER) {
            return false; /* two leaders in one term: only a broken peer can cause it */
        }
        if (node->role != RAFT_FOLLOWER) {
            raft_become_follower(node, node->term, m->from); /* §5.2: a leader won this term */
        }
        node->leader_id = m->from;
        node->election_elapsed = 0;
    }
    return true;
}

static void raft_recv_timeout_now(struct raft_node *node, const struct raft_message *m)
{
    (void)m;
    if (node->role == RAFT_LEADER) {
        return;
    }
    raft_campaign(node, true); /* thesis §3.10: start an election at once, skipping pre-vote */
}

static void raft_recv_dispatch(struct raft_node *node, const struct raft_message *m)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
        raft_recv_append(node, m);
        break;
    case RAFT_MSG_APPEND_RESPONSE:
        raft_recv_append_response(node, m);
        break;
    case RAFT_MSG_VOTE:
    case RAFT_MSG_PRE_VOTE:
        raft_recv_vote(node, m);
        break;
    case RAFT_MSG_VOTE_RESPONSE:
    case RAFT_MSG_PRE_VOTE_RESPONSE:
        raft_recv_vote_response(node, m);
        break;
    case RAFT_MSG_HEARTBEAT:
        raft_recv_heartbeat(node, m);
        break;
    case RAFT_MSG_HEARTBEAT_RESPONSE:
        raft_recv_heartbeat_response(node, m);
        break;
    case RAFT_MSG_SNAPSHOT:
        raft_recv_snapshot(node, m);
        break;
    case RAFT_MSG_SNAPSHOT_RESPONSE:
        raft_recv_snapshot_response(node, m);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        raft_recv_timeout_now(node, m);
        break;
    }
}

int raft_recv(struct raft_node *node, const struct raft_message *m)
{
    assert(node != NULL);
    assert(m != NULL);
    if (m->type < RAFT_MSG_APPEND || m->type > RAFT_MESSAGE_TYPE_COUNT) {
        return raft_fail(node, RAFT_ERR_INVALID, "unknown message type %d", (int)m->type);
    }
    if (m->to != node->config.id || m->from == 0 || m->from == node->config.id) {
        return RAFT_OK; /* not for us: ignored */
    }
    if (!raft_recv_term(node, m)) {
        return RAFT_OK;
    }
    raft_recv_dispatch(node, m);
    return RAFT_OK;
}
