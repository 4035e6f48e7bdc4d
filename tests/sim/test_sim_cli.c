/* Tests for the flowraft command line: run, replay, sweep and scenario, as users call them
 * (the built program in a child process), including cross-process determinism. */
#include "sim/world.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FLOWRAFT_EXE
#define FLOWRAFT_EXE "flowraft"
#endif
#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

#define OUTPUT_BYTES_MAX (1u << 20)

/* Runs `flowraft ARGS` (from the source directory) and returns its exit status; the combined
 * output goes to `out`. */
static int flowraft(char *out, size_t size, const char *args)
{
    char command[2048];
    snprintf(command, sizeof(command), "cd '%s' && '%s' %s 2>&1", FLOWRAFT_SOURCE_DIR, FLOWRAFT_EXE,
             args);
    FILE *pipe = popen(command, "r");
    cr_assert_not_null(pipe);
    size_t used = fread(out, 1, size - 1, pipe);
    out[used] = '\0';
    int status = pclose(pipe);
    cr_assert(WIFEXITED(status), "%s", command);
    return WEXITSTATUS(status);
}

static char output[OUTPUT_BYTES_MAX];
static char second[OUTPUT_BYTES_MAX];

/* The "trace hash  X" line of a run's output. */
static uint64_t trace_hash_of(const char *text)
{
    const char *line = strstr(text, "trace hash  ");
    cr_assert_not_null(line, "%s", text);
    return strtoull(line + 12, NULL, 16);
}

/* Invariant: the same seed gives the same trace hash in separate processes, and the same as in
 * this process; the help lists the working subcommands. */
Test(sim_cli, trace_hash_is_the_same_across_processes)
{
    cr_assert_eq(flowraft(output, sizeof(output), "run scenarios/smoke.ini --seed 5"), 0, "%s",
                 output);
    cr_assert_eq(flowraft(second, sizeof(second), "run scenarios/smoke.ini --seed 5"), 0, "%s",
                 second);
    uint64_t a = trace_hash_of(output);
    cr_assert_eq(a, trace_hash_of(second));
    static struct sim_scenario scenario;
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    cr_assert_eq(sim_scenario_load(FLOWRAFT_SOURCE_DIR "/scenarios/smoke.ini", &scenario, error,
                                   sizeof(error)),
                 0, "%s", error);
    snprintf(scenario.path, sizeof(scenario.path), "scenarios/smoke.ini");
    static struct report_run run;
    struct sim_run_options options = { .scenario = &scenario, .seed = 5 };
    sim_run(&options, &run);
    cr_assert_eq(run.trace_hash, a, "in-process and child-process runs agree");
    cr_assert_eq(flowraft(output, sizeof(output), "run scenarios/smoke.ini --seed 6"), 0);
    cr_assert_neq(trace_hash_of(output), a);
    cr_assert_eq(flowraft(output, sizeof(output), "--help"), 0);
    for (const char *const *c = (const char *const[]){ "run", "replay", "sweep", "scenario", NULL };
         *c != NULL; c++) {
        cr_assert(strstr(output, *c) != NULL, "%s missing from --help", *c);
    }
}

/* Invariant: bad usage and bad input exit 2 with a message naming what is wrong. */
Test(sim_cli, usage_and_input_errors)
{
    cr_assert_eq(flowraft(output, sizeof(output), "frobnicate"), 2);
    cr_assert(strstr(output, "unknown command 'frobnicate'") != NULL, "%s", output);
    cr_assert_eq(flowraft(output, sizeof(output), "run scenarios/smoke.ini --seed x"), 2);
    cr_assert(strstr(output, "--seed") != NULL, "%s", output);
    cr_assert_eq(flowraft(output, sizeof(output), "run /nonexistent.ini"), 2);
    cr_assert(strstr(output, "/nonexistent.ini: cannot open") != NULL, "%s", output);
    char path[128];
    snprintf(path, sizeof(path), "/tmp/flowraft-cli-%ld.ini", (long)getpid());
    FILE *f = fopen(path, "w");
    fputs("[cluster]\nnodes = 3\n[network]\ndrop = lots\n", f);
    fclose(f);
    char args[256];
    snprintf(args, sizeof(args), "run %s", path);
    cr_assert_eq(flowraft(output, sizeof(output), args), 2);
    char where[200];
    snprintf(where, sizeof(where), "%s:4: [network] drop:", path);
    cr_assert(strstr(output, where) != NULL, "%s", output);
    snprintf(args, sizeof(args), "scenario %s", path);
    cr_assert_eq(flowraft(output, sizeof(output), args), 2);
    unlink(path);
    cr_assert_eq(flowraft(output, sizeof(output), "sweep scenarios/smoke.ini --seeds 5..1"), 2);
    cr_assert_eq(flowraft(output, sizeof(output),
                          "sweep scenarios/smoke.ini --seeds 1..2 "
                          "--shard 2/2"),
                 2);
    cr_assert_eq(flowraft(output, sizeof(output), "run scenarios/smoke.ini --bug nope"), 2);
    cr_assert(strstr(output, "double-vote") != NULL, "the known bugs are listed: %s", output);
    cr_assert_eq(flowraft(output, sizeof(output), "replay scenarios/smoke.ini"), 2);
}

