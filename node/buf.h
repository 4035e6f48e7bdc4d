/* A bounded, growable byte queue for socket input and output in the node binary. */
#ifndef FLOWRAFT_NODE_BUF_H
#define FLOWRAFT_NODE_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Bytes data[head, head + len) are queued. Grows on demand, never beyond `max` bytes; consumed
 * bytes are reclaimed by moving the queue to the front only when room is needed. */
struct node_buf {
    uint8_t *data;
    size_t head; /* invariant: head + len <= cap */
    size_t len;
    size_t cap; /* invariant: cap <= max */
    size_t max; /* fixed at init */
};

/* The queued bytes. */
static inline const uint8_t *node_buf_bytes(const struct node_buf *buf)
{
    return buf->data + buf->head;
}

void node_buf_init(struct node_buf *buf, size_t max);
void node_buf_free(struct node_buf *buf);

/* Appends `len` bytes: 0, or -1 (nothing appended) if the queue would exceed `max` or memory
 * ran out. */
int node_buf_append(struct node_buf *buf, const void *data, size_t len);

/* Drops the first `len` bytes (len <= buf->len). */
void node_buf_consume(struct node_buf *buf, size_t len);

/* Makes room for at least `want` more bytes (bounded by max) and returns the free space at the
 * end, setting *space; 0 space means the queue is full. */
uint8_t *node_buf_space(struct node_buf *buf, size_t want, size_t *space);

/* Reads what the non-blocking fd has into the queue: the number of bytes read, 0 at end of
 * stream, -1 on error (errno set; EAGAIN means nothing to read now), -2 if the queue is full. */
long node_buf_read_fd(struct node_buf *buf, int fd);

/* Writes as much of the queue as the non-blocking fd takes and consumes it: bytes written, or -1
 * on error (errno set; EAGAIN means try later). */
long node_buf_write_fd(struct node_buf *buf, int fd);

#endif
