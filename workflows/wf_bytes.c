/* Bounded little-endian byte writer and reader shared by the workflow engine's binary formats. */
#include "workflows/wf_bytes.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void wf_hasher_init(struct wf_hasher *hasher, uint64_t seed)
{
    assert(hasher != NULL);
    hash_stream_init(&hasher->stream, seed);
    hasher->staged = 0; /* the stage itself is not cleared: only [0, staged) is ever read */
}

static void flush_stage(struct wf_hasher *hasher)
{
    assert(hasher->staged <= sizeof(hasher->stage));
    if (hasher->staged > 0) {
        hash_stream_update(&hasher->stream, hasher->stage, hasher->staged);
        hasher->staged = 0;
    }
}

void wf_hasher_update_slow(struct wf_hasher *hasher, const void *data, size_t len)
{
    assert(hasher != NULL);
    assert(data != NULL || len == 0);
    assert(len > sizeof(hasher->stage) - hasher->staged); /* the inline path takes the rest */
    flush_stage(hasher);
    if (len >= sizeof(hasher->stage)) {
        hash_stream_update(&hasher->stream, data, len); /* large: no copy */
        return;
    }
    memcpy(hasher->stage, data, len);
    hasher->staged = len;
}

uint64_t wf_hasher_digest(struct wf_hasher *hasher)
{
    assert(hasher != NULL);
    flush_stage(hasher);
    return hash_stream_digest(&hasher->stream);
}

void wf_writer_init(struct wf_writer *writer, void *buf, size_t cap)
{
    assert(writer != NULL);
    assert(buf != NULL || cap == 0);
    *writer = (struct wf_writer){ .buf = buf, .cap = cap };
}

void wf_writer_init_hash(struct wf_writer *writer, struct wf_hasher *hasher)
{
    assert(writer != NULL);
    assert(hasher != NULL);
    *writer = (struct wf_writer){ .hasher = hasher };
}

uint64_t wf_writer_digest(struct wf_writer *writer)
{
    assert(writer != NULL);
    assert(writer->hasher != NULL);
    return wf_hasher_digest(writer->hasher);
}

void wf_put_bytes(struct wf_writer *writer, const void *data, size_t len)
{
    assert(writer != NULL);
    assert(data != NULL || len == 0);
    if (len == 0) {
        return;
    }
    if (writer->hasher != NULL) {
        wf_hasher_update(writer->hasher, data, len);
    } else if (writer->buf != NULL && !writer->overflow && len <= writer->cap - writer->len) {
        memcpy(writer->buf + writer->len, data, len);
    } else if (writer->buf != NULL) {
        writer->overflow = true;
    }
    writer->len += len;
}

static void put_le(struct wf_writer *writer, uint64_t value, size_t width)
{
    assert(width <= 8);
    uint8_t bytes[8];
    bytes_store_le(bytes, value, width);
    wf_put_bytes(writer, bytes, width);
}

void wf_put_u8(struct wf_writer *writer, uint8_t value)
{
    put_le(writer, value, 1);
}

void wf_put_u16(struct wf_writer *writer, uint16_t value)
{
    put_le(writer, value, 2);
}

void wf_put_u32(struct wf_writer *writer, uint32_t value)
{
    put_le(writer, value, 4);
}

void wf_put_u64(struct wf_writer *writer, uint64_t value)
{
    put_le(writer, value, 8);
}

void wf_put_str8(struct wf_writer *writer, const char *text)
{
    assert(text != NULL);
    size_t len = strlen(text);
    assert(len <= UINT8_MAX);
    wf_put_u8(writer, (uint8_t)len);
    wf_put_bytes(writer, text, len);
}

void wf_put_blob16(struct wf_writer *writer, const void *data, size_t len)
{
    assert(len <= UINT16_MAX);
    wf_put_u16(writer, (uint16_t)len);
    wf_put_bytes(writer, data, len);
}

void wf_reader_init(struct wf_reader *reader, const void *buf, size_t len)
{
    assert(reader != NULL);
    assert(buf != NULL || len == 0);
    *reader = (struct wf_reader){ .buf = buf, .len = len };
}

