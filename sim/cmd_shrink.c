/* `flowraft shrink`: reproduce a failing run, minimise its schedule, write it and verify it. */
#include "sim/bugs.h"
#include "sim/cli.h"
#include "sim/cmd.h"
#include "sim/shrink.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SIM_CMD_SHRINK_SWEEP_SECONDS 60.0 /* per invariant shrunk by sweep --shrink */

static void sim_cmd_shrink_usage(FILE *out)
{
    fprintf(out,
            "usage: flowraft shrink SCENARIO --seed N [--bug NAME]... [-o FILE]\n"
            "                       [--runs-max N] [--time-budget S] [--same-nodes] [--quiet]\n"
            "       flowraft shrink --schedule FILE [SCENARIO] [--bug NAME]... [-o FILE] ...\n\n"
            "Reproduces a failing run (a seed, or a schedule recorded with `flowraft run\n"
            "--record`), then minimises its decisions while the SAME invariant still fails:\n"
            "whole concerns to 0, the tail after the failure to 0, chunks of decisions to 0\n"
            "(0 is the calm choice: no drop, no crash, no further fault), whole faults\n"
            "removed, faults made later, then each value toward 0. A step is kept only if the\n"
            "run gets smaller (fewer faults injected, then fewer non-calm decisions, then a\n"
            "shorter schedule, then smaller values), so the result is deterministic for a\n"
            "given input and --runs-max. Prints the sizes before and after (decisions,\n"
            "non-calm decisions, events, virtual time, faults injected), writes the minimal\n"
            "schedule, and verifies that it replays the failure exactly, both with\n"
            "`flowraft replay --schedule FILE --lenient` and strictly.\n\n"
            "  -s, --seed N          the failing run's seed\n"
            "      --schedule FILE   start from a recorded (or edited) schedule instead\n"
            "  -o, --output FILE     where the minimal schedule goes (default:\n"
            "                        shrunk-SCENARIO-SEED.sched)\n"
            "      --runs-max N      simulations at most (default %u)\n"
            "      --time-budget S   stop shrinking after S seconds (the result then depends on\n"
            "                        the machine's speed)\n"
            "      --same-nodes      also keep the nodes the violation names\n"
            "      --keep CONCERNS   never edit these concerns' decisions (comma-separated;\n"
            "                        e.g. node.seed,clock keeps every node's own timeouts and\n"
            "                        clock phase: zeroed, all nodes time out in lock step)\n"
            "      --bug NAME        the deliberately broken variant the run used (see run)\n"
            "  -q, --quiet           no progress lines\n"
            "exit status: 0 shrunk and verified, 1 the run does not fail (nothing to shrink) or\n"
            "the shrunk schedule did not replay the failure, 2 usage or input error\n",
            SIM_SHRINK_RUNS_DEFAULT);
}

struct sim_cmd_shrink_args {
    struct sim_run_options run; /* bugs */
    const char *scenario_path;
    const char *schedule_path;
    const char *output;
    uint64_t seed;
    int seed_given;
    uint64_t runs_max;
    double time_budget;
    int same_nodes;
    uint32_t keep_mask;
    int quiet;
};

