/* launch.h: the integrator behind `noderr launch` (docs/launcher.md "The integrator").
 *
 * A launch is a session (live.h) run under a module supervisor (supervisor.h): preflight must
 * have passed (nd_launch_create refuses a report with a failure); the modules start in a
 * documented order (host, store, refprice, feed, venue, risk, strategies, monitoring), a
 * health check runs every health_every_ms over disk and memory headroom, store writes, the
 * reference price, feed freshness, the venue (reachable, its clock offset and round trip, the
 * adapter's errors), breakers, reject rates and the metrics endpoint (the probed ones on
 * libuv's worker pool), and its verdicts drive the supervisor: a failed
 * feed is reconnected with backoff while the strategies, which depend on it, are paused (their
 * working orders cancelled) and resumed when it is back. Every module state change is logged
 * and recorded in the store (operator action "module_state"), and status.json carries a
 * "launch" object: modules, the last health check, the change history. */
#ifndef NODERR_LAUNCH_H
#define NODERR_LAUNCH_H

#include "noderr/allocation.h"
#include "noderr/guard.h"
#include "noderr/live.h"
#include "noderr/pipeline.h"
#include "noderr/preflight.h"
#include "noderr/ramp.h"
#include "noderr/supervisor.h"

/* The config's "launch" object (docs/launcher.md lists the keys and defaults). */
typedef struct nd_launch_config {
    int64_t health_every_ns;      /* health_every_ms, default 10000 */
    int64_t feed_stale_ns;        /* feed_stale_ms: no market event this long fails the feed
                                     (default 5000); half of it, or not connected, warns */
    int64_t store_write_warn_ns;  /* store_write_warn_ms: a slower commit warns (250) */
    int64_t reject_rate_warn_e4;  /* reject_rate_warn: rejected / submitted between two checks,
                                     with at least 10 submitted, warns (0.5) */
    int64_t venue_rtt_warn_ns;    /* venue_rtt_warn_ms: a slower venue round trip warns (1000) */
    int64_t recv_window_ms;       /* the venue's recvWindow: preflight.recv_window_ms (5000) */
    int64_t disk_free_mb_min;     /* under this on the state directory's file system warns */
    int64_t memory_free_mb_min;   /* MemAvailable under this warns */
    nd_sup_config_t sup;          /* restart_backoff_ms (100), restart_backoff_max_ms (30000) */
    /* The capital control (launch_capital.c): one ramp and one rollback guard per strategy
     * slot, the allocation across slots when "allocation" is given (else the config's
     * weights), the pipeline's previous version on a rollback. */
    nd_ramp_config_t ramp;
    nd_guard_config_t rollback;
    nd_allocation_config_t allocation;
    bool allocation_dynamic;      /* "launch.allocation" given */
    nd_pipeline_config_t pipeline;
    nd_live_shutdown_ask_t shutdown; /* "launch.shutdown": SIGTERM's deadline and flatten */
    /* "time_lapse": the capital control's clock (ramp, allocation days, guards) runs this many
     * times faster than the session's, from the launch's start: a paper rehearsal of a 30-day
     * ramp in seconds. 1 (the default) in production; a live launch refuses more. */
    int64_t time_lapse;
    /* "venue_down_halt_ms" (two venues, live): a venue whose order path has been out this long
     * while the session holds a position there trips the kill switch (default 30000; 0: at
     * once). See nd_launch_venue_rule. */
    int64_t venue_down_halt_ns;
} nd_launch_config_t;

/* Reads cfg->root's "launch" object (absent: the defaults); errors "FILE: launch.KEY: why".
 * The sub-objects other launcher modules read (pipeline, ramp, allocation, rollback) are
 * accepted here and checked by them. */
nd_err_t nd_launch_config_parse(const nd_live_config_t *cfg, nd_launch_config_t *out /* OUT */,
                                char *err, size_t err_len);

/* ---- Health (launch_health.c): one sample of the running session, judged -------------- */

typedef enum nd_launch_module {
    ND_LAUNCH_HOST = 0,       /* this machine: disk and memory headroom */
    ND_LAUNCH_STORE = 1,      /* the compliance store and its audit chain */
    ND_LAUNCH_REFPRICE = 2,   /* the reference price (preflight.oracle's Chainlink feed) */
    ND_LAUNCH_FEED = 3,       /* the venue's market streams */
    ND_LAUNCH_VENUE = 4,      /* the order venue (the adapter in live mode) */
    ND_LAUNCH_RISK = 5,       /* the breakers */
    ND_LAUNCH_STRATEGIES = 6, /* the strategies: depend on store, feed and venue */
    ND_LAUNCH_MONITORING = 7, /* the metrics endpoint (and the dashboard on it) */
    ND_LAUNCH_MODULE_COUNT = 8
} nd_launch_module_t;

const char *nd_launch_module_name(nd_launch_module_t m);

