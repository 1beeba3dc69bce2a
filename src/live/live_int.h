/* live_int.h: what the session's files share (session.c: the loop and the feed; session_state.c:
 * the state directory, the status document, the store). */
#ifndef NODERR_LIVE_INT_H
#define NODERR_LIVE_INT_H

#include "noderr/binance.h"
#include "noderr/live.h"
#include "noderr/prom.h"
#include "noderr/reconcile.h"
#include "noderr/refprice.h"
#include "noderr/store.h"
#include "noderr/surveillance.h"

#include <uv.h>

/* One symbol's live order venue (session_live.c). */
typedef struct nd__live_metrics nd__live_metrics_t;
typedef struct nd__live_ref nd__live_ref_t;

typedef struct nd_live_leg {
    nd_binance_rest_t *rest;        /* the adapter's worker sends with it once started */
    nd_journal_t *journal;
    nd_recon_local_t *local;        /* the journal's view, kept current by the adapter */
    nd_binance_exec_t *exec;
    struct nd_coinbase_rest *cb_rest;   /* Coinbase legs instead of rest and exec */
    struct nd_coinbase_exec *cb_exec;
    nd_exec_venue_t venue;          /* the engine's view, named binance-K (coinbase-K) */
    nd_recon_instrument_t assets;
    uint32_t runs;                  /* RUN records replayed, then this start's number */
    nd_err_t fold_rc;               /* the first record that did not fold */
    nd_recon_trade_t *fills;        /* the journal's FILL records, for the portfolio */
    size_t fill_count, fill_cap;
} nd_live_leg_t;

