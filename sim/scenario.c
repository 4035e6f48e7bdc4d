/* Scenario files: a table of sections and keys, parsed with inih, every error with file and line.
 */
#include "sim/scenario.h"

#include <assert.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sim_key_type {
    SIM_KEY_U32,
    SIM_KEY_U64,
    SIM_KEY_DURATION,
    SIM_KEY_PROBABILITY,
    SIM_KEY_BOOL,
    SIM_KEY_DIST,
    SIM_KEY_OPS,
    SIM_KEY_SHAPES,
    SIM_KEY_STRING,
    SIM_KEY_TARGET,  /* random | leader | follower */
    SIM_KEY_READS,   /* read-index | log */
    SIM_KEY_CHANGES, /* add remove replace | all */
};

struct sim_key {
    const char *section;
    const char *name;
    enum sim_key_type type;
    size_t offset;
    uint64_t min; /* integers and durations */
    uint64_t max;
    size_t size;      /* strings */
    const char *help; /* what a valid value looks like */
};

#define SIM_KEY(section, name, type, field, min, max, help)                                        \
    {                                                                                              \
        section, name, type, offsetof(struct sim_scenario, field), min, max,                       \
            sizeof(((struct sim_scenario *)0)->field), help                                        \
    }

#define SIM_S(x) ((uint64_t)(x)*1000000u)

