/* Little-endian fixed-width integers: the one byte order of every FlowRaft format. */
#ifndef FLOWRAFT_CORE_BYTES_H
#define FLOWRAFT_CORE_BYTES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every integer FlowRaft puts on the wire, on disk or into a hash is little-endian, written byte
 * by byte (never by copying structs), so formats do not depend on the host or on struct layout.
 * Bounds are the caller's business: these read and write exactly `width` bytes.
 */

/* Stores the low `width` (1..8) bytes of `value` at `at`. */
static inline void bytes_store_le(uint8_t *at, uint64_t value, size_t width)
{
    for (size_t i = 0; i < width && i < 8; i++) {
        at[i] = (uint8_t)(value >> (8 * i));
    }
}

/* Loads `width` (1..8) bytes at `at` as an unsigned little-endian integer. */
static inline uint64_t bytes_load_le(const uint8_t *at, size_t width)
{
    uint64_t value = 0;
    for (size_t i = 0; i < width && i < 8; i++) {
        value |= (uint64_t)at[i] << (8 * i);
    }
    return value;
}

static inline void bytes_put_u32(uint8_t *out, uint32_t value)
{
    bytes_store_le(out, value, 4);
}

static inline void bytes_put_u64(uint8_t *out, uint64_t value)
{
    bytes_store_le(out, value, 8);
}

static inline uint32_t bytes_get_u32(const uint8_t *in)
{
    return (uint32_t)bytes_load_le(in, 4);
}

static inline uint64_t bytes_get_u64(const uint8_t *in)
{
    return bytes_load_le(in, 8);
}

#endif
