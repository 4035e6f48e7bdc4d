/* Tests for storage/store: directory classification, cross-checks, bad input left untouched. */
#include "storage/store.h"
#include "storage/wal_format.h"

#include "core/hash.h"
#include "core/bytes.h"
#include "tests/storage/helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static void config_small(struct store_config *config)
{
    store_config_default(config);
    config->wal.segment_size_bytes_max = 2048;
}

static void append(struct store *store, uint64_t first, uint64_t count, uint64_t term)
{
    struct wal_entry entries[64];
    uint8_t data[64][40];
    cr_assert(count <= 64);
    for (uint64_t i = 0; i < count; i++) {
        memset(data[i], (int)(first + i), sizeof(data[i]));
        entries[i] = (struct wal_entry){ .index = first + i,
                                         .term = term,
                                         .type = 1,
                                         .data_len = sizeof(data[i]),
                                         .data = data[i] };
    }
    struct storage_error err;
    cr_assert_eq(store_append(store, entries, count, &err), STORAGE_OK, "%s", err.message);
}

static struct store *open_store(struct fs *fs, const char *dir, struct store_recovery *recovery)
{
    struct store_config config;
    config_small(&config);
    struct store *store = NULL;
    struct storage_error err;
    cr_assert_eq(store_open(fs, dir, &config, STORE_OPEN_CREATE, &store, recovery, &err),
                 STORAGE_OK, "%s", err.message);
    return store;
}

/* A populated store directory: entries 1..200 in term 1, hard state, snapshots at 60 and 120. */
static void populate(struct fs *fs, const char *dir)
{
    struct store_recovery recovery;
    struct store *store = open_store(fs, dir, &recovery);
    for (uint64_t i = 0; i < 5; i++) {
        append(store, 1 + i * 40, 40, 1);
    }
    struct storage_error err;
    struct hardstate hs = { 1, 1, 150 };
    cr_assert_eq(store_save_hard_state(store, &hs, &err), STORAGE_OK);
    cr_assert_eq(store_save_snapshot(store, 60, 1, (const uint8_t *)"c", 1,
                                     (const uint8_t *)"state60", 7, &err),
                 STORAGE_OK, "%s", err.message);
    cr_assert_eq(store_save_snapshot(store, 120, 1, (const uint8_t *)"c", 1,
                                     (const uint8_t *)"state120", 8, &err),
                 STORAGE_OK, "%s", err.message);
    store_close(store);
    snap_loaded_free(&recovery.snapshot);
}

/* Invariant: the whole life cycle: state, snapshot and log come back as saved; compaction keeps
 * the log from just after the oldest kept snapshot. */
Test(store, lifecycle_roundtrip)
{
    struct prng prng;
    prng_seed(&prng, 5);
    struct sim_fs *sfs = test_sim_fs_new(&prng);
    struct fs *fs = sim_fs_fs(sfs);
    populate(fs, "node");
    struct store_recovery recovery;
    struct store *store = open_store(fs, "node", &recovery);
    cr_assert_eq(recovery.hard_state.commit, 150);
    cr_assert(recovery.snapshot.found);
    cr_assert_eq(recovery.snapshot.meta.index, 120);
    cr_assert_eq(memcmp(recovery.snapshot.data, "state120", 8), 0);
    cr_assert_eq(recovery.first_index, 121);
    cr_assert_eq(recovery.last_index, 200);
    cr_assert_leq(wal_first_index(store_wal(store)), 61, "log reaches back to snapshot 60");
    cr_assert_gt(wal_first_index(store_wal(store)), 1, "older segments were dropped");
    snap_loaded_free(&recovery.snapshot);
    store_close(store);
    sim_fs_destroy(sfs);
}

/* Row X1 and bad input on real files: garbage, foreign files, another version, a truncated
 * segment: each a clear error naming the file, and the directory byte-for-byte untouched. */
