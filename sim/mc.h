/* The model checker: bounded exhaustive exploration of the chooser's decisions by re-execution. */
#ifndef FLOWRAFT_SIM_MC_H
#define FLOWRAFT_SIM_MC_H

#include "reports/report.h"
#include "sim/chooser.h"
#include "sim/scenario.h"

#include <stdint.h>
#include <stdio.h>

/*
 * Stateless model checking (Godefroid's VeriSoft; CHESS): the simulator is deterministic given
 * its decisions, so a path through the state space is a sequence of choices, and a path is
 * explored by running the whole simulation again from the start with a strategy that makes those
 * choices. Nothing is snapshotted or restored; the real core, storage and checks run every time.
 *
 * Which decisions branch: those of the concerns in `branch_mask` (say net.drop, proc.crash,
 * sched). Each offers min(n, alternatives_max) alternatives: every value when n is small, else
 * evenly spaced values from 0 to n - 1 (for a latency: fastest ... slowest; for the wait until
 * the next fault: never ... now). Alternative 0 is value 0, the calm choice. Every other decision
 * takes its calm value 0, or the seed's own draw for the concerns in `seeded_mask` (say each
 * node's PRNG seed, so timeouts are not all equal).
 *
 * The bounded tree: the first `depth_max` branching decisions of a run branch (later ones are
 * calm), and at most `faults_max` of them may be non-calm. Iterative fault bounding explores every
 * path with 0 non-calm choices, then every path with at most 1, ..., up to faults_max, so a bug
 * that needs few faults is found early. Within a bound the search is a depth-first enumeration of
 * the choice sequences in lexicographic order: after each run, the deepest branching decision
 * that still has an untried alternative (within the fault bound) is advanced, and everything after
 * it reset to calm. Every invariant is checked after every event of every run (the simulator's own
 * checker, and linearizability of the clients' history at the end of each run).
 *
 * State pruning: after every event past the point where a run leaves the previous run's path,
 * the model checker fingerprints the state: each node's raft_state_hash (term, vote, role, log,
 * commit, applied, leader progress; not timers or the PRNG) and state-machine hash (or, while
 * down, its durable term, vote and commit), the partitioned links, the clients' states, and the
 * multiset of pending events with their times relative to now (message deliveries by their
 * bytes). If the fingerprint was already seen with at least as much depth and fault budget left,
 * everything after it has been (or is being) explored: the run stops there (pruned).
 *
 * What "exhaustive" means, honestly: every path of the bounded tree is run, except the subtrees
 * cut at a repeated fingerprint. Within the bounds, and for the decisions that branch, it is
 * complete when pruning is off (`prune = 0`). With pruning it is complete only up to the
 * fingerprint's abstraction: two states that differ only in what the fingerprint leaves out (a
 * node's election timer and PRNG position, the contents of a crashed node's disk beyond its hard
 * state, the chooser's PRNG streams of seeded concerns, client internals such as sequence
 * numbers) are merged, and behaviours reachable from one but not the other can be missed.
 * Outside the bounds nothing is claimed: decisions that do not branch are fixed, and so is
 * everything past depth_max.
 */

#define SIM_MC_DEPTH_MAX          4096u      /* branching decisions per path, at most */
#define SIM_MC_ALTERNATIVES_MAX   64u        /* alternatives per decision, at most */
#define SIM_MC_STATES_DEFAULT     1000000u   /* distinct fingerprints kept by default */
#define SIM_MC_STATES_MAX         (1u << 26) /* distinct fingerprints kept, at most */
#define SIM_MC_RUN_EVENTS_DEFAULT 200000u    /* events per run before it is cut off */

struct sim_mc_options {
    const struct sim_scenario *scenario; /* borrowed */
    uint64_t seed;                       /* draws of the seeded concerns */
    uint32_t raft_test_bugs;
    uint32_t sim_bugs;
    uint32_t branch_mask;       /* bit per enum sim_concern: these decisions branch */
    uint32_t seeded_mask;       /* bit per concern: non-branching ones take the seed's draw */
    uint32_t alternatives_max;  /* 2..SIM_MC_ALTERNATIVES_MAX */
    uint32_t depth_max;         /* 1..SIM_MC_DEPTH_MAX */
    uint32_t faults_max;        /* non-calm choices per path, at most; <= depth_max */
    uint64_t states_max;        /* distinct fingerprints; the search stops (incomplete) beyond */
    uint64_t runs_max;          /* 0: no bound */
    uint64_t run_events_max;    /* a run is cut off after this many events (0: default) */
    double time_budget_seconds; /* 0: none */
    int prune;                  /* stop runs at an already explored fingerprint */
    FILE *progress;             /* a line per fault bound and every few seconds, or NULL */
};

struct sim_mc_result {
    uint64_t runs;             /* simulations run (executions) */
    uint64_t runs_pruned;      /* stopped at an already explored fingerprint */
    uint64_t runs_cut;         /* stopped by run_events_max */
    uint64_t events;           /* events executed, prefix re-executions included */
    uint64_t states;           /* states fingerprinted (events past the previous run's path) */
    uint64_t fingerprints;     /* distinct fingerprints */
    uint32_t depth_reached;    /* most branching decisions taken along one path (<= depth_max) */
    uint64_t events_max_run;   /* most events in one run */
    uint32_t bounds_completed; /* fault bounds 0..k-1 explored completely: k */
    int complete;              /* the bounded tree was explored (up to the pruning) */
    int stopped;               /* a bound stopped it: states_max, runs_max or the time budget */
    char stop_reason[128];
    double wall_seconds;

    int violated;                /* a run violated an invariant: the search stopped there */
    struct report_run violation; /* that run's report */
    struct sim_decision *path;   /* its decisions, all of them, as a schedule; owned */
    size_t path_count;
    uint32_t path_faults; /* its non-calm branching choices */
};

/* Explores. Returns 0 (result filled), or -1 when a run could not be carried out or memory ran
 * out (result->stop_reason says why). */
int sim_mc_check(const struct sim_mc_options *options, struct sim_mc_result *result);

void sim_mc_result_free(struct sim_mc_result *result);

/* The value of alternative `choice` (< count) of a decision in [0, n) (n == 0: the full 64-bit
 * range): the choice itself when n <= count, else evenly spaced from 0 (choice 0) to n - 1
 * (choice count - 1). */
uint64_t sim_mc_alternative(uint32_t choice, uint32_t count, uint64_t n);

#endif
