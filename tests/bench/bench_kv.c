/* Benchmark of the KV state machine: apply, hash and snapshot costs, each against a baseline. */
#include "core/hash.h"
#include "core/prng.h"
#include "workflows/kv.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAYLOAD_BYTES_MAX 64u
#define OPS               200000u

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Pre-encoded commands, so that encoding is not what is measured. */
struct stream {
    uint8_t (*payloads)[PAYLOAD_BYTES_MAX];
    size_t *lens;
    uint32_t count;
};

static struct stream make_stream(uint32_t count, uint32_t keys, uint64_t client_id, uint64_t seed)
{
    struct stream s = { .payloads = malloc((size_t)count * PAYLOAD_BYTES_MAX),
                        .lens = malloc((size_t)count * sizeof(size_t)),
                        .count = count };
    assert(s.payloads != NULL && s.lens != NULL);
    struct prng prng;
    prng_seed(&prng, seed);
    for (uint32_t i = 0; i < count; i++) {
        char key[16];
        char value[16];
        uint32_t key_len =
            (uint32_t)snprintf(key, sizeof(key), "key-%" PRIu64, prng_below(&prng, keys));
        uint32_t value_len = (uint32_t)snprintf(value, sizeof(value), "v%u", i);
        uint64_t seq = client_id != 0 ? i + 1 : 0;
        struct kv_command command =
            prng_below(&prng, 2) == 0
                ? kv_command_put(client_id, seq, key, key_len, value, value_len)
                : kv_command_get(client_id, seq, key, key_len);
        int rc = kv_command_encode(&command, s.payloads[i], PAYLOAD_BYTES_MAX, &s.lens[i], NULL);
        assert(rc == 0);
        (void)rc;
    }
    return s;
}

static void free_stream(struct stream *s)
{
    free(s->payloads);
    free(s->lens);
}

/* Seconds to decode every payload (the floor any apply pays). */
static double time_decode(const struct stream *s)
{
    struct kv_command command;
    uint64_t sink = 0;
    double start = now_seconds();
    for (uint32_t i = 0; i < s->count; i++) {
        int rc = kv_command_decode(s->payloads[i], s->lens[i], &command, NULL);
        sink += (uint64_t)rc + command.key_len;
    }
    double elapsed = now_seconds() - start;
    if (sink == 42) {
        printf("#\n");
    }
    return elapsed;
}

static double time_apply(struct kv *kv, const struct stream *s, uint64_t *index)
{
    struct kv_applied out;
    double start = now_seconds();
    for (uint32_t i = 0; i < s->count; i++) {
        int rc = kv_apply(kv, ++*index, s->payloads[i], s->lens[i], &out);
        assert(rc == 0);
        (void)rc;
    }
    return now_seconds() - start;
}

static void bench_apply(uint32_t keys)
{
    struct kv_limits limits = kv_limits_default();
    struct kv *kv = kv_create(&limits);
    uint64_t index = 0;
    struct kv_applied out;
    uint8_t payload[PAYLOAD_BYTES_MAX];
    size_t len;
    struct kv_command reg = kv_command_register();
    int rc = kv_command_encode(&reg, payload, sizeof(payload), &len, NULL);
    assert(rc == 0);
    rc = kv_apply(kv, ++index, payload, len, &out);
    assert(rc == 0);
    (void)rc;
    uint64_t client = out.result.client_id;

    struct stream plain = make_stream(OPS, keys, 0, 1);
    struct stream session = make_stream(OPS, keys, client, 2);
    double decode = time_decode(&plain);
    double apply_plain = time_apply(kv, &plain, &index);
    double apply_session = time_apply(kv, &session, &index);
    printf("apply %6u keys: decode %6.1f ns/op (baseline) | apply %6.1f ns/op = %5.2fx decode | "
           "with session %6.1f ns/op = %5.2fx decode\n",
           keys, decode / OPS * 1e9, apply_plain / OPS * 1e9, apply_plain / decode,
           apply_session / OPS * 1e9, apply_session / decode);
    free_stream(&plain);
    free_stream(&session);
    kv_destroy(kv);
}

