/* The fault plan: random faults as Poisson arrivals, scripted faults, and their ends. */
#include "sim/world.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

static const enum sim_concern sim_fault_concern[SIM_FAULT_KIND_COUNT] = {
    [SIM_FAULT_KIND_PARTITION] = SIM_CONCERN_PARTITION,
    [SIM_FAULT_KIND_CLOG] = SIM_CONCERN_CLOG,
    [SIM_FAULT_KIND_CRASH] = SIM_CONCERN_CRASH,
    [SIM_FAULT_KIND_PAUSE] = SIM_CONCERN_PAUSE,
};

static const struct sim_fault_rate *sim_fault_rate_of(const struct sim_world *w,
                                                      enum sim_fault_kind kind)
{
    switch (kind) {
    case SIM_FAULT_KIND_PARTITION:
        return &w->scenario.partitions;
    case SIM_FAULT_KIND_CLOG:
        return &w->scenario.clogging;
    case SIM_FAULT_KIND_CRASH:
        return &w->scenario.crashes;
    case SIM_FAULT_KIND_PAUSE:
    case SIM_FAULT_KIND_COUNT:
        break;
    }
    return &w->scenario.pauses;
}

/* An exponential interval with the given mean, drawn under `concern`. Its cap (20 means, drawn
 * with probability e^-20) is the calm choice that pads a shrunk schedule: no further fault of
 * this kind (UINT64_MAX), so removing decisions from a schedule removes faults. */
uint64_t sim_faults_interval(struct sim_world *w, enum sim_concern concern, uint64_t mean)
{
    struct sim_dist dist = {
        .kind = SIM_DIST_EXPONENTIAL, .min_us = 1, .mean_us = mean, .max_us = mean * 20
    };
    uint64_t drawn = sim_dist_sample(&dist, sim_chooser_stream(&w->chooser, concern));
    uint64_t interval =
        sim_choose_sampled_calm_max(&w->chooser, concern, dist.min_us, dist.max_us, drawn);
    return interval == dist.max_us ? UINT64_MAX : interval;
}

static uint64_t sim_fault_length(struct sim_world *w, enum sim_concern concern,
                                 const struct sim_dist *dist)
{
    uint64_t drawn = sim_dist_sample(dist, sim_chooser_stream(&w->chooser, concern));
    uint64_t length = sim_choose_sampled(&w->chooser, concern, dist->min_us, dist->max_us, drawn);
    return length == 0 ? 1 : length;
}

void sim_faults_start(struct sim_world *w)
{
    for (int kind = 0; kind < SIM_FAULT_KIND_COUNT; kind++) {
        const struct sim_fault_rate *rate = sim_fault_rate_of(w, (enum sim_fault_kind)kind);
        if (rate->every_us == 0) {
            continue;
        }
        uint64_t at = sim_faults_interval(w, sim_fault_concern[kind], rate->every_us);
        if (at < w->scenario.duration_us) {
            sim_world_push(w, at, SIM_EV_FAULT_ARRIVAL, 0, (uint64_t)kind);
        }
    }
    for (uint32_t i = 0; i < w->scenario.fault_count; i++) {
        sim_world_push(w, w->scenario.faults[i].at_us, SIM_EV_SCHEDULED_FAULT, 0, i);
    }
}

int sim_world_leader(const struct sim_world *w)
{
    int leader = -1;
    uint64_t term = 0;
    for (uint32_t i = 0; i < w->node_slots; i++) {
        const struct sim_node *n = &w->nodes[i];
        if (n->up && !n->paused && n->role == RAFT_LEADER && n->term >= term) {
            leader = (int)i;
            term = n->term;
        }
    }
    return leader;
}

static uint32_t sim_fault_random_node(struct sim_world *w, enum sim_concern concern)
{
    return (uint32_t)sim_choose(&w->chooser, concern, w->node_slots);
}

