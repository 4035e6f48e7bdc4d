/* The simulator's subcommands (each parses its own options; see sim/cli.h for exit codes). */
#ifndef FLOWRAFT_SIM_CMD_H
#define FLOWRAFT_SIM_CMD_H

int sim_cmd_scenario(int argc, char **argv);

#endif
