/* Tests for sim/queue: (time, seq) order, the ready set's choices, bounds and the clock. */
#include "sim/queue.h"

#include <criterion/criterion.h>

static struct sim_event at(uint64_t time_us, uint64_t arg)
{
    return (struct sim_event){ .time_us = time_us, .arg = arg };
}

/* Invariant: events come out in time order; equal times in push order when choices are 0. */
Test(sim_queue, pops_in_time_then_push_order)
{
    struct sim_queue q;
    cr_assert_eq(sim_queue_init(&q, 1024), 0);
    struct sim_chooser c;
    sim_chooser_init_prng(&c, 1);
    /* Without ties the chooser is never asked. */
    uint64_t times[] = { 50, 10, 30, 20, 40, 60, 5 };
    for (uint64_t i = 0; i < 7; i++) {
        cr_assert_eq(sim_queue_push(&q, at(times[i], i)), 0);
    }
    uint64_t last = 0;
    struct sim_event e;
    for (int i = 0; i < 7; i++) {
        cr_assert(sim_queue_pop(&q, &c, &e));
        cr_assert_geq(e.time_us, last);
        cr_assert_eq(q.now_us, e.time_us);
        last = e.time_us;
    }
    cr_assert_not(sim_queue_pop(&q, &c, &e));
    cr_assert_eq(c.decisions, 0);
    sim_queue_deinit(&q);
}

static uint64_t pick_zero(void *ctx, enum sim_concern concern, uint64_t n, uint64_t drawn)
{
    (void)ctx;
    (void)n;
    (void)drawn;
    cr_assert_eq(concern, SIM_CONCERN_SCHED);
    return 0;
}

static uint64_t pick_last(void *ctx, enum sim_concern concern, uint64_t n, uint64_t drawn)
{
    (void)ctx;
    (void)concern;
    (void)drawn;
    return n - 1;
}

/* Invariant: among same-time events the chooser decides; choice 0 is FIFO, n-1 is LIFO. */
Test(sim_queue, ties_are_chooser_decisions)
{
    for (int mode = 0; mode < 2; mode++) {
        struct sim_queue q;
        cr_assert_eq(sim_queue_init(&q, 64), 0);
        struct sim_chooser c;
        sim_chooser_init_strategy(
            &c, 0, (struct sim_chooser_strategy){ .choose = mode == 0 ? pick_zero : pick_last });
        for (uint64_t i = 0; i < 5; i++) {
            cr_assert_eq(sim_queue_push(&q, at(100, i)), 0);
        }
        cr_assert_eq(sim_queue_push(&q, at(200, 99)), 0);
        struct sim_event e;
        for (uint64_t i = 0; i < 5; i++) {
            cr_assert(sim_queue_pop(&q, &c, &e));
            cr_assert_eq(e.arg, mode == 0 ? i : 4 - i);
            cr_assert_eq(e.time_us, 100);
        }
        cr_assert_eq(c.decisions, 4); /* the last one standing is no choice */
        cr_assert(sim_queue_pop(&q, &c, &e));
        cr_assert_eq(e.arg, 99);
        sim_queue_deinit(&q);
    }
}

/* Invariant: an event pushed for the current instant joins the ready set (it can run next). */
Test(sim_queue, same_instant_pushes_join_the_ready_set)
{
    struct sim_queue q;
    cr_assert_eq(sim_queue_init(&q, 64), 0);
    struct sim_chooser c;
    sim_chooser_init_strategy(&c, 0, (struct sim_chooser_strategy){ .choose = pick_last });
    cr_assert_eq(sim_queue_push(&q, at(10, 1)), 0);
    cr_assert_eq(sim_queue_push(&q, at(10, 2)), 0);
    struct sim_event e;
    cr_assert(sim_queue_pop(&q, &c, &e));
    cr_assert_eq(e.arg, 2);
    cr_assert_eq(sim_queue_push(&q, at(10, 3)), 0);
    cr_assert_eq(sim_queue_pending(&q), 2);
    cr_assert(sim_queue_pop(&q, &c, &e));
    cr_assert_eq(e.arg, 3);
    cr_assert(sim_queue_pop(&q, &c, &e));
    cr_assert_eq(e.arg, 1);
    sim_queue_deinit(&q);
}

/* Invariant: the queue is bounded: a push beyond capacity fails and changes nothing. */
Test(sim_queue, bounded)
{
    struct sim_queue q;
    cr_assert_eq(sim_queue_init(&q, 3), 0);
    for (uint64_t i = 0; i < 3; i++) {
        cr_assert_eq(sim_queue_push(&q, at(i, i)), 0);
    }
    cr_assert_eq(sim_queue_push(&q, at(9, 9)), -1);
    cr_assert_eq(sim_queue_pending(&q), 3);
    cr_assert_eq(q.high_water, 3);
    sim_queue_deinit(&q);
}

/* Invariant: heap order holds under a random mix of pushes and pops; the clock never goes back;
 * more same-time events than the ready set holds still all come out, in time order. */
Test(sim_queue, random_mix_keeps_order)
{
    struct sim_queue q;
    cr_assert_eq(sim_queue_init(&q, 100000), 0);
    struct sim_chooser c;
    sim_chooser_init_prng(&c, 77);
    struct prng prng;
    prng_seed(&prng, 5);
    uint64_t pushed = 0, popped = 0, last = 0;
    for (int round = 0; round < 20000; round++) {
        int pushes = (int)prng_below(&prng, 4);
        for (int i = 0; i < pushes; i++) {
            uint64_t t = q.now_us + prng_below(&prng, 3) * 10; /* many ties */
            cr_assert_eq(sim_queue_push(&q, at(t, pushed++)), 0);
        }
        struct sim_event e;
        if (sim_queue_pop(&q, &c, &e)) {
            cr_assert_geq(e.time_us, last);
            last = e.time_us;
            popped++;
        }
    }
    struct sim_event e;
    while (sim_queue_pop(&q, &c, &e)) {
        cr_assert_geq(e.time_us, last);
        last = e.time_us;
        popped++;
    }
    cr_assert_eq(pushed, popped);
    cr_assert_gt(c.decisions, 0);
    sim_queue_deinit(&q);
}

/* Invariant: more than SIM_QUEUE_READY_MAX same-instant events are all delivered. */
Test(sim_queue, overflowing_ready_set)
{
    struct sim_queue q;
    cr_assert_eq(sim_queue_init(&q, 1000), 0);
    struct sim_chooser c;
    sim_chooser_init_prng(&c, 3);
    uint8_t seen[200] = { 0 };
    for (uint64_t i = 0; i < 200; i++) {
        cr_assert_eq(sim_queue_push(&q, at(7, i)), 0);
    }
    struct sim_event e;
    for (int i = 0; i < 200; i++) {
        cr_assert(sim_queue_pop(&q, &c, &e));
        cr_assert_eq(seen[e.arg], 0);
        seen[e.arg] = 1;
    }
    cr_assert_not(sim_queue_pop(&q, &c, &e));
    sim_queue_deinit(&q);
}