static const struct sim_key sim_keys[] = {
    SIM_KEY("scenario", "description", SIM_KEY_STRING, description, 0, 0, "text"),
    SIM_KEY("cluster", "nodes", SIM_KEY_U32, nodes, 1, SIM_CLUSTER_NODES_MAX, "1..9"),
    SIM_KEY("cluster", "tick", SIM_KEY_DURATION, tick_us, 100, SIM_S(10), "100us..10s"),
    SIM_KEY("cluster", "election_timeout_ticks_min", SIM_KEY_U32, election_timeout_ticks_min, 2,
            1000, "2..1000"),
    SIM_KEY("cluster", "election_timeout_ticks_max", SIM_KEY_U32, election_timeout_ticks_max, 2,
            1000, "2..1000"),
    SIM_KEY("cluster", "heartbeat_ticks", SIM_KEY_U32, heartbeat_ticks, 1, 1000, "1..1000"),
    SIM_KEY("cluster", "batch_entries_max", SIM_KEY_U32, batch_entries_max, 1, 4096, "1..4096"),
    SIM_KEY("cluster", "snapshot_every", SIM_KEY_U32, snapshot_every, 0, 1u << 24,
            "0 (no snapshots) or a number of entries"),
    SIM_KEY("cluster", "snapshot_trailing", SIM_KEY_U32, snapshot_trailing, 0, 1u << 16,
            "0..65536 entries"),
    SIM_KEY("cluster", "snapshot_chunk_bytes", SIM_KEY_U32, snapshot_chunk_bytes, 16, 16u << 20,
            "16..16777216 bytes"),
    SIM_KEY("run", "duration", SIM_KEY_DURATION, duration_us, 0, SIM_S(86400), "0..24h"),
    SIM_KEY("run", "liveness_bound", SIM_KEY_DURATION, liveness_bound_us, SIM_S(1) / 10,
            SIM_S(3600), "100ms..1h"),
    SIM_KEY("run", "events_max", SIM_KEY_U64, events_max, 1000, UINT64_C(1) << 40, ">= 1000"),
    SIM_KEY("network", "latency", SIM_KEY_DIST, latency, 0, SIM_S(60), "a distribution"),
    SIM_KEY("network", "drop", SIM_KEY_PROBABILITY, drop, 0, 0, ""),
    SIM_KEY("network", "duplicate", SIM_KEY_PROBABILITY, duplicate, 0, 0, ""),
    SIM_KEY("network", "corrupt", SIM_KEY_PROBABILITY, corrupt, 0, 0, ""),
    SIM_KEY("partitions", "every", SIM_KEY_DURATION, partitions.every_us, 0, SIM_S(86400),
            "0 (off) or a mean interval like 10s"),
    SIM_KEY("partitions", "duration", SIM_KEY_DIST, partitions.length, 0, SIM_S(3600),
            "a distribution"),
    SIM_KEY("partitions", "shapes", SIM_KEY_SHAPES, partition_shapes, 0, 0,
            "isolate-leader isolate minority one-way split | all"),
    SIM_KEY("clogging", "every", SIM_KEY_DURATION, clogging.every_us, 0, SIM_S(86400),
            "0 (off) or a mean interval"),
    SIM_KEY("clogging", "duration", SIM_KEY_DIST, clogging.length, 0, SIM_S(3600),
            "a distribution"),
    SIM_KEY("crashes", "every", SIM_KEY_DURATION, crashes.every_us, 0, SIM_S(86400),
            "0 (off) or a mean interval"),
    SIM_KEY("crashes", "downtime", SIM_KEY_DIST, crashes.length, 0, SIM_S(3600), "a distribution"),
    SIM_KEY("crashes", "down_max", SIM_KEY_U32, crashed_nodes_max, 0, SIM_CLUSTER_NODES_MAX,
            "0..9"),
    SIM_KEY("crashes", "target", SIM_KEY_TARGET, crash_target, 0, 0, "random, leader or follower"),
    SIM_KEY("pauses", "target", SIM_KEY_TARGET, pause_target, 0, 0, "random, leader or follower"),
    SIM_KEY("pauses", "every", SIM_KEY_DURATION, pauses.every_us, 0, SIM_S(86400),
            "0 (off) or a mean interval"),
    SIM_KEY("pauses", "duration", SIM_KEY_DIST, pauses.length, 0, SIM_S(3600), "a distribution"),
    SIM_KEY("disk", "sync_latency", SIM_KEY_DIST, sync_latency, 0, SIM_S(10), "a distribution"),
    SIM_KEY("disk", "write_error", SIM_KEY_PROBABILITY, write_error, 0, 0, ""),
    SIM_KEY("disk", "read_error", SIM_KEY_PROBABILITY, read_error, 0, 0, ""),
    SIM_KEY("disk", "bit_flip", SIM_KEY_PROBABILITY, bit_flip, 0, 0, ""),
    SIM_KEY("disk", "torn_write", SIM_KEY_PROBABILITY, torn_write, 0, 0, ""),
    SIM_KEY("disk", "lost_write", SIM_KEY_PROBABILITY, lost_write, 0, 0, ""),
    SIM_KEY("disk", "corrupt_replicas_max", SIM_KEY_U32, corrupt_replicas_max, 0,
            SIM_CLUSTER_NODES_MAX, "0..9"),
    SIM_KEY("workload", "clients", SIM_KEY_U32, clients, 0, SIM_CLIENTS_MAX, "0..64"),
    SIM_KEY("workload", "think", SIM_KEY_DIST, think, 0, SIM_S(3600), "a distribution"),
    SIM_KEY("workload", "ops", SIM_KEY_OPS, op_weights, 0, 0, "put:50 get:30 delete:10 cas:10"),
    SIM_KEY("workload", "keys", SIM_KEY_U32, keys, 1, SIM_KEYS_MAX, "1..1024"),
    SIM_KEY("workload", "request_timeout", SIM_KEY_DURATION, request_timeout_us, 1000, SIM_S(3600),
            "1ms..1h"),
    SIM_KEY("workload", "reads", SIM_KEY_READS, reads, 0, 0, "read-index or log"),
    SIM_KEY("swarm", "enabled", SIM_KEY_BOOL, swarm, 0, 0, "true or false"),
    SIM_KEY("membership", "spares", SIM_KEY_U32, spares, 0, SIM_SCENARIO_SLOTS_MAX - 1,
            "0..15 (nodes + spares <= 16)"),
    SIM_KEY("membership", "every", SIM_KEY_DURATION, membership_every_us, 0, SIM_S(86400),
            "0 (off) or a mean interval"),
    SIM_KEY("membership", "kinds", SIM_KEY_CHANGES, change_kinds, 0, 0, "add remove replace | all"),
    SIM_KEY("membership", "target", SIM_KEY_TARGET, change_target, 0, 0,
            "random, leader or follower"),
    SIM_KEY("membership", "voters_min", SIM_KEY_U32, voters_min, 1, SIM_SCENARIO_SLOTS_MAX,
            "1..16"),
    SIM_KEY("membership", "voters_max", SIM_KEY_U32, voters_max, 1, SIM_SCENARIO_SLOTS_MAX,
            "1..16"),
    SIM_KEY("membership", "catch_up", SIM_KEY_U32, catch_up_entries, 0, 1u << 20,
            "a number of entries"),
    SIM_KEY("membership", "timeout", SIM_KEY_DURATION, change_timeout_us, SIM_S(1) / 10,
            SIM_S(3600), "100ms..1h"),
    SIM_KEY("transfers", "every", SIM_KEY_DURATION, transfer_every_us, 0, SIM_S(86400),
            "0 (off) or a mean interval"),
    SIM_KEY("slow", "count", SIM_KEY_U32, slow_nodes, 0, SIM_CLUSTER_NODES_MAX, "0..9"),
    SIM_KEY("slow", "latency", SIM_KEY_DIST, slow_latency, 0, SIM_S(60), "a distribution"),
    SIM_KEY("slow", "sync_latency", SIM_KEY_DIST, slow_sync_latency, 0, SIM_S(10),
            "a distribution"),
    /* The workflow plane; [workflows] submit, control, expect and [workers] script are parsed by
     * sim/wf_scenario.c. */
    SIM_KEY("workflows", "workflows_max", SIM_KEY_U32, wf.workflows_max, 1, WF_WORKFLOWS_MAX,
            "1..1024"),
    SIM_KEY("workflows", "grace", SIM_KEY_DURATION, wf.grace_us, 0, SIM_S(3600), "0..1h"),
    SIM_KEY("workflows", "settle", SIM_KEY_DURATION, wf.settle_us, SIM_S(1) / 10, SIM_S(3600),
            "100ms..1h"),
    SIM_KEY("workflows", "request_timeout", SIM_KEY_DURATION, wf.request_timeout_us, 1000,
            SIM_S(3600), "1ms..1h"),
    SIM_KEY("workers", "count", SIM_KEY_U32, wf.workers, 1, SIM_WF_WORKERS_MAX, "1..32"),
    SIM_KEY("workers", "duration", SIM_KEY_DIST, wf.duration, 0, SIM_S(3600), "a distribution"),
    SIM_KEY("workers", "restart", SIM_KEY_DIST, wf.restart, 0, SIM_S(3600), "a distribution"),
    SIM_KEY("workers", "fail", SIM_KEY_PROBABILITY, wf.fail, 0, 0, ""),
    SIM_KEY("workers", "crash", SIM_KEY_PROBABILITY, wf.crash, 0, 0, ""),
    SIM_KEY("workers", "late", SIM_KEY_PROBABILITY, wf.late, 0, 0, ""),
    SIM_KEY("workers", "twice", SIM_KEY_PROBABILITY, wf.twice, 0, 0, ""),
    SIM_KEY("workers", "late_by", SIM_KEY_DURATION, wf.late_by_us, 0, SIM_S(3600), "0..1h"),
    SIM_KEY("workers", "extend", SIM_KEY_BOOL, wf.extend, 0, 0, "true or false"),
};

#define SIM_KEY_COUNT (sizeof(sim_keys) / sizeof(sim_keys[0]))

static const char *const sim_fault_action_names[SIM_FAULT_ACTION_COUNT] = {
    [SIM_FAULT_ISOLATE] = "isolate", [SIM_FAULT_MINORITY] = "minority",
    [SIM_FAULT_SPLIT] = "split",     [SIM_FAULT_ONE_WAY] = "one-way",
    [SIM_FAULT_CLOG] = "clog",       [SIM_FAULT_CRASH] = "crash",
    [SIM_FAULT_PAUSE] = "pause",     [SIM_FAULT_HEAL] = "heal",
    [SIM_FAULT_ADD] = "add",         [SIM_FAULT_REMOVE] = "remove",
    [SIM_FAULT_REPLACE] = "replace", [SIM_FAULT_TRANSFER] = "transfer",
};

