/* `flowraft check`: bounded exhaustive exploration of a small scenario's decisions. */
#include "sim/cli.h"
#include "sim/cmd.h"
#include "sim/mc.h"
#include "sim/shrink.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SIM_CMD_CHECK_BRANCH_DEFAULT "net.drop,proc.crash"

static void sim_cmd_check_usage(FILE *out)
{
    fprintf(out,
            "usage: flowraft check SCENARIO [--branch CONCERNS] [--alternatives K] [--depth N]\n"
            "                      [--faults F] [--seeded CONCERNS] [--max-states M]\n"
            "                      [--max-runs R] [--run-events E] [--time-budget S]\n"
            "                      [--no-prune] [--seed N] [--bug NAME]... [-o FILE] [--shrink]\n\n"
            "Model-checks a small scenario: explores, by re-running the simulation from the\n"
            "start, every combination of choices for the first N decisions of the branching\n"
            "concerns (K alternatives each, from the calm 0 to the most extreme value), with at\n"
            "most F non-calm choices per path (all paths with 0, then with 1, ... up to F), and\n"
            "checks every invariant after every event. Every other decision takes its calm\n"
            "value 0, or the seed's draw for the --seeded concerns. A run that reaches a state\n"
            "already explored with at least as much budget left is pruned there; a state is\n"
            "each node's Raft state and KV hash, the links, the clients and the pending events\n"
            "(messages by content) with their times relative to now. Timers inside the core\n"
            "are not part of it, so pruning can merge states that differ only in them:\n"
            "--no-prune makes the search complete for the bounded tree.\n\n"
            "  --branch CONCERNS     decisions that branch (default " SIM_CMD_CHECK_BRANCH_DEFAULT
            ");\n"
            "                        concerns: sched, net.delay, net.drop, net.dup, net.corrupt,\n"
            "                        net.partition, net.clog, proc.crash, proc.restart,\n"
            "                        proc.pause, disk.fault, disk.latency, client, clock\n"
            "  --alternatives K      alternatives per decision, 2..%u (default 11)\n"
            "  --depth N             branching decisions per path (default 20)\n"
            "  --faults F            non-calm choices per path, at most (default 2)\n"
            "  --seeded CONCERNS     non-branching concerns that take the seed's draw instead\n"
            "                        of 0 (default node.seed,clock: nodes time out at their own\n"
            "                        pace; none for a fully calm world)\n"
            "  --seed N              the seed of those draws (default 1)\n"
            "  --max-states M        distinct states kept; the search stops beyond (default %u)\n"
            "  --max-runs R          runs at most (default: no bound)\n"
            "  --run-events E        events per run before it is cut off (default %u)\n"
            "  --time-budget S       stop after S seconds\n"
            "  --no-prune            never stop a run at an explored state\n"
            "  --bug NAME            check a deliberately broken variant (see flowraft run)\n"
            "  -o, --output FILE     where a violation's schedule goes (default\n"
            "                        check-SCENARIO.sched)\n"
            "      --shrink          shrink a violation's schedule (see flowraft shrink)\n"
            "  -q, --quiet           no progress lines\n"
            "exit status: 0 no violation within the bounds (the summary says whether the\n"
            "bounded tree was explored completely), 1 a violation (its schedule replays it),\n"
            "2 usage or input error\n",
            SIM_MC_ALTERNATIVES_MAX, SIM_MC_STATES_DEFAULT, SIM_MC_RUN_EVENTS_DEFAULT);
}

struct sim_cmd_check_args {
    struct sim_run_options run; /* bugs */
    struct sim_mc_options mc;
    const char *scenario_path;
    const char *output;
    int shrink;
    int quiet;
};

/* Parses an unsigned number in [min, max] for option `name`. */
static int sim_cmd_check_number(const char *name, const char *text, uint64_t min, uint64_t max,
                                uint64_t *out)
{
    uint64_t value = 0;
    if (sim_cmd_parse_seed(text, &value) != 0 || value < min || value > max) {
        fprintf(stderr, "flowraft check: --%s: expected %" PRIu64 "..%" PRIu64 ", got '%s'\n", name,
                min, max, text);
        return -1;
    }
    *out = value;
    return 0;
}

