/* The shrinker: lenient re-runs of edited decision sequences, accepted only when smaller. */
#include "sim/shrink.h"

#include "sim/world.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The decisions one run consumed, in order. */
/* How a run reads its input. */
enum sim_shrink_read {
    SIM_SHRINK_SEEDED,     /* the seed's own draws: the original run of a seed */
    SIM_SHRINK_POSITIONAL, /* decision i takes input[i] (lenient replay): a schedule file */
    SIM_SHRINK_BY_CONCERN, /* the k-th decision of a concern takes the k-th input entry of that
                              concern: edits to one concern do not shift the others' values */
};

struct sim_shrink_ctx {
    const struct sim_shrink_options *options;
    struct sim_shrink_result *result;
    struct sim_run_options run_options;
    struct sim_chooser_strategy strategy;

    /* The run in progress: where its decisions come from, what it consumed. */
    enum sim_shrink_read read;
    const struct sim_decision *input;
    size_t input_count;
    size_t cursor[SIM_CONCERN_COUNT]; /* SIM_SHRINK_BY_CONCERN: next input entry to look at */
    struct sim_decisions trace;       /* the decisions the current run consumed */
    uint32_t nodes[2];                /* the current run's violation nodes */
    uint64_t events_max;              /* a candidate running longer is cut off (and so rejected) */
    struct report_run run;

    /* The smallest failing sequence so far: trimmed after its last nonzero decision. */
    struct sim_decision *best; /* owned */
    size_t best_count;
    uint64_t best_non_calm;
    struct sim_shrink_size best_size; /* the order's keys of the best */
    struct sim_decision *work;        /* owned scratch of best_capacity entries */
    size_t *positions;                /* owned scratch of best_capacity entries */
    size_t best_capacity;
    size_t shown_count; /* the size last printed as progress */
    uint64_t shown_non_calm;

    double started;
    int failed;     /* a run could not be carried out */
    int structural; /* accept only fewer faults, non-calm decisions or decisions */
};

static double sim_shrink_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The next input value for a decision of `concern`, or 0 (calm) when the input has none. */
static uint64_t sim_shrink_input(struct sim_shrink_ctx *ctx, enum sim_concern concern)
{
    if (ctx->read == SIM_SHRINK_POSITIONAL) {
        size_t position = ctx->trace.count;
        return position < ctx->input_count ? ctx->input[position].value : 0;
    }
    size_t *cursor = &ctx->cursor[concern];
    while (*cursor < ctx->input_count && ctx->input[*cursor].concern != concern) {
        (*cursor)++;
    }
    if (*cursor == ctx->input_count) {
        return 0;
    }
    return ctx->input[(*cursor)++].value;
}

/* The strategy: the input's value, clamped into the range asked for (lenient replay), else 0. */
static uint64_t sim_shrink_choose(void *arg, enum sim_concern concern, uint64_t n, uint64_t drawn)
{
    struct sim_shrink_ctx *ctx = arg;
    uint64_t value = drawn;
    if (ctx->read != SIM_SHRINK_SEEDED) {
        value = sim_shrink_input(ctx, concern);
        if (n != 0 && value >= n) {
            value = n - 1;
        }
    }
    assert(n == 0 || value < n);
    sim_decisions_push(
        &ctx->trace, (struct sim_decision){ .n = n, .value = value, .concern = (uint8_t)concern });
    return value;
}

static int sim_shrink_observe(void *arg, const struct sim_world *world)
{
    struct sim_shrink_ctx *ctx = arg;
    if (world->checker.violated) {
        ctx->nodes[0] = world->checker.violation_nodes[0];
        ctx->nodes[1] = world->checker.violation_nodes[1];
        return 0;
    }
    return world->events > ctx->events_max;
}

