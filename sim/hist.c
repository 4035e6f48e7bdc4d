/* The history model and the recording API the simulator calls for every client operation. */
#include "sim/hist.h"

#include "core/escape.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HIST_OPS_CAP_MIN   64u
#define HIST_BYTES_CAP_MIN 4096u

int hist_fail(struct hist *hist, int err, const char *fmt, ...)
{
    assert(hist != NULL);
    assert(err < 0);
    va_list args;
    va_start(args, fmt);
    vsnprintf(hist->error, sizeof(hist->error), fmt, args);
    va_end(args);
    return err;
}

int hist_init(struct hist *hist, enum hist_model model, uint32_t ops_max)
{
    assert(hist != NULL);
    assert(model == HIST_MODEL_REGISTER || model == HIST_MODEL_KV);
    assert(ops_max > 0 && ops_max <= HIST_OPS_MAX);
    memset(hist, 0, sizeof(*hist));
    hist->model = model;
    hist->initial.off = HIST_NIL;
    hist->ops_max = ops_max;
    return HIST_E_OK;
}

void hist_free(struct hist *hist)
{
    assert(hist != NULL);
    free(hist->ops);
    free(hist->bytes);
    hist->ops = NULL;
    hist->bytes = NULL;
    hist->ops_count = 0;
    hist->ops_cap = 0;
    hist->events_count = 0;
    hist->bytes_used = 0;
    hist->bytes_cap = 0;
}

/* Copies `len` bytes into the arena; *out is nil when `bytes` is NULL. */
static int hist_store(struct hist *hist, const char *bytes, size_t len, struct hist_str *out)
{
    out->off = HIST_NIL;
    out->len = 0;
    if (bytes == NULL) {
        return HIST_E_OK;
    }
    if (len > HIST_VALUE_BYTES_MAX) {
        return hist_fail(hist, HIST_E_BYTES, "value of %zu bytes exceeds HIST_VALUE_BYTES_MAX (%u)",
                         len, HIST_VALUE_BYTES_MAX);
    }
    if (len > HIST_BYTES_MAX - hist->bytes_used) {
        return hist_fail(hist, HIST_E_BYTES, "history holds more than HIST_BYTES_MAX (%u) bytes",
                         HIST_BYTES_MAX);
    }
    size_t need = hist->bytes_used + len;
    if (need > hist->bytes_cap) {
        size_t cap = hist->bytes_cap < HIST_BYTES_CAP_MIN ? HIST_BYTES_CAP_MIN : hist->bytes_cap;
        while (cap < need) {
            cap *= 2;
        }
        cap = cap > HIST_BYTES_MAX ? HIST_BYTES_MAX : cap;
        char *grown = realloc(hist->bytes, cap);
        if (grown == NULL) {
            return hist_fail(hist, HIST_E_NOMEM, "out of memory for %zu bytes of values", cap);
        }
        hist->bytes = grown;
        hist->bytes_cap = (uint32_t)cap;
    }
    if (len > 0) {
        memcpy(hist->bytes + hist->bytes_used, bytes, len);
    }
    out->off = hist->bytes_used;
    out->len = (uint32_t)len;
    hist->bytes_used += (uint32_t)len;
    assert(hist->bytes_used <= hist->bytes_cap);
    return HIST_E_OK;
}

int hist_set_initial(struct hist *hist, const char *value, size_t value_len)
{
    assert(hist != NULL);
    if (hist->ops_count > 0) {
        return hist_fail(hist, HIST_E_STATE, "initial value set after the first operation");
    }
    return hist_store(hist, value, value_len, &hist->initial);
}

int hist_kind_in_model(enum hist_kind kind, enum hist_model model)
{
    if (model == HIST_MODEL_REGISTER) {
        return kind == HIST_READ || kind == HIST_WRITE || kind == HIST_CAS;
    }
    if (model == HIST_MODEL_KV) {
        return kind == HIST_GET || kind == HIST_PUT || kind == HIST_APPEND || kind == HIST_DELETE ||
               kind == HIST_KV_CAS;
    }
    return 0;
}

