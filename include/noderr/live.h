/* live.h: paper and live trading sessions (docs/live.md).
 *
 * A session config is a JSON file (nd_live_config_load): the session's name and state
 * directory, the venue's endpoints, the symbol, the strategies with their parameters and
 * capital weights, capital and sizing, risk limits, the paper venue's fees and latencies, the
 * store, the compliance profile and the log. Secrets are never in it: they come from NODERR_*
 * environment variables or a 0600 file (venue.h nd_secret_load).
 *
 * A paper session (nd_live_session_*) runs on a libuv event loop: it subscribes to the venue's
 * market streams over WebSocket, turns every trade and best bid/offer into a market event and
 * pushes it through the same event-level run as a backtest (backtest.h nd_event_run_*), so
 * fills come from the L2 simulated venue on the live book with the backtest's queue and latency
 * model. It writes its status (positions, open orders, P&L, breakers, feed ages) to the state
 * directory every second, answers SIGUSR1 with the kill switch and SIGTERM/SIGINT with a
 * graceful stop (no new orders, working orders cancelled, the store flushed, a final status).
 * Nothing here prints: the CLI does. */
#ifndef NODERR_LIVE_H
#define NODERR_LIVE_H

#include "noderr/backtest.h"
#include "noderr/binance.h"
#include "noderr/clock.h"
#include "noderr/dashboard.h"
#include "noderr/err.h"
#include "noderr/feed_monitor.h"
#include "noderr/httpd.h"
#include "noderr/venue.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define ND_LIVE_PATH_MAX 512
#define ND_LIVE_URL_MAX 256

typedef enum nd_live_strategy_kind {
    ND_LIVE_STRATEGY_BUILTIN = 1, /* "builtin": a built-in strategy's name */
    ND_LIVE_STRATEGY_PLUGIN = 2,  /* "plugin": PATH.so[:NAME] (strategy_plugin.h) */
    ND_LIVE_STRATEGY_LUA = 3      /* "lua": a Lua script (strategy_lua.h) */
} nd_live_strategy_kind_t;

/* One strategy entry as written; the caller resolves spec (the CLI's one resolver) and applies
 * params to the resolved definition. */
typedef struct nd_live_strategy {
    nd_live_strategy_kind_t kind;
    char spec[ND_LIVE_PATH_MAX];
    int64_t weight_e6;         /* capital weight in millionths; 0: an equal share */
    json_t *params;            /* the "params" object (borrowed from the config), or NULL */
    uint32_t venue;            /* "venue": the index in venues[] it trades on (default: the
                                * only one; required with two) */
    uint32_t instrument_mask;  /* its venue's instruments (bit k: instrument k) */
} nd_live_strategy_t;

/* Which time the engine runs on. LOCAL: each event's receive time on the live clock, what a
 * live session must use. VENUE: each event's venue timestamp (an event without one takes the
 * last venue time seen), so a session over a replayed recording runs on the recording's time
 * and makes the fills an event-level backtest of the same recording makes. */
typedef enum nd_live_clock {
    ND_LIVE_CLOCK_LOCAL = 0,
    ND_LIVE_CLOCK_VENUE = 1
} nd_live_clock_t;

/* Venues in one session: Binance Spot and Coinbase Advanced Trade, each at most once. */
#define ND_LIVE_VENUES_MAX 2

