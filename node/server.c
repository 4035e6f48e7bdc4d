/* The node's event loop: real time, sockets and a replica, with group commit per iteration. */
#include "node/server.h"

#include "workflows/kv_codec.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NODE_POLLFDS_MAX (NODE_PEERS_POLLFDS_MAX + NODE_CLIENTS_POLLFDS_MAX)

static uint64_t server_clock_ms(void)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    assert(rc == 0);
    (void)rc;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void server_log(const struct node_server *s, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void server_log(const struct node_server *s, const char *format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof(line), format, args);
    va_end(args);
    fprintf(stderr, "flowraft-node %" PRIu32 ": %s\n", s->config.id, line);
}

/* ---- replies ---- */

static void server_reply(struct node_server *s, struct node_client_ref ref, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void server_reply(struct node_server *s, struct node_client_ref ref, const char *format, ...)
{
    struct node_buf *out = node_clients_out(&s->clients, ref);
    if (out == NULL) {
        return; /* the client went away */
    }
    char line[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof(line), format, args);
    va_end(args);
    (void)node_proto_printf(out, "%s", line);
}

/* "<word> <quoted value>\n", or "<word>\n" when there is no value. */
static void server_reply_value(struct node_server *s, struct node_client_ref ref, const char *word,
                               const uint8_t *value, size_t len, int has_value)
{
    struct node_buf *out = node_clients_out(&s->clients, ref);
    if (out == NULL) {
        return;
    }
    if (!has_value) {
        (void)node_proto_printf(out, "%s", word);
        return;
    }
    if (node_buf_append(out, word, strlen(word)) != 0 || node_buf_append(out, " ", 1) != 0 ||
        node_proto_quote(out, value, len) != 0 || node_buf_append(out, "\n", 1) != 0) {
        return; /* queue full: the client is not reading; it will time out */
    }
}

static void server_redirect(struct node_server *s, struct node_client_ref ref)
{
    uint32_t leader = s->replica != NULL ? replica_leader(s->replica) : 0;
    const struct node_config_member *m = node_config_member(&s->config, leader);
    if (leader == 0 || m == NULL) {
        server_reply(s, ref, "ERR no leader known yet: retry shortly");
        return;
    }
    server_reply(s, ref, "REDIRECT %" PRIu32 " %s:%u", leader, m->client.host,
                 (unsigned)m->client.port);
}

static void server_reply_kv(struct node_server *s, struct node_client_ref ref,
                            const struct kv_result *r)
{
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

/* ---- pending proposals ---- */

static struct node_pending *server_pending_add(struct node_server *s)
{
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
        if (!s->pending[i].used) {
            return &s->pending[i];
        }
    }
    return NULL;
}

/* Answers every pending proposal at `index` (normally one). */
static void server_pending_applied(struct node_server *s, const struct raft_entry *entry,
                                   const struct kv_applied *kv)
{
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
        struct node_pending *p = &s->pending[i];
        if (!p->used || p->index != entry->index) {
            continue;
        }
        p->used = 0;
        if (p->term != entry->term) {
            /* §8: another leader's entry took this index; ours was lost, never applied */
            server_reply(s, p->client,
                         "ERR lost: leadership changed before the command "
                         "committed; it had no effect, retry");
        } else if (kv == NULL) {
            server_reply(s, p->client, "ERR internal: applied entry has no KV result");
        } else {
            server_reply_kv(s, p->client, &kv->result);
        }
    }
}

static void server_pending_expire(struct node_server *s, int all, const char *why)
{
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
        struct node_pending *p = &s->pending[i];
        if (p->used && (all || s->now_ms >= p->deadline_ms)) {
            p->used = 0;
            server_reply(s, p->client, "ERR %s: the outcome is unknown", why);
        }
    }
}

/* ---- replica callbacks ---- */

static void server_on_send(void *ctx, const struct replica_sent *sent, const uint8_t *bytes,
                           size_t len)
{
    struct node_server *s = ctx;
    node_peers_send(&s->peers, sent->to, bytes, len, s->now_ms);
}

