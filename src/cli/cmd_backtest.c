/* cmd_backtest.c: `noderr backtest`: options -> nd_backtest_config_t -> run -> summary or JSON.
 * Every bad option or file is reported with what and why, exit code 2. */
#include "cli.h"
#include "noderr/backtest.h"
#include "noderr/data.h"
#include "noderr/fixed.h"
#include "noderr/log.h"
#include "noderr/report.h"
#include "noderr/store.h"
#include "noderr/surveillance.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: noderr backtest [--data FILE] [--format auto|csv|kline] [--symbol S]\n"
    "                       [--timerange D1-D2] [--timeframe 4h] [--exchange-info FILE]\n"
    "                       [--data-dir DIR --symbols S1,S2 [--interval 1h]]\n"
    "                       [--price-decimals N] [--qty-decimals N] [--tick-size X]\n"
    "                       [--lot-size X] [--min-notional X]\n"
    "                       (--strategy NAME[:WEIGHT] | --strategy-lib PATH.so[:NAME[:WEIGHT]] |\n"
    "                        --strategy-file F.lua[:WEIGHT])\n"
    "                       [--param k=v]... [--params FILE]\n"
    "                       [--cash N] [--fee-bps N] [--maker-fee-bps N] [--taker-fee-bps N]\n"
    "                       [--slippage-bps N] [--impact-bps N] [--max-volume-pct P]\n"
    "                       [--sizing fixed:QTY|percent:P] [--allow-short]\n"
    "                       [--max-position-pct P] [--max-drawdown-pct P] [--daily-loss-pct P]\n"
    "                       [--max-order-notional N] [--price-collar-pct P]\n"
    "                       [--max-orders-per-sec N] [--breaker-reset POLICY]\n"
    "                       [--anomaly-threshold P]\n"
    "                       [--periods-per-year N] [--risk-free R]\n"
    "                       [--seed N] [--bars N] [--json] [--trades-out FILE]\n"
    "                       [--equity-out FILE] [--log-level err|warn|info|debug]\n"
    "                       [--report FILE.html] [--db URL] [--db-commit-every N|Tms|N,Tms]\n"
    "                       [--surveil-pretrade US|EU|UK|SG]\n"
    "                       [--trades FILE] [--quotes FILE] [--depth SNAPSHOT.json|DIR\n"
    "                       [--depth-updates DIFFS.jsonl]] [--synthetic-l2 [--events N]]\n"
    "                       [--entry-latency-us N] [--ack-latency-us N]\n"
    "                       [--queue-model risk-averse|proportional]\n"
    "\n"
    "Runs strategies through the engine over bars from FILE (CSV ts,open,high,low,close,volume\n"
    "or Binance kline CSV) or, without --data, over the seeded synthetic market.\n"
    "--strategy may repeat (several strategies share the account by weight); --param applies\n"
    "to the strategy named before it. --strategy-lib runs strategy NAME of a C plugin built\n"
    "against the installed SDK (NAME may be left out when the library has one; see\n"
    "docs/strategy-sdk.md and 'noderr strategy new'); it mixes with --strategy.\n"
    "Defaults: cash 10000, fee 10 bps, slippage 0, sizing percent:25, max position 25%,\n"
    "max drawdown 12%, daily loss 5%; 0 turns a limit off.\n"
    "After a drawdown or daily-loss trip the engine flattens and owns the positions until\n"
    "flat. --breaker-reset says when a halt lifts by itself: never, next-day or\n"
    "after:DURATION (m, h, d, w), for both breakers or as drawdown=P,daily-loss=P;\n"
    "default drawdown=never,daily-loss=next-day.\n"
    "--anomaly-threshold P (0..1, default 0 = off; paper and live default 0.80) halts the same\n"
    "way when the anomaly model's confidence reaches P (docs/anomaly.md); its halt lifts only\n"
    "by anomaly=POLICY in --breaker-reset (default never).\n"
    ND_CLI_TIMERANGE_USAGE
    "--data again (or --symbols) adds an instrument: one portfolio, each strategy on each\n"
    "(docs/engine.md). --exchange-info: tick, lot, min notional per symbol from Binance's.\n"
    "--report writes a self-contained HTML page (equity with trades, drawdown, monthly\n"
    "returns, metrics); the charting library is built in (docs/reports.md).\n"
    "--db records every order event, fill, risk reject and breaker trip in the compliance\n"
    "store (sqlite:PATH, a bare PATH, or postgresql://...); a failed write halts trading\n"
    "and the run exits 2 naming the error (see docs/compliance-store.md). Records are\n"
    "group-committed every N records or T ms, whichever first (default 16384,1000ms), and at\n"
    "the end; a crash loses at most the last uncommitted batch (--db-commit-every).\n"
    "--surveil-pretrade blocks, before it reaches the venue, an order that would trade against\n"
    "a resting order of another strategy of the run (self-match) or breach the jurisdiction's\n"
    "hard limits; it is rejected and recorded (see docs/surveillance.md).\n"
    "--trades, --quotes, --depth and --synthetic-l2 run an event-level backtest instead: the\n"
    "Binance trades/aggTrades and bookTicker files, a recorded depth session (the directory\n"
    "holding snapshot.json and diffs.jsonl) and the seeded synthetic L2 market (--seed,\n"
    "--events N) are merged in time order and run through the engine and the L2 simulated\n"
    "venue (queue model, latencies; docs/simulated-venue.md) with an event strategy such as\n"
    "quote_maker. Returns are sampled once a minute (see docs/engine.md).\n";

