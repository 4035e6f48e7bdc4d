/* A simulated cluster: nodes (real core + storage glue + KV), network, clients, faults, checks. */
#ifndef FLOWRAFT_SIM_WORLD_H
#define FLOWRAFT_SIM_WORLD_H

#include "core/raft.h"
#include "reports/report.h"
#include "sim/check.h"
#include "sim/check_config.h"
#include "sim/check_snapshot.h"
#include "sim/chooser.h"
#include "sim/net.h"
#include "sim/queue.h"
#include "sim/scenario.h"
#include "sim/hist.h"
#include "sim/membership.h"
#include "sim/reads.h"
#include "sim/replica.h"
#include "sim/sim_fs.h"
#include "sim/wf_world.h"

#include <stdint.h>
#include <stdio.h>

/*
 * One run: sim_run() builds a world from a scenario and a seed, runs the faulty phase and the
 * liveness phase event by event, checks every invariant after every event, and fills a report.
 * Everything random is a chooser decision, so (scenario, seed) — or a recorded schedule — is the
 * whole experiment, reproduced exactly by the same binary.
 */

/* Simulator-level broken behaviours, for tests proving the checks catch them. */
enum sim_bug {
    SIM_BUG_ACK_BEFORE_SYNC = 1u << 0, /* messages leave before their persist section is durable */
    SIM_BUG_STALE_READ = 1u << 1,      /* any node answers a get from its local state at once */
    /* The workflow plane (sim/wf_world.h): */
    SIM_BUG_WF_LEDGER_BYPASS = 1u << 8,        /* workers call the ledger without the key */
    SIM_BUG_WF_DISPATCH_UNCOMMITTED = 1u << 9, /* the leader sends an assignment when it proposes
                                                 the start, before it commits */
    SIM_BUG_WF_APPLY_UNCOMMITTED = 1u << 10,   /* followers apply 'W' entries when appended */
};

enum sim_event_kind {
    SIM_EV_TICK = 1,
    SIM_EV_DELIVER,         /* a message reaches a node (arg: net slot) */
    SIM_EV_SYNC_DONE,       /* a node's group commit completes */
    SIM_EV_REQUEST,         /* a client request reaches a node (arg: client, op seq) */
    SIM_EV_REPLY,           /* a node's reply reaches a client (arg: client, mailbox slot) */
    SIM_EV_CLIENT_WAKE,     /* a client starts its next operation (arg: client) */
    SIM_EV_CLIENT_TIMEOUT,  /* a client gives up on an attempt (arg: client, attempt) */
    SIM_EV_FAULT_ARRIVAL,   /* a random fault of a kind is due (arg: kind) */
    SIM_EV_SCHEDULED_FAULT, /* a [schedule] fault is due (arg: its index) */
    SIM_EV_FAULT_END,       /* an active fault ends (arg: its slot); a crash ends in a restart */
    SIM_EV_PHASE_END,       /* the faulty phase is over: heal everything */
    SIM_EV_LIVENESS_PROBE,  /* liveness phase: propose the marker to a leader, if any */
    SIM_EV_LIVENESS_DEADLINE,
    SIM_EV_WF, /* the workflow plane: submitters, workers, their messages (sim/wf_world.h) */
    SIM_EV_MEMBERSHIP, /* membership driver: poll, random change or transfer (arg: which) */
    SIM_EV_KIND_COUNT,
};

#define SIM_NODE_DEFERRED_MAX  4096u        /* deliveries waiting for a paused node */
#define SIM_NODE_PROPOSALS_MAX 1024u        /* client proposals awaiting apply per node */
#define SIM_CLIENT_MAILBOX_MAX 8u           /* replies in flight to one client */
#define SIM_ACTIVE_FAULTS_MAX  256u         /* partitions, clogs, pauses, crashes active at once */
#define SIM_TRACE_RECENT       24u          /* events kept for the violation report */
#define SIM_VALUE_BYTES_MAX    64u          /* client values and reply values */
#define SIM_LOG_ENTRIES_MIN    (1u << 14)   /* a node's in-memory log (no snapshots yet) */
#define SIM_LOG_ENTRIES_MAX    (1u << 20)   /* ... sized per run between these bounds */
#define SIM_LOG_ENTRY_BYTES    128u         /* payload bytes budgeted per log entry */
#define SIM_HISTORY_OPS_MAX    (1u << 18)   /* client operations recorded per run */
#define SIM_LIN_STEPS_MAX      (1ull << 24) /* linearizability search budget per run */

enum sim_fault_kind {
    SIM_FAULT_KIND_PARTITION,
    SIM_FAULT_KIND_CLOG,
    SIM_FAULT_KIND_CRASH,
    SIM_FAULT_KIND_PAUSE,
    SIM_FAULT_KIND_COUNT,
};

