/* Peer transport: lazy outbound connections with backoff, inbound frame reassembly, bounded queues.
 */
#include "node/peers.h"

#include "core/raft_codec.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int node_peers_init(struct node_peers *net, uint32_t self_id, const struct node_addr *listen_addr,
                    const struct node_peer *peers, size_t peer_count, node_frame_fn on_frame,
                    void *on_frame_arg, char *error, size_t error_len)
{
    assert(net != NULL);
    assert(on_frame != NULL);
    if (peer_count > NODE_PEERS_MAX) {
        snprintf(error, error_len, "%zu peers: at most %u", peer_count, NODE_PEERS_MAX);
        return -1;
    }
    memset(net, 0, sizeof(*net));
    net->self_id = self_id;
    net->on_frame = on_frame;
    net->on_frame_arg = on_frame_arg;
    for (size_t i = 0; i < peer_count; i++) {
        assert(peers[i].id != 0);
        assert(peers[i].id != self_id);
        net->peers[i].id = peers[i].id;
        net->peers[i].addr = peers[i].addr;
        net->peers[i].fd = -1;
        net->peers[i].backoff_ms = NODE_RECONNECT_MS_MIN;
        node_buf_init(&net->peers[i].out, NODE_PEER_QUEUE_BYTES);
    }
    net->peer_count = peer_count;
    for (size_t i = 0; i < NODE_INBOUND_MAX; i++) {
        net->inbound[i].fd = -1;
    }
    net->listen_fd = node_sock_listen(listen_addr, error, error_len);
    if (net->listen_fd < 0) {
        node_peers_close(net);
        return -1;
    }
    return 0;
}

static void peer_disconnect(struct node_peer *peer, uint64_t now_ms)
{
    if (peer->fd >= 0) {
        close(peer->fd);
    }
    peer->fd = -1;
    peer->connecting = 0;
    peer->out.len = 0; /* what was queued for a broken connection is lost, as on a network */
    peer->out.head = 0;
    peer->reconnect_at_ms = now_ms + peer->backoff_ms;
    peer->backoff_ms =
        peer->backoff_ms * 2 > NODE_RECONNECT_MS_MAX ? NODE_RECONNECT_MS_MAX : peer->backoff_ms * 2;
}

static void inbound_close(struct node_peers *net, struct node_inbound *conn)
{
    assert(conn->fd >= 0);
    close(conn->fd);
    conn->fd = -1;
    node_buf_free(&conn->in);
    (void)net;
}

void node_peers_close(struct node_peers *net)
{
    assert(net != NULL);
    for (size_t i = 0; i < net->peer_count; i++) {
        if (net->peers[i].fd >= 0) {
            close(net->peers[i].fd);
            net->peers[i].fd = -1;
        }
        node_buf_free(&net->peers[i].out);
    }
    for (size_t i = 0; i < NODE_INBOUND_MAX; i++) {
        if (net->inbound[i].fd >= 0) {
            inbound_close(net, &net->inbound[i]);
        }
    }
    if (net->listen_fd >= 0) {
        close(net->listen_fd);
    }
    net->listen_fd = -1;
}

static struct node_peer *peer_find(struct node_peers *net, uint32_t id)
{
    for (size_t i = 0; i < net->peer_count; i++) {
        if (net->peers[i].id == id) {
            return &net->peers[i];
        }
    }
    return NULL;
}

void node_peers_send(struct node_peers *net, uint32_t to, const uint8_t *frame, size_t len,
                     uint64_t now_ms)
{
    assert(net != NULL);
    assert(frame != NULL);
    (void)now_ms;
    struct node_peer *peer = peer_find(net, to);
    if (peer == NULL || peer->fd < 0 || node_buf_append(&peer->out, frame, len) != 0) {
        net->frames_dropped++;
        return;
    }
    net->frames_sent++;
}

static void peer_try_connect(struct node_peer *peer, uint64_t now_ms)
{
    if (peer->fd >= 0 || now_ms < peer->reconnect_at_ms) {
        return;
    }
    char error[NODE_ERROR_BYTES_MAX];
    peer->fd = node_sock_connect_start(&peer->addr, error, sizeof(error));
    if (peer->fd < 0) {
        peer_disconnect(peer, now_ms);
        return;
    }
    peer->connecting = 1;
}

