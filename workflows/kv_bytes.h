/* Little-endian byte cursors shared by the KV codec and snapshots: bounded reads, counted writes.
 */
#ifndef FLOWRAFT_WORKFLOWS_KV_BYTES_H
#define FLOWRAFT_WORKFLOWS_KV_BYTES_H

#include "workflows/kv_codec.h"
#include "workflows/wf_bytes.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Internal to workflows/kv_*. A reader never reads past `len`: every read returns false (and
 * leaves the cursor where it was) when fewer bytes remain than asked for, so decoding untrusted
 * bytes cannot overrun. A writer counts every byte and stores them only when `buf` is set, so
 * one serializer computes a size or writes the bytes. The little-endian conversion is the one
 * the workflow engine's formats use (workflows/wf_bytes.h).
 */
struct kv_reader {
    const uint8_t *bytes; /* borrowed; may be NULL only when len == 0 */
    size_t len;
    size_t offset; /* invariant: offset <= len */
};

struct kv_writer {
    uint8_t *buf; /* NULL: count only */
    size_t cap;   /* invariant: len <= cap whenever buf != NULL */
    size_t len;   /* bytes written (or counted) so far */
};

/* Fills `error` (when non-NULL) with a printf-formatted reason and returns false. */
bool kv_error_fail(struct kv_error *error, enum kv_error_code code, size_t offset,
                   const char *format, ...) __attribute__((format(printf, 4, 5)));

/* Resets `error` (when non-NULL) to KV_ERROR_NONE with an empty reason. */
void kv_error_clear(struct kv_error *error);

static inline struct kv_reader kv_reader_make(const uint8_t *bytes, size_t len)
{
    assert(bytes != NULL || len == 0);
    struct kv_reader reader = { .bytes = bytes, .len = len, .offset = 0 };
    return reader;
}

static inline size_t kv_reader_left(const struct kv_reader *reader)
{
    assert(reader->offset <= reader->len);
    return reader->len - reader->offset;
}

/* Borrows the next `n` bytes (a pointer into the reader's buffer). */
static inline bool kv_read_bytes(struct kv_reader *reader, size_t n, const uint8_t **out)
{
    assert(out != NULL);
    if (kv_reader_left(reader) < n) {
        return false;
    }
    *out = reader->bytes + reader->offset;
    reader->offset += n;
    return true;
}

static inline bool kv_read_u8(struct kv_reader *reader, uint8_t *out)
{
    const uint8_t *p;
    if (!kv_read_bytes(reader, 1, &p)) {
        return false;
    }
    *out = p[0];
    return true;
}

static inline bool kv_read_u32(struct kv_reader *reader, uint32_t *out)
{
    const uint8_t *p;
    if (!kv_read_bytes(reader, 4, &p)) {
        return false;
    }
    *out = (uint32_t)bytes_load_le(p, 4);
    return true;
}

static inline bool kv_read_u64(struct kv_reader *reader, uint64_t *out)
{
    const uint8_t *p;
    if (!kv_read_bytes(reader, 8, &p)) {
        return false;
    }
    *out = bytes_load_le(p, 8);
    return true;
}

static inline void kv_write_bytes(struct kv_writer *writer, const void *data, size_t n)
{
    assert(data != NULL || n == 0);
    if (n == 0) {
        return;
    }
    if (writer->buf != NULL) {
        assert(n <= writer->cap - writer->len);
        memcpy(writer->buf + writer->len, data, n);
    }
    writer->len += n;
}

static inline void kv_write_u8(struct kv_writer *writer, uint8_t value)
{
    kv_write_bytes(writer, &value, 1);
}

static inline void kv_write_u32(struct kv_writer *writer, uint32_t value)
{
    uint8_t bytes[4];
    bytes_store_le(bytes, value, sizeof(bytes));
    kv_write_bytes(writer, bytes, sizeof(bytes));
}

static inline void kv_write_u64(struct kv_writer *writer, uint64_t value)
{
    uint8_t bytes[8];
    bytes_store_le(bytes, value, sizeof(bytes));
    kv_write_bytes(writer, bytes, sizeof(bytes));
}

#endif
