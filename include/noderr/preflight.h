/* preflight.h: the launcher's preflight (docs/launcher.md "Preflight"): 17 named checks over
 * a session config (live.h), each answering pass, fail or skip with a reason and, on a failure,
 * a fix hint. `noderr preflight --config FILE` prints them; `noderr launch` (to come) runs them
 * first and refuses to trade on a failure.
 *
 * The checks run in a fixed order (nd_preflight_check_t). The venue's checks talk to its REST
 * API and market streams (Binance Spot, or `noderr exchange-sim` on 127.0.0.1); a check whose
 * input another check could not get (no venue, no exchangeInfo) fails naming that check. The
 * settings the checks need live in the config's one "preflight" object, parsed here
 * (nd_preflight_settings_parse). Nothing here prints: the CLI does. */
#ifndef NODERR_PREFLIGHT_H
#define NODERR_PREFLIGHT_H

#include "noderr/clock.h"
#include "noderr/err.h"
#include "noderr/live.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The 17 checks, in the order they run and print. Stable: names are printed and parsed. */
typedef enum nd_preflight_check {
    ND_PF_CONFIG_VALID = 0,          /* "config_valid" */
    ND_PF_SECRETS = 1,               /* "secrets" */
    ND_PF_VENUE_REACHABLE = 2,       /* "venue_reachable" */
    ND_PF_CLOCK_OFFSET = 3,          /* "clock_offset" */
    ND_PF_EXCHANGE_INFO = 4,         /* "exchange_info" */
    ND_PF_BALANCES = 5,              /* "balances" */
    ND_PF_ORACLE_FRESH = 6,          /* "oracle_fresh" */
    ND_PF_FEEDS_FRESH = 7,           /* "feeds_fresh" */
    ND_PF_RISK_LIMITS = 8,           /* "risk_limits" */
    ND_PF_STORE_AUDIT = 9,           /* "store_audit" */
    ND_PF_HEADROOM = 10,             /* "headroom" */
    ND_PF_STRATEGIES_VALIDATED = 11, /* "strategies_validated" */
    ND_PF_COMPLIANCE_PROFILE = 12,   /* "compliance_profile" */
    ND_PF_METRICS_ENDPOINT = 13,     /* "metrics_endpoint" */
    ND_PF_KILL_SWITCH = 14,          /* "kill_switch" */
    ND_PF_RATE_LIMITS = 15,          /* "rate_limits" */
    ND_PF_BUILD_PINNED = 16,         /* "build_pinned" */
    ND_PF_CHECK_COUNT = 17
} nd_preflight_check_t;

typedef enum nd_preflight_status {
    ND_PF_PASS = 0,
    ND_PF_FAIL = 1,
    ND_PF_SKIP = 2 /* not applicable here (paper mode, not configured), with the reason */
} nd_preflight_status_t;

/* "config_valid", ...; NULL past the last. */
const char *nd_preflight_check_name(nd_preflight_check_t check);
/* "pass", "fail", "skip". */
const char *nd_preflight_status_name(nd_preflight_status_t status);
/* ND_ENOTFOUND for an unknown name. */
nd_err_t nd_preflight_check_parse(const char *name, nd_preflight_check_t *out /* OUT */);

/* The config's "preflight" object (docs/launcher.md lists the keys and defaults). Fractions are
 * in the risk config's units (0.15 -> 1500), money in cash units (ND_CASH_DECIMALS). */
