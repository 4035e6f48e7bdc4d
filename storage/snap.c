/* Snapshot files: atomic write, checksum verification, newest-valid selection, pruning. */
#include "storage/snap.h"

#include "core/hash.h"
#include "core/bytes.h"
#include "storage/names.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_SEED_HEADER    0x46525350484452ULL
#define SNAP_SEED_BODY      0x46525350424459ULL
#define SNAP_IO_CHUNK_BYTES (1u << 20)

static const uint8_t snap_magic[8] = { 'F', 'R', 'S', 'N', 'A', 'P', 'S', 'H' };

bool snap_name_parse(const char *name, uint64_t *index, uint64_t *term, bool *is_temp)
{
    assert(name != NULL && index != NULL && term != NULL && is_temp != NULL);
    /* "snap-" 16 hex "-" 16 hex ".snap" [".tmp"]: 43 or 47 characters */
    size_t len = strlen(name);
    if ((len != 43 && len != 47) || strncmp(name, "snap-", 5) != 0 || name[21] != '-' ||
        strncmp(name + 38, ".snap", 5) != 0) {
        return false;
    }
    if (len == 47 && strcmp(name + 43, ".tmp") != 0) {
        return false;
    }
    if (!storage_hex16_parse(name + 5, index) || !storage_hex16_parse(name + 22, term)) {
        return false;
    }
    *is_temp = len == 47;
    return *index >= 1 && *index <= SNAP_INDEX_MAX;
}

static void snap_file_name(char *out, size_t size, uint64_t index, uint64_t term, bool temp)
{
    snprintf(out, size, "snap-%016" PRIx64 "-%016" PRIx64 ".snap%s", index, term,
             temp ? ".tmp" : "");
}

/* ---- listing ---- */

struct snap_listing {
    struct snap_name names[SNAP_FILES_MAX];
    uint32_t count;
    uint32_t temp_files;
    bool over_limit;
};

static int snap_listing_add(void *arg, const char *name)
{
    struct snap_listing *listing = arg;
    struct snap_name parsed;
    bool is_temp = false;
    if (!snap_name_parse(name, &parsed.index, &parsed.term, &is_temp)) {
        return 0;
    }
    if (is_temp) {
        listing->temp_files++;
        return 0;
    }
    if (listing->count == SNAP_FILES_MAX) {
        listing->over_limit = true;
        return 1;
    }
    listing->names[listing->count++] = parsed;
    return 0;
}

int snap_name_compare(const struct snap_name *a, const struct snap_name *b)
{
    assert(a != NULL && b != NULL);
    if (a->index != b->index) {
        return a->index < b->index ? 1 : -1;
    }
    return (a->term < b->term) - (a->term > b->term);
}

static int snap_compare_newest_first(const void *a, const void *b)
{
    return snap_name_compare(a, b);
}

static int snap_list(struct fs *fs, const char *dir, struct snap_listing *listing,
                     struct storage_error *err)
{
    memset(listing, 0, sizeof(*listing));
    if (fs_list(fs, dir, snap_listing_add, listing) < 0) {
        return storage_error_from_fs(err, fs, "listing snapshots");
    }
    if (listing->over_limit) {
        return storage_error_set(err, STORAGE_ELIMIT, dir, STORAGE_OFFSET_NONE,
                                 "more than %u snapshot files (SNAP_FILES_MAX)", SNAP_FILES_MAX);
    }
    qsort(listing->names, listing->count, sizeof(listing->names[0]), snap_compare_newest_first);
    return STORAGE_OK;
}

int snap_list_names(struct fs *fs, const char *dir, struct snap_name *names, uint32_t *count,
                    struct storage_error *err)
{
    assert(fs != NULL && dir != NULL && names != NULL && count != NULL);
    *count = 0;
    struct snap_listing *listing = malloc(sizeof(*listing));
    if (listing == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, dir, STORAGE_OFFSET_NONE, "no memory");
    }
    int rc = snap_list(fs, dir, listing, err);
    if (rc == STORAGE_OK) {
        memcpy(names, listing->names, sizeof(names[0]) * listing->count);
        *count = listing->count;
    }
    free(listing);
    return rc;
}

