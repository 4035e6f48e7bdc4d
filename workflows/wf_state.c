/* Creation, lookup and read access of the workflow state machine (apply lives in wf_apply.c). */
#include "workflows/wf_state_impl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wf_state *wf_state_create(const struct wf_state_config *config)
{
    assert(config != NULL);
    assert(config->workflows_max >= 1 && config->workflows_max <= WF_WORKFLOWS_MAX);
    struct wf_state *state = calloc(1, sizeof(*state));
    if (state == NULL) {
        goto out_fail;
    }
    state->config = *config;
    state->runs = calloc(config->workflows_max, sizeof(*state->runs));
    if (state->runs == NULL) {
        goto out_state;
    }
    state->by_id = calloc(config->workflows_max, sizeof(*state->by_id));
    state->run_hash = calloc(config->workflows_max, sizeof(*state->run_hash));
    state->run_hash_valid = calloc(config->workflows_max, sizeof(*state->run_hash_valid));
    if (state->by_id == NULL || state->run_hash == NULL || state->run_hash_valid == NULL) {
        goto out_arrays;
    }
    return state; /* calloc'd: already the empty state wf_state_clear would make */
out_arrays:
    free(state->run_hash_valid);
    free(state->run_hash);
    free(state->by_id);
    free(state->runs);
out_state:
    free(state);
out_fail:
    return NULL;
}

void wf_state_destroy(struct wf_state *state)
{
    if (state == NULL) {
        return;
    }
    free(state->run_hash_valid);
    free(state->run_hash);
    free(state->by_id);
    free(state->runs);
    free(state);
}

void wf_state_clear(struct wf_state *state)
{
    assert(state != NULL);
    assert(state->runs != NULL);
    assert(state->run_count <= state->runs_dirty);
    assert(state->runs_dirty <= state->config.workflows_max);
    memset(state->runs, 0, state->runs_dirty * sizeof(*state->runs)); /* the rest is zero */
    state->runs_dirty = 0;
    memset(state->by_id, 0, state->config.workflows_max * sizeof(*state->by_id));
    memset(state->run_hash_valid, 0, state->config.workflows_max * sizeof(*state->run_hash_valid));
    state->applied_index = 0;
    state->clock_ms = 0;
    state->run_count = 0;
    memset(&state->counters, 0, sizeof(state->counters));
}

uint32_t wf_state_id_position(const struct wf_state *state, const char *id, bool *found)
{
    assert(state != NULL);
    assert(id != NULL);
    uint32_t low = 0;
    uint32_t high = state->run_count;
    *found = false;
    while (low < high) { /* bounded: halves every iteration */
        uint32_t mid = low + (high - low) / 2;
        int order = strcmp(state->runs[state->by_id[mid]].def.id, id);
        if (order == 0) {
            *found = true;
            return mid;
        }
        if (order < 0) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    return low;
}

void wf_state_index_insert(struct wf_state *state, uint32_t position, uint32_t slot)
{
    assert(state->run_count < state->config.workflows_max); /* by_id[run_count] is written */
    assert(position <= state->run_count);
    assert(slot < state->config.workflows_max);
    for (uint32_t i = state->run_count; i > position; i--) {
        state->by_id[i] = state->by_id[i - 1];
    }
    state->by_id[position] = (uint16_t)slot;
}

void wf_state_invalidate_run(struct wf_state *state, const char *workflow_id)
{
    assert(state != NULL);
    assert(workflow_id != NULL);
    bool found = false;
    uint32_t position = wf_state_id_position(state, workflow_id, &found);
    if (found) {
        state->run_hash_valid[state->by_id[position]] = false;
    }
}

uint64_t wf_state_applied_index(const struct wf_state *state)
{
    assert(state != NULL);
    return state->applied_index;
}

uint64_t wf_state_clock_ms(const struct wf_state *state)
{
    assert(state != NULL);
    return state->clock_ms;
}

const struct wf_state_config *wf_state_config(const struct wf_state *state)
{
    assert(state != NULL);
    return &state->config;
}

uint32_t wf_state_run_count(const struct wf_state *state)
{
    assert(state != NULL);
    assert(state->run_count <= state->config.workflows_max);
    return state->run_count;
}

const struct wf_run *wf_state_run_at(const struct wf_state *state, uint32_t i)
{
    assert(state != NULL);
    assert(i < state->run_count);
    return &state->runs[i];
}

const struct wf_run *wf_state_find(const struct wf_state *state, const char *workflow_id)
{
    bool found = false;
    uint32_t position = wf_state_id_position(state, workflow_id, &found);
    return found ? &state->runs[state->by_id[position]] : NULL;
}

void wf_state_counters(const struct wf_state *state, struct wf_counters *out)
{
    assert(state != NULL);
    assert(out != NULL);
    *out = state->counters;
}

void wf_state_recount(struct wf_state *state)
{
    assert(state != NULL);
    assert(state->run_count <= state->config.workflows_max);
    struct wf_counters *counters = &state->counters;
    memset(counters->workflows_by_state, 0, sizeof(counters->workflows_by_state));
    memset(counters->tasks_by_state, 0, sizeof(counters->tasks_by_state));
    for (uint32_t i = 0; i < state->run_count; i++) {
        const struct wf_run *run = &state->runs[i];
        assert((unsigned)run->state < WF_WORKFLOW_STATE_COUNT);
        counters->workflows_by_state[run->state]++;
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            assert((unsigned)run->tasks[t].state < WF_TASK_STATE_COUNT);
            counters->tasks_by_state[run->tasks[t].state]++;
        }
    }
}

const char *wf_status_name(enum wf_status status)
{
    static const char *const names[WF_STATUS_COUNT] = {
        "ok",       "ok_existing", "malformed", "not_found", "conflict",
        "capacity", "illegal",     "stale",     "too_early",
    };
    return (unsigned)status < WF_STATUS_COUNT ? names[status] : "invalid";
}

size_t wf_result_encode(const struct wf_result *result, uint8_t *buf, size_t cap)
{
    assert(result != NULL);
    assert(buf != NULL || cap == 0);
    struct wf_writer writer;
    wf_writer_init(&writer, buf, cap);
    wf_put_u8(&writer, WF_COMMAND_TAG);
    wf_put_u8(&writer, (uint8_t)result->status);
    wf_put_u8(&writer, result->duplicate ? 1 : 0);
    wf_put_str8(&writer, result->message);
    return writer.overflow ? 0 : writer.len;
}
