/* Parsing of JSON workflow definitions (jansson) into the canonical struct wf_def. */
#include "workflows/wf_def.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Length of a field path such as "tasks[63].retry.non_retryable[7]", NUL included. */
#define PATH_BYTES_MAX 96

static const char *const workflow_fields[] = { "id", "description", "defaults", "tasks", NULL };
static const char *const defaults_fields[] = { "retry", "lease_timeout_ms", NULL };
static const char *const task_fields[] = {
    "id", "description", "kind", "params", "deps", "retry", "lease_timeout_ms", NULL,
};
static const char *const retry_fields[] = {
    "max_attempts", "initial_backoff_ms", "multiplier", "max_backoff_ms", "non_retryable", NULL,
};

static bool check_object(const json_t *value, const char *path, const char *const *allowed,
                         struct wf_error *error)
{
    assert(path != NULL);
    assert(allowed != NULL);
    if (!json_is_object(value)) {
        wf_error_set(error, "%s: must be a JSON object", path);
        return false;
    }
    const char *key;
    json_t *member;
    json_object_foreach((json_t *)value, key, member)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++) {
            known = strcmp(allowed[i], key) == 0;
        }
        if (!known) {
            wf_error_set(error, "%s%s%.64s: unknown field", path, path[0] ? "." : "", key);
            return false;
        }
    }
    return true;
}

/* Joins "path" and "field" into out ("tasks[1]" + "kind" -> "tasks[1].kind"). */
static const char *join(char *out, const char *path, const char *field)
{
    int written = snprintf(out, PATH_BYTES_MAX, "%s%s%s", path, path[0] ? "." : "", field);
    assert(written > 0 && written < PATH_BYTES_MAX); /* paths are short by construction */
    return out;
}

/* Reads an optional integer member into *out, requiring min <= value <= max. */
static bool get_uint(const json_t *object, const char *path, const char *field, uint64_t min,
                     uint64_t max, uint64_t *out, struct wf_error *error)
{
    assert(min <= max);
    assert(out != NULL);
    char at[PATH_BYTES_MAX];
    const json_t *value = json_object_get(object, field);
    if (value == NULL) {
        return true;
    }
    if (!json_is_integer(value)) {
        wf_error_set(error, "%s: must be an integer", join(at, path, field));
        return false;
    }
    json_int_t n = json_integer_value(value);
    if (n < 0 || (uint64_t)n < min || (uint64_t)n > max) {
        wf_error_set(error, "%s: must be between %llu and %llu (got %lld)", join(at, path, field),
                     (unsigned long long)min, (unsigned long long)max, (long long)n);
        return false;
    }
    *out = (uint64_t)n;
    return true;
}

/* Reads a required name-like string member (id, kind) into out (capacity len_max + 1). */
static bool get_name(const json_t *object, const char *path, const char *field, size_t len_max,
                     char *out, struct wf_error *error)
{
    assert(len_max <= WF_ID_BYTES_MAX);
    char at[PATH_BYTES_MAX];
    const json_t *value = json_object_get(object, field);
    if (value == NULL) {
        wf_error_set(error, "%s: required", join(at, path, field));
        return false;
    }
    if (!json_is_string(value) ||
        !wf_name_valid(json_string_value(value), json_string_length(value), len_max)) {
        wf_error_set(error, "%s: must be a string of 1..%zu characters of [A-Za-z0-9_.-]",
                     join(at, path, field), len_max);
        return false;
    }
    memcpy(out, json_string_value(value), json_string_length(value) + 1);
    return true;
}

static bool get_multiplier(const json_t *retry, const char *path, uint32_t *out,
                           struct wf_error *error)
{
    char at[PATH_BYTES_MAX];
    const json_t *value = json_object_get(retry, "multiplier");
    if (value == NULL) {
        return true;
    }
    if (!json_is_number(value)) {
        wf_error_set(error, "%s: must be a number", join(at, path, "multiplier"));
        return false;
    }
    double m = json_number_value(value);
    if (!(m >= 1.0 && m <= 100.0)) {
        wf_error_set(error, "%s: must be between 1.0 and 100.0", join(at, path, "multiplier"));
        return false;
    }
    *out = (uint32_t)(m * 1000.0 + 0.5); /* permille, rounded: decided once, on the client */
    return true;
}

