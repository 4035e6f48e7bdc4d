/* Tests for sim/sim_fs: the crash model, power cuts, injected errors, bit flips, bounds. */
#include "sim/sim_fs.h"

#include "tests/storage/helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* A scripted chooser: returns the listed values in turn (0 once they run out), recording kinds. */
struct script {
    uint64_t values[32];
    int count;
    int next;
    int calls;
    enum sim_fs_choice kinds[64];
};

static uint64_t script_choose(void *ctx, enum sim_fs_choice kind, uint64_t n)
{
    struct script *s = ctx;
    if (s->calls < 64) {
        s->kinds[s->calls] = kind;
    }
    s->calls++;
    uint64_t v = s->next < s->count ? s->values[s->next++] : 0;
    cr_assert(v < n, "scripted value %llu out of range %llu", (unsigned long long)v,
              (unsigned long long)n);
    return v;
}

static struct sim_fs *scripted_fs(struct script *s)
{
    struct sim_fs_config config;
    sim_fs_config_default(&config);
    config.choose = script_choose;
    config.choose_ctx = s;
    struct sim_fs *sfs = sim_fs_create(&config);
    cr_assert_not_null(sfs);
    return sfs;
}

static struct fs_file *open_file(struct fs *fs, const char *path, unsigned flags)
{
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(fs, path, flags, &file), FS_OK, "open %s", path);
    return file;
}

static uint64_t file_size(struct fs *fs, const char *path)
{
    struct fs_file *file = NULL;
    if (fs_open(fs, path, FS_OPEN_READ_ONLY, &file) != FS_OK) {
        return UINT64_MAX; /* missing */
    }
    uint64_t size = 0;
    cr_assert_eq(fs_size(file, &size), FS_OK);
    fs_close(file);
    return size;
}

/* A durable file "f" holding 1024 bytes of 'a' (created, synced, directory synced). */
static void make_durable(struct fs *fs)
{
    uint8_t data[1024];
    memset(data, 'a', sizeof(data));
    test_write_file(fs, "f", data, sizeof(data));
    cr_assert_eq(fs_sync_dir(fs, "/"), FS_OK);
}

static void append_at(struct fs *fs, uint64_t offset, uint64_t len)
{
    uint8_t data[2048];
    memset(data, 'b', sizeof(data));
    struct fs_file *file = open_file(fs, "f", 0);
    cr_assert_eq(fs_write(file, offset, data, len), FS_OK);
    fs_close(file);
}

static void append_b(struct fs *fs, uint64_t len)
{
    append_at(fs, 1024, len);
}

/* Invariant: an unsynced write resolved as lost leaves the synced contents exactly. */
Test(sim_fs, crash_unsynced_write_lost)
{
    struct script s = { .values = { 0 }, .count = 1 };
    struct sim_fs *sfs = scripted_fs(&s);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    append_b(fs, 1024);
    cr_assert_eq(file_size(fs, "f"), 2048, "reads see unsynced data");
    sim_fs_crash(sfs);
    cr_assert_eq(file_size(fs, "f"), 1024);
    cr_assert_eq(sim_fs_stats(sfs)->writes_lost, 1);
    cr_assert_eq(s.kinds[0], SIM_FS_CHOICE_WRITE_FATE);
    sim_fs_destroy(sfs);
}

/* Invariant: a lost write past the end of file may still have grown the size: the file then
 * reads zeros where the data would have been (some file systems after a crash). */
Test(sim_fs, crash_lost_extending_write_may_leave_zeros)
{
    struct script s = { .values = { 0, 1 }, .count = 2 }; /* fate lost, then the size grew */
    struct sim_fs *sfs = scripted_fs(&s);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    append_b(fs, 1024);
    sim_fs_crash(sfs);
    uint8_t buf[2048];
    cr_assert_eq(test_read_file(fs, "f", buf, sizeof(buf)), 2048);
    cr_assert_eq(buf[1023], 'a');
    cr_assert_eq(buf[1024], 0);
    cr_assert_eq(buf[2047], 0);
    cr_assert_eq(sim_fs_stats(sfs)->writes_lost, 1);
    cr_assert_eq(s.kinds[1], SIM_FS_CHOICE_TORN_TAIL);
    sim_fs_destroy(sfs);
}

