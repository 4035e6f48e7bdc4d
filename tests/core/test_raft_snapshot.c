/* Tests for snapshots (§7): compaction, chunked InstallSnapshot, stale snapshots, restart. */
#include "core/raft.h"
#include "core/raft_codec.h"
#include "tests/core/raft_harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Scripted: no pre-vote/check-quorum, nothing kept behind a snapshot, 16-byte chunks so a
 * snapshot (about 53 bytes) travels in several. The optional ctx holds test_bugs for node 3. */
static void snap_config(struct raft_config *c, uint32_t id, void *ctx)
{
    c->pre_vote = false;
    c->check_quorum = false;
    c->limits.snapshot_trailing_entries = 0;
    c->limits.snapshot_chunk_bytes_max = 16;
    if (ctx != NULL && id == 3) {
        c->test_bugs = *(const uint32_t *)ctx;
    }
}

/* Proposes n commands on the leader and delivers everything. */
static void propose_n(struct harness *h, uint32_t leader, int n)
{
    h_propose_n(h, leader, n, "cmd");
    h_deliver_all(h);
}

/* Invariant: taking a snapshot compacts the log behind it, hands it to storage (which drops the
 * covered entries), and the snapshot index never goes backwards; oversized or unapplied
 * snapshots are refused. */
Test(raft_snapshot, take_compacts_and_never_goes_back)
{
    struct harness *h = h_create(3, 101, snap_config, NULL);
    cr_assert(h_elect(h, 1, 0));
    propose_n(h, 1, 10);
    h_settle(h, 1, 2);
    struct raft_node *r = h_raft(h, 1);
    cr_assert_eq(raft_node_applied_index(r), 11);
    cr_assert_eq(h_take_snapshot(h, 1), RAFT_OK);
    cr_assert_eq(raft_node_snapshot_index(r), 11);
    cr_assert_eq(raft_node_first_index(r), 12, "everything up to the snapshot compacted");
    uint64_t term = 0;
    cr_assert(raft_node_term_at(r, 11, &term), "the snapshot's term is still known");
    cr_assert_eq(h_node(h, 1)->disk_snapshot.meta.index, 11);
    cr_assert_eq(h_node(h, 1)->disk_snapshot.meta.membership.voter_count, 3);
    cr_assert_eq(h_node(h, 1)->disk_count, 0, "storage dropped the covered entries");

    struct raft_event ev = { .type = RAFT_EVENT_SNAPSHOT };
    uint8_t bytes[24] = { 0 };
    ev.snapshot.index = 5;
    ev.snapshot.data = bytes;
    ev.snapshot.data_len = sizeof(bytes);
    cr_assert_eq(h_step(h, 1, &ev), RAFT_OK);
    cr_assert_eq(raft_node_snapshot_index(r), 11, "an older snapshot is ignored");
    ev.snapshot.index = 12;
    cr_assert_eq(h_step(h, 1, &ev), RAFT_ERR_INVALID, "beyond the applied index");
    static uint8_t big[5000];
    ev.snapshot.index = 11;
    ev.snapshot.data = big;
    ev.snapshot.data_len = sizeof(big);
    cr_assert_eq(h_step(h, 1, &ev), RAFT_ERR_TOO_BIG);
    propose_n(h, 1, 3);
    h_settle(h, 1, 2);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 2)), 14);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

struct chunk_count {
    uint32_t chunks;
    uint32_t bytes_max;
    uint32_t drop_first; /* drop this many snapshot frames before delivering */
};

static bool count_chunks(const struct raft_message *m, void *ctx)
{
    struct chunk_count *c = ctx;
    if (m->type != RAFT_MSG_SNAPSHOT) {
        return true;
    }
    if (c->drop_first > 0) {
        c->drop_first--;
        return false;
    }
    c->chunks++;
    c->bytes_max = m->snapshot.data_len > c->bytes_max ? m->snapshot.data_len : c->bytes_max;
    return true;
}

