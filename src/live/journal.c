/* journal.c: the order journal, an append-only file of fixed-size checksummed records.
 *
 * Why a file of its own and not the compliance store: an intent must be durable before its
 * request leaves, one fdatasync per intent, while the store batches records and flushes them
 * in the loop's before-sleep hook (STYLE.md C15) behind backends (PostgreSQL, memory) whose
 * durability differs; and a restart must read the local view back before anything else runs.
 * A file of 320-byte records gives both with one write(2) per record and a replay that needs
 * no schema. The store keeps the audit trail; the session mirrors journal records into it.
 *
 * On disk, per record: magic "NDJ1", the fields in a fixed little-endian order, and a 64-bit
 * FNV-1a checksum of the bytes before it. A process crash can leave only the last record torn
 * (one write per record, appends only); a power loss can leave the records written since the
 * last fdatasync torn or zeroed: replay cuts a tail in which no good record follows the first
 * bad one. A bad record with a good one after it is corruption.
 *
 * Durability before a send (nd_journal_before_send) has two modes (docs/live.md "Durability"):
 * BEFORE_SEND syncs on the sender's thread; BATCHED hands the sync to the journal's syncer
 * thread, which runs one fdatasync for every intent appended while the last one ran (group
 * commit). Threads: appends on one thread (the owner's); before_send on any; the syncer only
 * calls fdatasync on the descriptor and sets the flags below. */
#include "noderr/reconcile.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_SIZE 320
#define REC_MAGIC 0x314A444Eu /* "NDJ1" little-endian */
/* BATCHED: the syncer sleeps on its condition until a sender wakes it with
 * nd_journal_after_send, once its request has left: the wake-up (a futex and a wait for a
 * core) never stands between an intent and its send, and an idle or busy journal costs no
 * polling. */
/* The fields code() writes: header, tag, asset, order, trade; the checksum after them. */
_Static_assert(36 + (ND_CLID_TAG_MAX + 2) + ND_NAME_MAX + 8 + (ND_CLID_SIZE + 20 + 32) +
                   (56 + ND_CLID_SIZE + 12 + ND_NAME_MAX) <= REC_SIZE - 8,
               "a journal record's fields fit in REC_SIZE");

struct nd_journal {
    int fd;
    int64_t seq;
    bool broken; /* a failed write: no append may follow a hole */
    nd_journal_sync_t mode;
    _Atomic uint64_t syncs;     /* fdatasync calls made */
    /* BATCHED: the syncer thread */
    bool syncer_on;
    pthread_t syncer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;                  /* under mu */
    _Atomic bool wanted;        /* a sync asked for since the syncer's last one started */
    _Atomic bool sleeping;      /* the syncer waits on cv (else it is syncing) */
    _Atomic bool sync_failed;   /* an fdatasync failed: no request may leave any more */
};

typedef struct cursor {
    uint8_t *buf;
    size_t at;
} cursor_t;

static void put64(cursor_t *c, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        c->buf[c->at++] = (uint8_t)(v >> (8 * i));
}

static void put32(cursor_t *c, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        c->buf[c->at++] = (uint8_t)(v >> (8 * i));
}

static void puts_n(cursor_t *c, const char *s, size_t n)
{
    size_t len = strnlen(s, n - 1);
    memset(c->buf + c->at, 0, n);
    memcpy(c->buf + c->at, s, len);
    c->at += n;
}

static uint64_t get64(cursor_t *c)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)c->buf[c->at++] << (8 * i);
    return v;
}

static uint32_t get32(cursor_t *c)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)c->buf[c->at++] << (8 * i);
    return v;
}

