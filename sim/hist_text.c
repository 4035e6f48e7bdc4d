/* FlowRaft's own line-oriented history format (specified in sim/hist.h): writer and parser. */
#include "sim/hist.h"

#include "core/escape.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* --- writing --- */

static int hist_put_str(FILE *out, const struct hist *hist, struct hist_str str)
{
    size_t len;
    const char *bytes = hist_str_bytes(hist, str, &len);
    if (bytes == NULL) {
        return fputs(" nil", out) < 0 ? -1 : 0;
    }
    if (fputs(" \"", out) < 0) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char escaped[ESCAPE_BYTES_MAX];
        size_t n = escape_byte((uint8_t)bytes[i], escaped);
        if (fwrite(escaped, 1, n, out) != n) {
            return -1;
        }
    }
    return fputc('"', out) < 0 ? -1 : 0;
}

static int hist_write_invoke(FILE *out, const struct hist *hist, uint32_t id)
{
    const struct hist_op *op = &hist->ops[id];
    int rc = fprintf(out, "invoke %" PRIu32 " %" PRIu64 " %" PRIu64 " %s", id, op->client,
                     op->invoke_time, hist_kind_name(op->kind)) < 0;
    if (!rc && op->key.off != HIST_NIL) {
        rc = hist_put_str(out, hist, op->key);
    }
    if (!rc && (op->kind == HIST_CAS || op->kind == HIST_KV_CAS)) {
        rc = hist_put_str(out, hist, op->expected);
    }
    if (!rc && op->value.off != HIST_NIL) {
        rc = hist_put_str(out, hist, op->value);
    }
    return rc || fputc('\n', out) < 0 ? -1 : 0;
}

static int hist_write_complete(FILE *out, const struct hist *hist, uint32_t id)
{
    const struct hist_op *op = &hist->ops[id];
    assert(op->outcome != HIST_PENDING);
    int rc = fprintf(out, "%s %" PRIu32 " %" PRIu64, hist_outcome_name(op->outcome), id,
                     op->complete_time) < 0;
    if (!rc && op->cas_mismatch) {
        rc = fputs(" mismatch", out) < 0;
    }
    if (!rc && ((op->outcome == HIST_OK && hist_kind_is_read(op->kind)) || op->cas_mismatch)) {
        rc = hist_put_str(out, hist, op->result);
    }
    return rc || fputc('\n', out) < 0 ? -1 : 0;
}

int hist_write_text(FILE *out, const struct hist *hist)
{
    assert(out != NULL && hist != NULL);
    assert(hist->events_count <= 2 * hist->ops_count);
    int rc = 0;
    /* event -> op id * 2 (+1 for a completion); every event number below events_count is used */
    uint32_t *events = malloc(((size_t)hist->events_count + 1) * sizeof(*events));
    if (events == NULL) {
        return hist_fail((struct hist *)hist, HIST_E_NOMEM, "out of memory writing a history");
    }
    for (uint32_t i = 0; i < hist->ops_count; i++) {
        const struct hist_op *op = &hist->ops[i];
        events[op->invoke_event] = 2 * i;
        if (op->complete_event != HIST_EVENT_NONE) {
            events[op->complete_event] = 2 * i + 1;
        }
    }
    rc = fprintf(out, "%s %d %s", HIST_TEXT_MAGIC, HIST_TEXT_VERSION,
                 hist_model_name(hist->model)) < 0;
    if (!rc && hist->initial.off != HIST_NIL) {
        rc = fputs(" initial", out) < 0 || hist_put_str(out, hist, hist->initial) < 0;
    }
    rc = rc || fputc('\n', out) < 0;
    for (uint32_t e = 0; e < hist->events_count && !rc; e++) {
        uint32_t id = events[e] / 2;
        rc = (events[e] % 2 == 0 ? hist_write_invoke(out, hist, id)
                                 : hist_write_complete(out, hist, id)) < 0;
    }
    free(events);
    if (rc || fflush(out) != 0) {
        return hist_fail((struct hist *)hist, HIST_E_IO, "writing the history failed");
    }
    return HIST_E_OK;
}

