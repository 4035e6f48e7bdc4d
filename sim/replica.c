/* The replica glue: stage, group-commit, hold messages until durable, apply, recover. */
#include "sim/replica.h"

#include "core/raft_codec.h"
#include "storage/wal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A staged storage operation; the hard state is saved after all of them. */
enum replica_op_kind {
    REPLICA_OP_TRUNCATE, /* delete stored entries >= index */
    REPLICA_OP_SNAPSHOT, /* store a snapshot (ours, or installed from the leader) */
    REPLICA_OP_APPEND,   /* append staged entries [first, first + count) */
};

struct replica_op {
    enum replica_op_kind kind;
    uint64_t index;  /* truncate: from; snapshot: last included index */
    uint64_t term;   /* snapshot: last included term */
    bool install;    /* snapshot: received from the leader (else our own, for compaction) */
    size_t first;    /* append: first staged entry; snapshot: offset in staged_bytes */
    size_t count;    /* append: entries; snapshot: membership bytes (data follows them) */
    size_t data_len; /* snapshot: state machine bytes */
};

struct replica_held {
    uint64_t seq; /* the last persist section it depends on */
    uint32_t offset;
    uint32_t len;
    struct replica_sent sent;
};

/* A growable byte buffer with a named maximum. */
struct replica_bytes {
    uint8_t *data;
    size_t used;
    size_t capacity;
};

struct replica {
    struct replica_config config;
    struct replica_ops ops;
    struct raft_node *raft;
    struct store *store;
    struct replica_sm *sm; /* the KV store and the workflow engine */
    bool failed;

    /* staging: everything written since the last sync, merged (truncate, entries, hard state) */
    uint64_t write_seq;   /* persist sections staged since open */
    uint64_t durable_seq; /* ... of which durable; invariant: durable_seq <= write_seq */
    bool sync_requested;
    struct replica_op ops_staged[REPLICA_OPS_MAX]; /* executed in order by the next sync */
    size_t op_count;
    struct wal_entry *staged; /* entries; data offsets into staged_bytes until the sync */
    size_t staged_count;
    size_t staged_capacity;
    struct replica_bytes staged_bytes;
    bool staged_hard_state;
    struct hardstate hard_state;
    bool ack_due;
    uint64_t ack_index; /* last entry of the last update with entries */
    uint64_t ack_term;

    struct replica_held held[REPLICA_HELD_MAX];
    uint32_t held_first;
    uint32_t held_count;
    struct replica_bytes held_bytes;
    uint64_t dropped;

    struct replica_bytes encode;
    struct replica_bytes snapshot_buf;
    struct raft_entry *decode_entries;
    struct replica_sm_result result; /* the last apply's (about 1 KB: kept off the stack) */
    uint64_t applied;
    bool apply_ack_due;
};

static int replica_fail(struct replica_error *err, int status, int storage_status,
                        const char *format, ...) __attribute__((format(printf, 4, 5)));

static int replica_fail(struct replica_error *err, int status, int storage_status,
                        const char *format, ...)
{
    if (err != NULL) {
        err->status = status;
        err->storage_status = storage_status;
        va_list args;
        va_start(args, format);
        vsnprintf(err->message, sizeof(err->message), format, args);
        va_end(args);
    }
    return status;
}

static int replica_bytes_reserve(struct replica_bytes *b, size_t extra, size_t limit)
{
    if (b->used + extra <= b->capacity) {
        return 0;
    }
    if (b->used + extra > limit) {
        return -1;
    }
    size_t capacity = b->capacity == 0 ? 4096 : b->capacity;
    while (capacity < b->used + extra) {
        capacity *= 2;
    }
    if (capacity > limit) {
        capacity = limit;
    }
    uint8_t *grown = realloc(b->data, capacity);
    if (grown == NULL) {
        return -1;
    }
    b->data = grown;
    b->capacity = capacity;
    return 0;
}

void replica_config_default(struct replica_config *config)
{
    assert(config != NULL);
    memset(config, 0, sizeof(*config));
    raft_config_default(&config->raft);
    if (config->raft.limits.entry_bytes_max > WAL_ENTRY_DATA_BYTES_MAX) {
        config->raft.limits.entry_bytes_max = WAL_ENTRY_DATA_BYTES_MAX; /* storage's bound */
    }
    store_config_default(&config->store);
    replica_machines_default(&config->machines);
}

