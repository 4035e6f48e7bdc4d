/* Tests for sim/net: fates through the chooser, partitions, clogging, corruption and bounds. */
#include "sim/net.h"

#include <criterion/criterion.h>
#include <string.h>

#define DELIVER 7

struct fixture {
    struct sim_queue queue;
    struct sim_chooser chooser;
    struct sim_net net;
};

static void setup(struct fixture *f, uint32_t nodes, struct sim_net_config config, uint64_t seed)
{
    cr_assert_eq(sim_queue_init(&f->queue, 1u << 16), 0);
    sim_chooser_init_prng(&f->chooser, seed);
    cr_assert_eq(sim_net_init(&f->net, nodes, &config, DELIVER), 0);
}

static void teardown(struct fixture *f)
{
    sim_net_deinit(&f->net);
    sim_queue_deinit(&f->queue);
}

static struct sim_net_config calm(void)
{
    struct sim_net_config config = { 0 };
    config.latency = (struct sim_dist){ .kind = SIM_DIST_UNIFORM, .min_us = 100, .max_us = 900 };
    return config;
}

/* Delivers everything pending; counts copies and checks their bytes against `expect`. */
static int drain(struct fixture *f, const uint8_t *expect, uint32_t len, int *corrupted)
{
    int delivered = 0;
    struct sim_event e;
    while (sim_queue_pop(&f->queue, &f->chooser, &e)) {
        cr_assert_eq(e.kind, DELIVER);
        const struct sim_net_slot *slot = sim_net_deliver(&f->net, (uint32_t)e.arg);
        if (slot == NULL) {
            continue;
        }
        cr_assert_eq(slot->to, e.node);
        cr_assert_eq(slot->len, len);
        if (slot->corrupted) {
            cr_assert_neq(memcmp(slot->bytes, expect, len), 0, "a corrupted copy is changed");
            (*corrupted)++;
        } else {
            cr_assert_eq(memcmp(slot->bytes, expect, len), 0);
        }
        sim_net_release(&f->net, (uint32_t)e.arg);
        delivered++;
    }
    return delivered;
}

/* Invariant: with no faults every message arrives once, intact, within the latency bounds. */
Test(sim_net, calm_network_delivers_everything_once)
{
    struct fixture f;
    setup(&f, 3, calm(), 1);
    const uint8_t msg[] = "append entries";
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 1, msg, sizeof(msg)), 0);
    }
    cr_assert_leq(sim_queue_next_time(&f.queue), 900);
    cr_assert_geq(sim_queue_next_time(&f.queue), 100);
    int corrupted = 0;
    cr_assert_eq(drain(&f, msg, sizeof(msg), &corrupted), 100);
    cr_assert_eq(f.net.stats.delivered, 100);
    cr_assert_eq(f.net.free_count, SIM_NET_INFLIGHT_MAX, "every slot is released");
    teardown(&f);
}

/* Invariant: drop, duplicate and corrupt happen at their rates and are counted. */
Test(sim_net, faults_at_their_rates)
{
    struct fixture f;
    struct sim_net_config config = calm();
    config.drop_probability = 0.2;
    config.duplicate_probability = 0.1;
    config.corrupt_probability = 0.05;
    setup(&f, 2, config, 2);
    uint8_t msg[64];
    memset(msg, 0xa5, sizeof(msg));
    for (int i = 0; i < 10000; i++) {
        cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 1, msg, sizeof(msg)), 0);
        int corrupted = 0;
        drain(&f, msg, sizeof(msg), &corrupted);
    }
    const struct sim_net_stats *s = &f.net.stats;
    cr_assert(s->dropped_random > 1700 && s->dropped_random < 2300, "%lu", s->dropped_random);
    cr_assert(s->duplicated > 600 && s->duplicated < 1000, "%lu", s->duplicated);
    cr_assert(s->corrupted > 300 && s->corrupted < 600, "%lu", s->corrupted);
    cr_assert_eq(s->delivered, s->sent - s->dropped_random + s->duplicated);
    teardown(&f);
}

/* Invariant: a blocked link drops what is sent and what is in flight; heal restores it. */
Test(sim_net, partitions_block_links)
{
    struct fixture f;
    setup(&f, 5, calm(), 3);
    const uint8_t msg[] = "vote";
    cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 1, msg, sizeof(msg)), 0);
    sim_net_split(&f.net, (1u << 0) | (1u << 2)); /* {0, 2} | {1, 3, 4} */
    cr_assert_eq(sim_net_blocked_links(&f.net), 2 * 2 * 3);
    cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 3, msg, sizeof(msg)), 0);
    cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 2, msg, sizeof(msg)), 0);
    int corrupted = 0;
    cr_assert_eq(drain(&f, msg, sizeof(msg), &corrupted), 1, "only 0->2 gets through");
    cr_assert_eq(f.net.stats.dropped_partition, 2);
    sim_net_heal(&f.net);
    cr_assert_eq(sim_net_blocked_links(&f.net), 0);
    sim_net_block(&f.net, 1, 0, 1); /* one way */
    cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 1, msg, sizeof(msg)), 0);
    cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 1, 0, msg, sizeof(msg)), 0);
    cr_assert_eq(drain(&f, msg, sizeof(msg), &corrupted), 1);
    sim_net_heal(&f.net);
    sim_net_isolate(&f.net, 4);
    cr_assert_eq(sim_net_blocked_links(&f.net), 8);
    cr_assert_eq(f.net.free_count, SIM_NET_INFLIGHT_MAX);
    teardown(&f);
}