static const char *const sim_op_names[SIM_OP_COUNT] = {
    [SIM_OP_PUT] = "put",
    [SIM_OP_GET] = "get",
    [SIM_OP_DELETE] = "delete",
    [SIM_OP_CAS] = "cas",
};

/* A word of a list key and the bit it sets. */
struct sim_word_bit {
    const char *name;
    uint32_t bit;
};

static const struct sim_word_bit sim_shape_names[] = {
    { "isolate-leader", SIM_SHAPE_ISOLATE_LEADER },
    { "isolate", SIM_SHAPE_ISOLATE },
    { "minority", SIM_SHAPE_MINORITY },
    { "one-way", SIM_SHAPE_ONE_WAY },
    { "split", SIM_SHAPE_SPLIT },
    { "all", SIM_SHAPE_ALL },
};

static const struct sim_word_bit sim_change_names[] = {
    { "add", SIM_CHANGE_ADD },
    { "remove", SIM_CHANGE_REMOVE },
    { "replace", SIM_CHANGE_REPLACE },
    { "all", SIM_CHANGE_ALL },
};

#define SIM_WORDS(table) table, sizeof(table) / sizeof(table[0])

const char *sim_fault_action_name(enum sim_fault_action action)
{
    assert(action < SIM_FAULT_ACTION_COUNT);
    return sim_fault_action_names[action];
}

const char *sim_op_name(enum sim_op op)
{
    assert(op < SIM_OP_COUNT);
    return sim_op_names[op];
}

void sim_scenario_defaults(struct sim_scenario *s)
{
    assert(s != NULL);
    memset(s, 0, sizeof(*s));
    s->nodes = 3;
    s->tick_us = 10000;
    s->election_timeout_ticks_min = 10;
    s->election_timeout_ticks_max = 20;
    s->heartbeat_ticks = 2;
    s->batch_entries_max = 64;
    s->duration_us = SIM_S(10);
    s->liveness_bound_us = SIM_S(10);
    s->events_max = 50000000;
    s->latency = (struct sim_dist){ .kind = SIM_DIST_UNIFORM, .min_us = 500, .max_us = 2000 };
    s->partitions.length =
        (struct sim_dist){ .kind = SIM_DIST_UNIFORM, .min_us = SIM_S(1), .max_us = SIM_S(5) };
    s->partition_shapes = SIM_SHAPE_ALL;
    s->crash_target = SIM_TARGET_RANDOM;
    s->pause_target = SIM_TARGET_RANDOM;
    s->clogging.length =
        (struct sim_dist){ .kind = SIM_DIST_UNIFORM, .min_us = 100000, .max_us = SIM_S(2) };
    s->crashes.length =
        (struct sim_dist){ .kind = SIM_DIST_UNIFORM, .min_us = 500000, .max_us = SIM_S(5) };
    s->pauses.length =
        (struct sim_dist){ .kind = SIM_DIST_UNIFORM, .min_us = 100000, .max_us = SIM_S(3) };
    s->sync_latency = (struct sim_dist){ .kind = SIM_DIST_UNIFORM, .min_us = 100, .max_us = 1000 };
    s->clients = 3;
    s->think = (struct sim_dist){
        .kind = SIM_DIST_EXPONENTIAL, .min_us = 0, .mean_us = 50000, .max_us = SIM_S(1)
    };
    s->op_weights[SIM_OP_PUT] = 50;
    s->op_weights[SIM_OP_GET] = 30;
    s->op_weights[SIM_OP_DELETE] = 10;
    s->op_weights[SIM_OP_CAS] = 10;
    s->keys = 8;
    s->request_timeout_us = 500000;
    s->reads = SIM_READS_INDEX;
    s->snapshot_trailing = 64;
    s->snapshot_chunk_bytes = 64u << 10;
    s->change_kinds = SIM_CHANGE_ALL;
    s->change_target = SIM_TARGET_RANDOM;
    s->catch_up_entries = 8;
    s->change_timeout_us = SIM_S(10);
    sim_wf_scenario_defaults(&s->wf);
}

uint32_t sim_scenario_slots(const struct sim_scenario *s)
{
    assert(s->nodes + s->spares <= SIM_SCENARIO_SLOTS_MAX);
    return s->nodes + s->spares;
}

/* Parsing state shared with the inih callbacks. */
struct sim_parse {
    struct sim_scenario *scenario;
    const char *file;
    uint32_t line;                     /* the line the reader last returned */
    uint32_t key_lines[SIM_KEY_COUNT]; /* where each key was set (0: not set) */
    int failed;
    char *error;
    size_t error_size;
    /* reader input: a FILE or a string */
    FILE *stream;
    const char *text;
    size_t text_offset;
};

static int sim_parse_fail(struct sim_parse *parse, uint32_t line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int sim_parse_fail(struct sim_parse *parse, uint32_t line, const char *format, ...)
{
    if (parse->failed) {
        return 0;
    }
    parse->failed = 1;
    int n = snprintf(parse->error, parse->error_size, "%s:%" PRIu32 ": ", parse->file, line);
    if (n < 0 || (size_t)n >= parse->error_size) {
        return 0;
    }
    va_list args;
    va_start(args, format);
    vsnprintf(parse->error + n, parse->error_size - (size_t)n, format, args);
    va_end(args);
    return 0; /* inih: a handler returning 0 is an error; we report ours, not its line */
}

static int sim_parse_probability(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text) {
        return -1;
    }
    if (*end == '%') {
        value /= 100.0;
        end++;
    }
    if (*end != '\0' || !(value >= 0.0) || value > 1.0) {
        return -1;
    }
    *out = value;
    return 0;
}