typedef struct options {
    nd_backtest_config_t cfg;
    bool json;
    const char *trades_path;
    const char *equity_path;
    const char *params_path;
    const char *report_path;  /* --report FILE.html */
    const char *db_url;       /* --db URL: the compliance store to record into */
    uint32_t db_commit_events;   /* --db-commit-every N (0: the recorder's default) */
    int64_t db_commit_ms;        /* --db-commit-every Tms (0: the recorder's default) */
    int argc;                 /* the command line, recorded as the run's configuration */
    char **argv;
    const char *tick_text, *lot_text, *min_notional_text, *fixed_qty_text;
    const char *depth_arg, *depth_updates; /* --depth, --depth-updates, resolved to depth_dir */
    char depth_dir[4096];
    /* Several instruments: --data again, or --data-dir with --symbols (and --interval). */
    const char *data_dir, *symbols, *interval, *exchange_info;
    char dir_paths[ND_BACKTEST_ASSETS_MAX][1024];
} options_t;

#define PCT_MAX (100 * 100)
#define BPS_MAX (10000 * 100)

enum {
    /* cash, fees, slippage, short selling and the three risk limits are ND_CLI_OPT_* (cli.h) */
    OPT_DATA = 1, OPT_FORMAT, OPT_SYMBOL, OPT_STRATEGY, OPT_STRATEGY_LIB, OPT_PARAM, OPT_PARAMS,
    OPT_SIZING, OPT_PPY, OPT_RF, OPT_SEED, OPT_LOG, OPT_PXDEC, OPT_QTYDEC, OPT_REPORT,
    OPT_DB_COMMIT, OPT_PRETRADE, OPT_ENTRY_LAT, OPT_ACK_LAT, OPT_QUEUE, OPT_STRATEGY_FILE
};

static const nd_cli_opt_t options[] = {
    ND_CLI_ARG("data", OPT_DATA),
    ND_CLI_ARG("format", OPT_FORMAT),
    ND_CLI_ARG("symbol", OPT_SYMBOL),
    ND_CLI_OPTIONS_STRATEGY(OPT_STRATEGY, OPT_STRATEGY_LIB, OPT_STRATEGY_FILE),
    ND_CLI_OPTIONS_PARAMS(OPT_PARAM, OPT_PARAMS),
    ND_CLI_OPTIONS_ENGINE,
    ND_CLI_FIXED("maker-fee-bps", options_t, cfg.engine.venue.maker_fee_bps_e2, 2, 0, BPS_MAX),
    ND_CLI_FIXED("taker-fee-bps", options_t, cfg.engine.venue.taker_fee_bps_e2, 2, 0, BPS_MAX),
    ND_CLI_FIXED("impact-bps", options_t, cfg.engine.venue.impact_bps_e2, 2, 0, BPS_MAX),
    ND_CLI_FIXED("max-volume-pct", options_t, cfg.engine.venue.max_volume_share_e4, 2, 1,
                 PCT_MAX),
    ND_CLI_ARG("sizing", OPT_SIZING),
    ND_CLI_ARG("anomaly-threshold", ND_CLI_OPT_ANOMALY_THRESHOLD),
    ND_CLI_FIXED("max-order-notional", options_t, cfg.engine.risk.max_order_notional,
                 ND_CASH_DECIMALS, 0, INT64_MAX / 1000),
    ND_CLI_FIXED("price-collar-pct", options_t, cfg.engine.risk.price_collar_pct_e2, 2, 0,
                 PCT_MAX),
    ND_CLI_INT("max-orders-per-sec", options_t, cfg.engine.risk.orders_per_sec_max, 0, 1024),
    ND_CLI_ARG("periods-per-year", OPT_PPY),
    ND_CLI_ARG("risk-free", OPT_RF),
    ND_CLI_ARG("seed", OPT_SEED),
    /* 2 million hourly bars from the synthetic 2024 start stay inside the int64 clock. */
    ND_CLI_INT("bars", options_t, cfg.synth.bars, 1, 2000000),
    ND_CLI_SET("json", options_t, json),
    ND_CLI_TEXT("trades-out", options_t, trades_path),
    ND_CLI_TEXT("equity-out", options_t, equity_path),
    ND_CLI_ARG("log-level", OPT_LOG),
    ND_CLI_ARG("price-decimals", OPT_PXDEC),
    ND_CLI_ARG("qty-decimals", OPT_QTYDEC),
    ND_CLI_TEXT("tick-size", options_t, tick_text),
    ND_CLI_TEXT("lot-size", options_t, lot_text),
    ND_CLI_TEXT("min-notional", options_t, min_notional_text),
    ND_CLI_ARG("report", OPT_REPORT),
    ND_CLI_TEXT("db", options_t, db_url),
    ND_CLI_ARG("db-commit-every", OPT_DB_COMMIT),
    ND_CLI_ARG("surveil-pretrade", OPT_PRETRADE),
    ND_CLI_TEXT("trades", options_t, cfg.ticks.trades_path),
    ND_CLI_TEXT("quotes", options_t, cfg.ticks.quotes_path),
    ND_CLI_TEXT("depth", options_t, depth_arg),
    ND_CLI_TEXT("depth-updates", options_t, depth_updates),
    ND_CLI_SET("synthetic-l2", options_t, cfg.ticks.synthetic),
    ND_CLI_INT("events", options_t, cfg.ticks.synth.events, 1, 1000000000),
    ND_CLI_ARG("entry-latency-us", OPT_ENTRY_LAT),
    ND_CLI_ARG("ack-latency-us", OPT_ACK_LAT),
    ND_CLI_ARG("queue-model", OPT_QUEUE),
    ND_CLI_OPTIONS_VIEW,
    ND_CLI_TEXT("data-dir", options_t, data_dir),
    ND_CLI_TEXT("symbols", options_t, symbols),
    ND_CLI_TEXT("interval", options_t, interval),
    ND_CLI_TEXT("exchange-info", options_t, exchange_info),
    ND_CLI_OPTS_END,
};

