/* Tests for sim/check: each Raft invariant is caught when broken and silent when kept. */
#include "sim/check.h"

#include <criterion/criterion.h>
#include <string.h>

static struct sim_checker checker;

static void setup(void)
{
    cr_assert_eq(sim_check_init(&checker, 3), 0);
}

static void teardown(void)
{
    sim_check_deinit(&checker);
}

static void append(uint32_t node, uint64_t index, uint64_t term, const char *data)
{
    sim_check_append(&checker, node, index, term, 2, data, strlen(data));
}

/* A healthy history: node 0 leads term 1, replicates three entries to all, commits, applies. */
static void healthy_term_one(void)
{
    for (uint32_t n = 0; n < 3; n++) {
        sim_check_state(&checker, n, n == 0, 1);
        append(n, 1, 1, "noop");
        append(n, 2, 1, "put a");
        append(n, 3, 1, "put b");
        sim_check_commit(&checker, n, 3);
        for (uint64_t i = 1; i <= 3; i++) {
            sim_check_applied(&checker, n, i, 100 + i);
        }
    }
}

/* Invariant: a correct history raises nothing. */
Test(sim_check, healthy_history_passes, .init = setup, .fini = teardown)
{
    healthy_term_one();
    sim_check_vote_granted(&checker, 1, 1, 0);
    sim_check_vote_granted(&checker, 1, 1, 0); /* a duplicate of the same grant is fine */
    sim_check_sent(&checker, 1, 1);
    sim_check_durable(&checker, 1, 1, 1, 3);
    sim_check_crash(&checker, 1);
    sim_check_restart(&checker, 1, 1, 1, 3);
    append(1, 1, 1, "noop");
    append(1, 2, 1, "put a");
    append(1, 3, 1, "put b");
    sim_check_commit(&checker, 1, 3);
    sim_check_state(&checker, 1, 1, 2); /* new leader of term 2 holds everything committed */
    append(1, 4, 2, "noop");
    cr_assert_not(checker.violated, "%s: %s", checker.invariant, checker.detail);
    cr_assert_gt(checker.checks, 0);
}

/* Invariant: election safety — at most one leader per term. */
Test(sim_check, two_leaders_in_a_term, .init = setup, .fini = teardown)
{
    sim_check_state(&checker, 0, 1, 5);
    sim_check_state(&checker, 1, 1, 5);
    cr_assert(checker.violated);
    cr_assert_str_eq(checker.invariant, "election_safety");
    cr_assert_eq(checker.violation_term, 5);
    cr_assert(strstr(checker.detail, "node 1 and node 2") != NULL, "%s", checker.detail);
}

/* Invariant: leader append-only — no truncation or overwrite within the leader's term. */
Test(sim_check, leader_truncating_its_log, .init = setup, .fini = teardown)
{
    sim_check_state(&checker, 0, 1, 1);
    append(0, 1, 1, "noop");
    append(0, 2, 1, "x");
    sim_check_state(&checker, 0, 1, 1);
    sim_check_truncate(&checker, 0, 2);
    cr_assert_str_eq(checker.invariant, "leader_append_only");
}

/* Invariant: a follower may truncate (conflicting suffix) without complaint. */
Test(sim_check, follower_truncation_is_fine, .init = setup, .fini = teardown)
{
    sim_check_state(&checker, 1, 0, 1);
    append(1, 1, 1, "noop");
    append(1, 2, 1, "x");
    sim_check_state(&checker, 1, 0, 2);
    sim_check_truncate(&checker, 1, 2);
    append(1, 2, 2, "y");
    cr_assert_not(checker.violated, "%s", checker.detail);
}

/* Invariant: log matching — same index and term imply identical prefixes. */
Test(sim_check, log_matching_violation, .init = setup, .fini = teardown)
{
    append(0, 1, 1, "noop");
    append(0, 2, 1, "x");
    append(1, 1, 1, "noop");
    append(1, 2, 1, "y"); /* same (index, term), different entry */
    cr_assert_str_eq(checker.invariant, "log_matching");
    cr_assert_eq(checker.violation_index, 2);
}

/* Invariant: leader completeness — a leader holds all committed entries. */
Test(sim_check, leader_missing_committed_entries, .init = setup, .fini = teardown)
{
    healthy_term_one();
    sim_check_crash(&checker, 2);
    sim_check_restart(&checker, 2, 1, 0, 0);
    append(2, 1, 1, "noop"); /* lost entries 2 and 3 */
    sim_check_state(&checker, 2, 1, 2);
    cr_assert_str_eq(checker.invariant, "leader_completeness");
}

/* Invariant: commit safety and state machine safety — the same entry is committed/applied at
 * each index everywhere. */
Test(sim_check, different_entry_committed, .init = setup, .fini = teardown)
{
    healthy_term_one();
    sim_check_crash(&checker, 2);
    sim_check_restart(&checker, 2, 2, 0, 0);
    append(2, 1, 1, "noop");
    append(2, 2, 2, "other");
    sim_check_commit(&checker, 2, 2);
    cr_assert_str_eq(checker.invariant, "commit_safety");
}

Test(sim_check, different_entry_applied, .init = setup, .fini = teardown)
{
    append(0, 1, 1, "a");
    append(1, 1, 2, "b");
    sim_check_applied(&checker, 0, 1, 7);
    sim_check_applied(&checker, 1, 1, 7);
    cr_assert_str_eq(checker.invariant, "state_machine_safety");
}