Test(store, cross_X1_bad_input_posix_errors_name_file_and_touch_nothing)
{
    struct fs fs;
    fs_posix_init(&fs);
    for (int variant = 0; variant < 6; variant++) {
        char dir[64];
        test_tmpdir_make(dir, sizeof(dir));
        populate(&fs, dir);
        char path[FS_PATH_BYTES_MAX];
        char name[FS_NAME_BYTES_MAX];
        int expected = STORAGE_EFORMAT;
        if (variant == 0) { /* a foreign file */
            snprintf(name, sizeof(name), "notes.txt");
            cr_assert_eq(fs_path_join(path, dir, name), FS_OK);
            test_write_file(&fs, path, "hello", 5);
        } else if (variant == 1) { /* a foreign subdirectory */
            snprintf(name, sizeof(name), "lost+found");
            cr_assert_eq(fs_path_join(path, dir, name), FS_OK);
            cr_assert_eq(fs_mkdir(&fs, path), FS_OK);
        } else if (variant == 2) { /* garbage under a segment's name */
            wal_segment_name(name, sizeof(name), 100000);
            cr_assert_eq(fs_path_join(path, dir, name), FS_OK);
            test_write_file(&fs, path,
                            "garbage garbage garbage garbage garbage garbage garbage "
                            "garbage garbage garbage",
                            80);
        } else if (variant == 3) { /* a hard state of another version */
            snprintf(name, sizeof(name), "%s", HARDSTATE_FILE_NAME);
            cr_assert_eq(fs_path_join(path, dir, HARDSTATE_FILE_NAME), FS_OK);
            uint8_t slot[HARDSTATE_SLOT_BYTES];
            test_read_file(&fs, path, slot, sizeof(slot));
            bytes_put_u32(slot + 8, 7);
            bytes_put_u64(slot + 56, hash_bytes(slot, 56, HARDSTATE_SEED));
            static uint8_t file[HARDSTATE_SLOT_OFFSET + HARDSTATE_SLOT_BYTES];
            memcpy(file, slot, sizeof(slot));
            memcpy(file + HARDSTATE_SLOT_OFFSET, slot, sizeof(slot));
            test_write_file(&fs, path, file, sizeof(file));
        } else if (variant == 4) { /* a segment in the middle cut short */
            struct store_recovery recovery;
            struct store *store = open_store(&fs, dir, &recovery);
            uint64_t first = wal_first_index(store_wal(store));
            store_close(store);
            snap_loaded_free(&recovery.snapshot);
            wal_segment_name(name, sizeof(name), first);
            cr_assert_eq(fs_path_join(path, dir, name), FS_OK);
            static uint8_t bytes[4096];
            uint64_t size = test_read_file(&fs, path, bytes, sizeof(bytes));
            test_write_file(&fs, path, bytes, (size_t)size - 7);
            expected = STORAGE_ECORRUPT;
        } else { /* a flipped bit in an acknowledged record */
            struct store_recovery recovery;
            struct store *store = open_store(&fs, dir, &recovery);
            uint64_t first = wal_first_index(store_wal(store));
            store_close(store);
            snap_loaded_free(&recovery.snapshot);
            wal_segment_name(name, sizeof(name), first);
            cr_assert_eq(fs_path_join(path, dir, name), FS_OK);
            static uint8_t bytes[4096];
            uint64_t size = test_read_file(&fs, path, bytes, sizeof(bytes));
            bytes[WAL_SEGMENT_HEADER_BYTES + 50] ^= 0x04;
            test_write_file(&fs, path, bytes, (size_t)size);
            expected = STORAGE_ECORRUPT;
        }
        uint64_t before = test_dir_digest(&fs, dir);
        struct store_config config;
        config_small(&config);
        struct store *store = NULL;
        struct store_recovery recovery;
        struct storage_error err;
        int rc = store_open(&fs, dir, &config, 0, &store, &recovery, &err);
        cr_assert_eq(rc, expected, "variant %d: %s", variant, err.message);
        cr_assert_null(store);
        cr_assert(strstr(err.message, name) != NULL, "variant %d names the file: %s", variant,
                  err.message);
        cr_assert_eq(test_dir_digest(&fs, dir), before, "variant %d modified the directory",
                     variant);
        test_tmpdir_remove(dir);
    }
}

/* Row X2: the log starting after the snapshot (entries missing) is corruption; the message
 * names a damaged newer snapshot when that is why. */
