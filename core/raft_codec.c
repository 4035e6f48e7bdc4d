/* Wire codec: bounded little-endian encoding of messages and memberships; paranoid decoding. */
#include "core/raft_codec.h"

#include "core/bytes.h"
#include "core/hash.h"

#include <assert.h>
#include <string.h>

#define RAFT_CODEC_MAGIC0       0x46u /* 'F' */
#define RAFT_CODEC_MAGIC1       0x52u /* 'R' */
#define RAFT_CODEC_COMMON_BYTES 16u   /* term u64, from u32, to u32 */
#define RAFT_MEMBERSHIP_VERSION 1u

/* ---- Encoding ---- */

struct raft_writer {
    uint8_t *buf;
    size_t len;
    size_t pos;
};

static void raft_put_bytes(struct raft_writer *w, const void *data, size_t len)
{
    assert(w->len - w->pos >= len);
    assert(data != NULL || len == 0);
    if (len > 0) {
        memcpy(w->buf + w->pos, data, len);
    }
    w->pos += len;
}

static void raft_put_u8(struct raft_writer *w, uint8_t v)
{
    raft_put_bytes(w, &v, 1);
}

static void raft_put_u32(struct raft_writer *w, uint32_t v)
{
    uint8_t b[4];
    bytes_put_u32(b, v);
    raft_put_bytes(w, b, sizeof(b));
}

static void raft_put_u64(struct raft_writer *w, uint64_t v)
{
    uint8_t b[8];
    bytes_put_u64(b, v);
    raft_put_bytes(w, b, sizeof(b));
}

/* Body bytes after the common part, for a valid message. */
static size_t raft_body_specific_size(const struct raft_message *m)
{
    switch (m->type) {
    case RAFT_MSG_APPEND: {
        size_t size = 28;
        for (uint32_t i = 0; i < m->append.entry_count; i++) {
            size += RAFT_CODEC_ENTRY_HEADER_BYTES + m->append.entries[i].data_len;
        }
        return size;
    }
    case RAFT_MSG_APPEND_RESPONSE:
        return 33;
    case RAFT_MSG_VOTE:
    case RAFT_MSG_PRE_VOTE:
        return 17;
    case RAFT_MSG_VOTE_RESPONSE:
    case RAFT_MSG_PRE_VOTE_RESPONSE:
        return 1;
    case RAFT_MSG_HEARTBEAT:
        return 16;
    case RAFT_MSG_HEARTBEAT_RESPONSE:
        return 8;
    case RAFT_MSG_SNAPSHOT:
        return 36 + (size_t)m->snapshot.data_len;
    case RAFT_MSG_SNAPSHOT_RESPONSE:
        return 17;
    case RAFT_MSG_TIMEOUT_NOW:
        return 0;
    }
    assert(0 && "unknown message type");
    return 0;
}

static void raft_encode_check(const struct raft_message *m)
{
    assert(m->from != 0 && m->to != 0 && m->from != m->to);
    assert(m->type >= RAFT_MSG_APPEND && m->type <= RAFT_MESSAGE_TYPE_COUNT);
    if (m->type == RAFT_MSG_APPEND) {
        assert(m->append.entry_count <= RAFT_APPEND_ENTRIES_MAX);
        assert(m->append.entries != NULL || m->append.entry_count == 0);
    }
    if (m->type == RAFT_MSG_SNAPSHOT) {
        assert(m->snapshot.data_len <= RAFT_SNAPSHOT_CHUNK_MAX);
    }
}

size_t raft_encoded_size(const struct raft_message *message)
{
    assert(message != NULL);
    raft_encode_check(message);
    return RAFT_CODEC_HEADER_BYTES + RAFT_CODEC_COMMON_BYTES + raft_body_specific_size(message) +
           RAFT_CODEC_CHECKSUM_BYTES;
}