static int sim_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int sim_parse_uint(const char *text, uint64_t *out)
{
    if (*text < '0' || *text > '9') {
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = value;
    return 0;
}

/* "put:50 get:30 delete:10 cas:10"; an operation left out has weight 0. */
static int sim_parse_ops(const char *text, uint32_t weights[SIM_OP_COUNT], char *problem,
                         size_t size)
{
    char copy[SIM_SCENARIO_LINE_BYTES_MAX + 1];
    snprintf(copy, sizeof(copy), "%s", text);
    uint32_t parsed[SIM_OP_COUNT] = { 0 };
    uint64_t total = 0;
    char *save = NULL;
    for (char *word = strtok_r(copy, " \t,", &save); word != NULL;
         word = strtok_r(NULL, " \t,", &save)) {
        char *colon = strchr(word, ':');
        uint64_t weight = 0;
        if (colon == NULL || sim_parse_uint(colon + 1, &weight) != 0 || weight > 1000000) {
            snprintf(problem, size, "expected OP:WEIGHT, got '%s'", word);
            return -1;
        }
        *colon = '\0';
        int op = -1;
        for (int i = 0; i < SIM_OP_COUNT; i++) {
            if (strcmp(word, sim_op_names[i]) == 0) {
                op = i;
            }
        }
        if (op < 0) {
            snprintf(problem, size, "unknown operation '%s' (put, get, delete, cas)", word);
            return -1;
        }
        parsed[op] = (uint32_t)weight;
        total += weight;
    }
    if (total == 0) {
        snprintf(problem, size, "at least one operation needs a weight above 0");
        return -1;
    }
    memcpy(weights, parsed, sizeof(parsed));
    return 0;
}

/* A list of words ("isolate minority", "add,remove", "all") into the union of their bits;
 * `noun` names a word in messages ("shape"). */
static int sim_parse_words(const char *text, const struct sim_word_bit *names, size_t count,
                           const char *noun, uint32_t *out, char *problem, size_t size)
{
    char copy[SIM_SCENARIO_LINE_BYTES_MAX + 1];
    snprintf(copy, sizeof(copy), "%s", text);
    uint32_t bits = 0;
    char *save = NULL;
    for (char *word = strtok_r(copy, " \t,", &save); word != NULL;
         word = strtok_r(NULL, " \t,", &save)) {
        uint32_t bit = 0;
        for (size_t i = 0; i < count; i++) {
            if (strcmp(word, names[i].name) == 0) {
                bit = names[i].bit;
            }
        }
        if (bit == 0) {
            char known[160] = "";
            for (size_t i = 0, used = 0; i < count && used < sizeof(known); i++) {
                int n = snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
                                 names[i].name);
                used += n > 0 ? (size_t)n : 0;
            }
            snprintf(problem, size, "unknown %s '%s' (%s)", noun, word, known);
            return -1;
        }
        bits |= bit;
    }
    if (bits == 0) {
        snprintf(problem, size, "no %ss given", noun);
        return -1;
    }
    *out = bits;
    return 0;
}

