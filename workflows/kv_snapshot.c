/* Canonical serialization of the KV state: the state hash, snapshots, and validated restore. */
#include "workflows/kv_impl.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_MAGIC             "KVS1"
#define SNAPSHOT_VERSION           1u
#define SNAPSHOT_HEADER_BYTES      16u /* magic, version, applied_index */
#define SNAPSHOT_TRAILER_BYTES     8u  /* checksum */
#define SNAPSHOT_BYTES_MIN         (SNAPSHOT_HEADER_BYTES + 4 + 4 + SNAPSHOT_TRAILER_BYTES)
#define SNAPSHOT_KEY_BYTES_MIN     8u  /* key_len, value_len */
#define SNAPSHOT_SESSION_BYTES_MIN 28u /* client_id, last_seq, last_used_index, result_len */
#define KV_HASH_SEED               0x4b5648415348ull /* "KVHASH": the state hash's own domain */

void kv_state_write_body(const struct kv_state *state, struct kv_writer *writer)
{
    assert(state != NULL);
    assert(writer != NULL);
    struct kv_entry *const *sorted = kv_table_sorted(&state->table);
    kv_write_u32(writer, state->table.count);
    for (uint32_t i = 0; i < state->table.count; i++) {
        const struct kv_entry *entry = sorted[i];
        kv_write_u32(writer, entry->key_len);
        kv_write_u32(writer, entry->value_len);
        kv_write_bytes(writer, kv_entry_key(entry), entry->key_len);
        kv_write_bytes(writer, kv_entry_value(entry), entry->value_len);
    }
    const struct kv_sessions *sessions = &state->sessions;
    kv_write_u32(writer, sessions->count);
    for (uint32_t i = 0; i < sessions->count; i++) {
        const struct kv_session *session = &sessions->items[i];
        kv_write_u64(writer, session->client_id);
        kv_write_u64(writer, session->last_seq);
        kv_write_u64(writer, session->last_used_index);
        kv_write_u32(writer, session->result_len);
        kv_write_bytes(writer, session->result, session->result_len);
    }
}

/* The state hash from the two sums and counts (order-independent, so no sort is needed). */
static uint64_t fold_state_hash(uint32_t key_count, uint64_t pairs_sum, uint32_t session_count,
                                uint64_t sessions_sum)
{
    uint8_t words[24];
    bytes_put_u32(words, key_count);
    bytes_put_u64(words + 4, pairs_sum);
    bytes_put_u32(words + 12, session_count);
    bytes_put_u64(words + 16, sessions_sum);
    return hash_bytes(words, sizeof(words), KV_HASH_SEED);
}

uint64_t kv_hash(const struct kv *kv)
{
    assert(kv != NULL);
    const struct kv_state *state = &kv->state;
    return fold_state_hash(state->table.count, state->table.hash_sum, state->sessions.count,
                           state->sessions.hash_sum);
}

uint64_t kv_hash_recompute(const struct kv *kv)
{
    assert(kv != NULL);
    const struct kv_state *state = &kv->state;
    return fold_state_hash(state->table.count, kv_table_hash_sum_recompute(&state->table),
                           state->sessions.count, kv_sessions_hash_sum_recompute(&state->sessions));
}

static void write_header(const struct kv *kv, struct kv_writer *writer)
{
    kv_write_bytes(writer, SNAPSHOT_MAGIC, 4);
    kv_write_u32(writer, SNAPSHOT_VERSION);
    kv_write_u64(writer, kv->state.applied_index);
}

size_t kv_snapshot_bytes(const struct kv *kv)
{
    assert(kv != NULL);
    struct kv_writer writer = { 0 };
    write_header(kv, &writer);
    kv_state_write_body(&kv->state, &writer);
    assert(writer.len >= SNAPSHOT_BYTES_MIN - SNAPSHOT_TRAILER_BYTES);
    return writer.len + SNAPSHOT_TRAILER_BYTES;
}

void kv_snapshot_write(const struct kv *kv, uint8_t *buf, size_t len)
{
    assert(kv != NULL);
    assert(buf != NULL);
    assert(len >= SNAPSHOT_BYTES_MIN);
    /* The incremental state hash is checked against its definition whenever the whole state is
     * walked anyway: a mutation that forgot to update it cannot survive a snapshot. */
    assert(kv_hash(kv) == kv_hash_recompute(kv));
    struct kv_writer writer = { .buf = buf, .cap = len };
    write_header(kv, &writer);
    kv_state_write_body(&kv->state, &writer);
    assert(writer.len == len - SNAPSHOT_TRAILER_BYTES);
    kv_write_u64(&writer, hash_bytes(buf, writer.len, KV_SNAPSHOT_SEED));
    assert(writer.len == len);
}

