/* session_dash.c: a session's executive dashboard (dashboard.h, docs/monitoring.md
 * "Dashboard").
 *
 * When the config has "dashboard", the session loads (or creates) STATE_DIR/dashboard.token and
 * starts the dashboard: with a listen of its own, on a thread of its own (its loop, its HTTP
 * server: nd_dashboard_thread_start), so the engine's thread only fills the snapshot's figures
 * (below: no allocation) updates_per_sec times a second and hands them over, and the
 * dashboard's thread formats them (the status document plus the dashboard's part);
 * without one and with metrics on, on the metrics' server on the session's loop, where the
 * publish (delta, writes to every client) runs on the engine's thread too. Controls act
 * between events, on the loop thread like everything else (the dashboard's thread carries them
 * over): the kill switch as SIGUSR1 does, pause and resume through the engine; each one, done
 * or refused, is an operator action in the store with who (the token's id) and from where (the
 * peer address). */
#include "live_int.h"

#include "noderr/assert.h"
#include "noderr/coinbase.h"
#include "noderr/fixed.h"
#include "noderr/httpd.h"
#include "noderr/log.h"
#include "noderr/portfolio.h"
#include "noderr/scenario.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- The snapshot as figures --------------------------------------------------------------
 * What `noderr status --json` shows (nd_live_status_json), the dashboard's part under
 * "dashboard" and the latency histograms under "latency", as one fixed struct: the engine's
 * thread fills it (copies, integer sums, the histograms' quantiles; no allocation, no
 * formatting) into a buffer the dashboard preallocated, and the dashboard's thread formats it
 * (format below), giving exactly the document nd_live_status_json gives plus those two parts
 * (tests/unit/test_live_dash.c compares them on a rich state). Names are borrowed from the run
 * and the config, which outlive the dashboard (nd__live_dash_close runs before the run closes).
 * The one allocation left on the engine's thread is a launch's status object (extra_fn, a JSON
 * document the launcher builds), only under `noderr launch`. */

/* Open orders a snapshot carries, the first (oldest working); more are cut and the document says
 * so ("dashboard": {"truncated": {"open_orders": N}}). The page's table shows a screenful; a
 * session's working orders are a few per strategy and symbol. */
#define ND_LIVE_DASH_ORDERS 256

typedef struct dash_order {
    uint64_t client_id;
    const char *symbol, *venue;
    bool buy, market, risk_flatten;
    int status;                      /* nd_order_status_t */
    int64_t px, qty, filled, cancel_sent_ns;
    int px_decimals, qty_decimals;
} dash_order_t;

typedef struct dash_position {
    const char *symbol, *venue;
    int64_t qty, last_px, tick_size, lot_size, min_notional;
    int px_decimals, qty_decimals;
} dash_position_t;

/* A venue's line (status.json "venues"): its symbols are the config's, names borrowed. */
typedef struct dash_venue {
    const char *name, *rules_from;
    const char *symbols[ND_VENUES_MAX];
    uint32_t symbol_count;
    int64_t last_event_ns;
    nd_attribution_t pnl;            /* summed over its symbols */
    nd_live_feed_stats_t feed;       /* its own feed counters */
} dash_venue_t;

typedef struct dash_latency {
    bool on;
    const char *symbol;              /* a venue round trip's, else NULL */
    int64_t count, p50_ns, p99_ns;
} dash_latency_t;

