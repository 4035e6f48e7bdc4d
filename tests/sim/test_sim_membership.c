/* Tests for membership churn, leadership transfers and snapshot-heavy runs in the simulator
 * (issue 6), and for the checks that come with them: quorum_overlap,
 * removed_leader_steps_down and snapshot_monotonic. */
#include "tests/sim/sim_run_fixture.h"

#include <string.h>

/* A configuration from id lists ("1,2,3"); an empty `outgoing` is not joint. */
static struct raft_membership config(const char *voters, const char *outgoing)
{
    struct raft_membership m;
    memset(&m, 0, sizeof(m));
    const char *lists[2] = { voters, outgoing };
    uint32_t *ids[2] = { m.voters, m.voters_outgoing };
    uint32_t *counts[2] = { &m.voter_count, &m.voters_outgoing_count };
    for (int l = 0; l < 2; l++) {
        for (const char *p = lists[l]; *p != '\0'; p++) {
            if (*p >= '1' && *p <= '9') {
                ids[l][(*counts[l])++] = (uint32_t)(*p - '0');
            }
        }
    }
    return m;
}

/* ---- quorum_overlap: the quorum arithmetic ---- */

/* Invariant: single-server changes and joint configurations overlap; two-server direct changes
 * and unrelated sets do not (§6, thesis §4.2-4.3). */
Test(sim_membership, disjoint_quorums_are_recognised)
{
    struct raft_membership c123 = config("1,2,3", "");
    struct raft_membership c1234 = config("1,2,3,4", "");
    struct raft_membership c124 = config("1,2,4", "");
    struct raft_membership c12345 = config("1,2,3,4,5", "");
    struct raft_membership c456 = config("4,5,6", "");
    struct raft_membership joint = config("1,2,4", "1,2,3");
    struct raft_membership empty = config("", "");
    cr_assert_not(sim_check_config_disjoint(&c123, &c123), "a configuration overlaps itself");
    cr_assert_not(sim_check_config_disjoint(&c123, &c1234), "adding one voter is safe");
    cr_assert_not(sim_check_config_disjoint(&c1234, &c123), "removing one voter is safe");
    cr_assert(sim_check_config_disjoint(&c123, &c124), "{1,3} and {2,4}: replacing directly");
    cr_assert(sim_check_config_disjoint(&c123, &c12345), "{1,2} and {3,4,5}: two added at once");
    cr_assert(sim_check_config_disjoint(&c123, &c456));
    cr_assert_not(sim_check_config_disjoint(&joint, &c123), "C_old,new overlaps C_old");
    cr_assert_not(sim_check_config_disjoint(&joint, &c124), "C_old,new overlaps C_new");
    cr_assert_not(sim_check_config_disjoint(&c123, &joint));
    cr_assert_not(sim_check_config_disjoint(&empty, &c456), "no voters, no quorum");
}

/* Invariant: learners never count toward a quorum, so moving one in or out keeps overlap. */
Test(sim_membership, learners_do_not_change_quorums)
{
    struct raft_membership with = config("1,2,3", "");
    with.learners[0] = 4;
    with.learner_count = 1;
    struct raft_membership without = config("1,2,3", "");
    struct raft_membership other = config("4,5,6", "");
    cr_assert_not(sim_check_config_disjoint(&with, &without));
    cr_assert(sim_check_config_disjoint(&with, &other), "a learner is not a voter");
}

/* ---- snapshot_monotonic, fed directly ---- */

/* Invariant: snapshot_monotonic. A running node's snapshot index never goes back, and a restart
 * loads at least the newest snapshot a finished group commit stored, unless its disk had a bit
 * flipped at rest. */
