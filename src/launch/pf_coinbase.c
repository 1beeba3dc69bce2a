/* pf_coinbase.c: the preflight checks that ask the venue, the Coinbase Advanced Trade way
 * (docs/launcher.md): venue_reachable (GET /api/v3/brokerage/time), exchange_info (each
 * product's rules from the public GET market/products/{id}, online), balances (an
 * authenticated GET /accounts in live mode: the key works and the quote currency covers the
 * first allocation), feeds_fresh (the market_trades and ticker channels) and rate_limits
 * (Advanced Trade serves none to read). clock_offset is pf_venue.c's, judged by
 * nd__launch_clock_within against the JWT's 120 s life. Every reason starts with "coinbase":
 * a failure names the venue. */
#include "launch_int.h"

#include "noderr/assert.h"
#include "noderr/fixed.h"

#include <stdio.h>
#include <string.h>

static const char cb_unreachable_hint[] =
    "start the venue (noderr exchange-sim --venue coinbase) or fix venue.rest_url; check the "
    "network and proxy";

void nd__pf_cb_venue_reachable(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    ND_ASSERT(pf->vc->venue == ND_VENUE_COINBASE);
    char why[256] = "";
    if (!pf->probe.http &&
        nd__launch_probe_open(&pf->probe, pf->vc, pf->env->clock, pf->set->recv_window_ms,
                              (long)pf->set->timeout_ms, why, sizeof why) != ND_OK) {
        nd__pf_set(out, ND_PF_FAIL, "fix venue.rest_url", "coinbase %s: %s", pf->vc->rest_url,
                   why);
        return;
    }
    ND_ASSERT(pf->probe.http != NULL);
    int64_t venue_ms = 0;
    int64_t t0 = nd_clock_mono_ns(pf->env->clock);
    nd_err_t rc = nd_coinbase_public_time(pf->probe.http, pf->vc->rest_url, &venue_ms, why,
                                          sizeof why);
    int64_t rtt_us = (nd_clock_mono_ns(pf->env->clock) - t0) / ND_NS_PER_US;
    if (rc != ND_OK) {
        nd__pf_set(out, ND_PF_FAIL, cb_unreachable_hint, "coinbase GET %s",
                   why[0] ? why : nd_strerror(rc));
        return;
    }
    pf->reachable = true;
    nd__pf_set(out, ND_PF_PASS, NULL, "coinbase GET %s/api/v3/brokerage/time: HTTP 200 in %lld us",
               pf->vc->rest_url, (long long)rtt_us);
}

void nd__pf_cb_exchange_info(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    char list[256] = "", why[400] = "";
    size_t used = 0;
    uint32_t first = pf->vc->symbol_first;
    for (uint32_t k = first; k < first + pf->vc->symbol_count; k++) {
        const char *pid = pf->cfg->venue_symbols[k];
        nd_coinbase_product_rules_t r;
        nd_err_t rc = nd_coinbase_public_product(pf->vc->rest_url, pid, (long)pf->set->timeout_ms,
                                                 &r, why, sizeof why);
        if (rc == ND_EIO) {
            nd__pf_set(out, ND_PF_FAIL, "trade only products the venue lists (BASE-QUOTE)",
                       "coinbase %s: GET %s", pid, why);
            return;
        }
        if (rc != ND_OK) {
            nd__pf_set(out, ND_PF_FAIL, "the venue's product is malformed: report it",
                       "coinbase %s: %s", pid, why);
            return;
        }
        if (r.trading_disabled) {
            nd__pf_set(out, ND_PF_FAIL, "trade only products the venue lists as online",
                       "coinbase %s: trading disabled or not online", pid);
            return;
        }
        char tick[24], step[24];
        nd_venue_format(r.quote_increment, ND_VENUE_DECIMALS, 0, tick, sizeof tick);
        nd_venue_format(r.base_increment, ND_VENUE_DECIMALS, 0, step, sizeof step);
        int w = snprintf(list + used, sizeof list - used, "%s%s online (quote increment %s, "
                         "base increment %s)", k > first ? ", " : "", pid, tick, step);
        used = w > 0 && used + (size_t)w < sizeof list ? used + (size_t)w : used;
    }
    nd__pf_set(out, ND_PF_PASS, NULL, "coinbase %s from GET market/products/{id}", list);
}