/* ---------------------------------------------------------------------------------- restore */

/* The restore in progress: where it reads, what it builds, what it may hold. */
struct restore {
    struct kv_reader reader;
    const struct kv_limits *limits;
    uint64_t applied_index;
    struct kv_state state;
    struct kv_error *error;
};

static int truncated(struct restore *r, const char *what)
{
    kv_error_fail(r->error, KV_ERROR_TRUNCATED, r->reader.offset,
                  "snapshot truncated in %s (%zu bytes left before the checksum)", what,
                  kv_reader_left(&r->reader));
    return KV_EINVAL;
}

static int read_header(struct restore *r, uint64_t store_applied_index)
{
    const uint8_t *magic;
    uint32_t version;
    if (!kv_read_bytes(&r->reader, 4, &magic) || !kv_read_u32(&r->reader, &version) ||
        !kv_read_u64(&r->reader, &r->applied_index)) {
        return truncated(r, "the header");
    }
    if (memcmp(magic, SNAPSHOT_MAGIC, 4) != 0) {
        kv_error_fail(r->error, KV_ERROR_BAD_TAG, 0, "snapshot magic is not \"%s\"",
                      SNAPSHOT_MAGIC);
        return KV_EINVAL;
    }
    if (version != SNAPSHOT_VERSION) {
        kv_error_fail(r->error, KV_ERROR_BAD_VERSION, 4,
                      "snapshot version %" PRIu32 " unknown (this code reads %u)", version,
                      SNAPSHOT_VERSION);
        return KV_EINVAL;
    }
    if (r->applied_index < store_applied_index) {
        kv_error_fail(r->error, KV_ERROR_STALE, 8,
                      "snapshot at index %" PRIu64 " is older than applied index %" PRIu64,
                      r->applied_index, store_applied_index);
        return KV_EINVAL;
    }
    return 0;
}

/* Reads a count and checks it against `max` and against the bytes that remain. */
static int read_count(struct restore *r, const char *what, uint32_t max, size_t bytes_min,
                      uint32_t *count)
{
    size_t at = r->reader.offset;
    if (!kv_read_u32(&r->reader, count)) {
        return truncated(r, what);
    }
    if (*count > max) {
        kv_error_fail(r->error, KV_ERROR_LIMIT, at,
                      "snapshot holds %" PRIu32 " %s, this store allows %" PRIu32, *count, what,
                      max);
        return KV_EINVAL;
    }
    if ((uint64_t)*count * bytes_min > kv_reader_left(&r->reader)) {
        return truncated(r, what);
    }
    return 0;
}

static int read_entry(struct restore *r, uint32_t i, const struct kv_entry **previous)
{
    size_t at = r->reader.offset;
    uint32_t key_len;
    uint32_t value_len;
    const uint8_t *key;
    const uint8_t *value;
    if (!kv_read_u32(&r->reader, &key_len) || !kv_read_u32(&r->reader, &value_len)) {
        return truncated(r, "a key's lengths");
    }
    if (key_len > r->limits->key_bytes_max || value_len > r->limits->value_bytes_max) {
        kv_error_fail(r->error, KV_ERROR_LIMIT, at,
                      "key %" PRIu32 " has key_len %" PRIu32 " value_len %" PRIu32
                      ", this store allows %" PRIu32 " and %" PRIu32,
                      i, key_len, value_len, r->limits->key_bytes_max, r->limits->value_bytes_max);
        return KV_EINVAL;
    }
    if (!kv_read_bytes(&r->reader, key_len, &key) ||
        !kv_read_bytes(&r->reader, value_len, &value)) {
        return truncated(r, "a key's bytes");
    }
    if (*previous != NULL &&
        kv_key_compare(kv_entry_key(*previous), (*previous)->key_len, key, key_len) >= 0) {
        kv_error_fail(r->error, KV_ERROR_BAD_ORDER, at,
                      "key %" PRIu32 " does not sort after key %" PRIu32, i, i - 1);
        return KV_EINVAL;
    }
    r->state.bytes_used += (uint64_t)key_len + value_len;
    if (r->state.bytes_used > r->limits->bytes_max) {
        kv_error_fail(r->error, KV_ERROR_LIMIT, at,
                      "keys 0..%" PRIu32 " hold more than bytes_max (%" PRIu64 " bytes)", i,
                      r->limits->bytes_max);
        return KV_EINVAL;
    }
    struct kv_entry *entry = kv_entry_new(key, key_len, value, value_len);
    if (entry == NULL) {
        return KV_ENOMEM;
    }
    kv_table_insert(&r->state.table, entry);
    *previous = entry;
    return 0;
}

