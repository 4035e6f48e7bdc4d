/* Replay tests: projector rebuild from the log, snapshot/restore equality, and determinism. */
#include "core/prng.h"
#include "core/bytes.h"
#include "tests/workflows/test_wf_driver.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define SEEDS 40

static const char *const task_ids[] = {
    "fetch", "transform", "store", "a", "b", "c", "d", "reserve", "charge", "ship",
};

/* A seeded chaos workload over the three examples: failures, crashes, late and double reports,
 * heartbeats, pauses and the odd cancel. */
static struct wfd *run_workload(uint64_t seed)
{
    struct prng prng;
    prng_seed(&prng, seed);
    struct wfd *driver = wfd_create(1 + (uint32_t)prng_below(&prng, 3), 4, NULL, NULL);
    for (size_t t = 0; t < sizeof(task_ids) / sizeof(task_ids[0]); t++) {
        for (uint32_t attempt = 1; attempt <= 3; attempt++) {
            struct wfd_script script = { .task_id = task_ids[t], .attempt = attempt };
            uint64_t roll = prng_below(&prng, 100);
            if (roll < 12) {
                script.action = WFD_FAIL;
                script.error_kind = prng_chance(&prng, 0.2) ? "card_declined" : "timeout";
            } else if (roll < 22) {
                script.action = WFD_CRASH;
            } else if (roll < 27) {
                script.action = WFD_COMPLETE_TWICE;
            } else if (roll < 35) {
                script.duration_ms = prng_range(&prng, 1500, 7000); /* may outlive its lease */
                script.heartbeat_ms = prng_chance(&prng, 0.5) ? 400 : 0;
            }
            if (script.action != WFD_COMPLETE || script.duration_ms > 0 ||
                prng_chance(&prng, 0.3)) {
                wfd_script(driver, script);
            }
        }
    }
    const char *ids[] = { "hello", "diamond", "payments" };
    const char *target = ids[prng_below(&prng, 3)];
    struct wf_command pause = { .type = WF_CMD_PAUSE };
    struct wf_command resume = { .type = WF_CMD_RESUME };
    strcpy(pause.workflow_id, target);
    strcpy(resume.workflow_id, target);
    uint64_t pause_at = prng_below(&prng, 600);
    wfd_inject(driver, pause_at, &pause);
    wfd_inject(driver, pause_at + prng_below(&prng, 3000), &resume);
    if (prng_chance(&prng, 0.15)) {
        struct wf_command cancel = { .type = WF_CMD_CANCEL };
        strcpy(cancel.workflow_id, ids[prng_below(&prng, 3)]);
        wfd_inject(driver, prng_below(&prng, 2000), &cancel);
    }
    cr_assert_eq(wfd_submit_example(driver, "hello.json"), WF_OK);
    cr_assert_eq(wfd_submit_example(driver, "diamond.json"), WF_OK);
    cr_assert_eq(wfd_submit_example(driver, "retry.json"), WF_OK);
    wfd_run(driver, UINT64_MAX);
    cr_assert_str_empty(driver->violation, "seed %llu: %s", (unsigned long long)seed,
                        driver->violation);
    for (uint32_t i = 0; i < wf_state_run_count(driver->state); i++) {
        const struct wf_run *run = wf_state_run_at(driver->state, i);
        cr_assert(wf_workflow_state_terminal(run->state), "seed %llu: %s ends %s",
                  (unsigned long long)seed, run->def.id, wf_workflow_state_name(run->state));
    }
    return driver;
}

static bool effect_applied(const struct wfd *driver, const char *key)
{
    for (uint32_t i = 0; i < driver->effect_count; i++) {
        if (strcmp(driver->effects[i], key) == 0) {
            return true;
        }
    }
    return false;
}

/* Invariants under chaos, after every step: one state, completed-started, deps before start,
 * attempts bounded, no regression; and every Completed task's effect applied exactly once. */