typedef struct nd_preflight_settings {
    bool live;                     /* "mode": "live" (secrets, balances from the venue) */
    int64_t first_allocation;      /* the ramp's first allocation; default 5% of capital.cash */
    int64_t recv_window_ms;        /* the venue's recvWindow (default 5000) */
    int64_t timeout_ms;            /* each REST request (default 3000) */
    int64_t feed_within_ms;        /* a message of every symbol within this (default 5000) */
    int64_t disk_free_mb_min;      /* free space on the state and store file systems (512) */
    int64_t memory_free_mb_min;    /* MemAvailable (256) */
    int64_t max_drawdown_max;      /* bounds on the risk limits: default the seed's 0.15, */
    int64_t max_position_max;      /* 0.25 and 0.05; the config may only tighten them */
    int64_t daily_loss_max;
    char oracle_rpc[ND_LIVE_URL_MAX]; /* Ethereum JSON-RPC URL(s), comma-separated; "": none */
    char oracle_feed[64];          /* a known feed name ("BTC/USD") or a 0x address */
    int64_t oracle_heartbeat_s;    /* 0: the known feed's heartbeat */
    int64_t oracle_margin_s;       /* grace over the heartbeat (default 60) */
    char validate_reports[ND_STRATEGIES_MAX][ND_LIVE_PATH_MAX]; /* per strategy, "" none */
    uint32_t validate_report_count;
    char pin_config_sha256[65];    /* "": not pinned */
    char pin_build_sha256[65];
} nd_preflight_settings_t;

/* Reads cfg->root's "preflight" object (absent: every default) into out. ND_EINVAL with
 * "FILE: preflight.KEY: why" in err, as the session config's own errors. */
nd_err_t nd_preflight_settings_parse(const nd_live_config_t *cfg,
                                     nd_preflight_settings_t *out /* OUT */, char *err,
                                     size_t err_len);

/* What the checks need besides the config: the clock, and the running program's identity for
 * build_pinned. */
typedef struct nd_preflight_env {
    const nd_clock_t *clock;
    const char *binary_path;       /* hashed for build_pinned ("/proc/self/exe") */
    const char *version;           /* "0.1.0" */
} nd_preflight_env_t;

/* One venue's part of a check that asks each venue (a config with two venues). */
typedef struct nd_preflight_venue_outcome {
    char venue[16];                /* "binance", "coinbase" (nd_venue_name) */
    nd_preflight_status_t status;
    char reason[384];
    char hint[256];
} nd_preflight_venue_outcome_t;

typedef struct nd_preflight_outcome {
    nd_preflight_status_t status;
    char reason[384];              /* what was measured, or why it failed or was skipped */
    char hint[256];                /* on a failure: how to fix it ("" otherwise) */
    int64_t elapsed_ns;
    /* With two venues, the checks that ask the venue (secrets, venue_reachable, clock_offset,
     * exchange_info, balances, feeds_fresh, rate_limits; secrets and balances in live mode)
     * run once per venue: venue_count outcomes, in the config's venue order. status is then
     * the worst of them (a failure on either fails the check; pass when one passed and none
     * failed), reason and hint name each venue ("binance: ...; coinbase: ..."). 0 for the
     * checks that run once, and for every check of a one-venue config. */
    uint32_t venue_count;
    nd_preflight_venue_outcome_t venues[ND_LIVE_VENUES_MAX];
} nd_preflight_outcome_t;

typedef struct nd_preflight_report {
    nd_preflight_outcome_t checks[ND_PF_CHECK_COUNT];
    bool ran[ND_PF_CHECK_COUNT];   /* false: not selected (nd_preflight_run's mask) */
    uint32_t passed, failed, skipped;
    char config_sha256[65];        /* of the config's canonical form, preflight.pin left out */
    char build_sha256[65];         /* of the binary and the version */
    int64_t elapsed_ns;
} nd_preflight_report_t;

#define ND_PF_ALL ((1u << ND_PF_CHECK_COUNT) - 1u)

/* Runs the checks whose bit (1u << check) is in mask, in order, into out. cfg is a loaded
 * config with bt.strategies resolved (the CLI's resolver). Returns ND_OK when the checks ran
 * (whatever they found: see out->failed); ND_ENOMEM. */
nd_err_t nd_preflight_run(const nd_live_config_t *cfg, const nd_preflight_settings_t *set,
                          const nd_preflight_env_t *env, unsigned mask,
                          nd_preflight_report_t *out /* OUT */);

/* The report as one JSON object: mode, passed, failed, skipped, the hashes, elapsed_ms and
 * "checks": [{"name", "status", "reason", "hint"}...] in order, a check run per venue with
 * "venues": [{"venue", "status", "reason", "hint"}...]. The caller json_decref's it. */
json_t *nd_preflight_report_json(const nd_preflight_report_t *report);

#endif
