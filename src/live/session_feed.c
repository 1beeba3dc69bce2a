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
 * Invariant: exactly one of s->stream and s->cb_stream is set while the feed is open. */
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

static nd_err_t open_binance(nd_live_session_t *s, nd_md_sink_cb sink, char *err,
                             size_t err_len)
{
    const char *names[2 * ND_VENUES_MAX];
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->cfg->symbol_count; i++) {
        /* The stream client lower-cases the symbol part of each name. */
        const char *sym = s->cfg->venue_symbols[i];
        snprintf(s->stream_names[n], sizeof s->stream_names[n], "%s@trade", sym);
        names[n] = s->stream_names[n];
        n++;
        snprintf(s->stream_names[n], sizeof s->stream_names[n], "%s@bookTicker", sym);
        names[n] = s->stream_names[n];
        n++;
    }
    nd_binance_stream_config_t sc = {.base_url = s->cfg->ws_url, .streams = names,
                                     .stream_count = n, .seed = s->cfg->bt.ticks.venue.seed,
                                     .backoff_min_ns = BACKOFF_MIN_NS, .uv_loop = &s->loop};
    return nd_binance_stream_create(&sc, s->clock, sink, s, &s->stream, err, err_len);
}

static nd_err_t open_coinbase(nd_live_session_t *s, nd_md_sink_cb sink, char *err,
                              size_t err_len)
{
    static const char *const channels[] = {"market_trades", "ticker", "level2"};
    const char *ids[ND_VENUES_MAX];
    for (uint32_t i = 0; i < s->cfg->symbol_count; i++)
        ids[i] = s->cfg->venue_symbols[i];
    /* The level2 books are whole (a level that does not fit drops the book and resubscribes,
     * which a cut book would do forever): 2 MiB a symbol. The heartbeats every second keep the
     * connection's silence detection at the session's own staleness bound. */
    nd_coinbase_stream_config_t cc = {.url = s->cfg->ws_url, .product_ids = ids,
                                      .product_count = s->cfg->symbol_count,
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
    if (s->cfg->venue == ND_VENUE_COINBASE)
        return open_coinbase(s, sink, err, err_len);
    ND_ASSERT(s->cfg->venue == ND_VENUE_BINANCE);
    return open_binance(s, sink, err, err_len);
}

/* Messages the decoder refused (corrupted, truncated) are counted and skipped there; the ones
 * not yet in feed.bad are added. A sequence gap (out of order) is not a refused message: it is
 * a resync, counted as one. */
static void count_decode_bad(nd_live_session_t *s, const nd_venue_counters_t *counters)
{
    s->feed.messages = (int64_t)counters->messages;
    uint64_t decode_bad = nd_venue_bad_total(counters) - counters->bad[ND_BAD_OUT_OF_ORDER];
    if (decode_bad > s->decode_bad_seen)
        s->feed.bad += (int64_t)(decode_bad - s->decode_bad_seen);
    s->decode_bad_seen = decode_bad;
}

void nd__live_feed_service(nd_live_session_t *s)
{
    if (s->cb_stream) {
        nd_coinbase_stream_service(s->cb_stream, 0);
        nd_coinbase_stream_stats_t st;
        nd_coinbase_stream_stats(s->cb_stream, &st);
        count_decode_bad(s, nd_coinbase_stream_counters(s->cb_stream));
        s->feed.connects = st.connects;
        s->feed.resyncs = (int64_t)st.resubscribes;
        return;
    }
    ND_ASSERT(s->stream != NULL);
    nd_binance_stream_service(s->stream, 0);
    count_decode_bad(s, nd_binance_stream_counters(s->stream));
    s->feed.connects = nd_binance_stream_connects(s->stream);
}

uint32_t nd__live_feed_resyncs(const nd_live_session_t *s)
{
    if (s->cb_stream)
        return nd_coinbase_stream_resyncs(s->cb_stream);
    return s->stream ? nd_binance_stream_connects(s->stream) : 0;
}

uint32_t nd__live_feed_connects(const nd_live_session_t *s)
{
    if (s->cb_stream) {
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
    else if (s->stream)
        nd_binance_stream_reconnect(s->stream);
}

void nd__live_feed_close(nd_live_session_t *s)
{
    nd_binance_stream_destroy(s->stream);
    s->stream = NULL;
    nd_coinbase_stream_destroy(s->cb_stream);
    s->cb_stream = NULL;
}

void nd__live_feed_name(const nd_live_session_t *s, uint32_t k, char *out, size_t cap)
{
    ND_ASSERT(k < s->cfg->symbol_count);
    snprintf(out, cap, "%s:%.23s", nd_venue_name(s->cfg->venue), s->cfg->venue_symbols[k]);
}

/* A Coinbase increment as the rules' 8 decimals (ND_VENUE_DECIMALS is 8 as well). */
_Static_assert(ND_VENUE_DECIMALS == 8, "product rules are kept at 8 decimals");

nd_err_t nd__live_coinbase_rules(nd_live_session_t *s, char *err, size_t err_len)
{
    int n = snprintf(s->rules_source, sizeof s->rules_source,
                     "products %s/api/v3/brokerage/market/products/", s->cfg->rest_url);
    for (uint32_t k = 0; k < s->cfg->symbol_count; k++) {
        nd_coinbase_product_rules_t r;
        char why[400] = "";
        nd_err_t rc = nd_coinbase_public_product(s->cfg->rest_url, s->cfg->venue_symbols[k],
                                                 10000, &r, why, sizeof why);
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
                                                 r.quote_min_size, s->rules_source};
        if (n > 0 && (size_t)n < sizeof s->rules_source)
            n += snprintf(s->rules_source + n, sizeof s->rules_source - (size_t)n, "%s%s",
                          k ? "," : "", s->cfg->venue_symbols[k]);
    }
    return ND_OK;
}
