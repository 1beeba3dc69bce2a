/* session.c: a paper or live trading session on a libuv event loop (live.h).
 *
 * The loop owns: the venue's market stream (libwebsockets serving its socket on this loop),
 * a 20 ms housekeeping timer (the stream's reconnect timers, feed staleness, the graceful stop,
 * the session's duration), the status timer, and the signals (SIGTERM/SIGINT: graceful stop;
 * SIGUSR1: the kill switch). Each trade and best bid/offer of the stream becomes one market
 * event pushed through the event-level run (backtest.h), the very path an event-level backtest
 * takes, so paper fills come from the L2 simulated venue with the backtest's model; in live mode
 * the same engine trades through the venue's order adapters (session_live.c).
 *
 * Time: the engine's time is each event's receive time on the live clock, or with clock
 * "venue" the venue's own timestamps (live.h). It never goes back: an event older than the
 * engine's time is pushed at the engine's time and counted as late. */
#include "live_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/coinbase.h"
#include "noderr/err.h"
#include "noderr/fixed.h"
#include "noderr/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TICK_MS 20
#define STOP_GRACE_NS (3 * ND_NS_PER_SEC) /* cancels confirmed within this, or we leave */

/* A venue price or quantity (ND_VENUE_DECIMALS) in the instrument's units; false when it does
 * not fit the instrument's scale exactly (never rounded). */
static bool to_units(int64_t venue_value, int decimals, int64_t *out)
{
    int64_t down, up;
    if (nd_fixed_rescale(venue_value, ND_VENUE_DECIMALS, decimals, ND_ROUND_DOWN, &down) != ND_OK ||
        nd_fixed_rescale(venue_value, ND_VENUE_DECIMALS, decimals, ND_ROUND_UP, &up) != ND_OK)
        return false;
    *out = down;
    return down == up;
}

bool nd__live_md_to_event(const nd_md_event_t *md, const nd_instrument_t *inst, int64_t ts_ns,
                          uint64_t seq, nd_market_event_t *out)
{
    memset(out, 0, sizeof *out);
    out->seq = seq;
    if (md->kind == ND_MD_TRADE) {
        nd_trade_tick_t *t = &out->u.trade;
        out->kind = ND_MARKET_TRADE;
        out->source = 0;
        t->ts_ns = ts_ns;
        t->instrument_id = inst->id;
        t->aggressor = md->u.trade.aggressor == ND_MD_SIDE_ASK ? ND_SIDE_SELL : ND_SIDE_BUY;
        t->trade_id = md->u.trade.trade_id;
        return to_units(md->u.trade.px, inst->px_decimals, &t->px) &&
               to_units(md->u.trade.qty, inst->qty_decimals, &t->qty) && t->px > 0 && t->qty > 0;
    }
    if (md->kind == ND_MD_BBO) {
        nd_quote_tick_t *q = &out->u.quote;
        out->kind = ND_MARKET_QUOTE;
        out->source = 1;
        q->ts_ns = ts_ns;
        q->instrument_id = inst->id;
        q->update_id = md->u.bbo.update_id;
        return to_units(md->u.bbo.bid_px, inst->px_decimals, &q->bid_px) &&
               to_units(md->u.bbo.bid_qty, inst->qty_decimals, &q->bid_qty) &&
               to_units(md->u.bbo.ask_px, inst->px_decimals, &q->ask_px) &&
               to_units(md->u.bbo.ask_qty, inst->qty_decimals, &q->ask_qty) && q->bid_px > 0 &&
               q->ask_px > q->bid_px && q->bid_qty >= 0 && q->ask_qty >= 0;
    }
    return false;
}

static void fail(nd_live_session_t *s, nd_err_t rc, const char *why)
{
    if (s->fatal == ND_OK) {
        s->fatal = rc;
        snprintf(s->fatal_msg, sizeof s->fatal_msg, "%s", why);
        ND_LOG(ND_LOG_ERR, "event=session_fatal why=\"%s\"", why);
    }
    uv_stop(&s->loop);
}

/* The engine time of an event, never before the last one. */
static int64_t event_time(nd_live_session_t *s, const nd_md_event_t *md)
{
    int64_t venue = md->kind == ND_MD_TRADE && md->u.trade.trade_ts_ns ? md->u.trade.trade_ts_ns
                                                                        : md->venue_ts_ns;
    if (venue > s->last_venue_ns)
        s->last_venue_ns = venue;
    int64_t ts = s->cfg->clock == ND_LIVE_CLOCK_VENUE ? (venue ? venue : s->last_venue_ns)
                                                      : md->recv_ts_ns;
    if (ts < s->engine_ns) {
        s->feed.late++;
        ts = s->engine_ns;
    }
    return ts;
}

