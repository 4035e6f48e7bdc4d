/* Hard state persistence in two checksummed, sequence-numbered slots (format in hardstate.h). */
#include "storage/hardstate.h"

#include "core/hash.h"
#include "core/bytes.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HARDSTATE_VERSION    1u
#define HARDSTATE_FILE_BYTES (HARDSTATE_SLOT_OFFSET + HARDSTATE_SLOT_BYTES)

static const uint8_t hardstate_magic[8] = { 'F', 'R', 'H', 'S', 'T', 'A', 'T', 'E' };
static const uint64_t hardstate_slot_offsets[2] = { 0, HARDSTATE_SLOT_OFFSET };

struct hardstate_file {
    struct fs *fs;
    char dir[FS_PATH_BYTES_MAX];
    char path[FS_PATH_BYTES_MAX];
    char temp_path[FS_PATH_BYTES_MAX];
    struct fs_file *file;   /* read-write handle once the file exists and is repaired */
    struct hardstate state; /* last loaded or saved */
    uint64_t sequence;      /* of `state`; 0 when nothing was ever saved */
    bool exists;            /* the file is durably in place */
    bool failed;            /* a write or sync failed: saves refuse until reopened */
    bool repaired;
    bool stale[2]; /* slot damaged or behind the chosen one: repair rewrites it */
    struct hardstate_recovery recovery;
};

enum hardstate_slot_kind {
    HARDSTATE_SLOT_VALID,
    HARDSTATE_SLOT_INVALID, /* has the magic but is torn or damaged, or is cut short */
    HARDSTATE_SLOT_FOREIGN, /* no magic: missing (file too short) or not ours */
    HARDSTATE_SLOT_VERSION, /* checksum fine, unknown version */
};

struct hardstate_slot {
    enum hardstate_slot_kind kind;
    uint64_t sequence;
    struct hardstate state;
};

bool hardstate_name_parse(const char *name, bool *is_temp)
{
    assert(name != NULL && is_temp != NULL);
    *is_temp = strcmp(name, HARDSTATE_TEMP_NAME) == 0;
    return *is_temp || strcmp(name, HARDSTATE_FILE_NAME) == 0;
}

static void hardstate_slot_encode(uint8_t *out, uint64_t sequence, const struct hardstate *state)
{
    assert(out != NULL && state != NULL);
    assert(sequence >= 1);
    memset(out, 0, HARDSTATE_SLOT_BYTES);
    memcpy(out, hardstate_magic, sizeof(hardstate_magic));
    bytes_put_u32(out + 8, HARDSTATE_VERSION);
    bytes_put_u64(out + 16, sequence);
    bytes_put_u64(out + 24, state->term);
    bytes_put_u64(out + 32, state->vote);
    bytes_put_u64(out + 40, state->commit);
    bytes_put_u64(out + 56, hash_bytes(out, 56, HARDSTATE_SEED));
}

static void hardstate_slot_decode(const uint8_t *in, size_t len, struct hardstate_slot *slot)
{
    memset(slot, 0, sizeof(*slot));
    slot->kind = HARDSTATE_SLOT_FOREIGN;
    if (len < sizeof(hardstate_magic) ||
        memcmp(in, hardstate_magic, sizeof(hardstate_magic)) != 0) {
        return;
    }
    slot->kind = HARDSTATE_SLOT_INVALID;
    if (len < HARDSTATE_SLOT_BYTES) {
        return;
    }
    if (bytes_get_u64(in + 56) != hash_bytes(in, 56, HARDSTATE_SEED) ||
        bytes_get_u32(in + 12) != 0 || bytes_get_u64(in + 48) != 0) {
        return;
    }
    if (bytes_get_u32(in + 8) != HARDSTATE_VERSION) {
        slot->kind = HARDSTATE_SLOT_VERSION;
        return;
    }
    slot->kind = HARDSTATE_SLOT_VALID;
    slot->sequence = bytes_get_u64(in + 16);
    slot->state.term = bytes_get_u64(in + 24);
    slot->state.vote = bytes_get_u64(in + 32);
    slot->state.commit = bytes_get_u64(in + 40);
}

