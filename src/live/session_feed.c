/* session_feed.c: the session's market feed, one connection for every symbol, by venue:
 *   - Binance Spot: `<symbol>@trade` and `<symbol>@bookTicker` on the combined streams
 *     (binance_ws.c);
 *   - Coinbase Advanced Trade: the `market_trades`, `ticker` (best bid and offer), `level2` and
 *     `heartbeats` channels (cb_ws.c): a sequence_num gap resubscribes every channel and the
 *     books are rebuilt from the new snapshots; a market_trades snapshot (trades from before
 *     the subscription) is not traded on, and the trades of one message come oldest first.
 * Both serve their socket on the session's libuv loop and hand every event to the session's
 * sink (session.c). Also the symbols' trading rules at start: Binance's exchangeInfo is read by
 * session.c; Coinbase's product rules (base_increment, quote_increment, quote_min_size) here.
 * A session with two venues ("venues") opens both, each for its own symbols. Invariant: while
 * the feed is open, s->stream is set exactly when a venue is Binance and s->cb_stream exactly
 * when one is Coinbase. */
#include "live_int.h"

#include "noderr/assert.h"
#include "noderr/coinbase.h"
#include "noderr/err.h"
#include "noderr/fixed.h"

#include <stdio.h>
#include <string.h>

/* A first retry within 100-200 ms (jittered) keeps a reconnect under a second; the clients
 * still double the wait on every failure and keep to the venues' connection limits. */
#define BACKOFF_MIN_NS (200 * ND_NS_PER_MS)

static nd_err_t open_binance(nd_live_session_t *s, const nd_live_venue_config_t *v,
                             nd_md_sink_cb sink, char *err, size_t err_len)
{
    const char *names[2 * ND_VENUES_MAX];
    uint32_t n = 0;
    for (uint32_t i = v->symbol_first; i < v->symbol_first + v->symbol_count; i++) {
        /* The stream client lower-cases the symbol part of each name. */
        const char *sym = s->cfg->venue_symbols[i];
        snprintf(s->stream_names[n], sizeof s->stream_names[n], "%s@trade", sym);
        names[n] = s->stream_names[n];
        n++;
        snprintf(s->stream_names[n], sizeof s->stream_names[n], "%s@bookTicker", sym);
        names[n] = s->stream_names[n];
        n++;
    }
    nd_binance_stream_config_t sc = {.base_url = v->ws_url, .streams = names,
                                     .stream_count = n, .seed = s->cfg->bt.ticks.venue.seed,
                                     .backoff_min_ns = BACKOFF_MIN_NS, .uv_loop = &s->loop};
    return nd_binance_stream_create(&sc, s->clock, sink, s, &s->stream, err, err_len);
}

static nd_err_t open_coinbase(nd_live_session_t *s, const nd_live_venue_config_t *v,
                              nd_md_sink_cb sink, char *err, size_t err_len)
{
    static const char *const channels[] = {"market_trades", "ticker", "level2"};
    const char *ids[ND_VENUES_MAX];
    for (uint32_t i = 0; i < v->symbol_count; i++)
        ids[i] = s->cfg->venue_symbols[v->symbol_first + i];
    /* The level2 books are whole (a level that does not fit drops the book and resubscribes,
     * which a cut book would do forever): 2 MiB a symbol. The heartbeats every second keep the
     * connection's silence detection at the session's own staleness bound. */
    nd_coinbase_stream_config_t cc = {.url = v->ws_url, .product_ids = ids,
                                      .product_count = v->symbol_count,
                                      .channels = channels,
                                      .channel_count = sizeof channels / sizeof channels[0],
                                      .seed = s->cfg->bt.ticks.venue.seed,
                                      .backoff_min_ns = BACKOFF_MIN_NS,
                                      .stale_after_ns = s->cfg->stale_after_ns,
                                      .uv_loop = &s->loop, .trades_live_only = true};
    return nd_coinbase_stream_create(ND_VENUE_COINBASE, &cc, s->clock, sink, s, &s->cb_stream,
                                     err, err_len);
}

