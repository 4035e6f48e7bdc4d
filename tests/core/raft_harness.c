/* Scripted Raft cluster for tests: network, disks, crash-restart, and invariant checkers. */
#include "tests/core/raft_harness.h"

#include "core/hash.h"
#include "core/raft_codec.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H_STEP_LOOP_MAX   100000u
#define H_DELIVER_MAX     200000u
#define H_ELECT_TICKS_MAX 400u

struct h_write {
    uint64_t truncate_from;
    struct h_snapshot snapshot; /* meta.index 0 = none */
    struct h_entry *entries;
    size_t entry_count;
    bool hs_changed;
    struct raft_hard_state hs;
    struct h_frame *frames;
    size_t frame_count;
    struct h_write *next;
};

static void *h_xmalloc(size_t size)
{
    void *p = calloc(1, size > 0 ? size : 1);
    assert(p != NULL);
    return p;
}

static void h_violation(struct harness *h, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void h_violation(struct harness *h, const char *format, ...)
{
    if (h->violation[0] != '\0') {
        return;
    }
    va_list args;
    va_start(args, format);
    vsnprintf(h->violation, sizeof(h->violation), format, args);
    va_end(args);
    if (h->trace) {
        fprintf(stderr, "VIOLATION: %s\n", h->violation);
    }
}

struct h_node *h_node(struct harness *h, uint32_t id)
{
    assert(id >= 1 && id <= h->n);
    return &h->nodes[id - 1];
}

struct raft_node *h_raft(struct harness *h, uint32_t id)
{
    return h_node(h, id)->raft;
}

/* ---- entries and frames ---- */

static void h_entry_copy(struct h_entry *dst, const struct raft_entry *src)
{
    dst->index = src->index;
    dst->term = src->term;
    dst->type = src->type;
    dst->data_len = src->data_len;
    dst->data = NULL;
    if (src->data_len > 0) {
        dst->data = h_xmalloc(src->data_len);
        memcpy(dst->data, src->data, src->data_len);
    }
}

static uint64_t h_entry_hash(enum raft_entry_type type, const uint8_t *data, uint32_t len)
{
    return hash_bytes(data, len, (uint64_t)type);
}

static struct h_frame h_encode(const struct raft_message *m)
{
    struct h_frame f;
    f.len = raft_encoded_size(m);
    f.bytes = h_xmalloc(f.len);
    size_t written = 0;
    int rc = raft_encode(m, f.bytes, f.len, &written);
    assert(rc == RAFT_OK && written == f.len);
    (void)rc;
    f.from = m->from;
    f.to = m->to;
    f.type = m->type;
    return f;
}

static void h_net_push(struct harness *h, struct h_frame f)
{
    if (h->net_count == h->net_cap) {
        h->net_cap = h->net_cap ? h->net_cap * 2 : 64;
        h->net = realloc(h->net, h->net_cap * sizeof(*h->net));
        assert(h->net != NULL);
    }
    h->net[h->net_count++] = f;
}

static struct h_frame h_net_take(struct harness *h, size_t position)
{
    assert(position < h->net_count);
    struct h_frame f = h->net[position];
    memmove(&h->net[position], &h->net[position + 1],
            (h->net_count - position - 1) * sizeof(*h->net));
    h->net_count--;
    return f;
}

/* ---- disk ---- */

static uint64_t h_disk_last(const struct h_node *node)
{
    return node->disk_count > 0 ? node->disk[node->disk_count - 1].index
                                : node->disk_snapshot.meta.index;
}

/* Drops stored entries with index >= from. */
static void h_disk_truncate(struct h_node *node, uint64_t from)
{
    while (node->disk_count > 0 && node->disk[node->disk_count - 1].index >= from) {
        free(node->disk[node->disk_count - 1].data);
        node->disk_count--;
    }
}

/* Drops stored entries with index <= upto (compaction behind a snapshot). */
static void h_disk_compact(struct h_node *node, uint64_t upto)
{
    size_t drop = 0;
    while (drop < node->disk_count && node->disk[drop].index <= upto) {
        free(node->disk[drop].data);
        drop++;
    }
    if (drop == 0) {
        return;
    }
    memmove(node->disk, node->disk + drop, (node->disk_count - drop) * sizeof(*node->disk));
    node->disk_count -= drop;
}

static void h_snapshot_copy(struct h_snapshot *dst, const struct raft_snapshot *src)
{
    dst->meta = src->meta;
    dst->data_len = src->data_len;
    dst->data = h_xmalloc(src->data_len);
    if (src->data_len > 0) {
        memcpy(dst->data, src->data, src->data_len);
    }
}

static void h_disk_snapshot(struct harness *h, struct h_node *node, struct h_snapshot *snap)
{
    if (snap->meta.index < node->disk_snapshot.meta.index) {
        h_violation(h, "node %u: stored snapshot index went back from %llu to %llu", node->id,
                    (unsigned long long)node->disk_snapshot.meta.index,
                    (unsigned long long)snap->meta.index);
    }
    free(node->disk_snapshot.data);
    node->disk_snapshot = *snap; /* takes ownership */
    snap->data = NULL;
    h_disk_compact(node, snap->meta.index);
    if (node->disk_count > 0 && node->disk[0].index != snap->meta.index + 1) {
        h_violation(h, "node %u: entries after snapshot %llu start at %llu", node->id,
                    (unsigned long long)snap->meta.index, (unsigned long long)node->disk[0].index);
    }
}

static void h_disk_append(struct harness *h, struct h_node *node, const struct h_entry *e)
{
    if (e->index != h_disk_last(node) + 1) {
        h_violation(h, "node %u: appended entry %llu is not contiguous with the disk (%llu)",
                    node->id, (unsigned long long)e->index, (unsigned long long)h_disk_last(node));
        return;
    }
    if (node->disk_count == node->disk_cap) {
        node->disk_cap = node->disk_cap ? node->disk_cap * 2 : 64;
        node->disk = realloc(node->disk, node->disk_cap * sizeof(*node->disk));
        assert(node->disk != NULL);
    }
    struct h_entry *d = &node->disk[node->disk_count++];
    *d = *e;
    d->data = NULL;
    if (e->data_len > 0) {
        d->data = h_xmalloc(e->data_len);
        memcpy(d->data, e->data, e->data_len);
    }
}

static void h_disk_hard_state(struct harness *h, struct h_node *node,
                              const struct raft_hard_state *hs)
{
    const struct raft_hard_state *old = &node->disk_hs;
    if (hs->term < old->term) {
        h_violation(h, "node %u: persisted term went back from %llu to %llu", node->id,
                    (unsigned long long)old->term, (unsigned long long)hs->term);
    }
    bool double_vote = (node->config.test_bugs & RAFT_BUG_DOUBLE_VOTE) != 0;
    if (hs->term == old->term && old->vote != 0 && hs->vote != old->vote && !double_vote) {
        h_violation(h, "node %u: vote in term %llu changed from %u to %u", node->id,
                    (unsigned long long)hs->term, old->vote, hs->vote);
    }
    if (hs->commit < old->commit) {
        h_violation(h, "node %u: persisted commit went back from %llu to %llu", node->id,
                    (unsigned long long)old->commit, (unsigned long long)hs->commit);
    }
    node->disk_hs = *hs;
}

static void h_write_apply(struct harness *h, struct h_node *node, struct h_write *w)
{
    if (w->truncate_from != 0) {
        h_disk_truncate(node, w->truncate_from);
    }
    if (w->snapshot.meta.index != 0) {
        h_disk_snapshot(h, node, &w->snapshot);
    }
    for (size_t i = 0; i < w->entry_count; i++) {
        h_disk_append(h, node, &w->entries[i]);
    }
    if (w->hs_changed) {
        h_disk_hard_state(h, node, &w->hs);
    }
}

static void h_write_free(struct h_write *w, bool free_frames)
{
    for (size_t i = 0; i < w->entry_count; i++) {
        free(w->entries[i].data);
    }
    free(w->entries);
    free(w->snapshot.data);
    if (free_frames) {
        for (size_t i = 0; i < w->frame_count; i++) {
            free(w->frames[i].bytes);
        }
    }
    free(w->frames);
    free(w);
}

static struct h_write *h_write_from_update(const struct raft_update *u)
{
    struct h_write *w = h_xmalloc(sizeof(*w));
    w->truncate_from = u->truncate_from_index;
    w->entry_count = u->entry_count;
    w->entries = h_xmalloc(u->entry_count * sizeof(*w->entries));
    for (size_t i = 0; i < u->entry_count; i++) {
        h_entry_copy(&w->entries[i], &u->entries[i]);
    }
    w->hs_changed = u->hard_state_changed;
    w->hs = u->hard_state;
    if (u->snapshot != NULL) {
        h_snapshot_copy(&w->snapshot, u->snapshot);
    }
    w->frame_count = u->message_count;
    w->frames = h_xmalloc(u->message_count * sizeof(*w->frames));
    for (size_t i = 0; i < u->message_count; i++) {
        w->frames[i] = h_encode(&u->messages[i]);
    }
    return w;
}

/* ---- state machine ---- */

static void h_commit_record(struct harness *h, struct h_node *node, uint64_t index, uint64_t term,
                            uint64_t hash, const char *what)
{
    if (index > H_LOG_MAX) {
        return;
    }
    struct h_committed *c = &h->committed[index];
    if (index > h->committed_max) {
        h->committed_max = index;
    }
    if (!c->set) {
        c->set = true;
        c->term = term;
        c->hash = hash;
        c->seen_term = raft_node_term(node->raft);
        return;
    }
    if (c->term != term || c->hash != hash) {
        h_violation(h,
                    "state machine safety: node %u %s index %llu with term %llu, but term %llu "
                    "was committed there",
                    node->id, what, (unsigned long long)index, (unsigned long long)term,
                    (unsigned long long)c->term);
    }
}

/* State machine safety, strengthened: every node's state after index i is the same. */
static void h_sm_record(struct harness *h, struct h_node *node)
{
    uint64_t i = node->applied;
    if (i == 0 || i > H_LOG_MAX) {
        return;
    }
    if (!h->sm_set[i]) {
        h->sm_set[i] = true;
        h->sm_at[i] = node->sm_hash;
    } else if (h->sm_at[i] != node->sm_hash) {
        h_violation(h, "state machine safety: node %u's state after index %llu differs", node->id,
                    (unsigned long long)i);
    }
}

static void h_sm_restore(struct harness *h, struct h_node *node, const struct raft_snapshot *snap)
{
    if (snap->data_len < 24) {
        h_violation(h, "node %u: snapshot to restore has %llu bytes", node->id,
                    (unsigned long long)snap->data_len);
        return;
    }
    uint64_t words[3];
    for (int w = 0; w < 3; w++) {
        words[w] = 0;
        for (int b = 0; b < 8; b++) {
            words[w] |= (uint64_t)snap->data[w * 8 + b] << (8 * b);
        }
    }
    if (words[0] != snap->meta.index) {
        h_violation(h, "node %u: snapshot at %llu holds state applied to %llu", node->id,
                    (unsigned long long)snap->meta.index, (unsigned long long)words[0]);
    }
    node->applied = words[0];
    node->sm_hash = words[1];
    node->commands_applied = words[2];
    h_sm_record(h, node);
}

static void h_apply(struct harness *h, struct h_node *node, const struct raft_entry *e)
{
    if (e->index != node->applied + 1) {
        h_violation(h, "node %u: applied index %llu after %llu (not exactly once, in order)",
                    node->id, (unsigned long long)e->index, (unsigned long long)node->applied);
    }
    node->applied = e->index;
    uint64_t hash = h_entry_hash(e->type, e->data, e->data_len);
    h_commit_record(h, node, e->index, e->term, hash, "applied");
    if (e->type == RAFT_ENTRY_COMMAND) {
        node->sm_hash = hash_fold_u64(node->sm_hash, hash);
        node->commands_applied++;
    }
    h_sm_record(h, node);
}

static void h_reads_done(struct harness *h, struct h_node *node, const struct raft_update *u)
{
    for (size_t i = 0; i < u->read_count; i++) {
        const struct raft_read_result *r = &u->reads[i];
        if (r->request_id >= h->read_count || h->reads[r->request_id].node != node->id ||
            h->reads[r->request_id].done) {
            h_violation(h, "node %u: read result for unknown or finished request %llu", node->id,
                        (unsigned long long)r->request_id);
            continue;
        }
        struct h_read *rd = &h->reads[r->request_id];
        rd->done = true;
        rd->status = r->status;
        rd->index = r->index;
        if (r->status == RAFT_OK && r->index < rd->committed_at_request) {
            h_violation(h,
                        "linearizable read: node %u served read %llu at index %llu, but %llu was "
                        "committed before it was issued",
                        node->id, (unsigned long long)r->request_id, (unsigned long long)r->index,
                        (unsigned long long)rd->committed_at_request);
        }
    }
}

/* ---- update processing ---- */

static bool h_update_persists(const struct raft_update *u)
{
    return u->truncate_from_index != 0 || u->entry_count > 0 || u->hard_state_changed ||
           u->snapshot != NULL;
}

static void h_process(struct harness *h, struct h_node *node, const struct raft_update *u)
{
    if (u->truncate_from_index != 0) {
        node->last_truncate_from = u->truncate_from_index;
    }
    node->snapshots_installed += u->snapshot_restore != NULL;
    if (node->manual_sync && (h_update_persists(u) || node->pending_head != NULL)) {
        struct h_write *w = h_write_from_update(u);
        if (node->pending_tail != NULL) {
            node->pending_tail->next = w;
        } else {
            node->pending_head = w;
        }
        node->pending_tail = w;
    } else {
        if (h_update_persists(u)) {
            struct h_write *w = h_write_from_update(u);
            h_write_apply(h, node, w);
            for (size_t i = 0; i < w->frame_count; i++) {
                h_net_push(h, w->frames[i]);
            }
            h_write_free(w, false);
        } else {
            for (size_t i = 0; i < u->message_count; i++) {
                h_net_push(h, h_encode(&u->messages[i]));
            }
        }
        if (u->entry_count > 0) {
            node->ack_persisted_index = u->entries[u->entry_count - 1].index;
            node->ack_persisted_term = u->entries[u->entry_count - 1].term;
        } else if (u->snapshot != NULL) {
            node->ack_persisted_index = u->snapshot->meta.index;
            node->ack_persisted_term = u->snapshot->meta.term;
        }
    }
    if (u->snapshot_restore != NULL) {
        h_sm_restore(h, node, u->snapshot_restore);
    }
    for (size_t i = 0; i < u->committed_count; i++) {
        h_apply(h, node, &u->committed[i]);
    }
    if (u->committed_count > 0) {
        node->ack_applied = u->committed[u->committed_count - 1].index;
    }
    h_reads_done(h, node, u);
}

static int h_step_once(struct harness *h, struct h_node *node, const struct raft_event *ev)
{
    struct raft_update u;
    int rc = raft_step(node->raft, ev, &u);
    h->steps++;
    if (ev->type == RAFT_EVENT_PROPOSE) {
        h->last_proposed_index = u.proposed_index;
        assert(rc != RAFT_OK || u.proposed_index == raft_node_last_index(node->raft));
        assert(rc != RAFT_OK || u.proposed_term == raft_node_term(node->raft));
    }
    h_process(h, node, &u);
    h_check(h);
    return rc;
}

int h_step(struct harness *h, uint32_t id, const struct raft_event *event)
{
    struct h_node *node = h_node(h, id);
    assert(node->raft != NULL);
    int rc = h_step_once(h, node, event);
    for (uint32_t i = 0; i < H_STEP_LOOP_MAX; i++) {
        struct raft_event ack;
        memset(&ack, 0, sizeof(ack));
        if (node->ack_persisted_index != 0) {
            ack.type = RAFT_EVENT_PERSISTED;
            ack.persisted.index = node->ack_persisted_index;
            ack.persisted.term = node->ack_persisted_term;
            node->ack_persisted_index = 0;
        } else if (node->ack_applied != 0) {
            ack.type = RAFT_EVENT_APPLIED;
            ack.applied.index = node->ack_applied;
            node->ack_applied = 0;
        } else {
            return rc;
        }
        int ack_rc = h_step_once(h, node, &ack);
        assert(ack_rc == RAFT_OK);
        (void)ack_rc;
    }
    assert(0 && "acknowledgement loop did not settle");
    return rc;
}

int h_tick(struct harness *h, uint32_t id)
{
    struct raft_event ev = { .type = RAFT_EVENT_TICK };
    return h_step(h, id, &ev);
}

void h_tick_all(struct harness *h, uint32_t ticks)
{
    for (uint32_t t = 0; t < ticks; t++) {
        for (uint32_t id = 1; id <= h->n; id++) {
            if (h_raft(h, id) != NULL) {
                h_tick(h, id);
            }
        }
    }
}

int h_propose(struct harness *h, uint32_t id, const char *text, uint64_t *index)
{
    struct raft_event ev = { .type = RAFT_EVENT_PROPOSE };
    ev.propose.data = text;
    ev.propose.data_len = strlen(text);
    h->last_proposed_index = 0;
    int rc = h_step(h, id, &ev);
    if (index != NULL) {
        *index = h->last_proposed_index;
    }
    return rc;
}

void h_propose_n(struct harness *h, uint32_t id, int n, const char *tag)
{
    assert(n >= 0);
    for (int i = 0; i < n; i++) {
        char text[32];
        snprintf(text, sizeof(text), "%s-%d", tag, i);
        int rc = h_propose(h, id, text, NULL);
        if (rc != RAFT_OK) { /* a test failure even with NDEBUG: the test expected a leader */
            fprintf(stderr, "h_propose_n: node %u refused proposal %s: %d\n", id, text, rc);
            abort();
        }
    }
}

void h_settle(struct harness *h, uint32_t id, int rounds)
{
    assert(rounds >= 0);
    for (int t = 0; t < rounds; t++) {
        h_tick(h, id);
        h_deliver_all(h);
    }
}

/* ---- network ---- */

void h_peek(struct harness *h, size_t position, struct raft_message *message)
{
    assert(position < h->net_count);
    const char *reason = NULL;
    int rc = raft_decode(h->net[position].bytes, h->net[position].len, message, h->scratch,
                         RAFT_APPEND_ENTRIES_MAX, &reason);
    assert(rc == RAFT_OK);
    (void)rc;
}

void h_deliver(struct harness *h, size_t position)
{
    struct h_frame f = h_net_take(h, position);
    struct h_node *to = h_node(h, f.to);
    if (to->raft == NULL || h->blocked[f.from][f.to]) {
        h->dropped++;
        free(f.bytes);
        return;
    }
    struct raft_message m;
    const char *reason = NULL;
    int rc = raft_decode(f.bytes, f.len, &m, h->scratch, RAFT_APPEND_ENTRIES_MAX, &reason);
    if (rc != RAFT_OK) {
        h_violation(h, "frame from %u to %u does not decode: %s", f.from, f.to, reason);
        free(f.bytes);
        return;
    }
    if (h->trace) {
        fprintf(stderr, "deliver %s %u->%u term %llu\n", raft_message_type_name(m.type), m.from,
                m.to, (unsigned long long)m.term);
    }
    struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = &m;
    h->delivered++;
    rc = h_step(h, f.to, &ev);
    if (rc != RAFT_OK) {
        h_violation(h, "receive on node %u failed: %s", f.to, raft_strerror(rc));
    }
    free(f.bytes); /* after the step: the message's entries pointed into it */
}

void h_drop(struct harness *h, size_t position)
{
    struct h_frame f = h_net_take(h, position);
    h->dropped++;
    free(f.bytes);
}

void h_duplicate(struct harness *h, size_t position)
{
    assert(position < h->net_count);
    struct h_frame copy = h->net[position];
    copy.bytes = h_xmalloc(copy.len);
    memcpy(copy.bytes, h->net[position].bytes, copy.len);
    h_net_push(h, copy);
}

void h_reorder(struct harness *h, size_t position)
{
    struct h_frame f = h_net_take(h, position);
    h_net_push(h, f);
}

size_t h_deliver_all(struct harness *h)
{
    size_t count = 0;
    while (h->net_count > 0 && count < H_DELIVER_MAX) {
        h_deliver(h, 0);
        count++;
    }
    assert(h->net_count == 0 && "network did not quiesce");
    return count;
}

size_t h_deliver_filtered(struct harness *h, h_filter_fn *filter, void *ctx)
{
    size_t count = 0;
    while (h->net_count > 0 && count < H_DELIVER_MAX) {
        struct raft_message m;
        h_peek(h, 0, &m);
        if (filter(&m, ctx)) {
            h_deliver(h, 0);
        } else {
            h_drop(h, 0);
        }
        count++;
    }
    assert(h->net_count == 0 && "network did not quiesce");
    return count;
}

size_t h_find(struct harness *h, enum raft_message_type type, uint32_t from, uint32_t to)
{
    for (size_t i = 0; i < h->net_count; i++) {
        const struct h_frame *f = &h->net[i];
        if (f->type == type && (from == 0 || f->from == from) && (to == 0 || f->to == to)) {
            return i;
        }
    }
    return SIZE_MAX;
}

int h_inject(struct harness *h, const struct raft_message *message)
{
    struct h_frame f = h_encode(message);
    struct raft_message m;
    const char *reason = NULL;
    int rc = raft_decode(f.bytes, f.len, &m, h->scratch, RAFT_APPEND_ENTRIES_MAX, &reason);
    assert(rc == RAFT_OK);
    struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = &m;
    rc = h_step(h, message->to, &ev);
    free(f.bytes);
    return rc;
}

void h_clear_net(struct harness *h)
{
    while (h->net_count > 0) {
        h_drop(h, h->net_count - 1);
    }
}

size_t h_count(struct harness *h, enum raft_message_type type, uint32_t from, uint32_t to)
{
    size_t count = 0;
    for (size_t i = 0; i < h->net_count; i++) {
        const struct h_frame *f = &h->net[i];
        count += f->type == type && (from == 0 || f->from == from) && (to == 0 || f->to == to);
    }
    return count;
}

void h_block(struct harness *h, uint32_t from, uint32_t to, bool blocked)
{
    assert(from >= 1 && from <= h->n && to >= 1 && to <= h->n);
    h->blocked[from][to] = blocked;
}

void h_isolate(struct harness *h, uint32_t id, bool isolated)
{
    for (uint32_t other = 1; other <= h->n; other++) {
        if (other != id) {
            h_block(h, id, other, isolated);
            h_block(h, other, id, isolated);
        }
    }
}

/* ---- persistence, crash and restart ---- */

void h_set_manual_sync(struct harness *h, uint32_t id, bool manual)
{
    struct h_node *node = h_node(h, id);
    node->manual_sync = manual;
    if (!manual) {
        h_sync(h, id); /* after the switch, so updates caused by the flush are written directly */
    }
}

void h_sync(struct harness *h, uint32_t id)
{
    struct h_node *node = h_node(h, id);
    uint64_t ack_index = 0;
    uint64_t ack_term = 0;
    for (struct h_write *w = node->pending_head; w != NULL;) {
        uint64_t snap_index = w->snapshot.meta.index;
        uint64_t snap_term = w->snapshot.meta.term;
        h_write_apply(h, node, w);
        for (size_t i = 0; i < w->frame_count; i++) {
            h_net_push(h, w->frames[i]);
        }
        if (w->entry_count > 0) {
            ack_index = w->entries[w->entry_count - 1].index;
            ack_term = w->entries[w->entry_count - 1].term;
        } else if (snap_index != 0) {
            ack_index = snap_index;
            ack_term = snap_term;
        }
        struct h_write *next = w->next;
        h_write_free(w, false);
        w = next;
    }
    node->pending_head = NULL;
    node->pending_tail = NULL;
    if (ack_index != 0 && node->raft != NULL) {
        struct raft_event ev = { .type = RAFT_EVENT_PERSISTED };
        ev.persisted.index = ack_index;
        ev.persisted.term = ack_term;
        h_step(h, id, &ev);
    }
}

static void h_drop_pending(struct h_node *node)
{
    for (struct h_write *w = node->pending_head; w != NULL;) {
        struct h_write *next = w->next;
        h_write_free(w, true);
        w = next;
    }
    node->pending_head = NULL;
    node->pending_tail = NULL;
}

void h_crash(struct harness *h, uint32_t id)
{
    struct h_node *node = h_node(h, id);
    assert(node->raft != NULL);
    raft_node_destroy(node->raft);
    node->raft = NULL;
    h_drop_pending(node); /* what was not durable is lost, and so are its held messages */
    node->ack_persisted_index = 0;
    node->ack_applied = 0;
}

void h_crash_before_hard_state(struct harness *h, uint32_t id)
{
    struct h_node *node = h_node(h, id);
    for (struct h_write *w = node->pending_head; w != NULL; w = w->next) {
        w->hs_changed = false;
        h_write_apply(h, node, w);
    }
    h_crash(h, id); /* frees the writes and drops the messages they held */
}

static void h_lifetime_reset(struct h_node *node)
{
    node->snapshot_index = 0;
    node->applied = 0;
    node->sm_hash = 0;
    node->commands_applied = 0;
    node->max_term = 0;
    node->last_commit = 0;
    node->checked_commit = 0;
    node->vote_term = 0;
    node->vote_for = 0;
    node->lead_term = 0;
    node->lead_last = 0;
    node->lead_prefix = 0;
}

void h_restart(struct harness *h, uint32_t id)
{
    struct h_node *node = h_node(h, id);
    assert(node->raft == NULL);
    node->config.seed = prng_seed_derive_index(node->config.seed, ++node->restarts);
    node->raft = raft_node_create(&node->config);
    assert(node->raft != NULL);
    struct raft_entry *entries = h_xmalloc(node->disk_count * sizeof(*entries));
    for (size_t i = 0; i < node->disk_count; i++) {
        const struct h_entry *d = &node->disk[i];
        entries[i] = (struct raft_entry){ d->index, d->term, d->type, d->data_len, d->data };
    }
    struct raft_snapshot snap = { node->disk_snapshot.meta, node->disk_snapshot.data,
                                  node->disk_snapshot.data_len };
    struct raft_restore r = { .hard_state = node->disk_hs,
                              .snapshot = snap.meta.index != 0 ? &snap : NULL,
                              .entries = entries,
                              .entry_count = node->disk_count };
    int rc = raft_node_restore(node->raft, &r);
    if (rc != RAFT_OK) {
        h_violation(h, "node %u: restore failed: %s", id, raft_node_errmsg(node->raft));
    }
    free(entries);
    h_lifetime_reset(node);
    h_check(h);
}

void h_load_log(struct harness *h, uint32_t id, const uint64_t *terms, size_t count, uint64_t term,
                uint64_t commit)
{
    struct h_node *node = h_node(h, id);
    if (node->raft != NULL) {
        h_crash(h, id);
    }
    h_disk_truncate(node, 1);
    free(node->disk_snapshot.data);
    memset(&node->disk_snapshot, 0, sizeof(node->disk_snapshot));
    for (size_t i = 0; i < count; i++) {
        char text[48];
        snprintf(text, sizeof(text), "e%zut%llu", i + 1, (unsigned long long)terms[i]);
        struct h_entry e = { i + 1, terms[i], RAFT_ENTRY_COMMAND, (uint32_t)strlen(text),
                             (uint8_t *)text };
        h_disk_append(h, node, &e);
    }
    node->disk_hs = (struct raft_hard_state){ term, 0, commit };
    h_restart(h, id);
}

/* ---- elections ---- */

struct h_mask_ctx {
    uint32_t mask;
};

static bool h_mask_filter(const struct raft_message *m, void *ctx)
{
    uint32_t mask = ((const struct h_mask_ctx *)ctx)->mask;
    return mask == 0 || (((mask >> (m->from - 1)) & 1u) && ((mask >> (m->to - 1)) & 1u));
}

bool h_elect(struct harness *h, uint32_t id, uint32_t allowed_mask)
{
    struct h_mask_ctx ctx = { allowed_mask };
    for (uint32_t t = 0; t < H_ELECT_TICKS_MAX; t++) {
        if (raft_node_role(h_raft(h, id)) == RAFT_LEADER) {
            return true;
        }
        h_tick(h, id);
        h_deliver_filtered(h, h_mask_filter, &ctx);
    }
    return raft_node_role(h_raft(h, id)) == RAFT_LEADER;
}

uint32_t h_leader(const struct harness *h)
{
    uint32_t best = 0;
    uint64_t best_term = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        const struct raft_node *r = h->nodes[i].raft;
        if (r != NULL && raft_node_role(r) == RAFT_LEADER && raft_node_term(r) >= best_term) {
            best = h->nodes[i].id;
            best_term = raft_node_term(r);
        }
    }
    return best;
}

