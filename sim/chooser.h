/* The simulator's one source of nondeterminism: every decision is drawn here, under a concern. */
#ifndef FLOWRAFT_SIM_CHOOSER_H
#define FLOWRAFT_SIM_CHOOSER_H

#include "core/prng.h"

#include <stdint.h>
#include <stdio.h>

/*
 * A decision is "pick a value in [0, n)" under a named concern. Where the value comes from is the
 * chooser's mode:
 *   PRNG      each concern draws from its own sub-stream, prng_seed_derive(seed, concern name),
 *             so turning one fault kind on or off never reshuffles the draws of another;
 *   REPLAY    values are read back from a schedule file written by a recording run;
 *   STRATEGY  a caller-supplied function decides (the model checker enumerates choices; the
 *             shrinker feeds an edited schedule).
 * In any mode the chooser can also record every decision to a schedule file.
 *
 * Value 0 is always the calm choice: no drop, no crash, the shortest extra delay, the first ready
 * event. A schedule that runs out (a shrunk one consumes fewer decisions than the run asks for)
 * therefore continues with 0s: the run goes on with no further faults. In lenient replay a
 * recorded value that does not fit the asked range is clamped to n - 1 and a concern mismatch is
 * ignored, so any edited schedule replays; strict replay (the default) reports the first
 * divergence with the schedule's file name and line.
 *
 * Decisions whose outcome is certain (a chance of 0 or 1, a range of one value) are not drawn and
 * not recorded, so the schedule holds only real choices.
 */

enum sim_concern {
    SIM_CONCERN_SCHED,        /* which of several events ready at the same time runs next */
    SIM_CONCERN_NET_DELAY,    /* a message's latency */
    SIM_CONCERN_NET_DROP,     /* a message is lost */
    SIM_CONCERN_NET_DUP,      /* a message is delivered twice */
    SIM_CONCERN_NET_CORRUPT,  /* a message's bytes get a bit flip */
    SIM_CONCERN_PARTITION,    /* network partitions: when, which shape, which nodes, how long */
    SIM_CONCERN_CLOG,         /* link clogging: when, which link, how long */
    SIM_CONCERN_CRASH,        /* process crashes: when, which node */
    SIM_CONCERN_RESTART,      /* how long a crashed node stays down */
    SIM_CONCERN_PAUSE,        /* process pauses: when, which node, how long */
    SIM_CONCERN_DISK,         /* disk faults, routed from the simulated file system */
    SIM_CONCERN_DISK_LATENCY, /* how long a sync takes */
    SIM_CONCERN_CLIENT,       /* client requests: operation, key, value, think time */
    SIM_CONCERN_WORKFLOW,     /* the workflow plane: worker durations and fates, its messages */
    SIM_CONCERN_CLOCK,        /* per-node tick phase */
    SIM_CONCERN_NODE_SEED,    /* the seed of each Raft node incarnation's own PRNG */
    SIM_CONCERN_SWARM,        /* swarm mode: which fault kinds are on, at what rates */
    SIM_CONCERN_MEMBERSHIP,   /* membership changes: when, which kind, which nodes */
    SIM_CONCERN_TRANSFER,     /* leadership transfers: when, to whom */
    SIM_CONCERN_SLOW,         /* which nodes are slow ([slow] count) */
    SIM_CONCERN_COUNT,
};

enum sim_chooser_mode {
    SIM_CHOOSER_PRNG,
    SIM_CHOOSER_REPLAY,
    SIM_CHOOSER_STRATEGY,
};

/* A pluggable decision maker (model checker, shrinker). Returns a value in [0, n); n == 0 means
 * the full 64-bit range. `drawn` is what the PRNG of the concern would have chosen. */
struct sim_chooser_strategy {
    uint64_t (*choose)(void *ctx, enum sim_concern concern, uint64_t n, uint64_t drawn);
    void *ctx;
};

#define SIM_CHOOSER_ERROR_BYTES_MAX 512
#define SIM_SCHEDULE_LINE_BYTES_MAX 256

struct sim_chooser {
    enum sim_chooser_mode mode;
    uint64_t seed;
    struct prng streams[SIM_CONCERN_COUNT]; /* PRNG mode (and the `drawn` hint of STRATEGY) */
    struct sim_chooser_strategy strategy;   /* STRATEGY mode only */

    /* Replay: the schedule being read. Owned; closed by sim_chooser_deinit. */
    FILE *replay_file;
    char replay_path[256];
    uint64_t replay_line;         /* line number of the last line read, for error messages */
    int replay_lenient;           /* clamp and ignore concern mismatches instead of failing */
    int replay_exhausted;         /* the schedule ran out: further decisions are 0 */
    uint64_t decisions_defaulted; /* decisions answered with 0 after the schedule ran out */

    /* Record: the schedule being written, or NULL. Owned; closed by sim_chooser_deinit. */
    FILE *record_file;

    /* The first error (divergence, malformed schedule, write failure); sticky. */
    int failed;
    char error[SIM_CHOOSER_ERROR_BYTES_MAX];

    uint64_t decisions; /* decisions made (not counting certain ones) */
    uint64_t decisions_by_concern[SIM_CONCERN_COUNT];
};

