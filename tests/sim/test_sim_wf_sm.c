/* Tests for sim/replica_sm (router, hash, snapshot container), sim/ledger and the workflow
 * scenario keys. */
#include "sim/ledger.h"
#include "sim/replica_sm.h"
#include "sim/scenario.h"
#include "core/hash.h"
#include "workflows/kv_codec.h"
#include "workflows/wf_command.h"
#include "workflows/wf_def.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FLOWRAFT_SOURCE_DIR
#define FLOWRAFT_SOURCE_DIR "."
#endif

static const char hello_json[] = "{\"id\":\"hello\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\"},"
                                 "{\"id\":\"b\",\"kind\":\"k\",\"deps\":[\"a\"]}]}";

static struct replica_machines machines(uint32_t workflows_max)
{
    struct replica_machines m;
    replica_machines_default(&m);
    m.workflows_max = workflows_max;
    return m;
}

static struct raft_entry entry(uint64_t index, enum raft_entry_type type, const uint8_t *data,
                               size_t len)
{
    return (struct raft_entry){
        .index = index, .term = 1, .type = type, .data = data, .data_len = len
    };
}

/* A submit of hello_json, encoded (the buffer is static: valid until the next call). */
static size_t submit_payload(const uint8_t **out)
{
    static uint8_t buffer[WF_COMMAND_BYTES_MAX];
    static struct wf_def def;
    struct wf_error error;
    cr_assert(wf_def_from_json(hello_json, strlen(hello_json), &def, &error), "%s", error.text);
    struct wf_command command = { .type = WF_CMD_SUBMIT, .def = &def };
    snprintf(command.workflow_id, sizeof(command.workflow_id), "hello");
    wf_command_stamp(&command, 1000);
    size_t len = wf_command_encode(&command, buffer, sizeof(buffer), &error);
    cr_assert_gt(len, 0, "%s", error.text);
    *out = buffer;
    return len;
}

static size_t put_payload(uint8_t *buffer, size_t cap)
{
    struct kv_command command = kv_command_put(0, 0, "k", 1, "v", 1);
    size_t len = 0;
    struct kv_error error;
    cr_assert_eq(kv_command_encode(&command, buffer, cap, &len, &error), 0);
    return len;
}

/* Invariant: entries go to the machine their tag names; anything else changes nothing. */
Test(sim_replica_sm, routes_by_tag)
{
    struct replica_machines m = machines(4);
    struct replica_sm *sm = replica_sm_create(&m, NULL, NULL);
    cr_assert_not_null(sm);
    struct replica_sm_result result;
    uint64_t empty = replica_sm_hash(sm);

    struct raft_entry noop = entry(1, RAFT_ENTRY_NOOP, NULL, 0);
    cr_assert_eq(replica_sm_apply(sm, &noop, &result), 0);
    cr_assert_eq(result.machine, REPLICA_SM_NONE);
    static const uint8_t unknown[] = { 'Z', 1, 2 };
    struct raft_entry other = entry(2, RAFT_ENTRY_COMMAND, unknown, sizeof(unknown));
    cr_assert_eq(replica_sm_apply(sm, &other, &result), 0);
    cr_assert_eq(result.machine, REPLICA_SM_NONE);
    cr_assert_eq(replica_sm_hash(sm), empty, "unknown tags and no-ops change nothing");

    uint8_t put[64];
    struct raft_entry kv = entry(3, RAFT_ENTRY_COMMAND, put, put_payload(put, sizeof(put)));
    cr_assert_eq(replica_sm_apply(sm, &kv, &result), 0);
    cr_assert_eq(result.machine, REPLICA_SM_KV);
    cr_assert_eq(result.kv.result.status, KV_STATUS_OK);
    cr_assert_eq(kv_key_count(replica_sm_kv(sm)), 1);
    uint64_t after_kv = replica_sm_hash(sm);
    cr_assert_neq(after_kv, empty);

    const uint8_t *submit = NULL;
    size_t len = submit_payload(&submit);
    struct raft_entry wf = entry(4, RAFT_ENTRY_COMMAND, submit, len);
    cr_assert_eq(replica_sm_apply(sm, &wf, &result), 0);
    cr_assert_eq(result.machine, REPLICA_SM_WF);
    cr_assert_eq(result.wf.status, WF_OK, "%s", result.wf.message);
    cr_assert_not_null(wf_state_find(replica_sm_wf(sm), "hello"));
    cr_assert_neq(replica_sm_hash(sm), after_kv, "the hash covers the workflow engine too");
    cr_assert_eq(replica_sm_applied_index(sm), 4);
    replica_sm_destroy(sm);
}

