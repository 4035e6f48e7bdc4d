/* The node process: one replica driven by real time, peer sockets and client connections. */
#ifndef FLOWRAFT_NODE_SERVER_H
#define FLOWRAFT_NODE_SERVER_H

#include "node/clients.h"
#include "node/config.h"
#include "node/peers.h"
#include "node/proto.h"
#include "node/wf_plane.h"
#include "sim/replica.h"
#include "storage/fs.h"

#include <signal.h>
#include <stdint.h>

/*
 * The event loop: poll() on peer and client sockets until the next tick is due; step the replica
 * with every tick, received frame and client proposal; then one group commit (replica_sync: an
 * fsync for everything staged in this iteration) before the messages waiting for it are sent;
 * then replies for applied entries go out. A storage failure closes the replica and reopens it
 * from disk (recovery through storage/store); a second failure stops the node.
 */

#define NODE_PENDING_MAX        4096u  /* client proposals awaiting apply */
#define NODE_PENDING_TIMEOUT_MS 10000u /* a proposal unanswered this long: outcome unknown */

enum node_pending_kind {
    NODE_PENDING_KV, /* answered with the KV result */
    NODE_PENDING_WF, /* answered with the workflow result */
};

/* A client proposal that is waiting to be applied: its reply goes to `client`. */
struct node_pending {
    int used;
    enum node_pending_kind kind;
    struct node_client_ref client;
    uint64_t index;
    uint64_t term;
    uint64_t deadline_ms;
};

struct node_server {
    struct node_config config;
    struct fs fs;
    struct replica *replica; /* NULL only while reopening */
    struct node_peers peers;
    struct node_clients clients;
    struct node_pending pending[NODE_PENDING_MAX];
    struct node_wf wf;
    struct node_proto_request *request; /* scratch for parsing one line */
    uint64_t now_ms;
    uint64_t next_tick_ms;
    uint32_t reopens;
    enum raft_role role; /* last role reported, for log lines */
    uint64_t term;
    volatile sig_atomic_t *stop;
};

/* Opens the storage (recovering it), listens on the peer and client addresses. 0, or -1 with
 * `error` filled. */
int node_server_open(struct node_server *server, const struct node_config *config,
                     volatile sig_atomic_t *stop, char *error, size_t error_len);
/* Runs until *stop is set or the replica fails twice in a row. Returns 0 or -1. */
int node_server_run(struct node_server *server);
void node_server_close(struct node_server *server);

#endif
