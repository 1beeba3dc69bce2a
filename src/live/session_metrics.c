/* session_metrics.c: a session's Prometheus metrics and its GET /metrics endpoint
 * (docs/monitoring.md lists every metric).
 *
 * Families and series are registered once, when the session opens (strategies, symbols, venues
 * and reject reasons are fixed by then); the feed and order paths then only update cells (the
 * tick-to-order and store-write histograms), and a collect callback copies what the engine,
 * portfolio, risk and feed already count into gauges and counters at each scrape. Everything
 * runs on the session's loop thread, the engine's, so a scrape reads a consistent engine. The
 * HTTP server (httpd.h) shares the loop; a GET changes nothing. */
#include "live_int.h"

#include "noderr/alloc.h"
#include "noderr/anomaly.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/log.h"
#include "noderr/portfolio.h"
#include "noderr/surveillance.h"

#include <stdio.h>
#include <string.h>

#define QTY_DECIMALS 8 /* positions rescaled to this many places (exactly, or left at 0) */

/* Latency buckets in ns: 10 us .. 10 s. */
static const int64_t latency_bounds[] = {
    10000,    25000,    50000,     100000,    250000,    500000,     1000000,    2500000,
    5000000,  10000000, 25000000,  50000000,  100000000, 250000000,  500000000,  1000000000,
    2500000000, 5000000000, 10000000000};
#define LATENCY_BOUNDS (uint32_t)(sizeof latency_bounds / sizeof latency_bounds[0])

enum { PNL_REALIZED, PNL_UNREALIZED, PNL_FEES, PNL_NET, PNL_KINDS };
static const char *const pnl_kinds[PNL_KINDS] = {"realized", "unrealized", "fees", "net"};
enum { ORD_SUBMITTED, ORD_ACCEPTED, ORD_REJECTED, ORD_CANCELLED, ORD_AMENDED, ORD_KINDS };
static const char *const order_kinds[ORD_KINDS] = {"submitted", "accepted", "rejected",
                                                   "cancelled", "amended"};
#define BREAKERS 5 /* nd_breaker_kind_t 1..5 */

/* Each venue's feed counters (noderr_feed_venue_total{venue,counter}), as status.json's
 * venues[].feed. */
#define VENUE_COUNTERS 9
static const char *const venue_counter_names[VENUE_COUNTERS] = {
    "messages", "trades", "quotes", "bad", "late", "repeats", "resyncs", "lost", "connects"};

struct nd__live_metrics {
    nd_live_session_t *s;
    nd_prom_t *prom;
    nd_httpd_t *httpd;
    nd_prom_cell_t *equity, *cash, *pnl, *fees, *initial;
    nd_prom_cell_t *strategy_equity[ND_STRATEGIES_MAX];
    nd_prom_cell_t *pnl_strategy[ND_STRATEGIES_MAX][PNL_KINDS];
    nd_prom_cell_t *pnl_asset[ND_VENUES_MAX][PNL_KINDS];
    nd_prom_cell_t *pnl_venue[ND_VENUES_MAX][PNL_KINDS];
    nd_prom_cell_t *position[ND_STRATEGIES_MAX][ND_VENUES_MAX];
    nd_prom_cell_t *exposure[ND_STRATEGIES_MAX][ND_VENUES_MAX];
    nd_prom_cell_t *last_price[ND_VENUES_MAX];
    nd_prom_cell_t *orders[ORD_KINDS], *fills, *working;
    nd_prom_cell_t *rejects[ND_REJECT_SLOTS];
    nd_prom_cell_t *halted, *kill_switch, *trips, *drawdown, *drawdown_limit, *daily_limit;
    nd_prom_cell_t *breaker[BREAKERS + 1];
    nd_prom_cell_t *anomaly[ND_VENUES_MAX];
    nd_prom_cell_t *feed_age[ND_VENUES_MAX], *feed_gaps[ND_VENUES_MAX];
    nd_prom_cell_t *feed_up, *feed_messages, *feed_bad, *feed_late, *feed_connects;
    nd_prom_cell_t *venue_feed[ND_LIVE_VENUES_MAX][VENUE_COUNTERS];
    /* The reference price (assets with two sources or more), from figures refilled per scrape. */
    nd__live_ref_figures_t *ref;
    nd_prom_cell_t *ref_trips, *ref_px[ND_VENUES_MAX], *ref_dev[ND_VENUES_MAX];
    nd_prom_cell_t *ref_src[ND_VENUES_MAX][ND_REFPRICE_SOURCES_MAX][3]; /* price, age, stale */
    nd_prom_cell_t *events, *recon_diffs, *scrapes, *up;
    nd_prom_cell_t *surveil_alerts[ND_SURV_RULE_COUNT];
    nd_prom_hist_t *tick_to_order, *store_write;
    nd_prom_hist_t *venue_rtt[ND_VENUES_MAX]; /* live mode: one per symbol's order adapter */
    char venue_names[ND_VENUES_MAX][ND_NAME_MAX]; /* the run's venue of each instrument */
    nd_engine_listener_t store_tap;              /* the recorder's tap, timed */
};

