/* Tests for the shrinker: failing runs of the known broken variants become much smaller schedules
 * that fail with the same invariant and replay exactly; shrinking is deterministic. */
#include "sim/shrink.h"
#include "sim/world.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

/* Enough to shrink each case far, small enough for CI under the sanitizers. */
#define TEST_SHRINK_RUNS 250

static struct sim_scenario scenario;
static struct report_run run;
static struct sim_shrink_result result;
static struct sim_shrink_result again;

static void load(const char *relative)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", FLOWRAFT_SOURCE_DIR, relative);
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_load(path, &scenario, error, sizeof(error)), 0, "%s", error);
}

/* The first seed in 1..max that fails with the bugs after at least `events_min` events (so
 * that there is something to shrink). */
static uint64_t failing_seed(uint32_t raft_bugs, uint32_t sim_bugs, uint64_t max,
                             uint64_t events_min)
{
    for (uint64_t seed = 1; seed <= max; seed++) {
        struct sim_run_options o = {
            .scenario = &scenario, .seed = seed, .raft_test_bugs = raft_bugs, .sim_bugs = sim_bugs
        };
        sim_run(&o, &run);
        if (run.verdict == REPORT_VIOLATION && run.events >= events_min) {
            return seed;
        }
    }
    cr_assert_fail("no seed in 1..%lu fails after %lu events", (unsigned long)max,
                   (unsigned long)events_min);
    return 0;
}

static void shrink(uint64_t seed, uint32_t raft_bugs, uint32_t sim_bugs,
                   struct sim_shrink_result *out)
{
    struct sim_shrink_options o = {
        .scenario = &scenario,
        .seed = seed,
        .raft_test_bugs = raft_bugs,
        .sim_bugs = sim_bugs,
        .runs_max = TEST_SHRINK_RUNS,
    };
    cr_assert_eq(sim_shrink(&o, out), 0, "%s", out->final_run.detail);
    cr_assert(out->reproduced, "the seed's failure reproduces under the shrinker's strategy");
}

static void expect_same_decisions(const struct sim_decision *a, const struct sim_decision *b,
                                  size_t count)
{
    for (size_t i = 0; i < count; i++) {
        cr_assert_eq(a[i].concern, b[i].concern, "decision %zu", i);
        cr_assert_eq(a[i].n, b[i].n, "decision %zu", i);
        cr_assert_eq(a[i].value, b[i].value, "decision %zu", i);
    }
}

static void temp_path(char *path, size_t size, const char *name)
{
    snprintf(path, size, "/tmp/flowraft-shrink-%ld-%s.sched", (long)getpid(), name);
}

/* Writes the result as a schedule and replays it (lenient, then strict) through the ordinary
 * replay path: both must fail with the same invariant and the same trace hash. */
static void expect_replays(const struct sim_shrink_result *r, uint64_t seed, uint32_t raft_bugs,
                           uint32_t sim_bugs, const char *name)
{
    char path[256];
    temp_path(path, sizeof(path), name);
    struct sim_schedule_header header = { .seed = seed };
    snprintf(header.scenario, sizeof(header.scenario), "%s", scenario.path);
    char error[512];
    cr_assert_eq(
        sim_schedule_save(path, &header, "test", r->decisions, r->count, error, sizeof(error)), 0,
        "%s", error);
    for (int lenient = 1; lenient >= 0; lenient--) {
        struct sim_run_options o = {
            .scenario = &scenario,
            .replay_path = path,
            .replay_lenient = lenient,
            .raft_test_bugs = raft_bugs,
            .sim_bugs = sim_bugs,
        };
        sim_run(&o, &run);
        cr_assert_eq(run.verdict, REPORT_VIOLATION, "%s replay: %s", lenient ? "lenient" : "strict",
                     run.detail);
        cr_assert_str_eq(run.invariant, r->invariant);
        cr_assert_eq(run.trace_hash, r->final_run.trace_hash,
                     "the replay is the shrinker's own run, exactly");
    }
    unlink(path);
}

/* Much smaller: at most a quarter of the non-calm decisions and fewer decisions, events and
 * faults, failing with the same invariant. */
