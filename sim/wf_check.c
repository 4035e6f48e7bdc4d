/* Checks of the workflow plane: the committed reference, replica invariants, effects, rebuild. */
#include "sim/world.h"

#include "core/hash.h"
#include "storage/store.h"
#include "storage/wal.h"
#include "workflows/wf_observe.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/*
 * Invariants checked here (names as reported):
 *   committed_prefix    a replica's state machines at applied index i hash like the committed log
 *                       applied from scratch up to i (the reference): no state changes except by
 *                       applying a committed entry, and a follower's state is always a prefix
 *                       application of the committed log (checked after every applied entry and
 *                       every snapshot restore, on every node, for KV and workflows alike)
 *   one_state, run_history, completed_started, deps_before_start, ready_once_unblocked,
 *   attempts_bounded, attempt_history
 *                       wf_inv_check_state on a replica after every workflow entry it applied
 *   no_regression       wf_inv_check_progress against the same replica's previous state
 *   effect_once         the ledger applied at most one effect per idempotency key, and exactly
 *                       one for every task the committed log completes
 *   execute_committed   a worker executes only an attempt the committed log started for it
 *   workflow_liveness   after the faults stop, every workflow ends (or rests paused) within
 *                       [workflows] settle
 *   workflow_outcome    with `expect = completed`, every workflow not cancelled completed
 *   projector_rebuild   replaying a node's storage (snapshot and WAL, through storage/) into fresh
 *                       state machines gives the state hash the live replica had
 */

static void sim_wf_reference_log(void *ctx, const char *line, size_t len)
{
    sim_wf_log_line(ctx, NULL, line, len);
}

static void sim_wf_machines(const struct sim_world *w, struct replica_machines *machines)
{
    replica_machines_default(machines);
    machines->workflows_max = w->scenario.wf.workflows_max; /* as sim_node_config */
}

int sim_wf_check_setup(struct sim_world *w)
{
    struct sim_wf *wf = w->wf;
    struct replica_machines machines;
    sim_wf_machines(w, &machines);
    wf->reference = replica_sm_create(&machines, w->options.log ? sim_wf_reference_log : NULL, w);
    wf->decode_scratch = malloc(sizeof(*wf->decode_scratch));
    bool ok = wf->reference != NULL && wf->decode_scratch != NULL;
    for (uint32_t i = 0; i < w->node_slots && ok; i++) {
        wf->nodes[i].before = wf_inv_view_create(machines.workflows_max);
        ok = wf->nodes[i].before != NULL;
    }
    if (!ok) {
        sim_world_fail(w, "out of memory for the workflow checks");
        return -1;
    }
    return 0;
}

void sim_wf_check_teardown(struct sim_world *w)
{
    struct sim_wf *wf = w->wf;
    for (uint32_t i = 0; i < w->node_slots; i++) { /* only these slots were set up */
        wf_inv_view_destroy(wf->nodes[i].before);
        wf->nodes[i].before = NULL;
    }
    replica_sm_destroy(wf->reference);
    free(wf->reference_hashes);
    free(wf->decode_scratch);
}

const struct wf_state *sim_wf_committed(const struct sim_world *w)
{
    return replica_sm_wf(w->wf->reference);
}

static int sim_wf_hashes_reserve(struct sim_wf *wf, uint64_t index)
{
    if (index < wf->reference_capacity) {
        return 0;
    }
    if (index >= SIM_WF_INDEX_MAX) {
        return -1;
    }
    uint64_t capacity = wf->reference_capacity == 0 ? 4096 : wf->reference_capacity;
    while (capacity <= index) {
        capacity *= 2;
    }
    uint64_t *grown = realloc(wf->reference_hashes, capacity * sizeof(uint64_t));
    if (grown == NULL) {
        return -1;
    }
    wf->reference_hashes = grown;
    wf->reference_capacity = capacity;
    return 0;
}

