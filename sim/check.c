/* The Raft invariant checker: chained log mirrors and run-wide records, every check O(1). */
#include "sim/check.h"

#include "core/hash.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_check_violation(struct sim_checker *c, const char *invariant, uint32_t node_a,
                         uint32_t node_b, uint64_t term, uint64_t index, const char *format, ...)
{
    if (c->violated) {
        return;
    }
    c->violated = 1;
    snprintf(c->invariant, sizeof(c->invariant), "%s", invariant);
    c->violation_nodes[0] = node_a;
    c->violation_nodes[1] = node_b;
    c->violation_term = term;
    c->violation_index = index;
    va_list args;
    va_start(args, format);
    vsnprintf(c->detail, sizeof(c->detail), format, args);
    va_end(args);
}

static void sim_check_oom(struct sim_checker *c, const char *what)
{
    c->out_of_memory = 1;
    sim_check_violation(c, "checker_limit", 0, 0, 0, 0, "the checker could not track %s", what);
}

/* Grows `array` so that `index` is valid; new values are 0. Returns 0 or -1. */
static int sim_check_array_reserve(struct sim_check_array *array, uint64_t index, uint64_t limit)
{
    if (index < array->capacity) {
        return 0;
    }
    if (index >= limit) {
        return -1;
    }
    uint64_t capacity = array->capacity == 0 ? 1024 : array->capacity;
    while (capacity <= index) {
        capacity *= 2;
    }
    if (capacity > limit) {
        capacity = limit;
    }
    uint64_t *grown = realloc(array->values, capacity * sizeof(uint64_t));
    if (grown == NULL) {
        return -1;
    }
    memset(grown + array->capacity, 0, (capacity - array->capacity) * sizeof(uint64_t));
    array->values = grown;
    array->capacity = capacity;
    return 0;
}

static uint64_t sim_check_array_get(const struct sim_check_array *array, uint64_t index)
{
    return index < array->capacity ? array->values[index] : 0;
}

static int sim_check_log_reserve(struct sim_check_log *log, uint64_t index)
{
    if (index < log->capacity) {
        return 0;
    }
    if (index >= SIM_CHECK_INDEX_MAX) {
        return -1;
    }
    uint64_t capacity = log->capacity == 0 ? 1024 : log->capacity;
    while (capacity <= index) {
        capacity *= 2;
    }
    uint64_t *terms = realloc(log->terms, capacity * sizeof(uint64_t));
    if (terms == NULL) {
        return -1;
    }
    log->terms = terms;
    uint64_t *chains = realloc(log->chains, capacity * sizeof(uint64_t));
    if (chains == NULL) {
        return -1;
    }
    log->chains = chains;
    log->capacity = capacity;
    return 0;
}

int sim_check_init(struct sim_checker *c, uint32_t node_count)
{
    assert(c != NULL);
    assert(node_count >= 1 && node_count <= SIM_CHECK_NODES_MAX);
    memset(c, 0, sizeof(*c));
    c->node_count = node_count;
    for (uint32_t i = 0; i < node_count; i++) {
        if (sim_check_log_reserve(&c->nodes[i].log, 1) != 0) {
            sim_check_deinit(c);
            return -1;
        }
        c->nodes[i].log.terms[0] = 0;
        c->nodes[i].log.chains[0] = 0;
    }
    return 0;
}

void sim_check_deinit(struct sim_checker *c)
{
    assert(c != NULL);
    for (uint32_t i = 0; i < SIM_CHECK_NODES_MAX; i++) {
        free(c->nodes[i].log.terms);
        free(c->nodes[i].log.chains);
        free(c->nodes[i].votes.values);
    }
    free(c->leader_of_term.values);
    free(c->match_head.values);
    free(c->match_pool);
    free(c->committed.values);
    free(c->commit_terms.values);
    free(c->applied.values);
    free(c->applied_hash.values);
    memset(c, 0, sizeof(*c));
}