static void raft_encode_append(struct raft_writer *w, const struct raft_append *a)
{
    raft_put_u64(w, a->prev_index);
    raft_put_u64(w, a->prev_term);
    raft_put_u64(w, a->commit);
    raft_put_u32(w, a->entry_count);
    for (uint32_t i = 0; i < a->entry_count; i++) {
        const struct raft_entry *e = &a->entries[i];
        assert(e->data_len <= RAFT_ENTRY_BYTES_MAX);
        raft_put_u64(w, e->term);
        raft_put_u8(w, (uint8_t)e->type);
        raft_put_u32(w, e->data_len);
        raft_put_bytes(w, e->data, e->data_len);
    }
}

static void raft_encode_body(struct raft_writer *w, const struct raft_message *m)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
        raft_encode_append(w, &m->append);
        break;
    case RAFT_MSG_APPEND_RESPONSE:
        raft_put_u8(w, m->append_response.reject ? 1 : 0);
        raft_put_u64(w, m->append_response.index);
        raft_put_u64(w, m->append_response.hint_index);
        raft_put_u64(w, m->append_response.hint_term);
        raft_put_u64(w, m->append_response.last_index);
        break;
    case RAFT_MSG_VOTE:
    case RAFT_MSG_PRE_VOTE:
        raft_put_u64(w, m->vote.last_index);
        raft_put_u64(w, m->vote.last_term);
        raft_put_u8(w, m->vote.transfer ? 1 : 0);
        break;
    case RAFT_MSG_VOTE_RESPONSE:
    case RAFT_MSG_PRE_VOTE_RESPONSE:
        raft_put_u8(w, m->vote_response.granted ? 1 : 0);
        break;
    case RAFT_MSG_HEARTBEAT:
        raft_put_u64(w, m->heartbeat.commit);
        raft_put_u64(w, m->heartbeat.context);
        break;
    case RAFT_MSG_HEARTBEAT_RESPONSE:
        raft_put_u64(w, m->heartbeat_response.context);
        break;
    case RAFT_MSG_SNAPSHOT:
        raft_put_u64(w, m->snapshot.last_index);
        raft_put_u64(w, m->snapshot.last_term);
        raft_put_u64(w, m->snapshot.total_len);
        raft_put_u64(w, m->snapshot.offset);
        raft_put_u32(w, m->snapshot.data_len);
        raft_put_bytes(w, m->snapshot.data, m->snapshot.data_len);
        break;
    case RAFT_MSG_SNAPSHOT_RESPONSE:
        raft_put_u8(w, m->snapshot_response.reject ? 1 : 0);
        raft_put_u64(w, m->snapshot_response.last_index);
        raft_put_u64(w, m->snapshot_response.offset);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        break;
    }
}

int raft_encode(const struct raft_message *message, uint8_t *buf, size_t buf_len, size_t *written)
{
    assert(message != NULL);
    assert(buf != NULL || buf_len == 0);
    assert(written != NULL);
    size_t size = raft_encoded_size(message);
    if (buf_len < size) {
        return RAFT_ERR_NOSPACE;
    }
    size_t body_len = size - RAFT_CODEC_HEADER_BYTES - RAFT_CODEC_CHECKSUM_BYTES;
    assert(body_len <= RAFT_CODEC_BODY_BYTES_MAX);
    struct raft_writer w = { buf, size, 0 };
    raft_put_u8(&w, RAFT_CODEC_MAGIC0);
    raft_put_u8(&w, RAFT_CODEC_MAGIC1);
    raft_put_u8(&w, RAFT_CODEC_VERSION);
    raft_put_u8(&w, (uint8_t)message->type);
    raft_put_u32(&w, (uint32_t)body_len);
    raft_put_u64(&w, message->term);
    raft_put_u32(&w, message->from);
    raft_put_u32(&w, message->to);
    raft_encode_body(&w, message);
    assert(w.pos == RAFT_CODEC_HEADER_BYTES + body_len);
    raft_put_u64(&w, hash_bytes(buf, w.pos, 0));
    assert(w.pos == size);
    *written = size;
    return RAFT_OK;
}

/* ---- Decoding ---- */

struct raft_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    const char *error; /* first failure; NULL while fine */
};

static void raft_reader_fail(struct raft_reader *r, const char *reason)
{
    if (r->error == NULL) {
        r->error = reason;
    }
}