/* Stores `value` into the field described by `key`; returns 0 or -1 with `problem` set. */
static int sim_key_store(const struct sim_key *key, struct sim_scenario *scenario,
                         const char *value, char *problem, size_t size)
{
    char *field = (char *)scenario + key->offset;
    uint64_t number = 0;
    switch (key->type) {
    case SIM_KEY_U32:
    case SIM_KEY_U64:
    case SIM_KEY_DURATION: {
        int rc = key->type == SIM_KEY_DURATION ? sim_parse_duration_us(value, &number)
                                               : sim_parse_uint(value, &number);
        if (rc != 0 || number < key->min || number > key->max) {
            snprintf(problem, size, "expected %s, got '%s'", key->help, value);
            return -1;
        }
        if (key->type == SIM_KEY_U32) {
            uint32_t narrow = (uint32_t)number;
            memcpy(field, &narrow, sizeof(narrow));
        } else {
            memcpy(field, &number, sizeof(number));
        }
        return 0;
    }
    case SIM_KEY_PROBABILITY: {
        double probability = 0;
        if (sim_parse_probability(value, &probability) != 0) {
            snprintf(problem, size, "expected a probability in [0, 1] (like 0.01 or 1%%), got '%s'",
                     value);
            return -1;
        }
        memcpy(field, &probability, sizeof(probability));
        return 0;
    }
    case SIM_KEY_BOOL: {
        int flag = 0;
        if (sim_parse_bool(value, &flag) != 0) {
            snprintf(problem, size, "expected true or false, got '%s'", value);
            return -1;
        }
        memcpy(field, &flag, sizeof(flag));
        return 0;
    }
    case SIM_KEY_DIST: {
        struct sim_dist dist;
        char why[160];
        if (sim_dist_parse(value, &dist, why, sizeof(why)) != 0) {
            snprintf(problem, size, "%s (in '%s')", why, value);
            return -1;
        }
        if (dist.max_us > key->max) {
            snprintf(problem, size, "the maximum %" PRIu64 "us is too large", dist.max_us);
            return -1;
        }
        memcpy(field, &dist, sizeof(dist));
        return 0;
    }
    case SIM_KEY_OPS:
        return sim_parse_ops(value, (uint32_t *)(void *)field, problem, size);
    case SIM_KEY_SHAPES:
        return sim_parse_words(value, SIM_WORDS(sim_shape_names), "shape",
                               (uint32_t *)(void *)field, problem, size);
    case SIM_KEY_TARGET: {
        enum sim_target_kind kind = SIM_TARGET_RANDOM;
        if (strcmp(value, "leader") == 0) {
            kind = SIM_TARGET_LEADER;
        } else if (strcmp(value, "follower") == 0) {
            kind = SIM_TARGET_FOLLOWER;
        } else if (strcmp(value, "random") != 0) {
            snprintf(problem, size, "expected %s, got '%s'", key->help, value);
            return -1;
        }
        memcpy(field, &kind, sizeof(kind));
        return 0;
    }
    case SIM_KEY_READS: {
        enum sim_reads_mode mode = SIM_READS_INDEX;
        if (strcmp(value, "log") == 0) {
            mode = SIM_READS_LOG;
        } else if (strcmp(value, "read-index") != 0) {
            snprintf(problem, size, "expected %s, got '%s'", key->help, value);
            return -1;
        }
        memcpy(field, &mode, sizeof(mode));
        return 0;
    }
    case SIM_KEY_CHANGES:
        return sim_parse_words(value, SIM_WORDS(sim_change_names), "change",
                               (uint32_t *)(void *)field, problem, size);
    case SIM_KEY_STRING:
        if (strlen(value) >= key->size) {
            snprintf(problem, size, "longer than %zu characters", key->size - 1);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    assert(0 && "unknown key type");
    return -1;
}

/* A target word: "leader", "follower", "random" or a node id 1..nodes. */
static int sim_parse_target(const char *word, uint32_t nodes, struct sim_target *target)
{
    if (strcmp(word, "leader") == 0) {
        target->kind = SIM_TARGET_LEADER;
    } else if (strcmp(word, "follower") == 0) {
        target->kind = SIM_TARGET_FOLLOWER;
    } else if (strcmp(word, "random") == 0) {
        target->kind = SIM_TARGET_RANDOM;
    } else {
        uint64_t id = 0;
        if (sim_parse_uint(word, &id) != 0 || id < 1 || id > nodes) {
            return -1;
        }
        target->kind = SIM_TARGET_NODE;
        target->node = (uint32_t)(id - 1);
    }
    return 0;
}

/* How many target words an action takes. */
int sim_fault_arity(enum sim_fault_action action)
{
    switch (action) {
    case SIM_FAULT_ISOLATE:
    case SIM_FAULT_CRASH:
    case SIM_FAULT_PAUSE:
    case SIM_FAULT_REMOVE:
    case SIM_FAULT_REPLACE:
    case SIM_FAULT_TRANSFER:
        return 1;
    case SIM_FAULT_ONE_WAY:
    case SIM_FAULT_CLOG:
        return 2;
    case SIM_FAULT_MINORITY:
    case SIM_FAULT_SPLIT:
    case SIM_FAULT_HEAL:
    case SIM_FAULT_ADD:
    case SIM_FAULT_ACTION_COUNT:
        return 0;
    }
    return 0;
}

/* "AT ACTION [TARGET [PEER]] [for DURATION]"; targets are checked against the final node count
 * in sim_scenario_validate, so they are parsed against the maximum here. */
static int sim_parse_fault(const char *value, struct sim_scheduled_fault *fault, char *problem,
                           size_t size)
{
    char copy[SIM_SCENARIO_LINE_BYTES_MAX + 1];
    snprintf(copy, sizeof(copy), "%s", value);
    char *words[8];
    int count = 0;
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (count == 8) {
            snprintf(problem, size, "too many words");
            return -1;
        }
        words[count++] = w;
    }
    if (count < 2) {
        snprintf(problem, size, "expected 'AT ACTION [TARGET] [for DURATION]', got '%s'", value);
        return -1;
    }
    memset(fault, 0, sizeof(*fault));
    if (sim_parse_duration_us(words[0], &fault->at_us) != 0) {
        snprintf(problem, size, "bad time '%s' (use a unit: ms, s, m)", words[0]);
        return -1;
    }
    int action = -1;
    for (int i = 0; i < SIM_FAULT_ACTION_COUNT; i++) {
        if (strcmp(words[1], sim_fault_action_names[i]) == 0) {
            action = i;
        }
    }
    if (action < 0) {
        snprintf(problem, size,
                 "unknown action '%s' (isolate, minority, split, one-way, clog, crash, pause, "
                 "heal, add, remove, replace, transfer)",
                 words[1]);
        return -1;
    }
    fault->action = (enum sim_fault_action)action;
    int arity = sim_fault_arity(fault->action);
    int next = 2;
    for (int i = 0; i < arity; i++, next++) {
        struct sim_target *target = i == 0 ? &fault->target : &fault->peer;
        if (next >= count || strcmp(words[next], "for") == 0 ||
            sim_parse_target(words[next], SIM_SCENARIO_SLOTS_MAX, target) != 0) {
            snprintf(problem, size, "'%s' needs %d target%s: leader, follower, random or a node id",
                     words[1], arity, arity > 1 ? "s" : "");
            return -1;
        }
    }
    if (next < count) {
        if (strcmp(words[next], "for") != 0 || next + 2 != count ||
            sim_parse_duration_us(words[next + 1], &fault->duration_us) != 0 ||
            fault->duration_us == 0) {
            snprintf(problem, size, "expected 'for DURATION' after the targets, got '%s'",
                     words[next]);
            return -1;
        }
    }
    if (fault->action >= SIM_FAULT_HEAL && fault->duration_us != 0) {
        snprintf(problem, size, "'%s' takes no duration", words[1]);
        return -1;
    }
    return 0;
}

static const struct sim_key *sim_key_find(const char *section, const char *name)
{
    for (size_t i = 0; i < SIM_KEY_COUNT; i++) {
        if (strcmp(sim_keys[i].section, section) == 0 && strcmp(sim_keys[i].name, name) == 0) {
            return &sim_keys[i];
        }
    }
    return NULL;
}

static int sim_section_known(const char *section)
{
    if (strcmp(section, "schedule") == 0) {
        return 1;
    }
    for (size_t i = 0; i < SIM_KEY_COUNT; i++) {
        if (strcmp(sim_keys[i].section, section) == 0) {
            return 1;
        }
    }
    return 0;
}

static int sim_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    struct sim_parse *parse = user;
    struct sim_scenario *scenario = parse->scenario;
    char problem[320];
    if (parse->failed) {
        return 1;
    }
    if (section[0] == '\0') {
        return sim_parse_fail(parse, parse->line, "key '%s' outside a section", name);
    }
    if (!sim_section_known(section)) {
        return sim_parse_fail(parse, parse->line, "unknown section [%s]", section);
    }
    if (strcmp(section, "schedule") == 0) {
        if (strcmp(name, "fault") != 0) {
            return sim_parse_fail(parse, parse->line,
                                  "[schedule] %s: unknown key (entries are 'fault = ...')", name);
        }
        if (scenario->fault_count == SIM_SCENARIO_FAULTS_MAX) {
            return sim_parse_fail(parse, parse->line, "[schedule] fault: more than %u entries",
                                  SIM_SCENARIO_FAULTS_MAX);
        }
        struct sim_scheduled_fault *fault = &scenario->faults[scenario->fault_count];
        if (sim_parse_fault(value, fault, problem, sizeof(problem)) != 0) {
            return sim_parse_fail(parse, parse->line, "[schedule] fault: %s", problem);
        }
        fault->line = parse->line;
        scenario->fault_count++;
        return 1;
    }
    if (sim_wf_scenario_owns(section, name)) {
        if (sim_wf_scenario_key(&scenario->wf, parse->file, parse->line, section, name, value,
                                problem, sizeof(problem)) != 0) {
            return sim_parse_fail(parse, parse->line, "%s", problem);
        }
        return 1;
    }
    const struct sim_key *key = sim_key_find(section, name);
    if (key == NULL) {
        return sim_parse_fail(parse, parse->line, "[%s] %s: unknown key", section, name);
    }
    size_t index = (size_t)(key - sim_keys);
    if (parse->key_lines[index] != 0) {
        return sim_parse_fail(parse, parse->line, "[%s] %s: already set on line %" PRIu32, section,
                              name, parse->key_lines[index]);
    }
    parse->key_lines[index] = parse->line;
    if (sim_key_store(key, scenario, value, problem, sizeof(problem)) != 0) {
        return sim_parse_fail(parse, parse->line, "[%s] %s: %s", section, name, problem);
    }
    return 1;
}

