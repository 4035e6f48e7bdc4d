/* The membership driver: one change at a time from the leader's configuration, stops of removed
 * nodes, and leadership transfers. */
#include "sim/membership.h"

#include "core/hash.h"
#include "reports/report.h"
#include "sim/world.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#define SIM_NONE UINT32_MAX

static struct raft_node *sim_membership_raft(struct sim_world *w, int leader)
{
    assert(leader >= 0);
    return replica_raft(w->nodes[leader].replica);
}

static void sim_membership_poll_soon(struct sim_world *w)
{
    struct sim_membership *m = &w->membership;
    if (m->polling) {
        return;
    }
    m->polling = 1;
    sim_world_push(w, w->queue.now_us + w->scenario.tick_us, SIM_EV_MEMBERSHIP, 0,
                   SIM_MEMBERSHIP_POLL);
}

static void sim_membership_arm(struct sim_world *w, enum sim_concern concern, uint64_t every_us,
                               enum sim_membership_event what)
{
    if (every_us == 0) {
        return;
    }
    uint64_t interval = sim_faults_interval(w, concern, every_us);
    if (interval == UINT64_MAX) {
        return; /* the calm choice: no further arrival of this kind */
    }
    uint64_t at = w->queue.now_us + interval;
    if (at < w->scenario.duration_us) {
        sim_world_push(w, at, SIM_EV_MEMBERSHIP, 0, what);
    }
}

void sim_membership_start(struct sim_world *w)
{
    struct sim_membership *m = &w->membership;
    memset(m, 0, sizeof(*m));
    m->joining = SIM_NONE;
    m->leaving = SIM_NONE;
    sim_membership_arm(w, SIM_CONCERN_MEMBERSHIP, w->scenario.membership_every_us,
                       SIM_MEMBERSHIP_CHANGE_ARRIVAL);
    sim_membership_arm(w, SIM_CONCERN_TRANSFER, w->scenario.transfer_every_us,
                       SIM_MEMBERSHIP_TRANSFER_ARRIVAL);
}

static void sim_membership_enqueue(struct sim_world *w, const struct sim_change *change)
{
    struct sim_membership *m = &w->membership;
    m->stats.requested++;
    if (m->queue_count == SIM_MEMBERSHIP_QUEUE_MAX) {
        m->stats.skipped++;
        return;
    }
    m->queue[m->queue_count++] = *change;
    sim_membership_poll_soon(w);
}

/* ---- picking nodes ---- */

/* A slot that can join: not running, not in the leader's configuration, disk usable. */
static uint32_t sim_membership_pick_spare(struct sim_world *w, const struct raft_membership *cfg)
{
    uint32_t candidates[SIM_NODES_MAX];
    uint32_t count = 0;
    for (uint32_t i = 0; i < w->node_slots; i++) {
        const struct sim_node *n = &w->nodes[i];
        if (!n->member && !n->up && !n->dead && !sim_membership_has(cfg, i + 1)) {
            candidates[count++] = i;
        }
    }
    if (count == 0) {
        return SIM_NONE;
    }
    return candidates[sim_choose(&w->chooser, SIM_CONCERN_MEMBERSHIP, count)];
}

/* A voter of `cfg` (incoming voters) matching `target`, or SIM_NONE. */
static uint32_t sim_membership_pick_voter(struct sim_world *w, const struct raft_membership *cfg,
                                          const struct sim_target *target, int leader,
                                          enum sim_concern concern)
{
    uint32_t leader_id = (uint32_t)leader + 1;
    switch (target->kind) {
    case SIM_TARGET_NODE:
        return sim_membership_is_voter(cfg, target->node + 1) ? target->node : SIM_NONE;
    case SIM_TARGET_LEADER:
        return (uint32_t)leader;
    case SIM_TARGET_FOLLOWER:
    case SIM_TARGET_RANDOM:
        break;
    }
    uint32_t candidates[RAFT_NODES_MAX];
    uint32_t count = 0;
    for (uint32_t i = 0; i < cfg->voter_count; i++) {
        if (target->kind == SIM_TARGET_RANDOM || cfg->voters[i] != leader_id) {
            candidates[count++] = cfg->voters[i] - 1;
        }
    }
    if (count == 0) {
        return SIM_NONE;
    }
    return candidates[sim_choose(&w->chooser, concern, count)];
}