static void server_on_sync_needed(void *ctx)
{
    (void)ctx; /* the loop syncs at the end of every iteration that staged anything */
}

static void server_on_update(void *ctx, const struct raft_update *update)
{
    struct node_server *s = ctx;
    if (update->role != s->role || update->term != s->term) {
        server_log(s, "%s in term %" PRIu64 " (leader %" PRIu32 ")", raft_role_name(update->role),
                   update->term, update->leader_id);
        s->role = update->role;
        s->term = update->term;
    }
}

static void server_on_applied(void *ctx, const struct raft_entry *entry,
                              const struct kv_applied *kv)
{
    server_pending_applied(ctx, entry, kv);
}

/* ---- opening and reopening the replica ---- */

/* A seed for the node's election-timeout PRNG: different per process, which is what real
 * servers want (the simulator seeds deterministically instead). */
static uint64_t server_seed(uint32_t id)
{
    uint64_t seed = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, &seed, sizeof(seed)) != (ssize_t)sizeof(seed)) {
            seed = 0;
        }
        close(fd);
    }
    return seed ^ server_clock_ms() ^ ((uint64_t)id << 32) ^ (uint64_t)getpid();
}

static int server_open_replica(struct node_server *s, char *error, size_t error_len)
{
    struct replica_config rc;
    replica_config_default(&rc);
    rc.raft.id = s->config.id;
    for (uint32_t i = 0; i < s->config.member_count; i++) {
        rc.raft.voter_ids[rc.raft.voter_count++] = s->config.members[i].id;
    }
    rc.raft.election_timeout_ticks_min = s->config.election_timeout_ticks_min;
    rc.raft.election_timeout_ticks_max = s->config.election_timeout_ticks_max;
    rc.raft.heartbeat_interval_ticks = s->config.heartbeat_ticks;
    rc.raft.seed = server_seed(s->config.id);
    rc.fs = &s->fs;
    snprintf(rc.dir, sizeof(rc.dir), "%s", s->config.data_dir);
    rc.snapshot_every_entries = 4096;
    struct replica_ops ops = {
        .send = server_on_send,
        .sync_needed = server_on_sync_needed,
        .update = server_on_update,
        .applied = server_on_applied,
        .ctx = s,
    };
    struct replica_error err;
    if (replica_open(&rc, &ops, &s->replica, &err) != REPLICA_OK) {
        snprintf(error, error_len, "%s: %s", s->config.data_dir, err.message);
        return -1;
    }
    return 0;
}

/* ---- requests ---- */

static int server_is_leader(const struct node_server *s)
{
    return s->replica != NULL && raft_node_role(replica_raft(s->replica)) == RAFT_LEADER;
}

/* Proposes an encoded KV command for client `ref`; its reply comes when it is applied. */
static void server_propose_kv(struct node_server *s, struct node_client_ref ref,
                              const struct kv_command *command)
{
    if (!server_is_leader(s)) {
        server_redirect(s, ref);
        return;
    }
    static uint8_t payload[KV_COMMAND_BYTES_MAX];
    size_t len = 0;
    struct kv_error kerr;
    if (kv_command_encode(command, payload, sizeof(payload), &len, &kerr) != 0) {
        server_reply(s, ref, "ERR %s", kerr.reason);
        return;
    }
    struct node_pending *p = server_pending_add(s);
    if (p == NULL) {
        server_reply(s, ref, "ERR busy: %u requests in flight, retry", NODE_PENDING_MAX);
        return;
    }
    uint64_t index = 0;
    uint64_t term = 0;
    int rc = replica_propose(s->replica, payload, len, &index, &term);
    if (rc == RAFT_ERR_NOT_LEADER) {
        server_redirect(s, ref);
        return;
    }
    if (rc != RAFT_OK) {
        server_reply(s, ref, "ERR %s",
                     rc == REPLICA_EFAILED ? "storage failed, retry" : raft_strerror(rc));
        return;
    }
    *p = (struct node_pending){ .used = 1,
                                .client = ref,
                                .index = index,
                                .term = term,
                                .deadline_ms = s->now_ms + NODE_PENDING_TIMEOUT_MS };
}

