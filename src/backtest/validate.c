/* validate.c: the pieces of validation that need no engine: the run trace listener, breaker
 * validation against an equity series, the criteria (defaults, config layering, the check) and
 * the walk-forward split.
 *
 * Invariants: breaker crossings are found with the exact integer comparison risk.c uses
 * ((reference - equity) * 10000 >= threshold_e2 * reference), on equity in cash units; a trip is
 * matched to at most one crossing of its own kind, and never to a crossing after it. */
#include "noderr/validate.h"
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- the trace ---------------------------------------------------------------------------- */

void nd_run_trace_init(nd_run_trace_t *t, int ext_decimals)
{
    ND_ASSERT(t != NULL);
    ND_ASSERT(ext_decimals >= ND_CASH_DECIMALS && ext_decimals <= 18 + ND_CASH_DECIMALS);
    memset(t, 0, sizeof *t);
    t->_ext_per_cash = nd_pow10(ext_decimals - ND_CASH_DECIMALS);
    nd_risk_config_default(&t->risk);
}

void nd_run_trace_deinit(nd_run_trace_t *t)
{
    if (!t)
        return;
    nd_free(t->ts_ns);
    nd_free(t->equity);
    nd_free(t->in_market);
    nd_free(t->trips);
    memset(t, 0, sizeof *t);
}

/* Follows the latest trip through its halt: bars with a position after the trip's bar, and
 * whether one was open when the halt ended. The first bar at or after the end settles it: its
 * opening fills (the flattening orders' last) come before the breaker step lifts the halt, and
 * what the strategy then orders fills only from the next bar. */
static void follow_halt(nd_run_trace_t *t, int64_t ts_ns, bool in_market)
{
    if (t->trip_count == 0)
        return;
    nd_trace_trip_t *trip = &t->trips[t->trip_count - 1];
    if (ts_ns <= trip->event.ts_ns || trip->settled)
        return;
    trip->open_at_halt_end = in_market;
    if (ts_ns < trip->halt_end_ns)
        trip->bars_open_after += in_market;
    else
        trip->settled = true;
}

nd_err_t nd_run_trace_push_bar(nd_run_trace_t *t, int64_t ts_ns, int64_t equity, bool in_market)
{
    ND_ASSERT(t != NULL);
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? t->capacity * 2 : 1024;
        int64_t *ts = nd_realloc(t->ts_ns, cap * sizeof *ts);
        if (!ts)
            return ND_ENOMEM;
        t->ts_ns = ts;
        int64_t *eq = nd_realloc(t->equity, cap * sizeof *eq);
        if (!eq)
            return ND_ENOMEM;
        t->equity = eq;
        uint8_t *im = nd_realloc(t->in_market, cap * sizeof *im);
        if (!im)
            return ND_ENOMEM;
        t->in_market = im;
        t->capacity = cap;
    }
    t->ts_ns[t->count] = ts_ns;
    t->equity[t->count] = equity;
    t->in_market[t->count] = in_market;
    t->count++;
    follow_halt(t, ts_ns, in_market);
    return ND_OK;
}

nd_err_t nd_run_trace_push_trip(nd_run_trace_t *t, const nd_breaker_event_t *event)
{
    ND_ASSERT(t != NULL && event != NULL);
    nd_trace_trip_t *trip =
        nd_array_push(&t->trips, &t->trip_capacity, &t->trip_count, sizeof *trip, 16);
    if (!trip)
        return ND_ENOMEM;
    trip->event = *event;
    trip->halt_end_ns = nd_risk_halt_end_ns(&t->risk, event->kind, event->ts_ns);
    /* Until a bar after the trip says otherwise, the position the trip found is open. */
    trip->open_at_halt_end = true;
    if (trip->halt_end_ns > t->_halt_end_ns || t->_halt_end_ns <= event->ts_ns)
        t->_halt_end_ns = trip->halt_end_ns;
    return ND_OK;
}

