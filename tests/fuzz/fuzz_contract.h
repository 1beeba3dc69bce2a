/* fuzz_contract.h: the semantic contract every venue decoder's events must keep, checked by the
 * fuzz drivers after each event (abort() on a breach, so libFuzzer saves the input):
 *
 *   - trades: price > 0 and quantity > 0;
 *   - book updates: every level has price > 0 and quantity >= 0 and a known side, a snapshot
 *     does not cross (best bid < best ask);
 *   - best bid/offer: prices >= 0, quantities >= 0, a zero price only with a zero quantity
 *     (venues that send an empty side that way);
 *   - bars: prices > 0, volumes >= 0; order updates: prices, quantities, fee >= 0;
 *     absolute balances >= 0;
 *   - no field is cut: the symbol is one of the message's own symbol strings decoded whole
 *     (byte-equal to the JSON string's decoded value, see fuzz_symbol_seen), and every text
 *     field is NUL-terminated inside its array.
 *
 * Header-only so that each driver stays one translation unit for libFuzzer and for the
 * replay runner (replay_main.c). */
#ifndef NODERR_FUZZ_CONTRACT_H
#define NODERR_FUZZ_CONTRACT_H

#include "noderr/book.h"
#include "noderr/venue.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_breach(#cond, __FILE__, __LINE__);                                                \
    } while (0)

#include <stdio.h>

static inline void fuzz_breach(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz contract broken: %s (%s:%d)\n", what, file, line);
    abort();
}

static inline bool fuzz_terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* Values of the message's symbol keys, decoded whole: the only strings an event's symbol may
 * be. Filled by fuzz_symbols_collect from the message's own tokens. */
typedef struct fuzz_symbols {
    char value[16][ND_NAME_MAX * 4];
    int count;
    bool overflow; /* more symbol strings than kept: the check is skipped */
} fuzz_symbols_t;

/* Collects the decoded value of every string under one of keys (NULL-terminated list). */
static inline void fuzz_symbols_collect(const char *msg, size_t len, const char *const *keys,
                                        fuzz_symbols_t *out)
{
    static nd_jtok_t tok[4096];
    uint32_t count = 0;
    out->count = 0;
    out->overflow = false;
    nd_err_t rc = nd_json_tokenize(msg, len, tok, 4096, &count);
    if (rc == ND_EFULL)
        out->overflow = true; /* too big to check here; the decoder may still take it */
    if (rc != ND_OK)
        return;
    for (uint32_t i = 0; i + 1 < count; i++) {
        if (tok[i].type != ND_J_STRING || tok[i + 1].type != ND_J_STRING)
            continue;
        bool wanted = false;
        for (const char *const *k = keys; *k; k++)
            wanted = wanted || nd_json_eq(msg, &tok[i], *k);
        if (!wanted)
            continue;
        if (out->count == 16) {
            out->overflow = true;
            return;
        }
        if (nd_json_string(msg, &tok[i + 1], out->value[out->count],
                           sizeof out->value[out->count], NULL) == ND_OK)
            out->count++;
    }
}

/* True when symbol is byte-equal to one of the collected values (a cut symbol never is, since
 * a value that does not fit ND_NAME_MAX is longer than any symbol). */
static inline bool fuzz_symbol_seen(const fuzz_symbols_t *syms, const char *symbol)
{
    if (syms->overflow)
        return true;
    for (int i = 0; i < syms->count; i++)
        if (strcmp(syms->value[i], symbol) == 0)
            return true;
    return false;
}

