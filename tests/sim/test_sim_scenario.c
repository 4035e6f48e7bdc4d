/* Tests for sim/scenario and sim/dist: the INI format, its errors (file, line, key) and swarm. */
#include "sim/scenario.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

/* Invariant: a full scenario parses into the documented fields. */
Test(sim_scenario, parses_every_section)
{
    const char *text = "# a comment\n"
                       "[scenario]\ndescription = a test ; inline comment\n"
                       "[cluster]\nnodes = 5\ntick = 5ms\nelection_timeout_ticks_min = 20\n"
                       "election_timeout_ticks_max = 40\nheartbeat_ticks = 3\n"
                       "[run]\nduration = 1.5m\nliveness_bound = 7s\n"
                       "[network]\nlatency = exponential min=1ms mean=3ms max=40ms\n"
                       "drop = 1%\nduplicate = 0.005\ncorrupt = 0\n"
                       "[partitions]\nevery = 10s\nduration = uniform 1s 4s\n"
                       "shapes = isolate-leader minority\n"
                       "[crashes]\nevery = 20s\ndowntime = 2s\n"
                       "[workload]\nclients = 4\nops = put:1 get:3\nkeys = 16\n"
                       "[swarm]\nenabled = yes\n"
                       "[schedule]\nfault = 10s isolate leader for 5s\n"
                       "fault = 12s one-way 1 2 for 500ms\nfault = 30s crash 3\nfault = 40s heal\n";
    struct sim_scenario s;
    char error[512] = "";
    cr_assert_eq(sim_scenario_parse_string("t.ini", text, &s, error, sizeof(error)), 0, "%s",
                 error);
    cr_assert_str_eq(s.name, "t");
    cr_assert_str_eq(s.description, "a test");
    cr_assert_eq(s.nodes, 5);
    cr_assert_eq(s.tick_us, 5000);
    cr_assert_eq(s.duration_us, 90000000);
    cr_assert_eq(s.latency.kind, SIM_DIST_EXPONENTIAL);
    cr_assert_eq(s.latency.mean_us, 3000);
    cr_assert_float_eq(s.drop, 0.01, 1e-12);
    cr_assert_eq(s.partitions.every_us, 10000000);
    cr_assert_eq(s.partition_shapes, SIM_SHAPE_ISOLATE_LEADER | SIM_SHAPE_MINORITY);
    cr_assert_eq(s.crashes.length.kind, SIM_DIST_CONSTANT);
    cr_assert_eq(s.crashed_nodes_max, 2, "default: a minority of 5");
    cr_assert_eq(s.op_weights[SIM_OP_GET], 3);
    cr_assert_eq(s.op_weights[SIM_OP_DELETE], 0);
    cr_assert(s.swarm);
    cr_assert_eq(s.fault_count, 4);
    cr_assert_eq(s.faults[0].action, SIM_FAULT_ISOLATE);
    cr_assert_eq(s.faults[0].target.kind, SIM_TARGET_LEADER);
    cr_assert_eq(s.faults[0].duration_us, 5000000);
    cr_assert_eq(s.faults[1].target.node, 0);
    cr_assert_eq(s.faults[1].peer.node, 1);
    cr_assert_eq(s.faults[2].duration_us, 0);
    cr_assert_eq(s.faults[2].line, 34);
    cr_assert_eq(s.faults[3].action, SIM_FAULT_HEAL);
}

