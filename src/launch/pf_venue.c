/* pf_venue.c: the preflight checks that ask the venue and the oracle (docs/launcher.md):
 * venue_reachable (GET /api/v3/ping), clock_offset (GET /api/v3/time against the local clock,
 * measured with the round trip), exchange_info (every symbol listed and TRADING), balances
 * (signed GET /api/v3/account in live mode), oracle_fresh (Chainlink through refprice),
 * feeds_fresh (the market streams) and rate_limits (exchangeInfo's rateLimits). A Coinbase
 * session's checks ask Advanced Trade instead (pf_coinbase.c); clock_offset and feeds_fresh
 * are shared, the bound by venue (nd__launch_clock_within). */
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/chainlink.h"
#include "noderr/fixed.h"
#include "noderr/refprice.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOCK_SAMPLES 3

static const char unreachable_hint[] =
    "start the venue (noderr exchange-sim) or fix venue.rest_url; check the network and proxy";

/* A check that needs the venue when venue_reachable could not reach it. */
static bool need_venue(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    if (pf->reachable)
        return true;
    nd__pf_set(out, ND_PF_FAIL, unreachable_hint,
               "%snot measured: the venue did not answer (see venue_reachable)",
               pf->vc->venue == ND_VENUE_COINBASE ? "coinbase: " : "");
    return false;
}

void nd__pf_venue_reachable(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    if (pf->vc->venue == ND_VENUE_COINBASE) {
        nd__pf_cb_venue_reachable(pf, out);
        return;
    }
    char why[256] = "";
    if (!pf->probe.binance &&
        nd__launch_probe_open(&pf->probe, pf->vc, pf->env->clock, pf->set->recv_window_ms,
                              (long)pf->set->timeout_ms, why, sizeof why) != ND_OK) {
        nd__pf_set(out, ND_PF_FAIL, "fix venue.rest_url", "%s: %s", pf->vc->rest_url, why);
        return;
    }
    nd_binance_rest_result_t res = {0};
    int64_t t0 = nd_clock_mono_ns(pf->env->clock);
    nd_err_t rc = nd_binance_rest_call(pf->probe.binance, "GET", "/api/v3/ping", "", false, &res, why,
                                       sizeof why);
    int64_t rtt_us = (nd_clock_mono_ns(pf->env->clock) - t0) / ND_NS_PER_US;
    if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, unreachable_hint, "GET %s/api/v3/ping: %s", pf->vc->rest_url,
                   why[0] ? why : nd_strerror(rc));
    else if (res.http_status != 200)
        nd__pf_set(out, ND_PF_FAIL, unreachable_hint, "GET %s/api/v3/ping: HTTP %ld %s",
                   pf->vc->rest_url, res.http_status, res.venue_msg);
    else {
        pf->reachable = true;
        nd__pf_set(out, ND_PF_PASS, NULL, "GET %s/api/v3/ping: HTTP 200 in %lld us",
                   pf->vc->rest_url, (long long)rtt_us);
    }
    nd_binance_rest_result_free(&res);
}