int hist_kind_is_read(enum hist_kind kind)
{
    return kind == HIST_READ || kind == HIST_GET;
}

static int hist_kind_has_value(enum hist_kind kind)
{
    return kind == HIST_WRITE || kind == HIST_CAS || kind == HIST_PUT || kind == HIST_APPEND ||
           kind == HIST_KV_CAS;
}

static int hist_kind_is_cas(enum hist_kind kind)
{
    return kind == HIST_CAS || kind == HIST_KV_CAS;
}

/* Checks a call against the model: operational errors, since calls may come from files. */
static int hist_check_call(struct hist *hist, const struct hist_call *call)
{
    if (call->kind < 1 || call->kind > HIST_KIND_MAX ||
        !hist_kind_in_model(call->kind, hist->model)) {
        return hist_fail(hist, HIST_E_ARG, "operation kind %d is not one of the %s model's",
                         (int)call->kind, hist_model_name(hist->model));
    }
    if (hist->model == HIST_MODEL_KV && call->key == NULL) {
        return hist_fail(hist, HIST_E_ARG, "%s needs a key", hist_kind_name(call->kind));
    }
    if (hist->model == HIST_MODEL_REGISTER && call->key != NULL) {
        return hist_fail(hist, HIST_E_ARG, "a register %s takes no key",
                         hist_kind_name(call->kind));
    }
    if (hist_kind_has_value(call->kind) && call->value == NULL) {
        return hist_fail(hist, HIST_E_ARG, "%s needs a value", hist_kind_name(call->kind));
    }
    return HIST_E_OK;
}

static int hist_reserve_op(struct hist *hist)
{
    if (hist->ops_count == hist->ops_max) {
        return hist_fail(hist, HIST_E_FULL, "history full: %" PRIu32 " operations (ops_max)",
                         hist->ops_max);
    }
    if (hist->ops_count < hist->ops_cap) {
        return HIST_E_OK;
    }
    uint32_t cap = hist->ops_cap < HIST_OPS_CAP_MIN ? HIST_OPS_CAP_MIN : hist->ops_cap * 2;
    cap = cap > hist->ops_max ? hist->ops_max : cap;
    struct hist_op *grown = realloc(hist->ops, (size_t)cap * sizeof(*grown));
    if (grown == NULL) {
        return hist_fail(hist, HIST_E_NOMEM, "out of memory for %" PRIu32 " operations", cap);
    }
    hist->ops = grown;
    hist->ops_cap = cap;
    return HIST_E_OK;
}

int64_t hist_invoke(struct hist *hist, uint64_t time, const struct hist_call *call)
{
    assert(hist != NULL);
    assert(call != NULL);
    int err = hist_check_call(hist, call);
    if (err == HIST_E_OK && time < hist->time_last) {
        err = hist_fail(hist, HIST_E_STATE, "time goes backwards: %" PRIu64 " after %" PRIu64, time,
                        hist->time_last);
    }
    if (err == HIST_E_OK) {
        err = hist_reserve_op(hist);
    }
    if (err != HIST_E_OK) {
        return err;
    }
    struct hist_op op = { 0 };
    op.client = call->client;
    op.invoke_time = time;
    op.invoke_event = hist->events_count;
    op.complete_event = HIST_EVENT_NONE;
    op.kind = call->kind;
    op.outcome = HIST_PENDING;
    op.result.off = HIST_NIL;
    uint32_t bytes_before = hist->bytes_used;
    err = hist_store(hist, call->key, call->key_len, &op.key);
    if (err == HIST_E_OK) {
        const char *value = hist_kind_has_value(call->kind) ? call->value : NULL;
        err = hist_store(hist, value, call->value_len, &op.value);
    }
    if (err == HIST_E_OK) {
        const char *expected = hist_kind_is_cas(call->kind) ? call->expected : NULL;
        err = hist_store(hist, expected, call->expected_len, &op.expected);
    }
    if (err != HIST_E_OK) {
        hist->bytes_used = bytes_before; /* the call had no effect */
        return err;
    }
    uint32_t id = hist->ops_count;
    hist->ops[id] = op;
    hist->ops_count++;
    hist->events_count++;
    hist->time_last = time;
    assert(hist->ops_count <= hist->ops_max);
    return (int64_t)id;
}

