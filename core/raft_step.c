/* raft_step: event dispatch, the update's three sections, persistence and apply bookkeeping. */
#include "core/raft_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int raft_fail(struct raft_node *node, int error, const char *format, ...)
{
    assert(node != NULL);
    assert(error < 0);
    va_list args;
    va_start(args, format);
    vsnprintf(node->errmsg, sizeof(node->errmsg), format, args);
    va_end(args);
    return error;
}

struct raft_message *raft_send(struct raft_node *node, enum raft_message_type type, uint32_t to)
{
    assert(node != NULL);
    assert(to != 0 && to != node->config.id);
    if (node->out_message_count >= node->config.limits.messages_per_update_max) {
        return NULL; /* like a lost message: the protocol retries */
    }
    struct raft_message *m = &node->out_messages[node->out_message_count++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->term = node->term;
    m->from = node->config.id;
    m->to = to;
    return m;
}

void raft_unsend(struct raft_node *node, struct raft_message *message)
{
    assert(node->out_message_count > 0);
    assert(message == &node->out_messages[node->out_message_count - 1]);
    node->out_message_count--;
}

struct raft_entry *raft_send_entries(struct raft_node *node, uint32_t count)
{
    assert(node != NULL);
    uint32_t max = node->config.limits.message_entries_per_update_max;
    if (count > max - node->out_message_entries_used) {
        return NULL;
    }
    struct raft_entry *entries = &node->out_message_entries[node->out_message_entries_used];
    node->out_message_entries_used += count;
    return entries;
}

void raft_writes_clamp(struct raft_node *node, uint64_t below)
{
    for (uint32_t i = 0; i < node->writes_count; i++) {
        struct raft_write *w = &node->writes[(node->writes_head + i) % node->writes_capacity];
        if (w->durable > below) {
            w->durable = below;
        }
    }
}

void raft_truncate(struct raft_node *node, uint64_t index)
{
    assert(node != NULL);
    assert(index > node->log.prev_index);
    /* Committed entries are never overwritten (§5.4 Leader Completeness). Only a peer running a
     * deliberately broken variant can ask for it; the caller refuses such appends. */
    assert(index > node->commit);
    raft_log_truncate_from(&node->log, index);
    if (index < node->unstable_index) {
        if (node->step_truncate_from == 0 || index < node->step_truncate_from) {
            node->step_truncate_from = index;
        }
        node->unstable_index = index;
    }
    if (node->persisted >= index) {
        node->persisted = index - 1;
    }
    raft_writes_clamp(node, index - 1);
    if (node->membership_index >= index) {
        raft_membership_recompute(node); /* the configuration entry in force was removed */
    }
}

void raft_writes_push(struct raft_node *node, uint64_t index, uint64_t term)
{
    assert(node->writes_capacity > 0);
    if (node->writes_count == node->writes_capacity) {
        /* Full: merge into the newest write; an ack of the merged one is then ignored and the
         * next ack covers both (acks are cumulative). */
        uint32_t last = (node->writes_head + node->writes_count - 1) % node->writes_capacity;
        node->writes[last] = (struct raft_write){ index, term, index };
        return;
    }
    uint32_t slot = (node->writes_head + node->writes_count) % node->writes_capacity;
    node->writes[slot] = (struct raft_write){ index, term, index };
    node->writes_count++;
}

/* RAFT_EVENT_PERSISTED: pops writes through the matching one; ignores unknown acks. */
static int raft_on_persisted(struct raft_node *node, uint64_t index, uint64_t term)
{
    uint32_t found = UINT32_MAX;
    for (uint32_t i = 0; i < node->writes_count; i++) {
        const struct raft_write *w = &node->writes[(node->writes_head + i) % node->writes_capacity];
        if (w->index == index && w->term == term) {
            found = i;
            break;
        }
    }
    if (found == UINT32_MAX) {
        return RAFT_OK; /* stale (truncated since) or not a batch end: ignored, see obligation 5 */
    }
    uint64_t durable = node->writes[(node->writes_head + found) % node->writes_capacity].durable;
    node->writes_head = (node->writes_head + found + 1) % node->writes_capacity;
    node->writes_count -= found + 1;
    if (durable > node->persisted) {
        node->persisted = durable;
    }
    assert(node->persisted <= raft_log_last_index(&node->log));
    if (node->role == RAFT_LEADER) {
        raft_maybe_commit(node); /* the leader counts itself only for durable entries */
    }
    return RAFT_OK;
}

static int raft_on_applied(struct raft_node *node, uint64_t index)
{
    if (index > node->apply_handed) {
        return raft_fail(node, RAFT_ERR_INVALID,
                         "applied index %llu beyond the entries handed out (%llu)",
                         (unsigned long long)index, (unsigned long long)node->apply_handed);
    }
    if (index > node->applied) {
        node->applied = index;
    }
    return RAFT_OK;
}

static void raft_step_begin(struct raft_node *node, struct raft_update *update)
{
    memset(update, 0, sizeof(*update));
    node->stepped = true;
    node->errmsg[0] = '\0';
    node->out_message_count = 0;
    node->out_message_entries_used = 0;
    node->out_read_count = 0;
    node->step_truncate_from = 0;
}

/* (1) Persist: the truncation point, new entries and the hard state if it changed. */
static void raft_step_end_persist(struct raft_node *node, struct raft_update *update)
{
    update->truncate_from_index = node->step_truncate_from;
    uint64_t last = raft_log_last_index(&node->log);
    assert(node->unstable_index >= node->log.prev_index + 1);
    uint64_t count = last + 1 - node->unstable_index;
    assert(count <= node->out_entries_capacity);
    for (uint64_t i = 0; i < count; i++) {
        raft_log_entry_at(&node->log, node->unstable_index + i, &node->out_entries[i]);
    }
    if (count > 0) {
        update->entries = node->out_entries;
        update->entry_count = count;
        raft_writes_push(node, last, raft_log_last_term(&node->log));
        node->unstable_index = last + 1;
    }
    if (node->snapshot_to_persist) {
        update->snapshot = &node->snapshot_view;
        node->snapshot_to_persist = false;
    }
    struct raft_hard_state hs = { node->term, node->vote, node->commit };
    const struct raft_hard_state *old = &node->hard_state_reported;
    if (hs.term != old->term || hs.vote != old->vote || hs.commit != old->commit) {
        assert(hs.term >= old->term);
        /* Commit never goes back; only a deliberately broken variant may (the simulator's
         * checkers must see that, so it is not an abort then). */
        assert(hs.commit >= old->commit || node->config.test_bugs != 0);
        update->hard_state_changed = true;
        update->hard_state = hs;
        node->hard_state_reported = hs;
    }
}

/* (3) Apply: committed and locally durable entries not handed out yet, in order, once each. */
static void raft_step_end_apply(struct raft_node *node, struct raft_update *update)
{
    if (node->snapshot_restore_pending) {
        update->snapshot_restore = &node->snapshot_view; /* before any entry after it */
        node->snapshot_restore_pending = false;
    }
    uint64_t ready = node->commit < node->persisted ? node->commit : node->persisted;
    uint64_t count = 0;
    while (node->apply_handed < ready && count < node->out_committed_capacity) {
        uint64_t index = node->apply_handed + 1;
        assert(raft_log_holds(&node->log, index));
        raft_log_entry_at(&node->log, index, &node->out_committed[count]);
        count++;
        node->apply_handed = index;
    }
    if (count > 0) {
        update->committed = node->out_committed;
        update->committed_count = count;
    }
}

static void raft_step_end(struct raft_node *node, struct raft_update *update)
{
    raft_step_end_persist(node, update);
    if (node->out_message_count > 0) {
        update->messages = node->out_messages;
        update->message_count = node->out_message_count;
    }
    raft_step_end_apply(node, update);
    if (node->out_read_count > 0) {
        update->reads = node->out_reads;
        update->read_count = node->out_read_count;
    }
    update->role = node->role;
    update->term = node->term;
    update->leader_id = node->leader_id;
    if (node->role != node->role_reported || node->term != node->term_reported ||
        node->leader_id != node->leader_reported) {
        update->soft_state_changed = true;
        node->role_reported = node->role;
        node->term_reported = node->term;
        node->leader_reported = node->leader_id;
    }
}

static int raft_step_event(struct raft_node *node, const struct raft_event *event,
                           struct raft_update *update)
{
    switch (event->type) {
    case RAFT_EVENT_TICK:
        return raft_tick(node);
    case RAFT_EVENT_RECEIVE:
        if (event->receive.message == NULL) {
            return raft_fail(node, RAFT_ERR_INVALID, "receive event without a message");
        }
        return raft_recv(node, event->receive.message);
    case RAFT_EVENT_PROPOSE:
        if (event->propose.data == NULL && event->propose.data_len > 0) {
            return raft_fail(node, RAFT_ERR_INVALID, "proposal data is NULL");
        }
        return raft_propose(node, RAFT_ENTRY_COMMAND, event->propose.data, event->propose.data_len,
                            update);
    case RAFT_EVENT_PERSISTED:
        return raft_on_persisted(node, event->persisted.index, event->persisted.term);
    case RAFT_EVENT_APPLIED:
        return raft_on_applied(node, event->applied.index);
    case RAFT_EVENT_SNAPSHOT:
        if (event->snapshot.data == NULL && event->snapshot.data_len > 0) {
            return raft_fail(node, RAFT_ERR_INVALID, "snapshot data is NULL");
        }
        return raft_snapshot_take(node, event->snapshot.index, event->snapshot.data,
                                  event->snapshot.data_len);
    case RAFT_EVENT_READ_INDEX:
        return raft_read_index(node, event->read_index.request_id);
    case RAFT_EVENT_TRANSFER_LEADERSHIP:
        return raft_transfer_leadership(node, event->transfer.target_id);
    case RAFT_EVENT_CHANGE_CONFIG:
        if (event->change_config.membership == NULL) {
            return raft_fail(node, RAFT_ERR_INVALID, "change_config without a membership");
        }
        return raft_change_config(node, event->change_config.membership, update);
    default:
        return raft_fail(node, RAFT_ERR_INVALID, "unknown or unsupported event type %d",
                         (int)event->type);
    }
}

int raft_step(struct raft_node *node, const struct raft_event *event, struct raft_update *update)
{
    assert(node != NULL);
    assert(event != NULL);
    assert(update != NULL);
    raft_step_begin(node, update);
    int rc = raft_step_event(node, event, update);
    raft_step_end(node, update);
    assert(node->commit <= raft_log_last_index(&node->log));
    assert(node->applied <= node->apply_handed);
    return rc;
}
