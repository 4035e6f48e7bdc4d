/* The segmented write-ahead log: group-committed appends, suffix truncation, prefix drops,
 * recovery. */
#ifndef FLOWRAFT_STORAGE_WAL_H
#define FLOWRAFT_STORAGE_WAL_H

#include "storage/error.h"
#include "storage/fs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Files in the WAL directory: segments "wal-<first index, 16 hex digits>.seg" and, while a segment
 * is being created, "wal-<...>.seg.tmp". The record and segment formats are byte tables in
 * storage/wal_format.h; the recovery decision table is in storage/wal_recover.c.
 *
 * Lifecycle: wal_open scans and validates every segment without modifying anything; if the log is
 * damaged beyond a torn tail it fails with STORAGE_ECORRUPT or STORAGE_EFORMAT naming the file and
 * offset. wal_repair then applies what recovery decided (drop the torn tail, remove temp files,
 * create the first segment) and makes the log writable. Entries are read back with wal_iter_*.
 *
 * Durability: wal_append, wal_truncate_suffix, wal_drop_prefix and wal_reset return only after
 * their effect is durable (synced, directory synced); an entry is acknowledged when wal_append
 * returned STORAGE_OK. After any failed write or sync the WAL refuses further changes with
 * STORAGE_EFAILED: close it and reopen (recovery decides what reached the disk).
 *
 * Crash safety of each change (what a crash in the middle can leave, all recoverable):
 * - append: a prefix of the batch's records, possibly ending in a torn record (dropped at
 *   recovery). A batch is one write and one sync; a batch larger than the write buffer or crossing
 *   a segment end is split, each part synced before the next is written.
 * - truncate_suffix(i): segments holding only entries >= i are unlinked newest first, each
 *   unlink made durable before the next, then the segment holding i-1 is truncated and synced:
 *   every intermediate state is a contiguous log with all entries below i.
 * - drop_prefix(i): segments holding only entries < i are unlinked oldest first, each durable
 *   before the next: every intermediate state is a contiguous log with all entries >= i.
 * - segment creation: header written to a temp file, synced, renamed, directory synced.
 */

#define WAL_FORMAT_VERSION       1
#define WAL_ENTRY_DATA_BYTES_MAX (1u << 20) /* payload bound of one entry (format limit) */
#define WAL_BATCH_ENTRIES_MAX    65536u     /* entries in one wal_append call */
#define WAL_SEGMENTS_MAX         65536u     /* hard bound on segments; the config may lower it */

struct wal_entry {
    uint64_t index;      /* invariant: >= 1; consecutive within a log */
    uint64_t term;       /* invariant: never decreases along the log */
    uint8_t type;        /* opaque to the WAL (the Raft entry type) */
    uint32_t data_len;   /* invariant: <= WAL_ENTRY_DATA_BYTES_MAX */
    const uint8_t *data; /* borrowed; NULL only when data_len == 0 */
};

struct wal_config {
    uint64_t segment_size_bytes_max; /* a new segment starts when a batch would pass this */
    size_t write_buffer_bytes;       /* bytes per write; >= one record of the largest payload */
    uint32_t segments_max;           /* invariant: 1 <= segments_max <= WAL_SEGMENTS_MAX */
};

/* Defaults: 64 MiB segments, a 2 MiB write buffer, 4096 segments. */
void wal_config_default(struct wal_config *config);

/* What wal_open found and what wal_repair will do (or did). */
struct wal_recovery {
    uint64_t first_index;   /* first entry stored (== last_index + 1 when the log is empty) */
    uint64_t last_index;    /* last valid entry, first_index - 1 when empty */
    uint64_t last_term;     /* term of last_index, 0 when empty */
    uint64_t entries;       /* valid entries found */
    uint64_t bytes_scanned; /* bytes read and checked */
    uint32_t segment_count; /* segments found (0: a fresh log, created at base_index) */
    uint32_t temp_files;    /* leftover temporary segment files, removed by wal_repair */
    bool torn_tail;         /* the last segment ends in a torn or partial record */
    char torn_path[FS_PATH_BYTES_MAX]; /* the segment holding it */
    uint64_t torn_offset;              /* where the torn record starts: wal_repair truncates here */
    uint64_t torn_bytes;               /* bytes dropped from torn_offset to the end of the file */
    char torn_reason[96];              /* what was wrong ("file ends inside the record", ...) */
};

