/* backtest.h: run one engine over a bar source and summarise it.
 *
 * The driver streams bars from a file (or the synthetic market) through the engine on a
 * simulated clock, collects the per-bar return series, the round trips and the breaker trips,
 * and computes the metrics. The same inputs give byte-identical results. */
#ifndef NODERR_BACKTEST_H
#define NODERR_BACKTEST_H

#include "noderr/engine.h"
#include "noderr/l2sim.h"
#include "noderr/metrics.h"
#include "noderr/ticks.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct nd_strategy_spec {
    const nd_strategy_def_t *def;
    double params[ND_STRATEGY_PARAMS_MAX];
    int64_t weight_e6;        /* 0: an equal share of what the others leave */
    /* The instruments it runs on: 0 is every one (the pairing rule, docs/engine.md); else bit
     * k is instrument k (a session's strategy trades its venue's symbols only). */
    uint32_t instrument_mask;
} nd_strategy_spec_t;
_Static_assert(ND_BARS_MERGE_MAX <= 32, "instrument_mask has a bit for every instrument");

/* Event-level inputs (src/backtest/tick_backtest.c): any of them set makes the run an
 * event-level backtest. The streams are merged in time order by the tie rule of ticks.h
 * (source order: trades, quotes, depth, synthetic) and run through the engine and the L2
 * simulated venue (l2sim.h); bars are not read. */
typedef struct nd_tick_inputs {
    const char *trades_path;   /* --trades: Binance trades / aggTrades archive or trades CSV */
    const char *quotes_path;   /* --quotes: Binance bookTicker archive or CSV */
    const char *depth_dir;     /* --depth: a recorded session (snapshot.json, diffs.jsonl) */
    bool synthetic;            /* --synthetic-l2: the seeded L2 market (seed: synth.seed) */
    nd_synth_ticks_config_t synth;
    nd_l2sim_config_t venue;   /* fees are taken from engine.venue's maker and taker fees */
    int64_t sample_ns;         /* equity sampling for the return series, default 60 s */
    /* A pushed run (nd_event_run_*) only: the venue each instrument trades on (by id), instead
     * of an L2 simulator: a live session's adapters. Borrowed; each instrument's venue name
     * must be the venue's facts.name. NULL entries get a simulator. */
    nd_exec_venue_t *live_venues[ND_VENUES_MAX];
} nd_tick_inputs_t;

/* Instruments of one bar backtest: data_path's, and one more per further --data. */
#define ND_BACKTEST_ASSETS_MAX ND_BARS_MERGE_MAX

/* A further instrument of a bar backtest (--data again, or --data-dir with --symbols). */
typedef struct nd_backtest_asset {
    const char *data_path;
    char symbol[ND_NAME_MAX];  /* "ETH/USDT" */
    const char *symbol_source; /* "file name" or "symbols list" (reported) */
} nd_backtest_asset_t;

/* One instrument's trading rules from an exchangeInfo file, at 8 decimals as Binance publishes
 * them (rescaled exactly to the instrument's scales; explicit --tick-size, --lot-size and
 * --min-notional still win). Used when source is set. */
typedef struct nd_instrument_rules {
    int64_t tick_size_e8;      /* PRICE_FILTER tickSize */
    int64_t lot_size_e8;       /* LOT_SIZE stepSize */
    int64_t min_notional_e8;   /* MIN_NOTIONAL or NOTIONAL minNotional; 0 when absent */
    const char *source;        /* "exchangeInfo PATH", or NULL: defaults and options */
} nd_instrument_rules_t;

typedef struct nd_backtest_config nd_backtest_config_t;
/* Reads the exchangeInfo JSON at path (Binance's GET /api/v3/exchangeInfo, saved) and sets
 * cfg->rules[k] of every instrument of the bar run (symbol without the slash: ETHUSDT); set
 * the symbols first. ND_ENOTFOUND naming a symbol the file does not list, ND_EPARSE when its
 * filters are malformed or lack tickSize/stepSize, the nd_file_read errors; err says which.
 * minQty and the other filters are not modelled by the simulated venue. */
nd_err_t nd_backtest_rules_load(nd_backtest_config_t *cfg, const char *path, char *err,
                                size_t err_len);
/* The same from an exchangeInfo body in memory (a live session fetches it); source names it in
 * messages and in the rules ("exchangeInfo http://..."), borrowed for the config's life. */
nd_err_t nd_backtest_rules_parse(nd_backtest_config_t *cfg, const char *json, size_t len,
                                 const char *source, char *err, size_t err_len);

