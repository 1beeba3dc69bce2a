/* cb_book.c: the Coinbase Exchange level2 book: a snapshot, then l2update changes, applied to an
 * nd_book_t through the Exchange decoder.
 *
 * Invariants: the book follows one product (the first snapshot's); an l2update is applied only
 * after a snapshot and only when the decoder accepted every change in it, so a bad message never
 * half-applies; the display precision is the most fractional digits seen for the product, so
 * the book prints prices and sizes the way the venue wrote them ("36.00"). */
#include "noderr/coinbase.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct apply_ctx {
    nd_coinbase_exchange_book_t *cb;
    nd_coinbase_decoder_t *dec;
    nd_err_t rc;
    const char *why; /* set with rc */
} apply_ctx_t;

static nd_book_side_t book_side(const nd_md_level_t *lv)
{
    ND_ASSERT(lv->side == ND_MD_SIDE_BID || lv->side == ND_MD_SIDE_ASK);
    return lv->side == ND_MD_SIDE_BID ? ND_BOOK_BID : ND_BOOK_ASK;
}

/* Puts back the quantities saved in undo for levels [0, n), last first, which retraces the
 * changes exactly (so every set fits: each restores a state the book was in). */
static void roll_back(nd_coinbase_exchange_book_t *cb, const nd_md_book_update_t *u, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;) {
        const nd_md_level_t *lv = &u->levels[i];
        nd_err_t rc = nd_book_set(cb->book, book_side(lv), lv->px, cb->_undo[i]);
        ND_ASSERT(rc == ND_OK);
    }
}

/* Applies an l2update whole or not at all: a level that does not fit, or a result that
 * crosses, puts the book back as it was. */
static void apply_update(apply_ctx_t *a, const nd_md_book_update_t *u)
{
    nd_coinbase_exchange_book_t *cb = a->cb;
    ND_ASSERT(u->level_count <= ND_COINBASE_LEVELS_MAX);
    for (uint32_t i = 0; i < u->level_count; i++) {
        const nd_md_level_t *lv = &u->levels[i];
        nd_book_side_t side = book_side(lv);
        cb->_undo[i] = nd_book_qty_at(cb->book, side, lv->px);
        nd_err_t rc = nd_book_set(cb->book, side, lv->px, lv->qty);
        if (rc != ND_OK) {
            /* The decoder refused px <= 0 and qty < 0: only a full side is left. */
            ND_ASSERT(rc == ND_EFULL);
            roll_back(cb, u, i);
            nd_venue_bad(&cb->counters, ND_BAD_TOO_LARGE, "l2update: a side of the book is full");
            a->rc = ND_EFULL;
            a->why = "l2update adds a level to a full side of the book";
            return;
        }
    }
    if (nd_book_crossed(cb->book)) {
        roll_back(cb, u, u->level_count);
        nd_venue_bad(&cb->counters, ND_BAD_CROSSED, "l2update would cross the book");
        a->rc = ND_ERANGE;
        a->why = "l2update would leave best bid >= best ask";
        return;
    }
    cb->updates_applied++;
}

/* Replaces the book with a snapshot the decoder found sorted, unrepeated and uncrossed. */
static void apply_snapshot(apply_ctx_t *a, const nd_md_event_t *e)
{
    nd_coinbase_exchange_book_t *cb = a->cb;
    const nd_md_book_update_t *u = &e->u.book;
    uint32_t per_side[3] = {0, 0, 0};
    for (uint32_t i = 0; i < u->level_count; i++)
        per_side[u->levels[i].side]++;
    nd_book_clear(cb->book);
    uint32_t cap = nd_book_levels_max(cb->book);
    if (per_side[ND_MD_SIDE_BID] > cap || per_side[ND_MD_SIDE_ASK] > cap) {
        /* Never cut a snapshot to fit: the book it would leave looks whole and is not. The
         * previous book is stale once the venue sends a new snapshot, so it goes too. */
        cb->have_snapshot = false;
        cb->snapshots_refused++;
        nd_venue_bad(&cb->counters, ND_BAD_TOO_LARGE, "snapshot has more levels than the book");
        a->rc = ND_EFULL;
        a->why = "snapshot has more levels a side than the book holds";
        return;
    }
    snprintf(cb->product_id, sizeof cb->product_id, "%s", e->symbol);
    for (uint32_t i = 0; i < u->level_count; i++) {
        nd_err_t rc = nd_book_set(cb->book, book_side(&u->levels[i]), u->levels[i].px,
                                  u->levels[i].qty);
        ND_ASSERT(rc == ND_OK);
    }
    ND_ASSERT(!nd_book_crossed(cb->book));
    cb->have_snapshot = true;
    cb->snapshots++;
}

