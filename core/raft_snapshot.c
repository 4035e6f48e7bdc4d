/* Snapshots (§7): taking one and compacting, streaming it in chunks, installing a received one. */
#include "core/raft_codec.h"
#include "core/raft_internal.h"

#include "core/bytes.h"

#include <assert.h>
#include <string.h>

#define RAFT_STREAM_PREFIX_BYTES 4u /* u32 membership length */

/* Offset of the state machine bytes in a stream (after prefix and membership). */
static uint64_t raft_stream_data_offset(const uint8_t *stream)
{
    return RAFT_STREAM_PREFIX_BYTES + bytes_get_u32(stream);
}

void raft_snapshot_view_refresh(struct raft_node *node)
{
    assert(node != NULL);
    struct raft_snapshot *v = &node->snapshot_view;
    memset(v, 0, sizeof(*v));
    if (node->snapshot_index == 0) {
        return;
    }
    uint64_t offset = raft_stream_data_offset(node->snap_buf);
    assert(offset <= node->snap_len);
    v->meta.index = node->snapshot_index;
    v->meta.term = node->snapshot_term;
    v->meta.membership = node->snapshot_membership;
    v->data = node->snap_buf + offset;
    v->data_len = node->snap_len - offset;
}

/* Writes [prefix][membership][data] into the latest-snapshot buffer. */
static void raft_stream_write(struct raft_node *node, const struct raft_membership *m,
                              const uint8_t *data, size_t len)
{
    size_t mlen = 0;
    int rc = raft_membership_encode(m, node->snap_buf + RAFT_STREAM_PREFIX_BYTES,
                                    RAFT_MEMBERSHIP_BYTES_MAX, &mlen);
    assert(rc == RAFT_OK);
    (void)rc;
    bytes_put_u32(node->snap_buf, (uint32_t)mlen);
    uint64_t offset = RAFT_STREAM_PREFIX_BYTES + mlen;
    assert(offset + len <= node->snap_capacity);
    if (len > 0) {
        memcpy(node->snap_buf + offset, data, len);
    }
    node->snap_len = offset + len;
}

/* Drops in-memory entries the snapshot covers, keeping a few for slightly lagging peers. */
static void raft_snapshot_compact(struct raft_node *node, uint64_t index)
{
    uint64_t keep = node->config.limits.snapshot_trailing_entries;
    uint64_t to = index > keep ? index - keep : 0;
    if (to > node->log.prev_index) {
        raft_log_compact_to(&node->log, to);
    }
}

int raft_snapshot_take(struct raft_node *node, uint64_t index, const uint8_t *data, size_t len)
{
    assert(node != NULL);
    if (node->snap_capacity == 0) {
        return raft_fail(node, RAFT_ERR_TOO_BIG, "snapshots are disabled (snapshot_bytes_max 0)");
    }
    if (len > node->config.limits.snapshot_bytes_max) {
        return raft_fail(node, RAFT_ERR_TOO_BIG, "snapshot of %zu bytes exceeds snapshot_bytes_max",
                         len);
    }
    if (index > node->applied) {
        return raft_fail(node, RAFT_ERR_INVALID, "snapshot index %llu beyond applied %llu",
                         (unsigned long long)index, (unsigned long long)node->applied);
    }
    if (index <= node->snapshot_index) {
        return RAFT_OK; /* an older or equal snapshot: the snapshot index never goes back */
    }
    uint64_t term = 0;
    bool known = raft_log_term_at(&node->log, index, &term);
    assert(known); /* snapshot_index < index <= applied <= last */
    struct raft_membership m = node->membership;
    if (node->membership_index > index) {
        (void)raft_membership_in_log(node, index, &m);
    }
    if (m.voter_count == 0) {
        /* Only a joining node's empty bootstrap has no voters: the configuration in force at
         * `index` is not known here yet, and a snapshot must name it (§7). */
        return raft_fail(node, RAFT_ERR_BUSY,
                         "the configuration at index %llu is not known yet (a joining node)",
                         (unsigned long long)index);
    }
    raft_stream_write(node, &m, data, len);
    node->snapshot_index = index;
    node->snapshot_term = term;
    node->snapshot_membership = m;
    raft_snapshot_view_refresh(node);
    raft_snapshot_compact(node, index);
    node->snapshot_to_persist = true;
    return RAFT_OK;
}

