/* Scenario keys of the workflow plane: submissions, controls, worker scripts, definition files. */
#include "sim/wf_scenario.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SIM_WF_WORDS_MAX  12
#define SIM_WF_LINE_BYTES 256 /* a value is at most a scenario line (198 characters) */

static const char *const sim_wf_action_names[SIM_WF_ACT_COUNT] = {
    [SIM_WF_ACT_COMPLETE] = "complete", [SIM_WF_ACT_FAIL] = "fail",
    [SIM_WF_ACT_CRASH] = "crash",       [SIM_WF_ACT_CRASH_EFFECT] = "crash-after-effect",
    [SIM_WF_ACT_LATE] = "late",         [SIM_WF_ACT_TWICE] = "twice",
};

const char *sim_wf_action_name(enum sim_wf_action action)
{
    assert(action < SIM_WF_ACT_COUNT);
    return sim_wf_action_names[action];
}

void sim_wf_scenario_defaults(struct sim_wf_scenario *wf)
{
    assert(wf != NULL);
    memset(wf, 0, sizeof(*wf));
    wf->workflows_max = 0; /* auto: sim_wf_scenario_validate */
    wf->grace_us = 1000000;
    wf->settle_us = 30000000;
    wf->request_timeout_us = 500000;
    wf->workers = 4;
    wf->duration = (struct sim_dist){ .kind = SIM_DIST_UNIFORM, .min_us = 50000, .max_us = 200000 };
    wf->restart =
        (struct sim_dist){ .kind = SIM_DIST_UNIFORM, .min_us = 200000, .max_us = 2000000 };
    wf->late_by_us = 1000000;
    wf->extend = 1;
}

int sim_wf_scenario_owns(const char *section, const char *name)
{
    if (strcmp(section, "workflows") == 0) {
        return strcmp(name, "submit") == 0 || strcmp(name, "control") == 0 ||
               strcmp(name, "expect") == 0;
    }
    return strcmp(section, "workers") == 0 && strcmp(name, "script") == 0;
}

static int sim_wf_problem(char *problem, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int sim_wf_problem(char *problem, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(problem, size, format, args);
    va_end(args);
    return -1;
}

/* Copies `value` into `copy` and splits it into words; -1 beyond SIM_WF_WORDS_MAX words. */
static int sim_wf_split(const char *value, char copy[SIM_WF_LINE_BYTES],
                        char *words[SIM_WF_WORDS_MAX])
{
    snprintf(copy, SIM_WF_LINE_BYTES, "%s", value);
    int count = 0;
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (count == SIM_WF_WORDS_MAX) {
            return -1;
        }
        words[count++] = w;
    }
    return count;
}

static int sim_wf_parse_count(const char *text, uint64_t max, uint64_t *out)
{
    if (*text < '0' || *text > '9') {
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 1 || value > max) {
        return -1;
    }
    *out = value;
    return 0;
}

