/* store.c: the compliance store's generic layer: URL -> backend, numbering, chaining and
 * hashing of records, batches, the typed appends and the failed state.
 *
 * A record is stored as its canonical encoding (the bytes hashed) beside plain seq, ts_ns and
 * kind columns; nd_store_scan decodes every row and refuses one whose encoding does not decode
 * or disagrees with those columns, so a reader never acts on content the chain does not cover.
 *
 * Invariants: last_seq/last_hash describe the tail including pending records and
 * committed_seq/committed_hash the durable tail; after a failed write or commit the batch is
 * rolled back, the tail returns to the durable one and the store refuses every later write
 * (failed = true), so nothing is recorded out of order or half-recorded.
 *
 * The head: every commit that adds or removes records also writes the store's head (the last
 * seq and hash, HMAC-signed when the operator set a key) into the database in the same
 * transaction, and, for SQLite, into the head file PATH.head, so that the verifier can tell a
 * chain whose tail was cut from one that simply ends there. The file follows the commit in
 * three steps that leave a state the verifier accepts at every point a process can die: the
 * new head is written to PATH.head.next, fsynced and its directory fsynced *before* the
 * commit, then the commit, then PATH.head.next is renamed over PATH.head (made durable by the
 * next commit's directory fsync). Three fsyncs a commit (file, directory, WAL; a bulk file's
 * rollback journal takes three more: store_sqlite.c). A crash before the
 * commit leaves PATH.head equal to the chain (the .next file is ahead and ignored); a crash
 * between the commit and the rename leaves PATH.head one commit behind and PATH.head.next
 * naming exactly the chain's end, which the verifier accepts as that commit's pending head and
 * the next writer renames into place before it writes a new one. */
#include "store_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A record appended but not yet committed, kept while the store holds (nd_store_set_hold):
 * its row with the encoding at off in the arena. */
typedef struct held_row {
    int64_t seq, ts_ns, kind;
    uint8_t prev_hash[ND_HASH_SIZE];
    uint8_t hash[ND_HASH_SIZE];
    size_t off, len;
} held_row_t;

struct nd_store {
    const nd__store_vtable_t *vt;
    void *backend; /* NULL while held after a failure (or a killed writer): reopened by flush */
    char target[1100]; /* the URL without its scheme, to reopen the backend */
    unsigned flags;
    nd__hasher_t hasher;
    int64_t last_seq;
    int64_t committed_seq;
    int64_t pending;
    uint8_t last_hash[ND_HASH_SIZE];
    uint8_t committed_hash[ND_HASH_SIZE];
    bool failed;
    char failure[320];
    uint8_t key[4096]; /* the head's HMAC key (key_len 0: none) */
    size_t key_len;
    bool head_file_checked; /* a pending PATH.head.next was completed (first commit only) */
    /* Holding (sessions): every record not yet committed is also kept here, so a failed write
     * or commit loses nothing: the store is "down", appends go on into memory (numbered and
     * hashed as usual), and the next flush reopens the backend, writes them again in order
     * and commits. */
    int64_t hold_max;       /* 0: not holding (a failure fails the store for good) */
    bool down;              /* holding, and the backend failed: records are only in memory */
    bool batch_removes;     /* the open batch deletes records (retention): not replayable */
    held_row_t *held;
    size_t held_count, held_cap;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    uint32_t fault_pct;     /* tests: the chance (percent) that a backend write fails */
    uint64_t fault_rng;
};

static const char *const kind_names[ND_RECORD_KIND_MAX + 1] = {
    "unknown", "order", "fill", "risk_reject", "breaker", "config", "operator", "alert",
    "log", "metric", "chaos", "prune", "pipeline",
};

const char *nd_record_kind_name(nd_record_kind_t kind)
{
    if ((int)kind < 1 || (int)kind > ND_RECORD_KIND_MAX)
        return "unknown";
    return kind_names[kind];
}

bool nd__store_filter_match(const nd_record_filter_t *f, int64_t seq, int64_t ts_ns,
                            int64_t kind)
{
    if (!f)
        return true;
    if (seq < f->seq_from)
        return false;
    if ((f->ts_from_ns != 0 || f->ts_to_ns > 0) && ts_ns < f->ts_from_ns)
        return false;
    if (f->ts_to_ns > 0 && ts_ns >= f->ts_to_ns)
        return false;
    if (f->kind_mask == 0)
        return true;
    return kind >= 0 && kind < 32 && (f->kind_mask & (1u << kind)) != 0;
}

/* The SELECT of a scan; seq, ts and kinds are numbers, so no quoting is needed. */
void nd__store_select_sql(const nd_record_filter_t *f, char *sql, size_t cap)
{
    size_t n = (size_t)snprintf(sql, cap, "SELECT " ND__STORE_COLUMNS
                                " FROM records WHERE seq >= %lld", (long long)f->seq_from);
    if (f->ts_from_ns != 0 || f->ts_to_ns > 0)
        n += (size_t)snprintf(sql + n, cap - n, " AND ts_ns >= %lld", (long long)f->ts_from_ns);
    if (f->ts_to_ns > 0)
        n += (size_t)snprintf(sql + n, cap - n, " AND ts_ns < %lld", (long long)f->ts_to_ns);
    if (f->kind_mask != 0) {
        n += (size_t)snprintf(sql + n, cap - n, " AND kind IN (");
        const char *sep = "";
        for (int k = 1; k <= ND_RECORD_KIND_MAX; k++) {
            if (f->kind_mask & (1u << k)) {
                n += (size_t)snprintf(sql + n, cap - n, "%s%d", sep, k);
                sep = ",";
            }
        }
        n += (size_t)snprintf(sql + n, cap - n, ")");
    }
    snprintf(sql + n, cap - n, " ORDER BY seq");
}

