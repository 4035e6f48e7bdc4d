/* Tests for the linearizability checker (sim/lin_check.c) on small and random histories. */
#include "sim/lin.h"

#include "core/prng.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct hist hist;
static struct lin_result result;

static void teardown(void)
{
    hist_free(&hist);
}

TestSuite(lin_check, .fini = teardown);

/* Parses `events` (FlowRaft format lines after a header for `model`) and checks the history. */
static enum lin_verdict check_with(const char *model, const char *events,
                                   const struct lin_options *options)
{
    char text[4096];
    snprintf(text, sizeof(text), "flowraft-history 1 %s\n%s", model, events);
    hist_free(&hist);
    cr_assert_eq(hist_parse(&hist, HIST_FORMAT_FLOWRAFT, "case", text, strlen(text)), HIST_E_OK,
                 "%s", hist.error);
    return lin_check(&hist, options, &result);
}

static enum lin_verdict check(const char *model, const char *events)
{
    return check_with(model, events, NULL);
}

#define REG "register"
#define KV  "kv"

/* --- the register --- */

/* Invariant: the empty history is linearizable. */
Test(lin_check, empty_history_is_linearizable)
{
    cr_assert_eq(check(REG, ""), LIN_LINEARIZABLE);
    cr_assert_eq(result.partitions, 0);
}

/* Invariant: a read after a completed write sees it; anything else is not linearizable. */
Test(lin_check, read_after_completed_write_sees_it)
{
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nok 0 0\n"
                            "invoke 1 2 0 read\nok 1 0 \"1\"\n"),
                 LIN_LINEARIZABLE);
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nok 0 0\n"
                            "invoke 1 2 0 read\nok 1 0 nil\n"),
                 LIN_NOT_LINEARIZABLE);
}

/* Invariant: the register starts as nil; a value never written cannot be read. */
Test(lin_check, register_starts_nil_and_values_come_from_writes)
{
    cr_assert_eq(check(REG, "invoke 0 1 0 read\nok 0 0 nil\n"), LIN_LINEARIZABLE);
    cr_assert_eq(check(REG, "invoke 0 1 0 read\nok 0 0 \"1\"\n"), LIN_NOT_LINEARIZABLE);
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nok 0 0\n"
                            "invoke 1 1 0 read\nok 1 0 \"7\"\n"),
                 LIN_NOT_LINEARIZABLE);
}

/* Invariant: a read concurrent with a write may see the old or the new value. */
Test(lin_check, read_concurrent_with_write_sees_either)
{
    const char *w = "invoke 0 1 0 write \"1\"\ninvoke 1 2 0 read\n";
    char events[512];
    snprintf(events, sizeof(events), "%sok 1 0 nil\nok 0 0\n", w);
    cr_assert_eq(check(REG, events), LIN_LINEARIZABLE);
    snprintf(events, sizeof(events), "%sok 1 0 \"1\"\nok 0 0\n", w);
    cr_assert_eq(check(REG, events), LIN_LINEARIZABLE);
}

/* Invariant: once a read saw the new value, a later read cannot see the old one (new-old
 * inversion), even while the write is still in progress. */
Test(lin_check, new_old_inversion_is_not_linearizable)
{
    const char *events = "invoke 0 1 0 write \"1\"\nok 0 0\n"
                         "invoke 1 1 0 write \"2\"\n"
                         "invoke 2 2 0 read\nok 2 0 \"2\"\n"
                         "invoke 3 3 0 read\nok 3 0 \"1\"\n"
                         "ok 1 0\n";
    cr_assert_eq(check(REG, events), LIN_NOT_LINEARIZABLE);
    /* the window: read 3 cannot be placed; before it, write 1, write 2, read 2 are linearized */
    cr_assert_eq(result.window.op, 3);
    cr_assert_eq(result.window.fail_event, hist.ops[3].complete_event);
    cr_assert_eq(result.window.prefix_ops, 3);
    cr_assert_eq(result.window.before_count, 3);
    cr_assert_eq(result.window.before[2], 2);
    cr_assert_eq(result.window.states_count, 1);
    cr_assert_str_eq(result.window.states[0], "\"2\"");
    cr_assert_eq(result.window.concurrent_total, 1); /* write 2 overlaps read 3 */
    cr_assert_eq(result.window.concurrent[0], 1);
}

