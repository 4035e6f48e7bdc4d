/* A node's storage directory: classification, cross-checks between parts, snapshot-driven
 * compaction. */
#include "storage/store.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
    struct fs *fs;
    char dir[FS_PATH_BYTES_MAX];
    struct store_config config;
    struct wal *wal;
    struct hardstate_file *hard_state;
    uint64_t snapshot_index; /* newest snapshot saved or loaded, 0 when none */
    /* Snapshot files found damaged at open (every one newer than the snapshot loaded): never
     * counted as kept by a compaction, which removes them. */
    struct snap_name damaged[SNAP_FILES_MAX];
    uint32_t damaged_count; /* invariant: <= SNAP_FILES_MAX */
};

void store_config_default(struct store_config *config)
{
    assert(config != NULL);
    wal_config_default(&config->wal);
    config->snapshots_kept = 2;
}

/* ---- directory classification (X1) ---- */

struct store_scan {
    char foreign[FS_NAME_BYTES_MAX]; /* first foreign name, "" when none */
};

static bool store_name_is_ours(const char *name)
{
    uint64_t a = 0;
    uint64_t b = 0;
    bool is_temp = false;
    return wal_name_parse(name, &a, &is_temp) || snap_name_parse(name, &a, &b, &is_temp) ||
           hardstate_name_parse(name, &is_temp);
}

static int store_scan_name(void *arg, const char *name)
{
    struct store_scan *scan = arg;
    if (!store_name_is_ours(name)) {
        snprintf(scan->foreign, sizeof(scan->foreign), "%s", name);
        return 1;
    }
    return 0;
}

static int store_check_names(struct store *store, struct storage_error *err)
{
    struct store_scan scan = { .foreign = "" };
    if (fs_list(store->fs, store->dir, store_scan_name, &scan) < 0) {
        return storage_error_from_fs(err, store->fs, "listing the storage directory");
    }
    if (scan.foreign[0] != '\0') {
        char path[FS_PATH_BYTES_MAX];
        (void)fs_path_join(path, store->dir, scan.foreign);
        return storage_error_set(err, STORAGE_EFORMAT, path, STORAGE_OFFSET_NONE,
                                 "foreign file in the storage directory (expected only "
                                 "hardstate, snap-*.snap and wal-*.seg); refusing to use it");
    }
    return STORAGE_OK;
}

/* Makes `dir` and its entry in the parent durable. The parent is synced even when the directory
 * already exists: an earlier process may have made it and died before syncing the parent, and
 * then only the page cache knows it (a power loss would take every file in it along). */
static int store_make_dir(struct fs *fs, const char *dir, struct storage_error *err)
{
    int rc = fs_mkdir(fs, dir);
    if (rc != FS_OK && rc != FS_EEXIST) {
        return storage_error_from_fs(err, fs, "creating the storage directory");
    }
    char parent[FS_PATH_BYTES_MAX];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash == NULL) {
        snprintf(parent, sizeof(parent), ".");
    } else if (slash == parent) {
        parent[1] = '\0';
    } else {
        *slash = '\0';
    }
    if (fs_sync_dir(fs, parent) != FS_OK) {
        return storage_error_from_fs(err, fs, "syncing the parent of the storage directory");
    }
    return STORAGE_OK;
}

/* ---- cross-checks (X2, X3, X4) ---- */

