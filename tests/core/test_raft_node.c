/* Tests for the node's lifecycle contract: config checks, restore, step errors, accessors, hash. */
#include "core/raft.h"

#include <criterion/criterion.h>
#include <string.h>

static struct raft_config config3(uint32_t id)
{
    struct raft_config c;
    raft_config_default(&c);
    c.id = id;
    c.voter_count = 3;
    for (uint32_t i = 0; i < 3; i++) {
        c.voter_ids[i] = i + 1;
    }
    c.seed = 1234;
    return c;
}

static struct raft_update step_tick(struct raft_node *node)
{
    struct raft_event ev = { .type = RAFT_EVENT_TICK };
    struct raft_update u;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_OK);
    return u;
}

/* Invariant: the defaults are valid, pre-vote and check-quorum are on, no bugs are set. */
Test(raft_node, defaults_are_valid_and_safe)
{
    struct raft_config c = config3(1);
    const char *reason = "x";
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_OK);
    cr_assert_null(reason);
    cr_assert(c.pre_vote);
    cr_assert(c.check_quorum);
    cr_assert_eq(c.test_bugs, 0);
    cr_assert_geq(RAFT_NODES_MAX, 18, "a 9-node cluster fully replaced fits a joint config");
}

/* Invariant: every invalid config is refused with a reason naming the field, and create
 * returns NULL for it. */
Test(raft_node, invalid_configs_refused_with_reason)
{
    struct raft_config c;
    const char *reason = NULL;

    c = config3(0);
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_ERR_INVALID);
    cr_assert(strstr(reason, "id") != NULL);
    cr_assert_null(raft_node_create(&c));

    c = config3(1);
    c.voter_ids[2] = 2;
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_ERR_INVALID);
    cr_assert(strstr(reason, "voter_ids") != NULL);

    c = config3(1);
    c.learner_count = 1;
    c.learner_ids[0] = 3;
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_ERR_INVALID);
    cr_assert(strstr(reason, "learner_ids") != NULL);

    c = config3(1);
    c.heartbeat_interval_ticks = c.election_timeout_ticks_min;
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_ERR_INVALID);
    cr_assert(strstr(reason, "election_timeout_ticks_min") != NULL);

    c = config3(1);
    c.election_timeout_ticks_max = c.election_timeout_ticks_min - 1;
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_ERR_INVALID);
    cr_assert(strstr(reason, "election_timeout_ticks_max") != NULL);

    c = config3(1);
    c.limits.inflight_appends_max = RAFT_INFLIGHT_MAX + 1;
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_ERR_INVALID);
    cr_assert(strstr(reason, "inflight_appends_max") != NULL);

    c = config3(1);
    c.limits.entry_bytes_max = c.limits.append_bytes_max + 1;
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_ERR_INVALID);
    cr_assert(strstr(reason, "entry_bytes_max") != NULL);

    c = config3(1);
    c.limits.log_entries_max = 0;
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_ERR_INVALID);
    cr_assert(strstr(reason, "log_entries_max") != NULL);
    cr_assert_null(raft_node_create(&c));

    c = config3(1);
    c.test_bugs = 1u << 20;
    cr_assert_eq(raft_config_check(&c, &reason), RAFT_ERR_INVALID);
    cr_assert(strstr(reason, "test_bugs") != NULL);
}

static struct raft_entry e(uint64_t index, uint64_t term, const char *text)
{
    return (struct raft_entry){ index, term, RAFT_ENTRY_COMMAND, (uint32_t)strlen(text),
                                (const uint8_t *)text };
}

/* Invariant: restore refuses inconsistent recovered state (gaps, decreasing terms, commit beyond
 * the log), says why, and leaves the node untouched. */