/* inih reader: one whole line at a time, counting lines, rejecting lines inih would split. */
static char *sim_ini_reader(char *out, int size, void *user)
{
    struct sim_parse *parse = user;
    char line[4096];
    size_t len = 0;
    if (parse->stream != NULL) {
        if (fgets(line, sizeof(line), parse->stream) == NULL) {
            return NULL;
        }
        len = strlen(line);
    } else {
        const char *start = parse->text + parse->text_offset;
        if (*start == '\0') {
            return NULL;
        }
        const char *newline = strchr(start, '\n');
        len = newline != NULL ? (size_t)(newline - start) + 1 : strlen(start);
        if (len >= sizeof(line)) {
            len = sizeof(line) - 1;
        }
        memcpy(line, start, len);
        line[len] = '\0';
        parse->text_offset += len;
    }
    parse->line++;
    if (len + 1 > (size_t)size || (len + 1 == sizeof(line) && line[len - 1] != '\n')) {
        sim_parse_fail(parse, parse->line, "line longer than %d characters", size - 2);
        snprintf(out, (size_t)size, "\n"); /* hand inih an empty line; our error wins */
        return out;
    }
    memcpy(out, line, len + 1);
    return out;
}

static uint32_t sim_key_line(const struct sim_parse *parse, const char *section, const char *name)
{
    const struct sim_key *key = sim_key_find(section, name);
    assert(key != NULL);
    return parse->key_lines[key - sim_keys];
}

/* [membership] and [slow] cross-key checks and defaults. */
static int sim_scenario_validate_membership(struct sim_parse *parse)
{
    struct sim_scenario *s = parse->scenario;
    if (s->nodes + s->spares > SIM_SCENARIO_SLOTS_MAX) {
        sim_parse_fail(parse, sim_key_line(parse, "membership", "spares"),
                       "[membership] spares: nodes + spares must be at most %u, got %" PRIu32,
                       SIM_SCENARIO_SLOTS_MAX, s->nodes + s->spares);
        return -1;
    }
    if (sim_key_line(parse, "membership", "voters_min") == 0) {
        s->voters_min = s->nodes < 3 ? s->nodes : 3;
    }
    if (sim_key_line(parse, "membership", "voters_max") == 0) {
        s->voters_max = s->nodes + s->spares;
    }
    if (s->voters_min > s->voters_max || s->voters_max > s->nodes + s->spares) {
        sim_parse_fail(parse, sim_key_line(parse, "membership", "voters_max"),
                       "[membership] voters_max: need voters_min (%" PRIu32
                       ") <= voters_max (%" PRIu32 ") <= nodes + spares (%" PRIu32 ")",
                       s->voters_min, s->voters_max, s->nodes + s->spares);
        return -1;
    }
    if (s->slow_nodes > s->nodes) {
        sim_parse_fail(parse, sim_key_line(parse, "slow", "count"),
                       "[slow] count: %" PRIu32 " is more than the %" PRIu32 " nodes",
                       s->slow_nodes, s->nodes);
        return -1;
    }
    if (sim_key_line(parse, "slow", "sync_latency") == 0) {
        s->slow_sync_latency = s->sync_latency;
    }
    return 0;
}

/* Cross-key checks, after the whole file is read. */
static int sim_scenario_validate(struct sim_parse *parse)
{
    struct sim_scenario *s = parse->scenario;
    if (s->election_timeout_ticks_min > s->election_timeout_ticks_max) {
        sim_parse_fail(parse, sim_key_line(parse, "cluster", "election_timeout_ticks_min"),
                       "[cluster] election_timeout_ticks_min: %" PRIu32
                       " is above election_timeout_ticks_max %" PRIu32,
                       s->election_timeout_ticks_min, s->election_timeout_ticks_max);
        return -1;
    }
    if (s->heartbeat_ticks >= s->election_timeout_ticks_min) {
        sim_parse_fail(parse, sim_key_line(parse, "cluster", "heartbeat_ticks"),
                       "[cluster] heartbeat_ticks: %" PRIu32
                       " must be below election_timeout_ticks_min %" PRIu32,
                       s->heartbeat_ticks, s->election_timeout_ticks_min);
        return -1;
    }
    if (s->crashed_nodes_max > s->nodes) {
        sim_parse_fail(parse, sim_key_line(parse, "crashes", "down_max"),
                       "[crashes] down_max: %" PRIu32 " is more than the %" PRIu32 " nodes",
                       s->crashed_nodes_max, s->nodes);
        return -1;
    }
    if (sim_key_line(parse, "crashes", "down_max") == 0) {
        s->crashed_nodes_max = (s->nodes - 1) / 2; /* a majority stays up unless asked */
    }
    if (sim_key_line(parse, "disk", "corrupt_replicas_max") != 0) {
        s->corrupt_replicas_set = 1;
    } else {
        s->corrupt_replicas_max = (s->nodes - 1) / 2;
    }
    if (sim_scenario_validate_membership(parse) != 0) {
        return -1;
    }
    uint32_t slots = sim_scenario_slots(s);
    for (uint32_t i = 0; i < s->fault_count; i++) {
        const struct sim_scheduled_fault *f = &s->faults[i];
        const struct sim_target *targets[2] = { &f->target, &f->peer };
        for (int t = 0; t < sim_fault_arity(f->action); t++) {
            if (targets[t]->kind == SIM_TARGET_NODE && targets[t]->node >= slots) {
                char spares[48] = "";
                if (s->spares > 0) {
                    snprintf(spares, sizeof(spares), ", spares = %" PRIu32, s->spares);
                }
                sim_parse_fail(parse, f->line,
                               "[schedule] fault: node %" PRIu32 " does not exist (nodes = %" PRIu32
                               "%s)",
                               targets[t]->node + 1, s->nodes, spares);
                return -1;
            }
        }
        if ((f->action == SIM_FAULT_ADD || f->action == SIM_FAULT_REPLACE) && s->spares == 0) {
            sim_parse_fail(parse, f->line,
                           "[schedule] fault: '%s' needs a spare node ([membership] spares)",
                           sim_fault_action_name(f->action));
            return -1;
        }
        if (f->at_us >= s->duration_us) {
            sim_parse_fail(parse, f->line,
                           "[schedule] fault: at %" PRIu64 "ms is not within the run's duration "
                           "(%" PRIu64 "ms); faults stop when the liveness phase starts",
                           f->at_us / 1000, s->duration_us / 1000);
            return -1;
        }
    }
    char problem[SIM_SCENARIO_ERROR_BYTES_MAX];
    uint32_t line = 0;
    if (sim_wf_scenario_validate(&s->wf, s->duration_us, &line, problem, sizeof(problem)) != 0) {
        sim_parse_fail(parse, line, "%s", problem);
        return -1;
    }
    return 0;
}

