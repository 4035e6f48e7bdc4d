/* Benchmark of the WAL on real files: group-commit append rate against raw fdatasync, and recovery.
 */
#include "storage/wal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * usage: bench_wal [--dir DIR] [--seconds S] [--payload BYTES] [--recovery-bytes N]
 * Prints, never asserts. The baseline is measured in the same run on the same file system: a
 * 4 KiB append followed by fdatasync (through the POSIX backend), as often as it goes in S
 * seconds. Each WAL batch is one write and one sync, so batches per second near the baseline
 * rate (ratio ~1) means the WAL adds little beyond the sync itself.
 */

#define BENCH_PATH_MAX 256

struct bench_options {
    char dir[BENCH_PATH_MAX];
    double seconds;
    uint32_t payload;
    uint64_t recovery_bytes;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct storage_error *err)
{
    fprintf(stderr, "bench_wal: %s: %s\n", what, err != NULL ? err->message : "");
    exit(2);
}

struct bench_names {
    char names[4096][FS_NAME_BYTES_MAX];
    int count;
};

static int bench_collect(void *arg, const char *name)
{
    struct bench_names *names = arg;
    if (names->count < 4096) {
        snprintf(names->names[names->count++], FS_NAME_BYTES_MAX, "%s", name);
    }
    return 0;
}

/* Removes every file in dir (through the fs interface). */
static void clear_dir(struct fs *fs, const char *dir)
{
    struct bench_names *names = calloc(1, sizeof(*names));
    if (names == NULL || fs_list(fs, dir, bench_collect, names) < 0) {
        free(names);
        return;
    }
    for (int i = 0; i < names->count; i++) {
        char path[FS_PATH_BYTES_MAX];
        if (fs_path_join(path, dir, names->names[i]) == FS_OK) {
            (void)fs_unlink(fs, path);
        }
    }
    free(names);
}

/* Raw baseline: 4 KiB appends, each followed by fdatasync. Returns syncs per second. */
static double bench_raw_sync(struct fs *fs, const struct bench_options *options)
{
    char path[FS_PATH_BYTES_MAX];
    if (fs_path_join(path, options->dir, "raw-sync.bin") != FS_OK) {
        die("path too long", NULL);
    }
    struct fs_file *file = NULL;
    if (fs_open(fs, path, FS_OPEN_CREATE, &file) != FS_OK) {
        die("open raw file", NULL);
    }
    static uint8_t block[4096];
    memset(block, 0x5a, sizeof(block));
    double start = now_seconds();
    uint64_t count = 0;
    /* Bounded by time and by 1,000,000 iterations. */
    while (count < 1000000 && now_seconds() - start < options->seconds) {
        if (fs_write(file, count * sizeof(block), block, sizeof(block)) != FS_OK ||
            fs_sync(file) != FS_OK) {
            die("raw write/sync", NULL);
        }
        count++;
    }
    double elapsed = now_seconds() - start;
    fs_close(file);
    fs_unlink(fs, path);
    return (double)count / elapsed;
}

static struct wal *open_wal(struct fs *fs, const char *dir, uint64_t segment_bytes)
{
    struct wal_config config;
    wal_config_default(&config);
    config.segment_size_bytes_max = segment_bytes;
    struct wal *wal = NULL;
    struct storage_error err;
    if (wal_open(fs, dir, &config, 1, &wal, NULL, &err) != STORAGE_OK) {
        die("wal_open", &err);
    }
    if (wal_repair(wal, &err) != STORAGE_OK) {
        die("wal_repair", &err);
    }
    return wal;
}

static void fill_batch(struct wal_entry *entries, uint32_t count, uint64_t first,
                       const uint8_t *payload, uint32_t payload_len)
{
    for (uint32_t i = 0; i < count; i++) {
        entries[i] = (struct wal_entry){
            .index = first + i, .term = 1, .type = 1, .data_len = payload_len, .data = payload
        };
    }
}

/* Appends batches of `batch` entries for options->seconds; prints rates and the ratio. */
static void bench_append(struct fs *fs, const struct bench_options *options, uint32_t batch,
                         double raw_rate)
{
    clear_dir(fs, options->dir);
    struct wal *wal = open_wal(fs, options->dir, 64u << 20);
    static struct wal_entry entries[256];
    static uint8_t payload[WAL_ENTRY_DATA_BYTES_MAX];
    memset(payload, 0xa5, options->payload);
    uint64_t next = 1;
    uint64_t batches = 0;
    double start = now_seconds();
    while (batches < 1000000 && now_seconds() - start < options->seconds) {
        fill_batch(entries, batch, next, payload, options->payload);
        struct storage_error err;
        if (wal_append(wal, entries, batch, &err) != STORAGE_OK) {
            die("wal_append", &err);
        }
        next += batch;
        batches++;
    }
    double elapsed = now_seconds() - start;
    wal_close(wal);
    double batch_rate = (double)batches / elapsed;
    printf("append batch=%-3" PRIu32 " payload=%" PRIu32 "B: %10.0f entries/s  %8.0f batches/s "
           "(syncs/s)  ratio to raw 4KiB fdatasync: %.2f\n",
           batch, options->payload, batch_rate * batch, batch_rate, batch_rate / raw_rate);
}

