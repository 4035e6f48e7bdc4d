/* Named maxima of the workflow engine: every string, array and loop in workflows/wf_* is bounded.
 */
#ifndef FLOWRAFT_WORKFLOWS_WF_LIMITS_H
#define FLOWRAFT_WORKFLOWS_WF_LIMITS_H

/*
 * A definition, a command or a snapshot that would exceed one of these is rejected with an error
 * naming the field; nothing is silently truncated. Changing a value changes the binary formats'
 * accepted range, not their layout (lengths are always written explicitly).
 */

/* Workflow definitions (JSON and the canonical binary form). */
#define WF_DEF_JSON_BYTES_MAX      65536 /* a definition document, before parsing */
#define WF_ID_BYTES_MAX            64    /* workflow and task ids: [A-Za-z0-9_.-], 1..64 bytes */
#define WF_KIND_BYTES_MAX          32    /* a task kind, same character set as ids */
#define WF_ERROR_KIND_BYTES_MAX    32  /* an error kind reported by a worker, same character set */
#define WF_PARAMS_BYTES_MAX        512 /* a task's params as canonical compact JSON */
#define WF_TASKS_MAX               64  /* tasks per workflow */
#define WF_DEPS_MAX                16  /* dependencies per task */
#define WF_NON_RETRYABLE_MAX       8   /* non-retryable error kinds per retry policy */
#define WF_ATTEMPTS_MAX            16  /* upper bound of retry.max_attempts: attempt records kept */
#define WF_DURATION_MS_MAX         604800000ULL /* 7 days: backoffs and lease timeouts */
#define WF_MULTIPLIER_PERMILLE_MIN 1000         /* backoff multiplier 1.0 */
#define WF_MULTIPLIER_PERMILLE_MAX 100000       /* backoff multiplier 100.0 */

/* Runs and commands. */
#define WF_OUTPUT_BYTES_MAX          256  /* a completed attempt's output */
#define WF_WORKFLOWS_MAX             1024 /* upper bound of wf_state_config.workflows_max */
#define WF_IDEMPOTENCY_KEY_BYTES_MAX (2 * WF_ID_BYTES_MAX + 1) /* "<workflow id>/<task id>" */

/* Text produced for people: errors, results, log lines. */
#define WF_MESSAGE_BYTES_MAX  224 /* an error or result message, NUL included */
#define WF_LOG_LINE_BYTES_MAX 512 /* one structured log line, NUL included */

#endif
