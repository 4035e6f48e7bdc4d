/* One node's storage directory: hard state, snapshots and WAL opened, cross-checked and used
 * together. */
#ifndef FLOWRAFT_STORAGE_STORE_H
#define FLOWRAFT_STORAGE_STORE_H

#include "storage/error.h"
#include "storage/fs.h"
#include "storage/hardstate.h"
#include "storage/snap.h"
#include "storage/wal.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The directory holds only FlowRaft files: "hardstate", "snap-*.snap", "wal-*.seg" and their
 * ".tmp" forms. Anything else is a foreign file and store_open refuses the directory.
 *
 * store_open is read-only until every check has passed: on any error nothing in the directory
 * has been modified (the only exception is STORE_OPEN_CREATE making a missing directory).
 * Cross-checks after each part opened on its own (table; tests in tests/storage/test_store.c):
 *   X1  a foreign file or subdirectory            -> STORAGE_EFORMAT naming it
 *   X2  snapshot S and the log starts after S + 1 -> STORAGE_ECORRUPT (entries S+1.. missing);
 *       (or no snapshot and the log starts after 1)  the message says when a newer snapshot was
 *                                                    skipped as damaged
 *   X3  the log ends before S, or holds S with    -> the log does not continue the snapshot (a
 *       another term than the snapshot's             crash while installing one, Raft §7): it is
 *                                                    discarded (recovery.wal_discarded), the log
 *                                                    restarts at S + 1
 *   X4  the hard state's commit is above both the -> STORAGE_ECORRUPT naming the hard state:
 *       log's end (after X3) and the snapshot         committed (acknowledged) entries are missing;
 *                                                    entries are appended before a hard state whose
 *                                                    commit covers them, and never truncated below
 *                                                    it, so no crash produces this
 *   X5  otherwise                                 -> each part's repairs run: torn WAL tail
 *                                                    dropped, temp files removed, damaged hard
 *                                                    state copy rewritten; then the hard state
 *                                                    file, the last segment and the directory are
 *                                                    synced, so that everything reported in the
 *                                                    recovery is durable (a killed process leaves
 *                                                    unsynced writes readable in the page cache)
 *
 * Typical use (a node or a simulated node):
 *   store_open(fs, dir, &config, STORE_OPEN_CREATE, &store, &recovery, &err);
 *   restore recovery.snapshot (if found), recovery.hard_state, then wal_iter_open(store_wal(store),
 *   first index after the snapshot, ...) and feed the entries to the Raft core;
 *   for each Raft update: store_truncate_suffix (if any), store_append, store_save_hard_state,
 *   and only then send its messages; store_save_snapshot after applying; store_close.
 * After any STORAGE_EIO or STORAGE_EFAILED the node must stop and reopen (crash-restart): what
 * reached the disk is only known after recovery. A failed sync (err.fs.op "sync") is worse: Linux
 * may mark the unwritten pages clean, so a reopen in the same boot reads data the disk never got
 * and never will (sim_fs models this). Treat it as fatal for the machine's page cache: in the
 * simulator restart such a node with sim_fs_crash (a power loss), not sim_fs_process_crash; a real
 * node should stop and be restarted only after the file system was remounted or the machine
 * rebooted. Any other crash may be a process crash: store_open syncs what it reports.
 */

/* Make the directory if it does not exist, and sync its parent (also when it existed: an earlier
 * process may have died before syncing it). */
#define STORE_OPEN_CREATE 0x1u

struct store_config {
    struct wal_config wal;
    /* >= 1 usable snapshots kept; the log keeps the entries after the oldest kept one, so a
     * damaged newest snapshot can fall back. Snapshots found damaged never count and are removed
     * at the next compaction. */
    uint32_t snapshots_kept;
};

/* Defaults: wal_config_default and 2 snapshots kept. */
void store_config_default(struct store_config *config);

struct store_recovery {
    /* The log may hold entries of a term above hard_state.term (a crash after appending a new
     * leader's entries, before saving its term): not an error; the term to resume from is the
     * larger of the two. The log may also end below hard_state.commit only when a snapshot covers
     * the rest (X4). */
    struct hardstate hard_state;
    struct hardstate_recovery hard_state_report;
    struct snap_loaded snapshot; /* the newest valid snapshot; the caller frees it
                                    (snap_loaded_free) */
    struct snap_recovery snapshot_report;
    struct wal_recovery wal_report;
    bool wal_discarded;   /* X3: the log did not continue the snapshot and was reset */
    uint64_t first_index; /* first entry to replay: snapshot index + 1 at the earliest */
    uint64_t last_index;  /* last entry in the log */
};

struct store;

int store_open(struct fs *fs, const char *dir, const struct store_config *config, unsigned flags,
               struct store **out, struct store_recovery *recovery, struct storage_error *err);

/* Releases everything; never writes (also the way to drop a store after a simulated crash). */
void store_close(struct store *store);

/* The log, for reading (wal_iter_*) and its indices. Mutate it through the store only. */
struct wal *store_wal(struct store *store);
struct hardstate store_hard_state(const struct store *store);
uint64_t store_snapshot_index(const struct store *store); /* 0 when none */

int store_append(struct store *store, const struct wal_entry *entries, size_t count,
                 struct storage_error *err);
int store_truncate_suffix(struct store *store, uint64_t index, struct storage_error *err);
int store_save_hard_state(struct store *store, const struct hardstate *state,
                          struct storage_error *err);

/* A snapshot of this node's applied state at `index` (in the log, term `term`): saved durably,
 * then the log before the oldest kept snapshot is dropped and older snapshots pruned.
 * STORAGE_EINVAL (nothing written) unless snapshot index < index <= last index and the log has
 * `term` at `index`. */
int store_save_snapshot(struct store *store, uint64_t index, uint64_t term, const uint8_t *config,
                        size_t config_len, const uint8_t *data, size_t data_len,
                        struct storage_error *err);

/* A snapshot received from the leader (Raft §7): saved durably; if the log holds `index` with
 * `term` the entries after it are kept, otherwise the whole log is discarded and restarts at
 * index + 1. */
int store_install_snapshot(struct store *store, uint64_t index, uint64_t term,
                           const uint8_t *config, size_t config_len, const uint8_t *data,
                           size_t data_len, struct storage_error *err);

/* Sets *term to the term of entry `index` of the log (STORAGE_EINVAL when it is not there). */
int store_term_at(struct store *store, uint64_t index, uint64_t *term, struct storage_error *err);

#endif