/* --db-commit-every N, Tms or N,Tms: the recorder's group commit (records, milliseconds). */
static int parse_commit_every(options_t *o, const char *arg)
{
    char buf[64];
    size_t len = strlen(arg);
    const char *comma = strchr(arg, ',');
    bool ok = len > 0 && len < sizeof buf && (!comma || !strchr(comma + 1, ','));
    if (ok) {
        memcpy(buf, arg, len + 1);
        char *parts[2] = {buf, NULL};
        if (comma) {
            buf[comma - arg] = '\0';
            parts[1] = buf + (comma - arg) + 1;
        }
        for (int k = 0; ok && k < 2 && parts[k]; k++) {
            size_t n = strlen(parts[k]);
            bool ms = n > 2 && strcmp(parts[k] + n - 2, "ms") == 0;
            int64_t value = 0;
            if (ms)
                parts[k][n - 2] = '\0';
            ok = n > 0 && nd_cli_int("--db-commit-every", parts[k], 1,
                                     ms ? ND_RECORDER_INTERVAL_MS_MAX : 1000000000, &value) == 0;
            if (ok && ms)
                o->db_commit_ms = value;
            else if (ok)
                o->db_commit_events = (uint32_t)value;
        }
    }
    if (!ok)
        fprintf(stderr, "noderr: --db-commit-every: '%s' is not N, Tms or N,Tms (records, "
                "milliseconds)\n", arg);
    return ok ? 0 : -1;
}

/* --strategy NAME[:WEIGHT], --strategy-lib PATH.so[:NAME[:WEIGHT]]: nd_cli_strategy_lookup. */
static int add_strategy_from(options_t *o, const char *option, const char *arg)
{
    const nd_strategy_def_t *def = NULL;
    int64_t weight_e6 = 0;
    if (nd_cli_strategy_lookup(option, arg, ND_CLI_STRATEGY_WEIGHT | ND_CLI_STRATEGY_EVENTS,
                               &def, &weight_e6) != 0)
        return -1;
    if (o->cfg.strategy_count >= ND_STRATEGIES_MAX) {
        fprintf(stderr, "noderr: %s: at most %d strategies\n", option, ND_STRATEGIES_MAX);
        return -1;
    }
    nd_strategy_spec_t *spec = &o->cfg.strategies[o->cfg.strategy_count];
    memset(spec, 0, sizeof *spec);
    spec->def = def;
    spec->weight_e6 = weight_e6;
    nd_strategy_params_default(def, spec->params);
    o->cfg.strategy_count++;
    return 0;
}

static int add_strategy(options_t *o, const char *arg)
{
    return add_strategy_from(o, "--strategy", arg);
}

static int set_param(options_t *o, const char *kv)
{
    return nd_cli_param_set(&o->cfg, kv);
}

static int add_strategy_cb(void *ctx, const char *name)
{
    return add_strategy(ctx, name);
}

/* --params FILE: {"strategy": "sma_cross", "params": {"fast": 12, "slow": 40}} as `noderr
 * evolve` writes it, or a bare {"fast": 12, "slow": 40} for the strategy named before it. */
static int load_params(options_t *o, const char *path)
{
    return nd_cli_params_load(&o->cfg, path, add_strategy_cb, o);
}

/* The fixed quantity is read once the quantity scale is known. */
static int parse_sizing(options_t *o, const char *arg)
{
    return nd_cli_sizing(&o->cfg.engine, arg, &o->fixed_qty_text);
}

/* --surveil-pretrade: one jurisdiction's profile (one pre-trade state per engine). */
static int parse_pretrade(options_t *o, const char *arg)
{
    nd_jurisdiction_t j;
    if (nd_jurisdiction_parse(arg, strlen(arg), &j) != ND_OK) {
        fprintf(stderr, "noderr: --surveil-pretrade: '%s' is not one jurisdiction (US, EU, UK "
                "or SG)\n", arg);
        return -1;
    }
    o->cfg.engine.pretrade_profile = nd_jurisdiction_profile(j);
    return 0;
}

static int parse_format(options_t *o, const char *arg)
{
    static const char *const names[] = {"auto", "csv", "kline", NULL};
    static const nd_bar_format_t formats[] = {ND_BAR_FORMAT_AUTO, ND_BAR_FORMAT_CSV,
                                              ND_BAR_FORMAT_KLINE};
    int k;
    if (nd_cli_choice("--format", arg, names, &k) != 0)
        return -1;
    o->cfg.format = formats[k];
    return 0;
}

static int parse_symbol(options_t *o, const char *arg)
{
    nd_instrument_t probe;
    if (nd_instrument_init(&probe, arg, "sim") != ND_OK) {
        fprintf(stderr, "noderr: --symbol: '%s' is not BASE/QUOTE (e.g. BTC/USDT)\n", arg);
        return -1;
    }
    snprintf(o->cfg.symbol, sizeof o->cfg.symbol, "%s", probe.symbol);
    o->cfg.symbol_source = "option";
    return 0;
}

