/* `flowraft sweep`: many seeds of many scenarios in parallel, with JSON, HTML and JUnit reports. */
#include "sim/cli.h"
#include "sim/cmd.h"
#include "storage/fs.h"
#include "sim/sweep.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void sim_cmd_sweep_usage(FILE *out)
{
    fprintf(out,
            "usage: flowraft sweep SCENARIO... --seeds A..B [--jobs N] [--shard I/N]\n"
            "                      [--time-budget S] [--junit FILE] [--report DIR]\n"
            "                      [--failures FILE] [--check-determinism] [--bug NAME]\n"
            "                      [--shrink]\n\n"
            "Runs every seed in A..B of every scenario, each run in its own process, and\n"
            "prints a summary that groups failures by invariant with a reproduce command.\n\n"
            "  --seeds A..B          inclusive seed range (or a single seed)\n"
            "  -j, --jobs N          parallel processes (default: the number of CPUs)\n"
            "  --shard I/N           run only seeds s with (s - A) mod N == I, 0 <= I < N;\n"
            "                        the N shards of a range never overlap and cover it\n"
            "  --time-budget S       stop starting runs after S seconds; runs in progress are\n"
            "                        stopped and the summary says how many ran\n"
            "  --run-timeout S       a run taking longer than S seconds is stopped and fails as\n"
            "                        a timeout (default 600)\n"
            "  --junit FILE          JUnit XML: one testcase per failing seed, plus one\n"
            "                        passing summary per scenario\n"
            "  --report DIR          write DIR/summary.json, DIR/report.html, DIR/junit.xml\n"
            "                        and DIR/failing-seeds.txt\n"
            "  --failures FILE       where failing seeds go (default: failing-seeds.txt, or\n"
            "                        DIR/failing-seeds.txt with --report); written only when\n"
            "                        a run fails, unless given explicitly\n"
            "  --check-determinism   run every seed twice, in two processes, and fail it if the\n"
            "                        trace hashes differ\n"
            "  --bug NAME            sweep a deliberately broken variant (see flowraft run)\n"
            "  --shrink              then shrink the first failing seed of each invariant\n"
            "                        (flowraft shrink, at most 60 s each) into a schedule in\n"
            "                        the --report DIR, else the current directory\n"
            "  -q, --quiet           no progress bar\n"
            "exit status: 0 every run passed, 1 a run failed, 2 usage or input error\n");
}

struct sim_cmd_sweep_ctx {
    struct sim_scenario *scenarios;
    struct sim_run_options options;
};

/* Runs in the worker process. */
static void sim_cmd_sweep_one(void *ctx_arg, uint32_t scenario, uint64_t seed,
                              struct report_run *out)
{
    struct sim_cmd_sweep_ctx *ctx = ctx_arg;
    struct sim_run_options options = ctx->options;
    options.scenario = &ctx->scenarios[scenario];
    options.seed = seed;
    sim_run(&options, out);
}

struct sim_cmd_sweep_args {
    const char *seeds;
    uint32_t jobs;
    uint32_t shard_index;
    uint32_t shard_count;
    double time_budget;
    double run_timeout;
    const char *junit;
    const char *report_dir;
    const char *failures;
    int determinism;
    int quiet;
    int shrink;
};