struct nd_live_session {
    const nd_live_config_t *cfg;
    const nd_clock_t *clock;
    nd_backtest_config_t bt;        /* the run's config (borrowed by the run: lives here) */
    /* where each venue's rules came from */
    char rules_source[ND_LIVE_VENUES_MAX][ND_LIVE_URL_MAX + 48 * ND_VENUES_MAX];
    nd_backtest_result_t *result;
    nd_event_run_t *run;
    uv_loop_t loop;
    bool loop_ready;
    bool closing;                   /* stop_loop runs: the streams' last callbacks are dropped */
    uv_timer_t tick, status_timer;
    uv_signal_t sig_term, sig_int, sig_usr1;
    uv_signal_t sig_chaos;          /* ND_LIVE_CHAOS_STORE_SIGNAL, when chaos faults are on */
    bool store_kill_done;           /* the store's backlog engaged the kill switch */
    nd_binance_stream_t *stream;    /* the market feeds: Binance's, and/or */
    struct nd_coinbase_stream *cb_stream; /* Coinbase's (session_feed.c), one for each venue */
    char stream_names[2 * ND_VENUES_MAX][64];
    nd_live_feed_stats_t feed;
    nd_feed_monitor_t monitor;      /* one feed per symbol: trades and quotes, trade ids */
    uint32_t connects_seen[ND_LIVE_VENUES_MAX]; /* each venue's stream connections (and
                                                 * Coinbase resubscriptions) resynchronised */
    uint64_t decode_bad_seen[ND_LIVE_VENUES_MAX]; /* its decoder's bad messages in feed.bad */
    int64_t gap_resyncs, gap_lost;  /* trade-id gaps resynchronised in place (feed monitor) */
    int64_t venue_event_ns[ND_LIVE_VENUES_MAX]; /* live clock at each venue's last market event */
    int64_t feed_signs_written;     /* bad + late + repeats + resyncs + connects, last written */
    int64_t status_prompt_mono_ns;  /* when a feed sign last made status.json be written */
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
    nd_live_leg_t legs[ND_VENUES_MAX];  /* live mode: one order venue per symbol */
    int64_t recon_diffs;            /* differences reconciliation resolved at start */
    int64_t restored_fills;         /* journal fills booked into the portfolio at start */
    /* The host's promote and roll back for the dashboard (nd_live_session_host_control). */
    nd_live_host_control_fn host_control;
    void *host_control_ctx;
    /* The host's part of status.json (nd_live_session_status_extra). */
    const char *extra_key;
    json_t *(*extra_fn)(void *ctx);
    void *extra_ctx;
    /* The stop (session_shutdown.c): how it was asked, and what it left. */
    nd_live_shutdown_ask_t ask;
    int64_t stop_mono_ns;           /* the live clock's mono time when it began */
    nd_live_shutdown_t shutdown;
    uv_timer_t watchdog;            /* systemd's watchdog, at half its interval */
    bool watchdog_on;
    int64_t symbol_event_ns[ND_VENUES_MAX]; /* live clock at each symbol's last market event */
    int64_t last_trade_px[ND_VENUES_MAX];   /* each symbol's previous print (integrity.max_jump) */
    int64_t jumps;                          /* prints dropped as jumps */
    /* Venues the host holds out (nd_live_session_venue_hold): the data-integrity check does not
     * judge their symbols' feeds (nothing trades on them: the host paused their strategies). */
    bool venue_held[ND_LIVE_VENUES_MAX];
    nd__live_metrics_t *metrics;    /* the Prometheus endpoint (session_metrics.c), or NULL */
    char metrics_url[128];          /* "http://127.0.0.1:PORT/metrics", "" without */
    /* The executive dashboard (session_dash.c), when the config has "dashboard". */
    /* With a listen of its own it runs on its own thread (dash_thread); sharing the metrics'
     * server it is on the session's loop (dash). One of the two, or neither. */
    nd_dashboard_thread_t *dash_thread;
    nd_dashboard_t *dash;
    char dash_url[128];             /* "http://127.0.0.1:PORT", "" without a dashboard */
    /* Post-trade surveillance (session_surveil.c), when compliance.surveil_every_ms is set. */
    struct nd__live_surveil *surveil;
    nd_dashboard_state_t dash_state;
    uv_timer_t dash_timer;
    bool dash_timer_on;
    int64_t dash_sampled_ns;        /* the last equity sample for the VaR */
    uint32_t resync_connects[ND_LIVE_VENUES_MAX]; /* each venue's stream connections its order
                                                   * venues were resynced for */
    nd_binance_user_t *user;        /* live mode: the user data stream (session_live.c), or NULL */
    uint32_t user_subs_seen;        /* its subscriptions the order venues were resynced for */
    int64_t user_order_events;      /* its order reports, each booked by its symbol's adapter */
    struct nd_coinbase_stream *cb_user; /* live Coinbase: the WebSocket user channel, or NULL */
    uint32_t cb_user_resyncs_seen;  /* its (re)subscriptions the order venues were resynced for */
    uint64_t recon_halts_seen;      /* reconciliation halts already acted on */
    /* The reference price per asset (session_ref.c), NULL when reference or integrity is off. */
    nd__live_ref_t *ref;
    /* Each venue's feed counters (feed: their sums); last_event_ns is the venue's. */
    nd_live_feed_stats_t venue_feed[ND_LIVE_VENUES_MAX];
};

/* A trade or best bid/offer of the venue as the instrument's market event at ts_ns; false for
 * another kind, a value that does not fit the instrument's scales exactly, or a crossed or
 * empty quote. */
bool nd__live_md_to_event(const nd_md_event_t *md, const nd_instrument_t *inst, int64_t ts_ns,
                          uint64_t seq, nd_market_event_t *out /* OUT */);
/* Pushes one event through the run: a refused event is counted bad; a fatal error stops the
 * loop. */
nd_err_t nd__live_push(nd_live_session_t *s, const nd_market_event_t *ev);

/* The market feed (session_feed.c): opened on the session's loop with sink(s, event) for every
 * event; serviced from the 20 ms tick (reconnect timers, silence, the feed counters); its
 * resyncs (connections, and Coinbase's resubscriptions after a gap: the feed state starts
 * again at each), its connections, an operator's reconnect, closed before the loop. */
