/* Parser for Jepsen key-value histories: one EDN map a line, keys start as "", append concatenates.
 */
#include "sim/hist.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

/* One EDN scalar: a string, nil, an integer or a keyword (kept as text, ':' included). */
struct jk_scalar {
    int present;      /* the map had this field */
    int is_string;    /* a string, or an integer (kept as its decimal text) */
    int is_integer;   /* an integer */
    const char *text; /* NULL for nil */
    size_t len;
};

struct jk_event {
    struct jk_scalar process, type, f, key, value;
};

/* Reads an EDN scalar (string, nil, integer, keyword) at lines->p. */
static int jk_scalar(struct hist_lines *lines, struct jk_scalar *out, const char **why)
{
    hist_lex_space(lines, 1);
    out->present = 1;
    out->is_string = 0;
    out->is_integer = 0;
    if (lines->p < lines->end && *lines->p == '"') {
        out->is_string = 1;
        return hist_lex_string(lines, &out->text, &out->len, why);
    }
    if (!hist_lex_word(lines, 1, &out->text, &out->len)) {
        *why = "missing value";
        return -1;
    }
    if (hist_word_is(out->text, out->len, "nil")) {
        out->text = NULL;
        out->len = 0;
        return 0;
    }
    if (out->text[0] == ':' && out->len > 1) {
        return 0;
    }
    size_t digits = out->text[0] == '-' ? 1 : 0;
    for (size_t i = digits; i < out->len; i++) {
        if (out->text[i] < '0' || out->text[i] > '9') {
            *why = "expected a string, nil, an integer or a keyword";
            return -1;
        }
    }
    if (out->len == digits || out->len > 19) {
        *why = "bad integer";
        return -1;
    }
    out->is_string = 1; /* an integer key or value stands for its decimal text */
    out->is_integer = 1;
    return 0;
}

static struct jk_scalar *jk_field(struct jk_event *ev, const char *name, size_t len)
{
    return hist_word_is(name, len, ":process") ? &ev->process
           : hist_word_is(name, len, ":type")  ? &ev->type
           : hist_word_is(name, len, ":f")     ? &ev->f
           : hist_word_is(name, len, ":key")   ? &ev->key
           : hist_word_is(name, len, ":value") ? &ev->value
                                               : NULL;
}

/* Reads one line's map into `ev`; fields other than the five above are skipped. */
static int jk_map(struct hist *hist, struct hist_lines *lines, struct jk_event *ev)
{
    const char *why = NULL;
    memset(ev, 0, sizeof(*ev));
    hist_lex_space(lines, 1);
    if (lines->p >= lines->end || *lines->p != '{') {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "expected an EDN map '{...}'");
    }
    lines->p++;
    for (;;) { /* bounded: every iteration consumes at least one byte of the line */
        hist_lex_space(lines, 1);
        if (lines->p >= lines->end) {
            return hist_fail_line(hist, lines, HIST_E_PARSE, "map not closed with '}'");
        }
        if (*lines->p == '}') {
            lines->p++;
            break;
        }
        const char *name;
        size_t name_len;
        if (!hist_lex_word(lines, 1, &name, &name_len) || name[0] != ':') {
            return hist_fail_line(hist, lines, HIST_E_PARSE, "expected a keyword like :type");
        }
        struct jk_scalar skipped;
        struct jk_scalar *field = jk_field(ev, name, name_len);
        if (field != NULL && field->present) {
            return hist_fail_line(hist, lines, HIST_E_PARSE, "field %.*s given twice",
                                  (int)name_len, name);
        }
        if (jk_scalar(lines, field != NULL ? field : &skipped, &why) != 0) {
            return hist_fail_line(hist, lines, HIST_E_PARSE, "field %.*s: %s", (int)name_len, name,
                                  why);
        }
    }
    if (!hist_lines_blank(lines)) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "unexpected text after the map");
    }
    return HIST_E_OK;
}

static int jk_is(const struct jk_scalar *s, const char *keyword)
{
    return s->present && !s->is_string && s->text != NULL && hist_word_is(s->text, s->len, keyword);
}

static int jk_invoke(struct hist *hist, struct hist_lines *lines, struct hist_pending *pending,
                     uint64_t process, const struct jk_event *ev)
{
    struct hist_call call = { .client = process, .key = ev->key.text, .key_len = ev->key.len };
    call.kind = jk_is(&ev->f, ":get")      ? HIST_GET
                : jk_is(&ev->f, ":put")    ? HIST_PUT
                : jk_is(&ev->f, ":append") ? HIST_APPEND
                                           : 0;
    if (call.kind == 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, ":f must be :get, :put or :append");
    }
    if (call.kind != HIST_GET) {
        if (!ev->value.is_string) {
            return hist_fail_line(hist, lines, HIST_E_PARSE, ":value of a %s must be a string",
                                  hist_kind_name(call.kind));
        }
        call.value = ev->value.text;
        call.value_len = ev->value.len;
    }
    return hist_pending_invoke(hist, lines, pending, &call);
}