Test(wf_replay, chaos_workloads_keep_every_invariant)
{
    uint32_t retried = 0;
    uint32_t duplicates = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct wfd *driver = run_workload(seed);
        for (uint32_t i = 0; i < wf_state_run_count(driver->state); i++) {
            const struct wf_run *run = wf_state_run_at(driver->state, i);
            for (uint32_t t = 0; t < run->def.task_count; t++) {
                retried += run->tasks[t].attempts > 1;
                if (run->tasks[t].state == WF_TASK_COMPLETED) {
                    char key[WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
                    wf_idempotency_key(run->def.id, run->def.tasks[t].id, key);
                    cr_assert(effect_applied(driver, key), "seed %llu: %s completed, no effect",
                              (unsigned long long)seed, key);
                }
            }
        }
        duplicates += driver->duplicates;
        wfd_destroy(driver);
    }
    cr_assert_gt(retried, SEEDS / 2, "the workloads exercise retries");
    cr_assert_gt(duplicates, 5, "and duplicate reports");
}

/* Projector rebuild: re-applying the recorded log from scratch gives the same state hash after
 * every entry, so a replica is always a prefix-application of the log. */
Test(wf_replay, rebuild_from_log_matches_every_index)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct wfd *driver = run_workload(seed);
        struct wf_state *rebuilt = wfd_rebuild(driver, 0);
        for (uint32_t i = 0; i < driver->log_count; i++) {
            struct wf_result result;
            const struct wfd_entry *entry = &driver->log[i];
            wf_state_apply(rebuilt, entry->index, entry->bytes, entry->len, &result);
            cr_assert_eq(wf_state_hash(rebuilt), entry->hash, "seed %llu entry %u",
                         (unsigned long long)seed, i);
        }
        cr_assert_eq(wf_state_projection_hash(rebuilt), wf_state_projection_hash(driver->state));
        wf_state_destroy(rebuilt);
        wfd_destroy(driver);
    }
}

/* Snapshots: restoring a snapshot taken at any index gives the same hash, counters and applied
 * index, and applying the rest of the log to it ends in the live state. */
Test(wf_replay, snapshot_restore_then_continue)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed += 3) {
        struct wfd *driver = run_workload(seed);
        for (uint32_t cut = 0; cut <= driver->log_count; cut += 1 + driver->log_count / 5) {
            struct wf_state *prefix = wfd_rebuild(driver, cut);
            size_t size = wf_state_snapshot_size(prefix);
            uint8_t *bytes = malloc(size);
            cr_assert_eq(wf_state_snapshot(prefix, bytes, size), size);
            cr_assert_eq(wf_state_snapshot(prefix, bytes, size - 1), 0, "too small: refused");
            struct wf_state *restored = wfd_rebuild(driver, 0);
            struct wf_error error;
            cr_assert(wf_state_restore(restored, bytes, size, &error), "%s", error.text);
            cr_assert_eq(wf_state_hash(restored), wf_state_hash(prefix));
            cr_assert_eq(wf_state_applied_index(restored), wf_state_applied_index(prefix));
            struct wf_counters a;
            struct wf_counters b;
            wf_state_counters(prefix, &a);
            wf_state_counters(restored, &b);
            cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "gauges are recounted identically");
            for (uint32_t i = cut; i < driver->log_count; i++) {
                struct wf_result result;
                const struct wfd_entry *entry = &driver->log[i];
                wf_state_apply(restored, entry->index, entry->bytes, entry->len, &result);
            }
            cr_assert_eq(wf_state_hash(restored), wf_state_hash(driver->state), "seed %llu cut %u",
                         (unsigned long long)seed, cut);
            free(bytes);
            wf_state_destroy(prefix);
            wf_state_destroy(restored);
        }
        wfd_destroy(driver);
    }
}

/* Determinism (G1): the same seed gives byte-identical logs and hashes; the engine reads no
 * clock, environment or randomness. */
