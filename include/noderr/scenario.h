/* scenario.h: the scenario catalogue: real-history windows and seeded synthetic stress paths.
 *
 * A history scenario is a window [from_ns, to_ns) of DATA_DIR/SYMBOL-INTERVAL.csv (the layout
 * `noderr data fetch` writes). A synthetic scenario is a base path (the seeded synthetic market
 * by default, or the bars of a named history scenario) with one shock laid on top:
 *   flash-crash       prices fall drop_pct within drop_minutes, then recover recovery_pct of
 *                     the fall over recovery_bars;
 *   liquidity-crisis  for duration_bars the high/low range widens spread_mult times, closes drift
 *                     drift_pct against holders and volume falls to volume_mult of normal; the
 *                     scenario carries venue overrides (slippage, impact, volume cap) so that
 *                     slippage and partial fills bite;
 *   gap-down          from the shock bar on, prices are rescaled so that its open lies gap_pct
 *                     below the previous bar's low: resting stops fill through the gap.
 * The shock bar is at_fraction of the way through the base path, or a seeded draw in
 * [0.3, 0.7) when at_fraction < 0. Generation uses only IEEE basic operations and the seeded
 * generator, so a scenario gives the same bars on every machine. docs/validation.md documents
 * the built-ins and the JSON config schema. */
#ifndef NODERR_SCENARIO_H
#define NODERR_SCENARIO_H

#include "noderr/err.h"
#include "noderr/market.h"
#include "noderr/sim_venue.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { ND_SCENARIO_HISTORY = 1, ND_SCENARIO_SYNTHETIC = 2 } nd_scenario_kind_t;

typedef enum nd_shock_kind {
    ND_SHOCK_NONE = 0,             /* the base path as it is */
    ND_SHOCK_FLASH_CRASH = 1,
    ND_SHOCK_LIQUIDITY_CRISIS = 2,
    ND_SHOCK_GAP_DOWN = 3
} nd_shock_kind_t;

/* Synthetic parameters; fields that do not apply to a shock are ignored. */
typedef struct nd_scenario_synth {
    nd_shock_kind_t shock;
    uint64_t seed;            /* base path seed and the shock's position draw */
    char base[64];            /* "synthetic" or the name of a history scenario */
    int64_t bars;             /* synthetic base: bars to generate */
    double start_price;       /* synthetic base: quote units */
    double annual_vol;        /* synthetic base: calm annualised volatility */
    double at_fraction;       /* shock position in [0, 1), or < 0: drawn from the seed */
    double drop_pct;          /* flash-crash: the fall, percent of the pre-crash price */
    int64_t drop_minutes;     /* flash-crash: how long the fall takes */
    double recovery_pct;      /* flash-crash: percent of the fall won back */
    int64_t recovery_bars;    /* flash-crash: bars the recovery takes */
    double spread_mult;       /* liquidity-crisis: high/low range multiple (>= 1) */
    double volume_mult;       /* liquidity-crisis: volume multiple (0 < m <= 1) */
    double drift_pct;         /* liquidity-crisis: adverse close drift over the crisis, percent */
    int64_t duration_bars;    /* liquidity-crisis: length */
    double gap_pct;           /* gap-down: open this far below the previous low, percent */
} nd_scenario_synth_t;

/* Venue settings a scenario imposes on the run (liquidity-crisis turns impact on). */
typedef struct nd_scenario_venue {
    bool set;
    int64_t slippage_bps_e2;
    int64_t impact_bps_e2;
    int64_t max_volume_share_e4;
} nd_scenario_venue_t;

typedef struct nd_scenario {
    char name[64];
    nd_scenario_kind_t kind;
    char description[200];
    char symbol[32];          /* "BTCUSDT" (file name form) */
    char interval[8];         /* "1h" */
    int64_t from_ns, to_ns;   /* window [from, to) for history */
    char condition[16];       /* market condition for criteria: crash, bull, bear, volatile,
                                 illiquid or custom */
    bool builtin;
    nd_scenario_synth_t synth;
    nd_scenario_venue_t venue;
} nd_scenario_t;

/* A JSON document from a file (a scenario config, a --params file), read with nd_file_read (no
 * blocking open of a FIFO or device, a directory named as one, at most size_max bytes) and parsed
 * with json_flags. A leading UTF-8 byte order mark is skipped. A parse error is ND_EPARSE with
 * err "PATH:LINE:COLUMN: why", in our words where jansson's would name its flags (a \u0000
 * escape). The caller json_decref's *out. */