Test(store, cross_X2_log_gap_after_snapshot)
{
    struct prng prng;
    prng_seed(&prng, 5);
    struct sim_fs *sfs = test_sim_fs_new(&prng);
    struct fs *fs = sim_fs_fs(sfs);
    populate(fs, "node");
    /* damage both snapshots: the log (starting after 60) has no usable base */
    cr_assert_eq(sim_fs_corrupt(sfs, "node/snap-000000000000003c-0000000000000001.snap", 70, 1),
                 FS_OK);
    cr_assert_eq(sim_fs_corrupt(sfs, "node/snap-0000000000000078-0000000000000001.snap", 70, 1),
                 FS_OK);
    uint64_t digest = sim_fs_digest(sfs);
    struct store_config config;
    config_small(&config);
    struct store *store = NULL;
    struct store_recovery recovery;
    struct storage_error err;
    cr_assert_eq(store_open(fs, "node", &config, 0, &store, &recovery, &err), STORAGE_ECORRUPT);
    cr_assert(strstr(err.message, "damaged") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "snap-0000000000000078") != NULL, "%s", err.message);
    cr_assert_eq(sim_fs_digest(sfs), digest);
    sim_fs_destroy(sfs);
}

/* Row X3: a log that ends before the snapshot, or holds its index with another term (a crash
 * while installing a leader's snapshot), is discarded and restarts after the snapshot. */
Test(store, cross_X3_log_not_continuing_snapshot_is_discarded)
{
    for (int variant = 0; variant < 2; variant++) {
        struct prng prng;
        prng_seed(&prng, 5);
        struct sim_fs *sfs = test_sim_fs_new(&prng);
        struct fs *fs = sim_fs_fs(sfs);
        struct store_recovery recovery;
        struct store *store = open_store(fs, "node", &recovery);
        append(store, 1, 50, 1);
        store_close(store);
        struct storage_error err;
        /* the snapshot landed, the log reset did not */
        uint64_t index = variant == 0 ? 80 : 30;
        cr_assert_eq(snap_save(fs, "node", index, 3, NULL, 0, (const uint8_t *)"s", 1, &err),
                     STORAGE_OK);
        store = open_store(fs, "node", &recovery);
        cr_assert(recovery.wal_discarded, "variant %d", variant);
        cr_assert_eq(recovery.first_index, index + 1);
        cr_assert_eq(recovery.last_index, index);
        append(store, index + 1, 2, 3);
        store_close(store);
        snap_loaded_free(&recovery.snapshot);
        sim_fs_destroy(sfs);
    }
}

/* Row X2 passed by a fallback: a damaged newest snapshot is reported and the older one used, the
 * log still reaching back to it. */
Test(store, cross_X2_damaged_newest_snapshot_falls_back_to_one_the_log_reaches)
{
    struct prng prng;
    prng_seed(&prng, 5);
    struct sim_fs *sfs = test_sim_fs_new(&prng);
    struct fs *fs = sim_fs_fs(sfs);
    populate(fs, "node");
    cr_assert_eq(sim_fs_corrupt(sfs, "node/snap-0000000000000078-0000000000000001.snap", 70, 1),
                 FS_OK);
    struct store_recovery recovery;
    struct store *store = open_store(fs, "node", &recovery);
    cr_assert_eq(recovery.snapshot_report.damaged, 1);
    cr_assert_eq(recovery.snapshot.meta.index, 60);
    cr_assert_eq(memcmp(recovery.snapshot.data, "state60", 7), 0);
    cr_assert_eq(recovery.first_index, 61);
    cr_assert_eq(recovery.last_index, 200);
    snap_loaded_free(&recovery.snapshot);
    store_close(store);
    sim_fs_destroy(sfs);
}

/* Writes a hard state directly (as a damaged or foreign directory could hold it). */
static void force_hard_state(struct fs *fs, const char *dir, struct hardstate state)
{
    struct hardstate_file *hs = NULL;
    struct storage_error err;
    cr_assert_eq(hardstate_open(fs, dir, &hs, NULL, NULL, &err), STORAGE_OK, "%s", err.message);
    cr_assert_eq(hardstate_repair(hs, &err), STORAGE_OK, "%s", err.message);
    cr_assert_eq(hardstate_save(hs, &state, &err), STORAGE_OK, "%s", err.message);
    hardstate_close(hs);
}

/* Row X4: a hard state committing entries that are in neither the log (after X3) nor the snapshot
 * is corruption naming the hard state, and nothing is modified: a log ending below the commit, a
 * log discarded under a snapshot below the commit, a (buggy) truncation below the commit; a commit
 * the snapshot covers is fine. */