static bool raft_need(struct raft_reader *r, size_t bytes)
{
    if (r->error != NULL) {
        return false;
    }
    if (r->len - r->pos < bytes) {
        raft_reader_fail(r, "truncated: a field runs past the end of the body");
        return false;
    }
    return true;
}

static uint8_t raft_get_u8(struct raft_reader *r)
{
    if (!raft_need(r, 1)) {
        return 0;
    }
    return r->buf[r->pos++];
}

static bool raft_get_bool(struct raft_reader *r)
{
    uint8_t v = raft_get_u8(r);
    if (v > 1) {
        raft_reader_fail(r, "a boolean field is neither 0 nor 1");
    }
    return v == 1;
}

static uint32_t raft_get_u32(struct raft_reader *r)
{
    if (!raft_need(r, 4)) {
        return 0;
    }
    uint32_t v = bytes_get_u32(r->buf + r->pos);
    r->pos += 4;
    return v;
}

static uint64_t raft_get_u64(struct raft_reader *r)
{
    if (!raft_need(r, 8)) {
        return 0;
    }
    uint64_t v = bytes_get_u64(r->buf + r->pos);
    r->pos += 8;
    return v;
}

/* Returns a pointer to `len` bytes in the input (zero copy), or NULL on failure/empty. */
static const uint8_t *raft_get_bytes(struct raft_reader *r, size_t len)
{
    if (len == 0 || !raft_need(r, len)) {
        return NULL;
    }
    const uint8_t *p = r->buf + r->pos;
    r->pos += len;
    return p;
}

static void raft_decode_entries(struct raft_reader *r, struct raft_append *a,
                                struct raft_entry *entries, size_t entries_max)
{
    uint64_t total_bytes = 0;
    for (uint32_t i = 0; i < a->entry_count && r->error == NULL; i++) {
        struct raft_entry *e = &entries[i];
        e->index = a->prev_index + 1 + i;
        e->term = raft_get_u64(r);
        uint8_t type = raft_get_u8(r);
        e->data_len = raft_get_u32(r);
        if (r->error != NULL) {
            return;
        }
        if (type < RAFT_ENTRY_NOOP || type > RAFT_ENTRY_CONFIG) {
            raft_reader_fail(r, "an entry has an unknown type");
            return;
        }
        e->type = (enum raft_entry_type)type;
        if (e->term == 0) {
            raft_reader_fail(r, "an entry has term 0");
            return;
        }
        if (e->data_len > RAFT_ENTRY_BYTES_MAX) {
            raft_reader_fail(r, "an entry's data length exceeds RAFT_ENTRY_BYTES_MAX");
            return;
        }
        total_bytes += e->data_len;
        if (total_bytes > RAFT_APPEND_BYTES_MAX) {
            raft_reader_fail(r, "entry payloads exceed RAFT_APPEND_BYTES_MAX");
            return;
        }
        e->data = raft_get_bytes(r, e->data_len);
    }
    (void)entries_max;
}

static void raft_decode_append(struct raft_reader *r, struct raft_append *a,
                               struct raft_entry *entries, size_t entries_max)
{
    a->prev_index = raft_get_u64(r);
    a->prev_term = raft_get_u64(r);
    a->commit = raft_get_u64(r);
    a->entry_count = raft_get_u32(r);
    a->entries = NULL;
    if (r->error != NULL) {
        return;
    }
    if (a->entry_count > RAFT_APPEND_ENTRIES_MAX) {
        raft_reader_fail(r, "entry count exceeds RAFT_APPEND_ENTRIES_MAX");
        return;
    }
    if (a->entry_count > entries_max) {
        raft_reader_fail(r, "entry count exceeds the caller's entry array");
        return;
    }
    if (a->prev_index > UINT64_MAX - a->entry_count) {
        raft_reader_fail(r, "prev_index + entry count overflows");
        return;
    }
    if (a->entry_count > 0) {
        a->entries = entries;
        raft_decode_entries(r, a, entries, entries_max);
    }
}