/* Brings node 3 far behind a leader (node 1) that has compacted its log into a snapshot. */
static struct harness *lagging_follower(uint32_t *bugs)
{
    struct harness *h = h_create(3, 102, snap_config, bugs);
    cr_assert(h_elect(h, 1, 0));
    h_deliver_all(h);
    h_isolate(h, 3, true);
    propose_n(h, 1, 20);
    h_settle(h, 1, 2);
    cr_assert_eq(h_take_snapshot(h, 1), RAFT_OK);
    cr_assert_eq(raft_node_snapshot_index(h_raft(h, 1)), 21);
    h_isolate(h, 3, false);
    return h;
}

/* Invariant: a follower behind the leader's compaction point receives the snapshot in bounded
 * chunks, restores its state machine from it (same state as everyone at that index), and
 * continues from the log after it. */
Test(raft_snapshot, lagging_follower_installs_chunked_snapshot)
{
    struct harness *h = lagging_follower(NULL);
    struct chunk_count cc = { 0, 0, 0 };
    for (int t = 0; t < 6; t++) {
        h_tick(h, 1);
        h_deliver_filtered(h, count_chunks, &cc);
    }
    cr_assert_geq(cc.chunks, 3, "the snapshot travelled in %u chunks", cc.chunks);
    cr_assert_leq(cc.bytes_max, 16, "no chunk exceeds snapshot_chunk_bytes_max");
    struct raft_node *f = h_raft(h, 3);
    cr_assert_eq(raft_node_snapshot_index(f), 21);
    cr_assert_eq(h_node(h, 3)->snapshots_installed, 1);
    cr_assert_eq(h_node(h, 3)->applied, 21);
    cr_assert_eq(h_node(h, 3)->sm_hash, h_node(h, 1)->sm_hash);
    propose_n(h, 1, 5);
    h_settle(h, 1, 2);
    cr_assert_eq(raft_node_commit_index(f), 26);
    cr_assert_eq(h_node(h, 3)->applied, 26);
    cr_assert_eq(h_node(h, 3)->disk_snapshot.meta.index, 21, "the installed snapshot is stored");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a lost chunk is resent (after the next heartbeat answer) and the install completes. */
Test(raft_snapshot, lost_chunks_are_resent)
{
    struct harness *h = lagging_follower(NULL);
    struct chunk_count cc = { 0, 0, 2 };
    for (int t = 0; t < 12; t++) {
        h_tick(h, 1);
        h_deliver_filtered(h, count_chunks, &cc);
    }
    cr_assert_eq(raft_node_snapshot_index(h_raft(h, 3)), 21);
    cr_assert_eq(h_node(h, 3)->applied, 21);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

struct saved_frames {
    uint8_t *bytes[64];
    size_t len[64];
    uint32_t count;
    struct harness *h;
};

static bool save_snapshot_frames(const struct raft_message *m, void *ctx)
{
    struct saved_frames *s = ctx;
    if (m->type == RAFT_MSG_SNAPSHOT && s->count < 64) {
        /* Re-encode a copy: the original frame is freed on delivery. */
        size_t len = raft_encoded_size(m);
        s->bytes[s->count] = malloc(len);
        raft_encode(m, s->bytes[s->count], len, &s->len[s->count]);
        s->count++;
    }
    return true;
}

/* Replays the saved snapshot frames into node 3, long after it moved on. */
static void replay(struct harness *h, struct saved_frames *s)
{
    for (uint32_t i = 0; i < s->count; i++) {
        struct raft_message m;
        struct raft_entry entries[4];
        cr_assert_eq(raft_decode(s->bytes[i], s->len[i], &m, entries, 4, NULL), RAFT_OK);
        h_inject(h, &m);
        free(s->bytes[i]);
    }
}

static const char *stale_snapshot_run(uint32_t bugs, uint64_t *last_before, uint64_t *last_after)
{
    static char violation[512];
    struct harness *h = lagging_follower(&bugs);
    struct saved_frames saved = { .count = 0, .h = h };
    for (int t = 0; t < 6; t++) {
        h_tick(h, 1);
        h_deliver_filtered(h, save_snapshot_frames, &saved);
    }
    cr_assert_geq(saved.count, 3);
    propose_n(h, 1, 8);
    h_settle(h, 1, 2);
    *last_before = raft_node_last_index(h_raft(h, 3));
    replay(h, &saved); /* retransmitted/stale InstallSnapshot chunks arrive now */
    *last_after = raft_node_last_index(h_raft(h, 3));
    snprintf(violation, sizeof(violation), "%s", h->violation);
    h_destroy(h);
    return violation;
}

/* Invariant: a stale or retransmitted snapshot never truncates entries newer than it; with
 * RAFT_BUG_SNAPSHOT_TRUNCATES_NEWER_LOG it does, and the checkers report it. */
Test(raft_snapshot, stale_snapshot_never_truncates_newer_log)
{
    uint64_t before = 0;
    uint64_t after = 0;
    const char *v = stale_snapshot_run(0, &before, &after);
    cr_assert_str_empty(v, "%s", v);
    cr_assert_eq(before, 29, "no-op + 20 + 8 entries");
    cr_assert_eq(after, before, "the stale snapshot left the newer entries alone");
    v = stale_snapshot_run(RAFT_BUG_SNAPSHOT_TRUNCATES_NEWER_LOG, &before, &after);
    cr_assert_lt(after, before, "the broken variant truncated");
    cr_assert_str_not_empty(v, "the checkers must report the lost entries");
}

/* Invariant: restart loads the newest snapshot, then the log after it: the state machine is
 * restored from the snapshot first and the later entries are applied on top. */
Test(raft_snapshot, restart_loads_snapshot_then_log)
{
    struct harness *h = h_create(3, 103, snap_config, NULL);
    cr_assert(h_elect(h, 1, 0));
    propose_n(h, 1, 6);
    h_settle(h, 1, 2);
    cr_assert_eq(h_take_snapshot(h, 2), RAFT_OK);
    cr_assert_eq(raft_node_snapshot_index(h_raft(h, 2)), 7);
    propose_n(h, 1, 4);
    h_settle(h, 1, 2);
    uint64_t sm = h_node(h, 2)->sm_hash;
    cr_assert_eq(h_node(h, 2)->applied, 11);
    h_crash(h, 2);
    h_restart(h, 2);
    struct raft_node *r = h_raft(h, 2);
    cr_assert_eq(raft_node_snapshot_index(r), 7);
    cr_assert_eq(raft_node_first_index(r), 8);
    cr_assert_eq(raft_node_last_index(r), 11);
    h_tick(h, 2); /* the first update restores the snapshot, then applies 8..11 */
    cr_assert_eq(h_node(h, 2)->snapshots_installed, 1);
    cr_assert_eq(h_node(h, 2)->applied, 11);
    cr_assert_eq(h_node(h, 2)->sm_hash, sm);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Invariant: a follower whose log conflicts with the snapshot loses its whole log (the update
 * truncates after the snapshot point) and acknowledges the snapshot's (index, term). */
Test(raft_snapshot, conflicting_log_replaced_by_snapshot)
{
    struct harness *h = h_create(3, 104, snap_config, NULL);
    static const uint64_t good[] = { 1, 2, 2 };
    static const uint64_t bad[] = { 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 };
    h_load_log(h, 1, good, 3, 3, 1);
    h_load_log(h, 2, good, 3, 3, 1);
    h_load_log(h, 3, bad, 12, 3, 1);
    h_isolate(h, 3, true);
    cr_assert(h_elect(h, 1, 0x3));
    propose_n(h, 1, 2);
    h_settle(h, 1, 2);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), 6);
    cr_assert_eq(h_take_snapshot(h, 1), RAFT_OK);
    h_isolate(h, 3, false);
    h_settle(h, 1, 8);
    struct raft_node *f = h_raft(h, 3);
    cr_assert_eq(raft_node_snapshot_index(f), 6);
    cr_assert_eq(h_node(h, 3)->last_truncate_from, 7, "stored entries after the snapshot go");
    cr_assert_eq(raft_node_last_index(f), 6);
    cr_assert_eq(raft_node_persisted_index(f), 6, "the snapshot's acknowledgement counted");
    cr_assert_eq(h_node(h, 3)->disk_count, 0);
    propose_n(h, 1, 1);
    h_settle(h, 1, 2);
    cr_assert_eq(raft_node_commit_index(f), 7);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Takes a snapshot on node `id` at `index` with `len` bytes of filler (not the harness's state
 * machine format: use it only for a snapshot no follower will restore). */
static void take_raw_snapshot(struct harness *h, uint32_t id, uint64_t index, size_t len)
{
    static uint8_t filler[256];
    cr_assert_leq(len, sizeof(filler));
    memset(filler, 0xab, len);
    struct raft_event ev = { .type = RAFT_EVENT_SNAPSHOT };
    ev.snapshot.index = index;
    ev.snapshot.data = filler;
    ev.snapshot.data_len = len;
    cr_assert_eq(h_step(h, id, &ev), RAFT_OK);
}

/* Delivers frames in FIFO order, except a SNAPSHOT_RESPONSE from `from` acknowledging `offset`
 * bytes, which is left in flight. Returns its position, or SIZE_MAX if none came. */
static size_t deliver_holding_snapshot_ack(struct harness *h, uint32_t from, uint64_t offset)
{
    size_t held = SIZE_MAX;
    for (int i = 0; i < 1000 && h->net_count > (held == SIZE_MAX ? 0 : 1); i++) {
        size_t pos = held == 0 ? 1 : 0;
        struct raft_message m;
        h_peek(h, pos, &m);
        if (held == SIZE_MAX && m.type == RAFT_MSG_SNAPSHOT_RESPONSE && m.from == from &&
            !m.snapshot_response.reject && m.snapshot_response.offset == offset) {
            h_reorder(h, pos);
            held = h->net_count - 1;
            continue;
        }
        h_deliver(h, pos);
        if (held != SIZE_MAX && held > 0) {
            held--;
        }
    }
    return held;
}

/*
 * Invariant (§7, log matching): a leader counts a follower as holding a snapshot only when that
 * follower acknowledged ALL of the stream it was sent. Here the leader compacts again (a newer,
 * shorter snapshot) while a partial acknowledgement of the older stream is in flight; that
 * acknowledgement covers as many bytes as the new stream has, but it is not an install. Before
 * the fix the leader took it for one, set the follower's match to the old snapshot index, and its
 * heartbeats then let the follower commit its own conflicting entries (state machine safety).
 */
Test(raft_snapshot, partial_ack_of_an_older_stream_is_not_an_install)
{
    struct harness *h = h_create(3, 105, snap_config, NULL);
    static const uint64_t good[] = { 1, 2, 2 };
    static const uint64_t bad[] = { 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 };
    h_load_log(h, 1, good, 3, 3, 1);
    h_load_log(h, 2, good, 3, 3, 1);
    h_load_log(h, 3, bad, 12, 3, 1); /* entries 2..12 of term 3 never committed */
    h_isolate(h, 3, true);
    cr_assert(h_elect(h, 1, 0x3));
    propose_n(h, 1, 4);
    h_settle(h, 1, 2);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), 8);
    take_raw_snapshot(h, 1, 6, 100); /* stream: 4 + 25 + 100 = 129 bytes, 9 chunks of 16 */
    h_isolate(h, 3, false);
    h_tick(h, 1);
    h_tick(h, 1); /* heartbeat: node 3 answers, is probed, and gets the snapshot stream */
    size_t held = deliver_holding_snapshot_ack(h, 3, 64);
    cr_assert_neq(held, SIZE_MAX, "node 3 acknowledged 64 bytes of the 129-byte stream");
    cr_assert_eq(raft_node_snapshot_index(h_raft(h, 3)), 0, "nothing installed yet");

    cr_assert_eq(h_take_snapshot(h, 1), RAFT_OK); /* index 8, stream 4 + 25 + 24 = 53 bytes */
    cr_assert_eq(raft_node_snapshot_index(h_raft(h, 1)), 8);
    h_deliver(h, held); /* "64 bytes received" for the snapshot at index 6 */
    uint64_t match = 0;
    cr_assert(raft_node_peer_match(h_raft(h, 1), 3, &match));
    cr_expect_eq(match, 0, "node 3 installed nothing, yet its match is %llu",
                 (unsigned long long)match);
    h_clear_net(h);     /* the newer stream's first chunk is lost: a heartbeat comes first */
    h_settle(h, 1, 12); /* heartbeats, the newer snapshot, the log after it */
    cr_assert_str_empty(h->violation, "%s", h->violation);
    cr_assert_eq(raft_node_snapshot_index(h_raft(h, 3)), 8);
    cr_assert_eq(h_node(h, 3)->sm_hash, h_node(h, 1)->sm_hash);
    h_destroy(h);
}

