/* Benchmark: the linearizability check on simulator histories (read-heavy and default
 * scenarios), against parsing the same history and against the simulated run itself. */
#include "sim/lin.h"
#include "sim/world.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

/*
 * For each scenario, seeds 1..BENCH_SEEDS: the run writes its client history (text format); the
 * history is parsed (the baseline, same bytes, same run) and checked, best of BENCH_REPEATS each.
 * Printed per history: operations, parse and check time, check/parse, time per operation, and the
 * check's share of the whole simulated run (which also checks it once). Prints only.
 */

#define BENCH_SEEDS   5
#define BENCH_REPEATS 3

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct bench_total {
    double parse_s;
    double check_s;
    double run_s;
    uint64_t ops;
};

/* Parses and checks the history at `path`, best of BENCH_REPEATS; 0 or -1. */
static int bench_history(const char *path, double *parse_s, double *check_s, uint32_t *ops,
                         enum lin_verdict *verdict)
{
    *parse_s = *check_s = 1e30;
    for (int r = 0; r < BENCH_REPEATS; r++) {
        struct hist hist;
        double t0 = now_seconds();
        if (hist_load(&hist, HIST_FORMAT_AUTO, path) != HIST_E_OK) {
            fprintf(stderr, "bench_lincheck_sim: %s\n", hist.error);
            hist_free(&hist);
            return -1;
        }
        double t1 = now_seconds();
        struct lin_result result;
        *verdict = lin_check(&hist, NULL, &result);
        double t2 = now_seconds();
        *parse_s = t1 - t0 < *parse_s ? t1 - t0 : *parse_s;
        *check_s = t2 - t1 < *check_s ? t2 - t1 : *check_s;
        *ops = hist.ops_count;
        hist_free(&hist);
    }
    return 0;
}

static void bench_scenario(const char *relative, const char *history_path)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", FLOWRAFT_SOURCE_DIR, relative);
    struct sim_scenario scenario;
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    if (sim_scenario_load(path, &scenario, error, sizeof(error)) != 0) {
        printf("%s: %s\n", relative, error);
        return;
    }
    printf("%s (%" PRIu32 " clients, gets %s):\n", relative, scenario.clients,
           scenario.reads == SIM_READS_INDEX ? "by ReadIndex" : "through the log");
    struct bench_total total = { 0 };
    static struct report_run run;
    for (uint64_t seed = 1; seed <= BENCH_SEEDS; seed++) {
        struct sim_run_options options = { .scenario = &scenario,
                                           .seed = seed,
                                           .history_path = history_path };
        sim_run(&options, &run);
        double parse_s = 0;
        double check_s = 0;
        uint32_t ops = 0;
        enum lin_verdict verdict = LIN_UNKNOWN;
        if (run.verdict != REPORT_PASS ||
            bench_history(history_path, &parse_s, &check_s, &ops, &verdict) != 0) {
            printf("  seed %" PRIu64 ": run %s, skipped\n", seed, run.invariant);
            continue;
        }
        printf("  seed %" PRIu64 " %7" PRIu32 " ops %9.1f us parse %9.1f us check  x%6.2f  "
               "%6.2f us/op  %5.1f%% of the run (%s)\n",
               seed, ops, parse_s * 1e6, check_s * 1e6, check_s / parse_s, check_s * 1e6 / ops,
               100.0 * check_s / run.wall_seconds, lin_verdict_name(verdict));
        total.parse_s += parse_s;
        total.check_s += check_s;
        total.run_s += run.wall_seconds;
        total.ops += ops;
    }
    if (total.ops > 0) {
        printf("  total %7" PRIu64 " ops %9.1f us parse %9.1f us check  x%6.2f  %6.2f us/op  "
               "%5.1f%% of the runs\n",
               total.ops, total.parse_s * 1e6, total.check_s * 1e6, total.check_s / total.parse_s,
               total.check_s * 1e6 / (double)total.ops, 100.0 * total.check_s / total.run_s);
    }
}

int main(void)
{
    char history_path[64];
    snprintf(history_path, sizeof(history_path), "/tmp/flowraft-bench-%ld.hist", (long)getpid());
    bench_scenario("scenarios/read-heavy.ini", history_path);
    bench_scenario("scenarios/default.ini", history_path);
    unlink(history_path);
    return 0;
}
