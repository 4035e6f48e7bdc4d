/* The Raft paper's Figure 7 (log repair) and Figure 8 (commit rule) played step by step. */
#include "core/raft.h"
#include "tests/core/raft_harness.h"

#include <criterion/criterion.h>
#include <string.h>

#define ALL_5   0x1fu
#define MASK(i) (1u << ((i)-1))

/* Scripted runs: only the ticked node campaigns; one entry per AppendEntries, so a script can
 * decide exactly which entries reach whom. */
static void scripted(struct raft_config *c, uint32_t id, void *ctx)
{
    (void)id;
    c->pre_vote = false;
    c->check_quorum = false;
    c->limits.append_entries_max = 1;
    if (ctx != NULL) {
        c->test_bugs = *(const uint32_t *)ctx;
    }
}

/* Which frames a script step lets through. */
struct script {
    uint32_t vote_mask;   /* (pre-)vote traffic allowed between these nodes */
    uint32_t append_mask; /* append/heartbeat traffic allowed between these nodes */
    uint32_t drop_to;     /* also drop appends to this node that it would accept and that */
    uint64_t drop_term;   /* carry entries of drop_term (those it would reject pass) */
    struct harness *h;
    uint32_t rejects_from; /* counts rejections sent by this node */
    uint32_t rejects;
};

static bool in(uint32_t mask, uint32_t id)
{
    return (mask >> (id - 1)) & 1u;
}

static bool script_filter(const struct raft_message *m, void *ctx)
{
    struct script *s = ctx;
    bool vote = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_VOTE_RESPONSE ||
                m->type == RAFT_MSG_PRE_VOTE || m->type == RAFT_MSG_PRE_VOTE_RESPONSE;
    uint32_t mask = vote ? s->vote_mask : s->append_mask;
    if (!in(mask, m->from) || !in(mask, m->to)) {
        return false;
    }
    if (m->type == RAFT_MSG_APPEND && m->to == s->drop_to && s->h != NULL &&
        h_has(s->h, m->to, m->append.prev_index, m->append.prev_term)) {
        for (uint32_t i = 0; i < m->append.entry_count; i++) {
            if (m->append.entries[i].term == s->drop_term) {
                return false;
            }
        }
    }
    if (m->type == RAFT_MSG_APPEND_RESPONSE && m->from == s->rejects_from &&
        m->append_response.reject) {
        s->rejects++;
    }
    return true;
}

/* Ticks `id` until it leads, delivering per the script; then lets replication settle. */
static void script_elect(struct harness *h, uint32_t id, struct script *s)
{
    for (int t = 0; t < 400 && raft_node_role(h_raft(h, id)) != RAFT_LEADER; t++) {
        h_tick(h, id);
        h_deliver_filtered(h, script_filter, s);
    }
    cr_assert_eq(raft_node_role(h_raft(h, id)), RAFT_LEADER, "node %u did not win", id);
    for (int t = 0; t < 6; t++) {
        h_tick(h, id);
        h_deliver_filtered(h, script_filter, s);
    }
}

static void assert_log(struct harness *h, uint32_t id, const char *expected)
{
    char buf[256];
    h_log_terms(h, id, buf, sizeof(buf));
    cr_assert_str_eq(buf, expected, "node %u log terms", id);
}

/*
 * Figure 7: a leader of term 8 meets followers (a)-(f) with missing, extra and conflicting
 * entries. Invariants: the leader is elected by the up-to-date majority (a, b, e, f; (c) and (d)
 * refuse, §5.4.1); log matching holds at every step; every follower ends with exactly the
 * leader's log; fast backtracking repairs (f) in few round trips.
 */