static void raft_decode_snapshot(struct raft_reader *r, struct raft_snapshot_chunk *s)
{
    s->last_index = raft_get_u64(r);
    s->last_term = raft_get_u64(r);
    s->total_len = raft_get_u64(r);
    s->offset = raft_get_u64(r);
    s->data_len = raft_get_u32(r);
    if (r->error != NULL) {
        return;
    }
    if (s->data_len > RAFT_SNAPSHOT_CHUNK_MAX) {
        raft_reader_fail(r, "snapshot chunk exceeds RAFT_SNAPSHOT_CHUNK_MAX");
        return;
    }
    if (s->offset > s->total_len || s->data_len > s->total_len - s->offset) {
        raft_reader_fail(r, "snapshot chunk lies outside the snapshot's total length");
        return;
    }
    if (s->last_index == 0 || s->last_term == 0) {
        raft_reader_fail(r, "snapshot chunk names index or term 0");
        return;
    }
    s->data = raft_get_bytes(r, s->data_len);
}

static void raft_decode_body(struct raft_reader *r, struct raft_message *m,
                             struct raft_entry *entries, size_t entries_max)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
        raft_decode_append(r, &m->append, entries, entries_max);
        break;
    case RAFT_MSG_APPEND_RESPONSE:
        m->append_response.reject = raft_get_bool(r);
        m->append_response.index = raft_get_u64(r);
        m->append_response.hint_index = raft_get_u64(r);
        m->append_response.hint_term = raft_get_u64(r);
        m->append_response.last_index = raft_get_u64(r);
        break;
    case RAFT_MSG_VOTE:
    case RAFT_MSG_PRE_VOTE:
        m->vote.last_index = raft_get_u64(r);
        m->vote.last_term = raft_get_u64(r);
        m->vote.transfer = raft_get_bool(r);
        break;
    case RAFT_MSG_VOTE_RESPONSE:
    case RAFT_MSG_PRE_VOTE_RESPONSE:
        m->vote_response.granted = raft_get_bool(r);
        break;
    case RAFT_MSG_HEARTBEAT:
        m->heartbeat.commit = raft_get_u64(r);
        m->heartbeat.context = raft_get_u64(r);
        break;
    case RAFT_MSG_HEARTBEAT_RESPONSE:
        m->heartbeat_response.context = raft_get_u64(r);
        break;
    case RAFT_MSG_SNAPSHOT:
        raft_decode_snapshot(r, &m->snapshot);
        break;
    case RAFT_MSG_SNAPSHOT_RESPONSE:
        m->snapshot_response.reject = raft_get_bool(r);
        m->snapshot_response.last_index = raft_get_u64(r);
        m->snapshot_response.offset = raft_get_u64(r);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        break;
    }
}

/* Header checks shared by raft_frame_size and raft_decode. */
static const char *raft_check_header(const uint8_t *buf, size_t *body_len)
{
    if (buf[0] != RAFT_CODEC_MAGIC0 || buf[1] != RAFT_CODEC_MAGIC1) {
        return "bad magic (not a FlowRaft frame)";
    }
    if (buf[2] != RAFT_CODEC_VERSION) {
        return "unsupported codec version";
    }
    if (buf[3] < RAFT_MSG_APPEND || buf[3] > RAFT_MESSAGE_TYPE_COUNT) {
        return "unknown message type";
    }
    *body_len = (size_t)bytes_get_u32(buf + 4);
    if (*body_len > RAFT_CODEC_BODY_BYTES_MAX) {
        return "body length exceeds RAFT_CODEC_BODY_BYTES_MAX";
    }
    if (*body_len < RAFT_CODEC_COMMON_BYTES) {
        return "body shorter than the common fields";
    }
    return NULL;
}

int raft_frame_size(const uint8_t *buf, size_t len, size_t *frame_len, const char **reason)
{
    assert(buf != NULL || len == 0);
    assert(frame_len != NULL);
    const char *unused;
    if (reason == NULL) {
        reason = &unused;
    }
    *reason = NULL;
    if (len < RAFT_CODEC_HEADER_BYTES) {
        *reason = "fewer bytes than a frame header";
        return RAFT_ERR_NOSPACE;
    }
    size_t body_len = 0;
    *reason = raft_check_header(buf, &body_len);
    if (*reason != NULL) {
        return RAFT_ERR_DECODE;
    }
    *frame_len = RAFT_CODEC_HEADER_BYTES + body_len + RAFT_CODEC_CHECKSUM_BYTES;
    return RAFT_OK;
}

