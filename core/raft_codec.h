/* Binary wire codec for Raft messages and membership: versioned, length-prefixed, checksummed. */
#ifndef FLOWRAFT_CORE_RAFT_CODEC_H
#define FLOWRAFT_CORE_RAFT_CODEC_H

#include "core/raft.h"

#include <stddef.h>
#include <stdint.h>

/*
 * FRAME (all integers little-endian, fixed width)
 *
 *   offset  size  field
 *   0       2     magic 0x46 0x52 ("FR")
 *   2       1     version (RAFT_CODEC_VERSION)
 *   3       1     message type (enum raft_message_type)
 *   4       4     body length B (<= RAFT_CODEC_BODY_BYTES_MAX)
 *   8       B     body: term u64, from u32, to u32, then the type's fields (below)
 *   8+B     8     XXH3-64 (core/hash.h, seed 0) of bytes [0, 8+B)
 *
 * Bodies after the common part:
 *   APPEND            prev_index u64, prev_term u64, commit u64, entry_count u32, then per
 *                     entry: term u64, type u8, data_len u32, data (indices are implied)
 *   APPEND_RESPONSE   reject u8, index u64, hint_index u64, hint_term u64, last_index u64
 *   VOTE, PRE_VOTE    last_index u64, last_term u64, transfer u8
 *   *VOTE_RESPONSE    granted u8
 *   HEARTBEAT         commit u64, context u64
 *   HEARTBEAT_RESP.   context u64
 *   SNAPSHOT          last_index u64, last_term u64, total_len u64, offset u64, data_len u32,
 *                     data
 *   SNAPSHOT_RESP.    reject u8, last_index u64, offset u64
 *   TIMEOUT_NOW       (nothing)
 *
 * Decoding checks, in order, and rejects with a reason naming the first failure: the input
 * holds a whole header; magic; version; known type; body length within bounds and within the
 * input; checksum; every field fits in the body; booleans are 0 or 1; from/to nonzero and
 * different; entry counts and lengths within the RAFT_*_MAX ceilings; entry types known; no
 * trailing bytes. It never reads outside [buf, buf + len) and never allocates.
 */

#define RAFT_CODEC_VERSION            1u
#define RAFT_CODEC_HEADER_BYTES       8u
#define RAFT_CODEC_CHECKSUM_BYTES     8u
#define RAFT_CODEC_ENTRY_HEADER_BYTES 13u /* term u64, type u8, data_len u32 */
/* The largest body: an APPEND with the most entries and payload bytes allowed. */
#define RAFT_CODEC_BODY_BYTES_MAX                                                                  \
    (16u + 28u + RAFT_APPEND_ENTRIES_MAX * RAFT_CODEC_ENTRY_HEADER_BYTES + RAFT_APPEND_BYTES_MAX)
#define RAFT_CODEC_FRAME_BYTES_MAX                                                                 \
    (RAFT_CODEC_HEADER_BYTES + RAFT_CODEC_BODY_BYTES_MAX + RAFT_CODEC_CHECKSUM_BYTES)

/* Exact size of the frame raft_encode() writes for `message` (which must be valid). */
size_t raft_encoded_size(const struct raft_message *message);

/*
 * Encodes `message` into buf[0..buf_len). Returns RAFT_OK and sets *written, or
 * RAFT_ERR_NOSPACE if buf_len < raft_encoded_size(message) (nothing useful is written).
 * Encoding an invalid message (zero ids, counts beyond the ceilings) is a programmer error.
 */
int raft_encode(const struct raft_message *message, uint8_t *buf, size_t buf_len, size_t *written);

/*
 * Stream framing: given the first `len` bytes of a frame (len >= RAFT_CODEC_HEADER_BYTES),
 * sets *frame_len to the whole frame's size. RAFT_ERR_DECODE (with *reason) if the header is
 * already invalid (magic, version, type, body length), so a stream reader never waits for a
 * frame that cannot be valid. RAFT_ERR_NOSPACE if fewer than RAFT_CODEC_HEADER_BYTES are given.
 */
int raft_frame_size(const uint8_t *buf, size_t len, size_t *frame_len, const char **reason);

/*
 * Decodes exactly one frame that fills buf[0..len). On RAFT_OK, *message is filled; an APPEND's
 * entries are written to entries[0..entries_max) and point into `buf` (zero copy: `buf` must
 * outlive the message), with their indices filled in; a SNAPSHOT chunk's data points into `buf`.
 * A frame with more entries than entries_max is rejected. On RAFT_ERR_DECODE, *reason (a static
 * string, may be NULL to ignore) says why, and *message is unspecified.
 */
int raft_decode(const uint8_t *buf, size_t len, struct raft_message *message,
                struct raft_entry *entries, size_t entries_max, const char **reason);

/*
 * Membership encoding, used for CONFIG entry payloads and at the head of snapshot streams:
 * version u8, then voter_count u32 + ids, voters_outgoing_count u32 + ids, learner_count u32 +
 * ids (u32 each). Decoding validates the invariants of struct raft_membership.
 */
#define RAFT_MEMBERSHIP_BYTES_MAX (1u + 3u * 4u + 3u * RAFT_NODES_MAX * 4u)

size_t raft_membership_encoded_size(const struct raft_membership *membership);
int raft_membership_encode(const struct raft_membership *membership, uint8_t *buf, size_t buf_len,
                           size_t *written);
/* Decodes a membership from exactly buf[0..len) */
int raft_membership_decode(const uint8_t *buf, size_t len, struct raft_membership *membership,
                           const char **reason);
/* Checks the invariants of struct raft_membership; RAFT_ERR_INVALID with *reason if broken. */
int raft_membership_check(const struct raft_membership *membership, const char **reason);

#endif