nd_err_t nd__live_push(nd_live_session_t *s, const nd_market_event_t *ev)
{
    char why[256];
    nd_err_t rc = nd_event_run_push(s->run, ev, why, sizeof why);
    if (rc == ND_OK) {
        s->engine_ns = nd_market_event_ts(ev);
        return ND_OK;
    }
    if (rc == ND_EINVAL) {
        s->feed.bad++;
        ND_LOG(ND_LOG_WARN, "event=market_event_refused why=\"%s\"", why);
        return ND_OK;
    }
    if (rc == ND_EIO && s->recorder && nd_recorder_error(s->recorder)[0])
        snprintf(why, sizeof why, "the store could not record: %s; trading halted",
                 nd_recorder_error(s->recorder));
    fail(s, rc, why);
    return rc;
}

static void set_feed_state(nd_live_session_t *s, nd_venue_state_t state, int64_t ts_ns)
{
    if (s->feed_state == state)
        return;
    s->feed_state = state;
    ND_LOG(ND_LOG_INFO, "event=feed_state state=%s", state == ND_VENUE_STALE ? "stale"
                                                     : state == ND_VENUE_CONNECTED ? "connected"
                                                                                    : "down");
    nd_market_event_t ev = {.kind = ND_MARKET_VENUE_STATUS, .source = 2, .seq = s->seq++};
    ev.u.status = (nd_venue_status_t){ts_ns > s->engine_ns ? ts_ns : s->engine_ns, 0, state};
    nd__live_push(s, &ev);
}

/* Registers one feed per symbol at the engine's first time (staleness counts from there). */
static nd_err_t add_feeds(nd_live_session_t *s, int64_t now_ns)
{
    nd_err_t rc = ND_OK;
    for (uint32_t k = 0; rc == ND_OK && k < s->cfg->symbol_count; k++) {
        char name[ND_NAME_MAX];
        nd__live_feed_name(s, k, name, sizeof name);
        uint32_t index;
        rc = nd_feed_monitor_add(&s->monitor, name, now_ns, &index);
    }
    return rc;
}

/* A print farther than integrity.max_jump from the symbol's previous one is a bad print (a
 * fat finger, a corrupted message): dropped, so nothing marks or trades on it, and the
 * data-integrity breaker trips. The next print compares with this one, so a market that really
 * moved is followed again (behind the halt, which its reset policy lifts). */
static bool price_jumped(nd_live_session_t *s, uint32_t id, int64_t px)
{
    int64_t last = s->last_trade_px[id];
    s->last_trade_px[id] = px;
    if (!s->cfg->integrity_on || s->cfg->max_jump_e6 == 0 || last <= 0)
        return false;
    int64_t dev = 0;
    if (nd_fixed_mul_div(px > last ? px - last : last - px, 1000000, last, ND_ROUND_DOWN, &dev) !=
            ND_OK ||
        dev <= s->cfg->max_jump_e6)
        return false;
    s->jumps++;
    s->feed.bad++;
    char feed[ND_NAME_MAX];
    nd__live_feed_name(s, id, feed, sizeof feed);
    ND_LOG(ND_LOG_WARN, "event=data_integrity_trip input=price_jump feed=%s "
           "measured_e6=%lld last_px=%lld px=%lld", feed, (long long)dev,
           (long long)last, (long long)px);
    if (nd_engine_data_integrity_fail_input(nd_event_run_engine(s->run), ND_INTEGRITY_PRICE_JUMP,
                                            dev) != ND_OK)
        fail(s, ND_EIO, "the store could not record the data-integrity trip");
    return true;
}

/* A venue status: Coinbase's heartbeats (one a second, not logged) carry the venue's time,
 * which moves the venue clock on between trades and dates the feed; others are logged. */
static void on_status(nd_live_session_t *s, const nd_md_event_t *md)
{
    if (md->u.status.code != ND_MD_STATUS_HEARTBEAT) {
        ND_LOG(ND_LOG_INFO, "event=venue_status code=%d", (int)md->u.status.code);
        return;
    }
    s->feed.heartbeats++;
    s->feed.last_heartbeat_ns = md->recv_ts_ns;
    if (md->venue_ts_ns > 0) {
        s->feed.heartbeat_venue_ns = md->venue_ts_ns;
        if (md->venue_ts_ns > s->last_venue_ns)
            s->last_venue_ns = md->venue_ts_ns;
    }
}

static void on_symbol_event(nd_live_session_t *s, uint32_t id, const nd_md_event_t *md);