Test(raft_node, restore_rejects_inconsistent_state)
{
    struct raft_config c = config3(1);
    struct raft_entry gap[2] = { e(1, 1, "a"), e(3, 1, "b") };
    struct raft_entry down[2] = { e(1, 2, "a"), e(2, 1, "b") };
    struct raft_entry ok[2] = { e(1, 1, "a"), e(2, 2, "b") };
    struct {
        struct raft_restore r;
        const char *needle;
    } cases[] = {
        { { { 2, 0, 0 }, NULL, gap, 2 }, "index 3" },
        { { { 2, 0, 0 }, NULL, down, 2 }, "term 1" },
        { { { 2, 0, 3 }, NULL, ok, 2 }, "commit 3" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct raft_node *node = raft_node_create(&c);
        cr_assert_eq(raft_node_restore(node, &cases[i].r), RAFT_ERR_CORRUPT, "case %zu", i);
        cr_assert(strstr(raft_node_errmsg(node), cases[i].needle) != NULL, "case %zu: '%s'", i,
                  raft_node_errmsg(node));
        cr_assert_eq(raft_node_last_index(node), 0);
        cr_assert_eq(raft_node_term(node), 0);
        raft_node_destroy(node);
    }
}

/* Invariant: term monotonic and one vote per term across a restart from a crash between an
 * update's entries (or snapshot) and its hard state (obligation 3): the node restarts in the
 * last recovered term with no vote, and its first update stores that term. */
Test(raft_node, restore_raises_term_to_the_recovered_log)
{
    struct raft_config c = config3(1);
    struct raft_entry es[2] = { e(1, 1, "a"), e(2, 2, "b") };
    struct raft_node *node = raft_node_create(&c);
    struct raft_restore r = { { 1, 3, 1 }, NULL, es, 2 };
    cr_assert_eq(raft_node_restore(node, &r), RAFT_OK, "%s", raft_node_errmsg(node));
    cr_assert_eq(raft_node_term(node), 2);
    cr_assert_eq(raft_node_vote(node), 0, "the vote for 3 was in term 1");
    struct raft_update u = step_tick(node);
    cr_assert(u.hard_state_changed);
    cr_assert_eq(u.hard_state.term, 2);
    cr_assert_eq(u.hard_state.vote, 0);
    raft_node_destroy(node);

    c.limits.snapshot_bytes_max = 64;
    node = raft_node_create(&c);
    struct raft_snapshot snap = { .meta = { .index = 4, .term = 3 }, .data = NULL, .data_len = 0 };
    snap.meta.membership.voter_count = 3;
    for (uint32_t i = 0; i < 3; i++) {
        snap.meta.membership.voters[i] = i + 1;
    }
    struct raft_restore rs = { { 2, 2, 1 }, &snap, NULL, 0 };
    cr_assert_eq(raft_node_restore(node, &rs), RAFT_OK, "%s", raft_node_errmsg(node));
    cr_assert_eq(raft_node_term(node), 3, "an installed snapshot's term counts too");
    cr_assert_eq(raft_node_vote(node), 0);
    cr_assert_eq(raft_node_commit_index(node), 4);
    raft_node_destroy(node);

    node = raft_node_create(&c);
    struct raft_restore same = { { 2, 3, 1 }, NULL, es, 2 };
    cr_assert_eq(raft_node_restore(node, &same), RAFT_OK);
    cr_assert_eq(raft_node_vote(node), 3, "a vote in the stored term is kept");
    raft_node_destroy(node);
}

/* Invariant: a recovered entry no node could have accepted (a payload beyond
 * RAFT_ENTRY_BYTES_MAX, which the codec cannot carry) is refused as corrupt, even when the
 * in-memory log is large enough to hold it. Before, it was restored and the node, once leader,
 * built AppendEntries the codec asserts on. */
Test(raft_node, restore_rejects_entry_beyond_the_codec)
{
    struct raft_config c = config3(1);
    c.limits.log_bytes_max = 2ull * RAFT_ENTRY_BYTES_MAX;
    static uint8_t huge[RAFT_ENTRY_BYTES_MAX + 1u];
    struct raft_entry es[2] = { e(1, 1, "a"), e(2, 1, "b") };
    es[1].data = huge;
    es[1].data_len = sizeof(huge);
    struct raft_node *node = raft_node_create(&c);
    struct raft_restore r = { { 1, 0, 0 }, NULL, es, 2 };
    cr_assert_eq(raft_node_restore(node, &r), RAFT_ERR_CORRUPT);
    cr_assert(strstr(raft_node_errmsg(node), "entry 2") != NULL, "%s", raft_node_errmsg(node));
    cr_assert_eq(raft_node_last_index(node), 0);
    raft_node_destroy(node);
}

/* Invariant: a recovered log larger than the limits is refused (RAFT_ERR_BUSY), not truncated. */
Test(raft_node, restore_refuses_log_beyond_limits)
{
    struct raft_config c = config3(1);
    c.limits.log_entries_max = 2;
    struct raft_entry es[3] = { e(1, 1, "a"), e(2, 1, "b"), e(3, 1, "c") };
    struct raft_node *node = raft_node_create(&c);
    struct raft_restore r = { { 1, 0, 0 }, NULL, es, 3 };
    cr_assert_eq(raft_node_restore(node, &r), RAFT_ERR_BUSY);
    cr_assert(strstr(raft_node_errmsg(node), "log_entries_max") != NULL);
    cr_assert_eq(raft_node_last_index(node), 0);
    raft_node_destroy(node);
}

/* Invariant: a restored node has its hard state and log, counts it durable, re-applies committed
 * entries from 1 in its first update, asks nothing to be persisted again, and refuses a second
 * restore. */
Test(raft_node, restore_then_first_update)
{
    struct raft_config c = config3(2);
    struct raft_entry es[3] = { e(1, 1, "a"), e(2, 2, "b"), e(3, 2, "c") };
    struct raft_node *node = raft_node_create(&c);
    struct raft_restore r = { { 3, 1, 2 }, NULL, es, 3 };
    cr_assert_eq(raft_node_restore(node, &r), RAFT_OK);
    cr_assert_eq(raft_node_term(node), 3);
    cr_assert_eq(raft_node_vote(node), 1);
    cr_assert_eq(raft_node_commit_index(node), 2);
    cr_assert_eq(raft_node_last_index(node), 3);
    cr_assert_eq(raft_node_last_term(node), 2);
    cr_assert_eq(raft_node_persisted_index(node), 3);
    struct raft_update u = step_tick(node);
    cr_assert_eq(u.entry_count, 0);
    cr_assert_not(u.hard_state_changed);
    cr_assert_eq(u.committed_count, 2);
    cr_assert_eq(u.committed[0].index, 1);
    cr_assert(memcmp(u.committed[1].data, "b", 1) == 0);
    cr_assert_eq(raft_node_restore(node, &r), RAFT_ERR_INVALID, "only before the first step");
    raft_node_destroy(node);
}

/* Invariant: malformed events are refused with RAFT_ERR_INVALID and change nothing; messages for
 * another node are ignored. */
Test(raft_node, malformed_events_refused)
{
    struct raft_config c = config3(1);
    struct raft_node *node = raft_node_create(&c);
    uint64_t hash = raft_state_hash(node);
    struct raft_update u;
    struct raft_event ev = { .type = (enum raft_event_type)99 };
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_ERR_INVALID);
    ev = (struct raft_event){ .type = RAFT_EVENT_APPLIED };
    ev.applied.index = 5;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_ERR_INVALID, "applied beyond what was handed out");
    cr_assert(strstr(raft_node_errmsg(node), "applied") != NULL);
    ev = (struct raft_event){ .type = RAFT_EVENT_RECEIVE };
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_ERR_INVALID, "receive without a message");
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_VOTE;
    m.from = 2;
    m.to = 3; /* not us */
    m.term = 50;
    ev.receive.message = &m;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_OK);
    cr_assert_eq(u.message_count, 0);
    cr_assert_eq(raft_node_term(node), 0);
    m.to = 1;
    m.type = (enum raft_message_type)42;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_ERR_INVALID);
    cr_assert_eq(raft_state_hash(node), hash);
    raft_node_destroy(node);
}