Test(store, cross_X4_commit_beyond_log_and_snapshot_is_corruption)
{
    for (int variant = 0; variant < 4; variant++) {
        struct prng prng;
        prng_seed(&prng, 5);
        struct sim_fs *sfs = test_sim_fs_new(&prng);
        struct fs *fs = sim_fs_fs(sfs);
        struct store_recovery recovery;
        struct store *store = open_store(fs, "node", &recovery);
        append(store, 1, 20, 1);
        store_close(store);
        struct storage_error err;
        if (variant == 0) { /* no snapshot: the log ends at 20, commit 21 */
            force_hard_state(fs, "node", (struct hardstate){ 1, 0, 21 });
        } else if (variant == 3) { /* commit 15, then the log truncated from 11 */
            store = open_store(fs, "node", &recovery);
            cr_assert_eq(store_save_hard_state(store, &(struct hardstate){ 1, 0, 15 }, &err),
                         STORAGE_OK);
            cr_assert_eq(store_truncate_suffix(store, 11, &err), STORAGE_OK, "%s", err.message);
            store_close(store);
        } else { /* snapshot 25 (the log, ending at 20, is discarded: X3) */
            cr_assert_eq(snap_save(fs, "node", 25, 2, NULL, 0, (const uint8_t *)"s", 1, &err),
                         STORAGE_OK);
            force_hard_state(fs, "node", (struct hardstate){ 2, 0, variant == 1 ? 26 : 25 });
        }
        uint64_t digest = sim_fs_digest(sfs);
        struct store_config config;
        config_small(&config);
        int rc = store_open(fs, "node", &config, 0, &store, &recovery, &err);
        if (variant == 2) {
            cr_assert_eq(rc, STORAGE_OK, "the snapshot covers the commit: %s", err.message);
            cr_assert_eq(recovery.last_index, 25);
            snap_loaded_free(&recovery.snapshot);
            store_close(store);
        } else {
            cr_assert_eq(rc, STORAGE_ECORRUPT, "variant %d: %s", variant, err.message);
            cr_assert_null(store);
            cr_assert_str_eq(err.path, "node/" HARDSTATE_FILE_NAME);
            cr_assert(strstr(err.message, "committed entries are missing") != NULL, "%s",
                      err.message);
            cr_assert_eq(sim_fs_digest(sfs), digest, "a refusal modifies nothing");
        }
        sim_fs_destroy(sfs);
    }
}

static int collect_last_segment(void *arg, const char *name)
{
    uint64_t *last = arg;
    uint64_t first = 0;
    bool is_temp = false;
    if (wal_name_parse(name, &first, &is_temp) && !is_temp && first > *last) {
        *last = first;
    }
    return 0;
}

static bool exists(struct fs *fs, const char *path)
{
    struct fs_file *file = NULL;
    if (fs_open(fs, path, FS_OPEN_READ_ONLY, &file) != FS_OK) {
        return false;
    }
    fs_close(file);
    return true;
}

/* Row X5: when every check passes, each part's repairs run: the torn WAL tail is dropped, temp
 * files (segment, hard state, snapshot) are removed, a damaged hard state copy is rewritten. */
Test(store, cross_X5_repairs_run_once_every_check_passed)
{
    struct prng prng;
    prng_seed(&prng, 5);
    struct sim_fs *sfs = test_sim_fs_new(&prng);
    struct fs *fs = sim_fs_fs(sfs);
    populate(fs, "node");
    static const char *temps[] = { "node/wal-0000000000001000.seg.tmp", "node/hardstate.tmp",
                                   "node/snap-0000000000000099-0000000000000001.snap.tmp" };
    for (int i = 0; i < 3; i++) {
        test_write_file(fs, temps[i], "partial", 7);
    }
    cr_assert_eq(sim_fs_corrupt(sfs, "node/" HARDSTATE_FILE_NAME, 30, 0x01), FS_OK);
    uint64_t last_first = 0;
    cr_assert_eq(fs_list(fs, "node", collect_last_segment, &last_first), 0);
    char name[FS_NAME_BYTES_MAX];
    char tail[FS_PATH_BYTES_MAX];
    wal_segment_name(name, sizeof(name), last_first);
    cr_assert_eq(fs_path_join(tail, "node", name), FS_OK);
    static uint8_t bytes[8192];
    uint64_t size = test_read_file(fs, tail, bytes, sizeof(bytes));
    uint8_t record[WAL_RECORD_OVERHEAD_BYTES];
    wal_record_encode(record, &(struct wal_entry){ .index = 201, .term = 1 });
    memcpy(bytes + size, record, 30); /* a record cut short by a crash */
    test_write_file(fs, tail, bytes, (size_t)size + 30);

    struct store_recovery recovery;
    struct store *store = open_store(fs, "node", &recovery);
    cr_assert(recovery.wal_report.torn_tail);
    cr_assert(recovery.hard_state_report.slot_damaged[0]);
    cr_assert_eq(recovery.last_index, 200);
    cr_assert_eq(recovery.hard_state.commit, 150);
    store_close(store);
    snap_loaded_free(&recovery.snapshot);
    cr_assert_eq(test_read_file(fs, tail, bytes, sizeof(bytes)), size, "torn tail dropped");
    for (int i = 0; i < 3; i++) {
        cr_assert_not(exists(fs, temps[i]), "%s removed", temps[i]);
    }
    store = open_store(fs, "node", &recovery);
    cr_assert_not(recovery.wal_report.torn_tail);
    cr_assert_not(recovery.hard_state_report.slot_damaged[0], "damaged copy rewritten");
    cr_assert_eq(recovery.hard_state.commit, 150);
    store_close(store);
    snap_loaded_free(&recovery.snapshot);
    sim_fs_destroy(sfs);
}

