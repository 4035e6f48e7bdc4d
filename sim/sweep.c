/* The sweep runner: a pool of forked workers, one run each, results read back through pipes. */
#include "sim/sweep.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sim_sweep_worker {
    pid_t pid;
    int fd;
    uint32_t scenario;
    uint64_t seed;
    int pass; /* 0, or 1 for the determinism re-run */
    double started;
    int timed_out;
    size_t received;
    struct report_run run;
};

/* A determinism pair with one half finished, waiting for the other. */
struct sim_sweep_half {
    int used;
    uint32_t scenario;
    uint64_t seed;
    struct report_run run;
};

struct sim_sweep_state {
    const struct sim_sweep_options *options;
    struct report_sweep *sweep;
    struct sim_sweep_worker workers[SIM_SWEEP_JOBS_MAX];
    uint32_t active;
    struct sim_sweep_half halves[SIM_SWEEP_JOBS_MAX + 1];
    /* the next job */
    uint64_t next_seed;
    uint32_t next_scenario;
    int next_pass;
    int exhausted;
    uint64_t done_runs; /* (scenario, seed) runs completed */
    double started;
    double last_progress;
    int progress;
};

static double sim_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sim_parse_seed_range(const char *text, uint64_t *first, uint64_t *last)
{
    assert(text != NULL);
    char *end = NULL;
    if (*text < '0' || *text > '9') {
        return -1;
    }
    errno = 0;
    unsigned long long a = strtoull(text, &end, 10);
    if (errno != 0) {
        return -1;
    }
    unsigned long long b = a;
    if (strncmp(end, "..", 2) == 0) {
        const char *second = end + 2;
        if (*second < '0' || *second > '9') {
            return -1;
        }
        b = strtoull(second, &end, 10);
        if (errno != 0) {
            return -1;
        }
    }
    if (*end != '\0' || a > b) {
        return -1;
    }
    *first = a;
    *last = b;
    return 0;
}

int sim_parse_shard(const char *text, uint32_t *index, uint32_t *count)
{
    assert(text != NULL);
    unsigned long i = 0;
    unsigned long n = 0;
    char tail = 0;
    if (*text < '0' || *text > '9' || sscanf(text, "%lu/%lu%c", &i, &n, &tail) != 2) {
        return -1;
    }
    if (n == 0 || n > 1000000 || i >= n) {
        return -1;
    }
    *index = (uint32_t)i;
    *count = (uint32_t)n;
    return 0;
}

/* The first seed of the range that belongs to the shard. */
static uint64_t sim_sweep_first_seed(const struct sim_sweep_options *o)
{
    return o->seed_first + o->shard_index;
}

static uint64_t sim_sweep_planned(const struct sim_sweep_options *o)
{
    uint64_t first = sim_sweep_first_seed(o);
    if (first < o->seed_first || first > o->seed_last) {
        return 0;
    }
    uint64_t seeds = (o->seed_last - first) / o->shard_count + 1;
    return seeds * o->scenario_count;
}

static void sim_sweep_child(const struct sim_sweep_options *o, uint32_t scenario, uint64_t seed,
                            int fd)
{
    struct report_run run;
    memset(&run, 0, sizeof(run));
    o->run(o->ctx, scenario, seed, &run);
    const uint8_t *bytes = (const uint8_t *)&run;
    size_t sent = 0;
    while (sent < sizeof(run)) {
        ssize_t n = write(fd, bytes + sent, sizeof(run) - sent);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            _exit(3);
        }
        sent += (size_t)n;
    }
    _exit(0);
}

static int sim_sweep_spawn(struct sim_sweep_state *st, char *error, size_t error_size)
{
    const struct sim_sweep_options *o = st->options;
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(error, error_size, "sweep: pipe failed: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(error, error_size, "sweep: fork failed: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        sim_sweep_child(o, st->next_scenario, st->next_seed, fds[1]);
    }
    close(fds[1]);
    struct sim_sweep_worker *w = &st->workers[st->active++];
    memset(w, 0, sizeof(*w));
    w->pid = pid;
    w->fd = fds[0];
    w->scenario = st->next_scenario;
    w->seed = st->next_seed;
    w->pass = st->next_pass;
    w->started = sim_now_seconds();
    /* advance: pass, then scenario, then seed (seed-major) */
    if (o->check_determinism && st->next_pass == 0) {
        st->next_pass = 1;
    } else if ((st->next_pass = 0, ++st->next_scenario) == o->scenario_count) {
        st->next_scenario = 0;
        if (o->seed_last - st->next_seed < o->shard_count) {
            st->exhausted = 1;
        } else {
            st->next_seed += o->shard_count;
        }
    }
    return 0;
}

