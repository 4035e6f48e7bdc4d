/* The JSON summary of a sweep (jansson): totals, per-scenario figures, failures, every run. */
#include "reports/report.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

/* JSON numbers are doubles to many readers: 64-bit hashes and seeds above 2^53 would lose bits,
 * so hashes are hex strings and seeds are integers only while exact. */
static json_t *report_json_u64(uint64_t value)
{
    if (value <= (UINT64_C(1) << 53)) {
        return json_integer((json_int_t)value);
    }
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, value);
    return json_string(text);
}

static json_t *report_json_hash(uint64_t hash)
{
    char text[24];
    snprintf(text, sizeof(text), "%016" PRIx64, hash);
    return json_string(text);
}

static json_t *report_json_counters(const struct report_counter *counters, uint32_t count)
{
    json_t *object = json_object();
    for (uint32_t i = 0; i < count; i++) {
        json_object_set_new(object, counters[i].name, report_json_u64(counters[i].value));
    }
    return object;
}

static json_t *report_json_failure(const struct report_run *run)
{
    json_t *object = json_object();
    json_object_set_new(object, "scenario", json_string(run->scenario));
    json_object_set_new(object, "scenario_path", json_string(run->scenario_path));
    json_object_set_new(object, "seed", report_json_u64(run->seed));
    json_object_set_new(object, "verdict", json_string(report_verdict_name(run->verdict)));
    json_object_set_new(object, "invariant", json_string(run->invariant));
    json_object_set_new(object, "detail", json_string(run->detail));
    json_object_set_new(object, "reproduce", json_string(run->repro));
    json_object_set_new(object, "events", report_json_u64(run->events));
    json_object_set_new(object, "virtual_time_us", report_json_u64(run->virtual_time_us));
    json_object_set_new(object, "trace_hash", report_json_hash(run->trace_hash));
    json_object_set_new(object, "counters",
                        report_json_counters(run->counters, run->counter_count));
    return object;
}

static json_t *report_json_scenarios(const struct report_sweep *sweep)
{
    json_t *array = json_array();
    for (uint32_t i = 0; i < sweep->scenario_count; i++) {
        const struct report_scenario *s = &sweep->scenarios[i];
        json_t *object = json_object();
        json_object_set_new(object, "name", json_string(s->name));
        json_object_set_new(object, "path", json_string(s->path));
        json_object_set_new(object, "runs", report_json_u64(s->runs));
        json_object_set_new(object, "failed", report_json_u64(s->failed));
        json_object_set_new(object, "events", report_json_u64(s->events));
        json_object_set_new(object, "virtual_time_us", report_json_u64(s->virtual_time_us));
        json_object_set_new(object, "wall_seconds", json_real(s->wall_seconds));
        json_object_set_new(object, "counters",
                            report_json_counters(s->counters, s->counter_count));
        json_array_append_new(array, object);
    }
    return array;
}

static json_t *report_json_runs(const struct report_sweep *sweep)
{
    json_t *array = json_array();
    for (size_t i = 0; i < sweep->run_count; i++) {
        const struct report_run_brief *r = &sweep->runs[i];
        json_t *object = json_object();
        json_object_set_new(object, "scenario", json_string(sweep->scenarios[r->scenario].name));
        json_object_set_new(object, "seed", report_json_u64(r->seed));
        json_object_set_new(object, "verdict",
                            json_string(report_verdict_name((enum report_verdict)r->verdict)));
        json_object_set_new(object, "trace_hash", report_json_hash(r->trace_hash));
        json_object_set_new(object, "events", report_json_u64(r->events));
        json_object_set_new(object, "virtual_time_us", report_json_u64(r->virtual_time_us));
        json_object_set_new(object, "wall_seconds", json_real(r->wall_seconds));
        json_array_append_new(array, object);
    }
    return array;
}

static json_t *report_json_groups(const struct report_sweep *sweep)
{
    struct report_group groups[REPORT_GROUPS_MAX];
    size_t count = report_sweep_groups(sweep, groups, REPORT_GROUPS_MAX);
    json_t *object = json_object();
    for (size_t g = 0; g < count; g++) {
        json_object_set_new(object, groups[g].invariant, report_json_u64(groups[g].count));
    }
    return object;
}

static json_t *report_json_sweep(const struct report_sweep *sweep)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string("flowraft-sweep-1"));
    json_object_set_new(root, "command", json_string(sweep->command));
    json_object_set_new(root, "seed_first", report_json_u64(sweep->seed_first));
    json_object_set_new(root, "seed_last", report_json_u64(sweep->seed_last));
    json_object_set_new(root, "shard_index", json_integer(sweep->shard_index));
    json_object_set_new(root, "shard_count", json_integer(sweep->shard_count));
    json_object_set_new(root, "jobs", json_integer(sweep->jobs));
    json_object_set_new(root, "check_determinism", json_boolean(sweep->check_determinism));
    json_object_set_new(root, "time_budget_seconds", json_real(sweep->time_budget_seconds));
    json_object_set_new(root, "time_budget_reached", json_boolean(sweep->time_budget_reached));
    json_object_set_new(root, "runs_planned", report_json_u64(sweep->runs_planned));
    json_object_set_new(root, "runs", report_json_u64(report_sweep_runs(sweep)));
    json_object_set_new(root, "runs_skipped", report_json_u64(sweep->runs_skipped));
    json_object_set_new(root, "failed", report_json_u64(report_sweep_failed(sweep)));
    json_object_set_new(root, "wall_seconds", json_real(sweep->wall_seconds));
    json_object_set_new(root, "failures_by_invariant", report_json_groups(sweep));
    json_object_set_new(root, "scenarios", report_json_scenarios(sweep));
    json_t *failures = json_array();
    for (size_t i = 0; i < sweep->failure_count; i++) {
        json_array_append_new(failures, report_json_failure(&sweep->failures[i]));
    }
    json_object_set_new(root, "failures", failures);
    json_object_set_new(root, "all_runs", report_json_runs(sweep));
    return root;
}

int report_write_json(const struct report_sweep *sweep, const char *path, char *error,
                      size_t error_size)
{
    assert(sweep != NULL);
    assert(path != NULL);
    json_t *root = report_json_sweep(sweep);
    if (root == NULL) {
        snprintf(error, error_size, "%s: out of memory building the JSON report", path);
        return -1;
    }
    int rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    json_decref(root);
    if (rc != 0) {
        snprintf(error, error_size, "%s: cannot write the JSON report: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
