/* Sweep bookkeeping: runs, per-scenario totals, failures grouped by invariant, text summary. */
#include "reports/report.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *report_verdict_name(enum report_verdict verdict)
{
    switch (verdict) {
    case REPORT_PASS:
        return "pass";
    case REPORT_VIOLATION:
        return "violation";
    case REPORT_NONDETERMINISM:
        return "nondeterminism";
    case REPORT_CRASH:
        return "crash";
    case REPORT_ERROR:
        return "error";
    }
    return "unknown";
}

static void report_counters_add(struct report_counter *counters, uint32_t *count, const char *name,
                                uint64_t value)
{
    for (uint32_t i = 0; i < *count; i++) {
        if (strcmp(counters[i].name, name) == 0) {
            counters[i].value += value;
            return;
        }
    }
    /* The counter names are a fixed set in the code: running out of room, or a name too long for
     * its field, is a programmer error (raise REPORT_COUNTERS_MAX), never a silent drop. */
    assert(*count < REPORT_COUNTERS_MAX);
    assert(strlen(name) < sizeof(counters[*count].name));
    snprintf(counters[*count].name, sizeof(counters[*count].name), "%s", name);
    counters[*count].value = value;
    (*count)++;
}

void report_run_count(struct report_run *run, const char *name, uint64_t value)
{
    assert(run != NULL);
    assert(name != NULL);
    report_counters_add(run->counters, &run->counter_count, name, value);
}

uint64_t report_run_counter(const struct report_run *run, const char *name)
{
    assert(run != NULL);
    for (uint32_t i = 0; i < run->counter_count; i++) {
        if (strcmp(run->counters[i].name, name) == 0) {
            return run->counters[i].value;
        }
    }
    return 0;
}

void report_sweep_init(struct report_sweep *sweep)
{
    assert(sweep != NULL);
    memset(sweep, 0, sizeof(*sweep));
}

void report_sweep_deinit(struct report_sweep *sweep)
{
    assert(sweep != NULL);
    free(sweep->runs);
    free(sweep->failures);
    memset(sweep, 0, sizeof(*sweep));
}

int report_sweep_add_scenario(struct report_sweep *sweep, const char *name, const char *path)
{
    assert(sweep != NULL);
    if (sweep->scenario_count == REPORT_SCENARIOS_MAX) {
        return -1;
    }
    struct report_scenario *s = &sweep->scenarios[sweep->scenario_count];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->path, sizeof(s->path), "%s", path);
    return (int)sweep->scenario_count++;
}

static int report_grow(void **array, size_t *capacity, size_t element, size_t needed, size_t limit)
{
    if (needed <= *capacity) {
        return 0;
    }
    if (needed > limit) {
        return -1;
    }
    size_t grown = *capacity == 0 ? 256 : *capacity * 2;
    if (grown > limit) {
        grown = limit;
    }
    void *bigger = realloc(*array, grown * element);
    if (bigger == NULL) {
        return -1;
    }
    *array = bigger;
    *capacity = grown;
    return 0;
}

int report_sweep_add(struct report_sweep *sweep, uint32_t scenario, const struct report_run *run)
{
    assert(sweep != NULL);
    assert(scenario < sweep->scenario_count);
    assert(run != NULL);
    if (report_grow((void **)&sweep->runs, &sweep->run_capacity, sizeof(sweep->runs[0]),
                    sweep->run_count + 1, REPORT_RUNS_MAX) != 0) {
        return -1;
    }
    sweep->runs[sweep->run_count++] = (struct report_run_brief){
        .seed = run->seed,
        .trace_hash = run->trace_hash,
        .events = run->events,
        .virtual_time_us = run->virtual_time_us,
        .wall_seconds = run->wall_seconds,
        .scenario = (uint16_t)scenario,
        .verdict = (uint8_t)run->verdict,
    };
    struct report_scenario *s = &sweep->scenarios[scenario];
    s->runs++;
    s->events += run->events;
    s->virtual_time_us += run->virtual_time_us;
    s->wall_seconds += run->wall_seconds;
    for (uint32_t i = 0; i < run->counter_count; i++) {
        report_counters_add(s->counters, &s->counter_count, run->counters[i].name,
                            run->counters[i].value);
    }
    if (run->verdict == REPORT_PASS) {
        return 0;
    }
    s->failed++;
    sweep->failures_total++;
    if (sweep->failure_count == REPORT_FAILURES_MAX) {
        return 0;
    }
    if (report_grow((void **)&sweep->failures, &sweep->failure_capacity, sizeof(sweep->failures[0]),
                    sweep->failure_count + 1, REPORT_FAILURES_MAX) != 0) {
        return -1;
    }
    sweep->failures[sweep->failure_count++] = *run;
    return 0;
}

uint64_t report_sweep_runs(const struct report_sweep *sweep)
{
    return sweep->run_count;
}

uint64_t report_sweep_failed(const struct report_sweep *sweep)
{
    return sweep->failures_total;
}