uint64_t sim_check_chain(uint64_t previous, uint64_t term, uint32_t type, const void *data,
                         size_t len)
{
    uint64_t words[3] = { term, type, hash_bytes(data, len, 0) };
    uint64_t chain = hash_fold_bytes(previous, words, sizeof(words));
    return chain == 0 ? 1 : chain; /* 0 means "no entry" in the records */
}

uint64_t sim_check_log_chain(const struct sim_checker *c, uint32_t node, uint64_t index)
{
    assert(node < c->node_count);
    const struct sim_check_log *log = &c->nodes[node].log;
    return index <= log->last ? log->chains[index] : 0;
}

/* Leader completeness (§5.4.1): a node that becomes leader of `term` holds every entry
 * committed in an earlier term. Entries first committed in `term` or later are skipped (a
 * candidate paused mid-election can win an old term after a newer one committed); that is a
 * short walk back only in that rare case. */
static void sim_check_completeness(struct sim_checker *c, uint32_t node, uint64_t term)
{
    const struct sim_check_log *log = &c->nodes[node].log;
    uint64_t committed = c->committed_last;
    while (committed > 0 && sim_check_array_get(&c->commit_terms, committed) >= term) {
        committed--;
    }
    if (committed == 0) {
        return;
    }
    c->checks++;
    if (log->last < committed) {
        sim_check_violation(c, "leader_completeness", node + 1, 0, term, committed,
                            "node %u became leader of term %" PRIu64
                            " with a log ending at %" PRIu64 ", but entries up to %" PRIu64
                            " are committed",
                            node + 1, term, log->last, committed);
        return;
    }
    if (log->chains[committed] != c->committed.values[committed]) {
        sim_check_violation(
            c, "leader_completeness", node + 1, 0, term, committed,
            "node %u became leader of term %" PRIu64
            " with a log that differs from the committed log at or before index %" PRIu64,
            node + 1, term, committed);
    }
}

void sim_check_state(struct sim_checker *c, uint32_t node, int leader, uint64_t term)
{
    assert(node < c->node_count);
    struct sim_check_node *n = &c->nodes[node];
    c->checks++;
    if (term < n->term) {
        sim_check_violation(c, "term_monotonic", node + 1, 0, term, 0,
                            "node %u's term went back from %" PRIu64 " to %" PRIu64, node + 1,
                            n->term, term);
    }
    n->append_only = leader && n->leader && n->term == term;
    if (leader && !(n->leader && n->term == term)) {
        if (sim_check_array_reserve(&c->leader_of_term, term, SIM_CHECK_TERMS_MAX) != 0) {
            sim_check_oom(c, "terms");
            return;
        }
        uint64_t previous = c->leader_of_term.values[term];
        if (previous != 0 && previous != node + 1) {
            sim_check_violation(c, "election_safety", (uint32_t)previous, node + 1, term, 0,
                                "two leaders in term %" PRIu64 ": node %" PRIu64 " and node %u",
                                term, previous, node + 1);
        }
        c->leader_of_term.values[term] = node + 1;
        sim_check_completeness(c, node, term);
    }
    n->leader = leader;
    n->term = term;
}

void sim_check_truncate(struct sim_checker *c, uint32_t node, uint64_t from_index)
{
    assert(node < c->node_count);
    assert(from_index >= 1);
    struct sim_check_node *n = &c->nodes[node];
    if (from_index > n->log.last) {
        return;
    }
    if (n->append_only) {
        sim_check_violation(c, "leader_append_only", node + 1, 0, n->term, from_index,
                            "leader node %u truncated its log from index %" PRIu64
                            " in term %" PRIu64,
                            node + 1, from_index, n->term);
    }
    n->log.last = from_index - 1;
}