static int sim_cmd_shrink_parse(int argc, char **argv, struct sim_cmd_shrink_args *a)
{
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "seed", required_argument, NULL, 's' },
        { "schedule", required_argument, NULL, 'S' },
        { "output", required_argument, NULL, 'o' },
        { "runs-max", required_argument, NULL, 'R' },
        { "time-budget", required_argument, NULL, 'T' },
        { "same-nodes", no_argument, NULL, 'N' },
        { "keep", required_argument, NULL, 'K' },
        { "bug", required_argument, NULL, 'B' },
        { "quiet", no_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "hs:o:q", options, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'h':
            sim_cmd_shrink_usage(stdout);
            return 1;
        case 's':
            if (sim_cmd_parse_seed(optarg, &a->seed) != 0) {
                fprintf(stderr,
                        "flowraft shrink: --seed: expected an unsigned 64-bit number, "
                        "got '%s'\n",
                        optarg);
                return -1;
            }
            a->seed_given = 1;
            break;
        case 'S':
            a->schedule_path = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'R':
            if (sim_cmd_parse_seed(optarg, &a->runs_max) != 0 || a->runs_max == 0) {
                fprintf(stderr, "flowraft shrink: --runs-max: expected a number > 0, got '%s'\n",
                        optarg);
                return -1;
            }
            break;
        case 'T':
            errno = 0;
            a->time_budget = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(a->time_budget > 0)) {
                fprintf(stderr, "flowraft shrink: --time-budget: expected seconds > 0, got '%s'\n",
                        optarg);
                return -1;
            }
            break;
        case 'N':
            a->same_nodes = 1;
            break;
        case 'K':
            if (sim_cmd_parse_concerns(optarg, &a->keep_mask) != 0) {
                fprintf(stderr, "flowraft shrink: --keep: unknown concern in '%s'\n", optarg);
                return -1;
            }
            break;
        case 'B':
            if (sim_cmd_parse_bug(optarg, &a->run) != 0) {
                return -1;
            }
            break;
        case 'q':
            a->quiet = 1;
            break;
        default:
            sim_cmd_shrink_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        a->scenario_path = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "flowraft shrink: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (a->schedule_path != NULL && a->seed_given) {
        fprintf(stderr, "flowraft shrink: give --seed or --schedule, not both\n");
        return -1;
    }
    if (a->schedule_path == NULL && (a->scenario_path == NULL || !a->seed_given)) {
        fprintf(stderr, "flowraft shrink: give SCENARIO --seed N, or --schedule FILE "
                        "(see flowraft shrink --help)\n");
        return -1;
    }
    return 0;
}

int sim_cmd_parse_concerns(const char *text, uint32_t *mask)
{
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", text);
    uint32_t bits = 0;
    char *save = NULL;
    for (char *word = strtok_r(copy, ",", &save); word != NULL; word = strtok_r(NULL, ",", &save)) {
        int concern = sim_concern_from_name(word);
        if (concern >= 0) {
            bits |= 1u << concern;
        } else if (strcmp(word, "none") != 0) {
            return -1;
        }
    }
    *mask = bits;
    return 0;
}

static void sim_cmd_shrink_print_size(const char *label, const struct sim_shrink_size *size,
                                      const struct report_run *run, FILE *out)
{
    fprintf(out,
            "%-11s %" PRIu64 " decisions (%" PRIu64 " non-calm), %" PRIu64
            " events, %.6f virtual s, %" PRIu64 " faults",
            label, size->decisions, size->non_calm, size->events,
            (double)size->virtual_time_us / 1e6, size->faults);
    const char *separator = " (";
    for (size_t i = 0; i < SIM_SHRINK_FAULT_COUNTERS; i++) {
        uint64_t count = report_run_counter(run, sim_shrink_fault_counters[i]);
        if (count > 0) {
            fprintf(out, "%s%s %" PRIu64, separator, sim_shrink_fault_counters[i], count);
            separator = ", ";
        }
    }
    fprintf(out, "%s\n", size->faults > 0 ? ")" : "");
}

/* Replays the written schedule leniently and strictly: each must fail with the same invariant
 * and the same trace hash as the shrinker's own run. Returns 0 if both do. */
static int sim_cmd_shrink_verify(const struct sim_scenario *scenario,
                                 const struct sim_run_options *bugs, const char *path,
                                 const struct sim_shrink_result *r, FILE *out)
{
    static struct report_run replayed;
    int ok = 1;
    for (int lenient = 1; lenient >= 0; lenient--) {
        struct sim_run_options o = {
            .scenario = scenario,
            .replay_path = path,
            .replay_lenient = lenient,
            .raft_test_bugs = bugs->raft_test_bugs,
            .sim_bugs = bugs->sim_bugs,
        };
        sim_run(&o, &replayed);
        int same = replayed.verdict == REPORT_VIOLATION &&
                   strcmp(replayed.invariant, r->invariant) == 0 &&
                   replayed.trace_hash == r->final_run.trace_hash;
        fprintf(out, "verified    %s replay: %s%s%s, trace hash %016" PRIx64 " (%s)\n",
                lenient ? "lenient" : "strict", report_verdict_name(replayed.verdict),
                replayed.invariant[0] ? " " : "", replayed.invariant, replayed.trace_hash,
                same ? "the same failure" : "DIFFERENT from the shrunk run");
        ok &= same;
    }
    if (ok) {
        fprintf(out, "result      VIOLATION: %s\n%s", replayed.invariant, replayed.detail);
    }
    return ok ? 0 : -1;
}

