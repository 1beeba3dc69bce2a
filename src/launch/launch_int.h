/* launch_int.h: private to src/launch: the state one preflight run shares between its checks
 * (the venue's REST client, its exchangeInfo body, the loaded secret), and the checks. */
#ifndef NODERR_LAUNCH_INT_H
#define NODERR_LAUNCH_INT_H

#include "noderr/binance.h"
#include "noderr/preflight.h"

typedef struct nd__pf {
    const nd_live_config_t *cfg;
    const nd_preflight_settings_t *set;
    const nd_preflight_env_t *env;
    nd_preflight_report_t *report;
    nd_secret_t *secret;           /* live mode, once the secrets check loaded it */
    nd_binance_rest_t *rest;       /* public client, created by venue_reachable */
    bool reachable;
    char *info;                    /* exchangeInfo body (nd_alloc'd), or NULL */
    size_t info_len;
    char info_url[ND_LIVE_URL_MAX + ND_VENUES_MAX * (ND_NAME_MAX + 8) + 64];
} nd__pf_t;

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

/* The config's canonical hash (preflight.pin left out) and the build's, as hex. */
nd_err_t nd__pf_hashes(const nd_live_config_t *cfg, const nd_preflight_env_t *env,
                       char config_hex[65], char build_hex[65], char *err, size_t err_len);

#endif