typedef struct reg {
    nd_prom_t *prom;
    char *err;
    size_t err_len;
    nd_err_t rc;
} reg_t;

/* Registers a family and returns it (NULL after the first failure; rc keeps it). */
static nd_prom_family_t *family(reg_t *r, nd_prom_type_t type, const char *name,
                                const char *help, int decimals, const char *const *labels)
{
    nd_prom_family_t *f = NULL;
    if (r->rc == ND_OK)
        r->rc = nd_prom_family(r->prom, type, name, help, decimals, labels,
                               type == ND_PROM_HISTOGRAM ? latency_bounds : NULL,
                               type == ND_PROM_HISTOGRAM ? LATENCY_BOUNDS : 0, &f, r->err,
                               r->err_len);
    return f;
}

static nd_prom_cell_t *series(reg_t *r, nd_prom_family_t *f, const char *const *values)
{
    static nd_prom_cell_t dummy; /* after a failure: a cell nobody renders */
    nd_prom_cell_t *c = &dummy;
    if (r->rc == ND_OK && (r->rc = nd_prom_series(f, values, &c)) != ND_OK)
        snprintf(r->err, r->err_len, "metrics: cannot add a series: %s", nd_strerror(r->rc));
    return r->rc == ND_OK ? c : &dummy;
}

static nd_prom_hist_t *hist(reg_t *r, nd_prom_family_t *f, const char *const *values)
{
    nd_prom_hist_t *h = NULL;
    if (r->rc == ND_OK && (r->rc = nd_prom_hist_series(f, values, &h)) != ND_OK)
        snprintf(r->err, r->err_len, "metrics: cannot add a series: %s", nd_strerror(r->rc));
    return h;
}

static const nd_instrument_t *inst_of(const nd__live_metrics_t *m, uint32_t k)
{
    return nd_event_run_instrument(m->s->run, k);
}

static void register_account(reg_t *r, nd__live_metrics_t *m)
{
    const nd_engine_t *e = nd_event_run_engine(m->s->run);
    const char *info_l[] = {"session", "mode", "venue", NULL};
    nd_prom_family_t *f = family(r, ND_PROM_GAUGE, "noderr_session_info",
                                 "Always 1: the session's name, mode and venue.", 0, info_l);
    char venues[32];
    nd__live_venues_label(m->s->cfg, venues, sizeof venues);
    m->up = series(r, f, (const char *[]){m->s->cfg->name, m->s->cfg->live ? "live" : "paper",
                                          venues});
    nd_prom_set(m->up, 1);
    m->equity = series(r, family(r, ND_PROM_GAUGE, "noderr_equity_usd",
                                 "Account equity in the quote currency.", 8, NULL), NULL);
    m->cash = series(r, family(r, ND_PROM_GAUGE, "noderr_cash_usd",
                               "Cash in the quote currency.", 8, NULL), NULL);
    m->initial = series(r, family(r, ND_PROM_GAUGE, "noderr_initial_cash_usd",
                                  "Cash at the session's start in the quote currency.", 8, NULL),
                        NULL);
    m->pnl = series(r, family(r, ND_PROM_GAUGE, "noderr_pnl_usd",
                              "Equity minus initial cash (net of fees).", 8, NULL), NULL);
    m->fees = series(r, family(r, ND_PROM_COUNTER, "noderr_fees_usd_total",
                               "Fees paid in the quote currency.", 8, NULL), NULL);
    const char *sl[] = {"strategy", NULL}, *spl[] = {"strategy", "component", NULL};
    nd_prom_family_t *se = family(r, ND_PROM_GAUGE, "noderr_strategy_equity_usd",
                                  "A strategy sleeve's equity in the quote currency.", 8, sl);
    nd_prom_family_t *sp = family(r, ND_PROM_GAUGE, "noderr_strategy_pnl_usd",
                                  "P&L attributed to a strategy (component realized, unrealized, "
                                  "fees or net).", 8, spl);
    for (uint32_t i = 0; i < nd_engine_strategy_count(e); i++) {
        const char *name = nd_engine_strategy_def(e, i)->name;
        m->strategy_equity[i] = series(r, se, (const char *[]){name});
        for (int k = 0; k < PNL_KINDS; k++)
            m->pnl_strategy[i][k] = series(r, sp, (const char *[]){name, pnl_kinds[k]});
    }
}

