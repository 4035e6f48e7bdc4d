/* Membership churn and leadership transfers in the simulator: adding, removing and replacing
 * nodes through joint consensus (§6), and TimeoutNow transfers (thesis §3.10), scheduled or
 * random. */
#ifndef FLOWRAFT_SIM_MEMBERSHIP_H
#define FLOWRAFT_SIM_MEMBERSHIP_H

#include "core/raft.h"
#include "sim/scenario.h"

#include <stdint.h>

/*
 * The world has `nodes + spares` node slots. The first `nodes` form the initial cluster; spares
 * are started (with an empty disk and no configuration) when a change adds them. One change runs
 * at a time; others wait in a short queue. A change is driven from the current leader's
 * configuration, re-read at every poll (each tick), so leader changes, lost proposals and
 * refusals (RAFT_ERR_BUSY while a change is uncommitted) only delay it:
 *
 *   add X      propose X as a learner; once the leader's match index for X is within
 *              [membership] catch_up entries of its last index, propose X as a voter (the core
 *              goes through the joint configuration and leaves it by itself);
 *   remove X   propose the configuration without X (joint, then final);
 *   replace X  add a spare Y as a learner, let it catch up, then one change: X out, Y in.
 *
 * A change counts as done once the leader's own configuration has it (committed or not: a
 * correct core refuses the next change until then, a broken one does not). A node taken out of
 * the configuration stops (its process ends, its disk is kept) as soon as the committed
 * configuration no longer lists it; it is never restarted unless added again. A change not done
 * within [membership] timeout is abandoned (a spare that never joined stops again). Nothing new
 * starts once the faulty phase ends.
 *
 * Leadership transfers ask the leader to hand over to a voter ([transfers] every, or
 * `transfer TARGET` in [schedule]); one counts as done when the target becomes leader.
 */

#define SIM_MEMBERSHIP_QUEUE_MAX 8u /* changes waiting for the one in progress */

struct sim_change {
    enum sim_fault_action action; /* SIM_FAULT_ADD, _REMOVE or _REPLACE */
    struct sim_target target;     /* remove, replace: whom (among the leader's voters) */
    int scripted;                 /* from [schedule]: not bounded by voters_min/voters_max */
};

struct sim_membership_stats {
    uint64_t requested; /* changes queued (random arrivals and scripted) */
    uint64_t skipped;   /* not possible when due (no spare, voter bounds, queue full) */
    uint64_t proposals; /* CHANGE_CONFIG accepted by a leader */
    uint64_t busy;      /* CHANGE_CONFIG refused: a change was still uncommitted */
    uint64_t added;     /* changes done */
    uint64_t removed;
    uint64_t replaced;
    uint64_t abandoned;   /* not done within the timeout */
    uint64_t stopped;     /* removed nodes stopped */
    uint64_t transfers;   /* TRANSFER_LEADERSHIP accepted by a leader */
    uint64_t transferred; /* ... whose target became leader */
};

struct sim_membership {
    struct sim_change queue[SIM_MEMBERSHIP_QUEUE_MAX];
    uint32_t queue_count;
    /* the change in progress */
    int active;
    enum sim_fault_action action;
    uint32_t joining; /* slot index of the node added (add, replace), or UINT32_MAX */
    uint32_t leaving; /* slot index of the node removed (remove, replace), or UINT32_MAX */
    uint64_t deadline_us;
    uint32_t stop_pending; /* slots to stop once the committed configuration drops them */
    int polling;           /* a poll event is pending */
    uint32_t transfer_to;  /* 1-based id a transfer is heading to, 0: none */
    uint64_t transfer_deadline_us;
    struct sim_membership_stats stats;
};

struct sim_world;
struct sim_node;
struct report_run;

/* Arms the random arrivals of [membership] every and [transfers] every. */
void sim_membership_start(struct sim_world *w);
/* A SIM_EV_MEMBERSHIP event (arg: enum sim_membership_event). */
void sim_membership_event(struct sim_world *w, uint64_t arg);
/* A [schedule] add / remove / replace / transfer is due. */
void sim_membership_scheduled(struct sim_world *w, const struct sim_scheduled_fault *f);
/* The faulty phase ended: queued and running changes are dropped. */
void sim_membership_phase_end(struct sim_world *w);
/* A step of `n` made it leader: completes a transfer heading there. */
void sim_membership_on_leader(struct sim_world *w, struct sim_node *n);
void sim_membership_counters(const struct sim_world *w, struct report_run *r);
/* A hash of the driver's state (queue, change in progress, pending stops and transfer), for the
 * model checker's state fingerprint. */
uint64_t sim_membership_fingerprint(const struct sim_world *w);

enum sim_membership_event {
    SIM_MEMBERSHIP_POLL = 0,
    SIM_MEMBERSHIP_CHANGE_ARRIVAL = 1,
    SIM_MEMBERSHIP_TRANSFER_ARRIVAL = 2,
};

#endif
