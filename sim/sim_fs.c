/* The simulated file system: durable versus current contents, pending operations, crash resolution.
 */
#include "sim/sim_fs.h"

#include "core/hash.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_FS_ROOT        0u
#define SIM_FS_NONE        UINT32_MAX
#define SIM_FS_DIGEST_SEED 0x53494d4653ULL

struct sim_fs_buf {
    uint8_t *data;
    uint64_t size; /* invariant: size <= cap; bytes past size are not meaningful */
    uint64_t cap;
};

struct sim_fs_inode {
    bool used;
    bool is_dir;
    uint32_t links_current; /* entries naming it in the current namespace (0 or 1) */
    uint32_t links_durable; /* entries naming it in the durable namespace (0 or 1) */
    uint32_t open_count;    /* handles of the current generation */
    uint32_t pending_refs;  /* pending operations naming it */
    struct sim_fs_buf current;
    struct sim_fs_buf durable;
};

struct sim_fs_entry {
    bool used;
    uint32_t parent; /* directory inode */
    uint32_t inode;
    char name[FS_NAME_BYTES_MAX];
};

enum sim_fs_op_kind {
    SIM_FS_OP_WRITE,
    SIM_FS_OP_TRUNCATE,
    SIM_FS_OP_CREATE,
    SIM_FS_OP_MKDIR,
    SIM_FS_OP_RENAME,
    SIM_FS_OP_UNLINK,
};

struct sim_fs_op {
    enum sim_fs_op_kind kind;
    uint32_t inode;  /* the file written, truncated, created, renamed or unlinked */
    uint32_t dir;    /* directory ops: the directory whose entries change */
    uint64_t offset; /* write offset, or truncation size */
    uint64_t len;    /* write length */
    uint8_t *data;   /* write data (owned) */
    char name[FS_NAME_BYTES_MAX];
    char name2[FS_NAME_BYTES_MAX]; /* rename target */
};

struct sim_fs_file {
    struct fs_file base; /* first member */
    uint32_t inode;
    uint64_t generation; /* stale when it differs from the file system's */
    bool read_only;
    char path[FS_PATH_BYTES_MAX]; /* as opened, for error messages */
};

struct sim_fs {
    struct fs fs; /* the interface view; fs.ctx points back here */
    struct sim_fs_config config;
    struct sim_fs_inode *inodes;  /* config.files_max */
    struct sim_fs_entry *current; /* config.files_max entries */
    struct sim_fs_entry *durable; /* config.files_max entries */
    struct sim_fs_op *pending;    /* config.pending_ops_max */
    uint32_t pending_count;
    uint64_t pending_bytes;
    uint64_t bytes_used; /* invariant: sum of buffer sizes + pending_bytes */
    uint32_t open_files;
    uint64_t generation;
    bool powered_off;
    bool cut_armed;
    uint64_t cut_countdown;
    uint32_t *scratch; /* config.files_max, for listings and digests */
    struct sim_fs_stats stats;
};

/* ---- small helpers ---- */

static struct sim_fs *sim_fs_of(struct fs *fs)
{
    assert(fs != NULL && fs->ctx != NULL);
    return fs->ctx;
}

static uint64_t sim_fs_choose(struct sim_fs *sfs, enum sim_fs_choice kind, uint64_t n)
{
    assert(n >= 1);
    uint64_t value = sfs->config.choose(sfs->config.choose_ctx, kind, n);
    assert(value < n);
    return value;
}

/* An injected fault with probability ppm / 10^6; draws nothing when the rate is 0. */
static bool sim_fs_draw(struct sim_fs *sfs, enum sim_fs_choice kind, uint32_t ppm)
{
    if (ppm == 0) {
        return false;
    }
    return sim_fs_choose(sfs, kind, SIM_FS_PPM) < ppm;
}

static int sim_fs_fail(struct sim_fs *sfs, int status, const char *op, const char *path)
{
    return fs_error_set(&sfs->fs, status, 0, op, path);
}

/* Outcome of the power check at the start of every call. */
enum sim_fs_power {
    SIM_FS_POWER_ON,
    SIM_FS_POWER_CUT_NOW, /* this call is issued, then the power fails */
    SIM_FS_POWER_OFF,
};

static enum sim_fs_power sim_fs_begin(struct sim_fs *sfs)
{
    sfs->stats.ops++;
    if (sfs->powered_off) {
        return SIM_FS_POWER_OFF;
    }
    if (sfs->cut_armed) {
        if (sfs->cut_countdown == 0) {
            sfs->cut_armed = false;
            sfs->powered_off = true;
            sfs->stats.power_cuts++;
            return SIM_FS_POWER_CUT_NOW;
        }
        sfs->cut_countdown--;
    }
    return SIM_FS_POWER_ON;
}

/* ---- buffers ---- */

static int sim_fs_buf_reserve(struct sim_fs_buf *buf, uint64_t size, uint64_t size_max)
{
    if (size <= buf->cap) {
        return 0;
    }
    uint64_t cap = buf->cap < 4096 ? 4096 : buf->cap;
    while (cap < size) {
        cap = cap > size_max / 2 ? size_max : cap * 2;
    }
    uint8_t *data = realloc(buf->data, (size_t)cap);
    if (data == NULL) {
        return -1;
    }
    buf->data = data;
    buf->cap = cap;
    return 0;
}

/* Sets the size, zero-filling any growth. Capacity must already suffice. */
static void sim_fs_buf_resize(struct sim_fs *sfs, struct sim_fs_buf *buf, uint64_t size)
{
    assert(size <= buf->cap || size == 0);
    if (size > buf->size) {
        memset(buf->data + buf->size, 0, (size_t)(size - buf->size));
        sfs->bytes_used += size - buf->size;
    } else {
        sfs->bytes_used -= buf->size - size;
    }
    buf->size = size;
}

static void sim_fs_buf_write(struct sim_fs *sfs, struct sim_fs_buf *buf, uint64_t offset,
                             const uint8_t *data, uint64_t len)
{
    if (offset + len > buf->size) {
        sim_fs_buf_resize(sfs, buf, offset + len);
    }
    memcpy(buf->data + offset, data, (size_t)len);
}

static void sim_fs_buf_free(struct sim_fs *sfs, struct sim_fs_buf *buf)
{
    sfs->bytes_used -= buf->size;
    free(buf->data);
    memset(buf, 0, sizeof(*buf));
}

/* Copies src over dst (used when the crash makes current := durable). */
static int sim_fs_buf_copy(struct sim_fs *sfs, struct sim_fs_buf *dst, const struct sim_fs_buf *src)
{
    if (sim_fs_buf_reserve(dst, src->size, sfs->config.file_size_bytes_max) != 0) {
        return -1;
    }
    sim_fs_buf_resize(sfs, dst, src->size);
    if (src->size > 0) {
        memcpy(dst->data, src->data, (size_t)src->size);
    }
    return 0;
}

/* ---- inodes and entries ---- */

static uint32_t sim_fs_inode_alloc(struct sim_fs *sfs, bool is_dir)
{
    for (uint32_t i = 1; i < sfs->config.files_max; i++) {
        if (!sfs->inodes[i].used) {
            memset(&sfs->inodes[i], 0, sizeof(sfs->inodes[i]));
            sfs->inodes[i].used = true;
            sfs->inodes[i].is_dir = is_dir;
            return i;
        }
    }
    return SIM_FS_NONE;
}