/* ---- Leader: streaming ---- */

void raft_snapshot_send(struct raft_node *node, struct raft_progress *pr)
{
    assert(node->role == RAFT_LEADER);
    if (node->snapshot_index == 0) {
        return; /* nothing compacted, nothing to send */
    }
    if (pr->state != RAFT_PROGRESS_SNAPSHOT || pr->snapshot_index != node->snapshot_index) {
        pr->state = RAFT_PROGRESS_SNAPSHOT; /* (re)start with the latest snapshot */
        pr->snapshot_index = node->snapshot_index;
        pr->snapshot_total = node->snap_len;
        pr->snapshot_offset = 0;
        pr->snapshot_sent = 0;
        pr->inflight_count = 0;
        pr->inflight_head = 0;
    }
    if (pr->snapshot_sent > pr->snapshot_offset) {
        return; /* stop-and-wait: one chunk in flight */
    }
    uint64_t remaining = node->snap_len - pr->snapshot_offset;
    uint64_t chunk = node->config.limits.snapshot_chunk_bytes_max;
    if (chunk > remaining) {
        chunk = remaining;
    }
    struct raft_message *m = raft_send(node, RAFT_MSG_SNAPSHOT, pr->id);
    if (m == NULL) {
        return;
    }
    m->snapshot.last_index = node->snapshot_index;
    m->snapshot.last_term = node->snapshot_term;
    m->snapshot.total_len = node->snap_len;
    m->snapshot.offset = pr->snapshot_offset;
    m->snapshot.data = chunk > 0 ? node->snap_buf + pr->snapshot_offset : NULL;
    m->snapshot.data_len = (uint32_t)chunk;
    pr->snapshot_sent = pr->snapshot_offset + chunk;
}

void raft_recv_snapshot_response(struct raft_node *node, const struct raft_message *m)
{
    struct raft_progress *pr = raft_progress_answering(node, m);
    if (pr == NULL) {
        return;
    }
    const struct raft_snapshot_response *r = &m->snapshot_response;
    if (pr->state != RAFT_PROGRESS_SNAPSHOT || r->last_index != pr->snapshot_index) {
        return; /* answers a stream we are no longer sending */
    }
    if (r->reject) {
        /* The follower restarted its receive or cannot take the snapshot: start over, but only
         * on the next heartbeat answer, so a persistent refusal cannot spin. */
        pr->snapshot_offset = 0;
        pr->snapshot_sent = 0;
        return;
    }
    /* The stream being sent is pr's, not necessarily the latest one: the leader may have
     * compacted again since, and an acknowledgement of part of the older stream can cover as
     * many bytes as the newer one has. Only a whole stream is an install. */
    assert(pr->snapshot_total > 0);
    if (r->offset >= pr->snapshot_total) {
        /* Installed: the follower holds everything up to the snapshot (§7). */
        raft_progress_update_match(pr, pr->snapshot_index);
        raft_progress_become_probe(pr);
        raft_maybe_commit(node);
        pr = raft_progress_find(node, m->from);
        if (pr != NULL && node->role == RAFT_LEADER) {
            raft_replicate_to(node, pr);
        }
        return;
    }
    pr->snapshot_offset = r->offset;
    pr->snapshot_sent = pr->snapshot_offset;
    raft_snapshot_send(node, pr);
}

/* ---- Follower: receiving and installing ---- */