Test(raft_figures, figure7_leader_repairs_every_follower_log)
{
    static const uint64_t leader[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6 };
    static const uint64_t a[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6 };
    static const uint64_t b[] = { 1, 1, 1, 4 };
    static const uint64_t c[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6 };
    static const uint64_t d[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7 };
    static const uint64_t e[] = { 1, 1, 1, 4, 4, 4, 4 };
    static const uint64_t f[] = { 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3 };
    struct harness *h = h_create(7, 70, scripted, NULL);
    h_load_log(h, 1, leader, 10, 7, 0);
    h_load_log(h, 2, a, 9, 7, 0);
    h_load_log(h, 3, b, 4, 7, 0);
    h_load_log(h, 4, c, 11, 7, 0);
    h_load_log(h, 5, d, 12, 7, 0);
    h_load_log(h, 6, e, 7, 7, 0);
    h_load_log(h, 7, f, 11, 7, 0);
    cr_assert_str_empty(h->violation, "%s", h->violation);

    struct script s = { .vote_mask = 0x7f, .append_mask = 0x7f, .rejects_from = 7 };
    script_elect(h, 1, &s);
    cr_assert_eq(raft_node_term(h_raft(h, 1)), 8, "the leader of Figure 7 leads term 8");
    cr_assert_eq(raft_node_vote(h_raft(h, 4)), 0, "(c) refused: its log is more up-to-date");
    cr_assert_eq(raft_node_vote(h_raft(h, 5)), 0, "(d) refused: its last term is 7");
    for (int t = 0; t < 20; t++) {
        h_tick(h, 1);
        h_deliver_filtered(h, script_filter, &s);
    }
    for (uint32_t id = 1; id <= 7; id++) {
        assert_log(h, id, "1 1 1 4 4 5 5 6 6 6 8");
        cr_assert_eq(raft_node_commit_index(h_raft(h, id)), 11, "node %u commit", id);
    }
    cr_assert_leq(s.rejects, 3, "(f) needed %u rejections with the conflict-term hint", s.rejects);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/*
 * Figure 8, (a) to (d): S1 (term 2) puts index 2 on S2; S5 (term 3) writes a different index 2;
 * S1 (term 4) puts its index 2 on S3, so a majority holds it, but its own no-op (index 3, term 4)
 * is only on S1 and S2. Returns S1's commit index at that moment, and leaves in h->violation
 * whatever the checkers found after S5 (term 5) is elected and replicates its log.
 */
static uint64_t figure8(struct harness *h)
{
    static const uint64_t one[] = { 1 };
    for (uint32_t id = 1; id <= 5; id++) {
        h_load_log(h, id, one, 1, 1, 1);
    }
    /* (a) S1 leads term 2 with votes from S2, S3; its entry 2 reaches S2 only. */
    struct script a = { .vote_mask = MASK(1) | MASK(2) | MASK(3),
                        .append_mask = MASK(1) | MASK(2) };
    script_elect(h, 1, &a);
    cr_assert_eq(raft_node_term(h_raft(h, 1)), 2);
    cr_assert(h_has(h, 1, 2, 2) && h_has(h, 2, 2, 2));
    cr_assert_eq(raft_node_last_index(h_raft(h, 3)), 1);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), 1, "index 2 is on 2 of 5 only");

    /* (b) S1 crashes; S5 leads term 3 with votes from S3, S4 and writes its own index 2. */
    h_crash(h, 1);
    struct script b = { .vote_mask = MASK(3) | MASK(4) | MASK(5), .append_mask = MASK(5) };
    script_elect(h, 5, &b);
    cr_assert_eq(raft_node_term(h_raft(h, 5)), 3);
    cr_assert(h_has(h, 5, 2, 3));

    /* (c) S5 crashes; S1 restarts and leads term 4 with votes from S2, S3. Index 2 (term 2)
     * reaches S3; the term-4 no-op reaches S2 but not S3. */
    h_crash(h, 5);
    h_restart(h, 1);
    struct script c = { .vote_mask = MASK(1) | MASK(2) | MASK(3),
                        .append_mask = MASK(1) | MASK(2) | MASK(3),
                        .drop_to = 3,
                        .drop_term = 4,
                        .h = h };
    script_elect(h, 1, &c);
    cr_assert_eq(raft_node_term(h_raft(h, 1)), 4);
    cr_assert(h_has(h, 3, 2, 2), "S3 holds index 2 from term 2: a majority (S1, S2, S3)");
    cr_assert_not(h_has(h, 3, 3, 4));
    uint64_t dangerous = raft_node_commit_index(h_raft(h, 1));

    /* (d) S1 crashes; S5 restarts and leads term 5 with votes from S3, S4, overwriting index 2
     * on every reachable node. */
    h_crash(h, 1);
    h_restart(h, 5);
    struct script d = { .vote_mask = MASK(2) | MASK(3) | MASK(4) | MASK(5),
                        .append_mask = MASK(2) | MASK(3) | MASK(4) | MASK(5) };
    script_elect(h, 5, &d);
    cr_assert_eq(raft_node_term(h_raft(h, 5)), 5);
    for (int t = 0; t < 10; t++) {
        h_tick(h, 5);
        h_deliver_filtered(h, script_filter, &d);
    }
    return dangerous;
}