/* One venue of a session (an entry of "venues", or the "venue" object). */
typedef struct nd_live_venue_config {
    nd_venue_t venue;                 /* binance or coinbase (Advanced Trade) */
    char rest_url[ND_LIVE_URL_MAX];   /* default https://api.binance.com (Coinbase:
                                       * https://api.coinbase.com) */
    char ws_url[ND_LIVE_URL_MAX];     /* default wss://stream.binance.com:9443 (Coinbase:
                                       * wss://advanced-trade-ws.coinbase.com) */
    /* Binance live mode's user data stream (binance.h): ws_api (the default, what Binance
     * recommends), listen_key, or off (REST polling only). ws_api_url: "" is Binance's
     * wss://ws-api.binance.com:443/ws-api/v3 when ws_url is Binance's, else ws_url/ws-api/v3
     * (exchange-sim serves it on its one port). */
    bool user_stream_off;
    nd_binance_user_mode_t user_stream;
    char ws_api_url[ND_LIVE_URL_MAX];
    char secrets_file[ND_LIVE_PATH_MAX]; /* "" : NODERR_BINANCE_* (NODERR_COINBASE_*) variables
                                          * (live mode only) */
    nd_binance_key_type_t key_type;   /* how the API key signs (hmac, ed25519, rsa) */
    char order_tag[8];                /* client order ids' tag, [a-z0-9]{1,6} (reconcile.h) */
    bool exchange_info;               /* fetch tick, lot and min notional from the venue */
    uint32_t symbol_first, symbol_count; /* its instruments */
} nd_live_venue_config_t;

/* The reference price's sources beyond the venues: Chainlink feeds read over JSON-RPC
 * (chainlink.h), polled on a worker thread of the session. */
#define ND_LIVE_CHAINLINK_MAX 4
typedef struct nd_live_chainlink_config {
    char asset[ND_NAME_MAX];          /* the asset it prices, "BTC/USD" (nd_live_reference_asset) */
    char rpc[2 * ND_LIVE_URL_MAX];    /* "URL[,URL...]": endpoints tried in order (may hold keys:
                                       * never logged) */
    char feed[48];                    /* the feed proxy's address ("0x" + 40 hex digits) */
    int64_t max_age_s;                /* a round older than this is stale (the feed's heartbeat) */
    int64_t poll_ns;                  /* time between reads (default 5 s) */
    int64_t timeout_ms;               /* per endpoint and call (default 3000) */
} nd_live_chainlink_config_t;

/* "reference": the reference price per asset across the session's sources (refprice.h): each
 * venue's mid (its last trade while it has no fresh quote) and the Chainlink feeds; a source
 * strays from the median of the fresh ones beyond max_deviation_bps for longer than hold_ns:
 * the data-integrity breaker trips (input refprice). Checked only for an asset with two
 * sources or more. */
typedef struct nd_live_reference_config {
    bool on;                          /* "enabled" (default true) */
    int32_t max_deviation_bps;        /* default 100 */
    int64_t max_age_ns;               /* a source not updated for this long is stale (10 s) */
    int64_t hold_ns;                  /* "deviation_hold_ms" (default 5 s) */
    uint32_t min_sources;             /* fewer fresh sources trips (refprice_sources); 0 off */
    nd_live_chainlink_config_t chainlink[ND_LIVE_CHAINLINK_MAX];
    uint32_t chainlink_count;
} nd_live_reference_config_t;

