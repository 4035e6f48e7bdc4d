/* Delay distributions (constant, uniform, exponential, normal, Pareto) in microseconds. */
#ifndef FLOWRAFT_SIM_DIST_H
#define FLOWRAFT_SIM_DIST_H

#include "core/prng.h"

#include <stddef.h>
#include <stdint.h>

enum sim_dist_kind {
    SIM_DIST_CONSTANT,    /* always min_us */
    SIM_DIST_UNIFORM,     /* uniform in [min_us, max_us] */
    SIM_DIST_EXPONENTIAL, /* min_us + Exp(mean_us - min_us), capped at max_us */
    SIM_DIST_NORMAL,      /* Normal(mean_us, stddev_us), clamped to [min_us, max_us] */
    SIM_DIST_PARETO,      /* min_us * Pareto(shape), capped at max_us: a heavy tail */
};

/* invariant: min_us <= mean_us <= max_us (for the kinds that use them) */
struct sim_dist {
    enum sim_dist_kind kind;
    uint64_t min_us;
    uint64_t max_us;
    uint64_t mean_us;   /* exponential, normal */
    uint64_t stddev_us; /* normal */
    double shape;       /* pareto, > 0 (smaller is heavier) */
};

/* A sample in [min_us, max_us]. */
uint64_t sim_dist_sample(const struct sim_dist *dist, struct prng *prng);

/*
 * Parses a distribution spec, times with units (us, ms, s, m):
 *   "5ms" | "constant 5ms" | "uniform 1ms 10ms" | "exponential mean=2ms max=50ms [min=0]"
 *   | "normal mean=5ms stddev=1ms [min=0] [max=...]" | "pareto min=1ms shape=1.5 max=100ms".
 * Returns 0, or -1 with a message in `error`.
 */
int sim_dist_parse(const char *text, struct sim_dist *dist, char *error, size_t error_size);

/* Parses a time with a unit ("250us", "10ms", "1.5s", "2m", "0") into microseconds. */
int sim_parse_duration_us(const char *text, uint64_t *out_us);

/* Writes a canonical spec of `dist` (parseable by sim_dist_parse). */
void sim_dist_format(const struct sim_dist *dist, char *out, size_t size);

#endif
