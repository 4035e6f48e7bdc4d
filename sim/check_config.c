/* The membership checker: committed configuration, configurations in force, quorum overlap. */
#include "sim/check_config.h"

#include "core/hash.h"
#include "core/raft_codec.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SIM_CHECK_CONFIG_IDS_MAX 32u /* ids 1..32 fit a bit mask */

static bool sim_id_in(const uint32_t *ids, uint32_t count, uint32_t id)
{
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

bool sim_membership_is_voter(const struct raft_membership *m, uint32_t id)
{
    return sim_id_in(m->voters, m->voter_count, id) ||
           sim_id_in(m->voters_outgoing, m->voters_outgoing_count, id);
}

bool sim_membership_is_learner(const struct raft_membership *m, uint32_t id)
{
    return sim_id_in(m->learners, m->learner_count, id);
}

bool sim_membership_has(const struct raft_membership *m, uint32_t id)
{
    return sim_membership_is_voter(m, id) || sim_membership_is_learner(m, id);
}

static uint32_t sim_mask_of(const uint32_t *ids, uint32_t count)
{
    uint32_t mask = 0;
    for (uint32_t i = 0; i < count; i++) {
        assert(ids[i] >= 1 && ids[i] <= SIM_CHECK_CONFIG_IDS_MAX);
        mask |= 1u << (ids[i] - 1);
    }
    return mask;
}

/* A majority of `members` within `set`; an empty voter list (no outgoing half) always agrees. */
static bool sim_majority(uint32_t members, uint32_t set)
{
    uint32_t n = (uint32_t)__builtin_popcount(members);
    return n == 0 || (uint32_t)__builtin_popcount(members & set) >= n / 2 + 1;
}

bool sim_check_config_disjoint(const struct raft_membership *a, const struct raft_membership *b)
{
    if (a->voter_count == 0 || b->voter_count == 0) {
        return false; /* no quorum at all */
    }
    uint32_t a_in = sim_mask_of(a->voters, a->voter_count);
    uint32_t a_out = sim_mask_of(a->voters_outgoing, a->voters_outgoing_count);
    uint32_t b_in = sim_mask_of(b->voters, b->voter_count);
    uint32_t b_out = sim_mask_of(b->voters_outgoing, b->voters_outgoing_count);
    /* Enumerate the subsets of a's voters (a quorum of a never needs anyone else); the rest of
     * the ids must not hold a quorum of b. Bounded: at most 2^(popcount) <= 2^32 subsets, in the
     * simulator at most 2^16 (SIM_CHECK_NODES_MAX ids). */
    uint32_t universe = a_in | a_out;
    assert(__builtin_popcount(universe) <= (int)SIM_CHECK_NODES_MAX);
    uint32_t subset = 0;
    do {
        if (sim_majority(a_in, subset) && sim_majority(a_out, subset) &&
            sim_majority(b_in, ~subset) && sim_majority(b_out, ~subset)) {
            return true;
        }
        subset = (subset - universe) & universe; /* next subset of universe (Knuth 7.1.3) */
    } while (subset != 0);
    return false;
}

static uint64_t sim_membership_hash(const struct raft_membership *m)
{
    if (m->voter_count == 0) {
        return 0; /* decides nothing */
    }
    uint32_t words[3] = { sim_mask_of(m->voters, m->voter_count),
                          sim_mask_of(m->voters_outgoing, m->voters_outgoing_count),
                          sim_mask_of(m->learners, m->learner_count) };
    uint64_t hash = hash_bytes(words, sizeof(words), 0);
    return hash == 0 ? 1 : hash;
}

void sim_check_config_init(struct sim_check_config *cc, uint32_t node_count,
                           const struct raft_membership *bootstrap)
{
    assert(cc != NULL);
    assert(node_count >= 1 && node_count <= SIM_CHECK_NODES_MAX);
    /* Field by field: the registry (tens of KB) is read only below registry_count, so it is not
     * cleared (a short run then never touches those pages). */
    cc->node_count = node_count;
    cc->committed = *bootstrap;
    cc->committed_index = 0;
    cc->committed_hash = sim_membership_hash(bootstrap);
    cc->scanned_to = 0;
    cc->registry_count = 0;
    memset(cc->nodes, 0, sizeof(cc->nodes));
    memset(cc->cache, 0, sizeof(cc->cache));
    cc->cache_next = 0;
    cc->committed_changes = 0;
    cc->overlap_checks = 0;
}

void sim_check_config_append(struct sim_check_config *cc, struct sim_checker *checker,
                             uint32_t node, uint64_t index, const uint8_t *data, uint32_t len)
{
    assert(node < cc->node_count);
    uint64_t chain = sim_check_log_chain(checker, node, index);
    if (chain == 0 || index <= cc->committed_index) {
        return; /* not mirrored (a violation was reported), or already behind C */
    }
    for (uint32_t i = 0; i < cc->registry_count; i++) {
        if (cc->registry[i].index == index && cc->registry[i].chain == chain) {
            return; /* the same entry, replicated */
        }
    }
    struct raft_membership m;
    if (raft_membership_decode(data, len, &m, NULL) != RAFT_OK) {
        return; /* the core never adopts a malformed configuration */
    }
    if (cc->registry_count == SIM_CHECK_CONFIG_REGISTRY_MAX) {
        sim_check_violation(checker, "checker_limit", node + 1, 0, 0, index,
                            "more than %u uncommitted configuration entries to track",
                            SIM_CHECK_CONFIG_REGISTRY_MAX);
        return;
    }
    cc->registry[cc->registry_count++] =
        (struct sim_check_config_entry){ .index = index, .chain = chain, .membership = m };
}

/* Moves C forward to the latest registered entry the run has committed; prunes the registry.
 * Returns true if C changed. */
static bool sim_check_config_advance(struct sim_check_config *cc, const struct sim_checker *checker)
{
    uint64_t committed_last = checker->committed_last;
    if (committed_last <= cc->scanned_to) {
        return false;
    }
    cc->scanned_to = committed_last;
    int found = -1;
    for (uint32_t i = 0; i < cc->registry_count; i++) {
        const struct sim_check_config_entry *e = &cc->registry[i];
        if (e->index <= committed_last && e->chain == checker->committed.values[e->index] &&
            (found < 0 || e->index > cc->registry[found].index)) {
            found = (int)i;
        }
    }
    if (found < 0) {
        return false;
    }
    cc->committed = cc->registry[found].membership;
    cc->committed_index = cc->registry[found].index;
    cc->committed_hash = sim_membership_hash(&cc->committed);
    cc->committed_changes++;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < cc->registry_count; i++) {
        if (cc->registry[i].index > cc->committed_index) {
            cc->registry[kept++] = cc->registry[i];
        }
    }
    cc->registry_count = kept;
    return true;
}

