/* Tests for `flowraft lincheck` (sim/cmd_lincheck.c): verdict lines and exit codes. */
#include "sim/cli.h"
#include "sim/lin_cmd.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/flowraft-lincmd-XXXXXX";

static void setup(void)
{
    cr_redirect_stdout();
    cr_redirect_stderr();
    cr_assert_not_null(mkdtemp(dir));
}

TestSuite(lin_cmd, .init = setup);

static const char *write_file(const char *name, const char *text)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static int run(int argc, const char **argv)
{
    optind = 0; /* as flowraft.c does before a subcommand */
    return sim_cmd_lincheck(argc, (char **)argv);
}

static const char good[] = "flowraft-history 1 register\n"
                           "invoke 0 1 0 write \"1\"\nok 0 1\ninvoke 1 2 2 read\nok 1 3 \"1\"\n";
static const char bad[] = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n"
                          "INFO  jepsen.util - 0\t:ok\t:write\t1\n"
                          "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n"
                          "INFO  jepsen.util - 1\t:ok\t:read\t2\n";

/* Invariant: exit 0 when every file is linearizable, with one verdict line per file. */
Test(lin_cmd, all_linearizable_exits_0)
{
    const char *a = write_file("a.hist", good);
    const char *argv[] = { "lincheck", "--quiet", a, a };
    cr_assert_eq(run(4, argv), SIM_EXIT_OK);
    fflush(stdout);
    char expected[2048];
    snprintf(expected, sizeof(expected), "%s: linearizable\n%s: linearizable\n", a, a);
    cr_assert_stdout_eq_str(expected);
}

/* Invariant: exit 1 when some file is not linearizable; the report names the failing op. */
Test(lin_cmd, not_linearizable_exits_1_with_window)
{
    const char *a = write_file("a.hist", good);
    const char *b = write_file("b.log", bad);
    const char *argv[] = { "lincheck", a, b };
    cr_assert_eq(run(3, argv), SIM_EXIT_CHECK_FAILED);
    fflush(stdout);
    FILE *out = cr_get_redirected_stdout();
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof(text) - 1, out);
    text[n] = '\0';
    cr_assert_not_null(strstr(text, "b.log: not-linearizable (register"), "%s", text);
    cr_assert_not_null(strstr(text, "op 1 client 1 read = \"2\" [ok, lines 3..4]"), "%s", text);
}

/* Invariant: exit 2 on a malformed file (named with its line), even if others are fine. */
Test(lin_cmd, parse_error_exits_2_naming_file_and_line)
{
    const char *a = write_file("a.hist", good);
    const char *c = write_file("c.log", "INFO  jepsen.util - 0\t:invoke\t:write\n");
    const char *argv[] = { "lincheck", a, c };
    cr_assert_eq(run(3, argv), SIM_EXIT_USAGE);
    fflush(stderr);
    char expected[1024];
    snprintf(expected, sizeof(expected), "flowraft lincheck: %s:1: bad value for :invoke write\n",
             c);
    cr_assert_stderr_eq_str(expected);
}

/* Invariant: usage errors exit 2; --help exits 0; --format forces a parser. */
Test(lin_cmd, usage)
{
    const char *none[] = { "lincheck" };
    cr_assert_eq(run(1, none), SIM_EXIT_USAGE);
    const char *bad_format[] = { "lincheck", "--format", "csv", "x" };
    cr_assert_eq(run(4, bad_format), SIM_EXIT_USAGE);
    const char *bad_steps[] = { "lincheck", "--max-steps", "-3", "x" };
    cr_assert_eq(run(4, bad_steps), SIM_EXIT_USAGE);
    const char *help[] = { "lincheck", "--help" };
    cr_assert_eq(run(2, help), SIM_EXIT_OK);
    const char *a = write_file("a.hist", good);
    const char *forced[] = { "lincheck", "--format", "jepsen-kv", a };
    cr_assert_eq(run(4, forced), SIM_EXIT_USAGE); /* not EDN */
}

/* Invariant: a search limit gives verdict unknown and exit 1, never a pass. */
Test(lin_cmd, search_limit_is_unknown_and_fails)
{
    const char *a = write_file("a.hist", good);
    const char *argv[] = { "lincheck", "--quiet", "--max-steps", "1", a };
    cr_assert_eq(run(5, argv), SIM_EXIT_CHECK_FAILED);
    fflush(stdout);
    char expected[1024];
    snprintf(expected, sizeof(expected), "%s: unknown\n", a);
    cr_assert_stdout_eq_str(expected);
}

/* Invariant: --dump prints the history in FlowRaft's format (a Jepsen log converts losslessly). */
Test(lin_cmd, dump_converts_to_own_format)
{
    const char *b = write_file("b.log", bad);
    const char *argv[] = { "lincheck", "--quiet", "--dump", b };
    cr_assert_eq(run(4, argv), SIM_EXIT_CHECK_FAILED);
    fflush(stdout);
    char expected[2048];
    snprintf(expected, sizeof(expected),
             "%s: not-linearizable\nflowraft-history 1 register\ninvoke 0 0 1 write \"1\"\n"
             "ok 0 2\ninvoke 1 1 3 read\nok 1 4 \"2\"\n",
             b);
    cr_assert_stdout_eq_str(expected);
}
