/* Node lifetime: config defaults and checks, the single allocation, restore after a restart. */
#include "core/raft_codec.h"
#include "core/raft_internal.h"

#include <assert.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void raft_config_default(struct raft_config *config)
{
    assert(config != NULL);
    memset(config, 0, sizeof(*config));
    config->election_timeout_ticks_min = 10;
    config->election_timeout_ticks_max = 20;
    config->heartbeat_interval_ticks = 2;
    config->pre_vote = true;
    config->check_quorum = true;
    struct raft_limits *l = &config->limits;
    l->log_entries_max = 16384;
    l->log_bytes_max = 4u << 20;
    l->entry_bytes_max = 64u << 10;
    l->append_entries_max = 64;
    l->append_bytes_max = 256u << 10;
    l->inflight_appends_max = 8;
    l->messages_per_update_max = 256;
    l->message_entries_per_update_max = 2048;
    l->apply_entries_per_update_max = 256;
    l->snapshot_bytes_max = 1u << 20;
    l->snapshot_chunk_bytes_max = 64u << 10;
    l->snapshot_trailing_entries = 64;
    l->read_requests_max = 64;
}

/* Checks an id list: bounded, nonzero, distinct. */
static bool raft_ids_valid(const uint32_t *ids, uint32_t count)
{
    if (count > RAFT_NODES_MAX) {
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] == 0) {
            return false;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (ids[j] == ids[i]) {
                return false;
            }
        }
    }
    return true;
}

static const char *raft_config_check_members(const struct raft_config *c)
{
    if (c->id == 0) {
        return "id must be nonzero";
    }
    if (!raft_ids_valid(c->voter_ids, c->voter_count)) {
        return "voter_ids: more than RAFT_NODES_MAX, a zero id, or a duplicate";
    }
    if (!raft_ids_valid(c->learner_ids, c->learner_count)) {
        return "learner_ids: more than RAFT_NODES_MAX, a zero id, or a duplicate";
    }
    if (c->voter_count + c->learner_count > RAFT_NODES_MAX) {
        return "voter_count + learner_count exceeds RAFT_NODES_MAX";
    }
    for (uint32_t i = 0; i < c->learner_count; i++) {
        for (uint32_t j = 0; j < c->voter_count; j++) {
            if (c->learner_ids[i] == c->voter_ids[j]) {
                return "learner_ids: an id is also a voter";
            }
        }
    }
    return NULL;
}

static const char *raft_config_check_timing(const struct raft_config *c)
{
    if (c->heartbeat_interval_ticks == 0) {
        return "heartbeat_interval_ticks must be >= 1";
    }
    if (c->election_timeout_ticks_min <= c->heartbeat_interval_ticks) {
        return "election_timeout_ticks_min must exceed heartbeat_interval_ticks";
    }
    if (c->election_timeout_ticks_max < c->election_timeout_ticks_min) {
        return "election_timeout_ticks_max must be >= election_timeout_ticks_min";
    }
    if (c->test_bugs & ~RAFT_BUGS_ALL) {
        return "test_bugs has unknown bits";
    }
    return NULL;
}

static const char *raft_config_check_limits(const struct raft_limits *l)
{
    if (l->log_entries_max == 0 || l->log_entries_max > RAFT_LOG_ENTRIES_MAX) {
        return "limits.log_entries_max must be in [1, RAFT_LOG_ENTRIES_MAX]";
    }
    if (l->append_bytes_max == 0 || l->append_bytes_max > RAFT_APPEND_BYTES_MAX) {
        return "limits.append_bytes_max must be in [1, RAFT_APPEND_BYTES_MAX]";
    }
    if (l->entry_bytes_max > l->append_bytes_max || l->entry_bytes_max > RAFT_ENTRY_BYTES_MAX) {
        return "limits.entry_bytes_max must be <= append_bytes_max and RAFT_ENTRY_BYTES_MAX";
    }
    if (l->log_bytes_max < l->entry_bytes_max || l->log_bytes_max == 0 ||
        l->log_bytes_max > (1ull << 40)) {
        return "limits.log_bytes_max must be in [max(1, entry_bytes_max), 2^40]";
    }
    if (l->append_entries_max == 0 || l->append_entries_max > RAFT_APPEND_ENTRIES_MAX) {
        return "limits.append_entries_max must be in [1, RAFT_APPEND_ENTRIES_MAX]";
    }
    if (l->inflight_appends_max == 0 || l->inflight_appends_max > RAFT_INFLIGHT_MAX) {
        return "limits.inflight_appends_max must be in [1, RAFT_INFLIGHT_MAX]";
    }
    if (l->messages_per_update_max == 0 || l->messages_per_update_max > RAFT_MESSAGES_MAX) {
        return "limits.messages_per_update_max must be in [1, RAFT_MESSAGES_MAX]";
    }
    if (l->message_entries_per_update_max < l->append_entries_max ||
        l->message_entries_per_update_max > RAFT_MESSAGES_MAX * 16u) {
        return "limits.message_entries_per_update_max must be >= append_entries_max";
    }
    if (l->apply_entries_per_update_max == 0 || l->apply_entries_per_update_max > (1u << 20)) {
        return "limits.apply_entries_per_update_max must be in [1, 2^20]";
    }
    if (l->read_requests_max > RAFT_READS_MAX) {
        return "limits.read_requests_max must be <= RAFT_READS_MAX";
    }
    if (l->snapshot_chunk_bytes_max == 0 || l->snapshot_chunk_bytes_max > RAFT_SNAPSHOT_CHUNK_MAX) {
        return "limits.snapshot_chunk_bytes_max must be in [1, RAFT_SNAPSHOT_CHUNK_MAX]";
    }
    if (l->snapshot_bytes_max > (1ull << 40)) {
        return "limits.snapshot_bytes_max must be <= 2^40";
    }
    return NULL;
}

