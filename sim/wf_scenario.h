/* The [workflows] and [workers] sections of a scenario: what is submitted, how workers behave. */
#ifndef FLOWRAFT_SIM_WF_SCENARIO_H
#define FLOWRAFT_SIM_WF_SCENARIO_H

#include "sim/dist.h"
#include "workflows/wf_command.h"
#include "workflows/wf_def.h"
#include "workflows/wf_limits.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Documented in scenarios/README.md. A scenario without `submit` lines has no workflow plane:
 * nothing here runs and no workflow counter is reported. Definitions are JSON files (paths
 * relative to the scenario file), loaded and validated when the scenario is loaded, so a bad
 * definition is an input error naming the scenario line and the definition's field.
 */

#define SIM_WF_DEFINITIONS_MAX 8u   /* distinct definition files per scenario */
#define SIM_WF_SUBMITS_MAX     16u  /* `submit` lines */
#define SIM_WF_CONTROLS_MAX    16u  /* `control` lines */
#define SIM_WF_SCRIPTS_MAX     32u  /* `script` lines */
#define SIM_WF_INSTANCES_MAX   256u /* workflows submitted per run (all `submit` counts) */
#define SIM_WF_WORKERS_MAX     32u  /* [workers] count */
#define SIM_WF_PATH_BYTES_MAX  256u

/* `submit = AT PATH [x COUNT] [every INTERVAL] [as ID]`: COUNT workflows of one definition. */
struct sim_wf_submit {
    uint64_t at_us;
    uint32_t count;               /* invariant: >= 1 */
    uint64_t every_us;            /* between two submissions of the line */
    uint32_t definition;          /* index into sim_wf_scenario.definitions */
    char as[WF_ID_BYTES_MAX + 1]; /* base id ("" = the definition's id); COUNT > 1 adds -1, -2.. */
    uint32_t line;
};

/* `control = AT pause|resume|cancel WORKFLOW_ID` */
struct sim_wf_control {
    uint64_t at_us;
    enum wf_command_type type; /* WF_CMD_PAUSE, WF_CMD_RESUME or WF_CMD_CANCEL */
    char workflow_id[WF_ID_BYTES_MAX + 1];
    uint32_t line;
};

/* What a worker does with one attempt. */
enum sim_wf_action {
    SIM_WF_ACT_COMPLETE,     /* execute the effect, report completed */
    SIM_WF_ACT_FAIL,         /* report failed (error kind from the script, else "transient") */
    SIM_WF_ACT_CRASH,        /* the worker crashes mid-task, before the effect */
    SIM_WF_ACT_CRASH_EFFECT, /* the worker crashes right after executing the effect */
    SIM_WF_ACT_LATE,         /* the worker stalls past its lease, then executes and reports */
    SIM_WF_ACT_TWICE,        /* execute once, report completed twice */
    SIM_WF_ACT_COUNT,
};

/* `script = [WORKFLOW/]TASK ATTEMPT ACTION [ERROR_KIND]`: overrides the random fate. */
struct sim_wf_script {
    char workflow_id[WF_ID_BYTES_MAX + 1]; /* "" = any workflow */
    char task_id[WF_ID_BYTES_MAX + 1];
    uint32_t attempt; /* 1-based */
    enum sim_wf_action action;
    char error_kind[WF_ERROR_KIND_BYTES_MAX + 1]; /* fail: "" = "transient" */
    uint32_t line;
};

struct sim_wf_scenario {
    /* [workflows] */
    uint32_t definition_count;
    char definitions[SIM_WF_DEFINITIONS_MAX][SIM_WF_PATH_BYTES_MAX]; /* resolved paths */
    char definition_ids[SIM_WF_DEFINITIONS_MAX][WF_ID_BYTES_MAX + 1];
    uint32_t submit_count;
    struct sim_wf_submit submits[SIM_WF_SUBMITS_MAX];
    uint32_t instance_count; /* sum of the submits' counts; invariant: <= SIM_WF_INSTANCES_MAX */
    uint32_t control_count;
    struct sim_wf_control controls[SIM_WF_CONTROLS_MAX];
    uint32_t workflows_max; /* cluster-wide: every replica's workflow engine holds this many runs;
                               0 in the file's defaults: the workflows it submits (at least 1) */
    uint64_t grace_us;      /* a new leader's grace before it expires any lease */
    uint64_t settle_us;     /* after the faulty phase: every workflow ends within this */
    int expect_completed;   /* `expect = completed`: every workflow not cancelled completes */
    uint32_t expect_line;
    uint64_t request_timeout_us; /* submitters and workers resend after this */

    /* [workers] */
    uint32_t workers;
    struct sim_dist duration; /* how long an attempt runs */
    struct sim_dist restart;  /* how long a crashed worker stays down */
    double fail;              /* per attempt, during the faulty phase */
    double crash;
    double late;
    double twice;
    uint64_t late_by_us; /* a late report arrives this long after the lease deadline */
    int extend;          /* workers extend their lease every lease_timeout / 3 while running */
    uint32_t script_count;
    struct sim_wf_script scripts[SIM_WF_SCRIPTS_MAX];
};

void sim_wf_scenario_defaults(struct sim_wf_scenario *wf);

/*
 * The single-valued keys (workflows_max, grace, duration, fail, ...) are rows of scenario.c's key
 * table; this file parses the others: [workflows] submit, control, expect and [workers] script.
 * True if (section, name) is one of those.
 */
int sim_wf_scenario_owns(const char *section, const char *name);

/* Parses one of them. `file` is the scenario's path (definition paths are relative to its
 * directory). Returns 0, or -1 with "[section] key: problem" in `problem`. */
int sim_wf_scenario_key(struct sim_wf_scenario *wf, const char *file, uint32_t line,
                        const char *section, const char *name, const char *value, char *problem,
                        size_t size);

/* Cross-checks after the whole file: submissions within the run's duration, scripts naming tasks
 * of some definition, controls naming submitted workflows; then fills workflows_max if it was not
 * given. Returns 0, or -1 with the line in *line and the problem. */
int sim_wf_scenario_validate(struct sim_wf_scenario *wf, uint64_t duration_us, uint32_t *line,
                             char *problem, size_t size);

/* Prints the effective settings (nothing when no workflow is submitted). */
void sim_wf_scenario_print(const struct sim_wf_scenario *wf, FILE *out);

/* Reads and validates a definition file. Returns 0, or -1 with "PATH: problem" in `error`. */
int sim_wf_definition_load(const char *path, struct wf_def *def, char *error, size_t size);

/* The id of the n-th (0-based) workflow of `submit`, whose definition has id `def_id`. */
void sim_wf_instance_id(const struct sim_wf_submit *submit, const char *def_id, uint32_t n,
                        char out[WF_ID_BYTES_MAX + 1]);

const char *sim_wf_action_name(enum sim_wf_action action);

#endif