/* Loads the scenario and the starting point (a seed or a schedule) into `o`. */
static int sim_cmd_shrink_setup(struct sim_cmd_shrink_args *a, struct sim_scenario *scenario,
                                struct sim_shrink_options *o, struct sim_decision **decisions)
{
    char scenario_path[256];
    if (a->schedule_path != NULL) {
        struct sim_schedule_header header;
        size_t count = 0;
        char error[512];
        if (sim_schedule_load(a->schedule_path, &header, decisions, &count,
                              SIM_SCHEDULE_DECISIONS_MAX, error, sizeof(error)) != 0) {
            fprintf(stderr, "flowraft shrink: %s\n", error);
            return -1;
        }
        if (a->scenario_path == NULL) {
            if (header.scenario[0] == '\0') {
                fprintf(stderr, "flowraft shrink: %s names no scenario; give one\n",
                        a->schedule_path);
                return -1;
            }
            snprintf(scenario_path, sizeof(scenario_path), "%s", header.scenario);
            a->scenario_path = scenario_path;
        }
        a->seed = header.seed;
        o->initial = *decisions;
        o->initial_count = count;
    }
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    if (sim_scenario_load(a->scenario_path, scenario, error, sizeof(error)) != 0) {
        fprintf(stderr, "flowraft shrink: %s\n", error);
        return -1;
    }
    o->scenario = scenario;
    o->seed = a->seed;
    o->raft_test_bugs = a->run.raft_test_bugs;
    o->sim_bugs = a->run.sim_bugs;
    o->same_nodes = a->same_nodes;
    o->keep_mask = a->keep_mask;
    o->runs_max = a->runs_max;
    o->time_budget_seconds = a->time_budget;
    o->progress = a->quiet ? NULL : stdout;
    return 0;
}

/* Writes and verifies the result. Returns an exit code. */
static int sim_cmd_shrink_finish(const struct sim_cmd_shrink_args *a,
                                 const struct sim_scenario *scenario, struct sim_shrink_result *r,
                                 const char *output)
{
    sim_cmd_shrink_print_size("shrunk", &r->after, &r->final_run, stdout);
    printf("effort      %" PRIu64 " runs, %" PRIu64 " accepted, %.2f s%s\n", r->runs, r->accepted,
           r->wall_seconds,
           r->budget_reached ? " (budget reached: smaller may exist)" : " (a fixed point)");
    struct sim_schedule_header header = { .seed = a->seed };
    snprintf(header.scenario, sizeof(header.scenario), "%s", scenario->path);
    char comment[512];
    snprintf(comment, sizeof(comment),
             "shrunk by flowraft shrink: fails with %s; %zu decisions, %" PRIu64
             " non-calm (from %" PRIu64 " and %" PRIu64 ")",
             r->invariant, r->count, r->after.non_calm, r->before.decisions, r->before.non_calm);
    char error[512];
    if (sim_schedule_save(output, &header, comment, r->decisions, r->count, error, sizeof(error)) !=
        0) {
        fprintf(stderr, "flowraft shrink: %s\n", error);
        return SIM_EXIT_USAGE;
    }
    printf("schedule    %s\n", output);
    if (sim_cmd_shrink_verify(scenario, &a->run, output, r, stdout) != 0) {
        fprintf(stderr, "flowraft shrink: the shrunk schedule %s does not replay the failure\n",
                output);
        return SIM_EXIT_CHECK_FAILED;
    }
    char bugs[256];
    sim_bug_words(a->run.raft_test_bugs, a->run.sim_bugs, bugs, sizeof(bugs));
    printf("reproduce   flowraft replay --schedule %s%s\n", output, bugs);
    return SIM_EXIT_OK;
}

