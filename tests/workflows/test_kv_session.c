/* Tests for workflows/kv client sessions: at-most-once retries, stale numbers, LRU eviction. */
#include "test_kv_util.h"

/* Invariant: a session id is the log index of its register entry; a retried register opens a
 * second session (registration is not deduplicated). */
Test(kv_session, register_returns_index)
{
    struct kvt t = kvt_make(NULL);
    kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("v")));
    uint64_t a = kvt_register(&t);
    uint64_t b = kvt_register(&t);
    cr_assert_eq(a, 2);
    cr_assert_eq(b, 3);
    cr_assert_eq(kv_session_count(t.kv), 2);
    kvt_free(&t);
}

/* Invariant: a retried put is not applied again: the earlier result comes back byte for byte
 * (same index) and a later write by another client survives the retry. */
Test(kv_session, retried_put_is_applied_at_most_once)
{
    struct kvt t = kvt_make(NULL);
    uint64_t c1 = kvt_register(&t);
    uint64_t c2 = kvt_register(&t);
    struct kv_applied first = kvt_apply(&t, kv_command_put(c1, 1, KVS("x"), KVS("1")));
    cr_assert_eq(first.result.status, KV_STATUS_OK);
    cr_assert(!first.duplicate);
    uint64_t first_index = first.result.index;
    uint8_t *first_bytes = kvt_copy(&first);
    size_t first_len = first.result_len;

    kvt_apply(&t, kv_command_put(c2, 1, KVS("x"), KVS("2")));
    uint64_t before_retry = kv_hash(t.kv);

    struct kv_applied retry = kvt_apply(&t, kv_command_put(c1, 1, KVS("x"), KVS("1")));
    cr_assert(retry.duplicate);
    cr_assert_eq(retry.result_len, first_len);
    cr_assert(memcmp(retry.result_bytes, first_bytes, first_len) == 0, "identical bytes");
    cr_assert_eq(retry.result.index, first_index, "the original index, not the retry's");
    kvt_expect_value(&t, "x", "2");
    /* The retry only refreshed the session's last-used index. */
    cr_assert_neq(kv_hash(t.kv), before_retry);
    cr_assert_eq(kv_key_count(t.kv), 1);
    free(first_bytes);
    kvt_free(&t);
}

/* Invariant: a retried cas returns its earlier success and does not swap again, even when the
 * value has meanwhile returned to the expected one (re-applying would be observable). */
Test(kv_session, retried_cas_is_applied_at_most_once)
{
    struct kvt t = kvt_make(NULL);
    uint64_t c1 = kvt_register(&t);
    kvt_apply(&t, kv_command_put(0, 0, KVS("r"), KVS("a")));
    struct kv_applied first = kvt_apply(&t, kv_command_cas(c1, 1, KVS("r"), KVS("a"), KVS("b")));
    cr_assert_eq(first.result.status, KV_STATUS_OK);
    uint64_t first_index = first.result.index;

    kvt_apply(&t, kv_command_put(0, 0, KVS("r"), KVS("a")));
    struct kv_applied retry = kvt_apply(&t, kv_command_cas(c1, 1, KVS("r"), KVS("a"), KVS("b")));
    cr_assert(retry.duplicate);
    cr_assert_eq(retry.result.status, KV_STATUS_OK);
    cr_assert_eq(retry.result.index, first_index);
    kvt_expect_value(&t, "r", "a");

    /* The next sequence number is applied normally. */
    struct kv_applied next = kvt_apply(&t, kv_command_cas(c1, 2, KVS("r"), KVS("a"), KVS("c")));
    cr_assert(!next.duplicate);
    cr_assert_eq(next.result.status, KV_STATUS_OK);
    kvt_expect_value(&t, "r", "c");
    kvt_free(&t);
}

/* Invariant: a retried get returns the value it read the first time, not the current one. */
Test(kv_session, retried_get_returns_earlier_read)
{
    struct kvt t = kvt_make(NULL);
    uint64_t c1 = kvt_register(&t);
    kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("old")));
    struct kv_applied first = kvt_apply(&t, kv_command_get(c1, 1, KVS("k")));
    cr_assert(kvt_result_is(&first.result, "old"));
    kvt_apply(&t, kv_command_put(0, 0, KVS("k"), KVS("new")));
    kvt_apply(&t, kv_command_delete(0, 0, KVS("k")));
    struct kv_applied retry = kvt_apply(&t, kv_command_get(c1, 1, KVS("k")));
    cr_assert(retry.duplicate);
    cr_assert_eq(retry.result.status, KV_STATUS_OK);
    cr_assert(kvt_result_is(&retry.result, "old"));
    kvt_free(&t);
}