/* ---- recovery ---- */

/* Reads the recovered log into `entries` (data copied into `arena`). */
static int replica_read_log(struct replica *r, const struct store_recovery *rec,
                            struct raft_entry **entries, size_t *count, struct replica_bytes *arena,
                            struct replica_error *err)
{
    *entries = NULL;
    *count = 0;
    if (rec->last_index < rec->first_index) {
        return REPLICA_OK;
    }
    uint64_t total = rec->last_index - rec->first_index + 1;
    if (total > REPLICA_RECOVER_ENTRIES_MAX) {
        return replica_fail(err, REPLICA_ECORRUPT, 0,
                            "%s: %" PRIu64 " entries to recover, more "
                            "than the %u a replica holds",
                            r->config.dir, total, REPLICA_RECOVER_ENTRIES_MAX);
    }
    *entries = calloc((size_t)total, sizeof(**entries));
    size_t *offsets = calloc((size_t)total, sizeof(size_t));
    if (*entries == NULL || offsets == NULL) {
        free(offsets);
        return replica_fail(err, REPLICA_ENOMEM, 0, "out of memory recovering the log");
    }
    struct wal_iter *iter = NULL;
    struct storage_error serr;
    int rc = wal_iter_open(store_wal(r->store), rec->first_index, &iter, &serr);
    struct wal_entry e;
    while (rc == STORAGE_OK && *count < total && (rc = wal_iter_next(iter, &e, &serr)) == 1) {
        if (replica_bytes_reserve(arena, e.data_len, SIZE_MAX / 2) != 0) {
            rc = STORAGE_ENOMEM;
            break;
        }
        offsets[*count] = arena->used;
        if (e.data_len > 0) {
            memcpy(arena->data + arena->used, e.data, e.data_len);
            arena->used += e.data_len;
        }
        (*entries)[*count] = (struct raft_entry){ .index = e.index,
                                                  .term = e.term,
                                                  .type = (enum raft_entry_type)e.type,
                                                  .data_len = e.data_len };
        (*count)++;
        rc = STORAGE_OK;
    }
    wal_iter_close(iter);
    for (size_t i = 0; i < *count; i++) { /* the arena may have moved while growing */
        (*entries)[i].data = (*entries)[i].data_len > 0 ? arena->data + offsets[i] : NULL;
    }
    free(offsets);
    if (rc < 0) {
        return replica_fail(err, rc == STORAGE_ENOMEM ? REPLICA_ENOMEM : REPLICA_EFAILED, rc, "%s",
                            serr.message);
    }
    return REPLICA_OK;
}

static int replica_recover(struct replica *r, struct replica_error *err)
{
    struct store_recovery rec;
    struct storage_error serr;
    int rc = store_open(r->config.fs, r->config.dir, &r->config.store, STORE_OPEN_CREATE, &r->store,
                        &rec, &serr);
    if (rc != STORAGE_OK) {
        int status =
            rc == STORAGE_ECORRUPT || rc == STORAGE_EFORMAT ? REPLICA_ECORRUPT : REPLICA_EFAILED;
        return replica_fail(err, status, rc, "%s", serr.message);
    }
    struct raft_snapshot snapshot = { .meta = { .index = 0 } };
    if (rec.snapshot.found) {
        const char *reason = NULL;
        if (raft_membership_decode(rec.snapshot.config, (size_t)rec.snapshot.meta.config_len,
                                   &snapshot.meta.membership, &reason) != RAFT_OK) {
            uint64_t index = rec.snapshot.meta.index;
            snap_loaded_free(&rec.snapshot);
            return replica_fail(err, REPLICA_ECORRUPT, 0,
                                "%s: the snapshot at index %" PRIu64 " holds a bad membership: %s",
                                r->config.dir, index, reason != NULL ? reason : "?");
        }
        snapshot.meta.index = rec.snapshot.meta.index;
        snapshot.meta.term = rec.snapshot.meta.term;
        snapshot.data = rec.snapshot.data;
        snapshot.data_len = rec.snapshot.meta.data_len;
    }
    struct raft_entry *entries = NULL;
    size_t count = 0;
    struct replica_bytes arena = { 0 };
    rc = replica_read_log(r, &rec, &entries, &count, &arena, err);
    if (rc == REPLICA_OK && (rec.hard_state.term != 0 || count != 0 || rec.snapshot.found)) {
        struct raft_restore restore = {
            .hard_state = { .term = rec.hard_state.term,
                            .vote = (uint32_t)rec.hard_state.vote,
                            .commit = rec.hard_state.commit },
            .snapshot = rec.snapshot.found ? &snapshot : NULL,
            .entries = entries,
            .entry_count = count,
        };
        if (raft_node_restore(r->raft, &restore) != RAFT_OK) {
            rc = replica_fail(err, REPLICA_ECORRUPT, 0,
                              "%s: the core rejects the recovered state: %s", r->config.dir,
                              raft_node_errmsg(r->raft));
        }
    }
    free(entries);
    free(arena.data);
    snap_loaded_free(&rec.snapshot); /* the core copied what it keeps */
    return rc;
}

