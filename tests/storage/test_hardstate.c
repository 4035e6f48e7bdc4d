/* Tests for storage/hardstate: the load decision table, monotonicity, crashes inside a save. */
#include "storage/hardstate.h"

#include "core/hash.h"
#include "core/bytes.h"
#include "tests/storage/helpers.h"

#include <criterion/criterion.h>
#include <string.h>

#define DIR  "h"
#define FILE DIR "/" HARDSTATE_FILE_NAME

struct env {
    struct prng prng;
    struct sim_fs *sfs;
    struct fs *fs;
};

static void env_init(struct env *env, uint64_t seed, uint32_t sector)
{
    prng_seed(&env->prng, seed);
    struct sim_fs_config config;
    sim_fs_config_default(&config);
    config.choose = test_choose;
    config.choose_ctx = &env->prng;
    config.sector_size_bytes = sector;
    env->sfs = sim_fs_create(&config);
    env->fs = sim_fs_fs(env->sfs);
    cr_assert_eq(fs_mkdir(env->fs, DIR), FS_OK);
    cr_assert_eq(fs_sync_dir(env->fs, "/"), FS_OK);
}

static struct hardstate_file *load(struct env *env, struct hardstate *state,
                                   struct hardstate_recovery *recovery)
{
    struct hardstate_file *hs = NULL;
    struct storage_error err;
    cr_assert_eq(hardstate_open(env->fs, DIR, &hs, state, recovery, &err), STORAGE_OK, "%s",
                 err.message);
    cr_assert_eq(hardstate_repair(hs, &err), STORAGE_OK, "%s", err.message);
    return hs;
}

static void save(struct hardstate_file *hs, uint64_t term, uint64_t vote, uint64_t commit)
{
    struct hardstate state = { term, vote, commit };
    struct storage_error err;
    cr_assert_eq(hardstate_save(hs, &state, &err), STORAGE_OK, "%s", err.message);
}

static bool equal(const struct hardstate *a, uint64_t term, uint64_t vote, uint64_t commit)
{
    return a->term == term && a->vote == vote && a->commit == commit;
}

static void expect_refused(struct env *env, int status)
{
    uint64_t digest = sim_fs_digest(env->sfs);
    struct hardstate_file *hs = NULL;
    struct storage_error err;
    cr_assert_eq(hardstate_open(env->fs, DIR, &hs, NULL, NULL, &err), status, "%s", err.message);
    cr_assert_str_eq(err.path, FILE);
    cr_assert(strstr(err.message, FILE) != NULL);
    cr_assert_eq(sim_fs_digest(env->sfs), digest);
}

/* Row H1: no file: the fresh state {0, NONE, 0}. */
Test(hardstate, load_H1_no_file_is_fresh)
{
    struct env env;
    env_init(&env, 1, 512);
    struct hardstate state;
    struct hardstate_recovery recovery;
    struct hardstate_file *hs = load(&env, &state, &recovery);
    cr_assert_not(recovery.found);
    cr_assert(equal(&state, 0, HARDSTATE_VOTE_NONE, 0));
    hardstate_close(hs);
    sim_fs_destroy(env.sfs);
}

/* Row H2: saved states load back (both slots equal). */
Test(hardstate, load_H2_roundtrip)
{
    struct env env;
    env_init(&env, 1, 512);
    struct hardstate state;
    struct hardstate_file *hs = load(&env, &state, NULL);
    save(hs, 1, 2, 0);
    save(hs, 1, 2, 5);
    save(hs, 3, HARDSTATE_VOTE_NONE, 7);
    hardstate_close(hs);
    struct hardstate_recovery recovery;
    hs = load(&env, &state, &recovery);
    cr_assert(recovery.found);
    cr_assert_eq(recovery.sequence, 3);
    cr_assert_not(recovery.slot_damaged[0] || recovery.slot_damaged[1]);
    cr_assert(equal(&state, 3, HARDSTATE_VOTE_NONE, 7));
    hardstate_close(hs);
    sim_fs_destroy(env.sfs);
}

/* Two saved files' bytes: state (1,1,1) with sequence 1 and (2,2,2) with sequence 2. */
static void slot_bytes(uint8_t one[64], uint8_t two[64])
{
    struct env env;
    env_init(&env, 1, 512);
    struct hardstate_file *hs = load(&env, &(struct hardstate){ 0 }, NULL);
    save(hs, 1, 1, 1);
    uint8_t file[HARDSTATE_SLOT_OFFSET + 64];
    test_read_file(env.fs, FILE, file, sizeof(file));
    memcpy(one, file, 64);
    save(hs, 2, 2, 2);
    test_read_file(env.fs, FILE, file, sizeof(file));
    memcpy(two, file, 64);
    hardstate_close(hs);
    sim_fs_destroy(env.sfs);
}

static void write_slots(struct env *env, const uint8_t *a, const uint8_t *b)
{
    static uint8_t file[HARDSTATE_SLOT_OFFSET + 64];
    memset(file, 0, sizeof(file));
    memcpy(file, a, 64);
    memcpy(file + HARDSTATE_SLOT_OFFSET, b, 64);
    test_write_file(env->fs, FILE, file, sizeof(file));
}

