/* Membership changes by joint consensus (§6, thesis §4.3): CONFIG entries take effect on append. */
#include "core/raft_codec.h"
#include "core/raft_internal.h"

#include <assert.h>
#include <string.h>

void raft_membership_bootstrap(const struct raft_node *node, struct raft_membership *out)
{
    assert(node != NULL);
    memset(out, 0, sizeof(*out));
    memcpy(out->voters, node->config.voter_ids, sizeof(out->voters));
    out->voter_count = node->config.voter_count;
    memcpy(out->learners, node->config.learner_ids, sizeof(out->learners));
    out->learner_count = node->config.learner_count;
}

uint64_t raft_membership_in_log(const struct raft_node *node, uint64_t index,
                                struct raft_membership *out)
{
    assert(node != NULL && out != NULL);
    assert(index <= raft_log_last_index(&node->log));
    for (uint64_t i = index; i > node->log.prev_index; i--) { /* bounded by the log's length */
        struct raft_entry e;
        raft_log_entry_at(&node->log, i, &e);
        if (e.type == RAFT_ENTRY_CONFIG &&
            raft_membership_decode(e.data, e.data_len, out, NULL) == RAFT_OK) {
            return i;
        }
    }
    if (node->snapshot_index > 0) {
        *out = node->snapshot_membership;
        return node->snapshot_index;
    }
    raft_membership_bootstrap(node, out);
    return 0;
}

void raft_membership_recompute(struct raft_node *node)
{
    assert(node != NULL);
    struct raft_membership m;
    uint64_t at = raft_membership_in_log(node, raft_log_last_index(&node->log), &m);
    raft_membership_apply(node, &m, at);
}

static bool raft_id_in(const uint32_t *ids, uint32_t count, uint32_t id);

bool raft_may_campaign(struct raft_node *node)
{
    assert(node != NULL);
    uint32_t id = node->config.id;
    if (raft_is_voter(node, id)) {
        return true;
    }
    if (node->membership_index <= node->commit) {
        return false; /* removed, and the removal is committed */
    }
    /* Our latest configuration leaves us out but is not committed: the previous one may still
     * need us to elect the leader that commits it (ScyllaDB raft hit the same deadlock). We
     * count votes with the latest configuration, so safety is unchanged. */
    struct raft_membership prev; /* the configuration before the latest */
    assert(node->membership_index > 0);
    (void)raft_membership_in_log(node, node->membership_index - 1, &prev);
    return raft_id_in(prev.voters, prev.voter_count, id) ||
           raft_id_in(prev.voters_outgoing, prev.voters_outgoing_count, id);
}

void raft_reconfig_on_append(struct raft_node *node, uint64_t index)
{
    struct raft_entry e;
    raft_log_entry_at(&node->log, index, &e);
    assert(e.type == RAFT_ENTRY_CONFIG);
    struct raft_membership m;
    if (raft_membership_decode(e.data, e.data_len, &m, NULL) != RAFT_OK) {
        return; /* a malformed configuration is never adopted */
    }
    raft_membership_apply(node, &m, index); /* §6: in force from the moment it is in the log */
}