static void sim_fs_inode_maybe_free(struct sim_fs *sfs, uint32_t ino)
{
    struct sim_fs_inode *node = &sfs->inodes[ino];
    assert(node->used);
    if (ino == SIM_FS_ROOT || node->links_current > 0 || node->links_durable > 0 ||
        node->open_count > 0 || node->pending_refs > 0) {
        return;
    }
    sim_fs_buf_free(sfs, &node->current);
    sim_fs_buf_free(sfs, &node->durable);
    node->used = false;
}

static struct sim_fs_entry *sim_fs_entry_find(struct sim_fs *sfs, struct sim_fs_entry *table,
                                              uint32_t parent, const char *name)
{
    for (uint32_t i = 0; i < sfs->config.files_max; i++) {
        struct sim_fs_entry *entry = &table[i];
        if (entry->used && entry->parent == parent && strcmp(entry->name, name) == 0) {
            return entry;
        }
    }
    return NULL;
}

static struct sim_fs_entry *sim_fs_entry_add(struct sim_fs *sfs, struct sim_fs_entry *table,
                                             uint32_t parent, const char *name, uint32_t inode)
{
    for (uint32_t i = 0; i < sfs->config.files_max; i++) {
        struct sim_fs_entry *entry = &table[i];
        if (!entry->used) {
            entry->used = true;
            entry->parent = parent;
            entry->inode = inode;
            snprintf(entry->name, sizeof(entry->name), "%s", name);
            return entry;
        }
    }
    return NULL; /* cannot happen: one entry per inode at most, and inodes are bounded alike */
}

/* ---- paths ---- */

struct sim_fs_path {
    uint32_t parent;              /* directory holding the last component */
    char name[FS_NAME_BYTES_MAX]; /* last component ("" for the root itself) */
    uint32_t inode;               /* SIM_FS_NONE when the last component does not exist */
};

/* Resolves `path` in the current namespace. FS_ENOENT / FS_ENOTDIR for a missing or non-directory
 * intermediate component; the last component may be missing (inode SIM_FS_NONE). */
static int sim_fs_resolve(struct sim_fs *sfs, const char *path, const char *op,
                          struct sim_fs_path *out)
{
    if (strlen(path) >= FS_PATH_BYTES_MAX) {
        return sim_fs_fail(sfs, FS_ENAMETOOLONG, op, path);
    }
    out->parent = SIM_FS_ROOT;
    out->inode = SIM_FS_ROOT;
    out->name[0] = '\0';
    const char *cursor = path;
    for (int depth = 0; depth <= SIM_FS_DEPTH_MAX; depth++) {
        while (*cursor == '/') {
            cursor++;
        }
        if (*cursor == '\0') {
            return FS_OK;
        }
        size_t len = strcspn(cursor, "/");
        if (len >= FS_NAME_BYTES_MAX) {
            return sim_fs_fail(sfs, FS_ENAMETOOLONG, op, path);
        }
        if (out->inode == SIM_FS_NONE) {
            return sim_fs_fail(sfs, FS_ENOENT, op, path);
        }
        if (!sfs->inodes[out->inode].is_dir) {
            return sim_fs_fail(sfs, FS_ENOTDIR, op, path);
        }
        if (len == 1 && cursor[0] == '.') { /* "." names the directory reached so far */
            cursor += len;
            continue;
        }
        memcpy(out->name, cursor, len);
        out->name[len] = '\0';
        if (strcmp(out->name, "..") == 0) {
            return sim_fs_fail(sfs, FS_EINVAL, op, path);
        }
        out->parent = out->inode;
        struct sim_fs_entry *entry = sim_fs_entry_find(sfs, sfs->current, out->parent, out->name);
        out->inode = entry != NULL ? entry->inode : SIM_FS_NONE;
        cursor += len;
    }
    return sim_fs_fail(sfs, FS_ENAMETOOLONG, op, path);
}

/* ---- pending operations ---- */

static int sim_fs_pending_reserve(struct sim_fs *sfs, uint64_t bytes, const char *op,
                                  const char *path)
{
    if (sfs->pending_count == sfs->config.pending_ops_max) {
        return sim_fs_fail(sfs, FS_ELIMIT, op, path);
    }
    if (sfs->pending_bytes + bytes > sfs->config.pending_bytes_max) {
        return sim_fs_fail(sfs, FS_ELIMIT, op, path);
    }
    return FS_OK;
}

static struct sim_fs_op *sim_fs_pending_push(struct sim_fs *sfs, enum sim_fs_op_kind kind,
                                             uint32_t inode)
{
    assert(sfs->pending_count < sfs->config.pending_ops_max);
    struct sim_fs_op *op = &sfs->pending[sfs->pending_count++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->inode = inode;
    sfs->inodes[inode].pending_refs++;
    return op;
}

/* A pending directory operation on entry `name` of directory `dir`. */
static struct sim_fs_op *sim_fs_pending_push_dir_op(struct sim_fs *sfs, enum sim_fs_op_kind kind,
                                                    uint32_t inode, uint32_t dir, const char *name)
{
    assert(kind != SIM_FS_OP_WRITE && kind != SIM_FS_OP_TRUNCATE);
    struct sim_fs_op *op = sim_fs_pending_push(sfs, kind, inode);
    op->dir = dir;
    snprintf(op->name, sizeof(op->name), "%s", name);
    return op;
}

static void sim_fs_op_release(struct sim_fs *sfs, struct sim_fs_op *op)
{
    if (op->data != NULL) {
        sfs->pending_bytes -= op->len;
        sfs->bytes_used -= op->len;
        free(op->data);
        op->data = NULL;
    }
    struct sim_fs_inode *node = &sfs->inodes[op->inode];
    assert(node->pending_refs > 0);
    node->pending_refs--;
}

static bool sim_fs_op_is_data(const struct sim_fs_op *op)
{
    return op->kind == SIM_FS_OP_WRITE || op->kind == SIM_FS_OP_TRUNCATE;
}

/* Removes the pending ops matching `keep == false` after `apply` handled them, preserving order. */
static void sim_fs_pending_compact(struct sim_fs *sfs, const bool *done)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < sfs->pending_count; i++) {
        if (!done[i]) {
            sfs->pending[kept++] = sfs->pending[i];
        }
    }
    sfs->pending_count = kept;
}

/* ---- applying operations to the durable state ---- */

static void sim_fs_durable_write(struct sim_fs *sfs, uint32_t ino, uint64_t offset,
                                 const uint8_t *data, uint64_t len)
{
    struct sim_fs_buf *buf = &sfs->inodes[ino].durable;
    /* Capacity for durable data was reserved when the write was accepted. */
    sim_fs_buf_write(sfs, buf, offset, data, len);
}

static void sim_fs_durable_truncate(struct sim_fs *sfs, uint32_t ino, uint64_t size)
{
    struct sim_fs_buf *buf = &sfs->inodes[ino].durable;
    sim_fs_buf_resize(sfs, buf, size);
}

