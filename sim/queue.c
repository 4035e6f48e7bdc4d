/* The event queue: binary heap on (time, seq) plus a ready set for same-instant choices. */
#include "sim/queue.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static int sim_event_before(const struct sim_event *a, const struct sim_event *b)
{
    if (a->time_us != b->time_us) {
        return a->time_us < b->time_us;
    }
    return a->seq < b->seq;
}

int sim_queue_init(struct sim_queue *queue, uint32_t capacity)
{
    assert(queue != NULL);
    assert(capacity > 0);
    assert(capacity <= SIM_QUEUE_EVENTS_MAX);
    memset(queue, 0, sizeof(*queue));
    queue->allocated = capacity < 4096 ? capacity : 4096;
    queue->heap = malloc((size_t)queue->allocated * sizeof(queue->heap[0]));
    if (queue->heap == NULL) {
        return -1;
    }
    queue->capacity = capacity;
    return 0;
}

void sim_queue_deinit(struct sim_queue *queue)
{
    assert(queue != NULL);
    free(queue->heap);
    memset(queue, 0, sizeof(*queue));
}

/* A 4-ary heap: half the depth of a binary one, and the four children of a node share a cache
 * line or two, so a pop compares more but moves and misses less. Any heap gives the same pop
 * order: (time, seq) is a total order (seq is unique). */
#define SIM_HEAP_ARITY 4u

static void sim_heap_sift_up(struct sim_event *heap, uint32_t index)
{
    struct sim_event moving = heap[index];
    while (index > 0) { /* bounded: index shrinks by a factor of four every step */
        uint32_t parent = (index - 1) / SIM_HEAP_ARITY;
        if (!sim_event_before(&moving, &heap[parent])) {
            break;
        }
        heap[index] = heap[parent];
        index = parent;
    }
    heap[index] = moving;
}

static void sim_heap_sift_down(struct sim_event *heap, uint32_t count, uint32_t index)
{
    struct sim_event moving = heap[index];
    for (;;) { /* bounded: index grows by a factor of four every step, until a leaf */
        uint32_t first = SIM_HEAP_ARITY * index + 1;
        if (first >= count) {
            break;
        }
        uint32_t last = first + SIM_HEAP_ARITY < count ? first + SIM_HEAP_ARITY : count;
        uint32_t child = first;
        for (uint32_t c = first + 1; c < last; c++) {
            if (sim_event_before(&heap[c], &heap[child])) {
                child = c;
            }
        }
        if (!sim_event_before(&heap[child], &moving)) {
            break;
        }
        heap[index] = heap[child];
        index = child;
    }
    heap[index] = moving;
}

int sim_queue_push(struct sim_queue *queue, struct sim_event event)
{
    assert(queue != NULL);
    assert(event.time_us >= queue->now_us); /* the past cannot be scheduled */
    if (sim_queue_pending(queue) >= queue->capacity) {
        return -1;
    }
    if (queue->count == queue->allocated) {
        uint32_t grown =
            queue->allocated > queue->capacity / 2 ? queue->capacity : queue->allocated * 2;
        struct sim_event *bigger = realloc(queue->heap, (size_t)grown * sizeof(queue->heap[0]));
        if (bigger == NULL) {
            return -1;
        }
        queue->heap = bigger;
        queue->allocated = grown;
    }
    event.seq = queue->seq_next++;
    queue->heap[queue->count] = event;
    sim_heap_sift_up(queue->heap, queue->count);
    queue->count++;
    if (sim_queue_pending(queue) > queue->high_water) {
        queue->high_water = sim_queue_pending(queue);
    }
    return 0;
}

uint64_t sim_queue_next_time(const struct sim_queue *queue)
{
    assert(queue != NULL);
    if (queue->ready_count > 0) {
        return queue->now_us;
    }
    return queue->count > 0 ? queue->heap[0].time_us : UINT64_MAX;
}

static struct sim_event sim_heap_pop(struct sim_queue *queue)
{
    assert(queue->count > 0);
    struct sim_event top = queue->heap[0];
    queue->count--;
    if (queue->count > 0) {
        queue->heap[0] = queue->heap[queue->count];
        sim_heap_sift_down(queue->heap, queue->count, 0);
    }
    return top;
}

int sim_queue_pop(struct sim_queue *queue, struct sim_chooser *chooser, struct sim_event *out)
{
    assert(queue != NULL);
    assert(out != NULL);
    if (queue->ready_count == 0) {
        if (queue->count == 0) {
            return 0;
        }
        assert(queue->heap[0].time_us >= queue->now_us);
        queue->now_us = queue->heap[0].time_us;
        /* The common case: the earliest event is the only one due now. It would be the ready
         * set's only member, which is no choice: take it straight from the heap. */
        struct sim_event top = sim_heap_pop(queue);
        if (queue->count == 0 || queue->heap[0].time_us != queue->now_us) {
            *out = top;
            queue->popped++;
            return 1;
        }
        queue->ready[queue->ready_count++] = top;
    }
    /* Move everything due now into the ready set (bounded; the rest waits its turn in the heap,
     * still ordered by seq, so the result stays deterministic). */
    while (queue->count > 0 && queue->heap[0].time_us == queue->now_us &&
           queue->ready_count < SIM_QUEUE_READY_MAX) {
        queue->ready[queue->ready_count++] = sim_heap_pop(queue);
    }
    assert(queue->ready_count > 0);
    uint32_t pick = 0;
    if (queue->ready_count > 1) {
        pick = (uint32_t)sim_choose(chooser, SIM_CONCERN_SCHED, queue->ready_count);
    }
    assert(pick < queue->ready_count);
    *out = queue->ready[pick];
    /* Keep the ready set in push order (shift rather than swap) so that choice 0 is always the
     * earliest-pushed event: a schedule of zeros replays the plain FIFO order. */
    memmove(&queue->ready[pick], &queue->ready[pick + 1],
            (queue->ready_count - pick - 1) * sizeof(queue->ready[0]));
    queue->ready_count--;
    queue->popped++;
    return 1;
}
