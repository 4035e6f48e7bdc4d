/* Tests for storage/fs.h: one contract suite run against the POSIX and the simulated backends. */
#include "storage/fs.h"

#include "tests/storage/helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

struct backend {
    struct fs posix;
    struct prng prng;
    struct sim_fs *sfs;
    struct fs *fs;
    char dir[128];
};

static void backend_open(struct backend *b, bool posix)
{
    memset(b, 0, sizeof(*b));
    if (posix) {
        fs_posix_init(&b->posix);
        b->fs = &b->posix;
        test_tmpdir_make(b->dir, sizeof(b->dir));
    } else {
        prng_seed(&b->prng, 1);
        b->sfs = test_sim_fs_new(&b->prng);
        b->fs = sim_fs_fs(b->sfs);
        snprintf(b->dir, sizeof(b->dir), "d");
        cr_assert_eq(fs_mkdir(b->fs, b->dir), FS_OK);
    }
}

static void backend_close(struct backend *b)
{
    if (b->sfs != NULL) {
        sim_fs_destroy(b->sfs);
    } else {
        test_tmpdir_remove(b->dir);
    }
}

static void path_in(const struct backend *b, const char *name, char *out)
{
    cr_assert_eq(fs_path_join(out, b->dir, name), FS_OK);
}

/* Invariant: write then read returns the bytes; reads past the end are short, never silent. */
static void contract_read_write(bool posix)
{
    struct backend b;
    backend_open(&b, posix);
    char path[FS_PATH_BYTES_MAX];
    path_in(&b, "f", path);
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(b.fs, path, FS_OPEN_CREATE | FS_OPEN_EXCLUSIVE, &file), FS_OK);
    cr_assert_eq(fs_write(file, 0, "hello", 5), FS_OK);
    cr_assert_eq(fs_write(file, 10, "world", 5), FS_OK); /* a hole reads as zeros */
    cr_assert_eq(fs_sync(file), FS_OK);
    uint64_t size = 0;
    cr_assert_eq(fs_size(file, &size), FS_OK);
    cr_assert_eq(size, 15);
    char buf[32];
    size_t got = 0;
    cr_assert_eq(fs_read(file, 0, buf, sizeof(buf), &got), FS_OK);
    cr_assert_eq(got, 15, "short read only at end of file");
    cr_assert_eq(memcmp(buf, "hello\0\0\0\0\0world", 15), 0);
    cr_assert_eq(fs_read(file, 100, buf, 4, &got), FS_OK);
    cr_assert_eq(got, 0);
    cr_assert_eq(fs_read_exact(file, 12, buf, 8), FS_EIO, "read_exact past the end fails");
    cr_assert_eq(fs_truncate(file, 3), FS_OK);
    cr_assert_eq(fs_size(file, &size), FS_OK);
    cr_assert_eq(size, 3);
    cr_assert_eq(fs_close(file), FS_OK);
    backend_close(&b);
}

Test(fs_posix, read_write_short_reads_truncate)
{
    contract_read_write(true);
}

Test(fs_sim, read_write_short_reads_truncate)
{
    contract_read_write(false);
}

/* Invariant: errors carry the operation, the path and a status code. */
static void contract_errors(bool posix)
{
    struct backend b;
    backend_open(&b, posix);
    char path[FS_PATH_BYTES_MAX];
    path_in(&b, "missing", path);
    struct fs_file *file = NULL;
    cr_assert_eq(fs_open(b.fs, path, 0, &file), FS_ENOENT);
    cr_assert_null(file);
    cr_assert_eq(b.fs->error.status, FS_ENOENT);
    cr_assert_str_eq(b.fs->error.op, "open");
    cr_assert_str_eq(b.fs->error.path, path);
    cr_assert_eq(fs_unlink(b.fs, path), FS_ENOENT);
    cr_assert_str_eq(b.fs->error.op, "unlink");
    path_in(&b, "f", path);
    test_write_file(b.fs, path, "x", 1);
    cr_assert_eq(fs_open(b.fs, path, FS_OPEN_CREATE | FS_OPEN_EXCLUSIVE, &file), FS_EEXIST);
    cr_assert_eq(fs_open(b.fs, path, FS_OPEN_READ_ONLY, &file), FS_OK);
    cr_assert_eq(fs_write(file, 0, "y", 1), FS_EACCES, "read-only handles refuse writes");
    cr_assert_eq(fs_truncate(file, 0), FS_EACCES);
    cr_assert_eq(fs_close(file), FS_OK);
    cr_assert_eq(fs_mkdir(b.fs, b.dir), FS_EEXIST);
    cr_assert_eq(fs_open(b.fs, b.dir, 0, &file), FS_EISDIR);
    backend_close(&b);
}