/* Each instrument's venue as the run names it (l2sim, l2sim-1, ... in paper; binance-K live). */
static void register_assets(reg_t *r, nd__live_metrics_t *m)
{
    const nd_engine_t *e = nd_event_run_engine(m->s->run);
    uint32_t n = nd_event_run_instrument_count(m->s->run);
    const char *al[] = {"asset", "venue", "component", NULL};
    const char *vl[] = {"venue", "component", NULL};
    const char *pl[] = {"strategy", "asset", "venue", NULL};
    nd_prom_family_t *pa = family(r, ND_PROM_GAUGE, "noderr_asset_pnl_usd",
                                  "P&L attributed to an asset (component realized, unrealized, "
                                  "fees or net).", 8, al);
    nd_prom_family_t *pv = family(r, ND_PROM_GAUGE, "noderr_venue_pnl_usd",
                                  "P&L attributed to a venue (component realized, unrealized, "
                                  "fees or net).", 8, vl);
    nd_prom_family_t *pos = family(r, ND_PROM_GAUGE, "noderr_position",
                                   "A strategy's signed position in the asset's base units.",
                                   QTY_DECIMALS, pl);
    nd_prom_family_t *ex = family(r, ND_PROM_GAUGE, "noderr_exposure_usd",
                                  "A strategy's signed position value at the last price, quote "
                                  "currency.", 8, pl);
    nd_prom_family_t *px = family(r, ND_PROM_GAUGE, "noderr_last_price_usd",
                                  "The asset's last price.", 8, (const char *[]){"asset", "venue",
                                                                                  NULL});
    for (uint32_t k = 0; k < n && r->rc == ND_OK; k++) {
        const nd_instrument_t *inst = inst_of(m, k);
        snprintf(m->venue_names[k], sizeof m->venue_names[k], "%s", inst->venue);
        const char *asset = inst->symbol, *venue = m->venue_names[k];
        for (int c = 0; c < PNL_KINDS; c++) {
            m->pnl_asset[k][c] = series(r, pa, (const char *[]){asset, venue, pnl_kinds[c]});
            bool first = true; /* one venue series per distinct venue name */
            for (uint32_t j = 0; j < k; j++)
                first &= strcmp(m->venue_names[j], venue) != 0;
            m->pnl_venue[k][c] = first ? series(r, pv, (const char *[]){venue, pnl_kinds[c]})
                                       : NULL;
        }
        m->last_price[k] = series(r, px, (const char *[]){asset, venue});
        for (uint32_t i = 0; i < nd_engine_strategy_count(e); i++) {
            const char *name = nd_engine_strategy_def(e, i)->name;
            m->position[i][k] = series(r, pos, (const char *[]){name, asset, venue});
            m->exposure[i][k] = series(r, ex, (const char *[]){name, asset, venue});
        }
    }
}

static void register_orders(reg_t *r, nd__live_metrics_t *m)
{
    nd_prom_family_t *o = family(r, ND_PROM_COUNTER, "noderr_orders_total",
                                 "Orders by event: submitted (asked for by strategies), "
                                 "accepted, rejected, cancelled, amended.", 0,
                                 (const char *[]){"event", NULL});
    for (int k = 0; k < ORD_KINDS; k++)
        m->orders[k] = series(r, o, (const char *[]){order_kinds[k]});
    m->fills = series(r, family(r, ND_PROM_COUNTER, "noderr_fills_total", "Fills booked.", 0,
                                NULL), NULL);
    m->working = series(r, family(r, ND_PROM_GAUGE, "noderr_open_orders",
                                  "Working orders (submitted and not done).", 0, NULL), NULL);
    nd_prom_family_t *rj = family(r, ND_PROM_COUNTER, "noderr_order_rejects_total",
                                  "Orders rejected, by reason (risk, account, instrument, venue).",
                                  0, (const char *[]){"reason", NULL});
    for (int k = 1; k < ND_REJECT_SLOTS; k++) {
        const char *name = nd_reject_name((nd_reject_t)k);
        if (name && strcmp(name, "unknown") != 0 && name[0])
            m->rejects[k] = series(r, rj, (const char *[]){name});
    }
    m->tick_to_order = hist(r, family(r, ND_PROM_HISTOGRAM, "noderr_tick_to_order_seconds",
                                      "From a market event's receipt to the orders it caused "
                                      "being handed to the venue.", 9, NULL), NULL);
    m->store_write = hist(r, family(r, ND_PROM_HISTOGRAM, "noderr_store_write_seconds",
                                    "Time to hand one order event, fill or trip to the "
                                    "compliance store's recorder.", 9, NULL), NULL);
}