typedef struct nd_launch_sample {
    int64_t now_ns;
    bool live;
    nd_venue_state_t feed_state;
    int64_t feed_last_ns;
    bool store_present, store_ok;
    int64_t store_write_ns;
    char store_err[160];
    bool halted, kill_switch;
    char halt_reason[64];
    int64_t orders_submitted, orders_rejected;
    int64_t venue_errors;       /* live: answers lost and requests refused for a full queue */
    int64_t order_round_trips, order_round_trip_ns; /* live: orders and cancels answered, and
                                                       their round trips summed */
    /* The venue probe (Binance GET /api/v3/time, Coinbase GET /api/v3/brokerage/time, on a
     * worker thread, the last one finished): the venue asked (ND_VENUE_NONE counts as Binance),
     * whether one finished, whether it reached the venue, the clock offset and the round trip. */
    nd_venue_t venue;
    bool venue_measured, venue_reached;
    int64_t venue_offset_us, venue_rtt_us;
    char venue_err[160];
    /* The same probe's reference price (Chainlink, when preflight.oracle is set) and its scrape
     * of the session's own /metrics (when "metrics" is set): -1 not probed or not configured,
     * else a preflight status (ND_PF_PASS, ND_PF_FAIL) with the words. */
    int refprice_status, monitoring_status;
    char refprice_why[384], monitoring_why[160];
    int64_t disk_free_mb, memory_free_mb; /* -1: not measured */
} nd_launch_sample_t;

typedef struct nd_launch_verdict {
    nd_sup_health_t health;
    char reason[160];
} nd_launch_verdict_t;

/* Judges one sample against the previous one (rates are over the interval between them; prev
 * may be NULL at the first check): one verdict per module. Pure. */
void nd_launch_health_judge(const nd_launch_config_t *cfg, const nd_launch_sample_t *prev,
                            const nd_launch_sample_t *now,
                            nd_launch_verdict_t out[ND_LAUNCH_MODULE_COUNT]);
/* ---- Two venues: what one venue's outage does (docs/launcher.md "Two venues") ---------- */

typedef enum nd_launch_venue_action {
    ND_LAUNCH_VENUE_TRADE = 0,    /* its feed and order path are usable: its strategies trade */
    ND_LAUNCH_VENUE_STOP_NEW = 1, /* out: no new orders there (its strategies paused, their
                                     working orders cancelled); the other venue trades on */
    ND_LAUNCH_VENUE_TRIP = 2      /* its order path has been out venue_down_halt_ns with a
                                     position there, which the engine cannot flatten: the kill
                                     switch (halt, cancel all, flatten what it can) */
} nd_launch_venue_action_t;

const char *nd_launch_venue_action_name(nd_launch_venue_action_t a);

/* The rule for one venue of a two-venue session. feed_ok, venue_ok: its feed and order venue
 * modules are usable (up or degraded); position_open: the session holds a position on one of
 * its instruments; out_ns: how long its venue module has been out (0 while usable). A paper
 * session's orders fill on its simulated venue, which never goes out: paper never trips.
 * why (may be NULL) gets the reason. Pure. */
nd_launch_venue_action_t nd_launch_venue_rule(const nd_launch_config_t *cfg, bool live,
                                              bool feed_ok, bool venue_ok, bool position_open,
                                              int64_t out_ns, char *why, size_t why_len);

/* Free MiB on the file system holding path (its nearest existing ancestor); -1 if unknown. */
int64_t nd_launch_disk_free_mb(const char *path);
/* MemAvailable in MiB (the free pages when /proc/meminfo cannot be read). */
int64_t nd_launch_memory_free_mb(void);

/* ---- The launch (launch.c) --------------------------------------------------------------- */

typedef struct nd_launch nd_launch_t;

/* Creates the session over cfg (strategies resolved) after a preflight report with no failure
 * (ND_EDECLINED otherwise, naming the failed checks), and registers the modules; settings
 * (copied) give the health probe its oracle and recvWindow. */
nd_err_t nd_launch_create(const nd_live_config_t *cfg, const nd_launch_config_t *lc,
                          const nd_preflight_settings_t *settings,
                          const nd_preflight_report_t *preflight, const nd_clock_t *clock,
                          nd_backtest_result_t *result, nd_launch_t **out /* OUT */, char *err,
                          size_t err_len);
/* Starts the modules in order, runs until the session stops (SIGTERM/SIGINT, its duration, a
 * fatal error), then stops the modules in reverse. */
nd_err_t nd_launch_run(nd_launch_t *l, char *err, size_t err_len);
const nd_live_feed_stats_t *nd_launch_feed(const nd_launch_t *l);
/* The session's stop (live.h nd_live_session_shutdown), after run and before close. */
const nd_live_shutdown_t *nd_launch_shutdown(const nd_launch_t *l);
/* How a rollback turns the pipeline's previous version into a runnable strategy: the caller's
 * resolver (the CLI's, which loads built-ins, plugins and Lua scripts) fills def and params
 * (ND_STRATEGY_PARAMS_MAX) from the version's kind, spec and parameters (JSON object text). */
typedef nd_err_t (*nd_launch_resolve_fn)(void *ctx, const nd_pipeline_spec_t *spec,
                                         const nd_strategy_def_t **def /* OUT */,
                                         double *params /* OUT */, char *err, size_t err_len);
void nd_launch_set_resolver(nd_launch_t *l, nd_launch_resolve_fn fn, void *ctx);
/* Closes the session and frees l. */
nd_err_t nd_launch_close(nd_launch_t *l, char *err, size_t err_len);

#endif
