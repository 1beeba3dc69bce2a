/* validate_run.c: the validation suite: every scenario through the backtest driver, breaker
 * validation, criteria, walk-forward segments, CSVs, and the JSON document.
 *
 * Invariants: a scenario is "pass" only when it ran and every criterion held, "fail" when it
 * ran and one did not, "skipped" only when its history data is missing (never passed); each
 * history file is parsed once per suite (the scenario cache); numbers go into JSON as numbers,
 * undefined statistics as null, in a fixed key order, so equal inputs give equal bytes. */
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/scenario.h"
#include "noderr/clock.h"
#include "noderr/file.h"
#include "noderr/fixed.h"
#include "noderr/validate.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Walk-forward segments per scenario: 10 years of daily steps is far beyond any window here. */
#define WF_SEGMENTS_MAX 4096

void nd_validate_config_default(nd_validate_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    nd_backtest_config_default(&cfg->backtest);
}

typedef struct suite {
    const nd_validate_config_t *cfg;
    json_t *config;                 /* the parsed config file, or NULL */
    nd_scenario_cache_t *cache;
    char *err;
    size_t err_len;
} suite_t;

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static double cash(int64_t v)
{
    return nd_fixed_to_double(v, ND_CASH_DECIMALS);
}

/* ---- one run ------------------------------------------------------------------------------ */

typedef struct run {
    nd_backtest_config_t bt;
    nd_instrument_t inst;
    nd_backtest_result_t result;
    nd_run_trace_t trace;
    bool ran;
} run_t;

static void run_prepare(const suite_t *s, const nd_scenario_t *sc, run_t *r)
{
    memset(r, 0, sizeof *r);
    r->bt = s->cfg->backtest;
    nd_instrument_t probe;
    if (nd_instrument_init(&probe, sc->symbol, "sim") == ND_OK)
        snprintf(r->bt.symbol, sizeof r->bt.symbol, "%s", probe.symbol);
    nd_err_t rc = nd_instrument_init(&r->inst, r->bt.symbol, "sim");
    ND_ASSERT(rc == ND_OK);
    if (sc->venue.set) {
        r->bt.engine.venue.slippage_bps_e2 = sc->venue.slippage_bps_e2;
        r->bt.engine.venue.impact_bps_e2 = sc->venue.impact_bps_e2;
        r->bt.engine.venue.max_volume_share_e4 = sc->venue.max_volume_share_e4;
    }
    r->bt.trades_out = NULL;
    r->bt.equity_out = NULL;
    nd_run_trace_init(&r->trace, r->inst.px_decimals + r->inst.qty_decimals);
    r->trace.risk = r->bt.engine.risk;
}

static nd_err_t run_bars(run_t *r, nd_bar_t *bars, size_t count, bool traced, char *err,
                         size_t err_len)
{
    nd_bar_source_t *src = NULL;
    nd_err_t rc = nd_bars_memory_open(bars, count, false, &src);
    if (rc != ND_OK)
        return rc;
    r->bt.source = src;
    if (traced)
        r->bt.tap = nd_run_trace_listener(&r->trace);
    rc = nd_backtest_run(&r->bt, &r->result, err, err_len);
    r->ran = true;
    src->close(src);
    r->bt.source = NULL;
    if (rc == ND_OK && r->trace.failure != ND_OK) {
        nd_err_put(err, err_len, "out of memory while tracing the run");
        rc = r->trace.failure;
    }
    return rc;
}

static void run_free(run_t *r)
{
    if (r->ran)
        nd_backtest_result_free(&r->result);
    nd_run_trace_deinit(&r->trace);
}

static FILE *open_csv(const suite_t *s, const char *name, const char *what)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-%s.csv", s->cfg->csv_dir, name, what);
    FILE *f = fopen(path, "w");
    if (!f)
        nd_err_put(s->err, s->err_len, "--csv %s: cannot write %s: %s", s->cfg->csv_dir, path,
                strerror(errno));
    return f;
}

