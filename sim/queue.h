/* The event queue and virtual clock: a bounded binary heap ordered by (time, sequence number). */
#ifndef FLOWRAFT_SIM_QUEUE_H
#define FLOWRAFT_SIM_QUEUE_H

#include "sim/chooser.h"

#include <stdint.h>

/*
 * Events are ordered by virtual time; the sequence number (push order) breaks ties so that the
 * heap is deterministic. When several events are due at the same instant, which one runs next is
 * a decision of the chooser (concern "sched"), so the model checker can explore those orders and
 * the PRNG mode samples them. Events due at the current instant are moved from the heap into a
 * small "ready" set, from which the chooser picks; events pushed for the current instant join it
 * at the next pop.
 *
 * Events are never cancelled: an event names the incarnation of its node, and the handler ignores
 * events for an incarnation that no longer exists (a crashed node's pending ticks).
 */

#define SIM_QUEUE_EVENTS_MAX (1u << 22) /* events pending at once; beyond it a push fails */
#define SIM_QUEUE_READY_MAX  64u        /* same-instant events the chooser picks among */

struct sim_event {
    uint64_t time_us;     /* virtual time at which the event happens */
    uint64_t seq;         /* set by sim_queue_push: push order, unique within a run */
    uint16_t kind;        /* meaning is the world's (tick, deliver, persisted, crash...) */
    uint16_t node;        /* the node the event is for */
    uint32_t incarnation; /* the node's incarnation when the event was scheduled */
    uint64_t arg;         /* kind-specific: a message slot, a client id, a fault id */
};

struct sim_queue {
    struct sim_event *heap; /* owned; heap[0] is the earliest (time, seq) */
    uint32_t count;         /* invariant: count <= allocated <= capacity */
    uint32_t allocated;     /* heap entries allocated: grows by doubling up to capacity */
    uint32_t capacity;      /* invariant: capacity <= SIM_QUEUE_EVENTS_MAX */
    struct sim_event ready[SIM_QUEUE_READY_MAX]; /* all at time now_us, in push order */
    uint32_t ready_count;
    uint64_t now_us;     /* invariant: never decreases; every pending event has time >= now_us */
    uint64_t seq_next;   /* the sequence number of the next push */
    uint64_t popped;     /* events popped so far */
    uint32_t high_water; /* the most events ever pending at once */
};

/* Prepares a queue for up to `capacity` pending events (<= SIM_QUEUE_EVENTS_MAX); memory grows
 * with use. Returns 0 or -1 if out of memory. */
int sim_queue_init(struct sim_queue *queue, uint32_t capacity);
void sim_queue_deinit(struct sim_queue *queue);

/* Schedules `event` (time_us >= now). Returns 0, or -1 if the queue holds `capacity` events (or
 * memory to grow ran out). */
int sim_queue_push(struct sim_queue *queue, struct sim_event event);

/* Pending events, including the ready set. */
static inline uint32_t sim_queue_pending(const struct sim_queue *queue)
{
    return queue->count + queue->ready_count;
}

/* Time of the next event, or UINT64_MAX if none is pending. */
uint64_t sim_queue_next_time(const struct sim_queue *queue);

/* Removes the next event into *out and advances the clock to its time. Among events due at the
 * same instant the chooser picks (one "sched" decision when more than one is ready). Returns 1,
 * or 0 if the queue is empty. */
int sim_queue_pop(struct sim_queue *queue, struct sim_chooser *chooser, struct sim_event *out);

#endif
