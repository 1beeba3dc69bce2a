/* session_host.c: what a host process (the launcher) reads and drives in a running session
 * (live.h "Hosting a session"). Everything here runs on the session's loop thread. */
#include "live_int.h"

#include "noderr/assert.h"
#include "noderr/coinbase.h"

#include <stdio.h>
#include <string.h>

void *nd_live_session_loop(nd_live_session_t *s)
{
    ND_ASSERT(s != NULL && s->loop_ready);
    return &s->loop;
}

nd_engine_t *nd_live_session_engine(const nd_live_session_t *s)
{
    return nd_event_run_engine(s->run);
}

nd_venue_state_t nd_live_session_feed_state(const nd_live_session_t *s)
{
    return s->feed_state;
}

int64_t nd_live_session_feed_last_ns(const nd_live_session_t *s)
{
    return s->feed.last_event_ns ? s->feed.last_event_ns : s->started_ns;
}

void nd_live_session_feed_reconnect(nd_live_session_t *s)
{
    nd__live_feed_reconnect(s);
}

int64_t nd_live_session_venue_feed_last_ns(const nd_live_session_t *s, uint32_t v)
{
    ND_ASSERT(v < s->cfg->venue_count);
    return s->venue_event_ns[v];
}

void nd_live_session_venue_feed_reconnect(nd_live_session_t *s, uint32_t v)
{
    ND_ASSERT(v < s->cfg->venue_count);
    if (s->cfg->venues[v].venue == ND_VENUE_COINBASE) {
        if (s->cb_stream)
            nd_coinbase_stream_reconnect(s->cb_stream);
    } else if (s->stream) {
        nd_binance_stream_reconnect(s->stream);
    }
}

void nd_live_session_venue_hold(nd_live_session_t *s, uint32_t v, bool held)
{
    ND_ASSERT(v < s->cfg->venue_count);
    s->venue_held[v] = held;
}

bool nd_live_session_has_store(const nd_live_session_t *s)
{
    return s->store != NULL;
}

const char *nd_live_session_metrics_url(const nd_live_session_t *s)
{
    return s->metrics_url;
}

nd_prom_t *nd_live_session_prom(nd_live_session_t *s)
{
    return nd__live_metrics_prom(s);
}

nd_store_t *nd_live_session_store(nd_live_session_t *s)
{
    return s->store;
}

bool nd_live_session_store_down(const nd_live_session_t *s, char *why, size_t why_len)
{
    if (!s->store || !nd_store_is_down(s->store))
        return false;
    snprintf(why, why_len, "store %s down, %lld records held in memory: %s", s->cfg->store_url,
             (long long)nd_store_held(s->store), nd_store_failure(s->store));
    return true;
}

nd_err_t nd_live_session_store_flush(nd_live_session_t *s, char *err, size_t err_len)
{
    char why[256] = "";
    nd_err_t rc = s->recorder ? nd_recorder_flush(s->recorder, why, sizeof why)
                  : s->store  ? nd_store_flush(s->store, why, sizeof why)
                              : ND_OK;
    if (rc != ND_OK)
        snprintf(err, err_len, "store %s: %s", s->cfg->store_url, why);
    return rc;
}

/* The adapters' counters summed over the symbols of venue v (all venues: v < 0). */
static void venue_stats(const nd_live_session_t *s, int v, nd_binance_exec_stats_t *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t k = 0; k < ND_VENUES_MAX; k++) {
        nd_binance_exec_stats_t one;
        if ((v >= 0 && (k >= s->cfg->symbol_count || s->cfg->venue_of[k] != (uint32_t)v)) ||
            !nd__live_leg_stats(&s->legs[k], &one))
            continue;
        out->submitted += one.submitted;
        out->accepted += one.accepted;
        out->rejected += one.rejected;
        out->fills += one.fills;
        out->cancelled += one.cancelled;
        out->unknown += one.unknown;
        out->queue_full += one.queue_full;
        out->round_trips += one.round_trips;
        out->round_trip_ns_sum += one.round_trip_ns_sum;
    }
}

void nd_live_session_venue_stats(const nd_live_session_t *s, nd_binance_exec_stats_t *out)
{
    venue_stats(s, -1, out);
}

void nd_live_session_venue_stats_of(const nd_live_session_t *s, uint32_t v,
                                    nd_binance_exec_stats_t *out)
{
    ND_ASSERT(v < s->cfg->venue_count);
    venue_stats(s, (int)v, out);
}

void nd_live_session_record(nd_live_session_t *s, const char *action, const char *detail)
{
    nd__live_record_action(s, action, detail);
}

void nd_live_session_status_extra(nd_live_session_t *s, const char *key,
                                  json_t *(*fn)(void *ctx), void *ctx)
{
    s->extra_key = key;
    s->extra_fn = fn;
    s->extra_ctx = ctx;
}

void nd_live_session_status_now(nd_live_session_t *s)
{
    nd__live_status_write(s);
}

void nd_live_session_host_control(nd_live_session_t *s, nd_live_host_control_fn fn, void *ctx)
{
    s->host_control = fn;
    s->host_control_ctx = ctx;
}