static void sim_sweep_crash_record(const struct sim_sweep_options *o, struct sim_sweep_worker *w,
                                   int status)
{
    struct report_run *run = &w->run;
    memset(run, 0, sizeof(*run));
    const char *path = o->scenario_paths[w->scenario];
    snprintf(run->scenario_path, sizeof(run->scenario_path), "%s", path);
    const char *base = strrchr(path, '/');
    snprintf(run->scenario, sizeof(run->scenario), "%s", base != NULL ? base + 1 : path);
    char *dot = strrchr(run->scenario, '.');
    if (dot != NULL && strcmp(dot, ".ini") == 0) {
        *dot = '\0';
    }
    run->seed = w->seed;
    run->verdict = REPORT_CRASH;
    if (w->timed_out) {
        snprintf(run->invariant, sizeof(run->invariant), "timeout");
        snprintf(run->detail, sizeof(run->detail),
                 "the run took longer than --run-timeout %.0f s and was stopped (a hang in the "
                 "code under test?)",
                 o->run_timeout_seconds);
    } else if (WIFSIGNALED(status)) {
        snprintf(run->invariant, sizeof(run->invariant), "crash: %s", strsignal(WTERMSIG(status)));
        snprintf(run->detail, sizeof(run->detail),
                 "the run's process died from signal %d (%s); run it alone to see the message",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
        snprintf(run->invariant, sizeof(run->invariant), "crash: exit status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        snprintf(run->detail, sizeof(run->detail),
                 "the run's process exited without a result (status %d)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    snprintf(run->repro, sizeof(run->repro), "flowraft run %s --seed %" PRIu64, path, w->seed);
}

/* Determinism: pairs the two passes of a run; returns 1 when `run` is ready to be recorded. */
static int sim_sweep_pair(struct sim_sweep_state *st, struct sim_sweep_worker *w)
{
    for (size_t i = 0; i <= SIM_SWEEP_JOBS_MAX; i++) {
        struct sim_sweep_half *h = &st->halves[i];
        if (h->used && h->scenario == w->scenario && h->seed == w->seed) {
            h->used = 0;
            struct report_run *first = &h->run;
            if (first->trace_hash != w->run.trace_hash && first->verdict != REPORT_CRASH &&
                w->run.verdict != REPORT_CRASH) {
                uint64_t a = first->trace_hash;
                uint64_t b = w->run.trace_hash;
                w->run.verdict = REPORT_NONDETERMINISM;
                snprintf(w->run.invariant, sizeof(w->run.invariant), "determinism");
                snprintf(w->run.detail, sizeof(w->run.detail),
                         "the same seed gave trace hash %016" PRIx64
                         " in one process and %016" PRIx64 " in another (%" PRIu64 " vs %" PRIu64
                         " events)",
                         a, b, first->events, w->run.events);
            } else if (w->run.verdict == REPORT_PASS && first->verdict != REPORT_PASS) {
                w->run = *first; /* keep the failing half */
            }
            return 1;
        }
    }
    for (size_t i = 0; i <= SIM_SWEEP_JOBS_MAX; i++) {
        struct sim_sweep_half *h = &st->halves[i];
        if (!h->used) {
            h->used = 1;
            h->scenario = w->scenario;
            h->seed = w->seed;
            h->run = w->run;
            return 0;
        }
    }
    assert(0 && "more half-finished pairs than workers");
    return 0;
}

static int sim_sweep_finish(struct sim_sweep_state *st, uint32_t index, char *error,
                            size_t error_size)
{
    struct sim_sweep_worker *w = &st->workers[index];
    int status = 0;
    while (waitpid(w->pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(error, error_size, "sweep: waitpid failed: %s", strerror(errno));
            return -1;
        }
    }
    close(w->fd);
    int complete = w->received == sizeof(w->run) && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!complete) {
        sim_sweep_crash_record(st->options, w, status);
    }
    int ready = st->options->check_determinism ? sim_sweep_pair(st, w) : 1;
    if (ready) {
        if (report_sweep_add(st->sweep, w->scenario, &w->run) != 0) {
            snprintf(error, error_size, "sweep: out of memory recording results");
            return -1;
        }
        st->done_runs++;
    }
    st->workers[index] = st->workers[--st->active];
    return 0;
}

/* Reads what a worker sent; returns 1 when its pipe reached end of file. */
static int sim_sweep_read(struct sim_sweep_worker *w)
{
    uint8_t scratch[256];
    uint8_t *target = (uint8_t *)&w->run + w->received;
    size_t room = sizeof(w->run) - w->received;
    ssize_t n = room > 0 ? read(w->fd, target, room) : read(w->fd, scratch, sizeof(scratch));
    if (n < 0) {
        return errno == EINTR || errno == EAGAIN ? 0 : 1;
    }
    if (n == 0) {
        return 1;
    }
    if (room > 0) {
        w->received += (size_t)n;
    }
    return 0;
}

static void sim_sweep_draw_progress(struct sim_sweep_state *st, int final)
{
    if (!st->progress) {
        return;
    }
    double now = sim_now_seconds();
    if (!final && now - st->last_progress < 0.1) {
        return;
    }
    st->last_progress = now;
    if (final) {
        fprintf(stderr, "\r\033[K");
        return;
    }
    uint64_t planned = st->sweep->runs_planned;
    int filled = planned > 0 ? (int)(30 * st->done_runs / planned) : 30;
    char bar[31];
    for (int i = 0; i < 30; i++) {
        bar[i] = i < filled ? '#' : '.';
    }
    bar[30] = '\0';
    fprintf(stderr, "\r[%s] %" PRIu64 "/%" PRIu64 " runs, %" PRIu64 " failed, %.0f s\033[K", bar,
            st->done_runs, planned, report_sweep_failed(st->sweep), now - st->started);
}

static void sim_sweep_stop_workers(struct sim_sweep_state *st)
{
    for (uint32_t i = 0; i < st->active; i++) {
        kill(st->workers[i].pid, SIGKILL); /* our own child, by its id */
        waitpid(st->workers[i].pid, NULL, 0);
        close(st->workers[i].fd);
    }
    st->active = 0;
}

/* Kills runs that exceeded the per-run timeout; their pipes then reach end of file. */
static void sim_sweep_enforce_timeout(struct sim_sweep_state *st)
{
    double limit = st->options->run_timeout_seconds;
    if (limit <= 0) {
        return;
    }
    double now = sim_now_seconds();
    for (uint32_t i = 0; i < st->active; i++) {
        struct sim_sweep_worker *w = &st->workers[i];
        if (!w->timed_out && now - w->started > limit) {
            w->timed_out = 1;
            kill(w->pid, SIGKILL); /* our own child, by its id */
        }
    }
}

static int sim_sweep_wait(struct sim_sweep_state *st, char *error, size_t error_size)
{
    sim_sweep_enforce_timeout(st);
    struct pollfd fds[SIM_SWEEP_JOBS_MAX];
    for (uint32_t i = 0; i < st->active; i++) {
        fds[i] = (struct pollfd){ .fd = st->workers[i].fd, .events = POLLIN };
    }
    int ready = poll(fds, st->active, 100);
    if (ready < 0) {
        if (errno == EINTR) {
            return 0;
        }
        snprintf(error, error_size, "sweep: poll failed: %s", strerror(errno));
        return -1;
    }
    /* Walk backwards: finishing a worker moves the last one into its place. */
    for (uint32_t i = st->active; i-- > 0;) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
            sim_sweep_read(&st->workers[i]) && sim_sweep_finish(st, i, error, error_size) != 0) {
            return -1;
        }
    }
    return 0;
}

