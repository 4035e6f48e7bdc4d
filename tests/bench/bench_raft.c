/* Benchmark: 3- and 5-node Raft clusters with in-memory delivery; prints ratios to baselines. */
#include "core/prng.h"
#include "core/raft.h"
#include "core/raft_codec.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Each cluster: synchronous persistence (PERSISTED right after each update), every message goes
 * through the wire codec into a FIFO and is decoded on delivery, clients keep `window` proposals
 * outstanding at the leader. Reported: committed commands per second (leader commit), raft_step
 * calls per second, CPU time per committed command, and the same per-command cost of two
 * baselines measured in this run: copying the payload once per replica (memcpy), and encoding +
 * decoding the AppendEntries that carry it (the codec alone). Nothing is asserted.
 */

#define NODES_MAX     5
#define COMMANDS      100000u
#define PAYLOAD_BYTES 64u
#define WINDOW        64u
#define QUEUE_BYTES   (64u << 20)

struct frame_queue {
    uint8_t *bytes;
    size_t head; /* read offset */
    size_t tail; /* write offset */
};

struct cluster {
    uint32_t n;
    uint64_t snapshot_every; /* 0: no snapshots, the log holds every command */
    uint64_t snapshot_at[NODES_MAX];
    uint64_t snapshots;
    struct raft_node *nodes[NODES_MAX];
    struct frame_queue queue;
    struct raft_entry *scratch;
    uint64_t steps;
    uint64_t applied[NODES_MAX];
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void queue_push(struct frame_queue *q, const struct raft_message *m)
{
    size_t need = raft_encoded_size(m);
    if (q->tail + need > QUEUE_BYTES) {
        /* Compact: move the unread frames to the front. */
        memmove(q->bytes, q->bytes + q->head, q->tail - q->head);
        q->tail -= q->head;
        q->head = 0;
    }
    assert(q->tail + need <= QUEUE_BYTES);
    size_t written = 0;
    int rc = raft_encode(m, q->bytes + q->tail, QUEUE_BYTES - q->tail, &written);
    assert(rc == RAFT_OK);
    (void)rc;
    q->tail += written;
}

static void cluster_step(struct cluster *c, uint32_t id, const struct raft_event *ev);

/* Handles an update: sends its messages, acknowledges persistence and application. */
static void cluster_process(struct cluster *c, uint32_t id, const struct raft_update *u)
{
    for (size_t i = 0; i < u->message_count; i++) {
        queue_push(&c->queue, &u->messages[i]);
    }
    uint64_t persist_index = 0;
    uint64_t persist_term = 0;
    if (u->entry_count > 0) {
        persist_index = u->entries[u->entry_count - 1].index;
        persist_term = u->entries[u->entry_count - 1].term;
    }
    uint64_t applied = 0;
    if (u->committed_count > 0) {
        applied = u->committed[u->committed_count - 1].index;
        c->applied[id - 1] = applied;
    }
    if (persist_index != 0) {
        struct raft_event ev = { .type = RAFT_EVENT_PERSISTED };
        ev.persisted.index = persist_index;
        ev.persisted.term = persist_term;
        cluster_step(c, id, &ev);
    }
    if (applied != 0) {
        struct raft_event ev = { .type = RAFT_EVENT_APPLIED };
        ev.applied.index = applied;
        cluster_step(c, id, &ev);
    }
    if (applied != 0 && c->snapshot_every != 0 &&
        applied - c->snapshot_at[id - 1] >= c->snapshot_every) {
        /* The state machine's snapshot: 16 bytes stand in for the real state. */
        uint8_t state[16];
        memcpy(state, &applied, sizeof(applied));
        memset(state + 8, 0, 8);
        struct raft_event ev = { .type = RAFT_EVENT_SNAPSHOT };
        ev.snapshot.index = applied;
        ev.snapshot.data = state;
        ev.snapshot.data_len = sizeof(state);
        c->snapshot_at[id - 1] = applied;
        c->snapshots++;
        cluster_step(c, id, &ev);
    }
}

static void cluster_step(struct cluster *c, uint32_t id, const struct raft_event *ev)
{
    struct raft_update u;
    raft_step(c->nodes[id - 1], ev, &u);
    c->steps++;
    cluster_process(c, id, &u);
}

static void cluster_deliver_all(struct cluster *c)
{
    struct frame_queue *q = &c->queue;
    while (q->head < q->tail) {
        size_t len = 0;
        int rc = raft_frame_size(q->bytes + q->head, q->tail - q->head, &len, NULL);
        assert(rc == RAFT_OK);
        struct raft_message m;
        rc = raft_decode(q->bytes + q->head, len, &m, c->scratch, RAFT_APPEND_ENTRIES_MAX, NULL);
        assert(rc == RAFT_OK);
        (void)rc;
        /* Consume first: the step copies what it keeps before anything is pushed (which may
         * compact the queue under the consumed frame). */
        q->head += len;
        if (q->head == q->tail) {
            q->head = q->tail = 0;
        }
        struct raft_event ev = { .type = RAFT_EVENT_RECEIVE };
        ev.receive.message = &m;
        cluster_step(c, m.to, &ev);
    }
}

static void cluster_init(struct cluster *c, uint32_t n, uint64_t snapshot_every)
{
    memset(c, 0, sizeof(*c));
    c->n = n;
    c->snapshot_every = snapshot_every;
    c->queue.bytes = malloc(QUEUE_BYTES);
    c->scratch = malloc(RAFT_APPEND_ENTRIES_MAX * sizeof(*c->scratch));
    assert(c->queue.bytes != NULL && c->scratch != NULL);
    for (uint32_t i = 0; i < n; i++) {
        struct raft_config cfg;
        raft_config_default(&cfg);
        cfg.id = i + 1;
        cfg.voter_count = n;
        for (uint32_t v = 0; v < n; v++) {
            cfg.voter_ids[v] = v + 1;
        }
        cfg.seed = prng_seed_derive_index(42, i + 1);
        /* Without snapshots the log must hold every command; with them, a few intervals. */
        uint64_t held = snapshot_every == 0 ? COMMANDS + 1024 : 4 * snapshot_every;
        cfg.limits.log_entries_max = (uint32_t)held;
        cfg.limits.log_bytes_max = held * PAYLOAD_BYTES;
        cfg.limits.snapshot_bytes_max = 1024;
        cfg.limits.snapshot_trailing_entries = 256;
        cfg.limits.inflight_appends_max = 16;
        cfg.limits.append_entries_max = 64;
        c->nodes[i] = raft_node_create(&cfg);
        assert(c->nodes[i] != NULL);
    }
}

static void cluster_free(struct cluster *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        raft_node_destroy(c->nodes[i]);
    }
    free(c->queue.bytes);
    free(c->scratch);
}