static void on_event(void *ctx, const nd_md_event_t *e)
{
    apply_ctx_t *a = ctx;
    nd_coinbase_exchange_book_t *cb = a->cb;
    if (e->kind != ND_MD_BOOK_UPDATE)
        return;
    /* The book follows the product of its first snapshot; the others are counted, so a
     * recording of several products does not look like a quiet one. */
    if (cb->product_id[0] != '\0' && strcmp(e->symbol, cb->product_id) != 0) {
        cb->other_product++;
        return;
    }
    if (e->u.book.snapshot) {
        apply_snapshot(a, e);
    } else {
        if (!cb->have_snapshot) {
            nd_venue_bad(&cb->counters, ND_BAD_OUT_OF_ORDER, "l2update before any snapshot");
            a->rc = ND_ESTATE;
            a->why = "l2update before any snapshot";
            return;
        }
        apply_update(a, &e->u.book);
    }
    if (a->rc != ND_OK)
        return;
    if (a->dec->msg_px_places > cb->px_places)
        cb->px_places = a->dec->msg_px_places;
    if (a->dec->msg_qty_places > cb->qty_places)
        cb->qty_places = a->dec->msg_qty_places;
    ND_DEBUG_ASSERT(nd_book_valid(cb->book));
    ND_ASSERT(!nd_book_crossed(cb->book));
}

nd_err_t nd_coinbase_exchange_book_init(nd_coinbase_exchange_book_t *cb, nd_book_t *book)
{
    ND_ASSERT(cb != NULL);
    ND_ASSERT(book != NULL);
    memset(cb, 0, sizeof *cb);
    cb->book = book;
    cb->counters.venue = ND_VENUE_COINBASE_EXCHANGE;
    cb->_undo = nd_calloc(ND_COINBASE_LEVELS_MAX, sizeof *cb->_undo);
    if (!cb->_undo)
        return ND_ENOMEM;
    nd_err_t rc = nd_coinbase_decoder_init(&cb->_dec, ND_VENUE_COINBASE_EXCHANGE, NULL, NULL);
    if (rc != ND_OK) {
        nd_free(cb->_undo);
        cb->_undo = NULL;
    }
    return rc;
}

void nd_coinbase_exchange_book_deinit(nd_coinbase_exchange_book_t *cb)
{
    ND_ASSERT(cb != NULL);
    nd_coinbase_decoder_deinit(&cb->_dec);
    nd_free(cb->_undo);
    cb->_undo = NULL;
    cb->book = NULL;
}

/* Adds the decoder's bad-input counts for one message into the book's counters. */
static void merge_counters(nd_venue_counters_t *into, const nd_venue_counters_t *before,
                           const nd_venue_counters_t *after)
{
    into->messages += after->messages - before->messages;
    into->events += after->events - before->events;
    for (int i = 0; i < ND_BAD_COUNT; i++)
        into->bad[i] += after->bad[i] - before->bad[i];
}

