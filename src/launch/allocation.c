/* allocation.c: dynamic capital allocation across strategies (allocation.h, docs/launcher.md
 * "Allocation"): inverse-volatility targets within caps, the turnover limit, the rebalance
 * schedule, the history event and the saved state.
 *
 * All integer: a volatility is the integer square root of the sample variance of the returns in
 * millionths (sums in __int128), a score is 10^12 / vol, and weights are floor divisions, so a
 * rebalance is bit-for-bit the same everywhere. Invariants: weights are in [0, 10^6], the
 * scored part never hands out more than its pool, and a limited move is never more than the
 * turnover limit nor past its target. */
#include "noderr/allocation.h"

#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/json_cfg.h"
#include "noderr/scenario.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void nd_allocation_config_default(nd_allocation_config_t *out)
{
    memset(out, 0, sizeof *out);
    out->interval_ns = ND_NS_PER_DAY;
    out->window_days = 30;
    out->min_history = 10;
    out->vol_floor_e6 = 1000;
    out->min_e6 = 0;
    out->max_e6 = ND_ALLOCATION_ONE;
    out->total_e6 = ND_ALLOCATION_ONE;
    out->turnover_e6 = 200000;
}

nd_err_t nd_allocation_config_parse(const json_t *obj, const char *where,
                                    nd_allocation_config_t *out, char *err, size_t err_len)
{
    ND_ASSERT(out != NULL);
    nd_allocation_config_t cfg;
    nd_allocation_config_default(&cfg);
    nd_jcfg_t c = {.path = where ? where : "config", .err = err, .err_len = err_len};
    json_t *o;
    nd_err_t orc = nd_jcfg_section(&c, obj, "launch.allocation", &o);
    if (orc != ND_OK)
        return orc;
    if (o) {
        static const char *const keys[] = {"rule", "interval_s", "window_days", "min_history_days",
                                           "vol_floor", "min", "max", "total", "turnover", NULL};
        char rule[32] = "inverse_volatility";
        int64_t interval_s = 86400, window = 30, history = 10;
        nd_err_t rc;
        if ((rc = nd_jcfg_keys(&c, o, keys)) != ND_OK ||
            (rc = nd_jcfg_str(&c, o, "rule", rule, sizeof rule)) != ND_OK ||
            (rc = nd_jcfg_int(&c, o, "interval_s", 60, 30 * 86400, &interval_s)) != ND_OK ||
            (rc = nd_jcfg_int(&c, o, "window_days", 2, ND_ALLOCATION_WINDOW_MAX, &window)) !=
                ND_OK ||
            (rc = nd_jcfg_int(&c, o, "min_history_days", 2, window, &history)) != ND_OK ||
            (rc = nd_jcfg_fraction(&c, o, "vol_floor", 0.000001, 1, 6, &cfg.vol_floor_e6)) !=
                ND_OK ||
            (rc = nd_jcfg_fraction(&c, o, "min", 0, 1, 6, &cfg.min_e6)) != ND_OK ||
            (rc = nd_jcfg_fraction(&c, o, "max", 0.000001, 1, 6, &cfg.max_e6)) != ND_OK ||
            (rc = nd_jcfg_fraction(&c, o, "total", 0.000001, 1, 6, &cfg.total_e6)) != ND_OK ||
            (rc = nd_jcfg_fraction(&c, o, "turnover", 0.000001, 2, 6, &cfg.turnover_e6)) != ND_OK)
            return rc;
        if (strcmp(rule, "inverse_volatility") != 0)
            return nd_jcfg_bad(&c, "rule", "the one rule is \"inverse_volatility\"");
        if (cfg.min_e6 > cfg.max_e6)
            return nd_jcfg_bad(&c, "min", "is above \"max\"");
        if (cfg.min_e6 > cfg.total_e6)
            return nd_jcfg_bad(&c, "min", "is above \"total\"");
        cfg.interval_ns = interval_s * ND_NS_PER_SEC;
        cfg.window_days = (uint32_t)window;
        cfg.min_history = (uint32_t)history;
    }
    *out = cfg;
    return ND_OK;
}

/* floor(sqrt(x)) for x >= 0, exact: the double's estimate corrected by at most a few steps. */
static int64_t isqrt(int64_t x)
{
    ND_ASSERT(x >= 0);
    int64_t r = (int64_t)sqrt((double)x);
    while (r > 0 && (__int128)r * r > x)
        r--;
    while ((__int128)(r + 1) * (r + 1) <= x)
        r++;
    return r;
}