/* Splits url into a backend and the target it understands. */
static const nd__store_vtable_t *pick_backend(const char *url, const char **target)
{
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        *target = url;
        return &nd__store_pg;
    }
    if (strncmp(url, "mem:", 4) == 0) {
        *target = url + 4;
        return &nd__store_mem;
    }
    if (strncmp(url, "sqlite:", 7) == 0) {
        *target = url + 7;
        if (strncmp(*target, "//", 2) == 0)
            *target += 2;
        return &nd__store_sqlite;
    }
    *target = url;
    return &nd__store_sqlite;
}

/* The head of (seq, hash), signed when a key is set. */
static nd_err_t make_head(const nd_store_t *s, int64_t seq, const uint8_t hash[ND_HASH_SIZE],
                          nd__head_t *head)
{
    memset(head, 0, sizeof *head);
    head->present = true;
    head->seq = seq;
    memcpy(head->hash, hash, ND_HASH_SIZE);
    if (s->key_len == 0)
        return ND_OK;
    head->has_mac = true;
    return nd__head_mac(s->key, s->key_len, seq, hash, head->mac);
}

/* The head file's text: four lines, versioned. */
static int format_head_file(const nd__head_t *h, char *buf, size_t cap)
{
    char hash[2 * ND_HASH_SIZE + 1], mac[2 * ND_HASH_SIZE + 1];
    nd_hash_hex(h->hash, hash);
    if (h->has_mac)
        nd_hash_hex(h->mac, mac);
    else
        snprintf(mac, sizeof mac, "-");
    return snprintf(buf, cap, "noderr-audit-head 1\nseq %lld\nhash %s\nmac %s\n",
                    (long long)h->seq, hash, mac);
}

/* PATH.head.next: the head a commit is about to make true. */
static void next_path(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s.next", path);
}

/* fsync of the directory holding path: makes a create or rename there durable. */
bool nd__store_sync_dir_of(const char *path)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = dfd >= 0 && fsync(dfd) == 0;
    if (dfd >= 0)
        close(dfd);
    return ok;
}

/* Step 1 of a commit's head file: the new head to PATH.head.next, fsynced, then the directory
 * fsynced, so that the file and its name are on disk before the records it names. The same
 * directory fsync makes the previous commit's rename durable (step 3 does not sync). */
static nd_err_t write_head_next(const char *path, const nd__head_t *h, char *err, size_t err_len)
{
    char tmp[1100], text[256];
    int len = format_head_file(h, text, sizeof text);
    ND_ASSERT(len > 0 && (size_t)len < sizeof text);
    next_path(path, tmp, sizeof tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    const char *what = fd < 0 ? "creating" : NULL;
    if (!what && write(fd, text, (size_t)len) != (ssize_t)len)
        what = "writing";
    if (!what && fsync(fd) != 0)
        what = "syncing";
    if (fd >= 0 && close(fd) != 0 && !what)
        what = "closing";
    if (!what && !nd__store_sync_dir_of(tmp))
        what = "syncing the directory of";
    if (!what)
        return ND_OK;
    snprintf(err, err_len, "head file %s.next: %s it: %s", path, what, strerror(errno));
    unlink(tmp);
    return ND_EIO;
}

/* Step 3: PATH.head.next renamed over PATH.head. Not synced: until the next commit's step 1
 * syncs the directory, a power loss can only bring back the state before the rename
 * (PATH.head one commit behind, PATH.head.next at the chain's end), which the verifier
 * accepts; sync_dir forces it (a pending rename completed by a new writer). */
static nd_err_t publish_head_next(const char *path, bool sync_dir, char *err, size_t err_len)
{
    char tmp[1100];
    next_path(path, tmp, sizeof tmp);
    const char *what = NULL;
    if (rename(tmp, path) != 0)
        what = "renaming";
    if (!what && sync_dir && !nd__store_sync_dir_of(path))
        what = "syncing the directory of";
    if (!what)
        return ND_OK;
    snprintf(err, err_len, "head file %s: %s it: %s", path, what, strerror(errno));
    return ND_EIO;
}

/* Reads the head file strictly; state 1 read, -1 missing, -2 unreadable or malformed. */
static int read_head_file(const char *path, nd__head_t *h, char *why, size_t why_len)
{
    memset(h, 0, sizeof *h);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "%s", strerror(errno));
        return errno == ENOENT ? -1 : -2;
    }
    char text[256];
    struct stat sb;
    ssize_t n = -1;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
        n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) {
        snprintf(why, why_len, "not a readable regular file");
        return -2;
    }
    text[n] = '\0';
    long long seq = -1;
    char hash[65] = "", mac[65] = "";
    int used = 0;
    if (sscanf(text, "noderr-audit-head 1\nseq %lld\nhash %64s\nmac %64s\n%n", &seq, hash, mac,
               &used) != 3 || used != (int)n || seq < 0 || strlen(hash) != 64 ||
        !nd__hash_parse_hex(hash, h->hash) ||
        (strcmp(mac, "-") != 0 && (strlen(mac) != 64 || !nd__hash_parse_hex(mac, h->mac)))) {
        snprintf(why, why_len, "malformed (not the four lines noderr writes)");
        return -2;
    }
    h->present = true;
    h->seq = seq;
    h->has_mac = strcmp(mac, "-") != 0;
    return 1;
}

