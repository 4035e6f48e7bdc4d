/* The model checker: depth-first re-execution of choice prefixes, iterative fault bounding, and
 * state fingerprints to prune what was already explored. */
#include "sim/mc.h"

#include "core/hash.h"
#include "sim/world.h"
#include "workflows/kv.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_MC_PROGRESS_SECONDS 5.0

/* Explored fingerprints: open addressing, key 0 means empty. For each, the depth and fault budget
 * that were left when it was explored (more left = a bigger subtree explored from it). */
struct sim_mc_table {
    uint64_t *keys;        /* owned */
    uint32_t *depth_left;  /* owned */
    uint32_t *faults_left; /* owned */
    uint64_t capacity;     /* a power of two; invariant: count <= capacity / 2 */
    uint64_t count;
};

struct sim_mc_ctx {
    const struct sim_mc_options *options;
    struct sim_mc_result *result;
    struct sim_run_options run_options;
    struct sim_chooser_strategy strategy;

    /* The path: the choice made at each branching decision of the current run. */
    uint8_t choice[SIM_MC_DEPTH_MAX];
    uint8_t alternatives[SIM_MC_DEPTH_MAX]; /* how many there were at that decision */
    uint32_t prefix;       /* the first `prefix` choices are given; later ones start at 0 */
    uint32_t taken;        /* branching decisions made in this run */
    uint32_t faults_taken; /* non-calm choices among them */
    uint32_t fault_bound;  /* the current round's bound */
    uint32_t faults_before[SIM_MC_DEPTH_MAX + 1]; /* backtracking scratch */

    /* Every decision of the current run, for the schedule of a violation. */
    struct sim_decisions trace;

    struct sim_mc_table table;
    int pruned; /* this run stopped at an explored fingerprint */
    int cut;    /* this run stopped at run_events_max */
    int stop;   /* the search must stop: states_max reached */
    struct report_run run;

    double started;
    double progress_at;
};

static double sim_mc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the table ---- */

static int sim_mc_table_init(struct sim_mc_table *t, uint64_t states_max)
{
    uint64_t capacity = 1024;
    while (capacity < 2 * states_max) {
        capacity *= 2;
    }
    memset(t, 0, sizeof(*t));
    t->keys = calloc(capacity, sizeof(t->keys[0]));
    t->depth_left = calloc(capacity, sizeof(t->depth_left[0]));
    t->faults_left = calloc(capacity, sizeof(t->faults_left[0]));
    if (t->keys == NULL || t->depth_left == NULL || t->faults_left == NULL) {
        return -1;
    }
    t->capacity = capacity;
    return 0;
}

static void sim_mc_table_free(struct sim_mc_table *t)
{
    free(t->keys);
    free(t->depth_left);
    free(t->faults_left);
    memset(t, 0, sizeof(*t));
}

/* The slot of `key`, or of the empty slot where it would go. */
static uint64_t sim_mc_table_slot(const struct sim_mc_table *t, uint64_t key)
{
    assert(key != 0);
    uint64_t mask = t->capacity - 1;
    uint64_t slot = key & mask;
    for (uint64_t probe = 0; probe < t->capacity; probe++) {
        if (t->keys[slot] == key || t->keys[slot] == 0) {
            return slot;
        }
        slot = (slot + 1) & mask;
    }
    assert(0 && "the table is never full: count <= capacity / 2");
    return 0;
}

/* ---- the strategy: the path's choices ---- */

uint64_t sim_mc_alternative(uint32_t choice, uint32_t count, uint64_t n)
{
    assert(choice < count);
    if (n != 0 && n <= count) {
        return choice;
    }
    assert(count >= 2);
    uint64_t top = n == 0 ? UINT64_MAX : n - 1;
    uint64_t step = top / (count - 1);
    uint64_t rest = top % (count - 1);
    return step * choice + rest * choice / (count - 1);
}

