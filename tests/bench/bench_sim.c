/* Benchmark of the simulator: whole-cluster runs (3 and 5 nodes, fault-free and under the default
 * chaos, every check on) against the raw event-queue throughput measured in the same run.
 * Prints figures; asserts nothing (targets are read, never asserted). */
#include "sim/chooser.h"
#include "sim/net.h"
#include "sim/queue.h"
#include "sim/world.h"

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

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

struct bench_world {
    uint64_t events;
    double virtual_seconds;
    double wall_seconds;
    uint64_t failed;
};

/* Runs `seeds` seeds of `scenario` and sums events, virtual and wall time. */
static struct bench_world bench_world(const struct sim_scenario *scenario, uint64_t seeds)
{
    struct bench_world total = { 0 };
    static struct report_run run;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        struct sim_run_options options = { .scenario = scenario, .seed = seed };
        sim_run(&options, &run);
        total.events += run.events;
        total.virtual_seconds += (double)run.virtual_time_us / 1e6;
        total.wall_seconds += run.wall_seconds;
        total.failed += run.verdict != REPORT_PASS;
    }
    return total;
}

static void print_world(const char *name, struct bench_world b, double baseline)
{
    double events_per_second = (double)b.events / b.wall_seconds;
    printf("  %-28s %10.0f events/s (%5.3fx queue)  %7.0fx real time  %" PRIu64 " failed\n", name,
           events_per_second, events_per_second / baseline, b.virtual_seconds / b.wall_seconds,
           b.failed);
}

int main(void)
{
    printf("flowraft simulator benchmark (one core, checks on, Release figures need a "
           "non-sanitized build)\n");
    double queue_small = bench_queue(5000000, 64);
    double queue_large = bench_queue(5000000, 100000);
    double net = bench_net(2000000);
    printf("  baseline: event queue, 64 pending:       %12.0f events/s\n", queue_small);
    printf("  baseline: event queue, 100000 pending:   %12.0f events/s\n", queue_large);
    printf("  network send+deliver with chaos:          %12.0f messages/s (%.2fx queue)\n", net,
           net / queue_small);
    static struct sim_scenario calm;
    static struct sim_scenario chaos;
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    if (sim_scenario_load(FLOWRAFT_SOURCE_DIR "/scenarios/default.ini", &chaos, error,
                          sizeof(error)) != 0) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    for (uint32_t nodes = 3; nodes <= 5; nodes += 2) {
        sim_scenario_defaults(&calm);
        snprintf(calm.name, sizeof(calm.name), "fault-free");
        calm.nodes = nodes;
        calm.duration_us = 20000000;
        calm.clients = chaos.clients;
        calm.think = chaos.think;
        calm.crashed_nodes_max = (nodes - 1) / 2;
        chaos.nodes = nodes;
        chaos.crashed_nodes_max = (nodes - 1) / 2;
        chaos.corrupt_replicas_max = (nodes - 1) / 2;
        char name[64];
        snprintf(name, sizeof(name), "%u nodes, fault-free", nodes);
        print_world(name, bench_world(&calm, 20), queue_small);
        snprintf(name, sizeof(name), "%u nodes, default chaos", nodes);
        print_world(name, bench_world(&chaos, 20), queue_small);
    }
    /* Steady state: one long run amortizes setup, the liveness phase and the history check. */
    chaos.duration_us = 200000000;
    print_world("5 nodes, chaos, 200 s runs", bench_world(&chaos, 3), queue_small);
    printf("  targets (5 nodes, chaos): 1000000 events/s and 1000x real time\n");
    return 0;
}
