/* Binary codec of KV commands (Raft COMMAND payloads tagged 'K') and of the results they produce.
 */
#ifndef FLOWRAFT_WORKFLOWS_KV_CODEC_H
#define FLOWRAFT_WORKFLOWS_KV_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Wire formats, version 1. All integers are little-endian; every length is bounded by a named
 * limit below and by the bytes actually present. Decoding untrusted bytes never reads out of
 * bounds, never allocates, and on failure says what is wrong (a code, the offset, a sentence that
 * names the field).
 *
 * Command (a Raft COMMAND entry payload):
 *   u8  tag = KV_TAG ('K', INTERFACES.md)     u8  version = KV_CODEC_VERSION
 *   u8  op (enum kv_op)                       u8  flags (KV_CAS_EXPECT_ABSENT, CAS only)
 *   u64 client_id                             u64 seq
 *   u32 key_len,      key bytes       (<= KV_KEY_BYTES_LIMIT)
 *   u32 value_len,    value bytes     (<= KV_VALUE_BYTES_LIMIT; the new value of put and cas)
 *   u32 expected_len, expected bytes  (<= KV_VALUE_BYTES_LIMIT; the value cas compares against)
 *   nothing after.
 *
 * Result (what applying a command answers; the leader returns these bytes to the client):
 *   u8  tag = KV_TAG   u8 version   u8 op   u8 status (enum kv_status)   u8 flags (KV_RESULT_*)
 *   u64 index          log index at which the command took effect (a retry: the original's)
 *   u64 client_id      the command's session; for register, the new session id
 *   u64 seq            the command's sequence number
 *   u32 value_len, value bytes (<= KV_VALUE_BYTES_LIMIT), present only with KV_RESULT_HAS_VALUE
 *   nothing after.
 *
 * Field rules (checked by encode and decode alike, see kv_command_check):
 *   register      client_id 0, seq 0, no key, no value, no expected.
 *   get, delete   key only.
 *   put           key and value.
 *   cas           key, value, and expected; or, with KV_CAS_EXPECT_ABSENT, key and value only
 *                 (succeeds only if the key is absent).
 *   sessions      client_id 0 means "no session" and requires seq 0; otherwise seq >= 1.
 */

#define KV_TAG           0x4Bu /* 'K': first byte of every KV command payload (INTERFACES.md) */
#define KV_CODEC_VERSION 1u

#define KV_KEY_BYTES_LIMIT   4096u      /* hard ceiling on a key; kv_limits may be lower */
#define KV_VALUE_BYTES_LIMIT (1u << 20) /* hard ceiling on a value; kv_limits may be lower */
#define KV_REASON_BYTES_MAX  128u       /* an error sentence, including its terminating NUL */

#define KV_COMMAND_HEADER_BYTES 32u /* tag, version, op, flags, client_id, seq, three lengths */
#define KV_COMMAND_BYTES_MAX                                                                       \
    ((size_t)KV_COMMAND_HEADER_BYTES + KV_KEY_BYTES_LIMIT + 2 * (size_t)KV_VALUE_BYTES_LIMIT)
#define KV_RESULT_HEADER_BYTES 33u /* tag, version, op, status, flags, index, client, seq, len */
#define KV_RESULT_BYTES_MAX    ((size_t)KV_RESULT_HEADER_BYTES + KV_VALUE_BYTES_LIMIT)

/* Operations. The numeric values are on the wire: never renumber. */
enum kv_op {
    KV_OP_NONE = 0,     /* only in results of malformed commands */
    KV_OP_REGISTER = 1, /* open a client session; its id is the entry's log index */
    KV_OP_PUT = 2,      /* set key to value */
    KV_OP_GET = 3,      /* read key (through the log, so reads are linearizable) */
    KV_OP_DELETE = 4,   /* remove key */
    KV_OP_CAS = 5,      /* set key to value if its value equals expected (or it is absent) */
    KV_OP_COUNT
};

#define KV_CAS_EXPECT_ABSENT 0x01u /* command flag: cas succeeds only if the key is absent */
#define KV_RESULT_HAS_VALUE  0x01u /* result flag: a value follows the header */

/*
 * Result statuses. The numeric values are on the wire: never renumber.
 * For a linearizability history: OK, NOT_FOUND and CAS_MISMATCH are definite outcomes;
 * KEY_TOO_LARGE .. BYTES_FULL and MALFORMED certainly had no effect; SESSION_UNKNOWN and
 * SESSION_STALE say only that THIS attempt had no effect: an earlier attempt of the same command
 * may have been applied, so the operation's outcome is unknown.
 */
enum kv_status {
    KV_STATUS_OK = 0,              /* done; get: value attached; register: client_id is the id */
    KV_STATUS_NOT_FOUND = 1,       /* get or delete of an absent key; nothing changed */
    KV_STATUS_CAS_MISMATCH = 2,    /* cas condition false; the current value attached if present */
    KV_STATUS_KEY_TOO_LARGE = 3,   /* key longer than kv_limits.key_bytes_max; nothing changed */
    KV_STATUS_VALUE_TOO_LARGE = 4, /* value or expected longer than value_bytes_max */
    KV_STATUS_KEYS_FULL = 5,       /* a new key would exceed keys_max; nothing changed */
    KV_STATUS_BYTES_FULL = 6,      /* stored key+value bytes would exceed bytes_max */
    KV_STATUS_SESSION_UNKNOWN = 7, /* no such session: never registered, or evicted */
    KV_STATUS_SESSION_STALE = 8,   /* seq older than the session's last answered seq */
    KV_STATUS_MALFORMED = 9,       /* the payload did not decode; the reason is the value */
    KV_STATUS_COUNT
};

/* Why decoding (or encoding, or restoring a snapshot) failed. */
enum kv_error_code {
    KV_ERROR_NONE = 0,
    KV_ERROR_TRUNCATED,    /* fewer bytes than a field needs */
    KV_ERROR_BAD_TAG,      /* first byte is not KV_TAG / snapshot magic is wrong */
    KV_ERROR_BAD_VERSION,  /* a version this code does not know */
    KV_ERROR_BAD_OP,       /* unknown op */
    KV_ERROR_BAD_FLAGS,    /* unknown or misplaced flag bits */
    KV_ERROR_BAD_STATUS,   /* unknown status, or a status that does not fit the op */
    KV_ERROR_TOO_LARGE,    /* a length above its limit */
    KV_ERROR_BAD_FIELD,    /* a field the op does not allow, or a session rule broken */
    KV_ERROR_TRAILING,     /* bytes after the last field */
    KV_ERROR_NO_SPACE,     /* encode: the output buffer is too small */
    KV_ERROR_BAD_CHECKSUM, /* snapshot: checksum mismatch */
    KV_ERROR_BAD_ORDER,    /* snapshot: keys or sessions not strictly ascending */
    KV_ERROR_LIMIT,        /* snapshot: state exceeds the restoring store's kv_limits */
    KV_ERROR_STALE,        /* snapshot: older than what the store has already applied */
    KV_ERROR_COUNT
};

struct kv_error {
    enum kv_error_code code;
    size_t offset;                    /* byte offset where the problem was found */
    char reason[KV_REASON_BYTES_MAX]; /* one sentence naming the field; always NUL-terminated */
};

/*
 * A command, decoded or to be encoded. Byte fields are borrowed: when decoded they point into the
 * payload (valid while it is), when encoding the caller owns them. A NULL pointer is allowed only
 * with a zero length.
 */
struct kv_command {
    uint8_t op;         /* enum kv_op */
    uint8_t flags;      /* KV_CAS_EXPECT_ABSENT or 0 */
    uint64_t client_id; /* 0: no session (applied every time it is committed) */
    uint64_t seq;       /* invariant: seq == 0 iff client_id == 0 (register: both 0) */
    const uint8_t *key;
    uint32_t key_len; /* invariant: <= KV_KEY_BYTES_LIMIT */
    const uint8_t *value;
    uint32_t value_len; /* invariant: <= KV_VALUE_BYTES_LIMIT */
    const uint8_t *expected;
    uint32_t expected_len; /* invariant: <= KV_VALUE_BYTES_LIMIT */
};

/* A result, decoded or to be encoded. `value` is borrowed like the command's byte fields. */
struct kv_result {
    uint8_t op;         /* enum kv_op of the command answered (KV_OP_NONE if malformed) */
    uint8_t status;     /* enum kv_status */
    bool has_value;     /* only for get OK, cas CAS_MISMATCH (when the key exists), MALFORMED */
    uint64_t index;     /* log index at which the command took effect */
    uint64_t client_id; /* register: the new session id */
    uint64_t seq;
    const uint8_t *value;
    uint32_t value_len; /* invariant: 0 unless has_value; <= KV_VALUE_BYTES_LIMIT */
};

/* Command builders for clients: fill the struct, then kv_command_encode it. */
struct kv_command kv_command_register(void);
struct kv_command kv_command_put(uint64_t client_id, uint64_t seq, const void *key,
                                 uint32_t key_len, const void *value, uint32_t value_len);
struct kv_command kv_command_get(uint64_t client_id, uint64_t seq, const void *key,
                                 uint32_t key_len);
struct kv_command kv_command_delete(uint64_t client_id, uint64_t seq, const void *key,
                                    uint32_t key_len);
struct kv_command kv_command_cas(uint64_t client_id, uint64_t seq, const void *key,
                                 uint32_t key_len, const void *expected, uint32_t expected_len,
                                 const void *value, uint32_t value_len);
struct kv_command kv_command_cas_absent(uint64_t client_id, uint64_t seq, const void *key,
                                        uint32_t key_len, const void *value, uint32_t value_len);

/* Checks the field rules above. Returns true, or false with `error` filled. */
bool kv_command_check(const struct kv_command *command, struct kv_error *error);

/* Encoded size of a command that passes kv_command_check. */
size_t kv_command_encoded_bytes(const struct kv_command *command);

/*
 * Encodes `command` into `buf` (capacity `cap`). Returns 0 and sets *len, or -1 with `error`
 * filled (a rule broken, or KV_ERROR_NO_SPACE) and nothing promised about `buf`.
 */
int kv_command_encode(const struct kv_command *command, uint8_t *buf, size_t cap, size_t *len,
                      struct kv_error *error);

/* Decodes untrusted bytes. Returns 0 with *command borrowing from `bytes`, or -1 with `error`. */
int kv_command_decode(const uint8_t *bytes, size_t len, struct kv_command *command,
                      struct kv_error *error);

/* Checks that a result's fields are consistent (op, status and value fit together). */
bool kv_result_check(const struct kv_result *result, struct kv_error *error);

size_t kv_result_encoded_bytes(const struct kv_result *result);

/* Encodes a result; same contract as kv_command_encode. */
int kv_result_encode(const struct kv_result *result, uint8_t *buf, size_t cap, size_t *len,
                     struct kv_error *error);

/* Decodes untrusted result bytes; same contract as kv_command_decode. */
int kv_result_decode(const uint8_t *bytes, size_t len, struct kv_result *result,
                     struct kv_error *error);

/* Static names for messages and traces ("put", "cas_mismatch"); "unknown" when out of range. */
const char *kv_op_name(unsigned op);
const char *kv_status_name(unsigned status);
const char *kv_error_name(unsigned code);

#endif
