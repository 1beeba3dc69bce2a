/* session_state.c: what a session leaves in its state directory and store (live.h).
 *
 * session.pid says which process holds the directory (a second session on it is refused while
 * that process lives); status.json is rewritten every status period and at the end, through a
 * temporary file and a rename, so `noderr status` never reads half a document. The store, when
 * the config names one, records every order event, fill and breaker trip (the recorder) and the
 * operator's actions (start, stop, kill switch). */
#include "live_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/coinbase.h"
#include "noderr/file.h"
#include "noderr/fixed.h"
#include "noderr/httpd.h"
#include "noderr/log.h"
#include "noderr/portfolio.h"
#include "noderr/scenario.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pid in STATE_DIR/session.pid, 0 when absent or unreadable. */
long nd__live_pid_read(const char *state_dir)
{
    char path[ND_LIVE_PATH_MAX + 16], err[256], *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/session.pid", state_dir);
    if (nd_file_read(path, 64, 0, &buf, &len, err, sizeof err) != ND_OK)
        return 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    bool whole = *end == '\n' || *end == '\0';
    nd_free(buf);
    return pid > 0 && whole ? pid : 0;
}

bool nd_live_pid_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

nd_err_t nd__live_state_claim(nd_live_session_t *s, char *err, size_t err_len)
{
    const char *dir = s->cfg->state_dir;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        nd_err_put(err, err_len, "state_dir %s: %s", dir, strerror(errno));
        return ND_EIO;
    }
    long other = nd__live_pid_read(dir);
    if (other && other != (long)getpid() && nd_live_pid_alive(other)) {
        nd_err_put(err, err_len, "state_dir %s: a session (pid %ld) is running there", dir, other);
        return ND_ESTATE;
    }
    snprintf(s->pid_path, sizeof s->pid_path, "%s/session.pid", dir);
    snprintf(s->status_path, sizeof s->status_path, "%s/status.json", dir);
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    nd_err_t rc = nd_file_write(s->pid_path, text, (size_t)n, err, err_len);
    s->claimed = rc == ND_OK;
    return rc;
}

void nd__live_state_release(nd_live_session_t *s)
{
    if (s->claimed && unlink(s->pid_path) != 0)
        ND_LOG(ND_LOG_WARN, "event=pid_file_remove_failed why=\"%s\"", strerror(errno));
    s->claimed = false;
}

json_t *nd__live_orders_json(const nd_live_session_t *s, const nd_engine_t *e)
{
    json_t *list = json_array();
    for (uint32_t k = 0; k < nd_engine_working_count(e); k++) {
        const nd_order_t *o = nd_engine_working(e, k);
        const nd_instrument_t *inst = nd_event_run_instrument(s->run, o->instrument_id);
        json_t *j = json_object();
        json_object_set_new(j, "client_id", json_integer((json_int_t)o->client_id));
        json_object_set_new(j, "symbol", json_string(inst->symbol));
        json_object_set_new(j, "venue",
                            json_string(nd_venue_name(nd__live_venue_of(s, o->instrument_id)->venue)));
        json_object_set_new(j, "side", json_string(o->side == ND_SIDE_BUY ? "buy" : "sell"));
        json_object_set_new(j, "type",
                            json_string(o->type == ND_ORDER_MARKET ? "market" : "limit"));
        json_object_set_new(j, "price", nd_json_fixed(o->px, inst->px_decimals));
        json_object_set_new(j, "qty", nd_json_fixed(o->qty, inst->qty_decimals));
        json_object_set_new(j, "filled", nd_json_fixed(o->filled_qty, inst->qty_decimals));
        json_object_set_new(j, "status", json_string(nd_order_status_name(o->status)));
        json_object_set_new(j, "risk_flatten", json_boolean(o->risk_flatten));
        json_object_set_new(j, "cancel_pending", json_boolean(o->cancel_sent_ns != 0));
        if (o->cancel_sent_ns != 0) /* engine time the cancel left: a reaction to what? */
            json_object_set_new(j, "cancel_sent_ns", json_integer(o->cancel_sent_ns));
        json_array_append_new(list, j);
    }
    return list;
}