/* A snapshot stream as a leader sends it: [u32 membership length][membership {1,2,3}][the
 * harness state machine's 24 bytes: applied index, state hash, commands]. */
static size_t build_stream(uint8_t *out, size_t cap, uint64_t index, uint64_t state_hash)
{
    struct raft_membership m;
    memset(&m, 0, sizeof(m));
    m.voter_count = 3;
    for (uint32_t i = 0; i < 3; i++) {
        m.voters[i] = i + 1;
    }
    size_t mlen = 0;
    cr_assert_eq(raft_membership_encode(&m, out + 4, cap - 4, &mlen), RAFT_OK);
    for (int b = 0; b < 4; b++) {
        out[b] = (uint8_t)(mlen >> (8 * b));
    }
    uint64_t words[3] = { index, state_hash, 1 };
    uint8_t *sm = out + 4 + mlen;
    for (int w = 0; w < 3; w++) {
        for (int b = 0; b < 8; b++) {
            sm[w * 8 + b] = (uint8_t)(words[w] >> (8 * b));
        }
    }
    return 4 + mlen + 24;
}

static void inject_chunk(struct harness *h, uint32_t from, uint64_t term, const uint8_t *stream,
                         size_t total, size_t offset, size_t len)
{
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_SNAPSHOT;
    m.term = term;
    m.from = from;
    m.to = 3;
    m.snapshot =
        (struct raft_snapshot_chunk){ 5, 2, total, offset, stream + offset, (uint32_t)len };
    cr_assert_eq(h_inject(h, &m), RAFT_OK);
}

