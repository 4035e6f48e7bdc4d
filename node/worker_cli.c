/* A worker: connects to the leader, runs assigned tasks (noop, sleep, fail, exec), reports back. */
#include "node/worker_cli.h"

#include "node/conn.h"
#include "node/proto.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define WORKER_ARGV_MAX 32u

/* One TASK line, decoded. */
struct worker_task {
    char workflow[80];
    unsigned task_index;
    uint32_t attempt;
    char task_id[80];
    char key[160];
    char kind[48];
    uint64_t lease_timeout_ms;
    char params[1024];
};

struct worker {
    uint32_t id;
    struct node_addr addrs[NODE_WORKER_ADDRS_MAX];
    uint32_t addr_count;
    uint32_t next_addr;
    struct node_conn conn;
    char line[NODE_PROTO_LINE_BYTES_MAX];
    struct node_proto_request *request;
};

static uint64_t worker_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Connects to some node and registers; follows REDIRECTs. 0 when registered with a leader. */
static int worker_connect(struct worker *w)
{
    struct node_addr addr = w->addrs[w->next_addr++ % w->addr_count];
    for (uint32_t hops = 0; hops < 8; hops++) {
        char error[NODE_ERROR_BYTES_MAX];
        if (node_conn_open(&w->conn, &addr, NODE_WORKER_REPLY_MS, error, sizeof(error)) != 0) {
            return -1;
        }
        char hello[32];
        int n = snprintf(hello, sizeof(hello), "WORKER %" PRIu32 "\n", w->id);
        if (node_conn_send(&w->conn, hello, (size_t)n, NODE_WORKER_REPLY_MS) != 0 ||
            node_conn_read_line(&w->conn, w->line, sizeof(w->line), NODE_WORKER_REPLY_MS) != 0) {
            node_conn_close(&w->conn);
            return -1;
        }
        if (strncmp(w->line, "OK", 2) == 0) {
            fprintf(stderr, "flowraft-node worker %" PRIu32 ": registered with %s:%u\n", w->id,
                    addr.host, (unsigned)addr.port);
            return 0;
        }
        node_conn_close(&w->conn);
        const char *space = strncmp(w->line, "REDIRECT ", 9) == 0 ? strchr(w->line + 9, ' ') : NULL;
        if (space == NULL || node_addr_parse(space + 1, &addr, error, sizeof(error)) != 0) {
            return -1; /* no leader yet: try again later */
        }
    }
    return -1;
}

/* Sends a report line and waits for its answer (TASKs arrive only when the worker is idle, so the
 * next line is the answer). If the leader went away, finds the next one and resends: a running
 * attempt survives a failover (the new leader's grace period waits for it), and fencing makes a
 * resend harmless. 0 when answered, -1 when no leader answered in NODE_WORKER_REPORT_TRIES. */
static int worker_report(struct worker *w, const char *report, size_t len)
{
    for (uint32_t tries = 0; tries < NODE_WORKER_REPORT_TRIES; tries++) {
        if (w->conn.fd < 0 && worker_connect(w) != 0) {
            struct timespec pause = { .tv_sec = 0, .tv_nsec = NODE_WORKER_RETRY_MS * 1000000L };
            nanosleep(&pause, NULL);
            continue;
        }
        if (node_conn_send(&w->conn, report, len, NODE_WORKER_REPLY_MS) != 0 ||
            node_conn_read_line(&w->conn, w->line, sizeof(w->line), NODE_WORKER_REPLY_MS) != 0 ||
            strncmp(w->line, "REDIRECT ", 9) == 0) {
            node_conn_close(&w->conn);
            continue;
        }
        if (strncmp(w->line, "OK", 2) != 0) {
            fprintf(stderr, "flowraft-node worker %" PRIu32 ": report refused: %s\n", w->id,
                    w->line);
        }
        return 0;
    }
    return -1;
}

static int worker_token(const struct node_proto_request *r, uint32_t i, char *out, size_t cap)
{
    if (i >= r->token_count || r->token_lens[i] >= cap) {
        return -1;
    }
    memcpy(out, r->tokens[i], r->token_lens[i]);
    out[r->token_lens[i]] = '\0';
    return 0;
}

