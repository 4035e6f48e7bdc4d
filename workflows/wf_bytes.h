/* Bounded little-endian byte writer, reader and block hasher shared by the workflows/ formats. */
#ifndef FLOWRAFT_WORKFLOWS_WF_BYTES_H
#define FLOWRAFT_WORKFLOWS_WF_BYTES_H

#include "core/bytes.h"
#include "core/hash.h"
#include "workflows/wf_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Shared by the binary formats of workflows/: the workflow engine's (wf_*, through the writer and
 * reader below) and the KV store's (kv_*, whose own cursors in kv_bytes.h use the little-endian
 * helpers and the hasher). Everything is little-endian and written field by field, never by
 * copying structs, so the bytes do not depend on memory layout or padding.
 */

/*
 * XXH3-64 over bytes that arrive in small pieces: they are staged and fed to the stream in blocks,
 * since XXH3 streaming per 1..8-byte field costs tens of times more than per block. The digest
 * equals XXH3-64 of the concatenated bytes, however they were cut. Owned by the caller (about
 * 1.6 KB: keep it on the stack or in a struct, not per field).
 */
#define WF_HASHER_STAGE_BYTES 1024

struct wf_hasher {
    struct hash_stream stream;
    size_t staged; /* invariant: staged <= WF_HASHER_STAGE_BYTES */
    uint8_t stage[WF_HASHER_STAGE_BYTES];
};

void wf_hasher_init(struct wf_hasher *hasher, uint64_t seed);
/* Digest of everything fed so far; more may be fed afterwards. */
uint64_t wf_hasher_digest(struct wf_hasher *hasher);

/* wf_hasher_update when the bytes do not fit in the stage: flushes it, then stages or feeds. */
void wf_hasher_update_slow(struct wf_hasher *hasher, const void *data, size_t len);

/* Feeds `len` bytes. Inline: encoders call it once per field, a few bytes at a time. */
static inline void wf_hasher_update(struct wf_hasher *hasher, const void *data, size_t len)
{
    if (len <= sizeof(hasher->stage) - hasher->staged) {
        if (len > 0) {
            memcpy(hasher->stage + hasher->staged, data, len);
            hasher->staged += len;
        }
        return;
    }
    wf_hasher_update_slow(hasher, data, len);
}

/*
 * A writer appends fixed-width integers and length-prefixed strings to one of three sinks: a
 * caller buffer (writing past `cap` sets `overflow` and stops writing), nothing (only `len` is
 * counted, to size a buffer), or a hasher (the bytes are hashed, never stored), so one encoding
 * function serves encode, size and hash.
 */
struct wf_writer {
    uint8_t *buf;             /* NULL when counting or hashing */
    size_t cap;               /* bytes available at buf */
    size_t len;               /* bytes written (or that would have been) */
    bool overflow;            /* invariant: overflow == (len > cap) for a buffer writer */
    struct wf_hasher *hasher; /* non-NULL: a hashing writer (borrowed) */
};

/* A buffer writer over `cap` bytes at `buf`; `buf` may be NULL with `cap` 0 to only count. */
void wf_writer_init(struct wf_writer *writer, void *buf, size_t cap);

/* A hashing writer: every byte written is fed to `hasher` (which the caller initialised and
 * keeps for as long as the writer is used). */
void wf_writer_init_hash(struct wf_writer *writer, struct wf_hasher *hasher);

/* The digest of what a hashing writer wrote: wf_hasher_digest of its hasher. */
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
/* A str8 of at most `len_max` bytes, none of them NUL, into `out` (capacity len_max + 1),
 * NUL-terminated. */
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
