/* The deliberately broken variants (--bug NAME): one table of their names, bits and meanings. */
#ifndef FLOWRAFT_SIM_BUGS_H
#define FLOWRAFT_SIM_BUGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Sets the bit of the variant called `name` in *raft_test_bugs (enum raft_test_bug) or
 * *sim_bugs (enum sim_bug); returns -1 and sets nothing if no variant has that name. */
int sim_bug_parse(const char *name, uint32_t *raft_test_bugs, uint32_t *sim_bugs);

/* Prints every variant's name and what it breaks, one per line. */
void sim_bug_list(FILE *out);

/* Writes " --bug NAME" for every variant set in the two bit sets, in table order, into out
 * (always terminated when size > 0); returns the length the words need, like snprintf. */
size_t sim_bug_words(uint32_t raft_test_bugs, uint32_t sim_bugs, char *out, size_t size);

#endif
