/* `flowraft run` and `flowraft replay`: one simulated run, its summary, its event log. */
#include "sim/cli.h"
#include "sim/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void sim_cmd_run_usage(FILE *out, int replay)
{
    if (!replay) {
        fprintf(out,
                "usage: flowraft run SCENARIO [--seed N] [--record FILE] [--bug NAME]...\n"
                "                    [--verbose [--node IDS] [--kind KINDS]]\n\n"
                "Runs SCENARIO once with seed N (default 1): the faulty phase, then the liveness\n"
                "phase, checking every Raft invariant after every event. Prints a summary with\n"
                "the trace hash; on a violation prints the invariant, nodes, term, index, event,\n"
                "virtual time, the last events and the command that reproduces it.\n\n");
    } else {
        fprintf(out,
                "usage: flowraft replay SCENARIO --seed N [--verbose] [--node IDS] [--kind KINDS]\n"
                "       flowraft replay --schedule FILE [SCENARIO] [--lenient] [--verbose] ...\n\n"
                "Reproduces a run exactly, from its seed or from a schedule recorded with\n"
                "`flowraft run --record FILE` (the scenario path is read from the schedule\n"
                "unless given). With --verbose every event is printed as it happens.\n\n");
    }
    fprintf(out, "  -s, --seed N         the run's 64-bit seed\n"
                 "  -r, --record FILE    write every decision of the run to a schedule file\n"
                 "      --schedule FILE  (replay) take every decision from a schedule file\n"
                 "      --lenient        (replay) accept an edited schedule: values are clamped,\n"
                 "                       mismatched decisions ignored, a short one padded with 0s\n"
                 "  -v, --verbose        print every event (ticks only with --kind tick)\n"
                 "  -n, --node IDS       with --verbose: only events of these nodes (e.g. 1,3)\n"
                 "  -k, --kind KINDS     with --verbose: only these kinds (comma-separated: tick,\n"
                 "                       deliver, sync, request, reply, client, timeout, fault,\n"
                 "                       scheduled, fault-end, phase, probe, deadline, workflow,\n"
                 "                       membership, or all)\n"
                 "      --workflow ID    with --verbose: workflow lines of this workflow only.\n"
                 "                       Every committed workflow transition and rejection is\n"
                 "                       printed as one structured line `[committed] wf ...`\n"
                 "                       (with --node, as each of those nodes applied it)\n"
                 "      --bug NAME       run a deliberately broken variant (double-vote,\n"
                 "                       commit-previous-term, ack-before-sync, ...; an\n"
                 "                       unknown name lists them all)\n"
                 "exit status: 0 pass, 1 violation, 2 usage or input error\n");
}

struct sim_cmd_run_args {
    struct sim_run_options options;
    const char *scenario_path;
    const char *schedule_path;
    int seed_given;
};

