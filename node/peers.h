/* The node's peer transport: framed Raft messages over TCP, one outbound connection per peer. */
#ifndef FLOWRAFT_NODE_PEERS_H
#define FLOWRAFT_NODE_PEERS_H

#include "node/buf.h"
#include "node/sock.h"

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Each node listens on its own peer address and keeps one outbound connection to every other
 * node; a message to peer P is written to the connection to P, and everything arriving on
 * accepted connections is read as a stream of codec frames (core/raft_codec.h: the header gives
 * the length; the checksum is verified by raft_decode). There is no handshake: frames carry
 * their sender. Raft tolerates loss, so when a peer is down or its queue is full a message is
 * dropped (and counted) rather than blocking the node. A connection that sends an invalid frame
 * header is closed.
 */

#define NODE_PEERS_MAX         32u         /* peers in the config (RAFT_NODES_MAX) */
#define NODE_INBOUND_MAX       64u         /* accepted peer connections at once */
#define NODE_PEER_QUEUE_BYTES  (64u << 20) /* bytes queued for one peer */
#define NODE_RECONNECT_MS_MIN  50u
#define NODE_RECONNECT_MS_MAX  2000u
#define NODE_PEERS_POLLFDS_MAX (1u + NODE_PEERS_MAX + NODE_INBOUND_MAX)

struct node_peer {
    uint32_t id; /* invariant: nonzero */
    struct node_addr addr;
    int fd;         /* -1 when not connected */
    int connecting; /* a non-blocking connect is in progress on fd */
    struct node_buf out;
    uint64_t reconnect_at_ms; /* no connect attempt before this */
    uint32_t backoff_ms;
};

struct node_inbound {
    int fd; /* -1 when the slot is free */
    struct node_buf in;
};

/* Called with each complete frame received (bytes borrowed for the call). */
typedef void (*node_frame_fn)(void *arg, const uint8_t *frame, size_t len);

struct node_peers {
    uint32_t self_id;
    int listen_fd;
    struct node_peer peers[NODE_PEERS_MAX];
    size_t peer_count;
    struct node_inbound inbound[NODE_INBOUND_MAX];
    node_frame_fn on_frame;
    void *on_frame_arg;
    /* counters */
    uint64_t frames_sent;
    uint64_t frames_received;
    uint64_t frames_dropped;    /* peer down or its queue full */
    uint64_t connections_reset; /* errors, invalid frames */
    /* the pollfd slots handed out by the last node_peers_pollfds, for dispatch */
    struct pollfd *last_fds;
    size_t last_count;
};

/* Listens on `listen_addr` and sets up (lazy) connections to `peers` (which must not include
 * self). 0, or -1 with `error` filled. */
int node_peers_init(struct node_peers *net, uint32_t self_id, const struct node_addr *listen_addr,
                    const struct node_peer *peers, size_t peer_count, node_frame_fn on_frame,
                    void *on_frame_arg, char *error, size_t error_len);
void node_peers_close(struct node_peers *net);

/* Queues one encoded frame for peer `to`; drops it (counted) if the peer is unknown, down past
 * its queue, or the queue is full. */
void node_peers_send(struct node_peers *net, uint32_t to, const uint8_t *frame, size_t len,
                     uint64_t now_ms);

/* Fills up to `cap` pollfds for the next poll() and returns how many it used. */
size_t node_peers_pollfds(struct node_peers *net, struct pollfd *fds, size_t cap, uint64_t now_ms);

/* Handles the poll() results for the fds node_peers_pollfds returned: accepts, connects, reads
 * (calling on_frame per complete frame) and writes. */
void node_peers_dispatch(struct node_peers *net, uint64_t now_ms);

#endif
