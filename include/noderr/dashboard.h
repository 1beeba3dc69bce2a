/* dashboard.h: the executive dashboard's data and its safe controls (docs/monitoring.md,
 * "Dashboard").
 *
 * The page (web/dashboard/) loads one snapshot, a JSON document, then receives deltas over a
 * WebSocket: only the paths whose values changed since the last one sent. This module builds
 * both, and everything the server needs to decide whether a control request may act:
 *
 * - nd_dashboard_engine_json: what the session's status document does not already hold, built
 *   from the engine: P&L attribution by strategy, asset and venue, the risk heatmap (exposure,
 *   drawdown used against its limit, VaR, anomaly confidence, per strategy and per asset), the
 *   breakers' trip history. The session puts it under the status document's "dashboard" key, so
 *   the numbers the page shows are the ones `noderr status --json` prints.
 * - nd_dashboard_delta / nd_dashboard_apply: the changed paths between two snapshots, in a
 *   stable order (object keys sorted), and applying them (what the page does; the tests check
 *   apply(a, delta(a, b)) == b).
 * - nd_dashboard_state_t: equity samples for a historical VaR and the peaks behind drawdowns
 *   (display only: doubles, never in the order or accounting path).
 * - The bearer token (STATE_DIR/dashboard.token, created at first start with mode 0600, never
 *   logged: only its id, the first 8 hex digits of its SHA-256, is), the Authorization and
 *   Origin checks, and the control requests' parser.
 *
 * Nothing here prints, reads the clock or touches a socket: the session and the HTTP server do. */
#ifndef NODERR_DASHBOARD_H
#define NODERR_DASHBOARD_H

#include "noderr/engine.h"
#include "noderr/err.h"
#include "noderr/httpd.h"
#include "noderr/limits.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Config: the session config's "dashboard" object ------------------------------------ */

#define ND_DASHBOARD_PATH_MAX 512
/* Most WebSocket clients at once: the target is 100 (bench/RESULTS.md), with room. */
#define ND_DASHBOARD_CLIENTS_MAX 128
/* Most updates a second the page is sent; the default is 10. */
#define ND_DASHBOARD_RATE_MAX 50

typedef struct nd_dashboard_config {
    bool on;                               /* the object is present */
    /* "listen", "tls_cert", "tls_key" as the process's HTTP server reads them (httpd.h). With
     * no "listen" the dashboard shares the session's metrics listener when there is one, else
     * listens on 127.0.0.1:0. */
    bool listen_given;
    nd_httpd_settings_t server;
    int updates_per_sec;                   /* "updates_per_sec": 1..50, default 10 */
    int clients_max;                       /* "clients_max": 1..128, default 128 */
} nd_dashboard_config_t;

/* Reads {"listen": "HOST:PORT", "tls_cert": PATH, "tls_key": PATH, "updates_per_sec": N,
 * "clients_max": N}. where is the messages' prefix "FILE: KEY" ("paper.json: dashboard",
 * "launch.json: launch.dashboard"); errors read "FILE: KEY.field: why". Unknown keys are
 * refused; the address and TLS pair are checked by nd_httpd_config_parse. *out is written on
 * success only. */
nd_err_t nd_dashboard_config_parse(const json_t *obj, const char *where,
                                   nd_dashboard_config_t *out /* OUT */, char *err,
                                   size_t err_len);

/* ---- Snapshot and deltas ----------------------------------------------------------------- */

/* What the dashboard remembers between snapshots: equity samples (one per status period) for
 * a historical VaR, and the peaks behind each drawdown (the session's, each strategy's). */
#define ND_DASHBOARD_VAR_SAMPLES 256
typedef struct nd_dashboard_state {
    int64_t equity[ND_DASHBOARD_VAR_SAMPLES + 1]; /* ring of cash-unit equities */
    uint32_t head, count;
    int64_t peak;                                 /* cash units; 0: no sample yet */
    int64_t strategy_peak[ND_STRATEGIES_MAX];
} nd_dashboard_state_t;

