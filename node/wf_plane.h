/* The node's workflow plane: the leader's coordinator driver and its connected workers. */
#ifndef FLOWRAFT_NODE_WF_PLANE_H
#define FLOWRAFT_NODE_WF_PLANE_H

#include "node/clients.h"
#include "workflows/wf_command.h"
#include "workflows/wf_def.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Coordination runs on the leader only (G3), and only once it has applied the no-op of its own
 * term (Raft §8), with a failover grace period before any lease expires. Every tick it asks
 * wf_coordinate what to propose for the workers connected to it (WORKER id) that hold no attempt
 * (wf_workers_idle), and proposes that. When a start_attempt applies with WF_OK on the leader,
 * the assignment goes to the worker's connection as a TASK line. Workers report back with DONE,
 * FAIL and EXTEND, which the leader stamps and proposes; fencing in the state machine refuses
 * stale reports. Followers keep no coordinator state and redirect workers to the leader.
 */

#define NODE_WORKERS_MAX      64u  /* workers connected to one leader */
#define NODE_WF_PROPOSALS_MAX 256u /* the coordinator's proposals awaiting apply */
#define NODE_WF_BATCH_MAX     32u  /* commands one coordinator call may return */

struct node_worker {
    bool used;
    uint32_t id; /* the worker's id, named by start_attempt */
    struct node_client_ref conn;
};

struct node_wf_proposal {
    uint64_t index;
    uint64_t term;
    struct wf_command command;
};

struct node_wf {
    bool ready;              /* leader, and its own term's no-op is applied */
    uint64_t term;           /* the term `ready` is about */
    uint64_t grace_until_ms; /* no lease expires before this */
    struct node_wf_proposal proposals[NODE_WF_PROPOSALS_MAX];
    uint32_t proposal_count;
    struct node_worker workers[NODE_WORKERS_MAX];
    struct wf_command batch[NODE_WF_BATCH_MAX];
    struct wf_command in_flight[NODE_WF_PROPOSALS_MAX];
    struct wf_def *def; /* scratch for SUBMIT (owned; large) */
    char *text;         /* scratch for SHOW and LIST replies (owned) */
};

#endif
