/* The node's configuration file: its id, data directory, cluster addresses and timings (INI). */
#ifndef FLOWRAFT_NODE_CONFIG_H
#define FLOWRAFT_NODE_CONFIG_H

#include "node/sock.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Example (node/README.md documents every key):
 *
 *   [node]
 *   id = 1                     ; this node, one of the ids below
 *   data_dir = data/n1         ; WAL, hard state and snapshots (created if missing)
 *   tick_ms = 10               ; one Raft tick of real time
 *
 *   [peers]                    ; id = host:port where that node listens for peers
 *   1 = 127.0.0.1:7001
 *   2 = 127.0.0.1:7002
 *   3 = 127.0.0.1:7003
 *
 *   [clients]                  ; id = host:port where that node listens for clients
 *   1 = 127.0.0.1:8001
 *   ...
 *
 *   [raft]                     ; optional
 *   election_timeout_ticks_min = 15
 *   election_timeout_ticks_max = 30
 *   heartbeat_ticks = 3
 *
 *   [workflows]                ; optional
 *   failover_grace_ms = 5000   ; running attempts a new leader leaves alone before expiring
 *   workflows_max = 1024       ; runs kept; the SAME value on every node (it decides results)
 */

#define NODE_CONFIG_NODES_MAX   32u
#define NODE_CONFIG_PATH_BYTES  256u
#define NODE_CONFIG_ERROR_BYTES 512u

struct node_config_member {
    uint32_t id;
    struct node_addr peer;   /* where it listens for peers */
    struct node_addr client; /* where it listens for clients */
    int has_peer;
    int has_client;
};

struct node_config {
    uint32_t id;
    char data_dir[NODE_CONFIG_PATH_BYTES];
    uint32_t tick_ms;
    uint32_t election_timeout_ticks_min;
    uint32_t election_timeout_ticks_max;
    uint32_t heartbeat_ticks;
    uint64_t failover_grace_ms;
    uint32_t workflows_max; /* must be the same on every node of a cluster */
    struct node_config_member members[NODE_CONFIG_NODES_MAX];
    uint32_t member_count; /* invariant: every member has a peer and a client address */
};

/* Loads and validates `path`. 0, or -1 with `error` naming the file, line and key. */
int node_config_load(const char *path, struct node_config *config, char *error, size_t error_len);

/* The member with `id`, or NULL. */
const struct node_config_member *node_config_member(const struct node_config *config, uint32_t id);

#endif