int replica_open(const struct replica_config *config, const struct replica_ops *ops,
                 struct replica **out, struct replica_error *err)
{
    assert(config != NULL && ops != NULL && out != NULL);
    assert(ops->send != NULL && ops->sync_needed != NULL);
    *out = NULL;
    struct replica *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return replica_fail(err, REPLICA_ENOMEM, 0, "out of memory");
    }
    r->config = *config;
    r->ops = *ops;
    r->raft = raft_node_create(&config->raft);
    r->sm = replica_sm_create(&config->machines, ops->wf_log, ops->ctx);
    /* raft_decode fills what it uses: no need to zero (or touch) the whole array */
    r->decode_entries = malloc(RAFT_APPEND_ENTRIES_MAX * sizeof(r->decode_entries[0]));
    if (r->raft == NULL || r->sm == NULL || r->decode_entries == NULL) {
        const char *reason = NULL;
        int invalid = r->raft == NULL && raft_config_check(&config->raft, &reason) != RAFT_OK;
        replica_close(r);
        return invalid ? replica_fail(err, REPLICA_ECORRUPT, 0, "invalid Raft configuration: %s",
                                      reason != NULL ? reason : "?")
                       : replica_fail(err, REPLICA_ENOMEM, 0, "out of memory creating the node");
    }
    int rc = replica_recover(r, err);
    if (rc != REPLICA_OK) {
        replica_close(r);
        return rc;
    }
    *out = r;
    return REPLICA_OK;
}

void replica_close(struct replica *r)
{
    if (r == NULL) {
        return;
    }
    raft_node_destroy(r->raft);
    store_close(r->store);
    replica_sm_destroy(r->sm);
    free(r->staged);
    free(r->staged_bytes.data);
    free(r->held_bytes.data);
    free(r->encode.data);
    free(r->snapshot_buf.data);
    free(r->decode_entries);
    free(r);
}

/* ---- staging ---- */

