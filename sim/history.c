/* The client history: every KV operation as the clients saw it, recorded through sim/hist.h and
 * checked for linearizability (sim/lin.h) at the end of every run. */
#include "sim/world.h"

#include "sim/lin.h"
#include "workflows/kv.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t sim_history_time(const struct sim_world *w)
{
    return w->queue.now_us / 1000; /* virtual milliseconds, for humans */
}

void sim_history_invoke(struct sim_world *w, struct sim_client *c)
{
    assert(c->state == SIM_CLIENT_WAITING);
    c->hist_op = -1;
    if (w->history_full) {
        return;
    }
    char key[SIM_KEY_NAME_BYTES];
    size_t key_len = sim_key_name(c->key, key);
    struct hist_call call = {
        .client = c->index + 1,
        .key = key,
        .key_len = key_len,
    };
    switch (c->op) {
    case SIM_OP_PUT:
        call.kind = HIST_PUT;
        call.value = c->value;
        call.value_len = c->value_len;
        break;
    case SIM_OP_GET:
        call.kind = HIST_GET;
        break;
    case SIM_OP_DELETE:
        call.kind = HIST_DELETE;
        break;
    case SIM_OP_CAS:
    default:
        call.kind = HIST_KV_CAS;
        call.value = c->value;
        call.value_len = c->value_len;
        call.expected = c->cas_absent ? NULL : c->expected;
        call.expected_len = c->cas_absent ? 0 : c->expected_len;
        break;
    }
    int64_t id = hist_invoke(&w->history, sim_history_time(w), &call);
    if (id < 0) {
        w->history_full = 1; /* HIST_E_FULL or out of memory: the rest goes unrecorded */
        return;
    }
    c->hist_op = id;
}

/* The outcome table of the KV status notes (workflows/kv status, sim/hist.h). */
void sim_history_complete(struct sim_world *w, struct sim_client *c, const struct sim_reply *reply)
{
    int64_t id = c->hist_op;
    c->hist_op = -1;
    uint64_t now = sim_history_time(w);
    const char *value = reply->has_value ? (const char *)reply->value : NULL;
    int rc = 0;
    switch (reply->status) {
    case KV_STATUS_OK:
        w->stats.client_ok++;
        if (id >= 0) {
            rc = hist_complete(&w->history, (uint32_t)id, now, HIST_OK,
                               c->op == SIM_OP_GET ? value : NULL,
                               c->op == SIM_OP_GET ? reply->value_len : 0);
        }
        break;
    case KV_STATUS_NOT_FOUND:
        w->stats.client_ok++;
        if (id >= 0) {
            rc = hist_complete(&w->history, (uint32_t)id, now, HIST_OK, NULL, 0);
        }
        break;
    case KV_STATUS_CAS_MISMATCH:
        w->stats.client_fail++;
        if (id >= 0) {
            rc = hist_complete_cas_mismatch(&w->history, (uint32_t)id, now, value,
                                            value != NULL ? reply->value_len : 0);
        }
        break;
    case KV_STATUS_SESSION_UNKNOWN:
    case KV_STATUS_SESSION_STALE:
        w->stats.client_unknown++; /* an earlier attempt may have been applied */
        if (id >= 0) {
            rc = hist_complete(&w->history, (uint32_t)id, now, HIST_UNKNOWN, NULL, 0);
        }
        break;
    default:
        w->stats.client_fail++; /* certainly no effect */
        if (id >= 0) {
            rc = hist_complete(&w->history, (uint32_t)id, now, HIST_FAIL, NULL, 0);
        }
        break;
    }
    if (rc != 0) {
        sim_world_fail(w, "recording the client history failed: %s", w->history.error);
    }
}

void sim_history_abandon(struct sim_world *w, struct sim_client *c)
{
    w->stats.client_unknown++;
    if (c->hist_op >= 0) {
        (void)hist_complete(&w->history, (uint32_t)c->hist_op, sim_history_time(w), HIST_UNKNOWN,
                            NULL, 0);
    }
    c->hist_op = -1;
}

static void sim_history_write(struct sim_world *w)
{
    FILE *out = fopen(w->options.history_path, "w");
    if (out == NULL || hist_write_text(out, &w->history) != 0) {
        sim_world_fail(w, "%s: cannot write the history: %s", w->options.history_path,
                       strerror(errno));
    }
    if (out != NULL && fclose(out) != 0) {
        sim_world_fail(w, "%s: cannot write the history", w->options.history_path);
    }
}

void sim_history_finish(struct sim_world *w)
{
    if (w->options.history_path != NULL) {
        sim_history_write(w);
    }
    if (w->checker.violated || w->error || w->history.ops_count == 0) {
        return; /* the first violation explains the run; an empty history has nothing to check */
    }
    struct lin_options options = { .steps_max = SIM_LIN_STEPS_MAX };
    struct lin_result result;
    enum lin_verdict verdict = lin_check(&w->history, &options, &result);
    w->stats.lin_steps = result.steps;
    if (verdict == LIN_UNKNOWN) {
        w->stats.lin_unchecked = 1; /* not checked, not a pass: counted in the report */
        return;
    }
    if (verdict == LIN_LINEARIZABLE) {
        return;
    }
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out != NULL) {
        lin_result_print(out, &w->history, &result);
        fclose(out);
    }
    sim_check_violation(&w->checker, "linearizability", 0, 0, 0, 0,
                        "the clients' history of %" PRIu32 " operations is not linearizable: %s",
                        w->history.ops_count, text != NULL ? text : "");
    free(text);
}