/* Invariant: a failing run exits 1, prints the violation and a reproduce command, and that
 * command reproduces the same run (same trace hash). */
Test(sim_cli, violation_prints_a_working_reproduce_command)
{
    int status = 0;
    uint64_t seed = 1;
    for (; seed <= 10; seed++) {
        char args[256];
        snprintf(args, sizeof(args),
                 "run tests/sim/scenarios/figure8.ini --seed %lu --bug commit-previous-term",
                 (unsigned long)seed);
        status = flowraft(output, sizeof(output), args);
        if (status != 0) {
            break;
        }
    }
    cr_assert_eq(status, 1, "%s", output);
    cr_assert(strstr(output, "VIOLATION") != NULL, "%s", output);
    const char *repro = strstr(output, "reproduce   flowraft ");
    cr_assert_not_null(repro, "%s", output);
    char command[512];
    snprintf(command, sizeof(command), "%s", repro + strlen("reproduce   flowraft "));
    command[strcspn(command, "\n")] = '\0';
    uint64_t hash = trace_hash_of(output);
    cr_assert_eq(flowraft(second, sizeof(second), command), 1, "%s", second);
    cr_assert_eq(trace_hash_of(second), hash);
}

/* Invariant: the reproduce command shrink prints re-creates the broken variant it shrank (every
 * --bug, not just the first ones the command once knew), so running it fails again. */
Test(sim_cli, shrink_reproduce_command_names_the_bug)
{
    char dir[] = "/tmp/flowraft-cli-shrink-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char args[512];
    snprintf(args, sizeof(args),
             "shrink tests/sim/scenarios/stale-reads.ini --seed 1 --bug read-without-quorum "
             "--runs-max 5 -o %s/min.sched",
             dir);
    cr_assert_eq(flowraft(output, sizeof(output), args), 0, "%s", output);
    const char *repro = strstr(output, "reproduce   flowraft ");
    cr_assert_not_null(repro, "%s", output);
    char command[512];
    snprintf(command, sizeof(command), "%s", repro + strlen("reproduce   flowraft "));
    command[strcspn(command, "\n")] = '\0';
    cr_assert(strstr(command, " --bug read-without-quorum") != NULL, "%s", command);
    cr_assert_eq(flowraft(second, sizeof(second), command), 1, "%s: %s", command, second);
    cr_assert(strstr(second, "linearizability") != NULL, "%s", second);
    snprintf(args, sizeof(args), "%s/min.sched", dir);
    cr_assert_eq(unlink(args), 0);
    cr_assert_eq(rmdir(dir), 0);
}

/* Invariant: replay --schedule reproduces a recorded run; --verbose logs events, filtered by node
 * and kind. */
