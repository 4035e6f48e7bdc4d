/* Internal layout of struct wf_state, shared by the wf_*.c files that implement the state machine.
 */
#ifndef FLOWRAFT_WORKFLOWS_WF_STATE_IMPL_H
#define FLOWRAFT_WORKFLOWS_WF_STATE_IMPL_H

#include "workflows/wf_bytes.h"
#include "workflows/wf_state.h"

/* Not a public contract: only workflows/wf_*.c and white-box tests include this. */
struct wf_state {
    struct wf_state_config config;
    uint64_t applied_index; /* invariant: strictly increases with every apply */
    uint64_t clock_ms;      /* invariant: never decreases */
    uint32_t run_count;     /* invariant: <= config.workflows_max */
    struct wf_run *runs;    /* [workflows_max]; [0, run_count) in ascending submit_index */
    uint32_t runs_dirty;    /* invariant: run_count <= runs_dirty, and runs[runs_dirty..] are all
                               zero bytes (never written since the state was created or cleared):
                               a submit finds its slot zeroed, a clear zeroes only what was used */
    uint16_t *by_id;        /* [workflows_max]; run slots sorted by workflow id, for lookup */
    /* Not state: a cache of each run's hash (wf_state_hash folds them). Every command changes at
     * most the run it names, so apply invalidates exactly that run's entry, before dispatch. */
    uint64_t *run_hash;   /* [workflows_max] */
    bool *run_hash_valid; /* [workflows_max] */
    struct wf_counters counters;
    struct wf_def scratch_def;     /* decode target of submit commands and snapshots */
    struct wf_command scratch_cmd; /* the command being applied */
    char log_line[WF_LOG_LINE_BYTES_MAX];
};

/* Empties the state (keeps the config and the allocations). */
void wf_state_clear(struct wf_state *state);

/* Position in by_id where `id` is or would be inserted; *found tells which. */
uint32_t wf_state_id_position(const struct wf_state *state, const char *id, bool *found);

/* Inserts slot `slot` (whose def.id is set) into by_id at `position`. */
void wf_state_index_insert(struct wf_state *state, uint32_t position, uint32_t slot);

/* Writes the canonical logical state (everything wf_state_hash covers). */
void wf_state_encode_body(const struct wf_state *state, struct wf_writer *writer);

/* Marks the cached hash of the run with this id (if any) stale. */
void wf_state_invalidate_run(struct wf_state *state, const char *workflow_id);

/* Recomputes the by-state gauges from the runs (after a restore). */
void wf_state_recount(struct wf_state *state);

#endif