/* --data FILE: the first instrument, then one more each time (symbol from the file name). */
static int add_data(options_t *o, const char *path)
{
    if (!o->cfg.data_path) {
        o->cfg.data_path = path;
        return 0;
    }
    if (o->cfg.more_count + 1 >= ND_BACKTEST_ASSETS_MAX) {
        fprintf(stderr, "noderr: --data: at most %d instruments in one run\n",
                ND_BACKTEST_ASSETS_MAX);
        return -1;
    }
    nd_backtest_asset_t *a = &o->cfg.more[o->cfg.more_count];
    if (nd_instrument_symbol_from_path(path, a->symbol, sizeof a->symbol) != ND_OK) {
        fprintf(stderr, "noderr: --data %s: with several files each name must give its symbol "
                        "(SYMBOL-INTERVAL.csv, e.g. ETHUSDT-1h.csv)\n", path);
        return -1;
    }
    a->data_path = path;
    a->symbol_source = "file name";
    o->cfg.more_count++;
    return 0;
}

/* --data-dir DIR --symbols A,B,...: DIR/A-INTERVAL.csv, ... as further --data. */
static int add_symbols(options_t *o)
{
    if (!o->symbols && !o->data_dir && !o->interval)
        return 0;
    if (!o->symbols || !o->data_dir) {
        fprintf(stderr, "noderr: --data-dir and --symbols go together (--interval optional)\n");
        return -1;
    }
    const char *interval = o->interval ? o->interval : "1h";
    if (!nd_data_interval_valid(interval)) {
        fprintf(stderr, "noderr: --interval '%s' is not a Binance kline interval\n", interval);
        return -1;
    }
    uint32_t n = 0;
    for (const char *p = o->symbols; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char sym[ND_DATA_SYMBOL_MAX];
        if (len == 0 || len >= sizeof sym || n >= ND_BACKTEST_ASSETS_MAX) {
            fprintf(stderr, "noderr: --symbols '%s': want 1 to %d symbols like ETHUSDT, comma "
                            "separated\n", o->symbols, ND_BACKTEST_ASSETS_MAX);
            return -1;
        }
        memcpy(sym, p, len);
        sym[len] = '\0';
        if (!nd_data_symbol_valid(sym)) {
            fprintf(stderr, "noderr: --symbols: '%s' is not a symbol like ETHUSDT\n", sym);
            return -1;
        }
        snprintf(o->dir_paths[n], sizeof o->dir_paths[n], "%s/%s-%s.csv", o->data_dir, sym,
                 interval);
        if (add_data(o, o->dir_paths[n++]))
            return -1;
        p = end ? end + 1 : p + len;
    }
    return 0;
}

static int parse_other(options_t *o, int opt, const char *arg)
{
    int64_t tmp = 0;
    switch (opt) {
    case OPT_DATA: return add_data(o, arg);
    case OPT_FORMAT: return parse_format(o, arg);
    case ND_CLI_OPT_TIMERANGE:
    case ND_CLI_OPT_TIMEFRAME: return nd_cli_view_option(&o->cfg.view, opt, arg);
    case OPT_SYMBOL: return parse_symbol(o, arg);
    case OPT_STRATEGY: return add_strategy(o, arg);
    case OPT_STRATEGY_LIB: return add_strategy_from(o, "--strategy-lib", arg);
    case OPT_STRATEGY_FILE: return add_strategy_from(o, "--strategy-file", arg);
    case OPT_PARAM: return set_param(o, arg);
    case OPT_PARAMS: o->params_path = arg; return load_params(o, arg);
    case OPT_SIZING: return parse_sizing(o, arg);
    case OPT_PPY: return nd_cli_real("--periods-per-year", arg, 1e-9, 1e12, &o->cfg.periods_per_year);
    case OPT_RF: return nd_cli_real("--risk-free", arg, -1.0, 1.0, &o->cfg.risk_free);
    case OPT_SEED:
        if (nd_cli_int("--seed", arg, 0, INT64_MAX, &tmp))
            return -1;
        o->cfg.synth.seed = (uint64_t)tmp;
        return 0;
    case OPT_PXDEC:
        if (nd_cli_int("--price-decimals", arg, 0, 12, &tmp))
            return -1;
        o->cfg.px_decimals = (int)tmp;
        return 0;
    case OPT_QTYDEC:
        if (nd_cli_int("--qty-decimals", arg, 0, 12, &tmp))
            return -1;
        o->cfg.qty_decimals = (int)tmp;
        return 0;
    case OPT_REPORT: o->report_path = arg; o->cfg.keep_equity = true; return 0;
    case OPT_DB_COMMIT: return parse_commit_every(o, arg);
    case OPT_PRETRADE: return parse_pretrade(o, arg);
    case OPT_LOG: return nd_cli_log_level(arg);
    }
    return nd_cli_engine_option(&o->cfg.engine, opt, arg);
}

/* Tick, lot and minimum notional are read once the scales are known. */
static int parse_instrument_sizes(options_t *o)
{
    int px = o->cfg.px_decimals >= 0 ? o->cfg.px_decimals : ND_DEFAULT_PX_DECIMALS;
    int qty = o->cfg.qty_decimals >= 0 ? o->cfg.qty_decimals : ND_DEFAULT_QTY_DECIMALS;
    if (o->tick_text && nd_cli_fixed("--tick-size", o->tick_text, px, 1, INT64_MAX, &o->cfg.tick_size))
        return -1;
    if (o->lot_text && nd_cli_fixed("--lot-size", o->lot_text, qty, 1, INT64_MAX, &o->cfg.lot_size))
        return -1;
    if (o->cfg.engine.sizing.kind == ND_SIZING_FIXED &&
        nd_cli_fixed("--sizing fixed", o->fixed_qty_text, qty, 1, INT64_MAX,
                      &o->cfg.engine.sizing.fixed_qty))
        return -1;
    if (o->min_notional_text && nd_cli_fixed("--min-notional", o->min_notional_text,
                                             ND_CASH_DECIMALS, 0, INT64_MAX, &o->cfg.min_notional))
        return -1;
    return 0;
}