static void sim_scenario_name_from_path(struct sim_scenario *s, const char *path)
{
    snprintf(s->path, sizeof(s->path), "%s", path);
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    snprintf(s->name, sizeof(s->name), "%s", base);
    char *dot = strrchr(s->name, '.');
    if (dot != NULL && strcmp(dot, ".ini") == 0) {
        *dot = '\0';
    }
}

static int sim_scenario_run_parser(struct sim_parse *parse)
{
    int rc = ini_parse_stream(sim_ini_reader, parse, sim_ini_handler, parse);
    if (parse->failed) {
        return -1;
    }
    if (rc != 0) {
        /* inih's own syntax errors (a line without '=', an unclosed section) */
        sim_parse_fail(parse, rc > 0 ? (uint32_t)rc : 0,
                       "syntax error: expected [section], key = value or a comment");
        return -1;
    }
    return sim_scenario_validate(parse);
}

int sim_scenario_load(const char *path, struct sim_scenario *scenario, char *error,
                      size_t error_size)
{
    assert(path != NULL);
    assert(scenario != NULL);
    sim_scenario_defaults(scenario);
    sim_scenario_name_from_path(scenario, path);
    struct sim_parse parse = {
        .scenario = scenario, .file = path, .error = error, .error_size = error_size
    };
    parse.stream = fopen(path, "r");
    if (parse.stream == NULL) {
        snprintf(error, error_size, "%s: cannot open scenario: %s", path, strerror(errno));
        return -1;
    }
    int rc = sim_scenario_run_parser(&parse);
    fclose(parse.stream);
    return rc;
}

int sim_scenario_parse_string(const char *name, const char *text, struct sim_scenario *scenario,
                              char *error, size_t error_size)
{
    assert(name != NULL);
    assert(text != NULL);
    sim_scenario_defaults(scenario);
    sim_scenario_name_from_path(scenario, name);
    struct sim_parse parse = {
        .scenario = scenario, .file = name, .text = text, .error = error, .error_size = error_size
    };
    return sim_scenario_run_parser(&parse);
}

/* Swarm: keeps a kind on with probability 1/2 and scales it by a factor in (0, 1]. */
static double sim_swarm_factor(struct sim_chooser *chooser)
{
    if (sim_choose(chooser, SIM_CONCERN_SWARM, 2) == 0) {
        return 0.0;
    }
    return (double)(1 + sim_choose(chooser, SIM_CONCERN_SWARM, 100)) / 100.0;
}

static void sim_swarm_rate(struct sim_fault_rate *rate, struct sim_chooser *chooser)
{
    if (rate->every_us == 0) {
        return;
    }
    double factor = sim_swarm_factor(chooser);
    rate->every_us = factor == 0.0 ? 0 : (uint64_t)((double)rate->every_us / factor);
}

static void sim_swarm_probability(double *probability, struct sim_chooser *chooser)
{
    if (*probability > 0.0) {
        *probability *= sim_swarm_factor(chooser);
    }
}

void sim_scenario_swarm(struct sim_scenario *s, struct sim_chooser *chooser, char *summary,
                        size_t summary_size)
{
    assert(s != NULL);
    assert(chooser != NULL);
    sim_swarm_probability(&s->drop, chooser);
    sim_swarm_probability(&s->duplicate, chooser);
    sim_swarm_probability(&s->corrupt, chooser);
    sim_swarm_rate(&s->partitions, chooser);
    sim_swarm_rate(&s->clogging, chooser);
    sim_swarm_rate(&s->crashes, chooser);
    sim_swarm_rate(&s->pauses, chooser);
    sim_swarm_probability(&s->write_error, chooser);
    sim_swarm_probability(&s->read_error, chooser);
    sim_swarm_probability(&s->bit_flip, chooser);
    sim_swarm_probability(&s->torn_write, chooser);
    sim_swarm_probability(&s->lost_write, chooser);
    snprintf(summary, summary_size,
             "drop=%.4f dup=%.4f corrupt=%.4f partitions=%" PRIu64 "ms clogging=%" PRIu64
             "ms crashes=%" PRIu64 "ms pauses=%" PRIu64 "ms write_error=%.5f read_error=%.5f "
             "bit_flip=%.5f torn=%.3f lost=%.3f",
             s->drop, s->duplicate, s->corrupt, s->partitions.every_us / 1000,
             s->clogging.every_us / 1000, s->crashes.every_us / 1000, s->pauses.every_us / 1000,
             s->write_error, s->read_error, s->bit_flip, s->torn_write, s->lost_write);
}