static uint32_t sim_fault_resolve(struct sim_world *w, const struct sim_target *target,
                                  enum sim_concern concern)
{
    int leader = sim_world_leader(w);
    switch (target->kind) {
    case SIM_TARGET_NODE:
        return target->node;
    case SIM_TARGET_LEADER:
        return leader >= 0 ? (uint32_t)leader : sim_fault_random_node(w, concern);
    case SIM_TARGET_FOLLOWER:
        if (leader < 0 || w->node_slots == 1) {
            return sim_fault_random_node(w, concern);
        } else {
            uint32_t pick = (uint32_t)sim_choose(&w->chooser, concern, w->node_slots - 1);
            return pick >= (uint32_t)leader ? pick + 1 : pick;
        }
    case SIM_TARGET_RANDOM:
        break;
    }
    return sim_fault_random_node(w, concern);
}

static int sim_fault_slot(struct sim_world *w, enum sim_fault_kind kind, uint32_t node)
{
    for (uint32_t i = 0; i < SIM_ACTIVE_FAULTS_MAX; i++) {
        if (!w->faults[i].used) {
            uint32_t generation = w->faults[i].generation + 1;
            memset(&w->faults[i], 0, sizeof(w->faults[i]));
            w->faults[i].used = 1;
            w->faults[i].generation = generation;
            w->faults[i].kind = kind;
            w->faults[i].node = node;
            return (int)i;
        }
    }
    return -1;
}

/* Blocks the union of every active partition's links. */
static void sim_fault_apply_partitions(struct sim_world *w)
{
    for (uint32_t a = 0; a < w->node_slots; a++) {
        for (uint32_t b = 0; b < w->node_slots; b++) {
            int blocked = 0;
            for (uint32_t i = 0; i < SIM_ACTIVE_FAULTS_MAX; i++) {
                const struct sim_active_fault *f = &w->faults[i];
                blocked |=
                    f->used && f->kind == SIM_FAULT_KIND_PARTITION && ((f->links[a] >> b) & 1u);
            }
            sim_net_block(&w->net, (uint16_t)a, (uint16_t)b, blocked);
        }
    }
}

/* Ends the fault in `slot` after `length` (0: at the end of the faulty phase). */
static void sim_fault_schedule_end(struct sim_world *w, int slot, uint64_t length)
{
    uint64_t end = length == 0 ? w->scenario.duration_us : w->queue.now_us + length;
    if (end < w->scenario.duration_us || w->faults[slot].kind == SIM_FAULT_KIND_CRASH) {
        sim_world_push(w, end, SIM_EV_FAULT_END, 0,
                       ((uint64_t)w->faults[slot].generation << 16) | (uint64_t)slot);
    }
    w->faults[slot].until_us = end;
}

static void sim_fault_partition_mask(struct sim_world *w, uint32_t group, uint64_t length,
                                     const char *shape)
{
    int slot = sim_fault_slot(w, SIM_FAULT_KIND_PARTITION, 0);
    if (slot < 0) {
        return;
    }
    for (uint32_t a = 0; a < w->node_slots; a++) {
        for (uint32_t b = 0; b < w->node_slots; b++) {
            if (((group >> a) & 1u) != ((group >> b) & 1u)) {
                w->faults[slot].links[a] |= (uint16_t)(1u << b);
            }
        }
    }
    w->stats.partitions++;
    sim_fault_apply_partitions(w);
    sim_fault_schedule_end(w, slot, length);
    char inside[64] = "";
    char outside[64] = "";
    for (uint32_t i = 0; i < w->node_slots; i++) {
        char *side = ((group >> i) & 1u) ? inside : outside;
        size_t used = strlen(side);
        snprintf(side + used, 64 - used, "%sn%u", used ? "," : "", i + 1);
    }
    if (length == 0) {
        sim_world_note(w, "partition (%s): {%s} | {%s} until the faults stop", shape, inside,
                       outside);
    } else {
        sim_world_note(w, "partition (%s): {%s} | {%s} for %" PRIu64 "ms", shape, inside, outside,
                       length / 1000);
    }
}

static void sim_fault_one_way(struct sim_world *w, uint32_t from, uint32_t to, uint64_t length)
{
    if (from == to) {
        return;
    }
    int slot = sim_fault_slot(w, SIM_FAULT_KIND_PARTITION, from);
    if (slot < 0) {
        return;
    }
    w->faults[slot].links[from] |= (uint16_t)(1u << to);
    w->stats.partitions++;
    sim_fault_apply_partitions(w);
    sim_fault_schedule_end(w, slot, length);
    sim_world_note(w, "partition (one-way): n%u -> n%u blocked for %" PRIu64 "ms", from + 1, to + 1,
                   length / 1000);
}