static void sim_fs_durable_link_drop(struct sim_fs *sfs, struct sim_fs_entry *entry)
{
    uint32_t ino = entry->inode;
    entry->used = false;
    assert(sfs->inodes[ino].links_durable > 0);
    sfs->inodes[ino].links_durable--;
}

/* Applies a directory operation to the durable namespace if it still applies; true if it did. */
static bool sim_fs_durable_dir_op(struct sim_fs *sfs, const struct sim_fs_op *op)
{
    struct sim_fs_entry *entry = sim_fs_entry_find(sfs, sfs->durable, op->dir, op->name);
    switch (op->kind) {
    case SIM_FS_OP_CREATE:
    case SIM_FS_OP_MKDIR:
        if (entry != NULL) {
            sim_fs_durable_link_drop(sfs, entry);
        }
        (void)sim_fs_entry_add(sfs, sfs->durable, op->dir, op->name, op->inode);
        sfs->inodes[op->inode].links_durable++;
        return true;
    case SIM_FS_OP_RENAME: {
        if (entry == NULL || entry->inode != op->inode) {
            return false;
        }
        struct sim_fs_entry *target = sim_fs_entry_find(sfs, sfs->durable, op->dir, op->name2);
        if (target != NULL) {
            sim_fs_durable_link_drop(sfs, target);
        }
        snprintf(entry->name, sizeof(entry->name), "%s", op->name2);
        return true;
    }
    case SIM_FS_OP_UNLINK:
        if (entry == NULL || entry->inode != op->inode) {
            return false;
        }
        sim_fs_durable_link_drop(sfs, entry);
        return true;
    default:
        assert(0 && "not a directory operation");
        return false;
    }
}

static void sim_fs_apply_data_op(struct sim_fs *sfs, const struct sim_fs_op *op)
{
    if (op->kind == SIM_FS_OP_WRITE) {
        sim_fs_durable_write(sfs, op->inode, op->offset, op->data, op->len);
    } else {
        sim_fs_durable_truncate(sfs, op->inode, op->offset);
    }
}

/* Resolves a pending write as a crash would: lost, applied, or torn at a sector boundary. */
static void sim_fs_resolve_write(struct sim_fs *sfs, const struct sim_fs_op *op)
{
    uint64_t sector = sfs->config.sector_size_bytes;
    uint64_t first_cut = (op->offset / sector + 1) * sector;
    uint64_t end = op->offset + op->len;
    uint64_t cuts = first_cut < end ? (end - 1 - first_cut) / sector + 1 : 0;
    uint64_t fate = sim_fs_choose(sfs, SIM_FS_CHOICE_WRITE_FATE, cuts > 0 ? 3 : 2);
    struct sim_fs_buf *buf = &sfs->inodes[op->inode].durable;
    if (fate == 0) {
        sfs->stats.writes_lost++;
        /* None of the data landed, but an extending write may have grown the size: zeros. */
        if (buf->size < end && sim_fs_choose(sfs, SIM_FS_CHOICE_TORN_TAIL, 2) == 1) {
            sim_fs_buf_resize(sfs, buf, end);
        }
        return;
    }
    if (fate == 1) {
        sfs->stats.writes_kept++;
        sim_fs_apply_data_op(sfs, op);
        return;
    }
    sfs->stats.writes_torn++;
    uint64_t cut = first_cut + sim_fs_choose(sfs, SIM_FS_CHOICE_TORN_CUT, cuts) * sector;
    assert(cut > op->offset && cut < end);
    sim_fs_durable_write(sfs, op->inode, op->offset, op->data, cut - op->offset);
    if (sim_fs_choose(sfs, SIM_FS_CHOICE_TORN_TAIL, 2) == 1 && buf->size < end) {
        sim_fs_buf_resize(sfs, buf, end); /* the size grew, the data never landed: zeros */
    }
}

/* Resolves one pending operation as a crash would. */
static void sim_fs_resolve_op(struct sim_fs *sfs, const struct sim_fs_op *op)
{
    switch (op->kind) {
    case SIM_FS_OP_WRITE:
        sim_fs_resolve_write(sfs, op);
        break;
    case SIM_FS_OP_TRUNCATE:
        if (sim_fs_choose(sfs, SIM_FS_CHOICE_TRUNCATE_FATE, 2) == 1) {
            sfs->stats.truncates_kept++;
            sim_fs_apply_data_op(sfs, op);
        } else {
            sfs->stats.truncates_lost++;
        }
        break;
    default:
        if (sim_fs_choose(sfs, SIM_FS_CHOICE_DIR_OP_FATE, 2) == 1 &&
            sim_fs_durable_dir_op(sfs, op)) {
            sfs->stats.dir_ops_kept++;
        } else {
            sfs->stats.dir_ops_lost++;
        }
        break;
    }
}

/* ---- crash ---- */

/* Drops durable entries that no durable path from the root reaches. Bounded: each pass removes
 * at least one entry or stops. */
static void sim_fs_drop_unreachable(struct sim_fs *sfs)
{
    for (uint32_t pass = 0; pass < sfs->config.files_max; pass++) {
        bool removed = false;
        for (uint32_t i = 0; i < sfs->config.files_max; i++) {
            struct sim_fs_entry *entry = &sfs->durable[i];
            if (!entry->used || entry->parent == SIM_FS_ROOT) {
                continue;
            }
            if (sfs->inodes[entry->parent].links_durable == 0) {
                sim_fs_durable_link_drop(sfs, entry);
                removed = true;
            }
        }
        if (!removed) {
            return;
        }
    }
}

/* After a crash: current := durable for contents and namespace. */
static void sim_fs_reload_current(struct sim_fs *sfs)
{
    memcpy(sfs->current, sfs->durable, sizeof(*sfs->current) * sfs->config.files_max);
    for (uint32_t i = 0; i < sfs->config.files_max; i++) {
        struct sim_fs_inode *node = &sfs->inodes[i];
        if (!node->used) {
            continue;
        }
        node->open_count = 0;
        node->links_current = node->links_durable;
        sim_fs_inode_maybe_free(sfs, i);
        if (node->used && sim_fs_buf_copy(sfs, &node->current, &node->durable) != 0) {
            abort(); /* the copy needs no more than was held before the crash */
        }
    }
}

/* Every handle of the current generation dies: later calls through them fail with FS_ESTALE. */
static void sim_fs_close_all_handles(struct sim_fs *sfs)
{
    for (uint32_t i = 0; i < sfs->config.files_max; i++) {
        struct sim_fs_inode *node = &sfs->inodes[i];
        if (node->used && node->open_count > 0) {
            node->open_count = 0;
            sim_fs_inode_maybe_free(sfs, i);
        }
    }
    sfs->open_files = 0;
    sfs->generation++;
}

void sim_fs_process_crash(struct sim_fs *sfs)
{
    assert(sfs != NULL);
    sim_fs_close_all_handles(sfs);
    sfs->powered_off = false;
    sfs->cut_armed = false;
    sfs->stats.process_crashes++;
}

