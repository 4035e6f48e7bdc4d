/* The `flowraft lincheck` subcommand: check history files for linearizability. */
#ifndef FLOWRAFT_SIM_LIN_CMD_H
#define FLOWRAFT_SIM_LIN_CMD_H

/* Runs `flowraft lincheck [OPTIONS] FILE...`; returns an enum sim_exit (sim/cli.h). */
int sim_cmd_lincheck(int argc, char **argv);

#endif