int store_term_at(struct store *store, uint64_t index, uint64_t *term, struct storage_error *err)
{
    assert(store != NULL && term != NULL);
    struct wal *wal = store->wal;
    if (index < wal_first_index(wal) || index > wal_last_index(wal)) {
        return storage_error_set(err, STORAGE_EINVAL, store->dir, STORAGE_OFFSET_NONE,
                                 "index %" PRIu64 " is not in the log", index);
    }
    struct wal_iter *iter = NULL;
    int rc = wal_iter_open(wal, index, &iter, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    struct wal_entry entry;
    rc = wal_iter_next(iter, &entry, err);
    wal_iter_close(iter);
    if (rc == 1) {
        *term = entry.term;
        return STORAGE_OK;
    }
    return rc < 0 ? rc
                  : storage_error_set(err, STORAGE_ECORRUPT, store->dir, STORAGE_OFFSET_NONE,
                                      "entry %" PRIu64 " vanished from the log", index);
}

/* Decides X2 / X3; sets *discard when the log does not continue the snapshot. */
static int store_check_log(struct store *store, const struct store_recovery *recovery,
                           bool *discard, struct storage_error *err)
{
    const struct snap_loaded *snapshot = &recovery->snapshot;
    uint64_t base = snapshot->found ? snapshot->meta.index : 0;
    uint64_t first = wal_first_index(store->wal);
    uint64_t last = wal_last_index(store->wal);
    *discard = false;
    if (snapshot->found && last < base) {
        *discard = true; /* X3: ends before the snapshot */
        return STORAGE_OK;
    }
    if (first > base + 1) { /* X2 */
        const char *why = recovery->snapshot_report.damaged > 0
                              ? " (a newer snapshot was skipped as damaged: "
                              : "";
        return storage_error_set(
            err, STORAGE_ECORRUPT, store->dir, STORAGE_OFFSET_NONE,
            "the log starts at index %" PRIu64 " but the newest usable snapshot ends at %" PRIu64
            "; entries in between are missing%s%s%s",
            first, base, why,
            recovery->snapshot_report.damaged > 0 ? recovery->snapshot_report.damaged_paths[0] : "",
            recovery->snapshot_report.damaged > 0 ? ")" : "");
    }
    if (snapshot->found && first <= base) {
        uint64_t term = 0;
        int rc = store_term_at(store, base, &term, err);
        if (rc != STORAGE_OK) {
            return rc;
        }
        *discard = term != snapshot->meta.term; /* X3: another history after the snapshot */
    }
    return STORAGE_OK;
}

/* X4: every committed entry must still be somewhere, in the snapshot or in the (kept) log. */
static int store_check_commit(struct store *store, const struct store_recovery *recovery,
                              bool discard, struct storage_error *err)
{
    const struct snap_loaded *snapshot = &recovery->snapshot;
    uint64_t base = snapshot->found ? snapshot->meta.index : 0;
    uint64_t last = discard ? base : wal_last_index(store->wal);
    uint64_t reach = last > base ? last : base;
    uint64_t commit = recovery->hard_state.commit;
    if (commit <= reach) {
        return STORAGE_OK;
    }
    char path[FS_PATH_BYTES_MAX];
    (void)fs_path_join(path, store->dir, HARDSTATE_FILE_NAME);
    return storage_error_set(err, STORAGE_ECORRUPT, path, STORAGE_OFFSET_NONE,
                             "commit index %" PRIu64 " but the log ends at %" PRIu64
                             " and the newest usable snapshot at %" PRIu64
                             ": committed entries are missing",
                             commit, last, base);
}

/* ---- open ---- */

/* snap_load_newest tries the newest first and stops at the first usable snapshot: every file
 * newer than the one loaded (all of them when none was) was found damaged. */
static int store_note_damaged(struct store *store, const struct snap_loaded *loaded,
                              struct storage_error *err)
{
    struct snap_name *names = calloc(SNAP_FILES_MAX, sizeof(*names));
    if (names == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, store->dir, STORAGE_OFFSET_NONE, "no memory");
    }
    uint32_t count = 0;
    int rc = snap_list_names(store->fs, store->dir, names, &count, err);
    struct snap_name used = { loaded->meta.index, loaded->meta.term };
    store->damaged_count = 0;
    for (uint32_t i = 0; rc == STORAGE_OK && i < count; i++) {
        if (!loaded->found || snap_name_compare(&names[i], &used) < 0) {
            store->damaged[store->damaged_count++] = names[i];
        }
    }
    free(names);
    return rc;
}

/* A snapshot just saved under a name found damaged at open replaced that file: usable now. */
static void store_forget_damaged(struct store *store, uint64_t index, uint64_t term)
{
    struct snap_name name = { index, term };
    uint32_t kept = 0;
    for (uint32_t i = 0; i < store->damaged_count; i++) {
        if (snap_name_compare(&store->damaged[i], &name) != 0) {
            store->damaged[kept++] = store->damaged[i];
        }
    }
    store->damaged_count = kept;
}