typedef struct dash_snap {
    const char *name, *state, *rules_from, *user_mode, *extra_key;
    char venue[32];                  /* "binance", or "binance+coinbase" */
    uint32_t venue_count;
    dash_venue_t venues[ND_LIVE_VENUES_MAX];
    bool live, user_on, user_subscribed, halted, kill_switch, coinbase, cb_user_on;
    int64_t pid, recon_diffs, restored_fills, user_subscriptions, user_ends, user_order_events;
    int64_t cb_user_subscriptions;
    nd_binance_exec_stats_t recon;   /* summed over the legs (live) */
    int64_t started_ns, now_ns, engine_ns;
    int64_t equity, cash, initial, fees;
    int halt_kind;
    int64_t halted_since_ns, trips;
    nd_venue_state_t feed_state;
    nd_live_feed_stats_t feed;
    int64_t orders_stat[5];          /* submitted, accepted, rejected, cancelled, fills */
    int64_t rejects[ND_REJECT_SLOTS];
    char metrics_url[128], dash_url[128];
    json_t *extra;                   /* a launch's object (owned; taken by format) */
    uint32_t position_count, positions_total, order_count, orders_total;
    dash_position_t positions[ND_DASHBOARD_SNAP_ASSETS];
    dash_order_t orders[ND_LIVE_DASH_ORDERS];
    dash_latency_t tick_to_order, store_write, venue_rtt[ND_VENUES_MAX];
    nd__live_surv_figures_t surveil;
    nd__live_ref_figures_t ref;
    nd_dashboard_figures_t dash;
} dash_snap_t;

static void fill_latency(dash_latency_t *out, const nd_prom_hist_t *h, const char *symbol)
{
    out->on = h != NULL;
    if (!h)
        return;
    out->symbol = symbol;
    out->count = nd_prom_get(&h->count);
    out->p50_ns = out->count ? nd_prom_hist_quantile(h, 500000) : 0;
    out->p99_ns = out->count ? nd_prom_hist_quantile(h, 990000) : 0;
}

static void fill_book(nd_live_session_t *s, const nd_engine_t *e, dash_snap_t *d)
{
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    uint32_t n = nd_event_run_instrument_count(s->run);
    d->positions_total = n;
    d->position_count = n < ND_DASHBOARD_SNAP_ASSETS ? n : ND_DASHBOARD_SNAP_ASSETS;
    for (uint32_t k = 0; k < d->position_count; k++) {
        const nd_instrument_t *inst = nd_event_run_instrument(s->run, k);
        d->positions[k] = (dash_position_t){
            .symbol = inst->symbol, .venue = nd_venue_name(nd__live_venue_of(s, k)->venue),
            .qty = nd_portfolio_net_qty(p, k),
            .last_px = nd_portfolio_last_px(p, k), .tick_size = inst->tick_size,
            .lot_size = inst->lot_size, .min_notional = inst->min_notional,
            .px_decimals = inst->px_decimals, .qty_decimals = inst->qty_decimals};
    }
    d->orders_total = nd_engine_working_count(e);
    d->order_count = d->orders_total < ND_LIVE_DASH_ORDERS ? d->orders_total : ND_LIVE_DASH_ORDERS;
    for (uint32_t k = 0; k < d->order_count; k++) {
        const nd_order_t *o = nd_engine_working(e, k);
        const nd_instrument_t *inst = nd_event_run_instrument(s->run, o->instrument_id);
        d->orders[k] = (dash_order_t){
            .client_id = o->client_id, .symbol = inst->symbol,
            .venue = nd_venue_name(nd__live_venue_of(s, o->instrument_id)->venue), .buy = o->side == ND_SIDE_BUY,
            .market = o->type == ND_ORDER_MARKET, .risk_flatten = o->risk_flatten,
            .cancel_sent_ns = o->cancel_sent_ns,
            .status = (int)o->status, .px = o->px, .qty = o->qty, .filled = o->filled_qty,
            .px_decimals = inst->px_decimals, .qty_decimals = inst->qty_decimals};
    }
}

