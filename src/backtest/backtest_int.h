/* backtest_int.h: what the bar driver (backtest.c) shares with the event-level driver
 * (tick_backtest.c): the run context the engine's listener writes into, the round-trip and
 * event relays, and the engine set-up. */
#ifndef NODERR_BACKTEST_INT_H
#define NODERR_BACKTEST_INT_H

#include "noderr/backtest.h"

typedef struct run_ctx {
    const nd_backtest_config_t *cfg;
    nd_backtest_result_t *result;
    const nd_instrument_t *inst;
    double prev_equity;
    double ext_scale;         /* extended units per quote unit */
    int ext_decimals;
    nd_err_t failure;
    uint32_t instrument_count;
    bool pending;               /* an equity not yet recorded: more bars of its time may come */
    int64_t pending_ts_ns;
    __int128 pending_equity_ext;
} run_ctx_t;

/* Listener callbacks (ctx is a run_ctx_t): a closed round trip is kept and written to
 * trades_out; events go to cfg->tap. */
void nd__backtest_on_trade(void *ctx, const nd_trade_t *trade);
nd_err_t nd__backtest_on_event(void *ctx, const nd_event_t *event);
/* Starts a run: fills *rc from the engine's portfolio, hands the engine the backtest's listener
 * (on_bar_done: bar runs; NULL for tick runs) and writes the --equity-out and --trades-out
 * headers. */
void nd__backtest_begin(run_ctx_t *rc, const nd_backtest_config_t *cfg, nd_backtest_result_t *r,
                        const nd_instrument_t *inst, uint32_t inst_count,
                        void (*on_bar_done)(void *, const nd_bar_t *, __int128, bool));
/* Records the equity at the end of one bar time or tick sample: a return, the curve when kept,
 * the --equity-out row. */
/* The engine's answer to a bar or an event, with its message in err when it is not ND_OK (a
 * listener that could not record, or the engine's own stop). */
nd_err_t nd__backtest_engine_rc(nd_err_t rc, char *err, size_t err_len);
void nd__backtest_record_equity(run_ctx_t *rc, int64_t ts_ns, __int128 equity_ext);

/* Creates and starts r->engine from engine_cfg with each of cfg's strategies on each of the
 * inst_count instruments, its weight split equally among them. */
nd_err_t nd__backtest_build_engine(const nd_backtest_config_t *cfg,
                                   const nd_engine_config_t *engine_cfg,
                                   const nd_instrument_t *insts, uint32_t inst_count,
                                   nd_clock_t *clock, nd_backtest_result_t *r, char *err,
                                   size_t err_len);

/* Clears r (empty series) and sets up the run's instruments from cfg (symbols, scales, rules):
 * ND_EINVAL with why in err. */
nd_err_t nd__backtest_prepare(const nd_backtest_config_t *cfg, nd_backtest_result_t *r,
                              nd_instrument_t *insts, uint32_t *count, char *err, size_t err_len);
/* The metrics and trade statistics of a finished run, from r's returns and round trips. */
nd_err_t nd__backtest_finish_metrics(const nd_backtest_config_t *cfg, nd_backtest_result_t *r,
                                     char *err, size_t err_len);
/* The event-level run (tick_backtest.c): engine, L2 venue and merged streams, filling r's
 * engine, l2, returns, equity and round trips; the caller computes the metrics. */
nd_err_t nd__backtest_run_ticks(const nd_backtest_config_t *cfg, const nd_instrument_t *inst,
                                nd_backtest_result_t *r, char *err, size_t err_len);

#endif