/* Log matching (§5.3): the first chain recorded for (index, term) is the only one allowed. */
static void sim_check_matching(struct sim_checker *c, uint32_t node, uint64_t index, uint64_t term,
                               uint64_t chain)
{
    if (sim_check_array_reserve(&c->match_head, index, SIM_CHECK_INDEX_MAX) != 0) {
        sim_check_oom(c, "log indices");
        return;
    }
    c->checks++;
    for (uint64_t slot = c->match_head.values[index]; slot != 0;
         slot = c->match_pool[slot - 1].next) {
        if (c->match_pool[slot - 1].term == term) {
            if (c->match_pool[slot - 1].chain != chain) {
                sim_check_violation(c, "log_matching", node + 1, 0, term, index,
                                    "node %u holds an entry at index %" PRIu64 " term %" PRIu64
                                    " whose log up to there differs from another node's entry with "
                                    "the same index and term",
                                    node + 1, index, term);
            }
            return;
        }
    }
    if (c->match_count == c->match_capacity) {
        uint64_t capacity = c->match_capacity == 0 ? 4096 : c->match_capacity * 2;
        if (capacity > SIM_CHECK_INDEX_MAX * 4ull) {
            sim_check_oom(c, "distinct (index, term) pairs");
            return;
        }
        void *grown = realloc(c->match_pool, capacity * sizeof(c->match_pool[0]));
        if (grown == NULL) {
            sim_check_oom(c, "distinct (index, term) pairs");
            return;
        }
        c->match_pool = grown;
        c->match_capacity = capacity;
    }
    c->match_pool[c->match_count].term = term;
    c->match_pool[c->match_count].chain = chain;
    c->match_pool[c->match_count].next = c->match_head.values[index];
    c->match_count++;
    c->match_head.values[index] = c->match_count;
}

void sim_check_append(struct sim_checker *c, uint32_t node, uint64_t index, uint64_t term,
                      uint32_t type, const void *data, size_t len)
{
    assert(node < c->node_count);
    struct sim_check_node *n = &c->nodes[node];
    if (n->append_only && index <= n->log.last) {
        sim_check_violation(c, "leader_append_only", node + 1, 0, n->term, index,
                            "leader node %u overwrote its entry at index %" PRIu64
                            " in term %" PRIu64,
                            node + 1, index, n->term);
    }
    if (index > n->log.last + 1) {
        sim_check_violation(c, "log_contiguous", node + 1, 0, term, index,
                            "node %u appended index %" PRIu64 " after its last index %" PRIu64,
                            node + 1, index, n->log.last);
        return;
    }
    if (sim_check_log_reserve(&n->log, index) != 0) {
        sim_check_oom(c, "a node's log");
        return;
    }
    uint64_t chain = sim_check_chain(n->log.chains[index - 1], term, type, data, len);
    n->log.terms[index] = term;
    n->log.chains[index] = chain;
    n->log.last = index;
    sim_check_matching(c, node, index, term, chain);
}

void sim_check_commit(struct sim_checker *c, uint32_t node, uint64_t commit)
{
    assert(node < c->node_count);
    struct sim_check_node *n = &c->nodes[node];
    if (commit < n->commit) {
        sim_check_violation(c, "commit_monotonic", node + 1, 0, n->term, commit,
                            "node %u's commit index went back from %" PRIu64 " to %" PRIu64,
                            node + 1, n->commit, commit);
    }
    if (commit == n->commit || commit == 0) {
        n->commit = commit;
        return;
    }
    n->commit = commit;
    if (commit > n->log.last) {
        sim_check_violation(c, "commit_safety", node + 1, 0, n->term, commit,
                            "node %u committed index %" PRIu64 " beyond its last entry %" PRIu64,
                            node + 1, commit, n->log.last);
        return;
    }
    if (n->leader && n->log.terms[commit] != n->term) {
        /* Figure 2: a leader advances its commit only to an entry of its own term; earlier
         * entries are committed through it (§5.4.2, Figure 8). */
        sim_check_violation(c, "commit_current_term", node + 1, 0, n->term, commit,
                            "leader node %u of term %" PRIu64
                            " advanced its commit to index %" PRIu64 ", an entry of term %" PRIu64
                            " (§5.4.2: only current-term entries are "
                            "committed by counting replicas)",
                            node + 1, n->term, commit, n->log.terms[commit]);
    }
    c->checks++;
    uint64_t shared = commit < c->committed_last ? commit : c->committed_last;
    if (shared > 0 && n->log.chains[shared] != c->committed.values[shared]) {
        sim_check_violation(
            c, "commit_safety", node + 1, 0, n->log.terms[shared], shared,
            "node %u committed a log that differs from the entries already committed "
            "at or before index %" PRIu64,
            node + 1, shared);
        return;
    }
    if (commit <= c->committed_last) {
        return;
    }
    if (sim_check_array_reserve(&c->committed, commit, SIM_CHECK_INDEX_MAX) != 0 ||
        sim_check_array_reserve(&c->commit_terms, commit, SIM_CHECK_INDEX_MAX) != 0) {
        sim_check_oom(c, "committed entries");
        return;
    }
    for (uint64_t i = c->committed_last + 1; i <= commit; i++) {
        c->committed.values[i] = n->log.chains[i];
        c->commit_terms.values[i] = n->term;
    }
    c->committed_last = commit;
}