/* The scenario's full run, with its CSVs when asked. */
static nd_err_t run_full(const suite_t *s, const nd_scenario_t *sc, nd_bar_t *bars, size_t n,
                         run_t *r)
{
    run_prepare(s, sc, r);
    if (s->cfg->csv_dir) {
        r->bt.equity_out = open_csv(s, sc->name, "equity");
        r->bt.trades_out = r->bt.equity_out ? open_csv(s, sc->name, "trades") : NULL;
        if (!r->bt.trades_out) {
            if (r->bt.equity_out)
                fclose(r->bt.equity_out);
            return ND_EIO;
        }
    }
    char err[512] = "";
    nd_err_t rc = run_bars(r, bars, n, true, err, sizeof err);
    if (rc != ND_OK)
        nd_err_put(s->err, s->err_len, "scenario %s: %s", sc->name, err);
    /* Both files are closed whatever happened; the first failure (a write lost in the buffer
     * shows in the error flag or at the flush, not only at fclose) is the one reported. */
    FILE *files[2] = {r->bt.equity_out, r->bt.trades_out};
    const char *whats[2] = {"equity", "trades"};
    for (size_t i = 0; i < 2; i++) {
        int e = files[i] ? nd_file_finish(files[i], true) : 0;
        if (e != 0 && rc == ND_OK) {
            nd_err_put(s->err, s->err_len, "--csv %s: writing %s-%s.csv: %s", s->cfg->csv_dir,
                       sc->name, whats[i], strerror(e));
            rc = ND_EIO;
        }
    }
    r->bt.equity_out = r->bt.trades_out = NULL;
    return rc;
}

/* ---- JSON pieces -------------------------------------------------------------------------- */

static json_t *metrics_json(const nd_backtest_result_t *r)
{
    const nd_metrics_t *m = &r->metrics;
    const nd_engine_stats_t *es = nd_engine_stats(r->engine);
    nd_portfolio_t *p = nd_engine_portfolio(r->engine);
    json_t *o = json_object();
    json_object_set_new(o, "bars", json_integer(es->bars));
    json_object_set_new(o, "first", es->bars ? nd_json_time(es->first_ts_ns) : json_null());
    json_object_set_new(o, "last", es->bars ? nd_json_time(es->last_ts_ns) : json_null());
    json_object_set_new(o, "initial_cash", json_real(cash(nd_portfolio_initial_cash(p))));
    json_object_set_new(o, "final_equity", json_real(cash(r->final_equity)));
    json_object_set_new(o, "total_return", jnum(m->total_return));
    json_object_set_new(o, "annual_return", jnum(m->annual_return));
    json_object_set_new(o, "annual_volatility", jnum(m->annual_volatility));
    json_object_set_new(o, "sharpe", jnum(m->sharpe));
    json_object_set_new(o, "sortino", jnum(m->sortino));
    json_object_set_new(o, "max_drawdown", jnum(m->max_drawdown));
    json_object_set_new(o, "calmar", jnum(m->calmar));
    json_object_set_new(o, "var", jnum(m->var));
    json_object_set_new(o, "cvar", jnum(m->cvar));
    json_object_set_new(o, "trades", json_integer(r->trade_stats.trades));
    json_object_set_new(o, "win_rate", jnum(r->trade_stats.win_rate));
    json_object_set_new(o, "profit_factor", jnum(r->trade_stats.profit_factor));
    json_object_set_new(o, "exposure", jnum(r->trade_stats.exposure));
    json_object_set_new(o, "fees", json_real(cash(nd_portfolio_fees(p))));
    json_object_set_new(o, "fills", json_integer(es->fills));
    json_object_set_new(o, "orders_accepted", json_integer(es->orders_accepted));
    json_object_set_new(o, "orders_rejected", json_integer(es->orders_rejected));
    json_object_set_new(o, "orders_rejected_halted",
                        json_integer(nd_engine_rejects(r->engine, ND_REJECT_HALTED)));
    /* A run cut short by a halt says so: its metrics describe an idle tail. */
    nd_halt_summary_t h;
    char line[256];
    nd_backtest_halt_summary(r, &h);
    nd_halt_summary_format(&h, line, sizeof line);
    json_object_set_new(o, "halted", json_boolean(h.halted_at_end));
    json_object_set_new(o, "halted_at", h.halted_at_end ? nd_json_time(h.trip.ts_ns) : json_null());
    json_object_set_new(o, "halted_bars", json_integer(h.halted_bars));
    json_object_set_new(o, "halt_summary", line[0] ? json_string(line) : json_null());
    return o;
}

