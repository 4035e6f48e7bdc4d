/* Tests for sim/sweep: parallel workers, shards, time budget, crashes and determinism checks. */
#include "sim/sweep.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const paths[] = { "scenarios/a.ini", "scenarios/b.ini" };

/* A fake simulator: seeds divisible by 7 violate "fake_invariant", seed 13 crashes, seed 17 is
 * nondeterministic when ctx says so, and the trace hash is a function of (scenario, seed). */
static void fake_run(void *ctx, uint32_t scenario, uint64_t seed, struct report_run *out)
{
    const int *mode = ctx;
    snprintf(out->scenario, sizeof(out->scenario), "%s", scenario == 0 ? "a" : "b");
    snprintf(out->scenario_path, sizeof(out->scenario_path), "%s", paths[scenario]);
    out->seed = seed;
    out->events = 100 + seed;
    out->virtual_time_us = 1000000;
    out->trace_hash = seed * 1000003u + scenario;
    report_run_count(out, "crash", seed % 3);
    if (*mode == 1 && seed == 13) {
        abort();
    }
    if (*mode == 2) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (*mode == 4 && seed == 5) {
        for (;;) {
            pause(); /* a hang in the code under test */
        }
    }
    if (*mode == 3 && seed == 17) {
        out->trace_hash ^= (uint64_t)getpid(); /* differs between the two processes */
    }
    if (seed % 7 == 0) {
        out->verdict = REPORT_VIOLATION;
        snprintf(out->invariant, sizeof(out->invariant), "fake_invariant");
        snprintf(out->detail, sizeof(out->detail), "seed %lu is a multiple of 7",
                 (unsigned long)seed);
        snprintf(out->repro, sizeof(out->repro), "flowraft run %s --seed %lu", paths[scenario],
                 (unsigned long)seed);
    }
}

static struct report_sweep *sweep_new(uint32_t scenarios)
{
    struct report_sweep *sweep = malloc(sizeof(*sweep));
    cr_assert_not_null(sweep);
    report_sweep_init(sweep);
    for (uint32_t i = 0; i < scenarios; i++) {
        cr_assert_eq(report_sweep_add_scenario(sweep, i == 0 ? "a" : "b", paths[i]), (int)i);
    }
    return sweep;
}

static void sweep_free(struct report_sweep *sweep)
{
    report_sweep_deinit(sweep);
    free(sweep);
}

static struct sim_sweep_options options(int *mode, uint32_t scenarios)
{
    return (struct sim_sweep_options){
        .scenario_count = scenarios,
        .scenario_paths = paths,
        .seed_first = 1,
        .seed_last = 30,
        .jobs = 4,
        .shard_count = 1,
        .run = fake_run,
        .ctx = mode,
    };
}

/* Invariant: every (scenario, seed) runs exactly once and failures are recorded per invariant. */
Test(sim_sweep, runs_every_seed_once)
{
    int mode = 0;
    struct report_sweep *sweep = sweep_new(2);
    struct sim_sweep_options o = options(&mode, 2);
    char error[256] = "";
    cr_assert_eq(sim_sweep_run(&o, sweep, error, sizeof(error)), 0, "%s", error);
    cr_assert_eq(report_sweep_runs(sweep), 60);
    cr_assert_eq(sweep->runs_planned, 60);
    cr_assert_eq(sweep->runs_skipped, 0);
    uint8_t seen[2][31] = { { 0 } };
    for (size_t i = 0; i < sweep->run_count; i++) {
        const struct report_run_brief *r = &sweep->runs[i];
        cr_assert_eq(seen[r->scenario][r->seed], 0, "ran twice");
        seen[r->scenario][r->seed] = 1;
        cr_assert_eq(r->trace_hash, r->seed * 1000003u + r->scenario, "results are not mixed up");
    }
    cr_assert_eq(report_sweep_failed(sweep), 8); /* 7, 14, 21, 28 in each scenario */
    struct report_group groups[4];
    cr_assert_eq(report_sweep_groups(sweep, groups, 4), 1);
    cr_assert_str_eq(groups[0].invariant, "fake_invariant");
    cr_assert_eq(groups[0].count, 8);
    cr_assert_eq(sweep->scenarios[0].failed, 4);
    sweep_free(sweep);
}

/* Invariant: shards of one range never overlap and together cover it. */
Test(sim_sweep, shards_partition_the_range)
{
    int mode = 0;
    uint8_t seen[31] = { 0 };
    uint64_t total = 0;
    for (uint32_t shard = 0; shard < 4; shard++) {
        struct report_sweep *sweep = sweep_new(1);
        struct sim_sweep_options o = options(&mode, 1);
        o.shard_index = shard;
        o.shard_count = 4;
        char error[256] = "";
        cr_assert_eq(sim_sweep_run(&o, sweep, error, sizeof(error)), 0, "%s", error);
        cr_assert_eq(sweep->runs_planned, report_sweep_runs(sweep));
        for (size_t i = 0; i < sweep->run_count; i++) {
            cr_assert_eq(seen[sweep->runs[i].seed]++, 0, "seed %lu in two shards",
                         (unsigned long)sweep->runs[i].seed);
        }
        total += report_sweep_runs(sweep);
        sweep_free(sweep);
    }
    cr_assert_eq(total, 30);
}

