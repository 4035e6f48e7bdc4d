/* The canonical encoding of the workflow state: snapshots, restore, and the state hash. */
#include "workflows/wf_invariants.h"
#include "workflows/wf_state_impl.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/*
 * Snapshot layout, version 1 (little-endian):
 *   "WFSN", u16 version, u64 applied index,
 *   body: u64 clock, cumulative counters (u64 each, in struct order), u32 run count, runs in
 *         ascending submit_index: u64 submit_index, u32 definition length, definition
 *         (wf_def_encode), u8 state, u64 submitted_ms, u64 ended_ms, u32 pauses, then per task:
 *         u8 state, u32 attempts, u8 retry_pending, u64 retry_at_ms, u64 ready_ms,
 *         u64 completed_ms, blob16 output, then per attempt: u32 worker, u8 outcome,
 *         u64 started_ms, u64 lease_deadline_ms, u64 ended_ms, u32 extensions, u32 late_reports,
 *         str8 error_kind,
 *   u64 XXH3-64 of every byte before it.
 * wf_state_hash is XXH3-64 of the body's clock, counters and run count followed by one u64 per
 * run: the XXH3-64 of that run's encoding, in which the definition (length and bytes) is replaced
 * by its u64 wf_def_hash. The by-state gauges are derived, not stored.
 */
#define SNAPSHOT_MAGIC      "WFSN"
#define SNAPSHOT_VERSION    1
#define CUMULATIVE_COUNTERS 16

static void cumulative_counters(const struct wf_counters *c, uint64_t out[CUMULATIVE_COUNTERS])
{
    const uint64_t values[CUMULATIVE_COUNTERS] = {
        c->workflows_submitted, c->submits_idempotent,  c->attempts_started,  c->attempts_completed,
        c->attempts_failed,     c->attempts_abandoned,  c->lease_extensions,  c->lease_expiries,
        c->retries_scheduled,   c->duplicates_detected, c->commands_applied,  c->commands_rejected,
        c->commands_malformed,  c->completion_ms_total, c->completion_ms_min, c->completion_ms_max,
    };
    memcpy(out, values, sizeof(values));
}

static void set_cumulative_counters(struct wf_counters *c, const uint64_t in[CUMULATIVE_COUNTERS])
{
    uint64_t *const fields[CUMULATIVE_COUNTERS] = {
        &c->workflows_submitted, &c->submits_idempotent,  &c->attempts_started,
        &c->attempts_completed,  &c->attempts_failed,     &c->attempts_abandoned,
        &c->lease_extensions,    &c->lease_expiries,      &c->retries_scheduled,
        &c->duplicates_detected, &c->commands_applied,    &c->commands_rejected,
        &c->commands_malformed,  &c->completion_ms_total, &c->completion_ms_min,
        &c->completion_ms_max,
    };
    for (size_t i = 0; i < CUMULATIVE_COUNTERS; i++) {
        *fields[i] = in[i];
    }
}

static void encode_attempt(const struct wf_attempt *attempt, struct wf_writer *writer)
{
    assert((unsigned)attempt->outcome < WF_ATTEMPT_OUTCOME_COUNT);
    assert(attempt->outcome == WF_ATTEMPT_OPEN || attempt->ended_ms >= attempt->started_ms);
    wf_put_u32(writer, attempt->worker_id);
    wf_put_u8(writer, (uint8_t)attempt->outcome);
    wf_put_u64(writer, attempt->started_ms);
    wf_put_u64(writer, attempt->lease_deadline_ms);
    wf_put_u64(writer, attempt->ended_ms);
    wf_put_u32(writer, attempt->extensions);
    wf_put_u32(writer, attempt->late_reports);
    wf_put_str8(writer, attempt->error_kind);
}

static void encode_task(const struct wf_task_run *task, struct wf_writer *writer)
{
    assert((unsigned)task->state < WF_TASK_STATE_COUNT);
    assert(task->attempts <= WF_ATTEMPTS_MAX && task->output_len <= WF_OUTPUT_BYTES_MAX);
    wf_put_u8(writer, (uint8_t)task->state);
    wf_put_u32(writer, task->attempts);
    wf_put_u8(writer, task->retry_pending ? 1 : 0);
    wf_put_u64(writer, task->retry_at_ms);
    wf_put_u64(writer, task->ready_ms);
    wf_put_u64(writer, task->completed_ms);
    wf_put_blob16(writer, task->output, task->output_len);
    for (uint32_t a = 0; a < task->attempts; a++) {
        encode_attempt(&task->attempt_log[a], writer);
    }
}

