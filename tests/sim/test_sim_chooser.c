/* Tests for sim/chooser: sub-stream independence, record/replay, divergence and shrink defaults. */
#include "sim/chooser.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void temp_path(char *out, size_t size, const char *tag)
{
    snprintf(out, size, "/tmp/flowraft-test-%s-%ld.sched", tag, (long)getpid());
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Invariant: the same seed gives the same decisions; a different seed gives different ones. */
Test(sim_chooser, same_seed_same_decisions)
{
    struct sim_chooser a, b, c;
    sim_chooser_init_prng(&a, 42);
    sim_chooser_init_prng(&b, 42);
    sim_chooser_init_prng(&c, 43);
    int differs = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sim_choose(&a, SIM_CONCERN_NET_DELAY, 1000);
        cr_assert_eq(x, sim_choose(&b, SIM_CONCERN_NET_DELAY, 1000));
        differs |= x != sim_choose(&c, SIM_CONCERN_NET_DELAY, 1000);
    }
    cr_assert(differs);
    cr_assert_eq(a.decisions, 1000);
}

/* Invariant: drawing from one concern does not change the draws of another (sub-streams). */
Test(sim_chooser, concerns_are_independent)
{
    struct sim_chooser a, b;
    sim_chooser_init_prng(&a, 7);
    sim_chooser_init_prng(&b, 7);
    for (int i = 0; i < 100; i++) {
        /* b additionally draws drops (a fault kind turned on); delays must not move */
        (void)sim_choose_chance(&b, SIM_CONCERN_NET_DROP, 0.5);
        cr_assert_eq(sim_choose(&a, SIM_CONCERN_NET_DELAY, 1u << 20),
                     sim_choose(&b, SIM_CONCERN_NET_DELAY, 1u << 20));
    }
}

/* Invariant: certain outcomes are not decisions: chance 0 and 1, ranges of one value. */
Test(sim_chooser, certain_outcomes_draw_nothing)
{
    struct sim_chooser a;
    sim_chooser_init_prng(&a, 1);
    cr_assert_eq(sim_choose_chance(&a, SIM_CONCERN_CRASH, 0.0), 0);
    cr_assert_eq(sim_choose_chance(&a, SIM_CONCERN_CRASH, 1.0), 1);
    cr_assert_eq(sim_choose(&a, SIM_CONCERN_SCHED, 1), 0);
    cr_assert_eq(sim_choose_sampled(&a, SIM_CONCERN_NET_DELAY, 5, 5, 5), 5);
    cr_assert_eq(a.decisions, 0);
}

/* Invariant: chance draws match their probability (roughly) and stay in range. */
Test(sim_chooser, chance_has_the_right_rate)
{
    struct sim_chooser a;
    sim_chooser_init_prng(&a, 99);
    int hits = 0;
    for (int i = 0; i < 100000; i++) {
        hits += sim_choose_chance(&a, SIM_CONCERN_NET_DROP, 0.1);
    }
    cr_assert(hits > 9000 && hits < 11000, "hits %d", hits);
}

/* Invariant: replaying a recorded schedule reproduces every decision exactly. */
Test(sim_chooser, record_then_replay_is_exact)
{
    char path[128];
    temp_path(path, sizeof(path), "replay");
    struct sim_chooser rec;
    sim_chooser_init_prng(&rec, 1234);
    struct sim_schedule_header header = { .seed = 1234 };
    snprintf(header.scenario, sizeof(header.scenario), "scenarios/smoke.ini");
    cr_assert_eq(sim_chooser_record(&rec, path, &header), 0);
    uint64_t values[300];
    for (int i = 0; i < 100; i++) {
        values[3 * i] = sim_choose(&rec, SIM_CONCERN_SCHED, 3 + (uint64_t)i);
        values[3 * i + 1] = (uint64_t)sim_choose_chance(&rec, SIM_CONCERN_NET_DUP, 0.3);
        values[3 * i + 2] = sim_choose_u64(&rec, SIM_CONCERN_NODE_SEED);
    }
    cr_assert_eq(sim_chooser_deinit(&rec), 0);

    struct sim_chooser rep;
    struct sim_schedule_header read_header;
    cr_assert_eq(sim_chooser_init_replay(&rep, path, 0, &read_header), 0, "%s", rep.error);
    cr_assert_eq(read_header.seed, 1234);
    cr_assert_str_eq(read_header.scenario, "scenarios/smoke.ini");
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(sim_choose(&rep, SIM_CONCERN_SCHED, 3 + (uint64_t)i), values[3 * i]);
        cr_assert_eq((uint64_t)sim_choose_chance(&rep, SIM_CONCERN_NET_DUP, 0.3),
                     values[3 * i + 1]);
        cr_assert_eq(sim_choose_u64(&rep, SIM_CONCERN_NODE_SEED), values[3 * i + 2]);
    }
    cr_assert_not(sim_chooser_failed(&rep), "%s", rep.error);
    /* Invariant: a schedule that runs out continues with the calm choice 0 (shrunk schedules). */
    cr_assert_eq(sim_choose(&rep, SIM_CONCERN_SCHED, 10), 0);
    cr_assert_eq(sim_choose_chance(&rep, SIM_CONCERN_CRASH, 0.9), 0);
    cr_assert_eq(rep.decisions_defaulted, 2);
    cr_assert_not(sim_chooser_failed(&rep));
    sim_chooser_deinit(&rep);
    unlink(path);
}

