/* Unit tests for the in-memory log ring/arena and per-peer progress (core-private modules). */
#include "core/raft_log.h"
#include "core/raft_progress.h"

#include <criterion/criterion.h>
#include <string.h>

#define SLOTS 8
#define ARENA 64

struct fixture {
    struct raft_log_meta metas[SLOTS];
    uint8_t arena[ARENA];
    struct raft_log log;
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    raft_log_init(&f->log, f->metas, SLOTS, f->arena, ARENA);
}

static void append_text(struct raft_log *log, uint64_t term, const char *text)
{
    cr_assert(raft_log_can_append(log, (uint32_t)strlen(text)));
    raft_log_append(log, term, RAFT_ENTRY_COMMAND, (const uint8_t *)text, (uint32_t)strlen(text));
}

static void assert_entry(const struct raft_log *log, uint64_t index, uint64_t term,
                         const char *text)
{
    struct raft_entry e;
    raft_log_entry_at(log, index, &e);
    cr_assert_eq(e.index, index);
    cr_assert_eq(e.term, term);
    cr_assert_eq(e.data_len, strlen(text));
    cr_assert(memcmp(e.data, text, e.data_len) == 0, "payload of %llu", (unsigned long long)index);
}

/* Invariant: an empty log knows index 0 (term 0) and nothing else. */
Test(raft_log, empty_log)
{
    struct fixture f;
    fixture_init(&f);
    uint64_t term = 9;
    cr_assert_eq(raft_log_last_index(&f.log), 0);
    cr_assert_eq(raft_log_first_index(&f.log), 1);
    cr_assert(raft_log_term_at(&f.log, 0, &term));
    cr_assert_eq(term, 0);
    cr_assert_not(raft_log_term_at(&f.log, 1, &term));
    cr_assert_not(raft_log_holds(&f.log, 0));
}

/* Invariant: payloads survive wrapping around the arena; an entry never straddles the end. */
Test(raft_log, arena_wraps_without_splitting_payloads)
{
    struct fixture f;
    fixture_init(&f);
    const char *texts[] = { "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb",
                            "cccccccccccccccccccc" };
    for (int i = 0; i < 3; i++) {
        append_text(&f.log, 1, texts[i]);
    }
    cr_assert_not(raft_log_can_append(&f.log, 20), "60 of 64 bytes used");
    raft_log_compact_to(&f.log, 2);
    cr_assert_eq(raft_log_first_index(&f.log), 3);
    append_text(&f.log, 2, "dddddddddddddddddddd"); /* skips the 4-byte tail, starts at 0 */
    append_text(&f.log, 2, "eeeeeeeeeeeeeeeeeeee");
    assert_entry(&f.log, 3, 1, texts[2]);
    assert_entry(&f.log, 4, 2, "dddddddddddddddddddd");
    assert_entry(&f.log, 5, 2, "eeeeeeeeeeeeeeeeeeee");
    uint64_t term = 0;
    cr_assert(raft_log_term_at(&f.log, 2, &term), "the compaction point keeps its term");
    cr_assert_eq(term, 1);
    cr_assert_not(raft_log_term_at(&f.log, 1, &term));
}

/* Invariant: the ring refuses the (capacity+1)-th entry and entries larger than the arena. */
Test(raft_log, bounded_by_slots_and_bytes)
{
    struct fixture f;
    fixture_init(&f);
    for (int i = 0; i < SLOTS; i++) {
        append_text(&f.log, 1, "x");
    }
    cr_assert_not(raft_log_can_append(&f.log, 0), "all slots used");
    raft_log_compact_to(&f.log, 1);
    cr_assert(raft_log_can_append(&f.log, 0));
    cr_assert_not(raft_log_can_append(&f.log, ARENA + 1));
}

/* Invariant: truncation drops exactly the suffix and gives its arena space back. */
Test(raft_log, truncate_reclaims_suffix)
{
    struct fixture f;
    fixture_init(&f);
    append_text(&f.log, 1, "0123456789012345678901234567890");
    append_text(&f.log, 1, "0123456789012345678901234567890");
    cr_assert_not(raft_log_can_append(&f.log, 10));
    raft_log_truncate_from(&f.log, 2);
    cr_assert_eq(raft_log_last_index(&f.log), 1);
    cr_assert(raft_log_can_append(&f.log, 30));
    append_text(&f.log, 3, "replacement");
    assert_entry(&f.log, 2, 3, "replacement");
    cr_assert_eq(raft_log_last_term(&f.log), 3);
    raft_log_truncate_from(&f.log, 1);
    cr_assert_eq(raft_log_last_index(&f.log), 0);
    cr_assert_eq(raft_log_last_term(&f.log), 0);
}