nd_err_t nd__live_feed_open(nd_live_session_t *s, nd_md_sink_cb sink, char *err, size_t err_len);
void nd__live_feed_service(nd_live_session_t *s);
/* Venue v's (index in cfg->venues) resyncs and connections. */
uint32_t nd__live_feed_resyncs(const nd_live_session_t *s, uint32_t v);
uint32_t nd__live_feed_connects(const nd_live_session_t *s, uint32_t v);
void nd__live_feed_reconnect(nd_live_session_t *s);
void nd__live_feed_close(nd_live_session_t *s);
/* Symbol k's venue (its entry of cfg->venues). */
static inline const nd_live_venue_config_t *nd__live_venue_of(const nd_live_session_t *s,
                                                              uint32_t k)
{
    return &s->cfg->venues[s->cfg->venue_of[k]];
}
/* The session's venues as one label: "binance", "coinbase", "binance+coinbase". */
void nd__live_venues_label(const nd_live_config_t *cfg, char *out, size_t cap);
/* The Binance venue's user data stream mode (a stream exists only with a Binance venue). */
nd_binance_user_mode_t nd__live_user_mode(const nd_live_session_t *s);
/* status.json's "feed" (heartbeats: Coinbase's, which date its feed between trades), for
 * nd_live_status_json and the dashboard's formatter alike. */
json_t *nd__live_feed_json(const nd_live_feed_stats_t *f, nd_venue_state_t state,
                           bool heartbeats, int64_t now);
/* Venue v's P&L: the engine's attribution by venue, summed over its symbols. */
void nd__live_venue_pnl(const nd_live_session_t *s, const nd_engine_t *e, uint32_t v,
                        nd_attribution_t *sum /* OUT */);
/* One line of status.json's "venues" (age_ms < 0: no event yet; rules_from NULL: defaults),
 * for nd_live_status_json and the dashboard's formatter alike. */
json_t *nd__live_venue_json(const char *name, const char *const *symbols, uint32_t symbol_count,
                            int64_t age_ms, const char *rules_from, const nd_attribution_t *sum,
                            const nd_live_feed_stats_t *feed);
/* "binance:BTCUSDT", "coinbase:BTC-USD": symbol k's feed as logs and the feed monitor name it. */
void nd__live_feed_name(const nd_live_session_t *s, uint32_t k, char *out, size_t cap);
/* Coinbase venue v: every symbol's rules from GET market/products/{id} into s->bt.rules
 * (blocking, before the loop). ND_EIO/ND_EPARSE with the URL and why; ND_ESTATE for a product
 * not trading. */
nd_err_t nd__live_coinbase_rules(nd_live_session_t *s, uint32_t v, char *err, size_t err_len);

/* The state directory: created if needed; session.pid written, refused when a live process
 * holds it. Release removes session.pid. */
nd_err_t nd__live_state_claim(nd_live_session_t *s, char *err, size_t err_len);
void nd__live_state_release(nd_live_session_t *s);
/* session.pid's process (0: none or unreadable). */
long nd__live_pid_read(const char *state_dir);
/* The working orders and the positions as status.json shows them. */
json_t *nd__live_orders_json(const nd_live_session_t *s, const nd_engine_t *e);
json_t *nd__live_positions_json(const nd_live_session_t *s, const nd_engine_t *e);
/* Writes status.json (atomically: a reader never sees half of it). */
void nd__live_status_write(nd_live_session_t *s);
/* The compliance store named by the config (none: nothing), its recorder as the run's tap. */
nd_err_t nd__live_store_open(nd_live_session_t *s, char *err, size_t err_len);
/* Flushes and closes the store; err (may be NULL) gets why a flush failed. */
nd_err_t nd__live_store_close(nd_live_session_t *s, char *err, size_t err_len);
/* An operator action into the store (session start and stop, kill switch), if there is one. */
void nd__live_record_action(nd_live_session_t *s, const char *action, const char *detail);