static json_t *breaker_event_json(const nd_breaker_event_t *b)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(nd_breaker_kind_name(b->kind)));
    json_object_set_new(o, "time", nd_json_time(b->ts_ns));
    json_object_set_new(o, "ts", json_integer(b->ts_ns / ND_NS_PER_MS));
    json_object_set_new(o, "equity", json_real(cash(b->equity)));
    json_object_set_new(o, "reference", json_real(cash(b->reference)));
    json_object_set_new(o, "measured_pct", json_real((double)b->measured_e6 / 1e4));
    json_object_set_new(o, "threshold_pct", json_real((double)b->threshold_pct_e2 / 100.0));
    return o;
}

static json_t *trip_json(const nd_trip_check_t *tc, const nd_breaker_validation_t *v)
{
    json_t *o = breaker_event_json(&tc->trip.event);
    json_object_set_new(o, "bar", json_integer(tc->bar_index));
    json_object_set_new(o, "crossing_bar",
                        tc->crossing_index >= 0
                            ? json_integer(v->crossings[tc->crossing_index].bar_index)
                            : json_null());
    json_object_set_new(o, "lag_bars", tc->lag_bars >= 0 ? json_integer(tc->lag_bars)
                                                         : json_null());
    json_object_set_new(o, "halted_until", tc->trip.halt_end_ns == INT64_MAX
                                               ? json_string("end of run")
                                               : nd_json_time(tc->trip.halt_end_ns));
    json_object_set_new(o, "stayed_halted", json_boolean(tc->stayed_halted));
    json_object_set_new(o, "orders_accepted_while_halted",
                        json_integer(tc->trip.accepted_while_halted));
    json_object_set_new(o, "flatten_orders", json_integer(tc->trip.flatten_orders));
    json_object_set_new(o, "flat_after", json_boolean(tc->flat_after));
    json_object_set_new(o, "bars_open_after", json_integer(tc->trip.bars_open_after));
    /* How far the drawdown ran past the threshold after the trip (0 when it stayed within). */
    double over = NAN;
    if (!isnan(tc->max_drawdown_after) && tc->trip.event.threshold_pct_e2 > 0) {
        over = -tc->max_drawdown_after * 100.0 - (double)tc->trip.event.threshold_pct_e2 / 100.0;
        over = over > 0 ? over : 0.0;
    }
    json_object_set_new(o, "drawdown_beyond_threshold_pct", jnum(over));
    json_object_set_new(o, "further_loss", jnum(tc->further_loss));
    json_object_set_new(o, "max_drawdown_after", jnum(tc->max_drawdown_after));
    return o;
}