/* Invariant: the printed report names the failing op, the prefix, the states and the
 * concurrent ops (what a user needs to see why). */
Test(lin_check, report_is_readable)
{
    const char *events = "invoke 0 1 0 write \"1\"\nok 0 1\n"
                         "invoke 1 1 2 write \"2\"\n"
                         "invoke 2 2 3 read\nok 2 4 \"2\"\n"
                         "invoke 3 3 5 read\nok 3 6 \"1\"\n"
                         "ok 1 7\n";
    cr_assert_eq(check(REG, events), LIN_NOT_LINEARIZABLE);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert_not_null(out);
    lin_result_print(out, &hist, &result);
    fclose(out);
    static const char *const expected[] = {
        "not-linearizable (register, 4 ops searched in 1 partition,",
        "first operation that cannot be linearized:\n"
        "      op 3 client 3 read = \"1\" [ok, t 5..6]\n",
        "the history before this completion (t 6) is linearizable; with it, it is not\n",
        "longest linearizable prefix found: 3 ops, ending with:\n"
        "      op 0 client 1 write \"1\" [ok, t 0..1]\n"
        "      op 1 client 1 write \"2\" [ok, t 2..7]\n"
        "      op 2 client 2 read = \"2\" [ok, t 3..4]\n",
        "model state reachable there: \"2\"\n",
        "operations concurrent with it (1):\n"
        "      op 1 client 1 write \"2\" [ok, t 2..7]\n",
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        cr_assert_not_null(strstr(text, expected[i]), "missing:\n%s\nin:\n%s", expected[i], text);
    }
    free(text);
}

/* Invariant: after concurrent writes complete, every later read sees the same last value. */
Test(lin_check, concurrent_writes_settle_on_one_value)
{
    const char *writes = "invoke 0 1 0 write \"1\"\ninvoke 1 2 0 write \"2\"\nok 0 0\nok 1 0\n";
    char events[512];
    snprintf(events, sizeof(events),
             "%sinvoke 2 3 0 read\nok 2 0 \"1\"\ninvoke 3 3 0 read\nok 3 0 \"1\"\n", writes);
    cr_assert_eq(check(REG, events), LIN_LINEARIZABLE);
    snprintf(events, sizeof(events),
             "%sinvoke 2 3 0 read\nok 2 0 \"2\"\ninvoke 3 3 0 read\nok 3 0 \"2\"\n", writes);
    cr_assert_eq(check(REG, events), LIN_LINEARIZABLE);
    snprintf(events, sizeof(events),
             "%sinvoke 2 3 0 read\nok 2 0 \"1\"\ninvoke 3 3 0 read\nok 3 0 \"2\"\n", writes);
    cr_assert_eq(check(REG, events), LIN_NOT_LINEARIZABLE);
}

/* Invariant: an unknown write may take effect at any time after its invocation... */
Test(lin_check, unknown_write_may_take_effect_late)
{
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nunknown 0 0\n"
                            "invoke 1 2 0 read\nok 1 0 nil\n"
                            "invoke 2 2 0 read\nok 2 0 \"1\"\n"),
                 LIN_LINEARIZABLE);
}

/* Invariant: ...or never; an unknown read constrains nothing. */
Test(lin_check, unknown_write_may_never_take_effect)
{
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nunknown 0 0\n"
                            "invoke 1 2 0 read\nok 1 0 nil\n"
                            "invoke 2 3 0 read\nunknown 2 0\n"),
                 LIN_LINEARIZABLE);
    cr_assert_eq(result.ops_checked, 2); /* the unknown read is dropped */
}

/* Invariant: but never before its invocation. */
Test(lin_check, unknown_write_never_takes_effect_before_invocation)
{
    cr_assert_eq(check(REG, "invoke 0 2 0 read\nok 0 0 \"1\"\n"
                            "invoke 1 1 0 write \"1\"\nunknown 1 0\n"),
                 LIN_NOT_LINEARIZABLE);
}

/* Invariant: a pending op (never completed) is treated like an unknown one. */
Test(lin_check, pending_op_counts_as_unknown)
{
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\n"
                            "invoke 1 2 0 read\nok 1 0 \"1\"\n"
                            "invoke 2 2 0 read\nok 2 0 \"1\"\n"),
                 LIN_LINEARIZABLE);
}

