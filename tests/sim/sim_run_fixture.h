/* Shared by the simulator run tests of issue 6: load a scenario, run a seed, hunt for a failing
 * seed of a broken variant. One scenario and one report per test program. */
#ifndef FLOWRAFT_TESTS_SIM_RUN_FIXTURE_H
#define FLOWRAFT_TESTS_SIM_RUN_FIXTURE_H

#include "sim/world.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

static struct sim_scenario scenario;
static struct report_run run;

/* Loads a scenario file, relative to the source root. */
static inline void load(const char *relative)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", FLOWRAFT_SOURCE_DIR, relative);
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_load(path, &scenario, error, sizeof(error)), 0, "%s", error);
}

/* Parses a scenario from text. */
static inline void parse(const char *text)
{
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_parse_string("test.ini", text, &scenario, error, sizeof(error)), 0,
                 "%s", error);
}

static inline const struct report_run *run_seed(uint64_t seed, uint32_t raft_bugs)
{
    struct sim_run_options options = {
        .scenario = &scenario,
        .seed = seed,
        .raft_test_bugs = raft_bugs,
    };
    sim_run(&options, &run);
    return &run;
}

static inline uint64_t counter(const char *name)
{
    return report_run_counter(&run, name);
}

/* Runs seeds 1..max with core bugs until one fails; returns that run (never an error). */
static inline const struct report_run *hunt(uint32_t raft_bugs, uint64_t max)
{
    for (uint64_t seed = 1; seed <= max; seed++) {
        const struct report_run *r = run_seed(seed, raft_bugs);
        cr_assert_neq(r->verdict, REPORT_ERROR, "seed %lu: %s", (unsigned long)seed, r->detail);
        if (r->verdict != REPORT_PASS) {
            return r;
        }
    }
    cr_assert_fail("the broken variant survived %lu seeds", (unsigned long)max);
    return NULL;
}

/* Asserts that `r` failed with one of `allowed`. */
static inline void expect_invariant(const struct report_run *r, const char *const *allowed,
                                    size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(r->invariant, allowed[i]) == 0) {
            return;
        }
    }
    cr_assert_fail("caught as '%s', which is not the invariant this bug breaks: %s", r->invariant,
                   r->detail);
}

#endif