/* A random minority: between 1 and (n - 1) / 2 random nodes. */
static uint32_t sim_fault_minority(struct sim_world *w)
{
    uint32_t n = w->node_slots;
    uint32_t size = 1 + (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_PARTITION, (n - 1) / 2);
    uint32_t group = 0;
    for (uint32_t k = 0; k < size; k++) {
        uint32_t pick = (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_PARTITION, n - k);
        for (uint32_t i = 0; i < n; i++) { /* the pick-th node not yet in the group */
            if (!((group >> i) & 1u) && pick-- == 0) {
                group |= 1u << i;
                break;
            }
        }
    }
    return group;
}

static void sim_fault_random_partition(struct sim_world *w, uint64_t length)
{
    uint32_t n = w->node_slots;
    enum sim_partition_shape enabled[5];
    uint32_t count = 0;
    for (uint32_t bit = 0; bit < 5; bit++) {
        uint32_t shape = 1u << bit;
        if ((w->scenario.partition_shapes & shape) && !(shape == SIM_SHAPE_MINORITY && n < 3)) {
            enabled[count++] = (enum sim_partition_shape)shape;
        }
    }
    if (count == 0) {
        return;
    }
    enum sim_partition_shape shape = enabled[sim_choose(&w->chooser, SIM_CONCERN_PARTITION, count)];
    struct sim_target leader = { .kind = SIM_TARGET_LEADER };
    struct sim_target random = { .kind = SIM_TARGET_RANDOM };
    switch (shape) {
    case SIM_SHAPE_ISOLATE_LEADER:
        sim_fault_partition_mask(w, 1u << sim_fault_resolve(w, &leader, SIM_CONCERN_PARTITION),
                                 length, "isolate-leader");
        return;
    case SIM_SHAPE_ISOLATE:
        sim_fault_partition_mask(w, 1u << sim_fault_resolve(w, &random, SIM_CONCERN_PARTITION),
                                 length, "isolate");
        return;
    case SIM_SHAPE_MINORITY:
        sim_fault_partition_mask(w, sim_fault_minority(w), length, "minority");
        return;
    case SIM_SHAPE_ONE_WAY: {
        uint32_t from = sim_fault_random_node(w, SIM_CONCERN_PARTITION);
        uint32_t to =
            (from + 1 + (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_PARTITION, n - 1)) % n;
        sim_fault_one_way(w, from, to, length);
        return;
    }
    case SIM_SHAPE_SPLIT:
    default: {
        uint32_t group =
            1 + (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_PARTITION, (1u << n) - 2);
        sim_fault_partition_mask(w, group, length, "split");
        return;
    }
    }
}

static uint32_t sim_faults_down(const struct sim_world *w)
{
    uint32_t down = 0;
    for (uint32_t i = 0; i < w->node_slots; i++) {
        down += w->nodes[i].member && (!w->nodes[i].up || w->nodes[i].paused);
    }
    return down;
}

static void sim_fault_crash(struct sim_world *w, uint32_t node, uint64_t downtime)
{
    struct sim_node *n = &w->nodes[node];
    if (!n->up) {
        return;
    }
    int slot = sim_fault_slot(w, SIM_FAULT_KIND_CRASH, node);
    if (slot < 0) {
        return;
    }
    sim_world_note(w, "crash n%u (down for %" PRIu64 "ms)", node + 1, downtime / 1000);
    sim_node_crash(w, n);
    sim_fault_schedule_end(w, slot, downtime);
}

static void sim_fault_pause(struct sim_world *w, uint32_t node, uint64_t length)
{
    struct sim_node *n = &w->nodes[node];
    if (!n->up || n->paused) {
        return;
    }
    int slot = sim_fault_slot(w, SIM_FAULT_KIND_PAUSE, node);
    if (slot < 0) {
        return;
    }
    sim_world_note(w, "pause n%u for %" PRIu64 "ms", node + 1, length / 1000);
    sim_node_pause(w, n);
    sim_fault_schedule_end(w, slot, length);
}

