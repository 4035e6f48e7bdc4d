/* Projection hashes: what a workflow computed (states and outputs), independent of how. */
#include "workflows/wf_state_impl.h"

#include <assert.h>
#include <string.h>

uint64_t wf_run_projection_hash(const struct wf_run *run)
{
    assert(run != NULL);
    assert(run->def.task_count <= WF_TASKS_MAX);
    uint64_t h = hash_fold_u64(0x57465052 /* "WFPR" */, run->def_hash);
    h = hash_fold_u64(h, (uint64_t)run->state);
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        const struct wf_task_run *task = &run->tasks[t];
        h = hash_fold_u64(h, (uint64_t)task->state);
        h = hash_fold_u64(h, task->output_len);
        h = hash_fold_bytes(h, task->output, task->output_len);
    }
    return h;
}

uint64_t wf_state_projection_hash(const struct wf_state *state)
{
    assert(state != NULL);
    uint64_t h = hash_fold_u64(0, state->run_count);
    for (uint32_t i = 0; i < state->run_count; i++) {
        const struct wf_run *run = &state->runs[state->by_id[i]];
        h = hash_fold_bytes(h, run->def.id, strlen(run->def.id));
        h = hash_fold_u64(h, wf_run_projection_hash(run));
    }
    return h;
}
