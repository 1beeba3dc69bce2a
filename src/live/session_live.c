/* session_live.c: the live side of a session (`noderr live`): one Binance order adapter per
 * symbol (binance.h "The live order venue"), each with its REST client, its order journal in the
 * state directory and its local view, brought up in the order that keeps orders from being lost
 * or doubled:
 *   1. the journal is replayed into the local view (and its FILL records kept);
 *   2. a RUN record is appended (this start's number: a new run gives new client order ids);
 *   3. the adapter reconciles the local view with the venue (open orders, unanswered intents,
 *      trades since the last one seen, balances), journaling and applying every difference, and
 *      cancels whatever of ours is still open (a restart does not resume its orders: the
 *      strategies place them again);
 *   4. its worker starts; the engine trades through it.
 * After the engine starts, every fill the journal holds is booked into the portfolio, so the
 * strategies' positions, cash and fees after a restart (even after kill -9) are those the venue
 * executed. */
#include "live_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/coinbase.h"
#include "noderr/log.h"
#include "noderr/portfolio.h"

#include <stdio.h>
#include <string.h>

static nd_err_t keep_fill(nd_live_leg_t *leg, const nd_recon_trade_t *trade)
{
    nd_recon_trade_t *grown = nd_array_grow(leg->fills, &leg->fill_cap, leg->fill_count + 1,
                                            sizeof *grown, 64);
    if (!grown)
        return ND_ENOMEM;
    leg->fills = grown;
    leg->fills[leg->fill_count++] = *trade;
    return ND_OK;
}

static void fold(void *ctx, const nd_journal_rec_t *rec)
{
    nd_live_leg_t *leg = ctx;
    if (rec->kind == ND_JOURNAL_RUN)
        leg->runs = rec->run;
    if (leg->fold_rc == ND_OK)
        leg->fold_rc = nd_recon_local_fold(leg->local, rec, &leg->assets, 1);
    bool booked = rec->kind == ND_JOURNAL_FILL ||
                  (rec->kind == ND_JOURNAL_RECON && rec->recon_kind == ND_RECON_FILL_MISSING &&
                   rec->reason == ND_RESOLVE_BOOK);
    if (booked && leg->fold_rc == ND_OK)
        leg->fold_rc = keep_fill(leg, &rec->trade);
}

