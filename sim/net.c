/* The simulated network: fates of each message drawn through the chooser, bytes in a slot pool. */
#include "sim/net.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int sim_net_init(struct sim_net *net, uint32_t node_count, const struct sim_net_config *config,
                 uint16_t deliver_kind)
{
    assert(net != NULL);
    assert(config != NULL);
    assert(node_count >= 1);
    assert(node_count <= SIM_NODES_MAX);
    memset(net, 0, sizeof(*net));
    net->node_count = node_count;
    net->config = *config;
    net->deliver_kind = deliver_kind;
    net->slots = calloc(SIM_NET_INFLIGHT_MAX, sizeof(net->slots[0]));
    net->free_slots = malloc(SIM_NET_INFLIGHT_MAX * sizeof(net->free_slots[0]));
    if (net->slots == NULL || net->free_slots == NULL) {
        sim_net_deinit(net);
        return -1;
    }
    /* A released slot is reused first (last released, first reused), else the lowest never
     * used: slot numbers are deterministic and small. */
    net->free_count = SIM_NET_INFLIGHT_MAX;
    net->slots_touched = 0;
    return 0;
}

void sim_net_deinit(struct sim_net *net)
{
    assert(net != NULL);
    if (net->slots != NULL) {
        assert(net->slots_touched <= SIM_NET_INFLIGHT_MAX);
        for (uint32_t i = 0; i < net->slots_touched; i++) {
            free(net->slots[i].bytes);
        }
    }
    free(net->slots);
    free(net->free_slots);
    net->slots = NULL;
    net->free_slots = NULL;
    net->free_count = 0;
    net->slots_touched = 0;
}

/* Slots released and not reused yet (the stack's depth). */
static uint32_t sim_net_released(const struct sim_net *net)
{
    assert(net->free_count >= SIM_NET_INFLIGHT_MAX - net->slots_touched);
    return net->free_count - (SIM_NET_INFLIGHT_MAX - net->slots_touched);
}

/* Copies the message into a free slot; returns the slot or UINT32_MAX (pool full / no memory). */
static uint32_t sim_net_slot_fill(struct sim_net *net, uint16_t from, uint16_t to,
                                  const uint8_t *bytes, uint32_t len)
{
    if (net->free_count == 0) {
        return UINT32_MAX;
    }
    uint32_t released = sim_net_released(net);
    uint32_t index = released > 0 ? net->free_slots[released - 1] : net->slots_touched++;
    assert(index < net->slots_touched);
    struct sim_net_slot *slot = &net->slots[index];
    assert(!slot->in_use);
    if (slot->capacity < len) {
        uint32_t capacity = len < 256 ? 256 : len;
        uint8_t *grown = realloc(slot->bytes, capacity);
        if (grown == NULL) {
            return UINT32_MAX;
        }
        slot->bytes = grown;
        slot->capacity = capacity;
    }
    if (len > 0) {
        memcpy(slot->bytes, bytes, len);
    }
    slot->len = len;
    slot->from = from;
    slot->to = to;
    slot->in_use = 1;
    slot->corrupted = 0;
    net->free_count--;
    return index;
}

void sim_net_release(struct sim_net *net, uint32_t index)
{
    assert(index < SIM_NET_INFLIGHT_MAX);
    struct sim_net_slot *slot = &net->slots[index];
    assert(slot->in_use);
    slot->in_use = 0;
    assert(index < net->slots_touched);
    assert(net->free_count < SIM_NET_INFLIGHT_MAX);
    net->free_slots[sim_net_released(net)] = index;
    net->free_count++;
}

/* Flips one to SIM_NET_CORRUPT_BITS_MAX bits of the slot's bytes. Flipping one bit twice undoes
 * it, so the copy counts as corrupted only if its bytes differ from `original` afterwards. */
