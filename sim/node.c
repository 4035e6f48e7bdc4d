/* A simulated node: a replica (the real core, storage and KV) over its own sim_fs disk, with the
 * simulator's latencies, crashes, pauses and checks around it. */
#include "sim/world.h"

#include "sim/observe.h"

#include "storage/wal.h"
#include "storage/wal_format.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SIM_NODE_TORN_OPS_MAX 8 /* a crash inside a group commit lands after 0..this fs calls */

/* ---- the disk: sim_fs decisions go through the chooser (concern disk.fault) ---- */

static uint64_t sim_node_disk_choose(void *ctx, enum sim_fs_choice kind, uint64_t n)
{
    struct sim_world *w = ctx;
    struct sim_chooser *c = &w->chooser;
    switch (kind) {
    case SIM_FS_CHOICE_WRITE_FATE: /* 0 lost, 1 applied, 2 torn (when n == 3) */
        if (sim_choose_chance(c, SIM_CONCERN_DISK, w->scenario.lost_write)) {
            return 0;
        }
        if (n == 3 && sim_choose_chance(c, SIM_CONCERN_DISK, w->scenario.torn_write)) {
            return 2;
        }
        return 1;
    case SIM_FS_CHOICE_TRUNCATE_FATE:
    case SIM_FS_CHOICE_DIR_OP_FATE: /* 0 lost, 1 applied */
        return sim_choose_chance(c, SIM_CONCERN_DISK, w->scenario.lost_write) ? 0 : 1;
    default:
        return sim_choose(c, SIM_CONCERN_DISK, n);
    }
}

static uint32_t sim_ppm(double probability)
{
    double ppm = probability * 1e6;
    return ppm >= 1e6 ? 1000000u : (uint32_t)ppm;
}

int sim_node_init(struct sim_world *w, struct sim_node *n, uint32_t index)
{
    /* The world is calloc'd: the node is zero already. Not clearing its large queues again
     * (tens of KB per slot) keeps untouched pages untouched in short runs. */
    assert(n->fs == NULL && n->replica == NULL && !n->up);
    assert(n->deferred_count == 0 && n->proposal_count == 0);
    n->index = index;
    n->world = w;
    snprintf(n->dir, sizeof(n->dir), "n%u", index + 1);
    struct sim_fs_config config;
    sim_fs_config_default(&config);
    config.choose = sim_node_disk_choose;
    config.choose_ctx = w;
    n->fs = sim_fs_create(&config);
    return n->fs == NULL ? -1 : 0;
}

void sim_node_deinit(struct sim_node *n)
{
    replica_close(n->replica);
    sim_fs_destroy(n->fs);
    n->replica = NULL;
    n->fs = NULL;
    n->up = 0;
}

/* The fault atlas: a node with disk faults gets error rates; the others get none. */
void sim_node_set_disk_faults(struct sim_world *w, struct sim_node *n, int on)
{
    n->disk_faults = on;
    if (n->fs == NULL) {
        return;
    }
    if (on && !w->liveness_phase) {
        sim_fs_set_error_rates(n->fs, sim_ppm(w->scenario.read_error),
                               sim_ppm(w->scenario.write_error), sim_ppm(w->scenario.write_error));
    } else {
        sim_fs_set_error_rates(n->fs, 0, 0, 0);
    }
}

/* ---- replica callbacks ---- */

static void sim_node_on_send(void *ctx, const struct replica_sent *sent, const uint8_t *bytes,
                             size_t len)
{
    struct sim_node *n = ctx;
    struct sim_world *w = n->world;
    assert(sent->from == n->index + 1);
    int pre_vote = sent->type == RAFT_MSG_PRE_VOTE || sent->type == RAFT_MSG_PRE_VOTE_RESPONSE;
    /* A pre-vote carries the term its sender would campaign in (thesis §9.6): not durable. */
    sim_check_sent(&w->checker, n->index, pre_vote ? 0 : sent->term);
    if (sent->vote_granted) {
        sim_check_vote_granted(&w->checker, n->index, sent->term, sent->to - 1);
    }
    sim_observe_send(w, n, sent);
    if (sim_net_send(&w->net, &w->queue, &w->chooser, (uint16_t)n->index, (uint16_t)(sent->to - 1),
                     bytes, (uint32_t)len) != 0) {
        sim_world_fail(w, "the event queue is full (%u events)", w->queue.capacity);
    }
}