/* ---- loading one file ---- */

/* Why a snapshot is unusable; STORAGE_OK when it loaded. */
struct snap_check {
    int status; /* STORAGE_OK, STORAGE_ECORRUPT (damaged: skip) or STORAGE_EFORMAT (refuse) */
    uint64_t offset;
    const char *why;
};

static void snap_header_decode(const uint8_t *in, const struct snap_name *name, uint64_t file_size,
                               struct snap_meta *meta, struct snap_check *check)
{
    check->offset = 0;
    if (memcmp(in, snap_magic, sizeof(snap_magic)) != 0) {
        check->status = STORAGE_EFORMAT;
        check->why = "bad magic: not a FlowRaft snapshot";
        return;
    }
    check->status = STORAGE_ECORRUPT;
    if (bytes_get_u64(in + 56) != hash_bytes(in, 56, SNAP_SEED_HEADER)) {
        check->why = "snapshot header checksum mismatch";
        return;
    }
    if (bytes_get_u32(in + 8) != SNAP_FORMAT_VERSION) {
        check->status = STORAGE_EFORMAT;
        check->why = "unsupported snapshot format version (this build reads version 1)";
        return;
    }
    meta->index = bytes_get_u64(in + 16);
    meta->term = bytes_get_u64(in + 24);
    meta->config_len = bytes_get_u64(in + 32);
    meta->data_len = bytes_get_u64(in + 40);
    if (bytes_get_u32(in + 12) != SNAP_HEADER_BYTES || bytes_get_u64(in + 48) != 0 ||
        meta->config_len > SNAP_CONFIG_BYTES_MAX || meta->data_len > SNAP_DATA_BYTES_MAX) {
        check->why = "snapshot header out of bounds";
        return;
    }
    if (meta->index != name->index || meta->term != name->term) {
        check->offset = 16;
        check->why = "snapshot index or term differs from the file name";
        return;
    }
    if (file_size != SNAP_HEADER_BYTES + meta->config_len + meta->data_len + 8) {
        check->offset = file_size;
        check->why = "snapshot file size differs from its header (truncated or extended)";
        return;
    }
    check->status = STORAGE_OK;
}

/* Writes `len` bytes of `src` (or, when src is NULL, reads them into `dst`) at `offset` in bounded
 * chunks, hashing each: len / chunk + 1 passes. A read must get every byte (the file's size was
 * checked against the header). */
static int snap_io_hashed(struct fs_file *file, uint64_t offset, const uint8_t *src, uint8_t *dst,
                          uint64_t len, struct hash_stream *stream)
{
    assert(len == 0 || (src == NULL) != (dst == NULL));
    for (uint64_t done = 0; done < len;) {
        size_t want = len - done > SNAP_IO_CHUNK_BYTES ? SNAP_IO_CHUNK_BYTES : (size_t)(len - done);
        int rc = src != NULL ? fs_write(file, offset + done, src + done, want)
                             : fs_read_exact(file, offset + done, dst + done, want);
        if (rc != FS_OK) {
            return rc;
        }
        hash_stream_update(stream, (src != NULL ? src : dst) + done, want);
        done += want;
    }
    return FS_OK;
}