static nd_err_t leg_journal(nd_live_session_t *s, nd_live_leg_t *leg, uint32_t k, char *err,
                            size_t err_len)
{
    char path[ND_LIVE_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/journal-%s.bin", s->cfg->state_dir, s->cfg->venue_symbols[k]);
    nd_err_t rc = nd_journal_open(path, fold, leg, &leg->journal, err, err_len);
    if (rc == ND_OK && leg->fold_rc != ND_OK) {
        nd_err_put(err, err_len, "journal %s does not replay: %s", path,
                   nd_strerror(leg->fold_rc));
        rc = leg->fold_rc;
    }
    if (rc != ND_OK)
        return rc;
    nd_journal_rec_t run = {.kind = ND_JOURNAL_RUN, .run = leg->runs + 1,
                            .ts_ns = nd_clock_now_ns(s->clock)};
    snprintf(run.tag, sizeof run.tag, "%s", nd__live_venue_of(s, k)->order_tag);
    rc = nd_journal_append(leg->journal, &run, err, err_len);
    /* The RUN record is durable in either mode: the run number is in every client order id of
     * this run, so a power loss can never make the next run reuse one. */
    if (rc == ND_OK)
        rc = nd_journal_sync(leg->journal);
    if (rc == ND_OK)
        rc = nd_journal_set_sync(leg->journal, s->cfg->journal_sync, err, err_len);
    leg->runs = run.run;
    return rc;
}

static nd_err_t leg_recover(nd_live_session_t *s, nd_live_leg_t *leg, uint32_t k, char *err,
                            size_t err_len)
{
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    nd_recon_diff_t diffs[64];
    size_t n = 0;
    bool halt = false;
    nd_err_t rc = leg->cb_exec ? nd_coinbase_exec_recover(leg->cb_exec, &policy, true, diffs, 64,
                                                          &n, &halt, err, err_len)
                               : nd_binance_exec_recover(leg->exec, &policy, true, diffs, 64, &n,
                                                         &halt, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (n > 64) {
        /* All are journaled and applied; the next start folds them from the journal. */
        nd_err_put(err, err_len, "reconciliation of %s resolved %zu differences, more than one "
                   "start reports: start again", s->cfg->venue_symbols[k], n);
        return ND_ESTATE;
    }
    for (size_t d = 0; d < n; d++) { /* each is logged by the adapter */
        if (diffs[d].kind == ND_RECON_FILL_MISSING && diffs[d].resolution == ND_RESOLVE_BOOK &&
            keep_fill(leg, &diffs[d].trade) != ND_OK)
            return ND_ENOMEM; /* booked now: the portfolio takes it with the journal's */
    }
    s->recon_diffs += (int64_t)n;
    if (halt) {
        nd_err_put(err, err_len, "reconciliation of %s found a difference that halts (see the "
                   "log): resolve it at the venue, then start again", s->cfg->venue_symbols[k]);
        return ND_ESTATE;
    }
    return leg->cb_exec ? nd_coinbase_exec_start(leg->cb_exec) : nd_binance_exec_start(leg->exec);
}

static void recovered_fill(void *ctx, const nd_recon_trade_t *trade)
{
    nd_live_leg_t *leg = ctx;
    if (keep_fill(leg, trade) != ND_OK)
        leg->fold_rc = ND_ENOMEM; /* checked after the recovery */
}

/* A Coinbase leg: the product's rules (the pre-trade filters), the REST client with the API
 * key's ES256 JWTs, the journal, the adapter reconciled and started. */
static nd_err_t leg_open_coinbase(nd_live_session_t *s, const nd_secret_t *sec, uint32_t k,
                                  nd_live_leg_t *leg, char *err, size_t err_len)
{
    const char *v = s->cfg->venue_symbols[k];
    const nd_live_venue_config_t *vc = nd__live_venue_of(s, k);
    nd_coinbase_exec_config_t ecfg = {.journal = NULL, .local = leg->local, .clock = s->clock,
                                      .product_id = v, .instrument_id = k,
                                      .assets = leg->assets, .tag = vc->order_tag,
                                      .maker_fee_bps_e2 = s->bt.engine.venue.maker_fee_bps_e2,
                                      .taker_fee_bps_e2 = s->bt.engine.venue.taker_fee_bps_e2,
                                      .recover_fill_cb = recovered_fill, .recover_fill_ctx = leg,
                                      /* the user channel is the primary source, polling
                                       * the safety net (docs/live.md) */
                                      .user_channel = !vc->user_stream_off};
    nd_err_t rc = nd_coinbase_public_product(vc->rest_url, v, 10000, &ecfg.rules, err, err_len);
    if (rc == ND_OK)
        rc = nd_coinbase_rest_create(vc->rest_url, sec->api_key, sec->api_secret, s->clock,
                                     10000, &leg->cb_rest, err, err_len);
    if (rc == ND_OK)
        rc = leg_journal(s, leg, k, err, err_len);
    ecfg.rest = leg->cb_rest;
    ecfg.journal = leg->journal;
    ecfg.run = leg->runs;
    if (rc == ND_OK)
        rc = nd_coinbase_exec_create(&ecfg, &leg->cb_exec, err, err_len);
    if (rc == ND_OK)
        rc = leg_recover(s, leg, k, err, err_len);
    if (rc == ND_OK && leg->fold_rc != ND_OK)
        rc = leg->fold_rc;
    if (rc != ND_OK)
        return rc;
    leg->venue = nd_coinbase_exec_venue(leg->cb_exec);
    snprintf(leg->venue.facts.name, sizeof leg->venue.facts.name, "coinbase-%u", k);
    s->bt.ticks.live_venues[k] = &leg->venue;
    return ND_OK;
}

static nd_err_t leg_open(nd_live_session_t *s, const nd_secret_t *sec, uint32_t k, char *err,
                         size_t err_len)
{
    nd_live_leg_t *leg = &s->legs[k];
    const nd_live_venue_config_t *vc = nd__live_venue_of(s, k);
    nd_instrument_t inst;
    const char *symbol = k == 0 ? s->bt.symbol : s->bt.more[k - 1].symbol;
    if (nd_instrument_init(&inst, symbol, nd_venue_name(vc->venue)) != ND_OK)
        return ND_EINVAL;
    snprintf(leg->assets.base, sizeof leg->assets.base, "%s", inst.base);
    snprintf(leg->assets.quote, sizeof leg->assets.quote, "%s", inst.quote);
    leg->local = nd_calloc(1, sizeof *leg->local);
    if (!leg->local)
        return ND_ENOMEM;
    if (vc->venue == ND_VENUE_COINBASE)
        return leg_open_coinbase(s, sec, k, leg, err, err_len);
    nd_binance_rest_config_t rc_cfg = {.base_url = vc->rest_url, .secret = sec,
                                       .key_type = vc->key_type};
    const char *v = s->cfg->venue_symbols[k];
    nd_err_t rc = nd_binance_rest_create(&rc_cfg, s->clock, &leg->rest, err, err_len);
    if (rc == ND_OK)
        rc = nd_binance_rest_sync_time(leg->rest, err, err_len);
    if (rc == ND_OK)
        rc = nd_binance_rest_load_filters(leg->rest, v, err, err_len);
    if (rc == ND_OK)
        rc = leg_journal(s, leg, k, err, err_len);
    char marks[ND_LIVE_PATH_MAX + 64];
    snprintf(marks, sizeof marks, "%s/sending-%s.txt", s->cfg->state_dir, v);
    nd_binance_exec_config_t ecfg = {.rest = leg->rest, .journal = leg->journal,
                                     .local = leg->local, .clock = s->clock, .symbol = v,
                                     .instrument_id = k, .assets = leg->assets,
                                     .tag = vc->order_tag, .run = leg->runs,
                                     .maker_fee_bps_e2 = s->bt.engine.venue.maker_fee_bps_e2,
                                     .taker_fee_bps_e2 = s->bt.engine.venue.taker_fee_bps_e2,
                                     .round_trip = nd__live_metrics_venue_rtt(s, k),
                                     .sending_path = marks};
    if (rc == ND_OK)
        rc = nd_binance_exec_create(&ecfg, &leg->exec, err, err_len);
    if (rc == ND_OK)
        rc = leg_recover(s, leg, k, err, err_len);
    if (rc != ND_OK)
        return rc;
    leg->venue = nd_binance_exec_venue(leg->exec);
    /* One adapter per symbol: each needs its own name, since instruments route by name. */
    snprintf(leg->venue.facts.name, sizeof leg->venue.facts.name, "binance-%u", k);
    s->bt.ticks.live_venues[k] = &leg->venue;
    return ND_OK;
}

/* Venue v's legs with its own API key (its secrets_file, or its NODERR_<VENUE>_* variables). */
static nd_err_t venue_open(nd_live_session_t *s, uint32_t v, char *err, size_t err_len)
{
    const nd_live_venue_config_t *vc = &s->cfg->venues[v];
    nd_secret_t sec;
    char why[256] = "";
    bool coinbase = vc->venue == ND_VENUE_COINBASE;
    nd_err_t rc = nd_secret_load(coinbase ? "COINBASE" : "BINANCE",
                                 vc->secrets_file[0] ? vc->secrets_file : NULL, &sec, why,
                                 sizeof why);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "live trading needs the account's API key%s%s: %s",
                   s->cfg->venue_count > 1 ? " on " : "",
                   s->cfg->venue_count > 1 ? nd_venue_name(vc->venue) : "", why);
        return rc;
    }
    for (uint32_t k = vc->symbol_first; rc == ND_OK && k < vc->symbol_first + vc->symbol_count;
         k++) {
        char leg_err[400] = "";
        rc = leg_open(s, &sec, k, leg_err, sizeof leg_err);
        if (rc != ND_OK)
            nd_err_put(err, err_len, "%s: %s", s->cfg->venue_symbols[k],
                       leg_err[0] ? leg_err : nd_strerror(rc));
    }
    nd_secret_wipe(&sec);
    return rc;
}

