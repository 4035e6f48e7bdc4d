/* Tests for storage/snap: the load decision table, atomic saves under crashes, pruning. */
#include "storage/snap.h"

#include "core/hash.h"
#include "core/bytes.h"
#include "tests/storage/helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define DIR "s"

struct env {
    struct prng prng;
    struct sim_fs *sfs;
    struct fs *fs;
};

static void env_init(struct env *env, uint64_t seed)
{
    prng_seed(&env->prng, seed);
    env->sfs = test_sim_fs_new(&env->prng);
    env->fs = sim_fs_fs(env->sfs);
    cr_assert_eq(fs_mkdir(env->fs, DIR), FS_OK);
    cr_assert_eq(fs_sync_dir(env->fs, "/"), FS_OK);
}

/* Snapshot `index` holds config "cfg<index>" and 3000 bytes derived from index. */
static void fill(uint64_t index, uint8_t *data, char *config)
{
    for (int i = 0; i < 3000; i++) {
        data[i] = (uint8_t)(index * 13 + (uint64_t)i);
    }
    snprintf(config, 16, "cfg%llu", (unsigned long long)index);
}

static int save_snap(struct env *env, uint64_t index, uint64_t term)
{
    static uint8_t data[3000];
    char config[16];
    fill(index, data, config);
    struct storage_error err;
    return snap_save(env->fs, DIR, index, term, (const uint8_t *)config, strlen(config), data,
                     sizeof(data), &err);
}

static void check_loaded(const struct snap_loaded *loaded, uint64_t index, uint64_t term)
{
    static uint8_t data[3000];
    char config[16];
    fill(index, data, config);
    cr_assert(loaded->found);
    cr_assert_eq(loaded->meta.index, index);
    cr_assert_eq(loaded->meta.term, term);
    cr_assert_eq(loaded->meta.config_len, strlen(config));
    cr_assert_eq(memcmp(loaded->config, config, strlen(config)), 0);
    cr_assert_eq(loaded->meta.data_len, sizeof(data));
    cr_assert_eq(memcmp(loaded->data, data, sizeof(data)), 0);
}

static void snap_path(uint64_t index, uint64_t term, char *out)
{
    snprintf(out, FS_PATH_BYTES_MAX, DIR "/snap-%016llx-%016llx.snap", (unsigned long long)index,
             (unsigned long long)term);
}

/* Row P1: no snapshot file: none found. */
Test(snap, load_P1_none)
{
    struct env env;
    env_init(&env, 1);
    struct snap_loaded loaded;
    struct storage_error err;
    cr_assert_eq(snap_load_newest(env.fs, DIR, UINT64_MAX, &loaded, NULL, &err), STORAGE_OK);
    cr_assert_not(loaded.found);
    sim_fs_destroy(env.sfs);
}

/* Row P2: the newest valid snapshot (by index, then term) is loaded with its config and data. */
Test(snap, load_P2_newest_valid_wins)
{
    struct env env;
    env_init(&env, 1);
    cr_assert_eq(save_snap(&env, 10, 1), STORAGE_OK);
    cr_assert_eq(save_snap(&env, 30, 2), STORAGE_OK);
    cr_assert_eq(save_snap(&env, 20, 2), STORAGE_OK);
    struct snap_loaded loaded;
    struct snap_recovery recovery;
    struct storage_error err;
    cr_assert_eq(snap_load_newest(env.fs, DIR, UINT64_MAX, &loaded, &recovery, &err), STORAGE_OK);
    check_loaded(&loaded, 30, 2);
    cr_assert_eq(recovery.files, 3);
    snap_loaded_free(&loaded);
    cr_assert_eq(snap_load_newest(env.fs, DIR, 25, &loaded, &recovery, &err), STORAGE_OK);
    check_loaded(&loaded, 20, 2);
    snap_loaded_free(&loaded);
    sim_fs_destroy(env.sfs);
}

/* Row P3: a damaged newest snapshot (data, header, size, name) is reported and never loaded;
 * the next newest valid one is. */
Test(snap, load_P3_damaged_snapshot_reported_never_loaded)
{
    for (int damage = 0; damage < 4; damage++) {
        struct env env;
        env_init(&env, 1);
        cr_assert_eq(save_snap(&env, 10, 1), STORAGE_OK);
        cr_assert_eq(save_snap(&env, 20, 1), STORAGE_OK);
        char path[FS_PATH_BYTES_MAX];
        snap_path(20, 1, path);
        if (damage == 0) {
            cr_assert_eq(sim_fs_corrupt(env.sfs, path, 1000, 0x40), FS_OK); /* data */
        } else if (damage == 1) {
            cr_assert_eq(sim_fs_corrupt(env.sfs, path, 33, 0x01), FS_OK); /* header length */
        } else if (damage == 2) {
            struct fs_file *file = NULL;
            cr_assert_eq(fs_open(env.fs, path, 0, &file), FS_OK); /* truncated */
            cr_assert_eq(fs_truncate(file, 2000), FS_OK);
            fs_close(file);
        } else {
            char other[FS_PATH_BYTES_MAX];
            snap_path(25, 1, other); /* renamed: name and header disagree */
            cr_assert_eq(fs_rename(env.fs, path, other), FS_OK);
            snprintf(path, sizeof(path), "%s", other);
        }
        uint64_t digest = sim_fs_digest(env.sfs);
        struct snap_loaded loaded;
        struct snap_recovery recovery;
        struct storage_error err;
        cr_assert_eq(snap_load_newest(env.fs, DIR, UINT64_MAX, &loaded, &recovery, &err),
                     STORAGE_OK);
        check_loaded(&loaded, 10, 1);
        cr_assert_eq(recovery.damaged, 1, "damage %d", damage);
        cr_assert_str_eq(recovery.damaged_paths[0], path);
        cr_assert_eq(sim_fs_digest(env.sfs), digest, "loading modifies nothing");
        snap_loaded_free(&loaded);
        sim_fs_destroy(env.sfs);
    }
}

