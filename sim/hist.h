/* Client-operation histories: the model, the simulator's recording API, and their text formats. */
#ifndef FLOWRAFT_SIM_HIST_H
#define FLOWRAFT_SIM_HIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A history is what clients observed: for every operation, its invocation and (perhaps) its
 * completion, in the real-time order in which they happened. The linearizability checker
 * (sim/lin.h) decides whether some total order of the operations, consistent with that real-time
 * order, explains every result under a sequential model (a register, or a key-value store).
 *
 * Real-time order is the order of events (invocations and completions) as they were recorded or
 * read from a file: op A precedes op B iff A's completion event comes before B's invocation event.
 * Times (virtual milliseconds from the simulator, line numbers for parsed logs) are kept for
 * humans only.
 *
 * Outcomes: OK (took effect once, result observed), FAIL (certainly had no effect: the checker
 * drops it), UNKNOWN (timed out, crashed: it may take effect at any time after its invocation, or
 * never). An operation still PENDING when the history is checked counts as UNKNOWN.
 *
 * Values and keys are byte strings (any bytes, may be empty) or nil. A register holds nil or a
 * value; a KV key is absent (nil) or holds a value. Jepsen register integers are kept as their
 * decimal text.
 */

#define HIST_OPS_MAX         (1u << 20)   /* most operations in one history */
#define HIST_BYTES_MAX       (256u << 20) /* most bytes of keys and values in one history */
#define HIST_VALUE_BYTES_MAX (1u << 20)   /* longest single key or value */
#define HIST_ERROR_BYTES_MAX 320          /* longest error message, "file:line: what" included */
#define HIST_NIL             UINT32_MAX   /* hist_str.off of nil */
#define HIST_EVENT_NONE      UINT32_MAX   /* complete_event of a pending operation */

/* Error codes: every failing call also writes a message with context into hist->error. */
enum hist_err {
    HIST_E_OK = 0,
    HIST_E_FULL = -1,  /* ops_max operations recorded already */
    HIST_E_BYTES = -2, /* a value longer than HIST_VALUE_BYTES_MAX, or HIST_BYTES_MAX reached */
    HIST_E_ARG = -3,   /* an operation kind or argument the history's model does not have */
    HIST_E_STATE = -4, /* completing an unknown or already completed op; time going backwards */
    HIST_E_NOMEM = -5, /* allocation failed */
    HIST_E_PARSE = -6, /* malformed input (file and line named in the message) */
    HIST_E_IO = -7,    /* reading or writing a file failed */
};

/* The sequential model a history is checked against. */
enum hist_model {
    HIST_MODEL_REGISTER = 1, /* one register: read, write, cas */
    HIST_MODEL_KV = 2,       /* independent keys: get, put, append, delete, cas */
};

enum hist_kind {
    HIST_READ = 1,    /* register: result is the value read (nil allowed) */
    HIST_WRITE = 2,   /* register: value */
    HIST_CAS = 3,     /* register: if current == expected then current = value */
    HIST_GET = 4,     /* kv: result is the value read, nil for "not found" */
    HIST_PUT = 5,     /* kv: key = value */
    HIST_APPEND = 6,  /* kv: key = current ++ value (nil counts as "") */
    HIST_DELETE = 7,  /* kv: key becomes absent */
    HIST_KV_CAS = 8,  /* kv: if current == expected (nil: absent) then key = value */
    HIST_KIND_MAX = 8 /* invariant: every kind is in [1, HIST_KIND_MAX] */
};

/*
 * Compare-and-set: HIST_OK means it swapped. One whose comparison failed had no effect: record it
 * with hist_complete_cas_mismatch (OK, no swap, and the current value it saw, which the checker
 * verifies), or as HIST_FAIL when that value is unknown (as Jepsen does: the op is dropped).
 */
enum hist_outcome {
    HIST_PENDING = 0, /* invoked, not completed yet */
    HIST_OK = 1,      /* took effect; a read's result is valid */
    HIST_FAIL = 2,    /* certainly had no effect */
    HIST_UNKNOWN = 3, /* may have taken effect at any time after its invocation, or never */
};

/* A byte string in the history's arena: bytes [off, off + len) of hist.bytes, or nil. */
struct hist_str {
    uint32_t off; /* HIST_NIL for nil (then len is 0) */
    uint32_t len;
};