static void encode_run(const struct wf_run *run, struct wf_writer *writer)
{
    assert((unsigned)run->state < WF_WORKFLOW_STATE_COUNT);
    assert(run->def.task_count >= 1 && run->def.task_count <= WF_TASKS_MAX);
    wf_put_u64(writer, run->submit_index);
    if (writer->hasher != NULL) {
        /* Hashing: the immutable definition enters through its own XXH3, computed once at
         * submit (and recomputed at restore), instead of being re-encoded on every hash. */
        wf_put_u64(writer, run->def_hash);
    } else {
        struct wf_writer counter;
        wf_writer_init(&counter, NULL, 0);
        wf_def_encode(&run->def, &counter);
        wf_put_u32(writer, (uint32_t)counter.len);
        wf_def_encode(&run->def, writer);
    }
    wf_put_u8(writer, (uint8_t)run->state);
    wf_put_u64(writer, run->submitted_ms);
    wf_put_u64(writer, run->ended_ms);
    wf_put_u32(writer, run->pauses);
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        encode_task(&run->tasks[t], writer);
    }
}

void wf_state_encode_body(const struct wf_state *state, struct wf_writer *writer)
{
    assert(state != NULL);
    assert(writer != NULL);
    uint64_t counters[CUMULATIVE_COUNTERS];
    cumulative_counters(&state->counters, counters);
    wf_put_u64(writer, state->clock_ms);
    for (size_t i = 0; i < CUMULATIVE_COUNTERS; i++) {
        wf_put_u64(writer, counters[i]);
    }
    wf_put_u32(writer, state->run_count);
    for (uint32_t i = 0; i < state->run_count; i++) {
        encode_run(&state->runs[i], writer);
    }
}

static uint64_t run_hash(const struct wf_run *run)
{
    struct wf_hasher hasher;
    struct wf_writer writer;
    wf_hasher_init(&hasher, 0);
    wf_writer_init_hash(&writer, &hasher);
    encode_run(run, &writer);
    return wf_writer_digest(&writer);
}

/* XXH3 of: clock, cumulative counters, run count, then each run's hash in canonical order. */
static uint64_t state_hash(const struct wf_state *state, bool use_cache)
{
    uint64_t counters[CUMULATIVE_COUNTERS];
    cumulative_counters(&state->counters, counters);
    struct wf_hasher hasher;
    struct wf_writer writer;
    wf_hasher_init(&hasher, 0);
    wf_writer_init_hash(&writer, &hasher);
    wf_put_u64(&writer, state->clock_ms);
    for (size_t i = 0; i < CUMULATIVE_COUNTERS; i++) {
        wf_put_u64(&writer, counters[i]);
    }
    wf_put_u32(&writer, state->run_count);
    for (uint32_t i = 0; i < state->run_count; i++) {
        uint64_t h;
        if (!use_cache) {
            h = run_hash(&state->runs[i]);
        } else if (state->run_hash_valid[i]) {
            h = state->run_hash[i];
        } else {
            h = run_hash(&state->runs[i]);
            /* The cache is not logical state: filling it from a const view is safe, the hash
             * of an unchanged run is the same whenever it is computed. */
            ((struct wf_state *)state)->run_hash[i] = h;
            ((struct wf_state *)state)->run_hash_valid[i] = true;
        }
        wf_put_u64(&writer, h);
    }
    return wf_writer_digest(&writer);
}

uint64_t wf_state_hash(const struct wf_state *state)
{
    assert(state != NULL);
    return state_hash(state, true);
}

uint64_t wf_state_hash_uncached(const struct wf_state *state)
{
    assert(state != NULL);
    return state_hash(state, false);
}

static void encode_snapshot(const struct wf_state *state, struct wf_writer *writer)
{
    wf_put_bytes(writer, SNAPSHOT_MAGIC, 4);
    wf_put_u16(writer, SNAPSHOT_VERSION);
    wf_put_u64(writer, state->applied_index);
    wf_state_encode_body(state, writer);
}

size_t wf_state_snapshot_size(const struct wf_state *state)
{
    struct wf_writer writer;
    wf_writer_init(&writer, NULL, 0);
    encode_snapshot(state, &writer);
    return writer.len + 8;
}

