/* Tests for linearizable reads in the simulator (issue 6): gets served through ReadIndex (§8)
 * pass every check, and the two broken ReadIndex variants of the core surface as
 * linearizability violations from stale reads within a bounded number of seeds. */
#include "tests/sim/sim_run_fixture.h"

#include <string.h>

/* Invariant: linearizability. Reads served by ReadIndex, racing leader isolations, pauses and
 * transfers, give a linearizable history; they really bypass the log (far fewer entries
 * committed than operations completed) and some leaders lost their reads to a leader change. */
Test(sim_reads, read_heavy_scenario_is_linearizable_through_read_index)
{
    load("scenarios/read-heavy.ini");
    uint64_t not_leader = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        const struct report_run *r = run_seed(seed, 0);
        cr_assert_eq(r->verdict, REPORT_PASS, "seed %lu: %s: %s", (unsigned long)seed, r->invariant,
                     r->detail);
        uint64_t served = report_run_counter(r, "reads.served");
        uint64_t ok = report_run_counter(r, "client.ok");
        cr_assert_gt(served, ok / 2, "most operations are gets served by ReadIndex");
        cr_assert_lt(r->commits, ok / 2, "gets did not go through the log");
        cr_assert_eq(report_run_counter(r, "lin.unchecked"), 0, "every history was checked");
        cr_assert_gt(report_run_counter(r, "transfer.done"), 0, "leaders changed by transfer");
        not_leader += report_run_counter(r, "reads.not_leader");
    }
    cr_assert_gt(not_leader, 0, "some pending reads were failed by a lost leadership");
}

/* Invariant: with `reads = log` a get is a command through the log again (no ReadIndex). */
Test(sim_reads, log_mode_puts_gets_through_the_log)
{
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_parse_string("log-reads.ini",
                                           "[run]\nduration = 2s\n"
                                           "[workload]\nops = put:20 get:80\nreads = log\n",
                                           &scenario, error, sizeof(error)),
                 0, "%s", error);
    const struct report_run *r = run_seed(5, 0);
    cr_assert_eq(r->verdict, REPORT_PASS, "%s: %s", r->invariant, r->detail);
    cr_assert_eq(report_run_counter(r, "reads.served"), 0);
    cr_assert_gt(r->commits, report_run_counter(r, "client.ok") / 2,
                 "every operation is a log entry");
}

/* Invariant: linearizability catches a leader that serves ReadIndex reads without a heartbeat
 * round: a deposed leader answers from a stale state while a new leader takes writes. */
Test(sim_reads, read_without_quorum_is_caught_as_stale_reads)
{
    load("tests/sim/scenarios/stale-reads.ini");
    const struct report_run *r = hunt(RAFT_BUG_READ_WITHOUT_QUORUM, 20);
    cr_assert_str_eq(r->invariant, "linearizability", "%s", r->detail);
    cr_assert(strstr(r->detail, "cannot be linearized") != NULL, "%s", r->detail);
    cr_assert(strstr(r->repro, "--bug read-without-quorum") != NULL, "%s", r->repro);
}

/* Invariant: linearizability catches a new leader that takes ReadIndex reads before its no-op
 * commits: its commit index may lag writes its predecessor already acknowledged. */
Test(sim_reads, read_before_noop_commit_is_caught_as_stale_reads)
{
    load("tests/sim/scenarios/stale-reads.ini");
    const struct report_run *r = hunt(RAFT_BUG_READ_BEFORE_NOOP_COMMIT, 20);
    cr_assert_str_eq(r->invariant, "linearizability", "%s", r->detail);
    cr_assert(strstr(r->detail, "cannot be linearized") != NULL, "%s", r->detail);
    cr_assert(strstr(r->repro, "--bug read-before-noop-commit") != NULL, "%s", r->repro);
}

/* Invariant: the bait scenario itself is sound: a correct core passes it. */
Test(sim_reads, stale_read_bait_passes_with_a_correct_core)
{
    load("tests/sim/scenarios/stale-reads.ini");
    for (uint64_t seed = 1; seed <= 5; seed++) {
        const struct report_run *r = run_seed(seed, 0);
        cr_assert_eq(r->verdict, REPORT_PASS, "seed %lu: %s: %s", (unsigned long)seed, r->invariant,
                     r->detail);
        cr_assert_gt(report_run_counter(r, "reads.served"), 100);
    }
}