void nd_dashboard_state_init(nd_dashboard_state_t *st);
/* Takes one sample of e: its equity into the VaR ring, the peaks. O(strategies). */
void nd_dashboard_sample(nd_dashboard_state_t *st, const nd_engine_t *e);
/* The 95% one-period VaR as a positive fraction of equity (0.012 = 1.2%) from the returns
 * between kept samples (historical: the 5th percentile loss); false (*out untouched) under 20
 * returns. Display only. O(n log n), n <= 256. */
bool nd_dashboard_var_95(const nd_dashboard_state_t *st, double *out /* OUT */);

/* ---- The binary snapshot: what the engine's thread fills, without allocating -------------
 * The dashboard's part of a snapshot as plain figures in a fixed struct (ND_DASHBOARD_SNAP_*
 * bound its lists): the engine's thread fills it (nd_dashboard_figures_fill: copies and integer
 * sums, no allocation, no formatting) and whatever thread formats it turns it into the document
 * (nd_dashboard_figures_json: the ratios, the VaR, the decimal strings). A list longer than its
 * bound keeps its first (assets) or newest (breakers) entries and says so: the document then has
 * "truncated": {LIST: the full count}, which no document within the bounds has. Names are
 * borrowed from the engine (strategy definitions, instruments), which must outlive the figures. */

/* Assets (the run's instruments) a snapshot carries: a session has at most ND_VENUES_MAX (32)
 * symbols, and the bench and tests fewer; beyond it the heatmap and attribution rows are cut. */
#define ND_DASHBOARD_SNAP_ASSETS 64
/* Breaker trips a snapshot carries, the newest: the page's table shows the last few; the risk
 * module keeps up to ND_BREAKER_EVENTS_MAX (1,024), which would make every snapshot 40 KiB. */
#define ND_DASHBOARD_SNAP_BREAKERS 64
_Static_assert(ND_DASHBOARD_SNAP_ASSETS <= ND_INSTRUMENTS_MAX, "assets within the engine's");
_Static_assert(ND_DASHBOARD_SNAP_BREAKERS <= ND_BREAKER_EVENTS_MAX, "trips within the kept");

typedef struct nd_dashboard_row {
    const char *name;              /* borrowed */
    int64_t realized, unrealized, fees, net, trades;
} nd_dashboard_row_t;

typedef struct nd_dashboard_figures {
    uint32_t strategy_count, asset_count, venue_count, breaker_count; /* kept */
    uint32_t assets_total, breakers_total; /* in the engine: more than kept = truncated */
    nd_dashboard_row_t by_strategy[ND_STRATEGIES_MAX];
    nd_dashboard_row_t by_asset[ND_DASHBOARD_SNAP_ASSETS];
    nd_dashboard_row_t by_venue[ND_DASHBOARD_SNAP_ASSETS];
    struct {
        bool paused;
        int64_t weight_e6;
        int64_t equity, gross;     /* the sleeve's equity, its gross position value (cash) */
    } strategy[ND_STRATEGIES_MAX];
    struct {
        int64_t value;             /* |net position| at the last price, cash units */
        bool anomaly_on;
        int64_t confidence_e6;
    } asset[ND_DASHBOARD_SNAP_ASSETS];
    int64_t equity, gross;         /* the session's (gross over every instrument) */
    int64_t max_position_pct_e2, max_drawdown_pct_e2, daily_loss_pct_e2, anomaly_threshold_e6;
    struct {
        int kind;                  /* nd_breaker_kind_t */
        int64_t ts_ns, equity, measured_e6;
    } breakers[ND_DASHBOARD_SNAP_BREAKERS];
    bool state_on;                 /* state was given: its copy below */
    nd_dashboard_state_t state;    /* the VaR samples and the peaks (a copy: 2.6 KiB) */
} nd_dashboard_figures_t;