struct sim_proposal {
    uint64_t index;
    uint64_t term;
    uint32_t client;
    uint64_t op_seq;
};

struct sim_node {
    uint32_t index; /* 0-based; the Raft id is index + 1 */
    int up;
    int paused;
    int dead;        /* its storage could not be recovered: it stays down */
    int member;      /* runs by design: an initial node or one added, not yet removed (spares
                        and stopped nodes: 0; only members restart) */
    int disk_faults; /* in the fault atlas: this node's disk may get errors and bit flips */
    uint32_t incarnation;
    struct sim_fs *fs;       /* its disk: survives crashes */
    struct replica *replica; /* the process: core + storage + KV; NULL while down */
    char dir[32];
    uint64_t tick_phase_us;
    uint64_t paused_at_us;
    int sync_scheduled; /* a SYNC_DONE event is pending for this incarnation */

    uint32_t deferred[SIM_NODE_DEFERRED_MAX]; /* net slots delivered while paused, FIFO */
    uint32_t deferred_count;

    struct sim_proposal proposals[SIM_NODE_PROPOSALS_MAX];
    uint32_t proposal_count;

    struct sim_reads reads; /* ReadIndex reads waiting on this incarnation */

    int was_leader; /* role and term of the last update, for the checker */
    enum raft_role role;
    uint64_t term;
    struct sim_world *world; /* back pointer for the replica callbacks */
};

enum sim_client_state {
    SIM_CLIENT_IDLE,
    SIM_CLIENT_WAITING,
};

enum sim_reply_kind {
    SIM_REPLY_RESULT,   /* the command was applied: result bytes decoded */
    SIM_REPLY_REDIRECT, /* not the leader; hint = leader id or 0 */
    SIM_REPLY_RETRY,    /* proposal lost or refused: retry */
};

struct sim_reply {
    uint64_t op_seq;
    enum sim_reply_kind kind;
    uint32_t hint;
    uint8_t status;   /* enum kv_status */
    uint64_t session; /* register: the new session id */
    int has_value;
    uint8_t value_len;
    uint8_t value[SIM_VALUE_BYTES_MAX];
};

struct sim_client {
    uint32_t index;
    enum sim_client_state state;
    uint64_t session;  /* 0: not registered */
    uint64_t next_seq; /* the session sequence number of the next command */
    uint64_t op_seq;   /* counts this client's operations (registrations included) */
    uint32_t attempt;  /* attempts of the current operation */
    uint32_t target;   /* node index the client believes is the leader */
    int registering;
    enum sim_op op;
    uint32_t key;
    uint8_t value_len;
    char value[SIM_VALUE_BYTES_MAX];
    int cas_absent;
    uint8_t expected_len;
    char expected[SIM_VALUE_BYTES_MAX];
    int64_t hist_op; /* the history's op id, -1 if none */
    uint64_t invoked_us;
    uint8_t payload[256];
    uint32_t payload_len;
    uint64_t wake_generation; /* only the latest scheduled wake acts */
    struct sim_reply mailbox[SIM_CLIENT_MAILBOX_MAX];
    uint32_t mailbox_next;
    /* what this client last saw for each key (for compare-and-set expectations) */
    uint8_t known_len[SIM_KEYS_MAX];
    char known[SIM_KEYS_MAX][16];
};

struct sim_active_fault {
    int used;
    uint32_t generation; /* FAULT_END events name it, so a reused slot ignores stale ends */
    enum sim_fault_kind kind;
    uint32_t node;
    uint64_t until_us;
    uint16_t links[SIM_NODES_MAX]; /* partitions: links[from] bit `to` is blocked */
};

/* One event as kept for the violation report and printed by the event log; formatted only when
 * printed (formatting every event would cost more than running it). */
struct sim_trace_record {
    uint64_t number;
    uint64_t time_us;
    uint64_t arg;
    uint64_t message_term; /* deliveries: the message's term */
    uint16_t kind;
    uint16_t node;
    uint16_t message_from; /* deliveries: the sender's id, 0 if the bytes were unreadable */
    uint8_t message_type;  /* deliveries: enum raft_message_type, 0 if unreadable */
    char note[128];        /* what the event caused (an election, a fault), "" if nothing */
};

