/* Tests for the wire codec: round trips of every kind, and rejection of every malformed input. */
#include "core/hash.h"
#include "core/prng.h"
#include "core/raft_codec.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MAX 4096

static const uint8_t payload_a[] = { 'K', 1, 2, 3 };
static const uint8_t payload_b[] = { 'W', 9 };
static const uint8_t chunk[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01 };

/* One valid message of each kind, with distinctive field values. */
static struct raft_message sample(enum raft_message_type type)
{
    static const struct raft_entry entries[3] = {
        { 11, 5, RAFT_ENTRY_NOOP, 0, NULL },
        { 12, 5, RAFT_ENTRY_COMMAND, sizeof(payload_a), payload_a },
        { 13, 6, RAFT_ENTRY_CONFIG, sizeof(payload_b), payload_b },
    };
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.term = 0x0102030405060708ULL;
    m.from = 7;
    m.to = 0xfffffff0u;
    switch (type) {
    case RAFT_MSG_APPEND:
        m.append = (struct raft_append){ 10, 4, 9, entries, 3 };
        break;
    case RAFT_MSG_APPEND_RESPONSE:
        m.append_response = (struct raft_append_response){ true, 99, 42, 3, 120 };
        break;
    case RAFT_MSG_VOTE:
    case RAFT_MSG_PRE_VOTE:
        m.vote = (struct raft_vote){ 77, 6, true };
        break;
    case RAFT_MSG_VOTE_RESPONSE:
    case RAFT_MSG_PRE_VOTE_RESPONSE:
        m.vote_response.granted = true;
        break;
    case RAFT_MSG_HEARTBEAT:
        m.heartbeat = (struct raft_heartbeat){ 55, 0xabcdef };
        break;
    case RAFT_MSG_HEARTBEAT_RESPONSE:
        m.heartbeat_response.context = 0xabcdef;
        break;
    case RAFT_MSG_SNAPSHOT:
        m.snapshot = (struct raft_snapshot_chunk){ 500, 8, 1000, 20, chunk, sizeof(chunk) };
        break;
    case RAFT_MSG_SNAPSHOT_RESPONSE:
        m.snapshot_response = (struct raft_snapshot_response){ false, 500, 26 };
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        break;
    }
    return m;
}

static size_t encode(const struct raft_message *m, uint8_t *buf)
{
    size_t written = 0;
    cr_assert_eq(raft_encode(m, buf, BUF_MAX, &written), RAFT_OK);
    cr_assert_eq(written, raft_encoded_size(m));
    return written;
}

static void assert_same(const struct raft_message *a, const struct raft_message *b)
{
    cr_assert_eq(a->type, b->type);
    cr_assert_eq(a->term, b->term);
    cr_assert_eq(a->from, b->from);
    cr_assert_eq(a->to, b->to);
    switch (a->type) {
    case RAFT_MSG_APPEND:
        cr_assert_eq(a->append.prev_index, b->append.prev_index);
        cr_assert_eq(a->append.prev_term, b->append.prev_term);
        cr_assert_eq(a->append.commit, b->append.commit);
        cr_assert_eq(a->append.entry_count, b->append.entry_count);
        for (uint32_t i = 0; i < a->append.entry_count; i++) {
            const struct raft_entry *x = &a->append.entries[i];
            const struct raft_entry *y = &b->append.entries[i];
            cr_assert_eq(x->index, y->index);
            cr_assert_eq(x->term, y->term);
            cr_assert_eq(x->type, y->type);
            cr_assert_eq(x->data_len, y->data_len);
            cr_assert(x->data_len == 0 || memcmp(x->data, y->data, x->data_len) == 0);
        }
        break;
    case RAFT_MSG_APPEND_RESPONSE:
        cr_assert(memcmp(&a->append_response, &b->append_response, sizeof(a->append_response)) ==
                  0);
        break;
    case RAFT_MSG_VOTE:
    case RAFT_MSG_PRE_VOTE:
        cr_assert_eq(a->vote.last_index, b->vote.last_index);
        cr_assert_eq(a->vote.last_term, b->vote.last_term);
        cr_assert_eq(a->vote.transfer, b->vote.transfer);
        break;
    case RAFT_MSG_VOTE_RESPONSE:
    case RAFT_MSG_PRE_VOTE_RESPONSE:
        cr_assert_eq(a->vote_response.granted, b->vote_response.granted);
        break;
    case RAFT_MSG_HEARTBEAT:
        cr_assert_eq(a->heartbeat.commit, b->heartbeat.commit);
        cr_assert_eq(a->heartbeat.context, b->heartbeat.context);
        break;
    case RAFT_MSG_HEARTBEAT_RESPONSE:
        cr_assert_eq(a->heartbeat_response.context, b->heartbeat_response.context);
        break;
    case RAFT_MSG_SNAPSHOT:
        cr_assert_eq(a->snapshot.last_index, b->snapshot.last_index);
        cr_assert_eq(a->snapshot.last_term, b->snapshot.last_term);
        cr_assert_eq(a->snapshot.total_len, b->snapshot.total_len);
        cr_assert_eq(a->snapshot.offset, b->snapshot.offset);
        cr_assert_eq(a->snapshot.data_len, b->snapshot.data_len);
        cr_assert(memcmp(a->snapshot.data, b->snapshot.data, a->snapshot.data_len) == 0);
        break;
    case RAFT_MSG_SNAPSHOT_RESPONSE:
        cr_assert_eq(a->snapshot_response.reject, b->snapshot_response.reject);
        cr_assert_eq(a->snapshot_response.last_index, b->snapshot_response.last_index);
        cr_assert_eq(a->snapshot_response.offset, b->snapshot_response.offset);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        break;
    }
}

