/* Client protocol lines: tokenising requests with quoted strings, quoting reply values. */
#include "node/proto.h"

#include "core/escape.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Reads one token starting at text[*at] (not a separator) into out[0..cap); sets *out_len. */
static int proto_token(const char *text, size_t len, size_t *at, uint8_t *out, size_t cap,
                       size_t *out_len, const char **why)
{
    size_t n = 0;
    if (text[*at] != '"') {
        while (*at < len && text[*at] != ' ' && text[*at] != '\t') {
            unsigned char c = (unsigned char)text[*at];
            if (c < 0x20 || c == 0x7f || c == '"') {
                *why = "control byte or quote inside a bare token";
                return -1;
            }
            if (n == cap) {
                *why = "token too long";
                return -1;
            }
            out[n++] = c;
            (*at)++;
        }
        *out_len = n;
        return 0;
    }
    (*at)++; /* opening quote */
    for (;;) {
        if (*at >= len) {
            *why = "unterminated quoted string";
            return -1;
        }
        char c = text[(*at)++];
        if (c == '"') {
            break;
        }
        int byte = (unsigned char)c;
        if (c == '\\' && (byte = escape_decode(text, len, at)) < 0) {
            *why = "bad escape (use \\\\ \\\" \\n \\r \\t \\xHH)";
            return -1;
        }
        if (n == cap) {
            *why = "token too long";
            return -1;
        }
        out[n++] = (uint8_t)byte;
    }
    if (*at < len && text[*at] != ' ' && text[*at] != '\t') {
        *why = "a quoted string must be followed by a space or the end of the line";
        return -1;
    }
    *out_len = n;
    return 0;
}

static size_t proto_skip_blanks(const char *text, size_t len, size_t at)
{
    while (at < len && (text[at] == ' ' || text[at] == '\t')) {
        at++;
    }
    return at;
}

/* Reads the command word, upper-cased. 0 or -1. */
static int proto_command(const char *line, size_t len, size_t *at,
                         struct node_proto_request *request)
{
    size_t n = 0;
    while (*at < len && line[*at] != ' ' && line[*at] != '\t') {
        if (n + 1 >= sizeof(request->command) || !isalpha((unsigned char)line[*at])) {
            return -1;
        }
        request->command[n++] = (char)toupper((unsigned char)line[(*at)++]);
    }
    request->command[n] = '\0';
    return n == 0 ? -1 : 0;
}

int node_proto_parse(const char *line, size_t len, struct node_proto_request *request, char *error,
                     size_t error_len)
{
    assert(line != NULL);
    assert(request != NULL);
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    if (len > NODE_PROTO_LINE_BYTES_MAX) {
        snprintf(error, error_len, "request line longer than %u bytes", NODE_PROTO_LINE_BYTES_MAX);
        return -1;
    }
    request->token_count = 0;
    size_t at = proto_skip_blanks(line, len, 0);
    if (proto_command(line, len, &at, request) != 0) {
        snprintf(error, error_len, "a request starts with a command word (see HELP)");
        return -1;
    }
    size_t rest_at = at < len ? at + 1 : at;
    request->rest = line + rest_at;
    request->rest_len = len - rest_at;
    if (strcmp(request->command, "SUBMIT") == 0) {
        return 0; /* its argument is the raw rest of the line, not tokens */
    }
    size_t used = 0;
    for (at = proto_skip_blanks(line, len, at); at < len; at = proto_skip_blanks(line, len, at)) {
        if (request->token_count == NODE_PROTO_TOKENS_MAX) {
            snprintf(error, error_len, "more than %u arguments", NODE_PROTO_TOKENS_MAX);
            return -1;
        }
        size_t token_len = 0;
        const char *why = NULL;
        size_t cap = sizeof(request->storage) - used;
        if (cap > NODE_PROTO_TOKEN_BYTES_MAX) {
            cap = NODE_PROTO_TOKEN_BYTES_MAX;
        }
        if (proto_token(line, len, &at, request->storage + used, cap, &token_len, &why) != 0) {
            snprintf(error, error_len, "argument %u: %s", request->token_count + 1, why);
            return -1;
        }
        request->tokens[request->token_count] = request->storage + used;
        request->token_lens[request->token_count] = (uint32_t)token_len;
        request->token_count++;
        used += token_len;
    }
    return 0;
}

int node_proto_quote(struct node_buf *out, const void *bytes, size_t len)
{
    assert(out != NULL);
    assert(bytes != NULL || len == 0);
    const uint8_t *b = bytes;
    if (node_buf_append(out, "\"", 1) != 0) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char escaped[ESCAPE_BYTES_MAX];
        size_t n = escape_byte(b[i], escaped);
        if (node_buf_append(out, escaped, n) != 0) {
            return -1;
        }
    }
    return node_buf_append(out, "\"", 1);
}

int node_proto_printf(struct node_buf *out, const char *format, ...)
{
    assert(out != NULL);
    assert(format != NULL);
    char line[1024];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof(line) - 1, format, args);
    va_end(args);
    if (n < 0) {
        return -1;
    }
    size_t len = (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;
    line[len++] = '\n';
    return node_buf_append(out, line, len);
}
