/* Helpers shared by the run, replay and sweep subcommands: bug names, seeds, run summaries. */
#include "sim/bugs.h"
#include "sim/cli.h"
#include "sim/cmd.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int sim_cmd_parse_bug(const char *name, struct sim_run_options *options)
{
    if (sim_bug_parse(name, &options->raft_test_bugs, &options->sim_bugs) == 0) {
        return 0;
    }
    fprintf(stderr, "flowraft: unknown --bug '%s'; deliberately broken variants are:\n", name);
    sim_bug_list(stderr);
    return -1;
}

int sim_cmd_parse_seed(const char *text, uint64_t *seed)
{
    if (text == NULL || *text < '0' || *text > '9') {
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 0);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *seed = value;
    return 0;
}

int sim_cmd_parse_nodes(const char *text, uint32_t *mask)
{
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", text);
    uint32_t bits = 0;
    char *save = NULL;
    for (char *word = strtok_r(copy, ",", &save); word != NULL; word = strtok_r(NULL, ",", &save)) {
        uint64_t id = 0;
        if (sim_cmd_parse_seed(word, &id) != 0 || id < 1 || id > SIM_NODES_MAX) {
            return -1;
        }
        bits |= 1u << (id - 1);
    }
    if (bits == 0) {
        return -1;
    }
    *mask = bits;
    return 0;
}

int sim_cmd_exit_code(const struct report_run *run)
{
    switch (run->verdict) {
    case REPORT_PASS:
        return SIM_EXIT_OK;
    case REPORT_VIOLATION:
    case REPORT_NONDETERMINISM:
    case REPORT_CRASH:
        return SIM_EXIT_CHECK_FAILED;
    case REPORT_ERROR:
        break;
    }
    return SIM_EXIT_USAGE;
}

static uint64_t c(const struct report_run *run, const char *name)
{
    return report_run_counter(run, name);
}

/* Reads, snapshot transfers, membership changes and leadership transfers, when there were any. */
static void sim_cmd_print_issue6(const struct report_run *run, FILE *out)
{
    fprintf(out,
            "reads       %" PRIu64 " ReadIndex reads served (%" PRIu64 " us average wait), %" PRIu64
            " redirected after losing leadership, %" PRIu64 " refused\n",
            c(run, "reads.served"), c(run, "reads.wait_us"), c(run, "reads.not_leader"),
            c(run, "reads.refused"));
    fprintf(out,
            "snapshots   %" PRIu64 " installed from a leader, %" PRIu64
            " InstallSnapshot chunks sent\n",
            c(run, "snapshot.installs"), c(run, "snapshot.chunks"));
    if (c(run, "membership.requested") + c(run, "transfer.requested") == 0) {
        return;
    }
    fprintf(out,
            "membership  %" PRIu64 " changes asked: %" PRIu64 " added, %" PRIu64
            " removed, %" PRIu64 " replaced, %" PRIu64 " abandoned, %" PRIu64 " skipped; %" PRIu64
            " configurations committed, %" PRIu64 " nodes stopped; %" PRIu64
            " leadership transfers (%" PRIu64 " took over)\n",
            c(run, "membership.requested"), c(run, "membership.added"),
            c(run, "membership.removed"), c(run, "membership.replaced"),
            c(run, "membership.abandoned"), c(run, "membership.skipped"),
            c(run, "membership.committed"), c(run, "membership.stopped"),
            c(run, "transfer.requested"), c(run, "transfer.done"));
}

/* The workflow plane's summary, when the scenario submits workflows. */
static void sim_cmd_print_workflows(const struct report_run *run, FILE *out)
{
    int present = 0;
    for (uint32_t i = 0; i < run->counter_count; i++) {
        present |= strcmp(run->counters[i].name, "wf.submitted") == 0;
    }
    if (!present) {
        return;
    }
    uint64_t completed = c(run, "wf.completed");
    fprintf(out,
            "workflows   %" PRIu64 " submitted: %" PRIu64 " completed, %" PRIu64 " failed, %" PRIu64
            " cancelled, %" PRIu64 " unfinished (%" PRIu64 " paused); tasks %" PRIu64
            " completed, %" PRIu64 " failed, %" PRIu64 " unfinished",
            c(run, "wf.submitted"), completed, c(run, "wf.failed"), c(run, "wf.cancelled"),
            c(run, "wf.unfinished"), c(run, "wf.paused"), c(run, "wf.tasks.completed"),
            c(run, "wf.tasks.failed"), c(run, "wf.tasks.unfinished"));
    if (completed > 0) {
        fprintf(out, "; submit to completion %" PRIu64 " ms on average",
                c(run, "wf.completion_ms_sum") / completed);
    }
    fputc('\n', out);
    fprintf(out,
            "attempts    %" PRIu64 " started, %" PRIu64 " retries, %" PRIu64
            " lease expiries, %" PRIu64 " extensions, %" PRIu64
            " duplicate reports refused by fencing; %" PRIu64 " submits resent (%" PRIu64
            " answered by the existing run)\n",
            c(run, "wf.attempts"), c(run, "wf.retries"), c(run, "wf.lease_expiries"),
            c(run, "wf.extensions"), c(run, "wf.duplicates"), c(run, "wf.submit_resends"),
            c(run, "wf.submit_existing"));
    fprintf(out,
            "effects     %" PRIu64 " executions, %" PRIu64 " effects applied, %" PRIu64
            " repeated executions deduplicated by the ledger; %" PRIu64 " worker crashes; %" PRIu64
            " nodes replayed from storage\n",
            c(run, "wf.executions"), c(run, "wf.effects"), c(run, "wf.effect_duplicates"),
            c(run, "wf.worker_crashes"), c(run, "wf.rebuilds"));
}