static json_t *account_json(const nd_engine_t *e)
{
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    json_t *j = json_object();
    int64_t equity = nd_portfolio_equity(p), initial = nd_portfolio_initial_cash(p);
    json_object_set_new(j, "equity", nd_json_fixed(equity, ND_CASH_DECIMALS));
    json_object_set_new(j, "cash", nd_json_fixed(nd_portfolio_cash(p), ND_CASH_DECIMALS));
    json_object_set_new(j, "pnl", nd_json_fixed(equity - initial, ND_CASH_DECIMALS));
    json_object_set_new(j, "fees", nd_json_fixed(nd_portfolio_fees(p), ND_CASH_DECIMALS));
    return j;
}

/* Per instrument: the net position, the last price and the trading rules in force. */
json_t *nd__live_positions_json(const nd_live_session_t *s, const nd_engine_t *e)
{
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    json_t *list = json_array();
    for (uint32_t k = 0; k < nd_event_run_instrument_count(s->run); k++) {
        const nd_instrument_t *inst = nd_event_run_instrument(s->run, k);
        json_t *j = json_object();
        json_object_set_new(j, "symbol", json_string(inst->symbol));
        json_object_set_new(j, "venue", json_string(nd_venue_name(nd__live_venue_of(s, k)->venue)));
        json_object_set_new(j, "qty", nd_json_fixed(nd_portfolio_net_qty(p, k), inst->qty_decimals));
        json_object_set_new(j, "last_price", nd_json_fixed(nd_portfolio_last_px(p, k), inst->px_decimals));
        json_object_set_new(j, "tick_size", nd_json_fixed(inst->tick_size, inst->px_decimals));
        json_object_set_new(j, "lot_size", nd_json_fixed(inst->lot_size, inst->qty_decimals));
        json_object_set_new(j, "min_notional", nd_json_fixed(inst->min_notional, ND_CASH_DECIMALS));
        json_array_append_new(list, j);
    }
    return list;
}

static json_t *risk_json(const nd_engine_t *e, int64_t now_ns)
{
    const nd_risk_t *r = nd_engine_risk(e);
    json_t *j = json_object();
    json_object_set_new(j, "halted", json_boolean(r->halted));
    json_object_set_new(j, "kill_switch", json_boolean(r->kill_switch));
    if (r->halted) {
        json_object_set_new(j, "halt_kind", json_string(nd_breaker_kind_name(r->halt_kind)));
        json_object_set_new(j, "halted_since", nd_json_time(r->halted_since_ns));
    }
    json_object_set_new(j, "trips", json_integer(r->trips));
    (void)now_ns;
    return j;
}

json_t *nd__live_feed_json(const nd_live_feed_stats_t *f, nd_venue_state_t state,
                           bool heartbeats, int64_t now)
{
    json_t *j = json_object();
    json_object_set_new(j, "state", json_string(state == ND_VENUE_CONNECTED ? "connected"
                                                : state == ND_VENUE_STALE  ? "stale"
                                                                           : "down"));
    json_object_set_new(j, "messages", json_integer(f->messages));
    json_object_set_new(j, "trades", json_integer(f->trades));
    json_object_set_new(j, "quotes", json_integer(f->quotes));
    json_object_set_new(j, "bad", json_integer(f->bad));
    json_object_set_new(j, "late", json_integer(f->late));
    json_object_set_new(j, "repeats", json_integer(f->repeats));
    json_object_set_new(j, "resyncs", json_integer(f->resyncs));
    json_object_set_new(j, "lost", json_integer(f->lost));
    json_object_set_new(j, "connects", json_integer(f->connects));
    json_object_set_new(j, "age_ms", f->last_event_ns ? json_integer((now - f->last_event_ns) /
                                                                     ND_NS_PER_MS)
                                                      : json_null());
    if (heartbeats) { /* Coinbase's heartbeats date its feed between trades */
        json_object_set_new(j, "heartbeats", json_integer(f->heartbeats));
        json_object_set_new(j, "heartbeat_age_ms",
                            f->last_heartbeat_ns
                                ? json_integer((now - f->last_heartbeat_ns) / ND_NS_PER_MS)
                                : json_null());
        json_object_set_new(j, "venue_time", f->heartbeat_venue_ns
                                                 ? nd_json_time(f->heartbeat_venue_ns)
                                                 : json_null());
    }
    return j;
}

