/* The world's event loop: dispatch, checks after every event, trace hash, phases and the report. */
#include "sim/world.h"

#include "sim/bugs.h"

#include "core/hash.h"
#include "core/raft.h"
#include "workflows/kv.h"

#include <assert.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_QUEUE_CAPACITY       (1u << 20)
#define SIM_LIVENESS_PROBE_TICKS 5

static const char *const sim_event_kind_names[SIM_EV_KIND_COUNT] = {
    [SIM_EV_TICK] = "tick",
    [SIM_EV_DELIVER] = "deliver",
    [SIM_EV_SYNC_DONE] = "sync",
    [SIM_EV_REQUEST] = "request",
    [SIM_EV_REPLY] = "reply",
    [SIM_EV_CLIENT_WAKE] = "client",
    [SIM_EV_CLIENT_TIMEOUT] = "timeout",
    [SIM_EV_FAULT_ARRIVAL] = "fault",
    [SIM_EV_SCHEDULED_FAULT] = "scheduled",
    [SIM_EV_FAULT_END] = "fault-end",
    [SIM_EV_PHASE_END] = "phase",
    [SIM_EV_LIVENESS_PROBE] = "probe",
    [SIM_EV_LIVENESS_DEADLINE] = "deadline",
    [SIM_EV_WF] = "workflow",
    [SIM_EV_MEMBERSHIP] = "membership",
};

_Static_assert(SIM_SCENARIO_SLOTS_MAX <= SIM_NODES_MAX, "every scenario slot is a world node");
_Static_assert(SIM_SCENARIO_SLOTS_MAX <= SIM_CHECK_NODES_MAX, "every slot is checked");

const char *sim_event_kind_name(enum sim_event_kind kind)
{
    if (kind <= 0 || kind >= SIM_EV_KIND_COUNT) {
        return "?";
    }
    return sim_event_kind_names[kind];
}

int sim_event_kinds_parse(const char *text, uint32_t *mask)
{
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", text);
    uint32_t bits = 0;
    char *save = NULL;
    for (char *word = strtok_r(copy, ",", &save); word != NULL; word = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int k = 1; k < SIM_EV_KIND_COUNT; k++) {
            if (strcmp(word, sim_event_kind_names[k]) == 0) {
                bits |= 1u << k;
                found = 1;
            }
        }
        if (strcmp(word, "all") == 0) {
            bits |= ~0u;
            found = 1;
        }
        if (!found) {
            return -1;
        }
    }
    *mask = bits;
    return 0;
}

int sim_world_push(struct sim_world *w, uint64_t time_us, enum sim_event_kind kind, uint32_t node,
                   uint64_t arg)
{
    struct sim_event event = {
        .time_us = time_us,
        .kind = (uint16_t)kind,
        .node = (uint16_t)node,
        .arg = arg,
    };
    if (kind == SIM_EV_TICK || kind == SIM_EV_SYNC_DONE) {
        event.incarnation = w->nodes[node].incarnation;
    }
    if (sim_queue_push(&w->queue, event) != 0) {
        sim_world_fail(w, "the event queue is full (%u events pending)", w->queue.capacity);
        return -1;
    }
    return 0;
}

void sim_world_fail(struct sim_world *w, const char *format, ...)
{
    if (w->error) {
        return;
    }
    w->error = 1;
    w->stop = 1;
    va_list args;
    va_start(args, format);
    vsnprintf(w->error_text, sizeof(w->error_text), format, args);
    va_end(args);
}

/* Starts one more note in the current event's record: the separator after an earlier note
 * (truncated to the room left). Returns where the new text goes. */
static size_t sim_world_note_open(struct sim_world *w)
{
    char *note = w->current.note;
    size_t size = sizeof(w->current.note);
    size_t used = strnlen(note, size);
    assert(used < size);
    if (used > 0) {
        static const char separator[] = "; ";
        size_t room = size - 1 - used;
        size_t n = room < sizeof(separator) - 1 ? room : sizeof(separator) - 1;
        memcpy(note + used, separator, n);
        used += n;
        note[used] = '\0';
    }
    return used;
}

