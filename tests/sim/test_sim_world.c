/* Tests for the simulated world: determinism, replay, and that deliberately broken variants are
 * caught with the right invariant within a bounded number of seeds. */
#include "sim/world.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

static struct sim_scenario scenario;
static struct report_run run;

static void load(const char *relative)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", FLOWRAFT_SOURCE_DIR, relative);
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_load(path, &scenario, error, sizeof(error)), 0, "%s", error);
}

static const struct report_run *run_seed(uint64_t seed, uint32_t raft_bugs, uint32_t sim_bugs)
{
    struct sim_run_options options = {
        .scenario = &scenario,
        .seed = seed,
        .raft_test_bugs = raft_bugs,
        .sim_bugs = sim_bugs,
    };
    sim_run(&options, &run);
    return &run;
}

/* Invariant: the same seed gives the same trace hash twice in one process; seeds differ. */
Test(sim_world, same_seed_same_trace_hash)
{
    load("scenarios/smoke.ini");
    uint64_t hashes[3];
    uint64_t events[3];
    uint64_t seeds[3] = { 7, 7, 8 };
    for (int i = 0; i < 3; i++) {
        const struct report_run *r = run_seed(seeds[i], 0, 0);
        cr_assert_eq(r->verdict, REPORT_PASS, "%s: %s", r->invariant, r->detail);
        hashes[i] = r->trace_hash;
        events[i] = r->events;
    }
    cr_assert_eq(hashes[0], hashes[1]);
    cr_assert_eq(events[0], events[1]);
    cr_assert_neq(hashes[0], hashes[2], "different seeds give different runs");
}

/* Invariant: a healthy cluster passes every check and makes progress (commits, a liveness
 * recovery, a linearizable history), with chaos on. */
Test(sim_world, default_scenario_passes_with_progress)
{
    load("scenarios/default.ini");
    const struct report_run *r = run_seed(3, 0, 0);
    cr_assert_eq(r->verdict, REPORT_PASS, "%s: %s", r->invariant, r->detail);
    cr_assert_gt(r->commits, 100);
    cr_assert_gt(r->elections, 0);
    cr_assert_gt(report_run_counter(r, "client.ok"), 100);
    cr_assert_gt(report_run_counter(r, "lin.ops"), 100);
    cr_assert_eq(report_run_counter(r, "lin.unchecked"), 0);
    cr_assert_gt(report_run_counter(r, "net.corrupt_caught"), 0,
                 "corruption was injected and caught");
    cr_assert_gt(report_run_counter(r, "crash"), 0);
    cr_assert_gt(report_run_counter(r, "partition"), 0);
}

/* Runs seeds 1..max of the loaded scenario with a bug until one fails; returns that run. */
static const struct report_run *hunt(uint32_t raft_bugs, uint32_t sim_bugs, uint64_t max,
                                     uint64_t *seed_out)
{
    for (uint64_t seed = 1; seed <= max; seed++) {
        const struct report_run *r = run_seed(seed, raft_bugs, sim_bugs);
        cr_assert_neq(r->verdict, REPORT_ERROR, "seed %lu: %s", (unsigned long)seed, r->detail);
        if (r->verdict != REPORT_PASS) {
            *seed_out = seed;
            return r;
        }
    }
    cr_assert_fail("the broken variant survived %lu seeds", (unsigned long)max);
    return NULL;
}

static void expect_one_of(const struct report_run *r, const char *const *allowed, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(r->invariant, allowed[i]) == 0) {
            return;
        }
    }
    cr_assert_fail("caught as '%s', which is not the invariant this bug breaks: %s", r->invariant,
                   r->detail);
}

/* Invariant: vote_once (§5.2) catches a core that grants two votes in one term. */
Test(sim_world, double_vote_is_caught)
{
    load("scenarios/partitions.ini");
    uint64_t seed = 0;
    const struct report_run *r = hunt(RAFT_BUG_DOUBLE_VOTE, 0, 20, &seed);
    static const char *const allowed[] = { "vote_once", "election_safety" };
    expect_one_of(r, allowed, 2);
    cr_assert(strstr(r->repro, "--bug double-vote") != NULL, "%s", r->repro);
}

/* Invariant: commit_current_term (Figure 2, §5.4.2) catches a core that commits a previous-term
 * entry by counting replicas. */
Test(sim_world, commit_previous_term_is_caught)
{
    load("tests/sim/scenarios/figure8.ini");
    uint64_t seed = 0;
    const struct report_run *r = hunt(RAFT_BUG_COMMIT_PREVIOUS_TERM, 0, 10, &seed);
    static const char *const allowed[] = { "commit_current_term", "leader_completeness",
                                           "commit_safety", "state_machine_safety" };
    expect_one_of(r, allowed, 4);
}

/* Invariant: a node that acknowledges before its writes are durable is caught when a crash loses
 * them: it restarts behind what it told others (term, vote) or a leader lacks a committed entry. */
Test(sim_world, ack_before_sync_is_caught)
{
    load("tests/sim/scenarios/slow-disk-crashes.ini");
    uint64_t seed = 0;
    const struct report_run *r = hunt(0, SIM_BUG_ACK_BEFORE_SYNC, 30, &seed);
    static const char *const allowed[] = { "term_monotonic",   "vote_once",
                                           "commit_monotonic", "leader_completeness",
                                           "commit_safety",    "state_machine_safety" };
    expect_one_of(r, allowed, 6);
}

/* Invariant: the linearizability check of every run's client history catches reads served from
 * local state without the log. */
