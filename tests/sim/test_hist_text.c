/* Tests for FlowRaft's own history format (sim/hist_text.c): round trips and malformed input. */
#include "sim/hist.h"

#include "core/prng.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct hist hist;
static struct hist back;

static void teardown(void)
{
    hist_free(&hist);
    hist_free(&back);
}

TestSuite(hist_text, .fini = teardown);

/* Writes `h` to a string (caller frees). */
static char *write_to_string(const struct hist *h, size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    cr_assert_not_null(out);
    cr_assert_eq(hist_write_text(out, h), HIST_E_OK);
    fclose(out);
    return text;
}

static void assert_same_str(const struct hist *a, struct hist_str x, const struct hist *b,
                            struct hist_str y, uint32_t op)
{
    size_t lx, ly;
    const char *bx = hist_str_bytes(a, x, &lx);
    const char *by = hist_str_bytes(b, y, &ly);
    cr_assert_eq(bx == NULL, by == NULL, "op %u: nil differs", op);
    cr_assert(lx == ly && (lx == 0 || memcmp(bx, by, lx) == 0), "op %u: bytes differ", op);
}

/* Checks that two histories hold the same ops, outcomes, values, events and times. */
static void assert_same_history(const struct hist *a, const struct hist *b)
{
    cr_assert_eq(a->model, b->model);
    cr_assert_eq(a->ops_count, b->ops_count);
    cr_assert_eq(a->events_count, b->events_count);
    assert_same_str(a, a->initial, b, b->initial, 0);
    for (uint32_t i = 0; i < a->ops_count; i++) {
        const struct hist_op *x = &a->ops[i];
        const struct hist_op *y = &b->ops[i];
        cr_assert(x->kind == y->kind && x->outcome == y->outcome && x->client == y->client, "op %u",
                  i);
        cr_assert(x->invoke_event == y->invoke_event && x->complete_event == y->complete_event,
                  "op %u", i);
        cr_assert_eq(x->invoke_time, y->invoke_time, "op %u", i);
        if (x->outcome != HIST_PENDING) {
            cr_assert_eq(x->complete_time, y->complete_time, "op %u", i);
        }
        assert_same_str(a, x->key, b, y->key, i);
        assert_same_str(a, x->value, b, y->value, i);
        assert_same_str(a, x->expected, b, y->expected, i);
        assert_same_str(a, x->result, b, y->result, i);
        cr_assert_eq(x->cas_mismatch, y->cas_mismatch, "op %u", i);
    }
}

/* Records a random KV history with every kind, outcome and byte value. */
static void record_random_kv(struct hist *h, uint64_t seed, uint32_t ops)
{
    struct prng prng;
    prng_seed(&prng, seed);
    cr_assert_eq(hist_init(h, HIST_MODEL_KV, ops), HIST_E_OK);
    int64_t pending[8];
    for (int c = 0; c < 8; c++) {
        pending[c] = -1;
    }
    uint64_t time = 0;
    char bytes[3][6];
    for (uint32_t n = 0; n < 4 * ops; n++) {
        int c = (int)prng_below(&prng, 8);
        time += prng_below(&prng, 3);
        for (int b = 0; b < 3; b++) {
            for (int i = 0; i < 6; i++) {
                bytes[b][i] = (char)prng_below(&prng, 256);
            }
        }
        if (pending[c] < 0 && h->ops_count < ops) {
            static const enum hist_kind kinds[] = { HIST_GET, HIST_PUT, HIST_APPEND, HIST_DELETE,
                                                    HIST_KV_CAS };
            struct hist_call call = { .kind = kinds[prng_below(&prng, 5)],
                                      .client = (uint64_t)c,
                                      .key = bytes[0],
                                      .key_len = prng_below(&prng, 3),
                                      .value = bytes[1],
                                      .value_len = prng_below(&prng, 7),
                                      .expected = prng_chance(&prng, 0.3) ? NULL : bytes[2],
                                      .expected_len = prng_below(&prng, 7) };
            pending[c] = hist_invoke(h, time, &call);
            cr_assert_geq(pending[c], 0, "%s", h->error);
        } else if (pending[c] >= 0 && prng_chance(&prng, 0.8)) {
            enum hist_outcome outcome = (enum hist_outcome)prng_range(&prng, 1, 3);
            const char *result = prng_chance(&prng, 0.2) ? NULL : bytes[2];
            size_t result_len = prng_below(&prng, 7);
            int mismatch = h->ops[pending[c]].kind == HIST_KV_CAS && prng_chance(&prng, 0.5);
            cr_assert_eq(
                mismatch
                    ? hist_complete_cas_mismatch(h, (uint32_t)pending[c], time, result, result_len)
                    : hist_complete(h, (uint32_t)pending[c], time, outcome, result, result_len),
                HIST_E_OK);
            pending[c] = -1;
        }
    }
}