/* ---- configurations ---- */

static void sim_membership_drop(uint32_t *ids, uint32_t *count, uint32_t id)
{
    for (uint32_t i = 0; i < *count; i++) {
        if (ids[i] == id) {
            ids[i] = ids[--*count];
            return;
        }
    }
}

static void sim_membership_put(uint32_t *ids, uint32_t *count, uint32_t id)
{
    for (uint32_t i = 0; i < *count; i++) {
        if (ids[i] == id) {
            return;
        }
    }
    assert(*count < RAFT_NODES_MAX);
    ids[(*count)++] = id;
}

/* The leader's configuration with `add` as a voter (or learner) and `remove` out (ids, 0 =
 * none). Never called on a joint configuration. */
static struct raft_membership sim_membership_target(const struct raft_membership *cfg,
                                                    uint32_t voter, uint32_t learner,
                                                    uint32_t remove)
{
    assert(cfg->voters_outgoing_count == 0);
    struct raft_membership next = *cfg;
    if (remove != 0) {
        sim_membership_drop(next.voters, &next.voter_count, remove);
        sim_membership_drop(next.learners, &next.learner_count, remove);
    }
    if (voter != 0) {
        sim_membership_drop(next.learners, &next.learner_count, voter);
        sim_membership_put(next.voters, &next.voter_count, voter);
    }
    if (learner != 0) {
        sim_membership_put(next.learners, &next.learner_count, learner);
    }
    return next;
}

static void sim_membership_propose(struct sim_world *w, int leader,
                                   const struct raft_membership *target)
{
    struct sim_membership *m = &w->membership;
    if (target->voter_count == 0) {
        return; /* never propose a configuration nobody can decide in */
    }
    struct sim_node *n = &w->nodes[leader];
    struct raft_event event = { .type = RAFT_EVENT_CHANGE_CONFIG };
    event.change_config.membership = target;
    uint64_t index = 0;
    int rc = replica_request(n->replica, &event, &index, NULL);
    switch (rc) {
    case RAFT_OK:
        m->stats.proposals++;
        sim_world_note(w, "membership: n%d appended a configuration change at index %" PRIu64,
                       leader + 1, index);
        return;
    case RAFT_ERR_BUSY:
        m->stats.busy++;
        return;
    case REPLICA_EFAILED:
        sim_node_failed(w, n, "the replica failed");
        return;
    case RAFT_ERR_INVALID:
        sim_world_fail(w, "n%d refused a membership change as invalid: %s", leader + 1,
                       raft_node_errmsg(replica_raft(n->replica)));
        return;
    default:
        return; /* not the leader any more: the next poll finds the new one */
    }
}

static int sim_membership_caught_up(struct sim_world *w, int leader, uint32_t id)
{
    struct raft_node *raft = sim_membership_raft(w, leader);
    uint64_t match = 0;
    return raft_node_peer_match(raft, id, &match) &&
           match + w->scenario.catch_up_entries >= raft_node_last_index(raft);
}

/* ---- the change in progress ---- */

static void sim_membership_stop(struct sim_world *w, uint32_t slot, const char *why)
{
    struct sim_node *n = &w->nodes[slot];
    if (!n->member) {
        return;
    }
    sim_world_note(w, "membership: n%u stops (%s)", slot + 1, why);
    sim_node_stop(w, n);
    w->membership.stats.stopped++;
}

static void sim_membership_finish(struct sim_world *w, uint64_t *counter, const char *what)
{
    struct sim_membership *m = &w->membership;
    (*counter)++;
    if (m->leaving != SIM_NONE) {
        m->stop_pending |= 1u << m->leaving;
    }
    sim_world_note(w, "membership: %s done", what);
    m->active = 0;
}