struct hist_op {
    uint64_t client;         /* process or client id; a client may have several ops pending */
    uint64_t invoke_time;    /* caller's clock, for humans; non-decreasing in event order */
    uint64_t complete_time;  /* valid when outcome != HIST_PENDING */
    uint32_t invoke_event;   /* position of the invocation in the event order */
    uint32_t complete_event; /* HIST_EVENT_NONE while pending; invariant: > invoke_event */
    enum hist_kind kind;     /* invariant: valid for the history's model */
    enum hist_outcome outcome;
    struct hist_str key;      /* kv kinds: the key (never nil); register kinds: nil */
    struct hist_str value;    /* write, put, append: the value; cas: the new value; else nil */
    struct hist_str expected; /* cas: the value compared with (nil: "absent"); otherwise nil */
    struct hist_str result;   /* read/get completed OK: the value read (nil: none); a cas
                                 mismatch: the current value it saw (nil: absent); else nil */
    int cas_mismatch;         /* a cas completed OK without swapping (see result) */
};

/*
 * One history. Owns its ops and bytes; not thread-safe; a plain value otherwise (no globals).
 * Lifetime: hist_init (or a parser) ... hist_free. Op ids are 0, 1, 2, ... in invocation order.
 */
struct hist {
    enum hist_model model;
    struct hist_str initial; /* every register/key starts with this value (nil by default) */
    int time_is_line;        /* 1 when times are line numbers of a parsed file */
    uint32_t ops_max;        /* invariant: ops_max <= HIST_OPS_MAX */
    uint32_t ops_count;      /* invariant: ops_count <= ops_max */
    uint32_t ops_cap;        /* allocated entries of ops; grows up to ops_max */
    uint32_t events_count;   /* invariant: ops_count <= events_count <= 2 * ops_count */
    uint64_t time_last;      /* time of the latest event */
    struct hist_op *ops;     /* owned */
    char *bytes;             /* owned arena of keys and values */
    uint32_t bytes_used;     /* invariant: bytes_used <= bytes_cap <= HIST_BYTES_MAX */
    uint32_t bytes_cap;
    char error[HIST_ERROR_BYTES_MAX]; /* the last error's message, "" when none */
};

/* What a client asks for. Strings are (pointer, length); a NULL pointer means nil. */
struct hist_call {
    enum hist_kind kind;
    uint64_t client;
    const char *key; /* kv kinds only */
    size_t key_len;
    const char *value; /* write, put, append, cas (the new value); ignored otherwise */
    size_t value_len;
    const char *expected; /* cas only; NULL: expects nil / absent */
    size_t expected_len;
};

/* --- the history model and the recording API (sim/hist.c) --- */

/* Initialises an empty history for `model` holding at most `ops_max` (<= HIST_OPS_MAX) ops. */
int hist_init(struct hist *hist, enum hist_model model, uint32_t ops_max);
/* Frees what the history owns and leaves it empty (error message kept). Idempotent. */
void hist_free(struct hist *hist);
/* Sets the initial value of the register / every key (NULL: nil). Only before the first op. */
int hist_set_initial(struct hist *hist, const char *value, size_t value_len);

/*
 * Records an invocation at `time` and returns its op id (>= 0), or a negative enum hist_err:
 * HIST_E_FULL when ops_max ops are recorded, HIST_E_ARG for a kind or argument the model does not
 * have, HIST_E_STATE when time goes backwards, HIST_E_BYTES, HIST_E_NOMEM.
 */
int64_t hist_invoke(struct hist *hist, uint64_t time, const struct hist_call *call);

/*
 * Records the completion of op `op_id` at `time` with `outcome` (OK, FAIL or UNKNOWN). `result`
 * (NULL: nil) is the value read, used only for a read or get completed OK and ignored otherwise.
 * Returns 0 or a negative enum hist_err (HIST_E_STATE: no such op, already completed, or time
 * going backwards).
 */
int hist_complete(struct hist *hist, uint32_t op_id, uint64_t time, enum hist_outcome outcome,
                  const char *result, size_t result_len);

/*
 * Records that compare-and-set `op_id` completed at `time` without swapping because the current
 * value was `current` (NULL: nil / absent), which differs from its expected value. Outcome OK.
 * Returns 0 or a negative enum hist_err (HIST_E_ARG: not a cas; HIST_E_STATE as above).
 */
int hist_complete_cas_mismatch(struct hist *hist, uint32_t op_id, uint64_t time,
                               const char *current, size_t current_len);