void sim_check_sent(struct sim_checker *c, uint32_t node, uint64_t term)
{
    assert(node < c->node_count);
    if (term > c->nodes[node].sent_term) {
        c->nodes[node].sent_term = term;
    }
}

void sim_check_vote_granted(struct sim_checker *c, uint32_t node, uint64_t term, uint32_t candidate)
{
    assert(node < c->node_count);
    struct sim_check_node *n = &c->nodes[node];
    if (sim_check_array_reserve(&n->votes, term, SIM_CHECK_TERMS_MAX) != 0) {
        sim_check_oom(c, "votes");
        return;
    }
    c->checks++;
    uint64_t previous = n->votes.values[term];
    if (previous != 0 && previous != (uint64_t)candidate + 1) {
        sim_check_violation(c, "vote_once", node + 1, candidate + 1, term, 0,
                            "node %u granted two votes in term %" PRIu64 ": to node %" PRIu64
                            " and to node %u",
                            node + 1, term, previous, candidate + 1);
    }
    n->votes.values[term] = (uint64_t)candidate + 1;
}

void sim_check_durable(struct sim_checker *c, uint32_t node, uint64_t term, uint32_t vote,
                       uint64_t commit)
{
    assert(node < c->node_count);
    struct sim_check_node *n = &c->nodes[node];
    n->durable_term = term;
    n->durable_vote = vote;
    n->durable_commit = commit;
}

void sim_check_crash(struct sim_checker *c, uint32_t node)
{
    assert(node < c->node_count);
    struct sim_check_node *n = &c->nodes[node];
    n->log.last = 0;
    n->commit = 0;
    n->leader = 0;
    n->append_only = 0;
    /* n->term is kept: the restart check compares against it */
}

void sim_check_restart(struct sim_checker *c, uint32_t node, uint64_t term, uint32_t vote,
                       uint64_t commit)
{
    assert(node < c->node_count);
    struct sim_check_node *n = &c->nodes[node];
    c->checks++;
    if (term < n->durable_term || term < n->sent_term) {
        sim_check_violation(
            c, "term_monotonic", node + 1, 0, term, 0,
            "node %u restarted in term %" PRIu64 " although it had stored term %" PRIu64
            " and sent messages in term %" PRIu64 " (was state sent before it was durable?)",
            node + 1, term, n->durable_term, n->sent_term);
    }
    uint64_t granted = sim_check_array_get(&n->votes, term);
    /* `granted` holds the candidate's index + 1, which is its 1-based id, like `vote` */
    if (granted != 0 && (uint64_t)vote != granted) {
        sim_check_violation(c, "vote_once", node + 1, (uint32_t)granted, term, 0,
                            "node %u restarted in term %" PRIu64 " with vote %u although it had "
                            "granted its vote in that term to node %" PRIu64,
                            node + 1, term, vote, granted);
    }
    if (commit < n->durable_commit) {
        sim_check_violation(c, "commit_monotonic", node + 1, 0, term, commit,
                            "node %u restarted with commit %" PRIu64
                            " below its stored commit %" PRIu64,
                            node + 1, commit, n->durable_commit);
    }
    n->term = term;
    n->commit = 0;
    n->leader = 0;
    n->log.last = 0;
}

