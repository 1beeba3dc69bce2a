/* live_int.h: what the session's files share (session.c: the loop and the feed; session_state.c:
 * the state directory, the status document, the store). */
#ifndef NODERR_LIVE_INT_H
#define NODERR_LIVE_INT_H

#include "noderr/binance.h"
#include "noderr/live.h"
#include "noderr/store.h"

#include <uv.h>

struct nd_live_session {
    const nd_live_config_t *cfg;
    const nd_clock_t *clock;
    nd_backtest_config_t bt;        /* the run's config (borrowed by the run: lives here) */
    char rules_source[ND_LIVE_URL_MAX + 48 * ND_VENUES_MAX]; /* where the rules came from */
    nd_backtest_result_t *result;
    nd_event_run_t *run;
    uv_loop_t loop;
    bool loop_ready;
    uv_timer_t tick, status_timer;
    uv_signal_t sig_term, sig_int, sig_usr1;
    nd_binance_stream_t *stream;
    char stream_names[2 * ND_VENUES_MAX][64];
    nd_live_feed_stats_t feed;
    nd_feed_monitor_t monitor;      /* one feed per symbol: trades and quotes, trade ids */
    uint32_t connects_seen;         /* stream connections already resynchronised */
    bool integrity_logged;
    nd_venue_state_t feed_state;
    int64_t started_ns, started_mono_ns;
    int64_t engine_ns;              /* the engine's time: the last event pushed */
    int64_t last_venue_ns;          /* the last venue timestamp seen */
    uint64_t seq;
    bool stop_signal, kill_signal, stopping;
    int64_t stop_deadline_ns;
    int64_t stop_engine_ns;         /* the engine's time when the stop began */
    nd_err_t fatal;
    char fatal_msg[256];
    bool claimed;                   /* session.pid is ours */
    char pid_path[ND_LIVE_PATH_MAX + 16], status_path[ND_LIVE_PATH_MAX + 16];
    nd_store_t *store;
    nd_recorder_t *recorder;
    const char *strategy_names[ND_STRATEGIES_MAX];
    nd_instrument_t store_insts[ND_VENUES_MAX]; /* the recorder's names, borrowed by it */
};

/* A trade or best bid/offer of the venue as the instrument's market event at ts_ns; false for
 * another kind, a value that does not fit the instrument's scales exactly, or a crossed or
 * empty quote. */
bool nd__live_md_to_event(const nd_md_event_t *md, const nd_instrument_t *inst, int64_t ts_ns,
                          uint64_t seq, nd_market_event_t *out /* OUT */);
/* Pushes one event through the run: a refused event is counted bad; a fatal error stops the
 * loop. */
nd_err_t nd__live_push(nd_live_session_t *s, const nd_market_event_t *ev);

/* The state directory: created if needed; session.pid written, refused when a live process
 * holds it. Release removes session.pid. */
nd_err_t nd__live_state_claim(nd_live_session_t *s, char *err, size_t err_len);
void nd__live_state_release(nd_live_session_t *s);
/* Writes status.json (atomically: a reader never sees half of it). */
void nd__live_status_write(nd_live_session_t *s);
/* The compliance store named by the config (none: nothing), its recorder as the run's tap. */
nd_err_t nd__live_store_open(nd_live_session_t *s, char *err, size_t err_len);
/* Flushes and closes the store; err (may be NULL) gets why a flush failed. */
nd_err_t nd__live_store_close(nd_live_session_t *s, char *err, size_t err_len);
/* An operator action into the store (session start and stop, kill switch), if there is one. */
void nd__live_record_action(nd_live_session_t *s, const char *action, const char *detail);

#endif