static void sort_kinds(struct wf_retry_policy *retry)
{
    for (uint32_t i = 1; i < retry->non_retryable_count; i++) {
        for (uint32_t j = i; j > 0; j--) {
            char *a = retry->non_retryable[j - 1];
            char *b = retry->non_retryable[j];
            if (strcmp(a, b) <= 0) {
                break;
            }
            char swap[WF_ERROR_KIND_BYTES_MAX + 1];
            memcpy(swap, a, sizeof(swap));
            memcpy(a, b, sizeof(swap));
            memcpy(b, swap, sizeof(swap));
        }
    }
}

static bool get_non_retryable(const json_t *retry_json, const char *path,
                              struct wf_retry_policy *retry, struct wf_error *error)
{
    char at[PATH_BYTES_MAX];
    const json_t *list = json_object_get(retry_json, "non_retryable");
    if (list == NULL) {
        return true;
    }
    join(at, path, "non_retryable");
    if (!json_is_array(list)) {
        wf_error_set(error, "%s: must be an array of error kinds", at);
        return false;
    }
    if (json_array_size(list) > WF_NON_RETRYABLE_MAX) {
        wf_error_set(error, "%s: at most %d error kinds (got %zu)", at, WF_NON_RETRYABLE_MAX,
                     json_array_size(list));
        return false;
    }
    retry->non_retryable_count = 0;
    for (size_t k = 0; k < json_array_size(list); k++) {
        const json_t *kind = json_array_get(list, k);
        if (!json_is_string(kind) ||
            !wf_name_valid(json_string_value(kind), json_string_length(kind),
                           WF_ERROR_KIND_BYTES_MAX)) {
            wf_error_set(error, "%s[%zu]: must be a string of 1..%d characters of [A-Za-z0-9_.-]",
                         at, k, WF_ERROR_KIND_BYTES_MAX);
            return false;
        }
        for (uint32_t seen = 0; seen < retry->non_retryable_count; seen++) {
            if (strcmp(retry->non_retryable[seen], json_string_value(kind)) == 0) {
                wf_error_set(error, "%s[%zu]: duplicate error kind '%s'", at, k,
                             json_string_value(kind));
                return false;
            }
        }
        memcpy(retry->non_retryable[retry->non_retryable_count++], json_string_value(kind),
               json_string_length(kind) + 1);
    }
    sort_kinds(retry);
    return true;
}

/* Overlays the fields present in a "retry" object on *retry (which holds the defaults). */
static bool parse_retry(const json_t *parent, const char *parent_path,
                        struct wf_retry_policy *retry, struct wf_error *error)
{
    char path[PATH_BYTES_MAX];
    const json_t *value = json_object_get(parent, "retry");
    if (value == NULL) {
        return true;
    }
    join(path, parent_path, "retry");
    if (!check_object(value, path, retry_fields, error)) {
        return false;
    }
    uint64_t max_attempts = retry->max_attempts;
    if (!get_uint(value, path, "max_attempts", 1, WF_ATTEMPTS_MAX, &max_attempts, error) ||
        !get_uint(value, path, "initial_backoff_ms", 0, WF_DURATION_MS_MAX,
                  &retry->initial_backoff_ms, error) ||
        !get_uint(value, path, "max_backoff_ms", 0, WF_DURATION_MS_MAX, &retry->max_backoff_ms,
                  error) ||
        !get_multiplier(value, path, &retry->multiplier_permille, error) ||
        !get_non_retryable(value, path, retry, error)) {
        return false;
    }
    retry->max_attempts = (uint32_t)max_attempts;
    if (retry->initial_backoff_ms > retry->max_backoff_ms) {
        wf_error_set(error, "%s.initial_backoff_ms: must be <= max_backoff_ms (%llu)", path,
                     (unsigned long long)retry->max_backoff_ms);
        return false;
    }
    return true;
}