int raft_config_check(const struct raft_config *config, const char **reason)
{
    assert(config != NULL);
    const char *why = raft_config_check_members(config);
    if (why == NULL) {
        why = raft_config_check_timing(config);
    }
    if (why == NULL) {
        why = raft_config_check_limits(&config->limits);
    }
    if (reason != NULL) {
        *reason = why;
    }
    return why == NULL ? RAFT_OK : RAFT_ERR_INVALID;
}

/* The single allocation, carved into aligned regions. */
struct raft_layout {
    size_t node;
    size_t metas;
    size_t writes;
    size_t out_entries;
    size_t out_messages;
    size_t out_message_entries;
    size_t out_committed;
    size_t reads;
    size_t out_reads;
    size_t snap_buf;
    size_t recv_buf;
    size_t arena;
    size_t total;
};

static size_t raft_layout_take(size_t *offset, size_t bytes)
{
    size_t align = alignof(max_align_t);
    size_t at = (*offset + align - 1) / align * align;
    *offset = at + bytes;
    return at;
}

static uint32_t raft_writes_capacity(const struct raft_limits *l)
{
    return l->log_entries_max < 65536u ? l->log_entries_max : 65536u;
}

/* A snapshot stream: u32 prefix, membership, state machine bytes (0 = snapshots disabled). */
static size_t raft_snap_capacity(const struct raft_limits *l)
{
    if (l->snapshot_bytes_max == 0) {
        return 0;
    }
    return 4 + RAFT_MEMBERSHIP_BYTES_MAX + (size_t)l->snapshot_bytes_max;
}

static void raft_layout_compute(const struct raft_config *c, struct raft_layout *lay)
{
    const struct raft_limits *l = &c->limits;
    size_t off = 0;
    lay->node = raft_layout_take(&off, sizeof(struct raft_node));
    lay->metas = raft_layout_take(&off, (size_t)l->log_entries_max * sizeof(struct raft_log_meta));
    lay->writes = raft_layout_take(&off, raft_writes_capacity(l) * sizeof(struct raft_write));
    lay->out_entries =
        raft_layout_take(&off, ((size_t)l->append_entries_max + 2) * sizeof(struct raft_entry));
    lay->out_messages =
        raft_layout_take(&off, (size_t)l->messages_per_update_max * sizeof(struct raft_message));
    lay->out_message_entries = raft_layout_take(&off, (size_t)l->message_entries_per_update_max *
                                                          sizeof(struct raft_entry));
    lay->out_committed =
        raft_layout_take(&off, (size_t)l->apply_entries_per_update_max * sizeof(struct raft_entry));
    lay->reads =
        raft_layout_take(&off, ((size_t)l->read_requests_max + 1) * sizeof(struct raft_read));
    lay->out_reads = raft_layout_take(&off, ((size_t)l->read_requests_max + 1) *
                                                sizeof(struct raft_read_result));
    lay->snap_buf = raft_layout_take(&off, raft_snap_capacity(l));
    lay->recv_buf = raft_layout_take(&off, raft_snap_capacity(l));
    lay->arena = raft_layout_take(&off, (size_t)l->log_bytes_max);
    lay->total = off;
}