static uint64_t sim_mc_choose(void *arg, enum sim_concern concern, uint64_t n, uint64_t drawn)
{
    struct sim_mc_ctx *ctx = arg;
    const struct sim_mc_options *o = ctx->options;
    uint64_t value = 0;
    if ((o->branch_mask >> concern) & 1u) {
        if (ctx->taken < o->depth_max) {
            uint32_t count =
                (n == 0 || n > o->alternatives_max) ? o->alternatives_max : (uint32_t)n;
            uint32_t choice = ctx->taken < ctx->prefix ? ctx->choice[ctx->taken] : 0;
            assert(choice < count); /* a prefix replays the run that produced it exactly */
            ctx->choice[ctx->taken] = (uint8_t)choice;
            ctx->alternatives[ctx->taken] = (uint8_t)count;
            ctx->taken++;
            ctx->faults_taken += choice != 0;
            value = sim_mc_alternative(choice, count, n);
        }
    } else if ((o->seeded_mask >> concern) & 1u) {
        value = drawn;
    }
    sim_decisions_push(
        &ctx->trace, (struct sim_decision){ .n = n, .value = value, .concern = (uint8_t)concern });
    return value;
}

/* ---- fingerprints ---- */

static uint64_t sim_mc_event_hash(const struct sim_world *w, const struct sim_event *e)
{
    uint64_t words[4] = { e->kind, e->node, e->time_us - w->queue.now_us, 0 };
    const struct sim_node *node = e->node < SIM_NODES_MAX ? &w->nodes[e->node] : NULL;
    switch ((enum sim_event_kind)e->kind) {
    case SIM_EV_TICK:
    case SIM_EV_SYNC_DONE:
        words[3] = node->up && e->incarnation == node->incarnation;
        break;
    case SIM_EV_DELIVER: {
        const struct sim_net_slot *slot = &w->net.slots[e->arg];
        uint64_t head = ((uint64_t)slot->from << 32) | ((uint64_t)slot->to << 16) | slot->corrupted;
        words[3] = hash_fold_bytes(head, slot->bytes, slot->len);
        break;
    }
    case SIM_EV_REQUEST: {
        uint32_t client = (uint32_t)(e->arg >> 48);
        words[3] = ((uint64_t)client << 1) | ((e->arg & 0xffffffffffffull) ==
                                              (w->clients[client].op_seq & 0xffffffffffffull));
        break;
    }
    case SIM_EV_REPLY: {
        const struct sim_client *c = &w->clients[e->node];
        const struct sim_reply *reply = &c->mailbox[e->arg >> 48];
        uint64_t op_seq = e->arg & 0xffffffffffffull;
        uint64_t live = reply->op_seq == op_seq && op_seq == (c->op_seq & 0xffffffffffffull);
        uint64_t head =
            ((uint64_t)reply->kind << 40) | ((uint64_t)reply->hint << 8) | reply->status;
        words[3] = live ? hash_fold_bytes(head, reply->value, reply->value_len) : 0;
        break;
    }
    case SIM_EV_CLIENT_WAKE:
        words[3] = e->arg == w->clients[e->node].wake_generation;
        break;
    case SIM_EV_CLIENT_TIMEOUT: {
        const struct sim_client *c = &w->clients[e->node];
        words[3] = (e->arg >> 16) == (c->op_seq & 0xffffffffffffull) &&
                   (e->arg & 0xffffu) == (c->attempt & 0xffffu);
        break;
    }
    case SIM_EV_FAULT_END: {
        const struct sim_active_fault *f = &w->faults[e->arg & 0xffffu];
        int live = f->used && f->generation == (uint32_t)(e->arg >> 16);
        words[3] = live ? ((uint64_t)f->kind << 32 | f->node) + 1 : 0;
        break;
    }
    default:
        words[3] = e->arg; /* a fault kind, a scheduled fault's index, or nothing */
        break;
    }
    return hash_bytes(words, sizeof(words), 0x6d63u);
}