/* The event-level options (--trades, --quotes, --depth, ...); 1 when opt is not one of them. */
static int parse_event_option(options_t *o, int opt, const char *arg)
{
    int64_t tmp = 0;
    switch (opt) {
    case OPT_ENTRY_LAT:
        if (nd_cli_int("--entry-latency-us", arg, 0, 60000000, &tmp))
            return -1;
        o->cfg.ticks.venue.entry.const_ns = tmp * 1000;
        return 0;
    case OPT_ACK_LAT:
        if (nd_cli_int("--ack-latency-us", arg, 0, 60000000, &tmp))
            return -1;
        o->cfg.ticks.venue.ack.const_ns = tmp * 1000;
        return 0;
    case OPT_QUEUE: {
        static const char *const names[] = {"risk-averse", "proportional", NULL};
        int k;
        if (nd_cli_choice("--queue-model", arg, names, &k) != 0)
            return -1;
        o->cfg.ticks.venue.queue_model =
            k == 0 ? ND_L2SIM_QUEUE_RISK_AVERSE : ND_L2SIM_QUEUE_PROPORTIONAL;
        return 0;
    }
    }
    return 1;
}

static int parse_option_cb(void *ctx, int opt, const char *arg)
{
    int rc = parse_event_option(ctx, opt, arg);
    return rc != 1 ? rc : parse_other(ctx, opt, arg);
}

/* --depth names a recorded session: its directory, or its snapshot.json with --depth-updates
 * naming the diffs.jsonl beside it (the session loader reads DIR/snapshot.json, DIR/diffs.jsonl
 * and the optional DIR/meta.json, whose count of diffs received before the snapshot the sync
 * needs, so the two files must be one session's). */
static int resolve_depth(options_t *o)
{
    if (!o->depth_arg) {
        if (o->depth_updates) {
            fprintf(stderr, "noderr: --depth-updates needs --depth SNAPSHOT.json\n");
            return -1;
        }
        return 0;
    }
    const char *slash = strrchr(o->depth_arg, '/');
    const char *base = slash ? slash + 1 : o->depth_arg;
    size_t dir_len = slash ? (size_t)(slash - o->depth_arg) : 1;
    if (strcmp(base, "snapshot.json") != 0) {
        /* A directory. */
        if (o->depth_updates) {
            fprintf(stderr, "noderr: --depth-updates goes with --depth DIR/snapshot.json\n");
            return -1;
        }
        snprintf(o->depth_dir, sizeof o->depth_dir, "%s", o->depth_arg);
    } else {
        if (!o->depth_updates) {
            fprintf(stderr, "noderr: --depth %s needs --depth-updates DIR/diffs.jsonl\n",
                    o->depth_arg);
            return -1;
        }
        const char *uslash = strrchr(o->depth_updates, '/');
        size_t udir_len = uslash ? (size_t)(uslash - o->depth_updates) : 1;
        const char *ubase = uslash ? uslash + 1 : o->depth_updates;
        const char *dir = slash ? o->depth_arg : ".";
        const char *udir = uslash ? o->depth_updates : ".";
        if (strcmp(ubase, "diffs.jsonl") != 0 || udir_len != dir_len ||
            strncmp(dir, udir, dir_len) != 0 || dir_len >= sizeof o->depth_dir) {
            fprintf(stderr, "noderr: --depth-updates: a recorded session keeps snapshot.json and "
                            "diffs.jsonl in one directory; got %s and %s\n",
                    o->depth_arg, o->depth_updates);
            return -1;
        }
        memcpy(o->depth_dir, dir, dir_len);
        o->depth_dir[dir_len] = '\0';
    }
    o->cfg.ticks.depth_dir = o->depth_dir;
    return 0;
}

/* What several instruments exclude: one --symbol, --db (records one instrument), events. */
static int multi_instrument_checks(options_t *o)
{
    if (o->cfg.more_count == 0)
        return 0;
    const char *why = NULL;
    if (strcmp(o->cfg.symbol_source, "option") == 0)
        why = "--symbol names one instrument; with several files their names give the symbols";
    else if (strcmp(o->cfg.symbol_source, "default") == 0)
        why = "the first --data file's name gives no symbol (SYMBOL-INTERVAL.csv)";
    else if (o->db_url)
        why = "--db records runs over one instrument";
    else if (nd_backtest_is_event_level(&o->cfg))
        why = "several instruments are for bar backtests";
    if (why)
        fprintf(stderr, "noderr backtest: %s\n", why);
    return why ? -1 : 0;
}