struct sim_stats {
    uint64_t elections;
    uint64_t crashes;
    uint64_t restarts;
    uint64_t pauses;
    uint64_t partitions;
    uint64_t clogs;
    uint64_t proposals;
    uint64_t client_ops;
    uint64_t client_ok;
    uint64_t client_fail;
    uint64_t client_unknown;
    uint64_t lin_steps;
    uint64_t lin_unchecked; /* 1 when the checker ran out of budget (verdict unknown) */
    uint64_t client_retries;
    uint64_t client_timeouts;
    uint64_t held_dropped;
    uint64_t syncs;
    uint64_t disk_errors;
    uint64_t torn_crashes;      /* crashes that landed inside a group commit */
    uint64_t snapshots;         /* snapshots persisted (own or installed) */
    uint64_t snapshot_restores; /* state machines replaced by a snapshot */
    uint64_t snapshot_installs; /* snapshots received from a leader (InstallSnapshot) */
    uint64_t snapshot_chunks;   /* InstallSnapshot chunks sent */
    uint64_t bit_flips;
    uint64_t dead_nodes;
    uint64_t applied_entries;
    uint64_t liveness_recovery_us;
};

struct sim_run_options {
    const struct sim_scenario *scenario; /* parsed; swarm is drawn per seed inside the run */
    uint64_t seed;
    const char *record_path; /* write every decision here, or NULL */
    const char *replay_path; /* take decisions from this schedule, or NULL */
    int replay_lenient;
    uint32_t raft_test_bugs;  /* enum raft_test_bug bits */
    uint32_t sim_bugs;        /* enum sim_bug bits */
    FILE *log;                /* readable event log, or NULL */
    uint32_t log_nodes;       /* bit per node (0-based); 0: all */
    uint32_t log_kinds;       /* bit per enum sim_event_kind; 0: all but ticks */
    const char *argv0_hint;   /* how to name the program in reproduce commands ("flowraft") */
    const char *history_path; /* write the client history here (text format), or NULL */
    const char *log_workflow; /* with `log`: workflow lines of this workflow only, or NULL */
    /* Called at the end of the run, before teardown (tests, `flowraft history`), or NULL. */
    void (*at_end)(void *ctx, const struct sim_world *world);
    void *at_end_ctx;
    /* For the shrinker and the model checker (sim/shrink.h, sim/mc.h). Borrowed for the run. */
    const struct sim_chooser_strategy *strategy; /* decides instead of the seed, or NULL */
    /* After every event and its checks (a violating one included); a nonzero return ends the
     * run there, as a pass unless it violated. NULL: none. */
    int (*observe)(void *ctx, const struct sim_world *world);
    void *observe_ctx;
};

struct sim_world {
    struct sim_run_options options;
    struct sim_scenario scenario; /* after swarm */
    uint32_t log_entries_max;     /* the nodes' in-memory log bound, from the workload */
    char swarm_summary[512];
    struct sim_chooser chooser;
    struct sim_queue queue;
    struct sim_net net;
    struct sim_checker checker;
    uint32_t node_slots; /* scenario nodes + spares; nodes[node_slots..] are unused */
    uint32_t slow_mask;  /* bit per slot: [slow] nodes */
    struct sim_node nodes[SIM_NODES_MAX];
    struct sim_client clients[SIM_CLIENTS_MAX];
    struct sim_active_fault faults[SIM_ACTIVE_FAULTS_MAX];
    struct sim_wf *wf; /* the workflow plane (owned; inert without [workflows] submit) */
    struct sim_membership membership;         /* changes, stops, transfers */
    struct sim_check_config config_check;     /* quorum_overlap, removed_leader_steps_down */
    struct sim_check_snapshot snapshot_check; /* snapshot_monotonic */
    struct sim_read_stats reads;
    struct hist history; /* every client operation, checked for linearizability at the end */
    int history_full;    /* more operations than SIM_HISTORY_OPS_MAX: the rest is not recorded */

    int liveness_phase;
    int liveness_done;
    uint64_t liveness_index;
    uint64_t liveness_term;
    uint32_t liveness_node;
    uint64_t liveness_started_us;

    uint64_t events;
    uint64_t trace_hash;
    struct sim_trace_record current; /* the event being handled */
    struct sim_trace_record recent[SIM_TRACE_RECENT];
    uint32_t recent_next;

    int stop;  /* a violation or an error ends the run */
    int error; /* the run could not go on (limits, schedule) */
    char error_text[512];
    struct sim_stats stats;
};

/* Runs one simulation. Fills `report` (verdict, invariant, detail with the last events, counters,
 * trace hash). Returns 0 when the run completed (pass or violation), -1 when it could not be
 * carried out (report->verdict is REPORT_ERROR and report->detail says why). */
int sim_run(const struct sim_run_options *options, struct report_run *report);

/* The last events before the end of the run, one per line ("#n t=... node kind text"). */
size_t sim_world_recent(const struct sim_world *world, char *out, size_t size);

const char *sim_event_kind_name(enum sim_event_kind kind);
/* Parses a comma-separated list of event kind names into a bit set; -1 on an unknown name. */
int sim_event_kinds_parse(const char *text, uint32_t *mask);

/* Internal: shared by world.c, node.c, client.c and faults.c. */

