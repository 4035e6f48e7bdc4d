/* The node's client protocol: one request per line, space-separated tokens, quoted strings. */
#ifndef FLOWRAFT_NODE_PROTO_H
#define FLOWRAFT_NODE_PROTO_H

#include "node/buf.h"

#include <stddef.h>
#include <stdint.h>

/*
 * A request is one line of tokens separated by spaces or tabs, ending in "\n" (a preceding "\r"
 * is ignored). A token is either bare (bytes other than space, tab, '"' and control bytes) or a
 * double-quoted string in which \\ \" \n \r \t and \xHH stand for themselves. The first token is
 * the command, matched case-insensitively. Requests (see node/README.md for the replies):
 *
 *   PUT key value        GET key        DEL key        CAS key expected new
 *   SUBMIT json          (the rest of the line, raw: a workflow definition on one line)
 *   SHOW workflow-id     STATUS         WORKER name
 *   DONE workflow task attempt [output]     FAIL workflow task attempt error-kind
 *   EXTEND workflow task attempt
 *
 * Replies are lines too: OK [value], NOT_FOUND, MISMATCH [current], REDIRECT leader-id address,
 * ERR message; a multi-line reply starts with a line "BEGIN" and ends with a line "END".
 */

#define NODE_PROTO_LINE_BYTES_MAX  (128u << 10) /* one request line */
#define NODE_PROTO_TOKEN_BYTES_MAX (64u << 10)  /* one decoded token */
#define NODE_PROTO_TOKENS_MAX      8u

struct node_proto_request {
    char command[16]; /* upper-cased */
    uint32_t token_count;
    /* decoded tokens after the command, pointing into `storage` */
    const uint8_t *tokens[NODE_PROTO_TOKENS_MAX];
    uint32_t token_lens[NODE_PROTO_TOKENS_MAX];
    const char *rest; /* the raw text after the command and one space; SUBMIT has no tokens */
    size_t rest_len;
    uint8_t storage[NODE_PROTO_LINE_BYTES_MAX];
};

/* Parses one line (without its "\n"). 0, or -1 with a message in `error` naming what is wrong
 * (the token number and the problem). */
int node_proto_parse(const char *line, size_t len, struct node_proto_request *request, char *error,
                     size_t error_len);

/* Appends `len` bytes as a double-quoted, escaped token. 0, or -1 if the buffer is full. */
int node_proto_quote(struct node_buf *out, const void *bytes, size_t len);

/* Appends a formatted line (a '\n' is added). 0, or -1 if the buffer is full. */
int node_proto_printf(struct node_buf *out, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
