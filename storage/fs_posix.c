/* The POSIX file-system backend: the only FlowRaft file that calls open, pwrite, fsync and friends.
 */
#include "storage/fs.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS_POSIX_EINTR_RETRIES_MAX 1000 /* bound on retries of one call interrupted by signals */

struct fs_posix_file {
    struct fs_file base; /* first member: a struct fs_file * is a struct fs_posix_file * */
    int fd;              /* invariant: >= 0 while open */
    unsigned flags;
    char path[FS_PATH_BYTES_MAX];
};

static int fs_posix_status(int sys_errno)
{
    switch (sys_errno) {
    case ENOENT:
        return FS_ENOENT;
    case EEXIST:
        return FS_EEXIST;
    case EIO:
        return FS_EIO;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return FS_ENOSPC;
    case EMFILE:
    case ENFILE:
        return FS_ELIMIT;
    case EINVAL:
        return FS_EINVAL;
    case ENOTDIR:
        return FS_ENOTDIR;
    case EISDIR:
        return FS_EISDIR;
    case ENOTEMPTY:
        return FS_ENOTEMPTY;
    case ENAMETOOLONG:
        return FS_ENAMETOOLONG;
    case EACCES:
    case EPERM:
    case EROFS:
        return FS_EACCES;
    default:
        return FS_EOTHER;
    }
}

static int fs_posix_fail(struct fs *fs, const char *op, const char *path)
{
    int saved = errno;
    return fs_error_set(fs, fs_posix_status(saved), saved, op, path);
}

static struct fs_posix_file *fs_posix_file_of(struct fs_file *file)
{
    assert(file != NULL);
    struct fs_posix_file *pf = (struct fs_posix_file *)file;
    assert(pf->fd >= 0);
    return pf;
}

static int fs_posix_open(struct fs *fs, const char *path, unsigned flags, struct fs_file **out)
{
    if (strlen(path) >= FS_PATH_BYTES_MAX) {
        return fs_error_set(fs, FS_ENAMETOOLONG, 0, "open", path);
    }
    if ((flags & FS_OPEN_EXCLUSIVE) && !(flags & FS_OPEN_CREATE)) {
        return fs_error_set(fs, FS_EINVAL, 0, "open", path);
    }
    int oflags = O_CLOEXEC;
    oflags |= (flags & FS_OPEN_READ_ONLY) ? O_RDONLY : O_RDWR;
    if (flags & FS_OPEN_CREATE) {
        oflags |= O_CREAT;
    }
    if (flags & FS_OPEN_EXCLUSIVE) {
        oflags |= O_EXCL;
    }
    struct fs_posix_file *pf = calloc(1, sizeof(*pf));
    if (pf == NULL) {
        return fs_error_set(fs, FS_ELIMIT, ENOMEM, "open", path);
    }
    int fd = -1;
    for (int attempt = 0; attempt < FS_POSIX_EINTR_RETRIES_MAX; attempt++) {
        fd = open(path, oflags, 0644);
        if (fd >= 0 || errno != EINTR) {
            break;
        }
    }
    if (fd < 0) {
        int rc = fs_posix_fail(fs, "open", path);
        free(pf);
        return rc;
    }
    struct stat st;
    int rc = FS_OK;
    if (fstat(fd, &st) != 0) {
        rc = fs_posix_fail(fs, "open", path); /* st is not filled: do not look at it */
    } else if (S_ISDIR(st.st_mode)) {
        rc = fs_error_set(fs, FS_EISDIR, EISDIR, "open", path);
    }
    if (rc != FS_OK) {
        close(fd);
        free(pf);
        return rc;
    }
    pf->base.fs = fs;
    pf->fd = fd;
    pf->flags = flags;
    memcpy(pf->path, path, strlen(path) + 1);
    *out = &pf->base;
    return FS_OK;
}

static int fs_posix_close(struct fs_file *file)
{
    struct fs_posix_file *pf = fs_posix_file_of(file);
    struct fs *fs = file->fs;
    int rc = FS_OK;
    /* close is never retried on EINTR: on Linux the descriptor is released either way. */
    if (close(pf->fd) != 0) {
        rc = fs_posix_fail(fs, "close", pf->path);
    }
    pf->fd = -1;
    free(pf);
    return rc;
}