static void register_risk(reg_t *r, nd__live_metrics_t *m)
{
    m->halted = series(r, family(r, ND_PROM_GAUGE, "noderr_halted",
                                 "1 while a circuit breaker halts trading.", 0, NULL), NULL);
    m->kill_switch = series(r, family(r, ND_PROM_GAUGE, "noderr_kill_switch",
                                      "1 while the kill switch is engaged.", 0, NULL), NULL);
    m->trips = series(r, family(r, ND_PROM_COUNTER, "noderr_breaker_trips_total",
                                "Circuit breaker trips (the kill switch included).", 0, NULL),
                      NULL);
    nd_prom_family_t *b = family(r, ND_PROM_GAUGE, "noderr_breaker_tripped",
                                 "1 when this breaker's halt is in force.", 0,
                                 (const char *[]){"breaker", NULL});
    for (int k = 1; k <= BREAKERS; k++)
        m->breaker[k] = series(r, b, (const char *[]){nd_breaker_kind_name((nd_breaker_kind_t)k)});
    m->drawdown = series(r, family(r, ND_PROM_GAUGE, "noderr_drawdown_ratio",
                                   "Drawdown from the equity peak (0..1).", 6, NULL), NULL);
    m->drawdown_limit = series(r, family(r, ND_PROM_GAUGE, "noderr_drawdown_limit_ratio",
                                         "The drawdown breaker's threshold (0..1; 0: off).", 4,
                                         NULL), NULL);
    m->daily_limit = series(r, family(r, ND_PROM_GAUGE, "noderr_daily_loss_limit_ratio",
                                      "The daily-loss breaker's threshold (0..1; 0: off).", 4,
                                      NULL), NULL);
    nd_prom_family_t *a = family(r, ND_PROM_GAUGE, "noderr_anomaly_confidence_ratio",
                                 "The anomaly model's last confidence (0..1) per asset.", 6,
                                 (const char *[]){"asset", NULL});
    for (uint32_t k = 0; k < nd_event_run_instrument_count(m->s->run); k++)
        m->anomaly[k] = series(r, a, (const char *[]){inst_of(m, k)->symbol});
    m->recon_diffs = series(r, family(r, ND_PROM_GAUGE, "noderr_reconcile_differences",
                                      "Differences reconciliation with the venue found and "
                                      "resolved at the last (re)start (live mode).", 0, NULL),
                            NULL);
    /* Every rule from the start with 0 (as reject reasons), so increase() sees the first. */
    nd_prom_family_t *sv = family(r, ND_PROM_COUNTER, "noderr_surveillance_alerts_total",
                                  "Surveillance alerts the session's post-trade scan recorded "
                                  "(compliance.surveil_every_ms).", 0,
                                  (const char *[]){"rule", NULL});
    for (int k = 0; k < ND_SURV_RULE_COUNT; k++)
        m->surveil_alerts[k] = series(r, sv, (const char *[]){nd_surv_rule_name((nd_surv_rule_t)k)});
}

static void register_feed(reg_t *r, nd__live_metrics_t *m)
{
    const char *vl[] = {"venue", NULL};
    char venues[32]; /* the session's feed counters: every venue's */
    nd__live_venues_label(m->s->cfg, venues, sizeof venues);
    const char *v[] = {venues};
    const char *al[] = {"venue", "asset", NULL};
    m->feed_up = series(r, family(r, ND_PROM_GAUGE, "noderr_feed_connected",
                                  "1 while the market stream delivers, 0 when stale or down.", 0,
                                  vl), v);
    m->feed_messages = series(r, family(r, ND_PROM_COUNTER, "noderr_feed_messages_total",
                                        "Market stream messages decoded.", 0, vl), v);
    m->feed_bad = series(r, family(r, ND_PROM_COUNTER, "noderr_feed_bad_messages_total",
                                   "Market messages refused (decoder, scales, unknown symbol).",
                                   0, vl), v);
    m->feed_late = series(r, family(r, ND_PROM_COUNTER, "noderr_feed_late_events_total",
                                    "Market events older than the engine's time.", 0, vl), v);
    m->feed_connects = series(r, family(r, ND_PROM_COUNTER, "noderr_feed_connects_total",
                                        "Market stream connections opened.", 0, vl), v);
    nd_prom_family_t *age = family(r, ND_PROM_GAUGE, "noderr_feed_age_seconds",
                                   "Time since the asset's last market event (since the start "
                                   "before any).", 9, al);
    nd_prom_family_t *gaps = family(r, ND_PROM_COUNTER, "noderr_feed_sequence_gaps_total",
                                    "Gaps seen in the asset's trade ids.", 0, al);
    for (uint32_t k = 0; k < m->s->cfg->symbol_count; k++) {
        const char *l[] = {nd_venue_name(nd__live_venue_of(m->s, k)->venue), inst_of(m, k)->symbol};
        m->feed_age[k] = series(r, age, l);
        m->feed_gaps[k] = series(r, gaps, l);
    }
    m->events = series(r, family(r, ND_PROM_COUNTER, "noderr_engine_events_total",
                                 "Market events the engine processed.", 0, NULL), NULL);
    m->scrapes = series(r, family(r, ND_PROM_COUNTER, "noderr_metrics_scrapes_total",
                                  "Scrapes of this endpoint.", 0, NULL), NULL);
}