static void sim_node_on_sync_needed(void *ctx)
{
    struct sim_node *n = ctx;
    struct sim_world *w = n->world;
    if (n->sync_scheduled) {
        return;
    }
    n->sync_scheduled = 1;
    const struct sim_dist *latency = ((w->slow_mask >> n->index) & 1u)
                                         ? &w->scenario.slow_sync_latency
                                         : &w->scenario.sync_latency;
    uint64_t drawn =
        sim_dist_sample(latency, sim_chooser_stream(&w->chooser, SIM_CONCERN_DISK_LATENCY));
    uint64_t delay = sim_choose_sampled(&w->chooser, SIM_CONCERN_DISK_LATENCY, latency->min_us,
                                        latency->max_us, drawn);
    sim_world_push(w, w->queue.now_us + delay, SIM_EV_SYNC_DONE, n->index, 0);
}

static void sim_node_on_update(void *ctx, const struct raft_update *u)
{
    struct sim_node *n = ctx;
    struct sim_world *w = n->world;
    sim_check_state(&w->checker, n->index, u->role == RAFT_LEADER, u->term);
    if (u->role == RAFT_LEADER && !(n->role == RAFT_LEADER && n->term == u->term)) {
        w->stats.elections++;
        sim_world_note(w, "node %u became leader of term %" PRIu64, n->index + 1, u->term);
    }
    n->role = u->role;
    n->term = u->term;
    if (u->truncate_from_index != 0) {
        sim_check_truncate(&w->checker, n->index, u->truncate_from_index);
    }
    if (u->snapshot != NULL) {
        sim_check_snapshot(&w->checker, n->index, u->snapshot->meta.index, u->snapshot->meta.term);
        w->stats.snapshots++;
    }
    for (size_t i = 0; i < u->entry_count; i++) {
        const struct raft_entry *e = &u->entries[i];
        sim_check_append(&w->checker, n->index, e->index, e->term, e->type, e->data, e->data_len);
    }
    sim_check_commit(&w->checker, n->index, raft_node_commit_index(replica_raft(n->replica)));
    sim_wf_on_update(w, n, u);
    sim_observe_update(w, n, u);
}

static void sim_node_reply_proposals(struct sim_world *w, struct sim_node *n,
                                     const struct raft_entry *e, const struct kv_applied *applied)
{
    for (uint32_t i = 0; i < n->proposal_count; i++) {
        struct sim_proposal *p = &n->proposals[i];
        if (p->index != e->index) {
            continue;
        }
        struct sim_reply reply = { .op_seq = p->op_seq, .kind = SIM_REPLY_RETRY };
        if (p->term == e->term && applied != NULL) {
            reply.kind = SIM_REPLY_RESULT;
            reply.status = applied->result.status;
            reply.session = applied->result.client_id;
            if (applied->result.has_value && applied->result.value_len <= SIM_VALUE_BYTES_MAX) {
                reply.has_value = 1;
                reply.value_len = (uint8_t)applied->result.value_len;
                memcpy(reply.value, applied->result.value, applied->result.value_len);
            }
        }
        sim_client_send_reply(w, p->client, &reply);
        n->proposals[i] = n->proposals[--n->proposal_count];
        i--;
    }
}

static void sim_node_on_applied(void *ctx, const struct raft_entry *e,
                                const struct kv_applied *applied)
{
    struct sim_node *n = ctx;
    struct sim_world *w = n->world;
    w->stats.applied_entries++;
    uint64_t state_hash = replica_state_hash(n->replica);
    sim_wf_on_applied(w, n, e, state_hash);
    sim_check_applied(&w->checker, n->index, e->index, state_hash);
    sim_node_reply_proposals(w, n, e, applied);
    sim_observe_applied(w, n, e);
    if (w->liveness_phase && !w->liveness_done && e->index == w->liveness_index &&
        e->term == w->liveness_term) {
        w->liveness_done = 1;
        w->stats.liveness_recovery_us = w->queue.now_us - w->liveness_started_us;
        sim_world_note(w, "liveness: the marker committed at index %" PRIu64 " term %" PRIu64,
                       e->index, e->term);
    }
}

static void sim_node_on_restored(void *ctx, const struct raft_snapshot *snapshot)
{
    struct sim_node *n = ctx;
    struct sim_world *w = n->world;
    w->stats.snapshot_restores++;
    uint64_t state_hash = replica_state_hash(n->replica);
    sim_wf_on_restored(w, n, snapshot->meta.index, state_hash);
    sim_check_restored(&w->checker, n->index, snapshot->meta.index, state_hash);
    sim_observe_restored(w, n, snapshot);
}