static int snap_read_body(struct fs_file *file, const uint8_t *header, struct snap_loaded *out,
                          struct snap_check *check)
{
    struct hash_stream stream;
    hash_stream_init(&stream, SNAP_SEED_BODY);
    hash_stream_update(&stream, header, SNAP_HEADER_BYTES);
    const struct snap_meta *meta = &out->meta;
    out->config = meta->config_len > 0 ? malloc(meta->config_len) : NULL;
    out->data = meta->data_len > 0 ? malloc(meta->data_len) : NULL;
    if ((meta->config_len > 0 && out->config == NULL) ||
        (meta->data_len > 0 && out->data == NULL)) {
        return STORAGE_ENOMEM;
    }
    uint64_t data_offset = SNAP_HEADER_BYTES + meta->config_len;
    uint8_t sum[8];
    if (snap_io_hashed(file, SNAP_HEADER_BYTES, NULL, out->config, meta->config_len, &stream) !=
            FS_OK ||
        snap_io_hashed(file, data_offset, NULL, out->data, meta->data_len, &stream) != FS_OK ||
        fs_read_exact(file, data_offset + meta->data_len, sum, sizeof(sum)) != FS_OK) {
        return STORAGE_EIO;
    }
    if (bytes_get_u64(sum) != hash_stream_digest(&stream)) {
        check->status = STORAGE_ECORRUPT;
        check->offset = data_offset + meta->data_len;
        check->why = "snapshot checksum mismatch";
    }
    return STORAGE_OK;
}

/* Loads one snapshot into `out` (found set only when valid); `check` says why not. */
static int snap_load_file(struct fs *fs, const char *path, const struct snap_name *name,
                          struct snap_loaded *out, struct snap_check *check,
                          struct storage_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(check, 0, sizeof(*check));
    struct fs_file *file = NULL;
    if (fs_open(fs, path, FS_OPEN_READ_ONLY, &file) != FS_OK) {
        return storage_error_from_fs(err, fs, "opening a snapshot");
    }
    uint8_t header[SNAP_HEADER_BYTES];
    uint64_t size = 0;
    size_t got = 0;
    int rc = STORAGE_OK;
    if (fs_size(file, &size) != FS_OK || fs_read(file, 0, header, sizeof(header), &got) != FS_OK) {
        rc = storage_error_from_fs_at(err, fs, path, STORAGE_OFFSET_NONE, "reading a snapshot");
    } else if (got >= sizeof(snap_magic) && memcmp(header, snap_magic, sizeof(snap_magic)) != 0) {
        *check = (struct snap_check){ STORAGE_EFORMAT, 0, "bad magic: not a FlowRaft snapshot" };
    } else if (got < sizeof(header)) {
        *check = (struct snap_check){ STORAGE_ECORRUPT, size, "shorter than a snapshot header" };
    } else {
        snap_header_decode(header, name, size, &out->meta, check);
        if (check->status == STORAGE_OK) {
            rc = snap_read_body(file, header, out, check);
            if (rc == STORAGE_EIO) {
                rc = storage_error_from_fs_at(err, fs, path, STORAGE_OFFSET_NONE,
                                              "reading a snapshot");
            } else if (rc == STORAGE_ENOMEM) {
                rc = storage_error_set(err, rc, path, STORAGE_OFFSET_NONE, "no memory");
            }
        }
    }
    (void)fs_close(file);
    out->found = rc == STORAGE_OK && check->status == STORAGE_OK;
    if (!out->found) {
        snap_loaded_free(out);
    }
    return rc;
}

static void snap_report_damage(struct snap_recovery *recovery, const char *path,
                               const struct snap_check *check)
{
    if (recovery->damaged < SNAP_DAMAGED_REPORTED_MAX) {
        snprintf(recovery->damaged_paths[recovery->damaged], FS_PATH_BYTES_MAX, "%s", path);
        snprintf(recovery->damaged_reasons[recovery->damaged], 96, "%s", check->why);
    }
    recovery->damaged++;
}

