/* Acceptance: the checker's verdict on every history in ../shared/data equals its VERDICTS.tsv. */
#include "sim/lin.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DATA_PATH_MAX  4096
#define DATA_FILES_MAX 1024

/*
 * The data lives outside the repository: $FLOWRAFT_SHARED_DATA when set, else
 * $FLOWRAFT_SOURCE_ROOT/../shared/data (meson sets FLOWRAFT_SOURCE_ROOT to the source root).
 */
static int data_dir(char *out, size_t size)
{
    const char *shared = getenv("FLOWRAFT_SHARED_DATA");
    const char *root = getenv("FLOWRAFT_SOURCE_ROOT");
    int n = shared != NULL && shared[0] != '\0'
                ? snprintf(out, size, "%s", shared)
                : snprintf(out, size, "%s/../shared/data", root != NULL ? root : ".");
    cr_assert(n > 0 && (size_t)n < size, "data path too long");
    struct stat st;
    return stat(out, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

struct verdict_row {
    char file[256];
    char verdict[32];
    int seen; /* the folder has this file */
};

/* Reads `dir`/VERDICTS.tsv ("file<TAB>verdict" lines after a header) into rows. */
static size_t read_verdicts(const char *dir, struct verdict_row *rows, size_t rows_max)
{
    char path[DATA_PATH_MAX + 128];
    int n = snprintf(path, sizeof(path), "%s/VERDICTS.tsv", dir);
    cr_assert(n > 0 && (size_t)n < sizeof(path));
    FILE *file = fopen(path, "r");
    cr_assert_not_null(file, "cannot open %s", path);
    char line[512];
    size_t count = 0;
    for (int number = 1; fgets(line, sizeof(line), file) != NULL; number++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (number == 1 || line[0] == '\0') {
            continue; /* the header "file<TAB>verdict" */
        }
        char *tab = strchr(line, '\t');
        cr_assert_not_null(tab, "%s:%d: expected file<TAB>verdict", path, number);
        cr_assert_lt(count, rows_max, "%s: too many rows", path);
        *tab = '\0';
        int f = snprintf(rows[count].file, sizeof(rows[count].file), "%s", line);
        int m = snprintf(rows[count].verdict, sizeof(rows[count].verdict), "%s", tab + 1);
        cr_assert(f < (int)sizeof(rows[count].file) && m < (int)sizeof(rows[count].verdict),
                  "%s:%d: field too long", path, number);
        rows[count].seen = 0;
        count++;
    }
    fclose(file);
    return count;
}

/* Every data file of the folder must have a verdict, so a new file is never silently skipped. */
static void assert_every_file_listed(const char *dir, struct verdict_row *rows, size_t count)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s", dir);
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        const char *name = entry->d_name;
        if (name[0] == '.' || strcmp(name, "VERDICTS.tsv") == 0 || strcmp(name, "README.md") == 0) {
            continue;
        }
        int listed = 0;
        for (size_t i = 0; i < count && !listed; i++) {
            listed = strcmp(rows[i].file, name) == 0;
            rows[i].seen |= listed;
        }
        cr_expect(listed, "%s/%s has no row in VERDICTS.tsv", dir, name);
    }
    closedir(d);
    for (size_t i = 0; i < count; i++) {
        cr_expect(rows[i].seen, "VERDICTS.tsv names %s, missing from %s", rows[i].file, dir);
    }
}

/* Checks every file of `folder` against its VERDICTS.tsv, logging how many agree. */
static void check_folder(const char *folder, size_t files_min)
{
    char root[DATA_PATH_MAX];
    if (data_dir(root, sizeof(root)) != 0) {
        cr_skip("shared data not found at %s (set FLOWRAFT_SHARED_DATA to the folder that holds "
                "jepsen-register/ and kv-histories/)",
                root);
    }
    char dir[DATA_PATH_MAX + 64];
    int n = snprintf(dir, sizeof(dir), "%s/%s", root, folder);
    cr_assert(n > 0 && (size_t)n < sizeof(dir));
    static struct verdict_row rows[DATA_FILES_MAX];
    size_t count = read_verdicts(dir, rows, DATA_FILES_MAX);
    cr_assert_geq(count, files_min, "%s/VERDICTS.tsv lists only %zu files", dir, count);
    assert_every_file_listed(dir, rows, count);
    size_t agree = 0;
    for (size_t i = 0; i < count; i++) {
        char path[DATA_PATH_MAX + 400];
        int len = snprintf(path, sizeof(path), "%s/%s", dir, rows[i].file);
        cr_assert(len > 0 && (size_t)len < sizeof(path));
        struct hist hist;
        int err = hist_load(&hist, HIST_FORMAT_AUTO, path);
        cr_expect_eq(err, HIST_E_OK, "%s", hist.error);
        if (err == HIST_E_OK) {
            struct lin_result result;
            const char *got = lin_verdict_name(lin_check(&hist, NULL, &result));
            cr_expect_str_eq(got, rows[i].verdict, "%s: checker says %s, VERDICTS.tsv %s (%s)",
                             path, got, rows[i].verdict, result.reason);
            agree += strcmp(got, rows[i].verdict) == 0;
        }
        hist_free(&hist);
    }
    cr_log_info("%s: %zu of %zu verdicts agree", dir, agree, count);
    cr_assert_eq(agree, count, "%s: only %zu of %zu verdicts agree", dir, agree, count);
}

/* Invariant: every Jepsen register history gets the verdict recorded in VERDICTS.tsv. */
Test(lin_data, jepsen_register_verdicts_match, .timeout = 120)
{
    check_folder("jepsen-register", 1);
}

/* Invariant: every Jepsen KV history gets the verdict recorded in VERDICTS.tsv. */
Test(lin_data, kv_histories_verdicts_match, .timeout = 120)
{
    check_folder("kv-histories", 1);
}