/* A note about the current event (a leader elected, a fault injected): logged, and appended to
 * the event's text in the recent-events record. Formatted once, straight into the record. */
void sim_world_note(struct sim_world *w, const char *format, ...)
{
    size_t used = sim_world_note_open(w);
    va_list args;
    va_start(args, format);
    vsnprintf(w->current.note + used, sizeof(w->current.note) - used, format, args);
    va_end(args);
}

void sim_world_note_text(struct sim_world *w, const char *text, size_t len)
{
    assert(text != NULL || len == 0);
    size_t used = sim_world_note_open(w);
    size_t room = sizeof(w->current.note) - 1 - used;
    size_t n = len < room ? len : room;
    memcpy(w->current.note + used, text, n);
    w->current.note[used + n] = '\0';
}

static int sim_world_logged(const struct sim_world *w, const struct sim_event *e)
{
    if (w->options.log == NULL) {
        return 0;
    }
    uint32_t kinds = w->options.log_kinds != 0 ? w->options.log_kinds : ~(1u << SIM_EV_TICK);
    if (!((kinds >> e->kind) & 1u)) {
        return 0;
    }
    int node_event = e->kind == SIM_EV_TICK || e->kind == SIM_EV_DELIVER ||
                     e->kind == SIM_EV_SYNC_DONE || e->kind == SIM_EV_REQUEST;
    if (w->options.log_nodes != 0 && node_event && !((w->options.log_nodes >> e->node) & 1u)) {
        return 0;
    }
    return 1;
}

static void sim_world_format(const struct sim_trace_record *r, char *out, size_t size)
{
    char what[96] = "";
    unsigned node = r->node + 1u;
    switch ((enum sim_event_kind)r->kind) {
    case SIM_EV_TICK:
        snprintf(what, sizeof(what), "n%u", node);
        break;
    case SIM_EV_DELIVER:
        if (r->message_type != 0) {
            snprintf(what, sizeof(what), "n%u %s from n%u term %" PRIu64, node,
                     raft_message_type_name((enum raft_message_type)r->message_type),
                     r->message_from, r->message_term);
        } else if (r->message_from != 0) {
            snprintf(what, sizeof(what), "n%u from n%u (corrupted in flight)", node,
                     r->message_from);
        } else {
            snprintf(what, sizeof(what), "n%u (not delivered)", node);
        }
        break;
    case SIM_EV_SYNC_DONE:
        snprintf(what, sizeof(what), "n%u group commit durable", node);
        break;
    case SIM_EV_REQUEST:
        snprintf(what, sizeof(what), "n%u from client %u", node, (unsigned)(r->arg >> 48) + 1);
        break;
    case SIM_EV_REPLY:
    case SIM_EV_CLIENT_WAKE:
    case SIM_EV_CLIENT_TIMEOUT:
        snprintf(what, sizeof(what), "client %u", node);
        break;
    default:
        break;
    }
    snprintf(out, size, "#%" PRIu64 " t=%" PRIu64 ".%06" PRIu64 "s %-9s %s%s%s", r->number,
             r->time_us / 1000000, r->time_us % 1000000, sim_event_kind_name(r->kind), what,
             what[0] && r->note[0] ? "; " : "", r->note);
}

