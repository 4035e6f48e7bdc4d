/* The side-effect ledger: effects applied once per idempotency key, repeated executions counted. */
#include "sim/ledger.h"

#include "core/hash.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int sim_ledger_init(struct sim_ledger *l)
{
    assert(l != NULL);
    memset(l, 0, sizeof(*l));
    l->keys = calloc(SIM_LEDGER_KEYS_MAX, sizeof(*l->keys));
    l->slots = calloc(SIM_LEDGER_SLOTS, sizeof(*l->slots));
    l->records = calloc(SIM_LEDGER_RECORDS_MAX, sizeof(*l->records));
    if (l->keys == NULL || l->slots == NULL || l->records == NULL) {
        sim_ledger_deinit(l);
        return -1;
    }
    return 0;
}

void sim_ledger_deinit(struct sim_ledger *l)
{
    if (l == NULL) {
        return;
    }
    free(l->keys);
    free(l->slots);
    free(l->records);
    memset(l, 0, sizeof(*l));
}

/* The slot holding `key`, or the empty slot where it belongs (linear probing; bounded because
 * the table is never more than half full). */
static uint32_t sim_ledger_slot(const struct sim_ledger *l, const char *key)
{
    uint32_t mask = SIM_LEDGER_SLOTS - 1;
    uint32_t slot = (uint32_t)hash_bytes(key, strlen(key), 0) & mask;
    for (uint32_t probe = 0; probe < SIM_LEDGER_SLOTS; probe++) {
        uint32_t held = l->slots[slot];
        if (held == 0 || strcmp(l->keys[held - 1].key, key) == 0) {
            return slot;
        }
        slot = (slot + 1) & mask;
    }
    assert(0 && "the ledger's table is never full");
    return 0;
}

const struct sim_ledger_key *sim_ledger_find(const struct sim_ledger *l, const char *key)
{
    assert(l != NULL && key != NULL);
    uint32_t held = l->slots[sim_ledger_slot(l, key)];
    return held == 0 ? NULL : &l->keys[held - 1];
}

static int sim_ledger_call(struct sim_ledger *l, const struct wf_assignment *a, uint32_t worker,
                           uint64_t time_us, bool keyed)
{
    assert(l != NULL && a != NULL);
    assert(a->idempotency_key[0] != '\0');
    uint32_t slot = sim_ledger_slot(l, a->idempotency_key);
    if (l->slots[slot] == 0) {
        if (l->key_count == SIM_LEDGER_KEYS_MAX) {
            l->full++;
            return -1;
        }
        struct sim_ledger_key *k = &l->keys[l->key_count];
        memset(k, 0, sizeof(*k));
        memcpy(k->key, a->idempotency_key, sizeof(k->key));
        l->slots[slot] = ++l->key_count;
    }
    uint32_t index = l->slots[slot] - 1;
    struct sim_ledger_key *k = &l->keys[index];
    bool apply = !keyed || k->effects == 0;
    k->executions++;
    l->executions++;
    if (apply) {
        if (k->effects == 0) {
            k->first = a->token;
            k->first_worker = worker;
        }
        k->effects++;
        l->effects_applied++;
    } else {
        l->duplicates_detected++;
    }
    if (l->record_count < SIM_LEDGER_RECORDS_MAX) {
        l->records[l->record_count++] = (struct sim_ledger_record){
            .token = a->token,
            .worker = worker,
            .time_us = time_us,
            .applied = apply,
            .keyed = keyed,
            .key = index,
        };
    }
    return apply ? 1 : 0;
}

int sim_ledger_execute(struct sim_ledger *l, const struct wf_assignment *a, uint32_t worker,
                       uint64_t time_us)
{
    return sim_ledger_call(l, a, worker, time_us, true);
}

int sim_ledger_execute_unkeyed(struct sim_ledger *l, const struct wf_assignment *a, uint32_t worker,
                               uint64_t time_us)
{
    return sim_ledger_call(l, a, worker, time_us, false);
}