static void on_trip(nd_run_trace_t *t, const nd_breaker_event_t *ev)
{
    if (nd_run_trace_push_trip(t, ev) != ND_OK)
        t->failure = ND_ENOMEM;
}

static void on_accepted(nd_run_trace_t *t, const nd_event_t *ev)
{
    const nd_order_t *o = &ev->u.order;
    /* The engine's own flattening orders are the halt working, not an order let through. */
    if (o->risk_flatten) {
        ND_ASSERT(t->trip_count > 0);
        t->trips[t->trip_count - 1].flatten_orders++;
        return;
    }
    t->accepted_orders++;
    if (t->trip_count > 0 && ev->ts_ns < t->_halt_end_ns) {
        t->accepted_while_halted++;
        t->trips[t->trip_count - 1].accepted_while_halted++;
    }
}

static nd_err_t trace_on_event(void *ctx, const nd_event_t *ev)
{
    nd_run_trace_t *t = ctx;
    ND_ASSERT(t != NULL && ev != NULL);
    switch (ev->kind) {
    case ND_EVENT_BREAKER:
        on_trip(t, &ev->u.breaker);
        break;
    case ND_EVENT_ORDER:
        if (ev->u.order.status == ND_ORDER_ACCEPTED)
            on_accepted(t, ev);
        break;
    case ND_EVENT_FILL:
    case ND_EVENT_ORDER_AMENDED:
        break;
    }
    return ND_OK;
}

static void trace_on_bar_done(void *ctx, const nd_bar_t *bar, __int128 equity_ext, bool in_market)
{
    nd_run_trace_t *t = ctx;
    int64_t equity = 0;
    if (nd_fixed_div128(equity_ext, t->_ext_per_cash, ND_ROUND_HALF_EVEN, &equity) != ND_OK ||
        nd_run_trace_push_bar(t, bar->ts_ns, equity, in_market) != ND_OK)
        t->failure = ND_ENOMEM;
}

nd_engine_listener_t nd_run_trace_listener(nd_run_trace_t *t)
{
    ND_ASSERT(t != NULL);
    nd_engine_listener_t l = {trace_on_event, trace_on_bar_done, NULL, t};
    return l;
}

/* ---- breaker validation ------------------------------------------------------------------- */

static bool loss_reached(int64_t reference, int64_t equity, int64_t threshold_e2)
{
    if (threshold_e2 == 0 || reference <= 0)
        return false;
    return ((__int128)reference - equity) * 10000 >= (__int128)threshold_e2 * reference;
}

static nd_err_t add_crossing(nd_breaker_validation_t *v, size_t *cap, nd_breaker_kind_t kind,
                             int64_t bar, int64_t ts, int64_t reference, int64_t equity)
{
    nd_crossing_t *c = nd_array_push(&v->crossings, cap, &v->crossing_count, sizeof *c, 16);
    if (!c)
        return ND_ENOMEM;
    *c = (nd_crossing_t){kind, bar, ts, 0, -1, -1};
    c->measured_e6 = (int64_t)(((__int128)reference - equity) * 1000000 / reference);
    return ND_OK;
}

