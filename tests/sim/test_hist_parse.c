/* Tests for the Jepsen parsers (sim/hist_jepsen_*.c) and format detection (sim/hist_load.c). */
#include "sim/hist.h"

#include "core/prng.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct hist hist;

static void teardown(void)
{
    hist_free(&hist);
}

TestSuite(hist_parse, .fini = teardown);

static int parse(enum hist_format format, const char *text)
{
    hist_free(&hist);
    return hist_parse(&hist, format, "t.log", text, strlen(text));
}

static int str_is(struct hist_str s, const char *expected)
{
    size_t len;
    const char *bytes = hist_str_bytes(&hist, s, &len);
    if (expected == NULL || bytes == NULL) {
        return expected == bytes;
    }
    return len == strlen(expected) && memcmp(bytes, expected, len) == 0;
}

/* Both field separators of the shared data: tabs, and runs of spaces. */
static const char register_log[] = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
                                   "INFO  jepsen.util - 1   :invoke :write  4\n"
                                   "INFO  jepsen.util - 2\t:invoke\t:cas\t[4 2]\n"
                                   "INFO  jepsen.util - 0\t:ok\t:read\tnil\n"
                                   "INFO  jepsen.util - 1   :ok     :write  4\n"
                                   "INFO  jepsen.util - 2\t:fail\t:cas\t[4 2]\n"
                                   "\n"
                                   "INFO  jepsen.util - 3   :invoke :read   nil\n"
                                   "INFO  jepsen.util - 4\t:invoke\t:write\t-07\n"
                                   "INFO  jepsen.util - 3   :fail   :read   :timed-out\n"
                                   "INFO  jepsen.util - 4\t:info\t:write\t:timed-out\r\n"
                                   "INFO  jepsen.util - 5\t:invoke\t:read\tnil\n"
                                   "INFO  jepsen.util - 5\t:ok\t:read\t4\n"
                                   "INFO  jepsen.util - 6\t:invoke\t:cas\t[1 3]\n";

/* Invariant: Jepsen register events map to ops: :ok -> OK, :fail -> FAIL (no effect), :info and
 * a :fail read -> UNKNOWN, no completion -> PENDING; values are canonical decimal text; times
 * are line numbers. */
Test(hist_parse, jepsen_register_outcomes_and_values)
{
    cr_assert_eq(parse(HIST_FORMAT_AUTO, register_log), HIST_E_OK, "%s", hist.error);
    cr_assert_eq(hist.model, HIST_MODEL_REGISTER);
    cr_assert_eq(hist.ops_count, 7);
    cr_assert(hist.time_is_line);
    const struct hist_op *ops = hist.ops;
    cr_assert(ops[0].kind == HIST_READ && ops[0].outcome == HIST_OK && str_is(ops[0].result, NULL));
    cr_assert(ops[1].kind == HIST_WRITE && ops[1].outcome == HIST_OK && str_is(ops[1].value, "4"));
    cr_assert(ops[2].kind == HIST_CAS && ops[2].outcome == HIST_FAIL);
    cr_assert(str_is(ops[2].expected, "4") && str_is(ops[2].value, "2"));
    cr_assert(ops[3].kind == HIST_READ && ops[3].outcome == HIST_UNKNOWN);
    cr_assert(ops[4].outcome == HIST_UNKNOWN && str_is(ops[4].value, "-7"));
    cr_assert(ops[5].outcome == HIST_OK && str_is(ops[5].result, "4"));
    cr_assert(ops[6].outcome == HIST_PENDING && ops[6].complete_event == HIST_EVENT_NONE);
    cr_assert_eq(ops[0].invoke_time, 1);
    cr_assert_eq(ops[0].complete_time, 4);
    cr_assert_eq(ops[3].invoke_time, 8);
    cr_assert_eq(hist.events_count, 13);
}

/* Invariant: every malformed register line is an error naming the file and the line. */
Test(hist_parse, jepsen_register_malformed_lines_name_the_line)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        { "garbage\n", "t.log:1: expected a 'jepsen.util - ' log line" },
        { "INFO  jepsen.util - x :invoke :read nil\n", "t.log:1: expected a process id" },
        { "INFO  jepsen.util - 1 :start :read nil\n", "t.log:1: expected :invoke" },
        { "INFO  jepsen.util - 1 :invoke :delete nil\n", "t.log:1: expected :read" },
        { "INFO  jepsen.util - 1 :invoke :write\n", "t.log:1: bad value for :invoke write" },
        { "INFO  jepsen.util - 1 :invoke :cas [1 2\n", "t.log:1: bad value for :invoke cas" },
        { "INFO  jepsen.util - 1 :invoke :write 99999999999999999999\n", "t.log:1: bad value" },
        { "INFO  jepsen.util - 1 :invoke :write 4 5\n", "t.log:1: bad value" },
        { "\nINFO  jepsen.util - 1 :ok :write 4\n", "t.log:2: :ok for process 1, which has no" },
        { "INFO  jepsen.util - 1 :invoke :write 4\nINFO  jepsen.util - 1 :invoke :read nil\n",
          "t.log:2: process 1 invokes while its op from line 1 is pending" },
        { "INFO  jepsen.util - 1 :invoke :write 4\nINFO  jepsen.util - 1 :ok :write 5\n",
          "t.log:2: completion does not match the invocation on line 1" },
        { "INFO  jepsen.util - 1 :invoke :write 4\nINFO  jepsen.util - 1 :ok :read 4\n",
          "t.log:2: completion does not match" },
        { "INFO  jepsen.util - 1 :invoke :read nil\nINFO  jepsen.util - 1 :ok :read [1 2]\n",
          "t.log:2: bad value for :ok read" },
        { "\n\n", "t.log: no operations" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int err = parse(HIST_FORMAT_JEPSEN_REGISTER, cases[i].text);
        cr_assert_eq(err, HIST_E_PARSE, "case %zu", i);
        cr_assert(strncmp(hist.error, cases[i].message, strlen(cases[i].message)) == 0,
                  "case %zu: got '%s', want '%s...'", i, hist.error, cases[i].message);
    }
}