/* A workflow command for workflow `id` (a submit of hello_json under that id, or a pause, resume
 * or cancel), encoded into `buffer`. */
static size_t wf_payload(enum wf_command_type type, const char *id, uint64_t now_ms,
                         uint8_t *buffer, size_t cap)
{
    static struct wf_def def;
    struct wf_error error;
    struct wf_command command = { .type = type };
    if (type == WF_CMD_SUBMIT) {
        cr_assert(wf_def_from_json(hello_json, strlen(hello_json), &def, &error), "%s", error.text);
        snprintf(def.id, sizeof(def.id), "%s", id);
        command.def = &def;
    }
    snprintf(command.workflow_id, sizeof(command.workflow_id), "%s", id);
    wf_command_stamp(&command, now_ms);
    size_t len = wf_command_encode(&command, buffer, cap, &error);
    cr_assert_gt(len, 0, "%s", error.text);
    return len;
}

/* replica_sm_hash's definition, computed from scratch (no cached workflow or KV hash). */
static uint64_t hash_from_scratch(const struct replica_sm *sm)
{
    uint64_t h = hash_fold_u64(REPLICA_SM_SNAPSHOT_SEED, kv_hash_recompute(replica_sm_kv(sm)));
    return hash_fold_u64(h, wf_state_hash_uncached(replica_sm_wf(sm)));
}

/* Invariant: the hash the router keeps of the workflow engine between workflow entries (and the
 * incremental KV hash) give exactly the from-scratch hash after every entry, whatever the mix of
 * KV, workflow, no-op and early-applied (test-only) entries. */
Test(sim_replica_sm, cached_hash_equals_from_scratch)
{
    struct replica_machines m = machines(8);
    struct replica_sm *sm = replica_sm_create(&m, NULL, NULL);
    cr_assert_not_null(sm);
    static uint8_t buffer[WF_COMMAND_BYTES_MAX];
    static const enum wf_command_type controls[] = { WF_CMD_PAUSE, WF_CMD_RESUME, WF_CMD_CANCEL };
    struct replica_sm_result result;
    uint64_t seed = 12345;
    for (uint64_t index = 1; index <= 400; index++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull; /* a small LCG */
        uint64_t roll = (seed >> 33) % 10;
        char id[16];
        snprintf(id, sizeof(id), "w%u", (unsigned)((seed >> 40) % 10));
        size_t len = 0;
        if (roll < 4) {
            struct kv_command command = kv_command_put(0, 0, id, (uint32_t)strlen(id), "v", 1);
            cr_assert_eq(kv_command_encode(&command, buffer, sizeof(buffer), &len, NULL), 0);
        } else if (roll < 6) {
            len = wf_payload(WF_CMD_SUBMIT, id, 1000 + index, buffer, sizeof(buffer));
        } else if (roll < 9) {
            len = wf_payload(controls[roll - 6], id, 1000 + index, buffer, sizeof(buffer));
        }
        struct raft_entry e =
            entry(index, len > 0 ? RAFT_ENTRY_COMMAND : RAFT_ENTRY_NOOP, buffer, len);
        if (index % 7 == 0) {
            replica_sm_test_apply_early(sm, &e); /* the broken variant's path */
        }
        cr_assert_eq(replica_sm_apply(sm, &e, &result), 0);
        cr_assert_eq(replica_sm_hash(sm), hash_from_scratch(sm), "index %llu",
                     (unsigned long long)index);
    }
    cr_assert_gt(wf_state_run_count(replica_sm_wf(sm)), 3, "workflows were submitted");
    replica_sm_destroy(sm);
}

