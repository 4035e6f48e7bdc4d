/* The linearizability search: Wing-Gong with Lowe's memo set, per partition, iterative. */
#include "sim/lin.h"

#include "sim/lin_cache.h"
#include "sim/lin_model.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LIN_NIL        UINT32_MAX   /* end of the entry list */
#define LIN_TIME_NEVER (1ull << 40) /* returns of unknown ops: after every real event */

/* One partition's search (Lowe 2017, section 3; the list and lift/unlift as in porcupine). */
struct lin_search {
    struct lin_states *states;
    const struct lin_op *ops; /* the partition's ops, in invocation order */
    uint32_t n;               /* invariant: n >= 1 */
    uint32_t words;           /* bitset words: ceil(n / 64) */
    /* entries: node 0 is the list head; nodes 1..2n are calls and returns in time order */
    uint32_t *next;
    uint32_t *prev;
    uint32_t *node_op;   /* local op index of a node */
    uint32_t *match;     /* a call node's return node; LIN_NIL for return nodes */
    uint64_t *node_time; /* event of the node; LIN_TIME_NEVER + op for unknown returns */
    uint64_t *call_time; /* per op */
    uint64_t *return_time;
    /* the current partial linearization */
    uint64_t *bits;     /* linearized ops */
    uint64_t bits_hash; /* xor of lin_op_key over the linearized ops */
    uint32_t base;      /* first word of bits that is not full; invariant: those before are */
    uint32_t end;       /* one past the last non-zero word of bits; invariant: end >= base */
    uint64_t last_mask; /* the valid bits of the last word */
    uint32_t *stack_node;
    uint32_t *stack_state;
    uint32_t depth; /* invariant: depth <= n */
    struct lin_cache cache;
    /* the furthest point reached: the latest return entry the search was stuck at */
    uint64_t best_time;
    uint32_t best_node;
    uint32_t best_depth;
    uint32_t best_before[LIN_WINDOW_BEFORE_MAX];
    uint32_t best_before_count;
    uint32_t best_states[LIN_WINDOW_STATES_MAX];
    uint32_t best_states_count;
    uint64_t steps;
    uint64_t steps_max;
};

