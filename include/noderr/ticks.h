/* ticks.h: tick-level market data: trades, top-of-book quotes and L2 book deltas, with
 * streaming loaders for Binance's public archives and recorded depth sessions, and the seeded
 * synthetic tick market.
 *
 * Prices and quantities are int64 at the instrument's scales (px_decimals, qty_decimals): a
 * file value with more decimals than the scale is an error (ND_EPRECISION), never rounded, and
 * one past int64 is ND_EOVERFLOW. Every loader reads through one fixed buffer, so memory does
 * not grow with the file, and the first bad row ends the source with "PATH:LINE: reason";
 * nothing is skipped silently. docs/data-formats.md is the spec of every layout. */
#ifndef NODERR_TICKS_H
#define NODERR_TICKS_H

#include "noderr/book.h"
#include "noderr/err.h"
#include "noderr/market.h"
#include "noderr/order.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nd_trade_tick {
    int64_t ts_ns;          /* trade time, ns since the epoch, UTC */
    uint32_t instrument_id;
    nd_side_t aggressor;    /* the taker: SELL when the buyer was the maker */
    int64_t px;             /* price units, > 0 */
    int64_t qty;            /* quantity units, > 0 */
    int64_t trade_id;       /* venue trade id (aggregate id for aggTrades) */
} nd_trade_tick_t;

typedef struct nd_quote_tick {
    int64_t ts_ns;
    uint32_t instrument_id;
    int64_t bid_px, bid_qty; /* best bid; px > 0, qty >= 0 */
    int64_t ask_px, ask_qty; /* best ask; px > bid_px */
    int64_t update_id;       /* venue update id, 0 when the layout has none */
} nd_quote_tick_t;

/* Flags of a book delta. */
#define ND_DELTA_F_CLEAR 0x1u /* empty the whole book before applying this delta (snapshot) */
#define ND_DELTA_F_LAST 0x2u  /* last delta of one venue event: the book is consistent again */

/* One level change: the absolute quantity at px on a side (0 removes the level). A venue
 * event that changes several levels becomes several deltas, the last one flagged LAST. */
typedef struct nd_book_delta {
    int64_t ts_ns;
    uint32_t instrument_id;
    nd_book_side_t side;
    int64_t px;        /* > 0 */
    int64_t qty;       /* >= 0 */
    int64_t update_id; /* the venue update id (Binance u) of the event */
    uint32_t flags;    /* ND_DELTA_F_* */
} nd_book_delta_t;

typedef enum nd_tick_kind {
    ND_TICK_TRADE = 1,
    ND_TICK_QUOTE = 2,
    ND_TICK_DELTA = 3
} nd_tick_kind_t;

typedef struct nd_tick_event {
    nd_tick_kind_t kind;
    union {
        nd_trade_tick_t trade;
        nd_quote_tick_t quote;
        nd_book_delta_t delta;
    } u;
} nd_tick_event_t;

/* Time stamp of any tick event. */
static inline int64_t nd_tick_ts(const nd_tick_event_t *ev)
{
    return ev->kind == ND_TICK_TRADE ? ev->u.trade.ts_ns
           : ev->kind == ND_TICK_QUOTE ? ev->u.quote.ts_ns
                                       : ev->u.delta.ts_ns;
}

/* ---- The engine's market event stream ------------------------------------------------------
 * One typed event the engine consumes (nd_engine_on_event): a bar, a trade, a top-of-book quote,
 * an L2 book delta (a snapshot is a CLEAR..LAST run of deltas) or a venue status change.
 *
 * Tie rule: a merged stream is ordered by ts_ns; events with the same ts_ns keep the order of
 * their sources (source 0 first: the order the sources were given), and within one source the
 * order they were read. nd_market_event_before states it; the merge in src/backtest uses it, so
 * the same inputs give the same stream, byte for byte. */
typedef enum nd_venue_state {
    ND_VENUE_CONNECTED = 1,
    ND_VENUE_DISCONNECTED = 2, /* the venue takes no orders until connected again */
    ND_VENUE_STALE = 3         /* connected, but market data stopped arriving */
} nd_venue_state_t;

typedef struct nd_venue_status {
    int64_t ts_ns;
    uint32_t instrument_id; /* the status of the venue this instrument trades on */
    nd_venue_state_t state;
} nd_venue_status_t;

