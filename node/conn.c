/* Blocking line connections over the non-blocking socket helpers, with timeouts. */
#include "node/conn.h"

#include "node/proto.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int node_conn_open(struct node_conn *conn, const struct node_addr *addr, int timeout_ms,
                   char *error, size_t error_len)
{
    assert(conn != NULL);
    assert(addr != NULL);
    conn->fd = node_sock_connect_start(addr, error, error_len);
    if (conn->fd < 0) {
        return -1;
    }
    struct pollfd p = { .fd = conn->fd, .events = POLLOUT };
    if (poll(&p, 1, timeout_ms) != 1 || node_sock_connect_result(conn->fd) != 0) {
        snprintf(error, error_len, "cannot connect to %s:%u", addr->host, (unsigned)addr->port);
        close(conn->fd);
        conn->fd = -1;
        return -1;
    }
    node_buf_init(&conn->in, NODE_PROTO_LINE_BYTES_MAX + 2);
    return 0;
}

void node_conn_close(struct node_conn *conn)
{
    assert(conn != NULL);
    if (conn->fd >= 0) {
        close(conn->fd);
        node_buf_free(&conn->in);
    }
    conn->fd = -1;
}

int node_conn_send(struct node_conn *conn, const void *data, size_t len, int timeout_ms)
{
    assert(conn != NULL);
    assert(conn->fd >= 0);
    struct node_buf out;
    node_buf_init(&out, len + 1);
    int rc = node_buf_append(&out, data, len);
    for (int rounds = 0; rc == 0 && out.len > 0 && rounds < 1000000; rounds++) {
        struct pollfd p = { .fd = conn->fd, .events = POLLOUT };
        if (poll(&p, 1, timeout_ms) != 1 ||
            (node_buf_write_fd(&out, conn->fd) < 0 && errno != EAGAIN && errno != EINTR)) {
            rc = -1;
        }
    }
    node_buf_free(&out);
    return rc;
}

int node_conn_read_line(struct node_conn *conn, char *line, size_t cap, int timeout_ms)
{
    assert(conn != NULL);
    assert(cap > 0);
    for (int rounds = 0; rounds < 1000000; rounds++) {
        const char *start = (const char *)node_buf_bytes(&conn->in);
        const char *newline = conn->in.len > 0 ? memchr(start, '\n', conn->in.len) : NULL;
        if (newline != NULL) {
            size_t len = (size_t)(newline - start);
            size_t copy = len < cap - 1 ? len : cap - 1;
            memcpy(line, start, copy);
            line[copy] = '\0';
            node_buf_consume(&conn->in, len + 1);
            return 0;
        }
        struct pollfd p = { .fd = conn->fd, .events = POLLIN };
        int ready = poll(&p, 1, timeout_ms);
        if (ready == 0) {
            return 1;
        }
        if (ready < 0 && errno != EINTR) {
            return -1;
        }
        long n = node_buf_read_fd(&conn->in, conn->fd);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            return -1;
        }
    }
    return -1;
}
