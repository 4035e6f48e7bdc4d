/* The simulated network: latency, drop, duplication, corruption, partitions and clogged links. */
#ifndef FLOWRAFT_SIM_NET_H
#define FLOWRAFT_SIM_NET_H

#include "sim/chooser.h"
#include "sim/dist.h"
#include "sim/queue.h"

#include <stdint.h>

/*
 * Messages are bytes (the encoded wire format), copied into a bounded pool of in-flight slots when
 * sent and handed to the destination when their delivery event fires. Every random fate is a
 * chooser decision under its own concern: latency (net.delay; reordering follows from it), loss
 * (net.drop), duplication (net.dup: a second copy with its own latency) and corruption
 * (net.corrupt: one to three bit flips in the copy's bytes, which the receiver's codec checksum
 * must catch; the receiver reports catches with sim_net_count_caught()).
 *
 * Partitions are per directed link: a blocked link drops what is sent on it and what is in flight
 * on it when it would be delivered. A clogged link delivers nothing until the clog ends, then
 * everything that waited (FoundationDB's "clogging"). Healing clears blocks and clogs.
 */

#define SIM_NODES_MAX             16u        /* node slots (a cluster is 1..9, plus joins) */
#define SIM_NET_INFLIGHT_MAX      32768u     /* messages in flight at once; beyond: dropped */
#define SIM_NET_MESSAGE_BYTES_MAX (8u << 20) /* largest message accepted by sim_net_send */
#define SIM_NET_CORRUPT_BITS_MAX  3u         /* bit flips in one corrupted message */

struct sim_net_config {
    struct sim_dist latency;      /* one-way latency of every message */
    double drop_probability;      /* per message, in [0, 1] */
    double duplicate_probability; /* per message, in [0, 1] */
    double corrupt_probability;   /* per delivered copy, in [0, 1] */
    struct sim_dist slow_latency; /* added to every copy to or from a node in slow_mask */
    uint32_t slow_mask;           /* bit per node: slow links (0: none, no extra decisions) */
};

struct sim_net_stats {
    uint64_t sent; /* sim_net_send calls */
    uint64_t bytes_sent;
    uint64_t delivered;         /* copies handed to a destination */
    uint64_t dropped_random;    /* lost by the drop probability */
    uint64_t dropped_partition; /* sent on, or in flight on, a blocked link */
    uint64_t dropped_overflow;  /* the in-flight pool was full */
    uint64_t dropped_down;      /* the destination was crashed (counted by the world) */
    uint64_t duplicated;        /* extra copies created */
    uint64_t corrupted;         /* copies whose bytes were flipped */
    uint64_t corrupt_caught;    /* corrupted copies the receiver rejected (by the world) */
    uint64_t clogged;           /* copies held back by a clogged link */
};

struct sim_net_link {
    uint8_t blocked;           /* 1: messages on this directed link are dropped */
    uint64_t clogged_until_us; /* nothing is delivered on this link before this time */
};

struct sim_net_slot {
    uint8_t *bytes; /* owned; capacity bytes allocated, reused across messages */
    uint32_t len;   /* invariant: len <= capacity */
    uint32_t capacity;
    uint16_t from;
    uint16_t to;
    uint8_t in_use;
    uint8_t corrupted; /* the copy's bytes were flipped (known to the simulator, not the node) */
};

struct sim_net {
    uint32_t node_count; /* invariant: 1 <= node_count <= SIM_NODES_MAX */
    struct sim_net_config config;
    struct sim_net_link links[SIM_NODES_MAX][SIM_NODES_MAX]; /* [from][to] */
    struct sim_net_slot *slots;                              /* SIM_NET_INFLIGHT_MAX, owned */
    uint32_t *free_slots; /* stack of released slot indices (SIM_NET_INFLIGHT_MAX, owned) */
    uint32_t free_count;  /* free slots: the stack's, plus [slots_touched, SIM_NET_INFLIGHT_MAX) */
    uint32_t slots_touched; /* slots [0, slots_touched) were used at least once; the rest never
                               were (so a short run touches, and frees, only what it used) */
    uint16_t deliver_kind;  /* the event kind the net schedules for deliveries */
    struct sim_net_stats stats;
};

/* Returns 0, or -1 when out of memory. Deliveries are events of kind `deliver_kind` whose node is
 * the destination and whose arg is the slot. */
int sim_net_init(struct sim_net *net, uint32_t node_count, const struct sim_net_config *config,
                 uint16_t deliver_kind);
void sim_net_deinit(struct sim_net *net);

/* Sends `len` bytes from `from` to `to` at the queue's current time: draws the fates and schedules
 * zero, one or two deliveries. Returns 0, or -1 if the event queue is full. */
int sim_net_send(struct sim_net *net, struct sim_queue *queue, struct sim_chooser *chooser,
                 uint16_t from, uint16_t to, const uint8_t *bytes, uint32_t len);

/* The delivery of `slot` fired: returns the slot (bytes, from, corrupted flag) if the link is open,
 * or NULL if the message is lost on a link blocked meanwhile (the slot is then released). After a
 * non-NULL return the caller must call sim_net_release(). */
const struct sim_net_slot *sim_net_deliver(struct sim_net *net, uint32_t slot);
void sim_net_release(struct sim_net *net, uint32_t slot);

/* The receiver's codec rejected a copy the network had corrupted. */
void sim_net_count_caught(struct sim_net *net);

/* Partitions. */
void sim_net_block(struct sim_net *net, uint16_t from, uint16_t to, int blocked);
/* Blocks every link between the nodes in `group_mask` and the others, both ways. */
void sim_net_split(struct sim_net *net, uint32_t group_mask);
void sim_net_isolate(struct sim_net *net, uint16_t node);
/* Holds everything on from->to until `until_us`. */
void sim_net_clog(struct sim_net *net, uint16_t from, uint16_t to, uint64_t until_us);
/* Unblocks and unclogs every link. */
void sim_net_heal(struct sim_net *net);
/* Links currently blocked (directed). */
uint32_t sim_net_blocked_links(const struct sim_net *net);

#endif