/* Parses "AS client seq" before a command: the session the command runs in. */
static int server_session(const struct node_proto_request *r, uint32_t *first, uint64_t *client,
                          uint64_t *seq)
{
    *first = 0;
    *client = 0;
    *seq = 0;
    if (strcmp(r->command, "AS") != 0) {
        return 0;
    }
    if (r->token_count < 3) {
        return -1;
    }
    char text[2][24];
    for (int i = 0; i < 2; i++) {
        if (r->token_lens[i] == 0 || r->token_lens[i] >= sizeof(text[i])) {
            return -1;
        }
        memcpy(text[i], r->tokens[i], r->token_lens[i]);
        text[i][r->token_lens[i]] = '\0';
    }
    char *end0 = NULL;
    char *end1 = NULL;
    *client = strtoull(text[0], &end0, 10);
    *seq = strtoull(text[1], &end1, 10);
    if (*end0 != '\0' || *end1 != '\0' || *client == 0 || *seq == 0) {
        return -1;
    }
    *first = 2;
    return 0;
}

/* Builds the KV command `verb` (upper-case) with arguments args[0..n). 0, or -1 with *why. */
static int server_kv_command(const char *verb, const uint8_t *const *args, const uint32_t *lens,
                             uint32_t n, uint64_t client, uint64_t seq, struct kv_command *out,
                             const char **why)
{
    if (strcmp(verb, "PUT") == 0 && n == 2) {
        *out = kv_command_put(client, seq, args[0], lens[0], args[1], lens[1]);
    } else if (strcmp(verb, "GET") == 0 && n == 1) {
        *out = kv_command_get(client, seq, args[0], lens[0]);
    } else if (strcmp(verb, "DEL") == 0 && n == 1) {
        *out = kv_command_delete(client, seq, args[0], lens[0]);
    } else if (strcmp(verb, "CAS") == 0 && n == 3) {
        *out = kv_command_cas(client, seq, args[0], lens[0], args[1], lens[1], args[2], lens[2]);
    } else if (strcmp(verb, "CASNEW") == 0 && n == 2) {
        *out = kv_command_cas_absent(client, seq, args[0], lens[0], args[1], lens[1]);
    } else {
        *why = "expected PUT key value | GET key | DEL key | CAS key expected new | "
               "CASNEW key value (see HELP)";
        return -1;
    }
    return 0;
}

