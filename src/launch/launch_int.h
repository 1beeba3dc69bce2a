/* launch_int.h: private to src/launch: the state one preflight run shares between its checks
 * (the venue's REST client, its exchangeInfo body, the loaded secret), and the checks. */
#ifndef NODERR_LAUNCH_INT_H
#define NODERR_LAUNCH_INT_H

#include "noderr/binance.h"
#include "noderr/coinbase.h"
#include "noderr/launch.h"
#include "noderr/preflight.h"
#include "noderr/prom.h"

/* The venue's clock, asked the venue's own way (launch_health.c): Binance GET /api/v3/time
 * on binance, Coinbase Advanced Trade GET /api/v3/brokerage/time on http (both public). */
typedef struct nd__venue_probe {
    nd_venue_t venue;
    char rest_url[ND_LIVE_URL_MAX];
    nd_binance_rest_t *binance; /* Binance, else NULL */
    nd_http_t *http;            /* Coinbase, else NULL */
} nd__venue_probe_t;

/* What the venue checks learn of one venue (its key, its client, whether it answered, its
 * exchangeInfo), kept from one check to the next. */
typedef struct nd__pf_venue {
    nd_secret_t *secret;           /* live mode, once the secrets check loaded it */
    nd__venue_probe_t probe;       /* public client, opened by venue_reachable (the Binance
                                    * one in probe.binance is the other checks' too) */
    bool reachable;
    char *info;                    /* exchangeInfo body (nd_alloc'd), or NULL */
    size_t info_len;
    char info_url[ND_LIVE_URL_MAX + ND_VENUES_MAX * (ND_NAME_MAX + 8) + 64];
} nd__pf_venue_t;

/* A preflight run. The venue checks (nd__pf_per_venue) run once per venue of the config with
 * v set to it: they read vc (cfg->venues[v]) and its symbols, and keep what they learn in the
 * current venue's fields below (secret .. info_url); nd__pf_switch swaps another venue's in. The
 * other checks run once, with the first venue's (v = 0). */
typedef struct nd__pf {
    const nd_live_config_t *cfg;
    const nd_preflight_settings_t *set;
    const nd_preflight_env_t *env;
    nd_preflight_report_t *report;
    uint32_t v;                    /* the venue the checks ask (index in cfg->venues) */
    const nd_live_venue_config_t *vc;
    nd_secret_t *secret;           /* the current venue's (nd__pf_venue_t) */
    nd__venue_probe_t probe;
    bool reachable;
    char *info;
    size_t info_len;
    char info_url[ND_LIVE_URL_MAX + ND_VENUES_MAX * (ND_NAME_MAX + 8) + 64];
    nd__pf_venue_t parked[ND_LIVE_VENUES_MAX]; /* the other venues' while one is current */
} nd__pf_t;

/* Makes venue v current (its state swapped in, the previous one's parked). */
void nd__pf_switch(nd__pf_t *pf, uint32_t v);
/* Whether check k runs once per venue (the ones that ask the venue, and in live mode the key
 * and the account). */
bool nd__pf_per_venue(const nd__pf_t *pf, int k);
/* The current venue's first symbol as the engine names it ("BTC/USDT"), and its quote asset
 * ("USDT"): the account's cash on that venue. */
const char *nd__pf_venue_symbol(const nd__pf_t *pf);
const char *nd__pf_quote_asset(const nd__pf_t *pf);

typedef void (*nd__pf_check_fn)(nd__pf_t *pf, nd_preflight_outcome_t *out);

