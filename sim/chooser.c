/* The chooser: PRNG sub-streams per concern, schedule recording, replay and pluggable strategies.
 */
#include "sim/chooser.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SIM_SCHEDULE_MAGIC "flowraft-schedule 1"

static const char *const sim_concern_names[SIM_CONCERN_COUNT] = {
    [SIM_CONCERN_SCHED] = "sched",
    [SIM_CONCERN_NET_DELAY] = "net.delay",
    [SIM_CONCERN_NET_DROP] = "net.drop",
    [SIM_CONCERN_NET_DUP] = "net.dup",
    [SIM_CONCERN_NET_CORRUPT] = "net.corrupt",
    [SIM_CONCERN_PARTITION] = "net.partition",
    [SIM_CONCERN_CLOG] = "net.clog",
    [SIM_CONCERN_CRASH] = "proc.crash",
    [SIM_CONCERN_RESTART] = "proc.restart",
    [SIM_CONCERN_PAUSE] = "proc.pause",
    [SIM_CONCERN_DISK] = "disk.fault",
    [SIM_CONCERN_DISK_LATENCY] = "disk.latency",
    [SIM_CONCERN_CLIENT] = "client",
    [SIM_CONCERN_WORKFLOW] = "workflow",
    [SIM_CONCERN_CLOCK] = "clock",
    [SIM_CONCERN_NODE_SEED] = "node.seed",
    [SIM_CONCERN_SWARM] = "swarm",
    [SIM_CONCERN_MEMBERSHIP] = "membership",
    [SIM_CONCERN_TRANSFER] = "transfer",
    [SIM_CONCERN_SLOW] = "slow",
};

const char *sim_concern_name(enum sim_concern concern)
{
    assert(concern >= 0);
    assert(concern < SIM_CONCERN_COUNT);
    return sim_concern_names[concern];
}