void sim_shrink_measure(const struct sim_decision *decisions, size_t count, uint32_t keep_mask,
                        struct sim_shrink_size *size)
{
    assert(decisions != NULL || count == 0);
    memset(size, 0, sizeof(*size));
    for (size_t i = 0; i < count; i++) {
        if (decisions[i].value != 0) {
            size->non_calm += !((keep_mask >> decisions[i].concern) & 1u);
            size->decisions = i + 1;
        }
    }
}

/* A concern the passes leave alone. */
static int sim_shrink_kept(const struct sim_shrink_ctx *ctx, int concern)
{
    return (int)((ctx->options->keep_mask >> concern) & 1u);
}

/* A decision the passes may change: not of a kept concern. */
static int sim_shrink_editable(const struct sim_shrink_ctx *ctx, const struct sim_decision *d)
{
    return !((ctx->options->keep_mask >> d->concern) & 1u);
}

const char *const sim_shrink_fault_counters[SIM_SHRINK_FAULT_COUNTERS] = {
    "crash",          "partition",     "pause",       "clog",          "net.dropped",
    "net.duplicated", "net.corrupted", "disk.errors", "disk.bit_flips"
};

static void sim_shrink_size_of_run(const struct report_run *run, struct sim_shrink_size *size)
{
    size->events = run->events;
    size->virtual_time_us = run->virtual_time_us;
    size->faults = 0;
    for (size_t i = 0; i < SIM_SHRINK_FAULT_COUNTERS; i++) {
        size->faults += report_run_counter(run, sim_shrink_fault_counters[i]);
    }
}

/* Runs one sequence (or the seed's own run); the consumed decisions land in ctx->trace. Returns
 * 1 if it failed the same way as the original, 0 if not, -1 if it could not be carried out. */
static int sim_shrink_run(struct sim_shrink_ctx *ctx, const struct sim_decision *input,
                          size_t input_count)
{
    assert(input != NULL || input_count == 0);
    assert(ctx->read == SIM_SHRINK_BY_CONCERN || ctx->result->runs == 0);
    ctx->input = input;
    ctx->input_count = input_count;
    memset(ctx->cursor, 0, sizeof(ctx->cursor));
    sim_decisions_clear(&ctx->trace);
    ctx->nodes[0] = 0;
    ctx->nodes[1] = 0;
    ctx->result->runs++;
    sim_run(&ctx->run_options, &ctx->run);
    if (ctx->trace.full) {
        snprintf(ctx->run.detail, sizeof(ctx->run.detail), "out of memory for a run's decisions");
        return -1;
    }
    if (ctx->run.verdict != REPORT_VIOLATION) {
        return 0;
    }
    if (strcmp(ctx->run.invariant, ctx->result->invariant) != 0) {
        return 0;
    }
    if (ctx->options->same_nodes &&
        (ctx->nodes[0] != ctx->result->nodes[0] || ctx->nodes[1] != ctx->result->nodes[1])) {
        return 0;
    }
    return 1;
}

/* The order a step must decrease: faults injected, then non-calm decisions, then the shortlex
 * order on the trimmed sequences (shorter, then smaller values). < 0 if a is smaller. */
static int sim_shrink_compare(const struct sim_decision *a, const struct sim_shrink_size *a_size,
                              const struct sim_decision *b, const struct sim_shrink_size *b_size)
{
    if (a_size->faults != b_size->faults) {
        return a_size->faults < b_size->faults ? -1 : 1;
    }
    if (a_size->non_calm != b_size->non_calm) {
        return a_size->non_calm < b_size->non_calm ? -1 : 1;
    }
    if (a_size->decisions != b_size->decisions) {
        return a_size->decisions < b_size->decisions ? -1 : 1;
    }
    for (uint64_t i = 0; i < a_size->decisions; i++) {
        if (a[i].value != b[i].value) {
            return a[i].value < b[i].value ? -1 : 1;
        }
    }
    return 0;
}

