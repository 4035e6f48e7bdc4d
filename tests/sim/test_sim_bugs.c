/* Tests for sim/bugs: the one table that --bug parsing, the bug list and reproduce lines share. */
#include "core/raft.h"
#include "sim/bugs.h"
#include "sim/world.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define NAMES_MAX 32

/* The names sim_bug_list prints, in order; returns how many. */
static size_t listed_names(char names[NAMES_MAX][64])
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert_not_null(out);
    sim_bug_list(out);
    fclose(out);
    size_t count = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        cr_assert_lt(count, NAMES_MAX);
        cr_assert_eq(sscanf(line, " %63s", names[count]), 1, "%s", line);
        count++;
    }
    free(text);
    return count;
}

/* Invariant: every listed variant parses to exactly one bit, and a run with that bit writes back
 * exactly " --bug NAME" (a reproduce command re-creates the same broken variant). */
Test(sim_bugs, every_listed_name_round_trips_through_its_bit)
{
    char names[NAMES_MAX][64];
    size_t count = listed_names(names);
    cr_assert_geq(count, 11, "the list has every variant");
    uint32_t all_raft = 0;
    uint32_t all_sim = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t raft = 0;
        uint32_t sim = 0;
        cr_assert_eq(sim_bug_parse(names[i], &raft, &sim), 0, "%s", names[i]);
        cr_assert_eq(__builtin_popcount(raft) + __builtin_popcount(sim), 1, "%s", names[i]);
        cr_assert_eq((raft & all_raft) | (sim & all_sim), 0, "%s shares a bit", names[i]);
        all_raft |= raft;
        all_sim |= sim;
        char words[128];
        char expected[128];
        snprintf(expected, sizeof(expected), " --bug %s", names[i]);
        size_t need = sim_bug_words(raft, sim, words, sizeof(words));
        cr_assert_str_eq(words, expected);
        cr_assert_eq(need, strlen(expected));
    }
    /* The broken variants the simulator's tests rely on are among them. */
    cr_assert(all_raft & RAFT_BUG_READ_WITHOUT_QUORUM);
    cr_assert(all_raft & RAFT_BUG_UNSAFE_CONFIG_CHANGE);
    cr_assert(all_sim & SIM_BUG_WF_APPLY_UNCOMMITTED);
}

/* Invariant: an unknown name sets nothing; words that do not fit are cut, terminated, and the
 * length they need is still returned. */
Test(sim_bugs, unknown_names_and_short_buffers)
{
    uint32_t raft = 0;
    uint32_t sim = 0;
    cr_assert_eq(sim_bug_parse("double-votes", &raft, &sim), -1);
    cr_assert_eq(sim_bug_parse("", &raft, &sim), -1);
    cr_assert_eq(raft | sim, 0);
    cr_assert_eq(sim_bug_parse("double-vote", &raft, &sim), 0);
    cr_assert_eq(sim_bug_parse("stale-read", &raft, &sim), 0);
    char words[64];
    cr_assert_eq(sim_bug_words(raft, sim, words, sizeof(words)),
                 strlen(" --bug double-vote --bug stale-read"));
    cr_assert_str_eq(words, " --bug double-vote --bug stale-read");
    char small[10];
    cr_assert_eq(sim_bug_words(raft, sim, small, sizeof(small)), strlen(words));
    cr_assert_str_eq(small, " --bug do");
    cr_assert_eq(sim_bug_words(0, 0, words, sizeof(words)), 0);
    cr_assert_str_eq(words, "");
}
