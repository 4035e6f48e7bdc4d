/* Tests for workflows/kv_codec: round trips, and rejection of malformed or random bytes. */
#include "test_kv_util.h"

#include "core/prng.h"

static size_t encode(const struct kv_command *command, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    struct kv_error error;
    cr_assert_eq(kv_command_encode(command, buf, cap, &len, &error), 0, "%s", error.reason);
    cr_assert_eq(len, kv_command_encoded_bytes(command));
    return len;
}

static bool same_bytes(const uint8_t *a, uint32_t a_len, const uint8_t *b, uint32_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static void expect_same_command(const struct kv_command *a, const struct kv_command *b)
{
    cr_assert_eq(a->op, b->op);
    cr_assert_eq(a->flags, b->flags);
    cr_assert_eq(a->client_id, b->client_id);
    cr_assert_eq(a->seq, b->seq);
    cr_assert(same_bytes(a->key, a->key_len, b->key, b->key_len));
    cr_assert(same_bytes(a->value, a->value_len, b->value, b->value_len));
    cr_assert(same_bytes(a->expected, a->expected_len, b->expected, b->expected_len));
}

/* Invariant: decode(encode(c)) == c for every op, and the payload starts with 'K' (INTERFACES). */
Test(kv_codec, command_round_trip)
{
    const uint8_t binary[] = { 0, 0xff, 'K', 0 };
    struct kv_command commands[] = {
        kv_command_register(),
        kv_command_put(3, 1, KVS("key"), KVS("value")),
        kv_command_put(0, 0, binary, sizeof(binary), "", 0),
        kv_command_get(3, 2, KVS("key")),
        kv_command_delete(0, 0, "", 0),
        kv_command_cas(9, UINT64_MAX, KVS("k"), KVS("old"), KVS("new")),
        kv_command_cas_absent(9, 7, KVS("k"), KVS("first")),
    };
    uint8_t buf[256];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        size_t len = encode(&commands[i], buf, sizeof(buf));
        cr_assert_eq(buf[0], 0x4B);
        struct kv_command decoded;
        struct kv_error error;
        cr_assert_eq(kv_command_decode(buf, len, &decoded, &error), 0, "%zu: %s", i, error.reason);
        expect_same_command(&commands[i], &decoded);
    }
}

/* Decodes `bytes` expecting failure with `code`; returns the reason for further checks. */
static void expect_decode_error(const uint8_t *bytes, size_t len, enum kv_error_code code,
                                const char *needle)
{
    struct kv_command command;
    struct kv_error error;
    cr_assert_eq(kv_command_decode(bytes, len, &command, &error), -1, "accepted (%s)", needle);
    cr_assert_eq(error.code, code, "expected %s, got %s: %s", kv_error_name(code),
                 kv_error_name(error.code), error.reason);
    cr_assert_not_null(strstr(error.reason, needle), "reason \"%s\" lacks \"%s\"", error.reason,
                       needle);
}

/* Invariant: each kind of malformed command is rejected with a code and a reason naming the
 * field. */
Test(kv_codec, malformed_commands_named)
{
    uint8_t buf[256];
    struct kv_command put = kv_command_put(1, 1, KVS("k"), KVS("v"));
    size_t len = encode(&put, buf, sizeof(buf));

    expect_decode_error(buf, 0, KV_ERROR_TRUNCATED, "empty");
    buf[0] = 'W';
    expect_decode_error(buf, len, KV_ERROR_BAD_TAG, "tag");
    buf[0] = 'K';
    buf[1] = 2;
    expect_decode_error(buf, len, KV_ERROR_BAD_VERSION, "version 2");
    buf[1] = 1;
    buf[2] = 0;
    expect_decode_error(buf, len, KV_ERROR_BAD_OP, "op 0");
    buf[2] = 77;
    expect_decode_error(buf, len, KV_ERROR_BAD_OP, "op 77");
    buf[2] = KV_OP_PUT;
    buf[3] = KV_CAS_EXPECT_ABSENT;
    expect_decode_error(buf, len, KV_ERROR_BAD_FLAGS, "flags");
    buf[3] = 0;
    uint8_t longer[257];
    memcpy(longer, buf, len);
    longer[len] = 0;
    expect_decode_error(longer, len + 1, KV_ERROR_TRAILING, "trailing");
    /* key_len (offset 20) claiming more than the hard limit, and more than is present. */
    uint8_t huge[256];
    memcpy(huge, buf, len);
    huge[20] = 0xff;
    huge[21] = 0xff;
    expect_decode_error(huge, len, KV_ERROR_TOO_LARGE, "key_len");
    huge[21] = 0;
    expect_decode_error(huge, len, KV_ERROR_TRUNCATED, "key_len 255");
    /* value_len beyond its limit. */
    memcpy(huge, buf, len);
    huge[25 + 3] = 0x10; /* value_len at 25 becomes >= 2^28 */
    expect_decode_error(huge, len, KV_ERROR_TOO_LARGE, "value_len");
}