void nd__pf_clock_offset(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    if (!need_venue(pf, out))
        return;
    int64_t best_offset = 0, best_rtt = 0;
    char why[256] = "", bound[160] = "";
    nd_err_t rc = nd__launch_venue_clock(&pf->probe, pf->env->clock, CLOCK_SAMPLES, &best_offset,
                                         &best_rtt, why, sizeof why);
    bool coinbase = pf->vc->venue == ND_VENUE_COINBASE;
    if (rc != ND_OK) {
        nd__pf_set(out, ND_PF_FAIL, coinbase ? "check the venue (see venue_reachable)"
                   : unreachable_hint, "%s", why[0] ? why : nd_strerror(rc));
        return;
    }
    bool ok = nd__launch_clock_within(pf->vc->venue, best_offset, best_rtt,
                                      pf->set->recv_window_ms, bound, sizeof bound);
    if (coinbase) {
        nd__pf_set(out, ok ? ND_PF_PASS : ND_PF_FAIL,
                   "synchronise the clock (chronyd or systemd-timesyncd): each request's JWT "
                   "is dated by this clock and lives 120 s",
                   "coinbase offset %+lld us +- %lld us (round trip %lld us, best of %d); %s",
                   (long long)best_offset, (long long)(best_rtt / 2), (long long)best_rtt,
                   CLOCK_SAMPLES, bound);
        return;
    }
    /* The venue's clock was read somewhere within the round trip: the offset is known to
     * +- rtt/2, and the worst case must stay under half the receive window. */
    int64_t bound_us = pf->set->recv_window_ms * 1000 / 2;
    nd__pf_set(out, ok ? ND_PF_PASS : ND_PF_FAIL,
               "synchronise the clock (chronyd or systemd-timesyncd) or raise "
               "preflight.recv_window_ms",
               "offset %+lld us +- %lld us (round trip %lld us, best of %d); bound %lld ms "
               "(half of recvWindow %lld ms)",
               (long long)best_offset, (long long)(best_rtt / 2), (long long)best_rtt,
               CLOCK_SAMPLES, (long long)(bound_us / 1000), (long long)pf->set->recv_window_ms);
}

/* GET /api/v3/exchangeInfo?symbols=[...] into pf->info (once). */
static nd_err_t load_info(nd__pf_t *pf, char *why, size_t why_len)
{
    if (pf->info)
        return ND_OK;
    char query[ND_VENUES_MAX * (ND_NAME_MAX + 8) + 32];
    int n = snprintf(query, sizeof query, "symbols=%%5B");
    uint32_t first = pf->vc->symbol_first, end = first + pf->vc->symbol_count;
    for (uint32_t k = first; k < end; k++)
        n += snprintf(query + n, sizeof query - (size_t)n, "%s%%22%s%%22", k > first ? "," : "",
                      pf->cfg->venue_symbols[k]);
    snprintf(query + n, sizeof query - (size_t)n, "%%5D");
    snprintf(pf->info_url, sizeof pf->info_url, "%s/api/v3/exchangeInfo?%s", pf->vc->rest_url,
             query);
    nd_binance_rest_result_t res = {0};
    nd_err_t rc = nd_binance_rest_call(pf->probe.binance, "GET", "/api/v3/exchangeInfo", query, false, &res,
                                       why, why_len);
    if (rc == ND_OK && (res.http_status != 200 || !res.body)) {
        nd_err_put(why, why_len, "HTTP %ld %s", res.http_status, res.venue_msg);
        rc = ND_EIO;
    }
    if (rc == ND_OK) {
        pf->info = res.body; /* kept for rate_limits and the kill switch's rules */
        pf->info_len = res.body_len;
        res.body = NULL;
    }
    nd_binance_rest_result_free(&res);
    return rc;
}

void nd__pf_exchange_info(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    if (!need_venue(pf, out))
        return;
    if (pf->vc->venue == ND_VENUE_COINBASE) {
        nd__pf_cb_exchange_info(pf, out);
        return;
    }
    char why[256] = "";
    nd_err_t rc = load_info(pf, why, sizeof why);
    if (rc != ND_OK) {
        nd__pf_set(out, ND_PF_FAIL, unreachable_hint, "GET exchangeInfo: %s",
                   why[0] ? why : nd_strerror(rc));
        return;
    }
    char list[256] = "";
    size_t used = 0;
    uint32_t first = pf->vc->symbol_first;
    for (uint32_t k = first; k < first + pf->vc->symbol_count; k++) {
        const char *sym = pf->cfg->venue_symbols[k];
        nd_binance_filters_t f;
        rc = nd_binance_filters_parse(pf->info, pf->info_len, sym, &f, why, sizeof why);
        if (rc == ND_ENOTFOUND || (rc == ND_OK && !f.trading)) {
            nd__pf_set(out, ND_PF_FAIL, "trade only symbols the venue lists as TRADING",
                       "%s: %s", sym, rc == ND_OK ? "not TRADING" : "not listed");
            return;
        }
        if (rc != ND_OK) {
            nd__pf_set(out, ND_PF_FAIL, "the venue's exchangeInfo is malformed: report it",
                       "%s: %s", sym, why);
            return;
        }
        char tick[24], step[24];
        nd_venue_format(f.tick_size, ND_VENUE_DECIMALS, 0, tick, sizeof tick);
        nd_venue_format(f.step_size, ND_VENUE_DECIMALS, 0, step, sizeof step);
        int w = snprintf(list + used, sizeof list - used, "%s%s TRADING (tick %s, step %s)",
                         k > first ? ", " : "", sym, tick, step);
        used = w > 0 && used + (size_t)w < sizeof list ? used + (size_t)w : used;
    }
    nd__pf_set(out, ND_PF_PASS, NULL, "%s", list);
}