/* Live mode: reconciliations at start and in the session (after outages and reconnects). */
static json_t *recon_json(const nd_live_session_t *s)
{
    nd_binance_exec_stats_t sum = {0};
    for (uint32_t k = 0; k < s->cfg->symbol_count && k < ND_VENUES_MAX; k++) {
        nd_binance_exec_stats_t st;
        if (!nd__live_leg_stats(&s->legs[k], &st))
            continue;
        sum.outages += st.outages;
        sum.reconciliations += st.reconciliations;
        sum.recon_diffs += st.recon_diffs;
        sum.recon_halts += st.recon_halts;
    }
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "differences_at_start", (json_int_t)s->recon_diffs,
                     "in_session", (json_int_t)sum.reconciliations, "differences_in_session",
                     (json_int_t)sum.recon_diffs, "halts", (json_int_t)sum.recon_halts,
                     "rest_outages", (json_int_t)sum.outages);
}

nd_binance_user_mode_t nd__live_user_mode(const nd_live_session_t *s)
{
    for (uint32_t v = 0; v < s->cfg->venue_count; v++)
        if (s->cfg->venues[v].venue == ND_VENUE_BINANCE)
            return s->cfg->venues[v].user_stream;
    return s->cfg->venues[0].user_stream;
}

void nd__live_venue_pnl(const nd_live_session_t *s, const nd_engine_t *e, uint32_t v,
                        nd_attribution_t *sum)
{
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    const nd_live_venue_config_t *vc = &s->cfg->venues[v];
    *sum = (nd_attribution_t){0};
    for (uint32_t k = vc->symbol_first; k < vc->symbol_first + vc->symbol_count; k++) {
        nd_attribution_t a;
        nd_portfolio_by_venue(p, nd_event_run_instrument(s->run, k)->venue, &a);
        sum->realized += a.realized;
        sum->unrealized += a.unrealized;
        sum->fees += a.fees;
        sum->net += a.net;
        sum->trades += a.trades;
    }
}

json_t *nd__live_venue_feed_json(const nd_live_feed_stats_t *f)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "messages", (json_int_t)f->messages,
                     "trades", (json_int_t)f->trades, "quotes", (json_int_t)f->quotes, "bad",
                     (json_int_t)f->bad, "late", (json_int_t)f->late, "repeats",
                     (json_int_t)f->repeats, "resyncs", (json_int_t)f->resyncs, "lost",
                     (json_int_t)f->lost, "connects", (json_int_t)f->connects);
}

json_t *nd__live_venue_json(const char *name, const char *const *symbols, uint32_t symbol_count,
                            int64_t age_ms, const char *rules_from, const nd_attribution_t *sum,
                            const nd_live_feed_stats_t *feed)
{
    json_t *list = json_array();
    for (uint32_t k = 0; k < symbol_count; k++)
        json_array_append_new(list, json_string(symbols[k]));
    json_t *pnl = json_object();
    json_object_set_new(pnl, "realized", nd_json_fixed(sum->realized, ND_CASH_DECIMALS));
    json_object_set_new(pnl, "unrealized", nd_json_fixed(sum->unrealized, ND_CASH_DECIMALS));
    json_object_set_new(pnl, "fees", nd_json_fixed(sum->fees, ND_CASH_DECIMALS));
    json_object_set_new(pnl, "net", nd_json_fixed(sum->net, ND_CASH_DECIMALS));
    json_object_set_new(pnl, "round_trips", json_integer(sum->trades));
    return json_pack("{s:s,s:o,s:o,s:s,s:o,s:o}", "name", name, "symbols", list, "age_ms",
                     age_ms >= 0 ? json_integer(age_ms) : json_null(), "rules_from",
                     rules_from ? rules_from : "defaults", "pnl", pnl, "feed",
                     nd__live_venue_feed_json(feed));
}