/* Builds a log of about options->recovery_bytes, then times wal_open (scan) and a full read. */
static void bench_recovery(struct fs *fs, const struct bench_options *options)
{
    clear_dir(fs, options->dir);
    struct wal *wal = open_wal(fs, options->dir, 64u << 20);
    static struct wal_entry entries[256];
    static uint8_t payload[4096];
    memset(payload, 0x3c, sizeof(payload));
    uint64_t next = 1;
    uint64_t per_batch = 256 * (sizeof(payload) + 52);
    uint64_t batches = (options->recovery_bytes + per_batch - 1) / per_batch;
    double start = now_seconds();
    for (uint64_t b = 0; b < batches; b++) {
        fill_batch(entries, 256, next, payload, sizeof(payload));
        struct storage_error err;
        if (wal_append(wal, entries, 256, &err) != STORAGE_OK) {
            die("wal_append", &err);
        }
        next += 256;
    }
    double build = now_seconds() - start;
    wal_close(wal);

    struct wal_config config;
    wal_config_default(&config);
    struct wal_recovery recovery;
    struct storage_error err;
    start = now_seconds();
    if (wal_open(fs, options->dir, &config, 1, &wal, &recovery, &err) != STORAGE_OK) {
        die("wal_open", &err);
    }
    double scan = now_seconds() - start;
    start = now_seconds();
    struct wal_iter *iter = NULL;
    if (wal_iter_open(wal, 1, &iter, &err) != STORAGE_OK) {
        die("wal_iter_open", &err);
    }
    struct wal_entry entry;
    uint64_t read = 0;
    int rc;
    while ((rc = wal_iter_next(iter, &entry, &err)) == 1) {
        read++;
    }
    if (rc != 0) {
        die("wal_iter_next", &err);
    }
    wal_iter_close(iter);
    double replay = now_seconds() - start;
    wal_close(wal);
    double mib = (double)recovery.bytes_scanned / (1024.0 * 1024.0);
    printf("recovery of %.0f MiB (%" PRIu64 " entries, %" PRIu32 " segments; written in %.2f s): "
           "open+validate %.3f s (%.0f MiB/s), replay %.3f s (%.0f MiB/s), total %.3f s\n",
           mib, read, recovery.segment_count, build, scan, mib / scan, replay, mib / replay,
           scan + replay);
}

static void parse(int argc, char **argv, struct bench_options *options)
{
    snprintf(options->dir, sizeof(options->dir), "bench-wal-dir");
    options->seconds = 1.0;
    options->payload = 128;
    options->recovery_bytes = 1ull << 30;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0) {
            snprintf(options->dir, sizeof(options->dir), "%s", argv[i + 1]);
        } else if (strcmp(argv[i], "--seconds") == 0) {
            options->seconds = strtod(argv[i + 1], NULL);
        } else if (strcmp(argv[i], "--payload") == 0) {
            options->payload = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--recovery-bytes") == 0) {
            options->recovery_bytes = strtoull(argv[i + 1], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_wal [--dir DIR] [--seconds S] [--payload BYTES] "
                            "[--recovery-bytes N]\n");
            exit(2);
        }
    }
    if (options->payload > WAL_ENTRY_DATA_BYTES_MAX) {
        options->payload = WAL_ENTRY_DATA_BYTES_MAX;
    }
}

int main(int argc, char **argv)
{
    struct bench_options options;
    parse(argc, argv, &options);
    struct fs fs;
    fs_posix_init(&fs);
    int rc = fs_mkdir(&fs, options.dir);
    if (rc != FS_OK && rc != FS_EEXIST) {
        fprintf(stderr, "bench_wal: cannot create %s\n", options.dir);
        return 2;
    }
    clear_dir(&fs, options.dir);
    double raw = bench_raw_sync(&fs, &options);
    printf("baseline: raw 4 KiB append + fdatasync in %s: %.0f syncs/s\n", options.dir, raw);
    uint32_t batches[] = { 1, 16, 256 };
    for (int i = 0; i < 3; i++) {
        bench_append(&fs, &options, batches[i], raw);
    }
    bench_recovery(&fs, &options);
    clear_dir(&fs, options.dir);
    remove(options.dir);
    return 0;
}