void sim_fs_crash(struct sim_fs *sfs)
{
    assert(sfs != NULL);
    for (uint32_t i = 0; i < sfs->pending_count; i++) {
        sim_fs_resolve_op(sfs, &sfs->pending[i]);
        sim_fs_op_release(sfs, &sfs->pending[i]);
    }
    sfs->pending_count = 0;
    assert(sfs->pending_bytes == 0);
    sim_fs_drop_unreachable(sfs);
    sim_fs_reload_current(sfs);
    sfs->open_files = 0;
    sfs->generation++;
    sfs->powered_off = false;
    sfs->cut_armed = false;
    sfs->stats.crashes++;
}

/* ---- handles ---- */

static int sim_fs_handle(struct fs_file *file, const char *op, struct sim_fs **sfs_out,
                         struct sim_fs_file **file_out)
{
    struct sim_fs *sfs = sim_fs_of(file->fs);
    struct sim_fs_file *sf = (struct sim_fs_file *)file;
    *sfs_out = sfs;
    *file_out = sf;
    enum sim_fs_power power = sim_fs_begin(sfs);
    if (power == SIM_FS_POWER_OFF) {
        return sim_fs_fail(sfs, FS_EPOWER, op, sf->path);
    }
    if (sf->generation != sfs->generation) {
        return sim_fs_fail(sfs, FS_ESTALE, op, sf->path);
    }
    assert(sfs->inodes[sf->inode].used);
    return power == SIM_FS_POWER_CUT_NOW ? FS_EPOWER : FS_OK;
}

/* ---- the interface ---- */

static int sim_fs_create_file(struct sim_fs *sfs, const struct sim_fs_path *where, const char *path,
                              uint32_t *ino_out)
{
    int rc = sim_fs_pending_reserve(sfs, 0, "open", path);
    if (rc != FS_OK) {
        return rc;
    }
    uint32_t ino = sim_fs_inode_alloc(sfs, false);
    if (ino == SIM_FS_NONE) {
        return sim_fs_fail(sfs, FS_ELIMIT, "open", path);
    }
    (void)sim_fs_entry_add(sfs, sfs->current, where->parent, where->name, ino);
    sfs->inodes[ino].links_current = 1;
    (void)sim_fs_pending_push_dir_op(sfs, SIM_FS_OP_CREATE, ino, where->parent, where->name);
    sfs->stats.mutations++;
    *ino_out = ino;
    return FS_OK;
}

static int sim_fs_open_lookup(struct sim_fs *sfs, const char *path, unsigned flags,
                              uint32_t *ino_out, bool cut)
{
    struct sim_fs_path where;
    int rc = sim_fs_resolve(sfs, path, "open", &where);
    if (rc != FS_OK) {
        return rc;
    }
    if (where.name[0] == '\0' || (where.inode != SIM_FS_NONE && sfs->inodes[where.inode].is_dir)) {
        return sim_fs_fail(sfs, FS_EISDIR, "open", path);
    }
    if (where.inode != SIM_FS_NONE) {
        if ((flags & FS_OPEN_CREATE) && (flags & FS_OPEN_EXCLUSIVE)) {
            return sim_fs_fail(sfs, FS_EEXIST, "open", path);
        }
        *ino_out = where.inode;
        return FS_OK;
    }
    if (!(flags & FS_OPEN_CREATE)) {
        return sim_fs_fail(sfs, FS_ENOENT, "open", path);
    }
    if (!cut && sfs->open_files == sfs->config.open_files_max) {
        return sim_fs_fail(sfs, FS_ELIMIT, "open", path);
    }
    return sim_fs_create_file(sfs, &where, path, ino_out);
}

static int sim_fs_open(struct fs *fs, const char *path, unsigned flags, struct fs_file **out)
{
    struct sim_fs *sfs = sim_fs_of(fs);
    enum sim_fs_power power = sim_fs_begin(sfs);
    sfs->stats.opens++;
    if (power == SIM_FS_POWER_OFF) {
        return sim_fs_fail(sfs, FS_EPOWER, "open", path);
    }
    if ((flags & FS_OPEN_EXCLUSIVE) && !(flags & FS_OPEN_CREATE)) {
        return sim_fs_fail(sfs, FS_EINVAL, "open", path);
    }
    uint32_t ino = SIM_FS_NONE;
    int rc = sim_fs_open_lookup(sfs, path, flags, &ino, power == SIM_FS_POWER_CUT_NOW);
    if (rc != FS_OK || power == SIM_FS_POWER_CUT_NOW) {
        return rc != FS_OK ? rc : sim_fs_fail(sfs, FS_EPOWER, "open", path);
    }
    if (sfs->open_files == sfs->config.open_files_max) {
        return sim_fs_fail(sfs, FS_ELIMIT, "open", path);
    }
    struct sim_fs_file *sf = calloc(1, sizeof(*sf));
    if (sf == NULL) {
        return sim_fs_fail(sfs, FS_ELIMIT, "open", path);
    }
    sf->base.fs = fs;
    sf->inode = ino;
    sf->generation = sfs->generation;
    sf->read_only = (flags & FS_OPEN_READ_ONLY) != 0;
    snprintf(sf->path, sizeof(sf->path), "%s", path);
    sfs->inodes[ino].open_count++;
    sfs->open_files++;
    *out = &sf->base;
    return FS_OK;
}

static int sim_fs_close(struct fs_file *file)
{
    struct sim_fs *sfs = sim_fs_of(file->fs);
    struct sim_fs_file *sf = (struct sim_fs_file *)file;
    sfs->stats.ops++;
    if (sf->generation == sfs->generation) {
        struct sim_fs_inode *node = &sfs->inodes[sf->inode];
        assert(node->open_count > 0 && sfs->open_files > 0);
        node->open_count--;
        sfs->open_files--;
        sim_fs_inode_maybe_free(sfs, sf->inode);
    }
    free(sf);
    return FS_OK; /* closing never fails here: nothing is flushed on close */
}

static int sim_fs_read(struct fs_file *file, uint64_t offset, void *buf, size_t len,
                       size_t *read_len)
{
    struct sim_fs *sfs = NULL;
    struct sim_fs_file *sf = NULL;
    int rc = sim_fs_handle(file, "read", &sfs, &sf);
    sfs->stats.reads++;
    if (rc != FS_OK) {
        return rc == FS_EPOWER ? sim_fs_fail(sfs, FS_EPOWER, "read", NULL) : rc;
    }
    if (sim_fs_draw(sfs, SIM_FS_CHOICE_READ_ERROR, sfs->config.read_error_ppm)) {
        sfs->stats.read_errors++;
        return sim_fs_fail(sfs, FS_EIO, "read", sf->path);
    }
    const struct sim_fs_buf *data = &sfs->inodes[sf->inode].current;
    size_t n = 0;
    if (offset < data->size) {
        uint64_t left = data->size - offset;
        n = left < len ? (size_t)left : len;
        memcpy(buf, data->data + offset, n);
    }
    *read_len = n;
    sfs->stats.bytes_read += n;
    return FS_OK;
}