static void gets_n(cursor_t *c, char *s, size_t n)
{
    memcpy(s, c->buf + c->at, n);
    s[n - 1] = '\0';
    c->at += n;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* The order part of a record (NEW, CANCEL, STATUS, RECON). */
static void code_order(cursor_t *c, nd_recon_order_t *o, bool write)
{
    if (write) {
        puts_n(c, o->clid, ND_CLID_SIZE);
        put32(c, o->instrument_id);
        put32(c, (uint32_t)o->side);
        put32(c, (uint32_t)o->type);
        put32(c, (uint32_t)o->status);
        put32(c, o->cancel_sent);
        put64(c, (uint64_t)o->px);
        put64(c, (uint64_t)o->qty);
        put64(c, (uint64_t)o->venue_id);
        put64(c, (uint64_t)o->filled_qty);
        return;
    }
    gets_n(c, o->clid, ND_CLID_SIZE);
    o->instrument_id = get32(c);
    o->side = (nd_side_t)(int32_t)get32(c);
    o->type = (nd_order_type_t)get32(c);
    o->status = (nd_recon_status_t)get32(c);
    o->cancel_sent = get32(c) != 0;
    o->px = (int64_t)get64(c);
    o->qty = (int64_t)get64(c);
    o->venue_id = (int64_t)get64(c);
    o->filled_qty = (int64_t)get64(c);
}

static void code_trade(cursor_t *c, nd_recon_trade_t *t, bool write)
{
    int64_t *f[] = {&t->trade_id, &t->venue_order_id, &t->px,        &t->qty,
                    &t->quote_qty, &t->commission,    &t->ts_ns};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (write)
            put64(c, (uint64_t)*f[i]);
        else
            *f[i] = (int64_t)get64(c);
    }
    if (write) {
        puts_n(c, t->clid, ND_CLID_SIZE);
        put32(c, t->instrument_id);
        put32(c, (uint32_t)t->side);
        put32(c, t->maker);
        puts_n(c, t->commission_asset, ND_NAME_MAX);
        return;
    }
    gets_n(c, t->clid, ND_CLID_SIZE);
    t->instrument_id = get32(c);
    t->side = (nd_side_t)(int32_t)get32(c);
    t->maker = get32(c) != 0;
    /* Zero bytes in records written before the asset was kept: "" (the asset received). */
    gets_n(c, t->commission_asset, ND_NAME_MAX);
}

/* Encodes (write) or decodes a record; returns the bytes before the checksum. */
static size_t code(uint8_t buf[REC_SIZE], nd_journal_rec_t *r, bool write)
{
    cursor_t c = {.buf = buf, .at = 4};
    if (write) {
        memset(buf, 0, REC_SIZE);
        c.at = 0;
        put32(&c, REC_MAGIC);
        put32(&c, (uint32_t)r->kind);
        put64(&c, (uint64_t)r->seq);
        put64(&c, (uint64_t)r->ts_ns);
        put32(&c, r->run);
        put32(&c, (uint32_t)r->reason);
        put32(&c, (uint32_t)r->recon_kind);
        puts_n(&c, r->tag, sizeof r->tag);
        puts_n(&c, r->asset.asset, sizeof r->asset.asset);
        put64(&c, (uint64_t)r->asset.amount);
    } else {
        memset(r, 0, sizeof *r);
        r->kind = (nd_journal_kind_t)get32(&c);
        r->seq = (int64_t)get64(&c);
        r->ts_ns = (int64_t)get64(&c);
        r->run = get32(&c);
        r->reason = (int32_t)get32(&c);
        r->recon_kind = (int32_t)get32(&c);
        gets_n(&c, r->tag, sizeof r->tag);
        gets_n(&c, r->asset.asset, sizeof r->asset.asset);
        r->asset.amount = (int64_t)get64(&c);
    }
    code_order(&c, &r->order, write);
    code_trade(&c, &r->trade, write);
    ND_ASSERT(c.at <= REC_SIZE - 8);
    return REC_SIZE - 8;
}

/* 1: a good record; 0: bad. */
static int check(uint8_t buf[REC_SIZE])
{
    cursor_t c = {.buf = buf, .at = 0};
    if (get32(&c) != REC_MAGIC)
        return 0;
    c.at = REC_SIZE - 8;
    return get64(&c) == fnv1a(buf, REC_SIZE - 8);
}

/* True when a good record lies at a record boundary from at on (a bad record at at is then
 * corruption, not a torn tail). O(bytes after at). */
static bool good_after(int fd, off_t at)
{
    uint8_t buf[REC_SIZE];
    for (;; at += REC_SIZE) {
        if (pread(fd, buf, REC_SIZE, at) != REC_SIZE)
            return false;
        if (check(buf))
            return true;
    }
}

/* Reads whole records from fd, handing each to cb; *good_end is the offset after the last good
 * one. ND_EPARSE when a bad record has a good one after it. */