/* Makes the current trace (trimmed) the best. Returns 0, or -1 when out of memory. */
static int sim_shrink_adopt(struct sim_shrink_ctx *ctx, const struct sim_shrink_size *size)
{
    size_t count = (size_t)size->decisions;
    assert(count <= ctx->trace.count);
    assert(ctx->run.verdict == REPORT_VIOLATION);
    if (count > ctx->best_capacity) {
        size_t capacity = count * 2;
        struct sim_decision *best = malloc(capacity * sizeof(best[0]));
        struct sim_decision *work = malloc(capacity * sizeof(work[0]));
        size_t *positions = malloc(capacity * sizeof(positions[0]));
        if (best == NULL || work == NULL || positions == NULL) {
            free(best);
            free(work);
            free(positions);
            return -1;
        }
        free(ctx->best);
        free(ctx->work);
        free(ctx->positions);
        ctx->best = best;
        ctx->work = work;
        ctx->positions = positions;
        ctx->best_capacity = capacity;
    }
    if (count > 0) {
        memcpy(ctx->best, ctx->trace.items, count * sizeof(ctx->best[0]));
    }
    ctx->best_count = count;
    ctx->best_non_calm = size->non_calm;
    ctx->best_size = *size;
    ctx->result->final_run = ctx->run;
    ctx->events_max = 2 * ctx->run.events + SIM_SHRINK_EVENTS_SLACK;
    return 0;
}

static int sim_shrink_budget_left(struct sim_shrink_ctx *ctx)
{
    const struct sim_shrink_options *o = ctx->options;
    uint64_t runs_max = o->runs_max != 0 ? o->runs_max : SIM_SHRINK_RUNS_DEFAULT;
    if (ctx->failed || ctx->result->runs >= runs_max ||
        (o->time_budget_seconds > 0 && sim_shrink_now() - ctx->started >= o->time_budget_seconds)) {
        ctx->result->budget_reached = !ctx->failed;
        return 0;
    }
    return 1;
}

/* Tries `count` decisions of ctx->work: 1 if accepted (now the best), else 0. */
static int sim_shrink_try(struct sim_shrink_ctx *ctx, size_t count, const char *pass)
{
    if (!sim_shrink_budget_left(ctx)) {
        return 0;
    }
    int rc = sim_shrink_run(ctx, ctx->work, count);
    if (rc < 0) {
        ctx->failed = 1;
        return 0;
    }
    if (rc == 0) {
        return 0;
    }
    struct sim_shrink_size size;
    sim_shrink_measure(ctx->trace.items, ctx->trace.count, ctx->options->keep_mask, &size);
    sim_shrink_size_of_run(&ctx->run, &size);
    if (sim_shrink_compare(ctx->trace.items, &size, ctx->best, &ctx->best_size) >= 0) {
        return 0;
    }
    if (ctx->structural && size.faults == ctx->best_size.faults &&
        size.non_calm == ctx->best_size.non_calm && size.decisions == ctx->best_size.decisions) {
        return 0; /* only smaller values: not what this pass is after */
    }
    if (sim_shrink_adopt(ctx, &size) != 0) {
        snprintf(ctx->run.detail, sizeof(ctx->run.detail), "out of memory while shrinking");
        ctx->failed = 1;
        return 0;
    }
    ctx->result->accepted++;
    if (ctx->options->progress != NULL &&
        (ctx->best_count != ctx->shown_count || ctx->best_non_calm != ctx->shown_non_calm)) {
        ctx->shown_count = ctx->best_count;
        ctx->shown_non_calm = ctx->best_non_calm;
        fprintf(ctx->options->progress,
                "shrink      run %" PRIu64 " (%s): %zu decisions, %" PRIu64 " non-calm, %" PRIu64
                " events\n",
                ctx->result->runs, pass, ctx->best_count, ctx->best_non_calm, ctx->run.events);
    }
    return 1;
}

