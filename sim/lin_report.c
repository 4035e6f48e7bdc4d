/* Human-readable checker verdicts: the failing operation, the prefix before it, its neighbours. */
#include "sim/lin.h"

#include <assert.h>
#include <inttypes.h>

static void lin_print_op(FILE *out, const struct hist *hist, uint32_t op)
{
    char line[512];
    hist_op_describe(hist, op, line, sizeof(line));
    fprintf(out, "      %s\n", line);
}

static void lin_print_window(FILE *out, const struct hist *hist, const struct lin_window *w)
{
    char key[80] = "";
    if (w->key.off != HIST_NIL) {
        size_t len;
        const char *bytes = hist_str_bytes(hist, w->key, &len);
        char quoted[72];
        hist_quote(quoted, sizeof(quoted), bytes, len, 48);
        snprintf(key, sizeof(key), " on key %s", quoted);
    }
    const struct hist_op *op = &hist->ops[w->op];
    fprintf(out, "    first operation that cannot be linearized%s:\n", key);
    lin_print_op(out, hist, w->op);
    fprintf(out,
            "    the history before this completion (%s %" PRIu64 ") is linearizable; with it, "
            "it is not\n",
            hist->time_is_line ? "line" : "t", op->complete_time);
    fprintf(out, "    longest linearizable prefix found: %" PRIu32 " ops%s\n", w->prefix_ops,
            w->before_count > 0 ? ", ending with:" : "");
    for (uint32_t i = 0; i < w->before_count; i++) {
        lin_print_op(out, hist, w->before[i]);
    }
    fprintf(out, "    model state%s reachable there:", w->states_count == 1 ? "" : "s");
    for (uint32_t i = 0; i < w->states_count; i++) {
        fprintf(out, "%s %s", i > 0 ? "," : "", w->states[i]);
    }
    if (w->concurrent_total == 0) {
        fprintf(out, "\n    operations concurrent with it: none\n");
        return;
    }
    fprintf(out, "\n    operations concurrent with it (%" PRIu32 "%s):\n", w->concurrent_total,
            w->concurrent_total > w->concurrent_count ? ", first ones listed" : "");
    for (uint32_t i = 0; i < w->concurrent_count; i++) {
        lin_print_op(out, hist, w->concurrent[i]);
    }
}

void lin_result_print(FILE *out, const struct hist *hist, const struct lin_result *result)
{
    assert(out != NULL && hist != NULL && result != NULL);
    fprintf(out,
            "%s (%s, %" PRIu32 " ops searched in %" PRIu32 " partition%s, %" PRIu64
            " configurations, %" PRIu64 " steps)\n",
            lin_verdict_name(result->verdict), hist_model_name(hist->model), result->ops_checked,
            result->partitions, result->partitions == 1 ? "" : "s", result->configurations,
            result->steps);
    if (result->verdict == LIN_UNKNOWN) {
        fprintf(out, "    %s\n", result->reason);
    }
    if (result->verdict == LIN_NOT_LINEARIZABLE) {
        lin_print_window(out, hist, &result->window);
    }
}
