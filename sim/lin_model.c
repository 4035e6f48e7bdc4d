/* The sequential specification shared by the register and each key of the KV store. */
#include "sim/lin_model.h"

#include <assert.h>

int lin_model_step(struct lin_states *states, uint32_t state, const struct lin_op *op,
                   uint32_t *next)
{
    assert(states != NULL && op != NULL && next != NULL);
    assert(state < states->count);
    *next = state;
    switch (op->kind) {
    case HIST_READ:
    case HIST_GET:
        return op->unknown || state == op->result;
    case HIST_WRITE:
    case HIST_PUT:
        *next = op->value;
        return 1;
    case HIST_APPEND:
        return lin_states_concat(states, state, op->value, next) == 0 ? 1 : -1;
    case HIST_DELETE:
        *next = LIN_STATE_NIL;
        return 1;
    case HIST_CAS:
    case HIST_KV_CAS:
        if (op->mismatch) { /* it compared, saw `result`, and did not swap */
            return state != op->expected && state == op->result;
        }
        if (state == op->expected) {
            *next = op->value;
            return 1;
        }
        return op->unknown; /* a failed comparison has no effect: fine only if unobserved */
    }
    assert(0 && "operation kind outside the models");
    return 0;
}