nd_err_t nd__live_venues_open(nd_live_session_t *s, char *err, size_t err_len)
{
    nd_err_t rc = ND_OK;
    for (uint32_t v = 0; rc == ND_OK && v < s->cfg->venue_count; v++)
        rc = venue_open(s, v, err, err_len);
    return rc;
}

static void on_user(void *ctx, const nd_md_event_t *ev)
{
    nd_live_session_t *s = ctx;
    /* An executionReport is booked by its symbol's adapter as it arrives (fills and ends, by
     * trade id: the poll, slower, books what the stream lost); an order list's listStatus
     * brings that adapter's poll forward. */
    bool list = ev->kind == ND_MD_STATUS && ev->u.status.code == ND_MD_STATUS_ORDER_LIST;
    if (ev->kind == ND_MD_ORDER_UPDATE || list) {
        for (uint32_t k = 0; k < s->cfg->symbol_count; k++)
            if (s->legs[k].exec && strcmp(ev->symbol, s->cfg->venue_symbols[k]) == 0) {
                if (list)
                    nd_binance_exec_wake(s->legs[k].exec);
                else
                    nd_binance_exec_on_order(s->legs[k].exec, ev);
                s->user_order_events++;
            }
        return;
    }
    if (ev->kind == ND_MD_STATUS && (ev->u.status.code == ND_MD_STATUS_STREAM_TERMINATED ||
                                     ev->u.status.code == ND_MD_STATUS_LISTEN_KEY_EXPIRED))
        ND_LOG(ND_LOG_WARN, "event=user_stream_end why=%s",
               ev->u.status.code == ND_MD_STATUS_STREAM_TERMINATED ? "eventStreamTerminated"
                                                                   : "listenKeyExpired");
}

