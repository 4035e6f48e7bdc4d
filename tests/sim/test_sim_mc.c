/* Tests for the model checker: it finds Figure 8 in a small configuration within a bounded
 * number of runs and states, finds nothing on the correct core in the same bounds, and its state
 * pruning prunes. */
#include "sim/mc.h"
#include "sim/world.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

/* The bounds `flowraft check` uses by default, on the shipped model-checking scenario. */
#define TEST_MC_ALTERNATIVES 11
#define TEST_MC_DEPTH        20
#define TEST_MC_FAULTS       2
#define TEST_MC_RUNS_MAX     1000   /* Figure 8 is found within this many runs */
#define TEST_MC_STATES_MAX   100000 /* ... and this many distinct states */

static struct sim_scenario scenario;
static struct sim_mc_result result;
static struct sim_mc_result other;
static struct report_run run;

static void load(const char *relative)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", FLOWRAFT_SOURCE_DIR, relative);
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_load(path, &scenario, error, sizeof(error)), 0, "%s", error);
}

static struct sim_mc_options options(uint32_t raft_bugs)
{
    struct sim_mc_options o = {
        .scenario = &scenario,
        .seed = 1,
        .raft_test_bugs = raft_bugs,
        .branch_mask = (1u << SIM_CONCERN_NET_DROP) | (1u << SIM_CONCERN_CRASH),
        .seeded_mask = (1u << SIM_CONCERN_NODE_SEED) | (1u << SIM_CONCERN_CLOCK),
        .alternatives_max = TEST_MC_ALTERNATIVES,
        .depth_max = TEST_MC_DEPTH,
        .faults_max = TEST_MC_FAULTS,
        .states_max = TEST_MC_STATES_MAX,
        .runs_max = 20 * TEST_MC_RUNS_MAX, /* a safety net: the searches below end far sooner */
        .prune = 1,
    };
    return o;
}

/* Invariant: the model checker finds the Figure 8 bug (a leader committing a previous-term entry
 * by counting replicas, §5.4.2) within a bounded number of runs and states, on a path with at most
 * two faults, and the path's schedule replays the violation exactly. */
Test(sim_mc, finds_figure8_within_the_bound)
{
    load("scenarios/mc-figure8.ini");
    struct sim_mc_options o = options(RAFT_BUG_COMMIT_PREVIOUS_TERM);
    cr_assert_eq(sim_mc_check(&o, &result), 0, "%s", result.stop_reason);
    cr_assert(result.violated, "not found in %lu runs", (unsigned long)result.runs);
    static const char *const allowed[] = { "commit_current_term", "leader_completeness",
                                           "commit_safety", "state_machine_safety" };
    int known = 0;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        known |= strcmp(result.violation.invariant, allowed[i]) == 0;
    }
    cr_assert(known, "%s: %s", result.violation.invariant, result.violation.detail);
    cr_assert_leq(result.runs, TEST_MC_RUNS_MAX);
    cr_assert_leq(result.fingerprints, TEST_MC_STATES_MAX);
    cr_assert_leq(result.path_faults, TEST_MC_FAULTS);
    cr_assert_gt(result.path_faults, 0, "the calm run passes: the bug needs faults");

    char path[256];
    snprintf(path, sizeof(path), "/tmp/flowraft-mc-%ld.sched", (long)getpid());
    struct sim_schedule_header header = { .seed = 1 };
    char error[512];
    cr_assert_eq(sim_schedule_save(path, &header, NULL, result.path, result.path_count, error,
                                   sizeof(error)),
                 0, "%s", error);
    struct sim_run_options replay = { .scenario = &scenario,
                                      .replay_path = path,
                                      .raft_test_bugs = RAFT_BUG_COMMIT_PREVIOUS_TERM };
    sim_run(&replay, &run);
    cr_assert_eq(run.verdict, REPORT_VIOLATION, "%s", run.detail);
    cr_assert_str_eq(run.invariant, result.violation.invariant);
    cr_assert_eq(run.trace_hash, result.violation.trace_hash, "strict replay is exact");
    unlink(path);
    sim_mc_result_free(&result);
}

/* Invariant: on the correct core the same bounded tree holds no violation, and it is explored
 * completely (every fault bound) within the same budget. */