/* Builds machines with one KV entry and one submit, at index 4. */
static struct replica_sm *populated(const struct replica_machines *m)
{
    struct replica_sm *sm = replica_sm_create(m, NULL, NULL);
    struct replica_sm_result result;
    uint8_t put[64];
    struct raft_entry kv = entry(2, RAFT_ENTRY_COMMAND, put, put_payload(put, sizeof(put)));
    cr_assert_eq(replica_sm_apply(sm, &kv, &result), 0);
    const uint8_t *submit = NULL;
    size_t len = submit_payload(&submit);
    struct raft_entry wf = entry(4, RAFT_ENTRY_COMMAND, submit, len);
    cr_assert_eq(replica_sm_apply(sm, &wf, &result), 0);
    return sm;
}

/* Invariant: a snapshot restores both machines to the same hash and applied index. */
Test(sim_replica_sm, snapshot_round_trip)
{
    struct replica_machines m = machines(4);
    struct replica_sm *sm = populated(&m);
    size_t size = replica_sm_snapshot_size(sm);
    uint8_t *buf = malloc(size);
    cr_assert_eq(replica_sm_snapshot_write(sm, buf, size - 1), 0, "a short buffer is refused");
    cr_assert_eq(replica_sm_snapshot_write(sm, buf, size), size);
    char error[256] = "";
    struct replica_sm *copy =
        replica_sm_restore(&m, NULL, NULL, buf, size, 4, error, sizeof(error));
    cr_assert_not_null(copy, "%s", error);
    cr_assert_eq(replica_sm_hash(copy), replica_sm_hash(sm));
    cr_assert_eq(replica_sm_applied_index(copy), 4);
    cr_assert_not_null(wf_state_find(replica_sm_wf(copy), "hello"));
    /* equal states, byte-identical snapshots */
    uint8_t *again = malloc(size);
    cr_assert_eq(replica_sm_snapshot_write(copy, again, size), size);
    cr_assert_eq(memcmp(buf, again, size), 0);
    free(again);
    free(buf);
    replica_sm_destroy(copy);
    replica_sm_destroy(sm);
}

static void expect_refused(const struct replica_machines *m, const uint8_t *buf, size_t len,
                           uint64_t index, const char *needle)
{
    char error[256] = "";
    struct replica_sm *sm =
        replica_sm_restore(m, NULL, NULL, buf, len, index, error, sizeof(error));
    cr_assert_null(sm, "restored although %s", needle);
    cr_assert(strstr(error, needle) != NULL, "'%s' does not mention '%s'", error, needle);
}

/* Invariant: a damaged, foreign, future or mismatched container is refused with a reason. */
Test(sim_replica_sm, restore_refuses_bad_containers)
{
    struct replica_machines m = machines(4);
    struct replica_sm *sm = populated(&m);
    size_t size = replica_sm_snapshot_size(sm);
    uint8_t *buf = malloc(size);
    cr_assert_eq(replica_sm_snapshot_write(sm, buf, size), size);

    expect_refused(&m, buf, 10, 4, "shorter than its header");
    buf[0] ^= 1;
    expect_refused(&m, buf, size, 4, "magic");
    buf[0] ^= 1;
    buf[4] = 2; /* version 2 */
    expect_refused(&m, buf, size, 4, "version: 2 is not supported");
    buf[4] = 1;
    buf[size / 2] ^= 0x10;
    expect_refused(&m, buf, size, 4, "checksum");
    buf[size / 2] ^= 0x10;
    struct replica_machines other = machines(8);
    expect_refused(&other, buf, size, 4, "fingerprint");
    expect_refused(&m, buf, size, 5, "applied index");
    expect_refused(&m, buf, size - 9, 4, "checksum");

    char error[256] = "";
    struct replica_sm *ok = replica_sm_restore(&m, NULL, NULL, buf, size, 4, error, sizeof(error));
    cr_assert_not_null(ok, "the undamaged container still restores: %s", error);
    replica_sm_destroy(ok);
    free(buf);
    replica_sm_destroy(sm);
}

