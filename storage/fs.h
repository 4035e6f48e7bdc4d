/* The file-system interface every storage file access goes through (in the spirit of sqlite's VFS).
 */
#ifndef FLOWRAFT_STORAGE_FS_H
#define FLOWRAFT_STORAGE_FS_H

#include <stddef.h>
#include <stdint.h>

/*
 * A backend fills a `struct fs` (an ops table and its context). Two ship with FlowRaft: the POSIX
 * backend (storage/fs_posix.c, the only file that calls open/pwrite/fsync) and the simulator's
 * fault-injecting in-memory backend (sim/sim_fs.c). Tests may add their own.
 *
 * Contract every backend keeps (storage code relies on exactly this, nothing more):
 * - write(file, offset, ...) is not durable until sync(file) returns FS_OK; until then a crash may
 *   keep it fully, drop it, or keep it torn at a sector boundary, and a write past the end of file
 *   may leave the file grown by zeros instead of its data. Unsynced regions never read back as
 *   other garbage (stale blocks: ext4 data=writeback) nor with a hole before written sectors;
 *   there the WAL refuses to start (safe, but needs an operator) instead of dropping a torn tail.
 *   A crash that kills only the process leaves every unsynced operation readable and pending.
 * - A directory operation (create, rename, unlink, mkdir) is not durable until sync_dir(parent)
 *   returns FS_OK. rename is atomic: after a crash the target names the old file or the new one.
 * - sync(file) makes the file's data and size durable (fdatasync), not its directory entry.
 * - read returns fewer bytes than asked only at end of file (never a silent short read).
 * - Every call returns FS_OK or a negative enum fs_status and, on failure, fills fs->error.
 * - Paths are '/'-separated, at most FS_PATH_BYTES_MAX - 1 bytes; names at most
 *   FS_NAME_BYTES_MAX - 1 bytes. Backends are single-threaded: one caller at a time.
 */

#define FS_INTERFACE_VERSION 1
#define FS_PATH_BYTES_MAX    256 /* including the terminating NUL */
#define FS_NAME_BYTES_MAX    128 /* one path component, including the terminating NUL */

enum fs_status {
    FS_OK = 0,
    FS_ENOENT = -1,  /* no such file or directory */
    FS_EEXIST = -2,  /* exclusive create of an existing name, or mkdir of an existing one */
    FS_EIO = -3,     /* the device failed (injected read, write or sync errors included) */
    FS_ENOSPC = -4,  /* no space left, or a backend's size bound was reached */
    FS_ELIMIT = -5,  /* a backend bound was reached (files, open files, pending operations) */
    FS_EPOWER = -6,  /* the simulated power is off: nothing happens until the crash is resolved */
    FS_ESTALE = -7,  /* the handle was opened before a simulated crash */
    FS_EINVAL = -8,  /* a bad argument (a malformed path, a bad flag combination) */
    FS_ENOTDIR = -9, /* a path component is not a directory */
    FS_EISDIR = -10, /* a file operation on a directory */
    FS_ENOTEMPTY = -11,    /* the directory is not empty */
    FS_ENAMETOOLONG = -12, /* a path or a name is too long */
    FS_EACCES = -13, /* permission denied, read-only file system, write to a read-only handle */
    FS_EOTHER = -14, /* anything else; sys_errno tells */
};

/* What failed, filled by the backend on every failed call. */
struct fs_error {
    int status;                   /* enum fs_status, FS_OK when nothing failed */
    int sys_errno;                /* the operating system's errno, 0 when not from the OS */
    const char *op;               /* static name of the call: "open", "write", "sync_dir", ... */
    char path[FS_PATH_BYTES_MAX]; /* the path the call was about */
};

/* open flags */
#define FS_OPEN_CREATE    0x1u /* create the file if it is missing */
#define FS_OPEN_EXCLUSIVE 0x2u /* with FS_OPEN_CREATE: fail with FS_EEXIST if it exists */
#define FS_OPEN_READ_ONLY 0x4u /* writes and truncation through this handle fail with FS_EACCES */

struct fs;