bool h_has(struct harness *h, uint32_t id, uint64_t index, uint64_t term)
{
    uint64_t t = 0;
    return raft_node_term_at(h_raft(h, id), index, &t) && t == term && index > 0;
}

void h_log_terms(struct harness *h, uint32_t id, char *buf, size_t len)
{
    const struct raft_node *r = h_raft(h, id);
    size_t used = 0;
    buf[0] = '\0';
    for (uint64_t i = raft_node_first_index(r); i <= raft_node_last_index(r); i++) {
        uint64_t t = 0;
        raft_node_term_at(r, i, &t);
        int n = snprintf(buf + used, len - used, "%s%llu", used ? " " : "", (unsigned long long)t);
        if (n < 0 || (size_t)n >= len - used) {
            return;
        }
        used += (size_t)n;
    }
}

/* ---- checkers ---- */

/* Position-sensitive per-entry hash, summed into prefixes so any range compares in O(1). */
static uint64_t h_position_hash(const struct raft_entry *e)
{
    uint64_t h = hash_fold_u64(h_entry_hash(e->type, e->data, e->data_len), e->index);
    return hash_fold_u64(h, e->term);
}

static void h_compute_prefix(struct harness *h, uint32_t slot)
{
    const struct raft_node *r = h->nodes[slot].raft;
    uint64_t last = raft_node_last_index(r);
    uint64_t sum = 0;
    h->prefix[slot][0] = 0;
    uint64_t first = raft_node_first_index(r);
    for (uint64_t i = 1; i < first && i <= H_LOG_MAX; i++) {
        h->prefix[slot][i] = 0; /* compacted into the snapshot */
    }
    for (uint64_t i = first; i <= last && i <= H_LOG_MAX; i++) {
        struct raft_entry e;
        if (raft_node_entry_at(r, i, &e)) {
            sum += h_position_hash(&e);
        }
        h->prefix[slot][i] = sum;
    }
}