static void fill_venues(nd_live_session_t *s, const nd_engine_t *e, dash_snap_t *d)
{
    const nd_live_config_t *cfg = s->cfg;
    d->venue_count = cfg->venue_count;
    for (uint32_t v = 0; v < cfg->venue_count; v++) {
        const nd_live_venue_config_t *vc = &cfg->venues[v];
        dash_venue_t *dv = &d->venues[v];
        dv->name = nd_venue_name(vc->venue);
        dv->rules_from = s->bt.rules[vc->symbol_first].source;
        dv->symbol_count = vc->symbol_count < ND_VENUES_MAX ? vc->symbol_count : ND_VENUES_MAX;
        for (uint32_t k = 0; k < dv->symbol_count; k++)
            dv->symbols[k] = cfg->venue_symbols[vc->symbol_first + k];
        dv->last_event_ns = s->venue_event_ns[v];
        dv->feed = s->venue_feed[v];
        nd__live_venue_pnl(s, e, v, &dv->pnl);
    }
}

static void fill_session(nd_live_session_t *s, dash_snap_t *d)
{
    const nd_live_config_t *cfg = s->cfg;
    d->live = cfg->live;
    d->recon_diffs = s->recon_diffs;
    d->restored_fills = s->restored_fills;
    memset(&d->recon, 0, sizeof d->recon);
    for (uint32_t k = 0; cfg->live && k < cfg->symbol_count && k < ND_VENUES_MAX; k++) {
        nd_binance_exec_stats_t st;
        if (!nd__live_leg_stats(&s->legs[k], &st))
            continue;
        d->recon.outages += st.outages;
        d->recon.reconciliations += st.reconciliations;
        d->recon.recon_diffs += st.recon_diffs;
        d->recon.recon_halts += st.recon_halts;
    }
    d->user_on = s->user != NULL;
    if (s->user) {
        d->user_mode = nd_binance_user_mode_name(nd__live_user_mode(s));
        d->user_subscribed = nd_binance_user_subscribed(s->user);
        d->user_subscriptions = nd_binance_user_subscriptions(s->user);
        d->user_ends = nd_binance_user_ends(s->user);
        d->user_order_events = s->user_order_events;
    }
    d->cb_user_on = s->cb_user != NULL;
    if (s->cb_user) {
        d->cb_user_subscriptions = (int64_t)nd_coinbase_stream_resyncs(s->cb_user);
        d->user_order_events = s->user_order_events;
    }
    d->name = cfg->name;
    memcpy(d->metrics_url, s->metrics_url, sizeof d->metrics_url);
    memcpy(d->dash_url, s->dash_url, sizeof d->dash_url);
    d->pid = (int64_t)getpid();
    d->state = s->fatal != ND_OK ? "failed" : s->shutdown.done ? "stopped"
               : s->stopping ? "stopping" : "running";
    nd__live_venues_label(cfg, d->venue, sizeof d->venue);
    d->coinbase = s->cb_stream != NULL;
    d->started_ns = s->started_ns;
    d->now_ns = nd_clock_now_ns(s->clock);
    d->engine_ns = s->engine_ns;
    d->rules_from = s->bt.rules[0].source ? s->bt.rules[0].source : "defaults";
    d->feed_state = s->feed_state;
    d->feed = s->feed;
    d->extra_key = s->extra_key;
    d->extra = s->extra_fn ? s->extra_fn(s->extra_ctx) : NULL;
}

static void fill_engine(nd_live_session_t *s, const nd_engine_t *e, dash_snap_t *d)
{
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    const nd_risk_t *r = nd_engine_risk(e);
    const nd_engine_stats_t *st = nd_engine_stats(e);
    d->equity = nd_portfolio_equity(p);
    d->cash = nd_portfolio_cash(p);
    d->initial = nd_portfolio_initial_cash(p);
    d->fees = nd_portfolio_fees(p);
    d->halted = r->halted;
    d->kill_switch = r->kill_switch;
    d->halt_kind = (int)r->halt_kind;
    d->halted_since_ns = r->halted_since_ns;
    d->trips = r->trips;
    int64_t stat[5] = {st->orders_submitted, st->orders_accepted, st->orders_rejected,
                       st->orders_cancelled, st->fills};
    memcpy(d->orders_stat, stat, sizeof stat);
    for (int k = 1; k < ND_REJECT_SLOTS; k++)
        d->rejects[k] = nd_engine_rejects(e, (nd_reject_t)k);
    fill_book(s, e, d);
    fill_venues(s, e, d);
    nd_dashboard_figures_fill(e, nd_event_run_instrument_count(s->run), &s->dash_state, &d->dash);
    nd__live_surveil_fill(s, &d->surveil);
    nd__live_ref_fill(s, d->now_ns, &d->ref);
    const nd_prom_hist_t *tick, *store;
    nd__live_metrics_hists(s, &tick, &store);
    fill_latency(&d->tick_to_order, tick, NULL);
    fill_latency(&d->store_write, store, NULL);
    for (uint32_t k = 0; k < ND_VENUES_MAX; k++)
        fill_latency(&d->venue_rtt[k], nd__live_metrics_venue_rtt(s, k), s->cfg->venue_symbols[k]);
}