/* Invariant: a clogged link holds messages until the clog ends, then delivers them. */
Test(sim_net, clogging_delays_until_the_end)
{
    struct fixture f;
    setup(&f, 2, calm(), 4);
    sim_net_clog(&f.net, 0, 1, 50000);
    const uint8_t msg[] = "heartbeat";
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 1, msg, sizeof(msg)), 0);
    }
    cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 1, 0, msg, sizeof(msg)), 0);
    struct sim_event e;
    cr_assert(sim_queue_pop(&f.queue, &f.chooser, &e));
    cr_assert_eq(e.node, 0, "the reverse direction is not clogged");
    cr_assert_lt(e.time_us, 1000);
    sim_net_release(&f.net, (uint32_t)e.arg);
    for (int i = 0; i < 10; i++) {
        cr_assert(sim_queue_pop(&f.queue, &f.chooser, &e));
        cr_assert_eq(e.time_us, 50000);
        sim_net_release(&f.net, (uint32_t)e.arg);
    }
    cr_assert_eq(f.net.stats.clogged, 10);
    teardown(&f);
}

/* Invariant: the same seed gives the same fates and delivery times (determinism). */
Test(sim_net, deterministic_per_seed)
{
    uint64_t times[2][200];
    for (int run = 0; run < 2; run++) {
        struct fixture f;
        struct sim_net_config config = calm();
        config.drop_probability = 0.1;
        config.duplicate_probability = 0.1;
        config.latency = (struct sim_dist){
            .kind = SIM_DIST_EXPONENTIAL, .min_us = 100, .mean_us = 2000, .max_us = 100000
        };
        setup(&f, 3, config, 99);
        const uint8_t msg[] = "x";
        for (int i = 0; i < 100; i++) {
            sim_net_send(&f.net, &f.queue, &f.chooser, 0, (uint16_t)(1 + i % 2), msg, 1);
        }
        struct sim_event e;
        int n = 0;
        memset(times[run], 0, sizeof(times[run]));
        while (sim_queue_pop(&f.queue, &f.chooser, &e) && n < 200) {
            times[run][n++] = e.time_us * 16 + e.node;
            sim_net_release(&f.net, (uint32_t)e.arg);
        }
        teardown(&f);
    }
    cr_assert_eq(memcmp(times[0], times[1], sizeof(times[0])), 0);
}

/* Invariant: the in-flight pool is bounded; overflow drops (counted), never crashes. */
Test(sim_net, bounded_in_flight_pool)
{
    struct fixture f;
    setup(&f, 2, calm(), 5);
    const uint8_t msg[] = "m";
    for (uint32_t i = 0; i < SIM_NET_INFLIGHT_MAX + 10; i++) {
        cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 1, msg, 1), 0);
    }
    cr_assert_eq(f.net.stats.dropped_overflow, 10);
    cr_assert_eq(f.net.free_count, 0);
    teardown(&f);
}

/* Invariant: slot numbers are deterministic and small: the lowest never-used slot when none was
 * released, else the one released last (so a run touches only as many slots as it had in flight
 * at once, and the numbers, which name deliveries in the trace, follow from the sends). */
Test(sim_net, slots_lowest_first_then_last_released)
{
    struct fixture f;
    struct sim_net_config config = calm();
    config.latency = (struct sim_dist){ .kind = SIM_DIST_CONSTANT, .min_us = 10, .max_us = 10 };
    setup(&f, 2, config, 9);
    const uint8_t msg[] = "m";
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 1, msg, 1), 0);
    }
    cr_assert_eq(f.net.slots_touched, 4);
    struct sim_event e;
    uint32_t order[4];
    for (int i = 0; i < 4; i++) {
        cr_assert(sim_queue_pop(&f.queue, &f.chooser, &e));
        order[i] = (uint32_t)e.arg;
    }
    cr_assert_eq(order[0] + order[1] + order[2] + order[3], 0 + 1 + 2 + 3, "slots 0..3");
    sim_net_release(&f.net, 2);
    sim_net_release(&f.net, 0);
    cr_assert_eq(f.net.free_count, SIM_NET_INFLIGHT_MAX - 2);
    uint32_t expect[] = { 0, 2, 4 }; /* last released first, then the lowest never used */
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(sim_net_send(&f.net, &f.queue, &f.chooser, 0, 1, msg, 1), 0);
        cr_assert_eq(f.net.slots[expect[i]].in_use, 1, "send %d took slot %u", i, expect[i]);
    }
    cr_assert_eq(f.net.slots_touched, 5);
    cr_assert_eq(f.net.free_count, SIM_NET_INFLIGHT_MAX - 5);
    teardown(&f);
}
