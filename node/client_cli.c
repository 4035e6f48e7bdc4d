/* A small blocking client for the node's line protocol, used by people and by the e2e test. */
#include "node/client_cli.h"

#include "node/buf.h"
#include "node/proto.h"
#include "node/sock.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Connects (blocking until connected or the timeout). fd, or -1 with a message on stderr. */
static int client_connect(const struct node_addr *addr)
{
    char error[NODE_ERROR_BYTES_MAX];
    int fd = node_sock_connect_start(addr, error, sizeof(error));
    if (fd < 0) {
        fprintf(stderr, "flowraft-node client: %s\n", error);
        return -1;
    }
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    if (poll(&p, 1, (int)NODE_CLIENT_TIMEOUT_MS) != 1 || node_sock_connect_result(fd) != 0) {
        fprintf(stderr, "flowraft-node client: cannot connect to %s:%u\n", addr->host,
                (unsigned)addr->port);
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one line into `line` (without '\n'). 0, or -1 on timeout or a closed connection. */
static int client_read_line(int fd, struct node_buf *in, char *line, size_t cap)
{
    for (int rounds = 0; rounds < 1000000; rounds++) {
        const char *start = (const char *)node_buf_bytes(in);
        const char *newline = in->len > 0 ? memchr(start, '\n', in->len) : NULL;
        if (newline != NULL) {
            size_t len = (size_t)(newline - start);
            size_t copy = len < cap - 1 ? len : cap - 1;
            memcpy(line, start, copy);
            line[copy] = '\0';
            node_buf_consume(in, len + 1);
            return 0;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)NODE_CLIENT_TIMEOUT_MS) != 1) {
            return -1;
        }
        long n = node_buf_read_fd(in, fd);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            return -1;
        }
    }
    return -1;
}

static int client_send_all(int fd, const char *data, size_t len)
{
    struct node_buf out;
    node_buf_init(&out, len + 1);
    int rc = node_buf_append(&out, data, len);
    for (int rounds = 0; rc == 0 && out.len > 0 && rounds < 1000000; rounds++) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, (int)NODE_CLIENT_TIMEOUT_MS) != 1 ||
            (node_buf_write_fd(&out, fd) < 0 && errno != EAGAIN && errno != EINTR)) {
            rc = -1;
        }
    }
    node_buf_free(&out);
    return rc;
}

/* Sends `request` (a line with its '\n') to `addr`, following redirects; prints the reply.
 * Returns 0 (OK/NOT_FOUND/MISMATCH), 1 (ERR) or 2 (connection trouble). */
static int client_request(struct node_addr *addr, const char *request, size_t len)
{
    static char line[NODE_PROTO_LINE_BYTES_MAX];
    for (uint32_t hops = 0; hops <= NODE_CLIENT_REDIRECTS_MAX; hops++) {
        int fd = client_connect(addr);
        if (fd < 0) {
            return 2;
        }
        struct node_buf in;
        node_buf_init(&in, NODE_PROTO_LINE_BYTES_MAX + 2);
        int rc = 2;
        if (client_send_all(fd, request, len) != 0 ||
            client_read_line(fd, &in, line, sizeof(line)) != 0) {
            fprintf(stderr, "flowraft-node client: no reply from %s:%u\n", addr->host,
                    (unsigned)addr->port);
            goto out_close;
        }
        if (strncmp(line, "REDIRECT ", 9) == 0) {
            const char *space = strchr(line + 9, ' ');
            char error[NODE_ERROR_BYTES_MAX];
            if (space == NULL || node_addr_parse(space + 1, addr, error, sizeof(error)) != 0) {
                fprintf(stderr, "flowraft-node client: bad redirect '%s'\n", line);
                goto out_close;
            }
            node_buf_free(&in);
            close(fd);
            continue;
        }
        printf("%s\n", line);
        rc = strncmp(line, "ERR", 3) == 0 ? 1 : 0;
        for (int lines = 0; strcmp(line, "BEGIN") == 0 && lines < 1000000; lines++) {
            if (client_read_line(fd, &in, line, sizeof(line)) != 0) {
                rc = 2;
                break;
            }
            printf("%s\n", line);
            if (strcmp(line, "END") == 0) {
                break;
            }
        }
    out_close:
        node_buf_free(&in);
        close(fd);
        return rc;
    }
    fprintf(stderr, "flowraft-node client: more than %u redirects\n", NODE_CLIENT_REDIRECTS_MAX);
    return 2;
}

/* Joins words into one request line, quoting the words that need it. */
static int client_join(int count, char **words, struct node_buf *out)
{
    for (int i = 0; i < count; i++) {
        const char *w = words[i];
        int bare = w[0] != '\0' && i == 0;
        for (const char *c = w; bare && *c != '\0'; c++) {
            bare = (unsigned char)*c > 0x20 && *c != '"' && (unsigned char)*c < 0x7f;
        }
        if (i > 0 && node_buf_append(out, " ", 1) != 0) {
            return -1;
        }
        int rc = bare ? node_buf_append(out, w, strlen(w)) : node_proto_quote(out, w, strlen(w));
        if (rc != 0) {
            return -1;
        }
    }
    return node_buf_append(out, "\n", 1);
}

int node_client_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: flowraft-node client HOST:PORT [COMMAND [ARG...]]\n"
                "Sends one request (or each line of standard input) to a node, following\n"
                "REDIRECTs to the leader. Arguments are quoted as needed: values may hold spaces.\n"
                "Exit: 0 answered, 1 the answer was ERR, 2 usage or connection error.\n");
        return argc < 2 ? 2 : 0;
    }
    struct node_addr addr;
    char error[NODE_ERROR_BYTES_MAX];
    if (node_addr_parse(argv[1], &addr, error, sizeof(error)) != 0) {
        fprintf(stderr, "flowraft-node client: %s\n", error);
        return 2;
    }
    struct node_buf request;
    node_buf_init(&request, NODE_PROTO_LINE_BYTES_MAX + 2);
    int worst = 0;
    if (argc > 2) {
        if (client_join(argc - 2, argv + 2, &request) != 0) {
            fprintf(stderr, "flowraft-node client: request longer than %u bytes\n",
                    NODE_PROTO_LINE_BYTES_MAX);
            worst = 2;
        } else {
            worst = client_request(&addr, (const char *)node_buf_bytes(&request), request.len);
        }
    } else {
        static char line[NODE_PROTO_LINE_BYTES_MAX + 2];
        for (uint64_t n = 0; fgets(line, sizeof(line), stdin) != NULL && n < UINT64_MAX; n++) {
            size_t len = strlen(line);
            if (len == 0 || line[len - 1] != '\n') {
                line[len++] = '\n';
            }
            int rc = client_request(&addr, line, len);
            worst = rc > worst ? rc : worst;
        }
    }
    node_buf_free(&request);
    return worst;
}