/* Invariant: decode(encode(m)) == m for every message kind; entries point into the input. */
Test(raft_codec, round_trip_every_kind)
{
    for (int t = RAFT_MSG_APPEND; t <= RAFT_MESSAGE_TYPE_COUNT; t++) {
        struct raft_message m = sample((enum raft_message_type)t);
        uint8_t buf[BUF_MAX];
        size_t len = encode(&m, buf);
        struct raft_message out;
        struct raft_entry entries[8];
        const char *reason = "unset";
        cr_assert_eq(raft_decode(buf, len, &out, entries, 8, &reason), RAFT_OK, "%s: %s",
                     raft_message_type_name(m.type), reason);
        cr_assert_null(reason);
        assert_same(&m, &out);
        if (t == RAFT_MSG_APPEND) {
            const uint8_t *p = out.append.entries[1].data;
            cr_assert(p >= buf && p < buf + len, "zero copy: entry data points into the frame");
        }
        size_t frame_len = 0;
        cr_assert_eq(raft_frame_size(buf, RAFT_CODEC_HEADER_BYTES, &frame_len, NULL), RAFT_OK);
        cr_assert_eq(frame_len, len, "stream framing reads the length from the header");
    }
}

/* Invariant: every strict prefix of a valid frame is rejected with a reason. */
Test(raft_codec, truncated_input_rejected)
{
    for (int t = RAFT_MSG_APPEND; t <= RAFT_MESSAGE_TYPE_COUNT; t++) {
        struct raft_message m = sample((enum raft_message_type)t);
        uint8_t buf[BUF_MAX];
        size_t len = encode(&m, buf);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *copy = malloc(cut > 0 ? cut : 1); /* exact size: ASan catches overreads */
            memcpy(copy, buf, cut);
            struct raft_message out;
            struct raft_entry entries[8];
            const char *reason = NULL;
            cr_assert_eq(raft_decode(copy, cut, &out, entries, 8, &reason), RAFT_ERR_DECODE,
                         "%s cut at %zu", raft_message_type_name(m.type), cut);
            cr_assert_not_null(reason);
            free(copy);
        }
    }
}