static void on_md(void *ctx, const nd_md_event_t *md)
{
    nd_live_session_t *s = ctx;
    if (s->fatal != ND_OK || s->closing)
        return;
    if (md->kind == ND_MD_STATUS) {
        on_status(s, md);
        return;
    }
    if (md->kind != ND_MD_TRADE && md->kind != ND_MD_BBO)
        return;
    uint32_t id = 0;
    while (id < s->cfg->symbol_count && (nd__live_venue_of(s, id)->venue != md->venue ||
                                         strcmp(md->symbol, s->cfg->venue_symbols[id]) != 0))
        id++;
    if (id == s->cfg->symbol_count) {
        s->feed.bad++; /* a symbol not subscribed */
        return;
    }
    if (s->cfg->clock == ND_LIVE_CLOCK_VENUE && md->kind == ND_MD_BBO && s->last_venue_ns == 0)
        return; /* no venue time yet: bookTicker carries none on Binance Spot */
    nd_live_feed_stats_t *vf = &s->venue_feed[s->cfg->venue_of[id]];
    int64_t late = s->feed.late, bad = s->feed.bad, repeats = s->feed.repeats;
    on_symbol_event(s, id, md);
    vf->late += s->feed.late - late;
    vf->bad += s->feed.bad - bad;
    vf->repeats += s->feed.repeats - repeats;
}

/* A trade or quote of symbol id: the feed monitor, the jump check, the reference price and the
 * engine. */
static void on_symbol_event(nd_live_session_t *s, uint32_t id, const nd_md_event_t *md)
{
    nd_live_feed_stats_t *vf = &s->venue_feed[s->cfg->venue_of[id]];
    int64_t ts = event_time(s, md);
    s->feed.last_event_ns = nd_clock_now_ns(s->clock);
    if (s->feed_state != ND_VENUE_CONNECTED)
        set_feed_state(s, ND_VENUE_CONNECTED, ts);
    nd_market_event_t ev;
    if (!nd__live_md_to_event(md, nd_event_run_instrument(s->run, id), ts, s->seq++, &ev)) {
        s->feed.bad++;
        return;
    }
    if (s->monitor.feed_count == 0 && add_feeds(s, ts) != ND_OK) {
        fail(s, ND_EINVAL, "feed monitor: cannot register the feeds");
        return;
    }
    /* Binance numbers a symbol's trades consecutively; Coinbase's market_trades ids are not
     * promised gapless per product, and its sequence_num gaps resubscribe instead (a resync,
     * check_feeds). A trade id seen before (a duplicated message) is skipped: a print must not
     * mark, fill or trade twice. A late one that fills a gap goes on (at the engine's time). */
    bool numbered = md->kind == ND_MD_TRADE && md->venue == ND_VENUE_BINANCE;
    if (nd_feed_monitor_on_message(&s->monitor, id, ts,
                                   numbered ? (uint64_t)md->u.trade.trade_id : 0) ==
        ND_FEED_MSG_REPEAT) {
        s->feed.repeats++;
        return;
    }
    if (ev.kind == ND_MARKET_TRADE && price_jumped(s, id, ev.u.trade.px))
        return;
    md->kind == ND_MD_TRADE ? s->feed.trades++ : s->feed.quotes++;
    md->kind == ND_MD_TRADE ? vf->trades++ : vf->quotes++;
    vf->last_event_ns = s->feed.last_event_ns;
    nd__live_ref_on_market(s, id, md, s->feed.last_event_ns);
    s->symbol_event_ns[id] = s->feed.last_event_ns;
    s->venue_event_ns[s->cfg->venue_of[id]] = s->feed.last_event_ns;
    int64_t submitted = nd_engine_stats(nd_event_run_engine(s->run))->orders_submitted;
    if (nd__live_push(s, &ev) == ND_OK)
        nd__live_metrics_on_push(s, md->recv_ts_ns, submitted);
}

/* The stop (session_shutdown.c): no new orders, the venue's cancel-all on every live leg, the
 * flattening when asked, then the strategies' own cancels (covered by the cancel-all). */
static void begin_stop(nd_live_session_t *s, const char *why)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->stop_mono_ns = nd_clock_mono_ns(s->clock);
    if (!s->shutdown.by[0])
        snprintf(s->shutdown.by, sizeof s->shutdown.by, "%s", why);
    s->shutdown.deadline_ns = s->ask.deadline_ns > 0 ? s->ask.deadline_ns : STOP_GRACE_NS;
    s->stop_deadline_ns = s->stop_mono_ns + s->shutdown.deadline_ns;
    s->stop_engine_ns = s->engine_ns;
    ND_LOG(ND_LOG_INFO, "event=session_stopping why=%s flatten=%d deadline_ms=%lld",
           s->shutdown.by, (int)s->ask.flatten,
           (long long)(s->shutdown.deadline_ns / ND_NS_PER_MS));
    nd__live_notify("STOPPING=1");
    nd__live_notify_status("stopping (%s%s): cancelling every working order", s->shutdown.by,
                           s->ask.flatten ? ", flattening" : "");
    char detail[64];
    snprintf(detail, sizeof detail, "by=%s flatten=%d", s->shutdown.by, (int)s->ask.flatten);
    nd__live_record_action(s, "shutdown", detail);
    if (nd__live_shutdown_begin(s) != ND_OK)
        fail(s, ND_EIO, "the journal or the store could not record the shutdown's cancels");
    nd_err_t rc = nd_engine_stop_trading(nd_event_run_engine(s->run));
    if (rc != ND_OK)
        fail(s, rc, "the store could not record the stop");
}

