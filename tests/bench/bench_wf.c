/* Benchmark of the workflow state machine: apply throughput and the cost of the state hash. */
#include "tests/workflows/test_wf_driver.h"
#include "workflows/wf_state_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKFLOWS 32

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs WORKFLOWS copies of the diamond and hello examples (some with a retry) to completion. */
static struct wfd *workload(void)
{
    struct wfd *driver = wfd_create(4, WORKFLOWS, NULL, NULL);
    wfd_script(driver,
               (struct wfd_script){
                   .task_id = "b", .attempt = 1, .action = WFD_FAIL, .error_kind = "timeout" });
    size_t len = 0;
    char *diamond = wfd_read_example("diamond.json", &len);
    char *hello = wfd_read_example("hello.json", &len);
    if (diamond == NULL || hello == NULL) {
        fprintf(stderr, "bench_wf: cannot read workflows/examples\n");
        exit(2);
    }
    char json[4096];
    for (int i = 0; i < WORKFLOWS; i++) {
        const char *text = i % 2 ? diamond : hello;
        const char *id = i % 2 ? "\"diamond\"" : "\"hello\"";
        const char *at = strstr(text, id);
        snprintf(json, sizeof(json), "%.*s\"w%03d\"%s", (int)(at - text), text, i, at + strlen(id));
        if (wfd_submit_json(driver, json) != WF_OK) {
            exit(2);
        }
    }
    free(diamond);
    free(hello);
    wfd_run(driver, UINT64_MAX);
    if (driver->violation[0] != '\0') {
        fprintf(stderr, "bench_wf: %s\n", driver->violation);
        exit(1);
    }
    return driver;
}

int main(void)
{
    struct wfd *driver = workload();
    const int replays = 20;
    double start = now_seconds();
    for (int r = 0; r < replays; r++) {
        wf_state_destroy(wfd_rebuild(driver, driver->log_count));
    }
    double apply_s = (now_seconds() - start) / replays;

    size_t size = wf_state_snapshot_size(driver->state);
    uint8_t *bytes = malloc(size);
    wf_state_snapshot(driver->state, bytes, size);
    const int hashes = 2000;
    volatile uint64_t sink = 0;
    start = now_seconds();
    for (int i = 0; i < hashes; i++) {
        sink ^= wf_state_hash(driver->state);
    }
    double hash_s = (now_seconds() - start) / hashes;
    start = now_seconds();
    for (int i = 0; i < hashes; i++) {
        sink ^= wf_state_hash_uncached(driver->state);
    }
    double uncached_s = (now_seconds() - start) / hashes;
    /* the simulator's pattern: one entry applied (one run invalidated), then a hash */
    const struct wf_run *first = wf_state_run_at(driver->state, 0);
    start = now_seconds();
    for (int i = 0; i < hashes; i++) {
        wf_state_invalidate_run(driver->state, first->def.id);
        sink ^= wf_state_hash(driver->state);
    }
    double step_s = (now_seconds() - start) / hashes;
    start = now_seconds();
    for (int i = 0; i < hashes; i++) {
        sink ^= hash_bytes(bytes, size, (uint64_t)i);
    }
    double baseline_s = (now_seconds() - start) / hashes;
    start = now_seconds();
    for (int i = 0; i < hashes; i++) {
        sink ^= wf_state_projection_hash(driver->state);
    }
    double projection_s = (now_seconds() - start) / hashes;
    (void)sink;

    printf("bench_wf: %d workflows, %u log entries, state encoding %zu bytes\n", WORKFLOWS,
           driver->log_count, size);
    printf("apply (rebuild from log, incl. create): %.1f us per entry\n",
           apply_s * 1e6 / driver->log_count);
    printf("baseline: one-shot XXH3 of the state's %zu encoded bytes: %.2f us\n", size,
           baseline_s * 1e6);
    printf("wf_state_hash, nothing changed: %.2f us; ratio %.2f\n", hash_s * 1e6,
           hash_s / baseline_s);
    printf("wf_state_hash after one entry (one run rehashed): %.2f us; ratio %.2f\n", step_s * 1e6,
           step_s / baseline_s);
    printf("wf_state_hash_uncached (every run rehashed): %.2f us; ratio %.2f\n", uncached_s * 1e6,
           uncached_s / baseline_s);
    printf("wf_state_projection_hash: %.1f us; ratio to baseline %.2f\n", projection_s * 1e6,
           projection_s / baseline_s);
    free(bytes);
    wfd_destroy(driver);
    return 0;
}