/* Invariant (§5.4.2): a leader never commits a previous-term entry by counting replicas, so
 * Figure 8's overwrite of index 2 is safe. */
Test(raft_figures, figure8_previous_term_entry_not_committed_by_counting)
{
    struct harness *h = h_create(5, 80, scripted, NULL);
    uint64_t commit = figure8(h);
    cr_assert_eq(commit, 1, "S1 must not commit index 2 (term 2) in term 4");
    cr_assert(h_has(h, 3, 2, 3), "S5's index 2 replaced S1's on S3");
    cr_assert_geq(raft_node_commit_index(h_raft(h, 5)), 2, "and S5 committed it");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* The same script with RAFT_BUG_COMMIT_PREVIOUS_TERM: S1 commits index 2 by counting replicas,
 * S5 then overwrites it, and the checkers report it — proving the test above can fail. */
Test(raft_figures, figure8_bug_commit_previous_term_is_caught)
{
    uint32_t bugs = RAFT_BUG_COMMIT_PREVIOUS_TERM;
    struct harness *h = h_create(5, 80, scripted, &bugs);
    uint64_t commit = figure8(h);
    cr_assert_eq(commit, 2, "the broken leader commits the previous-term entry");
    bool caught = strstr(h->violation, "state machine safety") != NULL ||
                  strstr(h->violation, "leader completeness") != NULL;
    cr_assert(caught, "the checkers must catch the overwrite; got '%s'", h->violation);
    h_destroy(h);
}

/* Figure 8 (e): if S1 replicates its term-4 entry to a majority before crashing, index 2 and 3
 * commit and S5 can no longer win (§5.4.1 election restriction). */
Test(raft_figures, figure8_e_current_term_entry_commits_and_blocks_s5)
{
    struct harness *h = h_create(5, 81, scripted, NULL);
    static const uint64_t one[] = { 1 };
    for (uint32_t id = 1; id <= 5; id++) {
        h_load_log(h, id, one, 1, 1, 1);
    }
    struct script a = { .vote_mask = MASK(1) | MASK(2) | MASK(3),
                        .append_mask = MASK(1) | MASK(2) };
    script_elect(h, 1, &a);
    h_crash(h, 1);
    struct script b = { .vote_mask = MASK(3) | MASK(4) | MASK(5), .append_mask = MASK(5) };
    script_elect(h, 5, &b);
    h_crash(h, 5);
    h_restart(h, 1);
    struct script c = { .vote_mask = MASK(1) | MASK(2) | MASK(3),
                        .append_mask = MASK(1) | MASK(2) | MASK(3) };
    script_elect(h, 1, &c);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), 3, "index 3 (term 4) on S1, S2, S3");
    h_crash(h, 1);
    h_restart(h, 5);
    struct script d = { .vote_mask = MASK(2) | MASK(3) | MASK(4) | MASK(5),
                        .append_mask = MASK(2) | MASK(3) | MASK(4) | MASK(5) };
    for (int t = 0; t < 200; t++) {
        h_tick(h, 5);
        h_deliver_filtered(h, script_filter, &d);
    }
    cr_assert_neq(raft_node_role(h_raft(h, 5)), RAFT_LEADER, "S5 lacks committed entries");
    cr_assert(h_has(h, 3, 2, 2) && h_has(h, 3, 3, 4));
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}