static void sim_fault_clog(struct sim_world *w, uint32_t from, uint32_t to, uint64_t length)
{
    if (from == to) {
        return;
    }
    uint64_t until = length == 0 ? w->scenario.duration_us : w->queue.now_us + length;
    sim_net_clog(&w->net, (uint16_t)from, (uint16_t)to, until);
    w->stats.clogs++;
    sim_world_note(w, "clog n%u -> n%u for %" PRIu64 "ms", from + 1, to + 1,
                   (until - w->queue.now_us) / 1000);
}

void sim_fault_arrival(struct sim_world *w, enum sim_fault_kind kind)
{
    if (w->liveness_phase) {
        return;
    }
    enum sim_concern concern = sim_fault_concern[kind];
    const struct sim_fault_rate *rate = sim_fault_rate_of(w, kind);
    uint64_t length = sim_fault_length(w, concern, &rate->length);
    uint32_t n = w->node_slots;
    switch (kind) {
    case SIM_FAULT_KIND_PARTITION:
        if (n > 1) {
            sim_fault_random_partition(w, length);
        }
        break;
    case SIM_FAULT_KIND_CLOG:
        if (n > 1) {
            uint32_t from = sim_fault_random_node(w, concern);
            uint32_t to = (from + 1 + (uint32_t)sim_choose(&w->chooser, concern, n - 1)) % n;
            sim_fault_clog(w, from, to, length);
        }
        break;
    case SIM_FAULT_KIND_CRASH:
    case SIM_FAULT_KIND_PAUSE: {
        struct sim_target target = {
            .kind =
                kind == SIM_FAULT_KIND_CRASH ? w->scenario.crash_target : w->scenario.pause_target,
        };
        uint32_t node = sim_fault_resolve(w, &target, concern);
        if (sim_faults_down(w) < w->scenario.crashed_nodes_max) {
            if (kind == SIM_FAULT_KIND_CRASH) {
                sim_fault_crash(w, node, length);
            } else {
                sim_fault_pause(w, node, length);
            }
        }
        break;
    }
    case SIM_FAULT_KIND_COUNT:
        assert(0);
        break;
    }
    uint64_t interval = sim_faults_interval(w, concern, rate->every_us);
    uint64_t next = interval == UINT64_MAX ? UINT64_MAX : w->queue.now_us + interval;
    if (next < w->scenario.duration_us) {
        sim_world_push(w, next, SIM_EV_FAULT_ARRIVAL, 0, (uint64_t)kind);
    }
}

void sim_fault_scheduled(struct sim_world *w, uint32_t index)
{
    assert(index < w->scenario.fault_count);
    const struct sim_scheduled_fault *f = &w->scenario.faults[index];
    if (f->action >= SIM_FAULT_ADD) {
        sim_membership_scheduled(w, f); /* targets are resolved among the leader's voters */
        return;
    }
    enum sim_concern concern = SIM_CONCERN_PARTITION;
    uint32_t node = 0;
    uint32_t peer = 0;
    if (sim_fault_arity(f->action) >= 1) {
        concern = f->action == SIM_FAULT_CRASH   ? SIM_CONCERN_CRASH
                  : f->action == SIM_FAULT_PAUSE ? SIM_CONCERN_PAUSE
                  : f->action == SIM_FAULT_CLOG  ? SIM_CONCERN_CLOG
                                                 : SIM_CONCERN_PARTITION;
        node = sim_fault_resolve(w, &f->target, concern);
    }
    if (sim_fault_arity(f->action) == 2) {
        peer = sim_fault_resolve(w, &f->peer, concern);
    }
    switch (f->action) {
    case SIM_FAULT_ISOLATE:
        sim_fault_partition_mask(w, 1u << node, f->duration_us, "isolate");
        return;
    case SIM_FAULT_MINORITY:
        if (w->node_slots >= 3) {
            sim_fault_partition_mask(w, sim_fault_minority(w), f->duration_us, "minority");
        }
        return;
    case SIM_FAULT_SPLIT:
        if (w->node_slots >= 2) {
            uint32_t group = 1 + (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_PARTITION,
                                                      (1u << w->node_slots) - 2);
            sim_fault_partition_mask(w, group, f->duration_us, "split");
        }
        return;
    case SIM_FAULT_ONE_WAY:
        sim_fault_one_way(w, node, peer, f->duration_us);
        return;
    case SIM_FAULT_CLOG:
        sim_fault_clog(w, node, peer, f->duration_us);
        return;
    case SIM_FAULT_CRASH: {
        uint64_t downtime = f->duration_us != 0 ? f->duration_us
                                                : sim_fault_length(w, SIM_CONCERN_RESTART,
                                                                   &w->scenario.crashes.length);
        sim_fault_crash(w, node, downtime);
        return;
    }
    case SIM_FAULT_PAUSE:
        sim_fault_pause(w, node, f->duration_us);
        return;
    case SIM_FAULT_HEAL:
        sim_faults_heal_all(w);
        sim_world_note(w, "heal: every link open");
        return;
    case SIM_FAULT_ADD:
    case SIM_FAULT_REMOVE:
    case SIM_FAULT_REPLACE:
    case SIM_FAULT_TRANSFER:
        break; /* handled above */
    case SIM_FAULT_ACTION_COUNT:
        break;
    }
    assert(0 && "unknown scheduled action");
}

