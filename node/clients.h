/* The node's client connections: accept, read request lines, queue reply lines, close. */
#ifndef FLOWRAFT_NODE_CLIENTS_H
#define FLOWRAFT_NODE_CLIENTS_H

#include "node/buf.h"
#include "node/sock.h"

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_CLIENTS_MAX           256u        /* open client connections */
#define NODE_CLIENT_OUT_BYTES_MAX  (16u << 20) /* queued replies per connection */
#define NODE_CLIENTS_POLLFDS_MAX   (1u + NODE_CLIENTS_MAX)
#define NODE_CLIENT_LINES_PER_POLL 64u /* requests taken from one connection per poll */

/* A connection is named by (slot, generation) so a reply to a closed connection's request never
 * reaches a new connection that reused the slot. */
struct node_client_ref {
    uint32_t slot;
    uint32_t generation;
};

struct node_client {
    int fd; /* -1: free slot */
    uint32_t generation;
    struct node_buf in;
    struct node_buf out;
    int closing; /* close once `out` is flushed */
    void *user;  /* the server's per-connection state (e.g. a worker registration) */
};

/* Called with each request line (without its '\n'; borrowed for the call). */
typedef void (*node_line_fn)(void *arg, struct node_client_ref ref, const char *line, size_t len);
/* Called when a connection closes (so the server can forget its state). */
typedef void (*node_close_fn)(void *arg, struct node_client_ref ref);

struct node_clients {
    int listen_fd;
    struct node_client conns[NODE_CLIENTS_MAX];
    node_line_fn on_line;
    node_close_fn on_close;
    void *arg;
    struct pollfd *last_fds;
    size_t last_count;
    uint64_t accepted;
    uint64_t refused; /* connections refused because every slot was taken */
};

/* Listens on `addr`. 0, or -1 with `error` filled. */
int node_clients_init(struct node_clients *clients, const struct node_addr *addr,
                      node_line_fn on_line, node_close_fn on_close, void *arg, char *error,
                      size_t error_len);
void node_clients_close(struct node_clients *clients);

/* The output queue of a live connection, or NULL if it has closed since. */
struct node_buf *node_clients_out(struct node_clients *clients, struct node_client_ref ref);
/* The connection itself, or NULL if it has closed since. */
struct node_client *node_clients_get(struct node_clients *clients, struct node_client_ref ref);

size_t node_clients_pollfds(struct node_clients *clients, struct pollfd *fds, size_t cap);
void node_clients_dispatch(struct node_clients *clients);

/* Writes whatever replies are queued (call after handling a batch, so replies go out at once). */
void node_clients_flush(struct node_clients *clients);

#endif