Test(sim_world, stale_reads_are_caught_by_linearizability)
{
    load("scenarios/partitions.ini");
    uint64_t seed = 0;
    const struct report_run *r = hunt(0, SIM_BUG_STALE_READ, 30, &seed);
    cr_assert_str_eq(r->invariant, "linearizability", "%s", r->detail);
    cr_assert(strstr(r->detail, "cannot be linearized") != NULL, "%s", r->detail);
}

/* Invariant: the liveness phase fails a run whose cluster cannot elect a leader within the bound
 * (here the bound is shorter than any election timeout). */
Test(sim_world, liveness_bound_is_enforced)
{
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_parse_string("tight.ini",
                                           "[cluster]\nnodes = 3\nelection_timeout_ticks_min = 50\n"
                                           "election_timeout_ticks_max = 60\n"
                                           "[run]\nduration = 1s\nliveness_bound = 100ms\n"
                                           "[schedule]\nfault = 900ms crash leader\n",
                                           &scenario, error, sizeof(error)),
                 0, "%s", error);
    const struct report_run *r = run_seed(1, 0, 0);
    cr_assert_eq(r->verdict, REPORT_VIOLATION, "%s", r->detail);
    cr_assert_str_eq(r->invariant, "liveness");
    cr_assert(strstr(r->detail, "within 100ms") != NULL, "%s", r->detail);
}

/* Invariant: a violation report names the invariant, the event number, the virtual time, the
 * seed, the last events and the exact command that reproduces it. */
Test(sim_world, violation_report_is_complete)
{
    load("tests/sim/scenarios/figure8.ini");
    uint64_t seed = 0;
    const struct report_run *r = hunt(RAFT_BUG_COMMIT_PREVIOUS_TERM, 0, 10, &seed);
    cr_assert(strstr(r->detail, "at event #") != NULL, "%s", r->detail);
    cr_assert(strstr(r->detail, "virtual time") != NULL, "%s", r->detail);
    cr_assert(strstr(r->detail, "last events:") != NULL, "%s", r->detail);
    cr_assert(strstr(r->detail, "term") != NULL, "%s", r->detail);
    char expected[512];
    snprintf(expected, sizeof(expected), "flowraft run %s --seed %lu --bug commit-previous-term",
             scenario.path, (unsigned long)seed);
    cr_assert_str_eq(r->repro, expected);
}

/* Invariant: replaying a recorded schedule reproduces the run exactly (same trace hash); an
 * edited schedule that no longer matches is reported with its file and line. */
Test(sim_world, schedule_replay_is_exact)
{
    load("scenarios/smoke.ini");
    char path[128];
    snprintf(path, sizeof(path), "/tmp/flowraft-world-%ld.sched", (long)getpid());
    struct sim_run_options options = { .scenario = &scenario, .seed = 11, .record_path = path };
    sim_run(&options, &run);
    cr_assert_eq(run.verdict, REPORT_PASS, "%s", run.detail);
    uint64_t recorded = run.trace_hash;
    struct sim_run_options replay = { .scenario = &scenario, .replay_path = path };
    sim_run(&replay, &run);
    cr_assert_eq(run.verdict, REPORT_PASS, "%s", run.detail);
    cr_assert_eq(run.trace_hash, recorded, "replay reproduces the trace hash");
    cr_assert_eq(run.seed, 11, "the seed comes from the schedule's header");
    /* Tamper: the first decision line becomes a different concern. */
    FILE *f = fopen(path, "r+");
    cr_assert_not_null(f);
    char line[256];
    long offset = 0;
    int lineno = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (line[0] != '#' && strncmp(line, "flowraft", 8) != 0 && strncmp(line, "seed", 4) != 0 &&
            strncmp(line, "scenario", 8) != 0) {
            break;
        }
        offset = ftell(f);
    }
    fseek(f, offset, SEEK_SET);
    fputs("swarm", f); /* overwrite the start of the concern name */
    fclose(f);
    sim_run(&replay, &run);
    cr_assert_eq(run.verdict, REPORT_ERROR);
    char where[512];
    snprintf(where, sizeof(where), "%s:%d:", path, lineno);
    cr_assert(strstr(run.detail, where) != NULL, "%s (want %s)", run.detail, where);
    unlink(path);
}

/* Invariant: with frequent snapshots, InstallSnapshot and restarts from a snapshot, every check
 * still passes, and snapshots really happen (compaction, restores). */
Test(sim_world, snapshots_are_taken_installed_and_restored)
{
    load("tests/sim/scenarios/snapshots.ini");
    uint64_t restores = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        const struct report_run *r = run_seed(seed, 0, 0);
        cr_assert_eq(r->verdict, REPORT_PASS, "seed %lu: %s: %s", (unsigned long)seed, r->invariant,
                     r->detail);
        cr_assert_gt(report_run_counter(r, "snapshots"), 10);
        restores += report_run_counter(r, "snapshot.restores");
    }
    cr_assert_gt(restores, 0, "state machines were restored from snapshots");
}

/* Invariant: a core whose snapshot install truncates a newer log is caught: its commit goes back
 * (commit_monotonic) or committed entries go missing. */
Test(sim_world, snapshot_truncating_newer_log_is_caught)
{
    load("tests/sim/scenarios/snapshots.ini");
    uint64_t seed = 0;
    const struct report_run *r = hunt(RAFT_BUG_SNAPSHOT_TRUNCATES_NEWER_LOG, 0, 20, &seed);
    static const char *const allowed[] = { "commit_monotonic", "leader_completeness",
                                           "commit_safety",    "state_machine_safety",
                                           "log_matching",     "snapshot_committed" };
    expect_one_of(r, allowed, 6);
}
