/* Tests for node/config: a valid file loads; every kind of mistake names file, line and key. */
#include "node/config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *write_config(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/flowraft-node-config-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static const char *good =
    "[node]\nid = 2\ndata_dir = /tmp/x\n\n[peers]\n1 = 127.0.0.1:7001\n2 = localhost:7002\n"
    "[clients]\n1 = 127.0.0.1:8001\n2 = 127.0.0.1:8002\n[raft]\nheartbeat_ticks = 2\n";

/* Invariant: a valid file gives exactly the values written, defaults elsewhere. */
Test(node_config, valid_file_loads)
{
    const char *path = write_config(good);
    struct node_config c;
    char error[512];
    cr_assert_eq(node_config_load(path, &c, error, sizeof(error)), 0, "%s", error);
    unlink(path);
    cr_assert_eq(c.id, 2);
    cr_assert_str_eq(c.data_dir, "/tmp/x");
    cr_assert_eq(c.member_count, 2);
    cr_assert_eq(c.heartbeat_ticks, 2);
    cr_assert_eq(c.tick_ms, 10);
    const struct node_config_member *m = node_config_member(&c, 2);
    cr_assert_not_null(m);
    cr_assert_str_eq(m->peer.host, "localhost");
    cr_assert_eq(m->peer.port, 7002);
    cr_assert_eq(m->client.port, 8002);
}

static void expect_error(const char *text, const char *fragment)
{
    const char *path = write_config(text);
    struct node_config c;
    char error[512];
    cr_assert_eq(node_config_load(path, &c, error, sizeof(error)), -1, "accepted: %s", text);
    unlink(path);
    cr_assert(strstr(error, path) != NULL, "no file name in: %s", error);
    cr_assert(strstr(error, fragment) != NULL, "'%s' not in: %s", fragment, error);
}

/* Invariant: bad input is an error naming the file, the line and the key. */
Test(node_config, mistakes_name_file_line_and_key)
{
    expect_error("[node]\nid = 1\nid_typo = 3\n", ":3: [node] id_typo: unknown key");
    expect_error("[node]\nid = x\n", ":2: [node] id:");
    expect_error("[peers]\n1 = nohostport\n", ":2: [peers] 1:");
    expect_error("[peers]\n1 = h:70000\n", "port must be");
    expect_error("[peers]\n0 = h:1\n", "node id");
    expect_error("[peers]\n1 = h:1\n1 = h:2\n", ":3: [peers] 1: given twice");
    expect_error("[node]\nthis line has no equals\n", ":2: syntax error");
    expect_error("[node]\ndata_dir = /d\n[peers]\n1 = h:1\n[clients]\n1 = h:2\n", "id is missing");
    expect_error("[node]\nid = 3\ndata_dir = /d\n[peers]\n1 = h:1\n[clients]\n1 = h:2\n",
                 "not one of the ids");
    expect_error("[node]\nid = 1\ndata_dir = /d\n[peers]\n1 = h:1\n", "no address under [clients]");
    expect_error("[node]\nid = 1\ndata_dir = /d\n[peers]\n1 = h:1\n[clients]\n1 = h:2\n[raft]\n"
                 "heartbeat_ticks = 50\n",
                 "heartbeat_ticks must be below");
}

/* Invariant: a missing file is an error naming it. */
Test(node_config, missing_file_is_named)
{
    struct node_config c;
    char error[512];
    cr_assert_eq(node_config_load("/nonexistent/flowraft.ini", &c, error, sizeof(error)), -1);
    cr_assert(strstr(error, "/nonexistent/flowraft.ini") != NULL, "%s", error);
}