/* Per venue: its symbols, the age of its last market event, where its rules came from and its
 * P&L (the engine's attribution by venue, summed over the order venues of its symbols). */
static json_t *venues_json(const nd_live_session_t *s, const nd_engine_t *e, int64_t now)
{
    json_t *list = json_array();
    for (uint32_t v = 0; v < s->cfg->venue_count; v++) {
        const nd_live_venue_config_t *vc = &s->cfg->venues[v];
        const char *symbols[ND_VENUES_MAX];
        for (uint32_t k = 0; k < vc->symbol_count && k < ND_VENUES_MAX; k++)
            symbols[k] = s->cfg->venue_symbols[vc->symbol_first + k];
        nd_attribution_t sum;
        nd__live_venue_pnl(s, e, v, &sum);
        int64_t last = s->venue_event_ns[v];
        json_array_append_new(list, nd__live_venue_json(nd_venue_name(vc->venue), symbols,
                                                        vc->symbol_count,
                                                        last ? (now - last) / ND_NS_PER_MS : -1,
                                                        s->bt.rules[vc->symbol_first].source,
                                                        &sum, &s->venue_feed[v]));
    }
    return list;
}

/* "reference": the reference price per asset, when on (the dashboard's figures, formatted). */
static void add_reference(const nd_live_session_t *s, int64_t now, json_t *j)
{
    if (!s->ref)
        return;
    nd__live_ref_figures_t *ref = nd_alloc(sizeof *ref);
    if (!ref)
        return;
    nd__live_ref_fill(s, now, ref);
    json_object_set_new(j, "reference", nd__live_ref_format(ref));
    nd_free(ref);
}