static void h_check_node(struct harness *h, struct h_node *node)
{
    const struct raft_node *r = node->raft;
    uint64_t term = raft_node_term(r);
    if (term < node->max_term) {
        h_violation(h, "node %u: term went back from %llu to %llu", node->id,
                    (unsigned long long)node->max_term, (unsigned long long)term);
    }
    node->max_term = term;
    bool double_vote = (node->config.test_bugs & RAFT_BUG_DOUBLE_VOTE) != 0;
    uint32_t vote = raft_node_vote(r);
    if (node->vote_term == term && node->vote_for != 0 && vote != node->vote_for && !double_vote) {
        h_violation(h, "node %u: vote in term %llu changed from %u to %u", node->id,
                    (unsigned long long)term, node->vote_for, vote);
    }
    node->vote_term = term;
    node->vote_for = vote;
    uint64_t commit = raft_node_commit_index(r);
    if (commit < node->last_commit) {
        h_violation(h, "node %u: commit went back from %llu to %llu", node->id,
                    (unsigned long long)node->last_commit, (unsigned long long)commit);
    }
    if (commit > raft_node_last_index(r)) {
        h_violation(h, "node %u: commit %llu beyond last index %llu", node->id,
                    (unsigned long long)commit, (unsigned long long)raft_node_last_index(r));
    }
    node->last_commit = commit;
    uint64_t snap = raft_node_snapshot_index(r);
    if (snap < node->snapshot_index) {
        h_violation(h, "node %u: snapshot index went back from %llu to %llu", node->id,
                    (unsigned long long)node->snapshot_index, (unsigned long long)snap);
    }
    node->snapshot_index = snap;
    if (raft_node_applied_index(r) > commit) {
        h_violation(h, "node %u: applied beyond commit", node->id);
    }
}