/* Parses "TASK wf task attempt task-id key kind lease-ms params". 0 or -1. */
static int worker_parse_task(struct worker *w, const char *line, struct worker_task *t)
{
    char error[256];
    struct node_proto_request *r = w->request;
    char numbers[3][24];
    if (node_proto_parse(line, strlen(line), r, error, sizeof(error)) != 0 ||
        strcmp(r->command, "TASK") != 0 || r->token_count != 8 ||
        worker_token(r, 0, t->workflow, sizeof(t->workflow)) != 0 ||
        worker_token(r, 1, numbers[0], sizeof(numbers[0])) != 0 ||
        worker_token(r, 2, numbers[1], sizeof(numbers[1])) != 0 ||
        worker_token(r, 3, t->task_id, sizeof(t->task_id)) != 0 ||
        worker_token(r, 4, t->key, sizeof(t->key)) != 0 ||
        worker_token(r, 5, t->kind, sizeof(t->kind)) != 0 ||
        worker_token(r, 6, numbers[2], sizeof(numbers[2])) != 0 ||
        worker_token(r, 7, t->params, sizeof(t->params)) != 0) {
        return -1;
    }
    t->task_index = (unsigned)strtoul(numbers[0], NULL, 10);
    t->attempt = (uint32_t)strtoul(numbers[1], NULL, 10);
    t->lease_timeout_ms = strtoull(numbers[2], NULL, 10);
    return 0;
}