/* Invariant: flipping any single bit of a frame is detected (checksum or header checks). */
Test(raft_codec, bit_flips_rejected)
{
    for (int t = RAFT_MSG_APPEND; t <= RAFT_MESSAGE_TYPE_COUNT; t++) {
        struct raft_message m = sample((enum raft_message_type)t);
        uint8_t buf[BUF_MAX];
        size_t len = encode(&m, buf);
        for (size_t bit = 0; bit < len * 8; bit++) {
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            struct raft_message out;
            struct raft_entry entries[8];
            const char *reason = NULL;
            cr_assert_eq(raft_decode(buf, len, &out, entries, 8, &reason), RAFT_ERR_DECODE,
                         "%s bit %zu", raft_message_type_name(m.type), bit);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
    }
}

/* Writes a frame with the given body and a correct checksum (to reach the body checks). */
static size_t forge(uint8_t *buf, uint8_t type, const uint8_t *body, size_t body_len)
{
    buf[0] = 'F';
    buf[1] = 'R';
    buf[2] = RAFT_CODEC_VERSION;
    buf[3] = type;
    for (int i = 0; i < 4; i++) {
        buf[4 + i] = (uint8_t)(body_len >> (8 * i));
    }
    memcpy(buf + 8, body, body_len);
    uint64_t sum = hash_bytes(buf, 8 + body_len, 0);
    for (int i = 0; i < 8; i++) {
        buf[8 + body_len + (size_t)i] = (uint8_t)(sum >> (8 * i));
    }
    return 8 + body_len + 8;
}

static const char *decode_reason(const uint8_t *buf, size_t len, size_t entries_max)
{
    struct raft_message out;
    struct raft_entry entries[8];
    const char *reason = NULL;
    int rc = raft_decode(buf, len, &out, entries, entries_max, &reason);
    cr_assert_eq(rc, RAFT_ERR_DECODE);
    cr_assert_not_null(reason);
    return reason;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Invariant: oversized and out-of-bounds lengths are rejected before anything is read: a body
 * length over the ceiling, an entry count over the ceiling or the caller's array, an entry
 * length past the body, a snapshot chunk outside its snapshot; plus version, magic, trailing
 * bytes, bad booleans and zero ids. */
Test(raft_codec, oversized_and_inconsistent_lengths_rejected)
{
    uint8_t buf[BUF_MAX];
    uint8_t body[256];
    memset(body, 0, sizeof(body));
    put_le(body, 1, 8);      /* term */
    put_le(body + 8, 1, 4);  /* from */
    put_le(body + 12, 2, 4); /* to */

    /* Body length beyond the ceiling, stated in the header (stream framing refuses at once). */
    size_t len = forge(buf, RAFT_MSG_TIMEOUT_NOW, body, 16);
    put_le(buf + 4, (uint64_t)RAFT_CODEC_BODY_BYTES_MAX + 1, 4);
    cr_assert_str_eq(decode_reason(buf, len, 8), "body length exceeds RAFT_CODEC_BODY_BYTES_MAX");
    size_t frame_len = 0;
    const char *reason = NULL;
    cr_assert_eq(raft_frame_size(buf, len, &frame_len, &reason), RAFT_ERR_DECODE);

    /* APPEND claiming 5000 entries. */
    put_le(body + 16 + 24, 5000, 4);
    len = forge(buf, RAFT_MSG_APPEND, body, 16 + 28);
    cr_assert_str_eq(decode_reason(buf, len, 8), "entry count exceeds RAFT_APPEND_ENTRIES_MAX");
    /* APPEND with 9 entries but a caller array of 8. */
    put_le(body + 16 + 24, 9, 4);
    len = forge(buf, RAFT_MSG_APPEND, body, 16 + 28);
    cr_assert_str_eq(decode_reason(buf, len, 8), "entry count exceeds the caller's entry array");
    /* One entry whose data length runs past the body. */
    put_le(body + 16 + 24, 1, 4);
    put_le(body + 44, 3, 8);       /* entry term */
    body[52] = RAFT_ENTRY_COMMAND; /* entry type */
    put_le(body + 53, 1000, 4);    /* data_len */
    len = forge(buf, RAFT_MSG_APPEND, body, 16 + 28 + 13 + 4);
    cr_assert_str_eq(decode_reason(buf, len, 8),
                     "truncated: a field runs past the end of the body");
    /* Entry length over the ceiling. */
    put_le(body + 53, (uint64_t)RAFT_ENTRY_BYTES_MAX + 1, 4);
    len = forge(buf, RAFT_MSG_APPEND, body, 16 + 28 + 13);
    cr_assert_str_eq(decode_reason(buf, len, 8),
                     "an entry's data length exceeds RAFT_ENTRY_BYTES_MAX");
    /* Unknown entry type. */
    put_le(body + 53, 0, 4);
    body[52] = 9;
    len = forge(buf, RAFT_MSG_APPEND, body, 16 + 28 + 13);
    cr_assert_str_eq(decode_reason(buf, len, 8), "an entry has an unknown type");
    /* Trailing bytes in a body. */
    body[52] = RAFT_ENTRY_NOOP;
    len = forge(buf, RAFT_MSG_APPEND, body, 16 + 28 + 13 + 1);
    cr_assert_str_eq(decode_reason(buf, len, 8), "trailing bytes in the body");

    /* Snapshot chunk beyond its total length. */
    memset(body + 16, 0, sizeof(body) - 16);
    put_le(body + 16, 5, 8);  /* last_index */
    put_le(body + 24, 2, 8);  /* last_term */
    put_le(body + 32, 10, 8); /* total_len */
    put_le(body + 40, 8, 8);  /* offset */
    put_le(body + 48, 4, 4);  /* data_len: 8 + 4 > 10 */
    len = forge(buf, RAFT_MSG_SNAPSHOT, body, 16 + 36 + 4);
    cr_assert_str_eq(decode_reason(buf, len, 8),
                     "snapshot chunk lies outside the snapshot's total length");

    /* Boolean neither 0 nor 1. */
    body[16] = 2;
    len = forge(buf, RAFT_MSG_VOTE_RESPONSE, body, 17);
    cr_assert_str_eq(decode_reason(buf, len, 8), "a boolean field is neither 0 nor 1");
    /* Zero sender. */
    body[16] = 1;
    put_le(body + 8, 0, 4);
    len = forge(buf, RAFT_MSG_VOTE_RESPONSE, body, 17);
    cr_assert_str_eq(decode_reason(buf, len, 8), "from/to are zero or equal");
    /* Version, magic, trailing bytes after the frame. */
    put_le(body + 8, 1, 4);
    len = forge(buf, RAFT_MSG_VOTE_RESPONSE, body, 17);
    buf[2] = 2;
    cr_assert_str_eq(decode_reason(buf, len, 8), "unsupported codec version");
    buf[2] = RAFT_CODEC_VERSION;
    buf[0] = 'X';
    cr_assert_str_eq(decode_reason(buf, len, 8), "bad magic (not a FlowRaft frame)");
    buf[0] = 'F';
    cr_assert_str_eq(decode_reason(buf, len + 1, 8), "trailing bytes after the frame");
    struct raft_message out;
    struct raft_entry entries[8];
    cr_assert_eq(raft_decode(buf, len, &out, entries, 8, NULL), RAFT_OK, "the base is valid");
}

/* Invariant: the encoder refuses a buffer one byte too small instead of overflowing it. */
Test(raft_codec, encode_refuses_short_buffer)
{
    struct raft_message m = sample(RAFT_MSG_APPEND);
    size_t need = raft_encoded_size(&m);
    uint8_t *buf = malloc(need - 1);
    size_t written = 0;
    cr_assert_eq(raft_encode(&m, buf, need - 1, &written), RAFT_ERR_NOSPACE);
    free(buf);
}

/* Invariant: random bytes never decode (and never crash); random mutations of valid frames are
 * rejected or, if they happen to be valid, decode to something that re-encodes identically. */
Test(raft_codec, random_input_rejected)
{
    struct prng prng;
    prng_seed(&prng, 2024);
    uint8_t buf[BUF_MAX];
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)prng_below(&prng, 200);
        for (size_t j = 0; j < len; j++) {
            buf[j] = (uint8_t)prng_next(&prng);
        }
        if (i % 2 == 0 && len >= 8) {
            buf[0] = 'F'; /* get past the magic half of the time */
            buf[1] = 'R';
            buf[2] = RAFT_CODEC_VERSION;
        }
        uint8_t *copy = malloc(len > 0 ? len : 1);
        memcpy(copy, buf, len);
        struct raft_message out;
        struct raft_entry entries[8];
        const char *reason = NULL;
        cr_assert_eq(raft_decode(copy, len, &out, entries, 8, &reason), RAFT_ERR_DECODE);
        cr_assert_not_null(reason);
        free(copy);
    }
}