static void h_check_commits(struct harness *h, struct h_node *node)
{
    const struct raft_node *r = node->raft;
    uint64_t commit = raft_node_commit_index(r);
    for (uint64_t i = node->checked_commit + 1; i <= commit; i++) {
        struct raft_entry e;
        if (raft_node_entry_at(r, i, &e)) {
            h_commit_record(h, node, i, e.term, h_entry_hash(e.type, e.data, e.data_len),
                            "committed");
        }
    }
    if (commit > node->checked_commit) {
        node->checked_commit = commit;
    }
}

static void h_check_leader(struct harness *h, struct h_node *node, uint32_t slot)
{
    const struct raft_node *r = node->raft;
    uint64_t term = raft_node_term(r);
    if (term >= H_TERMS_MAX) {
        h_violation(h, "term %llu beyond the harness's table", (unsigned long long)term);
        return;
    }
    /* Election safety counts a leader once its term (and self-vote) is on disk. Before that it
     * has sent nothing (messages wait for the hard state) and committed nothing (a one-voter
     * leader counts only entries acknowledged durable, and the ack covers the hard state), so a
     * crash then erases an election nobody saw, and the node may vote again in that term. */
    bool durable = node->disk_hs.term == term;
    if (durable && h->term_leader[term] != 0 && h->term_leader[term] != node->id) {
        h_violation(h, "election safety: nodes %u and %u both lead term %llu", h->term_leader[term],
                    node->id, (unsigned long long)term);
    }
    if (durable) {
        h->term_leader[term] = node->id;
    }
    uint64_t last = raft_node_last_index(r);
    (void)slot;
    uint64_t lead_last_term = 0;
    bool known = raft_node_term_at(r, node->lead_last, &lead_last_term);
    if (node->lead_term == term) {
        if (last < node->lead_last || (known && lead_last_term != node->lead_prefix)) {
            h_violation(h, "leader append-only: leader %u of term %llu changed its log", node->id,
                        (unsigned long long)term);
        }
    }
    node->lead_term = term;
    node->lead_last = last;
    raft_node_term_at(r, last, &node->lead_prefix); /* the term of its last entry */
    /* Leader completeness (§5.4.1): entries committed in earlier terms are in this log. */
    for (uint64_t i = 1; i <= H_LOG_MAX; i++) {
        const struct h_committed *c = &h->committed[i];
        if (!c->set) {
            break;
        }
        if (i < raft_node_first_index(r)) {
            continue; /* compacted into this leader's snapshot */
        }
        if (c->seen_term < term && !h_has(h, node->id, i, c->term)) {
            h_violation(h,
                        "leader completeness: leader %u of term %llu lacks committed entry %llu "
                        "(term %llu)",
                        node->id, (unsigned long long)term, (unsigned long long)i,
                        (unsigned long long)c->term);
            return;
        }
    }
}

