/* A replica's application state machines: the router by tag byte, one hash, one snapshot container.
 */
#ifndef FLOWRAFT_SIM_REPLICA_SM_H
#define FLOWRAFT_SIM_REPLICA_SM_H

#include "core/raft.h"
#include "workflows/kv.h"
#include "workflows/wf_state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every COMMAND entry goes to one state machine, chosen by its first byte (INTERFACES.md):
 * KV_TAG ('K') to the KV store, WF_COMMAND_TAG ('W') to the workflow engine. NOOP and CONFIG
 * entries, empty payloads and unknown tags change nothing, on every replica alike. Both machines
 * are deterministic, so replicas that applied the same committed prefix have the same
 * replica_sm_hash (which folds kv_hash and wf_state_hash) — the simulator's replica_state_hash
 * invariant compares exactly that.
 *
 * Snapshots are one container around both machines' own snapshots (format version 1,
 * little-endian):
 *   u8[4] magic "FRSM"   u32 version   u64 machines fingerprint   u64 applied index
 *   u32 section count (2), then per section: u8 tag ('K' or 'W'), u8[3] zero, u64 length, bytes
 *   u64 XXH3-64 of every byte before it (seed REPLICA_SM_SNAPSHOT_SEED)
 * The fingerprint covers the replica_machines settings: a replica refuses a snapshot made under
 * other limits, because its own replay would not reproduce it.
 */

#define REPLICA_SM_SNAPSHOT_VERSION 1u
#define REPLICA_SM_SNAPSHOT_SEED    0x46524d5353534e50ull /* "FRMSSSNP" */
#define REPLICA_SM_SECTIONS         2u
#define REPLICA_SM_HEADER_BYTES     (4u + 4u + 8u + 8u + 4u)
#define REPLICA_SM_SECTION_BYTES    (4u + 8u)

/*
 * The state machines' settings. invariant: every replica of a cluster uses the same values: they
 * decide results (a put beyond kv.keys_max, a submit beyond workflows_max is refused), so a
 * replica configured differently diverges at the first entry one of them refuses. Take them from
 * one cluster-wide setting, never per node.
 */
struct replica_machines {
    struct kv_limits kv;
    uint32_t workflows_max; /* workflow runs held: 1..WF_WORKFLOWS_MAX */
};

/* KV defaults (kv_limits_default) and 64 workflows. */
void replica_machines_default(struct replica_machines *machines);
/* True if every field is in range; else false with a static sentence in *reason. */
bool replica_machines_valid(const struct replica_machines *machines, const char **reason);
/* XXH3-64 over every field: equal settings, equal fingerprints. */
uint64_t replica_machines_fingerprint(const struct replica_machines *machines);

enum replica_sm_machine {
    REPLICA_SM_NONE = 0, /* not a command, empty, or an unknown tag: nothing changed */
    REPLICA_SM_KV,
    REPLICA_SM_WF,
};

/* What applying one entry did. */
struct replica_sm_result {
    enum replica_sm_machine machine;
    struct kv_applied kv; /* machine == REPLICA_SM_KV; borrowed until the next apply */
    struct wf_result wf;  /* machine == REPLICA_SM_WF */
};

struct replica_sm;

/* Empty machines (applied index 0). `log` receives the workflow engine's structured lines (may be
 * NULL). NULL if memory is short. The settings must be valid (asserted). */
struct replica_sm *replica_sm_create(const struct replica_machines *machines, wf_log_fn *log,
                                     void *log_context);
void replica_sm_destroy(struct replica_sm *sm);

/* Applies the committed entry (index strictly above every index applied before: asserted).
 * Returns 0, or -1 when memory ran out in the KV store: nothing changed and the caller must stop
 * applying (crash and recover) rather than skip the entry. */
int replica_sm_apply(struct replica_sm *sm, const struct raft_entry *entry,
                     struct replica_sm_result *out);

uint64_t replica_sm_applied_index(const struct replica_sm *sm);
/* XXH3-64 fold of kv_hash and wf_state_hash: the whole logical state of both machines. */
uint64_t replica_sm_hash(const struct replica_sm *sm);
const struct kv *replica_sm_kv(const struct replica_sm *sm);
const struct wf_state *replica_sm_wf(const struct replica_sm *sm);
const struct replica_machines *replica_sm_machines(const struct replica_sm *sm);

/* Exact size of the container for the current state. */
size_t replica_sm_snapshot_size(const struct replica_sm *sm);
/* Writes the container; returns its length, or 0 if `cap` is too small. */
size_t replica_sm_snapshot_write(const struct replica_sm *sm, uint8_t *buf, size_t cap);

/*
 * Builds new machines from a container made at log index `index` (checked against the one in the
 * container). Validates everything first: length, magic, version, checksum, fingerprint against
 * `machines`, sections (each tag exactly once, lengths in bounds), then each machine's own
 * restore. Returns the new machines, or NULL with a sentence naming the field in `error`; the
 * caller's current machines are never touched (swap on success).
 */
struct replica_sm *replica_sm_restore(const struct replica_machines *machines, wf_log_fn *log,
                                      void *log_context, const uint8_t *buf, size_t len,
                                      uint64_t index, char *error, size_t error_size);

/*
 * Test only (the broken variant `wf-apply-uncommitted`): applies a workflow entry as soon as it is
 * appended, before it commits; its committed apply is then skipped. A follower doing this holds
 * state no committed prefix explains, which the simulator must catch. No-op for other entries
 * and for indexes at or below what the workflow engine applied.
 */
void replica_sm_test_apply_early(struct replica_sm *sm, const struct raft_entry *entry);

#endif
