/* Node configuration: INI parsing through inih with line numbers in every error, then checks. */
#include "node/config.h"

#include "workflows/wf_limits.h"

#include <assert.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_parse {
    struct node_config *config;
    const char *path;
    FILE *stream;
    uint32_t line; /* the line inih is handling, counted by config_reader */
    char *error;
    size_t error_len;
    int failed;
};

/* inih's reader: fgets that counts lines, so the handler can name the line of a bad key. */
static char *config_reader(char *str, int num, void *stream)
{
    struct config_parse *parse = stream;
    char *line = fgets(str, num, parse->stream);
    if (line != NULL) {
        parse->line++;
    }
    return line;
}

static int config_fail(struct config_parse *parse, const char *section, const char *key,
                       const char *what)
{
    snprintf(parse->error, parse->error_len, "%s:%u: [%s] %s: %s", parse->path, parse->line,
             section, key, what);
    parse->failed = 1;
    return 0; /* stop parsing */
}

/* Parses a decimal number in [min, max]. 0 or -1. */
static int config_u64(const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static struct node_config_member *config_member_for(struct config_parse *parse, uint32_t id)
{
    struct node_config *c = parse->config;
    for (uint32_t i = 0; i < c->member_count; i++) {
        if (c->members[i].id == id) {
            return &c->members[i];
        }
    }
    if (c->member_count == NODE_CONFIG_NODES_MAX) {
        return NULL;
    }
    struct node_config_member *m = &c->members[c->member_count++];
    memset(m, 0, sizeof(*m));
    m->id = id;
    return m;
}

static int config_address(struct config_parse *parse, const char *section, const char *key,
                          const char *value)
{
    uint64_t id = 0;
    if (config_u64(key, 1, UINT32_MAX, &id) != 0) {
        return config_fail(parse, section, key, "the key must be a node id (a positive number)");
    }
    struct node_config_member *m = config_member_for(parse, (uint32_t)id);
    if (m == NULL) {
        return config_fail(parse, section, key, "too many nodes");
    }
    int is_peer = strcmp(section, "peers") == 0;
    int *has = is_peer ? &m->has_peer : &m->has_client;
    if (*has) {
        return config_fail(parse, section, key, "given twice");
    }
    char why[NODE_ERROR_BYTES_MAX];
    if (node_addr_parse(value, is_peer ? &m->peer : &m->client, why, sizeof(why)) != 0) {
        return config_fail(parse, section, key, why);
    }
    *has = 1;
    return 1;
}

/* Numeric keys: section, key, bounds and where the value goes. */
static int config_number(struct config_parse *parse, const char *section, const char *key,
                         const char *value)
{
    struct node_config *c = parse->config;
    const struct {
        const char *section;
        const char *key;
        uint64_t min, max;
        uint32_t *u32;
        uint64_t *u64;
    } keys[] = {
        { "node", "id", 1, UINT32_MAX, &c->id, NULL },
        { "node", "tick_ms", 1, 10000, &c->tick_ms, NULL },
        { "raft", "election_timeout_ticks_min", 2, 100000, &c->election_timeout_ticks_min, NULL },
        { "raft", "election_timeout_ticks_max", 2, 100000, &c->election_timeout_ticks_max, NULL },
        { "raft", "heartbeat_ticks", 1, 100000, &c->heartbeat_ticks, NULL },
        { "workflows", "failover_grace_ms", 0, 86400000, NULL, &c->failover_grace_ms },
        { "workflows", "workflows_max", 1, WF_WORKFLOWS_MAX, &c->workflows_max, NULL },
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].section, section) != 0 || strcmp(keys[i].key, key) != 0) {
            continue;
        }
        uint64_t v = 0;
        if (config_u64(value, keys[i].min, keys[i].max, &v) != 0) {
            char why[96];
            snprintf(why, sizeof(why), "'%s' is not a number in %llu..%llu", value,
                     (unsigned long long)keys[i].min, (unsigned long long)keys[i].max);
            return config_fail(parse, section, key, why);
        }
        if (keys[i].u32 != NULL) {
            *keys[i].u32 = (uint32_t)v;
        } else {
            *keys[i].u64 = v;
        }
        return 1;
    }
    return config_fail(parse, section, key, "unknown key");
}

static int config_handler(void *user, const char *section, const char *key, const char *value)
{
    struct config_parse *parse = user;
    if (strcmp(section, "peers") == 0 || strcmp(section, "clients") == 0) {
        return config_address(parse, section, key, value);
    }
    if (strcmp(section, "node") == 0 && strcmp(key, "data_dir") == 0) {
        if (value[0] == '\0' || strlen(value) >= sizeof(parse->config->data_dir)) {
            return config_fail(parse, section, key, "must be a path of 1..255 bytes");
        }
        strcpy(parse->config->data_dir, value);
        return 1;
    }
    return config_number(parse, section, key, value);
}

/* Checks that need the whole file. 0 or -1. */
static int config_validate(struct config_parse *parse)
{
    struct node_config *c = parse->config;
    const char *why = NULL;
    if (c->id == 0) {
        why = "[node] id is missing";
    } else if (c->data_dir[0] == '\0') {
        why = "[node] data_dir is missing";
    } else if (node_config_member(c, c->id) == NULL) {
        why = "[node] id is not one of the ids under [peers]";
    } else if (c->election_timeout_ticks_min > c->election_timeout_ticks_max) {
        why = "[raft] election_timeout_ticks_min is above election_timeout_ticks_max";
    } else if (c->heartbeat_ticks >= c->election_timeout_ticks_min) {
        why = "[raft] heartbeat_ticks must be below election_timeout_ticks_min";
    }
    for (uint32_t i = 0; why == NULL && i < c->member_count; i++) {
        if (!c->members[i].has_peer) {
            why = "a node under [clients] has no address under [peers]";
        } else if (!c->members[i].has_client) {
            why = "a node under [peers] has no address under [clients]";
        }
    }
    if (why != NULL) {
        snprintf(parse->error, parse->error_len, "%s: %s", parse->path, why);
        return -1;
    }
    return 0;
}

int node_config_load(const char *path, struct node_config *config, char *error, size_t error_len)
{
    assert(path != NULL);
    assert(config != NULL);
    memset(config, 0, sizeof(*config));
    config->tick_ms = 10;
    config->election_timeout_ticks_min = 15;
    config->election_timeout_ticks_max = 30;
    config->heartbeat_ticks = 3;
    config->failover_grace_ms = 5000;
    config->workflows_max = WF_WORKFLOWS_MAX;
    struct config_parse parse = {
        .config = config, .path = path, .error = error, .error_len = error_len
    };
    parse.stream = fopen(path, "r");
    if (parse.stream == NULL) {
        snprintf(error, error_len, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(config_reader, &parse, config_handler, &parse);
    fclose(parse.stream);
    if (parse.failed) {
        return -1;
    }
    if (rc != 0) {
        snprintf(error, error_len,
                 "%s:%d: syntax error: expected [section], key = value or a "
                 "comment",
                 path, rc);
        return -1;
    }
    return config_validate(&parse);
}

const struct node_config_member *node_config_member(const struct node_config *config, uint32_t id)
{
    assert(config != NULL);
    for (uint32_t i = 0; i < config->member_count; i++) {
        if (config->members[i].id == id) {
            return &config->members[i];
        }
    }
    return NULL;
}
