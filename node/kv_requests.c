/* The node's KV requests: PUT, GET, DEL, CAS, CASNEW, REGISTER and AS-sessions, as proposals. */
#include "node/server_internal.h"

#include "workflows/kv_codec.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void node_kv_reply(struct node_server *s, struct node_client_ref ref, const struct kv_result *r)
{
    assert(s != NULL);
    assert(r != NULL);
    switch (r->status) {
    case KV_STATUS_OK:
        if (r->op == KV_OP_REGISTER) {
            server_reply(s, ref, "OK %" PRIu64, r->client_id);
        } else {
            server_reply_value(s, ref, "OK", r->value, r->value_len, r->has_value);
        }
        return;
    case KV_STATUS_NOT_FOUND:
        server_reply(s, ref, "NOT_FOUND");
        return;
    case KV_STATUS_CAS_MISMATCH:
        server_reply_value(s, ref, "MISMATCH", r->value, r->value_len, r->has_value);
        return;
    case KV_STATUS_SESSION_UNKNOWN:
    case KV_STATUS_SESSION_STALE:
        server_reply(s, ref, "ERR %s: this attempt had no effect; an earlier one may have",
                     kv_status_name(r->status));
        return;
    default:
        server_reply(s, ref, "ERR %s", kv_status_name(r->status));
        return;
    }
}

/* Encodes and proposes a KV command for client `ref`; its reply comes when it is applied. */
static void kv_propose(struct node_server *s, struct node_client_ref ref,
                       const struct kv_command *command)
{
    static uint8_t payload[KV_COMMAND_BYTES_MAX];
    size_t len = 0;
    struct kv_error kerr;
    if (kv_command_encode(command, payload, sizeof(payload), &len, &kerr) != 0) {
        server_reply(s, ref, "ERR %s", kerr.reason);
        return;
    }
    (void)server_propose(s, ref, NODE_PENDING_KV, payload, len);
}

/* Parses the "AS client seq" prefix: 0 with *args_at = 3 (or 0 and *args_at = 0 without one),
 * -1 if malformed. */
static int kv_session(const struct node_proto_request *r, uint32_t *args_at, uint64_t *client,
                      uint64_t *seq)
{
    *args_at = 0;
    *client = 0;
    *seq = 0;
    if (strcmp(r->command, "AS") != 0) {
        return 0;
    }
    if (r->token_count < 3) {
        return -1;
    }
    uint64_t values[2];
    for (int i = 0; i < 2; i++) {
        char text[24];
        if (r->token_lens[i] == 0 || r->token_lens[i] >= sizeof(text)) {
            return -1;
        }
        memcpy(text, r->tokens[i], r->token_lens[i]);
        text[r->token_lens[i]] = '\0';
        char *end = NULL;
        values[i] = strtoull(text, &end, 10);
        if (*end != '\0' || values[i] == 0) {
            return -1;
        }
    }
    *client = values[0];
    *seq = values[1];
    *args_at = 3;
    return 0;
}

/* The verb of an AS request (its third token), upper-cased into `verb`. 0 or -1. */
static int kv_session_verb(const struct node_proto_request *r, char *verb, size_t cap)
{
    if (r->token_lens[2] == 0 || r->token_lens[2] >= cap) {
        return -1;
    }
    for (uint32_t k = 0; k < r->token_lens[2]; k++) {
        char c = (char)r->tokens[2][k];
        verb[k] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    verb[r->token_lens[2]] = '\0';
    return 0;
}

/* Builds the KV command `verb` with arguments args[0..n). 1 if built, 0 if `verb` is not a KV
 * verb, -1 if its arguments are wrong (with *why). */
static int kv_command_of(const char *verb, const uint8_t *const *args, const uint32_t *lens,
                         uint32_t n, uint64_t client, uint64_t seq, struct kv_command *out,
                         const char **why)
{
    static const struct {
        const char *verb;
        uint32_t args;
        const char *usage;
    } verbs[] = {
        { "PUT", 2, "PUT key value" },
        { "GET", 1, "GET key" },
        { "DEL", 1, "DEL key" },
        { "CAS", 3, "CAS key expected new" },
        { "CASNEW", 2, "CASNEW key value" },
    };
    for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
        if (strcmp(verb, verbs[v].verb) != 0) {
            continue;
        }
        if (n != verbs[v].args) {
            *why = verbs[v].usage;
            return -1;
        }
        switch (v) {
        case 0:
            *out = kv_command_put(client, seq, args[0], lens[0], args[1], lens[1]);
            break;
        case 1:
            *out = kv_command_get(client, seq, args[0], lens[0]);
            break;
        case 2:
            *out = kv_command_delete(client, seq, args[0], lens[0]);
            break;
        case 3:
            *out =
                kv_command_cas(client, seq, args[0], lens[0], args[1], lens[1], args[2], lens[2]);
            break;
        default:
            *out = kv_command_cas_absent(client, seq, args[0], lens[0], args[1], lens[1]);
            break;
        }
        return 1;
    }
    return 0;
}

int node_kv_request(struct node_server *s, struct node_client_ref ref, struct node_proto_request *r)
{
    assert(s != NULL);
    assert(r != NULL);
    if (strcmp(r->command, "REGISTER") == 0) {
        struct kv_command command = kv_command_register();
        kv_propose(s, ref, &command);
        return 1;
    }
    uint32_t args_at = 0;
    uint64_t client = 0;
    uint64_t seq = 0;
    char verb[sizeof(r->command)];
    if (kv_session(r, &args_at, &client, &seq) != 0 ||
        (args_at > 0 && kv_session_verb(r, verb, sizeof(verb)) != 0)) {
        server_reply(s, ref, "ERR AS needs a client id, a sequence number >= 1 and a command");
        return 1;
    }
    if (args_at == 0) {
        memcpy(verb, r->command, sizeof(verb));
    }
    struct kv_command command;
    const char *why = NULL;
    int rc = kv_command_of(verb, r->tokens + args_at, r->token_lens + args_at,
                           r->token_count - args_at, client, seq, &command, &why);
    if (rc == 0 && args_at == 0) {
        return 0; /* not a KV request */
    }
    if (rc <= 0) {
        server_reply(s, ref, "ERR usage: %s", why != NULL ? why : "AS client seq KV-COMMAND");
        return 1;
    }
    kv_propose(s, ref, &command);
    return 1;
}