static int store_open_parts(struct store *store, struct store_recovery *recovery,
                            struct storage_error *err)
{
    int rc = store_check_names(store, err); /* X1 */
    if (rc == STORAGE_OK) {
        rc = hardstate_open(store->fs, store->dir, &store->hard_state, &recovery->hard_state,
                            &recovery->hard_state_report, err);
    }
    if (rc == STORAGE_OK) {
        rc = snap_load_newest(store->fs, store->dir, UINT64_MAX, &recovery->snapshot,
                              &recovery->snapshot_report, err);
    }
    if (rc == STORAGE_OK && recovery->snapshot_report.damaged > 0) {
        rc = store_note_damaged(store, &recovery->snapshot, err);
    }
    if (rc == STORAGE_OK) {
        uint64_t base = recovery->snapshot.found ? recovery->snapshot.meta.index + 1 : 1;
        store->snapshot_index = recovery->snapshot.found ? recovery->snapshot.meta.index : 0;
        rc = wal_open(store->fs, store->dir, &store->config.wal, base, &store->wal,
                      &recovery->wal_report, err);
    }
    return rc;
}

/* X5: every check passed; now the parts may change the directory. */
static int store_repair(struct store *store, struct store_recovery *recovery, bool discard,
                        struct storage_error *err)
{
    int rc = hardstate_repair(store->hard_state, err);
    if (rc == STORAGE_OK) {
        rc = wal_repair(store->wal, err);
    }
    if (rc == STORAGE_OK && discard) {
        rc = wal_reset(store->wal, recovery->snapshot.meta.index + 1, err);
        recovery->wal_discarded = true;
    }
    if (rc == STORAGE_OK && recovery->snapshot_report.temp_files > 0) {
        rc = snap_prune(store->fs, store->dir, SNAP_FILES_MAX, NULL, 0, err); /* temps only */
    }
    return rc;
}

int store_open(struct fs *fs, const char *dir, const struct store_config *config, unsigned flags,
               struct store **out, struct store_recovery *recovery, struct storage_error *err)
{
    assert(fs != NULL && dir != NULL && config != NULL && out != NULL && recovery != NULL);
    assert(config->snapshots_kept >= 1);
    storage_error_clear(err);
    memset(recovery, 0, sizeof(*recovery));
    *out = NULL;
    struct store *store = calloc(1, sizeof(*store));
    if (store == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, dir, STORAGE_OFFSET_NONE, "no memory");
    }
    store->fs = fs;
    store->config = *config;
    snprintf(store->dir, sizeof(store->dir), "%s", dir);
    int rc = STORAGE_OK;
    if (flags & STORE_OPEN_CREATE) {
        rc = store_make_dir(fs, dir, err);
    }
    if (rc == STORAGE_OK) {
        rc = store_open_parts(store, recovery, err);
    }
    bool discard = false;
    if (rc == STORAGE_OK) {
        rc = store_check_log(store, recovery, &discard, err);
    }
    if (rc == STORAGE_OK) {
        rc = store_check_commit(store, recovery, discard, err);
    }
    if (rc == STORAGE_OK) {
        rc = store_repair(store, recovery, discard, err);
    }
    if (rc != STORAGE_OK) {
        snap_loaded_free(&recovery->snapshot);
        store_close(store);
        return rc;
    }
    recovery->first_index = wal_first_index(store->wal);
    if (recovery->snapshot.found && recovery->first_index <= recovery->snapshot.meta.index) {
        recovery->first_index = recovery->snapshot.meta.index + 1;
    }
    recovery->last_index = wal_last_index(store->wal);
    *out = store;
    return STORAGE_OK;
}

void store_close(struct store *store)
{
    if (store == NULL) {
        return;
    }
    wal_close(store->wal);
    hardstate_close(store->hard_state);
    free(store);
}

struct wal *store_wal(struct store *store)
{
    assert(store != NULL);
    return store->wal;
}

struct hardstate store_hard_state(const struct store *store)
{
    assert(store != NULL);
    return hardstate_current(store->hard_state);
}

uint64_t store_snapshot_index(const struct store *store)
{
    assert(store != NULL);
    return store->snapshot_index;
}

int store_append(struct store *store, const struct wal_entry *entries, size_t count,
                 struct storage_error *err)
{
    assert(store != NULL);
    return wal_append(store->wal, entries, count, err);
}

int store_truncate_suffix(struct store *store, uint64_t index, struct storage_error *err)
{
    assert(store != NULL);
    if (index <= store->snapshot_index) {
        return storage_error_set(err, STORAGE_EINVAL, store->dir, STORAGE_OFFSET_NONE,
                                 "truncation from %" PRIu64 " would cut into snapshot %" PRIu64,
                                 index, store->snapshot_index);
    }
    return wal_truncate_suffix(store->wal, index, err);
}

int store_save_hard_state(struct store *store, const struct hardstate *state,
                          struct storage_error *err)
{
    assert(store != NULL);
    return hardstate_save(store->hard_state, state, err);
}