Test(sim_cli, replay_from_a_schedule_with_an_event_log)
{
    char args[512];
    char path[128];
    snprintf(path, sizeof(path), "/tmp/flowraft-cli-%ld.sched", (long)getpid());
    snprintf(args, sizeof(args), "run scenarios/smoke.ini --seed 9 --record %s", path);
    cr_assert_eq(flowraft(output, sizeof(output), args), 0, "%s", output);
    uint64_t hash = trace_hash_of(output);
    snprintf(args, sizeof(args), "replay --schedule %s --verbose --node 2 --kind deliver", path);
    cr_assert_eq(flowraft(second, sizeof(second), args), 0, "%s", second);
    cr_assert_eq(trace_hash_of(second), hash);
    cr_assert(strstr(second, " deliver   n2 ") != NULL, "%s", second);
    cr_assert(strstr(second, " deliver   n1 ") == NULL, "the node filter holds");
    cr_assert(strstr(second, " tick ") == NULL, "the kind filter holds");
    snprintf(args, sizeof(args), "replay scenarios/smoke.ini --seed 9");
    cr_assert_eq(flowraft(second, sizeof(second), args), 0, "%s", second);
    cr_assert_eq(trace_hash_of(second), hash, "replay by seed reproduces it too");
    unlink(path);
}

/* Invariant: sweep writes JUnit, JSON, HTML and the failing seeds; shards never overlap; a
 * failing sweep exits 1; the determinism check passes for the real simulator. */
Test(sim_cli, sweep_outputs_shards_and_determinism)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "/tmp/flowraft-cli-report-%ld", (long)getpid());
    char args[512];
    snprintf(args, sizeof(args),
             "sweep scenarios/smoke.ini --seeds 1..4 --jobs 2 --check-determinism --report %s",
             dir);
    cr_assert_eq(flowraft(output, sizeof(output), args), 0, "%s", output);
    cr_assert(strstr(output, "4 runs, 0 failed") != NULL, "%s", output);
    static const char *const files[] = { "summary.json", "report.html", "junit.xml" };
    for (int i = 0; i < 3; i++) {
        char path[256];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        cr_assert_eq(stat(path, &st), 0, "%s exists", path);
        cr_assert_gt(st.st_size, 100);
        unlink(path);
    }
    rmdir(dir);
    /* two shards of 1..6 run 3 seeds each */
    for (int shard = 0; shard < 2; shard++) {
        snprintf(args, sizeof(args), "sweep scenarios/smoke.ini --seeds 1..6 --jobs 2 --shard %d/2",
                 shard);
        cr_assert_eq(flowraft(output, sizeof(output), args), 0, "%s", output);
        cr_assert(strstr(output, "3 runs, 0 failed") != NULL, "%s", output);
    }
    char junit[128];
    char failures[128];
    snprintf(junit, sizeof(junit), "/tmp/flowraft-cli-%ld.xml", (long)getpid());
    snprintf(failures, sizeof(failures), "/tmp/flowraft-cli-%ld.failing", (long)getpid());
    snprintf(args, sizeof(args),
             "sweep tests/sim/scenarios/figure8.ini --seeds 1..4 --jobs 2 --bug "
             "commit-previous-term --junit %s --failures %s",
             junit, failures);
    cr_assert_eq(flowraft(output, sizeof(output), args), 1, "%s", output);
    cr_assert(strstr(output, "FAILED ") != NULL, "%s", output);
    FILE *f = fopen(junit, "r");
    cr_assert_not_null(f);
    size_t n = fread(second, 1, sizeof(second) - 1, f);
    second[n] = '\0';
    fclose(f);
    cr_assert(strstr(second, "<testcase classname=\"flowraft.figure8\" name=\"seed ") != NULL, "%s",
              second);
    cr_assert(strstr(second, "<failure message=\"") != NULL, "%s", second);
    f = fopen(failures, "r");
    cr_assert_not_null(f);
    n = fread(second, 1, sizeof(second) - 1, f);
    second[n] = '\0';
    fclose(f);
    cr_assert(strstr(second, "tests/sim/scenarios/figure8.ini ") != NULL, "%s", second);
    unlink(junit);
    unlink(failures);
}

/* Invariant: --time-budget stops a long sweep cleanly and says how many runs happened. */
Test(sim_cli, time_budget_stops_a_sweep)
{
    cr_assert_eq(flowraft(output, sizeof(output),
                          "sweep scenarios/default.ini --seeds 1..100000 --jobs 2 "
                          "--time-budget 1"),
                 0, "%s", output);
    cr_assert(strstr(output, "time budget of 1 s reached") != NULL, "%s", output);
    cr_assert(strstr(output, "not run") != NULL, "%s", output);
}