/* Invariant: the fingerprint covers every cluster-wide setting. */
Test(sim_replica_sm, fingerprint_covers_every_limit)
{
    struct replica_machines a = machines(64);
    struct replica_machines b = a;
    cr_assert_eq(replica_machines_fingerprint(&a), replica_machines_fingerprint(&b));
    b.kv.keys_max--;
    cr_assert_neq(replica_machines_fingerprint(&a), replica_machines_fingerprint(&b));
    b = a;
    b.kv.sessions_max--;
    cr_assert_neq(replica_machines_fingerprint(&a), replica_machines_fingerprint(&b));
    b = a;
    b.workflows_max = 65;
    cr_assert_neq(replica_machines_fingerprint(&a), replica_machines_fingerprint(&b));
    const char *reason = NULL;
    b.workflows_max = 0;
    cr_assert(!replica_machines_valid(&b, &reason));
    cr_assert_not_null(reason);
}

static struct wf_assignment assignment(const char *key, uint32_t attempt)
{
    struct wf_assignment a;
    memset(&a, 0, sizeof(a));
    snprintf(a.idempotency_key, sizeof(a.idempotency_key), "%s", key);
    snprintf(a.token.workflow_id, sizeof(a.token.workflow_id), "wf");
    a.token.attempt = attempt;
    return a;
}

/* Invariant: one effect per idempotency key; repeats are counted, never applied (G5). */
Test(sim_ledger, applies_once_per_key)
{
    struct sim_ledger ledger;
    cr_assert_eq(sim_ledger_init(&ledger), 0);
    struct wf_assignment a1 = assignment("wf/charge", 1);
    struct wf_assignment a2 = assignment("wf/charge", 2);
    struct wf_assignment other = assignment("wf/ship", 1);
    cr_assert_eq(sim_ledger_execute(&ledger, &a1, 0, 10), 1);
    cr_assert_eq(sim_ledger_execute(&ledger, &a2, 1, 20), 0, "attempt 2 finds the effect");
    cr_assert_eq(sim_ledger_execute(&ledger, &other, 1, 30), 1);
    const struct sim_ledger_key *k = sim_ledger_find(&ledger, "wf/charge");
    cr_assert_not_null(k);
    cr_assert_eq(k->executions, 2);
    cr_assert_eq(k->effects, 1);
    cr_assert_eq(k->first.attempt, 1);
    cr_assert_eq(k->first_worker, 0);
    cr_assert_eq(ledger.executions, 3);
    cr_assert_eq(ledger.effects_applied, 2);
    cr_assert_eq(ledger.duplicates_detected, 1);
    cr_assert_eq(ledger.record_count, 3);
    cr_assert(!ledger.records[1].applied);
    cr_assert_null(sim_ledger_find(&ledger, "wf/none"));
    /* the broken worker: no key, the effect is applied again */
    cr_assert_eq(sim_ledger_execute_unkeyed(&ledger, &a2, 1, 40), 1);
    cr_assert_eq(sim_ledger_find(&ledger, "wf/charge")->effects, 2);
    sim_ledger_deinit(&ledger);
}

/* Invariant: the key table is bounded and says so when full. */
Test(sim_ledger, full_table_is_refused)
{
    struct sim_ledger ledger;
    cr_assert_eq(sim_ledger_init(&ledger), 0);
    char key[32];
    for (uint32_t i = 0; i < SIM_LEDGER_KEYS_MAX; i++) {
        snprintf(key, sizeof(key), "w/t%u", i);
        struct wf_assignment a = assignment(key, 1);
        cr_assert_eq(sim_ledger_execute(&ledger, &a, 0, i), 1);
    }
    struct wf_assignment a = assignment("w/one-more", 1);
    cr_assert_eq(sim_ledger_execute(&ledger, &a, 0, 0), -1);
    cr_assert_eq(ledger.full, 1);
    snprintf(key, sizeof(key), "w/t%u", SIM_LEDGER_KEYS_MAX - 1);
    cr_assert_not_null(sim_ledger_find(&ledger, key));
    sim_ledger_deinit(&ledger);
}

