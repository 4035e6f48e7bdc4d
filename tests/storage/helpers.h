/* Shared helpers of the storage tests: seeded choosers, temp directories, directory digests. */
#ifndef FLOWRAFT_TESTS_STORAGE_HELPERS_H
#define FLOWRAFT_TESTS_STORAGE_HELPERS_H

#include "core/prng.h"
#include "sim/sim_fs.h"
#include "storage/fs.h"

#include <stdint.h>

/* A sim_fs chooser drawing from a core/prng.h generator (ctx is a struct prng *). */
uint64_t test_choose(void *ctx, enum sim_fs_choice kind, uint64_t n);

/* A sim_fs with the default config and `prng` as its chooser (aborts on failure). */
struct sim_fs *test_sim_fs_new(struct prng *prng);

/* Makes a fresh directory under the current directory (the build dir) into out. */
void test_tmpdir_make(char *out, size_t size);
/* Removes a directory tree made by test_tmpdir_make. */
void test_tmpdir_remove(const char *path);

/* XXH3 over the sorted names and contents of every file in `dir` (through `fs`). */
uint64_t test_dir_digest(struct fs *fs, const char *dir);

/* Writes `len` bytes to `path` (created or replaced), synced. */
void test_write_file(struct fs *fs, const char *path, const void *data, size_t len);

/* Reads up to `cap` bytes of `path` into buf; returns the file's size. */
uint64_t test_read_file(struct fs *fs, const char *path, void *buf, size_t cap);

#endif