static uint64_t sim_mc_fingerprint(const struct sim_world *w)
{
    assert(w->node_slots <= SIM_NODES_MAX);
    assert(w->scenario.clients <= SIM_CLIENTS_MAX);
    uint64_t h = hash_fold_u64(0x666c6f77u, (uint64_t)w->liveness_phase);
    h = hash_fold_u64(h, sim_membership_fingerprint(w)); /* changes in progress, transfers */
    for (uint32_t i = 0; i < w->node_slots; i++) {
        const struct sim_node *n = &w->nodes[i];
        h = hash_fold_u64(h, (uint64_t)n->up | (uint64_t)n->paused << 1 | (uint64_t)n->dead << 2 |
                                 (uint64_t)n->member << 3 | (uint64_t)n->reads.count << 8);
        if (n->up && n->replica != NULL) {
            h = hash_fold_u64(h, raft_state_hash(replica_raft(n->replica)));
            h = hash_fold_u64(h, kv_hash(replica_kv(n->replica)));
            for (uint32_t k = 0; k < n->deferred_count; k++) { /* FIFO: order matters */
                const struct sim_net_slot *slot = &w->net.slots[n->deferred[k]];
                h = hash_fold_bytes(hash_fold_u64(h, slot->from), slot->bytes, slot->len);
            }
        } else {
            const struct sim_check_node *c = &w->checker.nodes[i];
            uint64_t durable[3] = { c->durable_term, c->durable_vote, c->durable_commit };
            h = hash_fold_bytes(h, durable, sizeof(durable));
        }
    }
    for (uint32_t a = 0; a < w->node_slots; a++) {
        for (uint32_t b = 0; b < w->node_slots; b++) {
            const struct sim_net_link *link = &w->net.links[a][b];
            uint64_t clog = link->clogged_until_us > w->queue.now_us
                                ? link->clogged_until_us - w->queue.now_us
                                : 0;
            h = hash_fold_u64(h, (clog << 1) | link->blocked);
        }
    }
    for (uint32_t i = 0; i < w->scenario.clients; i++) {
        const struct sim_client *c = &w->clients[i];
        uint64_t word = (uint64_t)c->state | (uint64_t)c->registering << 2 |
                        (uint64_t)(c->session != 0) << 3 | (uint64_t)c->target << 8 |
                        (uint64_t)c->op << 16 | (uint64_t)c->key << 24;
        h = hash_fold_u64(h, word);
    }
    uint64_t pending = 0; /* a multiset: the sum of the events' hashes */
    for (uint32_t i = 0; i < w->queue.count; i++) {
        pending += sim_mc_event_hash(w, &w->queue.heap[i]);
    }
    for (uint32_t i = 0; i < w->queue.ready_count; i++) {
        pending += sim_mc_event_hash(w, &w->queue.ready[i]);
    }
    h = hash_fold_u64(h, pending);
    return h == 0 ? 1 : h;
}

/* After every event: fingerprint states past the previous run's path; prune at explored ones. */
static int sim_mc_observe(void *arg, const struct sim_world *w)
{
    struct sim_mc_ctx *ctx = arg;
    assert(ctx != NULL);
    assert(ctx->faults_taken <= ctx->fault_bound);
    const struct sim_mc_options *o = ctx->options;
    struct sim_mc_result *r = ctx->result;
    r->events++;
    if (ctx->taken < ctx->prefix || w->checker.violated) {
        return 0; /* still re-executing the path that led here */
    }
    r->states++;
    uint64_t key = sim_mc_fingerprint(w);
    uint32_t depth_left = o->depth_max - (ctx->taken < o->depth_max ? ctx->taken : o->depth_max);
    uint32_t faults_left = ctx->fault_bound - ctx->faults_taken;
    struct sim_mc_table *t = &ctx->table;
    uint64_t slot = sim_mc_table_slot(t, key);
    if (t->keys[slot] == key) {
        int explored = t->depth_left[slot] >= depth_left && t->faults_left[slot] >= faults_left;
        if (explored && o->prune) {
            ctx->pruned = 1;
            return 1;
        }
        if (depth_left >= t->depth_left[slot] && faults_left >= t->faults_left[slot]) {
            t->depth_left[slot] = depth_left; /* explored from here with more budget */
            t->faults_left[slot] = faults_left;
        }
    } else {
        if (t->count >= o->states_max) {
            ctx->stop = 1;
            return 1;
        }
        t->keys[slot] = key;
        t->depth_left[slot] = depth_left;
        t->faults_left[slot] = faults_left;
        t->count++;
    }
    uint64_t events_max = o->run_events_max != 0 ? o->run_events_max : SIM_MC_RUN_EVENTS_DEFAULT;
    if (w->events >= events_max) {
        ctx->cut = 1;
        return 1;
    }
    return 0;
}