int snap_load_newest(struct fs *fs, const char *dir, uint64_t skip_above, struct snap_loaded *out,
                     struct snap_recovery *recovery, struct storage_error *err)
{
    assert(fs != NULL && dir != NULL && out != NULL);
    storage_error_clear(err);
    memset(out, 0, sizeof(*out));
    struct snap_recovery scratch;
    recovery = recovery != NULL ? recovery : &scratch;
    memset(recovery, 0, sizeof(*recovery));
    struct snap_listing *listing = malloc(sizeof(*listing));
    if (listing == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, dir, STORAGE_OFFSET_NONE, "no memory");
    }
    int rc = snap_list(fs, dir, listing, err);
    recovery->files = listing->count;
    recovery->temp_files = listing->temp_files;
    for (uint32_t i = 0; rc == STORAGE_OK && i < listing->count && !out->found; i++) {
        const struct snap_name *name = &listing->names[i];
        if (name->index > skip_above) {
            continue;
        }
        char file_name[FS_NAME_BYTES_MAX];
        char path[FS_PATH_BYTES_MAX];
        snap_file_name(file_name, sizeof(file_name), name->index, name->term, false);
        (void)fs_path_join(path, dir, file_name);
        struct snap_check check;
        rc = snap_load_file(fs, path, name, out, &check, err);
        if (rc == STORAGE_OK && check.status == STORAGE_EFORMAT) { /* P4 */
            rc = storage_error_set(err, STORAGE_EFORMAT, path, check.offset, "%s", check.why);
        } else if (rc == STORAGE_OK && check.status != STORAGE_OK) { /* P3 */
            snap_report_damage(recovery, path, &check);
        }
    }
    free(listing);
    if (rc != STORAGE_OK) {
        snap_loaded_free(out);
    }
    return rc;
}

void snap_loaded_free(struct snap_loaded *loaded)
{
    if (loaded == NULL) {
        return;
    }
    free(loaded->config);
    free(loaded->data);
    loaded->config = NULL;
    loaded->data = NULL;
    loaded->found = false;
}

/* ---- saving ---- */

static int snap_write_file(struct fs_file *file, uint64_t index, uint64_t term,
                           const uint8_t *config, size_t config_len, const uint8_t *data,
                           size_t data_len)
{
    uint8_t header[SNAP_HEADER_BYTES];
    memset(header, 0, sizeof(header));
    memcpy(header, snap_magic, sizeof(snap_magic));
    bytes_put_u32(header + 8, SNAP_FORMAT_VERSION);
    bytes_put_u32(header + 12, SNAP_HEADER_BYTES);
    bytes_put_u64(header + 16, index);
    bytes_put_u64(header + 24, term);
    bytes_put_u64(header + 32, config_len);
    bytes_put_u64(header + 40, data_len);
    bytes_put_u64(header + 56, hash_bytes(header, 56, SNAP_SEED_HEADER));
    struct hash_stream stream;
    hash_stream_init(&stream, SNAP_SEED_BODY);
    int rc = fs_truncate(file, 0);
    if (rc == FS_OK) {
        rc = snap_io_hashed(file, 0, header, NULL, sizeof(header), &stream);
    }
    if (rc == FS_OK) {
        rc = snap_io_hashed(file, SNAP_HEADER_BYTES, config, NULL, config_len, &stream);
    }
    if (rc == FS_OK) {
        rc = snap_io_hashed(file, SNAP_HEADER_BYTES + config_len, data, NULL, data_len, &stream);
    }
    uint8_t sum[8];
    bytes_put_u64(sum, hash_stream_digest(&stream));
    if (rc == FS_OK) {
        rc = fs_write(file, SNAP_HEADER_BYTES + config_len + data_len, sum, sizeof(sum));
    }
    if (rc == FS_OK) {
        rc = fs_sync(file);
    }
    return rc;
}