static const char kv_log[] =
    "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n"
    "{:process 1, :type :invoke, :f :get, :key \"0\", :value nil}\n"
    "{:process :nemesis, :type :info, :f :start, :value nil}\n"
    "{:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n"
    "{:process 1, :type :ok, :f :get, :key \"0\", :value \"x 0 0 y\", :time 12}\n"
    "{:process 2 :type :invoke :f :put :key \"k\\\"q\" :value \"v\"}\n"
    "{:process 2, :type :info, :f :put, :key \"k\\\"q\", :value \"v\"}\n"
    "{:process 3, :type :invoke, :f :put, :key 7, :value \"w\"}\n"
    "{:process 3, :type :fail, :f :put, :key 7, :value \"w\"}\n";

/* Invariant: Jepsen KV lines map to KV ops with keys starting as ""; nemesis events and unknown
 * fields are skipped; escapes and integer keys are read; :info -> UNKNOWN, :fail -> FAIL. */
Test(hist_parse, jepsen_kv_events)
{
    cr_assert_eq(parse(HIST_FORMAT_AUTO, kv_log), HIST_E_OK, "%s", hist.error);
    cr_assert_eq(hist.model, HIST_MODEL_KV);
    cr_assert(str_is(hist.initial, ""));
    cr_assert_eq(hist.ops_count, 4);
    const struct hist_op *ops = hist.ops;
    cr_assert(ops[0].kind == HIST_APPEND && str_is(ops[0].key, "0") &&
              str_is(ops[0].value, "x 0 0 y") && ops[0].outcome == HIST_OK);
    cr_assert(ops[1].kind == HIST_GET && str_is(ops[1].result, "x 0 0 y"));
    cr_assert(ops[2].kind == HIST_PUT && str_is(ops[2].key, "k\"q") &&
              ops[2].outcome == HIST_UNKNOWN);
    cr_assert(str_is(ops[3].key, "7") && ops[3].outcome == HIST_FAIL);
    cr_assert_eq(ops[1].complete_time, 5);
}

/* Invariant: every malformed KV line is an error naming the file and the line. */
Test(hist_parse, jepsen_kv_malformed_lines_name_the_line)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        { ":process 0\n", "t.log:1: expected an EDN map" },
        { "{:process 0, :type :invoke, :f :get, :key \"a\"\n", "t.log:1: map not closed" },
        { "{:process 0, :type :invoke, :f :get, :key \"a}\n", "t.log:1: field :key: unterm" },
        { "{:process 0, :type :invoke, :f :get, :key \"a\\q\"}\n", "t.log:1: field :key: bad esc" },
        { "{:process 0, :type :invoke, :f :get, :key \"a\"} x\n", "t.log:1: unexpected text" },
        { "{:process 0, :process 1}\n", "t.log:1: field :process given twice" },
        { "{process 0}\n", "t.log:1: expected a keyword" },
        { "{:process x, :type :invoke, :f :get, :key \"a\"}\n", "t.log:1: field :process: exp" },
        { "{:process \"0\", :type :invoke, :f :get, :key \"a\"}\n", "t.log:1: :process must" },
        { "{:process 0, :type :invoke, :f :get}\n", "t.log:1: :key must be a string" },
        { "{:process 0, :type :start, :f :get, :key \"a\"}\n", "t.log:1: :type must be" },
        { "{:process 0, :type :invoke, :f :cas, :key \"a\"}\n", "t.log:1: :f must be" },
        { "{:process 0, :type :invoke, :f :put, :key \"a\", :value nil}\n", "t.log:1: :value of" },
        { "{:process 0, :type :ok, :f :get, :key \"a\", :value \"\"}\n", "t.log:1: completion" },
        { "{:process 0, :type :invoke, :f :get, :key \"a\"}\n"
          "{:process 0, :type :ok, :f :get, :key \"b\", :value \"\"}\n",
          "t.log:2: completion does not match the invocation on line 1" },
        { "{:process 0, :type :invoke, :f :get, :key \"a\"}\n"
          "{:process 0, :type :ok, :f :get, :key \"a\", :value :x}\n",
          "t.log:2: :value of a get must be a string" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int err = parse(HIST_FORMAT_JEPSEN_KV, cases[i].text);
        cr_assert_eq(err, HIST_E_PARSE, "case %zu: %s", i, hist.error);
        cr_assert(strncmp(hist.error, cases[i].message, strlen(cases[i].message)) == 0,
                  "case %zu: got '%s', want '%s...'", i, hist.error, cases[i].message);
    }
}

