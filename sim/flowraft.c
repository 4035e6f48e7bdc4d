/* The flowraft program: global options and dispatch to subcommands. */
#include "sim/cli.h"
#include "sim/cmd.h"
#include "sim/lin_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#ifndef FLOWRAFT_VERSION
#define FLOWRAFT_VERSION "unknown"
#endif

/* Only subcommands that work are listed here; a new one is added when it is real. */
static const struct sim_command sim_commands[] = {
    { "run", "run one seeded chaos simulation of a scenario", sim_cmd_run },
    { "replay", "reproduce a run exactly from its seed or a schedule, with an event log",
      sim_cmd_replay },
    { "sweep", "run many seeds of many scenarios in parallel, with reports", sim_cmd_sweep },
    { "scenario", "check scenario files and print their effective settings", sim_cmd_scenario },
    { "lincheck", "check history files for linearizability (Jepsen or FlowRaft format)",
      sim_cmd_lincheck },
    { "history", "print a workflow's history from a run, attempt by attempt", sim_cmd_history },
    { "shrink", "minimise a failing run to a small schedule that fails the same way",
      sim_cmd_shrink },
    { "check", "model-check a small scenario: every path of its bounded decision tree",
      sim_cmd_check },
    { NULL, NULL, NULL },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: flowraft [--help] [--version] COMMAND [ARGS...]\n\n");
    fprintf(out, "FlowRaft: a deterministic simulation testbed for a Raft-replicated workflow "
                 "engine.\n\ncommands:\n");
    int listed = 0;
    for (const struct sim_command *c = sim_commands; c->name != NULL; c++) {
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
        listed++;
    }
    if (listed == 0) {
        fprintf(out, "  (none yet)\n");
    }
    fprintf(out, "\nRun `flowraft COMMAND --help` for a command's options.\n\n"
                 "exit codes:\n"
                 "  0  ok: the command ran and every check passed\n"
                 "  1  a check failed (an invariant violation, a wrong verdict)\n"
                 "  2  usage or input error (the file, line or field is named on stderr)\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    /* '+' stops at the first non-option so that subcommands parse their own options. */
    int opt;
    while ((opt = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage(stdout);
            return SIM_EXIT_OK;
        case 'V':
            printf("flowraft %s\n", FLOWRAFT_VERSION);
            return SIM_EXIT_OK;
        default:
            usage(stderr);
            return SIM_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return SIM_EXIT_USAGE;
    }
    const char *name = argv[optind];
    for (const struct sim_command *c = sim_commands; c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0) {
            int first = optind;
            optind = 0; /* glibc: 0 re-initialises getopt for the subcommand's own parsing */
            return c->run(argc - first, argv + first);
        }
    }
    fprintf(stderr, "flowraft: unknown command '%s' (see flowraft --help)\n", name);
    return SIM_EXIT_USAGE;
}
