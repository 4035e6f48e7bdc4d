/* Tests for storage/wal: appends, truncation, prefix drops, and one test per recovery table row. */
#include "storage/wal.h"
#include "storage/wal_format.h"

#include "core/hash.h"
#include "core/bytes.h"
#include "tests/storage/helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIR "w"

struct env {
    struct prng prng;
    struct sim_fs *sfs;
    struct fs *fs;
    struct wal_config config;
};

static void env_init(struct env *env, uint64_t segment_size)
{
    prng_seed(&env->prng, 99);
    env->sfs = test_sim_fs_new(&env->prng);
    env->fs = sim_fs_fs(env->sfs);
    cr_assert_eq(fs_mkdir(env->fs, DIR), FS_OK);
    cr_assert_eq(fs_sync_dir(env->fs, "/"), FS_OK);
    wal_config_default(&env->config);
    env->config.segment_size_bytes_max = segment_size;
}

static void env_fini(struct env *env)
{
    sim_fs_destroy(env->sfs);
}

static struct wal *open_ready(struct env *env, uint64_t base, struct wal_recovery *recovery)
{
    struct wal *wal = NULL;
    struct storage_error err;
    int rc = wal_open(env->fs, DIR, &env->config, base, &wal, recovery, &err);
    cr_assert_eq(rc, STORAGE_OK, "wal_open: %s", err.message);
    cr_assert_eq(wal_repair(wal, &err), STORAGE_OK, "wal_repair: %s", err.message);
    return wal;
}

/* Payload of entry `index`: (index % 97) bytes derived from index and term. */
static uint32_t payload(uint64_t index, uint64_t term, uint8_t *out)
{
    uint32_t len = (uint32_t)(index % 97);
    for (uint32_t i = 0; i < len; i++) {
        out[i] = (uint8_t)(index * 31 + term * 7 + i);
    }
    return len;
}

static void append_range(struct wal *wal, uint64_t first, uint64_t count, uint64_t term)
{
    static uint8_t data[256][128];
    struct wal_entry entries[256];
    cr_assert(count <= 256);
    for (uint64_t i = 0; i < count; i++) {
        entries[i].index = first + i;
        entries[i].term = term;
        entries[i].type = (uint8_t)(i % 3);
        entries[i].data_len = payload(first + i, term, data[i]);
        entries[i].data = data[i];
    }
    struct storage_error err;
    cr_assert_eq(wal_append(wal, entries, count, &err), STORAGE_OK, "append: %s", err.message);
}

/* Checks that the log holds exactly [first, last] with the payloads of `term_of(index)`. */
static void check_log(struct wal *wal, uint64_t first, uint64_t last, uint64_t (*term_of)(uint64_t))
{
    cr_assert_eq(wal_last_index(wal), last);
    struct wal_iter *iter = NULL;
    struct storage_error err;
    cr_assert_eq(wal_iter_open(wal, first, &iter, &err), STORAGE_OK, "%s", err.message);
    struct wal_entry entry;
    uint64_t index = first;
    int rc;
    while ((rc = wal_iter_next(iter, &entry, &err)) == 1) {
        uint8_t expected[128];
        uint64_t term = term_of(index);
        uint32_t len = payload(index, term, expected);
        cr_assert_eq(entry.index, index);
        cr_assert_eq(entry.term, term, "term of %llu", (unsigned long long)index);
        cr_assert_eq(entry.data_len, len);
        cr_assert(len == 0 || memcmp(entry.data, expected, len) == 0);
        index++;
    }
    cr_assert_eq(rc, 0, "iteration error: %s", err.message);
    cr_assert_eq(index, last + 1);
    wal_iter_close(iter);
}

static uint64_t term_one(uint64_t index)
{
    (void)index;
    return 1;
}

static void segment_path(uint64_t first_index, char *out)
{
    char name[FS_NAME_BYTES_MAX];
    wal_segment_name(name, sizeof(name), first_index);
    cr_assert_eq(fs_path_join(out, DIR, name), FS_OK);
}

/* Opening must fail with `status` naming `path` (and `offset` unless STORAGE_OFFSET_NONE), and
 * change nothing at all. */