/* Invariant: every strict prefix of a valid command is rejected as truncated. */
Test(kv_codec, every_truncation_rejected)
{
    uint8_t buf[256];
    struct kv_command cas = kv_command_cas(5, 6, KVS("key"), KVS("exp"), KVS("val"));
    size_t len = encode(&cas, buf, sizeof(buf));
    for (size_t cut = 0; cut < len; cut++) {
        struct kv_command decoded;
        struct kv_error error;
        cr_assert_eq(kv_command_decode(buf, cut, &decoded, &error), -1, "prefix %zu", cut);
        cr_assert_eq(error.code, KV_ERROR_TRUNCATED, "prefix %zu: %s", cut, error.reason);
    }
}

/* Invariant: field and session rules hold on both sides: encode refuses what decode rejects. */
Test(kv_codec, field_rules_enforced)
{
    uint8_t buf[256];
    size_t len;
    struct kv_error error;
    struct kv_command bad[] = {
        kv_command_get(1, 1, KVS("k")),
        kv_command_put(0, 3, KVS("k"), KVS("v")),
        kv_command_put(4, 0, KVS("k"), KVS("v")),
        kv_command_register(),
        kv_command_register(),
        kv_command_cas_absent(1, 1, KVS("k"), KVS("v")),
        kv_command_delete(1, 1, KVS("k")),
    };
    bad[0].value = (const uint8_t *)"v";
    bad[0].value_len = 1; /* get with a value */
    bad[3].client_id = 5; /* register with a client */
    bad[4].key = (const uint8_t *)"k";
    bad[4].key_len = 1; /* register with a key */
    bad[5].expected = (const uint8_t *)"e";
    bad[5].expected_len = 1; /* cas-absent with an expected value */
    bad[6].flags = KV_CAS_EXPECT_ABSENT;
    const char *needles[] = { "carries a value", "seq 3",    "seq 0", "register",
                              "carries a key",   "expected", "flags" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(kv_command_encode(&bad[i], buf, sizeof(buf), &len, &error), -1, "%zu", i);
        cr_assert_not_null(strstr(error.reason, needles[i]), "%zu: %s", i, error.reason);
    }
    /* Decoding a get that carries a value (written by hand) is rejected. */
    struct kv_command put = kv_command_put(1, 1, KVS("k"), KVS("v"));
    len = encode(&put, buf, sizeof(buf));
    buf[2] = KV_OP_GET;
    expect_decode_error(buf, len, KV_ERROR_BAD_FIELD, "get carries a value");
    buf[2] = KV_OP_PUT;
    buf[12] = 0; /* seq 0 with client 1 */
    expect_decode_error(buf, len, KV_ERROR_BAD_FIELD, "seq 0");

    struct kv_command reg = kv_command_register();
    len = encode(&reg, buf, sizeof(buf));
    buf[4] = 7; /* client_id 7 */
    expect_decode_error(buf, len, KV_ERROR_BAD_FIELD, "register carries client_id 7");

    struct kv_command cas = kv_command_cas(1, 1, KVS("k"), KVS("e"), KVS("v"));
    len = encode(&cas, buf, sizeof(buf));
    buf[3] = KV_CAS_EXPECT_ABSENT;
    expect_decode_error(buf, len, KV_ERROR_BAD_FIELD, "expected value");
}

/* Invariant: encode never writes past the buffer; too small is an error, exact is enough. */
Test(kv_codec, encode_respects_capacity)
{
    struct kv_command put = kv_command_put(1, 1, KVS("key"), KVS("value"));
    size_t need = kv_command_encoded_bytes(&put);
    uint8_t buf[64];
    memset(buf, 0xAA, sizeof(buf));
    size_t len;
    struct kv_error error;
    cr_assert_eq(kv_command_encode(&put, buf, need - 1, &len, &error), -1);
    cr_assert_eq(error.code, KV_ERROR_NO_SPACE);
    cr_assert_eq(kv_command_encode(&put, buf, need, &len, &error), 0);
    cr_assert_eq(len, need);
    cr_assert_eq(buf[need], 0xAA);
    cr_assert_eq(kv_command_encode(&put, NULL, 0, &len, &error), -1);
}