/* Invariant: an unsynced write resolved as applied survives whole. */
Test(sim_fs, crash_unsynced_write_kept)
{
    struct script s = { .values = { 1 }, .count = 1 };
    struct sim_fs *sfs = scripted_fs(&s);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    append_b(fs, 1024);
    sim_fs_crash(sfs);
    uint8_t buf[2048];
    cr_assert_eq(test_read_file(fs, "f", buf, sizeof(buf)), 2048);
    cr_assert_eq(buf[2047], 'b');
    cr_assert_eq(sim_fs_stats(sfs)->writes_kept, 1);
    sim_fs_destroy(sfs);
}

/* Invariant: a torn write keeps the sectors before a sector-aligned cut; after the cut the file
 * either ends or (tail mode 1) reads zeros up to the write's end. */
Test(sim_fs, crash_torn_write_cut_and_zero_tail)
{
    for (uint64_t tail = 0; tail < 2; tail++) {
        /* fate torn (2), cut at the first boundary inside [1024, 2048): 1536, then tail mode */
        struct script s = { .values = { 2, 0, tail }, .count = 3 };
        struct sim_fs *sfs = scripted_fs(&s);
        struct fs *fs = sim_fs_fs(sfs);
        make_durable(fs);
        append_b(fs, 1024);
        sim_fs_crash(sfs);
        uint8_t buf[2048];
        uint64_t size = test_read_file(fs, "f", buf, sizeof(buf));
        cr_assert_eq(size, tail ? 2048 : 1536);
        cr_assert_eq(buf[1535], 'b');
        if (tail) {
            cr_assert_eq(buf[1536], 0);
            cr_assert_eq(buf[2047], 0);
        }
        cr_assert_eq(sim_fs_stats(sfs)->writes_torn, 1);
        sim_fs_destroy(sfs);
    }
}

/* Invariant: a write inside one sector cannot tear (only lost or applied are drawn). */
Test(sim_fs, crash_write_within_one_sector_is_atomic)
{
    struct script s = { .values = { 1 }, .count = 1 };
    struct sim_fs *sfs = scripted_fs(&s);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    append_b(fs, 100);
    sim_fs_crash(sfs);
    cr_assert_eq(file_size(fs, "f"), 1124);
    sim_fs_destroy(sfs);
}

/* Invariant: synced data of a durably linked file survives every crash outcome. */
Test(sim_fs, synced_data_survives_any_crash)
{
    for (uint64_t seed = 0; seed < 200; seed++) {
        struct prng prng;
        prng_seed(&prng, seed);
        struct sim_fs *sfs = test_sim_fs_new(&prng);
        struct fs *fs = sim_fs_fs(sfs);
        make_durable(fs);
        append_b(fs, 1500);                                     /* unsynced, may go any way */
        struct fs_file *g = open_file(fs, "g", FS_OPEN_CREATE); /* not durable in "/" */
        fs_write(g, 0, "gg", 2);
        fs_sync(g);
        fs_close(g);
        sim_fs_crash(sfs);
        uint8_t buf[4096];
        uint64_t size = test_read_file(fs, "f", buf, sizeof(buf));
        cr_assert(size >= 1024, "seed %llu", (unsigned long long)seed);
        for (int i = 0; i < 1024; i++) {
            cr_assert_eq(buf[i], 'a');
        }
        for (uint64_t i = 1024; i < size; i++) {
            cr_assert(buf[i] == 'b' || buf[i] == 0);
        }
        uint64_t g_size = file_size(fs, "g");
        cr_assert(g_size == UINT64_MAX || g_size == 2, "g vanishes or keeps its synced data");
        sim_fs_destroy(sfs);
    }
}

/* Invariant: rename is atomic: after a crash the target holds the old or the new file, whole. */
Test(sim_fs, rename_is_atomic_across_crashes)
{
    int saw_old = 0;
    int saw_new = 0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        struct prng prng;
        prng_seed(&prng, seed);
        struct sim_fs *sfs = test_sim_fs_new(&prng);
        struct fs *fs = sim_fs_fs(sfs);
        test_write_file(fs, "target", "old", 3);
        cr_assert_eq(fs_sync_dir(fs, "/"), FS_OK);
        test_write_file(fs, "temp", "new!", 4);
        cr_assert_eq(fs_rename(fs, "temp", "target"), FS_OK);
        sim_fs_crash(sfs);
        char buf[8] = { 0 };
        uint64_t size = test_read_file(fs, "target", buf, sizeof(buf));
        if (size == 3) {
            cr_assert_eq(memcmp(buf, "old", 3), 0);
            saw_old++;
        } else {
            cr_assert_eq(size, 4);
            cr_assert_eq(memcmp(buf, "new!", 4), 0);
            saw_new++;
        }
        sim_fs_destroy(sfs);
    }
    cr_assert(saw_old > 0 && saw_new > 0, "both outcomes occur");
}

