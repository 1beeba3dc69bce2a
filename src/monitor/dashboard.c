/* dashboard.c: the executive dashboard's snapshot and deltas (dashboard.h).
 *
 * The snapshot's own part is built from the engine (attribution, heatmap, breakers, VaR); the
 * delta between two snapshots walks both documents together, object keys in sorted order, so
 * the same two documents always give the same bytes. Ratios and VaR are doubles rounded to
 * six places for display: they never feed an order or the accounting. */
#include "noderr/dashboard.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/portfolio.h"
#include "noderr/risk.h"
#include "noderr/scenario.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- State: equity samples and peaks ------------------------------------------------------ */

void nd_dashboard_state_init(nd_dashboard_state_t *st)
{
    ND_ASSERT(st != NULL);
    memset(st, 0, sizeof *st);
}

void nd_dashboard_sample(nd_dashboard_state_t *st, const nd_engine_t *e)
{
    ND_ASSERT(st != NULL);
    ND_ASSERT(e != NULL);
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    int64_t equity = nd_portfolio_equity(p);
    const uint32_t ring = ND_DASHBOARD_VAR_SAMPLES + 1;
    st->equity[st->head] = equity;
    st->head = (st->head + 1) % ring;
    if (st->count < ring)
        st->count++;
    if (equity > st->peak)
        st->peak = equity;
    uint32_t n = nd_engine_strategy_count(e);
    ND_ASSERT(n <= ND_STRATEGIES_MAX);
    for (uint32_t k = 0; k < n; k++) {
        int64_t se = nd_portfolio_strategy_equity(p, k);
        if (se > st->strategy_peak[k])
            st->strategy_peak[k] = se;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bool nd_dashboard_var_95(const nd_dashboard_state_t *st, double *out)
{
    ND_ASSERT(st != NULL);
    ND_ASSERT(out != NULL);
    const uint32_t ring = ND_DASHBOARD_VAR_SAMPLES + 1;
    if (st->count < 21)
        return false;
    double returns[ND_DASHBOARD_VAR_SAMPLES];
    uint32_t n = 0;
    uint32_t first = (st->head + ring - st->count) % ring;
    for (uint32_t k = 1; k < st->count; k++) {
        int64_t a = st->equity[(first + k - 1) % ring], b = st->equity[(first + k) % ring];
        if (a > 0)
            returns[n++] = (double)(b - a) / (double)a;
    }
    if (n < 20)
        return false;
    qsort(returns, n, sizeof returns[0], cmp_double);
    /* The 5th percentile return (nearest rank, rounding down: the more cautious side). */
    double r = returns[(size_t)floor(0.05 * (double)(n - 1))];
    *out = r < 0 ? -r : 0.0;
    return true;
}

/* ---- The engine's part of the snapshot -------------------------------------------------- */

static json_t *ratio_json(double x)
{
    if (!isfinite(x))
        return json_null();
    return json_real(round(x * 1e6) / 1e6);
}

static json_t *attribution_json(const nd_dashboard_row_t *a)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(a->name));
    json_object_set_new(j, "realized", nd_json_fixed(a->realized, ND_CASH_DECIMALS));
    json_object_set_new(j, "unrealized", nd_json_fixed(a->unrealized, ND_CASH_DECIMALS));
    json_object_set_new(j, "fees", nd_json_fixed(a->fees, ND_CASH_DECIMALS));
    json_object_set_new(j, "net", nd_json_fixed(a->net, ND_CASH_DECIMALS));
    json_object_set_new(j, "trades", json_integer(a->trades));
    return j;
}

