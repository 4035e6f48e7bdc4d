/* A self-contained HTML report of a sweep: no scripts or external assets, inline CSS and SVG. */
#include "reports/report.h"
#include "reports/report_xml.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define REPORT_HISTOGRAM_BINS 24

static const char report_html_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;text-align:right;"
    "border-bottom:1px solid #eee}th{background:#f4f4f4}td.l,th.l{text-align:left}"
    ".ok{color:#1a7f37;font-weight:bold}.bad{color:#cf222e;font-weight:bold}"
    "pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap}"
    "code{background:#f6f8fa;padding:0 .2em}details{margin:.4em 0}"
    ".bar{fill:#4a7dbf}.barbad{fill:#cf222e}svg text{font:10px sans-serif;fill:#555}";

static void report_html_header(FILE *out, const struct report_sweep *sweep)
{
    uint64_t failed = report_sweep_failed(sweep);
    fprintf(out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>flowraft sweep: %s</title><style>%s</style></head><body>\n",
            failed == 0 ? "pass" : "FAILED", report_html_style);
    fprintf(out, "<h1>flowraft sweep: <span class=\"%s\">%s</span></h1>\n",
            failed == 0 ? "ok" : "bad", failed == 0 ? "every run passed" : "failures found");
    fprintf(out, "<p><code>");
    report_xml_escape(out, sweep->command);
    fprintf(out, "</code></p>\n<table>");
    fprintf(out, "<tr><th class=l>seeds</th><td>%" PRIu64 "..%" PRIu64 "</td></tr>",
            sweep->seed_first, sweep->seed_last);
    if (sweep->shard_count > 1) {
        fprintf(out, "<tr><th class=l>shard</th><td>%u of %u (0-based)</td></tr>",
                sweep->shard_index, sweep->shard_count);
    }
    fprintf(out, "<tr><th class=l>runs</th><td>%" PRIu64 " of %" PRIu64 " planned</td></tr>",
            report_sweep_runs(sweep), sweep->runs_planned);
    fprintf(out, "<tr><th class=l>failed</th><td class=\"%s\">%" PRIu64 "</td></tr>",
            failed == 0 ? "ok" : "bad", failed);
    fprintf(out, "<tr><th class=l>wall time</th><td>%.1f s with %u jobs</td></tr>",
            sweep->wall_seconds, sweep->jobs);
    fprintf(out, "<tr><th class=l>determinism check</th><td>%s</td></tr>",
            sweep->check_determinism ? "every seed ran twice" : "off");
    if (sweep->time_budget_reached) {
        fprintf(out,
                "<tr><th class=l>time budget</th><td class=bad>%.0f s reached, %" PRIu64
                " runs not run</td></tr>",
                sweep->time_budget_seconds, sweep->runs_skipped);
    }
    fprintf(out, "</table>\n");
}

static void report_html_scenarios(FILE *out, const struct report_sweep *sweep)
{
    fprintf(out, "<h2>Scenarios</h2>\n<table><tr><th class=l>scenario</th><th>runs</th>"
                 "<th>failed</th><th>events</th><th>simulated s</th><th>wall s</th>"
                 "<th>events/s</th><th>x real time</th></tr>\n");
    for (uint32_t i = 0; i < sweep->scenario_count; i++) {
        const struct report_scenario *s = &sweep->scenarios[i];
        double wall = s->wall_seconds > 0 ? s->wall_seconds : 1e-9;
        fprintf(out, "<tr><td class=l title=\"");
        report_xml_escape(out, s->path);
        fprintf(out, "\">");
        report_xml_escape(out, s->name);
        fprintf(out,
                "</td><td>%" PRIu64 "</td><td class=\"%s\">%" PRIu64 "</td><td>%" PRIu64
                "</td><td>%.1f</td><td>%.2f</td><td>%.0f</td><td>%.0f</td></tr>\n",
                s->runs, s->failed ? "bad" : "ok", s->failed, s->events,
                (double)s->virtual_time_us / 1e6, s->wall_seconds, (double)s->events / wall,
                (double)s->virtual_time_us / 1e6 / wall);
    }
    fprintf(out, "</table>\n");
}

static void report_html_counters(FILE *out, const struct report_sweep *sweep)
{
    fprintf(out, "<h2>Faults injected and caught (totals per scenario)</h2>\n");
    for (uint32_t i = 0; i < sweep->scenario_count; i++) {
        const struct report_scenario *s = &sweep->scenarios[i];
        if (s->counter_count == 0) {
            continue;
        }
        fprintf(out, "<details><summary>");
        report_xml_escape(out, s->name);
        fprintf(out, "</summary><table>");
        for (uint32_t c = 0; c < s->counter_count; c++) {
            fprintf(out, "<tr><th class=l>");
            report_xml_escape(out, s->counters[c].name);
            fprintf(out, "</th><td>%" PRIu64 "</td></tr>", s->counters[c].value);
        }
        fprintf(out, "</table></details>\n");
    }
}