/* Copies the best into the scratch buffer (to edit it). */
static void sim_shrink_work_from_best(struct sim_shrink_ctx *ctx)
{
    if (ctx->best_count > 0) {
        memcpy(ctx->work, ctx->best, ctx->best_count * sizeof(ctx->work[0]));
    }
}

/* Pass 1: every decision of one concern to 0, concern by concern. */
static int sim_shrink_pass_concerns(struct sim_shrink_ctx *ctx)
{
    int accepted = 0;
    for (int concern = 0; concern < SIM_CONCERN_COUNT && sim_shrink_budget_left(ctx); concern++) {
        if (sim_shrink_kept(ctx, concern)) {
            continue;
        }
        sim_shrink_work_from_best(ctx);
        size_t changed = 0;
        for (size_t i = 0; i < ctx->best_count; i++) {
            if (ctx->work[i].concern == concern && ctx->work[i].value != 0) {
                ctx->work[i].value = 0;
                changed++;
            }
        }
        if (changed > 0) {
            accepted |= sim_shrink_try(ctx, ctx->best_count, sim_concern_name(concern));
        }
    }
    return accepted;
}

/* Pass 2: the shortest prefix that still fails with everything after it 0 (binary search). */
static int sim_shrink_pass_tail(struct sim_shrink_ctx *ctx)
{
    int accepted = 0;
    size_t low = 0; /* a prefix this short was not accepted (or is empty) */
    for (int step = 0; step < 64 && low + 1 < ctx->best_count && sim_shrink_budget_left(ctx);
         step++) {
        size_t middle = low + (ctx->best_count - low) / 2;
        sim_shrink_work_from_best(ctx);
        for (size_t i = middle; i < ctx->best_count; i++) {
            if (sim_shrink_editable(ctx, &ctx->work[i])) {
                ctx->work[i].value = 0;
            }
        }
        if (sim_shrink_try(ctx, ctx->best_count, "tail")) {
            accepted = 1;
        } else {
            low = middle;
        }
    }
    return accepted;
}

/* Pass 3: runs of `size` decisions to 0, from the back (ddmin on the calm value). */
static int sim_shrink_pass_chunks(struct sim_shrink_ctx *ctx, size_t size)
{
    assert(size >= 1);
    assert(ctx->read == SIM_SHRINK_BY_CONCERN);
    int accepted = 0;
    size_t end = ctx->best_count;
    while (end > 0 && sim_shrink_budget_left(ctx)) {
        if (end > ctx->best_count) {
            end = ctx->best_count;
        }
        size_t start = end > size ? end - size : 0;
        sim_shrink_work_from_best(ctx);
        int nonzero = 0;
        for (size_t i = start; i < end; i++) {
            if (sim_shrink_editable(ctx, &ctx->work[i])) {
                nonzero |= ctx->work[i].value != 0;
                ctx->work[i].value = 0;
            }
        }
        if (nonzero && sim_shrink_try(ctx, ctx->best_count, "chunks")) {
            accepted = 1;
        }
        end = start;
    }
    return accepted;
}

/* Positions of `concern`'s decisions in the best sequence, into ctx->positions; returns how
 * many. */
static size_t sim_shrink_positions(struct sim_shrink_ctx *ctx, int concern)
{
    size_t count = 0;
    for (size_t i = 0; i < ctx->best_count; i++) {
        if (ctx->best[i].concern == concern) {
            ctx->positions[count++] = i;
        }
    }
    return count;
}