/* The bytes of `str` (NULL for nil); *len_out gets its length. */
const char *hist_str_bytes(const struct hist *hist, struct hist_str str, size_t *len_out);
/* 1 when the two strings (of the same history) hold equal bytes, or are both nil. */
int hist_str_equal(const struct hist *hist, struct hist_str a, struct hist_str b);

const char *hist_model_name(enum hist_model model);
/* The kind's name in the text format: "read", "write", "cas", "get", "put", ... */
const char *hist_kind_name(enum hist_kind kind);
const char *hist_outcome_name(enum hist_outcome outcome);
/* 1 when `kind` is an operation of `model`. */
int hist_kind_in_model(enum hist_kind kind, enum hist_model model);
/* 1 for kinds that observe but never change state (read, get). */
int hist_kind_is_read(enum hist_kind kind);

/*
 * Writes a human-readable one-line description of op `op_id` into `buf` (always terminated), e.g.
 * `op 12 client 3 cas "1" -> "2" = ok (t 40..47)`. Long values are shortened with "...".
 */
void hist_op_describe(const struct hist *hist, uint32_t op_id, char *buf, size_t buf_size);

/*
 * --- FlowRaft's own text format (sim/hist_text.c) ---
 *
 * Line-oriented, UTF-8 or any bytes inside quotes. Blank lines and lines starting with '#' are
 * ignored. The first other line is the header; every later line is one event, in real-time order:
 *
 *   flowraft-history 1 MODEL [initial VALUE]      MODEL: register | kv; initial defaults to nil
 *   invoke OP CLIENT TIME KIND ARGS...            OP: the op id, 0, 1, 2, ... in this order
 *   ok OP TIME [RESULT]                           RESULT: only (and always) for read / get
 *   ok OP TIME mismatch CURRENT                   a cas that did not swap, seeing CURRENT
 *   fail OP TIME
 *   unknown OP TIME
 *
 * KIND ARGS for the register: `read`, `write VALUE`, `cas EXPECTED VALUE`;
 * for kv: `get KEY`, `put KEY VALUE`, `append KEY VALUE`, `delete KEY`, `cas KEY EXPECTED VALUE`.
 * VALUE, KEY and RESULT are `nil` or a double-quoted string with the escapes \\ \" \n \r \t \xHH
 * (every other byte below 0x20 or from 0x7f on is written as \xHH). CLIENT, TIME and OP are
 * unsigned decimal integers; TIME never decreases. Fields are separated by spaces or tabs.
 * Operations never completed in the file are pending (checked as unknown). Example:
 *
 *   flowraft-history 1 kv
 *   invoke 0 1 10 put "x" "a"
 *   invoke 1 2 12 get "x"
 *   ok 0 15
 *   ok 1 16 "a"
 *   invoke 2 1 20 cas "x" "a" "b"
 *   unknown 2 30
 */
#define HIST_TEXT_MAGIC   "flowraft-history"
#define HIST_TEXT_VERSION 1

/* Writes `hist` in the text format (events in order). Returns 0 or HIST_E_IO. */
int hist_write_text(FILE *out, const struct hist *hist);

/* --- reading histories (sim/hist_load.c and one parser per format) --- */

enum hist_format {
    HIST_FORMAT_AUTO = 0,            /* detect from the first non-blank line */
    HIST_FORMAT_JEPSEN_REGISTER = 1, /* "INFO  jepsen.util - 3 :invoke :write 4" lines */
    HIST_FORMAT_JEPSEN_KV = 2,       /* {:process 0, :type :invoke, :f :put, ...} EDN lines */
    HIST_FORMAT_FLOWRAFT = 3,        /* the text format above */
};

#define HIST_FILE_BYTES_MAX (512u << 20) /* largest history file read */

const char *hist_format_name(enum hist_format format);
/* Parses "auto", "jepsen-register", "jepsen-kv" or "flowraft"; returns 0 or -1. */
int hist_format_from_name(const char *name, enum hist_format *format_out);
/* The format of `data` from its first non-blank, non-comment line; HIST_FORMAT_AUTO if unknown. */
enum hist_format hist_format_detect(const char *data, size_t len);

/*
 * Parses `len` bytes of `data` (need not be terminated) in `format` into `hist`, which this call
 * initialises; `name` (a file name) prefixes error messages as "name:line: ...". The caller calls
 * hist_free afterwards in every case. Returns 0 or a negative enum hist_err with hist->error set.
 * Jepsen logs: times are line numbers (hist->time_is_line = 1). Jepsen KV keys start as "".
 */