size_t node_peers_pollfds(struct node_peers *net, struct pollfd *fds, size_t cap, uint64_t now_ms)
{
    assert(net != NULL);
    assert(cap >= NODE_PEERS_POLLFDS_MAX);
    size_t n = 0;
    fds[n++] = (struct pollfd){ .fd = net->listen_fd, .events = POLLIN };
    for (size_t i = 0; i < net->peer_count; i++) {
        struct node_peer *peer = &net->peers[i];
        peer_try_connect(peer, now_ms);
        if (peer->fd < 0) {
            continue;
        }
        short events = POLLIN; /* a peer never writes on our outbound link: POLLIN sees closes */
        if (peer->connecting || peer->out.len > 0) {
            events |= POLLOUT;
        }
        fds[n++] = (struct pollfd){ .fd = peer->fd, .events = events };
    }
    for (size_t i = 0; i < NODE_INBOUND_MAX; i++) {
        if (net->inbound[i].fd >= 0) {
            fds[n++] = (struct pollfd){ .fd = net->inbound[i].fd, .events = POLLIN };
        }
    }
    assert(n <= cap);
    net->last_fds = fds;
    net->last_count = n;
    return n;
}

static void listen_accept(struct node_peers *net)
{
    for (size_t tries = 0; tries < NODE_INBOUND_MAX; tries++) {
        int fd = node_sock_accept(net->listen_fd);
        if (fd < 0) {
            return;
        }
        struct node_inbound *slot = NULL;
        for (size_t i = 0; i < NODE_INBOUND_MAX && slot == NULL; i++) {
            if (net->inbound[i].fd < 0) {
                slot = &net->inbound[i];
            }
        }
        if (slot == NULL) {
            close(fd); /* full: the peer reconnects later */
            net->connections_reset++;
            continue;
        }
        slot->fd = fd;
        node_buf_init(&slot->in, RAFT_CODEC_FRAME_BYTES_MAX);
    }
}

static void peer_handle(struct node_peers *net, struct node_peer *peer, short revents,
                        uint64_t now_ms)
{
    if (peer->connecting && (revents & (POLLOUT | POLLERR | POLLHUP))) {
        if (node_sock_connect_result(peer->fd) != 0) {
            peer_disconnect(peer, now_ms);
            return;
        }
        peer->connecting = 0;
        peer->backoff_ms = NODE_RECONNECT_MS_MIN;
    }
    if (revents & (POLLIN | POLLERR | POLLHUP)) {
        uint8_t scratch[256];
        ssize_t n = read(peer->fd, scratch, sizeof(scratch));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            net->connections_reset++;
            peer_disconnect(peer, now_ms);
            return;
        }
    }
    if (!peer->connecting && peer->out.len > 0) {
        if (node_buf_write_fd(&peer->out, peer->fd) < 0 && errno != EAGAIN && errno != EINTR) {
            net->connections_reset++;
            peer_disconnect(peer, now_ms);
        }
    }
}

/* Delivers every complete frame at the front of the connection's queue. 0, or -1 on a frame
 * header that can never be valid. */
static int inbound_deliver(struct node_peers *net, struct node_inbound *conn)
{
    for (size_t frames = 0; frames < 100000; frames++) {
        if (conn->in.len < RAFT_CODEC_HEADER_BYTES) {
            return 0;
        }
        size_t frame_len = 0;
        const char *reason = NULL;
        if (raft_frame_size(node_buf_bytes(&conn->in), conn->in.len, &frame_len, &reason) !=
            RAFT_OK) {
            return -1;
        }
        if (conn->in.len < frame_len) {
            return 0;
        }
        net->frames_received++;
        net->on_frame(net->on_frame_arg, node_buf_bytes(&conn->in), frame_len);
        node_buf_consume(&conn->in, frame_len);
    }
    return 0;
}

static void inbound_handle(struct node_peers *net, struct node_inbound *conn, short revents)
{
    if (!(revents & (POLLIN | POLLERR | POLLHUP))) {
        return;
    }
    long n = node_buf_read_fd(&conn->in, conn->fd);
    if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0 || inbound_deliver(net, conn) != 0) {
        if (n != 0) {
            net->connections_reset++;
        }
        inbound_close(net, conn);
    }
}

void node_peers_dispatch(struct node_peers *net, uint64_t now_ms)
{
    assert(net != NULL);
    for (size_t k = 0; k < net->last_count; k++) {
        const struct pollfd *p = &net->last_fds[k];
        if (p->revents == 0) {
            continue;
        }
        if (p->fd == net->listen_fd) {
            listen_accept(net);
            continue;
        }
        for (size_t i = 0; i < net->peer_count; i++) {
            if (net->peers[i].fd == p->fd) {
                peer_handle(net, &net->peers[i], p->revents, now_ms);
                break;
            }
        }
        for (size_t i = 0; i < NODE_INBOUND_MAX; i++) {
            if (net->inbound[i].fd == p->fd) {
                inbound_handle(net, &net->inbound[i], p->revents);
                break;
            }
        }
    }
    net->last_count = 0;
}
