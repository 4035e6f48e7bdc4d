/* A replica's state machines: route committed commands by tag, hash both, snapshot both. */
#include "sim/replica_sm.h"

#include "core/bytes.h"
#include "core/hash.h"
#include "workflows/wf_command.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t replica_sm_magic[4] = { 'F', 'R', 'S', 'M' };

struct replica_sm {
    struct replica_machines machines;
    wf_log_fn *log;
    void *log_context;
    struct kv *kv;
    struct wf_state *wf;
    uint64_t applied;  /* invariant: strictly increases with every apply */
    uint64_t wf_early; /* test only: workflow entries up to here were applied before commit */
    /* Not state: wf_state_hash(wf) as of the last workflow entry. The workflow engine changes only
     * when a 'W' entry applies (or, test only, applies early), so KV and no-op entries, most of
     * the log, reuse it; replica_sm_snapshot_write checks it against a fresh hash. */
    uint64_t wf_hash;
    bool wf_hash_valid;
};

void replica_machines_default(struct replica_machines *machines)
{
    assert(machines != NULL);
    memset(machines, 0, sizeof(*machines));
    machines->kv = kv_limits_default();
    machines->workflows_max = 64;
}

bool replica_machines_valid(const struct replica_machines *machines, const char **reason)
{
    assert(machines != NULL);
    assert(reason != NULL);
    if (machines->workflows_max < 1 || machines->workflows_max > WF_WORKFLOWS_MAX) {
        *reason = "workflows_max must be between 1 and WF_WORKFLOWS_MAX (1024)";
        return false;
    }
    return kv_limits_valid(&machines->kv, reason);
}

uint64_t replica_machines_fingerprint(const struct replica_machines *machines)
{
    assert(machines != NULL);
    uint64_t h = hash_fold_u64(REPLICA_SM_SNAPSHOT_SEED, machines->workflows_max);
    h = hash_fold_u64(h, machines->kv.key_bytes_max);
    h = hash_fold_u64(h, machines->kv.value_bytes_max);
    h = hash_fold_u64(h, machines->kv.keys_max);
    h = hash_fold_u64(h, machines->kv.bytes_max);
    return hash_fold_u64(h, machines->kv.sessions_max);
}

struct replica_sm *replica_sm_create(const struct replica_machines *machines, wf_log_fn *log,
                                     void *log_context)
{
    assert(machines != NULL);
    const char *reason = NULL;
    assert(replica_machines_valid(machines, &reason));
    (void)reason;
    struct replica_sm *sm = calloc(1, sizeof(*sm));
    if (sm == NULL) {
        return NULL;
    }
    sm->machines = *machines;
    sm->log = log;
    sm->log_context = log_context;
    struct wf_state_config config = {
        .workflows_max = machines->workflows_max,
        .log = log,
        .log_context = log_context,
    };
    sm->kv = kv_create(&machines->kv);
    sm->wf = wf_state_create(&config);
    if (sm->kv == NULL || sm->wf == NULL) {
        replica_sm_destroy(sm);
        return NULL;
    }
    return sm;
}

void replica_sm_destroy(struct replica_sm *sm)
{
    if (sm == NULL) {
        return;
    }
    kv_destroy(sm->kv);
    wf_state_destroy(sm->wf);
    free(sm);
}

static enum replica_sm_machine replica_sm_route(const struct raft_entry *entry)
{
    if (entry->type != RAFT_ENTRY_COMMAND || entry->data_len == 0) {
        return REPLICA_SM_NONE;
    }
    switch (entry->data[0]) {
    case KV_TAG:
        return REPLICA_SM_KV;
    case WF_COMMAND_TAG:
        return REPLICA_SM_WF;
    default:
        return REPLICA_SM_NONE; /* an unknown tag: ignored alike everywhere */
    }
}

int replica_sm_apply(struct replica_sm *sm, const struct raft_entry *entry,
                     struct replica_sm_result *out)
{
    assert(sm != NULL && entry != NULL && out != NULL);
    assert(entry->index > sm->applied); /* raft.h obligation 6: in order, exactly once */
    out->machine = replica_sm_route(entry);
    switch (out->machine) {
    case REPLICA_SM_KV:
        if (kv_apply(sm->kv, entry->index, entry->data, entry->data_len, &out->kv) != 0) {
            return -1;
        }
        break;
    case REPLICA_SM_WF:
        if (entry->index <= sm->wf_early) {
            out->machine = REPLICA_SM_NONE; /* the broken variant applied it already */
            break;
        }
        sm->wf_hash_valid = false;
        wf_state_apply(sm->wf, entry->index, entry->data, entry->data_len, &out->wf);
        break;
    case REPLICA_SM_NONE:
        break;
    }
    sm->applied = entry->index;
    return 0;
}

