/* Log replication: AppendEntries both ways, heartbeats, proposals and the commit rules (§5.3-5.4).
 */
#include "core/raft_internal.h"

#include <assert.h>

/* ---- Leader side ---- */

/* How many entries from `first` fit one append (at least one if any exist, §5.3 batching). */
static uint32_t raft_append_batch(const struct raft_node *node, uint64_t first)
{
    const struct raft_limits *l = &node->config.limits;
    uint64_t last = raft_log_last_index(&node->log);
    uint32_t count = 0;
    uint64_t bytes = 0;
    for (uint64_t i = first; i <= last && count < l->append_entries_max; i++) {
        uint32_t len = raft_log_meta_at(&node->log, i)->data_len;
        if (count > 0 && bytes + len > l->append_bytes_max) {
            break;
        }
        bytes += len;
        count++;
    }
    return count;
}

/* Sends one AppendEntries from pr->next_index; false if nothing was sent. */
static bool raft_send_append(struct raft_node *node, struct raft_progress *pr, bool allow_empty)
{
    uint64_t prev = pr->next_index - 1;
    uint64_t prev_term = 0;
    if (pr->next_index <= node->log.prev_index || !raft_log_term_at(&node->log, prev, &prev_term)) {
        raft_snapshot_send(node, pr); /* compacted away: only the snapshot can help (§7) */
        return false;
    }
    uint32_t count = raft_append_batch(node, pr->next_index);
    if (count == 0 && !allow_empty) {
        return false;
    }
    struct raft_message *m = raft_send(node, RAFT_MSG_APPEND, pr->id);
    if (m == NULL) {
        return false;
    }
    struct raft_entry *entries = raft_send_entries(node, count);
    if (entries == NULL) {
        raft_unsend(node, m);
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        raft_log_entry_at(&node->log, pr->next_index + i, &entries[i]);
    }
    m->append.prev_index = prev;
    m->append.prev_term = prev_term;
    m->append.commit = node->commit;
    m->append.entries = count > 0 ? entries : NULL;
    m->append.entry_count = count;
    if (count > 0 || pr->state == RAFT_PROGRESS_PROBE) {
        raft_progress_sent(pr, prev + count);
    }
    return true;
}

void raft_replicate_to(struct raft_node *node, struct raft_progress *pr)
{
    assert(node->role == RAFT_LEADER);
    assert(pr->id != node->config.id);
    uint32_t window = node->config.limits.inflight_appends_max;
    if (pr->state == RAFT_PROGRESS_SNAPSHOT) {
        raft_snapshot_send(node, pr);
        return;
    }
    for (uint32_t i = 0; i <= window && pr->state != RAFT_PROGRESS_SNAPSHOT; i++) {
        if (!raft_progress_window_open(pr, window)) {
            return;
        }
        bool probe = pr->state == RAFT_PROGRESS_PROBE;
        if (!raft_send_append(node, pr, probe) || probe) {
            return;
        }
    }
}

void raft_broadcast_append(struct raft_node *node)
{
    assert(node->role == RAFT_LEADER);
    for (uint32_t i = 0; i < node->progress_count; i++) {
        if (node->progress[i].id != node->config.id) {
            raft_replicate_to(node, &node->progress[i]);
        }
    }
}

void raft_broadcast_heartbeat(struct raft_node *node, uint64_t context)
{
    assert(node->role == RAFT_LEADER);
    for (uint32_t i = 0; i < node->progress_count; i++) {
        const struct raft_progress *pr = &node->progress[i];
        if (pr->id == node->config.id) {
            continue;
        }
        struct raft_message *m = raft_send(node, RAFT_MSG_HEARTBEAT, pr->id);
        if (m == NULL) {
            return;
        }
        /* Only what the follower is known to hold may be committed on it (etcd raft). */
        m->heartbeat.commit = node->commit < pr->match_index ? node->commit : pr->match_index;
        m->heartbeat.context = context;
    }
}

bool raft_maybe_commit(struct raft_node *node)
{
    assert(node->role == RAFT_LEADER);
    uint64_t index = raft_quorum_match_index(node);
    if (index <= node->commit) {
        return false; /* commit never moves backwards */
    }
    uint64_t term = 0;
    bool known = raft_log_term_at(&node->log, index, &term);
    assert(known);
    /* §5.4.2 / Figure 8: only an entry of the current term is committed by counting replicas;
     * earlier entries are committed indirectly through it. */
    bool previous_term_bug = (node->config.test_bugs & RAFT_BUG_COMMIT_PREVIOUS_TERM) != 0;
    if (term != node->term && !previous_term_bug) {
        return false;
    }
    node->commit = index;
    raft_reads_on_commit(node);
    raft_reconfig_on_commit(node); /* may append C_new, or step down (a removed leader) */
    return true;
}

