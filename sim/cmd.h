/* The simulator's subcommands (each parses its own options; see sim/cli.h for exit codes). */
#ifndef FLOWRAFT_SIM_CMD_H
#define FLOWRAFT_SIM_CMD_H

#include "reports/report.h"
#include "sim/world.h"

#include <stdint.h>
#include <stdio.h>

int sim_cmd_scenario(int argc, char **argv);
int sim_cmd_run(int argc, char **argv);
int sim_cmd_replay(int argc, char **argv);
int sim_cmd_sweep(int argc, char **argv);

/* Helpers shared by run, replay and sweep (sim/cmd_common.c). */

/* Parses a --bug name into the options' bug bits; returns -1 (and lists the names) if unknown. */
int sim_cmd_parse_bug(const char *name, struct sim_run_options *options);
/* Parses a seed ("42"); returns -1 on anything else. */
int sim_cmd_parse_seed(const char *text, uint64_t *seed);
/* Parses "1,3" (1-based node ids) into a bit set of 0-based nodes. */
int sim_cmd_parse_nodes(const char *text, uint32_t *mask);
/* Prints a run's summary (and on failure the violation with its reproduce command). */
void sim_cmd_print_run(const struct report_run *run, const struct sim_scenario *scenario,
                       FILE *out);
/* Maps a run's verdict to an exit code. */
int sim_cmd_exit_code(const struct report_run *run);

#endif