nd_err_t nd__store_heads(nd_store_t *s, nd__store_heads_t *out, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    nd_err_t rc = s->down ? nd_store_flush(s, err, err_len) : ND_OK;
    if (rc != ND_OK)
        return rc;
    rc = s->vt->head_get(s->backend, &out->table, err, err_len);
    if (rc != ND_OK)
        return rc;
    const char *path = s->vt->head_file(s->backend);
    if (path) {
        char next[1100];
        snprintf(out->file_path, sizeof out->file_path, "%s", path);
        out->file_state = read_head_file(path, &out->file, out->file_why, sizeof out->file_why);
        next_path(path, next, sizeof next);
        char why[160];
        out->next_state = read_head_file(next, &out->next, why, sizeof why);
    }
    return ND_OK;
}

static bool head_is(const nd__head_t *h, int64_t seq, const uint8_t hash[ND_HASH_SIZE])
{
    return h->present && h->seq == seq && memcmp(h->hash, hash, ND_HASH_SIZE) == 0;
}

/* Before a handle's first head file write: when the last writer died between a commit and
 * its rename, PATH.head is behind the durable chain and PATH.head.next names its end exactly;
 * the rename is completed here, before a new PATH.head.next would overwrite that head. Any
 * other disagreement is left for the verifier to report. */
static nd_err_t complete_pending_head(nd_store_t *s, const char *path, char *err,
                                      size_t err_len)
{
    s->head_file_checked = true;
    nd__head_t file, next;
    char why[160], next_name[1100];
    next_path(path, next_name, sizeof next_name);
    int file_state = read_head_file(path, &file, why, sizeof why);
    if (file_state == 1 && head_is(&file, s->committed_seq, s->committed_hash))
        return ND_OK;
    if (read_head_file(next_name, &next, why, sizeof why) != 1 ||
        !head_is(&next, s->committed_seq, s->committed_hash) ||
        (file_state == 1 && file.seq >= next.seq))
        return ND_OK;
    return publish_head_next(path, true, err, err_len);
}

/* Writes the head of the tail in the open batch (before its commit). */
static nd_err_t stage_head(nd_store_t *s, nd__head_t *head, char *err, size_t err_len)
{
    nd_err_t rc = make_head(s, s->last_seq, s->last_hash, head);
    if (rc != ND_OK) {
        snprintf(err, err_len, "cannot sign the head (OpenSSL)");
        return rc;
    }
    return s->vt->head_set(s->backend, head, err, err_len);
}

/* After open: a head created by this open's migration (a new store, or one recorded before
 * heads existed) is rewritten through the normal path, so it is signed when a key is set and
 * its head file exists from the start (a crash before the first batch then leaves a store that
 * verifies). Without a key the migration's row is already the head (seq and hash of the tail,
 * no signature), so only the head file is written: no second commit; and for a new store not
 * even that (below). */
static nd_err_t init_head(nd_store_t *s, char *err, size_t err_len)
{
    nd__head_t stored;
    nd_err_t rc = s->vt->head_get(s->backend, &stored, err, err_len);
    if (rc != ND_OK || !stored.migrated)
        return rc;
    nd__head_t head;
    bool unsigned_tail = s->key_len == 0 && stored.present && !stored.has_mac &&
                         head_is(&stored, s->last_seq, s->last_hash);
    /* A new, empty store without a key: its head file is first written by its first commit
     * (two fsyncs fewer for every `backtest --db` into a new file). Until then the verifier
     * accepts the missing file for an empty chain whose table head is seq 0 and unsigned when
     * no key is set: without a key, a head file saying so is as easy to forge as its absence. */
    if (unsigned_tail && s->last_seq == 0)
        return ND_OK;
    if (unsigned_tail) {
        rc = make_head(s, s->last_seq, s->last_hash, &head);
    } else {
        rc = stage_head(s, &head, err, err_len);
        if (rc == ND_OK)
            rc = s->vt->commit(s->backend, err, err_len);
    }
    const char *path = s->vt->head_file(s->backend);
    if (rc == ND_OK && path)
        rc = write_head_next(path, &head, err, err_len);
    if (rc == ND_OK && path)
        rc = publish_head_next(path, false, err, err_len);
    s->head_file_checked = true;
    return rc;
}