/* Invariant: replicas at the same applied index have the same state-machine hash. */
Test(sim_check, replica_hash_mismatch, .init = setup, .fini = teardown)
{
    append(0, 1, 1, "a");
    append(1, 1, 1, "a");
    sim_check_applied(&checker, 0, 1, 7);
    sim_check_applied(&checker, 1, 1, 8);
    cr_assert_str_eq(checker.invariant, "replica_state_hash");
}

/* Invariant: one vote per term per node, also across restarts. */
Test(sim_check, double_vote, .init = setup, .fini = teardown)
{
    sim_check_vote_granted(&checker, 2, 4, 0);
    sim_check_vote_granted(&checker, 2, 4, 1);
    cr_assert_str_eq(checker.invariant, "vote_once");
}

Test(sim_check, vote_forgotten_across_restart, .init = setup, .fini = teardown)
{
    sim_check_vote_granted(&checker, 2, 4, 0);
    sim_check_sent(&checker, 2, 4);
    sim_check_crash(&checker, 2);
    sim_check_restart(&checker, 2, 4, 0, 0); /* term kept, vote lost */
    cr_assert_str_eq(checker.invariant, "vote_once");
}

/* Invariant: term and commit never go backwards, also across restarts. */
Test(sim_check, term_back_across_restart, .init = setup, .fini = teardown)
{
    sim_check_state(&checker, 0, 0, 5);
    sim_check_sent(&checker, 0, 5);
    sim_check_crash(&checker, 0);
    sim_check_restart(&checker, 0, 4, 0, 0);
    cr_assert_str_eq(checker.invariant, "term_monotonic");
}

Test(sim_check, term_back_while_running, .init = setup, .fini = teardown)
{
    sim_check_state(&checker, 0, 0, 5);
    sim_check_state(&checker, 0, 0, 4);
    cr_assert_str_eq(checker.invariant, "term_monotonic");
}

Test(sim_check, commit_back, .init = setup, .fini = teardown)
{
    healthy_term_one();
    sim_check_commit(&checker, 1, 2);
    cr_assert_str_eq(checker.invariant, "commit_monotonic");
}

Test(sim_check, commit_back_across_restart, .init = setup, .fini = teardown)
{
    sim_check_durable(&checker, 1, 3, 0, 10);
    sim_check_crash(&checker, 1);
    sim_check_restart(&checker, 1, 3, 0, 7);
    cr_assert_str_eq(checker.invariant, "commit_monotonic");
}

/* Invariant: only the first violation is kept (it explains the rest). */
Test(sim_check, first_violation_wins, .init = setup, .fini = teardown)
{
    sim_check_vote_granted(&checker, 0, 1, 1);
    sim_check_vote_granted(&checker, 0, 1, 2);
    sim_check_state(&checker, 1, 1, 1);
    sim_check_state(&checker, 2, 1, 1);
    cr_assert_str_eq(checker.invariant, "vote_once");
}

/* Invariant: a snapshot installed over a divergent log re-bases the mirror on the committed
 * entry, so later appends compare correctly; a snapshot beyond the commit is a violation. */
Test(sim_check, snapshot_rebases_the_log, .init = setup, .fini = teardown)
{
    healthy_term_one();
    sim_check_state(&checker, 2, 0, 2);
    sim_check_truncate(&checker, 2, 2);
    append(2, 2, 2, "divergent");
    sim_check_snapshot(&checker, 2, 3, 1); /* installed from the leader: replaces the log */
    append(2, 4, 2, "next");
    append(0, 4, 2, "next");
    cr_assert_not(checker.violated, "%s: %s", checker.invariant, checker.detail);
    cr_assert_eq(sim_check_log_chain(&checker, 2, 4), sim_check_log_chain(&checker, 0, 4));
    sim_check_snapshot(&checker, 1, 9, 2);
    cr_assert_str_eq(checker.invariant, "snapshot_committed");
}

/* Invariant: a state restored from a snapshot hashes like the replicas that applied up to it. */
Test(sim_check, restored_state_must_match, .init = setup, .fini = teardown)
{
    healthy_term_one();
    sim_check_restored(&checker, 1, 3, 103);
    cr_assert_not(checker.violated, "%s", checker.detail);
    sim_check_restored(&checker, 2, 3, 999);
    cr_assert_str_eq(checker.invariant, "replica_state_hash");
}

/* Invariant: leader completeness (§5.4) binds leaders of later terms only. A candidate of term 1
 * that was paused mid-election and wins term 1 late lacks what term 2 committed meanwhile: not a
 * violation. A leader of term 3 lacking it is one. */
Test(sim_check, leader_completeness_is_about_later_terms, .init = setup, .fini = teardown)
{
    sim_check_state(&checker, 0, 1, 2);
    append(0, 1, 2, "noop");
    sim_check_commit(&checker, 0, 1);   /* committed in term 2 */
    sim_check_state(&checker, 1, 1, 1); /* a late leader of term 1, empty log */
    cr_assert_not(checker.violated, "%s: %s", checker.invariant, checker.detail);
    sim_check_state(&checker, 2, 1, 3);
    cr_assert(checker.violated);
    cr_assert_str_eq(checker.invariant, "leader_completeness");
}
