/* The simulated side-effect ledger: an external system that applies an effect once per key. */
#ifndef FLOWRAFT_SIM_LEDGER_H
#define FLOWRAFT_SIM_LEDGER_H

#include "workflows/wf_executor.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Think of a payments API with idempotency keys: a worker executing a task calls it with the
 * task's idempotency key ("<workflow>/<task>", the same for every attempt); the first call with
 * a key applies the effect, later calls find it applied and only count as repeated executions.
 * That is how a retried or duplicated execution still has one effect (G5). A worker that calls
 * without the key (sim_ledger_execute_unkeyed, the broken variant) applies the effect every time.
 *
 * The ledger is outside the cluster: it is never rolled back by a crash or a failover, which is
 * what makes it a witness. Everything is bounded: at most SIM_LEDGER_KEYS_MAX keys and a record of
 * the first SIM_LEDGER_RECORDS_MAX executions (later ones are counted only).
 */

#define SIM_LEDGER_KEYS_MAX    4096u
#define SIM_LEDGER_SLOTS       8192u /* open addressing; invariant: keys < SIM_LEDGER_SLOTS / 2 */
#define SIM_LEDGER_RECORDS_MAX 16384u

struct sim_ledger_key {
    char key[WF_IDEMPOTENCY_KEY_BYTES_MAX + 1];
    uint32_t executions;   /* calls with this key (each one an execution of the task's effect) */
    uint32_t effects;      /* effects applied: 1 through the keyed API, one per call unkeyed */
    struct wf_token first; /* the attempt whose execution applied the first effect */
    uint32_t first_worker;
};

/* One execution, as the external system saw it. */
struct sim_ledger_record {
    struct wf_token token;
    uint32_t worker;
    uint64_t time_us;
    bool applied; /* this call applied an effect */
    bool keyed;   /* made with the idempotency key */
    uint32_t key; /* index into keys */
};

struct sim_ledger {
    struct sim_ledger_key *keys; /* owned, SIM_LEDGER_KEYS_MAX; [0, key_count) used */
    uint32_t key_count;
    uint32_t *slots;                   /* owned, SIM_LEDGER_SLOTS; key index + 1, 0 = empty */
    struct sim_ledger_record *records; /* owned, SIM_LEDGER_RECORDS_MAX */
    uint32_t record_count;
    uint64_t executions;          /* every call */
    uint64_t effects_applied;     /* every effect applied */
    uint64_t duplicates_detected; /* keyed calls that found the effect applied already */
    uint64_t full;                /* calls refused because the key table was full */
};

/* Returns 0, or -1 when out of memory. */
int sim_ledger_init(struct sim_ledger *ledger);
void sim_ledger_deinit(struct sim_ledger *ledger);

/*
 * An execution through the idempotent API. Returns 1 if it applied the effect, 0 if the key had
 * one already (a duplicate execution, counted), -1 if the key table is full (nothing recorded).
 */
int sim_ledger_execute(struct sim_ledger *ledger, const struct wf_assignment *assignment,
                       uint32_t worker, uint64_t time_us);
/* The broken worker: the effect is applied on every call. Same returns. */
int sim_ledger_execute_unkeyed(struct sim_ledger *ledger, const struct wf_assignment *assignment,
                               uint32_t worker, uint64_t time_us);

/* The key's record, or NULL if nothing was ever executed with it. */
const struct sim_ledger_key *sim_ledger_find(const struct sim_ledger *ledger, const char *key);

#endif
