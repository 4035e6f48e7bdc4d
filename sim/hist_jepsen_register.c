/* Parser for Jepsen register logs ("INFO  jepsen.util - 3 :invoke :write 4", one event a line). */
#include "sim/hist.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define JR_PREFIX        "jepsen.util - "
#define JR_INT_BYTES_MAX 24 /* "-9223372036854775808" and a terminator */

/* One parsed line. */
struct jr_event {
    uint64_t process;
    const char *type; /* ":invoke", ":ok", ":fail", ":info" */
    size_t type_len;
    enum hist_kind kind;
    int has_value;                /* a write's value, or a read's result; 0 for nil */
    char value[JR_INT_BYTES_MAX]; /* canonical decimal text */
    char from[JR_INT_BYTES_MAX];  /* cas [from to]: from; value holds to */
};

/* Reads a signed decimal integer at lines->p into canonical text; -1 when there is none. */
static int jr_int(struct hist_lines *lines, char out[JR_INT_BYTES_MAX])
{
    hist_lex_space(lines, 0);
    int negative = lines->p < lines->end && *lines->p == '-';
    lines->p += negative;
    uint64_t v = 0;
    int digits = 0;
    while (lines->p < lines->end && *lines->p >= '0' && *lines->p <= '9' && digits < 18) {
        v = v * 10 + (uint64_t)(*lines->p - '0');
        lines->p++;
        digits++;
    }
    if (digits == 0 || (lines->p < lines->end && *lines->p >= '0' && *lines->p <= '9')) {
        return -1; /* none, or more digits than int64 surely holds */
    }
    snprintf(out, JR_INT_BYTES_MAX, "%s%" PRIu64, negative && v != 0 ? "-" : "", v);
    return 0;
}

/* Reads the value field of `ev` (what follows the operation), according to its type and kind. */
static int jr_value(struct hist_lines *lines, struct jr_event *ev)
{
    hist_lex_space(lines, 0);
    int informational = hist_word_is(ev->type, ev->type_len, ":info") ||
                        (hist_word_is(ev->type, ev->type_len, ":fail") && ev->kind == HIST_READ);
    if (informational && lines->p < lines->end && *lines->p == ':') {
        const char *word;
        size_t len;
        hist_lex_word(lines, 0, &word, &len); /* :timed-out and the like: nothing usable */
        return 0;
    }
    if (lines->end - lines->p >= 3 && memcmp(lines->p, "nil", 3) == 0) {
        lines->p += 3;
        return ev->kind == HIST_READ ? 0 : -1;
    }
    if (ev->kind == HIST_CAS) {
        if (lines->p >= lines->end || *lines->p != '[') {
            return -1;
        }
        lines->p++;
        if (jr_int(lines, ev->from) != 0 || jr_int(lines, ev->value) != 0) {
            return -1;
        }
        hist_lex_space(lines, 0);
        if (lines->p >= lines->end || *lines->p != ']') {
            return -1;
        }
        lines->p++;
        ev->has_value = 1;
        return 0;
    }
    ev->has_value = jr_int(lines, ev->value) == 0;
    return ev->has_value ? 0 : -1;
}

static int jr_line(struct hist *hist, struct hist_lines *lines, struct jr_event *ev)
{
    const char *at = NULL;
    size_t prefix_len = strlen(JR_PREFIX);
    for (const char *q = lines->p; q + prefix_len <= lines->end && at == NULL; q++) {
        at = memcmp(q, JR_PREFIX, prefix_len) == 0 ? q : NULL;
    }
    if (at == NULL) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "expected a '%s' log line", JR_PREFIX);
    }
    lines->p = at + prefix_len;
    const char *f;
    size_t f_len;
    memset(ev, 0, sizeof(*ev));
    if (hist_lex_u64(lines, &ev->process) != 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "expected a process id");
    }
    hist_lex_word(lines, 0, &ev->type, &ev->type_len);
    if (!hist_word_is(ev->type, ev->type_len, ":invoke") &&
        !hist_word_is(ev->type, ev->type_len, ":ok") &&
        !hist_word_is(ev->type, ev->type_len, ":fail") &&
        !hist_word_is(ev->type, ev->type_len, ":info")) {
        return hist_fail_line(hist, lines, HIST_E_PARSE,
                              "expected :invoke, :ok, :fail or :info after the process id");
    }
    hist_lex_word(lines, 0, &f, &f_len);
    ev->kind = hist_word_is(f, f_len, ":read")    ? HIST_READ
               : hist_word_is(f, f_len, ":write") ? HIST_WRITE
               : hist_word_is(f, f_len, ":cas")   ? HIST_CAS
                                                  : 0;
    if (ev->kind == 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "expected :read, :write or :cas");
    }
    if (jr_value(lines, ev) != 0 || !hist_lines_blank(lines)) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "bad value for %.*s %s", (int)ev->type_len,
                              ev->type, hist_kind_name(ev->kind));
    }
    return HIST_E_OK;
}