/* Sets out's status, reason (printf) and hint. */
void nd__pf_set(nd_preflight_outcome_t *out, nd_preflight_status_t status, const char *hint,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* pf_venue.c */
void nd__pf_venue_reachable(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_clock_offset(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_exchange_info(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_balances(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_oracle_fresh(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_feeds_fresh(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_rate_limits(nd__pf_t *pf, nd_preflight_outcome_t *out);
/* pf_coinbase.c: the same checks, the Coinbase Advanced Trade way (pf_venue.c calls them). */
void nd__pf_cb_venue_reachable(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_cb_exchange_info(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_cb_live_balance(nd__pf_t *pf, const char *asset, const char *need_text,
                            nd_preflight_outcome_t *out);
void nd__pf_cb_rate_limits(nd__pf_t *pf, nd_preflight_outcome_t *out);
/* The market_trades and ticker channels of every product, events to sink. */
nd_err_t nd__pf_cb_open_feed(nd__pf_t *pf, nd_md_sink_cb sink, void *ctx,
                             nd_coinbase_stream_t **stream /* OUT */, char *why, size_t why_len);
/* pf_local.c */
void nd__pf_config_valid(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_secrets(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_risk_limits(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_store_audit(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_headroom(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_strategies_validated(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_compliance_profile(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_kill_switch(nd__pf_t *pf, nd_preflight_outcome_t *out);
void nd__pf_build_pinned(nd__pf_t *pf, nd_preflight_outcome_t *out);
/* pf_metrics.c */
void nd__pf_metrics_endpoint(nd__pf_t *pf, nd_preflight_outcome_t *out);

/* ---- launch_capital.c: the ramp, the allocation and the rollback guard of a launch ------- */


/* Daily returns kept per slot: the allocation's window at most. */
#define ND__LAUNCH_RETURNS_MAX 366

typedef struct nd__launch_capital {
    const nd_launch_config_t *lc;
    nd_live_session_t *session;
    const nd_live_config_t *cfg;
    nd_launch_resolve_fn resolve;
    void *resolve_ctx;
    nd_pipeline_t *pipeline;          /* loaded from the session's store; NULL without one */
    uint32_t count;                   /* strategy slots */
    int64_t base_weight_e6[ND_STRATEGIES_MAX]; /* the config's weights (static allocation) */
    nd_ramp_t ramp[ND_STRATEGIES_MAX];
    nd_guard_t guard[ND_STRATEGIES_MAX];
    nd_allocation_t alloc;
    int64_t peak_pnl[ND_STRATEGIES_MAX]; /* the version's P&L peak, for its drawdown */
    int64_t day_start_ns;
    int64_t day_pnl[ND_STRATEGIES_MAX];
    int64_t day_capital[ND_STRATEGIES_MAX];
    int64_t returns_e6[ND_STRATEGIES_MAX][ND__LAUNCH_RETURNS_MAX];
    uint32_t return_count[ND_STRATEGIES_MAX];
    int64_t trips_seen, rejects_seen;
    uint32_t rollbacks;
    /* The version running in each slot: its pipeline id and stage ("unregistered" and -1
     * without a store or when the strategy has no production version). */
    char version[ND_STRATEGIES_MAX][ND_PIPELINE_ID_LEN + 1];
    int stage[ND_STRATEGIES_MAX];
    char state_path[ND_LIVE_PATH_MAX + 32];
} nd__launch_capital_t;

/* Sets the control up for a created session: configs, the pipeline from the store, the state
 * a previous run left in STATE_DIR/launch-state.json (its ramps and allocation resume), and the
 * first weights applied before any market event. ND_EINVAL/ND_EIO with why in err. */
nd_err_t nd__launch_capital_open(nd__launch_capital_t *c, const nd_launch_config_t *lc,
                                 const nd_live_config_t *cfg, nd_live_session_t *session,
                                 int64_t now_ns, char *err, size_t err_len);
/* One tick after a health check (healthy: every module usable; slot_ok, may be NULL: each
 * slot's own health for its guard, the modules it depends on usable, else healthy): guards,
 * rollbacks, ramps (on the session's health: the ramp is the whole session's), daily returns,
 * the allocation when due, the weights, the state file. */
void nd__launch_capital_tick(nd__launch_capital_t *c, int64_t now_ns, bool healthy,
                             const bool *slot_ok);
json_t *nd__launch_capital_json(const nd__launch_capital_t *c);
/* Each strategy with a production version in the pipeline runs that version instead of the
 * one in its slot, recorded (adopt_version): before the first market event (the resolver set),
 * and with fresh_ramp (the slot's ramp and guard start again) after a reload. */
void nd__launch_capital_adopt(nd__launch_capital_t *c, int64_t now_ns, bool fresh_ramp);
/* The pipeline read again from the store (a promotion or rollback by hand, SIGUSR2), then
 * adopted with fresh ramps. */
void nd__launch_capital_reload(nd__launch_capital_t *c, int64_t now_ns);
/* The dashboard's promote (the strategy's canary version to production through its gate, into
 * the slot on a fresh ramp) and roll back (as the guard's, by hand): the HTTP status with why
 * in msg (404 no such strategy, 409 refused). */
int nd__launch_capital_control(nd__launch_capital_t *c, bool promote, const char *strategy,
                               const char *who, int64_t now_ns, char *msg, size_t msg_len);
/* The same with a roll back's target version (NULL: the one retired last) and reason. */
int nd__launch_capital_change(nd__launch_capital_t *c, bool promote, const char *strategy,
                              const char *to_id, const char *reason, const char *who,
                              int64_t now_ns, char *msg, size_t msg_len);
/* A command line's pipeline request (live.h nd_live_pipeline_request): promote {"version"} (a
 * canary version into production and its slot) or rollback {"strategy", "to", "reason"}; the
 * HTTP-like status with why in msg. */
int nd__launch_capital_request(nd__launch_capital_t *c, const json_t *req, int64_t now_ns,
                               char *msg, size_t msg_len);
void nd__launch_capital_close(nd__launch_capital_t *c);

/* ---- launch_metrics.c: the launch's series in the session's registry (docs/monitoring.md) */

typedef struct nd__launch_metrics {
    nd_prom_t *prom;                  /* the session's, or NULL: nothing to do */
    const nd_sup_t *sup;
    const nd__launch_capital_t *cap;
    nd_prom_family_t *f_share, *f_paused, *f_stage, *f_weight;
    nd_prom_cell_t *up[ND_SUP_MODULES_MAX];
    nd_prom_cell_t *share[ND_STRATEGIES_MAX], *paused[ND_STRATEGIES_MAX];
    nd_prom_cell_t *stage[ND_STRATEGIES_MAX], *weight[ND_STRATEGIES_MAX];
    char version[ND_STRATEGIES_MAX][ND_PIPELINE_ID_LEN + 1]; /* the labels registered */
} nd__launch_metrics_t;

/* Registers the families (module up, ramp share and pause, weight, pipeline stage) and the
 * collector that fills them at every scrape. No registry: ND_OK, nothing done. */
nd_err_t nd__launch_metrics_open(nd__launch_metrics_t *m, nd_prom_t *prom, const nd_sup_t *sup,
                                 const nd__launch_capital_t *cap, char *err, size_t err_len);
/* After a tick: a slot whose version changed (a rollback) gets series under its new version
 * label; the old version's are zeroed. On the loop's thread, outside a scrape. */
void nd__launch_metrics_sync(nd__launch_metrics_t *m);


/* Opens the client for one venue of a config; why says what failed. Close with
 * nd__launch_probe_close (also after a failed open). */
nd_err_t nd__launch_probe_open(nd__venue_probe_t *p, const nd_live_venue_config_t *vc,
                               const nd_clock_t *clock, int64_t recv_window_ms, long timeout_ms,
                               char *why, size_t why_len);
void nd__launch_probe_close(nd__venue_probe_t *p);

/* launch_health.c: the venue's clock against ours, best of `samples` time requests (the one
 * with the shortest round trip): offset = venue time - the midpoint of send and receive, known
 * to +- rtt/2. The REST errors with why. Shared by preflight's clock_offset and the launch's
 * health check (which runs it on a worker thread). */
nd_err_t nd__launch_venue_clock(const nd__venue_probe_t *p, const nd_clock_t *clock,
                                int samples, int64_t *offset_us, int64_t *rtt_us, char *why,
                                size_t why_len);
/* Whether a measured offset (+- rtt/2) is close enough for the venue's signed requests.
 * Binance: the worst case under half the recvWindow (recv_window_ms). Coinbase: each request
 * carries a JWT valid from our now (nbf) for ND_COINBASE_JWT_LIFETIME_S (120 s); a venue clock
 * ahead of ours shortens that life by the offset (bound: half the life, 60 s), a venue clock
 * behind ours puts nbf in the venue's future, which it allows by a few seconds at most (bound:
 * half the recvWindow, as for Binance). bound names the bound that applies (for messages). */
bool nd__launch_clock_within(nd_venue_t venue, int64_t offset_us, int64_t rtt_us,
                             int64_t recv_window_ms, char *bound, size_t bound_len);

/* launch_health.c: the nearest existing directory holding path (a file or a directory that
 * may not exist yet): the file system it will live on. */
void nd__launch_existing_dir(const char *path, char *dir, size_t cap);
/* Free space in KiB on the file system of a store URL naming a file (SQLite); -1 for other
 * stores or when it cannot be measured. */
int64_t nd__launch_store_free_kb(const char *store_url);
/* Under this much free space (KiB) on its file system the store module is failed: a commit
 * there would fail (ENOSPC) and strategies stop before one does. */
#define ND__LAUNCH_STORE_FULL_KB 64
/* SHA-256 of the file at path followed by suffix's bytes (NULL: none), as hex: the build hash
 * (the binary and its version) and a strategy's code hash (a .so or .lua file). ND_EIO (or the
 * nd_file_open errors) naming the file in err. O(file size). */
nd_err_t nd__launch_sha256_file(const char *path, const char *suffix, char hex[65], char *err,
                                size_t err_len);

/* Reads a `noderr validate --json` report: its strategy name (into strategy, cap bytes; "" when
 * absent), its "params" object (a new reference in *params, NULL when absent), and its passed
 * and failed scenario counts. The nd_json_file_load errors with why in err. */
nd_err_t nd__launch_validate_report(const char *path, char *strategy, size_t cap,
                                    json_t **params /* OUT */, int64_t *passed /* OUT */,
                                    int64_t *failed /* OUT */, char *err, size_t err_len);

/* The config's canonical hash (preflight.pin left out) and the build's, as hex. */
nd_err_t nd__pf_hashes(const nd_live_config_t *cfg, const nd_preflight_env_t *env,
                       char config_hex[65], char build_hex[65], char *err, size_t err_len);

#endif