/* Each venue's own feed counters, and the reference price of every asset with two sources or
 * more: its median and largest deviation, each source's price, age and staleness. */
static void register_reference(reg_t *r, nd__live_metrics_t *m)
{
    nd_live_session_t *s = m->s;
    const char *vl[] = {"venue", "counter", NULL};
    nd_prom_family_t *vf = family(r, ND_PROM_COUNTER, "noderr_feed_venue_total",
                                  "Each venue's own market feed counters (noderr_feed_*_total "
                                  "are the session's sums).", 0, vl);
    for (uint32_t v = 0; v < s->cfg->venue_count; v++)
        for (int c = 0; c < VENUE_COUNTERS; c++)
            m->venue_feed[v][c] = series(
                r, vf, (const char *[]){nd_venue_name(s->cfg->venues[v].venue),
                                        venue_counter_names[c]});
    if (!s->ref || r->rc != ND_OK)
        return;
    if (!(m->ref = nd_calloc(1, sizeof *m->ref))) {
        r->rc = ND_ENOMEM;
        return;
    }
    nd__live_ref_fill(s, nd_clock_now_ns(s->clock), m->ref);
    const char *al[] = {"asset", NULL}, *sl[] = {"asset", "source", NULL};
    m->ref_trips = series(r, family(r, ND_PROM_COUNTER, "noderr_reference_trips_total",
                                    "Data-integrity trips on a reference price deviation.", 0,
                                    NULL), NULL);
    nd_prom_family_t *px = family(r, ND_PROM_GAUGE, "noderr_reference_price",
                                  "The asset's reference price: the median of its fresh "
                                  "sources.", ND_VENUE_DECIMALS, al);
    nd_prom_family_t *dev = family(r, ND_PROM_GAUGE, "noderr_reference_deviation_bps",
                                   "The largest deviation of a fresh source from the median.", 0,
                                   al);
    nd_prom_family_t *sf[3] = {
        family(r, ND_PROM_GAUGE, "noderr_reference_source_price", "A source's last price.",
               ND_VENUE_DECIMALS, sl),
        family(r, ND_PROM_GAUGE, "noderr_reference_source_age_seconds",
               "Time since the source's last price (-1: none yet).", 3, sl),
        family(r, ND_PROM_GAUGE, "noderr_reference_source_stale",
               "1 while the source is stale or invalid: excluded from the median.", 0, sl)};
    for (uint32_t a = 0; a < m->ref->asset_count; a++) {
        const nd__live_ref_asset_fig_t *fa = &m->ref->assets[a];
        if (fa->source_count < 2)
            continue;
        m->ref_px[a] = series(r, px, (const char *[]){fa->asset});
        m->ref_dev[a] = series(r, dev, (const char *[]){fa->asset});
        for (uint32_t k = 0; k < fa->source_count; k++)
            for (int i = 0; i < 3; i++)
                m->ref_src[a][k][i] =
                    series(r, sf[i], (const char *[]){fa->asset, fa->sources[k].name});
    }
}

static void collect_reference(nd__live_metrics_t *m, int64_t now)
{
    nd_live_session_t *s = m->s;
    for (uint32_t v = 0; v < s->cfg->venue_count; v++) {
        const nd_live_feed_stats_t *f = &s->venue_feed[v];
        int64_t values[VENUE_COUNTERS] = {f->messages, f->trades, f->quotes, f->bad, f->late,
                                          f->repeats, f->resyncs, f->lost, f->connects};
        for (int c = 0; c < VENUE_COUNTERS; c++)
            nd_prom_set(m->venue_feed[v][c], values[c]);
    }
    if (!m->ref)
        return;
    nd__live_ref_fill(s, now, m->ref);
    nd_prom_set(m->ref_trips, m->ref->trips);
    for (uint32_t a = 0; a < m->ref->asset_count; a++) {
        const nd__live_ref_asset_fig_t *fa = &m->ref->assets[a];
        if (!m->ref_px[a])
            continue;
        nd_prom_set(m->ref_px[a], fa->fresh ? fa->px : 0);
        nd_prom_set(m->ref_dev[a], fa->max_deviation_bps);
        for (uint32_t k = 0; k < fa->source_count; k++) {
            nd_prom_set(m->ref_src[a][k][0], fa->sources[k].px);
            nd_prom_set(m->ref_src[a][k][1], fa->sources[k].age_ms >= 0 ? fa->sources[k].age_ms : -1000);
            nd_prom_set(m->ref_src[a][k][2], fa->sources[k].stale);
        }
    }
}

