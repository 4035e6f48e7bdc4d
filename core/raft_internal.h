/* The node's private state and the functions the core's files share (not part of the contract). */
#ifndef FLOWRAFT_CORE_RAFT_INTERNAL_H
#define FLOWRAFT_CORE_RAFT_INTERNAL_H

#include "core/prng.h"
#include "core/raft.h"
#include "core/raft_log.h"
#include "core/raft_progress.h"

#include <stdbool.h>
#include <stdint.h>

/* A batch of entries handed out for persistence and not yet acknowledged (obligation 5). */
struct raft_write {
    uint64_t index;   /* last entry of the batch, as the caller will acknowledge it */
    uint64_t term;    /* its term */
    uint64_t durable; /* what is durable once this write completes: its last index, clamped by
                         every later truncation (the disk then still holds the old suffix) */
};

/* A pending ReadIndex request (issue 6, §8). */
struct raft_read {
    uint64_t request_id;
    uint64_t index;   /* commit index when the read arrived (or when the no-op committed) */
    uint64_t context; /* heartbeat round that must be acknowledged by a quorum; 0 = not sent */
};

struct raft_node {
    struct raft_config config; /* copied at create; never changes */
    struct prng prng;          /* election timeout draws only */

    /* Persistent state (Figure 2). */
    uint64_t term; /* invariant: never decreases */
    uint32_t vote; /* invariant: set at most once per term (unless RAFT_BUG_DOUBLE_VOTE) */
    struct raft_log log;

    /* Volatile state. */
    enum raft_role role;
    uint32_t leader_id;
    uint64_t commit;         /* invariant: never decreases; <= last index */
    uint64_t persisted;      /* invariant: <= last index */
    uint64_t applied;        /* invariant: applied <= apply_handed */
    uint64_t apply_handed;   /* invariant: apply_handed <= min(commit, persisted) at hand-out */
    uint64_t unstable_index; /* first index not yet handed out for persistence */

    /* Timers, in ticks. */
    uint32_t election_elapsed;  /* follower/candidate: since leader/vote; leader: quorum period */
    uint32_t election_timeout;  /* randomized in [min, max] at every reset (§5.2) */
    uint32_t heartbeat_elapsed; /* leader only */

    /* Membership and per-member progress (voters, outgoing voters, learners; self included). */
    struct raft_membership membership;
    uint64_t membership_index; /* index of the CONFIG entry it came from; 0 = bootstrap/snapshot */
    struct raft_progress progress[RAFT_NODES_MAX];
    uint32_t progress_count;

    /* Persistence writes not yet acknowledged, oldest first. */
    struct raft_write *writes;
    uint32_t writes_capacity;
    uint32_t writes_head;
    uint32_t writes_count;

    /* Output buffers for one update (obligation 7: valid until the next step). */
    struct raft_hard_state hard_state_reported;
    enum raft_role role_reported;
    uint64_t term_reported;
    uint32_t leader_reported;
    uint64_t step_truncate_from; /* lowest truncation of handed-out entries in this step */
    struct raft_entry *out_entries;
    uint32_t out_entries_capacity;
    struct raft_message *out_messages;
    uint32_t out_message_count;
    struct raft_entry *out_message_entries;
    uint32_t out_message_entries_used;
    struct raft_entry *out_committed;
    uint32_t out_committed_capacity;

    /* Snapshots (issue 6, §7). A snapshot stream is [u32 membership length][membership]
     * [state machine bytes]; the node keeps its latest one and one being received. */
    uint8_t *snap_buf;       /* the latest snapshot's stream */
    uint8_t *recv_buf;       /* an InstallSnapshot being assembled */
    uint64_t snap_capacity;  /* bytes in each buffer; 0 = snapshots disabled */
    uint64_t snap_len;       /* stream length of the latest snapshot */
    uint64_t snapshot_index; /* invariant: never decreases; <= commit */
    uint64_t snapshot_term;
    struct raft_membership snapshot_membership;
    struct raft_snapshot snapshot_view; /* what updates point at */
    bool snapshot_to_persist;           /* hand snapshot_view out in the persist section */
    bool snapshot_restore_pending;      /* hand snapshot_view out in the apply section */
    uint64_t recv_index; /* InstallSnapshot being received: its index, term, length, progress */
    uint64_t recv_term;
    uint64_t recv_total;
    uint64_t recv_offset;
    uint64_t recv_leader_term; /* the term of the leader streaming it: chunks of another leader's
                                  stream never mix in, even for the same (index, term) */