/* Engine thread: the figures into snap (a dash_snap_t the dashboard preallocated). */
static void snapshot_fill(void *ctx, void *snap)
{
    nd_live_session_t *s = ctx;
    ND_ASSERT(s != NULL && s->run != NULL);
    ND_ASSERT(snap != NULL);
    dash_snap_t *d = snap;
    fill_session(s, d);
    fill_engine(s, nd_event_run_engine(s->run), d);
}

/* ---- The snapshot's document, from the figures (any thread) ------------------------------- */

static json_t *positions_json(const dash_snap_t *d)
{
    json_t *list = json_array();
    for (uint32_t k = 0; k < d->position_count; k++) {
        const dash_position_t *p = &d->positions[k];
        json_t *j = json_object();
        json_object_set_new(j, "symbol", json_string(p->symbol));
        json_object_set_new(j, "venue", json_string(p->venue));
        json_object_set_new(j, "qty", nd_json_fixed(p->qty, p->qty_decimals));
        json_object_set_new(j, "last_price", nd_json_fixed(p->last_px, p->px_decimals));
        json_object_set_new(j, "tick_size", nd_json_fixed(p->tick_size, p->px_decimals));
        json_object_set_new(j, "lot_size", nd_json_fixed(p->lot_size, p->qty_decimals));
        json_object_set_new(j, "min_notional", nd_json_fixed(p->min_notional, ND_CASH_DECIMALS));
        json_array_append_new(list, j);
    }
    return list;
}

static json_t *orders_json(const dash_snap_t *d)
{
    json_t *list = json_array();
    for (uint32_t k = 0; k < d->order_count; k++) {
        const dash_order_t *o = &d->orders[k];
        json_t *j = json_object();
        json_object_set_new(j, "client_id", json_integer((json_int_t)o->client_id));
        json_object_set_new(j, "symbol", json_string(o->symbol));
        json_object_set_new(j, "venue", json_string(o->venue));
        json_object_set_new(j, "side", json_string(o->buy ? "buy" : "sell"));
        json_object_set_new(j, "type", json_string(o->market ? "market" : "limit"));
        json_object_set_new(j, "price", nd_json_fixed(o->px, o->px_decimals));
        json_object_set_new(j, "qty", nd_json_fixed(o->qty, o->qty_decimals));
        json_object_set_new(j, "filled", nd_json_fixed(o->filled, o->qty_decimals));
        json_object_set_new(j, "status",
                            json_string(nd_order_status_name((nd_order_status_t)o->status)));
        json_object_set_new(j, "risk_flatten", json_boolean(o->risk_flatten));
        json_object_set_new(j, "cancel_pending", json_boolean(o->cancel_sent_ns != 0));
        if (o->cancel_sent_ns != 0)
            json_object_set_new(j, "cancel_sent_ns", json_integer(o->cancel_sent_ns));
        json_array_append_new(list, j);
    }
    return list;
}