static nd_err_t replay(int fd, void (*cb)(void *, const nd_journal_rec_t *), void *ctx,
                       int64_t *seq, off_t *good_end, char *err, size_t err_len)
{
    uint8_t buf[REC_SIZE];
    off_t at = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, REC_SIZE, at);
        if (n < 0) {
            snprintf(err, err_len, "journal: read at %lld: %s", (long long)at, strerror(errno));
            return ND_EIO;
        }
        if (n < REC_SIZE || !check(buf)) {
            if (n == REC_SIZE && good_after(fd, at + REC_SIZE)) {
                snprintf(err, err_len, "journal: bad record at offset %lld", (long long)at);
                return ND_EPARSE;
            }
            *good_end = at;
            return ND_OK;
        }
        nd_journal_rec_t rec;
        code(buf, &rec, false);
        *seq = rec.seq;
        if (cb)
            cb(ctx, &rec);
        at += REC_SIZE;
    }
}

nd_err_t nd_journal_open(const char *path, void (*replay_cb)(void *ctx, const nd_journal_rec_t *rec),
                         void *ctx, nd_journal_t **out, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && out != NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "journal: cannot open %s: %s", path, strerror(errno));
        return ND_EIO;
    }
    int64_t seq = 0;
    off_t good_end = 0;
    nd_err_t rc = replay(fd, replay_cb, ctx, &seq, &good_end, err, err_len);
    struct stat st;
    if (rc == ND_OK && fstat(fd, &st) != 0)
        rc = ND_EIO;
    if (rc == ND_OK && st.st_size > good_end) {
        ND_LOG(ND_LOG_WARN, "event=journal_torn_tail path=%s cut_bytes=%lld", path,
               (long long)(st.st_size - good_end));
        if (ftruncate(fd, good_end) != 0) {
            snprintf(err, err_len, "journal: cannot cut the torn tail of %s: %s", path,
                     strerror(errno));
            rc = ND_EIO;
        }
    }
    /* What the last run wrote and a kill -9 left in the page cache is durable before a
     * reconciliation trusts it (a BATCHED run's unsynced tail included). */
    if (rc == ND_OK && fdatasync(fd) != 0) {
        snprintf(err, err_len, "journal: cannot sync %s: %s", path, strerror(errno));
        rc = ND_EIO;
    }
    nd_journal_t *j = rc == ND_OK ? nd_calloc(1, sizeof *j) : NULL;
    if (rc == ND_OK && !j)
        rc = ND_ENOMEM;
    if (rc != ND_OK) {
        close(fd);
        return rc;
    }
    j->fd = fd;
    j->seq = seq;
    j->mode = ND_JOURNAL_SYNC_BEFORE_SEND;
    atomic_init(&j->syncs, 1);
    atomic_init(&j->wanted, false);
    atomic_init(&j->sleeping, false);
    atomic_init(&j->sync_failed, false);
    *out = j;
    return ND_OK;
}

nd_err_t nd_journal_append(nd_journal_t *j, nd_journal_rec_t *rec, char *err, size_t err_len)
{
    ND_ASSERT(j != NULL && rec != NULL);
    ND_ASSERT(rec->kind >= ND_JOURNAL_RUN && rec->kind <= ND_JOURNAL_WATERMARK);
    if (j->broken) {
        snprintf(err, err_len, "journal: an earlier write failed; nothing more is written");
        return ND_EIO;
    }
    uint8_t buf[REC_SIZE];
    rec->seq = j->seq + 1;
    size_t n = code(buf, rec, true);
    cursor_t c = {.buf = buf, .at = n};
    put64(&c, fnv1a(buf, n));
    ssize_t w = write(j->fd, buf, REC_SIZE);
    if (w != REC_SIZE) {
        j->broken = true;
        snprintf(err, err_len, "journal: write failed: %s",
                 w < 0 ? strerror(errno) : "short write");
        return ND_EIO;
    }
    j->seq = rec->seq;
    return ND_OK;
}

nd_err_t nd_journal_sync(nd_journal_t *j)
{
    ND_ASSERT(j != NULL);
    atomic_fetch_add_explicit(&j->syncs, 1, memory_order_relaxed);
    return fdatasync(j->fd) == 0 ? ND_OK : ND_EIO;
}