static int read_entries(struct restore *r)
{
    uint32_t count;
    int rc = read_count(r, "keys", r->limits->keys_max, SNAPSHOT_KEY_BYTES_MIN, &count);
    if (rc != 0) {
        return rc;
    }
    if (kv_table_reserve(&r->state.table, count) != 0) {
        return KV_ENOMEM;
    }
    const struct kv_entry *previous = NULL;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        rc = read_entry(r, i, &previous);
    }
    return rc;
}

/* One session as stored, before it is checked. */
struct session_fields {
    uint64_t client_id;
    uint64_t last_seq;
    uint64_t last_used_index;
    const uint8_t *result;
    uint32_t result_len;
};

static int bad_session(struct restore *r, size_t at, uint32_t i, const char *what)
{
    kv_error_fail(r->error, KV_ERROR_BAD_FIELD, at, "session %" PRIu32 ": %s", i, what);
    return KV_EINVAL;
}

/* The remembered result must be a valid answer to this session's last command. */
static int check_remembered(struct restore *r, size_t at, uint32_t i,
                            const struct session_fields *f)
{
    struct kv_result result;
    struct kv_error error;
    if (f->result_len > KV_RESULT_HEADER_BYTES + (size_t)r->limits->value_bytes_max) {
        kv_error_fail(r->error, KV_ERROR_LIMIT, at,
                      "session %" PRIu32 ": result_len %" PRIu32 " exceeds this store's maximum", i,
                      f->result_len);
        return KV_EINVAL;
    }
    if (kv_result_decode(f->result, f->result_len, &result, &error) != 0) {
        kv_error_fail(r->error, KV_ERROR_BAD_FIELD, at, "session %" PRIu32 ": result: %.90s", i,
                      error.reason);
        return KV_EINVAL;
    }
    bool answerable = result.op != KV_OP_NONE && result.op != KV_OP_REGISTER &&
                      result.status != KV_STATUS_SESSION_UNKNOWN &&
                      result.status != KV_STATUS_SESSION_STALE;
    if (!answerable || result.client_id != f->client_id || result.seq != f->last_seq) {
        return bad_session(r, at, i, "remembered result answers another command");
    }
    if (result.index <= f->client_id || result.index > f->last_used_index) {
        return bad_session(r, at, i, "remembered result's index outside (id, last used]");
    }
    return 0;
}

static int check_session(struct restore *r, size_t at, uint32_t i, const struct session_fields *f,
                         uint64_t previous_id)
{
    if (f->client_id <= previous_id) {
        kv_error_fail(r->error, KV_ERROR_BAD_ORDER, at,
                      "session %" PRIu32 ": id %" PRIu64 " is not above the previous %" PRIu64
                      " (ids start at 1 and ascend)",
                      i, f->client_id, previous_id);
        return KV_EINVAL;
    }
    if (f->last_used_index < f->client_id || f->last_used_index > r->applied_index) {
        return bad_session(r, at, i, "last used index outside [id, snapshot index]");
    }
    if (f->last_seq == 0) {
        return f->result_len == 0 ? 0 : bad_session(r, at, i, "a result but no answered seq");
    }
    return check_remembered(r, at, i, f);
}

static int add_session(struct restore *r, const struct session_fields *f)
{
    struct kv_sessions *sessions = &r->state.sessions;
    assert(sessions->count < sessions->max); /* the count was checked: no eviction here */
    if (kv_sessions_reserve(sessions) != 0) {
        return KV_ENOMEM;
    }
    struct kv_session *session = kv_sessions_open(sessions, f->client_id, f->last_used_index);
    if (f->last_seq == 0) {
        return 0;
    }
    if (kv_session_reserve_result(session, f->result_len) != 0) {
        return KV_ENOMEM;
    }
    kv_session_restore_answer(sessions, session, f->last_seq, f->result, f->result_len);
    return 0;
}