static void bench_hash_and_snapshot(uint32_t keys)
{
    struct kv_limits limits = kv_limits_default();
    struct kv *kv = kv_create(&limits);
    struct stream fill = make_stream(keys * 2, keys, 0, 3);
    uint64_t index = 0;
    (void)time_apply(kv, &fill, &index);
    free_stream(&fill);

    size_t len = kv_snapshot_bytes(kv);
    uint8_t *bytes = malloc(len);
    assert(bytes != NULL);
    kv_snapshot_write(kv, bytes, len);
    int rounds = keys >= 10000 ? 20 : 2000;

    double start = now_seconds();
    uint64_t sink = 0;
    for (int r = 0; r < rounds; r++) {
        sink ^= hash_bytes(bytes, len, (uint64_t)r);
    }
    double raw = (now_seconds() - start) / rounds;

    start = now_seconds();
    for (int r = 0; r < rounds; r++) {
        sink ^= kv_hash(kv);
    }
    double state_hash = (now_seconds() - start) / rounds;

    start = now_seconds();
    for (int r = 0; r < rounds; r++) {
        kv_snapshot_write(kv, bytes, len);
    }
    double write = (now_seconds() - start) / rounds;

    struct kv *copy = kv_create(&limits);
    start = now_seconds();
    for (int r = 0; r < rounds; r++) {
        struct kv_error error;
        int rc = kv_restore(copy, bytes, len, &error);
        assert(rc == 0);
        (void)rc;
    }
    double restore = (now_seconds() - start) / rounds;
    assert(kv_hash(copy) == kv_hash(kv));

    printf("state %6u keys (%8zu snapshot bytes): XXH3 of the bytes %8.1f us (baseline) | "
           "kv_hash %8.1f us = %5.2fx | snapshot write %8.1f us = %5.2fx | restore %8.1f us = "
           "%5.2fx%s\n",
           kv_key_count(kv), len, raw * 1e6, state_hash * 1e6, state_hash / raw, write * 1e6,
           write / raw, restore * 1e6, restore / raw, sink == 42 ? " " : "");
    kv_destroy(copy);
    kv_destroy(kv);
    free(bytes);
}

/* The simulator's pattern: one committed command, then a state hash, again and again. */
static void bench_hash_per_apply(uint32_t keys)
{
    struct kv_limits limits = kv_limits_default();
    struct kv *kv = kv_create(&limits);
    struct stream fill = make_stream(keys * 2, keys, 0, 4);
    uint64_t index = 0;
    (void)time_apply(kv, &fill, &index);
    free_stream(&fill);
    const uint32_t rounds = keys >= 10000 ? 50 : 5000;
    struct kv_applied out;
    uint8_t payload[PAYLOAD_BYTES_MAX];
    size_t len;
    double seconds[2] = { 0, 0 };
    uint64_t sink = 0;
    for (int kind = 0; kind < 2; kind++) {
        double start = now_seconds();
        for (uint32_t r = 0; r < rounds; r++) {
            /* kind 0 overwrites an existing key; kind 1 inserts then deletes a new key. */
            struct kv_command command = kind == 0
                                            ? kv_command_put(0, 0, "key-1", 5, "x", 1)
                                            : ((r & 1) == 0 ? kv_command_put(0, 0, "new", 3, "x", 1)
                                                            : kv_command_delete(0, 0, "new", 3));
            int rc = kv_command_encode(&command, payload, sizeof(payload), &len, NULL);
            rc |= kv_apply(kv, ++index, payload, len, &out);
            assert(rc == 0);
            (void)rc;
            sink ^= kv_hash(kv);
        }
        seconds[kind] = (now_seconds() - start) / rounds;
    }
    printf("apply+hash %6u keys: after an overwrite %8.1f us | after an insert or delete %8.1f us "
           "= %5.2fx overwrite (re-sort)%s\n",
           kv_key_count(kv), seconds[0] * 1e6, seconds[1] * 1e6, seconds[1] / seconds[0],
           sink == 42 ? " " : "");
    kv_destroy(kv);
}

int main(void)
{
    printf("bench_kv: KV state machine (workflows/kv), %u ops per apply run\n", OPS);
    bench_apply(100);
    bench_apply(10000);
    bench_hash_and_snapshot(100);
    bench_hash_and_snapshot(50000);
    bench_hash_per_apply(100);
    bench_hash_per_apply(50000);
    return 0;
}