/* The dashboard (config "dashboard"): its token, the HTTP server, the routes and the publish
 * timer on the session's loop. Nothing when the config has no "dashboard". */
nd_err_t nd__live_dash_open(nd_live_session_t *s, char *err, size_t err_len);
/* Stops the publish timer (before any server closes). */
void nd__live_dash_stop(nd_live_session_t *s);
/* Stops the timer, closes its own server (a shared one is the metrics' to close, first), then
 * frees the dashboard; before the loop closes. */
void nd__live_dash_close(nd_live_session_t *s);

/* Post-trade surveillance (compliance.surveil_every_ms): a timer on the loop scanning the
 * session's records in the store under compliance.profile. Nothing when it is off. */
typedef struct nd__live_surveil nd__live_surveil_t;
nd_err_t nd__live_surveil_open(nd_live_session_t *s, char *err, size_t err_len);
/* Closes the timer (the state is freed in its close callback: run the loop after). */
void nd__live_surveil_close(nd_live_session_t *s);
/* The status document's "compliance" object (a new one), NULL when surveillance is off:
 * nd__live_surveil_fill then nd__live_surveil_format. */
json_t *nd__live_surveil_json(const nd_live_session_t *s);
/* The same object as figures, for the dashboard's binary snapshot (session_dash.c): fill on
 * the loop's thread copies (no allocation; only the kept alerts), format on any thread (NULL
 * when surveillance is off). ND_LIVE_SURV_KEEP: the newest alerts the status shows. */
#define ND_LIVE_SURV_KEEP 50
typedef struct nd__live_surv_alert {
    int64_t at_ns, from_ns;
    int rule, jurisdiction;                      /* nd_surv_rule_t, nd_jurisdiction_t */
    char symbol[64];                             /* a session's symbol (< ND_NAME_MAX) */
    char accounts[ND_SURV_ALERT_ACCOUNTS_MAX * 72];
    char detail[ND_SURV_REASON_MAX];
} nd__live_surv_alert_t;
typedef struct nd__live_surv_figures {
    bool on;
    const char *profile;                         /* static: the jurisdiction's code */
    uint64_t scans, events_scanned, failures;
    uint64_t counts[ND_SURV_RULE_COUNT];
    uint32_t alert_count;                        /* oldest first */
    nd__live_surv_alert_t alerts[ND_LIVE_SURV_KEEP];
} nd__live_surv_figures_t;
void nd__live_surveil_fill(const nd_live_session_t *s, nd__live_surv_figures_t *out /* OUT */);
json_t *nd__live_surveil_format(const nd__live_surv_figures_t *f);
/* Alerts of rule (nd_surv_rule_t) this session recorded; 0 when off. */
uint64_t nd__live_surveil_alerts(const nd_live_session_t *s, int rule);

/* The reference price (session_ref.c): opened after the run (its instruments), before the loop
 * runs; nothing when reference.enabled or integrity.enabled is false. on_market: symbol k's
 * accepted trade or quote at now_ns (live clock). check: every asset computed at now_ns (the
 * Chainlink reads started when due, on libuv's thread pool), changes logged; returns the first
 * asset's result that trips (HALT, with the asset's index in *asset), else NULL. close: after
 * the loop ran its last callbacks. */
nd_err_t nd__live_ref_open(nd_live_session_t *s, char *err, size_t err_len);
void nd__live_ref_on_market(nd_live_session_t *s, uint32_t k, const nd_md_event_t *md,
                            int64_t now_ns);
const nd_refprice_result_t *nd__live_ref_check(nd_live_session_t *s, int64_t now_ns,
                                               int32_t *asset /* OUT */);