Test(sim_membership, snapshot_index_never_goes_backwards)
{
    struct sim_checker checker;
    struct sim_check_snapshot cs;
    cr_assert_eq(sim_check_init(&checker, 3), 0);
    sim_check_snapshot_init(&cs, 3);
    sim_check_snapshot_step(&cs, &checker, 0, 16, 16); /* taken and handed to storage */
    sim_check_snapshot_durable(&cs, 0);
    sim_check_snapshot_step(&cs, &checker, 0, 32, 32); /* staged, then lost in a crash */
    sim_check_snapshot_crash(&cs, 0);
    sim_check_snapshot_restart(&cs, &checker, 0, 16, false);
    cr_assert_not(checker.violated, "an unsynced snapshot may be lost: %s", checker.detail);
    sim_check_snapshot_step(&cs, &checker, 0, 16, 0);
    sim_check_snapshot_crash(&cs, 0);
    sim_check_snapshot_restart(&cs, &checker, 0, 0, true);
    cr_assert_not(checker.violated, "a damaged disk is exempt at restart");
    sim_check_snapshot_restart(&cs, &checker, 0, 8, false);
    cr_assert(checker.violated, "restarted behind a durable snapshot");
    cr_assert_str_eq(checker.invariant, "snapshot_monotonic");
    cr_assert(strstr(checker.detail, "newest valid snapshot") != NULL, "%s", checker.detail);
    sim_check_deinit(&checker);

    cr_assert_eq(sim_check_init(&checker, 3), 0);
    sim_check_snapshot_init(&cs, 3);
    sim_check_snapshot_step(&cs, &checker, 1, 40, 0);
    sim_check_snapshot_step(&cs, &checker, 1, 24, 0);
    cr_assert(checker.violated, "went back while running");
    cr_assert_str_eq(checker.invariant, "snapshot_monotonic");
    sim_check_deinit(&checker);
}

/* ---- scenario keys ---- */

static void expect_error(const char *text, const char *needle)
{
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_neq(sim_scenario_parse_string("bad.ini", text, &scenario, error, sizeof(error)), 0,
                  "accepted: %s", text);
    cr_assert(strstr(error, needle) != NULL, "got '%s', want '%s'", error, needle);
}

/* Invariant: bad [membership], [transfers], [slow] and new [schedule] entries are refused with
 * the file, line and key. */
Test(sim_membership, bad_keys_name_file_line_and_key)
{
    expect_error("[cluster]\nnodes = 9\n[membership]\nspares = 8\n",
                 "bad.ini:4: [membership] spares: nodes + spares must be at most 16");
    expect_error("[membership]\nkinds = add grow\n",
                 "bad.ini:2: [membership] kinds: unknown change 'grow'");
    expect_error("[membership]\nspares = 1\nvoters_min = 3\nvoters_max = 2\n",
                 "[membership] voters_max: need voters_min (3) <= voters_max (2)");
    expect_error("[slow]\ncount = 4\n", "bad.ini:2: [slow] count: 4 is more than the 3 nodes");
    expect_error("[run]\nduration = 5s\n[schedule]\nfault = 1s add\n",
                 "bad.ini:4: [schedule] fault: 'add' needs a spare node");
    expect_error("[membership]\nspares = 1\n[schedule]\nfault = 1s remove 5\n",
                 "node 5 does not exist (nodes = 3, spares = 1)");
    expect_error("[schedule]\nfault = 1s transfer 2 for 1s\n", "'transfer' takes no duration");
    expect_error("[workload]\nreads = lease\n", "[workload] reads: expected read-index or log");
    expect_error("[cluster]\nsnapshot_chunk_bytes = 8\n", "[cluster] snapshot_chunk_bytes");
}

/* Invariant: the defaults: ReadIndex reads, no spares, voter bounds from the cluster size. */
Test(sim_membership, defaults)
{
    parse("[cluster]\nnodes = 5\n[membership]\nspares = 2\n");
    cr_assert_eq(scenario.reads, SIM_READS_INDEX);
    cr_assert_eq(scenario.voters_min, 3);
    cr_assert_eq(scenario.voters_max, 7);
    cr_assert_eq(sim_scenario_slots(&scenario), 7);
    cr_assert_eq(scenario.change_kinds, SIM_CHANGE_ALL);
    cr_assert_eq(scenario.membership_every_us, 0, "random changes are off unless asked for");
}

/* ---- runs ---- */

/* Invariant: quorum_overlap, election_safety and every other check hold while nodes are added,
 * removed and replaced (the leader too) under faults; changes really happen and commit, removed
 * nodes stop, and transfers hand leadership over. */
Test(sim_membership, churn_passes_and_changes_happen)
{
    load("scenarios/membership-churn.ini");
    uint64_t added = 0;
    uint64_t removed = 0;
    uint64_t replaced = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        const struct report_run *r = run_seed(seed, 0);
        cr_assert_eq(r->verdict, REPORT_PASS, "seed %lu: %s: %s", (unsigned long)seed, r->invariant,
                     r->detail);
        added += counter("membership.added");
        removed += counter("membership.removed");
        replaced += counter("membership.replaced");
        cr_assert_geq(counter("membership.committed"),
                      2 * (counter("membership.added") + counter("membership.removed")),
                      "every voter change commits a joint and a final configuration");
        cr_assert_gt(counter("membership.stopped"), 0, "removed nodes stop");
        cr_assert_gt(counter("transfer.done"), 0);
        cr_assert_gt(counter("client.ok"), 500);
    }
    cr_assert_gt(added, 0);
    cr_assert_gt(removed, 0);
    cr_assert_gt(replaced, 0);
}