static void sim_node_on_workflow_applied(void *ctx, const struct raft_entry *e,
                                         const struct wf_result *result)
{
    struct sim_node *n = ctx;
    sim_wf_on_workflow_applied(n->world, n, e, result);
}

static void sim_node_on_wf_log(void *ctx, const char *line, size_t len)
{
    struct sim_node *n = ctx;
    sim_wf_log_line(n->world, n, line, len);
}

static void sim_node_on_durable(void *ctx, const struct hardstate *hs)
{
    struct sim_node *n = ctx;
    sim_check_durable(&n->world->checker, n->index, hs->term, (uint32_t)hs->vote, hs->commit);
    sim_observe_durable(n->world, n);
}

/* ---- lifetime ---- */

static void sim_node_schedule_tick(struct sim_world *w, struct sim_node *n)
{
    uint64_t tick = w->scenario.tick_us;
    uint64_t now = w->queue.now_us;
    uint64_t next = now - (now % tick) + n->tick_phase_us;
    if (next <= now) {
        next += tick;
    }
    sim_world_push(w, next, SIM_EV_TICK, n->index, 0);
}

void sim_node_config(struct sim_world *w, struct sim_node *n, struct replica_config *c)
{
    replica_config_default(c);
    c->raft.id = n->index + 1;
    /* The bootstrap configuration: the initial nodes. A spare joins with none (voter_count 0)
     * and learns the configuration from the leader. */
    c->raft.voter_count = n->index < w->scenario.nodes ? w->scenario.nodes : 0;
    for (uint32_t i = 0; i < c->raft.voter_count; i++) {
        c->raft.voter_ids[i] = i + 1;
    }
    c->raft.election_timeout_ticks_min = w->scenario.election_timeout_ticks_min;
    c->raft.election_timeout_ticks_max = w->scenario.election_timeout_ticks_max;
    c->raft.heartbeat_interval_ticks = w->scenario.heartbeat_ticks;
    if (w->scenario.batch_entries_max < c->raft.limits.append_entries_max) {
        c->raft.limits.append_entries_max = w->scenario.batch_entries_max;
    }
    /* Without snapshots (issue 6) the in-memory log holds the whole log: sized for the run. */
    c->raft.limits.log_entries_max = w->log_entries_max;
    c->raft.limits.log_bytes_max = (uint64_t)w->log_entries_max * SIM_LOG_ENTRY_BYTES;
    c->raft.seed = sim_choose_u64(&w->chooser, SIM_CONCERN_NODE_SEED);
    c->raft.test_bugs = w->options.raft_test_bugs;
    c->raft.limits.snapshot_trailing_entries = w->scenario.snapshot_trailing;
    c->raft.limits.snapshot_chunk_bytes_max = w->scenario.snapshot_chunk_bytes;
    c->fs = sim_fs_fs(n->fs);
    snprintf(c->dir, sizeof(c->dir), "%s", n->dir);
    c->store.wal.segment_size_bytes_max = 256u << 10; /* small segments: rotation gets exercised */
    c->store.wal.write_buffer_bytes = WAL_RECORD_BYTES_MAX; /* the least the WAL accepts */
    c->ack_before_sync = (w->options.sim_bugs & SIM_BUG_ACK_BEFORE_SYNC) != 0;
    c->snapshot_every_entries = w->scenario.snapshot_every;
    c->machines.workflows_max = w->scenario.wf.workflows_max; /* one cluster-wide setting */
    c->test_wf_apply_uncommitted = (w->options.sim_bugs & SIM_BUG_WF_APPLY_UNCOMMITTED) != 0;
}