nd_err_t nd_store_open(const char *url, unsigned flags, nd_store_t **out, char *err,
                       size_t err_len)
{
    ND_ASSERT(url != NULL);
    ND_ASSERT(out != NULL);
    const char *target = NULL;
    const nd__store_vtable_t *vt = pick_backend(url, &target);
    if (target[0] == '\0' && vt != &nd__store_mem) {
        snprintf(err, err_len, "store URL '%s' names no database", url);
        return ND_EINVAL;
    }
    nd_store_t *s = nd_calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    s->vt = vt;
    s->flags = flags;
    if (strlen(target) < sizeof s->target)
        memcpy(s->target, target, strlen(target) + 1);
    nd_err_t rc = nd__hasher_init(&s->hasher);
    if (rc != ND_OK)
        snprintf(err, err_len, "cannot set up SHA-256 (OpenSSL)");
    if (rc == ND_OK)
        rc = nd__audit_key(s->key, sizeof s->key, &s->key_len, err, err_len);
    if (rc == ND_OK)
        rc = vt->open(target, flags, &s->backend, err, err_len);
    if (rc == ND_OK)
        rc = vt->tail(s->backend, &s->last_seq, s->last_hash, err, err_len);
    if (rc == ND_OK)
        rc = init_head(s, err, err_len);
    if (rc != ND_OK) {
        nd_store_close(s);
        return rc;
    }
    s->committed_seq = s->last_seq;
    memcpy(s->committed_hash, s->last_hash, ND_HASH_SIZE);
    *out = s;
    return ND_OK;
}

void nd_store_close(nd_store_t *s)
{
    if (!s)
        return;
    if (s->backend) {
        /* Pending records are dropped: a handle closed without a flush is a crash to the
         * store. */
        if (s->pending > 0)
            s->vt->rollback(s->backend);
        s->vt->close(s->backend);
    }
    nd_free(s->held);
    nd_free(s->arena);
    nd__hasher_deinit(&s->hasher);
    nd_free(s);
}

const char *nd_store_backend(const nd_store_t *s)
{
    ND_ASSERT(s != NULL);
    return s->vt->name;
}

int64_t nd_store_pending(const nd_store_t *s)
{
    return s->pending;
}

int64_t nd_store_last_seq(const nd_store_t *s)
{
    return s->last_seq;
}

void nd_store_last_hash(const nd_store_t *s, uint8_t out[ND_HASH_SIZE])
{
    memcpy(out, s->last_hash, ND_HASH_SIZE);
}

/* ---- holding ------------------------------------------------------------------------------ */

nd_err_t nd_store_set_hold(nd_store_t *s, int64_t max_records, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    if (max_records < 0 || (max_records > 0 && s->target[0] == '\0' && s->vt != &nd__store_mem)) {
        snprintf(err, err_len, "store: cannot hold records (a negative bound, or a URL too long "
                 "to reopen)");
        return ND_EINVAL;
    }
    if (s->pending > 0 || s->failed) {
        snprintf(err, err_len, "store: holding is set before the first append");
        return ND_ESTATE;
    }
    s->hold_max = max_records;
    return ND_OK;
}

bool nd_store_is_down(const nd_store_t *s)
{
    return s->failed || s->down;
}

int64_t nd_store_held(const nd_store_t *s)
{
    return s->down ? (int64_t)s->held_count : 0;
}

int64_t nd_store_hold_max(const nd_store_t *s)
{
    return s->hold_max;
}

const char *nd_store_failure(const nd_store_t *s)
{
    return s->failed || s->down ? s->failure : "";
}

void nd__store_set_faults(nd_store_t *s, uint32_t pct, uint64_t seed)
{
    s->fault_pct = pct > 100 ? 100 : pct;
    s->fault_rng = seed * 2654435761u + 1;
}

/* Tests: a backend write that fails by injection (nd__store_set_faults); an LCG, so a seed
 * replays the same failures. */
static bool injected(nd_store_t *s, char *why, size_t why_len)
{
    if (s->fault_pct == 0)
        return false;
    s->fault_rng = s->fault_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    if ((uint32_t)(s->fault_rng >> 33) % 100u >= s->fault_pct)
        return false;
    snprintf(why, why_len, "injected write failure");
    return true;
}

static nd_err_t backend_append(nd_store_t *s, const nd__row_t *row, char *why, size_t why_len)
{
    if (injected(s, why, why_len))
        return ND_EIO;
    return s->vt->append(s->backend, row, why, why_len);
}

static nd_err_t backend_commit(nd_store_t *s, char *why, size_t why_len)
{
    if (injected(s, why, why_len))
        return ND_EIO;
    return s->vt->commit(s->backend, why, why_len);
}

/* Keeps a copy of a row not yet committed (holding). ND_ENOMEM. */
static nd_err_t hold_row(nd_store_t *s, const nd__row_t *r)
{
    if (s->arena_len + r->enc_len > s->arena_cap) {
        size_t cap = s->arena_cap ? 2 * s->arena_cap : 65536;
        while (cap < s->arena_len + r->enc_len)
            cap *= 2;
        uint8_t *grown = nd_realloc(s->arena, cap);
        if (!grown)
            return ND_ENOMEM;
        s->arena = grown;
        s->arena_cap = cap;
    }
    held_row_t *rows = nd_array_grow(s->held, &s->held_cap, s->held_count + 1, sizeof *rows, 256);
    if (!rows)
        return ND_ENOMEM;
    s->held = rows;
    held_row_t *h = &s->held[s->held_count++];
    *h = (held_row_t){r->seq, r->ts_ns, r->kind, {0}, {0}, s->arena_len, r->enc_len};
    memcpy(h->prev_hash, r->prev_hash, ND_HASH_SIZE);
    memcpy(h->hash, r->hash, ND_HASH_SIZE);
    memcpy(s->arena + s->arena_len, r->enc, r->enc_len);
    s->arena_len += r->enc_len;
    return ND_OK;
}

