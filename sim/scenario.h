/* Scenario files: the commented INI format of scenarios/README.md, parsed and validated. */
#ifndef FLOWRAFT_SIM_SCENARIO_H
#define FLOWRAFT_SIM_SCENARIO_H

#include "sim/chooser.h"
#include "sim/dist.h"
#include "sim/wf_scenario.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_CLUSTER_NODES_MAX        9u    /* nodes in a scenario's cluster */
#define SIM_SCENARIO_SLOTS_MAX       16u   /* nodes + [membership] spares (the world's slots) */
#define SIM_SCENARIO_FAULTS_MAX      64u   /* entries of [schedule] */
#define SIM_CLIENTS_MAX              64u   /* [workload] clients */
#define SIM_KEYS_MAX                 1024u /* [workload] keys */
#define SIM_SCENARIO_ERROR_BYTES_MAX 512
#define SIM_SCENARIO_LINE_BYTES_MAX  198 /* inih's line buffer (200) minus newline and NUL */

/* A scripted fault of the [schedule] section: "AT ACTION [TARGET...] [for DURATION]". */
enum sim_fault_action {
    SIM_FAULT_ISOLATE,  /* cut one node off, both ways */
    SIM_FAULT_MINORITY, /* split into a random minority and majority */
    SIM_FAULT_SPLIT,    /* split into two random non-empty groups */
    SIM_FAULT_ONE_WAY,  /* block one direction of one link */
    SIM_FAULT_CLOG,     /* hold everything on one link until the fault ends */
    SIM_FAULT_CRASH,    /* crash a node; it restarts when the fault ends */
    SIM_FAULT_PAUSE,    /* freeze a node (no ticks, no deliveries) until the fault ends */
    SIM_FAULT_HEAL,     /* unblock and unclog every link */
    SIM_FAULT_ADD,      /* membership: add a spare node (learner, catch up, promote) */
    SIM_FAULT_REMOVE,   /* membership: remove a voter; it stops once the removal commits */
    SIM_FAULT_REPLACE,  /* membership: a spare replaces a voter (one joint change) */
    SIM_FAULT_TRANSFER, /* leadership transfer (TimeoutNow) to the target */
    SIM_FAULT_ACTION_COUNT,
};

/* Who a fault targets: a node id (1..nodes) or a role resolved when the fault fires. */
enum sim_target_kind {
    SIM_TARGET_NODE,
    SIM_TARGET_LEADER,   /* the current leader (a random node if there is none) */
    SIM_TARGET_FOLLOWER, /* a random node that is not the leader */
    SIM_TARGET_RANDOM,   /* any node, chosen by the chooser */
};

struct sim_target {
    enum sim_target_kind kind;
    uint32_t node; /* SIM_TARGET_NODE: 0-based index */
};

struct sim_scheduled_fault {
    uint64_t at_us;
    uint64_t duration_us; /* 0: until the faulty phase ends (crash: the [crashes] downtime) */
    enum sim_fault_action action;
    struct sim_target target; /* isolate, one-way (from), clog (from), crash, pause */
    struct sim_target peer;   /* one-way and clog: the other end */
    uint32_t line;            /* where it was written, for messages */
};

/* Random faults of one kind arrive as a Poisson process with the given mean interval. */
struct sim_fault_rate {
    uint64_t every_us;      /* mean time between faults; 0: this kind is off */
    struct sim_dist length; /* how long each one lasts */
};

/* Partition shapes drawn by random partitions (bit set). */
enum sim_partition_shape {
    SIM_SHAPE_ISOLATE_LEADER = 1u << 0,
    SIM_SHAPE_ISOLATE = 1u << 1,
    SIM_SHAPE_MINORITY = 1u << 2,
    SIM_SHAPE_ONE_WAY = 1u << 3,
    SIM_SHAPE_SPLIT = 1u << 4,
    SIM_SHAPE_ALL = (1u << 5) - 1,
};

/* Random membership changes drawn by [membership] every (bit set). */
enum sim_change_kind {
    SIM_CHANGE_ADD = 1u << 0,
    SIM_CHANGE_REMOVE = 1u << 1,
    SIM_CHANGE_REPLACE = 1u << 2,
    SIM_CHANGE_ALL = (1u << 3) - 1,
};

/* How clients' gets are served. */
enum sim_reads_mode {
    SIM_READS_INDEX = 0, /* ReadIndex (§8): the leader confirms leadership, serves at applied */
    SIM_READS_LOG = 1,   /* a get is a command through the log, like a write */
};

enum sim_op {
    SIM_OP_PUT,
    SIM_OP_GET,
    SIM_OP_DELETE,
    SIM_OP_CAS,
    SIM_OP_COUNT,
};

struct sim_scenario {
    char path[256];
    char name[64];         /* the file's base name without .ini */
    char description[160]; /* [scenario] description */