static json_t *account_risk_json(const dash_snap_t *d, json_t **risk)
{
    json_t *a = json_object();
    json_object_set_new(a, "equity", nd_json_fixed(d->equity, ND_CASH_DECIMALS));
    json_object_set_new(a, "cash", nd_json_fixed(d->cash, ND_CASH_DECIMALS));
    json_object_set_new(a, "pnl", nd_json_fixed(d->equity - d->initial, ND_CASH_DECIMALS));
    json_object_set_new(a, "fees", nd_json_fixed(d->fees, ND_CASH_DECIMALS));
    json_t *r = json_object();
    json_object_set_new(r, "halted", json_boolean(d->halted));
    json_object_set_new(r, "kill_switch", json_boolean(d->kill_switch));
    if (d->halted) {
        json_object_set_new(r, "halt_kind",
                            json_string(nd_breaker_kind_name((nd_breaker_kind_t)d->halt_kind)));
        json_object_set_new(r, "halted_since", nd_json_time(d->halted_since_ns));
    }
    json_object_set_new(r, "trips", json_integer(d->trips));
    *risk = r;
    return a;
}

static json_t *order_counts_json(const dash_snap_t *d)
{
    static const char *const names[5] = {"submitted", "accepted", "rejected", "cancelled",
                                         "fills"};
    json_t *o = json_object();
    for (int k = 0; k < 5; k++)
        json_object_set_new(o, names[k], json_integer(d->orders_stat[k]));
    json_t *why = json_object();
    for (int r = 1; r < ND_REJECT_SLOTS; r++)
        if (d->rejects[r] > 0)
            json_object_set_new(why, nd_reject_name((nd_reject_t)r), json_integer(d->rejects[r]));
    json_object_set_new(o, "rejected_by_reason", why);
    return o;
}

/* The status document's head: who, which mode, reconciliation and the user stream. */
static void format_head(const dash_snap_t *d, json_t *j)
{
    json_object_set_new(j, "mode", json_string(d->live ? "live" : "paper"));
    json_object_set_new(j, "reconciled_at_start", json_integer(d->recon_diffs));
    json_object_set_new(j, "fills_restored_at_start", json_integer(d->restored_fills));
    if (d->live)
        json_object_set_new(j, "reconciliation",
            json_pack("{s:I,s:I,s:I,s:I,s:I}", "differences_at_start", (json_int_t)d->recon_diffs,
                      "in_session", (json_int_t)d->recon.reconciliations,
                      "differences_in_session", (json_int_t)d->recon.recon_diffs, "halts",
                      (json_int_t)d->recon.recon_halts, "rest_outages",
                      (json_int_t)d->recon.outages));
    if (d->user_on)
        json_object_set_new(j, "user_stream",
            json_pack("{s:s,s:b,s:I,s:I,s:I}", "mode", d->user_mode, "subscribed",
                      d->user_subscribed, "subscriptions", (json_int_t)d->user_subscriptions,
                      "ends", (json_int_t)d->user_ends, "order_events",
                      (json_int_t)d->user_order_events));
    else if (d->cb_user_on) /* Coinbase's user channel, as status.json shows it */
        json_object_set_new(j, "user_stream",
                            json_pack("{s:s,s:I,s:I}", "mode", "coinbase_user", "subscriptions",
                                      (json_int_t)d->cb_user_subscriptions, "order_events",
                                      (json_int_t)d->user_order_events));
    json_object_set_new(j, "name", json_string(d->name));
    if (d->metrics_url[0])
        json_object_set_new(j, "metrics_url", json_string(d->metrics_url));
    json_object_set_new(j, "pid", json_integer(d->pid));
    json_object_set_new(j, "state", json_string(d->state));
    json_object_set_new(j, "venue", json_string(d->venue));
    json_t *venues = json_array();
    for (uint32_t v = 0; v < d->venue_count; v++) {
        const dash_venue_t *dv = &d->venues[v];
        json_array_append_new(venues, nd__live_venue_json(
            dv->name, dv->symbols, dv->symbol_count,
            dv->last_event_ns ? (d->now_ns - dv->last_event_ns) / ND_NS_PER_MS : -1,
            dv->rules_from, &dv->pnl, &dv->feed));
    }
    json_object_set_new(j, "venues", venues);
    json_object_set_new(j, "started_at", nd_json_time(d->started_ns));
    json_object_set_new(j, "updated_at", nd_json_time(d->now_ns));
    json_object_set_new(j, "updated_at_ns", json_integer(d->now_ns));
    json_object_set_new(j, "engine_time", d->engine_ns ? nd_json_time(d->engine_ns) : json_null());
    json_object_set_new(j, "rules_from", json_string(d->rules_from));
}

