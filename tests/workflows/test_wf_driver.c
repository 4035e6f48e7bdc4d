/* Test-only driver: coordinator, scripted workers and instant commits around one workflow state. */
#include "tests/workflows/test_wf_driver.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WF_EXAMPLES_DIR
#error "WF_EXAMPLES_DIR must name workflows/examples"
#endif

#define WFD_STEPS_MAX       100000
#define WFD_COORD_BATCH_MAX 32

struct wfd *wfd_create(uint32_t workers, uint32_t workflows_max, wf_log_fn *log, void *context)
{
    assert(workers <= WFD_WORKERS_MAX);
    struct wfd *driver = calloc(1, sizeof(*driver));
    assert(driver != NULL);
    struct wf_state_config config = {
        .workflows_max = workflows_max,
        .log = log,
        .log_context = context,
    };
    driver->state = wf_state_create(&config);
    driver->before = wf_inv_view_create(workflows_max);
    driver->def_scratch = calloc(1, sizeof(*driver->def_scratch));
    assert(driver->state != NULL && driver->before != NULL && driver->def_scratch != NULL);
    driver->next_index = 1;
    driver->default_duration_ms = 100;
    driver->restart_ms = 500;
    driver->worker_count = workers;
    wf_inv_capture(driver->state, driver->before);
    return driver;
}

void wfd_destroy(struct wfd *driver)
{
    if (driver == NULL) {
        return;
    }
    for (uint32_t i = 0; i < driver->log_count; i++) {
        free(driver->log[i].bytes);
    }
    wf_state_destroy(driver->state);
    wf_inv_view_destroy(driver->before);
    free(driver->def_scratch);
    free(driver);
}

void wfd_script(struct wfd *driver, struct wfd_script script)
{
    assert(driver->script_count < WFD_SCRIPTS_MAX);
    driver->scripts[driver->script_count++] = script;
}

void wfd_inject(struct wfd *driver, uint64_t at_ms, const struct wf_command *command)
{
    assert(driver->injection_count < WFD_INJECTIONS_MAX);
    driver->injections[driver->injection_count++] =
        (struct wfd_injection){ .at_ms = at_ms, .command = *command };
}

void wfd_failover(struct wfd *driver, uint64_t delay_ms, uint64_t grace_ms)
{
    driver->ready_at_ms = driver->now_ms + delay_ms;
    driver->grace_until_ms = driver->ready_at_ms + grace_ms;
}

static void check_invariants(struct wfd *driver)
{
    struct wf_violation violation;
    if (driver->violation[0] != '\0') {
        return;
    }
    if (!wf_inv_check_state(driver->state, &violation) ||
        !wf_inv_check_progress(driver->before, driver->state, &violation)) {
        snprintf(driver->violation, sizeof(driver->violation), "after index %llu: %s",
                 (unsigned long long)(driver->next_index - 1), violation.text);
        return;
    }
    wf_inv_capture(driver->state, driver->before);
}

static const struct wfd_script *find_script(const struct wfd *driver, const char *task_id,
                                            uint32_t attempt)
{
    for (uint32_t i = 0; i < driver->script_count; i++) {
        const struct wfd_script *script = &driver->scripts[i];
        if (script->attempt == attempt && strcmp(script->task_id, task_id) == 0) {
            return script;
        }
    }
    return NULL;
}

static void on_started(struct wfd *driver, const struct wf_command *command)
{
    assert(command->worker_id < driver->worker_count);
    struct wfd_worker *worker = &driver->workers[command->worker_id];
    assert(!worker->busy && !worker->crashed);
    bool found = wf_assignment_from_state(driver->state, command->workflow_id, command->task_index,
                                          &worker->assignment);
    assert(found);
    assert(driver->assignment_count < WFD_ASSIGNMENTS_MAX);
    driver->assignments[driver->assignment_count++] = worker->assignment;
    const struct wfd_script *script =
        find_script(driver, worker->assignment.task_id, worker->assignment.token.attempt);
    uint64_t duration = script != NULL && script->duration_ms > 0 ? script->duration_ms
                                                                  : driver->default_duration_ms;
    worker->busy = true;
    worker->action = script != NULL ? script->action : WFD_COMPLETE;
    worker->error_kind = script != NULL ? script->error_kind : NULL;
    worker->report_at_ms = driver->now_ms + duration;
    worker->heartbeat_ms = script != NULL ? script->heartbeat_ms : 0;
    worker->next_heartbeat_ms = driver->now_ms + worker->heartbeat_ms;
    if (worker->action == WFD_CRASH) {
        worker->crashed = true;
        worker->free_at_ms = worker->report_at_ms + driver->restart_ms;
    }
}

