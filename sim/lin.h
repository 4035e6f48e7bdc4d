/* The linearizability checker: does some legal sequential order explain a client history? */
#ifndef FLOWRAFT_SIM_LIN_H
#define FLOWRAFT_SIM_LIN_H

#include "sim/hist.h"

#include <stdint.h>
#include <stdio.h>

/*
 * Algorithm: Wing and Gong's search for a linearization (J. Parallel Distrib. Comput. 1993) with
 * Lowe's memoisation (Lowe, "Testing for linearizability", CCPE 2017; as in porcupine): the search
 * walks the history's call/return entries in real-time order, linearizing a pending call when the
 * model accepts it and backtracking at a return entry whose call is not linearized yet; it never
 * revisits a (set of linearized ops, model state) configuration. Iterative, with an explicit stack
 * of at most one entry per operation.
 *
 * KV histories are checked key by key (linearizability is compositional, Herlihy and Wing 1990:
 * a history is linearizable iff every per-key sub-history is).
 *
 * Outcomes: a FAIL op is dropped (it had no effect); an UNKNOWN or PENDING op's return is placed
 * at +infinity, so it may take effect at any point after its invocation or (placed after
 * everything else) never; an UNKNOWN read observes nothing and is dropped.
 *
 * Limits: the search is bounded by a step budget and a memory budget; exceeding either gives
 * LIN_UNKNOWN with the reason, never an unbounded run.
 */

#define LIN_STEPS_MAX_DEFAULT (1ull << 28) /* search steps for one history */
#define LIN_MEMORY_BYTES_MAX_DEFAULT                                                               \
    (256ull << 20)               /* memo set and model states for one history                      \
                                  */
#define LIN_WINDOW_OPS_MAX    16 /* concurrent ops listed in a report */
#define LIN_WINDOW_BEFORE_MAX 6  /* last ops of the longest linearizable prefix listed */
#define LIN_WINDOW_STATES_MAX 4  /* possible model states listed at the failing point */
#define LIN_STATE_TEXT_MAX    96 /* a state as quoted text, shortened */

struct lin_options {
    uint64_t steps_max;        /* 0: LIN_STEPS_MAX_DEFAULT */
    uint64_t memory_bytes_max; /* 0: LIN_MEMORY_BYTES_MAX_DEFAULT */
};

enum lin_verdict {
    LIN_LINEARIZABLE = 0,
    LIN_NOT_LINEARIZABLE = 1,
    LIN_UNKNOWN = 2, /* a limit was reached before a verdict: see lin_result.reason */
};

/*
 * Where a non-linearizable history goes wrong, for the partition (key) that fails first in time.
 * Events [0, fail_event) of the history are linearizable (with ops pending at that point free to
 * be placed or not); completing `op` at fail_event makes it non-linearizable, for every order.
 */
struct lin_window {
    uint32_t op;         /* the first op that cannot be linearized (a hist op id) */
    uint32_t fail_event; /* the completion event of `op` */
    struct hist_str key; /* kv: the key of the failing partition; nil for the register */
    uint32_t prefix_ops; /* ops in the longest linearizable prefix that was found */
    uint32_t before[LIN_WINDOW_BEFORE_MAX];  /* its last ops, in linearization order */
    uint32_t before_count;                   /* invariant: before_count <= LIN_WINDOW_BEFORE_MAX */
    uint32_t concurrent[LIN_WINDOW_OPS_MAX]; /* ops overlapping `op` in real time, by invocation */
    uint32_t concurrent_count;               /* listed; invariant: <= LIN_WINDOW_OPS_MAX */
    uint32_t concurrent_total; /* overlapping ops in all (the list may be shortened) */
    char states[LIN_WINDOW_STATES_MAX][LIN_STATE_TEXT_MAX]; /* model states there, quoted */
    uint32_t states_count; /* invariant: states_count <= LIN_WINDOW_STATES_MAX */
};

struct lin_result {
    enum lin_verdict verdict;
    uint32_t ops_checked;     /* ops searched (FAIL ops and unknown reads are dropped) */
    uint32_t partitions;      /* independent sub-histories (keys) */
    uint64_t steps;           /* search steps taken, all partitions */
    uint64_t configurations;  /* distinct (linearized set, state) configurations visited */
    char reason[160];         /* LIN_UNKNOWN: which limit; "" otherwise */
    struct lin_window window; /* LIN_NOT_LINEARIZABLE only */
};

/*
 * Checks `hist` against its model (register, or KV per key). `options` may be NULL (defaults).
 * Never fails otherwise: running out of memory or a budget gives LIN_UNKNOWN with a reason.
 * Pure: the same history and options give the same result, steps included.
 */
enum lin_verdict lin_check(const struct hist *hist, const struct lin_options *options,
                           struct lin_result *result);

const char *lin_verdict_name(enum lin_verdict verdict); /* "linearizable", "not-linearizable" */

/* Prints the verdict line and, for a non-linearizable history, the window (sim/lin_report.c). */
void lin_result_print(FILE *out, const struct hist *hist, const struct lin_result *result);

#endif
