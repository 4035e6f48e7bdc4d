/* A fault-injecting in-memory file system implementing struct fs, for crash tests and the
 * simulator. */
#ifndef FLOWRAFT_SIM_SIM_FS_H
#define FLOWRAFT_SIM_SIM_FS_H

#include "storage/fs.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The model. Every file has durable contents (what survives a crash) and current contents (what
 * reads see). Writes and truncations change the current contents and join a pending list;
 * sync(file) applies that file's pending data operations to its durable contents. Directory
 * operations (create, rename, unlink, mkdir) change the current namespace and join the pending
 * list too; sync_dir(dir) makes that directory's pending entries durable. sim_fs_crash() resolves
 * every pending operation in issue order, each by one decision of the caller's chooser:
 *   - a write: lost, applied fully, or torn at a sector boundary: the sectors before the cut are
 *     applied and the rest is either absent (a write past the end leaves the file ending at the
 *     cut) or, for the part past the old end of file, zero-filled (the size was extended but the
 *     data never landed), the two behaviours file systems show after a crash; a lost write past
 *     the end may likewise leave the file grown by zeros;
 *   - a truncation: applied or not;
 *   - a directory operation: applied or not, in order, and only if it still applies (a rename
 *     of a name whose creation was lost does not happen): so a rename is atomic, and a file
 *     whose creation is lost vanishes with its data;
 * then files no durable directory reaches are freed, current := durable, and every open handle
 * turns stale (FS_ESTALE; fs_close still frees it). Synced data of a durably linked file always
 * survives. Not modelled: reordering of sectors inside one write (a hole before written data).
 *
 * A process crash (sim_fs_process_crash: kill -9, the machine keeps running) is not a power loss:
 * the operating system still holds every pending operation, so reads keep showing them and a
 * later sync (by the restarted process) can still make them durable, or a later sim_fs_crash can
 * still lose them. Only the handles die. Storage recovery must therefore not trust what it reads
 * until it has synced it.
 *
 * Faults: bit flips at rest (sim_fs_corrupt, sim_fs_corrupt_random) change durable and current
 * bytes alike; read, write and sync errors are injected at rates in parts per million. A write
 * error changes nothing. A sync error behaves like Linux after a failed fsync: the file's pending
 * writes are resolved at once as by a crash (lost, kept or torn) but reads keep showing them, and
 * the error is reported once. A power cut after N more operations (sim_fs_power_cut_after) lets a
 * crash land inside a storage call: the (N+1)-th call is issued (its effect becomes pending) and
 * returns FS_EPOWER, and so does every call after it until sim_fs_crash().
 *
 * Every random decision is one call of config.choose(ctx, kind, n) returning [0, n), tagged with
 * its kind so a simulator can route kinds to independent streams; a fault kind whose rate is 0
 * draws nothing. Same decisions, same results: the file system is deterministic.
 *
 * Bounds (config): files, open files, file size, total bytes, pending operations and bytes. A
 * call that would pass one fails with FS_ELIMIT (counts) or FS_ENOSPC (bytes) and changes nothing.
 * Paths are absolute or relative to the root, '/'-separated, at most SIM_FS_DEPTH_MAX deep; rename
 * works within one directory (FS_EINVAL across directories).
 */

#define SIM_FS_DEPTH_MAX 16
#define SIM_FS_PPM       1000000u /* rates are in parts per million */

enum sim_fs_choice {
    SIM_FS_CHOICE_READ_ERROR,    /* n = 1000000: an error when below read_error_ppm */
    SIM_FS_CHOICE_WRITE_ERROR,   /* n = 1000000 */
    SIM_FS_CHOICE_SYNC_ERROR,    /* n = 1000000 */
    SIM_FS_CHOICE_WRITE_FATE,    /* n = 3 (lost, applied, torn) or 2 when no sector boundary */
    SIM_FS_CHOICE_TORN_CUT,      /* n = sector boundaries inside the write */
    SIM_FS_CHOICE_TORN_TAIL,     /* n = 2: after the cut (or a lost write past the end) nothing
                                    (0) or zeros to the write's end (1) */
    SIM_FS_CHOICE_TRUNCATE_FATE, /* n = 2: lost (0) or applied (1) */
    SIM_FS_CHOICE_DIR_OP_FATE,   /* n = 2: lost (0) or applied (1) */
    SIM_FS_CHOICE_CORRUPT_FILE,  /* n = candidate files */
    SIM_FS_CHOICE_CORRUPT_OFFSET,
    SIM_FS_CHOICE_CORRUPT_BIT, /* n = 8 */
};