typedef struct nd_live_config {
    bool live;                        /* `noderr live`: real orders (set by the command) */
    char path[ND_LIVE_PATH_MAX];      /* the config file, for messages */
    char name[64];                    /* session name: [A-Za-z0-9_.-], ids and status */
    char state_dir[ND_LIVE_PATH_MAX]; /* status.json, session.pid; default "noderr-NAME" */
    /* The venues ("venue": one, or "venues": a list of one or two, each named once): each has
     * its endpoints, symbols (instruments symbol_first .. symbol_first + symbol_count - 1),
     * credentials, order tag and rules; venue_of[k] is instrument k's venue. */
    nd_live_venue_config_t venues[ND_LIVE_VENUES_MAX];
    uint32_t venue_count;
    uint8_t venue_of[ND_VENUES_MAX];
    /* The symbols, as their venue spells them ("BTCUSDT", Coinbase "BTC-USD"), in instrument
     * order (the first venue's, then the second's): bt.symbol, then bt.more[].symbol. */
    char venue_symbols[ND_VENUES_MAX][ND_NAME_MAX];
    uint32_t symbol_count;
    nd_live_clock_t clock;
    int64_t stale_after_ns;           /* a feed silent this long is STALE (default 10 s) */
    /* The data-integrity breaker's feed inputs: a symbol with no trade or quote for
     * integrity.stale_after_ns (default 30 s), or a gap in its trade ids not recovered within
     * gap_recover_ns (default 2 s; a reconnect resynchronises), halts the session. */
    nd_feed_monitor_config_t integrity;
    bool integrity_on;
    /* integrity.max_jump: a trade print farther than this from the symbol's previous print
     * (millionths; default 100000 = 10%; 0 off) is a bad print: it is dropped, not traded on,
     * and it trips the data-integrity breaker (input price_jump). */
    int64_t max_jump_e6;
    nd_live_reference_config_t reference;
    int64_t status_every_ns;          /* status file period (default 1 s) */
    int64_t duration_ns;              /* stop by itself after this (0: run until stopped) */
    /* "journal.sync": how an order intent is made durable before its request leaves
     * (reconcile.h nd_journal_sync_t, docs/live.md "Durability"); default batched. */
    nd_journal_sync_t journal_sync;
    char store_url[ND_LIVE_PATH_MAX]; /* "" : no compliance store */
    char compliance_profile[8];       /* "US", "EU", "UK", "SG" or "" */
    /* "compliance.surveil_every_ms": the session's post-trade surveillance scan period under
     * compliance.profile over its own records in the store (session_surveil.c); 0: off. */
    int64_t surveil_every_ns;
    int log_level;                    /* log.h level; default info */
    char log_file[ND_LIVE_PATH_MAX];  /* "" : stderr */
    /* "metrics": the Prometheus endpoint (GET /metrics, docs/monitoring.md); its URL goes into
     * status.json as metrics_url. Disabled when the key is absent. */
    nd_httpd_settings_t metrics;
    nd_live_strategy_t strategies[ND_STRATEGIES_MAX];
    uint32_t strategy_count;
    nd_dashboard_config_t dashboard;  /* "dashboard": the page and its controls (.on: served) */
    /* Symbol, scales and rules, engine (capital, sizing, risk, fees) and the paper venue
     * (ticks.venue); the caller sets bt.strategies from the resolved strategies. */
    nd_backtest_config_t bt;
    json_t *root;                     /* the parsed document (owns the params objects) */
} nd_live_config_t;

/* Reads and checks a session config. Every error names the file, the key and why
 * ("paper.json: risk.max_drawdown: 1.5 is outside [0, 1]"): ND_EINVAL for a bad value or an
 * unknown key, ND_EPARSE for bad JSON, the file errors of nd_file_read. Release with
 * nd_live_config_free whatever the return. */
nd_err_t nd_live_config_load(const char *path, nd_live_config_t *out /* OUT */, char *err,
                             size_t err_len);
void nd_live_config_free(nd_live_config_t *cfg);
/* The asset a symbol prices for the reference price: "BTC/USDT" and "BTC/USD" are both
 * "BTC/USD" (the USD stablecoins USDT, USDC, FDUSD, BUSD, TUSD and USDP count as USD, as the
 * session's one cash account counts them). False when symbol is not BASE/QUOTE or too long. */
bool nd_live_reference_asset(const char *symbol, char *out, size_t cap);

/* ---- Paper session (session.c) ------------------------------------------------------------ */

typedef struct nd_live_session nd_live_session_t;

typedef struct nd_live_feed_stats {
    int64_t messages;       /* WebSocket messages decoded */
    int64_t trades, quotes; /* market events pushed */
    int64_t bad;            /* messages refused by the decoder or the instrument's scales */
    int64_t late;           /* events older than the engine's time (pushed at its time) */
    int64_t repeats;        /* trades whose id was seen before (duplicates): skipped */
    int64_t resyncs;        /* Binance: trade-id gaps resynchronised in place (feed_monitor.h);
                             * Coinbase: resubscriptions after a sequence_num gap */
    int64_t lost;           /* trades those resyncs gave up */
    int64_t connects;       /* connections opened */
    int64_t last_event_ns;  /* live clock at the last market event; 0: none yet */
    /* (added with Coinbase sessions) */
    int64_t heartbeats;     /* Coinbase: heartbeats received (one a second) */
    int64_t last_heartbeat_ns; /* live clock at the last heartbeat; 0: none yet */
    int64_t heartbeat_venue_ns; /* the venue's time stamped on it */
} nd_live_feed_stats_t;

