/* tick_backtest.c: the event-level backtest driver: trade, quote, depth and synthetic L2
 * streams merged in time order (the tie rule of ticks.h: time, then source in the order
 * trades, quotes, depth, synthetic, then read order) -> simulated clock -> engine, which trades
 * through the L2 simulated venue (nd_l2sim_exec).
 *
 * The return series is the equity sampled at the first event of each sample_ns period (a tick
 * stream has no bar to close), and the equity CSV and report curve use the same samples; round
 * trips, fills and P&L are the engine's, as for bars. Memory is flat in the number of events:
 * each source reads through its own fixed buffer and the merge holds one event per source. */
#include "backtest_int.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/log.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { SRC_TRADES = 0, SRC_QUOTES = 1, SRC_DEPTH = 2, SRC_SYNTH = 3, SRC_COUNT = 4 };

/* Levels a side of the engine's and the venue's book: a Binance snapshot's 5000. */
#define BOOK_LEVELS 5000u

typedef struct tick_stream {
    nd_tick_source_t *file;      /* trades or quotes */
    nd_depth_session_t *depth;
    nd_synth_ticks_t *synth;
    const char *name;
    uint64_t seq;
    bool has_head;
    nd_market_event_t head;
} tick_stream_t;

typedef struct tick_run {
    tick_stream_t streams[SRC_COUNT];
} tick_run_t;

static void close_streams(tick_run_t *t)
{
    for (int k = 0; k < SRC_COUNT; k++) {
        nd_ticks_close(t->streams[k].file);
        nd_depth_session_close(t->streams[k].depth);
        nd_synth_ticks_close(t->streams[k].synth);
    }
}

/* Reads the next event of stream k into its head; ND_EEOF when it is done. */
static nd_err_t advance(tick_run_t *t, int k, char *err, size_t err_len)
{
    tick_stream_t *s = &t->streams[k];
    nd_tick_event_t tick;
    nd_err_t rc = ND_EEOF;
    const char *why = NULL;
    if (s->file) {
        rc = nd_ticks_next(s->file, &tick);
        why = rc != ND_OK && rc != ND_EEOF ? nd_ticks_error(s->file) : NULL;
    } else if (s->depth) {
        rc = nd_depth_session_next(s->depth, &tick);
        why = rc != ND_OK && rc != ND_EEOF ? nd_depth_session_error(s->depth) : NULL;
    } else if (s->synth) {
        rc = nd_synth_ticks_next(s->synth, &tick);
    }
    s->has_head = rc == ND_OK;
    if (rc == ND_OK) {
        nd_market_event_from_tick(&tick, (uint32_t)k, s->seq++, &s->head);
        return ND_OK;
    }
    if (rc != ND_EEOF)
        snprintf(err, err_len, "%s", why && why[0] ? why : nd_strerror(rc));
    return rc;
}

static nd_err_t open_streams(const nd_backtest_config_t *cfg, const nd_instrument_t *inst,
                             tick_run_t *t, nd_backtest_result_t *r, char *err, size_t err_len)
{
    const nd_tick_inputs_t *in = &cfg->ticks;
    nd_err_t rc = ND_OK;
    if (in->trades_path) {
        t->streams[SRC_TRADES].name = in->trades_path;
        rc = nd_ticks_open(in->trades_path, ND_TICK_FORMAT_AUTO, inst,
                           &t->streams[SRC_TRADES].file, err, err_len);
    }
    if (rc == ND_OK && in->quotes_path) {
        t->streams[SRC_QUOTES].name = in->quotes_path;
        rc = nd_ticks_open(in->quotes_path, ND_TICK_FORMAT_AUTO, inst,
                           &t->streams[SRC_QUOTES].file, err, err_len);
    }
    if (rc == ND_OK && in->depth_dir) {
        t->streams[SRC_DEPTH].name = in->depth_dir;
        rc = nd_depth_session_open(in->depth_dir, inst, &t->streams[SRC_DEPTH].depth, err,
                                   err_len);
    }
    if (rc == ND_OK && in->synthetic) {
        nd_synth_ticks_config_t sc = in->synth;
        sc.seed = cfg->synth.seed;
        r->synthetic = true;
        r->seed = sc.seed;
        t->streams[SRC_SYNTH].name = "synthetic-l2";
        rc = nd_synth_ticks_open(&sc, inst, &t->streams[SRC_SYNTH].synth, err, err_len);
    }
    for (int k = 0; rc == ND_OK && k < SRC_COUNT; k++) {
        rc = advance(t, k, err, err_len);
        if (rc == ND_EEOF)
            rc = ND_OK;
    }
    return rc;
}

/* The stream whose head comes first by the tie rule, or -1 when all are done. */
static int first_stream(const tick_run_t *t)
{
    int best = -1;
    for (int k = 0; k < SRC_COUNT; k++)
        if (t->streams[k].has_head &&
            (best < 0 || nd_market_event_before(&t->streams[k].head, &t->streams[best].head)))
            best = k;
    return best;
}

