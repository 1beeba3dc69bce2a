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

#include <stdio.h>
#include <string.h>

typedef struct apply_ctx {
    nd_coinbase_exchange_book_t *cb;
    nd_coinbase_decoder_t *dec;
    nd_err_t rc;
} apply_ctx_t;

static void apply_levels(nd_coinbase_exchange_book_t *cb, const nd_md_book_update_t *u)
{
    for (uint32_t i = 0; i < u->level_count; i++) {
        const nd_md_level_t *lv = &u->levels[i];
        nd_book_side_t side = lv->side == ND_MD_SIDE_BID ? ND_BOOK_BID : ND_BOOK_ASK;
        /* The decoder already refused px <= 0 and qty < 0, the only inputs set rejects. */
        nd_err_t rc = nd_book_set(cb->book, side, lv->px, lv->qty);
        ND_ASSERT(rc == ND_OK);
    }
}

static void on_event(void *ctx, const nd_md_event_t *e)
{
    apply_ctx_t *a = ctx;
    nd_coinbase_exchange_book_t *cb = a->cb;
    if (e->kind != ND_MD_BOOK_UPDATE)
        return;
    if (e->u.book.snapshot) {
        if (cb->have_snapshot && strcmp(e->symbol, cb->product_id) != 0)
            return;
        snprintf(cb->product_id, sizeof cb->product_id, "%s", e->symbol);
        nd_book_clear(cb->book);
        cb->have_snapshot = true;
        cb->snapshots++;
    } else {
        if (cb->have_snapshot && strcmp(e->symbol, cb->product_id) != 0)
            return;
        if (!cb->have_snapshot) {
            nd_venue_bad(&cb->counters, ND_BAD_OUT_OF_ORDER, "l2update before any snapshot");
            a->rc = ND_ESTATE;
            return;
        }
        cb->updates_applied++;
    }
    if (a->dec->msg_px_places > cb->px_places)
        cb->px_places = a->dec->msg_px_places;
    if (a->dec->msg_qty_places > cb->qty_places)
        cb->qty_places = a->dec->msg_qty_places;
    apply_levels(cb, &e->u.book);
    ND_DEBUG_ASSERT(nd_book_valid(cb->book));
}

nd_err_t nd_coinbase_exchange_book_init(nd_coinbase_exchange_book_t *cb, nd_book_t *book)
{
    ND_ASSERT(cb != NULL);
    ND_ASSERT(book != NULL);
    memset(cb, 0, sizeof *cb);
    cb->book = book;
    cb->counters.venue = ND_VENUE_COINBASE_EXCHANGE;
    return nd_coinbase_decoder_init(&cb->_dec, ND_VENUE_COINBASE_EXCHANGE, NULL, NULL);
}

void nd_coinbase_exchange_book_deinit(nd_coinbase_exchange_book_t *cb)
{
    ND_ASSERT(cb != NULL);
    nd_coinbase_decoder_deinit(&cb->_dec);
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
    apply_ctx_t a = {.cb = cb, .dec = dec, .rc = ND_OK};
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
        snprintf(err, err_len, "%s",
                 rc == ND_ESTATE ? "l2update before any snapshot" : "bad Coinbase Exchange message");
    return rc;
}

/* Reads a whole file into an nd_alloc'd NUL-terminated buffer. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = nd_alloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1)
            break;
        char *grown = nd_realloc(buf, cap * 2);
        if (!grown) {
            nd_free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        nd_free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

nd_err_t nd_coinbase_exchange_replay(const char *stream_path, nd_book_t *book,
                                     nd_replay_result_t *out, char *err, size_t err_len)
{
    ND_ASSERT(stream_path && book);
    ND_ASSERT(out != NULL);
    size_t len = 0;
    char *buf = read_all(stream_path, &len);
    if (!buf) {
        if (err && err_len)
            snprintf(err, err_len, "cannot read the stream file");
        return ND_EIO;
    }
    nd_coinbase_exchange_book_t cb;
    nd_err_t rc = nd_coinbase_exchange_book_init(&cb, book);
    for (size_t start = 0; rc == ND_OK && start < len;) {
        char *nl = memchr(buf + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - buf) : len, l = end - start;
        if (l > 0 && buf[start + l - 1] == '\r')
            l--;
        /* A bad line is counted and skipped: the book is never left half-updated by it. */
        if (l > 0)
            nd_coinbase_exchange_book_apply(&cb, buf + start, l, NULL, 0);
        start = end + 1;
    }
    nd_free(buf);
    if (rc != ND_OK)
        return rc;
    nd_replay_result_t r = {.final_update_id = -1,
                            .events_applied = cb.updates_applied,
                            .events_dropped = nd_venue_bad_total(&cb.counters),
                            .px_shown = cb.px_places,
                            .qty_shown = cb.qty_places};
    snprintf(r.status, sizeof r.status, "%s", cb.have_snapshot ? "ok" : "no_snapshot");
    nd_coinbase_exchange_book_deinit(&cb);
    *out = r;
    return ND_OK;
}
