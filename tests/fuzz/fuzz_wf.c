/* libFuzzer target (built with -Dfuzz=true): untrusted bytes as a command and as a snapshot. */
#include "core/bytes.h"
#include "core/hash.h"
#include "workflows/wf_coordinator.h"
#include "workflows/wf_invariants.h"
#include "workflows/wf_state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SNAPSHOT_BYTES_MAX (1u << 20) /* inputs are far smaller; larger ones are skipped */

static struct wf_state *live;     /* accumulates whatever the fuzzer manages to apply */
static struct wf_state *restored; /* restore target */
static uint64_t next_index;
static uint8_t signed_input[FUZZ_SNAPSHOT_BYTES_MAX];
static uint8_t snapshot[FUZZ_SNAPSHOT_BYTES_MAX];

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_wf: %s: %s\n", what, detail);
    abort();
}

static void check(const struct wf_state *state, const char *when)
{
    struct wf_violation violation;
    if (!wf_inv_check_state(state, &violation)) {
        fail(when, violation.text);
    }
    if (wf_state_hash(state) != wf_state_hash_uncached(state)) {
        fail(when, "hash cache stale");
    }
}

/* Every state apply reaches snapshots and restores to an equal state. */
static void check_round_trip(const struct wf_state *state)
{
    size_t len = wf_state_snapshot(state, snapshot, sizeof(snapshot));
    struct wf_error error;
    if (len == 0) {
        return; /* larger than this target's buffer */
    }
    if (!wf_state_restore(restored, snapshot, len, &error)) {
        fail("snapshot of an applied state refused", error.text);
    }
    if (wf_state_hash(restored) != wf_state_hash(state)) {
        fail("snapshot round trip", "hash differs");
    }
}

/* A restored state can go on: three rounds of whatever a leader's coordinator proposes, long
 * after every deadline (expiries, retries, starts), apply without crashing and keep every
 * invariant. */
static void continue_restored(void)
{
    static const uint32_t workers[] = { 1, 2 };
    struct wf_command commands[32];
    static uint8_t payload[WF_COMMAND_BYTES_MAX];
    for (int round = 0; round < 3; round++) {
        uint64_t clock = wf_state_clock_ms(restored);
        struct wf_coord_input input = {
            .now_ms = clock + 2 * WF_DURATION_MS_MAX,
            .leader_ready = true,
            .free_workers = workers,
            .free_worker_count = 2,
        };
        struct wf_coord_output output = { .commands = commands, .cap = 32 };
        wf_coordinate(restored, &input, &output);
        for (uint32_t i = 0; i < output.count; i++) {
            struct wf_error error;
            size_t len = wf_command_encode(&commands[i], payload, sizeof(payload), &error);
            if (len == 0) {
                fail("coordinator proposed a command that does not encode", error.text);
            }
            struct wf_result result;
            wf_state_apply(restored, wf_state_applied_index(restored) + 1, payload, len, &result);
            check(restored, "invariant after applying a proposal to a restored state");
        }
    }
}

/* The input as a snapshot, with its checksum recomputed so that decoding is what gets fuzzed
 * (raw inputs almost never carry a valid XXH3). Whatever is accepted is a valid, canonical
 * state: it passes every invariant, snapshots back to the same bytes, and can go on. */
static void check_as_snapshot(const uint8_t *data, size_t size)
{
    if (size < 8 || size > sizeof(signed_input)) {
        return;
    }
    memcpy(signed_input, data, size);
    uint64_t checksum = hash_bytes(signed_input, size - 8, 0);
    bytes_put_u64(signed_input + size - 8, checksum);
    struct wf_error error;
    if (!wf_state_restore(restored, signed_input, size, &error)) {
        return;
    }
    check(restored, "invariant after restore");
    if (wf_state_snapshot(restored, snapshot, sizeof(snapshot)) != size ||
        memcmp(snapshot, signed_input, size) != 0) {
        fail("restore", "accepted bytes are not canonical");
    }
    continue_restored();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wf_state_config config = { .workflows_max = 8 };
    if (live == NULL) {
        live = wf_state_create(&config);
        restored = wf_state_create(&config);
        if (live == NULL || restored == NULL) {
            fail("setup", "out of memory");
        }
    }
    /* As a command: apply never crashes, and every invariant still holds afterwards. */
    struct wf_result result;
    wf_state_apply(live, ++next_index, data, size, &result);
    check(live, "invariant after apply");
    if (result.status == WF_OK) {
        check_round_trip(live);
    }
    check_as_snapshot(data, size);
    return 0;
}