static json_t *breaker_validation_json(const nd_breaker_validation_t *v)
{
    json_t *o = json_object(), *crossings = json_array(), *trips = json_array();
    for (size_t k = 0; k < v->crossing_count; k++) {
        const nd_crossing_t *x = &v->crossings[k];
        json_t *c = json_object();
        json_object_set_new(c, "type", json_string(nd_breaker_kind_name(x->kind)));
        json_object_set_new(c, "bar", json_integer(x->bar_index));
        json_object_set_new(c, "time", nd_json_time(x->ts_ns));
        json_object_set_new(c, "measured_pct", json_real((double)x->measured_e6 / 1e4));
        json_object_set_new(c, "tripped", json_boolean(x->trip_index >= 0));
        json_object_set_new(c, "lag_bars", x->lag_bars >= 0 ? json_integer(x->lag_bars)
                                                            : json_null());
        json_array_append_new(crossings, c);
    }
    for (size_t k = 0; k < v->trip_count; k++)
        json_array_append_new(trips, trip_json(&v->trips[k], v));
    json_object_set_new(o, "max_lag_bars", v->max_lag_bars >= 0 ? json_integer(v->max_lag_bars)
                                                                : json_null());
    json_object_set_new(o, "worst_lag_bars", v->worst_lag_bars >= 0
                                                 ? json_integer(v->worst_lag_bars)
                                                 : json_null());
    json_object_set_new(o, "missed", json_integer(v->missed));
    json_object_set_new(o, "late", json_integer(v->late));
    json_object_set_new(o, "unexpected", json_integer(v->unexpected));
    json_object_set_new(o, "orders_accepted_while_halted", json_integer(v->accepted_while_halted));
    json_object_set_new(o, "stayed_halted", json_boolean(v->halt_pass));
    json_object_set_new(o, "halts_left_open", json_integer(v->left_open));
    json_object_set_new(o, "flat_after_halts", json_boolean(v->flat_pass));
    json_object_set_new(o, "crossings", crossings);
    json_object_set_new(o, "trips", trips);
    return o;
}

static json_t *criteria_json(const nd_criterion_result_t *res, size_t n, json_t **failed)
{
    json_t *arr = json_array();
    *failed = json_array();
    for (size_t k = 0; k < n; k++) {
        json_t *c = json_object();
        json_object_set_new(c, "name", json_string(res[k].name));
        json_object_set_new(c, "value", jnum(res[k].value));
        json_object_set_new(c, "limit", jnum(res[k].limit));
        json_object_set_new(c, "pass", json_boolean(res[k].pass));
        json_object_set_new(c, "detail", json_string(res[k].detail));
        json_array_append_new(arr, c);
        if (!res[k].pass)
            json_array_append_new(*failed, json_string(res[k].name));
    }
    return arr;
}

/* The scenario, its status and, for a window of history, the data it needs. */
static json_t *scenario_head_json(const suite_t *s, const nd_scenario_t *sc, const char *status)
{
    json_t *o = nd_scenario_json(sc);
    json_object_set_new(o, "status", json_string(status));
    if (sc->kind == ND_SCENARIO_HISTORY) {
        char path[512], from[40], to[40];
        nd_scenario_data_path(sc, s->cfg->data_dir, path, sizeof path);
        nd_time_format_iso(sc->from_ns, from, sizeof from);
        nd_time_format_iso(sc->to_ns - 1, to, sizeof to);
        from[10] = '\0';
        to[10] = '\0';
        json_object_set_new(o, "requires", json_pack("{s:s, s:s, s:s}", "file", path, "from", from,
                                                     "to_inclusive", to));
    }
    return o;
}

/* ---- series for reports ------------------------------------------------------------------- */

static void add_series(json_t *o, const run_t *r)
{
    json_t *equity = json_array(), *drawdown = json_array(), *trades = json_array();
    const nd_run_trace_t *t = &r->trace;
    int64_t peak = t->count ? t->equity[0] : 0;
    for (size_t k = 0; k < t->count; k++) {
        json_int_t ms = t->ts_ns[k] / ND_NS_PER_MS;
        peak = t->equity[k] > peak ? t->equity[k] : peak;
        json_array_append_new(equity, json_pack("[I,f]", ms, cash(t->equity[k])));
        double dd = peak > 0 ? (double)t->equity[k] / (double)peak - 1.0 : 0.0;
        json_array_append_new(drawdown, json_pack("[I,f]", ms, dd));
    }
    for (size_t k = 0; k < r->result.trade_count; k++) {
        const nd_trade_t *tr = &r->result.trades[k];
        json_t *j = json_object();
        json_object_set_new(j, "entry_ts", json_integer(tr->entry_ns / ND_NS_PER_MS));
        json_object_set_new(j, "exit_ts", json_integer(tr->exit_ns / ND_NS_PER_MS));
        json_object_set_new(j, "direction", json_string(tr->direction > 0 ? "long" : "short"));
        json_object_set_new(j, "entry_px",
                            json_real(nd_fixed_to_double(tr->entry_px, r->inst.px_decimals)));
        json_object_set_new(j, "exit_px",
                            json_real(nd_fixed_to_double(tr->exit_px, r->inst.px_decimals)));
        json_object_set_new(j, "pnl", json_real(cash(tr->pnl)));
        json_array_append_new(trades, j);
    }
    json_object_set_new(o, "equity", equity);
    json_object_set_new(o, "drawdown", drawdown);
    json_object_set_new(o, "trades", trades);
}