static void on_cb_user(void *ctx, const nd_md_event_t *ev)
{
    nd_live_session_t *s = ctx;
    if (ev->kind != ND_MD_ORDER_UPDATE)
        return;
    for (uint32_t k = 0; k < s->cfg->symbol_count; k++)
        if (s->legs[k].cb_exec && strcmp(ev->symbol, s->cfg->venue_symbols[k]) == 0) {
            nd_coinbase_exec_on_order(s->legs[k].cb_exec, ev);
            s->user_order_events++;
        }
}

/* Coinbase: the user channel of every product, its JWTs signed with the account's key. */
static nd_err_t user_open_coinbase(nd_live_session_t *s, const nd_live_venue_config_t *vc,
                                  char *err, size_t err_len)
{
    nd_secret_t sec;
    char why[256] = "";
    nd_err_t rc = nd_secret_load("COINBASE", vc->secrets_file[0] ? vc->secrets_file : NULL, &sec,
                                 why, sizeof why);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "the user channel needs the account's API key: %s", why);
        return rc;
    }
    /* The client adds heartbeats on the same connection: its sequence_num moves every second,
     * so a lost user update shows as a gap within a second (a resubscription, then a
     * reconciliation), and a connection silent for 5 s is renewed. */
    static const char *const channels[] = {"user"};
    const char *ids[ND_VENUES_MAX];
    for (uint32_t i = 0; i < vc->symbol_count; i++)
        ids[i] = s->cfg->venue_symbols[vc->symbol_first + i];
    nd_coinbase_stream_config_t cc = {.url = vc->ws_url, .product_ids = ids,
                                      .product_count = vc->symbol_count,
                                      .channels = channels, .channel_count = 1,
                                      .key_name = sec.api_key, .private_key_pem = sec.api_secret,
                                      .seed = s->cfg->bt.ticks.venue.seed + 1,
                                      .backoff_min_ns = 200 * ND_NS_PER_MS,
                                      .stale_after_ns = 5 * ND_NS_PER_SEC,
                                      .uv_loop = &s->loop};
    rc = nd_coinbase_stream_create(ND_VENUE_COINBASE, &cc, s->clock, on_cb_user, s, &s->cb_user,
                                   why, sizeof why);
    nd_secret_wipe(&sec);
    if (rc != ND_OK)
        nd_err_put(err, err_len, "user channel: %s", why);
    else
        ND_LOG(ND_LOG_INFO, "event=user_stream_open mode=coinbase_user");
    return rc;
}