/* Invariant: a failed op certainly had no effect: its value can never be read. */
Test(lin_check, failed_write_never_takes_effect)
{
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nfail 0 0\n"
                            "invoke 1 2 0 read\nok 1 0 \"1\"\n"),
                 LIN_NOT_LINEARIZABLE);
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nfail 0 0\n"
                            "invoke 1 2 0 read\nok 1 0 nil\n"),
                 LIN_LINEARIZABLE);
}

/* Invariant: an OK compare-and-set swapped, so the value matched at its linearization point. */
Test(lin_check, ok_cas_requires_the_expected_value)
{
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nok 0 0\n"
                            "invoke 1 1 0 cas \"1\" \"2\"\nok 1 0\n"
                            "invoke 2 1 0 read\nok 2 0 \"2\"\n"),
                 LIN_LINEARIZABLE);
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nok 0 0\n"
                            "invoke 1 1 0 cas \"3\" \"2\"\nok 1 0\n"),
                 LIN_NOT_LINEARIZABLE);
    /* a FAIL cas (comparison failed) is dropped: no effect, no constraint */
    cr_assert_eq(check(REG, "invoke 0 1 0 write \"1\"\nok 0 0\n"
                            "invoke 1 1 0 cas \"1\" \"2\"\nfail 1 0\n"
                            "invoke 2 1 0 read\nok 2 0 \"1\"\n"),
                 LIN_LINEARIZABLE);
}

/* Invariant: an unknown cas either swapped (when it matched) or had no effect. */
Test(lin_check, unknown_cas_swaps_or_does_nothing)
{
    const char *prefix = "invoke 0 1 0 write \"1\"\nok 0 0\n"
                         "invoke 1 2 0 cas \"1\" \"2\"\nunknown 1 0\n";
    char events[512];
    snprintf(events, sizeof(events), "%sinvoke 2 3 0 read\nok 2 0 \"2\"\n", prefix);
    cr_assert_eq(check(REG, events), LIN_LINEARIZABLE);
    snprintf(events, sizeof(events), "%sinvoke 2 3 0 read\nok 2 0 \"1\"\n", prefix);
    cr_assert_eq(check(REG, events), LIN_LINEARIZABLE);
    /* an unknown cas whose comparison can never succeed is still placeable (as a no-op) */
    cr_assert_eq(check(REG, "invoke 0 2 0 cas \"9\" \"2\"\nunknown 0 0\n"
                            "invoke 1 3 0 read\nok 1 0 nil\n"),
                 LIN_LINEARIZABLE);
    snprintf(events, sizeof(events), "%sinvoke 2 3 0 read\nok 2 0 \"3\"\n", prefix);
    cr_assert_eq(check(REG, events), LIN_NOT_LINEARIZABLE);
}

/* Invariant: a cas that did not swap saw a current value different from its expected one, and
 * that value was the register's at its linearization point. */
Test(lin_check, cas_mismatch_saw_the_current_value)
{
    const char *put = "invoke 0 1 0 write \"a\"\nok 0 0\ninvoke 1 2 0 cas \"b\" \"c\"\n";
    static const struct {
        const char *seen;
        enum lin_verdict verdict;
    } cases[] = {
        { "\"a\"", LIN_LINEARIZABLE },
        { "\"z\"", LIN_NOT_LINEARIZABLE }, /* never the value */
        { "\"b\"", LIN_NOT_LINEARIZABLE }, /* equal to expected: it would have swapped */
        { "nil", LIN_NOT_LINEARIZABLE },   /* the write had completed before */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char events[512];
        snprintf(events, sizeof(events), "%sok 1 0 mismatch %s\n", put, cases[i].seen);
        cr_assert_eq(check(REG, events), cases[i].verdict, "seen %s", cases[i].seen);
    }
    /* concurrent with the write, it may have compared before it */
    cr_assert_eq(check(KV, "invoke 0 1 0 put \"k\" \"a\"\n"
                           "invoke 1 2 0 cas \"k\" \"b\" \"c\"\nok 1 0 mismatch nil\nok 0 0\n"),
                 LIN_LINEARIZABLE);
}