static int hardstate_read_slots(struct hardstate_file *hs, struct hardstate_slot slots[2],
                                struct storage_error *err)
{
    struct fs_file *file = NULL;
    int rc = fs_open(hs->fs, hs->path, FS_OPEN_READ_ONLY, &file);
    if (rc == FS_ENOENT) {
        return STORAGE_OK; /* H1 */
    }
    if (rc != FS_OK) {
        return storage_error_from_fs(err, hs->fs, "opening the hard state");
    }
    hs->exists = true;
    for (int i = 0; i < 2; i++) {
        uint8_t bytes[HARDSTATE_SLOT_BYTES];
        size_t got = 0;
        if (fs_read(file, hardstate_slot_offsets[i], bytes, sizeof(bytes), &got) != FS_OK) {
            rc = storage_error_from_fs(err, hs->fs, "reading the hard state");
            break;
        }
        hardstate_slot_decode(bytes, got, &slots[i]);
    }
    (void)fs_close(file);
    return rc == FS_OK ? STORAGE_OK : rc;
}

static bool hardstate_equal(const struct hardstate *a, const struct hardstate *b)
{
    return a->term == b->term && a->vote == b->vote && a->commit == b->commit;
}

/* Rows H2-H7 of the table in hardstate.h. */
static int hardstate_decide(struct hardstate_file *hs, const struct hardstate_slot slots[2],
                            struct storage_error *err)
{
    for (int i = 0; i < 2; i++) {
        if (slots[i].kind == HARDSTATE_SLOT_VERSION) { /* H7 */
            return storage_error_set(err, STORAGE_EFORMAT, hs->path, hardstate_slot_offsets[i],
                                     "unsupported hard state format version (this build reads "
                                     "version 1)");
        }
        hs->recovery.slot_damaged[i] = slots[i].kind != HARDSTATE_SLOT_VALID;
    }
    const struct hardstate_slot *a = &slots[0];
    const struct hardstate_slot *b = &slots[1];
    bool a_ok = a->kind == HARDSTATE_SLOT_VALID;
    bool b_ok = b->kind == HARDSTATE_SLOT_VALID;
    const struct hardstate_slot *chosen = NULL;
    if (a_ok && b_ok) {
        if (a->sequence == b->sequence && hardstate_equal(&a->state, &b->state)) {
            chosen = a; /* H2 */
        } else if (a->sequence == b->sequence + 1) {
            chosen = a; /* H3 */
        } else {        /* H2 mismatch, H4 */
            return storage_error_set(err, STORAGE_ECORRUPT, hs->path, 0,
                                     "hard state slots disagree (sequences %" PRIu64 " and %" PRIu64
                                     ")",
                                     a->sequence, b->sequence);
        }
    } else if (a_ok || b_ok) {
        chosen = a_ok ? a : b; /* H5 */
    } else if (a->kind == HARDSTATE_SLOT_FOREIGN && b->kind == HARDSTATE_SLOT_FOREIGN) {
        return storage_error_set(err, STORAGE_EFORMAT, hs->path, 0,
                                 "not a FlowRaft hard state file (bad magic)"); /* H6 */
    } else {
        return storage_error_set(err, STORAGE_ECORRUPT, hs->path, 0,
                                 "both hard state copies are damaged"); /* H6 */
    }
    hs->state = chosen->state;
    hs->sequence = chosen->sequence;
    for (int i = 0; i < 2; i++) {
        /* a damaged or older slot is rewritten by repair (H3, H5) */
        hs->stale[i] = slots[i].kind != HARDSTATE_SLOT_VALID || slots[i].sequence != hs->sequence;
    }
    return STORAGE_OK;
}

static int hardstate_check_temp(struct hardstate_file *hs, struct storage_error *err)
{
    struct fs_file *file = NULL;
    int rc = fs_open(hs->fs, hs->temp_path, FS_OPEN_READ_ONLY, &file);
    if (rc == FS_ENOENT) {
        return STORAGE_OK;
    }
    if (rc != FS_OK) {
        return storage_error_from_fs(err, hs->fs, "checking for a hard state temp file");
    }
    (void)fs_close(file);
    hs->recovery.temp_file = true; /* H8 */
    return STORAGE_OK;
}

