/* Membership bookkeeping: progress slots per member and the quorum rules built on them. */
#include "core/raft_internal.h"

#include <assert.h>
#include <string.h>

static bool raft_ids_contain(const uint32_t *ids, uint32_t count, uint32_t id)
{
    assert(count <= RAFT_NODES_MAX);
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

struct raft_progress *raft_progress_find(struct raft_node *node, uint32_t id)
{
    assert(node != NULL);
    assert(node->progress_count <= RAFT_NODES_MAX);
    for (uint32_t i = 0; i < node->progress_count; i++) {
        if (node->progress[i].id == id) {
            return &node->progress[i];
        }
    }
    return NULL;
}

struct raft_progress *raft_progress_answering(struct raft_node *node, const struct raft_message *m)
{
    assert(node != NULL);
    assert(m != NULL);
    if (node->role != RAFT_LEADER) {
        return NULL; /* an answer to a term we no longer lead */
    }
    struct raft_progress *pr = raft_progress_find(node, m->from);
    if (pr == NULL || pr->id == node->config.id) {
        return NULL; /* not (or no longer) a member, or a message claiming to be from us */
    }
    pr->recent_active = true;
    return pr;
}

struct raft_progress *raft_progress_self(struct raft_node *node)
{
    assert(node != NULL);
    return raft_progress_find(node, node->config.id);
}

bool raft_is_voter(const struct raft_node *node, uint32_t id)
{
    assert(node != NULL);
    const struct raft_membership *m = &node->membership;
    return raft_ids_contain(m->voters, m->voter_count, id) ||
           raft_ids_contain(m->voters_outgoing, m->voters_outgoing_count, id);
}

/* Adds `id` to the new progress table, carrying over its old progress if it had one. */
static void raft_progress_add(struct raft_progress *table, uint32_t *count,
                              const struct raft_progress *old, uint32_t old_count, uint32_t id,
                              uint64_t next_index)
{
    for (uint32_t i = 0; i < *count; i++) {
        if (table[i].id == id) {
            return;
        }
    }
    assert(*count < RAFT_NODES_MAX);
    struct raft_progress *pr = &table[*count];
    (*count)++;
    for (uint32_t i = 0; i < old_count; i++) {
        if (old[i].id == id) {
            *pr = old[i];
            return;
        }
    }
    memset(pr, 0, sizeof(*pr));
    pr->id = id;
    raft_progress_reset(pr, next_index);
}

void raft_membership_apply(struct raft_node *node, const struct raft_membership *membership,
                           uint64_t index)
{
    assert(node != NULL);
    assert(membership != NULL);
    struct raft_progress old[RAFT_NODES_MAX];
    uint32_t old_count = node->progress_count;
    memcpy(old, node->progress, sizeof(old[0]) * old_count);
    if (membership != &node->membership) {
        node->membership = *membership;
    }
    node->membership_index = index;
    const struct raft_membership *m = &node->membership;
    uint64_t next = raft_log_last_index(&node->log) + 1;
    uint32_t count = 0;
    for (uint32_t i = 0; i < m->voter_count; i++) {
        raft_progress_add(node->progress, &count, old, old_count, m->voters[i], next);
    }
    for (uint32_t i = 0; i < m->voters_outgoing_count; i++) {
        raft_progress_add(node->progress, &count, old, old_count, m->voters_outgoing[i], next);
    }
    for (uint32_t i = 0; i < m->learner_count; i++) {
        raft_progress_add(node->progress, &count, old, old_count, m->learners[i], next);
    }
    node->progress_count = count;
    for (uint32_t i = 0; i < count; i++) {
        struct raft_progress *pr = &node->progress[i];
        pr->voter = raft_ids_contain(m->voters, m->voter_count, pr->id);
        pr->voter_outgoing = raft_ids_contain(m->voters_outgoing, m->voters_outgoing_count, pr->id);
        pr->learner = raft_ids_contain(m->learners, m->learner_count, pr->id);
    }
}

/* Tally of one voter set: how many members satisfy yes / no. */
struct raft_tally {
    uint32_t members;
    uint32_t yes;
    uint32_t no;
};

static bool raft_tally_won(const struct raft_tally *t)
{
    return t->members == 0 || t->yes >= t->members / 2 + 1;
}

static bool raft_tally_lost(const struct raft_tally *t)
{
    return t->members > 0 && t->no > t->members - (t->members / 2 + 1);
}

int raft_quorum_vote_result(const struct raft_node *node)
{
    assert(node != NULL);
    struct raft_tally sets[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
    for (uint32_t i = 0; i < node->progress_count; i++) {
        const struct raft_progress *pr = &node->progress[i];
        for (int s = 0; s < 2; s++) {
            bool member = s == 0 ? pr->voter : pr->voter_outgoing;
            if (!member) {
                continue;
            }
            sets[s].members++;
            sets[s].yes += pr->vote == RAFT_VOTE_GRANTED;
            sets[s].no += pr->vote == RAFT_VOTE_REJECTED;
        }
    }
    if (sets[0].members == 0) {
        return -1; /* no voters at all: nobody can win */
    }
    if (raft_tally_lost(&sets[0]) || raft_tally_lost(&sets[1])) {
        return -1;
    }
    if (raft_tally_won(&sets[0]) && raft_tally_won(&sets[1])) {
        return 1;
    }
    return 0;
}

/* Sorts descending by insertion (at most RAFT_NODES_MAX values). */
static void raft_sort_desc(uint64_t *values, uint32_t count)
{
    assert(count <= RAFT_NODES_MAX);
    for (uint32_t i = 1; i < count; i++) {
        uint64_t v = values[i];
        uint32_t j = i;
        while (j > 0 && values[j - 1] < v) {
            values[j] = values[j - 1];
            j--;
        }
        values[j] = v;
    }
}

static uint64_t raft_quorum_match_of_set(const struct raft_node *node, int set)
{
    uint64_t values[RAFT_NODES_MAX];
    uint32_t count = 0;
    for (uint32_t i = 0; i < node->progress_count; i++) {
        const struct raft_progress *pr = &node->progress[i];
        bool member = set == 0 ? pr->voter : pr->voter_outgoing;
        if (!member) {
            continue;
        }
        values[count++] = pr->id == node->config.id ? node->persisted : pr->match_index;
    }
    if (count == 0) {
        return UINT64_MAX; /* an empty set never limits (only the outgoing set can be empty) */
    }
    raft_sort_desc(values, count);
    return values[count / 2]; /* the (majority)-th largest: held by count/2 + 1 members */
}

uint64_t raft_quorum_match_index(const struct raft_node *node)
{
    assert(node != NULL);
    uint64_t incoming = raft_quorum_match_of_set(node, 0);
    uint64_t outgoing = raft_quorum_match_of_set(node, 1);
    uint64_t index = incoming < outgoing ? incoming : outgoing;
    return index == UINT64_MAX ? 0 : index;
}

/* Quorum test where each member's answer is yes if pred holds; self always says yes. */
static bool raft_quorum_with(const struct raft_node *node,
                             bool (*pred)(const struct raft_progress *, uint64_t), uint64_t arg)
{
    struct raft_tally sets[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
    for (uint32_t i = 0; i < node->progress_count; i++) {
        const struct raft_progress *pr = &node->progress[i];
        bool yes = pr->id == node->config.id || pred(pr, arg);
        for (int s = 0; s < 2; s++) {
            bool member = s == 0 ? pr->voter : pr->voter_outgoing;
            if (member) {
                sets[s].members++;
                sets[s].yes += yes;
            }
        }
    }
    return sets[0].members > 0 && raft_tally_won(&sets[0]) && raft_tally_won(&sets[1]);
}

static bool raft_pred_active(const struct raft_progress *pr, uint64_t unused)
{
    (void)unused;
    return pr->recent_active;
}

static bool raft_pred_read_acked(const struct raft_progress *pr, uint64_t context)
{
    return pr->read_ack >= context;
}

bool raft_quorum_active(const struct raft_node *node)
{
    assert(node != NULL);
    return raft_quorum_with(node, raft_pred_active, 0);
}

bool raft_quorum_read_acked(const struct raft_node *node, uint64_t context)
{
    assert(node != NULL);
    assert(context > 0);
    return raft_quorum_with(node, raft_pred_read_acked, context);
}