/* The value of qty on inst at px, in cash units (exact; saturates far beyond any account). */
static int64_t position_value(const nd_instrument_t *inst, int64_t qty, int64_t px)
{
    __int128 v = (__int128)qty * px;
    if (v < 0)
        v = -v;
    __int128 scale = 1;
    int shift = inst->px_decimals + inst->qty_decimals - ND_CASH_DECIMALS;
    for (int k = 0; k < (shift < 0 ? -shift : shift); k++)
        scale *= 10;
    v = shift >= 0 ? v / scale : v * scale;
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void row_set(nd_dashboard_row_t *row, const char *name, const nd_attribution_t *a)
{
    *row = (nd_dashboard_row_t){.name = name, .realized = a->realized,
                                .unrealized = a->unrealized, .fees = a->fees, .net = a->net,
                                .trades = a->trades};
}

/* Attribution rows: by strategy, by asset (the first ND_DASHBOARD_SNAP_ASSETS), by venue (each
 * once, in the order its first instrument comes). */
static void fill_attribution(const nd_engine_t *e, uint32_t n, nd_dashboard_figures_t *f)
{
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    nd_attribution_t a;
    for (uint32_t k = 0; k < f->strategy_count; k++) {
        nd_portfolio_by_strategy(p, k, &a);
        row_set(&f->by_strategy[k], nd_engine_strategy_def(e, k)->name, &a);
    }
    for (uint32_t k = 0; k < n; k++) {
        const nd_instrument_t *inst = nd_engine_instrument(e, k);
        nd_portfolio_by_instrument(p, k, &a);
        row_set(&f->by_asset[k], inst->symbol, &a);
        bool seen = false;
        for (uint32_t j = 0; j < k && !seen; j++)
            seen = strcmp(nd_engine_instrument(e, j)->venue, inst->venue) == 0;
        if (seen)
            continue;
        nd_portfolio_by_venue(p, inst->venue, &a);
        row_set(&f->by_venue[f->venue_count++], inst->venue, &a);
    }
}

/* The heatmap's inputs: the session's equity and gross position value, each strategy's, each
 * asset's value and anomaly confidence. */
static void fill_exposure(const nd_engine_t *e, uint32_t n, nd_dashboard_figures_t *f)
{
    const nd_portfolio_t *p = nd_engine_portfolio(e);
    f->equity = nd_portfolio_equity(p);
    for (uint32_t i = 0; i < f->assets_total; i++)
        f->gross += position_value(nd_engine_instrument(e, i), nd_portfolio_net_qty(p, i),
                                   nd_portfolio_last_px(p, i));
    for (uint32_t k = 0; k < f->strategy_count; k++) {
        f->strategy[k].paused = nd_engine_strategy_paused(e, k);
        f->strategy[k].weight_e6 = nd_engine_strategy_weight(e, k);
        f->strategy[k].equity = nd_portfolio_strategy_equity(p, k);
        f->strategy[k].gross = 0;
        for (uint32_t i = 0; i < f->assets_total; i++)
            f->strategy[k].gross +=
                position_value(nd_engine_instrument(e, i), nd_portfolio_position(p, k, i)->qty,
                               nd_portfolio_last_px(p, i));
    }
    for (uint32_t i = 0; i < n; i++) {
        const nd_anomaly_t *m = nd_engine_anomaly(e, i);
        f->asset[i].value = position_value(nd_engine_instrument(e, i), nd_portfolio_net_qty(p, i),
                                           nd_portfolio_last_px(p, i));
        f->asset[i].anomaly_on = m != NULL;
        f->asset[i].confidence_e6 = m ? m->last.confidence_e6 : 0;
    }
}

void nd_dashboard_figures_fill(const nd_engine_t *e, uint32_t instrument_count,
                               const nd_dashboard_state_t *st, nd_dashboard_figures_t *f)
{
    ND_ASSERT(e != NULL);
    ND_ASSERT(f != NULL);
    const nd_risk_t *r = nd_engine_risk(e);
    ND_ASSERT(r != NULL);
    uint32_t n = instrument_count < ND_DASHBOARD_SNAP_ASSETS ? instrument_count
                                                             : ND_DASHBOARD_SNAP_ASSETS;
    /* Only the scalars and counts: the lists are written up to their counts, never read past. */
    memset(f, 0, offsetof(nd_dashboard_figures_t, by_strategy));
    f->strategy_count = nd_engine_strategy_count(e);
    ND_ASSERT(f->strategy_count <= ND_STRATEGIES_MAX);
    f->asset_count = n;
    f->assets_total = instrument_count;
    f->venue_count = 0;
    f->equity = f->gross = 0;
    fill_attribution(e, n, f);
    fill_exposure(e, n, f);
    f->max_position_pct_e2 = r->cfg.max_position_pct_e2;
    f->max_drawdown_pct_e2 = r->cfg.max_drawdown_pct_e2;
    f->daily_loss_pct_e2 = r->cfg.daily_loss_pct_e2;
    f->anomaly_threshold_e6 = r->cfg.anomaly_threshold_e6;
    f->breakers_total = r->event_count;
    f->breaker_count = r->event_count < ND_DASHBOARD_SNAP_BREAKERS ? r->event_count
                                                                   : ND_DASHBOARD_SNAP_BREAKERS;
    for (uint32_t k = 0; k < f->breaker_count; k++) { /* the newest, oldest first */
        const nd_breaker_event_t *ev = &r->events[r->event_count - f->breaker_count + k];
        f->breakers[k].kind = (int)ev->kind;
        f->breakers[k].ts_ns = ev->ts_ns;
        f->breakers[k].equity = ev->equity;
        f->breakers[k].measured_e6 = ev->measured_e6;
    }
    f->state_on = st != NULL;
    if (st)
        f->state = *st;
}

static json_t *attribution_all(const nd_dashboard_figures_t *f)
{
    json_t *by_strategy = json_array(), *by_asset = json_array(), *by_venue = json_array();
    for (uint32_t k = 0; k < f->strategy_count; k++)
        json_array_append_new(by_strategy, attribution_json(&f->by_strategy[k]));
    for (uint32_t k = 0; k < f->asset_count; k++)
        json_array_append_new(by_asset, attribution_json(&f->by_asset[k]));
    for (uint32_t k = 0; k < f->venue_count; k++)
        json_array_append_new(by_venue, attribution_json(&f->by_venue[k]));
    json_t *j = json_object();
    json_object_set_new(j, "strategy", by_strategy);
    json_object_set_new(j, "asset", by_asset);
    json_object_set_new(j, "venue", by_venue);
    return j;
}

static json_t *heat_row(const char *kind, const char *name, double exposure_used,
                        double drawdown_used, json_t *var, json_t *anomaly)
{
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string(kind));
    json_object_set_new(j, "name", json_string(name));
    json_object_set_new(j, "exposure", ratio_json(exposure_used));
    json_object_set_new(j, "drawdown_used", ratio_json(drawdown_used));
    json_object_set_new(j, "var", var ? var : json_null());
    json_object_set_new(j, "anomaly", anomaly ? anomaly : json_null());
    return j;
}