static struct replica_op *replica_op_add(struct replica *r, enum replica_op_kind kind)
{
    assert(r->op_count < REPLICA_OPS_MAX);
    struct replica_op *op = &r->ops_staged[r->op_count++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    return op;
}

static struct replica_op *replica_last_append(struct replica *r)
{
    if (r->op_count == 0 || r->ops_staged[r->op_count - 1].kind != REPLICA_OP_APPEND) {
        return NULL;
    }
    return &r->ops_staged[r->op_count - 1];
}

/* A truncation cuts the pending append when it falls inside it; otherwise it is staged. */
static void replica_stage_truncate(struct replica *r, uint64_t t)
{
    struct replica_op *append = replica_last_append(r);
    if (append != NULL && t >= r->staged[append->first].index) {
        size_t keep = (size_t)(t - r->staged[append->first].index);
        if (keep < append->count) {
            append->count = keep;
        }
        r->staged_count = append->first + append->count;
        if (append->count == 0) {
            r->op_count--;
        }
        return; /* nothing durable is at or after t: the durable log ends before the append */
    }
    if (append != NULL) {
        r->staged_count = append->first; /* the whole pending append is at or after t */
        r->op_count--;
    }
    replica_op_add(r, REPLICA_OP_TRUNCATE)->index = t;
}

static int replica_stage_snapshot(struct replica *r, const struct raft_snapshot *snapshot,
                                  bool install)
{
    size_t config_len = raft_membership_encoded_size(&snapshot->meta.membership);
    if (replica_bytes_reserve(&r->staged_bytes, config_len + snapshot->data_len, SIZE_MAX / 2) !=
        0) {
        return -1;
    }
    struct replica_op *op = replica_op_add(r, REPLICA_OP_SNAPSHOT);
    op->index = snapshot->meta.index;
    op->term = snapshot->meta.term;
    op->install = install;
    op->first = r->staged_bytes.used;
    op->count = config_len;
    op->data_len = (size_t)snapshot->data_len;
    size_t written = 0;
    int rc =
        raft_membership_encode(&snapshot->meta.membership,
                               r->staged_bytes.data + r->staged_bytes.used, config_len, &written);
    assert(rc == RAFT_OK && written == config_len);
    (void)rc;
    r->staged_bytes.used += config_len;
    if (snapshot->data_len > 0) {
        memcpy(r->staged_bytes.data + r->staged_bytes.used, snapshot->data, snapshot->data_len);
        r->staged_bytes.used += snapshot->data_len;
    }
    return 0;
}

static int replica_stage_entries(struct replica *r, const struct raft_entry *entries, size_t count)
{
    if (count == 0) {
        return 0;
    }
    if (r->staged_count + count > REPLICA_STAGED_ENTRIES_MAX) {
        return -1;
    }
    if (r->staged_count + count > r->staged_capacity) {
        size_t capacity = r->staged_capacity == 0 ? 256 : r->staged_capacity;
        while (capacity < r->staged_count + count) {
            capacity *= 2;
        }
        struct wal_entry *grown = realloc(r->staged, capacity * sizeof(*grown));
        if (grown == NULL) {
            return -1;
        }
        r->staged = grown;
        r->staged_capacity = capacity;
    }
    struct replica_op *append = replica_last_append(r);
    if (append == NULL) {
        append = replica_op_add(r, REPLICA_OP_APPEND);
        append->first = r->staged_count;
    }
    for (size_t i = 0; i < count; i++) {
        const struct raft_entry *e = &entries[i];
        assert(r->staged_count == append->first ||
               e->index == r->staged[r->staged_count - 1].index + 1);
        if (replica_bytes_reserve(&r->staged_bytes, e->data_len, SIZE_MAX / 2) != 0) {
            return -1;
        }
        if (e->data_len > 0) {
            memcpy(r->staged_bytes.data + r->staged_bytes.used, e->data, e->data_len);
        }
        /* data holds an offset until the sync resolves it (the arena may move) */
        r->staged[r->staged_count++] = (struct wal_entry){
            .index = e->index,
            .term = e->term,
            .type = (uint8_t)e->type,
            .data_len = e->data_len,
            .data = (const uint8_t *)(uintptr_t)r->staged_bytes.used,
        };
        r->staged_bytes.used += e->data_len;
        append->count++;
    }
    return 0;
}

/* Stages one update's persist section in the order raft.h obliges: truncate, snapshot, entries;
 * the newest hard state is saved after everything staged. */
static int replica_stage(struct replica *r, const struct raft_update *u)
{
    if (u->truncate_from_index == 0 && u->entry_count == 0 && !u->hard_state_changed &&
        u->snapshot == NULL) {
        return 0;
    }
    if (r->op_count + 3 > REPLICA_OPS_MAX) {
        return -1;
    }
    if (u->truncate_from_index != 0) {
        replica_stage_truncate(r, u->truncate_from_index);
    }
    if (u->snapshot != NULL &&
        replica_stage_snapshot(r, u->snapshot, u->snapshot_restore != NULL) != 0) {
        return -1;
    }
    if (replica_stage_entries(r, u->entries, u->entry_count) != 0) {
        return -1;
    }
    if (u->entry_count > 0) {
        r->ack_due = true;
        r->ack_index = u->entries[u->entry_count - 1].index;
        r->ack_term = u->entries[u->entry_count - 1].term;
    } else if (u->snapshot != NULL) {
        r->ack_due = true; /* obligation 5: an update with a snapshot and no entries */
        r->ack_index = u->snapshot->meta.index;
        r->ack_term = u->snapshot->meta.term;
    }
    if (u->hard_state_changed) {
        r->staged_hard_state = true;
        r->hard_state = (struct hardstate){ .term = u->hard_state.term,
                                            .vote = u->hard_state.vote,
                                            .commit = u->hard_state.commit };
    }
    r->write_seq++;
    return 0;
}

/* ---- sending ---- */

static void replica_transmit(struct replica *r, const struct replica_sent *sent,
                             const uint8_t *bytes, size_t len)
{
    r->ops.send(r->ops.ctx, sent, bytes, len);
}

static void replica_send(struct replica *r, const struct raft_message *m)
{
    size_t size = raft_encoded_size(m);
    r->encode.used = 0;
    if (replica_bytes_reserve(&r->encode, size, RAFT_CODEC_FRAME_BYTES_MAX) != 0) {
        r->dropped++;
        return;
    }
    size_t written = 0;
    int rc = raft_encode(m, r->encode.data, r->encode.capacity, &written);
    assert(rc == RAFT_OK && written == size);
    (void)rc;
    struct replica_sent sent = {
        .type = m->type,
        .term = m->term,
        .from = m->from,
        .to = m->to,
        .vote_granted = m->type == RAFT_MSG_VOTE_RESPONSE && m->vote_response.granted,
    };
    if (r->config.ack_before_sync || (r->durable_seq == r->write_seq && r->held_count == 0)) {
        replica_transmit(r, &sent, r->encode.data, written);
        return;
    }
    if (r->held_count == REPLICA_HELD_MAX ||
        replica_bytes_reserve(&r->held_bytes, written, REPLICA_HELD_BYTES_MAX) != 0) {
        r->dropped++; /* like a full socket buffer: Raft tolerates the loss */
        return;
    }
    uint32_t slot = (r->held_first + r->held_count) % REPLICA_HELD_MAX;
    r->held[slot] = (struct replica_held){
        .seq = r->write_seq,
        .offset = (uint32_t)r->held_bytes.used,
        .len = (uint32_t)written,
        .sent = sent,
    };
    memcpy(r->held_bytes.data + r->held_bytes.used, r->encode.data, written);
    r->held_bytes.used += written;
    r->held_count++;
}

static void replica_release_held(struct replica *r)
{
    while (r->held_count > 0 && r->held[r->held_first].seq <= r->durable_seq) {
        const struct replica_held *h = &r->held[r->held_first];
        replica_transmit(r, &h->sent, r->held_bytes.data + h->offset, h->len);
        r->held_first = (r->held_first + 1) % REPLICA_HELD_MAX;
        r->held_count--;
    }
    if (r->held_count == 0) {
        r->held_first = 0;
        r->held_bytes.used = 0;
    }
}

/* ---- applying ---- */

/* Obligation 11: the state machines take the snapshot's state before any later entry. */
static int replica_restore_state(struct replica *r, const struct raft_snapshot *snapshot)
{
    char error[256];
    struct replica_sm *fresh =
        replica_sm_restore(&r->config.machines, r->ops.wf_log, r->ops.ctx, snapshot->data,
                           (size_t)snapshot->data_len, snapshot->meta.index, error, sizeof(error));
    if (fresh == NULL) {
        r->failed = true; /* a snapshot the state machines reject: stop, do not skip */
        return -1;
    }
    replica_sm_destroy(r->sm);
    r->sm = fresh;
    r->applied = snapshot->meta.index;
    if (r->ops.restored != NULL) {
        r->ops.restored(r->ops.ctx, snapshot);
    }
    return 0;
}

static int replica_apply(struct replica *r, const struct raft_update *u)
{
    if (u->snapshot_restore != NULL && replica_restore_state(r, u->snapshot_restore) != 0) {
        return -1;
    }
    for (size_t i = 0; i < u->committed_count; i++) {
        const struct raft_entry *e = &u->committed[i];
        assert(e->index == r->applied + 1); /* raft.h obligation 6: in order, exactly once */
        if (replica_sm_apply(r->sm, e, &r->result) != 0) {
            r->failed = true; /* out of memory: stop applying rather than skip */
            return -1;
        }
        r->applied = e->index;
        if (r->result.machine == REPLICA_SM_WF && r->ops.workflow_applied != NULL) {
            r->ops.workflow_applied(r->ops.ctx, e, &r->result.wf);
        }
        if (r->ops.applied != NULL) {
            r->ops.applied(r->ops.ctx, e,
                           r->result.machine == REPLICA_SM_KV ? &r->result.kv : NULL);
        }
    }
    if (u->committed_count > 0) {
        r->apply_ack_due = true;
    }
    return 0;
}

static void replica_process(struct replica *r, const struct raft_update *u)
{
    if (r->ops.update != NULL) {
        r->ops.update(r->ops.ctx, u);
    }
    if (replica_stage(r, u) != 0) {
        r->failed = true; /* the staging bound: the caller must crash and recover */
        return;
    }
    for (size_t i = 0; i < u->message_count; i++) {
        replica_send(r, &u->messages[i]);
    }
    if (r->config.test_wf_apply_uncommitted && u->role != RAFT_LEADER) {
        for (size_t i = 0; i < u->entry_count; i++) {
            replica_sm_test_apply_early(r->sm, &u->entries[i]);
        }
    }
    (void)replica_apply(r, u);
}

/* Compaction (§7): hands the state machines' container to the core every snapshot_every_entries
 * applied. */
static void replica_maybe_snapshot(struct replica *r)
{
    uint64_t every = r->config.snapshot_every_entries;
    if (every == 0 || r->failed || r->applied < raft_node_snapshot_index(r->raft) + every) {
        return;
    }
    size_t size = replica_sm_snapshot_size(r->sm);
    if (size > r->config.raft.limits.snapshot_bytes_max) {
        return; /* the state outgrew the core's snapshot bound: keep the log instead */
    }
    r->snapshot_buf.used = 0;
    if (replica_bytes_reserve(&r->snapshot_buf, size, SIZE_MAX / 2) != 0) {
        return;
    }
    size_t written = replica_sm_snapshot_write(r->sm, r->snapshot_buf.data, size);
    assert(written == size);
    (void)written;
    struct raft_event event = { .type = RAFT_EVENT_SNAPSHOT };
    event.snapshot.index = r->applied;
    event.snapshot.data = r->snapshot_buf.data;
    event.snapshot.data_len = size;
    struct raft_update update;
    if (raft_step(r->raft, &event, &update) == RAFT_ERR_INVALID) {
        r->failed = true; /* the core refused our own snapshot: a bug to stop on */
    }
    replica_process(r, &update);
}

/* Steps `event`, processes the update, then acknowledges applied entries until quiet; finally
 * asks for a sync if writes were staged. */
static int replica_step(struct replica *r, const struct raft_event *event, uint64_t *index,
                        uint64_t *term)
{
    if (r->failed) {
        return REPLICA_EFAILED;
    }
    struct raft_update update;
    int rc = raft_step(r->raft, event, &update);
    if (index != NULL) {
        *index = update.proposed_index;
        *term = update.proposed_term;
    }
    replica_process(r, &update);
    for (uint32_t guard = 0; r->apply_ack_due && !r->failed; guard++) {
        assert(guard < REPLICA_STEP_GUARD);
        r->apply_ack_due = false;
        struct raft_event applied = { .type = RAFT_EVENT_APPLIED };
        applied.applied.index = r->applied;
        raft_step(r->raft, &applied, &update);
        replica_process(r, &update);
    }
    replica_maybe_snapshot(r);
    if (!r->failed && r->write_seq != r->durable_seq && !r->sync_requested) {
        r->sync_requested = true;
        r->ops.sync_needed(r->ops.ctx);
    }
    return r->failed ? REPLICA_EFAILED : rc;
}

int replica_tick(struct replica *r)
{
    struct raft_event event = { .type = RAFT_EVENT_TICK };
    return replica_step(r, &event, NULL, NULL);
}

int replica_receive(struct replica *r, const uint8_t *bytes, size_t len, struct replica_error *err)
{
    if (r->failed) {
        return REPLICA_EFAILED;
    }
    struct raft_message message;
    const char *reason = NULL;
    if (raft_decode(bytes, len, &message, r->decode_entries, RAFT_APPEND_ENTRIES_MAX, &reason) !=
        RAFT_OK) {
        return replica_fail(err, REPLICA_EDECODE, 0, "%s", reason != NULL ? reason : "invalid");
    }
    struct raft_event event = { .type = RAFT_EVENT_RECEIVE };
    event.receive.message = &message;
    int rc = replica_step(r, &event, NULL, NULL);
    return rc == REPLICA_EFAILED ? rc : REPLICA_OK;
}

int replica_propose(struct replica *r, const uint8_t *data, size_t len, uint64_t *index,
                    uint64_t *term)
{
    struct raft_event event = { .type = RAFT_EVENT_PROPOSE };
    event.propose.data = data;
    event.propose.data_len = len;
    return replica_step(r, &event, index, term);
}

int replica_request(struct replica *r, const struct raft_event *event, uint64_t *index,
                    uint64_t *term)
{
    assert(event != NULL);
    assert(event->type == RAFT_EVENT_READ_INDEX || event->type == RAFT_EVENT_CHANGE_CONFIG ||
           event->type == RAFT_EVENT_TRANSFER_LEADERSHIP);
    uint64_t ignored_index = 0;
    uint64_t ignored_term = 0;
    return replica_step(r, event, index != NULL ? index : &ignored_index,
                        term != NULL ? term : &ignored_term);
}

/* ---- the group commit ---- */

static int replica_write_op(struct replica *r, struct replica_op *op, struct storage_error *serr)
{
    switch (op->kind) {
    case REPLICA_OP_TRUNCATE:
        return store_truncate_suffix(r->store, op->index, serr);
    case REPLICA_OP_SNAPSHOT: {
        const uint8_t *config = r->staged_bytes.data + op->first;
        const uint8_t *data = op->data_len > 0 ? config + op->count : NULL;
        return op->install ? store_install_snapshot(r->store, op->index, op->term, config,
                                                    op->count, data, op->data_len, serr)
                           : store_save_snapshot(r->store, op->index, op->term, config, op->count,
                                                 data, op->data_len, serr);
    }
    case REPLICA_OP_APPEND:
        for (size_t i = op->first; i < op->first + op->count; i++) {
            uintptr_t offset = (uintptr_t)r->staged[i].data;
            r->staged[i].data = r->staged[i].data_len > 0 ? r->staged_bytes.data + offset : NULL;
        }
        return op->count == 0 ? STORAGE_OK
                              : store_append(r->store, r->staged + op->first, op->count, serr);
    }
    assert(0 && "unknown staged operation");
    return STORAGE_EINVAL;
}

static int replica_write_staged(struct replica *r, struct storage_error *serr)
{
    int rc = STORAGE_OK;
    for (size_t i = 0; i < r->op_count && rc == STORAGE_OK; i++) {
        rc = replica_write_op(r, &r->ops_staged[i], serr);
    }
    if (rc == STORAGE_OK && r->staged_hard_state) {
        rc = store_save_hard_state(r->store, &r->hard_state, serr);
    }
    return rc;
}

int replica_sync(struct replica *r, struct replica_error *err)
{
    assert(r != NULL);
    if (r->failed) {
        return replica_fail(err, REPLICA_EFAILED, 0, "the replica failed earlier: reopen it");
    }
    r->sync_requested = false;
    if (r->write_seq == r->durable_seq) {
        return REPLICA_OK;
    }
    struct storage_error serr;
    int rc = replica_write_staged(r, &serr);
    if (rc != STORAGE_OK) {
        r->failed = true;
        return replica_fail(err, REPLICA_EFAILED, rc, "%s", serr.message);
    }
    r->durable_seq = r->write_seq;
    r->op_count = 0;
    r->staged_count = 0;
    r->staged_bytes.used = 0;
    r->staged_hard_state = false;
    if (r->ops.durable != NULL) {
        struct hardstate hs = store_hard_state(r->store);
        r->ops.durable(r->ops.ctx, &hs);
    }
    replica_release_held(r);
    if (r->ack_due) {
        r->ack_due = false;
        struct raft_event event = { .type = RAFT_EVENT_PERSISTED };
        event.persisted.index = r->ack_index;
        event.persisted.term = r->ack_term;
        if (replica_step(r, &event, NULL, NULL) == REPLICA_EFAILED) {
            return replica_fail(err, REPLICA_EFAILED, 0, "the replica failed after a sync");
        }
    }
    return REPLICA_OK;
}

/* ---- accessors ---- */

struct raft_node *replica_raft(struct replica *r)
{
    return r->raft;
}

const struct kv *replica_kv(const struct replica *r)
{
    return replica_sm_kv(r->sm);
}

const struct wf_state *replica_wf(const struct replica *r)
{
    return replica_sm_wf(r->sm);
}

uint64_t replica_state_hash(const struct replica *r)
{
    return replica_sm_hash(r->sm);
}

bool replica_failed(const struct replica *r)
{
    return r->failed;
}

bool replica_sync_pending(const struct replica *r)
{
    return r->write_seq != r->durable_seq;
}

uint64_t replica_applied_index(const struct replica *r)
{
    return r->applied;
}

uint32_t replica_leader(const struct replica *r)
{
    return raft_node_leader(r->raft);
}

uint64_t replica_messages_dropped(const struct replica *r)
{
    return r->dropped;
}