/* After each event: fold it into the trace hash, keep it among the recent ones, log it. */
static void sim_world_trace(struct sim_world *w, const struct sim_event *e)
{
    uint64_t words[5] = { e->time_us, ((uint64_t)e->kind << 32) | ((uint64_t)e->node << 16), e->arg,
                          0, 0 };
    if (e->node < w->node_slots &&
        (e->kind == SIM_EV_TICK || e->kind == SIM_EV_DELIVER || e->kind == SIM_EV_SYNC_DONE)) {
        const struct sim_node *n = &w->nodes[e->node];
        words[3] = n->replica != NULL ? raft_node_commit_index(replica_raft(n->replica)) : 0;
        words[4] = n->term;
    }
    w->trace_hash = hash_fold_bytes(w->trace_hash, words, sizeof(words));
    int logged = sim_world_logged(w, e);
    int quiet =
        (e->kind == SIM_EV_TICK || e->kind == SIM_EV_MEMBERSHIP) && w->current.note[0] == '\0';
    if (quiet && e->kind == SIM_EV_MEMBERSHIP && w->options.log_kinds == 0) {
        logged = 0; /* a membership poll that did nothing: logged only when asked for */
    }
    if (quiet && !logged) {
        return; /* plain ticks and polls are not worth a slot among the recent events */
    }
    w->recent[w->recent_next] = w->current;
    w->recent_next = (w->recent_next + 1) % SIM_TRACE_RECENT;
    if (logged) {
        char line[320];
        sim_world_format(&w->current, line, sizeof(line));
        fprintf(w->options.log, "%s\n", line);
    }
    sim_wf_log_flush(w);
}

size_t sim_world_recent(const struct sim_world *w, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < SIM_TRACE_RECENT; i++) {
        const struct sim_trace_record *r = &w->recent[(w->recent_next + i) % SIM_TRACE_RECENT];
        if (r->kind == 0) {
            continue;
        }
        char line[320];
        sim_world_format(r, line, sizeof(line));
        int n = snprintf(out + used, size - used, "    %s\n", line);
        if (n < 0 || (size_t)n >= size - used) {
            break;
        }
        used += (size_t)n;
    }
    return used;
}

/* ---- phases ---- */

static void sim_world_phase_end(struct sim_world *w)
{
    w->liveness_phase = 1;
    w->liveness_started_us = w->queue.now_us;
    sim_faults_heal_all(w);
    w->net.config.drop_probability = 0;
    w->net.config.duplicate_probability = 0;
    w->net.config.corrupt_probability = 0;
    for (uint32_t i = 0; i < SIM_ACTIVE_FAULTS_MAX; i++) {
        w->faults[i].used = 0;
    }
    sim_membership_phase_end(w);
    for (uint32_t i = 0; i < w->node_slots; i++) {
        struct sim_node *n = &w->nodes[i];
        sim_node_set_disk_faults(w, n, 0);
        if (!n->up && !n->dead && n->member) {
            w->stats.restarts++;
            sim_node_start(w, n);
        } else if (n->paused) {
            sim_node_resume(w, n);
        }
    }
    sim_world_note(w, "faults stop, the network heals, every node is up: liveness phase");
    sim_wf_phase_end(w);
    sim_world_push(w, w->queue.now_us, SIM_EV_LIVENESS_PROBE, 0, 0);
    sim_world_push(w, w->queue.now_us + w->scenario.liveness_bound_us, SIM_EV_LIVENESS_DEADLINE, 0,
                   0);
}

/* Proposes the liveness marker to the leader until one commits. */
static void sim_world_probe(struct sim_world *w)
{
    if (w->liveness_done) {
        return;
    }
    int leader = sim_world_leader(w);
    if (leader >= 0 && w->nodes[leader].term != w->liveness_term) {
        static const char key[] = "__liveness";
        char value[32];
        int len = snprintf(value, sizeof(value), "probe-%" PRIu64, w->events);
        struct kv_command command =
            kv_command_put(0, 0, key, sizeof(key) - 1, value, (uint32_t)len);
        uint8_t payload[128];
        size_t payload_len = 0;
        struct kv_error error;
        if (kv_command_encode(&command, payload, sizeof(payload), &payload_len, &error) != 0) {
            sim_world_fail(w, "cannot encode the liveness marker: %s", error.reason);
            return;
        }
        uint64_t index = 0;
        uint64_t term = 0;
        struct sim_node *n = &w->nodes[leader];
        if (sim_node_propose(w, n, payload, payload_len, &index, &term) == RAFT_OK) {
            w->liveness_index = index;
            w->liveness_term = term;
            w->liveness_node = (uint32_t)leader;
            sim_world_note(w, "liveness marker proposed to n%d at index %" PRIu64 " term %" PRIu64,
                           leader + 1, index, term);
        }
    }
    sim_world_push(w, w->queue.now_us + SIM_LIVENESS_PROBE_TICKS * w->scenario.tick_us,
                   SIM_EV_LIVENESS_PROBE, 0, 0);
}