static int sim_cmd_check_option(int opt, struct sim_cmd_check_args *a)
{
    struct sim_mc_options *mc = &a->mc;
    uint64_t value = 0;
    char *end = NULL;
    switch (opt) {
    case 'b':
    case 'e':
        if (sim_cmd_parse_concerns(optarg, opt == 'b' ? &mc->branch_mask : &mc->seeded_mask) != 0) {
            fprintf(stderr, "flowraft check: --%s: unknown concern in '%s'\n",
                    opt == 'b' ? "branch" : "seeded", optarg);
            return -1;
        }
        return 0;
    case 'A':
        if (sim_cmd_check_number("alternatives", optarg, 2, SIM_MC_ALTERNATIVES_MAX, &value) != 0) {
            return -1;
        }
        mc->alternatives_max = (uint32_t)value;
        return 0;
    case 'd':
        if (sim_cmd_check_number("depth", optarg, 1, SIM_MC_DEPTH_MAX, &value) != 0) {
            return -1;
        }
        mc->depth_max = (uint32_t)value;
        return 0;
    case 'f':
        if (sim_cmd_check_number("faults", optarg, 0, SIM_MC_DEPTH_MAX, &value) != 0) {
            return -1;
        }
        mc->faults_max = (uint32_t)value;
        return 0;
    case 'M':
        return sim_cmd_check_number("max-states", optarg, 1, SIM_MC_STATES_MAX, &mc->states_max);
    case 'R':
        return sim_cmd_check_number("max-runs", optarg, 1, UINT64_MAX, &mc->runs_max);
    case 'E':
        return sim_cmd_check_number("run-events", optarg, 1, UINT64_MAX, &mc->run_events_max);
    case 's':
        return sim_cmd_check_number("seed", optarg, 0, UINT64_MAX, &mc->seed);
    case 'T':
        errno = 0;
        mc->time_budget_seconds = strtod(optarg, &end);
        if (errno != 0 || end == optarg || *end != '\0' || !(mc->time_budget_seconds > 0)) {
            fprintf(stderr, "flowraft check: --time-budget: expected seconds > 0, got '%s'\n",
                    optarg);
            return -1;
        }
        return 0;
    case 'P':
        mc->prune = 0;
        return 0;
    case 'B':
        return sim_cmd_parse_bug(optarg, &a->run);
    case 'o':
        a->output = optarg;
        return 0;
    case 'S':
        a->shrink = 1;
        return 0;
    case 'q':
        a->quiet = 1;
        return 0;
    default:
        break;
    }
    sim_cmd_check_usage(stderr);
    return -1;
}

static int sim_cmd_check_parse(int argc, char **argv, struct sim_cmd_check_args *a)
{
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "branch", required_argument, NULL, 'b' },
        { "seeded", required_argument, NULL, 'e' },
        { "alternatives", required_argument, NULL, 'A' },
        { "depth", required_argument, NULL, 'd' },
        { "faults", required_argument, NULL, 'f' },
        { "max-states", required_argument, NULL, 'M' },
        { "max-runs", required_argument, NULL, 'R' },
        { "run-events", required_argument, NULL, 'E' },
        { "seed", required_argument, NULL, 's' },
        { "time-budget", required_argument, NULL, 'T' },
        { "no-prune", no_argument, NULL, 'P' },
        { "bug", required_argument, NULL, 'B' },
        { "output", required_argument, NULL, 'o' },
        { "shrink", no_argument, NULL, 'S' },
        { "quiet", no_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "ho:q", options, NULL)) != -1) {
        if (opt == 'h') {
            sim_cmd_check_usage(stdout);
            return 1;
        }
        if (sim_cmd_check_option(opt, a) != 0) {
            return -1;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "flowraft check: give one SCENARIO (see flowraft check --help)\n");
        return -1;
    }
    a->scenario_path = argv[optind];
    if (a->mc.faults_max > a->mc.depth_max) {
        a->mc.faults_max = a->mc.depth_max;
    }
    if (a->mc.branch_mask == 0) {
        fprintf(stderr, "flowraft check: --branch: give at least one concern\n");
        return -1;
    }
    return 0;
}

