/* Delay distributions: sampling from a PRNG and parsing their specs from scenario files. */
#include "sim/dist.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_DURATION_US_MAX (UINT64_C(1) << 50) /* ~35 years: guards against overflow */

static uint64_t sim_dist_clamp(double value, uint64_t min_us, uint64_t max_us)
{
    if (!(value >= (double)min_us)) { /* also catches NaN */
        return min_us;
    }
    if (value >= (double)max_us) {
        return max_us;
    }
    return (uint64_t)value;
}

uint64_t sim_dist_sample(const struct sim_dist *dist, struct prng *prng)
{
    assert(dist != NULL);
    assert(dist->min_us <= dist->max_us);
    switch (dist->kind) {
    case SIM_DIST_CONSTANT:
        return dist->min_us;
    case SIM_DIST_UNIFORM:
        return prng_range(prng, dist->min_us, dist->max_us);
    case SIM_DIST_EXPONENTIAL: {
        double scale = (double)(dist->mean_us - dist->min_us);
        double sample = (double)dist->min_us - scale * log(1.0 - prng_unit(prng));
        return sim_dist_clamp(sample, dist->min_us, dist->max_us);
    }
    case SIM_DIST_NORMAL: {
        /* Box-Muller; one of the pair is discarded so that every sample costs two draws. */
        double u1 = 1.0 - prng_unit(prng); /* (0, 1], so log is finite */
        double u2 = prng_unit(prng);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
        double sample = (double)dist->mean_us + z * (double)dist->stddev_us;
        return sim_dist_clamp(sample, dist->min_us, dist->max_us);
    }
    case SIM_DIST_PARETO: {
        assert(dist->shape > 0.0);
        double u = 1.0 - prng_unit(prng); /* (0, 1] */
        double sample = (double)dist->min_us * pow(u, -1.0 / dist->shape);
        return sim_dist_clamp(sample, dist->min_us, dist->max_us);
    }
    }
    assert(0 && "unknown distribution kind");
    return dist->min_us;
}

int sim_parse_duration_us(const char *text, uint64_t *out_us)
{
    assert(text != NULL);
    assert(out_us != NULL);
    const char *p = text;
    uint64_t whole = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (whole > SIM_DURATION_US_MAX) {
            return -1;
        }
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    uint64_t fraction_micro = 0; /* the fraction in millionths of the unit */
    if (*p == '.') {
        p++;
        uint64_t scale = 100000;
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
            fraction_micro += (uint64_t)(*p - '0') * scale;
            scale /= 10;
        }
    }
    if (digits == 0) {
        return -1;
    }
    uint64_t unit_us = 0;
    if (strcmp(p, "us") == 0) {
        unit_us = 1;
    } else if (strcmp(p, "ms") == 0) {
        unit_us = 1000;
    } else if (strcmp(p, "s") == 0) {
        unit_us = 1000000;
    } else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0) {
        unit_us = 60000000;
    } else if (*p == '\0' && whole == 0 && fraction_micro == 0) {
        unit_us = 1; /* a bare 0 needs no unit */
    } else {
        return -1;
    }
    if (whole > SIM_DURATION_US_MAX / unit_us) {
        return -1;
    }
    *out_us = whole * unit_us + fraction_micro * unit_us / 1000000;
    return 0;
}

static int sim_dist_fail(char *error, size_t size, const char *what, const char *token)
{
    snprintf(error, size, "%s '%s'", what, token);
    return -1;
}

/* Applies one "key=value" token of a distribution spec. */
static int sim_dist_keyword(struct sim_dist *dist, const char *token, const char *eq,
                            int *max_given, char *error, size_t size)
{
    char key[16];
    size_t key_len = (size_t)(eq - token);
    if (key_len == 0 || key_len >= sizeof(key)) {
        return sim_dist_fail(error, size, "bad parameter", token);
    }
    memcpy(key, token, key_len);
    key[key_len] = '\0';
    const char *value = eq + 1;
    if (strcmp(key, "shape") == 0) {
        char *end = NULL;
        errno = 0;
        dist->shape = strtod(value, &end);
        if (errno != 0 || end == value || *end != '\0' || !(dist->shape > 0.0) ||
            dist->shape > 100.0) {
            return sim_dist_fail(error, size, "shape must be a number in (0, 100], got", value);
        }
        return 0;
    }
    uint64_t us = 0;
    if (sim_parse_duration_us(value, &us) != 0) {
        return sim_dist_fail(error, size, "bad duration (use a unit: us, ms, s, m)", value);
    }
    if (strcmp(key, "min") == 0) {
        dist->min_us = us;
    } else if (strcmp(key, "max") == 0) {
        dist->max_us = us;
        *max_given = 1;
    } else if (strcmp(key, "mean") == 0) {
        dist->mean_us = us;
    } else if (strcmp(key, "stddev") == 0) {
        dist->stddev_us = us;
    } else {
        return sim_dist_fail(error, size, "unknown parameter (min, max, mean, stddev, shape)", key);
    }
    return 0;
}

/* Applies the `position`-th (1-based) bare duration: constant VALUE, uniform MIN MAX. */
static int sim_dist_positional(struct sim_dist *dist, const char *token, int position,
                               int *max_given, char *error, size_t size)
{
    uint64_t us = 0;
    if (sim_parse_duration_us(token, &us) != 0) {
        return sim_dist_fail(error, size, "bad duration (use a unit: us, ms, s, m)", token);
    }
    if (position == 1 && (dist->kind == SIM_DIST_CONSTANT || dist->kind == SIM_DIST_UNIFORM)) {
        dist->min_us = us;
    } else if (position == 2 && dist->kind == SIM_DIST_UNIFORM) {
        dist->max_us = us;
        *max_given = 1;
    } else {
        return sim_dist_fail(error, size, "unexpected value (use key=value)", token);
    }
    return 0;
}

