/* Raft invariant checks after every step, incremental: O(1) per change, never O(log) per step. */
#ifndef FLOWRAFT_SIM_CHECK_H
#define FLOWRAFT_SIM_CHECK_H

#include <stddef.h>
#include <stdint.h>

/*
 * The checker keeps, for every node, a mirror of its in-memory log as a chain of hashes
 * (chain[i] = fold(chain[i-1], term_i, type_i, hash(data_i))): two logs that hold the same chain
 * value at index i are identical up to i, which turns log matching, leader completeness and state
 * machine safety into O(1) comparisons. Global records survive restarts:
 *
 *   election_safety       at most one leader per term over the whole run (§5.2)
 *   leader_append_only    a leader never truncates or overwrites its log within its term (§5.3)
 *   log_matching          entries with the same index and term have the same chain, i.e. the
 *                         logs are identical up to there (§5.3)
 *   leader_completeness   a new leader of term T holds every entry committed in a term before T
 *                         (§5.4; a leader of an old term, elected late, may lack newer ones)
 *   commit_safety         a node's committed prefix agrees with everything committed before
 *   commit_current_term   a leader advances its commit index only to an entry of its own term
 *                         (Figure 2; committing an older entry by counting replicas is the
 *                         Figure 8 bug of §5.4.2)
 *   state_machine_safety  the entry applied at an index is the same on every node (§5.4.3)
 *   replica_state_hash    replicas at the same applied index have the same state-machine hash
 *                         (a state restored from a snapshot included)
 *   snapshot_committed    a snapshot covers only committed entries (§7)
 *   term_monotonic        a node's term never decreases, across restarts too: it restarts with a
 *                         term at least as high as any it has durably stored or sent in a message
 *   commit_monotonic      a node's commit index never decreases while it runs, and it restarts
 *                         with a commit at least as high as it had durably stored
 *   vote_once             at most one granted vote per term per node, across restarts; a node
 *                         restarts remembering the vote it granted in its current term (Figure 2)
 *
 * The first violation is kept (invariant name and a sentence with nodes, term and index); later
 * calls are ignored. Nodes are 0-based here; messages print 1-based ids as users see them.
 */

#define SIM_CHECK_NODES_MAX        16u
#define SIM_CHECK_INDEX_MAX        (1u << 24) /* highest log index tracked */
#define SIM_CHECK_TERMS_MAX        (1u << 22) /* highest term tracked */
#define SIM_CHECK_DETAIL_BYTES_MAX 2048

struct sim_check_log {
    uint64_t *terms;  /* terms[i] for i in [1, last]; owned */
    uint64_t *chains; /* chains[i]; chains[0] == 0 */
    uint64_t last;    /* last index held; invariant: last < capacity */
    uint64_t capacity;
};

/* A growable array indexed by log index or term. */
struct sim_check_array {
    uint64_t *values; /* owned; 0 = unset */
    uint64_t capacity;
};

struct sim_check_node {
    struct sim_check_log log;
    int leader;            /* role in the last step */
    uint64_t term;         /* term in the last step */
    uint64_t commit;       /* commit index in the last step (this incarnation) */
    int append_only;       /* this step started and ended as leader of the same term */
    uint64_t sent_term;    /* highest term of any message sent, any incarnation */
    uint64_t durable_term; /* hard state made durable: term, vote, commit */
    uint32_t durable_vote;
    uint64_t durable_commit;
    struct sim_check_array votes; /* votes.values[term] = candidate + 1 (granted and sent) */
};