/* The completion's :f and :key (and a write's :value) must repeat its invocation's. */
static int jk_matches(const struct hist *hist, const struct hist_op *op, const struct jk_event *ev)
{
    size_t len;
    const char *key = hist_str_bytes(hist, op->key, &len);
    char f[16];
    snprintf(f, sizeof(f), ":%s", hist_kind_name(op->kind));
    if (!jk_is(&ev->f, f) || len != ev->key.len || memcmp(key, ev->key.text, len) != 0) {
        return 0;
    }
    if (op->kind == HIST_GET || !ev->value.is_string) {
        return 1;
    }
    const char *value = hist_str_bytes(hist, op->value, &len);
    return len == ev->value.len && memcmp(value, ev->value.text, len) == 0;
}

static int jk_complete(struct hist *hist, struct hist_lines *lines, struct hist_pending *pending,
                       uint64_t process, const struct jk_event *ev)
{
    int64_t taken = hist_pending_take(pending, hist, process);
    if (taken < 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE,
                              "completion for process %" PRIu64 ", which has no pending operation",
                              process);
    }
    const struct hist_op *op = &hist->ops[taken];
    if (!jk_matches(hist, op, ev)) {
        return hist_fail_line(hist, lines, HIST_E_PARSE,
                              "completion does not match the invocation on line %" PRIu64,
                              op->invoke_time);
    }
    enum hist_outcome outcome = jk_is(&ev->type, ":ok")     ? HIST_OK
                                : jk_is(&ev->type, ":fail") ? HIST_FAIL
                                                            : HIST_UNKNOWN;
    if (outcome == HIST_OK && op->kind == HIST_GET && ev->value.present && !ev->value.is_string &&
        ev->value.text != NULL) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, ":value of a get must be a string");
    }
    int err =
        hist_complete(hist, (uint32_t)taken, lines->line, outcome, ev->value.text, ev->value.len);
    return err == HIST_E_OK ? err : hist_fail_line(hist, lines, err, "%s", hist->error);
}

static int jk_event(struct hist *hist, struct hist_lines *lines, struct hist_pending *pending,
                    const struct jk_event *ev)
{
    if (jk_is(&ev->process, ":nemesis")) {
        return HIST_E_OK; /* fault injection, not a client operation */
    }
    uint64_t process = 0;
    int is_number = ev->process.is_integer && ev->process.text[0] != '-';
    for (size_t i = 0; is_number && i < ev->process.len; i++) {
        process = process * 10 + (uint64_t)(ev->process.text[i] - '0');
    }
    if (!is_number) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, ":process must be an integer");
    }
    if (!ev->key.is_string || ev->key.text == NULL) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, ":key must be a string");
    }
    if (jk_is(&ev->type, ":invoke")) {
        return jk_invoke(hist, lines, pending, process, ev);
    }
    if (jk_is(&ev->type, ":ok") || jk_is(&ev->type, ":fail") || jk_is(&ev->type, ":info")) {
        return jk_complete(hist, lines, pending, process, ev);
    }
    return hist_fail_line(hist, lines, HIST_E_PARSE, ":type must be :invoke, :ok, :fail or :info");
}

int hist_parse_jepsen_kv(struct hist *hist, const char *name, const char *data, size_t len)
{
    assert(hist != NULL && name != NULL);
    hist_init(hist, HIST_MODEL_KV, HIST_OPS_MAX);
    hist->time_is_line = 1;
    int err = hist_set_initial(hist, "", 0); /* Jepsen's KV keys start as the empty string */
    struct hist_lines lines;
    struct hist_pending pending = { 0 };
    struct jk_event ev;
    if (hist_lines_open(&lines, name, data, len) != HIST_E_OK) {
        err = hist_fail(hist, HIST_E_NOMEM, "%s: out of memory", name);
    }
    while (err == HIST_E_OK && hist_lines_next(&lines)) {
        if (hist_lines_blank(&lines)) {
            continue;
        }
        err = jk_map(hist, &lines, &ev);
        if (err == HIST_E_OK) {
            err = jk_event(hist, &lines, &pending, &ev);
        }
    }
    if (err == HIST_E_OK && hist->ops_count == 0) {
        err = hist_fail(hist, HIST_E_PARSE, "%s: no operations", name);
    }
    hist_pending_free(&pending);
    hist_lines_close(&lines);
    return err;
}
