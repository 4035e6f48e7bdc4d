/* Snapshot files: written atomically, checksummed, the newest valid one loaded, damage reported. */
#ifndef FLOWRAFT_STORAGE_SNAP_H
#define FLOWRAFT_STORAGE_SNAP_H

#include "storage/error.h"
#include "storage/fs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * File "snap-<index, 16 hex>-<term, 16 hex>.snap" (written as "<name>.tmp", synced, renamed,
 * directory synced). All integers little-endian:
 *
 *   offset   size  field
 *   0        8     magic "FRSNAPSH"
 *   8        4     format version (1)
 *   12       4     header size (64)
 *   16       8     last included index (equals the file name)
 *   24       8     last included term (equals the file name)
 *   32       8     config blob length c (<= SNAP_CONFIG_BYTES_MAX): membership, opaque here
 *   40       8     state-machine data length d (<= SNAP_DATA_BYTES_MAX)
 *   48       8     reserved, zero
 *   56       8     XXH3-64 of bytes [0, 56) seeded with SNAP_SEED_HEADER
 *   64       c     config blob
 *   64+c     d     state-machine bytes
 *   64+c+d   8     XXH3-64 of bytes [0, 64+c+d) seeded with SNAP_SEED_BODY
 *
 * The file is exactly 72 + c + d bytes. Load decision table (tests/storage/test_snap.c):
 *   P1  no snapshot file                 -> none found
 *   P2  newest (by index, then term) valid -> loaded
 *   P3  newest damaged (any check fails: size, header or body checksum, name mismatch)
 *                                        -> reported in recovery.damaged[], never loaded; the next
 *                                           newest is tried (the store checks that the log still
 *                                           reaches back to it, never counts a damaged one among
 *                                           the kept snapshots, and removes it when it next
 *                                           compacts)
 *   P4  a snapshot of another format version, or bad magic -> STORAGE_EFORMAT naming the file
 *   P5  leftover "*.snap.tmp"            -> ignored; removed by snap_prune
 */

#define SNAP_FORMAT_VERSION       1u
#define SNAP_HEADER_BYTES         64u
#define SNAP_CONFIG_BYTES_MAX     (1u << 20)
#define SNAP_DATA_BYTES_MAX       (1ull << 30)
#define SNAP_FILES_MAX            256u             /* snapshot files considered in one directory */
#define SNAP_INDEX_MAX            (UINT64_MAX - 1) /* the log after it starts at index + 1 */
#define SNAP_DAMAGED_REPORTED_MAX 8u

/* A snapshot file's name: its index and term. */
struct snap_name {
    uint64_t index;
    uint64_t term;
};

struct snap_meta {
    uint64_t index;      /* last included index (Raft §7) */
    uint64_t term;       /* last included term */
    uint64_t config_len; /* invariant: <= SNAP_CONFIG_BYTES_MAX */
    uint64_t data_len;   /* invariant: <= SNAP_DATA_BYTES_MAX */
};

/* A loaded snapshot; owns its buffers (free with snap_loaded_free). */
struct snap_loaded {
    bool found;
    struct snap_meta meta;
    uint8_t *config; /* config_len bytes (NULL when 0) */
    uint8_t *data;   /* data_len bytes (NULL when 0) */
};

struct snap_recovery {
    uint32_t files;      /* snapshot files found */
    uint32_t temp_files; /* leftover temp files */
    uint32_t damaged;    /* damaged snapshots skipped */
    char damaged_paths[SNAP_DAMAGED_REPORTED_MAX][FS_PATH_BYTES_MAX];
    char damaged_reasons[SNAP_DAMAGED_REPORTED_MAX][96];
};

/* Loads the newest valid snapshot of `dir` (table above), modifying nothing. `out->found` is
 * false when there is none. `skip_above`: snapshots with a larger index are ignored (UINT64_MAX
 * for none), so a caller can fall back. */
int snap_load_newest(struct fs *fs, const char *dir, uint64_t skip_above, struct snap_loaded *out,
                     struct snap_recovery *recovery, struct storage_error *err);

void snap_loaded_free(struct snap_loaded *loaded);

/* Writes a snapshot durably: temp file, sync, rename, directory sync. */
int snap_save(struct fs *fs, const char *dir, uint64_t index, uint64_t term, const uint8_t *config,
              size_t config_len, const uint8_t *data, size_t data_len, struct storage_error *err);

/* Unlinks the `unusable` snapshots (found damaged; may be NULL when unusable_count is 0), keeps
 * the `keep` (>= 1) newest of the others, unlinks the older ones and every temp file, then syncs
 * the directory. */
int snap_prune(struct fs *fs, const char *dir, uint32_t keep, const struct snap_name *unusable,
               uint32_t unusable_count, struct storage_error *err);

/* Lists the snapshot files' names, newest first (by index, then term), into `names` (capacity
 * SNAP_FILES_MAX). */
int snap_list_names(struct fs *fs, const char *dir, struct snap_name *names, uint32_t *count,
                    struct storage_error *err);

/* Newest first: < 0 when a is newer than b (larger index, then larger term), 0 when equal. */
int snap_name_compare(const struct snap_name *a, const struct snap_name *b);

/* True when `name` is a snapshot file name (or a temp one when *is_temp). */
bool snap_name_parse(const char *name, uint64_t *index, uint64_t *term, bool *is_temp);

#endif