static void raft_reply_snapshot(struct raft_node *node, const struct raft_message *m, bool reject,
                                uint64_t offset)
{
    struct raft_message *reply = raft_send(node, RAFT_MSG_SNAPSHOT_RESPONSE, m->from);
    if (reply == NULL) {
        return;
    }
    reply->snapshot_response.reject = reject;
    reply->snapshot_response.last_index = m->snapshot.last_index;
    reply->snapshot_response.offset = offset;
}

/* Parses a complete stream's membership; false if the stream is malformed. */
static bool raft_stream_parse(const uint8_t *stream, uint64_t len, struct raft_membership *m)
{
    if (len < RAFT_STREAM_PREFIX_BYTES) {
        return false;
    }
    uint32_t mlen = bytes_get_u32(stream);
    if (mlen > RAFT_MEMBERSHIP_BYTES_MAX || mlen > len - RAFT_STREAM_PREFIX_BYTES) {
        return false;
    }
    return raft_membership_decode(stream + RAFT_STREAM_PREFIX_BYTES, mlen, m, NULL) == RAFT_OK;
}

/* The log does not hold the snapshot's last entry (or a test bug says to ignore it): the
 * snapshot replaces the whole log, on disk too. */
static void raft_snapshot_replace_log(struct raft_node *node, uint64_t index, uint64_t term)
{
    uint64_t last = raft_log_last_index(&node->log);
    uint64_t keep = node->commit < index ? node->commit : index;
    if (node->persisted > keep) {
        node->persisted = keep; /* the disk holds the old log until the snapshot is durable */
    }
    raft_writes_clamp(node, node->persisted);
    raft_log_reset(&node->log, index, term);
    if (last > index && (node->step_truncate_from == 0 || node->step_truncate_from > index + 1)) {
        node->step_truncate_from = index + 1; /* stored entries after the snapshot go too */
    }
    node->unstable_index = index + 1;
    if (node->commit > index) {
        node->commit = index; /* only RAFT_BUG_SNAPSHOT_TRUNCATES_NEWER_LOG gets here */
    }
    raft_writes_push(node, index, term); /* acknowledged with the snapshot's (index, term) */
}

static void raft_snapshot_install(struct raft_node *node, const struct raft_membership *m)
{
    uint64_t index = node->recv_index;
    uint64_t term = node->recv_term;
    uint8_t *swap = node->snap_buf;
    node->snap_buf = node->recv_buf;
    node->recv_buf = swap;
    node->snap_len = node->recv_total;
    node->recv_index = 0;
    node->snapshot_index = index;
    node->snapshot_term = term;
    node->snapshot_membership = *m;
    uint64_t held = 0;
    bool bug = (node->config.test_bugs & RAFT_BUG_SNAPSHOT_TRUNCATES_NEWER_LOG) != 0;
    if (!bug && raft_log_holds(&node->log, index) && raft_log_term_at(&node->log, index, &held) &&
        held == term) {
        raft_log_compact_to(&node->log, index); /* §7: keep the entries that follow it */
    } else {
        raft_snapshot_replace_log(node, index, term);
    }
    if (node->commit < index) {
        node->commit = index;
    }
    if (node->apply_handed < index || bug) {
        node->apply_handed = index; /* the state machines restart from the snapshot */
        node->applied = index;
        node->snapshot_restore_pending = true;
    }
    raft_snapshot_view_refresh(node);
    node->snapshot_to_persist = true;
    raft_membership_recompute(node);
}

