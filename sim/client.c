/* Simulated clients: KV sessions, leader discovery by redirects, timeouts and retries. */
#include "sim/world.h"

#include "workflows/kv.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SIM_CLIENT_BACKOFF_MAX_US 500000u

static uint64_t sim_client_latency(struct sim_world *w)
{
    const struct sim_dist *latency = &w->scenario.latency;
    uint64_t drawn = sim_dist_sample(latency, sim_chooser_stream(&w->chooser, SIM_CONCERN_CLIENT));
    return sim_choose_sampled(&w->chooser, SIM_CONCERN_CLIENT, latency->min_us, latency->max_us,
                              drawn);
}

static void sim_client_think(struct sim_world *w, struct sim_client *c)
{
    const struct sim_dist *think = &w->scenario.think;
    uint64_t drawn = sim_dist_sample(think, sim_chooser_stream(&w->chooser, SIM_CONCERN_CLIENT));
    /* The calm choice (0) is the longest pause: a shrunk schedule's clients do less. */
    uint64_t delay = sim_choose_sampled_calm_max(&w->chooser, SIM_CONCERN_CLIENT, think->min_us,
                                                 think->max_us, drawn);
    c->state = SIM_CLIENT_IDLE;
    sim_world_push(w, w->queue.now_us + delay, SIM_EV_CLIENT_WAKE, c->index, ++c->wake_generation);
}

void sim_clients_start(struct sim_world *w)
{
    for (uint32_t i = 0; i < w->scenario.clients; i++) {
        struct sim_client *c = &w->clients[i];
        /* The world is calloc'd: the client is zero already (its key memory is 16 KB that a
         * short run never touches). */
        assert(c->op_seq == 0 && c->session == 0 && c->state == SIM_CLIENT_IDLE);
        c->index = i;
        c->hist_op = -1;
        c->target = (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_CLIENT, w->node_slots);
        sim_client_think(w, c);
    }
}

size_t sim_format_u64(uint64_t value, char *out)
{
    char digits[20];
    size_t n = 0;
    do { /* bounded: at most 20 digits */
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = digits[n - 1 - i];
    }
    return n;
}

size_t sim_key_name(uint32_t key, char *out)
{
    out[0] = 'k';
    size_t len = 1 + sim_format_u64(key, out + 1);
    assert(len < SIM_KEY_NAME_BYTES);
    out[len] = '\0';
    return len;
}

/* A note built piece by piece (client notes are made on every operation; printf would cost more
 * than the operation). Truncates at `cap - 1` bytes, like snprintf. */
struct sim_client_text {
    char buf[160];
    size_t len; /* invariant: len < sizeof(buf), buf[len] == '\0' */
};