struct nd_backtest_config {
    const char *data_path;    /* NULL: the synthetic market */
    nd_bar_format_t format;
    nd_bar_view_t view;       /* --timeframe, --timerange: applied to data_path or the synthetic
                                 market (not to a caller's source) */
    char symbol[ND_NAME_MAX]; /* "BTC/USDT" */
    const char *symbol_source; /* "option", "file name" or "default" (reported), or NULL */
    int px_decimals;          /* instrument price scale; -1: the default (8) */
    int qty_decimals;         /* instrument quantity scale; -1: the default (8) */
    int64_t tick_size;        /* price units; 0: the default (0.01) */
    int64_t lot_size;         /* quantity units; 0: the default (0.00001) */
    int64_t min_notional;     /* cash units; -1: the default (5 quote units) */
    /* Instruments 1.. of a bar backtest over several instruments: one portfolio; every strategy
     * runs on every instrument with its weight split equally among them; bars are merged by
     * open time, ties in instrument order (nd_bars_merge). px/qty decimals and explicit tick,
     * lot and minimum notional apply to every instrument. */
    nd_backtest_asset_t more[ND_BACKTEST_ASSETS_MAX - 1];
    uint32_t more_count;
    nd_instrument_rules_t rules[ND_BACKTEST_ASSETS_MAX]; /* by instrument: 0 is data_path's */
    nd_synth_config_t synth;
    nd_engine_config_t engine;
    nd_strategy_spec_t strategies[ND_STRATEGIES_MAX];
    uint32_t strategy_count;
    double periods_per_year;  /* 0: from the bar interval on a 365-day year */
    double risk_free;
    double required_return;
    double cutoff;
    FILE *trades_out;         /* CSV of round trips, or NULL */
    FILE *equity_out;         /* CSV of equity per bar, or NULL */
    bool keep_equity;         /* keep the equity series in the result (for reports) */
    /* Bars from the caller instead of data_path or the synthetic market: borrowed, not closed
     * by the driver, and opened for an instrument with this config's scales (validation). */
    nd_bar_source_t *source;
    /* Also receives the engine's events and per-bar equity (NULL callbacks: not called), e.g.
     * to check that no order was accepted while halted. on_trade is not forwarded. */
    nd_engine_listener_t tap;
    nd_tick_inputs_t ticks;   /* event-level inputs; none set: a bar backtest */
};

/* True when the config names an event-level input. */
bool nd_backtest_is_event_level(const nd_backtest_config_t *cfg);

/* Defaults: synthetic market, BTC/USDT, engine defaults, cutoff 0.05, no outputs. */
void nd_backtest_config_default(nd_backtest_config_t *cfg);

typedef struct nd_trade_stats {
    int64_t trades;
    int64_t winners;
    double win_rate;           /* NaN without trades */
    double profit_factor;      /* gross profit / gross loss; NaN without losses */
    double avg_holding_hours;  /* NaN without trades */
    double exposure;           /* share of bars with a position */
    /* Sums of every trade's P&L in cash units: 128 bits, so no run of int64 P&Ls can overflow
     * them (the profit factor is their ratio). */
    __int128 gross_profit;
    __int128 gross_loss;       /* >= 0 */
} nd_trade_stats_t;

/* Counts one closed trade into ts: trades, winners, gross profit and gross loss (the tally the
 * backtest result and evolve's folded runs share; the ratios are the caller's). */
void nd_trade_stats_add(nd_trade_stats_t *ts, const nd_trade_t *trade);

typedef struct nd_backtest_result {
    nd_engine_t *engine;      /* owned: portfolio, risk and stats live here */
    nd_metrics_t metrics;
    nd_metrics_config_t metrics_cfg;
    nd_trade_stats_t trade_stats;
    nd_series_t returns;
    nd_series_t equity;       /* per bar, quote units, when keep_equity */
    nd_series_t equity_ts;    /* per bar open time in ms, when keep_equity */
    nd_trade_t *trades;       /* every round trip, in closing order */
    size_t trade_count;
    size_t trade_capacity;
    int64_t final_equity;     /* cash units */
    bool synthetic;
    uint64_t seed;
    uint32_t instrument_count; /* 1 + cfg->more_count for bar runs */
    /* Event-level runs: the L2 venue (its book after the replay, its stats), owned; a pushed
     * run over several instruments has one per instrument, the others in l2_more. */
    nd_l2sim_exec_t *l2;
    nd_l2sim_exec_t *l2_more[ND_BACKTEST_ASSETS_MAX - 1];
} nd_backtest_result_t;