static int sim_dist_kind_parse(const char *word, struct sim_dist *dist)
{
    static const struct {
        const char *name;
        enum sim_dist_kind kind;
    } kinds[] = {
        { "constant", SIM_DIST_CONSTANT },       { "uniform", SIM_DIST_UNIFORM },
        { "exponential", SIM_DIST_EXPONENTIAL }, { "normal", SIM_DIST_NORMAL },
        { "pareto", SIM_DIST_PARETO },
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(word, kinds[i].name) == 0) {
            dist->kind = kinds[i].kind;
            return 0;
        }
    }
    return -1;
}

/* Fills unset bounds with defaults and checks min <= mean <= max. */
static int sim_dist_validate(struct sim_dist *dist, int max_given, char *error, size_t size)
{
    if (!max_given) {
        switch (dist->kind) {
        case SIM_DIST_CONSTANT:
        case SIM_DIST_UNIFORM:
            dist->max_us = dist->min_us;
            break;
        case SIM_DIST_EXPONENTIAL:
        case SIM_DIST_PARETO:
            dist->max_us = (dist->mean_us > dist->min_us ? dist->mean_us : dist->min_us) * 20;
            break;
        case SIM_DIST_NORMAL:
            dist->max_us = dist->mean_us + 6 * dist->stddev_us;
            break;
        }
    }
    if (dist->kind == SIM_DIST_CONSTANT) {
        dist->max_us = dist->min_us;
    }
    if (dist->kind == SIM_DIST_PARETO && dist->min_us == 0) {
        snprintf(error, size, "pareto needs min > 0");
        return -1;
    }
    if (dist->kind == SIM_DIST_PARETO && !(dist->shape > 0.0)) {
        snprintf(error, size, "pareto needs shape=NUMBER");
        return -1;
    }
    if (dist->min_us > dist->max_us) {
        snprintf(error, size, "min %" PRIu64 "us is above max %" PRIu64 "us", dist->min_us,
                 dist->max_us);
        return -1;
    }
    if ((dist->kind == SIM_DIST_EXPONENTIAL || dist->kind == SIM_DIST_NORMAL) &&
        (dist->mean_us < dist->min_us || dist->mean_us > dist->max_us)) {
        snprintf(error, size, "mean must lie within [min, max]");
        return -1;
    }
    return 0;
}

int sim_dist_parse(const char *text, struct sim_dist *dist, char *error, size_t error_size)
{
    assert(text != NULL);
    assert(dist != NULL);
    memset(dist, 0, sizeof(*dist));
    char copy[256];
    if (strlen(text) >= sizeof(copy)) {
        snprintf(error, error_size, "distribution spec too long");
        return -1;
    }
    strcpy(copy, text);
    char *save = NULL;
    char *word = strtok_r(copy, " \t", &save);
    if (word == NULL) {
        snprintf(error, error_size, "empty distribution");
        return -1;
    }
    char *token = NULL;
    if (sim_dist_kind_parse(word, dist) == 0) {
        token = strtok_r(NULL, " \t", &save);
    } else {
        dist->kind = SIM_DIST_CONSTANT; /* a bare duration: "5ms" */
        token = word;
    }
    if (token == NULL) {
        snprintf(error, error_size, "'%s' needs parameters", word);
        return -1;
    }
    int max_given = 0;
    int position = 0;
    for (int tokens = 0; token != NULL; token = strtok_r(NULL, " \t", &save)) {
        if (++tokens > 8) {
            snprintf(error, error_size, "too many parameters");
            return -1;
        }
        const char *eq = strchr(token, '=');
        int rc = eq != NULL
                     ? sim_dist_keyword(dist, token, eq, &max_given, error, error_size)
                     : sim_dist_positional(dist, token, ++position, &max_given, error, error_size);
        if (rc != 0) {
            return -1;
        }
    }
    if (dist->kind == SIM_DIST_UNIFORM && !max_given) {
        snprintf(error, error_size, "uniform needs two bounds: uniform MIN MAX");
        return -1;
    }
    return sim_dist_validate(dist, max_given, error, error_size);
}

void sim_dist_format(const struct sim_dist *dist, char *out, size_t size)
{
    assert(dist != NULL);
    switch (dist->kind) {
    case SIM_DIST_CONSTANT:
        snprintf(out, size, "constant %" PRIu64 "us", dist->min_us);
        return;
    case SIM_DIST_UNIFORM:
        snprintf(out, size, "uniform %" PRIu64 "us %" PRIu64 "us", dist->min_us, dist->max_us);
        return;
    case SIM_DIST_EXPONENTIAL:
        snprintf(out, size, "exponential min=%" PRIu64 "us mean=%" PRIu64 "us max=%" PRIu64 "us",
                 dist->min_us, dist->mean_us, dist->max_us);
        return;
    case SIM_DIST_NORMAL:
        snprintf(out, size,
                 "normal min=%" PRIu64 "us mean=%" PRIu64 "us stddev=%" PRIu64 "us max=%" PRIu64
                 "us",
                 dist->min_us, dist->mean_us, dist->stddev_us, dist->max_us);
        return;
    case SIM_DIST_PARETO:
        snprintf(out, size, "pareto min=%" PRIu64 "us shape=%g max=%" PRIu64 "us", dist->min_us,
                 dist->shape, dist->max_us);
        return;
    }
    snprintf(out, size, "?");
}