/* Checks bounds and reserves memory for a change of file `ino` to `new_size` bytes. */
static int sim_fs_reserve_size(struct sim_fs *sfs, uint32_t ino, uint64_t new_size,
                               uint64_t pending_bytes, const char *op, const char *path)
{
    struct sim_fs_inode *node = &sfs->inodes[ino];
    if (new_size > sfs->config.file_size_bytes_max) {
        return sim_fs_fail(sfs, FS_ENOSPC, op, path);
    }
    uint64_t growth = new_size > node->current.size ? new_size - node->current.size : 0;
    uint64_t durable_growth = new_size > node->durable.size ? new_size - node->durable.size : 0;
    if (sfs->bytes_used + growth + durable_growth + pending_bytes > sfs->config.bytes_max) {
        return sim_fs_fail(sfs, FS_ENOSPC, op, path);
    }
    int rc = sim_fs_pending_reserve(sfs, pending_bytes, op, path);
    if (rc != FS_OK) {
        return rc;
    }
    if (sim_fs_buf_reserve(&node->current, new_size, sfs->config.file_size_bytes_max) != 0 ||
        sim_fs_buf_reserve(&node->durable, new_size, sfs->config.file_size_bytes_max) != 0) {
        return sim_fs_fail(sfs, FS_ENOSPC, op, path);
    }
    return FS_OK;
}

/* Shared prologue of write and truncate: the power check, the handle, the access mode and an
 * injected error. FS_OK with *cut set when the power fails on this call (it is issued anyway). */
static int sim_fs_mutation_begin(struct fs_file *file, const char *op, struct sim_fs **sfs_out,
                                 struct sim_fs_file **sf_out, bool *cut)
{
    int power = sim_fs_handle(file, op, sfs_out, sf_out);
    struct sim_fs *sfs = *sfs_out;
    struct sim_fs_file *sf = *sf_out;
    if (power != FS_OK && power != FS_EPOWER) {
        return power; /* stale handle, or the power was already off */
    }
    *cut = power == FS_EPOWER;
    if (sf->read_only) {
        return sim_fs_fail(sfs, *cut ? FS_EPOWER : FS_EACCES, op, sf->path);
    }
    if (!*cut && sim_fs_draw(sfs, SIM_FS_CHOICE_WRITE_ERROR, sfs->config.write_error_ppm)) {
        sfs->stats.write_errors++;
        return sim_fs_fail(sfs, FS_EIO, op, sf->path);
    }
    return FS_OK;
}

/* Shared epilogue: a call the power was cut on reports FS_EPOWER, whatever else happened. */
static int sim_fs_mutation_end(struct sim_fs *sfs, const struct sim_fs_file *sf, int rc,
                               const char *op, bool cut)
{
    return cut ? sim_fs_fail(sfs, FS_EPOWER, op, sf->path) : rc;
}

static int sim_fs_write(struct fs_file *file, uint64_t offset, const void *buf, size_t len)
{
    struct sim_fs *sfs = sim_fs_of(file->fs);
    struct sim_fs_file *sf = NULL;
    sfs->stats.writes++;
    bool cut = false;
    int rc = sim_fs_mutation_begin(file, "write", &sfs, &sf, &cut);
    if (rc == FS_OK) {
        rc = sim_fs_reserve_size(sfs, sf->inode, offset + len, len, "write", sf->path);
    }
    uint8_t *copy = rc == FS_OK ? malloc(len > 0 ? len : 1) : NULL;
    if (rc == FS_OK && copy == NULL) {
        rc = sim_fs_fail(sfs, FS_ENOSPC, "write", sf->path);
    }
    if (rc != FS_OK) {
        return sim_fs_mutation_end(sfs, sf, rc, "write", cut);
    }
    memcpy(copy, buf, len);
    struct sim_fs_op *op = sim_fs_pending_push(sfs, SIM_FS_OP_WRITE, sf->inode);
    op->offset = offset;
    op->len = len;
    op->data = copy;
    sfs->pending_bytes += len;
    sfs->bytes_used += len;
    sim_fs_buf_write(sfs, &sfs->inodes[sf->inode].current, offset, buf, len);
    sfs->stats.bytes_written += len;
    sfs->stats.mutations++;
    return sim_fs_mutation_end(sfs, sf, FS_OK, "write", cut);
}

static int sim_fs_truncate(struct fs_file *file, uint64_t size)
{
    struct sim_fs *sfs = sim_fs_of(file->fs);
    struct sim_fs_file *sf = NULL;
    sfs->stats.truncates++;
    bool cut = false;
    int rc = sim_fs_mutation_begin(file, "truncate", &sfs, &sf, &cut);
    if (rc == FS_OK) {
        rc = sim_fs_reserve_size(sfs, sf->inode, size, 0, "truncate", sf->path);
    }
    if (rc != FS_OK) {
        return sim_fs_mutation_end(sfs, sf, rc, "truncate", cut);
    }
    struct sim_fs_op *op = sim_fs_pending_push(sfs, SIM_FS_OP_TRUNCATE, sf->inode);
    op->offset = size;
    sim_fs_buf_resize(sfs, &sfs->inodes[sf->inode].current, size);
    sfs->stats.mutations++;
    return sim_fs_mutation_end(sfs, sf, FS_OK, "truncate", cut);
}

/* A failed fsync (Linux semantics): the file's pending data is resolved now, as by a crash, while
 * reads keep showing the current contents. */
static void sim_fs_sync_failure(struct sim_fs *sfs, uint32_t ino, bool *done)
{
    for (uint32_t i = 0; i < sfs->pending_count; i++) {
        struct sim_fs_op *op = &sfs->pending[i];
        if (op->inode == ino && sim_fs_op_is_data(op)) {
            sim_fs_resolve_op(sfs, op);
            sim_fs_op_release(sfs, op);
            done[i] = true;
        }
    }
}

static int sim_fs_sync_inode(struct sim_fs *sfs, uint32_t ino, bool failed)
{
    bool *done = calloc(sfs->pending_count + 1, sizeof(bool));
    if (done == NULL) {
        return -1;
    }
    if (failed) {
        sim_fs_sync_failure(sfs, ino, done);
    } else {
        for (uint32_t i = 0; i < sfs->pending_count; i++) {
            struct sim_fs_op *op = &sfs->pending[i];
            if (op->inode == ino && sim_fs_op_is_data(op)) {
                sim_fs_apply_data_op(sfs, op);
                sim_fs_op_release(sfs, op);
                done[i] = true;
            }
        }
    }
    sim_fs_pending_compact(sfs, done);
    free(done);
    sim_fs_inode_maybe_free(sfs, ino);
    return 0;
}

static int sim_fs_sync(struct fs_file *file)
{
    struct sim_fs *sfs = NULL;
    struct sim_fs_file *sf = NULL;
    int rc = sim_fs_handle(file, "sync", &sfs, &sf);
    sfs->stats.syncs++;
    if (rc != FS_OK) {
        return rc == FS_EPOWER ? sim_fs_fail(sfs, FS_EPOWER, "sync", NULL) : rc;
    }
    sfs->stats.mutations++;
    bool failed = sim_fs_draw(sfs, SIM_FS_CHOICE_SYNC_ERROR, sfs->config.sync_error_ppm);
    if (sim_fs_sync_inode(sfs, sf->inode, failed) != 0) {
        return sim_fs_fail(sfs, FS_ENOSPC, "sync", sf->path);
    }
    if (failed) {
        sfs->stats.sync_errors++;
        return sim_fs_fail(sfs, FS_EIO, "sync", sf->path);
    }
    return FS_OK;
}

