/* Bounded little-endian byte writer and reader shared by the workflow engine's binary formats. */
#ifndef FLOWRAFT_WORKFLOWS_WF_BYTES_H
#define FLOWRAFT_WORKFLOWS_WF_BYTES_H

#include "core/hash.h"
#include "workflows/wf_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A writer appends fixed-width little-endian integers and length-prefixed strings to one of three
 * sinks: a caller buffer (writing past `cap` sets `overflow` and stops writing), nothing (only
 * `len` is counted, to size a buffer), or a hash stream (the bytes are hashed, never stored), so
 * one encoding function serves encode, size and hash. Values are written field by field, never
 * by copying structs, so the bytes do not depend on memory layout or padding.
 */
#define WF_WRITER_STAGE_BYTES 1024 /* a hashing writer feeds the stream in blocks this large */

struct wf_writer {
    uint8_t *buf;               /* NULL when counting or hashing */
    size_t cap;                 /* bytes available at buf */
    size_t len;                 /* bytes written (or that would have been) */
    bool overflow;              /* invariant: overflow == (len > cap) for a buffer writer */
    struct hash_stream *stream; /* non-NULL: a hashing writer */
    size_t staged;              /* hashing: bytes in stage not yet fed to the stream */
    uint8_t stage[WF_WRITER_STAGE_BYTES];
};

/* A buffer writer over `cap` bytes at `buf`; `buf` may be NULL with `cap` 0 to only count. */
void wf_writer_init(struct wf_writer *writer, void *buf, size_t cap);

/* A hashing writer: every byte written is fed to `stream` (which the caller initialised), in
 * blocks, since XXH3 streaming per 1..8-byte field costs tens of times more than per block. */
void wf_writer_init_hash(struct wf_writer *writer, struct hash_stream *stream);

/* Feeds what a hashing writer staged to its stream and returns the stream's digest. */
uint64_t wf_writer_digest(struct wf_writer *writer);

void wf_put_u8(struct wf_writer *writer, uint8_t value);
void wf_put_u16(struct wf_writer *writer, uint16_t value);
void wf_put_u32(struct wf_writer *writer, uint32_t value);
void wf_put_u64(struct wf_writer *writer, uint64_t value);
void wf_put_bytes(struct wf_writer *writer, const void *data, size_t len);
/* A string of at most 255 bytes with a one-byte length prefix. */
void wf_put_str8(struct wf_writer *writer, const char *text);
/* Bytes with a two-byte length prefix; `len` <= UINT16_MAX. */
void wf_put_blob16(struct wf_writer *writer, const void *data, size_t len);

/*
 * A reader consumes untrusted bytes. Every getter names the field it reads; the first failure
 * (truncation, a length over its bound) records "<field>: <problem> at byte <offset>" and every
 * later call fails too, so a decoder may check once at the end or return at the first false.
 */
struct wf_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;  /* invariant: pos <= len */
    bool failed; /* sticky */
    struct wf_error error;
};

void wf_reader_init(struct wf_reader *reader, const void *buf, size_t len);

bool wf_get_u8(struct wf_reader *reader, const char *field, uint8_t *out);
bool wf_get_u16(struct wf_reader *reader, const char *field, uint16_t *out);
bool wf_get_u32(struct wf_reader *reader, const char *field, uint32_t *out);
bool wf_get_u64(struct wf_reader *reader, const char *field, uint64_t *out);
bool wf_get_bytes(struct wf_reader *reader, const char *field, void *out, size_t len);
/* A str8 of at most `len_max` bytes into `out` (capacity len_max + 1), NUL-terminated. */
bool wf_get_str8(struct wf_reader *reader, const char *field, char *out, size_t len_max);
/* A blob16 of at most `len_max` bytes into `out`; its length in *len_out. */
bool wf_get_blob16(struct wf_reader *reader, const char *field, void *out, size_t len_max,
                   size_t *len_out);

/* Records a semantic failure (a bad value, not a truncation) unless one is already recorded. */
bool wf_reader_fail(struct wf_reader *reader, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* True if every byte was consumed; otherwise records "<field>: N trailing bytes" and fails. */
bool wf_reader_expect_end(struct wf_reader *reader, const char *field);

/* Saturating addition for times: deadlines never wrap around. */
uint64_t wf_add_sat(uint64_t a, uint64_t b);

#endif