/* The data-integrity inputs on the engine's time: a new connection resynchronises every
 * symbol's trade ids (what a reconnect lost is not a gap in the feed), then a stale symbol or an
 * unrecovered gap trips the breaker (nd_engine_feed_check records which and by how much). */
static void check_feeds(nd_live_session_t *s)
{
    if (!s->cfg->integrity_on || s->fatal != ND_OK || s->monitor.feed_count == 0)
        return;

    for (uint32_t v = 0; v < s->cfg->venue_count; v++) { /* a venue's own symbols */
        uint32_t connects = nd__live_feed_resyncs(s, v);
        const nd_live_venue_config_t *vc = &s->cfg->venues[v];
        for (; s->connects_seen[v] < connects; s->connects_seen[v]++)
            for (uint32_t k = vc->symbol_first; k < vc->symbol_first + vc->symbol_count &&
                                                k < s->monitor.feed_count; k++)
                nd_feed_monitor_on_resync(&s->monitor, k, s->engine_ns, 0);
    }
    /* A trade-id gap that late messages did not fill is resynchronised in place (the prints are
     * gone; the next one is the price), within the monitor's budget; not the feed restarted. */
    if (nd_feed_monitor_resync_gaps(&s->monitor, s->engine_ns) > 0) {
        int64_t resyncs = 0, lost = 0;
        for (uint32_t k = 0; k < s->monitor.feed_count; k++) {
            resyncs += (int64_t)s->monitor.feeds[k].resyncs;
            lost += (int64_t)s->monitor.feeds[k].lost;
        }
        ND_LOG(ND_LOG_WARN, "event=feed_gap_resync resyncs=%lld lost=%lld", (long long)resyncs,
               (long long)lost);
        s->feed.resyncs += resyncs - s->gap_resyncs;
        s->gap_resyncs = resyncs;
        s->feed.lost = s->gap_lost = lost;
    }
    for (uint32_t v = 0; v < s->cfg->venue_count; v++) /* a venue the host holds out */
        if (s->venue_held[v])
            for (uint32_t k = s->cfg->venues[v].symbol_first;
                 k < s->cfg->venues[v].symbol_first + s->cfg->venues[v].symbol_count &&
                 k < s->monitor.feed_count; k++)
                nd_feed_monitor_on_resync(&s->monitor, k, s->engine_ns, 0);
    nd_feed_verdict_t verdict;
    int32_t asset = -1;
    int64_t now = nd_clock_now_ns(s->clock);
    const nd_refprice_result_t *ref = nd__live_ref_check(s, now, &asset);
    nd_engine_t *e = nd_event_run_engine(s->run);
    int64_t trips = nd_engine_risk(e)->trips;
    nd_err_t rc = nd_engine_feed_check(e, &s->monitor, ref, &verdict);
    if (rc == ND_OK && asset >= 0 && verdict.feed < 0 && nd_engine_risk(e)->trips > trips)
        nd__live_ref_on_trip(s, asset, now);
    if (rc != ND_OK)
        fail(s, rc, "the store could not record the data-integrity trip");
    else if (verdict.failed && !s->integrity_logged) {
        s->integrity_logged = true;
        ND_LOG(ND_LOG_WARN, "event=data_integrity_trip input=%s feed=%s measured_e6=%lld",
               nd_integrity_input_name(verdict.input),
               verdict.feed >= 0 ? s->monitor.feeds[verdict.feed].name : "refprice",
               (long long)verdict.measured_e6);
    }
}

/* Live mode: every reconnect of the market stream asks each order venue for a reconciliation
 * (what the venue did while the session was blind is found through REST: fills booked once,
 * orders it does not know, balances), and a reconciliation that resolved HALT (a balance
 * differs from the trades booked) trips the kill switch, recorded as an operator action. */