int hardstate_open(struct fs *fs, const char *dir, struct hardstate_file **out,
                   struct hardstate *state, struct hardstate_recovery *recovery,
                   struct storage_error *err)
{
    assert(fs != NULL && dir != NULL && out != NULL);
    storage_error_clear(err);
    *out = NULL;
    struct hardstate_file *hs = calloc(1, sizeof(*hs));
    if (hs == NULL) {
        return storage_error_set(err, STORAGE_ENOMEM, dir, STORAGE_OFFSET_NONE, "no memory");
    }
    hs->fs = fs;
    snprintf(hs->dir, sizeof(hs->dir), "%s", dir);
    int rc = STORAGE_OK;
    if (fs_path_join(hs->path, dir, HARDSTATE_FILE_NAME) != FS_OK ||
        fs_path_join(hs->temp_path, dir, HARDSTATE_TEMP_NAME) != FS_OK) {
        rc = storage_error_set(err, STORAGE_EINVAL, dir, STORAGE_OFFSET_NONE, "path too long");
    }
    struct hardstate_slot slots[2];
    memset(slots, 0, sizeof(slots));
    if (rc == STORAGE_OK) {
        rc = hardstate_read_slots(hs, slots, err);
    }
    if (rc == STORAGE_OK && hs->exists) {
        rc = hardstate_decide(hs, slots, err);
    }
    if (rc == STORAGE_OK) {
        rc = hardstate_check_temp(hs, err);
    }
    if (rc != STORAGE_OK) {
        hardstate_close(hs);
        return rc;
    }
    hs->recovery.found = hs->exists;
    hs->recovery.sequence = hs->sequence;
    if (!hs->exists) {
        hs->recovery.slot_damaged[0] = hs->recovery.slot_damaged[1] = false;
    }
    if (state != NULL) {
        *state = hs->state;
    }
    if (recovery != NULL) {
        *recovery = hs->recovery;
    }
    *out = hs;
    return STORAGE_OK;
}

static int hardstate_fail(struct hardstate_file *hs, struct storage_error *err, const char *what)
{
    hs->failed = true;
    return storage_error_from_fs(err, hs->fs, what);
}

/* First save: the whole file through a temp file, so "hardstate" is complete once it exists. */
static int hardstate_create(struct hardstate_file *hs, const uint8_t *slot,
                            struct storage_error *err)
{
    struct fs_file *file = NULL;
    if (fs_open(hs->fs, hs->temp_path, FS_OPEN_CREATE, &file) != FS_OK) {
        return hardstate_fail(hs, err, "creating the hard state");
    }
    int rc = STORAGE_OK;
    if (fs_truncate(file, 0) != FS_OK ||
        fs_write(file, hardstate_slot_offsets[0], slot, HARDSTATE_SLOT_BYTES) != FS_OK ||
        fs_write(file, hardstate_slot_offsets[1], slot, HARDSTATE_SLOT_BYTES) != FS_OK ||
        fs_sync(file) != FS_OK) {
        rc = hardstate_fail(hs, err, "writing the hard state");
    }
    (void)fs_close(file);
    if (rc == STORAGE_OK && (fs_rename(hs->fs, hs->temp_path, hs->path) != FS_OK ||
                             fs_sync_dir(hs->fs, hs->dir) != FS_OK)) {
        rc = hardstate_fail(hs, err, "installing the hard state");
    }
    if (rc == STORAGE_OK) {
        hs->exists = true;
    }
    return rc;
}

/* Later saves: slot A, sync, slot B, sync. */
static int hardstate_overwrite(struct hardstate_file *hs, const uint8_t *slot,
                               struct storage_error *err)
{
    if (hs->file == NULL && fs_open(hs->fs, hs->path, 0, &hs->file) != FS_OK) {
        return hardstate_fail(hs, err, "opening the hard state");
    }
    for (int i = 0; i < 2; i++) {
        if (fs_write(hs->file, hardstate_slot_offsets[i], slot, HARDSTATE_SLOT_BYTES) != FS_OK ||
            fs_sync(hs->file) != FS_OK) {
            return hardstate_fail(hs, err, "writing the hard state");
        }
    }
    return STORAGE_OK;
}

static int hardstate_check_progress(const struct hardstate_file *hs, const struct hardstate *next,
                                    struct storage_error *err)
{
    const struct hardstate *now = &hs->state;
    if (next->term < now->term) {
        return storage_error_set(err, STORAGE_EREGRESS, hs->path, STORAGE_OFFSET_NONE,
                                 "term would go back from %" PRIu64 " to %" PRIu64, now->term,
                                 next->term);
    }
    if (next->commit < now->commit) {
        return storage_error_set(err, STORAGE_EREGRESS, hs->path, STORAGE_OFFSET_NONE,
                                 "commit would go back from %" PRIu64 " to %" PRIu64, now->commit,
                                 next->commit);
    }
    if (next->term == now->term && now->vote != HARDSTATE_VOTE_NONE && next->vote != now->vote) {
        return storage_error_set(err, STORAGE_EREGRESS, hs->path, STORAGE_OFFSET_NONE,
                                 "vote in term %" PRIu64 " would change from %" PRIu64
                                 " to %" PRIu64,
                                 now->term, now->vote, next->vote);
    }
    return STORAGE_OK;
}