struct wf_result wfd_propose_bytes(struct wfd *driver, const uint8_t *bytes, size_t len)
{
    assert(driver->log_count < WFD_LOG_MAX);
    struct wfd_entry *entry = &driver->log[driver->log_count++];
    entry->index = driver->next_index++;
    entry->len = len;
    entry->bytes = malloc(len > 0 ? len : 1);
    assert(entry->bytes != NULL);
    if (len > 0) {
        memcpy(entry->bytes, bytes, len);
    }
    struct wf_result result;
    wf_state_apply(driver->state, entry->index, entry->bytes, len, &result);
    entry->hash = wf_state_hash(driver->state);
    if (entry->hash != wf_state_hash_uncached(driver->state) && driver->violation[0] == '\0') {
        snprintf(driver->violation, sizeof(driver->violation), "hash cache: stale after index %llu",
                 (unsigned long long)entry->index);
    }
    driver->status_counts[result.status]++;
    driver->duplicates += result.duplicate ? 1 : 0;
    driver->transitions += result.transitions;
    check_invariants(driver);
    return result;
}

struct wf_result wfd_propose(struct wfd *driver, struct wf_command *command)
{
    static uint8_t buffer[WF_COMMAND_BYTES_MAX];
    struct wf_error error;
    wf_command_stamp(command, driver->now_ms);
    size_t len = wf_command_encode(command, buffer, sizeof(buffer), &error);
    assert(len > 0);
    struct wf_result result = wfd_propose_bytes(driver, buffer, len);
    if (command->type == WF_CMD_START_ATTEMPT && result.status == WF_OK) {
        on_started(driver, command);
    }
    return result;
}

enum wf_status wfd_submit_json(struct wfd *driver, const char *json)
{
    struct wf_error error;
    bool ok = wf_def_from_json(json, strlen(json), driver->def_scratch, &error);
    if (!ok) {
        fprintf(stderr, "definition rejected: %s\n", error.text);
    }
    assert(ok);
    struct wf_command command = { .type = WF_CMD_SUBMIT, .def = driver->def_scratch };
    memcpy(command.workflow_id, driver->def_scratch->id, sizeof(command.workflow_id));
    return wfd_propose(driver, &command).status;
}

char *wfd_read_example(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", WF_EXAMPLES_DIR, name);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        return NULL;
    }
    char *text = calloc(1, WF_DEF_JSON_BYTES_MAX + 1);
    assert(text != NULL);
    *len = fread(text, 1, WF_DEF_JSON_BYTES_MAX, file);
    fclose(file);
    return text;
}

enum wf_status wfd_submit_example(struct wfd *driver, const char *name)
{
    size_t len = 0;
    char *json = wfd_read_example(name, &len);
    assert(json != NULL);
    enum wf_status status = wfd_submit_json(driver, json);
    free(json);
    return status;
}

static void execute_effect(struct wfd *driver, const char *key)
{
    driver->executions++;
    for (uint32_t i = 0; i < driver->effect_count; i++) {
        if (strcmp(driver->effects[i], key) == 0) {
            return; /* the external system dedups by idempotency key */
        }
    }
    assert(driver->effect_count < WFD_KEYS_MAX);
    snprintf(driver->effects[driver->effect_count++], sizeof(driver->effects[0]), "%s", key);
}

static void worker_report(struct wfd *driver, struct wfd_worker *worker)
{
    struct wf_command report;
    const struct wf_assignment *assignment = &worker->assignment;
    char output[WF_OUTPUT_BYTES_MAX];
    int len = snprintf(output, sizeof(output), "out:%s", assignment->idempotency_key);
    assert(len > 0 && (size_t)len < sizeof(output));
    worker->busy = false;
    switch (worker->action) {
    case WFD_COMPLETE:
    case WFD_COMPLETE_TWICE:
        execute_effect(driver, assignment->idempotency_key);
        wf_report_completed(assignment, output, (size_t)len, &report);
        wfd_propose(driver, &report);
        if (worker->action == WFD_COMPLETE_TWICE) {
            wf_report_completed(assignment, output, (size_t)len, &report);
            wfd_propose(driver, &report);
        }
        return;
    case WFD_FAIL:
        wf_report_failed(assignment, worker->error_kind, &report);
        wfd_propose(driver, &report);
        return;
    case WFD_CRASH:
        break;
    }
    assert(!"crashed workers do not report");
}

static bool worker_events(struct wfd *driver)
{
    bool acted = false;
    for (uint32_t w = 0; w < driver->worker_count; w++) {
        struct wfd_worker *worker = &driver->workers[w];
        if (worker->crashed) {
            if (driver->now_ms >= worker->free_at_ms) {
                worker->crashed = false;
                worker->busy = false;
                acted = true;
            }
            continue;
        }
        if (!worker->busy) {
            continue;
        }
        if (driver->now_ms >= worker->report_at_ms) {
            worker_report(driver, worker);
            acted = true;
        } else if (worker->heartbeat_ms > 0 && driver->now_ms >= worker->next_heartbeat_ms) {
            struct wf_command extend;
            wf_report_extend(&worker->assignment, &extend);
            wfd_propose(driver, &extend);
            worker->next_heartbeat_ms += worker->heartbeat_ms;
            acted = true;
        }
    }
    return acted;
}