/* Invariant: every malformed input is rejected with the file, the line and the key. */
Test(sim_scenario, errors_name_file_line_and_key)
{
    static const struct {
        const char *text;
        const char *needle;
    } cases[] = {
        { "[cluster]\nnodes = 10\n", "bad.ini:2: [cluster] nodes: expected 1..9, got '10'" },
        { "[cluster]\nnodes = three\n", "bad.ini:2: [cluster] nodes:" },
        { "\n[cluster]\nnodez = 3\n", "bad.ini:3: [cluster] nodez: unknown key" },
        { "[clustr]\nnodes = 3\n", "bad.ini:2: unknown section [clustr]" },
        { "nodes = 3\n", "bad.ini:1: key 'nodes' outside a section" },
        { "[network]\ndrop = 2\n", "bad.ini:2: [network] drop: expected a probability" },
        { "[network]\nlatency = uniform 5ms\n", "bad.ini:2: [network] latency: uniform needs" },
        { "[network]\nlatency = gaussian 5ms\n", "bad.ini:2: [network] latency:" },
        { "[run]\nduration = 10\n", "bad.ini:2: [run] duration: expected" },
        { "[cluster]\nnodes = 3\nnodes = 4\n",
          "bad.ini:3: [cluster] nodes: already set on line 2" },
        { "[cluster]\nelection_timeout_ticks_min = 30\nelection_timeout_ticks_max = 20\n",
          "bad.ini:2: [cluster] election_timeout_ticks_min: 30 is above" },
        { "[workload]\nops = put:1 scan:2\n",
          "bad.ini:2: [workload] ops: unknown operation 'scan'" },
        { "[schedule]\nfault = 1s explode leader\n",
          "bad.ini:2: [schedule] fault: unknown action" },
        { "[schedule]\nfault = 1s isolate\n", "bad.ini:2: [schedule] fault: 'isolate' needs 1" },
        { "[schedule]\nfault = 1s crash 4\n",
          "bad.ini:2: [schedule] fault: node 4 does not exist (nodes = 3)" },
        { "[schedule]\nfault = 20s crash 1\n", "bad.ini:2: [schedule] fault: at 20000ms" },
        { "[schedule]\nfault = 1s crash 1 for\n", "bad.ini:2: [schedule] fault: expected 'for" },
        { "[cluster]\nthis line has no equals sign\n", "bad.ini:2: syntax error" },
        { "[swarm]\nenabled = maybe\n", "bad.ini:2: [swarm] enabled: expected true or false" },
        { "[crashes]\ndown_max = 4\n", "bad.ini:2: [crashes] down_max: 4 is more than the 3" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sim_scenario s;
        char error[512] = "";
        cr_assert_eq(sim_scenario_parse_string("bad.ini", cases[i].text, &s, error, sizeof(error)),
                     -1, "case %zu parsed", i);
        cr_assert(strstr(error, cases[i].needle) != NULL, "case %zu: got '%s', want '%s'", i, error,
                  cases[i].needle);
    }
}

/* Invariant: a line longer than inih's buffer is an error, not silently split in two. */
Test(sim_scenario, long_lines_are_rejected)
{
    char text[600];
    snprintf(text, sizeof(text), "[scenario]\ndescription = %0300d\n", 7);
    struct sim_scenario s;
    char error[512] = "";
    cr_assert_eq(sim_scenario_parse_string("long.ini", text, &s, error, sizeof(error)), -1);
    cr_assert(strstr(error, "long.ini:2: line longer than") != NULL, "%s", error);
}

/* Invariant: a missing file is an error naming the file. */
Test(sim_scenario, missing_file)
{
    struct sim_scenario s;
    char error[512] = "";
    cr_assert_eq(sim_scenario_load("/nonexistent/x.ini", &s, error, sizeof(error)), -1);
    cr_assert(strstr(error, "/nonexistent/x.ini: cannot open") != NULL, "%s", error);
}

/* Invariant: every shipped scenario parses (the files users start from are valid). */
Test(sim_scenario, shipped_scenarios_parse)
{
    static const char *const required[] = { "smoke",       "default",         "partitions",
                                            "crash-storm", "disk-corruption", "slow-and-lossy",
                                            "swarm" };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/scenarios/%s.ini", FLOWRAFT_SOURCE_DIR, required[i]);
        struct sim_scenario s;
        char error[512] = "";
        cr_assert_eq(sim_scenario_load(path, &s, error, sizeof(error)), 0, "%s", error);
        cr_assert_str_eq(s.name, required[i]);
        cr_assert_neq(s.description[0], '\0', "%s has a description", required[i]);
    }
}

/* Invariant: swarm draws are deterministic per seed, keep disabled kinds off and vary by seed. */
Test(sim_scenario, swarm_draws_per_seed)
{
    struct sim_scenario base;
    sim_scenario_defaults(&base);
    base.drop = 0.1;
    base.crashes.every_us = 1000000;
    base.partitions.every_us = 2000000;
    int variety = 0;
    for (uint64_t seed = 1; seed <= 32; seed++) {
        struct sim_scenario a = base, b = base;
        struct sim_chooser ca, cb;
        sim_chooser_init_prng(&ca, seed);
        sim_chooser_init_prng(&cb, seed);
        char sa[512], sb[512];
        sim_scenario_swarm(&a, &ca, sa, sizeof(sa));
        sim_scenario_swarm(&b, &cb, sb, sizeof(sb));
        cr_assert_str_eq(sa, sb);
        cr_assert_eq(a.duplicate, 0.0, "off stays off");
        cr_assert_leq(a.drop, 0.1);
        cr_assert(a.crashes.every_us == 0 || a.crashes.every_us >= 1000000);
        variety |= (a.drop == 0.0) ? 1 : 2;
    }
    cr_assert_eq(variety, 3, "some seeds turn drops off, others keep them");
}

/* Invariant: durations and distributions parse with units; samples stay within bounds. */
Test(sim_dist, parse_and_sample)
{
    uint64_t us = 0;
    cr_assert_eq(sim_parse_duration_us("250us", &us), 0);
    cr_assert_eq(us, 250);
    cr_assert_eq(sim_parse_duration_us("1.5s", &us), 0);
    cr_assert_eq(us, 1500000);
    cr_assert_eq(sim_parse_duration_us("0", &us), 0);
    cr_assert_eq(us, 0);
    cr_assert_eq(sim_parse_duration_us("10", &us), -1, "a unit is required");
    cr_assert_eq(sim_parse_duration_us("ms", &us), -1);
    cr_assert_eq(sim_parse_duration_us("5h", &us), -1);
    static const char *const specs[] = {
        "5ms",
        "uniform 1ms 10ms",
        "exponential mean=2ms max=50ms",
        "normal mean=5ms stddev=1ms",
        "pareto min=1ms shape=1.5 max=100ms",
    };
    struct prng prng;
    prng_seed(&prng, 1);
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct sim_dist d;
        char error[160];
        cr_assert_eq(sim_dist_parse(specs[i], &d, error, sizeof(error)), 0, "%s: %s", specs[i],
                     error);
        char formatted[160];
        sim_dist_format(&d, formatted, sizeof(formatted));
        struct sim_dist again;
        cr_assert_eq(sim_dist_parse(formatted, &again, error, sizeof(error)), 0, "%s: %s",
                     formatted, error);
        cr_assert_eq(memcmp(&d, &again, sizeof(d)), 0, "%s round-trips", specs[i]);
        for (int k = 0; k < 10000; k++) {
            uint64_t x = sim_dist_sample(&d, &prng);
            cr_assert(x >= d.min_us && x <= d.max_us);
        }
    }
}
