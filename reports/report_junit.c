/* JUnit XML for CI systems: one testcase per failing seed plus one passing summary per scenario. */
#include "reports/report.h"
#include "reports/report_xml.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

static void report_junit_failure(FILE *out, const struct report_run *run)
{
    fprintf(out, "    <testcase classname=\"flowraft.");
    report_xml_escape(out, run->scenario);
    fprintf(out, "\" name=\"seed %" PRIu64 "\" time=\"%.3f\">\n", run->seed, run->wall_seconds);
    /* JUnit: a failure is a failed check, an error is a run that could not complete. */
    const char *element =
        run->verdict == REPORT_CRASH || run->verdict == REPORT_ERROR ? "error" : "failure";
    fprintf(out, "      <%s message=\"", element);
    report_xml_escape(out, run->invariant);
    fprintf(out, "\" type=\"%s\">", report_verdict_name(run->verdict));
    report_xml_escape(out, run->detail);
    fprintf(out, "\nreproduce: ");
    report_xml_escape(out, run->repro);
    fprintf(out, "</%s>\n    </testcase>\n", element);
}

static void report_junit_suite(FILE *out, const struct report_sweep *sweep, uint32_t index)
{
    const struct report_scenario *s = &sweep->scenarios[index];
    uint64_t kept = 0;
    for (size_t i = 0; i < sweep->failure_count; i++) {
        kept += strcmp(sweep->failures[i].scenario_path, s->path) == 0;
    }
    fprintf(out, "  <testsuite name=\"flowraft.");
    report_xml_escape(out, s->name);
    fprintf(out, "\" tests=\"%" PRIu64 "\" failures=\"%" PRIu64 "\" time=\"%.3f\">\n", kept + 1,
            kept, s->wall_seconds);
    for (size_t i = 0; i < sweep->failure_count; i++) {
        if (strcmp(sweep->failures[i].scenario_path, s->path) == 0) {
            report_junit_failure(out, &sweep->failures[i]);
        }
    }
    fprintf(out, "    <testcase classname=\"flowraft.");
    report_xml_escape(out, s->name);
    fprintf(out, "\" name=\"%" PRIu64 " of %" PRIu64 " seeds passed\" time=\"%.3f\"/>\n",
            s->runs - s->failed, s->runs, s->wall_seconds);
    fprintf(out, "  </testsuite>\n");
}

int report_write_junit(const struct report_sweep *sweep, const char *path, char *error,
                       size_t error_size)
{
    assert(sweep != NULL);
    assert(path != NULL);
    FILE *out = fopen(path, "w");
    if (out == NULL) {
        snprintf(error, error_size, "%s: cannot create the JUnit report: %s", path,
                 strerror(errno));
        return -1;
    }
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(out,
            "<testsuites name=\"flowraft sweep\" tests=\"%zu\" failures=\"%zu\" "
            "time=\"%.3f\">\n",
            sweep->failure_count + sweep->scenario_count, sweep->failure_count,
            sweep->wall_seconds);
    for (uint32_t i = 0; i < sweep->scenario_count; i++) {
        report_junit_suite(out, sweep, i);
    }
    fprintf(out, "</testsuites>\n");
    if (ferror(out) != 0 || fclose(out) != 0) {
        snprintf(error, error_size, "%s: writing the JUnit report failed", path);
        return -1;
    }
    return 0;
}
