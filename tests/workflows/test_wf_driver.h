/* Test-only driver: the workflow state machine with a coordinator and scripted workers, no Raft. */
#ifndef FLOWRAFT_TESTS_WORKFLOWS_TEST_WF_DRIVER_H
#define FLOWRAFT_TESTS_WORKFLOWS_TEST_WF_DRIVER_H

#include "workflows/wf_coordinator.h"
#include "workflows/wf_executor.h"
#include "workflows/wf_invariants.h"
#include "workflows/wf_state.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Every proposed command "commits" at once: it is stamped with the driver's virtual time,
 * encoded, appended to the driver's log and applied at the next index. After every applied entry
 * the driver runs wf_inv_check_state and wf_inv_check_progress and stops at the first violation.
 * Workers follow scripts keyed by (task id, attempt); by default they complete after
 * default_duration_ms with output "out:<idempotency key>", which depends only on the task.
 * A tiny side-effect ledger counts executions and effects applied once per idempotency key.
 */
#define WFD_WORKERS_MAX     8
#define WFD_LOG_MAX         4096
#define WFD_SCRIPTS_MAX     64
#define WFD_INJECTIONS_MAX  8
#define WFD_KEYS_MAX        256
#define WFD_ASSIGNMENTS_MAX 256

enum wfd_action {
    WFD_COMPLETE = 0,       /* execute the effect, report completed */
    WFD_FAIL = 1,           /* report failed with error_kind, no effect */
    WFD_CRASH = 2,          /* never report; the worker restarts after restart_ms */
    WFD_COMPLETE_TWICE = 3, /* execute once, report completed twice */
};

struct wfd_script {
    const char *task_id;
    uint32_t attempt; /* 1-based */
    enum wfd_action action;
    uint64_t duration_ms;   /* 0: the driver's default */
    const char *error_kind; /* WFD_FAIL */
    uint64_t heartbeat_ms;  /* nonzero: extend the lease every heartbeat_ms while running */
};

struct wfd_worker {
    bool busy;
    bool crashed;
    struct wf_assignment assignment;
    enum wfd_action action;
    const char *error_kind;
    uint64_t report_at_ms;
    uint64_t heartbeat_ms;
    uint64_t next_heartbeat_ms;
    uint64_t free_at_ms; /* crashed: restarts at this time */
};

struct wfd_entry {
    uint64_t index;
    size_t len;
    uint8_t *bytes;
    uint64_t hash; /* wf_state_hash right after applying this entry */
};

struct wfd_injection {
    uint64_t at_ms;
    struct wf_command command;
    bool done;
};

struct wfd {
    struct wf_state *state;
    uint64_t now_ms;
    uint64_t next_index;
    uint64_t default_duration_ms;
    uint64_t restart_ms;
    /* leader model: ready from ready_at_ms; leases never expire before grace_until_ms */
    uint64_t ready_at_ms;
    uint64_t grace_until_ms;
    uint32_t worker_count;
    struct wfd_worker workers[WFD_WORKERS_MAX];
    uint32_t script_count;
    struct wfd_script scripts[WFD_SCRIPTS_MAX];
    uint32_t injection_count;
    struct wfd_injection injections[WFD_INJECTIONS_MAX];
    uint32_t log_count;
    struct wfd_entry log[WFD_LOG_MAX];
    uint32_t status_counts[WF_STATUS_COUNT];
    uint32_t duplicates;
    uint32_t transitions; /* sum of wf_result.transitions */
    /* side-effect ledger */
    uint32_t executions;
    uint32_t effect_count;
    char effects[WFD_KEYS_MAX][WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
    uint32_t assignment_count;
    struct wf_assignment assignments[WFD_ASSIGNMENTS_MAX];
    struct wf_inv_view *before;
    char violation[3 * WF_MESSAGE_BYTES_MAX]; /* "" while every invariant holds */
    struct wf_def *def_scratch;
};

struct wfd *wfd_create(uint32_t workers, uint32_t workflows_max, wf_log_fn *log, void *context);
void wfd_destroy(struct wfd *driver);

/* Adds a worker script. */
void wfd_script(struct wfd *driver, struct wfd_script script);

/* Proposes `command` at `at_ms` (pause, resume, cancel, ...). */
void wfd_inject(struct wfd *driver, uint64_t at_ms, const struct wf_command *command);

/* Reads workflows/examples/<name>, parses it and proposes a submit; returns the result status. */
enum wf_status wfd_submit_example(struct wfd *driver, const char *name);
enum wf_status wfd_submit_json(struct wfd *driver, const char *json);

/* Stamps, encodes, logs and applies one command now; returns the result. */
struct wf_result wfd_propose(struct wfd *driver, struct wf_command *command);

/* Logs and applies raw payload bytes (a malformed entry, say) now; returns the result. */
struct wf_result wfd_propose_bytes(struct wfd *driver, const uint8_t *bytes, size_t len);

/* Runs until nothing is left to do (time stays) or the next event is after until_ms (time moves
 * to until_ms), or a violation; returns the steps taken. */
uint32_t wfd_run(struct wfd *driver, uint64_t until_ms);

/* A leader change at the current time: no proposals for `delay_ms`, then grace for `grace_ms`. */
void wfd_failover(struct wfd *driver, uint64_t delay_ms, uint64_t grace_ms);

/* For tests that drive a state directly: stamps `command` with at_ms, encodes it and applies it
 * at index ++*index. */
struct wf_result wfd_apply_command(struct wf_state *state, uint64_t *index,
                                   struct wf_command command, uint64_t at_ms);

/* Re-applies the driver's log into a fresh state (the caller destroys it). */
struct wf_state *wfd_rebuild(const struct wfd *driver, uint32_t entries);

/* The example file's text (caller frees), or NULL. */
char *wfd_read_example(const char *name, size_t *len);

#endif