static void expect_much_smaller(const struct sim_shrink_result *r)
{
    cr_assert_str_eq(r->final_run.invariant, r->invariant);
    cr_assert_leq(r->after.non_calm * 4, r->before.non_calm, "non-calm %lu -> %lu",
                  (unsigned long)r->before.non_calm, (unsigned long)r->after.non_calm);
    cr_assert_lt(r->after.decisions, r->before.decisions);
    cr_assert_lt(r->after.events, r->before.events, "events %lu -> %lu",
                 (unsigned long)r->before.events, (unsigned long)r->after.events);
    cr_assert_leq(r->after.faults, r->before.faults);
    cr_assert_leq(r->runs, TEST_SHRINK_RUNS, "the runs bound is kept");
}

/* Invariant: a Figure 8 failure (commit-previous-term) shrinks to a much smaller schedule with
 * fewer faults that still fails with the same invariant and replays exactly. */
Test(sim_shrink, commit_previous_term_shrinks_and_replays)
{
    load("tests/sim/scenarios/figure8.ini");
    uint64_t seed = failing_seed(RAFT_BUG_COMMIT_PREVIOUS_TERM, 0, 10, 0);
    shrink(seed, RAFT_BUG_COMMIT_PREVIOUS_TERM, 0, &result);
    expect_much_smaller(&result);
    cr_assert_lt(result.after.faults, result.before.faults, "faults the failure does not need go");
    expect_replays(&result, seed, RAFT_BUG_COMMIT_PREVIOUS_TERM, 0, "figure8");
    sim_shrink_result_free(&result);
}

/* Invariant: a double vote found under partitions, crashes and drops shrinks to a much smaller
 * schedule with few faults that still violates the same invariant and replays exactly. */
Test(sim_shrink, double_vote_shrinks_and_replays)
{
    load("tests/sim/scenarios/shrink-double-vote.ini");
    uint64_t seed = failing_seed(RAFT_BUG_DOUBLE_VOTE, 0, 60, 1000);
    shrink(seed, RAFT_BUG_DOUBLE_VOTE, 0, &result);
    expect_much_smaller(&result);
    cr_assert_gt(report_run_counter(&result.original_run, "partition"), 0);
    cr_assert_gt(report_run_counter(&result.original_run, "crash"), 0);
    cr_assert_leq(result.after.faults * 4, result.before.faults, "faults %lu -> %lu",
                  (unsigned long)result.before.faults, (unsigned long)result.after.faults);
    expect_replays(&result, seed, RAFT_BUG_DOUBLE_VOTE, 0, "double-vote");
    sim_shrink_result_free(&result);
}

/* Invariant: an ack-before-sync failure (slow disk, crashes, partitions) shrinks to a much
 * smaller schedule with fewer faults that fails the same way and replays exactly. */
Test(sim_shrink, ack_before_sync_shrinks_and_replays)
{
    load("tests/sim/scenarios/slow-disk-crashes.ini");
    uint64_t seed = failing_seed(0, SIM_BUG_ACK_BEFORE_SYNC, 30, 0);
    shrink(seed, 0, SIM_BUG_ACK_BEFORE_SYNC, &result);
    expect_much_smaller(&result);
    cr_assert_lt(result.after.faults, result.before.faults, "faults the failure does not need go");
    expect_replays(&result, seed, 0, SIM_BUG_ACK_BEFORE_SYNC, "ack-before-sync");
    sim_shrink_result_free(&result);
}

/* Invariant: shrinking is deterministic: the same input and bound give the same schedule. */
Test(sim_shrink, shrinking_is_deterministic)
{
    load("tests/sim/scenarios/figure8.ini");
    uint64_t seed = failing_seed(RAFT_BUG_COMMIT_PREVIOUS_TERM, 0, 10, 0);
    struct sim_shrink_options o = {
        .scenario = &scenario,
        .seed = seed,
        .raft_test_bugs = RAFT_BUG_COMMIT_PREVIOUS_TERM,
        .runs_max = 30,
    };
    cr_assert_eq(sim_shrink(&o, &result), 0);
    cr_assert_eq(sim_shrink(&o, &again), 0);
    cr_assert_eq(result.count, again.count);
    cr_assert_eq(result.runs, again.runs);
    cr_assert_eq(result.final_run.trace_hash, again.final_run.trace_hash);
    expect_same_decisions(result.decisions, again.decisions, result.count);
    sim_shrink_result_free(&result);
    sim_shrink_result_free(&again);
}