/* Checks the frame's envelope; on success *body_len is the body's size. */
static const char *raft_check_frame(const uint8_t *buf, size_t len, size_t *body_len)
{
    if (len < RAFT_CODEC_HEADER_BYTES + RAFT_CODEC_CHECKSUM_BYTES) {
        return "truncated: shorter than header and checksum";
    }
    const char *why = raft_check_header(buf, body_len);
    if (why != NULL) {
        return why;
    }
    size_t expected = RAFT_CODEC_HEADER_BYTES + *body_len + RAFT_CODEC_CHECKSUM_BYTES;
    if (len < expected) {
        return "truncated: the body length exceeds the input";
    }
    if (len > expected) {
        return "trailing bytes after the frame";
    }
    uint64_t stored = bytes_get_u64(buf + RAFT_CODEC_HEADER_BYTES + *body_len);
    if (stored != hash_bytes(buf, RAFT_CODEC_HEADER_BYTES + *body_len, 0)) {
        return "checksum mismatch";
    }
    return NULL;
}

int raft_decode(const uint8_t *buf, size_t len, struct raft_message *message,
                struct raft_entry *entries, size_t entries_max, const char **reason)
{
    assert(buf != NULL || len == 0);
    assert(message != NULL);
    assert(entries != NULL || entries_max == 0);
    const char *unused;
    if (reason == NULL) {
        reason = &unused;
    }
    size_t body_len = 0;
    *reason = raft_check_frame(buf, len, &body_len);
    if (*reason != NULL) {
        return RAFT_ERR_DECODE;
    }
    memset(message, 0, sizeof(*message));
    message->type = (enum raft_message_type)buf[3];
    struct raft_reader r = { buf + RAFT_CODEC_HEADER_BYTES, body_len, 0, NULL };
    message->term = raft_get_u64(&r);
    message->from = raft_get_u32(&r);
    message->to = raft_get_u32(&r);
    if (message->from == 0 || message->to == 0 || message->from == message->to) {
        raft_reader_fail(&r, "from/to are zero or equal");
    }
    raft_decode_body(&r, message, entries, entries_max);
    if (r.error == NULL && r.pos != r.len) {
        raft_reader_fail(&r, "trailing bytes in the body");
    }
    *reason = r.error;
    return r.error == NULL ? RAFT_OK : RAFT_ERR_DECODE;
}

/* ---- Membership ---- */

static int raft_ids_check(const uint32_t *ids, uint32_t count, const char **reason)
{
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] == 0) {
            *reason = "membership: an id is 0";
            return RAFT_ERR_INVALID;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (ids[i] == ids[j]) {
                *reason = "membership: duplicate id in a list";
                return RAFT_ERR_INVALID;
            }
        }
    }
    return RAFT_OK;
}