/* The committed log completed a task: its effect must be in the ledger, exactly once. */
static void sim_wf_check_completed(struct sim_world *w, const struct raft_entry *e)
{
    struct sim_wf *wf = w->wf;
    struct wf_command command;
    struct wf_error error;
    if (!wf_command_decode(e->data, e->data_len, &command, wf->decode_scratch, &error)) {
        return; /* applied WF_OK, so it decoded there: unreachable */
    }
    const struct wf_run *run = wf_state_find(sim_wf_committed(w), command.workflow_id);
    assert(run != NULL && command.task_index < run->def.task_count);
    char key[WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
    wf_idempotency_key(run->def.id, run->def.tasks[command.task_index].id, key);
    const struct sim_ledger_key *k = sim_ledger_find(&wf->ledger, key);
    uint32_t effects = k != NULL ? k->effects : 0;
    if (effects != 1) {
        sim_check_violation(&w->checker, "effect_once", 0, 0, 0, e->index,
                            "the committed log completes task %s at index %" PRIu64 " with %" PRIu32
                            " effects applied in the ledger (exactly one is due)",
                            key, e->index, effects);
    }
}

void sim_wf_check_commit(struct sim_world *w, struct sim_node *n)
{
    struct sim_wf *wf = w->wf;
    assert(wf->reference != NULL);
    uint64_t target = w->checker.committed_last;
    if (n->replica == NULL || replica_sm_applied_index(wf->reference) >= target) {
        return;
    }
    struct raft_node *raft = replica_raft(n->replica);
    struct replica_sm_result result;
    for (uint64_t i = replica_sm_applied_index(wf->reference) + 1; i <= target; i++) {
        struct raft_entry e;
        if (!raft_node_entry_at(raft, i, &e) || sim_wf_hashes_reserve(wf, i) != 0) {
            sim_world_fail(w, "the committed reference cannot take entry %" PRIu64 " from n%u", i,
                           n->index + 1);
            return;
        }
        if (replica_sm_apply(wf->reference, &e, &result) != 0) {
            sim_world_fail(w, "out of memory in the committed reference");
            return;
        }
        wf->reference_hashes[i] = replica_sm_hash(wf->reference);
        if (result.machine == REPLICA_SM_WF && result.wf.status == WF_OK && e.data_len > 2 &&
            e.data[2] == WF_CMD_COMPLETE_ATTEMPT) {
            sim_wf_check_completed(w, &e);
        }
    }
}

void sim_wf_check_applied(struct sim_world *w, struct sim_node *n, uint64_t index,
                          uint64_t state_hash, const char *what)
{
    struct sim_wf *wf = w->wf;
    assert(index >= 1);
    assert(n->replica != NULL);
    uint64_t committed = replica_sm_applied_index(wf->reference);
    assert(committed < wf->reference_capacity || committed == 0);
    w->checker.checks++;
    if (index > committed) {
        sim_check_violation(&w->checker, "committed_prefix", n->index + 1, 0, n->term, index,
                            "n%u %s index %" PRIu64 ", beyond the committed log (committed up to "
                            "%" PRIu64 "): its state changed without a committed entry",
                            n->index + 1, what, index, committed);
        return;
    }
    uint64_t expected = wf->reference_hashes[index];
    if (state_hash != expected) {
        sim_check_violation(&w->checker, "committed_prefix", n->index + 1, 0, n->term, index,
                            "n%u's state machines after it %s index %" PRIu64 " hash to %016" PRIx64
                            ", the committed log applied up to there to "
                            "%016" PRIx64 ": not a prefix application of the committed log",
                            n->index + 1, what, index, state_hash, expected);
    }
}

/* "<invariant>: <where>: <what>" -> "<invariant>" */
static void sim_wf_violation(struct sim_world *w, struct sim_node *n, uint64_t index,
                             const char *text)
{
    char name[48];
    size_t len = strcspn(text, ": ");
    if (len >= sizeof(name)) {
        len = sizeof(name) - 1;
    }
    memcpy(name, text, len);
    name[len] = '\0';
    sim_check_violation(&w->checker, name, n->index + 1, 0, n->term, index,
                        "n%u after applying index %" PRIu64 ": %s", n->index + 1, index, text);
}

void sim_wf_check_replica(struct sim_world *w, struct sim_node *n, uint64_t index)
{
    assert(n->replica != NULL);
    assert(n->index < w->node_slots);
    struct sim_wf_node *wn = &w->wf->nodes[n->index];
    const struct wf_state *state = replica_wf(n->replica);
    struct wf_violation violation;
    w->checker.checks += 2;
    if (!wf_inv_check_state(state, &violation)) {
        sim_wf_violation(w, n, index, violation.text);
        return;
    }
    if (!wf_inv_check_progress(wn->before, state, &violation)) {
        sim_wf_violation(w, n, index, violation.text);
        return;
    }
    wf_inv_capture(state, wn->before);
}

void sim_wf_check_execution(struct sim_world *w, const struct wf_assignment *a, uint32_t worker)
{
    assert(worker < w->scenario.wf.workers);
    assert(a->worker_id == worker);
    const struct wf_run *run = wf_state_find(sim_wf_committed(w), a->token.workflow_id);
    const struct wf_task_run *task = run != NULL && a->token.task_index < run->def.task_count
                                         ? &run->tasks[a->token.task_index]
                                         : NULL;
    w->checker.checks++;
    if (task != NULL && a->token.attempt >= 1 && a->token.attempt <= task->attempts &&
        task->attempt_log[a->token.attempt - 1].worker_id == worker) {
        return;
    }
    sim_check_violation(&w->checker, "execute_committed", 0, 0, 0,
                        replica_sm_applied_index(w->wf->reference),
                        "worker w%" PRIu32 " executes %s attempt %" PRIu32
                        ", which the committed log never started for it (an assignment acted on "
                        "before its start committed)",
                        worker, a->idempotency_key, a->token.attempt);
}

void sim_wf_check_effects(struct sim_world *w, const char *key)
{
    const struct sim_ledger_key *k = sim_ledger_find(&w->wf->ledger, key);
    w->checker.checks++;
    if (k != NULL && k->effects > 1) {
        sim_check_violation(&w->checker, "effect_once", 0, 0, 0, 0,
                            "the effect of %s was applied %" PRIu32 " times in %" PRIu32
                            " executions (first by attempt %" PRIu32 " on w%" PRIu32
                            "): a retried execution was not deduplicated by its idempotency key",
                            key, k->effects, k->executions, k->first.attempt, k->first_worker);
    }
}

/* ---- the end of the run ---- */

static size_t sim_wf_unfinished(const struct sim_world *w, char *out, size_t size)
{
    const struct sim_wf *wf = w->wf;
    size_t used = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < wf->request_count && used < size; i++) {
        const struct sim_wf_request *r = &wf->requests[i];
        if (!r->done) {
            int n = snprintf(out + used, size - used, "%s%s %s unanswered", used ? ", " : "",
                             wf_command_type_name(r->type), r->workflow_id);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    const struct wf_state *state = sim_wf_committed(w);
    for (uint32_t i = 0; i < wf_state_run_count(state) && used < size; i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        if (!wf_workflow_state_terminal(run->state) && run->state != WF_WORKFLOW_PAUSED) {
            int n = snprintf(out + used, size - used, "%s%s %s", used ? ", " : "", run->def.id,
                             wf_workflow_state_name(run->state));
            used += n > 0 ? (size_t)n : 0;
        }
    }
    return used;
}

static bool sim_wf_cancelled_by_control(const struct sim_world *w, const char *id)
{
    const struct sim_wf_scenario *s = &w->scenario.wf;
    for (uint32_t i = 0; i < s->control_count; i++) {
        if (s->controls[i].type == WF_CMD_CANCEL && strcmp(s->controls[i].workflow_id, id) == 0) {
            return true;
        }
    }
    return false;
}

static void sim_wf_check_outcomes(struct sim_world *w)
{
    const struct wf_state *state = sim_wf_committed(w);
    for (uint32_t i = 0; i < wf_state_run_count(state); i++) {
        const struct wf_run *run = wf_state_run_at(state, i);
        for (uint32_t t = 0; t < run->def.task_count; t++) {
            if (run->tasks[t].state != WF_TASK_COMPLETED) {
                continue;
            }
            char key[WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
            wf_idempotency_key(run->def.id, run->def.tasks[t].id, key);
            const struct sim_ledger_key *k = sim_ledger_find(&w->wf->ledger, key);
            if (k == NULL || k->effects != 1) {
                sim_check_violation(&w->checker, "effect_once", 0, 0, 0, 0,
                                    "task %s is Completed with %" PRIu32 " effects in the ledger",
                                    key, k != NULL ? k->effects : 0);
                return;
            }
        }
        if (w->scenario.wf.expect_completed && run->state != WF_WORKFLOW_COMPLETED &&
            !sim_wf_cancelled_by_control(w, run->def.id)) {
            sim_check_violation(&w->checker, "workflow_outcome", 0, 0, 0, 0,
                                "workflow %s ended %s; the scenario expects every workflow to "
                                "complete",
                                run->def.id, wf_workflow_state_name(run->state));
            return;
        }
    }
}

void sim_wf_check_settle(struct sim_world *w, bool deadline)
{
    if (sim_wf_settled(w)) {
        if (!deadline) {
            sim_wf_check_outcomes(w);
        } else {
            sim_world_note(w, "settle deadline: every workflow had ended");
        }
        return;
    }
    char unfinished[1024];
    sim_wf_unfinished(w, unfinished, sizeof(unfinished));
    sim_check_violation(&w->checker, "workflow_liveness", 0, 0, 0, 0,
                        "%" PRIu64 "ms after the faults stopped, workflows have not ended: %s",
                        w->scenario.wf.settle_us / 1000, unfinished);
}

/* Replays node n's storage into fresh state machines up to `applied`; returns them or NULL (with
 * *damaged set when the storage refuses a disk that took bit flips at rest, as it must). */
static struct replica_sm *sim_wf_replay_storage(struct sim_world *w, struct sim_node *n,
                                                uint64_t applied, bool *damaged, char *why,
                                                size_t size)
{
    struct replica_config config;
    sim_node_config(w, n, &config);
    struct store *store = NULL;
    struct store_recovery rec;
    struct storage_error serr;
    int open_rc = store_open(config.fs, config.dir, &config.store, 0, &store, &rec, &serr);
    if (open_rc == STORAGE_ECORRUPT && sim_fs_stats(n->fs)->bit_flips > 0) {
        *damaged = true; /* damage at rest, refused as it must be: nothing to compare */
        return NULL;
    }
    if (open_rc != STORAGE_OK) {
        snprintf(why, size, "its storage does not open: %s", serr.message);
        return NULL;
    }
    struct replica_sm *sm =
        rec.snapshot.found ? replica_sm_restore(&config.machines, NULL, NULL, rec.snapshot.data,
                                                (size_t)rec.snapshot.meta.data_len,
                                                rec.snapshot.meta.index, why, size)
                           : replica_sm_create(&config.machines, NULL, NULL);
    snap_loaded_free(&rec.snapshot);
    struct wal_iter *iter = NULL;
    int rc = sm == NULL
                 ? STORAGE_EINVAL
                 : wal_iter_open(store_wal(store), replica_sm_applied_index(sm) + 1, &iter, &serr);
    struct wal_entry e;
    struct replica_sm_result result;
    while (rc == STORAGE_OK && replica_sm_applied_index(sm) < applied &&
           (rc = wal_iter_next(iter, &e, &serr)) == 1) {
        struct raft_entry entry = { .index = e.index,
                                    .term = e.term,
                                    .type = (enum raft_entry_type)e.type,
                                    .data = e.data,
                                    .data_len = e.data_len };
        rc = replica_sm_apply(sm, &entry, &result) == 0 ? STORAGE_OK : STORAGE_ENOMEM;
        w->wf->stats.rebuild_entries++;
    }
    wal_iter_close(iter);
    store_close(store);
    if (sm != NULL && rc < 0) {
        snprintf(why, size, "reading its log failed: %s", serr.message);
        replica_sm_destroy(sm);
        return NULL;
    }
    return sm;
}

/* Closes every node (after a final group commit) and replays its storage from scratch. */
void sim_wf_check_rebuild(struct sim_world *w)
{
    for (uint32_t i = 0; i < w->node_slots && !w->checker.violated; i++) {
        struct sim_node *n = &w->nodes[i];
        struct replica_error err;
        if (!n->up || n->replica == NULL || replica_failed(n->replica) ||
            (replica_sync_pending(n->replica) && replica_sync(n->replica, &err) != REPLICA_OK)) {
            continue;
        }
        uint64_t applied = replica_applied_index(n->replica);
        uint64_t live = replica_state_hash(n->replica);
        uint64_t snapshot = raft_node_snapshot_index(replica_raft(n->replica));
        if (applied < snapshot) {
            /* Restarted and not stepped yet: its state machines restore the snapshot at its first
             * step (raft.h obligation 11), so there is no live state to compare; its storage
             * must still replay to the committed log's state at the snapshot. */
            /* A snapshot covers only committed entries, which the reference has applied. */
            assert(snapshot <= replica_sm_applied_index(w->wf->reference));
            assert(snapshot < w->wf->reference_capacity);
            applied = snapshot;
            live = w->wf->reference_hashes[snapshot];
        }
        replica_close(n->replica);
        n->replica = NULL;
        n->up = 0;
        char why[640] = "";
        bool damaged = false;
        struct replica_sm *sm = sim_wf_replay_storage(w, n, applied, &damaged, why, sizeof(why));
        w->wf->stats.rebuilds++;
        w->checker.checks++;
        if (damaged) {
            sim_world_note(w, "n%u's storage, damaged at rest, refuses the rebuild", i + 1);
        } else if (sm == NULL || replica_sm_applied_index(sm) != applied) {
            sim_check_violation(&w->checker, "projector_rebuild", i + 1, 0, n->term, applied,
                                "replaying n%u's storage could not reach its applied index "
                                "%" PRIu64 ": %s",
                                i + 1, applied, why[0] ? why : "the log ends before it");
        } else if (replica_sm_hash(sm) != live || live != w->wf->reference_hashes[applied]) {
            sim_check_violation(
                &w->checker, "projector_rebuild", i + 1, 0, n->term, applied,
                "replaying n%u's storage up to index %" PRIu64 " gives state hash %016" PRIx64
                ", the live replica had %016" PRIx64 " and the committed log gives %016" PRIx64,
                i + 1, applied, replica_sm_hash(sm), live, w->wf->reference_hashes[applied]);
        }
        replica_sm_destroy(sm);
    }
}

/* ---- counters ---- */

void sim_wf_counters(const struct sim_world *w, struct report_run *r)
{
    const struct sim_wf *wf = w->wf;
    if (wf == NULL || !wf->enabled) {
        return;
    }
    struct wf_counters c;
    wf_state_counters(sim_wf_committed(w), &c);
    report_run_count(r, "wf.submitted", c.workflows_submitted);
    report_run_count(r, "wf.completed", c.workflows_by_state[WF_WORKFLOW_COMPLETED]);
    report_run_count(r, "wf.failed", c.workflows_by_state[WF_WORKFLOW_FAILED]);
    report_run_count(r, "wf.cancelled", c.workflows_by_state[WF_WORKFLOW_CANCELLED]);
    report_run_count(r, "wf.unfinished",
                     c.workflows_by_state[WF_WORKFLOW_RUNNING] +
                         c.workflows_by_state[WF_WORKFLOW_PAUSED]);
    report_run_count(r, "wf.paused", c.workflows_by_state[WF_WORKFLOW_PAUSED]);
    report_run_count(r, "wf.tasks.completed", c.tasks_by_state[WF_TASK_COMPLETED]);
    report_run_count(r, "wf.tasks.failed", c.tasks_by_state[WF_TASK_FAILED]);
    report_run_count(r, "wf.tasks.unfinished",
                     c.tasks_by_state[WF_TASK_PENDING] + c.tasks_by_state[WF_TASK_READY] +
                         c.tasks_by_state[WF_TASK_RUNNING]);
    report_run_count(r, "wf.attempts", c.attempts_started);
    report_run_count(r, "wf.retries", c.retries_scheduled);
    report_run_count(r, "wf.lease_expiries", c.lease_expiries);
    report_run_count(r, "wf.extensions", c.lease_extensions);
    report_run_count(r, "wf.duplicates", c.duplicates_detected);
    report_run_count(r, "wf.submit_existing", c.submits_idempotent);
    report_run_count(r, "wf.submit_resends", wf->stats.submit_resends);
    report_run_count(r, "wf.completion_ms_sum", c.completion_ms_total);
    report_run_count(r, "wf.executions", wf->ledger.executions);
    report_run_count(r, "wf.effects", wf->ledger.effects_applied);
    report_run_count(r, "wf.effect_duplicates", wf->ledger.duplicates_detected);
    report_run_count(r, "wf.worker_crashes", wf->stats.worker_crashes);
    report_run_count(r, "wf.rebuilds", wf->stats.rebuilds);
}