static void sim_membership_abandon(struct sim_world *w)
{
    struct sim_membership *m = &w->membership;
    m->active = 0;
    m->stats.abandoned++;
    sim_world_note(w, "membership: the %s did not finish in time; abandoned",
                   sim_fault_action_name(m->action));
    if (m->joining == SIM_NONE) {
        return;
    }
    uint32_t id = m->joining + 1;
    int leader = sim_world_leader(w);
    int voter = sim_membership_is_voter(&w->config_check.committed, id) ||
                (leader >= 0 &&
                 sim_membership_is_voter(raft_node_membership(sim_membership_raft(w, leader)), id));
    if (!voter) {
        sim_membership_stop(w, m->joining, "it never became a voter");
    }
}

/* One step of the change in progress, from the leader's configuration. */
static void sim_membership_progress(struct sim_world *w)
{
    struct sim_membership *m = &w->membership;
    if (w->queue.now_us >= m->deadline_us) {
        sim_membership_abandon(w);
        return;
    }
    int leader = sim_world_leader(w);
    if (leader < 0) {
        return;
    }
    const struct raft_membership *cfg = raft_node_membership(sim_membership_raft(w, leader));
    if (cfg->voters_outgoing_count > 0) {
        return; /* joint: the leader leaves it by itself once it commits */
    }
    uint32_t joining = m->joining != SIM_NONE ? m->joining + 1 : 0;
    uint32_t leaving = m->leaving != SIM_NONE ? m->leaving + 1 : 0;
    int joined = joining == 0 || sim_membership_is_voter(cfg, joining);
    int left = leaving == 0 || !sim_membership_has(cfg, leaving);
    if (joined && left) {
        sim_membership_finish(w,
                              m->action == SIM_FAULT_ADD      ? &m->stats.added
                              : m->action == SIM_FAULT_REMOVE ? &m->stats.removed
                                                              : &m->stats.replaced,
                              sim_fault_action_name(m->action));
        return;
    }
    struct raft_membership target;
    if (!joined && !sim_membership_has(cfg, joining)) {
        target = sim_membership_target(cfg, 0, joining, 0); /* first a learner */
    } else if (!joined && sim_membership_caught_up(w, leader, joining)) {
        target = sim_membership_target(cfg, joining, 0, leaving); /* one change: in (and out) */
    } else if (joined) {
        target = sim_membership_target(cfg, 0, 0, leaving);
    } else {
        return; /* the learner is still catching up */
    }
    sim_membership_propose(w, leader, &target);
}

/* Starts the first queued change if a leader can say what the configuration is. */
static void sim_membership_begin(struct sim_world *w)
{
    struct sim_membership *m = &w->membership;
    int leader = sim_world_leader(w);
    if (leader < 0) {
        return;
    }
    struct sim_change change = m->queue[0];
    memmove(&m->queue[0], &m->queue[1], (m->queue_count - 1) * sizeof(m->queue[0]));
    m->queue_count--;
    const struct raft_membership *cfg = raft_node_membership(sim_membership_raft(w, leader));
    uint32_t voters = cfg->voter_count;
    const struct sim_scenario *s = &w->scenario;
    m->joining = SIM_NONE;
    m->leaving = SIM_NONE;
    if (change.action != SIM_FAULT_ADD) {
        m->leaving =
            sim_membership_pick_voter(w, cfg, &change.target, leader, SIM_CONCERN_MEMBERSHIP);
    }
    if (change.action != SIM_FAULT_REMOVE) {
        m->joining = sim_membership_pick_spare(w, cfg);
    }
    int possible =
        change.action == SIM_FAULT_ADD
            ? m->joining != SIM_NONE && (change.scripted || voters < s->voters_max)
        : change.action == SIM_FAULT_REMOVE
            ? m->leaving != SIM_NONE && voters > 1 && (change.scripted || voters > s->voters_min)
            : m->joining != SIM_NONE && m->leaving != SIM_NONE;
    if (!possible) {
        m->stats.skipped++;
        sim_world_note(w, "membership: %s not possible now; skipped",
                       sim_fault_action_name(change.action));
        return;
    }
    m->active = 1;
    m->action = change.action;
    m->deadline_us = w->queue.now_us + s->change_timeout_us;
    if (m->joining != SIM_NONE) {
        struct sim_node *n = &w->nodes[m->joining];
        n->member = 1;
        m->stop_pending &= ~(1u << m->joining);
        sim_node_start(w, n);
    }
    if (m->action == SIM_FAULT_ADD) {
        sim_world_note(w, "membership: add n%u (learner, catch up, voter)", m->joining + 1);
    } else if (m->action == SIM_FAULT_REMOVE) {
        sim_world_note(w, "membership: remove n%u", m->leaving + 1);
    } else {
        sim_world_note(w, "membership: replace n%u by n%u", m->leaving + 1, m->joining + 1);
    }
}