/*
 * Invariant (§7): a follower installs a snapshot exactly as one leader sent it. Two leaders may
 * each hold a snapshot at the same (index, term) and length whose bytes differ (a state
 * machine's encoding of one state need not be canonical); a receive begun from the leader of
 * one term must not be completed with another leader's chunks. Before the fix, node 3 spliced
 * the first 40 bytes of leader 1's stream and the rest of leader 2's into a snapshot neither
 * had taken.
 */
Test(raft_snapshot, chunks_of_two_leaders_never_mix)
{
    struct harness *h = h_create(3, 106, snap_config, NULL);
    uint8_t a[128];
    uint8_t b[128];
    size_t total = build_stream(a, sizeof(a), 5, 0xaaaa);
    cr_assert_eq(build_stream(b, sizeof(b), 5, 0xbbbb), total);
    cr_assert_gt(total, 40);
    inject_chunk(h, 1, 2, a, total, 0, 40);          /* the leader of term 2 starts its stream */
    inject_chunk(h, 2, 3, b, total, 40, total - 40); /* the leader of term 3 finishes its own */
    cr_assert_eq(raft_node_snapshot_index(h_raft(h, 3)), 0, "a spliced stream was installed");
    inject_chunk(h, 2, 3, b, total, 0, 40); /* leader 2 restarts from the beginning */
    inject_chunk(h, 2, 3, b, total, 40, total - 40);
    const struct raft_snapshot *s = raft_node_snapshot(h_raft(h, 3));
    cr_assert_not_null(s);
    cr_assert_eq(s->meta.index, 5);
    cr_assert_eq(h_node(h, 3)->sm_hash, 0xbbbb, "leader 2's snapshot, all of it");
    h_clear_net(h);
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}