static void drop_held(nd_store_t *s)
{
    s->held_count = 0;
    s->arena_len = 0;
}

/* Holding, a write failed: the database drops its batch (the connection is closed, as a crash
 * of the writer would leave it; a new one is opened by the next flush: no state of the failed
 * connection is carried over), every record of it stays held, the tail stays where it is. */
static nd_err_t go_down(nd_store_t *s, const char *why, char *err, size_t err_len)
{
    /* The memory backend is its own data: only its batch goes. */
    if (s->backend) {
        s->vt->rollback(s->backend);
        if (s->vt != &nd__store_mem) {
            s->vt->close(s->backend);
            s->backend = NULL;
        }
    }
    s->down = true;
    s->head_file_checked = false;
    s->pending = (int64_t)s->held_count;
    snprintf(s->failure, sizeof s->failure, "%s", why);
    if (err && err != why)
        snprintf(err, err_len, "%s", why);
    return ND_EIO;
}

nd_err_t nd_store_kill_writer(nd_store_t *s, const char *why, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    if (s->hold_max == 0 || s->failed || s->batch_removes) {
        snprintf(err, err_len, "store: only a holding store's writer can be killed");
        return ND_ESTATE;
    }
    go_down(s, why, NULL, 0);
    return ND_OK;
}

/* The first step of a flush while down: a new connection, whose tail must be exactly what this
 * store committed (anything else is another writer: the store fails for good), then every
 * held record written again in order, with the seq and hashes it was given. */
static nd_err_t reopen_and_replay(nd_store_t *s, char *why, size_t why_len)
{
    nd_err_t rc = ND_OK;
    if (!s->backend) {
        rc = s->vt->open(s->target, s->flags, &s->backend, why, why_len);
        if (rc != ND_OK) {
            s->backend = NULL;
            return rc;
        }
        int64_t seq = 0;
        uint8_t hash[ND_HASH_SIZE];
        rc = s->vt->tail(s->backend, &seq, hash, why, why_len);
        if (rc == ND_OK && (seq != s->committed_seq ||
                            memcmp(hash, s->committed_hash, ND_HASH_SIZE) != 0)) {
            snprintf(why, why_len, "reopened, the database ends at seq %lld, not at the seq %lld "
                     "this store committed (another writer?): refusing to write",
                     (long long)seq, (long long)s->committed_seq);
            return ND_ESTATE;
        }
    }
    for (size_t k = 0; rc == ND_OK && k < s->held_count; k++) {
        const held_row_t *h = &s->held[k];
        nd__row_t row = {h->seq, h->ts_ns, h->kind, {0}, {0}, s->arena + h->off, h->len};
        memcpy(row.prev_hash, h->prev_hash, ND_HASH_SIZE);
        memcpy(row.hash, h->hash, ND_HASH_SIZE);
        rc = backend_append(s, &row, why, why_len);
    }
    return rc;
}

/* A write failed: drop the batch, return to the durable tail and refuse further writes. */
static nd_err_t fail_store(nd_store_t *s, nd_err_t rc, const char *why, char *err, size_t err_len)
{
    if (s->backend)
        s->vt->rollback(s->backend);
    drop_held(s);
    s->down = false;
    s->failed = true;
    snprintf(s->failure, sizeof s->failure, "%s", why);
    s->last_seq = s->committed_seq;
    memcpy(s->last_hash, s->committed_hash, ND_HASH_SIZE);
    s->pending = 0;
    if (err && err != why)
        snprintf(err, err_len, "%s", why);
    return rc == ND_OK ? ND_EIO : rc;
}

static const char *or_empty(const char *text)
{
    return text ? text : "";
}

/* Hands a numbered row to the backend, holding a copy when the store holds. Holding, a row
 * that cannot be held is refused (ND_EFULL at the bound, the tail unchanged); one the backend
 * refuses stays held and the store goes down (ND_OK: it is in the chain, not yet durable, like
 * every appended record). Not holding, a refused row fails the store. */
static nd_err_t hold_append(nd_store_t *s, const nd__row_t *row, char *err, size_t err_len)
{
    if (s->hold_max > 0) {
        if ((int64_t)s->held_count >= s->hold_max) {
            snprintf(err, err_len, "store %s: %lld records not yet written are held in memory, "
                     "its bound: record %lld refused (%s)", s->down ? "down" : "busy",
                     (long long)s->held_count, (long long)row->seq, s->failure);
            return ND_EFULL;
        }
        if (hold_row(s, row) != ND_OK) {
            snprintf(err, err_len, "out of memory holding record %lld", (long long)row->seq);
            return ND_ENOMEM;
        }
        if (s->down)
            return ND_OK;
    }
    char why[256] = "";
    nd_err_t rc = backend_append(s, row, why, sizeof why);
    if (rc == ND_OK)
        return ND_OK;
    if (s->hold_max > 0 && !s->batch_removes) {
        go_down(s, why, NULL, 0);
        return ND_OK;
    }
    return fail_store(s, rc, why, err, err_len);
}