static bool injections_due(struct wfd *driver)
{
    bool acted = false;
    for (uint32_t i = 0; i < driver->injection_count; i++) {
        struct wfd_injection *injection = &driver->injections[i];
        if (!injection->done && driver->now_ms >= injection->at_ms) {
            injection->done = true;
            wfd_propose(driver, &injection->command);
            acted = true;
        }
    }
    return acted;
}

static bool coordinate(struct wfd *driver, uint64_t *next_due_ms)
{
    uint32_t free_workers[WFD_WORKERS_MAX];
    uint32_t free_count = 0;
    for (uint32_t w = 0; w < driver->worker_count; w++) {
        if (!driver->workers[w].busy && !driver->workers[w].crashed) {
            free_workers[free_count++] = w;
        }
    }
    struct wf_command commands[WFD_COORD_BATCH_MAX];
    struct wf_coord_input input = {
        .now_ms = driver->now_ms,
        .leader_ready = driver->now_ms >= driver->ready_at_ms,
        .grace_until_ms = driver->grace_until_ms,
        .free_workers = free_workers,
        .free_worker_count = free_count,
    };
    struct wf_coord_output output = { .commands = commands, .cap = WFD_COORD_BATCH_MAX };
    wf_coordinate(driver->state, &input, &output);
    *next_due_ms = output.next_due_ms;
    for (uint32_t i = 0; i < output.count; i++) {
        wfd_propose(driver, &commands[i]);
    }
    return output.count > 0;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t next_event_ms(const struct wfd *driver, uint64_t coordinator_due_ms)
{
    uint64_t next = coordinator_due_ms;
    bool ready = driver->now_ms >= driver->ready_at_ms;
    if (!ready) {
        next = earliest(next, driver->ready_at_ms);
    }
    for (uint32_t w = 0; w < driver->worker_count; w++) {
        const struct wfd_worker *worker = &driver->workers[w];
        if (worker->crashed) {
            next = earliest(next, worker->free_at_ms);
        } else if (worker->busy && ready) {
            next = earliest(next, worker->report_at_ms);
            if (worker->heartbeat_ms > 0) {
                next = earliest(next, worker->next_heartbeat_ms);
            }
        }
    }
    for (uint32_t i = 0; i < driver->injection_count; i++) {
        if (!driver->injections[i].done) {
            next = earliest(next, driver->injections[i].at_ms);
        }
    }
    return next;
}

uint32_t wfd_run(struct wfd *driver, uint64_t until_ms)
{
    uint32_t steps = 0;
    for (; steps < WFD_STEPS_MAX && driver->violation[0] == '\0'; steps++) {
        uint64_t coordinator_due = UINT64_MAX;
        bool acted = injections_due(driver);
        if (driver->now_ms >= driver->ready_at_ms) {
            acted = worker_events(driver) || acted;
        }
        acted = coordinate(driver, &coordinator_due) || acted;
        if (acted) {
            continue;
        }
        uint64_t next = next_event_ms(driver, coordinator_due);
        if (next == UINT64_MAX || next > until_ms) {
            if (until_ms != UINT64_MAX && until_ms > driver->now_ms) {
                driver->now_ms = until_ms; /* time passes up to the horizon */
            }
            return steps;
        }
        driver->now_ms = next > driver->now_ms ? next : driver->now_ms + 1;
    }
    if (driver->violation[0] == '\0') {
        snprintf(driver->violation, sizeof(driver->violation), "driver: %d steps without idling",
                 WFD_STEPS_MAX);
    }
    return steps;
}

struct wf_result wfd_apply_command(struct wf_state *state, uint64_t *index,
                                   struct wf_command command, uint64_t at_ms)
{
    static uint8_t buffer[WF_COMMAND_BYTES_MAX];
    struct wf_error error;
    struct wf_result result;
    wf_command_stamp(&command, at_ms);
    size_t len = wf_command_encode(&command, buffer, sizeof(buffer), &error);
    if (len == 0) {
        fprintf(stderr, "test bug, command does not encode: %s\n", error.text);
    }
    assert(len > 0);
    wf_state_apply(state, ++*index, buffer, len, &result);
    return result;
}

struct wf_state *wfd_rebuild(const struct wfd *driver, uint32_t entries)
{
    assert(entries <= driver->log_count);
    struct wf_state_config config = *wf_state_config(driver->state);
    config.log = NULL;
    struct wf_state *state = wf_state_create(&config);
    assert(state != NULL);
    for (uint32_t i = 0; i < entries; i++) {
        struct wf_result result;
        wf_state_apply(state, driver->log[i].index, driver->log[i].bytes, driver->log[i].len,
                       &result);
    }
    return state;
}