/* --- the KV store, key by key --- */

/* Invariant: keys are independent registers; a failure is reported on its key. */
Test(lin_check, kv_keys_are_independent)
{
    const char *puts = "invoke 0 1 0 put \"x\" \"1\"\ninvoke 1 2 0 put \"y\" \"2\"\n"
                       "ok 0 0\nok 1 0\n";
    char events[512];
    snprintf(events, sizeof(events),
             "%sinvoke 2 1 0 get \"x\"\nok 2 0 \"1\"\ninvoke 3 1 0 get \"y\"\nok 3 0 \"2\"\n",
             puts);
    cr_assert_eq(check(KV, events), LIN_LINEARIZABLE);
    cr_assert_eq(result.partitions, 2);
    snprintf(events, sizeof(events),
             "%sinvoke 2 1 0 get \"x\"\nok 2 0 \"1\"\ninvoke 3 1 0 get \"y\"\nok 3 0 \"1\"\n",
             puts);
    cr_assert_eq(check(KV, events), LIN_NOT_LINEARIZABLE);
    cr_assert_eq(result.window.op, 3);
    size_t len;
    const char *key = hist_str_bytes(&hist, result.window.key, &len);
    cr_assert(len == 1 && key[0] == 'y');
}

/* Invariant: a key starts absent (get: not found = nil); delete makes it absent again. */
Test(lin_check, kv_absent_keys_and_delete)
{
    cr_assert_eq(check(KV, "invoke 0 1 0 get \"k\"\nok 0 0 nil\n"
                           "invoke 1 1 0 put \"k\" \"v\"\nok 1 0\n"
                           "invoke 2 1 0 delete \"k\"\nok 2 0\n"
                           "invoke 3 1 0 get \"k\"\nok 3 0 nil\n"),
                 LIN_LINEARIZABLE);
    cr_assert_eq(check(KV, "invoke 0 1 0 put \"k\" \"v\"\nok 0 0\n"
                           "invoke 1 1 0 delete \"k\"\nok 1 0\n"
                           "invoke 2 1 0 get \"k\"\nok 2 0 \"v\"\n"),
                 LIN_NOT_LINEARIZABLE);
    cr_assert_eq(check(KV, "invoke 0 1 0 get \"k\"\nok 0 0 \"\"\n"), LIN_NOT_LINEARIZABLE);
}

/* Invariant: cas compares with the current value, nil meaning "absent". */
Test(lin_check, kv_cas_on_absent_and_present_keys)
{
    cr_assert_eq(check(KV, "invoke 0 1 0 cas \"k\" nil \"a\"\nok 0 0\n"
                           "invoke 1 1 0 cas \"k\" \"a\" \"b\"\nok 1 0\n"
                           "invoke 2 1 0 get \"k\"\nok 2 0 \"b\"\n"),
                 LIN_LINEARIZABLE);
    cr_assert_eq(check(KV, "invoke 0 1 0 put \"k\" \"\"\nok 0 0\n"
                           "invoke 1 1 0 cas \"k\" nil \"a\"\nok 1 0\n"),
                 LIN_NOT_LINEARIZABLE);
}

/* Invariant: append concatenates onto the initial value ("" for Jepsen histories). */
Test(lin_check, kv_append_concatenates)
{
    const char *events = "flowraft-history 1 kv initial \"\"\n"
                         "invoke 0 1 0 append \"k\" \"a\"\ninvoke 1 2 0 append \"k\" \"b\"\n"
                         "ok 0 0\nok 1 0\ninvoke 2 3 0 get \"k\"\nok 2 0 ";
    static const struct {
        const char *read;
        enum lin_verdict verdict;
    } cases[] = {
        { "\"ab\"", LIN_LINEARIZABLE },    { "\"ba\"", LIN_LINEARIZABLE },
        { "\"a\"", LIN_NOT_LINEARIZABLE }, { "\"aab\"", LIN_NOT_LINEARIZABLE },
        { "nil", LIN_NOT_LINEARIZABLE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "%s%s\n", events, cases[i].read);
        hist_free(&hist);
        cr_assert_eq(hist_parse(&hist, HIST_FORMAT_FLOWRAFT, "a", text, strlen(text)), 0);
        cr_assert_eq(lin_check(&hist, NULL, &result), cases[i].verdict, "read %s", cases[i].read);
    }
}