/* Fills *out from e (instrument_count the run's), st as for nd_dashboard_engine_json. No
 * allocation. O(strategies * instruments). */
void nd_dashboard_figures_fill(const nd_engine_t *e, uint32_t instrument_count,
                               const nd_dashboard_state_t *st,
                               nd_dashboard_figures_t *out /* OUT */);
/* The dashboard's part of the snapshot from filled figures (a new object the caller owns):
 * what nd_dashboard_engine_json documents. Reads only f: any thread. */
json_t *nd_dashboard_figures_json(const nd_dashboard_figures_t *f);

/* The dashboard's own part of a snapshot (a new object the caller owns): "attribution"
 * ({strategy, asset, venue}: lists of {name, realized, unrealized, fees, net, trades}),
 * "strategies" (each {name, weight (a fraction), paused}), "heatmap" (rows of {kind, name, exposure, drawdown_used, var, anomaly}: fractions of their
 * limits, 0..1 and beyond when a limit is passed, null when not applicable), "risk_limits",
 * "breakers" (the kept trips, newest last) and "var_95" (null until there are enough samples).
 * instrument_count is the engine's (the run's) instrument count. st may be NULL (no VaR, drawdowns from nothing). Money as exact decimal strings.
 * O(strategies * instruments). nd_dashboard_figures_fill then nd_dashboard_figures_json. */
json_t *nd_dashboard_engine_json(const nd_engine_t *e, uint32_t instrument_count,
                                 const nd_dashboard_state_t *st);

/* The changes that turn prev into next: a new array of {"p": PATH, "v": VALUE} (set) and
 * {"p": PATH} (remove), PATH a JSON Pointer (RFC 6901). Objects are compared key by key (keys
 * sorted, so the same pair gives the same bytes), arrays element by element when their lengths
 * are equal, otherwise replaced whole. An empty array when nothing changed. prev NULL: one set
 * of the whole document at "". O(size of both). */
json_t *nd_dashboard_delta(const json_t *prev, const json_t *next);

/* Applies a delta to *doc in place (a set at "" replaces the whole document). ND_EINVAL when a
 * path does not exist (a parent is missing, an index is out of range) or an entry is malformed;
 * the document may then be partly changed. */
nd_err_t nd_dashboard_apply(json_t **doc, const json_t *delta, char *err, size_t err_len);

/* ---- Security: token, Authorization, Origin ------------------------------------------------ */

#define ND_DASHBOARD_TOKEN_HEX 64 /* 32 random bytes */

typedef struct nd_dashboard_token {
    char token[ND_DASHBOARD_TOKEN_HEX + 1];
    char id[9];                     /* first 8 hex digits of SHA-256(token): what logs show */
} nd_dashboard_token_t;

/* Reads STATE_DIR/dashboard.token, or creates it (32 bytes from the OS's CSPRNG, hex, mode
 * 0600, exclusive create) at first start. A token file readable by group or others, or not
 * 64 hex digits, is refused (ND_EINVAL) rather than used. The caller wipes *out when done. */
nd_err_t nd_dashboard_token_load(const char *state_dir, nd_dashboard_token_t *out /* OUT */,
                                 char *err, size_t err_len);

/* True when header is "Bearer TOKEN" with TOKEN equal to t's (constant time in the token's
 * length). NULL header: false. */
bool nd_dashboard_auth_ok(const nd_dashboard_token_t *t, const char *header);

/* True when origin (the request's Origin header) is the server's own: "SCHEME://HOST" where
 * HOST is the request's Host header (with its port) and SCHEME is https with TLS, else http.
 * A missing Origin or Host is refused. */
bool nd_dashboard_origin_ok(const char *origin, const char *host, bool tls);

/* ---- Controls --------------------------------------------------------------------------- */

