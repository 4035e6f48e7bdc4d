/* Client connections: line framing over non-blocking sockets with bounded queues. */
#include "node/clients.h"

#include "node/proto.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

int node_clients_init(struct node_clients *clients, const struct node_addr *addr,
                      node_line_fn on_line, node_close_fn on_close, void *arg, char *error,
                      size_t error_len)
{
    assert(clients != NULL);
    assert(on_line != NULL);
    memset(clients, 0, sizeof(*clients));
    for (size_t i = 0; i < NODE_CLIENTS_MAX; i++) {
        clients->conns[i].fd = -1;
    }
    clients->on_line = on_line;
    clients->on_close = on_close;
    clients->arg = arg;
    clients->listen_fd = node_sock_listen(addr, error, error_len);
    return clients->listen_fd < 0 ? -1 : 0;
}

static void client_close(struct node_clients *clients, uint32_t slot)
{
    struct node_client *c = &clients->conns[slot];
    assert(c->fd >= 0);
    if (clients->on_close != NULL) {
        clients->on_close(clients->arg, (struct node_client_ref){ slot, c->generation });
    }
    close(c->fd);
    c->fd = -1;
    c->closing = 0;
    c->user = NULL;
    c->generation++;
    node_buf_free(&c->in);
    node_buf_free(&c->out);
}

void node_clients_close(struct node_clients *clients)
{
    assert(clients != NULL);
    for (uint32_t i = 0; i < NODE_CLIENTS_MAX; i++) {
        if (clients->conns[i].fd >= 0) {
            client_close(clients, i);
        }
    }
    if (clients->listen_fd >= 0) {
        close(clients->listen_fd);
    }
    clients->listen_fd = -1;
}

struct node_client *node_clients_get(struct node_clients *clients, struct node_client_ref ref)
{
    assert(clients != NULL);
    assert(ref.slot < NODE_CLIENTS_MAX);
    struct node_client *c = &clients->conns[ref.slot];
    if (c->fd < 0 || c->generation != ref.generation) {
        return NULL;
    }
    return c;
}

struct node_buf *node_clients_out(struct node_clients *clients, struct node_client_ref ref)
{
    struct node_client *c = node_clients_get(clients, ref);
    return c == NULL ? NULL : &c->out;
}

size_t node_clients_pollfds(struct node_clients *clients, struct pollfd *fds, size_t cap)
{
    assert(clients != NULL);
    assert(cap >= NODE_CLIENTS_POLLFDS_MAX);
    size_t n = 0;
    fds[n++] = (struct pollfd){ .fd = clients->listen_fd, .events = POLLIN };
    for (size_t i = 0; i < NODE_CLIENTS_MAX; i++) {
        struct node_client *c = &clients->conns[i];
        if (c->fd < 0) {
            continue;
        }
        short events = c->closing ? 0 : POLLIN;
        if (c->out.len > 0) {
            events |= POLLOUT;
        }
        fds[n++] = (struct pollfd){ .fd = c->fd, .events = events };
    }
    clients->last_fds = fds;
    clients->last_count = n;
    return n;
}

static void clients_accept(struct node_clients *clients)
{
    for (size_t tries = 0; tries < NODE_CLIENTS_MAX; tries++) {
        int fd = node_sock_accept(clients->listen_fd);
        if (fd < 0) {
            return;
        }
        uint32_t slot = NODE_CLIENTS_MAX;
        for (uint32_t i = 0; i < NODE_CLIENTS_MAX && slot == NODE_CLIENTS_MAX; i++) {
            if (clients->conns[i].fd < 0) {
                slot = i;
            }
        }
        if (slot == NODE_CLIENTS_MAX) {
            static const char busy[] = "ERR too many connections\n";
            (void)!write(fd, busy, sizeof(busy) - 1);
            close(fd);
            clients->refused++;
            continue;
        }
        struct node_client *c = &clients->conns[slot];
        c->fd = fd;
        c->closing = 0;
        node_buf_init(&c->in, NODE_PROTO_LINE_BYTES_MAX + 2);
        node_buf_init(&c->out, NODE_CLIENT_OUT_BYTES_MAX);
        clients->accepted++;
    }
}

/* Hands complete lines to on_line; a line longer than the maximum closes the connection. */
static void client_lines(struct node_clients *clients, uint32_t slot)
{
    struct node_client *c = &clients->conns[slot];
    struct node_client_ref ref = { slot, c->generation };
    for (uint32_t lines = 0; lines < NODE_CLIENT_LINES_PER_POLL; lines++) {
        const char *start = (const char *)node_buf_bytes(&c->in);
        const char *newline = c->in.len > 0 ? memchr(start, '\n', c->in.len) : NULL;
        if (newline == NULL) {
            if (c->in.len > NODE_PROTO_LINE_BYTES_MAX) {
                (void)node_proto_printf(&c->out, "ERR request line longer than %u bytes",
                                        NODE_PROTO_LINE_BYTES_MAX);
                c->closing = 1;
            }
            return;
        }
        size_t len = (size_t)(newline - start);
        clients->on_line(clients->arg, ref, start, len);
        if (node_clients_get(clients, ref) == NULL) {
            return; /* the handler closed it */
        }
        node_buf_consume(&c->in, len + 1);
    }
}

static void client_handle(struct node_clients *clients, uint32_t slot, short revents)
{
    struct node_client *c = &clients->conns[slot];
    if ((revents & POLLOUT) && c->out.len > 0) {
        if (node_buf_write_fd(&c->out, c->fd) < 0 && errno != EAGAIN && errno != EINTR) {
            client_close(clients, slot);
            return;
        }
    }
    if (c->closing && c->out.len == 0) {
        client_close(clients, slot);
        return;
    }
    if (!c->closing && (revents & (POLLIN | POLLERR | POLLHUP))) {
        long n = node_buf_read_fd(&c->in, c->fd);
        if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
            client_close(clients, slot);
            return;
        }
        client_lines(clients, slot);
    } else if (revents & (POLLERR | POLLHUP)) {
        client_close(clients, slot);
    }
}

void node_clients_dispatch(struct node_clients *clients)
{
    assert(clients != NULL);
    for (size_t k = 0; k < clients->last_count; k++) {
        const struct pollfd *p = &clients->last_fds[k];
        if (p->revents == 0) {
            continue;
        }
        if (p->fd == clients->listen_fd) {
            clients_accept(clients);
            continue;
        }
        for (uint32_t i = 0; i < NODE_CLIENTS_MAX; i++) {
            if (clients->conns[i].fd == p->fd) {
                client_handle(clients, i, p->revents);
                break;
            }
        }
    }
    clients->last_count = 0;
}

void node_clients_flush(struct node_clients *clients)
{
    assert(clients != NULL);
    for (uint32_t i = 0; i < NODE_CLIENTS_MAX; i++) {
        struct node_client *c = &clients->conns[i];
        if (c->fd < 0 || c->out.len == 0) {
            continue;
        }
        if (node_buf_write_fd(&c->out, c->fd) < 0 && errno != EAGAIN && errno != EINTR) {
            client_close(clients, i);
        } else if (c->closing && c->out.len == 0) {
            client_close(clients, i);
        }
    }
}