/* Writes the name of workload key `key` ("k<key>", what clients put and get) into `out` (at least
 * SIM_KEY_NAME_BYTES) and returns its length. As snprintf would, without its cost per operation. */
#define SIM_KEY_NAME_BYTES 16u
size_t sim_key_name(uint32_t key, char *out);
/* Appends the decimal digits of `value` at `out` (room for 20) and returns how many. */
size_t sim_format_u64(uint64_t value, char *out);
int sim_world_push(struct sim_world *world, uint64_t time_us, enum sim_event_kind kind,
                   uint32_t node, uint64_t arg);
void sim_world_fail(struct sim_world *world, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void sim_world_note(struct sim_world *world, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* sim_world_note of `len` bytes of text, unformatted (for notes made on every operation). */
void sim_world_note_text(struct sim_world *world, const char *text, size_t len);

/* The replica configuration of a node (the same state-machine limits on every node). */
void sim_node_config(struct sim_world *world, struct sim_node *node, struct replica_config *config);
/* `node` must be all zero (the world is calloc'd); deinit releases the replica and the disk. */
int sim_node_init(struct sim_world *world, struct sim_node *node, uint32_t index);
void sim_node_deinit(struct sim_node *node);
int sim_node_start(struct sim_world *world, struct sim_node *node);
void sim_node_crash(struct sim_world *world, struct sim_node *node);
/* A removed node's process ends (not a fault: its disk is kept, it does not restart). */
void sim_node_stop(struct sim_world *world, struct sim_node *node);
/* A storage failure or a failed replica: crash now, restart later. */
void sim_node_failed(struct sim_world *world, struct sim_node *node, const char *why);
void sim_node_set_disk_faults(struct sim_world *world, struct sim_node *node, int on);
void sim_node_pause(struct sim_world *world, struct sim_node *node);
void sim_node_resume(struct sim_world *world, struct sim_node *node);
void sim_node_tick(struct sim_world *world, struct sim_node *node);
void sim_node_deliver(struct sim_world *world, struct sim_node *node, uint32_t slot);
void sim_node_sync_done(struct sim_world *world, struct sim_node *node);
/* Random disk damage at rest on a node of the fault atlas (a bit flip in a stored file). */
void sim_node_bit_flip(struct sim_world *world, struct sim_node *node);
/* Proposes `payload` on the node: RAFT_OK with the index and term, or a raft error code. */
int sim_node_propose(struct sim_world *world, struct sim_node *node, const uint8_t *payload,
                     size_t len, uint64_t *index, uint64_t *term);
void sim_node_request(struct sim_world *world, struct sim_node *node, uint32_t client,
                      uint64_t op_seq);

void sim_clients_start(struct sim_world *world);
void sim_client_wake(struct sim_world *world, struct sim_client *client, uint64_t generation);
void sim_client_timeout(struct sim_world *world, struct sim_client *client, uint64_t arg);
void sim_client_reply(struct sim_world *world, struct sim_client *client, uint64_t arg);
/* Node side: queue a reply to a client after the client latency. */
void sim_client_send_reply(struct sim_world *world, uint32_t client, const struct sim_reply *reply);
void sim_clients_finish(struct sim_world *world);

/* The client history (sim/history.c): every KV operation's invocation and outcome. */
void sim_history_invoke(struct sim_world *world, struct sim_client *client);
void sim_history_complete(struct sim_world *world, struct sim_client *client,
                          const struct sim_reply *reply);
/* The run ended with the operation in flight: its outcome is unknown. */
void sim_history_abandon(struct sim_world *world, struct sim_client *client);
/* At the end of a run: checks the history (a violation if it is not linearizable) and writes it
 * to options.history_path if set. */
void sim_history_finish(struct sim_world *world);

void sim_faults_start(struct sim_world *world);
void sim_fault_arrival(struct sim_world *world, enum sim_fault_kind kind);
void sim_fault_scheduled(struct sim_world *world, uint32_t index);
void sim_fault_end(struct sim_world *world, uint64_t arg);
void sim_faults_heal_all(struct sim_world *world);
/* A node crashed on its own (a disk error): it restarts after a [crashes] downtime. */
void sim_faults_restart_later(struct sim_world *world, uint32_t node);
/* The fault atlas: which nodes' disks may be damaged (at most corrupt_replicas_max). */
void sim_faults_atlas(struct sim_world *world);
/* An exponential interval with mean `mean_us` drawn under `concern` (Poisson arrivals);
 * UINT64_MAX (the calm choice of a shrunk schedule) means no further arrival. */
uint64_t sim_faults_interval(struct sim_world *world, enum sim_concern concern, uint64_t mean_us);
/* The current leader's index (an up node whose role is leader with the highest term), or -1. */
int sim_world_leader(const struct sim_world *world);

#endif