/* Stops the nodes the committed configuration no longer lists. */
static void sim_membership_stops(struct sim_world *w)
{
    struct sim_membership *m = &w->membership;
    const struct raft_membership *committed = &w->config_check.committed;
    for (uint32_t slot = 0; slot < w->node_slots; slot++) {
        if (((m->stop_pending >> slot) & 1u) && !sim_membership_has(committed, slot + 1)) {
            m->stop_pending &= ~(1u << slot);
            sim_membership_stop(w, slot, "the committed configuration leaves it out");
        }
    }
}

static void sim_membership_poll(struct sim_world *w)
{
    struct sim_membership *m = &w->membership;
    m->polling = 0;
    sim_membership_stops(w);
    if (m->transfer_to != 0 && w->queue.now_us >= m->transfer_deadline_us) {
        m->transfer_to = 0;
    }
    if (!m->active && m->queue_count > 0 && !w->liveness_phase) {
        sim_membership_begin(w);
    }
    if (m->active) {
        sim_membership_progress(w);
    }
    if (m->active || m->queue_count > 0 || m->stop_pending != 0 || m->transfer_to != 0) {
        sim_membership_poll_soon(w);
    }
}

/* ---- transfers ---- */

static void sim_membership_transfer(struct sim_world *w, const struct sim_target *target)
{
    struct sim_membership *m = &w->membership;
    int leader = sim_world_leader(w);
    if (leader < 0 || target->kind == SIM_TARGET_LEADER) {
        return; /* nobody to hand over from, or to itself */
    }
    const struct raft_membership *cfg = raft_node_membership(sim_membership_raft(w, leader));
    uint32_t to = sim_membership_pick_voter(w, cfg, target, leader, SIM_CONCERN_TRANSFER);
    if (to == SIM_NONE || to == (uint32_t)leader) {
        return;
    }
    struct raft_event event = { .type = RAFT_EVENT_TRANSFER_LEADERSHIP };
    event.transfer.target_id = to + 1;
    int rc = replica_request(w->nodes[leader].replica, &event, NULL, NULL);
    if (rc == REPLICA_EFAILED) {
        sim_node_failed(w, &w->nodes[leader], "the replica failed");
        return;
    }
    if (rc != RAFT_OK) {
        return;
    }
    m->stats.transfers++;
    m->transfer_to = to + 1;
    m->transfer_deadline_us =
        w->queue.now_us + 2ull * w->scenario.election_timeout_ticks_max * w->scenario.tick_us;
    sim_world_note(w, "transfer leadership: n%d -> n%u", leader + 1, to + 1);
    sim_membership_poll_soon(w);
}

void sim_membership_on_leader(struct sim_world *w, struct sim_node *n)
{
    struct sim_membership *m = &w->membership;
    if (m->transfer_to == n->index + 1) {
        m->stats.transferred++;
        m->transfer_to = 0;
    }
}

/* ---- events ---- */