/* ---- the search ---- */

/* Runs the current path. Returns 0, or -1 if the run could not be carried out. */
static int sim_mc_execute(struct sim_mc_ctx *ctx)
{
    struct sim_mc_result *r = ctx->result;
    ctx->taken = 0;
    ctx->faults_taken = 0;
    sim_decisions_clear(&ctx->trace);
    ctx->pruned = 0;
    ctx->cut = 0;
    sim_run(&ctx->run_options, &ctx->run);
    r->runs++;
    r->runs_pruned += (uint64_t)ctx->pruned;
    r->runs_cut += (uint64_t)ctx->cut;
    r->fingerprints = ctx->table.count;
    if (ctx->run.events > r->events_max_run) {
        r->events_max_run = ctx->run.events;
    }
    if (ctx->taken > r->depth_reached) {
        r->depth_reached = ctx->taken;
    }
    if (ctx->run.verdict == REPORT_ERROR || ctx->trace.full) {
        snprintf(r->stop_reason, sizeof(r->stop_reason), "a run failed: %.100s",
                 ctx->trace.full ? "too many decisions" : ctx->run.detail);
        return -1;
    }
    assert(ctx->taken >= ctx->prefix);
    return 0;
}

/* Advances the path to the next one in the bounded tree: the deepest branching decision with an
 * untried alternative that the fault bound allows. Returns 0, or -1 when the tree is done. */
static int sim_mc_backtrack(struct sim_mc_ctx *ctx)
{
    uint32_t taken = ctx->taken < ctx->options->depth_max ? ctx->taken : ctx->options->depth_max;
    uint32_t *faults_before = ctx->faults_before;
    faults_before[0] = 0;
    for (uint32_t i = 0; i < taken; i++) {
        faults_before[i + 1] = faults_before[i] + (ctx->choice[i] != 0);
    }
    for (uint32_t i = taken; i > 0; i--) {
        uint32_t at = i - 1;
        if (ctx->choice[at] + 1u < ctx->alternatives[at] &&
            faults_before[at] + 1 <= ctx->fault_bound) {
            ctx->choice[at]++;
            ctx->prefix = at + 1;
            return 0;
        }
    }
    return -1;
}

static int sim_mc_budget_left(struct sim_mc_ctx *ctx)
{
    const struct sim_mc_options *o = ctx->options;
    struct sim_mc_result *r = ctx->result;
    double now = sim_mc_now();
    if (o->progress != NULL && now - ctx->progress_at >= SIM_MC_PROGRESS_SECONDS) {
        ctx->progress_at = now;
        fprintf(o->progress,
                "check       %.0f s: fault bound %u, %" PRIu64 " runs (%" PRIu64
                " pruned), %" PRIu64 " distinct states\n",
                now - ctx->started, ctx->fault_bound, r->runs, r->runs_pruned, r->fingerprints);
        fflush(o->progress);
    }
    if (ctx->stop) {
        snprintf(r->stop_reason, sizeof(r->stop_reason), "%" PRIu64 " distinct states (max-states)",
                 o->states_max);
        return 0;
    }
    if (o->runs_max != 0 && r->runs >= o->runs_max) {
        snprintf(r->stop_reason, sizeof(r->stop_reason), "%" PRIu64 " runs (max-runs)",
                 o->runs_max);
        return 0;
    }
    if (o->time_budget_seconds > 0 && now - ctx->started >= o->time_budget_seconds) {
        snprintf(r->stop_reason, sizeof(r->stop_reason), "the time budget of %.0f s",
                 o->time_budget_seconds);
        return 0;
    }
    return 1;
}