json_t *nd_live_status_json(const nd_live_session_t *s)
{
    ND_ASSERT(s != NULL && s->run != NULL);
    const nd_engine_t *e = nd_event_run_engine(s->run);
    const nd_engine_stats_t *st = nd_engine_stats(e);
    int64_t now = nd_clock_now_ns(s->clock);
    json_t *j = json_object();
    json_object_set_new(j, "mode", json_string(s->cfg->live ? "live" : "paper"));
    json_object_set_new(j, "reconciled_at_start", json_integer(s->recon_diffs));
    json_object_set_new(j, "fills_restored_at_start", json_integer(s->restored_fills));
    if (s->cfg->live)
        json_object_set_new(j, "reconciliation", recon_json(s));
    if (s->user)
        json_object_set_new(
            j, "user_stream",
            json_pack("{s:s,s:b,s:I,s:I,s:I}", "mode", nd_binance_user_mode_name(nd__live_user_mode(s)),
                      "subscribed", nd_binance_user_subscribed(s->user), "subscriptions",
                      (json_int_t)nd_binance_user_subscriptions(s->user), "ends",
                      (json_int_t)nd_binance_user_ends(s->user), "order_events",
                      (json_int_t)s->user_order_events));
    else if (s->cb_user) /* Coinbase's user channel: (re)subscriptions, order reports taken */
        json_object_set_new(j, "user_stream",
                            json_pack("{s:s,s:I,s:I}", "mode", "coinbase_user", "subscriptions",
                                      (json_int_t)nd_coinbase_stream_resyncs(s->cb_user),
                                      "order_events", (json_int_t)s->user_order_events));
    json_object_set_new(j, "name", json_string(s->cfg->name));
    if (s->metrics_url[0])
        json_object_set_new(j, "metrics_url", json_string(s->metrics_url));
    json_object_set_new(j, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(j, "state", json_string(s->fatal != ND_OK   ? "failed"
                                                : s->shutdown.done ? "stopped"
                                                : s->stopping      ? "stopping"
                                                                   : "running"));
    char venues[32];
    nd__live_venues_label(s->cfg, venues, sizeof venues);
    json_object_set_new(j, "venue", json_string(venues));
    json_object_set_new(j, "venues", venues_json(s, e, now));
    json_object_set_new(j, "started_at", nd_json_time(s->started_ns));
    json_object_set_new(j, "updated_at", nd_json_time(now));
    json_object_set_new(j, "updated_at_ns", json_integer(now));
    json_object_set_new(j, "engine_time", s->engine_ns ? nd_json_time(s->engine_ns) : json_null());
    json_object_set_new(j, "rules_from", json_string(s->bt.rules[0].source ? s->bt.rules[0].source
                                                                           : "defaults"));
    json_object_set_new(j, "account", account_json(e));
    json_object_set_new(j, "positions", nd__live_positions_json(s, e));
    json_object_set_new(j, "open_orders", nd__live_orders_json(s, e));
    json_object_set_new(j, "risk", risk_json(e, now));
    json_object_set_new(j, "feed",
                        nd__live_feed_json(&s->feed, s->feed_state, s->cb_stream != NULL, now));
    if (s->dash_url[0])
        json_object_set_new(j, "dashboard_url", json_string(s->dash_url));
    json_t *compliance = nd__live_surveil_json(s); /* post-trade surveillance, when on */
    if (compliance)
        json_object_set_new(j, "compliance", compliance);
    add_reference(s, now, j);
    json_t *o = json_object();
    json_object_set_new(o, "submitted", json_integer(st->orders_submitted));
    json_object_set_new(o, "accepted", json_integer(st->orders_accepted));
    json_object_set_new(o, "rejected", json_integer(st->orders_rejected));
    json_object_set_new(o, "cancelled", json_integer(st->orders_cancelled));
    json_object_set_new(o, "fills", json_integer(st->fills));
    json_t *why = json_object();
    for (int r = 1; r < ND_REJECT_SLOTS; r++)
        if (nd_engine_rejects(e, (nd_reject_t)r) > 0)
            json_object_set_new(why, nd_reject_name((nd_reject_t)r),
                                json_integer(nd_engine_rejects(e, (nd_reject_t)r)));
    json_object_set_new(o, "rejected_by_reason", why);
    json_object_set_new(j, "orders", o);
    if (s->extra_fn)
        json_object_set_new(j, s->extra_key, s->extra_fn(s->extra_ctx));
    return j;
}

void nd__live_status_write(nd_live_session_t *s)
{
    if (!s->run || !s->claimed)
        return;
    json_t *doc = nd_live_status_json(s);
    size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS;
    size_t need = json_dumpb(doc, NULL, 0, flags);
    char *text = need ? nd_alloc(need) : NULL;
    char err[512] = "no memory";
    if (!text || json_dumpb(doc, text, need, flags) != need ||
        nd_file_write(s->status_path, text, need, err, sizeof err) != ND_OK)
        ND_LOG(ND_LOG_WARN, "event=status_write_failed why=\"%s\"", err);
    nd_free(text);
    json_decref(doc);
}

nd_err_t nd_live_status_read(const char *state_dir, const nd_clock_t *clock, int64_t stale_ns,
                             json_t **doc, bool *running, char *err, size_t err_len)
{
    ND_ASSERT(state_dir != NULL && doc != NULL);
    ND_ASSERT(running != NULL && clock != NULL);
    char path[ND_LIVE_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/status.json", state_dir);
    if (access(path, F_OK) != 0) {
        nd_err_put(err, err_len, "%s: no session has run there (no status.json)", state_dir);
        return ND_ENOTFOUND;
    }
    nd_err_t rc = nd_json_file_load(path, 16u << 20, 0, doc, err, err_len);
    if (rc != ND_OK)
        return rc;
    json_t *at = json_object_get(*doc, "updated_at_ns");
    int64_t age = at && json_is_integer(at) ? nd_clock_now_ns(clock) - json_integer_value(at)
                                            : INT64_MAX;
    *running = nd_live_pid_alive(nd__live_pid_read(state_dir)) && age < stale_ns;
    return ND_OK;
}

nd_err_t nd_live_kill(const char *state_dir, char *err, size_t err_len)
{
    long pid = nd__live_pid_read(state_dir);
    if (!nd_live_pid_alive(pid)) {
        nd_err_put(err, err_len, "%s: no session is running there", state_dir);
        return ND_ENOTFOUND;
    }
    if (kill((pid_t)pid, SIGUSR1) != 0) {
        nd_err_put(err, err_len, "pid %ld: %s", pid, strerror(errno));
        return ND_EIO;
    }
    return ND_OK;
}

nd_err_t nd__live_store_open(nd_live_session_t *s, char *err, size_t err_len)
{
    const nd_live_config_t *cfg = s->cfg;
    if (!cfg->store_url[0])
        return ND_OK;
    nd_instrument_t *insts = s->store_insts; /* the recorder borrows them */
    nd_err_t rc = nd_store_open(cfg->store_url, ND_STORE_CREATE | ND_STORE_SMALL_CACHE, &s->store,
                                 err, err_len);
    for (uint32_t k = 0; rc == ND_OK && k < cfg->symbol_count; k++) {
        const char *symbol = k == 0 ? s->bt.symbol : s->bt.more[k - 1].symbol;
        char venue[ND_NAME_MAX] = "l2sim"; /* as the run names its venues */
        if (k > 0)
            snprintf(venue, sizeof venue, "l2sim-%u", k);
        rc = nd_instrument_init(&insts[k], symbol, venue);
        insts[k].id = k;
    }
    if (rc != ND_OK)
        return rc;
    for (uint32_t k = 0; k < s->bt.strategy_count; k++)
        s->strategy_names[k] = s->bt.strategies[k].def->name;
    /* A session never stops recording because a write failed: the store holds what it could
     * not write and the health check's flushes retry (docs/compliance-store.md "Holding"). */
    rc = nd_store_set_hold(s->store, ND_STORE_HOLD_DEFAULT, err, err_len);
    if (rc == ND_OK)
        rc = nd_recorder_create(s->store, cfg->name, insts, cfg->symbol_count,
                                s->strategy_names, s->bt.strategy_count, 0, &s->recorder, err,
                                err_len);
    if (rc != ND_OK)
        return rc;
    s->bt.tap.on_event = nd_recorder_on_event;
    s->bt.tap.on_bar_done = NULL;
    s->bt.tap.ctx = s->recorder;
    return ND_OK;
}

void nd__live_record_action(nd_live_session_t *s, const char *action, const char *detail)
{
    if (!s->store)
        return;
    char err[256];
    if (nd_store_append_operator_action(s->store, nd_clock_now_ns(s->clock), s->cfg->name, action,
                                        detail, err, sizeof err) != ND_OK)
        ND_LOG(ND_LOG_ERR, "event=store_write_failed action=%s why=\"%s\"", action, err);
}

nd_err_t nd__live_store_close(nd_live_session_t *s, char *err, size_t err_len)
{
    nd_err_t rc = ND_OK;
    char why[256] = "";
    if (s->recorder)
        rc = nd_recorder_flush(s->recorder, why, sizeof why);
    else if (s->store)
        rc = nd_store_flush(s->store, why, sizeof why);
    if (rc != ND_OK && err)
        snprintf(err, err_len, "store %s: %s", s->cfg->store_url, why);
    if (rc != ND_OK && s->store && nd_store_held(s->store) > 0)
        ND_LOG(ND_LOG_ERR, "event=store_records_lost held=%lld why=\"%s\"",
               (long long)nd_store_held(s->store), why);
    nd_recorder_destroy(s->recorder);
    nd_store_close(s->store);
    s->recorder = NULL;
    s->store = NULL;
    return rc;
}
