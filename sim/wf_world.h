/* The workflow plane of a simulated run: submitters, the leader's coordinator, workers, checks. */
#ifndef FLOWRAFT_SIM_WF_WORLD_H
#define FLOWRAFT_SIM_WF_WORLD_H

#include "reports/report.h"
#include "sim/ledger.h"
#include "sim/net.h"
#include "sim/replica_sm.h"
#include "sim/wf_scenario.h"
#include "workflows/wf_command.h"
#include "workflows/wf_executor.h"
#include "workflows/wf_invariants.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Issue 7's moving parts around the replicated workflow engine, all driven by the world's events
 * and decided by its chooser (concern "workflow"):
 *
 *  - submitters (wf_client.c): simulated clients that send each scenario `submit` and `control`
 *    to the node they believe leads, follow redirects, time out and resend the same command
 *    (so submit idempotency is exercised) until a result comes back;
 *  - the coordinator driver (wf_driver.c): on the leader only, once it applied its own term's
 *    no-op (G3), every tick calls wf_coordinate with the leader's clock, the workers its applied
 *    state shows free, and grace_until = time the no-op applied + [workflows] grace; it stamps
 *    and proposes what comes back and remembers it as in flight until it applies. When a
 *    start_attempt applies with WF_OK on a node that leads, the node sends the assignment to
 *    the worker (a message with latency, loss and duplication drawn by the chooser);
 *  - workers (workers.c): execute assignments one at a time, in simulated time; they fail,
 *    crash mid-task, stall past their lease and report late, report twice, extend their lease
 *    while running, and send every report to the leader (redirects, timeouts, resends) until
 *    it is answered. Before reporting a completion they execute the task's effect through the
 *    side-effect ledger (ledger.h) with the attempt's idempotency key;
 *  - checks (wf_check.c): a reference application of the committed log; per-replica workflow
 *    invariants after every workflow entry applied; ledger and execution checks; the settle
 *    bound after the faults stop; the projector rebuild from each node's storage at the end.
 *
 * Everything is bounded by the named maxima below; running past one is a run error saying which.
 */

struct sim_world;
struct sim_node;
struct raft_entry;
struct raft_update;
struct raft_snapshot;

#define SIM_WF_MESSAGES_MAX       1024u      /* requests, reports, answers, assignments in flight */
#define SIM_WF_PROPOSALS_MAX      256u       /* a node's workflow proposals awaiting apply */
#define SIM_WF_COORD_BATCH_MAX    32u        /* commands one coordinator call may return */
#define SIM_WF_JOBS_MAX           8u         /* assignments a worker holds (one runs) */
#define SIM_WF_REPORTS_MAX        16u        /* a worker's reports awaiting an answer */
#define SIM_WF_LOG_BYTES_MAX      (1u << 20) /* workflow log lines buffered for one event */
#define SIM_WF_INDEX_MAX          (1u << 24) /* highest log index the reference tracks */
#define SIM_WF_ERROR_KIND_DEFAULT "transient"
#define SIM_WF_PING_US            100000u /* a worker tells the leader it is alive this often */
#define SIM_WF_SEEN_US            350000u /* the leader assigns only to workers heard within */

/* Sub-kinds of SIM_EV_WF events (bits 56..63 of the event's arg). */
enum sim_wf_event {
    SIM_WF_EV_REQUEST_SEND = 1, /* a submitter sends (or resends) its command */
    SIM_WF_EV_REQUEST_TIMEOUT,  /* a submitter's attempt timed out */
    SIM_WF_EV_AT_NODE,          /* a request or report reaches a node (event node) */
    SIM_WF_EV_AT_CLIENT,        /* an answer reaches a submitter */
    SIM_WF_EV_AT_WORKER,        /* an assignment or an answer reaches a worker */
    SIM_WF_EV_WORKER_STEP,      /* the running attempt's next step (heartbeat, end, crash) */
    SIM_WF_EV_WORKER_RESTART,   /* a crashed worker comes back */
    SIM_WF_EV_REPORT_TIMEOUT,   /* a worker's report was not answered in time */
    SIM_WF_EV_SETTLE_DEADLINE,  /* the settle bound after the faulty phase */
    SIM_WF_EV_WORKER_PING,      /* a worker's periodic "alive" to the node it believes leads */
    SIM_WF_EV_COUNT,
};