/* Completes op `op_id`; `result` is stored when `keep_result` (reads, cas mismatches). */
static int hist_complete_op(struct hist *hist, uint32_t op_id, uint64_t time,
                            enum hist_outcome outcome, int keep_result, const char *result,
                            size_t result_len)
{
    assert(outcome == HIST_OK || outcome == HIST_FAIL || outcome == HIST_UNKNOWN);
    struct hist_op *op = &hist->ops[op_id];
    if (op->outcome != HIST_PENDING) {
        return hist_fail(hist, HIST_E_STATE, "op %" PRIu32 " completed twice", op_id);
    }
    if (time < hist->time_last) {
        return hist_fail(hist, HIST_E_STATE, "time goes backwards: %" PRIu64 " after %" PRIu64,
                         time, hist->time_last);
    }
    if (keep_result) {
        int err = hist_store(hist, result, result_len, &op->result);
        if (err != HIST_E_OK) {
            return err;
        }
    }
    op->outcome = outcome;
    op->complete_time = time;
    op->complete_event = hist->events_count;
    hist->events_count++;
    hist->time_last = time;
    assert(op->complete_event > op->invoke_event);
    assert(hist->events_count <= 2 * hist->ops_count);
    return HIST_E_OK;
}

static int hist_check_id(struct hist *hist, uint32_t op_id)
{
    if (op_id >= hist->ops_count) {
        return hist_fail(hist, HIST_E_STATE, "completion of op %" PRIu32 ", never invoked", op_id);
    }
    return HIST_E_OK;
}

int hist_complete(struct hist *hist, uint32_t op_id, uint64_t time, enum hist_outcome outcome,
                  const char *result, size_t result_len)
{
    assert(hist != NULL);
    int err = hist_check_id(hist, op_id);
    if (err != HIST_E_OK) {
        return err;
    }
    int keep = outcome == HIST_OK && hist_kind_is_read(hist->ops[op_id].kind);
    return hist_complete_op(hist, op_id, time, outcome, keep, result, result_len);
}

int hist_complete_cas_mismatch(struct hist *hist, uint32_t op_id, uint64_t time,
                               const char *current, size_t current_len)
{
    assert(hist != NULL);
    int err = hist_check_id(hist, op_id);
    if (err != HIST_E_OK) {
        return err;
    }
    if (!hist_kind_is_cas(hist->ops[op_id].kind)) {
        return hist_fail(hist, HIST_E_ARG, "op %" PRIu32 " is a %s, not a cas", op_id,
                         hist_kind_name(hist->ops[op_id].kind));
    }
    err = hist_complete_op(hist, op_id, time, HIST_OK, 1, current, current_len);
    if (err == HIST_E_OK) {
        hist->ops[op_id].cas_mismatch = 1;
    }
    return err;
}

const char *hist_str_bytes(const struct hist *hist, struct hist_str str, size_t *len_out)
{
    assert(hist != NULL);
    if (str.off == HIST_NIL) {
        *len_out = 0;
        return NULL;
    }
    assert(str.off + (uint64_t)str.len <= hist->bytes_used);
    *len_out = str.len;
    return str.len == 0 ? "" : hist->bytes + str.off;
}