struct nd_event_run {
    const nd_backtest_config_t *cfg;
    nd_backtest_result_t *r;
    nd_instrument_t inst[ND_BACKTEST_ASSETS_MAX]; /* id = index; venue l2sim, l2sim-1, ... */
    uint32_t inst_count;
    nd_clock_sim_t clock;   /* the engine's time: each event's own */
    run_ctx_t ctx;
    int64_t next_sample_ns;
    bool sampled;           /* the first event set next_sample_ns */
};

nd_err_t nd_event_run_push(nd_event_run_t *run, const nd_market_event_t *ev, char *err,
                           size_t err_len)
{
    ND_ASSERT(run != NULL && ev != NULL);
    int64_t ts = nd_market_event_ts(ev);
    if (nd_clock_sim_set(&run->clock, ts) != ND_OK) {
        snprintf(err, err_len, "events out of time order");
        return ND_EINVAL;
    }
    nd_err_t rc = nd__backtest_engine_rc(nd_engine_on_event(run->r->engine, ev), err, err_len);
    if (rc != ND_OK)
        return rc;
    if (!run->sampled) {
        run->next_sample_ns = ts;
        run->sampled = true;
    }
    if (ts >= run->next_sample_ns) {
        nd__backtest_record_equity(&run->ctx, ts,
                                   nd_portfolio_equity_ext(nd_engine_portfolio(run->r->engine)));
        int64_t periods = (ts - run->next_sample_ns) / run->cfg->ticks.sample_ns + 1;
        run->next_sample_ns += periods * run->cfg->ticks.sample_ns;
    }
    if (run->ctx.failure != ND_OK) {
        snprintf(err, err_len, "out of memory while recording the run");
        return run->ctx.failure;
    }
    return ND_OK;
}

static nd_err_t run_events(tick_run_t *t, nd_event_run_t *run, char *err, size_t err_len)
{
    int k;
    while ((k = first_stream(t)) >= 0) {
        char why[256];
        nd_err_t rc = nd_event_run_push(run, &t->streams[k].head, why, sizeof why);
        if (rc != ND_OK) {
            if (rc == ND_EIO || rc == ND_ENOMEM)
                snprintf(err, err_len, "%s", why);
            else
                snprintf(err, err_len, "%s: %s", t->streams[k].name, why);
            return rc;
        }
        rc = advance(t, k, err, err_len);
        if (rc != ND_OK && rc != ND_EEOF)
            return rc;
    }
    return ND_OK;
}

static nd_err_t check_strategies(const nd_backtest_config_t *cfg, char *err, size_t err_len)
{
    for (uint32_t s = 0; s < cfg->strategy_count; s++) {
        const nd_strategy_def_t *d = cfg->strategies[s].def;
        if (!d->on_trade && !d->on_quote && !d->on_book) {
            snprintf(err, err_len, "%s trades on bars; an event-level backtest runs an event "
                     "strategy (quote_maker)", d->name);
            return ND_EINVAL;
        }
    }
    if (cfg->ticks.sample_ns <= 0) {
        snprintf(err, err_len, "the equity sampling period must be positive");
        return ND_EINVAL;
    }
    return ND_OK;
}

/* The venues and the engine of an event-level run: one L2 simulated venue per instrument (the
 * config's queue model and latencies, the command line's fees), the engine on run's clock. */