/* Log matching (§5.3): if two logs hold an entry with the same index and term, they are
 * identical up to it. Checked at the highest such index through the prefix sums. */
static void h_check_pair(struct harness *h, uint32_t a, uint32_t b)
{
    const struct raft_node *ra = h->nodes[a].raft;
    const struct raft_node *rb = h->nodes[b].raft;
    uint64_t last_a = raft_node_last_index(ra);
    uint64_t last_b = raft_node_last_index(rb);
    uint64_t i = last_a < last_b ? last_a : last_b;
    if (i > H_LOG_MAX) {
        i = H_LOG_MAX;
    }
    for (; i > 0; i--) {
        uint64_t ta = 0;
        uint64_t tb = 0;
        if (raft_node_term_at(ra, i, &ta) && raft_node_term_at(rb, i, &tb) && ta == tb) {
            break;
        }
    }
    uint64_t fa = raft_node_first_index(ra);
    uint64_t fb = raft_node_first_index(rb);
    uint64_t lo = fa > fb ? fa : fb;
    if (i < lo) {
        return; /* the common part is inside a snapshot on one side */
    }
    uint64_t ha = h->prefix[a][i] - h->prefix[a][lo - 1];
    uint64_t hb = h->prefix[b][i] - h->prefix[b][lo - 1];
    if (ha != hb) {
        h_violation(h, "log matching: nodes %u and %u agree on the term at %llu but differ before",
                    h->nodes[a].id, h->nodes[b].id, (unsigned long long)i);
    }
}

