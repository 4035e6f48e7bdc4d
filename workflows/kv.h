/* The replicated key-value state machine: applies committed 'K' commands, with client sessions. */
#ifndef FLOWRAFT_WORKFLOWS_KV_H
#define FLOWRAFT_WORKFLOWS_KV_H

#include "workflows/kv_codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A `struct kv` is the state of one replica's key-value store: byte-string keys and values, and a
 * table of client sessions. It changes only through kv_apply (one committed Raft COMMAND entry
 * whose payload starts with KV_TAG) and kv_restore (a snapshot). Everything it does is a function
 * of the commands applied: no clock, no randomness, no I/O, so replicas that apply the same
 * committed log reach the same state and the same kv_hash (Raft §5.4.3, state machine safety).
 *
 * Operations (encode them with the builders in kv_codec.h):
 *   put K V                 set K to V.                               -> OK
 *   get K                   read K.                                   -> OK + value | NOT_FOUND
 *   delete K                remove K.                                 -> OK | NOT_FOUND
 *   cas K EXPECTED V        if K's value equals EXPECTED, set it to V -> OK | CAS_MISMATCH
 *   cas-absent K V          if K is absent, set it to V               -> OK | CAS_MISMATCH
 *   register                open a session; its id is this entry's index -> OK, client_id = id
 * CAS_MISMATCH carries K's current value when K exists (no value when K is absent).
 * Checks run in this order, the first that fails decides the status and nothing changes:
 * key length (KEY_TOO_LARGE), value and expected lengths (VALUE_TOO_LARGE), the operation's own
 * condition (NOT_FOUND, CAS_MISMATCH), a new key beyond keys_max (KEYS_FULL), stored bytes beyond
 * bytes_max (BYTES_FULL). A payload that does not decode is answered with MALFORMED and the
 * decoder's reason as the value; it changes nothing and does not touch any session.
 *
 * Sessions (Raft thesis §6.3). A client registers once (a register command, itself not
 * deduplicated: a retried register opens a second session, and the unused one ages out), then
 * numbers its commands 1, 2, 3, ... with at most one outstanding at a time, retrying a command with
 * the SAME seq until it gets an answer. For a command of session C with sequence number S, where
 * the session last answered sequence number L:
 *   S >  L   applied; its result bytes are remembered as the session's last answer; L := S.
 *            (Gaps are allowed: a client may abandon a number.)
 *   S == L   a retry: NOT applied again; the remembered result bytes are returned unchanged
 *            (same index, same value), and kv_applied.duplicate is set.
 *   S <  L   SESSION_STALE: nothing applied; the result echoes C and S with this entry's index and
 *            no value; the remembered answer is kept.
 *   C not in the table: SESSION_UNKNOWN, same shape as STALE (C was never registered or was
 *            evicted).
 * Every command that finds its session (applied, retry or stale) makes it the most recently used
 * at this entry's index. The table holds at most sessions_max sessions; registering one more
 * evicts the session least recently used by log index (never by wall time: every replica evicts
 * the same one). The trade-off: a client idle for longer than sessions_max newer registrations
 * loses its session, and its retries are answered SESSION_UNKNOWN instead of being applied again,
 * so at-most-once is kept but the client no longer learns the outcome of its last command (it
 * must treat it as unknown and register again). Commands with client_id 0 use no session: they
 * are applied every time they are committed (fine for get, unsafe to retry for writes).
 *
 * Memory. Stored keys and values are bounded by kv_limits (keys_max, bytes_max); each session
 * remembers one result, at most KV_RESULT_HEADER_BYTES + value_bytes_max bytes, so sessions take at
 * most sessions_max * (that + 48) bytes. Apply allocates (entries, table growth, session answers)
 * and never more than those bounds.
 */

#define KV_KEYS_LIMIT     (1u << 24)   /* hard ceiling on kv_limits.keys_max */
#define KV_BYTES_LIMIT    (1ull << 40) /* hard ceiling on kv_limits.bytes_max */
#define KV_SESSIONS_LIMIT (1u << 20)   /* hard ceiling on kv_limits.sessions_max */
#define KV_ENOMEM         (-1)         /* allocation failed; the store is unchanged */
#define KV_EINVAL         (-2)         /* snapshot bytes rejected; the store is unchanged */

/*
 * The named maxima, fixed at kv_create. Exceeding one is a deterministic error result, so the
 * limits are part of the state machine's definition: invariant: every replica of a cluster uses
 * the same limits, or one answers KEYS_FULL where another applies the put, and they diverge
 * (restore also refuses a snapshot that exceeds the restoring store's limits).
 */
struct kv_limits {
    uint32_t key_bytes_max;   /* longest key: 1 .. KV_KEY_BYTES_LIMIT */
    uint32_t value_bytes_max; /* longest value: 1 .. KV_VALUE_BYTES_LIMIT */
    uint32_t keys_max;        /* most keys stored at once: 1 .. KV_KEYS_LIMIT */
    uint64_t bytes_max;       /* most key + value bytes stored at once: 1 .. KV_BYTES_LIMIT */
    uint32_t sessions_max;    /* most client sessions at once: 1 .. KV_SESSIONS_LIMIT */
};