/* used / limit, where limit is in hundredths of a percent of equity; NAN when either is not. */
static double share_of_limit(int64_t used, int64_t of, int64_t limit_pct_e2)
{
    if (of <= 0 || limit_pct_e2 <= 0)
        return NAN;
    return ((double)used / (double)of) / ((double)limit_pct_e2 / 10000.0);
}

static double drawdown_used(int64_t peak, int64_t now, int64_t limit_pct_e2)
{
    if (peak <= 0)
        return NAN;
    return share_of_limit(peak > now ? peak - now : 0, peak, limit_pct_e2);
}

/* Rows: the whole session, each strategy, each asset. Exposure is the gross position value
 * against the position limit's share of equity; drawdown the fall from the peak against the
 * drawdown breaker's limit; VaR the session's (var_ok: var holds it); anomaly each asset's model
 * confidence. */
static json_t *heatmap_json(const nd_dashboard_figures_t *f, bool var_ok, double var)
{
    const nd_dashboard_state_t *st = f->state_on ? &f->state : NULL;
    json_t *rows = json_array();
    json_t *var_j = var_ok ? ratio_json(var) : NULL;
    json_array_append_new(rows, heat_row("session", "all",
                                         share_of_limit(f->gross, f->equity,
                                                        f->max_position_pct_e2),
                                         drawdown_used(st ? st->peak : 0, f->equity,
                                                       f->max_drawdown_pct_e2), var_j, NULL));
    for (uint32_t k = 0; k < f->strategy_count; k++)
        json_array_append_new(rows, heat_row("strategy", f->by_strategy[k].name,
                                             share_of_limit(f->strategy[k].gross,
                                                            f->strategy[k].equity,
                                                            f->max_position_pct_e2),
                                             drawdown_used(st ? st->strategy_peak[k] : 0,
                                                           f->strategy[k].equity,
                                                           f->max_drawdown_pct_e2), NULL, NULL));
    for (uint32_t i = 0; i < f->asset_count; i++) {
        json_t *conf = f->asset[i].anomaly_on
                           ? ratio_json((double)f->asset[i].confidence_e6 / 1e6) : NULL;
        json_array_append_new(rows, heat_row("asset", f->by_asset[i].name,
                                             share_of_limit(f->asset[i].value, f->equity,
                                                            f->max_position_pct_e2),
                                             NAN, NULL, conf));
    }
    return rows;
}

