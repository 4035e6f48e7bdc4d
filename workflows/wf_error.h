/* The error value of every fallible workflow-engine function: one message naming the field. */
#ifndef FLOWRAFT_WORKFLOWS_WF_ERROR_H
#define FLOWRAFT_WORKFLOWS_WF_ERROR_H

#include "workflows/wf_limits.h"

/*
 * Messages have the form "<field path>: <what is wrong>", for example
 * "tasks[2].retry.max_attempts: must be >= 1" or "command.attempt: truncated at byte 14".
 * Owned by the caller; a function that fails writes it, a function that succeeds leaves it alone.
 */
struct wf_error {
    char text[WF_MESSAGE_BYTES_MAX]; /* invariant: NUL-terminated */
};

/* Formats the message (truncating at WF_MESSAGE_BYTES_MAX - 1 bytes). `error` may be NULL. */
void wf_error_set(struct wf_error *error, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