Test(sim_mc, the_correct_core_passes_the_same_bound)
{
    load("scenarios/mc-figure8.ini");
    struct sim_mc_options o = options(0);
    cr_assert_eq(sim_mc_check(&o, &result), 0, "%s", result.stop_reason);
    cr_assert_not(result.violated, "%s: %s", result.violation.invariant, result.violation.detail);
    cr_assert(result.complete, "stopped: %s", result.stop_reason);
    cr_assert_eq(result.bounds_completed, TEST_MC_FAULTS + 1);
    cr_assert_eq(result.depth_reached, TEST_MC_DEPTH, "the runs are deep enough to use the bound");
    sim_mc_result_free(&result);
}

/* Invariant: fingerprint pruning prunes: states repeat (fewer distinct fingerprints than states
 * fingerprinted), runs stop at explored states, and the same bounded tree costs fewer events
 * with pruning than without, with the same verdict. */
Test(sim_mc, fingerprint_pruning_prunes)
{
    load("scenarios/mc-figure8.ini");
    struct sim_mc_options o = options(0);
    o.depth_max = 8;
    cr_assert_eq(sim_mc_check(&o, &result), 0, "%s", result.stop_reason);
    cr_assert(result.complete);
    cr_assert_gt(result.runs_pruned, 0);
    cr_assert_lt(result.fingerprints, result.states);
    o.prune = 0;
    cr_assert_eq(sim_mc_check(&o, &other), 0, "%s", other.stop_reason);
    cr_assert(other.complete);
    cr_assert_not(other.violated);
    cr_assert_eq(other.runs_pruned, 0);
    cr_assert_lt(result.runs, other.runs, "pruned %lu runs vs %lu", (unsigned long)result.runs,
                 (unsigned long)other.runs);
    cr_assert_lt(result.events, other.events);
    sim_mc_result_free(&result);
    sim_mc_result_free(&other);
}

/* Invariant: the exploration is deterministic: the same bounds give the same counts. */
Test(sim_mc, exploration_is_deterministic)
{
    load("scenarios/mc-figure8.ini");
    struct sim_mc_options o = options(0);
    o.depth_max = 8;
    cr_assert_eq(sim_mc_check(&o, &result), 0);
    cr_assert_eq(sim_mc_check(&o, &other), 0);
    cr_assert_eq(result.runs, other.runs);
    cr_assert_eq(result.events, other.events);
    cr_assert_eq(result.fingerprints, other.fingerprints);
    cr_assert_eq(result.runs_pruned, other.runs_pruned);
}

/* Invariant: fault bound 0 is the calm run alone, and the search stops (incomplete, said so) at
 * its states bound. */
Test(sim_mc, bounds_are_kept)
{
    load("scenarios/mc-figure8.ini");
    struct sim_mc_options o = options(0);
    o.faults_max = 0;
    cr_assert_eq(sim_mc_check(&o, &result), 0);
    cr_assert_eq(result.runs, 1);
    cr_assert(result.complete);
    o.faults_max = 2;
    o.states_max = 500;
    cr_assert_eq(sim_mc_check(&o, &result), 0);
    cr_assert_not(result.complete);
    cr_assert(result.stopped);
    cr_assert_leq(result.fingerprints, 500);
    cr_assert(strstr(result.stop_reason, "max-states") != NULL, "%s", result.stop_reason);
}

/* Invariant: alternatives are every value when few, else evenly spaced from 0 (calm) to n - 1. */
Test(sim_mc, alternatives_span_the_range)
{
    cr_assert_eq(sim_mc_alternative(0, 2, 2), 0);
    cr_assert_eq(sim_mc_alternative(1, 2, 2), 1);
    cr_assert_eq(sim_mc_alternative(2, 3, 3), 2);
    cr_assert_eq(sim_mc_alternative(0, 11, 500000), 0);
    cr_assert_eq(sim_mc_alternative(10, 11, 500000), 499999);
    cr_assert_eq(sim_mc_alternative(5, 11, 500000), 249999);
    cr_assert_eq(sim_mc_alternative(1, 2, 0), UINT64_MAX, "n = 0 is the full 64-bit range");
    uint64_t previous = 0;
    for (uint32_t i = 1; i < 7; i++) {
        uint64_t value = sim_mc_alternative(i, 7, 1000);
        cr_assert_gt(value, previous, "increasing");
        previous = value;
    }
}