/* Pass 3b: runs of `size` decisions of one concern to 0, from the back. */
static int sim_shrink_pass_concern_chunks(struct sim_shrink_ctx *ctx, int concern, size_t size)
{
    assert(size >= 1);
    assert(concern >= 0 && concern < SIM_CONCERN_COUNT);
    int accepted = 0;
    size_t end = sim_shrink_positions(ctx, concern); /* entries [.., end) are still to be tried */
    while (end > 0 && sim_shrink_budget_left(ctx)) {
        size_t count = sim_shrink_positions(ctx, concern);
        end = end < count ? end : count;
        size_t start = end > size ? end - size : 0;
        sim_shrink_work_from_best(ctx);
        int nonzero = 0;
        for (size_t k = start; k < end; k++) {
            nonzero |= ctx->work[ctx->positions[k]].value != 0;
            ctx->work[ctx->positions[k]].value = 0;
        }
        if (nonzero && sim_shrink_try(ctx, ctx->best_count, "concern chunks")) {
            accepted = 1;
        }
        end = start;
    }
    return accepted;
}

/* Pass 3c: removes `size` consecutive decisions of one concern (a whole crash: when, how long,
 * which node), so the later decisions of that concern move up and keep their values. */
static int sim_shrink_pass_delete(struct sim_shrink_ctx *ctx, int concern, size_t size)
{
    assert(size >= 1);
    assert(concern >= 0 && concern < SIM_CONCERN_COUNT);
    int accepted = 0;
    size_t end = sim_shrink_positions(ctx, concern);
    while (end >= size && size > 0 && sim_shrink_budget_left(ctx)) {
        size_t count = sim_shrink_positions(ctx, concern);
        end = end < count ? end : count;
        if (end < size) {
            break;
        }
        size_t first = ctx->positions[end - size];
        size_t last = ctx->positions[end - 1];
        size_t kept = 0;
        int nonzero = 0;
        for (size_t i = 0; i < ctx->best_count; i++) {
            if (i >= first && i <= last && ctx->best[i].concern == concern) {
                nonzero |= ctx->best[i].value != 0;
                continue;
            }
            ctx->work[kept++] = ctx->best[i];
        }
        if (nonzero && sim_shrink_try(ctx, kept, "delete")) {
            accepted = 1;
        }
        end--;
    }
    return accepted;
}

/* Concerns whose decisions come in small groups per fault (when, how long, whom). */
static const int sim_shrink_fault_concerns[] = {
    SIM_CONCERN_CRASH,     SIM_CONCERN_RESTART, SIM_CONCERN_PAUSE,
    SIM_CONCERN_PARTITION, SIM_CONCERN_CLOG,
};

static int sim_shrink_is_fault(int concern)
{
    for (size_t i = 0; i < sizeof(sim_shrink_fault_concerns) / sizeof(int); i++) {
        if (sim_shrink_fault_concerns[i] == concern) {
            return 1;
        }
    }
    return 0;
}

/* Pass 2b: each fault decision halved, up to a few times (a fault later or shorter, often one
 * fault less before the violation); kept only if the schedule gets structurally smaller. */
static int sim_shrink_pass_fault_values(struct sim_shrink_ctx *ctx)
{
    int accepted = 0;
    ctx->structural = 1;
    size_t i = ctx->best_count;
    while (i > 0 && sim_shrink_budget_left(ctx)) {
        i--;
        if (i >= ctx->best_count || !sim_shrink_editable(ctx, &ctx->best[i]) ||
            !sim_shrink_is_fault(ctx->best[i].concern)) {
            continue;
        }
        uint64_t value = ctx->best[i].value;
        for (uint32_t step = 0; step < SIM_SHRINK_FAULT_HALVINGS && value > 1; step++) {
            value /= 2;
            sim_shrink_work_from_best(ctx);
            ctx->work[i].value = value;
            if (sim_shrink_try(ctx, ctx->best_count, "fault values")) {
                accepted = 1;
                break;
            }
        }
    }
    ctx->structural = 0;
    return accepted;
}

/* Pass 4: each nonzero value toward 0, by binary search between a value that did not fail the
 * same way (low) and one that did (high). */