/* ---- walk-forward ------------------------------------------------------------------------- */


typedef struct wf_sums {
    double ret[2], sharpe[2];
    int64_t sharpe_n[2], n, oos_positive;
} wf_sums_t;

/* One segment half: its own run on the bars in [from, to) (the strategy warms up inside it). */
static nd_err_t segment_json(const suite_t *s, const nd_scenario_t *sc, nd_bar_t *bars,
                             size_t n, int64_t from, int64_t to, int half, wf_sums_t *sums,
                             json_t **out)
{
    size_t lo = nd_bars_lower_bound(bars, n, from), hi = nd_bars_lower_bound(bars, n, to);
    json_t *o = json_object();
    json_object_set_new(o, "from", nd_json_time(from));
    json_object_set_new(o, "to", nd_json_time(to));
    json_object_set_new(o, "bars", json_integer((json_int_t)(hi - lo)));
    *out = o;
    if (hi == lo)
        return ND_OK;
    run_t r;
    run_prepare(s, sc, &r);
    char err[512] = "";
    nd_err_t rc = run_bars(&r, bars + lo, hi - lo, false, err, sizeof err);
    if (rc != ND_OK) {
        nd_err_put(s->err, s->err_len, "scenario %s walk-forward: %s", sc->name, err);
        run_free(&r);
        return rc;
    }
    const nd_metrics_t *m = &r.result.metrics;
    json_object_set_new(o, "total_return", jnum(m->total_return));
    json_object_set_new(o, "sharpe", jnum(m->sharpe));
    json_object_set_new(o, "max_drawdown", jnum(m->max_drawdown));
    json_object_set_new(o, "trades", json_integer(r.result.trade_stats.trades));
    sums->ret[half] += isfinite(m->total_return) ? m->total_return : 0.0;
    if (isfinite(m->sharpe)) {
        sums->sharpe[half] += m->sharpe;
        sums->sharpe_n[half]++;
    }
    if (half == 1 && m->total_return > 0)
        sums->oos_positive++;
    run_free(&r);
    return ND_OK;
}

static json_t *wf_summary(const wf_sums_t *w)
{
    json_t *o = json_object();
    json_object_set_new(o, "segments", json_integer(w->n));
    json_object_set_new(o, "in_sample_mean_return", w->n ? json_real(w->ret[0] / (double)w->n)
                                                         : json_null());
    json_object_set_new(o, "out_of_sample_mean_return",
                        w->n ? json_real(w->ret[1] / (double)w->n) : json_null());
    json_object_set_new(o, "in_sample_mean_sharpe",
                        w->sharpe_n[0] ? json_real(w->sharpe[0] / (double)w->sharpe_n[0])
                                       : json_null());
    json_object_set_new(o, "out_of_sample_mean_sharpe",
                        w->sharpe_n[1] ? json_real(w->sharpe[1] / (double)w->sharpe_n[1])
                                       : json_null());
    json_object_set_new(o, "out_of_sample_positive", json_integer(w->oos_positive));
    return o;
}