/* ---- Collect: at each scrape, on the loop thread ------------------------------------------ */

static void set_pnl(nd_prom_cell_t **cells, const nd_attribution_t *a)
{
    nd_prom_set(cells[PNL_REALIZED], a->realized);
    nd_prom_set(cells[PNL_UNREALIZED], a->unrealized);
    nd_prom_set(cells[PNL_FEES], a->fees);
    nd_prom_set(cells[PNL_NET], a->net);
}

/* A quantity at the instrument's scale at QTY_DECIMALS places (0 when it does not fit). */
static int64_t qty_scaled(const nd_instrument_t *inst, int64_t qty)
{
    int64_t out = 0;
    if (nd_fixed_rescale(qty, inst->qty_decimals, QTY_DECIMALS, ND_ROUND_DOWN, &out) != ND_OK)
        return 0;
    return out;
}

static void collect_portfolio(nd__live_metrics_t *m, const nd_engine_t *e)
{
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    nd_prom_set(m->equity, nd_portfolio_equity(p));
    nd_prom_set(m->cash, nd_portfolio_cash(p));
    nd_prom_set(m->initial, nd_portfolio_initial_cash(p));
    nd_prom_set(m->pnl, nd_portfolio_equity(p) - nd_portfolio_initial_cash(p));
    nd_prom_set(m->fees, nd_portfolio_fees(p));
    nd_attribution_t a;
    uint32_t strategies = nd_engine_strategy_count(e);
    for (uint32_t i = 0; i < strategies; i++) {
        nd_prom_set(m->strategy_equity[i], nd_portfolio_strategy_equity(p, i));
        nd_portfolio_by_strategy(p, i, &a);
        set_pnl(m->pnl_strategy[i], &a);
    }
    for (uint32_t k = 0; k < nd_event_run_instrument_count(m->s->run); k++) {
        const nd_instrument_t *inst = inst_of(m, k);
        nd_portfolio_by_instrument(p, k, &a);
        set_pnl(m->pnl_asset[k], &a);
        if (m->pnl_venue[k][0]) {
            nd_portfolio_by_venue(p, m->venue_names[k], &a);
            set_pnl(m->pnl_venue[k], &a);
        }
        int64_t px = nd_portfolio_last_px(p, k), px_cash = 0;
        (void)nd_fixed_rescale(px, inst->px_decimals, ND_CASH_DECIMALS, ND_ROUND_DOWN, &px_cash);
        nd_prom_set(m->last_price[k], px_cash);
        for (uint32_t i = 0; i < strategies; i++) {
            int64_t qty = nd_portfolio_position(p, i, k)->qty, value = 0;
            nd_prom_set(m->position[i][k], qty_scaled(inst, qty));
            if (qty != 0 && px > 0 && nd_notional(inst, px, qty < 0 ? -qty : qty, &value) == ND_OK)
                value = qty < 0 ? -value : value;
            nd_prom_set(m->exposure[i][k], qty != 0 ? value : 0);
        }
    }
}

static void collect_engine(nd__live_metrics_t *m, const nd_engine_t *e)
{
    const nd_engine_stats_t *st = nd_engine_stats(e);
    nd_prom_set(m->orders[ORD_SUBMITTED], st->orders_submitted);
    nd_prom_set(m->orders[ORD_ACCEPTED], st->orders_accepted);
    nd_prom_set(m->orders[ORD_REJECTED], st->orders_rejected);
    nd_prom_set(m->orders[ORD_CANCELLED], st->orders_cancelled);
    nd_prom_set(m->orders[ORD_AMENDED], st->orders_amended);
    nd_prom_set(m->fills, st->fills);
    nd_prom_set(m->events, st->events);
    nd_prom_set(m->working, nd_engine_working_count(e));
    for (int k = 1; k < ND_REJECT_SLOTS; k++)
        if (m->rejects[k])
            nd_prom_set(m->rejects[k], nd_engine_rejects(e, (nd_reject_t)k));
    const nd_risk_t *r = nd_engine_risk(e);
    nd_prom_set(m->halted, r->halted);
    nd_prom_set(m->kill_switch, r->kill_switch);
    nd_prom_set(m->trips, r->trips);
    for (int k = 1; k <= BREAKERS; k++)
        nd_prom_set(m->breaker[k], r->halted && (int)r->halt_kind == k);
    nd_prom_set(m->drawdown, nd_risk_drawdown_e6(r));
    nd_prom_set(m->drawdown_limit, r->cfg.max_drawdown_pct_e2);
    nd_prom_set(m->daily_limit, r->cfg.daily_loss_pct_e2);
    for (uint32_t k = 0; k < nd_event_run_instrument_count(m->s->run); k++) {
        const nd_anomaly_t *a = nd_engine_anomaly(e, k);
        nd_prom_set(m->anomaly[k], a ? a->last.confidence_e6 : 0);
    }
}