/* A concern set as names. */
static void sim_cmd_check_concerns(uint32_t mask, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int c = 0; c < SIM_CONCERN_COUNT && used < size; c++) {
        if ((mask >> c) & 1u) {
            int n = snprintf(out + used, size - used, "%s%s", used ? "," : "",
                             sim_concern_name((enum sim_concern)c));
            used += n > 0 ? (size_t)n : 0;
        }
    }
    if (used == 0) {
        snprintf(out, size, "none");
    }
}

static void sim_cmd_check_print_bounds(const struct sim_mc_options *o)
{
    char branch[256];
    char seeded[256];
    sim_cmd_check_concerns(o->branch_mask, branch, sizeof(branch));
    sim_cmd_check_concerns(o->seeded_mask, seeded, sizeof(seeded));
    printf("bounds      branch %s (%u alternatives), depth %u, at most %u non-calm; seeded %s "
           "(seed %" PRIu64 "); pruning %s\n",
           branch, o->alternatives_max, o->depth_max, o->faults_max, seeded, o->seed,
           o->prune ? "on" : "off");
}

static void sim_cmd_check_print_result(const struct sim_mc_result *r)
{
    printf("explored    %" PRIu64 " runs (%" PRIu64 " pruned at an explored state, %" PRIu64
           " cut), %" PRIu64 " events, %" PRIu64 " states fingerprinted, %" PRIu64
           " distinct, depth reached %u, longest run %" PRIu64 " events, %.2f s\n",
           r->runs, r->runs_pruned, r->runs_cut, r->events, r->states, r->fingerprints,
           r->depth_reached, r->events_max_run, r->wall_seconds);
}

/* Writes the violation's schedule (trimmed after its last nonzero decision) and checks that a
 * strict replay fails the same way. Returns an exit code. */
static int sim_cmd_check_violation(const struct sim_cmd_check_args *a,
                                   const struct sim_scenario *scenario, struct sim_mc_result *r)
{
    const struct report_run *v = &r->violation;
    printf("result      VIOLATION: %s (a path with %u non-calm choices)\n%s", v->invariant,
           r->path_faults, v->detail);
    size_t count = r->path_count;
    while (count > 0 && r->path[count - 1].value == 0) {
        count--;
    }
    char output[512];
    snprintf(output, sizeof(output), "%s", a->output);
    if (a->output == NULL) {
        snprintf(output, sizeof(output), "check-%s.sched", scenario->name);
    }
    struct sim_schedule_header header = { .seed = a->mc.seed };
    snprintf(header.scenario, sizeof(header.scenario), "%s", scenario->path);
    char error[512];
    if (sim_schedule_save(output, &header, "found by flowraft check", r->path, count, error,
                          sizeof(error)) != 0) {
        fprintf(stderr, "flowraft check: %s\n", error);
        return SIM_EXIT_USAGE;
    }
    static struct report_run replayed;
    struct sim_run_options o = {
        .scenario = scenario,
        .replay_path = output,
        .raft_test_bugs = a->run.raft_test_bugs,
        .sim_bugs = a->run.sim_bugs,
    };
    sim_run(&o, &replayed);
    int same = replayed.verdict == REPORT_VIOLATION &&
               strcmp(replayed.invariant, v->invariant) == 0 &&
               replayed.trace_hash == v->trace_hash;
    printf("schedule    %s: %zu decisions; strict replay %s\n", output, count,
           same ? "fails the same way (same trace hash)" : "DOES NOT reproduce it");
    printf("reproduce   %s\n", replayed.repro);
    if (!same) {
        fprintf(stderr,
                "flowraft check: the schedule %s does not reproduce the violation: the "
                "simulation is not deterministic\n",
                output);
    }
    return SIM_EXIT_CHECK_FAILED;
}

