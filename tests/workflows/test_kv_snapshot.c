/* Tests for workflows/kv snapshots: round trips, session survival, and rejection of bad bytes. */
#include "test_kv_util.h"

#include "core/hash.h"
#include "core/prng.h"

/* Snapshot layout offsets used to craft bad snapshots (see kv.h). */
#define OFF_VERSION   4
#define OFF_INDEX     8
#define OFF_KEY_COUNT 16

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Recomputes the trailing checksum so that a crafted change reaches the content checks. */
static void resign(uint8_t *bytes, size_t len)
{
    put_u64(bytes + len - 8, hash_bytes(bytes, len - 8, KV_SNAPSHOT_SEED));
}

/* A store with keys, values, and sessions in every state (fresh, answered with and without a
 * remembered value). */
static struct kvt populated(void)
{
    struct kvt t = kvt_make(NULL);
    uint64_t c1 = kvt_register(&t);
    uint64_t c2 = kvt_register(&t);
    kvt_register(&t); /* never used */
    kvt_apply(&t, kv_command_put(c1, 1, KVS("alpha"), KVS("1")));
    kvt_apply(&t, kv_command_put(0, 0, KVS("beta"), KVS("two")));
    kvt_apply(&t, kv_command_put(0, 0, KVS(""), KVS("empty key")));
    kvt_apply(&t, kv_command_get(c2, 1, KVS("beta")));
    kvt_apply(&t, kv_command_cas(c1, 2, KVS("beta"), KVS("x"), KVS("y"))); /* mismatch + value */
    return t;
}

static void expect_rejected(struct kv *kv, const uint8_t *bytes, size_t len,
                            enum kv_error_code code, const char *what)
{
    uint64_t hash = kv_hash(kv);
    uint64_t applied = kv_applied_index(kv);
    struct kv_error error;
    int rc = kv_restore(kv, bytes, len, &error);
    cr_assert_eq(rc, KV_EINVAL, "%s: accepted", what);
    cr_assert_eq(error.code, code, "%s: got %s (%s)", what, kv_error_name(error.code),
                 error.reason);
    cr_assert(error.reason[0] != '\0', "%s: no reason given", what);
    cr_assert_eq(kv_hash(kv), hash, "%s: a rejected restore changed the store", what);
    cr_assert_eq(kv_applied_index(kv), applied);
}

/* One crafted change to a good snapshot: up to two little-endian writes, then re-signing. */
struct crafted {
    struct {
        size_t at;
        unsigned width; /* bytes written: 1, 4 or 8; 0 = unused */
        uint64_t value;
    } edits[2];
    enum kv_error_code code; /* what restore must answer */
    const char *what;
};

static void expect_crafted_rejected(struct kv *kv, const uint8_t *good, size_t len,
                                    const struct crafted *crafted, size_t count)
{
    uint8_t *bad = malloc(len);
    cr_assert_not_null(bad);
    for (size_t i = 0; i < count; i++) {
        memcpy(bad, good, len);
        for (int e = 0; e < 2; e++) {
            for (unsigned b = 0; b < crafted[i].edits[e].width; b++) {
                bad[crafted[i].edits[e].at + b] = (uint8_t)(crafted[i].edits[e].value >> (8 * b));
            }
        }
        resign(bad, len);
        expect_rejected(kv, bad, len, crafted[i].code, crafted[i].what);
    }
    free(bad);
}

/* Invariant: restore(snapshot(s)) has the same hash, counts and applied index as s, and its own
 * snapshot is byte-identical. */
Test(kv_snapshot, round_trip_preserves_state)
{
    struct kvt t = populated();
    size_t len;
    uint8_t *bytes = kvt_snapshot(t.kv, &len);
    struct kvt copy = kvt_make(NULL);
    struct kv_error error;
    cr_assert_eq(kv_restore(copy.kv, bytes, len, &error), 0, "%s", error.reason);
    cr_assert_eq(kv_hash(copy.kv), kv_hash(t.kv));
    cr_assert_eq(kv_applied_index(copy.kv), kv_applied_index(t.kv));
    cr_assert_eq(kv_key_count(copy.kv), 3);
    cr_assert_eq(kv_session_count(copy.kv), 3);
    cr_assert_eq(kv_bytes_used(copy.kv), kv_bytes_used(t.kv));
    kvt_expect_value(&copy, "beta", "two");
    kvt_expect_value(&copy, "", "empty key");
    size_t again_len;
    uint8_t *again = kvt_snapshot(copy.kv, &again_len);
    cr_assert_eq(again_len, len);
    cr_assert(memcmp(again, bytes, len) == 0);
    free(again);
    free(bytes);
    kvt_free(&copy);
    kvt_free(&t);
}