/* Creates a paper session over cfg (borrowed; bt.strategies set) on the live clock: opens the
 * event-level run, writes session.pid in the state directory (refusing a directory another
 * running session holds) and connects the market stream. ND_EINVAL/ND_EIO with why in err. */
nd_err_t nd_live_session_create(const nd_live_config_t *cfg, const nd_clock_t *clock,
                                nd_backtest_result_t *result, nd_live_session_t **out /* OUT */,
                                char *err, size_t err_len);
/* Says READY=1 to systemd (when run under it), then runs the loop until SIGTERM or SIGINT (the
 * stop of "Emergency shutdown" below), cfg->duration_ns, or a fatal error (a store that cannot
 * write: ND_EIO). ND_OK after a stop, clean or not: nd_live_session_shutdown says which. */
nd_err_t nd_live_session_run(nd_live_session_t *s, char *err, size_t err_len);
/* Asks a running loop to stop gracefully (what SIGTERM does); safe from a libuv callback. */
void nd_live_session_stop(nd_live_session_t *s);
const nd_live_feed_stats_t *nd_live_session_feed(const nd_live_session_t *s);
/* Ends the session: the final status, the run's metrics into the result; frees s. */
nd_err_t nd_live_session_close(nd_live_session_t *s, char *err, size_t err_len);

/* Writes the status document of a session (what status.json holds) into a new JSON object:
 * mode, name, pid, updated_at, engine time, equity, cash, P&L, positions, open orders,
 * breakers (halted, trips), feed statistics and ages. */
json_t *nd_live_status_json(const nd_live_session_t *s);

/* Reads STATE_DIR/status.json and says whether the session is running: the pid in
 * session.pid is alive and the status is younger than stale_ns on clock. *doc gets the
 * document (the caller json_decref's it). ND_ENOTFOUND when no session ever ran there. */
nd_err_t nd_live_status_read(const char *state_dir, const nd_clock_t *clock, int64_t stale_ns,
                             json_t **doc /* OUT */, bool *running /* OUT */, char *err,
                             size_t err_len);
/* ---- Control requests (control_request.c): a command asks the session in a state directory --- */

/* Writes STATE_DIR/NAME.request (private, with the caller's uid and time added to body) and
 * sends signum to the session running there (*pid_out, may be NULL). ND_ENOTFOUND when none
 * runs there; the file errors. */
nd_err_t nd_live_request_send(const char *state_dir, const char *name, json_t *body,
                              const nd_clock_t *clock, int signum, long *pid_out, char *err,
                              size_t err_len);
/* The session's side: the request, when it is a regular file of our uid, private and under a
 * minute old (else NULL, logged), removed either way. The caller json_decref's it. */
json_t *nd_live_request_take(const char *state_dir, const char *name, const nd_clock_t *clock);

/* A pipeline change asked of the launch running in state_dir (it is the store's one writer):
 * body {"action": "promote"|"rollback", "strategy" | "version", "to", "reason", "operator"}
 * sent as a control request "pipeline" with SIGUSR2, then its answer waited for (up to
 * wait_ms): *status (200 done, 404, 409) and the launch's words in msg. ND_ENOTFOUND when none
 * runs there, ND_ESTATE when what runs there is not a launch, ND_EAGAIN when no answer came. */
nd_err_t nd_live_pipeline_request(const char *state_dir, json_t *body, const nd_clock_t *clock,
                                  int64_t wait_ms, int *status /* OUT */, char *msg,
                                  size_t msg_len);
/* The launch's side: its answer to the request it took (STATE_DIR/pipeline.answer). */
void nd_live_pipeline_answer(const char *state_dir, int status, const char *msg);

/* Sends the kill switch signal (SIGUSR1) to the session running in state_dir. ND_ENOTFOUND
 * when none runs there. */
nd_err_t nd_live_kill(const char *state_dir, char *err, size_t err_len);