static void collect(void *ctx)
{
    nd__live_metrics_t *m = ctx;
    nd_live_session_t *s = m->s;
    if (!s->run)
        return;
    const nd_engine_t *e = nd_event_run_engine(s->run);
    collect_portfolio(m, e);
    collect_engine(m, e);
    int64_t now = nd_clock_now_ns(s->clock);
    nd_prom_set(m->feed_up, s->feed_state == ND_VENUE_CONNECTED);
    nd_prom_set(m->feed_messages, s->feed.messages);
    nd_prom_set(m->feed_bad, s->feed.bad);
    nd_prom_set(m->feed_late, s->feed.late);
    nd_prom_set(m->feed_connects, s->feed.connects);
    for (uint32_t k = 0; k < s->cfg->symbol_count; k++) {
        /* On the live clock, like status.json's feed age; from the start before any event. */
        int64_t last = s->symbol_event_ns[k] ? s->symbol_event_ns[k] : s->started_ns;
        nd_prom_set(m->feed_age[k], now > last ? now - last : 0);
        bool known = k < s->monitor.feed_count;
        nd_prom_set(m->feed_gaps[k], known ? (int64_t)s->monitor.feeds[k].gaps : 0);
    }
    collect_reference(m, now);
    nd_prom_set(m->recon_diffs, s->recon_diffs);
    for (int k = 0; k < ND_SURV_RULE_COUNT; k++)
        nd_prom_set(m->surveil_alerts[k], (int64_t)nd__live_surveil_alerts(s, k));
    nd_prom_add(m->scrapes, 1);
}

/* ---- The endpoint, the hooks, open and close ----------------------------------------------- */

static void get_metrics(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    (void)req;
    nd__live_metrics_t *m = ctx;
    char *text = NULL;
    size_t len = 0;
    if (nd_prom_render(m->prom, &text, &len) != ND_OK) {
        resp->status = 503;
        return;
    }
    resp->content_type = ND_PROM_CONTENT_TYPE;
    resp->body = text;
    resp->body_len = len;
}

/* The recorder's tap, timed: one store-write observation per event handed to it. */
static nd_err_t timed_store_event(void *ctx, const nd_event_t *event)
{
    nd__live_metrics_t *m = ctx;
    int64_t t0 = nd_clock_mono_ns(m->s->clock);
    nd_err_t rc = m->store_tap.on_event(m->store_tap.ctx, event);
    if (m->store_write)
        nd_prom_observe(m->store_write, nd_clock_mono_ns(m->s->clock) - t0);
    return rc;
}

/* Live mode: the order adapters' round trips, one series per symbol (each adapter's worker
 * thread is its series' only writer). Registered first: the adapters open before the run. */
static nd_err_t register_venue_rtt(nd__live_metrics_t *m, char *err, size_t err_len)
{
    reg_t r = {m->prom, err, err_len, ND_OK};
    nd_prom_family_t *f = family(&r, ND_PROM_HISTOGRAM, "noderr_venue_round_trip_seconds",
                                 "Live mode: from an order or cancel request leaving to the "
                                 "venue's answer.", 9, (const char *[]){"venue", "symbol", NULL});
    for (uint32_t k = 0; m->s->cfg->live && k < m->s->cfg->symbol_count && r.rc == ND_OK; k++)
        m->venue_rtt[k] = hist(&r, f, (const char *[]){nd_venue_name(nd__live_venue_of(m->s, k)->venue),
                                                      m->s->cfg->venue_symbols[k]});
    return r.rc;
}