/* Invariant: starting from a recorded schedule gives the same original run as the seed, and the
 * shrunk schedule is never larger. */
Test(sim_shrink, shrinks_a_recorded_schedule)
{
    load("tests/sim/scenarios/figure8.ini");
    uint64_t seed = failing_seed(RAFT_BUG_COMMIT_PREVIOUS_TERM, 0, 10, 0);
    char path[256];
    temp_path(path, sizeof(path), "recorded");
    struct sim_run_options record = { .scenario = &scenario,
                                      .seed = seed,
                                      .record_path = path,
                                      .raft_test_bugs = RAFT_BUG_COMMIT_PREVIOUS_TERM };
    sim_run(&record, &run);
    cr_assert_eq(run.verdict, REPORT_VIOLATION);
    uint64_t recorded_hash = run.trace_hash;
    struct sim_schedule_header header;
    struct sim_decision *decisions = NULL;
    size_t count = 0;
    char error[512];
    cr_assert_eq(sim_schedule_load(path, &header, &decisions, &count, SIM_SCHEDULE_DECISIONS_MAX,
                                   error, sizeof(error)),
                 0, "%s", error);
    cr_assert_eq(header.seed, seed);
    cr_assert_eq(count, report_run_counter(&run, "decisions"), "every decision was loaded");
    struct sim_shrink_options o = {
        .scenario = &scenario,
        .seed = seed,
        .raft_test_bugs = RAFT_BUG_COMMIT_PREVIOUS_TERM,
        .initial = decisions,
        .initial_count = count,
        .runs_max = 40,
    };
    cr_assert_eq(sim_shrink(&o, &result), 0);
    cr_assert(result.reproduced);
    cr_assert_eq(result.original_run.trace_hash, recorded_hash, "the recorded run, exactly");
    cr_assert_leq(result.after.non_calm, result.before.non_calm);
    sim_shrink_result_free(&result);
    free(decisions);
    unlink(path);
}

/* Invariant: a run that passes is reported as such and nothing is shrunk. */
Test(sim_shrink, a_passing_run_is_not_shrunk)
{
    load("scenarios/smoke.ini");
    struct sim_shrink_options o = { .scenario = &scenario, .seed = 1, .runs_max = 10 };
    cr_assert_eq(sim_shrink(&o, &result), 0);
    cr_assert_not(result.reproduced);
    cr_assert_eq(result.runs, 1);
    cr_assert_null(result.decisions);
}

/* Invariant: the calm schedule is calm: a schedule with no decisions at all (every one 0)
 * injects no random fault through the whole faulty phase, even where the scenario's fault rates
 * are high, because the wait until the next fault is recorded so that 0 means "no further
 * fault". (Whether that run passes is another matter: with every node's PRNG seed 0 and every
 * clock phase 0, all nodes time out together.) */
Test(sim_shrink, an_empty_schedule_injects_no_random_faults)
{
    load("tests/sim/scenarios/slow-disk-crashes.ini");
    char path[256];
    temp_path(path, sizeof(path), "empty");
    struct sim_schedule_header header = { .seed = 1 };
    char error[512];
    cr_assert_eq(sim_schedule_save(path, &header, NULL, NULL, 0, error, sizeof(error)), 0);
    struct sim_run_options o = { .scenario = &scenario, .replay_path = path, .replay_lenient = 1 };
    sim_run(&o, &run);
    cr_assert_neq(run.verdict, REPORT_ERROR, "%s", run.detail);
    cr_assert_geq(run.virtual_time_us, scenario.duration_us, "the faulty phase ran to its end");
    static const char *const faults[] = { "crash", "partition", "pause", "clog", "net.dropped" };
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        cr_assert_eq(report_run_counter(&run, faults[i]), 0, "%s", faults[i]);
    }
    cr_assert_gt(report_run_counter(&run, "net.sent"), 0, "the run did work");
    unlink(path);
}