static bool raft_id_in(const uint32_t *ids, uint32_t count, uint32_t id)
{
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

/* Same voter set, in any order. */
static bool raft_same_voters(const struct raft_membership *a, const struct raft_membership *b)
{
    if (a->voter_count != b->voter_count) {
        return false;
    }
    for (uint32_t i = 0; i < a->voter_count; i++) {
        if (!raft_id_in(b->voters, b->voter_count, a->voters[i])) {
            return false;
        }
    }
    return true;
}

/* Appends a CONFIG entry for `m`, makes it effective and replicates it. */
static int raft_append_config(struct raft_node *node, const struct raft_membership *m)
{
    uint8_t buf[RAFT_MEMBERSHIP_BYTES_MAX];
    size_t len = 0;
    int rc = raft_membership_encode(m, buf, sizeof(buf), &len);
    assert(rc == RAFT_OK);
    (void)rc;
    if (!raft_log_can_append(&node->log, (uint32_t)len)) {
        return raft_fail(node, RAFT_ERR_BUSY, "in-memory log full");
    }
    raft_append_local(node, RAFT_ENTRY_CONFIG, buf, (uint32_t)len);
    raft_reconfig_on_append(node, raft_log_last_index(&node->log));
    raft_maybe_commit(node); /* a one-voter configuration may already have its quorum */
    if (node->role == RAFT_LEADER) {
        raft_broadcast_append(node);
    }
    return RAFT_OK;
}

/* Checks the request; returns RAFT_OK or an error with a reason. */
static int raft_change_config_check(struct raft_node *node, const struct raft_membership *target)
{
    const char *reason = NULL;
    if (node->role != RAFT_LEADER) {
        return raft_fail(node, RAFT_ERR_NOT_LEADER, "not the leader (leader is %u)",
                         node->leader_id);
    }
    if (raft_membership_check(target, &reason) != RAFT_OK) {
        return raft_fail(node, RAFT_ERR_INVALID, "%s", reason);
    }
    if (target->voters_outgoing_count != 0 || target->voter_count == 0) {
        return raft_fail(node, RAFT_ERR_INVALID,
                         "target needs at least one voter and no outgoing voters");
    }
    if (node->transfer_target != 0) {
        return raft_fail(node, RAFT_ERR_BUSY, "leadership transfer in progress");
    }
    if (node->config.test_bugs & RAFT_BUG_UNSAFE_CONFIG_CHANGE) {
        return RAFT_OK;
    }
    if (node->membership_index > node->commit) {
        return raft_fail(node, RAFT_ERR_BUSY, "configuration at index %llu is not committed yet",
                         (unsigned long long)node->membership_index);
    }
    if (node->membership.voters_outgoing_count > 0) {
        return raft_fail(node, RAFT_ERR_BUSY, "still leaving a joint configuration");
    }
    return RAFT_OK;
}

int raft_change_config(struct raft_node *node, const struct raft_membership *target,
                       struct raft_update *update)
{
    assert(node != NULL);
    assert(target != NULL);
    int rc = raft_change_config_check(node, target);
    if (rc != RAFT_OK) {
        return rc;
    }
    struct raft_membership next = *target;
    bool unsafe = (node->config.test_bugs & RAFT_BUG_UNSAFE_CONFIG_CHANGE) != 0;
    if (!unsafe && !raft_same_voters(&node->membership, target)) {
        /* Thesis §4.3: C_old,new first; C_new follows once it commits. */
        memcpy(next.voters_outgoing, node->membership.voters, sizeof(next.voters_outgoing));
        next.voters_outgoing_count = node->membership.voter_count;
    }
    const char *reason = NULL;
    if (raft_membership_check(&next, &reason) != RAFT_OK) {
        return raft_fail(node, RAFT_ERR_INVALID, "joint configuration: %s", reason);
    }
    rc = raft_append_config(node, &next);
    if (rc == RAFT_OK) {
        update->proposed_index = raft_log_last_index(&node->log);
        update->proposed_term = node->term;
    }
    return rc;
}

void raft_reconfig_on_commit(struct raft_node *node)
{
    assert(node != NULL);
    if (node->role != RAFT_LEADER || node->membership_index > node->commit) {
        return; /* the configuration in force is not committed yet */
    }
    const struct raft_membership *m = &node->membership;
    if (m->voters_outgoing_count > 0) {
        struct raft_membership next = *m; /* C_old,new committed: move on to C_new */
        next.voters_outgoing_count = 0;
        memset(next.voters_outgoing, 0, sizeof(next.voters_outgoing));
        (void)raft_append_config(node, &next); /* if the log is full, retried on the next tick */
        return;
    }
    if (!raft_id_in(m->voters, m->voter_count, node->config.id)) {
        raft_become_follower(node, node->term, 0); /* §6: removed leaders step down */
    }
}