/* Invariant: decode(encode(r)) == r for results, and inconsistent results are rejected. */
Test(kv_codec, result_round_trip_and_rules)
{
    struct kv_result results[] = {
        { .op = KV_OP_REGISTER, .status = KV_STATUS_OK, .index = 4, .client_id = 4 },
        { .op = KV_OP_GET,
          .status = KV_STATUS_OK,
          .index = 9,
          .client_id = 4,
          .seq = 2,
          .has_value = true,
          .value = (const uint8_t *)"v",
          .value_len = 1 },
        { .op = KV_OP_CAS, .status = KV_STATUS_CAS_MISMATCH, .index = 10 },
        { .op = KV_OP_NONE,
          .status = KV_STATUS_MALFORMED,
          .index = 11,
          .has_value = true,
          .value = (const uint8_t *)"why",
          .value_len = 3 },
        { .op = KV_OP_PUT,
          .status = KV_STATUS_SESSION_STALE,
          .index = 12,
          .client_id = 4,
          .seq = 1 },
    };
    uint8_t buf[128];
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
        size_t len;
        struct kv_error error;
        cr_assert_eq(kv_result_encode(&results[i], buf, sizeof(buf), &len, &error), 0, "%zu: %s", i,
                     error.reason);
        struct kv_result decoded;
        cr_assert_eq(kv_result_decode(buf, len, &decoded, &error), 0, "%zu: %s", i, error.reason);
        cr_assert_eq(decoded.op, results[i].op);
        cr_assert_eq(decoded.status, results[i].status);
        cr_assert_eq(decoded.index, results[i].index);
        cr_assert_eq(decoded.client_id, results[i].client_id);
        cr_assert_eq(decoded.seq, results[i].seq);
        cr_assert_eq(decoded.has_value, results[i].has_value);
        cr_assert(
            same_bytes(decoded.value, decoded.value_len, results[i].value, results[i].value_len));
    }
    struct kv_result bad[] = {
        { .op = KV_OP_PUT, .status = KV_STATUS_NOT_FOUND, .index = 1 }, /* put has no such */
        { .op = KV_OP_GET, .status = KV_STATUS_OK, .index = 1 },        /* get ok lacks value */
        { .op = KV_OP_PUT, .status = KV_STATUS_OK, .index = 0 },        /* index 0 */
        { .op = KV_OP_REGISTER, .status = KV_STATUS_OK, .index = 3, .client_id = 2 },
        { .op = KV_OP_GET, .status = KV_STATUS_SESSION_UNKNOWN, .index = 3 }, /* no client */
        { .op = 9, .status = KV_STATUS_OK, .index = 3 },
        { .op = KV_OP_PUT, .status = 42, .index = 3 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len;
        struct kv_error error;
        cr_assert_eq(kv_result_encode(&bad[i], buf, sizeof(buf), &len, &error), -1, "%zu", i);
        cr_assert(error.reason[0] != '\0');
    }
}

/* Invariant: decoding random bytes never crashes, and whatever decodes re-encodes to the same
 * bytes (one encoding per command: replicas agree on what a payload means). */
Test(kv_codec, random_bytes_never_crash)
{
    struct prng prng;
    prng_seed(&prng, 2024);
    uint8_t buf[96];
    uint8_t again[96];
    uint8_t valid[96];
    struct kv_command seed_command = kv_command_cas(3, 4, KVS("kk"), KVS("e"), KVS("vvv"));
    size_t valid_len = encode(&seed_command, valid, sizeof(valid));
    int decoded_count = 0;
    for (int round = 0; round < 200000; round++) {
        size_t len;
        if (round % 2 == 0) {
            len = (size_t)prng_below(&prng, sizeof(buf) + 1);
            for (size_t i = 0; i < len; i++) {
                buf[i] = (uint8_t)prng_next(&prng);
            }
            if (len > 0 && prng_chance(&prng, 0.5)) {
                buf[0] = KV_TAG;
            }
            if (len > 1 && prng_chance(&prng, 0.5)) {
                buf[1] = KV_CODEC_VERSION;
            }
        } else {
            memcpy(buf, valid, valid_len);
            len = valid_len;
            size_t at = (size_t)prng_below(&prng, len);
            buf[at] = (uint8_t)prng_next(&prng);
        }
        struct kv_command command;
        struct kv_error error;
        if (kv_command_decode(buf, len, &command, &error) == 0) {
            decoded_count++;
            size_t again_len;
            cr_assert_eq(kv_command_encode(&command, again, sizeof(again), &again_len, &error), 0);
            cr_assert_eq(again_len, len);
            cr_assert(memcmp(again, buf, len) == 0, "round %d: not canonical", round);
        } else {
            cr_assert(error.code != KV_ERROR_NONE);
            cr_assert(error.reason[0] != '\0');
            cr_assert(strlen(error.reason) < KV_REASON_BYTES_MAX);
        }
        struct kv_result result;
        if (kv_result_decode(buf, len, &result, &error) == 0) {
            size_t again_len;
            cr_assert_eq(kv_result_encode(&result, again, sizeof(again), &again_len, &error), 0);
            cr_assert(again_len == len && memcmp(again, buf, len) == 0);
        }
    }
    cr_assert(decoded_count > 0, "mutations of a valid command sometimes stay valid");
}

/* Invariant: names exist for every op, status and error code, and out-of-range values are safe. */
Test(kv_codec, names)
{
    for (unsigned i = 0; i < KV_OP_COUNT; i++) {
        cr_assert_str_neq(kv_op_name(i), "unknown");
    }
    for (unsigned i = 0; i < KV_STATUS_COUNT; i++) {
        cr_assert_str_neq(kv_status_name(i), "unknown");
    }
    for (unsigned i = 0; i < KV_ERROR_COUNT; i++) {
        cr_assert_str_neq(kv_error_name(i), "unknown");
    }
    cr_assert_str_eq(kv_status_name(KV_STATUS_COUNT), "unknown");
    cr_assert_str_eq(kv_op_name(200), "unknown");
}