/* Invariant: sessions survive a snapshot: after restore, a retry gets the earlier result bytes
 * and is not applied again; stale numbers are still stale. */
Test(kv_snapshot, sessions_survive_restore)
{
    struct kvt t = kvt_make(NULL);
    uint64_t c1 = kvt_register(&t);
    kvt_apply(&t, kv_command_put(0, 0, KVS("r"), KVS("a")));
    struct kv_applied first = kvt_apply(&t, kv_command_cas(c1, 4, KVS("r"), KVS("a"), KVS("b")));
    uint8_t *first_bytes = kvt_copy(&first);
    size_t first_len = first.result_len;
    kvt_apply(&t, kv_command_put(0, 0, KVS("r"), KVS("a")));

    size_t len;
    uint8_t *bytes = kvt_snapshot(t.kv, &len);
    struct kvt copy = kvt_make(NULL);
    struct kv_error error;
    cr_assert_eq(kv_restore(copy.kv, bytes, len, &error), 0, "%s", error.reason);
    copy.next_index = kv_applied_index(copy.kv) + 1;

    struct kv_applied retry = kvt_apply(&copy, kv_command_cas(c1, 4, KVS("r"), KVS("a"), KVS("b")));
    cr_assert(retry.duplicate);
    cr_assert_eq(retry.result_len, first_len);
    cr_assert(memcmp(retry.result_bytes, first_bytes, first_len) == 0);
    kvt_expect_value(&copy, "r", "a");
    struct kv_applied stale = kvt_apply(&copy, kv_command_get(c1, 3, KVS("r")));
    cr_assert_eq(stale.result.status, KV_STATUS_SESSION_STALE);
    free(first_bytes);
    free(bytes);
    kvt_free(&copy);
    kvt_free(&t);
}

/* Invariant: restore replaces the whole state (old keys and sessions are gone). */
Test(kv_snapshot, restore_replaces_state)
{
    struct kvt source = kvt_make(NULL);
    kvt_apply(&source, kv_command_put(0, 0, KVS("new"), KVS("1")));
    source.next_index = 20;
    kvt_apply(&source, kv_command_put(0, 0, KVS("new2"), KVS("2")));
    size_t len;
    uint8_t *bytes = kvt_snapshot(source.kv, &len);

    struct kvt target = kvt_make(NULL);
    kvt_register(&target);
    kvt_apply(&target, kv_command_put(0, 0, KVS("old"), KVS("x")));
    struct kv_error error;
    cr_assert_eq(kv_restore(target.kv, bytes, len, &error), 0, "%s", error.reason);
    kvt_expect_absent(&target, "old");
    kvt_expect_value(&target, "new2", "2");
    cr_assert_eq(kv_session_count(target.kv), 0);
    cr_assert_eq(kv_applied_index(target.kv), 20);
    cr_assert_eq(kv_hash(target.kv), kv_hash(source.kv));
    free(bytes);
    kvt_free(&target);
    kvt_free(&source);
}

/* Invariant: any single flipped bit is caught by the checksum and the store is left unchanged. */
Test(kv_snapshot, every_bit_flip_rejected)
{
    struct kvt t = populated();
    size_t len;
    uint8_t *bytes = kvt_snapshot(t.kv, &len);
    struct kvt target = kvt_make(NULL);
    kvt_apply(&target, kv_command_put(0, 0, KVS("keep"), KVS("me")));
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            bytes[i] ^= (uint8_t)(1u << bit);
            expect_rejected(target.kv, bytes, len, KV_ERROR_BAD_CHECKSUM, "bit flip");
            bytes[i] ^= (uint8_t)(1u << bit);
        }
    }
    kvt_expect_value(&target, "keep", "me");
    free(bytes);
    kvt_free(&target);
    kvt_free(&t);
}

/* Invariant: every truncation of a snapshot is rejected. */
Test(kv_snapshot, truncation_rejected)
{
    struct kvt t = populated();
    size_t len;
    uint8_t *bytes = kvt_snapshot(t.kv, &len);
    struct kvt target = kvt_make(NULL);
    for (size_t cut = 0; cut < len; cut++) {
        struct kv_error error;
        cr_assert_eq(kv_restore(target.kv, bytes, cut, &error), KV_EINVAL, "length %zu", cut);
        cr_assert(error.code == KV_ERROR_TRUNCATED || error.code == KV_ERROR_BAD_CHECKSUM);
    }
    cr_assert_eq(kv_key_count(target.kv), 0);
    free(bytes);
    kvt_free(&target);
    kvt_free(&t);
}

