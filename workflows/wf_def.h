/* Workflow definitions: the parsed, validated and canonical form of a DAG of tasks. */
#ifndef FLOWRAFT_WORKFLOWS_WF_DEF_H
#define FLOWRAFT_WORKFLOWS_WF_DEF_H

#include "workflows/wf_bytes.h"
#include "workflows/wf_error.h"
#include "workflows/wf_limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A definition arrives as JSON (wf_def_from_json, on the client or the leader) and travels inside
 * a submit command in its canonical binary form (wf_def_encode / wf_def_decode): the state machine
 * never parses JSON. Both paths end in wf_def_validate, so a definition is valid however it came.
 *
 * Canonical means: defaults are filled in, params are compact JSON with sorted keys, each task's
 * deps are sorted task indices, non-retryable kinds are sorted. Two definitions are "the same"
 * (for idempotent submit) when their canonical forms are equal: JSON whitespace, key order and
 * omitted defaults do not matter; task order does (tasks are addressed by index in commands).
 *
 * Definitions are plain values (about 60 KB at the maxima): copy them, no ownership.
 */

/* Retry policy; backoff after failed attempt n is min(max, initial * multiplier^(n-1)). */
struct wf_retry_policy {
    uint32_t max_attempts;        /* invariant: 1 <= max_attempts <= WF_ATTEMPTS_MAX */
    uint64_t initial_backoff_ms;  /* invariant: <= max_backoff_ms */
    uint32_t multiplier_permille; /* multiplier * 1000, integer so replicas agree bit for bit;
                                     invariant: WF_MULTIPLIER_PERMILLE_MIN..MAX */
    uint64_t max_backoff_ms;      /* invariant: <= WF_DURATION_MS_MAX */
    uint32_t non_retryable_count; /* invariant: <= WF_NON_RETRYABLE_MAX */
    /* error kinds that fail the task at once; invariant: valid names, sorted, unique */
    char non_retryable[WF_NON_RETRYABLE_MAX][WF_ERROR_KIND_BYTES_MAX + 1];
};

struct wf_task_def {
    char id[WF_ID_BYTES_MAX + 1];         /* invariant: a valid name, unique in the workflow */
    char kind[WF_KIND_BYTES_MAX + 1];     /* invariant: a valid name; what a worker runs */
    uint32_t params_len;                  /* invariant: <= WF_PARAMS_BYTES_MAX */
    char params[WF_PARAMS_BYTES_MAX + 1]; /* canonical compact JSON object, NUL-terminated */
    uint32_t dep_count;                   /* invariant: <= WF_DEPS_MAX */
    uint16_t deps[WF_DEPS_MAX];           /* invariant: task indices, sorted, unique, acyclic */
    struct wf_retry_policy retry;
    uint64_t lease_timeout_ms; /* the lease / start-to-close timeout: an attempt must complete,
                                  fail or extend its lease within this long of its dispatch or
                                  last extension; invariant: 1..WF_DURATION_MS_MAX */
};

struct wf_def {
    char id[WF_ID_BYTES_MAX + 1]; /* invariant: a valid name */
    uint32_t task_count;          /* invariant: 1 <= task_count <= WF_TASKS_MAX */
    struct wf_task_def tasks[WF_TASKS_MAX];
};

/* Defaults for omitted JSON fields. */
#define WF_DEFAULT_MAX_ATTEMPTS        3
#define WF_DEFAULT_INITIAL_BACKOFF_MS  1000
#define WF_DEFAULT_MULTIPLIER_PERMILLE 2000
#define WF_DEFAULT_MAX_BACKOFF_MS      60000
#define WF_DEFAULT_LEASE_TIMEOUT_MS    30000

/* The error kind recorded when a lease expires; list it in non_retryable to make expiry final. */
#define WF_ERROR_KIND_LEASE_EXPIRED "lease_expired"

/*
 * Parses and validates a JSON definition of `len` bytes (no NUL needed). On failure returns false
 * and names the field path or the JSON line and column in `error`; `out` is then unspecified.
 * Unknown fields are errors (a typo must not silently become a default).
 */
bool wf_def_from_json(const char *json, size_t len, struct wf_def *out, struct wf_error *error);

/* Checks every invariant above, including acyclicity (Kahn's algorithm, no recursion). */
bool wf_def_validate(const struct wf_def *def, struct wf_error *error);

/* Writes the canonical binary form (the def must be valid). */
void wf_def_encode(const struct wf_def *def, struct wf_writer *writer);

/* Reads a canonical binary form from untrusted bytes and validates it. */
bool wf_def_decode(struct wf_reader *reader, struct wf_def *out, struct wf_error *error);

/* XXH3-64 of the canonical binary form. */
uint64_t wf_def_hash(const struct wf_def *def);

/* True if both definitions have the same canonical form. */
bool wf_def_equal(const struct wf_def *a, const struct wf_def *b);

/* Index of the task called `task_id`, or -1. */
int wf_def_task_index(const struct wf_def *def, const char *task_id);

/* True if `text` (of `len` bytes) is a valid id / kind: 1..len_max bytes of [A-Za-z0-9_.-]. */
bool wf_name_valid(const char *text, size_t len, size_t len_max);

/*
 * Backoff before retrying after failed attempt `failed_attempt` (1-based):
 * min(max, initial * multiplier^(n-1)) in integer arithmetic only, so every replica computes the
 * same deadline: in microseconds, truncated after each multiplication (each truncation loses
 * less than a microsecond), then truncated to whole milliseconds; never above the exact value.
 */
uint64_t wf_retry_backoff_ms(const struct wf_retry_policy *policy, uint32_t failed_attempt);

/* True if `error_kind` is not listed as non-retryable (attempts left is checked separately). */
bool wf_retry_kind_retryable(const struct wf_retry_policy *policy, const char *error_kind);

#endif