static int load_exchange_info(options_t *o)
{
    if (!o->exchange_info)
        return 0;
    char err[512];
    if (!o->cfg.data_path || nd_backtest_is_event_level(&o->cfg)) {
        fprintf(stderr, "noderr backtest: --exchange-info applies to bar backtests over --data\n");
        return -1;
    }
    if (nd_backtest_rules_load(&o->cfg, o->exchange_info, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr backtest: --exchange-info %s\n", err);
        return -1;
    }
    return 0;
}

/* Returns 0 to run, ND_EXIT_USAGE on a bad option, -1 after --help. */
static int parse_args(options_t *o, int argc, char **argv)
{
    int rc = nd_cli_parse("backtest", argc, argv, options, usage_text, parse_option_cb, o);
    if (rc != 0)
        return rc;
    if (add_symbols(o))
        return ND_EXIT_USAGE;
    if (o->cfg.strategy_count == 0) {
        fprintf(stderr, "noderr backtest: --strategy NAME is required (or --strategy-lib "
                        "PATH.so, --strategy-file F.lua; see 'noderr strategies')\n");
        return ND_EXIT_USAGE;
    }
    if (resolve_depth(o))
        return ND_EXIT_USAGE;
    if (nd_backtest_is_event_level(&o->cfg) && (o->db_url || o->cfg.data_path)) {
        fprintf(stderr, "noderr backtest: --trades/--quotes/--depth/--synthetic-l2 run on events: "
                        "not with --data or --db\n");
        return ND_EXIT_USAGE;
    }
    if (nd_backtest_is_event_level(&o->cfg) && !nd_bar_view_is_identity(&o->cfg.view)) {
        fprintf(stderr, "noderr backtest: --timerange and --timeframe apply to bars: not with "
                        "--trades/--quotes/--depth/--synthetic-l2\n");
        return ND_EXIT_USAGE;
    }
    /* The symbol: --symbol, else the data file's name (ETHUSDT-1h.csv is ETH/USDT), else the
     * default, and the output says which: never a silent BTC/USDT. */
    if (!o->cfg.symbol_source && o->cfg.data_path &&
        nd_instrument_symbol_from_path(o->cfg.data_path, o->cfg.symbol, sizeof o->cfg.symbol) == ND_OK)
        o->cfg.symbol_source = "file name";
    if (!o->cfg.symbol_source && o->cfg.data_path)
        o->cfg.symbol_source = "default";
    if (multi_instrument_checks(o) || load_exchange_info(o))
        return ND_EXIT_USAGE;
    return parse_instrument_sizes(o) ? ND_EXIT_USAGE : 0;
}

static void print_pct(const char *label, double v)
{
    if (isfinite(v))
        printf("  %-22s %10.2f%%\n", label, v * 100.0);
    else
        printf("  %-22s %11s\n", label, "n/a");
}

static void print_num(const char *label, double v)
{
    if (isfinite(v))
        printf("  %-22s %11.3f\n", label, v);
    else
        printf("  %-22s %11s\n", label, "n/a");
}

static void print_limit(const char *label, int64_t pct_e2)
{
    if (pct_e2 > 0)
        printf("  %-22s %10.2f%%\n", label, (double)pct_e2 / 100.0);
    else
        printf("  %-22s %11s\n", label, "off");
}

/* The --timerange and --timeframe of a run, when given. */
static void print_view(const nd_bar_view_t *view)
{
    char text[64];
    if (view->range.start_ns != 0 || view->range.end_ns != 0)
        printf("  %-22s %s (end excluded)\n", "timerange",
               nd_timerange_format(&view->range, text, sizeof text));
    if (view->timeframe_ns > 0)
        printf("  %-22s %s bars, resampled\n", "timeframe",
               nd_span_format(view->timeframe_ns, text, sizeof text));
}

/* Several instruments: each one's file, rules and P&L; one instrument: its rules when they
 * came from --exchange-info. */
static void print_assets(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r)
{
    nd_portfolio_t *p = nd_engine_portfolio(r->engine);
    for (uint32_t k = 0; k < r->instrument_count; k++) {
        const nd_instrument_t *inst = nd_engine_instrument(r->engine, k);
        const char *rules = cfg->rules[k].source;
        if (r->instrument_count == 1 && !rules)
            return;
        char tick[32], lot[32], min_notional[32], net[32], fees[32];
        nd_fixed_format(inst->tick_size, inst->px_decimals, tick, sizeof tick);
        nd_fixed_format(inst->lot_size, inst->qty_decimals, lot, sizeof lot);
        nd_fixed_format(inst->min_notional, ND_CASH_DECIMALS, min_notional, sizeof min_notional);
        printf("  %-22s tick %s, lot %s, min notional %s (%s%s)\n", inst->symbol, tick, lot,
               min_notional, rules ? "exchangeInfo " : "defaults and options",
               rules ? rules : "");
        if (r->instrument_count == 1)
            return;
        nd_attribution_t a;
        nd_portfolio_by_instrument(p, k, &a);
        nd_fixed_format(a.net, ND_CASH_DECIMALS, net, sizeof net);
        nd_fixed_format(a.fees, ND_CASH_DECIMALS, fees, sizeof fees);
        printf("  %-22s net %s, fees %s, %lld round trips (%s)\n", "", net, fees,
               (long long)a.trades, k == 0 ? cfg->data_path : cfg->more[k - 1].data_path);
    }
}

/* "noderr backtest: sma_cross + mean_reversion on ETH/USDT + BTC/USDT (FILE)". */
static void print_title(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r)
{
    char names[256];
    nd_backtest_strategy_names(cfg, names, sizeof names);
    char symbols[ND_BACKTEST_ASSETS_MAX * ND_NAME_MAX] = "";
    for (uint32_t k = 0; k < r->instrument_count; k++) /* the engine's: one per file */
        snprintf(symbols + strlen(symbols), sizeof symbols - strlen(symbols), "%s%s",
                 k ? " + " : "", nd_engine_instrument(r->engine, k)->symbol);
    printf("noderr backtest: %s on %s%s (%s)\n", names, symbols,
           cfg->data_path && cfg->symbol_source && strcmp(cfg->symbol_source, "default") == 0
               ? " (the default symbol: give --symbol)" : "",
           nd_backtest_is_event_level(cfg) ? "events, L2 simulated venue"
           : r->synthetic ? "synthetic market" : cfg->data_path);
}

static void print_summary(const nd_backtest_config_t *cfg, const nd_backtest_result_t *r)
{
    const nd_engine_stats_t *es = nd_engine_stats(r->engine);
    const nd_risk_t *risk = nd_engine_risk(r->engine);
    nd_portfolio_t *p = nd_engine_portfolio(r->engine);
    char equity[32], cash0[32], fees[32], first[40], last[40];
    nd_fixed_format(r->final_equity, ND_CASH_DECIMALS, equity, sizeof equity);
    nd_fixed_format(nd_portfolio_initial_cash(p), ND_CASH_DECIMALS, cash0, sizeof cash0);
    nd_fixed_format(nd_portfolio_fees(p), ND_CASH_DECIMALS, fees, sizeof fees);
    nd_time_format_iso(es->first_ts_ns, first, sizeof first);
    nd_time_format_iso(es->last_ts_ns, last, sizeof last);
    bool events = nd_backtest_is_event_level(cfg);
    print_title(cfg, r);
    if (r->synthetic)
        printf("  seed %llu\n", (unsigned long long)r->seed);
    if (events)
        printf("  %-22s %s .. %s (%lld events)\n", "period", first, last, (long long)es->events);
    else
        printf("  %-22s %s .. %s (%lld bars)\n", "period", first, last, (long long)es->bars);
    print_view(&cfg->view);
    print_assets(cfg, r);
    printf("  %-22s %s -> %s\n", "equity", cash0, equity);
    print_pct("total return", r->metrics.total_return);
    print_pct("annual return", r->metrics.annual_return);
    print_pct("annual volatility", r->metrics.annual_volatility);
    print_num("sharpe", r->metrics.sharpe);
    print_num("sortino", r->metrics.sortino);
    print_pct("max drawdown", r->metrics.max_drawdown);
    print_num("calmar", r->metrics.calmar);
    print_pct("VaR (historical)", r->metrics.var);
    print_pct("CVaR", r->metrics.cvar);
    printf("  %-22s %11lld (%lld fills)\n", "round trips", (long long)r->trade_stats.trades,
           (long long)es->fills);
    print_pct("win rate", r->trade_stats.win_rate);
    print_num("profit factor", r->trade_stats.profit_factor);
    print_pct("exposure", r->trade_stats.exposure);
    printf("  %-22s %11s\n", "fees", fees);
    printf("  %-22s %11lld\n", "orders rejected", (long long)es->orders_rejected);
    /* Every reason, not only the count: 339 position_limit_exceeded is a sizing problem the
     * trader must see. */
    for (int k = 1; k < ND_REJECT_SLOTS; k++) {
        int64_t n = nd_engine_rejects(r->engine, (nd_reject_t)k);
        if (n > 0)
            printf("    %-26s %7lld\n", nd_reject_name((nd_reject_t)k), (long long)n);
    }
    if (cfg->engine.pretrade_profile)
        printf("  %-22s %11lld self-match, %lld hard limit (%s)\n", "pre-trade blocks",
               (long long)nd_engine_rejects(r->engine, ND_REJECT_SELF_MATCH),
               (long long)nd_engine_rejects(r->engine, ND_REJECT_SURVEILLANCE_LIMIT),
               cfg->engine.pretrade_profile->code);
    print_limit("max position", cfg->engine.risk.max_position_pct_e2);
    print_limit("drawdown breaker", cfg->engine.risk.max_drawdown_pct_e2);
    print_limit("daily loss breaker", cfg->engine.risk.daily_loss_pct_e2);
    for (uint32_t k = 0; k < risk->event_count; k++) {
        char ts[40];
        nd_time_format_iso(risk->events[k].ts_ns, ts, sizeof ts);
        printf("  breaker %-14s %s at %.4f%% (threshold %.2f%%)\n",
               nd_breaker_kind_name(risk->events[k].kind), ts,
               (double)risk->events[k].measured_e6 / 1e4,
               (double)risk->events[k].threshold_pct_e2 / 100.0);
    }
    nd_halt_summary_t halt;
    char line[256];
    nd_backtest_halt_summary(r, &halt);
    if (nd_halt_summary_format(&halt, line, sizeof line) > 0)
        printf("  %s\n", line);
}

/* --report: the page of this single run (see docs/reports.md). Exit 2 when it cannot be written,
 * including when the charting library is not installed. */
static int write_report(const options_t *o, const nd_backtest_result_t *result)
{
    json_t *doc = nd_report_doc_from_backtest(&o->cfg, result);
    char err[1024] = "";
    nd_err_t rc = doc ? nd_report_html_write(doc, o->report_path, err, sizeof err) : ND_ENOMEM;
    json_decref(doc);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr backtest: --report %s: %s\n", o->report_path,
                err[0] ? err : nd_strerror(rc));
        return ND_EXIT_USAGE;
    }
    return ND_EXIT_OK;
}