/* Invariant: content checks run even when the checksum is right (a bug, not a disk fault, may
 * write bad snapshots): each crafted inconsistency is rejected with a reason naming it. */
Test(kv_snapshot, crafted_content_rejected)
{
    struct kvt t = kvt_make(NULL);
    kvt_apply(&t, kv_command_put(0, 0, KVS("a"), KVS("1")));
    kvt_apply(&t, kv_command_put(0, 0, KVS("b"), KVS("2")));
    size_t len;
    uint8_t *good = kvt_snapshot(t.kv, &len);
    /* Layout: header 16, key count at 16, "a" (lengths at 20, key at 28), "b" (key at 38). */
    const struct crafted crafted[] = {
        { { { 0, 1, 'X' } }, KV_ERROR_BAD_TAG, "magic" },
        { { { OFF_VERSION, 4, 2 } }, KV_ERROR_BAD_VERSION, "version" },
        { { { 28, 1, 'b' } }, KV_ERROR_BAD_ORDER, "duplicate key" },
        { { { 28, 1, 'b' }, { 38, 1, 'a' } }, KV_ERROR_BAD_ORDER, "descending keys" },
        { { { OFF_KEY_COUNT, 4, 3 } }, KV_ERROR_TRUNCATED, "count beyond the bytes" },
        { { { OFF_KEY_COUNT, 4, 0xffffffffu } }, KV_ERROR_LIMIT, "count beyond keys_max" },
        { { { 20, 4, 200 } }, KV_ERROR_TRUNCATED, "key longer than the bytes" },
    };
    struct kvt target = kvt_make(NULL);
    expect_crafted_rejected(target.kv, good, len, crafted, sizeof(crafted) / sizeof(crafted[0]));

    uint8_t *bad = malloc(len + 1);
    memcpy(bad, good, len - 8);
    bad[len - 8] = 0;
    resign(bad, len + 1);
    expect_rejected(target.kv, bad, len + 1, KV_ERROR_TRAILING, "trailing byte");

    free(bad);
    free(good);
    kvt_free(&target);
    kvt_free(&t);
}

/* Invariant: a restored session table is checked: ids ascending from 1, last-used indexes within
 * range and distinct, and each remembered result really answers the session's last seq. */
Test(kv_snapshot, crafted_sessions_rejected)
{
    struct kvt t = kvt_make(NULL);
    uint64_t a = kvt_register(&t);                           /* index 1 */
    uint64_t b = kvt_register(&t);                           /* index 2 */
    kvt_apply(&t, kv_command_put(a, 1, KVS("k"), KVS("v"))); /* index 3: a last used 3 */
    cr_assert_eq(b, 2);
    size_t len;
    uint8_t *good = kvt_snapshot(t.kv, &len);
    /* Layout: key count at 16, one key (8 + 1 + 1) at 20, session count at 30, session a at 34:
     * id 34, last_seq 42, last_used 50, result_len 58, result 62 (33 + 0 bytes); b at 95. */
    const size_t a_at = 34;
    const size_t b_at = 95;
    const struct crafted crafted[] = {
        { { { a_at, 8, 0 } }, KV_ERROR_BAD_ORDER, "session id 0" },
        { { { b_at, 8, 1 } }, KV_ERROR_BAD_ORDER, "session ids not ascending" },
        { { { a_at + 16, 8, 99 } }, KV_ERROR_BAD_FIELD, "last used after the snapshot" },
        { { { a_at + 8, 8, 2 } }, KV_ERROR_BAD_FIELD, "result answers another seq" },
        { { { a_at + 8, 8, 0 } }, KV_ERROR_BAD_FIELD, "result without an answered seq" },
        { { { a_at + 28 + 3, 1, KV_STATUS_SESSION_STALE } },
          KV_ERROR_BAD_FIELD,
          "remembered a stale answer" },
        { { { b_at + 16, 8, 3 } }, KV_ERROR_BAD_FIELD, "two sessions used at one index" },
        /* the remembered result's index (result byte 5) must lie in (id, last used] */
        { { { a_at + 28 + 5, 8, 1 } }, KV_ERROR_BAD_FIELD, "answered at the register's index" },
        { { { a_at + 28 + 5, 8, 4 } }, KV_ERROR_BAD_FIELD, "answered after the last use" },
    };
    struct kvt target = kvt_make(NULL);
    expect_crafted_rejected(target.kv, good, len, crafted, sizeof(crafted) / sizeof(crafted[0]));

    struct kv_error error;
    cr_assert_eq(kv_restore(target.kv, good, len, &error), 0, "%s", error.reason);
    free(good);
    kvt_free(&target);
    kvt_free(&t);
}

