/* Raft consensus as a pure, deterministic state machine: events in, one update out, no I/O. */
#ifndef FLOWRAFT_CORE_RAFT_H
#define FLOWRAFT_CORE_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * OVERVIEW
 *
 * A `struct raft_node` is one server of a Raft cluster (Ongaro and Ousterhout, "In Search of an
 * Understandable Consensus Algorithm", 2014, cited as §N; Ongaro's thesis, 2014, cited as
 * "thesis §N"). It is opaque, created once from a `struct raft_config` and changed only by
 * raft_step(). It performs no I/O, reads no clock and no environment, has no global state and
 * draws randomness only from its own PRNG (core/prng.h) seeded from the config: the same
 * sequence of events always produces the same sequence of updates, on every platform.
 *
 * MEMORY
 *
 * raft_node_create() makes the node's only allocation, sized from `config.limits`:
 *   - the in-memory log: a ring of entry metadata (term, type, payload position, running hash)
 *     holding at most `log_entries_max` entries, plus a ring arena of `log_bytes_max` payload
 *     bytes (an entry's payload is contiguous; the arena skips the tail rather than wrap one);
 *   - per-peer progress (next/match, an in-flight ring of at most RAFT_INFLIGHT_MAX appends);
 *   - the output buffers of one update: entries to persist, messages, the entry descriptors
 *     those messages carry, committed entries, and a ring of pending persistence writes;
 *   - the latest snapshot's bytes and a receive buffer for InstallSnapshot chunks.
 * raft_step() allocates nothing. When a bound would be exceeded the step degrades safely:
 * proposals return RAFT_ERR_BUSY, a follower accepts only the prefix of an AppendEntries that
 * fits (and says so in its reply), and messages that do not fit in the update are not sent
 * (Raft treats that like message loss).
 *
 * The in-memory log is the whole log after the latest snapshot (snapshots compact it); without
 * snapshots it must hold the whole log, at run time and when restoring after a restart.
 *
 * CALLER OBLIGATIONS (what the simulator and the node binary must do)
 *
 *  1. Create the node with a valid config (raft_config_check()). If storage recovered any
 *     state, hand it in with raft_node_restore() exactly once, before the first raft_step().
 *     A node with empty storage is not restored.
 *  2. Drive the node only through raft_step(), one call at a time per node. Process the whole
 *     update after EVERY call, whatever the return code: a failed proposal still returns an
 *     update that may carry committed entries or messages from earlier work.
 *  3. Persist section, in this order of durability:
 *       a. if `truncate_from_index` != 0, delete every stored entry with index >= it;
 *       b. if `snapshot` != NULL, store it (metadata with membership, and bytes) atomically,
 *          replacing the previous one, then delete every stored entry with index <= its index;
 *       c. append `entries[0..entry_count)` (contiguous, each with its index and term);
 *       d. if `hard_state_changed`, store `hard_state` {term, vote, commit}.
 *     The hard state's commit may name entries of the same update, so the entries must be
 *     durable no later than the hard state (write them first, or in one atomic batch). Several
 *     updates may be batched into one fsync (group commit), keeping their order.
 *  4. Send `messages` only after the persist section of this update AND of every earlier
 *     update is durable (§5.1 and Figure 2: a vote or an acknowledgement must never be sent
 *     before the state it depends on is on disk). Messages may then be lost, duplicated,
 *     reordered or delayed: the protocol tolerates all of it. A message is never addressed to
 *     its sender.
 *  5. Once an update's whole persist section is durable, step RAFT_EVENT_PERSISTED with the
 *     index and term of the LAST entry in its `entries` — or, if it has no entries but a
 *     `snapshot`, the snapshot's (index, term). Acknowledge in order; acknowledging a later
 *     update acknowledges every earlier one as well (so one ack per fsync is enough). Never
 *     acknowledge before the data is durable. Updates with neither need no acknowledgement. An
 *     acknowledgement that matches no pending write (e.g. after a truncation) is ignored.
 *  6. Apply `committed[0..committed_count)` to the state machines in order, each exactly once
 *     (only RAFT_ENTRY_COMMAND entries carry application data; NOOP and CONFIG entries are
 *     skipped by state machines but still count as applied). Afterwards, at any later time,
 *     step RAFT_EVENT_APPLIED with the highest index applied. Committed entries are handed out
 *     only once they are committed AND durable locally, and each exactly once per node
 *     lifetime: after a restart they start again after the restored snapshot (or from 1).
 *  7. Every pointer in an update is borrowed from the node and valid only until the next
 *     raft_step() or raft_node_destroy() on that node. Copy (or encode) what must outlive it —
 *     in particular messages held back until a group fsync completes.
 *  8. Step RAFT_EVENT_TICK at a fixed rate; every timeout is counted in ticks.
 *  9. A successful proposal reports its (index, term) in `proposed_index`/`proposed_term`. It
 *     is committed when an entry with that index AND term is handed out as committed; if a
 *     committed entry with that index has another term, the proposal was lost (§8: the client
 *     retries, ideally with a session so the retry is applied at most once).
 * 10. Received bytes go through raft_decode() (core/raft_codec.h) and are stepped as
 *     RAFT_EVENT_RECEIVE; messages addressed to another node are ignored.
 * 11. When `snapshot_restore` is set, replace the state machines' state with its bytes before
 *     applying any committed entry of the same update: this happens after a restart with a
 *     snapshot (the restored one is handed back in the first update) and after installing a
 *     snapshot received from the leader. After a restart, committed entries are handed out
 *     again from the snapshot's index + 1 (or from 1): state machines are rebuilt.
 * 12. Snapshots (§7): when the state machines have a snapshot at an applied index, step
 *     RAFT_EVENT_SNAPSHOT with its bytes (copied; at most limits.snapshot_bytes_max). The node
 *     keeps it to stream to lagging followers, compacts its in-memory log up to
 *     snapshot_trailing_entries behind it, and hands it back in `snapshot` for storage. A
 *     joining node refuses (RAFT_ERR_BUSY) while it does not know the configuration at that
 *     index; retry later.
 * 13. Reads (§8): a linearizable read is a RAFT_EVENT_READ_INDEX on the leader with a caller
 *     chosen request id. Its outcome arrives in a later (or the same) update's `reads`: on
 *     RAFT_OK serve it from the state machines once they have applied `index`; on
 *     RAFT_ERR_NOT_LEADER retry elsewhere. Lease-based reads are not offered.
 * 14. Membership (§6): RAFT_EVENT_CHANGE_CONFIG on the leader with the target voters and
 *     learners. Voter changes go through a joint configuration the leader leaves by itself once
 *     it commits; RAFT_ERR_BUSY while a change is uncommitted. Add a node as a learner first,
 *     wait until its match index (raft_node_peer_match) is close to the leader's last index,
 *     then promote it. A new node is created with voter_count 0 and learns the configuration
 *     from the leader. A leader removed from the voters steps down once that commits.
 * 15. Leadership transfer (thesis §3.10): RAFT_EVENT_TRANSFER_LEADERSHIP on the leader; it
 *     refuses proposals (RAFT_ERR_BUSY) until the target has taken over or
 *     election_timeout_ticks_max ticks have passed.
 */

/* Compile-time ceilings. Runtime limits (struct raft_limits) must stay at or below them. */
#define RAFT_NODES_MAX          32u /* distinct ids in any configuration, joint ones included */
#define RAFT_INFLIGHT_MAX       64u /* in-flight AppendEntries per peer */
#define RAFT_ENTRY_BYTES_MAX    (16u << 20) /* one entry's payload */
#define RAFT_APPEND_ENTRIES_MAX 4096u       /* entries in one AppendEntries message */
#define RAFT_APPEND_BYTES_MAX   (16u << 20) /* payload bytes in one AppendEntries message */
#define RAFT_SNAPSHOT_CHUNK_MAX (16u << 20) /* bytes in one InstallSnapshot chunk */
#define RAFT_LOG_ENTRIES_MAX    (1u << 26)  /* in-memory log ring */
#define RAFT_MESSAGES_MAX       65536u      /* messages in one update */
#define RAFT_READS_MAX          65536u      /* pending ReadIndex requests */
/* Terms and log indices above these are refused wherever they enter (received messages,
 * restore), so term + 1 and index + 1 never overflow. */
#define RAFT_TERM_MAX  (UINT64_MAX >> 2)
#define RAFT_INDEX_MAX (UINT64_MAX >> 2)

/* Return codes. 0 is success; errors are negative. raft_strerror() names them. */
enum raft_error {
    RAFT_OK = 0,
    RAFT_ERR_NOT_LEADER = -1, /* proposal/read/transfer on a non-leader; see update.leader_id */
    RAFT_ERR_BUSY = -2,       /* a limit would be exceeded now (log full, transfer running, a
                                 configuration change pending); retry later */
    RAFT_ERR_TOO_BIG = -3,    /* the payload can never fit (entry_bytes_max) */
    RAFT_ERR_INVALID = -4,    /* a malformed event or argument (e.g. a bad configuration) */
    RAFT_ERR_CORRUPT = -5,    /* raft_node_restore: the recovered state is inconsistent */
    RAFT_ERR_NOSPACE = -6,    /* codec: the output buffer is too small */
    RAFT_ERR_DECODE = -7,     /* codec: the input is not a valid frame (see the reason) */
};

enum raft_role {
    RAFT_FOLLOWER = 1,
    RAFT_PRE_CANDIDATE = 2, /* thesis §9.6: polling without disturbing anyone's term */
    RAFT_CANDIDATE = 3,
    RAFT_LEADER = 4,
};

enum raft_entry_type {
    RAFT_ENTRY_NOOP = 1,    /* appended by every new leader (§8, thesis §6.4) */
    RAFT_ENTRY_COMMAND = 2, /* application payload; first byte names the state machine */
    RAFT_ENTRY_CONFIG = 3,  /* membership; payload by raft_membership_encode() */
};

/* A log entry as handed across the interface. The payload is borrowed (see obligation 7). */
struct raft_entry {
    uint64_t index; /* invariant: >= 1 */
    uint64_t term;  /* invariant: >= 1; never changes for a given index once committed */
    enum raft_entry_type type;
    uint32_t data_len;   /* invariant: <= RAFT_ENTRY_BYTES_MAX */
    const uint8_t *data; /* NULL only when data_len == 0 */
};

/* State that must be durable before any message of the same update is sent (§5.1, Figure 2). */
struct raft_hard_state {
    uint64_t term;   /* invariant: never decreases, across restarts too */
    uint32_t vote;   /* node voted for in `term`, 0 = none; never changes within a term */
    uint64_t commit; /* invariant: never decreases (persisted so restarts apply sooner) */
};

/*
 * Cluster membership. A configuration is joint
 * (§6, thesis §4.3) while `voters_outgoing_count` > 0: decisions then need a majority of
 * `voters` AND a majority of `voters_outgoing`. Learners receive the log but never vote and
 * never count toward a quorum. Invariants: ids are nonzero and distinct within each list; a
 * learner is not a voter; the union of all three lists has at most RAFT_NODES_MAX ids.
 */
struct raft_membership {
    uint32_t voters[RAFT_NODES_MAX];
    uint32_t voter_count;
    uint32_t voters_outgoing[RAFT_NODES_MAX];
    uint32_t voters_outgoing_count; /* 0 unless joint */
    uint32_t learners[RAFT_NODES_MAX];
    uint32_t learner_count;
};

/* Snapshot metadata: the snapshot replaces every entry up to and including `index`. */
struct raft_snapshot_meta {
    uint64_t index;                    /* last included index; 0 = no snapshot */
    uint64_t term;                     /* term of that entry */
    struct raft_membership membership; /* latest configuration at or before `index` */
};

/* A snapshot with its bytes (the state machines' serialized state), borrowed. */
struct raft_snapshot {
    struct raft_snapshot_meta meta;
    const uint8_t *data;
    uint64_t data_len; /* invariant: <= limits.snapshot_bytes_max */
};

/* ---- Messages (the codec in core/raft_codec.h puts them on the wire) ---- */

enum raft_message_type {
    RAFT_MSG_APPEND = 1,          /* AppendEntries request (§5.3) */
    RAFT_MSG_APPEND_RESPONSE = 2, /* its reply, success or rejection with a backtracking hint */
    RAFT_MSG_VOTE = 3,            /* RequestVote (§5.2) */
    RAFT_MSG_VOTE_RESPONSE = 4,
    RAFT_MSG_PRE_VOTE = 5, /* thesis §9.6; `term` is the term the sender would campaign in */
    RAFT_MSG_PRE_VOTE_RESPONSE = 6,
    RAFT_MSG_HEARTBEAT = 7, /* leader liveness + commit; carries ReadIndex context */
    RAFT_MSG_HEARTBEAT_RESPONSE = 8,
    RAFT_MSG_SNAPSHOT = 9, /* InstallSnapshot chunk (§7) */
    RAFT_MSG_SNAPSHOT_RESPONSE = 10,
    RAFT_MSG_TIMEOUT_NOW = 11, /* leadership transfer (thesis §3.10); no body */
};
#define RAFT_MESSAGE_TYPE_COUNT 11

/* AppendEntries: entries prev_index+1 .. prev_index+entry_count, all of the sender's log. */
struct raft_append {
    uint64_t prev_index;
    uint64_t prev_term;
    uint64_t commit;                  /* the leader's commit index */
    const struct raft_entry *entries; /* borrowed; entries[i].index == prev_index + 1 + i */
    uint32_t entry_count;             /* invariant: <= RAFT_APPEND_ENTRIES_MAX */
};

/*
 * AppendEntries reply. On success the follower's log matches the leader's up to
 * `index` (the last entry the request proved or added). On rejection `index` is the request's
 * prev_index, and (hint_index, hint_term) guide fast backtracking (§5.3 end, thesis §5.4.2):
 * hint_term = 0 means "my log ends at hint_index - 1"; otherwise hint_term is the term of my
 * entry at prev_index and hint_index the first index I hold with that term.
 */
struct raft_append_response {
    bool reject;
    uint64_t index;
    uint64_t hint_index;
    uint64_t hint_term;
    uint64_t last_index; /* the responder's last log index, informational */
};

/* RequestVote and PreVote (§5.2, §5.4.1, thesis §9.6). */
struct raft_vote {
    uint64_t last_index;
    uint64_t last_term;
    bool transfer; /* campaign caused by leadership transfer: ignore leader stickiness */
};

struct raft_vote_response {
    bool granted;
};

/* Heartbeat: commit is min(leader commit, the receiver's match index), always safe to adopt. */
struct raft_heartbeat {
    uint64_t commit;
    uint64_t context; /* ReadIndex round, echoed back; 0 = none */
};

struct raft_heartbeat_response {
    uint64_t context;
};

/*
 * InstallSnapshot chunk. The stream is the sender's snapshot as
 * [membership encoding][state machine bytes]; `total_len` its size, chunk at `offset`.
 */
struct raft_snapshot_chunk {
    uint64_t last_index;
    uint64_t last_term;
    uint64_t total_len;
    uint64_t offset;
    const uint8_t *data; /* borrowed */
    uint32_t data_len;   /* invariant: <= RAFT_SNAPSHOT_CHUNK_MAX */
};

struct raft_snapshot_response {
    bool reject;         /* the receiver cannot use the chunk; restart from offset 0 */
    uint64_t last_index; /* the snapshot this answers */
    uint64_t offset;     /* bytes received so far (next expected offset); == total when done */
};

struct raft_message {
    enum raft_message_type type;
    uint64_t term; /* the sender's current term (a PreVote carries the term it would use) */
    uint32_t from; /* invariant: nonzero */
    uint32_t to;   /* invariant: nonzero, != from */
    union {
        struct raft_append append;
        struct raft_append_response append_response;
        struct raft_vote vote;                   /* VOTE and PRE_VOTE */
        struct raft_vote_response vote_response; /* VOTE_RESPONSE and PRE_VOTE_RESPONSE */
        struct raft_heartbeat heartbeat;
        struct raft_heartbeat_response heartbeat_response;
        struct raft_snapshot_chunk snapshot;
        struct raft_snapshot_response snapshot_response;
    };
};

/* ---- Configuration ---- */

/* Deliberately broken behaviours, for simulator tests that prove the checkers catch them. */
enum raft_test_bug {
    RAFT_BUG_DOUBLE_VOTE = 1u << 0,             /* grants a second, different vote in one term */
    RAFT_BUG_COMMIT_PREVIOUS_TERM = 1u << 1,    /* commits by counting replicas of a previous-term
                                                   entry (the §5.4.2 / Figure 8 bug) */
    RAFT_BUG_READ_WITHOUT_QUORUM = 1u << 2,     /* ReadIndex without a heartbeat round */
    RAFT_BUG_READ_BEFORE_NOOP_COMMIT = 1u << 3, /* ReadIndex before the term's no-op
                                                   commits */
    RAFT_BUG_UNSAFE_CONFIG_CHANGE = 1u << 4,    /* direct (non-joint) change applied
                                                   before the previous one commits */
    RAFT_BUG_SNAPSHOT_TRUNCATES_NEWER_LOG = 1u << 5, /* an InstallSnapshot discards
                                                        entries newer than the snapshot */
};
#define RAFT_BUGS_ALL 0x3fu

/* Named bounds on everything the node holds or emits. raft_config_default() fills them. */
struct raft_limits {
    uint32_t log_entries_max;      /* entries held in memory */
    uint64_t log_bytes_max;        /* payload bytes held in memory */
    uint32_t entry_bytes_max;      /* one proposal's payload; <= append_bytes_max */
    uint32_t append_entries_max;   /* entries per AppendEntries */
    uint32_t append_bytes_max;     /* payload bytes per AppendEntries */
    uint32_t inflight_appends_max; /* unacknowledged AppendEntries per peer (pipelining) */
    uint32_t messages_per_update_max;
    uint32_t message_entries_per_update_max; /* entry descriptors across one update's messages */
    uint32_t apply_entries_per_update_max;   /* committed entries handed out per update */
    uint64_t snapshot_bytes_max;             /* a snapshot's state machine bytes; 0 disables
                                                snapshots (two buffers of this size are held) */
    uint32_t snapshot_chunk_bytes_max;       /* bytes per InstallSnapshot chunk */
    uint32_t snapshot_trailing_entries;      /* entries kept in memory behind a snapshot */
    uint32_t read_requests_max;              /* pending ReadIndex requests */
};

struct raft_config {
    uint32_t id; /* this node; invariant: nonzero */
    /* Initial (bootstrap) configuration, used until the log or a snapshot holds a CONFIG entry.
     * Every founding member must be created with the same lists. A node joining later is
     * created with voter_count == 0: it never campaigns and learns the configuration from the
     * leader. */
    uint32_t voter_ids[RAFT_NODES_MAX];
    uint32_t voter_count;
    uint32_t learner_ids[RAFT_NODES_MAX];
    uint32_t learner_count;
    uint32_t election_timeout_ticks_min; /* invariant: > heartbeat_interval_ticks */
    uint32_t election_timeout_ticks_max; /* each timeout is drawn uniformly in [min, max] */
    uint32_t heartbeat_interval_ticks;   /* invariant: >= 1 */
    uint64_t seed;                       /* seeds the node's PRNG (election timeouts) */
    bool pre_vote;                       /* thesis §9.6; default on */
    bool check_quorum; /* thesis §6.2: a leader without a quorum for one election timeout
                          steps down, and followers ignore votes while they hear a leader
                          (thesis §4.2.3); default on */
    struct raft_limits limits;
    uint32_t test_bugs; /* enum raft_test_bug bits; 0 in production (the node binary) */
};

/* Fills `config` with defaults: id 0 and no voters (the caller sets them), timeouts 10..20
 * ticks, heartbeat 2 ticks, pre_vote and check_quorum on, default limits, test_bugs 0. */
void raft_config_default(struct raft_config *config);

/* RAFT_OK if `config` is usable; otherwise RAFT_ERR_INVALID and *reason (a static string)
 * names the field. `reason` may be NULL. */
int raft_config_check(const struct raft_config *config, const char **reason);

/* ---- Lifetime ---- */

struct raft_node;

/* Creates a follower in term 0 with an empty log. Returns NULL if the config is invalid (see
 * raft_config_check) or the allocation fails. The config is copied. */
struct raft_node *raft_node_create(const struct raft_config *config);

/* Frees the node. NULL is allowed. */
void raft_node_destroy(struct raft_node *node);

/* What storage recovered after a restart. */
struct raft_restore {
    struct raft_hard_state hard_state;
    const struct raft_snapshot *snapshot; /* NULL = none */
    /* Contiguous entries in index order, starting at 1 (or at most at snapshot index + 1;
     * entries at or below the snapshot index are skipped). Copied into the node. */
    const struct raft_entry *entries;
    size_t entry_count;
};

/*
 * Loads recovered state into a node that has not been stepped yet (obligation 1). Everything
 * recovered counts as durable. Returns RAFT_OK, RAFT_ERR_CORRUPT if the state is inconsistent
 * (non-contiguous indices, decreasing terms, a commit beyond the last entry, an entry of unknown
 * type or with a payload beyond RAFT_ENTRY_BYTES_MAX), or RAFT_ERR_BUSY if it exceeds the limits;
 * raft_node_errmsg() then says which. On error the node is unchanged. A log or snapshot whose
 * last term is above hard_state.term is a legal crash state (obligation 3 writes the hard state
 * last): the node restarts in that term with no vote, and its first update stores it.
 */
int raft_node_restore(struct raft_node *node, const struct raft_restore *restore);

/* The reason for the last error returned by raft_node_restore() or raft_step() ("" if none).
 * Owned by the node; valid until the next call on it. */
const char *raft_node_errmsg(const struct raft_node *node);

/* ---- Stepping ---- */

enum raft_event_type {
    RAFT_EVENT_TICK = 1,
    RAFT_EVENT_RECEIVE = 2,             /* a decoded message */
    RAFT_EVENT_PROPOSE = 3,             /* leader: append a COMMAND entry */
    RAFT_EVENT_PERSISTED = 4,           /* storage made entries durable up to (index, term) */
    RAFT_EVENT_APPLIED = 5,             /* state machines applied committed entries up to index */
    RAFT_EVENT_SNAPSHOT = 6,            /* state machines produced a snapshot at index */
    RAFT_EVENT_READ_INDEX = 7,          /* leader: linearizable read request (§8) */
    RAFT_EVENT_TRANSFER_LEADERSHIP = 8, /* leader: hand leadership to target */
    RAFT_EVENT_CHANGE_CONFIG = 9,       /* leader: move to a new membership */
};

struct raft_event {
    enum raft_event_type type;
    union {
        struct {
            const struct raft_message *message; /* borrowed for the call */
        } receive;
        struct {
            const void *data; /* copied into the log */
            size_t data_len;
        } propose;
        struct {
            uint64_t index;
            uint64_t term;
        } persisted;
        struct {
            uint64_t index;
        } applied;
        struct {
            uint64_t index;   /* <= applied index */
            const void *data; /* state machine bytes, copied */
            size_t data_len;
        } snapshot;
        struct {
            uint64_t request_id; /* caller's id, echoed in update.reads */
        } read_index;
        struct {
            uint32_t target_id;
        } transfer;
        struct {
            const struct raft_membership *membership; /* the target (voters, learners) */
        } change_config;
    };
};

/* Outcome of a ReadIndex request: serve the read once applied >= index. */
struct raft_read_result {
    uint64_t request_id;
    uint64_t index;
    int status; /* RAFT_OK, or RAFT_ERR_NOT_LEADER if leadership was lost first */
};

/* One step's output. Sections are listed in order of obligation (see the top of this file). */
struct raft_update {
    /* (1) Persist. */
    bool hard_state_changed;
    struct raft_hard_state hard_state;
    uint64_t truncate_from_index;     /* 0 = none; else delete stored entries >= it first */
    const struct raft_entry *entries; /* to append; contiguous */
    size_t entry_count;
    const struct raft_snapshot *snapshot; /* store atomically; then drop stored entries
                                             <= its index. NULL = none */

    /* (2) Send, only after (1) and every earlier update's (1) are durable. */
    const struct raft_message *messages;
    size_t message_count;

    /* (3) Apply, in order: first restore from `snapshot_restore` if set, then the
     * committed entries. */
    const struct raft_snapshot *snapshot_restore;
    const struct raft_entry *committed;
    size_t committed_count;
    const struct raft_read_result *reads; /* ReadIndex outcomes (obligation 13) */
    size_t read_count;

    /* Soft state after the step, always filled. */
    enum raft_role role;
    uint64_t term;
    uint32_t leader_id;      /* 0 = unknown */
    bool soft_state_changed; /* role, term or leader differ from the previous update */
    uint64_t proposed_index; /* PROPOSE / CHANGE_CONFIG success: where the entry went */
    uint64_t proposed_term;
};

/*
 * The only mutator. Applies one event and fills `update` (which it clears first). Returns
 * RAFT_OK, or for a proposal RAFT_ERR_NOT_LEADER / RAFT_ERR_BUSY / RAFT_ERR_TOO_BIG, for a
 * malformed event RAFT_ERR_INVALID (raft_node_errmsg says why). Received messages that are
 * stale, duplicated or not addressed to this node are not errors: they are ignored or answered
 * as the protocol says. Obligation 2: the update must be processed whatever the return code.
 */
int raft_step(struct raft_node *node, const struct raft_event *event, struct raft_update *update);

/* ---- Read-only accessors (for checkers, the node binary and tests) ---- */

uint32_t raft_node_id(const struct raft_node *node);
uint64_t raft_node_term(const struct raft_node *node);
uint32_t raft_node_vote(const struct raft_node *node);
enum raft_role raft_node_role(const struct raft_node *node);
uint32_t raft_node_leader(const struct raft_node *node);
uint64_t raft_node_commit_index(const struct raft_node *node);
/* Highest index acknowledged with RAFT_EVENT_APPLIED (or the restored snapshot index). */
uint64_t raft_node_applied_index(const struct raft_node *node);
uint64_t raft_node_last_index(const struct raft_node *node);
uint64_t raft_node_last_term(const struct raft_node *node);
/* First index held in memory; last_index + 1 when the log is empty. */
uint64_t raft_node_first_index(const struct raft_node *node);
/* Highest index known durable locally (restored, or acknowledged with RAFT_EVENT_PERSISTED). */
uint64_t raft_node_persisted_index(const struct raft_node *node);
/* Term of the entry at `index` into *term: true if known (held, or the snapshot's last entry;
 * index 0 has term 0), false otherwise. */
bool raft_node_term_at(const struct raft_node *node, uint64_t index, uint64_t *term);
/* The entry at `index` (payload borrowed until the next raft_step): true if held. */
bool raft_node_entry_at(const struct raft_node *node, uint64_t index, struct raft_entry *entry);
/* Current membership (the latest CONFIG entry in the log, else snapshot, else bootstrap). */
const struct raft_membership *raft_node_membership(const struct raft_node *node);
/* Index of the entry the current membership comes from (the snapshot's index if from a
 * snapshot, 0 for the bootstrap one); it is committed once commit_index reaches it. */
uint64_t raft_node_membership_index(const struct raft_node *node);
/* Index of the latest snapshot held (0 = none). */
uint64_t raft_node_snapshot_index(const struct raft_node *node);
/* The latest snapshot held (metadata and state machine bytes, borrowed until the next step),
 * or NULL if none. */
const struct raft_snapshot *raft_node_snapshot(const struct raft_node *node);
/* Leader: the match index of peer `id` into *match_index (true if `id` is a member). For
 * deciding when a learner has caught up. */
bool raft_node_peer_match(const struct raft_node *node, uint32_t id, uint64_t *match_index);

/*
 * XXH3 fingerprint of the protocol state: term, vote, role, leader, the log's ids (a running
 * hash over each entry's term, type and payload hash, chained from the snapshot), commit,
 * applied and persisted indices, the membership's index, the snapshot index, a transfer in
 * progress, the number of pending reads, the vote tally, and, on a leader, every peer's progress
 * (next, match, state, in-flight count). Timers and the PRNG are excluded, so two nodes that
 * differ only in when their next timeout fires hash equal.
 */
uint64_t raft_state_hash(const struct raft_node *node);

/* Static names, for logs and traces. */
const char *raft_role_name(enum raft_role role);
const char *raft_message_type_name(enum raft_message_type type);
const char *raft_entry_type_name(enum raft_entry_type type);
const char *raft_event_type_name(enum raft_event_type type);
const char *raft_strerror(int error);

#endif
