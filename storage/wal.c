/* The WAL's changing operations: group-committed appends, suffix truncation, prefix drops, reset.
 */
#include "storage/wal_internal.h"

#include "storage/names.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The on-disk formats are the byte tables in storage/wal_format.h; the recovery decision table is
 * in storage/wal_recover.c; the crash-safety argument of each operation is in storage/wal.h. */

void wal_config_default(struct wal_config *config)
{
    assert(config != NULL);
    config->segment_size_bytes_max = 64u << 20;
    config->write_buffer_bytes = 2u << 20;
    config->segments_max = 4096;
}

bool wal_name_parse(const char *name, uint64_t *first_index, bool *is_temp)
{
    assert(name != NULL && first_index != NULL && is_temp != NULL);
    /* "wal-" + 16 lowercase hex digits + ".seg" [+ ".tmp"] */
    size_t len = strlen(name);
    if ((len != 24 && len != 28) || strncmp(name, "wal-", 4) != 0 ||
        strncmp(name + 20, ".seg", 4) != 0) {
        return false;
    }
    if (len == 28 && strcmp(name + 24, ".tmp") != 0) {
        return false;
    }
    uint64_t value = 0;
    if (!storage_hex16_parse(name + 4, &value) || value == 0) {
        return false;
    }
    *first_index = value;
    *is_temp = len == 28;
    return true;
}

void wal_segment_name(char *out, size_t out_size, uint64_t first_index)
{
    assert(out != NULL && out_size >= 25);
    snprintf(out, out_size, "wal-%016" PRIx64 ".seg", first_index);
}

int wal_segment_path(const struct wal *wal, uint64_t first_index, bool temp, char *out,
                     struct storage_error *err)
{
    char name[FS_NAME_BYTES_MAX];
    wal_segment_name(name, sizeof(name), first_index);
    if (temp) {
        strcat(name, ".tmp");
    }
    if (fs_path_join(out, wal->dir, name) != FS_OK) {
        return storage_error_set(err, STORAGE_EINVAL, wal->dir, STORAGE_OFFSET_NONE,
                                 "WAL directory path too long");
    }
    return STORAGE_OK;
}

uint64_t wal_first_index(const struct wal *wal)
{
    assert(wal != NULL);
    return wal->segment_count > 0 ? wal->segments[0].first_index : wal->base_index;
}

uint64_t wal_last_index(const struct wal *wal)
{
    assert(wal != NULL);
    if (wal->segment_count == 0) {
        return wal->base_index - 1;
    }
    return wal->segments[wal->segment_count - 1].last_index;
}

uint64_t wal_last_term(const struct wal *wal)
{
    assert(wal != NULL);
    return wal->last_term;
}

uint32_t wal_segment_count(const struct wal *wal)
{
    assert(wal != NULL);
    return wal->segment_count;
}

void wal_close(struct wal *wal)
{
    if (wal == NULL) {
        return;
    }
    assert(wal->iterators_open == 0);
    if (wal->tail != NULL) {
        (void)fs_close(wal->tail); /* after a crash the handle is stale: close still frees it */
    }
    free(wal->segments);
    free(wal->buffer);
    free(wal);
}

/* Every failed write, sync or directory change poisons the WAL: the disk state is unknown. */
static int wal_fail(struct wal *wal, struct storage_error *err, const char *what)
{
    wal->state = WAL_STATE_FAILED;
    return storage_error_from_fs(err, wal->fs, what);
}

static int wal_check_writable(const struct wal *wal, struct storage_error *err)
{
    assert(wal->iterators_open == 0);
    assert(wal->state != WAL_STATE_SCANNED); /* wal_repair first */
    if (wal->state == WAL_STATE_FAILED) {
        return storage_error_set(err, STORAGE_EFAILED, wal->dir, STORAGE_OFFSET_NONE,
                                 "an earlier WAL write or sync failed; close and reopen");
    }
    assert(wal->tail != NULL);
    return STORAGE_OK;
}