nd_err_t nd_coinbase_exchange_book_apply(nd_coinbase_exchange_book_t *cb, const char *msg,
                                         size_t len, char *err, size_t err_len)
{
    ND_ASSERT(cb != NULL && cb->_dec._tok != NULL);
    ND_ASSERT(msg != NULL || len == 0);
    nd_coinbase_decoder_t *dec = &cb->_dec;
    apply_ctx_t a = {.cb = cb, .dec = dec, .rc = ND_OK, .why = NULL};
    dec->_sink = on_event;
    dec->_ctx = &a;
    nd_venue_counters_t before = dec->counters;
    nd_err_t rc = nd_coinbase_decode_msg(dec, msg, len, 0);
    merge_counters(&cb->counters, &before, &dec->counters);
    dec->_sink = NULL;
    dec->_ctx = NULL;
    if (rc == ND_EDECLINED) /* other message types are not the book's business */
        return ND_OK;
    if (rc == ND_OK)
        rc = a.rc;
    if (rc != ND_OK && err && err_len)
        snprintf(err, err_len, "%s", a.why ? a.why : "bad Coinbase Exchange message");
    return rc;
}

/* Largest stream file replayed: a day of one product's level2 channel is far smaller. */
#define REPLAY_FILE_MAX ((size_t)1 << 30)

nd_err_t nd_coinbase_exchange_replay(const char *stream_path, nd_book_t *book,
                                     nd_replay_result_t *out, char *err, size_t err_len)
{
    ND_ASSERT(stream_path && book);
    ND_ASSERT(out != NULL);
    size_t len = 0;
    char *buf = NULL;
    nd_err_t read_rc = nd_file_read(stream_path, REPLAY_FILE_MAX, 0, &buf, &len, err, err_len);
    if (read_rc != ND_OK)
        return read_rc == ND_ENOMEM ? ND_ENOMEM : ND_EIO;
    nd_coinbase_exchange_book_t cb;
    nd_err_t rc = nd_coinbase_exchange_book_init(&cb, book);
    if (rc != ND_OK) {
        nd_free(buf);
        nd_coinbase_exchange_book_deinit(&cb);
        if (err && err_len)
            snprintf(err, err_len, "%s: out of memory", stream_path);
        return rc;
    }
    uint64_t lines = 0;
    char last_err[96] = "";
    for (size_t start = 0; start < len;) {
        char *nl = memchr(buf + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - buf) : len, l = end - start;
        if (l > 0 && buf[start + l - 1] == '\r')
            l--;
        /* A bad line is counted and skipped: the book is never left half-updated by it. */
        if (l > 0) {
            lines++;
            char why[96] = "";
            if (nd_coinbase_exchange_book_apply(&cb, buf + start, l, why, sizeof why) != ND_OK)
                snprintf(last_err, sizeof last_err, "%s", why);
        }
        start = end + 1;
    }
    nd_free(buf);
    uint64_t bad = nd_venue_bad_total(&cb.counters);
    nd_replay_result_t r = {.final_update_id = -1,
                            .events_applied = cb.updates_applied,
                            .events_dropped = bad,
                            .messages_bad = bad,
                            .events_other_symbol = cb.other_product,
                            .px_shown = cb.px_places,
                            .qty_shown = cb.qty_places};
    snprintf(r.status, sizeof r.status, "%s", cb.have_snapshot ? "ok" : "no_snapshot");
    /* Why the book never synced (or lost it): a replay that is not "ok" must say. */
    if (!cb.have_snapshot) {
        if (lines == 0)
            snprintf(r.reason, sizeof r.reason, "the stream is empty");
        else if (cb.snapshots_refused > 0)
            snprintf(r.reason, sizeof r.reason, "the last snapshot was refused: %.60s",
                     last_err[0] ? last_err : "too large");
        else
            snprintf(r.reason, sizeof r.reason,
                     "no usable snapshot in %" PRIu64 " lines (%" PRIu64 " refused)", lines, bad);
    }
    nd_coinbase_exchange_book_deinit(&cb);
    *out = r;
    return ND_OK;
}