/* The sample stdev of the latest window returns, floored; -1 with too little history. */
static int64_t volatility(const nd_allocation_config_t *cfg, const nd_allocation_input_t *in)
{
    uint32_t n = in->return_count < cfg->window_days ? in->return_count : cfg->window_days;
    if (n < cfg->min_history || n < 2)
        return -1;
    const int64_t *x = in->returns_e6 + (in->return_count - n);
    __int128 sum = 0, sum_sq = 0;
    for (uint32_t k = 0; k < n; k++) {
        sum += x[k];
        sum_sq += (__int128)x[k] * x[k];
    }
    /* var = (n * sum_sq - sum^2) / (n * (n - 1)), in millionths squared. */
    __int128 var = (n * sum_sq - sum * sum) / ((__int128)n * (n - 1));
    ND_ASSERT(var >= 0);
    int64_t vol = var > INT64_MAX ? INT64_MAX : isqrt((int64_t)var);
    return vol < cfg->vol_floor_e6 ? cfg->vol_floor_e6 : vol;
}

/* Water-fills pool over the scored strategies (score[i] > 0) in proportion to score, within
 * [lo, hi]: those a proportional share puts below lo are fixed at lo first, then those above
 * hi at hi, and the rest share what is left, until nothing is out of bounds. Fixing at lo
 * first keeps what is left enough for the rest's lo. O(count^2). */
static void water_fill(const int64_t *score, uint32_t count, int64_t pool, int64_t lo,
                       int64_t hi, int64_t *w)
{
    bool fixed[ND_STRATEGIES_MAX] = {false};
    for (uint32_t round = 0; round <= count; round++) {
        __int128 total_score = 0;
        for (uint32_t i = 0; i < count; i++)
            if (score[i] > 0 && !fixed[i])
                total_score += score[i];
        if (total_score == 0)
            return;
        for (uint32_t i = 0; i < count; i++)
            if (score[i] > 0 && !fixed[i])
                w[i] = (int64_t)((__int128)pool * score[i] / total_score);
        bool moved = false;
        for (uint32_t i = 0; i < count; i++)
            if (score[i] > 0 && !fixed[i] && w[i] < lo) {
                w[i] = lo;
                fixed[i] = true;
                pool -= lo;
                moved = true;
            }
        bool low = moved;
        for (uint32_t i = 0; i < count && !low; i++)
            if (score[i] > 0 && !fixed[i] && w[i] > hi) {
                w[i] = hi;
                fixed[i] = true;
                pool -= hi;
                moved = true;
            }
        ND_ASSERT(pool >= 0);
        if (!moved)
            return;
    }
}

/* A daily return is a loss of at most everything and a gain of at most 1000x: beyond that it
 * is a unit mistake, and the bound keeps the sums of squares inside 128 bits. */
static nd_err_t check_returns(const nd_allocation_input_t *in, uint32_t index, char *err,
                              size_t err_len)
{
    if (in->return_count > 0 && !in->returns_e6) {
        nd_err_put(err, err_len, "allocation: strategy %u: %u returns but no array", index,
                   in->return_count);
        return ND_EINVAL;
    }
    for (uint32_t k = 0; k < in->return_count; k++)
        if (in->returns_e6[k] < -ND_ALLOCATION_ONE ||
            in->returns_e6[k] > ND_ALLOCATION_RETURN_MAX) {
            nd_err_put(err, err_len, "allocation: strategy %u: return %u is %lld millionths, "
                       "outside [-10^6, 10^9]", index, k, (long long)in->returns_e6[k]);
            return ND_EINVAL;
        }
    return ND_OK;
}

nd_err_t nd_allocation_target(const nd_allocation_config_t *cfg,
                              const nd_allocation_input_t *in, uint32_t count,
                              int64_t *target_e6, int64_t *vol_e6, char *err, size_t err_len)
{
    if (count == 0 || count > ND_STRATEGIES_MAX) {
        nd_err_put(err, err_len, "allocation: %u strategies (1 to %d)", count, ND_STRATEGIES_MAX);
        return ND_EINVAL;
    }
    int64_t score[ND_STRATEGIES_MAX] = {0};
    uint32_t active = 0, scored = 0;
    for (uint32_t i = 0; i < count; i++) {
        nd_err_t rc = check_returns(&in[i], i, err, err_len);
        if (rc != ND_OK)
            return rc;
    }
    for (uint32_t i = 0; i < count; i++) {
        target_e6[i] = 0;
        vol_e6[i] = in[i].active ? volatility(cfg, &in[i]) : -1;
        active += in[i].active;
        if (vol_e6[i] > 0) {
            score[i] = (int64_t)(1000000000000LL / vol_e6[i]);
            scored++;
        }
    }
    if ((__int128)active * cfg->min_e6 > cfg->total_e6) {
        nd_err_put(err, err_len, "allocation: %u active strategies at the minimum weight exceed "
                   "the total", active);
        return ND_EINVAL;
    }
    if (active == 0)
        return ND_OK;
    int64_t pool = (int64_t)((__int128)cfg->total_e6 * scored / active), given = 0;
    water_fill(score, count, pool, cfg->min_e6, cfg->max_e6, target_e6);
    for (uint32_t i = 0; i < count; i++)
        given += target_e6[i];
    ND_ASSERT(given <= pool);
    uint32_t fresh = active - scored;
    int64_t each = fresh ? (cfg->total_e6 - given) / fresh : 0;
    if (each > cfg->max_e6)
        each = cfg->max_e6;
    ND_ASSERT(!fresh || each >= cfg->min_e6);
    for (uint32_t i = 0; i < count; i++)
        if (in[i].active && vol_e6[i] < 0)
            target_e6[i] = each;
    return ND_OK;
}