/* ---- membership: no two disjoint quorums among configurations that may be in force ---- */

static uint32_t h_mask_of(const uint32_t *ids, uint32_t count)
{
    uint32_t mask = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] >= 1 && ids[i] <= H_NODES_MAX) {
            mask |= 1u << (ids[i] - 1);
        }
    }
    return mask;
}

static bool h_majority(uint32_t members, uint32_t set)
{
    uint32_t n = (uint32_t)__builtin_popcount(members);
    return n == 0 || (uint32_t)__builtin_popcount(members & set) >= n / 2 + 1;
}

static bool h_is_quorum(const struct raft_membership *m, uint32_t set)
{
    return h_majority(h_mask_of(m->voters, m->voter_count), set) &&
           h_majority(h_mask_of(m->voters_outgoing, m->voters_outgoing_count), set);
}

/* True if some quorum of a and some quorum of b share no member. */
static bool h_disjoint_quorums(const struct raft_membership *a, const struct raft_membership *b)
{
    uint32_t all = (1u << H_NODES_MAX) - 1;
    for (uint32_t set = 0; set <= all; set++) {
        if (h_is_quorum(a, set) && h_is_quorum(b, all & ~set)) {
            return true;
        }
    }
    return false;
}

/* The highest index node r holds that is known committed: its own commit index, or beyond it
 * where its log holds the entries the cluster committed (a node's commit lags the cluster's,
 * e.g. after a restart from a hard state older than its log). */
