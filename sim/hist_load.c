/* Reading history files: format names, format detection, and dispatch to the right parser. */
#include "sim/hist.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const hist_format_names[] = {
    [HIST_FORMAT_AUTO] = "auto",
    [HIST_FORMAT_JEPSEN_REGISTER] = "jepsen-register",
    [HIST_FORMAT_JEPSEN_KV] = "jepsen-kv",
    [HIST_FORMAT_FLOWRAFT] = "flowraft",
};

#define HIST_FORMATS_COUNT (sizeof(hist_format_names) / sizeof(hist_format_names[0]))

const char *hist_format_name(enum hist_format format)
{
    return (size_t)format < HIST_FORMATS_COUNT ? hist_format_names[format] : "?";
}

int hist_format_from_name(const char *name, enum hist_format *format_out)
{
    assert(name != NULL && format_out != NULL);
    for (size_t i = 0; i < HIST_FORMATS_COUNT; i++) {
        if (strcmp(name, hist_format_names[i]) == 0) {
            *format_out = (enum hist_format)i;
            return 0;
        }
    }
    return -1;
}

static int hist_line_contains(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *q = p; q + n <= end; q++) {
        if (memcmp(q, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

enum hist_format hist_format_detect(const char *data, size_t len)
{
    const char *p = data;
    const char *end = data + len;
    while (p < end) { /* bounded: every iteration moves p forward by one line */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl != NULL ? nl : end;
        while (p < line_end && (*p == ' ' || *p == '\t' || *p == '\r')) {
            p++;
        }
        if (p < line_end && *p != '#') {
            size_t magic = strlen(HIST_TEXT_MAGIC);
            if ((size_t)(line_end - p) >= magic && memcmp(p, HIST_TEXT_MAGIC, magic) == 0) {
                return HIST_FORMAT_FLOWRAFT;
            }
            if (*p == '{') {
                return HIST_FORMAT_JEPSEN_KV;
            }
            if (hist_line_contains(p, line_end, "jepsen.util - ")) {
                return HIST_FORMAT_JEPSEN_REGISTER;
            }
            return HIST_FORMAT_AUTO;
        }
        p = line_end + (line_end < end);
    }
    return HIST_FORMAT_AUTO;
}

int hist_parse(struct hist *hist, enum hist_format format, const char *name, const char *data,
               size_t len)
{
    assert(hist != NULL && name != NULL);
    if (format == HIST_FORMAT_AUTO) {
        format = hist_format_detect(data, len);
    }
    switch (format) {
    case HIST_FORMAT_JEPSEN_REGISTER:
        return hist_parse_jepsen_register(hist, name, data, len);
    case HIST_FORMAT_JEPSEN_KV:
        return hist_parse_jepsen_kv(hist, name, data, len);
    case HIST_FORMAT_FLOWRAFT:
        return hist_parse_text(hist, name, data, len);
    case HIST_FORMAT_AUTO:
        break;
    }
    hist_init(hist, HIST_MODEL_REGISTER, 1);
    return hist_fail(hist, HIST_E_PARSE,
                     "%s: cannot tell the format from the first line (empty file?); "
                     "use --format jepsen-register, jepsen-kv or flowraft",
                     name);
}

/* Reads the whole file into a new buffer (*data_out, owned by the caller). */
static int hist_read_file(struct hist *hist, const char *path, char **data_out, size_t *len_out)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        return hist_fail(hist, HIST_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    int err = HIST_E_OK;
    size_t cap = 1 << 16;
    size_t len = 0;
    char *data = malloc(cap);
    while (data != NULL && err == HIST_E_OK) { /* bounded by HIST_FILE_BYTES_MAX */
        len += fread(data + len, 1, cap - len, file);
        if (len < cap) {
            break;
        }
        if (cap >= HIST_FILE_BYTES_MAX) {
            err = hist_fail(hist, HIST_E_IO, "%s: larger than HIST_FILE_BYTES_MAX (%u bytes)", path,
                            HIST_FILE_BYTES_MAX);
            break;
        }
        char *grown = realloc(data, cap * 2);
        if (grown == NULL) {
            break;
        }
        data = grown;
        cap *= 2;
    }
    if (err == HIST_E_OK && (data == NULL || len == cap)) {
        err = hist_fail(hist, HIST_E_NOMEM, "%s: out of memory reading the file", path);
    }
    if (err == HIST_E_OK && ferror(file)) {
        err = hist_fail(hist, HIST_E_IO, "%s: read error: %s", path, strerror(errno));
    }
    fclose(file);
    if (err != HIST_E_OK) {
        free(data);
        return err;
    }
    *data_out = data;
    *len_out = len;
    return HIST_E_OK;
}

int hist_load(struct hist *hist, enum hist_format format, const char *path)
{
    assert(hist != NULL && path != NULL);
    char *data = NULL;
    size_t len = 0;
    hist_init(hist, HIST_MODEL_REGISTER, 1);
    int err = hist_read_file(hist, path, &data, &len);
    if (err != HIST_E_OK) {
        return err;
    }
    err = hist_parse(hist, format, path, data, len);
    free(data);
    return err;
}