enum sim_wf_msg_kind {
    SIM_WF_MSG_REQUEST, /* submitter -> node: a command to propose */
    SIM_WF_MSG_REPORT,  /* worker -> node: a report to propose */
    SIM_WF_MSG_ASSIGN,  /* node -> worker */
    SIM_WF_MSG_ANSWER,  /* node -> submitter or worker */
    SIM_WF_MSG_PING,    /* worker -> node: alive (answered with a redirect by non-leaders) */
};

enum sim_wf_answer {
    SIM_WF_ANSWER_APPLIED,  /* committed and applied: `status` is the result */
    SIM_WF_ANSWER_REDIRECT, /* not the leader; `hint` names it (0: unknown) */
    SIM_WF_ANSWER_RETRY,    /* the proposal was refused or lost: resend later */
};

struct sim_wf_msg {
    bool used;
    uint32_t generation; /* events name it, so a reused slot ignores stale deliveries */
    enum sim_wf_msg_kind kind;
    uint32_t origin; /* requests and their answers: the request; reports: the worker */
    uint64_t seq;    /* the sender's attempt or report number, echoed in the answer */
    bool to_worker;  /* answers: to a worker (else to a submitter) */
    enum sim_wf_answer answer;
    enum wf_status status;
    uint32_t hint;
    union {
        struct wf_command command;       /* request, report: unstamped; a submit's def borrowed */
        struct wf_assignment assignment; /* assign */
    } u;
};

/* A workflow submission or control, sent until a result comes back. */
struct sim_wf_request {
    enum wf_command_type type;
    char workflow_id[WF_ID_BYTES_MAX + 1];
    uint32_t definition; /* submit: index into sim_wf.defs */
    uint64_t at_us;
    bool done;
    uint64_t seq;          /* sends so far; answers and timeouts for older sends are ignored */
    uint32_t target;       /* the node it believes leads */
    enum wf_status status; /* the answer, once done */
};

struct sim_wf_job {
    struct wf_assignment assignment;
    enum sim_wf_action action;
    char error_kind[WF_ERROR_KIND_BYTES_MAX + 1];
    uint64_t end_us;       /* when it ends: report, or crash for the crash actions */
    uint64_t next_beat_us; /* next lease extension; UINT64_MAX for none */
};

struct sim_wf_report {
    struct wf_command command;
    uint64_t seq;
    uint32_t sends;
    uint64_t deadline_us; /* the latest send's timeout: earlier timers lapse */
    bool resend; /* completions and failures are resent until answered; extensions are not */
};

struct sim_wf_worker {
    uint32_t id; /* the wf worker id, 0-based */
    bool up;
    uint32_t generation; /* bumped by every state change that obsoletes pending steps */
    uint32_t job_count;
    struct sim_wf_job jobs[SIM_WF_JOBS_MAX]; /* [0] runs; invariant: job_count <= JOBS_MAX */
    uint32_t report_count;
    struct sim_wf_report reports[SIM_WF_REPORTS_MAX];
    uint64_t report_seq;  /* reports are numbered from 1; answers with seq 0 answer a ping */
    uint32_t target;      /* node index it believes leads */
    uint32_t incarnation; /* its pings carry it: a crash ends the chain, a restart starts one */
    bool ping_unanswered; /* the last ping got no answer: the next goes to another node */
};

enum sim_wf_source {
    SIM_WF_FROM_COORDINATOR, /* the coordinator: in flight until applied */
    SIM_WF_FROM_CLIENT,      /* a submitter's request: answered when applied */
    SIM_WF_FROM_WORKER,      /* a worker's report: answered when applied */
};

struct sim_wf_proposal {
    uint64_t index;
    uint64_t term;
    enum sim_wf_source source;
    uint32_t origin; /* request index or worker id */
    uint64_t seq;
    struct wf_command command; /* coordinator proposals: what is in flight (def not kept) */
};