/* --db: the store this run records into and the engine listener that writes it. */
typedef struct db_run {
    nd_store_t *store;
    nd_recorder_t *recorder;
    nd_instrument_t inst;
    const char *names[ND_STRATEGIES_MAX];
} db_run_t;

/* The command line as a configuration record, then an operator action. They open the
 * recorder's first batch, committed by the group rule (records or interval) or with
 * backtest_end; committing them alone first would cost one more commit (a few fsyncs) per run
 * for nothing: in a backtest no order leaves the process. */
static nd_err_t db_record_start(const options_t *o, db_run_t *d, char *err, size_t err_len)
{
    json_t *argv = json_array();
    for (int k = 0; k < o->argc; k++)
        json_array_append_new(argv, json_string(o->argv[k]));
    json_t *doc = json_pack("{s:o}", "argv", argv);
    char *detail = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    int64_t now_ns = nd_clock_now_ns(nd_clock_os());
    nd_err_t rc = nd_store_append_config_change(d->store, now_ns, "backtest.command",
                                                o->cfg.strategies[0].def->name, detail, err,
                                                err_len);
    free(detail); /* tidy:allow jansson allocates with the C library */
    if (rc == ND_OK)
        rc = nd_store_append_operator_action(d->store, now_ns, "cli", "backtest_start",
                                             o->cfg.data_path ? o->cfg.data_path : "synthetic",
                                             err, err_len);
    return rc;
}