bool wf_reader_fail(struct wf_reader *reader, const char *format, ...)
{
    assert(reader != NULL);
    assert(format != NULL);
    if (reader->failed) {
        return false;
    }
    reader->failed = true;
    va_list args;
    va_start(args, format);
    int written = vsnprintf(reader->error.text, sizeof(reader->error.text), format, args);
    va_end(args);
    assert(written >= 0);
    return false;
}

/* Takes `len` bytes, or records "<field>: truncated at byte N" and fails. */
static const uint8_t *take(struct wf_reader *reader, const char *field, size_t len)
{
    assert(reader->pos <= reader->len);
    if (reader->failed) {
        return NULL;
    }
    if (len > reader->len - reader->pos) {
        wf_reader_fail(reader, "%s: truncated at byte %zu (%zu bytes needed, %zu left)", field,
                       reader->pos, len, reader->len - reader->pos);
        return NULL;
    }
    const uint8_t *at = reader->buf + reader->pos;
    reader->pos += len;
    return at;
}

static bool get_le(struct wf_reader *reader, const char *field, size_t width, uint64_t *out)
{
    assert(width <= 8);
    const uint8_t *at = take(reader, field, width);
    if (at == NULL) {
        return false;
    }
    *out = bytes_load_le(at, width);
    return true;
}

bool wf_get_u8(struct wf_reader *reader, const char *field, uint8_t *out)
{
    uint64_t value = 0;
    bool ok = get_le(reader, field, 1, &value);
    *out = (uint8_t)value;
    return ok;
}

bool wf_get_u16(struct wf_reader *reader, const char *field, uint16_t *out)
{
    uint64_t value = 0;
    bool ok = get_le(reader, field, 2, &value);
    *out = (uint16_t)value;
    return ok;
}

bool wf_get_u32(struct wf_reader *reader, const char *field, uint32_t *out)
{
    uint64_t value = 0;
    bool ok = get_le(reader, field, 4, &value);
    *out = (uint32_t)value;
    return ok;
}

bool wf_get_u64(struct wf_reader *reader, const char *field, uint64_t *out)
{
    return get_le(reader, field, 8, out);
}

bool wf_get_bytes(struct wf_reader *reader, const char *field, void *out, size_t len)
{
    assert(out != NULL || len == 0);
    const uint8_t *at = take(reader, field, len);
    if (at == NULL) {
        return false;
    }
    if (len > 0) {
        memcpy(out, at, len);
    }
    return true;
}

bool wf_get_str8(struct wf_reader *reader, const char *field, char *out, size_t len_max)
{
    assert(out != NULL);
    assert(len_max <= UINT8_MAX);
    out[0] = '\0';
    uint8_t len = 0;
    if (!wf_get_u8(reader, field, &len)) {
        return false;
    }
    if (len > len_max) {
        return wf_reader_fail(reader, "%s: length %u exceeds the maximum %zu at byte %zu", field,
                              (unsigned)len, len_max, reader->pos - 1);
    }
    size_t at = reader->pos;
    if (!wf_get_bytes(reader, field, out, len)) {
        return false;
    }
    const char *nul = memchr(out, '\0', len);
    if (nul != NULL) { /* its prefix would be read: one string, many encodings */
        return wf_reader_fail(reader, "%s: NUL byte at byte %zu", field, at + (size_t)(nul - out));
    }
    out[len] = '\0';
    return true;
}

bool wf_get_blob16(struct wf_reader *reader, const char *field, void *out, size_t len_max,
                   size_t *len_out)
{
    assert(len_out != NULL);
    *len_out = 0;
    uint16_t len = 0;
    if (!wf_get_u16(reader, field, &len)) {
        return false;
    }
    if (len > len_max) {
        return wf_reader_fail(reader, "%s: length %u exceeds the maximum %zu at byte %zu", field,
                              (unsigned)len, len_max, reader->pos - 2);
    }
    if (!wf_get_bytes(reader, field, out, len)) {
        return false;
    }
    *len_out = len;
    return true;
}

bool wf_reader_expect_end(struct wf_reader *reader, const char *field)
{
    assert(reader != NULL);
    assert(field != NULL);
    if (reader->failed) {
        return false;
    }
    if (reader->pos != reader->len) {
        return wf_reader_fail(reader, "%s: %zu trailing bytes at byte %zu", field,
                              reader->len - reader->pos, reader->pos);
    }
    return true;
}

uint64_t wf_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}