/* Runs the backtest. On a data error returns ND_EPARSE/ND_EPRECISION/ND_EIO with
 * "FILE:LINE: reason" in err; on a bad config ND_EINVAL with why. The result must be released
 * with nd_backtest_result_free whatever the return value. */
nd_err_t nd_backtest_run(const nd_backtest_config_t *cfg, nd_backtest_result_t *result /* OUT */,
                         char *err, size_t err_len);
void nd_backtest_result_free(nd_backtest_result_t *result);

/* ---- An event-level run fed by the caller (paper trading, src/live) ----------------------
 * The event-level backtest with the events pushed one at a time instead of read from files:
 * the same engine set-up, L2 simulated venue (cfg->ticks.venue), listener and equity sampling,
 * so a paper session over a live feed makes exactly the fills an event-level backtest of the
 * same events makes. The config (its strategies, engine and tick settings; the data inputs are
 * ignored) is borrowed and must outlive the run; r is filled as nd_backtest_run fills it and
 * must be released with nd_backtest_result_free whatever happens. Instruments: cfg->symbol and
 * cfg->more[] (symbols only; data paths ignored), with their rules, at most ND_VENUES_MAX. */
typedef struct nd_event_run nd_event_run_t;
nd_err_t nd_event_run_open(const nd_backtest_config_t *cfg, nd_backtest_result_t *r,
                           nd_event_run_t **out /* OUT */, char *err, size_t err_len);
/* Feeds one trade, quote, book or venue-status event of one of the run's instruments, in
 * non-decreasing time. ND_EINVAL for time going backwards or a bad event (nothing changes);
 * ND_EIO when a listener could not record (trading is halted); other engine errors. */
nd_err_t nd_event_run_push(nd_event_run_t *run, const nd_market_event_t *ev, char *err,
                           size_t err_len);
/* Books what the venue made visible by now_ns without a market event (nd_engine_poll); the
 * run's time moves to now_ns when that is later, and the simulated venues process the requests
 * that arrived by then (nd_l2sim_advance: a cancel takes effect while the market is quiet). */
nd_err_t nd_event_run_poll(nd_event_run_t *run, int64_t now_ns);
nd_engine_t *nd_event_run_engine(const nd_event_run_t *run);
/* The run's instruments: cfg->symbol (id 0), then cfg->more[] (ids 1..), each trading on its
 * own L2 simulated venue. */
const nd_instrument_t *nd_event_run_instrument(const nd_event_run_t *run, uint32_t id);
uint32_t nd_event_run_instrument_count(const nd_event_run_t *run);
/* Ends the run: the metrics and trade statistics into r; frees run (NULL is a no-op). */
nd_err_t nd_event_run_close(nd_event_run_t *run, char *err, size_t err_len);

/* How a halt shaped the run: whether a halt is in force at the end, the trip that began it, and
 * the bars spent halted. */
typedef struct nd_halt_summary {
    bool halted_at_end;
    nd_breaker_event_t trip;  /* the trip that began the halt in force at the end (halted_at_end) */
    int64_t halted_bars;      /* all bars with a halt in force, over the whole run */
    int64_t bars;
    double halted_share;      /* halted_bars / bars; 0 without bars */
    int64_t trips;
} nd_halt_summary_t;

void nd_backtest_halt_summary(const nd_backtest_result_t *result, nd_halt_summary_t *out /* OUT */);
/* One line for people: "halted from T by drawdown 12.07% >= 12.00%; N bars, X% of the run,
 * idle", or "halted N bars (X% of the run) by K trips, trading at the end", or "" (never
 * halted). Returns the length written. */
size_t nd_halt_summary_format(const nd_halt_summary_t *h, char *buf, size_t cap);

/* The run's strategies for a title: "sma_cross + mean_reversion" (cut with the buffer). */
void nd_backtest_strategy_names(const nd_backtest_config_t *cfg, char *buf, size_t cap);

/* A strategy's parameter values as one JSON object in the definition's order: a choice as its
 * name, an integer as a JSON integer, a real as a JSON real. The one form params take in
 * backtest, validate, evolve and report output (and that --params reads back). */
json_t *nd_backtest_params_json(const nd_strategy_def_t *def, const double *values);

/* Adds a view's "timeframe_s" and "timerange" {"start", "end_excluded"} (ISO UTC) to obj;
 * nothing for an identity view. */
void nd_backtest_view_json(json_t *obj, const nd_bar_view_t *view);

/* The result as a JSON object (caller owns the reference): the keys listed in README. */
json_t *nd_backtest_result_json(const nd_backtest_config_t *cfg,
                                const nd_backtest_result_t *result);

#endif
