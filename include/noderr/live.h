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
} nd_live_strategy_t;

/* Which time the engine runs on. LOCAL: each event's receive time on the live clock, what a
 * live session must use. VENUE: each event's venue timestamp (an event without one takes the
 * last venue time seen), so a session over a replayed recording runs on the recording's time
 * and makes the fills an event-level backtest of the same recording makes. */
typedef enum nd_live_clock {
    ND_LIVE_CLOCK_LOCAL = 0,
    ND_LIVE_CLOCK_VENUE = 1
} nd_live_clock_t;

typedef struct nd_live_config {
    bool live;                        /* `noderr live`: real orders (set by the command) */
    char path[ND_LIVE_PATH_MAX];      /* the config file, for messages */
    char name[64];                    /* session name: [A-Za-z0-9_.-], ids and status */
    char state_dir[ND_LIVE_PATH_MAX]; /* status.json, session.pid; default "noderr-NAME" */
    nd_venue_t venue;                 /* binance (the only venue with a paper feed so far) */
    char rest_url[ND_LIVE_URL_MAX];   /* default https://api.binance.com */
    char ws_url[ND_LIVE_URL_MAX];     /* default wss://stream.binance.com:9443 */
    char secrets_file[ND_LIVE_PATH_MAX]; /* "" : NODERR_BINANCE_* variables (live mode only) */
    nd_binance_key_type_t key_type;   /* how the API key signs (hmac, ed25519, rsa) */
    char order_tag[8];                /* client order ids' tag, [a-z0-9]{1,6} (reconcile.h) */
    /* The symbols, as the venue spells them ("BTCUSDT"), in instrument order: bt.symbol, then
     * bt.more[].symbol. */
    char venue_symbols[ND_VENUES_MAX][ND_NAME_MAX];
    uint32_t symbol_count;
    bool exchange_info;               /* fetch tick, lot and min notional from the venue */
    nd_live_clock_t clock;
    int64_t stale_after_ns;           /* a feed silent this long is STALE (default 10 s) */
    /* The data-integrity breaker's feed inputs: a symbol with no trade or quote for
     * integrity.stale_after_ns (default 30 s), or a gap in its trade ids not recovered within
     * gap_recover_ns (default 2 s; a reconnect resynchronises), halts the session. */
    nd_feed_monitor_config_t integrity;
    bool integrity_on;
    int64_t status_every_ns;          /* status file period (default 1 s) */
    int64_t duration_ns;              /* stop by itself after this (0: run until stopped) */
    char store_url[ND_LIVE_PATH_MAX]; /* "" : no compliance store */
    char compliance_profile[8];       /* "US", "EU", "UK", "SG" or "" */
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

/* ---- Paper session (session.c) ------------------------------------------------------------ */

typedef struct nd_live_session nd_live_session_t;

typedef struct nd_live_feed_stats {
    int64_t messages;       /* WebSocket messages decoded */
    int64_t trades, quotes; /* market events pushed */
    int64_t bad;            /* messages refused by the decoder or the instrument's scales */
    int64_t late;           /* events older than the engine's time (pushed at its time) */
    int64_t connects;       /* connections opened */
    int64_t last_event_ns;  /* live clock at the last market event; 0: none yet */
} nd_live_feed_stats_t;

/* Creates a paper session over cfg (borrowed; bt.strategies set) on the live clock: opens the
 * event-level run, writes session.pid in the state directory (refusing a directory another
 * running session holds) and connects the market stream. ND_EINVAL/ND_EIO with why in err. */
nd_err_t nd_live_session_create(const nd_live_config_t *cfg, const nd_clock_t *clock,
                                nd_backtest_result_t *result, nd_live_session_t **out /* OUT */,
                                char *err, size_t err_len);
/* Runs the loop until SIGTERM or SIGINT (graceful stop), cfg->duration_ns, or a fatal error
 * (a store that cannot write: ND_EIO). ND_OK after a graceful stop. */
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
/* Sends the kill switch signal (SIGUSR1) to the session running in state_dir. ND_ENOTFOUND
 * when none runs there. */
nd_err_t nd_live_kill(const char *state_dir, char *err, size_t err_len);

#endif