static void expect_refused(struct env *env, int status, const char *path, uint64_t offset)
{
    uint64_t digest = sim_fs_digest(env->sfs);
    uint64_t mutations = sim_fs_stats(env->sfs)->mutations;
    struct wal *wal = NULL;
    struct storage_error err;
    int rc = wal_open(env->fs, DIR, &env->config, 1, &wal, NULL, &err);
    cr_assert_eq(rc, status, "got %s: %s", storage_status_name(rc), err.message);
    cr_assert_null(wal);
    cr_assert_str_eq(err.path, path, "message: %s", err.message);
    if (offset != STORAGE_OFFSET_NONE) {
        cr_assert_eq(err.offset, offset, "message: %s", err.message);
    }
    cr_assert(strstr(err.message, path) != NULL, "the message names the file: %s", err.message);
    cr_assert_eq(sim_fs_digest(env->sfs), digest, "refusal modified the directory");
    cr_assert_eq(sim_fs_stats(env->sfs)->mutations, mutations);
}

static void flip(struct env *env, const char *path, uint64_t offset)
{
    cr_assert_eq(sim_fs_corrupt(env->sfs, path, offset, 0x10), FS_OK);
}

static void truncate_file(struct env *env, const char *path, uint64_t size)
{
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(env->fs, path, 0, &file), FS_OK);
    cr_assert_eq(fs_truncate(file, size), FS_OK);
    cr_assert_eq(fs_sync(file), FS_OK);
    fs_close(file);
}

static uint64_t size_of(struct env *env, const char *path)
{
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(env->fs, path, FS_OPEN_READ_ONLY, &file), FS_OK);
    uint64_t size = 0;
    cr_assert_eq(fs_size(file, &size), FS_OK);
    fs_close(file);
    return size;
}

/* Offset of record `index` in the single segment starting at 1 (payload sizes are known). */
static uint64_t record_offset(uint64_t index)
{
    uint64_t offset = WAL_SEGMENT_HEADER_BYTES;
    for (uint64_t i = 1; i < index; i++) {
        offset += wal_record_size((uint32_t)(i % 97));
    }
    return offset;
}

/* ---- normal operation ---- */

/* Invariant: acknowledged entries read back identically after reopening. */
Test(wal, append_reopen_iterate)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 10, 1);
    append_range(wal, 11, 100, 1);
    append_range(wal, 111, 1, 1);
    wal_close(wal);
    struct wal_recovery recovery;
    wal = open_ready(&env, 1, &recovery);
    cr_assert_eq(recovery.entries, 111);
    cr_assert_not(recovery.torn_tail);
    check_log(wal, 1, 111, term_one);
    check_log(wal, 50, 111, term_one);
    wal_close(wal);
    env_fini(&env);
}

/* Invariant: a batch is one write and one sync (group commit), whatever its size. */
Test(wal, group_commit_one_sync_per_batch)
{
    struct env env;
    env_init(&env, 64 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    uint64_t counts[] = { 1, 16, 256 };
    uint64_t next = 1;
    for (int i = 0; i < 3; i++) {
        uint64_t syncs = sim_fs_stats(env.sfs)->syncs;
        uint64_t writes = sim_fs_stats(env.sfs)->writes;
        append_range(wal, next, counts[i], 1);
        next += counts[i];
        cr_assert_eq(sim_fs_stats(env.sfs)->syncs - syncs, 1);
        cr_assert_eq(sim_fs_stats(env.sfs)->writes - writes, 1);
    }
    wal_close(wal);
    env_fini(&env);
}

/* Invariant: segments roll at the size bound and chain without gaps; reading from any index works.
 */
Test(wal, segments_roll_and_chain)
{
    struct env env;
    env_init(&env, 2048);
    struct wal *wal = open_ready(&env, 1, NULL);
    for (uint64_t i = 0; i < 20; i++) {
        append_range(wal, 1 + i * 10, 10, 1);
    }
    cr_assert_gt(wal_segment_count(wal), 5);
    wal_close(wal);
    wal = open_ready(&env, 1, NULL);
    check_log(wal, 1, 200, term_one);
    check_log(wal, 137, 200, term_one);
    wal_close(wal);
    env_fini(&env);
}

/* Invariant: appends that break index continuity or term order are refused and write nothing. */
Test(wal, append_refuses_gaps_and_term_regression)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 5, 3);
    uint64_t digest = sim_fs_digest(env.sfs);
    struct wal_entry entry = { .index = 7, .term = 3 };
    struct storage_error err;
    cr_assert_eq(wal_append(wal, &entry, 1, &err), STORAGE_EINVAL);
    entry.index = 6;
    entry.term = 2;
    cr_assert_eq(wal_append(wal, &entry, 1, &err), STORAGE_EINVAL);
    entry.term = 3;
    entry.data_len = WAL_ENTRY_DATA_BYTES_MAX + 1;
    static uint8_t big[WAL_ENTRY_DATA_BYTES_MAX + 1];
    entry.data = big;
    cr_assert_eq(wal_append(wal, &entry, 1, &err), STORAGE_ELIMIT);
    cr_assert_eq(sim_fs_digest(env.sfs), digest);
    entry.data_len = WAL_ENTRY_DATA_BYTES_MAX; /* the bound itself is fine */
    cr_assert_eq(wal_append(wal, &entry, 1, &err), STORAGE_OK, "%s", err.message);
    wal_close(wal);
    env_fini(&env);
}

