/* WAL recovery: scanning and validating segments by an explicit decision table, repair, iteration.
 */
#include "storage/wal_internal.h"

#include "storage/names.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Recovery decision table. wal_open applies it to every segment in index order and modifies
 * nothing; wal_repair carries out the repairs. Each row has a test in tests/storage/test_wal.c
 * named after it (recovery_<row>_...).
 */
/* clang-format off */
/*
 * Directory
 *   D1  no segment file                         -> a fresh log at base_index; wal_repair creates
 *                                                  its first segment
 *   D2  leftover "wal-*.seg.tmp" (a crash while  -> ignored by the scan; wal_repair unlinks them
 *       creating a segment)                        and syncs the directory
 *   D3  more segments than config.segments_max  -> STORAGE_ELIMIT naming the directory
 * Segment header (each segment)
 *   S1  file shorter than the 64-byte header    -> STORAGE_ECORRUPT, file, offset 0 (zero-length
 *       (zero bytes included)                      too): segments are renamed into place only
 *                                                  once complete and synced
 *   S2  bad magic                               -> STORAGE_EFORMAT, file, offset 0: not a segment
 *   S3  header checksum mismatch                -> STORAGE_ECORRUPT, file, offset 0
 *   S4  unknown format version                  -> STORAGE_EFORMAT, file, offset 0
 *   S5  header first index differs from the     -> STORAGE_ECORRUPT, file, offset 16
 *       file name
 *   S6  first index != previous segment's last  -> STORAGE_ECORRUPT, file, offset 16, naming the
 *       index + 1: a gap, an overlap, or an        previous file too. An empty segment can only be
 *       empty segment that is not the last         the last: the next one would need its name.
 * Records (at offset o of a segment)
 *   R1  o is the end of the file                -> the segment ends cleanly
 *   R2  valid record with index = previous + 1  -> accepted
 *       and term >= previous term
 *   R3  valid record breaking index or term     -> STORAGE_ECORRUPT, file, o
 *       order
 *   R4  the file ends inside the record (its    -> torn (R7) in the last segment; STORAGE_ECORRUPT
 *       header, or the length its header           elsewhere: a crash cut an append short
 *       declares)
 *   R5  damaged record (header checksum, record -> torn (R7) in the last segment; STORAGE_ECORRUPT
 *       checksum or end mark) and every byte       elsewhere
 *       from inside the record to the end of
 *       the file is zero
 *   R6  damaged record otherwise (bad magic,    -> STORAGE_ECORRUPT (STORAGE_EFORMAT for an unknown
 *       checksum, end mark, reserved bytes,        version or record type) at file, o: the node
 *       length bound), in any segment              refuses to start; nothing modified
 *   R7  torn record in the last segment         -> reported in recovery.torn_*; wal_repair
 *                                                  truncates the segment at o and syncs it
 */
/* clang-format on */
/*
 * Why R4 and R5 cannot hide acknowledged data: an acknowledged record was synced whole, its header
 * is covered by its own checksum (so a flipped length bit is R6, not R4), and it ends with the
 * end mark "WEND", which has no zero byte, so a complete record never ends a file in a zero byte
 * (R5 needs the zero run to start inside the damaged record). Only the last batch can be unsynced:
 * every earlier batch was synced before the next was written, and a segment is synced before the
 * next one is created. A flipped bit in acknowledged data is therefore always R3 or R6.
 *
 * What the table cannot tell apart, and what then happens:
 * - Damage at rest that zeroes the end of the last acknowledged record (a lost or misdirected
 *   write) looks exactly like a torn append (R5) and drops that record. If the hard state's
 *   commit covers it the store refuses to start (store.h, X4); an acknowledged but uncommitted
 *   tail entry is lost silently (Protocol-Aware Recovery, FAST 2018: only the cluster can tell).
 * - A device that persists the sectors of one unsynced write out of order (a hole before written
 *   data) leaves a damaged record followed by non-zero bytes: R6, the node refuses to start
 *   although nothing acknowledged was lost. Safe, but it needs an operator (or the cluster).
 */