/* Invariant: a run that asks for a different decision than recorded fails naming the line. */
Test(sim_chooser, strict_replay_reports_divergence_with_line)
{
    char path[128];
    temp_path(path, sizeof(path), "diverge");
    write_file(path, "flowraft-schedule 1\nseed 5\n# a comment\nsched 3 1\nnet.drop 2 1\n");
    struct sim_chooser rep;
    cr_assert_eq(sim_chooser_init_replay(&rep, path, 0, NULL), 0, "%s", rep.error);
    cr_assert_eq(sim_choose(&rep, SIM_CONCERN_SCHED, 3), 1);
    cr_assert_eq(sim_choose(&rep, SIM_CONCERN_NET_DELAY, 10), 0);
    cr_assert(sim_chooser_failed(&rep));
    cr_assert(strstr(rep.error, ":5:") != NULL, "%s", rep.error);
    cr_assert(strstr(rep.error, "diverged") != NULL, "%s", rep.error);
    cr_assert(strstr(rep.error, "net.delay") != NULL, "%s", rep.error);
    sim_chooser_deinit(&rep);
    unlink(path);
}

/* Invariant: lenient replay accepts any edited schedule: mismatches are ignored, values clamped. */
Test(sim_chooser, lenient_replay_clamps)
{
    char path[128];
    temp_path(path, sizeof(path), "lenient");
    write_file(path, "flowraft-schedule 1\nsched 100 57\nnet.drop 2 1\n");
    struct sim_chooser rep;
    cr_assert_eq(sim_chooser_init_replay(&rep, path, 1, NULL), 0, "%s", rep.error);
    cr_assert_eq(sim_choose(&rep, SIM_CONCERN_NET_DELAY, 10), 9);
    cr_assert_eq(sim_choose_chance(&rep, SIM_CONCERN_CRASH, 0.5), 1);
    cr_assert_not(sim_chooser_failed(&rep), "%s", rep.error);
    sim_chooser_deinit(&rep);
    unlink(path);
}

/* Invariant: malformed schedules are rejected with the file and line. */
Test(sim_chooser, malformed_schedules_name_the_line)
{
    static const struct {
        const char *text;
        const char *needle;
    } cases[] = {
        { "", ":0: empty schedule" },
        { "not a schedule\n", ":1: not a flowraft schedule" },
        { "flowraft-schedule 1\nseed x\n", ":2: bad seed" },
        { "flowraft-schedule 1\nsched 3\n", ":2: malformed decision" },
        { "flowraft-schedule 1\nbogus 3 1\n", ":2: malformed decision" },
        { "flowraft-schedule 1\nsched 3 3\n", ":2: value 3 is not below n = 3" },
        { "flowraft-schedule 1\nsched 3 -1\n", ":2: malformed decision" },
        { "flowraft-schedule 1\nsched 3 1 9\n", ":2: malformed decision" },
    };
    char path[128];
    temp_path(path, sizeof(path), "malformed");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file(path, cases[i].text);
        struct sim_chooser rep;
        if (sim_chooser_init_replay(&rep, path, 0, NULL) == 0) {
            (void)sim_choose(&rep, SIM_CONCERN_SCHED, 3);
        }
        cr_assert(sim_chooser_failed(&rep), "case %zu", i);
        cr_assert(strstr(rep.error, cases[i].needle) != NULL, "case %zu: %s", i, rep.error);
        cr_assert(strstr(rep.error, path) != NULL, "case %zu: %s", i, rep.error);
        sim_chooser_deinit(&rep);
    }
    unlink(path);
}

static uint64_t always_last(void *ctx, enum sim_concern concern, uint64_t n, uint64_t drawn)
{
    (void)concern;
    (void)drawn;
    int *calls = ctx;
    (*calls)++;
    return n == 0 ? UINT64_MAX : n - 1;
}

/* Invariant: a strategy (model checker) sees every decision and its answer is what runs. */
Test(sim_chooser, strategy_decides)
{
    int calls = 0;
    struct sim_chooser s;
    sim_chooser_init_strategy(
        &s, 3, (struct sim_chooser_strategy){ .choose = always_last, .ctx = &calls });
    cr_assert_eq(sim_choose(&s, SIM_CONCERN_SCHED, 4), 3);
    cr_assert_eq(sim_choose_chance(&s, SIM_CONCERN_NET_DROP, 0.01), 1);
    cr_assert_eq(sim_choose_sampled(&s, SIM_CONCERN_NET_DELAY, 10, 20, 12), 20);
    cr_assert_eq(calls, 3);
}

/* Invariant: concern names round-trip (they are the schedule file's vocabulary). */
Test(sim_chooser, concern_names_round_trip)
{
    for (int i = 0; i < SIM_CONCERN_COUNT; i++) {
        cr_assert_eq(sim_concern_from_name(sim_concern_name((enum sim_concern)i)), i);
    }
    cr_assert_eq(sim_concern_from_name("nope"), -1);
}