static void sim_text_put(struct sim_client_text *t, const char *s, size_t n)
{
    size_t room = sizeof(t->buf) - 1 - t->len;
    n = n < room ? n : room;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void sim_text_str(struct sim_client_text *t, const char *s)
{
    sim_text_put(t, s, strlen(s));
}

static void sim_text_u64(struct sim_client_text *t, uint64_t value)
{
    char digits[20];
    sim_text_put(t, digits, sim_format_u64(value, digits));
}

/* Sends (or re-sends) the current operation to the believed leader and arms its timeout. */
static void sim_client_send(struct sim_world *w, struct sim_client *c)
{
    c->attempt++;
    uint64_t arg = ((uint64_t)c->index << 48) | (c->op_seq & 0xffffffffffffull);
    sim_world_push(w, w->queue.now_us + sim_client_latency(w), SIM_EV_REQUEST, c->target, arg);
    uint64_t timeout_arg = (c->op_seq << 16) | (c->attempt & 0xffffu);
    sim_world_push(w, w->queue.now_us + w->scenario.request_timeout_us, SIM_EV_CLIENT_TIMEOUT,
                   c->index, timeout_arg);
}

static void sim_client_encode(struct sim_world *w, struct sim_client *c,
                              const struct kv_command *command)
{
    size_t len = 0;
    struct kv_error error;
    if (kv_command_encode(command, c->payload, sizeof(c->payload), &len, &error) != 0) {
        sim_world_fail(w, "client %u: cannot encode its command: %s", c->index + 1, error.reason);
        return;
    }
    c->payload_len = (uint32_t)len;
}

/* Draws the next operation: kind by weight, key, value, and what a compare-and-set expects. */
static void sim_client_draw(struct sim_world *w, struct sim_client *c)
{
    uint32_t total = 0;
    for (int i = 0; i < SIM_OP_COUNT; i++) {
        total += w->scenario.op_weights[i];
    }
    uint64_t pick = sim_choose(&w->chooser, SIM_CONCERN_CLIENT, total);
    int op = 0;
    while (pick >= w->scenario.op_weights[op]) {
        pick -= w->scenario.op_weights[op];
        op++;
    }
    assert(op < SIM_OP_COUNT);
    c->op = (enum sim_op)op;
    c->key = (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_CLIENT, w->scenario.keys);
    /* "c<client>-<seq>": at most 1 + 10 + 1 + 20 bytes, well within the value buffer. */
    _Static_assert(SIM_VALUE_BYTES_MAX > 32, "a client value fits");
    size_t n = 0;
    c->value[n++] = 'c';
    n += sim_format_u64(c->index + 1, c->value + n);
    c->value[n++] = '-';
    n += sim_format_u64(c->next_seq, c->value + n);
    c->value[n] = '\0';
    c->value_len = (uint8_t)n;
    c->cas_absent = c->known_len[c->key] == 0;
    c->expected_len = c->known_len[c->key];
    memcpy(c->expected, c->known[c->key], c->expected_len);
}

static void sim_client_begin(struct sim_world *w, struct sim_client *c)
{
    c->op_seq++;
    c->attempt = 0;
    c->state = SIM_CLIENT_WAITING;
    c->invoked_us = w->queue.now_us;
    if (c->session == 0) {
        c->registering = 1;
        struct kv_command command = kv_command_register();
        sim_client_encode(w, c, &command);
        sim_world_note(w, "register a session, to n%u", c->target + 1);
        sim_client_send(w, c);
        return;
    }
    c->registering = 0;
    sim_client_draw(w, c);
    char key[SIM_KEY_NAME_BYTES];
    size_t key_len = sim_key_name(c->key, key);
    struct kv_command command;
    switch (c->op) {
    case SIM_OP_PUT:
        command =
            kv_command_put(c->session, c->next_seq, key, (uint32_t)key_len, c->value, c->value_len);
        break;
    case SIM_OP_GET:
        command = kv_command_get(c->session, c->next_seq, key, (uint32_t)key_len);
        break;
    case SIM_OP_DELETE:
        command = kv_command_delete(c->session, c->next_seq, key, (uint32_t)key_len);
        break;
    case SIM_OP_CAS:
    default:
        command = c->cas_absent
                      ? kv_command_cas_absent(c->session, c->next_seq, key, (uint32_t)key_len,
                                              c->value, c->value_len)
                      : kv_command_cas(c->session, c->next_seq, key, (uint32_t)key_len, c->expected,
                                       c->expected_len, c->value, c->value_len);
        break;
    }
    /* "put k4 = c3-460 (seq 460), to n3", "cas k1 c2-7 -> c3-461 (seq 461), to n3" */
    struct sim_client_text note = { .len = 0 };
    sim_text_str(&note, sim_op_name(c->op));
    sim_text_put(&note, " k", 2);
    sim_text_u64(&note, c->key);
    if (c->op == SIM_OP_CAS) {
        sim_text_put(&note, " ", 1);
        if (c->cas_absent) {
            sim_text_str(&note, "absent");
        } else {
            sim_text_put(&note, c->expected, strnlen(c->expected, c->expected_len));
        }
        sim_text_put(&note, " -> ", 4);
        sim_text_str(&note, c->value);
    } else if (c->op == SIM_OP_PUT) {
        sim_text_put(&note, " = ", 3);
        sim_text_str(&note, c->value);
    }
    sim_text_put(&note, " (seq ", 6);
    sim_text_u64(&note, c->next_seq);
    sim_text_put(&note, "), to n", 7);
    sim_text_u64(&note, c->target + 1);
    sim_world_note_text(w, note.buf, note.len);
    c->next_seq++;
    sim_client_encode(w, c, &command);
    w->stats.client_ops++;
    sim_history_invoke(w, c);
    sim_client_send(w, c);
}

void sim_client_wake(struct sim_world *w, struct sim_client *c, uint64_t generation)
{
    if (generation != c->wake_generation) {
        return; /* superseded: a reply arrived after this wake was scheduled */
    }
    if (c->state == SIM_CLIENT_IDLE) {
        sim_client_begin(w, c);
    } else {
        w->stats.client_retries++;
        sim_world_note(w, "retry at n%u", c->target + 1);
        sim_client_send(w, c); /* a backed-off retry of the current operation */
        return;
    }
}

void sim_client_timeout(struct sim_world *w, struct sim_client *c, uint64_t arg)
{
    if (c->state != SIM_CLIENT_WAITING || (arg >> 16) != (c->op_seq & 0xffffffffffffull) ||
        (arg & 0xffffu) != (c->attempt & 0xffffu)) {
        return; /* an earlier attempt's timer */
    }
    w->stats.client_timeouts++;
    w->stats.client_retries++;
    c->target = (c->target + 1) % w->node_slots; /* try the next node */
    sim_world_note(w, "attempt %u timed out; retry at n%u", c->attempt, c->target + 1);
    sim_client_send(w, c);
}

void sim_client_send_reply(struct sim_world *w, uint32_t client, const struct sim_reply *reply)
{
    assert(client < w->scenario.clients);
    struct sim_client *c = &w->clients[client];
    uint32_t slot = c->mailbox_next;
    c->mailbox_next = (c->mailbox_next + 1) % SIM_CLIENT_MAILBOX_MAX;
    c->mailbox[slot] = *reply; /* a reply still in flight in this slot is lost (bounded) */
    sim_world_push(w, w->queue.now_us + sim_client_latency(w), SIM_EV_REPLY, client,
                   ((uint64_t)slot << 48) | (reply->op_seq & 0xffffffffffffull));
}

static void sim_client_backoff(struct sim_world *w, struct sim_client *c)
{
    uint64_t delay = (uint64_t)w->scenario.tick_us * (c->attempt < 50 ? c->attempt : 50);
    if (delay > SIM_CLIENT_BACKOFF_MAX_US) {
        delay = SIM_CLIENT_BACKOFF_MAX_US;
    }
    c->attempt++; /* the pending timeout now belongs to an old attempt: it must not resend */
    sim_world_push(w, w->queue.now_us + delay, SIM_EV_CLIENT_WAKE, c->index, ++c->wake_generation);
}

static void sim_client_learn(struct sim_client *c, const struct sim_reply *reply)
{
    int wrote = c->op == SIM_OP_PUT || (c->op == SIM_OP_CAS && reply->status == KV_STATUS_OK);
    if (wrote) {
        c->known_len[c->key] = c->value_len < 16 ? c->value_len : 15;
        memcpy(c->known[c->key], c->value, c->known_len[c->key]);
    } else if (c->op == SIM_OP_DELETE ||
               (reply->status == KV_STATUS_NOT_FOUND && c->op == SIM_OP_GET)) {
        c->known_len[c->key] = 0;
    } else if (reply->has_value && reply->value_len < 16) {
        c->known_len[c->key] = reply->value_len;
        memcpy(c->known[c->key], reply->value, reply->value_len);
    }
}

static void sim_client_result(struct sim_world *w, struct sim_client *c,
                              const struct sim_reply *reply)
{
    if (c->registering) {
        if (reply->status == KV_STATUS_OK) {
            c->session = reply->session;
            c->next_seq = 1;
        }
        sim_client_think(w, c);
        return;
    }
    sim_history_complete(w, c, reply);
    if (reply->status == KV_STATUS_SESSION_UNKNOWN || reply->status == KV_STATUS_SESSION_STALE) {
        c->session = 0; /* register again before the next command */
    } else {
        sim_client_learn(c, reply);
    }
    sim_client_think(w, c);
}

/* "ok c3-460", "not-found": the status and the value, if any. */
static void sim_client_note_result(struct sim_world *w, const struct sim_reply *reply)
{
    struct sim_client_text note = { .len = 0 };
    sim_text_str(&note, kv_status_name(reply->status));
    if (reply->has_value) { /* what "%s %.*s" printed */
        sim_text_put(&note, " ", 1);
        sim_text_put(&note, (const char *)reply->value,
                     strnlen((const char *)reply->value, reply->value_len));
    }
    sim_world_note_text(w, note.buf, note.len);
}

void sim_client_reply(struct sim_world *w, struct sim_client *c, uint64_t arg)
{
    uint32_t slot = (uint32_t)(arg >> 48);
    uint64_t op_seq = arg & 0xffffffffffffull;
    assert(slot < SIM_CLIENT_MAILBOX_MAX);
    const struct sim_reply reply = c->mailbox[slot];
    if (reply.op_seq != op_seq) {
        return; /* the mailbox slot was reused by a later reply: this one is lost */
    }
    c->mailbox[slot].op_seq = UINT64_MAX; /* consumed */
    if (c->state != SIM_CLIENT_WAITING || op_seq != (c->op_seq & 0xffffffffffffull)) {
        return; /* a late reply for an operation already finished */
    }
    switch (reply.kind) {
    case SIM_REPLY_RESULT:
        sim_client_note_result(w, &reply);
        sim_client_result(w, c, &reply);
        return;
    case SIM_REPLY_REDIRECT:
        if (reply.hint != 0) {
            sim_world_note(w, "redirect: the leader is n%u", reply.hint);
        } else {
            sim_world_note(w, "redirect: no leader known");
        }
        if (reply.hint >= 1 && reply.hint <= w->node_slots && reply.hint - 1 != c->target) {
            c->target = reply.hint - 1;
            w->stats.client_retries++;
            sim_client_send(w, c);
            return;
        }
        c->target = (uint32_t)sim_choose(&w->chooser, SIM_CONCERN_CLIENT, w->node_slots);
        sim_client_backoff(w, c);
        return;
    case SIM_REPLY_RETRY:
        sim_world_note(w, "not committed (lost or refused): retry");
        sim_client_backoff(w, c);
        return;
    }
}

void sim_clients_finish(struct sim_world *w)
{
    for (uint32_t i = 0; i < w->scenario.clients; i++) {
        struct sim_client *c = &w->clients[i];
        if (c->state == SIM_CLIENT_WAITING && !c->registering) {
            sim_history_abandon(w, c);
        }
    }
}