/* A per-op random 64-bit key (splitmix64 finaliser), xor-ed into bits_hash (Zobrist hashing). */
static uint64_t lin_op_key(uint32_t op)
{
    uint64_t z = ((uint64_t)op + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct lin_entry {
    uint64_t time;
    uint32_t op;
    uint32_t is_return;
};

static int lin_entry_cmp(const void *a, const void *b)
{
    const struct lin_entry *x = a;
    const struct lin_entry *y = b;
    return x->time < y->time ? -1 : x->time > y->time ? 1 : 0;
}

static void lin_search_free(struct lin_search *s)
{
    free(s->next);
    free(s->prev);
    free(s->node_op);
    free(s->match);
    free(s->node_time);
    free(s->call_time);
    free(s->return_time);
    free(s->bits);
    free(s->stack_node);
    free(s->stack_state);
    lin_cache_free(&s->cache);
}

/* Builds the time-ordered doubly linked list of call and return entries. */
static void lin_search_link(struct lin_search *s, struct lin_entry *entries)
{
    uint32_t nodes = 2 * s->n;
    qsort(entries, nodes, sizeof(*entries), lin_entry_cmp);
    for (uint32_t k = 0; k < nodes; k++) {
        uint32_t node = k + 1;
        s->node_op[node] = entries[k].op;
        s->node_time[node] = entries[k].time;
        s->match[node] = LIN_NIL;
        s->prev[node] = k;
        s->next[node] = k + 1 < nodes ? node + 1 : LIN_NIL;
    }
    s->next[0] = nodes > 0 ? 1 : LIN_NIL;
    s->prev[0] = LIN_NIL;
    /* a call's return is found through return_time: walk returns and record their node */
    uint32_t *return_node = s->stack_node; /* free until the search starts */
    for (uint32_t node = 1; node <= nodes; node++) {
        if (entries[node - 1].is_return) {
            return_node[s->node_op[node]] = node;
        }
    }
    for (uint32_t node = 1; node <= nodes; node++) {
        if (!entries[node - 1].is_return) {
            s->match[node] = return_node[s->node_op[node]];
            assert(s->match[node] > node);
        }
    }
}

static int lin_search_init(struct lin_search *s, struct lin_states *states,
                           const struct lin_op *ops, const struct hist *hist, uint32_t n,
                           uint64_t memory_max)
{
    memset(s, 0, sizeof(*s));
    s->states = states;
    s->ops = ops;
    s->n = n;
    s->words = (n + 63) / 64;
    s->last_mask = n % 64 == 0 ? ~0ull : (1ull << (n % 64)) - 1;
    size_t nodes = 2 * (size_t)n + 1;
    s->next = malloc(nodes * sizeof(*s->next));
    s->prev = malloc(nodes * sizeof(*s->prev));
    s->node_op = malloc(nodes * sizeof(*s->node_op));
    s->match = malloc(nodes * sizeof(*s->match));
    s->node_time = malloc(nodes * sizeof(*s->node_time));
    s->call_time = malloc(n * sizeof(*s->call_time));
    s->return_time = malloc(n * sizeof(*s->return_time));
    s->bits = calloc(s->words, sizeof(*s->bits));
    s->stack_node = malloc(n * sizeof(*s->stack_node));
    s->stack_state = malloc(n * sizeof(*s->stack_state));
    struct lin_entry *entries = malloc(2 * (size_t)n * sizeof(*entries));
    int ok = s->next && s->prev && s->node_op && s->match && s->node_time && s->call_time &&
             s->return_time && s->bits && s->stack_node && s->stack_state && entries &&
             lin_cache_init(&s->cache, memory_max) == 0;
    if (ok) {
        for (uint32_t i = 0; i < n; i++) {
            const struct hist_op *op = &hist->ops[ops[i].hist_id];
            s->call_time[i] = op->invoke_event;
            s->return_time[i] = ops[i].unknown ? LIN_TIME_NEVER + i : op->complete_event;
            entries[2 * i] = (struct lin_entry){ .time = s->call_time[i], .op = i };
            entries[2 * i + 1] =
                (struct lin_entry){ .time = s->return_time[i], .op = i, .is_return = 1 };
        }
        lin_search_link(s, entries);
    }
    free(entries);
    if (!ok) {
        lin_search_free(s);
        return -1;
    }
    return 0;
}

/* Removes a call entry and its return entry from the list (the op is linearized). */
static void lin_lift(struct lin_search *s, uint32_t call)
{
    uint32_t ret = s->match[call];
    s->next[s->prev[call]] = s->next[call];
    s->prev[s->next[call]] = s->prev[call]; /* a call is never last: its return follows */
    s->next[s->prev[ret]] = s->next[ret];
    if (s->next[ret] != LIN_NIL) {
        s->prev[s->next[ret]] = s->prev[ret];
    }
}

/* Puts back what lin_lift removed, in reverse order. */
static void lin_unlift(struct lin_search *s, uint32_t call)
{
    uint32_t ret = s->match[call];
    s->next[s->prev[ret]] = ret;
    if (s->next[ret] != LIN_NIL) {
        s->prev[s->next[ret]] = ret;
    }
    s->next[s->prev[call]] = call;
    s->prev[s->next[call]] = call;
}

static uint64_t lin_word_full(const struct lin_search *s, uint32_t w)
{
    return w + 1 == s->words ? s->last_mask : ~0ull;
}

/* Adds op to, or removes it from, the linearized set, keeping its hash and span up to date. */
static void lin_flip(struct lin_search *s, uint32_t op)
{
    uint32_t w = op / 64;
    uint64_t bit = 1ull << (op % 64);
    s->bits[w] ^= bit;
    s->bits_hash ^= lin_op_key(op);
    if (s->bits[w] & bit) {
        s->end = w + 1 > s->end ? w + 1 : s->end;
        while (s->base < s->words && s->bits[s->base] == lin_word_full(s, s->base)) {
            s->base++;
        }
    } else {
        s->base = w < s->base ? w : s->base;
        while (s->end > 0 && s->bits[s->end - 1] == 0) {
            s->end--;
        }
    }
    assert(s->end >= s->base);
}

/* Notes being stuck at return entry `node`: the furthest such point describes the failure. */
static void lin_note_stuck(struct lin_search *s, uint32_t node, uint32_t state)
{
    uint64_t time = s->node_time[node];
    if (time > s->best_time || s->best_node == 0) {
        s->best_time = time;
        s->best_node = node;
        s->best_depth = s->depth;
        uint32_t keep = s->depth < LIN_WINDOW_BEFORE_MAX ? s->depth : LIN_WINDOW_BEFORE_MAX;
        for (uint32_t i = 0; i < keep; i++) {
            s->best_before[i] = s->node_op[s->stack_node[s->depth - keep + i]];
        }
        s->best_before_count = keep;
        s->best_states_count = 0;
    }
    if (time != s->best_time) {
        return;
    }
    for (uint32_t i = 0; i < s->best_states_count; i++) {
        if (s->best_states[i] == state) {
            return;
        }
    }
    if (s->best_states_count < LIN_WINDOW_STATES_MAX) {
        s->best_states[s->best_states_count++] = state;
    }
}

/*
 * Tries to linearize the op of call entry `node` in `*state`. Returns 1 when it was (pushed and
 * lifted), 0 when the model rejects it or the configuration was visited, -1 on a budget.
 */
static int lin_try(struct lin_search *s, uint32_t node, uint32_t *state)
{
    uint32_t op = s->node_op[node];
    uint32_t next_state;
    int accepted = lin_model_step(s->states, *state, &s->ops[op], &next_state);
    if (accepted <= 0) {
        return accepted;
    }
    lin_flip(s, op);
    int added = lin_cache_add(&s->cache, s->bits + s->base, s->base, s->end - s->base, s->bits_hash,
                              next_state);
    if (added <= 0) {
        lin_flip(s, op);
        return added;
    }
    assert(s->depth < s->n);
    s->stack_node[s->depth] = node;
    s->stack_state[s->depth] = *state;
    s->depth++;
    *state = next_state;
    lin_lift(s, node);
    return 1;
}

/* Runs the search from `initial`; LIN_UNKNOWN sets *why to the limit that was hit. */
static enum lin_verdict lin_search_run(struct lin_search *s, uint32_t initial, const char **why)
{
    uint32_t state = initial;
    uint32_t node = s->next[0];
    while (s->next[0] != LIN_NIL) {
        if (s->steps == s->steps_max) {
            *why = "step budget";
            return LIN_UNKNOWN;
        }
        s->steps++;
        assert(node != LIN_NIL); /* the list always ends with a return entry */
        if (s->match[node] != LIN_NIL) {
            int tried = lin_try(s, node, &state);
            if (tried < 0) {
                *why = "memory budget";
                return LIN_UNKNOWN;
            }
            node = tried ? s->next[0] : s->next[node];
            continue;
        }
        lin_note_stuck(s, node, state);
        if (s->depth == 0) {
            return LIN_NOT_LINEARIZABLE;
        }
        s->depth--;
        node = s->stack_node[s->depth];
        state = s->stack_state[s->depth];
        lin_flip(s, s->node_op[node]);
        lin_unlift(s, node);
        node = s->next[node];
    }
    return LIN_LINEARIZABLE;
}

/* --- partitions and the window report --- */

struct lin_check {
    const struct hist *hist;
    const struct lin_options *options;
    struct lin_result *result;
    struct lin_states states;
    struct lin_op *ops;   /* every searched op, grouped by partition */
    uint32_t *part_start; /* partition p is ops[part_start[p], part_start[p + 1]) */
    uint32_t parts;
    uint64_t fail_event_best; /* the earliest failure found so far */
};

/* FAIL ops had no effect and unknown reads observed nothing: neither constrains the search. */
static int lin_op_searched(const struct hist_op *op)
{
    return op->outcome != HIST_FAIL && (op->outcome == HIST_OK || !hist_kind_is_read(op->kind));
}

static int lin_intern(struct lin_check *c, struct hist_str str, uint32_t *id)
{
    size_t len;
    const char *bytes = hist_str_bytes(c->hist, str, &len);
    return lin_states_intern(&c->states, bytes, len, id);
}

static int lin_make_op(struct lin_check *c, uint32_t id, struct lin_op *out)
{
    const struct hist_op *op = &c->hist->ops[id];
    out->hist_id = id;
    out->kind = op->kind;
    out->unknown = op->outcome != HIST_OK;
    out->mismatch = op->cas_mismatch;
    if (lin_intern(c, op->value, &out->value) != 0 ||
        lin_intern(c, op->expected, &out->expected) != 0 ||
        lin_intern(c, op->result, &out->result) != 0) {
        return -1;
    }
    return 0;
}

/* Groups the searched ops by key (counting sort on interned key ids), keeping invocation order. */
static int lin_partition(struct lin_check *c)
{
    const struct hist *hist = c->hist;
    uint32_t *key_of = malloc(((size_t)hist->ops_count + 1) * sizeof(*key_of));
    int rc = key_of == NULL ? -1 : 0;
    uint32_t n = 0;
    for (uint32_t i = 0; rc == 0 && i < hist->ops_count; i++) {
        key_of[i] = LIN_NIL;
        if (lin_op_searched(&hist->ops[i])) {
            rc = lin_intern(c, hist->ops[i].key, &key_of[i]);
            n++;
        }
    }
    uint32_t keys = c->states.count;
    uint32_t *count = rc == 0 ? calloc((size_t)keys + 1, sizeof(*count)) : NULL;
    c->ops = rc == 0 ? malloc(((size_t)n + 1) * sizeof(*c->ops)) : NULL;
    c->part_start = rc == 0 ? malloc(((size_t)keys + 1) * sizeof(*c->part_start)) : NULL;
    rc = count && c->ops && c->part_start ? rc : -1;
    for (uint32_t i = 0; rc == 0 && i < hist->ops_count; i++) {
        count[key_of[i] == LIN_NIL ? keys : key_of[i]]++;
    }
    uint32_t at = 0;
    for (uint32_t k = 0; rc == 0 && k < keys; k++) {
        if (count[k] > 0) {
            c->part_start[c->parts++] = at;
            uint32_t size = count[k];
            count[k] = at; /* now the next free slot of key k */
            at += size;
        }
    }
    for (uint32_t i = 0; rc == 0 && i < hist->ops_count; i++) {
        if (key_of[i] != LIN_NIL) {
            rc = lin_make_op(c, i, &c->ops[count[key_of[i]]++]);
        }
    }
    if (rc == 0) {
        c->part_start[c->parts] = at;
        assert(at == n);
    }
    free(count);
    free(key_of);
    return rc;
}

static void lin_window_fill(struct lin_check *c, const struct lin_search *s)
{
    struct lin_window *w = &c->result->window;
    uint32_t x = s->node_op[s->best_node];
    assert(s->best_node != 0);
    assert(s->best_time < LIN_TIME_NEVER); /* unknown ops can always be placed last */
    memset(w, 0, sizeof(*w));
    w->op = s->ops[x].hist_id;
    w->fail_event = (uint32_t)s->best_time;
    w->key = c->hist->ops[w->op].key;
    w->prefix_ops = s->best_depth;
    w->before_count = s->best_before_count;
    for (uint32_t i = 0; i < s->best_before_count; i++) {
        w->before[i] = s->ops[s->best_before[i]].hist_id;
    }
    for (uint32_t j = 0; j < s->n; j++) {
        int overlaps =
            j != x && s->call_time[j] < s->return_time[x] && s->return_time[j] > s->call_time[x];
        if (overlaps && w->concurrent_count < LIN_WINDOW_OPS_MAX) {
            w->concurrent[w->concurrent_count++] = s->ops[j].hist_id;
        }
        w->concurrent_total += (uint32_t)overlaps;
    }
    for (uint32_t i = 0; i < s->best_states_count; i++) {
        size_t len;
        const char *bytes = lin_states_bytes(&c->states, s->best_states[i], &len);
        hist_quote(w->states[i], LIN_STATE_TEXT_MAX, bytes, len, 64);
    }
    w->states_count = s->best_states_count;
}

/* Searches partition `p`; records a failure if it is the earliest so far. */
static enum lin_verdict lin_check_partition(struct lin_check *c, uint32_t p, uint32_t initial,
                                            uint64_t memory_max)
{
    struct lin_search s;
    const struct lin_op *ops = c->ops + c->part_start[p];
    uint32_t n = c->part_start[p + 1] - c->part_start[p];
    const char *why = "memory budget";
    assert(n > 0);
    if (lin_search_init(&s, &c->states, ops, c->hist, n, memory_max) != 0) {
        snprintf(c->result->reason, sizeof(c->result->reason),
                 "out of memory setting up a search of %" PRIu32 " ops", n);
        return LIN_UNKNOWN;
    }
    s.steps_max = c->options->steps_max - c->result->steps;
    enum lin_verdict verdict = lin_search_run(&s, initial, &why);
    c->result->steps += s.steps;
    c->result->configurations += s.cache.count;
    if (verdict == LIN_NOT_LINEARIZABLE && s.best_time < c->fail_event_best) {
        c->fail_event_best = s.best_time;
        lin_window_fill(c, &s);
    }
    if (verdict == LIN_UNKNOWN && c->result->reason[0] == '\0') {
        char key[48];
        size_t len;
        const char *bytes = hist_str_bytes(c->hist, c->hist->ops[ops[0].hist_id].key, &len);
        hist_quote(key, sizeof(key), bytes, len, 24);
        snprintf(c->result->reason, sizeof(c->result->reason),
                 "search limit exceeded: %s (%" PRIu64 " steps, %" PRIu64
                 " MiB) used up on %" PRIu32 " ops%s%s",
                 why, c->options->steps_max, c->options->memory_bytes_max >> 20, n,
                 c->hist->model == HIST_MODEL_KV ? " of key " : "",
                 c->hist->model == HIST_MODEL_KV ? key : "");
    }
    lin_search_free(&s);
    return verdict;
}

enum lin_verdict lin_check(const struct hist *hist, const struct lin_options *options,
                           struct lin_result *result)
{
    assert(hist != NULL && result != NULL);
    assert(hist->events_count <= 2 * hist->ops_count);
    struct lin_options opts = options != NULL ? *options : (struct lin_options){ 0 };
    opts.steps_max = opts.steps_max ? opts.steps_max : LIN_STEPS_MAX_DEFAULT;
    opts.memory_bytes_max =
        opts.memory_bytes_max ? opts.memory_bytes_max : LIN_MEMORY_BYTES_MAX_DEFAULT;
    memset(result, 0, sizeof(*result));
    struct lin_check c = { .hist = hist, .options = &opts, .result = result };
    c.fail_event_best = UINT64_MAX;
    uint64_t states_budget = opts.memory_bytes_max / 4;
    int unknown = 0;
    uint32_t initial = LIN_STATE_NIL;
    if (lin_states_init(&c.states, states_budget) != 0 || lin_partition(&c) != 0 ||
        lin_intern(&c, hist->initial, &initial) != 0) {
        snprintf(result->reason, sizeof(result->reason),
                 "search limit exceeded: memory budget (%" PRIu64 " MiB) used up by the values",
                 opts.memory_bytes_max >> 20);
        unknown = 1;
    }
    if (!unknown) {
        result->partitions = c.parts;
        result->ops_checked = c.parts > 0 ? c.part_start[c.parts] : 0;
    }
    for (uint32_t p = 0; result->partitions > 0 && p < c.parts; p++) {
        /* every partition, even after an unknown one: a failure elsewhere is still decisive */
        enum lin_verdict v =
            lin_check_partition(&c, p, initial, opts.memory_bytes_max - states_budget);
        unknown |= v == LIN_UNKNOWN;
    }
    free(c.ops);
    free(c.part_start);
    lin_states_free(&c.states);
    if (c.fail_event_best != UINT64_MAX) {
        result->verdict = LIN_NOT_LINEARIZABLE; /* decisive, whatever other keys gave */
        result->reason[0] = '\0';
    } else {
        result->verdict = unknown ? LIN_UNKNOWN : LIN_LINEARIZABLE;
    }
    return result->verdict;
}

const char *lin_verdict_name(enum lin_verdict verdict)
{
    switch (verdict) {
    case LIN_LINEARIZABLE:
        return "linearizable";
    case LIN_NOT_LINEARIZABLE:
        return "not-linearizable";
    case LIN_UNKNOWN:
        return "unknown";
    }
    return "?";
}