size_t wf_state_snapshot(const struct wf_state *state, uint8_t *buf, size_t cap)
{
    assert(state != NULL);
    assert(buf != NULL || cap == 0);
    struct wf_writer writer;
    wf_writer_init(&writer, buf, cap);
    encode_snapshot(state, &writer);
    if (writer.overflow || cap - writer.len < 8) {
        return 0;
    }
    wf_put_u64(&writer, hash_bytes(buf, writer.len, 0));
    assert(!writer.overflow);
    return writer.len;
}

static bool decode_attempt(struct wf_reader *reader, const char *field, struct wf_attempt *attempt)
{
    uint8_t outcome = 0;
    wf_get_u32(reader, field, &attempt->worker_id);
    wf_get_u8(reader, field, &outcome);
    wf_get_u64(reader, field, &attempt->started_ms);
    wf_get_u64(reader, field, &attempt->lease_deadline_ms);
    wf_get_u64(reader, field, &attempt->ended_ms);
    wf_get_u32(reader, field, &attempt->extensions);
    wf_get_u32(reader, field, &attempt->late_reports);
    if (!wf_get_str8(reader, field, attempt->error_kind, WF_ERROR_KIND_BYTES_MAX)) {
        return false;
    }
    if (outcome >= WF_ATTEMPT_OUTCOME_COUNT) {
        return wf_reader_fail(reader, "%s.outcome: invalid value %u", field, (unsigned)outcome);
    }
    attempt->outcome = (enum wf_attempt_outcome)outcome;
    return true;
}

static bool decode_task(struct wf_reader *reader, const char *run_field, uint32_t t,
                        uint32_t max_attempts, struct wf_task_run *task)
{
    char field[128];
    snprintf(field, sizeof(field), "%s.tasks[%u]", run_field, t);
    uint8_t state = 0;
    uint8_t retry_pending = 0;
    size_t output_len = 0;
    wf_get_u8(reader, field, &state);
    wf_get_u32(reader, field, &task->attempts);
    wf_get_u8(reader, field, &retry_pending);
    wf_get_u64(reader, field, &task->retry_at_ms);
    wf_get_u64(reader, field, &task->ready_ms);
    wf_get_u64(reader, field, &task->completed_ms);
    if (!wf_get_blob16(reader, field, task->output, WF_OUTPUT_BYTES_MAX, &output_len)) {
        return false;
    }
    if (state >= WF_TASK_STATE_COUNT || retry_pending > 1 || task->attempts > max_attempts) {
        return wf_reader_fail(reader, "%s: invalid state %u, retry flag %u or %u attempts", field,
                              (unsigned)state, (unsigned)retry_pending, task->attempts);
    }
    task->state = (enum wf_task_state)state;
    task->retry_pending = retry_pending == 1;
    task->output_len = (uint16_t)output_len;
    for (uint32_t a = 0; a < task->attempts; a++) {
        snprintf(field, sizeof(field), "%s.tasks[%u].attempts[%u]", run_field, t, a);
        if (!decode_attempt(reader, field, &task->attempt_log[a])) {
            return false;
        }
    }
    return true;
}

static bool decode_run(struct wf_state *state, struct wf_reader *reader, uint32_t i,
                       struct wf_run *run)
{
    char field[64];
    snprintf(field, sizeof(field), "snapshot.runs[%u]", i);
    uint32_t def_len = 0;
    wf_get_u64(reader, field, &run->submit_index);
    if (!wf_get_u32(reader, field, &def_len)) {
        return false;
    }
    if (def_len > reader->len - reader->pos) {
        return wf_reader_fail(reader, "%s.definition: length %u exceeds the bytes left", field,
                              def_len);
    }
    struct wf_reader inner;
    struct wf_error error;
    wf_reader_init(&inner, reader->buf + reader->pos, def_len);
    if (!wf_def_decode(&inner, &run->def, &error) || !wf_reader_expect_end(&inner, "definition")) {
        return wf_reader_fail(reader, "%s.%s", field, inner.failed ? inner.error.text : error.text);
    }
    reader->pos += def_len;
    run->def_hash = wf_def_hash(&run->def);
    if (i > 0 && run->submit_index <= state->runs[i - 1].submit_index) {
        return wf_reader_fail(reader, "%s.submit_index: not ascending", field);
    }
    uint8_t run_state = 0;
    wf_get_u8(reader, field, &run_state);
    wf_get_u64(reader, field, &run->submitted_ms);
    wf_get_u64(reader, field, &run->ended_ms);
    if (!wf_get_u32(reader, field, &run->pauses)) {
        return false;
    }
    if (run_state >= WF_WORKFLOW_STATE_COUNT) {
        return wf_reader_fail(reader, "%s.state: invalid value %u", field, (unsigned)run_state);
    }
    run->state = (enum wf_workflow_state)run_state;
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        if (!decode_task(reader, field, t, run->def.tasks[t].retry.max_attempts, &run->tasks[t])) {
            return false;
        }
    }
    return true;
}