/* ---- Hosting a session (session_host.c): what the launcher (src/launch) drives ------------ */

/* The session's libuv loop (a uv_loop_t *), for the host's own timers on the engine's thread. */
void *nd_live_session_loop(nd_live_session_t *s);
nd_engine_t *nd_live_session_engine(const nd_live_session_t *s);
/* The market feed: its state (CONNECTED, STALE or DOWN) and the live clock at its last market
 * event (0: none yet; then the session's start time counts). */
nd_venue_state_t nd_live_session_feed_state(const nd_live_session_t *s);
int64_t nd_live_session_feed_last_ns(const nd_live_session_t *s);
/* Closes the market stream's connection and reconnects at once (the feed module's restart). */
void nd_live_session_feed_reconnect(nd_live_session_t *s);
/* Per venue (v: index in cfg->venues), for a launch over two venues: the live clock at venue
 * v's last market event (0: none yet), its stream reconnected alone, and its order adapters'
 * counters (zero in paper mode). */
int64_t nd_live_session_venue_feed_last_ns(const nd_live_session_t *s, uint32_t v);
void nd_live_session_venue_feed_reconnect(nd_live_session_t *s, uint32_t v);
void nd_live_session_venue_stats_of(const nd_live_session_t *s, uint32_t v,
                                    nd_binance_exec_stats_t *out /* OUT */);
/* The host holds venue v out (held) or lets it back: while held the data-integrity breaker does
 * not judge its symbols' feeds (their staleness and gaps start again from now at every check),
 * because the host has paused every strategy trading there and owns the venue's outage (the
 * launch's two-venue rule); the other venue's feeds are judged as ever. */
void nd_live_session_venue_hold(nd_live_session_t *s, uint32_t v, bool held);
/* The chaos suite's fault hook: a session started with NODERR_CHAOS_FAULTS=1 closes its store
 * writer's database connection on this signal, as a crash of the writer would (the records
 * not yet committed are held and written by the next flush: docs/chaos.md,
 * store_writer_killed). Without that variable the signal is not handled. */
#define ND_LIVE_CHAOS_STORE_SIGNAL (SIGRTMIN + 4)

/* Commits what the store's recorder holds; ND_OK without a store. Measures the write. */
nd_err_t nd_live_session_store_flush(nd_live_session_t *s, char *err, size_t err_len);
bool nd_live_session_has_store(const nd_live_session_t *s);
/* True while the session's store is down: a write failed (or its writer was killed) and the
 * records not yet written are held in memory until a flush succeeds (nd_store_set_hold); why
 * says why and how many are held. */
bool nd_live_session_store_down(const nd_live_session_t *s, char *why, size_t why_len);
/* The session's store (NULL without one), for the host's own records (the pipeline's). */
struct nd_store *nd_live_session_store(nd_live_session_t *s);
/* "http://127.0.0.1:PORT/metrics" once serving, "" without "metrics". */
const char *nd_live_session_metrics_url(const nd_live_session_t *s);
/* The session's metrics registry (prom.h), NULL without "metrics": a host adds its own
 * families on the loop's thread (the launcher's modules, ramps, pipeline stages). */
struct nd_prom *nd_live_session_prom(nd_live_session_t *s);
/* Live mode: the order adapters' summed counters (zero in paper mode). */
void nd_live_session_venue_stats(const nd_live_session_t *s,
                                 nd_binance_exec_stats_t *out /* OUT */);
/* An operator action into the session's store (if it has one): launcher events. */
void nd_live_session_record(nd_live_session_t *s, const char *action, const char *detail);
/* The host's part of status.json: on every write fn(ctx) returns a new JSON value set under
 * key (e.g. "launch": modules and health). */
void nd_live_session_status_extra(nd_live_session_t *s, const char *key,
                                  json_t *(*fn)(void *ctx), void *ctx);
/* The dashboard's promote and roll back (POST /api/promote, /api/rollback) go to the host,
 * which runs the pipeline: fn(ctx, promote, strategy, who, msg) returns the HTTP status (200
 * done, 404 no such strategy, 409 refused, with why in msg). Without a host they answer 501. */
