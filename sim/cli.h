/* The flowraft command line: exit codes and the subcommand table shared by every subcommand. */
#ifndef FLOWRAFT_SIM_CLI_H
#define FLOWRAFT_SIM_CLI_H

/* Exit codes of every flowraft subcommand (documented in `flowraft --help` and README.md). */
enum sim_exit {
    SIM_EXIT_OK = 0,           /* the command ran and every check passed */
    SIM_EXIT_CHECK_FAILED = 1, /* the command ran and a check failed (a violation, a bad verdict) */
    SIM_EXIT_USAGE = 2,        /* bad usage or bad input (file, line or field named on stderr) */
};

/* One subcommand: `run` receives argv with argv[0] set to the subcommand's name. */
struct sim_command {
    const char *name;
    const char *summary; /* one line for `flowraft --help` */
    int (*run)(int argc, char **argv);
};

#endif