/* --- limits --- */

/* Invariant: the step budget turns a long search into "unknown" with the reason, not a hang. */
Test(lin_check, step_budget_gives_unknown)
{
    char events[4096] = "";
    for (int i = 0; i < 40; i++) {
        char line[96];
        snprintf(line, sizeof(line), "invoke %d 1 0 write \"%d\"\nok %d 0\n", i, i, i);
        strcat(events, line);
    }
    struct lin_options options = { .steps_max = 20 }; /* a sequential op takes one step */
    cr_assert_eq(check_with(REG, events, &options), LIN_UNKNOWN);
    cr_assert_not_null(strstr(result.reason, "search limit exceeded: step budget"), "%s",
                       result.reason);
    cr_assert_eq(result.steps, 20);
    cr_assert_eq(check(REG, events), LIN_LINEARIZABLE);
}

/* Builds 18 concurrent unknown writes then a read of a value never written on key "a"
 * (an exponential search), optionally followed by a small non-linearizable key "b". */
static void build_explosive(char *events, size_t size, int with_bad_key)
{
    events[0] = '\0';
    int id = 0;
    for (; id < 18; id++) {
        char line[96];
        snprintf(line, sizeof(line), "invoke %d %d 0 put \"a\" \"%d\"\nunknown %d 0\n", id, id, id,
                 id);
        strncat(events, line, size - strlen(events) - 1);
    }
    char tail[256];
    snprintf(tail, sizeof(tail), "invoke %d 99 0 get \"a\"\nok %d 0 \"never\"\n", id, id);
    strncat(events, tail, size - strlen(events) - 1);
    if (with_bad_key) {
        snprintf(tail, sizeof(tail), "invoke %d 98 0 get \"b\"\nok %d 0 \"x\"\n", id + 1, id + 1);
        strncat(events, tail, size - strlen(events) - 1);
    }
}

/* Invariant: the memory budget bounds the memo set; exceeding it gives "unknown". */
Test(lin_check, memory_budget_gives_unknown)
{
    char events[4096];
    build_explosive(events, sizeof(events), 0);
    struct lin_options options = { .memory_bytes_max = 256 << 10 };
    cr_assert_eq(check_with(KV, events, &options), LIN_UNKNOWN);
    cr_assert_not_null(strstr(result.reason, "memory budget"), "%s", result.reason);
}

/* Invariant: a key that is not linearizable decides the verdict even when another key's search
 * hit a limit. */
Test(lin_check, failing_key_is_decisive_despite_unknown_key)
{
    char events[4096];
    build_explosive(events, sizeof(events), 1);
    struct lin_options options = { .memory_bytes_max = 256 << 10 };
    cr_assert_eq(check_with(KV, events, &options), LIN_NOT_LINEARIZABLE);
    cr_assert_eq(result.window.op, 19);
}

/* Invariant: the checker is deterministic: same history, same result, step for step. */
Test(lin_check, deterministic)
{
    const char *events = "invoke 0 1 0 write \"1\"\ninvoke 1 2 0 write \"2\"\n"
                         "invoke 2 3 0 read\nok 2 0 \"2\"\nok 0 0\nok 1 0\n"
                         "invoke 3 3 0 read\nok 3 0 \"1\"\n";
    cr_assert_eq(check(REG, events), LIN_LINEARIZABLE);
    struct lin_result first = result;
    cr_assert_eq(check(REG, events), LIN_LINEARIZABLE);
    cr_assert_eq(first.steps, result.steps);
    cr_assert_eq(first.configurations, result.configurations);
}

/* --- random histories --- */

#define GEN_CLIENTS 4

struct gen {
    struct prng prng;
    int kv;       /* 0: register ops, 1: kv ops over keys "a", "b" */
    uint32_t ops; /* ops to invoke */
    uint32_t invoked;
    int64_t pending[GEN_CLIENTS];
};