/* The engine tripped on asset's reference: its sources' prices, ages and deviations logged
 * (event=refprice_trip) and recorded in the store's audit chain (operator action
 * refprice_trip, beside the breaker's own trip record). */
void nd__live_ref_on_trip(nd_live_session_t *s, int32_t asset, int64_t now_ns);
void nd__live_ref_close(nd_live_session_t *s);
/* status.json's "reference" as figures (fill: no allocation, on the loop's thread; format:
 * any thread, NULL when off), for nd_live_status_json and the dashboard alike. */
typedef struct nd__live_ref_chainlink {
    const char *status;            /* static: "not_read", an oracle status, "read_failed" */
    uint64_t reads, failures;
    int64_t updated_at_s;          /* the last round's updatedAt (0: none) */
    char error[192];               /* the last failed read's reason ("" after a good one) */
} nd__live_ref_chainlink_t;
typedef struct nd__live_ref_source_fig {
    char name[ND_NAME_MAX];
    int64_t px, age_ms;            /* age_ms < 0: no price yet */
    int32_t deviation_bps;         /* from the median; fresh sources only */
    bool stale, deviating;
    int chainlink;                 /* index into chainlink[], -1 for a venue */
} nd__live_ref_source_fig_t;
typedef struct nd__live_ref_asset_fig {
    char asset[ND_NAME_MAX];
    const char *status;            /* "ok", "deviation", "halt", "unchecked" (one source) */
    int64_t px, deviating_ms;
    uint32_t fresh, source_count;
    int32_t max_deviation_bps;
    nd__live_ref_source_fig_t sources[ND_REFPRICE_SOURCES_MAX];
} nd__live_ref_asset_fig_t;
typedef struct nd__live_ref_figures {
    bool on;
    int32_t bound_bps;
    int64_t hold_ms, max_age_ms, trips;
    uint32_t min_sources, asset_count, chainlink_count;
    nd__live_ref_asset_fig_t assets[ND_VENUES_MAX];
    nd__live_ref_chainlink_t chainlink[ND_LIVE_CHAINLINK_MAX];
    const char *chainlink_feed[ND_LIVE_CHAINLINK_MAX];
} nd__live_ref_figures_t;
void nd__live_ref_fill(const nd_live_session_t *s, int64_t now_ns,
                       nd__live_ref_figures_t *out /* OUT */);
json_t *nd__live_ref_format(const nd__live_ref_figures_t *f);
/* A venue's feed counters as status.json's venues[].feed shows them. */
json_t *nd__live_venue_feed_json(const nd_live_feed_stats_t *f);

/* Live mode: secrets, then per symbol the REST client, the journal replay, a RUN record, the
 * adapter reconciled and started; the venues go into bt.ticks.live_venues. */
nd_err_t nd__live_venues_open(nd_live_session_t *s, char *err, size_t err_len);
/* Live mode, after the run opened: every journaled fill of this session's strategies booked
 * into the portfolio (positions, cash and fees as the venue executed them). */
nd_err_t nd__live_positions_restore(nd_live_session_t *s, char *err, size_t err_len);
/* Stops the adapters' workers and frees the venues, journals and views. */
void nd__live_venues_close(nd_live_session_t *s);
/* Live mode, on the loop: the user data stream the config names (venue.user_stream; on
 * Coinbase the WebSocket user channel, JWT-authenticated), whose order reports each symbol's
 * adapter books as they arrive (the adapters' polls stay the safety net). tick: services
 * it; a subscription after the first (after eventStreamTerminated, an expired listenKey or a
 * reconnect) reconciles every adapter, for what the venue did while no stream was there.
 * close: before the loop closes. */
nd_err_t nd__live_user_open(nd_live_session_t *s, char *err, size_t err_len);
void nd__live_user_tick(nd_live_session_t *s);
void nd__live_user_close(nd_live_session_t *s);
/* A leg's adapter whatever its venue (NULL adapter: false, nothing done): its counters in the
 * Binance adapter's shape (what status.json and the metrics sum), the emergency cancel, its
 * busy state, and stopping its worker. */