    /* Leadership transfer (thesis §3.10). */
    uint32_t transfer_target; /* leader: transfer in progress to this id; 0 = none */
    uint32_t transfer_elapsed;

    /* ReadIndex (§8): a FIFO ring of read_requests_max + 1 slots. */
    struct raft_read *reads;
    uint32_t read_head;
    uint32_t read_count;
    uint64_t read_context; /* last heartbeat round started in this term */
    struct raft_read_result *out_reads;
    uint32_t out_read_count;

    bool stepped; /* raft_node_restore is allowed only before the first step */
    char errmsg[160];
};

/* ---- raft_step.c: output and bookkeeping shared by every handler ---- */

/* Appends an outgoing message with the common fields set; NULL if the update is full. */
struct raft_message *raft_send(struct raft_node *node, enum raft_message_type type, uint32_t to);
/* Withdraws the message raft_send just returned (it could not be completed). */
void raft_unsend(struct raft_node *node, struct raft_message *message);
/* Reserves `count` entry descriptors for a message; NULL if the update has no room left. */
struct raft_entry *raft_send_entries(struct raft_node *node, uint32_t count);
/* Drops log entries >= index (a real conflict, §5.3), keeping the persistence view right. */
void raft_truncate(struct raft_node *node, uint64_t index);
/* Sets the node's error message (printf-style) and returns `error`. */
int raft_fail(struct raft_node *node, int error, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- raft_membership.c: members, progress slots and quorums ---- */

struct raft_progress *raft_progress_find(struct raft_node *node, uint32_t id);
struct raft_progress *raft_progress_self(struct raft_node *node);
/* Leader only: the progress of the member that sent the answer m, marked recently active (thesis
 * §6.2, CheckQuorum); NULL when we do not lead or m is not from another member. */
struct raft_progress *raft_progress_answering(struct raft_node *node, const struct raft_message *m);
bool raft_is_voter(const struct raft_node *node, uint32_t id);
/* Rebuilds the progress slots for node->membership, keeping the progress of kept members. */
void raft_membership_apply(struct raft_node *node, const struct raft_membership *membership,
                           uint64_t index);
/* +1 if the granted votes form a quorum (of each voter set when joint), -1 if the rejections
 * make one impossible, 0 otherwise (§5.2, thesis §4.3). */
int raft_quorum_vote_result(const struct raft_node *node);
/* The highest index held by a quorum (min over both sets when joint), self counted by
 * node->persisted (thesis §10.2.1). */
uint64_t raft_quorum_match_index(const struct raft_node *node);
/* True if the peers heard from in this period form a quorum with self (check-quorum). */
bool raft_quorum_active(const struct raft_node *node);
/* True if the peers that echoed read context >= `context` form a quorum with self. */
bool raft_quorum_read_acked(const struct raft_node *node, uint64_t context);

/* ---- raft_election.c: roles, timers, votes ---- */

void raft_become_follower(struct raft_node *node, uint64_t term, uint32_t leader_id);
void raft_become_leader(struct raft_node *node);
/* Starts an election: a pre-vote round if enabled (unless `transfer`), else a real one. */
void raft_campaign(struct raft_node *node, bool transfer);
void raft_reset_election_timer(struct raft_node *node);
int raft_tick(struct raft_node *node);
/* True if this node heard from a leader within the minimum election timeout (thesis §4.2.3). */
bool raft_in_lease(const struct raft_node *node);
void raft_recv_vote(struct raft_node *node, const struct raft_message *message);
void raft_recv_vote_response(struct raft_node *node, const struct raft_message *message);

/* ---- raft_replication.c: AppendEntries, heartbeats, commit ---- */

/* Sends as many appends to `pr` as its state and window allow. */
void raft_replicate_to(struct raft_node *node, struct raft_progress *pr);
void raft_broadcast_append(struct raft_node *node);
void raft_broadcast_heartbeat(struct raft_node *node, uint64_t context);
/* Leader: advances commit to the quorum match index if that entry is of the current term. */
bool raft_maybe_commit(struct raft_node *node);
int raft_propose(struct raft_node *node, enum raft_entry_type type, const uint8_t *data,
                 size_t data_len, struct raft_update *update);
void raft_recv_append(struct raft_node *node, const struct raft_message *message);
void raft_recv_append_response(struct raft_node *node, const struct raft_message *message);
void raft_recv_heartbeat(struct raft_node *node, const struct raft_message *message);
void raft_recv_heartbeat_response(struct raft_node *node, const struct raft_message *message);
/* Follower: commit = max(commit, min(index, last index)) (§5.3, Figure 2). */
void raft_follower_commit(struct raft_node *node, uint64_t index);

/* ---- raft_recv.c: term rules, then dispatch by message type ---- */

int raft_recv(struct raft_node *node, const struct raft_message *message);

/* ---- raft_snapshot.c: taking, sending, receiving and installing snapshots (§7) ---- */

int raft_snapshot_take(struct raft_node *node, uint64_t index, const uint8_t *data, size_t len);
/* Leader: streams the latest snapshot to `pr` (stop-and-wait, one chunk in flight). */
void raft_snapshot_send(struct raft_node *node, struct raft_progress *pr);
void raft_recv_snapshot(struct raft_node *node, const struct raft_message *message);
void raft_recv_snapshot_response(struct raft_node *node, const struct raft_message *message);
/* Loads a recovered snapshot into an unstepped node (raft_node_restore). */
int raft_snapshot_restore(struct raft_node *node, const struct raft_snapshot *snapshot);
/* Points snapshot_view at the latest snapshot's metadata and state machine bytes. */
void raft_snapshot_view_refresh(struct raft_node *node);

/* ---- raft_reconfig.c: membership changes by joint consensus (§6, thesis §4.3) ---- */

int raft_change_config(struct raft_node *node, const struct raft_membership *target,
                       struct raft_update *update);
/* Re-derives the membership from the log (latest CONFIG entry), else snapshot, else bootstrap. */
void raft_membership_recompute(struct raft_node *node);
/* The configuration in force at `index` (<= the last index): the latest CONFIG entry at or
 * before it, else the snapshot's, else the bootstrap one. Returns the index it came from (the
 * entry's, the snapshot's, or 0 for the bootstrap). Scans back at most the in-memory log. */
uint64_t raft_membership_in_log(const struct raft_node *node, uint64_t index,
                                struct raft_membership *out);
/* The bootstrap membership from the config. */
void raft_membership_bootstrap(const struct raft_node *node, struct raft_membership *out);
/* Leader, after commit advanced: leave a committed joint configuration; step down if a
 * committed configuration no longer has this node as a voter. */
void raft_reconfig_on_commit(struct raft_node *node);
/* True if this node may start an election: a voter in its latest configuration, or in the
 * previous one while the latest (which leaves it out) is uncommitted. */
bool raft_may_campaign(struct raft_node *node);
/* Follower or leader appended a CONFIG entry at `index`: it takes effect now (§6). */
void raft_reconfig_on_append(struct raft_node *node, uint64_t index);

/* ---- raft_read.c: ReadIndex (§8) ---- */

int raft_read_index(struct raft_node *node, uint64_t request_id);
/* Leader, after commit advanced: reads waiting for the term's first commit get their index. */
void raft_reads_on_commit(struct raft_node *node);
/* Leader: completes the reads whose heartbeat round a quorum acknowledged. */
void raft_reads_check(struct raft_node *node);
/* Leadership is gone: every pending read completes with RAFT_ERR_NOT_LEADER. */
void raft_reads_fail_all(struct raft_node *node);

/* ---- raft_transfer.c: leadership transfer (thesis §3.10) ---- */

int raft_transfer_leadership(struct raft_node *node, uint32_t target);
/* Leader: sends TimeoutNow once the transfer target holds the whole log. */
void raft_transfer_maybe_send(struct raft_node *node, struct raft_progress *pr);

/* ---- shared helpers ---- */

/* Leader: appends an entry of the current term at last + 1 (requires room). */
void raft_append_local(struct raft_node *node, enum raft_entry_type type, const uint8_t *data,
                       uint32_t data_len);
/* Registers a persistence write the caller will acknowledge with (index, term). */
void raft_writes_push(struct raft_node *node, uint64_t index, uint64_t term);
/* Every pending write loses what a log rewrite removed: durable clamped to `below`. */
void raft_writes_clamp(struct raft_node *node, uint64_t below);

#endif