static uint32_t cluster_elect(struct cluster *c)
{
    for (int t = 0; t < 1000; t++) {
        for (uint32_t id = 1; id <= c->n; id++) {
            if (raft_node_role(c->nodes[id - 1]) == RAFT_LEADER) {
                return id;
            }
            struct raft_event ev = { .type = RAFT_EVENT_TICK };
            cluster_step(c, id, &ev);
        }
        cluster_deliver_all(c);
    }
    return 0;
}

struct result {
    double seconds;
    uint64_t committed;
    uint64_t steps;
    uint64_t snapshots;
};

static struct result run_cluster(uint32_t n, uint64_t snapshot_every)
{
    struct cluster c;
    cluster_init(&c, n, snapshot_every);
    uint32_t leader = cluster_elect(&c);
    assert(leader != 0);
    struct raft_node *l = c.nodes[leader - 1];
    uint8_t payload[PAYLOAD_BYTES];
    memset(payload, 'K', sizeof(payload));
    uint64_t start_commit = raft_node_commit_index(l);
    uint64_t start_steps = c.steps;
    uint64_t proposed = 0;
    double t0 = now_seconds();
    uint32_t ticks = 0;
    while (raft_node_commit_index(l) - start_commit < COMMANDS) {
        uint64_t outstanding = raft_node_last_index(l) - raft_node_commit_index(l);
        while (proposed < COMMANDS && outstanding < WINDOW) {
            memcpy(payload, &proposed, sizeof(proposed));
            struct raft_event ev = { .type = RAFT_EVENT_PROPOSE };
            ev.propose.data = payload;
            ev.propose.data_len = sizeof(payload);
            cluster_step(&c, leader, &ev);
            proposed++;
            outstanding++;
        }
        cluster_deliver_all(&c);
        if (++ticks % 64 == 0) { /* heartbeats keep followers' commit moving */
            for (uint32_t id = 1; id <= n; id++) {
                struct raft_event ev = { .type = RAFT_EVENT_TICK };
                cluster_step(&c, id, &ev);
            }
        }
    }
    double t1 = now_seconds();
    struct result r = { t1 - t0, raft_node_commit_index(l) - start_commit, c.steps - start_steps,
                        c.snapshots };
    cluster_free(&c);
    return r;
}