static void sim_world_deadline(struct sim_world *w)
{
    if (w->liveness_done) {
        return;
    }
    char nodes[512];
    size_t used = 0;
    for (uint32_t i = 0; i < w->node_slots && used < sizeof(nodes); i++) {
        const struct sim_node *n = &w->nodes[i];
        const char *state = !n->up ? (n->dead     ? "dead"
                                      : n->member ? "down"
                                                  : "not a member")
                                   : raft_role_name(n->role);
        int len = snprintf(nodes + used, sizeof(nodes) - used, "%sn%u %s term %" PRIu64,
                           i ? ", " : "", i + 1, state, n->term);
        used += len > 0 ? (size_t)len : 0;
    }
    int leader = sim_world_leader(w);
    sim_check_violation(&w->checker, "liveness", leader >= 0 ? (uint32_t)leader + 1 : 0, 0,
                        leader >= 0 ? w->nodes[leader].term : 0, w->liveness_index,
                        "%s within %" PRIu64 "ms after the faults stopped (%s)",
                        leader < 0 ? "no leader was elected"
                                   : "a leader exists but no new command committed",
                        w->scenario.liveness_bound_us / 1000, nodes);
}

/* ---- dispatch ---- */

static void sim_world_dispatch(struct sim_world *w, const struct sim_event *e)
{
    struct sim_node *n = e->node < SIM_NODES_MAX ? &w->nodes[e->node] : NULL;
    switch ((enum sim_event_kind)e->kind) {
    case SIM_EV_TICK:
        if (!n->up || e->incarnation != n->incarnation) {
            return; /* a tick of a crashed incarnation */
        }
        if (!n->paused) {
            sim_node_tick(w, n);
        }
        if (n->up && e->incarnation == n->incarnation) {
            sim_world_push(w, w->queue.now_us + w->scenario.tick_us, SIM_EV_TICK, e->node, 0);
        }
        return;
    case SIM_EV_DELIVER:
        sim_node_deliver(w, n, (uint32_t)e->arg);
        return;
    case SIM_EV_SYNC_DONE:
        if (!n->up || e->incarnation != n->incarnation) {
            return;
        }
        if (n->paused) { /* the disk finished; the frozen process notices later */
            sim_world_push(w, w->queue.now_us + w->scenario.tick_us, SIM_EV_SYNC_DONE, e->node, 0);
            return;
        }
        sim_node_sync_done(w, n);
        return;
    case SIM_EV_REQUEST:
        sim_node_request(w, n, (uint32_t)(e->arg >> 48), e->arg & 0xffffffffffffull);
        return;
    case SIM_EV_REPLY:
        sim_client_reply(w, &w->clients[e->node], e->arg);
        return;
    case SIM_EV_CLIENT_WAKE:
        sim_client_wake(w, &w->clients[e->node], e->arg);
        return;
    case SIM_EV_CLIENT_TIMEOUT:
        sim_client_timeout(w, &w->clients[e->node], e->arg);
        return;
    case SIM_EV_FAULT_ARRIVAL:
        sim_fault_arrival(w, (enum sim_fault_kind)e->arg);
        return;
    case SIM_EV_SCHEDULED_FAULT:
        if (!w->liveness_phase) {
            sim_fault_scheduled(w, (uint32_t)e->arg);
        }
        return;
    case SIM_EV_FAULT_END:
        sim_fault_end(w, e->arg);
        return;
    case SIM_EV_PHASE_END:
        sim_world_phase_end(w);
        return;
    case SIM_EV_LIVENESS_PROBE:
        sim_world_probe(w);
        return;
    case SIM_EV_LIVENESS_DEADLINE:
        sim_world_deadline(w);
        return;
    case SIM_EV_WF:
        sim_wf_event(w, e->arg, e->node);
        return;
    case SIM_EV_MEMBERSHIP:
        sim_membership_event(w, e->arg);
        return;
    case SIM_EV_KIND_COUNT:
        break;
    }
    assert(0 && "unknown event kind");
}

