/* Tests for storage/store: directory classification, cross-checks, bad input left untouched. */
#include "storage/store.h"
#include "storage/wal_format.h"

#include "core/hash.h"
#include "storage/bytes.h"
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
Test(store, bad_input_posix_errors_name_file_and_touch_nothing)
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

/* Row X4 with a fallback: a damaged newest snapshot is reported and the older one used, the log
 * still reaching back to it. */
Test(store, cross_X4_damaged_newest_snapshot_falls_back)
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