/* Checks one event against the contract above (symbol aside). */
static inline void fuzz_check_event(const nd_md_event_t *ev)
{
    FUZZ_CHECK(fuzz_terminated(ev->symbol, sizeof ev->symbol));
    char json[1 << 15];
    size_t n = nd_md_event_json(ev, json, sizeof json);
    FUZZ_CHECK(n > 0);
    switch (ev->kind) {
    case ND_MD_TRADE:
        FUZZ_CHECK(ev->u.trade.px > 0);
        FUZZ_CHECK(ev->u.trade.qty > 0);
        break;
    case ND_MD_BOOK_UPDATE: {
        const nd_md_book_update_t *b = &ev->u.book;
        int64_t best_bid = 0, best_ask = 0;
        for (uint32_t i = 0; i < b->level_count; i++) {
            const nd_md_level_t *lv = &b->levels[i];
            FUZZ_CHECK(lv->px > 0);
            FUZZ_CHECK(lv->qty >= 0);
            FUZZ_CHECK(lv->side == ND_MD_SIDE_BID || lv->side == ND_MD_SIDE_ASK);
            if (lv->qty == 0)
                continue;
            if (lv->side == ND_MD_SIDE_BID && lv->px > best_bid)
                best_bid = lv->px;
            if (lv->side == ND_MD_SIDE_ASK && (best_ask == 0 || lv->px < best_ask))
                best_ask = lv->px;
        }
        if (b->snapshot && best_bid && best_ask)
            FUZZ_CHECK(best_bid < best_ask);
        break;
    }
    case ND_MD_BBO: {
        const nd_md_bbo_t *q = &ev->u.bbo;
        FUZZ_CHECK(q->bid_px >= 0 && q->ask_px >= 0);
        FUZZ_CHECK(q->bid_qty >= 0 && q->ask_qty >= 0);
        FUZZ_CHECK(q->bid_px > 0 || q->bid_qty == 0);
        FUZZ_CHECK(q->ask_px > 0 || q->ask_qty == 0);
        break;
    }
    case ND_MD_BAR: {
        const nd_md_bar_t *r = &ev->u.bar;
        FUZZ_CHECK(r->open > 0 && r->high > 0 && r->low > 0 && r->close > 0);
        FUZZ_CHECK(r->volume >= 0 && r->quote_volume >= 0 && r->trades >= 0);
        FUZZ_CHECK(fuzz_terminated(r->interval, sizeof r->interval));
        break;
    }
    case ND_MD_ORDER_UPDATE: {
        const nd_md_order_update_t *o = &ev->u.order;
        FUZZ_CHECK(o->px >= 0 && o->qty >= 0 && o->last_px >= 0 && o->last_qty >= 0);
        FUZZ_CHECK(o->cum_qty >= 0 && o->fee >= 0);
        FUZZ_CHECK(fuzz_terminated(o->client_order_id, sizeof o->client_order_id));
        FUZZ_CHECK(fuzz_terminated(o->venue_order_id, sizeof o->venue_order_id));
        FUZZ_CHECK(fuzz_terminated(o->exec_type, sizeof o->exec_type));
        FUZZ_CHECK(fuzz_terminated(o->order_type, sizeof o->order_type));
        FUZZ_CHECK(fuzz_terminated(o->fee_asset, sizeof o->fee_asset));
        break;
    }
    case ND_MD_BALANCE:
        FUZZ_CHECK(fuzz_terminated(ev->u.balance.asset, sizeof ev->u.balance.asset));
        if (!ev->u.balance.delta)
            FUZZ_CHECK(ev->u.balance.free >= 0 && ev->u.balance.locked >= 0);
        break;
    case ND_MD_STATUS:
        FUZZ_CHECK(fuzz_terminated(ev->u.status.text, sizeof ev->u.status.text));
        break;
    default:
        FUZZ_CHECK(!"an event kind no decoder emits");
    }
}

/* A book the connector says is in sync: valid (sorted, quantities > 0) and not crossed. */
static inline void fuzz_check_book(const nd_book_t *book)
{
    FUZZ_CHECK(nd_book_valid(book));
    FUZZ_CHECK(!nd_book_crossed(book));
}

/* Copies every level of the book (best first) for a before/after comparison; returns how many
 * were written (both sides, bids first), at most cap. */
static inline uint32_t fuzz_book_dump(const nd_book_t *book, nd_book_level_t *out, uint32_t cap)
{
    uint32_t n = nd_book_top(book, ND_BOOK_BID, out, cap);
    out[n].px = -1; /* separator, so a level cannot move between sides unnoticed */
    out[n].qty = -1;
    n++;
    return n + nd_book_top(book, ND_BOOK_ASK, out + n, cap - n);
}

#endif