static uint64_t h_known_commit(const struct harness *h, const struct raft_node *r)
{
    uint64_t commit = raft_node_commit_index(r);
    uint64_t last = raft_node_last_index(r);
    uint64_t i = h->committed_max < last ? h->committed_max : last;
    for (i = i < H_LOG_MAX ? i : H_LOG_MAX; i > commit; i--) {
        uint64_t term = 0;
        if (h->committed[i].set && raft_node_term_at(r, i, &term) && term == h->committed[i].term) {
            return i; /* log matching: everything before it is committed too */
        }
    }
    return commit;
}

/* The configuration committed on node r (latest CONFIG at or below what is known committed,
 * else snapshot or bootstrap) and every uncommitted one after it may be in force somewhere: they
 * must pairwise share a member in every pair of quorums (§6). */
static void h_check_configs(struct harness *h, struct h_node *node)
{
    const struct raft_node *r = node->raft;
    struct raft_membership configs[8];
    uint32_t count = 0;
    uint64_t commit = h_known_commit(h, r);
    uint64_t first = raft_node_first_index(r);
    bool base_needed = true;
    for (uint64_t i = raft_node_last_index(r); i >= first && i > 0 && count < 7; i--) {
        struct raft_entry e;
        raft_node_entry_at(r, i, &e);
        if (e.type != RAFT_ENTRY_CONFIG ||
            raft_membership_decode(e.data, e.data_len, &configs[count], NULL) != RAFT_OK) {
            continue;
        }
        count++;
        if (i <= commit) {
            base_needed = false; /* the committed one: older ones are out of force */
            break;
        }
    }
    if (base_needed && count > 0) {
        /* No committed CONFIG entry in the log: the snapshot's or the bootstrap configuration
         * is the committed one. */
        struct raft_membership *base = &configs[count++];
        memset(base, 0, sizeof(*base));
        if (raft_node_snapshot(r) != NULL && first > 1) {
            *base = raft_node_snapshot(r)->meta.membership;
        } else {
            memcpy(base->voters, node->config.voter_ids, sizeof(base->voters));
            base->voter_count = node->config.voter_count;
        }
        if (base->voter_count == 0) {
            count--; /* a joining node's empty bootstrap is in force nowhere */
        }
    }
    if (count < 2) {
        return;
    }
    for (uint32_t a = 0; a < count; a++) {
        for (uint32_t b = a + 1; b < count; b++) {
            if (h_disjoint_quorums(&configs[a], &configs[b])) {
                h_violation(h, "membership: node %u holds configurations with disjoint quorums",
                            node->id);
                return;
            }
        }
    }
}

