/* The one table of legal task and workflow transitions, the command gate, and state names. */
#include "workflows/wf_transitions.h"

#include <assert.h>
#include <stddef.h>

struct task_row {
    enum wf_task_state from;
    enum wf_task_event event;
    enum wf_task_state to;
};

struct workflow_row {
    enum wf_workflow_state from;
    enum wf_workflow_event event;
    enum wf_workflow_state to;
};

/* Every legal task transition. A (state, event) pair not listed here is rejected. */
static const struct task_row task_table[] = {
    { WF_TASK_PENDING, WF_TASK_EV_DEPS_DONE, WF_TASK_READY },
    { WF_TASK_PENDING, WF_TASK_EV_RETRY_DUE, WF_TASK_READY },
    { WF_TASK_READY, WF_TASK_EV_START, WF_TASK_RUNNING },
    { WF_TASK_RUNNING, WF_TASK_EV_EXTEND, WF_TASK_RUNNING },
    { WF_TASK_RUNNING, WF_TASK_EV_COMPLETE, WF_TASK_COMPLETED },
    { WF_TASK_RUNNING, WF_TASK_EV_FAIL_RETRY, WF_TASK_PENDING },
    { WF_TASK_RUNNING, WF_TASK_EV_FAIL_FINAL, WF_TASK_FAILED },
    { WF_TASK_RUNNING, WF_TASK_EV_EXPIRE_RETRY, WF_TASK_PENDING },
    { WF_TASK_RUNNING, WF_TASK_EV_EXPIRE_FINAL, WF_TASK_FAILED },
};

/* Every legal workflow transition. Creation (submit) enters WF_WORKFLOW_INITIAL. */
static const struct workflow_row workflow_table[] = {
    { WF_WORKFLOW_RUNNING, WF_WORKFLOW_EV_PAUSE, WF_WORKFLOW_PAUSED },
    { WF_WORKFLOW_PAUSED, WF_WORKFLOW_EV_RESUME, WF_WORKFLOW_RUNNING },
    { WF_WORKFLOW_RUNNING, WF_WORKFLOW_EV_CANCEL, WF_WORKFLOW_CANCELLED },
    { WF_WORKFLOW_PAUSED, WF_WORKFLOW_EV_CANCEL, WF_WORKFLOW_CANCELLED },
    { WF_WORKFLOW_RUNNING, WF_WORKFLOW_EV_ALL_COMPLETED, WF_WORKFLOW_COMPLETED },
    { WF_WORKFLOW_PAUSED, WF_WORKFLOW_EV_ALL_COMPLETED, WF_WORKFLOW_COMPLETED },
    { WF_WORKFLOW_RUNNING, WF_WORKFLOW_EV_TASK_FAILED, WF_WORKFLOW_FAILED },
    { WF_WORKFLOW_PAUSED, WF_WORKFLOW_EV_TASK_FAILED, WF_WORKFLOW_FAILED },
};

