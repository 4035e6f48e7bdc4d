/* Simulated workflow clients: submissions and controls, redirects, timeouts, idempotent resends. */
#include "sim/world.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#define SIM_WF_BACKOFF_US 50000u /* after "not now": a retry or a redirect without a hint */

static uint32_t sim_wf_random_node(struct sim_world *w)
{
    return (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_WORKFLOW, w->node_slots);
}

static void sim_wf_request_add(struct sim_world *w, enum wf_command_type type, const char *id,
                               uint32_t definition, uint64_t at_us)
{
    struct sim_wf *wf = w->wf;
    assert(wf->request_count < SIM_WF_INSTANCES_MAX + SIM_WF_CONTROLS_MAX);
    uint32_t index = wf->request_count++;
    struct sim_wf_request *r = &wf->requests[index];
    memset(r, 0, sizeof(*r));
    r->type = type;
    snprintf(r->workflow_id, sizeof(r->workflow_id), "%s", id);
    r->definition = definition;
    r->at_us = at_us;
    r->target = sim_wf_random_node(w);
    sim_wf_push(w, at_us, SIM_WF_EV_REQUEST_SEND, 0, index, 0);
}

void sim_wf_clients_start(struct sim_world *w)
{
    struct sim_wf *wf = w->wf;
    const struct sim_wf_scenario *s = wf->scenario;
    for (uint32_t i = 0; i < s->submit_count; i++) {
        const struct sim_wf_submit *submit = &s->submits[i];
        for (uint32_t n = 0; n < submit->count; n++) {
            char id[WF_ID_BYTES_MAX + 1];
            sim_wf_instance_id(submit, s->definition_ids[submit->definition], n, id);
            sim_wf_request_add(w, WF_CMD_SUBMIT, id, submit->definition,
                               submit->at_us + (uint64_t)n * submit->every_us);
        }
    }
    for (uint32_t i = 0; i < s->control_count; i++) {
        sim_wf_request_add(w, s->controls[i].type, s->controls[i].workflow_id, 0,
                           s->controls[i].at_us);
    }
}

/* Sends the request (again): a new attempt number, so answers and timers of older ones lapse. */
void sim_wf_request_send(struct sim_world *w, uint32_t index, uint32_t generation)
{
    struct sim_wf *wf = w->wf;
    assert(index < wf->request_count);
    struct sim_wf_request *r = &wf->requests[index];
    if (r->done || generation != (uint32_t)r->seq) {
        sim_world_note(w, "%s %s: answered meanwhile", wf_command_type_name(r->type),
                       r->workflow_id);
        return;
    }
    struct sim_wf_msg *msg = sim_wf_msg_alloc(w, SIM_WF_MSG_REQUEST);
    r->seq++;
    if (r->type == WF_CMD_SUBMIT) {
        wf->stats.submits_sent++;
        wf->stats.submit_resends += r->seq > 1 ? 1 : 0;
    } else {
        wf->stats.controls_sent++;
    }
    sim_world_note(w, "%s %s to n%" PRIu32 "%s", wf_command_type_name(r->type), r->workflow_id,
                   r->target + 1, r->seq > 1 ? " (again)" : "");
    if (msg != NULL) {
        msg->origin = index;
        msg->seq = r->seq;
        msg->u.command.type = r->type;
        memcpy(msg->u.command.workflow_id, r->workflow_id, sizeof(r->workflow_id));
        sim_wf_msg_send(w, msg, SIM_WF_EV_AT_NODE, r->target);
    }
    sim_wf_push(w, w->queue.now_us + wf->scenario->request_timeout_us, SIM_WF_EV_REQUEST_TIMEOUT, 0,
                index, (uint32_t)r->seq);
}

void sim_wf_request_timeout(struct sim_world *w, uint32_t index, uint32_t generation)
{
    struct sim_wf_request *r = &w->wf->requests[index];
    if (r->done || generation != (uint32_t)r->seq) {
        sim_world_note(w, "%s %s: timer of an earlier send", wf_command_type_name(r->type),
                       r->workflow_id);
        return;
    }
    r->target = (r->target + 1) % w->node_slots;
    sim_world_note(w, "%s %s: no answer in time", wf_command_type_name(r->type), r->workflow_id);
    sim_wf_request_send(w, index, (uint32_t)r->seq);
}

void sim_wf_client_answer(struct sim_world *w, struct sim_wf_msg *msg)
{
    struct sim_wf *wf = w->wf;
    assert(!msg->to_worker && msg->origin < wf->request_count);
    struct sim_wf_request *r = &wf->requests[msg->origin];
    if (r->done || (msg->seq != r->seq && msg->answer != SIM_WF_ANSWER_APPLIED)) {
        sim_world_note(w, "%s %s: an answer to an earlier send", wf_command_type_name(r->type),
                       r->workflow_id);
        return; /* a result of any send is the result (the command is the same); a redirect or
                   a retry of an earlier one is not news */
    }
    switch (msg->answer) {
    case SIM_WF_ANSWER_APPLIED:
        r->done = true;
        wf->requests_done++;
        r->status = msg->status;
        wf->stats.answers[msg->status]++;
        sim_world_note(w, "%s %s: %s", wf_command_type_name(r->type), r->workflow_id,
                       wf_status_name(msg->status));
        return;
    case SIM_WF_ANSWER_REDIRECT:
        if (msg->hint >= 1 && msg->hint <= w->node_slots && msg->hint - 1 != r->target) {
            sim_world_note(w, "%s %s: redirected to n%" PRIu32, wf_command_type_name(r->type),
                           r->workflow_id, msg->hint);
            r->target = msg->hint - 1;
            sim_wf_request_send(w, msg->origin, (uint32_t)r->seq);
            return;
        }
        sim_world_note(w, "%s %s: no leader known, back off", wf_command_type_name(r->type),
                       r->workflow_id);
        r->target = sim_wf_random_node(w);
        break;
    case SIM_WF_ANSWER_RETRY:
        sim_world_note(w, "%s %s: not committed, back off", wf_command_type_name(r->type),
                       r->workflow_id);
        break;
    }
    sim_wf_push(w, w->queue.now_us + SIM_WF_BACKOFF_US, SIM_WF_EV_REQUEST_SEND, 0, msg->origin,
                (uint32_t)r->seq);
}
