/* Operational errors of the storage layer: a status code plus the file, offset and a message. */
#ifndef FLOWRAFT_STORAGE_ERROR_H
#define FLOWRAFT_STORAGE_ERROR_H

#include "storage/fs.h"

#include <stdint.h>

/*
 * Every storage call that can fail for a reason outside the program (a disk error, a damaged or
 * foreign file, a bound reached) returns one of these codes and fills a struct storage_error.
 * Programmer errors (NULL pointers, calls in the wrong state) abort through assert instead.
 */
enum storage_status {
    STORAGE_OK = 0,
    STORAGE_EIO = -1,      /* a file-system call failed; `fs` says which call, path and code */
    STORAGE_ECORRUPT = -2, /* stored data fails a check (checksum, index gap): nothing modified */
    STORAGE_EFORMAT = -3,  /* not ours or not this version (foreign file, bad magic, version) */
    STORAGE_ELIMIT = -4,   /* a named bound was reached (entry size, segments, snapshot size) */
    STORAGE_EINVAL = -5,   /* the request breaks the contract of the call (index gap, term) */
    STORAGE_EREGRESS = -6, /* the hard state would go backwards (term, vote or commit) */
    STORAGE_EFAILED = -7,  /* an earlier write or sync failed: reopen (recover) before use */
    STORAGE_ENOMEM = -8,   /* an allocation failed */
};

#define STORAGE_OFFSET_NONE       UINT64_MAX
#define STORAGE_MESSAGE_BYTES_MAX 512

struct storage_error {
    int status;                   /* enum storage_status; STORAGE_OK when nothing failed */
    struct fs_error fs;           /* the failed file-system call when status == STORAGE_EIO */
    char path[FS_PATH_BYTES_MAX]; /* the file the error is about, "" when none */
    uint64_t offset;              /* byte offset in `path`, or STORAGE_OFFSET_NONE */
    char message[STORAGE_MESSAGE_BYTES_MAX]; /* one line naming path and offset */
};

/* Resets `err` to "no error". `err` may be NULL (then nothing happens). */
void storage_error_clear(struct storage_error *err);

/* Fills `err` (may be NULL) and returns `status`, so callers can `return storage_error_set(...)`.
 * `path` may be NULL; `offset` may be STORAGE_OFFSET_NONE. The message is "path[@offset]: text". */
int storage_error_set(struct storage_error *err, int status, const char *path, uint64_t offset,
                      const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Fills `err` from the last error of `fs` (a failed fs call) with STORAGE_EIO and returns it.
 * `what` says what the storage code was doing ("appending to the WAL"). */
int storage_error_from_fs(struct storage_error *err, const struct fs *fs, const char *what);

/* Like storage_error_from_fs, naming `path` and `offset` (STORAGE_OFFSET_NONE: none) as known to
 * the caller: a failed read names the file and where, even when the backend did not (a short read
 * found by fs_read_exact knows no path). */
int storage_error_from_fs_at(struct storage_error *err, const struct fs *fs, const char *path,
                             uint64_t offset, const char *what);

/* A short constant name for a status ("corrupt", "io"). */
const char *storage_status_name(int status);

#endif