/* Invariant: snapshots_kept counts usable snapshots. A snapshot found damaged at open is never
 * one of the kept ones: the next compaction keeps the log back to the oldest kept usable snapshot
 * and removes the damaged file, so a damaged newest snapshot can still fall back afterwards. */
Test(store, compaction_keeps_usable_snapshots_and_removes_damaged_ones)
{
    for (int variant = 0; variant < 3; variant++) {
        struct prng prng;
        prng_seed(&prng, 5);
        struct sim_fs *sfs = test_sim_fs_new(&prng);
        struct fs *fs = sim_fs_fs(sfs);
        populate(fs, "node"); /* entries 1..200, snapshots 60 and 120, two kept */
        const char *damaged = "node/snap-0000000000000078-0000000000000001.snap";
        cr_assert_eq(sim_fs_corrupt(sfs, damaged, 70, 1), FS_OK);
        struct store_recovery recovery;
        struct store *store = open_store(fs, "node", &recovery);
        cr_assert_eq(recovery.snapshot.meta.index, 60);
        snap_loaded_free(&recovery.snapshot);
        /* a new snapshot older (100), newer (150) than the damaged one (120), or replacing it */
        uint64_t index = variant == 0 ? 100 : variant == 1 ? 150 : 120;
        struct storage_error err;
        cr_assert_eq(store_save_snapshot(store, index, 1, (const uint8_t *)"c", 1,
                                         (const uint8_t *)"new", 3, &err),
                     STORAGE_OK, "%s", err.message);
        cr_assert_leq(wal_first_index(store_wal(store)), 61, "the log reaches back to 60");
        store_close(store);
        if (variant == 2) { /* the file saved under the damaged one's name is kept and used */
            store = open_store(fs, "node", &recovery);
            cr_assert_eq(recovery.snapshot.meta.index, 120);
            cr_assert_eq(recovery.snapshot_report.damaged, 0);
            snap_loaded_free(&recovery.snapshot);
            store_close(store);
        } else {
            struct fs_file *file = NULL;
            cr_assert_eq(fs_open(fs, damaged, FS_OPEN_READ_ONLY, &file), FS_ENOENT,
                         "the damaged snapshot was removed");
        }
        char fresh[FS_PATH_BYTES_MAX];
        snprintf(fresh, sizeof(fresh), "node/snap-%016llx-0000000000000001.snap",
                 (unsigned long long)index);
        cr_assert_eq(sim_fs_corrupt(sfs, fresh, 70, 1), FS_OK);
        store = open_store(fs, "node", &recovery);
        cr_assert_eq(recovery.snapshot.meta.index, 60, "still one usable snapshot to fall to");
        cr_assert_eq(recovery.first_index, 61);
        snap_loaded_free(&recovery.snapshot);
        store_close(store);
        sim_fs_destroy(sfs);
    }
}

/* Bad input: a snapshot at index 2^64 - 1 would make the log start at index 0 (which asserts):
 * it cannot be written, and a file named so is foreign (row X1), refused without a crash. */