/* Keeps the violating run's report and decisions. Returns 0, or -1 when out of memory. */
static int sim_mc_keep_violation(struct sim_mc_ctx *ctx)
{
    struct sim_mc_result *r = ctx->result;
    r->violated = 1;
    r->violation = ctx->run;
    r->path_faults = ctx->faults_taken;
    r->path = malloc((ctx->trace.count > 0 ? ctx->trace.count : 1) * sizeof(r->path[0]));
    if (r->path == NULL) {
        snprintf(r->stop_reason, sizeof(r->stop_reason), "out of memory");
        return -1;
    }
    memcpy(r->path, ctx->trace.items, ctx->trace.count * sizeof(r->path[0]));
    r->path_count = ctx->trace.count;
    return 0;
}

/* Explores every path with at most `bound` non-calm choices. Returns 1 when done, 0 when stopped
 * (a violation or a budget), -1 on error. */
static int sim_mc_round(struct sim_mc_ctx *ctx, uint32_t bound)
{
    struct sim_mc_result *r = ctx->result;
    ctx->fault_bound = bound;
    ctx->prefix = 0;
    for (;;) {
        if (!sim_mc_budget_left(ctx)) {
            r->stopped = 1;
            return 0;
        }
        if (sim_mc_execute(ctx) != 0) {
            return -1;
        }
        if (ctx->run.verdict == REPORT_VIOLATION) {
            return sim_mc_keep_violation(ctx) == 0 ? 0 : -1;
        }
        if (ctx->stop) {
            continue; /* reported by the budget check */
        }
        if (sim_mc_backtrack(ctx) != 0) {
            return 1;
        }
    }
}

static void sim_mc_options_check(const struct sim_mc_options *o)
{
    assert(o->scenario != NULL);
    assert(o->alternatives_max >= 2);
    assert(o->alternatives_max <= SIM_MC_ALTERNATIVES_MAX);
    assert(o->depth_max >= 1);
    assert(o->depth_max <= SIM_MC_DEPTH_MAX);
    assert(o->faults_max <= o->depth_max);
    assert(o->states_max >= 1);
    assert(o->states_max <= SIM_MC_STATES_MAX);
}

int sim_mc_check(const struct sim_mc_options *options, struct sim_mc_result *result)
{
    assert(options != NULL);
    assert(result != NULL);
    sim_mc_options_check(options);
    memset(result, 0, sizeof(*result));
    struct sim_mc_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL || sim_mc_table_init(&ctx->table, options->states_max) != 0) {
        snprintf(result->stop_reason, sizeof(result->stop_reason), "out of memory");
        if (ctx != NULL) {
            sim_mc_table_free(&ctx->table);
        }
        free(ctx);
        return -1;
    }
    ctx->options = options;
    ctx->result = result;
    ctx->started = sim_mc_now();
    ctx->progress_at = ctx->started;
    ctx->strategy = (struct sim_chooser_strategy){ .choose = sim_mc_choose, .ctx = ctx };
    ctx->run_options = (struct sim_run_options){
        .scenario = options->scenario,
        .seed = options->seed,
        .raft_test_bugs = options->raft_test_bugs,
        .sim_bugs = options->sim_bugs,
        .strategy = &ctx->strategy,
        .observe = sim_mc_observe,
        .observe_ctx = ctx,
    };
    int rc = 0;
    for (uint32_t bound = 0; bound <= options->faults_max; bound++) {
        rc = sim_mc_round(ctx, bound);
        if (rc <= 0) {
            break;
        }
        result->bounds_completed = bound + 1;
        if (options->progress != NULL) {
            fprintf(options->progress,
                    "check       fault bound %u explored: %" PRIu64 " runs (%" PRIu64
                    " pruned), %" PRIu64 " distinct states\n",
                    bound, result->runs, result->runs_pruned, result->fingerprints);
        }
    }
    result->complete = rc == 1;
    result->wall_seconds = sim_mc_now() - ctx->started;
    sim_decisions_free(&ctx->trace);
    sim_mc_table_free(&ctx->table);
    free(ctx);
    return rc < 0 ? -1 : 0;
}

void sim_mc_result_free(struct sim_mc_result *result)
{
    assert(result != NULL);
    free(result->path);
    result->path = NULL;
    result->path_count = 0;
}
