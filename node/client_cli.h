/* `flowraft-node client`: send requests to a cluster, following leader redirects. */
#ifndef FLOWRAFT_NODE_CLIENT_CLI_H
#define FLOWRAFT_NODE_CLIENT_CLI_H

#define NODE_CLIENT_REDIRECTS_MAX 8u
#define NODE_CLIENT_TIMEOUT_MS    15000u

/* argv: ADDRESS [WORD...]. With words, sends them as one request (each word quoted when it needs
 * to be) and prints the reply; without, sends each line of standard input. Exit code 0 when every
 * reply was OK, NOT_FOUND or MISMATCH, 1 when one was ERR, 2 on usage or connection errors. */
int node_client_main(int argc, char **argv);

#endif