static void check_venues(nd_live_session_t *s)
{
    if (!s->cfg->live || s->fatal != ND_OK)
        return;
    bool resyncs[ND_LIVE_VENUES_MAX] = {false};
    for (uint32_t v = 0; v < s->cfg->venue_count; v++) { /* a venue's stream: its legs */
        uint32_t connects = nd__live_feed_connects(s, v);
        resyncs[v] = connects > 1 && connects > s->resync_connects[v];
        if (connects > s->resync_connects[v])
            s->resync_connects[v] = connects;
    }
    uint64_t halts = 0;
    for (uint32_t k = 0; k < s->cfg->symbol_count; k++) {
        bool resync = resyncs[s->cfg->venue_of[k]];
        if (resync && s->legs[k].exec)
            nd_binance_exec_resync(s->legs[k].exec);
        if (resync && s->legs[k].cb_exec)
            nd_coinbase_exec_resync(s->legs[k].cb_exec);
        nd_binance_exec_stats_t st; /* either venue's, in Binance's shape */
        if (nd__live_leg_stats(&s->legs[k], &st))
            halts += st.recon_halts;
    }
    if (halts <= s->recon_halts_seen)
        return;
    s->recon_halts_seen = halts;
    ND_LOG(ND_LOG_ERR, "event=kill_switch by=reconciliation halts=%llu", (unsigned long long)halts);
    nd__live_record_action(s, "kill_switch", "reconciliation: a balance differs from the fills");
    if (nd_engine_kill(nd_event_run_engine(s->run)) != ND_OK)
        fail(s, ND_EIO, "the store could not record the kill switch");
}

/* A store that is down holds what it cannot write (nd_store_set_hold); at half its bound the
 * kill switch is engaged (no new orders, working ones cancelled: an operator resets it), so the
 * other half takes the answers to what is already out and no record is ever dropped. */
static void check_store(nd_live_session_t *s)
{
    if (!s->store || s->store_kill_done ||
        nd_store_held(s->store) < nd_store_hold_max(s->store) / 2)
        return;
    s->store_kill_done = true;
    ND_LOG(ND_LOG_ERR, "event=kill_switch by=store held=%lld why=\"%s\"",
           (long long)nd_store_held(s->store), nd_store_failure(s->store));
    nd__live_record_action(s, "kill_switch", "the store is down and holds half its bound");
    if (nd_engine_kill(nd_event_run_engine(s->run)) != ND_OK)
        fail(s, ND_EIO, "the store could not record the kill switch");
}

/* A new sign of a feed fault (a bad, late or repeated message, a resync, a new connection) goes
 * into status.json at once (at most every 100 ms), not at the next period: `noderr status` and
 * a watcher see what the session noticed when it noticed it. */
static void prompt_status(nd_live_session_t *s, int64_t mono)
{
    int64_t signs =
        s->feed.bad + s->feed.late + s->feed.repeats + s->feed.resyncs + s->feed.connects;
    if (signs == s->feed_signs_written || mono - s->status_prompt_mono_ns < 100 * ND_NS_PER_MS)
        return;
    s->feed_signs_written = signs;
    s->status_prompt_mono_ns = mono;
    nd__live_status_write(s);
}

static void on_tick(uv_timer_t *t)
{
    nd_live_session_t *s = t->data;
    int64_t mono = nd_clock_mono_ns(s->clock), now = nd_clock_now_ns(s->clock);
    nd__live_feed_service(s);
    int64_t since = s->feed.last_event_ns ? s->feed.last_event_ns : s->started_ns;
    if (now - since >= s->cfg->stale_after_ns && s->feed_state == ND_VENUE_CONNECTED)
        set_feed_state(s, ND_VENUE_STALE, s->engine_ns);
    check_feeds(s);
    check_venues(s);
    check_store(s);
    prompt_status(s, mono);
    nd__live_user_tick(s);
    if (s->cfg->duration_ns > 0 && mono - s->started_mono_ns >= s->cfg->duration_ns)
        begin_stop(s, "duration");
    if (s->stop_signal && !s->stopping) {
        nd__live_shutdown_take(s);
        begin_stop(s, "signal");
    }
    if (s->kill_signal) {
        s->kill_signal = false;
        ND_LOG(ND_LOG_WARN, "event=kill_switch by=signal");
        nd__live_record_action(s, "kill_switch", "SIGUSR1");
        if (nd_engine_kill(nd_event_run_engine(s->run)) != ND_OK)
            fail(s, ND_EIO, "the store could not record the kill switch");
    }
    /* Acks, fills and cancels the venue made visible since the last event. On the venue's
     * clock only a stop moves time on (the cancels' confirmations), never the live clock. */
    int64_t poll_at = s->cfg->clock == ND_LIVE_CLOCK_LOCAL ? now
                      : s->stopping                        ? s->stop_engine_ns + STOP_GRACE_NS
                                                           : 0;
    if (poll_at > 0 && s->fatal == ND_OK) {
        nd_err_t rc = nd_event_run_poll(s->run, poll_at);
        if (rc != ND_OK)
            fail(s, rc, "the engine stopped while booking the venue's answers");
        if (poll_at > s->engine_ns)
            s->engine_ns = poll_at;
    }
    if (s->stopping && (nd__live_shutdown_settled(s) || mono >= s->stop_deadline_ns ||
                        s->fatal != ND_OK))
        uv_stop(&s->loop);
}