static nd_err_t walk_forward_json(const suite_t *s, const nd_scenario_t *sc, nd_bar_t *bars,
                                  size_t n, json_t **out)
{
    int64_t interval_ns = 0, from = sc->from_ns, to = sc->to_ns;
    nd_err_t rc = nd_scenario_interval_ns(sc->interval, &interval_ns);
    ND_ASSERT(rc == ND_OK && n > 0);
    if (sc->kind == ND_SCENARIO_SYNTHETIC && strcmp(sc->synth.base, "synthetic") == 0) {
        from = bars[0].ts_ns;
        to = bars[n - 1].ts_ns + interval_ns;
    }
    nd_wf_segment_t *segs = nd_alloc(WF_SEGMENTS_MAX * sizeof *segs);
    if (!segs)
        return ND_ENOMEM;
    size_t count = nd_walk_forward_split(from, to, s->cfg->wf_train_ns, s->cfg->wf_test_ns, segs,
                                         WF_SEGMENTS_MAX);
    count = count < WF_SEGMENTS_MAX ? count : WF_SEGMENTS_MAX;
    wf_sums_t sums = {{0, 0}, {0, 0}, {0, 0}, (int64_t)count, 0};
    json_t *o = json_object(), *arr = json_array();
    json_object_set_new(o, "train_hours", json_integer(s->cfg->wf_train_ns / ND_NS_PER_HOUR));
    json_object_set_new(o, "test_hours", json_integer(s->cfg->wf_test_ns / ND_NS_PER_HOUR));
    for (size_t k = 0; rc == ND_OK && k < count; k++) {
        json_t *is = NULL, *oos = NULL, *seg = json_object();
        rc = segment_json(s, sc, bars, n, segs[k].train_from_ns, segs[k].train_to_ns, 0, &sums,
                          &is);
        if (rc == ND_OK)
            rc = segment_json(s, sc, bars, n, segs[k].test_from_ns, segs[k].test_to_ns, 1,
                              &sums, &oos);
        json_object_set_new(seg, "in_sample", is ? is : json_null());
        json_object_set_new(seg, "out_of_sample", oos ? oos : json_null());
        json_array_append_new(arr, seg);
    }
    nd_free(segs);
    json_object_set_new(o, "segments", arr);
    json_object_set_new(o, "summary", wf_summary(&sums));
    *out = o;
    return rc;
}

/* ---- one scenario ------------------------------------------------------------------------- */

static json_t *skipped_json(const suite_t *s, const nd_scenario_t *sc, const char *why)
{
    json_t *o = scenario_head_json(s, sc, "skipped");
    char reason[700], cmd[400], needs[128];
    nd_scenario_needs(sc, needs, sizeof needs);
    snprintf(reason, sizeof reason, "needs %s: %s", needs, why);
    char *cut = strstr(reason, "; get it with:");
    if (cut)
        *cut = '\0';
    nd_scenario_fetch_command(sc, s->cfg->data_dir, cmd, sizeof cmd);
    json_object_set_new(o, "metrics", json_null());
    json_object_set_new(o, "breaker_events", json_array());
    json_object_set_new(o, "breaker_validation", json_null());
    json_object_set_new(o, "failed_criteria", json_array());
    json_object_set_new(o, "criteria", json_array());
    json_object_set_new(o, "skip_reason", json_string(reason));
    json_object_set_new(o, "fetch_command", json_string(cmd));
    return o;
}

static nd_err_t judged_json(const suite_t *s, const nd_scenario_t *sc, const nd_criteria_t *crit,
                            run_t *r, json_t **out)
{
    nd_breaker_validation_t bv;
    nd_err_t rc = nd_validate_breakers(&r->trace, &r->bt.engine.risk, crit->breaker_max_lag_bars,
                                       &bv);
    if (rc != ND_OK) {
        nd_breaker_validation_free(&bv);
        nd_err_put(s->err, s->err_len, "scenario %s: out of memory", sc->name);
        return rc;
    }
    nd_criterion_result_t res[ND_CRITERIA_MAX];
    const nd_metrics_t *m = &r->result.metrics;
    size_t n = nd_criteria_check(crit, m->max_drawdown, m->sharpe, m->total_return, &bv, res);
    bool pass = true;
    for (size_t k = 0; k < n; k++)
        pass = pass && res[k].pass;
    json_t *o = scenario_head_json(s, sc, pass ? "pass" : "fail");
    json_object_set_new(o, "metrics", metrics_json(&r->result));
    json_t *events = json_array();
    for (size_t k = 0; k < r->trace.trip_count; k++)
        json_array_append_new(events, breaker_event_json(&r->trace.trips[k].event));
    json_object_set_new(o, "breaker_events", events);
    json_object_set_new(o, "breaker_validation", breaker_validation_json(&bv));
    json_t *failed = NULL, *criteria = criteria_json(res, n, &failed);
    json_object_set_new(o, "failed_criteria", failed);
    json_object_set_new(o, "criteria", criteria);
    nd_breaker_validation_free(&bv);
    *out = o;
    return ND_OK;
}

