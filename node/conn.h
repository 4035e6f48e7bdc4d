/* A blocking line-oriented connection to a node, for the client and worker commands. */
#ifndef FLOWRAFT_NODE_CONN_H
#define FLOWRAFT_NODE_CONN_H

#include "node/buf.h"
#include "node/sock.h"

#include <stddef.h>

struct node_conn {
    int fd; /* -1 when closed */
    struct node_buf in;
};

/* Connects within `timeout_ms`. 0, or -1 with a message in `error`. */
int node_conn_open(struct node_conn *conn, const struct node_addr *addr, int timeout_ms,
                   char *error, size_t error_len);
void node_conn_close(struct node_conn *conn);

/* Sends all `len` bytes within `timeout_ms`. 0 or -1. */
int node_conn_send(struct node_conn *conn, const void *data, size_t len, int timeout_ms);

/* Reads one line (without '\n', truncated to cap - 1 bytes, NUL-terminated) within `timeout_ms`
 * (-1: wait forever). 0, 1 on timeout, -1 when the connection closed or failed. */
int node_conn_read_line(struct node_conn *conn, char *line, size_t cap, int timeout_ms);

#endif