static json_t *strategies_json(const nd_dashboard_figures_t *f)
{
    json_t *list = json_array();
    for (uint32_t k = 0; k < f->strategy_count; k++) {
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(f->by_strategy[k].name));
        json_object_set_new(j, "paused", json_boolean(f->strategy[k].paused));
        json_object_set_new(j, "weight", ratio_json((double)f->strategy[k].weight_e6 / 1e6));
        json_array_append_new(list, j);
    }
    return list;
}

static json_t *breakers_json(const nd_dashboard_figures_t *f)
{
    json_t *list = json_array();
    for (uint32_t k = 0; k < f->breaker_count; k++) {
        json_t *j = json_object();
        json_object_set_new(j, "kind",
                            json_string(nd_breaker_kind_name((nd_breaker_kind_t)f->breakers[k].kind)));
        json_object_set_new(j, "at", nd_json_time(f->breakers[k].ts_ns));
        json_object_set_new(j, "equity", nd_json_fixed(f->breakers[k].equity, ND_CASH_DECIMALS));
        json_object_set_new(j, "measured", ratio_json((double)f->breakers[k].measured_e6 / 1e6));
        json_array_append_new(list, j);
    }
    return list;
}

static json_t *limits_json(const nd_dashboard_figures_t *f)
{
    json_t *j = json_object();
    json_object_set_new(j, "max_position", ratio_json((double)f->max_position_pct_e2 / 1e4));
    json_object_set_new(j, "max_drawdown", ratio_json((double)f->max_drawdown_pct_e2 / 1e4));
    json_object_set_new(j, "daily_loss", ratio_json((double)f->daily_loss_pct_e2 / 1e4));
    json_object_set_new(j, "anomaly_threshold",
                        f->anomaly_threshold_e6 > 0
                            ? ratio_json((double)f->anomaly_threshold_e6 / 1e6)
                            : json_null());
    return j;
}

json_t *nd_dashboard_figures_json(const nd_dashboard_figures_t *f)
{
    ND_ASSERT(f != NULL);
    ND_ASSERT(f->asset_count <= ND_DASHBOARD_SNAP_ASSETS);
    double var = 0; /* once: a sort of the samples, which the heatmap's session row shows too */
    bool var_ok = f->state_on && nd_dashboard_var_95(&f->state, &var);
    json_t *j = json_object();
    json_object_set_new(j, "attribution", attribution_all(f));
    json_object_set_new(j, "strategies", strategies_json(f));
    json_object_set_new(j, "heatmap", heatmap_json(f, var_ok, var));
    json_object_set_new(j, "risk_limits", limits_json(f));
    json_object_set_new(j, "breakers", breakers_json(f));
    json_object_set_new(j, "var_95", var_ok ? ratio_json(var) : json_null());
    if (f->assets_total > f->asset_count || f->breakers_total > f->breaker_count) {
        json_t *cut = json_object(); /* never silently: what was cut, and from how many */
        if (f->assets_total > f->asset_count)
            json_object_set_new(cut, "assets", json_integer(f->assets_total));
        if (f->breakers_total > f->breaker_count)
            json_object_set_new(cut, "breakers", json_integer(f->breakers_total));
        json_object_set_new(j, "truncated", cut);
    }
    return j;
}