static void on_status_timer(uv_timer_t *t)
{
    nd_live_session_t *s = t->data;
    nd__live_status_write(s);
    if (!s->stopping) /* what `systemctl status` shows (a no-op outside systemd) */
        nd__live_notify_status("trading: %u working order(s), %lld trades in, feed %s%s",
                               nd_engine_working_count(nd_event_run_engine(s->run)),
                               (long long)s->feed.trades,
                               s->feed_state == ND_VENUE_CONNECTED ? "connected"
                               : s->feed_state == ND_VENUE_STALE   ? "stale"
                                                                   : "down",
                               nd_engine_risk(nd_event_run_engine(s->run))->halted ? ", HALTED"
                                                                                    : "");
}

static void on_signal(uv_signal_t *h, int signum)
{
    nd_live_session_t *s = h->data;
    if (signum == SIGUSR1)
        s->kill_signal = true;
    else
        s->stop_signal = true;
}

/* The chaos suite's "store writer killed" (docs/chaos.md): honoured only when the session was
 * started with NODERR_CHAOS_FAULTS=1. */
static void on_chaos_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    nd_live_session_t *s = h->data;
    char err[160];
    /* Killed mid-batch: this record is appended and not yet committed when the writer dies;
     * it must be in the store after the restart like everything else. */
    nd__live_record_action(s, "chaos_fault", "store writer killed with this record uncommitted");
    if (!s->store ||
        nd_store_kill_writer(s->store, "the store writer was killed (chaos fault)", err,
                             sizeof err) != ND_OK)
        return;
    ND_LOG(ND_LOG_WARN, "event=store_writer_killed by=chaos held=%lld",
           (long long)nd_store_held(s->store));
}

void nd_live_session_stop(nd_live_session_t *s)
{
    s->stop_signal = true;
}

static nd_err_t start_loop(nd_live_session_t *s, char *err, size_t err_len)
{
    if (uv_loop_init(&s->loop) != 0) {
        snprintf(err, err_len, "cannot start the event loop");
        return ND_EIO;
    }
    s->loop_ready = true;
    uv_timer_init(&s->loop, &s->tick);
    uv_timer_init(&s->loop, &s->status_timer);
    uv_signal_init(&s->loop, &s->sig_term);
    uv_signal_init(&s->loop, &s->sig_int);
    uv_signal_init(&s->loop, &s->sig_usr1);
    uv_signal_init(&s->loop, &s->sig_chaos);
    s->tick.data = s->status_timer.data = s;
    s->sig_term.data = s->sig_int.data = s->sig_usr1.data = s->sig_chaos.data = s;
    const char *chaos = getenv("NODERR_CHAOS_FAULTS");
    if (chaos && strcmp(chaos, "1") == 0 &&
        uv_signal_start(&s->sig_chaos, on_chaos_signal, ND_LIVE_CHAOS_STORE_SIGNAL) != 0) {
        snprintf(err, err_len, "cannot install the chaos fault signal");
        return ND_EIO;
    }
    if (uv_signal_start(&s->sig_term, on_signal, SIGTERM) != 0 ||
        uv_signal_start(&s->sig_int, on_signal, SIGINT) != 0 ||
        uv_signal_start(&s->sig_usr1, on_signal, SIGUSR1) != 0) {
        snprintf(err, err_len, "cannot install the signal handlers");
        return ND_EIO;
    }
    uint64_t status_ms = (uint64_t)(s->cfg->status_every_ns / ND_NS_PER_MS);
    uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
    uv_timer_start(&s->status_timer, on_status_timer, status_ms, status_ms);
    nd__live_watchdog_start(s);
    return ND_OK;
}

/* Binance venue v's symbols' tick, lot and minimum notional from its exchangeInfo (Binance's
 * own filter parser, binance.h). */