/* The free balance of asset in an account body, at ND_CASH_DECIMALS. */
static nd_err_t account_free(const char *body, size_t len, const char *asset, int64_t *free_out)
{
    json_t *doc = json_loadb(body, len, 0, NULL), *bal;
    size_t k;
    nd_err_t rc = ND_ENOTFOUND;
    json_array_foreach(json_object_get(doc, "balances"), k, bal) {
        const char *a = json_string_value(json_object_get(bal, "asset"));
        const char *f = json_string_value(json_object_get(bal, "free"));
        if (a && f && strcmp(a, asset) == 0) {
            _Static_assert(ND_CASH_DECIMALS == ND_VENUE_DECIMALS, "balances read at 8 places");
            rc = nd_venue_decimal(f, strlen(f), ND_CASH_DECIMALS, free_out);
            break;
        }
    }
    json_decref(doc);
    return rc;
}

static void live_balance(nd__pf_t *pf, const char *need_text, nd_preflight_outcome_t *out)
{
    const char *asset = nd__pf_quote_asset(pf);
    char why[256] = "";
    nd_binance_rest_t *rest = NULL;
    nd_binance_rest_config_t rc_cfg = {.base_url = pf->vc->rest_url, .secret = pf->secret,
                                       .recv_window_ms = pf->set->recv_window_ms,
                                       .timeout_ms = (long)pf->set->timeout_ms};
    nd_binance_rest_result_t res = {0};
    nd_err_t rc = nd_binance_rest_create(&rc_cfg, pf->env->clock, &rest, why, sizeof why);
    if (rc == ND_OK && (rc = nd_binance_rest_sync_time(rest, why, sizeof why)) == ND_OK)
        rc = nd_binance_rest_account(rest, &res, why, sizeof why);
    int64_t free_units = 0;
    if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, unreachable_hint, "GET /api/v3/account: %s",
                   why[0] ? why : nd_strerror(rc));
    else if (res.http_status != 200)
        nd__pf_set(out, ND_PF_FAIL, "check the API key's permissions and the secret",
                   "GET /api/v3/account: HTTP %ld %lld %s", res.http_status,
                   (long long)res.venue_code, res.venue_msg);
    else if (account_free(res.body, res.body_len, asset, &free_units) != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, "fund the account", "the account holds no %s", asset);
    else {
        char have[32];
        nd_fixed_format(free_units, ND_CASH_DECIMALS, have, sizeof have);
        nd__pf_set(out, free_units >= pf->set->first_allocation ? ND_PF_PASS : ND_PF_FAIL,
                   "fund the account or lower preflight.first_allocation",
                   "%s free %s %s the first allocation %s (signed GET /api/v3/account)", asset,
                   have, free_units >= pf->set->first_allocation ? "covers" : "is short of",
                   need_text);
    }
    nd_binance_rest_result_free(&res);
    nd_binance_rest_destroy(rest);
}