int snap_save(struct fs *fs, const char *dir, uint64_t index, uint64_t term, const uint8_t *config,
              size_t config_len, const uint8_t *data, size_t data_len, struct storage_error *err)
{
    assert(fs != NULL && dir != NULL);
    assert(config != NULL || config_len == 0);
    assert(data != NULL || data_len == 0);
    storage_error_clear(err);
    if (index == 0 || index > SNAP_INDEX_MAX || config_len > SNAP_CONFIG_BYTES_MAX ||
        data_len > SNAP_DATA_BYTES_MAX) {
        return storage_error_set(err, STORAGE_ELIMIT, dir, STORAGE_OFFSET_NONE,
                                 "snapshot index 0 or above SNAP_INDEX_MAX, or config/data above "
                                 "the bounds");
    }
    char name[FS_NAME_BYTES_MAX];
    char temp[FS_PATH_BYTES_MAX];
    char path[FS_PATH_BYTES_MAX];
    snap_file_name(name, sizeof(name), index, term, true);
    int rc = fs_path_join(temp, dir, name);
    snap_file_name(name, sizeof(name), index, term, false);
    rc = rc == FS_OK ? fs_path_join(path, dir, name) : rc;
    if (rc != FS_OK) {
        return storage_error_set(err, STORAGE_EINVAL, dir, STORAGE_OFFSET_NONE, "path too long");
    }
    struct fs_file *file = NULL;
    if (fs_open(fs, temp, FS_OPEN_CREATE, &file) != FS_OK) {
        return storage_error_from_fs(err, fs, "creating a snapshot");
    }
    rc = snap_write_file(file, index, term, config, config_len, data, data_len);
    if (rc != FS_OK) {
        int status = storage_error_from_fs(err, fs, "writing a snapshot");
        (void)fs_close(file);
        return status;
    }
    if (fs_close(file) != FS_OK || fs_rename(fs, temp, path) != FS_OK ||
        fs_sync_dir(fs, dir) != FS_OK) {
        return storage_error_from_fs(err, fs, "installing a snapshot");
    }
    return STORAGE_OK;
}

/* ---- pruning ---- */

static bool snap_is_temp_name(const char *name)
{
    uint64_t index = 0;
    uint64_t term = 0;
    bool is_temp = false;
    return snap_name_parse(name, &index, &term, &is_temp) && is_temp;
}

static int snap_unlink(struct fs *fs, const char *dir, const struct snap_name *name,
                       struct storage_error *err)
{
    char file_name[FS_NAME_BYTES_MAX];
    char path[FS_PATH_BYTES_MAX];
    snap_file_name(file_name, sizeof(file_name), name->index, name->term, false);
    if (fs_path_join(path, dir, file_name) != FS_OK) {
        return storage_error_set(err, STORAGE_EINVAL, dir, STORAGE_OFFSET_NONE, "path too long");
    }
    if (fs_unlink(fs, path) != FS_OK) {
        return storage_error_from_fs(err, fs, "removing a snapshot");
    }
    return STORAGE_OK;
}

static bool snap_name_listed(const struct snap_name *names, uint32_t count,
                             const struct snap_name *name)
{
    for (uint32_t i = 0; i < count; i++) { /* count <= SNAP_FILES_MAX */
        if (snap_name_compare(&names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

int snap_prune(struct fs *fs, const char *dir, uint32_t keep, const struct snap_name *unusable,
               uint32_t unusable_count, struct storage_error *err)
{
    assert(fs != NULL && dir != NULL);
    assert(keep >= 1);
    assert(unusable != NULL || unusable_count == 0);
    storage_error_clear(err);
    struct snap_listing *listing = malloc(sizeof(*listing));
    if (listing == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, dir, STORAGE_OFFSET_NONE, "no memory");
    }
    int rc = snap_list(fs, dir, listing, err);
    uint32_t removed = 0;
    uint32_t kept = 0;
    for (uint32_t i = 0; rc == STORAGE_OK && i < listing->count; i++) {
        if (!snap_name_listed(unusable, unusable_count, &listing->names[i]) && kept < keep) {
            kept++;
            continue;
        }
        rc = snap_unlink(fs, dir, &listing->names[i], err);
        removed++;
    }
    if (rc == STORAGE_OK && listing->temp_files > 0) {
        uint32_t temps = 0;
        rc = storage_unlink_matching(fs, dir, snap_is_temp_name, listing->temp_files, &temps, err);
        removed += temps;
    }
    free(listing);
    if (rc == STORAGE_OK && removed > 0 && fs_sync_dir(fs, dir) != FS_OK) {
        rc = storage_error_from_fs(err, fs, "syncing the snapshot directory");
    }
    return rc;
}