/* Invariant: removed_leader_steps_down. A scripted removal of the leader commits, the leader
 * steps down (a new leader is elected among the remaining voters), the node stops, and the
 * cluster goes on committing. */
Test(sim_membership, removed_leader_steps_down_and_stops)
{
    parse("[cluster]\nnodes = 4\n[run]\nduration = 4s\nliveness_bound = 5s\n"
          "[membership]\nspares = 1\n"
          "[schedule]\nfault = 1s remove leader\nfault = 2500ms add\n");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        const struct report_run *r = run_seed(seed, 0);
        cr_assert_eq(r->verdict, REPORT_PASS, "seed %lu: %s: %s", (unsigned long)seed, r->invariant,
                     r->detail);
        cr_assert_eq(counter("membership.removed"), 1);
        cr_assert_eq(counter("membership.added"), 1);
        cr_assert_eq(counter("membership.stopped"), 1);
        cr_assert_geq(r->elections, 2, "a new leader after the old one stepped down");
    }
}

/* Invariant: quorum_overlap catches a core that applies membership changes directly (no joint
 * configuration) and before the previous one commits. */
Test(sim_membership, unsafe_config_change_is_caught)
{
    load("scenarios/membership-churn.ini");
    const struct report_run *r = hunt(RAFT_BUG_UNSAFE_CONFIG_CHANGE, 5);
    static const char *const allowed[] = { "quorum_overlap", "election_safety" };
    expect_invariant(r, allowed, 2);
    cr_assert(strstr(r->repro, "--bug unsafe-config-change") != NULL, "%s", r->repro);
}

/* Invariant: the same seed gives the same run with membership changes, transfers and slow
 * nodes (every decision goes through the chooser). */
Test(sim_membership, churn_is_deterministic)
{
    load("scenarios/membership-churn.ini");
    uint64_t first = run_seed(9, 0)->trace_hash;
    uint64_t committed = counter("membership.committed");
    cr_assert_eq(run_seed(9, 0)->trace_hash, first);
    cr_assert_eq(counter("membership.committed"), committed);
    load("scenarios/snapshot-heavy.ini");
    first = run_seed(9, 0)->trace_hash;
    cr_assert_eq(run_seed(9, 0)->trace_hash, first);
}

/* Invariant: snapshot_committed, replica_state_hash and snapshot_monotonic hold under tiny
 * compaction thresholds and a slow node: InstallSnapshot happens often, in many bounded chunks,
 * and restarted nodes restore from snapshots. */
Test(sim_membership, snapshot_heavy_installs_in_chunks)
{
    load("scenarios/snapshot-heavy.ini");
    uint64_t installs = 0;
    uint64_t chunks = 0;
    uint64_t restores = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        const struct report_run *r = run_seed(seed, 0);
        cr_assert_eq(r->verdict, REPORT_PASS, "seed %lu: %s: %s", (unsigned long)seed, r->invariant,
                     r->detail);
        installs += counter("snapshot.installs");
        chunks += counter("snapshot.chunks");
        restores += counter("snapshot.restores");
    }
    cr_assert_gt(installs, 10, "followers are brought back by InstallSnapshot");
    cr_assert_gt(chunks, 4 * installs, "each snapshot takes several 256-byte chunks");
    cr_assert_gt(restores, installs, "restarts restore from snapshots too");
}

/* Invariant: the snapshot-truncates-newer-log core bug is caught on the snapshot-heavy scenario
 * too (its commit goes back, or committed entries go missing). */
Test(sim_membership, snapshot_truncating_newer_log_is_caught_under_heavy_snapshots)
{
    load("scenarios/snapshot-heavy.ini");
    const struct report_run *r = hunt(RAFT_BUG_SNAPSHOT_TRUNCATES_NEWER_LOG, 10);
    static const char *const allowed[] = { "commit_monotonic", "leader_completeness",
                                           "commit_safety",    "state_machine_safety",
                                           "log_matching",     "snapshot_committed" };
    expect_invariant(r, allowed, 6);
}