/* Pipelines everything: all proposals go out at once, each append carrying the commit index of
 * the moment it was sent. */
static void wide_window(struct raft_config *c, uint32_t id, void *ctx)
{
    snap_config(c, id, ctx);
    c->limits.inflight_appends_max = 64;
}

/* Node 3 gets every append, node 2 only those ending at or below 10; no heartbeats. */
static bool feed_3_fully_2_to_10(const struct raft_message *m, void *ctx)
{
    (void)ctx;
    if (m->type == RAFT_MSG_HEARTBEAT) {
        return false;
    }
    if (m->type == RAFT_MSG_APPEND && m->to == 2) {
        return m->append.prev_index + m->append.entry_count <= 10;
    }
    return true;
}

/*
 * Invariant (§7, leader completeness): "If existing log entry has same index and term as the
 * snapshot's last included entry, retain log entries following it." Node 3 holds 1..21 and
 * acknowledged them (the leader committed 21 with nodes 1 and 3), but never heard a commit index
 * above 1. A retransmitted InstallSnapshot for index 10 then reaches it: it must keep 11..21.
 * Had it dropped them, node 2 (log 1..10) could win an election with node 3's vote and lose
 * entries committed at 11..21. No test covered this branch: replacing the log there went
 * unnoticed by the whole suite.
 */