int hist_parse(struct hist *hist, enum hist_format format, const char *name, const char *data,
               size_t len);
int hist_parse_jepsen_register(struct hist *hist, const char *name, const char *data, size_t len);
int hist_parse_jepsen_kv(struct hist *hist, const char *name, const char *data, size_t len);
int hist_parse_text(struct hist *hist, const char *name, const char *data, size_t len);

/* Reads the file at `path` (at most HIST_FILE_BYTES_MAX bytes) and parses it as hist_parse does. */
int hist_load(struct hist *hist, enum hist_format format, const char *path);

/*
 * --- lexing toolkit shared by the parsers (sim/hist_lex.c) ---
 * A cursor walks lines; `p` walks the current line. All functions stay within [p, end).
 */
struct hist_lines {
    const char *name; /* for messages */
    const char *data;
    size_t len;
    size_t pos;          /* invariant: pos <= len */
    uint32_t line;       /* 1-based number of the current line */
    const char *p;       /* current position in the current line */
    const char *end;     /* end of the current line (excluding '\n' and a trailing '\r') */
    char *scratch;       /* owned buffer of HIST_VALUE_BYTES_MAX bytes for unescaped strings */
    size_t scratch_used; /* bytes of scratch used by strings of the current line */
};

int hist_lines_open(struct hist_lines *lines, const char *name, const char *data, size_t len);
void hist_lines_close(struct hist_lines *lines);
/* Advances to the next line; 1 when there is one, 0 at the end. */
int hist_lines_next(struct hist_lines *lines);
/* 1 when the rest of the line is only spaces and tabs. */
int hist_lines_blank(const struct hist_lines *lines);
/* Skips spaces and tabs (and commas when `commas` is set). */
void hist_lex_space(struct hist_lines *lines, int commas);
/* Reads a token of bytes other than space, tab (and ',', '}' when `edn`); 0 when empty. */
int hist_lex_word(struct hist_lines *lines, int edn, const char **word, size_t *word_len);
/* 1 when [word, word + len) equals the C string `s`. */
int hist_word_is(const char *word, size_t len, const char *s);
/* Reads an unsigned decimal integer token; 0 on success, -1 when malformed or too big. */
int hist_lex_u64(struct hist_lines *lines, uint64_t *out);
/*
 * Reads `nil` (*value_out = NULL) or a double-quoted string with the text format's escapes into
 * the line's scratch space. Returns 0, or -1 with a reason in *why.
 */
int hist_lex_string(struct hist_lines *lines, const char **value_out, size_t *len_out,
                    const char **why);
/*
 * Operations invoked and not completed yet, for formats that pair a completion with the pending
 * invocation of the same process (Jepsen). A process has at most one pending op at a time.
 */
struct hist_pending {
    uint32_t *ops; /* owned; op ids; invariant: count <= cap */
    uint32_t count;
    uint32_t cap;
};
/* Adds op `op_id` (whose client has no pending op, checked by the caller); 0 or HIST_E_NOMEM. */
int hist_pending_add(struct hist_pending *pending, uint32_t op_id);
/*
 * Invokes `call` at the current line (time = line number) for a client with no pending op, and
 * records it as pending. Returns 0 or a negative enum hist_err with "name:line: ..." set.
 */
int hist_pending_invoke(struct hist *hist, const struct hist_lines *lines,
                        struct hist_pending *pending, const struct hist_call *call);
/* The pending op of `client` (removed), or -1 when it has none. */
int64_t hist_pending_take(struct hist_pending *pending, const struct hist *hist, uint64_t client);
/* The pending op of `client` (kept), or -1 when it has none. */
int64_t hist_pending_find(const struct hist_pending *pending, const struct hist *hist,
                          uint64_t client);
void hist_pending_free(struct hist_pending *pending);
/* Records "name:line: message" in hist->error and returns `err`. */
int hist_fail_line(struct hist *hist, const struct hist_lines *lines, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Records a message in hist->error and returns `err`. */
int hist_fail(struct hist *hist, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes `len` bytes as a quoted, escaped string (or nil) into buf, shortened past `shown_max`. */
void hist_quote(char *buf, size_t buf_size, const char *bytes, size_t len, size_t shown_max);

#endif