static json_t *latency_of(const dash_latency_t *l)
{
    json_t *j = json_object();
    json_object_set_new(j, "count", json_integer(l->count));
    json_object_set_new(j, "p50_us", l->count ? json_integer(l->p50_ns / 1000) : json_null());
    json_object_set_new(j, "p99_us", l->count ? json_integer(l->p99_ns / 1000) : json_null());
    json_object_set_new(j, "max_us", json_null()); /* a histogram keeps no maximum */
    return j;
}

static json_t *latency_json(const dash_snap_t *d)
{
    json_t *j = json_object();
    if (d->tick_to_order.on)
        json_object_set_new(j, "tick_to_order", latency_of(&d->tick_to_order));
    if (d->store_write.on)
        json_object_set_new(j, "store_write", latency_of(&d->store_write));
    for (uint32_t k = 0; k < ND_VENUES_MAX; k++)
        if (d->venue_rtt[k].on) {
            char key[64];
            snprintf(key, sizeof key, "venue_round_trip %s", d->venue_rtt[k].symbol);
            json_object_set_new(j, key, latency_of(&d->venue_rtt[k]));
        }
    return j;
}

/* The dashboard's part, with the session's own cut lists beside the engine part's. */
static json_t *dashboard_json(const dash_snap_t *d)
{
    json_t *j = nd_dashboard_figures_json(&d->dash);
    if (d->orders_total <= d->order_count && d->positions_total <= d->position_count)
        return j;
    json_t *cut = json_object_get(j, "truncated");
    if (!cut) {
        cut = json_object();
        json_object_set_new(j, "truncated", cut);
    }
    if (d->orders_total > d->order_count)
        json_object_set_new(cut, "open_orders", json_integer(d->orders_total));
    if (d->positions_total > d->position_count)
        json_object_set_new(cut, "positions", json_integer(d->positions_total));
    return j;
}

/* Any thread: the snapshot document from the figures (takes over d->extra). */
static json_t *snapshot_format(const void *snap)
{
    ND_ASSERT(snap != NULL);
    const dash_snap_t *d = snap;
    ND_ASSERT(d->order_count <= ND_LIVE_DASH_ORDERS);
    json_t *j = json_object(), *risk = NULL;
    format_head(d, j);
    json_object_set_new(j, "account", account_risk_json(d, &risk));
    json_object_set_new(j, "positions", positions_json(d));
    json_object_set_new(j, "open_orders", orders_json(d));
    json_object_set_new(j, "risk", risk);
    json_object_set_new(j, "feed", nd__live_feed_json(&d->feed, d->feed_state, d->coinbase,
                                                        d->now_ns));
    if (d->dash_url[0])
        json_object_set_new(j, "dashboard_url", json_string(d->dash_url));
    json_t *compliance = nd__live_surveil_format(&d->surveil);
    if (compliance)
        json_object_set_new(j, "compliance", compliance);
    json_t *ref = nd__live_ref_format(&d->ref);
    if (ref)
        json_object_set_new(j, "reference", ref);
    json_object_set_new(j, "orders", order_counts_json(d));
    if (d->extra) /* taken: the buffer is formatted once */
        json_object_set_new(j, d->extra_key, d->extra);
    json_object_set_new(j, "dashboard", dashboard_json(d));
    json_object_set_new(j, "latency", latency_json(d));
    return j;
}

/* The operator action into the store: "dashboard:TOKEN_ID" did action, from peer, with what
 * came of it. */