/* Starts (or restarts) the node: recovery through the real storage code, then a new core. */
int sim_node_start(struct sim_world *w, struct sim_node *n)
{
    assert(!n->up && n->replica == NULL);
    struct replica_config config;
    sim_node_config(w, n, &config);
    struct replica_ops ops = {
        .send = sim_node_on_send,
        .sync_needed = sim_node_on_sync_needed,
        .update = sim_node_on_update,
        .applied = sim_node_on_applied,
        .durable = sim_node_on_durable,
        .restored = sim_node_on_restored,
        .workflow_applied = sim_node_on_workflow_applied,
        .wf_log = w->options.log != NULL ? sim_node_on_wf_log : NULL,
        .ctx = n,
    };
    struct replica_error err;
    int rc = replica_open(&config, &ops, &n->replica, &err);
    if (rc == REPLICA_ECORRUPT && sim_fs_stats(n->fs)->bit_flips == 0) {
        /* G4: crashes alone (lost and torn unsynced writes) must never leave a state that
         * recovery refuses; only damage at rest may. */
        sim_check_violation(&w->checker, "storage_recovery", n->index + 1, 0, n->term, 0,
                            "n%u's storage refuses to start after crashes alone (no bit flip at "
                            "rest on its disk): %s",
                            n->index + 1, err.message);
        return 0;
    }
    if (rc == REPLICA_ECORRUPT) {
        /* Its disk was damaged at rest: the storage refuses it and the node stays down (a
         * crash-stop failure, which the fault atlas keeps to a minority). */
        n->dead = 1;
        w->stats.dead_nodes++;
        sim_world_note(w, "n%u cannot recover and stays down: %s", n->index + 1, err.message);
        return 0;
    }
    if (rc != REPLICA_OK) {
        sim_world_note(w, "n%u failed to start (%s); it will try again", n->index + 1, err.message);
        w->stats.disk_errors++;
        sim_fs_crash(n->fs); /* whatever the failed open left pending */
        sim_faults_restart_later(w, n->index);
        return 0;
    }
    struct raft_node *raft = replica_raft(n->replica);
    sim_check_restart(&w->checker, n->index, raft_node_term(raft), raft_node_vote(raft),
                      raft_node_commit_index(raft));
    uint64_t snapshot_index = raft_node_snapshot_index(raft);
    if (snapshot_index > 0) {
        uint64_t snapshot_term = 0;
        (void)raft_node_term_at(raft, snapshot_index, &snapshot_term);
        sim_check_snapshot(&w->checker, n->index, snapshot_index, snapshot_term);
    }
    uint64_t first = raft_node_first_index(raft);
    for (uint64_t i = first > snapshot_index ? first : snapshot_index + 1;
         i <= raft_node_last_index(raft); i++) {
        struct raft_entry e;
        if (raft_node_entry_at(raft, i, &e)) {
            sim_check_append(&w->checker, n->index, e.index, e.term, e.type, e.data, e.data_len);
        }
    }
    sim_check_commit(&w->checker, n->index, raft_node_commit_index(raft));
    sim_observe_start(w, n);
    n->up = 1;
    n->paused = 0;
    n->sync_scheduled = 0;
    n->role = raft_node_role(raft);
    n->term = raft_node_term(raft);
    n->tick_phase_us = sim_choose(&w->chooser, SIM_CONCERN_CLOCK, w->scenario.tick_us);
    sim_node_schedule_tick(w, n);
    sim_wf_node_started(w, n);
    return 0;
}

/* The process ends: memory lost, unsynced writes to the disk model. */
static void sim_node_down(struct sim_world *w, struct sim_node *n)
{
    if (n->sync_scheduled && replica_sync_pending(n->replica) && !replica_failed(n->replica)) {
        /* The crash lands inside the group commit that was under way: the power is cut after a
         * few file-system calls, and the disk model decides what of the rest survives. */
        uint64_t ops = sim_choose(&w->chooser, SIM_CONCERN_DISK, SIM_NODE_TORN_OPS_MAX + 1);
        sim_fs_power_cut_after(n->fs, ops);
        struct replica_error err;
        (void)replica_sync(n->replica, &err);
        sim_fs_power_cut_cancel(n->fs);
        w->stats.torn_crashes++;
    }
    replica_close(n->replica);
    n->replica = NULL;
    sim_fs_crash(n->fs);
    n->up = 0;
    n->paused = 0;
    n->incarnation++;
    n->sync_scheduled = 0;
    sim_check_crash(&w->checker, n->index);
    sim_observe_down(w, n);
    for (uint32_t i = 0; i < n->deferred_count; i++) {
        sim_net_release(&w->net, n->deferred[i]);
    }
    n->deferred_count = 0;
    n->proposal_count = 0;
    n->role = RAFT_FOLLOWER;
    sim_wf_node_crashed(w, n);
}

