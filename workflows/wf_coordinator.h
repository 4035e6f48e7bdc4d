/* The coordinator: a pure function from applied state to the commands the leader should propose. */
#ifndef FLOWRAFT_WORKFLOWS_WF_COORDINATOR_H
#define FLOWRAFT_WORKFLOWS_WF_COORDINATOR_H

#include "workflows/wf_command.h"
#include "workflows/wf_state.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Coordination is separate from execution and from the state machine (S3). Only the leader calls
 * wf_coordinate (G3), and it changes nothing: the state advances only when the proposed commands
 * commit and are applied on every replica, where apply re-checks everything (an expiry proposed
 * before an extension committed is refused as too early; a second start for the same attempt is
 * refused as stale). So the coordinator may be wrong about timing, never about safety.
 *
 * What it proposes, in this order, each list in canonical run order then task order:
 *  1. expire_lease for each open attempt whose deadline has passed, but never before
 *     grace_until_ms: a new leader grants running attempts a grace period so a failover does not
 *     retry everything (Nomad, dkron). Also for paused workflows.
 *  2. schedule_retry for each task whose retry backoff has elapsed (running workflows only).
 *  3. start_attempt for Ready tasks (running workflows only), one per free worker, in order.
 * Nothing at all unless leader_ready: the node leads and has applied the no-op of its own term,
 * so its applied state includes every entry committed by earlier leaders (Raft paper §8).
 */
struct wf_coord_input {
    uint64_t now_ms;         /* the leader's clock; also stamped on every proposed command */
    bool leader_ready;       /* leader, and its own term's no-op is applied */
    uint64_t grace_until_ms; /* no lease expires before this (set to became-ready time + grace) */
    const uint32_t *free_workers; /* ids of idle workers, in preference order (borrowed) */
    uint32_t free_worker_count;
    /* Commands proposed earlier and not applied yet (borrowed): the coordinator does not propose
     * the same (type, workflow, task, attempt) again. */
    const struct wf_command *in_flight;
    uint32_t in_flight_count;
};

struct wf_coord_output {
    struct wf_command *commands; /* caller's array of capacity `cap` */
    uint32_t cap;
    uint32_t count;       /* commands written, stamped with now_ms */
    bool truncated;       /* more were due than cap allowed; call again after these apply */
    uint64_t next_due_ms; /* earliest future time a lease expiry or retry becomes due
                             (UINT64_MAX if none): when to call again at the latest */
};

void wf_coordinate(const struct wf_state *state, const struct wf_coord_input *input,
                   struct wf_coord_output *output);

/*
 * The idle workers among `live` (the workers the leader can reach, in preference order): those
 * with no open attempt in the applied state and no start_attempt among `in_flight`. Writes them
 * to `idle` (capacity live_count) in the same order and returns how many; the result is what
 * wf_coord_input.free_workers wants. O(runs * tasks + in_flight) per call.
 */
uint32_t wf_workers_idle(const struct wf_state *state, const struct wf_command *in_flight,
                         uint32_t in_flight_count, const uint32_t *live, uint32_t live_count,
                         uint32_t *idle);

#endif