static int sim_shrink_pass_values(struct sim_shrink_ctx *ctx)
{
    int accepted = 0;
    size_t i = ctx->best_count;
    while (i > 0 && sim_shrink_budget_left(ctx)) {
        i--;
        if (i >= ctx->best_count || ctx->best[i].value == 0 ||
            !sim_shrink_editable(ctx, &ctx->best[i])) {
            continue;
        }
        uint64_t low = 0;
        uint64_t high = ctx->best[i].value;
        for (uint32_t step = 0; step < SIM_SHRINK_VALUE_STEPS_MAX && high - low > 1 &&
                                i < ctx->best_count && sim_shrink_budget_left(ctx);
             step++) {
            uint64_t middle = low + (high - low) / 2;
            sim_shrink_work_from_best(ctx);
            ctx->work[i].value = middle;
            if (sim_shrink_try(ctx, ctx->best_count, "values")) {
                accepted = 1;
                high = i < ctx->best_count ? ctx->best[i].value : 0;
                if (high > middle) {
                    break; /* the run took another path: move on */
                }
            } else {
                low = middle;
            }
        }
    }
    return accepted;
}

static void sim_shrink_pass_note(struct sim_shrink_ctx *ctx, const char *pass)
{
    if (ctx->options->progress != NULL) {
        ctx->shown_count = ctx->best_count;
        ctx->shown_non_calm = ctx->best_non_calm;
        fprintf(ctx->options->progress,
                "shrink      %-14s done after %" PRIu64 " runs: %zu decisions, %" PRIu64
                " non-calm\n",
                pass, ctx->result->runs, ctx->best_count, ctx->best_non_calm);
    }
}

/* The faults first: whole faults removed (delete), then a concern's decisions zeroed in runs
 * down to one at a time. */
static int sim_shrink_pass_faults(struct sim_shrink_ctx *ctx)
{
    int accepted = 0;
    for (size_t i = 0; i < sizeof(sim_shrink_fault_concerns) / sizeof(int); i++) {
        int concern = sim_shrink_fault_concerns[i];
        if (sim_shrink_kept(ctx, concern)) {
            continue;
        }
        for (size_t size = 3; size >= 1 && sim_shrink_budget_left(ctx); size--) {
            accepted |= sim_shrink_pass_delete(ctx, concern, size);
        }
        size_t count = sim_shrink_positions(ctx, concern);
        for (size_t size = count / 2; size >= 1 && sim_shrink_budget_left(ctx); size /= 2) {
            accepted |= sim_shrink_pass_concern_chunks(ctx, concern, size);
        }
    }
    return accepted;
}

static void sim_shrink_rounds(struct sim_shrink_ctx *ctx)
{
    for (uint32_t round = 0; round < SIM_SHRINK_ROUNDS_MAX && sim_shrink_budget_left(ctx);
         round++) {
        int accepted = sim_shrink_pass_concerns(ctx);
        sim_shrink_pass_note(ctx, "concern");
        accepted |= sim_shrink_pass_tail(ctx);
        sim_shrink_pass_note(ctx, "tail");
        size_t size = 1;
        while (size * 2 <= ctx->best_count / 2) {
            size *= 2;
        }
        for (; size >= 1 && sim_shrink_budget_left(ctx); size /= 2) {
            accepted |= sim_shrink_pass_chunks(ctx, size);
        }
        sim_shrink_pass_note(ctx, "chunks");
        for (int concern = 0; concern < SIM_CONCERN_COUNT; concern++) {
            if (sim_shrink_kept(ctx, concern)) {
                continue;
            }
            size_t count = sim_shrink_positions(ctx, concern);
            for (size = count / 2; size >= 2 && sim_shrink_budget_left(ctx); size /= 2) {
                accepted |= sim_shrink_pass_concern_chunks(ctx, concern, size);
            }
        }
        sim_shrink_pass_note(ctx, "concern chunks");
        accepted |= sim_shrink_pass_faults(ctx);
        sim_shrink_pass_note(ctx, "faults");
        if (accepted) {
            continue; /* the cheap structural passes still make progress: again, values later */
        }
        accepted = sim_shrink_pass_fault_values(ctx);
        sim_shrink_pass_note(ctx, "fault values");
        if (accepted) {
            continue;
        }
        accepted = sim_shrink_pass_values(ctx);
        sim_shrink_pass_note(ctx, "values");
        if (!accepted) {
            break; /* a fixed point: no pass makes it smaller */
        }
    }
}