/* ---- setup, loop, report ---- */

/* Sizes the nodes' in-memory log for the run's workload (no snapshots yet: it holds the whole
 * log). Big buffers cost at every node creation, so they are not sized for the worst case. */
static uint32_t sim_world_log_entries(const struct sim_scenario *s)
{
    const struct sim_dist *think = &s->think;
    uint64_t mean_us = think->kind == SIM_DIST_EXPONENTIAL || think->kind == SIM_DIST_NORMAL
                           ? think->mean_us
                           : (think->min_us + think->max_us) / 2;
    if (mean_us < 1000) {
        mean_us = 1000;
    }
    uint64_t seconds = (s->duration_us + s->liveness_bound_us) / 1000000 + 1;
    uint64_t estimate = seconds * s->clients * (1000000 / mean_us) * 2 + 4096;
    uint32_t entries = SIM_LOG_ENTRIES_MIN;
    while (entries < estimate && entries < SIM_LOG_ENTRIES_MAX) {
        entries *= 2;
    }
    return entries;
}

/* [slow] count: that many of the initial nodes, chosen per seed, get a slow disk and network. */
static uint32_t sim_world_slow_nodes(struct sim_world *w)
{
    uint32_t mask = 0;
    uint32_t n = w->scenario.nodes;
    for (uint32_t k = 0; k < w->scenario.slow_nodes && k < n; k++) {
        uint64_t pick = sim_choose(&w->chooser, SIM_CONCERN_SLOW, n - k);
        for (uint32_t i = 0; i < n; i++) { /* the pick-th node not slow yet */
            if (!((mask >> i) & 1u) && pick-- == 0) {
                mask |= 1u << i;
                break;
            }
        }
    }
    return mask;
}