json_t *nd_dashboard_engine_json(const nd_engine_t *e, uint32_t instrument_count,
                                 const nd_dashboard_state_t *st)
{
    nd_dashboard_figures_t *f = nd_alloc(sizeof *f);
    nd_dashboard_figures_fill(e, instrument_count, st, f);
    json_t *j = nd_dashboard_figures_json(f);
    nd_free(f);
    return j;
}

/* ---- Deltas ------------------------------------------------------------------------------ */

/* The JSON Pointer of base + "/" + token ('~' as "~0", '/' as "~1"); NULL when it does not fit
 * (ND_DASHBOARD_POINTER_MAX). */
#define ND_DASHBOARD_POINTER_MAX 512
static bool pointer_join(char *out, size_t cap, const char *base, const char *token)
{
    size_t n = strlen(base);
    if (n + 1 >= cap)
        return false;
    memcpy(out, base, n);
    out[n++] = '/';
    for (const char *c = token; *c; c++) {
        const char *rep = *c == '~' ? "~0" : *c == '/' ? "~1" : NULL;
        size_t len = rep ? 2 : 1;
        if (n + len >= cap)
            return false;
        memcpy(out + n, rep ? rep : c, len);
        n += len;
    }
    out[n] = '\0';
    return true;
}

static void delta_set(json_t *delta, const char *path, const json_t *value)
{
    json_t *op = json_object();
    json_object_set_new(op, "p", json_string(path));
    if (value)
        json_object_set_new(op, "v", json_deep_copy(value));
    json_array_append_new(delta, op);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted, into an nd_alloc'd array (*count of them); NULL when empty. */
static const char **sorted_keys(const json_t *obj, size_t *count)
{
    *count = json_object_size(obj);
    if (*count == 0)
        return NULL;
    const char **keys = nd_alloc(*count * sizeof *keys);
    size_t n = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) keys[n++] = key;
    ND_ASSERT(n == *count);
    qsort(keys, n, sizeof *keys, cmp_str);
    return keys;
}

static void delta_walk(json_t *delta, const char *path, const json_t *a, const json_t *b);

static void delta_object(json_t *delta, const char *path, const json_t *a, const json_t *b)
{
    char sub[ND_DASHBOARD_POINTER_MAX];
    size_t na, nb;
    const char **ka = sorted_keys(a, &na), **kb = sorted_keys(b, &nb);
    for (size_t k = 0; k < na; k++) /* removed keys first, then the kept and the new */
        if (!json_object_get(b, ka[k])) {
            if (pointer_join(sub, sizeof sub, path, ka[k]))
                delta_set(delta, sub, NULL);
            else
                delta_set(delta, path, b);
        }
    for (size_t k = 0; k < nb; k++) {
        if (!pointer_join(sub, sizeof sub, path, kb[k])) {
            delta_set(delta, path, b); /* too deep for a pointer: the whole parent */
            break;
        }
        delta_walk(delta, sub, json_object_get(a, kb[k]), json_object_get(b, kb[k]));
    }
    nd_free(ka);
    nd_free(kb);
}

static void delta_walk(json_t *delta, const char *path, const json_t *a, const json_t *b)
{
    ND_ASSERT(b != NULL);
    if (a && json_is_object(a) && json_is_object(b)) {
        delta_object(delta, path, a, b);
        return;
    }
    if (a && json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
        char sub[ND_DASHBOARD_POINTER_MAX], index[24];
        for (size_t k = 0; k < json_array_size(b); k++) {
            snprintf(index, sizeof index, "%zu", k);
            if (!pointer_join(sub, sizeof sub, path, index)) {
                delta_set(delta, path, b);
                return;
            }
            delta_walk(delta, sub, json_array_get(a, k), json_array_get(b, k));
        }
        return;
    }
    if (!a || !json_equal((json_t *)a, (json_t *)b))
        delta_set(delta, path, b);
}