nd_err_t nd__live_metrics_create(nd_live_session_t *s, char *err, size_t err_len)
{
    if (!s->cfg->metrics.enabled)
        return ND_OK;
    nd__live_metrics_t *m = nd_calloc(1, sizeof *m);
    if (!m || nd_prom_create(&m->prom) != ND_OK) {
        nd_free(m);
        nd_err_put(err, err_len, "metrics: out of memory");
        return ND_ENOMEM;
    }
    m->s = s;
    s->metrics = m;
    nd_err_t rc = register_venue_rtt(m, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (s->bt.tap.on_event) { /* the store's recorder: time each hand-over */
        m->store_tap = s->bt.tap;
        s->bt.tap.on_event = timed_store_event;
        s->bt.tap.ctx = m;
    }
    return ND_OK;
}

nd_err_t nd__live_metrics_open(nd_live_session_t *s, char *err, size_t err_len)
{
    nd__live_metrics_t *m = s->metrics;
    if (!m)
        return ND_OK;
    reg_t r = {m->prom, err, err_len, ND_OK};
    register_account(&r, m);
    register_assets(&r, m);
    register_orders(&r, m);
    register_risk(&r, m);
    register_feed(&r, m);
    register_reference(&r, m);
    if (r.rc == ND_OK)
        r.rc = nd_prom_process_metrics(m->prom, s->started_ns, err, err_len);
    if (r.rc == ND_OK)
        r.rc = nd_prom_on_collect(m->prom, collect, m);
    if (r.rc != ND_OK)
        return r.rc;
    const nd_httpd_settings_t *hs = &s->cfg->metrics;
    nd_httpd_config_t hc = {.listen = hs->listen, .uv_loop = &s->loop,
                            .tls_cert_file = hs->tls_cert_file[0] ? hs->tls_cert_file : NULL,
                            .tls_key_file = hs->tls_key_file[0] ? hs->tls_key_file : NULL};
    char why[256];
    nd_err_t rc = nd_httpd_create(&hc, &m->httpd, why, sizeof why);
    if (rc == ND_OK)
        rc = nd_httpd_route(m->httpd, "GET", "/metrics", get_metrics, m);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "%s: metrics.listen: %s", s->cfg->path, why);
        return rc;
    }
    nd_httpd_url(m->httpd, s->metrics_url, sizeof s->metrics_url - 8);
    strcat(s->metrics_url, "/metrics");
    ND_LOG(ND_LOG_INFO, "event=metrics_listening url=%s series=%zu", s->metrics_url,
           nd_prom_series_count(m->prom));
    return ND_OK;
}

void nd__live_metrics_on_push(nd_live_session_t *s, int64_t recv_ns, int64_t submitted_before)
{
    nd__live_metrics_t *m = s->metrics;
    if (!m || !m->tick_to_order || !s->run)
        return;
    const nd_engine_stats_t *st = nd_engine_stats(nd_event_run_engine(s->run));
    if (st->orders_submitted > submitted_before && recv_ns > 0)
        nd_prom_observe(m->tick_to_order, nd_clock_now_ns(s->clock) - recv_ns);
}

nd_prom_hist_t *nd__live_metrics_venue_rtt(nd_live_session_t *s, uint32_t k)
{
    ND_ASSERT(k < ND_VENUES_MAX);
    return s->metrics ? s->metrics->venue_rtt[k] : NULL;
}

nd_httpd_t *nd__live_metrics_server(nd_live_session_t *s)
{
    return s->metrics ? s->metrics->httpd : NULL;
}

/* Before the loop closes: the server's handles close on it. */
void nd__live_metrics_close(nd_live_session_t *s)
{
    nd__live_metrics_t *m = s->metrics;
    if (!m)
        return;
    nd_httpd_destroy(m->httpd);
    m->httpd = NULL;
}

void nd__live_metrics_free(nd_live_session_t *s)
{
    nd__live_metrics_t *m = s->metrics;
    if (!m)
        return;
    nd_prom_destroy(m->prom);
    nd_free(m->ref);
    nd_free(m);
    s->metrics = NULL;
}

nd_prom_t *nd__live_metrics_prom(nd_live_session_t *s)
{
    return s->metrics ? s->metrics->prom : NULL;
}

static json_t *latency_of(const nd_prom_hist_t *h)
{
    json_t *j = json_object();
    int64_t count = nd_prom_get(&h->count);
    json_object_set_new(j, "count", json_integer(count));
    json_object_set_new(j, "p50_us", count ? json_integer(nd_prom_hist_quantile(h, 500000) / 1000)
                                           : json_null());
    json_object_set_new(j, "p99_us", count ? json_integer(nd_prom_hist_quantile(h, 990000) / 1000)
                                           : json_null());
    json_object_set_new(j, "max_us", json_null()); /* a histogram keeps no maximum */
    return j;
}

json_t *nd__live_metrics_latency_json(const nd_live_session_t *s)
{
    const nd__live_metrics_t *m = s->metrics;
    json_t *j = json_object();
    if (!m)
        return j;
    if (m->tick_to_order)
        json_object_set_new(j, "tick_to_order", latency_of(m->tick_to_order));
    if (m->store_write)
        json_object_set_new(j, "store_write", latency_of(m->store_write));
    for (uint32_t k = 0; k < ND_VENUES_MAX; k++)
        if (m->venue_rtt[k]) {
            char key[64];
            snprintf(key, sizeof key, "venue_round_trip %s", s->cfg->venue_symbols[k]);
            json_object_set_new(j, key, latency_of(m->venue_rtt[k]));
        }
    return j;
}

void nd__live_metrics_hists(const nd_live_session_t *s, const nd_prom_hist_t **tick_to_order,
                            const nd_prom_hist_t **store_write)
{
    const nd__live_metrics_t *m = s->metrics;
    *tick_to_order = m ? m->tick_to_order : NULL;
    *store_write = m ? m->store_write : NULL;
}
