/* Tests for reports/: JSON (parsed back with jansson), JUnit XML, HTML and the text summary. */
#include "reports/report.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char buffer[1 << 20];
    size_t n = fread(buffer, 1, sizeof(buffer) - 1, f);
    buffer[n] = '\0';
    fclose(f);
    return buffer;
}

static struct report_sweep *example(void)
{
    struct report_sweep *sweep = malloc(sizeof(*sweep));
    report_sweep_init(sweep);
    snprintf(sweep->command, sizeof(sweep->command), "flowraft sweep x.ini --seeds 1..10");
    sweep->seed_first = 1;
    sweep->seed_last = 10;
    sweep->runs_planned = 10;
    cr_assert_eq(report_sweep_add_scenario(sweep, "x<&>", "scenarios/x.ini"), 0);
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct report_run run;
        memset(&run, 0, sizeof(run));
        snprintf(run.scenario, sizeof(run.scenario), "x<&>");
        snprintf(run.scenario_path, sizeof(run.scenario_path), "scenarios/x.ini");
        run.seed = seed;
        run.events = seed * 10;
        run.virtual_time_us = 2000000;
        run.trace_hash = UINT64_C(0xfedcba9876543210) + seed;
        report_run_count(&run, "crash", 2);
        if (seed == 3 || seed == 8) {
            run.verdict = REPORT_VIOLATION;
            snprintf(run.invariant, sizeof(run.invariant), "election_safety");
            snprintf(run.detail, sizeof(run.detail), "two leaders in term 4: nodes 1 & 2 <x>");
            snprintf(run.repro, sizeof(run.repro), "flowraft run scenarios/x.ini --seed %lu",
                     (unsigned long)seed);
        }
        if (seed == 5) {
            run.verdict = REPORT_CRASH;
            snprintf(run.invariant, sizeof(run.invariant), "crash: Aborted");
        }
        cr_assert_eq(report_sweep_add(sweep, 0, &run), 0);
    }
    return sweep;
}

/* Invariant: the JSON summary parses and carries totals, groups, failures and every run. */
Test(sim_report, json_round_trips)
{
    struct report_sweep *sweep = example();
    char path[128];
    snprintf(path, sizeof(path), "/tmp/flowraft-report-%ld.json", (long)getpid());
    char error[256] = "";
    cr_assert_eq(report_write_json(sweep, path, error, sizeof(error)), 0, "%s", error);
    json_error_t jerror;
    json_t *root = json_load_file(path, 0, &jerror);
    cr_assert_not_null(root, "%s", jerror.text);
    cr_assert_eq(json_integer_value(json_object_get(root, "runs")), 10);
    cr_assert_eq(json_integer_value(json_object_get(root, "failed")), 3);
    json_t *groups = json_object_get(root, "failures_by_invariant");
    cr_assert_eq(json_integer_value(json_object_get(groups, "election_safety")), 2);
    json_t *failures = json_object_get(root, "failures");
    cr_assert_eq(json_array_size(failures), 3);
    json_t *first = json_array_get(failures, 0);
    cr_assert_str_eq(json_string_value(json_object_get(first, "trace_hash")), "fedcba9876543213");
    cr_assert_eq(json_array_size(json_object_get(root, "all_runs")), 10);
    json_t *scenario = json_array_get(json_object_get(root, "scenarios"), 0);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(scenario, "counters"), "crash")), 20);
    json_decref(root);
    unlink(path);
    report_sweep_deinit(sweep);
    free(sweep);
}

