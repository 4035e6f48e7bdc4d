/* Shared helpers of the storage tests. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tests/storage/helpers.h"

#include "core/hash.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t test_choose(void *ctx, enum sim_fs_choice kind, uint64_t n)
{
    (void)kind;
    return prng_below(ctx, n);
}

struct sim_fs *test_sim_fs_new(struct prng *prng)
{
    struct sim_fs_config config;
    sim_fs_config_default(&config);
    config.choose = test_choose;
    config.choose_ctx = prng;
    struct sim_fs *sfs = sim_fs_create(&config);
    cr_assert_not_null(sfs);
    return sfs;
}

void test_tmpdir_make(char *out, size_t size)
{
    cr_assert(size > 32);
    snprintf(out, size, "storage-test-XXXXXX");
    cr_assert_not_null(mkdtemp(out), "mkdtemp failed");
}

static int test_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void test_tmpdir_remove(const char *path)
{
    nftw(path, test_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct test_names {
    char names[512][FS_NAME_BYTES_MAX];
    int count;
};

static int test_collect(void *arg, const char *name)
{
    struct test_names *names = arg;
    if (names->count < 512) {
        snprintf(names->names[names->count++], FS_NAME_BYTES_MAX, "%s", name);
    }
    return 0;
}

static int test_strcmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

uint64_t test_dir_digest(struct fs *fs, const char *dir)
{
    struct test_names *names = calloc(1, sizeof(*names));
    cr_assert_not_null(names);
    cr_assert_eq(fs_list(fs, dir, test_collect, names), 0);
    qsort(names->names, (size_t)names->count, FS_NAME_BYTES_MAX, test_strcmp);
    uint64_t running = 0;
    static uint8_t buf[4 << 20];
    for (int i = 0; i < names->count; i++) {
        char path[FS_PATH_BYTES_MAX];
        cr_assert_eq(fs_path_join(path, dir, names->names[i]), FS_OK);
        running = hash_fold_bytes(running, names->names[i], strlen(names->names[i]));
        struct fs_file *file = NULL;
        if (fs_open(fs, path, FS_OPEN_READ_ONLY, &file) == FS_EISDIR) {
            continue; /* a subdirectory: its name is folded in */
        }
        cr_assert_not_null(file, "open %s", path);
        fs_close(file);
        uint64_t size = test_read_file(fs, path, buf, sizeof(buf));
        running = hash_fold_u64(running, size);
        running = hash_fold_bytes(running, buf, size < sizeof(buf) ? size : sizeof(buf));
    }
    free(names);
    return running;
}

void test_write_file(struct fs *fs, const char *path, const void *data, size_t len)
{
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(fs, path, FS_OPEN_CREATE, &file), FS_OK, "open %s", path);
    cr_assert_eq(fs_truncate(file, 0), FS_OK);
    cr_assert_eq(fs_write(file, 0, data, len), FS_OK);
    cr_assert_eq(fs_sync(file), FS_OK);
    cr_assert_eq(fs_close(file), FS_OK);
}

uint64_t test_read_file(struct fs *fs, const char *path, void *buf, size_t cap)
{
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(fs, path, FS_OPEN_READ_ONLY, &file), FS_OK, "open %s", path);
    uint64_t size = 0;
    cr_assert_eq(fs_size(file, &size), FS_OK);
    size_t got = 0;
    cr_assert_eq(fs_read(file, 0, buf, cap, &got), FS_OK);
    cr_assert_eq(fs_close(file), FS_OK);
    return size;
}