/* Row H3: slot A one sequence ahead of B (a crash between the two writes): A wins. */
Test(hardstate, load_H3_newer_slot_a_wins)
{
    uint8_t one[64];
    uint8_t two[64];
    slot_bytes(one, two);
    struct env env;
    env_init(&env, 1, 512);
    write_slots(&env, two, one);
    struct hardstate state;
    hardstate_close(load(&env, &state, NULL));
    cr_assert(equal(&state, 2, 2, 2));
    sim_fs_destroy(env.sfs);
}

/* Row H4: B ahead of A cannot come from the save protocol: corruption, nothing modified. */
Test(hardstate, load_H4_impossible_sequences_are_corruption)
{
    uint8_t one[64];
    uint8_t two[64];
    slot_bytes(one, two);
    struct env env;
    env_init(&env, 1, 512);
    write_slots(&env, one, two);
    expect_refused(&env, STORAGE_ECORRUPT);
    sim_fs_destroy(env.sfs);
}

/* Row H5: one damaged slot: the other is used, the damage reported and repaired. */
Test(hardstate, load_H5_one_damaged_slot_falls_back_and_is_repaired)
{
    for (int slot = 0; slot < 2; slot++) {
        struct env env;
        env_init(&env, 1, 512);
        struct hardstate_file *hs = load(&env, &(struct hardstate){ 0 }, NULL);
        save(hs, 4, 1, 9);
        hardstate_close(hs);
        cr_assert_eq(sim_fs_corrupt(env.sfs, FILE, slot * HARDSTATE_SLOT_OFFSET + 30, 4), FS_OK);
        struct hardstate state;
        struct hardstate_recovery recovery;
        hs = load(&env, &state, &recovery);
        cr_assert(recovery.slot_damaged[slot]);
        cr_assert_not(recovery.slot_damaged[1 - slot]);
        cr_assert(equal(&state, 4, 1, 9));
        hardstate_close(hs);
        /* repaired: now the other slot may be damaged and the state still loads */
        cr_assert_eq(sim_fs_corrupt(env.sfs, FILE, (1 - slot) * HARDSTATE_SLOT_OFFSET + 30, 4),
                     FS_OK);
        hs = load(&env, &state, &recovery);
        cr_assert(recovery.slot_damaged[1 - slot]);
        cr_assert(equal(&state, 4, 1, 9));
        hardstate_close(hs);
        sim_fs_destroy(env.sfs);
    }
}

/* Row H6: no valid slot: corruption (or a format error for a foreign file); refuse to start. */
Test(hardstate, load_H6_no_valid_slot_refuses)
{
    struct env env;
    env_init(&env, 1, 512);
    struct hardstate_file *hs = load(&env, &(struct hardstate){ 0 }, NULL);
    save(hs, 4, 1, 9);
    hardstate_close(hs);
    cr_assert_eq(sim_fs_corrupt(env.sfs, FILE, 20, 1), FS_OK);
    cr_assert_eq(sim_fs_corrupt(env.sfs, FILE, HARDSTATE_SLOT_OFFSET + 20, 1), FS_OK);
    expect_refused(&env, STORAGE_ECORRUPT);
    test_write_file(env.fs, FILE, "this is not a hard state file", 29);
    expect_refused(&env, STORAGE_EFORMAT);
    sim_fs_destroy(env.sfs);
}

/* Row H7: a slot of another format version (checksum valid) is a format error. */
Test(hardstate, load_H7_other_version_is_format_error)
{
    uint8_t one[64];
    uint8_t two[64];
    slot_bytes(one, two);
    bytes_put_u32(one + 8, 2);
    bytes_put_u64(one + 56, hash_bytes(one, 56, HARDSTATE_SEED));
    struct env env;
    env_init(&env, 1, 512);
    write_slots(&env, one, one);
    expect_refused(&env, STORAGE_EFORMAT);
    sim_fs_destroy(env.sfs);
}

/* Row H8: a leftover temp file is reported and removed by repair. */
Test(hardstate, load_H8_temp_file_removed)
{
    struct env env;
    env_init(&env, 1, 512);
    test_write_file(env.fs, DIR "/" HARDSTATE_TEMP_NAME, "junk", 4);
    struct hardstate state;
    struct hardstate_recovery recovery;
    struct hardstate_file *hs = load(&env, &state, &recovery);
    cr_assert(recovery.temp_file);
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(env.fs, DIR "/" HARDSTATE_TEMP_NAME, 0, &file), FS_ENOENT);
    hardstate_close(hs);
    sim_fs_destroy(env.sfs);
}

/* Invariant: term and commit never decrease and a vote never changes within a term; a refused
 * save writes nothing. */