int hist_str_equal(const struct hist *hist, struct hist_str a, struct hist_str b)
{
    if (a.off == HIST_NIL || b.off == HIST_NIL) {
        return a.off == b.off;
    }
    if (a.len != b.len) {
        return 0;
    }
    return a.len == 0 || memcmp(hist->bytes + a.off, hist->bytes + b.off, a.len) == 0;
}

const char *hist_model_name(enum hist_model model)
{
    switch (model) {
    case HIST_MODEL_REGISTER:
        return "register";
    case HIST_MODEL_KV:
        return "kv";
    }
    return "?";
}

const char *hist_kind_name(enum hist_kind kind)
{
    static const char *const names[HIST_KIND_MAX + 1] = {
        "?", "read", "write", "cas", "get", "put", "append", "delete", "cas",
    };
    return kind >= 1 && kind <= HIST_KIND_MAX ? names[kind] : "?";
}

const char *hist_outcome_name(enum hist_outcome outcome)
{
    switch (outcome) {
    case HIST_PENDING:
        return "pending";
    case HIST_OK:
        return "ok";
    case HIST_FAIL:
        return "fail";
    case HIST_UNKNOWN:
        return "unknown";
    }
    return "?";
}

void hist_quote(char *buf, size_t buf_size, const char *bytes, size_t len, size_t shown_max)
{
    assert(buf != NULL && buf_size >= 8);
    if (bytes == NULL) {
        snprintf(buf, buf_size, "nil");
        return;
    }
    size_t at = 0;
    buf[at++] = '"';
    size_t shown = len < shown_max ? len : shown_max;
    for (size_t i = 0; i < shown && at + 8 < buf_size; i++) {
        char escaped[ESCAPE_BYTES_MAX];
        size_t n = escape_byte((uint8_t)bytes[i], escaped);
        memcpy(buf + at, escaped, n); /* fits: at + 8 < buf_size */
        at += n;
        if (i + 1 == shown && shown < len) {
            at += (size_t)snprintf(buf + at, buf_size - at, "...");
        }
    }
    snprintf(buf + at, buf_size - at, "\"");
}

static void hist_quote_str(const struct hist *hist, struct hist_str str, char *buf, size_t size)
{
    size_t len;
    const char *bytes = hist_str_bytes(hist, str, &len);
    hist_quote(buf, size, bytes, len, 24);
}

void hist_op_describe(const struct hist *hist, uint32_t op_id, char *buf, size_t buf_size)
{
    assert(hist != NULL && buf != NULL);
    assert(op_id < hist->ops_count);
    const struct hist_op *op = &hist->ops[op_id];
    char key[64] = "", expected[64] = "", value[64] = "", result[64] = "", end[32] = "";
    if (op->key.off != HIST_NIL) {
        hist_quote_str(hist, op->key, key, sizeof(key));
    }
    if (hist_kind_is_cas(op->kind)) {
        hist_quote_str(hist, op->expected, expected, sizeof(expected));
    }
    if (hist_kind_has_value(op->kind)) {
        hist_quote_str(hist, op->value, value, sizeof(value));
    }
    if ((hist_kind_is_read(op->kind) && op->outcome == HIST_OK) || op->cas_mismatch) {
        hist_quote_str(hist, op->result, result, sizeof(result));
    }
    if (op->outcome != HIST_PENDING) {
        snprintf(end, sizeof(end), "%" PRIu64, op->complete_time);
    }
    snprintf(buf, buf_size,
             "op %" PRIu32 " client %" PRIu64 " %s%s%s%s%s%s%s%s%s%s [%s, %s %" PRIu64 "..%s]",
             op_id, op->client, hist_kind_name(op->kind), key[0] ? " " : "", key,
             expected[0] ? " " : "", expected, expected[0] ? " ->" : "", value[0] ? " " : "", value,
             result[0] == '\0'  ? ""
             : op->cas_mismatch ? " = mismatch "
                                : " = ",
             result, hist_outcome_name(op->outcome), hist->time_is_line ? "lines" : "t",
             op->invoke_time, end);
}
