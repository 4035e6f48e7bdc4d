/* `flowraft history`: a workflow's history from a run, attempt by attempt, with its ledger view. */
#include "sim/cli.h"
#include "sim/cmd.h"

#include "workflows/wf_observe.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void sim_cmd_history_usage(FILE *out)
{
    fprintf(out,
            "usage: flowraft history SCENARIO [--seed N] [--workflow ID] [--bug NAME]...\n\n"
            "Runs SCENARIO with seed N (default 1), then prints the history of every workflow\n"
            "(or only ID) as the committed log has it: the workflow, each task in definition\n"
            "order, each attempt with its worker, start, lease deadline, end, outcome, error,\n"
            "lease extensions and late (refused) reports. Under each task, what the simulated\n"
            "side-effect ledger saw for its idempotency key. Ends with the run's result.\n\n"
            "  -s, --seed N         the run's 64-bit seed\n"
            "  -w, --workflow ID    only this workflow\n"
            "      --bug NAME       run a deliberately broken variant (see flowraft run)\n"
            "exit status: 0 the run passed, 1 it failed a check, 2 usage or input error (or no\n"
            "such workflow)\n");
}

struct sim_cmd_history {
    const char *workflow; /* NULL: all */
    FILE *out;
    uint32_t printed;
    int failed; /* out of memory */
};

static void sim_cmd_history_ledger(const struct sim_world *w, const struct wf_run *run, FILE *out)
{
    for (uint32_t t = 0; t < run->def.task_count; t++) {
        char key[WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
        wf_idempotency_key(run->def.id, run->def.tasks[t].id, key);
        const struct sim_ledger_key *k = sim_ledger_find(&w->wf->ledger, key);
        if (k == NULL) {
            fprintf(out, "  ledger %s: never executed\n", key);
            continue;
        }
        fprintf(out,
                "  ledger %s: executions=%" PRIu32 " effects=%" PRIu32
                " applied_by=attempt %" PRIu32 " on w%" PRIu32 "\n",
                key, k->executions, k->effects, k->first.attempt, k->first_worker);
    }
}

static void sim_cmd_history_print(struct sim_cmd_history *h, const struct sim_world *w,
                                  const struct wf_run *run)
{
    const struct wf_state *state = sim_wf_committed(w);
    size_t size = wf_history_render(state, run->def.id, NULL, 0) + 1;
    char *text = malloc(size);
    if (text == NULL) {
        h->failed = 1;
        return;
    }
    wf_history_render(state, run->def.id, text, size);
    fprintf(h->out, "%s%s", h->printed > 0 ? "\n" : "", text);
    if (size > 1 && text[size - 2] != '\n') {
        fputc('\n', h->out);
    }
    free(text);
    sim_cmd_history_ledger(w, run, h->out);
    h->printed++;
}

static void sim_cmd_history_at_end(void *ctx, const struct sim_world *w)
{
    struct sim_cmd_history *h = ctx;
    if (w->wf == NULL) {
        return; /* the run could not be set up */
    }
    const struct wf_state *state = sim_wf_committed(w);
    for (uint32_t i = 0; i < wf_state_run_count(state); i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        if (h->workflow == NULL || strcmp(h->workflow, run->def.id) == 0) {
            sim_cmd_history_print(h, w, run);
        }
    }
}

int sim_cmd_history(int argc, char **argv)
{
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "seed", required_argument, NULL, 's' },
        { "workflow", required_argument, NULL, 'w' },
        { "bug", required_argument, NULL, 'B' },
        { NULL, 0, NULL, 0 },
    };
    struct sim_run_options run_options = { .seed = 1 };
    struct sim_cmd_history h = { .out = stdout };
    int opt;
    while ((opt = getopt_long(argc, argv, "hs:w:", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            sim_cmd_history_usage(stdout);
            return SIM_EXIT_OK;
        case 's':
            if (sim_cmd_parse_seed(optarg, &run_options.seed) != 0) {
                fprintf(stderr,
                        "flowraft history: --seed: expected an unsigned 64-bit number, "
                        "got '%s'\n",
                        optarg);
                return SIM_EXIT_USAGE;
            }
            break;
        case 'w':
            h.workflow = optarg;
            break;
        case 'B':
            if (sim_cmd_parse_bug(optarg, &run_options) != 0) {
                return SIM_EXIT_USAGE;
            }
            break;
        default:
            sim_cmd_history_usage(stderr);
            return SIM_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        sim_cmd_history_usage(stderr);
        return SIM_EXIT_USAGE;
    }
    static struct sim_scenario scenario;
    char error[SIM_SCENARIO_ERROR_BYTES_MAX];
    if (sim_scenario_load(argv[optind], &scenario, error, sizeof(error)) != 0) {
        fprintf(stderr, "flowraft: %s\n", error);
        return SIM_EXIT_USAGE;
    }
    if (scenario.wf.submit_count == 0) {
        fprintf(stderr, "flowraft history: %s submits no workflow ([workflows] submit)\n",
                argv[optind]);
        return SIM_EXIT_USAGE;
    }
    run_options.scenario = &scenario;
    run_options.at_end = sim_cmd_history_at_end;
    run_options.at_end_ctx = &h;
    static struct report_run run;
    sim_run(&run_options, &run);
    if (h.failed) {
        fprintf(stderr, "flowraft history: out of memory\n");
        return SIM_EXIT_USAGE;
    }
    if (h.workflow != NULL && h.printed == 0) {
        fprintf(stderr,
                "flowraft history: no workflow '%s' in the committed log of %s seed %" PRIu64 "\n",
                h.workflow, argv[optind], run.seed);
        return SIM_EXIT_USAGE;
    }
    printf("\nrun         %s seed %" PRIu64 ", trace hash %016" PRIx64 ": %s%s%s\n", run.scenario,
           run.seed, run.trace_hash, report_verdict_name(run.verdict),
           run.verdict != REPORT_PASS ? " " : "", run.verdict != REPORT_PASS ? run.invariant : "");
    if (run.verdict != REPORT_PASS) {
        printf("%sreproduce   %s\n", run.detail, run.repro);
    }
    return sim_cmd_exit_code(&run);
}