static int parse(const char *text, struct sim_scenario *s, char *error, size_t size)
{
    return sim_scenario_parse_string(FLOWRAFT_SOURCE_DIR "/scenarios/t.ini", text, s, error, size);
}

/* Invariant: the workflow keys parse into the documented fields; paths are relative to the
 * scenario file. */
Test(sim_wf_scenario, parses_workflow_sections)
{
    static struct sim_scenario s;
    char error[512] = "";
    const char *text = "[run]\nduration = 5s\n"
                       "[workflows]\n"
                       "submit = 100ms ../workflows/examples/hello.json\n"
                       "submit = 1s ../workflows/examples/hello.json x 3 every 200ms as greet\n"
                       "control = 2s cancel greet-2\n"
                       "workflows_max = 16\ngrace = 2s\nsettle = 20s\nexpect = completed\n"
                       "[workers]\ncount = 5\nduration = uniform 10ms 20ms\nfail = 10%\n"
                       "script = greet-1/transform 2 fail card_declined\n"
                       "script = store 1 crash-after-effect\n";
    cr_assert_eq(parse(text, &s, error, sizeof(error)), 0, "%s", error);
    const struct sim_wf_scenario *wf = &s.wf;
    cr_assert_eq(wf->definition_count, 1, "the same file is loaded once");
    cr_assert_str_eq(wf->definition_ids[0], "hello");
    cr_assert_eq(wf->submit_count, 2);
    cr_assert_eq(wf->instance_count, 4);
    cr_assert_eq(wf->submits[1].count, 3);
    cr_assert_eq(wf->submits[1].every_us, 200000);
    char id[WF_ID_BYTES_MAX + 1];
    sim_wf_instance_id(&wf->submits[1], "hello", 2, id);
    cr_assert_str_eq(id, "greet-3");
    sim_wf_instance_id(&wf->submits[0], "hello", 0, id);
    cr_assert_str_eq(id, "hello");
    cr_assert_eq(wf->controls[0].type, WF_CMD_CANCEL);
    cr_assert_eq(wf->workflows_max, 16);
    cr_assert_eq(wf->grace_us, 2000000);
    cr_assert(wf->expect_completed);
    cr_assert_eq(wf->workers, 5);
    cr_assert_float_eq(wf->fail, 0.1, 1e-12);
    cr_assert_eq(wf->script_count, 2);
    cr_assert_str_eq(wf->scripts[0].workflow_id, "greet-1");
    cr_assert_eq(wf->scripts[0].attempt, 2);
    cr_assert_str_eq(wf->scripts[0].error_kind, "card_declined");
    cr_assert_eq(wf->scripts[1].action, SIM_WF_ACT_CRASH_EFFECT);
}

/* Invariant: workflows_max is one cluster-wide value: given, or what the scenario submits. */
Test(sim_wf_scenario, workflows_max_defaults_to_what_is_submitted)
{
    static struct sim_scenario s;
    char error[512] = "";
    cr_assert_eq(parse("[run]\nduration = 5s\n", &s, error, sizeof(error)), 0, "%s", error);
    cr_assert_eq(s.wf.workflows_max, 1, "no workflows: the smallest engine");
    cr_assert_eq(parse("[workflows]\nsubmit = 1s ../workflows/examples/hello.json x 5 every 1ms\n"
                       "submit = 2s ../workflows/examples/diamond.json\n",
                       &s, error, sizeof(error)),
                 0, "%s", error);
    cr_assert_eq(s.wf.workflows_max, 6);
}