/* --- reading --- */

static int hist_text_header(struct hist *hist, struct hist_lines *lines)
{
    const char *word;
    size_t len;
    uint64_t version;
    if (!hist_lex_word(lines, 0, &word, &len) || !hist_word_is(word, len, HIST_TEXT_MAGIC)) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "expected the header '%s %d MODEL'",
                              HIST_TEXT_MAGIC, HIST_TEXT_VERSION);
    }
    if (hist_lex_u64(lines, &version) != 0 || version != HIST_TEXT_VERSION) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "unsupported version (expected %d)",
                              HIST_TEXT_VERSION);
    }
    hist_lex_word(lines, 0, &word, &len);
    enum hist_model model = hist_word_is(word, len, "register") ? HIST_MODEL_REGISTER
                            : hist_word_is(word, len, "kv")     ? HIST_MODEL_KV
                                                                : 0;
    if (model == 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "model must be 'register' or 'kv'");
    }
    hist_init(hist, model, HIST_OPS_MAX);
    if (hist_lines_blank(lines)) {
        return HIST_E_OK;
    }
    const char *value;
    const char *why = "expected 'initial VALUE'";
    if (!hist_lex_word(lines, 0, &word, &len) || !hist_word_is(word, len, "initial") ||
        hist_lex_string(lines, &value, &len, &why) != 0 || !hist_lines_blank(lines)) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "header: %s", why);
    }
    int err = hist_set_initial(hist, value, len);
    return err == HIST_E_OK ? err : hist_fail_line(hist, lines, err, "%s", hist->error);
}

static enum hist_kind hist_text_kind(enum hist_model model, const char *word, size_t len)
{
    for (int k = 1; k <= HIST_KIND_MAX; k++) {
        if (hist_kind_in_model(k, model) && hist_word_is(word, len, hist_kind_name(k))) {
            return k;
        }
    }
    return 0;
}

/* Reads one string argument called `what` into (*value, *len). */
static int hist_text_arg(struct hist *hist, struct hist_lines *lines, const char *what,
                         const char **value, size_t *len)
{
    const char *why;
    if (hist_lex_string(lines, value, len, &why) != 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "%s: %s", what, why);
    }
    return HIST_E_OK;
}

static int hist_text_invoke(struct hist *hist, struct hist_lines *lines)
{
    uint64_t id, client, time;
    const char *word;
    size_t len;
    if (hist_lex_u64(lines, &id) != 0 || hist_lex_u64(lines, &client) != 0 ||
        hist_lex_u64(lines, &time) != 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "expected 'invoke OP CLIENT TIME KIND'");
    }
    if (id != hist->ops_count) {
        return hist_fail_line(hist, lines, HIST_E_PARSE,
                              "op ids must be invoked in order: "
                              "expected %" PRIu32 ", got %" PRIu64,
                              hist->ops_count, id);
    }
    hist_lex_word(lines, 0, &word, &len);
    struct hist_call call = { .kind = hist_text_kind(hist->model, word, len), .client = client };
    if (call.kind == 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "unknown %s operation '%.*s'",
                              hist_model_name(hist->model), (int)(len > 40 ? 40 : len), word);
    }
    int err = HIST_E_OK;
    if (hist->model == HIST_MODEL_KV) {
        err = hist_text_arg(hist, lines, "key", &call.key, &call.key_len);
    }
    if (err == HIST_E_OK && (call.kind == HIST_CAS || call.kind == HIST_KV_CAS)) {
        err = hist_text_arg(hist, lines, "expected value", &call.expected, &call.expected_len);
    }
    if (err == HIST_E_OK && call.kind != HIST_READ && call.kind != HIST_GET &&
        call.kind != HIST_DELETE) {
        err = hist_text_arg(hist, lines, "value", &call.value, &call.value_len);
    }
    if (err == HIST_E_OK && !hist_lines_blank(lines)) {
        err = hist_fail_line(hist, lines, HIST_E_PARSE, "unexpected text after the operation");
    }
    if (err != HIST_E_OK) {
        return err;
    }
    int64_t got = hist_invoke(hist, time, &call);
    return got >= 0 ? HIST_E_OK : hist_fail_line(hist, lines, (int)got, "%s", hist->error);
}