size_t report_sweep_groups(const struct report_sweep *sweep, struct report_group *groups,
                           size_t groups_max)
{
    assert(sweep != NULL);
    size_t count = 0;
    for (size_t i = 0; i < sweep->failure_count; i++) {
        const char *name = sweep->failures[i].invariant;
        size_t g = 0;
        while (g < count && strcmp(groups[g].invariant, name) != 0) {
            g++;
        }
        if (g == count) {
            if (count == groups_max) {
                continue;
            }
            groups[count++] = (struct report_group){ .invariant = name, .first = i };
        }
        groups[g].count++;
    }
    /* Most frequent first; insertion sort keeps equal counts in first-seen order. */
    for (size_t i = 1; i < count; i++) {
        struct report_group moving = groups[i];
        size_t j = i;
        while (j > 0 && groups[j - 1].count < moving.count) {
            groups[j] = groups[j - 1];
            j--;
        }
        groups[j] = moving;
    }
    return count;
}

void report_print_run(const struct report_run *run, FILE *out)
{
    assert(run != NULL);
    fprintf(out, "%s: %s seed %" PRIu64 "%s%s\n", report_verdict_name(run->verdict), run->scenario,
            run->seed, run->invariant[0] ? ": " : "", run->invariant);
    if (run->detail[0] != '\0') {
        fprintf(out, "%s\n", run->detail);
    }
    if (run->repro[0] != '\0') {
        fprintf(out, "reproduce: %s\n", run->repro);
    }
}

void report_print_summary(const struct report_sweep *sweep, FILE *out)
{
    assert(sweep != NULL);
    uint64_t runs = report_sweep_runs(sweep);
    uint64_t events = 0;
    uint64_t virtual_us = 0;
    for (uint32_t i = 0; i < sweep->scenario_count; i++) {
        const struct report_scenario *s = &sweep->scenarios[i];
        events += s->events;
        virtual_us += s->virtual_time_us;
        fprintf(out, "  %-20s %6" PRIu64 " runs %6" PRIu64 " failed  %10.1f simulated s\n", s->name,
                s->runs, s->failed, (double)s->virtual_time_us / 1e6);
    }
    fprintf(out,
            "%" PRIu64 " runs, %" PRIu64 " failed, %" PRIu64 " events, %.1f simulated s in %.1f "
            "wall s (%.0fx real time)\n",
            runs, report_sweep_failed(sweep), events, (double)virtual_us / 1e6, sweep->wall_seconds,
            sweep->wall_seconds > 0 ? (double)virtual_us / 1e6 / sweep->wall_seconds : 0.0);
    if (sweep->time_budget_reached) {
        fprintf(out,
                "time budget of %.0f s reached: %" PRIu64 " of %" PRIu64 " runs done, %" PRIu64
                " not run\n",
                sweep->time_budget_seconds, runs, sweep->runs_planned, sweep->runs_skipped);
    }
    struct report_group groups[REPORT_GROUPS_MAX];
    size_t count = report_sweep_groups(sweep, groups, REPORT_GROUPS_MAX);
    for (size_t g = 0; g < count; g++) {
        const struct report_run *first = &sweep->failures[groups[g].first];
        fprintf(out, "\nFAILED %s (%s): %" PRIu64 " run%s; seeds:", groups[g].invariant,
                report_verdict_name(first->verdict), groups[g].count,
                groups[g].count == 1 ? "" : "s");
        int listed = 0;
        for (size_t i = groups[g].first; i < sweep->failure_count && listed < 20; i++) {
            if (strcmp(sweep->failures[i].invariant, groups[g].invariant) == 0) {
                fprintf(out, " %s:%" PRIu64, sweep->failures[i].scenario, sweep->failures[i].seed);
                listed++;
            }
        }
        fprintf(out, "%s\n  first: %s\n  reproduce: %s\n", groups[g].count > 20 ? " ..." : "",
                first->detail, first->repro);
    }
    if (sweep->failures_total > sweep->failure_count) {
        fprintf(out, "(%" PRIu64 " further failures were counted but not kept)\n",
                sweep->failures_total - sweep->failure_count);
    }
}

int report_write_failing_seeds(const struct report_sweep *sweep, const char *path, char *error,
                               size_t error_size)
{
    assert(sweep != NULL);
    FILE *out = fopen(path, "w");
    if (out == NULL) {
        snprintf(error, error_size, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    fprintf(out, "# flowraft sweep failing seeds: SCENARIO SEED INVARIANT\n"
                 "# replay one with: flowraft replay SCENARIO --seed SEED --verbose\n");
    for (size_t i = 0; i < sweep->failure_count; i++) {
        const struct report_run *run = &sweep->failures[i];
        fprintf(out, "%s %" PRIu64 " %s\n", run->scenario_path, run->seed, run->invariant);
    }
    if (fclose(out) != 0) {
        snprintf(error, error_size, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
