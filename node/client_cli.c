/* A small blocking client for the node's line protocol, used by people and by the e2e test. */
#include "node/client_cli.h"

#include "node/buf.h"
#include "node/conn.h"
#include "node/proto.h"
#include "node/sock.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Sends `request` (a line with its '\n') to `addr`, following redirects; prints the reply.
 * Returns 0 (OK/NOT_FOUND/MISMATCH), 1 (ERR) or 2 (connection trouble). */
static int client_request(struct node_addr *addr, const char *request, size_t len)
{
    static char line[NODE_PROTO_LINE_BYTES_MAX];
    const int timeout = (int)NODE_CLIENT_TIMEOUT_MS;
    for (uint32_t hops = 0; hops <= NODE_CLIENT_REDIRECTS_MAX; hops++) {
        struct node_conn conn;
        char error[NODE_ERROR_BYTES_MAX];
        if (node_conn_open(&conn, addr, timeout, error, sizeof(error)) != 0) {
            fprintf(stderr, "flowraft-node client: %s\n", error);
            return 2;
        }
        int rc = 2;
        if (node_conn_send(&conn, request, len, timeout) != 0 ||
            node_conn_read_line(&conn, line, sizeof(line), timeout) != 0) {
            fprintf(stderr, "flowraft-node client: no reply from %s:%u\n", addr->host,
                    (unsigned)addr->port);
            goto out_close;
        }
        if (strncmp(line, "REDIRECT ", 9) == 0) {
            const char *space = strchr(line + 9, ' ');
            if (space == NULL || node_addr_parse(space + 1, addr, error, sizeof(error)) != 0) {
                fprintf(stderr, "flowraft-node client: bad redirect '%s'\n", line);
                goto out_close;
            }
            node_conn_close(&conn);
            continue;
        }
        printf("%s\n", line);
        rc = strncmp(line, "ERR", 3) == 0 ? 1 : 0;
        int multi = strcmp(line, "BEGIN") == 0;
        for (int lines = 0; multi && lines < 1000000; lines++) {
            if (node_conn_read_line(&conn, line, sizeof(line), timeout) != 0) {
                rc = 2;
                break;
            }
            printf("%s\n", line);
            if (strcmp(line, "END") == 0) {
                break;
            }
        }
    out_close:
        node_conn_close(&conn);
        return rc;
    }
    fprintf(stderr, "flowraft-node client: more than %u redirects\n", NODE_CLIENT_REDIRECTS_MAX);
    return 2;
}

/* Joins words into one request line, quoting the words that need it (SUBMIT's argument is raw
 * JSON: it is passed as it is). */
static int client_join(int count, char **words, struct node_buf *out)
{
    int raw = strcasecmp(words[0], "SUBMIT") == 0;
    for (int i = 0; i < count; i++) {
        const char *w = words[i];
        int bare = w[0] != '\0' && i == 0;
        for (const char *c = w; bare && *c != '\0'; c++) {
            bare = (unsigned char)*c > 0x20 && *c != '"' && (unsigned char)*c < 0x7f;
        }
        if (i > 0 && node_buf_append(out, " ", 1) != 0) {
            return -1;
        }
        int as_is = bare || (raw && i > 0 && strchr(w, '\n') == NULL);
        int rc = as_is ? node_buf_append(out, w, strlen(w)) : node_proto_quote(out, w, strlen(w));
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