static void record(nd_live_session_t *s, const char *action, const char *token_id,
                   const char *peer, const char *detail)
{
    if (!s->store)
        return;
    char who[32], note[384], err[256];
    snprintf(who, sizeof who, "dashboard:%s", token_id);
    snprintf(note, sizeof note, "peer=%s %s", peer, detail);
    if (nd_store_append_operator_action(s->store, nd_clock_now_ns(s->clock), who, action, note,
                                        err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_ERR, "event=store_write_failed action=%s why=\"%s\"", action, err);
        s->fatal = ND_EIO;
        snprintf(s->fatal_msg, sizeof s->fatal_msg, "the store could not record %s", action);
        uv_stop(&s->loop);
    }
}

static int pause_strategy(nd_live_session_t *s, const nd_dashboard_control_t *c, char *msg,
                          size_t msg_len)
{
    nd_engine_t *e = nd_event_run_engine(s->run);
    int k = nd_dashboard_strategy_find(e, c->strategy);
    if (k < 0) {
        snprintf(msg, msg_len, "no strategy '%s' (give its name, or its index when two share "
                 "one)", c->strategy);
        return 404;
    }
    bool pause = c->action == ND_DASHBOARD_PAUSE;
    nd_err_t rc = nd_engine_strategy_pause(e, (uint32_t)k, pause);
    if (rc != ND_OK) {
        snprintf(msg, msg_len, "strategy %d: %s", k, nd_strerror(rc));
        return 409;
    }
    snprintf(msg, msg_len, "strategy %d (%s) %s", k, nd_engine_strategy_def(e, (uint32_t)k)->name,
             pause ? "paused" : "resumed");
    return 200;
}

static int control(void *ctx, const nd_dashboard_control_t *c, const char *token_id,
                   const char *peer, char *msg, size_t msg_len)
{
    nd_live_session_t *s = ctx;
    int status = 200;
    if (s->fatal != ND_OK || s->stopping) {
        snprintf(msg, msg_len, "the session is stopping");
        status = 409;
    } else if (c->action == ND_DASHBOARD_KILL) {
        ND_LOG(ND_LOG_WARN, "event=kill_switch by=dashboard token_id=%s peer=%s", token_id, peer);
        if (nd_engine_kill(nd_event_run_engine(s->run)) != ND_OK) {
            snprintf(msg, msg_len, "the store could not record the kill switch");
            status = 500;
        } else {
            snprintf(msg, msg_len, "kill switch engaged");
        }
    } else if (c->action == ND_DASHBOARD_PAUSE || c->action == ND_DASHBOARD_RESUME) {
        status = pause_strategy(s, c, msg, msg_len);
    } else if (s->host_control) { /* a launch: its pipeline */
        char who[96];
        snprintf(who, sizeof who, "dashboard:%s@%s", token_id, peer);
        status = s->host_control(s->host_control_ctx, c->action == ND_DASHBOARD_PROMOTE,
                                 c->strategy, who, msg, msg_len);
    } else {
        snprintf(msg, msg_len, "not available: %s needs the deployment pipeline, which only "
                 "'noderr launch' runs (docs/monitoring.md)", nd_dashboard_action_name(c->action));
        status = 501;
    }
    char detail[320];
    snprintf(detail, sizeof detail, "strategy=%s status=%d result=\"%s\"",
             c->strategy[0] ? c->strategy : "-", status, msg);
    record(s, nd_dashboard_action_name(c->action), token_id, peer, detail);
    return status;
}

static void on_dash_timer(uv_timer_t *t)
{
    nd_live_session_t *s = t->data;
    int64_t now = nd_clock_now_ns(s->clock);
    if (now - s->dash_sampled_ns >= s->cfg->status_every_ns) { /* one VaR sample a period */
        nd_dashboard_sample(&s->dash_state, nd_event_run_engine(s->run));
        s->dash_sampled_ns = now;
    }
    if (s->dash_thread)
        nd_dashboard_thread_publish(s->dash_thread);
    else
        nd_dashboard_publish(s->dash);
}

