/* Benchmark of the simulator: whole-cluster runs (3 and 5 nodes, fault-free and under the default
 * chaos, every check on) and short model-checker runs, against the raw event-queue throughput
 * measured in the same run. Prints figures; asserts nothing (targets are read, never asserted). */
#include "sim/chooser.h"
#include "sim/net.h"
#include "sim/queue.h"
#include "sim/world.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_TARGET_EVENTS_PER_SECOND 1000000.0 /* issue 5: 5 nodes under chaos, one core */
#define BENCH_TARGET_REAL_TIME         1000.0

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
    uint64_t runs;
    uint64_t events;
    double virtual_seconds;
    double wall_seconds;
    uint64_t failed;
};

/* Runs seeds 1..seeds of `scenario` and sums events, virtual and wall time. */
static struct bench_world bench_world(const struct sim_scenario *scenario, uint64_t seeds)
{
    struct bench_world total = { 0 };
    static struct report_run run;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        struct sim_run_options options = { .scenario = scenario, .seed = seed };
        sim_run(&options, &run);
        total.runs++;
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
    printf("  %-34s %10.0f events/s (%5.3fx queue) %7.0fx real time  %" PRIu64 " failed\n", name,
           events_per_second, events_per_second / baseline, b.virtual_seconds / b.wall_seconds,
           b.failed);
}

/* Short runs (the model checker's and the shrinker's): setup and teardown weigh as much as the
 * events, so the figure is runs per second and microseconds per run. */
static void print_short(const char *name, struct bench_world b, double baseline)
{
    double events_per_second = (double)b.events / b.wall_seconds;
    printf("  %-34s %10.0f runs/s, %6.0f us per run of %4.0f events (%5.3fx queue)  %" PRIu64
           " failed\n",
           name, (double)b.runs / b.wall_seconds, b.wall_seconds / (double)b.runs * 1e6,
           (double)b.events / (double)b.runs, events_per_second / baseline, b.failed);
}

static void print_target(const char *name, struct bench_world b)
{
    double events_per_second = (double)b.events / b.wall_seconds;
    double real_time = b.virtual_seconds / b.wall_seconds;
    printf("  target (%s): %.0f events/s of %.0f (%s), %.0fx real time of %.0fx (%s)\n", name,
           events_per_second, BENCH_TARGET_EVENTS_PER_SECOND,
           events_per_second >= BENCH_TARGET_EVENTS_PER_SECOND ? "met" : "NOT met", real_time,
           BENCH_TARGET_REAL_TIME, real_time >= BENCH_TARGET_REAL_TIME ? "met" : "NOT met");
}

/* Workflows off (defaults), validated as a loaded scenario would be. */
static void no_workflows(struct sim_scenario *scenario)
{
    sim_wf_scenario_defaults(&scenario->wf);
    uint32_t line = 0;
    char problem[256];
    if (sim_wf_scenario_validate(&scenario->wf, scenario->duration_us, &line, problem,
                                 sizeof(problem)) != 0) {
        fprintf(stderr, "bench: %s\n", problem);
        exit(1);
    }
}

static int load(const char *path, struct sim_scenario *scenario)
{
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    if (sim_scenario_load(path, scenario, error, sizeof(error)) != 0) {
        fprintf(stderr, "%s\n", error);
        return -1;
    }
    return 0;
}

int main(void)
{
    printf("flowraft simulator benchmark (one core, every check on; Release figures need a "
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
    static struct sim_scenario chaos_kv;
    static struct sim_scenario mc;
    if (load(FLOWRAFT_SOURCE_DIR "/scenarios/default.ini", &chaos) != 0 ||
        load(FLOWRAFT_SOURCE_DIR "/scenarios/mc-figure8.ini", &mc) != 0) {
        return 1;
    }
    bool workflows = chaos.wf.submit_count > 0;
    struct bench_world chaos5 = { 0 };
    for (uint32_t nodes = 3; nodes <= 5; nodes += 2) {
        sim_scenario_defaults(&calm);
        snprintf(calm.name, sizeof(calm.name), "fault-free");
        calm.nodes = nodes;
        calm.duration_us = 20000000;
        calm.clients = chaos.clients;
        calm.think = chaos.think;
        calm.crashed_nodes_max = (nodes - 1) / 2;
        no_workflows(&calm);
        chaos.nodes = nodes;
        chaos.crashed_nodes_max = (nodes - 1) / 2;
        chaos.corrupt_replicas_max = (nodes - 1) / 2;
        char name[64];
        snprintf(name, sizeof(name), "%u nodes, fault-free", nodes);
        print_world(name, bench_world(&calm, 20), queue_small);
        snprintf(name, sizeof(name), "%u nodes, default chaos%s", nodes,
                 workflows ? " + workflows" : "");
        struct bench_world b = bench_world(&chaos, 20);
        print_world(name, b, queue_small);
        chaos5 = b;
    }
    struct bench_world kv5 = chaos5;
    if (workflows) { /* the same chaos, KV clients only */
        chaos_kv = chaos;
        no_workflows(&chaos_kv);
        kv5 = bench_world(&chaos_kv, 20);
        print_world("5 nodes, default chaos, KV only", kv5, queue_small);
    }
    /* Steady state: one long run amortizes setup, the liveness phase and the history check. */
    chaos_kv = chaos;
    chaos_kv.duration_us = 200000000;
    no_workflows(&chaos_kv); /* the submits are timed for a 20 s run */
    print_world("5 nodes, chaos, KV only, 200 s runs", bench_world(&chaos_kv, 3), queue_small);
    print_short("model checker runs (mc-figure8)", bench_world(&mc, 300), queue_small);
    print_target(workflows ? "5 nodes, default chaos + workflows" : "5 nodes, default chaos",
                 chaos5);
    if (workflows) {
        print_target("5 nodes, default chaos, KV only", kv5);
    }
    return 0;
}