/* 256-byte keys, 64 KiB values, 65536 keys, 64 MiB stored, 1024 sessions. */
struct kv_limits kv_limits_default(void);

/* True if every field is within its range; otherwise false with a static sentence in *reason. */
bool kv_limits_valid(const struct kv_limits *limits, const char **reason);

/*
 * Creates an empty store (applied index 0). `limits` must be valid (asserted); it is copied.
 * Returns NULL only if memory is exhausted. The caller owns the store; kv_destroy frees it.
 */
struct kv *kv_create(const struct kv_limits *limits);

/* Frees the store and everything it holds. NULL is allowed. */
void kv_destroy(struct kv *kv);

/* What kv_apply answered. Everything here is borrowed from the store until its next mutation. */
struct kv_applied {
    struct kv_result result;     /* decoded view of result_bytes (value points into them) */
    const uint8_t *result_bytes; /* the encoded result (kv_codec.h): what the client receives */
    size_t result_len;
    bool duplicate; /* a session retry answered from the remembered result, not applied again */
};

/*
 * Applies the committed entry at log `index` whose payload is `payload` (`len` bytes, starting
 * with KV_TAG). Indexes must be strictly increasing across calls (asserted; gaps are fine: other
 * entries go elsewhere). Every payload, however malformed, gets a deterministic result.
 * Returns 0 with *out filled, or KV_ENOMEM if memory ran out, in which case nothing changed (not
 * even the applied index) and the node must stop applying (crash and recover) rather than skip.
 */
int kv_apply(struct kv *kv, uint64_t index, const uint8_t *payload, size_t len,
             struct kv_applied *out);

/*
 * Local read for a leader serving a confirmed read (ReadIndex, Raft §8) without going through the
 * log. Returns true with the value borrowed until the next mutation, or false if absent.
 */
bool kv_read(const struct kv *kv, const void *key, size_t key_len, const uint8_t **value,
             uint32_t *value_len);

/* Introspection (tests, metrics, the simulator's summaries). */
uint64_t kv_applied_index(const struct kv *kv); /* index of the last applied or restored entry */
uint32_t kv_key_count(const struct kv *kv);
uint64_t kv_bytes_used(const struct kv *kv); /* sum of key and value lengths stored */
uint32_t kv_session_count(const struct kv *kv);
const struct kv_limits *kv_limits_of(const struct kv *kv);

/*
 * XXH3-64 of the logical state: the number of keys, the sum (mod 2^64) of one XXH3-64 per
 * (key, value) pair, the number of sessions and the sum of one XXH3-64 per session (client id,
 * last seq, last-used index, remembered result). Sums do not depend on order, so the hash does not
 * depend on the hash table's layout or on insertion history; it excludes the applied index
 * (compare replicas at the same applied index). A restored snapshot hashes like the original.
 * Cost: O(1), no allocation: kv_apply and kv_restore keep the per-item hashes and their sums up
 * to date (O(1) per changed key or session), so the state can be hashed after every entry.
 */
uint64_t kv_hash(const struct kv *kv);

/* kv_hash computed from scratch, from every stored byte (O(state)): what kv_hash must equal.
 * For tests and assertions (kv_snapshot_write checks it). */
uint64_t kv_hash_recompute(const struct kv *kv);

/*
 * Snapshot format, version 1 (little-endian):
 *   u8[4] magic "KVS1"   u32 version   u64 applied_index
 *   u32 key_count, then per key in ascending order: u32 key_len, u32 value_len, key, value
 *   u32 session_count, then per session in ascending id order:
 *       u64 client_id, u64 last_seq, u64 last_used_index, u32 result_len, result bytes
 *   u64 XXH3-64 of every byte before it (seed KV_SNAPSHOT_SEED)
 * The order is canonical (keys ascending by bytes, sessions by id), so equal states produce
 * byte-identical snapshots.
 */
#define KV_SNAPSHOT_SEED 0x4b56534e41505331ull /* "KVSNAPS1" */

/* Exact size of the snapshot of the current state. */
size_t kv_snapshot_bytes(const struct kv *kv);

/* Writes the snapshot into `buf`, whose size `len` must equal kv_snapshot_bytes(kv). */
void kv_snapshot_write(const struct kv *kv, uint8_t *buf, size_t len);

/*
 * Replaces the store's state with a snapshot's. Validates everything first (checksum, magic,
 * version, every length and count against this store's kv_limits, strict key and session order,
 * each remembered result), and rejects a snapshot older than the store's applied index.
 * Returns 0; KV_EINVAL with `error` filled (reason, byte offset); or KV_ENOMEM. On failure the
 * store is unchanged.
 */
int kv_restore(struct kv *kv, const uint8_t *bytes, size_t len, struct kv_error *error);

#endif
