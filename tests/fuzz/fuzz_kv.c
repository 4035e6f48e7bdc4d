/* libFuzzer target (built with -Dfuzz=true): untrusted bytes as a KV command and as a snapshot. */
#include "core/bytes.h"
#include "core/hash.h"
#include "workflows/kv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KV_BYTES_MAX (1u << 20) /* inputs are far smaller; larger ones are skipped */

static struct kv *live;     /* accumulates whatever the fuzzer manages to apply */
static struct kv *restored; /* restore target */
static uint64_t next_index;
static uint8_t signed_input[FUZZ_KV_BYTES_MAX];
static uint8_t snapshot[FUZZ_KV_BYTES_MAX];

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_kv: %s\n", what);
    abort();
}

/* Whatever state apply reaches snapshots and restores to an equal state. */
static void check_round_trip(const struct kv *kv)
{
    size_t len = kv_snapshot_bytes(kv);
    if (len > sizeof(snapshot)) {
        return;
    }
    kv_snapshot_write(kv, snapshot, len);
    struct kv *copy = kv_create(kv_limits_of(kv));
    struct kv_error error;
    if (copy == NULL) {
        fail("out of memory");
    }
    if (kv_restore(copy, snapshot, len, &error) != 0) {
        fail("the snapshot of an applied state was refused");
    }
    if (kv_hash(copy) != kv_hash(kv)) {
        fail("snapshot round trip changed the hash");
    }
    kv_destroy(copy);
}

/* The input as a snapshot with its checksum recomputed, so that decoding is what gets fuzzed.
 * Whatever is accepted snapshots back to the same bytes. */
static void check_as_snapshot(const uint8_t *data, size_t size)
{
    if (size < 8 || size > sizeof(signed_input)) {
        return;
    }
    memcpy(signed_input, data, size);
    uint64_t checksum = hash_bytes(signed_input, size - 8, KV_SNAPSHOT_SEED);
    bytes_put_u64(signed_input + size - 8, checksum);
    struct kv_error error;
    if (kv_restore(restored, signed_input, size, &error) != 0) {
        return;
    }
    size_t len = kv_snapshot_bytes(restored);
    if (len != size) {
        fail("accepted snapshot bytes are not canonical (size)");
    }
    kv_snapshot_write(restored, snapshot, len);
    if (memcmp(snapshot, signed_input, size) != 0) {
        fail("accepted snapshot bytes are not canonical");
    }
    /* a fresh target for the next input: restore refuses snapshots older than the store */
    kv_destroy(restored);
    struct kv_limits limits = kv_limits_default();
    restored = kv_create(&limits);
    if (restored == NULL) {
        fail("out of memory");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (live == NULL) {
        struct kv_limits limits = kv_limits_default();
        limits.keys_max = 64;
        limits.sessions_max = 8;
        live = kv_create(&limits);
        struct kv_limits restore_limits = kv_limits_default();
        restored = kv_create(&restore_limits);
        if (live == NULL || restored == NULL) {
            fail("out of memory");
        }
    }
    struct kv_applied applied;
    if (kv_apply(live, ++next_index, data, size, &applied) != 0) {
        fail("kv_apply ran out of memory");
    }
    if ((next_index & 63) == 0) {
        check_round_trip(live);
    }
    check_as_snapshot(data, size);
    return 0;
}
