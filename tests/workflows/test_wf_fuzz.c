/* libFuzzer target (built with -Dfuzz=true): untrusted bytes as a command and as a snapshot. */
#include "workflows/wf_invariants.h"
#include "workflows/wf_state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wf_state *live;     /* accumulates whatever the fuzzer manages to apply */
static struct wf_state *restored; /* restore target */
static uint64_t next_index;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "test_wf_fuzz: %s: %s\n", what, detail);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wf_state_config config = { .workflows_max = 8 };
    if (live == NULL) {
        live = wf_state_create(&config);
        restored = wf_state_create(&config);
    }
    /* As a command: apply never crashes, and every invariant still holds afterwards. */
    struct wf_result result;
    wf_state_apply(live, ++next_index, data, size, &result);
    struct wf_violation violation;
    if (!wf_inv_check_state(live, &violation)) {
        fail("invariant after apply", violation.text);
    }
    if (wf_state_hash(live) != wf_state_hash_uncached(live)) {
        fail("hash cache", "stale");
    }
    /* As a snapshot: restore refuses or yields a state that passes the same checks. */
    struct wf_error error;
    if (wf_state_restore(restored, data, size, &error) &&
        !wf_inv_check_state(restored, &violation)) {
        fail("invariant after restore", violation.text);
    }
    return 0;
}