/* The workflow side of one node, reset when it crashes. */
struct sim_wf_node {
    bool ready;              /* leads and applied its own term's no-op */
    uint64_t term;           /* the term `ready` belongs to */
    uint64_t grace_until_ms; /* no lease expires before this */
    uint32_t proposal_count;
    struct sim_wf_proposal proposals[SIM_WF_PROPOSALS_MAX];
    uint64_t seen_us[SIM_WF_WORKERS_MAX]; /* the last ping from each worker (soft state) */
    struct wf_inv_view *before; /* its workflow state as of its last check (no_regression) */
};

struct sim_wf_stats {
    uint64_t submits_sent; /* submit sends, resends included */
    uint64_t submit_resends;
    uint64_t controls_sent;
    uint64_t answers[WF_STATUS_COUNT]; /* submitters' results by status */
    uint64_t coordinator_calls;
    uint64_t coordinator_proposals;
    uint64_t assignments_sent;
    uint64_t assignments_lost;     /* dropped in flight, or at a crashed or full worker */
    uint64_t assignments_repeated; /* a worker already held the token */
    uint64_t reports_sent;         /* report sends, resends included */
    uint64_t report_resends;
    uint64_t extends_sent;
    uint64_t worker_crashes;
    uint64_t worker_fails;
    uint64_t worker_lates;
    uint64_t worker_twice;
    uint64_t messages_dropped; /* worker and submitter messages lost in flight */
    uint64_t rebuilds;         /* nodes whose storage was replayed at the end */
    uint64_t rebuild_entries;
};

struct sim_wf {
    const struct sim_wf_scenario *scenario; /* the world's */
    bool enabled;                           /* a workflow is submitted */
    uint32_t def_count;
    struct wf_def *defs; /* owned; the scenario's definitions, loaded at setup */

    uint32_t request_count;
    uint32_t requests_done; /* invariant: how many requests are done (<= request_count) */
    struct sim_wf_request requests[SIM_WF_INSTANCES_MAX + SIM_WF_CONTROLS_MAX];
    struct sim_wf_worker workers[SIM_WF_WORKERS_MAX];
    struct sim_wf_node nodes[SIM_NODES_MAX];
    struct sim_wf_msg *messages; /* owned, SIM_WF_MESSAGES_MAX */
    struct sim_ledger ledger;

    /* The reference: the committed log applied in commit order; hashes by index. */
    struct replica_sm *reference;
    uint64_t *reference_hashes; /* owned; [index] = replica_sm_hash after applying it */
    uint64_t reference_capacity;
    struct wf_def *decode_scratch; /* owned: decoding submit commands */

    /* Scratch for the coordinator and encoding. */
    struct wf_command in_flight[SIM_WF_PROPOSALS_MAX];
    struct wf_command batch[SIM_WF_COORD_BATCH_MAX];
    uint8_t encode[WF_COMMAND_BYTES_MAX];

    /* Structured lines of the event being handled (replay --verbose), flushed after its line. */
    char *log;
    size_t log_used;
    bool log_committed; /* print the reference's lines (else the lines of options.log_nodes) */

    bool settle_armed; /* the faulty phase is over: the settle deadline is pending */
    /* sim_wf_settled's scan of the committed runs, as of the reference's applied index
     * settled_index (the runs change only when the reference applies): not state, a cache. */
    uint64_t settled_index;
    bool settled_runs;
    struct sim_wf_stats stats;
};

/* ---- world hooks (wf_driver.c unless noted) ---- */

/* Setup before the nodes start (loads definitions, schedules submissions). 0 or -1 (run error). */
int sim_wf_setup(struct sim_world *world);
void sim_wf_teardown(struct sim_world *world);
void sim_wf_event(struct sim_world *world, uint64_t arg, uint32_t node);
void sim_wf_phase_end(struct sim_world *world);
/* True when there is nothing left to wait for (always, without workflows). */
bool sim_wf_settled(const struct sim_world *world);
/* After the loop: final checks and the projector rebuild (closes every replica). */
void sim_wf_finish(struct sim_world *world);
void sim_wf_counters(const struct sim_world *world, struct report_run *run); /* wf_check.c */
/* Prints the structured lines buffered during the event (after the event's own line). */
void sim_wf_log_flush(struct sim_world *world);