static int db_start(options_t *o, db_run_t *d)
{
    memset(d, 0, sizeof *d);
    if (!o->db_url)
        return 0;
    char err[512] = "";
    nd_err_t rc = nd_store_open(o->db_url, ND_STORE_CREATE | ND_STORE_BULK, &d->store, err,
                                sizeof err);
    if (rc == ND_OK && nd_instrument_init(&d->inst, o->cfg.symbol, "sim") != ND_OK) {
        snprintf(err, sizeof err, "bad symbol '%s'", o->cfg.symbol);
        rc = ND_EINVAL;
    }
    if (rc == ND_OK) {
        if (o->cfg.px_decimals >= 0)
            d->inst.px_decimals = o->cfg.px_decimals;
        if (o->cfg.qty_decimals >= 0)
            d->inst.qty_decimals = o->cfg.qty_decimals;
        for (uint32_t k = 0; k < o->cfg.strategy_count; k++)
            d->names[k] = o->cfg.strategies[k].def->name;
        rc = nd_recorder_create(d->store, "backtest", &d->inst, 1, d->names,
                                o->cfg.strategy_count, o->db_commit_events, &d->recorder, err,
                                sizeof err);
    }
    if (rc == ND_OK)
        rc = nd_recorder_set_commit(d->recorder, 0, o->db_commit_ms, NULL, err, sizeof err);
    if (rc == ND_OK)
        rc = db_record_start(o, d, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr backtest: --db %s: %s\n", o->db_url, err);
        nd_recorder_destroy(d->recorder);
        nd_store_close(d->store);
        return ND_EXIT_USAGE;
    }
    o->cfg.tap.on_event = nd_recorder_on_event;
    o->cfg.tap.on_bar_done = nd_recorder_on_bar_done; /* group commit by events or time */
    o->cfg.tap.ctx = d->recorder;
    return 0;
}

/* Commits the rest of the run; on a failed write replaces err with the store's reason.
 * The recorder's last batch and backtest_end go in one commit (a commit is a few fsyncs).
 * Returns ND_EIO when the run was not completely recorded. */
static nd_err_t db_finish(const options_t *o, db_run_t *d, nd_err_t run_rc, char *err,
                          size_t err_len)
{
    if (!d->store)
        return ND_OK;
    char why[400] = "";
    nd_err_t rc = ND_OK;
    if (nd_recorder_error(d->recorder)[0]) {
        snprintf(why, sizeof why, "%s", nd_recorder_error(d->recorder));
        rc = ND_EIO;
    }
    if (rc == ND_OK && run_rc == ND_OK)
        rc = nd_store_append_operator_action(d->store, nd_clock_now_ns(nd_clock_os()), "cli",
                                             "backtest_end", "completed", why, sizeof why);
    if (rc == ND_OK)
        rc = nd_recorder_flush(d->recorder, why, sizeof why);
    if (rc != ND_OK)
        snprintf(err, err_len, "--db %s: cannot record the run: %s; trading halted", o->db_url,
                 why);
    nd_recorder_destroy(d->recorder);
    nd_store_close(d->store);
    return rc == ND_OK ? ND_OK : ND_EIO;
}

static int run(options_t *o)
{
    db_run_t db;
    if (db_start(o, &db) != 0)
        return ND_EXIT_USAGE;
    char err[512] = "";
    if ((o->trades_path &&
         !(o->cfg.trades_out = nd_cli_out_open("--trades-out", o->trades_path))) ||
        (o->equity_path &&
         !(o->cfg.equity_out = nd_cli_out_open("--equity-out", o->equity_path)))) {
        db_finish(o, &db, ND_EIO, err, sizeof err);
        if (o->cfg.trades_out)
            fclose(o->cfg.trades_out);
        return ND_EXIT_USAGE;
    }
    nd_backtest_result_t result;
    nd_err_t rc = nd_backtest_run(&o->cfg, &result, err, sizeof err);
    if (db_finish(o, &db, rc, err, sizeof err) != ND_OK)
        rc = ND_EIO;
    int exit_code = ND_EXIT_OK;
    if (nd_cli_strategy_file_failed("backtest")) {
        exit_code = ND_EXIT_USAGE;
        rc = rc == ND_OK ? ND_ESTATE : rc; /* no summary, report or JSON of a broken run */
    } else if (rc != ND_OK) {
        fprintf(stderr, "noderr backtest: %s\n", err[0] ? err : nd_strerror(rc));
        exit_code = ND_EXIT_USAGE;
    } else if (o->json) {
        json_t *doc = nd_backtest_result_json(&o->cfg, &result);
        if (nd_cli_print_json(doc) != 0)
            exit_code = ND_EXIT_USAGE;
        json_decref(doc);
    } else {
        print_summary(&o->cfg, &result);
    }
    if (rc == ND_OK && o->report_path && write_report(o, &result) != ND_EXIT_OK)
        exit_code = ND_EXIT_USAGE;
    nd_backtest_result_free(&result);
    if (o->cfg.trades_out && nd_cli_out_close("--trades-out", o->trades_path, o->cfg.trades_out))
        exit_code = ND_EXIT_USAGE;
    if (o->cfg.equity_out && nd_cli_out_close("--equity-out", o->equity_path, o->cfg.equity_out))
        exit_code = ND_EXIT_USAGE;
    return exit_code;
}

int nd_cmd_backtest(int argc, char **argv)
{
    options_t o;
    memset(&o, 0, sizeof o);
    nd_backtest_config_default(&o.cfg);
    o.argc = argc;
    o.argv = argv;
    int rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    return run(&o);
}
