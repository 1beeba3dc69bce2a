/* validate.h: run one strategy through every scenario and judge it against pass/fail criteria.
 *
 * For each scenario the validator runs the backtest over the scenario's bars (with the
 * scenario's venue overrides), records a trace of the run (exact equity per bar, breaker trips,
 * strategy orders accepted while halted), validates the breakers against that equity (did each
 * trip come within N bars of its threshold being crossed, did trading stay halted, how much
 * more was lost after the trip), checks the criteria that apply to the scenario's market
 * condition, and optionally splits the window into walk-forward segments. The answer is one
 * JSON document (docs/validation.md lists its keys); the same inputs give the same bytes. */
#ifndef NODERR_VALIDATE_H
#define NODERR_VALIDATE_H

#include "noderr/backtest.h"
#include "noderr/scenario.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- criteria ---- */

typedef struct nd_criteria {
    double max_drawdown_pct;      /* worst drawdown, percent, must be <= this; NaN: off */
    double min_sharpe;            /* annualised Sharpe must be >= this; NaN: off */
    double min_total_return_pct;  /* total return, percent, must be >= this; NaN: off */
    int64_t breaker_max_lag_bars; /* a breaker trips within this many bars; < 0: off */
    bool no_orders_while_halted;  /* no strategy order accepted during a halt */
    bool flat_after_halt;         /* every halt ends (or the run ends) with no position open */
} nd_criteria_t;

/* The criteria of a scenario, layered: built-in defaults (max drawdown 15% everywhere,
 * breakers within 1 bar, no orders while halted; Sharpe >= 0.5 in bull windows; total return
 * >= -10% in crashes and illiquid markets, >= -15% in bear markets), then the config's
 * "criteria" sections "default", the kind ("history"/"synthetic"), the condition and the
 * scenario's name, then the scenario's own "criteria". config may be NULL. ND_EINVAL with
 * "FILE: criteria.SECTION.KEY: why" in err. */
nd_err_t nd_criteria_resolve(const char *config_path, json_t *config, const nd_scenario_t *sc,
                             nd_criteria_t *out /* OUT */, char *err, size_t err_len);

/* Checks every key of every criteria section in config (so a typo fails even when unused). */
nd_err_t nd_criteria_check_config(const char *config_path, json_t *config, char *err,
                                  size_t err_len);

/* ---- the trace of a run ---- */

typedef struct nd_trace_trip {
    nd_breaker_event_t event;
    int64_t halt_end_ns;            /* INT64_MAX: halted to the end of the run */
    int64_t accepted_while_halted;  /* strategy orders accepted during this halt */
    int64_t flatten_orders;         /* the engine's own flattening orders after the trip */
    int64_t bars_open_after;        /* bars after the trip's bar, within the halt, with a position */
    bool open_at_halt_end;          /* a position was still open when the halt ended: on the
                                       first bar at or after its end (its open fills the last
                                       flattening orders before the halt lifts), or at the
                                       run's end */
    bool settled;                   /* a bar at or after the halt's end was seen */
} nd_trace_trip_t;

typedef struct nd_run_trace {
    int64_t *ts_ns;                 /* per bar: open time */
    int64_t *equity;                /* per bar: equity after the mark, cash units */
    uint8_t *in_market;             /* per bar: a position was open after the breaker step */
    size_t count, capacity;
    nd_trace_trip_t *trips;
    size_t trip_count, trip_capacity;
    int64_t accepted_orders;        /* strategy orders the venue accepted */
    int64_t accepted_while_halted;
    nd_err_t failure;               /* ND_ENOMEM if recording ran out of memory */
    nd_risk_config_t risk;          /* the run's limits and reset policies (defaults at init) */
    /* private */
    int64_t _ext_per_cash;
    int64_t _halt_end_ns;
} nd_run_trace_t;

/* ext_decimals: the portfolio's extended equity scale (px_decimals + qty_decimals). */
void nd_run_trace_init(nd_run_trace_t *t, int ext_decimals);
void nd_run_trace_deinit(nd_run_trace_t *t);
/* A listener that records into t (pass it as nd_backtest_config_t.tap). Orders the engine
 * sends to flatten after a trip are told apart from strategy orders by matching the positions
 * held at the trip (same strategy, opposite side, whole quantity, market, at the trip time). */
nd_engine_listener_t nd_run_trace_listener(nd_run_trace_t *t);
/* Appends a bar or a trip by hand (tests, or a recorded run). ND_ENOMEM. */
nd_err_t nd_run_trace_push_bar(nd_run_trace_t *t, int64_t ts_ns, int64_t equity, bool in_market);
nd_err_t nd_run_trace_push_trip(nd_run_trace_t *t, const nd_breaker_event_t *event);

/* ---- breaker validation ---- */

/* A threshold crossing found in the equity series, replaying the breaker rules of risk.h
 * (peak from the first bar, day opening equity = the last equity before the UTC day, a
 * drawdown halt lasts to the end, a daily-loss halt to the next UTC day). */
typedef struct nd_crossing {
    nd_breaker_kind_t kind;
    int64_t bar_index;
    int64_t ts_ns;
    int64_t measured_e6;     /* the loss share at the crossing, millionths */
    int64_t trip_index;      /* index into the trips, -1: no trip followed */
    int64_t lag_bars;        /* trip bar - crossing bar, -1 when none followed */
} nd_crossing_t;

