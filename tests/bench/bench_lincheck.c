/* Benchmark of the linearizability checker: time per history, against parsing it (same run). */
#include "sim/lin.h"

#include "core/prng.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Baseline: parsing a history (reading its text into a struct hist), measured in the same run on
 * the same bytes. Printed: per file, the best of BENCH_REPEATS runs of parse and of check, and the
 * check/parse ratio; then totals; then synthetic histories of a real atomic store, to show how the
 * search scales with history length and concurrency. Prints only; asserts nothing.
 */

#define BENCH_REPEATS   5
#define BENCH_FILES_MAX 1024
#define BENCH_PATH_MAX  4096

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct bench_times {
    double parse_s; /* best of BENCH_REPEATS */
    double check_s;
    uint32_t ops;
    uint64_t configurations;
    enum lin_verdict verdict;
};

/* Times parsing and checking of `len` bytes; 0, or -1 with the parse error printed. */
static int bench_one(const char *name, const char *data, size_t len, struct bench_times *t)
{
    t->parse_s = t->check_s = 1e30;
    for (int r = 0; r < BENCH_REPEATS; r++) {
        struct hist hist;
        double t0 = now_seconds();
        int err = hist_parse(&hist, HIST_FORMAT_AUTO, name, data, len);
        double t1 = now_seconds();
        if (err != HIST_E_OK) {
            fprintf(stderr, "bench_lincheck: %s\n", hist.error);
            hist_free(&hist);
            return -1;
        }
        struct lin_result result;
        t->verdict = lin_check(&hist, NULL, &result);
        double t2 = now_seconds();
        t->parse_s = t1 - t0 < t->parse_s ? t1 - t0 : t->parse_s;
        t->check_s = t2 - t1 < t->check_s ? t2 - t1 : t->check_s;
        t->ops = hist.ops_count;
        t->configurations = result.configurations;
        hist_free(&hist);
    }
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *data = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        data = size >= 0 ? malloc((size_t)size + 1) : NULL;
        rewind(f);
        *len = data != NULL ? fread(data, 1, (size_t)size, f) : 0;
    }
    fclose(f);
    return data;
}

static void bench_print(const char *label, const struct bench_times *t)
{
    printf("  %-34s %7" PRIu32 " ops %9.1f us parse %10.1f us check  x%7.1f  %9" PRIu64
           " configs  %s\n",
           label, t->ops, t->parse_s * 1e6, t->check_s * 1e6, t->check_s / t->parse_s,
           t->configurations, lin_verdict_name(t->verdict));
}