/* Accepts a chunk into the receive buffer; returns false (after replying) if it cannot. */
static bool raft_snapshot_accept_chunk(struct raft_node *node, const struct raft_message *m)
{
    const struct raft_snapshot_chunk *s = &m->snapshot;
    /* Only the leader of this term streams to us, and its stream never changes for one index;
     * another leader's snapshot at the same index may hold other bytes for the same state (the
     * state machines' encoding need not be canonical), so its chunks start a new receive. */
    bool same = node->recv_index == s->last_index && node->recv_term == s->last_term &&
                node->recv_total == s->total_len && node->recv_leader_term == m->term;
    if (!same) {
        if (s->offset != 0) {
            raft_reply_snapshot(node, m, true, 0); /* start over from the first chunk */
            return false;
        }
        node->recv_index = s->last_index;
        node->recv_term = s->last_term;
        node->recv_total = s->total_len;
        node->recv_leader_term = m->term;
        node->recv_offset = 0;
    }
    if (s->offset != node->recv_offset) {
        raft_reply_snapshot(node, m, false, node->recv_offset); /* continue from here */
        return false;
    }
    if (s->data_len > 0) {
        memcpy(node->recv_buf + s->offset, s->data, s->data_len);
    }
    node->recv_offset += s->data_len;
    return true;
}

void raft_recv_snapshot(struct raft_node *node, const struct raft_message *m)
{
    assert(node->role == RAFT_FOLLOWER);
    const struct raft_snapshot_chunk *s = &m->snapshot;
    bool bug = (node->config.test_bugs & RAFT_BUG_SNAPSHOT_TRUNCATES_NEWER_LOG) != 0;
    if (s->last_index <= node->commit && !bug) {
        /* Stale or retransmitted: we already hold (at least) everything it covers, and it must
         * never truncate the newer entries we have. */
        raft_reply_snapshot(node, m, false, s->total_len);
        return;
    }
    if (s->total_len > node->snap_capacity || s->last_term > m->term) {
        raft_reply_snapshot(node, m, true, 0); /* cannot hold it (limits differ) */
        return;
    }
    if (!raft_snapshot_accept_chunk(node, m)) {
        return;
    }
    if (node->recv_offset < node->recv_total) {
        raft_reply_snapshot(node, m, false, node->recv_offset);
        return;
    }
    struct raft_membership membership;
    if (!raft_stream_parse(node->recv_buf, node->recv_total, &membership)) {
        node->recv_index = 0;
        raft_reply_snapshot(node, m, true, 0);
        return;
    }
    raft_snapshot_install(node, &membership);
    raft_reply_snapshot(node, m, false, s->total_len);
}

/* ---- Restart ---- */

int raft_snapshot_restore(struct raft_node *node, const struct raft_snapshot *snapshot)
{
    const struct raft_snapshot_meta *meta = &snapshot->meta;
    const char *reason = NULL;
    if (meta->index == 0 || meta->term == 0) {
        return raft_fail(node, RAFT_ERR_CORRUPT, "snapshot index or term is 0");
    }
    if (node->snap_capacity == 0) {
        return raft_fail(node, RAFT_ERR_BUSY, "snapshots are disabled (snapshot_bytes_max 0)");
    }
    if (snapshot->data_len > node->config.limits.snapshot_bytes_max) {
        return raft_fail(node, RAFT_ERR_BUSY, "snapshot of %llu bytes exceeds snapshot_bytes_max",
                         (unsigned long long)snapshot->data_len);
    }
    if (snapshot->data == NULL && snapshot->data_len > 0) {
        return raft_fail(node, RAFT_ERR_INVALID, "snapshot data is NULL");
    }
    if (raft_membership_check(&meta->membership, &reason) != RAFT_OK) {
        return raft_fail(node, RAFT_ERR_CORRUPT, "snapshot %s", reason);
    }
    raft_stream_write(node, &meta->membership, snapshot->data, (size_t)snapshot->data_len);
    node->snapshot_index = meta->index;
    node->snapshot_term = meta->term;
    node->snapshot_membership = meta->membership;
    raft_log_reset(&node->log, meta->index, meta->term);
    raft_snapshot_view_refresh(node);
    node->apply_handed = meta->index;
    node->applied = meta->index;
    node->snapshot_restore_pending = true; /* obligation 11: restored state machines first */
    return RAFT_OK;
}