/* Histogram of events per run, failing runs stacked in red. */
static void report_html_histogram(FILE *out, const struct report_sweep *sweep)
{
    if (sweep->run_count == 0) {
        return;
    }
    uint64_t min = UINT64_MAX;
    uint64_t max = 0;
    for (size_t i = 0; i < sweep->run_count; i++) {
        min = sweep->runs[i].events < min ? sweep->runs[i].events : min;
        max = sweep->runs[i].events > max ? sweep->runs[i].events : max;
    }
    uint64_t width = (max - min) / REPORT_HISTOGRAM_BINS + 1;
    uint64_t pass[REPORT_HISTOGRAM_BINS] = { 0 };
    uint64_t fail[REPORT_HISTOGRAM_BINS] = { 0 };
    uint64_t tallest = 1;
    for (size_t i = 0; i < sweep->run_count; i++) {
        size_t bin = (size_t)((sweep->runs[i].events - min) / width);
        assert(bin < REPORT_HISTOGRAM_BINS);
        if (sweep->runs[i].verdict == REPORT_PASS) {
            pass[bin]++;
        } else {
            fail[bin]++;
        }
        tallest = pass[bin] + fail[bin] > tallest ? pass[bin] + fail[bin] : tallest;
    }
    fprintf(out, "<h2>Events per run</h2>\n<svg width=\"%d\" height=\"150\" role=\"img\">",
            REPORT_HISTOGRAM_BINS * 24 + 10);
    for (int b = 0; b < REPORT_HISTOGRAM_BINS; b++) {
        double h_pass = 120.0 * (double)pass[b] / (double)tallest;
        double h_fail = 120.0 * (double)fail[b] / (double)tallest;
        fprintf(out,
                "<rect class=bar x=\"%d\" y=\"%.1f\" width=\"20\" height=\"%.1f\"><title>%" PRIu64
                "..%" PRIu64 " events: %" PRIu64 " runs</title></rect>",
                5 + b * 24, 125.0 - h_pass, h_pass, min + (uint64_t)b * width,
                min + (uint64_t)(b + 1) * width - 1, pass[b] + fail[b]);
        if (fail[b] > 0) {
            fprintf(out, "<rect class=barbad x=\"%d\" y=\"%.1f\" width=\"20\" height=\"%.1f\"/>",
                    5 + b * 24, 125.0 - h_pass - h_fail, h_fail);
        }
    }
    fprintf(out,
            "<text x=\"5\" y=\"142\">%" PRIu64 "</text><text x=\"%d\" y=\"142\" "
            "text-anchor=\"end\">%" PRIu64 "</text></svg>\n",
            min, REPORT_HISTOGRAM_BINS * 24, max);
}

static void report_html_failures(FILE *out, const struct report_sweep *sweep)
{
    fprintf(out, "<h2>Failures by invariant</h2>\n");
    struct report_group groups[REPORT_GROUPS_MAX];
    size_t count = report_sweep_groups(sweep, groups, REPORT_GROUPS_MAX);
    if (count == 0) {
        fprintf(out, "<p class=ok>No failures.</p>\n");
        return;
    }
    for (size_t g = 0; g < count; g++) {
        fprintf(out, "<h3 class=bad>");
        report_xml_escape(out, groups[g].invariant);
        fprintf(out, ": %" PRIu64 " run%s</h3>\n", groups[g].count,
                groups[g].count == 1 ? "" : "s");
        for (size_t i = groups[g].first; i < sweep->failure_count; i++) {
            const struct report_run *run = &sweep->failures[i];
            if (strcmp(run->invariant, groups[g].invariant) != 0) {
                continue;
            }
            fprintf(out, "<details%s><summary>", i == groups[g].first ? " open" : "");
            report_xml_escape(out, run->scenario);
            fprintf(out, " seed %" PRIu64 " (%s)</summary><pre>", run->seed,
                    report_verdict_name(run->verdict));
            report_xml_escape(out, run->detail);
            fprintf(out, "\n\nreproduce: ");
            report_xml_escape(out, run->repro);
            fprintf(out, "</pre></details>\n");
        }
    }
    if (sweep->failures_total > sweep->failure_count) {
        fprintf(out, "<p>%" PRIu64 " further failures were counted but not kept.</p>\n",
                sweep->failures_total - sweep->failure_count);
    }
}

int report_write_html(const struct report_sweep *sweep, const char *path, char *error,
                      size_t error_size)
{
    assert(sweep != NULL);
    assert(path != NULL);
    FILE *out = fopen(path, "w");
    if (out == NULL) {
        snprintf(error, error_size, "%s: cannot create the HTML report: %s", path, strerror(errno));
        return -1;
    }
    report_html_header(out, sweep);
    report_html_failures(out, sweep);
    report_html_scenarios(out, sweep);
    report_html_histogram(out, sweep);
    report_html_counters(out, sweep);
    fprintf(out, "</body></html>\n");
    if (ferror(out) != 0 || fclose(out) != 0) {
        snprintf(error, error_size, "%s: writing the HTML report failed", path);
        return -1;
    }
    return 0;
}