int sim_cmd_shrink(int argc, char **argv)
{
    struct sim_cmd_shrink_args a;
    memset(&a, 0, sizeof(a));
    int rc = sim_cmd_shrink_parse(argc, argv, &a);
    if (rc != 0) {
        return rc > 0 ? SIM_EXIT_OK : SIM_EXIT_USAGE;
    }
    static struct sim_scenario scenario;
    static struct sim_shrink_options o;
    static struct sim_shrink_result r;
    struct sim_decision *decisions = NULL;
    int status = SIM_EXIT_USAGE;
    if (sim_cmd_shrink_setup(&a, &scenario, &o, &decisions) != 0) {
        goto out;
    }
    printf("scenario    %s (%s), seed %" PRIu64 "\n", scenario.name, scenario.description, a.seed);
    if (sim_shrink(&o, &r) != 0) {
        fprintf(stderr, "flowraft shrink: a run could not be carried out: %s\n",
                r.final_run.detail);
        goto out;
    }
    if (!r.reproduced) {
        printf("result      %s: the run does not fail, nothing to shrink\n",
               report_verdict_name(r.final_run.verdict));
        status = SIM_EXIT_CHECK_FAILED;
        goto out;
    }
    sim_cmd_shrink_print_size("original", &r.before, &r.original_run, stdout);
    char output[512];
    if (a.output != NULL) {
        snprintf(output, sizeof(output), "%s", a.output);
    } else {
        snprintf(output, sizeof(output), "shrunk-%s-%" PRIu64 ".sched", scenario.name, a.seed);
    }
    status = sim_cmd_shrink_finish(&a, &scenario, &r, output);
out:
    sim_shrink_result_free(&r);
    free(decisions);
    return status;
}

int sim_cmd_shrink_sweep(const struct report_sweep *sweep, const struct sim_scenario *scenarios,
                         uint32_t scenario_count, const struct sim_run_options *bugs,
                         const char *dir)
{
    struct report_group groups[REPORT_GROUPS_MAX];
    size_t count = report_sweep_groups(sweep, groups, REPORT_GROUPS_MAX);
    char words[256];
    sim_bug_words(bugs->raft_test_bugs, bugs->sim_bugs, words, sizeof(words));
    int rc = 0;
    for (size_t g = 0; g < count; g++) {
        const struct report_run *failure = &sweep->failures[groups[g].first];
        const struct sim_scenario *scenario = NULL;
        for (uint32_t i = 0; i < scenario_count && scenario == NULL; i++) {
            if (strcmp(scenarios[i].path, failure->scenario_path) == 0) {
                scenario = &scenarios[i];
            }
        }
        if (failure->verdict != REPORT_VIOLATION || scenario == NULL) {
            printf("shrink      %s: %s seed %" PRIu64 " is a %s, not a violation: not shrunk\n",
                   groups[g].invariant, failure->scenario, failure->seed,
                   report_verdict_name(failure->verdict));
            continue;
        }
        struct sim_shrink_options o = {
            .scenario = scenario,
            .seed = failure->seed,
            .raft_test_bugs = bugs->raft_test_bugs,
            .sim_bugs = bugs->sim_bugs,
            .time_budget_seconds = SIM_CMD_SHRINK_SWEEP_SECONDS,
        };
        static struct sim_shrink_result r;
        char path[1024];
        snprintf(path, sizeof(path), "%s%sshrunk-%s-%" PRIu64 ".sched", dir != NULL ? dir : "",
                 dir != NULL ? "/" : "", scenario->name, failure->seed);
        struct sim_schedule_header header = { .seed = failure->seed };
        snprintf(header.scenario, sizeof(header.scenario), "%s", scenario->path);
        char error[512];
        if (sim_shrink(&o, &r) != 0 || !r.reproduced) {
            printf("shrink      %s: %s seed %" PRIu64 " did not fail again in this process\n",
                   groups[g].invariant, scenario->name, failure->seed);
            rc = -1;
        } else if (sim_schedule_save(path, &header, "shrunk by flowraft sweep --shrink",
                                     r.decisions, r.count, error, sizeof(error)) != 0) {
            fprintf(stderr, "flowraft sweep: %s\n", error);
            rc = -1;
        } else {
            printf("shrunk      %s: %s seed %" PRIu64 ": %" PRIu64 " decisions (%" PRIu64
                   " non-calm), %" PRIu64 " events, from %" PRIu64 " (%" PRIu64
                   " non-calm), %" PRIu64 " events\n"
                   "            flowraft replay --schedule %s%s\n",
                   r.invariant, scenario->name, failure->seed, r.after.decisions, r.after.non_calm,
                   r.after.events, r.before.decisions, r.before.non_calm, r.before.events, path,
                   words);
        }
        sim_shrink_result_free(&r);
    }
    return rc;
}