static int sim_cmd_sweep_parse(int argc, char **argv, struct sim_cmd_sweep_args *a,
                               struct sim_run_options *run)
{
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "seeds", required_argument, NULL, 'S' },
        { "jobs", required_argument, NULL, 'j' },
        { "shard", required_argument, NULL, 'H' },
        { "time-budget", required_argument, NULL, 'T' },
        { "run-timeout", required_argument, NULL, 'O' },
        { "junit", required_argument, NULL, 'J' },
        { "report", required_argument, NULL, 'R' },
        { "failures", required_argument, NULL, 'F' },
        { "check-determinism", no_argument, NULL, 'D' },
        { "bug", required_argument, NULL, 'B' },
        { "quiet", no_argument, NULL, 'q' },
        { "shrink", no_argument, NULL, 'K' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "hj:q", options, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'h':
            sim_cmd_sweep_usage(stdout);
            return 1;
        case 'S':
            a->seeds = optarg;
            break;
        case 'j': {
            unsigned long jobs = strtoul(optarg, &end, 10);
            if (*optarg < '1' || *optarg > '9' || *end != '\0' || jobs > SIM_SWEEP_JOBS_MAX) {
                fprintf(stderr, "flowraft sweep: --jobs: expected 1..%u, got '%s'\n",
                        SIM_SWEEP_JOBS_MAX, optarg);
                return -1;
            }
            a->jobs = (uint32_t)jobs;
            break;
        }
        case 'H':
            if (sim_parse_shard(optarg, &a->shard_index, &a->shard_count) != 0) {
                fprintf(stderr, "flowraft sweep: --shard: expected I/N with 0 <= I < N, got '%s'\n",
                        optarg);
                return -1;
            }
            break;
        case 'T':
            errno = 0;
            a->time_budget = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(a->time_budget > 0)) {
                fprintf(stderr, "flowraft sweep: --time-budget: expected seconds > 0, got '%s'\n",
                        optarg);
                return -1;
            }
            break;
        case 'O':
            errno = 0;
            a->run_timeout = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(a->run_timeout > 0)) {
                fprintf(stderr, "flowraft sweep: --run-timeout: expected seconds > 0, got '%s'\n",
                        optarg);
                return -1;
            }
            break;
        case 'J':
            a->junit = optarg;
            break;
        case 'R':
            a->report_dir = optarg;
            break;
        case 'F':
            a->failures = optarg;
            break;
        case 'D':
            a->determinism = 1;
            break;
        case 'B':
            if (sim_cmd_parse_bug(optarg, run) != 0) {
                return -1;
            }
            break;
        case 'q':
            a->quiet = 1;
            break;
        case 'K':
            a->shrink = 1;
            break;
        default:
            sim_cmd_sweep_usage(stderr);
            return -1;
        }
    }
    if (a->seeds == NULL || optind >= argc) {
        fprintf(stderr, "flowraft sweep: give at least one SCENARIO and --seeds A..B\n");
        return -1;
    }
    if (argc - optind > REPORT_SCENARIOS_MAX) {
        fprintf(stderr, "flowraft sweep: at most %d scenarios\n", REPORT_SCENARIOS_MAX);
        return -1;
    }
    return 0;
}

static int sim_cmd_sweep_write(const struct report_sweep *sweep, const struct sim_cmd_sweep_args *a)
{
    char error[512];
    int rc = 0;
    char path[1024];
    if (a->report_dir != NULL) {
        struct fs posix;
        fs_posix_init(&posix);
        if (strlen(a->report_dir) >= FS_PATH_BYTES_MAX ||
            fs_mkdir_parents(&posix, a->report_dir) != FS_OK) {
            fprintf(stderr, "flowraft sweep: %s: cannot create the report directory: %s\n",
                    a->report_dir,
                    posix.error.sys_errno ? strerror(posix.error.sys_errno) : "path too long");
            return -1;
        }
        static const struct {
            const char *name;
            int (*write)(const struct report_sweep *, const char *, char *, size_t);
        } files[] = {
            { "summary.json", report_write_json },
            { "report.html", report_write_html },
            { "junit.xml", report_write_junit },
        };
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", a->report_dir, files[i].name);
            if (files[i].write(sweep, path, error, sizeof(error)) != 0) {
                fprintf(stderr, "flowraft sweep: %s\n", error);
                rc = -1;
            }
        }
        printf("report      %s/report.html, %s/summary.json, %s/junit.xml\n", a->report_dir,
               a->report_dir, a->report_dir);
    }
    if (a->junit != NULL && report_write_junit(sweep, a->junit, error, sizeof(error)) != 0) {
        fprintf(stderr, "flowraft sweep: %s\n", error);
        rc = -1;
    }
    if (a->failures != NULL || report_sweep_failed(sweep) > 0) {
        if (a->failures != NULL) {
            snprintf(path, sizeof(path), "%s", a->failures);
        } else if (a->report_dir != NULL) {
            snprintf(path, sizeof(path), "%s/failing-seeds.txt", a->report_dir);
        } else {
            snprintf(path, sizeof(path), "failing-seeds.txt");
        }
        if (report_write_failing_seeds(sweep, path, error, sizeof(error)) != 0) {
            fprintf(stderr, "flowraft sweep: %s\n", error);
            rc = -1;
        } else {
            printf("failing     seeds listed in %s\n", path);
        }
    }
    return rc;
}