/* Invariant: a run that crashes is a failing seed with a reproduce command; the sweep goes on. */
Test(sim_sweep, crashing_run_is_a_failure_not_the_end)
{
    int mode = 1;
    struct report_sweep *sweep = sweep_new(1);
    struct sim_sweep_options o = options(&mode, 1);
    char error[256] = "";
    cr_assert_eq(sim_sweep_run(&o, sweep, error, sizeof(error)), 0, "%s", error);
    cr_assert_eq(report_sweep_runs(sweep), 30);
    int found = 0;
    for (size_t i = 0; i < sweep->failure_count; i++) {
        const struct report_run *f = &sweep->failures[i];
        if (f->seed == 13) {
            found = 1;
            cr_assert_eq(f->verdict, REPORT_CRASH);
            cr_assert(strstr(f->invariant, "crash") != NULL, "%s", f->invariant);
            cr_assert_str_eq(f->repro, "flowraft run scenarios/a.ini --seed 13");
        }
    }
    cr_assert(found);
    sweep_free(sweep);
}

/* Invariant: the time budget stops the sweep cleanly and says how many runs happened. */
Test(sim_sweep, time_budget_stops_cleanly)
{
    int mode = 2; /* 20 ms per run */
    struct report_sweep *sweep = sweep_new(1);
    struct sim_sweep_options o = options(&mode, 1);
    o.seed_last = 100000;
    o.jobs = 2;
    o.time_budget_seconds = 0.3;
    char error[256] = "";
    cr_assert_eq(sim_sweep_run(&o, sweep, error, sizeof(error)), 0, "%s", error);
    cr_assert(sweep->time_budget_reached);
    cr_assert_gt(report_sweep_runs(sweep), 0);
    cr_assert_lt(report_sweep_runs(sweep), 100);
    cr_assert_eq(sweep->runs_skipped + report_sweep_runs(sweep), 100000);
    cr_assert_lt(sweep->wall_seconds, 5.0);
    sweep_free(sweep);
}

/* Invariant: with check_determinism a seed whose two runs differ fails as nondeterminism, and
 * deterministic seeds are counted once. */
Test(sim_sweep, determinism_check_catches_differences)
{
    int mode = 3;
    struct report_sweep *sweep = sweep_new(1);
    struct sim_sweep_options o = options(&mode, 1);
    o.check_determinism = 1;
    char error[256] = "";
    cr_assert_eq(sim_sweep_run(&o, sweep, error, sizeof(error)), 0, "%s", error);
    cr_assert_eq(report_sweep_runs(sweep), 30);
    int found = 0;
    for (size_t i = 0; i < sweep->failure_count; i++) {
        if (sweep->failures[i].seed == 17) {
            found = 1;
            cr_assert_eq(sweep->failures[i].verdict, REPORT_NONDETERMINISM);
            cr_assert_str_eq(sweep->failures[i].invariant, "determinism");
        } else {
            cr_assert_eq(sweep->failures[i].seed % 7, 0);
        }
    }
    cr_assert(found);
    cr_assert_eq(report_sweep_failed(sweep), 5);
    sweep_free(sweep);
}

/* Invariant: seed ranges and shards parse strictly. */
Test(sim_sweep, parses_ranges_and_shards)
{
    uint64_t a = 0, b = 0;
    cr_assert_eq(sim_parse_seed_range("1..1000", &a, &b), 0);
    cr_assert(a == 1 && b == 1000);
    cr_assert_eq(sim_parse_seed_range("42", &a, &b), 0);
    cr_assert(a == 42 && b == 42);
    cr_assert_eq(sim_parse_seed_range("5..4", &a, &b), -1);
    cr_assert_eq(sim_parse_seed_range("1..", &a, &b), -1);
    cr_assert_eq(sim_parse_seed_range("-1..4", &a, &b), -1);
    cr_assert_eq(sim_parse_seed_range("1..2x", &a, &b), -1);
    uint32_t i = 0, n = 0;
    cr_assert_eq(sim_parse_shard("0/4", &i, &n), 0);
    cr_assert(i == 0 && n == 4);
    cr_assert_eq(sim_parse_shard("4/4", &i, &n), -1);
    cr_assert_eq(sim_parse_shard("1/0", &i, &n), -1);
    cr_assert_eq(sim_parse_shard("1/4x", &i, &n), -1);
}

/* Invariant: a run that hangs is stopped by the per-run timeout and reported, and the sweep
 * finishes. */
Test(sim_sweep, hanging_run_times_out)
{
    int mode = 4;
    struct report_sweep *sweep = sweep_new(1);
    struct sim_sweep_options o = options(&mode, 1);
    o.seed_last = 8;
    o.run_timeout_seconds = 0.5;
    char error[256] = "";
    cr_assert_eq(sim_sweep_run(&o, sweep, error, sizeof(error)), 0, "%s", error);
    cr_assert_eq(report_sweep_runs(sweep), 8);
    int found = 0;
    for (size_t i = 0; i < sweep->failure_count; i++) {
        if (sweep->failures[i].seed == 5) {
            found = 1;
            cr_assert_str_eq(sweep->failures[i].invariant, "timeout");
        }
    }
    cr_assert(found);
    sweep_free(sweep);
}
