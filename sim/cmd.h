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
int sim_cmd_history(int argc, char **argv);
/* --- mc: the shrinker and the model checker (sim/cmd_shrink.c, sim/cmd_check.c) --- */
int sim_cmd_shrink(int argc, char **argv);
int sim_cmd_check(int argc, char **argv);
/* sweep --shrink: shrinks the first failing seed of each invariant into DIR (NULL: the current
 * directory) and prints the replay commands. Returns 0, or -1 if one could not be shrunk. */
int sim_cmd_shrink_sweep(const struct report_sweep *sweep, const struct sim_scenario *scenarios,
                         uint32_t scenario_count, const struct sim_run_options *bugs,
                         const char *dir);
/* Parses "net.drop,proc.crash" (or "none") into a bit set of enum sim_concern; -1 if unknown. */
int sim_cmd_parse_concerns(const char *text, uint32_t *mask);

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