/* Invariant: a calm-max decision records max - value, so value 0 replays as the maximum; in PRNG
 * mode it returns the draw itself (seeded runs are unchanged). */
Test(sim_shrink, calm_max_decisions_record_the_distance_from_max)
{
    char path[256];
    temp_path(path, sizeof(path), "calm-max");
    struct sim_chooser chooser;
    sim_chooser_init_prng(&chooser, 7);
    struct sim_schedule_header header = { .seed = 7 };
    cr_assert_eq(sim_chooser_record(&chooser, path, &header), 0);
    cr_assert_eq(sim_choose_sampled_calm_max(&chooser, SIM_CONCERN_CRASH, 10, 110, 30), 30);
    cr_assert_eq(sim_choose_sampled_calm_max(&chooser, SIM_CONCERN_CRASH, 5, 5, 5), 5);
    cr_assert_eq(sim_chooser_deinit(&chooser), 0);
    struct sim_decision *decisions = NULL;
    size_t count = 0;
    char error[512];
    cr_assert_eq(sim_schedule_load(path, NULL, &decisions, &count, 16, error, sizeof(error)), 0,
                 "%s", error);
    cr_assert_eq(count, 1, "a certain choice is not recorded");
    cr_assert_eq(decisions[0].n, 101);
    cr_assert_eq(decisions[0].value, 80, "recorded as max - value");
    free(decisions);
    cr_assert_eq(sim_schedule_save(path, &header, NULL, NULL, 0, error, sizeof(error)), 0);
    cr_assert_eq(sim_chooser_init_replay(&chooser, path, 1, NULL), 0);
    cr_assert_eq(sim_choose_sampled_calm_max(&chooser, SIM_CONCERN_CRASH, 10, 110, 30), 110,
                 "a padded 0 is the calm maximum");
    sim_chooser_deinit(&chooser);
    unlink(path);
}

/* Invariant: schedules round-trip through save and load, and a malformed one is an error naming
 * the file and the line. */
Test(sim_shrink, schedules_round_trip_and_bad_lines_are_named)
{
    char path[256];
    temp_path(path, sizeof(path), "round-trip");
    struct sim_decision in[3] = {
        { .n = 2, .value = 1, .concern = SIM_CONCERN_NET_DROP },
        { .n = 0, .value = UINT64_MAX, .concern = SIM_CONCERN_NODE_SEED },
        { .n = 1000, .value = 999, .concern = SIM_CONCERN_NET_DELAY },
    };
    struct sim_schedule_header header = { .seed = 42 };
    snprintf(header.scenario, sizeof(header.scenario), "scenarios/smoke.ini");
    char error[512];
    cr_assert_eq(sim_schedule_save(path, &header, "two\nlines", in, 3, error, sizeof(error)), 0);
    struct sim_schedule_header read;
    struct sim_decision *out = NULL;
    size_t count = 0;
    cr_assert_eq(sim_schedule_load(path, &read, &out, &count, 16, error, sizeof(error)), 0, "%s",
                 error);
    cr_assert_eq(read.seed, 42);
    cr_assert_str_eq(read.scenario, "scenarios/smoke.ini");
    cr_assert_eq(count, 3);
    expect_same_decisions(in, out, 3);
    free(out);
    cr_assert_eq(sim_schedule_load(path, &read, &out, &count, 2, error, sizeof(error)), -1,
                 "more decisions than allowed");
    FILE *f = fopen(path, "a");
    cr_assert_not_null(f);
    fputs("net.drop 2 5\n", f); /* value not below n */
    fclose(f);
    cr_assert_eq(sim_schedule_load(path, &read, &out, &count, 16, error, sizeof(error)), -1);
    char where[300];
    snprintf(where, sizeof(where), "%s:10:", path);
    cr_assert(strstr(error, where) != NULL, "%s (want %s)", error, where);
    cr_assert_null(out);
    unlink(path);
}
