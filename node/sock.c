/* Non-blocking TCP socket helpers: address parsing, listen, connect, accept. */
#include "node/sock.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int node_addr_parse(const char *text, struct node_addr *addr, char *error, size_t error_len)
{
    assert(text != NULL);
    assert(addr != NULL);
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text) {
        snprintf(error, error_len, "'%s': expected host:port", text);
        return -1;
    }
    size_t host_len = (size_t)(colon - text);
    if (host_len >= sizeof(addr->host)) {
        snprintf(error, error_len, "'%s': host longer than %d bytes", text,
                 NODE_HOST_BYTES_MAX - 1);
        return -1;
    }
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 || port > 65535) {
        snprintf(error, error_len, "'%s': port must be a number in 1..65535", text);
        return -1;
    }
    memcpy(addr->host, text, host_len);
    addr->host[host_len] = '\0';
    addr->port = (uint16_t)port;
    return 0;
}

static int sock_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) {
        return -1;
    }
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Resolves `addr` to its first IPv4/IPv6 TCP address; the caller frees the list. */
static struct addrinfo *sock_resolve(const struct node_addr *addr, int passive, char *error,
                                     size_t error_len)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)addr->port);
    struct addrinfo *result = NULL;
    int rc = getaddrinfo(addr->host, port, &hints, &result);
    if (rc != 0) {
        snprintf(error, error_len, "%s:%u: %s", addr->host, (unsigned)addr->port, gai_strerror(rc));
        return NULL;
    }
    return result;
}

int node_sock_listen(const struct node_addr *addr, char *error, size_t error_len)
{
    assert(addr != NULL);
    struct addrinfo *ai = sock_resolve(addr, 1, error, error_len);
    if (ai == NULL) {
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
        goto out_error;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0 ||
        sock_nonblock(fd) != 0) {
        goto out_error;
    }
    freeaddrinfo(ai);
    return fd;

out_error:
    snprintf(error, error_len, "listen on %s:%u: %s", addr->host, (unsigned)addr->port,
             strerror(errno));
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    return -1;
}

int node_sock_connect_start(const struct node_addr *addr, char *error, size_t error_len)
{
    assert(addr != NULL);
    struct addrinfo *ai = sock_resolve(addr, 0, error, error_len);
    if (ai == NULL) {
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || sock_nonblock(fd) != 0) {
        goto out_error;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        goto out_error;
    }
    freeaddrinfo(ai);
    return fd;

out_error:
    snprintf(error, error_len, "connect to %s:%u: %s", addr->host, (unsigned)addr->port,
             strerror(errno));
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    return -1;
}

int node_sock_connect_result(int fd)
{
    assert(fd >= 0);
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return errno;
    }
    return err;
}

int node_sock_accept(int listen_fd)
{
    assert(listen_fd >= 0);
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0) {
        return -1;
    }
    if (sock_nonblock(fd) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}