struct wal;

/*
 * Scans the WAL in `dir` without modifying anything. `base_index` (>= 1) is where the log starts
 * if the directory holds no segment yet. On success *out is a WAL that can be read; call
 * wal_repair before changing it. On failure *out is NULL and `err` names the file and offset.
 * `recovery` may be NULL.
 */
int wal_open(struct fs *fs, const char *dir, const struct wal_config *config, uint64_t base_index,
             struct wal **out, struct wal_recovery *recovery, struct storage_error *err);

/* Applies recovery's decisions: truncates a torn tail (synced), removes temp files (directory
 * synced), creates the first segment of a fresh log; then syncs the last segment and the directory,
 * since what the scan read may have been only in the page cache (a process that died between a
 * write and its sync while the machine kept running). Once it returned, every entry wal_open
 * reported is durable. Idempotent. */
int wal_repair(struct wal *wal, struct storage_error *err);

/* Releases everything. Never writes or syncs, so it is also the way to drop a WAL after a crash. */
void wal_close(struct wal *wal);

uint64_t wal_first_index(const struct wal *wal);
uint64_t wal_last_index(const struct wal *wal); /* first_index - 1 when empty */
uint64_t wal_last_term(const struct wal *wal);  /* 0 when empty */
uint32_t wal_segment_count(const struct wal *wal);

/*
 * Appends `count` entries (1..WAL_BATCH_ENTRIES_MAX) with one write and one sync (group commit).
 * entries[0].index must be wal_last_index + 1, indices consecutive, terms never decreasing
 * (STORAGE_EINVAL otherwise), payloads within WAL_ENTRY_DATA_BYTES_MAX and the segments the batch
 * needs within segments_max (STORAGE_ELIMIT otherwise); a refused batch writes nothing. Returns
 * once durable.
 */
int wal_append(struct wal *wal, const struct wal_entry *entries, size_t count,
               struct storage_error *err);

/* Removes every entry with index >= `index` (a log conflict, Raft §5.3). Requires
 * wal_first_index <= index (STORAGE_EINVAL otherwise); an index past the end is a no-op. */
int wal_truncate_suffix(struct wal *wal, uint64_t index, struct storage_error *err);

/* Allows entries below `index` to be removed (they are in a snapshot, Raft §7). Whole segments
 * only: entries below `index` in the segment holding `index` stay and wal_first_index says so. */
int wal_drop_prefix(struct wal *wal, uint64_t index, struct storage_error *err);

/* Discards the whole log; the next append must carry `next_index` (an installed snapshot, §7). */
int wal_reset(struct wal *wal, uint64_t next_index, struct storage_error *err);

/* Reads entries in order from `from_index` (>= wal_first_index) to the last index at the time of
 * the call, re-verifying every checksum. The WAL must not change while an iterator is open. */
struct wal_iter;
int wal_iter_open(struct wal *wal, uint64_t from_index, struct wal_iter **out,
                  struct storage_error *err);
/* 1 and *entry filled (entry->data valid until the next call), 0 at the end, or < 0 on error. */
int wal_iter_next(struct wal_iter *iter, struct wal_entry *entry, struct storage_error *err);
void wal_iter_close(struct wal_iter *iter);

/* File names. wal_name_parse returns true when `name` is a WAL file name (a segment, or a temp
 * segment when *is_temp) and sets *first_index; false for any other name. */
bool wal_name_parse(const char *name, uint64_t *first_index, bool *is_temp);
void wal_segment_name(char *out, size_t out_size, uint64_t first_index);

#endif