/* Waits `ms`, extending the lease every third of it. 0, or -1 if the connection failed. */
static int worker_sleep(struct worker *w, const struct worker_task *t, uint64_t ms)
{
    uint64_t end = worker_now_ms() + ms;
    uint64_t step = t->lease_timeout_ms / 3 > 0 ? t->lease_timeout_ms / 3 : 1;
    for (uint64_t now = worker_now_ms(); now < end; now = worker_now_ms()) {
        uint64_t wait = end - now < step ? end - now : step;
        struct timespec ts = { .tv_sec = (time_t)(wait / 1000),
                               .tv_nsec = (long)(wait % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        if (worker_now_ms() < end) {
            char extend[256];
            int n = snprintf(extend, sizeof(extend), "EXTEND %s %u %" PRIu32 "\n", t->workflow,
                             t->task_index, t->attempt);
            if (worker_report(w, extend, (size_t)n) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* Runs argv (a JSON array of strings) without a shell. Sets *error_kind on failure. 0 or -1. */
static int worker_exec(const struct worker_task *t, json_t *argv_json, char *error_kind, size_t cap)
{
    size_t argc = json_array_size(argv_json);
    if (argc == 0 || argc >= WORKER_ARGV_MAX) {
        snprintf(error_kind, cap, "bad_params");
        return -1;
    }
    char *argv[WORKER_ARGV_MAX];
    for (size_t i = 0; i < argc; i++) {
        const char *arg = json_string_value(json_array_get(argv_json, i));
        if (arg == NULL) {
            snprintf(error_kind, cap, "bad_params");
            return -1;
        }
        argv[i] = (char *)arg;
    }
    argv[argc] = NULL;
    char key_env[256];
    char attempt_env[64];
    snprintf(key_env, sizeof(key_env), "FLOWRAFT_IDEMPOTENCY_KEY=%s", t->key);
    snprintf(attempt_env, sizeof(attempt_env), "FLOWRAFT_ATTEMPT=%" PRIu32, t->attempt);
    char *envp[256];
    size_t envc = 0;
    for (char **e = environ; *e != NULL && envc < 253; e++) {
        envp[envc++] = *e;
    }
    envp[envc++] = key_env;
    envp[envc++] = attempt_env;
    envp[envc] = NULL;
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, envp) != 0) {
        snprintf(error_kind, cap, "spawn_failed");
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 0;
    }
    if (WIFEXITED(status)) {
        snprintf(error_kind, cap, "exit_%d", WEXITSTATUS(status));
    } else {
        snprintf(error_kind, cap, "signal_%d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    return -1;
}

/* Runs one task and reports its outcome. 0, or -1 if the connection failed. */
static int worker_run(struct worker *w, const struct worker_task *t)
{
    json_error_t jerr;
    json_t *params = json_loads(t->params, 0, &jerr);
    char error_kind[40] = "";
    int failed = 0;
    if (strcmp(t->kind, "noop") == 0) {
        failed = 0;
    } else if (strcmp(t->kind, "sleep") == 0) {
        json_int_t ms = json_integer_value(json_object_get(params, "ms"));
        if (worker_sleep(w, t, ms > 0 ? (uint64_t)ms : 0) != 0) {
            json_decref(params);
            return -1;
        }
    } else if (strcmp(t->kind, "fail") == 0) {
        const char *kind = json_string_value(json_object_get(params, "error"));
        snprintf(error_kind, sizeof(error_kind), "%s", kind != NULL ? kind : "failed");
        failed = 1;
    } else if (strcmp(t->kind, "exec") == 0) {
        failed =
            worker_exec(t, json_object_get(params, "argv"), error_kind, sizeof(error_kind)) != 0;
    } else {
        snprintf(error_kind, sizeof(error_kind), "unknown_kind");
        failed = 1;
    }
    json_decref(params);
    char report[256];
    int n = failed ? snprintf(report, sizeof(report), "FAIL %s %u %" PRIu32 " %s\n", t->workflow,
                              t->task_index, t->attempt, error_kind)
                   : snprintf(report, sizeof(report), "DONE %s %u %" PRIu32 "\n", t->workflow,
                              t->task_index, t->attempt);
    fprintf(stderr, "flowraft-node worker %" PRIu32 ": %s attempt %" PRIu32 " (%s): %s\n", w->id,
            t->key, t->attempt, t->kind, failed ? error_kind : "done");
    return worker_report(w, report, (size_t)n);
}

static int worker_usage(void)
{
    fprintf(stderr, "usage: flowraft-node worker --id N [--tasks-max K] HOST:PORT...\n");
    return 2;
}

static int worker_args(struct worker *w, int argc, char **argv, uint64_t *tasks_max)
{
    static const struct option options[] = {
        { "id", required_argument, NULL, 'i' },
        { "tasks-max", required_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },
    };
    int have_id = 0;
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "i:k:", options, NULL)) != -1) {
        char *end = NULL;
        if (opt == 'i') {
            w->id = (uint32_t)strtoul(optarg, &end, 10);
            have_id = *end == '\0';
        } else if (opt == 'k') {
            *tasks_max = strtoull(optarg, &end, 10);
        } else {
            return -1;
        }
    }
    for (int i = optind; i < argc && w->addr_count < NODE_WORKER_ADDRS_MAX; i++) {
        char error[NODE_ERROR_BYTES_MAX];
        if (node_addr_parse(argv[i], &w->addrs[w->addr_count], error, sizeof(error)) != 0) {
            fprintf(stderr, "flowraft-node worker: %s\n", error);
            return -1;
        }
        w->addr_count++;
    }
    return have_id && w->addr_count > 0 ? 0 : -1;
}

int node_worker_main(int argc, char **argv)
{
    static struct worker w;
    uint64_t tasks_max = 0;
    memset(&w, 0, sizeof(w));
    w.conn.fd = -1;
    if (worker_args(&w, argc, argv, &tasks_max) != 0) {
        return worker_usage();
    }
    w.request = malloc(sizeof(*w.request));
    if (w.request == NULL) {
        return 1;
    }
    uint64_t done = 0;
    while (tasks_max == 0 || done < tasks_max) {
        if (w.conn.fd < 0 && worker_connect(&w) != 0) {
            struct timespec pause = { .tv_sec = 0, .tv_nsec = NODE_WORKER_RETRY_MS * 1000000L };
            nanosleep(&pause, NULL);
            continue;
        }
        struct worker_task task;
        int rc = node_conn_read_line(&w.conn, w.line, sizeof(w.line), -1);
        if (rc != 0) {
            node_conn_close(&w.conn); /* the leader went away: find the next one */
            continue;
        }
        if (strncmp(w.line, "REDIRECT ", 9) == 0) {
            node_conn_close(&w.conn);
            continue;
        }
        if (worker_parse_task(&w, w.line, &task) != 0) {
            fprintf(stderr, "flowraft-node worker %" PRIu32 ": ignored '%s'\n", w.id, w.line);
            continue;
        }
        if (worker_run(&w, &task) != 0) {
            node_conn_close(&w.conn);
        }
        done++;
    }
    node_conn_close(&w.conn);
    free(w.request);
    return 0;
}