/* Invariant: sync_dir makes creations durable; without it a crash may drop them, and a file in a
 * directory whose own entry was lost vanishes with it. */
Test(sim_fs, directory_entries_need_sync_dir)
{
    struct script s = { .values = { 0, 0, 0, 0 }, .count = 4 }; /* every pending op lost */
    struct sim_fs *sfs = scripted_fs(&s);
    struct fs *fs = sim_fs_fs(sfs);
    cr_assert_eq(fs_mkdir(fs, "d"), FS_OK);
    test_write_file(fs, "d/kept", "k", 1);
    cr_assert_eq(fs_sync_dir(fs, "d"), FS_OK); /* "d/kept" durable in d, but d not in "/" */
    test_write_file(fs, "lost", "l", 1);
    sim_fs_crash(sfs);
    cr_assert_eq(file_size(fs, "lost"), UINT64_MAX);
    cr_assert_eq(file_size(fs, "d/kept"), UINT64_MAX, "unreachable once d's entry was lost");
    cr_assert(sim_fs_stats(sfs)->dir_ops_lost >= 2);
    sim_fs_destroy(sfs);

    struct script s2 = { .count = 0 };
    sfs = scripted_fs(&s2);
    fs = sim_fs_fs(sfs);
    cr_assert_eq(fs_mkdir(fs, "d"), FS_OK);
    cr_assert_eq(fs_sync_dir(fs, "/"), FS_OK);
    test_write_file(fs, "d/kept", "k", 1);
    cr_assert_eq(fs_sync_dir(fs, "d"), FS_OK);
    sim_fs_crash(sfs);
    cr_assert_eq(file_size(fs, "d/kept"), 1);
    cr_assert_eq(s2.calls, 0, "nothing pending, nothing drawn");
    sim_fs_destroy(sfs);
}

/* Invariant: after a power cut the cut call and every later call fail with FS_EPOWER until the
 * crash is resolved; the cut write becomes pending and may land. */
Test(sim_fs, power_cut_after_n_operations)
{
    struct script s = { .values = { 1 }, .count = 1 };
    struct sim_fs *sfs = scripted_fs(&s);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    struct fs_file *file = open_file(fs, "f", 0);
    sim_fs_power_cut_after(sfs, 1);
    cr_assert_eq(fs_write(file, 1024, "x", 1), FS_OK, "one more call runs");
    cr_assert_eq(fs_write(file, 1025, "y", 1), FS_EPOWER, "the second is cut");
    cr_assert_not(sim_fs_powered(sfs));
    cr_assert_eq(fs_sync(file), FS_EPOWER);
    cr_assert_eq(fs_sync_dir(fs, "/"), FS_EPOWER);
    cr_assert_eq(sim_fs_stats(sfs)->power_cuts, 1);
    fs_close(file);
    sim_fs_crash(sfs); /* fates: write x -> applied (1), write y -> lost (0, script exhausted) */
    cr_assert(sim_fs_powered(sfs));
    cr_assert_eq(file_size(fs, "f"), 1025);
    sim_fs_destroy(sfs);
}

/* Invariant: handles opened before a crash are stale; closing them still frees them. */
Test(sim_fs, handles_are_stale_after_crash)
{
    struct script s = { .count = 0 };
    struct sim_fs *sfs = scripted_fs(&s);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    struct fs_file *file = open_file(fs, "f", 0);
    sim_fs_crash(sfs);
    char c;
    size_t got;
    cr_assert_eq(fs_read(file, 0, &c, 1, &got), FS_ESTALE);
    cr_assert_eq(fs_close(file), FS_OK);
    sim_fs_destroy(sfs);
}

/* Invariant: a process crash (the machine keeps running) kills the handles and nothing else:
 * pending writes and directory entries stay visible and pending, so a sync by the restarted
 * process makes them durable, while without one a power loss can still drop them. */