typedef enum nd_market_kind {
    ND_MARKET_BAR = 0,
    ND_MARKET_TRADE = 1,
    ND_MARKET_QUOTE = 2,
    ND_MARKET_BOOK = 3,        /* one L2 level change (nd_book_delta_t) */
    ND_MARKET_VENUE_STATUS = 4
} nd_market_kind_t;

typedef struct nd_market_event {
    nd_market_kind_t kind;
    uint32_t source; /* which stream it came from: the second key of the tie rule */
    uint64_t seq;    /* order within its source: the third key */
    union {
        nd_bar_t bar;
        nd_trade_tick_t trade;
        nd_quote_tick_t quote;
        nd_book_delta_t book;
        nd_venue_status_t status;
    } u;
} nd_market_event_t;

/* Every payload begins with its int64_t ts_ns: the common initial sequence of the union, so the
 * time of any kind is read through one member (C17 6.5.2.3). */
_Static_assert(offsetof(nd_bar_t, ts_ns) == 0 && offsetof(nd_trade_tick_t, ts_ns) == 0 &&
                   offsetof(nd_quote_tick_t, ts_ns) == 0 && offsetof(nd_book_delta_t, ts_ns) == 0 &&
                   offsetof(nd_venue_status_t, ts_ns) == 0,
               "market event payloads start with ts_ns");

/* Time stamp of any market event: one load, on the hot path of every event. */
static inline int64_t nd_market_event_ts(const nd_market_event_t *ev)
{
    return ev->u.trade.ts_ns;
}
/* Instrument of any market event. */
uint32_t nd_market_event_instrument(const nd_market_event_t *ev);
/* Moves any market event by shift_ns (replays of one block of events). */
static inline void nd_market_event_shift(nd_market_event_t *ev, int64_t shift_ns)
{
    ev->u.trade.ts_ns += shift_ns;
}
/* The tie rule: true when a comes before b (ts, then source, then seq). */
bool nd_market_event_before(const nd_market_event_t *a, const nd_market_event_t *b);
/* Wraps a trade, quote or delta tick as a market event of a source. */
void nd_market_event_from_tick(const nd_tick_event_t *tick, uint32_t source, uint64_t seq,
                               nd_market_event_t *out /* OUT */);
/* The tick view of a trade, quote or book event (for the L2 simulator); false for the others. */
bool nd_market_event_to_tick(const nd_market_event_t *ev, nd_tick_event_t *out /* OUT */);

typedef enum nd_tick_format {
    ND_TICK_FORMAT_AUTO = 0,
    /* header ts,trade_id,price,qty,is_buyer_maker */
    ND_TICK_FORMAT_TRADES_CSV = 1,
    /* archive: id,price,qty,quote_qty,time,is_buyer_maker,is_best_match (header optional) */
    ND_TICK_FORMAT_TRADES = 2,
    /* archive: agg_trade_id,price,qty,first_trade_id,last_trade_id,transact_time,
     * is_buyer_maker,is_best_match (header optional) */
    ND_TICK_FORMAT_AGG_TRADES = 3,
    /* header ts,bid,bid_qty,ask,ask_qty */
    ND_TICK_FORMAT_BOOK_TICKER_CSV = 4,
    /* archive: update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,
     * transaction_time,event_time (header optional) */
    ND_TICK_FORMAT_BOOK_TICKER = 5
} nd_tick_format_t;

/* "auto", "trades-csv", "trades", "aggTrades", "bookticker-csv", "bookTicker". */
const char *nd_tick_format_name(nd_tick_format_t format);

typedef struct nd_tick_source nd_tick_source_t;

/* Opens a trade or quote file for streaming. AUTO decides from the first line (a header, or the
 * column count and the type of the sixth column). Row checks: the column count, numbers within
 * the instrument's scales, price > 0, trade qty > 0, quote qty >= 0, bid < ask, booleans
 * true/false (any case), trade ids strictly increasing, first_trade_id <= last_trade_id, time
 * never decreasing. Times are ms, or us when >= 10^14 (as for klines), per row. On success
 * *out is freed with nd_ticks_close. */
nd_err_t nd_ticks_open(const char *path, nd_tick_format_t format, const nd_instrument_t *inst,
                       nd_tick_source_t **out /* OUT */, char *err, size_t err_len);