Test(wf_replay, same_inputs_same_log_same_hash)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct wfd *first = run_workload(seed);
        struct wfd *second = run_workload(seed);
        cr_assert_eq(first->log_count, second->log_count);
        for (uint32_t i = 0; i < first->log_count; i++) {
            cr_assert_eq(first->log[i].len, second->log[i].len);
            cr_assert_eq(memcmp(first->log[i].bytes, second->log[i].bytes, first->log[i].len), 0);
            cr_assert_eq(first->log[i].hash, second->log[i].hash);
        }
        wfd_destroy(first);
        wfd_destroy(second);
    }
    struct wfd *a = run_workload(1);
    struct wfd *b = run_workload(2);
    cr_assert_neq(wf_state_hash(a->state), wf_state_hash(b->state), "the hash sees differences");
    wfd_destroy(a);
    wfd_destroy(b);
}

/* Bad snapshots: truncated, damaged (with and without a recomputed checksum) or too large for
 * the state are refused with the field named and leave an empty state; none crash, and any that
 * is accepted satisfies every state invariant and is canonical (its snapshot is the same bytes). */
Test(wf_replay, corrupt_snapshots_are_refused)
{
    struct wfd *driver = run_workload(7);
    size_t size = wf_state_snapshot_size(driver->state);
    uint8_t *good = malloc(size);
    uint8_t *bad = malloc(size);
    cr_assert_eq(wf_state_snapshot(driver->state, good, size), size);
    struct wf_state *state = wfd_rebuild(driver, 0);
    struct wf_error error;
    for (size_t cut = 0; cut < size; cut += 1 + size / 97) {
        cr_assert_not(wf_state_restore(state, good, cut, &error));
        cr_assert(strncmp(error.text, "snapshot", 8) == 0, "%s", error.text);
        cr_assert_eq(wf_state_run_count(state), 0);
    }
    memcpy(bad, good, size);
    bad[size / 2] ^= 0x10;
    cr_assert_not(wf_state_restore(state, bad, size, &error));
    cr_assert_str_eq(error.text, "snapshot.checksum: mismatch, the snapshot is corrupt");
    struct prng prng;
    prng_seed(&prng, 99);
    uint32_t accepted = 0;
    uint8_t *again = malloc(size);
    for (uint32_t round = 0; round < 600; round++) {
        memcpy(bad, good, size);
        size_t at = (size_t)prng_below(&prng, size - 8);
        bad[at] = prng_chance(&prng, 0.5) ? (uint8_t)prng_next(&prng)
                                          : (uint8_t)(bad[at] ^ (1u << prng_below(&prng, 8)));
        uint64_t checksum = hash_bytes(bad, size - 8, 0);
        bytes_put_u64(bad + size - 8, checksum);
        if (wf_state_restore(state, bad, size, &error)) {
            struct wf_violation violation;
            cr_assert(wf_inv_check_state(state, &violation), "%s", violation.text);
            /* canonical: the restored state's snapshot is the very bytes it came from */
            cr_assert_eq(wf_state_snapshot(state, again, size), size, "round %u", round);
            cr_assert_eq(memcmp(again, bad, size), 0,
                         "round %u: byte %zu accepted but not canonical", round, at);
            accepted++;
        } else {
            cr_assert(strncmp(error.text, "snapshot", 8) == 0, "%s", error.text);
            cr_assert_eq(wf_state_run_count(state), 0);
        }
    }
    cr_assert_lt(accepted, 600, "structural damage is caught beyond the checksum");
    free(again);
    struct wf_state_config small = { .workflows_max = 2 };
    struct wf_state *tiny = wf_state_create(&small);
    cr_assert_not(wf_state_restore(tiny, good, size, &error));
    cr_assert_str_eq(error.text, "snapshot.runs: 3 workflows exceed this state's maximum 2");
    wf_state_destroy(tiny);
    wf_state_destroy(state);
    free(good);
    free(bad);
    wfd_destroy(driver);
}
