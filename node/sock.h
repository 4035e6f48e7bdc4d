/* Non-blocking TCP socket helpers for the node binary: listen, connect, and address parsing. */
#ifndef FLOWRAFT_NODE_SOCK_H
#define FLOWRAFT_NODE_SOCK_H

#include <stddef.h>
#include <stdint.h>

#define NODE_HOST_BYTES_MAX  128 /* host part of an address, including the NUL */
#define NODE_ERROR_BYTES_MAX 256

/* A "host:port" address as written in a node config file. */
struct node_addr {
    char host[NODE_HOST_BYTES_MAX];
    uint16_t port; /* invariant: nonzero once parsed */
};

/* Parses "host:port" (host may be a name or an IPv4 address). 0, or -1 with `error` filled. */
int node_addr_parse(const char *text, struct node_addr *addr, char *error, size_t error_len);

/* Opens a non-blocking listening socket bound to `addr` (SO_REUSEADDR). Returns the fd, or -1
 * with `error` filled (naming the address and the system error). */
int node_sock_listen(const struct node_addr *addr, char *error, size_t error_len);

/* Starts a non-blocking connect to `addr`. Returns the fd (the connection completes when the fd
 * is writable: check with node_sock_connect_result), or -1 with `error` filled. */
int node_sock_connect_start(const struct node_addr *addr, char *error, size_t error_len);

/* After a connecting fd became writable: 0 if connected, else the errno of the failure. */
int node_sock_connect_result(int fd);

/* Accepts one pending connection as a non-blocking fd; -1 when none is pending or on error. */
int node_sock_accept(int listen_fd);

#endif