static int sim_world_setup(struct sim_world *w, const struct sim_run_options *o)
{
    w->options = *o;
    w->scenario = *o->scenario;
    if (o->replay_path != NULL) {
        struct sim_schedule_header header;
        if (sim_chooser_init_replay(&w->chooser, o->replay_path, o->replay_lenient, &header) != 0) {
            sim_world_fail(w, "%s", w->chooser.error);
            return -1;
        }
        w->options.seed = header.seed; /* the recording run's seed, for reports */
    } else if (o->strategy != NULL) {
        sim_chooser_init_strategy(&w->chooser, o->seed, *o->strategy);
    } else {
        sim_chooser_init_prng(&w->chooser, o->seed);
    }
    if (o->record_path != NULL) {
        struct sim_schedule_header header = { .seed = o->seed };
        snprintf(header.scenario, sizeof(header.scenario), "%s", w->scenario.path);
        if (sim_chooser_record(&w->chooser, o->record_path, &header) != 0) {
            sim_world_fail(w, "%s", w->chooser.error);
            return -1;
        }
    }
    if (w->scenario.swarm) {
        sim_scenario_swarm(&w->scenario, &w->chooser, w->swarm_summary, sizeof(w->swarm_summary));
    }
    w->log_entries_max = sim_world_log_entries(&w->scenario);
    w->node_slots = sim_scenario_slots(&w->scenario);
    w->slow_mask = sim_world_slow_nodes(w);
    struct sim_net_config net = {
        .latency = w->scenario.latency,
        .drop_probability = w->scenario.drop,
        .duplicate_probability = w->scenario.duplicate,
        .corrupt_probability = w->scenario.corrupt,
        .slow_latency = w->scenario.slow_latency,
        .slow_mask = w->slow_mask,
    };
    if (sim_queue_init(&w->queue, SIM_QUEUE_CAPACITY) != 0 ||
        sim_net_init(&w->net, w->node_slots, &net, SIM_EV_DELIVER) != 0 ||
        sim_check_init(&w->checker, w->node_slots) != 0) {
        sim_world_fail(w, "out of memory setting up the world");
        return -1;
    }
    struct raft_membership bootstrap = { .voter_count = w->scenario.nodes };
    for (uint32_t i = 0; i < w->scenario.nodes; i++) {
        bootstrap.voters[i] = i + 1;
    }
    sim_check_config_init(&w->config_check, w->node_slots, &bootstrap);
    sim_check_snapshot_init(&w->snapshot_check, w->node_slots);
    for (uint32_t i = 0; i < w->node_slots; i++) {
        if (sim_node_init(w, &w->nodes[i], i) != 0) {
            sim_world_fail(w, "out of memory for node %u's disk", i + 1);
            return -1;
        }
    }
    if (sim_wf_setup(w) != 0) {
        return -1;
    }
    for (uint32_t i = 0; i < w->scenario.nodes; i++) { /* spares start when they are added */
        w->nodes[i].member = 1;
        if (sim_node_start(w, &w->nodes[i]) != 0 || !w->nodes[i].up) {
            sim_world_fail(w, "cannot start node %u on its empty disk", i + 1);
            return -1;
        }
    }
    sim_faults_atlas(w); /* disk faults begin once every node has started */
    if (hist_init(&w->history, HIST_MODEL_KV, SIM_HISTORY_OPS_MAX) != 0) {
        sim_world_fail(w, "out of memory for the client history");
        return -1;
    }
    sim_clients_start(w);
    sim_faults_start(w);
    sim_membership_start(w);
    sim_world_push(w, w->scenario.duration_us, SIM_EV_PHASE_END, 0, 0);
    return 0;
}

static void sim_world_teardown(struct sim_world *w)
{
    sim_wf_teardown(w);
    for (uint32_t i = 0; i < w->node_slots; i++) { /* the slots beyond were never set up */
        sim_node_deinit(&w->nodes[i]);
    }
    sim_check_deinit(&w->checker);
    hist_free(&w->history);
    sim_net_deinit(&w->net);
    sim_queue_deinit(&w->queue);
}

/* The run is over once the liveness marker committed and the workflow plane has settled. */
static int sim_world_done(const struct sim_world *w)
{
    return w->liveness_done && sim_wf_settled(w);
}

static void sim_world_loop(struct sim_world *w)
{
    struct sim_event event;
    while (!w->stop && !sim_world_done(w) && sim_queue_pop(&w->queue, &w->chooser, &event)) {
        w->events++;
        if (w->events > w->scenario.events_max) {
            sim_world_fail(w, "the run needed more than events_max = %" PRIu64 " events",
                           w->scenario.events_max);
            break;
        }
        w->current.number = w->events;
        w->current.time_us = event.time_us;
        w->current.arg = event.arg;
        w->current.kind = event.kind;
        w->current.node = event.node;
        w->current.message_from = 0;
        w->current.message_type = 0;
        w->current.message_term = 0;
        w->current.note[0] = '\0';
        sim_world_dispatch(w, &event);
        sim_world_trace(w, &event);
        if (w->checker.violated) {
            w->stop = 1;
        }
        if (sim_chooser_failed(&w->chooser)) {
            sim_world_fail(w, "%s", w->chooser.error);
        }
        if (w->options.observe != NULL && w->options.observe(w->options.observe_ctx, w)) {
            w->stop = 1;
        }
    }
    if (!w->stop && !sim_world_done(w)) {
        sim_world_fail(w, "the event queue ran dry before the liveness phase ended");
    }
}