void nd__pf_balances(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    char need[32], cash[32];
    nd_fixed_format(pf->set->first_allocation, ND_CASH_DECIMALS, need, sizeof need);
    if (!pf->set->live) {
        int64_t c = pf->cfg->bt.engine.initial_cash;
        nd_fixed_format(c, ND_CASH_DECIMALS, cash, sizeof cash);
        nd__pf_set(out, c >= pf->set->first_allocation ? ND_PF_PASS : ND_PF_FAIL,
                   "raise capital.cash or lower preflight.first_allocation",
                   "paper: capital.cash %s %s the first allocation %s", cash,
                   c >= pf->set->first_allocation ? "covers" : "is short of", need);
        return;
    }
    if (!need_venue(pf, out))
        return;
    if (!pf->secret->api_key[0]) {
        nd__pf_set(out, ND_PF_FAIL, "fix the secrets check first",
                   "not measured: no API key (see secrets)");
        return;
    }
    if (pf->vc->venue == ND_VENUE_COINBASE)
        nd__pf_cb_live_balance(pf, nd__pf_quote_asset(pf), need, out);
    else
        live_balance(pf, need, out);
}

static void oracle_judge(nd__pf_t *pf, const nd_chainlink_reading_t *rd, int64_t heartbeat_s,
                         nd_preflight_outcome_t *out)
{
    int64_t now_ns = nd_clock_now_ns(pf->env->clock);
    nd_oracle_status_t st = nd_chainlink_check(&rd->round, now_ns / ND_NS_PER_SEC, heartbeat_s,
                                               pf->set->oracle_margin_s);
    int64_t px = 0;
    nd_refprice_t rp;
    nd_refprice_config_t rcfg;
    nd_refprice_config_default(&rcfg);
    rcfg.max_age_ns = (heartbeat_s + pf->set->oracle_margin_s) * ND_NS_PER_SEC;
    rcfg.min_sources = 1;
    uint32_t index = 0;
    nd_refprice_result_t r = {.status = ND_REFPRICE_HALT};
    /* refprice judges the age again on its own clock rule: both must hold */
    if (nd_chainlink_answer_to_fixed(rd->round.answer, rd->decimals, 8, &px) == ND_OK &&
        nd_refprice_init(&rp, pf->set->oracle_feed, &rcfg) == ND_OK &&
        nd_refprice_add_source(&rp, "chainlink", &index) == ND_OK &&
        nd_refprice_update(&rp, index, px, rd->round.updated_at_s * ND_NS_PER_SEC) == ND_OK)
        nd_refprice_compute(&rp, now_ns, &r);
    char text[32];
    nd_fixed_format(px, 8, text, sizeof text);
    bool ok = st == ND_ORACLE_OK && r.status == ND_REFPRICE_OK;
    nd__pf_set(out, ok ? ND_PF_PASS : ND_PF_FAIL,
               "check the RPC endpoint and the feed address; a stale feed must not be traded on",
               "%s %s: %s, price %s, updated %lld s ago (heartbeat %lld s + %lld s), refprice %s",
               pf->set->oracle_feed, rd->description, nd_oracle_status_name(st), text,
               (long long)(now_ns / ND_NS_PER_SEC - rd->round.updated_at_s),
               (long long)heartbeat_s, (long long)pf->set->oracle_margin_s,
               nd_refprice_status_name(r.status));
}