static void raft_node_wire(struct raft_node *node, uint8_t *base, const struct raft_layout *lay)
{
    const struct raft_limits *l = &node->config.limits;
    raft_log_init(&node->log, (struct raft_log_meta *)(void *)(base + lay->metas),
                  l->log_entries_max, base + lay->arena, l->log_bytes_max);
    node->writes = (struct raft_write *)(void *)(base + lay->writes);
    node->writes_capacity = raft_writes_capacity(l);
    node->out_entries = (struct raft_entry *)(void *)(base + lay->out_entries);
    node->out_entries_capacity = l->append_entries_max + 2;
    node->out_messages = (struct raft_message *)(void *)(base + lay->out_messages);
    node->out_message_entries = (struct raft_entry *)(void *)(base + lay->out_message_entries);
    node->out_committed = (struct raft_entry *)(void *)(base + lay->out_committed);
    node->out_committed_capacity = l->apply_entries_per_update_max;
    node->reads = (struct raft_read *)(void *)(base + lay->reads);
    node->out_reads = (struct raft_read_result *)(void *)(base + lay->out_reads);
    node->snap_buf = base + lay->snap_buf;
    node->recv_buf = base + lay->recv_buf;
    node->snap_capacity = raft_snap_capacity(l);
}

struct raft_node *raft_node_create(const struct raft_config *config)
{
    assert(config != NULL);
    if (raft_config_check(config, NULL) != RAFT_OK) {
        return NULL;
    }
    struct raft_layout lay;
    raft_layout_compute(config, &lay);
    uint8_t *base = calloc(1, lay.total);
    if (base == NULL) {
        return NULL;
    }
    struct raft_node *node = (struct raft_node *)(void *)(base + lay.node);
    assert((void *)node == (void *)base);
    node->config = *config;
    prng_seed(&node->prng, config->seed);
    raft_node_wire(node, base, &lay);
    node->role = RAFT_FOLLOWER;
    node->role_reported = RAFT_FOLLOWER;
    node->unstable_index = 1;
    raft_membership_recompute(node);
    raft_reset_election_timer(node);
    return node;
}

void raft_node_destroy(struct raft_node *node)
{
    free(node); /* the node sits at the start of its single allocation */
}

const char *raft_node_errmsg(const struct raft_node *node)
{
    assert(node != NULL);
    return node->errmsg;
}

/* The index of the first recovered entry the log keeps (after the snapshot, if any). */
static uint64_t raft_restore_base(const struct raft_restore *r)
{
    return r->snapshot != NULL ? r->snapshot->meta.index : 0;
}

/* Validates the recovered state's bounds: terms and indices that leave room to grow. */
static int raft_restore_check_bounds(struct raft_node *node, const struct raft_restore *r)
{
    uint64_t base = raft_restore_base(r);
    if (r->hard_state.term > RAFT_TERM_MAX || base > RAFT_INDEX_MAX ||
        (r->snapshot != NULL && r->snapshot->meta.term > RAFT_TERM_MAX)) {
        return raft_fail(node, RAFT_ERR_CORRUPT, "a term or index beyond RAFT_TERM_MAX");
    }
    uint64_t first = r->entry_count > 0 ? r->entries[0].index : base + 1;
    if (r->entry_count > RAFT_INDEX_MAX || first > RAFT_INDEX_MAX - r->entry_count) {
        return raft_fail(node, RAFT_ERR_CORRUPT, "entry indices beyond RAFT_INDEX_MAX");
    }
    if (r->entry_count > 0 && (first == 0 || first > base + 1)) {
        return raft_fail(node, RAFT_ERR_CORRUPT, "first entry %llu leaves a gap after %llu",
                         (unsigned long long)first, (unsigned long long)base);
    }
    uint64_t last = r->entry_count > 0 ? r->entries[r->entry_count - 1].index : 0;
    last = last > base ? last : base;
    if (r->hard_state.commit > last) {
        return raft_fail(node, RAFT_ERR_CORRUPT, "commit %llu beyond the last entry %llu",
                         (unsigned long long)r->hard_state.commit, (unsigned long long)last);
    }
    return RAFT_OK;
}

/* Validates recovered entries without touching the node. Entries at or below the snapshot are
 * allowed (storage may keep them) but must agree with it. */