/* node hooks */
void sim_wf_node_started(struct sim_world *world, struct sim_node *node);
void sim_wf_node_crashed(struct sim_world *world, struct sim_node *node);
void sim_wf_node_tick(struct sim_world *world, struct sim_node *node);
void sim_wf_on_update(struct sim_world *world, struct sim_node *node,
                      const struct raft_update *update);
/* A committed entry applied on the node, whose state now hashes to `state_hash`. */
void sim_wf_on_applied(struct sim_world *world, struct sim_node *node,
                       const struct raft_entry *entry, uint64_t state_hash);
void sim_wf_on_workflow_applied(struct sim_world *world, struct sim_node *node,
                                const struct raft_entry *entry, const struct wf_result *result);
void sim_wf_on_restored(struct sim_world *world, struct sim_node *node, uint64_t index,
                        uint64_t state_hash);
void sim_wf_log_line(struct sim_world *world, struct sim_node *node, const char *line, size_t len);

/* ---- internal, between the workflow plane's files ---- */

/* wf_driver.c: messages and events */
int sim_wf_push(struct sim_world *world, uint64_t at_us, enum sim_wf_event kind, uint32_t node,
                uint32_t index, uint32_t generation);
/* A free message slot (NULL when every slot is in flight: the message is lost, counted). */
struct sim_wf_msg *sim_wf_msg_alloc(struct sim_world *world, enum sim_wf_msg_kind kind);
/* Sends `msg` with the network's latency to `node` (a node index, or a worker or client index
 * for the other kinds); loss and duplication (a second slot, a copy) are drawn now. The slot is
 * freed after its delivery is handled (sim_wf_event). */
void sim_wf_msg_send(struct sim_world *world, struct sim_wf_msg *msg, enum sim_wf_event kind,
                     uint32_t node);
void sim_wf_msg_free(struct sim_world *world, struct sim_wf_msg *msg);
uint64_t sim_wf_latency(struct sim_world *world);
uint64_t sim_wf_now_ms(const struct sim_world *world);

/* wf_client.c */
void sim_wf_clients_start(struct sim_world *world);
void sim_wf_request_send(struct sim_world *world, uint32_t request, uint32_t generation);
void sim_wf_request_timeout(struct sim_world *world, uint32_t request, uint32_t generation);
void sim_wf_client_answer(struct sim_world *world, struct sim_wf_msg *msg);

/* workers.c */
void sim_wf_workers_start(struct sim_world *world);
void sim_wf_worker_receive(struct sim_world *world, struct sim_wf_msg *msg);
void sim_wf_worker_step(struct sim_world *world, uint32_t worker, uint32_t generation);
void sim_wf_worker_restart(struct sim_world *world, uint32_t worker, uint32_t generation);
void sim_wf_report_timeout(struct sim_world *world, uint32_t worker, uint32_t seq);
void sim_wf_worker_ping(struct sim_world *world, uint32_t worker, uint32_t incarnation);

/* wf_check.c */
int sim_wf_check_setup(struct sim_world *world);
void sim_wf_check_teardown(struct sim_world *world);
/* The global commit index moved: apply the newly committed entries (read from `node`'s log) to
 * the reference. */
void sim_wf_check_commit(struct sim_world *world, struct sim_node *node);
void sim_wf_check_applied(struct sim_world *world, struct sim_node *node, uint64_t index,
                          uint64_t state_hash, const char *what);
void sim_wf_check_replica(struct sim_world *world, struct sim_node *node, uint64_t index);
/* A worker begins executing an attempt: the committed log must have started it for that worker. */
void sim_wf_check_execution(struct sim_world *world, const struct wf_assignment *assignment,
                            uint32_t worker);
void sim_wf_check_effects(struct sim_world *world, const char *key);
void sim_wf_check_settle(struct sim_world *world, bool deadline);
void sim_wf_check_rebuild(struct sim_world *world);
/* The committed workflow state (the reference's). */
const struct wf_state *sim_wf_committed(const struct sim_world *world);

#endif
