/* Benchmark of the simulator: raw event-queue throughput as the baseline measured in the same run.
 * Prints figures; asserts nothing (targets are checked by reading, never by timed tests). */
#include "sim/chooser.h"
#include "sim/net.h"
#include "sim/queue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Pops and re-pushes events with random delays: the cost of scheduling alone. */
static double bench_queue(uint64_t events, uint32_t pending)
{
    struct sim_queue queue;
    if (sim_queue_init(&queue, pending * 2) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    struct sim_chooser chooser;
    sim_chooser_init_prng(&chooser, 1);
    struct prng prng;
    prng_seed(&prng, 2);
    for (uint32_t i = 0; i < pending; i++) {
        sim_queue_push(&queue, (struct sim_event){ .time_us = prng_below(&prng, 10000) });
    }
    double start = now_seconds();
    struct sim_event event;
    for (uint64_t i = 0; i < events && sim_queue_pop(&queue, &chooser, &event); i++) {
        event.time_us = queue.now_us + 1 + prng_below(&prng, 10000);
        sim_queue_push(&queue, event);
    }
    double seconds = now_seconds() - start;
    sim_queue_deinit(&queue);
    return (double)events / seconds;
}

/* Sends and delivers messages through the simulated network with chaos on. */
static double bench_net(uint64_t messages)
{
    struct sim_queue queue;
    struct sim_net net;
    struct sim_chooser chooser;
    struct sim_net_config config = {
        .latency = { .kind = SIM_DIST_EXPONENTIAL,
                     .min_us = 200,
                     .mean_us = 2000,
                     .max_us = 50000 },
        .drop_probability = 0.02,
        .duplicate_probability = 0.01,
        .corrupt_probability = 0.005,
    };
    if (sim_queue_init(&queue, 1u << 16) != 0 || sim_net_init(&net, 5, &config, 1) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    sim_chooser_init_prng(&chooser, 3);
    uint8_t bytes[128] = { 0 };
    double start = now_seconds();
    struct sim_event event;
    for (uint64_t i = 0; i < messages; i++) {
        sim_net_send(&net, &queue, &chooser, (uint16_t)(i % 5), (uint16_t)((i + 1) % 5), bytes,
                     sizeof(bytes));
        if (sim_queue_pending(&queue) > 1000) {
            sim_queue_pop(&queue, &chooser, &event);
            if (sim_net_deliver(&net, (uint32_t)event.arg) != NULL) {
                sim_net_release(&net, (uint32_t)event.arg);
            }
        }
    }
    double seconds = now_seconds() - start;
    sim_net_deinit(&net);
    sim_queue_deinit(&queue);
    return (double)messages / seconds;
}

int main(void)
{
    printf("flowraft simulator benchmark\n");
    double queue_small = bench_queue(5000000, 64);
    double queue_large = bench_queue(5000000, 100000);
    double net = bench_net(2000000);
    printf("  baseline: event queue, 64 pending:       %12.0f events/s\n", queue_small);
    printf("  baseline: event queue, 100000 pending:   %12.0f events/s\n", queue_large);
    printf("  network send+deliver with chaos:          %12.0f messages/s (%.2fx queue)\n", net,
           net / queue_small);
    return 0;
}