static int sim_fs_size(struct fs_file *file, uint64_t *size)
{
    struct sim_fs *sfs = NULL;
    struct sim_fs_file *sf = NULL;
    int rc = sim_fs_handle(file, "size", &sfs, &sf);
    if (rc != FS_OK) {
        return rc == FS_EPOWER ? sim_fs_fail(sfs, FS_EPOWER, "size", NULL) : rc;
    }
    *size = sfs->inodes[sf->inode].current.size;
    return FS_OK;
}

/* Resolves `path` to an existing directory. */
static int sim_fs_resolve_dir(struct sim_fs *sfs, const char *path, const char *op, uint32_t *ino)
{
    struct sim_fs_path where;
    int rc = sim_fs_resolve(sfs, path, op, &where);
    if (rc != FS_OK) {
        return rc;
    }
    if (where.inode == SIM_FS_NONE) {
        return sim_fs_fail(sfs, FS_ENOENT, op, path);
    }
    if (!sfs->inodes[where.inode].is_dir) {
        return sim_fs_fail(sfs, FS_ENOTDIR, op, path);
    }
    *ino = where.inode;
    return FS_OK;
}

/* Shared prologue of sync_dir and list: the power check (a call the power is cut on does
 * nothing) and the directory. */
static int sim_fs_dir_call_begin(struct sim_fs *sfs, const char *op, const char *path,
                                 uint32_t *dir)
{
    if (sim_fs_begin(sfs) != SIM_FS_POWER_ON) {
        return sim_fs_fail(sfs, FS_EPOWER, op, path);
    }
    *dir = SIM_FS_NONE;
    return sim_fs_resolve_dir(sfs, path, op, dir);
}

static int sim_fs_sync_dir(struct fs *fs, const char *path)
{
    struct sim_fs *sfs = sim_fs_of(fs);
    sfs->stats.dir_syncs++;
    uint32_t dir = SIM_FS_NONE;
    int rc = sim_fs_dir_call_begin(sfs, "sync_dir", path, &dir);
    if (rc != FS_OK) {
        return rc;
    }
    sfs->stats.mutations++;
    if (sim_fs_draw(sfs, SIM_FS_CHOICE_SYNC_ERROR, sfs->config.sync_error_ppm)) {
        sfs->stats.sync_errors++; /* the entries stay pending: a crash decides them */
        return sim_fs_fail(sfs, FS_EIO, "sync_dir", path);
    }
    bool *done = calloc(sfs->pending_count + 1, sizeof(bool));
    if (done == NULL) {
        return sim_fs_fail(sfs, FS_ENOSPC, "sync_dir", path);
    }
    for (uint32_t i = 0; i < sfs->pending_count; i++) {
        struct sim_fs_op *op = &sfs->pending[i];
        if (!sim_fs_op_is_data(op) && op->dir == dir) {
            bool applied = sim_fs_durable_dir_op(sfs, op);
            assert(applied); /* in order, every operation applies */
            (void)applied;
            uint32_t ino = op->inode;
            sim_fs_op_release(sfs, op);
            done[i] = true;
            sim_fs_inode_maybe_free(sfs, ino);
        }
    }
    sim_fs_pending_compact(sfs, done);
    free(done);
    return FS_OK;
}

/* Shared prologue of the path-based directory operations. */
static int sim_fs_dir_op_begin(struct sim_fs *sfs, const char *op, const char *path,
                               struct sim_fs_path *where, bool *cut)
{
    enum sim_fs_power power = sim_fs_begin(sfs);
    if (power == SIM_FS_POWER_OFF) {
        return sim_fs_fail(sfs, FS_EPOWER, op, path);
    }
    *cut = power == SIM_FS_POWER_CUT_NOW;
    int rc = sim_fs_resolve(sfs, path, op, where);
    if (rc == FS_OK && where->name[0] == '\0') {
        rc = sim_fs_fail(sfs, FS_EINVAL, op, path); /* the root itself */
    }
    if (rc == FS_OK) {
        rc = sim_fs_pending_reserve(sfs, 0, op, path);
    }
    return rc != FS_OK && *cut ? sim_fs_fail(sfs, FS_EPOWER, op, path) : rc;
}

static int sim_fs_dir_op_end(struct sim_fs *sfs, bool cut, const char *op, const char *path)
{
    sfs->stats.mutations++;
    return cut ? sim_fs_fail(sfs, FS_EPOWER, op, path) : FS_OK;
}

static int sim_fs_rename(struct fs *fs, const char *from, const char *to)
{
    struct sim_fs *sfs = sim_fs_of(fs);
    sfs->stats.renames++;
    struct sim_fs_path src;
    struct sim_fs_path dst;
    bool cut = false;
    int rc = sim_fs_dir_op_begin(sfs, "rename", from, &src, &cut);
    if (rc == FS_OK) {
        rc = sim_fs_resolve(sfs, to, "rename", &dst);
    }
    if (rc == FS_OK && src.inode == SIM_FS_NONE) {
        rc = sim_fs_fail(sfs, FS_ENOENT, "rename", from);
    } else if (rc == FS_OK && (dst.name[0] == '\0' || dst.parent != src.parent)) {
        rc = sim_fs_fail(sfs, FS_EINVAL, "rename", to);
    } else if (rc == FS_OK && (sfs->inodes[src.inode].is_dir ||
                               (dst.inode != SIM_FS_NONE && sfs->inodes[dst.inode].is_dir))) {
        rc = sim_fs_fail(sfs, FS_EISDIR, "rename", from);
    }
    if (rc != FS_OK) {
        return cut ? sim_fs_fail(sfs, FS_EPOWER, "rename", from) : rc;
    }
    if (src.inode == dst.inode) {
        return sim_fs_dir_op_end(sfs, cut, "rename", from); /* same file: nothing to do */
    }
    struct sim_fs_entry *target = sim_fs_entry_find(sfs, sfs->current, dst.parent, dst.name);
    if (target != NULL) {
        uint32_t old = target->inode;
        target->used = false;
        sfs->inodes[old].links_current--;
        sim_fs_inode_maybe_free(sfs, old);
    }
    struct sim_fs_entry *entry = sim_fs_entry_find(sfs, sfs->current, src.parent, src.name);
    snprintf(entry->name, sizeof(entry->name), "%s", dst.name);
    struct sim_fs_op *op =
        sim_fs_pending_push_dir_op(sfs, SIM_FS_OP_RENAME, src.inode, src.parent, src.name);
    snprintf(op->name2, sizeof(op->name2), "%s", dst.name);
    return sim_fs_dir_op_end(sfs, cut, "rename", from);
}

