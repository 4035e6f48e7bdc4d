/* The client history: outcomes of every KV operation as the clients observed them. */
#include "sim/world.h"

#include "workflows/kv.h"

#include <assert.h>

void sim_history_invoke(struct sim_world *w, struct sim_client *c)
{
    assert(c->state == SIM_CLIENT_WAITING);
    (void)w;
    c->hist_op = (int64_t)c->op_seq;
}

void sim_history_complete(struct sim_world *w, struct sim_client *c, const struct sim_reply *reply)
{
    switch (reply->status) {
    case KV_STATUS_OK:
    case KV_STATUS_NOT_FOUND:
        w->stats.client_ok++;
        break;
    case KV_STATUS_SESSION_UNKNOWN:
    case KV_STATUS_SESSION_STALE:
        w->stats.client_unknown++; /* an earlier attempt may have been applied */
        break;
    default:
        w->stats.client_fail++; /* certainly no effect (a failed compare-and-set included) */
        break;
    }
    c->hist_op = -1;
}

void sim_history_abandon(struct sim_world *w, struct sim_client *c)
{
    w->stats.client_unknown++;
    c->hist_op = -1;
}