static double sim_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sim_world_counters(const struct sim_world *w, struct report_run *r)
{
    const struct sim_stats *s = &w->stats;
    const struct sim_net_stats *net = &w->net.stats;
    report_run_count(r, "crash", s->crashes);
    report_run_count(r, "restart", s->restarts);
    report_run_count(r, "pause", s->pauses);
    report_run_count(r, "partition", s->partitions);
    report_run_count(r, "clog", s->clogs);
    report_run_count(r, "net.sent", net->sent);
    report_run_count(r, "net.delivered", net->delivered);
    report_run_count(r, "net.dropped", net->dropped_random);
    report_run_count(r, "net.partitioned", net->dropped_partition);
    report_run_count(r, "net.duplicated", net->duplicated);
    report_run_count(r, "net.corrupted", net->corrupted);
    report_run_count(r, "net.corrupt_caught", net->corrupt_caught);
    report_run_count(r, "net.clogged", net->clogged);
    report_run_count(r, "disk.syncs", s->syncs);
    report_run_count(r, "disk.errors", s->disk_errors);
    report_run_count(r, "disk.torn_crashes", s->torn_crashes);
    report_run_count(r, "disk.bit_flips", s->bit_flips);
    report_run_count(r, "disk.dead_nodes", s->dead_nodes);
    report_run_count(r, "snapshots", s->snapshots);
    report_run_count(r, "snapshot.restores", s->snapshot_restores);
    report_run_count(r, "snapshot.installs", s->snapshot_installs);
    report_run_count(r, "snapshot.chunks", s->snapshot_chunks);
    report_run_count(r, "reads.index", w->reads.requested);
    report_run_count(r, "reads.served", w->reads.served);
    report_run_count(r, "reads.not_leader", w->reads.not_leader);
    report_run_count(r, "reads.refused", w->reads.refused);
    report_run_count(r, "reads.wait_us",
                     w->reads.served ? w->reads.waited_us / w->reads.served : 0);
    sim_membership_counters(w, r);
    report_run_count(r, "client.ops", s->client_ops);
    report_run_count(r, "client.ok", s->client_ok);
    report_run_count(r, "client.fail", s->client_fail);
    report_run_count(r, "client.unknown", s->client_unknown);
    report_run_count(r, "client.retries", s->client_retries);
    report_run_count(r, "client.timeouts", s->client_timeouts);
    report_run_count(r, "lin.ops", w->history.ops_count);
    report_run_count(r, "lin.steps", s->lin_steps);
    report_run_count(r, "lin.unchecked", s->lin_unchecked + (uint64_t)w->history_full);
    report_run_count(r, "applied", s->applied_entries);
    report_run_count(r, "checks", w->checker.checks);
    report_run_count(r, "decisions", w->chooser.decisions);
    report_run_count(r, "recovery_ms", s->liveness_recovery_us / 1000);
    sim_wf_counters(w, r);
}

static void sim_world_repro(const struct sim_world *w, struct report_run *r)
{
    const char *program = w->options.argv0_hint != NULL ? w->options.argv0_hint : "flowraft";
    int n = 0;
    if (w->options.replay_path != NULL) {
        n = snprintf(r->repro, sizeof(r->repro), "%s replay --schedule %s", program,
                     w->options.replay_path);
    } else {
        n = snprintf(r->repro, sizeof(r->repro), "%s run %s --seed %" PRIu64, program,
                     w->scenario.path, w->options.seed);
    }
    if (n > 0 && (size_t)n < sizeof(r->repro)) {
        sim_bug_words(w->options.raft_test_bugs, w->options.sim_bugs, r->repro + n,
                      sizeof(r->repro) - (size_t)n);
    }
}