static int sim_fs_unlink(struct fs *fs, const char *path)
{
    struct sim_fs *sfs = sim_fs_of(fs);
    sfs->stats.unlinks++;
    struct sim_fs_path where;
    bool cut = false;
    int rc = sim_fs_dir_op_begin(sfs, "unlink", path, &where, &cut);
    if (rc == FS_OK && where.inode == SIM_FS_NONE) {
        rc = sim_fs_fail(sfs, FS_ENOENT, "unlink", path);
    } else if (rc == FS_OK && sfs->inodes[where.inode].is_dir) {
        rc = sim_fs_fail(sfs, FS_EISDIR, "unlink", path);
    }
    if (rc != FS_OK) {
        return cut ? sim_fs_fail(sfs, FS_EPOWER, "unlink", path) : rc;
    }
    struct sim_fs_entry *entry = sim_fs_entry_find(sfs, sfs->current, where.parent, where.name);
    entry->used = false;
    (void)sim_fs_pending_push_dir_op(sfs, SIM_FS_OP_UNLINK, where.inode, where.parent, where.name);
    sfs->inodes[where.inode].links_current--;
    return sim_fs_dir_op_end(sfs, cut, "unlink", path);
}

static int sim_fs_mkdir(struct fs *fs, const char *path)
{
    struct sim_fs *sfs = sim_fs_of(fs);
    sfs->stats.mkdirs++;
    struct sim_fs_path where;
    bool cut = false;
    int rc = sim_fs_dir_op_begin(sfs, "mkdir", path, &where, &cut);
    if (rc == FS_OK && where.inode != SIM_FS_NONE) {
        rc = sim_fs_fail(sfs, FS_EEXIST, "mkdir", path);
    }
    uint32_t ino = SIM_FS_NONE;
    if (rc == FS_OK) {
        ino = sim_fs_inode_alloc(sfs, true);
        rc = ino == SIM_FS_NONE ? sim_fs_fail(sfs, FS_ELIMIT, "mkdir", path) : FS_OK;
    }
    if (rc != FS_OK) {
        return cut ? sim_fs_fail(sfs, FS_EPOWER, "mkdir", path) : rc;
    }
    (void)sim_fs_entry_add(sfs, sfs->current, where.parent, where.name, ino);
    sfs->inodes[ino].links_current = 1;
    (void)sim_fs_pending_push_dir_op(sfs, SIM_FS_OP_MKDIR, ino, where.parent, where.name);
    return sim_fs_dir_op_end(sfs, cut, "mkdir", path);
}