bool nd_journal_sync_parse(const char *text, nd_journal_sync_t *out)
{
    ND_ASSERT(text != NULL && out != NULL);
    if (strcmp(text, "before_send") == 0)
        *out = ND_JOURNAL_SYNC_BEFORE_SEND;
    else if (strcmp(text, "batched") == 0)
        *out = ND_JOURNAL_SYNC_BATCHED;
    else
        return false;
    return true;
}

const char *nd_journal_sync_name(nd_journal_sync_t mode)
{
    return mode == ND_JOURNAL_SYNC_BATCHED ? "batched" : "before_send";
}

/* Waits for a wish (BATCHED) on cv. The sleeping flag and the wish are both sequentially
 * consistent: a sender whose nd_journal_after_send comes after the syncer's last look sees the
 * flag and signals (under mu, so the signal cannot fall before the wait). Called and returns
 * with mu held. */
static void wait_wish(nd_journal_t *j)
{
    atomic_store(&j->sleeping, true);
    while (!j->stop && !atomic_load(&j->wanted))
        pthread_cond_wait(&j->cv, &j->mu);
    atomic_store(&j->sleeping, false);
}

/* The syncer (BATCHED): waits for a wish, clears it, syncs everything appended so far; a wish
 * made during the sync (a later intent) makes it sync again. */
static void *syncer(void *arg)
{
    nd_journal_t *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        wait_wish(j);
        if (!atomic_load(&j->wanted)) /* stopping, nothing left to sync */
            break;
        pthread_mutex_unlock(&j->mu);
        atomic_store(&j->wanted, false); /* before the sync: a later wish syncs again */
        if (nd_journal_sync(j) != ND_OK) {
            atomic_store(&j->sync_failed, true);
            ND_LOG(ND_LOG_ERR, "event=journal_sync_failed mode=batched err=\"%s\"",
                   strerror(errno));
        }
        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

nd_err_t nd_journal_set_sync(nd_journal_t *j, nd_journal_sync_t mode, char *err, size_t err_len)
{
    ND_ASSERT(j != NULL && !j->syncer_on);
    ND_ASSERT(mode == ND_JOURNAL_SYNC_BEFORE_SEND || mode == ND_JOURNAL_SYNC_BATCHED);
    if (mode == ND_JOURNAL_SYNC_BEFORE_SEND) {
        j->mode = mode;
        return ND_OK;
    }
    int e = pthread_mutex_init(&j->mu, NULL);
    if (e == 0 && (e = pthread_cond_init(&j->cv, NULL)) != 0)
        pthread_mutex_destroy(&j->mu);
    j->stop = false;
    if (e == 0 && (e = pthread_create(&j->syncer, NULL, syncer, j)) != 0) {
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
    }
    if (e != 0) {
        nd_err_put(err, err_len, "journal: cannot start the syncer thread: %s", strerror(e));
        return ND_EIO;
    }
    j->syncer_on = true;
    j->mode = mode;
    return ND_OK;
}

nd_err_t nd_journal_before_send(nd_journal_t *j)
{
    ND_ASSERT(j != NULL);
    if (j->mode == ND_JOURNAL_SYNC_BEFORE_SEND)
        return nd_journal_sync(j);
    ND_ASSERT(j->syncer_on);
    if (atomic_load_explicit(&j->sync_failed, memory_order_relaxed))
        return ND_EIO;
    atomic_store(&j->wanted, true); /* the syncer is woken after the send */
    return ND_OK;
}

void nd_journal_after_send(nd_journal_t *j)
{
    ND_ASSERT(j != NULL);
    if (j->mode == ND_JOURNAL_SYNC_BEFORE_SEND)
        return;
    ND_ASSERT(j->syncer_on);
    /* A busy syncer finds the wish when its sync ends; a sleeping one is woken here. */
    if (atomic_load(&j->wanted) && atomic_load(&j->sleeping)) {
        pthread_mutex_lock(&j->mu);
        pthread_cond_signal(&j->cv);
        pthread_mutex_unlock(&j->mu);
    }
}

nd_journal_sync_t nd_journal_mode(const nd_journal_t *j)
{
    return j->mode;
}

uint64_t nd_journal_sync_count(const nd_journal_t *j)
{
    ND_ASSERT(j != NULL);
    return atomic_load_explicit(&j->syncs, memory_order_relaxed);
}

int64_t nd_journal_last_seq(const nd_journal_t *j)
{
    return j->seq;
}

/* Stops the syncer after its last wish, then syncs once more: a clean stop leaves everything
 * appended durable in either mode. */
void nd_journal_close(nd_journal_t *j)
{
    if (!j)
        return;
    if (j->syncer_on) {
        pthread_mutex_lock(&j->mu);
        j->stop = true;
        pthread_cond_signal(&j->cv);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->syncer, NULL);
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        if (nd_journal_sync(j) != ND_OK)
            ND_LOG(ND_LOG_ERR, "event=journal_sync_failed at=close err=\"%s\"", strerror(errno));
    }
    close(j->fd);
    nd_free(j);
}