static nd_err_t build_run(nd_event_run_t *run, char *err, size_t err_len)
{
    const nd_backtest_config_t *cfg = run->cfg;
    nd_backtest_result_t *r = run->r;
    nd_l2sim_config_t vc = cfg->ticks.venue;
    vc.maker_fee_bps_e2 = cfg->engine.venue.maker_fee_bps_e2;
    vc.taker_fee_bps_e2 = cfg->engine.venue.taker_fee_bps_e2;
    vc.levels_max = BOOK_LEVELS;
    if (vc.orders_max > cfg->engine.orders_max)
        vc.orders_max = cfg->engine.orders_max;
    nd_engine_config_t ec = cfg->engine;
    ec.venue_count = run->inst_count;
    ec.book_levels_max = BOOK_LEVELS;
    for (uint32_t k = 0; k < run->inst_count; k++) {
        nd_instrument_t *inst = &run->inst[k];
        nd_exec_venue_t *live = cfg->ticks.live_venues[k];
        if (live) {
            snprintf(inst->venue, sizeof inst->venue, "%s", live->facts.name);
            ec.venues[k] = live;
            continue;
        }
        if (k == 0)
            snprintf(inst->venue, sizeof inst->venue, "l2sim");
        else
            snprintf(inst->venue, sizeof inst->venue, "l2sim-%u", k);
        nd_l2sim_exec_t **slot = k == 0 ? &r->l2 : &r->l2_more[k - 1];
        nd_err_t rc = nd_l2sim_exec_create(&vc, inst, inst->venue, slot);
        if (rc != ND_OK) {
            snprintf(err, err_len, "L2 simulated venue: %s", nd_strerror(rc));
            return rc;
        }
        ec.venues[k] = nd_l2sim_exec_venue(*slot);
    }
    nd_clock_sim_init(&run->clock, 0);
    nd_err_t rc = nd__backtest_build_engine(cfg, &ec, run->inst, run->inst_count,
                                            &run->clock.clock, r, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd__backtest_begin(&run->ctx, cfg, r, &run->inst[0], run->inst_count, NULL);
    return ND_OK;
}

static nd_err_t run_create(const nd_backtest_config_t *cfg, const nd_instrument_t *insts,
                           uint32_t count, nd_backtest_result_t *r, nd_event_run_t **out,
                           char *err, size_t err_len)
{
    nd_err_t rc = check_strategies(cfg, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (count > ND_VENUES_MAX) {
        snprintf(err, err_len, "at most %d instruments in an event-level run", ND_VENUES_MAX);
        return ND_EINVAL;
    }
    nd_event_run_t *run = nd_calloc(1, sizeof *run);
    if (!run)
        return ND_ENOMEM;
    run->cfg = cfg;
    run->r = r;
    memcpy(run->inst, insts, count * sizeof *insts);
    run->inst_count = count;
    rc = build_run(run, err, err_len);
    if (rc != ND_OK) {
        nd_free(run);
        return rc;
    }
    *out = run;
    return ND_OK;
}

nd_err_t nd_event_run_open(const nd_backtest_config_t *cfg, nd_backtest_result_t *r,
                           nd_event_run_t **out, char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && r != NULL);
    ND_ASSERT(out != NULL);
    *out = NULL;
    nd_instrument_t insts[ND_BACKTEST_ASSETS_MAX];
    uint32_t count = 0;
    nd_err_t rc = nd__backtest_prepare(cfg, r, insts, &count, err, err_len);
    return rc == ND_OK ? run_create(cfg, insts, count, r, out, err, err_len) : rc;
}

nd_err_t nd_event_run_poll(nd_event_run_t *run, int64_t now_ns)
{
    ND_ASSERT(run != NULL);
    if (now_ns > nd_clock_now_ns(&run->clock.clock))
        nd_clock_sim_set(&run->clock, now_ns);
    /* Time passes at the simulated venues too: a cancel or an order that arrives while the
     * market is quiet is processed now, not at the next market event (a paused strategy's
     * orders leave the book while the feed is stale). */
    int64_t at = nd_clock_now_ns(&run->clock.clock);
    for (uint32_t k = 0; k < run->inst_count; k++) {
        nd_l2sim_exec_t *l2 = k == 0 ? run->r->l2 : run->r->l2_more[k - 1];
        if (run->cfg->ticks.live_venues[k] || !l2)
            continue;
        nd_err_t rc = nd_l2sim_advance(nd_l2sim_exec_sim(l2), at);
        if (rc != ND_OK && rc != ND_EINVAL) /* EINVAL: the venue is already past `at` */
            return rc;
    }
    return nd_engine_poll(run->r->engine);
}

nd_engine_t *nd_event_run_engine(const nd_event_run_t *run)
{
    return run->r->engine;
}

const nd_instrument_t *nd_event_run_instrument(const nd_event_run_t *run, uint32_t id)
{
    ND_ASSERT(id < run->inst_count);
    return &run->inst[id];
}

uint32_t nd_event_run_instrument_count(const nd_event_run_t *run)
{
    return run->inst_count;
}

nd_err_t nd_event_run_close(nd_event_run_t *run, char *err, size_t err_len)
{
    if (!run)
        return ND_OK;
    nd_err_t rc = nd__backtest_finish_metrics(run->cfg, run->r, err, err_len);
    nd_free(run);
    return rc;
}

nd_err_t nd__backtest_run_ticks(const nd_backtest_config_t *cfg, const nd_instrument_t *inst,
                                nd_backtest_result_t *r, char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && inst != NULL);
    ND_ASSERT(r != NULL);
    nd_event_run_t *run = NULL;
    nd_err_t rc = run_create(cfg, inst, 1, r, &run, err, err_len);
    if (rc != ND_OK)
        return rc;
    tick_run_t *t = nd_calloc(1, sizeof *t);
    if (!t) {
        nd_free(run);
        return ND_ENOMEM;
    }
    rc = open_streams(cfg, &run->inst[0], t, r, err, err_len);
    if (rc == ND_OK) {
        nd_log_set_output(NULL, &run->clock.clock);
        ND_LOG(ND_LOG_INFO, "event=tick_backtest_start trades=%s quotes=%s depth=%s synthetic=%d",
               cfg->ticks.trades_path ? cfg->ticks.trades_path : "-",
               cfg->ticks.quotes_path ? cfg->ticks.quotes_path : "-",
               cfg->ticks.depth_dir ? cfg->ticks.depth_dir : "-", (int)cfg->ticks.synthetic);
        rc = run_events(t, run, err, err_len);
        ND_LOG(ND_LOG_INFO, "event=tick_backtest_end events=%lld rc=%s",
               (long long)nd_engine_stats(r->engine)->events, nd_err_name(rc));
        nd_log_set_output(NULL, NULL);
    }
    close_streams(t);
    nd_free(t);
    nd_free(run); /* the caller computes the metrics */
    return rc;
}