/* Orders entry indices by (parent, name): insertion sort, n <= files_max, no global context. */
static int sim_fs_entry_cmp(const struct sim_fs_entry *x, const struct sim_fs_entry *y)
{
    if (x->parent != y->parent) {
        return x->parent < y->parent ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

static void sim_fs_sort_entries(uint32_t *indices, uint32_t count, const struct sim_fs_entry *table)
{
    for (uint32_t i = 1; i < count; i++) {
        uint32_t moving = indices[i];
        uint32_t j = i;
        while (j > 0 && sim_fs_entry_cmp(&table[indices[j - 1]], &table[moving]) > 0) {
            indices[j] = indices[j - 1];
            j--;
        }
        indices[j] = moving;
    }
}

static int sim_fs_list(struct fs *fs, const char *path, fs_list_fn fn, void *arg)
{
    struct sim_fs *sfs = sim_fs_of(fs);
    sfs->stats.lists++;
    uint32_t dir = SIM_FS_NONE;
    int rc = sim_fs_dir_call_begin(sfs, "list", path, &dir);
    if (rc != FS_OK) {
        return rc;
    }
    uint32_t count = 0;
    for (uint32_t i = 0; i < sfs->config.files_max; i++) {
        if (sfs->current[i].used && sfs->current[i].parent == dir) {
            sfs->scratch[count++] = i;
        }
    }
    sim_fs_sort_entries(sfs->scratch, count, sfs->current); /* sorted: deterministic */
    for (uint32_t i = 0; i < count; i++) {
        rc = fn(arg, sfs->current[sfs->scratch[i]].name);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static const struct fs_ops sim_fs_ops = {
    .version = FS_INTERFACE_VERSION,
    .open = sim_fs_open,
    .close = sim_fs_close,
    .read = sim_fs_read,
    .write = sim_fs_write,
    .sync = sim_fs_sync,
    .size = sim_fs_size,
    .truncate = sim_fs_truncate,
    .sync_dir = sim_fs_sync_dir,
    .rename = sim_fs_rename,
    .unlink = sim_fs_unlink,
    .mkdir = sim_fs_mkdir,
    .list = sim_fs_list,
};

/* ---- lifecycle and controls ---- */

void sim_fs_config_default(struct sim_fs_config *config)
{
    assert(config != NULL);
    memset(config, 0, sizeof(*config));
    config->files_max = 256;
    config->open_files_max = 64;
    config->file_size_bytes_max = 64u << 20;
    config->bytes_max = 256u << 20;
    config->pending_ops_max = 4096;
    config->pending_bytes_max = 64u << 20;
    config->sector_size_bytes = 512;
}

static bool sim_fs_config_valid(const struct sim_fs_config *c)
{
    return c->choose != NULL && c->files_max >= 2 && c->open_files_max >= 1 &&
           c->file_size_bytes_max >= 1 && c->bytes_max >= 1 && c->pending_ops_max >= 1 &&
           c->sector_size_bytes >= 1 && (c->sector_size_bytes & (c->sector_size_bytes - 1)) == 0 &&
           c->read_error_ppm <= SIM_FS_PPM && c->write_error_ppm <= SIM_FS_PPM &&
           c->sync_error_ppm <= SIM_FS_PPM;
}

struct sim_fs *sim_fs_create(const struct sim_fs_config *config)
{
    assert(config != NULL);
    if (!sim_fs_config_valid(config)) {
        return NULL;
    }
    struct sim_fs *sfs = calloc(1, sizeof(*sfs));
    if (sfs == NULL) {
        return NULL;
    }
    sfs->config = *config;
    sfs->inodes = calloc(config->files_max, sizeof(*sfs->inodes));
    sfs->current = calloc(config->files_max, sizeof(*sfs->current));
    sfs->durable = calloc(config->files_max, sizeof(*sfs->durable));
    sfs->pending = calloc(config->pending_ops_max, sizeof(*sfs->pending));
    sfs->scratch = calloc(config->files_max, sizeof(*sfs->scratch));
    if (sfs->inodes == NULL || sfs->current == NULL || sfs->durable == NULL ||
        sfs->pending == NULL || sfs->scratch == NULL) {
        sim_fs_destroy(sfs);
        return NULL;
    }
    sfs->fs.ops = &sim_fs_ops;
    sfs->fs.ctx = sfs;
    struct sim_fs_inode *root = &sfs->inodes[SIM_FS_ROOT];
    root->used = true;
    root->is_dir = true;
    root->links_current = root->links_durable = 1;
    return sfs;
}

void sim_fs_destroy(struct sim_fs *sfs)
{
    if (sfs == NULL) {
        return;
    }
    for (uint32_t i = 0; sfs->pending != NULL && i < sfs->pending_count; i++) {
        free(sfs->pending[i].data);
    }
    for (uint32_t i = 0; sfs->inodes != NULL && i < sfs->config.files_max; i++) {
        free(sfs->inodes[i].current.data);
        free(sfs->inodes[i].durable.data);
    }
    free(sfs->inodes);
    free(sfs->current);
    free(sfs->durable);
    free(sfs->pending);
    free(sfs->scratch);
    free(sfs);
}

struct fs *sim_fs_fs(struct sim_fs *sfs)
{
    assert(sfs != NULL);
    return &sfs->fs;
}

void sim_fs_power_cut_after(struct sim_fs *sfs, uint64_t ops)
{
    assert(sfs != NULL);
    sfs->cut_armed = true;
    sfs->cut_countdown = ops;
}

void sim_fs_power_cut_cancel(struct sim_fs *sfs)
{
    assert(sfs != NULL);
    sfs->cut_armed = false;
}

bool sim_fs_powered(const struct sim_fs *sfs)
{
    assert(sfs != NULL);
    return !sfs->powered_off;
}

void sim_fs_set_error_rates(struct sim_fs *sfs, uint32_t read_ppm, uint32_t write_ppm,
                            uint32_t sync_ppm)
{
    assert(sfs != NULL);
    assert(read_ppm <= SIM_FS_PPM && write_ppm <= SIM_FS_PPM && sync_ppm <= SIM_FS_PPM);
    sfs->config.read_error_ppm = read_ppm;
    sfs->config.write_error_ppm = write_ppm;
    sfs->config.sync_error_ppm = sync_ppm;
}

uint32_t sim_fs_pending_count(const struct sim_fs *sfs)
{
    assert(sfs != NULL);
    return sfs->pending_count;
}

const struct sim_fs_stats *sim_fs_stats(const struct sim_fs *sfs)
{
    assert(sfs != NULL);
    return &sfs->stats;
}

static void sim_fs_flip(struct sim_fs *sfs, uint32_t ino, uint64_t offset, uint8_t mask)
{
    struct sim_fs_inode *node = &sfs->inodes[ino];
    if (offset < node->durable.size) {
        node->durable.data[offset] ^= mask;
    }
    if (offset < node->current.size) {
        node->current.data[offset] ^= mask;
    }
    sfs->stats.bit_flips++;
}

int sim_fs_corrupt(struct sim_fs *sfs, const char *path, uint64_t offset, uint8_t mask)
{
    assert(sfs != NULL && path != NULL);
    assert(mask != 0);
    struct sim_fs_path where;
    int rc = sim_fs_resolve(sfs, path, "corrupt", &where);
    if (rc != FS_OK) {
        return rc;
    }
    if (where.inode == SIM_FS_NONE || sfs->inodes[where.inode].is_dir) {
        return sim_fs_fail(sfs, FS_ENOENT, "corrupt", path);
    }
    const struct sim_fs_inode *node = &sfs->inodes[where.inode];
    if (offset >= node->durable.size && offset >= node->current.size) {
        return sim_fs_fail(sfs, FS_EINVAL, "corrupt", path);
    }
    sim_fs_flip(sfs, where.inode, offset, mask);
    return FS_OK;
}

/* Writes the current path of entry `index` into out (FS_PATH_BYTES_MAX). */
static void sim_fs_entry_path(struct sim_fs *sfs, uint32_t index, char *out)
{
    const char *parts[SIM_FS_DEPTH_MAX + 1];
    int depth = 0;
    const struct sim_fs_entry *entry = &sfs->current[index];
    while (depth <= SIM_FS_DEPTH_MAX) {
        parts[depth++] = entry->name;
        if (entry->parent == SIM_FS_ROOT) {
            break;
        }
        uint32_t parent = entry->parent;
        entry = NULL;
        for (uint32_t i = 0; i < sfs->config.files_max && entry == NULL; i++) {
            if (sfs->current[i].used && sfs->current[i].inode == parent) {
                entry = &sfs->current[i];
            }
        }
        if (entry == NULL) {
            break;
        }
    }
    out[0] = '\0';
    size_t used = 0;
    for (int i = depth - 1; i >= 0; i--) {
        int n = snprintf(out + used, FS_PATH_BYTES_MAX - used, "/%s", parts[i]);
        if (n < 0 || (size_t)n >= FS_PATH_BYTES_MAX - used) {
            break;
        }
        used += (size_t)n;
    }
}

int sim_fs_corrupt_random(struct sim_fs *sfs, const char *prefix, char *path_out,
                          uint64_t *offset_out)
{
    assert(sfs != NULL && path_out != NULL && offset_out != NULL);
    char path[FS_PATH_BYTES_MAX];
    uint32_t count = 0;
    for (uint32_t i = 0; i < sfs->config.files_max; i++) {
        const struct sim_fs_entry *entry = &sfs->current[i];
        if (!entry->used || sfs->inodes[entry->inode].is_dir ||
            sfs->inodes[entry->inode].durable.size == 0) {
            continue;
        }
        sim_fs_entry_path(sfs, i, path);
        const char *p = prefix != NULL && prefix[0] != '/' && path[0] == '/' ? path + 1 : path;
        if (prefix == NULL || strncmp(p, prefix, strlen(prefix)) == 0) {
            sfs->scratch[count++] = i;
        }
    }
    if (count == 0) {
        return sim_fs_fail(sfs, FS_ENOENT, "corrupt", prefix);
    }
    uint32_t chosen = sfs->scratch[sim_fs_choose(sfs, SIM_FS_CHOICE_CORRUPT_FILE, count)];
    uint32_t ino = sfs->current[chosen].inode;
    uint64_t offset =
        sim_fs_choose(sfs, SIM_FS_CHOICE_CORRUPT_OFFSET, sfs->inodes[ino].durable.size);
    uint8_t mask = (uint8_t)(1u << sim_fs_choose(sfs, SIM_FS_CHOICE_CORRUPT_BIT, 8));
    sim_fs_flip(sfs, ino, offset, mask);
    sim_fs_entry_path(sfs, chosen, path_out);
    *offset_out = offset;
    return FS_OK;
}

/* Folds one namespace and the contents it names (by `durable` or current contents). */
static uint64_t sim_fs_digest_namespace(struct sim_fs *sfs, struct sim_fs_entry *table,
                                        bool durable, uint64_t running)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < sfs->config.files_max; i++) {
        if (table[i].used) {
            sfs->scratch[count++] = i;
        }
    }
    sim_fs_sort_entries(sfs->scratch, count, table);
    for (uint32_t i = 0; i < count; i++) {
        const struct sim_fs_entry *entry = &table[sfs->scratch[i]];
        const struct sim_fs_inode *node = &sfs->inodes[entry->inode];
        const struct sim_fs_buf *buf = durable ? &node->durable : &node->current;
        running = hash_fold_u64(running, entry->parent);
        running = hash_fold_bytes(running, entry->name, strlen(entry->name));
        running = hash_fold_u64(running, node->is_dir);
        running = hash_fold_u64(running, buf->size);
        running = hash_fold_bytes(running, buf->data, (size_t)buf->size);
    }
    return running;
}

uint64_t sim_fs_digest(struct sim_fs *sfs)
{
    assert(sfs != NULL);
    uint64_t running = SIM_FS_DIGEST_SEED;
    running = sim_fs_digest_namespace(sfs, sfs->current, false, running);
    running = sim_fs_digest_namespace(sfs, sfs->durable, true, running);
    return hash_fold_u64(running, sfs->pending_count);
}