/* Invariant: a batch that would need more segments than segments_max is refused whole with
 * STORAGE_ELIMIT and writes nothing, so the caller can compact and retry the same batch. */
Test(wal, append_over_segments_max_writes_nothing)
{
    struct env env;
    env_init(&env, 1024);
    env.config.segments_max = 3;
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 20, 1); /* fills the first segment and part of the second */
    cr_assert_eq(wal_segment_count(wal), 2);
    uint64_t digest = sim_fs_digest(env.sfs);
    static uint8_t data[40][128];
    struct wal_entry entries[40];
    for (uint64_t i = 0; i < 40; i++) {
        entries[i] = (struct wal_entry){ .index = 21 + i, .term = 1, .data = data[i] };
        entries[i].data_len = payload(21 + i, 1, data[i]);
    }
    struct storage_error err;
    cr_assert_eq(wal_append(wal, entries, 40, &err), STORAGE_ELIMIT, "%s", err.message);
    cr_assert(strstr(err.message, "segments_max") != NULL, "%s", err.message);
    cr_assert_eq(wal_last_index(wal), 20, "no part of the batch was written");
    cr_assert_eq(sim_fs_digest(env.sfs), digest);
    cr_assert_eq(wal_append(wal, entries, 3, &err), STORAGE_OK, "%s", err.message);
    wal_close(wal);
    env_fini(&env);
}

static uint64_t term_after_truncation(uint64_t index)
{
    return index < 95 ? 1 : 2;
}

/* Invariant: a suffix truncation removes exactly the entries >= index, across segments, durably. */
Test(wal, truncate_suffix_across_segments)
{
    struct env env;
    env_init(&env, 2048);
    struct wal *wal = open_ready(&env, 1, NULL);
    for (uint64_t i = 0; i < 20; i++) {
        append_range(wal, 1 + i * 10, 10, 1);
    }
    struct storage_error err;
    cr_assert_eq(wal_truncate_suffix(wal, 95, &err), STORAGE_OK, "%s", err.message);
    cr_assert_eq(wal_last_index(wal), 94);
    cr_assert_eq(wal_last_term(wal), 1);
    append_range(wal, 95, 10, 2);
    wal_close(wal);
    wal = open_ready(&env, 1, NULL);
    check_log(wal, 1, 104, term_after_truncation);
    cr_assert_eq(wal_truncate_suffix(wal, 500, &err), STORAGE_OK, "past the end: no-op");
    cr_assert_eq(wal_last_index(wal), 104);
    cr_assert_eq(wal_truncate_suffix(wal, 1, &err), STORAGE_OK, "everything");
    cr_assert_eq(wal_last_index(wal), 0);
    cr_assert_eq(wal_last_term(wal), 0);
    append_range(wal, 1, 3, 5);
    wal_close(wal);
    wal = open_ready(&env, 1, NULL);
    cr_assert_eq(wal_last_index(wal), 3);
    cr_assert_eq(wal_last_term(wal), 5);
    wal_close(wal);
    env_fini(&env);
}

/* Invariant: a prefix drop removes only whole segments below the index, never entries >= it. */
Test(wal, drop_prefix_whole_segments_only)
{
    struct env env;
    env_init(&env, 2048);
    struct wal *wal = open_ready(&env, 1, NULL);
    for (uint64_t i = 0; i < 20; i++) {
        append_range(wal, 1 + i * 10, 10, 1);
    }
    uint32_t before = wal_segment_count(wal);
    struct storage_error err;
    cr_assert_eq(wal_drop_prefix(wal, 120, &err), STORAGE_OK, "%s", err.message);
    cr_assert_lt(wal_segment_count(wal), before);
    cr_assert_leq(wal_first_index(wal), 120);
    cr_assert_gt(wal_first_index(wal), 1);
    uint64_t first = wal_first_index(wal);
    wal_close(wal);
    wal = open_ready(&env, 1, NULL);
    cr_assert_eq(wal_first_index(wal), first);
    check_log(wal, first, 200, term_one);
    cr_assert_eq(wal_drop_prefix(wal, 1000, &err), STORAGE_OK);
    cr_assert_eq(wal_segment_count(wal), 1, "the last segment always stays");
    wal_close(wal);
    env_fini(&env);
}

