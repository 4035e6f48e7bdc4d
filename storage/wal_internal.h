/* The WAL's in-memory state and helpers shared by storage/wal.c and storage/wal_recover.c. */
#ifndef FLOWRAFT_STORAGE_WAL_INTERNAL_H
#define FLOWRAFT_STORAGE_WAL_INTERNAL_H

#include "storage/wal.h"
#include "storage/wal_format.h"

#define WAL_READ_CHUNK_BYTES (1u << 20) /* sequential reads are this large */
#define WAL_READER_BYTES     (WAL_READ_CHUNK_BYTES + WAL_RECORD_BYTES_MAX)

struct wal_segment {
    uint64_t first_index; /* from the file name, checked against the header */
    uint64_t last_index;  /* invariant: >= first_index - 1 (first_index - 1: no record) */
    uint64_t last_term;   /* term of last_index; the previous segment's when empty */
    uint64_t end_offset;  /* invariant: >= WAL_SEGMENT_HEADER_BYTES; end of the last record */
};

enum wal_state {
    WAL_STATE_SCANNED, /* opened and validated; readable; not yet repaired */
    WAL_STATE_READY,   /* repaired; tail is open for appends */
    WAL_STATE_FAILED,  /* a write or sync failed: only close is allowed */
};

struct wal {
    struct fs *fs;
    char dir[FS_PATH_BYTES_MAX];
    struct wal_config config;
    enum wal_state state;
    struct wal_segment *segments; /* sorted by first_index; chained without gaps */
    uint32_t segment_count;       /* invariant: <= config.segments_max */
    uint32_t segment_cap;
    uint64_t base_index;     /* where an empty log starts (no segment yet) */
    uint64_t last_term;      /* term of the last entry, 0 when the log is empty */
    struct fs_file *tail;    /* read-write handle on the last segment when READY */
    uint8_t *buffer;         /* the write buffer, grown on demand (wal_append) */
    size_t buffer_cap;       /* invariant: <= config.write_buffer_bytes */
    uint32_t iterators_open; /* invariant: 0 whenever the log changes */
    /* repairs decided by wal_open, applied by wal_repair */
    bool torn_tail;
    uint64_t torn_offset;
    uint32_t temp_files;
};

/* A forward-only buffered reader over one segment file. */
struct wal_reader {
    struct fs_file *file;
    char path[FS_PATH_BYTES_MAX];
    uint64_t file_size;
    uint8_t *buf;        /* buf_cap bytes */
    size_t buf_cap;      /* min(WAL_READER_BYTES, file size): a whole small segment, or a chunk
                            plus the largest record */
    uint64_t buf_start;  /* file offset of buf[0] */
    size_t buf_len;      /* valid bytes in buf */
    uint64_t bytes_read; /* total read from the file */
};

/* Opens `path` read-only into `reader` (buffer allocated). */
int wal_reader_open(struct wal_reader *reader, struct fs *fs, const char *path,
                    struct storage_error *err);
void wal_reader_close(struct wal_reader *reader);
/* Makes [offset, offset + len) available at *out; *avail < len only at end of file. `offset` must
 * not go backwards between calls; len <= WAL_RECORD_BYTES_MAX. */
int wal_reader_peek(struct wal_reader *reader, uint64_t offset, size_t len, const uint8_t **out,
                    size_t *avail, struct storage_error *err);

/* Outcome of reading one record during a scan. */
enum wal_read {
    WAL_READ_RECORD, /* a valid record: entry and size filled */
    WAL_READ_END,    /* offset is the end of the file */
    WAL_READ_TORN,   /* an incomplete or zero-filled record: a crash in the middle of an append */
    WAL_READ_BAD,    /* a damaged record: status and why say what */
};

struct wal_read_result {
    enum wal_read kind;
    struct wal_entry entry;
    size_t size;
    int status;      /* for WAL_READ_BAD: STORAGE_ECORRUPT or STORAGE_EFORMAT */
    const char *why; /* for WAL_READ_TORN and WAL_READ_BAD */
};

/* Reads and classifies the record at `offset` (decision rows R1-R6 of storage/wal_recover.c).
 * Returns < 0 only on an I/O error. */
int wal_read_record(struct wal_reader *reader, uint64_t offset, struct wal_read_result *result,
                    struct storage_error *err);

/* dir/name of segment `first_index` (temp: with ".tmp"). */
int wal_segment_path(const struct wal *wal, uint64_t first_index, bool temp, char *out,
                     struct storage_error *err);

/* Creates segment `first_index` durably (temp, sync, rename, sync dir), appends it to the table
 * and makes it the open tail. */
int wal_segment_create(struct wal *wal, uint64_t first_index, struct storage_error *err);

/* Opens the last segment read-write as the tail (closing any previous tail). */
int wal_tail_open(struct wal *wal, struct storage_error *err);

/* Position of the last segment whose first index is <= index (0 when none). */
uint32_t wal_segment_holding(const struct wal *wal, uint64_t index);

struct wal_iter {
    struct wal *wal;
    uint32_t position; /* segment being read */
    bool reader_open;
    struct wal_reader reader;
    uint64_t offset;     /* next record's offset in the segment */
    uint64_t next_index; /* index the next record must carry */
    uint64_t last_index; /* the iteration ends after this index */
};

#endif