static nd_err_t run_scenario(const suite_t *s, const nd_scenario_t *sc, json_t **out)
{
    nd_criteria_t crit;
    nd_err_t rc = nd_criteria_resolve(s->cfg->config_path, s->config, sc, &crit, s->err,
                                      s->err_len);
    if (rc != ND_OK)
        return rc;
    run_t probe;
    run_prepare(s, sc, &probe);
    nd_run_trace_deinit(&probe.trace);
    nd_bar_t *bars = NULL;
    size_t n = 0;
    char why[1024] = "";
    rc = nd_scenario_load(sc, s->cfg->data_dir, &probe.inst, s->cache, &bars, &n, why,
                          sizeof why);
    if (rc == ND_ENOTFOUND) {
        *out = skipped_json(s, sc, why);
        return ND_OK;
    }
    if (rc != ND_OK) {
        nd_err_put(s->err, s->err_len, "scenario %s: %s", sc->name, why[0] ? why : nd_strerror(rc));
        return rc;
    }
    run_t r;
    rc = run_full(s, sc, bars, n, &r);
    if (rc == ND_OK)
        rc = judged_json(s, sc, &crit, &r, out);
    if (rc == ND_OK && s->cfg->with_series)
        add_series(*out, &r);
    json_t *wf = NULL;
    if (rc == ND_OK && s->cfg->wf_train_ns > 0 && s->cfg->wf_test_ns > 0) {
        rc = walk_forward_json(s, sc, bars, n, &wf);
        json_object_set_new(*out, "walk_forward", wf ? wf : json_null());
    }
    if (rc != ND_OK && *out) {
        json_decref(*out);
        *out = NULL;
    }
    run_free(&r);
    nd_free(bars);
    return rc;
}

/* ---- the suite ---------------------------------------------------------------------------- */

static json_t *params_json(const nd_strategy_spec_t *spec)
{
    json_t *o = json_object();
    for (int k = 0; k < spec->def->param_count; k++) {
        const nd_param_def_t *p = &spec->def->params[k];
        double v = spec->params[k];
        json_object_set_new(o, p->name, p->type == ND_PARAM_REAL ? json_real(v)
                                                                 : json_integer((json_int_t)v));
    }
    return o;
}

static bool selected(const nd_validate_config_t *cfg, const char *name)
{
    if (!cfg->only)
        return true;
    for (size_t k = 0; k < cfg->only_count; k++)
        if (strcmp(cfg->only[k], name) == 0)
            return true;
    return false;
}

static nd_err_t check_only(const nd_validate_config_t *cfg, const nd_scenario_t *list, size_t n,
                           char *err, size_t err_len)
{
    for (size_t k = 0; cfg->only && k < cfg->only_count; k++) {
        size_t j = 0;
        while (j < n && strcmp(list[j].name, cfg->only[k]) != 0)
            j++;
        if (j == n) {
            nd_err_put(err, err_len, "--scenario: unknown scenario '%s' (see 'noderr scenarios')",
                    cfg->only[k]);
            return ND_EINVAL;
        }
    }
    return ND_OK;
}

