/* The shrinker: turns a failing run into a minimal schedule that fails with the same invariant. */
#ifndef FLOWRAFT_SIM_SHRINK_H
#define FLOWRAFT_SIM_SHRINK_H

#include "reports/report.h"
#include "sim/chooser.h"
#include "sim/scenario.h"

#include <stdint.h>
#include <stdio.h>

/*
 * A run is its sequence of chooser decisions. The shrinker edits that sequence and re-runs it
 * under the rules of lenient replay (a value is clamped into the range asked for, the concern is
 * not checked, decisions past the end are 0, the calm choice), so whatever it keeps replays with
 * `flowraft replay --schedule FILE --lenient`. A candidate is accepted when its run fails with
 * the same invariant (and, if asked, the same nodes) AND the decisions that run consumed are
 * smaller, in this order: fewer non-calm (nonzero) decisions, then a shorter sequence up to its
 * last nonzero decision, then lexicographically smaller values (Hypothesis' shortlex order on the
 * choice sequence). Every accepted step makes the sequence strictly smaller, so shrinking ends;
 * the passes are a fixed sequence over a deterministic simulator, so the same input gives the
 * same output (unless the time budget, the only wall-clock input, cuts it short).
 *
 * Passes, repeated until a round accepts nothing or a budget runs out:
 *   1. concern     every decision of one concern to 0 (all crashes, all message delays...);
 *   2. tail        the shortest prefix that still fails, rest 0 (binary search);
 *   3. chunks      runs of 2^k decisions to 0, k from large to 0, back to front (ddmin);
 *   4. values      each remaining value toward 0 by binary search (bounded steps).
 * Fault arrival times are recorded so that 0 means "no further fault of this kind"
 * (sim_choose_sampled_calm_max), which is what lets the tail and chunk passes remove faults.
 */

#define SIM_SHRINK_RUNS_DEFAULT    2000u
#define SIM_SHRINK_VALUE_STEPS_MAX 24u /* binary-search steps per value */
#define SIM_SHRINK_FAULT_HALVINGS  6u  /* halvings tried per fault decision */
#define SIM_SHRINK_ROUNDS_MAX      16u
#define SIM_SHRINK_EVENTS_SLACK                                                                    \
    1000u /* a candidate that has not failed after 2x the best                                     \
              run's events + this is cut off (rejected) */

struct sim_shrink_options {
    const struct sim_scenario *scenario; /* borrowed */
    uint64_t seed;                       /* the seed of the original run (schedule header) */
    uint32_t raft_test_bugs;
    uint32_t sim_bugs;
    /* The failing run: a schedule's decisions (borrowed), or NULL to run `seed` itself. */
    const struct sim_decision *initial;
    size_t initial_count;
    int same_nodes;             /* also require the violation to name the same nodes */
    uint32_t keep_mask;         /* bit per enum sim_concern: decisions never edited and not
                                   counted as non-calm (node.seed and clock keep each node's own
                                   timeouts and clock phase; zeroed, all tick in lock step) */
    uint64_t runs_max;          /* simulations at most (0: SIM_SHRINK_RUNS_DEFAULT) */
    double time_budget_seconds; /* 0: none */
    FILE *progress;             /* one line per accepted step and per pass, or NULL */
};

/* What a schedule amounts to. */
struct sim_shrink_size {
    uint64_t decisions; /* decisions up to the last nonzero one (the schedule's length) */
    uint64_t non_calm;  /* nonzero decisions */
    uint64_t events;    /* events until the violation */
    uint64_t virtual_time_us;
    uint64_t faults; /* crashes (a node crashing on a failed write included), partitions,
                        pauses, clogs, drops, duplicates, corruptions, I/O errors, bit flips */
};

struct sim_shrink_result {
    int reproduced; /* the original run failed (else nothing was shrunk) */
    char invariant[REPORT_NAME_BYTES_MAX];
    uint32_t nodes[2]; /* the violation's nodes (1-based, 0 = none) */
    struct sim_shrink_size before;
    struct sim_shrink_size after;
    uint64_t runs;      /* simulations run */
    uint64_t accepted;  /* steps that made the schedule smaller */
    int budget_reached; /* runs_max or the time budget stopped it before a fixed point */
    double wall_seconds;
    /* The minimal schedule: exactly the decisions its run consumes, up to the last nonzero one
     * (so it replays strictly as well as leniently). Owned; sim_shrink_result_free. */
    struct sim_decision *decisions;
    size_t count;
    struct report_run original_run; /* the original failing run */
    struct report_run final_run;    /* the minimal schedule's run (the failing one) */
};

/* Reproduces the failure, then shrinks it. Returns 0 (result filled; result->reproduced says
 * whether there was a failure to shrink), or -1 when a run could not be carried out (out of
 * memory, a scenario error), with the reason in result->final_run.detail. */
int sim_shrink(const struct sim_shrink_options *options, struct sim_shrink_result *result);

/* The report counters summed into sim_shrink_size.faults. */
#define SIM_SHRINK_FAULT_COUNTERS 9
extern const char *const sim_shrink_fault_counters[SIM_SHRINK_FAULT_COUNTERS];

void sim_shrink_result_free(struct sim_shrink_result *result);

/* The size of a decision sequence (decisions and non_calm only; decisions of the concerns in
 * `keep_mask` are not counted as non-calm). */
void sim_shrink_measure(const struct sim_decision *decisions, size_t count, uint32_t keep_mask,
                        struct sim_shrink_size *size);

#endif