void replica_sm_test_apply_early(struct replica_sm *sm, const struct raft_entry *entry)
{
    assert(sm != NULL && entry != NULL);
    if (replica_sm_route(entry) != REPLICA_SM_WF || entry->index <= sm->applied ||
        entry->index <= sm->wf_early) {
        return;
    }
    struct wf_result result;
    sm->wf_hash_valid = false;
    wf_state_apply(sm->wf, entry->index, entry->data, entry->data_len, &result);
    sm->wf_early = entry->index;
}

uint64_t replica_sm_applied_index(const struct replica_sm *sm)
{
    return sm->applied;
}

uint64_t replica_sm_hash(const struct replica_sm *sm)
{
    assert(sm != NULL);
    if (!sm->wf_hash_valid) {
        /* The cache is not logical state: filling it from a const view is safe. */
        ((struct replica_sm *)sm)->wf_hash = wf_state_hash(sm->wf);
        ((struct replica_sm *)sm)->wf_hash_valid = true;
    }
    uint64_t h = hash_fold_u64(REPLICA_SM_SNAPSHOT_SEED, kv_hash(sm->kv));
    return hash_fold_u64(h, sm->wf_hash);
}

const struct kv *replica_sm_kv(const struct replica_sm *sm)
{
    return sm->kv;
}

const struct wf_state *replica_sm_wf(const struct replica_sm *sm)
{
    return sm->wf;
}

const struct replica_machines *replica_sm_machines(const struct replica_sm *sm)
{
    return &sm->machines;
}

/* ---- the snapshot container ---- */

/* The container's size around sections of these lengths. */
static size_t replica_sm_container_size(size_t kv_len, size_t wf_len)
{
    return REPLICA_SM_HEADER_BYTES + 2 * REPLICA_SM_SECTION_BYTES + kv_len + wf_len + 8;
}

size_t replica_sm_snapshot_size(const struct replica_sm *sm)
{
    assert(sm != NULL);
    return replica_sm_container_size(kv_snapshot_bytes(sm->kv), wf_state_snapshot_size(sm->wf));
}

static uint8_t *replica_sm_section(uint8_t *p, uint8_t tag, uint64_t len)
{
    p[0] = tag;
    p[1] = p[2] = p[3] = 0;
    bytes_store_le(p + 4, len, 8);
    return p + REPLICA_SM_SECTION_BYTES;
}

size_t replica_sm_snapshot_write(const struct replica_sm *sm, uint8_t *buf, size_t cap)
{
    assert(sm != NULL);
    assert(buf != NULL || cap == 0);
    size_t kv_len = kv_snapshot_bytes(sm->kv); /* each section sized once (an encoding pass) */
    size_t wf_len = wf_state_snapshot_size(sm->wf);
    size_t size = replica_sm_container_size(kv_len, wf_len);
    if (cap < size) {
        return 0;
    }
    /* The cached workflow hash is checked whenever the whole state is written anyway. */
    assert(!sm->wf_hash_valid || sm->wf_hash == wf_state_hash_uncached(sm->wf));
    uint8_t *p = buf;
    memcpy(p, replica_sm_magic, 4);
    bytes_store_le(p + 4, REPLICA_SM_SNAPSHOT_VERSION, 4);
    bytes_store_le(p + 8, replica_machines_fingerprint(&sm->machines), 8);
    bytes_store_le(p + 16, sm->applied, 8);
    bytes_store_le(p + 24, REPLICA_SM_SECTIONS, 4);
    p = replica_sm_section(p + REPLICA_SM_HEADER_BYTES, KV_TAG, kv_len);
    kv_snapshot_write(sm->kv, p, kv_len);
    p = replica_sm_section(p + kv_len, WF_COMMAND_TAG, wf_len);
    size_t written = wf_state_snapshot(sm->wf, p, wf_len);
    assert(written == wf_len);
    (void)written;
    p += wf_len;
    bytes_store_le(p, hash_bytes(buf, (size_t)(p - buf), REPLICA_SM_SNAPSHOT_SEED), 8);
    p += 8;
    assert((size_t)(p - buf) == size);
    return size;
}