/* Whether node's configuration is in force: it uses a deciding configuration from index c or
 * later, and its log holds C (the committed entry at c, or a snapshot covering it). */
static bool sim_check_config_in_force(const struct sim_check_config *cc,
                                      const struct sim_checker *checker, uint32_t node)
{
    const struct sim_check_config_node *n = &cc->nodes[node];
    if (!n->up || n->hash == 0 || n->index < cc->committed_index) {
        return false;
    }
    uint64_t c = cc->committed_index;
    if (c == 0 || n->snapshot_index >= c) {
        return true;
    }
    return sim_check_log_chain(checker, node, c) == checker->committed.values[c];
}

static bool sim_check_config_pair(struct sim_check_config *cc, const struct raft_membership *a,
                                  uint64_t hash_a, const struct raft_membership *b, uint64_t hash_b)
{
    if (hash_a == hash_b) {
        return false; /* a configuration's own quorums always intersect */
    }
    uint64_t lo = hash_a < hash_b ? hash_a : hash_b;
    uint64_t hi = hash_a < hash_b ? hash_b : hash_a;
    for (uint32_t i = 0; i < SIM_CHECK_CONFIG_CACHE_MAX; i++) {
        if (cc->cache[i].a == lo && cc->cache[i].b == hi) {
            return cc->cache[i].disjoint;
        }
    }
    cc->overlap_checks++;
    bool disjoint = sim_check_config_disjoint(a, b);
    cc->cache[cc->cache_next].a = lo;
    cc->cache[cc->cache_next].b = hi;
    cc->cache[cc->cache_next].disjoint = disjoint;
    cc->cache_next = (cc->cache_next + 1) % SIM_CHECK_CONFIG_CACHE_MAX;
    return disjoint;
}