void sim_node_crash(struct sim_world *w, struct sim_node *n)
{
    if (!n->up) {
        return;
    }
    w->stats.crashes++;
    sim_node_down(w, n);
}

void sim_node_stop(struct sim_world *w, struct sim_node *n)
{
    n->member = 0;
    if (!n->up) {
        return;
    }
    if (replica_sync_pending(n->replica) && !replica_failed(n->replica)) {
        struct replica_error err;
        (void)replica_sync(n->replica, &err); /* a clean shutdown flushes what it staged */
    }
    if (n->up) {
        sim_node_down(w, n);
    }
}

/* A storage failure (an injected I/O error) or a failed replica: crash now, restart later. */
void sim_node_failed(struct sim_world *w, struct sim_node *n, const char *why)
{
    w->stats.disk_errors++;
    sim_world_note(w, "n%u: %s; it crashes and will restart", n->index + 1, why);
    sim_node_crash(w, n);
    sim_faults_restart_later(w, n->index);
}

/* ---- inputs ---- */

void sim_node_tick(struct sim_world *w, struct sim_node *n)
{
    if (replica_tick(n->replica) == REPLICA_EFAILED) {
        sim_node_failed(w, n, "the replica failed");
        return;
    }
    sim_wf_node_tick(w, n);
}

void sim_node_sync_done(struct sim_world *w, struct sim_node *n)
{
    n->sync_scheduled = 0;
    w->stats.syncs++;
    struct replica_error err;
    if (replica_sync(n->replica, &err) != REPLICA_OK) {
        sim_node_failed(w, n, err.message);
        return;
    }
    if (n->disk_faults && !w->liveness_phase &&
        sim_choose_chance(&w->chooser, SIM_CONCERN_DISK, w->scenario.bit_flip)) {
        sim_node_bit_flip(w, n);
    }
}

void sim_node_bit_flip(struct sim_world *w, struct sim_node *n)
{
    char path[FS_PATH_BYTES_MAX];
    uint64_t offset = 0;
    if (sim_fs_corrupt_random(n->fs, n->dir, path, &offset) == FS_OK) {
        w->stats.bit_flips++;
        sim_world_note(w, "bit flip at rest: n%u %s offset %" PRIu64, n->index + 1, path, offset);
    }
}

/* Hands a delivered slot to the replica; releases the slot. */
static void sim_node_receive(struct sim_world *w, struct sim_node *n, uint32_t slot_index)
{
    const struct sim_net_slot *slot = &w->net.slots[slot_index];
    struct replica_error err;
    uint32_t from = slot->from;
    int corrupted = slot->corrupted;
    /* For the event log: type and term from the frame (header byte 3, body bytes 0..7). */
    w->current.message_from = (uint16_t)(from + 1);
    if (slot->len >= 16 && !corrupted) {
        uint64_t term = 0;
        for (int i = 7; i >= 0; i--) {
            term = (term << 8) | slot->bytes[8 + i];
        }
        w->current.message_type = slot->bytes[3];
        w->current.message_term = term;
    }
    int rc = replica_receive(n->replica, slot->bytes, slot->len, &err);
    sim_net_release(&w->net, slot_index); /* decoded entries pointed into the slot until here */
    if (rc == REPLICA_EDECODE) {
        if (corrupted) {
            sim_net_count_caught(&w->net);
        } else {
            sim_world_fail(w, "n%u could not decode an intact message from n%u: %s", n->index + 1,
                           from + 1, err.message);
        }
        return;
    }
    if (corrupted) {
        sim_check_violation(&w->checker, "wire_checksum", n->index + 1, from + 1, 0, 0,
                            "n%u accepted a message from n%u whose bytes were corrupted in "
                            "flight: the checksum missed it",
                            n->index + 1, from + 1);
    }
    if (rc == REPLICA_EFAILED) {
        sim_node_failed(w, n, "the replica failed");
    }
}

void sim_node_deliver(struct sim_world *w, struct sim_node *n, uint32_t slot_index)
{
    const struct sim_net_slot *slot = sim_net_deliver(&w->net, slot_index);
    if (slot == NULL) {
        return; /* lost on a link blocked while it was in flight */
    }
    if (!n->up) {
        w->net.stats.dropped_down++;
        sim_net_release(&w->net, slot_index);
        return;
    }
    if (n->paused) {
        if (n->deferred_count == SIM_NODE_DEFERRED_MAX) {
            w->net.stats.dropped_down++;
            sim_net_release(&w->net, slot_index);
            return;
        }
        n->deferred[n->deferred_count++] = slot_index;
        return;
    }
    sim_node_receive(w, n, slot_index);
}