Test(fs_posix, errors_name_op_and_path)
{
    contract_errors(true);
}

Test(fs_sim, errors_name_op_and_path)
{
    contract_errors(false);
}

struct listing {
    char names[8][FS_NAME_BYTES_MAX];
    int count;
};

static int collect(void *arg, const char *name)
{
    struct listing *l = arg;
    cr_assert(l->count < 8);
    snprintf(l->names[l->count++], FS_NAME_BYTES_MAX, "%s", name);
    return 0;
}

static bool listed(const struct listing *l, const char *name)
{
    for (int i = 0; i < l->count; i++) {
        if (strcmp(l->names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Invariant: rename replaces the target, unlink removes, list shows exactly the entries. */
static void contract_namespace(bool posix)
{
    struct backend b;
    backend_open(&b, posix);
    char a[FS_PATH_BYTES_MAX];
    char c[FS_PATH_BYTES_MAX];
    char sub[FS_PATH_BYTES_MAX];
    path_in(&b, "a", a);
    path_in(&b, "c", c);
    path_in(&b, "sub", sub);
    test_write_file(b.fs, a, "new", 3);
    test_write_file(b.fs, c, "old", 3);
    cr_assert_eq(fs_rename(b.fs, a, c), FS_OK);
    cr_assert_eq(fs_mkdir(b.fs, sub), FS_OK);
    cr_assert_eq(fs_sync_dir(b.fs, b.dir), FS_OK);
    char buf[8];
    cr_assert_eq(test_read_file(b.fs, c, buf, sizeof(buf)), 3);
    cr_assert_eq(memcmp(buf, "new", 3), 0);
    struct listing l = { .count = 0 };
    cr_assert_eq(fs_list(b.fs, b.dir, collect, &l), 0);
    cr_assert_eq(l.count, 2);
    cr_assert(listed(&l, "c") && listed(&l, "sub"));
    cr_assert_eq(fs_unlink(b.fs, c), FS_OK);
    l.count = 0;
    cr_assert_eq(fs_list(b.fs, b.dir, collect, &l), 0);
    cr_assert_eq(l.count, 1);
    cr_assert_eq(fs_list(b.fs, c, collect, &l), FS_ENOENT);
    backend_close(&b);
}

Test(fs_posix, rename_unlink_list_mkdir)
{
    contract_namespace(true);
}

Test(fs_sim, rename_unlink_list_mkdir)
{
    contract_namespace(false);
}

/* Invariant: fs_mkdir_parents creates every missing level, accepts existing ones, and fails
 * (naming the path) when a level is a file. */
static void contract_mkdir_parents(bool posix)
{
    struct backend b;
    backend_open(&b, posix);
    char deep[FS_PATH_BYTES_MAX];
    char file[FS_PATH_BYTES_MAX];
    path_in(&b, "x/y/z", deep);
    path_in(&b, "f", file);
    cr_assert_eq(fs_mkdir_parents(b.fs, deep), FS_OK);
    cr_assert_eq(fs_mkdir_parents(b.fs, deep), FS_OK); /* again: already there */
    struct listing l = { .count = 0 };
    cr_assert_eq(fs_list(b.fs, deep, collect, &l), 0);
    cr_assert_eq(l.count, 0);
    test_write_file(b.fs, file, "data", 4);
    char below_file[FS_PATH_BYTES_MAX];
    path_in(&b, "f/g", below_file);
    cr_assert_lt(fs_mkdir_parents(b.fs, below_file), 0);
    cr_assert(strstr(b.fs->error.path, "/f") != NULL, "%s", b.fs->error.path);
    backend_close(&b);
}

Test(fs_posix, mkdir_parents)
{
    contract_mkdir_parents(true);
}

Test(fs_sim, mkdir_parents)
{
    contract_mkdir_parents(false);
}

/* Invariant: a path longer than FS_PATH_BYTES_MAX is refused by fs_path_join. */
Test(fs, path_join_bounds)
{
    char out[FS_PATH_BYTES_MAX];
    char long_name[FS_PATH_BYTES_MAX];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    cr_assert_eq(fs_path_join(out, "d", long_name), FS_ENAMETOOLONG);
    cr_assert_eq(fs_path_join(out, "d/", "f"), FS_OK);
    cr_assert_str_eq(out, "d/f");
    cr_assert_eq(fs_path_join(out, "d", "f"), FS_OK);
    cr_assert_str_eq(out, "d/f");
}