static bool raft_ids_has(const uint32_t *ids, uint32_t count, uint32_t id)
{
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

/* Counts distinct ids over the three lists (each already bounded). */
static uint32_t raft_membership_distinct(const struct raft_membership *m)
{
    uint32_t distinct = m->voter_count + m->learner_count;
    for (uint32_t i = 0; i < m->voters_outgoing_count; i++) {
        if (!raft_ids_has(m->voters, m->voter_count, m->voters_outgoing[i]) &&
            !raft_ids_has(m->learners, m->learner_count, m->voters_outgoing[i])) {
            distinct++;
        }
    }
    return distinct;
}

int raft_membership_check(const struct raft_membership *m, const char **reason)
{
    assert(m != NULL);
    const char *unused;
    if (reason == NULL) {
        reason = &unused;
    }
    *reason = NULL;
    if (m->voter_count > RAFT_NODES_MAX || m->voters_outgoing_count > RAFT_NODES_MAX ||
        m->learner_count > RAFT_NODES_MAX) {
        *reason = "membership: a list exceeds RAFT_NODES_MAX";
        return RAFT_ERR_INVALID;
    }
    if (raft_ids_check(m->voters, m->voter_count, reason) != RAFT_OK ||
        raft_ids_check(m->voters_outgoing, m->voters_outgoing_count, reason) != RAFT_OK ||
        raft_ids_check(m->learners, m->learner_count, reason) != RAFT_OK) {
        return RAFT_ERR_INVALID;
    }
    for (uint32_t i = 0; i < m->learner_count; i++) {
        if (raft_ids_has(m->voters, m->voter_count, m->learners[i])) {
            *reason = "membership: a learner is also a voter";
            return RAFT_ERR_INVALID;
        }
    }
    if (raft_membership_distinct(m) > RAFT_NODES_MAX) {
        *reason = "membership: more than RAFT_NODES_MAX distinct ids";
        return RAFT_ERR_INVALID;
    }
    return RAFT_OK;
}

size_t raft_membership_encoded_size(const struct raft_membership *m)
{
    assert(m != NULL);
    assert(m->voter_count <= RAFT_NODES_MAX && m->voters_outgoing_count <= RAFT_NODES_MAX);
    assert(m->learner_count <= RAFT_NODES_MAX);
    return 1 + 12 + 4 * ((size_t)m->voter_count + m->voters_outgoing_count + m->learner_count);
}

static void raft_put_ids(struct raft_writer *w, const uint32_t *ids, uint32_t count)
{
    raft_put_u32(w, count);
    for (uint32_t i = 0; i < count; i++) {
        raft_put_u32(w, ids[i]);
    }
}

int raft_membership_encode(const struct raft_membership *membership, uint8_t *buf, size_t buf_len,
                           size_t *written)
{
    assert(membership != NULL);
    assert(written != NULL);
    assert(raft_membership_check(membership, NULL) == RAFT_OK);
    size_t size = raft_membership_encoded_size(membership);
    if (buf_len < size) {
        return RAFT_ERR_NOSPACE;
    }
    struct raft_writer w = { buf, size, 0 };
    raft_put_u8(&w, RAFT_MEMBERSHIP_VERSION);
    raft_put_ids(&w, membership->voters, membership->voter_count);
    raft_put_ids(&w, membership->voters_outgoing, membership->voters_outgoing_count);
    raft_put_ids(&w, membership->learners, membership->learner_count);
    assert(w.pos == size);
    *written = size;
    return RAFT_OK;
}

static uint32_t raft_get_ids(struct raft_reader *r, uint32_t *ids)
{
    uint32_t count = raft_get_u32(r);
    if (count > RAFT_NODES_MAX) {
        raft_reader_fail(r, "membership: a list exceeds RAFT_NODES_MAX");
        return 0;
    }
    for (uint32_t i = 0; i < count && r->error == NULL; i++) {
        ids[i] = raft_get_u32(r);
    }
    return r->error == NULL ? count : 0;
}

int raft_membership_decode(const uint8_t *buf, size_t len, struct raft_membership *membership,
                           const char **reason)
{
    assert(buf != NULL || len == 0);
    assert(membership != NULL);
    const char *unused;
    if (reason == NULL) {
        reason = &unused;
    }
    memset(membership, 0, sizeof(*membership));
    struct raft_reader r = { buf, len, 0, NULL };
    if (raft_get_u8(&r) != RAFT_MEMBERSHIP_VERSION && r.error == NULL) {
        raft_reader_fail(&r, "membership: unsupported version");
    }
    membership->voter_count = raft_get_ids(&r, membership->voters);
    membership->voters_outgoing_count = raft_get_ids(&r, membership->voters_outgoing);
    membership->learner_count = raft_get_ids(&r, membership->learners);
    if (r.error == NULL && r.pos != r.len) {
        raft_reader_fail(&r, "membership: trailing bytes");
    }
    if (r.error != NULL) {
        *reason = r.error;
        return RAFT_ERR_DECODE;
    }
    if (raft_membership_check(membership, reason) != RAFT_OK) {
        return RAFT_ERR_DECODE;
    }
    return RAFT_OK;
}