/* The original run: the seed's own, or the given schedule replayed leniently. */
static int sim_shrink_original(struct sim_shrink_ctx *ctx)
{
    const struct sim_shrink_options *o = ctx->options;
    struct sim_shrink_result *r = ctx->result;
    ctx->read = o->initial == NULL ? SIM_SHRINK_SEEDED : SIM_SHRINK_POSITIONAL;
    ctx->events_max = UINT64_MAX;
    int rc = sim_shrink_run(ctx, o->initial, o->initial_count);
    ctx->read = SIM_SHRINK_BY_CONCERN;
    if (rc < 0 || ctx->run.verdict == REPORT_ERROR) {
        r->final_run = ctx->run;
        return -1;
    }
    r->final_run = ctx->run;
    if (ctx->run.verdict != REPORT_VIOLATION) {
        return 0;
    }
    r->original_run = ctx->run;
    r->reproduced = 1;
    snprintf(r->invariant, sizeof(r->invariant), "%s", ctx->run.invariant);
    r->nodes[0] = ctx->nodes[0];
    r->nodes[1] = ctx->nodes[1];
    struct sim_shrink_size size;
    sim_shrink_measure(ctx->trace.items, ctx->trace.count, ctx->options->keep_mask, &size);
    sim_shrink_size_of_run(&ctx->run, &size);
    r->before = size;
    r->before.decisions = ctx->trace.count; /* what the run consumed, zeros included */
    if (sim_shrink_adopt(ctx, &size) != 0) {
        snprintf(r->final_run.detail, sizeof(r->final_run.detail), "out of memory");
        return -1;
    }
    return 0;
}

int sim_shrink(const struct sim_shrink_options *options, struct sim_shrink_result *result)
{
    assert(options != NULL);
    assert(options->scenario != NULL);
    assert(result != NULL);
    memset(result, 0, sizeof(*result));
    struct sim_shrink_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        snprintf(result->final_run.detail, sizeof(result->final_run.detail), "out of memory");
        return -1;
    }
    ctx->options = options;
    ctx->result = result;
    ctx->started = sim_shrink_now();
    ctx->strategy = (struct sim_chooser_strategy){ .choose = sim_shrink_choose, .ctx = ctx };
    ctx->run_options = (struct sim_run_options){
        .scenario = options->scenario,
        .seed = options->seed,
        .raft_test_bugs = options->raft_test_bugs,
        .sim_bugs = options->sim_bugs,
        .strategy = &ctx->strategy,
        .observe = sim_shrink_observe,
        .observe_ctx = ctx,
    };
    int rc = sim_shrink_original(ctx);
    if (rc == 0 && result->reproduced) {
        sim_shrink_rounds(ctx);
        rc = ctx->failed ? -1 : 0;
        if (rc != 0) {
            result->final_run = ctx->run;
        }
    }
    if (rc == 0 && result->reproduced) {
        result->decisions = ctx->best;
        result->count = ctx->best_count;
        ctx->best = NULL;
        sim_shrink_measure(result->decisions, result->count, options->keep_mask, &result->after);
        sim_shrink_size_of_run(&result->final_run, &result->after);
    }
    result->wall_seconds = sim_shrink_now() - ctx->started;
    free(ctx->best);
    free(ctx->work);
    free(ctx->positions);
    sim_decisions_free(&ctx->trace);
    free(ctx);
    return rc;
}

void sim_shrink_result_free(struct sim_shrink_result *result)
{
    assert(result != NULL);
    free(result->decisions);
    result->decisions = NULL;
    result->count = 0;
}
