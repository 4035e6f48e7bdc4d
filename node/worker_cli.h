/* `flowraft-node worker`: a worker process that runs tasks the leader assigns and reports back. */
#ifndef FLOWRAFT_NODE_WORKER_CLI_H
#define FLOWRAFT_NODE_WORKER_CLI_H

#define NODE_WORKER_ADDRS_MAX    32u
#define NODE_WORKER_RETRY_MS     200 /* pause between connection attempts */
#define NODE_WORKER_REPLY_MS     15000
#define NODE_WORKER_REPORT_TRIES 100 /* connection attempts to deliver one report */

/*
 * argv: --id N [--tasks-max K] HOST:PORT... Connects to a node (following REDIRECTs to the
 * leader; cycling through the addresses when one is down), registers as worker N, then runs each
 * TASK it receives, one at a time, and reports DONE, FAIL or EXTEND. Task kinds it knows:
 *   noop                    completes at once
 *   sleep  {"ms": N}        completes after N ms, extending its lease while it sleeps
 *   fail   {"error": KIND}  fails with error kind KIND (default "failed")
 *   exec   {"argv": [...]}  runs a program (no shell) with FLOWRAFT_IDEMPOTENCY_KEY and
 *                           FLOWRAFT_ATTEMPT in its environment; exit 0 completes, otherwise
 *                           fails with error kind exit_STATUS (or signal_N)
 * Any other kind fails with error kind unknown_kind. Exit: 0 after --tasks-max tasks (0: run
 * until killed), 2 on usage errors.
 */
int node_worker_main(int argc, char **argv);

#endif