int wal_reader_open(struct wal_reader *reader, struct fs *fs, const char *path,
                    struct storage_error *err)
{
    assert(reader != NULL && fs != NULL && path != NULL);
    memset(reader, 0, sizeof(*reader));
    snprintf(reader->path, sizeof(reader->path), "%s", path);
    if (fs_open(fs, path, FS_OPEN_READ_ONLY, &reader->file) != FS_OK) {
        return storage_error_from_fs(err, fs, "opening a WAL segment");
    }
    if (fs_size(reader->file, &reader->file_size) != FS_OK) {
        int rc =
            storage_error_from_fs_at(err, fs, path, STORAGE_OFFSET_NONE, "sizing a WAL segment");
        wal_reader_close(reader);
        return rc;
    }
    /* A buffer no larger than the file: a small segment (the simulator's) costs little to read. */
    reader->buf_cap =
        reader->file_size < WAL_READER_BYTES ? (size_t)reader->file_size : WAL_READER_BYTES;
    reader->buf = malloc(reader->buf_cap > 0 ? reader->buf_cap : 1);
    if (reader->buf == NULL) {
        wal_reader_close(reader);
        return storage_error_set(err, STORAGE_ENOMEM, path, STORAGE_OFFSET_NONE,
                                 "no memory for the read buffer");
    }
    return STORAGE_OK;
}

void wal_reader_close(struct wal_reader *reader)
{
    assert(reader != NULL);
    if (reader->file != NULL) {
        (void)fs_close(reader->file);
        reader->file = NULL;
    }
    free(reader->buf);
    reader->buf = NULL;
}

int wal_reader_peek(struct wal_reader *reader, uint64_t offset, size_t len, const uint8_t **out,
                    size_t *avail, struct storage_error *err)
{
    assert(reader != NULL && reader->buf != NULL);
    assert(len <= WAL_RECORD_BYTES_MAX);
    assert(offset >= reader->buf_start);
    uint64_t want_end = offset + len;
    if (want_end > reader->file_size) {
        want_end = offset < reader->file_size ? reader->file_size : offset;
    }
    if (want_end > reader->buf_start + reader->buf_len) {
        /* Keep the bytes from `offset` on, then fill the rest of the buffer from the file. */
        size_t keep = 0;
        if (offset < reader->buf_start + reader->buf_len) {
            keep = (size_t)(reader->buf_start + reader->buf_len - offset);
            memmove(reader->buf, reader->buf + (offset - reader->buf_start), keep);
        }
        reader->buf_start = offset;
        reader->buf_len = keep;
        uint64_t file_left = reader->file_size - (offset + keep);
        assert(keep <= reader->buf_cap);
        size_t room = reader->buf_cap - keep;
        size_t want = file_left < room ? (size_t)file_left : room;
        size_t got = 0;
        if (fs_read(reader->file, offset + keep, reader->buf + keep, want, &got) != FS_OK) {
            return storage_error_from_fs_at(err, reader->file->fs, reader->path, offset + keep,
                                            "reading a WAL segment");
        }
        reader->buf_len += got;
        reader->bytes_read += got;
    }
    uint64_t have_end = reader->buf_start + reader->buf_len;
    *avail = have_end > offset ? (size_t)(have_end - offset) : 0;
    if (*avail > len) {
        *avail = len;
    }
    *out = reader->buf + (offset - reader->buf_start);
    return STORAGE_OK;
}

/* Sets *zero_start to the smallest z >= from such that bytes [z, file_size) are all zero. */
static int wal_zero_tail_start(struct wal_reader *reader, uint64_t from, uint64_t *zero_start,
                               struct storage_error *err)
{
    uint8_t chunk[4096];
    uint64_t end = reader->file_size;
    /* Walks backwards one chunk at a time: at most (file_size - from) / 4096 + 1 passes. */
    while (end > from) {
        uint64_t start = end - from > sizeof(chunk) ? end - sizeof(chunk) : from;
        size_t len = (size_t)(end - start);
        if (fs_read_exact(reader->file, start, chunk, len) != FS_OK) {
            return storage_error_from_fs_at(err, reader->file->fs, reader->path, start,
                                            "reading a WAL segment's tail");
        }
        for (size_t i = len; i > 0; i--) {
            if (chunk[i - 1] != 0) {
                *zero_start = start + i;
                return STORAGE_OK;
            }
        }
        end = start;
    }
    *zero_start = from;
    return STORAGE_OK;
}