static void sim_membership_format(const struct raft_membership *m, char *out, size_t size)
{
    size_t used = 0;
    const uint32_t *lists[3] = { m->voters, m->voters_outgoing, m->learners };
    uint32_t counts[3] = { m->voter_count, m->voters_outgoing_count, m->learner_count };
    const char *labels[3] = { "voters {", "} outgoing {", "} learners {" };
    for (int l = 0; l < 3 && used < size; l++) {
        if (l == 1 && counts[1] == 0) {
            continue;
        }
        int n = snprintf(out + used, size - used, "%s", labels[l]);
        used += n > 0 ? (size_t)n : 0;
        for (uint32_t i = 0; i < counts[l] && used < size; i++) {
            n = snprintf(out + used, size - used, "%s%u", i ? "," : "", lists[l][i]);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    if (used < size) {
        snprintf(out + used, size - used, "}");
    }
}

/* Every configuration in force against C and against each other. */
static void sim_check_config_overlap(struct sim_check_config *cc, struct sim_checker *checker)
{
    for (uint32_t a = 0; a < cc->node_count; a++) {
        const struct sim_check_config_node *na = &cc->nodes[a];
        if (!na->in_force) {
            continue;
        }
        const struct raft_membership *other = &cc->committed;
        uint64_t other_hash = cc->committed_hash;
        uint32_t b = a; /* b == a stands for C */
        for (;;) {
            checker->checks++;
            if (sim_check_config_pair(cc, &na->membership, na->hash, other, other_hash)) {
                char ma[192];
                char mb[192];
                sim_membership_format(&na->membership, ma, sizeof(ma));
                sim_membership_format(other, mb, sizeof(mb));
                sim_check_violation(
                    checker, "quorum_overlap", a + 1, b == a ? 0 : b + 1, 0, na->index,
                    "node %u uses the configuration at index %" PRIu64 " (%s) while %s%u uses "
                    "%s%s: some quorum of one shares no node with some quorum of the other, so "
                    "two leaders or two commits could ignore each other (§6: changes go through "
                    "a joint configuration, one at a time)",
                    a + 1, na->index, ma,
                    b == a ? "the committed configuration at index " : "node ",
                    b == a ? (uint32_t)cc->committed_index : b + 1, mb,
                    b == a ? "" : " (also in force)");
                return;
            }
            do {
                b++;
            } while (b < cc->node_count && !cc->nodes[b].in_force);
            if (b >= cc->node_count) {
                break;
            }
            other = &cc->nodes[b].membership;
            other_hash = cc->nodes[b].hash;
        }
    }
}

/* §6: a leader removed from its committed configuration has stepped down by now. */
static void sim_check_config_removed_leader(struct sim_checker *checker, uint32_t node,
                                            const struct raft_node *raft)
{
    if (raft_node_role(raft) != RAFT_LEADER) {
        return;
    }
    const struct raft_membership *m = raft_node_membership(raft);
    uint64_t index = raft_node_membership_index(raft);
    checker->checks++;
    if (m->voters_outgoing_count == 0 && index <= raft_node_commit_index(raft) &&
        !sim_id_in(m->voters, m->voter_count, node + 1)) {
        sim_check_violation(checker, "removed_leader_steps_down", node + 1, 0, raft_node_term(raft),
                            index,
                            "node %u is still leader of term %" PRIu64
                            " although its configuration at index %" PRIu64
                            " leaves it out and is committed (§6: it steps down)",
                            node + 1, raft_node_term(raft), index);
    }
}

void sim_check_config_node(struct sim_check_config *cc, struct sim_checker *checker, uint32_t node,
                           const struct raft_node *raft)
{
    assert(node < cc->node_count);
    assert(raft != NULL);
    struct sim_check_config_node *n = &cc->nodes[node];
    bool changed = sim_check_config_advance(cc, checker);
    const struct raft_membership *m = raft_node_membership(raft);
    uint64_t index = raft_node_membership_index(raft);
    if (!n->up || n->index != index || memcmp(&n->membership, m, sizeof(*m)) != 0) {
        n->up = true;
        n->index = index;
        n->membership = *m;
        n->hash = sim_membership_hash(m);
        changed = true;
    }
    n->snapshot_index = raft_node_snapshot_index(raft);
    if (changed) {
        for (uint32_t i = 0; i < cc->node_count; i++) {
            cc->nodes[i].in_force = sim_check_config_in_force(cc, checker, i);
        }
    } else {
        bool in_force = sim_check_config_in_force(cc, checker, node);
        changed = in_force != n->in_force;
        n->in_force = in_force;
    }
    if (changed) {
        sim_check_config_overlap(cc, checker);
    }
    sim_check_config_removed_leader(checker, node, raft);
}

void sim_check_config_down(struct sim_check_config *cc, uint32_t node)
{
    assert(node < cc->node_count);
    cc->nodes[node].up = false;
    cc->nodes[node].in_force = false;
}
