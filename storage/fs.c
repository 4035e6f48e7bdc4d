/* Checked wrappers over a file-system backend, path joining and fs error bookkeeping. */
#include "storage/fs.h"

#include <assert.h>
#include <string.h>

int fs_error_set(struct fs *fs, int status, int sys_errno, const char *op, const char *path)
{
    assert(fs != NULL);
    assert(status < 0);
    assert(op != NULL);
    fs->error.status = status;
    fs->error.sys_errno = sys_errno;
    fs->error.op = op;
    fs->error.path[0] = '\0';
    if (path != NULL) {
        size_t len = strnlen(path, FS_PATH_BYTES_MAX - 1);
        memcpy(fs->error.path, path, len);
        fs->error.path[len] = '\0';
    }
    return status;
}

const char *fs_status_name(int status)
{
    switch (status) {
    case FS_OK:
        return "OK";
    case FS_ENOENT:
        return "ENOENT";
    case FS_EEXIST:
        return "EEXIST";
    case FS_EIO:
        return "EIO";
    case FS_ENOSPC:
        return "ENOSPC";
    case FS_ELIMIT:
        return "ELIMIT";
    case FS_EPOWER:
        return "EPOWER";
    case FS_ESTALE:
        return "ESTALE";
    case FS_EINVAL:
        return "EINVAL";
    case FS_ENOTDIR:
        return "ENOTDIR";
    case FS_EISDIR:
        return "EISDIR";
    case FS_ENOTEMPTY:
        return "ENOTEMPTY";
    case FS_ENAMETOOLONG:
        return "ENAMETOOLONG";
    case FS_EACCES:
        return "EACCES";
    default:
        return "EOTHER";
    }
}

/* A failed call must have described itself; a successful one must not claim an error status. */
static int fs_checked(struct fs *fs, int rc)
{
    assert(rc <= 0);
    assert(rc == FS_OK || fs->error.status == rc);
    return rc;
}

static void fs_assert_path(const char *path)
{
    assert(path != NULL);
    assert(path[0] != '\0');
}

int fs_open(struct fs *fs, const char *path, unsigned flags, struct fs_file **out)
{
    assert(fs != NULL && fs->ops->version == FS_INTERFACE_VERSION);
    assert(out != NULL);
    fs_assert_path(path);
    assert((flags & ~(FS_OPEN_CREATE | FS_OPEN_EXCLUSIVE | FS_OPEN_READ_ONLY)) == 0);
    *out = NULL;
    int rc = fs_checked(fs, fs->ops->open(fs, path, flags, out));
    assert((rc == FS_OK) == (*out != NULL));
    assert(rc != FS_OK || (*out)->fs == fs);
    return rc;
}

int fs_close(struct fs_file *file)
{
    assert(file != NULL);
    struct fs *fs = file->fs;
    return fs_checked(fs, fs->ops->close(file));
}

int fs_read(struct fs_file *file, uint64_t offset, void *buf, size_t len, size_t *read_len)
{
    assert(file != NULL);
    assert(buf != NULL || len == 0);
    assert(read_len != NULL);
    *read_len = 0;
    int rc = fs_checked(file->fs, file->fs->ops->read(file, offset, buf, len, read_len));
    assert(*read_len <= len);
    return rc;
}

int fs_read_exact(struct fs_file *file, uint64_t offset, void *buf, size_t len)
{
    size_t got = 0;
    int rc = fs_read(file, offset, buf, len, &got);
    if (rc != FS_OK) {
        return rc;
    }
    if (got != len) {
        return fs_error_set(file->fs, FS_EIO, 0, "read_exact", NULL);
    }
    return FS_OK;
}

int fs_write(struct fs_file *file, uint64_t offset, const void *buf, size_t len)
{
    assert(file != NULL);
    assert(buf != NULL || len == 0);
    assert(offset <= UINT64_MAX - len);
    return fs_checked(file->fs, file->fs->ops->write(file, offset, buf, len));
}

int fs_sync(struct fs_file *file)
{
    assert(file != NULL);
    return fs_checked(file->fs, file->fs->ops->sync(file));
}

int fs_size(struct fs_file *file, uint64_t *size)
{
    assert(file != NULL);
    assert(size != NULL);
    return fs_checked(file->fs, file->fs->ops->size(file, size));
}

int fs_truncate(struct fs_file *file, uint64_t size)
{
    assert(file != NULL);
    return fs_checked(file->fs, file->fs->ops->truncate(file, size));
}

int fs_sync_dir(struct fs *fs, const char *path)
{
    assert(fs != NULL);
    fs_assert_path(path);
    return fs_checked(fs, fs->ops->sync_dir(fs, path));
}

int fs_rename(struct fs *fs, const char *from, const char *to)
{
    assert(fs != NULL);
    fs_assert_path(from);
    fs_assert_path(to);
    return fs_checked(fs, fs->ops->rename(fs, from, to));
}

int fs_unlink(struct fs *fs, const char *path)
{
    assert(fs != NULL);
    fs_assert_path(path);
    return fs_checked(fs, fs->ops->unlink(fs, path));
}

int fs_mkdir(struct fs *fs, const char *path)
{
    assert(fs != NULL);
    fs_assert_path(path);
    return fs_checked(fs, fs->ops->mkdir(fs, path));
}

int fs_list(struct fs *fs, const char *path, fs_list_fn fn, void *arg)
{
    assert(fs != NULL);
    assert(fn != NULL);
    fs_assert_path(path);
    int rc = fs->ops->list(fs, path, fn, arg);
    assert(rc >= 0 || fs->error.status == rc);
    return rc;
}

int fs_mkdir_parents(struct fs *fs, const char *path)
{
    assert(fs != NULL);
    fs_assert_path(path);
    char partial[FS_PATH_BYTES_MAX];
    size_t len = strlen(path);
    if (len >= sizeof(partial)) {
        return fs_error_set(fs, FS_ENAMETOOLONG, 0, "mkdir_parents", "(path too long)");
    }
    memcpy(partial, path, len + 1);
    /* Each '/' after the first byte ends a parent: create it, then the whole path. */
    for (size_t i = 1; i <= len; i++) {
        if (partial[i] != '/' && partial[i] != '\0') {
            continue;
        }
        char saved = partial[i];
        partial[i] = '\0';
        int rc = fs_mkdir(fs, partial);
        if (rc != FS_OK && rc != FS_EEXIST) {
            return rc;
        }
        partial[i] = saved;
    }
    return FS_OK;
}

int fs_path_join(char *out, const char *dir, const char *name)
{
    assert(out != NULL);
    assert(dir != NULL && name != NULL);
    size_t dir_len = strlen(dir);
    size_t name_len = strlen(name);
    int need_slash = dir_len > 0 && dir[dir_len - 1] != '/';
    if (dir_len + (size_t)need_slash + name_len + 1 > FS_PATH_BYTES_MAX) {
        out[0] = '\0';
        return FS_ENAMETOOLONG;
    }
    memcpy(out, dir, dir_len);
    if (need_slash) {
        out[dir_len] = '/';
    }
    memcpy(out + dir_len + need_slash, name, name_len + 1);
    return FS_OK;
}