static nd_err_t run_all(const suite_t *s, const nd_scenario_t *list, size_t n, json_t *doc)
{
    json_t *arr = json_array();
    json_int_t counts[3] = {0, 0, 0};
    nd_err_t rc = ND_OK;
    for (size_t k = 0; rc == ND_OK && k < n; k++) {
        if (!selected(s->cfg, list[k].name))
            continue;
        json_t *one = NULL;
        rc = run_scenario(s, &list[k], &one);
        if (rc != ND_OK)
            break;
        const char *status = json_string_value(json_object_get(one, "status"));
        counts[strcmp(status, "pass") == 0 ? 0 : strcmp(status, "fail") == 0 ? 1 : 2]++;
        json_array_append_new(arr, one);
    }
    json_object_set_new(doc, "scenarios", arr);
    json_object_set_new(doc, "passed", json_integer(counts[0]));
    json_object_set_new(doc, "failed", json_integer(counts[1]));
    json_object_set_new(doc, "skipped", json_integer(counts[2]));
    /* A suite in which nothing ran proves nothing: it must not read as a pass. The reason goes
     * into the document so that every front end (table, JSON, report) can say why. */
    if (rc == ND_OK && counts[0] + counts[1] == 0)
        json_object_set_new(doc, "no_scenario_ran",
                            json_string(counts[2] > 0 ? "every selected scenario was skipped "
                                                        "for missing data"
                                                      : "the catalogue holds no scenario (a "
                                                        "config without scenarios and without "
                                                        "the built-ins?)"));
    return rc;
}

static nd_err_t load_config(const nd_validate_config_t *cfg, json_t **config, char *err,
                            size_t err_len)
{
    *config = NULL;
    if (!cfg->config_path)
        return ND_OK;
    nd_err_t rc = nd_json_file_load(cfg->config_path, ND_JSON_FILE_BYTES_MAX,
                                    JSON_REJECT_DUPLICATES, config, err, err_len);
    if (rc != ND_OK)
        return rc;
    return nd_criteria_check_config(cfg->config_path, *config, err, err_len);
}

nd_err_t nd_validate_run(const nd_validate_config_t *cfg, json_t **doc_out, char *err,
                         size_t err_len)
{
    ND_ASSERT(cfg != NULL && doc_out != NULL);
    ND_ASSERT(cfg->backtest.strategy_count >= 1);
    nd_scenario_t *list = NULL;
    size_t n = 0;
    suite_t s = {cfg, NULL, NULL, err, err_len};
    nd_err_t rc = nd_scenario_catalogue(cfg->config_path, &list, &n, err, err_len);
    for (size_t k = 0; rc == ND_OK && cfg->symbol && k < n; k++) /* --symbol: every window */
        snprintf(list[k].symbol, sizeof list[k].symbol, "%s", cfg->symbol);
    if (rc == ND_OK)
        rc = load_config(cfg, &s.config, err, err_len);
    if (rc == ND_OK)
        rc = check_only(cfg, list, n, err, err_len);
    if (rc == ND_OK && cfg->csv_dir && mkdir(cfg->csv_dir, 0777) != 0 && errno != EEXIST) {
        nd_err_put(err, err_len, "--csv %s: %s", cfg->csv_dir, strerror(errno));
        rc = ND_EIO;
    }
    if (rc == ND_OK)
        rc = nd_scenario_cache_create(&s.cache);
    json_t *doc = json_object();
    if (cfg->title)
        json_object_set_new(doc, "title", json_string(cfg->title));
    const nd_strategy_spec_t *spec = &cfg->backtest.strategies[0];
    json_object_set_new(doc, "strategy", json_string(spec->def->name));
    json_object_set_new(doc, "params", params_json(spec));
    json_object_set_new(doc, "data_dir", json_string(cfg->data_dir ? cfg->data_dir : "data"));
    if (cfg->symbol)
        json_object_set_new(doc, "symbol", json_string(cfg->symbol));
    json_object_set_new(doc, "config", cfg->config_path ? json_string(cfg->config_path)
                                                        : json_null());
    if (rc == ND_OK)
        rc = run_all(&s, list, n, doc);
    nd_scenario_cache_destroy(s.cache);
    json_decref(s.config);
    nd_free(list);
    if (rc != ND_OK) {
        json_decref(doc);
        return rc;
    }
    *doc_out = doc;
    return ND_OK;
}