/* R5 or R6: a damaged record is torn only if the zero-filled tail starts before `limit`. */
static int wal_classify_damage(struct wal_reader *reader, uint64_t offset, uint64_t limit,
                               int status, const char *why, struct wal_read_result *result,
                               struct storage_error *err)
{
    uint64_t zero_start = 0;
    int rc = wal_zero_tail_start(reader, offset, &zero_start, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    if (zero_start < limit) {
        result->kind = WAL_READ_TORN;
        result->why = "zero-filled record at the end of the file";
    } else {
        result->kind = WAL_READ_BAD;
        result->status = status;
        result->why = why;
    }
    return STORAGE_OK;
}

int wal_read_record(struct wal_reader *reader, uint64_t offset, struct wal_read_result *result,
                    struct storage_error *err)
{
    assert(reader != NULL && result != NULL);
    memset(result, 0, sizeof(*result));
    if (offset >= reader->file_size) { /* R1 */
        result->kind = WAL_READ_END;
        return STORAGE_OK;
    }
    const uint8_t *bytes = NULL;
    size_t avail = 0;
    int rc = wal_reader_peek(reader, offset, WAL_RECORD_HEADER_BYTES, &bytes, &avail, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    if (avail < WAL_RECORD_HEADER_BYTES) { /* R4 */
        result->kind = WAL_READ_TORN;
        result->why = "the file ends inside a record header";
        return STORAGE_OK;
    }
    const char *why = NULL;
    rc = wal_record_header_decode(bytes, &result->entry, &result->size, &why);
    if (rc != STORAGE_OK) { /* R5 or R6 */
        return wal_classify_damage(reader, offset, offset + WAL_RECORD_HEADER_BYTES, rc, why,
                                   result, err);
    }
    if (offset + result->size > reader->file_size) { /* R4 */
        result->kind = WAL_READ_TORN;
        result->why = "the file ends inside a record";
        return STORAGE_OK;
    }
    rc = wal_reader_peek(reader, offset, result->size, &bytes, &avail, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    assert(avail == result->size);
    rc = wal_record_body_check(bytes, result->size, &result->entry, &why);
    if (rc != STORAGE_OK) { /* R5 or R6 */
        return wal_classify_damage(reader, offset, offset + result->size, rc, why, result, err);
    }
    result->kind = WAL_READ_RECORD; /* R2 or R3, decided by the caller */
    return STORAGE_OK;
}

/* ---- directory listing ---- */

struct wal_listing {
    uint64_t *first_indexes;
    uint32_t count;
    uint32_t cap;
    uint32_t temp_files;
    bool over_limit;
};

static int wal_listing_add(void *arg, const char *name)
{
    struct wal_listing *listing = arg;
    uint64_t first_index = 0;
    bool is_temp = false;
    if (!wal_name_parse(name, &first_index, &is_temp)) {
        return 0; /* not ours: the store decides about foreign files */
    }
    if (is_temp) {
        listing->temp_files++;
        return 0;
    }
    if (listing->count == listing->cap) {
        listing->over_limit = true;
        return 1;
    }
    listing->first_indexes[listing->count++] = first_index;
    return 0;
}

static int wal_compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ---- scanning one segment ---- */

struct wal_scan {
    struct wal *wal;
    struct wal_recovery *recovery;
    uint64_t expected_index; /* index the next record must carry */
    uint64_t last_term;      /* term of the previous record */
};

static int wal_scan_header(struct wal_reader *reader, uint64_t name_index,
                           struct storage_error *err)
{
    if (reader->file_size < WAL_SEGMENT_HEADER_BYTES) { /* S1 */
        return storage_error_set(err, STORAGE_ECORRUPT, reader->path, 0,
                                 "segment is %" PRIu64 " bytes, shorter than its 64-byte header",
                                 reader->file_size);
    }
    const uint8_t *bytes = NULL;
    size_t avail = 0;
    int rc = wal_reader_peek(reader, 0, WAL_SEGMENT_HEADER_BYTES, &bytes, &avail, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    assert(avail == WAL_SEGMENT_HEADER_BYTES);
    uint64_t first_index = 0;
    const char *why = NULL;
    rc = wal_segment_header_decode(bytes, &first_index, &why); /* S2, S3, S4 */
    if (rc != STORAGE_OK) {
        return storage_error_set(err, rc, reader->path, 0, "%s", why);
    }
    if (first_index != name_index) { /* S5 */
        return storage_error_set(err, STORAGE_ECORRUPT, reader->path, 16,
                                 "header first index %" PRIu64 " differs from the file name",
                                 first_index);
    }
    return STORAGE_OK;
}

static int wal_scan_torn(struct wal_scan *scan, struct wal_reader *reader, uint64_t offset,
                         const char *why, bool is_last, struct storage_error *err)
{
    if (!is_last) { /* R4/R5 outside the last segment */
        return storage_error_set(err, STORAGE_ECORRUPT, reader->path, offset,
                                 "%s, but this is not the last segment", why);
    }
    struct wal_recovery *recovery = scan->recovery; /* R7 */
    recovery->torn_tail = true;
    snprintf(recovery->torn_path, sizeof(recovery->torn_path), "%s", reader->path);
    recovery->torn_offset = offset;
    recovery->torn_bytes = reader->file_size - offset;
    snprintf(recovery->torn_reason, sizeof(recovery->torn_reason), "%s", why);
    scan->wal->torn_tail = true;
    scan->wal->torn_offset = offset;
    return STORAGE_OK;
}

static int wal_scan_check_order(const struct wal_scan *scan, const struct wal_reader *reader,
                                uint64_t offset, const struct wal_entry *entry,
                                struct storage_error *err)
{
    if (entry->index != scan->expected_index) { /* R3 */
        return storage_error_set(err, STORAGE_ECORRUPT, reader->path, offset,
                                 "record index %" PRIu64 ", expected %" PRIu64, entry->index,
                                 scan->expected_index);
    }
    if (entry->term < scan->last_term) { /* R3 */
        return storage_error_set(err, STORAGE_ECORRUPT, reader->path, offset,
                                 "record term %" PRIu64 " below the previous term %" PRIu64,
                                 entry->term, scan->last_term);
    }
    return STORAGE_OK;
}

/* Scans the records of one segment from its header to its end (or torn tail). */
static int wal_scan_records(struct wal_scan *scan, struct wal_reader *reader,
                            struct wal_segment *segment, bool is_last, struct storage_error *err)
{
    uint64_t offset = WAL_SEGMENT_HEADER_BYTES;
    /* Every pass consumes a whole record (>= 52 bytes) or leaves: bounded by the file size. */
    for (;;) {
        struct wal_read_result result;
        int rc = wal_read_record(reader, offset, &result, err);
        if (rc != STORAGE_OK) {
            return rc;
        }
        if (result.kind == WAL_READ_END) {
            break;
        }
        if (result.kind == WAL_READ_TORN) {
            rc = wal_scan_torn(scan, reader, offset, result.why, is_last, err);
            if (rc != STORAGE_OK) {
                return rc;
            }
            break;
        }
        if (result.kind == WAL_READ_BAD) { /* R6 */
            return storage_error_set(err, result.status, reader->path, offset, "%s", result.why);
        }
        rc = wal_scan_check_order(scan, reader, offset, &result.entry, err);
        if (rc != STORAGE_OK) {
            return rc;
        }
        scan->expected_index++;
        scan->last_term = result.entry.term;
        scan->recovery->entries++;
        offset += result.size;
    }
    segment->last_index = scan->expected_index - 1;
    segment->last_term = scan->last_term;
    segment->end_offset = offset;
    return STORAGE_OK;
}

/* S6: a segment must start right after the previous one ends. */
static int wal_scan_gap(const struct wal_scan *scan, uint32_t position, const char *path,
                        struct storage_error *err)
{
    const struct wal *wal = scan->wal;
    const struct wal_segment *segment = &wal->segments[position];
    if (position > 0 && segment->first_index != scan->expected_index) { /* S6 */
        char previous[FS_PATH_BYTES_MAX];
        (void)wal_segment_path(wal, wal->segments[position - 1].first_index, false, previous, NULL);
        return storage_error_set(err, STORAGE_ECORRUPT, path, 16,
                                 "segment starts at index %" PRIu64 " but %s ends at %" PRIu64
                                 " (an index %s between segments)",
                                 segment->first_index, previous, scan->expected_index - 1,
                                 segment->first_index > scan->expected_index ? "gap" : "overlap");
    }
    return STORAGE_OK;
}

static int wal_scan_segment(struct wal_scan *scan, uint32_t position, bool is_last,
                            struct storage_error *err)
{
    struct wal *wal = scan->wal;
    struct wal_segment *segment = &wal->segments[position];
    char path[FS_PATH_BYTES_MAX];
    int rc = wal_segment_path(wal, segment->first_index, false, path, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    struct wal_reader reader;
    rc = wal_reader_open(&reader, wal->fs, path, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    rc = wal_scan_header(&reader, segment->first_index, err);
    if (rc == STORAGE_OK) {
        rc = wal_scan_gap(scan, position, path, err);
    }
    if (rc == STORAGE_OK) {
        scan->expected_index = segment->first_index;
        rc = wal_scan_records(scan, &reader, segment, is_last, err);
    }
    scan->recovery->bytes_scanned += reader.bytes_read;
    wal_reader_close(&reader);
    return rc;
}

/* ---- open ---- */

static int wal_list_segments(struct wal *wal, struct storage_error *err)
{
    struct wal_listing listing = { 0 };
    listing.cap = wal->config.segments_max;
    listing.first_indexes = malloc(sizeof(uint64_t) * listing.cap);
    if (listing.first_indexes == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, wal->dir, STORAGE_OFFSET_NONE,
                                 "no memory for the segment list");
    }
    int rc = fs_list(wal->fs, wal->dir, wal_listing_add, &listing);
    if (rc < 0) {
        free(listing.first_indexes);
        return storage_error_from_fs(err, wal->fs, "listing the WAL directory");
    }
    if (listing.over_limit) { /* D3 */
        free(listing.first_indexes);
        return storage_error_set(err, STORAGE_ELIMIT, wal->dir, STORAGE_OFFSET_NONE,
                                 "more than %" PRIu32 " WAL segments (segments_max)",
                                 wal->config.segments_max);
    }
    qsort(listing.first_indexes, listing.count, sizeof(uint64_t), wal_compare_u64);
    for (uint32_t i = 0; i < listing.count; i++) {
        struct wal_segment *segment = &wal->segments[i];
        segment->first_index = listing.first_indexes[i];
        segment->last_index = segment->first_index - 1;
        segment->end_offset = WAL_SEGMENT_HEADER_BYTES;
    }
    wal->segment_count = listing.count;
    wal->temp_files = listing.temp_files; /* D2 */
    free(listing.first_indexes);
    return STORAGE_OK;
}

static bool wal_config_valid(const struct wal_config *config)
{
    return config->segments_max >= 1 && config->segments_max <= WAL_SEGMENTS_MAX &&
           config->write_buffer_bytes >= WAL_RECORD_BYTES_MAX &&
           config->segment_size_bytes_max > WAL_SEGMENT_HEADER_BYTES;
}

static struct wal *wal_alloc(struct fs *fs, const char *dir, const struct wal_config *config,
                             uint64_t base_index)
{
    struct wal *wal = calloc(1, sizeof(*wal));
    if (wal == NULL) {
        return NULL;
    }
    wal->fs = fs;
    snprintf(wal->dir, sizeof(wal->dir), "%s", dir);
    wal->config = *config;
    wal->base_index = base_index;
    wal->state = WAL_STATE_SCANNED;
    wal->segment_cap = config->segments_max;
    wal->segments = calloc(wal->segment_cap, sizeof(*wal->segments));
    if (wal->segments == NULL) {
        wal_close(wal);
        return NULL;
    }
    return wal;
}

static void wal_fill_recovery(const struct wal *wal, struct wal_recovery *recovery)
{
    recovery->first_index = wal_first_index(wal);
    recovery->last_index = wal_last_index(wal);
    recovery->last_term = wal->last_term;
    recovery->segment_count = wal->segment_count;
    recovery->temp_files = wal->temp_files;
}

int wal_open(struct fs *fs, const char *dir, const struct wal_config *config, uint64_t base_index,
             struct wal **out, struct wal_recovery *recovery, struct storage_error *err)
{
    assert(fs != NULL && dir != NULL && config != NULL && out != NULL);
    assert(base_index >= 1);
    storage_error_clear(err);
    *out = NULL;
    if (!wal_config_valid(config)) {
        return storage_error_set(err, STORAGE_EINVAL, dir, STORAGE_OFFSET_NONE,
                                 "invalid WAL configuration (segments_max, write buffer, "
                                 "segment size)");
    }
    struct wal_recovery scratch;
    if (recovery == NULL) {
        recovery = &scratch;
    }
    memset(recovery, 0, sizeof(*recovery));
    struct wal *wal = wal_alloc(fs, dir, config, base_index);
    if (wal == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, dir, STORAGE_OFFSET_NONE,
                                 "no memory for the WAL");
    }
    int rc = wal_list_segments(wal, err);
    struct wal_scan scan = { .wal = wal, .recovery = recovery };
    for (uint32_t i = 0; rc == STORAGE_OK && i < wal->segment_count; i++) {
        rc = wal_scan_segment(&scan, i, i + 1 == wal->segment_count, err);
    }
    if (rc != STORAGE_OK) {
        wal_close(wal);
        return rc;
    }
    wal->last_term = scan.last_term;
    wal_fill_recovery(wal, recovery);
    *out = wal;
    return STORAGE_OK;
}

/* ---- repair ---- */

static int wal_repair_torn_tail(struct wal *wal, struct storage_error *err)
{
    assert(wal->segment_count > 0);
    int rc = wal_tail_open(wal, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    if (fs_truncate(wal->tail, wal->torn_offset) != FS_OK || fs_sync(wal->tail) != FS_OK) {
        return storage_error_from_fs(err, wal->fs, "truncating the torn end of the WAL");
    }
    wal->torn_tail = false;
    return STORAGE_OK;
}

static bool wal_is_temp_name(const char *name)
{
    uint64_t first_index = 0;
    bool is_temp = false;
    return wal_name_parse(name, &first_index, &is_temp) && is_temp;
}

static int wal_repair_temp_files(struct wal *wal, struct storage_error *err)
{
    uint32_t removed = 0;
    int rc = storage_unlink_matching(wal->fs, wal->dir, wal_is_temp_name, wal->temp_files, &removed,
                                     err);
    if (rc == STORAGE_OK && fs_sync_dir(wal->fs, wal->dir) != FS_OK) {
        rc = storage_error_from_fs(err, wal->fs, "syncing the WAL directory");
    }
    if (rc == STORAGE_OK) {
        wal->temp_files = 0;
    }
    return rc;
}

/* What the scan read may be only in the page cache: a process that died between a write and its
 * sync (the machine kept running) leaves its writes and directory entries readable but not
 * durable, and the restarted node would act on entries a power loss can still take away. Only the
 * last segment can hold unsynced records (every other one was synced before the next was
 * created); the directory may hold unsynced segment creations, renames and unlinks. */
static int wal_repair_sync(struct wal *wal, struct storage_error *err)
{
    assert(wal->tail != NULL);
    if (fs_sync(wal->tail) != FS_OK) {
        return storage_error_from_fs(err, wal->fs, "syncing the last WAL segment");
    }
    if (fs_sync_dir(wal->fs, wal->dir) != FS_OK) {
        return storage_error_from_fs(err, wal->fs, "syncing the WAL directory");
    }
    return STORAGE_OK;
}

int wal_repair(struct wal *wal, struct storage_error *err)
{
    assert(wal != NULL);
    assert(wal->iterators_open == 0);
    storage_error_clear(err);
    if (wal->state == WAL_STATE_READY) {
        return STORAGE_OK;
    }
    if (wal->state == WAL_STATE_FAILED) {
        return storage_error_set(err, STORAGE_EFAILED, wal->dir, STORAGE_OFFSET_NONE,
                                 "an earlier WAL write failed; reopen");
    }
    int rc = STORAGE_OK;
    if (wal->torn_tail) { /* R7 */
        rc = wal_repair_torn_tail(wal, err);
    }
    if (rc == STORAGE_OK && wal->temp_files > 0) { /* D2 */
        rc = wal_repair_temp_files(wal, err);
    }
    if (rc == STORAGE_OK && wal->segment_count == 0) { /* D1 */
        rc = wal_segment_create(wal, wal->base_index, err);
    }
    if (rc == STORAGE_OK && wal->tail == NULL) {
        rc = wal_tail_open(wal, err);
    }
    if (rc == STORAGE_OK) {
        rc = wal_repair_sync(wal, err);
    }
    if (rc != STORAGE_OK) {
        wal->state = WAL_STATE_FAILED;
        return rc;
    }
    wal->state = WAL_STATE_READY;
    return STORAGE_OK;
}

/* ---- iteration ---- */

static int wal_iter_enter_segment(struct wal_iter *iter, uint32_t position,
                                  struct storage_error *err)
{
    if (iter->reader_open) {
        wal_reader_close(&iter->reader);
        iter->reader_open = false;
    }
    char path[FS_PATH_BYTES_MAX];
    int rc =
        wal_segment_path(iter->wal, iter->wal->segments[position].first_index, false, path, err);
    if (rc == STORAGE_OK) {
        rc = wal_reader_open(&iter->reader, iter->wal->fs, path, err);
    }
    if (rc != STORAGE_OK) {
        return rc;
    }
    iter->reader_open = true;
    iter->position = position;
    iter->offset = WAL_SEGMENT_HEADER_BYTES;
    return STORAGE_OK;
}

/* Reads the record at the iterator's position; any surprise now is damage after the scan. */
static int wal_iter_read(struct wal_iter *iter, struct wal_entry *entry, struct storage_error *err)
{
    struct wal_read_result result;
    int rc = wal_read_record(&iter->reader, iter->offset, &result, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    if (result.kind != WAL_READ_RECORD || result.entry.index != iter->next_index) {
        const char *why = result.why != NULL ? result.why : "unexpected record index";
        return storage_error_set(err, STORAGE_ECORRUPT, iter->reader.path, iter->offset,
                                 "%s (changed since the WAL was opened)", why);
    }
    *entry = result.entry;
    iter->offset += result.size;
    iter->next_index++;
    return STORAGE_OK;
}

int wal_iter_next(struct wal_iter *iter, struct wal_entry *entry, struct storage_error *err)
{
    assert(iter != NULL && entry != NULL);
    struct wal *wal = iter->wal;
    if (iter->next_index > iter->last_index) {
        return 0;
    }
    /* Skips segments that end before next_index: at most segment_count passes. */
    while (wal->segments[iter->position].last_index < iter->next_index) {
        assert(iter->position + 1 < wal->segment_count);
        int rc = wal_iter_enter_segment(iter, iter->position + 1, err);
        if (rc != STORAGE_OK) {
            return rc;
        }
    }
    int rc = wal_iter_read(iter, entry, err);
    return rc == STORAGE_OK ? 1 : rc;
}

uint32_t wal_segment_holding(const struct wal *wal, uint64_t index)
{
    uint32_t lo = 0;
    uint32_t hi = wal->segment_count;
    while (hi - lo > 1) { /* binary search: log2(segment_count) passes */
        uint32_t mid = lo + (hi - lo) / 2;
        if (wal->segments[mid].first_index <= index) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int wal_iter_open(struct wal *wal, uint64_t from_index, struct wal_iter **out,
                  struct storage_error *err)
{
    assert(wal != NULL && out != NULL);
    assert(wal->state != WAL_STATE_FAILED);
    assert(from_index >= wal_first_index(wal));
    storage_error_clear(err);
    *out = NULL;
    struct wal_iter *iter = calloc(1, sizeof(*iter));
    if (iter == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, wal->dir, STORAGE_OFFSET_NONE, "no memory");
    }
    iter->wal = wal;
    iter->next_index = from_index;
    iter->last_index = wal_last_index(wal);
    wal->iterators_open++;
    if (from_index <= iter->last_index) {
        int rc = wal_iter_enter_segment(iter, wal_segment_holding(wal, from_index), err);
        /* Skip the records before from_index in that segment, checking each. */
        struct wal_entry skipped;
        iter->next_index = wal->segments[iter->position].first_index;
        while (rc == STORAGE_OK && iter->next_index < from_index) {
            rc = wal_iter_read(iter, &skipped, err);
        }
        if (rc != STORAGE_OK) {
            wal_iter_close(iter);
            return rc;
        }
    }
    *out = iter;
    return STORAGE_OK;
}

void wal_iter_close(struct wal_iter *iter)
{
    if (iter == NULL) {
        return;
    }
    assert(iter->wal->iterators_open > 0);
    iter->wal->iterators_open--;
    if (iter->reader_open) {
        wal_reader_close(&iter->reader);
    }
    free(iter);
}
