/* libFuzzer target: raft_decode on arbitrary bytes, and a node stepped with what decodes, must
 * never crash or read out of bounds. */
#include "core/hash.h"
#include "core/raft.h"
#include "core/raft_codec.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid frames re-encode to the identical bytes (the encoding is canonical). */
static void check_canonical(const uint8_t *data, size_t size, const struct raft_message *m)
{
    static uint8_t out[1u << 16];
    size_t need = raft_encoded_size(m);
    if (need > sizeof(out)) {
        return;
    }
    size_t written = 0;
    int rc = raft_encode(m, out, sizeof(out), &written);
    assert(rc == RAFT_OK);
    assert(written == size);
    assert(memcmp(out, data, size) == 0);
    (void)rc;
}

static void decode_one(const uint8_t *data, size_t size)
{
    static struct raft_entry entries[64];
    struct raft_message m;
    const char *reason = NULL;
    int rc = raft_decode(data, size, &m, entries, 64, &reason);
    if (rc == RAFT_OK) {
        assert(reason == NULL);
        check_canonical(data, size, &m);
    } else {
        assert(rc == RAFT_ERR_DECODE);
        assert(reason != NULL);
    }
}

/* Gives frame[0..size) a valid envelope (magic, version, type from byte 3, body length,
 * checksum). */
static void seal_envelope(uint8_t *frame, size_t size)
{
    assert(size >= RAFT_CODEC_HEADER_BYTES + RAFT_CODEC_CHECKSUM_BYTES);
    size_t body_len = size - RAFT_CODEC_HEADER_BYTES - RAFT_CODEC_CHECKSUM_BYTES;
    frame[0] = 'F';
    frame[1] = 'R';
    frame[2] = RAFT_CODEC_VERSION;
    frame[3] = (uint8_t)(1 + frame[3] % RAFT_MESSAGE_TYPE_COUNT);
    for (int i = 0; i < 4; i++) {
        frame[4 + i] = (uint8_t)(body_len >> (8 * i));
    }
    uint64_t sum = hash_bytes(frame, RAFT_CODEC_HEADER_BYTES + body_len, 0);
    for (int i = 0; i < 8; i++) {
        frame[RAFT_CODEC_HEADER_BYTES + body_len + (size_t)i] = (uint8_t)(sum >> (8 * i));
    }
}

/* Random bytes almost never carry a valid checksum; this copy gets a valid envelope (magic,
 * version, body length, checksum) so the body parser is exercised too. */
static void decode_with_valid_envelope(const uint8_t *data, size_t size)
{
    static uint8_t frame[1u << 16];
    if (size < RAFT_CODEC_HEADER_BYTES + RAFT_CODEC_CHECKSUM_BYTES || size > sizeof(frame)) {
        return;
    }
    memcpy(frame, data, size);
    seal_envelope(frame, size);
    decode_one(frame, size);
}

/* ---- a node driven by fuzzed peers ---- */

#define FUZZ_STEPS_MAX 256 /* events per input */
#define FUZZ_ACKS_MAX  64  /* acknowledgements chained after one event */

struct fuzz_input {
    const uint8_t *data;
    size_t size;
    size_t pos;
};

