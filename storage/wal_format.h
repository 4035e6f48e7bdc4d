/* The WAL's on-disk formats (segment header and record), internal to storage/wal*.c. */
#ifndef FLOWRAFT_STORAGE_WAL_FORMAT_H
#define FLOWRAFT_STORAGE_WAL_FORMAT_H

#include "storage/wal.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Segment file "wal-<first index as 16 lowercase hex digits>.seg": a 64-byte header, then records
 * back to back. All integers little-endian.
 *
 *   offset  size  field
 *   0       8     magic "FRWALSEG"
 *   8       4     format version (WAL_FORMAT_VERSION = 1)
 *   12      4     header size in bytes (64)
 *   16      8     first index: the index of the segment's first record; equals the file name
 *   24      32    reserved, zero
 *   56      8     XXH3-64 of bytes [0, 56) seeded with WAL_SEED_SEGMENT
 *
 * Record (52 + n bytes):
 *
 *   offset  size  field
 *   0       4     magic "FRWR"
 *   4       1     format version (1)
 *   5       1     record type (1 = entry; no other type exists in version 1)
 *   6       1     entry type (opaque to the WAL: the Raft core's NOOP, COMMAND, CONFIG)
 *   7       1     reserved, zero
 *   8       4     payload length n, n <= WAL_ENTRY_DATA_BYTES_MAX (1 MiB)
 *   12      4     reserved, zero
 *   16      8     index (>= 1; the previous record's index + 1)
 *   24      8     term (>= the previous record's term)
 *   32      8     header checksum: XXH3-64 of bytes [0, 32) seeded with WAL_SEED_HEADER
 *   40      n     payload
 *   40+n    8     record checksum: XXH3-64 of bytes [0, 40+n) seeded with WAL_SEED_RECORD
 *                 (header, header checksum and payload)
 *   48+n    4     end mark "WEND"
 *
 * Why a header checksum as well: a flipped bit in the length must not make a complete, acknowledged
 * record look like one cut short by a crash (which recovery would drop). Why an end mark without
 * zero bytes: a fully written record never ends in a zero byte, so a zero-filled tail (what some
 * file systems show after a crash in the middle of an append) is told apart from a damaged
 * complete record.
 */

#define WAL_SEGMENT_HEADER_BYTES  64u
#define WAL_RECORD_HEADER_BYTES   40u
#define WAL_RECORD_TRAILER_BYTES  12u
#define WAL_RECORD_OVERHEAD_BYTES (WAL_RECORD_HEADER_BYTES + WAL_RECORD_TRAILER_BYTES)
#define WAL_RECORD_BYTES_MAX      (WAL_RECORD_OVERHEAD_BYTES + WAL_ENTRY_DATA_BYTES_MAX)
#define WAL_RECORD_TYPE_ENTRY     1u

#define WAL_SEED_SEGMENT 0x46524157414c5347ULL /* "FRAWALSG" */
#define WAL_SEED_HEADER  0x46524157414c4844ULL /* "FRAWALHD" */
#define WAL_SEED_RECORD  0x46524157414c5243ULL /* "FRAWALRC" */

/* Fills the 64-byte segment header. */
void wal_segment_header_encode(uint8_t *out, uint64_t first_index);

/* Checks a segment header. Returns STORAGE_OK, STORAGE_EFORMAT (bad magic, unknown version: not
 * a segment of this build) or STORAGE_ECORRUPT (checksum, size); *why says what. */
int wal_segment_header_decode(const uint8_t *in, uint64_t *first_index, const char **why);

/* Size of the record of an entry with `data_len` payload bytes. */
static inline size_t wal_record_size(uint32_t data_len)
{
    return WAL_RECORD_OVERHEAD_BYTES + (size_t)data_len;
}

/* Writes the record of `entry` at `out` (capacity >= wal_record_size); returns its size. */
size_t wal_record_encode(uint8_t *out, const struct wal_entry *entry);

/* Checks the 40-byte record header at `in`. On STORAGE_OK fills entry (data NULL) and the record
 * size; otherwise returns STORAGE_EFORMAT or STORAGE_ECORRUPT and *why. */
int wal_record_header_decode(const uint8_t *in, struct wal_entry *entry, size_t *record_size,
                             const char **why);

/* Checks the payload, record checksum and end mark of a record whose header decoded to `entry`
 * and `record_size`; on STORAGE_OK sets entry->data to point into `in`. */
int wal_record_body_check(const uint8_t *in, size_t record_size, struct wal_entry *entry,
                          const char **why);

#endif