/* Baseline 1: copy each command's payload once per replica, as replication must. */
static double baseline_memcpy(uint32_t n)
{
    static uint8_t src[PAYLOAD_BYTES];
    uint8_t *dst = malloc((size_t)PAYLOAD_BYTES * 4096);
    uint64_t sink = 0;
    double t0 = now_seconds();
    for (uint64_t i = 0; i < COMMANDS; i++) {
        memcpy(src, &i, sizeof(i));
        for (uint32_t r = 0; r < n; r++) {
            memcpy(dst + ((i * n + r) % 4096) * PAYLOAD_BYTES, src, PAYLOAD_BYTES);
        }
        sink += dst[(i % 4096) * PAYLOAD_BYTES];
    }
    double t1 = now_seconds();
    free(dst);
    if (sink == 42) {
        printf(" ");
    }
    return (t1 - t0) / COMMANDS;
}

/* Baseline 2: encode + decode AppendEntries carrying the commands, to n-1 followers. */
static double baseline_codec(uint32_t n)
{
    struct raft_entry entries[WINDOW];
    struct raft_entry decoded[WINDOW];
    static uint8_t payload[PAYLOAD_BYTES];
    for (uint32_t i = 0; i < WINDOW; i++) {
        entries[i] = (struct raft_entry){ i + 1, 1, RAFT_ENTRY_COMMAND, PAYLOAD_BYTES, payload };
    }
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND;
    m.term = 1;
    m.from = 1;
    m.to = 2;
    m.append.entries = entries;
    m.append.entry_count = WINDOW;
    size_t cap = raft_encoded_size(&m);
    uint8_t *buf = malloc(cap);
    double t0 = now_seconds();
    for (uint64_t i = 0; i < COMMANDS / WINDOW; i++) {
        for (uint32_t r = 1; r < n; r++) {
            m.append.prev_index = i * WINDOW;
            size_t len = 0;
            raft_encode(&m, buf, cap, &len);
            struct raft_message out;
            int rc = raft_decode(buf, len, &out, decoded, WINDOW, NULL);
            assert(rc == RAFT_OK);
            (void)rc;
        }
    }
    double t1 = now_seconds();
    free(buf);
    return (t1 - t0) / ((double)(COMMANDS / WINDOW) * WINDOW);
}

int main(void)
{
    printf("bench_raft: %u commands of %u bytes, window %u, synchronous persistence, "
           "codec on every message (CPU time)\n",
           COMMANDS, PAYLOAD_BYTES, WINDOW);
    for (uint32_t n = 3; n <= 5; n += 2) {
        double copy = baseline_memcpy(n);
        double codec = baseline_codec(n);
        struct result r = run_cluster(n, 0);
        double per_commit = r.seconds / (double)r.committed;
        printf("%u nodes: %.0f committed commands/s, %.0f steps/s, %.2f us CPU per commit, "
               "%.1f steps per commit\n",
               n, (double)r.committed / r.seconds, (double)r.steps / r.seconds, per_commit * 1e6,
               (double)r.steps / (double)r.committed);
        printf("         baselines per command: memcpy x%u %.1f ns, codec (AppendEntries to "
               "%u followers) %.1f ns\n",
               n, copy * 1e9, n - 1, codec * 1e9);
        printf("         ratio: a commit costs %.0fx the memcpy baseline, %.1fx the codec "
               "baseline\n",
               per_commit / copy, per_commit / codec);
    }
    struct result r = run_cluster(5, 4096);
    printf("5 nodes, snapshot every 4096 entries (log capped at 16384 entries in memory): "
           "%.0f committed commands/s, %.2f us CPU per commit, %llu snapshots taken\n",
           (double)r.committed / r.seconds, r.seconds / (double)r.committed * 1e6,
           (unsigned long long)r.snapshots);
    return 0;
}