/* The next event (a TRADE or a QUOTE), ND_EEOF at the end, or the sticky error of the first
 * bad row with nd_ticks_error() saying "PATH:LINE: reason". */
nd_err_t nd_ticks_next(nd_tick_source_t *src, nd_tick_event_t *out /* OUT */);
const char *nd_ticks_error(const nd_tick_source_t *src);
/* The format the source settled on. */
nd_tick_format_t nd_ticks_format(const nd_tick_source_t *src);
void nd_ticks_close(nd_tick_source_t *src);

/* ---- Recorded depth sessions (ticks_depth.c) -------------------------------------------
 * A directory with snapshot.json (the REST /api/v3/depth body), diffs.jsonl (the diff-stream
 * frames in receive order, raw or combined-stream) and optionally meta.json, of which only
 * "diffs_received_before_snapshot" (default 0) and "snapshot_received_unix" are read. The
 * session feeds the frames through the connector's own sync (nd_binance_depth_t) in the
 * recorded order: the first N diffs are buffered, then the snapshot is loaded, then the rest
 * follow. It emits the synced book as one CLEAR..LAST run of deltas (best levels first), then
 * one run per applied diff; stale diffs emit nothing. A gap ends the session with ND_ESTATE
 * and "PATH:LINE: gap ...". Event times are the venue's E, made non-decreasing (the snapshot
 * carries the recorder's clock, which may run ahead of E). */
typedef struct nd_depth_session nd_depth_session_t;

typedef struct nd_depth_session_stats {
    uint64_t events_total;   /* diff frames read */
    uint64_t events_applied; /* applied by the sync */
    uint64_t events_dropped; /* stale (u <= book id) */
    int64_t snapshot_update_id;
    int64_t final_update_id;
} nd_depth_session_stats_t;

nd_err_t nd_depth_session_open(const char *dir, const nd_instrument_t *inst,
                               nd_depth_session_t **out /* OUT */, char *err, size_t err_len);
/* The next DELTA event, ND_EEOF after the last diff, or a sticky error (see nd_depth_error). */
nd_err_t nd_depth_session_next(nd_depth_session_t *s, nd_tick_event_t *out /* OUT */);
const char *nd_depth_session_error(const nd_depth_session_t *s);
/* The connector's book as synced so far, at the venue scale (ND_VENUE_DECIMALS). */
const nd_book_t *nd_depth_session_book(const nd_depth_session_t *s);
void nd_depth_session_stats(const nd_depth_session_t *s, nd_depth_session_stats_t *out /* OUT */);
void nd_depth_session_close(nd_depth_session_t *s);

/* ---- Synthetic ticks (synth.c) ----------------------------------------------------------
 * A seeded L2 market: a book of `levels` levels a side on the tick grid around a mid price,
 * random level updates (adds and cancels), trades at the best level (each followed by the
 * delta that shows the consumed size) and best-level depletion that moves the price. The same
 * config gives the same events on every machine (integer arithmetic on nd_rand_t draws). */
typedef struct nd_synth_ticks_config {
    uint64_t seed;
    int64_t events;        /* how many events to produce */
    int64_t start_ns;
    int64_t step_ns;       /* time between venue events */
    int64_t start_px;      /* price units, a multiple of the tick */
    uint32_t levels;       /* levels per side, 2..1024 */
    int64_t level_qty_max; /* largest size of a level, in lots, >= 2 */
    uint32_t trade_per_mille; /* share of venue events that are trades, in 1/1000 */
} nd_synth_ticks_config_t;

/* seed 42, 1,000,000 events from 2024-01-01 at 1 ms, 40,000.00 at the default scales, 50
 * levels of up to 1,000 lots, 20% trades. */
void nd_synth_ticks_config_default(nd_synth_ticks_config_t *cfg);

typedef struct nd_synth_ticks nd_synth_ticks_t;

/* The first events are a CLEAR..LAST run describing the initial book. */
nd_err_t nd_synth_ticks_open(const nd_synth_ticks_config_t *cfg, const nd_instrument_t *inst,
                             nd_synth_ticks_t **out /* OUT */, char *err, size_t err_len);
/* The next event, ND_EEOF after cfg->events events. */
nd_err_t nd_synth_ticks_next(nd_synth_ticks_t *g, nd_tick_event_t *out /* OUT */);
void nd_synth_ticks_close(nd_synth_ticks_t *g);

#endif
