/* The node's event loop: real time, sockets and a replica, with group commit per iteration. */
#include "node/server.h"

#include "node/server_internal.h"

#include "workflows/kv_codec.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdarg.h>
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

uint64_t server_wall_ms(void)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    assert(rc == 0);
    (void)rc;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void server_log(const struct node_server *s, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

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

void server_reply(struct node_server *s, struct node_client_ref ref, const char *format, ...)
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
void server_reply_value(struct node_server *s, struct node_client_ref ref, const char *word,
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

void server_redirect(struct node_server *s, struct node_client_ref ref)
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

void server_reply_lines(struct node_server *s, struct node_client_ref ref, const char *text,
                        size_t len)
{
    struct node_buf *out = node_clients_out(&s->clients, ref);
    if (out == NULL) {
        return;
    }
    if (node_buf_append(out, "BEGIN\n", 6) != 0 || node_buf_append(out, text, len) != 0 ||
        (len > 0 && text[len - 1] != '\n' && node_buf_append(out, "\n", 1) != 0) ||
        node_buf_append(out, "END\n", 4) != 0) {
        return; /* queue full: the client is not reading */
    }
}

/* ---- pending proposals ---- */

struct node_pending *server_pending_take(struct node_server *s, uint64_t index, uint64_t term)
{
    assert(s != NULL);
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
        struct node_pending *p = &s->pending[i];
        if (p->used && p->index == index && p->term == term) {
            p->used = 0;
            return p;
        }
    }
    return NULL;
}

/* Answers the client proposals at `index` that another leader's entry replaced (Raft §8: ours
 * was lost, never applied), and the KV ones that this entry answers. */
static void server_pending_applied(struct node_server *s, const struct raft_entry *entry,
                                   const struct kv_applied *kv)
{
    for (size_t i = 0; i < NODE_PENDING_MAX; i++) {
        struct node_pending *p = &s->pending[i];
        if (p->used && p->index == entry->index && p->term != entry->term) {
            p->used = 0;
            server_reply(s, p->client,
                         "ERR lost: leadership changed before the command committed; it had no "
                         "effect, retry");
        }
    }
    struct node_pending *p = server_pending_take(s, entry->index, entry->term);
    if (p == NULL) {
        return;
    }
    if (kv != NULL && p->kind == NODE_PENDING_KV) {
        node_kv_reply(s, p->client, &kv->result);
    } else {
        server_reply(s, p->client, "ERR internal: the entry applied is not the one proposed");
    }
}

int server_propose(struct node_server *s, struct node_client_ref ref, enum node_pending_kind kind,
                   const uint8_t *payload, size_t len)
{
    assert(s != NULL);
    assert(payload != NULL);
    if (!server_is_leader(s)) {
        server_redirect(s, ref);
        return -1;
    }
    struct node_pending *p = NULL;
    for (size_t i = 0; i < NODE_PENDING_MAX && p == NULL; i++) {
        p = s->pending[i].used ? NULL : &s->pending[i];
    }
    if (p == NULL) {
        server_reply(s, ref, "ERR busy: %u requests in flight, retry", NODE_PENDING_MAX);
        return -1;
    }
    uint64_t index = 0;
    uint64_t term = 0;
    int rc = replica_propose(s->replica, payload, len, &index, &term);
    if (rc == RAFT_ERR_NOT_LEADER) {
        server_redirect(s, ref);
        return -1;
    }
    if (rc != RAFT_OK) {
        server_reply(s, ref, "ERR %s",
                     rc == REPLICA_EFAILED ? "storage failed, retry" : raft_strerror(rc));
        return -1;
    }
    *p = (struct node_pending){ .used = 1,
                                .kind = kind,
                                .client = ref,
                                .index = index,
                                .term = term,
                                .deadline_ms = s->now_ms + NODE_PENDING_TIMEOUT_MS };
    return 0;
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
    node_wf_on_update(s, update);
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
    node_wf_on_applied(ctx, entry);
}

static void server_on_workflow_applied(void *ctx, const struct raft_entry *entry,
                                       const struct wf_result *result)
{
    node_wf_on_workflow_applied(ctx, entry, result);
}

static void server_on_restored(void *ctx, const struct raft_snapshot *snapshot)
{
    struct node_server *s = ctx;
    (void)snapshot;
    node_wf_reset(&s->wf);
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
    rc.machines.workflows_max = s->config.workflows_max;
    struct replica_ops ops = {
        .send = server_on_send,
        .sync_needed = server_on_sync_needed,
        .update = server_on_update,
        .applied = server_on_applied,
        .workflow_applied = server_on_workflow_applied,
        .restored = server_on_restored,
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

int server_is_leader(const struct node_server *s)
{
    return s->replica != NULL && raft_node_role(replica_raft(s->replica)) == RAFT_LEADER;
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
    "commands (one per line; strings may be \"quoted\" with \\\\ \\\" \\n \\t \\xHH):\n"
    "  PUT key value | GET key | DEL key | CAS key expected new | CASNEW key value\n"
    "  REGISTER                  open a KV session: OK <client-id>\n"
    "  AS client seq COMMAND     run a KV command in a session (a retry with the same seq is\n"
    "                            answered from the first result, never applied twice)\n"
    "  SUBMIT {json}             submit a workflow definition (on one line)\n"
    "  PAUSE id | RESUME id | CANCEL id\n"
    "  SHOW id                   a workflow's history, attempt by attempt\n"
    "  LIST                      every workflow and its state\n"
    "  WORKER id                 this connection becomes worker <id>: TASK lines arrive on it;\n"
    "                            answer DONE wf task attempt [output] | FAIL wf task attempt\n"
    "                            kind | EXTEND wf task attempt\n"
    "  STATUS | HELP | QUIT\n";

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
        server_reply_lines(s, ref, server_help, sizeof(server_help) - 1);
    } else if (strcmp(r->command, "STATUS") == 0) {
        server_status(s, ref);
    } else if (strcmp(r->command, "QUIT") == 0) {
        struct node_client *c = node_clients_get(&s->clients, ref);
        server_reply(s, ref, "OK bye");
        c->closing = 1;
    } else if (!node_kv_request(s, ref, r) && !node_wf_request(s, ref, r)) {
        server_reply(s, ref, "ERR unknown command %s (see HELP)", r->command);
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
    node_wf_on_close(arg, ref); /* a worker that goes away is no longer given work */
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
    if (node_wf_init(&s->wf) != 0) {
        snprintf(error, error_len, "out of memory");
        goto out_free;
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
    node_wf_free(&s->wf);
    free(s->request);
    s->request = NULL;
    return -1;
}

/* After a storage failure: drop the replica (never writing) and recover it from disk. */
static int server_reopen(struct node_server *s)
{
    server_pending_expire(s, 1, "storage failed on this node");
    node_wf_reset(&s->wf);
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
        node_wf_tick(s);
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
    node_wf_free(&s->wf);
    free(s->request);
    s->request = NULL;
}