nd_err_t nd__live_feed_open(nd_live_session_t *s, nd_md_sink_cb sink, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL && sink != NULL);
    ND_ASSERT(s->stream == NULL && s->cb_stream == NULL);
    nd_err_t rc = ND_OK;
    for (uint32_t v = 0; rc == ND_OK && v < s->cfg->venue_count; v++) {
        const nd_live_venue_config_t *vc = &s->cfg->venues[v];
        ND_ASSERT(vc->venue == ND_VENUE_COINBASE || vc->venue == ND_VENUE_BINANCE);
        rc = vc->venue == ND_VENUE_COINBASE ? open_coinbase(s, vc, sink, err, err_len)
                                            : open_binance(s, vc, sink, err, err_len);
    }
    return rc;
}

/* The session's venue index of a venue, or -1. */
static int venue_index(const nd_live_session_t *s, nd_venue_t venue)
{
    for (uint32_t v = 0; v < s->cfg->venue_count; v++)
        if (s->cfg->venues[v].venue == venue)
            return (int)v;
    return -1;
}

/* Messages the decoder refused (corrupted, truncated) are counted and skipped there; the ones
 * not yet in feed.bad are added. A sequence gap (out of order) is not a refused message: it is
 * a resync, counted as one. Returns the stream's messages. */
static int64_t count_decode_bad(nd_live_session_t *s, nd_venue_t venue,
                                const nd_venue_counters_t *counters)
{
    int v = venue_index(s, venue);
    ND_ASSERT(v >= 0);
    uint64_t decode_bad = nd_venue_bad_total(counters) - counters->bad[ND_BAD_OUT_OF_ORDER];
    if (decode_bad > s->decode_bad_seen[v]) {
        s->feed.bad += (int64_t)(decode_bad - s->decode_bad_seen[v]);
        s->venue_feed[v].bad += (int64_t)(decode_bad - s->decode_bad_seen[v]);
    }
    s->decode_bad_seen[v] = decode_bad;
    s->venue_feed[v].messages = (int64_t)counters->messages;
    return (int64_t)counters->messages;
}

/* Venue v's trade-id gaps resynchronised in place and the trades they gave up (its symbols'
 * feeds in the monitor), plus its resubscriptions, as its feed counters. */
static void venue_resyncs(nd_live_session_t *s, uint32_t v, int64_t resubscribes)
{
    const nd_live_venue_config_t *vc = &s->cfg->venues[v];
    int64_t resyncs = 0, lost = 0;
    for (uint32_t k = vc->symbol_first;
         k < vc->symbol_first + vc->symbol_count && k < s->monitor.feed_count; k++) {
        resyncs += (int64_t)s->monitor.feeds[k].resyncs;
        lost += (int64_t)s->monitor.feeds[k].lost;
    }
    s->venue_feed[v].resyncs = resyncs + resubscribes;
    s->venue_feed[v].lost = lost;
}

void nd__live_feed_service(nd_live_session_t *s)
{
    ND_ASSERT(s->stream != NULL || s->cb_stream != NULL);
    int64_t messages = 0, connects = 0, resubscribes = 0;
    if (s->cb_stream) {
        nd_coinbase_stream_service(s->cb_stream, 0);
        nd_coinbase_stream_stats_t st;
        nd_coinbase_stream_stats(s->cb_stream, &st);
        messages += count_decode_bad(s, ND_VENUE_COINBASE, nd_coinbase_stream_counters(s->cb_stream));
        connects += st.connects;
        resubscribes = (int64_t)st.resubscribes;
        int v = venue_index(s, ND_VENUE_COINBASE);
        s->venue_feed[v].connects = (int64_t)st.connects;
        s->venue_feed[v].heartbeats = s->feed.heartbeats;
        s->venue_feed[v].last_heartbeat_ns = s->feed.last_heartbeat_ns;
        s->venue_feed[v].heartbeat_venue_ns = s->feed.heartbeat_venue_ns;
        venue_resyncs(s, (uint32_t)v, resubscribes);
    }
    if (s->stream) {
        nd_binance_stream_service(s->stream, 0);
        messages += count_decode_bad(s, ND_VENUE_BINANCE, nd_binance_stream_counters(s->stream));
        int v = venue_index(s, ND_VENUE_BINANCE);
        s->venue_feed[v].connects = (int64_t)nd_binance_stream_connects(s->stream);
        connects += s->venue_feed[v].connects;
        venue_resyncs(s, (uint32_t)v, 0);
    }
    s->feed.messages = messages;
    s->feed.connects = connects;
    s->feed.resyncs = s->gap_resyncs + resubscribes;
}

