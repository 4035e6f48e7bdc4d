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
    if (raft_is_from_leader(m) && m->type != RAFT_MSG_TIMEOUT_NOW) {
        /* Figure 2: "reply false if term < currentTerm". The reply carries our term, so a
         * deposed leader steps down and the next election's term reaches us. Always, not only
         * with pre-vote or check-quorum (etcd's choice): a node that may not campaign (learner,
         * removed, joining) would otherwise stay in its higher term, deaf to this leader. */
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

/* An AppendEntries the codec could never have produced: NULL or inconsistent entries. */
static const char *raft_append_invalid(const struct raft_append *a)
{
    if (a->entry_count > RAFT_APPEND_ENTRIES_MAX) {
        return "append: entry_count exceeds RAFT_APPEND_ENTRIES_MAX";
    }
    if (a->entry_count > 0 && a->entries == NULL) {
        return "append: entries is NULL";
    }
    if (a->prev_index > RAFT_INDEX_MAX - a->entry_count) {
        return "append: prev_index + entry_count beyond RAFT_INDEX_MAX";
    }
    for (uint32_t i = 0; i < a->entry_count; i++) {
        const struct raft_entry *e = &a->entries[i];
        if (e->index != a->prev_index + 1 + i || e->term == 0) {
            return "append: an entry's index is not prev_index + 1 + i, or its term is 0";
        }
        if (e->type < RAFT_ENTRY_NOOP || e->type > RAFT_ENTRY_CONFIG) {
            return "append: an entry has an unknown type";
        }
        if (e->data_len > RAFT_ENTRY_BYTES_MAX || (e->data == NULL && e->data_len > 0)) {
            return "append: an entry's payload is too long or NULL";
        }
    }
    return NULL;
}

/* An InstallSnapshot chunk the codec could never have produced: out of its stream's bounds. */
static const char *raft_snapshot_chunk_invalid(const struct raft_snapshot_chunk *s)
{
    if (s->last_index == 0 || s->last_term == 0) {
        return "snapshot: index or term 0";
    }
    if (s->last_index > RAFT_INDEX_MAX || s->last_term > RAFT_TERM_MAX) {
        return "snapshot: index or term beyond RAFT_INDEX_MAX / RAFT_TERM_MAX";
    }
    if (s->data_len > RAFT_SNAPSHOT_CHUNK_MAX || (s->data == NULL && s->data_len > 0)) {
        return "snapshot: chunk too long or NULL";
    }
    if (s->offset > s->total_len || s->data_len > s->total_len - s->offset) {
        return "snapshot: chunk lies outside the stream's total length";
    }
    return NULL;
}

/*
 * The same checks as raft_decode() (core/raft_codec.h), for messages that did not come through
 * it: an event with out-of-range values is refused, never trusted with a memcpy or an index.
 */
static const char *raft_message_invalid(const struct raft_message *m)
{
    if (m->type < RAFT_MSG_APPEND || m->type > RAFT_MESSAGE_TYPE_COUNT) {
        return "unknown message type";
    }
    if (m->term > RAFT_TERM_MAX) {
        return "term beyond RAFT_TERM_MAX";
    }
    if (m->type == RAFT_MSG_APPEND) {
        return raft_append_invalid(&m->append);
    }
    if (m->type == RAFT_MSG_SNAPSHOT) {
        return raft_snapshot_chunk_invalid(&m->snapshot);
    }
    return NULL;
}

int raft_recv(struct raft_node *node, const struct raft_message *m)
{
    assert(node != NULL);
    assert(m != NULL);
    const char *invalid = raft_message_invalid(m);
    if (invalid != NULL) {
        return raft_fail(node, RAFT_ERR_INVALID, "%s (message type %d from %u)", invalid,
                         (int)m->type, m->from);
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