/* Invariant: membership encodings round-trip and invalid ones (duplicates, learner also voter,
 * zero ids, oversized lists, truncation) are rejected. */
Test(raft_codec, membership_round_trip_and_validation)
{
    struct raft_membership m;
    memset(&m, 0, sizeof(m));
    m.voter_count = 3;
    m.voters[0] = 1;
    m.voters[1] = 2;
    m.voters[2] = 3;
    m.voters_outgoing_count = 2;
    m.voters_outgoing[0] = 1;
    m.voters_outgoing[1] = 4;
    m.learner_count = 1;
    m.learners[0] = 9;
    uint8_t buf[RAFT_MEMBERSHIP_BYTES_MAX];
    size_t len = 0;
    cr_assert_eq(raft_membership_encode(&m, buf, sizeof(buf), &len), RAFT_OK);
    cr_assert_eq(len, raft_membership_encoded_size(&m));
    struct raft_membership out;
    cr_assert_eq(raft_membership_decode(buf, len, &out, NULL), RAFT_OK);
    cr_assert(memcmp(&m, &out, sizeof(m)) == 0);
    for (size_t cut = 0; cut < len; cut++) {
        cr_assert_eq(raft_membership_decode(buf, cut, &out, NULL), RAFT_ERR_DECODE);
    }
    const char *reason = NULL;
    m.learners[0] = 2;
    cr_assert_eq(raft_membership_check(&m, &reason), RAFT_ERR_INVALID);
    cr_assert_str_eq(reason, "membership: a learner is also a voter");
    m.learners[0] = 9;
    m.voters[2] = 2;
    cr_assert_eq(raft_membership_check(&m, &reason), RAFT_ERR_INVALID);
    m.voters[2] = 0;
    cr_assert_eq(raft_membership_check(&m, &reason), RAFT_ERR_INVALID);
    m.voters[2] = 3;
    put_le(buf + 1, RAFT_NODES_MAX + 1, 4);
    cr_assert_eq(raft_membership_decode(buf, len, &out, &reason), RAFT_ERR_DECODE);
}