typedef struct nd_trip_check {
    nd_trace_trip_t trip;
    int64_t bar_index;          /* the trip's bar, -1 when the trip time is not a bar */
    int64_t crossing_index;     /* the crossing it answered, -1: none (unexpected) */
    int64_t lag_bars;           /* -1 when unexpected */
    bool stayed_halted;         /* no strategy order accepted during the halt */
    bool flat_after;            /* the engine flattened: no position left on the halt's last bar */
    double further_loss;        /* lowest equity from the trip on / equity at the trip - 1 */
    double max_drawdown_after;  /* worst drawdown from the running peak, from the trip on */
} nd_trip_check_t;

typedef struct nd_breaker_validation {
    nd_crossing_t *crossings;
    size_t crossing_count;
    nd_trip_check_t *trips;
    size_t trip_count;
    int64_t max_lag_bars;       /* the limit checked against (< 0: off) */
    int64_t worst_lag_bars;     /* over answered crossings; -1 when there were none */
    int64_t missed;             /* crossings no trip answered */
    int64_t late;               /* answered later than max_lag_bars */
    int64_t unexpected;         /* drawdown/daily trips no crossing explains */
    int64_t accepted_while_halted;
    int64_t left_open;          /* trips whose halt ended (or the run ended) with a position */
    bool lag_pass;
    bool halt_pass;
    bool flat_pass;             /* left_open == 0 */
} nd_breaker_validation_t;

/* Validates the trace's trips against its equity under the risk thresholds. O(bars + trips *
 * log bars). ND_ENOMEM; the result is freed with nd_breaker_validation_free either way. */
nd_err_t nd_validate_breakers(const nd_run_trace_t *trace, const nd_risk_config_t *risk,
                              int64_t max_lag_bars, nd_breaker_validation_t *out /* OUT */);
void nd_breaker_validation_free(nd_breaker_validation_t *v);

/* ---- criteria check ---- */

#define ND_CRITERIA_MAX 6

typedef struct nd_criterion_result {
    const char *name;   /* "max_drawdown", "min_sharpe", "min_total_return", "breaker_lag",
                           "no_orders_while_halted", "flat_after_halt" */
    double value;       /* NaN when undefined (e.g. no Sharpe without variance) */
    double limit;
    bool pass;
    char detail[200];   /* why, in words */
} nd_criterion_result_t;

/* Checks the criteria that are on; returns how many results were written (<= ND_CRITERIA_MAX).
 * max_drawdown is the metric (<= 0), total_return a fraction. */
size_t nd_criteria_check(const nd_criteria_t *c, double max_drawdown, double sharpe,
                         double total_return, const nd_breaker_validation_t *bv,
                         nd_criterion_result_t *out);

/* ---- walk-forward ---- */

typedef struct nd_wf_segment {
    int64_t train_from_ns, train_to_ns; /* in-sample [from, to) */
    int64_t test_from_ns, test_to_ns;   /* out-of-sample [from, to), starts where train ends */
} nd_wf_segment_t;

/* Parses "TRAIN:TEST" such as "90d:30d" (units h, d, w). ND_EPARSE. */
nd_err_t nd_walk_forward_parse(const char *text, int64_t *train_ns /* OUT */,
                               int64_t *test_ns /* OUT */);
/* Rolling segments over [from, to): segment k trains on [from + k*test, + train) and tests on
 * the test span after it; as many as end by `to`: floor((to - from - train) / test) when
 * to - from >= train + test, else 0. Writes at most cap; returns the full count. */
size_t nd_walk_forward_split(int64_t from_ns, int64_t to_ns, int64_t train_ns, int64_t test_ns,
                             nd_wf_segment_t *out, size_t cap);

/* ---- the suite ---- */

typedef struct nd_validate_config {
    nd_backtest_config_t backtest; /* the run template: one strategy, costs, risk, sizing */
    const char *data_dir;
    /* --symbol ETHUSDT (file-name form): every scenario runs on it, history windows reading
     * DATA_DIR/ETHUSDT-INTERVAL.csv; NULL: each scenario's own (BTCUSDT in the catalogue). */
    const char *symbol;
    const char *config_path;       /* scenarios and criteria, or NULL */
    const char *const *only;       /* run only these scenario names (NULL: all) */
    size_t only_count;
    int64_t wf_train_ns, wf_test_ns; /* 0: no walk-forward */
    const char *csv_dir;           /* NAME-equity.csv and NAME-trades.csv per scenario, or NULL */
    bool with_series;              /* per scenario "equity", "drawdown", "trades" (reports) */
    const char *title;             /* the report's top-level "title", or NULL */
} nd_validate_config_t;

void nd_validate_config_default(nd_validate_config_t *cfg);

/* Runs the suite. *doc gets {"scenarios": [...], "passed", "failed", "skipped", "strategy",
 * "params", ...}; caller owns it. A history scenario whose data is missing is "skipped" with the
 * fetch command, never passed. Errors (bad config, malformed data, unknown --scenario name,
 * unwritable CSV dir) return ND_EINVAL/ND_EPARSE/ND_EIO with why in err. */
nd_err_t nd_validate_run(const nd_validate_config_t *cfg, json_t **doc /* OUT */, char *err,
                         size_t err_len);

#endif
