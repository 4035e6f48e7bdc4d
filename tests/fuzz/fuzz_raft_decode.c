/* libFuzzer target: raft_decode on arbitrary bytes must never crash or read out of bounds. */
#include "core/hash.h"
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

/* Random bytes almost never carry a valid checksum; this copy gets a valid envelope (magic,
 * version, body length, checksum) so the body parser is exercised too. */
static void decode_with_valid_envelope(const uint8_t *data, size_t size)
{
    static uint8_t frame[1u << 16];
    if (size < RAFT_CODEC_HEADER_BYTES + RAFT_CODEC_CHECKSUM_BYTES || size > sizeof(frame)) {
        return;
    }
    memcpy(frame, data, size);
    size_t body_len = size - RAFT_CODEC_HEADER_BYTES - RAFT_CODEC_CHECKSUM_BYTES;
    frame[0] = 'F';
    frame[1] = 'R';
    frame[2] = RAFT_CODEC_VERSION;
    frame[3] = (uint8_t)(1 + data[3] % RAFT_MESSAGE_TYPE_COUNT);
    for (int i = 0; i < 4; i++) {
        frame[4 + i] = (uint8_t)(body_len >> (8 * i));
    }
    uint64_t sum = hash_bytes(frame, RAFT_CODEC_HEADER_BYTES + body_len, 0);
    for (int i = 0; i < 8; i++) {
        frame[RAFT_CODEC_HEADER_BYTES + body_len + (size_t)i] = (uint8_t)(sum >> (8 * i));
    }
    decode_one(frame, size);
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
    return 0;
}