void raft_append_local(struct raft_node *node, enum raft_entry_type type, const uint8_t *data,
                       uint32_t data_len)
{
    assert(node->role == RAFT_LEADER);
    raft_log_append(&node->log, node->term, type, data, data_len); /* §5.3: append-only */
}

int raft_propose(struct raft_node *node, enum raft_entry_type type, const uint8_t *data,
                 size_t data_len, struct raft_update *update)
{
    assert(node != NULL);
    assert(update != NULL);
    if (node->role != RAFT_LEADER) {
        return raft_fail(node, RAFT_ERR_NOT_LEADER, "not the leader (leader is %u)",
                         node->leader_id);
    }
    if (node->transfer_target != 0) {
        return raft_fail(node, RAFT_ERR_BUSY, "leadership transfer to %u in progress",
                         node->transfer_target);
    }
    if (data_len > node->config.limits.entry_bytes_max) {
        return raft_fail(node, RAFT_ERR_TOO_BIG, "entry of %zu bytes exceeds entry_bytes_max %u",
                         data_len, node->config.limits.entry_bytes_max);
    }
    if (!raft_log_can_append(&node->log, (uint32_t)data_len)) {
        return raft_fail(node, RAFT_ERR_BUSY, "in-memory log full (%llu entries held)",
                         (unsigned long long)node->log.count);
    }
    raft_append_local(node, type, data, (uint32_t)data_len);
    update->proposed_index = raft_log_last_index(&node->log);
    update->proposed_term = node->term;
    raft_broadcast_append(node);
    return RAFT_OK;
}

/* Thesis §5.4.2 fast backtracking: where to retry after a rejection with a hint. */
static uint64_t raft_hint_next(const struct raft_node *node, const struct raft_append_response *r)
{
    if (r->hint_term == 0) {
        return r->hint_index; /* the follower's log ends before the probe */
    }
    /* If we hold entries of the follower's conflicting term, resume after our last one. */
    uint64_t index =
        r->index < raft_log_last_index(&node->log) ? r->index : raft_log_last_index(&node->log);
    uint64_t term = 0;
    while (index > node->log.prev_index && raft_log_term_at(&node->log, index, &term) &&
           term > r->hint_term) {
        index--;
    }
    if (raft_log_term_at(&node->log, index, &term) && term == r->hint_term && index > 0) {
        return index + 1;
    }
    return r->hint_index;
}

void raft_recv_append_response(struct raft_node *node, const struct raft_message *m)
{
    struct raft_progress *pr = raft_progress_answering(node, m);
    if (pr == NULL) {
        return;
    }
    const struct raft_append_response *r = &m->append_response;
    if (r->reject) {
        if (raft_progress_decrease(pr, r->index, raft_hint_next(node, r))) {
            raft_replicate_to(node, pr);
        }
        return;
    }
    if (r->index > raft_log_last_index(&node->log)) {
        return; /* acknowledges entries we never had: not from our term's log */
    }
    if (!raft_progress_update_match(pr, r->index)) {
        return; /* stale or duplicate: next/match never regress */
    }
    if (pr->state == RAFT_PROGRESS_PROBE) {
        raft_progress_become_replicate(pr);
    }
    raft_maybe_commit(node);
    /* Committing may have changed the membership (progress slots move) or our role. */
    pr = raft_progress_find(node, m->from);
    if (pr == NULL || node->role != RAFT_LEADER) {
        return;
    }
    raft_replicate_to(node, pr);
    raft_transfer_maybe_send(node, pr);
}

void raft_recv_heartbeat_response(struct raft_node *node, const struct raft_message *m)
{
    struct raft_progress *pr = raft_progress_answering(node, m);
    if (pr == NULL) {
        return;
    }
    if (m->heartbeat_response.context > pr->read_ack) {
        pr->read_ack = m->heartbeat_response.context;
        raft_reads_check(node);
    }
    if (pr->state == RAFT_PROGRESS_SNAPSHOT) {
        pr->snapshot_sent = pr->snapshot_offset; /* resend a chunk that may have been lost */
        raft_snapshot_send(node, pr);
        return;
    }
    /* The peer is alive: retry a lost probe, or reopen a window full of lost appends. */
    pr->probe_sent = false;
    if (pr->state == RAFT_PROGRESS_REPLICATE &&
        pr->inflight_count >= node->config.limits.inflight_appends_max) {
        raft_progress_free_first(pr);
    }
    if (pr->match_index < raft_log_last_index(&node->log) &&
        raft_progress_window_open(pr, node->config.limits.inflight_appends_max)) {
        raft_send_append(node, pr, true);
    }
}

/* ---- Follower side ---- */

void raft_follower_commit(struct raft_node *node, uint64_t index)
{
    uint64_t last = raft_log_last_index(&node->log);
    if (index > last) {
        index = last;
    }
    if (index > node->commit) {
        node->commit = index; /* never backwards */
    }
}