nd_err_t nd_store_append(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(rec != NULL);
    if (s->failed) {
        snprintf(err, err_len, "store refused the write: an earlier write failed (%s)",
                 s->failure);
        return ND_ESTATE;
    }
    if ((int)rec->kind < 1 || (int)rec->kind > ND_RECORD_KIND_MAX) {
        snprintf(err, err_len, "record kind %d is not a known kind", (int)rec->kind);
        return ND_EINVAL;
    }
    nd_record_t row = *rec;
    const char **strings[] = {&row.event, &row.account, &row.strategy, &row.venue,
                              &row.instrument, &row.jurisdiction, &row.client_order_id,
                              &row.venue_order_id, &row.reason, &row.detail};
    for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++)
        *strings[k] = or_empty(*strings[k]);
    row.seq = s->last_seq + 1;
    memcpy(row.prev_hash, s->last_hash, ND_HASH_SIZE);
    size_t len = nd__hasher_encode(&s->hasher, &row);
    if (len == 0 || nd__hasher_digest(&s->hasher, row.prev_hash, s->hasher.buf, len,
                                      row.hash) != ND_OK) {
        snprintf(err, err_len, "cannot encode and hash record %lld", (long long)row.seq);
        return ND_ENOMEM;
    }
    nd__row_t stored = {row.seq, row.ts_ns, (int64_t)row.kind, {0}, {0}, s->hasher.buf, len};
    memcpy(stored.prev_hash, row.prev_hash, ND_HASH_SIZE);
    memcpy(stored.hash, row.hash, ND_HASH_SIZE);
    nd_err_t rc = hold_append(s, &stored, err, err_len);
    if (rc != ND_OK)
        return rc;
    s->last_seq = row.seq;
    memcpy(s->last_hash, row.hash, ND_HASH_SIZE);
    s->pending = s->hold_max > 0 ? (int64_t)s->held_count : s->pending + 1;
    rec->seq = row.seq;
    memcpy(rec->prev_hash, row.prev_hash, ND_HASH_SIZE);
    memcpy(rec->hash, row.hash, ND_HASH_SIZE);
    return ND_OK;
}

/* A failed flush: holding, the records stay held and the store is down (ND_EIO, retried by the
 * next flush); otherwise the store fails for good. */
static nd_err_t flush_failed(nd_store_t *s, nd_err_t rc, const char *why, char *err,
                             size_t err_len)
{
    if (s->hold_max > 0 && !s->batch_removes && rc != ND_ESTATE)
        return go_down(s, why, err, err_len);
    return fail_store(s, rc, why, err, err_len);
}

/* Holding, after a commit: nothing is held any more. */
static void committed(nd_store_t *s)
{
    s->committed_seq = s->last_seq;
    memcpy(s->committed_hash, s->last_hash, ND_HASH_SIZE);
    s->pending = 0;
    s->down = false;
    s->batch_removes = false;
    s->failure[0] = '\0';
    drop_held(s);
}

nd_err_t nd_store_flush(nd_store_t *s, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    if (s->failed) {
        snprintf(err, err_len, "store failed earlier: %s", s->failure);
        return ND_ESTATE;
    }
    char why[256] = "";
    nd_err_t rc = s->down ? reopen_and_replay(s, why, sizeof why) : ND_OK;
    if (rc != ND_OK)
        return flush_failed(s, rc, why, err, err_len);
    /* Only a batch that appended moves the head (a prune always appends its record); a store
     * back from a failure first completes a head file left pending. */
    bool moved = s->pending > 0;
    bool head_left = s->hold_max > 0 && !s->head_file_checked;
    const char *path = moved || head_left ? s->vt->head_file(s->backend) : NULL;
    nd__head_t head;
    if (path && !s->head_file_checked)
        rc = complete_pending_head(s, path, why, sizeof why);
    if (rc == ND_OK && moved)
        rc = stage_head(s, &head, why, sizeof why);
    if (rc == ND_OK && path && moved)
        rc = injected(s, why, sizeof why) ? ND_EIO : write_head_next(path, &head, why, sizeof why);
    if (rc == ND_OK)
        rc = backend_commit(s, why, sizeof why);
    if (rc != ND_OK)
        return flush_failed(s, rc, why, err, err_len);
    committed(s);
    if (path && moved) {
        /* The records are durable and PATH.head.next names them (the verifier accepts that
         * state); a head file that cannot be renamed into place would be a fault at the next
         * commit's overwrite: holding, the next flush completes the rename first; otherwise
         * the store stops taking writes (the engine halts) and says why. */
        rc = publish_head_next(path, false, why, sizeof why);
        if (rc != ND_OK) {
            char text[300];
            snprintf(text, sizeof text, "records up to seq %lld committed, but %s",
                     (long long)s->committed_seq, why);
            if (s->hold_max > 0)
                return go_down(s, text, err, err_len);
            return fail_store(s, rc, text, err, err_len);
        }
    }
    return ND_OK;
}