Test(raft_snapshot, install_keeps_the_entries_after_a_matching_snapshot)
{
    struct harness *h = h_create(3, 107, wide_window, NULL);
    cr_assert(h_elect(h, 1, 0));
    h_settle(h, 1, 2);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(h_propose(h, 1, "x", NULL), RAFT_OK); /* appends all carry commit 1 */
    }
    h_deliver_filtered(h, feed_3_fully_2_to_10, NULL);
    cr_assert_eq(raft_node_commit_index(h_raft(h, 1)), 21, "committed by nodes 1 and 3");
    cr_assert_eq(raft_node_last_index(h_raft(h, 2)), 10);
    struct raft_node *f = h_raft(h, 3);
    cr_assert_eq(raft_node_last_index(f), 21);
    cr_assert_eq(raft_node_commit_index(f), 1);

    uint64_t term = raft_node_term(h_raft(h, 1));
    uint8_t stream[128];
    size_t total = build_stream(stream, sizeof(stream), 10, h->sm_at[10]);
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_SNAPSHOT;
    m.term = term;
    m.from = 1;
    m.to = 3;
    m.snapshot = (struct raft_snapshot_chunk){ 10, term, total, 0, stream, (uint32_t)total };
    cr_assert_eq(h_inject(h, &m), RAFT_OK); /* a retransmission of this term's snapshot */
    cr_assert_eq(raft_node_snapshot_index(f), 10);
    cr_assert_eq(raft_node_last_index(f), 21, "entries after the snapshot are kept");
    cr_assert_eq(raft_node_commit_index(f), 10);

    h_clear_net(h);
    h_crash(h, 1);
    cr_assert_not(h_elect(h, 2, 0x6), "node 3 holds committed entries node 2 lacks");
    cr_assert_str_empty(h->violation, "%s", h->violation);
    h_destroy(h);
}
