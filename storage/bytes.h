/* Little-endian encoding of fixed-width integers in on-disk formats. */
#ifndef FLOWRAFT_STORAGE_BYTES_H
#define FLOWRAFT_STORAGE_BYTES_H

#include <stdint.h>

/* Every integer FlowRaft writes to disk is little-endian, whatever the host. */

static inline void bytes_put_u32(uint8_t *out, uint32_t value)
{
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t)(value >> (8 * i));
    }
}

static inline void bytes_put_u64(uint8_t *out, uint64_t value)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(value >> (8 * i));
    }
}

static inline uint32_t bytes_get_u32(const uint8_t *in)
{
    uint32_t value = 0;
    for (int i = 3; i >= 0; i--) {
        value = (value << 8) | in[i];
    }
    return value;
}

static inline uint64_t bytes_get_u64(const uint8_t *in)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--) {
        value = (value << 8) | in[i];
    }
    return value;
}

#endif
