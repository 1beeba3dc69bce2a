/* market.h: instruments, bars, bar sources (file loaders and the synthetic market).
 *
 * Prices are int64 in 10^-px_decimals of the quote asset, quantities int64 in 10^-qty_decimals
 * of the base asset; each instrument carries its own scales, tick, lot and minimum notional.
 * A bar source yields bars one at a time in strictly increasing time, so a backtest's memory
 * does not grow with the number of bars. */
#ifndef NODERR_MARKET_H
#define NODERR_MARKET_H

#include "noderr/err.h"
#include "noderr/limits.h"
#include "noderr/text.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nd_instrument {
    char symbol[ND_NAME_MAX]; /* "BTC/USDT" */
    char base[ND_NAME_MAX];   /* "BTC" */
    char quote[ND_NAME_MAX];  /* "USDT" */
    char venue[ND_NAME_MAX];  /* "sim", "binance", ... */
    uint32_t id;              /* index in the engine's instrument table */
    int px_decimals;          /* prices are in 10^-px_decimals */
    int qty_decimals;         /* quantities are in 10^-qty_decimals */
    int64_t tick_size;        /* smallest price step, in price units */
    int64_t lot_size;         /* smallest quantity step, in quantity units */
    int64_t min_notional;     /* smallest order value, in cash units (10^-ND_CASH_DECIMALS) */
} nd_instrument_t;

/* Default scales: 8 decimals for both, the precision Binance publishes every price and
 * quantity with, so any real file loads exactly. */
#define ND_DEFAULT_PX_DECIMALS 8
#define ND_DEFAULT_QTY_DECIMALS 8

/* Initialises an instrument from "BASE/QUOTE" (or "BASEQUOTE" with a known quote asset such as
 * USDT, BUSD, USDC, USD, EUR, BTC, ETH, BNB) with default scales, tick 0.01, lot 0.00001 and
 * minimum notional 5 quote units (Binance's BTC/USDT filters). ND_EINVAL on a bad symbol. */
nd_err_t nd_instrument_init(nd_instrument_t *inst, const char *symbol, const char *venue);

/* The symbol a data file's name gives, Binance's naming: "ETHUSDT-1h.csv" and
 * "BTCUSDT-trades-2021-01-08.csv" give "ETH/USDT" and "BTC/USDT" (the part of the file name
 * before the first '-', '_' or '.', in capitals, with a known quote asset). ND_ENOTFOUND when
 * the name says nothing (the caller then uses its default, and says so). */
nd_err_t nd_instrument_symbol_from_path(const char *path, char *out, size_t cap);

/* Notional of px * qty in cash units for inst, rounded half-even; ND_EOVERFLOW past int64. */
nd_err_t nd_notional(const nd_instrument_t *inst, int64_t px, int64_t qty, int64_t *out /* OUT */);

typedef struct nd_bar {
    int64_t ts_ns;   /* open time, ns since the epoch, UTC */
    int64_t open;    /* price units */
    int64_t high;
    int64_t low;
    int64_t close;
    int64_t volume;  /* base-asset quantity units */
    uint32_t instrument_id;
    uint32_t _reserved;
} nd_bar_t;

/* A pull source of bars. next() returns ND_OK with a bar, ND_EEOF at the end, or another error
 * with a one-line detail in err ("data.csv:17: high below low"). close() frees the source. */
typedef struct nd_bar_source nd_bar_source_t;
struct nd_bar_source {
    nd_err_t (*next)(nd_bar_source_t *src, nd_bar_t *out /* OUT */);
    void (*close)(nd_bar_source_t *src);
    char err[256];
};

typedef enum nd_bar_format {
    ND_BAR_FORMAT_AUTO = 0,   /* decide from the first line */
    ND_BAR_FORMAT_CSV = 1,    /* header ts,open,high,low,close,volume; ts = Unix ms of the open */
    ND_BAR_FORMAT_KLINE = 2   /* Binance kline CSV: 12 columns, open time in ms or us */
} nd_bar_format_t;

/* Opens a bar file for streaming. Every row is checked: column count, numbers, high >= max(open,
 * close), low <= min(open, close), low > 0, volume >= 0, time strictly increasing. The first bad
 * row stops the source with an error naming the file, the line and the reason; nothing is
 * skipped silently. On success *out is owned by the caller and freed with src->close(src).
 * Errors from opening (missing file, unknown format) are returned here with detail in err. */
nd_err_t nd_bars_open(const char *path, nd_bar_format_t format, const nd_instrument_t *inst,
                      nd_bar_source_t **out /* OUT */, char *err, size_t err_len);

