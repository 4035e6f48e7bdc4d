/* Raft hard state {term, vote, commit}: saved durably, never going backwards, torn-write safe. */
#ifndef FLOWRAFT_STORAGE_HARDSTATE_H
#define FLOWRAFT_STORAGE_HARDSTATE_H

#include "storage/error.h"
#include "storage/fs.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * File "hardstate" in the storage directory holds two copies ("slots") of the state, at offsets 0
 * and 4096 (different sectors), each 64 bytes, checksummed and sequence-numbered:
 *
 *   offset  size  field
 *   0       8     magic "FRHSTATE"
 *   8       4     format version (1)
 *   12      4     reserved, zero
 *   16      8     sequence number (+1 per save)
 *   24      8     term
 *   32      8     vote (node id, HARDSTATE_VOTE_NONE = 0 for none)
 *   40      8     commit index
 *   48      8     reserved, zero
 *   56      8     XXH3-64 of bytes [0, 56) seeded with HARDSTATE_SEED
 *
 * A save writes slot A, syncs, writes slot B, syncs; it is acknowledged when both are durable, so
 * after an acknowledged save both slots hold it. A crash tears at most the slot being written
 * while the other holds the previous or the new state. Recovery's repair copies the chosen slot
 * over a damaged or older one (never touching the chosen one), so every save starts from two
 * equal slots and the slots always satisfy A == B or A == B + 1. The first save creates the file
 * complete through "hardstate.tmp", sync, rename, directory sync.
 *
 * Load decision table (tests in tests/storage/test_hardstate.c, load_<row>_...):
 *   H1  no file                          -> fresh state {0, NONE, 0}
 *   H2  both slots valid, same sequence  -> that state (contents must match, else ECORRUPT)
 *   H3  both valid, A = B + 1            -> A (crash after A was synced, before B was); repair
 *                                           copies A over B
 *   H4  both valid, any other sequences  -> STORAGE_ECORRUPT (the protocol cannot produce it)
 *   H5  exactly one slot valid           -> that slot (the other was torn by a crash or damaged at
 *                                           rest; repair rewrites it). Never goes backwards: an
 *                                           acknowledged state is in both slots.
 *   H6  no valid slot                    -> STORAGE_ECORRUPT naming the file (EFORMAT when neither
 *                                           slot even has the magic): refuse to start
 *   H7  a slot with a valid checksum but
 *       another format version           -> STORAGE_EFORMAT naming the file and offset
 *   H8  leftover "hardstate.tmp"         -> removed by hardstate_repair
 */

#define HARDSTATE_VOTE_NONE   0u
#define HARDSTATE_FILE_NAME   "hardstate"
#define HARDSTATE_TEMP_NAME   "hardstate.tmp"
#define HARDSTATE_SLOT_BYTES  64u
#define HARDSTATE_SLOT_OFFSET 4096u /* of slot B; slot A is at 0 */
#define HARDSTATE_SEED        0x46524853544154ULL

struct hardstate {
    uint64_t term;   /* invariant: never decreases across saves */
    uint64_t vote;   /* within one term: NONE, then at most one node, never changed (Raft §5.2) */
    uint64_t commit; /* invariant: never decreases across saves */
};

struct hardstate_recovery {
    bool found;           /* a state file existed */
    bool slot_damaged[2]; /* slot A / B invalid (torn or damaged); repair rewrites it */
    bool temp_file;       /* a leftover hardstate.tmp; repair removes it */
    uint64_t sequence;    /* sequence number of the state loaded */
};

struct hardstate_file;

/* Loads the hard state from `dir` without modifying anything (table above). */
int hardstate_open(struct fs *fs, const char *dir, struct hardstate_file **out,
                   struct hardstate *state, struct hardstate_recovery *recovery,
                   struct storage_error *err);

/* Removes a leftover temp file, rewrites a damaged or older slot, and makes the loaded state
 * durable (file and directory synced: it may have been read from the page cache of a process that
 * died before its sync). */
int hardstate_repair(struct hardstate_file *file, struct storage_error *err);

/* Saves `state` durably. STORAGE_EREGRESS (nothing written) if the term or commit would decrease
 * or the vote would change within a term. After an I/O error: STORAGE_EFAILED until reopened. */
int hardstate_save(struct hardstate_file *file, const struct hardstate *state,
                   struct storage_error *err);

/* The last state loaded or saved. */
struct hardstate hardstate_current(const struct hardstate_file *file);

/* Releases everything; never writes (also the way to drop it after a crash). */
void hardstate_close(struct hardstate_file *file);

/* True when `name` is one of the hard state's file names. */
bool hardstate_name_parse(const char *name, bool *is_temp);

#endif