static int sim_cmd_run_parse(int argc, char **argv, int replay, struct sim_cmd_run_args *a)
{
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },           { "seed", required_argument, NULL, 's' },
        { "record", required_argument, NULL, 'r' },   { "schedule", required_argument, NULL, 'S' },
        { "lenient", no_argument, NULL, 'L' },        { "verbose", no_argument, NULL, 'v' },
        { "node", required_argument, NULL, 'n' },     { "kind", required_argument, NULL, 'k' },
        { "bug", required_argument, NULL, 'B' },      { "history", required_argument, NULL, 'H' },
        { "workflow", required_argument, NULL, 'W' }, { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "hs:r:vn:k:", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            sim_cmd_run_usage(stdout, replay);
            return 1;
        case 's':
            if (sim_cmd_parse_seed(optarg, &a->options.seed) != 0) {
                fprintf(stderr, "flowraft: --seed: expected an unsigned 64-bit number, got '%s'\n",
                        optarg);
                return -1;
            }
            a->seed_given = 1;
            break;
        case 'r':
            a->options.record_path = optarg;
            break;
        case 'S':
            a->schedule_path = optarg;
            break;
        case 'L':
            a->options.replay_lenient = 1;
            break;
        case 'v':
            a->options.log = stdout;
            break;
        case 'n':
            if (sim_cmd_parse_nodes(optarg, &a->options.log_nodes) != 0) {
                fprintf(stderr, "flowraft: --node: expected node ids like 1,3, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'k':
            if (sim_event_kinds_parse(optarg, &a->options.log_kinds) != 0) {
                fprintf(stderr, "flowraft: --kind: unknown event kind in '%s' (see --help)\n",
                        optarg);
                return -1;
            }
            break;
        case 'B':
            if (sim_cmd_parse_bug(optarg, &a->options) != 0) {
                return -1;
            }
            break;
        case 'H':
            a->options.history_path = optarg;
            break;
        case 'W':
            a->options.log_workflow = optarg;
            break;
        default:
            sim_cmd_run_usage(stderr, replay);
            return -1;
        }
    }
    if ((!replay && a->schedule_path != NULL) || (!replay && a->options.replay_lenient)) {
        fprintf(stderr, "flowraft run: --schedule and --lenient belong to `flowraft replay`\n");
        return -1;
    }
    if (optind < argc) {
        a->scenario_path = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "flowraft: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Replay from a schedule: the scenario path comes from its header unless given. */
static int sim_cmd_schedule_scenario(struct sim_cmd_run_args *a, char *path, size_t size)
{
    struct sim_chooser probe;
    struct sim_schedule_header header;
    if (sim_chooser_init_replay(&probe, a->schedule_path, 0, &header) != 0) {
        fprintf(stderr, "flowraft replay: %s\n", probe.error);
        sim_chooser_deinit(&probe);
        return -1;
    }
    sim_chooser_deinit(&probe);
    a->options.seed = header.seed;
    if (a->scenario_path == NULL) {
        if (header.scenario[0] == '\0') {
            fprintf(stderr, "flowraft replay: %s names no scenario; give one\n", a->schedule_path);
            return -1;
        }
        snprintf(path, size, "%s", header.scenario);
        a->scenario_path = path;
    }
    a->options.replay_path = a->schedule_path;
    return 0;
}

static int sim_cmd_run_common(int argc, char **argv, int replay)
{
    struct sim_cmd_run_args a;
    memset(&a, 0, sizeof(a));
    a.options.seed = 1;
    int rc = sim_cmd_run_parse(argc, argv, replay, &a);
    if (rc != 0) {
        return rc > 0 ? SIM_EXIT_OK : SIM_EXIT_USAGE;
    }
    char path[256];
    if (replay && a.schedule_path != NULL) {
        if (sim_cmd_schedule_scenario(&a, path, sizeof(path)) != 0) {
            return SIM_EXIT_USAGE;
        }
    } else if (replay && !a.seed_given) {
        fprintf(stderr, "flowraft replay: give --seed N or --schedule FILE\n");
        return SIM_EXIT_USAGE;
    }
    if (a.scenario_path == NULL) {
        sim_cmd_run_usage(stderr, replay);
        return SIM_EXIT_USAGE;
    }
    static struct sim_scenario scenario;
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    if (sim_scenario_load(a.scenario_path, &scenario, error, sizeof(error)) != 0) {
        fprintf(stderr, "flowraft: %s\n", error);
        return SIM_EXIT_USAGE;
    }
    a.options.scenario = &scenario;
    static struct report_run run;
    sim_run(&a.options, &run);
    if (a.options.log != NULL) {
        fflush(a.options.log);
    }
    sim_cmd_print_run(&run, &scenario, stdout);
    if (a.options.record_path != NULL && run.verdict != REPORT_ERROR) {
        printf("schedule    %s (replay: flowraft replay --schedule %s)\n", a.options.record_path,
               a.options.record_path);
    }
    return sim_cmd_exit_code(&run);
}

int sim_cmd_run(int argc, char **argv)
{
    return sim_cmd_run_common(argc, argv, 0);
}

int sim_cmd_replay(int argc, char **argv)
{
    return sim_cmd_run_common(argc, argv, 1);
}
