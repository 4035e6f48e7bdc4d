/* `flowraft lincheck`: reads history files in any supported format and prints a verdict each. */
#include "sim/lin_cmd.h"

#include "sim/cli.h"
#include "sim/hist.h"
#include "sim/lin.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void lincheck_usage(FILE *out)
{
    fprintf(out,
            "usage: flowraft lincheck [OPTIONS] FILE...\n\n"
            "Checks each history FILE for linearizability and prints one verdict per file:\n"
            "linearizable, not-linearizable (with the first operation that cannot be placed,\n"
            "the longest linearizable prefix before it and the operations concurrent with it),\n"
            "or unknown (a search limit was reached).\n\n"
            "options:\n"
            "  --format F       auto (default), jepsen-register, jepsen-kv or flowraft\n"
            "  --max-steps N    search steps per history before giving up (default %llu)\n"
            "  --max-memory MB  memory for the search per history, MiB (default %llu)\n"
            "  --dump           also print each history in FlowRaft's own format\n"
            "  --quiet          print only the verdict line of each file\n"
            "  --help           this text\n\n"
            "formats: jepsen-register (Jepsen logs of one register: 'INFO  jepsen.util - P\n"
            "  :invoke :write 4'), jepsen-kv (EDN lines '{:process 0, :type :invoke, :f :put,\n"
            "  :key \"k\", :value \"v\"}', keys start as \"\"), flowraft (see sim/hist.h).\n\n"
            "exit codes: 0 every file is linearizable; 1 some file is not, or is unknown;\n"
            "  2 usage error or a file that cannot be read or parsed (named on stderr).\n",
            (unsigned long long)LIN_STEPS_MAX_DEFAULT,
            (unsigned long long)(LIN_MEMORY_BYTES_MAX_DEFAULT >> 20));
}

static int lincheck_u64(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v == 0) {
        return -1;
    }
    *out = v;
    return 0;
}

struct lincheck_args {
    enum hist_format format;
    struct lin_options options;
    int dump;
    int quiet;
};

/* Checks one file; returns the exit code it alone would give. */
static int lincheck_file(const struct lincheck_args *args, const char *path)
{
    struct hist hist;
    int err = hist_load(&hist, args->format, path);
    if (err != HIST_E_OK) {
        fprintf(stderr, "flowraft lincheck: %s\n", hist.error);
        hist_free(&hist);
        return SIM_EXIT_USAGE;
    }
    struct lin_result result;
    enum lin_verdict verdict = lin_check(&hist, &args->options, &result);
    printf("%s: ", path);
    if (args->quiet) {
        printf("%s\n", lin_verdict_name(verdict));
    } else {
        lin_result_print(stdout, &hist, &result);
    }
    if (args->dump && hist_write_text(stdout, &hist) != HIST_E_OK) {
        fprintf(stderr, "flowraft lincheck: %s\n", hist.error);
    }
    hist_free(&hist);
    return verdict == LIN_LINEARIZABLE ? SIM_EXIT_OK : SIM_EXIT_CHECK_FAILED;
}

int sim_cmd_lincheck(int argc, char **argv)
{
    static const struct option options[] = {
        { "format", required_argument, NULL, 'f' },
        { "max-steps", required_argument, NULL, 's' },
        { "max-memory", required_argument, NULL, 'm' },
        { "dump", no_argument, NULL, 'd' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct lincheck_args args = { .format = HIST_FORMAT_AUTO };
    uint64_t memory_mib = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "f:s:m:dqh", options, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case 'f':
            bad = hist_format_from_name(optarg, &args.format) != 0;
            break;
        case 's':
            bad = lincheck_u64(optarg, &args.options.steps_max) != 0;
            break;
        case 'm':
            bad = lincheck_u64(optarg, &memory_mib) != 0 || memory_mib > (1ull << 30);
            args.options.memory_bytes_max = memory_mib << 20;
            break;
        case 'd':
            args.dump = 1;
            break;
        case 'q':
            args.quiet = 1;
            break;
        case 'h':
            lincheck_usage(stdout);
            return SIM_EXIT_OK;
        default:
            bad = 1;
            break;
        }
        if (bad) {
            if (opt != '?') {
                fprintf(stderr, "flowraft lincheck: bad value '%s' for --%s\n", optarg,
                        opt == 'f'   ? "format"
                        : opt == 's' ? "max-steps"
                                     : "max-memory");
            }
            lincheck_usage(stderr);
            return SIM_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "flowraft lincheck: no FILE given\n");
        lincheck_usage(stderr);
        return SIM_EXIT_USAGE;
    }
    int exit_code = SIM_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        int code = lincheck_file(&args, argv[i]);
        /* an unreadable file makes the whole run a usage/input error; else any failure is 1 */
        exit_code = code > exit_code ? code : exit_code;
    }
    fflush(stdout);
    return exit_code;
}