static nd_err_t load_binance_rules(nd_live_session_t *s, uint32_t v, char *err, size_t err_len)
{
    const nd_live_venue_config_t *vc = &s->cfg->venues[v];
    char *source = s->rules_source[v];
    size_t cap = sizeof s->rules_source[v];
    int n = snprintf(source, cap, "%s/api/v3/exchangeInfo?symbols=%%5B", vc->rest_url);
    for (uint32_t k = 0; k < vc->symbol_count && n > 0 && (size_t)n < cap; k++)
        n += snprintf(source + n, cap - (size_t)n, "%s%%22%s%%22", k ? "," : "",
                      s->cfg->venue_symbols[vc->symbol_first + k]);
    if (n < 0 || (size_t)n + 4 > cap) {
        nd_err_put(err, err_len, "exchangeInfo: too many symbols for one request");
        return ND_ERANGE;
    }
    memcpy(source + n, "%5D", 4);
    nd_http_t *http = NULL;
    nd_http_response_t resp = {0};
    char why[256] = "";
    nd_err_t rc = nd_http_create(10000, &http);
    if (rc == ND_OK)
        rc = nd_http_request(http, "GET", source, NULL, NULL, &resp, why, sizeof why);
    if (rc == ND_OK && resp.status != 200) {
        snprintf(why, sizeof why, "HTTP %ld", resp.status);
        rc = ND_EIO;
    }
    for (uint32_t k = vc->symbol_first; rc == ND_OK && k < vc->symbol_first + vc->symbol_count;
         k++) {
        nd_binance_filters_t f;
        rc = nd_binance_filters_parse(resp.body, resp.body_len, s->cfg->venue_symbols[k], &f,
                                      why, sizeof why);
        if (rc == ND_ENOTFOUND)
            snprintf(why, sizeof why, "lists no symbol %s", s->cfg->venue_symbols[k]);
        else if (rc == ND_OK && (f.tick_size <= 0 || f.step_size <= 0)) {
            snprintf(why, sizeof why, "%s has no PRICE_FILTER tickSize or LOT_SIZE stepSize",
                     s->cfg->venue_symbols[k]);
            rc = ND_EPARSE;
        } else if (rc == ND_OK) /* Binance's 8 decimals are the rules' */
            s->bt.rules[k] = (nd_instrument_rules_t){f.tick_size, f.step_size, f.min_notional,
                                                     source};
    }
    if (rc != ND_OK)
        nd_err_put(err, err_len, "exchangeInfo %s: %s (or give capital.tick_size, lot_size "
                   "and min_notional)", source, why[0] ? why : nd_strerror(rc));
    nd_http_response_free(&resp);
    nd_http_destroy(http);
    return rc;
}

/* Each venue's symbols' rules from the venue, fetched once at start (before the loop runs:
 * nothing waits on it) unless the config gives them (capital) or the venue's exchange_info is
 * off. */
static nd_err_t load_rules(nd_live_session_t *s, char *err, size_t err_len)
{
    nd_err_t rc = ND_OK;
    for (uint32_t v = 0; rc == ND_OK && v < s->cfg->venue_count; v++) {
        const nd_live_venue_config_t *vc = &s->cfg->venues[v];
        if (!vc->exchange_info || s->bt.rules[vc->symbol_first].source)
            continue;
        rc = vc->venue == ND_VENUE_COINBASE ? nd__live_coinbase_rules(s, v, err, err_len)
                                            : load_binance_rules(s, v, err, err_len);
    }
    return rc;
}

nd_err_t nd_live_session_create(const nd_live_config_t *cfg, const nd_clock_t *clock,
                                nd_backtest_result_t *result, nd_live_session_t **out,
                                char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && clock != NULL);
    ND_ASSERT(result != NULL && out != NULL);
    *out = NULL;
    nd_live_session_t *s = nd_calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    s->cfg = cfg;
    s->clock = clock;
    s->bt = cfg->bt;
    s->result = result;
    s->started_ns = nd_clock_now_ns(clock);
    s->started_mono_ns = nd_clock_mono_ns(clock);
    s->feed_state = ND_VENUE_DISCONNECTED;
    /* A SIGTERM or SIGINT during start-up (the reconciliation takes seconds) waits, blocked,
     * for the loop's handlers: then it is the usual stop, right after READY. The adapters'
     * workers started meanwhile keep them blocked, so the loop's thread takes them. */
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
    nd_err_t rc = nd__live_state_claim(s, err, err_len);
    if (rc == ND_OK)
        nd__live_shutdown_clear(s);
    if (rc == ND_OK)
        rc = load_rules(s, err, err_len);
    if (rc == ND_OK)
        rc = nd__live_store_open(s, err, err_len);
    if (rc == ND_OK)
        rc = nd__live_metrics_create(s, err, err_len);
    if (rc == ND_OK && cfg->live)
        rc = nd__live_venues_open(s, err, err_len);
    if (rc == ND_OK)
        rc = nd_event_run_open(&s->bt, result, &s->run, err, err_len);
    if (rc == ND_OK && cfg->live)
        rc = nd__live_positions_restore(s, err, err_len);
    if (rc == ND_OK)
        rc = start_loop(s, err, err_len);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    if (rc == ND_OK)
        rc = nd__live_feed_open(s, on_md, err, err_len);
    if (rc == ND_OK)
        rc = nd__live_user_open(s, err, err_len);
    if (rc == ND_OK)
        rc = nd__live_ref_open(s, err, err_len); /* before the metrics: they name its sources */
    if (rc == ND_OK)
        rc = nd__live_metrics_open(s, err, err_len);
    if (rc == ND_OK && (rc = nd_feed_monitor_init(&s->monitor, &cfg->integrity)) != ND_OK)
        nd_err_put(err, err_len, "integrity: bad bounds");
    if (rc == ND_OK)
        rc = nd__live_dash_open(s, err, err_len);
    if (rc == ND_OK)
        rc = nd__live_surveil_open(s, err, err_len);
    if (rc != ND_OK) {
        nd_live_session_close(s, NULL, 0);
        return rc;
    }
    nd__live_record_action(s, "session_start", cfg->path);
    ND_LOG(ND_LOG_INFO, "event=session_start mode=%s name=%s symbols=%u first=%s ws=%s "
           "venues=%u reconciled=%lld restored_fills=%lld", cfg->live ? "live" : "paper",
           cfg->name, cfg->symbol_count, cfg->venue_symbols[0], cfg->venues[0].ws_url,
           cfg->venue_count, (long long)s->recon_diffs, (long long)s->restored_fills);
    *out = s;
    return ND_OK;
}