void sim_fault_end(struct sim_world *w, uint64_t arg)
{
    uint32_t slot = (uint32_t)(arg & 0xffffu);
    assert(slot < SIM_ACTIVE_FAULTS_MAX);
    struct sim_active_fault *f = &w->faults[slot];
    if (!f->used || f->generation != (uint32_t)(arg >> 16)) {
        return; /* already ended (by a heal, or at the end of the faulty phase) */
    }
    f->used = 0;
    switch (f->kind) {
    case SIM_FAULT_KIND_PARTITION:
        sim_fault_apply_partitions(w);
        sim_world_note(w, "a partition ends (%u links still blocked)",
                       sim_net_blocked_links(&w->net));
        break;
    case SIM_FAULT_KIND_CRASH: {
        struct sim_node *n = &w->nodes[f->node];
        if (!n->up && !n->dead && n->member) {
            w->stats.restarts++;
            sim_world_note(w, "restart n%u", f->node + 1);
            sim_node_start(w, n);
        }
        break;
    }
    case SIM_FAULT_KIND_PAUSE:
        sim_world_note(w, "resume n%u", f->node + 1);
        sim_node_resume(w, &w->nodes[f->node]);
        break;
    case SIM_FAULT_KIND_CLOG:
    case SIM_FAULT_KIND_COUNT:
        break;
    }
}

void sim_faults_heal_all(struct sim_world *w)
{
    for (uint32_t i = 0; i < SIM_ACTIVE_FAULTS_MAX; i++) {
        if (w->faults[i].used && w->faults[i].kind == SIM_FAULT_KIND_PARTITION) {
            w->faults[i].used = 0;
        }
    }
    sim_net_heal(&w->net);
}

void sim_faults_restart_later(struct sim_world *w, uint32_t node)
{
    int slot = sim_fault_slot(w, SIM_FAULT_KIND_CRASH, node);
    if (slot < 0) {
        return;
    }
    uint64_t downtime = sim_fault_length(w, SIM_CONCERN_RESTART, &w->scenario.crashes.length);
    sim_fault_schedule_end(w, slot, downtime);
}

void sim_faults_atlas(struct sim_world *w)
{
    int disk_faults =
        w->scenario.read_error > 0 || w->scenario.write_error > 0 || w->scenario.bit_flip > 0;
    uint32_t chosen = 0;
    uint32_t n = w->node_slots;
    uint32_t budget = disk_faults ? w->scenario.corrupt_replicas_max : 0;
    for (uint32_t i = 0; i < n; i++) {
        /* choose `budget` of the n nodes uniformly: node i is in with probability
         * (budget - chosen) / (n - i) */
        int in =
            chosen < budget && sim_choose(&w->chooser, SIM_CONCERN_DISK, n - i) < budget - chosen;
        chosen += (uint32_t)in;
        sim_node_set_disk_faults(w, &w->nodes[i], in);
    }
}