static void sim_print_rate(FILE *out, const char *section, const char *length_key,
                           const struct sim_fault_rate *rate)
{
    char dist[160];
    sim_dist_format(&rate->length, dist, sizeof(dist));
    if (rate->every_us == 0) {
        fprintf(out, "[%s] off\n", section);
        return;
    }
    fprintf(out, "[%s] every = %" PRIu64 "us, %s = %s\n", section, rate->every_us, length_key,
            dist);
}

static void sim_scenario_print_membership(const struct sim_scenario *s, FILE *out)
{
    static const char *const target_names[] = { "node", "leader", "follower", "random" };
    char kinds[64] = "";
    for (size_t i = 0; i < sizeof(sim_change_names) / sizeof(sim_change_names[0]) - 1; i++) {
        if (s->change_kinds & sim_change_names[i].bit) { /* every name but "all" */
            size_t used = strlen(kinds);
            snprintf(kinds + used, sizeof(kinds) - used, "%s%s", used ? " " : "",
                     sim_change_names[i].name);
        }
    }
    fprintf(out,
            "[membership] spares = %" PRIu32 ", every = %" PRIu64 "us, kinds = %s, target = %s, "
            "voters = %" PRIu32 "..%" PRIu32 ", catch_up = %" PRIu32 ", timeout = %" PRIu64
            "us; [transfers] every = %" PRIu64 "us\n",
            s->spares, s->membership_every_us, kinds, target_names[s->change_target], s->voters_min,
            s->voters_max, s->catch_up_entries, s->change_timeout_us, s->transfer_every_us);
    char latency[160];
    char sync[160];
    sim_dist_format(&s->slow_latency, latency, sizeof(latency));
    sim_dist_format(&s->slow_sync_latency, sync, sizeof(sync));
    fprintf(out, "[slow] count = %" PRIu32 ", latency = %s, sync_latency = %s\n", s->slow_nodes,
            latency, sync);
}

void sim_scenario_print(const struct sim_scenario *s, FILE *out)
{
    assert(s != NULL);
    char dist[160];
    fprintf(out, "%s (%s): %s\n", s->name, s->path, s->description);
    fprintf(out,
            "[cluster] nodes = %" PRIu32 ", tick = %" PRIu64 "us, election timeout = %" PRIu32
            "..%" PRIu32 " ticks, heartbeat = %" PRIu32 " ticks, batch = %" PRIu32
            " entries, snapshot_every = %" PRIu32 ", snapshot_trailing = %" PRIu32
            ", snapshot_chunk_bytes = %" PRIu32 "\n",
            s->nodes, s->tick_us, s->election_timeout_ticks_min, s->election_timeout_ticks_max,
            s->heartbeat_ticks, s->batch_entries_max, s->snapshot_every, s->snapshot_trailing,
            s->snapshot_chunk_bytes);
    fprintf(out,
            "[run] duration = %" PRIu64 "us, liveness_bound = %" PRIu64 "us, events_max = %" PRIu64
            "\n",
            s->duration_us, s->liveness_bound_us, s->events_max);
    sim_dist_format(&s->latency, dist, sizeof(dist));
    fprintf(out, "[network] latency = %s, drop = %g, duplicate = %g, corrupt = %g\n", dist, s->drop,
            s->duplicate, s->corrupt);
    sim_print_rate(out, "partitions", "duration", &s->partitions);
    sim_print_rate(out, "clogging", "duration", &s->clogging);
    sim_print_rate(out, "crashes", "downtime", &s->crashes);
    sim_print_rate(out, "pauses", "duration", &s->pauses);
    static const char *const target_names[] = { "node", "leader", "follower", "random" };
    fprintf(out, "[crashes] down_max = %" PRIu32 ", target = %s; [pauses] target = %s\n",
            s->crashed_nodes_max, target_names[s->crash_target], target_names[s->pause_target]);
    sim_dist_format(&s->sync_latency, dist, sizeof(dist));
    fprintf(out,
            "[disk] sync_latency = %s, write_error = %g, read_error = %g, bit_flip = %g, "
            "torn_write = %g, lost_write = %g, corrupt_replicas_max = %" PRIu32 "\n",
            dist, s->write_error, s->read_error, s->bit_flip, s->torn_write, s->lost_write,
            s->corrupt_replicas_max);
    sim_dist_format(&s->think, dist, sizeof(dist));
    fprintf(out,
            "[workload] clients = %" PRIu32 ", think = %s, ops = put:%" PRIu32 " get:%" PRIu32
            " delete:%" PRIu32 " cas:%" PRIu32 ", keys = %" PRIu32 ", request_timeout = %" PRIu64
            "us\n",
            s->clients, dist, s->op_weights[SIM_OP_PUT], s->op_weights[SIM_OP_GET],
            s->op_weights[SIM_OP_DELETE], s->op_weights[SIM_OP_CAS], s->keys,
            s->request_timeout_us);
    fprintf(out, "[workload] reads = %s\n", s->reads == SIM_READS_LOG ? "log" : "read-index");
    fprintf(out, "[swarm] enabled = %s\n", s->swarm ? "true" : "false");
    sim_scenario_print_membership(s, out);
    for (uint32_t i = 0; i < s->fault_count; i++) {
        const struct sim_scheduled_fault *f = &s->faults[i];
        fprintf(out, "[schedule] line %" PRIu32 ": at %" PRIu64 "us %s", f->line, f->at_us,
                sim_fault_action_name(f->action));
        const struct sim_target *targets[2] = { &f->target, &f->peer };
        for (int t = 0; t < sim_fault_arity(f->action); t++) {
            switch (targets[t]->kind) {
            case SIM_TARGET_NODE:
                fprintf(out, " %" PRIu32, targets[t]->node + 1);
                break;
            case SIM_TARGET_LEADER:
                fprintf(out, " leader");
                break;
            case SIM_TARGET_FOLLOWER:
                fprintf(out, " follower");
                break;
            case SIM_TARGET_RANDOM:
                fprintf(out, " random");
                break;
            }
        }
        if (f->duration_us != 0) {
            fprintf(out, " for %" PRIu64 "us", f->duration_us);
        }
        fprintf(out, "\n");
    }
    sim_wf_scenario_print(&s->wf, out);
}