struct sim_checker {
    uint32_t node_count;
    struct sim_check_node nodes[SIM_CHECK_NODES_MAX];
    struct sim_check_array leader_of_term; /* node + 1 */
    /* log matching: (index, term) -> chain, as a pool of chained slots per index */
    struct sim_check_array match_head; /* index -> slot + 1 */
    struct {
        uint64_t term;
        uint64_t chain;
        uint64_t next; /* slot + 1 */
    } * match_pool;
    uint64_t match_count;
    uint64_t match_capacity;
    struct sim_check_array committed;    /* index -> chain of the committed entry (0: none yet) */
    struct sim_check_array commit_terms; /* index -> term of the node that first committed it */
    uint64_t committed_last;
    struct sim_check_array applied;      /* index -> chain of the entry applied there */
    struct sim_check_array applied_hash; /* index -> state-machine hash after applying it */
    uint64_t checks;                     /* checks performed (for benchmarks and summaries) */

    int violated;
    int out_of_memory;
    char invariant[48];
    char detail[SIM_CHECK_DETAIL_BYTES_MAX];
    uint32_t violation_nodes[2]; /* 1-based ids, 0 = none */
    uint64_t violation_term;
    uint64_t violation_index;
};

int sim_check_init(struct sim_checker *checker, uint32_t node_count);
void sim_check_deinit(struct sim_checker *checker);

/* Chain value of an entry following `previous` (exposed for tests). */
uint64_t sim_check_chain(uint64_t previous, uint64_t term, uint32_t type, const void *data,
                         size_t len);

/* A step's soft state, reported before its log changes: role and term after the step. */
void sim_check_state(struct sim_checker *checker, uint32_t node, int leader, uint64_t term);
/* The step's persist section: truncate (0 = none), then appended entries, in order. */
void sim_check_truncate(struct sim_checker *checker, uint32_t node, uint64_t from_index);
void sim_check_append(struct sim_checker *checker, uint32_t node, uint64_t index, uint64_t term,
                      uint32_t type, const void *data, size_t len);
/* After the step: the node's commit index. */
void sim_check_commit(struct sim_checker *checker, uint32_t node, uint64_t commit);
/* A message the node sends now, and if it is a granted vote, to whom. */
void sim_check_sent(struct sim_checker *checker, uint32_t node, uint64_t term);
void sim_check_vote_granted(struct sim_checker *checker, uint32_t node, uint64_t term,
                            uint32_t candidate);
/* A hard state became durable (its group commit finished). */
void sim_check_durable(struct sim_checker *checker, uint32_t node, uint64_t term, uint32_t vote,
                       uint64_t commit);
/* The node crashed: forget its volatile state (mirror log, commit, role). */
void sim_check_crash(struct sim_checker *checker, uint32_t node);
/* The node restarted with this recovered hard state; its recovered entries follow through
 * sim_check_append and its commit through sim_check_commit. */
void sim_check_restart(struct sim_checker *checker, uint32_t node, uint64_t term, uint32_t vote,
                       uint64_t commit);
/* The node's log now starts from a snapshot at (index, term) (installed from the leader, or
 * restored at a restart): if the mirror does not hold that entry, it restarts from the committed
 * entry there. A snapshot beyond everything committed is a violation (snapshot_committed). */
void sim_check_snapshot(struct sim_checker *checker, uint32_t node, uint64_t index, uint64_t term);
/* The node's state machine was replaced by a snapshot's state at `index`: it must hash like any
 * replica that applied up to `index` (replica_state_hash). */
void sim_check_restored(struct sim_checker *checker, uint32_t node, uint64_t index,
                        uint64_t state_hash);
/* The node applied the entry at `index` (from its own log) and its state machine now hashes to
 * `state_hash`. */
void sim_check_applied(struct sim_checker *checker, uint32_t node, uint64_t index,
                       uint64_t state_hash);

/* A violation found outside the checker (the wire checksum missing a corruption): recorded like
 * the checker's own, first one wins. Nodes are 1-based ids, 0 for none. */
void sim_check_violation(struct sim_checker *checker, const char *invariant, uint32_t node_a,
                         uint32_t node_b, uint64_t term, uint64_t index, const char *format, ...)
    __attribute__((format(printf, 7, 8)));

/* The chain of a node's mirror at `index` (0 if not held). */
uint64_t sim_check_log_chain(const struct sim_checker *checker, uint32_t node, uint64_t index);

#endif