static void raft_reply_append(struct raft_node *node, uint32_t to, bool reject, uint64_t index,
                              uint64_t hint_index, uint64_t hint_term)
{
    struct raft_message *reply = raft_send(node, RAFT_MSG_APPEND_RESPONSE, to);
    if (reply == NULL) {
        return;
    }
    reply->append_response.reject = reject;
    reply->append_response.index = index;
    reply->append_response.hint_index = hint_index;
    reply->append_response.hint_term = hint_term;
    reply->append_response.last_index = raft_log_last_index(&node->log);
}

/* §5.3: the log does not contain an entry at prev_index whose term matches: say where to go. */
static void raft_reject_append(struct raft_node *node, const struct raft_message *m)
{
    uint64_t prev = m->append.prev_index;
    uint64_t last = raft_log_last_index(&node->log);
    if (prev > last) {
        raft_reply_append(node, m->from, true, prev, last + 1, 0);
        return;
    }
    uint64_t conflict_term = 0;
    bool known = raft_log_term_at(&node->log, prev, &conflict_term);
    assert(known); /* prev > commit >= prev_index of the log */
    uint64_t first = prev;
    uint64_t term = 0;
    while (first - 1 > node->commit && raft_log_term_at(&node->log, first - 1, &term) &&
           term == conflict_term) {
        first--;
    }
    raft_reply_append(node, m->from, true, prev, first, conflict_term);
}

/*
 * Appends the request's entries after prev (which matches). Existing entries with the same term
 * are kept (a duplicate or stale request never truncates); the first entry whose term differs is
 * a real conflict: it and everything after it go (§5.3 step 3). Returns how many of the
 * request's entries are now in our log, in order; fewer than sent if the log is full.
 */
static uint32_t raft_append_entries(struct raft_node *node, const struct raft_append *a)
{
    for (uint32_t i = 0; i < a->entry_count; i++) {
        const struct raft_entry *e = &a->entries[i];
        uint64_t index = a->prev_index + 1 + i;
        uint64_t term = 0;
        if (index <= node->commit) {
            continue; /* committed entries match every leader's log (§5.4.3) */
        }
        if (raft_log_term_at(&node->log, index, &term) && raft_log_holds(&node->log, index)) {
            if (term == e->term) {
                continue;
            }
            raft_truncate(node, index);
        }
        if (e->term < raft_log_last_term(&node->log) || e->term > node->term ||
            !raft_log_can_append(&node->log, e->data_len)) {
            return i;
        }
        raft_log_append(&node->log, e->term, e->type, e->data, e->data_len);
        if (e->type == RAFT_ENTRY_CONFIG) {
            raft_reconfig_on_append(node, index); /* §6: effective once in the log */
        }
    }
    return a->entry_count;
}

/* True if the request would overwrite a committed entry: only a broken leader sends that. */
static bool raft_append_conflicts_committed(const struct raft_node *node,
                                            const struct raft_append *a)
{
    for (uint32_t i = 0; i < a->entry_count; i++) {
        uint64_t index = a->prev_index + 1 + i;
        uint64_t term = 0;
        if (index > node->commit) {
            return false;
        }
        if (raft_log_holds(&node->log, index) && raft_log_term_at(&node->log, index, &term) &&
            term != a->entries[i].term) {
            return true;
        }
    }
    return false;
}

void raft_recv_append(struct raft_node *node, const struct raft_message *m)
{
    assert(node->role == RAFT_FOLLOWER);
    const struct raft_append *a = &m->append;
    uint64_t end = a->prev_index + a->entry_count;
    if (node->config.test_bugs != 0 && raft_append_conflicts_committed(node, a)) {
        return; /* a broken leader (test bug) would overwrite committed entries: refuse */
    }
    if (end <= node->commit) {
        /* Entirely committed already (a stale or duplicate request): we match through commit. */
        raft_reply_append(node, m->from, false, node->commit, 0, 0);
        return;
    }
    uint64_t prev_term = 0;
    if (a->prev_index >= node->commit) {
        bool known = raft_log_term_at(&node->log, a->prev_index, &prev_term);
        if (!known || prev_term != a->prev_term) {
            raft_reject_append(node, m);
            return;
        }
    }
    uint32_t accepted = raft_append_entries(node, a);
    uint64_t last_new = a->prev_index + accepted;
    if (last_new < node->commit) {
        last_new = node->commit;
    }
    /* Figure 2: commit = min(leaderCommit, index of last new entry). */
    raft_follower_commit(node, a->commit < last_new ? a->commit : last_new);
    raft_reply_append(node, m->from, false, last_new, 0, 0);
}

void raft_recv_heartbeat(struct raft_node *node, const struct raft_message *m)
{
    assert(node->role == RAFT_FOLLOWER);
    raft_follower_commit(node, m->heartbeat.commit);
    struct raft_message *reply = raft_send(node, RAFT_MSG_HEARTBEAT_RESPONSE, m->from);
    if (reply != NULL) {
        reply->heartbeat_response.context = m->heartbeat.context;
    }
}