static int jr_invoke(struct hist *hist, struct hist_lines *lines, struct hist_pending *pending,
                     const struct jr_event *ev)
{
    if (ev->kind != HIST_READ && !ev->has_value) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "%s needs a value",
                              hist_kind_name(ev->kind));
    }
    struct hist_call call = { .kind = ev->kind, .client = ev->process };
    if (ev->kind != HIST_READ) {
        call.value = ev->value;
        call.value_len = strlen(ev->value);
        call.expected = ev->kind == HIST_CAS ? ev->from : NULL;
        call.expected_len = ev->kind == HIST_CAS ? strlen(ev->from) : 0;
    }
    return hist_pending_invoke(hist, lines, pending, &call);
}

/* A completion's value must repeat its invocation's, except where Jepsen reports nothing. */
static int jr_same_value(const struct hist *hist, const struct hist_op *op,
                         const struct jr_event *ev)
{
    size_t len;
    const char *value = hist_str_bytes(hist, op->value, &len);
    if (ev->kind == HIST_READ || !ev->has_value) {
        return 1;
    }
    if (len != strlen(ev->value) || memcmp(value, ev->value, len) != 0) {
        return 0;
    }
    if (ev->kind != HIST_CAS) {
        return 1;
    }
    value = hist_str_bytes(hist, op->expected, &len);
    return len == strlen(ev->from) && memcmp(value, ev->from, len) == 0;
}

static int jr_complete(struct hist *hist, struct hist_lines *lines, struct hist_pending *pending,
                       const struct jr_event *ev)
{
    int64_t taken = hist_pending_take(pending, hist, ev->process);
    if (taken < 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE,
                              "%.*s for process %" PRIu64 ", which has no pending operation",
                              (int)ev->type_len, ev->type, ev->process);
    }
    uint32_t id = (uint32_t)taken;
    const struct hist_op *op = &hist->ops[id];
    if (op->kind != ev->kind || !jr_same_value(hist, op, ev)) {
        return hist_fail_line(hist, lines, HIST_E_PARSE,
                              "completion does not match the invocation on line %" PRIu64,
                              op->invoke_time);
    }
    enum hist_outcome outcome = HIST_UNKNOWN; /* :info, and a :fail read (nothing usable) */
    if (hist_word_is(ev->type, ev->type_len, ":ok")) {
        outcome = HIST_OK;
    } else if (hist_word_is(ev->type, ev->type_len, ":fail") && ev->kind != HIST_READ) {
        outcome = HIST_FAIL;
    }
    const char *result = ev->kind == HIST_READ && ev->has_value ? ev->value : NULL;
    int err = hist_complete(hist, id, lines->line, outcome, result, result ? strlen(result) : 0);
    if (err != HIST_E_OK) {
        return hist_fail_line(hist, lines, err, "%s", hist->error);
    }
    return HIST_E_OK;
}

int hist_parse_jepsen_register(struct hist *hist, const char *name, const char *data, size_t len)
{
    assert(hist != NULL && name != NULL);
    hist_init(hist, HIST_MODEL_REGISTER, HIST_OPS_MAX);
    hist->time_is_line = 1;
    struct hist_lines lines;
    struct hist_pending pending = { 0 };
    struct jr_event ev;
    int err = hist_lines_open(&lines, name, data, len);
    if (err != HIST_E_OK) {
        err = hist_fail(hist, err, "%s: out of memory", name);
    }
    while (err == HIST_E_OK && hist_lines_next(&lines)) {
        if (hist_lines_blank(&lines)) {
            continue;
        }
        err = jr_line(hist, &lines, &ev);
        if (err == HIST_E_OK) {
            err = hist_word_is(ev.type, ev.type_len, ":invoke")
                      ? jr_invoke(hist, &lines, &pending, &ev)
                      : jr_complete(hist, &lines, &pending, &ev);
        }
    }
    if (err == HIST_E_OK && hist->ops_count == 0) {
        err = hist_fail(hist, HIST_E_PARSE, "%s: no operations", name);
    }
    hist_pending_free(&pending);
    hist_lines_close(&lines);
    return err;
}