/* Replays the breaker rules over the equity series (see nd_crossing_t). O(bars). */
static nd_err_t find_crossings(const nd_run_trace_t *t, const nd_risk_config_t *risk,
                               nd_breaker_validation_t *v)
{
    if (t->count == 0)
        return ND_OK;
    size_t cap = 0;
    int64_t peak = t->equity[0], day_open = t->equity[0], last = t->equity[0];
    int64_t day_end = nd_time_day_start(t->ts_ns[0]) + ND_NS_PER_DAY, halt_end = 0;
    bool halted = false;
    nd_breaker_kind_t halt_kind = ND_BREAKER_DRAWDOWN;
    for (size_t k = 0; k < t->count; k++) {
        int64_t ts = t->ts_ns[k], eq = t->equity[k];
        if (ts >= day_end) {
            day_open = last;
            day_end = nd_time_day_start(ts) + ND_NS_PER_DAY;
        }
        if (halted && ts >= halt_end) {
            halted = false; /* the reset policy lifts it, as risk.c does */
            if (halt_kind == ND_BREAKER_DRAWDOWN)
                peak = eq;
            else if (risk->daily_loss_reset.kind == ND_BREAKER_RESET_AFTER)
                day_open = eq;
        }
        last = eq;
        if (eq > peak)
            peak = eq;
        nd_err_t rc = ND_OK;
        nd_breaker_kind_t kind = 0;
        if (!(halted && halt_kind != ND_BREAKER_DAILY_LOSS) &&
            loss_reached(peak, eq, risk->max_drawdown_pct_e2)) {
            kind = ND_BREAKER_DRAWDOWN;
            rc = add_crossing(v, &cap, kind, (int64_t)k, ts, peak, eq);
        } else if (!halted && loss_reached(day_open, eq, risk->daily_loss_pct_e2)) {
            kind = ND_BREAKER_DAILY_LOSS;
            rc = add_crossing(v, &cap, kind, (int64_t)k, ts, day_open, eq);
        }
        if (kind != 0) {
            int64_t end = nd_risk_halt_end_ns(risk, kind, ts);
            halt_end = !halted || end > halt_end ? end : halt_end;
            halted = true;
            halt_kind = kind;
        }
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

static int64_t bar_of(const nd_run_trace_t *t, int64_t ts_ns)
{
    size_t lo = nd_time_lower_bound(t->ts_ns, t->count, sizeof *t->ts_ns, ts_ns);
    return lo < t->count && t->ts_ns[lo] == ts_ns ? (int64_t)lo : -1;
}

/* The next crossing of the same kind after crossing c, as a bar index (or past the end). */
static int64_t next_crossing_bar(const nd_breaker_validation_t *v, size_t c, int64_t end)
{
    for (size_t k = c + 1; k < v->crossing_count; k++)
        if (v->crossings[k].kind == v->crossings[c].kind)
            return v->crossings[k].bar_index;
    return end;
}

/* Each crossing is answered by the first unanswered trip of its kind at or after it and
 * before the next crossing of that kind. */
static void match_trips(nd_breaker_validation_t *v, int64_t bars)
{
    for (size_t c = 0; c < v->crossing_count; c++) {
        nd_crossing_t *x = &v->crossings[c];
        int64_t until = next_crossing_bar(v, c, bars);
        for (size_t k = 0; k < v->trip_count; k++) {
            nd_trip_check_t *tc = &v->trips[k];
            if (tc->crossing_index >= 0 || tc->trip.event.kind != x->kind ||
                tc->bar_index < x->bar_index || tc->bar_index >= until)
                continue;
            tc->crossing_index = (int64_t)c;
            tc->lag_bars = tc->bar_index - x->bar_index;
            x->trip_index = (int64_t)k;
            x->lag_bars = tc->lag_bars;
            break;
        }
    }
}

/* Lowest equity from the trip on against the equity at the trip, and the worst drawdown from
 * the running peak (all of the run's history) over the bars from the trip on. */
static void after_trip(const nd_run_trace_t *t, nd_trip_check_t *tc)
{
    tc->further_loss = NAN;
    tc->max_drawdown_after = NAN;
    if (tc->bar_index < 0)
        return;
    int64_t peak = t->equity[0];
    for (int64_t k = 0; k < tc->bar_index; k++)
        peak = t->equity[k] > peak ? t->equity[k] : peak;
    int64_t at = t->equity[tc->bar_index], low = at;
    double worst = 0.0;
    for (size_t k = (size_t)tc->bar_index; k < t->count; k++) {
        int64_t eq = t->equity[k];
        peak = eq > peak ? eq : peak;
        low = eq < low ? eq : low;
        double dd = peak > 0 ? (double)eq / (double)peak - 1.0 : 0.0;
        worst = dd < worst ? dd : worst;
    }
    tc->further_loss = at > 0 ? (double)low / (double)at - 1.0 : NAN;
    tc->max_drawdown_after = worst;
}

static void summarise(nd_breaker_validation_t *v)
{
    v->worst_lag_bars = -1;
    for (size_t c = 0; c < v->crossing_count; c++) {
        const nd_crossing_t *x = &v->crossings[c];
        if (x->trip_index < 0) {
            v->missed++;
            continue;
        }
        if (x->lag_bars > v->worst_lag_bars)
            v->worst_lag_bars = x->lag_bars;
        if (v->max_lag_bars >= 0 && x->lag_bars > v->max_lag_bars)
            v->late++;
    }
    for (size_t k = 0; k < v->trip_count; k++) {
        const nd_trip_check_t *tc = &v->trips[k];
        /* The kill switch, data-integrity and anomaly trips have no equity threshold to cross. */
        if (tc->crossing_index < 0 && tc->trip.event.kind != ND_BREAKER_KILL_SWITCH &&
            tc->trip.event.kind != ND_BREAKER_DATA_INTEGRITY &&
            tc->trip.event.kind != ND_BREAKER_ANOMALY)
            v->unexpected++;
        v->accepted_while_halted += tc->trip.accepted_while_halted;
        v->left_open += !tc->flat_after;
    }
    v->lag_pass = v->missed == 0 && v->late == 0 && v->unexpected == 0;
    v->halt_pass = v->accepted_while_halted == 0;
    v->flat_pass = v->left_open == 0;
}

nd_err_t nd_validate_breakers(const nd_run_trace_t *t, const nd_risk_config_t *risk,
                              int64_t max_lag_bars, nd_breaker_validation_t *v)
{
    ND_ASSERT(t != NULL && risk != NULL);
    ND_ASSERT(v != NULL);
    memset(v, 0, sizeof *v);
    v->max_lag_bars = max_lag_bars;
    nd_err_t rc = find_crossings(t, risk, v);
    if (rc != ND_OK)
        return rc;
    if (t->trip_count > 0 && !(v->trips = nd_calloc(t->trip_count, sizeof *v->trips)))
        return ND_ENOMEM;
    v->trip_count = t->trip_count;
    for (size_t k = 0; k < t->trip_count; k++) {
        nd_trip_check_t *tc = &v->trips[k];
        tc->trip = t->trips[k];
        tc->bar_index = bar_of(t, t->trips[k].event.ts_ns);
        tc->crossing_index = -1;
        tc->lag_bars = -1;
        tc->stayed_halted = t->trips[k].accepted_while_halted == 0;
        /* A trip followed by another before any later bar hands the position to that one. */
        bool superseded = k + 1 < t->trip_count &&
                          t->trips[k + 1].event.ts_ns <= t->trips[k].event.ts_ns;
        tc->flat_after = superseded || !t->trips[k].open_at_halt_end;
        after_trip(t, tc);
    }
    match_trips(v, (int64_t)t->count);
    summarise(v);
    return ND_OK;
}

void nd_breaker_validation_free(nd_breaker_validation_t *v)
{
    if (!v)
        return;
    nd_free(v->crossings);
    nd_free(v->trips);
    memset(v, 0, sizeof *v);
}

/* ---- criteria ----------------------------------------------------------------------------- */

static void defaults_for(const nd_scenario_t *sc, nd_criteria_t *c)
{
    c->max_drawdown_pct = 15.0;
    c->min_sharpe = NAN;
    c->min_total_return_pct = NAN;
    c->breaker_max_lag_bars = 1;
    c->no_orders_while_halted = true;
    c->flat_after_halt = true;
    if (strcmp(sc->condition, "bull") == 0)
        c->min_sharpe = 0.5;
    else if (strcmp(sc->condition, "crash") == 0 || strcmp(sc->condition, "illiquid") == 0)
        c->min_total_return_pct = -10.0;
    else if (strcmp(sc->condition, "bear") == 0)
        c->min_total_return_pct = -15.0;
}

typedef struct crit_key {
    const char *name;
    int type; /* 0: real (null = off), 1: lag bars (null = off), 2: bool */
} crit_key_t;

static const crit_key_t crit_keys[] = {
    {"max_drawdown_pct", 0}, {"min_sharpe", 0}, {"min_total_return_pct", 0},
    {"breaker_max_lag_bars", 1}, {"no_orders_while_halted", 2}, {"flat_after_halt", 2},
};
#define CRIT_KEYS (sizeof crit_keys / sizeof crit_keys[0])

static nd_err_t crit_bad(const char *path, const char *where, const char *key, const char *why,
                         char *err, size_t err_len)
{
    nd_err_put(err, err_len, "%s: %s%s%s: %s", path ? path : "config", where, key ? "." : "",
            key ? key : "", why);
    return ND_EINVAL;
}

static nd_err_t apply_value(const char *path, const char *where, const crit_key_t *k, json_t *v,
                            nd_criteria_t *c, char *err, size_t err_len)
{
    if (k->type == 2) {
        if (!json_is_boolean(v))
            return crit_bad(path, where, k->name, "must be true or false", err, err_len);
        if (strcmp(k->name, "flat_after_halt") == 0)
            c->flat_after_halt = json_is_true(v);
        else
            c->no_orders_while_halted = json_is_true(v);
        return ND_OK;
    }
    if (k->type == 1) {
        if (!json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) >= 0 &&
                                  json_integer_value(v) <= 1000000))
            return crit_bad(path, where, k->name, "must be a whole number of bars >= 0 or null",
                            err, err_len);
        c->breaker_max_lag_bars = json_is_null(v) ? -1 : (int64_t)json_integer_value(v);
        return ND_OK;
    }
    if (!json_is_null(v) && !json_is_number(v))
        return crit_bad(path, where, k->name, "must be a number or null (off)", err, err_len);
    double x = json_is_null(v) ? NAN : json_number_value(v);
    if (strcmp(k->name, "max_drawdown_pct") == 0 && !(isnan(x) || (x >= 0 && x <= 100)))
        return crit_bad(path, where, k->name, "must be a percentage in [0, 100]", err, err_len);
    if (strcmp(k->name, "max_drawdown_pct") == 0)
        c->max_drawdown_pct = x;
    else if (strcmp(k->name, "min_sharpe") == 0)
        c->min_sharpe = x;
    else
        c->min_total_return_pct = x;
    return ND_OK;
}