typedef enum nd_dashboard_action {
    ND_DASHBOARD_KILL = 1,     /* POST /api/kill: the kill switch */
    ND_DASHBOARD_PAUSE = 2,    /* POST /api/strategy/pause {"strategy": NAME or INDEX} */
    ND_DASHBOARD_RESUME = 3,   /* POST /api/strategy/resume {"strategy": ...} */
    ND_DASHBOARD_PROMOTE = 4,  /* POST /api/promote {"strategy": ...}: needs the pipeline */
    ND_DASHBOARD_ROLLBACK = 5  /* POST /api/rollback {"strategy": ...}: needs the pipeline */
} nd_dashboard_action_t;

typedef struct nd_dashboard_control {
    nd_dashboard_action_t action;
    char strategy[64];            /* as given ("" for the kill switch) */
} nd_dashboard_control_t;

/* Parses a control request: path ("/api/kill", ...) and its JSON body (may be empty for the
 * kill switch). ND_ENOTFOUND for an unknown path; ND_EINVAL for a bad body (unknown key, a
 * missing or bad "strategy"), why in err. */
nd_err_t nd_dashboard_control_parse(const char *path, const char *body, size_t body_len,
                                    nd_dashboard_control_t *out /* OUT */, char *err,
                                    size_t err_len);
const char *nd_dashboard_action_name(nd_dashboard_action_t a);

/* The engine's strategy index named by name (a strategy's name, or its decimal index); -1
 * when none. A name two strategies share is ambiguous: -1. */
int nd_dashboard_strategy_find(const nd_engine_t *e, const char *name);

/* ---- The server side: routes and WebSocket on the process's HTTP server (httpd.h) --------- */

typedef struct nd_dashboard nd_dashboard_t;

typedef struct nd_dashboard_hooks {
    /* The snapshot, one of two ways. A caller whose engine thread must not allocate gives
     * fill_cb, format_cb and snap_size: fill_cb writes the figures into a buffer of snap_size
     * bytes that the dashboard preallocated (on the engine's thread, no allocation), and
     * format_cb turns a filled buffer into the document (a new object; it reads nothing but the
     * buffer, and runs on the dashboard's thread when it has one). A caller with a small
     * document (tests) may instead give snapshot_cb: the document built on the engine's thread
     * (a new object the dashboard releases). */
    void (*fill_cb)(void *ctx, void *snap);
    json_t *(*format_cb)(const void *snap);
    size_t snap_size;
    json_t *(*snapshot_cb)(void *ctx);
    /* Carries out a control whose token was checked: token_id says who (the token's id) and
     * peer from where. Returns the HTTP status (200 done, 409 refused in this state, 501 not
     * available yet) with a one-line answer in msg. The session records it in its store. */
    int (*control_cb)(void *ctx, const nd_dashboard_control_t *control, const char *token_id,
                      const char *peer, char *msg, size_t msg_len);
    void *ctx;
} nd_dashboard_hooks_t;

/* Adds the dashboard to an HTTP server: GET / (the page), /dashboard.js, /dashboard.css,
 * /lightweight-charts.js (the pinned charting library, when installed), GET /api/snapshot
 * (read-only), POST /api/kill, /api/strategy/pause, /api/strategy/resume, /api/promote,
 * /api/rollback (Bearer token; a request with an Origin header must come from the server's own
 * origin), and the WebSocket /ws (no subprotocol; the upgrade's Origin must be
 * the server's own). token and hooks are copied. ND_EINVAL/ND_EFULL from the server's routes,
 * ND_ENOMEM. Destroy after the server (its callbacks reach the dashboard until then). */
nd_err_t nd_dashboard_create(nd_httpd_t *h, const nd_dashboard_config_t *cfg,
                             const nd_dashboard_token_t *token, const nd_dashboard_hooks_t *hooks,
                             nd_dashboard_t **out /* OUT */, char *err, size_t err_len);
/* Takes a snapshot, and sends every connected client the delta since the last one it was sent
 * (nothing when nothing changed; a client that just connected got the whole snapshot). Call
 * cfg->updates_per_sec times a second on the loop. O(snapshot size + clients). */