Test(sim_fs, process_crash_keeps_pending_operations_pending)
{
    for (int synced_after = 0; synced_after < 2; synced_after++) {
        struct script s = { .count = 0 }; /* every fate 0: lost */
        struct sim_fs *sfs = scripted_fs(&s);
        struct fs *fs = sim_fs_fs(sfs);
        make_durable(fs);
        struct fs_file *file = open_file(fs, "f", 0);
        cr_assert_eq(fs_write(file, 1024, "x", 1), FS_OK);
        sim_fs_power_cut_after(sfs, 0);
        cr_assert_eq(fs_mkdir(fs, "d"), FS_EPOWER, "the cut call is issued, then the process dies");
        sim_fs_process_crash(sfs);
        cr_assert(sim_fs_powered(sfs));
        char c;
        size_t got;
        cr_assert_eq(fs_read(file, 0, &c, 1, &got), FS_ESTALE);
        cr_assert_eq(fs_close(file), FS_OK);
        cr_assert_eq(sim_fs_pending_count(sfs), 2, "the write and the mkdir are still pending");
        cr_assert_eq(file_size(fs, "f"), 1025, "reads show the unsynced write");
        cr_assert_eq(fs_mkdir(fs, "d"), FS_EEXIST, "and the unsynced directory");
        if (synced_after) {
            file = open_file(fs, "f", 0);
            cr_assert_eq(fs_sync(file), FS_OK);
            fs_close(file);
            cr_assert_eq(fs_sync_dir(fs, "/"), FS_OK);
        }
        sim_fs_crash(sfs);
        cr_assert_eq(file_size(fs, "f"), synced_after ? 1025 : 1024);
        cr_assert_eq(fs_mkdir(fs, "d"), synced_after ? FS_EEXIST : FS_OK);
        cr_assert_eq(sim_fs_stats(sfs)->process_crashes, 1);
        sim_fs_destroy(sfs);
    }
}

/* Invariant: injected errors happen at their rate; a zero rate draws nothing from the chooser. */
Test(sim_fs, injected_errors_and_zero_rates_draw_nothing)
{
    struct script s = { .count = 0 };
    struct sim_fs *sfs = scripted_fs(&s);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    cr_assert_eq(s.calls, 0);
    sim_fs_set_error_rates(sfs, SIM_FS_PPM, SIM_FS_PPM, 0);
    struct fs_file *file = open_file(fs, "f", 0);
    char c;
    size_t got;
    cr_assert_eq(fs_read(file, 0, &c, 1, &got), FS_EIO);
    cr_assert_eq(fs_write(file, 0, "z", 1), FS_EIO);
    cr_assert_eq(fs->error.status, FS_EIO);
    cr_assert_str_eq(fs->error.op, "write");
    cr_assert_eq(fs_sync(file), FS_OK);
    cr_assert_eq(sim_fs_stats(sfs)->read_errors, 1);
    cr_assert_eq(sim_fs_stats(sfs)->write_errors, 1);
    cr_assert_eq(sim_fs_pending_count(sfs), 0, "a failed write changes nothing");
    fs_close(file);
    sim_fs_destroy(sfs);
}

/* Invariant: a failed sync resolves the file's pending writes like a crash while reads still see
 * them (Linux fsync semantics); a later crash shows what really reached the disk. */
Test(sim_fs, sync_error_drops_pending_writes_but_reads_still_see_them)
{
    struct script s = { .values = { 0, 0 }, .count = 2 }; /* sync error draw: 0 < ppm; fate lost */
    struct sim_fs *sfs = scripted_fs(&s);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    sim_fs_set_error_rates(sfs, 0, 0, SIM_FS_PPM);
    struct fs_file *file = open_file(fs, "f", 0);
    cr_assert_eq(fs_write(file, 1024, "x", 1), FS_OK);
    cr_assert_eq(fs_sync(file), FS_EIO);
    cr_assert_eq(file_size(fs, "f"), 1025, "the page cache still shows the write");
    cr_assert_eq(sim_fs_pending_count(sfs), 0);
    fs_close(file);
    sim_fs_crash(sfs);
    cr_assert_eq(file_size(fs, "f"), 1024, "but it never reached the disk");
    cr_assert_eq(sim_fs_stats(sfs)->sync_errors, 1);
    sim_fs_destroy(sfs);
}