/* Applies one criteria object (NULL: nothing); where names it in errors. */
static nd_err_t apply_section(const char *path, const char *where, json_t *obj, nd_criteria_t *c,
                              char *err, size_t err_len)
{
    if (!obj)
        return ND_OK;
    if (!json_is_object(obj))
        return crit_bad(path, where, NULL, "must be an object", err, err_len);
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        size_t k = 0;
        while (k < CRIT_KEYS && strcmp(crit_keys[k].name, key) != 0)
            k++;
        if (k == CRIT_KEYS)
            return crit_bad(path, where, key, "unknown criterion (max_drawdown_pct, min_sharpe, "
                            "min_total_return_pct, breaker_max_lag_bars, no_orders_while_halted, "
                            "flat_after_halt)",
                            err, err_len);
        nd_err_t rc = apply_value(path, where, &crit_keys[k], value, c, err, err_len);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

nd_err_t nd_criteria_check_config(const char *path, json_t *config, char *err, size_t err_len)
{
    json_t *sections = config ? json_object_get(config, "criteria") : NULL;
    if (!sections)
        return ND_OK;
    if (!json_is_object(sections))
        return crit_bad(path, "criteria", NULL, "must be an object of sections", err, err_len);
    const char *name;
    json_t *obj;
    json_object_foreach(sections, name, obj) {
        nd_criteria_t scratch;
        char where[128];
        snprintf(where, sizeof where, "criteria.%s", name);
        nd_err_t rc = apply_section(path, where, obj, &scratch, err, err_len);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

static json_t *own_criteria(json_t *config, const char *name)
{
    json_t *list = config ? json_object_get(config, "scenarios") : NULL;
    for (size_t k = 0; json_is_array(list) && k < json_array_size(list); k++) {
        json_t *s = json_array_get(list, k);
        json_t *n = json_object_get(s, "name");
        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0 &&
            json_object_get(s, "criteria"))
            return json_object_get(s, "criteria");
    }
    return NULL;
}

nd_err_t nd_criteria_resolve(const char *path, json_t *config, const nd_scenario_t *sc,
                             nd_criteria_t *out, char *err, size_t err_len)
{
    ND_ASSERT(sc != NULL && out != NULL);
    nd_criteria_t c;
    defaults_for(sc, &c);
    json_t *sections = config ? json_object_get(config, "criteria") : NULL;
    const char *layers[] = {"default", nd_scenario_kind_name(sc->kind), sc->condition, sc->name};
    nd_err_t rc = ND_OK;
    for (size_t k = 0; rc == ND_OK && k < 4; k++) {
        char where[128];
        snprintf(where, sizeof where, "criteria.%s", layers[k]);
        json_t *obj = json_is_object(sections) ? json_object_get(sections, layers[k]) : NULL;
        rc = apply_section(path, where, obj, &c, err, err_len);
    }
    if (rc == ND_OK) {
        char where[128];
        snprintf(where, sizeof where, "scenario '%s'.criteria", sc->name);
        rc = apply_section(path, where, own_criteria(config, sc->name), &c, err, err_len);
    }
    if (rc == ND_OK)
        *out = c;
    return rc;
}

static void check_breaker_lag(const nd_breaker_validation_t *bv, int64_t limit,
                              nd_criterion_result_t *r)
{
    r->name = "breaker_lag";
    r->value = bv->worst_lag_bars < 0 ? 0.0 : (double)bv->worst_lag_bars;
    r->limit = (double)limit;
    r->pass = bv->missed == 0 && bv->unexpected == 0 &&
              (bv->worst_lag_bars < 0 || bv->worst_lag_bars <= limit);
    if (bv->crossing_count == 0 && bv->unexpected == 0)
        snprintf(r->detail, sizeof r->detail, "no breaker threshold was crossed");
    else if (r->pass)
        snprintf(r->detail, sizeof r->detail, "%zu crossing(s), each tripped within %lld bar(s)",
                 bv->crossing_count, (long long)r->value);
    else
        snprintf(r->detail, sizeof r->detail,
                 "%zu crossing(s): %lld missed, %lld beyond %lld bar(s) (worst %lld); "
                 "%lld trip(s) without a crossing", bv->crossing_count, (long long)bv->missed,
                 (long long)bv->late, (long long)limit, (long long)bv->worst_lag_bars,
                 (long long)bv->unexpected);
}

size_t nd_criteria_check(const nd_criteria_t *c, double max_drawdown, double sharpe,
                         double total_return, const nd_breaker_validation_t *bv,
                         nd_criterion_result_t *out)
{
    ND_ASSERT(c != NULL && bv != NULL);
    ND_ASSERT(out != NULL);
    size_t n = 0;
    if (!isnan(c->max_drawdown_pct)) {
        nd_criterion_result_t *r = &out[n++];
        *r = (nd_criterion_result_t){"max_drawdown", -max_drawdown * 100.0, c->max_drawdown_pct,
                                     false, ""};
        r->pass = isfinite(r->value) && r->value <= r->limit;
        snprintf(r->detail, sizeof r->detail, "worst drawdown %.2f%% (limit %.2f%%)", r->value,
                 r->limit);
    }
    if (!isnan(c->min_sharpe)) {
        nd_criterion_result_t *r = &out[n++];
        *r = (nd_criterion_result_t){"min_sharpe", sharpe, c->min_sharpe, false, ""};
        r->pass = isfinite(sharpe) && sharpe >= r->limit;
        if (isfinite(sharpe))
            snprintf(r->detail, sizeof r->detail, "Sharpe %.3f (floor %.3f)", sharpe, r->limit);
        else
            snprintf(r->detail, sizeof r->detail, "no Sharpe (flat equity: no trading?) "
                     "(floor %.3f)", r->limit);
    }
    if (!isnan(c->min_total_return_pct)) {
        nd_criterion_result_t *r = &out[n++];
        *r = (nd_criterion_result_t){"min_total_return", total_return * 100.0,
                                     c->min_total_return_pct, false, ""};
        r->pass = isfinite(r->value) && r->value >= r->limit;
        snprintf(r->detail, sizeof r->detail, "total return %.2f%% (floor %.2f%%)", r->value,
                 r->limit);
    }
    if (c->breaker_max_lag_bars >= 0)
        check_breaker_lag(bv, c->breaker_max_lag_bars, &out[n++]);
    if (c->no_orders_while_halted) {
        nd_criterion_result_t *r = &out[n++];
        *r = (nd_criterion_result_t){"no_orders_while_halted", (double)bv->accepted_while_halted,
                                     0.0, bv->accepted_while_halted == 0, ""};
        snprintf(r->detail, sizeof r->detail, "%lld strategy order(s) accepted while halted",
                 (long long)bv->accepted_while_halted);
    }
    if (c->flat_after_halt) {
        nd_criterion_result_t *r = &out[n++];
        *r = (nd_criterion_result_t){"flat_after_halt", (double)bv->left_open, 0.0,
                                     bv->left_open == 0, ""};
        snprintf(r->detail, sizeof r->detail, "%lld halt(s) ended with a position still open",
                 (long long)bv->left_open);
    }
    ND_ASSERT(n <= ND_CRITERIA_MAX);
    return n;
}

/* ---- walk-forward ------------------------------------------------------------------------- */

/* The one span parser every command uses (text.h): time units only here, because validate's
 * windows are cut by time across scenarios of different bar intervals. */
static nd_err_t parse_span(const char *text, size_t len, int64_t *out)
{
    nd_span_t span;
    if (nd_span_parse(text, len, 0, &span, NULL, 0) != ND_OK)
        return ND_EPARSE; /* this function's contract: any bad span is malformed */
    *out = span.value;
    return ND_OK;
}

nd_err_t nd_walk_forward_parse(const char *text, int64_t *train_ns, int64_t *test_ns)
{
    ND_ASSERT(text != NULL);
    ND_ASSERT(train_ns != NULL && test_ns != NULL);
    const char *colon = strchr(text, ':');
    if (!colon)
        return ND_EPARSE;
    int64_t train = 0, test = 0;
    nd_err_t rc = parse_span(text, (size_t)(colon - text), &train);
    if (rc == ND_OK)
        rc = parse_span(colon + 1, strlen(colon + 1), &test);
    if (rc != ND_OK)
        return rc;
    *train_ns = train;
    *test_ns = test;
    return ND_OK;
}

size_t nd_walk_forward_split(int64_t from_ns, int64_t to_ns, int64_t train_ns, int64_t test_ns,
                             nd_wf_segment_t *out, size_t cap)
{
    ND_ASSERT(train_ns > 0 && test_ns > 0);
    if (to_ns - from_ns < train_ns + test_ns)
        return 0;
    size_t count = (size_t)((to_ns - from_ns - train_ns) / test_ns);
    for (size_t k = 0; k < count && k < cap; k++) {
        nd_wf_segment_t *s = &out[k];
        s->train_from_ns = from_ns + (int64_t)k * test_ns;
        s->train_to_ns = s->train_from_ns + train_ns;
        s->test_from_ns = s->train_to_ns;
        s->test_to_ns = s->test_from_ns + test_ns;
        ND_ASSERT(s->test_to_ns <= to_ns);
    }
    return count;
}