static int raft_restore_check(struct raft_node *node, const struct raft_restore *r)
{
    int rc = raft_restore_check_bounds(node, r);
    if (rc != RAFT_OK) {
        return rc;
    }
    uint64_t base = raft_restore_base(r);
    uint64_t prev_term = r->snapshot != NULL ? r->snapshot->meta.term : 0;
    uint64_t expected = r->entry_count > 0 ? r->entries[0].index : base + 1;
    for (size_t i = 0; i < r->entry_count; i++) {
        const struct raft_entry *e = &r->entries[i];
        if (e->index != expected + i) {
            return raft_fail(node, RAFT_ERR_CORRUPT, "entry %zu has index %llu, expected %llu", i,
                             (unsigned long long)e->index, (unsigned long long)(expected + i));
        }
        if (e->index == base && e->term != prev_term) {
            return raft_fail(node, RAFT_ERR_CORRUPT, "entry %llu has term %llu, snapshot says %llu",
                             (unsigned long long)e->index, (unsigned long long)e->term,
                             (unsigned long long)prev_term);
        }
        if (e->index <= base) {
            continue;
        }
        if (e->term == 0 || e->term < prev_term || e->term > RAFT_TERM_MAX) {
            return raft_fail(node, RAFT_ERR_CORRUPT, "entry %llu has term %llu (previous %llu)",
                             (unsigned long long)e->index, (unsigned long long)e->term,
                             (unsigned long long)prev_term);
        }
        if (e->type < RAFT_ENTRY_NOOP || e->type > RAFT_ENTRY_CONFIG ||
            (e->data == NULL && e->data_len > 0) || e->data_len > RAFT_ENTRY_BYTES_MAX) {
            return raft_fail(node, RAFT_ERR_CORRUPT, "entry %llu has a bad type or payload",
                             (unsigned long long)e->index);
        }
        prev_term = e->term;
    }
    return RAFT_OK;
}

/* Copies the entries after the snapshot into the log; RAFT_ERR_BUSY if they do not fit. */
static int raft_restore_entries(struct raft_node *node, const struct raft_restore *r)
{
    uint64_t base = raft_restore_base(r);
    for (size_t i = 0; i < r->entry_count; i++) {
        const struct raft_entry *e = &r->entries[i];
        if (e->index <= base) {
            continue;
        }
        if (!raft_log_can_append(&node->log, e->data_len)) {
            return raft_fail(node, RAFT_ERR_BUSY,
                             "recovered log does not fit the limits at entry %llu "
                             "(log_entries_max %u, log_bytes_max %llu)",
                             (unsigned long long)e->index, node->config.limits.log_entries_max,
                             (unsigned long long)node->config.limits.log_bytes_max);
        }
        raft_log_append(&node->log, e->term, e->type, e->data, e->data_len);
    }
    return RAFT_OK;
}

/* Undoes a partial restore so that a failed one leaves the node as created. */
static void raft_restore_undo(struct raft_node *node)
{
    raft_log_reset(&node->log, 0, 0);
    node->log.prev_chain = 0;
    node->snapshot_index = 0;
    node->snapshot_term = 0;
    node->snap_len = 0;
    node->apply_handed = 0;
    node->applied = 0;
    node->snapshot_restore_pending = false;
    raft_snapshot_view_refresh(node);
}

/*
 * Term and vote after a restart. Storage writes an update's entries (and snapshot) before its
 * hard state (obligation 3), so a crash between them leaves a log whose last term is above the
 * stored term: the node adopted that term in a lost update, from the leader that sent the
 * entries. No message of that term left the node (messages wait until every earlier persist
 * section is durable, hard states included), so no vote in it was ever granted to anyone: it
 * restarts in that term with no vote, and the next update stores it.
 */
static void raft_restore_term(struct raft_node *node, const struct raft_hard_state *hs)
{
    uint64_t log_term = raft_log_last_term(&node->log);
    assert(log_term >= node->snapshot_term);
    node->term = hs->term;
    node->vote = hs->vote;
    if (log_term > hs->term) {
        node->term = log_term;
        node->vote = 0;
    }
}

int raft_node_restore(struct raft_node *node, const struct raft_restore *restore)
{
    assert(node != NULL);
    assert(restore != NULL);
    if (node->stepped || raft_log_last_index(&node->log) > 0 || node->term > 0) {
        return raft_fail(node, RAFT_ERR_INVALID, "restore is allowed once, before the first step");
    }
    if (restore->entries == NULL && restore->entry_count > 0) {
        return raft_fail(node, RAFT_ERR_INVALID, "entries is NULL");
    }
    int rc = raft_restore_check(node, restore);
    if (rc == RAFT_OK && restore->snapshot != NULL) {
        rc = raft_snapshot_restore(node, restore->snapshot);
    }
    if (rc == RAFT_OK) {
        rc = raft_restore_entries(node, restore);
    }
    if (rc != RAFT_OK) {
        raft_restore_undo(node);
        return rc;
    }
    raft_restore_term(node, &restore->hard_state);
    node->commit = restore->hard_state.commit > node->snapshot_index ? restore->hard_state.commit
                                                                     : node->snapshot_index;
    node->persisted = raft_log_last_index(&node->log);
    node->unstable_index = node->persisted + 1;
    node->hard_state_reported = restore->hard_state; /* a raised commit is reported next */
    node->term_reported = node->term;
    raft_membership_recompute(node);
    return RAFT_OK;
}