static struct hist_call gen_call(struct gen *g, char *key, char *value, char *expected)
{
    static const enum hist_kind reg[] = { HIST_READ, HIST_WRITE, HIST_CAS };
    static const enum hist_kind kv[] = { HIST_GET, HIST_PUT, HIST_APPEND, HIST_DELETE,
                                         HIST_KV_CAS };
    struct hist_call call = { 0 };
    call.kind = g->kv ? kv[prng_below(&g->prng, 5)] : reg[prng_below(&g->prng, 3)];
    key[0] = (char)('a' + prng_below(&g->prng, 2));
    value[0] = (char)('0' + prng_below(&g->prng, 3));
    expected[0] = (char)('0' + prng_below(&g->prng, 3));
    if (g->kv) {
        call.key = key;
        call.key_len = 1;
    }
    call.value = value;
    call.value_len = 1;
    call.expected = prng_chance(&g->prng, 0.25) ? NULL : expected;
    call.expected_len = 1;
    return call;
}

/* --- brute force: an independent, exhaustive definition of linearizability for tiny histories */

#define BRUTE_OPS_MAX   7
#define BRUTE_VALUE_MAX 128

struct brute_value {
    int present;
    size_t len;
    char bytes[BRUTE_VALUE_MAX];
};

static struct brute_value brute_of(struct hist_str s)
{
    struct brute_value v = { 0 };
    size_t len;
    const char *bytes = hist_str_bytes(&hist, s, &len);
    v.present = bytes != NULL;
    v.len = len < BRUTE_VALUE_MAX ? len : BRUTE_VALUE_MAX;
    memcpy(v.bytes, bytes ? bytes : "", v.len);
    return v;
}

