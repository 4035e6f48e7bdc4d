/* `flowraft scenario FILE...`: validates scenario files and prints their effective settings. */
#include "sim/cmd.h"
#include "sim/cli.h"
#include "sim/scenario.h"

#include <getopt.h>
#include <stdio.h>

static void sim_cmd_scenario_usage(FILE *out)
{
    fprintf(out, "usage: flowraft scenario [--quiet] FILE...\n\n"
                 "Checks each scenario file and prints its effective settings, defaults included\n"
                 "(the format is documented in scenarios/README.md). A bad file is reported with\n"
                 "its name, line and key, and the exit status is 2.\n\n"
                 "  -q, --quiet   print only errors\n");
}

int sim_cmd_scenario(int argc, char **argv)
{
    static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "quiet", no_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 },
    };
    int quiet = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "hq", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            sim_cmd_scenario_usage(stdout);
            return SIM_EXIT_OK;
        case 'q':
            quiet = 1;
            break;
        default:
            sim_cmd_scenario_usage(stderr);
            return SIM_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        sim_cmd_scenario_usage(stderr);
        return SIM_EXIT_USAGE;
    }
    int status = SIM_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        static struct sim_scenario scenario; /* large: keep it off the stack */
        char error[SIM_SCENARIO_ERROR_BYTES_MAX];
        if (sim_scenario_load(argv[i], &scenario, error, sizeof(error)) != 0) {
            fprintf(stderr, "flowraft scenario: %s\n", error);
            status = SIM_EXIT_USAGE;
            continue;
        }
        if (!quiet) {
            sim_scenario_print(&scenario, stdout);
            if (i + 1 < argc) {
                printf("\n");
            }
        }
    }
    return status;
}