json_t *nd_dashboard_delta(const json_t *prev, const json_t *next)
{
    ND_ASSERT(next != NULL);
    json_t *delta = json_array();
    ND_ASSERT(delta != NULL);
    delta_walk(delta, "", prev, next);
    return delta;
}

/* Decodes one pointer token (between slashes) into out; false when malformed or too long. */
static bool token_decode(const char *start, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t k = 0; k < len; k++) {
        char c = start[k];
        if (c == '~') {
            if (k + 1 >= len || (start[k + 1] != '0' && start[k + 1] != '1'))
                return false;
            c = start[++k] == '0' ? '~' : '/';
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

static bool parse_index(const char *text, size_t *out)
{
    char *end;
    if (!text[0] || (text[0] == '0' && text[1]) || text[0] < '0' || text[0] > '9')
        return false;
    unsigned long long v = strtoull(text, &end, 10);
    *out = (size_t)v;
    return *end == '\0';
}

/* Sets (value non-NULL: taken over, released on failure too) or removes the member at path
 * under root. */
static nd_err_t apply_one(json_t *root, const char *path, json_t *value, char *err,
                          size_t err_len)
{
    json_t *parent = root;
    const char *p = path + 1, *slash;
    char token[ND_DASHBOARD_POINTER_MAX];
    for (;; p = slash + 1) {
        slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        size_t index = 0;
        if (!token_decode(p, len, token, sizeof token))
            break;
        bool is_obj = json_is_object(parent);
        bool is_arr = json_is_array(parent) && parse_index(token, &index);
        if (!is_obj && !(is_arr && (slash ? index < json_array_size(parent)
                                          : index <= json_array_size(parent))))
            break;
        if (slash) {
            parent = is_obj ? json_object_get(parent, token) : json_array_get(parent, index);
            if (!parent)
                break;
            continue;
        }
        int rc;
        if (is_obj)
            rc = value ? json_object_set_new(parent, token, value) : json_object_del(parent, token);
        else if (!value)
            rc = json_array_remove(parent, index);
        else
            rc = index == json_array_size(parent) ? json_array_append_new(parent, value)
                                                  : json_array_set_new(parent, index, value);
        if (rc != 0)
            return nd_err_put(err, err_len, "delta path %s: cannot apply", path), ND_EINVAL;
        return ND_OK;
    }
    json_decref(value);
    nd_err_put(err, err_len, "delta path %s: no such member", path);
    return ND_EINVAL;
}

nd_err_t nd_dashboard_apply(json_t **doc, const json_t *delta, char *err, size_t err_len)
{
    ND_ASSERT(doc != NULL);
    if (!json_is_array(delta))
        return nd_err_put(err, err_len, "delta: not an array"), ND_EINVAL;
    size_t k;
    json_t *op;
    json_array_foreach(delta, k, op) {
        const char *path = json_string_value(json_object_get(op, "p"));
        json_t *value = json_object_get(op, "v");
        if (!path || (path[0] && path[0] != '/'))
            return nd_err_put(err, err_len, "delta[%zu]: no pointer \"p\"", k), ND_EINVAL;
        if (!path[0]) {
            if (!value)
                return nd_err_put(err, err_len, "delta[%zu]: cannot remove the root", k),
                       ND_EINVAL;
            json_decref(*doc);
            *doc = json_deep_copy(value);
            continue;
        }
        if (!*doc)
            return nd_err_put(err, err_len, "delta[%zu]: no document", k), ND_EINVAL;
        nd_err_t rc = apply_one(*doc, path, value ? json_deep_copy(value) : NULL, err, err_len);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}