/* ---- issue 6 operations ---- */

int h_take_snapshot(struct harness *h, uint32_t id)
{
    struct h_node *node = h_node(h, id);
    uint8_t bytes[24 + H_SNAPSHOT_PAD_MAX];
    uint64_t words[3] = { node->applied, node->sm_hash, node->commands_applied };
    for (int w = 0; w < 3; w++) {
        for (int b = 0; b < 8; b++) {
            bytes[w * 8 + b] = (uint8_t)(words[w] >> (8 * b));
        }
    }
    /* Padding that varies with the state, so snapshots of one run differ in length (a leader
     * may compact into a shorter stream while sending a longer one). */
    size_t pad = h->snapshot_pad ? (size_t)(words[1] % (H_SNAPSHOT_PAD_MAX + 1)) : 0;
    memset(bytes + 24, 0x5a, pad);
    struct raft_event ev = { .type = RAFT_EVENT_SNAPSHOT };
    ev.snapshot.index = node->applied;
    ev.snapshot.data = bytes;
    ev.snapshot.data_len = 24 + pad;
    return h_step(h, id, &ev);
}

int h_read(struct harness *h, uint32_t id, uint32_t *slot)
{
    assert(h->read_count < H_READS_MAX);
    uint32_t n = h->read_count++;
    h->reads[n] = (struct h_read){ id, n, h->committed_max, false, 0, 0 };
    if (slot != NULL) {
        *slot = n;
    }
    struct raft_event ev = { .type = RAFT_EVENT_READ_INDEX };
    ev.read_index.request_id = n;
    int rc = h_step(h, id, &ev);
    if (rc != RAFT_OK && !h->reads[n].done) {
        h->reads[n].done = true;
        h->reads[n].status = rc;
    }
    return rc;
}

int h_change_config(struct harness *h, uint32_t id, const uint32_t *voters, uint32_t voter_count,
                    const uint32_t *learners, uint32_t learner_count)
{
    struct raft_membership m;
    memset(&m, 0, sizeof(m));
    memcpy(m.voters, voters, voter_count * sizeof(*voters));
    m.voter_count = voter_count;
    if (learner_count > 0) {
        memcpy(m.learners, learners, learner_count * sizeof(*learners));
    }
    m.learner_count = learner_count;
    struct raft_event ev = { .type = RAFT_EVENT_CHANGE_CONFIG };
    ev.change_config.membership = &m;
    return h_step(h, id, &ev);
}

int h_transfer(struct harness *h, uint32_t id, uint32_t target)
{
    struct raft_event ev = { .type = RAFT_EVENT_TRANSFER_LEADERSHIP };
    ev.transfer.target_id = target;
    return h_step(h, id, &ev);
}

bool h_check(struct harness *h)
{
    for (uint32_t s = 0; s < h->n; s++) {
        struct h_node *node = &h->nodes[s];
        if (node->raft == NULL) {
            continue;
        }
        h_compute_prefix(h, s);
        h_check_node(h, node);
        h_check_commits(h, node);
        h_check_configs(h, node);
    }
    for (uint32_t s = 0; s < h->n; s++) {
        struct h_node *node = &h->nodes[s];
        if (node->raft != NULL && raft_node_role(node->raft) == RAFT_LEADER) {
            h_check_leader(h, node, s);
        }
    }
    for (uint32_t a = 0; a < h->n; a++) {
        for (uint32_t b = a + 1; b < h->n; b++) {
            if (h->nodes[a].raft != NULL && h->nodes[b].raft != NULL) {
                h_check_pair(h, a, b);
            }
        }
    }
    return h->violation[0] == '\0';
}

/* ---- lifetime ---- */

struct harness *h_create(uint32_t n, uint64_t seed, h_config_fn *adjust, void *ctx)
{
    assert(n >= 1 && n <= H_NODES_MAX);
    struct harness *h = h_xmalloc(sizeof(*h));
    h->n = n;
    h->scratch = h_xmalloc(RAFT_APPEND_ENTRIES_MAX * sizeof(*h->scratch));
    for (uint32_t i = 0; i < n; i++) {
        struct h_node *node = &h->nodes[i];
        node->id = i + 1;
        raft_config_default(&node->config);
        node->config.id = i + 1;
        node->config.voter_count = n;
        for (uint32_t v = 0; v < n; v++) {
            node->config.voter_ids[v] = v + 1;
        }
        node->config.seed = prng_seed_derive_index(seed, i + 1);
        node->config.limits.log_entries_max = 4096;
        node->config.limits.log_bytes_max = 1u << 20;
        node->config.limits.snapshot_bytes_max = 4096;
        node->config.limits.snapshot_chunk_bytes_max = 64;
        if (adjust != NULL) {
            adjust(&node->config, i + 1, ctx);
        }
        node->raft = raft_node_create(&node->config);
        assert(node->raft != NULL);
    }
    return h;
}

void h_destroy(struct harness *h)
{
    if (h == NULL) {
        return;
    }
    for (uint32_t i = 0; i < h->n; i++) {
        struct h_node *node = &h->nodes[i];
        raft_node_destroy(node->raft);
        h_drop_pending(node);
        h_disk_truncate(node, 1);
        free(node->disk);
        free(node->disk_snapshot.data);
    }
    for (size_t i = 0; i < h->net_count; i++) {
        free(h->net[i].bytes);
    }
    free(h->net);
    free(h->scratch);
    free(h);
}
