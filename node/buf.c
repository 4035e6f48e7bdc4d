/* A bounded, growable byte queue with read-from and write-to helpers for non-blocking fds. */
#include "node/buf.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NODE_BUF_CAP_MIN 4096u

void node_buf_init(struct node_buf *buf, size_t max)
{
    assert(buf != NULL);
    assert(max > 0);
    memset(buf, 0, sizeof(*buf));
    buf->max = max;
}

void node_buf_free(struct node_buf *buf)
{
    assert(buf != NULL);
    free(buf->data);
    buf->data = NULL;
    buf->head = 0;
    buf->len = 0;
    buf->cap = 0;
}

/* Makes data[head + len, ...) hold `need` - len more bytes (need <= max): moves the queue to
 * the front, then grows the allocation. 0 or -1. */
static int buf_reserve(struct node_buf *buf, size_t need)
{
    assert(need <= buf->max);
    assert(need >= buf->len);
    if (buf->head + need <= buf->cap) {
        return 0;
    }
    if (buf->head > 0) {
        memmove(buf->data, buf->data + buf->head, buf->len);
        buf->head = 0;
    }
    if (need <= buf->cap) {
        return 0;
    }
    size_t cap = buf->cap < NODE_BUF_CAP_MIN ? NODE_BUF_CAP_MIN : buf->cap;
    while (cap < need) {
        cap = cap > buf->max / 2 ? buf->max : cap * 2;
    }
    uint8_t *data = realloc(buf->data, cap);
    if (data == NULL) {
        return -1;
    }
    buf->data = data;
    buf->cap = cap;
    return 0;
}

int node_buf_append(struct node_buf *buf, const void *data, size_t len)
{
    assert(buf != NULL);
    assert(data != NULL || len == 0);
    if (len > buf->max - buf->len || buf_reserve(buf, buf->len + len) != 0) {
        return -1;
    }
    if (len > 0) {
        memcpy(buf->data + buf->head + buf->len, data, len);
    }
    buf->len += len;
    return 0;
}

void node_buf_consume(struct node_buf *buf, size_t len)
{
    assert(buf != NULL);
    assert(len <= buf->len);
    buf->head += len;
    buf->len -= len;
    if (buf->len == 0) {
        buf->head = 0;
    }
}

uint8_t *node_buf_space(struct node_buf *buf, size_t want, size_t *space)
{
    assert(buf != NULL);
    assert(space != NULL);
    size_t target = buf->len + want;
    if (target > buf->max) {
        target = buf->max;
    }
    if (buf_reserve(buf, target) != 0) {
        *space = 0;
        return NULL;
    }
    *space = buf->cap - buf->head - buf->len;
    return buf->data + buf->head + buf->len;
}

long node_buf_read_fd(struct node_buf *buf, int fd)
{
    assert(buf != NULL);
    assert(fd >= 0);
    size_t space = 0;
    uint8_t *at = node_buf_space(buf, 65536, &space);
    if (space == 0) {
        return -2;
    }
    ssize_t n = read(fd, at, space);
    if (n < 0) {
        return -1;
    }
    buf->len += (size_t)n;
    return (long)n;
}

long node_buf_write_fd(struct node_buf *buf, int fd)
{
    assert(buf != NULL);
    assert(fd >= 0);
    if (buf->len == 0) {
        return 0;
    }
    ssize_t n = send(fd, node_buf_bytes(buf), buf->len, MSG_NOSIGNAL);
    if (n < 0) {
        return -1;
    }
    node_buf_consume(buf, (size_t)n);
    return (long)n;
}