nd_err_t nd__live_user_open(nd_live_session_t *s, char *err, size_t err_len)
{
    /* New orders and cancels leave from the loop from now on (binance.h: attach_loop). */
    for (uint32_t k = 0; k < s->cfg->symbol_count; k++) {
        nd_err_t arc = s->legs[k].exec ? nd_binance_exec_attach_loop(s->legs[k].exec, &s->loop,
                                                                     err, err_len)
                                       : ND_OK;
        if (arc != ND_OK)
            return arc;
    }
    /* Binance's user data stream and Coinbase's user channel, for the venues that have one. */
    const nd_live_venue_config_t *vc = NULL;
    for (uint32_t v = 0; s->cfg->live && v < s->cfg->venue_count; v++) {
        const nd_live_venue_config_t *x = &s->cfg->venues[v];
        if (x->venue == ND_VENUE_BINANCE)
            vc = x;
        else if (x->venue == ND_VENUE_COINBASE && !x->user_stream_off) {
            nd_err_t crc = user_open_coinbase(s, x, err, err_len);
            if (crc != ND_OK)
                return crc;
        }
    }
    if (!s->cfg->live || !vc || vc->user_stream_off)
        return ND_OK;
    nd_secret_t sec;
    char why[256] = "";
    nd_err_t rc = nd_secret_load("BINANCE", vc->secrets_file[0] ? vc->secrets_file : NULL, &sec,
                                 why, sizeof why);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "the user data stream needs the account's API key: %s", why);
        return rc;
    }
    nd_binance_user_config_t ucfg = {.mode = vc->user_stream, .ws_base_url = vc->ws_url,
                                     .ws_api_url = vc->ws_api_url,
                                     .rest_base_url = vc->rest_url, .secret = &sec,
                                     .seed = s->cfg->bt.ticks.venue.seed + 1,
                                     .backoff_min_ns = 200 * ND_NS_PER_MS,
                                     .key_type = vc->key_type, .uv_loop = &s->loop};
    rc = nd_binance_user_create(&ucfg, s->clock, on_user, s, &s->user, why, sizeof why);
    nd_secret_wipe(&sec);
    if (rc != ND_OK)
        nd_err_put(err, err_len, "user data stream (%s): %s",
                   nd_binance_user_mode_name(vc->user_stream), why);
    else
        ND_LOG(ND_LOG_INFO, "event=user_stream_open mode=%s",
               nd_binance_user_mode_name(vc->user_stream));
    return rc;
}

void nd__live_user_tick(nd_live_session_t *s)
{
    if (s->cb_user) {
        nd_coinbase_stream_service(s->cb_user, 0);
        uint32_t subs = nd_coinbase_stream_resyncs(s->cb_user);
        for (uint32_t k = 0; subs > 1 && subs > s->cb_user_resyncs_seen && k < s->cfg->symbol_count;
             k++)
            if (s->legs[k].cb_exec) /* what the venue did while no channel was there */
                nd_coinbase_exec_resync(s->legs[k].cb_exec);
        if (subs > s->cb_user_resyncs_seen)
            s->cb_user_resyncs_seen = subs;
    }
    if (!s->user)
        return;
    (void)nd_binance_user_service(s->user, 0); /* a failed key renewal is logged and retried */
    uint32_t subs = nd_binance_user_subscriptions(s->user);
    if (subs > 1 && subs > s->user_subs_seen) {
        ND_LOG(ND_LOG_INFO, "event=user_stream_resubscribed subscriptions=%u: reconciling", subs);
        for (uint32_t k = 0; k < s->cfg->symbol_count; k++)
            if (s->legs[k].exec)
                nd_binance_exec_resync(s->legs[k].exec);
    }
    if (subs > s->user_subs_seen)
        s->user_subs_seen = subs;
}

void nd__live_user_close(nd_live_session_t *s)
{
    for (uint32_t k = 0; k < ND_VENUES_MAX; k++)
        nd_binance_exec_detach_loop(s->legs[k].exec);
    nd_binance_user_destroy(s->user);
    s->user = NULL;
    nd_coinbase_stream_destroy(s->cb_user);
    s->cb_user = NULL;
}

nd_err_t nd__live_positions_restore(nd_live_session_t *s, char *err, size_t err_len)
{
    nd_portfolio_t *p = nd_engine_portfolio(nd_event_run_engine(s->run));
    for (uint32_t k = 0; k < s->cfg->symbol_count; k++) {
        nd_live_leg_t *leg = &s->legs[k];
        for (size_t t = 0; t < leg->fill_count; t++) {
            const nd_recon_trade_t *tr = &leg->fills[t];
            uint32_t strategy = 0;
            uint64_t client_id = 0;
            if (nd_clid_parse(nd__live_venue_of(s, k)->order_tag, tr->clid, NULL, &strategy,
                              &client_id) != ND_OK ||
                (strategy >= nd_engine_strategy_count(nd_event_run_engine(s->run)) &&
                 strategy != ND_STRATEGY_RISK))
                continue; /* not one of this session's strategies' orders */
            nd_fill_t f;
            nd_binance_exec_fill_of(tr, &leg->assets, client_id, strategy, k, &f); /* both */
            nd_err_t rc = nd_portfolio_apply_fill(p, &f);
            if (rc != ND_OK) {
                nd_err_put(err, err_len, "%s: the journal's fill of trade %lld does not book: %s",
                           s->cfg->venue_symbols[k], (long long)tr->trade_id, nd_strerror(rc));
                return rc;
            }
            s->restored_fills++;
        }
    }
    return ND_OK;
}