void sim_membership_event(struct sim_world *w, uint64_t arg)
{
    switch ((enum sim_membership_event)arg) {
    case SIM_MEMBERSHIP_POLL:
        sim_membership_poll(w);
        return;
    case SIM_MEMBERSHIP_CHANGE_ARRIVAL: {
        if (w->liveness_phase) {
            return;
        }
        static const enum sim_fault_action kinds[] = { SIM_FAULT_ADD, SIM_FAULT_REMOVE,
                                                       SIM_FAULT_REPLACE };
        enum sim_fault_action enabled[3];
        uint32_t count = 0;
        for (uint32_t i = 0; i < 3; i++) {
            if ((w->scenario.change_kinds >> i) & 1u) {
                enabled[count++] = kinds[i];
            }
        }
        assert(count > 0);
        struct sim_change change = {
            .action = enabled[sim_choose(&w->chooser, SIM_CONCERN_MEMBERSHIP, count)],
            .target = { .kind = w->scenario.change_target },
        };
        sim_membership_enqueue(w, &change);
        sim_membership_arm(w, SIM_CONCERN_MEMBERSHIP, w->scenario.membership_every_us,
                           SIM_MEMBERSHIP_CHANGE_ARRIVAL);
        return;
    }
    case SIM_MEMBERSHIP_TRANSFER_ARRIVAL: {
        if (w->liveness_phase) {
            return;
        }
        struct sim_target target = { .kind = SIM_TARGET_FOLLOWER };
        sim_membership_transfer(w, &target);
        sim_membership_arm(w, SIM_CONCERN_TRANSFER, w->scenario.transfer_every_us,
                           SIM_MEMBERSHIP_TRANSFER_ARRIVAL);
        return;
    }
    }
    assert(0 && "unknown membership event");
}

void sim_membership_scheduled(struct sim_world *w, const struct sim_scheduled_fault *f)
{
    if (f->action == SIM_FAULT_TRANSFER) {
        sim_membership_transfer(w, &f->target);
        return;
    }
    assert(f->action == SIM_FAULT_ADD || f->action == SIM_FAULT_REMOVE ||
           f->action == SIM_FAULT_REPLACE);
    struct sim_change change = { .action = f->action, .target = f->target, .scripted = 1 };
    sim_membership_enqueue(w, &change);
}

void sim_membership_phase_end(struct sim_world *w)
{
    struct sim_membership *m = &w->membership;
    m->stats.skipped += m->queue_count;
    m->queue_count = 0;
    if (m->active) {
        sim_membership_abandon(w);
    }
}

void sim_membership_counters(const struct sim_world *w, struct report_run *r)
{
    const struct sim_membership_stats *s = &w->membership.stats;
    report_run_count(r, "membership.requested", s->requested);
    report_run_count(r, "membership.skipped", s->skipped);
    report_run_count(r, "membership.proposals", s->proposals);
    report_run_count(r, "membership.busy", s->busy);
    report_run_count(r, "membership.added", s->added);
    report_run_count(r, "membership.removed", s->removed);
    report_run_count(r, "membership.replaced", s->replaced);
    report_run_count(r, "membership.abandoned", s->abandoned);
    report_run_count(r, "membership.stopped", s->stopped);
    report_run_count(r, "membership.committed", w->config_check.committed_changes);
    report_run_count(r, "transfer.requested", s->transfers);
    report_run_count(r, "transfer.done", s->transferred);
}

uint64_t sim_membership_fingerprint(const struct sim_world *w)
{
    const struct sim_membership *m = &w->membership;
    uint64_t words[8] = {
        m->queue_count,
        (uint64_t)m->active << 32 | (uint64_t)m->action,
        m->joining,
        m->leaving,
        m->active && m->deadline_us > w->queue.now_us ? m->deadline_us - w->queue.now_us : 0,
        m->stop_pending,
        m->transfer_to,
        m->transfer_deadline_us > w->queue.now_us ? m->transfer_deadline_us - w->queue.now_us : 0,
    };
    uint64_t h = hash_bytes(words, sizeof(words), 0);
    for (uint32_t i = 0; i < m->queue_count; i++) {
        const struct sim_change *c = &m->queue[i];
        uint64_t change[2] = { (uint64_t)c->action << 32 | (uint64_t)c->scripted,
                               (uint64_t)c->target.kind << 32 | c->target.node };
        h = hash_fold_bytes(h, change, sizeof(change));
    }
    return h;
}