static bool parse_params(const json_t *task_json, const char *path, struct wf_task_def *task,
                         struct wf_error *error)
{
    char at[PATH_BYTES_MAX];
    const json_t *params = json_object_get(task_json, "params");
    if (params == NULL) {
        memcpy(task->params, "{}", 3);
        task->params_len = 2;
        return true;
    }
    join(at, path, "params");
    if (!json_is_object(params)) {
        wf_error_set(error, "%s: must be a JSON object", at);
        return false;
    }
    /* Canonical: compact, keys sorted, ASCII only, so equal params give equal bytes. */
    size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII;
    size_t len = json_dumpb(params, task->params, WF_PARAMS_BYTES_MAX, flags);
    if (len == 0 || len > WF_PARAMS_BYTES_MAX) {
        wf_error_set(error, "%s: %zu bytes as compact JSON, at most %d", at, len,
                     WF_PARAMS_BYTES_MAX);
        return false;
    }
    task->params[len] = '\0';
    task->params_len = (uint32_t)len;
    assert(strlen(task->params) == len); /* ASCII JSON has no NUL */
    return true;
}

static bool parse_deps(const json_t *task_json, const char *path, const struct wf_def *def,
                       uint32_t t, struct wf_task_def *task, struct wf_error *error)
{
    char at[PATH_BYTES_MAX];
    const json_t *deps = json_object_get(task_json, "deps");
    task->dep_count = 0;
    if (deps == NULL) {
        return true;
    }
    join(at, path, "deps");
    if (!json_is_array(deps)) {
        wf_error_set(error, "%s: must be an array of task ids", at);
        return false;
    }
    if (json_array_size(deps) > WF_DEPS_MAX) {
        wf_error_set(error, "%s: at most %d dependencies (got %zu)", at, WF_DEPS_MAX,
                     json_array_size(deps));
        return false;
    }
    for (size_t j = 0; j < json_array_size(deps); j++) {
        const json_t *dep = json_array_get(deps, j);
        const char *name = json_is_string(dep) ? json_string_value(dep) : NULL;
        int index = name != NULL ? wf_def_task_index(def, name) : -1;
        if (name == NULL) {
            wf_error_set(error, "%s[%zu]: must be a task id string", at, j);
            return false;
        }
        if (index < 0) {
            wf_error_set(error, "%s[%zu]: unknown task id '%.64s'", at, j, name);
            return false;
        }
        if ((uint32_t)index == t) {
            wf_error_set(error, "%s[%zu]: task '%s' depends on itself", at, j, name);
            return false;
        }
        for (uint32_t k = 0; k < task->dep_count; k++) {
            if (task->deps[k] == (uint16_t)index) {
                wf_error_set(error, "%s[%zu]: duplicate dependency '%s'", at, j, name);
                return false;
            }
        }
        /* Insertion into sorted position keeps deps canonical. */
        uint32_t k = task->dep_count++;
        while (k > 0 && task->deps[k - 1] > (uint16_t)index) {
            task->deps[k] = task->deps[k - 1];
            k--;
        }
        task->deps[k] = (uint16_t)index;
        assert(task->dep_count <= WF_DEPS_MAX);
    }
    return true;
}

/* Second pass over one task (ids of all tasks are known): everything but the id. */
static bool parse_task(const json_t *task_json, const char *path, const struct wf_def *def,
                       uint32_t t, const struct wf_task_def *defaults, struct wf_task_def *task,
                       struct wf_error *error)
{
    task->retry = defaults->retry;
    task->lease_timeout_ms = defaults->lease_timeout_ms;
    return get_name(task_json, path, "kind", WF_KIND_BYTES_MAX, task->kind, error) &&
           parse_params(task_json, path, task, error) &&
           parse_deps(task_json, path, def, t, task, error) &&
           parse_retry(task_json, path, &task->retry, error) &&
           get_uint(task_json, path, "lease_timeout_ms", 1, WF_DURATION_MS_MAX,
                    &task->lease_timeout_ms, error);
}

static bool parse_defaults(const json_t *root, struct wf_task_def *defaults, struct wf_error *error)
{
    defaults->retry = (struct wf_retry_policy){
        .max_attempts = WF_DEFAULT_MAX_ATTEMPTS,
        .initial_backoff_ms = WF_DEFAULT_INITIAL_BACKOFF_MS,
        .multiplier_permille = WF_DEFAULT_MULTIPLIER_PERMILLE,
        .max_backoff_ms = WF_DEFAULT_MAX_BACKOFF_MS,
    };
    defaults->lease_timeout_ms = WF_DEFAULT_LEASE_TIMEOUT_MS;
    const json_t *value = json_object_get(root, "defaults");
    if (value == NULL) {
        return true;
    }
    return check_object(value, "defaults", defaults_fields, error) &&
           parse_retry(value, "defaults", &defaults->retry, error) &&
           get_uint(value, "defaults", "lease_timeout_ms", 1, WF_DURATION_MS_MAX,
                    &defaults->lease_timeout_ms, error);
}