typedef int (*nd_live_host_control_fn)(void *ctx, bool promote, const char *strategy,
                                       const char *who, char *msg, size_t msg_len);
void nd_live_session_host_control(nd_live_session_t *s, nd_live_host_control_fn fn, void *ctx);
/* Writes status.json now (a change an operator should see without waiting for the period). */
void nd_live_session_status_now(nd_live_session_t *s);
/* ---- Emergency shutdown (session_shutdown.c, docs/launcher.md "Shutdown and resume") -------
 * SIGTERM (or SIGINT, or the config's duration) stops a session: no new orders; in live mode
 * one cancel-all per symbol at the venue (nd_binance_exec_cancel_all) covers every working
 * order, however many; with flatten the kill switch's flattening follows (risk-owned market
 * orders for every position, after the cancel-all); then the session waits for the venue's
 * confirmations until none works (and, flattening, every position is flat) or the deadline
 * passes, stops the order adapters, makes the journals durable, asks the venue what is still
 * open (GET /api/v3/openOrders) and writes STATE_DIR/shutdown.json and the final status.
 * `noderr shutdown` asks for it through the state directory: a request file the session reads
 * on SIGTERM (nd_live_shutdown_request). */

typedef struct nd_live_shutdown_ask {
    bool flatten;              /* flatten every position after the cancels */
    int64_t deadline_ns;       /* wait this long for the venue (0: the session's default) */
} nd_live_shutdown_ask_t;

/* What a stop did (nd_live_session_shutdown), also written to STATE_DIR/shutdown.json. */
typedef struct nd_live_shutdown {
    bool done;                 /* a stop ran to its end (settled or past its deadline) */
    bool flatten;
    char by[16];               /* "request", "signal", "duration" */
    int64_t deadline_ns, took_ns;
    bool deadline_passed;
    uint32_t working_left;     /* the engine's working orders at the end */
    uint32_t positions_left;   /* instruments not flat at the end */
    int64_t venue_open;        /* live: orders open at the venue after it (-1: not asked or
                                * unanswered; paper: 0) */
    bool clean;                /* nothing works at the venue, and flat when asked */
} nd_live_shutdown_t;

/* Asks the session running in state_dir for an emergency shutdown: writes the request
 * (STATE_DIR/shutdown.request, mode 0600, read only from a regular file the session's own uid
 * owns) and sends SIGTERM; *pid (may be NULL) gets the session's process. ND_ENOTFOUND when
 * none runs there, ND_EIO when the request cannot be written or the signal sent. */
nd_err_t nd_live_shutdown_request(const char *state_dir, const nd_live_shutdown_ask_t *ask,
                                  const nd_clock_t *clock, long *pid /* OUT */, char *err,
                                  size_t err_len);
/* Whether the process pid is alive (the CLI waits for the session's exit with it). */
bool nd_live_pid_alive(long pid);
/* Reads the launch config's "launch.shutdown" object (obj may be NULL: the defaults) into out:
 * "deadline_s" (1-600, default 3): how long a stop waits for the venue's confirmations;
 * "flatten_on_sigterm" (default false): a plain SIGTERM (systemd's stop) flattens too. Errors
 * name where (the file) and the key: "FILE: launch.shutdown.deadline_s: 0 is outside [1, 600]"
 * (ND_EINVAL). */
nd_err_t nd_live_shutdown_config_parse(const json_t *obj, const char *where,
                                       nd_live_shutdown_ask_t *out /* OUT */, char *err,
                                       size_t err_len);
/* What a stop without a request does (SIGTERM, SIGINT, the duration): by default no flatten
 * and a 3 s deadline; a `noderr shutdown` request overrides both. Call before run. */
void nd_live_session_set_shutdown(nd_live_session_t *s, const nd_live_shutdown_ask_t *defaults);
/* The session's stop, valid after nd_live_session_run returned and before close. */
const nd_live_shutdown_t *nd_live_session_shutdown(const nd_live_session_t *s);

#endif