bool nd__live_leg_stats(const nd_live_leg_t *leg, nd_binance_exec_stats_t *out /* OUT */);
nd_err_t nd__live_leg_cancel_all(nd_live_leg_t *leg);
bool nd__live_leg_cancel_all_busy(const nd_live_leg_t *leg);
void nd__live_leg_stop(nd_live_leg_t *leg);
/* Coinbase leg k, its worker stopped: the orders of ours the venue lists open (-1: no answer). */
int64_t nd__live_coinbase_open(nd_live_session_t *s, uint32_t k);

/* The stop (session_shutdown.c). take: on SIGTERM, the request `noderr shutdown` left (flatten,
 * deadline), removed once read; a stale one (older than a minute, or from a session before)
 * is dropped. begin: the cancel-all of every live leg, then with flatten the kill switch's
 * flattening. settled: nothing works (no cancel-all pending, no working order) and, flattening,
 * every position is flat. finish: after the loop, the adapters' workers stopped, the journals
 * synced, the venue asked what is open, shutdown.json written. */
void nd__live_shutdown_take(nd_live_session_t *s);
nd_err_t nd__live_shutdown_begin(nd_live_session_t *s);
bool nd__live_shutdown_settled(const nd_live_session_t *s);
void nd__live_shutdown_finish(nd_live_session_t *s);
/* Drops a request left by an earlier session (at start). */
void nd__live_shutdown_clear(const nd_live_session_t *s);

/* systemd's notification socket (session_notify.c; no-ops without NOTIFY_SOCKET or without
 * libsystemd): READY=1 with a STATUS= line, STOPPING=1, STATUS= lines, and the watchdog timer
 * (WATCHDOG=1 at half of WATCHDOG_USEC) on the session's loop. */
void nd__live_notify(const char *state);
void nd__live_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nd__live_watchdog_start(nd_live_session_t *s);
/* Metrics (session_metrics.c), when the config has "metrics": create before the run opens (it
 * times the store recorder's tap), open after the loop started (registers every series, then
 * listens), close before the loop closes, free last. Without the key all are no-ops. */
nd_err_t nd__live_metrics_create(nd_live_session_t *s, char *err, size_t err_len);
nd_err_t nd__live_metrics_open(nd_live_session_t *s, char *err, size_t err_len);
void nd__live_metrics_close(nd_live_session_t *s);
void nd__live_metrics_free(nd_live_session_t *s);
/* After a market event received at recv_ns (live clock) was pushed: a tick-to-order observation
 * when it made the strategies submit (orders_submitted was submitted_before). */
void nd__live_metrics_on_push(nd_live_session_t *s, int64_t recv_ns, int64_t submitted_before);
/* The latency histograms as percentiles (p50_us, p99_us, count) for the dashboard: tick to
 * order, store write, live venue round trips; {} without "metrics". */
json_t *nd__live_metrics_latency_json(const nd_live_session_t *s);
/* The tick-to-order and store-write histograms (NULL without "metrics" or that series), for
 * the dashboard's binary snapshot (session_dash.c). */
void nd__live_metrics_hists(const nd_live_session_t *s, const nd_prom_hist_t **tick_to_order,
                            const nd_prom_hist_t **store_write);
/* The registry, or NULL without "metrics" (the host's own families go there). */
nd_prom_t *nd__live_metrics_prom(nd_live_session_t *s);
/* Live mode: symbol k's venue round-trip histogram its order adapter fills, or NULL. */
nd_prom_hist_t *nd__live_metrics_venue_rtt(nd_live_session_t *s, uint32_t k);
/* The metrics endpoint's HTTP server (the dashboard shares it), NULL without metrics. */
nd_httpd_t *nd__live_metrics_server(nd_live_session_t *s);

#endif