/* The command gate: which command types each workflow state accepts. Terminal: none. */
static const bool command_gate[WF_WORKFLOW_STATE_COUNT][WF_CMD_TYPE_COUNT] = {
    [WF_WORKFLOW_RUNNING] = {
        [WF_CMD_START_ATTEMPT] = true, [WF_CMD_EXTEND_LEASE] = true,
        [WF_CMD_COMPLETE_ATTEMPT] = true, [WF_CMD_FAIL_ATTEMPT] = true,
        [WF_CMD_EXPIRE_LEASE] = true, [WF_CMD_SCHEDULE_RETRY] = true,
        [WF_CMD_PAUSE] = true, [WF_CMD_CANCEL] = true,
    },
    [WF_WORKFLOW_PAUSED] = {
        [WF_CMD_EXTEND_LEASE] = true, [WF_CMD_COMPLETE_ATTEMPT] = true,
        [WF_CMD_FAIL_ATTEMPT] = true, [WF_CMD_EXPIRE_LEASE] = true,
        [WF_CMD_RESUME] = true, [WF_CMD_CANCEL] = true,
    },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool wf_task_next(enum wf_task_state from, enum wf_task_event event, enum wf_task_state *to)
{
    assert(to != NULL);
    assert((unsigned)event < WF_TASK_EVENT_COUNT);
    for (size_t i = 0; i < COUNT(task_table); i++) {
        if (task_table[i].from == from && task_table[i].event == event) {
            *to = task_table[i].to;
            return true;
        }
    }
    return false;
}

bool wf_workflow_next(enum wf_workflow_state from, enum wf_workflow_event event,
                      enum wf_workflow_state *to)
{
    assert(to != NULL);
    assert((unsigned)event < WF_WORKFLOW_EVENT_COUNT);
    for (size_t i = 0; i < COUNT(workflow_table); i++) {
        if (workflow_table[i].from == from && workflow_table[i].event == event) {
            *to = workflow_table[i].to;
            return true;
        }
    }
    return false;
}

bool wf_task_edge_legal(enum wf_task_state from, enum wf_task_state to)
{
    for (size_t i = 0; i < COUNT(task_table); i++) {
        if (task_table[i].from == from && task_table[i].to == to) {
            return true;
        }
    }
    return false;
}

bool wf_workflow_edge_legal(enum wf_workflow_state from, enum wf_workflow_state to)
{
    for (size_t i = 0; i < COUNT(workflow_table); i++) {
        if (workflow_table[i].from == from && workflow_table[i].to == to) {
            return true;
        }
    }
    return false;
}

bool wf_command_allowed(enum wf_workflow_state state, enum wf_command_type type)
{
    if ((unsigned)state >= WF_WORKFLOW_STATE_COUNT || (unsigned)type >= WF_CMD_TYPE_COUNT) {
        return false;
    }
    return command_gate[state][type];
}

bool wf_task_state_terminal(enum wf_task_state state)
{
    return state == WF_TASK_COMPLETED || state == WF_TASK_FAILED;
}

bool wf_workflow_state_terminal(enum wf_workflow_state state)
{
    return state == WF_WORKFLOW_COMPLETED || state == WF_WORKFLOW_FAILED ||
           state == WF_WORKFLOW_CANCELLED;
}

uint64_t wf_task_progress(enum wf_task_state state, uint32_t attempts)
{
    switch (state) {
    case WF_TASK_PENDING:
        return 3 * (uint64_t)attempts;
    case WF_TASK_READY:
        return 3 * (uint64_t)attempts + 1;
    case WF_TASK_RUNNING:
        /* Running without a started attempt is itself a violation; it ranks first here so
         * checks over corrupted states report instead of aborting. */
        return attempts >= 1 ? 3 * (uint64_t)attempts - 1 : 0;
    case WF_TASK_COMPLETED:
    case WF_TASK_FAILED:
        return UINT64_MAX;
    }
    assert(!"invalid task state");
    return 0;
}

const char *wf_task_state_name(enum wf_task_state state)
{
    static const char *const names[WF_TASK_STATE_COUNT] = {
        "Pending", "Ready", "Running", "Completed", "Failed",
    };
    return (unsigned)state < WF_TASK_STATE_COUNT ? names[state] : "invalid";
}

const char *wf_task_event_name(enum wf_task_event event)
{
    static const char *const names[WF_TASK_EVENT_COUNT] = {
        "deps_done",  "retry_due",  "start",        "extend",       "complete",
        "fail_retry", "fail_final", "expire_retry", "expire_final",
    };
    return (unsigned)event < WF_TASK_EVENT_COUNT ? names[event] : "invalid";
}

const char *wf_workflow_state_name(enum wf_workflow_state state)
{
    static const char *const names[WF_WORKFLOW_STATE_COUNT] = {
        "Running", "Paused", "Completed", "Failed", "Cancelled",
    };
    return (unsigned)state < WF_WORKFLOW_STATE_COUNT ? names[state] : "invalid";
}

const char *wf_workflow_event_name(enum wf_workflow_event event)
{
    static const char *const names[WF_WORKFLOW_EVENT_COUNT] = {
        "pause", "resume", "cancel", "all_completed", "task_failed",
    };
    return (unsigned)event < WF_WORKFLOW_EVENT_COUNT ? names[event] : "invalid";
}

const char *wf_attempt_outcome_name(enum wf_attempt_outcome outcome)
{
    static const char *const names[WF_ATTEMPT_OUTCOME_COUNT] = {
        "open", "completed", "failed", "expired", "abandoned",
    };
    return (unsigned)outcome < WF_ATTEMPT_OUTCOME_COUNT ? names[outcome] : "invalid";
}
