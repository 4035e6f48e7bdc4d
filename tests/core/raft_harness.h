/* Scripted Raft cluster for tests: manual delivery, faults, simulated disks and safety checkers. */
#ifndef FLOWRAFT_TESTS_CORE_RAFT_HARNESS_H
#define FLOWRAFT_TESTS_CORE_RAFT_HARNESS_H

#include "core/prng.h"
#include "core/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A harness owns up to H_NODES_MAX nodes with ids 1..n, a network (a list of encoded frames in
 * flight: every message crosses the real codec), and one simulated disk per node. Tests deliver,
 * drop, duplicate and reorder frames by position, crash and restart nodes (a restart restores
 * exactly what reached the disk), and make persistence synchronous (default) or manual
 * (h_sync). After EVERY step the checkers below run; the first violation is kept in
 * h->violation (never aborting), so a test can assert either that none happened or, with a
 * deliberately broken node (config.test_bugs), that one did.
 *
 * Checked invariants: term monotonic (in memory and on disk); at most one vote per term on disk;
 * election safety (one leader per term); log matching (equal (index, term) => equal prefixes);
 * leader append-only; leader completeness; commit index monotonic and within the log; state
 * machine safety (one entry per committed index, cluster-wide); apply exactly once and in order;
 * the persistence contract (appends contiguous on disk; messages only after durability).
 */

#define H_NODES_MAX 9
#define H_LOG_MAX   16384 /* indices the checkers track */
#define H_TERMS_MAX 16384

struct h_entry {
    uint64_t index;
    uint64_t term;
    enum raft_entry_type type;
    uint32_t data_len;
    uint8_t *data; /* owned */
};

struct h_frame {
    uint8_t *bytes; /* owned, encoded with raft_encode */
    size_t len;
    uint32_t from;
    uint32_t to;
    enum raft_message_type type;
};

struct h_write; /* an update's persist section and messages awaiting h_sync */

struct h_snapshot {
    struct raft_snapshot_meta meta; /* meta.index 0 = none */
    uint8_t *data;                  /* owned */
    uint64_t data_len;
};

/* The harness's state machine: a running hash of applied commands. Its snapshot is these three
 * words, little-endian, followed (if harness.snapshot_pad) by 0..H_SNAPSHOT_PAD_MAX filler bytes
 * that restore ignores. */
#define H_SNAPSHOT_PAD_MAX 96
struct h_sm {
    uint64_t applied;
    uint64_t hash;
    uint64_t commands;
};

/* A ReadIndex request and, once answered, its outcome. */
struct h_read {
    uint32_t node;
    uint64_t request_id;
    uint64_t committed_at_request; /* highest index known committed anywhere when issued */
    bool done;
    int status;
    uint64_t index;
};
#define H_READS_MAX 4096

struct h_node {
    uint32_t id;
    struct raft_config config;
    struct raft_node *raft; /* NULL while crashed */
    /* disk */
    struct raft_hard_state disk_hs;
    struct h_snapshot disk_snapshot;
    struct h_entry *disk; /* entries after the disk snapshot, contiguous */
    size_t disk_count;
    size_t disk_cap;
    bool manual_sync;
    struct h_write *pending_head;
    struct h_write *pending_tail;
    /* acknowledgements to step after the current update */
    uint64_t ack_persisted_index;
    uint64_t ack_persisted_term;
    uint64_t ack_applied;
    /* state machine of the current lifetime */
    uint64_t applied;
    uint64_t sm_hash;
    uint64_t commands_applied;
    uint64_t snapshot_index; /* checker: never decreases */
    /* checker memory for the current lifetime */
    uint64_t max_term;
    uint64_t last_commit;
    uint64_t checked_commit;
    uint64_t vote_term;
    uint32_t vote_for;
    uint64_t lead_term; /* leader append-only: term, last index, prefix hash when last seen */
    uint64_t lead_last;
    uint64_t lead_prefix;
    uint64_t restarts;
    uint64_t last_truncate_from;  /* the latest nonzero truncate_from_index handed to storage */
    uint64_t snapshots_installed; /* updates that carried snapshot_restore */
};

struct h_committed {
    bool set;
    uint64_t term;
    uint64_t hash;      /* of type and payload */
    uint64_t seen_term; /* term of the node that first reported it committed */
};

struct harness {
    uint32_t n;
    struct h_node nodes[H_NODES_MAX];
    struct h_frame *net;
    size_t net_count;
    size_t net_cap;
    struct raft_entry *scratch; /* decode buffer, RAFT_APPEND_ENTRIES_MAX entries */
    uint32_t term_leader[H_TERMS_MAX];
    struct h_committed committed[H_LOG_MAX + 1];
    uint64_t committed_max;     /* highest index known committed anywhere */
    bool sm_set[H_LOG_MAX + 1]; /* state machine hash after applying index i */
    uint64_t sm_at[H_LOG_MAX + 1];
    struct h_read reads[H_READS_MAX];
    uint32_t read_count;
    uint64_t prefix[H_NODES_MAX][H_LOG_MAX + 1];    /* per node: sum of entry hashes up to i */
    bool blocked[H_NODES_MAX + 1][H_NODES_MAX + 1]; /* blocked[from][to]: frames dropped */
    char violation[512];
    uint64_t steps;
    uint64_t last_proposed_index;
    uint64_t delivered;
    uint64_t dropped;
    bool trace;
    bool snapshot_pad; /* h_take_snapshot varies the snapshot length with the state */
};