/* Invariant: an error result is remembered too: a retry after the cause went away still gets
 * the error (the command was answered once; it is never applied a second time). */
Test(kv_session, retried_error_returns_same_error)
{
    struct kv_limits limits = kv_limits_default();
    limits.keys_max = 1;
    struct kvt t = kvt_make(&limits);
    uint64_t c1 = kvt_register(&t);
    kvt_apply(&t, kv_command_put(0, 0, KVS("a"), KVS("1")));
    struct kv_applied first = kvt_apply(&t, kv_command_put(c1, 1, KVS("b"), KVS("2")));
    cr_assert_eq(first.result.status, KV_STATUS_KEYS_FULL);
    kvt_apply(&t, kv_command_delete(0, 0, KVS("a")));
    struct kv_applied retry = kvt_apply(&t, kv_command_put(c1, 1, KVS("b"), KVS("2")));
    cr_assert(retry.duplicate);
    cr_assert_eq(retry.result.status, KV_STATUS_KEYS_FULL);
    kvt_expect_absent(&t, "b");
    kvt_free(&t);
}

/* Invariant: a sequence number below the last answered one is rejected as SESSION_STALE, echoing
 * client and seq with the current index, no value, changing no data, keeping the remembered
 * answer. */
Test(kv_session, stale_sequence_rejected)
{
    struct kvt t = kvt_make(NULL);
    uint64_t c1 = kvt_register(&t);
    kvt_apply(&t, kv_command_put(c1, 1, KVS("k"), KVS("1")));
    struct kv_applied second = kvt_apply(&t, kv_command_put(c1, 5, KVS("k"), KVS("5")));
    cr_assert_eq(second.result.status, KV_STATUS_OK, "gaps in sequence numbers are allowed");
    uint8_t *second_bytes = kvt_copy(&second);
    size_t second_len = second.result_len;

    uint64_t stale_index = t.next_index;
    struct kv_applied stale = kvt_apply(&t, kv_command_put(c1, 3, KVS("k"), KVS("3")));
    cr_assert_eq(stale.result.status, KV_STATUS_SESSION_STALE);
    cr_assert_eq(stale.result.op, KV_OP_PUT);
    cr_assert_eq(stale.result.client_id, c1);
    cr_assert_eq(stale.result.seq, 3);
    cr_assert_eq(stale.result.index, stale_index);
    cr_assert(!stale.result.has_value);
    cr_assert(!stale.duplicate);
    kvt_expect_value(&t, "k", "5");

    struct kv_applied retry = kvt_apply(&t, kv_command_put(c1, 5, KVS("k"), KVS("5")));
    cr_assert(retry.duplicate);
    cr_assert(memcmp(retry.result_bytes, second_bytes, second_len) == 0);
    free(second_bytes);
    kvt_free(&t);
}

/* Invariant: a command for a session that does not exist is SESSION_UNKNOWN and changes no data. */
Test(kv_session, unknown_session_rejected)
{
    struct kvt t = kvt_make(NULL);
    uint64_t before = kv_hash(t.kv);
    struct kv_applied out = kvt_apply(&t, kv_command_put(77, 1, KVS("k"), KVS("v")));
    cr_assert_eq(out.result.status, KV_STATUS_SESSION_UNKNOWN);
    cr_assert_eq(out.result.client_id, 77);
    cr_assert_eq(out.result.seq, 1);
    kvt_expect_absent(&t, "k");
    cr_assert_eq(kv_hash(t.kv), before);
    kvt_free(&t);
}

/* Invariant: the table never exceeds sessions_max; registering beyond it evicts the session least
 * recently used by log index, whose retry is then rejected (SESSION_UNKNOWN), not re-applied. */