struct sim_fs_config {
    uint32_t files_max; /* files and directories, the root included */
    uint32_t open_files_max;
    uint64_t file_size_bytes_max;
    uint64_t bytes_max; /* durable + current contents + pending write data */
    uint32_t pending_ops_max;
    uint64_t pending_bytes_max;
    uint32_t sector_size_bytes; /* torn writes are cut at multiples; a power of two */
    uint32_t read_error_ppm;    /* per read call */
    uint32_t write_error_ppm;   /* per write or truncate call */
    uint32_t sync_error_ppm;    /* per sync or sync_dir call */
    /* The decision function: returns a value in [0, n), n >= 1. Required. */
    uint64_t (*choose)(void *ctx, enum sim_fs_choice kind, uint64_t n);
    void *choose_ctx;
};

/* Counters; faults by kind. */
struct sim_fs_stats {
    uint64_t ops;       /* every call through the interface, failed ones included */
    uint64_t mutations; /* writes, truncations, syncs and directory operations issued */
    uint64_t reads, writes, syncs, dir_syncs, truncates, opens, renames, unlinks, mkdirs, lists;
    uint64_t bytes_read, bytes_written;
    uint64_t read_errors, write_errors, sync_errors; /* injected */
    uint64_t power_cuts, crashes;
    uint64_t process_crashes;
    uint64_t writes_lost, writes_torn,
        writes_kept; /* pending writes resolved by crash/sync error */
    uint64_t truncates_lost, truncates_kept;
    uint64_t dir_ops_lost, dir_ops_kept;
    uint64_t bit_flips;
};

struct sim_fs;

/* Fills a config with modest bounds (256 files, 64 open, 64 MiB per file, 256 MiB total, 4096
 * pending operations and 64 MiB pending, 512-byte sectors), no error rates, and no chooser. */
void sim_fs_config_default(struct sim_fs_config *config);

/* NULL if the config is invalid (no chooser, zero bounds, sector not a power of two) or memory
 * runs out. The file system starts empty: only the root directory. */
struct sim_fs *sim_fs_create(const struct sim_fs_config *config);
void sim_fs_destroy(struct sim_fs *sfs);

/* The struct fs view, valid until sim_fs_destroy. */
struct fs *sim_fs_fs(struct sim_fs *sfs);

/* Resolves every pending operation (see above), powers back on, makes handles stale. */
void sim_fs_crash(struct sim_fs *sfs);

/* A process crash: every open handle turns stale, pending operations stay pending (unresolved,
 * still visible to reads), the power is on again (a cut armed or in effect is cleared: the cut
 * call was the last one the process issued). */
void sim_fs_process_crash(struct sim_fs *sfs);

/* The (ops + 1)-th call from now is cut by a power failure. Replaces an earlier arming. */
void sim_fs_power_cut_after(struct sim_fs *sfs, uint64_t ops);
void sim_fs_power_cut_cancel(struct sim_fs *sfs);
bool sim_fs_powered(const struct sim_fs *sfs);

/* Changes the injected error rates (parts per million). */
void sim_fs_set_error_rates(struct sim_fs *sfs, uint32_t read_ppm, uint32_t write_ppm,
                            uint32_t sync_ppm);

/* XORs `mask` (non-zero) into the byte at `offset` of file `path`, at rest. FS_ENOENT if no such
 * file, FS_EINVAL if offset is past its end. */
int sim_fs_corrupt(struct sim_fs *sfs, const char *path, uint64_t offset, uint8_t mask);

/* Flips one chosen bit of one chosen non-empty file whose path starts with `prefix` (NULL: any).
 * Reports the path (capacity FS_PATH_BYTES_MAX) and offset; FS_ENOENT when no file qualifies. */
int sim_fs_corrupt_random(struct sim_fs *sfs, const char *prefix, char *path_out,
                          uint64_t *offset_out);

/* XXH3 digest of everything stored: both namespaces, both contents, the pending count. Equal
 * digests before and after a call mean the call changed nothing. */
uint64_t sim_fs_digest(struct sim_fs *sfs);

/* Pending (unsynced) operations right now. */
uint32_t sim_fs_pending_count(const struct sim_fs *sfs);

const struct sim_fs_stats *sim_fs_stats(const struct sim_fs *sfs);

#endif