/* Benchmarks every file of `root`/`folder` listed in its VERDICTS.tsv. */
static void bench_folder(const char *root, const char *folder, struct bench_times *total)
{
    char path[BENCH_PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s/VERDICTS.tsv", root, folder);
    FILE *list = fopen(path, "r");
    if (list == NULL) {
        printf("%s: missing\n", path);
        return;
    }
    printf("%s/%s:\n", root, folder);
    char line[512];
    for (int number = 0; fgets(line, sizeof(line), list) != NULL && number < BENCH_FILES_MAX;
         number++) {
        line[strcspn(line, "\t\r\n")] = '\0';
        if (number == 0 || line[0] == '\0') {
            continue;
        }
        char file[BENCH_PATH_MAX + 600];
        snprintf(file, sizeof(file), "%s/%s/%s", root, folder, line);
        size_t len = 0;
        char *data = read_file(file, &len);
        struct bench_times t;
        if (data != NULL && bench_one(file, data, len, &t) == 0) {
            bench_print(line, &t);
            total->parse_s += t.parse_s;
            total->check_s += t.check_s;
            total->ops += t.ops;
            total->configurations += t.configurations;
        }
        free(data);
    }
    fclose(list);
}

/* Writes a history of a real atomic register used by `clients` clients: each op takes effect at
 * one instant inside its interval; 5% of ops time out (unknown). Returns the text (owned). */
static char *synthetic_register(uint32_t ops, int clients, uint64_t seed, size_t *len)
{
    struct hist hist;
    struct prng prng;
    prng_seed(&prng, seed);
    hist_init(&hist, HIST_MODEL_REGISTER, ops);
    int64_t pending[64];
    int applied[64] = { 0 };
    char seen[64][24];
    int seen_nil[64] = { 0 };
    char reg[24] = "";
    int reg_nil = 1;
    for (int c = 0; c < clients; c++) {
        pending[c] = -1;
    }
    for (uint64_t step = 0; step < 16ull * ops; step++) {
        int c = (int)prng_below(&prng, (uint64_t)clients);
        char value[24];
        snprintf(value, sizeof(value), "%" PRIu64, prng_below(&prng, 5));
        if (pending[c] < 0 && hist.ops_count < ops) {
            struct hist_call call = { .kind = prng_chance(&prng, 0.5) ? HIST_READ : HIST_WRITE,
                                      .client = (uint64_t)c,
                                      .value = value,
                                      .value_len = strlen(value) };
            pending[c] = hist_invoke(&hist, step, &call);
            applied[c] = 0;
        } else if (pending[c] >= 0 && !applied[c]) {
            const struct hist_op *op = &hist.ops[pending[c]];
            seen_nil[c] = reg_nil;
            memcpy(seen[c], reg, sizeof(reg));
            if (op->kind == HIST_WRITE) {
                size_t n;
                const char *v = hist_str_bytes(&hist, op->value, &n);
                memcpy(reg, v, n);
                reg[n] = '\0';
                reg_nil = 0;
            }
            applied[c] = 1;
        } else if (pending[c] >= 0) {
            enum hist_outcome outcome = prng_chance(&prng, 0.05) ? HIST_UNKNOWN : HIST_OK;
            hist_complete(&hist, (uint32_t)pending[c], step, outcome, seen_nil[c] ? NULL : seen[c],
                          strlen(seen[c]));
            pending[c] = -1;
        }
    }
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    if (out != NULL) {
        hist_write_text(out, &hist);
        fclose(out);
    }
    hist_free(&hist);
    return text;
}

static void bench_synthetic(void)
{
    static const struct {
        uint32_t ops;
        int clients;
    } cases[] = { { 1000, 4 }, { 10000, 4 }, { 1000, 16 }, { 10000, 16 }, { 100000, 8 } };
    printf("synthetic atomic-register histories (linearizable by construction):\n");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = 0;
        char *text = synthetic_register(cases[i].ops, cases[i].clients, 1 + i, &len);
        char label[64];
        snprintf(label, sizeof(label), "%" PRIu32 " ops, %d clients", cases[i].ops,
                 cases[i].clients);
        struct bench_times t;
        if (text != NULL && bench_one(label, text, len, &t) == 0) {
            bench_print(label, &t);
        }
        free(text);
    }
}

int main(void)
{
    const char *shared = getenv("FLOWRAFT_SHARED_DATA");
    const char *root = getenv("FLOWRAFT_SOURCE_ROOT");
    char data[BENCH_PATH_MAX];
    if (shared != NULL && shared[0] != '\0') {
        snprintf(data, sizeof(data), "%s", shared);
    } else {
        snprintf(data, sizeof(data), "%s/../shared/data", root != NULL ? root : ".");
    }
    DIR *d = opendir(data);
    printf("bench_lincheck: best of %d runs; baseline = parsing the same history\n", BENCH_REPEATS);
    if (d == NULL) {
        printf("shared data not found at %s (set FLOWRAFT_SHARED_DATA); synthetic only\n", data);
    } else {
        closedir(d);
        struct bench_times total = { 0 };
        bench_folder(data, "jepsen-register", &total);
        bench_folder(data, "kv-histories", &total);
        printf("  %-34s %7" PRIu32 " ops %9.1f us parse %10.1f us check  x%7.1f\n",
               "total (shared data)", total.ops, total.parse_s * 1e6, total.check_s * 1e6,
               total.check_s / total.parse_s);
    }
    bench_synthetic();
    return 0;
}