void nd__pf_oracle_fresh(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    const nd_preflight_settings_t *s = pf->set;
    if (!s->oracle_rpc[0]) {
        nd__pf_set(out, ND_PF_SKIP, NULL,
                   "no oracle configured (preflight.oracle): the session takes no Chainlink price");
        return;
    }
    const nd_chainlink_feed_info_t *known = nd_chainlink_feed_find(s->oracle_feed);
    const char *address = known ? known->address : s->oracle_feed;
    int64_t heartbeat_s = s->oracle_heartbeat_s ? s->oracle_heartbeat_s
                                                : (known ? known->heartbeat_s : 0);
    if (!nd_chainlink_address_valid(address) || heartbeat_s <= 0) {
        nd__pf_set(out, ND_PF_FAIL, "name a known feed (noderr oracle feeds) or an address "
                   "with preflight.oracle.heartbeat_s", "%s: unknown feed", s->oracle_feed);
        return;
    }
    nd_chainlink_client_t client;
    char why[512] = "";
    nd_chainlink_reading_t rd;
    memset(&rd, 0, sizeof rd);
    nd_err_t rc = nd_chainlink_client_init(&client, s->oracle_rpc, (long)s->timeout_ms, why,
                                           sizeof why);
    if (rc == ND_OK) {
        rc = nd_chainlink_read_feed(&client, address, "latest", NULL, &rd, why, sizeof why);
        nd_chainlink_client_deinit(&client);
    }
    if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, "check preflight.oracle.rpc_url and the feed address",
                   "%s: %s", s->oracle_feed, why[0] ? why : nd_strerror(rc));
    else
        oracle_judge(pf, &rd, heartbeat_s, out);
}

/* ---- feeds ------------------------------------------------------------------------------- */

typedef struct feed_watch {
    const nd_live_config_t *cfg;
    uint32_t first, count;           /* the venue's symbols */
    int64_t first_ns[ND_VENUES_MAX]; /* mono time of each symbol's first message, 0: none */
    const nd_clock_t *clock;
    uint32_t seen;
    char names[2 * ND_VENUES_MAX][ND_NAME_MAX + 16]; /* the streams, for the stream's life */
} feed_watch_t;

static void feed_sink(void *ctx, const nd_md_event_t *ev)
{
    feed_watch_t *w = ctx;
    if (ev->kind != ND_MD_TRADE && ev->kind != ND_MD_BBO)
        return;
    for (uint32_t k = w->first; k < w->first + w->count; k++)
        if (w->first_ns[k] == 0 && strcmp(ev->symbol, w->cfg->venue_symbols[k]) == 0) {
            w->first_ns[k] = nd_clock_mono_ns(w->clock);
            w->seen++;
        }
}

