/* Deliberately broken variants of the workflow plane: each must be caught, with the invariant it
 * breaks, within a bounded number of seeds of the chaos scenario. */
#include "sim/world.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

#define SEEDS_MAX 20

static struct sim_scenario scenario;
static struct report_run run;

static void load(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/scenarios/%s", FLOWRAFT_SOURCE_DIR, name);
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_load(path, &scenario, error, sizeof(error)), 0, "%s", error);
}

/* Runs seeds 1..SEEDS_MAX with `bugs` until one fails; asserts it failed on `invariant` and that
 * its reproduce command names the bug. Returns the seed. */
static uint64_t hunt(uint32_t bugs, const char *invariant, const char *bug_name)
{
    for (uint64_t seed = 1; seed <= SEEDS_MAX; seed++) {
        struct sim_run_options options = { .scenario = &scenario, .seed = seed, .sim_bugs = bugs };
        sim_run(&options, &run);
        cr_assert_neq(run.verdict, REPORT_ERROR, "seed %lu: %s", (unsigned long)seed, run.detail);
        if (run.verdict == REPORT_PASS) {
            continue;
        }
        cr_assert_str_eq(run.invariant, invariant, "caught as %s: %s", run.invariant, run.detail);
        char flag[64];
        snprintf(flag, sizeof(flag), "--bug %s", bug_name);
        cr_assert(strstr(run.repro, flag) != NULL, "%s", run.repro);
        return seed;
    }
    cr_assert_fail("--bug %s survived %d seeds", bug_name, SEEDS_MAX);
    return 0;
}

/* Invariant effect_once (G5): a worker that calls the side-effect API without the idempotency
 * key applies a retried task's effect twice. */
Test(sim_wf_bugs, ledger_bypass_is_caught_by_effect_once)
{
    load("wf-chaos.ini");
    uint64_t seed = hunt(SIM_BUG_WF_LEDGER_BYPASS, "effect_once", "wf-ledger-bypass");
    cr_assert(strstr(run.detail, "applied 2 times") != NULL, "%s", run.detail);
    cr_assert_leq(seed, 5);
}

/* Invariant execute_committed (fencing, S3): a leader that hands out an assignment when it
 * proposes the start, before the start commits, makes a worker run an attempt that may never
 * exist. */
Test(sim_wf_bugs, dispatch_before_commit_is_caught_by_execute_committed)
{
    load("wf-chaos.ini");
    uint64_t seed =
        hunt(SIM_BUG_WF_DISPATCH_UNCOMMITTED, "execute_committed", "wf-dispatch-uncommitted");
    cr_assert_leq(seed, 2);
}

/* Invariant committed_prefix (G2, G3): a follower that applies workflow commands when they are
 * appended holds a state that no committed prefix explains. */
Test(sim_wf_bugs, apply_before_commit_is_caught_by_committed_prefix)
{
    load("wf-chaos.ini");
    uint64_t seed = hunt(SIM_BUG_WF_APPLY_UNCOMMITTED, "committed_prefix", "wf-apply-uncommitted");
    cr_assert(strstr(run.detail, "not a prefix application of the committed log") != NULL ||
                  strstr(run.detail, "beyond the committed log") != NULL,
              "%s", run.detail);
    cr_assert_leq(seed, 2);
}

/* The healthy variant of the same seeds passes: the checks catch the bugs, not the scenario. */
Test(sim_wf_bugs, healthy_seeds_pass)
{
    load("wf-chaos.ini");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct sim_run_options options = { .scenario = &scenario, .seed = seed };
        sim_run(&options, &run);
        cr_assert_eq(run.verdict, REPORT_PASS, "seed %lu: %s: %s", (unsigned long)seed,
                     run.invariant, run.detail);
    }
}
