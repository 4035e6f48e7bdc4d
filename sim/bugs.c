/* The deliberately broken variants (--bug NAME): one table of their names, bits and meanings. */
#include "sim/bugs.h"

#include "core/raft.h"
#include "sim/world.h"

#include <assert.h>
#include <string.h>

static const struct {
    const char *name;
    uint32_t bit;
    int sim; /* 1: a bit of enum sim_bug, 0: of enum raft_test_bug */
    const char *what;
} sim_bugs_table[] = {
    { "double-vote", RAFT_BUG_DOUBLE_VOTE, 0, "the core grants two votes in one term" },
    { "commit-previous-term", RAFT_BUG_COMMIT_PREVIOUS_TERM, 0,
      "the core commits by counting replicas of a previous-term entry (Figure 8)" },
    { "snapshot-truncates-newer-log", RAFT_BUG_SNAPSHOT_TRUNCATES_NEWER_LOG, 0,
      "the core drops entries newer than an installed snapshot" },
    { "read-without-quorum", RAFT_BUG_READ_WITHOUT_QUORUM, 0,
      "a leader serves ReadIndex reads without confirming its leadership with a quorum" },
    { "read-before-noop-commit", RAFT_BUG_READ_BEFORE_NOOP_COMMIT, 0,
      "a new leader takes ReadIndex reads before its term's no-op commits" },
    { "unsafe-config-change", RAFT_BUG_UNSAFE_CONFIG_CHANGE, 0,
      "membership changes apply directly (no joint consensus), before the previous commits" },
    { "ack-before-sync", SIM_BUG_ACK_BEFORE_SYNC, 1,
      "nodes send messages before their writes are durable" },
    { "stale-read", SIM_BUG_STALE_READ, 1,
      "any node answers a get from its local state, without the log" },
    { "wf-ledger-bypass", SIM_BUG_WF_LEDGER_BYPASS, 1,
      "workers call the side-effect ledger without the idempotency key" },
    { "wf-dispatch-uncommitted", SIM_BUG_WF_DISPATCH_UNCOMMITTED, 1,
      "the leader sends an assignment when it proposes the start, before it commits" },
    { "wf-apply-uncommitted", SIM_BUG_WF_APPLY_UNCOMMITTED, 1,
      "followers apply workflow commands when they append them, before they commit" },
};

#define SIM_BUGS_COUNT (sizeof(sim_bugs_table) / sizeof(sim_bugs_table[0]))

int sim_bug_parse(const char *name, uint32_t *raft_test_bugs, uint32_t *sim_bugs)
{
    assert(name != NULL);
    assert(raft_test_bugs != NULL && sim_bugs != NULL);
    for (size_t i = 0; i < SIM_BUGS_COUNT; i++) {
        if (strcmp(name, sim_bugs_table[i].name) == 0) {
            *(sim_bugs_table[i].sim ? sim_bugs : raft_test_bugs) |= sim_bugs_table[i].bit;
            return 0;
        }
    }
    return -1;
}

void sim_bug_list(FILE *out)
{
    assert(out != NULL);
    for (size_t i = 0; i < SIM_BUGS_COUNT; i++) {
        fprintf(out, "  %-28s %s\n", sim_bugs_table[i].name, sim_bugs_table[i].what);
    }
}

size_t sim_bug_words(uint32_t raft_test_bugs, uint32_t sim_bugs, char *out, size_t size)
{
    assert(out != NULL || size == 0);
    size_t used = 0;
    if (size > 0) {
        out[0] = '\0';
    }
    for (size_t i = 0; i < SIM_BUGS_COUNT; i++) {
        uint32_t set = sim_bugs_table[i].sim ? sim_bugs : raft_test_bugs;
        if ((set & sim_bugs_table[i].bit) == 0) {
            continue;
        }
        size_t room = used < size ? size - used : 0;
        int n = snprintf(room > 0 ? out + used : NULL, room, " --bug %s", sim_bugs_table[i].name);
        assert(n > 0);
        used += (size_t)n;
    }
    return used;
}