Test(kv_session, eviction_is_lru_by_index)
{
    struct kv_limits limits = kv_limits_default();
    limits.sessions_max = 3;
    struct kvt t = kvt_make(&limits);
    uint64_t a = kvt_register(&t);
    uint64_t b = kvt_register(&t);
    uint64_t c = kvt_register(&t);
    kvt_apply(&t, kv_command_put(b, 1, KVS("n"), KVS("b1")));
    kvt_apply(&t, kv_command_put(a, 1, KVS("n"), KVS("a1")));
    /* c is now the least recently used (its register is the oldest touch). */
    uint64_t d = kvt_register(&t);
    cr_assert_eq(kv_session_count(t.kv), 3);
    struct kv_applied out = kvt_apply(&t, kv_command_put(c, 1, KVS("n"), KVS("c1")));
    cr_assert_eq(out.result.status, KV_STATUS_SESSION_UNKNOWN, "c was evicted");
    kvt_expect_value(&t, "n", "a1");

    /* A stale or duplicate command also counts as use: touch b by a retry, then register e. */
    out = kvt_apply(&t, kv_command_put(b, 1, KVS("n"), KVS("b1")));
    cr_assert(out.duplicate);
    uint64_t e = kvt_register(&t); /* LRU now: a (used before b's retry and d's register) */
    out = kvt_apply(&t, kv_command_put(a, 1, KVS("n"), KVS("a1")));
    cr_assert_eq(out.result.status, KV_STATUS_SESSION_UNKNOWN,
                 "a's retry after eviction is rejected, not re-applied");
    kvt_expect_value(&t, "n", "a1");
    cr_assert_eq(kvt_apply(&t, kv_command_put(b, 2, KVS("n"), KVS("b2"))).result.status,
                 KV_STATUS_OK);
    cr_assert_eq(kvt_apply(&t, kv_command_put(d, 1, KVS("n"), KVS("d1"))).result.status,
                 KV_STATUS_OK);
    cr_assert_eq(kvt_apply(&t, kv_command_put(e, 1, KVS("n"), KVS("e1"))).result.status,
                 KV_STATUS_OK);
    cr_assert_eq(kv_session_count(t.kv), 3);
    kvt_free(&t);
}

/* Invariant: a stale command also counts as use of its session (so a client still retrying is
 * not the one evicted): touch the oldest session with a stale number, then register one more. */
Test(kv_session, stale_command_counts_as_use)
{
    struct kv_limits limits = kv_limits_default();
    limits.sessions_max = 2;
    struct kvt t = kvt_make(&limits);
    uint64_t a = kvt_register(&t);
    uint64_t b = kvt_register(&t);
    kvt_apply(&t, kv_command_put(a, 2, KVS("n"), KVS("a2")));
    kvt_apply(&t, kv_command_put(b, 1, KVS("n"), KVS("b1")));
    /* a was last used before b; a stale number from a makes it the most recently used */
    struct kv_applied stale = kvt_apply(&t, kv_command_put(a, 1, KVS("n"), KVS("a1")));
    cr_assert_eq(stale.result.status, KV_STATUS_SESSION_STALE);
    kvt_register(&t); /* evicts b, not a */
    cr_assert_eq(kvt_apply(&t, kv_command_get(b, 2, KVS("n"))).result.status,
                 KV_STATUS_SESSION_UNKNOWN);
    cr_assert_eq(kvt_apply(&t, kv_command_get(a, 3, KVS("n"))).result.status, KV_STATUS_OK);
    kvt_free(&t);
}

/* Invariant: with many sessions the table stays bounded and the survivors are exactly the most
 * recently used ones. */
Test(kv_session, eviction_keeps_most_recent)
{
    struct kv_limits limits = kv_limits_default();
    limits.sessions_max = 16;
    struct kvt t = kvt_make(&limits);
    uint64_t ids[100];
    for (int i = 0; i < 100; i++) {
        ids[i] = kvt_register(&t);
        cr_assert(kv_session_count(t.kv) <= 16);
    }
    for (int i = 0; i < 100; i++) {
        struct kv_applied out = kvt_apply(&t, kv_command_get(ids[i], 1, KVS("k")));
        /* Each get uses one session; registrations 84..99 were the newest before these gets, and
         * using a surviving session never evicts another. */
        cr_assert_eq(out.result.status, i >= 84 ? KV_STATUS_NOT_FOUND : KV_STATUS_SESSION_UNKNOWN,
                     "session %d", i);
    }
    kvt_free(&t);
}

/* Invariant: commands without a session (client 0) are applied every time they are committed. */
Test(kv_session, sessionless_commands_reapply)
{
    struct kvt t = kvt_make(NULL);
    kvt_apply(&t, kv_command_put(0, 0, KVS("r"), KVS("a")));
    cr_assert_eq(kvt_apply(&t, kv_command_cas(0, 0, KVS("r"), KVS("a"), KVS("b"))).result.status,
                 KV_STATUS_OK);
    kvt_apply(&t, kv_command_put(0, 0, KVS("r"), KVS("a")));
    struct kv_applied again = kvt_apply(&t, kv_command_cas(0, 0, KVS("r"), KVS("a"), KVS("b")));
    cr_assert_eq(again.result.status, KV_STATUS_OK);
    cr_assert(!again.duplicate);
    kvt_expect_value(&t, "r", "b");
    kvt_free(&t);
}