/* A view of a bar stream (src/market/bars_view.c): a coarser timeframe and a time range, the
 * --timeframe and --timerange of every command that reads history. Zeroed: the stream as is.
 *
 * Resampling aggregates the finer bars exactly, in the bars' own integers: open of the first,
 * high the maximum, low the minimum, close of the last, volume the sum (ND_EOVERFLOW past
 * int64). A bucket is [k * timeframe, (k + 1) * timeframe) in Unix time, so 4h bars open at
 * 00:00, 04:00, ... UTC and daily bars at 00:00 UTC, as Binance's klines do. A bucket holds
 * the source bars that exist: a gap in the source makes a bucket of fewer bars (as Binance's
 * kline of an hour with an outage) or no bucket at all, never a made-up bar. The last bucket is
 * dropped when the source ends before the bucket does (it is still open, as Freqtrade drops an
 * incomplete candle); a first bucket that starts before the data is kept. The timeframe must be
 * a whole multiple of the source's interval (the smallest gap between its bars), at most 1d or a
 * whole number of days but not of weeks (Binance's weeks start on Monday, Unix time on a
 * Thursday); anything else stops the stream with an error naming --timeframe.
 *
 * The range applies after resampling, to the bars' open times (text.h nd_timerange_t); a range
 * that holds no bar ends the stream with an error naming --timerange and the data's own range. */
typedef struct nd_bar_view {
    int64_t timeframe_ns;  /* 0: the source's own bars */
    nd_timerange_t range;  /* zeroed: all of them */
} nd_bar_view_t;

/* True when the view changes nothing. */
bool nd_bar_view_is_identity(const nd_bar_view_t *view);

/* Wraps src in view; name (a file name, borrowed for the source's life) is used in messages.
 * *out owns src from here on, and closing *out closes it; with an identity view *out is src.
 * ND_EINVAL when the timeframe is one that can never be used (weeks, more than 1d and not whole
 * days), with why in err; src is then closed. */
nd_err_t nd_bars_view(nd_bar_source_t *src, const nd_bar_view_t *view, const char *name,
                      nd_bar_source_t **out /* OUT */, char *err, size_t err_len);

/* nd_bars_open, then nd_bars_view. */
nd_err_t nd_bars_open_view(const char *path, nd_bar_format_t format, const nd_instrument_t *inst,
                           const nd_bar_view_t *view, nd_bar_source_t **out /* OUT */, char *err,
                           size_t err_len);

/* Merges the bar streams of several instruments into one, in time order; bars of the same open
 * time come in source order (sources[0] first), so a run over several instruments is
 * deterministic. Takes ownership of the count sources (closed with *out, or here on failure);
 * count is 1..ND_BARS_MERGE_MAX. A source's error stops the merged stream with its message.
 * ND_ENOMEM. */
#define ND_BARS_MERGE_MAX 32
nd_err_t nd_bars_merge(nd_bar_source_t *const *sources, uint32_t count,
                       nd_bar_source_t **out /* OUT */, char *err, size_t err_len);

/* First index of bars[0..count) (sorted by time) whose open time is >= ts_ns, or count
 * (nd_time_lower_bound). */
size_t nd_bars_lower_bound(const nd_bar_t *bars, size_t count, int64_t ts_ns);

/* Reads every bar of a source into one nd_alloc'd array (*bars, freed with nd_free; NULL when
 * there are none); the source is not closed. On failure *bars and *count are untouched and err
 * holds the source's own message ("PATH:LINE: why"), or "out of memory". */
nd_err_t nd_bars_read_all(nd_bar_source_t *src, nd_bar_t **bars /* OUT */,
                          size_t *count /* OUT */, char *err, size_t err_len);

/* The seeded synthetic market: a geometric random walk with two volatility regimes (calm and
 * stressed, switching at random) and rare jumps. Same config, same bars, on every machine. */
typedef struct nd_synth_config {
    uint64_t seed;
    int64_t bars;             /* how many bars to produce */
    int64_t start_ns;         /* open time of the first bar */
    int64_t interval_ns;      /* bar length */
    double start_price;       /* quote units */
    double annual_vol;        /* calm-regime annualised volatility, e.g. 0.6 */
    double stress_vol_mult;   /* stressed-regime volatility multiple, e.g. 3 */
    double regime_switch_prob;/* per-bar probability of switching regime */
    double jump_prob;         /* per-bar probability of a jump */
    double jump_mean;         /* mean log jump size (negative: crashes), e.g. -0.05 */
    double jump_std;          /* std of log jump size */
    double annual_drift;      /* annualised log drift */
    double base_volume;       /* mean base-asset volume per bar */
} nd_synth_config_t;

/* Fills cfg with the embedded defaults (seed 42, 10,000 hourly bars from 2024-01-01, BTC-like
 * price and volatility). */
void nd_synth_config_default(nd_synth_config_t *cfg);

/* Opens the synthetic market as a bar source for inst; *out freed with src->close(src). */
nd_err_t nd_synth_open(const nd_synth_config_t *cfg, const nd_instrument_t *inst,
                       nd_bar_source_t **out /* OUT */, char *err, size_t err_len);

#endif
