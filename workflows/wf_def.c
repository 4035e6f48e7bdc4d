/* Workflow definitions: validation, canonical binary codec, hashing and retry arithmetic. */
#include "workflows/wf_def.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

bool wf_name_valid(const char *text, size_t len, size_t len_max)
{
    assert(text != NULL);
    if (len == 0 || len > len_max) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool name_field_valid(const char *text, size_t len_max)
{
    return wf_name_valid(text, strnlen(text, len_max + 1), len_max);
}

int wf_def_task_index(const struct wf_def *def, const char *task_id)
{
    assert(def != NULL);
    assert(task_id != NULL);
    for (uint32_t i = 0; i < def->task_count && i < WF_TASKS_MAX; i++) {
        if (strcmp(def->tasks[i].id, task_id) == 0) {
            return (int)i;
        }
    }
    return -1;
}

uint64_t wf_retry_backoff_ms(const struct wf_retry_policy *policy, uint32_t failed_attempt)
{
    assert(policy != NULL);
    assert(failed_attempt >= 1);
    assert(policy->max_backoff_ms <= WF_DURATION_MS_MAX);
    assert(policy->multiplier_permille <= WF_MULTIPLIER_PERMILLE_MAX);
    assert(policy->initial_backoff_ms <= policy->max_backoff_ms);
    /* In microseconds, so that short backoffs grow (whole milliseconds would keep 1 ms times 1.5
     * at 1 ms forever). No overflow: the value multiplied is below max_backoff_ms * 1000, at most
     * 6.05e11, and the multiplier at most 1e5, so the product stays below 6.1e16 < 2^63. */
    const uint64_t us_per_ms = 1000;
    uint64_t limit_us = policy->max_backoff_ms * us_per_ms;
    uint64_t backoff_us = policy->initial_backoff_ms * us_per_ms;
    /* Bounded: at most WF_ATTEMPTS_MAX - 1 multiplications. */
    for (uint32_t n = 1; n < failed_attempt && n < WF_ATTEMPTS_MAX && backoff_us < limit_us; n++) {
        backoff_us = backoff_us * policy->multiplier_permille / 1000;
    }
    uint64_t backoff_ms = backoff_us / us_per_ms;
    return backoff_ms < policy->max_backoff_ms ? backoff_ms : policy->max_backoff_ms;
}

bool wf_retry_kind_retryable(const struct wf_retry_policy *policy, const char *error_kind)
{
    assert(policy != NULL);
    assert(error_kind != NULL);
    for (uint32_t i = 0; i < policy->non_retryable_count && i < WF_NON_RETRYABLE_MAX; i++) {
        if (strcmp(policy->non_retryable[i], error_kind) == 0) {
            return false;
        }
    }
    return true;
}

static bool validate_retry(const struct wf_retry_policy *retry, uint32_t t, struct wf_error *error)
{
    if (retry->max_attempts < 1 || retry->max_attempts > WF_ATTEMPTS_MAX) {
        wf_error_set(error, "tasks[%u].retry.max_attempts: must be between 1 and %d (got %u)", t,
                     WF_ATTEMPTS_MAX, retry->max_attempts);
        return false;
    }
    if (retry->multiplier_permille < WF_MULTIPLIER_PERMILLE_MIN ||
        retry->multiplier_permille > WF_MULTIPLIER_PERMILLE_MAX) {
        wf_error_set(error, "tasks[%u].retry.multiplier: must be between 1.0 and 100.0", t);
        return false;
    }
    if (retry->max_backoff_ms > WF_DURATION_MS_MAX) {
        wf_error_set(error, "tasks[%u].retry.max_backoff_ms: must be <= %llu", t,
                     (unsigned long long)WF_DURATION_MS_MAX);
        return false;
    }
    if (retry->initial_backoff_ms > retry->max_backoff_ms) {
        wf_error_set(error, "tasks[%u].retry.initial_backoff_ms: must be <= max_backoff_ms (%llu)",
                     t, (unsigned long long)retry->max_backoff_ms);
        return false;
    }
    if (retry->non_retryable_count > WF_NON_RETRYABLE_MAX) {
        wf_error_set(error, "tasks[%u].retry.non_retryable: at most %d error kinds", t,
                     WF_NON_RETRYABLE_MAX);
        return false;
    }
    for (uint32_t k = 0; k < retry->non_retryable_count; k++) {
        const char *kind = retry->non_retryable[k];
        if (!name_field_valid(kind, WF_ERROR_KIND_BYTES_MAX)) {
            wf_error_set(error,
                         "tasks[%u].retry.non_retryable[%u]: must be 1..%d characters of "
                         "[A-Za-z0-9_.-]",
                         t, k, WF_ERROR_KIND_BYTES_MAX);
            return false;
        }
        if (k > 0 && strcmp(retry->non_retryable[k - 1], kind) >= 0) {
            wf_error_set(error, "tasks[%u].retry.non_retryable[%u]: not sorted or duplicate", t, k);
            return false;
        }
    }
    return true;
}

static bool validate_deps(const struct wf_def *def, uint32_t t, struct wf_error *error)
{
    const struct wf_task_def *task = &def->tasks[t];
    if (task->dep_count > WF_DEPS_MAX) {
        wf_error_set(error, "tasks[%u].deps: at most %d dependencies (got %u)", t, WF_DEPS_MAX,
                     task->dep_count);
        return false;
    }
    for (uint32_t j = 0; j < task->dep_count; j++) {
        uint16_t dep = task->deps[j];
        if (dep >= def->task_count) {
            wf_error_set(error, "tasks[%u].deps[%u]: task index %u out of range (%u tasks)", t, j,
                         (unsigned)dep, def->task_count);
            return false;
        }
        if (dep == t) {
            wf_error_set(error, "tasks[%u].deps[%u]: task '%s' depends on itself", t, j, task->id);
            return false;
        }
        if (j > 0 && task->deps[j - 1] >= dep) {
            wf_error_set(error, "tasks[%u].deps[%u]: not sorted or duplicate", t, j);
            return false;
        }
    }
    return true;
}

static bool validate_task(const struct wf_def *def, uint32_t t, struct wf_error *error)
{
    const struct wf_task_def *task = &def->tasks[t];
    if (!name_field_valid(task->id, WF_ID_BYTES_MAX)) {
        wf_error_set(error, "tasks[%u].id: must be 1..%d characters of [A-Za-z0-9_.-]", t,
                     WF_ID_BYTES_MAX);
        return false;
    }
    for (uint32_t u = 0; u < t; u++) {
        if (strcmp(def->tasks[u].id, task->id) == 0) {
            wf_error_set(error, "tasks[%u].id: duplicate task id '%s' (first at tasks[%u])", t,
                         task->id, u);
            return false;
        }
    }
    if (!name_field_valid(task->kind, WF_KIND_BYTES_MAX)) {
        wf_error_set(error, "tasks[%u].kind: must be 1..%d characters of [A-Za-z0-9_.-]", t,
                     WF_KIND_BYTES_MAX);
        return false;
    }
    if (task->params_len > WF_PARAMS_BYTES_MAX ||
        strnlen(task->params, WF_PARAMS_BYTES_MAX + 1) != task->params_len) {
        wf_error_set(error, "tasks[%u].params: at most %d bytes of JSON without NUL bytes", t,
                     WF_PARAMS_BYTES_MAX);
        return false;
    }
    if (task->lease_timeout_ms < 1 || task->lease_timeout_ms > WF_DURATION_MS_MAX) {
        wf_error_set(error, "tasks[%u].lease_timeout_ms: must be between 1 and %llu", t,
                     (unsigned long long)WF_DURATION_MS_MAX);
        return false;
    }
    return validate_deps(def, t, error) && validate_retry(&task->retry, t, error);
}

/* Describes a cycle among the tasks Kahn's algorithm could not order (remaining[t] true). */
static void report_cycle(const struct wf_def *def, const bool *remaining, struct wf_error *error)
{
    uint32_t at = 0;
    while (at < def->task_count && !remaining[at]) {
        at++;
    }
    assert(at < def->task_count);
    /* Every remaining task has a remaining dependency; following them task_count times from any
     * remaining task must end inside a cycle (pigeonhole), without recursion. */
    for (uint32_t step = 0; step < def->task_count; step++) {
        const struct wf_task_def *task = &def->tasks[at];
        uint32_t next = at;
        for (uint32_t j = 0; j < task->dep_count; j++) {
            if (remaining[task->deps[j]]) {
                next = task->deps[j];
                break;
            }
        }
        assert(next != at);
        at = next;
    }
    char path[WF_MESSAGE_BYTES_MAX] = "";
    size_t used = 0;
    uint32_t walk = at;
    for (uint32_t step = 0; step <= def->task_count; step++) {
        int n = snprintf(path + used, sizeof(path) - used, "%s%s", step == 0 ? "" : " -> ",
                         def->tasks[walk].id);
        if (n < 0 || (size_t)n >= sizeof(path) - used) {
            break;
        }
        used += (size_t)n;
        if (step > 0 && walk == at) {
            break;
        }
        const struct wf_task_def *task = &def->tasks[walk];
        for (uint32_t j = 0; j < task->dep_count; j++) {
            if (remaining[task->deps[j]]) {
                walk = task->deps[j];
                break;
            }
        }
    }
    wf_error_set(error, "tasks[%u].deps: dependency cycle %s (each depends on the next)", at, path);
}

/* Kahn's algorithm (1962): repeatedly removes tasks whose dependencies are all removed. */
static bool check_acyclic(const struct wf_def *def, struct wf_error *error)
{
    uint32_t unmet[WF_TASKS_MAX];
    bool remaining[WF_TASKS_MAX];
    uint16_t queue[WF_TASKS_MAX];
    uint32_t head = 0;
    uint32_t tail = 0;
    for (uint32_t t = 0; t < def->task_count; t++) {
        unmet[t] = def->tasks[t].dep_count;
        remaining[t] = true;
        if (unmet[t] == 0) {
            queue[tail++] = (uint16_t)t;
        }
    }
    while (head < tail) {
        uint16_t done = queue[head++];
        remaining[done] = false;
        for (uint32_t t = 0; t < def->task_count; t++) {
            const struct wf_task_def *task = &def->tasks[t];
            for (uint32_t j = 0; j < task->dep_count; j++) {
                if (task->deps[j] != done) {
                    continue;
                }
                assert(unmet[t] > 0);
                if (--unmet[t] == 0) {
                    assert(tail < WF_TASKS_MAX);
                    queue[tail++] = (uint16_t)t;
                }
            }
        }
    }
    if (tail == def->task_count) {
        return true;
    }
    report_cycle(def, remaining, error);
    return false;
}

bool wf_def_validate(const struct wf_def *def, struct wf_error *error)
{
    assert(def != NULL);
    if (!name_field_valid(def->id, WF_ID_BYTES_MAX)) {
        wf_error_set(error, "id: must be 1..%d characters of [A-Za-z0-9_.-]", WF_ID_BYTES_MAX);
        return false;
    }
    if (def->task_count < 1) {
        wf_error_set(error, "tasks: must contain at least 1 task");
        return false;
    }
    if (def->task_count > WF_TASKS_MAX) {
        wf_error_set(error, "tasks: at most %d tasks (got %u)", WF_TASKS_MAX, def->task_count);
        return false;
    }
    for (uint32_t t = 0; t < def->task_count; t++) {
        if (!validate_task(def, t, error)) {
            return false;
        }
    }
    return check_acyclic(def, error);
}

static void encode_task(const struct wf_task_def *task, struct wf_writer *writer)
{
    wf_put_str8(writer, task->id);
    wf_put_str8(writer, task->kind);
    wf_put_blob16(writer, task->params, task->params_len);
    wf_put_u8(writer, (uint8_t)task->dep_count);
    for (uint32_t j = 0; j < task->dep_count; j++) {
        wf_put_u16(writer, task->deps[j]);
    }
    const struct wf_retry_policy *retry = &task->retry;
    wf_put_u32(writer, retry->max_attempts);
    wf_put_u64(writer, retry->initial_backoff_ms);
    wf_put_u32(writer, retry->multiplier_permille);
    wf_put_u64(writer, retry->max_backoff_ms);
    wf_put_u8(writer, (uint8_t)retry->non_retryable_count);
    for (uint32_t k = 0; k < retry->non_retryable_count; k++) {
        wf_put_str8(writer, retry->non_retryable[k]);
    }
    wf_put_u64(writer, task->lease_timeout_ms);
}

void wf_def_encode(const struct wf_def *def, struct wf_writer *writer)
{
    assert(def != NULL);
    assert(def->task_count >= 1 && def->task_count <= WF_TASKS_MAX);
    wf_put_str8(writer, def->id);
    wf_put_u16(writer, (uint16_t)def->task_count);
    for (uint32_t t = 0; t < def->task_count; t++) {
        encode_task(&def->tasks[t], writer);
    }
}

static bool decode_retry(struct wf_reader *reader, uint32_t t, struct wf_retry_policy *retry)
{
    char field[96];
    snprintf(field, sizeof(field), "definition.tasks[%u].retry", t);
    uint8_t count = 0;
    wf_get_u32(reader, field, &retry->max_attempts);
    wf_get_u64(reader, field, &retry->initial_backoff_ms);
    wf_get_u32(reader, field, &retry->multiplier_permille);
    wf_get_u64(reader, field, &retry->max_backoff_ms);
    if (!wf_get_u8(reader, field, &count)) {
        return false;
    }
    if (count > WF_NON_RETRYABLE_MAX) {
        return wf_reader_fail(reader, "%s.non_retryable: %u kinds exceed the maximum %d", field,
                              (unsigned)count, WF_NON_RETRYABLE_MAX);
    }
    retry->non_retryable_count = count;
    for (uint32_t k = 0; k < count; k++) {
        snprintf(field, sizeof(field), "definition.tasks[%u].retry.non_retryable[%u]", t, k);
        wf_get_str8(reader, field, retry->non_retryable[k], WF_ERROR_KIND_BYTES_MAX);
    }
    return !reader->failed;
}

static bool decode_task(struct wf_reader *reader, uint32_t t, struct wf_task_def *task)
{
    char field[96];
    size_t params_len = 0;
    snprintf(field, sizeof(field), "definition.tasks[%u].id", t);
    wf_get_str8(reader, field, task->id, WF_ID_BYTES_MAX);
    snprintf(field, sizeof(field), "definition.tasks[%u].kind", t);
    wf_get_str8(reader, field, task->kind, WF_KIND_BYTES_MAX);
    snprintf(field, sizeof(field), "definition.tasks[%u].params", t);
    wf_get_blob16(reader, field, task->params, WF_PARAMS_BYTES_MAX, &params_len);
    task->params[params_len] = '\0';
    task->params_len = (uint32_t)params_len;
    snprintf(field, sizeof(field), "definition.tasks[%u].deps", t);
    uint8_t dep_count = 0;
    if (!wf_get_u8(reader, field, &dep_count)) {
        return false;
    }
    if (dep_count > WF_DEPS_MAX) {
        return wf_reader_fail(reader, "%s: %u dependencies exceed the maximum %d", field,
                              (unsigned)dep_count, WF_DEPS_MAX);
    }
    task->dep_count = dep_count;
    for (uint32_t j = 0; j < dep_count; j++) {
        wf_get_u16(reader, field, &task->deps[j]);
    }
    if (!decode_retry(reader, t, &task->retry)) {
        return false;
    }
    snprintf(field, sizeof(field), "definition.tasks[%u].lease_timeout_ms", t);
    return wf_get_u64(reader, field, &task->lease_timeout_ms);
}

bool wf_def_decode(struct wf_reader *reader, struct wf_def *out, struct wf_error *error)
{
    assert(reader != NULL);
    assert(out != NULL);
    out->task_count = 0;
    uint16_t task_count = 0;
    wf_get_str8(reader, "definition.id", out->id, WF_ID_BYTES_MAX);
    if (!wf_get_u16(reader, "definition.tasks", &task_count)) {
        goto out_reader;
    }
    if (task_count < 1 || task_count > WF_TASKS_MAX) {
        wf_reader_fail(reader, "definition.tasks: %u tasks, must be 1..%d", (unsigned)task_count,
                       WF_TASKS_MAX);
        goto out_reader;
    }
    out->task_count = task_count;
    for (uint32_t t = 0; t < task_count; t++) {
        if (!decode_task(reader, t, &out->tasks[t])) {
            goto out_reader;
        }
    }
    struct wf_error invalid;
    if (!wf_def_validate(out, &invalid)) {
        wf_error_set(error, "definition.%s", invalid.text);
        return false;
    }
    return true;
out_reader:
    assert(reader->failed);
    wf_error_set(error, "%s", reader->error.text);
    return false;
}

uint64_t wf_def_hash(const struct wf_def *def)
{
    struct wf_hasher hasher;
    struct wf_writer writer;
    wf_hasher_init(&hasher, 0);
    wf_writer_init_hash(&writer, &hasher);
    wf_def_encode(def, &writer);
    return wf_writer_digest(&writer);
}

static bool retry_equal(const struct wf_retry_policy *a, const struct wf_retry_policy *b)
{
    if (a->max_attempts != b->max_attempts || a->initial_backoff_ms != b->initial_backoff_ms ||
        a->multiplier_permille != b->multiplier_permille ||
        a->max_backoff_ms != b->max_backoff_ms ||
        a->non_retryable_count != b->non_retryable_count) {
        return false;
    }
    for (uint32_t k = 0; k < a->non_retryable_count; k++) {
        if (strcmp(a->non_retryable[k], b->non_retryable[k]) != 0) {
            return false;
        }
    }
    return true;
}

static bool task_equal(const struct wf_task_def *a, const struct wf_task_def *b)
{
    if (strcmp(a->id, b->id) != 0 || strcmp(a->kind, b->kind) != 0 ||
        a->params_len != b->params_len || memcmp(a->params, b->params, a->params_len) != 0 ||
        a->dep_count != b->dep_count || a->lease_timeout_ms != b->lease_timeout_ms) {
        return false;
    }
    for (uint32_t j = 0; j < a->dep_count; j++) {
        if (a->deps[j] != b->deps[j]) {
            return false;
        }
    }
    return retry_equal(&a->retry, &b->retry);
}

bool wf_def_equal(const struct wf_def *a, const struct wf_def *b)
{
    assert(a != NULL);
    assert(b != NULL);
    if (strcmp(a->id, b->id) != 0 || a->task_count != b->task_count) {
        return false;
    }
    for (uint32_t t = 0; t < a->task_count; t++) {
        if (!task_equal(&a->tasks[t], &b->tasks[t])) {
            return false;
        }
    }
    return true;
}
