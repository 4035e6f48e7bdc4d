/* Filling and naming storage errors. */
#include "storage/error.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void storage_error_clear(struct storage_error *err)
{
    if (err == NULL) {
        return;
    }
    /* Field by field: it runs before every append and save, and the struct is two paths and a
     * message long; empty strings are what "no error" means. */
    err->status = STORAGE_OK;
    err->fs.status = FS_OK;
    err->fs.sys_errno = 0;
    err->fs.op = NULL;
    err->fs.path[0] = '\0';
    err->path[0] = '\0';
    err->offset = STORAGE_OFFSET_NONE;
    err->message[0] = '\0';
}

int storage_error_set(struct storage_error *err, int status, const char *path, uint64_t offset,
                      const char *format, ...)
{
    assert(status < 0);
    assert(format != NULL);
    if (err == NULL) {
        return status;
    }
    err->status = status;
    err->offset = offset;
    err->path[0] = '\0';
    if (path != NULL) {
        snprintf(err->path, sizeof(err->path), "%s", path);
    }
    char text[STORAGE_MESSAGE_BYTES_MAX / 2];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    if (path != NULL && offset != STORAGE_OFFSET_NONE) {
        snprintf(err->message, sizeof(err->message), "%.200s at offset %" PRIu64 ": %s", path,
                 offset, text);
    } else if (path != NULL) {
        snprintf(err->message, sizeof(err->message), "%.200s: %s", path, text);
    } else {
        snprintf(err->message, sizeof(err->message), "%s", text);
    }
    return status;
}

int storage_error_from_fs_at(struct storage_error *err, const struct fs *fs, const char *path,
                             uint64_t offset, const char *what)
{
    assert(fs != NULL);
    assert(what != NULL);
    assert(fs->error.status < 0);
    if (err == NULL) {
        return STORAGE_EIO;
    }
    err->fs = fs->error;
    const char *op = fs->error.op != NULL ? fs->error.op : "?";
    return storage_error_set(err, STORAGE_EIO, path, offset, "%s: %s failed with %s (errno %d)",
                             what, op, fs_status_name(fs->error.status), fs->error.sys_errno);
}

int storage_error_from_fs(struct storage_error *err, const struct fs *fs, const char *what)
{
    assert(fs != NULL);
    return storage_error_from_fs_at(err, fs, fs->error.path, STORAGE_OFFSET_NONE, what);
}

const char *storage_status_name(int status)
{
    switch (status) {
    case STORAGE_OK:
        return "ok";
    case STORAGE_EIO:
        return "io";
    case STORAGE_ECORRUPT:
        return "corrupt";
    case STORAGE_EFORMAT:
        return "format";
    case STORAGE_ELIMIT:
        return "limit";
    case STORAGE_EINVAL:
        return "invalid";
    case STORAGE_EREGRESS:
        return "regress";
    case STORAGE_EFAILED:
        return "failed";
    case STORAGE_ENOMEM:
        return "nomem";
    default:
        return "unknown";
    }
}