static int read_session(struct restore *r, uint32_t i, uint64_t previous_id)
{
    size_t at = r->reader.offset;
    struct session_fields f;
    if (!kv_read_u64(&r->reader, &f.client_id) || !kv_read_u64(&r->reader, &f.last_seq) ||
        !kv_read_u64(&r->reader, &f.last_used_index) || !kv_read_u32(&r->reader, &f.result_len)) {
        return truncated(r, "a session");
    }
    if (!kv_read_bytes(&r->reader, f.result_len, &f.result)) {
        return truncated(r, "a session's result");
    }
    int rc = check_session(r, at, i, &f, previous_id);
    return rc != 0 ? rc : add_session(r, &f);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* Each entry touches one session, so no two sessions were last used at the same index. */
static int check_last_used_distinct(struct restore *r)
{
    const struct kv_sessions *sessions = &r->state.sessions;
    if (sessions->count < 2) {
        return 0;
    }
    uint64_t *used = malloc((size_t)sessions->count * sizeof(*used));
    if (used == NULL) {
        return KV_ENOMEM;
    }
    for (uint32_t i = 0; i < sessions->count; i++) {
        used[i] = sessions->items[i].last_used_index;
    }
    qsort(used, sessions->count, sizeof(*used), compare_u64);
    int rc = 0;
    for (uint32_t i = 1; i < sessions->count && rc == 0; i++) {
        if (used[i] == used[i - 1]) {
            kv_error_fail(r->error, KV_ERROR_BAD_FIELD, r->reader.offset,
                          "two sessions were last used at the same index %" PRIu64, used[i]);
            rc = KV_EINVAL;
        }
    }
    free(used);
    return rc;
}

static int read_sessions(struct restore *r)
{
    uint32_t count;
    int rc = read_count(r, "sessions", r->limits->sessions_max, SNAPSHOT_SESSION_BYTES_MIN, &count);
    uint64_t previous_id = 0;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        rc = read_session(r, i, previous_id);
        previous_id = r->state.sessions.count > 0
                          ? r->state.sessions.items[r->state.sessions.count - 1].client_id
                          : 0;
    }
    return rc != 0 ? rc : check_last_used_distinct(r);
}

static int read_body(struct restore *r)
{
    int rc = read_entries(r);
    if (rc == 0) {
        rc = read_sessions(r);
    }
    if (rc == 0 && kv_reader_left(&r->reader) != 0) {
        kv_error_fail(r->error, KV_ERROR_TRAILING, r->reader.offset,
                      "%zu bytes after the last session", kv_reader_left(&r->reader));
        rc = KV_EINVAL;
    }
    return rc;
}

static int check_checksum(const uint8_t *bytes, size_t len, struct kv_error *error)
{
    if (len < SNAPSHOT_BYTES_MIN) {
        kv_error_fail(error, KV_ERROR_TRUNCATED, len,
                      "snapshot of %zu bytes is shorter than the smallest (%u)", len,
                      SNAPSHOT_BYTES_MIN);
        return KV_EINVAL;
    }
    struct kv_reader trailer = kv_reader_make(bytes + len - SNAPSHOT_TRAILER_BYTES, 8);
    uint64_t stored;
    (void)kv_read_u64(&trailer, &stored);
    uint64_t computed = hash_bytes(bytes, len - SNAPSHOT_TRAILER_BYTES, KV_SNAPSHOT_SEED);
    if (stored != computed) {
        kv_error_fail(error, KV_ERROR_BAD_CHECKSUM, len - SNAPSHOT_TRAILER_BYTES,
                      "snapshot checksum %016" PRIx64 " does not match its bytes (%016" PRIx64 ")",
                      stored, computed);
        return KV_EINVAL;
    }
    return 0;
}

int kv_restore(struct kv *kv, const uint8_t *bytes, size_t len, struct kv_error *error)
{
    assert(kv != NULL);
    assert(bytes != NULL || len == 0);
    kv_error_clear(error);
    int rc = check_checksum(bytes, len, error);
    if (rc != 0) {
        return rc;
    }
    struct restore r = {
        .reader = kv_reader_make(bytes, len - SNAPSHOT_TRAILER_BYTES),
        .limits = &kv->limits,
        .error = error,
    };
    rc = read_header(&r, kv->state.applied_index);
    if (rc != 0) {
        return rc;
    }
    if (kv_state_init(&r.state, kv->limits.sessions_max) != 0) {
        return KV_ENOMEM;
    }
    rc = read_body(&r);
    if (rc != 0) {
        kv_state_free(&r.state);
        return rc;
    }
    r.state.applied_index = r.applied_index;
    kv_state_free(&kv->state);
    kv->state = r.state;
    assert(kv->state.table.count <= kv->limits.keys_max);
    assert(kv->state.bytes_used <= kv->limits.bytes_max);
    return 0;
}