static void sim_cmd_sweep_command(struct report_sweep *sweep, int argc, char **argv)
{
    size_t used = (size_t)snprintf(sweep->command, sizeof(sweep->command), "flowraft");
    for (int i = 0; i < argc && used < sizeof(sweep->command); i++) {
        int n = snprintf(sweep->command + used, sizeof(sweep->command) - used, " %s", argv[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

int sim_cmd_sweep(int argc, char **argv)
{
    struct sim_cmd_sweep_args a = { .shard_count = 1, .run_timeout = 600 };
    struct sim_cmd_sweep_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    int rc = sim_cmd_sweep_parse(argc, argv, &a, &ctx.options);
    if (rc != 0) {
        return rc > 0 ? SIM_EXIT_OK : SIM_EXIT_USAGE;
    }
    uint64_t first = 0;
    uint64_t last = 0;
    if (sim_parse_seed_range(a.seeds, &first, &last) != 0) {
        fprintf(stderr, "flowraft sweep: --seeds: expected A..B with A <= B, got '%s'\n", a.seeds);
        return SIM_EXIT_USAGE;
    }
    if (a.jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        a.jobs =
            cpus < 1 ? 1 : (cpus > (long)SIM_SWEEP_JOBS_MAX ? SIM_SWEEP_JOBS_MAX : (uint32_t)cpus);
    }
    uint32_t count = (uint32_t)(argc - optind);
    ctx.scenarios = calloc(count, sizeof(ctx.scenarios[0]));
    struct report_sweep *sweep = calloc(1, sizeof(*sweep));
    if (ctx.scenarios == NULL || sweep == NULL) {
        fprintf(stderr, "flowraft sweep: out of memory\n");
        free(ctx.scenarios);
        free(sweep);
        return SIM_EXIT_USAGE;
    }
    report_sweep_init(sweep);
    sim_cmd_sweep_command(sweep, argc, argv);
    int status = SIM_EXIT_OK;
    for (uint32_t i = 0; i < count && status == SIM_EXIT_OK; i++) {
        char error[SIM_SCENARIO_ERROR_BYTES_MAX];
        if (sim_scenario_load(argv[optind + (int)i], &ctx.scenarios[i], error, sizeof(error)) !=
            0) {
            fprintf(stderr, "flowraft sweep: %s\n", error);
            status = SIM_EXIT_USAGE;
        } else {
            report_sweep_add_scenario(sweep, ctx.scenarios[i].name, ctx.scenarios[i].path);
        }
    }
    if (status == SIM_EXIT_OK) {
        struct sim_sweep_options o = {
            .scenario_count = count,
            .scenario_paths = (const char *const *)(argv + optind),
            .seed_first = first,
            .seed_last = last,
            .jobs = a.jobs,
            .shard_index = a.shard_index,
            .shard_count = a.shard_count,
            .time_budget_seconds = a.time_budget,
            .run_timeout_seconds = a.run_timeout,
            .check_determinism = a.determinism,
            .progress = !a.quiet,
            .run = sim_cmd_sweep_one,
            .ctx = &ctx,
        };
        char error[512];
        if (sim_sweep_run(&o, sweep, error, sizeof(error)) != 0) {
            fprintf(stderr, "flowraft sweep: %s\n", error);
            status = SIM_EXIT_USAGE;
        } else {
            report_print_summary(sweep, stdout);
            if (sim_cmd_sweep_write(sweep, &a) != 0) {
                status = SIM_EXIT_USAGE;
            } else if (report_sweep_failed(sweep) > 0) {
                status = SIM_EXIT_CHECK_FAILED;
                if (a.shrink) {
                    (void)sim_cmd_shrink_sweep(sweep, ctx.scenarios, count, &ctx.options,
                                               a.report_dir);
                }
            }
        }
    }
    report_sweep_deinit(sweep);
    free(sweep);
    free(ctx.scenarios);
    return status;
}