/* Steps `m` into `node` and expects it refused with RAFT_ERR_INVALID, state untouched. */
static void expect_refused(struct raft_node *node, const struct raft_message *m, const char *what)
{
    uint64_t hash = raft_state_hash(node);
    struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = m;
    struct raft_update u;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_ERR_INVALID, "%s", what);
    cr_assert_str_not_empty(raft_node_errmsg(node), "%s: a reason is given", what);
    cr_assert_eq(u.message_count, 0, "%s", what);
    cr_assert_eq(u.entry_count, 0, "%s", what);
    cr_assert_eq(raft_state_hash(node), hash, "%s", what);
}

/* Invariant (untrusted input): a received message that raft_decode would have refused (entries
 * missing or inconsistent with prev_index, term 0, unknown types, a snapshot chunk outside its
 * stream) is refused as an event too. Before, a chunk longer than its stream was copied past the
 * receive buffer, entries with term 0 or an unknown type entered the log, and NULL entries
 * crashed the node. */
Test(raft_node, messages_the_codec_refuses_are_refused_as_events)
{
    struct raft_config c = config3(1);
    struct raft_node *node = raft_node_create(&c);
    static uint8_t big[2u << 20];
    struct raft_entry es[2] = { e(1, 1, "a"), e(2, 1, "b") };
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND;
    m.term = 1;
    m.from = 2;
    m.to = 1;
    m.append.entries = es;
    m.append.entry_count = 2;

    es[1].index = 7;
    expect_refused(node, &m, "entry index not prev_index + 1 + i");
    es[1] = e(2, 0, "b");
    expect_refused(node, &m, "entry term 0");
    es[1] = e(2, 1, "b");
    es[1].type = (enum raft_entry_type)9;
    expect_refused(node, &m, "unknown entry type");
    es[1] = e(2, 1, "b");
    es[1].data = NULL;
    expect_refused(node, &m, "payload NULL");
    m.append.entries = NULL;
    expect_refused(node, &m, "entries NULL");
    m.append.entries = es;
    m.append.prev_index = UINT64_MAX;
    expect_refused(node, &m, "prev_index overflow");

    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_SNAPSHOT;
    m.term = 1;
    m.from = 2;
    m.to = 1;
    m.snapshot = (struct raft_snapshot_chunk){ 5, 1, 10, 0, big, sizeof(big) };
    expect_refused(node, &m, "chunk longer than its stream (and than the receive buffer)");
    m.snapshot = (struct raft_snapshot_chunk){ 5, 1, 10, 11, big, 0 };
    expect_refused(node, &m, "chunk offset beyond the stream");
    m.snapshot = (struct raft_snapshot_chunk){ 5, 1, 10, 0, NULL, 4 };
    expect_refused(node, &m, "chunk data NULL");
    m.snapshot = (struct raft_snapshot_chunk){ 0, 1, 10, 0, big, 4 };
    expect_refused(node, &m, "chunk for index 0");

    m.snapshot = (struct raft_snapshot_chunk){ 5, 1, 10, 0, big, 4 };
    struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = &m;
    struct raft_update u;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_OK, "a valid chunk is still taken");
    cr_assert_eq(raft_node_term(node), 1);
    raft_node_destroy(node);
}