/* Invariant: reset discards the log; it restarts at the given index with any term. */
Test(wal, reset_restarts_the_log)
{
    struct env env;
    env_init(&env, 2048);
    struct wal *wal = open_ready(&env, 1, NULL);
    for (uint64_t i = 0; i < 5; i++) {
        append_range(wal, 1 + i * 10, 10, 4);
    }
    struct storage_error err;
    cr_assert_eq(wal_reset(wal, 500, &err), STORAGE_OK, "%s", err.message);
    cr_assert_eq(wal_first_index(wal), 500);
    cr_assert_eq(wal_last_index(wal), 499);
    append_range(wal, 500, 3, 2);
    wal_close(wal);
    wal = open_ready(&env, 1, NULL);
    cr_assert_eq(wal_first_index(wal), 500);
    cr_assert_eq(wal_last_index(wal), 502);
    wal_close(wal);
    env_fini(&env);
}

/* Invariant: after a failed write or sync the WAL refuses every change until reopened. */
Test(wal, failed_sync_poisons_until_reopen)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 3, 1);
    sim_fs_set_error_rates(env.sfs, 0, 0, SIM_FS_PPM);
    struct wal_entry entry = { .index = 4, .term = 1 };
    struct storage_error err;
    cr_assert_eq(wal_append(wal, &entry, 1, &err), STORAGE_EIO);
    cr_assert_eq(err.fs.status, FS_EIO);
    cr_assert_str_eq(err.fs.op, "sync");
    sim_fs_set_error_rates(env.sfs, 0, 0, 0);
    cr_assert_eq(wal_append(wal, &entry, 1, &err), STORAGE_EFAILED);
    cr_assert_eq(wal_truncate_suffix(wal, 2, &err), STORAGE_EFAILED);
    wal_close(wal);
    sim_fs_crash(env.sfs);
    wal = open_ready(&env, 1, NULL);
    cr_assert_geq(wal_last_index(wal), 3, "acknowledged entries survive");
    wal_close(wal);
    env_fini(&env);
}

/* Invariant: the WAL works on real files too (POSIX backend), across reopen. */
Test(wal, posix_backend_roundtrip)
{
    char dir[64];
    test_tmpdir_make(dir, sizeof(dir));
    struct fs fs;
    fs_posix_init(&fs);
    struct wal_config config;
    wal_config_default(&config);
    config.segment_size_bytes_max = 4096;
    struct wal *wal = NULL;
    struct storage_error err;
    cr_assert_eq(wal_open(&fs, dir, &config, 1, &wal, NULL, &err), STORAGE_OK, "%s", err.message);
    cr_assert_eq(wal_repair(wal, &err), STORAGE_OK);
    for (uint64_t i = 0; i < 10; i++) {
        append_range(wal, 1 + i * 10, 10, 1);
    }
    cr_assert_eq(wal_truncate_suffix(wal, 50, &err), STORAGE_OK);
    wal_close(wal);
    cr_assert_eq(wal_open(&fs, dir, &config, 1, &wal, NULL, &err), STORAGE_OK, "%s", err.message);
    check_log(wal, 1, 49, term_one);
    wal_close(wal);
    test_tmpdir_remove(dir);
}

/* Invariant: a failed read during recovery names the segment and the offset it was reading. */
Test(wal, read_errors_name_file_and_offset)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 5, 1);
    wal_close(wal);
    sim_fs_set_error_rates(env.sfs, SIM_FS_PPM, 0, 0);
    struct storage_error err;
    cr_assert_eq(wal_open(env.fs, DIR, &env.config, 1, &wal, NULL, &err), STORAGE_EIO);
    char path[FS_PATH_BYTES_MAX];
    segment_path(1, path);
    cr_assert_str_eq(err.path, path, "%s", err.message);
    cr_assert_eq(err.offset, 0, "%s", err.message);
    cr_assert(strstr(err.message, "offset 0") != NULL, "%s", err.message);
    cr_assert_str_eq(err.fs.op, "read");
    env_fini(&env);
}

/* ---- recovery decision table: one test per row ---- */

/* Row D1: no segment: a fresh log at base_index; repair creates the first segment there. */
Test(wal, recovery_D1_empty_directory_is_a_fresh_log)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = NULL;
    struct wal_recovery recovery;
    struct storage_error err;
    cr_assert_eq(wal_open(env.fs, DIR, &env.config, 42, &wal, &recovery, &err), STORAGE_OK);
    cr_assert_eq(recovery.segment_count, 0);
    cr_assert_eq(wal_first_index(wal), 42);
    cr_assert_eq(wal_last_index(wal), 41);
    cr_assert_eq(sim_fs_pending_count(env.sfs), 0, "open alone writes nothing");
    cr_assert_eq(wal_repair(wal, &err), STORAGE_OK);
    append_range(wal, 42, 2, 1);
    wal_close(wal);
    wal = open_ready(&env, 1, &recovery);
    cr_assert_eq(recovery.first_index, 42);
    cr_assert_eq(recovery.last_index, 43);
    wal_close(wal);
    env_fini(&env);
}