nd_err_t nd_recon_local_fold(nd_recon_local_t *local, const nd_journal_rec_t *rec,
                             const nd_recon_instrument_t *instruments, uint32_t instrument_count)
{
    ND_ASSERT(local != NULL && rec != NULL);
    nd_recon_order_t *o = NULL;
    switch (rec->kind) {
    case ND_JOURNAL_OPENING: {
        int64_t have = 0;
        for (uint32_t i = 0; i < local->balance_count; i++)
            if (strcmp(local->balances[i].asset, rec->asset.asset) == 0)
                have = local->balances[i].amount;
        local->has_balances = true;
        return nd_recon_balance_add(local, rec->asset.asset, rec->asset.amount - have);
    }
    case ND_JOURNAL_NEW:
        /* One NEW record per client order id (a resend journals none): no look-up here, this
         * runs on the order path. A full view drops its done orders first. */
        if (local->order_count == ND_RECON_ORDERS_MAX)
            (void)nd_recon_local_compact(local, NULL);
        if (local->order_count == ND_RECON_ORDERS_MAX)
            return ND_EFULL;
        o = &local->orders[local->order_count++];
        *o = rec->order;
        o->intent_ns = rec->ts_ns;
        o->status = ND_RECON_SENT;
        o->filled_qty = 0;
        o->cancel_sent = false;
        return ND_OK;
    case ND_JOURNAL_CANCEL:
    case ND_JOURNAL_STATUS:
        o = nd_recon_find(local, rec->order.clid);
        if (!o)
            return ND_EINVAL;
        if (rec->kind == ND_JOURNAL_CANCEL) {
            o->cancel_sent = true;
            return ND_OK;
        }
        o->status = rec->order.status;
        if (rec->order.venue_id)
            o->venue_id = rec->order.venue_id;
        return ND_OK;
    case ND_JOURNAL_FILL: {
        nd_err_t rc = nd_recon_book_trade(local, &rec->trade, instruments, instrument_count);
        return rc == ND_EEXIST ? ND_OK : rc;
    }
    case ND_JOURNAL_RECON: {
        nd_recon_diff_t diff;
        memset(&diff, 0, sizeof diff);
        diff.kind = (nd_recon_kind_t)rec->recon_kind;
        diff.resolution = (nd_recon_resolution_t)rec->reason;
        diff.order = rec->order;
        diff.trade = rec->trade;
        diff.venue = rec->asset;
        if (diff.kind < ND_RECON_NEVER_SENT || diff.kind > ND_RECON_BALANCE)
            return ND_EINVAL;
        return nd_recon_apply(local, &diff, instruments, instrument_count);
    }
    case ND_JOURNAL_WATERMARK:
        if (rec->trade.trade_id > local->last_trade_id)
            local->last_trade_id = rec->trade.trade_id;
        return ND_OK;
    default:
        return ND_OK; /* RUN: informative */
    }
}

void nd_journal_rec_of_diff(const nd_recon_diff_t *diff, int64_t ts_ns,
                            nd_journal_rec_t *rec)
{
    ND_ASSERT(diff != NULL && rec != NULL);
    memset(rec, 0, sizeof *rec);
    rec->kind = ND_JOURNAL_RECON;
    rec->ts_ns = ts_ns;
    rec->recon_kind = (int32_t)diff->kind;
    rec->reason = (int32_t)diff->resolution;
    rec->order = diff->order;
    rec->trade = diff->trade;
    rec->asset = diff->venue;
}