/* Invariant: the format is detected from the first meaningful line, and an unknown one is an
 * error that says how to choose a format. */
Test(hist_parse, format_detection)
{
    cr_assert_eq(hist_format_detect(register_log, strlen(register_log)),
                 HIST_FORMAT_JEPSEN_REGISTER);
    cr_assert_eq(hist_format_detect(kv_log, strlen(kv_log)), HIST_FORMAT_JEPSEN_KV);
    const char *own = "\n# comment\n  flowraft-history 1 kv\n";
    cr_assert_eq(hist_format_detect(own, strlen(own)), HIST_FORMAT_FLOWRAFT);
    cr_assert_eq(hist_format_detect("", 0), HIST_FORMAT_AUTO);
    cr_assert_eq(parse(HIST_FORMAT_AUTO, "hello\n"), HIST_E_PARSE);
    cr_assert_not_null(strstr(hist.error, "t.log: cannot tell the format"), "%s", hist.error);
    cr_assert_not_null(strstr(hist.error, "--format"), "%s", hist.error);
    enum hist_format format;
    cr_assert_eq(hist_format_from_name("jepsen-kv", &format), 0);
    cr_assert_eq(format, HIST_FORMAT_JEPSEN_KV);
    cr_assert_eq(hist_format_from_name("jepsen", &format), -1);
    cr_assert_str_eq(hist_format_name(HIST_FORMAT_JEPSEN_REGISTER), "jepsen-register");
}

/* Invariant: a missing file is an I/O error naming the path. */
Test(hist_parse, missing_file_is_named)
{
    hist_free(&hist);
    cr_assert_eq(hist_load(&hist, HIST_FORMAT_AUTO, "/nonexistent/h.log"), HIST_E_IO);
    cr_assert_not_null(strstr(hist.error, "/nonexistent/h.log: cannot open"), "%s", hist.error);
}

/* Runs the parser on `text` (not terminated: ASan sees any read past the end) and checks that
 * it either succeeds or fails with a message naming the file. */
static void parse_never_crashes(enum hist_format format, const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    cr_assert_not_null(copy);
    memcpy(copy, text, len);
    hist_free(&hist);
    int err = hist_parse(&hist, format, "fuzz.log", copy, len);
    if (err != HIST_E_OK) {
        cr_assert_eq(err, HIST_E_PARSE, "err %d: %s", err, hist.error);
        cr_assert(strncmp(hist.error, "fuzz.log", 8) == 0, "%s", hist.error);
    } else {
        cr_assert_leq(hist.events_count, 2 * hist.ops_count);
    }
    free(copy);
}

static void fuzz_truncations(enum hist_format format, const char *text)
{
    size_t len = strlen(text);
    for (size_t cut = 0; cut <= len; cut++) {
        parse_never_crashes(format, text, cut);
    }
}

static void fuzz_garbling(enum hist_format format, const char *text, uint64_t seed)
{
    static const char alphabet[] = " \t\n\r\"\\:[]{},-0123456789nilx";
    size_t len = strlen(text);
    char *copy = malloc(len);
    cr_assert_not_null(copy);
    struct prng prng;
    prng_seed(&prng, seed);
    for (int round = 0; round < 400; round++) {
        memcpy(copy, text, len);
        uint64_t flips = prng_range(&prng, 1, 4);
        for (uint64_t f = 0; f < flips; f++) {
            size_t at = (size_t)prng_below(&prng, len);
            copy[at] = prng_chance(&prng, 0.5) ? alphabet[prng_below(&prng, sizeof(alphabet) - 1)]
                                               : (char)prng_below(&prng, 256);
        }
        parse_never_crashes(format, copy, len);
    }
    free(copy);
}

/* Invariant: truncated input never crashes a parser: it parses or names the file and line. */
Test(hist_parse, truncated_input_never_crashes)
{
    fuzz_truncations(HIST_FORMAT_JEPSEN_REGISTER, register_log);
    fuzz_truncations(HIST_FORMAT_JEPSEN_KV, kv_log);
    fuzz_truncations(HIST_FORMAT_AUTO, register_log);
}

/* Invariant: garbled bytes never crash a parser: it parses or names the file and line. */
Test(hist_parse, garbled_input_never_crashes)
{
    fuzz_garbling(HIST_FORMAT_JEPSEN_REGISTER, register_log, 1);
    fuzz_garbling(HIST_FORMAT_JEPSEN_KV, kv_log, 2);
}