static int fs_posix_read(struct fs_file *file, uint64_t offset, void *buf, size_t len,
                         size_t *read_len)
{
    struct fs_posix_file *pf = fs_posix_file_of(file);
    size_t done = 0;
    int interrupts = 0;
    /* Each pass reads at least one byte, reaches end of file, or fails: at most len + retries. */
    while (done < len) {
        ssize_t n = pread(pf->fd, (uint8_t *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR && interrupts++ < FS_POSIX_EINTR_RETRIES_MAX) {
            continue;
        }
        if (n < 0) {
            *read_len = done;
            return fs_posix_fail(file->fs, "read", pf->path);
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    *read_len = done;
    return FS_OK;
}

static int fs_posix_write(struct fs_file *file, uint64_t offset, const void *buf, size_t len)
{
    struct fs_posix_file *pf = fs_posix_file_of(file);
    if (pf->flags & FS_OPEN_READ_ONLY) {
        return fs_error_set(file->fs, FS_EACCES, 0, "write", pf->path);
    }
    size_t done = 0;
    int interrupts = 0;
    while (done < len) {
        ssize_t n = pwrite(pf->fd, (const uint8_t *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR && interrupts++ < FS_POSIX_EINTR_RETRIES_MAX) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return fs_posix_fail(file->fs, "write", pf->path);
        }
        done += (size_t)n;
    }
    return FS_OK;
}

static int fs_posix_sync(struct fs_file *file)
{
    struct fs_posix_file *pf = fs_posix_file_of(file);
    for (int attempt = 0; attempt < FS_POSIX_EINTR_RETRIES_MAX; attempt++) {
        if (fdatasync(pf->fd) == 0) {
            return FS_OK;
        }
        if (errno != EINTR) {
            break;
        }
    }
    return fs_posix_fail(file->fs, "sync", pf->path);
}

static int fs_posix_size(struct fs_file *file, uint64_t *size)
{
    struct fs_posix_file *pf = fs_posix_file_of(file);
    struct stat st;
    if (fstat(pf->fd, &st) != 0) {
        return fs_posix_fail(file->fs, "size", pf->path);
    }
    *size = (uint64_t)st.st_size;
    return FS_OK;
}

static int fs_posix_truncate(struct fs_file *file, uint64_t size)
{
    struct fs_posix_file *pf = fs_posix_file_of(file);
    if (pf->flags & FS_OPEN_READ_ONLY) {
        return fs_error_set(file->fs, FS_EACCES, 0, "truncate", pf->path);
    }
    for (int attempt = 0; attempt < FS_POSIX_EINTR_RETRIES_MAX; attempt++) {
        if (ftruncate(pf->fd, (off_t)size) == 0) {
            return FS_OK;
        }
        if (errno != EINTR) {
            break;
        }
    }
    return fs_posix_fail(file->fs, "truncate", pf->path);
}

static int fs_posix_sync_dir(struct fs *fs, const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return fs_posix_fail(fs, "sync_dir", path);
    }
    int rc = FS_OK;
    if (fsync(fd) != 0) {
        rc = fs_posix_fail(fs, "sync_dir", path);
    }
    close(fd);
    return rc;
}

static int fs_posix_rename(struct fs *fs, const char *from, const char *to)
{
    if (rename(from, to) != 0) {
        return fs_posix_fail(fs, "rename", from);
    }
    return FS_OK;
}

static int fs_posix_unlink(struct fs *fs, const char *path)
{
    if (unlink(path) != 0) {
        return fs_posix_fail(fs, "unlink", path);
    }
    return FS_OK;
}

static int fs_posix_mkdir(struct fs *fs, const char *path)
{
    if (mkdir(path, 0755) != 0) {
        return fs_posix_fail(fs, "mkdir", path);
    }
    return FS_OK;
}

static int fs_posix_list(struct fs *fs, const char *path, fs_list_fn fn, void *arg)
{
    DIR *dir = opendir(path);
    if (dir == NULL) {
        return fs_posix_fail(fs, "list", path);
    }
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (entry == NULL) {
            if (errno != 0) {
                rc = fs_posix_fail(fs, "list", path);
            }
            break;
        }
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        rc = fn(arg, entry->d_name);
        if (rc != 0) {
            break;
        }
    }
    closedir(dir);
    return rc;
}

static const struct fs_ops fs_posix_ops = {
    .version = FS_INTERFACE_VERSION,
    .open = fs_posix_open,
    .close = fs_posix_close,
    .read = fs_posix_read,
    .write = fs_posix_write,
    .sync = fs_posix_sync,
    .size = fs_posix_size,
    .truncate = fs_posix_truncate,
    .sync_dir = fs_posix_sync_dir,
    .rename = fs_posix_rename,
    .unlink = fs_posix_unlink,
    .mkdir = fs_posix_mkdir,
    .list = fs_posix_list,
};

void fs_posix_init(struct fs *fs)
{
    assert(fs != NULL);
    memset(fs, 0, sizeof(*fs));
    fs->ops = &fs_posix_ops;
    fs->ctx = NULL;
}
