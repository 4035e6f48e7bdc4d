/* Sweeps: many (scenario, seed) runs in parallel worker processes, gathered into a report. */
#ifndef FLOWRAFT_SIM_SWEEP_H
#define FLOWRAFT_SIM_SWEEP_H

#include "reports/report.h"

#include <stdint.h>

/*
 * Each run happens in its own forked process, so a run that crashes (a segfault or an assertion
 * in the code under test) is reported as a failing seed rather than taking the sweep down, and
 * runs cannot share state by accident. The child sends its report_run to the parent over a pipe.
 *
 * Work is ordered seed-major (every scenario of seed s before seed s + 1), so a sweep stopped by
 * its time budget has covered every scenario evenly. A shard I/N (0 <= I < N) takes the seeds
 * s with (s - first) mod N == I: shards of the same range never overlap and together cover it.
 * With check_determinism every run happens twice, in two processes, and differing trace hashes
 * turn the run into a REPORT_NONDETERMINISM failure.
 */

#define SIM_SWEEP_JOBS_MAX 256u

/* Runs one seed of scenario `scenario` (an index into the caller's list) and fills `out`. Called
 * in the worker process. */
typedef void (*sim_sweep_run_fn)(void *ctx, uint32_t scenario, uint64_t seed,
                                 struct report_run *out);

struct sim_sweep_options {
    uint32_t scenario_count;           /* invariant: 1 <= scenario_count <= REPORT_SCENARIOS_MAX */
    const char *const *scenario_paths; /* for reproduce commands of crashed runs */
    uint64_t seed_first;
    uint64_t seed_last; /* inclusive; invariant: seed_first <= seed_last */
    uint32_t jobs;      /* worker processes; 1..SIM_SWEEP_JOBS_MAX */
    uint32_t shard_index;
    uint32_t shard_count;       /* invariant: shard_index < shard_count */
    double time_budget_seconds; /* 0: none */
    double run_timeout_seconds; /* a run taking longer is killed and fails as a timeout; 0: none */
    int check_determinism;
    int progress; /* draw a progress bar on stderr (only when it is a terminal) */
    sim_sweep_run_fn run;
    void *ctx;
};

/* Runs the sweep into `sweep` (whose scenarios the caller has registered, in the same order).
 * Returns 0, or -1 with a message in `error` if the sweep itself could not go on (fork or pipe
 * failed). Failing runs are not errors: they are in the report. */
int sim_sweep_run(const struct sim_sweep_options *options, struct report_sweep *sweep, char *error,
                  size_t error_size);

/* Parses "A..B" (or a single "A") into an inclusive range. Returns 0 or -1. */
int sim_parse_seed_range(const char *text, uint64_t *first, uint64_t *last);
/* Parses "I/N" with 0 <= I < N. Returns 0 or -1. */
int sim_parse_shard(const char *text, uint32_t *index, uint32_t *count);

#endif