/* Invariant: write then parse gives back the same history (kinds, outcomes, every byte value,
 * nil vs "", events, times, pending ops), and writing it again gives the same text. */
Test(hist_text, round_trip_random_kv_histories)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        record_random_kv(&hist, seed, 60);
        size_t len;
        char *text = write_to_string(&hist, &len);
        cr_assert_eq(hist_parse(&back, HIST_FORMAT_AUTO, "rt", text, len), HIST_E_OK,
                     "seed %llu: %s", (unsigned long long)seed, back.error);
        assert_same_history(&hist, &back);
        size_t len2;
        char *text2 = write_to_string(&back, &len2);
        cr_assert(len == len2 && memcmp(text, text2, len) == 0, "seed %llu",
                  (unsigned long long)seed);
        free(text);
        free(text2);
        hist_free(&hist);
        hist_free(&back);
    }
}

/* Invariant: the written text is the documented format, byte for byte. */
Test(hist_text, writes_the_documented_format)
{
    cr_assert_eq(hist_init(&hist, HIST_MODEL_REGISTER, 8), HIST_E_OK);
    cr_assert_eq(hist_set_initial(&hist, "0", 1), HIST_E_OK);
    struct hist_call write = {
        .kind = HIST_WRITE, .client = 1, .value = "a\"\\\n\x01", .value_len = 5
    };
    struct hist_call read = { .kind = HIST_READ, .client = 2 };
    struct hist_call cas = { .kind = HIST_CAS,
                             .client = 3,
                             .value = "b",
                             .value_len = 1,
                             .expected = "0",
                             .expected_len = 1 };
    cr_assert_eq(hist_invoke(&hist, 10, &write), 0);
    cr_assert_eq(hist_invoke(&hist, 11, &read), 1);
    cr_assert_eq(hist_complete(&hist, 0, 12, HIST_OK, NULL, 0), HIST_E_OK);
    cr_assert_eq(hist_complete(&hist, 1, 13, HIST_OK, NULL, 0), HIST_E_OK);
    cr_assert_eq(hist_invoke(&hist, 14, &cas), 2);
    cr_assert_eq(hist_complete(&hist, 2, 20, HIST_UNKNOWN, NULL, 0), HIST_E_OK);
    cr_assert_eq(hist_invoke(&hist, 21, &cas), 3);
    cr_assert_eq(hist_complete_cas_mismatch(&hist, 3, 22, "a", 1), HIST_E_OK);
    cr_assert_eq(hist_invoke(&hist, 23, &cas), 4);
    cr_assert_eq(hist_complete(&hist, 4, 24, HIST_OK, NULL, 0), HIST_E_OK);
    size_t len;
    char *text = write_to_string(&hist, &len);
    cr_assert_str_eq(text, "flowraft-history 1 register initial \"0\"\n"
                           "invoke 0 1 10 write \"a\\\"\\\\\\n\\x01\"\n"
                           "invoke 1 2 11 read\n"
                           "ok 0 12\n"
                           "ok 1 13 nil\n"
                           "invoke 2 3 14 cas \"0\" \"b\"\n"
                           "unknown 2 20\n"
                           "invoke 3 3 21 cas \"0\" \"b\"\n"
                           "ok 3 22 mismatch \"a\"\n"
                           "invoke 4 3 23 cas \"0\" \"b\"\n"
                           "ok 4 24\n");
    free(text);
}

/* Invariant: comments, blank lines, tabs and CRLF are accepted where the format allows them. */
Test(hist_text, comments_blank_lines_and_crlf)
{
    const char *text = "# a history\r\n\r\nflowraft-history 1 kv\r\n"
                       "  # indented comment\n"
                       "invoke\t0 5 1 put \"k\" \"v\"\r\n"
                       "ok 0 2\n"
                       "invoke 1 6 3 get \"k\"\n"
                       "ok 1 4 \"v\"\n";
    cr_assert_eq(hist_parse(&hist, HIST_FORMAT_AUTO, "c", text, strlen(text)), HIST_E_OK, "%s",
                 hist.error);
    cr_assert_eq(hist.ops_count, 2);
    cr_assert_eq(hist.ops[1].client, 6);
}