int sim_wf_definition_load(const char *path, struct wf_def *def, char *error, size_t size)
{
    assert(path != NULL && def != NULL);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        snprintf(error, size, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(WF_DEF_JSON_BYTES_MAX + 1);
    if (text == NULL) {
        fclose(file);
        snprintf(error, size, "%s: out of memory", path);
        return -1;
    }
    size_t len = fread(text, 1, WF_DEF_JSON_BYTES_MAX + 1, file);
    int failed = ferror(file);
    fclose(file);
    int rc = 0;
    struct wf_error wf_error;
    if (failed) {
        snprintf(error, size, "%s: read error", path);
        rc = -1;
    } else if (len > WF_DEF_JSON_BYTES_MAX) {
        snprintf(error, size, "%s: longer than %d bytes", path, WF_DEF_JSON_BYTES_MAX);
        rc = -1;
    } else if (!wf_def_from_json(text, len, def, &wf_error)) {
        snprintf(error, size, "%s: %s", path, wf_error.text);
        rc = -1;
    }
    free(text);
    return rc;
}

void sim_wf_instance_id(const struct sim_wf_submit *submit, const char *def_id, uint32_t n,
                        char out[WF_ID_BYTES_MAX + 1])
{
    assert(n < submit->count);
    const char *base = submit->as[0] != '\0' ? submit->as : def_id;
    char id[2 * WF_ID_BYTES_MAX];
    if (submit->count == 1) {
        snprintf(id, sizeof(id), "%s", base);
    } else {
        snprintf(id, sizeof(id), "%s-%" PRIu32, base, n + 1);
    }
    size_t len = strlen(id);
    assert(len <= WF_ID_BYTES_MAX); /* the parser keeps room for the suffix */
    memcpy(out, id, len + 1);
}

/* Resolves PATH against the scenario file's directory and registers the definition. */
static int sim_wf_add_definition(struct sim_wf_scenario *wf, const char *file, const char *path,
                                 uint32_t *index, char *problem, size_t size)
{
    char resolved[SIM_WF_PATH_BYTES_MAX];
    const char *slash = strrchr(file, '/');
    int n = path[0] == '/' || slash == NULL
                ? snprintf(resolved, sizeof(resolved), "%s", path)
                : snprintf(resolved, sizeof(resolved), "%.*s/%s", (int)(slash - file), file, path);
    if (n < 0 || (size_t)n >= sizeof(resolved)) {
        return sim_wf_problem(problem, size, "[workflows] submit: path too long");
    }
    for (uint32_t i = 0; i < wf->definition_count; i++) {
        if (strcmp(wf->definitions[i], resolved) == 0) {
            *index = i;
            return 0;
        }
    }
    if (wf->definition_count == SIM_WF_DEFINITIONS_MAX) {
        return sim_wf_problem(problem, size, "[workflows] submit: more than %u definition files",
                              SIM_WF_DEFINITIONS_MAX);
    }
    struct wf_def *def = malloc(sizeof(*def));
    if (def == NULL) {
        return sim_wf_problem(problem, size, "[workflows] submit: out of memory");
    }
    char error[320];
    int rc = sim_wf_definition_load(resolved, def, error, sizeof(error));
    if (rc == 0) {
        *index = wf->definition_count;
        snprintf(wf->definitions[*index], SIM_WF_PATH_BYTES_MAX, "%s", resolved);
        memcpy(wf->definition_ids[*index], def->id, sizeof(wf->definition_ids[0]));
        wf->definition_count++;
    }
    free(def);
    if (rc != 0) {
        return sim_wf_problem(problem, size, "[workflows] submit: %s", error);
    }
    return 0;
}

/* The optional parts after "AT PATH": "x COUNT", "every INTERVAL", "as ID", in any order. */
static int sim_wf_submit_options(struct sim_wf_submit *s, char **words, int count, char *problem,
                                 size_t size)
{
    for (int i = 2; i < count; i += 2) {
        if (i + 1 >= count) {
            return sim_wf_problem(problem, size, "[workflows] submit: '%s' needs a value",
                                  words[i]);
        }
        uint64_t value = 0;
        if (strcmp(words[i], "x") == 0) {
            if (sim_wf_parse_count(words[i + 1], SIM_WF_INSTANCES_MAX, &value) != 0) {
                return sim_wf_problem(problem, size, "[workflows] submit: x %s: expected 1..%u",
                                      words[i + 1], SIM_WF_INSTANCES_MAX);
            }
            s->count = (uint32_t)value;
        } else if (strcmp(words[i], "every") == 0) {
            if (sim_parse_duration_us(words[i + 1], &s->every_us) != 0) {
                return sim_wf_problem(problem, size,
                                      "[workflows] submit: every %s: expected a "
                                      "duration like 200ms",
                                      words[i + 1]);
            }
        } else if (strcmp(words[i], "as") == 0) {
            if (!wf_name_valid(words[i + 1], strlen(words[i + 1]), WF_ID_BYTES_MAX - 4)) {
                return sim_wf_problem(problem, size,
                                      "[workflows] submit: as %s: expected an id of 1..%d "
                                      "characters [A-Za-z0-9_.-]",
                                      words[i + 1], WF_ID_BYTES_MAX - 4);
            }
            snprintf(s->as, sizeof(s->as), "%s", words[i + 1]);
        } else {
            return sim_wf_problem(problem, size,
                                  "[workflows] submit: unknown option '%s' (x COUNT, every "
                                  "INTERVAL, as ID)",
                                  words[i]);
        }
    }
    return 0;
}

static int sim_wf_parse_submit(struct sim_wf_scenario *wf, const char *file, uint32_t line,
                               const char *value, char *problem, size_t size)
{
    char copy[SIM_WF_LINE_BYTES];
    char *words[SIM_WF_WORDS_MAX];
    int count = sim_wf_split(value, copy, words);
    if (count < 2) {
        return sim_wf_problem(problem, size,
                              "[workflows] submit: expected 'AT PATH [x COUNT] "
                              "[every INTERVAL] [as ID]', got '%s'",
                              value);
    }
    if (wf->submit_count == SIM_WF_SUBMITS_MAX) {
        return sim_wf_problem(problem, size, "[workflows] submit: more than %u lines",
                              SIM_WF_SUBMITS_MAX);
    }
    struct sim_wf_submit s = { .count = 1, .line = line };
    if (sim_parse_duration_us(words[0], &s.at_us) != 0) {
        return sim_wf_problem(problem, size,
                              "[workflows] submit: bad time '%s' (use a unit: ms, "
                              "s, m)",
                              words[0]);
    }
    if (sim_wf_submit_options(&s, words, count, problem, size) != 0) {
        return -1;
    }
    if (wf->instance_count + s.count > SIM_WF_INSTANCES_MAX) {
        return sim_wf_problem(problem, size, "[workflows] submit: more than %u workflows in all",
                              SIM_WF_INSTANCES_MAX);
    }
    if (sim_wf_add_definition(wf, file, words[1], &s.definition, problem, size) != 0) {
        return -1;
    }
    const char *base = s.as[0] != '\0' ? s.as : wf->definition_ids[s.definition];
    if (s.count > 1 && strlen(base) > WF_ID_BYTES_MAX - 4) {
        return sim_wf_problem(problem, size,
                              "[workflows] submit: the id '%s' leaves no room for "
                              "the -N suffix of x %u",
                              base, s.count);
    }
    wf->submits[wf->submit_count++] = s;
    wf->instance_count += s.count;
    return 0;
}

static int sim_wf_parse_control(struct sim_wf_scenario *wf, uint32_t line, const char *value,
                                char *problem, size_t size)
{
    char copy[SIM_WF_LINE_BYTES];
    char *words[SIM_WF_WORDS_MAX];
    int count = sim_wf_split(value, copy, words);
    struct sim_wf_control c = { .line = line };
    if (count != 3 || sim_parse_duration_us(words[0], &c.at_us) != 0) {
        return sim_wf_problem(problem, size,
                              "[workflows] control: expected 'AT pause|resume|cancel "
                              "WORKFLOW_ID', got '%s'",
                              value);
    }
    if (strcmp(words[1], "pause") == 0) {
        c.type = WF_CMD_PAUSE;
    } else if (strcmp(words[1], "resume") == 0) {
        c.type = WF_CMD_RESUME;
    } else if (strcmp(words[1], "cancel") == 0) {
        c.type = WF_CMD_CANCEL;
    } else {
        return sim_wf_problem(problem, size,
                              "[workflows] control: unknown action '%s' (pause, "
                              "resume, cancel)",
                              words[1]);
    }
    if (!wf_name_valid(words[2], strlen(words[2]), WF_ID_BYTES_MAX)) {
        return sim_wf_problem(problem, size, "[workflows] control: '%s' is not a workflow id",
                              words[2]);
    }
    if (wf->control_count == SIM_WF_CONTROLS_MAX) {
        return sim_wf_problem(problem, size, "[workflows] control: more than %u lines",
                              SIM_WF_CONTROLS_MAX);
    }
    snprintf(c.workflow_id, sizeof(c.workflow_id), "%s", words[2]);
    wf->controls[wf->control_count++] = c;
    return 0;
}

static int sim_wf_parse_action(const char *word, enum sim_wf_action *out)
{
    for (int i = 0; i < SIM_WF_ACT_COUNT; i++) {
        if (strcmp(word, sim_wf_action_names[i]) == 0) {
            *out = (enum sim_wf_action)i;
            return 0;
        }
    }
    return -1;
}

static int sim_wf_parse_script(struct sim_wf_scenario *wf, uint32_t line, const char *value,
                               char *problem, size_t size)
{
    char copy[SIM_WF_LINE_BYTES];
    char *words[SIM_WF_WORDS_MAX];
    int count = sim_wf_split(value, copy, words);
    struct sim_wf_script s = { .line = line };
    uint64_t attempt = 0;
    if (count < 3 || count > 4 || sim_wf_parse_count(words[1], WF_ATTEMPTS_MAX, &attempt) != 0 ||
        sim_wf_parse_action(words[2], &s.action) != 0) {
        return sim_wf_problem(problem, size,
                              "[workers] script: expected '[WORKFLOW/]TASK ATTEMPT ACTION "
                              "[ERROR_KIND]' with ATTEMPT 1..%d and ACTION complete, fail, crash, "
                              "crash-after-effect, late or twice; got '%s'",
                              WF_ATTEMPTS_MAX, value);
    }
    s.attempt = (uint32_t)attempt;
    char *slash = strchr(words[0], '/');
    const char *task = slash != NULL ? slash + 1 : words[0];
    if (slash != NULL) {
        *slash = '\0';
        if (!wf_name_valid(words[0], strlen(words[0]), WF_ID_BYTES_MAX)) {
            return sim_wf_problem(problem, size, "[workers] script: '%s' is not a workflow id",
                                  words[0]);
        }
        snprintf(s.workflow_id, sizeof(s.workflow_id), "%s", words[0]);
    }
    if (!wf_name_valid(task, strlen(task), WF_ID_BYTES_MAX)) {
        return sim_wf_problem(problem, size, "[workers] script: '%s' is not a task id", task);
    }
    snprintf(s.task_id, sizeof(s.task_id), "%s", task);
    if (count == 4) {
        if (s.action != SIM_WF_ACT_FAIL ||
            !wf_name_valid(words[3], strlen(words[3]), WF_ERROR_KIND_BYTES_MAX)) {
            return sim_wf_problem(problem, size,
                                  "[workers] script: an error kind (a name of at "
                                  "most %d characters) follows only 'fail'",
                                  WF_ERROR_KIND_BYTES_MAX);
        }
        snprintf(s.error_kind, sizeof(s.error_kind), "%s", words[3]);
    }
    if (wf->script_count == SIM_WF_SCRIPTS_MAX) {
        return sim_wf_problem(problem, size, "[workers] script: more than %u lines",
                              SIM_WF_SCRIPTS_MAX);
    }
    wf->scripts[wf->script_count++] = s;
    return 0;
}

int sim_wf_scenario_key(struct sim_wf_scenario *wf, const char *file, uint32_t line,
                        const char *section, const char *name, const char *value, char *problem,
                        size_t size)
{
    assert(sim_wf_scenario_owns(section, name));
    if (strcmp(name, "submit") == 0) {
        return sim_wf_parse_submit(wf, file, line, value, problem, size);
    }
    if (strcmp(name, "control") == 0) {
        return sim_wf_parse_control(wf, line, value, problem, size);
    }
    if (strcmp(name, "script") == 0) {
        return sim_wf_parse_script(wf, line, value, problem, size);
    }
    if (wf->expect_line != 0) {
        return sim_wf_problem(problem, size, "[workflows] expect: already set on line %" PRIu32,
                              wf->expect_line);
    }
    if (strcmp(value, "completed") != 0 && strcmp(value, "terminal") != 0) {
        return sim_wf_problem(problem, size,
                              "[workflows] expect: expected completed or terminal, "
                              "got '%s'",
                              value);
    }
    wf->expect_line = line;
    wf->expect_completed = strcmp(value, "completed") == 0;
    return 0;
}

static int sim_wf_submitted(const struct sim_wf_scenario *wf, const char *id)
{
    for (uint32_t i = 0; i < wf->submit_count; i++) {
        const struct sim_wf_submit *s = &wf->submits[i];
        for (uint32_t n = 0; n < s->count; n++) {
            char instance[WF_ID_BYTES_MAX + 1];
            sim_wf_instance_id(s, wf->definition_ids[s->definition], n, instance);
            if (strcmp(instance, id) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* True if some definition of the scenario has a task `task_id`. */
static int sim_wf_task_known(const struct sim_wf_scenario *wf, const char *task_id,
                             struct wf_def *scratch)
{
    char error[320];
    for (uint32_t i = 0; i < wf->definition_count; i++) {
        if (sim_wf_definition_load(wf->definitions[i], scratch, error, sizeof(error)) == 0 &&
            wf_def_task_index(scratch, task_id) >= 0) {
            return 1;
        }
    }
    return 0;
}

static int sim_wf_validate_scripts(const struct sim_wf_scenario *wf, uint32_t *line, char *problem,
                                   size_t size)
{
    if (wf->script_count == 0) {
        return 0;
    }
    struct wf_def *scratch = malloc(sizeof(*scratch));
    if (scratch == NULL) {
        return sim_wf_problem(problem, size, "out of memory");
    }
    int rc = 0;
    for (uint32_t i = 0; i < wf->script_count && rc == 0; i++) {
        const struct sim_wf_script *s = &wf->scripts[i];
        if (!sim_wf_task_known(wf, s->task_id, scratch)) {
            *line = s->line;
            rc = sim_wf_problem(problem, size,
                                "[workers] script: no submitted definition has a "
                                "task '%s'",
                                s->task_id);
        } else if (s->workflow_id[0] != '\0' && !sim_wf_submitted(wf, s->workflow_id)) {
            *line = s->line;
            rc = sim_wf_problem(problem, size, "[workers] script: no workflow '%s' is submitted",
                                s->workflow_id);
        }
    }
    free(scratch);
    return rc;
}

int sim_wf_scenario_validate(struct sim_wf_scenario *wf, uint64_t duration_us, uint32_t *line,
                             char *problem, size_t size)
{
    assert(wf != NULL && line != NULL);
    if (wf->workflows_max == 0) {
        /* only what the scenario needs: every node start allocates the runs (wf_state.h) */
        wf->workflows_max = wf->instance_count > 0 ? wf->instance_count : 1;
    }
    for (uint32_t i = 0; i < wf->submit_count; i++) {
        const struct sim_wf_submit *s = &wf->submits[i];
        if (s->at_us + (uint64_t)(s->count - 1) * s->every_us >= duration_us) {
            *line = s->line;
            return sim_wf_problem(problem, size,
                                  "[workflows] submit: the last submission is not "
                                  "within the run's duration (%" PRIu64 "ms)",
                                  duration_us / 1000);
        }
    }
    for (uint32_t i = 0; i < wf->control_count; i++) {
        const struct sim_wf_control *c = &wf->controls[i];
        *line = c->line;
        if (c->at_us >= duration_us) {
            return sim_wf_problem(problem, size,
                                  "[workflows] control: at %" PRIu64 "ms is not "
                                  "within the run's duration",
                                  c->at_us / 1000);
        }
        if (!sim_wf_submitted(wf, c->workflow_id)) {
            return sim_wf_problem(problem, size,
                                  "[workflows] control: no workflow '%s' is "
                                  "submitted",
                                  c->workflow_id);
        }
    }
    if (wf->submit_count == 0 && (wf->control_count > 0 || wf->script_count > 0)) {
        *line = wf->control_count > 0 ? wf->controls[0].line : wf->scripts[0].line;
        return sim_wf_problem(problem, size,
                              "workflow controls and scripts need a [workflows] "
                              "submit line");
    }
    return sim_wf_validate_scripts(wf, line, problem, size);
}

void sim_wf_scenario_print(const struct sim_wf_scenario *wf, FILE *out)
{
    assert(wf != NULL);
    if (wf->submit_count == 0) {
        fprintf(out, "[workflows] none\n");
        return;
    }
    char dist[160];
    fprintf(out,
            "[workflows] workflows_max = %" PRIu32 ", grace = %" PRIu64 "us, settle = %" PRIu64
            "us, expect = %s, request_timeout = %" PRIu64 "us, %" PRIu32 " workflows\n",
            wf->workflows_max, wf->grace_us, wf->settle_us,
            wf->expect_completed ? "completed" : "terminal", wf->request_timeout_us,
            wf->instance_count);
    for (uint32_t i = 0; i < wf->submit_count; i++) {
        const struct sim_wf_submit *s = &wf->submits[i];
        fprintf(out,
                "[workflows] line %" PRIu32 ": at %" PRIu64 "us submit %s (%s) x %" PRIu32
                " every %" PRIu64 "us%s%s\n",
                s->line, s->at_us, wf->definitions[s->definition],
                wf->definition_ids[s->definition], s->count, s->every_us, s->as[0] ? " as " : "",
                s->as);
    }
    for (uint32_t i = 0; i < wf->control_count; i++) {
        const struct sim_wf_control *c = &wf->controls[i];
        fprintf(out, "[workflows] line %" PRIu32 ": at %" PRIu64 "us %s %s\n", c->line, c->at_us,
                wf_command_type_name(c->type), c->workflow_id);
    }
    sim_dist_format(&wf->duration, dist, sizeof(dist));
    fprintf(out,
            "[workers] count = %" PRIu32 ", duration = %s, fail = %g, crash = %g, late = %g, "
            "twice = %g, late_by = %" PRIu64 "us, extend = %s",
            wf->workers, dist, wf->fail, wf->crash, wf->late, wf->twice, wf->late_by_us,
            wf->extend ? "true" : "false");
    sim_dist_format(&wf->restart, dist, sizeof(dist));
    fprintf(out, ", restart = %s\n", dist);
    for (uint32_t i = 0; i < wf->script_count; i++) {
        const struct sim_wf_script *s = &wf->scripts[i];
        fprintf(out, "[workers] line %" PRIu32 ": %s%s%s attempt %" PRIu32 " %s%s%s\n", s->line,
                s->workflow_id, s->workflow_id[0] ? "/" : "", s->task_id, s->attempt,
                sim_wf_action_name(s->action), s->error_kind[0] ? " " : "", s->error_kind);
    }
}