/* ---- snapshots and compaction ---- */

static bool store_snapshot_damaged(const struct store *store, const struct snap_name *name)
{
    for (uint32_t i = 0; i < store->damaged_count; i++) { /* <= SNAP_FILES_MAX */
        if (snap_name_compare(&store->damaged[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Drops the log before the oldest kept usable snapshot (so a damaged newest one can fall back),
 * then prunes older and damaged snapshots. Runs only after the new snapshot is durable. */
static int store_compact(struct store *store, struct storage_error *err)
{
    struct snap_name *names = calloc(SNAP_FILES_MAX, sizeof(*names));
    if (names == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, store->dir, STORAGE_OFFSET_NONE, "no memory");
    }
    uint32_t count = 0;
    int rc = snap_list_names(store->fs, store->dir, names, &count, err);
    uint64_t oldest_kept = 0;
    uint32_t kept = 0;
    for (uint32_t i = 0; rc == STORAGE_OK && i < count && kept < store->config.snapshots_kept;
         i++) {
        if (!store_snapshot_damaged(store, &names[i])) {
            oldest_kept = names[i].index;
            kept++;
        }
    }
    free(names);
    assert(rc != STORAGE_OK || kept >= 1); /* the snapshot just saved is usable */
    if (rc == STORAGE_OK) {
        rc = wal_drop_prefix(store->wal, oldest_kept + 1, err);
    }
    if (rc == STORAGE_OK) {
        rc = snap_prune(store->fs, store->dir, store->config.snapshots_kept, store->damaged,
                        store->damaged_count, err);
    }
    if (rc == STORAGE_OK) {
        store->damaged_count = 0; /* removed */
    }
    return rc;
}

int store_save_snapshot(struct store *store, uint64_t index, uint64_t term, const uint8_t *config,
                        size_t config_len, const uint8_t *data, size_t data_len,
                        struct storage_error *err)
{
    assert(store != NULL);
    storage_error_clear(err);
    if (index <= store->snapshot_index || index > wal_last_index(store->wal)) {
        return storage_error_set(err, STORAGE_EINVAL, store->dir, STORAGE_OFFSET_NONE,
                                 "snapshot at %" PRIu64 " is not after snapshot %" PRIu64
                                 " and within the log (last %" PRIu64 ")",
                                 index, store->snapshot_index, wal_last_index(store->wal));
    }
    /* A term the log does not have at `index` would make the next recovery take this snapshot
     * for another history (X3) and discard the log after it. */
    uint64_t log_term = 0;
    int rc = store_term_at(store, index, &log_term, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    if (log_term != term) {
        return storage_error_set(err, STORAGE_EINVAL, store->dir, STORAGE_OFFSET_NONE,
                                 "snapshot at %" PRIu64 " with term %" PRIu64
                                 " but the log has term %" PRIu64 " there",
                                 index, term, log_term);
    }
    rc = snap_save(store->fs, store->dir, index, term, config, config_len, data, data_len, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    store->snapshot_index = index;
    store_forget_damaged(store, index, term);
    return store_compact(store, err);
}

int store_install_snapshot(struct store *store, uint64_t index, uint64_t term,
                           const uint8_t *config, size_t config_len, const uint8_t *data,
                           size_t data_len, struct storage_error *err)
{
    assert(store != NULL);
    storage_error_clear(err);
    if (index <= store->snapshot_index) {
        return storage_error_set(err, STORAGE_EINVAL, store->dir, STORAGE_OFFSET_NONE,
                                 "installed snapshot at %" PRIu64 " is not after snapshot %" PRIu64,
                                 index, store->snapshot_index);
    }
    bool keep_log = false;
    struct wal *wal = store->wal;
    if (index >= wal_first_index(wal) && index <= wal_last_index(wal)) {
        uint64_t log_term = 0;
        int rc = store_term_at(store, index, &log_term, err);
        if (rc != STORAGE_OK) {
            return rc;
        }
        keep_log = log_term == term; /* §7: keep the entries following a matching entry */
    }
    int rc = snap_save(store->fs, store->dir, index, term, config, config_len, data, data_len, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    store->snapshot_index = index;
    store_forget_damaged(store, index, term);
    if (!keep_log) {
        rc = wal_reset(wal, index + 1, err);
    }
    return rc == STORAGE_OK ? store_compact(store, err) : rc;
}