/* Row D2: a leftover temp segment is reported, left alone by open, removed by repair. */
Test(wal, recovery_D2_temp_files_removed_by_repair)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 5, 1);
    wal_close(wal);
    /* more than one removal pass holds (64 names each) */
    for (uint64_t i = 0; i < 150; i++) {
        char name[FS_NAME_BYTES_MAX];
        char path[FS_PATH_BYTES_MAX];
        wal_segment_name(name, sizeof(name), 6 + i);
        strcat(name, ".tmp");
        cr_assert_eq(fs_path_join(path, DIR, name), FS_OK);
        test_write_file(env.fs, path, "partial", 7);
    }
    struct wal_recovery recovery;
    struct storage_error err;
    cr_assert_eq(wal_open(env.fs, DIR, &env.config, 1, &wal, &recovery, &err), STORAGE_OK);
    cr_assert_eq(recovery.temp_files, 150);
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(env.fs, DIR "/wal-0000000000000006.seg.tmp", 0, &file), FS_OK);
    fs_close(file);
    cr_assert_eq(wal_repair(wal, &err), STORAGE_OK, "%s", err.message);
    cr_assert_eq(fs_open(env.fs, DIR "/wal-0000000000000006.seg.tmp", 0, &file), FS_ENOENT);
    cr_assert_eq(fs_open(env.fs, DIR "/wal-000000000000009b.seg.tmp", 0, &file), FS_ENOENT);
    check_log(wal, 1, 5, term_one);
    wal_close(wal);
    env_fini(&env);
}

/* Row D3: more segments than segments_max: a clear limit error naming the directory. */
Test(wal, recovery_D3_too_many_segments)
{
    struct env env;
    env_init(&env, 1024);
    struct wal *wal = open_ready(&env, 1, NULL);
    for (uint64_t i = 0; i < 10; i++) {
        append_range(wal, 1 + i * 10, 10, 1);
    }
    cr_assert_gt(wal_segment_count(wal), 4);
    wal_close(wal);
    env.config.segments_max = 4;
    expect_refused(&env, STORAGE_ELIMIT, DIR, STORAGE_OFFSET_NONE);
    env_fini(&env);
}

/* A log of 3 segments [1..], [k..], [m..]; returns the first indexes. */
static void three_segments(struct env *env, uint64_t firsts[3])
{
    struct wal *wal = open_ready(env, 1, NULL);
    for (uint64_t i = 0; i < 6; i++) {
        append_range(wal, 1 + i * 10, 10, 1);
    }
    cr_assert_geq(wal_segment_count(wal), 3);
    wal_close(wal);
    /* recover the first indexes from the names: segments are created by rolls at batch starts */
    uint64_t found = 0;
    for (uint64_t index = 1; index <= 60 && found < 3; index++) {
        char path[FS_PATH_BYTES_MAX];
        segment_path(index, path);
        struct fs_file *file = NULL;
        if (fs_open(env->fs, path, FS_OPEN_READ_ONLY, &file) == FS_OK) {
            fs_close(file);
            firsts[found++] = index;
        }
    }
    cr_assert_eq(found, 3);
}

/* Row S1: a segment shorter than its header, zero-length included, is corruption at offset 0,
 * wherever it is (segments are renamed into place only once complete). */
Test(wal, recovery_S1_short_segment)
{
    uint64_t sizes[] = { 30, 0 };
    for (int position = 1; position < 3; position++) {
        for (int i = 0; i < 2; i++) {
            struct env env;
            env_init(&env, 2048);
            uint64_t firsts[3];
            three_segments(&env, firsts);
            char path[FS_PATH_BYTES_MAX];
            segment_path(firsts[position], path);
            truncate_file(&env, path, sizes[i]);
            expect_refused(&env, STORAGE_ECORRUPT, path, 0);
            env_fini(&env);
        }
    }
}

/* Row S2: a file named like a segment without the magic is foreign: format error. */
Test(wal, recovery_S2_bad_magic_is_foreign)
{
    struct env env;
    env_init(&env, 1 << 20);
    char path[FS_PATH_BYTES_MAX];
    segment_path(1, path);
    char text[200];
    memset(text, 'z', sizeof(text));
    test_write_file(env.fs, path, text, sizeof(text));
    expect_refused(&env, STORAGE_EFORMAT, path, 0);
    env_fini(&env);
}