int sim_concern_from_name(const char *name)
{
    assert(name != NULL);
    for (int i = 0; i < SIM_CONCERN_COUNT; i++) {
        if (strcmp(sim_concern_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

static void sim_chooser_fail(struct sim_chooser *chooser, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void sim_chooser_fail(struct sim_chooser *chooser, const char *format, ...)
{
    if (chooser->failed) {
        return; /* the first error is the one that explains the others */
    }
    chooser->failed = 1;
    va_list args;
    va_start(args, format);
    vsnprintf(chooser->error, sizeof(chooser->error), format, args);
    va_end(args);
}

static void sim_chooser_reset(struct sim_chooser *chooser, enum sim_chooser_mode mode,
                              uint64_t seed)
{
    memset(chooser, 0, sizeof(*chooser));
    chooser->mode = mode;
    chooser->seed = seed;
    for (int i = 0; i < SIM_CONCERN_COUNT; i++) {
        prng_seed(&chooser->streams[i], prng_seed_derive(seed, sim_concern_names[i]));
    }
}

void sim_chooser_init_prng(struct sim_chooser *chooser, uint64_t seed)
{
    assert(chooser != NULL);
    sim_chooser_reset(chooser, SIM_CHOOSER_PRNG, seed);
}

void sim_chooser_init_strategy(struct sim_chooser *chooser, uint64_t seed,
                               struct sim_chooser_strategy strategy)
{
    assert(chooser != NULL);
    assert(strategy.choose != NULL);
    sim_chooser_reset(chooser, SIM_CHOOSER_STRATEGY, seed);
    chooser->strategy = strategy;
}

/* Reads the next line of the schedule into `line` without its newline; skips comments and blank
 * lines. Returns 1 on a line, 0 at end of file, -1 on error (set). */
static int sim_schedule_next_line(struct sim_chooser *chooser, char *line, size_t size)
{
    for (int guard = 0; guard < 1000000; guard++) {
        if (fgets(line, (int)size, chooser->replay_file) == NULL) {
            if (ferror(chooser->replay_file)) {
                sim_chooser_fail(chooser, "%s:%" PRIu64 ": read error: %s", chooser->replay_path,
                                 chooser->replay_line + 1, strerror(errno));
                return -1;
            }
            return 0;
        }
        chooser->replay_line++;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n') {
            line[--len] = '\0';
        } else if (!feof(chooser->replay_file)) {
            sim_chooser_fail(chooser, "%s:%" PRIu64 ": line longer than %zu bytes",
                             chooser->replay_path, chooser->replay_line, size - 2);
            return -1;
        }
        if (len > 0 && line[len - 1] == '\r') {
            line[--len] = '\0';
        }
        if (len == 0 || line[0] == '#') {
            continue;
        }
        return 1;
    }
    sim_chooser_fail(chooser, "%s:%" PRIu64 ": too many comment lines", chooser->replay_path,
                     chooser->replay_line);
    return -1;
}

/* Parses a decimal unsigned 64-bit number that must fill `text` entirely. */
static int sim_parse_u64(const char *text, uint64_t *out)
{
    if (text == NULL || *text < '0' || *text > '9') {
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        return -1;
    }
    *out = (uint64_t)value;
    return 0;
}

static int sim_schedule_read_header(struct sim_chooser *chooser, struct sim_schedule_header *header)
{
    char line[SIM_SCHEDULE_LINE_BYTES_MAX + 2];
    int rc = sim_schedule_next_line(chooser, line, sizeof(line));
    if (rc <= 0) {
        sim_chooser_fail(chooser, "%s:%" PRIu64 ": empty schedule: expected '%s'",
                         chooser->replay_path, chooser->replay_line, SIM_SCHEDULE_MAGIC);
        return -1;
    }
    if (strcmp(line, SIM_SCHEDULE_MAGIC) != 0) {
        sim_chooser_fail(chooser, "%s:%" PRIu64 ": not a flowraft schedule: expected '%s'",
                         chooser->replay_path, chooser->replay_line, SIM_SCHEDULE_MAGIC);
        return -1;
    }
    /* Header keys ("seed N", "scenario PATH") precede the decisions; peek by reading lines until
     * the first decision, which is pushed back by remembering the file position. */
    for (int i = 0; i < 16; i++) {
        long position = ftell(chooser->replay_file);
        uint64_t line_before = chooser->replay_line;
        rc = sim_schedule_next_line(chooser, line, sizeof(line));
        if (rc < 0) {
            return -1;
        }
        if (rc == 0) {
            return 0;
        }
        if (strncmp(line, "seed ", 5) == 0) {
            if (sim_parse_u64(line + 5, &header->seed) != 0) {
                sim_chooser_fail(chooser, "%s:%" PRIu64 ": bad seed '%s'", chooser->replay_path,
                                 chooser->replay_line, line + 5);
                return -1;
            }
        } else if (strncmp(line, "scenario ", 9) == 0) {
            snprintf(header->scenario, sizeof(header->scenario), "%s", line + 9);
        } else {
            if (position < 0 || fseek(chooser->replay_file, position, SEEK_SET) != 0) {
                sim_chooser_fail(chooser, "%s: cannot seek: %s", chooser->replay_path,
                                 strerror(errno));
                return -1;
            }
            chooser->replay_line = line_before;
            return 0;
        }
    }
    return 0;
}

int sim_chooser_init_replay(struct sim_chooser *chooser, const char *path, int lenient,
                            struct sim_schedule_header *header)
{
    assert(chooser != NULL);
    assert(path != NULL);
    struct sim_schedule_header ignored;
    if (header == NULL) {
        header = &ignored;
    }
    memset(header, 0, sizeof(*header));
    sim_chooser_reset(chooser, SIM_CHOOSER_REPLAY, 0);
    chooser->replay_lenient = lenient;
    snprintf(chooser->replay_path, sizeof(chooser->replay_path), "%s", path);
    chooser->replay_file = fopen(path, "r");
    if (chooser->replay_file == NULL) {
        sim_chooser_fail(chooser, "%s: cannot open schedule: %s", path, strerror(errno));
        return -1;
    }
    if (sim_schedule_read_header(chooser, header) != 0) {
        return -1;
    }
    /* The streams only feed sampled proposals, which replay overrides; seed them anyway. */
    for (int i = 0; i < SIM_CONCERN_COUNT; i++) {
        prng_seed(&chooser->streams[i], prng_seed_derive(header->seed, sim_concern_names[i]));
    }
    chooser->seed = header->seed;
    return 0;
}

int sim_chooser_record(struct sim_chooser *chooser, const char *path,
                       const struct sim_schedule_header *header)
{
    assert(chooser != NULL);
    assert(chooser->record_file == NULL);
    chooser->record_file = fopen(path, "w");
    if (chooser->record_file == NULL) {
        sim_chooser_fail(chooser, "%s: cannot create schedule: %s", path, strerror(errno));
        return -1;
    }
    fprintf(chooser->record_file, "%s\n", SIM_SCHEDULE_MAGIC);
    if (header != NULL) {
        fprintf(chooser->record_file, "seed %" PRIu64 "\n", header->seed);
        if (header->scenario[0] != '\0') {
            fprintf(chooser->record_file, "scenario %s\n", header->scenario);
        }
    }
    fprintf(chooser->record_file, "# one decision per line: concern n value, value in [0, n); "
                                  "n = 0 means the full 64-bit range\n");
    return 0;
}

int sim_chooser_deinit(struct sim_chooser *chooser)
{
    assert(chooser != NULL);
    int rc = 0;
    if (chooser->record_file != NULL) {
        if (fclose(chooser->record_file) != 0) {
            sim_chooser_fail(chooser, "writing the schedule failed: %s", strerror(errno));
            rc = -1;
        }
        chooser->record_file = NULL;
    }
    if (chooser->replay_file != NULL) {
        fclose(chooser->replay_file);
        chooser->replay_file = NULL;
    }
    return rc;
}

/* Parses a decision line "concern n value". Returns 0, or -1 with the error set. */
static int sim_schedule_parse_decision(struct sim_chooser *chooser, const char *line,
                                       struct sim_decision *out)
{
    char name[64];
    char n_text[32];
    char value_text[32];
    char extra[2];
    int fields = sscanf(line, "%63s %31s %31s %1s", name, n_text, value_text, extra);
    uint64_t recorded_n = 0;
    uint64_t value = 0;
    int concern = fields == 3 ? sim_concern_from_name(name) : -1;
    if (concern < 0 || sim_parse_u64(n_text, &recorded_n) != 0 ||
        sim_parse_u64(value_text, &value) != 0) {
        sim_chooser_fail(chooser,
                         "%s:%" PRIu64 ": malformed decision '%s' (expected: concern n value)",
                         chooser->replay_path, chooser->replay_line, line);
        return -1;
    }
    if (recorded_n != 0 && value >= recorded_n) {
        sim_chooser_fail(chooser, "%s:%" PRIu64 ": value %" PRIu64 " is not below n = %" PRIu64,
                         chooser->replay_path, chooser->replay_line, value, recorded_n);
        return -1;
    }
    out->concern = (uint8_t)concern;
    out->n = recorded_n;
    out->value = value;
    return 0;
}

/* Replay: the next recorded value for a decision (concern, n). */
static uint64_t sim_chooser_replay_next(struct sim_chooser *chooser, enum sim_concern concern,
                                        uint64_t n)
{
    if (chooser->replay_exhausted) {
        chooser->decisions_defaulted++;
        return 0;
    }
    char line[SIM_SCHEDULE_LINE_BYTES_MAX + 2];
    int rc = sim_schedule_next_line(chooser, line, sizeof(line));
    if (rc < 0) {
        return 0;
    }
    if (rc == 0) {
        chooser->replay_exhausted = 1;
        chooser->decisions_defaulted++;
        return 0;
    }
    struct sim_decision recorded;
    if (sim_schedule_parse_decision(chooser, line, &recorded) != 0) {
        return 0;
    }
    uint64_t value = recorded.value;
    if (chooser->replay_lenient) {
        return (n != 0 && value >= n) ? n - 1 : value;
    }
    if (recorded.concern != (uint8_t)concern || recorded.n != n) {
        sim_chooser_fail(chooser,
                         "%s:%" PRIu64 ": the run diverged from the schedule: it asks for a '%s' "
                         "decision with n = %" PRIu64 ", the schedule has '%s' with n = %" PRIu64
                         " (decision %" PRIu64 ")",
                         chooser->replay_path, chooser->replay_line, sim_concern_name(concern), n,
                         sim_concern_names[recorded.concern], recorded.n, chooser->decisions + 1);
        return 0;
    }
    return value;
}

/* Every decision goes through here: `drawn` is the PRNG's proposal, in [0, n). */
static uint64_t sim_chooser_decide(struct sim_chooser *chooser, enum sim_concern concern,
                                   uint64_t n, uint64_t drawn)
{
    assert(n == 0 || drawn < n);
    uint64_t value = drawn;
    if (chooser->failed) {
        return 0;
    }
    switch (chooser->mode) {
    case SIM_CHOOSER_PRNG:
        break;
    case SIM_CHOOSER_REPLAY:
        value = sim_chooser_replay_next(chooser, concern, n);
        break;
    case SIM_CHOOSER_STRATEGY:
        value = chooser->strategy.choose(chooser->strategy.ctx, concern, n, drawn);
        assert(n == 0 || value < n); /* a strategy answering out of range is a programmer error */
        break;
    }
    if (chooser->failed) {
        return 0;
    }
    chooser->decisions++;
    chooser->decisions_by_concern[concern]++;
    if (chooser->record_file != NULL) {
        fprintf(chooser->record_file, "%s %" PRIu64 " %" PRIu64 "\n", sim_concern_names[concern], n,
                value);
    }
    return value;
}

uint64_t sim_choose(struct sim_chooser *chooser, enum sim_concern concern, uint64_t n)
{
    assert(chooser != NULL);
    assert(n >= 1);
    if (n == 1) {
        return 0;
    }
    uint64_t drawn = prng_below(&chooser->streams[concern], n);
    return sim_chooser_decide(chooser, concern, n, drawn);
}

uint64_t sim_choose_u64(struct sim_chooser *chooser, enum sim_concern concern)
{
    assert(chooser != NULL);
    uint64_t drawn = prng_next(&chooser->streams[concern]);
    return sim_chooser_decide(chooser, concern, 0, drawn);
}

int sim_choose_chance(struct sim_chooser *chooser, enum sim_concern concern, double probability)
{
    assert(chooser != NULL);
    if (!(probability > 0.0)) {
        return 0;
    }
    if (probability >= 1.0) {
        return 1;
    }
    uint64_t drawn = prng_unit(&chooser->streams[concern]) < probability ? 1 : 0;
    return (int)sim_chooser_decide(chooser, concern, 2, drawn);
}

uint64_t sim_choose_sampled(struct sim_chooser *chooser, enum sim_concern concern, uint64_t min,
                            uint64_t max, uint64_t drawn)
{
    assert(chooser != NULL);
    assert(min <= max);
    assert(drawn >= min);
    assert(drawn <= max);
    if (min == max) {
        return min;
    }
    uint64_t n = max - min + 1; /* 0 when the range is the full 64 bits: decide() accepts it */
    return min + sim_chooser_decide(chooser, concern, n, drawn - min);
}

uint64_t sim_choose_sampled_calm_max(struct sim_chooser *chooser, enum sim_concern concern,
                                     uint64_t min, uint64_t max, uint64_t drawn)
{
    assert(chooser != NULL);
    assert(min <= max);
    assert(drawn >= min);
    assert(drawn <= max);
    if (min == max) {
        return min;
    }
    uint64_t n = max - min + 1;
    return max - sim_chooser_decide(chooser, concern, n, max - drawn);
}

struct prng *sim_chooser_stream(struct sim_chooser *chooser, enum sim_concern concern)
{
    assert(chooser != NULL);
    assert(concern < SIM_CONCERN_COUNT);
    return &chooser->streams[concern];
}

/* ---- whole schedules ---- */

/* Appends one decision to a growing array. Returns 0, or -1 when out of memory. */
static int sim_schedule_push(struct sim_decision **decisions, size_t *count, size_t *capacity,
                             struct sim_decision decision)
{
    if (*count == *capacity) {
        size_t grown = *capacity == 0 ? 1024 : *capacity * 2;
        struct sim_decision *bigger = realloc(*decisions, grown * sizeof(**decisions));
        if (bigger == NULL) {
            return -1;
        }
        *decisions = bigger;
        *capacity = grown;
    }
    (*decisions)[(*count)++] = decision;
    return 0;
}

int sim_schedule_load(const char *path, struct sim_schedule_header *header,
                      struct sim_decision **decisions, size_t *count, size_t count_max, char *error,
                      size_t error_size)
{
    assert(path != NULL);
    assert(decisions != NULL);
    assert(count != NULL);
    *decisions = NULL;
    *count = 0;
    size_t capacity = 0;
    struct sim_chooser *reader = calloc(1, sizeof(*reader));
    if (reader == NULL) {
        snprintf(error, error_size, "%s: out of memory", path);
        return -1;
    }
    int rc = sim_chooser_init_replay(reader, path, 0, header);
    char line[SIM_SCHEDULE_LINE_BYTES_MAX + 2];
    while (rc == 0) {
        int got = sim_schedule_next_line(reader, line, sizeof(line));
        if (got <= 0) {
            rc = got;
            break;
        }
        struct sim_decision decision;
        if (sim_schedule_parse_decision(reader, line, &decision) != 0) {
            rc = -1;
        } else if (*count >= count_max) {
            sim_chooser_fail(reader, "%s:%" PRIu64 ": more than %zu decisions", path,
                             reader->replay_line, count_max);
            rc = -1;
        } else if (sim_schedule_push(decisions, count, &capacity, decision) != 0) {
            sim_chooser_fail(reader, "%s: out of memory after %zu decisions", path, *count);
            rc = -1;
        }
    }
    if (rc != 0) {
        snprintf(error, error_size, "%s", reader->error);
        free(*decisions);
        *decisions = NULL;
        *count = 0;
    }
    sim_chooser_deinit(reader);
    free(reader);
    return rc == 0 ? 0 : -1;
}

int sim_schedule_save(const char *path, const struct sim_schedule_header *header,
                      const char *comment, const struct sim_decision *decisions, size_t count,
                      char *error, size_t error_size)
{
    assert(path != NULL);
    assert(header != NULL);
    assert(decisions != NULL || count == 0);
    FILE *file = fopen(path, "w");
    if (file == NULL) {
        snprintf(error, error_size, "%s: cannot create schedule: %s", path, strerror(errno));
        return -1;
    }
    fprintf(file, "%s\nseed %" PRIu64 "\n", SIM_SCHEDULE_MAGIC, header->seed);
    if (header->scenario[0] != '\0') {
        fprintf(file, "scenario %s\n", header->scenario);
    }
    const char *text = comment != NULL ? comment : "";
    while (*text != '\0') {
        const char *end = strchr(text, '\n');
        size_t len = end != NULL ? (size_t)(end - text) : strlen(text);
        fprintf(file, "# %.*s\n", (int)len, text);
        text += len + (end != NULL);
    }
    fprintf(file, "# one decision per line: concern n value, value in [0, n); "
                  "n = 0 means the full 64-bit range\n");
    for (size_t i = 0; i < count; i++) {
        assert(decisions[i].concern < SIM_CONCERN_COUNT);
        assert(decisions[i].n == 0 || decisions[i].value < decisions[i].n);
        fprintf(file, "%s %" PRIu64 " %" PRIu64 "\n", sim_concern_names[decisions[i].concern],
                decisions[i].n, decisions[i].value);
    }
    int failed = ferror(file);
    if (fclose(file) != 0 || failed) {
        snprintf(error, error_size, "%s: writing the schedule failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void sim_decisions_push(struct sim_decisions *list, struct sim_decision d)
{
    assert(list != NULL);
    assert(list->count <= list->capacity);
    if (list->full) {
        return;
    }
    if (list->count == list->capacity) {
        size_t grown = list->capacity == 0 ? 4096 : list->capacity * 2;
        struct sim_decision *bigger = grown > SIM_SCHEDULE_DECISIONS_MAX
                                          ? NULL
                                          : realloc(list->items, grown * sizeof(list->items[0]));
        if (bigger == NULL) {
            list->full = 1;
            return;
        }
        list->items = bigger;
        list->capacity = grown;
    }
    list->items[list->count++] = d;
}

void sim_decisions_clear(struct sim_decisions *list)
{
    assert(list != NULL);
    list->count = 0;
    list->full = 0;
}

void sim_decisions_free(struct sim_decisions *list)
{
    assert(list != NULL);
    free(list->items);
    *list = (struct sim_decisions){ 0 };
}