nd_err_t nd_live_session_run(nd_live_session_t *s, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    nd__live_status_write(s);
    nd__live_notify("READY=1");
    nd__live_notify_status("trading: %s session %s on %u symbol(s), reconciled %lld "
                           "difference(s)", s->cfg->live ? "live" : "paper", s->cfg->name,
                           s->cfg->symbol_count, (long long)s->recon_diffs);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    if (s->stopping)
        nd__live_shutdown_finish(s);
    nd__live_status_write(s);
    if (s->fatal != ND_OK) {
        snprintf(err, err_len, "%s", s->fatal_msg);
        return s->fatal;
    }
    return ND_OK;
}

const nd_live_feed_stats_t *nd_live_session_feed(const nd_live_session_t *s)
{
    return &s->feed;
}

/* Closes the servers (the metrics', the dashboard's) first, then destroys the streams
 * (libwebsockets closes its own handles on the loop), then closes the session's handles and lets
 * the loop run every close callback before closing it.
 *
 * The servers go first, before anything runs the loop again: a connection that waited in a
 * listener's backlog while the loop did not run (a scrape during the stop, `noderr launch`'s own
 * monitoring probe) must not be accepted while another libwebsockets context on this loop is
 * being destroyed; its socket was closed behind libuv's back before libuv watched it, and
 * libuv aborts (epoll_ctl: EBADF): the abort `noderr launch` showed under load on SIGTERM.
 * Destroying a context runs the loop, so the streams' callbacks can still fire: closing drops
 * them (no market data into an engine that has stopped). */
static void stop_loop(nd_live_session_t *s)
{
    s->closing = true;
    if (s->loop_ready) {
        uv_timer_stop(&s->tick);
        uv_timer_stop(&s->status_timer);
        nd__live_dash_stop(s);
        nd__live_surveil_close(s);
        nd__live_metrics_close(s);
        nd__live_dash_close(s); /* after the metrics: a shared server's clients close into it */
    }
    nd__live_feed_close(s);
    nd__live_user_close(s);
    if (!s->loop_ready)
        return;
    uv_handle_t *mine[] = {(uv_handle_t *)&s->tick, (uv_handle_t *)&s->status_timer,
                           (uv_handle_t *)&s->sig_term, (uv_handle_t *)&s->sig_int,
                           (uv_handle_t *)&s->sig_usr1, (uv_handle_t *)&s->sig_chaos,
                           (uv_handle_t *)&s->watchdog};
    for (size_t k = 0; k < sizeof mine / sizeof mine[0]; k++)
        if ((mine[k] != (uv_handle_t *)&s->watchdog || s->watchdog_on) && !uv_is_closing(mine[k]))
            uv_close(mine[k], NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&s->loop) != 0)
        ND_LOG(ND_LOG_WARN, "event=loop_close_busy");
    s->loop_ready = false;
}

nd_err_t nd_live_session_close(nd_live_session_t *s, char *err, size_t err_len)
{
    if (!s)
        return ND_OK;
    stop_loop(s);
    char why[256] = "";
    nd_err_t rc = ND_OK;
    if (s->run) {
        nd__live_record_action(s, "session_stop", s->fatal != ND_OK ? s->fatal_msg : "graceful");
        rc = nd_event_run_close(s->run, why, sizeof why);
        s->run = NULL;
    }
    nd__live_venues_close(s); /* the engine (in the result) no longer calls them */
    nd__live_ref_close(s);    /* the loop ran its Chainlink reads' last callbacks */
    nd_err_t src = nd__live_store_close(s, rc == ND_OK ? why : NULL, sizeof why);
    if (rc == ND_OK)
        rc = src;
    nd__live_state_release(s);
    nd__live_metrics_free(s);
    if (rc != ND_OK && err)
        snprintf(err, err_len, "%s", why);
    nd_free(s);
    return rc;
}