static bool decode_runs(struct wf_state *state, struct wf_reader *reader)
{
    uint32_t run_count = 0;
    if (!wf_get_u32(reader, "snapshot.runs", &run_count)) {
        return false;
    }
    if (run_count > state->config.workflows_max) {
        return wf_reader_fail(reader, "snapshot.runs: %u workflows exceed this state's maximum %u",
                              run_count, state->config.workflows_max);
    }
    for (uint32_t i = 0; i < run_count; i++) {
        struct wf_run *run = &state->runs[i];
        assert(i >= state->runs_dirty); /* restore clears first: the slot is zero */
        state->runs_dirty = i + 1;      /* written from here on, even if decoding fails */
        if (!decode_run(state, reader, i, run)) {
            return false;
        }
        bool found = false;
        uint32_t position = wf_state_id_position(state, run->def.id, &found);
        if (found) {
            return wf_reader_fail(reader, "snapshot.runs[%u]: duplicate workflow id '%s'", i,
                                  run->def.id);
        }
        wf_state_index_insert(state, position, i);
        state->run_count++;
    }
    return true;
}

static bool decode_snapshot(struct wf_state *state, struct wf_reader *reader)
{
    assert(state->run_count == 0); /* restore clears first */
    assert(reader->pos == 0);
    char magic[4];
    uint16_t version = 0;
    uint64_t counters[CUMULATIVE_COUNTERS];
    if (!wf_get_bytes(reader, "snapshot.magic", magic, 4)) {
        return false;
    }
    if (memcmp(magic, SNAPSHOT_MAGIC, 4) != 0) {
        return wf_reader_fail(reader, "snapshot.magic: not a workflow snapshot");
    }
    if (!wf_get_u16(reader, "snapshot.version", &version)) {
        return false;
    }
    if (version != SNAPSHOT_VERSION) {
        return wf_reader_fail(reader, "snapshot.version: unsupported version %u (this build: %d)",
                              (unsigned)version, SNAPSHOT_VERSION);
    }
    wf_get_u64(reader, "snapshot.applied_index", &state->applied_index);
    wf_get_u64(reader, "snapshot.clock_ms", &state->clock_ms);
    for (size_t i = 0; i < CUMULATIVE_COUNTERS; i++) {
        wf_get_u64(reader, "snapshot.counters", &counters[i]);
    }
    if (reader->failed) {
        return false;
    }
    set_cumulative_counters(&state->counters, counters);
    return decode_runs(state, reader) && wf_reader_expect_end(reader, "snapshot");
}

bool wf_state_restore(struct wf_state *state, const uint8_t *buf, size_t len,
                      struct wf_error *error)
{
    assert(state != NULL);
    assert(buf != NULL || len == 0);
    wf_state_clear(state);
    if (len < 8) {
        wf_error_set(error, "snapshot: %zu bytes, too short for a checksum", len);
        return false;
    }
    struct wf_reader trailer;
    uint64_t checksum = 0;
    wf_reader_init(&trailer, buf + len - 8, 8);
    wf_get_u64(&trailer, "snapshot.checksum", &checksum);
    if (checksum != hash_bytes(buf, len - 8, 0)) {
        wf_error_set(error, "snapshot.checksum: mismatch, the snapshot is corrupt");
        return false;
    }
    struct wf_reader reader;
    wf_reader_init(&reader, buf, len - 8);
    if (!decode_snapshot(state, &reader)) {
        wf_error_set(error, "%s", reader.error.text);
        goto out_clear;
    }
    wf_state_recount(state);
    struct wf_violation violation;
    if (!wf_inv_check_state(state, &violation)) {
        wf_error_set(error, "snapshot: inconsistent state: %s", violation.text);
        goto out_clear;
    }
    return true;
out_clear:
    wf_state_clear(state);
    return false;
}