void nd__live_venues_close(nd_live_session_t *s)
{
    for (uint32_t k = 0; k < ND_VENUES_MAX; k++) {
        nd_live_leg_t *leg = &s->legs[k];
        nd_binance_exec_destroy(leg->exec);
        nd_coinbase_exec_destroy(leg->cb_exec);
        nd_coinbase_rest_destroy(leg->cb_rest);
        if (leg->journal)
            nd_journal_close(leg->journal);
        nd_binance_rest_destroy(leg->rest);
        nd_free(leg->local);
        nd_free(leg->fills);
        memset(leg, 0, sizeof *leg);
    }
}

bool nd__live_leg_stats(const nd_live_leg_t *leg, nd_binance_exec_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (leg->exec) {
        nd_binance_exec_stats(leg->exec, out);
        return true;
    }
    if (!leg->cb_exec)
        return false;
    nd_coinbase_exec_stats_t c;
    nd_coinbase_exec_stats(leg->cb_exec, &c);
    *out = (nd_binance_exec_stats_t){.submitted = c.submitted, .cancels = c.cancels,
                                     .syncs = c.syncs, .accepted = c.accepted,
                                     .rejected = c.rejected, .fills = c.fills,
                                     .cancelled = c.cancelled, .expired = c.expired,
                                     .cancel_rejected = c.cancel_rejected,
                                     .unknown = c.unanswered, .queue_full = c.queue_full,
                                     .recon_diffs = c.recon_diffs, .recon_halts = c.recon_halts,
                                     .outages = c.outages,
                                     .reconciliations = c.reconciliations,
                                     .round_trips = c.round_trips,
                                     .round_trip_ns_sum = c.round_trip_ns_sum};
    return true;
}

nd_err_t nd__live_leg_cancel_all(nd_live_leg_t *leg)
{
    if (leg->cb_exec)
        return nd_coinbase_exec_cancel_all(leg->cb_exec);
    return nd_binance_exec_cancel_all(leg->exec);
}

bool nd__live_leg_cancel_all_busy(const nd_live_leg_t *leg)
{
    if (leg->cb_exec)
        return nd_coinbase_exec_cancel_all_busy(leg->cb_exec);
    return nd_binance_exec_cancel_all_busy(leg->exec);
}

void nd__live_leg_stop(nd_live_leg_t *leg)
{
    nd_coinbase_exec_stop(leg->cb_exec);
    nd_binance_exec_stop(leg->exec);
}

typedef struct open_count {
    const char *tag;
    int64_t count;
} open_count_t;

static void count_open(void *ctx, const nd_md_event_t *ev)
{
    open_count_t *c = ctx;
    nd_md_order_status_t st = (nd_md_order_status_t)ev->u.order.status;
    if ((st == ND_MD_ORDER_NEW || st == ND_MD_ORDER_PARTIALLY_FILLED ||
         st == ND_MD_ORDER_PENDING) &&
        nd_clid_parse(c->tag, ev->u.order.client_order_id, NULL, NULL, NULL) == ND_OK)
        c->count++;
}

int64_t nd__live_coinbase_open(nd_live_session_t *s, uint32_t k)
{
    nd_live_leg_t *leg = &s->legs[k];
    open_count_t c = {nd__live_venue_of(s, k)->order_tag, 0};
    size_t n;
    char err[256] = "";
    if (!leg->cb_rest || nd_coinbase_list_orders(leg->cb_rest, s->cfg->venue_symbols[k],
                                                 count_open, &c, &n, err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_WARN, "event=shutdown_venue_unanswered symbol=%s why=\"%s\"",
               s->cfg->venue_symbols[k], err);
        return -1;
    }
    return c.count;
}