/* --shrink: minimises the violation's schedule and writes it next to the original. */
static void sim_cmd_check_shrink(const struct sim_cmd_check_args *a,
                                 const struct sim_scenario *scenario, const struct sim_mc_result *r)
{
    struct sim_shrink_options o = {
        .scenario = scenario,
        .seed = a->mc.seed,
        .raft_test_bugs = a->run.raft_test_bugs,
        .sim_bugs = a->run.sim_bugs,
        .initial = r->path,
        .initial_count = r->path_count,
    };
    static struct sim_shrink_result shrunk;
    if (sim_shrink(&o, &shrunk) != 0 || !shrunk.reproduced) {
        printf("shrink      could not shrink: %s\n", shrunk.final_run.detail);
        sim_shrink_result_free(&shrunk);
        return;
    }
    char output[600];
    snprintf(output, sizeof(output), "%s.shrunk", a->output != NULL ? a->output : "check.sched");
    if (a->output == NULL) {
        snprintf(output, sizeof(output), "check-%s.shrunk.sched", scenario->name);
    }
    struct sim_schedule_header header = { .seed = a->mc.seed };
    snprintf(header.scenario, sizeof(header.scenario), "%s", scenario->path);
    char error[512];
    if (sim_schedule_save(output, &header, "found by flowraft check, then shrunk", shrunk.decisions,
                          shrunk.count, error, sizeof(error)) != 0) {
        printf("shrink      %s\n", error);
    } else {
        printf("shrunk      %s: %" PRIu64 " decisions (%" PRIu64 " non-calm), %" PRIu64
               " events (from %" PRIu64 " decisions, %" PRIu64 " events)\n",
               output, shrunk.after.decisions, shrunk.after.non_calm, shrunk.after.events,
               shrunk.before.decisions, shrunk.before.events);
    }
    sim_shrink_result_free(&shrunk);
}

int sim_cmd_check(int argc, char **argv)
{
    struct sim_cmd_check_args a;
    memset(&a, 0, sizeof(a));
    a.mc.alternatives_max = 11;
    a.mc.depth_max = 20;
    a.mc.faults_max = 2;
    a.mc.states_max = SIM_MC_STATES_DEFAULT;
    a.mc.seed = 1;
    a.mc.prune = 1;
    (void)sim_cmd_parse_concerns(SIM_CMD_CHECK_BRANCH_DEFAULT, &a.mc.branch_mask);
    (void)sim_cmd_parse_concerns("node.seed,clock", &a.mc.seeded_mask);
    int rc = sim_cmd_check_parse(argc, argv, &a);
    if (rc != 0) {
        return rc > 0 ? SIM_EXIT_OK : SIM_EXIT_USAGE;
    }
    static struct sim_scenario scenario;
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    if (sim_scenario_load(a.scenario_path, &scenario, error, sizeof(error)) != 0) {
        fprintf(stderr, "flowraft check: %s\n", error);
        return SIM_EXIT_USAGE;
    }
    a.mc.scenario = &scenario;
    a.mc.raft_test_bugs = a.run.raft_test_bugs;
    a.mc.sim_bugs = a.run.sim_bugs;
    a.mc.progress = a.quiet ? NULL : stdout;
    printf("scenario    %s (%s)\n", scenario.name, scenario.description);
    sim_cmd_check_print_bounds(&a.mc);
    static struct sim_mc_result r;
    if (sim_mc_check(&a.mc, &r) != 0) {
        fprintf(stderr, "flowraft check: %s\n", r.stop_reason);
        sim_mc_result_free(&r);
        return SIM_EXIT_USAGE;
    }
    sim_cmd_check_print_result(&r);
    int status = SIM_EXIT_OK;
    if (r.violated) {
        status = sim_cmd_check_violation(&a, &scenario, &r);
        if (a.shrink) {
            sim_cmd_check_shrink(&a, &scenario, &r);
        }
    } else if (r.complete) {
        printf("result      NO VIOLATION: the bounded tree explored (fault bounds 0..%u), %s\n",
               r.bounds_completed - 1,
               a.mc.prune ? "runs pruned at explored states (see --help)" : "no pruning");
    } else {
        printf("result      NO VIOLATION found, but INCOMPLETE: stopped by %s (fault bounds "
               "explored completely: %u of %u)\n",
               r.stop_reason, r.bounds_completed, a.mc.faults_max + 1);
    }
    sim_mc_result_free(&r);
    return status;
}