Test(store, snapshot_at_the_largest_index_is_refused)
{
    struct prng prng;
    prng_seed(&prng, 5);
    struct sim_fs *sfs = test_sim_fs_new(&prng);
    struct fs *fs = sim_fs_fs(sfs);
    struct store_recovery recovery;
    store_close(open_store(fs, "node", &recovery));
    struct storage_error err;
    cr_assert_eq(snap_save(fs, "node", UINT64_MAX, 1, NULL, 0, (const uint8_t *)"s", 1, &err),
                 STORAGE_ELIMIT);
    const char *path = "node/snap-ffffffffffffffff-0000000000000001.snap";
    test_write_file(fs, path, "not loaded", 10);
    struct store_config config;
    config_small(&config);
    struct store *store = NULL;
    cr_assert_eq(store_open(fs, "node", &config, 0, &store, &recovery, &err), STORAGE_EFORMAT, "%s",
                 err.message);
    cr_assert_str_eq(err.path, path);
    sim_fs_destroy(sfs);
}

/* Invariant: a node's own snapshot must carry the term its log has at that index; a mismatch (a
 * caller bug) is refused with nothing written, since on the next start it would look like an
 * installed snapshot of another history (row X3) and the whole log after it would be discarded. */
Test(store, own_snapshot_with_another_term_is_refused)
{
    struct prng prng;
    prng_seed(&prng, 5);
    struct sim_fs *sfs = test_sim_fs_new(&prng);
    struct fs *fs = sim_fs_fs(sfs);
    struct store_recovery recovery;
    struct store *store = open_store(fs, "node", &recovery);
    append(store, 1, 20, 1);
    append(store, 21, 10, 2);
    uint64_t digest = sim_fs_digest(sfs);
    struct storage_error err;
    cr_assert_eq(store_save_snapshot(store, 10, 2, NULL, 0, (const uint8_t *)"s", 1, &err),
                 STORAGE_EINVAL, "%s", err.message);
    cr_assert(strstr(err.message, "term") != NULL, "%s", err.message);
    cr_assert_eq(sim_fs_digest(sfs), digest, "nothing written");
    cr_assert_eq(store_save_snapshot(store, 25, 2, NULL, 0, (const uint8_t *)"s", 1, &err),
                 STORAGE_OK, "%s", err.message);
    store_close(store);
    store = open_store(fs, "node", &recovery);
    cr_assert_not(recovery.wal_discarded);
    cr_assert_eq(recovery.last_index, 30);
    snap_loaded_free(&recovery.snapshot);
    store_close(store);
    sim_fs_destroy(sfs);
}

/* Invariant: installing a leader's snapshot keeps a matching log suffix (§7) and otherwise
 * restarts the log after it. */
Test(store, install_snapshot_keeps_or_discards_log)
{
    struct prng prng;
    prng_seed(&prng, 5);
    struct sim_fs *sfs = test_sim_fs_new(&prng);
    struct fs *fs = sim_fs_fs(sfs);
    struct store_recovery recovery;
    struct store *store = open_store(fs, "node", &recovery);
    append(store, 1, 50, 2);
    struct storage_error err;
    cr_assert_eq(store_install_snapshot(store, 30, 2, NULL, 0, (const uint8_t *)"a", 1, &err),
                 STORAGE_OK, "%s", err.message);
    cr_assert_eq(wal_last_index(store_wal(store)), 50, "matching entry: suffix kept");
    cr_assert_eq(store_install_snapshot(store, 40, 9, NULL, 0, (const uint8_t *)"b", 1, &err),
                 STORAGE_OK);
    cr_assert_eq(wal_first_index(store_wal(store)), 41, "conflicting term: log discarded");
    cr_assert_eq(wal_last_index(store_wal(store)), 40);
    cr_assert_eq(store_truncate_suffix(store, 40, &err), STORAGE_EINVAL, "below the snapshot");
    store_close(store);
    store = open_store(fs, "node", &recovery);
    cr_assert_eq(recovery.snapshot.meta.index, 40);
    cr_assert_eq(recovery.first_index, 41);
    snap_loaded_free(&recovery.snapshot);
    store_close(store);
    sim_fs_destroy(sfs);
}

/* A chooser that decides every pending operation is lost at a crash. */
static uint64_t choose_lost(void *ctx, enum sim_fs_choice kind, uint64_t n)
{
    (void)ctx;
    (void)kind;
    (void)n;
    return 0;
}