void nd_allocation_init(nd_allocation_t *a, const nd_allocation_config_t *cfg)
{
    ND_ASSERT(a != NULL && cfg != NULL);
    ND_ASSERT(cfg->interval_ns > 0);
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
}

bool nd_allocation_due(const nd_allocation_t *a, int64_t now_ns)
{
    return !a->allocated || now_ns - a->last_ns >= a->cfg.interval_ns;
}

/* Moves old toward target by at most turnover in total: each strategy the same fraction of its
 * way, rounded toward old, then (when rounding left the sum above total) the upward moves
 * trimmed in order. Returns sum |new - old|. */
static int64_t limit_turnover(const nd_allocation_config_t *cfg, const int64_t *old,
                              const int64_t *target, uint32_t count, int64_t *out, bool *limited)
{
    __int128 way = 0;
    for (uint32_t i = 0; i < count; i++)
        way += target[i] > old[i] ? target[i] - old[i] : old[i] - target[i];
    *limited = way > cfg->turnover_e6;
    int64_t sum = 0;
    for (uint32_t i = 0; i < count; i++) {
        int64_t move = target[i] - old[i];
        if (*limited)
            move = (int64_t)((__int128)move * cfg->turnover_e6 / way); /* toward zero */
        out[i] = old[i] + move;
        sum += out[i];
    }
    for (uint32_t i = 0; i < count && sum > cfg->total_e6; i++) {
        int64_t up = out[i] - old[i], trim = sum - cfg->total_e6;
        if (up > 0) {
            trim = trim < up ? trim : up;
            out[i] -= trim;
            sum -= trim;
        }
    }
    ND_ASSERT(sum <= cfg->total_e6);
    int64_t turnover = 0;
    for (uint32_t i = 0; i < count; i++)
        turnover += out[i] > old[i] ? out[i] - old[i] : old[i] - out[i];
    ND_ASSERT(!*limited || turnover <= cfg->turnover_e6);
    return turnover;
}

/* Whether the current weights fit the config: none above max, the sum within total. Weights
 * from an older config may not (a lowered cap or total); those are not approached within the
 * turnover limit but replaced at once, or the limit could keep them out of bounds. A weight below
 * min fits: a strategy new to the allocation climbs from 0. */
static bool old_fits(const nd_allocation_config_t *cfg, const int64_t *old, uint32_t count)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (old[i] > cfg->max_e6)
            return false;
        sum += old[i];
    }
    return sum <= cfg->total_e6;
}

nd_err_t nd_allocation_rebalance(nd_allocation_t *a, int64_t now_ns,
                                 const nd_allocation_input_t *in, uint32_t count,
                                 nd_allocation_event_t *ev, char *err, size_t err_len)
{
    ND_ASSERT(a != NULL && ev != NULL);
    if (a->allocated && now_ns < a->last_ns) {
        nd_err_put(err, err_len, "allocation: rebalance before the last one");
        return ND_EINVAL;
    }
    nd_allocation_event_t e;
    memset(&e, 0, sizeof e);
    nd_err_t rc = nd_allocation_target(&a->cfg, in, count, e.target_e6, e.vol_e6, err, err_len);
    if (rc != ND_OK)
        return rc;
    e.at_ns = now_ns;
    e.count = count;
    for (uint32_t i = 0; i < count; i++)
        e.old_e6[i] = i < a->count ? a->weight_e6[i] : 0;
    e.at_once = !a->allocated || !old_fits(&a->cfg, e.old_e6, count);
    if (e.at_once) {
        memcpy(e.new_e6, e.target_e6, count * sizeof e.new_e6[0]);
        for (uint32_t i = 0; i < count; i++)
            e.turnover_e6 += e.new_e6[i] > e.old_e6[i] ? e.new_e6[i] - e.old_e6[i]
                                                       : e.old_e6[i] - e.new_e6[i];
    } else {
        e.turnover_e6 = limit_turnover(&a->cfg, e.old_e6, e.target_e6, count, e.new_e6,
                                       &e.limited);
    }
    a->allocated = true;
    a->last_ns = now_ns;
    a->count = count;
    memset(a->weight_e6, 0, sizeof a->weight_e6);
    memcpy(a->weight_e6, e.new_e6, count * sizeof a->weight_e6[0]);
    a->rebalances++;
    *ev = e;
    return ND_OK;
}