/* Invariant: every malformed line is an error naming the file and the line. */
Test(hist_text, malformed_lines_name_the_line)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        { "", "f: no 'flowraft-history' header line" },
        { "invoke 0 1 1 read\n", "f:1: expected the header" },
        { "flowraft-history 2 kv\n", "f:1: unsupported version" },
        { "flowraft-history 1 set\n", "f:1: model must be" },
        { "flowraft-history 1 kv initial\n", "f:1: header: expected nil or" },
        { "flowraft-history 1 kv extra\n", "f:1: header: expected 'initial VALUE'" },
        { "flowraft-history 1 kv\nstart 0\n", "f:2: expected an event" },
        { "flowraft-history 1 kv\ninvoke 0 1\n", "f:2: expected 'invoke OP CLIENT TIME KIND'" },
        { "flowraft-history 1 kv\ninvoke 1 1 1 get \"k\"\n", "f:2: op ids must be invoked in" },
        { "flowraft-history 1 kv\ninvoke 0 1 1 read\n", "f:2: unknown kv operation 'read'" },
        { "flowraft-history 1 register\ninvoke 0 1 1 get \"k\"\n", "f:2: unknown register" },
        { "flowraft-history 1 kv\ninvoke 0 1 1 get k\n", "f:2: key: expected nil or" },
        { "flowraft-history 1 kv\ninvoke 0 1 1 get nil\n", "f:2: get needs a key" },
        { "flowraft-history 1 kv\ninvoke 0 1 1 put \"k\" \"v\n", "f:2: value: unterminated" },
        { "flowraft-history 1 kv\ninvoke 0 1 1 put \"k\" \"\\x4\"\n", "f:2: value: bad escape" },
        { "flowraft-history 1 kv\ninvoke 0 1 1 put \"k\" \"v\" \"w\"\n", "f:2: unexpected text" },
        { "flowraft-history 1 kv\ninvoke 0 1 1 put \"k\" nil\n", "f:2: put needs a value" },
        { "flowraft-history 1 kv\nok 0 1\n", "f:2: op 0 was never invoked" },
        { "flowraft-history 1 kv\ninvoke 0 1 5 delete \"k\"\nok 0 4\n", "f:3: time goes back" },
        { "flowraft-history 1 kv\ninvoke 0 1 5 delete \"k\"\nok 0 6\nfail 0 7\n",
          "f:4: op 0 completed twice" },
        { "flowraft-history 1 kv\ninvoke 0 1 5 get \"k\"\nok 0 6\n", "f:3: result: expected" },
        { "flowraft-history 1 kv\ninvoke 0 1 5 put \"k\" \"v\"\nok 0 6 \"v\"\n",
          "f:3: unexpected text after the completion" },
        { "flowraft-history 1 kv\ninvoke 0 1 5 cas \"k\" nil \"v\"\nok 0 6 swapped\n",
          "f:3: expected 'mismatch CURRENT' or nothing" },
        { "flowraft-history 1 kv\ninvoke 0 1 5 cas \"k\" nil \"v\"\nok 0 6 mismatch\n",
          "f:3: current value: expected nil or" },
        { "flowraft-history 1 kv\ninvoke 0 1 5 get \"k\"\nok 0 6 mismatch nil\n",
          "f:3: result: expected nil or" },
        { "flowraft-history 1 kv\ninvoke 0 1 99999999999999999999 get \"k\"\n",
          "f:2: expected 'invoke" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hist_free(&hist);
        int err =
            hist_parse(&hist, HIST_FORMAT_FLOWRAFT, "f", cases[i].text, strlen(cases[i].text));
        cr_assert_lt(err, 0, "case %zu", i);
        cr_assert(strncmp(hist.error, cases[i].message, strlen(cases[i].message)) == 0,
                  "case %zu: got '%s', want '%s...'", i, hist.error, cases[i].message);
    }
}

/* Invariant: truncated or garbled text never crashes the parser: it parses or names the file. */
Test(hist_text, damaged_text_never_crashes)
{
    record_random_kv(&hist, 99, 20);
    size_t len;
    char *text = write_to_string(&hist, &len);
    struct prng prng;
    prng_seed(&prng, 7);
    for (size_t cut = 0; cut <= len; cut++) {
        char *copy = malloc(len + 1);
        memcpy(copy, text, len);
        if (cut < len && prng_chance(&prng, 0.5)) {
            copy[prng_below(&prng, len)] = (char)prng_below(&prng, 256);
        }
        size_t n = prng_chance(&prng, 0.5) ? cut : len; /* truncated, or garbled whole */
        hist_free(&back);
        int err = hist_parse(&back, HIST_FORMAT_FLOWRAFT, "dmg", copy, n);
        cr_assert(err == HIST_E_OK || strncmp(back.error, "dmg", 3) == 0, "%s", back.error);
        free(copy);
    }
    free(text);
}
