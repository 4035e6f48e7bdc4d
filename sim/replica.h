/* One server: the Raft core, its storage and its state machines, glued by raft.h's obligations. */
#ifndef FLOWRAFT_SIM_REPLICA_H
#define FLOWRAFT_SIM_REPLICA_H

#include "core/raft.h"
#include "sim/replica_sm.h"
#include "storage/fs.h"
#include "storage/hardstate.h"
#include "storage/store.h"
#include "workflows/kv.h"
#include "workflows/wf_state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Shared by the simulator (over sim_fs, with simulated latencies) and the node binary (over the
 * POSIX fs, with real sockets). It knows nothing of schedulers, networks or clocks: the caller
 * supplies a transport and decides when a group commit happens.
 *
 * What it does with each raft_update, in the order raft.h obliges:
 *   1. persist: the section (truncate, entries, hard state) is copied into a staging area and the
 *      caller is asked (ops.sync_needed) to call replica_sync(), now or after a disk latency.
 *      replica_sync() writes everything staged through storage/store (truncate, one append for
 *      all staged entries, then the newest hard state; each durable on return: group commit);
 *   2. send: each message is encoded with the wire codec and handed to ops.send once every
 *      persist section staged before it is durable; until then it waits, encoded, in a bounded
 *      FIFO (a full FIFO drops the message, which Raft tolerates as loss);
 *   3. apply: a snapshot to restore first (replica_sm_restore), then committed entries in order,
 *      routed by tag byte ('K' payloads to the KV store, 'W' to the workflow engine: see
 *      sim/replica_sm.h), then RAFT_EVENT_APPLIED is stepped; RAFT_EVENT_PERSISTED is stepped
 *      after each replica_sync with the last entry (or snapshot) made durable;
 *   4. compact: every snapshot_every_entries applied entries the state of both machines (one
 *      versioned, checksummed container) is handed to the core as RAFT_EVENT_SNAPSHOT; the core
 *      returns it in a later update's `snapshot`, which is
 *      persisted like the rest (store_save_snapshot; store_install_snapshot for one received
 *      from the leader). Recovery restores the newest valid snapshot, then the log after it.
 * After any storage error the replica refuses further work (it returns REPLICA_EFAILED): the
 * caller closes it (never writes) and reopens it, which recovers through storage/store.
 */

#define REPLICA_HELD_MAX            4096u /* messages waiting for durability */
#define REPLICA_HELD_BYTES_MAX      (64u << 20)
#define REPLICA_STAGED_ENTRIES_MAX  65536u /* entries waiting for a group commit */
#define REPLICA_RECOVER_ENTRIES_MAX (1u << 22)
#define REPLICA_STEP_GUARD          256u  /* APPLIED acknowledgements chained after one step */
#define REPLICA_OPS_MAX             1024u /* staged storage operations per group commit */

enum replica_status {
    REPLICA_OK = 0,
    REPLICA_EFAILED = -1,  /* storage failed (or an earlier call did): close and reopen */
    REPLICA_ECORRUPT = -2, /* open: the stored state cannot be used (message says why) */
    REPLICA_ENOMEM = -3,
    REPLICA_EDECODE = -4, /* receive: the bytes are not a valid message (checksum, format) */
};

struct replica_error {
    int status;
    int storage_status; /* enum storage_status behind a storage failure, else 0 */
    char message[512];
};

struct replica;

/* What a sent message is, for transports and observers (the bytes carry the rest). */
struct replica_sent {
    enum raft_message_type type;
    uint64_t term;
    uint32_t from;
    uint32_t to;
    bool vote_granted; /* a RAFT_MSG_VOTE_RESPONSE that grants the vote */
};