/* Row S3: a damaged segment header is corruption at offset 0. */
Test(wal, recovery_S3_header_checksum)
{
    struct env env;
    env_init(&env, 2048);
    uint64_t firsts[3];
    three_segments(&env, firsts);
    char path[FS_PATH_BYTES_MAX];
    segment_path(firsts[2], path);
    flip(&env, path, 20);
    expect_refused(&env, STORAGE_ECORRUPT, path, 0);
    env_fini(&env);
}

/* Row S4: a segment of another format version (checksum valid) is a format error. */
Test(wal, recovery_S4_other_version)
{
    struct env env;
    env_init(&env, 1 << 20);
    uint8_t header[WAL_SEGMENT_HEADER_BYTES];
    wal_segment_header_encode(header, 1);
    bytes_put_u32(header + 8, 2);
    bytes_put_u64(header + 56, hash_bytes(header, 56, WAL_SEED_SEGMENT));
    char path[FS_PATH_BYTES_MAX];
    segment_path(1, path);
    test_write_file(env.fs, path, header, sizeof(header));
    expect_refused(&env, STORAGE_EFORMAT, path, 0);
    env_fini(&env);
}

/* Row S5: the header's first index must match the file name. */
Test(wal, recovery_S5_name_mismatch)
{
    struct env env;
    env_init(&env, 1 << 20);
    uint8_t header[WAL_SEGMENT_HEADER_BYTES];
    wal_segment_header_encode(header, 7);
    char path[FS_PATH_BYTES_MAX];
    segment_path(1, path);
    test_write_file(env.fs, path, header, sizeof(header));
    expect_refused(&env, STORAGE_ECORRUPT, path, 16);
    env_fini(&env);
}

/* Row S6: a segment whose (valid) header does not continue the previous segment is corruption
 * naming both files: a gap (a missing middle segment), an overlap (a segment starting inside the
 * previous one), and an empty segment that is not the last (the next starts after a gap). */
Test(wal, recovery_S6_segment_not_continuing_the_previous)
{
    for (int variant = 0; variant < 3; variant++) {
        struct env env;
        env_init(&env, 2048);
        uint64_t firsts[3];
        three_segments(&env, firsts);
        char path[FS_PATH_BYTES_MAX];
        char previous[FS_PATH_BYTES_MAX];
        char offending[FS_PATH_BYTES_MAX];
        segment_path(firsts[1], path);
        if (variant == 0) { /* gap */
            cr_assert_eq(fs_unlink(env.fs, path), FS_OK);
            cr_assert_eq(fs_sync_dir(env.fs, DIR), FS_OK);
            segment_path(firsts[0], previous);
            segment_path(firsts[2], offending);
        } else if (variant == 1) { /* overlap: a valid segment starting inside segment 0 */
            uint8_t header[WAL_SEGMENT_HEADER_BYTES];
            wal_segment_header_encode(header, firsts[1] - 1);
            segment_path(firsts[1] - 1, offending);
            test_write_file(env.fs, offending, header, sizeof(header));
            cr_assert_eq(fs_sync_dir(env.fs, DIR), FS_OK);
            segment_path(firsts[0], previous);
        } else { /* the middle segment emptied down to its header */
            truncate_file(&env, path, WAL_SEGMENT_HEADER_BYTES);
            segment_path(firsts[1], previous);
            segment_path(firsts[2], offending);
        }
        expect_refused(&env, STORAGE_ECORRUPT, offending, 16);
        struct wal *wal = NULL;
        struct storage_error err;
        wal_open(env.fs, DIR, &env.config, 1, &wal, NULL, &err);
        cr_assert(strstr(err.message, variant == 1 ? "overlap" : "gap") != NULL, "%s", err.message);
        cr_assert(strstr(err.message, previous) != NULL, "names the previous file: %s",
                  err.message);
        env_fini(&env);
    }
}

/* Row R1: a log ending at a record boundary opens with no repair. */
Test(wal, recovery_R1_clean_end)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 30, 1);
    wal_close(wal);
    struct wal_recovery recovery;
    wal = open_ready(&env, 1, &recovery);
    cr_assert_not(recovery.torn_tail);
    cr_assert_eq(recovery.last_index, 30);
    wal_close(wal);
    env_fini(&env);
}

/* Row R2: valid records in order are all accepted, across a reopen with appends in between. */
Test(wal, recovery_R2_valid_records_accepted)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 10, 1);
    wal_close(wal);
    wal = open_ready(&env, 1, NULL);
    append_range(wal, 11, 10, 3);
    wal_close(wal);
    struct wal_recovery recovery;
    wal = open_ready(&env, 1, &recovery);
    cr_assert_eq(recovery.entries, 20);
    cr_assert_eq(recovery.last_term, 3);
    wal_close(wal);
    env_fini(&env);
}