uint32_t nd__live_feed_resyncs(const nd_live_session_t *s, uint32_t v)
{
    ND_ASSERT(v < s->cfg->venue_count);
    if (s->cfg->venues[v].venue == ND_VENUE_COINBASE)
        return s->cb_stream ? nd_coinbase_stream_resyncs(s->cb_stream) : 0;
    return s->stream ? nd_binance_stream_connects(s->stream) : 0;
}

uint32_t nd__live_feed_connects(const nd_live_session_t *s, uint32_t v)
{
    ND_ASSERT(v < s->cfg->venue_count);
    if (s->cfg->venues[v].venue == ND_VENUE_COINBASE) {
        if (!s->cb_stream)
            return 0;
        nd_coinbase_stream_stats_t st;
        nd_coinbase_stream_stats(s->cb_stream, &st);
        return st.connects;
    }
    return s->stream ? nd_binance_stream_connects(s->stream) : 0;
}

void nd__live_feed_reconnect(nd_live_session_t *s)
{
    if (s->cb_stream)
        nd_coinbase_stream_reconnect(s->cb_stream);
    if (s->stream)
        nd_binance_stream_reconnect(s->stream);
}

void nd__live_feed_close(nd_live_session_t *s)
{
    nd_binance_stream_destroy(s->stream);
    s->stream = NULL;
    nd_coinbase_stream_destroy(s->cb_stream);
    s->cb_stream = NULL;
}

void nd__live_venues_label(const nd_live_config_t *cfg, char *out, size_t cap)
{
    ND_ASSERT(cfg->venue_count >= 1 && cfg->venue_count <= ND_LIVE_VENUES_MAX);
    ND_ASSERT(cap > 0);
    out[0] = '\0';
    size_t n = 0;
    for (uint32_t v = 0; v < cfg->venue_count && n < cap; v++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", v ? "+" : "",
                              nd_venue_name(cfg->venues[v].venue));
}

void nd__live_feed_name(const nd_live_session_t *s, uint32_t k, char *out, size_t cap)
{
    ND_ASSERT(k < s->cfg->symbol_count);
    snprintf(out, cap, "%s:%.23s", nd_venue_name(nd__live_venue_of(s, k)->venue),
             s->cfg->venue_symbols[k]);
}

/* A Coinbase increment as the rules' 8 decimals (ND_VENUE_DECIMALS is 8 as well). */
_Static_assert(ND_VENUE_DECIMALS == 8, "product rules are kept at 8 decimals");

nd_err_t nd__live_coinbase_rules(nd_live_session_t *s, uint32_t v, char *err, size_t err_len)
{
    const nd_live_venue_config_t *vc = &s->cfg->venues[v];
    char *source = s->rules_source[v];
    size_t cap = sizeof s->rules_source[v];
    int n = snprintf(source, cap, "products %s/api/v3/brokerage/market/products/", vc->rest_url);
    for (uint32_t k = vc->symbol_first; k < vc->symbol_first + vc->symbol_count; k++) {
        nd_coinbase_product_rules_t r;
        char why[400] = "";
        nd_err_t rc = nd_coinbase_public_product(vc->rest_url, s->cfg->venue_symbols[k], 10000,
                                                 &r, why, sizeof why);
        if (rc != ND_OK) {
            nd_err_put(err, err_len, "product rules %s (or give capital.tick_size, lot_size "
                       "and min_notional)", why);
            return rc;
        }
        if (r.trading_disabled) {
            nd_err_put(err, err_len, "product %s is not trading at the venue (status not "
                       "online, or trading_disabled)", r.product_id);
            return ND_ESTATE;
        }
        /* quote_min_size is the smallest order notional; base_min_size is a quantity the
         * rules do not hold (the simulated venue does not model it; docs/live.md). */
        s->bt.rules[k] = (nd_instrument_rules_t){r.quote_increment, r.base_increment,
                                                 r.quote_min_size, source};
        if (n > 0 && (size_t)n < cap)
            n += snprintf(source + n, cap - (size_t)n, "%s%s", k > vc->symbol_first ? "," : "",
                          s->cfg->venue_symbols[k]);
    }
    return ND_OK;
}