/* Invariant: every malformed workflow key is an error naming the file, the line and the key. */
Test(sim_wf_scenario, errors_name_file_line_and_key)
{
    static const struct {
        const char *text;
        const char *needle;
    } cases[] = {
        { "[workflows]\nsubmit = 1s nope.json\n", "t.ini:2: [workflows] submit: " },
        { "[workflows]\nsubmit = 1s nope.json\n", "nope.json: cannot open" },
        { "[workflows]\nsubmit = soon ../workflows/examples/hello.json\n", "bad time 'soon'" },
        { "[workflows]\nsubmit = 1s ../workflows/examples/hello.json x 0\n", "x 0: expected" },
        { "[workflows]\nsubmit = 1s ../workflows/examples/hello.json y 2\n", "unknown option 'y'" },
        { "[workflows]\nsubmit = 20s ../workflows/examples/hello.json\n",
          "t.ini:2: [workflows] submit: the last submission is not within" },
        { "[workflows]\nsubmit = 1s ../workflows/examples/hello.json\ncontrol = 2s stop hello\n",
          "t.ini:3: [workflows] control: unknown action 'stop'" },
        { "[workflows]\nsubmit = 1s ../workflows/examples/hello.json\ncontrol = 2s pause nope\n",
          "t.ini:3: [workflows] control: no workflow 'nope' is submitted" },
        { "[workflows]\nsubmit = 1s ../workflows/examples/hello.json\nexpect = maybe\n",
          "t.ini:3: [workflows] expect: expected completed or terminal" },
        { "[workflows]\nsubmit = 1s ../workflows/examples/hello.json\n[workers]\n"
          "script = fetch 1 explode\n",
          "t.ini:4: [workers] script: expected" },
        { "[workflows]\nsubmit = 1s ../workflows/examples/hello.json\n[workers]\n"
          "script = nosuch 1 fail\n",
          "t.ini:4: [workers] script: no submitted definition has a task 'nosuch'" },
        { "[workflows]\nsubmit = 1s ../workflows/examples/hello.json\n[workers]\n"
          "script = fetch 1 crash boom\n",
          "an error kind" },
        { "[workers]\nscript = fetch 1 fail\n", "need a [workflows] submit line" },
        { "[workers]\ncount = 0\n", "t.ini:2: [workers] count: expected 1..32" },
        { "[workflows]\nworkflows_max = 2000\n", "[workflows] workflows_max: expected 1..1024" },
        { "[workflows]\ngrace = 1s\ngrace = 2s\n", "already set on line 4" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static struct sim_scenario s;
        char error[512] = "";
        char text[512];
        snprintf(text, sizeof(text), "[run]\nduration = 10s\n%s", cases[i].text);
        /* the prefix shifts lines by 2: the needles count from the case's own first line */
        cr_assert_neq(parse(text, &s, error, sizeof(error)), 0, "case %zu parsed", i);
        char needle[256];
        snprintf(needle, sizeof(needle), "%s", cases[i].needle);
        char *colon = strstr(needle, ".ini:");
        if (colon != NULL) {
            int line = atoi(colon + 5);
            char rest[200];
            snprintf(rest, sizeof(rest), "%s", strchr(colon + 5, ':'));
            snprintf(colon + 5, sizeof(needle) - (size_t)(colon + 5 - needle), "%d%s", line + 2,
                     rest);
        }
        cr_assert(strstr(error, needle) != NULL, "case %zu: '%s' does not contain '%s'", i, error,
                  needle);
    }
}

/* Invariant: a definition that fails validation is an input error naming its field. */
Test(sim_wf_scenario, bad_definition_names_its_field)
{
    char dir[] = "/tmp/flowraft-wf-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/bad.json", dir);
    FILE *file = fopen(path, "w");
    cr_assert_not_null(file);
    fputs("{\"id\":\"x\",\"tasks\":[{\"id\":\"a\",\"kind\":\"k\",\"deps\":[\"zz\"]}]}", file);
    fclose(file);
    char text[512];
    snprintf(text, sizeof(text), "[workflows]\nsubmit = 1s %s\n", path);
    static struct sim_scenario s;
    char error[512] = "";
    cr_assert_neq(parse(text, &s, error, sizeof(error)), 0);
    unlink(path);
    rmdir(dir);
    cr_assert(strstr(error, path) != NULL, "%s", error);
    cr_assert(strstr(error, "tasks[0].deps") != NULL, "%s", error);
}