json_t *nd_allocation_event_json(const nd_allocation_event_t *ev)
{
    json_t *o = json_object(), *list = json_array();
    if (!o || !list) {
        json_decref(o);
        json_decref(list);
        return NULL;
    }
    json_object_set_new(o, "at", nd_json_time(ev->at_ns));
    json_object_set_new(o, "turnover", nd_json_fixed(ev->turnover_e6, 6));
    json_object_set_new(o, "limited", json_boolean(ev->limited));
    json_object_set_new(o, "at_once", json_boolean(ev->at_once));
    for (uint32_t i = 0; i < ev->count; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "old", nd_json_fixed(ev->old_e6[i], 6));
        json_object_set_new(s, "target", nd_json_fixed(ev->target_e6[i], 6));
        json_object_set_new(s, "new", nd_json_fixed(ev->new_e6[i], 6));
        json_object_set_new(s, "vol", ev->vol_e6[i] < 0 ? json_null()
                                                        : nd_json_fixed(ev->vol_e6[i], 6));
        json_array_append_new(list, s);
    }
    json_object_set_new(o, "strategies", list);
    return o;
}

json_t *nd_allocation_state_json(const nd_allocation_t *a)
{
    json_t *o = json_object(), *list = json_array();
    if (!o || !list) {
        json_decref(o);
        json_decref(list);
        return NULL;
    }
    json_object_set_new(o, "allocated", json_boolean(a->allocated));
    json_object_set_new(o, "last_ns", json_integer(a->last_ns));
    json_object_set_new(o, "rebalances", json_integer(a->rebalances));
    for (uint32_t i = 0; i < a->count; i++)
        json_array_append_new(list, nd_json_fixed(a->weight_e6[i], 6));
    json_object_set_new(o, "weights", list);
    return o;
}

static nd_err_t state_bad(char *err, size_t err_len, const char *field)
{
    nd_err_put(err, err_len, "allocation state: %s: missing or malformed", field);
    return ND_EPARSE;
}

nd_err_t nd_allocation_state_load(nd_allocation_t *a, const nd_allocation_config_t *cfg,
                                  const json_t *state, char *err, size_t err_len)
{
    ND_ASSERT(a != NULL && cfg != NULL);
    json_t *allocated = json_object_get(state, "allocated"),
           *last = json_object_get(state, "last_ns"),
           *rebalances = json_object_get(state, "rebalances"),
           *weights = json_object_get(state, "weights");
    if (!json_is_boolean(allocated))
        return state_bad(err, err_len, "allocated");
    if (!json_is_integer(last))
        return state_bad(err, err_len, "last_ns");
    if (!json_is_integer(rebalances) || json_integer_value(rebalances) < 0)
        return state_bad(err, err_len, "rebalances");
    if (!json_is_array(weights) || json_array_size(weights) > ND_STRATEGIES_MAX)
        return state_bad(err, err_len, "weights");
    nd_allocation_t s;
    nd_allocation_init(&s, cfg);
    s.allocated = json_is_true(allocated);
    s.last_ns = (int64_t)json_integer_value(last);
    s.rebalances = (uint32_t)json_integer_value(rebalances);
    s.count = (uint32_t)json_array_size(weights);
    int64_t sum = 0;
    for (uint32_t i = 0; i < s.count; i++) {
        const char *text = json_string_value(json_array_get(weights, i));
        if (!text || nd_fixed_parse(text, strlen(text), 6, &s.weight_e6[i]) != ND_OK ||
            s.weight_e6[i] < 0 || s.weight_e6[i] > ND_ALLOCATION_ONE)
            return state_bad(err, err_len, "weights");
        sum += s.weight_e6[i];
    }
    if (sum > ND_ALLOCATION_ONE)
        return state_bad(err, err_len, "weights (sum above 1)");
    *a = s;
    return ND_OK;
}