int sim_sweep_run(const struct sim_sweep_options *o, struct report_sweep *sweep, char *error,
                  size_t error_size)
{
    assert(o != NULL);
    assert(sweep != NULL);
    assert(o->run != NULL);
    assert(o->scenario_count >= 1 && o->scenario_count == sweep->scenario_count);
    assert(o->jobs >= 1 && o->jobs <= SIM_SWEEP_JOBS_MAX);
    assert(o->shard_count >= 1 && o->shard_index < o->shard_count);
    assert(o->seed_first <= o->seed_last);
    struct sim_sweep_state *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        snprintf(error, error_size, "sweep: out of memory");
        return -1;
    }
    st->options = o;
    st->sweep = sweep;
    st->started = sim_now_seconds();
    st->progress = o->progress && isatty(STDERR_FILENO);
    st->next_seed = sim_sweep_first_seed(o);
    sweep->runs_planned = sim_sweep_planned(o);
    st->exhausted = sweep->runs_planned == 0;
    sweep->seed_first = o->seed_first;
    sweep->seed_last = o->seed_last;
    sweep->shard_index = o->shard_index;
    sweep->shard_count = o->shard_count;
    sweep->jobs = o->jobs;
    sweep->check_determinism = o->check_determinism;
    sweep->time_budget_seconds = o->time_budget_seconds;
    int rc = 0;
    for (uint64_t guard = 0; rc == 0; guard++) {
        assert(guard < UINT64_MAX);
        if (o->time_budget_seconds > 0 &&
            sim_now_seconds() - st->started >= o->time_budget_seconds && !st->exhausted) {
            sweep->time_budget_reached = 1;
            st->exhausted = 1;
        }
        if (sweep->time_budget_reached) {
            sim_sweep_stop_workers(st);
        }
        while (rc == 0 && !st->exhausted && st->active < o->jobs) {
            rc = sim_sweep_spawn(st, error, error_size);
        }
        if (rc != 0 || st->active == 0) {
            break;
        }
        rc = sim_sweep_wait(st, error, error_size);
        sim_sweep_draw_progress(st, 0);
    }
    sim_sweep_stop_workers(st);
    sim_sweep_draw_progress(st, 1);
    sweep->runs_skipped = sweep->runs_planned - st->done_runs;
    sweep->wall_seconds = sim_now_seconds() - st->started;
    free(st);
    return rc;
}