void nd_dashboard_publish(nd_dashboard_t *d);
/* As nd_dashboard_publish with a snapshot taken elsewhere: snap becomes the dashboard's, which
 * releases it (NULL: nothing to send; with no client connected, snap is kept for the next one
 * and NULL drops the kept one). What the dashboard's own thread does with the snapshot the
 * engine's thread handed it (nd_dashboard_thread_publish). */
void nd_dashboard_publish_doc(nd_dashboard_t *d, json_t *snap);
/* WebSocket clients connected now. */
uint32_t nd_dashboard_clients(const nd_dashboard_t *d);
/* Messages sent to clients since start (snapshots and deltas). */
uint64_t nd_dashboard_messages(const nd_dashboard_t *d);
void nd_dashboard_destroy(nd_dashboard_t *d);

/* ---- The dashboard on a thread of its own -------------------------------------------------
 * What keeps the publish off the engine's thread (issue 14's target: 100 clients at 10 updates/s
 * move tick-to-order p99 by no more than 10%). nd_dashboard_thread_start creates a libuv loop
 * and an HTTP server (hc's listen and TLS files) with the dashboard on it, and runs them on a new
 * thread. The engine's thread then only fills the snapshot (hooks->fill_cb, into one of two
 * buffers allocated at start) and hands it over through a one-slot mailbox (an atomic index;
 * while the dashboard's thread has not taken the last one, none is filled); the document
 * (hooks->format_cb), the delta, its text and the writes to every client are the dashboard's
 * thread's. The fill and control hooks run on the engine's thread only: a control
 * request, GET /api/snapshot and a first client's snapshot are carried over to it (an async
 * handle on engine_loop) while the dashboard's thread waits for the answer (503 after
 * ND_DASHBOARD_CALL_WAIT_MS, 409 once the engine side is stopped). */
#define ND_DASHBOARD_CALL_WAIT_MS 5000

typedef struct nd_dashboard_thread nd_dashboard_thread_t;

/* hc->uv_loop is ignored (the thread has its own). engine_loop (uv_loop_t *) is the loop of the
 * thread that calls every nd_dashboard_thread_* function and on which the hooks run. Errors as
 * nd_httpd_create and nd_dashboard_create (nothing is left running). */
nd_err_t nd_dashboard_thread_start(const nd_httpd_config_t *hc, const nd_dashboard_config_t *cfg,
                                   const nd_dashboard_token_t *token,
                                   const nd_dashboard_hooks_t *hooks, void *engine_loop,
                                   nd_dashboard_thread_t **out /* OUT */, char *err,
                                   size_t err_len);
/* Engine thread: takes a snapshot and hands it to the dashboard's thread, unless that thread
 * has not taken the last one yet. With no client connected only one call in updates_per_sec
 * does (a snapshot a second), so a page that connects gets a recent one at once. Costs the
 * engine's thread the fill only (with fill_cb: no allocation). */
void nd_dashboard_thread_publish(nd_dashboard_thread_t *t);
/* The server's base URL ("http://127.0.0.1:PORT"). */
void nd_dashboard_thread_url(const nd_dashboard_thread_t *t, char *out, size_t cap);
uint32_t nd_dashboard_thread_clients(const nd_dashboard_thread_t *t);
uint64_t nd_dashboard_thread_messages(const nd_dashboard_thread_t *t);
/* Engine thread: from now on requests that need the engine are refused (409) and the engine
 * side's handle closes (with the engine loop's next pass). Idempotent. */
void nd_dashboard_thread_stop(nd_dashboard_thread_t *t);
/* Engine thread: stops (as above if not done), closes every client and the server on the
 * dashboard's thread, joins it and frees everything; when the engine loop has not run since the
 * stop, the last of it is freed by that loop's next pass (the engine side's handle closing), so
 * the caller runs its loop before closing it, as it does for its own handles. NULL is a no-op. */
void nd_dashboard_thread_destroy(nd_dashboard_thread_t *t);

#endif
