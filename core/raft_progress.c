/* Per-peer replication progress: next/match that never regress on stale replies, bounded window. */
#include "core/raft_progress.h"

#include <assert.h>

void raft_progress_reset(struct raft_progress *pr, uint64_t next_index)
{
    assert(pr != NULL);
    assert(next_index >= 1);
    pr->next_index = next_index;
    pr->match_index = 0;
    pr->vote = RAFT_VOTE_NONE;
    pr->recent_active = false;
    pr->read_ack = 0;
    pr->snapshot_index = 0;
    pr->snapshot_total = 0;
    pr->snapshot_offset = 0;
    pr->snapshot_sent = 0;
    pr->snapshot_idle_ticks = 0;
    raft_progress_become_probe(pr);
}

void raft_progress_become_probe(struct raft_progress *pr)
{
    assert(pr != NULL);
    if (pr->state == RAFT_PROGRESS_SNAPSHOT) {
        /* §7: after a snapshot the follower holds everything up to its index. */
        if (pr->next_index < pr->snapshot_index + 1) {
            pr->next_index = pr->snapshot_index + 1;
        }
        pr->snapshot_index = 0;
    }
    pr->state = RAFT_PROGRESS_PROBE;
    pr->probe_sent = false;
    pr->inflight_head = 0;
    pr->inflight_count = 0;
    assert(pr->next_index > pr->match_index);
}

void raft_progress_become_replicate(struct raft_progress *pr)
{
    assert(pr != NULL);
    pr->state = RAFT_PROGRESS_REPLICATE;
    pr->next_index = pr->match_index + 1;
    pr->probe_sent = false;
    pr->inflight_head = 0;
    pr->inflight_count = 0;
}

bool raft_progress_window_open(const struct raft_progress *pr, uint32_t inflight_max)
{
    assert(pr != NULL);
    assert(inflight_max >= 1 && inflight_max <= RAFT_INFLIGHT_MAX);
    switch (pr->state) {
    case RAFT_PROGRESS_PROBE:
        return !pr->probe_sent;
    case RAFT_PROGRESS_REPLICATE:
        return pr->inflight_count < inflight_max;
    default:
        return false;
    }
}

void raft_progress_sent(struct raft_progress *pr, uint64_t last_index)
{
    assert(pr != NULL);
    if (pr->state == RAFT_PROGRESS_PROBE) {
        pr->probe_sent = true;
        return;
    }
    assert(pr->state == RAFT_PROGRESS_REPLICATE);
    assert(pr->inflight_count < RAFT_INFLIGHT_MAX);
    assert(last_index >= pr->next_index);
    uint32_t slot = (pr->inflight_head + pr->inflight_count) % RAFT_INFLIGHT_MAX;
    pr->inflight[slot] = last_index;
    pr->inflight_count++;
    pr->next_index = last_index + 1;
}

void raft_progress_free_to(struct raft_progress *pr, uint64_t index)
{
    assert(pr != NULL);
    for (uint32_t i = 0; i < RAFT_INFLIGHT_MAX && pr->inflight_count > 0; i++) {
        if (pr->inflight[pr->inflight_head] > index) {
            break;
        }
        pr->inflight_head = (pr->inflight_head + 1) % RAFT_INFLIGHT_MAX;
        pr->inflight_count--;
    }
}

void raft_progress_free_first(struct raft_progress *pr)
{
    assert(pr != NULL);
    if (pr->inflight_count == 0) {
        return;
    }
    pr->inflight_head = (pr->inflight_head + 1) % RAFT_INFLIGHT_MAX;
    pr->inflight_count--;
}

bool raft_progress_update_match(struct raft_progress *pr, uint64_t index)
{
    assert(pr != NULL);
    if (index <= pr->match_index) {
        return false; /* stale or duplicate: match never regresses */
    }
    pr->match_index = index;
    if (pr->next_index <= index) {
        pr->next_index = index + 1;
    }
    raft_progress_free_to(pr, index);
    assert(pr->next_index > pr->match_index);
    return true;
}

bool raft_progress_decrease(struct raft_progress *pr, uint64_t rejected, uint64_t hint_next)
{
    assert(pr != NULL);
    if (pr->state == RAFT_PROGRESS_REPLICATE) {
        if (rejected <= pr->match_index) {
            return false; /* answers an append below what the peer already acknowledged */
        }
    } else if (pr->state == RAFT_PROGRESS_PROBE) {
        if (rejected + 1 != pr->next_index) {
            return false; /* not the outstanding probe */
        }
    } else {
        return false;
    }
    uint64_t next = hint_next;
    if (next > rejected) {
        next = rejected;
    }
    if (next <= pr->match_index) {
        next = pr->match_index + 1;
    }
    pr->next_index = next;
    raft_progress_become_probe(pr);
    return true;
}
