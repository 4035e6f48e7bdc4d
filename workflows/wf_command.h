/* Workflow commands: the payloads of Raft COMMAND entries for the workflow engine, and their codec.
 */
#ifndef FLOWRAFT_WORKFLOWS_WF_COMMAND_H
#define FLOWRAFT_WORKFLOWS_WF_COMMAND_H

#include "workflows/wf_error.h"
#include "workflows/wf_limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wf_def;

/*
 * Wire format, version 1 (little-endian; every length explicit and bounded):
 *
 *   u8  tag          0x57 ('W'), the router's key (INTERFACES.md)
 *   u8  version      1
 *   u8  type         enum wf_command_type
 *   u64 timestamp_ms the leader's clock when it proposed the entry
 *   str8 workflow_id 1..WF_ID_BYTES_MAX bytes of [A-Za-z0-9_.-]
 *   then by type:
 *     submit          u32 length, canonical definition (wf_def_encode); its id == workflow_id
 *     start_attempt   u16 task, u32 attempt, u32 worker
 *     extend_lease    u16 task, u32 attempt
 *     complete_attempt u16 task, u32 attempt, u16 length + output (<= WF_OUTPUT_BYTES_MAX)
 *     fail_attempt    u16 task, u32 attempt, str8 error kind (a valid name)
 *     expire_lease    u16 task, u32 attempt
 *     schedule_retry  u16 task, u32 attempt (the attempt that failed)
 *     pause, resume, cancel: nothing
 *   and nothing after.
 *
 * (workflow_id, task, attempt) is the fencing token of an attempt. Decoding never trusts the bytes:
 * any violation is an error naming the field and byte offset, never a crash.
 */
#define WF_COMMAND_TAG     0x57
#define WF_COMMAND_VERSION 1

enum wf_command_type {
    WF_CMD_INVALID = 0,
    WF_CMD_SUBMIT = 1,
    WF_CMD_START_ATTEMPT = 2,
    WF_CMD_EXTEND_LEASE = 3,
    WF_CMD_COMPLETE_ATTEMPT = 4,
    WF_CMD_FAIL_ATTEMPT = 5,
    WF_CMD_EXPIRE_LEASE = 6,
    WF_CMD_SCHEDULE_RETRY = 7,
    WF_CMD_PAUSE = 8,
    WF_CMD_RESUME = 9,
    WF_CMD_CANCEL = 10,
};
#define WF_CMD_TYPE_COUNT 11

/* A decoded command: a plain value, except `def`, which is borrowed (see below). */
struct wf_command {
    enum wf_command_type type;
    uint64_t timestamp_ms; /* stamped by the leader when proposing (wf_command_stamp) */
    char workflow_id[WF_ID_BYTES_MAX + 1];
    uint16_t task_index; /* attempt-level commands: index into the definition's tasks */
    uint32_t attempt;    /* attempt-level commands: 1-based attempt number of the token */
    uint32_t worker_id;  /* start_attempt: the worker the attempt is dispatched to */
    char error_kind[WF_ERROR_KIND_BYTES_MAX + 1]; /* fail_attempt */
    uint16_t output_len;                          /* complete_attempt; <= WF_OUTPUT_BYTES_MAX */
    uint8_t output[WF_OUTPUT_BYTES_MAX];
    const struct wf_def *def; /* submit: encode reads it; decode points it at the caller's
                                 scratch definition, valid as long as that is */
};

/* Upper bounds of an encoded command: any type, and any type but submit. */
#define WF_COMMAND_BYTES_MAX       65536
#define WF_COMMAND_SMALL_BYTES_MAX 512

/* Bytes the encoding of `command` takes (the command must be valid). */
size_t wf_command_encoded_size(const struct wf_command *command);

/*
 * Encodes into buf (capacity cap). Returns the length, or 0 with `error` set if the command is
 * invalid (bad id, kind or length) or does not fit. A valid command always round-trips.
 */
size_t wf_command_encode(const struct wf_command *command, uint8_t *buf, size_t cap,
                         struct wf_error *error);

/*
 * Decodes untrusted bytes. A submit's definition is decoded into *def_scratch (required; about
 * 60 KB, so callers keep one around) and validated; out->def then points at it.
 */
bool wf_command_decode(const uint8_t *buf, size_t len, struct wf_command *out,
                       struct wf_def *def_scratch, struct wf_error *error);

/* Sets the leader's timestamp; the proposing leader calls it on every command it proposes. */
void wf_command_stamp(struct wf_command *command, uint64_t now_ms);

/* True for the types that carry a (task, attempt) token. */
bool wf_command_has_token(enum wf_command_type type);

/* "submit", "start_attempt", ...; "invalid" for anything else. */
const char *wf_command_type_name(enum wf_command_type type);

#endif