static bool parse_tasks(const json_t *root, struct wf_def *out, struct wf_error *error)
{
    char path[PATH_BYTES_MAX];
    const json_t *tasks = json_object_get(root, "tasks");
    if (tasks == NULL || !json_is_array(tasks)) {
        wf_error_set(error, "tasks: %s", tasks == NULL ? "required" : "must be an array");
        return false;
    }
    if (json_array_size(tasks) == 0 || json_array_size(tasks) > WF_TASKS_MAX) {
        wf_error_set(error, "tasks: must contain 1..%d tasks (got %zu)", WF_TASKS_MAX,
                     json_array_size(tasks));
        return false;
    }
    out->task_count = (uint32_t)json_array_size(tasks);
    for (uint32_t t = 0; t < out->task_count; t++) { /* first pass: ids, for deps to resolve */
        snprintf(path, sizeof(path), "tasks[%u]", t);
        const json_t *task = json_array_get(tasks, t);
        if (!check_object(task, path, task_fields, error) ||
            !get_name(task, path, "id", WF_ID_BYTES_MAX, out->tasks[t].id, error)) {
            return false;
        }
        int first = wf_def_task_index(out, out->tasks[t].id);
        if (first >= 0 && (uint32_t)first < t) {
            wf_error_set(error, "%s.id: duplicate task id '%s' (first at tasks[%d])", path,
                         out->tasks[t].id, first);
            return false;
        }
    }
    struct wf_task_def defaults;
    if (!parse_defaults(root, &defaults, error)) {
        return false;
    }
    for (uint32_t t = 0; t < out->task_count; t++) {
        snprintf(path, sizeof(path), "tasks[%u]", t);
        if (!parse_task(json_array_get(tasks, t), path, out, t, &defaults, &out->tasks[t], error)) {
            return false;
        }
    }
    return true;
}

static bool check_description(const json_t *object, const char *path, struct wf_error *error)
{
    char at[PATH_BYTES_MAX];
    const json_t *value = json_object_get(object, "description");
    if (value != NULL && !json_is_string(value)) {
        wf_error_set(error, "%s: must be a string", join(at, path, "description"));
        return false;
    }
    return true;
}

bool wf_def_from_json(const char *json, size_t len, struct wf_def *out, struct wf_error *error)
{
    assert(json != NULL || len == 0);
    assert(out != NULL);
    bool ok = false;
    memset(out, 0, sizeof(*out));
    if (len > WF_DEF_JSON_BYTES_MAX) {
        wf_error_set(error, "definition: %zu bytes exceed the maximum %d", len,
                     WF_DEF_JSON_BYTES_MAX);
        return false;
    }
    json_error_t json_error;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &json_error);
    if (root == NULL) {
        wf_error_set(error, "definition: line %d, column %d: %s", json_error.line,
                     json_error.column, json_error.text);
        return false;
    }
    if (!json_is_object(root)) {
        wf_error_set(error, "definition: must be a JSON object");
        goto out_root;
    }
    if (!check_object(root, "", workflow_fields, error)) {
        goto out_root;
    }
    if (!get_name(root, "", "id", WF_ID_BYTES_MAX, out->id, error) ||
        !check_description(root, "", error) || !parse_tasks(root, out, error)) {
        goto out_root;
    }
    for (uint32_t t = 0; t < out->task_count; t++) {
        char path[PATH_BYTES_MAX];
        snprintf(path, sizeof(path), "tasks[%u]", t);
        if (!check_description(json_array_get(json_object_get(root, "tasks"), t), path, error)) {
            goto out_root;
        }
    }
    ok = wf_def_validate(out, error); /* the rules the binary form also checks, and cycles */
out_root:
    json_decref(root);
    return ok;
}