static nd_err_t open_feeds(nd__pf_t *pf, feed_watch_t *w, nd_binance_stream_t **stream,
                           char *why, size_t why_len)
{
    char (*names)[ND_NAME_MAX + 16] = w->names;
    const char *list[2 * ND_VENUES_MAX];
    uint32_t n = 0;
    for (uint32_t k = w->first; k < w->first + w->count; k++) {
        char lower[ND_NAME_MAX];
        size_t i = 0;
        for (const char *p = pf->cfg->venue_symbols[k]; *p && i + 1 < sizeof lower; p++)
            lower[i++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        lower[i] = '\0';
        snprintf(names[n], sizeof names[n], "%s@trade", lower);
        list[n] = names[n];
        n++;
        snprintf(names[n], sizeof names[n], "%s@bookTicker", lower);
        list[n] = names[n];
        n++;
    }
    nd_binance_stream_config_t sc = {.base_url = pf->vc->ws_url, .streams = list,
                                     .stream_count = n, .seed = 1};
    return nd_binance_stream_create(&sc, pf->env->clock, feed_sink, w, stream, why, why_len);
}

void nd__pf_feeds_fresh(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    if (!need_venue(pf, out))
        return;
    feed_watch_t w = {.cfg = pf->cfg, .clock = pf->env->clock, .first = pf->vc->symbol_first,
                      .count = pf->vc->symbol_count};
    bool coinbase = pf->vc->venue == ND_VENUE_COINBASE;
    nd_binance_stream_t *stream = NULL;
    nd_coinbase_stream_t *cb_stream = NULL;
    char why[256] = "";
    int64_t t0 = nd_clock_mono_ns(pf->env->clock);
    if ((coinbase ? nd__pf_cb_open_feed(pf, feed_sink, &w, &cb_stream, why, sizeof why)
                  : open_feeds(pf, &w, &stream, why, sizeof why)) != ND_OK) {
        nd__pf_set(out, ND_PF_FAIL, "fix venue.ws_url", "%s%s: %s", coinbase ? "coinbase " : "",
                   pf->vc->ws_url, why);
        return;
    }
    int64_t deadline = t0 + pf->set->feed_within_ms * ND_NS_PER_MS;
    while (w.seen < w.count && nd_clock_mono_ns(pf->env->clock) < deadline) {
        if (coinbase)
            nd_coinbase_stream_service(cb_stream, 20);
        else
            nd_binance_stream_service(stream, 20);
    }
    if (coinbase)
        nd_coinbase_stream_destroy(cb_stream);
    else
        nd_binance_stream_destroy(stream);
    int64_t slowest_ms = 0;
    const char *missing = NULL;
    for (uint32_t k = w.first; k < w.first + w.count; k++) {
        if (!w.first_ns[k] && !missing)
            missing = pf->cfg->venue_symbols[k];
        if (w.first_ns[k] && (w.first_ns[k] - t0) / ND_NS_PER_MS > slowest_ms)
            slowest_ms = (w.first_ns[k] - t0) / ND_NS_PER_MS;
    }
    if (missing)
        nd__pf_set(out, ND_PF_FAIL,
                   "check venue.ws_url and the venue's streams, or raise preflight.feed_within_ms",
                   "%s%s: no %s within %lld ms (%u of %u symbols heard)",
                   coinbase ? "coinbase " : "", missing,
                   coinbase ? "market_trades or ticker" : "trade or bookTicker",
                   (long long)pf->set->feed_within_ms, w.seen, w.count);
    else
        nd__pf_set(out, ND_PF_PASS, NULL,
                   "%sa message of each of %u symbols within %lld ms (slowest %lld ms) on %s",
                   coinbase ? "coinbase: " : "", w.count, (long long)pf->set->feed_within_ms,
                   (long long)slowest_ms, pf->vc->ws_url);
}

/* ---- rate limits ------------------------------------------------------------------------- */

void nd__pf_rate_limits(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    if (!need_venue(pf, out))
        return;
    if (pf->vc->venue == ND_VENUE_COINBASE) {
        nd__pf_cb_rate_limits(pf, out);
        return;
    }
    char why[256] = "";
    if (load_info(pf, why, sizeof why) != ND_OK) {
        nd__pf_set(out, ND_PF_FAIL, unreachable_hint, "GET exchangeInfo: %s", why);
        return;
    }
    json_t *doc = json_loadb(pf->info, pf->info_len, 0, NULL), *lim;
    char list[256] = "";
    size_t used = 0, k;
    int64_t weight_limit = 0;
    json_array_foreach(json_object_get(doc, "rateLimits"), k, lim) {
        const char *type = json_string_value(json_object_get(lim, "rateLimitType"));
        const char *interval = json_string_value(json_object_get(lim, "interval"));
        json_int_t num = json_integer_value(json_object_get(lim, "intervalNum"));
        json_int_t limit = json_integer_value(json_object_get(lim, "limit"));
        if (!type || !interval || limit <= 0)
            continue;
        if (strcmp(type, "REQUEST_WEIGHT") == 0 && strcmp(interval, "MINUTE") == 0 && num == 1)
            weight_limit = limit;
        int w = snprintf(list + used, sizeof list - used, "%s%s %lld per %lld %s",
                         used ? ", " : "", type, (long long)limit, (long long)num, interval);
        used = w > 0 && used + (size_t)w < sizeof list ? used + (size_t)w : used;
    }
    json_decref(doc);
    if (weight_limit <= 0)
        nd__pf_set(out, ND_PF_FAIL, "the client cannot pace requests without the venue's limits",
                   "exchangeInfo has no REQUEST_WEIGHT per 1 MINUTE in rateLimits (%s)",
                   used ? list : "none listed");
    else
        nd__pf_set(out, ND_PF_PASS, NULL, "%s; used weight %lld this minute", list,
                   (long long)nd_binance_rest_used_weight(pf->probe.binance));
}