/* Invariant (term monotonic, untrusted input): terms and indices beyond RAFT_TERM_MAX /
 * RAFT_INDEX_MAX are refused where they enter, so term + 1 never wraps to 0. Found by fuzzing:
 * before, a peer's heartbeat at term 2^64 - 1 was adopted and the next election wrapped the
 * term to 0, aborting the node (`hs.term >= old->term`). */
Test(raft_node, terms_and_indices_beyond_the_bounds_are_refused)
{
    struct raft_config c = config3(1);
    struct raft_node *node = raft_node_create(&c);
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_HEARTBEAT;
    m.term = UINT64_MAX;
    m.from = 2;
    m.to = 1;
    expect_refused(node, &m, "heartbeat at term 2^64 - 1");
    m.term = RAFT_TERM_MAX + 1;
    expect_refused(node, &m, "heartbeat beyond RAFT_TERM_MAX");
    m.type = RAFT_MSG_SNAPSHOT;
    m.term = 1;
    static uint8_t bytes[8];
    m.snapshot = (struct raft_snapshot_chunk){ RAFT_INDEX_MAX + 1, 1, 8, 0, bytes, 8 };
    expect_refused(node, &m, "snapshot beyond RAFT_INDEX_MAX");
    struct raft_entry es[1] = { e(RAFT_INDEX_MAX + 1, 1, "a") };
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND;
    m.term = 1;
    m.from = 2;
    m.to = 1;
    m.append.prev_index = RAFT_INDEX_MAX;
    m.append.entries = es;
    m.append.entry_count = 1;
    expect_refused(node, &m, "append beyond RAFT_INDEX_MAX");
    for (int t = 0; t < 100; t++) {
        step_tick(node); /* campaigns from term 0: nothing wraps */
    }
    cr_assert_lt(raft_node_term(node), 100);
    raft_node_destroy(node);

    node = raft_node_create(&c);
    struct raft_restore r = { { UINT64_MAX, 0, 0 }, NULL, NULL, 0 };
    cr_assert_eq(raft_node_restore(node, &r), RAFT_ERR_CORRUPT);
    raft_node_destroy(node);
}