int wal_tail_open(struct wal *wal, struct storage_error *err)
{
    assert(wal->segment_count > 0);
    if (wal->tail != NULL) {
        (void)fs_close(wal->tail);
        wal->tail = NULL;
    }
    char path[FS_PATH_BYTES_MAX];
    int rc =
        wal_segment_path(wal, wal->segments[wal->segment_count - 1].first_index, false, path, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    if (fs_open(wal->fs, path, 0, &wal->tail) != FS_OK) {
        return wal_fail(wal, err, "opening the last WAL segment");
    }
    return STORAGE_OK;
}

static int wal_segment_write_temp(struct wal *wal, const char *temp, uint64_t first_index,
                                  struct storage_error *err)
{
    uint8_t header[WAL_SEGMENT_HEADER_BYTES];
    wal_segment_header_encode(header, first_index);
    struct fs_file *file = NULL;
    if (fs_open(wal->fs, temp, FS_OPEN_CREATE, &file) != FS_OK) {
        return wal_fail(wal, err, "creating a WAL segment");
    }
    int rc = STORAGE_OK;
    if (fs_truncate(file, 0) != FS_OK || fs_write(file, 0, header, sizeof(header)) != FS_OK ||
        fs_sync(file) != FS_OK) {
        rc = wal_fail(wal, err, "writing a new WAL segment header");
    }
    if (fs_close(file) != FS_OK && rc == STORAGE_OK) {
        rc = wal_fail(wal, err, "closing a new WAL segment");
    }
    return rc;
}

int wal_segment_create(struct wal *wal, uint64_t first_index, struct storage_error *err)
{
    assert(first_index >= 1);
    assert(wal->segment_count == 0 ||
           wal->segments[wal->segment_count - 1].last_index + 1 == first_index);
    if (wal->segment_count == wal->segment_cap) {
        return storage_error_set(err, STORAGE_ELIMIT, wal->dir, STORAGE_OFFSET_NONE,
                                 "WAL has segments_max (%" PRIu32 ") segments; compact the log",
                                 wal->segment_cap);
    }
    char temp[FS_PATH_BYTES_MAX];
    char path[FS_PATH_BYTES_MAX];
    int rc = wal_segment_path(wal, first_index, true, temp, err);
    if (rc == STORAGE_OK) {
        rc = wal_segment_path(wal, first_index, false, path, err);
    }
    if (rc == STORAGE_OK) {
        rc = wal_segment_write_temp(wal, temp, first_index, err);
    }
    if (rc != STORAGE_OK) {
        return rc;
    }
    if (fs_rename(wal->fs, temp, path) != FS_OK || fs_sync_dir(wal->fs, wal->dir) != FS_OK) {
        return wal_fail(wal, err, "installing a new WAL segment");
    }
    struct wal_segment *segment = &wal->segments[wal->segment_count++];
    segment->first_index = first_index;
    segment->last_index = first_index - 1;
    segment->last_term = wal->last_term;
    segment->end_offset = WAL_SEGMENT_HEADER_BYTES;
    return wal_tail_open(wal, err);
}

/* ---- append ---- */

/* True when a record of `record` bytes goes to a new segment: the segment, filled up to `end`, is
 * not empty and would pass its size bound. One rule for planning a batch and for writing it. */
static bool wal_roll_needed(const struct wal *wal, uint64_t end, size_t record)
{
    return end != WAL_SEGMENT_HEADER_BYTES && end + record > wal->config.segment_size_bytes_max;
}

/* Segments the batch would create, planned before anything is written so that a batch passing
 * segments_max is refused whole instead of being cut after a durable prefix. */
static uint32_t wal_append_new_segments(const struct wal *wal, const struct wal_entry *entries,
                                        size_t count)
{
    uint64_t end = wal->segments[wal->segment_count - 1].end_offset;
    uint32_t added = 0;
    for (size_t i = 0; i < count; i++) { /* count <= WAL_BATCH_ENTRIES_MAX */
        size_t record = wal_record_size(entries[i].data_len);
        if (wal_roll_needed(wal, end, record)) {
            added++;
            end = WAL_SEGMENT_HEADER_BYTES;
        }
        end += record;
    }
    return added;
}

static int wal_append_check(const struct wal *wal, const struct wal_entry *entries, size_t count,
                            struct storage_error *err)
{
    if (count == 0 || count > WAL_BATCH_ENTRIES_MAX) {
        return storage_error_set(err, STORAGE_EINVAL, wal->dir, STORAGE_OFFSET_NONE,
                                 "batch of %zu entries (1..%u allowed)", count,
                                 WAL_BATCH_ENTRIES_MAX);
    }
    uint64_t expected = wal_last_index(wal) + 1;
    uint64_t term = wal->last_term;
    for (size_t i = 0; i < count; i++) {
        const struct wal_entry *entry = &entries[i];
        assert(entry->data != NULL || entry->data_len == 0);
        if (entry->index != expected + i) {
            return storage_error_set(err, STORAGE_EINVAL, wal->dir, STORAGE_OFFSET_NONE,
                                     "append of index %" PRIu64 ", expected %" PRIu64, entry->index,
                                     expected + i);
        }
        if (entry->term < term) {
            return storage_error_set(err, STORAGE_EINVAL, wal->dir, STORAGE_OFFSET_NONE,
                                     "append of term %" PRIu64 " after term %" PRIu64
                                     " (terms never decrease along the log)",
                                     entry->term, term);
        }
        if (entry->data_len > WAL_ENTRY_DATA_BYTES_MAX) {
            return storage_error_set(err, STORAGE_ELIMIT, wal->dir, STORAGE_OFFSET_NONE,
                                     "entry %" PRIu64 " has %" PRIu32
                                     " bytes, above WAL_ENTRY_DATA_BYTES_MAX",
                                     entry->index, entry->data_len);
        }
        term = entry->term;
    }
    uint32_t added = wal_append_new_segments(wal, entries, count);
    if (added > wal->segment_cap - wal->segment_count) {
        return storage_error_set(err, STORAGE_ELIMIT, wal->dir, STORAGE_OFFSET_NONE,
                                 "the batch needs %" PRIu32 " more segments, above segments_max "
                                 "(%" PRIu32 "); compact the log (nothing written)",
                                 added, wal->segment_cap);
    }
    return STORAGE_OK;
}

/* The part of a batch in the write buffer, not yet written. */
struct wal_chunk {
    size_t used;         /* bytes in wal->buffer */
    uint64_t last_index; /* of the last buffered record */
    uint64_t last_term;
};

/* Writes the buffered records at the end of the tail segment and syncs: one durability point. */
static int wal_chunk_flush(struct wal *wal, struct wal_chunk *chunk, struct storage_error *err)
{
    if (chunk->used == 0) {
        return STORAGE_OK;
    }
    assert(wal->tail != NULL);
    assert(chunk->used <= wal->buffer_cap);
    struct wal_segment *segment = &wal->segments[wal->segment_count - 1];
    assert(chunk->last_index > segment->last_index);
    assert(chunk->last_term >= wal->last_term);
    if (fs_write(wal->tail, segment->end_offset, wal->buffer, chunk->used) != FS_OK) {
        return wal_fail(wal, err, "appending to the WAL");
    }
    if (fs_sync(wal->tail) != FS_OK) {
        return wal_fail(wal, err, "syncing the WAL");
    }
    segment->end_offset += chunk->used;
    segment->last_index = chunk->last_index;
    segment->last_term = chunk->last_term;
    wal->last_term = chunk->last_term;
    chunk->used = 0;
    return STORAGE_OK;
}

/* True when the record should go to a new segment (the tail's end counts the buffered bytes). */
static bool wal_needs_roll(const struct wal *wal, const struct wal_chunk *chunk, size_t record)
{
    const struct wal_segment *segment = &wal->segments[wal->segment_count - 1];
    return wal_roll_needed(wal, segment->end_offset + chunk->used, record);
}

static int wal_append_one(struct wal *wal, struct wal_chunk *chunk, const struct wal_entry *entry,
                          struct storage_error *err)
{
    size_t record = wal_record_size(entry->data_len);
    assert(record <= wal->buffer_cap);
    int rc = STORAGE_OK;
    if (chunk->used + record > wal->buffer_cap) {
        rc = wal_chunk_flush(wal, chunk, err);
    }
    if (rc == STORAGE_OK && wal_needs_roll(wal, chunk, record)) {
        rc = wal_chunk_flush(wal, chunk, err); /* durable before the next segment exists */
        if (rc == STORAGE_OK) {
            rc = wal_segment_create(wal, entry->index, err);
        }
    }
    if (rc != STORAGE_OK) {
        return rc;
    }
    chunk->used += wal_record_encode(wal->buffer + chunk->used, entry);
    chunk->last_index = entry->index;
    chunk->last_term = entry->term;
    return STORAGE_OK;
}

/* Grows the write buffer to hold the batch (up to config.write_buffer_bytes, beyond which the
 * batch is written in parts), before anything is written: a failed allocation writes nothing. */
static int wal_buffer_reserve(struct wal *wal, const struct wal_entry *entries, size_t count,
                              struct storage_error *err)
{
    size_t max = wal->config.write_buffer_bytes;
    size_t need = 0;
    for (size_t i = 0; i < count && need < max; i++) { /* count <= WAL_BATCH_ENTRIES_MAX */
        need += wal_record_size(entries[i].data_len);
    }
    need = need < max ? need : max;
    if (need <= wal->buffer_cap) {
        return STORAGE_OK;
    }
    size_t cap = wal->buffer_cap > max / 2 ? max : wal->buffer_cap * 2;
    cap = cap > need ? cap : need;
    uint8_t *buffer = realloc(wal->buffer, cap);
    if (buffer == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, wal->dir, STORAGE_OFFSET_NONE,
                                 "no memory for a %zu-byte write buffer (nothing written)", cap);
    }
    wal->buffer = buffer;
    wal->buffer_cap = cap;
    return STORAGE_OK;
}