void sim_check_applied(struct sim_checker *c, uint32_t node, uint64_t index, uint64_t state_hash)
{
    assert(node < c->node_count);
    const struct sim_check_node *n = &c->nodes[node];
    if (index > n->log.last) {
        sim_check_violation(c, "state_machine_safety", node + 1, 0, n->term, index,
                            "node %u applied index %" PRIu64
                            " which is not in its log (last %" PRIu64 ")",
                            node + 1, index, n->log.last);
        return;
    }
    if (sim_check_array_reserve(&c->applied, index, SIM_CHECK_INDEX_MAX) != 0 ||
        sim_check_array_reserve(&c->applied_hash, index, SIM_CHECK_INDEX_MAX) != 0) {
        sim_check_oom(c, "applied entries");
        return;
    }
    c->checks++;
    uint64_t chain = n->log.chains[index];
    if (c->applied.values[index] == 0) {
        c->applied.values[index] = chain;
    } else if (c->applied.values[index] != chain) {
        sim_check_violation(c, "state_machine_safety", node + 1, 0, n->log.terms[index], index,
                            "node %u applied a different entry at index %" PRIu64 " (term %" PRIu64
                            ") than another node applied there",
                            node + 1, index, n->log.terms[index]);
        return;
    }
    uint64_t recorded = c->applied_hash.values[index];
    uint64_t hash = state_hash == 0 ? 1 : state_hash;
    if (recorded == 0) {
        c->applied_hash.values[index] = hash;
    } else if (recorded != hash) {
        sim_check_violation(c, "replica_state_hash", node + 1, 0, n->log.terms[index], index,
                            "node %u's state machine hashes to %016" PRIx64
                            " at applied index %" PRIu64 ", another replica's to %016" PRIx64,
                            node + 1, hash, index, recorded);
    }
}

void sim_check_snapshot(struct sim_checker *c, uint32_t node, uint64_t index, uint64_t term)
{
    assert(node < c->node_count);
    assert(index >= 1);
    struct sim_check_log *log = &c->nodes[node].log;
    if (index <= log->last && log->terms[index] == term) {
        return; /* the log holds the snapshot's last entry: the entries after it stay (§7) */
    }
    c->checks++;
    if (index > c->committed_last) {
        sim_check_violation(c, "snapshot_committed", node + 1, 0, term, index,
                            "node %u holds a snapshot up to index %" PRIu64
                            " but only entries up to %" PRIu64 " are committed",
                            node + 1, index, c->committed_last);
        return;
    }
    if (sim_check_log_reserve(log, index) != 0) {
        sim_check_oom(c, "a node's log");
        return;
    }
    log->terms[index] = term;
    log->chains[index] = c->committed.values[index];
    log->last = index;
}

void sim_check_restored(struct sim_checker *c, uint32_t node, uint64_t index, uint64_t state_hash)
{
    assert(node < c->node_count);
    if (sim_check_array_reserve(&c->applied_hash, index, SIM_CHECK_INDEX_MAX) != 0) {
        sim_check_oom(c, "applied entries");
        return;
    }
    c->checks++;
    uint64_t hash = state_hash == 0 ? 1 : state_hash;
    uint64_t recorded = c->applied_hash.values[index];
    if (recorded == 0) {
        c->applied_hash.values[index] = hash;
    } else if (recorded != hash) {
        sim_check_violation(c, "replica_state_hash", node + 1, 0, c->nodes[node].term, index,
                            "node %u restored a snapshot at index %" PRIu64
                            " whose state hashes to %016" PRIx64 ", but replicas that applied "
                            "up to there hash to %016" PRIx64,
                            node + 1, index, hash, recorded);
    }
}