/* Adjusts the default config of node `id` before it is created (may be NULL). */
typedef void h_config_fn(struct raft_config *config, uint32_t id, void *ctx);

/* Creates n nodes (1..n, all voters) with raft_config_default, seed derived from `seed`. */
struct harness *h_create(uint32_t n, uint64_t seed, h_config_fn *adjust, void *ctx);
void h_destroy(struct harness *h);

struct h_node *h_node(struct harness *h, uint32_t id);
struct raft_node *h_raft(struct harness *h, uint32_t id);

/* Steps one event on node `id` and processes the resulting update (plus its acks). */
int h_step(struct harness *h, uint32_t id, const struct raft_event *event);
int h_tick(struct harness *h, uint32_t id);
void h_tick_all(struct harness *h, uint32_t ticks);
/* Proposes a COMMAND; on success *index (may be NULL) is where it went. */
int h_propose(struct harness *h, uint32_t id, const char *text, uint64_t *index);
/* Proposes n COMMANDs "TAG-0" .. "TAG-(n-1)" on `id`; aborts (failing the test) if one is
 * refused. */
void h_propose_n(struct harness *h, uint32_t id, int n, const char *tag);
/* `rounds` times: one tick of `id` (a leader's heartbeat), then every message delivered. */
void h_settle(struct harness *h, uint32_t id, int rounds);

/* Network. Positions are indices into h->net. */
void h_deliver(struct harness *h, size_t position);
void h_drop(struct harness *h, size_t position);
void h_duplicate(struct harness *h, size_t position);
/* Moves the frame at `position` to the end of the queue (reordering). */
void h_reorder(struct harness *h, size_t position);
/* Delivers frames in FIFO order until none are left (bounded); returns how many. */
size_t h_deliver_all(struct harness *h);
/* Decides per frame: true delivers it, false drops it. Runs until the network is empty. */
typedef bool h_filter_fn(const struct raft_message *message, void *ctx);
size_t h_deliver_filtered(struct harness *h, h_filter_fn *filter, void *ctx);
/* Decodes the frame at `position` into *message (entries into h->scratch). */
void h_peek(struct harness *h, size_t position, struct raft_message *message);
/* Position of the first frame of `type` from -> to (0 = any), or SIZE_MAX. */
size_t h_find(struct harness *h, enum raft_message_type type, uint32_t from, uint32_t to);
void h_block(struct harness *h, uint32_t from, uint32_t to, bool blocked);
/* Steps a crafted message into node `message->to` (through the codec), bypassing the network. */
int h_inject(struct harness *h, const struct raft_message *message);
/* Drops every frame in flight. */
void h_clear_net(struct harness *h);
/* Number of frames in flight of `type` from -> to (0 = any). */
size_t h_count(struct harness *h, enum raft_message_type type, uint32_t from, uint32_t to);
/* Cuts every link between `id` and the others (both ways), or heals them. */
void h_isolate(struct harness *h, uint32_t id, bool isolated);

/* Persistence. */
void h_set_manual_sync(struct harness *h, uint32_t id, bool manual);
/* Makes every pending write of `id` durable, releases its held messages, acks it. */
void h_sync(struct harness *h, uint32_t id);
void h_crash(struct harness *h, uint32_t id);
/* Crashes `id` inside its group commit, after the pending writes' truncations, snapshots and
 * entries reached the disk but before their hard state did (raft.h obligation 3 orders the hard
 * state last, so this is a legal crash state). Messages held for the commit are lost. */
void h_crash_before_hard_state(struct harness *h, uint32_t id);
void h_restart(struct harness *h, uint32_t id);
/* Replaces node id's disk with a log of the given terms (payload "e<index>t<term>"), term and
 * commit; the node restarts from it. */
void h_load_log(struct harness *h, uint32_t id, const uint64_t *terms, size_t count, uint64_t term,
                uint64_t commit);

/* Elects `id`: ticks it (only it) until it leads, delivering frames between allowed nodes
 * (allowed_mask bit i = node i+1; 0 = all). Returns true if it became leader. */
bool h_elect(struct harness *h, uint32_t id, uint32_t allowed_mask);
/* The unique leader with the highest term among live nodes, or 0. */
uint32_t h_leader(const struct harness *h);

/* Issue 6 operations. */
/* Snapshots node id's state machine at its applied index (RAFT_EVENT_SNAPSHOT). */
int h_take_snapshot(struct harness *h, uint32_t id);
/* Issues a ReadIndex on node id; *slot (may be NULL) is its index in h->reads. */
int h_read(struct harness *h, uint32_t id, uint32_t *slot);
/* Proposes a membership change on node id: voters and learners given as id lists. */
int h_change_config(struct harness *h, uint32_t id, const uint32_t *voters, uint32_t voter_count,
                    const uint32_t *learners, uint32_t learner_count);
int h_transfer(struct harness *h, uint32_t id, uint32_t target);

/* Runs all checkers now (they also run after every step). */
bool h_check(struct harness *h);
/* True if the log entry at index on node id has this term. */
bool h_has(struct harness *h, uint32_t id, uint64_t index, uint64_t term);
/* Writes node id's log terms as "1 1 4 4 ..." into buf. */
void h_log_terms(struct harness *h, uint32_t id, char *buf, size_t len);

#endif