/* The verb of an AS request (its third token), upper-cased into `verb`. 0 or -1. */
static int server_session_verb(const struct node_proto_request *r, char *verb, size_t cap)
{
    if (r->token_count < 3 || r->token_lens[2] == 0 || r->token_lens[2] >= cap) {
        return -1;
    }
    for (uint32_t k = 0; k < r->token_lens[2]; k++) {
        char c = (char)r->tokens[2][k];
        verb[k] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    verb[r->token_lens[2]] = '\0';
    return 0;
}

static void server_status(struct node_server *s, struct node_client_ref ref)
{
    struct raft_node *raft = replica_raft(s->replica);
    server_reply(s, ref,
                 "OK id=%" PRIu32 " role=%s term=%" PRIu64 " leader=%" PRIu32 " commit=%" PRIu64
                 " applied=%" PRIu64 " last=%" PRIu64 " snapshot=%" PRIu64 " frames_sent=%" PRIu64
                 " frames_received=%" PRIu64 " frames_dropped=%" PRIu64,
                 s->config.id, raft_role_name(raft_node_role(raft)), raft_node_term(raft),
                 raft_node_leader(raft), raft_node_commit_index(raft),
                 replica_applied_index(s->replica), raft_node_last_index(raft),
                 raft_node_snapshot_index(raft), s->peers.frames_sent, s->peers.frames_received,
                 s->peers.frames_dropped);
}

static const char server_help[] =
    "BEGIN\n"
    "commands (one per line; strings may be \"quoted\" with \\\\ \\\" \\n \\t \\xHH):\n"
    "  PUT key value | GET key | DEL key | CAS key expected new | CASNEW key value\n"
    "  REGISTER                  open a session: OK <client-id>\n"
    "  AS client seq COMMAND     run a KV command in a session (a retry with the same seq is\n"
    "                            answered from the first result, never applied twice)\n"
    "  STATUS | HELP | QUIT\n"
    "END";

static void server_on_line(void *arg, struct node_client_ref ref, const char *line, size_t len)
{
    struct node_server *s = arg;
    struct node_proto_request *r = s->request;
    char error[256];
    if (len == 0) {
        return;
    }
    if (node_proto_parse(line, len, r, error, sizeof(error)) != 0) {
        server_reply(s, ref, "ERR %s", error);
        return;
    }
    if (strcmp(r->command, "HELP") == 0) {
        server_reply(s, ref, "%s", server_help);
    } else if (strcmp(r->command, "STATUS") == 0) {
        server_status(s, ref);
    } else if (strcmp(r->command, "QUIT") == 0) {
        struct node_client *c = node_clients_get(&s->clients, ref);
        server_reply(s, ref, "OK bye");
        c->closing = 1;
    } else if (strcmp(r->command, "REGISTER") == 0) {
        struct kv_command command = kv_command_register();
        server_propose_kv(s, ref, &command);
    } else {
        uint32_t first = 0;
        uint64_t client = 0;
        uint64_t seq = 0;
        struct kv_command command;
        const char *why = NULL;
        char verb[sizeof(r->command)];
        if (server_session(r, &first, &client, &seq) != 0 ||
            (first > 0 && server_session_verb(r, verb, sizeof(verb)) != 0)) {
            server_reply(s, ref, "ERR AS needs a client id, a sequence number >= 1 and a command");
            return;
        }
        if (first == 0) {
            memcpy(verb, r->command, sizeof(verb));
        } else {
            first++; /* the verb itself */
        }
        if (server_kv_command(verb, r->tokens + first, r->token_lens + first,
                              r->token_count - first, client, seq, &command, &why) != 0) {
            server_reply(s, ref, "ERR %s", why);
            return;
        }
        server_propose_kv(s, ref, &command);
    }
}

/* ---- the loop ---- */

static void server_on_frame(void *arg, const uint8_t *frame, size_t len)
{
    struct node_server *s = arg;
    if (s->replica == NULL) {
        return;
    }
    struct replica_error err;
    int rc = replica_receive(s->replica, frame, len, &err);
    if (rc == REPLICA_EDECODE) {
        server_log(s, "dropped an invalid frame from a peer: %s", err.message);
    }
}

static void server_on_close(void *arg, struct node_client_ref ref)
{
    (void)arg;
    (void)ref; /* replies to a closed connection are dropped by node_clients_out */
}

int node_server_open(struct node_server *s, const struct node_config *config,
                     volatile sig_atomic_t *stop, char *error, size_t error_len)
{
    assert(s != NULL);
    assert(config != NULL);
    memset(s, 0, sizeof(*s));
    s->config = *config;
    s->stop = stop;
    s->now_ms = server_clock_ms();
    s->request = malloc(sizeof(*s->request));
    if (s->request == NULL) {
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    fs_posix_init(&s->fs);
    if (fs_mkdir_parents(&s->fs, config->data_dir) != FS_OK) {
        snprintf(error, error_len, "%s: cannot create: %s", s->fs.error.path,
                 strerror(s->fs.error.sys_errno));
        goto out_free;
    }
    if (server_open_replica(s, error, error_len) != 0) {
        goto out_free;
    }
    struct node_peer peers[NODE_PEERS_MAX];
    size_t peer_count = 0;
    for (uint32_t i = 0; i < config->member_count; i++) {
        if (config->members[i].id != config->id) {
            peers[peer_count].id = config->members[i].id;
            peers[peer_count].addr = config->members[i].peer;
            peer_count++;
        }
    }
    const struct node_config_member *self = node_config_member(config, config->id);
    if (node_peers_init(&s->peers, config->id, &self->peer, peers, peer_count, server_on_frame, s,
                        error, error_len) != 0) {
        goto out_replica;
    }
    if (node_clients_init(&s->clients, &self->client, server_on_line, server_on_close, s, error,
                          error_len) != 0) {
        goto out_peers;
    }
    s->next_tick_ms = s->now_ms + config->tick_ms;
    server_log(s, "serving peers on %s:%u and clients on %s:%u, data in %s", self->peer.host,
               (unsigned)self->peer.port, self->client.host, (unsigned)self->client.port,
               config->data_dir);
    return 0;

out_peers:
    node_peers_close(&s->peers);
out_replica:
    replica_close(s->replica);
    s->replica = NULL;
out_free:
    free(s->request);
    s->request = NULL;
    return -1;
}

/* After a storage failure: drop the replica (never writing) and recover it from disk. */
static int server_reopen(struct node_server *s)
{
    server_pending_expire(s, 1, "storage failed on this node");
    replica_close(s->replica);
    s->replica = NULL;
    char error[512];
    if (s->reopens >= 1 || server_open_replica(s, error, sizeof(error)) != 0) {
        server_log(s, "storage failed again; stopping%s%s", s->reopens >= 1 ? "" : ": ",
                   s->reopens >= 1 ? "" : error);
        return -1;
    }
    s->reopens++;
    server_log(s, "storage failed; reopened from disk");
    return 0;
}

/* One iteration: wait for sockets or the next tick, then step, sync, reply. 0 or -1. */
static int server_iterate(struct node_server *s)
{
    static struct pollfd fds[NODE_POLLFDS_MAX];
    s->now_ms = server_clock_ms();
    size_t n = node_peers_pollfds(&s->peers, fds, NODE_PEERS_POLLFDS_MAX, s->now_ms);
    size_t m = node_clients_pollfds(&s->clients, fds + n, NODE_CLIENTS_POLLFDS_MAX);
    int timeout = s->next_tick_ms > s->now_ms ? (int)(s->next_tick_ms - s->now_ms) : 0;
    if (poll(fds, n + m, timeout) < 0 && errno != EINTR) {
        server_log(s, "poll: %s", strerror(errno));
        return -1;
    }
    s->now_ms = server_clock_ms();
    node_peers_dispatch(&s->peers, s->now_ms);
    node_clients_dispatch(&s->clients);
    for (uint32_t ticks = 0; ticks < 100 && s->now_ms >= s->next_tick_ms; ticks++) {
        (void)replica_tick(s->replica);
        s->next_tick_ms += s->config.tick_ms;
    }
    if (s->now_ms >= s->next_tick_ms) {
        s->next_tick_ms = s->now_ms + s->config.tick_ms; /* far behind: skip, do not burst */
    }
    if (replica_sync_pending(s->replica)) {
        struct replica_error err;
        if (replica_sync(s->replica, &err) != REPLICA_OK) {
            server_log(s, "storage: %s", err.message);
        }
    }
    if (replica_failed(s->replica) && server_reopen(s) != 0) {
        return -1;
    }
    server_pending_expire(s, 0, "timeout");
    node_clients_flush(&s->clients);
    return 0;
}

int node_server_run(struct node_server *s)
{
    assert(s != NULL);
    assert(s->replica != NULL);
    while (!*s->stop) {
        if (server_iterate(s) != 0) {
            return -1;
        }
    }
    server_log(s, "stopping");
    return 0;
}

void node_server_close(struct node_server *s)
{
    assert(s != NULL);
    server_pending_expire(s, 1, "node stopping");
    node_clients_flush(&s->clients);
    node_clients_close(&s->clients);
    node_peers_close(&s->peers);
    replica_close(s->replica);
    s->replica = NULL;
    free(s->request);
    s->request = NULL;
}
