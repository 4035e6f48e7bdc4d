/* File names of a storage directory: fixed-width hex fields, and removing leftover files by name.
 */
#ifndef FLOWRAFT_STORAGE_NAMES_H
#define FLOWRAFT_STORAGE_NAMES_H

#include "storage/error.h"
#include "storage/fs.h"

#include <stdbool.h>
#include <stdint.h>

#define STORAGE_HEX16_CHARS        16u /* a uint64_t in a file name: 16 lowercase hex digits */
#define STORAGE_UNLINK_BATCH_NAMES 64u /* names collected per listing pass */

/* Parses exactly 16 lowercase hex digits at `in` (which must hold at least 16 characters) into
 * *out. False (and *out untouched) when any of them is not [0-9a-f]. */
bool storage_hex16_parse(const char *in, uint64_t *out);

/* Unlinks every file of `dir` whose name `match` accepts, in passes of STORAGE_UNLINK_BATCH_NAMES
 * names (the callback of a listing must not call the file system), at most expected / batch + 2
 * passes: `expected` is how many the caller saw, so the loop is bounded even if more appear.
 * Does not sync the directory: the caller does, once. *removed counts the unlinks. */
int storage_unlink_matching(struct fs *fs, const char *dir, bool (*match)(const char *name),
                            uint32_t expected, uint32_t *removed, struct storage_error *err);

#endif