int sim_node_propose(struct sim_world *w, struct sim_node *n, const uint8_t *payload, size_t len,
                     uint64_t *index, uint64_t *term)
{
    w->stats.proposals++;
    int rc = replica_propose(n->replica, payload, len, index, term);
    if (rc == REPLICA_EFAILED) {
        sim_node_failed(w, n, "the replica failed");
    } else if (rc == RAFT_ERR_BUSY && raft_node_last_index(replica_raft(n->replica)) -
                                              raft_node_first_index(replica_raft(n->replica)) + 1 >=
                                          w->log_entries_max) {
        /* Not a liveness failure: the run outgrew what a node holds without snapshots. */
        sim_world_fail(w,
                       "n%u's in-memory log is full (%u entries): until snapshots exist a run "
                       "can hold no more; shorten [run] duration or lighten [workload]",
                       n->index + 1, w->log_entries_max);
    }
    return rc;
}

void sim_node_request(struct sim_world *w, struct sim_node *n, uint32_t client_index,
                      uint64_t op_seq)
{
    struct sim_client *c = &w->clients[client_index];
    if (!n->up || n->paused || c->state != SIM_CLIENT_WAITING || c->op_seq != op_seq) {
        return; /* lost: the client will time out (or has moved on) */
    }
    struct sim_reply reply = { .op_seq = op_seq, .kind = SIM_REPLY_REDIRECT };
    if ((w->options.sim_bugs & SIM_BUG_STALE_READ) && !c->registering && c->op == SIM_OP_GET) {
        /* The broken variant: a local read on whichever node the client reached, without the
         * log or a leadership check, so a partitioned or lagging node answers stale values. */
        sim_reads_local(n, c->key, &reply);
        sim_client_send_reply(w, client_index, &reply);
        return;
    }
    if (n->role != RAFT_LEADER) {
        reply.hint = replica_leader(n->replica);
        sim_client_send_reply(w, client_index, &reply);
        return;
    }
    if (sim_reads_request(w, n, client_index, op_seq)) {
        return; /* a get served by ReadIndex (§8), not through the log */
    }
    uint64_t index = 0;
    uint64_t term = 0;
    int rc = sim_node_propose(w, n, c->payload, c->payload_len, &index, &term);
    if (!n->up) {
        return;
    }
    if (rc == RAFT_OK) {
        if (n->proposal_count < SIM_NODE_PROPOSALS_MAX) {
            n->proposals[n->proposal_count++] = (struct sim_proposal){
                .index = index, .term = term, .client = client_index, .op_seq = op_seq
            };
        } /* else the reply is lost; the client times out and retries */
        return;
    }
    reply.kind = rc == RAFT_ERR_NOT_LEADER ? SIM_REPLY_REDIRECT : SIM_REPLY_RETRY;
    reply.hint = replica_leader(n->replica);
    sim_client_send_reply(w, client_index, &reply);
}

void sim_node_pause(struct sim_world *w, struct sim_node *n)
{
    if (!n->up || n->paused) {
        return;
    }
    n->paused = 1;
    n->paused_at_us = w->queue.now_us;
    w->stats.pauses++;
}

/* Resuming: the process sees its clock jumped, so the ticks it missed arrive at once (bounded),
 * then the messages that queued up while it was frozen. */
void sim_node_resume(struct sim_world *w, struct sim_node *n)
{
    if (!n->up || !n->paused) {
        return;
    }
    n->paused = 0;
    uint64_t missed = (w->queue.now_us - n->paused_at_us) / w->scenario.tick_us;
    uint64_t cap = 2ull * w->scenario.election_timeout_ticks_max;
    uint32_t incarnation = n->incarnation;
    for (uint64_t i = 0; i < missed && i < cap && n->up && n->incarnation == incarnation; i++) {
        sim_node_tick(w, n);
    }
    uint32_t count = n->deferred_count;
    uint32_t deferred[SIM_NODE_DEFERRED_MAX];
    memcpy(deferred, n->deferred, count * sizeof(deferred[0]));
    n->deferred_count = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (n->up && n->incarnation == incarnation) {
            sim_node_receive(w, n, deferred[i]);
        } else {
            sim_net_release(&w->net, deferred[i]);
        }
    }
}