static int hist_text_complete(struct hist *hist, struct hist_lines *lines,
                              enum hist_outcome outcome)
{
    uint64_t id, time;
    if (hist_lex_u64(lines, &id) != 0 || hist_lex_u64(lines, &time) != 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "expected '%s OP TIME'",
                              hist_outcome_name(outcome));
    }
    if (id >= hist->ops_count) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "op %" PRIu64 " was never invoked", id);
    }
    const char *result = NULL;
    size_t result_len = 0;
    enum hist_kind kind = hist->ops[id].kind;
    int mismatch = 0;
    if (outcome == HIST_OK && (kind == HIST_CAS || kind == HIST_KV_CAS) &&
        !hist_lines_blank(lines)) {
        const char *word;
        size_t len;
        hist_lex_word(lines, 0, &word, &len);
        if (!hist_word_is(word, len, "mismatch")) {
            return hist_fail_line(hist, lines, HIST_E_PARSE,
                                  "expected 'mismatch CURRENT' or nothing after a cas's ok");
        }
        mismatch = 1;
    }
    if ((outcome == HIST_OK && hist_kind_is_read(kind)) || mismatch) {
        int err =
            hist_text_arg(hist, lines, mismatch ? "current value" : "result", &result, &result_len);
        if (err != HIST_E_OK) {
            return err;
        }
    }
    if (!hist_lines_blank(lines)) {
        return hist_fail_line(hist, lines, HIST_E_PARSE, "unexpected text after the completion");
    }
    int err = mismatch ? hist_complete_cas_mismatch(hist, (uint32_t)id, time, result, result_len)
                       : hist_complete(hist, (uint32_t)id, time, outcome, result, result_len);
    return err == HIST_E_OK ? err : hist_fail_line(hist, lines, err, "%s", hist->error);
}

static int hist_text_event(struct hist *hist, struct hist_lines *lines)
{
    const char *word;
    size_t len;
    hist_lex_word(lines, 0, &word, &len);
    if (hist_word_is(word, len, "invoke")) {
        return hist_text_invoke(hist, lines);
    }
    static const enum hist_outcome outcomes[] = { HIST_OK, HIST_FAIL, HIST_UNKNOWN };
    for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
        if (hist_word_is(word, len, hist_outcome_name(outcomes[i]))) {
            return hist_text_complete(hist, lines, outcomes[i]);
        }
    }
    return hist_fail_line(hist, lines, HIST_E_PARSE,
                          "expected an event: invoke, ok, fail or unknown; got '%.*s'",
                          (int)(len > 40 ? 40 : len), word);
}

int hist_parse_text(struct hist *hist, const char *name, const char *data, size_t len)
{
    assert(hist != NULL && name != NULL);
    struct hist_lines lines;
    hist_init(hist, HIST_MODEL_REGISTER, HIST_OPS_MAX);
    if (hist_lines_open(&lines, name, data, len) != HIST_E_OK) {
        hist_lines_close(&lines);
        return hist_fail(hist, HIST_E_NOMEM, "%s: out of memory", name);
    }
    int err = HIST_E_OK;
    int have_header = 0;
    while (err == HIST_E_OK && hist_lines_next(&lines)) {
        hist_lex_space(&lines, 0);
        if (hist_lines_blank(&lines) || *lines.p == '#') {
            continue;
        }
        if (!have_header) {
            err = hist_text_header(hist, &lines);
            have_header = 1;
        } else {
            err = hist_text_event(hist, &lines);
        }
    }
    if (err == HIST_E_OK && !have_header) {
        err = hist_fail(hist, HIST_E_PARSE, "%s: no '%s' header line", name, HIST_TEXT_MAGIC);
    }
    hist_lines_close(&lines);
    return err;
}