int wal_append(struct wal *wal, const struct wal_entry *entries, size_t count,
               struct storage_error *err)
{
    assert(wal != NULL);
    assert(entries != NULL || count == 0);
    storage_error_clear(err);
    int rc = wal_check_writable(wal, err);
    if (rc == STORAGE_OK) {
        rc = wal_append_check(wal, entries, count, err);
    }
    if (rc == STORAGE_OK) {
        rc = wal_buffer_reserve(wal, entries, count, err);
    }
    struct wal_chunk chunk = { 0 };
    for (size_t i = 0; rc == STORAGE_OK && i < count; i++) {
        rc = wal_append_one(wal, &chunk, &entries[i], err);
    }
    if (rc == STORAGE_OK) {
        rc = wal_chunk_flush(wal, &chunk, err);
    }
    assert(rc != STORAGE_OK || wal_last_index(wal) == entries[count - 1].index);
    return rc;
}

/* ---- truncation, prefix drop, reset ---- */

/* Finds where record `index` starts in segment `position` (WAL_SEGMENT_HEADER_BYTES when it is
 * the first) and the term of the record before it. Reads and checks every record on the way. */
static int wal_find_record(struct wal *wal, uint32_t position, uint64_t index, uint64_t *offset,
                           uint64_t *previous_term, struct storage_error *err)
{
    const struct wal_segment *segment = &wal->segments[position];
    assert(segment->first_index <= index && index <= segment->last_index + 1);
    *offset = WAL_SEGMENT_HEADER_BYTES;
    *previous_term = position > 0 ? wal->segments[position - 1].last_term : 0;
    if (index == segment->first_index) {
        return STORAGE_OK;
    }
    struct wal_iter *iter = NULL;
    int rc = wal_iter_open(wal, segment->first_index, &iter, err);
    struct wal_entry entry;
    /* Reads index - first_index records, each checked. */
    for (uint64_t i = segment->first_index; rc == STORAGE_OK && i < index; i++) {
        rc = wal_iter_next(iter, &entry, err);
        if (rc == 1) {
            *previous_term = entry.term;
            rc = STORAGE_OK;
        } else if (rc == 0) { /* wal_iter_next ends only past the last index: cannot happen */
            rc = storage_error_set(err, STORAGE_ECORRUPT, wal->dir, STORAGE_OFFSET_NONE,
                                   "entry %" PRIu64 " missing from the log", i);
        }
    }
    if (rc == STORAGE_OK) {
        assert(iter->position == position);
        *offset = iter->offset;
    }
    wal_iter_close(iter);
    return rc;
}