/* Invariant: bit flips change exactly the chosen bit, at rest, and are counted. */
Test(sim_fs, bit_flips_at_rest)
{
    struct prng prng;
    prng_seed(&prng, 7);
    struct sim_fs *sfs = test_sim_fs_new(&prng);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    cr_assert_eq(sim_fs_corrupt(sfs, "f", 10, 0x01), FS_OK);
    uint8_t buf[1024];
    test_read_file(fs, "f", buf, sizeof(buf));
    cr_assert_eq(buf[10], 'a' ^ 0x01);
    cr_assert_eq(sim_fs_corrupt(sfs, "f", 5000, 0x01), FS_EINVAL);
    cr_assert_eq(sim_fs_corrupt(sfs, "nope", 0, 0x01), FS_ENOENT);
    char path[FS_PATH_BYTES_MAX];
    uint64_t offset = 0;
    cr_assert_eq(sim_fs_corrupt_random(sfs, NULL, path, &offset), FS_OK);
    cr_assert_str_eq(path, "/f");
    cr_assert(offset < 1024);
    cr_assert_eq(sim_fs_corrupt_random(sfs, "other/", path, &offset), FS_ENOENT);
    sim_fs_crash(sfs);
    test_read_file(fs, "f", buf, sizeof(buf));
    cr_assert_eq(buf[10], 'a' ^ 0x01, "a flip at rest survives a crash");
    cr_assert_eq(sim_fs_stats(sfs)->bit_flips, 2);
    sim_fs_destroy(sfs);
}

/* Invariant: every bound gives a clear error and changes nothing. */
Test(sim_fs, bounds_fail_cleanly)
{
    struct prng prng;
    prng_seed(&prng, 3);
    struct sim_fs_config config;
    sim_fs_config_default(&config);
    config.choose = test_choose;
    config.choose_ctx = &prng;
    config.files_max = 3; /* root + 2 */
    config.file_size_bytes_max = 4096;
    config.pending_ops_max = 4;
    struct sim_fs *sfs = sim_fs_create(&config);
    struct fs *fs = sim_fs_fs(sfs);
    test_write_file(fs, "a", "a", 1);
    test_write_file(fs, "b", "b", 1);
    cr_assert_eq(fs_sync_dir(fs, "/"), FS_OK);
    uint64_t before = sim_fs_digest(sfs);
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(fs, "c", FS_OPEN_CREATE, &file), FS_ELIMIT, "files_max");
    file = open_file(fs, "a", 0);
    static uint8_t big[8192];
    cr_assert_eq(fs_write(file, 0, big, sizeof(big)), FS_ENOSPC, "file_size_bytes_max");
    cr_assert_eq(sim_fs_digest(sfs), before);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(fs_write(file, (uint64_t)i, "x", 1), FS_OK);
    }
    cr_assert_eq(fs_write(file, 4, "x", 1), FS_ELIMIT, "pending_ops_max");
    cr_assert_eq(fs_sync(file), FS_OK);
    cr_assert_eq(fs_write(file, 4, "x", 1), FS_OK, "a sync frees pending slots");
    fs_close(file);
    sim_fs_destroy(sfs);
    config.sector_size_bytes = 3;
    cr_assert_null(sim_fs_create(&config), "sector size must be a power of two");
}

static uint64_t run_workload(uint64_t seed, struct sim_fs_stats *stats)
{
    struct prng prng;
    prng_seed(&prng, seed);
    struct sim_fs *sfs = test_sim_fs_new(&prng);
    struct fs *fs = sim_fs_fs(sfs);
    make_durable(fs);
    for (int round = 0; round < 20; round++) {
        append_at(fs, 1024 + (uint64_t)round * 700, 700);
        test_write_file(fs, "t", "tt", 2);
        fs_rename(fs, "t", "u");
        if (round % 3 == 0) {
            sim_fs_crash(sfs);
        }
    }
    uint64_t digest = sim_fs_digest(sfs);
    *stats = *sim_fs_stats(sfs);
    sim_fs_destroy(sfs);
    return digest;
}

/* Invariant: same seed, same decisions, same final state (the simulator relies on it). */
Test(sim_fs, deterministic_for_a_seed)
{
    struct sim_fs_stats a;
    struct sim_fs_stats b;
    cr_assert_eq(run_workload(42, &a), run_workload(42, &b));
    cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
    cr_assert_neq(run_workload(42, &a), run_workload(43, &b));
}