/* Appends one raw record (possibly out of order) to the end of segment `path`. */
static void append_raw(struct env *env, const char *path, uint64_t index, uint64_t term)
{
    uint8_t record[WAL_RECORD_OVERHEAD_BYTES + 4];
    struct wal_entry entry = {
        .index = index, .term = term, .data_len = 4, .data = (const uint8_t *)"abcd"
    };
    size_t size = wal_record_encode(record, &entry);
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(env->fs, path, 0, &file), FS_OK);
    uint64_t end = 0;
    fs_size(file, &end);
    cr_assert_eq(fs_write(file, end, record, size), FS_OK);
    cr_assert_eq(fs_sync(file), FS_OK);
    fs_close(file);
}

/* Row R3: a valid record whose index or term breaks the order is corruption at its offset. */
Test(wal, recovery_R3_index_or_term_out_of_order)
{
    for (int variant = 0; variant < 2; variant++) {
        struct env env;
        env_init(&env, 1 << 20);
        struct wal *wal = open_ready(&env, 1, NULL);
        append_range(wal, 1, 5, 3);
        wal_close(wal);
        char path[FS_PATH_BYTES_MAX];
        segment_path(1, path);
        uint64_t offset = size_of(&env, path);
        append_raw(&env, path, variant == 0 ? 7 : 6, variant == 0 ? 3 : 2);
        expect_refused(&env, STORAGE_ECORRUPT, path, offset);
        env_fini(&env);
    }
}

/* Row R4 (and R7): a final record cut short is torn: reported, truncated by repair, and the log
 * continues from the previous record. */
Test(wal, recovery_R4_R7_partial_final_record_truncated)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 20, 1);
    wal_close(wal);
    char path[FS_PATH_BYTES_MAX];
    segment_path(1, path);
    uint64_t cut_points[] = { record_offset(20) + 3, record_offset(20) + 45,
                              record_offset(21) - 1 };
    for (int i = 0; i < 3; i++) {
        truncate_file(&env, path, cut_points[i]);
        struct wal_recovery recovery;
        struct storage_error err;
        cr_assert_eq(wal_open(env.fs, DIR, &env.config, 1, &wal, &recovery, &err), STORAGE_OK, "%s",
                     err.message);
        cr_assert(recovery.torn_tail);
        cr_assert_str_eq(recovery.torn_path, path);
        cr_assert_eq(recovery.torn_offset, record_offset(20));
        cr_assert_eq(recovery.torn_bytes, cut_points[i] - record_offset(20));
        cr_assert_eq(recovery.last_index, 19);
        cr_assert_eq(size_of(&env, path), cut_points[i], "open alone modifies nothing");
        cr_assert_eq(wal_repair(wal, &err), STORAGE_OK);
        cr_assert_eq(size_of(&env, path), record_offset(20));
        append_range(wal, 20, 1, 1);
        wal_close(wal);
        wal = open_ready(&env, 1, &recovery);
        cr_assert_not(recovery.torn_tail);
        check_log(wal, 1, 20, term_one);
        wal_close(wal);
    }
    env_fini(&env);
}

/* Row R4 outside the last segment: a partial record there cannot be a crash: corruption. */
Test(wal, recovery_R4_partial_record_in_earlier_segment_is_corruption)
{
    struct env env;
    env_init(&env, 2048);
    uint64_t firsts[3];
    three_segments(&env, firsts);
    char path[FS_PATH_BYTES_MAX];
    segment_path(firsts[0], path);
    uint64_t size = size_of(&env, path);
    truncate_file(&env, path, size - 5);
    struct wal *wal = NULL;
    struct storage_error err;
    uint64_t digest = sim_fs_digest(env.sfs);
    cr_assert_eq(wal_open(env.fs, DIR, &env.config, 1, &wal, NULL, &err), STORAGE_ECORRUPT);
    cr_assert_str_eq(err.path, path);
    cr_assert(strstr(err.message, "not the last segment") != NULL, "%s", err.message);
    cr_assert_eq(sim_fs_digest(env.sfs), digest);
    env_fini(&env);
}

/* Row R5: a final record whose bytes run into a zero-filled tail is torn (what a file system
 * shows when the size grew but the data never landed). */