/* Runs a fixed workload until the power cut armed by the caller stops it. */
static void durable_workload(struct fs *fs)
{
    struct store_config config;
    config_small(&config);
    config.wal.segment_size_bytes_max = 1024;
    struct store *store = NULL;
    struct store_recovery recovery;
    struct storage_error err;
    if (store_open(fs, "node", &config, STORE_OPEN_CREATE, &store, &recovery, &err) != STORAGE_OK) {
        return;
    }
    snap_loaded_free(&recovery.snapshot);
    struct wal_entry entry = { .term = 1, .type = 1, .data_len = 100 };
    static const uint8_t data[100];
    entry.data = data;
    int rc = STORAGE_OK;
    for (uint64_t i = 1; rc == STORAGE_OK && i <= 24; i++) {
        entry.index = i;
        rc = store_append(store, &entry, 1, &err);
        if (rc == STORAGE_OK && i % 8 == 0) {
            rc = store_save_hard_state(store, &(struct hardstate){ i / 8, i % 3, i - 2 }, &err);
        }
        if (rc == STORAGE_OK && i == 12) {
            rc = store_save_snapshot(store, 10, 1, NULL, 0, data, 10, &err);
        }
    }
    store_close(store);
}

/* Invariant (G4): whatever store_open reports is durable. A process killed anywhere (the machine
 * keeps running, so its unsynced writes and directory entries are still in the page cache) is
 * restarted; the entries, hard state and snapshot recovery reports, and an entry appended after it,
 * must all survive a power loss that drops every operation that was never synced. */
Test(store, recovery_reports_only_durable_state_after_a_process_crash)
{
    struct store_config config;
    config_small(&config);
    config.wal.segment_size_bytes_max = 1024;
    uint64_t cuts = 0;
    for (uint64_t cut = 0;; cut++) {
        struct sim_fs_config fs_config;
        sim_fs_config_default(&fs_config);
        fs_config.choose = choose_lost;
        struct sim_fs *sfs = sim_fs_create(&fs_config);
        struct fs *fs = sim_fs_fs(sfs);
        sim_fs_power_cut_after(sfs, cut);
        durable_workload(fs);
        bool was_cut = !sim_fs_powered(sfs);
        sim_fs_process_crash(sfs);
        struct store *store = NULL;
        struct store_recovery seen;
        struct storage_error err;
        cr_assert_eq(store_open(fs, "node", &config, STORE_OPEN_CREATE, &store, &seen, &err),
                     STORAGE_OK, "cut %llu: %s", (unsigned long long)cut, err.message);
        struct wal_entry entry = { .index = seen.last_index + 1, .term = 1, .type = 1 };
        cr_assert_eq(store_append(store, &entry, 1, &err), STORAGE_OK, "%s", err.message);
        store_close(store);
        sim_fs_crash(sfs); /* every pending operation lost */
        struct store_recovery after;
        cr_assert_eq(store_open(fs, "node", &config, 0, &store, &after, &err), STORAGE_OK,
                     "cut %llu: %s", (unsigned long long)cut, err.message);
        cr_assert_geq(after.last_index, seen.last_index + 1,
                      "cut %llu: reported log end %llu, after a power loss %llu",
                      (unsigned long long)cut, (unsigned long long)seen.last_index + 1,
                      (unsigned long long)after.last_index);
        cr_assert(
            after.hard_state.term == seen.hard_state.term &&
                after.hard_state.vote == seen.hard_state.vote &&
                after.hard_state.commit == seen.hard_state.commit,
            "cut %llu: reported hard state {%llu,%llu,%llu} became {%llu,%llu,%llu}",
            (unsigned long long)cut, (unsigned long long)seen.hard_state.term,
            (unsigned long long)seen.hard_state.vote, (unsigned long long)seen.hard_state.commit,
            (unsigned long long)after.hard_state.term, (unsigned long long)after.hard_state.vote,
            (unsigned long long)after.hard_state.commit);
        cr_assert_eq(after.snapshot.found, seen.snapshot.found, "cut %llu: snapshot vanished",
                     (unsigned long long)cut);
        snap_loaded_free(&seen.snapshot);
        snap_loaded_free(&after.snapshot);
        store_close(store);
        sim_fs_destroy(sfs);
        if (!was_cut) {
            break; /* the workload ran to its end: every point was cut once */
        }
        cuts++;
    }
    cr_assert_gt(cuts, 100, "the workload has many crash points");
}