static int brute_eq(const struct brute_value *a, const struct brute_value *b)
{
    return a->present == b->present && a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* Applies op `i` to the per-key state; 0 when its observed outcome is impossible. */
static int brute_apply(struct brute_value state[2], uint32_t i)
{
    const struct hist_op *op = &hist.ops[i];
    size_t len;
    const char *key = hist_str_bytes(&hist, op->key, &len);
    struct brute_value *s = &state[key != NULL && key[0] == 'b'];
    struct brute_value value = brute_of(op->value);
    struct brute_value expected = brute_of(op->expected);
    struct brute_value read = brute_of(op->result);
    int ok = op->outcome == HIST_OK;
    switch (op->kind) {
    case HIST_READ:
    case HIST_GET:
        return !ok || brute_eq(s, &read);
    case HIST_WRITE:
    case HIST_PUT:
        *s = value;
        return 1;
    case HIST_APPEND:
        if (s->len + value.len > BRUTE_VALUE_MAX) {
            return 0;
        }
        memcpy(s->bytes + s->len, value.bytes, value.len);
        s->len += value.len;
        s->present = 1;
        return 1;
    case HIST_DELETE:
        memset(s, 0, sizeof(*s));
        return 1;
    default:
        if (op->cas_mismatch) { /* compared, saw `result`, did not swap */
            return !brute_eq(s, &expected) && brute_eq(s, &read);
        }
        if (brute_eq(s, &expected)) {
            *s = value;
            return 1;
        }
        return !ok;
    }
}

/* Next lexicographic permutation of a[0..n); 0 after the last one. */
static int next_permutation(uint32_t *a, uint32_t n)
{
    if (n < 2) {
        return 0;
    }
    uint32_t i = n - 1;
    while (i > 0 && a[i - 1] >= a[i]) {
        i--;
    }
    if (i == 0) {
        return 0;
    }
    uint32_t j = n - 1;
    while (a[j] <= a[i - 1]) {
        j--;
    }
    uint32_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
    for (uint32_t l = i, r = n - 1; l < r; l++, r--) {
        t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return 1;
}

static int brute_order_ok(const uint32_t *order, uint32_t n)
{
    struct brute_value state[2] = { brute_of(hist.initial), brute_of(hist.initial) };
    for (uint32_t x = 0; x < n; x++) {
        for (uint32_t y = x + 1; y < n; y++) {
            const struct hist_op *later = &hist.ops[order[y]];
            if (later->outcome == HIST_OK &&
                later->complete_event < hist.ops[order[x]].invoke_event) {
                return 0; /* `later` returned before `order[x]` was invoked */
            }
        }
        if (!brute_apply(state, order[x])) {
            return 0;
        }
    }
    return 1;
}

/* Some subset of the unknown ops, with every OK op, in some real-time-respecting legal order. */
static enum lin_verdict brute_check(void)
{
    uint32_t must[BRUTE_OPS_MAX], may[BRUTE_OPS_MAX];
    uint32_t n_must = 0, n_may = 0;
    for (uint32_t i = 0; i < hist.ops_count; i++) {
        if (hist.ops[i].outcome == HIST_OK) {
            must[n_must++] = i;
        } else if (hist.ops[i].outcome != HIST_FAIL) {
            may[n_may++] = i;
        }
    }
    for (uint32_t mask = 0; mask < (1u << n_may); mask++) {
        uint32_t order[BRUTE_OPS_MAX];
        uint32_t n = 0;
        for (uint32_t i = 0; i < n_must; i++) {
            order[n++] = must[i];
        }
        for (uint32_t i = 0; i < n_may; i++) {
            if (mask & (1u << i)) {
                order[n++] = may[i];
            }
        }
        for (uint32_t i = 1; i < n; i++) { /* sort for next_permutation */
            for (uint32_t j = i; j > 0 && order[j - 1] > order[j]; j--) {
                uint32_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        }
        do {
            if (brute_order_ok(order, n)) {
                return LIN_LINEARIZABLE;
            }
        } while (next_permutation(order, n));
    }
    return LIN_NOT_LINEARIZABLE;
}

/* Records a random tiny history whose reads return random values (often impossible ones). */
static void gen_random(struct gen *g)
{
    cr_assert_eq(hist_init(&hist, g->kv ? HIST_MODEL_KV : HIST_MODEL_REGISTER, BRUTE_OPS_MAX), 0);
    if (g->kv && prng_chance(&g->prng, 0.5)) {
        hist_set_initial(&hist, "", 0);
    }
    for (int c = 0; c < GEN_CLIENTS; c++) {
        g->pending[c] = -1;
    }
    for (int guard = 0; guard < 1000; guard++) {
        int c = (int)prng_below(&g->prng, GEN_CLIENTS);
        char key[1], value[1], expected[1], read[1];
        if (g->pending[c] < 0 && g->invoked < g->ops) {
            struct hist_call call = gen_call(g, key, value, expected);
            g->pending[c] = hist_invoke(&hist, 0, &call);
            cr_assert_geq(g->pending[c], 0, "%s", hist.error);
            g->invoked++;
        } else if (g->pending[c] >= 0) {
            read[0] = (char)('0' + prng_below(&g->prng, 3));
            uint64_t r = prng_below(&g->prng, 10);
            enum hist_outcome outcome = r < 6 ? HIST_OK : r < 8 ? HIST_UNKNOWN : HIST_FAIL;
            const char *observed = prng_chance(&g->prng, 0.2) ? NULL : read;
            enum hist_kind kind = hist.ops[g->pending[c]].kind;
            int mismatch = outcome == HIST_OK && (kind == HIST_CAS || kind == HIST_KV_CAS) &&
                           prng_chance(&g->prng, 0.5);
            if (mismatch) {
                cr_assert_eq(
                    hist_complete_cas_mismatch(&hist, (uint32_t)g->pending[c], 0, observed, 1), 0);
            } else if (outcome != HIST_OK || prng_chance(&g->prng, 0.9)) {
                cr_assert_eq(hist_complete(&hist, (uint32_t)g->pending[c], 0, outcome, observed, 1),
                             0);
            }
            g->pending[c] = -1; /* an op left uncompleted stays pending */
        }
    }
}

/* Invariant: on tiny random histories (every kind and outcome, register and KV) the checker
 * agrees with an exhaustive search over orders; both verdicts occur often. */
Test(lin_check, agrees_with_brute_force_on_random_histories)
{
    int counts[2] = { 0, 0 };
    for (uint64_t seed = 1; seed <= 1500; seed++) {
        struct gen g = { .kv = (int)(seed % 2), .ops = 1 + (uint32_t)(seed % BRUTE_OPS_MAX) };
        prng_seed(&g.prng, seed);
        hist_free(&hist);
        gen_random(&g);
        enum lin_verdict expected = brute_check();
        enum lin_verdict got = lin_check(&hist, NULL, &result);
        cr_assert_eq(got, expected, "seed %llu: checker says %s, brute force %s",
                     (unsigned long long)seed, lin_verdict_name(got), lin_verdict_name(expected));
        counts[got]++;
    }
    cr_assert_gt(counts[LIN_LINEARIZABLE], 300, "%d", counts[LIN_LINEARIZABLE]);
    cr_assert_gt(counts[LIN_NOT_LINEARIZABLE], 300, "%d", counts[LIN_NOT_LINEARIZABLE]);
}

/* Records a history of a real atomic store: every op takes effect at one instant between its
 * invocation and completion (or, crashed, never); so the history is linearizable. */
static void gen_atomic(struct gen *g, uint32_t ops)
{
    cr_assert_eq(hist_init(&hist, g->kv ? HIST_MODEL_KV : HIST_MODEL_REGISTER, ops), 0);
    struct brute_value state[2] = { { 0 }, { 0 } };
    struct brute_value seen[GEN_CLIENTS] = { { 0 } };
    int applied[GEN_CLIENTS] = { 0 };
    int swapped[GEN_CLIENTS] = { 0 };
    for (int c = 0; c < GEN_CLIENTS; c++) {
        g->pending[c] = -1;
    }
    uint64_t time = 0;
    for (uint32_t guard = 0; guard < 20 * ops; guard++) {
        int c = (int)prng_below(&g->prng, GEN_CLIENTS);
        time += prng_below(&g->prng, 2);
        char key[1], value[1], expected[1];
        if (g->pending[c] < 0 && hist.ops_count < ops) {
            struct hist_call call = gen_call(g, key, value, expected);
            g->pending[c] = hist_invoke(&hist, time, &call);
            applied[c] = 0;
        } else if (g->pending[c] >= 0 && !applied[c] && prng_chance(&g->prng, 0.9)) {
            /* the linearization point: apply atomically, observing the state */
            const struct hist_op *op = &hist.ops[g->pending[c]];
            size_t len;
            const char *k = hist_str_bytes(&hist, op->key, &len);
            struct brute_value *s = &state[k != NULL && k[0] == 'b'];
            seen[c] = *s;
            struct brute_value expected_value = brute_of(op->expected);
            swapped[c] = brute_eq(s, &expected_value);
            hist.ops[g->pending[c]].outcome = HIST_OK; /* brute_apply reads the outcome */
            brute_apply(state, (uint32_t)g->pending[c]);
            hist.ops[g->pending[c]].outcome = HIST_PENDING;
            applied[c] = 1;
        } else if (g->pending[c] >= 0) {
            const struct hist_op *op = &hist.ops[g->pending[c]];
            int cas = op->kind == HIST_CAS || op->kind == HIST_KV_CAS;
            enum hist_outcome outcome = !applied[c] || prng_chance(&g->prng, 0.15) ? HIST_UNKNOWN
                                        : cas && !swapped[c]                       ? HIST_FAIL
                                                                                   : HIST_OK;
            if (!applied[c] && prng_chance(&g->prng, 0.5)) {
                outcome = HIST_FAIL; /* refused before taking effect */
            }
            const char *current = seen[c].present ? seen[c].bytes : NULL;
            if (outcome == HIST_FAIL && applied[c] && prng_chance(&g->prng, 0.5)) {
                /* the store reports what it compared against */
                cr_assert_eq(hist_complete_cas_mismatch(&hist, (uint32_t)g->pending[c], time,
                                                        current, seen[c].len),
                             0);
            } else {
                cr_assert_eq(hist_complete(&hist, (uint32_t)g->pending[c], time, outcome, current,
                                           seen[c].len),
                             0);
            }
            g->pending[c] = -1;
        }
    }
}

/* Invariant: every history of a real atomic register or KV store (with crashes, timeouts and
 * refused ops) is linearizable. */
Test(lin_check, histories_of_atomic_stores_are_linearizable)
{
    for (uint64_t seed = 1; seed <= 200; seed++) {
        struct gen g = { .kv = (int)(seed % 2) };
        prng_seed(&g.prng, seed * 7919);
        hist_free(&hist);
        gen_atomic(&g, 60);
        enum lin_verdict got = lin_check(&hist, NULL, &result);
        cr_assert_eq(got, LIN_LINEARIZABLE, "seed %llu: %s", (unsigned long long)seed,
                     result.reason);
    }
}