/* Invariant: the state hash covers protocol state but not timers: equal nodes hash equal,
 * a tick that does not fire leaves it, a term change moves it. */
Test(raft_node, state_hash_tracks_protocol_state_only)
{
    struct raft_config c = config3(1);
    struct raft_node *a = raft_node_create(&c);
    c.seed = 999; /* different timeouts, same protocol state */
    struct raft_node *b = raft_node_create(&c);
    cr_assert_eq(raft_state_hash(a), raft_state_hash(b));
    step_tick(a);
    cr_assert_eq(raft_state_hash(a), raft_state_hash(b));
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_HEARTBEAT;
    m.from = 2;
    m.to = 1;
    m.term = 3;
    struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = &m;
    struct raft_update u;
    raft_step(b, &ev, &u);
    cr_assert_neq(raft_state_hash(a), raft_state_hash(b));
    raft_node_destroy(a);
    raft_node_destroy(b);
}

/* Invariant: a single-node cluster elects itself and commits its own entries once persisted. */
Test(raft_node, single_node_cluster_commits_after_persist)
{
    struct raft_config c;
    raft_config_default(&c);
    c.id = 1;
    c.voter_count = 1;
    c.voter_ids[0] = 1;
    struct raft_node *node = raft_node_create(&c);
    struct raft_update u;
    for (int t = 0; t < 50 && raft_node_role(node) != RAFT_LEADER; t++) {
        u = step_tick(node);
    }
    cr_assert_eq(raft_node_role(node), RAFT_LEADER);
    cr_assert_eq(u.message_count, 0);
    cr_assert_eq(u.entry_count, 1, "the no-op");
    struct raft_event ev = { .type = RAFT_EVENT_PROPOSE };
    ev.propose.data = "k";
    ev.propose.data_len = 1;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_OK);
    cr_assert_eq(u.proposed_index, 2);
    cr_assert_eq(raft_node_commit_index(node), 0, "nothing durable yet");
    ev = (struct raft_event){ .type = RAFT_EVENT_PERSISTED };
    ev.persisted.index = 2;
    ev.persisted.term = 1;
    cr_assert_eq(raft_step(node, &ev, &u), RAFT_OK);
    cr_assert_eq(raft_node_commit_index(node), 2);
    cr_assert_eq(u.committed_count, 2);
    cr_assert(u.hard_state_changed);
    cr_assert_eq(u.hard_state.commit, 2, "commit is part of the persisted hard state");
    raft_node_destroy(node);
}

/* Invariant: an update never carries more than messages_per_update_max messages. */
Test(raft_node, messages_per_update_bounded)
{
    struct raft_config c;
    raft_config_default(&c);
    c.id = 1;
    c.voter_count = 9;
    for (uint32_t i = 0; i < 9; i++) {
        c.voter_ids[i] = i + 1;
    }
    c.pre_vote = false;
    c.limits.messages_per_update_max = 3;
    struct raft_node *node = raft_node_create(&c);
    for (int t = 0; t < 50; t++) {
        struct raft_update u = step_tick(node);
        cr_assert_leq(u.message_count, 3);
    }
    raft_node_destroy(node);
}

/* Invariant: names exist for every role, message, entry, event and error. */
Test(raft_node, names_for_traces)
{
    for (int r = RAFT_FOLLOWER; r <= RAFT_LEADER; r++) {
        cr_assert_str_neq(raft_role_name((enum raft_role)r), "unknown-role");
    }
    for (int t = 1; t <= RAFT_MESSAGE_TYPE_COUNT; t++) {
        cr_assert_str_neq(raft_message_type_name((enum raft_message_type)t), "unknown-message");
    }
    for (int t = RAFT_EVENT_TICK; t <= RAFT_EVENT_CHANGE_CONFIG; t++) {
        cr_assert_str_neq(raft_event_type_name((enum raft_event_type)t), "unknown-event");
    }
    for (int t = RAFT_ENTRY_NOOP; t <= RAFT_ENTRY_CONFIG; t++) {
        cr_assert_str_neq(raft_entry_type_name((enum raft_entry_type)t), "unknown-entry");
    }
    for (int err = RAFT_OK; err >= RAFT_ERR_DECODE; err--) {
        cr_assert_str_neq(raft_strerror(err), "unknown error");
    }
}