static int wal_unlink_segment(struct wal *wal, uint32_t position, struct storage_error *err)
{
    char path[FS_PATH_BYTES_MAX];
    int rc = wal_segment_path(wal, wal->segments[position].first_index, false, path, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    /* Each unlink is made durable before the next, so a crash leaves a contiguous log. */
    if (fs_unlink(wal->fs, path) != FS_OK || fs_sync_dir(wal->fs, wal->dir) != FS_OK) {
        return wal_fail(wal, err, "removing a WAL segment");
    }
    return STORAGE_OK;
}

static int wal_pop_last_segment(struct wal *wal, struct storage_error *err)
{
    assert(wal->segment_count > 0);
    if (wal->tail != NULL) {
        (void)fs_close(wal->tail);
        wal->tail = NULL;
    }
    int rc = wal_unlink_segment(wal, wal->segment_count - 1, err);
    if (rc == STORAGE_OK) {
        wal->segment_count--;
    }
    return rc;
}

int wal_truncate_suffix(struct wal *wal, uint64_t index, struct storage_error *err)
{
    assert(wal != NULL);
    storage_error_clear(err);
    int rc = wal_check_writable(wal, err);
    if (rc != STORAGE_OK || index > wal_last_index(wal)) {
        return rc;
    }
    if (index < wal_first_index(wal)) {
        return storage_error_set(err, STORAGE_EINVAL, wal->dir, STORAGE_OFFSET_NONE,
                                 "truncation from %" PRIu64 " below the first index %" PRIu64,
                                 index, wal_first_index(wal));
    }
    uint32_t keep = wal_segment_holding(wal, index);
    uint64_t offset = 0;
    uint64_t previous_term = 0;
    rc = wal_find_record(wal, keep, index, &offset, &previous_term, err); /* before any change */
    while (rc == STORAGE_OK && wal->segment_count > keep + 1) {           /* newest first */
        rc = wal_pop_last_segment(wal, err);
    }
    if (rc == STORAGE_OK && wal->tail == NULL) {
        rc = wal_tail_open(wal, err);
    }
    if (rc != STORAGE_OK) {
        return rc;
    }
    if (fs_truncate(wal->tail, offset) != FS_OK || fs_sync(wal->tail) != FS_OK) {
        return wal_fail(wal, err, "truncating the WAL");
    }
    struct wal_segment *segment = &wal->segments[keep];
    segment->end_offset = offset;
    segment->last_index = index - 1;
    segment->last_term = previous_term;
    wal->last_term = previous_term;
    assert(wal->segment_count == keep + 1);
    assert(wal_last_index(wal) == index - 1);
    return STORAGE_OK;
}

int wal_drop_prefix(struct wal *wal, uint64_t index, struct storage_error *err)
{
    assert(wal != NULL);
    storage_error_clear(err);
    int rc = wal_check_writable(wal, err);
    uint64_t first_before = wal_first_index(wal);
    /* Oldest first; never the last segment. At most segment_count - 1 passes. */
    while (rc == STORAGE_OK && wal->segment_count > 1 && wal->segments[1].first_index <= index) {
        rc = wal_unlink_segment(wal, 0, err);
        if (rc == STORAGE_OK) {
            memmove(&wal->segments[0], &wal->segments[1],
                    sizeof(wal->segments[0]) * (wal->segment_count - 1));
            wal->segment_count--;
        }
    }
    /* never an entry >= index dropped, never the last segment */
    assert(wal_first_index(wal) <= (index > first_before ? index : first_before));
    assert(wal->segment_count >= 1);
    (void)first_before;
    return rc;
}

int wal_reset(struct wal *wal, uint64_t next_index, struct storage_error *err)
{
    assert(wal != NULL);
    assert(next_index >= 1);
    storage_error_clear(err);
    int rc = wal_check_writable(wal, err);
    while (rc == STORAGE_OK && wal->segment_count > 0) { /* newest first */
        rc = wal_pop_last_segment(wal, err);
    }
    if (rc != STORAGE_OK) {
        return rc;
    }
    wal->base_index = next_index;
    wal->last_term = 0;
    return wal_segment_create(wal, next_index, err);
}
