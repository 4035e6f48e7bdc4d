/* Run results and sweep summaries, and the text, JSON, HTML and JUnit reports made from them. */
#ifndef FLOWRAFT_REPORTS_REPORT_H
#define FLOWRAFT_REPORTS_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A report_run is what one simulator run tells the world: plain data with fixed-size fields so
 * that a sweep's worker process can pass it to its parent through a pipe as bytes. A sweep keeps
 * a brief record of every run and the full record of failing runs (up to a bound).
 */

#define REPORT_NAME_BYTES_MAX    64
#define REPORT_PATH_BYTES_MAX    256
#define REPORT_DETAIL_BYTES_MAX  8192 /* the violation, with nodes, term, index, event, time */
#define REPORT_COMMAND_BYTES_MAX 512
#define REPORT_COUNTERS_MAX      96
#define REPORT_SCENARIOS_MAX     64
#define REPORT_FAILURES_MAX      2000 /* full records kept per sweep; further failures are counted */
#define REPORT_RUNS_MAX          (1u << 24)

enum report_verdict {
    REPORT_PASS,
    REPORT_VIOLATION,      /* an invariant (safety or liveness) failed */
    REPORT_NONDETERMINISM, /* two runs of one seed gave different trace hashes */
    REPORT_CRASH,          /* the run's process died (a signal, an abort in the code under test) */
    REPORT_ERROR,          /* the run could not be carried out (bad schedule, a limit reached) */
};

struct report_counter {
    char name[24]; /* e.g. "crash", "partition", "net.corrupt_caught" */
    uint64_t value;
};

struct report_run {
    char scenario[REPORT_NAME_BYTES_MAX];
    char scenario_path[REPORT_PATH_BYTES_MAX];
    uint64_t seed;
    enum report_verdict verdict;
    char invariant[REPORT_NAME_BYTES_MAX]; /* failing runs: "election_safety", "liveness", ... */
    char detail[REPORT_DETAIL_BYTES_MAX];  /* failing runs: what, where, when */
    char repro[REPORT_COMMAND_BYTES_MAX];  /* the exact command that reproduces the run */
    uint64_t events;
    uint64_t virtual_time_us;
    uint64_t commits;   /* entries committed (highest commit index reached) */
    uint64_t elections; /* leaders elected */
    uint64_t trace_hash;
    double wall_seconds;
    uint32_t counter_count; /* invariant: counter_count <= REPORT_COUNTERS_MAX */
    struct report_counter counters[REPORT_COUNTERS_MAX];
};

struct report_run_brief {
    uint64_t seed;
    uint64_t trace_hash;
    uint64_t events;
    uint64_t virtual_time_us;
    double wall_seconds;
    uint16_t scenario; /* index into report_sweep.scenarios */
    uint8_t verdict;
};

struct report_scenario {
    char name[REPORT_NAME_BYTES_MAX];
    char path[REPORT_PATH_BYTES_MAX];
    uint64_t runs;
    uint64_t failed;
    uint64_t events;
    uint64_t virtual_time_us;
    double wall_seconds;
    uint32_t counter_count; /* summed over runs, by name */
    struct report_counter counters[REPORT_COUNTERS_MAX];
};

struct report_sweep {
    char command[REPORT_COMMAND_BYTES_MAX]; /* how the sweep was invoked */
    uint64_t seed_first;
    uint64_t seed_last;
    uint32_t shard_index;
    uint32_t shard_count;
    uint32_t jobs;
    int check_determinism;
    double time_budget_seconds; /* 0: none */
    int time_budget_reached;
    uint64_t runs_planned; /* (scenario, seed) pairs in this shard */
    uint64_t runs_skipped; /* not run because the time budget ran out */
    double wall_seconds;

    uint32_t scenario_count;
    struct report_scenario scenarios[REPORT_SCENARIOS_MAX];

    struct report_run_brief *runs; /* owned; every completed run */
    size_t run_count;
    size_t run_capacity;

    struct report_run *failures; /* owned; up to REPORT_FAILURES_MAX */
    size_t failure_count;
    size_t failure_capacity;
    uint64_t failures_total; /* including those beyond the bound */
};

const char *report_verdict_name(enum report_verdict verdict);

/* Adds a counter to a run (or adds to it if the name exists). Ignores overflow past the max. */
void report_run_count(struct report_run *run, const char *name, uint64_t value);
uint64_t report_run_counter(const struct report_run *run, const char *name);

void report_sweep_init(struct report_sweep *sweep);
void report_sweep_deinit(struct report_sweep *sweep);
/* Registers a scenario; returns its index, or -1 past REPORT_SCENARIOS_MAX. */
int report_sweep_add_scenario(struct report_sweep *sweep, const char *name, const char *path);
/* Records a completed run of scenario `scenario`. Returns 0, or -1 when out of memory. */
int report_sweep_add(struct report_sweep *sweep, uint32_t scenario, const struct report_run *run);
uint64_t report_sweep_runs(const struct report_sweep *sweep);
uint64_t report_sweep_failed(const struct report_sweep *sweep);

/* Failures grouped by invariant, most frequent first. */
struct report_group {
    const char *invariant; /* borrowed from the sweep's failures */
    uint64_t count;
    size_t first; /* index of its first failure in sweep->failures */
};
#define REPORT_GROUPS_MAX 64
size_t report_sweep_groups(const struct report_sweep *sweep, struct report_group *groups,
                           size_t groups_max);

/* The human summary printed at the end of a sweep. */
void report_print_summary(const struct report_sweep *sweep, FILE *out);
/* One failing run, as printed by `flowraft run` (invariant, detail, reproduce command). */
void report_print_run(const struct report_run *run, FILE *out);

/* Files. Each returns 0, or -1 with a message naming the file in `error`. */
int report_write_json(const struct report_sweep *sweep, const char *path, char *error,
                      size_t error_size);
int report_write_html(const struct report_sweep *sweep, const char *path, char *error,
                      size_t error_size);
int report_write_junit(const struct report_sweep *sweep, const char *path, char *error,
                       size_t error_size);
/* "SCENARIO_PATH SEED INVARIANT" per failing run, after a comment header. */
int report_write_failing_seeds(const struct report_sweep *sweep, const char *path, char *error,
                               size_t error_size);

#endif