    /* [cluster] */
    uint32_t nodes; /* invariant: 1 <= nodes <= SIM_CLUSTER_NODES_MAX */
    uint64_t tick_us;
    uint32_t election_timeout_ticks_min;
    uint32_t election_timeout_ticks_max;
    uint32_t heartbeat_ticks;
    uint32_t batch_entries_max;    /* entries per append message */
    uint32_t snapshot_every;       /* entries applied between two snapshots; 0: no snapshots */
    uint32_t snapshot_trailing;    /* entries the core keeps in memory behind a snapshot */
    uint32_t snapshot_chunk_bytes; /* bytes per InstallSnapshot chunk */

    /* [run] */
    uint64_t duration_us;       /* the faulty phase */
    uint64_t liveness_bound_us; /* after it: a leader and a new commit within this bound */
    uint64_t events_max;        /* a run stops (as an error) beyond this many events */

    /* [network] */
    struct sim_dist latency;
    double drop;
    double duplicate;
    double corrupt;

    /* [partitions], [clogging], [crashes], [pauses] */
    struct sim_fault_rate partitions;
    uint32_t partition_shapes; /* enum sim_partition_shape bits */
    struct sim_fault_rate clogging;
    struct sim_fault_rate crashes; /* length: downtime before the restart */
    struct sim_fault_rate pauses;
    uint32_t crashed_nodes_max;        /* at most this many down at once (default: a minority) */
    enum sim_target_kind crash_target; /* random crashes hit: random (default), leader, follower */
    enum sim_target_kind pause_target; /* random pauses hit: random (default), leader, follower */

    /* [disk] */
    struct sim_dist sync_latency;
    double write_error; /* per write */
    double read_error;  /* per read */
    double bit_flip;    /* per read of a block: a bit flipped at rest */
    double torn_write;  /* per unsynced write at a crash: torn rather than kept or lost */
    double lost_write;  /* per unsynced write at a crash: lost */
    uint32_t corrupt_replicas_max; /* fault atlas: replicas whose disk may be damaged */
    int corrupt_replicas_set;      /* written explicitly (else a minority of the cluster) */

    /* [workload] */
    uint32_t clients;
    struct sim_dist think; /* time between a client's completion and its next request */
    uint32_t op_weights[SIM_OP_COUNT];
    uint32_t keys;
    uint64_t request_timeout_us;
    enum sim_reads_mode reads;

    /* [membership]: churn through joint consensus with spare node slots */
    uint32_t spares;                    /* node slots nodes+1 .. nodes+spares, started when added */
    uint64_t membership_every_us;       /* mean time between random changes; 0: off */
    uint32_t change_kinds;              /* enum sim_change_kind bits */
    enum sim_target_kind change_target; /* whom remove and replace pick among the voters */
    uint32_t voters_min;                /* random changes keep the voters within [min, max] */
    uint32_t voters_max;
    uint32_t catch_up_entries;  /* a learner is promoted within this many entries of the leader */
    uint64_t change_timeout_us; /* an unfinished change is abandoned after this */

    /* [transfers] */
    uint64_t transfer_every_us; /* mean time between random leadership transfers; 0: off */

    /* [slow]: per-node slow disk and network */
    uint32_t slow_nodes;          /* how many of the initial nodes are slow (chosen per seed) */
    struct sim_dist slow_latency; /* extra one-way latency to or from a slow node */
    struct sim_dist slow_sync_latency; /* a slow node's group commit (default: [disk]'s) */

    /* [swarm] */
    int swarm; /* each seed draws which fault kinds are on and at what rates */

    /* [schedule] */
    struct sim_scheduled_fault faults[SIM_SCENARIO_FAULTS_MAX];
    uint32_t fault_count;

    /* [workflows], [workers]: the workflow plane (sim/wf_scenario.h) */
    struct sim_wf_scenario wf;
};

/* Fills the documented defaults (a fault-free three-node cluster running for 10 s). */
void sim_scenario_defaults(struct sim_scenario *scenario);

/* Parses `path` over the defaults. Returns 0, or -1 with "FILE:LINE: [section] key: problem" in
 * `error` (line 0 for a problem with the file as a whole). */
int sim_scenario_load(const char *path, struct sim_scenario *scenario, char *error,
                      size_t error_size);

/* Same, from a string (tests); `name` stands for the file name in messages. */
int sim_scenario_parse_string(const char *name, const char *text, struct sim_scenario *scenario,
                              char *error, size_t error_size);

/* Swarm mode: draws (concern "swarm") which fault kinds stay on and scales their rates by a
 * factor in (0, 1]; a kind off in the scenario stays off. Writes a one-line description. */
void sim_scenario_swarm(struct sim_scenario *scenario, struct sim_chooser *chooser, char *summary,
                        size_t summary_size);

/* Prints the effective settings (defaults included), one section per line. */
void sim_scenario_print(const struct sim_scenario *scenario, FILE *out);

/* All node slots of a scenario: the initial nodes and the spares. */
uint32_t sim_scenario_slots(const struct sim_scenario *scenario);

/* How many target words a scheduled action takes (0, 1 or 2). */
int sim_fault_arity(enum sim_fault_action action);

const char *sim_fault_action_name(enum sim_fault_action action);
const char *sim_op_name(enum sim_op op);

#endif
