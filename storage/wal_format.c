/* Encoding and checking of WAL segment headers and records (byte tables in storage/wal_format.h).
 */
#include "storage/wal_format.h"

#include "core/hash.h"
#include "core/bytes.h"

#include <assert.h>
#include <string.h>

static const uint8_t wal_segment_magic[8] = { 'F', 'R', 'W', 'A', 'L', 'S', 'E', 'G' };
static const uint8_t wal_record_magic[4] = { 'F', 'R', 'W', 'R' };
static const uint8_t wal_end_mark[4] = { 'W', 'E', 'N', 'D' };

void wal_segment_header_encode(uint8_t *out, uint64_t first_index)
{
    assert(out != NULL);
    assert(first_index >= 1);
    memset(out, 0, WAL_SEGMENT_HEADER_BYTES);
    memcpy(out, wal_segment_magic, sizeof(wal_segment_magic));
    bytes_put_u32(out + 8, WAL_FORMAT_VERSION);
    bytes_put_u32(out + 12, WAL_SEGMENT_HEADER_BYTES);
    bytes_put_u64(out + 16, first_index);
    bytes_put_u64(out + 56, hash_bytes(out, 56, WAL_SEED_SEGMENT));
}

int wal_segment_header_decode(const uint8_t *in, uint64_t *first_index, const char **why)
{
    assert(in != NULL && first_index != NULL && why != NULL);
    if (memcmp(in, wal_segment_magic, sizeof(wal_segment_magic)) != 0) {
        *why = "bad magic: not a FlowRaft WAL segment";
        return STORAGE_EFORMAT;
    }
    if (bytes_get_u64(in + 56) != hash_bytes(in, 56, WAL_SEED_SEGMENT)) {
        *why = "segment header checksum mismatch";
        return STORAGE_ECORRUPT;
    }
    if (bytes_get_u32(in + 8) != WAL_FORMAT_VERSION) {
        *why = "unsupported WAL format version (this build reads version 1)";
        return STORAGE_EFORMAT;
    }
    if (bytes_get_u32(in + 12) != WAL_SEGMENT_HEADER_BYTES) {
        *why = "segment header size is not 64";
        return STORAGE_ECORRUPT;
    }
    *first_index = bytes_get_u64(in + 16);
    if (*first_index == 0) {
        *why = "segment first index is 0";
        return STORAGE_ECORRUPT;
    }
    return STORAGE_OK;
}

size_t wal_record_encode(uint8_t *out, const struct wal_entry *entry)
{
    assert(out != NULL && entry != NULL);
    assert(entry->data_len <= WAL_ENTRY_DATA_BYTES_MAX);
    assert(entry->data != NULL || entry->data_len == 0);
    assert(entry->index >= 1);
    memcpy(out, wal_record_magic, sizeof(wal_record_magic));
    out[4] = WAL_FORMAT_VERSION;
    out[5] = WAL_RECORD_TYPE_ENTRY;
    out[6] = entry->type;
    out[7] = 0;
    bytes_put_u32(out + 8, entry->data_len);
    bytes_put_u32(out + 12, 0);
    bytes_put_u64(out + 16, entry->index);
    bytes_put_u64(out + 24, entry->term);
    bytes_put_u64(out + 32, hash_bytes(out, 32, WAL_SEED_HEADER));
    if (entry->data_len > 0) {
        memcpy(out + WAL_RECORD_HEADER_BYTES, entry->data, entry->data_len);
    }
    size_t body = WAL_RECORD_HEADER_BYTES + entry->data_len;
    bytes_put_u64(out + body, hash_bytes(out, body, WAL_SEED_RECORD));
    memcpy(out + body + 8, wal_end_mark, sizeof(wal_end_mark));
    return wal_record_size(entry->data_len);
}

int wal_record_header_decode(const uint8_t *in, struct wal_entry *entry, size_t *record_size,
                             const char **why)
{
    assert(in != NULL && entry != NULL && record_size != NULL && why != NULL);
    if (memcmp(in, wal_record_magic, sizeof(wal_record_magic)) != 0) {
        *why = "bad record magic";
        return STORAGE_ECORRUPT;
    }
    if (bytes_get_u64(in + 32) != hash_bytes(in, 32, WAL_SEED_HEADER)) {
        *why = "record header checksum mismatch";
        return STORAGE_ECORRUPT;
    }
    if (in[4] != WAL_FORMAT_VERSION) {
        *why = "unsupported record format version (this build reads version 1)";
        return STORAGE_EFORMAT;
    }
    if (in[5] != WAL_RECORD_TYPE_ENTRY) {
        *why = "unknown record type";
        return STORAGE_EFORMAT;
    }
    uint32_t data_len = bytes_get_u32(in + 8);
    if (data_len > WAL_ENTRY_DATA_BYTES_MAX) {
        *why = "payload length above WAL_ENTRY_DATA_BYTES_MAX";
        return STORAGE_ECORRUPT;
    }
    if (in[7] != 0 || bytes_get_u32(in + 12) != 0) {
        *why = "reserved header bytes are not zero";
        return STORAGE_ECORRUPT;
    }
    entry->index = bytes_get_u64(in + 16);
    entry->term = bytes_get_u64(in + 24);
    entry->type = in[6];
    entry->data_len = data_len;
    entry->data = NULL;
    *record_size = wal_record_size(data_len);
    return STORAGE_OK;
}

int wal_record_body_check(const uint8_t *in, size_t record_size, struct wal_entry *entry,
                          const char **why)
{
    assert(in != NULL && entry != NULL && why != NULL);
    assert(record_size == wal_record_size(entry->data_len));
    size_t body = WAL_RECORD_HEADER_BYTES + entry->data_len;
    if (bytes_get_u64(in + body) != hash_bytes(in, body, WAL_SEED_RECORD)) {
        *why = "record checksum mismatch";
        return STORAGE_ECORRUPT;
    }
    if (memcmp(in + body + 8, wal_end_mark, sizeof(wal_end_mark)) != 0) {
        *why = "bad record end mark";
        return STORAGE_ECORRUPT;
    }
    entry->data = entry->data_len > 0 ? in + WAL_RECORD_HEADER_BYTES : NULL;
    return STORAGE_OK;
}