/* Row P4: a snapshot of another format version (or a foreign file so named) is refused. */
Test(snap, load_P4_other_version_or_foreign_refused)
{
    struct env env;
    env_init(&env, 1);
    cr_assert_eq(save_snap(&env, 10, 1), STORAGE_OK);
    char path[FS_PATH_BYTES_MAX];
    snap_path(10, 1, path);
    uint8_t header[SNAP_HEADER_BYTES];
    test_read_file(env.fs, path, header, sizeof(header));
    bytes_put_u32(header + 8, 2);
    bytes_put_u64(header + 56, hash_bytes(header, 56, 0x46525350484452ULL));
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(env.fs, path, 0, &file), FS_OK);
    cr_assert_eq(fs_write(file, 0, header, sizeof(header)), FS_OK);
    fs_close(file);
    struct snap_loaded loaded;
    struct storage_error err;
    int rc = snap_load_newest(env.fs, DIR, UINT64_MAX, &loaded, NULL, &err);
    cr_assert_eq(rc, STORAGE_EFORMAT, "%d %s", rc, err.message);
    cr_assert_str_eq(err.path, path);
    test_write_file(env.fs, path, "hello, not a snapshot at all........................", 50);
    cr_assert_eq(snap_load_newest(env.fs, DIR, UINT64_MAX, &loaded, NULL, &err), STORAGE_EFORMAT);
    cr_assert(strstr(err.message, "magic") != NULL, "%s", err.message);
    sim_fs_destroy(env.sfs);
}

/* Row P5 and pruning: temp files are ignored by loading and removed by pruning, which keeps the
 * newest `keep` snapshots. */
Test(snap, load_P5_temps_ignored_prune_keeps_newest)
{
    struct env env;
    env_init(&env, 1);
    for (uint64_t i = 1; i <= 5; i++) {
        cr_assert_eq(save_snap(&env, i * 10, 1), STORAGE_OK);
    }
    test_write_file(env.fs, DIR "/snap-0000000000000064-0000000000000001.snap.tmp", "x", 1);
    struct snap_loaded loaded;
    struct snap_recovery recovery;
    struct storage_error err;
    cr_assert_eq(snap_load_newest(env.fs, DIR, UINT64_MAX, &loaded, &recovery, &err), STORAGE_OK);
    check_loaded(&loaded, 50, 1);
    cr_assert_eq(recovery.temp_files, 1);
    snap_loaded_free(&loaded);
    cr_assert_eq(snap_prune(env.fs, DIR, 2, NULL, 0, &err), STORAGE_OK);
    cr_assert_eq(snap_load_newest(env.fs, DIR, UINT64_MAX, &loaded, &recovery, &err), STORAGE_OK);
    cr_assert_eq(recovery.files, 2);
    cr_assert_eq(recovery.temp_files, 0);
    snap_loaded_free(&loaded);
    cr_assert_eq(snap_load_newest(env.fs, DIR, 35, &loaded, &recovery, &err), STORAGE_OK);
    cr_assert_not(loaded.found, "older snapshots were pruned");
    sim_fs_destroy(env.sfs);
}

/* Invariant: a crash at any point of a save leaves the previous snapshot or the new one loadable,
 * never a partial one; once the save returned, the new one survives. */
Test(snap, crash_at_every_point_of_a_save)
{
    int saw[2] = { 0, 0 };
    for (uint64_t seed = 0; seed < 40; seed++) {
        for (uint64_t cut = 0; cut < 12; cut++) {
            struct env env;
            env_init(&env, seed * 100 + cut);
            cr_assert_eq(save_snap(&env, 10, 1), STORAGE_OK);
            sim_fs_power_cut_after(env.sfs, cut);
            int rc = save_snap(&env, 20, 2);
            sim_fs_crash(env.sfs);
            struct snap_loaded loaded;
            struct snap_recovery recovery;
            struct storage_error err;
            cr_assert_eq(snap_load_newest(env.fs, DIR, UINT64_MAX, &loaded, &recovery, &err),
                         STORAGE_OK, "%s", err.message);
            cr_assert_eq(recovery.damaged, 0, "a rename never exposes a partial snapshot");
            if (loaded.meta.index == 20) {
                check_loaded(&loaded, 20, 2);
                saw[1]++;
            } else {
                cr_assert(rc != STORAGE_OK, "an acknowledged snapshot was lost");
                check_loaded(&loaded, 10, 1);
                saw[0]++;
            }
            snap_loaded_free(&loaded);
            sim_fs_destroy(env.sfs);
        }
    }
    cr_assert(saw[0] > 0 && saw[1] > 0);
}
