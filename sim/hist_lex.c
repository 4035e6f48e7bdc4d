/* Line and token reading shared by the history parsers: bounded, never reads past a line's end. */
#include "sim/hist.h"

#include "core/escape.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int hist_lines_open(struct hist_lines *lines, const char *name, const char *data, size_t len)
{
    assert(lines != NULL && name != NULL);
    assert(data != NULL || len == 0);
    memset(lines, 0, sizeof(*lines));
    lines->name = name;
    lines->data = data;
    lines->len = len;
    lines->scratch = malloc(HIST_VALUE_BYTES_MAX);
    return lines->scratch == NULL ? HIST_E_NOMEM : HIST_E_OK;
}

void hist_lines_close(struct hist_lines *lines)
{
    assert(lines != NULL);
    free(lines->scratch);
    lines->scratch = NULL;
}

int hist_lines_next(struct hist_lines *lines)
{
    assert(lines->pos <= lines->len);
    if (lines->pos == lines->len) {
        return 0;
    }
    const char *start = lines->data + lines->pos;
    const char *nl = memchr(start, '\n', lines->len - lines->pos);
    const char *end = nl != NULL ? nl : lines->data + lines->len;
    lines->pos = nl != NULL ? (size_t)(nl - lines->data) + 1 : lines->len;
    if (end > start && end[-1] == '\r') {
        end--;
    }
    lines->line++;
    lines->p = start;
    lines->end = end;
    lines->scratch_used = 0;
    return 1;
}

int hist_lines_blank(const struct hist_lines *lines)
{
    for (const char *q = lines->p; q < lines->end; q++) {
        if (*q != ' ' && *q != '\t') {
            return 0;
        }
    }
    return 1;
}

void hist_lex_space(struct hist_lines *lines, int commas)
{
    while (lines->p < lines->end &&
           (*lines->p == ' ' || *lines->p == '\t' || (commas && *lines->p == ','))) {
        lines->p++;
    }
}

int hist_lex_word(struct hist_lines *lines, int edn, const char **word, size_t *word_len)
{
    hist_lex_space(lines, edn);
    const char *start = lines->p;
    while (lines->p < lines->end) {
        char c = *lines->p;
        if (c == ' ' || c == '\t' || (edn && (c == ',' || c == '}' || c == '{'))) {
            break;
        }
        lines->p++;
    }
    *word = start;
    *word_len = (size_t)(lines->p - start);
    return *word_len > 0;
}

int hist_word_is(const char *word, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len == n && memcmp(word, s, n) == 0;
}

int hist_lex_u64(struct hist_lines *lines, uint64_t *out)
{
    const char *word;
    size_t len;
    if (!hist_lex_word(lines, 0, &word, &len) || len > 20) {
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (word[i] < '0' || word[i] > '9') {
            return -1;
        }
        uint64_t digit = (uint64_t)(word[i] - '0');
        if (v > (UINT64_MAX - digit) / 10) {
            return -1;
        }
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

int hist_lex_string(struct hist_lines *lines, const char **value_out, size_t *len_out,
                    const char **why)
{
    hist_lex_space(lines, 0);
    if (lines->end - lines->p >= 3 && memcmp(lines->p, "nil", 3) == 0 &&
        (lines->end - lines->p == 3 ||
         (lines->p[3] != '\0' && strchr(" \t,}", lines->p[3]) != NULL))) {
        lines->p += 3;
        *value_out = NULL;
        *len_out = 0;
        return 0;
    }
    if (lines->p >= lines->end || *lines->p != '"') {
        *why = "expected nil or a double-quoted string";
        return -1;
    }
    lines->p++;
    char *out = lines->scratch + lines->scratch_used;
    size_t room = HIST_VALUE_BYTES_MAX - lines->scratch_used;
    size_t n = 0;
    while (lines->p < lines->end && *lines->p != '"') {
        int c = (unsigned char)*lines->p++;
        size_t at = 0;
        if (c == '\\' && (c = escape_decode(lines->p, (size_t)(lines->end - lines->p), &at)) < 0) {
            *why = "bad escape in string (use \\\\ \\\" \\n \\r \\t or \\xHH)";
            return -1;
        }
        lines->p += at;
        if (n == room) {
            *why = "string longer than HIST_VALUE_BYTES_MAX";
            return -1;
        }
        out[n++] = (char)c;
    }
    if (lines->p >= lines->end) {
        *why = "unterminated string";
        return -1;
    }
    lines->p++; /* the closing quote */
    lines->scratch_used += n;
    *value_out = out;
    *len_out = n;
    return 0;
}

int hist_fail_line(struct hist *hist, const struct hist_lines *lines, int err, const char *fmt, ...)
{
    assert(hist != NULL && lines != NULL);
    assert(err < 0);
    char what[HIST_ERROR_BYTES_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof(what), fmt, args);
    va_end(args);
    return hist_fail(hist, err, "%s:%u: %s", lines->name, (unsigned)lines->line, what);
}

int hist_pending_add(struct hist_pending *pending, uint32_t op_id)
{
    assert(pending != NULL);
    assert(pending->count <= pending->cap);
    if (pending->count == pending->cap) {
        uint32_t cap = pending->cap == 0 ? 16 : pending->cap * 2;
        uint32_t *grown = realloc(pending->ops, cap * sizeof(*grown));
        if (grown == NULL) {
            return HIST_E_NOMEM;
        }
        pending->ops = grown;
        pending->cap = cap;
    }
    pending->ops[pending->count++] = op_id;
    return HIST_E_OK;
}

static int64_t hist_pending_slot(const struct hist_pending *pending, const struct hist *hist,
                                 uint64_t client)
{
    for (uint32_t i = 0; i < pending->count; i++) {
        assert(pending->ops[i] < hist->ops_count);
        if (hist->ops[pending->ops[i]].client == client) {
            return i;
        }
    }
    return -1;
}

int64_t hist_pending_find(const struct hist_pending *pending, const struct hist *hist,
                          uint64_t client)
{
    int64_t slot = hist_pending_slot(pending, hist, client);
    return slot < 0 ? -1 : (int64_t)pending->ops[slot];
}

int64_t hist_pending_take(struct hist_pending *pending, const struct hist *hist, uint64_t client)
{
    int64_t slot = hist_pending_slot(pending, hist, client);
    if (slot < 0) {
        return -1;
    }
    uint32_t id = pending->ops[slot];
    pending->ops[slot] = pending->ops[--pending->count];
    return id;
}

void hist_pending_free(struct hist_pending *pending)
{
    free(pending->ops);
    pending->ops = NULL;
    pending->count = 0;
    pending->cap = 0;
}

int hist_pending_invoke(struct hist *hist, const struct hist_lines *lines,
                        struct hist_pending *pending, const struct hist_call *call)
{
    assert(hist != NULL && lines != NULL && call != NULL);
    int64_t busy = hist_pending_find(pending, hist, call->client);
    if (busy >= 0) {
        return hist_fail_line(hist, lines, HIST_E_PARSE,
                              "process %" PRIu64 " invokes while its op from line %" PRIu64
                              " is pending",
                              call->client, hist->ops[busy].invoke_time);
    }
    int64_t id = hist_invoke(hist, lines->line, call);
    if (id < 0) {
        return hist_fail_line(hist, lines, (int)id, "%s", hist->error);
    }
    if (hist_pending_add(pending, (uint32_t)id) != HIST_E_OK) {
        return hist_fail_line(hist, lines, HIST_E_NOMEM, "out of memory");
    }
    return HIST_E_OK;
}