/* The dashboard's server: the metrics' when the config gives the dashboard no listen of its own
 * and the session serves metrics (one port for both, on the session's loop), else its own on
 * dashboard.listen, on its own thread. */
static nd_err_t start_server(nd_live_session_t *s, const nd_dashboard_token_t *token, char *err,
                             size_t err_len)
{
    const nd_dashboard_config_t *dc = &s->cfg->dashboard;
    nd_dashboard_hooks_t hooks = {.fill_cb = snapshot_fill, .format_cb = snapshot_format,
                                  .snap_size = sizeof(dash_snap_t), .control_cb = control,
                                  .ctx = s};
    nd_httpd_t *shared = dc->listen_given ? NULL : nd__live_metrics_server(s);
    nd_err_t rc;
    if (shared) {
        rc = nd_dashboard_create(shared, dc, token, &hooks, &s->dash, err, err_len);
        if (rc == ND_OK)
            nd_httpd_url(shared, s->dash_url, sizeof s->dash_url);
        return rc;
    }
    const nd_httpd_settings_t *hs = &dc->server;
    nd_httpd_config_t hc = {.listen = hs->listen,
                            .tls_cert_file = hs->tls_cert_file[0] ? hs->tls_cert_file : NULL,
                            .tls_key_file = hs->tls_key_file[0] ? hs->tls_key_file : NULL};
    char why[256] = "";
    rc = nd_dashboard_thread_start(&hc, dc, token, &hooks, &s->loop, &s->dash_thread, why,
                                   sizeof why);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "dashboard.listen: %s", why); /* the CLI names the file */
        return rc;
    }
    nd_dashboard_thread_url(s->dash_thread, s->dash_url, sizeof s->dash_url);
    return ND_OK;
}

nd_err_t nd__live_dash_open(nd_live_session_t *s, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL && s->loop_ready);
    ND_ASSERT(s->run != NULL);
    const nd_dashboard_config_t *dc = &s->cfg->dashboard;
    if (!dc->on)
        return ND_OK;
    nd_dashboard_token_t token;
    nd_err_t rc = nd_dashboard_token_load(s->cfg->state_dir, &token, err, err_len);
    if (rc == ND_OK)
        rc = start_server(s, &token, err, err_len);
    explicit_bzero(&token, sizeof token);
    if (rc != ND_OK)
        return rc;
    nd_dashboard_state_init(&s->dash_state);
    uv_timer_init(&s->loop, &s->dash_timer);
    s->dash_timer.data = s;
    s->dash_timer_on = true;
    uint64_t every_ms = (uint64_t)(1000 / dc->updates_per_sec);
    uv_timer_start(&s->dash_timer, on_dash_timer, every_ms, every_ms);
    ND_LOG(ND_LOG_INFO, "event=dashboard_listening url=%s/ shared_with_metrics=%d thread=%d",
           s->dash_url, s->dash != NULL, s->dash_thread != NULL);
    return ND_OK;
}

void nd__live_dash_stop(nd_live_session_t *s)
{
    if (s->dash_timer_on && !uv_is_closing((uv_handle_t *)&s->dash_timer))
        uv_close((uv_handle_t *)&s->dash_timer, NULL);
    s->dash_timer_on = false;
    if (s->dash_thread) /* controls from now on: 409, the session is stopping */
        nd_dashboard_thread_stop(s->dash_thread);
}

void nd__live_dash_close(nd_live_session_t *s)
{
    nd__live_dash_stop(s);
    /* Its own thread closes every client and its server before it ends; a shared server was
     * closed by the metrics before (stop_loop), its clients' close callbacks first. */
    nd_dashboard_thread_destroy(s->dash_thread);
    s->dash_thread = NULL;
    nd_dashboard_destroy(s->dash);
    s->dash = NULL;
    s->dash_url[0] = '\0';
}