static uint8_t fuzz_byte(struct fuzz_input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* Node 1 of voters {1, 2, 3} and learner 4, with small limits so the bounds are reached. */
static struct raft_node *fuzz_node_create(uint8_t flags)
{
    struct raft_config c;
    raft_config_default(&c);
    c.id = 1;
    c.voter_count = 3;
    for (uint32_t i = 0; i < 3; i++) {
        c.voter_ids[i] = i + 1;
    }
    c.learner_ids[0] = 4;
    c.learner_count = 1;
    c.seed = flags;
    c.pre_vote = (flags & 1) != 0;
    c.check_quorum = (flags & 2) != 0;
    c.election_timeout_ticks_min = 3;
    c.election_timeout_ticks_max = 5;
    c.heartbeat_interval_ticks = 1;
    c.limits.log_entries_max = 16;
    c.limits.log_bytes_max = 512;
    c.limits.entry_bytes_max = 64;
    c.limits.append_entries_max = 4;
    c.limits.append_bytes_max = 128;
    c.limits.inflight_appends_max = 2;
    c.limits.messages_per_update_max = 8;
    c.limits.message_entries_per_update_max = 8;
    c.limits.apply_entries_per_update_max = 4;
    c.limits.snapshot_bytes_max = (flags & 4) != 0 ? 256 : 0;
    c.limits.snapshot_chunk_bytes_max = 32;
    c.limits.snapshot_trailing_entries = flags >> 6;
    c.limits.read_requests_max = 4;
    struct raft_node *node = raft_node_create(&c);
    assert(node != NULL);
    return node;
}

/* Steps one event and acknowledges what the update asks, like synchronous storage would (unless
 * `lazy`, when persistence is never acknowledged). */
static void fuzz_step(struct raft_node *node, const struct raft_event *event, bool lazy)
{
    struct raft_event ev = *event;
    for (int i = 0; i < FUZZ_ACKS_MAX; i++) {
        struct raft_update u;
        (void)raft_step(node, &ev, &u);
        assert(u.committed_count == 0 || u.committed[0].index >= 1);
        if (!lazy && u.entry_count > 0) {
            ev = (struct raft_event){ .type = RAFT_EVENT_PERSISTED };
            ev.persisted.index = u.entries[u.entry_count - 1].index;
            ev.persisted.term = u.entries[u.entry_count - 1].term;
        } else if (!lazy && u.snapshot != NULL) {
            ev = (struct raft_event){ .type = RAFT_EVENT_PERSISTED };
            ev.persisted.index = u.snapshot->meta.index;
            ev.persisted.term = u.snapshot->meta.term;
        } else if (u.committed_count > 0) {
            ev = (struct raft_event){ .type = RAFT_EVENT_APPLIED };
            ev.applied.index = u.committed[u.committed_count - 1].index;
        } else {
            return;
        }
    }
}

/* A peer's message: a length byte, then that many bytes sealed into a frame; if it decodes, it is
 * delivered to node 1 from a peer (ids 2..5: voters, the learner, a stranger). */
static void fuzz_message(struct raft_node *node, struct fuzz_input *in, bool lazy)
{
    static uint8_t frame[RAFT_CODEC_HEADER_BYTES + 255 + RAFT_CODEC_CHECKSUM_BYTES];
    static struct raft_entry entries[8];
    size_t body = fuzz_byte(in);
    size_t size = RAFT_CODEC_HEADER_BYTES + body + RAFT_CODEC_CHECKSUM_BYTES;
    memset(frame, 0, sizeof(frame));
    for (size_t i = 3; i < RAFT_CODEC_HEADER_BYTES + body; i++) {
        frame[i] = fuzz_byte(in);
    }
    uint8_t from = fuzz_byte(in);
    seal_envelope(frame, size);
    struct raft_message m;
    if (raft_decode(frame, size, &m, entries, 8, NULL) != RAFT_OK) {
        return;
    }
    m.to = 1;
    m.from = 2 + from % 4;
    struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
    ev.receive.message = &m;
    fuzz_step(node, &ev, lazy);
}

/* A local event: ticks, a proposal, a snapshot, a read, a transfer or a membership change. */
static void fuzz_local(struct raft_node *node, struct fuzz_input *in, uint8_t op, bool lazy)
{
    static const uint8_t payload[64] = { 'K' };
    struct raft_event ev = { .type = RAFT_EVENT_TICK };
    uint8_t arg = fuzz_byte(in);
    switch (op % 6) {
    case 0:
        for (uint8_t t = 0; t < arg % 8; t++) {
            fuzz_step(node, &ev, lazy);
        }
        return;
    case 1:
        ev = (struct raft_event){ .type = RAFT_EVENT_PROPOSE };
        ev.propose.data = payload;
        ev.propose.data_len = arg % 80;
        break;
    case 2:
        ev = (struct raft_event){ .type = RAFT_EVENT_SNAPSHOT };
        ev.snapshot.index = raft_node_applied_index(node) - arg % 4;
        ev.snapshot.data = payload;
        ev.snapshot.data_len = arg % 64;
        break;
    case 3:
        ev = (struct raft_event){ .type = RAFT_EVENT_READ_INDEX };
        ev.read_index.request_id = arg;
        break;
    case 4:
        ev = (struct raft_event){ .type = RAFT_EVENT_TRANSFER_LEADERSHIP };
        ev.transfer.target_id = arg % 6;
        break;
    default: {
        static struct raft_membership target;
        memset(&target, 0, sizeof(target));
        for (uint32_t id = 1; id <= 5; id++) {
            if (arg & (1u << id)) {
                target.voters[target.voter_count++] = id;
            } else if (arg & 1u) {
                target.learners[target.learner_count++] = id;
            }
        }
        ev = (struct raft_event){ .type = RAFT_EVENT_CHANGE_CONFIG };
        ev.change_config.membership = &target;
        break;
    }
    }
    fuzz_step(node, &ev, lazy);
}

/* The input drives one node: byte 0 picks the configuration, then each record is an opcode and
 * its bytes. Whatever peers send, the node must never abort. */
static void fuzz_node(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size, 0 };
    struct raft_node *node = fuzz_node_create(fuzz_byte(&in));
    for (int step = 0; step < FUZZ_STEPS_MAX && in.pos < in.size; step++) {
        uint8_t op = fuzz_byte(&in);
        bool lazy = (op & 0x80) != 0;
        if ((op & 0x40) != 0) {
            fuzz_message(node, &in, lazy);
        } else {
            fuzz_local(node, &in, op, lazy);
        }
    }
    raft_node_destroy(node);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_one(data, size);
    decode_with_valid_envelope(data, size);
    size_t frame_len = 0;
    const char *reason = NULL;
    (void)raft_frame_size(data, size, &frame_len, &reason);
    struct raft_membership membership;
    (void)raft_membership_decode(data, size, &membership, &reason);
    fuzz_node(data, size);
    return 0;
}
