/* flowraft-node: runs one FlowRaft server (the simulator's exact core) on real sockets and files.
 */
#include "node/client_cli.h"
#include "node/config.h"
#include "node/server.h"
#include "node/worker_cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#ifndef FLOWRAFT_VERSION
#define FLOWRAFT_VERSION "unknown"
#endif

static volatile sig_atomic_t node_stop;

static void node_on_signal(int sig)
{
    (void)sig;
    node_stop = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: flowraft-node --config FILE\n"
            "       flowraft-node client HOST:PORT [COMMAND [ARG...]]\n"
            "       flowraft-node --help | --version\n\n"
            "Runs one FlowRaft server: the Raft core, WAL storage and the KV and workflow\n"
            "state machines, on real sockets and files. See node/README.md for the config\n"
            "file and the client protocol (try: flowraft-node client HOST:CLIENT_PORT HELP).\n\n"
            "exit codes: 0 stopped by a signal, 1 the node failed, 2 usage or config error\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    if (argc >= 2 && strcmp(argv[1], "client") == 0) {
        return node_client_main(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "worker") == 0) {
        return node_worker_main(argc - 1, argv + 1);
    }
    const char *config_path = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("flowraft-node %s\n", FLOWRAFT_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (config_path == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    static struct node_config config;
    char error[NODE_CONFIG_ERROR_BYTES];
    if (node_config_load(config_path, &config, error, sizeof(error)) != 0) {
        fprintf(stderr, "flowraft-node: %s\n", error);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = node_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    static struct node_server server;
    if (node_server_open(&server, &config, &node_stop, error, sizeof(error)) != 0) {
        fprintf(stderr, "flowraft-node: %s\n", error);
        return 1;
    }
    int rc = node_server_run(&server);
    node_server_close(&server);
    return rc == 0 ? 0 : 1;
}