nd_err_t nd__store_scan_rows(nd_store_t *s, const nd_record_filter_t *filter, void *ctx,
                             nd__row_cb row_cb, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(row_cb != NULL);
    if (s->pending > 0 || s->down) {
        nd_err_t rc = nd_store_flush(s, err, err_len);
        if (rc != ND_OK)
            return rc;
    }
    nd_record_filter_t all;
    memset(&all, 0, sizeof all);
    return s->vt->scan(s->backend, filter ? filter : &all, ctx, row_cb, err, err_len);
}

/* nd_store_scan's decoding: each row's encoding becomes the nd_record_t handed on. */
typedef struct decode_ctx {
    void *ctx;
    nd_record_cb record_cb;
    char *text;
    size_t cap;
    char *err;
    size_t err_len;
} decode_ctx_t;

static nd_err_t decode_row(void *ctx, const nd__row_t *row)
{
    decode_ctx_t *d = ctx;
    if (row->enc_len + 1 > d->cap) {
        size_t cap = 2 * row->enc_len + 256;
        char *grown = nd_realloc(d->text, cap);
        if (!grown) {
            snprintf(d->err, d->err_len, "out of memory decoding record %lld",
                     (long long)row->seq);
            return ND_ENOMEM;
        }
        d->text = grown;
        d->cap = cap;
    }
    nd_record_t rec;
    memset(&rec, 0, sizeof rec);
    char why[160] = "";
    nd_err_t rc = nd_record_decode(row->enc, row->enc_len, &rec, d->text, d->cap, why,
                                   sizeof why);
    if (rc == ND_OK && (rec.seq != row->seq || rec.ts_ns != row->ts_ns ||
                        (int64_t)rec.kind != row->kind))
        snprintf(why, sizeof why, "its seq, ts_ns or kind column differs from its encoding");
    if (rc != ND_OK || why[0]) {
        snprintf(d->err, d->err_len, "record %lld cannot be read: %s (the store was edited: "
                 "run noderr audit verify)", (long long)row->seq, why);
        return ND_EIO;
    }
    memcpy(rec.prev_hash, row->prev_hash, ND_HASH_SIZE);
    memcpy(rec.hash, row->hash, ND_HASH_SIZE);
    return d->record_cb(d->ctx, &rec);
}

nd_err_t nd_store_scan(nd_store_t *s, const nd_record_filter_t *filter, void *ctx,
                       nd_record_cb record_cb, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(record_cb != NULL);
    decode_ctx_t d = {ctx, record_cb, NULL, 0, err, err_len};
    nd_err_t rc = nd__store_scan_rows(s, filter, &d, decode_row, err, err_len);
    nd_free(d.text);
    return rc;
}

nd_err_t nd__store_remove(nd_store_t *s, int64_t seq_from, int64_t seq_to, char *err,
                          size_t err_len)
{
    ND_ASSERT(seq_from >= 1);
    ND_ASSERT(seq_to >= seq_from);
    if (s->failed || s->down) {
        snprintf(err, err_len, "store %s: %s", s->failed ? "failed earlier" : "down",
                 s->failure);
        return ND_ESTATE;
    }
    s->batch_removes = true;
    char why[256] = "";
    nd_err_t rc = s->vt->remove(s->backend, seq_from, seq_to, why, sizeof why);
    if (rc != ND_OK)
        return fail_store(s, rc, why, err, err_len);
    return ND_OK;
}

void nd__store_rollback(nd_store_t *s)
{
    if (s->down)
        return; /* holding, down: the held records stay (retention refuses a down store) */
    s->vt->rollback(s->backend);
    drop_held(s);
    s->batch_removes = false;
    s->last_seq = s->committed_seq;
    memcpy(s->last_hash, s->committed_hash, ND_HASH_SIZE);
    s->pending = 0;
}

/* ---- typed appends --------------------------------------------------------------------- */

static bool is_empty(const char *text)
{
    return text == NULL || text[0] == '\0';
}

static const char *const order_events[] = {"submitted", "accepted", "rejected", "amended",
                                           "cancelled", "partially_filled", "filled"};

static nd_err_t check_order_fields(const nd_record_t *rec, char *err, size_t err_len)
{
    bool known = false;
    for (size_t k = 0; k < sizeof order_events / sizeof order_events[0]; k++)
        known = known || (rec->event && strcmp(rec->event, order_events[k]) == 0);
    if (!known) {
        snprintf(err, err_len, "order event '%s' is not submitted, accepted, rejected, amended, "
                 "cancelled, partially_filled or filled", or_empty(rec->event));
        return ND_EINVAL;
    }
    if (rec->side != 1 && rec->side != -1) {
        snprintf(err, err_len, "order event: side must be 1 (buy) or -1 (sell), not %d",
                 (int)rec->side);
        return ND_EINVAL;
    }
    if (is_empty(rec->client_order_id) || is_empty(rec->instrument)) {
        snprintf(err, err_len, "order event: client order id and instrument are required");
        return ND_EINVAL;
    }
    /* What a strategy asked for is recorded as asked: its "submitted" and "rejected" records
     * may carry any quantity (sizing can come to zero; a bad request, -1, is rejected with
     * invalid_quantity and must be on record, not halt the session). Every event of an order
     * that reached a venue has a positive quantity. */
    bool as_asked = strcmp(rec->event, "rejected") == 0 || strcmp(rec->event, "submitted") == 0;
    if ((rec->qty <= 0 && !as_asked) || rec->fee < 0) {
        snprintf(err, err_len, "order event: quantity must be positive and fee not negative");
        return ND_EINVAL;
    }
    return ND_OK;
}