/* Invariant: the running hash identifies the log: same entries, same hash; any difference in
 * term or payload changes it; truncation returns to the earlier value. */
Test(raft_log, chain_hash_identifies_log)
{
    struct fixture a;
    struct fixture b;
    fixture_init(&a);
    fixture_init(&b);
    append_text(&a.log, 1, "x");
    append_text(&b.log, 1, "x");
    uint64_t one = raft_log_chain(&a.log);
    cr_assert_eq(one, raft_log_chain(&b.log));
    append_text(&a.log, 2, "y");
    append_text(&b.log, 2, "z");
    cr_assert_neq(raft_log_chain(&a.log), raft_log_chain(&b.log));
    raft_log_truncate_from(&a.log, 2);
    cr_assert_eq(raft_log_chain(&a.log), one);
}

/* Invariant: reset (a snapshot replaced the log) starts after the snapshot's index and term. */
Test(raft_log, reset_after_snapshot)
{
    struct fixture f;
    fixture_init(&f);
    append_text(&f.log, 1, "a");
    raft_log_reset(&f.log, 40, 7);
    cr_assert_eq(raft_log_last_index(&f.log), 40);
    cr_assert_eq(raft_log_last_term(&f.log), 7);
    cr_assert_eq(raft_log_first_index(&f.log), 41);
    append_text(&f.log, 7, "b");
    assert_entry(&f.log, 41, 7, "b");
}

/* Invariant: match never decreases and next stays above it (stale successes are ignored). */
Test(raft_progress, match_monotonic_next_above_match)
{
    struct raft_progress pr;
    memset(&pr, 0, sizeof(pr));
    raft_progress_reset(&pr, 10);
    cr_assert(raft_progress_update_match(&pr, 5));
    cr_assert_eq(pr.next_index, 10);
    cr_assert_not(raft_progress_update_match(&pr, 4));
    cr_assert_not(raft_progress_update_match(&pr, 5));
    cr_assert_eq(pr.match_index, 5);
    cr_assert(raft_progress_update_match(&pr, 12));
    cr_assert_eq(pr.next_index, 13);
}

/* Invariant: only the outstanding probe's rejection moves next back, never to or below match. */
Test(raft_progress, decrease_ignores_stale_rejections)
{
    struct raft_progress pr;
    memset(&pr, 0, sizeof(pr));
    raft_progress_reset(&pr, 10);
    raft_progress_update_match(&pr, 3);
    raft_progress_become_probe(&pr);
    cr_assert_not(raft_progress_decrease(&pr, 7, 2), "rejected prev 7 is not next - 1 (9)");
    cr_assert(raft_progress_decrease(&pr, 9, 1));
    cr_assert_eq(pr.next_index, 4, "never at or below match + 0");
    raft_progress_become_replicate(&pr);
    cr_assert_eq(pr.next_index, 4);
    cr_assert_not(raft_progress_decrease(&pr, 3, 1), "at or below match: stale");
}

/* Invariant: the replicate window holds at most `max` appends and frees them in order. */
Test(raft_progress, window_bounded_and_freed_in_order)
{
    struct raft_progress pr;
    memset(&pr, 0, sizeof(pr));
    raft_progress_reset(&pr, 1);
    raft_progress_become_replicate(&pr);
    for (uint64_t last = 2; last <= 8; last += 2) {
        cr_assert(raft_progress_window_open(&pr, 4));
        raft_progress_sent(&pr, last);
    }
    cr_assert_not(raft_progress_window_open(&pr, 4));
    cr_assert_eq(pr.next_index, 9);
    raft_progress_update_match(&pr, 5);
    cr_assert_eq(pr.inflight_count, 2, "appends ending at 2 and 4 are acknowledged");
    raft_progress_free_first(&pr);
    cr_assert_eq(pr.inflight_count, 1);
    cr_assert(raft_progress_window_open(&pr, 4));
}