#define ND_JSON_FILE_BYTES_MAX (16u << 20)
nd_err_t nd_json_file_load(const char *path, size_t size_max, int json_flags,
                           json_t **out /* OUT */, char *err, size_t err_len);

/* A time (Unix ns) as an ISO-8601 UTC JSON string (nd_time_format_iso), the one shape every
 * JSON output of the backtest, validate, scenarios and evolve commands gives times in. */
json_t *nd_json_time(int64_t ns);
/* An exact amount (value in 10^-decimals units) as a JSON decimal string ("12.5"): every JSON
 * output gives money, prices and quantities this way, never as a binary double. */
json_t *nd_json_fixed(int64_t value, int decimals);

/* The built-in catalogue plus the scenarios of a config file (NULL: built-ins only). A config
 * scenario with a built-in's name replaces it (its unset fields keep the built-in's values).
 * ND_EINVAL/ND_EPARSE/ND_EIO with "FILE: key: why" in err. Caller frees *out with nd_free.
 * Cost: O(scenarios). */
nd_err_t nd_scenario_catalogue(const char *config_path, nd_scenario_t **out /* OUT */,
                               size_t *count /* OUT */, char *err, size_t err_len);

/* Opens a scenario's bars for inst: history reads DATA_DIR/SYMBOL-INTERVAL.csv restricted to
 * the window; synthetic generates from its seed on top of its base path. ND_ENOTFOUND when the
 * history file is missing or does not cover the window, with err naming the `noderr data fetch
 * ...` command that would get it. *out is freed with (*out)->close(*out). */
nd_err_t nd_scenario_open(const nd_scenario_t *sc, const char *data_dir,
                          const nd_instrument_t *inst, nd_bar_source_t **out /* OUT */,
                          char *err, size_t err_len);

/* A cache of parsed history files, so that a suite reads each file once however many windows
 * it slices from it. Keyed by path and the instrument's scales. */
typedef struct nd_scenario_cache nd_scenario_cache_t;
nd_err_t nd_scenario_cache_create(nd_scenario_cache_t **out /* OUT */);
void nd_scenario_cache_destroy(nd_scenario_cache_t *cache);

/* Materialises a scenario's bars (the same bars nd_scenario_open yields) into *bars, which the
 * caller frees with nd_free. cache may be NULL. Errors as nd_scenario_open. O(bars). */
nd_err_t nd_scenario_load(const nd_scenario_t *sc, const char *data_dir,
                          const nd_instrument_t *inst, nd_scenario_cache_t *cache,
                          nd_bar_t **bars /* OUT */, size_t *count /* OUT */, char *err,
                          size_t err_len);

/* A bar source over an array. With owned, the source frees bars on close; otherwise the array
 * must outlive the source. ND_ENOMEM. */
nd_err_t nd_bars_memory_open(nd_bar_t *bars, size_t count, bool owned,
                             nd_bar_source_t **out /* OUT */);

/* The `noderr data fetch --symbol S --interval I --from D --to D --dir DIR` command that gets a
 * history scenario's data (--to is the window's last day, inclusive). */
void nd_scenario_fetch_command(const nd_scenario_t *sc, const char *data_dir, char *buf,
                               size_t cap);

/* The file a history scenario reads: DATA_DIR/SYMBOL-INTERVAL.csv (data_dir NULL: "data"). */
void nd_scenario_data_path(const nd_scenario_t *sc, const char *data_dir, char *buf, size_t cap);

/* What a history scenario needs, for people: "ETHUSDT 1h from 2020-02-15 to 2020-04-30" (whole
 * UTC days, both inclusive, as `noderr data fetch` takes them). */
void nd_scenario_needs(const nd_scenario_t *sc, char *buf, size_t cap);

/* Parses "1m", "15m", "1h", "4h", "1d", "1w" into ns; ND_EPARSE otherwise. */
nd_err_t nd_scenario_interval_ns(const char *interval, int64_t *out_ns /* OUT */);

/* The scenario as a JSON object (caller owns it): name, kind, condition, description, symbol,
 * interval, from and to (null for a synthetic base), "synthetic" parameters, "venue" overrides. */
json_t *nd_scenario_json(const nd_scenario_t *sc);

const char *nd_shock_kind_name(nd_shock_kind_t shock);      /* "flash-crash", ... */
const char *nd_scenario_kind_name(nd_scenario_kind_t kind); /* "history", "synthetic" */

#endif