typedef struct cb_balance {
    const char *asset;
    bool found;
    int64_t free_units;
} cb_balance_t;

static void balance_sink(void *ctx, const nd_md_event_t *ev)
{
    cb_balance_t *b = ctx;
    if (ev->kind == ND_MD_BALANCE && strcmp(ev->u.balance.asset, b->asset) == 0) {
        _Static_assert(ND_CASH_DECIMALS == ND_VENUE_DECIMALS, "balances read at 8 places");
        b->found = true;
        b->free_units = ev->u.balance.free;
    }
}

void nd__pf_cb_live_balance(nd__pf_t *pf, const char *asset, const char *need_text,
                            nd_preflight_outcome_t *out)
{
    char why[256] = "";
    nd_coinbase_rest_t *rest = NULL;
    cb_balance_t b = {.asset = asset};
    size_t count = 0;
    nd_err_t rc = nd_coinbase_rest_create(pf->vc->rest_url, pf->secret->api_key,
                                          pf->secret->api_secret, pf->env->clock,
                                          (long)pf->set->timeout_ms, &rest, why, sizeof why);
    if (rc == ND_OK)
        rc = nd_coinbase_accounts(rest, balance_sink, &b, &count, why, sizeof why);
    nd_coinbase_rest_destroy(rest);
    if (rc != ND_OK && rc != ND_EIO && rc != ND_EPARSE) /* no JWT: not the venue's doing */
        nd__pf_set(out, ND_PF_FAIL, "give the key's P-256 private key (PEM) as api_secret",
                   "coinbase GET /accounts: cannot sign with the key: %s",
                   why[0] ? why : nd_strerror(rc));
    else if (rc == ND_EIO && strstr(why, "HTTP 401"))
        nd__pf_set(out, ND_PF_FAIL, "check the API key name, its private key and its permissions",
                   "coinbase GET /accounts refused the key: %s", why);
    else if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, cb_unreachable_hint, "coinbase GET /accounts: %s",
                   why[0] ? why : nd_strerror(rc));
    else if (!b.found)
        nd__pf_set(out, ND_PF_FAIL, "fund the account", "coinbase: the key's %zu accounts hold "
                   "no %s", count, asset);
    else {
        char have[32];
        bool ok = b.free_units >= pf->set->first_allocation;
        nd_fixed_format(b.free_units, ND_CASH_DECIMALS, have, sizeof have);
        nd__pf_set(out, ok ? ND_PF_PASS : ND_PF_FAIL,
                   "fund the account or lower preflight.first_allocation",
                   "coinbase %s available %s %s the first allocation %s (authenticated GET "
                   "/accounts)", asset, have, ok ? "covers" : "is short of", need_text);
    }
}

/* ---- feeds ------------------------------------------------------------------------------- */

nd_err_t nd__pf_cb_open_feed(nd__pf_t *pf, nd_md_sink_cb sink, void *ctx,
                             nd_coinbase_stream_t **stream, char *why, size_t why_len)
{
    static const char *const channels[] = {"market_trades", "ticker"};
    const char *products[ND_VENUES_MAX];
    for (uint32_t k = 0; k < pf->vc->symbol_count; k++)
        products[k] = pf->cfg->venue_symbols[pf->vc->symbol_first + k];
    nd_coinbase_stream_config_t sc = {.url = pf->vc->ws_url, .product_ids = products,
                                      .product_count = pf->vc->symbol_count,
                                      .channels = channels, .channel_count = 2, .seed = 1};
    return nd_coinbase_stream_create(ND_VENUE_COINBASE, &sc, pf->env->clock, sink, ctx, stream,
                                     why, why_len);
}

void nd__pf_cb_rate_limits(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    (void)pf;
    nd__pf_set(out, ND_PF_SKIP, NULL,
               "coinbase Advanced Trade serves no rate limits to read (its documented limits "
               "apply; a 429 is a VENUE_RATE_LIMITED reject)");
}
