/* A leader's view of one peer: next/match indices, probe/pipeline state, in-flight appends. */
#ifndef FLOWRAFT_CORE_RAFT_PROGRESS_H
#define FLOWRAFT_CORE_RAFT_PROGRESS_H

#include "core/raft.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * States (after etcd raft's tracker): PROBE sends one AppendEntries at a time and waits, to find
 * where the follower's log matches; REPLICATE pipelines up to `inflight_appends_max` appends,
 * advancing next optimistically; SNAPSHOT (issue 6) streams an InstallSnapshot instead.
 *
 * Invariants: match_index < next_index; match_index never decreases within a term; in
 * REPLICATE, the in-flight ring holds strictly increasing last indices, all > match_index.
 */
enum raft_progress_state {
    RAFT_PROGRESS_PROBE = 0,
    RAFT_PROGRESS_REPLICATE = 1,
    RAFT_PROGRESS_SNAPSHOT = 2,
};

enum raft_vote_state {
    RAFT_VOTE_NONE = 0,
    RAFT_VOTE_GRANTED = 1,
    RAFT_VOTE_REJECTED = 2,
};

struct raft_progress {
    uint32_t id;
    bool voter;          /* in membership.voters */
    bool voter_outgoing; /* in membership.voters_outgoing (joint configuration) */
    bool learner;
    uint8_t state;      /* enum raft_progress_state */
    uint8_t vote;       /* enum raft_vote_state, for the current election only */
    bool probe_sent;    /* PROBE: an append is outstanding */
    bool recent_active; /* heard from in the current check-quorum period */
    uint64_t next_index;
    uint64_t match_index;
    uint64_t inflight[RAFT_INFLIGHT_MAX]; /* last index of each in-flight append, oldest first */
    uint32_t inflight_head;
    uint32_t inflight_count; /* invariant: <= RAFT_INFLIGHT_MAX */
    /* issue 6: snapshot streaming and ReadIndex acknowledgements */
    uint64_t snapshot_index;  /* SNAPSHOT: the snapshot being sent */
    uint64_t snapshot_total;  /* SNAPSHOT: its stream length (the leader may compact again) */
    uint64_t snapshot_offset; /* SNAPSHOT: bytes acknowledged */
    uint64_t snapshot_sent;   /* SNAPSHOT: bytes sent (offset of the next chunk) */
    uint32_t snapshot_idle_ticks;
    uint64_t read_ack; /* highest ReadIndex context this peer echoed in the current term */
};

/* Resets to PROBE with the given next index and no match (a new leader's view, §5.3). */
void raft_progress_reset(struct raft_progress *pr, uint64_t next_index);
void raft_progress_become_probe(struct raft_progress *pr);
void raft_progress_become_replicate(struct raft_progress *pr);

/* True if the window allows one more non-empty append. */
bool raft_progress_window_open(const struct raft_progress *pr, uint32_t inflight_max);
/* Records an append carrying entries up to `last_index` (REPLICATE: pipelined; PROBE: one). */
void raft_progress_sent(struct raft_progress *pr, uint64_t last_index);
/* Frees in-flight slots for appends acknowledged up to `index`. */
void raft_progress_free_to(struct raft_progress *pr, uint64_t index);
/* Frees the oldest in-flight slot (a heartbeat answer proves the peer is alive). */
void raft_progress_free_first(struct raft_progress *pr);

/* A success reply proving the peer matches through `index`. False if stale (no progress). */
bool raft_progress_update_match(struct raft_progress *pr, uint64_t index);
/* A rejection of the append whose prev was `rejected`; moves next back to `hint_next`. False if
 * the rejection is stale (answers an append the leader already moved past). */
bool raft_progress_decrease(struct raft_progress *pr, uint64_t rejected, uint64_t hint_next);

#endif