Test(wal, recovery_R5_zero_filled_tail_is_torn)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 20, 1);
    wal_close(wal);
    char path[FS_PATH_BYTES_MAX];
    segment_path(1, path);
    uint64_t start = record_offset(20);
    uint64_t end = record_offset(21);
    /* zero from the middle of record 20 to its end, and 300 zero bytes more */
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(env.fs, path, 0, &file), FS_OK);
    static const uint8_t zeros[1024];
    cr_assert_eq(fs_write(file, start + 20, zeros, (size_t)(end - start - 20) + 300), FS_OK);
    cr_assert_eq(fs_sync(file), FS_OK);
    fs_close(file);
    struct wal_recovery recovery;
    wal = open_ready(&env, 1, &recovery);
    cr_assert(recovery.torn_tail);
    cr_assert_eq(recovery.torn_offset, start);
    cr_assert_eq(recovery.last_index, 19);
    wal_close(wal);
    env_fini(&env);
}

/* Row R6: damage in a complete record is corruption at its offset, never a torn tail, wherever
 * it is: in the middle of the log, in the final record's payload, in its length field. */
Test(wal, recovery_R6_damaged_records_are_corruption_not_torn)
{
    uint64_t targets[][2] = {
        { 5, 44 },                                  /* payload of a middle record */
        { 20, 41 },                                 /* payload of the final record */
        { 20, 9 },                                  /* length field of the final record */
        { 20, 0 },                                  /* magic of the final record */
        { 20, WAL_RECORD_OVERHEAD_BYTES + 20 - 1 }, /* end mark of the final record */
    };
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        struct env env;
        env_init(&env, 1 << 20);
        struct wal *wal = open_ready(&env, 1, NULL);
        append_range(wal, 1, 20, 1);
        wal_close(wal);
        char path[FS_PATH_BYTES_MAX];
        segment_path(1, path);
        uint64_t offset = record_offset(targets[i][0]);
        flip(&env, path, offset + targets[i][1]);
        expect_refused(&env, STORAGE_ECORRUPT, path, offset);
        env_fini(&env);
    }
}

/* Row R6 with a foreign record version: a format error naming file and offset. */
Test(wal, recovery_R6_unknown_record_version_is_format_error)
{
    struct env env;
    env_init(&env, 1 << 20);
    struct wal *wal = open_ready(&env, 1, NULL);
    append_range(wal, 1, 3, 1);
    wal_close(wal);
    char path[FS_PATH_BYTES_MAX];
    segment_path(1, path);
    uint8_t record[WAL_RECORD_OVERHEAD_BYTES];
    struct wal_entry entry = { .index = 4, .term = 1 };
    wal_record_encode(record, &entry);
    record[4] = 9; /* version 9, checksums recomputed */
    bytes_put_u64(record + 32, hash_bytes(record, 32, WAL_SEED_HEADER));
    uint64_t offset = size_of(&env, path);
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(env.fs, path, 0, &file), FS_OK);
    cr_assert_eq(fs_write(file, offset, record, sizeof(record)), FS_OK);
    cr_assert_eq(fs_sync(file), FS_OK);
    fs_close(file);
    expect_refused(&env, STORAGE_EFORMAT, path, offset);
    env_fini(&env);
}

/* Bad input: random garbage after a valid header never crashes, never yields entries it should
 * not, and is either refused or treated as a torn tail; refusals change nothing. */
Test(wal, garbage_segments_never_accepted)
{
    for (uint64_t seed = 0; seed < 200; seed++) {
        struct env env;
        env_init(&env, 1 << 20);
        struct prng prng;
        prng_seed(&prng, seed);
        uint8_t bytes[2048];
        wal_segment_header_encode(bytes, 1);
        size_t len = WAL_SEGMENT_HEADER_BYTES + (size_t)prng_below(&prng, 1900);
        for (size_t i = WAL_SEGMENT_HEADER_BYTES; i < len; i++) {
            bytes[i] = (uint8_t)prng_next(&prng);
        }
        char path[FS_PATH_BYTES_MAX];
        segment_path(1, path);
        test_write_file(env.fs, path, bytes, len);
        uint64_t digest = sim_fs_digest(env.sfs);
        struct wal *wal = NULL;
        struct wal_recovery recovery;
        struct storage_error err;
        int rc = wal_open(env.fs, DIR, &env.config, 1, &wal, &recovery, &err);
        if (rc == STORAGE_OK) {
            cr_assert_eq(recovery.entries, 0, "garbage never decodes as an entry");
            wal_close(wal);
        } else {
            cr_assert(rc == STORAGE_ECORRUPT || rc == STORAGE_EFORMAT);
            cr_assert_str_eq(err.path, path);
        }
        cr_assert_eq(sim_fs_digest(env.sfs), digest);
        env_fini(&env);
    }
}