/* An open file. Backends embed this as the first member of their own handle struct. */
struct fs_file {
    struct fs *fs; /* the file system the handle belongs to */
};

/* Called once per directory entry ("." and ".." excluded), in an unspecified order. Returning a
 * positive value stops the listing and becomes list's return value (negative values are reserved
 * for list's own errors). The callback must not call the file system. */
typedef int (*fs_list_fn)(void *arg, const char *name);

struct fs_ops {
    int version; /* FS_INTERFACE_VERSION */
    int (*open)(struct fs *fs, const char *path, unsigned flags, struct fs_file **out);
    /* Always releases the handle, even when it reports an error (stale handle, power off). */
    int (*close)(struct fs_file *file);
    /* Reads up to `len` bytes at `offset`; *read_len < len only at end of file. */
    int (*read)(struct fs_file *file, uint64_t offset, void *buf, size_t len, size_t *read_len);
    /* Writes all `len` bytes at `offset` (extending the file with zeros if past its end) or fails.
     */
    int (*write)(struct fs_file *file, uint64_t offset, const void *buf, size_t len);
    int (*sync)(struct fs_file *file);
    int (*size)(struct fs_file *file, uint64_t *size);
    int (*truncate)(struct fs_file *file, uint64_t size);
    int (*sync_dir)(struct fs *fs, const char *path);
    int (*rename)(struct fs *fs, const char *from, const char *to);
    int (*unlink)(struct fs *fs, const char *path);
    int (*mkdir)(struct fs *fs, const char *path);
    int (*list)(struct fs *fs, const char *path, fs_list_fn fn, void *arg);
};

struct fs {
    const struct fs_ops *ops; /* invariant: ops->version == FS_INTERFACE_VERSION */
    void *ctx;                /* the backend's state, owned by the backend */
    struct fs_error error;    /* the last failed call; valid right after a call returned < 0 */
};

/*
 * Checked wrappers. Storage code calls these, never fs->ops directly: they assert the arguments
 * and the backend's contract (a failed call filled fs->error, a read never returns more than
 * asked).
 */
int fs_open(struct fs *fs, const char *path, unsigned flags, struct fs_file **out);
int fs_close(struct fs_file *file);
int fs_read(struct fs_file *file, uint64_t offset, void *buf, size_t len, size_t *read_len);
int fs_write(struct fs_file *file, uint64_t offset, const void *buf, size_t len);
int fs_sync(struct fs_file *file);
int fs_size(struct fs_file *file, uint64_t *size);
int fs_truncate(struct fs_file *file, uint64_t size);
int fs_sync_dir(struct fs *fs, const char *path);
int fs_rename(struct fs *fs, const char *from, const char *to);
int fs_unlink(struct fs *fs, const char *path);
int fs_mkdir(struct fs *fs, const char *path);
int fs_list(struct fs *fs, const char *path, fs_list_fn fn, void *arg);

/* Reads exactly `len` bytes at `offset`: FS_OK, or FS_EIO with fs->error.op "read_exact" when the
 * file ends first. Convenience for fixed-size headers. */
int fs_read_exact(struct fs_file *file, uint64_t offset, void *buf, size_t len);

/* Creates directory `path` and every missing parent (like mkdir -p): FS_OK if it exists afterwards,
 * else the first failure. The new entries are not synced (sync_dir the parents that must be
 * durable). */
int fs_mkdir_parents(struct fs *fs, const char *path);

/* Joins `dir` and `name` into `out` (capacity FS_PATH_BYTES_MAX): 0, or FS_ENAMETOOLONG. */
int fs_path_join(char *out, const char *dir, const char *name);

/* Sets fs->error; backends call it on every failure. Returns `status`. */
int fs_error_set(struct fs *fs, int status, int sys_errno, const char *op, const char *path);

/* A short constant name for a status ("ENOENT", "EPOWER"). */
const char *fs_status_name(int status);

/* The POSIX backend: fills `fs` (caller-owned, no allocation). Paths are used as given. */
void fs_posix_init(struct fs *fs);

#endif
