/* Read-only views of a node: accessors, the protocol state hash, and names for traces. */
#include "core/hash.h"
#include "core/raft_internal.h"

#include <assert.h>

uint32_t raft_node_id(const struct raft_node *node)
{
    assert(node != NULL);
    return node->config.id;
}

uint64_t raft_node_term(const struct raft_node *node)
{
    assert(node != NULL);
    return node->term;
}

uint32_t raft_node_vote(const struct raft_node *node)
{
    assert(node != NULL);
    return node->vote;
}

enum raft_role raft_node_role(const struct raft_node *node)
{
    assert(node != NULL);
    return node->role;
}

uint32_t raft_node_leader(const struct raft_node *node)
{
    assert(node != NULL);
    return node->leader_id;
}

uint64_t raft_node_commit_index(const struct raft_node *node)
{
    assert(node != NULL);
    return node->commit;
}

uint64_t raft_node_applied_index(const struct raft_node *node)
{
    assert(node != NULL);
    return node->applied;
}

uint64_t raft_node_last_index(const struct raft_node *node)
{
    assert(node != NULL);
    return raft_log_last_index(&node->log);
}

uint64_t raft_node_last_term(const struct raft_node *node)
{
    assert(node != NULL);
    return raft_log_last_term(&node->log);
}

uint64_t raft_node_first_index(const struct raft_node *node)
{
    assert(node != NULL);
    return raft_log_first_index(&node->log);
}

uint64_t raft_node_persisted_index(const struct raft_node *node)
{
    assert(node != NULL);
    return node->persisted;
}

bool raft_node_term_at(const struct raft_node *node, uint64_t index, uint64_t *term)
{
    assert(node != NULL);
    assert(term != NULL);
    return raft_log_term_at(&node->log, index, term);
}

bool raft_node_entry_at(const struct raft_node *node, uint64_t index, struct raft_entry *entry)
{
    assert(node != NULL);
    assert(entry != NULL);
    if (!raft_log_holds(&node->log, index)) {
        return false;
    }
    raft_log_entry_at(&node->log, index, entry);
    return true;
}

const struct raft_membership *raft_node_membership(const struct raft_node *node)
{
    assert(node != NULL);
    return &node->membership;
}

uint64_t raft_node_membership_index(const struct raft_node *node)
{
    assert(node != NULL);
    return node->membership_index;
}

uint64_t raft_node_snapshot_index(const struct raft_node *node)
{
    assert(node != NULL);
    return node->snapshot_index;
}

const struct raft_snapshot *raft_node_snapshot(const struct raft_node *node)
{
    assert(node != NULL);
    return node->snapshot_index > 0 ? &node->snapshot_view : NULL;
}

bool raft_node_peer_match(const struct raft_node *node, uint32_t id, uint64_t *match_index)
{
    assert(node != NULL);
    assert(match_index != NULL);
    for (uint32_t i = 0; i < node->progress_count; i++) {
        if (node->progress[i].id == id) {
            *match_index = id == node->config.id ? node->persisted : node->progress[i].match_index;
            return true;
        }
    }
    return false;
}

static uint64_t raft_hash_progress(const struct raft_node *node, uint64_t h)
{
    for (uint32_t i = 0; i < node->progress_count; i++) {
        const struct raft_progress *pr = &node->progress[i];
        h = hash_fold_u64(h, ((uint64_t)pr->id << 8) | pr->vote);
        if (node->role != RAFT_LEADER) {
            continue;
        }
        h = hash_fold_u64(h, pr->next_index);
        h = hash_fold_u64(h, pr->match_index);
        h = hash_fold_u64(h, ((uint64_t)pr->state << 32) | pr->inflight_count);
    }
    return h;
}

uint64_t raft_state_hash(const struct raft_node *node)
{
    assert(node != NULL);
    uint64_t h = hash_fold_u64(0, node->term);
    h = hash_fold_u64(h, ((uint64_t)node->vote << 32) | (uint64_t)node->role);
    h = hash_fold_u64(h, node->leader_id);
    h = hash_fold_u64(h, node->log.prev_index);
    h = hash_fold_u64(h, raft_log_last_index(&node->log));
    h = hash_fold_u64(h, raft_log_chain(&node->log));
    h = hash_fold_u64(h, node->commit);
    h = hash_fold_u64(h, node->applied);
    h = hash_fold_u64(h, node->apply_handed);
    h = hash_fold_u64(h, node->persisted);
    h = hash_fold_u64(h, node->membership_index);
    h = hash_fold_u64(h, node->snapshot_index);
    h = hash_fold_u64(h, ((uint64_t)node->transfer_target << 32) | node->read_count);
    return raft_hash_progress(node, h);
}

const char *raft_role_name(enum raft_role role)
{
    switch (role) {
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_PRE_CANDIDATE:
        return "pre-candidate";
    case RAFT_CANDIDATE:
        return "candidate";
    case RAFT_LEADER:
        return "leader";
    }
    return "unknown-role";
}

const char *raft_message_type_name(enum raft_message_type type)
{
    static const char *const names[RAFT_MESSAGE_TYPE_COUNT + 1] = {
        "unknown-message",    "append",   "append-response",   "vote",
        "vote-response",      "pre-vote", "pre-vote-response", "heartbeat",
        "heartbeat-response", "snapshot", "snapshot-response", "timeout-now",
    };
    if ((int)type < 1 || (int)type > (int)RAFT_MESSAGE_TYPE_COUNT) {
        return names[0];
    }
    return names[type];
}

const char *raft_entry_type_name(enum raft_entry_type type)
{
    switch (type) {
    case RAFT_ENTRY_NOOP:
        return "noop";
    case RAFT_ENTRY_COMMAND:
        return "command";
    case RAFT_ENTRY_CONFIG:
        return "config";
    }
    return "unknown-entry";
}

const char *raft_event_type_name(enum raft_event_type type)
{
    switch (type) {
    case RAFT_EVENT_TICK:
        return "tick";
    case RAFT_EVENT_RECEIVE:
        return "receive";
    case RAFT_EVENT_PROPOSE:
        return "propose";
    case RAFT_EVENT_PERSISTED:
        return "persisted";
    case RAFT_EVENT_APPLIED:
        return "applied";
    case RAFT_EVENT_SNAPSHOT:
        return "snapshot";
    case RAFT_EVENT_READ_INDEX:
        return "read-index";
    case RAFT_EVENT_TRANSFER_LEADERSHIP:
        return "transfer-leadership";
    case RAFT_EVENT_CHANGE_CONFIG:
        return "change-config";
    }
    return "unknown-event";
}

const char *raft_strerror(int error)
{
    switch (error) {
    case RAFT_OK:
        return "ok";
    case RAFT_ERR_NOT_LEADER:
        return "not the leader";
    case RAFT_ERR_BUSY:
        return "busy: a limit would be exceeded";
    case RAFT_ERR_TOO_BIG:
        return "too big";
    case RAFT_ERR_INVALID:
        return "invalid argument";
    case RAFT_ERR_CORRUPT:
        return "recovered state is inconsistent";
    case RAFT_ERR_NOSPACE:
        return "buffer too small";
    case RAFT_ERR_DECODE:
        return "malformed frame";
    }
    return "unknown error";
}