/* Stable name of a concern, as written in schedule files ("net.drop"). */
const char *sim_concern_name(enum sim_concern concern);
/* Concern by name; returns -1 if unknown. */
int sim_concern_from_name(const char *name);

/* PRNG mode: derives one independent sub-stream per concern from `seed`. */
void sim_chooser_init_prng(struct sim_chooser *chooser, uint64_t seed);

/* STRATEGY mode: every decision goes to `strategy`. The PRNG streams are seeded from `seed`. */
void sim_chooser_init_strategy(struct sim_chooser *chooser, uint64_t seed,
                               struct sim_chooser_strategy strategy);

/* Metadata of a schedule file's header. */
struct sim_schedule_header {
    uint64_t seed;
    char scenario[256]; /* the scenario path of the recording run ("" if none) */
};

/* REPLAY mode: opens `path` and reads its header into `header` (may be NULL). Returns 0, or -1
 * with a message naming the file and line in chooser->error. */
int sim_chooser_init_replay(struct sim_chooser *chooser, const char *path, int lenient,
                            struct sim_schedule_header *header);

/* Starts recording every decision to `path` (created or truncated) with a header. Returns 0, or
 * -1 with chooser->error set. */
int sim_chooser_record(struct sim_chooser *chooser, const char *path,
                       const struct sim_schedule_header *header);

/* Closes files. Returns -1 if flushing the record file failed (error set), else 0. */
int sim_chooser_deinit(struct sim_chooser *chooser);

/* The core decision: a value in [0, n), n >= 1. After a failure (see chooser->failed) returns 0;
 * the caller checks sim_chooser_failed() once per event, not per decision. */
uint64_t sim_choose(struct sim_chooser *chooser, enum sim_concern concern, uint64_t n);

/* A full-range 64-bit value (seeds). */
uint64_t sim_choose_u64(struct sim_chooser *chooser, enum sim_concern concern);

/* True with `probability`; no decision is drawn when the probability is <= 0 or >= 1. */
int sim_choose_chance(struct sim_chooser *chooser, enum sim_concern concern, double probability);

/* A value in [min, max] chosen by the caller's own `drawn` proposal in PRNG mode (a sample from
 * a distribution, made with sim_chooser_stream()); replay and strategies choose within the range.
 * Recorded as drawn - min. Requires min <= drawn <= max. */
uint64_t sim_choose_sampled(struct sim_chooser *chooser, enum sim_concern concern, uint64_t min,
                            uint64_t max, uint64_t drawn);

/* Like sim_choose_sampled, for a value whose calm choice is the largest: the time until the next
 * fault of a kind. Recorded (and asked of a strategy) as max - value, so the 0 that pads a short
 * schedule is `max`, the longest wait, and shrinking a value toward 0 moves the fault later. */
uint64_t sim_choose_sampled_calm_max(struct sim_chooser *chooser, enum sim_concern concern,
                                     uint64_t min, uint64_t max, uint64_t drawn);

/* The PRNG stream of a concern, for sampling proposals for sim_choose_sampled. */
struct prng *sim_chooser_stream(struct sim_chooser *chooser, enum sim_concern concern);

/* ---- whole schedules in memory (the shrinker and the model checker edit and write them) ---- */

#define SIM_SCHEDULE_DECISIONS_MAX (1u << 26) /* decisions held by sim_schedule_load */

/* One decision of a schedule. */
struct sim_decision {
    uint64_t n;      /* the range asked for: value in [0, n); 0 means the full 64-bit range */
    uint64_t value;  /* invariant: n == 0 || value < n */
    uint8_t concern; /* enum sim_concern */
};

/* A growable list of decisions (a run's trace), bounded by SIM_SCHEDULE_DECISIONS_MAX. Zero it to
 * start; sim_decisions_free releases it. */
struct sim_decisions {
    struct sim_decision *items; /* owned */
    size_t count;               /* invariant: count <= capacity <= SIM_SCHEDULE_DECISIONS_MAX */
    size_t capacity;
    int full; /* a push failed (bound or memory): the list is incomplete */
};

/* Appends `d`; on failure sets list->full and keeps what it had. */
void sim_decisions_push(struct sim_decisions *list, struct sim_decision d);
/* Empties the list (keeping its memory) and clears `full`. */
void sim_decisions_clear(struct sim_decisions *list);
void sim_decisions_free(struct sim_decisions *list);

/* Reads a whole schedule file: its header and up to `count_max` decisions into *decisions
 * (allocated, owned by the caller, free() it; NULL when there are none). Returns 0, or -1 with a
 * message naming the file and line in `error`. */
int sim_schedule_load(const char *path, struct sim_schedule_header *header,
                      struct sim_decision **decisions, size_t *count, size_t count_max, char *error,
                      size_t error_size);

/* Writes a schedule file (the format sim_chooser_record writes) with `comment` lines (may be
 * NULL; each line is prefixed with "# "). Returns 0, or -1 with a message naming the file in
 * `error`. */
int sim_schedule_save(const char *path, const struct sim_schedule_header *header,
                      const char *comment, const struct sim_decision *decisions, size_t count,
                      char *error, size_t error_size);

static inline int sim_chooser_failed(const struct sim_chooser *chooser)
{
    return chooser->failed;
}

#endif