/* The caller's side. `send` and `sync_needed` are required; the others observe (may be NULL). */
struct replica_ops {
    /* Deliver `len` encoded bytes to node sent->to. The bytes are valid during the call. */
    void (*send)(void *ctx, const struct replica_sent *sent, const uint8_t *bytes, size_t len);
    /* Writes are staged and no sync is pending: call replica_sync() later (after this call
     * returns: never from inside a callback). */
    void (*sync_needed)(void *ctx);
    /* Every update, right after its step, before the replica acts on it. */
    void (*update)(void *ctx, const struct raft_update *update);
    /* A committed entry was applied; `kv` is the KV result for 'K' commands, else NULL. */
    void (*applied)(void *ctx, const struct raft_entry *entry, const struct kv_applied *kv);
    /* A committed 'W' entry was applied (called just before `applied`), with its result. */
    void (*workflow_applied)(void *ctx, const struct raft_entry *entry,
                             const struct wf_result *result);
    /* The workflow engine's structured lines, one per transition and rejection (may be NULL:
     * then none are formatted). The line is valid during the call. */
    void (*wf_log)(void *ctx, const char *line, size_t len);
    /* A sync finished: this hard state is durable. */
    void (*durable)(void *ctx, const struct hardstate *hard_state);
    /* The state machines were replaced by a snapshot's state (after a restart, or installed from
     * the leader): they are now at `snapshot->meta.index`. */
    void (*restored)(void *ctx, const struct raft_snapshot *snapshot);
    void *ctx;
};

struct replica_config {
    struct raft_config raft; /* id, voters, timeouts, seed, limits, test_bugs */
    struct fs *fs;           /* borrowed; the storage directory lives there */
    char dir[FS_PATH_BYTES_MAX];
    struct store_config store;
    struct replica_machines machines; /* the state machines' limits: the same on every replica of
                                         a cluster (see replica_sm.h) */
    uint32_t snapshot_every_entries;  /* snapshot the state machines after this many applied
                                         entries (Raft §7 compaction); 0: never */
    bool ack_before_sync;             /* test only: send messages before their writes are durable */
    bool test_wf_apply_uncommitted;   /* test only: a follower applies 'W' entries when appended */
};

/* Defaults for everything but raft.id, raft.voter_*, raft.seed, fs and dir. */
void replica_config_default(struct replica_config *config);

/* Opens the storage directory (creating it), recovers the hard state and log, and restores them
 * into a new core. Returns REPLICA_OK, REPLICA_ECORRUPT (the directory cannot be used: the
 * message names the file), REPLICA_EFAILED (an I/O error) or REPLICA_ENOMEM. */
int replica_open(const struct replica_config *config, const struct replica_ops *ops,
                 struct replica **out, struct replica_error *err);

/* Frees everything. Never writes: also the way to drop a replica after a crash. */
void replica_close(struct replica *replica);

/* Inputs. Each steps the core and processes the update (and its follow-ups) completely. */
int replica_tick(struct replica *replica);
/* Decodes and steps a received frame. REPLICA_EDECODE (reason in err) if it is invalid. */
int replica_receive(struct replica *replica, const uint8_t *bytes, size_t len,
                    struct replica_error *err);
/* RAFT_OK with the proposal's index and term, or a raft error (RAFT_ERR_NOT_LEADER: see
 * replica_leader). REPLICA_EFAILED if the replica has failed. */
int replica_propose(struct replica *replica, const uint8_t *data, size_t len, uint64_t *index,
                    uint64_t *term);
/* Steps a leader request that is not a proposal: RAFT_EVENT_READ_INDEX (the outcome arrives in
 * a later ops.update's `reads`; serve it once replica_applied_index() >= its index),
 * RAFT_EVENT_CHANGE_CONFIG (index and term of the CONFIG entry) or
 * RAFT_EVENT_TRANSFER_LEADERSHIP. Returns the raft code, or REPLICA_EFAILED. `index` and `term`
 * may be NULL. */
int replica_request(struct replica *replica, const struct raft_event *event, uint64_t *index,
                    uint64_t *term);
/* Makes everything staged durable (the group commit), then sends what waited for it and
 * acknowledges the persisted entries. REPLICA_OK or REPLICA_EFAILED (err filled). */
int replica_sync(struct replica *replica, struct replica_error *err);

/* Accessors. */
struct raft_node *replica_raft(struct replica *replica);
const struct kv *replica_kv(const struct replica *replica);
const struct wf_state *replica_wf(const struct replica *replica);
/* replica_sm_hash of the state machines: equal at equal applied index on every replica. */
uint64_t replica_state_hash(const struct replica *replica);
bool replica_failed(const struct replica *replica);
bool replica_sync_pending(const struct replica *replica); /* staged writes not yet durable */
uint64_t replica_applied_index(const struct replica *replica);
uint32_t replica_leader(const struct replica *replica);
uint64_t replica_messages_dropped(const struct replica *replica); /* held FIFO overflow */

#endif