/* Invariant: JUnit has one testcase per failing seed plus a passing summary, all text escaped. */
Test(sim_report, junit_lists_failing_seeds)
{
    struct report_sweep *sweep = example();
    char path[128];
    snprintf(path, sizeof(path), "/tmp/flowraft-report-%ld.xml", (long)getpid());
    char error[256] = "";
    cr_assert_eq(report_write_junit(sweep, path, error, sizeof(error)), 0, "%s", error);
    const char *xml = slurp(path);
    cr_assert(strstr(xml, "<testsuite name=\"flowraft.x&lt;&amp;&gt;\" tests=\"4\" "
                          "failures=\"3\"") != NULL,
              "%s", xml);
    cr_assert(strstr(xml, "name=\"seed 3\"") != NULL);
    cr_assert(strstr(xml, "name=\"seed 8\"") != NULL);
    cr_assert(strstr(xml, "<error message=\"crash: Aborted\" type=\"crash\">") != NULL, "%s", xml);
    cr_assert(strstr(xml, "nodes 1 &amp; 2 &lt;x&gt;") != NULL);
    cr_assert(strstr(xml, "7 of 10 seeds passed") != NULL, "%s", xml);
    cr_assert(strstr(xml, "<x>") == NULL, "no unescaped text");
    unlink(path);
    report_sweep_deinit(sweep);
    free(sweep);
}

/* Invariant: the HTML report is self-contained (no external assets, no scripts) and escaped. */
Test(sim_report, html_is_self_contained)
{
    struct report_sweep *sweep = example();
    char path[128];
    snprintf(path, sizeof(path), "/tmp/flowraft-report-%ld.html", (long)getpid());
    char error[256] = "";
    cr_assert_eq(report_write_html(sweep, path, error, sizeof(error)), 0, "%s", error);
    const char *html = slurp(path);
    cr_assert(strstr(html, "<!DOCTYPE html>") != NULL);
    cr_assert(strstr(html, "election_safety: 2 runs") != NULL);
    cr_assert(strstr(html, "src=") == NULL, "no external assets");
    cr_assert(strstr(html, "href=") == NULL, "no external assets");
    cr_assert(strstr(html, "<script") == NULL);
    cr_assert(strstr(html, "x&lt;&amp;&gt;") != NULL);
    cr_assert(strstr(html, "</html>") != NULL);
    unlink(path);
    report_sweep_deinit(sweep);
    free(sweep);
}

/* Invariant: the summary groups failures by invariant with seeds and a reproduce command; the
 * failing-seeds file lists each failing run. */
Test(sim_report, summary_groups_failures)
{
    struct report_sweep *sweep = example();
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    report_print_summary(sweep, out);
    fclose(out);
    cr_assert(strstr(text, "10 runs, 3 failed") != NULL, "%s", text);
    cr_assert(strstr(text, "FAILED election_safety (violation): 2 runs; seeds: x<&>:3 x<&>:8") !=
                  NULL,
              "%s", text);
    cr_assert(strstr(text, "reproduce: flowraft run scenarios/x.ini --seed 3") != NULL, "%s", text);
    free(text);
    char path[128];
    snprintf(path, sizeof(path), "/tmp/flowraft-failing-%ld.txt", (long)getpid());
    char error[256] = "";
    cr_assert_eq(report_write_failing_seeds(sweep, path, error, sizeof(error)), 0, "%s", error);
    const char *seeds = slurp(path);
    cr_assert(strstr(seeds, "scenarios/x.ini 3 election_safety\n") != NULL, "%s", seeds);
    cr_assert(strstr(seeds, "scenarios/x.ini 5 crash: Aborted\n") != NULL, "%s", seeds);
    unlink(path);
    report_sweep_deinit(sweep);
    free(sweep);
}

/* Invariant: an unwritable path is an error naming the file. */
Test(sim_report, unwritable_path_is_named)
{
    struct report_sweep *sweep = example();
    char error[256] = "";
    cr_assert_eq(report_write_json(sweep, "/nonexistent/dir/r.json", error, sizeof(error)), -1);
    cr_assert(strstr(error, "/nonexistent/dir/r.json") != NULL, "%s", error);
    cr_assert_eq(report_write_junit(sweep, "/nonexistent/dir/r.xml", error, sizeof(error)), -1);
    cr_assert(strstr(error, "/nonexistent/dir/r.xml") != NULL, "%s", error);
    report_sweep_deinit(sweep);
    free(sweep);
}
