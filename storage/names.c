/* Hex fields of storage file names and removal of leftover files by name. */
#include "storage/names.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

bool storage_hex16_parse(const char *in, uint64_t *out)
{
    assert(in != NULL && out != NULL);
    uint64_t value = 0;
    for (uint32_t i = 0; i < STORAGE_HEX16_CHARS; i++) {
        char c = in[i];
        int digit = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (digit < 0) {
            return false;
        }
        value = (value << 4) | (uint64_t)digit;
    }
    *out = value;
    return true;
}

struct storage_unlink_batch {
    bool (*match)(const char *name);
    char names[STORAGE_UNLINK_BATCH_NAMES][FS_NAME_BYTES_MAX];
    uint32_t count;
};

static int storage_unlink_collect(void *arg, const char *name)
{
    struct storage_unlink_batch *batch = arg;
    if (!batch->match(name)) {
        return 0;
    }
    if (batch->count == STORAGE_UNLINK_BATCH_NAMES) {
        return 1; /* the rest is collected by the next pass */
    }
    snprintf(batch->names[batch->count++], FS_NAME_BYTES_MAX, "%s", name);
    return 0;
}

static int storage_unlink_batch(struct fs *fs, const char *dir,
                                const struct storage_unlink_batch *batch, uint32_t *removed,
                                struct storage_error *err)
{
    for (uint32_t i = 0; i < batch->count; i++) {
        char path[FS_PATH_BYTES_MAX];
        if (fs_path_join(path, dir, batch->names[i]) != FS_OK) {
            return storage_error_set(err, STORAGE_EINVAL, dir, STORAGE_OFFSET_NONE,
                                     "path of %s too long", batch->names[i]);
        }
        if (fs_unlink(fs, path) != FS_OK) {
            return storage_error_from_fs(err, fs, "removing a leftover file");
        }
        (*removed)++;
    }
    return STORAGE_OK;
}

int storage_unlink_matching(struct fs *fs, const char *dir, bool (*match)(const char *name),
                            uint32_t expected, uint32_t *removed, struct storage_error *err)
{
    assert(fs != NULL && dir != NULL && match != NULL && removed != NULL);
    *removed = 0;
    struct storage_unlink_batch *batch = malloc(sizeof(*batch));
    if (batch == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, dir, STORAGE_OFFSET_NONE, "no memory");
    }
    batch->match = match;
    int rc = STORAGE_OK;
    uint32_t passes = expected / STORAGE_UNLINK_BATCH_NAMES + 2;
    for (uint32_t pass = 0; rc == STORAGE_OK && pass < passes; pass++) {
        batch->count = 0;
        if (fs_list(fs, dir, storage_unlink_collect, batch) < 0) {
            rc = storage_error_from_fs(err, fs, "listing leftover files");
            break;
        }
        if (batch->count == 0) {
            break;
        }
        rc = storage_unlink_batch(fs, dir, batch, removed, err);
    }
    free(batch);
    return rc;
}
