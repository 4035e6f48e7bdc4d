/* Linearizable reads through ReadIndex (§8) in the simulator: a leader's pending reads, served
 * from its KV state once it has applied up to each read's index, never through the log. */
#ifndef FLOWRAFT_SIM_READS_H
#define FLOWRAFT_SIM_READS_H

#include "core/raft.h"

#include <stdint.h>

/*
 * A client's get reaching a node that believes it leads becomes RAFT_EVENT_READ_INDEX with a
 * fresh request id. The core answers later in an update's `reads`: RAFT_OK with an index once
 * it has committed an entry of its term and a quorum acknowledged a heartbeat round started
 * after the read arrived (so no newer leader existed when it arrived); the node then replies
 * with the value its KV store holds once it has applied that index (reads see every write
 * committed before them, and only committed writes). RAFT_ERR_NOT_LEADER means leadership was
 * lost first: the client is redirected. A crash drops the pending reads (the client times out
 * and retries elsewhere). Lease reads (serving without the heartbeat round, trusting clocks) are
 * not offered: the simulator's nodes have no bounded clock drift to rely on.
 */

#define SIM_READS_PENDING_MAX 256u /* reads a node waits on at once; beyond: the client retries */

struct sim_read {
    uint64_t request_id;
    uint64_t index; /* valid once confirmed */
    uint64_t op_seq;
    uint64_t started_us;
    uint32_t client;
    int confirmed; /* the core answered RAFT_OK */
};

/* One node's pending reads (one incarnation). */
struct sim_reads {
    struct sim_read pending[SIM_READS_PENDING_MAX];
    uint32_t count; /* invariant: count <= SIM_READS_PENDING_MAX */
    uint64_t next_request_id;
};

/* Run-wide counters. */
struct sim_read_stats {
    uint64_t requested;  /* READ_INDEX steps accepted by a leader */
    uint64_t served;     /* answered from the KV state after the index was applied */
    uint64_t not_leader; /* leadership lost before the read was confirmed */
    uint64_t refused;    /* the core refused it (not the leader any more, too many pending) */
    uint64_t waited_us;  /* total time from the request to its answer, for the average */
};

struct sim_world;
struct sim_node;
struct sim_reply;

/* A get for `client` reached `n`, which believes it leads: starts a ReadIndex read. Returns 1 if
 * it handled the request (started, or answered with a redirect or a retry), 0 if the get must
 * go through the log (the scenario says `reads = log`). */
int sim_reads_request(struct sim_world *w, struct sim_node *n, uint32_t client, uint64_t op_seq);
/* Read outcomes in an update of `n` (before its committed entries are applied). */
void sim_reads_on_update(struct sim_world *w, struct sim_node *n, const struct raft_update *u);
/* `n` has applied up to `applied` (an entry, or a restored snapshot): serves what became due. */
void sim_reads_on_applied(struct sim_world *w, struct sim_node *n, uint64_t applied);
/* Fills `reply` with what key k<key_number> holds in `n`'s KV state now (no checks at all: the
 * caller decides the read may be served). */
void sim_reads_local(const struct sim_node *n, uint32_t key_number, struct sim_reply *reply);
/* `n` crashed or stopped: its pending reads are lost. */
void sim_reads_reset(struct sim_node *n);

#endif