/* Invariant: a snapshot must fit the restoring store's limits (never exceed a named maximum). */
Test(kv_snapshot, restoring_store_limits_enforced)
{
    struct kvt t = populated(); /* 3 keys, 3 sessions, longest key 5, longest value 9 */
    size_t len;
    uint8_t *bytes = kvt_snapshot(t.kv, &len);
    struct kv_limits limits[4];
    for (int i = 0; i < 4; i++) {
        limits[i] = kv_limits_default();
    }
    limits[0].keys_max = 2;
    limits[1].key_bytes_max = 4;
    limits[2].value_bytes_max = 8;
    limits[3].sessions_max = 2;
    for (int i = 0; i < 4; i++) {
        struct kvt target = kvt_make(&limits[i]);
        expect_rejected(target.kv, bytes, len, KV_ERROR_LIMIT, "smaller limits");
        kvt_free(&target);
    }
    struct kv_limits bytes_limit = kv_limits_default();
    bytes_limit.bytes_max = kv_bytes_used(t.kv) - 1;
    struct kvt target = kvt_make(&bytes_limit);
    expect_rejected(target.kv, bytes, len, KV_ERROR_LIMIT, "bytes_max");
    kvt_free(&target);
    free(bytes);
    kvt_free(&t);
}

/* Invariant: a store never goes back: a snapshot older than its applied index is rejected. */
Test(kv_snapshot, stale_snapshot_rejected)
{
    struct kvt old = kvt_make(NULL);
    kvt_apply(&old, kv_command_put(0, 0, KVS("k"), KVS("v")));
    size_t len;
    uint8_t *bytes = kvt_snapshot(old.kv, &len);
    struct kvt target = kvt_make(NULL);
    target.next_index = 50;
    kvt_apply(&target, kv_command_put(0, 0, KVS("k"), KVS("newer")));
    expect_rejected(target.kv, bytes, len, KV_ERROR_STALE, "older snapshot");
    struct kv_error error;
    cr_assert_eq(kv_restore(old.kv, bytes, len, &error), 0, "same index is fine: %s", error.reason);
    free(bytes);
    kvt_free(&target);
    kvt_free(&old);
}

/* Invariant: restoring arbitrary (checksum-valid) bytes never crashes, and whatever is accepted
 * is canonical: its own snapshot reproduces the bytes exactly. */
Test(kv_snapshot, random_mutations_never_crash)
{
    struct kvt t = populated();
    size_t len;
    uint8_t *good = kvt_snapshot(t.kv, &len);
    uint8_t *bad = malloc(len);
    struct prng prng;
    prng_seed(&prng, 7);
    int accepted = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(bad, good, len);
        uint64_t edits = 1 + prng_below(&prng, 3);
        for (uint64_t e = 0; e < edits; e++) {
            size_t at = (size_t)prng_below(&prng, len - 8);
            bad[at] = prng_chance(&prng, 0.5) ? (uint8_t)prng_next(&prng) : (uint8_t)(bad[at] ^ 1);
        }
        size_t cut = prng_chance(&prng, 0.2) ? (size_t)prng_below(&prng, len - 8) + 8 : len;
        resign(bad, cut);
        struct kvt target = kvt_make(NULL);
        struct kv_error error;
        int rc = kv_restore(target.kv, bad, cut, &error);
        cr_assert(rc == 0 || rc == KV_EINVAL);
        if (rc == 0) {
            accepted++;
            size_t again_len;
            uint8_t *again = kvt_snapshot(target.kv, &again_len);
            cr_assert_eq(again_len, cut);
            cr_assert(memcmp(again, bad, cut) == 0, "accepted bytes are canonical");
            free(again);
        } else {
            cr_assert(error.code != KV_ERROR_NONE && error.reason[0] != '\0');
        }
        kvt_free(&target);
    }
    cr_assert(accepted < 3000, "mutations were detected");
    free(bad);
    free(good);
    kvt_free(&t);
}