static int hardstate_write(struct hardstate_file *hs, const struct hardstate *state,
                           struct storage_error *err)
{
    uint8_t slot[HARDSTATE_SLOT_BYTES];
    hardstate_slot_encode(slot, hs->sequence + 1, state);
    int rc = hs->exists ? hardstate_overwrite(hs, slot, err) : hardstate_create(hs, slot, err);
    if (rc == STORAGE_OK) {
        hs->sequence++;
        hs->state = *state;
    }
    return rc;
}

int hardstate_save(struct hardstate_file *hs, const struct hardstate *state,
                   struct storage_error *err)
{
    assert(hs != NULL && state != NULL);
    storage_error_clear(err);
    if (hs->failed) {
        return storage_error_set(err, STORAGE_EFAILED, hs->path, STORAGE_OFFSET_NONE,
                                 "an earlier hard state write failed; reopen");
    }
    int rc = hardstate_check_progress(hs, state, err);
    if (rc != STORAGE_OK) {
        return rc;
    }
    return hardstate_write(hs, state, err);
}

/* Copies the chosen slot over the stale one(s), leaving the chosen slot untouched: a crash during
 * the repair still finds the chosen state. Afterwards both slots are equal, which the save
 * protocol (A then B) relies on to keep A == B or A == B + 1. */
static int hardstate_rewrite_stale(struct hardstate_file *hs, struct storage_error *err)
{
    uint8_t slot[HARDSTATE_SLOT_BYTES];
    hardstate_slot_encode(slot, hs->sequence, &hs->state);
    if (hs->file == NULL && fs_open(hs->fs, hs->path, 0, &hs->file) != FS_OK) {
        return hardstate_fail(hs, err, "opening the hard state");
    }
    for (int i = 0; i < 2; i++) {
        if (!hs->stale[i]) {
            continue;
        }
        if (fs_write(hs->file, hardstate_slot_offsets[i], slot, HARDSTATE_SLOT_BYTES) != FS_OK ||
            fs_sync(hs->file) != FS_OK) {
            return hardstate_fail(hs, err, "repairing the hard state");
        }
        hs->stale[i] = false;
    }
    return STORAGE_OK;
}

/* The loaded state may be only in the page cache: a process that died after writing a slot, or
 * after renaming the first save into place, before its sync (the machine kept running) leaves it
 * readable but not durable. Make it durable, slots and name, before anyone acts on it. */
static int hardstate_sync_loaded(struct hardstate_file *hs, struct storage_error *err)
{
    if (hs->file == NULL && fs_open(hs->fs, hs->path, 0, &hs->file) != FS_OK) {
        return hardstate_fail(hs, err, "opening the hard state");
    }
    if (fs_sync(hs->file) != FS_OK || fs_sync_dir(hs->fs, hs->dir) != FS_OK) {
        return hardstate_fail(hs, err, "syncing the hard state");
    }
    return STORAGE_OK;
}

int hardstate_repair(struct hardstate_file *hs, struct storage_error *err)
{
    assert(hs != NULL);
    storage_error_clear(err);
    if (hs->failed) {
        return storage_error_set(err, STORAGE_EFAILED, hs->path, STORAGE_OFFSET_NONE,
                                 "an earlier hard state write failed; reopen");
    }
    if (hs->repaired) {
        return STORAGE_OK;
    }
    if (hs->recovery.temp_file) { /* H8 */
        if (fs_unlink(hs->fs, hs->temp_path) != FS_OK || fs_sync_dir(hs->fs, hs->dir) != FS_OK) {
            return hardstate_fail(hs, err, "removing the hard state temp file");
        }
    }
    if (hs->exists && (hs->stale[0] || hs->stale[1])) {
        int rc = hardstate_rewrite_stale(hs, err); /* H3, H5 */
        if (rc != STORAGE_OK) {
            return rc;
        }
    }
    if (hs->exists) {
        int rc = hardstate_sync_loaded(hs, err);
        if (rc != STORAGE_OK) {
            return rc;
        }
    }
    hs->repaired = true;
    return STORAGE_OK;
}

struct hardstate hardstate_current(const struct hardstate_file *hs)
{
    assert(hs != NULL);
    return hs->state;
}

void hardstate_close(struct hardstate_file *hs)
{
    if (hs == NULL) {
        return;
    }
    if (hs->file != NULL) {
        (void)fs_close(hs->file);
    }
    free(hs);
}