Test(hardstate, never_goes_backwards)
{
    struct env env;
    env_init(&env, 1, 512);
    struct hardstate_file *hs = load(&env, &(struct hardstate){ 0 }, NULL);
    save(hs, 5, 2, 10);
    uint64_t digest = sim_fs_digest(env.sfs);
    struct storage_error err;
    struct hardstate bad[] = { { 4, 2, 10 }, { 5, 2, 9 }, { 5, 3, 10 }, { 5, 0, 10 } };
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(hardstate_save(hs, &bad[i], &err), STORAGE_EREGRESS, "case %zu", i);
    }
    cr_assert_eq(sim_fs_digest(env.sfs), digest);
    save(hs, 5, 2, 11); /* same vote, commit up */
    save(hs, 6, 0, 11); /* new term, no vote yet */
    save(hs, 6, 3, 11); /* a vote in the new term */
    hardstate_close(hs);
    struct hardstate state;
    hardstate_close(load(&env, &state, NULL));
    cr_assert(equal(&state, 6, 3, 11));
    sim_fs_destroy(env.sfs);
}

/* Invariant (the proof by test): a crash at any point of a save, with any resolution of the
 * pending writes, including a torn write of the state file itself (16-byte sectors tear the
 * 64-byte slots), loads either the previous or the new state; once save returned, the new one. */
Test(hardstate, crash_at_every_point_of_a_save)
{
    int outcomes[3] = { 0, 0, 0 }; /* old, new after failure, new after success */
    for (uint64_t seed = 0; seed < 60; seed++) {
        for (uint64_t cut = 0; cut < 12; cut++) {
            bool first_save = cut % 2 == 0;
            struct env env;
            env_init(&env, seed * 100 + cut, 16);
            struct hardstate_file *hs = load(&env, &(struct hardstate){ 0 }, NULL);
            if (!first_save) {
                save(hs, 1, 1, 1);
            }
            struct hardstate next = { 2, 2, 2 };
            sim_fs_power_cut_after(env.sfs, cut / 2);
            struct storage_error err;
            int rc = hardstate_save(hs, &next, &err);
            hardstate_close(hs);
            sim_fs_crash(env.sfs);
            struct hardstate state;
            hs = load(&env, &state, NULL);
            bool is_new = equal(&state, 2, 2, 2);
            bool is_old = first_save ? equal(&state, 0, 0, 0) : equal(&state, 1, 1, 1);
            cr_assert(is_new || is_old, "seed %llu cut %llu: loaded another state",
                      (unsigned long long)seed, (unsigned long long)cut);
            cr_assert(rc != STORAGE_OK || is_new, "an acknowledged save was lost");
            outcomes[rc == STORAGE_OK ? 2 : is_new ? 1 : 0]++;
            hardstate_close(hs);
            sim_fs_destroy(env.sfs);
        }
    }
    cr_assert(outcomes[0] > 0 && outcomes[1] > 0 && outcomes[2] > 0,
              "old %d, new-after-cut %d, new %d: every outcome exercised", outcomes[0], outcomes[1],
              outcomes[2]);
}

static uint64_t choose_lost(void *ctx, enum sim_fs_choice kind, uint64_t n)
{
    (void)ctx;
    (void)kind;
    (void)n;
    return 0;
}

/* Invariant: the state a load reports is durable. A process killed at any point of a save (the
 * machine keeps running: its unsynced writes and rename are still in the page cache) restarts and
 * loads some state; a power loss that drops every unsynced operation must not take it back. */
Test(hardstate, loaded_state_is_durable_after_a_process_crash)
{
    for (uint64_t cut = 0; cut < 12; cut++) {
        bool first_save = cut % 2 == 0;
        struct sim_fs_config config;
        sim_fs_config_default(&config);
        config.choose = choose_lost;
        struct sim_fs *sfs = sim_fs_create(&config);
        struct fs *fs = sim_fs_fs(sfs);
        cr_assert_eq(fs_mkdir(fs, DIR), FS_OK);
        cr_assert_eq(fs_sync_dir(fs, "/"), FS_OK);
        struct env env = { .sfs = sfs, .fs = fs };
        struct hardstate_file *hs = load(&env, &(struct hardstate){ 0 }, NULL);
        if (!first_save) {
            save(hs, 1, 1, 1);
        }
        sim_fs_power_cut_after(sfs, cut / 2);
        struct storage_error err;
        (void)hardstate_save(hs, &(struct hardstate){ 2, 2, 2 }, &err);
        hardstate_close(hs);
        sim_fs_process_crash(sfs);
        struct hardstate seen;
        hardstate_close(load(&env, &seen, NULL));
        sim_fs_crash(sfs);
        struct hardstate after;
        hardstate_close(load(&env, &after, NULL));
        cr_assert(equal(&after, seen.term, seen.vote, seen.commit),
                  "cut %llu: loaded {%llu,%llu,%llu}, after a power loss {%llu,%llu,%llu}",
                  (unsigned long long)cut, (unsigned long long)seen.term,
                  (unsigned long long)seen.vote, (unsigned long long)seen.commit,
                  (unsigned long long)after.term, (unsigned long long)after.vote,
                  (unsigned long long)after.commit);
        sim_fs_destroy(sfs);
    }
}