static void replica_sm_error(char *error, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void replica_sm_error(char *error, size_t size, const char *format, ...)
{
    if (error == NULL || size == 0) {
        return;
    }
    int n = snprintf(error, size, "state machine snapshot: ");
    if (n < 0 || (size_t)n >= size) {
        return;
    }
    va_list args;
    va_start(args, format);
    vsnprintf(error + n, size - (size_t)n, format, args);
    va_end(args);
}

/* The container's header and checksum; on success *body points at the first section. */
static bool replica_sm_check_header(const struct replica_machines *machines, const uint8_t *buf,
                                    size_t len, uint64_t index, char *error, size_t size)
{
    if (len < REPLICA_SM_HEADER_BYTES + 8) {
        replica_sm_error(error, size, "%zu bytes, shorter than its header", len);
        return false;
    }
    if (memcmp(buf, replica_sm_magic, 4) != 0) {
        replica_sm_error(error, size, "magic: not a FlowRaft state machine container");
        return false;
    }
    uint64_t version = bytes_load_le(buf + 4, 4);
    if (version != REPLICA_SM_SNAPSHOT_VERSION) {
        replica_sm_error(error, size, "version: %" PRIu64 " is not supported (this build reads %u)",
                         version, REPLICA_SM_SNAPSHOT_VERSION);
        return false;
    }
    uint64_t stored = bytes_load_le(buf + len - 8, 8);
    if (stored != hash_bytes(buf, len - 8, REPLICA_SM_SNAPSHOT_SEED)) {
        replica_sm_error(error, size, "checksum: the bytes are damaged");
        return false;
    }
    if (bytes_load_le(buf + 8, 8) != replica_machines_fingerprint(machines)) {
        replica_sm_error(error, size,
                         "fingerprint: made under other state machine limits (workflows_max, KV "
                         "limits) than this replica's; they must be the same cluster-wide");
        return false;
    }
    uint64_t applied = bytes_load_le(buf + 16, 8);
    if (applied != index) {
        replica_sm_error(error, size,
                         "applied index: %" PRIu64
                         " in the container, but the snapshot is at %" PRIu64,
                         applied, index);
        return false;
    }
    if (bytes_load_le(buf + 24, 4) != REPLICA_SM_SECTIONS) {
        replica_sm_error(error, size, "section count: %" PRIu64 ", expected %u",
                         bytes_load_le(buf + 24, 4), REPLICA_SM_SECTIONS);
        return false;
    }
    return true;
}

/* Finds the two sections; each tag exactly once, lengths within the container. */
static bool replica_sm_sections(const uint8_t *buf, size_t len, const uint8_t *sections[2],
                                size_t lengths[2], char *error, size_t size)
{
    size_t offset = REPLICA_SM_HEADER_BYTES;
    size_t end = len - 8;
    sections[0] = sections[1] = NULL;
    for (uint32_t i = 0; i < REPLICA_SM_SECTIONS; i++) {
        if (end - offset < REPLICA_SM_SECTION_BYTES) {
            replica_sm_error(error, size, "section %u: truncated at byte %zu", i, offset);
            return false;
        }
        const uint8_t *p = buf + offset;
        uint64_t section_len = bytes_load_le(p + 4, 8);
        int slot = p[0] == KV_TAG ? 0 : p[0] == WF_COMMAND_TAG ? 1 : -1;
        if (slot < 0 || p[1] != 0 || p[2] != 0 || p[3] != 0 || sections[slot] != NULL) {
            replica_sm_error(error, size, "section %u: unknown or repeated tag 0x%02x", i, p[0]);
            return false;
        }
        offset += REPLICA_SM_SECTION_BYTES;
        if (section_len > end - offset) {
            replica_sm_error(error, size, "section %u: length %" PRIu64 " runs past the end", i,
                             section_len);
            return false;
        }
        sections[slot] = buf + offset;
        lengths[slot] = (size_t)section_len;
        offset += (size_t)section_len;
    }
    if (offset != end) {
        replica_sm_error(error, size, "%zu bytes after the last section", end - offset);
        return false;
    }
    return true;
}

struct replica_sm *replica_sm_restore(const struct replica_machines *machines, wf_log_fn *log,
                                      void *log_context, const uint8_t *buf, size_t len,
                                      uint64_t index, char *error, size_t error_size)
{
    assert(machines != NULL);
    assert(buf != NULL || len == 0);
    const uint8_t *sections[2];
    size_t lengths[2];
    if (!replica_sm_check_header(machines, buf, len, index, error, error_size) ||
        !replica_sm_sections(buf, len, sections, lengths, error, error_size)) {
        return NULL;
    }
    struct replica_sm *sm = replica_sm_create(machines, log, log_context);
    if (sm == NULL) {
        replica_sm_error(error, error_size, "out of memory");
        return NULL;
    }
    struct kv_error kv_error;
    if (kv_restore(sm->kv, sections[0], lengths[0], &kv_error) != 0) {
        replica_sm_error(error, error_size, "KV section: %s (byte %zu)", kv_error.reason,
                         kv_error.offset);
        goto out_fail;
    }
    struct wf_error wf_error;
    if (!wf_state_restore(sm->wf, sections[1], lengths[1], &wf_error)) {
        replica_sm_error(error, error_size, "workflow section: %s", wf_error.text);
        goto out_fail;
    }
    if (kv_applied_index(sm->kv) > index || wf_state_applied_index(sm->wf) > index) {
        replica_sm_error(error, error_size, "a machine's applied index is beyond %" PRIu64, index);
        goto out_fail;
    }
    sm->applied = index;
    return sm;
out_fail:
    replica_sm_destroy(sm);
    return NULL;
}
