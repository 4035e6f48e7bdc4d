/* The replicated workflow state machine: apply committed commands, snapshot, restore, hash. */
#ifndef FLOWRAFT_WORKFLOWS_WF_STATE_H
#define FLOWRAFT_WORKFLOWS_WF_STATE_H

#include "workflows/wf_command.h"
#include "workflows/wf_def.h"
#include "workflows/wf_error.h"
#include "workflows/wf_limits.h"
#include "workflows/wf_transitions.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The state changes only in wf_state_apply (and wholesale in wf_state_restore), applied in log
 * order from committed Raft COMMAND entries tagged 'W' (G2). Apply is deterministic: it reads
 * nothing but its arguments and the state (no clock, environment or randomness), so replicas that
 * applied the same entries have equal states and equal wf_state_hash (G1). Time is the state's
 * clock: max(previous clock, the command's leader timestamp), so it never goes back.
 *
 * Memory: wf_state_create allocates everything once (workflows_max runs, about 150 KB each);
 * apply, snapshot, restore and the hashes allocate nothing.
 *
 * The structs below are read-only views for the coordinator, executors, invariant checks and
 * tools; only wf_state_apply and wf_state_restore write them.
 */

/* One attempt of one task: part of the replicated history, never deleted or rewritten once
 * closed (only late_reports grows). */
struct wf_attempt {
    uint32_t worker_id;              /* the worker it was dispatched to */
    enum wf_attempt_outcome outcome; /* invariant: only the task's last attempt may be open */
    uint64_t started_ms;             /* dispatch time: the lease starts here, not at a heartbeat */
    uint64_t lease_deadline_ms;      /* invariant: >= started_ms; extend moves it forward only */
    uint64_t ended_ms;               /* when the outcome was decided; 0 while open;
                                        invariant: >= started_ms once closed */
    uint32_t extensions;             /* accepted extend_lease commands */
    uint32_t late_reports; /* reports carrying this attempt's token after it closed: detected
                              duplicates (a worker reporting twice, or after its lease expired) */
    char error_kind[WF_ERROR_KIND_BYTES_MAX + 1]; /* failed: the worker's kind; expired:
                                                     WF_ERROR_KIND_LEASE_EXPIRED; else "" */
};

struct wf_task_run {
    enum wf_task_state state;
    uint32_t attempts;     /* THE attempt counter: attempts started, incremented only by start;
                              attempt n is attempt_log[n - 1];
                              invariant: attempts <= def.tasks[i].retry.max_attempts */
    bool retry_pending;    /* Pending after a failed or expired attempt, until schedule_retry;
                              invariant: retry_pending implies state == Pending && attempts >= 1 */
    uint64_t retry_at_ms;  /* when retry_pending: the earliest time schedule_retry is accepted */
    uint64_t ready_ms;     /* when it last became Ready */
    uint64_t completed_ms; /* when Completed; 0 otherwise */
    uint16_t output_len;   /* the completing attempt's output; invariant: <= WF_OUTPUT_BYTES_MAX */
    uint8_t output[WF_OUTPUT_BYTES_MAX];
    struct wf_attempt attempt_log[WF_ATTEMPTS_MAX];
};

/* One submitted workflow. Runs are never removed (their history stays visible). */
struct wf_run {
    struct wf_def def;            /* canonical definition, immutable after submit */
    uint64_t def_hash;            /* wf_def_hash(&def) */
    enum wf_workflow_state state; /* when it fails or is cancelled, its tasks freeze in their
                                     states and open attempts close as abandoned: a Running task
                                     of a Failed or Cancelled run has no open attempt */
    uint64_t submit_index;        /* log index of the submit entry; runs are ordered by it */
    uint64_t submitted_ms;
    uint64_t ended_ms;                      /* when it became terminal; 0 before */
    uint32_t pauses;                        /* accepted pause commands */
    struct wf_task_run tasks[WF_TASKS_MAX]; /* [0, def.task_count) */
};

/* Counters: gauges by state, then cumulative counts. All are replicated state (part of the hash
 * and of snapshots), so every replica reports the same numbers. */
struct wf_counters {
    uint64_t workflows_by_state[WF_WORKFLOW_STATE_COUNT];
    uint64_t tasks_by_state[WF_TASK_STATE_COUNT];
    uint64_t workflows_submitted; /* runs created */
    uint64_t submits_idempotent;  /* submits that returned an existing run */
    uint64_t attempts_started;
    uint64_t attempts_completed;
    uint64_t attempts_failed;    /* reported failures (expiries are counted apart) */
    uint64_t attempts_abandoned; /* open when their workflow failed or was cancelled */
    uint64_t lease_extensions;
    uint64_t lease_expiries;
    uint64_t retries_scheduled;
    uint64_t duplicates_detected; /* worker reports rejected by fencing */
    uint64_t commands_applied;    /* accepted commands (ok or idempotent submit) */
    uint64_t commands_rejected;   /* decoded but refused (including duplicates) */
    uint64_t commands_malformed;  /* payloads that did not decode */
    uint64_t completion_ms_total; /* sum over Completed runs of ended_ms - submitted_ms */
    uint64_t completion_ms_min;   /* 0 until a run completed */
    uint64_t completion_ms_max;
};

enum wf_status {
    WF_OK = 0,          /* applied */
    WF_OK_EXISTING = 1, /* submit of an existing id with the same definition: no change */
    WF_REJECT_MALFORMED = 2,
    WF_REJECT_NOT_FOUND = 3, /* unknown workflow id or task index */
    WF_REJECT_CONFLICT = 4,  /* submit of an existing id with a different definition */
    WF_REJECT_CAPACITY = 5,  /* submit when workflows_max runs exist */
    WF_REJECT_ILLEGAL = 6,   /* not allowed by the transition table or the command gate */
    WF_REJECT_STALE = 7,     /* fencing: the token is not the task's open attempt */
    WF_REJECT_TOO_EARLY = 8, /* expire before the lease deadline, retry before the backoff */
};
#define WF_STATUS_COUNT 9

/* What applying one entry did. Rejections never change workflow or task state. */
struct wf_result {
    enum wf_status status;
    bool duplicate;       /* a worker report rejected by fencing (counted in duplicates_detected) */
    uint32_t transitions; /* task and workflow transitions made (each logged as one line) */
    char message[WF_MESSAGE_BYTES_MAX]; /* what happened or why it was refused */
};

/* A structured log line per transition and per rejection, as "wf key=value ...". The line is
 * borrowed for the duration of the call. The callback must not touch the state. */
typedef void wf_log_fn(void *context, const char *line, size_t len);

/*
 * workflows_max decides results (a submit beyond it is refused with WF_REJECT_CAPACITY), so it is
 * part of the replicated state machine's definition: invariant: every replica of a cluster uses
 * the same value, or they diverge at the first submit one of them refuses. The log callback is
 * local and may differ.
 */
struct wf_state_config {
    uint32_t workflows_max; /* runs this replica can hold; 1..WF_WORKFLOWS_MAX; same everywhere */
    wf_log_fn *log;         /* optional */
    void *log_context;
};

struct wf_state;

/* Allocates an empty state (NULL if memory is short). The config is copied. */
struct wf_state *wf_state_create(const struct wf_state_config *config);
void wf_state_destroy(struct wf_state *state);

/*
 * Applies the committed entry at log `index` (strictly greater than every index applied before:
 * the caller's bug otherwise, and it aborts). `payload` is the entry's bytes, tag included.
 * Malformed payloads and refused commands are results, never crashes; both are deterministic.
 */
void wf_state_apply(struct wf_state *state, uint64_t index, const uint8_t *payload, size_t len,
                    struct wf_result *result);

uint64_t wf_state_applied_index(const struct wf_state *state);
uint64_t wf_state_clock_ms(const struct wf_state *state);
const struct wf_state_config *wf_state_config(const struct wf_state *state);

/*
 * Runs in canonical order (ascending submit_index), i in [0, wf_state_run_count). The pointers
 * returned here and by wf_state_find are borrowed views into the state: the run at index i stays
 * at that address for the state's lifetime, but its contents change with every apply, and a
 * restore (successful or not) replaces every run.
 */
uint32_t wf_state_run_count(const struct wf_state *state);
const struct wf_run *wf_state_run_at(const struct wf_state *state, uint32_t i);
/* The run with this id, or NULL (binary search). */
const struct wf_run *wf_state_find(const struct wf_state *state, const char *workflow_id);

void wf_state_counters(const struct wf_state *state, struct wf_counters *out);

/*
 * XXH3-64 over the canonical encoding of the whole logical state (clock, counters, every run with
 * its definition, task states, outputs and every attempt record), field by field, so it is
 * independent of memory layout (see wf_snapshot.c for the exact bytes). Replicas at the same
 * applied index must agree. The applied index itself is not included.
 */
uint64_t wf_state_hash(const struct wf_state *state);

/*
 * wf_state_hash keeps each run's hash in a cache that apply invalidates for the one run a command
 * names, so hashing after every entry costs one run, not all. Filling that cache writes through
 * the const pointer: do not call wf_state_hash concurrently with anything else on the state.
 * This variant ignores the cache and must always agree with it; tests and the simulator's
 * paranoid mode compare the two.
 */
uint64_t wf_state_hash_uncached(const struct wf_state *state);

/*
 * The projection of a run: what the workflow computed, not how. It covers the definition hash,
 * the workflow state, and each task's state and output; it deliberately leaves out attempts,
 * workers, times, pauses and log indices. So a run whose task 2 failed once and was retried, or
 * that was paused and resumed, has the same projection hash as the fault-free run (when the
 * workers' outputs depend only on the task, as the idempotency key demands), while
 * wf_state_hash still tells them apart: retries are never invisible.
 */
uint64_t wf_run_projection_hash(const struct wf_run *run);
/* Projections of every run, folded in workflow-id order. */
uint64_t wf_state_projection_hash(const struct wf_state *state);

/* Snapshot: header, the canonical encoding wf_state_hash covers, the applied index, a checksum. */
size_t wf_state_snapshot_size(const struct wf_state *state);
/* Writes the snapshot; returns its length, or 0 if cap is too small. */
size_t wf_state_snapshot(const struct wf_state *state, uint8_t *buf, size_t cap);
/*
 * Replaces the state with a snapshot's, after checking the checksum, every bound, and every
 * state invariant (wf_inv_check_state). On failure the state is left empty (as just created) and
 * `error` names the field; callers install snapshots into a fresh state and swap on success.
 */
bool wf_state_restore(struct wf_state *state, const uint8_t *buf, size_t len,
                      struct wf_error *error);

/* Result bytes for the client: tag, status, message (str8). Returns the length, 0 if cap short. */
size_t wf_result_encode(const struct wf_result *result, uint8_t *buf, size_t cap);
const char *wf_status_name(enum wf_status status);

#endif