nd_err_t nd_store_append_order_event(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len)
{
    nd_err_t rc = check_order_fields(rec, err, err_len);
    if (rc != ND_OK)
        return rc;
    rec->kind = ND_RECORD_ORDER;
    return nd_store_append(s, rec, err, err_len);
}

nd_err_t nd_store_append_risk_reject(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len)
{
    nd_err_t rc = check_order_fields(rec, err, err_len);
    if (rc == ND_OK && (strcmp(rec->event, "rejected") != 0 || is_empty(rec->reason))) {
        snprintf(err, err_len, "risk reject: event must be 'rejected' with a reason");
        rc = ND_EINVAL;
    }
    if (rc != ND_OK)
        return rc;
    rec->kind = ND_RECORD_RISK_REJECT;
    return nd_store_append(s, rec, err, err_len);
}

nd_err_t nd_store_append_fill(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len)
{
    if (rec->side != 1 && rec->side != -1) {
        snprintf(err, err_len, "fill: side must be 1 (buy) or -1 (sell), not %d", (int)rec->side);
        return ND_EINVAL;
    }
    if (rec->qty <= 0 || rec->px <= 0 || rec->fee < 0 || rec->notional < 0) {
        snprintf(err, err_len, "fill: price and quantity must be positive, fee and notional "
                 "not negative");
        return ND_EINVAL;
    }
    if (is_empty(rec->client_order_id) || is_empty(rec->instrument)) {
        snprintf(err, err_len, "fill: client order id and instrument are required");
        return ND_EINVAL;
    }
    rec->kind = ND_RECORD_FILL;
    return nd_store_append(s, rec, err, err_len);
}

static bool parses_as_json(const char *text)
{
    if (is_empty(text))
        return true;
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &jerr);
    json_decref(doc);
    return doc != NULL;
}

nd_err_t nd_store_append_breaker(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len)
{
    if (is_empty(rec->event) || !parses_as_json(rec->detail)) {
        snprintf(err, err_len, "breaker: the breaker kind is required and detail must be JSON");
        return ND_EINVAL;
    }
    rec->kind = ND_RECORD_BREAKER;
    return nd_store_append(s, rec, err, err_len);
}

nd_err_t nd_store_append_config_change(nd_store_t *s, int64_t ts_ns, const char *key,
                                       const char *value, const char *detail_json, char *err,
                                       size_t err_len)
{
    if (is_empty(key) || !parses_as_json(detail_json)) {
        snprintf(err, err_len, "config change: a key is required and detail must be JSON");
        return ND_EINVAL;
    }
    nd_record_t rec = {.kind = ND_RECORD_CONFIG, .ts_ns = ts_ns, .event = key, .reason = value,
                       .detail = detail_json};
    return nd_store_append(s, &rec, err, err_len);
}

nd_err_t nd_store_append_operator_action(nd_store_t *s, int64_t ts_ns, const char *operator_name,
                                         const char *action, const char *note, char *err,
                                         size_t err_len)
{
    if (is_empty(operator_name) || is_empty(action)) {
        snprintf(err, err_len, "operator action: the operator and the action are required");
        return ND_EINVAL;
    }
    nd_record_t rec = {.kind = ND_RECORD_OPERATOR, .ts_ns = ts_ns, .account = operator_name,
                       .event = action, .reason = note};
    return nd_store_append(s, &rec, err, err_len);
}

nd_err_t nd_store_append_alert(nd_store_t *s, const nd_alert_record_t *a, int64_t *seq_out,
                               char *err, size_t err_len)
{
    ND_ASSERT(a != NULL);
    if (is_empty(a->rule) || is_empty(a->reason)) {
        snprintf(err, err_len, "alert: the rule and the reason are required");
        return ND_EINVAL;
    }
    if (a->from_ns > a->to_ns || !parses_as_json(a->evidence_json)) {
        snprintf(err, err_len, "alert %s: from after to, or evidence that is not JSON", a->rule);
        return ND_EINVAL;
    }
    nd_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ND_RECORD_ALERT;
    rec.ts_ns = a->ts_ns;
    rec.event = a->rule;
    rec.jurisdiction = a->jurisdiction;
    rec.account = a->accounts;
    rec.client_order_id = a->order_ids;
    rec.instrument = a->instrument;
    rec.from_ns = a->from_ns;
    rec.to_ns = a->to_ns;
    rec.reason = a->reason;
    rec.detail = a->evidence_json;
    nd_err_t rc = nd_store_append(s, &rec, err, err_len);
    if (rc == ND_OK && seq_out)
        *seq_out = rec.seq;
    return rc;
}