void sim_cmd_print_run(const struct report_run *run, const struct sim_scenario *scenario, FILE *out)
{
    assert(run != NULL);
    double virtual_s = (double)run->virtual_time_us / 1e6;
    fprintf(out, "scenario    %s (%s), seed %" PRIu64 "\n", run->scenario, scenario->description,
            run->seed);
    fprintf(out,
            "events      %" PRIu64 " in %.3f virtual s, %.3f wall s (%.0f events/s, %.0fx "
            "real time)\n",
            run->events, virtual_s, run->wall_seconds,
            run->wall_seconds > 0 ? (double)run->events / run->wall_seconds : 0.0,
            run->wall_seconds > 0 ? virtual_s / run->wall_seconds : 0.0);
    fprintf(out,
            "raft        %" PRIu64 " entries committed, %" PRIu64 " leaders elected, %" PRIu64
            " snapshots persisted, %" PRIu64 " restored from a snapshot, %" PRIu64 " checks\n",
            run->commits, run->elections, c(run, "snapshots"), c(run, "snapshot.restores"),
            c(run, "checks"));
    fprintf(out,
            "faults      crash %" PRIu64 " (%" PRIu64 " inside a group commit), restart %" PRIu64
            ", pause %" PRIu64 ", partition %" PRIu64 ", clog %" PRIu64 "\n",
            c(run, "crash"), c(run, "disk.torn_crashes"), c(run, "restart"), c(run, "pause"),
            c(run, "partition"), c(run, "clog"));
    fprintf(out,
            "disk        %" PRIu64 " group commits, %" PRIu64 " I/O errors, %" PRIu64
            " bit flips at rest, %" PRIu64 " nodes refused to start on a damaged disk\n",
            c(run, "disk.syncs"), c(run, "disk.errors"), c(run, "disk.bit_flips"),
            c(run, "disk.dead_nodes"));
    fprintf(out,
            "network     sent %" PRIu64 ", delivered %" PRIu64 ", dropped %" PRIu64
            ", partitioned %" PRIu64 ", duplicated %" PRIu64 ", corrupted %" PRIu64
            " (caught %" PRIu64 "), clogged %" PRIu64 "\n",
            c(run, "net.sent"), c(run, "net.delivered"), c(run, "net.dropped"),
            c(run, "net.partitioned"), c(run, "net.duplicated"), c(run, "net.corrupted"),
            c(run, "net.corrupt_caught"), c(run, "net.clogged"));
    fprintf(out,
            "clients     %" PRIu64 " operations: ok %" PRIu64 ", fail %" PRIu64 ", unknown %" PRIu64
            "; %" PRIu64 " retries, %" PRIu64 " timeouts\n",
            c(run, "client.ops"), c(run, "client.ok"), c(run, "client.fail"),
            c(run, "client.unknown"), c(run, "client.retries"), c(run, "client.timeouts"));
    sim_cmd_print_issue6(run, out);
    sim_cmd_print_workflows(run, out);
    if (run->verdict == REPORT_PASS) {
        fprintf(out,
                "liveness    a new command committed %" PRIu64 " ms after the faults stopped\n",
                c(run, "recovery_ms"));
    }
    fprintf(out, "trace hash  %016" PRIx64 "\n", run->trace_hash);
    if (run->verdict == REPORT_PASS) {
        fprintf(out, "result      PASS\n");
        return;
    }
    fprintf(out, "result      %s: %s\n", run->verdict == REPORT_ERROR ? "ERROR" : "VIOLATION",
            run->invariant);
    fprintf(out, "%s", run->detail);
    fprintf(out, "reproduce   %s\n", run->repro);
}