static void sim_world_report(const struct sim_world *w, struct report_run *r)
{
    snprintf(r->scenario, sizeof(r->scenario), "%s", w->scenario.name);
    snprintf(r->scenario_path, sizeof(r->scenario_path), "%s", w->scenario.path);
    r->seed = w->options.seed;
    r->events = w->events;
    r->virtual_time_us = w->queue.now_us;
    r->commits = w->checker.committed_last;
    r->elections = w->stats.elections;
    r->trace_hash = w->trace_hash;
    sim_world_counters(w, r);
    sim_world_repro(w, r);
    if (!w->checker.violated && !w->error) {
        r->verdict = REPORT_PASS;
        return;
    }
    const struct sim_checker *c = &w->checker;
    r->verdict = w->checker.violated ? REPORT_VIOLATION : REPORT_ERROR;
    snprintf(r->invariant, sizeof(r->invariant), "%s", c->violated ? c->invariant : "error");
    int n = snprintf(r->detail, sizeof(r->detail), "%s\n", c->violated ? c->detail : w->error_text);
    int located = c->violation_nodes[0] != 0 || c->violation_term != 0 || c->violation_index != 0;
    if (c->violated && located && n > 0 && (size_t)n < sizeof(r->detail)) {
        char nodes[32] = "-";
        if (c->violation_nodes[0] != 0 && c->violation_nodes[1] != 0) {
            snprintf(nodes, sizeof(nodes), "%u, %u", c->violation_nodes[0], c->violation_nodes[1]);
        } else if (c->violation_nodes[0] != 0) {
            snprintf(nodes, sizeof(nodes), "%u", c->violation_nodes[0]);
        }
        n += snprintf(r->detail + n, sizeof(r->detail) - (size_t)n,
                      "  nodes: %s; term %" PRIu64 "; index %" PRIu64 "\n", nodes,
                      c->violation_term, c->violation_index);
    }
    if (n > 0 && (size_t)n < sizeof(r->detail)) {
        n += snprintf(r->detail + n, sizeof(r->detail) - (size_t)n,
                      "  at event #%" PRIu64 ", virtual time %" PRIu64 ".%06" PRIu64
                      " s, seed %" PRIu64 "%s%s\n  last events:\n",
                      w->events, w->queue.now_us / 1000000, w->queue.now_us % 1000000,
                      w->options.seed, w->swarm_summary[0] ? "\n  swarm: " : "", w->swarm_summary);
    }
    if (n > 0 && (size_t)n < sizeof(r->detail)) {
        sim_world_recent(w, r->detail + n, sizeof(r->detail) - (size_t)n);
    }
}

int sim_run(const struct sim_run_options *options, struct report_run *report)
{
    assert(options != NULL);
    assert(options->scenario != NULL);
    assert(report != NULL);
    memset(report, 0, sizeof(*report));
#ifdef __GLIBC__
    /* Nodes are created and destroyed at every crash; with glibc's adaptive threshold their large
     * zeroed buffers come from the heap and are memset on every creation. A fixed threshold maps
     * them instead, zeroed lazily by the kernel: a third of a short run's time. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
    double started = sim_wall_seconds();
    struct sim_world *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        report->verdict = REPORT_ERROR;
        snprintf(report->detail, sizeof(report->detail), "out of memory for the world");
        return -1;
    }
    if (sim_world_setup(w, options) == 0) {
        sim_world_loop(w);
        sim_clients_finish(w);
        sim_history_finish(w);
        sim_wf_finish(w);
    }
    if (sim_chooser_deinit(&w->chooser) != 0 && !w->error) {
        sim_world_fail(w, "%s", w->chooser.error);
    }
    sim_world_report(w, report);
    report->wall_seconds = sim_wall_seconds() - started;
    if (options->at_end != NULL) {
        options->at_end(options->at_end_ctx, w);
    }
    int rc = w->error ? -1 : 0;
    sim_world_teardown(w);
    free(w);
    return rc;
}