static void sim_net_corrupt(struct sim_net *net, struct sim_chooser *chooser,
                            struct sim_net_slot *slot, const uint8_t *original)
{
    if (slot->len == 0) {
        return;
    }
    uint64_t flips = 1 + sim_choose(chooser, SIM_CONCERN_NET_CORRUPT, SIM_NET_CORRUPT_BITS_MAX);
    for (uint64_t i = 0; i < flips; i++) {
        uint64_t bit = sim_choose(chooser, SIM_CONCERN_NET_CORRUPT, (uint64_t)slot->len * 8);
        slot->bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    if (memcmp(slot->bytes, original, slot->len) != 0) {
        slot->corrupted = 1;
        net->stats.corrupted++;
    }
}

/* Schedules one copy: latency, clog, corruption. Returns 0, or -1 if the queue is full. */
static int sim_net_schedule_copy(struct sim_net *net, struct sim_queue *queue,
                                 struct sim_chooser *chooser, uint16_t from, uint16_t to,
                                 const uint8_t *bytes, uint32_t len)
{
    uint32_t index = sim_net_slot_fill(net, from, to, bytes, len);
    if (index == UINT32_MAX) {
        net->stats.dropped_overflow++;
        return 0;
    }
    if (sim_choose_chance(chooser, SIM_CONCERN_NET_CORRUPT, net->config.corrupt_probability)) {
        sim_net_corrupt(net, chooser, &net->slots[index], bytes);
    }
    const struct sim_dist *latency = &net->config.latency;
    uint64_t drawn = sim_dist_sample(latency, sim_chooser_stream(chooser, SIM_CONCERN_NET_DELAY));
    uint64_t delay_us =
        sim_choose_sampled(chooser, SIM_CONCERN_NET_DELAY, latency->min_us, latency->max_us, drawn);
    if (((net->config.slow_mask >> from) | (net->config.slow_mask >> to)) & 1u) {
        const struct sim_dist *slow = &net->config.slow_latency;
        uint64_t extra = sim_dist_sample(slow, sim_chooser_stream(chooser, SIM_CONCERN_NET_DELAY));
        delay_us +=
            sim_choose_sampled(chooser, SIM_CONCERN_NET_DELAY, slow->min_us, slow->max_us, extra);
    }
    uint64_t time_us = queue->now_us + delay_us;
    uint64_t clogged_until_us = net->links[from][to].clogged_until_us;
    if (clogged_until_us > time_us) {
        time_us = clogged_until_us;
        net->stats.clogged++;
    }
    struct sim_event event = {
        .time_us = time_us, .kind = net->deliver_kind, .node = to, .arg = index
    };
    if (sim_queue_push(queue, event) != 0) {
        sim_net_release(net, index);
        return -1;
    }
    return 0;
}

int sim_net_send(struct sim_net *net, struct sim_queue *queue, struct sim_chooser *chooser,
                 uint16_t from, uint16_t to, const uint8_t *bytes, uint32_t len)
{
    assert(net != NULL);
    assert(from < net->node_count);
    assert(to < net->node_count);
    assert(bytes != NULL || len == 0);
    assert(len <= SIM_NET_MESSAGE_BYTES_MAX);
    net->stats.sent++;
    net->stats.bytes_sent += len;
    if (net->links[from][to].blocked) {
        net->stats.dropped_partition++;
        return 0;
    }
    if (sim_choose_chance(chooser, SIM_CONCERN_NET_DROP, net->config.drop_probability)) {
        net->stats.dropped_random++;
        return 0;
    }
    int copies = 1;
    if (sim_choose_chance(chooser, SIM_CONCERN_NET_DUP, net->config.duplicate_probability)) {
        copies = 2;
        net->stats.duplicated++;
    }
    for (int i = 0; i < copies; i++) {
        if (sim_net_schedule_copy(net, queue, chooser, from, to, bytes, len) != 0) {
            return -1;
        }
    }
    return 0;
}

const struct sim_net_slot *sim_net_deliver(struct sim_net *net, uint32_t index)
{
    assert(net != NULL);
    assert(index < SIM_NET_INFLIGHT_MAX);
    const struct sim_net_slot *slot = &net->slots[index];
    assert(slot->in_use);
    if (net->links[slot->from][slot->to].blocked) {
        net->stats.dropped_partition++;
        sim_net_release(net, index);
        return NULL;
    }
    net->stats.delivered++;
    return slot;
}

void sim_net_count_caught(struct sim_net *net)
{
    assert(net != NULL);
    net->stats.corrupt_caught++;
    assert(net->stats.corrupt_caught <= net->stats.corrupted);
}

void sim_net_block(struct sim_net *net, uint16_t from, uint16_t to, int blocked)
{
    assert(from < net->node_count);
    assert(to < net->node_count);
    if (from != to) {
        net->links[from][to].blocked = (uint8_t)(blocked != 0);
    }
}

void sim_net_split(struct sim_net *net, uint32_t group_mask)
{
    assert(net != NULL);
    for (uint16_t a = 0; a < net->node_count; a++) {
        for (uint16_t b = 0; b < net->node_count; b++) {
            int a_in = (group_mask >> a) & 1u;
            int b_in = (group_mask >> b) & 1u;
            if (a_in != b_in) {
                net->links[a][b].blocked = 1;
            }
        }
    }
}

void sim_net_isolate(struct sim_net *net, uint16_t node)
{
    assert(node < net->node_count);
    sim_net_split(net, 1u << node);
}

void sim_net_clog(struct sim_net *net, uint16_t from, uint16_t to, uint64_t until_us)
{
    assert(from < net->node_count);
    assert(to < net->node_count);
    if (net->links[from][to].clogged_until_us < until_us) {
        net->links[from][to].clogged_until_us = until_us;
    }
}

void sim_net_heal(struct sim_net *net)
{
    assert(net != NULL);
    for (uint32_t a = 0; a < SIM_NODES_MAX; a++) {
        for (uint32_t b = 0; b < SIM_NODES_MAX; b++) {
            net->links[a][b].blocked = 0;
            net->links[a][b].clogged_until_us = 0;
        }
    }
}

uint32_t sim_net_blocked_links(const struct sim_net *net)
{
    uint32_t blocked = 0;
    for (uint32_t a = 0; a < net->node_count; a++) {
        for (uint32_t b = 0; b < net->node_count; b++) {
            blocked += net->links[a][b].blocked;
        }
    }
    return blocked;
}
